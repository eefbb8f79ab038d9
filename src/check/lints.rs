//! Lints: checked conditions → warnings about conditions that can never
//! hold, or always hold.
//!
//! Takes a rule's [`Cond`] tree after checking and compares the conjuncts
//! of each `all` pairwise ([`contradiction`]) and the alternatives of each
//! `any` ([`negation_of`]). It only warns: a rule that never matches is
//! legal, just almost certainly a mistake.

use super::RuleCx;
use super::model::{Cond, Const, Op, Pred};
use crate::catalog::{self, Resolved, SIGN_IN};
use crate::diag::{Code, Span};

impl RuleCx<'_> {
    /// Warns about conditions that can never hold, or always hold.
    pub(super) fn lint(&mut self, cond: &Cond) {
        self.lint_at(cond, true);
    }

    /// `analyze` is false for an `all` directly inside another, whose
    /// conjuncts the outer one already compared.
    pub(super) fn lint_at(&mut self, cond: &Cond, analyze: bool) {
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
                                Code::NeverTrue.warning(second, "this condition can never be true")
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
                                Code::AlwaysTrue.warning(span_of(b), "these alternatives are always true")
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
}

/// The conjuncts of nested `all`s.
fn flatten<'a>(cond: &'a Cond, out: &mut Vec<&'a Cond>) {
    match cond {
        Cond::All(children) => children.iter().for_each(|c| flatten(c, out)),
        other => out.push(other),
    }
}

pub(super) fn span_of(cond: &Cond) -> Span {
    match cond {
        Cond::Pred(p) => p.span.clone(),
        Cond::Quant { span, .. } => span.clone(),
        Cond::Not(child) => span_of(child),
        Cond::All(children) | Cond::Any(children) => {
            // An empty group keeps no span of its own; only a rule that
            // pairs `all: []` with its `not` gets here, and the start of the
            // first file stands in.
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
    // Another field's value is not known until a record is read.
    if x.field_ref().is_some() || y.field_ref().is_some() {
        return None;
    }
    if x.field != y.field || !single_valued(&x.field) {
        return None;
    }
    let field = x.field.path.to_string();
    // Compare constants as evaluation does: text without case unless the
    // condition asks for it, and whole numbers equal to the same floats.
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
            // A lower bound above an upper one leaves no value; equal bounds
            // leave one only when both include it (`gte 5` and `lte 5`).
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
