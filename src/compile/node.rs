//! The program: a tree of [`Node`]s over resolved field paths, each test
//! numbered into a side table of [`CondInfo`], and the walks over it.

use serde_json::Value;

use super::matcher::{Cmp, Matcher, fold, number, text, values_equal};
use crate::catalog::FieldPath;
use crate::check::Quantifier;
use crate::diag::Span;

/// Index of a condition in its rule's [`CondInfo`] table.
pub type CondId = usize;

/// What a condition was, for evidence and traces.
#[derive(Debug, Clone, PartialEq)]
pub struct CondInfo {
    /// The condition as a person reads it: `status.errorCode eq 0`.
    pub text: String,
    /// The field path, relative to the list element inside `any`/`all`/`none`.
    pub field: String,
    /// The operator (or quantifier) name.
    pub op: &'static str,
    /// The constant(s) compared against.
    pub expected: Value,
    /// Where it was written.
    pub span: Span,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Node {
    /// Every child holds.
    All(Box<[Node]>),
    /// Some child holds.
    Any(Box<[Node]>),
    /// The child does not hold.
    Not(Box<Node>),
    /// A test on the values at a path.
    Test(Box<Test>),
    /// A comparison of the values at two paths (`{ field: PATH }`).
    Compare(Box<Compare>),
    /// A condition over the elements of a list.
    Quant {
        /// any, all or none.
        quantifier: Quantifier,
        /// The list.
        path: FieldPath,
        /// The condition on each element.
        inner: Box<Node>,
        /// Its entry in the rule's condition table.
        id: CondId,
    },
}

/// A test on the values found at one path: it holds when some value passes.
#[derive(Debug, Clone)]
pub struct Test {
    /// Where the values are.
    pub path: FieldPath,
    /// What a value must be.
    pub matcher: Matcher,
    /// Its entry in the rule's condition table.
    pub id: CondId,
    /// For a test on a record's own fields (not inside a quantifier): the
    /// index of its top-level field among those a rule set looks up once
    /// per record (set by [`intern_tops`]).
    pub top: Option<usize>,
    /// An object or a list at the path is tested as its compact JSON text
    /// ([`crate::check::Pred::as_text`]).
    pub as_text: bool,
}

/// A comparison of two fields: it holds when some value at `path` passes
/// against the values at `other` (see [`RefOp`]); both must be present.
#[derive(Debug, Clone)]
pub struct Compare {
    /// The field tested.
    pub path: FieldPath,
    /// The field it is compared with.
    pub other: FieldPath,
    /// The earlier sequence step whose record holds `other`; `None` for
    /// the same record. The single-record walks find such a field absent:
    /// the multi-record engine supplies the step's record.
    pub step: Option<Box<str>>,
    /// How the values compare.
    pub op: RefOp,
    /// Compare text with case.
    pub case_sensitive: bool,
    /// Its entry in the rule's condition table.
    pub id: CondId,
}

/// How a value compares with the values of another field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefOp {
    /// `eq`, `in`: equals some value of the other field.
    Eq,
    /// `ne`, `notIn`: equals no value of the other field (which is present).
    NotIn,
    /// `gt`, `gte`, `lt`, `lte`: ordered against some value (numbers, or
    /// date-times in their normal form).
    Order(Cmp),
    /// Contains some value, as text.
    Contains,
    /// Starts with some value.
    StartsWith,
    /// Ends with some value.
    EndsWith,
}

impl RefOp {
    /// Whether a value passes against one value of the other field (for
    /// `NotIn`: whether it equals it).
    pub fn test(self, v: &Value, other: &Value, case_sensitive: bool) -> bool {
        match self {
            RefOp::Eq | RefOp::NotIn => values_equal(v, other, case_sensitive),
            RefOp::Order(cmp) => match (number(v), number(other)) {
                (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| cmp.holds(o)),
                _ => match (v, other) {
                    (Value::String(a), Value::String(b)) => cmp.holds(a.as_str().cmp(b)),
                    _ => false,
                },
            },
            RefOp::Contains | RefOp::StartsWith | RefOp::EndsWith => {
                let (Some(a), Some(b)) = (text(v), text(other)) else {
                    return false;
                };
                let (a, b) = (fold(&a, case_sensitive), fold(&b, case_sensitive));
                match self {
                    RefOp::Contains => a.contains(b.as_ref()),
                    RefOp::StartsWith => a.starts_with(b.as_ref()),
                    _ => a.ends_with(b.as_ref()),
                }
            }
        }
    }
}

/// Numbers the top-level fields that the record-level tests of `root`
/// read, adding new ones to `tops` (name, matched in any case), so that a
/// rule set looks each up once per record, not once per test.
pub fn intern_tops(root: &mut Node, tops: &mut Vec<(Box<str>, bool)>) {
    match root {
        Node::All(children) | Node::Any(children) => {
            children.iter_mut().for_each(|c| intern_tops(c, tops));
        }
        Node::Not(child) => intern_tops(child, tops),
        Node::Test(test) => {
            let Some(first) = test.path.segments().first() else {
                return;
            };
            let key = (first.clone(), test.path.is_raw());
            test.top = Some(match tops.iter().position(|t| *t == key) {
                Some(i) => i,
                None => {
                    tops.push(key);
                    tops.len() - 1
                }
            });
        }
        // Tests inside read the elements, not the record; comparisons
        // look both fields up themselves.
        Node::Quant { .. } | Node::Compare(_) => {}
    }
}

/// Calls `f` on every path the condition reads. A quantifier's list is
/// read as far as the conditions on its elements read it
/// (`appliedConditionalAccessPolicies.result`), or whole when one of them
/// reads the element itself or a `raw.` key, or when none reads anything
/// (`any: { all: [] }` holds for any element).
pub(crate) fn visit_paths(node: &Node, f: &mut dyn FnMut(&crate::catalog::FieldPath)) {
    match node {
        Node::All(children) | Node::Any(children) => {
            children.iter().for_each(|c| visit_paths(c, f));
        }
        Node::Not(child) => visit_paths(child, f),
        Node::Test(test) => f(&test.path),
        Node::Compare(c) => {
            f(&c.path);
            f(&c.other);
        }
        Node::Quant { path, inner, .. } => {
            let mut below = Vec::new();
            visit_paths(inner, &mut |p| below.push(p.clone()));
            let partial = !path.is_raw()
                && !below.is_empty()
                && (below.iter()).all(|p| !p.is_raw() && !p.segments().is_empty());
            if !partial {
                return f(path);
            }
            for p in below {
                let segments = path.segments().iter().chain(p.segments()).cloned();
                f(&crate::catalog::FieldPath::new(segments, false));
            }
        }
    }
}
