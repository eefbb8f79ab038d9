//! Lowering checked conditions into [`Node`]s, then merging alternatives
//! on one field into one set.

use serde_json::Value;

use super::matcher::{Cmp, Matcher, ValueSet};
use super::node::{Compare, CondInfo, Node, RefOp, Test};
use crate::catalog::FieldPath;
use crate::check::{Cond, Const, Op, Pred, Prepared};
use crate::diag::Span;

/// Why a checked rule does not compile: the alternatives of one condition,
/// each accepted by check, are together over the regex size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The condition.
    pub span: Span,
    /// What is wrong, for a label under the condition.
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

fn describe_values(values: &[Const]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|v| match v {
            Const::Str(s) => s.clone(),
            other => other.to_json().to_string(),
        })
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", parts.join(", ")),
    }
}

fn expected_json(values: &[Const]) -> Value {
    match values {
        [one] => one.to_json(),
        _ => Value::Array(values.iter().map(Const::to_json).collect()),
    }
}

pub(super) fn lower(cond: &Cond, conds: &mut Vec<CondInfo>) -> Result<Node, CompileError> {
    Ok(match cond {
        Cond::All(children) => Node::All(
            children
                .iter()
                .map(|c| lower(c, conds))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Any(children) => Node::Any(
            children
                .iter()
                .map(|c| lower(c, conds))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Not(child) => Node::Not(Box::new(lower(child, conds)?)),
        Cond::Pred(pred) if pred.field_ref().is_some() => lower_compare(pred, conds),
        Cond::Pred(pred) => Node::Test(Box::new(lower_pred(pred, conds)?)),
        Cond::Quant {
            quantifier,
            field,
            inner,
            span,
        } => {
            let inner = lower(inner, conds)?;
            let id = conds.len();
            conds.push(CondInfo {
                text: format!("{} {} {{...}}", field.path, quantifier.name()),
                field: field.path.to_string(),
                op: quantifier.name(),
                expected: Value::Null,
                span: span.clone(),
            });
            Node::Quant {
                quantifier: *quantifier,
                path: field.path.clone(),
                inner: Box::new(inner),
                id,
            }
        }
    })
}

fn lower_pred(pred: &Pred, conds: &mut Vec<CondInfo>) -> Result<Test, CompileError> {
    let first_num = pred.values.iter().find_map(|v| match v {
        Const::Num(n) => Some(*n),
        Const::Int(i) => Some(*i as f64),
        _ => None,
    });
    let first_text = pred.values.iter().find_map(|v| match v {
        Const::Str(s) => Some(s.as_str()),
        _ => None,
    });
    let cmp = match pred.op {
        Op::Gt => Some(Cmp::Gt),
        Op::Gte => Some(Cmp::Gte),
        Op::Lt => Some(Cmp::Lt),
        Op::Lte => Some(Cmp::Lte),
        _ => None,
    };
    let error = |message: String| CompileError {
        span: pred.span.clone(),
        message,
    };
    let matcher = match (pred.op, &pred.prepared) {
        (Op::Exists, _) => Matcher::Exists(pred.values.contains(&Const::Bool(true))),
        (Op::Eq | Op::In, _) => Matcher::In(ValueSet::new(&pred.values, pred.case_sensitive)),
        (Op::Ne | Op::NotIn, _) => Matcher::NotIn(ValueSet::new(&pred.values, pred.case_sensitive)),
        (Op::Contains | Op::StartsWith | Op::EndsWith | Op::Matches, Prepared::Regex(built)) => {
            Matcher::Regex {
                regex: built.clone().map_err(|e| error(e.message))?,
                case_sensitive: pred.case_sensitive,
            }
        }
        (Op::Cidr, Prepared::Nets(nets)) => Matcher::Cidr(nets.clone().into()),
        (Op::Contains | Op::StartsWith | Op::EndsWith | Op::Matches | Op::Cidr, _) => {
            // check prepares every condition of these operators.
            return Err(error("condition was not prepared".into()));
        }
        (Op::Gt | Op::Gte | Op::Lt | Op::Lte, _) => {
            let cmp = cmp.unwrap_or(Cmp::Gt);
            match (first_num, first_text) {
                (Some(n), _) => Matcher::Num(cmp, n),
                (None, Some(t)) => Matcher::Time(cmp, t.into()),
                (None, None) => return Err(error("no value to compare with".into())),
            }
        }
    };
    let id = conds.len();
    conds.push(CondInfo {
        text: format!(
            "{} {} {}",
            display_path(&pred.field.path),
            pred.op.name(),
            describe_values(&pred.values)
        ),
        field: display_path(&pred.field.path),
        op: pred.op.name(),
        expected: expected_json(&pred.values),
        span: pred.span.clone(),
    });
    Ok(Test {
        path: pred.field.path.clone(),
        matcher,
        id,
        top: None,
        as_text: pred.as_text,
    })
}

fn lower_compare(pred: &Pred, conds: &mut Vec<CondInfo>) -> Node {
    let Some(reference) = pred.field_ref() else {
        return Node::All(Box::new([]));
    };
    let op = match pred.op {
        Op::Ne | Op::NotIn => RefOp::NotIn,
        Op::Gt => RefOp::Order(Cmp::Gt),
        Op::Gte => RefOp::Order(Cmp::Gte),
        Op::Lt => RefOp::Order(Cmp::Lt),
        Op::Lte => RefOp::Order(Cmp::Lte),
        Op::Contains => RefOp::Contains,
        Op::StartsWith => RefOp::StartsWith,
        Op::EndsWith => RefOp::EndsWith,
        // check accepts no reference with `exists`, `matches` or `cidr`.
        _ => RefOp::Eq,
    };
    let id = conds.len();
    let name = reference.name();
    conds.push(CondInfo {
        text: format!(
            "{} {} {{field: {name}}}",
            display_path(&pred.field.path),
            pred.op.name()
        ),
        field: display_path(&pred.field.path),
        op: pred.op.name(),
        expected: serde_json::json!({ "field": name }),
        span: pred.span.clone(),
    });
    Node::Compare(Box::new(Compare {
        path: pred.field.path.clone(),
        other: reference.field.path.clone(),
        step: reference.step.as_deref().map(Into::into),
        op,
        case_sensitive: pred.case_sensitive,
        id,
    }))
}

/// A path for people; the element itself inside a quantifier over scalars;
/// every value of the record for a keyword search (a `raw.` path of no
/// segment).
fn display_path(path: &FieldPath) -> String {
    if path.segments().is_empty() && path.is_raw() {
        "any value".to_string()
    } else if path.segments().is_empty() {
        "element".to_string()
    } else {
        path.to_string()
    }
}

/// Rewrites the tree into an equivalent, cheaper one: flattens nested
/// `all`/`any`, and merges equality tests on one field inside an `any` into
/// one set lookup.
pub(super) fn optimize(node: Node, conds: &mut Vec<CondInfo>) -> Node {
    match node {
        Node::All(children) => {
            let mut flat = Vec::new();
            for child in children.into_vec() {
                match optimize(child, conds) {
                    Node::All(grand) => flat.extend(grand.into_vec()),
                    other => flat.push(other),
                }
            }
            single_or(flat, Node::All)
        }
        Node::Any(children) => {
            let mut flat: Vec<Node> = Vec::new();
            for child in children.into_vec() {
                match optimize(child, conds) {
                    Node::Any(grand) => flat.extend(grand.into_vec()),
                    other => flat.push(other),
                }
            }
            single_or(merge_sets(flat, conds), Node::Any)
        }
        Node::Not(child) => Node::Not(Box::new(optimize(*child, conds))),
        Node::Quant {
            quantifier,
            path,
            inner,
            id,
        } => Node::Quant {
            quantifier,
            path,
            inner: Box::new(optimize(*inner, conds)),
            id,
        },
        test @ (Node::Test(_) | Node::Compare(_)) => test,
    }
}

fn single_or(mut nodes: Vec<Node>, wrap: fn(Box<[Node]>) -> Node) -> Node {
    if nodes.len() == 1
        && let Some(only) = nodes.pop()
    {
        return only;
    }
    wrap(nodes.into_boxed_slice())
}

/// Merges `in` tests on the same path (and case rule) among alternatives.
fn merge_sets(nodes: Vec<Node>, conds: &mut Vec<CondInfo>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::new();
    for node in nodes {
        let merged = match (&node, out.iter_mut().find_map(|n| mergeable_with(n, &node))) {
            (Node::Test(new), Some(existing)) => {
                if let (Matcher::In(into), Matcher::In(from)) =
                    (&mut existing.matcher, &new.matcher)
                {
                    into.merge(from);
                }
                let (a, b) = (conds.get(existing.id).cloned(), conds.get(new.id).cloned());
                if let (Some(a), Some(b)) = (a, b) {
                    let expected = flatten_expected(&a.expected, &b.expected);
                    let id = conds.len();
                    conds.push(CondInfo {
                        text: format!("{} in {}", a.field, describe_json(&expected)),
                        field: a.field,
                        op: "in",
                        expected,
                        span: a.span,
                    });
                    existing.id = id;
                }
                true
            }
            _ => false,
        };
        if !merged {
            out.push(node);
        }
    }
    out
}

fn mergeable_with<'a>(existing: &'a mut Node, new: &Node) -> Option<&'a mut Test> {
    match (existing, new) {
        (Node::Test(a), Node::Test(b)) => match (&a.matcher, &b.matcher) {
            (Matcher::In(x), Matcher::In(y))
                if a.path == b.path
                    && x.case_sensitive() == y.case_sensitive()
                    && a.as_text == b.as_text =>
            {
                Some(a)
            }
            _ => None,
        },
        _ => None,
    }
}

fn flatten_expected(a: &Value, b: &Value) -> Value {
    let mut items = Vec::new();
    for v in [a, b] {
        match v {
            Value::Array(xs) => items.extend(xs.iter().cloned()),
            other => items.push(other.clone()),
        }
    }
    Value::Array(items)
}

fn describe_json(v: &Value) -> String {
    match v {
        Value::Array(xs) => {
            let parts: Vec<String> = xs
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
