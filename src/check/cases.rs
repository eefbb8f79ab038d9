//! Cases: a rule's `tests:` list → [`TestCase`]s.
//!
//! Takes the YAML under `tests:` and gives each case's name, expectation,
//! log and record (as JSON, read later like any log record). Record keys
//! that look like misspelt catalog fields are warned about; keys far from
//! any field are kept, since `raw.` rules may read them.

use super::model::{Expect, TestCase, TestInput, TestRecord};
use super::{RuleCx, find, key_name, wrong_type};
use crate::catalog::{self, Field};
use crate::diag::Code;
use crate::record::LogCategory;
use crate::syntax::{Node, NodeKind};

impl RuleCx<'_> {
    /// Warns about test-record keys that look like misspelt catalog fields
    /// (keys far from any field may be uncatalogued ones, for `raw.` rules).
    pub(super) fn record_keys(&mut self, record: &Node, fields: &'static [Field]) {
        let Some(entries) = record.map() else {
            return;
        };
        for (key, value) in entries {
            let name = key_name(key);
            // The name first: comparing catalogs compares every field.
            if name.eq_ignore_ascii_case("properties") && fields == self.root {
                // A diagnostic-settings record: its fields are in `properties`.
                self.record_keys(value, self.root);
                continue;
            }
            match catalog::resolve_in(fields, name) {
                Ok(resolved) => {
                    let children = resolved.field.map_or(&[][..], Field::children);
                    if children.is_empty() {
                        continue;
                    }
                    match &value.kind {
                        NodeKind::Map(_) => self.record_keys(value, children),
                        NodeKind::Seq(items) => {
                            items.iter().for_each(|i| self.record_keys(i, children))
                        }
                        NodeKind::Scalar(_) => {}
                    }
                }
                Err(e) => {
                    if let Some(near) = e.suggestion.filter(|s| s != name) {
                        self.diags.push(
                            Code::UnknownRecordField.warning(key.span.clone(),
                                format!(
                                    "test record field `{name}` is not a {} field",
                                    self.catalog_name()
                                ),
                            )
                            .label(format!("not in the {} catalog", self.catalog_name()))
                            .help(format!(
                                "did you mean `{near}`? (a key the catalog does not know is kept, for `raw.` rules)"
                            )),
                        );
                    }
                }
            }
        }
    }

    /// Reads `tests:`. Cases of a single-record rule take one `record`;
    /// those of a multi-record rule (`multi`) take `records`, each with its
    /// time, and may expect a number of findings.
    pub(super) fn tests(&mut self, n: &Node, multi: bool) -> Vec<TestCase> {
        let Some(items) = n.seq() else {
            self.err(
                wrong_type(
                    n,
                    format!("`tests` must be a list of cases, not {}", n.describe()),
                    "expected a list",
                )
                .help("write `- name: ...`, `expect: match`, `record: {...}` for each case"),
            );
            return Vec::new();
        };
        const KEYS: [&str; 7] = [
            "name", "expect", "findings", "record", "records", "log", "params",
        ];
        let mut cases = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(entries) = item.map() else {
                self.err(wrong_type(
                    item,
                    format!("a test case must be a mapping, not {}", item.describe()),
                    "expected `name`, `expect`, `record`",
                ));
                continue;
            };
            self.known_keys(entries, &KEYS, "test");
            let name = find(entries, "name")
                .and_then(|n| self.string(n, "name"))
                .unwrap_or_else(|| format!("case {}", i + 1));
            let expect = self.expectation(entries, item, &name, multi);
            let log = find(entries, "log").and_then(|n| {
                let logs = self.logs(n);
                logs.into_iter().next()
            });
            let input = match (find(entries, "record"), find(entries, "records")) {
                (Some(_), Some(r)) => {
                    self.err(
                        Code::BadTest
                            .error(r.span.clone(), format!("test `{name}` has both `record` and `records`"))
                            .label("second input")
                            .help("a case takes one `record` (rules over one record) or `records` (windows and sequences)"),
                    );
                    None
                }
                (Some(r), None) if multi => {
                    self.err(
                        Code::BadTest
                            .error(r.span.clone(), "a window or sequence is tested with `records`, not `record`")
                            .label("one record")
                            .help("write `records: [ {...}, {...} ]`, each record with its time (`createdDateTime`)"),
                    );
                    None
                }
                (None, Some(r)) if !multi => {
                    self.err(
                        Code::BadTest
                            .error(r.span.clone(), "`records` is for window and sequence rules; this rule reads one record")
                            .label("several records")
                            .help("write `record: { field: value, ... }`"),
                    );
                    None
                }
                (Some(r), None) => self
                    .one_record(r)
                    .map(|record| TestInput::Record { record, log }),
                (None, Some(r)) => self.records(r, log).map(TestInput::Records),
                (None, None) => {
                    let (key, example) = if multi {
                        (
                            "records",
                            "records: [ { createdDateTime: ..., field: value }, ... ]",
                        )
                    } else {
                        ("record", "record: { field: value, ... }")
                    };
                    self.err(
                        Code::BadTest
                            .error(item.span.clone(), format!("test `{name}` has no `{key}`"))
                            .label("this case")
                            .help(format!("add `{example}`")),
                    );
                    None
                }
            };
            let params = find(entries, "params").map_or_else(Vec::new, |n| self.case_params(n));
            if let (Some(expect), Some(input)) = (expect, input) {
                // Point at the case's first key (usually `name`), not its
                // whole extent.
                let span = entries
                    .first()
                    .map_or_else(|| item.span.clone(), |(k, _)| k.span.clone());
                cases.push(TestCase {
                    name,
                    expect,
                    input,
                    params,
                    with_params: None,
                    span,
                });
            }
        }
        cases
    }

    /// A case's `params:`: values by name, each a scalar or a list of
    /// scalars, for params the rule declares.
    fn case_params(&mut self, n: &Node) -> Vec<(String, Vec<String>)> {
        let Some(entries) = n.map() else {
            self.err(wrong_type(
                n,
                format!(
                    "a test case's `params` must map param names to values, not {}",
                    n.describe()
                ),
                "expected a mapping",
            ));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            let name = key_name(key);
            if !self.params.contains_key(name) {
                let declared: Vec<&str> = self.params.keys().map(String::as_str).collect();
                self.err(
                    Code::UndefinedParam
                        .error(key.span.clone(), format!("param `{name}` is not declared"))
                        .label("the rule declares no such param")
                        .suggest(catalog::closest(name, declared)),
                );
                continue;
            }
            let items: Vec<&Node> = match &value.kind {
                NodeKind::Seq(items) => items.iter().collect(),
                _ => vec![value],
            };
            let mut values = Vec::new();
            for item in items {
                match item.scalar() {
                    Some(s) => values.push(s.text.clone()),
                    None => self.err(wrong_type(
                        item,
                        format!("a param value must be a scalar, not {}", item.describe()),
                        "expected a value",
                    )),
                }
            }
            out.push((name.to_string(), values));
        }
        out
    }

    /// `expect: match | no-match`, or for multi-record rules `findings: N`
    /// instead: exactly one of them.
    fn expectation(
        &mut self,
        entries: &[(Node, Node)],
        item: &Node,
        name: &str,
        multi: bool,
    ) -> Option<Expect> {
        match (find(entries, "expect"), find(entries, "findings")) {
            (Some(_), Some(f)) => {
                self.err(
                    Code::BadTest
                        .error(
                            f.span.clone(),
                            format!("test `{name}` has both `expect` and `findings`"),
                        )
                        .label("second expectation")
                        .help("keep one: `expect: match | no-match`, or `findings: N`"),
                );
                None
            }
            (Some(e), None) => match e.text() {
                Some("match") => Some(Expect::Match),
                Some("no-match") | Some("no match") | Some("noMatch") => Some(Expect::NoMatch),
                _ => {
                    self.err(
                        Code::BadTest
                            .error(e.span.clone(), "`expect` must be `match` or `no-match`")
                            .label("unknown expectation"),
                    );
                    None
                }
            },
            (None, Some(f)) if !multi => {
                self.err(
                    Code::BadTest
                        .error(f.span.clone(), "`findings` counts the findings of a window or sequence; this rule reads one record")
                        .label("a count of findings")
                        .help("write `expect: match` or `expect: no-match`"),
                );
                None
            }
            (None, Some(f)) => match f.scalar().map(|s| s.lit()) {
                Some(crate::syntax::Lit::Int(n)) if n >= 0 => Some(Expect::Findings(n as u64)),
                _ => {
                    self.err(
                        Code::BadTest
                            .error(
                                f.span.clone(),
                                "`findings` must be a whole number, zero or more",
                            )
                            .label("not a count"),
                    );
                    None
                }
            },
            (None, None) => {
                let help = if multi {
                    "add `expect: match`, `expect: no-match` or `findings: N`"
                } else {
                    "add `expect: match` or `expect: no-match`"
                };
                self.err(
                    Code::BadTest
                        .error(item.span.clone(), format!("test `{name}` has no `expect`"))
                        .label("this case")
                        .help(help),
                );
                None
            }
        }
    }

    /// A case's `record`: a mapping, whose keys are checked for typos.
    fn one_record(&mut self, r: &Node) -> Option<serde_json::Value> {
        if r.map().is_some() {
            self.record_keys(r, self.root);
            return Some(r.to_json());
        }
        self.err(
            Code::BadTest
                .error(
                    r.span.clone(),
                    format!(
                        "a test record must be a mapping of sign-in fields, not {}",
                        r.describe()
                    ),
                )
                .label("expected a record"),
        );
        None
    }

    /// A case's `records`: a list of mappings, each with its time and
    /// optionally its own `log:` (else the case's `log`, if any).
    fn records(&mut self, n: &Node, case_log: Option<LogCategory>) -> Option<Vec<TestRecord>> {
        let Some(items) = n.seq().filter(|i| !i.is_empty()) else {
            self.err(
                Code::BadTest
                    .error(
                        n.span.clone(),
                        format!("`records` must be a list of records, not {}", n.describe()),
                    )
                    .label("expected `[ {...}, {...} ]`"),
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            let Some(entries) = item.map() else {
                self.err(
                    Code::BadTest
                        .error(
                            item.span.clone(),
                            format!(
                                "a test record must be a mapping of fields, not {}",
                                item.describe()
                            ),
                        )
                        .label("expected a record"),
                );
                ok = false;
                continue;
            };
            let log = match find(entries, "log") {
                Some(l) => self.logs(l).into_iter().next(),
                None => case_log.clone(),
            };
            let fields = log.as_ref().map_or(self.root, catalog::for_log);
            self.record_keys(item, fields);
            if !has_time(item) {
                self.err(
                    Code::BadTest
                        .error(item.span.clone(), "a record of a multi-record test needs its time")
                        .label("no readable time")
                        .help("add `createdDateTime: 2025-01-31T08:00:00Z` (`timeGenerated` for Graph activity)"),
                );
                ok = false;
            }
            let mut record = item.to_json();
            if let Some(map) = record.as_object_mut() {
                map.remove("log");
            }
            out.push(TestRecord {
                record,
                log,
                span: item.span.clone(),
            });
        }
        ok.then_some(out)
    }
}

/// Whether a test record has a time a multi-record rule can order it by:
/// `createdDateTime` or `timeGenerated` (any case, also inside a
/// diagnostic record's `properties`) that reads as a date-time.
fn has_time(record: &Node) -> bool {
    let Some(entries) = record.map() else {
        return false;
    };
    entries.iter().any(|(k, v)| {
        let name = key_name(k);
        if name.eq_ignore_ascii_case("properties") {
            return has_time(v);
        }
        (name.eq_ignore_ascii_case("createdDateTime") || name.eq_ignore_ascii_case("timeGenerated"))
            && v.text().and_then(crate::time::normalize).is_some()
    })
}
