//! Spark SQL of one condition on one value: the operators, case rules,
//! typed values, times in ticks, IP ranges and patterns.

use std::fmt::Write as _;

use super::{Emit, Leaf, Scope, string_literal};
use crate::catalog::{Field, Kind};
use crate::check::{CheckedRule, Const, Op, Pred};
use crate::target::plan::{Leaves, any_of, in_list, set_literals};
use crate::target::regex::{self, Dialect};
use crate::target::{Unsupported, const_number, const_text, double_literal};

impl Leaves for Emit<'_> {
    type Scope = Scope;

    fn rule(&self) -> &CheckedRule {
        self.rule
    }

    fn pred(&mut self, pred: &Pred, scope: &Scope) -> Result<String, Unsupported> {
        match pred.op {
            Op::Exists => {
                let want = pred.values.contains(&Const::Bool(true));
                let present = self.some_value(scope, &pred.field, &pred.span, &mut |_, leaf| {
                    Ok(present(leaf))
                })?;
                Ok(if want {
                    present
                } else {
                    format!("(NOT {present})")
                })
            }
            Op::Cidr => {
                let nets: &[ipnet::IpNet] = match &pred.prepared {
                    crate::check::Prepared::Nets(nets) => nets,
                    _ => &[],
                };
                let mut v4 = Vec::new();
                let mut v6 = Vec::new();
                for net in nets {
                    match net {
                        ipnet::IpNet::V4(n) => {
                            v4.push((u32::from(n.network()), u32::from(n.broadcast())));
                        }
                        ipnet::IpNet::V6(n) => v6.push((
                            format!("{:032x}", u128::from(n.network())),
                            format!("{:032x}", u128::from(n.broadcast())),
                        )),
                    }
                }
                self.some_value(scope, &pred.field, &pred.span, &mut |_, leaf| {
                    let tests: Vec<String> = [ipv4_in(leaf.expr, &v4), ipv6_in(leaf.expr, &v6)]
                        .into_iter()
                        .flatten()
                        .collect();
                    Ok(any_of(&tests, " OR "))
                })
            }
            _ => {
                let pred = pred.clone();
                self.some_value(scope, &pred.field, &pred.span, &mut |this, leaf| {
                    this.leaf_test(&pred, leaf)
                })
            }
        }
    }

    /// A comparison of two fields of the record (or element).
    fn compare(&mut self, pred: &Pred, scope: &Scope) -> Result<String, Unsupported> {
        let Some(reference) = pred.field_ref() else {
            return Ok("false".into());
        };
        // The other field is of this record, or of the record an earlier
        // step matched (joined under its own prefix).
        let other_scope = match &reference.step {
            None => scope.clone(),
            Some(step) => match self.steps.iter().find(|(name, _)| name == step) {
                Some((_, prefix)) => Scope::Record(prefix.clone()),
                None => {
                    return Err(self.no(format!("a reference to the step `{step}`"), &pred.span));
                }
            },
        };
        let other = reference.field.clone();
        let op = pred.op;
        let cs = pred.case_sensitive;
        let span = pred.span.clone();
        self.some_value(scope, &pred.field, &pred.span, &mut |this, a| {
            let a_kind = a.field.map_or(Kind::Dynamic, |f| f.kind);
            let a_expr = typed(a.expr, a.field);
            let a_present = present(Leaf {
                expr: a.expr,
                field: a.field,
            });
            let pair = |b: Leaf<'_>| -> String {
                let b_kind = b.field.map_or(Kind::Dynamic, |f| f.kind);
                let b_expr = typed(b.expr, b.field);
                let b_present = present(Leaf {
                    expr: b.expr,
                    field: b.field,
                });
                let test = pair_test(op, cs, (&a_expr, a_kind), (&b_expr, b_kind));
                format!("({b_present} AND coalesce({test}, false))")
            };
            match op {
                Op::Ne | Op::NotIn => {
                    let any_other =
                        this.some_value(scope, &other, &span, &mut |_, b| Ok(present(b)))?;
                    let equal = this.some_value(&other_scope, &other, &span, &mut |_, b| {
                        let b_kind = b.field.map_or(Kind::Dynamic, |f| f.kind);
                        let b_expr = typed(b.expr, b.field);
                        let test = pair_test(Op::Eq, cs, (&a_expr, a_kind), (&b_expr, b_kind));
                        Ok(format!("({} AND coalesce({test}, false))", present(b)))
                    })?;
                    Ok(format!("({a_present} AND {any_other} AND NOT {equal})"))
                }
                _ => {
                    let inner =
                        this.some_value(&other_scope, &other, &span, &mut |_, b| Ok(pair(b)))?;
                    Ok(format!("({a_present} AND {inner})"))
                }
            }
        })
    }
}

impl Emit<'_> {
    /// One value against the constants of a condition; may be null when
    /// the value is (the caller makes it false).
    fn leaf_test(&mut self, pred: &Pred, leaf: Leaf<'_>) -> Result<String, Unsupported> {
        let kind = leaf.field.map_or(Kind::Dynamic, |f| f.kind);
        if let Kind::Object(_) = kind {
            return Err(self.no(
                format!(
                    "`{} {}` on an object (the native engine compares no object with a constant)",
                    pred.field.path,
                    pred.op.name()
                ),
                &pred.span,
            ));
        }
        let value = typed(leaf.expr, leaf.field);
        let fold = |e: &str| {
            if pred.case_sensitive {
                e.to_string()
            } else {
                format!("lower({e})")
            }
        };
        let fold_lit = |s: &str| {
            if pred.case_sensitive {
                string_literal(s)
            } else {
                string_literal(&s.to_lowercase())
            }
        };
        Ok(match pred.op {
            Op::Eq | Op::In | Op::Ne | Op::NotIn => {
                let items = set_literals(
                    pred,
                    kind,
                    |s| time_ticks(s).map(|t| t.to_string()),
                    |s| fold_lit(s),
                );
                let set = match kind {
                    Kind::Integer | Kind::Number => {
                        in_list(&format!("CAST({value} AS DOUBLE)"), &items, "IN")
                    }
                    Kind::Boolean => in_list(&value, &items, "IN"),
                    Kind::DateTime => in_list(&ticks_of(&value), &items, "IN"),
                    _ => in_list(&fold(&value), &items, "IN"),
                };
                let positive = matches!(pred.op, Op::Eq | Op::In);
                if positive {
                    set
                } else {
                    format!("({value} IS NOT NULL AND NOT coalesce({set}, false))")
                }
            }
            Op::Contains | Op::StartsWith | Op::EndsWith => {
                let text = fold(&text_of(&value, kind));
                let func = match pred.op {
                    Op::Contains => "contains",
                    Op::StartsWith => "startswith",
                    _ => "endswith",
                };
                let parts: Vec<String> = pred
                    .values
                    .iter()
                    .filter_map(const_text)
                    .map(|s| format!("{func}({text}, {})", fold_lit(&s)))
                    .collect();
                any_of(&parts, " OR ")
            }
            Op::Matches => {
                let text = text_of(&value, kind);
                let mut parts = Vec::new();
                for v in &pred.values {
                    let Some(pattern) = const_text(v) else {
                        continue;
                    };
                    let pattern = regex::translate(&pattern, pred.case_sensitive, Dialect::Java)
                        .map_err(|c| self.no(c, &pred.span))?;
                    parts.push(format!("({text} RLIKE {})", string_literal(&pattern)));
                }
                any_of(&parts, " OR ")
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                let op = pred.op.order_symbol().unwrap_or("<=");
                let first = pred.values.first();
                match (first.and_then(const_number), kind, first) {
                    (Some(n), _, Some(Const::Int(_) | Const::Num(_))) | (Some(n), _, _)
                        if kind != Kind::DateTime =>
                    {
                        format!("try_cast({value} AS DOUBLE) {op} {}", double_literal(n))
                    }
                    (_, Kind::DateTime, Some(Const::Str(s))) => match time_ticks(s) {
                        Some(t) => format!("{} {op} {t}", ticks_of(&value)),
                        None => {
                            return Err(self.no(format!("the date-time `{s}`"), &pred.span));
                        }
                    },
                    (_, _, Some(Const::Str(s))) => {
                        // Text ordered as text (the native engine orders
                        // normalized date-times so; other text has no order).
                        format!("({value} {op} {})", string_literal(s))
                    }
                    _ => "false".into(),
                }
            }
            Op::Exists | Op::Cidr => "false".into(),
        })
    }
}

/// Whether a value counts as present: not null, and for text not blank
/// (Log Analytics writes a missing string column as empty text).
pub(super) fn present(leaf: Leaf<'_>) -> String {
    match leaf.field.map(|f| f.kind) {
        Some(Kind::String | Kind::DateTime | Kind::Dynamic) | None => {
            format!(
                "({e} IS NOT NULL AND CAST({e} AS STRING) RLIKE '(?U)\\\\S')",
                e = leaf.expr
            )
        }
        Some(_) => format!("({} IS NOT NULL)", leaf.expr),
    }
}

/// The test of one pair of values of two fields.
pub(super) fn pair_test(op: Op, cs: bool, a: (&str, Kind), b: (&str, Kind)) -> String {
    let numeric = |k: Kind| matches!(k, Kind::Integer | Kind::Number);
    let text = |e: &str, k: Kind| {
        let t = text_of(e, k);
        if cs { t } else { format!("lower({t})") }
    };
    match op {
        Op::Eq | Op::In | Op::Ne | Op::NotIn => {
            if numeric(a.1) || numeric(b.1) {
                format!(
                    "(try_cast({} AS DOUBLE) = try_cast({} AS DOUBLE))",
                    a.0, b.0
                )
            } else if a.1 == Kind::DateTime && b.1 == Kind::DateTime {
                format!("({} = {})", ticks_of(a.0), ticks_of(b.0))
            } else {
                format!("({} = {})", text(a.0, a.1), text(b.0, b.1))
            }
        }
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
            let sym = op.order_symbol().unwrap_or("<=");
            if numeric(a.1) || numeric(b.1) {
                format!(
                    "(try_cast({} AS DOUBLE) {sym} try_cast({} AS DOUBLE))",
                    a.0, b.0
                )
            } else if a.1 == Kind::DateTime && b.1 == Kind::DateTime {
                format!("({} {sym} {})", ticks_of(a.0), ticks_of(b.0))
            } else {
                format!("({} {sym} {})", text_of(a.0, a.1), text_of(b.0, b.1))
            }
        }
        Op::Contains => format!("contains({}, {})", text(a.0, a.1), text(b.0, b.1)),
        Op::StartsWith => format!("startswith({}, {})", text(a.0, a.1), text(b.0, b.1)),
        Op::EndsWith => format!("endswith({}, {})", text(a.0, a.1), text(b.0, b.1)),
        Op::Matches | Op::Exists | Op::Cidr => "false".into(),
    }
}

/// A value in its field's type, as normalization gives it: an enum's
/// integer code read as its name; numbers read from text.
pub(super) fn typed(expr: &str, field: Option<&'static Field>) -> String {
    let Some(field) = field else {
        return expr.to_string();
    };
    match field.kind {
        Kind::String if !field.codes.is_empty() => {
            let mut out = format!("CASE try_cast(trim(CAST({expr} AS STRING)) AS BIGINT)");
            for (code, name) in field.codes {
                let _ = write!(out, " WHEN {code} THEN {}", string_literal(name));
            }
            let _ = write!(out, " ELSE {expr} END");
            out
        }
        Kind::Integer => format!("try_cast({expr} AS BIGINT)"),
        Kind::Number => format!("try_cast({expr} AS DOUBLE)"),
        _ => expr.to_string(),
    }
}

/// A value as the text the native engine matches patterns against.
pub(super) fn text_of(value: &str, kind: Kind) -> String {
    match kind {
        Kind::String | Kind::DateTime | Kind::Dynamic => value.to_string(),
        _ => format!("CAST({value} AS STRING)"),
    }
}

/// Ticks of 100 ns since 1970 of a date-time text: microseconds as Spark
/// parses them, and the seventh fraction digit from the text.
pub(super) fn ticks_of(value: &str) -> String {
    format!(
        "(unix_micros(try_to_timestamp({value})) * 10 + coalesce(try_cast(nullif(regexp_extract({value}, '\\\\.[0-9]{{6}}([0-9])', 1), '') AS BIGINT), 0))"
    )
}

/// Ticks of 100 ns since 1970 of a normalized date-time constant.
pub(super) fn time_ticks(s: &str) -> Option<i64> {
    crate::time::parse(s).map(|ts| (ts.as_nanosecond() / 100) as i64)
}

/// `ip` is an IPv4 address in one of the ranges (inclusive bounds). The
/// address must be four decimal octets without leading zeros, as Rust's
/// parser (and so the native engine) reads them.
pub(super) fn ipv4_in(ip: &str, ranges: &[(u32, u32)]) -> Option<String> {
    if ranges.is_empty() {
        return None;
    }
    let octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    let pattern = format!("^{octet}\\\\.{octet}\\\\.{octet}\\\\.{octet}$");
    let t = format!("trim({ip})");
    let part = |i: u8| format!("try_cast(try_element_at(split({t}, '\\\\.'), {i}) AS BIGINT)");
    let number = format!(
        "({} * 16777216 + {} * 65536 + {} * 256 + {})",
        part(1),
        part(2),
        part(3),
        part(4)
    );
    let tests: Vec<String> = ranges
        .iter()
        .map(|(lo, hi)| format!("({number} BETWEEN {lo} AND {hi})"))
        .collect();
    Some(format!(
        "({t} RLIKE '{pattern}' AND ({}))",
        tests.join(" OR ")
    ))
}

/// `ip` is an IPv6 address in one of the ranges, given as 32 hex digits.
/// Spark has no IPv6 parser: Java's reads the text (only text of hex
/// digits, colons and dots, so it never looks a name up), and its
/// canonical form, padded group by group, orders like the addresses. Java
/// reads `::ffff:a.b.c.d` as the IPv4 address; such text matches no IPv6
/// range here, while the native engine reads it as IPv6.
pub(super) fn ipv6_in(ip: &str, ranges: &[(String, String)]) -> Option<String> {
    if ranges.is_empty() {
        return None;
    }
    let t = format!("trim({ip})");
    let parsed = format!("try_reflect('java.net.InetAddress', 'getByName', {t})");
    let hex =
        format!("concat_ws('', transform(split(substr({parsed}, 2), ':'), g -> lpad(g, 4, '0')))");
    let tests: Vec<String> = ranges
        .iter()
        .map(|(lo, hi)| format!("({hex} BETWEEN '{lo}' AND '{hi}')"))
        .collect();
    Some(format!(
        "({t} RLIKE '^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$' AND {parsed} RLIKE '^/[0-9a-f:]+$' AND ({}))",
        tests.join(" OR ")
    ))
}
