//! KQL over the Log Analytics tables.
//!
//! One pipeline per table of the rule's logs, unioned: the tables type the
//! same column differently (`ConditionalAccessPolicies` is dynamic in
//! `SigninLogs` and JSON text in the other sign-in tables), so each
//! pipeline reads its table's columns as that table holds them, parsing
//! JSON held in strings with `todynamic`. The column names and types are
//! those of [`TABLES`], Microsoft's reference for the five tables.
//!
//! Values through lists are existential, as natively: each list the
//! condition reads is expanded once with `mv-apply`, which counts the
//! elements that pass; the condition then compares the counts. Every leaf
//! is two-valued (a missing value makes it false), so `not` means what it
//! means natively. Log Analytics writes a missing text column as empty
//! text, so empty text is absent here, as the native engine reads it in
//! that shape.

use std::fmt::Write as _;
use std::sync::LazyLock;

use crate::catalog::{Field, GRAPH_ACTIVITY, Kind, Resolved, SIGN_IN};
use crate::check::{CheckedRule, Cond, Const, CountCmp, Op, Pred, Prepared, Quantifier, Shape};
use crate::diag::Span;
use crate::record::LogCategory;

use super::{Unsupported, const_bool, const_number, const_text, double_literal};

/// The five tables' columns, as Microsoft's Azure Monitor reference gives
/// them (see the file for where each comes from).
pub const TABLES: &str = include_str!("../../schemas/log-analytics-tables.json");

/// A table: its name and its columns with their Kusto types.
#[derive(Debug, Clone)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Columns and types.
    pub columns: Vec<(String, String)>,
}

/// The tables, read once from [`TABLES`].
pub static SCHEMA: LazyLock<Vec<Table>> = LazyLock::new(|| {
    let doc: serde_json::Value = serde_json::from_str(TABLES).unwrap_or_default();
    let Some(tables) = doc.get("tables").and_then(|t| t.as_object()) else {
        return Vec::new();
    };
    tables
        .iter()
        .map(|(name, cols)| Table {
            name: name.clone(),
            columns: cols
                .as_array()
                .map(|cols| {
                    cols.iter()
                        .filter_map(|c| {
                            let c = c.as_array()?;
                            Some((
                                c.first()?.as_str()?.to_string(),
                                c.get(1)?.as_str()?.to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
});

/// The tables' schema for the JSON document.
pub fn schema() -> serde_json::Value {
    serde_json::from_str(TABLES).unwrap_or_default()
}

/// The Log Analytics table of a log.
pub fn table_of(log: &LogCategory) -> Option<&'static str> {
    Some(match log {
        LogCategory::Interactive => "SigninLogs",
        LogCategory::NonInteractive => "AADNonInteractiveUserSignInLogs",
        LogCategory::ServicePrincipal => "AADServicePrincipalSignInLogs",
        LogCategory::ManagedIdentity => "AADManagedIdentitySignInLogs",
        LogCategory::GraphActivity => "MicrosoftGraphActivityLogs",
        LogCategory::Other(_) => return None,
    })
}

/// Flat Log Analytics columns that hold a field of an object, and the
/// object column that holds it too (read when the flat one is empty).
const FLAT: &[(&str, &str)] = &[
    ("status.errorCode", "ResultType"),
    ("status.failureReason", "ResultDescription"),
    ("location.countryOrRegion", "Location"),
];

/// The KQL query of one rule: the rows of its findings, with `ruleId`,
/// the sign-in's `id` and the identity columns.
pub fn query(rule: &CheckedRule) -> Result<String, Unsupported> {
    match &rule.shape {
        Shape::Single => {}
        Shape::Window(w) => return window_query(rule, w),
        Shape::Sequence(seq) => return sequence_query(rule, seq),
    }
    let mut parts = Vec::new();
    for log in &rule.logs {
        parts.push(pipeline(rule, log, table_for(rule, log)?)?);
    }
    Ok(union(&parts))
}

/// The declared table of a log.
fn table_for(rule: &CheckedRule, log: &LogCategory) -> Result<&'static Table, Unsupported> {
    let Some(name) = table_of(log) else {
        return Err(unsupported(rule, &format!("the log `{log}`"), &rule.span));
    };
    SCHEMA.iter().find(|t| t.name == name).ok_or_else(|| {
        unsupported(
            rule,
            &format!("the table `{name}` (no declared schema)"),
            &rule.span,
        )
    })
}

/// One pipeline, or the union of several.
fn union(parts: &[String]) -> String {
    match parts {
        [one] => one.clone(),
        _ => {
            let inner: Vec<String> = parts
                .iter()
                .map(|p| format!("({})", p.replace('\n', "\n    ")))
                .collect();
            format!("union\n    {}", inner.join(",\n    "))
        }
    }
}

/// The events of a multi-record rule (or step) from each of its tables,
/// projected to the same columns: `_ticks` (the time in ticks of 100 ns),
/// `_tie` (the record id), `_k0`... (the key, case-folded unless the rule
/// compares with case), `_d0`... (distinct fields, case-folded) and `_w0`...
/// (fields a later step's `where` compares with).
struct Events<'r> {
    rule: &'r CheckedRule,
    logs: &'r [LogCategory],
    cond: &'r Cond,
    key: &'r [Resolved],
    distinct: Vec<&'r Resolved>,
    compared: Vec<&'r Resolved>,
    case_sensitive: bool,
}

impl Events<'_> {
    fn kql(&self) -> Result<String, Unsupported> {
        let mut parts = Vec::new();
        for log in self.logs {
            let table = table_for(self.rule, log)?;
            let graph = *log == LogCategory::GraphActivity;
            let mut emit = Emit {
                rule: self.rule,
                table,
                graph,
                vars: 0,
                steps: Vec::new(),
            };
            let cond = emit.cond(self.cond, &Scope::Record)?;
            let time = if graph {
                "TimeGenerated"
            } else {
                "CreatedDateTime"
            };
            let time = emit
                .column_of(time)
                .map_or_else(|| "datetime(null)".to_string(), |(c, _)| c);
            let id = if graph { "RequestId" } else { "Id" };
            let id = emit
                .column_of(id)
                .map_or_else(|| "\"\"".to_string(), |(c, _)| c);
            let mut columns = vec![
                format!("_ticks = tolong(todatetime({time}) - datetime(1970-01-01))"),
                format!("_tie = tolower(tostring({id}))"),
            ];
            let mut present = vec!["isnotnull(_ticks)".to_string()];
            for (i, field) in self.key.iter().enumerate() {
                let text = emit.scalar_text(field)?;
                let text = if self.case_sensitive {
                    text
                } else {
                    format!("tolower({text})")
                };
                columns.push(format!("_k{i} = {text}"));
                present.push(format!("isnotempty(trim(@\"\\s+\", _k{i}))"));
            }
            for (i, field) in self.distinct.iter().enumerate() {
                let text = emit.scalar_text(field)?;
                columns.push(format!("_d{i} = tolower({text})"));
            }
            for (i, field) in self.compared.iter().enumerate() {
                columns.push(format!("_w{i} = {}", emit.scalar_text(field)?));
            }
            let mut out = table.name.clone();
            for step in &emit.steps {
                let _ = write!(out, "\n| {step}");
            }
            let names: Vec<String> = columns
                .iter()
                .filter_map(|c| c.split(" = ").next())
                .map(str::to_string)
                .collect();
            let _ = write!(
                out,
                "\n| where {cond}\n| extend {}\n| where {}\n| project {}",
                columns.join(", "),
                present.join(" and "),
                names.join(", ")
            );
            parts.push(out);
        }
        Ok(union(&parts))
    }
}

/// A time in ticks as ISO 8601 UTC text.
fn iso(ticks: &str) -> String {
    let t = format!("(datetime(1970-01-01) + {ticks} * 1tick)");
    format!(
        "strcat(format_datetime({t}, \"yyyy-MM-dd\"), \"T\", format_datetime({t}, \"HH:mm:ss.fffffff\"), \"Z\")"
    )
}

fn threshold(count: &str, t: &crate::check::Threshold) -> String {
    let op = match t.cmp {
        CountCmp::Gt => ">",
        CountCmp::Gte => ">=",
        CountCmp::Lt => "<",
        CountCmp::Lte => "<=",
        CountCmp::Eq => "==",
    };
    format!("{count} {op} {}", t.value)
}

fn key_column(field: &Resolved) -> String {
    field.path.to_string().replace('.', "_")
}

/// The first window (in time) of each group that has one, from `hits`
/// (rows with the key columns, `_start`, `_end` and `_endTie`).
fn first_per_group(rule: &CheckedRule, names: &[String], hits: &str) -> String {
    let keys: Vec<String> = (0..names.len()).map(|i| format!("_k{i}")).collect();
    let by = if keys.is_empty() {
        String::new()
    } else {
        format!(" by {}", keys.join(", "))
    };
    let mut columns = vec![format!("ruleId = {}", string_literal(&rule.info.id))];
    for (i, name) in names.iter().enumerate() {
        columns.push(format!("['{name}'] = _k{i}"));
    }
    columns.push(format!("windowStart = {}", iso("_start")));
    columns.push(format!("windowEnd = {}", iso("_end")));
    format!(
        "{hits}\n| summarize arg_min(_order, *){by}\n| project {}",
        columns.join(", ")
    )
}

/// A `window` rule, as in Spark SQL: a group has a finding when some
/// record's window (its group's records within `span` before it, in time
/// and tie order) meets the thresholds; one row per group, its first such
/// window.
fn window_query(rule: &CheckedRule, w: &crate::check::Window) -> Result<String, Unsupported> {
    let ev = Events {
        rule,
        logs: &rule.logs,
        cond: &rule.cond,
        key: &w.group_by,
        distinct: w.distinct.iter().map(|(f, _)| f).collect(),
        compared: Vec::new(),
        case_sensitive: w.case_sensitive,
    }
    .kql()?;
    let keys: Vec<String> = (0..w.group_by.len()).map(|i| format!("_k{i}")).collect();
    let mut right = vec!["_sticks = _ticks".to_string(), "_stie = _tie".into()];
    right.extend(keys.iter().cloned());
    for i in 0..w.distinct.len() {
        right.push(format!("_sd{i} = _d{i}"));
    }
    let on = if keys.is_empty() {
        // One group: join every record with every other.
        "$left._one == $right._one".to_string()
    } else {
        keys.join(", ")
    };
    let one = if keys.is_empty() {
        "| extend _one = 1\n"
    } else {
        ""
    };
    let mut aggregates = vec!["_start = min(_sticks)".to_string(), "_n = count()".into()];
    let mut having = Vec::new();
    if let Some(t) = &w.count {
        having.push(threshold("_n", t));
    }
    for (i, (_, t)) in w.distinct.iter().enumerate() {
        aggregates.push(format!(
            "_n{i} = array_length(make_set_if(_sd{i}, isnotempty(_sd{i})))"
        ));
        having.push(threshold(&format!("_n{i}"), t));
    }
    let mut by = keys.clone();
    by.extend(["_ticks".to_string(), "_tie".to_string()]);
    let right_one = if keys.is_empty() { ", _one = 1" } else { "" };
    let hits = format!(
        "let ev = materialize(\n{}\n);\nev\n{one}| join kind=inner (ev | project {}{right_one}) on {on}\n| where _sticks between ((_ticks - {}) .. _ticks) and (_sticks < _ticks or strcmp(_stie, _tie) <= 0)\n| summarize {} by {}\n| where {}\n| extend _end = _ticks, _endTie = _tie, _order = strcat(format_datetime(datetime(1970-01-01) + _ticks * 1tick, \"yyyy-MM-dd HH:mm:ss.fffffff\"), \" \", _tie)",
        ev,
        right.join(", "),
        w.span.ticks,
        aggregates.join(", "),
        by.join(", "),
        if having.is_empty() {
            "true".to_string()
        } else {
            having.join(" and ")
        }
    );
    let names: Vec<String> = w.group_by.iter().map(key_column).collect();
    Ok(first_per_group(rule, &names, &hits))
}

/// A `sequence` rule in the shape Spark SQL takes too (two steps in order,
/// the first with at least N records, the second with one, no absent
/// step), whose `where` compares fields of the second step with fields of
/// the first.
fn sequence_query(rule: &CheckedRule, seq: &crate::check::Sequence) -> Result<String, Unsupported> {
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
    // The `where`: comparisons of a field of the second step's record with
    // a field of the first's, ANDed.
    let mut pairs: Vec<(&Pred, &Resolved)> = Vec::new();
    let mut own: Vec<Cond> = vec![second.cond.clone()];
    for part in second.where_.iter().flat_map(Cond::conjuncts) {
        match part {
            Cond::Pred(p)
                if p.field_ref()
                    .is_some_and(|r| r.step.as_deref() == Some(&first.name)) =>
            {
                if let Some(r) = p.field_ref() {
                    pairs.push((p, &r.field));
                }
            }
            other if other.steps_read().is_empty() => own.push(other.clone()),
            other => {
                let span = match other {
                    Cond::Pred(p) => p.span.clone(),
                    Cond::Quant { span, .. } => span.clone(),
                    _ => second.span.clone(),
                };
                return Err(unsupported(
                    rule,
                    "a `where` condition other than fields compared with fields of the first step",
                    &span,
                ));
            }
        }
    }
    let own = Cond::All(own);
    let a = Events {
        rule,
        logs: &first.logs,
        cond: &first.cond,
        key: &first.key,
        distinct: Vec::new(),
        compared: pairs.iter().map(|(_, f)| *f).collect(),
        case_sensitive: seq.case_sensitive,
    }
    .kql()?;
    let b = Events {
        rule,
        logs: &second.logs,
        cond: &own,
        key: &second.key,
        distinct: Vec::new(),
        compared: pairs.iter().map(|(p, _)| &p.field).collect(),
        case_sensitive: seq.case_sensitive,
    }
    .kql()?;
    let keys: Vec<String> = (0..second.key.len()).map(|i| format!("_k{i}")).collect();
    let mut right = vec!["_aticks = _ticks".to_string(), "_atie = _tie".into()];
    right.extend(keys.iter().cloned());
    let mut tests = vec![
        format!("_aticks between ((_ticks - {}) .. _ticks)", seq.span.ticks),
        "not(_aticks == _ticks and _atie == _tie)".to_string(),
    ];
    for (i, (p, other)) in pairs.iter().enumerate() {
        right.push(format!("_aw{i} = _w{i}"));
        let kind = |f: &Resolved| f.field.map_or(Kind::Dynamic, |f| f.kind);
        let test = pair_test(
            p.op,
            p.case_sensitive,
            (&format!("_w{i}"), kind(&p.field)),
            (&format!("_aw{i}"), kind(other)),
        );
        tests.push(format!(
            "(isnotempty(trim(@\"\\s+\", tostring(_w{i}))) and isnotempty(trim(@\"\\s+\", tostring(_aw{i}))) and {test})"
        ));
    }
    let on = if keys.is_empty() {
        "$left._one == $right._one".to_string()
    } else {
        keys.join(", ")
    };
    let (one, right_one) = if keys.is_empty() {
        ("| extend _one = 1\n", ", _one = 1")
    } else {
        ("", "")
    };
    let mut by = keys.clone();
    by.extend(["_ticks".to_string(), "_tie".to_string()]);
    let hits = format!(
        "let a = materialize(\n{a}\n);\nlet b = materialize(\n{b}\n);\nb\n{one}| join kind=inner (a | project {}{right_one}) on {on}\n| where {}\n| summarize _start = min(_aticks), _n = count() by {}\n| where _n >= {need}\n| extend _end = _ticks, _endTie = _tie, _order = strcat(format_datetime(datetime(1970-01-01) + _ticks * 1tick, \"yyyy-MM-dd HH:mm:ss.fffffff\"), \" \", _tie)",
        right.join(", "),
        tests.join(" and "),
        by.join(", "),
    );
    let names: Vec<String> = match &seq.group_by {
        Some(fields) => fields.iter().map(key_column).collect(),
        None => second.key.iter().map(key_column).collect(),
    };
    Ok(first_per_group(rule, &names, &hits))
}

fn pipeline(rule: &CheckedRule, log: &LogCategory, table: &Table) -> Result<String, Unsupported> {
    let graph = *log == LogCategory::GraphActivity;
    let mut emit = Emit {
        rule,
        table,
        graph,
        vars: 0,
        steps: Vec::new(),
    };
    let cond = emit.cond(&rule.cond, &Scope::Record)?;
    let mut out = table.name.clone();
    for step in &emit.steps {
        let _ = write!(out, "\n| {step}");
    }
    let _ = write!(out, "\n| where {cond}");
    let column = |name: &str| {
        emit.column_of(name)
            .map(|(c, _)| c)
            .unwrap_or_else(|| "\"\"".into())
    };
    let id = if graph {
        column("RequestId")
    } else {
        column("Id")
    };
    let time = if graph {
        column("TimeGenerated")
    } else {
        column("CreatedDateTime")
    };
    let upn = if graph {
        "\"\"".to_string()
    } else {
        column("UserPrincipalName")
    };
    let _ = write!(
        out,
        "\n| project ruleId = {}, id = tostring({id}), ['time'] = {time}, userPrincipalName = tostring({upn}), ipAddress = tostring({}), category = \"{}\"",
        string_literal(&rule.info.id),
        column("IPAddress"),
        table.name
    );
    Ok(out)
}

fn unsupported(rule: &CheckedRule, construct: &str, span: &Span) -> Unsupported {
    Unsupported {
        rule: rule.info.id.to_string(),
        construct: construct.to_string(),
        span: span.clone(),
    }
}

/// A KQL string literal.
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where a condition's paths start.
#[derive(Debug, Clone)]
enum Scope {
    /// The table's row.
    Record,
    /// An element of a list expanded by `mv-apply` (a dynamic value).
    Element {
        var: String,
        field: Option<&'static Field>,
    },
}

/// Builds the test of one value (its expression and field).
type LeafFn<'f, 'a> =
    dyn FnMut(&mut Emit<'a>, &str, Option<&'static Field>) -> Result<String, Unsupported> + 'f;

struct Emit<'a> {
    rule: &'a CheckedRule,
    table: &'a Table,
    graph: bool,
    vars: usize,
    /// Operators before the `where` at this level (`mv-apply`s).
    steps: Vec<String>,
}

impl<'a> Emit<'a> {
    fn catalog(&self) -> &'static [Field] {
        if self.graph { GRAPH_ACTIVITY } else { SIGN_IN }
    }

    fn no(&self, construct: impl Into<String>, span: &Span) -> Unsupported {
        unsupported(self.rule, &construct.into(), span)
    }

    /// The table's column for a name (exact, then ignoring case), with its
    /// Kusto type.
    fn column_of(&self, name: &str) -> Option<(String, String)> {
        let cols = &self.table.columns;
        cols.iter()
            .find(|(c, _)| c == name)
            .or_else(|| cols.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)))
            .cloned()
    }

    /// The column of a top-level field: one of its Log Analytics aliases,
    /// or its name in Pascal case.
    fn column_for(&self, field: &Field) -> Option<(String, String)> {
        field
            .aliases
            .iter()
            .copied()
            .chain(std::iter::once(field.name))
            .find_map(|name| self.column_of(name))
    }

    /// The text of a scalar field of the row (a key, a distinct field or
    /// a compared field); empty when absent.
    fn scalar_text(&self, field: &Resolved) -> Result<String, Unsupported> {
        let access = self.access(&Scope::Record, field, &self.rule.span)?;
        if access.list {
            return Err(self.no(
                format!("the list `{}` as a key", field.path),
                &self.rule.span,
            ));
        }
        Ok(format!("tostring({})", typed(&access.expr, access.field)))
    }

    fn cond(&mut self, cond: &Cond, scope: &Scope) -> Result<String, Unsupported> {
        Ok(match cond {
            Cond::All(children) if children.is_empty() => "true".into(),
            Cond::Any(children) if children.is_empty() => "false".into(),
            Cond::All(children) | Cond::Any(children) => {
                let joiner = if matches!(cond, Cond::All(_)) {
                    " and "
                } else {
                    " or "
                };
                let parts = children
                    .iter()
                    .map(|c| self.cond(c, scope))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("({})", parts.join(joiner))
            }
            Cond::Not(child) => format!("not({})", self.cond(child, scope)?),
            Cond::Pred(pred) if pred.field_ref().is_some() => self.compare(pred, scope)?,
            Cond::Pred(pred) => self.pred(pred, scope)?,
            Cond::Quant {
                quantifier,
                field,
                inner,
                span,
            } => self.quant(*quantifier, field, inner, span, scope)?,
        })
    }

    /// The expression of a path: `(expr, field, list)` for each level,
    /// walking objects; stops at the first list, returning the rest.
    fn access<'p>(
        &self,
        scope: &Scope,
        resolved: &'p Resolved,
        span: &Span,
    ) -> Result<Access<'p>, Unsupported> {
        if resolved.path.is_raw() {
            return Err(self.no(
                format!("`{}`: a `raw.` field has no declared column", resolved.path),
                span,
            ));
        }
        let segments: Vec<&str> = resolved.path.segments().iter().map(|s| &**s).collect();
        self.access_segments(scope, segments, span)
    }

    fn access_segments<'p>(
        &self,
        scope: &Scope,
        segments: Vec<&'p str>,
        span: &Span,
    ) -> Result<Access<'p>, Unsupported> {
        let (mut expr, mut fields, mut field) = match scope {
            Scope::Record => (String::new(), self.catalog(), None),
            Scope::Element { var, field } => {
                (var.clone(), field.map_or(&[][..], |f| f.children()), *field)
            }
        };
        let dotted = segments.join(".");
        for (i, seg) in segments.iter().enumerate() {
            let Some(f) = fields.iter().find(|f| f.name == *seg) else {
                return Err(self.no(format!("the field `{seg}`"), span));
            };
            if expr.is_empty() {
                // A top-level field: its column, parsed when it holds JSON
                // text for an object or list.
                let flat = FLAT
                    .iter()
                    .find(|(p, _)| *p == dotted)
                    .and_then(|(_, c)| self.column_of(c));
                if let (Some((col, _)), Scope::Record) = (flat, scope) {
                    // The flat column (text), or the object column's field
                    // when the flat one is empty.
                    let leaf = segments.last().copied().unwrap_or_default();
                    let field = f.children().iter().find(|c| c.name == leaf);
                    let expr = match self.column_for(f) {
                        Some((c, t)) => format!(
                            "iff(isempty({col}), tostring({}.{leaf}), tostring({col}))",
                            dynamic(&c, &t)
                        ),
                        None => col,
                    };
                    return Ok(Access {
                        expr,
                        field,
                        rest: Vec::new(),
                        list: false,
                    });
                }
                let Some((col, ty)) = self.column_for(f) else {
                    // The table has no such column: its rows lack the
                    // field, as the native engine reads them.
                    return Ok(Access {
                        expr: "dynamic(null)".into(),
                        field: leaf_field(f, &segments),
                        rest: Vec::new(),
                        list: false,
                    });
                };
                expr = if matches!(f.kind, Kind::Object(_)) || f.list {
                    dynamic(&col, &ty)
                } else {
                    col
                };
            } else {
                expr = format!("{expr}.{seg}");
            }
            field = Some(f);
            fields = f.children();
            if f.list {
                return Ok(Access {
                    expr,
                    field,
                    rest: segments.get(i + 1..).unwrap_or_default().to_vec(),
                    list: true,
                });
            }
        }
        Ok(Access {
            expr,
            field,
            rest: Vec::new(),
            list: false,
        })
    }

    /// "Some value at the path passes `leaf`": a scalar tested directly;
    /// through a list, an `mv-apply` that counts the passing elements.
    fn some_value(
        &mut self,
        scope: &Scope,
        resolved: &Resolved,
        span: &Span,
        leaf: &mut LeafFn<'_, 'a>,
    ) -> Result<String, Unsupported> {
        if let (Scope::Element { var, field }, true) = (scope, resolved.path.segments().is_empty())
        {
            let out = leaf(self, var, *field)?;
            return Ok(format!("coalesce({out}, false)"));
        }
        let access = self.access(scope, resolved, span)?;
        self.through(access, span, leaf)
    }

    fn through(
        &mut self,
        access: Access<'_>,
        span: &Span,
        leaf: &mut LeafFn<'_, 'a>,
    ) -> Result<String, Unsupported> {
        if !access.list {
            let out = leaf(self, &access.expr, access.field)?;
            return Ok(format!("coalesce({out}, false)"));
        }
        self.vars += 1;
        let n = self.vars;
        let var = format!("_e{n}");
        let count = format!("_q{n}");
        let element = Scope::Element {
            var: var.clone(),
            field: access.field,
        };
        let mut inner = Emit {
            rule: self.rule,
            table: self.table,
            graph: self.graph,
            vars: self.vars,
            steps: Vec::new(),
        };
        let test = if access.rest.is_empty() {
            let out = leaf(&mut inner, &var, access.field)?;
            format!("coalesce({out}, false)")
        } else {
            let below = inner.access_segments(&element, access.rest.clone(), span)?;
            inner.through(below, span, leaf)?
        };
        self.vars = inner.vars;
        let mut sub = String::new();
        for step in &inner.steps {
            let _ = write!(sub, "{step} | ");
        }
        let _ = write!(sub, "summarize {count} = countif({test})");
        self.steps.push(format!(
            "mv-apply {var} = {} to typeof(dynamic) on ({sub})",
            as_list(&access.expr)
        ));
        Ok(format!("coalesce({count} > 0, false)"))
    }

    fn quant(
        &mut self,
        quantifier: Quantifier,
        field: &Resolved,
        inner: &Cond,
        span: &Span,
        scope: &Scope,
    ) -> Result<String, Unsupported> {
        let access = self.access(scope, field, span)?;
        if !access.rest.is_empty() {
            // A list on the way to the quantifier's list: natively absent.
            return Ok("false".into());
        }
        self.vars += 1;
        let n = self.vars;
        let var = format!("_e{n}");
        let (count, total) = (format!("_q{n}"), format!("_n{n}"));
        let mut below = Emit {
            rule: self.rule,
            table: self.table,
            graph: self.graph,
            vars: self.vars,
            steps: Vec::new(),
        };
        let element = Scope::Element {
            var: var.clone(),
            field: access.field,
        };
        let test = below.cond(inner, &element)?;
        self.vars = below.vars;
        let mut sub = String::new();
        for step in &below.steps {
            let _ = write!(sub, "{step} | ");
        }
        let _ = write!(
            sub,
            "summarize {count} = countif({test}), {total} = count()"
        );
        self.steps.push(format!(
            "mv-apply {var} = {} to typeof(dynamic) on ({sub})",
            as_list(&access.expr)
        ));
        let present = format!("isnotnull({})", access.expr);
        Ok(match quantifier {
            Quantifier::Any => format!("({present} and {count} > 0)"),
            Quantifier::All => format!("({present} and {count} == {total})"),
            Quantifier::None => format!("({present} and {count} == 0)"),
        })
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
                let positive = matches!(pred.op, Op::Eq | Op::In);
                let (guard, set) = match kind {
                    Kind::Integer | Kind::Number => {
                        let v = format!("todouble({value})");
                        let nums: Vec<String> = pred
                            .values
                            .iter()
                            .filter_map(const_number)
                            .map(double_literal)
                            .collect();
                        (format!("isnotnull({v})"), in_list(&v, &nums, "in"))
                    }
                    Kind::Boolean => {
                        let bools: Vec<String> = pred
                            .values
                            .iter()
                            .filter_map(const_bool)
                            .map(|b| b.to_string())
                            .collect();
                        (format!("isnotnull({value})"), in_list(&value, &bools, "in"))
                    }
                    Kind::DateTime => {
                        let times: Vec<String> = pred
                            .values
                            .iter()
                            .filter_map(|c| match c {
                                Const::Str(s) => Some(format!("datetime({s})")),
                                _ => None,
                            })
                            .collect();
                        (format!("isnotnull({value})"), in_list(&value, &times, "in"))
                    }
                    _ => {
                        let texts: Vec<String> = pred
                            .values
                            .iter()
                            .filter_map(const_text)
                            .map(|s| string_literal(&s))
                            .collect();
                        let op = if cs { "in" } else { "in~" };
                        (format!("isnotempty({value})"), in_list(&value, &texts, op))
                    }
                };
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
                any_of(&parts)
            }
            Op::Matches => {
                let text = format!("tostring({value})");
                let parts: Vec<String> = pred
                    .values
                    .iter()
                    .filter_map(const_text)
                    .map(|p| {
                        let p = if cs { p } else { format!("(?i){p}") };
                        format!("{text} matches regex {}", string_literal(&p))
                    })
                    .collect();
                any_of(&parts)
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                let sym = match pred.op {
                    Op::Gt => ">",
                    Op::Gte => ">=",
                    Op::Lt => "<",
                    _ => "<=",
                };
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

impl Emit<'_> {
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

/// The test of one pair of values of two fields (both typed).
fn pair_test(op: Op, cs: bool, a: (&str, Kind), b: (&str, Kind)) -> String {
    let numeric = |k: Kind| matches!(k, Kind::Integer | Kind::Number);
    let both_times = a.1 == Kind::DateTime && b.1 == Kind::DateTime;
    let (ta, tb) = (format!("tostring({})", a.0), format!("tostring({})", b.0));
    let sym = match op {
        Op::Gt => ">",
        Op::Gte => ">=",
        Op::Lt => "<",
        Op::Lte => "<=",
        _ => "==",
    };
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

/// A path's expression: a scalar, or the first list on the way with the
/// segments below it.
struct Access<'p> {
    expr: String,
    field: Option<&'static Field>,
    rest: Vec<&'p str>,
    list: bool,
}

/// The field at the end of a path that starts at `top`.
fn leaf_field(top: &'static Field, segments: &[&str]) -> Option<&'static Field> {
    let mut field = top;
    for seg in segments.iter().skip(1) {
        field = field.children().iter().find(|c| c.name == *seg)?;
    }
    Some(field)
}

/// A column holding an object or list: itself when dynamic, parsed when it
/// holds JSON text.
fn dynamic(column: &str, ty: &str) -> String {
    if ty == "dynamic" {
        column.to_string()
    } else {
        format!("todynamic({column})")
    }
}

/// A list value as an array: a single object is a list of one, as the
/// native engine reads it.
fn as_list(expr: &str) -> String {
    format!("iff(gettype({expr}) == \"array\", {expr}, pack_array({expr}))")
}

/// A value in its field's type.
fn typed(expr: &str, field: Option<&'static Field>) -> String {
    let Some(field) = field else {
        return format!("tostring({expr})");
    };
    match field.kind {
        Kind::String if !field.codes.is_empty() => {
            let mut out = String::from("case(");
            for (code, name) in field.codes {
                let _ = write!(
                    out,
                    "tolong(trim(@\"\\s+\", tostring({expr}))) == {code}, {}, ",
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
fn present(expr: &str, field: Option<&'static Field>) -> String {
    match field.map(|f| f.kind) {
        Some(Kind::String | Kind::Dynamic) | None => {
            format!("isnotempty(trim(@\"\\s+\", tostring({expr})))")
        }
        Some(Kind::Object(_)) => format!("isnotnull({expr})"),
        Some(_) => format!("isnotnull({})", typed(expr, field)),
    }
}

fn in_list(value: &str, items: &[String], op: &str) -> String {
    if items.is_empty() {
        "false".into()
    } else {
        format!("{value} {op} ({})", items.join(", "))
    }
}

fn any_of(parts: &[String]) -> String {
    match parts {
        [] => "false".into(),
        [one] => format!("({one})"),
        _ => format!("({})", parts.join(" or ")),
    }
}
