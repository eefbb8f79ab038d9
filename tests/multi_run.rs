//! Window and sequence rules end to end through `tollgate check`: the three
//! rules of the contract on small generated logs, and results that do not
//! depend on file order, record order or thread count.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const FIXTURE: &str = "tests/fixtures/rules/multi-record.yaml";

/// The contract's spray example without its count, as its semantics
/// describe it: 12 accounts one a minute against `distinct >= 5`.
const SPRAY: &str = r#"
id: SPRAY-5
title: Password spray from one IP address
severity: high
match: { status.errorCode: [50126, 50053, 50055] }
window:
  groupBy: [ipAddress]
  span: 20m
  distinct: { userPrincipalName: { gte: 5 } }
message: "{ipAddress} failed sign-ins for {distinct.userPrincipalName} accounts in {window.duration} ({count} attempts)"
"#;

fn guid(n: u64) -> String {
    format!("00000000-0000-0000-0000-{n:012x}")
}

fn sign_in(n: u64, minute: u64, user: &str, ip: &str, code: u64) -> Value {
    json!({
        "id": guid(n),
        "createdDateTime": format!("2025-03-01T10:{minute:02}:00Z"),
        "userPrincipalName": user,
        "ipAddress": ip,
        "status": { "errorCode": code },
        "isInteractive": true,
    })
}

fn write_jsonl(path: &Path, records: &[Value]) {
    let mut f = std::fs::File::create(path).expect("create");
    for r in records {
        writeln!(f, "{r}").expect("write");
    }
}

fn check(rules: &Path, paths: &[&Path], extra: &[&str]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    cmd.arg("check")
        .arg("--rules")
        .arg(rules)
        .args(["--format", "json", "--quiet"])
        .args(extra);
    for p in paths {
        cmd.arg(p);
    }
    let out: Output = cmd.output().expect("run tollgate");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a json report")
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

/// What must not depend on order or threads: rule, fingerprint, group,
/// count, span and contributing ids.
fn essence(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = findings(report)
        .iter()
        .map(|f| {
            let e = &f["episode"];
            let ids: Vec<&str> = e["records"]
                .as_array()
                .map(|r| r.iter().filter_map(|r| r["id"].as_str()).collect())
                .unwrap_or_default();
            format!(
                "{} {} {} {} {} {} {} {:?}",
                f["ruleId"],
                f["fingerprint"],
                e["group"],
                e["count"],
                e["windowStart"],
                e["windowEnd"],
                f["message"],
                ids
            )
        })
        .collect();
    out.sort();
    out
}

fn spray_records() -> Vec<Value> {
    (0..12)
        .map(|i| {
            sign_in(
                100 + i,
                i,
                &format!("user{i}@contoso.com"),
                "203.0.113.7",
                50126,
            )
        })
        .collect()
}

#[test]
fn a_spray_of_twelve_accounts_gives_two_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("spray.yaml");
    std::fs::write(&rules, SPRAY).expect("rules");
    let logs = dir.path().join("spray.jsonl");
    write_jsonl(&logs, &spray_records());
    let report = check(&rules, &[&logs], &[]);
    let found = findings(&report);
    assert_eq!(found.len(), 2, "{report:#}");
    for f in &found {
        let e = &f["episode"];
        assert!(e["distinct"]["userPrincipalName"]["total"].as_u64() >= Some(5));
        assert_eq!(e["group"]["ipAddress"], "203.0.113.7");
    }
    assert_eq!(found[0]["episode"]["count"], 5);
    assert_eq!(found[0]["location"]["line"], 5);
    assert_eq!(found[1]["location"]["line"], 10);
    assert_eq!(
        found[0]["message"],
        "203.0.113.7 failed sign-ins for 5 accounts in 4m (5 attempts)"
    );
    // The same export read twice: every record is used once.
    let report = check(&rules, &[&logs, &logs], &[]);
    assert_eq!(findings(&report).len(), 2, "{report:#}");
    assert_eq!(report["summary"]["repeated"], 12);
    // The contract's own rule also wants 10 attempts: one finding.
    let report = check(Path::new(FIXTURE), &[&logs], &[]);
    let spray: Vec<Value> = findings(&report)
        .into_iter()
        .filter(|f| f["ruleId"] == "TG-SPRAY-001")
        .collect();
    assert_eq!(spray.len(), 1);
    assert_eq!(spray[0]["episode"]["count"], 10);
}

#[test]
fn brute_force_then_success_from_the_same_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let failures: Vec<Value> = (0..10)
        .map(|i| sign_in(200 + i, i, "Bob@contoso.com", "198.51.100.9", 50126))
        .collect();
    let same = dir.path().join("same.jsonl");
    let mut records = failures.clone();
    records.push(sign_in(300, 12, "bob@contoso.com", "198.51.100.9", 0));
    write_jsonl(&same, &records);
    let report = check(Path::new(FIXTURE), &[&same], &[]);
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["ruleId"], "TG-BF-001");
    assert_eq!(found[0]["location"]["line"], 11);
    assert_eq!(found[0]["episode"]["count"], 11);
    assert_eq!(found[0]["episode"]["steps"][0]["total"], 10);

    let other = dir.path().join("other.jsonl");
    let mut records = failures;
    records.push(sign_in(301, 12, "bob@contoso.com", "192.0.2.99", 0));
    write_jsonl(&other, &records);
    let report = check(Path::new(FIXTURE), &[&other], &[]);
    assert_eq!(findings(&report).len(), 0, "{report:#}");
}

fn graph_call(n: u64, token: &str) -> Value {
    json!({
        "requestId": guid(n),
        "timeGenerated": "2025-03-01T12:00:00Z",
        "requestMethod": "GET",
        "requestUri": "https://graph.microsoft.com/v1.0/me",
        "signInActivityId": token,
    })
}

#[test]
fn a_graph_call_with_no_sign_in_within_the_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls.jsonl");
    write_jsonl(&calls, &[graph_call(500, "tokA")]);
    let report = check(Path::new(FIXTURE), &[&calls], &[]);
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["ruleId"], "TG-GA-900");
    assert_eq!(found[0]["episode"]["group"]["signInActivityId"], "tokA");

    let signins = dir.path().join("signins.jsonl");
    let mut s = sign_in(600, 30, "dan@contoso.com", "192.0.2.5", 0);
    s["createdDateTime"] = json!("2025-03-01T11:30:00Z");
    s["uniqueTokenIdentifier"] = json!("TOKA");
    write_jsonl(&signins, &[s]);
    let report = check(Path::new(FIXTURE), &[&calls, &signins], &[]);
    assert_eq!(findings(&report).len(), 0, "{report:#}");
}

#[test]
fn results_do_not_depend_on_order_or_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.yaml");
    let fixture = std::fs::read_to_string(FIXTURE).expect("fixture");
    std::fs::write(&rules, format!("{fixture}\n---\n{SPRAY}")).expect("rules");
    let mut all = spray_records();
    all.extend((0..10).map(|i| sign_in(200 + i, 30 + i, "bob@contoso.com", "198.51.100.9", 50053)));
    all.push(sign_in(300, 41, "BOB@contoso.com", "198.51.100.9", 0));
    all.push(graph_call(500, "tokA"));
    all.push(graph_call(501, "tokB"));
    // A spray from a second address, interleaved.
    all.extend((0..7).map(|i| {
        sign_in(
            700 + i,
            5 + i,
            &format!("u{i}@contoso.com"),
            "192.0.2.77",
            50055,
        )
    }));
    let (a, b) = all.split_at(all.len() / 2);
    let first = dir.path().join("a.jsonl");
    let second = dir.path().join("b.jsonl");
    write_jsonl(&first, a);
    write_jsonl(&second, b);
    let base = essence(&check(&rules, &[&first, &second], &["--threads", "1"]));
    assert!(base.len() >= 5, "{base:#?}");
    assert_eq!(
        base,
        essence(&check(&rules, &[&second, &first], &["--threads", "2"]))
    );
    // Shuffled (a fixed permutation), newest first, one file.
    let mut shuffled = all.clone();
    shuffled.reverse();
    let n = shuffled.len();
    for i in 0..n {
        shuffled.swap(i, (i * 7 + 3) % n);
    }
    let one = dir.path().join("one.jsonl");
    write_jsonl(&one, &shuffled);
    assert_eq!(base, essence(&check(&rules, &[&one], &["--threads", "1"])));
    assert_eq!(base, essence(&check(&rules, &[&one], &["--threads", "2"])));
}

#[test]
fn a_record_with_no_time_is_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut records = spray_records();
    let mut untimed = sign_in(999, 0, "z@contoso.com", "203.0.113.7", 50126);
    if let Some(o) = untimed.as_object_mut() {
        o.remove("createdDateTime");
    }
    records.push(untimed);
    let logs = dir.path().join("logs.jsonl");
    write_jsonl(&logs, &records);
    let report = check(Path::new(FIXTURE), &[&logs], &[]);
    assert_eq!(report["summary"]["untimed"], 1, "{report:#}");
    assert_eq!(report["summary"]["evaluated"], 13);
}

#[test]
fn standard_input_reports_records_later_than_the_watermark() {
    let mut records = spray_records();
    // 30 minutes behind the newest record: past the 10 minutes of lateness.
    let mut late = sign_in(998, 0, "late@contoso.com", "203.0.113.7", 50126);
    late["createdDateTime"] = json!("2025-03-01T09:30:00Z");
    records.push(late);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["check", "--rules", FIXTURE, "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for r in &records {
            writeln!(stdin, "{r}").expect("write");
        }
    }
    let out = child.wait_with_output().expect("wait");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    // Counted once per rule it would have taken part in: the spray window
    // and the failures step of the brute-force sequence.
    assert_eq!(report["summary"]["late"], 2, "{report:#}");
    assert_eq!(findings(&report).len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("too late for TG-SPRAY-001"), "{stderr}");
}

#[test]
fn the_report_schema_accepts_findings_of_many_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("spray.jsonl");
    let mut records = spray_records();
    records.extend(
        (0..10).map(|i| sign_in(200 + i, 30 + i, "bob@contoso.com", "198.51.100.9", 50126)),
    );
    records.push(sign_in(300, 41, "bob@contoso.com", "198.51.100.9", 0));
    records.push(graph_call(500, "tokA"));
    write_jsonl(&logs, &records);
    let report = check(Path::new(FIXTURE), &[&logs], &[]);
    assert_eq!(findings(&report).len(), 3);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_slice(
        &std::fs::read(root.join("schemas/report.schema.json")).expect("schema"),
    )
    .expect("JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    // SARIF: the other contributing records are related locations.
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["check", "--rules", FIXTURE, "--format", "sarif", "--quiet"])
        .arg(&logs)
        .output()
        .expect("run");
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let schema: Value = serde_json::from_slice(
        &std::fs::read(root.join("schemas/sarif-schema-2.1.0.json")).expect("schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let related: Vec<usize> = sarif["runs"][0]["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|r| r["relatedLocations"].as_array().map_or(0, Vec::len))
                .collect()
        })
        .unwrap_or_default();
    // 10 spray records, 11 of the brute force, the Graph call alone.
    assert_eq!(related, [9, 10, 0]);
}
