//! The output contracts CI pipelines rely on: the `json` / `jsonl` wire
//! format (read here into types defined in this test, not the library's),
//! its JSON Schema, SARIF fingerprints, baselines, the config file, GitHub
//! annotations and GitHub's SARIF limits.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

use common::{stderr, tollgate_in};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tollgate(args: &[&str]) -> Output {
    tollgate_in(&root(), args)
}

// The wire format, as a consumer would write it. Unknown fields are
// refused so that any change to the format is seen here first.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Report {
    schema_version: String,
    tool: Tool,
    rules: Vec<Rule>,
    findings: Vec<Finding>,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct Rule {
    id: String,
    title: String,
    severity: String,
    description: String,
    references: Vec<String>,
    tags: Vec<String>,
    logs: Vec<String>,
    source: String,
    line: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct Finding {
    rule_id: String,
    title: String,
    severity: String,
    message: String,
    location: FindingLocation,
    category: String,
    sign_in: SignIn,
    evidence: Vec<Evidence>,
    fingerprint: String,
    #[serde(default)]
    episode: Option<Episode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct Episode {
    group: std::collections::BTreeMap<String, String>,
    window_start: String,
    window_end: String,
    count: u64,
    #[serde(default)]
    distinct: std::collections::BTreeMap<String, DistinctValues>,
    records: Vec<Contributor>,
    records_total: u64,
    #[serde(default)]
    steps: Vec<StepRecords>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct DistinctValues {
    values: Vec<String>,
    total: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct Contributor {
    path: String,
    line: u64,
    record: u64,
    id: Option<String>,
    time: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct StepRecords {
    name: String,
    #[serde(default)]
    absent: bool,
    records: Vec<Contributor>,
    total: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingLocation {
    path: String,
    line: u64,
    record: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct SignIn {
    id: Option<String>,
    created_date_time: Option<String>,
    user_principal_name: Option<String>,
    ip_address: Option<String>,
    app_display_name: Option<String>,
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct Evidence {
    condition: String,
    field: String,
    operator: String,
    expected: serde_json::Value,
    actual: serde_json::Value,
    outcome: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct Summary {
    records: u64,
    evaluated: u64,
    unreadable: u64,
    not_sign_in: u64,
    untargeted: u64,
    findings: u64,
    by_severity: std::collections::BTreeMap<String, u64>,
    by_rule: std::collections::BTreeMap<String, u64>,
    rules: u64,
    files: Vec<serde_json::Value>,
    skipped: Vec<serde_json::Value>,
    problems: Vec<serde_json::Value>,
    accepted: Accepted,
    duplicates: u64,
    #[serde(default)]
    untimed: u64,
    #[serde(default)]
    first_untimed: Option<serde_json::Value>,
    #[serde(default)]
    late: u64,
    #[serde(default)]
    repeated: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "read to check the wire format, not every field is asserted"
)]
struct Accepted {
    baseline: u64,
    exceptions: Vec<serde_json::Value>,
}

#[test]
fn json_output_reads_into_independent_types() {
    let o = tollgate(&["check", "examples/", "--format", "json"]);
    let report: Report =
        serde_json::from_slice(&o.stdout).expect("the json report keeps its contract");
    assert_eq!(report.schema_version, "2.0");
    assert_eq!(report.tool.name, "tollgate");
    assert!(!report.tool.version.is_empty());
    assert!(report.rules.len() >= 5);
    assert_eq!(report.summary.findings as usize, report.findings.len());
    assert_eq!(
        report.summary.records,
        report.summary.evaluated + report.summary.unreadable + report.summary.not_sign_in
    );
    for f in &report.findings {
        assert!(f.location.line >= 1);
        assert!(f.location.path.starts_with("examples/"));
        assert_eq!(f.fingerprint.len(), 32);
        assert!(!f.evidence.is_empty());
        let _ = f.location.record;
    }
}

#[test]
fn jsonl_lines_read_into_independent_types() {
    let o = tollgate(&[
        "check",
        "examples/logs/graph-signins.jsonl",
        "--format",
        "jsonl",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    for line in text.lines() {
        // A line is a finding plus its schemaVersion.
        let mut fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).expect("a JSON object");
        let version = fields.remove("schemaVersion");
        assert!(
            version
                .as_ref()
                .and_then(|v| v.as_str())
                .is_some_and(|v| v == "2.0"),
            "{version:?}"
        );
        let finding: Finding = serde_json::from_value(serde_json::Value::Object(fields))
            .expect("a jsonl line keeps its contract");
        assert!(!finding.rule_id.is_empty());
    }
}

/// Validates a report against `schemas/report.schema.json`: the whole
/// document (`pointer` `#`) or each line against a definition
/// (`#/$defs/jsonlLine`).
fn validate_with_schema(instance: &Path, pointer: &str) {
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("schemas/report.schema.json")).expect("read the report schema"),
    )
    .expect("the report schema is JSON");
    let target = if pointer == "#" {
        schema
    } else {
        serde_json::json!({ "$defs": schema["$defs"], "$ref": pointer })
    };
    let validator = jsonschema::draft202012::new(&target).expect("the report schema compiles");
    let text = std::fs::read_to_string(instance).expect("read the report");
    let docs: Vec<serde_json::Value> = if pointer == "#" {
        vec![serde_json::from_str(&text).expect("a JSON document")]
    } else {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    };
    assert!(
        !docs.is_empty(),
        "nothing to validate in {}",
        instance.display()
    );
    let errors: Vec<String> = docs
        .iter()
        .flat_map(|d| {
            validator
                .iter_errors(d)
                .map(|e| format!("{}: {e}", e.instance_path()))
        })
        .collect();
    assert!(
        errors.is_empty(),
        "schema validation failed:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_json_schemas_validate_real_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("out.json");
    let jsonl = dir.path().join("out.jsonl");
    let log = dir.path().join("mixed.jsonl");
    std::fs::write(
        &log,
        "{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}}\nnot json\n",
    )
    .expect("write");
    let paths = ["examples/", log.to_str().unwrap_or_default()];
    tollgate(&[
        "check",
        paths[0],
        paths[1],
        "--format",
        "json",
        "--output",
        json.to_str().unwrap_or_default(),
    ]);
    tollgate(&[
        "check",
        paths[0],
        paths[1],
        "--format",
        "jsonl",
        "--output",
        jsonl.to_str().unwrap_or_default(),
    ]);
    validate_with_schema(&json, "#");
    validate_with_schema(&jsonl, "#/$defs/jsonlLine");
}

/// Why: an input that passed discovery but could not be opened (here a
/// socket, which no `open` reads) gave a report its own schema rejected
/// (`unopened` was not in it) and, with `--quiet`, no word of why the run
/// failed.
#[cfg(unix)]
#[test]
fn an_input_that_cannot_be_opened_is_said_and_fits_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("socket.jsonl");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let json = dir.path().join("out.json");
    let o = tollgate(&[
        "check",
        "examples/logs/graph-signins.jsonl",
        socket.to_str().unwrap_or_default(),
        "--format",
        "json",
        "--output",
        json.to_str().unwrap_or_default(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error: ") && err.contains("socket.jsonl"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    assert_eq!(report["summary"]["unopened"], 1);
    validate_with_schema(&json, "#");
}

fn sarif_fingerprints(dir: &Path, log: &str) -> Vec<(String, String)> {
    let out = dir.join(format!("{}.sarif", log.replace('/', "_")));
    let o = tollgate_in(
        dir,
        &[
            "check",
            log,
            "--format",
            "sarif",
            "--output",
            out.to_str().unwrap_or_default(),
        ],
    );
    assert!(o.status.code() == Some(1), "{}", stderr(&o));
    common::sarif_check::assert_accepted(&std::fs::read_to_string(&out).expect("read the SARIF"));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("json");
    let mut prints: Vec<(String, String)> = v["runs"][0]["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["ruleId"].as_str().unwrap_or_default().to_string(),
                        r["partialFingerprints"]["tollgate/v1"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    prints.sort();
    prints
}

#[test]
fn sarif_fingerprints_survive_reruns_and_reformatting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original =
        std::fs::read_to_string(root().join("examples/logs/graph-signins.jsonl")).expect("read");
    std::fs::write(dir.path().join("a.jsonl"), &original).expect("write");
    // The same records, pretty-printed as a JSON array with keys reordered.
    let records: Vec<serde_json::Value> = original
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l).expect("record")
        })
        .map(|m| serde_json::Value::Object(m.into_iter().rev().collect()))
        .collect();
    std::fs::write(
        dir.path().join("b.json"),
        serde_json::to_string_pretty(&records).expect("json"),
    )
    .expect("write");
    let first = sarif_fingerprints(dir.path(), "a.jsonl");
    assert!(first.len() >= 5);
    assert_eq!(sarif_fingerprints(dir.path(), "a.jsonl"), first);
    assert_eq!(sarif_fingerprints(dir.path(), "b.json"), first);
}

#[test]
fn baseline_round_trip_reports_only_new_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("signins.jsonl");
    let old = "{\"id\": \"a\", \"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}}\n";
    std::fs::write(&log, old).expect("write");
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "signins.jsonl",
            "--write-baseline",
            "baseline.json",
            "-q",
        ],
    );
    // Writing a baseline accepts today's findings: it succeeds, so the
    // README's "accept today's findings" step passes in CI.
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Nothing new: exit 0, and the accepted finding is counted.
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "signins.jsonl",
            "--baseline",
            "baseline.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["summary"]["findings"], 0);
    assert_eq!(v["summary"]["accepted"]["baseline"], 1);
    // A new offending record: only it is reported, and it fails the run.
    let new = "{\"id\": \"b\", \"clientAppUsed\": \"POP3\", \"status\": {\"errorCode\": 0}}\n";
    std::fs::write(&log, format!("{old}{new}")).expect("write");
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "signins.jsonl",
            "--baseline",
            "baseline.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["signIn"]["id"], "b");
    // SARIF marks the reported result new.
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "signins.jsonl",
            "--baseline",
            "baseline.json",
            "--format",
            "sarif",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("sarif");
    assert_eq!(v["runs"][0]["results"][0]["baselineState"], "new");
}

#[test]
fn config_sets_defaults_and_flags_override_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("signins.jsonl"),
        "{\"id\": \"a\", \"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}, \"userPrincipalName\": \"svc@contoso.com\"}\n{\"id\": \"b\", \"tokenIssuerType\": \"ADFederationServices\"}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "format: jsonl\nfailOn: critical\ndisable: [TG-FED-001, TG-FED-002]\nseverity: { TG-LEG-001: low }\n",
    )
    .expect("write");
    // The config: jsonl, legacy auth at low, AD FS off, fail only on critical.
    let o = tollgate_in(dir.path(), &["check", "signins.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl from the config's format"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["ruleId"], "TG-LEG-001");
    assert_eq!(lines[0]["severity"], "low");
    // Flags win over the config.
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "signins.jsonl",
            "--format",
            "json",
            "--fail-on",
            "low",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json from the flag");
    assert_eq!(v["summary"]["findings"], 1);
    // An exception accepts the finding visibly.
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "format: json\nexceptions:\n  - rule: TG-LEG-001\n    users: [SVC@contoso.com]\n    reason: mail relay, moves to OAuth in Q3\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["check", "signins.jsonl"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the AD FS finding is still reported"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["summary"]["accepted"]["exceptions"][0]["findings"], 1);
    assert_eq!(
        v["summary"]["accepted"]["exceptions"][0]["reason"],
        "mail relay, moves to OAuth in Q3"
    );
}

#[test]
fn config_mistakes_are_shown_with_spans() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "format: sarif\nfailOn: hihg\nrulez: [x]\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("a.jsonl"), "{}\n").expect("write");
    let o = tollgate_in(dir.path(), &["check", "a.jsonl", "--error-format", "plain"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("tollgate.yaml:2:9: error[tollgate::config]: `hihg` is not a valid `failOn`"),
        "{err}"
    );
    assert!(err.contains("did you mean `high`?"), "{err}");
    assert!(
        err.contains("tollgate.yaml:3:1: error[tollgate::config]: unknown config key `rulez`"),
        "{err}"
    );
    assert!(err.contains("did you mean `rules`?"), "{err}");
}

#[test]
fn github_annotations_are_escaped_and_summarized() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.jsonl"),
        "{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}, \"userPrincipalName\": \"a%b@x.com\"}\n",
    )
    .expect("write");
    let summary = dir.path().join("summary.md");
    let o = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["check", "a.jsonl", "--format", "github"])
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("::error file=a.jsonl,line=1,title=TG-LEG-001 Legacy authentication sign-in succeeded::a%25b@x.com signed in"),
        "{out}"
    );
    let md = std::fs::read_to_string(&summary).expect("step summary written");
    assert!(md.contains("| `TG-LEG-001` |"), "{md}");
    assert!(md.contains("| high | 1 |"), "{md}");
}

#[test]
fn sarif_over_githubs_limits_is_cut_by_severity() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("rules.yaml"),
        "id: LOW-1\ntitle: any sign-in\nseverity: low\nmatch: { status.errorCode: { exists: true } }\n---\nid: HIGH-1\ntitle: failed sign-in\nseverity: high\nmatch: { status.errorCode: 50126 }\n",
    )
    .expect("write");
    // 25,100 low findings, and 100 high ones at the end of the file.
    let mut log = String::new();
    for i in 0..25_100 {
        log.push_str(&format!(
            "{{\"id\":\"{i}\",\"status\":{{\"errorCode\":0}}}}\n"
        ));
    }
    for i in 0..100 {
        log.push_str(&format!(
            "{{\"id\":\"h{i}\",\"status\":{{\"errorCode\":50126}}}}\n"
        ));
    }
    std::fs::write(dir.path().join("big.jsonl"), log).expect("write");
    let out = dir.path().join("out.sarif");
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "big.jsonl",
            "--rules",
            "rules.yaml",
            "--format",
            "sarif",
            "--output",
            out.to_str().unwrap_or_default(),
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("json");
    let results = v["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 25_000);
    let high = results.iter().filter(|r| r["ruleId"] == "HIGH-1").count();
    assert_eq!(
        high, 100,
        "every high result is kept, though they come last"
    );
    // Results stay in input order.
    let lines: Vec<u64> = results
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64())
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]));
    let note = &v["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"];
    assert!(
        note.as_str()
            .is_some_and(|t| t.starts_with("25000 of 25300 results kept")),
        "{note}"
    );
    common::sarif_check::assert_accepted(&std::fs::read_to_string(&out).expect("read the SARIF"));
}
