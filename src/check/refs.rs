//! Field references: a value written `{ field: PATH }` → a
//! [`Const::Field`].
//!
//! The path resolves like any field (aliases, did-you-mean, `raw.NAME`) in
//! the scope of the condition: the record, or an element's fields inside
//! `any`/`all`/`none` over objects. In a sequence step's `where`, `STEP.PATH`
//! reads the record of an earlier step. The two fields' types must suit the
//! operator (text with text, numbers with numbers, date-times with
//! date-times; `in`/`notIn` against a field of several values), and the
//! operators whose values are built once (`matches`, `cidr`) or are not
//! values (`exists`) take no reference.

use super::model::{Const, FieldRef, Op, Pred, Prepared};
use super::{RuleCx, wrong_type};
use crate::catalog::{self, Field, Kind, Resolved};
use crate::diag::{Code, Span};
use crate::syntax::Node;

/// The steps a sequence step's `where` may read, while it is checked.
#[derive(Debug, Clone)]
pub(super) struct WhereScope {
    /// Every step of the sequence, in order: name, catalog, whether absent.
    pub steps: Vec<(String, &'static [Field], bool)>,
    /// The index of the step whose `where` this is.
    pub current: usize,
}

/// What a field holds, for comparing two fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Text,
    Number,
    Boolean,
    DateTime,
    Object,
    /// `raw.` and dynamic fields: anything.
    Any,
}

fn class(kind: Kind) -> Class {
    match kind {
        Kind::String => Class::Text,
        Kind::Integer | Kind::Number => Class::Number,
        Kind::Boolean => Class::Boolean,
        Kind::DateTime => Class::DateTime,
        Kind::Object(_) => Class::Object,
        Kind::Dynamic => Class::Any,
    }
}

/// A field's type for messages.
pub(super) fn type_of(field: &Resolved) -> String {
    field
        .field
        .map_or_else(|| "any type (uncatalogued)".to_string(), Field::type_name)
}

/// Whether two fields can be compared as group keys or with `eq`: the
/// same class of value, or one of them untyped.
pub(super) fn comparable(a: &Resolved, b: &Resolved) -> bool {
    let (a, b) = (class(a.kind()), class(b.kind()));
    a != Class::Object && b != Class::Object && (a == b || a == Class::Any || b == Class::Any)
}

/// Whether the path can hold several values: it is raw, or some field on
/// it is a list.
pub(super) fn several_values(root: &'static [Field], field: &Resolved) -> bool {
    if field.path.is_raw() || field.field.is_none_or(|f| f.list) {
        return true;
    }
    let mut fields = root;
    for seg in field.path.segments() {
        match catalog::find_field(fields, seg) {
            Some(f) if f.list => return true,
            Some(f) => fields = f.children(),
            None => return false,
        }
    }
    false
}

impl RuleCx<'_> {
    /// A condition whose value is the field named at `target`.
    pub(super) fn ref_pred(
        &mut self,
        field: &Resolved,
        op: Op,
        target: &Node,
        case_sensitive: bool,
        span: Span,
        refs: Option<&'static [Field]>,
    ) -> Option<Pred> {
        let Some(refs) = refs else {
            self.err(
                Code::BadFieldRef
                    .error(target.span.clone(), "a field reference cannot test the elements of a list of values")
                    .label("inside `any`, `all` or `none` over values")
                    .help("compare the list field itself (`FIELD: { eq: { field: OTHER } }` holds when some element equals)"),
            );
            return None;
        };
        let Some(name) = target.scalar().map(|s| s.text.clone()) else {
            self.err(wrong_type(
                target,
                format!("`field` takes a field name, not {}", target.describe()),
                "expected a field name",
            ));
            return None;
        };
        let reference = self.resolve_ref(target, &name, refs)?;
        let root = match &reference.step {
            Some(step) => self
                .where_scope
                .as_ref()
                .and_then(|w| w.steps.iter().find(|(n, _, _)| n == step))
                .map_or(refs, |(_, fields, _)| *fields),
            None => refs,
        };
        self.ref_types(field, op, &reference, root, &target.span)?;
        Some(Pred {
            field: field.clone(),
            op,
            values: vec![Const::Field(reference)],
            case_sensitive,
            prepared: Prepared::Values,
            as_text: false,
            span,
        })
    }

    /// Resolves `name` (written at `target`) in `refs`, or as `STEP.PATH`
    /// of an earlier step inside a `where`.
    fn resolve_ref(
        &mut self,
        target: &Node,
        name: &str,
        refs: &'static [Field],
    ) -> Option<FieldRef> {
        if let Some(scope) = self.where_scope.clone()
            && let Some((first, rest)) = name.split_once('.')
        {
            if let Some((i, (step, fields, absent))) = scope
                .steps
                .iter()
                .enumerate()
                .find(|(_, (n, _, _))| n == first)
            {
                let current = scope.steps.get(scope.current).map_or("", |s| s.0.as_str());
                let problem = if i == scope.current {
                    Some((
                        format!("`where` of step `{current}` names its own step"),
                        format!("write the field plainly: `{{ field: {rest} }}`"),
                    ))
                } else if i > scope.current {
                    Some((
                        format!("`where` of step `{current}` reads step `{step}`, which comes after it"),
                        "a `where` reads the records of earlier steps; move the condition to the later step".to_string(),
                    ))
                } else if *absent {
                    Some((
                        format!("step `{step}` is absent: it has no record to read"),
                        "read the fields of a step that is present".to_string(),
                    ))
                } else {
                    None
                };
                if let Some((message, help)) = problem {
                    self.err(
                        Code::UnknownStep
                            .error(target.span.clone(), message)
                            .label("not an earlier step")
                            .help(help),
                    );
                    return None;
                }
                return match catalog::resolve_in(fields, rest) {
                    Ok(field) => Some(FieldRef {
                        step: Some(step.clone()),
                        field,
                    }),
                    Err(e) => {
                        self.err(
                            Code::UnknownField
                                .error(
                                    target.span.clone(),
                                    format!("unknown field `{}` of step `{step}`", e.segment),
                                )
                                .label(format!("not a field of step `{step}`"))
                                .suggest(e.suggestion.map(|s| format!("{step}.{s}"))),
                        );
                        None
                    }
                };
            }
            if catalog::resolve_in(refs, name).is_err()
                && catalog::find_field(refs, first).is_none()
            {
                let earlier: Vec<&str> = scope
                    .steps
                    .iter()
                    .take(scope.current)
                    .map(|(n, _, _)| n.as_str())
                    .collect();
                let help = match catalog::closest(first, earlier.iter().copied()) {
                    Some(near) => format!("did you mean the step `{near}` (`{near}.{rest}`)?"),
                    None if earlier.is_empty() => {
                        "this is the first step: there is no earlier step to read".to_string()
                    }
                    None => format!("earlier steps: {}", earlier.join(", ")),
                };
                self.err(
                    Code::UnknownStep
                        .error(
                            target.span.clone(),
                            format!("unknown step or field `{first}`"),
                        )
                        .label("neither an earlier step nor a field")
                        .help(help),
                );
                return None;
            }
        }
        let field = self.resolve(target, refs)?;
        Some(FieldRef { step: None, field })
    }

    /// Checks that the operator can compare the two fields.
    fn ref_types(
        &mut self,
        left: &Resolved,
        op: Op,
        right: &FieldRef,
        right_root: &'static [Field],
        at: &Span,
    ) -> Option<()> {
        let refuse = |cx: &mut Self, message: String, help: &str| {
            cx.err(
                Code::BadFieldRef
                    .error(at.clone(), message)
                    .label("a field reference")
                    .help(help.to_string()),
            );
            None
        };
        match op {
            Op::Exists => {
                return refuse(
                    self,
                    "`exists` takes true or false, not a field".into(),
                    "write `exists: true`, and compare the fields with `eq`",
                );
            }
            Op::Matches => {
                return refuse(
                    self,
                    "`matches` cannot take its pattern from a field: patterns are compiled once, when rules load".into(),
                    "compare with the field's value using `eq`, `contains`, `startsWith` or `endsWith`",
                );
            }
            Op::Cidr => {
                return refuse(
                    self,
                    "`cidr` cannot take its ranges from a field: ranges are read once, when rules load".into(),
                    "write the ranges in the rule, or in a list param",
                );
            }
            Op::In | Op::NotIn if !several_values(right_root, &right.field) => {
                let instead = if op == Op::In { "eq" } else { "ne" };
                return refuse(
                    self,
                    format!(
                        "`{}` compares with the values of a list, and `{}` holds one value",
                        op.name(),
                        right.name()
                    ),
                    &format!("use `{instead}` to compare with one value"),
                );
            }
            _ => {}
        }
        let (l, r) = (class(left.kind()), class(right.field.kind()));
        let same = |want: &[Class]| {
            (want.contains(&l) || l == Class::Any)
                && (want.contains(&r) || r == Class::Any)
                && (l == r || l == Class::Any || r == Class::Any)
        };
        let (ok, help) = match op {
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => (
                same(&[Class::Number, Class::DateTime]),
                "ordering compares numbers with numbers and date-times with date-times",
            ),
            Op::Contains | Op::StartsWith | Op::EndsWith => {
                (same(&[Class::Text]), "text tests compare text with text")
            }
            _ => (
                comparable(left, &right.field),
                "fields compare with fields of the same type: text with text, numbers with numbers, date-times with date-times",
            ),
        };
        if ok {
            return Some(());
        }
        self.err(
            Code::TypeMismatch
                .error(
                    at.clone(),
                    format!(
                        "`{}` compares `{}` ({}) with `{}` ({}), which cannot be compared",
                        op.name(),
                        left.path,
                        type_of(left),
                        right.name(),
                        type_of(&right.field)
                    ),
                )
                .label(format!("a field of type {}", type_of(&right.field)))
                .help(help),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::SIGN_IN;

    fn field(name: &str) -> Resolved {
        catalog::resolve_in(SIGN_IN, name).unwrap_or_else(|e| panic!("{name}: {e:?}"))
    }

    #[test]
    fn lists_and_raw_paths_hold_several_values() {
        assert!(several_values(SIGN_IN, &field("signInEventTypes")));
        assert!(several_values(
            SIGN_IN,
            &field("appliedConditionalAccessPolicies.result")
        ));
        assert!(several_values(SIGN_IN, &field("raw.anything")));
        assert!(!several_values(SIGN_IN, &field("ipAddress")));
        assert!(!several_values(SIGN_IN, &field("location.city")));
    }

    #[test]
    fn fields_compare_within_their_class() {
        assert!(comparable(
            &field("homeTenantId"),
            &field("resourceTenantId")
        ));
        assert!(comparable(&field("status.errorCode"), &field("raw.code")));
        assert!(!comparable(&field("status.errorCode"), &field("ipAddress")));
        assert!(!comparable(&field("location"), &field("location")));
        assert!(!comparable(&field("createdDateTime"), &field("ipAddress")));
    }
}
