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

mod leaf;
mod multi;

use leaf::typed;
use multi::{sequence_query, window_query};

use std::fmt::Write as _;
use std::sync::LazyLock;

use crate::catalog::{Field, GRAPH_ACTIVITY, Kind, Resolved, SIGN_IN};
use crate::check::{CheckedRule, Piece, Quantifier, Shape};
use crate::diag::Span;
use crate::record::LogCategory;
use crate::target::plan::{CondWriter, Leaves, Quant};

use super::{Unsupported, unsupported};

/// The five tables' columns, as Microsoft's Azure Monitor reference gives
/// them (see the file for where each comes from).
pub const TABLES: &str = include_str!("../../../schemas/log-analytics-tables.json");

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

/// The columns of the rows [`query`] gives for `rule`.
pub(crate) fn columns(rule: &CheckedRule) -> Result<Vec<String>, Unsupported> {
    match &rule.shape {
        Shape::Single => Ok([
            "ruleId",
            "id",
            "time",
            "userPrincipalName",
            "ipAddress",
            "category",
        ]
        .map(String::from)
        .into()),
        Shape::Window(_) | Shape::Sequence(_) => multi::columns(rule),
    }
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
    let message = match emit.message() {
        Some(m) => format!(", message = {m}"),
        None => String::new(),
    };
    let _ = write!(
        out,
        "\n| project ruleId = {}, id = tostring({id}), ['time'] = {time}, userPrincipalName = tostring({upn}), ipAddress = tostring({}), category = \"{}\"{message}",
        string_literal(&rule.info.id),
        column("IPAddress"),
        table.name
    );
    Ok(out)
}

impl Emit<'_> {
    /// The rule's message as the native engine renders it, when every
    /// field it names is a scalar on the way too (`-` when absent or
    /// empty; date-times in their normal form); `None` otherwise, and the
    /// rows have no message.
    fn message(&self) -> Option<String> {
        let mut parts = Vec::new();
        for piece in &self.rule.message {
            match piece {
                Piece::Text(t) => parts.push(string_literal(t)),
                Piece::Field(field) => {
                    let access = self.access(&Scope::Record, field, &self.rule.span).ok()?;
                    let f = access.field?;
                    if access.list || matches!(f.kind, Kind::Object(_)) {
                        return None;
                    }
                    let text = match f.kind {
                        Kind::DateTime => {
                            let t = format!("todatetime({})", access.expr);
                            format!(
                                "iff(isnull({t}), tostring({e}), strcat(format_datetime({t}, \"yyyy-MM-dd\"), \"T\", format_datetime({t}, \"HH:mm:ss.fffffff\"), \"Z\"))",
                                e = access.expr
                            )
                        }
                        _ => format!("tostring({})", typed(&access.expr, Some(f))),
                    };
                    parts.push(format!("iff(isempty({text}), \"-\", {text})"));
                }
                _ => return None,
            }
        }
        Some(match parts.as_slice() {
            [] => "\"\"".to_string(),
            [one] => format!("strcat({one}, \"\")"),
            _ => format!("strcat({})", parts.join(", ")),
        })
    }
}

/// One or more white-space characters as the native engine trims them
/// (`str::trim`: Unicode `White_Space`), in RE2: its `\s` is ASCII only.
const WHITE_SPACE: &str = r"[\x{9}-\x{D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+";

/// `text` (a KQL string) without white space at either end, as the native
/// engine trims it.
pub(crate) fn trimmed(text: &str) -> String {
    format!("trim(@\"{WHITE_SPACE}\", {text})")
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

impl CondWriter for Emit<'_> {
    const AND: &'static str = " and ";
    const OR: &'static str = " or ";
    const NOT: [&'static str; 2] = ["not(", ")"];

    fn quant(&mut self, q: Quant<'_>, scope: &Scope) -> Result<String, Unsupported> {
        let (quantifier, field, inner, span) = (q.quantifier, q.field, q.inner, q.span);
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
}

#[cfg(test)]
mod tests {
    use super::WHITE_SPACE;
    use regex_syntax::hir::{Class, HirKind};

    /// The class holds exactly the characters `str::trim` removes.
    #[test]
    fn the_white_space_class_is_rusts() {
        let hir = regex_syntax::parse(WHITE_SPACE).expect("parses");
        let HirKind::Repetition(rep) = hir.kind() else {
            panic!("one class, repeated: {hir:?}");
        };
        let HirKind::Class(Class::Unicode(class)) = rep.sub.kind() else {
            panic!("one class, repeated: {hir:?}");
        };
        let in_class = |c: char| {
            class
                .ranges()
                .iter()
                .any(|r| r.start() <= c && c <= r.end())
        };
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(in_class(c), c.is_whitespace(), "U+{:04X}", u32::from(c));
        }
    }
}
