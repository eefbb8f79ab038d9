//! KQL of one condition on one value: the operators, case rules, typed
//! values, IP ranges, patterns and comparisons of two fields.

use std::fmt::Write as _;

use super::{Emit, Scope, string_literal, trimmed};
use crate::catalog::{Field, Kind};
use crate::check::{CheckedRule, Const, Op, Pred, Prepared};
use crate::target::plan::{Leaves, any_of, in_list, set_literals};
use crate::target::regex::{self, Dialect};
use crate::target::{Unsupported, const_number, const_text, double_literal};

impl Leaves for Emit<'_> {
    type Scope = Scope;

    fn rule(&self) -> &CheckedRule {
        self.rule
    }

    fn pred(&mut self, pred: &Pred, scope: &Scope) -> Result<String, Unsupported> {
        let pred = pred.clone();
        match pred.op {
            Op::Exists => {
                let want = pred.values.contains(&Const::Bool(true));
                let present = self.some_value(scope, &pred.field, &pred.span, &mut |_, e, f| {
                    Ok(present(e, f))
                })?;
                Ok(if want {
                    present
                } else {
                    format!("not({present})")
                })
            }
            Op::Cidr => {
                let nets: Vec<String> = match &pred.prepared {
                    Prepared::Nets(nets) => nets.iter().map(|n| n.to_string()).collect(),
                    _ => Vec::new(),
                };
                let (v4, v6): (Vec<&String>, Vec<&String>) =
                    nets.iter().partition(|n| !n.contains(':'));
                self.some_value(scope, &pred.field, &pred.span, &mut |_, e, _| {
                    let ip = format!("tostring({e})");
                    let mut tests = Vec::new();
                    if !v4.is_empty() {
                        let list: Vec<String> = v4.iter().map(|n| string_literal(n)).collect();
                        // ipv4_is_in_any_range also reads IPv4 addresses
                        // written as IPv6-mapped; the native engine does not.
                        tests.push(format!(
                            "(not({ip} contains \":\") and ipv4_is_in_any_range({ip}, dynamic([{}])))",
                            list.join(", ")
                        ));
                    }
                    if !v6.is_empty() {
                        let list: Vec<String> = v6.iter().map(|n| string_literal(n)).collect();
                        tests.push(format!(
                            "({ip} contains \":\" and ipv6_is_in_any_range({ip}, dynamic([{}])))",
                            list.join(", ")
                        ));
                    }
                    Ok(match tests.as_slice() {
                        [] => "false".into(),
                        _ => format!("({})", tests.join(" or ")),
                    })
                })
            }
            _ => self.some_value(scope, &pred.field, &pred.span, &mut |this, e, f| {
                this.leaf_test(&pred, e, f)
            }),
        }
    }

    /// A comparison of two fields of the row (or element): some value of
    /// one against some value of the other, both present.
    fn compare(&mut self, pred: &Pred, scope: &Scope) -> Result<String, Unsupported> {
        let Some(reference) = pred.field_ref() else {
            return Ok("false".into());
        };
        if reference.step.is_some() {
            return Err(self.no("a reference to a sequence step", &pred.span));
        }
        let other = reference.field.clone();
        let (op, cs, span) = (pred.op, pred.case_sensitive, pred.span.clone());
        self.some_value(scope, &pred.field, &pred.span, &mut |this, a, a_field| {
            let a_present = present(a, a_field);
            let a = (typed(a, a_field), a_field.map_or(Kind::Dynamic, |f| f.kind));
            match op {
                Op::Ne | Op::NotIn => {
                    let any_other =
                        this.some_value(scope, &other, &span, &mut |_, b, f| Ok(present(b, f)))?;
                    let equal = this.some_value(scope, &other, &span, &mut |_, b, f| {
                        let b_kind = f.map_or(Kind::Dynamic, |f| f.kind);
                        let test = pair_test(Op::Eq, cs, (&a.0, a.1), (&typed(b, f), b_kind));
                        Ok(format!("({} and {test})", present(b, f)))
                    })?;
                    Ok(format!("({a_present} and {any_other} and not({equal}))"))
                }
                _ => {
                    let inner = this.some_value(scope, &other, &span, &mut |_, b, f| {
                        let b_kind = f.map_or(Kind::Dynamic, |f| f.kind);
                        let test = pair_test(op, cs, (&a.0, a.1), (&typed(b, f), b_kind));
                        Ok(format!("({} and {test})", present(b, f)))
                    })?;
                    Ok(format!("({a_present} and {inner})"))
                }
            }
        })
    }
}

impl Emit<'_> {
    fn leaf_test(
        &mut self,
        pred: &Pred,
        expr: &str,
        field: Option<&'static Field>,
    ) -> Result<String, Unsupported> {
        let kind = field.map_or(Kind::Dynamic, |f| f.kind);
        if let Kind::Object(_) = kind {
            return Err(self.no(
                format!("`{} {}` on an object", pred.field.path, pred.op.name()),
                &pred.span,
            ));
        }
        let value = typed(expr, field);
        let cs = pred.case_sensitive;
        Ok(match pred.op {
            Op::Eq | Op::In | Op::Ne | Op::NotIn => {
                let items = set_literals(
                    pred,
                    kind,
                    |s| Some(format!("datetime({s})")),
                    string_literal,
                );
                let (guard, set) = match kind {
                    Kind::Integer | Kind::Number => {
                        let v = format!("todouble({value})");
                        (format!("isnotnull({v})"), in_list(&v, &items, "in"))
                    }
                    Kind::Boolean | Kind::DateTime => {
                        (format!("isnotnull({value})"), in_list(&value, &items, "in"))
                    }
                    _ => {
                        let op = if cs { "in" } else { "in~" };
                        (format!("isnotempty({value})"), in_list(&value, &items, op))
                    }
                };
                let positive = matches!(pred.op, Op::Eq | Op::In);
                if positive {
                    format!("({guard} and {set})")
                } else {
                    format!("({guard} and not({set}))")
                }
            }
            Op::Contains | Op::StartsWith | Op::EndsWith => {
                let base = match pred.op {
                    Op::Contains => "contains",
                    Op::StartsWith => "startswith",
                    _ => "endswith",
                };
                let op = if cs {
                    format!("{base}_cs")
                } else {
                    base.to_string()
                };
                let text = format!("tostring({value})");
                let parts: Vec<String> = pred
                    .values
                    .iter()
                    .filter_map(const_text)
                    .map(|s| format!("{text} {op} {}", string_literal(&s)))
                    .collect();
                any_of(&parts, " or ")
            }
            Op::Matches => {
                let text = format!("tostring({value})");
                let mut parts = Vec::new();
                for pattern in pred.values.iter().filter_map(const_text) {
                    let pattern = regex::translate(&pattern, cs, Dialect::Re2)
                        .map_err(|c| self.no(c, &pred.span))?;
                    parts.push(format!("{text} matches regex {}", string_literal(&pattern)));
                }
                any_of(&parts, " or ")
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                let sym = pred.op.order_symbol().unwrap_or("<=");
                match (kind, pred.values.first()) {
                    (Kind::DateTime, Some(Const::Str(s))) => {
                        format!("{value} {sym} datetime({s})")
                    }
                    (_, Some(c)) => match const_number(c) {
                        Some(n) => format!("todouble({value}) {sym} {}", double_literal(n)),
                        None => {
                            return Err(self.no(
                                format!("`{}` ordered against text", pred.field.path),
                                &pred.span,
                            ));
                        }
                    },
                    _ => "false".into(),
                }
            }
            Op::Exists | Op::Cidr => "false".into(),
        })
    }
}

/// The test of one pair of values of two fields (both typed).
pub(super) fn pair_test(op: Op, cs: bool, a: (&str, Kind), b: (&str, Kind)) -> String {
    let numeric = |k: Kind| matches!(k, Kind::Integer | Kind::Number);
    let both_times = a.1 == Kind::DateTime && b.1 == Kind::DateTime;
    let (ta, tb) = (format!("tostring({})", a.0), format!("tostring({})", b.0));
    let sym = op.order_symbol().unwrap_or("==");
    match op {
        Op::Eq | Op::In | Op::Ne | Op::NotIn | Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
            if numeric(a.1) || numeric(b.1) {
                format!("coalesce(todouble({}) {sym} todouble({}), false)", a.0, b.0)
            } else if both_times {
                format!(
                    "coalesce(todatetime({}) {sym} todatetime({}), false)",
                    a.0, b.0
                )
            } else if sym == "==" {
                if cs {
                    format!("({ta} == {tb})")
                } else {
                    format!("({ta} =~ {tb})")
                }
            } else {
                format!("(strcmp({ta}, {tb}) {sym} 0)")
            }
        }
        Op::Contains | Op::StartsWith | Op::EndsWith => {
            let base = match op {
                Op::Contains => "contains",
                Op::StartsWith => "startswith",
                _ => "endswith",
            };
            let suffix = if cs { "_cs" } else { "" };
            format!("({ta} {base}{suffix} {tb})")
        }
        Op::Matches | Op::Exists | Op::Cidr => "false".into(),
    }
}

/// A value in its field's type.
pub(super) fn typed(expr: &str, field: Option<&'static Field>) -> String {
    let Some(field) = field else {
        return format!("tostring({expr})");
    };
    match field.kind {
        Kind::String if !field.codes.is_empty() => {
            let mut out = String::from("case(");
            for (code, name) in field.codes {
                let _ = write!(
                    out,
                    "tolong({}) == {code}, {}, ",
                    trimmed(&format!("tostring({expr})")),
                    string_literal(name)
                );
            }
            let _ = write!(out, "tostring({expr}))");
            out
        }
        Kind::String | Kind::Dynamic => format!("tostring({expr})"),
        Kind::Integer => format!("tolong({expr})"),
        Kind::Number => format!("todouble({expr})"),
        Kind::Boolean => format!("tobool({expr})"),
        Kind::DateTime => format!("todatetime({expr})"),
        Kind::Object(_) => expr.to_string(),
    }
}

/// Whether a value counts as present: not null, and for text not blank.
pub(super) fn present(expr: &str, field: Option<&'static Field>) -> String {
    match field.map(|f| f.kind) {
        Some(Kind::String | Kind::Dynamic) | None => {
            format!("isnotempty({})", trimmed(&format!("tostring({expr})")))
        }
        Some(Kind::Object(_)) => format!("isnotnull({expr})"),
        Some(_) => format!("isnotnull({})", typed(expr, field)),
    }
}
