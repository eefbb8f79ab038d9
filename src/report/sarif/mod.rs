//! The `sarif` format: SARIF 2.1.0 as GitHub code scanning accepts it.
//!
//! Takes the run's rules, the findings and the summary; gives one log with
//! one run. `begin` writes the tool with every rule (id, name, descriptions,
//! help, default level, tags and `security-severity`), each finding becomes
//! a result as it comes (rule id and index, level, message, the log file and
//! line, the sign-in as a logical location, the fingerprint, the evidence),
//! and `finish` writes the invocation, with each unreadable record or file as
//! a warning and each skipped file as a note, and the run's counts as
//! properties.
//!
//! Log paths become URI references relative to a base directory (the current
//! one unless [`SarifEmitter::with_base`] says otherwise) under the base id
//! `%SRCROOT%` when they are inside it, absolute `file:` URIs when not, and
//! `stdin` for standard input.

use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::{
    Emitter, INFORMATION_URI, RunInfo, Stream, TOOL_NAME, TOOL_VERSION, object_members, to_buf,
    to_buf_open,
};
use crate::finding::{Finding, Problem, RuleInfo, Severity, SignIn, Summary};

mod model;

use model::*;

/// Where the SARIF 2.1.0 schema is published for editors and validators.
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The base id relative artifact URIs are resolved against.
const SRCROOT: &str = "%SRCROOT%";

/// Writes the `sarif` format.
#[derive(Debug)]
pub struct SarifEmitter {
    /// The directory log paths are made relative to; `None` until `begin`
    /// reads the current directory (and after, if it could not).
    base: Option<PathBuf>,
    /// Each rule id's index in `RunInfo::rules`.
    rule_index: HashMap<Arc<str>, usize>,
    command_line: String,
    results: Stream,
    buf: Vec<u8>,
    /// `automationDetails.id`, when set.
    category: Option<String>,
    /// Mark results `baselineState: new` (a baseline filtered the others).
    baseline_state: bool,
    /// Whether an unreadable record or one that is no sign-in fails the
    /// run (`--strict`).
    strict: bool,
    /// The results kept so far, serialized; at most `max_results`, the
    /// least severe and latest dropped first.
    kept: BinaryHeap<Kept>,
    /// Findings seen.
    seen: u64,
    max_results: usize,
    max_gzip_bytes: usize,
}

impl Default for SarifEmitter {
    fn default() -> Self {
        SarifEmitter {
            base: None,
            rule_index: HashMap::new(),
            command_line: String::new(),
            results: Stream::default(),
            buf: Vec::new(),
            category: None,
            baseline_state: false,
            strict: false,
            kept: BinaryHeap::new(),
            seen: 0,
            max_results: MAX_RESULTS,
            max_gzip_bytes: MAX_GZIP_BYTES,
        }
    }
}

/// Most results GitHub code scanning accepts in one run.
pub const MAX_RESULTS: usize = 25_000;

/// Largest gzip-compressed upload GitHub code scanning accepts, less room
/// for the rules and the run's other members.
pub const MAX_GZIP_BYTES: usize = 9 << 20;

/// A serialized result, ordered so that the greatest is the one to drop
/// first: the least severe, then the latest.
#[derive(Debug, PartialEq, Eq)]
struct Kept {
    severity: std::cmp::Reverse<crate::finding::Severity>,
    seq: u64,
    json: Vec<u8>,
}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.severity, self.seq).cmp(&(other.severity, other.seq))
    }
}

impl SarifEmitter {
    /// An emitter that makes log paths relative to the current directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// An emitter that makes log paths relative to `base`.
    pub fn with_base(base: impl Into<PathBuf>) -> Self {
        Self {
            base: Some(normalize(&base.into())),
            ..Self::default()
        }
    }

    /// Sets `automationDetails.id`, which tells several analyses of one
    /// repository apart (such as `tollgate/prod/`).
    pub fn with_category(mut self, id: &str) -> Self {
        self.category = Some(id.to_string());
        self
    }

    /// Marks every result `baselineState: new`: a baseline already removed
    /// the unchanged ones.
    pub fn with_baseline_state(mut self) -> Self {
        self.baseline_state = true;
        self
    }

    /// Says the run failed when a record could not be read or is no
    /// sign-in, as `--strict` makes it.
    pub fn with_strict(mut self) -> Self {
        self.strict = true;
        self
    }

    /// Sets the limits (GitHub's by default): most results, and most
    /// gzip-compressed bytes of results.
    pub fn with_limits(mut self, max_results: usize, max_gzip_bytes: usize) -> Self {
        self.max_results = max_results;
        self.max_gzip_bytes = max_gzip_bytes;
        self
    }

    fn artifact(&self, path: &str) -> ArtifactLocation {
        artifact_location(path, self.base.as_deref())
    }
}

impl Emitter for SarifEmitter {
    fn begin(&mut self, out: &mut dyn Write, run: &RunInfo<'_>) -> io::Result<()> {
        self.results.open()?;
        if self.base.is_none() {
            // Without a current directory, paths stay as they were given.
            self.base = std::env::current_dir().ok().map(|d| normalize(&d));
        }
        self.command_line = run.command_line.clone();
        self.rule_index.clear();
        for (i, rule) in run.rules.iter().enumerate() {
            // A duplicate id keeps the first rule's index, as the first
            // descriptor is the one a viewer finds by id.
            self.rule_index.entry(rule.id.clone()).or_insert(i);
        }

        let mut head = Vec::new();
        to_buf_open(
            &mut head,
            &LogHead {
                schema: SCHEMA_URI,
                version: "2.1.0",
            },
            br#","runs":["#,
        )?;
        to_buf_open(
            &mut self.buf,
            &RunHead {
                tool: Tool {
                    driver: Driver {
                        name: TOOL_NAME,
                        version: TOOL_VERSION,
                        semantic_version: TOOL_VERSION,
                        information_uri: INFORMATION_URI,
                        rules: run.rules.iter().map(descriptor).collect(),
                    },
                },
                original_uri_base_ids: self.base.as_deref().map(|base| BaseIds {
                    srcroot: BaseUri {
                        uri: directory_uri(base),
                    },
                }),
                automation_details: self.category.clone().map(|id| AutomationDetails { id }),
            },
            br#","results":["#,
        )?;
        head.extend_from_slice(&self.buf);
        out.write_all(&head)
    }

    fn finding(&mut self, out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
        let Some(&rule_index) = self.rule_index.get(&*finding.rule_id) else {
            // A result whose rule is not in the driver is rejected by code
            // scanning: refuse to write a log it would throw away.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "finding for rule `{}`, which is not among the run's rules",
                    finding.rule_id
                ),
            ));
        };
        let result = SarifResult {
            rule_id: &finding.rule_id,
            rule_index,
            level: level(finding.severity),
            baseline_state: self.baseline_state.then_some("new"),
            message: Message {
                text: first_nonempty(&[&finding.message, &finding.title, &finding.rule_id]),
            },
            locations: [ResultLocation {
                physical_location: PhysicalLocation {
                    artifact_location: self.artifact(&finding.location.path),
                    // SARIF lines start at 1; a record always has a line, so
                    // 0 could only come from a bug upstream.
                    region: Some(Region {
                        start_line: finding.location.line.max(1),
                    }),
                },
                logical_locations: logical_locations(&finding.sign_in),
            }],
            related_locations: finding
                .episode
                .iter()
                .flat_map(|e| e.records.iter())
                .filter(|r| {
                    !(r.path == *finding.location.path
                        && r.line == finding.location.line
                        && r.record == finding.location.record)
                })
                .enumerate()
                .map(|(i, r)| RelatedLocation {
                    id: i as u64 + 1,
                    physical_location: PhysicalLocation {
                        artifact_location: self.artifact(&r.path),
                        region: Some(Region {
                            start_line: r.line.max(1),
                        }),
                    },
                    message: OwnedMessage {
                        text: match &r.id {
                            Some(id) => format!("contributing record {id} at {}", r.time),
                            None => format!("contributing record at {}", r.time),
                        },
                    },
                })
                .collect(),
            partial_fingerprints: Fingerprints {
                v1: &finding.fingerprint,
            },
            properties: ResultProperties {
                severity: finding.severity,
                category: &finding.category,
                record: finding.location.record,
                sign_in: &finding.sign_in,
                evidence: &finding.evidence,
            },
        };
        to_buf(&mut self.buf, &result)?;
        // Code scanning takes at most so many results: keep the most
        // severe (the earliest among equals) and write them at the end.
        self.kept.push(Kept {
            severity: std::cmp::Reverse(finding.severity),
            seq: self.seen,
            json: std::mem::take(&mut self.buf),
        });
        self.seen += 1;
        if self.kept.len() > self.max_results {
            self.kept.pop();
        }
        let _ = out;
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        // The most severe first, until the compressed size would pass the
        // limit; then back in input order.
        let mut kept: Vec<Kept> = std::mem::take(&mut self.kept).into_sorted_vec();
        let mut gzip =
            flate2::write::GzEncoder::new(CountingSink(0), flate2::Compression::default());
        let mut fit = 0;
        for k in &kept {
            gzip.write_all(&k.json)?;
            gzip.flush()?;
            if gzip.get_ref().0 > self.max_gzip_bytes {
                break;
            }
            fit += 1;
        }
        kept.truncate(fit);
        kept.sort_by_key(|k| k.seq);
        for k in &kept {
            let sep = self.results.next_item()?;
            out.write_all(sep)?;
            out.write_all(&k.json)?;
        }
        let cut = (kept.len() as u64) < self.seen;
        let sep = self.results.close()?;
        let cut_text = cut.then(|| {
            format!(
                "{} of {} results kept to fit GitHub code scanning's limits ({} results, {} MiB gzipped): the most severe, and the earliest among equals",
                kept.len(),
                self.seen,
                self.max_results,
                self.max_gzip_bytes >> 20
            )
        });
        // A run that checked nothing, could not open an input, or met a
        // record `--strict` fails it for, did not succeed.
        let nothing_checked = super::nothing_checked(summary);
        let unlocated = |level, text| Notification {
            level,
            message: Message { text },
            locations: Vec::new(),
        };
        let unopened = match summary.unopened {
            0 => None,
            1 => Some("1 input could not be opened (see below): the run failed".to_string()),
            n => Some(format!(
                "{n} inputs could not be opened (see below): the run failed"
            )),
        };
        let strict = super::strict_failure(summary).filter(|_| self.strict);
        let notifications = nothing_checked
            .iter()
            .chain(&unopened)
            .chain(&strict)
            .map(|text| unlocated("error", text))
            .chain(cut_text.iter().map(|text| unlocated("warning", text)))
            .chain(
                summary
                    .problems
                    .iter()
                    .map(|p| self.notification("warning", p)),
            )
            .chain(summary.skipped.iter().map(|p| self.notification("note", p)))
            .collect();
        let tail = RunTail {
            invocations: [Invocation {
                execution_successful: nothing_checked.is_none()
                    && summary.unopened == 0
                    && strict.is_none(),
                command_line: &self.command_line,
                tool_execution_notifications: notifications,
            }],
            properties: RunProperties {
                summary: Counts {
                    records: summary.totals.records,
                    evaluated: summary.totals.evaluated,
                    unreadable: summary.totals.unreadable,
                    untargeted: summary.totals.untargeted,
                    findings: summary.totals.findings,
                    files: summary.files.len(),
                    skipped: summary.skipped.len(),
                    rules: summary.rules,
                    by_severity: &summary.by_severity,
                    by_rule: &summary.by_rule,
                },
            },
        };
        to_buf(&mut self.buf, &tail)?;
        // The tail's members go on the run object, which is still open.
        let members = object_members(&self.buf)?;
        let mut end = Vec::with_capacity(members.len() + 8);
        end.extend_from_slice(sep);
        end.extend_from_slice(b"],");
        end.extend_from_slice(members);
        end.extend_from_slice(b"}]}\n");
        out.write_all(&end)?;
        out.flush()
    }
}

impl SarifEmitter {
    fn notification<'a>(&self, level: &'static str, p: &'a Problem) -> Notification<'a> {
        Notification {
            level,
            message: Message {
                text: first_nonempty(&[&p.reason]),
            },
            locations: vec![NotificationLocation {
                physical_location: PhysicalLocation {
                    artifact_location: self.artifact(&p.path),
                    // Line 0 means the whole file: no region.
                    region: (p.line > 0).then_some(Region { start_line: p.line }),
                },
            }],
        }
    }
}

/// The SARIF level of a severity: code scanning shows `error` results as
/// failures, so only high and critical are errors.
fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The score code scanning sorts and labels security alerts by (critical
/// above 9, high 7 to 8.9, medium 4 to 6.9, low below 4), as a string.
fn security_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        Severity::Info => "0.5",
    }
}

fn first_nonempty<'a>(candidates: &[&'a str]) -> &'a str {
    candidates
        .iter()
        .copied()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("-")
}

fn descriptor(rule: &RuleInfo) -> ReportingDescriptor {
    let title = first_nonempty(&[&rule.title, &rule.id]);
    let description = rule.description.trim();
    let body = first_nonempty(&[description, title]);
    let mut text = body.to_string();
    let mut markdown = body.to_string();
    if !rule.references.is_empty() {
        text.push_str("\n\nReferences:\n");
        markdown.push_str("\n\n**References**\n\n");
        for r in &rule.references {
            text.push_str(&format!("- {r}\n"));
            if is_plain_url(r) {
                markdown.push_str(&format!("- <{r}>\n"));
            } else {
                markdown.push_str(&format!("- {r}\n"));
            }
        }
    }
    let mut tags = rule.tags.clone();
    // Code scanning reads `security-severity` only on rules tagged
    // `security`; every tollgate rule is one.
    if !tags.iter().any(|t| t == "security") {
        tags.push("security".into());
    }
    ReportingDescriptor {
        id: rule.id.to_string(),
        name: pascal_case(title).unwrap_or_else(|| rule.id.to_string()),
        short_description: Text {
            text: title.to_string(),
        },
        full_description: Text {
            text: first_paragraph(description).unwrap_or_else(|| title.to_string()),
        },
        help: Help { text, markdown },
        default_configuration: Configuration {
            level: level(rule.severity),
        },
        properties: RuleProperties {
            tags,
            security_severity: security_severity(rule.severity),
        },
    }
}

/// Whether `s` can go in a markdown autolink as it is.
fn is_plain_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
}

/// `Interactive sign-in succeeded` → `InteractiveSignInSucceeded`; `None`
/// when the title has no letter or digit.
fn pascal_case(title: &str) -> Option<String> {
    let mut name = String::new();
    for word in title.split(|c: char| !c.is_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    (!name.is_empty()).then_some(name)
}

/// The first paragraph of a markdown description, its lines joined.
fn first_paragraph(description: &str) -> Option<String> {
    let lines: Vec<&str> = description
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

/// The sign-in as code scanning's logical location: its Graph resource.
fn logical_locations(sign_in: &SignIn) -> Vec<LogicalLocation<'_>> {
    match sign_in.id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => vec![LogicalLocation {
            name: id,
            kind: "object",
            fully_qualified_name: format!("auditLogs/signIns/{id}"),
        }],
        None => Vec::new(),
    }
}

/// A log path as a plain relative path under `base` (the working
/// directory) when it lies inside it, with `/` separators; else as given.
/// GitHub annotations want this form.
pub(crate) fn path_under(path: &str, base: &Path) -> String {
    let given = Path::new(path);
    let full = normalize(&base.join(given));
    let shown = match full.strip_prefix(base) {
        Ok(rest) if rest.components().next().is_some() => rest.to_path_buf(),
        _ => normalize(given),
    };
    // Joined with `/`; the root of an absolute path is its leading `/`,
    // not a part of its own (which gave `//work/...`).
    let mut out = String::new();
    for part in shown.components() {
        if !out.is_empty() && !out.ends_with('/') {
            out.push('/');
        }
        match part {
            std::path::Component::RootDir => out.push('/'),
            other => out.push_str(&other.as_os_str().to_string_lossy()),
        }
    }
    out
}

/// Where a log path points, as SARIF wants it.
fn artifact_location(path: &str, base: Option<&Path>) -> ArtifactLocation {
    if path == "-" {
        return ArtifactLocation {
            uri: "stdin".into(),
            uri_base_id: None,
        };
    }
    let given = Path::new(path);
    let full = match base {
        Some(base) if given.is_relative() => normalize(&base.join(given)),
        _ => normalize(given),
    };
    if let Some(rest) = base.and_then(|b| full.strip_prefix(b).ok())
        && rest.components().next().is_some()
    {
        return ArtifactLocation {
            uri: relative_uri(rest),
            uri_base_id: Some(SRCROOT),
        };
    }
    ArtifactLocation {
        uri: if full.is_absolute() {
            file_uri(&full)
        } else {
            relative_uri(&full)
        },
        uri_base_id: None,
    }
}

/// Resolves `.` and `..` without touching the file system: the file may be
/// gone by now, and a symlinked path should be shown as the user gave it.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `..` above the root is the root.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            c => out.push(c),
        }
    }
    out
}

/// A relative path as a URI reference: segments percent-encoded, `/`
/// between them whatever the platform.
fn relative_uri(path: &Path) -> String {
    let segments: Vec<String> = path
        .components()
        .map(|c| match c {
            Component::ParentDir => "..".to_string(),
            c => encode_segment(c.as_os_str().as_encoded_bytes()),
        })
        .collect();
    segments.join("/")
}

/// An absolute path as a `file:` URI (`file:///C:/...` for a Windows drive).
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for c in path.components() {
        match c {
            Component::Prefix(p) => {
                uri.push('/');
                uri.push_str(&p.as_os_str().to_string_lossy().replace('\\', "/"));
            }
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => uri.push_str("/.."),
            Component::Normal(s) => {
                uri.push('/');
                uri.push_str(&encode_segment(s.as_encoded_bytes()));
            }
        }
    }
    if uri == "file://" {
        uri.push('/');
    }
    uri
}

/// A directory's `file:` URI, ending in `/` as SARIF wants of a base.
fn directory_uri(dir: &Path) -> String {
    let mut uri = file_uri(dir);
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Percent-encodes one path segment (RFC 3986 `segment`), leaving only
/// unreserved characters and the sub-delimiters that are safe in a path.
/// `:` is encoded too, so a first segment cannot read as a scheme.
fn encode_segment(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@' => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The code-scanning checks the tests hold the output to, shared with the
/// integration tests.
#[cfg(test)]
#[path = "../../../tests/common/sarif_check.rs"]
mod sarif_check;

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::report::testdata;

    const BASE: &str = "/work/repo";

    fn render(with_findings: bool) -> String {
        testdata::render(&mut SarifEmitter::with_base(BASE), false, with_findings)
    }

    /// Fails the test unless code scanning would accept `sarif`.
    fn check(sarif: &str) {
        super::sarif_check::assert_accepted(sarif);
    }

    /// A path under the base is relative to it; one elsewhere keeps its
    /// own form, with one leading `/` when absolute.
    #[cfg(unix)]
    #[test]
    fn paths_are_shown_under_the_base() {
        let base = Path::new("/repo");
        assert_eq!(path_under("/repo/logs/a.json", base), "logs/a.json");
        assert_eq!(path_under("logs/./a.json", base), "logs/a.json");
        assert_eq!(
            path_under("/work/shared/x.json", base),
            "/work/shared/x.json"
        );
        assert_eq!(path_under("/", base), "/");
    }

    #[test]
    fn sarif_passes_the_code_scanning_checker() {
        check(&render(true));
    }

    /// Why: a checker that accepts everything would make every SARIF test
    /// pass; it must catch both a schema violation and a code-scanning need.
    #[test]
    fn the_checker_rejects_what_code_scanning_rejects() {
        let good: Value = serde_json::from_str(&render(true)).unwrap();
        assert!(super::sarif_check::problems(&good).is_empty());
        let mut bad = good.clone();
        bad["version"] = json!("2.0");
        let found = super::sarif_check::problems(&bad);
        assert!(
            found.iter().any(|p| p.starts_with("schema: /version")),
            "{found:?}"
        );
        let mut bad = good;
        let region =
            &mut bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
        region.as_object_mut().unwrap().remove("startLine");
        bad["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"] =
            json!("11");
        let found = super::sarif_check::problems(&bad);
        assert!(
            found
                .iter()
                .any(|p| p.ends_with("first location has no region.startLine")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains("security-severity must be")),
            "{found:?}"
        );
    }

    #[test]
    fn sarif_without_findings_is_valid_with_empty_results() {
        let text = render(false);
        check(&text);
        let log: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(log["runs"][0]["results"], json!([]));
    }

    #[test]
    fn sarif_with_hostile_strings_stays_valid() {
        let rules = testdata::rules();
        let findings = vec![testdata::hostile_finding()];
        let summary = testdata::summary(&findings);
        let text = testdata::render_with(
            &mut SarifEmitter::with_base(BASE),
            &testdata::run(&rules, false),
            &findings,
            &summary,
        );
        check(&text);
        let log: Value = serde_json::from_str(&text).unwrap();
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["message"]["text"], testdata::HOSTILE);
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "logs/we%22ird%0Aname.jsonl"
        );
    }

    #[test]
    fn sarif_results_point_at_their_rules_and_lines() {
        let log: Value = serde_json::from_str(&render(true)).unwrap();
        assert_eq!(log["$schema"], SCHEMA_URI);
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "tollgate");
        assert_eq!(driver["informationUri"], INFORMATION_URI);
        let rules = driver["rules"].as_array().unwrap();
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        for r in results {
            let index = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], r["ruleId"]);
        }
        assert_eq!(results[1]["ruleIndex"], 1);
        assert_eq!(results[1]["level"], "error");

        let first = &results[0];
        assert_eq!(first["level"], "warning");
        let loc = &first["locations"][0];
        assert_eq!(
            loc["physicalLocation"],
            json!({
                "artifactLocation": {"uri": "examples/logs/graph.jsonl", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 3}
            })
        );
        assert_eq!(
            loc["logicalLocations"][0],
            json!({
                "name": "66ea54eb-6301-4ee5-be62-ff5a759b8100",
                "kind": "object",
                "fullyQualifiedName": "auditLogs/signIns/66ea54eb-6301-4ee5-be62-ff5a759b8100"
            })
        );
        assert_eq!(
            first["partialFingerprints"],
            json!({"tollgate/v1": "3f1c2a9d8e7b6a50"})
        );
        assert_eq!(first["properties"]["record"], 2);
        assert_eq!(first["properties"]["category"], "interactive");
        assert_eq!(
            first["properties"]["signIn"]["userPrincipalName"],
            "alice@contoso.com"
        );
        assert_eq!(first["properties"]["evidence"][2]["outcome"], false);
        assert_eq!(
            results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "exports/sign%20ins%20%231.json"
        );
        // Standard input, and no sign-in id: no logical location.
        assert_eq!(
            results[2]["locations"][0],
            json!({"physicalLocation": {"artifactLocation": {"uri": "stdin"}, "region": {"startLine": 1}}})
        );
        assert_eq!(
            run["originalUriBaseIds"],
            json!({"%SRCROOT%": {"uri": "file:///work/repo/"}})
        );
    }

    #[test]
    fn sarif_rules_carry_what_code_scanning_shows() {
        let log: Value = serde_json::from_str(&render(false)).unwrap();
        let rules = &log["runs"][0]["tool"]["driver"]["rules"];
        assert_eq!(
            rules[0],
            json!({
                "id": "TG-CA-001",
                "name": "InteractiveSignInSucceededWithoutConditionalAccess",
                "shortDescription": {"text": "Interactive sign-in succeeded without Conditional Access"},
                "fullDescription": {"text": "A user signed in interactively and no Conditional Access policy applied."},
                "help": {
                    "text": "A user signed in interactively and no Conditional Access\npolicy applied.\n\nCheck the policies that should cover this app.\n\nReferences:\n- https://learn.microsoft.com/entra/identity/monitoring-health/concept-interactive-sign-ins\n",
                    "markdown": "A user signed in interactively and no Conditional Access\npolicy applied.\n\nCheck the policies that should cover this app.\n\n**References**\n\n- <https://learn.microsoft.com/entra/identity/monitoring-health/concept-interactive-sign-ins>\n"
                },
                "defaultConfiguration": {"level": "warning"},
                "properties": {"tags": ["conditional-access", "security"], "security-severity": "5.5"}
            })
        );
        // No description: the title stands in.
        assert_eq!(
            rules[1]["fullDescription"]["text"],
            "High-risk sign-in succeeded"
        );
        assert_eq!(rules[1]["help"]["text"], "High-risk sign-in succeeded");
        assert_eq!(rules[1]["properties"]["security-severity"], "8.0");
        assert_eq!(rules[1]["defaultConfiguration"]["level"], "error");
    }

    #[test]
    fn sarif_invocation_lists_problems_and_skipped_files() {
        let log: Value = serde_json::from_str(&render(true)).unwrap();
        let run = &log["runs"][0];
        let inv = &run["invocations"][0];
        assert_eq!(inv["executionSuccessful"], true);
        assert_eq!(inv["commandLine"], "tollgate check --format x \"logs dir\"");
        assert_eq!(
            inv["toolExecutionNotifications"],
            json!([
                {
                    "level": "warning",
                    "message": {"text": "expected `,` or `}` at column 18"},
                    "locations": [{"physicalLocation": {
                        "artifactLocation": {"uri": "examples/logs/graph.jsonl", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 7}
                    }}]
                },
                {
                    "level": "note",
                    "message": {"text": "not a log file"},
                    "locations": [{"physicalLocation": {
                        "artifactLocation": {"uri": "examples/logs/README.md", "uriBaseId": "%SRCROOT%"}
                    }}]
                }
            ])
        );
        let counts = &run["properties"]["summary"];
        assert_eq!(counts["records"], 6);
        assert_eq!(counts["evaluated"], 5);
        assert_eq!(counts["unreadable"], 1);
        assert_eq!(counts["findings"], 3);
        assert_eq!(counts["files"], 3);
    }

    /// Why: a run that checked nothing, or could not open an input, was
    /// marked successful.
    #[test]
    fn a_failed_run_is_no_successful_execution() {
        let rules = testdata::rules();
        let run = testdata::run(&rules, false);
        let invocation = |summary: &Summary| -> Value {
            let text =
                testdata::render_with(&mut SarifEmitter::with_base(BASE), &run, &[], summary);
            let log: Value = serde_json::from_str(&text).unwrap();
            log["runs"][0]["invocations"][0].clone()
        };
        let mut summary = testdata::summary(&[]);
        assert_eq!(invocation(&summary)["executionSuccessful"], true);
        // Its one unreadable record fails the run with `--strict`.
        let strict = testdata::render_with(
            &mut SarifEmitter::with_base(BASE).with_strict(),
            &run,
            &[],
            &summary,
        );
        let strict: Value = serde_json::from_str(&strict).unwrap();
        let inv = &strict["runs"][0]["invocations"][0];
        assert_eq!(inv["executionSuccessful"], false);
        assert_eq!(
            inv["toolExecutionNotifications"][0]["message"]["text"],
            "1 record is unreadable or not a sign-in, and --strict fails the run"
        );
        // Of the six records read, none checked by a rule.
        summary.totals.evaluated = summary.totals.untargeted;
        summary.totals.not_sign_in =
            summary.totals.records - summary.totals.unreadable - summary.totals.evaluated;
        summary.unopened = 1;
        let inv = invocation(&summary);
        assert_eq!(inv["executionSuccessful"], false);
        // The input that could not be opened is the error: no "nothing
        // was checked" beside it.
        assert!(!inv.to_string().contains("nothing was checked"), "{inv}");
        let first = &inv["toolExecutionNotifications"][0];
        assert_eq!(first["level"], "error");
        assert_eq!(
            first["message"]["text"],
            "1 input could not be opened (see below): the run failed"
        );
        summary.unopened = 0;
        let inv = invocation(&summary);
        assert_eq!(inv["executionSuccessful"], false);
        let first = &inv["toolExecutionNotifications"][0];
        assert_eq!(first["level"], "error");
        assert_eq!(
            first["message"]["text"],
            "none of the 6 records was checked by a rule (1 unreadable, 4 not sign-ins, \
             1 of a log no loaded rule reads): nothing was checked"
        );
        check(&testdata::render_with(
            &mut SarifEmitter::with_base(BASE),
            &run,
            &[],
            &summary,
        ));
    }

    #[test]
    fn a_finding_of_an_unknown_rule_is_an_error() {
        let rules = testdata::rules();
        let mut e = SarifEmitter::with_base(BASE);
        let mut out = Vec::new();
        e.begin(&mut out, &testdata::run(&rules, false)).unwrap();
        let mut f = testdata::findings().remove(0);
        f.rule_id = "TG-NOPE".into();
        let err = e.finding(&mut out, &f).unwrap_err();
        assert!(err.to_string().contains("TG-NOPE"));
    }

    #[test]
    fn paths_become_uri_references() {
        let base = Some(Path::new("/work/repo"));
        let uri = |p: &str| artifact_location(p, base);
        let rel = |u: &str| ArtifactLocation {
            uri: u.into(),
            uri_base_id: Some(SRCROOT),
        };
        let abs = |u: &str| ArtifactLocation {
            uri: u.into(),
            uri_base_id: None,
        };
        assert_eq!(uri("logs/a.jsonl"), rel("logs/a.jsonl"));
        assert_eq!(uri("./logs/../logs/a.jsonl"), rel("logs/a.jsonl"));
        assert_eq!(uri("/work/repo/logs/a b.json"), rel("logs/a%20b.json"));
        assert_eq!(uri("c:x.json"), rel("c%3Ax.json"));
        assert_eq!(uri("日志/é.json"), rel("%E6%97%A5%E5%BF%97/%C3%A9.json"));
        assert_eq!(uri("../other/a.json"), abs("file:///work/other/a.json"));
        assert_eq!(uri("/var/log/x?y#z"), abs("file:///var/log/x%3Fy%23z"));
        assert_eq!(uri("-"), abs("stdin"));
        // Without a base, relative paths stay relative.
        assert_eq!(artifact_location("../a/./b.json", None), abs("../a/b.json"));
    }

    #[test]
    fn names_and_paragraphs() {
        assert_eq!(
            pascal_case("Interactive sign-in succeeded without Conditional Access").as_deref(),
            Some("InteractiveSignInSucceededWithoutConditionalAccess")
        );
        assert_eq!(pascal_case(" -- "), None);
        assert_eq!(
            first_paragraph("\n  One\n  two.\n\nThree.").as_deref(),
            Some("One two.")
        );
        assert_eq!(first_paragraph("  \n"), None);
    }
}

/// A writer that only counts the bytes written to it.
#[derive(Debug)]
struct CountingSink(usize);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
