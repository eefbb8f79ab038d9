//! Report: writes findings and the run's accounting in each output format.
//!
//! Takes the rules that run ([`RunInfo`]), then each [`Finding`] as eval
//! produces it, then the run's [`Summary`]; gives bytes on a writer in one of
//! the [`Format`]s. Emitters stream: a finding is written when it is found,
//! so memory stays flat however many findings a run has. Each finding goes
//! out in a single `write_all`, but emitters do not buffer the writer itself:
//! pass a buffered one.

mod github;
mod html;
mod json;
mod junit;
mod reference;
mod sarif;
mod status;
mod test_text;
mod text;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use serde::Serialize;

use crate::finding::{Finding, RuleInfo, Summary};

pub use github::{GithubEmitter, markdown_summary};
pub use html::HtmlEmitter;
pub use json::{JsonEmitter, JsonlEmitter};
pub use junit::write_junit;
pub use reference::{ListFormat, ParamDoc, params_of, rule_list, rules_markdown, rules_text};
pub use sarif::SarifEmitter;
pub use status::{
    SarifOptions, append_step_summary, emitter_with, expired, no_records_in, nothing_checked,
    output, strict_failure, summary_line,
};
pub use test_text::{TestFormat, write_tests, write_tests_text};
pub use text::TextEmitter;

/// The tool's name as reports give it.
pub const TOOL_NAME: &str = "tollgate";

/// The tool's version as reports give it.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where people learn about the tool (SARIF `informationUri`).
pub const INFORMATION_URI: &str = "https://github.com/tollgate-rules/tollgate";

/// Output formats of `tollgate check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document: tool, findings, summary.
    Json,
    /// One finding per line.
    Jsonl,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 6] = [
        Format::Text,
        Format::Json,
        Format::Jsonl,
        Format::Sarif,
        Format::Github,
        Format::Html,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Sarif => "sarif",
            Format::Github => "github",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("`{s}` is not an output format (text, json, jsonl, sarif, github, html)")
            })
    }
}

/// What an emitter knows about the run before the first finding.
#[derive(Debug, Clone)]
pub struct RunInfo<'a> {
    /// Every rule that runs, in order; SARIF `ruleIndex` indexes this.
    pub rules: &'a [RuleInfo],
    /// The command line as the user typed it.
    pub command_line: String,
    /// Whether to colour text output.
    pub color: bool,
}

/// Writes one output format.
pub trait Emitter {
    /// Called once before any finding.
    fn begin(&mut self, out: &mut dyn Write, run: &RunInfo<'_>) -> io::Result<()>;
    /// Called for each finding, in input order.
    fn finding(&mut self, out: &mut dyn Write, finding: &Finding) -> io::Result<()>;
    /// Called once at the end, with the run's accounting.
    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()>;
}

/// The emitter for a format.
///
/// The SARIF emitter makes log paths relative to the current directory, read
/// when `begin` is called; [`SarifEmitter::with_base`] fixes another.
pub fn emitter(format: Format) -> Box<dyn Emitter> {
    match format {
        Format::Text => Box::new(TextEmitter::new()),
        Format::Json => Box::new(JsonEmitter::new()),
        Format::Jsonl => Box::new(JsonlEmitter::new()),
        Format::Sarif => Box::new(SarifEmitter::new()),
        Format::Github => Box::new(GithubEmitter::new()),
        Format::Html => Box::new(HtmlEmitter::new()),
    }
}

/// The `tool` object of the `json` format.
#[derive(Debug, Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

const TOOL: Tool = Tool {
    name: TOOL_NAME,
    version: TOOL_VERSION,
};

/// Serializes `value` into `buf` (cleared first). Emitters render each
/// piece into a buffer they reuse, then write it in one call, so a failed
/// serialization never leaves half a value on the writer.
fn to_buf<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> io::Result<()> {
    buf.clear();
    serde_json::to_writer(&mut *buf, value).map_err(io::Error::other)
}

/// Serializes `value`, an object, into `buf` without its closing brace and
/// adds `more`: the way to stream further members (such as an array filled
/// item by item) into an object whose head serde writes.
fn to_buf_open<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T, more: &[u8]) -> io::Result<()> {
    to_buf(buf, value)?;
    if buf.pop() != Some(b'}') {
        return Err(io::Error::other(
            "report head did not serialize as an object",
        ));
    }
    // An object with no member would now need no comma before `more`.
    if buf.last() == Some(&b'{') {
        buf.extend_from_slice(more.strip_prefix(b",").unwrap_or(more));
    } else {
        buf.extend_from_slice(more);
    }
    Ok(())
}

/// The members of a serialized non-empty object, without its braces: the
/// way to add them to an object that is still open.
fn object_members(buf: &[u8]) -> io::Result<&[u8]> {
    buf.strip_prefix(b"{")
        .and_then(|b| b.strip_suffix(b"}"))
        .filter(|b| !b.is_empty())
        .ok_or_else(|| io::Error::other("report tail did not serialize as an object"))
}

/// Where a streamed JSON array is: emitters open it in `begin`, add items in
/// `finding` and close it in `finish`; calls out of that order are errors
/// rather than output that does not parse.
#[derive(Debug, Default)]
enum Stream {
    /// `begin` has not run.
    #[default]
    Unopened,
    /// The array is open and holds this many items.
    Open(u64),
    /// `finish` has run.
    Closed,
}

impl Stream {
    /// Marks the array open.
    fn open(&mut self) -> io::Result<()> {
        match self {
            Stream::Unopened => {
                *self = Stream::Open(0);
                Ok(())
            }
            _ => Err(out_of_order("begin called twice")),
        }
    }

    /// The separator to write before the next item, counting it.
    fn next_item(&mut self) -> io::Result<&'static [u8]> {
        match self {
            Stream::Open(n) => {
                *n += 1;
                Ok(if *n == 1 { b"\n" } else { b",\n" })
            }
            Stream::Unopened => Err(out_of_order("finding before begin")),
            Stream::Closed => Err(out_of_order("finding after finish")),
        }
    }

    /// Marks the array closed; the separator that ends it.
    fn close(&mut self) -> io::Result<&'static [u8]> {
        match std::mem::replace(self, Stream::Closed) {
            Stream::Open(0) => Ok(b""),
            Stream::Open(_) => Ok(b"\n"),
            Stream::Unopened => Err(out_of_order("finish before begin")),
            Stream::Closed => Err(out_of_order("finish called twice")),
        }
    }
}

fn out_of_order(what: &str) -> io::Error {
    io::Error::other(format!("report emitter misused: {what}"))
}

#[cfg(test)]
mod testdata {
    //! The rules, findings and summary the emitter tests share: two rules,
    //! three findings (evidence under a `not`, an absent value), one
    //! unreadable record and one skipped file.

    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::{Emitter, RunInfo};
    use crate::finding::{
        Evidence, FileCounts, Finding, Problem, RuleInfo, Severity, SignIn, Summary,
    };
    use crate::record::Location;

    pub fn rules() -> Vec<RuleInfo> {
        vec![
            RuleInfo {
                id: "TG-CA-001".into(),
                title: "Interactive sign-in succeeded without Conditional Access".into(),
                severity: Severity::Medium,
                description: "A user signed in interactively and no Conditional Access\npolicy applied.\n\nCheck the policies that should cover this app.\n".into(),
                references: vec!["https://learn.microsoft.com/entra/identity/monitoring-health/concept-interactive-sign-ins".into()],
                tags: vec!["conditional-access".into()],
                logs: vec!["interactive".into()],
                source: "rules/ca.yaml".into(),
                line: 1,
            },
            RuleInfo {
                id: "TG-RISK-002".into(),
                title: "High-risk sign-in succeeded".into(),
                severity: Severity::High,
                description: String::new(),
                references: vec![],
                tags: vec![],
                logs: vec![],
                source: "builtin:risk.yaml".into(),
                line: 3,
            },
        ]
    }

    pub fn run(rules: &[RuleInfo], color: bool) -> RunInfo<'_> {
        RunInfo {
            rules,
            command_line: "tollgate check --format x \"logs dir\"".into(),
            color,
        }
    }

    fn evidence(
        condition: &str,
        op: &str,
        expected: Value,
        actual: Value,
        outcome: bool,
    ) -> Evidence {
        let field = condition.split(' ').next().unwrap_or_default().to_string();
        Evidence {
            condition: condition.into(),
            field,
            operator: op.into(),
            expected,
            actual,
            outcome,
        }
    }

    fn sign_in(id: &str, upn: &str) -> SignIn {
        SignIn {
            id: Some(id.into()),
            created_date_time: Some("2024-05-01T10:00:00Z".into()),
            user_principal_name: Some(upn.into()),
            ip_address: Some("203.0.113.7".into()),
            app_display_name: Some("Azure Portal".into()),
            correlation_id: None,
        }
    }

    pub fn findings() -> Vec<Finding> {
        let ca_evidence = vec![
            evidence(
                "isInteractive eq true",
                "eq",
                json!(true),
                json!(true),
                true,
            ),
            evidence(
                "conditionalAccessStatus eq notApplied",
                "eq",
                json!("notApplied"),
                json!("notApplied"),
                true,
            ),
            evidence(
                "crossTenantAccessType in [passthrough, b2bCollaboration]",
                "in",
                json!(["passthrough", "b2bCollaboration"]),
                Value::Null,
                false,
            ),
        ];
        vec![
            Finding {
                rule_id: "TG-CA-001".into(),
                title: "Interactive sign-in succeeded without Conditional Access".into(),
                severity: Severity::Medium,
                message: "alice@contoso.com signed in to Azure Portal from 203.0.113.7 (US) and no Conditional Access policy applied".into(),
                location: Location { path: "examples/logs/graph.jsonl".into(), line: 3, record: 2 },
                category: "interactive".into(),
                sign_in: sign_in("66ea54eb-6301-4ee5-be62-ff5a759b8100", "alice@contoso.com"),
                evidence: ca_evidence.clone(),
                fingerprint: "3f1c2a9d8e7b6a50".into(),
                episode: None,
            },
            Finding {
                rule_id: "TG-RISK-002".into(),
                title: "High-risk sign-in succeeded".into(),
                severity: Severity::High,
                message: "bob@contoso.com signed in at high risk".into(),
                location: Location { path: "exports/sign ins #1.json".into(), line: 12, record: 0 },
                category: "interactive".into(),
                sign_in: sign_in("b1", "bob@contoso.com"),
                evidence: vec![evidence(
                    "riskLevelDuringSignIn eq high",
                    "eq",
                    json!("high"),
                    json!("high"),
                    true,
                )],
                fingerprint: "aa00bb11cc22dd33".into(),
                episode: None,
            },
            Finding {
                rule_id: "TG-CA-001".into(),
                title: "Interactive sign-in succeeded without Conditional Access".into(),
                severity: Severity::Medium,
                message: "carol@contoso.com signed in to Azure Portal from - (-) and no Conditional Access policy applied".into(),
                location: Location { path: "-".into(), line: 1, record: 0 },
                category: "interactive".into(),
                sign_in: SignIn::default(),
                evidence: ca_evidence,
                fingerprint: "0123456789abcdef".into(),
                episode: None,
            },
        ]
    }

    pub fn summary(findings: &[Finding]) -> Summary {
        let one = FileCounts {
            path: String::new(),
            format: "jsonl".into(),
            records: 1,
            evaluated: 1,
            unreadable: 0,
            not_sign_in: 0,
            untargeted: 0,
            findings: 1,
        };
        let mut s = Summary {
            totals: FileCounts {
                path: String::new(),
                format: String::new(),
                records: 6,
                evaluated: 5,
                unreadable: 1,
                not_sign_in: 0,
                untargeted: 1,
                findings: 0,
            },
            by_severity: BTreeMap::new(),
            by_rule: BTreeMap::new(),
            rules: 2,
            files: vec![
                FileCounts {
                    path: "examples/logs/graph.jsonl".into(),
                    format: "jsonl".into(),
                    records: 4,
                    evaluated: 3,
                    unreadable: 1,
                    not_sign_in: 0,
                    untargeted: 1,
                    findings: 1,
                },
                // A file of one sign-in that gave one finding.
                FileCounts {
                    path: "exports/sign ins #1.json".into(),
                    format: "json-array".into(),
                    ..one.clone()
                },
                FileCounts {
                    path: "-".into(),
                    ..one
                },
            ],
            skipped: vec![Problem {
                path: "examples/logs/README.md".into(),
                line: 0,
                record: None,
                reason: "not a log file".into(),
            }],
            unopened: 0,
            problems: vec![],
            accepted: Default::default(),
            duplicates: 0,
            untimed: 0,
            first_untimed: None,
            late: 0,
            repeated: 0,
        };
        for f in findings {
            s.count_finding(f);
        }
        s.keep_problem(Problem {
            path: "examples/logs/graph.jsonl".into(),
            line: 7,
            record: Some(3),
            reason: "expected `,` or `}` at column 18".into(),
        });
        s
    }

    /// Runs an emitter over the test data (or over no findings), returning
    /// what it wrote.
    pub fn render(emitter: &mut dyn Emitter, color: bool, with_findings: bool) -> String {
        let rules = rules();
        let findings = if with_findings { findings() } else { vec![] };
        let summary = summary(&findings);
        render_with(emitter, &run(&rules, color), &findings, &summary)
    }

    pub fn render_with(
        emitter: &mut dyn Emitter,
        run: &RunInfo<'_>,
        findings: &[Finding],
        summary: &Summary,
    ) -> String {
        let mut out = Vec::new();
        emitter.begin(&mut out, run).unwrap();
        for f in findings {
            emitter.finding(&mut out, f).unwrap();
        }
        emitter.finish(&mut out, summary).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A message no report should be able to break or be broken by.
    pub const HOSTILE: &str = "quote \" backslash \\ newline\nreturn\r tab\t nul\u{0} esc\u{1b}[31m csi\u{9b} del\u{7f} bidi\u{202e} é 日本 🚀 sep\u{2028} end";

    pub fn hostile_finding() -> Finding {
        let mut f = findings().remove(0);
        f.message = HOSTILE.into();
        f.sign_in.user_principal_name = Some(HOSTILE.into());
        f.location.path = "logs/we\"ird\nname.jsonl".into();
        if let Some(e) = f.evidence.first_mut() {
            e.actual = Value::String(HOSTILE.into());
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn out_of_order_calls_are_errors_not_broken_output() {
        let summary = testdata::summary(&[]);
        let finding = testdata::findings().remove(0);
        for format in [Format::Json, Format::Sarif] {
            let mut e = emitter(format);
            let mut out = Vec::new();
            assert!(e.finding(&mut out, &finding).is_err(), "{format}");
            assert!(e.finish(&mut out, &summary).is_err(), "{format}");
        }
    }
}
