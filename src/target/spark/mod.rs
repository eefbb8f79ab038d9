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

mod leaf;
mod multi;

use leaf::{text_of, ticks_of, typed};
use multi::iso;
use multi::{sequence_query, window_query};

use std::fmt::Write as _;

use crate::catalog::{Field, GRAPH_ACTIVITY, Kind, Resolved, SIGN_IN};
use crate::check::{CheckedRule, Piece, Quantifier, Shape};
use crate::diag::Span;
use crate::record::LogCategory;
use crate::target::plan::{CondWriter, Leaves, Quant};

use super::{Options, Unsupported, categories, unsupported};

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
    match &rule.shape {
        Shape::Single => {}
        Shape::Window(w) => return window_query(rule, w, options),
        Shape::Sequence(seq) => return sequence_query(rule, seq, options),
    }
    let graph = rule.logs.contains(&LogCategory::GraphActivity);
    if graph && rule.logs.len() > 1 {
        return Err(unsupported(
            rule,
            "a rule over both Graph activity and sign-in logs",
            &rule.span,
        ));
    }
    let mut emit = Emit {
        rule,
        graph,
        vars: 0,
        steps: Vec::new(),
    };
    let cond = emit.cond(&rule.cond, &Scope::Record(String::new()))?;
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
    let message = match emit.message() {
        Some(m) => format!(", {m} AS message"),
        None => String::new(),
    };
    Ok(format!(
        "SELECT {rule_id} AS ruleId, properties.`{id}` AS id, {time} AS time, {upn} AS userPrincipalName, {ip} AS ipAddress, category{message}\nFROM {view}\nWHERE {logs}\n  AND {cond}",
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
    /// The record: `properties` and the envelope, their columns prefixed
    /// (`b.` in a join of two records, else empty).
    Record(String),
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
    /// Earlier sequence steps a `where` may read, with the prefix of their
    /// record's columns.
    steps: Vec<(String, String)>,
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

    /// A top-level text field for the identity columns of a finding (the
    /// first value of a list is not needed: these are scalars).
    fn text_of(&mut self, name: &str) -> Result<String, Unsupported> {
        let field = self.catalog().iter().find(|f| f.name == name);
        match field {
            Some(f) => Ok(self.with_envelope("", name, format!("properties.`{name}`"), f)),
            None => Ok("CAST(NULL AS STRING)".into()),
        }
    }

    /// The expression of a scalar path of the record, with the envelope
    /// column that fills it in when `properties` lacks it.
    fn with_envelope(&self, prefix: &str, path: &str, expr: String, field: &Field) -> String {
        let table = if self.graph {
            GRAPH_ENVELOPE
        } else {
            SIGN_IN_ENVELOPE
        };
        match table.iter().find(|(p, _)| *p == path) {
            Some((_, column)) => {
                let column = format!("nullif(trim({prefix}{column}), '')");
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

    /// The rule's message as the native engine renders it, when every
    /// field it names holds scalars (through lists or not: each value,
    /// blank ones left out, joined with `, `; `-` when none); `None`
    /// otherwise, and the rows have no message.
    fn message(&mut self) -> Option<String> {
        let mut parts = Vec::new();
        for piece in &self.rule.message {
            match piece {
                Piece::Text(t) => parts.push(string_literal(t)),
                Piece::Field(field) if !field.path.is_raw() => {
                    let (expr, f, list) = self.values_of(&field.path)?;
                    // Date-times show in their normal form.
                    let shown = |v: &str| match f.kind {
                        Kind::DateTime => format!("coalesce({}, {v})", iso(&ticks_of(v))),
                        _ => text_of(&typed(v, Some(f)), f.kind),
                    };
                    let values = if list {
                        format!(
                            "array_join(filter(transform({expr}, v -> {}), v -> v <> ''), ', ')",
                            shown("v")
                        )
                    } else {
                        shown(&expr)
                    };
                    parts.push(format!("coalesce(nullif({values}, ''), '-')"));
                }
                _ => return None,
            }
        }
        Some(if parts.is_empty() {
            "''".to_string()
        } else {
            format!("concat({})", parts.join(", "))
        })
    }

    /// The values at a path of the record: a scalar expression, or (when
    /// the path crosses lists) an array of every value; `None` when the
    /// path ends on an object.
    fn values_of(
        &self,
        path: &crate::catalog::FieldPath,
    ) -> Option<(String, &'static Field, bool)> {
        let mut fields = self.catalog();
        let mut expr = "properties".to_string();
        let mut list = false;
        let mut found = None;
        for seg in path.segments() {
            let f = fields.iter().find(|f| *f.name == **seg)?;
            let name = quote_ident(seg);
            expr = match (list, f.list) {
                (false, _) => format!("{expr}.{name}"),
                (true, false) => format!("transform({expr}, x -> x.{name})"),
                (true, true) => format!(
                    "flatten(transform({expr}, x -> coalesce(x.{name}, CAST(array() AS {}))))",
                    field_type(f)
                ),
            };
            list |= f.list;
            fields = f.children();
            found = Some(f);
        }
        let f = found?;
        if matches!(f.kind, Kind::Object(_)) {
            return None;
        }
        if !list {
            expr = self.with_envelope("", &path.to_string(), expr, f);
        }
        Some((expr, f, list))
    }

    /// The text of a scalar field of the record (a group key or distinct
    /// field), null when absent or blank.
    fn scalar_text(&mut self, field: &Resolved, span: &Span) -> Result<String, Unsupported> {
        if field.path.is_raw() {
            return Err(self.no(format!("`{}`: a `raw.` key field", field.path), span));
        }
        let mut fields = self.catalog();
        let mut expr = "properties".to_string();
        let mut found = None;
        for seg in field.path.segments() {
            let Some(f) = fields.iter().find(|f| *f.name == **seg) else {
                return Err(self.no(format!("the field `{seg}`"), span));
            };
            if f.list {
                return Err(self.no(format!("the list `{}` as a key", field.path), span));
            }
            expr = format!("{expr}.{}", quote_ident(seg));
            fields = f.children();
            found = Some(f);
        }
        let Some(f) = found else {
            return Err(self.no(format!("`{}`", field.path), span));
        };
        let expr = self.with_envelope("", &field.path.to_string(), expr, f);
        let text = text_of(&typed(&expr, Some(f)), f.kind);
        Ok(format!(
            "CASE WHEN {text} RLIKE '(?U)\\\\S' THEN {text} END"
        ))
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
            Scope::Record(prefix) => (format!("{prefix}properties"), self.catalog(), None),
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
        let top = match scope {
            Scope::Record(prefix) => Some(prefix.as_str()),
            Scope::Element { .. } => None,
        };
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
        top: Option<&str>,
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
                self.walk(&var, field.children(), rest, None, dotted, span, leaf)?
            };
            return Ok(format!("coalesce(exists({expr}, {var} -> {inner}), false)"));
        }
        if rest.is_empty() {
            let expr = match top {
                Some(prefix) => self.with_envelope(prefix, dotted, expr, field),
                None => expr,
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
}

impl CondWriter for Emit<'_> {
    const AND: &'static str = " AND ";
    const OR: &'static str = " OR ";
    const NOT: [&'static str; 2] = ["(NOT ", ")"];

    fn quant(&mut self, q: Quant<'_>, scope: &Scope) -> Result<String, Unsupported> {
        let (quantifier, field, inner, span) = (q.quantifier, q.field, q.inner, q.span);
        if field.path.is_raw() {
            return Err(self.no(format!("`{}`: a `raw.` list", field.path), span));
        }
        let Some(list_field) = field.field else {
            return Err(self.no(format!("`{}`", field.path), span));
        };
        let (mut expr, mut fields) = match scope {
            Scope::Record(prefix) => (format!("{prefix}properties"), self.catalog()),
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
}
