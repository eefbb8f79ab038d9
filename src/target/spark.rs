//! Spark SQL over the diagnostic-settings shape.
//!
//! Records sit in a view (`signins`, `graphActivity`) with the envelope's
//! columns (`time`, `category`, `resultType`, `callerIpAddress`, ...) and
//! `properties` holding the Graph fields, typed as [`schema`] declares
//! them. A query does what normalization does for that shape: an envelope
//! column fills in a field `properties` lacks, an enum written as its
//! integer code reads as its name, and date-times compare as instants to
//! the tick of 100 ns (Spark keeps microseconds; the seventh fraction digit
//! is read from the text).
//!
//! Every condition is two-valued: each leaf is wrapped so that a missing
//! value gives false, never null, so `NOT` means what it means natively.
//! Values through lists are existential (`exists` over each list level),
//! and `all` / `none` over an absent list are false, as natively.

use std::fmt::Write as _;

use crate::catalog::{Field, GRAPH_ACTIVITY, Kind, Resolved, SIGN_IN};
use crate::check::{CheckedRule, Cond, Const, Op, Pred, Quantifier, Shape};
use crate::diag::Span;
use crate::record::LogCategory;

use super::{
    Options, Unsupported, categories, const_bool, const_number, const_text, double_literal,
};

/// Envelope columns of the sign-in view and the field each fills in when
/// `properties` lacks it, with the cast that reads it in the field's type.
const SIGN_IN_ENVELOPE: &[(&str, &str)] = &[
    ("status.errorCode", "resultType"),
    ("status.failureReason", "resultDescription"),
    ("ipAddress", "callerIpAddress"),
    ("correlationId", "correlationId"),
    ("location.countryOrRegion", "location"),
    ("tenantId", "tenantId"),
];

/// The same for Graph activity.
const GRAPH_ENVELOPE: &[(&str, &str)] = &[
    ("timeGenerated", "time"),
    ("ipAddress", "callerIpAddress"),
    ("durationMs", "durationMs"),
    ("location", "location"),
    ("tenantId", "tenantId"),
];

/// Envelope columns of both views: all text, as exports write them.
const ENVELOPE_COLUMNS: &[&str] = &[
    "time",
    "resourceId",
    "operationName",
    "operationVersion",
    "category",
    "tenantId",
    "resultType",
    "resultSignature",
    "resultDescription",
    "durationMs",
    "callerIpAddress",
    "correlationId",
    "identity",
    "Level",
    "location",
];

/// The Spark DDL of each view, as the PySpark driver reads exports with
/// it: `{"signins": "time STRING, ...", "graphActivity": "..."}`.
pub fn schema(options: &Options) -> serde_json::Value {
    serde_json::json!({
        options.table.clone(): ddl(SIGN_IN),
        options.graph_table.clone(): ddl(GRAPH_ACTIVITY),
    })
}

fn ddl(fields: &'static [Field]) -> String {
    let mut out = String::new();
    for col in ENVELOPE_COLUMNS {
        let _ = write!(out, "`{col}` STRING, ");
    }
    out.push_str("`properties` ");
    out.push_str(&struct_type(fields));
    out
}

fn struct_type(fields: &'static [Field]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|f| format!("`{}`: {}", f.name, field_type(f)))
        .collect();
    format!("STRUCT<{}>", parts.join(", "))
}

fn field_type(f: &Field) -> String {
    let one = match f.kind {
        Kind::String | Kind::DateTime | Kind::Dynamic => "STRING".to_string(),
        Kind::Integer => "BIGINT".to_string(),
        Kind::Number => "DOUBLE".to_string(),
        Kind::Boolean => "BOOLEAN".to_string(),
        Kind::Object(children) => struct_type(children),
    };
    if f.list { format!("ARRAY<{one}>") } else { one }
}

/// The Spark SQL query of one rule.
pub fn query(rule: &CheckedRule, options: &Options) -> Result<String, Unsupported> {
    let graph = rule.logs.contains(&LogCategory::GraphActivity);
    if graph && rule.logs.len() > 1 {
        return Err(unsupported(
            rule,
            "a rule over both Graph activity and sign-in logs",
            &rule.span,
        ));
    }
    match &rule.shape {
        Shape::Single => {}
        Shape::Window(_) => {
            return Err(unsupported(rule, "a `window` rule", &rule.span));
        }
        Shape::Sequence(_) => {
            return Err(unsupported(rule, "a `sequence` rule", &rule.span));
        }
    }
    let mut emit = Emit {
        rule,
        graph,
        vars: 0,
    };
    let cond = emit.cond(&rule.cond, &Scope::Record)?;
    let view = if graph {
        &options.graph_table
    } else {
        &options.table
    };
    let id = if graph { "requestId" } else { "id" };
    let (time, upn) = if graph {
        (
            emit.text_of("timeGenerated")?,
            "CAST(NULL AS STRING)".to_string(),
        )
    } else {
        (
            emit.text_of("createdDateTime")?,
            emit.text_of("userPrincipalName")?,
        )
    };
    Ok(format!(
        "SELECT {rule_id} AS ruleId, properties.`{id}` AS id, {time} AS time, {upn} AS userPrincipalName, {ip} AS ipAddress, category\nFROM {view}\nWHERE {logs}\n  AND {cond}",
        rule_id = string_literal(&rule.info.id),
        ip = emit.text_of("ipAddress")?,
        view = quote_ident(view),
        logs = log_filter(&rule.logs),
    ))
}

/// `lower(category) IN (...)` for a rule's logs.
fn log_filter(logs: &[LogCategory]) -> String {
    let names: Vec<String> = logs
        .iter()
        .flat_map(|l| categories(l).iter())
        .map(|c| string_literal(c))
        .collect();
    if names.is_empty() {
        "false".into()
    } else {
        format!("lower(category) IN ({})", names.join(", "))
    }
}

fn unsupported(rule: &CheckedRule, construct: &str, span: &Span) -> Unsupported {
    Unsupported {
        rule: rule.info.id.to_string(),
        construct: construct.to_string(),
        span: span.clone(),
    }
}

/// A Spark SQL string literal (backslash escapes, as Spark reads them).
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Where a condition's paths start.
#[derive(Debug, Clone)]
enum Scope {
    /// The record: `properties` and the envelope.
    Record,
    /// An element of a list, bound to a lambda variable, with its fields
    /// (empty for a list of scalars).
    Element {
        var: String,
        fields: &'static [Field],
        /// The element's own field, for a list of scalars.
        field: Option<&'static Field>,
    },
}

struct Emit<'a> {
    rule: &'a CheckedRule,
    graph: bool,
    vars: usize,
}

/// A value at the end of a path: its expression and field.
struct Leaf<'e> {
    expr: &'e str,
    field: Option<&'static Field>,
}

impl Emit<'_> {
    fn catalog(&self) -> &'static [Field] {
        if self.graph { GRAPH_ACTIVITY } else { SIGN_IN }
    }

    fn var(&mut self) -> String {
        self.vars += 1;
        format!("e{}", self.vars)
    }

    fn no(&self, construct: impl Into<String>, span: &Span) -> Unsupported {
        unsupported(self.rule, &construct.into(), span)
    }

    /// A top-level text field for the identity columns of a finding (the
    /// first value of a list is not needed: these are scalars).
    fn text_of(&mut self, name: &str) -> Result<String, Unsupported> {
        let field = self.catalog().iter().find(|f| f.name == name);
        match field {
            Some(f) => Ok(self.with_envelope(name, format!("properties.`{name}`"), f)),
            None => Ok("CAST(NULL AS STRING)".into()),
        }
    }

    /// The expression of a scalar path of the record, with the envelope
    /// column that fills it in when `properties` lacks it.
    fn with_envelope(&self, path: &str, expr: String, field: &Field) -> String {
        let table = if self.graph {
            GRAPH_ENVELOPE
        } else {
            SIGN_IN_ENVELOPE
        };
        match table.iter().find(|(p, _)| *p == path) {
            Some((_, column)) => {
                let column = format!("nullif(trim({column}), '')");
                let cast = match field.kind {
                    Kind::Integer => format!("try_cast({column} AS BIGINT)"),
                    Kind::Number => format!("try_cast({column} AS DOUBLE)"),
                    _ => column,
                };
                format!("coalesce({expr}, {cast})")
            }
            None => expr,
        }
    }

    fn cond(&mut self, cond: &Cond, scope: &Scope) -> Result<String, Unsupported> {
        Ok(match cond {
            Cond::All(children) if children.is_empty() => "true".into(),
            Cond::Any(children) if children.is_empty() => "false".into(),
            Cond::All(children) | Cond::Any(children) => {
                let joiner = if matches!(cond, Cond::All(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts = children
                    .iter()
                    .map(|c| self.cond(c, scope))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("({})", parts.join(joiner))
            }
            Cond::Not(child) => format!("(NOT {})", self.cond(child, scope)?),
            Cond::Pred(pred) => match pred.field_ref() {
                Some(_) => self.compare(pred, scope)?,
                None => self.pred(pred, scope)?,
            },
            Cond::Quant {
                quantifier,
                field,
                inner,
                span,
            } => self.quant(*quantifier, field, inner, span, scope)?,
        })
    }

    /// "Some value at the path satisfies `leaf`", two-valued: walks the
    /// path level by level, with `exists` over each list on the way.
    fn some_value(
        &mut self,
        scope: &Scope,
        resolved: &Resolved,
        span: &Span,
        leaf: &mut dyn FnMut(&mut Self, Leaf<'_>) -> Result<String, Unsupported>,
    ) -> Result<String, Unsupported> {
        if resolved.path.is_raw() {
            return Err(self.no(
                format!(
                    "`{}`: a `raw.` field has no column in the view's schema",
                    resolved.path
                ),
                span,
            ));
        }
        let segments: Vec<&str> = resolved.path.segments().iter().map(|s| &**s).collect();
        let (base, fields, element) = match scope {
            Scope::Record => ("properties".to_string(), self.catalog(), None),
            Scope::Element { var, fields, field } => (var.clone(), *fields, *field),
        };
        if segments.is_empty() {
            // The element of a list of scalars itself.
            let expr = base;
            let out = leaf(
                self,
                Leaf {
                    expr: &expr,
                    field: element,
                },
            )?;
            return Ok(format!("coalesce({out}, false)"));
        }
        let top = matches!(scope, Scope::Record);
        self.walk(
            &base,
            fields,
            &segments,
            top,
            &mut String::new(),
            span,
            leaf,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        base: &str,
        fields: &'static [Field],
        segments: &[&str],
        top: bool,
        dotted: &mut String,
        span: &Span,
        leaf: &mut dyn FnMut(&mut Self, Leaf<'_>) -> Result<String, Unsupported>,
    ) -> Result<String, Unsupported> {
        let Some((seg, rest)) = segments.split_first() else {
            return Ok("false".into());
        };
        let Some(field) = fields.iter().find(|f| f.name == *seg) else {
            return Err(self.no(format!("the field `{seg}`"), span));
        };
        if !dotted.is_empty() {
            dotted.push('.');
        }
        dotted.push_str(seg);
        let expr = format!("{base}.{}", quote_ident(seg));
        if field.list {
            let var = self.var();
            let inner = if rest.is_empty() {
                let out = leaf(
                    self,
                    Leaf {
                        expr: &var,
                        field: Some(field),
                    },
                )?;
                format!("coalesce({out}, false)")
            } else {
                // Below a list, no envelope fills anything in.
                self.walk(&var, field.children(), rest, false, dotted, span, leaf)?
            };
            return Ok(format!("coalesce(exists({expr}, {var} -> {inner}), false)"));
        }
        if rest.is_empty() {
            let expr = if top {
                self.with_envelope(dotted, expr, field)
            } else {
                expr
            };
            let out = leaf(
                self,
                Leaf {
                    expr: &expr,
                    field: Some(field),
                },
            )?;
            return Ok(format!("coalesce({out}, false)"));
        }
        self.walk(&expr, field.children(), rest, top, dotted, span, leaf)
    }

    fn quant(
        &mut self,
        quantifier: Quantifier,
        field: &Resolved,
        inner: &Cond,
        span: &Span,
        scope: &Scope,
    ) -> Result<String, Unsupported> {
        if field.path.is_raw() {
            return Err(self.no(format!("`{}`: a `raw.` list", field.path), span));
        }
        let Some(list_field) = field.field else {
            return Err(self.no(format!("`{}`", field.path), span));
        };
        let (mut expr, mut fields) = match scope {
            Scope::Record => ("properties".to_string(), self.catalog()),
            Scope::Element { var, fields, .. } => (var.clone(), *fields),
        };
        // The path to the list crosses objects only (as natively: a list on
        // the way makes the quantifier's list absent).
        let segments = field.path.segments();
        for (i, seg) in segments.iter().enumerate() {
            let Some(f) = fields.iter().find(|f| *f.name == **seg) else {
                return Err(self.no(format!("the field `{seg}`"), span));
            };
            if f.list && i + 1 < segments.len() {
                return Ok("false".into());
            }
            expr = format!("{expr}.{}", quote_ident(seg));
            fields = f.children();
        }
        // A single object is a list of one: its scope is the object itself.
        let var = if list_field.list {
            self.var()
        } else {
            expr.clone()
        };
        let element = Scope::Element {
            var: var.clone(),
            fields: list_field.children(),
            field: list_field.children().is_empty().then_some(list_field),
        };
        let body = self.cond(inner, &element)?;
        if !list_field.list {
            let body = match quantifier {
                Quantifier::None => format!("NOT {body}"),
                _ => body,
            };
            return Ok(format!("({expr} IS NOT NULL AND {body})"));
        }
        let test = match quantifier {
            Quantifier::Any => format!("exists({expr}, {var} -> {body})"),
            Quantifier::All => format!("forall({expr}, {var} -> {body})"),
            Quantifier::None => format!("NOT exists({expr}, {var} -> {body})"),
        };
        Ok(format!("({expr} IS NOT NULL AND {test})"))
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
                    Ok(any_of(&tests))
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
                let positive = matches!(pred.op, Op::Eq | Op::In);
                let set = match kind {
                    Kind::Integer | Kind::Number => {
                        let nums: Vec<String> = pred
                            .values
                            .iter()
                            .filter_map(const_number)
                            .map(double_literal)
                            .collect();
                        in_list(&format!("CAST({value} AS DOUBLE)"), &nums)
                    }
                    Kind::Boolean => {
                        let bools: Vec<String> = pred
                            .values
                            .iter()
                            .filter_map(const_bool)
                            .map(|b| b.to_string())
                            .collect();
                        in_list(&value, &bools)
                    }
                    Kind::DateTime => {
                        let ticks: Vec<String> = pred
                            .values
                            .iter()
                            .filter_map(|c| match c {
                                Const::Str(s) => time_ticks(s).map(|t| t.to_string()),
                                _ => None,
                            })
                            .collect();
                        in_list(&ticks_of(&value), &ticks)
                    }
                    _ => {
                        let texts: Vec<String> = pred
                            .values
                            .iter()
                            .filter_map(const_text)
                            .map(|s| fold_lit(&s))
                            .collect();
                        in_list(&fold(&value), &texts)
                    }
                };
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
                any_of(&parts)
            }
            Op::Matches => {
                let text = text_of(&value, kind);
                let mut parts = Vec::new();
                for v in &pred.values {
                    let Some(pattern) = const_text(v) else {
                        continue;
                    };
                    let pattern = java_regex(&pattern, pred.case_sensitive)
                        .map_err(|c| self.no(c, &pred.span))?;
                    parts.push(format!("({text} RLIKE {})", string_literal(&pattern)));
                }
                any_of(&parts)
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                let op = match pred.op {
                    Op::Gt => ">",
                    Op::Gte => ">=",
                    Op::Lt => "<",
                    _ => "<=",
                };
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

    /// A comparison of two fields of the record (or element).
    fn compare(&mut self, pred: &Pred, scope: &Scope) -> Result<String, Unsupported> {
        let Some(reference) = pred.field_ref() else {
            return Ok("false".into());
        };
        if reference.step.is_some() {
            return Err(self.no("a reference to a sequence step", &pred.span));
        }
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
                    let equal = this.some_value(scope, &other, &span, &mut |_, b| {
                        let b_kind = b.field.map_or(Kind::Dynamic, |f| f.kind);
                        let b_expr = typed(b.expr, b.field);
                        let test = pair_test(Op::Eq, cs, (&a_expr, a_kind), (&b_expr, b_kind));
                        Ok(format!("({} AND coalesce({test}, false))", present(b)))
                    })?;
                    Ok(format!("({a_present} AND {any_other} AND NOT {equal})"))
                }
                _ => {
                    let inner = this.some_value(scope, &other, &span, &mut |_, b| Ok(pair(b)))?;
                    Ok(format!("({a_present} AND {inner})"))
                }
            }
        })
    }
}

/// Whether a value counts as present: not null, and for text not blank
/// (Log Analytics writes a missing string column as empty text).
fn present(leaf: Leaf<'_>) -> String {
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
fn pair_test(op: Op, cs: bool, a: (&str, Kind), b: (&str, Kind)) -> String {
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
            let sym = match op {
                Op::Gt => ">",
                Op::Gte => ">=",
                Op::Lt => "<",
                _ => "<=",
            };
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
fn typed(expr: &str, field: Option<&'static Field>) -> String {
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
fn text_of(value: &str, kind: Kind) -> String {
    match kind {
        Kind::String | Kind::DateTime | Kind::Dynamic => value.to_string(),
        _ => format!("CAST({value} AS STRING)"),
    }
}

fn in_list(value: &str, items: &[String]) -> String {
    if items.is_empty() {
        "false".into()
    } else {
        format!("({value} IN ({}))", items.join(", "))
    }
}

fn any_of(parts: &[String]) -> String {
    match parts {
        [] => "false".into(),
        [one] => one.clone(),
        _ => format!("({})", parts.join(" OR ")),
    }
}

/// Ticks of 100 ns since 1970 of a date-time text: microseconds as Spark
/// parses them, and the seventh fraction digit from the text.
fn ticks_of(value: &str) -> String {
    format!(
        "(unix_micros(try_to_timestamp({value})) * 10 + coalesce(try_cast(nullif(regexp_extract({value}, '\\\\.[0-9]{{6}}([0-9])', 1), '') AS BIGINT), 0))"
    )
}

/// Ticks of 100 ns since 1970 of a normalized date-time constant.
fn time_ticks(s: &str) -> Option<i64> {
    crate::time::parse(s).map(|ts| (ts.as_nanosecond() / 100) as i64)
}

/// `ip` is an IPv4 address in one of the ranges (inclusive bounds). The
/// address must be four decimal octets without leading zeros, as Rust's
/// parser (and so the native engine) reads them.
fn ipv4_in(ip: &str, ranges: &[(u32, u32)]) -> Option<String> {
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
fn ipv6_in(ip: &str, ranges: &[(String, String)]) -> Option<String> {
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

/// A rule pattern (Rust regex syntax) as a Java pattern that matches the
/// same texts: Unicode classes and case folding as Rust has them. Syntax
/// the two read differently is refused.
pub(crate) fn java_regex(pattern: &str, case_sensitive: bool) -> Result<String, String> {
    for (syntax, what) in [
        ("(?P<", "named groups written `(?P<name>...)`"),
        ("[[:", "POSIX classes such as `[[:alpha:]]`"),
        ("(?R", "`(?R` flags"),
        ("\\z", "`\\z`"),
        ("\\A", "`\\A`"),
        ("&&", "class intersection `&&`"),
        ("--", "class difference `--`"),
        ("~~", "class symmetric difference `~~`"),
        ("(?x", "the `x` flag"),
        ("\\pN", "`\\pN`"),
        ("\\pL", "`\\pL`"),
    ] {
        if pattern.contains(syntax) {
            return Err(format!("the pattern `{pattern}` uses {what}"));
        }
    }
    let flags = if case_sensitive { "(?U)" } else { "(?iU)" };
    Ok(format!("{flags}{pattern}"))
}
