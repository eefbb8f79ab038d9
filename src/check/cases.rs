//! Cases: a rule's `tests:` list → [`TestCase`]s.
//!
//! Takes the YAML under `tests:` and gives each case's name, expectation,
//! log and record (as JSON, read later like any log record). Record keys
//! that look like misspelt catalog fields are warned about; keys far from
//! any field are kept, since `raw.` rules may read them.

use super::model::TestCase;
use super::{RuleCx, find, key_name, wrong_type};
use crate::catalog::{self, Field};
use crate::diag::Code;
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
            if fields == self.root && name.eq_ignore_ascii_case("properties") {
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

    pub(super) fn tests(&mut self, n: &Node) -> Vec<TestCase> {
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
        const KEYS: [&str; 5] = ["name", "expect", "record", "log", "params"];
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
            let expect = match find(entries, "expect") {
                Some(e) => match e.text() {
                    Some("match") => Some(true),
                    Some("no-match") | Some("no match") | Some("noMatch") => Some(false),
                    _ => {
                        self.err(
                            Code::BadTest
                                .error(e.span.clone(), "`expect` must be `match` or `no-match`")
                                .label("unknown expectation"),
                        );
                        None
                    }
                },
                None => {
                    self.err(
                        Code::BadTest
                            .error(item.span.clone(), format!("test `{name}` has no `expect`"))
                            .label("this case")
                            .help("add `expect: match` or `expect: no-match`"),
                    );
                    None
                }
            };
            let log = find(entries, "log").and_then(|n| {
                let logs = self.logs(n);
                logs.into_iter().next()
            });
            let record = match find(entries, "record") {
                Some(r) if r.map().is_some() => {
                    self.record_keys(r, self.root);
                    Some(r.to_json())
                }
                Some(r) => {
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
                None => {
                    self.err(
                        Code::BadTest
                            .error(item.span.clone(), format!("test `{name}` has no `record`"))
                            .label("this case")
                            .help("add `record: { field: value, ... }`"),
                    );
                    None
                }
            };
            let params = find(entries, "params").map_or_else(Vec::new, |n| self.case_params(n));
            if let (Some(expect_match), Some(record)) = (expect, record) {
                // Point at the case's first key (usually `name`), not its
                // whole extent.
                let span = entries
                    .first()
                    .map_or_else(|| item.span.clone(), |(k, _)| k.span.clone());
                cases.push(TestCase {
                    name,
                    expect_match,
                    record,
                    log,
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
}
