//! Targets: checked rules → queries for the engines where large logs live.
//!
//! Compiles from the checked form (not from the matcher program, which has
//! already lost what a query needs: the kinds of fields, the original
//! patterns, the case rules). Each target writes one query per rule that
//! means what the native engine means on the same data: the same case
//! rules, the same two-valued logic (a missing field makes a comparison
//! false and its `not` true, never unknown), the same "some value" reading
//! of lists. A construct a target cannot say exactly is an [`Unsupported`]
//! naming the rule and the construct, never an approximation.
//!
//! - [`spark`]: Spark SQL over the diagnostic-settings shape (`signins`,
//!   `graphActivity` views);
//! - [`kql`]: KQL over the Log Analytics tables;
//! - [`sentinel`]: the KQL queries as Microsoft Sentinel scheduled rules;
//! - Sigma, written by the `sigma::export` module.

mod compiled;
pub mod kql;
pub(crate) mod plan;
pub(crate) mod regex;
pub mod sentinel;
pub mod spark;

pub use crate::sigma::export::sigma_id;
pub use compiled::{Compiled, WriteError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::check::{CheckedRule, Const};
use crate::diag::Span;
use crate::record::LogCategory;

/// An engine rules compile for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Target {
    /// KQL over the Log Analytics tables.
    Kql,
    /// Microsoft Sentinel scheduled analytics rules (YAML holding KQL).
    Sentinel,
    /// Spark SQL over the diagnostic-settings shape.
    SparkSql,
    /// Sigma rules with Log Analytics field names (windows as correlations).
    Sigma,
}

impl Target {
    /// The target's name on the command line and in the JSON document.
    pub fn name(self) -> &'static str {
        match self {
            Target::Kql => "kql",
            Target::Sentinel => "sentinel",
            Target::SparkSql => "spark-sql",
            Target::Sigma => "sigma",
        }
    }

    /// The extension of the file `--output` writes per rule.
    pub fn extension(self) -> &'static str {
        match self {
            Target::Kql => "kql",
            Target::Sentinel => "yaml",
            Target::SparkSql => "sql",
            Target::Sigma => "yml",
        }
    }
}

/// Names of the views or tables queries read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Options {
    /// Spark: the view of sign-in records.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_name = "NAME", default_value = "signins")
    )]
    pub table: String,
    /// Spark: the view of Graph activity records.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_name = "NAME", default_value = "graphActivity")
    )]
    pub graph_table: String,
}

/// How compiled queries are printed (see [`Compiled::json`] and
/// [`Compiled::text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum Output {
    /// One document with the schema and every query.
    Json,
    /// The queries one after another.
    Text,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            table: "signins".into(),
            graph_table: "graphActivity".into(),
        }
    }
}

/// One rule's query.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    /// The rule's id.
    pub rule_id: String,
    /// The query text (for Sentinel, the rule as YAML).
    pub query: String,
}

/// A construct a target cannot express exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The rule's id.
    pub rule: String,
    /// What cannot be expressed, for people: `cidr with an IPv6 range`.
    pub construct: String,
    /// Where it was written.
    pub span: Span,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule `{}` uses {}", self.rule, self.construct)
    }
}

impl std::error::Error for Unsupported {}

/// Compiles one rule for a target.
pub fn compile(
    rule: &CheckedRule,
    target: Target,
    options: &Options,
) -> Result<Query, Unsupported> {
    let query = match target {
        Target::SparkSql => spark::query(rule, options)?,
        Target::Kql => kql::query(rule)?,
        Target::Sentinel => sentinel::rule(rule)?,
        Target::Sigma => crate::sigma::export::to_sigma(rule)?,
    };
    Ok(Query {
        rule_id: rule.info.id.to_string(),
        query,
    })
}

/// The schema of what a target's queries read, for the JSON document:
/// for Spark, the DDL of each view, which the PySpark driver reads exports
/// with; for KQL, the tables' columns.
pub fn schema(target: Target, options: &Options) -> serde_json::Value {
    match target {
        Target::SparkSql => spark::schema(options),
        Target::Kql | Target::Sentinel => kql::schema(),
        // Sigma rules name Log Analytics columns; their types are the
        // SIEM's concern.
        Target::Sigma => serde_json::Value::Null,
    }
}

/// A stable GUID for a rule id: the same id gives the same GUID on every
/// run and machine, whatever the rule's title or text (SHA-256 of the id,
/// formatted as an RFC 9562 version-8 UUID).
pub fn rule_guid(id: &str) -> String {
    guid(&format!("tollgate rule {id}"))
}

/// A GUID derived from a text: SHA-256 of it, formatted as an RFC 9562
/// version-8 UUID.
pub fn guid(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Why a rule cannot be compiled.
pub(crate) fn unsupported(rule: &CheckedRule, construct: &str, span: &Span) -> Unsupported {
    Unsupported {
        rule: rule.info.id.to_string(),
        construct: construct.to_string(),
        span: span.clone(),
    }
}

/// The column name of a group-key field in a multi-record rule's rows: its
/// canonical name with `.` written `_`.
pub(crate) fn key_column(field: &crate::catalog::Resolved) -> String {
    field.path.to_string().replace('.', "_")
}

/// The comparison of a count with a threshold, written with `eq` as the
/// target writes equality (`=` in SQL, `==` in KQL).
pub(crate) fn threshold(count: &str, t: &crate::check::Threshold, eq: &str) -> String {
    let op = match t.cmp {
        crate::check::CountCmp::Eq => eq,
        other => other.symbol(),
    };
    format!("{count} {op} {}", t.value)
}

/// The diagnostic-settings `category` values of a log (in lower case; the
/// engine reads categories ignoring case, and Log Analytics table names as
/// well as diagnostic category names).
pub(crate) fn categories(log: &LogCategory) -> &'static [&'static str] {
    match log {
        LogCategory::Interactive => &["signinlogs"],
        LogCategory::NonInteractive => &[
            "noninteractiveusersigninlogs",
            "aadnoninteractiveusersigninlogs",
        ],
        LogCategory::ServicePrincipal => &[
            "serviceprincipalsigninlogs",
            "aadserviceprincipalsigninlogs",
        ],
        LogCategory::ManagedIdentity => {
            &["managedidentitysigninlogs", "aadmanagedidentitysigninlogs"]
        }
        LogCategory::GraphActivity => &["microsoftgraphactivitylogs"],
        LogCategory::Other(_) => &[],
    }
}

/// Whether a condition compares an object or a list as its compact JSON
/// text (Sigma's reading of a string against a dynamic column), which the
/// query targets cannot write the same: the field at the end of its path is
/// an object, a list or untyped. On a scalar field the reading changes
/// nothing.
pub(crate) fn reads_json_text(pred: &crate::check::Pred) -> bool {
    use crate::catalog::Kind;
    pred.as_text
        && pred
            .field
            .field
            .is_none_or(|f| f.list || matches!(f.kind, Kind::Object(_) | Kind::Dynamic))
}

/// A constant as text, as the native engine compares a text value with it
/// (`0` as `"0"`, `true` as `"true"`).
pub(crate) fn const_text(c: &Const) -> Option<String> {
    match c {
        Const::Str(s) => Some(s.clone()),
        Const::Int(i) => Some(i.to_string()),
        Const::Num(n) => Some(n.to_string()),
        Const::Bool(b) => Some(b.to_string()),
        Const::Field(_) => None,
    }
}

/// A constant as a number, as the native engine compares a number with it
/// (text that reads as a number counts).
pub(crate) fn const_number(c: &Const) -> Option<f64> {
    match c {
        Const::Int(i) => Some(*i as f64),
        Const::Num(n) => Some(*n),
        Const::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A constant as a boolean (`"true"` and `"false"` in any case count).
pub(crate) fn const_bool(c: &Const) -> Option<bool> {
    match c {
        Const::Bool(b) => Some(*b),
        Const::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Const::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A number as a literal both SQL and KQL read as a double.
pub(crate) fn double_literal(n: f64) -> String {
    let text = format!("{n:?}");
    if text.contains(['.', 'e', 'E']) || text.contains("inf") || text.contains("NaN") {
        text
    } else {
        format!("{text}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_stable_and_well_formed() {
        let a = rule_guid("TG-CA-001");
        assert_eq!(a, rule_guid("TG-CA-001"));
        assert_ne!(a, rule_guid("TG-CA-002"));
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(a.chars().nth(14), Some('8'));
        assert!(matches!(a.chars().nth(19), Some('8' | '9' | 'a' | 'b')));
    }

    /// Every target refuses `travel`, pointing at it, whatever else the
    /// sequence could be written as.
    #[test]
    fn every_target_refuses_travel() {
        let text = "id: TR-1\ntitle: t\nseverity: low\nlogs: [interactive]\nsequence:\n  groupBy: [userPrincipalName]\n  span: 1d\n  steps:\n    - name: here\n      match: { status.errorCode: 0 }\n    - name: there\n      match: { status.errorCode: 0 }\n      travel: { from: here, kmh: { gt: 900 } }\n";
        let mut loader = crate::engine::Loader::new();
        loader.add_source("travel.yaml", text);
        let checked = loader.check();
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics());
        let rule = checked.rules().first().cloned();
        let Some(rule) = rule else { panic!("no rule") };
        let at = text.find("travel:").unwrap_or_default();
        for target in [
            Target::Kql,
            Target::Sentinel,
            Target::SparkSql,
            Target::Sigma,
        ] {
            let refused = compile(&rule, target, &Options::default()).err();
            let Some(e) = refused else {
                panic!("{} wrote a query for travel", target.name())
            };
            assert_eq!(e.construct, plan::TRAVEL, "{}", target.name());
            assert_eq!(e.span.range.start, at, "{}", target.name());
            assert!(
                e.to_string().starts_with("rule `TR-1` uses `travel`"),
                "{e}"
            );
        }
        // Without `travel`, the same sequence compiles for the query
        // targets.
        let plain = text.replace("      travel: { from: here, kmh: { gt: 900 } }\n", "");
        let mut loader = crate::engine::Loader::new();
        loader.add_source("plain.yaml", &plain);
        let checked = loader.check();
        let rule = checked.rules().first().cloned();
        let Some(rule) = rule else { panic!("no rule") };
        for target in [Target::Kql, Target::Sentinel, Target::SparkSql] {
            assert!(
                compile(&rule, target, &Options::default()).is_ok(),
                "{}",
                target.name()
            );
        }
    }

    #[test]
    fn doubles_read_as_doubles() {
        assert_eq!(double_literal(1.0), "1.0");
        assert_eq!(double_literal(2.5), "2.5");
        assert_eq!(double_literal(1e20), "1e20");
    }
}
