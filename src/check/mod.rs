//! Check: spanned YAML documents → checked rules, or every authoring
//! mistake at once.
//!
//! Takes the [`Document`]s of the rule files and the parameter values given
//! by the user, reads each document as a rule, resolves every field name
//! against the catalog, types every value against its field, substitutes
//! `$params`, and gives [`CheckedRule`]s (conditions with resolved fields and
//! typed constants, spans kept for messages) plus [`Diagnostic`]s. A rule
//! with an error is still checked to the end, so one run shows all mistakes.

//!
//! The work is split by concern, each a set of methods on one per-rule
//! context (`RuleCx`): `params` (`params:` and `$name`), `conditions`
//! (`match:` trees), `typing` (constants typed by field), `template`
//! (`message:`), `cases` (`tests:`) and `lints` (conditions that never or
//! always hold). `model` holds the checked rule as plain data (re-exported
//! here) and [`pattern`] the regex and IP-range readers.

mod cases;
mod conditions;
mod lints;
mod model;
mod multi;
mod params;
pub mod pattern;
mod refs;
mod template;
mod typing;

pub(crate) use conditions::text_pattern;
pub(crate) use typing::past_float;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::catalog::{self, Field, SIGN_IN};
use crate::diag::{Code, Diagnostic, SourceId, Sources, Span};
use crate::finding::{RuleInfo, Severity};
use crate::record::LogCategory;
use crate::syntax::{Document, Node, NodeKind};

pub use model::{
    Bound, CheckedRule, Cond, Const, CountCmp, Expect, FieldRef, Op, Piece, Pred, Prepared,
    Quantifier, Sequence, Shape, Step, TICKS_PER_SECOND, TestCase, TestInput, Threshold, TimeSpan,
    Travel, TravelPart, Window, WindowPart,
};
use params::ParamDef;

/// The keys a rule may have.
pub const RULE_KEYS: &[&str] = &[
    "id",
    "title",
    "severity",
    "logs",
    "description",
    "references",
    "tags",
    "params",
    "match",
    "window",
    "sequence",
    "message",
    "tests",
];

/// A parameter value given from outside the rule (`--param`, config).
pub type ParamValues = HashMap<String, Vec<String>>;

/// Checks every document of every file. Returns the rules that have no
/// error and every diagnostic (errors and warnings).
pub fn check(
    docs: &[(SourceId, Document)],
    sources: &Sources,
    params: &ParamValues,
) -> (Vec<CheckedRule>, Vec<Diagnostic>) {
    let mut rules = Vec::new();
    let mut diags = Vec::new();
    let mut seen_ids: HashMap<String, Span> = HashMap::new();
    // Sigma rules are read together: a correlation names other rules.
    let sigma_docs: Vec<(SourceId, &Document)> = docs
        .iter()
        .filter(|(_, d)| crate::sigma::is_sigma(&d.root))
        .map(|(s, d)| (*s, d))
        .collect();
    let mut sigma = crate::sigma::check_all(&sigma_docs, sources).into_iter();
    for (source, doc) in docs {
        if crate::sigma::is_sigma(&doc.root) {
            let Some(outcome) = sigma.next() else {
                continue;
            };
            let errors = outcome
                .diags
                .iter()
                .any(|d| d.level == crate::diag::Level::Error);
            diags.extend(outcome.diags);
            if let Some((id, span)) = outcome.id {
                if let Some(first) = seen_ids.get(&id) {
                    diags.push(duplicate_id(&id, span, first));
                    continue;
                }
                seen_ids.insert(id, span);
            }
            if let (Some(rule), false) = (outcome.rule, errors) {
                rules.push(rule);
            }
            continue;
        }
        let mut cx = RuleCx::new(*source, sources, params);
        let mut rule = cx.rule(&doc.root);
        let errors = cx
            .diags
            .iter()
            .any(|d| d.level == crate::diag::Level::Error);
        diags.append(&mut cx.diags);
        if let Some((id, span)) = cx.id.take() {
            if let Some(first) = seen_ids.get(&id) {
                diags.push(duplicate_id(&id, span, first));
                continue;
            }
            seen_ids.insert(id, span);
        }
        if let (Some(rule), false) = (rule.as_mut(), errors) {
            with_case_params(rule, *source, doc, sources, params, &mut diags);
        }
        if let (Some(rule), false) = (rule, errors) {
            rules.push(rule);
        }
    }
    (rules, diags)
}

fn duplicate_id(id: &str, span: Span, first: &Span) -> Diagnostic {
    Code::DuplicateId
        .error(span, format!("rule id `{id}` is used twice"))
        .label("second rule with this id")
        .related(first.clone(), "first defined here")
        .help("rule ids must be unique across all rule files; rename one")
}

/// For each test case with `params:`, checks the rule again with those
/// values over the run's, so the case runs against the rule as they make
/// it: a rule that waits for required params, or one whose defaults the
/// case overrides. Errors the values cause (a value of the wrong type) are
/// reported; warnings were given the first time.
fn with_case_params(
    rule: &mut CheckedRule,
    source: SourceId,
    doc: &Document,
    sources: &Sources,
    params: &ParamValues,
    diags: &mut Vec<Diagnostic>,
) {
    for case in &mut rule.tests {
        if case.params.is_empty() {
            continue;
        }
        let mut given = params.clone();
        for (name, values) in &case.params {
            given.insert(name.clone(), values.clone());
        }
        let mut cx = RuleCx::new(source, sources, &given);
        let checked = cx.rule(&doc.root);
        let errors: Vec<Diagnostic> = cx
            .diags
            .into_iter()
            .filter(|d| d.level == crate::diag::Level::Error)
            .collect();
        if let (Some(mut checked), true) = (checked, errors.is_empty())
            && checked.waiting.is_empty()
        {
            checked.tests.clear();
            case.with_params = Some(Box::new(checked));
        }
        diags.extend(errors);
    }
}

struct RuleCx<'a> {
    source: SourceId,
    sources: &'a Sources,
    diags: Vec<Diagnostic>,
    params: BTreeMap<String, ParamDef>,
    given: &'a ParamValues,
    /// The rule's id and its span, once read (even if the rule has errors,
    /// so duplicate ids are still found).
    id: Option<(String, Span)>,
    /// The catalog the rule's fields are resolved in, chosen by its `logs`.
    root: &'static [Field],
    /// While a sequence step's `where` is checked: the steps it may read.
    where_scope: Option<refs::WhereScope>,
    /// Required params the rule uses that have no value.
    waiting: BTreeSet<String>,
}

impl<'a> RuleCx<'a> {
    fn new(source: SourceId, sources: &'a Sources, given: &'a ParamValues) -> RuleCx<'a> {
        RuleCx {
            source,
            sources,
            diags: Vec::new(),
            params: BTreeMap::new(),
            given,
            id: None,
            root: SIGN_IN,
            waiting: BTreeSet::new(),
            where_scope: None,
        }
    }
}

fn find<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    entries
        .iter()
        .find(|(k, _)| k.text() == Some(key))
        .map(|(_, v)| v)
}

impl RuleCx<'_> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn line_of(&self, span: &Span) -> u64 {
        self.sources.line_col(span.source, span.range.start).0 as u64
    }

    fn rule(&mut self, root: &Node) -> Option<CheckedRule> {
        let Some(entries) = root.map() else {
            self.err(
                Code::RuleNotMapping.error(root.span.clone(),
                    format!("a rule must be a mapping, not {}", root.describe()),
                )
                .label("expected `key: value` lines")
                .help("start the rule with `id: ...`, `title: ...`, `severity: ...`, `match: ...`"),
            );
            return None;
        };
        self.known_keys(entries, RULE_KEYS, "rule");
        let head = entries
            .first()
            .map_or_else(|| root.span.clone(), |(k, _)| k.span.clone());
        let missing = |cx: &mut Self, key: &str, what: &str| {
            cx.err(
                Code::MissingKey
                    .error(head.clone(), format!("rule has no `{key}`"))
                    .label("this rule")
                    .help(format!("add `{key}: {what}`")),
            );
        };
        let id_node = find(entries, "id");
        let id = match id_node {
            Some(n) => self.string(n, "id").and_then(|id| {
                let valid = !id.is_empty()
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
                if valid {
                    self.id = Some((id.clone(), n.span.clone()));
                    Some(id)
                } else {
                    self.err(
                        Code::BadId.error(n.span.clone(),
                            format!("rule id `{id}` has characters other than letters, digits, `.`, `_` and `-`"),
                        )
                        .label("invalid id")
                        .help("use a stable code such as `TG-CA-001`"),
                    );
                    None
                }
            }),
            None => {
                missing(self, "id", "TG-XX-001");
                None
            }
        };
        let title = match find(entries, "title") {
            Some(n) => self.string(n, "title"),
            None => {
                missing(self, "title", "what the rule finds, in one line");
                None
            }
        };
        let severity = match find(entries, "severity") {
            Some(n) => self
                .string(n, "severity")
                .and_then(|s| match s.parse::<Severity>() {
                    Ok(sev) => Some(sev),
                    Err(_) => {
                        let names = Severity::ALL.map(Severity::name);
                        self.err(
                            Code::BadSeverity
                                .error(n.span.clone(), format!("`{s}` is not a severity"))
                                .label("unknown severity")
                                .suggest_then(
                                    catalog::closest(&s, names),
                                    "severities are info, low, medium, high, critical",
                                ),
                        );
                        None
                    }
                }),
            None => {
                missing(self, "severity", "info | low | medium | high | critical");
                None
            }
        };
        let logs =
            find(entries, "logs").map_or_else(|| LogCategory::SIGN_INS.to_vec(), |n| self.logs(n));
        if let Some(n) = find(entries, "logs") {
            self.root = self.catalog_of(&logs, n);
        }
        let description = find(entries, "description")
            .and_then(|n| self.string(n, "description"))
            .unwrap_or_default();
        let references =
            find(entries, "references").map_or_else(Vec::new, |n| self.strings(n, "references"));
        let tags = find(entries, "tags").map_or_else(Vec::new, |n| self.strings(n, "tags"));
        if let Some(n) = find(entries, "params") {
            self.declare_params(n);
        }
        let window = find(entries, "window");
        let sequence = find(entries, "sequence");
        let multi = window.is_some() || sequence.is_some();
        let cond = match find(entries, "match") {
            Some(n) => self
                .condition(n, self.root, 0)
                .inspect(|c| self.lint(c))
                // A rule that waits for a param has no condition to run;
                // every other mistake in it has been reported.
                .or_else(|| (!self.waiting.is_empty()).then(|| Cond::All(Vec::new()))),
            // A window or sequence without `match` reads every record of
            // its logs (a sequence's steps have their own `match`).
            None if multi => Some(Cond::All(Vec::new())),
            None => {
                missing(self, "match", "{ field: value }");
                None
            }
        };
        let mut logs = logs;
        let shape = match (window, sequence) {
            (Some(_), Some(_)) => {
                let at = multi::key_span(entries, "sequence").unwrap_or_else(|| head.clone());
                let first = multi::key_span(entries, "window").unwrap_or_else(|| head.clone());
                self.err(
                    Code::WindowAndSequence
                        .error(at, "a rule cannot have both `window` and `sequence`")
                        .label("second kind of multi-record rule")
                        .related(first, "`window` here")
                        .help(
                            "split it into two rules, one with `window:` and one with `sequence:`",
                        ),
                );
                None
            }
            (Some(w), None) => self.window(w).map(Shape::Window),
            (None, Some(s)) => {
                let rule_match = find(entries, "match").and(cond.as_ref());
                let seq = self.sequence(s, &logs, rule_match);
                if let Some(seq) = &seq {
                    // The rule reads the logs of its steps.
                    logs = Vec::new();
                    for log in seq.steps.iter().flat_map(|s| s.logs.iter()) {
                        if !logs.contains(log) {
                            logs.push(log.clone());
                        }
                    }
                }
                seq.map(Shape::Sequence)
            }
            (None, None) => Some(Shape::Single),
        };
        let message = match (find(entries, "message"), &shape) {
            (Some(n), Some(Shape::Single)) => self.template(n, None),
            (Some(n), Some(shape)) => self.template(n, Some(shape)),
            // The placeholders a message may use depend on the window or
            // sequence, which has errors.
            (Some(_), None) => None,
            (None, _) => title.clone().map(|t| vec![Piece::Text(t)]),
        };
        let tests = find(entries, "tests").map_or_else(Vec::new, |n| self.tests(n, multi));
        for (name, def) in &self.params {
            if !def.used {
                self.diags.push(
                    Code::UnusedParam
                        .warning(
                            def.span.clone(),
                            format!("param `{name}` is declared but never used"),
                        )
                        .label("unused")
                        .help(format!("use it as `${name}` in a condition, or remove it")),
                );
            }
        }
        let id_span = id_node.map_or(head, |n| n.span.clone());
        Some(CheckedRule {
            info: RuleInfo {
                id: id?.into(),
                title: title?.into(),
                severity: severity?,
                description,
                references,
                tags,
                logs: logs.iter().map(|c| c.name().to_string()).collect(),
                source: self.sources.name(self.source).to_string(),
                line: self.line_of(&id_span),
            },
            logs,
            cond: cond?,
            shape: shape?,
            message: message?,
            tests,
            waiting: self.waiting.iter().cloned().collect(),
            span: id_span,
        })
    }

    fn string(&mut self, n: &Node, key: &str) -> Option<String> {
        match n.scalar() {
            Some(s) => Some(s.text.clone()),
            None => {
                self.err(wrong_type(
                    n,
                    format!("`{key}` must be text, not {}", n.describe()),
                    "expected text",
                ));
                None
            }
        }
    }

    fn strings(&mut self, n: &Node, key: &str) -> Vec<String> {
        match &n.kind {
            NodeKind::Seq(items) => items.iter().filter_map(|i| self.string(i, key)).collect(),
            NodeKind::Scalar(s) => vec![s.text.clone()],
            NodeKind::Map(_) => {
                self.err(wrong_type(
                    n,
                    format!("`{key}` must be a list of text, not a mapping"),
                    "expected a list",
                ));
                Vec::new()
            }
        }
    }

    fn logs(&mut self, n: &Node) -> Vec<LogCategory> {
        let items: Vec<&Node> = match &n.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            _ => vec![n],
        };
        let mut logs = Vec::new();
        for item in items {
            let Some(name) = self.string(item, "logs") else {
                continue;
            };
            match LogCategory::from_rule_name(&name) {
                Some(c) => logs.push(c),
                None => self.err(
                    Code::UnknownLog
                        .error(item.span.clone(), format!("unknown log `{name}`"))
                        .label("not a log category")
                        .suggest_then(
                            catalog::closest(&name, LogCategory::RULE_NAMES),
                            &format!("logs are {}", LogCategory::RULE_NAMES.join(", ")),
                        ),
                ),
            }
        }
        logs
    }

    /// The catalog of the logs a rule reads; an error when they need two
    /// catalogs (Graph activity and sign-ins), as one condition cannot name
    /// fields of both.
    fn catalog_of(&mut self, logs: &[LogCategory], n: &Node) -> &'static [Field] {
        let mut roots = logs.iter().map(catalog::for_log);
        let Some(first) = roots.next() else {
            return SIGN_IN;
        };
        if roots.all(|r| r == first) {
            return first;
        }
        self.err(
            Code::MixedLogs.error(n.span.clone(),
                "a rule cannot read Graph activity and sign-in logs together",
            )
            .label("Graph activity and sign-ins have different fields")
            .help("split it into two rules: one with `logs: [graphActivity]`, one for the sign-in logs"),
        );
        SIGN_IN
    }

    /// The catalog's name for messages: `sign-in`, `Graph activity`.
    fn catalog_name(&self) -> &'static str {
        if self.root == catalog::GRAPH_ACTIVITY {
            "Graph activity"
        } else {
            "sign-in"
        }
    }
}

impl RuleCx<'_> {
    /// Reports every key of `entries` that is not one of `known`, as an
    /// unknown key of a `what` (rule, param, test).
    fn known_keys(&mut self, entries: &[(Node, Node)], known: &[&str], what: &str) {
        for (key, _) in entries {
            let name = key_name(key);
            if !known.contains(&name) {
                self.err(
                    Code::UnknownKey
                        .error(key.span.clone(), format!("unknown {what} key `{name}`"))
                        .label(format!("not a {what} key"))
                        .suggest(catalog::closest(name, known.iter().copied())),
                );
            }
        }
    }
}

/// The name of a mapping key. syntax refuses keys that are not plain
/// scalars (`tollgate::yaml-syntax`), so every key has text; should that
/// change, an empty name matches no known key and is reported as unknown.
fn key_name(key: &Node) -> &str {
    key.text().unwrap_or_default()
}

/// A value of the wrong shape for its key (text, list, mapping).
fn wrong_type(n: &Node, message: String, label: &str) -> Diagnostic {
    Code::WrongType.error(n.span.clone(), message).label(label)
}

/// Every condition of a list, as one: itself when alone.
fn all_of(mut parts: Vec<Cond>) -> Option<Cond> {
    Some(if parts.len() == 1 {
        parts.pop()?
    } else {
        Cond::All(parts)
    })
}
