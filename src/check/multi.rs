//! Multi-record rules: the `window:` and `sequence:` keys → [`Window`] and
//! [`Sequence`], and the placeholders their messages may use.
//!
//! Takes the YAML under the key, reads spans of time (`20m`), thresholds
//! (`{ gte: 10 }`), key fields (resolved in the catalog of the logs they
//! are read in), `distinct` fields and, for sequences, each step: its name,
//! logs, key, `match`, `count`, `absent` and `where` (whose field references
//! may read earlier steps, see [`super::refs`]). Every mistake is reported
//! where it is written, with the accepted forms or the closest name.

use super::model::{
    Cond, CountCmp, Piece, Sequence, Shape, Step, TICKS_PER_SECOND, Threshold, TimeSpan, Window,
    WindowPart,
};
use super::params::ParamValue;
use super::refs::{WhereScope, comparable, type_of};
use super::{RuleCx, find, key_name, wrong_type};
use crate::catalog::{self, Field, Kind, Resolved};
use crate::diag::{Code, Span};
use crate::record::LogCategory;
use crate::syntax::{Lit, Node, NodeKind};

/// The keys of `window:`.
pub const WINDOW_KEYS: &[&str] = &["groupBy", "span", "count", "distinct", "caseSensitive"];
/// The keys of `sequence:`.
pub const SEQUENCE_KEYS: &[&str] = &["groupBy", "span", "ordered", "caseSensitive", "steps"];
/// The keys of a sequence step.
pub const STEP_KEYS: &[&str] = &["name", "logs", "by", "match", "count", "absent", "where"];
/// Most steps of a sequence (the engine keeps a step set in 63 bits).
pub const MAX_STEPS: usize = 63;
/// Names a step cannot have: message placeholders start with them.
const RESERVED_STEP_NAMES: &[&str] = &["count", "window", "distinct"];

impl RuleCx<'_> {
    /// Reads `window:`.
    pub(super) fn window(&mut self, n: &Node) -> Option<Window> {
        let entries = self.mapping(n, "window", "`groupBy`, `span`, `count`, `distinct`")?;
        self.known_keys(entries, WINDOW_KEYS, "window");
        let group_by = find(entries, "groupBy").map_or(Some(Vec::new()), |g| {
            self.key_fields(g, self.root, "groupBy")
        });
        let span = self.required_span(entries, n, "window");
        let count = find(entries, "count").map(|c| self.threshold(c, "count"));
        let mut distinct = Vec::new();
        let mut ok = true;
        if let Some(d) = find(entries, "distinct") {
            match d.map() {
                Some(fields) if !fields.is_empty() => {
                    for (key, value) in fields {
                        let field = self.resolve(key, self.root);
                        let threshold = self.threshold(value, "distinct");
                        match (field, threshold) {
                            (Some(f), Some(t)) if self.scalar_field(&f, key) => {
                                distinct.push((f, t))
                            }
                            _ => ok = false,
                        }
                    }
                }
                _ => {
                    self.err(
                        wrong_type(
                            d,
                            format!(
                                "`distinct` must be a mapping of fields to thresholds, not {}",
                                d.describe()
                            ),
                            "expected `field: { gte: N }`",
                        )
                        .help("write `distinct: { userPrincipalName: { gte: 5 } }`"),
                    );
                    ok = false;
                }
            }
        }
        if count.is_none() && find(entries, "distinct").is_none() {
            self.err(
                Code::BadThreshold
                    .error(n.span.clone(), "a window needs `count`, `distinct` or both")
                    .label("nothing to count")
                    .help("add `count: { gte: 10 }` (records in the window) or `distinct: { FIELD: { gte: 5 } }`"),
            );
            ok = false;
        }
        let case_sensitive = self.flag(entries, "caseSensitive", false);
        let count = match count {
            Some(Some(t)) => Some(t),
            Some(None) => return None,
            None => None,
        };
        let (group_by, span) = (group_by?, span?);
        ok.then_some(Window {
            group_by,
            span,
            count,
            distinct,
            case_sensitive,
        })
    }

    /// Reads `sequence:`. `rule_match` is the rule's own `match`, ANDed into
    /// every step; `rule_logs` the rule's logs, the steps' default.
    pub(super) fn sequence(
        &mut self,
        n: &Node,
        rule_logs: &[LogCategory],
        rule_match: Option<&Cond>,
    ) -> Option<Sequence> {
        let entries = self.mapping(n, "sequence", "`groupBy`, `span`, `steps`")?;
        self.known_keys(entries, SEQUENCE_KEYS, "sequence");
        let group_node = find(entries, "groupBy");
        // `groupBy` resolves in the catalog of each step that uses it,
        // once per catalog.
        let mut group_keys: Vec<(&'static [Field], Option<Vec<Resolved>>)> = Vec::new();
        let span = self.required_span(entries, n, "sequence");
        let ordered = self.flag(entries, "ordered", true);
        let case_sensitive = self.flag(entries, "caseSensitive", false);
        let Some(steps_node) = find(entries, "steps") else {
            self.err(
                Code::MissingKey
                    .error(n.span.clone(), "sequence has no `steps`")
                    .label("this sequence")
                    .help("add `steps:` with a `- name: ...` and `match: ...` for each step"),
            );
            return None;
        };
        let Some(items) = steps_node.seq() else {
            self.err(wrong_type(
                steps_node,
                format!(
                    "`steps` must be a list of steps, not {}",
                    steps_node.describe()
                ),
                "expected a list",
            ));
            return None;
        };
        if items.len() > MAX_STEPS {
            self.err(
                Code::BadStep
                    .error(
                        steps_node.span.clone(),
                        format!("a sequence has at most {MAX_STEPS} steps"),
                    )
                    .label(format!("{} steps", items.len()))
                    .help("split the sequence into several rules"),
            );
        }
        if items.len() < 2 {
            self.err(
                Code::BadStep
                    .error(
                        steps_node.span.clone(),
                        "a sequence needs two steps or more",
                    )
                    .label("one step")
                    .help("a count of one kind of record in a time span is a `window`"),
            );
        }
        // Names first, so a `where` can name any step (and be told which
        // are earlier).
        let mut names: Vec<(String, &'static [Field], bool)> = Vec::new();
        let mut heads = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(step) = item.map() else {
                self.err(wrong_type(
                    item,
                    format!("a step must be a mapping, not {}", item.describe()),
                    "expected `name`, `match`, ...",
                ));
                return None;
            };
            self.known_keys(step, STEP_KEYS, "step");
            let name = self.step_name(step, item, &names, i);
            let logs = find(step, "logs").map_or_else(|| rule_logs.to_vec(), |l| self.logs(l));
            let fields = match find(step, "logs") {
                Some(l) => self.catalog_of(&logs, l),
                None => self.root,
            };
            let absent = self.flag(step, "absent", false);
            names.push((name.clone().unwrap_or_default(), fields, absent));
            heads.push((step, item, name, logs, fields, absent));
        }
        if !names.is_empty() && names.iter().all(|(_, _, absent)| *absent) {
            self.err(
                Code::BadStep
                    .error(steps_node.span.clone(), "every step of the sequence is absent")
                    .label("nothing to anchor the absence")
                    .help("a sequence needs a step that is present; `absent: true` marks the step that must not occur"),
            );
        }
        let mut steps = Vec::new();
        let mut ok = true;
        for (i, (step, item, name, logs, fields, absent)) in heads.into_iter().enumerate() {
            let span = find(step, "name").map_or_else(|| item.span.clone(), |n| n.span.clone());
            let name_text = name.clone().unwrap_or_else(|| format!("{}", i + 1));
            let by = match find(step, "by") {
                Some(b) => self.key_fields(b, fields, "by").map(Some),
                None => Some(None),
            };
            let key = match (&by, group_node) {
                (Some(Some(by)), _) => Some(by.clone()),
                (Some(None), Some(g)) => match group_keys.iter().find(|(f, _)| *f == fields) {
                    Some((_, key)) => key.clone(),
                    None => {
                        let key = self.key_fields(g, fields, "groupBy");
                        group_keys.push((fields, key.clone()));
                        key
                    }
                },
                (Some(None), None) => {
                    self.err(
                        Code::BadStep
                            .error(span.clone(), format!("step `{name_text}` has no key"))
                            .label("no `by` here and no `groupBy` in the sequence")
                            .help("add `groupBy: [FIELD]` to the sequence, or `by: [FIELD]` to every step"),
                    );
                    None
                }
                (None, _) => None,
            };
            let cond = match find(step, "match") {
                Some(m) => self.condition(m, fields, 0).inspect(|c| self.lint(c)),
                None => Some(Cond::All(Vec::new())),
            };
            let cond = match (cond, rule_match) {
                (Some(_), Some(_)) if fields != self.root => {
                    self.err(
                        Code::MixedLogs
                            .error(span.clone(), format!("the rule's `match` names fields of another log than step `{name_text}` reads"))
                            .label("a step of other logs")
                            .help("move the rule's `match` into the steps' own `match`"),
                    );
                    None
                }
                (Some(c), Some(r)) => Some(Cond::All(vec![r.clone(), c])),
                (None, _) => None,
                (c, None) => c,
            };
            let count_node = find(step, "count");
            let count = match count_node {
                Some(c) => self.threshold(c, "count"),
                None => Some(Threshold {
                    cmp: CountCmp::Gte,
                    value: 1,
                    span: span.clone(),
                }),
            };
            if !absent
                && let (Some(c), Some(t)) = (count_node, &count)
                && t.at_least().is_none_or(|n| n == 0)
            {
                self.err(
                    Code::BadThreshold
                        .error(c.span.clone(), format!("step `{name_text}` must count one record at least"))
                        .label("a step counts a least number of records")
                        .help("write `count: { gte: N }` or `{ gt: N }` with N of 1 or more (`gt: 0` at least); a step that must not occur is `absent: true`"),
                );
                ok = false;
            }
            if absent
                && let (Some(c), Some(t)) = (count_node, &count)
                && !(t.value == 1 && matches!(t.cmp, CountCmp::Gte | CountCmp::Eq))
            {
                self.err(
                    Code::BadStep
                        .error(c.span.clone(), format!("absent step `{name_text}` has a count"))
                        .label("an absent step counts nothing")
                        .help("remove `count`: an absent step holds when no record of it lies within the span"),
                );
                ok = false;
            }
            let where_ = match find(step, "where") {
                Some(w) => {
                    self.where_scope = Some(WhereScope {
                        steps: names.clone(),
                        current: i,
                    });
                    let c = self.condition(w, fields, 0);
                    self.where_scope = None;
                    // The engine decides a `where` one pair of records
                    // (this step's, an earlier step's) at a time.
                    if let Some(c) = &c {
                        for part in c.conjuncts() {
                            let read = part.steps_read();
                            if read.len() > 1 {
                                self.err(
                                    Code::BadFieldRef
                                        .error(
                                            super::lints::span_of(part),
                                            format!(
                                                "one condition of the `where` reads steps `{}`",
                                                read.join("` and `")
                                            ),
                                        )
                                        .label("several earlier steps in one condition")
                                        .help("compare with one earlier step per condition, and AND the conditions"),
                                );
                                ok = false;
                            }
                        }
                    }
                    c.map(Some)
                }
                None => Some(None),
            };
            match (name, by, key, cond, count, where_) {
                (Some(name), Some(by), Some(key), Some(cond), Some(count), Some(where_)) => steps
                    .push(Step {
                        name,
                        logs,
                        by,
                        key,
                        cond,
                        count,
                        absent,
                        where_,
                        span,
                    }),
                _ => ok = false,
            }
        }
        if ok {
            self.same_keys(&steps);
        }
        // The sequence's `groupBy` as its first step to use it reads it.
        let group_by = match group_node {
            Some(g) => match group_keys.into_iter().next() {
                Some((_, key)) => Some(key?),
                None => Some(self.key_fields(g, self.root, "groupBy")?),
            },
            None => None,
        };
        let span = span?;
        ok.then_some(Sequence {
            group_by,
            span,
            ordered,
            case_sensitive,
            steps,
        })
    }

    /// Every step's key has as many fields as the first's, of comparable
    /// types.
    fn same_keys(&mut self, steps: &[Step]) {
        let Some(first) = steps.first() else {
            return;
        };
        for step in steps.iter().skip(1) {
            if step.key.len() != first.key.len() {
                self.err(
                    Code::BadStep
                        .error(
                            step.span.clone(),
                            format!(
                                "step `{}` has a key of {} field(s), and step `{}` of {}",
                                step.name,
                                step.key.len(),
                                first.name,
                                first.key.len()
                            ),
                        )
                        .label("keys of different lengths")
                        .help("every step's key has the same fields, position by position"),
                );
                continue;
            }
            for (a, b) in first.key.iter().zip(&step.key) {
                if !comparable(a, b) {
                    self.err(
                        Code::BadStep
                            .error(
                                step.span.clone(),
                                format!(
                                    "key field `{}` of step `{}` ({}) cannot be compared with `{}` of step `{}` ({})",
                                    b.path,
                                    step.name,
                                    type_of(b),
                                    a.path,
                                    first.name,
                                    type_of(a)
                                ),
                            )
                            .label("keys of different types")
                            .help("key fields at one position hold the same kind of value, such as an id with an id"),
                    );
                }
            }
        }
    }

    /// A step's name: present, an identifier, not reserved, unique.
    fn step_name(
        &mut self,
        step: &[(Node, Node)],
        item: &Node,
        earlier: &[(String, &'static [Field], bool)],
        index: usize,
    ) -> Option<String> {
        let Some(n) = find(step, "name") else {
            self.err(
                Code::BadStep
                    .error(
                        item.span.clone(),
                        format!("step {} has no `name`", index + 1),
                    )
                    .label("this step")
                    .help("add `name: ...`; a `where` and the message name steps"),
            );
            return None;
        };
        let name = self.string(n, "name")?;
        let ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            self.err(
                Code::BadStep
                    .error(n.span.clone(), format!("step name `{name}` is not a name"))
                    .label("letters, digits and `_`, not starting with a digit")
                    .help("name steps like `failures` or `success`"),
            );
            return None;
        }
        if RESERVED_STEP_NAMES.contains(&name.as_str()) {
            self.err(
                Code::BadStep
                    .error(n.span.clone(), format!("`{name}` cannot name a step"))
                    .label("a message placeholder")
                    .help("`count`, `window` and `distinct` are message placeholders; choose another name"),
            );
            return None;
        }
        if earlier.iter().any(|(e, _, _)| *e == name) {
            self.err(
                Code::BadStep
                    .error(n.span.clone(), format!("two steps are named `{name}`"))
                    .label("second step with this name")
                    .help("step names are unique in a sequence"),
            );
            return None;
        }
        Some(name)
    }

    /// A mapping value of `key`, or an error.
    fn mapping<'n>(&mut self, n: &'n Node, key: &str, keys: &str) -> Option<&'n [(Node, Node)]> {
        match n.map() {
            Some(entries) => Some(entries),
            None => {
                self.err(
                    wrong_type(
                        n,
                        format!("`{key}` must be a mapping, not {}", n.describe()),
                        "expected a mapping",
                    )
                    .help(format!("write {keys} under `{key}:`")),
                );
                None
            }
        }
    }

    /// A boolean key, `default` when absent.
    fn flag(&mut self, entries: &[(Node, Node)], key: &str, default: bool) -> bool {
        match find(entries, key) {
            None => default,
            Some(n) => match n.scalar().map(|s| s.lit()) {
                Some(Lit::Bool(b)) => b,
                _ => {
                    self.err(wrong_type(
                        n,
                        format!("`{key}` must be true or false, not {}", n.describe()),
                        "expected true or false",
                    ));
                    default
                }
            },
        }
    }

    /// Fields of a key (`groupBy`, `by`): a list of names, or one name,
    /// resolved in `fields`; objects are not keys.
    fn key_fields(
        &mut self,
        n: &Node,
        fields: &'static [Field],
        key: &str,
    ) -> Option<Vec<Resolved>> {
        let items: Vec<&Node> = match &n.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            NodeKind::Scalar(_) => vec![n],
            NodeKind::Map(_) => {
                self.err(wrong_type(
                    n,
                    format!("`{key}` must be a list of fields, not a mapping"),
                    "expected `[field, ...]`",
                ));
                return None;
            }
        };
        if items.is_empty() {
            self.err(
                Code::BadStep
                    .error(n.span.clone(), format!("`{key}` names no field"))
                    .label("empty")
                    .help(format!("write `{key}: [FIELD]`")),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            if item.scalar().is_none() {
                self.err(wrong_type(
                    item,
                    format!("a `{key}` field must be a name, not {}", item.describe()),
                    "expected a field name",
                ));
                ok = false;
                continue;
            }
            match self.resolve(item, fields) {
                Some(r) if self.scalar_field(&r, item) => out.push(r),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Whether a field holds values that can be keys or distinct values
    /// (not objects); an error when not.
    fn scalar_field(&mut self, field: &Resolved, at: &Node) -> bool {
        if !matches!(field.kind(), Kind::Object(_)) {
            return true;
        }
        let child = field.field.and_then(|f| f.children().first());
        self.err(
            Code::TypeMismatch
                .error(
                    at.span.clone(),
                    format!(
                        "`{}` is an object, not a value to group or count by",
                        field.path
                    ),
                )
                .label("an object")
                .help(match child {
                    Some(c) => format!(
                        "name one of its fields, such as `{}.{}`",
                        field.path, c.name
                    ),
                    None => "name one of its fields".to_string(),
                }),
        );
        false
    }

    fn required_span(
        &mut self,
        entries: &[(Node, Node)],
        n: &Node,
        what: &str,
    ) -> Option<TimeSpan> {
        match find(entries, "span") {
            Some(s) => self.duration(s),
            None => {
                self.err(
                    Code::MissingKey
                        .error(n.span.clone(), format!("{what} has no `span`"))
                        .label(format!("this {what}"))
                        .help("add `span: 20m` (units: s, m, h, d)"),
                );
                None
            }
        }
    }

    /// A span of time: a whole number and a unit, `30s`, `20m`, `1h`, `2d`.
    /// The span may be a param (`span: $window`).
    pub(super) fn duration(&mut self, n: &Node) -> Option<TimeSpan> {
        let text = match self.param_ref(n) {
            Some(Ok(ParamValue::One(lit))) => lit_text(&lit),
            Some(Ok(ParamValue::List(_))) => String::new(),
            Some(Err(())) => return None,
            None => n.text().unwrap_or_default().to_string(),
        };
        let text = text.trim().to_string();
        let (number, unit) = text.split_at(text.len().saturating_sub(1));
        let seconds = match unit {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3600),
            "d" => Some(86_400),
            _ => None,
        };
        let value = number
            .parse::<i64>()
            .ok()
            .filter(|_| number.bytes().all(|b| b.is_ascii_digit()));
        let ticks = match (value, seconds) {
            (Some(v), Some(s)) => v
                .checked_mul(s)
                .and_then(|t| t.checked_mul(TICKS_PER_SECOND)),
            _ => None,
        };
        match ticks {
            Some(t) if t > 0 => Some(TimeSpan {
                ticks: t,
                text,
                span: n.span.clone(),
            }),
            Some(_) => {
                self.err(
                    Code::BadDuration
                        .error(n.span.clone(), "a span must be longer than zero")
                        .label("zero")
                        .help("write a span such as `20m`"),
                );
                None
            }
            None => {
                let shown = if n.scalar().is_some() {
                    format!("`{text}`")
                } else {
                    n.describe().to_string()
                };
                self.err(
                    Code::BadDuration
                        .error(n.span.clone(), format!("{shown} is not a span of time"))
                        .label("expected a number and a unit")
                        .help("write a whole number and a unit: `30s`, `20m`, `1h`, `2d` (units: s, m, h, d)"),
                );
                None
            }
        }
    }

    /// A threshold: `{ gte: 10 }` with one of gt, gte, lt, lte, eq and a
    /// whole number not below zero.
    pub(super) fn threshold(&mut self, n: &Node, key: &str) -> Option<Threshold> {
        let names: Vec<&str> = CountCmp::ALL.iter().map(|(n, _)| *n).collect();
        let help = format!("write `{key}: {{ gte: 10 }}` (one of {})", names.join(", "));
        let entries = match n.map() {
            Some([one]) => one,
            _ => {
                self.err(
                    Code::BadThreshold
                        .error(
                            n.span.clone(),
                            format!("`{key}` takes one comparison, such as `{{ gte: 10 }}`"),
                        )
                        .label(format!("not a threshold: {}", n.describe()))
                        .help(help),
                );
                return None;
            }
        };
        let (op, value) = entries;
        let name = key_name(op);
        let Some(cmp) = CountCmp::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
        else {
            self.err(
                Code::BadThreshold
                    .error(
                        op.span.clone(),
                        format!("`{name}` is not a comparison of counts"),
                    )
                    .label("unknown comparison")
                    .suggest_or(catalog::closest(name, names.iter().copied()), help),
            );
            return None;
        };
        // The bound may be a param (`count: { gte: $min_failures }`).
        let lit = match self.param_ref(value) {
            Some(Ok(ParamValue::One(lit))) => Some(lit),
            Some(Ok(ParamValue::List(_))) => None,
            Some(Err(())) => return None,
            None => value.scalar().map(|s| s.lit()),
        };
        let count = match lit {
            Some(Lit::Int(i)) => u64::try_from(i).ok(),
            Some(Lit::Str(s)) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match count {
            Some(value) => Some(Threshold {
                cmp,
                value,
                span: n.span.clone(),
            }),
            _ => {
                self.err(
                    Code::BadThreshold
                        .error(
                            value.span.clone(),
                            format!("`{name}` of `{key}` must be a whole number, zero or more"),
                        )
                        .label("not a count")
                        .help(help),
                );
                None
            }
        }
    }

    /// What `{name}` in the message of a multi-record rule fills with;
    /// `Err` with the help for an error when the finding cannot fill it.
    pub(super) fn multi_piece(&self, name: &str, shape: &Shape) -> Result<Piece, (String, String)> {
        let (keys, steps): (Vec<&Resolved>, &[Step]) = match shape {
            Shape::Window(w) => (w.group_by.iter().collect(), &[]),
            Shape::Sequence(s) => (
                s.steps.iter().flat_map(|st| st.key.iter()).collect(),
                &s.steps,
            ),
            Shape::Single => (Vec::new(), &[]),
        };
        let usable = || {
            let mut list = vec![
                "{count}",
                "{window.duration}",
                "{window.start}",
                "{window.end}",
            ]
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
            if let Shape::Window(w) = shape {
                list.extend(
                    w.distinct
                        .iter()
                        .map(|(f, _)| format!("{{distinct.{}}}", f.path)),
                );
            }
            list.extend(steps.iter().map(|s| format!("{{{}.FIELD}}", s.name)));
            let mut plain: Vec<String> = keys.iter().map(|k| format!("{{{}}}", k.path)).collect();
            plain.dedup();
            list.extend(plain);
            list.join(", ")
        };
        if name == "count" {
            return Ok(Piece::Count);
        }
        if let Some(part) = name.strip_prefix("window.") {
            return match part {
                "duration" => Ok(Piece::Window(WindowPart::Duration)),
                "start" => Ok(Piece::Window(WindowPart::Start)),
                "end" => Ok(Piece::Window(WindowPart::End)),
                _ => Err((
                    format!("`{{{name}}}` is not a part of the window"),
                    "the window gives `{window.duration}`, `{window.start}` and `{window.end}`"
                        .to_string(),
                )),
            };
        }
        if let Some(field) = name.strip_prefix("distinct.") {
            let Shape::Window(w) = shape else {
                return Err((
                    format!("a sequence has no `{{{name}}}`"),
                    format!("use {}", usable()),
                ));
            };
            let resolved = catalog::resolve_in(self.root, field).ok();
            return match w
                .distinct
                .iter()
                .find(|(f, _)| Some(&f.path) == resolved.as_ref().map(|r| &r.path))
            {
                Some((f, _)) => Ok(Piece::Distinct(f.clone())),
                None => Err((
                    format!("`{field}` is not a `distinct` field of the window"),
                    format!("use {}", usable()),
                )),
            };
        }
        if let Some((first, rest)) = name.split_once('.')
            && let Some(step) = steps.iter().find(|s| s.name == first)
        {
            let fields = step.logs.first().map_or(self.root, catalog::for_log);
            return match catalog::resolve_in(fields, rest) {
                Ok(field) => Ok(Piece::Step {
                    step: step.name.clone(),
                    field,
                }),
                Err(e) => Err((
                    format!("unknown field `{}` of step `{}`", e.segment, step.name),
                    e.suggestion.map_or_else(
                        || "see `tollgate schema` for the fields".to_string(),
                        |s| format!("did you mean `{first}.{s}`?"),
                    ),
                )),
            };
        }
        let as_key = |fields: &'static [Field]| {
            catalog::resolve_in(fields, name).ok().and_then(|r| {
                let index = match shape {
                    Shape::Window(w) => w.group_by.iter().position(|k| k.path == r.path),
                    Shape::Sequence(s) => s
                        .steps
                        .iter()
                        .find_map(|st| st.key.iter().position(|k| k.path == r.path)),
                    Shape::Single => None,
                };
                index.map(|index| Piece::Key { index, field: r })
            })
        };
        let catalogs = std::iter::once(self.root).chain(
            steps
                .iter()
                .filter_map(|s| s.logs.first().map(catalog::for_log)),
        );
        for fields in catalogs {
            if let Some(piece) = as_key(fields) {
                return Ok(piece);
            }
        }
        Err((
            format!(
                "the finding cannot fill `{{{name}}}`: a finding of many records has no one value of it"
            ),
            format!("use {}", usable()),
        ))
    }
}

/// A literal as text (a param's value used as a span).
fn lit_text(lit: &Lit) -> String {
    match lit {
        Lit::Str(s) => s.clone(),
        Lit::Int(i) => i.to_string(),
        Lit::Float(f) => f.to_string(),
        Lit::Bool(b) => b.to_string(),
        Lit::Null => String::new(),
    }
}

/// The span of a rule's `window` or `sequence` key, for errors about the
/// pair.
pub(super) fn key_span(entries: &[(Node, Node)], key: &str) -> Option<Span> {
    entries
        .iter()
        .find(|(k, _)| k.text() == Some(key))
        .map(|(k, _)| k.span.clone())
}

#[cfg(test)]
mod tests;
