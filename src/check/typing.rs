//! Typing: one literal of a condition and its field → a [`Const`].
//!
//! Takes a literal as written (or substituted from a param), the resolved
//! field and the operator, and gives the constant in the form evaluation
//! compares with: numbers for number fields and ordering operators,
//! date-times normalized to the record's form, enum values in their
//! canonical spelling (numeric codes named), IP ranges parsed. A value that
//! cannot be of the field's type is an error where it is written.

use ipnet::IpNet;

use super::RuleCx;
use super::model::{Const, Op};
use super::pattern::parse_net;
use crate::catalog::{self, Field, Kind, Resolved};
use crate::diag::{Code, Span};
use crate::syntax::Lit;

impl RuleCx<'_> {
    /// Types one constant against the field and operator.
    pub(super) fn typed(&mut self, field: &Resolved, op: Op, lit: Lit, at: &Span) -> Option<Const> {
        let kind = field.kind();
        let lit_text = lit_describe(&lit);
        let type_error = |cx: &mut Self, expected: &str, help: String| {
            cx.type_error(field, op, &lit_text, at, expected, help)
        };
        if beyond_exact(&lit, kind, op) {
            self.err(
                Code::TypeMismatch
                    .error(
                        at.clone(),
                        format!(
                            "`{}` on `{}` compares numbers, and {lit_text} is past the whole \
                             numbers they hold exactly (±9007199254740992)",
                            op.name(),
                            field.path
                        ),
                    )
                    .label("past 2^53")
                    .help(
                        "numbers compare as 64-bit floats (here, in KQL and in Spark): past 2^53 \
                         a number would equal its neighbours; to compare the text, write \
                         `matches: '^…$'`",
                    ),
            );
            return None;
        }
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
            Op::Cidr => self.typed_cidr(field, op, lit, at).map(|(c, _)| c),
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

    /// A constant of the wrong type for its field and operator.
    fn type_error<T>(
        &mut self,
        field: &Resolved,
        op: Op,
        lit_text: &str,
        at: &Span,
        expected: &str,
        help: String,
    ) -> Option<T> {
        self.err(
            Code::TypeMismatch
                .error(
                    at.clone(),
                    format!(
                        "`{}` compares `{}` with {lit_text}, but it holds {expected}",
                        op.name(),
                        field.path
                    ),
                )
                .label(format!("expected {expected}"))
                .help(help),
        );
        None
    }

    /// Types one `cidr` constant: the text as written, and the range it
    /// reads as.
    pub(super) fn typed_cidr(
        &mut self,
        field: &Resolved,
        op: Op,
        lit: Lit,
        at: &Span,
    ) -> Option<(Const, IpNet)> {
        let kind = field.kind();
        if !matches!(kind, Kind::String | Kind::Dynamic) {
            return self.type_error(
                field,
                op,
                &lit_describe(&lit),
                at,
                "IP addresses",
                "`cidr` applies to IP address fields such as `ipAddress`".into(),
            );
        }
        let text = match &lit {
            Lit::Str(s) => s.clone(),
            _ => {
                return self.type_error(
                    field,
                    op,
                    &lit_describe(&lit),
                    at,
                    "an IP range",
                    "write a range such as `10.0.0.0/8`".into(),
                );
            }
        };
        match parse_net(&text) {
            Ok(net) => Some((Const::Str(text), net)),
            Err(e) => {
                self.err(
                    Code::BadCidr.error(at.clone(),
                        format!("`{text}` is not an IP range"),
                    )
                    .label(e.to_string())
                    .help("write an IPv4 or IPv6 range such as `10.0.0.0/8` or `2001:db8::/32`, or a single address"),
                );
                None
            }
        }
    }

    pub(super) fn typed_eq(
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
                            Code::UnknownEnumValue
                                .error(
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
                            Code::UnknownEnumValue
                                .warning(
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
}

/// The largest whole number a 64-bit float holds with all its neighbours.
const FLOAT_EXACT: u64 = 1 << 53;

/// Whether `text` spells a whole number a 64-bit float cannot hold.
pub(crate) fn past_float(text: &str) -> bool {
    text.trim()
        .parse::<i128>()
        .is_ok_and(|i| i.unsigned_abs() > u128::from(FLOAT_EXACT))
}

/// Whether `lit` is a whole number a 64-bit float cannot hold, where it
/// would be compared as a number: by an order operator, or on a field of
/// numbers (or of any type, for a number written as one).
fn beyond_exact(lit: &Lit, kind: Kind, op: Op) -> bool {
    let ordered = matches!(op, Op::Gt | Op::Gte | Op::Lt | Op::Lte);
    // Text operators read a number as its text; `exists` reads no value.
    if !ordered && !matches!(op, Op::Eq | Op::Ne | Op::In | Op::NotIn) {
        return false;
    }
    match lit {
        Lit::Int(i) => {
            i.unsigned_abs() > FLOAT_EXACT
                && (ordered || matches!(kind, Kind::Integer | Kind::Number | Kind::Dynamic))
        }
        // Text on a field of any type is compared as a number too, when the
        // record holds one.
        Lit::Str(s) if ordered || matches!(kind, Kind::Integer | Kind::Number | Kind::Dynamic) => {
            past_float(s)
        }
        _ => false,
    }
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
