//! Plain data that flows out of evaluation into reports: findings with
//! their evidence, the rules that ran, and the accounting of a run.
//!
//! Everything here serializes to the `json` / `jsonl` wire format as it is;
//! field names are camelCase and form a versioned contract
//! ([`SCHEMA_VERSION`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::record::Location;

/// Version of the `json` / `jsonl` output contract.
pub const SCHEMA_VERSION: &str = "2.0";

/// How serious a finding is. Ordered: `Info < Low < ... < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.name() == s)
            .ok_or_else(|| format!("`{s}` is not a severity (info, low, medium, high, critical)"))
    }
}

/// What reports need to know about a rule that ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    /// Stable id, such as `TG-CA-001`.
    pub id: Arc<str>,
    /// One-line title.
    pub title: Arc<str>,
    /// Severity of its findings.
    pub severity: Severity,
    /// Markdown description.
    pub description: String,
    /// Links to documentation.
    pub references: Vec<String>,
    /// Free tags.
    pub tags: Vec<String>,
    /// Log categories the rule reads.
    pub logs: Vec<String>,
    /// The file the rule came from (`builtin:...` for the built-in pack).
    pub source: String,
    /// 1-based line of the rule in that file.
    pub line: u64,
}

/// Who signed in to what, from where: the identity of the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    /// Sign-in id.
    pub id: Option<String>,
    /// When it happened.
    pub created_date_time: Option<String>,
    /// User principal name.
    pub user_principal_name: Option<String>,
    /// Client IP address.
    pub ip_address: Option<String>,
    /// Application signed in to.
    pub app_display_name: Option<String>,
    /// Correlation id.
    pub correlation_id: Option<String>,
}

/// One condition that decided a match, with the value it saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// The condition as a person reads it: `status.errorCode eq 0`.
    pub condition: String,
    /// Canonical field path.
    pub field: String,
    /// Operator.
    pub operator: String,
    /// The value (or values) the rule compared against.
    pub expected: Value,
    /// The value the record held; null when the field was absent.
    pub actual: Value,
    /// The condition's own outcome (false under a `not`).
    pub outcome: bool,
}

/// A rule matched a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule's id.
    pub rule_id: Arc<str>,
    /// The rule's title.
    pub title: Arc<str>,
    /// The rule's severity.
    pub severity: Severity,
    /// The rule's message with the record's fields filled in.
    pub message: String,
    /// Where the record was read.
    pub location: Location,
    /// The record's log category.
    pub category: String,
    /// The record's identity.
    pub sign_in: SignIn,
    /// The conditions that decided the match.
    pub evidence: Vec<Evidence>,
    /// Stable across runs and across reformatting of the log file.
    pub fingerprint: String,
    /// Window and sequence rules: the group, the time span, the counts and
    /// the contributing records (absent from single-record findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub episode: Option<Box<Episodic>>,
}

/// One contributing record in a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Contributor {
    /// The file.
    pub path: String,
    /// 1-based line.
    pub line: u64,
    /// 0-based index of the record in its file.
    pub record: u64,
    /// The record's id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its time.
    pub time: String,
}

/// The distinct values of one field in a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DistinctValues {
    /// The first values (case-folded unless the rule is case-sensitive).
    pub values: Vec<String>,
    /// How many there are.
    pub total: u64,
}

/// The records of one sequence step in a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecords {
    /// The step.
    pub name: String,
    /// Whether the step must be absent (then it lists nothing).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
    /// Its first records.
    pub records: Vec<Contributor>,
    /// How many it has.
    pub total: u64,
}

/// What a finding of a window or sequence rule adds: the group, the time
/// span, the counts and the contributing records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Episodic {
    /// The group key: canonical field name to value.
    pub group: BTreeMap<String, String>,
    /// The first contributing record's time.
    pub window_start: String,
    /// The last contributing record's time.
    pub window_end: String,
    /// How many records contribute.
    pub count: u64,
    /// Windows: distinct values per field.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub distinct: BTreeMap<String, DistinctValues>,
    /// The first contributing records, earliest first.
    pub records: Vec<Contributor>,
    /// How many records contribute.
    pub records_total: u64,
    /// Sequences: the records of each step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecords>,
}

/// A record or file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The file.
    pub path: Arc<str>,
    /// 1-based line where the bad record starts (0 when the whole file failed
    /// before any line, such as a file that cannot be opened).
    pub line: u64,
    /// 0-based index of the record in its file, when it was a record.
    pub record: Option<u64>,
    /// What went wrong.
    pub reason: String,
}

/// Counts for one input file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileCounts {
    /// The file (empty in totals).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The shape(s) detected, such as `jsonl` or `graph-page` (empty in
    /// totals).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub format: String,
    /// Records seen: `evaluated + unreadable + notSignIn`.
    pub records: u64,
    /// Records read and offered to the rules.
    pub evaluated: u64,
    /// Records that could not be read.
    pub unreadable: u64,
    /// Records read that hold nothing of a sign-in or a Graph call (no
    /// key names a known field): not evaluated.
    pub not_sign_in: u64,
    /// Of the evaluated records, those of a log category no rule reads.
    pub untargeted: u64,
    /// Findings on records of this file.
    pub findings: u64,
}

impl FileCounts {
    /// Adds another file's counts to these.
    pub fn add(&mut self, other: &FileCounts) {
        self.records += other.records;
        self.evaluated += other.evaluated;
        self.unreadable += other.unreadable;
        self.not_sign_in += other.not_sign_in;
        self.untargeted += other.untargeted;
        self.findings += other.findings;
    }
}

/// Most problems a summary keeps; the counts stay exact past it.
pub const MAX_PROBLEMS_KEPT: usize = 1000;

/// The accounting of a run: always `records = evaluated + unreadable +
/// notSignIn`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Totals over all files.
    #[serde(flatten)]
    pub totals: FileCounts,
    /// Findings per severity.
    pub by_severity: BTreeMap<Severity, u64>,
    /// Findings per rule id.
    pub by_rule: BTreeMap<String, u64>,
    /// Rules that ran.
    pub rules: u64,
    /// Per-file counts, in the order the files were read.
    pub files: Vec<FileCounts>,
    /// Files given in a directory that were not read, with why.
    pub skipped: Vec<Problem>,
    /// Inputs that could not be opened (among `files`, with zeros; the
    /// reason among `problems`).
    #[serde(skip_serializing_if = "is_zero")]
    pub unopened: u64,
    /// Unreadable records and files, and records that are no sign-in (the
    /// first [`MAX_PROBLEMS_KEPT`]).
    pub problems: Vec<Problem>,
    /// Findings accepted by a baseline or an exception: not reported, but
    /// counted here.
    pub accepted: Accepted,
    /// Findings not reported because the same rule already reported the
    /// same sign-in (a sign-in delivered twice, as exports do): one finding
    /// per rule and sign-in.
    pub duplicates: u64,
    /// Records that would take part in a window or sequence rule but have
    /// no readable time (`createdDateTime`; for Graph activity
    /// `timeGenerated`): they take no part.
    #[serde(skip_serializing_if = "is_zero")]
    pub untimed: u64,
    /// Where the first of the `untimed` records was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_untimed: Option<crate::record::Location>,
    /// Records of standard input that came later than a window or sequence
    /// rule's watermark (the newest time seen minus 10 minutes): counted
    /// once per rule they would have taken part in, and not used by it.
    #[serde(skip_serializing_if = "is_zero")]
    pub late: u64,
    /// Records a window or sequence rule saw again (the same time and id,
    /// or the same content without an id: an export read twice,
    /// overlapping pages) and used once, once per rule.
    #[serde(skip_serializing_if = "is_zero")]
    pub repeated: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Findings not reported because they were accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// Findings whose fingerprint is in the baseline.
    pub baseline: u64,
    /// Findings covered by each config exception that applied.
    pub exceptions: Vec<AcceptedByException>,
}

/// The findings one config exception accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedByException {
    /// The rule.
    pub rule_id: String,
    /// The exception's reason.
    pub reason: String,
    /// Its expiry date, if any.
    pub expires: Option<String>,
    /// How many findings it accepted.
    pub findings: u64,
}

impl Accepted {
    /// Every accepted finding.
    pub fn total(&self) -> u64 {
        self.baseline + self.exceptions.iter().map(|e| e.findings).sum::<u64>()
    }
}

impl Summary {
    /// Records one finding in the totals.
    pub fn count_finding(&mut self, finding: &Finding) {
        self.totals.findings += 1;
        *self.by_severity.entry(finding.severity).or_default() += 1;
        *self.by_rule.entry(finding.rule_id.to_string()).or_default() += 1;
    }

    /// Keeps a problem, up to [`MAX_PROBLEMS_KEPT`].
    pub fn keep_problem(&mut self, problem: Problem) {
        if self.problems.len() < MAX_PROBLEMS_KEPT {
            self.problems.push(problem);
        }
    }

    /// The highest severity among the findings, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.by_severity
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, _)| *s)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Critical);
        assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
        assert!("urgent".parse::<Severity>().is_err());
    }
}
