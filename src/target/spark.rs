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
use crate::check::{CheckedRule, Cond, Const, CountCmp, Op, Pred, Quantifier, Shape};
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
        Shape::Window(w) => return window_query(rule, w, options),
        Shape::Sequence(seq) => return sequence_query(rule, seq, options),
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
    Ok(format!(
        "SELECT {rule_id} AS ruleId, properties.`{id}` AS id, {time} AS time, {upn} AS userPrincipalName, {ip} AS ipAddress, category\nFROM {view}\nWHERE {logs}\n  AND {cond}",
        rule_id = string_literal(&rule.info.id),
        ip = emit.text_of("ipAddress")?,
        view = quote_ident(view),
        logs = log_filter(&rule.logs),
    ))
}

/// The events of a multi-record rule (or of one step): the rows of its
/// logs that pass its condition and have a time and every key field, with
/// `_ticks` (the time in ticks of 100 ns), `_tie` (the record id, which
/// breaks ties in time), `_k0`... (the key, case-folded unless the rule
/// compares with case) and `_d0`... (the distinct fields, case-folded).
struct Events<'r> {
    rule: &'r CheckedRule,
    logs: &'r [LogCategory],
    cond: &'r Cond,
    key: &'r [Resolved],
    distinct: Vec<&'r Resolved>,
    case_sensitive: bool,
}

impl Events<'_> {
    fn sql(&self, options: &Options) -> Result<String, Unsupported> {
        let graph = self.logs.contains(&LogCategory::GraphActivity);
        if graph && self.logs.len() > 1 {
            return Err(unsupported(
                self.rule,
                "records of both Graph activity and sign-in logs in one step",
                &self.rule.span,
            ));
        }
        let mut emit = Emit {
            rule: self.rule,
            graph,
            vars: 0,
            steps: Vec::new(),
        };
        let cond = emit.cond(self.cond, &Scope::Record(String::new()))?;
        let (time, id) = if graph {
            (emit.text_of("timeGenerated")?, "properties.`requestId`")
        } else {
            (emit.text_of("createdDateTime")?, "properties.`id`")
        };
        let mut columns = vec![
            format!("{} AS _ticks", ticks_of(&time)),
            format!("lower(CAST({id} AS STRING)) AS _tie"),
            format!("{time} AS _time"),
        ];
        let mut present = vec!["_ticks IS NOT NULL".to_string()];
        for (i, field) in self.key.iter().enumerate() {
            let text = emit.scalar_text(field, &self.rule.span)?;
            let text = if self.case_sensitive {
                text
            } else {
                format!("lower({text})")
            };
            columns.push(format!("{text} AS _k{i}"));
            present.push(format!("_k{i} IS NOT NULL"));
        }
        for (i, field) in self.distinct.iter().enumerate() {
            let text = emit.scalar_text(field, &self.rule.span)?;
            columns.push(format!("lower({text}) AS _d{i}"));
        }
        let view = if graph {
            &options.graph_table
        } else {
            &options.table
        };
        Ok(format!(
            "SELECT * FROM (\n    SELECT *, {}\n    FROM {}\n    WHERE {}\n      AND {cond}\n  ) WHERE {}",
            columns.join(", "),
            quote_ident(view),
            log_filter(self.logs),
            present.join(" AND ")
        ))
    }
}

/// The ISO 8601 UTC text of a time in ticks (Spark's session time zone
/// must be UTC, as the PySpark driver sets it).
fn iso(ticks: &str) -> String {
    format!(
        "concat(date_format(timestamp_micros(div({ticks}, 10)), \"yyyy-MM-dd'T'HH:mm:ss.SSSSSS\"), CAST(pmod({ticks}, 10) AS STRING), 'Z')"
    )
}

/// A threshold as SQL on a count.
fn threshold(count: &str, t: &crate::check::Threshold) -> String {
    let op = match t.cmp {
        CountCmp::Gt => ">",
        CountCmp::Gte => ">=",
        CountCmp::Lt => "<",
        CountCmp::Lte => "<=",
        CountCmp::Eq => "=",
    };
    format!("{count} {op} {}", t.value)
}

/// The column name of a group-key field in the rows: its canonical name
/// with `.` written `_`.
fn key_column(field: &Resolved) -> String {
    field.path.to_string().replace('.', "_")
}

/// The rows of a multi-record rule's groups: the first window (in time)
/// of each group that has one, from `hits` (a query with the key columns,
/// `_start` and `_end` in ticks, and `_endTie`).
fn first_per_group(rule: &CheckedRule, names: &[String], hits: &str, ctes: &str) -> String {
    let keys: Vec<String> = (0..names.len()).map(|i| format!("_k{i}")).collect();
    let partition = if keys.is_empty() {
        String::new()
    } else {
        format!("PARTITION BY {} ", keys.join(", "))
    };
    let mut columns = vec![format!("{} AS ruleId", string_literal(&rule.info.id))];
    for (i, name) in names.iter().enumerate() {
        columns.push(format!("_k{i} AS {}", quote_ident(name)));
    }
    columns.push(format!("{} AS windowStart", iso("_start")));
    columns.push(format!("{} AS windowEnd", iso("_end")));
    format!(
        "WITH {ctes},\nhits AS (\n{hits}\n),\nfirst AS (\n  SELECT *, row_number() OVER ({partition}ORDER BY _end, _endTie) AS _rn FROM hits\n)\nSELECT {}\nFROM first\nWHERE _rn = 1",
        columns.join(", ")
    )
}

/// A `window` rule: a group has a finding when some record's window (the
/// records of its group within `span` before it, in time and tie order)
/// meets the thresholds. That is when the native engine's first episode
/// completes, so the groups are the same; one row per group (later
/// episodes depend on which records earlier ones consumed, which SQL does
/// not follow).
fn window_query(
    rule: &CheckedRule,
    w: &crate::check::Window,
    options: &Options,
) -> Result<String, Unsupported> {
    let events = Events {
        rule,
        logs: &rule.logs,
        cond: &rule.cond,
        key: &w.group_by,
        distinct: w.distinct.iter().map(|(f, _)| f).collect(),
        case_sensitive: w.case_sensitive,
    };
    let ev = events.sql(options)?;
    let keys: Vec<String> = (0..w.group_by.len()).map(|i| format!("r._k{i}")).collect();
    let mut on: Vec<String> = (0..w.group_by.len())
        .map(|i| format!("s._k{i} = r._k{i}"))
        .collect();
    on.push(format!(
        "s._ticks BETWEEN r._ticks - {} AND r._ticks",
        w.span.ticks
    ));
    on.push("(s._ticks < r._ticks OR s._tie <= r._tie)".into());
    let mut aggregates = vec![
        "min(s._ticks) AS _start".to_string(),
        "count(*) AS _n".into(),
    ];
    let mut having = Vec::new();
    if let Some(t) = &w.count {
        having.push(threshold("count(*)", t));
    }
    for (i, (_, t)) in w.distinct.iter().enumerate() {
        aggregates.push(format!("count(DISTINCT s._d{i}) AS _n{i}"));
        having.push(threshold(&format!("count(DISTINCT s._d{i})"), t));
    }
    let mut group = keys.clone();
    group.extend(["r._ticks".to_string(), "r._tie".to_string()]);
    let mut select = keys.clone();
    select.extend([
        "r._ticks AS _end".to_string(),
        "r._tie AS _endTie".to_string(),
    ]);
    select.extend(aggregates);
    let hits = format!(
        "  SELECT {}\n  FROM ev r JOIN ev s ON {}\n  GROUP BY {}\n  HAVING {}",
        select.join(", "),
        on.join(" AND "),
        group.join(", "),
        if having.is_empty() {
            "true".into()
        } else {
            having.join(" AND ")
        }
    );
    let names: Vec<String> = w.group_by.iter().map(key_column).collect();
    Ok(first_per_group(
        rule,
        &names,
        &hits,
        &format!("ev AS (\n  {ev}\n)"),
    ))
}

/// A `sequence` rule, in the shape the native engine decides exactly and
/// SQL can say: two steps in order, the first with at least N records, the
/// second with one, no absent step. A group has a finding when some record
/// of the second step has N records of the first (not itself) at or before
/// it within `span`, each meeting the second step's `where` with it.
fn sequence_query(
    rule: &CheckedRule,
    seq: &crate::check::Sequence,
    options: &Options,
) -> Result<String, Unsupported> {
    let no = |what: &str| Err(unsupported(rule, what, &seq.span.span));
    if seq.steps.iter().any(|s| s.absent) {
        return no(
            "a sequence with an `absent` step (whether it holds depends on which records earlier candidates consumed)",
        );
    }
    if !seq.ordered {
        return no("a sequence with `ordered: false`");
    }
    let [first, second] = seq.steps.as_slice() else {
        return no("a sequence of more than two steps");
    };
    let Some(need) = first.count.at_least() else {
        return no("a first step without an at-least count");
    };
    if second.count.at_least() != Some(1) {
        return no("a last step that needs more than one record");
    }
    let a = Events {
        rule,
        logs: &first.logs,
        cond: &first.cond,
        key: &first.key,
        distinct: Vec::new(),
        case_sensitive: seq.case_sensitive,
    }
    .sql(options)?;
    let b = Events {
        rule,
        logs: &second.logs,
        cond: &second.cond,
        key: &second.key,
        distinct: Vec::new(),
        case_sensitive: seq.case_sensitive,
    }
    .sql(options)?;
    let mut on: Vec<String> = (0..second.key.len())
        .map(|i| format!("a._k{i} = b._k{i}"))
        .collect();
    on.push(format!(
        "a._ticks BETWEEN b._ticks - {} AND b._ticks",
        seq.span.ticks
    ));
    on.push("NOT (a._ticks = b._ticks AND a._tie = b._tie)".into());
    if let Some(cond) = &second.where_ {
        let mut emit = Emit {
            rule,
            graph: second.logs.contains(&LogCategory::GraphActivity),
            vars: 0,
            steps: vec![(first.name.clone(), "a.".into())],
        };
        on.push(emit.cond(cond, &Scope::Record("b.".into()))?);
    }
    let keys: Vec<String> = (0..second.key.len()).map(|i| format!("b._k{i}")).collect();
    let mut select = keys.clone();
    select.extend([
        "b._ticks AS _end".to_string(),
        "b._tie AS _endTie".to_string(),
        "min(a._ticks) AS _start".to_string(),
    ]);
    let mut group = keys;
    group.extend(["b._ticks".to_string(), "b._tie".to_string()]);
    let hits = format!(
        "  SELECT {}\n  FROM b JOIN a ON {}\n  GROUP BY {}\n  HAVING count(*) >= {need}",
        select.join(", "),
        on.join(" AND "),
        group.join(", ")
    );
    let names: Vec<String> = match &seq.group_by {
        Some(fields) => fields.iter().map(key_column).collect(),
        None => second.key.iter().map(key_column).collect(),
    };
    Ok(first_per_group(
        rule,
        &names,
        &hits,
        &format!("a AS (\n  {a}\n),\nb AS (\n  {b}\n)"),
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

    fn no(&self, construct: impl Into<String>, span: &Span) -> Unsupported {
        unsupported(self.rule, &construct.into(), span)
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
