//! Eval: compiled conditions × canonical records → outcomes, traces and
//! evidence.
//!
//! Two walks over the same program: [`matches()`] short-circuits and builds
//! nothing (the hot path); [`explain`] evaluates every node and records what
//! each saw, for evidence, `tollgate explain` and failing rule tests. They
//! must agree on every outcome; a test runs both on every built-in rule.

use std::cell::Cell;

use serde_json::{Map, Value};

use crate::check::Quantifier;
use crate::compile::{Compare, CondId, CondInfo, Matcher, Node, RefOp, Test};
use crate::finding::Evidence;
pub(crate) use crate::record::lookup;
use crate::record::{Fields, Names, Places, visit_along, visit_value};

/// What a condition is evaluated against: a record's fields, or one element
/// of a list inside `any`/`all`/`none`.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The fields of an object element.
    Fields(&'a Map<String, Value>),
    /// A record's top-level fields, with, when given, the values of the
    /// rule set's interned top-level fields (see
    /// [`crate::compile::intern_tops`]), each found at the place its
    /// record's layout holds it, or looked up once.
    Record(&'a Fields, Option<&'a Tops<'a>>),
    /// A value (a scalar list element).
    Value(&'a Value),
}

/// A record's values of a rule set's interned top-level fields: found at
/// the places its layout holds them ([`Names::places`]), or, for a record
/// of no known layout, each looked up the first time a test reads it (with
/// the rule index, most rules, and so most fields, are never read for most
/// records).
#[derive(Debug)]
pub struct Tops<'a> {
    names: &'a Names,
    /// Where the record holds each name, when its layout tells.
    places: Option<Places>,
    /// Without places: `None` until looked up.
    values: Vec<Cell<Option<Option<&'a Value>>>>,
}

impl<'a> Tops<'a> {
    /// The interned fields `names` (name, whether a `raw.` key) of
    /// `fields`, none read yet.
    pub(crate) fn new(names: &'a Names, fields: &Fields) -> Tops<'a> {
        let places = names.places(fields);
        let values = match places {
            Some(_) => Vec::new(),
            None => vec![Cell::new(None); names.as_slice().len()],
        };
        Tops {
            names,
            places,
            values,
        }
    }

    /// The value of interned field `i` in `fields`, the fields this was
    /// made for.
    fn get(&self, fields: &'a Fields, i: usize) -> Option<&'a Value> {
        if let Some(places) = &self.places {
            let at = (*places.get(i)?)?;
            return fields.entry(at as usize).map(|(_, value)| value);
        }
        let cell = self.values.get(i)?;
        if let Some(value) = cell.get() {
            return value;
        }
        let (name, raw) = self.names.as_slice().get(i)?;
        let value = lookup(fields, name, *raw);
        cell.set(Some(value));
        value
    }
}

impl<'a> Scope<'a> {
    /// The top-level value under `key` of the record or object element
    /// (in any case when `raw`); `None` for a scalar element.
    fn top(self, key: &str, raw: bool) -> Option<&'a Value> {
        match self {
            Scope::Fields(map) => lookup(map, key, raw),
            Scope::Record(fields, _) => lookup(fields, key, raw),
            Scope::Value(_) => None,
        }
    }

    fn visit(self, path: &crate::catalog::FieldPath, f: &mut dyn FnMut(&Value) -> bool) -> bool {
        match self {
            Scope::Fields(_) | Scope::Record(..) => match path.segments().split_first() {
                Some((first, rest)) => self
                    .top(first, path.is_raw())
                    .is_some_and(|v| visit_value(v, rest, path.is_raw(), f)),
                None => false,
            },
            Scope::Value(v) => visit_value(v, path.segments(), path.is_raw(), f),
        }
    }

    /// The list at `path` (a single object counts as a one-element list);
    /// `None` when absent.
    fn list(self, path: &crate::catalog::FieldPath) -> Option<Vec<&'a Value>> {
        let mut current: &'a Value;
        let mut segments = path.segments().iter();
        match self {
            Scope::Fields(_) | Scope::Record(..) => {
                let first = segments.next()?;
                current = self.top(first, path.is_raw())?;
            }
            Scope::Value(v) => current = v,
        }
        for seg in segments {
            current = match current {
                Value::Object(m) => lookup(m, seg, path.is_raw())?,
                _ => return None,
            };
        }
        match current {
            Value::Null => None,
            Value::Array(items) => Some(items.iter().collect()),
            other => Some(vec![other]),
        }
    }
}

/// Calls `f` on the values a test reads, until it returns true: those at
/// its path (the rule set's interned top-level value when there is one);
/// with [`Test::as_text`], an object or a list there as its compact JSON
/// text; for a `raw.` path of no segment, every scalar of the record at
/// any depth (Sigma keyword searches).
pub(crate) fn visit_test(test: &Test, scope: Scope<'_>, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    let path = &test.path;
    let raw = path.is_raw();
    if raw && path.segments().is_empty() {
        return match scope {
            Scope::Fields(map) => map.values().any(|v| visit_scalars(v, f)),
            // In key order, so the first value found is the map's first.
            Scope::Record(fields, _) => fields
                .sorted()
                .into_iter()
                .any(|(_, v)| visit_scalars(v, f)),
            Scope::Value(v) => visit_scalars(v, f),
        };
    }
    let walk = |v: &Value, rest: &[Box<str>], f: &mut dyn FnMut(&Value) -> bool| {
        visit_along(v, rest, raw, test.as_text, f)
    };
    match (scope, test.top) {
        (Scope::Record(fields, Some(tops)), Some(i)) => tops.get(fields, i).is_some_and(|v| {
            let rest = path.segments().get(1..).unwrap_or_default();
            walk(v, rest, f)
        }),
        (Scope::Fields(_) | Scope::Record(..), _) => match path.segments().split_first() {
            Some((first, rest)) => scope.top(first, raw).is_some_and(|v| walk(v, rest, f)),
            None => false,
        },
        (Scope::Value(v), _) => walk(v, path.segments(), f),
    }
}

/// Calls `f` on every scalar below a value (itself when it is one).
fn visit_scalars(value: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match value {
        Value::Null => false,
        Value::Array(items) => items.iter().any(|v| visit_scalars(v, f)),
        Value::Object(map) => map.values().any(|v| visit_scalars(v, f)),
        scalar => f(scalar),
    }
}

fn element_scope(v: &Value) -> Scope<'_> {
    match v {
        Value::Object(map) => Scope::Fields(map),
        other => Scope::Value(other),
    }
}

/// Whether a value counts as absent for `exists`: besides absent and null
/// (never visited), blank text, which is how Log Analytics writes a
/// missing string column.
fn is_blank(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.trim().is_empty())
}

/// Whether a comparison of two fields holds on a record (or element).
/// A reference to an earlier sequence step's record does not hold here:
/// [`compare_across`] reads it from that record.
fn compare(c: &Compare, scope: Scope<'_>) -> bool {
    c.step.is_none() && compare_across(c, scope, scope)
}

/// Whether a comparison holds with the tested field read in `scope` and
/// the other in `other` (the same record, or the record an earlier step of
/// a sequence matched). Both fields must be present: absent, null and blank
/// text (Log Analytics' missing column) never compare.
pub fn compare_across(c: &Compare, scope: Scope<'_>, other: Scope<'_>) -> bool {
    scope.visit(&c.path, &mut |v| {
        if is_blank(v) {
            return false;
        }
        match c.op {
            RefOp::NotIn => {
                let mut present = false;
                let equal = other.visit(&c.other, &mut |o| {
                    present |= !is_blank(o);
                    !is_blank(o) && c.op.test(v, o, c.case_sensitive)
                });
                present && !equal
            }
            op => other.visit(&c.other, &mut |o| {
                !is_blank(o) && op.test(v, o, c.case_sensitive)
            }),
        }
    })
}

/// Whether a sequence step's `where` holds on its record (`scope`), with
/// `steps` giving the records each earlier step matched, by step name. A
/// reference to a step holds when it holds for each of that step's records
/// (and there is one at least); everything else is as in [`matches()`].
pub fn matches_with_steps<'a>(
    node: &Node,
    scope: Scope<'a>,
    steps: &dyn Fn(&str) -> Vec<Scope<'a>>,
) -> bool {
    match node {
        Node::All(children) => children.iter().all(|c| matches_with_steps(c, scope, steps)),
        Node::Any(children) => children.iter().any(|c| matches_with_steps(c, scope, steps)),
        Node::Not(child) => !matches_with_steps(child, scope, steps),
        Node::Compare(c) => match &c.step {
            Some(step) => {
                let records = steps(step);
                !records.is_empty() && records.iter().all(|r| compare_across(c, scope, *r))
            }
            None => compare(c, scope),
        },
        // Inside a quantifier and in plain tests no step is read.
        other => matches(other, scope),
    }
}

/// Whether the condition holds; short-circuits, allocates nothing.
pub fn matches(node: &Node, scope: Scope<'_>) -> bool {
    match node {
        Node::Compare(c) => compare(c, scope),
        Node::All(children) => children.iter().all(|c| matches(c, scope)),
        Node::Any(children) => children.iter().any(|c| matches(c, scope)),
        Node::Not(child) => !matches(child, scope),
        Node::Test(test) => {
            let visit = |f: &mut dyn FnMut(&Value) -> bool| visit_test(test, scope, f);
            match test.matcher {
                Matcher::Exists(want) => visit(&mut |v| !is_blank(v)) == want,
                ref m => visit(&mut |v| m.test(v)),
            }
        }
        Node::Quant {
            quantifier,
            path,
            inner,
            ..
        } => match scope.list(path) {
            None => false,
            Some(items) => {
                let mut each = items.iter().map(|v| matches(inner, element_scope(v)));
                match quantifier {
                    Quantifier::Any => each.any(|b| b),
                    Quantifier::All => each.all(|b| b),
                    Quantifier::None => !each.any(|b| b),
                }
            }
        },
    }
}

/// Most values a trace keeps per condition.
const MAX_SEEN: usize = 20;

/// The outcome of every node of a condition, with the values each test saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Whether this node held.
    pub outcome: bool,
    /// What the node is.
    pub kind: TraceKind,
    /// The children's traces (for a quantifier: one per element, in order).
    pub children: Vec<Trace>,
}

/// What a traced node is.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceKind {
    /// `all`.
    All,
    /// `any`.
    Any,
    /// `not`.
    Not,
    /// A field test with the values found (empty when absent).
    Test {
        /// The condition.
        id: CondId,
        /// Values found at the path.
        seen: Vec<Value>,
    },
    /// A comparison of two fields, with the values found at each.
    Compare {
        /// The condition.
        id: CondId,
        /// Values found at the tested field.
        seen: Vec<Value>,
        /// Values found at the field it is compared with.
        other: Vec<Value>,
    },
    /// A quantifier with the number of elements (`None` when absent).
    Quant {
        /// The condition.
        id: CondId,
        /// How many elements the list had.
        elements: Option<usize>,
    },
}

/// Evaluates every node, recording outcomes and values seen.
pub fn explain(node: &Node, scope: Scope<'_>) -> Trace {
    match node {
        Node::Compare(c) => {
            let values = |path, scope: Scope<'_>| {
                let mut seen = Vec::new();
                scope.visit(path, &mut |v| {
                    if seen.len() < MAX_SEEN {
                        seen.push(v.clone());
                    }
                    false
                });
                seen
            };
            Trace {
                outcome: compare(c, scope),
                kind: TraceKind::Compare {
                    id: c.id,
                    seen: values(&c.path, scope),
                    // An earlier step's record is not at hand here.
                    other: if c.step.is_none() {
                        values(&c.other, scope)
                    } else {
                        Vec::new()
                    },
                },
                children: Vec::new(),
            }
        }
        Node::All(children) => {
            let children: Vec<Trace> = children.iter().map(|c| explain(c, scope)).collect();
            Trace {
                outcome: children.iter().all(|c| c.outcome),
                kind: TraceKind::All,
                children,
            }
        }
        Node::Any(children) => {
            let children: Vec<Trace> = children.iter().map(|c| explain(c, scope)).collect();
            Trace {
                outcome: children.iter().any(|c| c.outcome),
                kind: TraceKind::Any,
                children,
            }
        }
        Node::Not(child) => {
            let child = explain(child, scope);
            Trace {
                outcome: !child.outcome,
                kind: TraceKind::Not,
                children: vec![child],
            }
        }
        Node::Test(test) => {
            let mut seen = Vec::new();
            let mut any = false;
            let mut present = false;
            // A keyword search reads every value of the record: it shows
            // those that matched.
            let keyword = test.path.is_raw() && test.path.segments().is_empty();
            visit_test(test, scope, &mut |v| {
                let passed = test.matcher.test(v);
                if seen.len() < MAX_SEEN && (passed || !keyword) {
                    seen.push(v.clone());
                }
                any |= passed;
                present |= !is_blank(v);
                false
            });
            let outcome = match test.matcher {
                Matcher::Exists(want) => present == want,
                _ => any,
            };
            Trace {
                outcome,
                kind: TraceKind::Test { id: test.id, seen },
                children: Vec::new(),
            }
        }
        Node::Quant {
            quantifier,
            path,
            inner,
            id,
        } => {
            let items = scope.list(path);
            let children: Vec<Trace> = items
                .iter()
                .flatten()
                .map(|v| explain(inner, element_scope(v)))
                .collect();
            let outcome = match (&items, quantifier) {
                (None, _) => false,
                (Some(_), Quantifier::Any) => children.iter().any(|c| c.outcome),
                (Some(_), Quantifier::All) => children.iter().all(|c| c.outcome),
                (Some(_), Quantifier::None) => !children.iter().any(|c| c.outcome),
            };
            Trace {
                outcome,
                kind: TraceKind::Quant {
                    id: *id,
                    elements: items.map(|i| i.len()),
                },
                children,
            }
        }
    }
}

/// The conditions that decided a trace's outcome, with the values seen:
/// for a true `all`, every child; for a true `any`, the children that held;
/// for a false `all`, those that failed; under `not`, the child's deciders.
pub fn evidence(trace: Trace, conds: &[CondInfo]) -> Vec<Evidence> {
    let mut out = Vec::new();
    collect(trace, conds, "", &mut out);
    out
}

/// [`evidence`], taking the values seen out of the trace.
fn collect(trace: Trace, conds: &[CondInfo], prefix: &str, out: &mut Vec<Evidence>) {
    let outcome = trace.outcome;
    match trace.kind {
        TraceKind::All | TraceKind::Any => {
            let all = matches!(trace.kind, TraceKind::All);
            // The children whose outcome equals the node's decided it, except
            // for a false `any` and a true `all`, where all of them did.
            let deciding =
                (trace.children.into_iter()).filter(|c| (all == outcome) || c.outcome == outcome);
            for child in deciding {
                collect(child, conds, prefix, out);
            }
        }
        TraceKind::Not => {
            for child in trace.children {
                collect(child, conds, prefix, out);
            }
        }
        TraceKind::Test { id, seen } => {
            if let Some(info) = conds.get(id) {
                out.push(item(info, prefix, seen_value(seen), outcome));
            }
        }
        TraceKind::Compare { id, seen, other } => {
            if let Some(info) = conds.get(id) {
                let mut evidence = item(info, prefix, seen_value(seen), outcome);
                evidence.expected = serde_json::json!({
                    "field": info.expected.get("field").cloned().unwrap_or(Value::Null),
                    "value": seen_value(other),
                });
                out.push(evidence);
            }
        }
        TraceKind::Quant { id, elements } => {
            let Some(info) = conds.get(id) else {
                return;
            };
            // One element decided an `any` that held, or an `all`/`none`
            // that failed: show that element's conditions.
            let want = match (outcome, info.op) {
                (true, "any") | (false, "none") => Some(true),
                (false, "all") => Some(false),
                _ => None,
            };
            let single = want.and_then(|w| {
                (trace.children.into_iter())
                    .enumerate()
                    .find(|(_, c)| c.outcome == w)
            });
            match single {
                Some((i, child)) => {
                    let inner_prefix = format!("{prefix}{}[{i}].", info.field);
                    collect(child, conds, &inner_prefix, out);
                }
                None => {
                    let actual = elements.map_or(Value::Null, |n| Value::from(n as u64));
                    out.push(item(info, prefix, actual, outcome));
                }
            }
        }
    }
}

fn seen_value(mut seen: Vec<Value>) -> Value {
    match seen.len() {
        0 => Value::Null,
        1 => seen.pop().unwrap_or(Value::Null),
        _ => Value::Array(seen),
    }
}

/// The evidence of condition `info`, inside the list elements `prefix`
/// names (none when empty).
fn item(info: &CondInfo, prefix: &str, actual: Value, outcome: bool) -> Evidence {
    let (field, condition) = if prefix.is_empty() {
        (info.field.clone(), info.text.clone())
    } else {
        let field = if info.field == "element" {
            prefix.trim_end_matches('.').to_string()
        } else {
            format!("{prefix}{}", info.field)
        };
        let condition = match info.text.strip_prefix(info.field.as_str()) {
            Some(rest) => format!("{field}{rest}"),
            None => info.text.clone(),
        };
        (field, condition)
    };
    Evidence {
        condition,
        field,
        operator: info.op.to_string(),
        expected: info.expected.clone(),
        actual,
        outcome,
    }
}

/// Writes a trace as an indented tree, one node a line, for people.
pub fn render_trace(trace: &Trace, conds: &[CondInfo]) -> String {
    let mut out = String::new();
    render_node(trace, conds, 0, "", &mut out);
    out
}

fn render_node(trace: &Trace, conds: &[CondInfo], depth: usize, label: &str, out: &mut String) {
    use std::fmt::Write as _;
    let mark = if trace.outcome { "✓" } else { "✗" };
    let pad = "  ".repeat(depth);
    let _ = match &trace.kind {
        TraceKind::All => writeln!(out, "{pad}{mark} {label}all"),
        TraceKind::Any => writeln!(out, "{pad}{mark} {label}any"),
        TraceKind::Not => writeln!(out, "{pad}{mark} {label}not"),
        TraceKind::Test { id, seen } => {
            let text = conds.get(*id).map_or("?", |c| c.text.as_str());
            writeln!(out, "{pad}{mark} {label}{text}  (saw {})", show_seen(seen))
        }
        TraceKind::Compare { id, seen, other } => {
            let info = conds.get(*id);
            let text = info.map_or("?", |c| c.text.as_str());
            let name = info
                .and_then(|c| c.expected.get("field"))
                .and_then(Value::as_str)
                .unwrap_or("other");
            writeln!(
                out,
                "{pad}{mark} {label}{text}  (saw {}; {name} was {})",
                show_seen(seen),
                show_seen(other)
            )
        }
        TraceKind::Quant { id, elements } => {
            let text = conds.get(*id).map_or("?", |c| c.text.as_str());
            match elements {
                Some(n) => writeln!(out, "{pad}{mark} {label}{text}  ({n} elements)"),
                None => writeln!(out, "{pad}{mark} {label}{text}  (saw absent)"),
            }
        }
    };
    let quant = matches!(trace.kind, TraceKind::Quant { .. });
    for (i, child) in trace.children.iter().enumerate() {
        let label = if quant {
            format!("[{i}] ")
        } else {
            String::new()
        };
        render_node(child, conds, depth + 1, &label, out);
    }
}

/// The values a test saw, for people: `absent`, a value, or a list.
pub fn show_seen(seen: &[Value]) -> String {
    match seen {
        [] => "absent".to_string(),
        [one] => one.to_string(),
        many => Value::Array(many.to_vec()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::FieldPath;
    use crate::compile::{Test, ValueSet};
    use serde_json::json;

    fn fields(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn exists_false_holds_for_absent_null_and_empty_lists() {
        let t = Node::Test(Box::new(Test {
            path: FieldPath::new(["a"], false),
            matcher: Matcher::Exists(false),
            id: 0,
            top: None,
            as_text: false,
        }));
        for record in [json!({}), json!({"a": null}), json!({"a": []})] {
            let f = fields(record);
            assert!(matches(&t, Scope::Fields(&f)));
            assert!(explain(&t, Scope::Fields(&f)).outcome);
        }
        let f = fields(json!({"a": 0}));
        assert!(!matches(&t, Scope::Fields(&f)));
    }

    #[test]
    fn interned_top_level_fields_give_the_same_answers() {
        let mut t = Node::Not(Box::new(Node::Test(Box::new(Test {
            path: FieldPath::new(["a", "b"], false),
            matcher: Matcher::Exists(true),
            id: 0,
            top: None,
            as_text: false,
        }))));
        let mut tops = vec![("z".into(), false)];
        crate::compile::intern_tops(&mut t, &mut tops);
        assert_eq!(tops, [("z".into(), false), ("a".into(), false)]);
        let names = Names::new(tops);
        for record in [json!({}), json!({"a": {"b": 1}}), json!({"a": {"c": 1}})] {
            let f = fields(record);
            let top = Fields::from(f.clone());
            let looked_up = Tops::new(&names, &top);
            assert_eq!(
                matches(&t, Scope::Record(&top, Some(&looked_up))),
                matches(&t, Scope::Fields(&f))
            );
            assert_eq!(
                matches(&t, Scope::Record(&top, None)),
                matches(&t, Scope::Fields(&f))
            );
        }
    }

    #[test]
    fn interned_fields_are_found_at_the_places_of_their_layout() {
        use crate::record::Layout;
        use std::sync::Arc;
        // Raw names: spelled exactly when a key is, else the first key in
        // key order equal ignoring case.
        let names = Names::new(vec![
            ("b".into(), false),
            ("B".into(), false),
            ("dE".into(), true),
            ("de".into(), true),
            ("x".into(), true),
            ("a".into(), false),
        ]);
        let other = Names::new(vec![("a".into(), false), ("B".into(), false)]);
        let keys: [&[&str]; 3] = [
            &["a", "b", "De", "dE", "B"],
            &["B", "DE", "dE", "b"],
            &["De", "x", "DE", "X"],
        ];
        for keys in keys {
            let keys: Arc<[String]> = keys.iter().map(|k| k.to_string()).collect();
            let layout = Layout::new();
            for round in 0..3 {
                let values = (0..keys.len()).map(|i| json!(i + 10 * round)).collect();
                let fields = Fields::shared(Arc::clone(&keys), values, layout);
                let map = fields.clone().into_map();
                // Two sets of names, one after the other, in one layout.
                for names in [&names, &other] {
                    let tops = Tops::new(names, &fields);
                    assert!(tops.places.is_some());
                    for (i, (name, raw)) in names.as_slice().iter().enumerate() {
                        assert_eq!(
                            tops.get(&fields, i),
                            lookup(&map, name, *raw),
                            "{name} in {keys:?}"
                        );
                    }
                }
            }
        }
    }

    fn compare(op: crate::compile::RefOp, step: Option<&str>) -> Node {
        Node::Compare(Box::new(Compare {
            path: FieldPath::new(["a"], false),
            other: FieldPath::new(["b"], false),
            step: step.map(Into::into),
            op,
            case_sensitive: false,
            id: 0,
        }))
    }

    #[test]
    fn comparisons_need_both_fields() {
        let ne = compare(RefOp::NotIn, None);
        let eq = compare(RefOp::Eq, None);
        for (record, want_ne, want_eq) in [
            (json!({"a": "x", "b": "y"}), true, false),
            (json!({"a": "X", "b": "x"}), false, true),
            (json!({"a": "x"}), false, false),
            (json!({"a": "x", "b": null}), false, false),
            (json!({"a": "", "b": "x"}), false, false),
            (json!({"a": 1, "b": "1"}), false, true),
            (json!({"a": "x", "b": ["y", "x"]}), false, true),
            (json!({"a": ["y", "z"], "b": ["y"]}), true, true),
        ] {
            let f = fields(record.clone());
            assert_eq!(matches(&ne, Scope::Fields(&f)), want_ne, "ne {record}");
            assert_eq!(matches(&eq, Scope::Fields(&f)), want_eq, "eq {record}");
            assert_eq!(explain(&ne, Scope::Fields(&f)).outcome, want_ne);
        }
    }

    #[test]
    fn a_reference_to_another_step_reads_that_record() {
        let eq = compare(RefOp::Eq, Some("first"));
        let this = fields(json!({"a": "x"}));
        let first = fields(json!({"b": "x"}));
        // Alone, the other step's record is not at hand.
        assert!(!matches(&eq, Scope::Fields(&this)));
        let Node::Compare(c) = &eq else {
            unreachable!()
        };
        assert!(compare_across(
            c,
            Scope::Fields(&this),
            Scope::Fields(&first)
        ));
    }

    #[test]
    fn a_where_holds_for_each_record_of_the_step_it_reads() {
        let eq = Node::Not(Box::new(compare(RefOp::NotIn, Some("first"))));
        let this = fields(json!({"a": "x"}));
        let same = fields(json!({"b": "X"}));
        let other = fields(json!({"b": "y"}));
        let holds = |records: Vec<&Map<String, Value>>| {
            let scopes: Vec<Scope<'_>> = records.into_iter().map(Scope::Fields).collect();
            matches_with_steps(&eq, Scope::Fields(&this), &|name| {
                if name == "first" {
                    scopes.clone()
                } else {
                    Vec::new()
                }
            })
        };
        // `ne` must hold for each record, so its `not` holds unless every
        // record of the step differs.
        assert!(holds(vec![&same, &same]));
        assert!(holds(vec![&same, &other]));
        assert!(!holds(vec![&other, &other]));
        let eq = compare(RefOp::Eq, Some("first"));
        let steps_of = |records: Vec<&Map<String, Value>>| {
            let scopes: Vec<Scope<'_>> = records.into_iter().map(Scope::Fields).collect();
            matches_with_steps(&eq, Scope::Fields(&this), &|_| scopes.clone())
        };
        assert!(steps_of(vec![&same, &same]));
        assert!(!steps_of(vec![&same, &other]));
        assert!(!steps_of(Vec::new()));
    }

    #[test]
    fn not_in_is_false_on_absent_fields() {
        let t = Node::Test(Box::new(Test {
            path: FieldPath::new(["a"], false),
            matcher: Matcher::NotIn(ValueSet::default()),
            id: 0,
            top: None,
            as_text: false,
        }));
        let f = fields(json!({}));
        assert!(!matches(&t, Scope::Fields(&f)));
        assert!(matches(&Node::Not(Box::new(t)), Scope::Fields(&f)));
    }
}
