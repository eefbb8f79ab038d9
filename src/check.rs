//! Check: spanned YAML documents → checked rules, or every authoring
//! mistake at once.
//!
//! Takes the [`Document`]s of the rule files and the parameter values given
//! by the user, reads each document as a rule, resolves every field name
//! against the catalog, types every value against its field, substitutes
//! `$params`, and gives [`CheckedRule`]s (conditions with resolved fields and
//! typed constants, spans kept for messages) plus [`Diagnostic`]s. A rule
//! with an error is still checked to the end, so one run shows all mistakes.

use std::collections::{BTreeMap, HashMap};

use crate::catalog::{self, Field, Kind, Resolved, SIGN_IN};
use crate::diag::{Diagnostic, SourceId, Sources, Span};
use crate::finding::{RuleInfo, Severity};
use crate::record::LogCategory;
use crate::syntax::{Document, Lit, Node, NodeKind};

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
    "message",
    "tests",
];

/// Comparison operators of a field condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Equals.
    Eq,
    /// Does not equal.
    Ne,
    /// Equals one of.
    In,
    /// Equals none of.
    NotIn,
    /// Contains a substring.
    Contains,
    /// Starts with.
    StartsWith,
    /// Ends with.
    EndsWith,
    /// Matches a regular expression.
    Matches,
    /// Is present (or absent, with `false`).
    Exists,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// IP address in a range.
    Cidr,
}

impl Op {
    /// Every operator with its name in rules.
    pub const ALL: [(&'static str, Op); 14] = [
        ("eq", Op::Eq),
        ("ne", Op::Ne),
        ("in", Op::In),
        ("notIn", Op::NotIn),
        ("contains", Op::Contains),
        ("startsWith", Op::StartsWith),
        ("endsWith", Op::EndsWith),
        ("matches", Op::Matches),
        ("exists", Op::Exists),
        ("gt", Op::Gt),
        ("gte", Op::Gte),
        ("lt", Op::Lt),
        ("lte", Op::Lte),
        ("cidr", Op::Cidr),
    ];

    /// The operator's name in rules.
    pub fn name(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(n, _)| n)
    }

    fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
    }

    /// Whether the operator takes a list of values (any of which may match).
    fn takes_list(self) -> bool {
        matches!(
            self,
            Op::In | Op::NotIn | Op::Contains | Op::StartsWith | Op::EndsWith | Op::Cidr
        )
    }
}

/// Quantifiers over a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// Some element satisfies the condition.
    Any,
    /// Every element does (true for an empty list).
    All,
    /// No element does (true for an empty list).
    None,
}

impl Quantifier {
    /// The quantifier's name in rules.
    pub fn name(self) -> &'static str {
        match self {
            Quantifier::Any => "any",
            Quantifier::All => "all",
            Quantifier::None => "none",
        }
    }
}

/// A typed constant of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    /// Text (for date-time fields, normalized to the record's form).
    Str(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
}

impl Const {
    /// The constant as JSON, for evidence.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Const::Str(s) => serde_json::Value::from(s.as_str()),
            Const::Int(i) => serde_json::Value::from(*i),
            // A whole number reads as one: `gt 100`, not `gt 100.0`.
            Const::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => {
                serde_json::Value::from(*n as i64)
            }
            Const::Num(n) => serde_json::Value::from(*n),
            Const::Bool(b) => serde_json::Value::from(*b),
        }
    }
}

/// A condition on one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Pred {
    /// The field.
    pub field: Resolved,
    /// The operator.
    pub op: Op,
    /// The constants (one for scalar operators; any may match for lists).
    pub values: Vec<Const>,
    /// Compare strings with case.
    pub case_sensitive: bool,
    /// Where the condition was written.
    pub span: Span,
}

/// A checked condition tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Every child holds (true when empty).
    All(Vec<Cond>),
    /// Some child holds.
    Any(Vec<Cond>),
    /// The child does not hold.
    Not(Box<Cond>),
    /// A field condition.
    Pred(Pred),
    /// A condition over the elements of a list.
    Quant {
        /// any, all or none.
        quantifier: Quantifier,
        /// The list field.
        field: Resolved,
        /// The condition on each element (field paths relative to it).
        inner: Box<Cond>,
        /// Where it was written.
        span: Span,
    },
}

/// A piece of a message template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A field's value (`-` when absent).
    Field(Resolved),
}

/// One `tests:` case of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// The case's name.
    pub name: String,
    /// Whether the rule should match.
    pub expect_match: bool,
    /// The record, as JSON in any supported shape.
    pub record: serde_json::Value,
    /// The log the record is from, when the case says so.
    pub log: Option<LogCategory>,
    /// Where the case was written.
    pub span: Span,
}

/// A rule that passed checking.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRule {
    /// What reports show about the rule.
    pub info: RuleInfo,
    /// The logs it reads.
    pub logs: Vec<LogCategory>,
    /// Its condition.
    pub cond: Cond,
    /// Its message template.
    pub message: Vec<Piece>,
    /// Its test cases.
    pub tests: Vec<TestCase>,
    /// The span of its `id` value.
    pub span: Span,
}

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
    for (source, doc) in docs {
        let mut cx = RuleCx {
            source: *source,
            sources,
            diags: Vec::new(),
            params: BTreeMap::new(),
            given: params,
            id: None,
            root: SIGN_IN,
        };
        let rule = cx.rule(&doc.root);
        let errors = cx
            .diags
            .iter()
            .any(|d| d.level == crate::diag::Level::Error);
        diags.append(&mut cx.diags);
        if let Some((id, span)) = cx.id.take() {
            if let Some(first) = seen_ids.get(&id) {
                diags.push(
                    Diagnostic::error(
                        "tollgate::duplicate-id",
                        span,
                        format!("rule id `{id}` is used twice"),
                    )
                    .label("second rule with this id")
                    .related(first.clone(), "first defined here")
                    .help("rule ids must be unique across all rule files; rename one"),
                );
                continue;
            }
            seen_ids.insert(id, span);
        }
        if let (Some(rule), false) = (rule, errors) {
            rules.push(rule);
        }
    }
    (rules, diags)
}

struct ParamDef {
    span: Span,
    value: Option<ParamValue>,
    used: bool,
    is_list: bool,
}

#[derive(Debug, Clone)]
enum ParamValue {
    One(Lit),
    List(Vec<Lit>),
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
                Diagnostic::error(
                    "tollgate::rule-not-mapping",
                    root.span.clone(),
                    format!("a rule must be a mapping, not {}", root.describe()),
                )
                .label("expected `key: value` lines")
                .help("start the rule with `id: ...`, `title: ...`, `severity: ...`, `match: ...`"),
            );
            return None;
        };
        for (key, _) in entries {
            let name = key.text().unwrap_or_default();
            if !RULE_KEYS.contains(&name) {
                self.err(
                    Diagnostic::error(
                        "tollgate::unknown-key",
                        key.span.clone(),
                        format!("unknown rule key `{name}`"),
                    )
                    .label("not a rule key")
                    .suggest(catalog::closest(name, RULE_KEYS.iter().copied())),
                );
            }
        }
        let head = entries
            .first()
            .map_or_else(|| root.span.clone(), |(k, _)| k.span.clone());
        let missing = |cx: &mut Self, key: &str, what: &str| {
            cx.err(
                Diagnostic::error(
                    "tollgate::missing-key",
                    head.clone(),
                    format!("rule has no `{key}`"),
                )
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
                        Diagnostic::error(
                            "tollgate::bad-id",
                            n.span.clone(),
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
            Some(n) => self.string(n, "severity").and_then(|s| match s.parse::<Severity>() {
                Ok(sev) => Some(sev),
                Err(_) => {
                    let names = Severity::ALL.map(Severity::name);
                    self.err(
                        Diagnostic::error(
                            "tollgate::bad-severity",
                            n.span.clone(),
                            format!("`{s}` is not a severity"),
                        )
                        .label("unknown severity")
                        .help(match catalog::closest(&s, names) {
                            Some(near) => format!("did you mean `{near}`? severities are info, low, medium, high, critical"),
                            None => "severities are info, low, medium, high, critical".into(),
                        }),
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
        let cond = match find(entries, "match") {
            Some(n) => self.condition(n, self.root, 0).inspect(|c| self.lint(c)),
            None => {
                missing(self, "match", "{ field: value }");
                None
            }
        };
        let message = match find(entries, "message") {
            Some(n) => self.template(n),
            None => title.clone().map(|t| vec![Piece::Text(t)]),
        };
        let tests = find(entries, "tests").map_or_else(Vec::new, |n| self.tests(n));
        for (name, def) in &self.params {
            if !def.used {
                self.diags.push(
                    Diagnostic::warning(
                        "tollgate::unused-param",
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
            message: message?,
            tests,
            span: id_span,
        })
    }

    fn string(&mut self, n: &Node, key: &str) -> Option<String> {
        match n.scalar() {
            Some(s) => Some(s.text.clone()),
            None => {
                self.err(
                    Diagnostic::error(
                        "tollgate::wrong-type",
                        n.span.clone(),
                        format!("`{key}` must be text, not {}", n.describe()),
                    )
                    .label("expected text"),
                );
                None
            }
        }
    }

    fn strings(&mut self, n: &Node, key: &str) -> Vec<String> {
        match &n.kind {
            NodeKind::Seq(items) => items.iter().filter_map(|i| self.string(i, key)).collect(),
            NodeKind::Scalar(s) => vec![s.text.clone()],
            NodeKind::Map(_) => {
                self.err(
                    Diagnostic::error(
                        "tollgate::wrong-type",
                        n.span.clone(),
                        format!("`{key}` must be a list of text, not a mapping"),
                    )
                    .label("expected a list"),
                );
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
                    Diagnostic::error(
                        "tollgate::unknown-log",
                        item.span.clone(),
                        format!("unknown log `{name}`"),
                    )
                    .label("not a log category")
                    .help(
                        match catalog::closest(&name, LogCategory::RULE_NAMES) {
                            Some(near) => format!(
                                "did you mean `{near}`? logs are {}",
                                LogCategory::RULE_NAMES.join(", ")
                            ),
                            None => format!("logs are {}", LogCategory::RULE_NAMES.join(", ")),
                        },
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
            Diagnostic::error(
                "tollgate::mixed-logs",
                n.span.clone(),
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

    fn declare_params(&mut self, n: &Node) {
        let Some(entries) = n.map() else {
            self.err(
                Diagnostic::error(
                    "tollgate::wrong-type",
                    n.span.clone(),
                    "`params` must be a mapping of names to `{ type: ..., default: ... }`",
                )
                .label("expected a mapping"),
            );
            return;
        };
        const TYPES: [&str; 5] = ["string", "int", "number", "bool", "list"];
        for (key, def) in entries {
            let name = key.text().unwrap_or_default().to_string();
            let (ty, default) = match def.map() {
                Some(fields) => {
                    for (k, _) in fields {
                        let kname = k.text().unwrap_or_default();
                        if !["type", "default", "description"].contains(&kname) {
                            self.err(
                                Diagnostic::error(
                                    "tollgate::unknown-key",
                                    k.span.clone(),
                                    format!("unknown param key `{kname}`"),
                                )
                                .label("not a param key")
                                .suggest(catalog::closest(
                                    kname,
                                    ["type", "default", "description"],
                                )),
                            );
                        }
                    }
                    (find(fields, "type"), find(fields, "default"))
                }
                None => (None, None),
            };
            let ty_name = match ty {
                Some(t) => {
                    let t_name = t.text().unwrap_or_default();
                    let canonical = match t_name {
                        "integer" => "int",
                        "boolean" => "bool",
                        other => other,
                    };
                    if TYPES.contains(&canonical) {
                        canonical.to_string()
                    } else {
                        self.err(
                            Diagnostic::error(
                                "tollgate::bad-param",
                                t.span.clone(),
                                format!("unknown param type `{t_name}`"),
                            )
                            .label("not a param type")
                            .help(format!("param types are {}", TYPES.join(", "))),
                        );
                        continue;
                    }
                }
                None => {
                    self.err(
                        Diagnostic::error(
                            "tollgate::bad-param",
                            key.span.clone(),
                            format!("param `{name}` has no `type`"),
                        )
                        .label("this param")
                        .help("write `{ type: list, default: [...] }` (types: string, int, number, bool, list)"),
                    );
                    continue;
                }
            };
            let is_list = ty_name == "list";
            let value = match self.given.get(&name) {
                Some(given) => self.param_from_text(&name, &ty_name, given, &key.span),
                None => default.and_then(|d| self.param_from_node(&name, &ty_name, d)),
            };
            self.params.insert(
                name,
                ParamDef {
                    span: key.span.clone(),
                    value,
                    used: false,
                    is_list,
                },
            );
        }
    }

    fn param_from_node(&mut self, name: &str, ty: &str, n: &Node) -> Option<ParamValue> {
        let bad = |cx: &mut Self, what: &str| {
            cx.err(
                Diagnostic::error(
                    "tollgate::bad-param",
                    n.span.clone(),
                    format!(
                        "default of param `{name}` is {what}, not {}",
                        with_article(ty)
                    ),
                )
                .label(format!("expected {}", with_article(ty)))
                .help(match ty {
                    "list" => "write the default as a list, such as `[US, GB]`".to_string(),
                    other => {
                        format!("write a default of type {other}, or change the param's `type`")
                    }
                }),
            );
            None
        };
        match (&n.kind, ty) {
            (NodeKind::Seq(items), "list") => {
                let mut out = Vec::new();
                for item in items {
                    match item.scalar() {
                        Some(s) => out.push(s.lit()),
                        None => return bad(self, item.describe()),
                    }
                }
                Some(ParamValue::List(out))
            }
            (NodeKind::Scalar(s), "list") => Some(ParamValue::List(vec![s.lit()])),
            (NodeKind::Scalar(s), _) => {
                let lit = s.lit();
                let ok = matches!(
                    (ty, &lit),
                    ("string", _)
                        | ("int", Lit::Int(_))
                        | ("number", Lit::Int(_) | Lit::Float(_))
                        | ("bool", Lit::Bool(_))
                );
                if ok {
                    Some(ParamValue::One(match (ty, lit) {
                        ("string", Lit::Str(s)) => Lit::Str(s),
                        ("string", _) => Lit::Str(s.text.clone()),
                        (_, lit) => lit,
                    }))
                } else {
                    bad(self, n.describe())
                }
            }
            _ => bad(self, n.describe()),
        }
    }

    fn param_from_text(
        &mut self,
        name: &str,
        ty: &str,
        given: &[String],
        at: &Span,
    ) -> Option<ParamValue> {
        if ty == "list" {
            let items = given
                .iter()
                .flat_map(|g| g.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Lit::Str(s.to_string()))
                .collect();
            return Some(ParamValue::List(items));
        }
        let text = given.last().map(String::as_str).unwrap_or_default();
        let lit = match ty {
            "int" => text.trim().parse::<i64>().ok().map(Lit::Int),
            "number" => text.trim().parse::<f64>().ok().map(Lit::Float),
            "bool" => match text.trim().to_ascii_lowercase().as_str() {
                "true" => Some(Lit::Bool(true)),
                "false" => Some(Lit::Bool(false)),
                _ => None,
            },
            _ => Some(Lit::Str(text.to_string())),
        };
        if lit.is_none() {
            self.err(
                Diagnostic::error(
                    "tollgate::bad-param",
                    at.clone(),
                    format!(
                        "value `{text}` given for param `{name}` is not {}",
                        with_article(ty)
                    ),
                )
                .label(format!("declared as {ty} here"))
                .help(format!("pass a {ty} value: `--param {name}=...`")),
            );
        }
        lit.map(ParamValue::One)
    }

    /// Reads `$name` / `${name}` references; `$$` escapes a literal `$`.
    fn param_ref(&mut self, n: &Node) -> Option<Result<ParamValue, ()>> {
        let s = n.scalar()?;
        let text = s.text.as_str();
        if let Some(rest) = text.strip_prefix("$$") {
            return Some(Ok(ParamValue::One(Lit::Str(format!("${rest}")))));
        }
        let name = text.strip_prefix('$')?;
        let name = name
            .strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(name);
        let declared: Vec<&str> = self.params.keys().map(String::as_str).collect();
        let suggestion = catalog::closest(name, declared);
        match self.params.get_mut(name) {
            Some(def) => {
                def.used = true;
                match def.value.clone() {
                    Some(v) => Some(Ok(v)),
                    None => {
                        let span = def.span.clone();
                        self.err(
                            Diagnostic::error(
                                "tollgate::param-without-value",
                                n.span.clone(),
                                format!("param `{name}` has no value"),
                            )
                            .label("used here")
                            .related(span, "declared without a default")
                            .help(format!("give it a default, or pass `--param {name}=...`")),
                        );
                        Some(Err(()))
                    }
                }
            }
            None => {
                self.err(
                    Diagnostic::error(
                        "tollgate::undefined-param",
                        n.span.clone(),
                        format!("param `{name}` is not declared"),
                    )
                    .label("undefined param")
                    .help(match suggestion {
                        Some(near) => format!("did you mean `${near}`?"),
                        None => format!("declare it under `params:` as `{name}: {{ type: ..., default: ... }}`, or write `$$` for a literal `$`"),
                    }),
                );
                Some(Err(()))
            }
        }
    }

    fn condition(&mut self, n: &Node, fields: &'static [Field], depth: usize) -> Option<Cond> {
        let Some(entries) = n.map() else {
            self.err(
                Diagnostic::error(
                    "tollgate::bad-condition",
                    n.span.clone(),
                    format!("a condition must be a mapping of fields to values, not {}", n.describe()),
                )
                .label("expected `field: value`")
                .help("write conditions as `field: value`, or combine them with `all:`, `any:`, `not:`"),
            );
            return None;
        };
        let mut parts = Vec::new();
        let mut ok = true;
        for (key, value) in entries {
            let name = key.text().unwrap_or_default();
            let part = match name {
                "all" | "any" => self.list_of_conditions(name, value, fields, depth),
                "not" => self
                    .condition(value, fields, depth + 1)
                    .map(|c| Cond::Not(Box::new(c))),
                _ => self.field_condition(key, value, fields, depth),
            };
            match part {
                Some(c) => parts.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some(if parts.len() == 1 {
            parts.pop()?
        } else {
            Cond::All(parts)
        })
    }

    fn list_of_conditions(
        &mut self,
        name: &str,
        value: &Node,
        fields: &'static [Field],
        depth: usize,
    ) -> Option<Cond> {
        let items: Vec<&Node> = match &value.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            NodeKind::Map(_) => vec![value],
            NodeKind::Scalar(_) => {
                self.err(
                    Diagnostic::error(
                        "tollgate::bad-condition",
                        value.span.clone(),
                        format!(
                            "`{name}` takes a list of conditions, not {}",
                            value.describe()
                        ),
                    )
                    .label("expected a list of conditions")
                    .help(format!(
                        "write `{name}:` followed by `- field: value` lines"
                    )),
                );
                return None;
            }
        };
        let mut children = Vec::new();
        let mut ok = true;
        for item in items {
            match self.condition(item, fields, depth + 1) {
                Some(c) => children.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some(if name == "all" {
            Cond::All(children)
        } else {
            Cond::Any(children)
        })
    }

    fn resolve(&mut self, key: &Node, fields: &'static [Field]) -> Option<Resolved> {
        let name = key.text().unwrap_or_default();
        match catalog::resolve_in(fields, name) {
            Ok(r) => Some(r),
            Err(e) => {
                // Point at the segment that failed when the key is written plain.
                let start = key.span.range.start;
                let quoted = key.scalar().is_some_and(|s| !s.plain);
                let seg_start = start + usize::from(quoted) + e.offset;
                let span = Span::new(self.source, seg_start..seg_start + e.segment.len());
                let help = match &e.suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "see `tollgate schema` for the fields; reach a field the catalog lacks with `{}{name}`",
                        catalog::RAW_PREFIX
                    ),
                };
                self.err(
                    Diagnostic::error(
                        "tollgate::unknown-field",
                        span,
                        format!("unknown field `{}`", e.segment),
                    )
                    .label(format!("not in the {} catalog", self.catalog_name()))
                    .help(help),
                );
                None
            }
        }
    }

    fn field_condition(
        &mut self,
        key: &Node,
        value: &Node,
        fields: &'static [Field],
        depth: usize,
    ) -> Option<Cond> {
        let Some(field) = self.resolve(key, fields) else {
            // Still read the params the condition names, so they are not
            // reported unused and undefined ones are reported too.
            self.touch_params(value);
            return None;
        };
        let span = Span::new(
            self.source,
            key.span.range.start..value.span.range.end.max(key.span.range.end),
        );
        match &value.kind {
            NodeKind::Map(ops) => self.operators(&field, ops, span, depth),
            NodeKind::Seq(_) => self
                .pred(&field, Op::In, value, false, span)
                .map(Cond::Pred),
            NodeKind::Scalar(_) => {
                // `field: $list` reads as "equals one of".
                let op = match self.peek_param(value) {
                    Some(true) => Op::In,
                    _ => Op::Eq,
                };
                self.pred(&field, op, value, false, span).map(Cond::Pred)
            }
        }
    }

    fn touch_params(&mut self, n: &Node) {
        match &n.kind {
            NodeKind::Scalar(_) => {
                let _ = self.param_ref(n);
            }
            NodeKind::Seq(items) => items.iter().for_each(|i| self.touch_params(i)),
            NodeKind::Map(entries) => entries.iter().for_each(|(_, v)| self.touch_params(v)),
        }
    }

    /// Whether a value is a reference to a list param (without marking it
    /// used).
    fn peek_param(&self, n: &Node) -> Option<bool> {
        let text = n.text()?;
        if text.starts_with("$$") {
            return None;
        }
        let name = text.strip_prefix('$')?;
        let name = name
            .strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(name);
        self.params.get(name).map(|p| p.is_list)
    }

    fn operators(
        &mut self,
        field: &Resolved,
        ops: &[(Node, Node)],
        span: Span,
        depth: usize,
    ) -> Option<Cond> {
        let case_sensitive = match find(ops, "caseSensitive") {
            Some(n) => match n.scalar().map(|s| s.lit()) {
                Some(Lit::Bool(b)) => b,
                _ => {
                    self.err(
                        Diagnostic::error(
                            "tollgate::wrong-type",
                            n.span.clone(),
                            format!(
                                "`caseSensitive` must be true or false, not {}",
                                n.describe()
                            ),
                        )
                        .label("expected true or false"),
                    );
                    false
                }
            },
            None => false,
        };
        let mut parts = Vec::new();
        let mut ok = true;
        for (key, value) in ops {
            let name = key.text().unwrap_or_default();
            if name == "caseSensitive" {
                continue;
            }
            let quant = match name {
                "any" => Some(Quantifier::Any),
                "all" => Some(Quantifier::All),
                "none" => Some(Quantifier::None),
                _ => None,
            };
            let part = if let Some(q) = quant {
                self.quantifier(field, q, key, value, depth)
            } else if let Some(op) = Op::from_name(name) {
                let span = Span::new(
                    self.source,
                    span.range.start..value.span.range.end.max(key.span.range.end),
                );
                self.pred(field, op, value, case_sensitive, span)
                    .map(Cond::Pred)
            } else {
                let names =
                    Op::ALL
                        .iter()
                        .map(|(n, _)| *n)
                        .chain(["any", "all", "none", "caseSensitive"]);
                let names_list: Vec<&str> = Op::ALL.iter().map(|(n, _)| *n).collect();
                let suggestion = catalog::closest(name, names);
                self.err(
                    Diagnostic::error(
                        "tollgate::unknown-operator",
                        key.span.clone(),
                        format!("unknown operator `{name}`"),
                    )
                    .label("not an operator")
                    .help(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "operators are {}; over lists: any, all, none; modifier: caseSensitive",
                            names_list.join(", ")
                        ),
                    }),
                );
                None
            };
            match part {
                Some(c) => parts.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        if parts.is_empty() {
            self.err(
                Diagnostic::error("tollgate::bad-condition", span, "condition has no operator")
                    .label("empty")
                    .help("write an operator such as `{ eq: value }`, or the value itself"),
            );
            return None;
        }
        Some(if parts.len() == 1 {
            parts.pop()?
        } else {
            Cond::All(parts)
        })
    }

    fn quantifier(
        &mut self,
        field: &Resolved,
        quantifier: Quantifier,
        key: &Node,
        value: &Node,
        depth: usize,
    ) -> Option<Cond> {
        let span = Span::new(
            self.source,
            key.span.range.start..value.span.range.end.max(key.span.range.end),
        );
        let list_field = field.field.filter(|f| f.list);
        if field.field.is_some() && list_field.is_none() {
            self.err(
                Diagnostic::error(
                    "tollgate::not-a-list",
                    key.span.clone(),
                    format!(
                        "`{}` applies to lists, and `{}` is not one",
                        quantifier.name(),
                        field.path
                    ),
                )
                .label("not a list field")
                .help("compare the field directly"),
            );
            return None;
        }
        let inner = match list_field {
            // Elements are objects: the value is a condition on their fields.
            Some(f) if matches!(f.kind, Kind::Object(_)) => {
                self.condition(value, f.children(), depth + 1)?
            }
            // Elements are scalars (or unknown): the value tests the element.
            _ => {
                // The element has the list's type; paths inside are empty.
                let element = Resolved {
                    path: catalog::FieldPath::new(Vec::<Box<str>>::new(), field.path.is_raw()),
                    field: list_field,
                };
                match &value.kind {
                    NodeKind::Map(ops) => self.operators(&element, ops, span.clone(), depth + 1)?,
                    NodeKind::Seq(_) => {
                        Cond::Pred(self.pred(&element, Op::In, value, false, span.clone())?)
                    }
                    NodeKind::Scalar(_) => {
                        Cond::Pred(self.pred(&element, Op::Eq, value, false, span.clone())?)
                    }
                }
            }
        };
        Some(Cond::Quant {
            quantifier,
            field: field.clone(),
            inner: Box::new(inner),
            span,
        })
    }

    /// Reads the value(s) of one operator, substituting params and typing
    /// each constant against the field.
    fn pred(
        &mut self,
        field: &Resolved,
        op: Op,
        value: &Node,
        case_sensitive: bool,
        span: Span,
    ) -> Option<Pred> {
        let mut lits: Vec<(Lit, Span)> = Vec::new();
        let mut failed = false;
        let mut is_list = false;
        let items: Vec<&Node> = match &value.kind {
            NodeKind::Seq(items) => {
                is_list = true;
                items.iter().collect()
            }
            _ => vec![value],
        };
        for item in items {
            match self.param_ref(item) {
                Some(Ok(ParamValue::One(l))) => lits.push((l, item.span.clone())),
                Some(Ok(ParamValue::List(ls))) => {
                    is_list = true;
                    lits.extend(ls.into_iter().map(|l| (l, item.span.clone())));
                }
                Some(Err(())) => failed = true,
                None => match item.scalar() {
                    Some(s) => lits.push((s.lit(), item.span.clone())),
                    None => {
                        self.err(
                            Diagnostic::error(
                                "tollgate::wrong-type",
                                item.span.clone(),
                                format!("`{}` takes a value, not {}", op.name(), item.describe()),
                            )
                            .label("expected a value"),
                        );
                        failed = true;
                    }
                },
            }
        }
        if failed {
            return None;
        }
        if is_list && !op.takes_list() && !matches!(op, Op::Eq) {
            self.err(
                Diagnostic::error(
                    "tollgate::wrong-type",
                    value.span.clone(),
                    format!("`{}` takes one value, not a list", op.name()),
                )
                .label("a list")
                .help(match op {
                    Op::Ne => "use `notIn` to exclude several values".to_string(),
                    _ => format!("write one value after `{}`", op.name()),
                }),
            );
            return None;
        }
        let op = match (op, is_list) {
            (Op::Eq, true) => Op::In,
            (Op::In, false) => Op::In,
            (op, _) => op,
        };
        let mut values = Vec::new();
        for (lit, at) in lits {
            match self.typed(field, op, lit, &at) {
                Some(c) => values.push(c),
                None => failed = true,
            }
        }
        if failed {
            return None;
        }
        if op == Op::Matches {
            // Validate here so the error points at the pattern.
            for (c, item) in values.iter().zip(
                value
                    .seq()
                    .map_or_else(|| vec![value], |s| s.iter().collect()),
            ) {
                if let Const::Str(p) = c
                    && let Err(e) = crate::compile::build_regex(p, case_sensitive)
                {
                    let (code, message) = if e.too_large {
                        (
                            "tollgate::regex-too-large",
                            "regular expression is too large",
                        )
                    } else {
                        ("tollgate::bad-regex", "invalid regular expression")
                    };
                    self.err(
                        Diagnostic::error(code, item.span.clone(), message)
                            .label(e.message)
                            .help(if e.too_large {
                                "patterns from rule files are limited in size; simplify the pattern or split it"
                            } else {
                                "regexes use Rust `regex` syntax; escape special characters with `\\`"
                            }),
                    );
                    failed = true;
                }
            }
        }
        if failed {
            return None;
        }
        Some(Pred {
            field: field.clone(),
            op,
            values,
            case_sensitive,
            span,
        })
    }

    /// Types one constant against the field and operator.
    fn typed(&mut self, field: &Resolved, op: Op, lit: Lit, at: &Span) -> Option<Const> {
        let kind = field.kind();
        let fname = field.path.to_string();
        let lit_text = lit_describe(&lit);
        let type_error = |cx: &mut Self, expected: &str, help: String| {
            cx.err(
                Diagnostic::error(
                    "tollgate::type-mismatch",
                    at.clone(),
                    format!(
                        "`{}` compares `{fname}` with {lit_text}, but it holds {expected}",
                        op.name()
                    ),
                )
                .label(format!("expected {expected}"))
                .help(help),
            );
            None
        };
        match op {
            Op::Exists => match lit {
                Lit::Bool(b) => Some(Const::Bool(b)),
                _ => type_error(self, "true or false", "write `exists: true` or `exists: false`".into()),
            },
            Op::Contains | Op::StartsWith | Op::EndsWith | Op::Matches => {
                if !matches!(kind, Kind::String | Kind::Dynamic | Kind::DateTime) {
                    return type_error(
                        self,
                        kind.name(),
                        format!("`{}` applies to text fields; compare with `eq` or `in`", op.name()),
                    );
                }
                match lit {
                    Lit::Str(s) => Some(Const::Str(s)),
                    Lit::Int(i) => Some(Const::Str(i.to_string())),
                    Lit::Float(f) => Some(Const::Str(f.to_string())),
                    _ => type_error(self, "text", "quote the value".into()),
                }
            }
            Op::Cidr => {
                if !matches!(kind, Kind::String | Kind::Dynamic) {
                    return type_error(self, "IP addresses", "`cidr` applies to IP address fields such as `ipAddress`".into());
                }
                let text = match &lit {
                    Lit::Str(s) => s.clone(),
                    _ => return type_error(self, "an IP range", "write a range such as `10.0.0.0/8`".into()),
                };
                match crate::compile::parse_net(&text) {
                    Ok(_) => Some(Const::Str(text)),
                    Err(e) => {
                        self.err(
                            Diagnostic::error(
                                "tollgate::bad-cidr",
                                at.clone(),
                                format!("`{text}` is not an IP range"),
                            )
                            .label(e)
                            .help("write an IPv4 or IPv6 range such as `10.0.0.0/8` or `2001:db8::/32`, or a single address"),
                        );
                        None
                    }
                }
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => match kind {
                Kind::Integer | Kind::Number | Kind::Dynamic => match &lit {
                    Lit::Int(i) => Some(Const::Num(*i as f64)),
                    Lit::Float(f) => Some(Const::Num(*f)),
                    Lit::Str(s) if s.trim().parse::<f64>().is_ok() => {
                        s.trim().parse::<f64>().ok().map(Const::Num)
                    }
                    _ => type_error(self, "numbers", format!("`{}` compares numbers", op.name())),
                },
                Kind::DateTime => match &lit {
                    Lit::Str(s) => match crate::time::normalize(s) {
                        Some(t) => Some(Const::Str(t)),
                        None => type_error(self, "date-times", "write a date-time such as `2025-01-31T00:00:00Z` or a date `2025-01-31`".into()),
                    },
                    _ => type_error(self, "date-times", "quote the date-time".into()),
                },
                _ => type_error(
                    self,
                    &field.field.map_or_else(|| kind.name().to_string(), Field::type_name),
                    format!("`{}` compares numbers and date-times; use `eq`, `in` or `startsWith` on text", op.name()),
                ),
            },
            Op::Eq | Op::Ne | Op::In | Op::NotIn => self.typed_eq(field, lit, at, &type_error),
        }
    }

    fn typed_eq(
        &mut self,
        field: &Resolved,
        lit: Lit,
        at: &Span,
        type_error: &dyn Fn(&mut Self, &str, String) -> Option<Const>,
    ) -> Option<Const> {
        let Some(def) = field.field else {
            return Some(match lit {
                Lit::Null => Const::Str(String::new()),
                Lit::Bool(b) => Const::Bool(b),
                Lit::Int(i) => Const::Int(i),
                Lit::Float(f) => Const::Num(f),
                Lit::Str(s) => Const::Str(s),
            });
        };
        if matches!(lit, Lit::Null) {
            return type_error(
                self,
                def.kind.name(),
                "to match an absent field, write `exists: false`".into(),
            );
        }
        match def.kind {
            Kind::Integer => match &lit {
                Lit::Int(i) => Some(Const::Int(*i)),
                Lit::Str(s) if s.trim().parse::<i64>().is_ok() => {
                    s.trim().parse::<i64>().ok().map(Const::Int)
                }
                _ => type_error(
                    self,
                    "integers",
                    format!(
                        "`{}` holds whole numbers such as `0` or `50126`",
                        field.path
                    ),
                ),
            },
            Kind::Number => match &lit {
                Lit::Int(i) => Some(Const::Num(*i as f64)),
                Lit::Float(f) => Some(Const::Num(*f)),
                Lit::Str(s) if s.trim().parse::<f64>().is_ok() => {
                    s.trim().parse::<f64>().ok().map(Const::Num)
                }
                _ => type_error(self, "numbers", format!("`{}` holds numbers", field.path)),
            },
            Kind::Boolean => match &lit {
                Lit::Bool(b) => Some(Const::Bool(*b)),
                Lit::Str(s) if s.eq_ignore_ascii_case("true") => Some(Const::Bool(true)),
                Lit::Str(s) if s.eq_ignore_ascii_case("false") => Some(Const::Bool(false)),
                _ => type_error(
                    self,
                    "true or false",
                    format!("`{}` is a boolean", field.path),
                ),
            },
            Kind::DateTime => match &lit {
                Lit::Str(s) => match crate::time::normalize(s) {
                    Some(t) => Some(Const::Str(t)),
                    None => type_error(
                        self,
                        "date-times",
                        "write a date-time such as `2025-01-31T08:00:00Z`".into(),
                    ),
                },
                _ => type_error(self, "date-times", "quote the date-time".into()),
            },
            Kind::Object(_) => type_error(
                self,
                "an object",
                match def.children().first() {
                    Some(c) => format!(
                        "compare one of its fields, such as `{}.{}`",
                        field.path, c.name
                    ),
                    None => "compare one of its fields".into(),
                },
            ),
            Kind::Dynamic => Some(match lit {
                Lit::Bool(b) => Const::Bool(b),
                Lit::Int(i) => Const::Int(i),
                Lit::Float(f) => Const::Num(f),
                Lit::Str(s) => Const::Str(s),
                Lit::Null => Const::Str(String::new()),
            }),
            Kind::String => {
                let text = match &lit {
                    Lit::Str(s) => s.clone(),
                    Lit::Int(i) => i.to_string(),
                    Lit::Float(f) => f.to_string(),
                    Lit::Bool(b) => b.to_string(),
                    Lit::Null => String::new(),
                };
                if def.values.is_empty() {
                    return Some(Const::Str(text));
                }
                if let Some(canonical) = def.enum_value(&text) {
                    return Some(Const::Str(canonical.to_string()));
                }
                if let Lit::Int(code) = lit
                    && let Some(name) = def.code_name(code)
                {
                    return Some(Const::Str(name.to_string()));
                }
                let near = catalog::closest(&text, def.values.iter().copied());
                let allowed = def.values.join(", ");
                match near {
                    // Close to a known value: a typo, which would silently
                    // never match.
                    Some(near) => {
                        self.err(
                            Diagnostic::error(
                                "tollgate::unknown-enum-value",
                                at.clone(),
                                format!("`{text}` is not a value of `{}`", field.path),
                            )
                            .label("unknown value")
                            .help(format!("did you mean `{near}`? values: {allowed}")),
                        );
                        None
                    }
                    // Enums grow; an unknown value far from any known one
                    // may be new, so it is allowed with a warning.
                    None => {
                        self.diags.push(
                            Diagnostic::warning(
                                "tollgate::unknown-enum-value",
                                at.clone(),
                                format!("`{text}` is not a known value of `{}`", field.path),
                            )
                            .label("unknown value")
                            .help(format!("known values: {allowed}")),
                        );
                        Some(Const::Str(text))
                    }
                }
            }
        }
    }

    fn template(&mut self, n: &Node) -> Option<Vec<Piece>> {
        let text = self.string(n, "message")?;
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text.as_str();
        let mut ok = true;
        while let Some(i) = rest.find(['{', '}']) {
            let (before, after) = rest.split_at(i);
            literal.push_str(before);
            if let Some(tail) = after.strip_prefix("{{") {
                literal.push('{');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("}}") {
                literal.push('}');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('{') {
                let Some(end) = tail.find('}') else {
                    self.err(
                        Diagnostic::error(
                            "tollgate::bad-message",
                            n.span.clone(),
                            "message has a `{` that is never closed",
                        )
                        .label("in this message")
                        .help("close it with `}`, or write `{{` for a literal brace"),
                    );
                    return None;
                };
                let name = tail.get(..end).unwrap_or_default().trim();
                match catalog::resolve_in(self.root, name) {
                    Ok(r) => {
                        if !literal.is_empty() {
                            pieces.push(Piece::Text(std::mem::take(&mut literal)));
                        }
                        pieces.push(Piece::Field(r));
                    }
                    Err(e) => {
                        let span = self.find_in_source(n, &format!("{{{name}"), 1, name.len());
                        self.err(
                            Diagnostic::error(
                                "tollgate::unknown-field",
                                span,
                                format!("message names unknown field `{name}`"),
                            )
                            .label(format!("not in the {} catalog", self.catalog_name()))
                            .suggest(e.suggestion),
                        );
                        ok = false;
                    }
                }
                rest = tail.get(end + 1..).unwrap_or_default();
            } else {
                // A lone `}`: keep it as text.
                literal.push('}');
                rest = after.get(1..).unwrap_or_default();
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        ok.then_some(pieces)
    }

    /// The span of `needle` in the source at or after `n`, skipping `skip`
    /// bytes and covering `len`; the node's own span when not found (a
    /// folded block scalar does not keep its text as written).
    fn find_in_source(&self, n: &Node, needle: &str, skip: usize, len: usize) -> Span {
        let text = self.sources.get(self.source).map(|f| f.text.clone());
        let found = text.as_deref().and_then(|t| {
            t.get(n.span.range.start..)
                .and_then(|rest| rest.find(needle))
                .map(|i| n.span.range.start + i + skip)
        });
        match found {
            Some(start) => Span::new(self.source, start..start + len),
            None => n.span.clone(),
        }
    }

    /// Warns about test-record keys that look like misspelt catalog fields
    /// (keys far from any field may be uncatalogued ones, for `raw.` rules).
    fn record_keys(&mut self, record: &Node, fields: &'static [Field]) {
        let Some(entries) = record.map() else {
            return;
        };
        for (key, value) in entries {
            let name = key.text().unwrap_or_default();
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
                            Diagnostic::warning(
                                "tollgate::unknown-record-field",
                                key.span.clone(),
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

    /// Warns about conditions that can never hold, or always hold.
    fn lint(&mut self, cond: &Cond) {
        self.lint_at(cond, true);
    }

    /// `analyze` is false for an `all` directly inside another, whose
    /// conjuncts the outer one already compared.
    fn lint_at(&mut self, cond: &Cond, analyze: bool) {
        match cond {
            Cond::All(children) if !analyze => children.iter().for_each(|c| self.lint_at(c, false)),
            Cond::All(children) => {
                let mut conjuncts = Vec::new();
                flatten(cond, &mut conjuncts);
                for (i, a) in conjuncts.iter().enumerate() {
                    for b in conjuncts.iter().skip(i + 1) {
                        if let Some(why) = contradiction(a, b) {
                            let (first, second) = (span_of(a), span_of(b));
                            self.diags.push(
                                Diagnostic::warning("tollgate::never-true", second, "this condition can never be true")
                                    .label(why)
                                    .related(first, "conflicts with this condition")
                                    .help("the rule can never match; check the values, or use `any:` for alternatives"),
                            );
                        }
                    }
                }
                children.iter().for_each(|c| self.lint_at(c, false));
            }
            Cond::Any(children) => {
                for (i, a) in children.iter().enumerate() {
                    for b in children.iter().skip(i + 1) {
                        if negation_of(a, b) {
                            self.diags.push(
                                Diagnostic::warning("tollgate::always-true", span_of(b), "these alternatives are always true")
                                    .label("the negation of an earlier alternative")
                                    .related(span_of(a), "this alternative")
                                    .help("one of a condition and its `not` always holds; remove one of them"),
                            );
                        }
                    }
                }
                children.iter().for_each(|c| self.lint(c));
            }
            Cond::Not(child) => self.lint(child),
            Cond::Quant { inner, .. } => self.lint(inner),
            Cond::Pred(_) => {}
        }
    }

    fn tests(&mut self, n: &Node) -> Vec<TestCase> {
        let Some(items) = n.seq() else {
            self.err(
                Diagnostic::error(
                    "tollgate::wrong-type",
                    n.span.clone(),
                    format!("`tests` must be a list of cases, not {}", n.describe()),
                )
                .label("expected a list")
                .help("write `- name: ...`, `expect: match`, `record: {...}` for each case"),
            );
            return Vec::new();
        };
        const KEYS: [&str; 4] = ["name", "expect", "record", "log"];
        let mut cases = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(entries) = item.map() else {
                self.err(
                    Diagnostic::error(
                        "tollgate::wrong-type",
                        item.span.clone(),
                        format!("a test case must be a mapping, not {}", item.describe()),
                    )
                    .label("expected `name`, `expect`, `record`"),
                );
                continue;
            };
            for (k, _) in entries {
                let kname = k.text().unwrap_or_default();
                if !KEYS.contains(&kname) {
                    self.err(
                        Diagnostic::error(
                            "tollgate::unknown-key",
                            k.span.clone(),
                            format!("unknown test key `{kname}`"),
                        )
                        .label("not a test key")
                        .suggest(catalog::closest(kname, KEYS)),
                    );
                }
            }
            let name = find(entries, "name")
                .and_then(|n| self.string(n, "name"))
                .unwrap_or_else(|| format!("case {}", i + 1));
            let expect = match find(entries, "expect") {
                Some(e) => match e.text() {
                    Some("match") => Some(true),
                    Some("no-match") | Some("no match") | Some("noMatch") => Some(false),
                    _ => {
                        self.err(
                            Diagnostic::error(
                                "tollgate::bad-test",
                                e.span.clone(),
                                "`expect` must be `match` or `no-match`",
                            )
                            .label("unknown expectation"),
                        );
                        None
                    }
                },
                None => {
                    self.err(
                        Diagnostic::error(
                            "tollgate::bad-test",
                            item.span.clone(),
                            format!("test `{name}` has no `expect`"),
                        )
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
                        Diagnostic::error(
                            "tollgate::bad-test",
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
                        Diagnostic::error(
                            "tollgate::bad-test",
                            item.span.clone(),
                            format!("test `{name}` has no `record`"),
                        )
                        .label("this case")
                        .help("add `record: { field: value, ... }`"),
                    );
                    None
                }
            };
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
                    span,
                });
            }
        }
        cases
    }
}

/// `an int`, `a list`, ...
fn with_article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}

fn lit_describe(lit: &Lit) -> String {
    match lit {
        Lit::Null => "null".into(),
        Lit::Bool(b) => format!("the boolean `{b}`"),
        Lit::Int(i) => format!("the number `{i}`"),
        Lit::Float(f) => format!("the number `{f}`"),
        Lit::Str(s) => format!("the text `{s}`"),
    }
}

/// The conjuncts of nested `all`s.
fn flatten<'a>(cond: &'a Cond, out: &mut Vec<&'a Cond>) {
    match cond {
        Cond::All(children) => children.iter().for_each(|c| flatten(c, out)),
        other => out.push(other),
    }
}

fn span_of(cond: &Cond) -> Span {
    match cond {
        Cond::Pred(p) => p.span.clone(),
        Cond::Quant { span, .. } => span.clone(),
        Cond::Not(child) => span_of(child),
        Cond::All(children) | Cond::Any(children) => {
            children.first().map_or(Span::new(0, 0..0), span_of)
        }
    }
}

/// The same condition, wherever it was written.
fn same(a: &Cond, b: &Cond) -> bool {
    match (a, b) {
        (Cond::Pred(x), Cond::Pred(y)) => {
            x.field == y.field
                && x.op == y.op
                && x.values == y.values
                && x.case_sensitive == y.case_sensitive
        }
        (Cond::Not(x), Cond::Not(y)) => same(x, y),
        (Cond::All(xs), Cond::All(ys)) | (Cond::Any(xs), Cond::Any(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
        }
        (
            Cond::Quant {
                quantifier: q1,
                field: f1,
                inner: i1,
                ..
            },
            Cond::Quant {
                quantifier: q2,
                field: f2,
                inner: i2,
                ..
            },
        ) => q1 == q2 && f1 == f2 && same(i1, i2),
        _ => false,
    }
}

fn negation_of(a: &Cond, b: &Cond) -> bool {
    matches!(b, Cond::Not(inner) if same(a, inner))
        || matches!(a, Cond::Not(inner) if same(inner, b))
}

/// Whether a path holds at most one value: every field on it is catalogued
/// and none is a list.
fn single_valued(field: &Resolved) -> bool {
    if field.path.is_raw() || field.path.segments().is_empty() {
        return false;
    }
    let mut fields = SIGN_IN;
    for seg in field.path.segments() {
        match catalog::find_field(fields, seg) {
            Some(f) if !f.list => fields = f.children(),
            _ => return false,
        }
    }
    true
}

/// Why two conjuncts cannot both hold, if they cannot.
fn contradiction(a: &Cond, b: &Cond) -> Option<String> {
    if negation_of(a, b) {
        return Some("it is the negation of another condition of the same `all`".into());
    }
    let (Cond::Pred(x), Cond::Pred(y)) = (a, b) else {
        return None;
    };
    if x.field != y.field || !single_valued(&x.field) {
        return None;
    }
    let field = x.field.path.to_string();
    let key = |c: &Const, case_sensitive: bool| match c {
        Const::Str(s) if !case_sensitive => Const::Str(s.to_lowercase()),
        Const::Int(i) => Const::Num(*i as f64),
        other => other.clone(),
    };
    let set =
        |p: &Pred| -> Vec<Const> { p.values.iter().map(|c| key(c, p.case_sensitive)).collect() };
    let positive = |p: &Pred| matches!(p.op, Op::Eq | Op::In);
    let negative = |p: &Pred| matches!(p.op, Op::Ne | Op::NotIn);
    let bound = |p: &Pred| match (p.op, p.values.first()) {
        (Op::Gt | Op::Gte | Op::Lt | Op::Lte, Some(Const::Num(n))) => Some((p.op, *n)),
        _ => None,
    };
    match (x, y) {
        (x, y) if positive(x) && positive(y) => {
            let (sx, sy) = (set(x), set(y));
            (!sx.iter().any(|v| sy.contains(v))).then(|| format!("`{field}` cannot equal both"))
        }
        (x, y) if (positive(x) && negative(y)) || (negative(x) && positive(y)) => {
            let (pos, neg) = if positive(x) { (x, y) } else { (y, x) };
            let (sp, sn) = (set(pos), set(neg));
            sp.iter()
                .all(|v| sn.contains(v))
                .then(|| format!("every value `{field}` may equal is excluded"))
        }
        (x, y) if x.op == Op::Exists || y.op == Op::Exists => {
            let absent = |p: &Pred| p.op == Op::Exists && p.values.contains(&Const::Bool(false));
            let present =
                |p: &Pred| !(p.op == Op::Exists && p.values.contains(&Const::Bool(false)));
            ((absent(x) && present(y)) || (absent(y) && present(x)))
                .then(|| format!("`{field}` cannot be absent and tested at once"))
        }
        _ => {
            let (bx, by) = (bound(x)?, bound(y)?);
            let lower_upper = |l: (Op, f64), u: (Op, f64)| {
                let strict = matches!(l.0, Op::Gt) || matches!(u.0, Op::Lt);
                matches!(l.0, Op::Gt | Op::Gte)
                    && matches!(u.0, Op::Lt | Op::Lte)
                    && (l.1 > u.1 || (strict && l.1 >= u.1))
            };
            (lower_upper(bx, by) || lower_upper(by, bx))
                .then(|| format!("no value of `{field}` is in both ranges"))
        }
    }
}
