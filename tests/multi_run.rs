//! Window and sequence rules end to end through `tollgate check`: the three
//! rules of the contract on small generated logs, and results that do not
//! depend on file order, record order or thread count.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use std::collections::BTreeSet;

use serde_json::{Value, json};

mod common;

use common::Lcg;

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

/// A step's `where` reads a raw field of an earlier step's record as a
/// condition on that record alone reads it: the key spelled as the name
/// when there is one, though another spelling comes first in key order.
#[test]
fn a_raw_field_of_an_earlier_step_reads_as_on_its_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        r#"
id: RAW-STEP
title: The same custom key twice
severity: low
sequence:
  groupBy: [userPrincipalName]
  span: 1h
  steps:
    - name: here
      match: { raw.customKey: { exists: true } }
    - name: there
      match: { status.errorCode: 0 }
      where:
        raw.customKey: { eq: { field: here.raw.customKey } }
"#,
    )
    .expect("write rules");
    let mut first = sign_in(1, 0, "ann@contoso.com", "192.0.2.1", 50126);
    // `CUSTOMKEY` sorts before `customKey`; a condition on this record
    // reads `customKey`.
    first["customKey"] = json!("blue");
    first["CUSTOMKEY"] = json!("red");
    let mut second = sign_in(2, 1, "ann@contoso.com", "192.0.2.1", 0);
    second["customKey"] = json!("blue");
    let log = dir.path().join("log.jsonl");
    write_jsonl(&log, &[first.clone(), second.clone()]);
    let report = check(&rules, &[&log], &[]);
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["ruleId"], "RAW-STEP");
    // The other spelling's value matches nothing.
    second["customKey"] = json!("red");
    write_jsonl(&log, &[first, second]);
    let report = check(&rules, &[&log], &[]);
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
    // When no record at all could be placed in time, and every rule is
    // over many records, nothing was checked: exit 2 even without --strict.
    let only_untimed = dir.path().join("untimed.jsonl");
    let mut none = sign_in(999, 0, "z@contoso.com", "203.0.113.7", 50126);
    if let Some(o) = none.as_object_mut() {
        o.insert("createdDateTime".into(), "yesterday".into());
    }
    write_jsonl(&only_untimed, &[none]);
    // Exit code and standard error of `check` with `flags` over `log`.
    let failed = |flags: &[&str], log: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["check", "--quiet", "--rules", FIXTURE])
            .args(flags)
            .arg(log)
            .output()
            .expect("run tollgate");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = failed(&[], &only_untimed);
    assert_eq!(code, Some(2));
    assert!(err.contains("nothing was checked"), "{err}");
    // With --strict, a record a rule could not use fails the run.
    let (code, err) = failed(&["--strict"], &logs);
    assert_eq!(code, Some(2));
    assert!(err.contains("1 record has no readable time"), "{err}");
    // And located: the file and line of the first such record.
    let first = &report["summary"]["firstUntimed"];
    assert_eq!(first["line"], 13, "{report:#}");
    assert!(
        first["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("logs.jsonl")),
        "{report:#}"
    );
}

/// Bad input for a window: 100,000 addresses that each fail once (a group
/// key with 100,000 values), a spray hidden among them, and times that are
/// broken or missing. The spray is found, every address is checked, and
/// the records without a usable time are counted, not lost.
#[test]
fn a_key_with_a_hundred_thousand_values_and_broken_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("spray.yaml");
    std::fs::write(&rules, SPRAY).expect("rules");
    let n = 100_000u64;
    let mut records: Vec<Value> = (0..n)
        .map(|i| {
            let mut r = sign_in(
                10_000 + i,
                i % 60,
                &format!("user{i}@contoso.com"),
                &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                50126,
            );
            r["createdDateTime"] = json!(format!(
                "2025-03-{:02}T{:02}:{:02}:00Z",
                1 + i / 4000 % 28,
                i / 60 % 24,
                i % 60
            ));
            r
        })
        .collect();
    records.extend(spray_records());
    for (i, time) in ["yesterday", "2025-13-01T00:00:00Z", ""].iter().enumerate() {
        let mut r = sign_in(900 + i as u64, 0, "b@contoso.com", "203.0.113.7", 50126);
        r["createdDateTime"] = json!(time);
        records.push(r);
    }
    let mut r = sign_in(903, 0, "c@contoso.com", "203.0.113.7", 50126);
    if let Some(o) = r.as_object_mut() {
        o.remove("createdDateTime");
    }
    records.push(r);
    let logs = dir.path().join("many.jsonl");
    write_jsonl(&logs, &records);
    let report = check(&rules, &[&logs], &[]);
    assert_eq!(
        report["summary"]["evaluated"],
        n + 12 + 4,
        "{}",
        report["summary"]
    );
    assert_eq!(report["summary"]["untimed"], 4, "{}", report["summary"]);
    let found = findings(&report);
    assert_eq!(found.len(), 2, "{}", report["summary"]);
    assert!(
        found
            .iter()
            .all(|f| f["episode"]["group"]["ipAddress"] == "203.0.113.7")
    );
}

/// `check` of the fixture's rules over `records` piped to standard input,
/// one a line: the JSON report and what was said on standard error.
fn check_stdin(records: &[Value]) -> (Value, String) {
    check_files_then_stdin(&[], records)
}

/// `check` of the fixture's rules over `files`, then `records` on standard
/// input.
fn check_files_then_stdin(files: &[&Path], records: &[Value]) -> (Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["check", "--rules", FIXTURE, "--format", "json"])
        .args(files)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for r in records {
            writeln!(stdin, "{r}").expect("write");
        }
    }
    let out = child.wait_with_output().expect("wait");
    let report = serde_json::from_slice(&out.stdout).expect("json");
    (report, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn standard_input_reports_records_later_than_the_watermark() {
    let mut records = spray_records();
    // 30 minutes behind the newest record: past the 10 minutes of lateness.
    let mut late = sign_in(998, 0, "late@contoso.com", "203.0.113.7", 50126);
    late["createdDateTime"] = json!("2025-03-01T09:30:00Z");
    records.push(late);
    let (report, stderr) = check_stdin(&records);
    // Counted once per rule it would have taken part in: the spray window
    // and the failures step of the brute-force sequence.
    assert_eq!(report["summary"]["late"], 2, "{report:#}");
    assert_eq!(findings(&report).len(), 1);
    assert!(stderr.contains("too late for TG-SPRAY-001"), "{stderr}");
}

/// Why: on standard input, a record delivered again after the watermark
/// passed its first copy (overlapping Graph pages piped in) is a repeat,
/// not a late record to warn about.
#[test]
fn standard_input_knows_a_repeat_behind_the_watermark() {
    let mut records = spray_records();
    // 10:00 again, after 10:11 moved the watermark to 10:01.
    records.push(records[0].clone());
    let (report, stderr) = check_stdin(&records);
    // The summary leaves out a count of zero.
    assert_eq!(report["summary"].get("late"), None, "{report:#}");
    // Once per rule it takes part in: the spray window and the failures
    // step of the brute-force sequence.
    assert_eq!(report["summary"]["repeated"], 2, "{report:#}");
    assert_eq!(findings(&report).len(), 1);
    assert!(!stderr.contains("too late"), "{stderr}");
}

/// Records of a file named before `-` wait for nothing: they join the
/// rules when standard input begins, as if held, and a spray split
/// between the two is found whole.
#[test]
fn a_file_then_standard_input_decide_as_one_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut records = spray_records();
    let later = records.split_off(6);
    records.reverse();
    let first = dir.path().join("first.jsonl");
    write_jsonl(&first, &records);
    let (report, stderr) = check_files_then_stdin(&[&first], &later);
    assert_eq!(report["summary"].get("late"), None, "{report:#}");
    let spray: Vec<&Value> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["ruleId"] == "TG-SPRAY-001")
        .collect();
    assert_eq!(spray.len(), 1, "{report:#}");
    assert_eq!(spray[0]["episode"]["count"], 10, "{stderr}");
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

// ------------------------------------------------------------ travel
//
// A plain reference evaluator of a sequence of two steps that both take
// the successful sign-ins of an account, the second travelling from the
// first, written from the documented semantics; `tollgate check` must give
// the same findings on generated sign-ins (attacks, near misses just under
// and over the speed, pairs exactly at a bound, records without
// coordinates), shuffled, split across files and on one and several
// threads.

/// Ticks of 100 ns in an hour and in a minute.
const HOUR: i64 = 36_000_000_000;
const MINUTE: i64 = HOUR / 60;

/// Cities: (name, latitude, longitude).
const CITIES: [(&str, f64, f64); 10] = [
    ("London", 51.5074, -0.1278),
    ("Reading", 51.4543, -0.9781),
    ("Paris", 48.8566, 2.3522),
    ("New York", 40.7128, -74.006),
    ("Sydney", -33.8688, 151.2093),
    ("Tokyo", 35.6762, 139.6503),
    ("Sao Paulo", -23.5505, -46.6333),
    ("Nairobi", -1.2921, 36.8219),
    ("Suva", -18.1248, 178.4501),
    ("Apia", -13.8333, -171.7667),
];

/// The documented distance: haversine on a sphere of 6371.0088 km, with
/// the differences of the degrees turned into radians.
fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let half_dphi = (b.0 - a.0).to_radians() / 2.0;
    let half_dlambda = (b.1 - a.1).to_radians() / 2.0;
    let h = half_dphi.sin() * half_dphi.sin()
        + a.0.to_radians().cos()
            * b.0.to_radians().cos()
            * (half_dlambda.sin() * half_dlambda.sin());
    2.0 * 6371.0088 * h.sqrt().min(1.0).asin()
}

/// The documented speed: km over hours, infinite at the same instant
/// unless in the same place.
fn speed_kmh(km: f64, from: i64, to: i64) -> f64 {
    let ticks = (to - from).unsigned_abs();
    if ticks == 0 {
        if km > 0.0 { f64::INFINITY } else { 0.0 }
    } else {
        km / (ticks as f64 / HOUR as f64)
    }
}

/// A bound as written in a rule: `(comparison, value)`.
#[derive(Clone, Copy)]
struct Bound(&'static str, f64);

impl Bound {
    fn holds(self, x: f64) -> bool {
        match self.0 {
            "gt" => x > self.1,
            "gte" => x >= self.1,
            "lt" => x < self.1,
            _ => x <= self.1,
        }
    }
}

struct TravelRule {
    id: &'static str,
    span: i64,
    span_text: &'static str,
    kmh: Option<Bound>,
    km: Option<Bound>,
}

impl TravelRule {
    fn yaml(&self) -> String {
        let bound = |name: &str, b: Option<Bound>| match b {
            Some(Bound(cmp, v)) => format!("        {name}: {{ {cmp}: {v:?} }}\n"),
            None => String::new(),
        };
        format!(
            "id: {}\ntitle: travel\nseverity: medium\nsequence:\n  groupBy: [userPrincipalName]\n  span: {}\n  steps:\n    - name: here\n      match: {{ status.errorCode: 0 }}\n    - name: there\n      match: {{ status.errorCode: 0 }}\n      travel:\n        from: here\n{}{}message: \"{{travel.km}}|{{travel.kmh}}\"\n",
            self.id,
            self.span_text,
            bound("kmh", self.kmh),
            bound("km", self.km)
        )
    }

    /// Whether the travel from `a` to `b` meets the bounds.
    fn travels(&self, a: &Rec, b: &Rec) -> Option<(f64, f64)> {
        let km = haversine_km(a.point?, b.point?);
        let kmh = speed_kmh(km, a.time, b.time);
        (self.kmh.is_none_or(|x| x.holds(kmh)) && self.km.is_none_or(|x| x.holds(km)))
            .then_some((km, kmh))
    }
}

/// A generated sign-in as the reference reads it.
#[derive(Clone)]
struct Rec {
    n: u64,
    user: String,
    time: i64,
    success: bool,
    point: Option<(f64, f64)>,
}

/// The point of a record as documented: `location.geoCoordinates`,
/// numbers or text that reads as one, finite, within ±90 and ±180.
fn point_of(v: &Value) -> Option<(f64, f64)> {
    let geo = &v["location"]["geoCoordinates"];
    let degrees = |x: &Value, limit: f64| {
        let d = match x {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse::<f64>().ok()?,
            _ => return None,
        };
        (d.is_finite() && d.abs() <= limit).then_some(d)
    };
    Some((
        degrees(&geo["latitude"], 90.0)?,
        degrees(&geo["longitude"], 180.0)?,
    ))
}

/// `2025-03-01T00:00:00Z` plus `ticks`, with seven fraction digits.
fn iso(ticks: i64) -> String {
    let day = ticks / (24 * HOUR);
    let rest = ticks % (24 * HOUR);
    format!(
        "2025-03-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        1 + day,
        rest / HOUR,
        rest % HOUR / MINUTE,
        rest % MINUTE / 10_000_000,
        rest % 10_000_000
    )
}

/// One sign-in: `coords` 0 as numbers, 1 as text, 2 without
/// `geoCoordinates`, 3 with a latitude that is not a number, 4 out of
/// range.
fn travel_sign_in(n: u64, user: &str, time: i64, city: usize, success: bool, coords: u64) -> Value {
    let (name, lat, lon) = CITIES[city % CITIES.len()];
    let geo = match coords {
        0 => json!({ "latitude": lat, "longitude": lon }),
        1 => json!({ "latitude": format!("{lat}"), "longitude": format!(" {lon} ") }),
        2 => Value::Null,
        3 => json!({ "latitude": "unknown", "longitude": lon }),
        _ => json!({ "latitude": lat + 100.0, "longitude": lon }),
    };
    let mut location = json!({ "city": name });
    if !geo.is_null() {
        location["geoCoordinates"] = geo;
    }
    json!({
        "id": guid(n),
        "createdDateTime": iso(time),
        "userPrincipalName": user,
        "ipAddress": format!("198.51.100.{}", n % 250),
        "status": { "errorCode": if success { 0 } else { 50126 } },
        "isInteractive": true,
        "location": location,
    })
}

/// The reference: per account, records in (time, id) order; at each
/// success `e`, the free successes within the span before it (in that
/// order) from which the travel to `e` holds are its `here` records; with
/// any, an episode completes at `e`, whose `there` records are `e` and
/// every other free success of the window, not before the latest `here`,
/// to which the travel from each `here` holds. Every record of an episode
/// is used up. The message is the fastest pair's distance and speed.
fn reference_travel(rule: &TravelRule, recs: &[Rec]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut users: Vec<&str> = recs.iter().map(|r| r.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    for user in users {
        let mut group: Vec<&Rec> = recs
            .iter()
            .filter(|r| r.user == user && r.success)
            .collect();
        group.sort_by_key(|r| (r.time, r.n));
        let mut used = vec![false; group.len()];
        for (i, e) in group.iter().enumerate() {
            // The free records of the window, latest first, `e` included.
            let window: Vec<usize> = (0..=i)
                .rev()
                .filter(|&j| !used[j] && group[j].time >= e.time - rule.span)
                .collect();
            let here: Vec<usize> = window
                .iter()
                .copied()
                .filter(|&j| j != i && rule.travels(group[j], e).is_some())
                .collect();
            if here.is_empty() {
                continue;
            }
            let lower = here
                .iter()
                .map(|&j| group[j].time)
                .max()
                .unwrap_or(i64::MIN);
            let mut there = vec![i];
            there.extend(window.iter().copied().filter(|&j| {
                j != i
                    && !here.contains(&j)
                    && group[j].time >= lower
                    && here
                        .iter()
                        .all(|&h| rule.travels(group[h], group[j]).is_some())
            }));
            let mut fastest: Option<(f64, f64)> = None;
            for &t in &there {
                for &h in &here {
                    let km = haversine_km(
                        group[h].point.unwrap_or_default(),
                        group[t].point.unwrap_or_default(),
                    );
                    let kmh = speed_kmh(km, group[h].time, group[t].time);
                    if fastest.is_none_or(|(fk, fs)| (kmh, km) > (fs, fk)) {
                        fastest = Some((km, kmh));
                    }
                }
            }
            let whole = |x: f64| {
                if x.is_infinite() {
                    "∞".to_string()
                } else {
                    format!("{x:.0}")
                }
            };
            let (km, kmh) = fastest.unwrap_or_default();
            let mut ids = |list: &[usize]| {
                let mut v: Vec<String> = list.iter().map(|&j| guid(group[j].n)).collect();
                v.sort();
                for &j in list {
                    used[j] = true;
                }
                v
            };
            let here_ids = ids(&here);
            let there_ids = ids(&there);
            out.insert(format!(
                "{} {} here={here_ids:?} there={there_ids:?} {}|{}",
                rule.id,
                guid(e.n),
                whole(km),
                whole(kmh)
            ));
        }
    }
    out
}

/// The same of a report: rule, completing record, each step's records,
/// message.
fn travel_essence(report: &Value) -> BTreeSet<String> {
    findings(report)
        .iter()
        .map(|f| {
            let step = |i: usize| -> Vec<String> {
                let e = &f["episode"]["steps"][i];
                assert_eq!(
                    e["records"].as_array().map(Vec::len),
                    e["total"].as_u64().map(|t| t as usize),
                    "every record is listed"
                );
                let mut v: Vec<String> = e["records"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|r| r["id"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                v.sort();
                v
            };
            format!(
                "{} {} here={:?} there={:?} {}",
                f["ruleId"].as_str().unwrap_or_default(),
                f["signIn"]["id"].as_str().unwrap_or_default(),
                step(0),
                step(1),
                f["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The tick count at which two sign-ins `d` km apart are just faster than
/// `kmh`: one tick more and they are not.
fn just_faster(d: f64, kmh: f64) -> i64 {
    let mut ticks = (d / kmh * HOUR as f64) as i64;
    while speed_kmh(d, 0, ticks) <= kmh {
        ticks -= 1;
    }
    while speed_kmh(d, 0, ticks + 1) > kmh {
        ticks += 1;
    }
    ticks
}

#[test]
fn travel_equals_the_reference_whatever_the_order_and_threads() {
    let mut rng = Lcg(11);
    let mut values: Vec<Value> = Vec::new();
    let mut n = 1u64;
    let mut push = |values: &mut Vec<Value>,
                    user: &str,
                    time: i64,
                    city: usize,
                    success: bool,
                    coords: u64| {
        values.push(travel_sign_in(n, user, time, city, success, coords));
        n += 1;
    };
    // Everyday sign-ins of twelve accounts over three days, mostly from
    // home, some from elsewhere, some at the same minute, some failing,
    // some without usable coordinates.
    for u in 0..12u64 {
        let user = format!("user{u}@contoso.com");
        let home = (u % 4) as usize;
        for _ in 0..25 {
            let time = rng.below(3 * 24 * 60) as i64 * MINUTE + rng.below(3) as i64 * 10_000_000;
            let city = if rng.below(10) < 7 {
                home
            } else {
                rng.below(CITIES.len() as u64) as usize
            };
            let coords = match rng.below(20) {
                0..=13 => 0,
                14..=16 => 1,
                17 => 2,
                18 => 3,
                _ => 4,
            };
            push(&mut values, &user, time, city, rng.below(8) > 0, coords);
        }
    }
    // Attacks: London, then somewhere far minutes to hours later.
    for (k, far) in [4usize, 5, 6, 7, 8].into_iter().enumerate() {
        let user = format!("victim{k}@contoso.com");
        let t = (10 + k as i64) * HOUR;
        push(&mut values, &user, t, 0, true, 0);
        push(
            &mut values,
            &user,
            t + (k as i64 + 1) * 20 * MINUTE,
            far,
            true,
            k as u64 % 2,
        );
        push(&mut values, &user, t + 30 * HOUR, 0, true, 0);
    }
    // Just over and just under 900 km/h, London to New York.
    let d = haversine_km((CITIES[0].1, CITIES[0].2), (CITIES[3].1, CITIES[3].2));
    let over = just_faster(d, 900.0);
    push(&mut values, "over@contoso.com", 5 * HOUR, 0, true, 0);
    push(&mut values, "over@contoso.com", 5 * HOUR + over, 3, true, 0);
    push(&mut values, "under@contoso.com", 5 * HOUR, 0, true, 0);
    push(
        &mut values,
        "under@contoso.com",
        5 * HOUR + over + 1,
        3,
        true,
        0,
    );
    // An attack whose far sign-in has no coordinates.
    push(&mut values, "blind@contoso.com", 7 * HOUR, 0, true, 0);
    push(
        &mut values,
        "blind@contoso.com",
        7 * HOUR + 30 * MINUTE,
        4,
        true,
        2,
    );
    // A pair whose speed and distance the exact rules take as bounds:
    // Suva to Apia (across the antimeridian) in 37 minutes.
    let exact_from = (CITIES[8].1, CITIES[8].2);
    let exact_to = (CITIES[9].1, CITIES[9].2);
    let exact_km = haversine_km(exact_from, exact_to);
    let exact_kmh = speed_kmh(exact_km, 0, 37 * MINUTE + 1234);
    push(&mut values, "exact@contoso.com", 2 * HOUR, 8, true, 0);
    push(
        &mut values,
        "exact@contoso.com",
        2 * HOUR + 37 * MINUTE + 1234,
        9,
        true,
        0,
    );
    // The same instant in two places.
    push(&mut values, "twice@contoso.com", 3 * HOUR, 2, true, 0);
    push(&mut values, "twice@contoso.com", 3 * HOUR, 5, true, 1);

    let rules = [
        TravelRule {
            id: "TR-PACK",
            span: 24 * HOUR,
            span_text: "1d",
            kmh: Some(Bound("gt", 900.0)),
            km: Some(Bound("gte", 500.0)),
        },
        TravelRule {
            id: "TR-SHORT",
            span: 2 * HOUR,
            span_text: "2h",
            kmh: Some(Bound("gte", 300.0)),
            km: None,
        },
        TravelRule {
            id: "TR-KMH-GT",
            span: 24 * HOUR,
            span_text: "1d",
            kmh: Some(Bound("gt", exact_kmh)),
            km: None,
        },
        TravelRule {
            id: "TR-KMH-GTE",
            span: 24 * HOUR,
            span_text: "1d",
            kmh: Some(Bound("gte", exact_kmh)),
            km: None,
        },
        TravelRule {
            id: "TR-KM-GT",
            span: 24 * HOUR,
            span_text: "1d",
            kmh: Some(Bound("gt", 100.0)),
            km: Some(Bound("gt", exact_km)),
        },
        TravelRule {
            id: "TR-KM-LTE",
            span: 24 * HOUR,
            span_text: "1d",
            kmh: Some(Bound("gt", 100.0)),
            km: Some(Bound("lte", exact_km)),
        },
    ];
    let recs: Vec<Rec> = values
        .iter()
        .map(|v| Rec {
            n: u64::from_str_radix(&v["id"].as_str().unwrap_or_default()[24..], 16)
                .unwrap_or_default(),
            user: v["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase(),
            time: 0,
            success: v["status"]["errorCode"] == 0,
            point: point_of(v),
        })
        .zip(values.iter())
        .map(|(mut r, v)| {
            // The time as written, back in ticks from 2025-03-01.
            let text = v["createdDateTime"].as_str().unwrap_or_default();
            let day: i64 = text[8..10].parse().unwrap_or(1);
            let h: i64 = text[11..13].parse().unwrap_or(0);
            let m: i64 = text[14..16].parse().unwrap_or(0);
            let s: i64 = text[17..19].parse().unwrap_or(0);
            let f: i64 = text[20..27].parse().unwrap_or(0);
            r.time = (day - 1) * 24 * HOUR + h * HOUR + m * MINUTE + s * 10_000_000 + f;
            r
        })
        .collect();
    let mut want = BTreeSet::new();
    for rule in &rules {
        want.extend(reference_travel(rule, &recs));
    }
    // The reference itself decides the pairs made for it as they were
    // made.
    let fired = |rule: &str, user_first: u64| {
        want.iter()
            .any(|w| w.starts_with(&format!("{rule} ")) && w.contains(&guid(user_first)))
    };
    let first_of = |user: &str| recs.iter().find(|r| r.user == user).map_or(0, |r| r.n);
    assert!(fired("TR-PACK", first_of("over@contoso.com")), "{want:#?}");
    assert!(
        !fired("TR-PACK", first_of("under@contoso.com")),
        "{want:#?}"
    );
    assert!(
        !fired("TR-PACK", first_of("blind@contoso.com")),
        "{want:#?}"
    );
    assert!(fired("TR-PACK", first_of("twice@contoso.com")), "{want:#?}");
    // Exactly at the bound: inclusive comparisons hold, strict ones do not.
    for (rule, holds) in [
        ("TR-KMH-GT", false),
        ("TR-KMH-GTE", true),
        ("TR-KM-GT", false),
        ("TR-KM-LTE", true),
    ] {
        assert_eq!(
            fired(rule, first_of("exact@contoso.com")),
            holds,
            "{rule}: {want:#?}"
        );
    }
    for k in 0..5 {
        assert!(
            fired("TR-PACK", first_of(&format!("victim{k}@contoso.com"))),
            "victim{k}"
        );
    }
    let per_rule = |id: &str| {
        want.iter()
            .filter(|w| w.starts_with(&format!("{id} ")))
            .count()
    };
    for rule in &rules {
        assert!(per_rule(rule.id) >= 3, "{}: {want:#?}", rule.id);
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let rules_path = dir.path().join("travel.yaml");
    let text: Vec<String> = rules.iter().map(TravelRule::yaml).collect();
    std::fs::write(&rules_path, text.join("---\n")).expect("rules");
    // Shuffled (a fixed permutation of the reversed list), one record
    // delivered twice, and split across two files.
    let mut shuffled = values.clone();
    shuffled.reverse();
    let len = shuffled.len();
    for i in 0..len {
        shuffled.swap(i, (i * 7 + 3) % len);
    }
    shuffled.push(shuffled[len / 3].clone());
    let one = dir.path().join("one.jsonl");
    write_jsonl(&one, &shuffled);
    let (a, b) = values.split_at(values.len() / 2);
    let first = dir.path().join("a.jsonl");
    let second = dir.path().join("b.jsonl");
    write_jsonl(&first, a);
    write_jsonl(&second, b);
    for (paths, threads) in [
        (vec![first.as_path(), second.as_path()], "1"),
        (vec![second.as_path(), first.as_path()], "3"),
        (vec![one.as_path()], "1"),
        (vec![one.as_path()], "3"),
    ] {
        let report = check(&rules_path, &paths, &["--threads", threads]);
        let got = travel_essence(&report);
        let missing: Vec<&String> = want.difference(&got).collect();
        let extra: Vec<&String> = got.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "threads {threads}, {} files: only the reference {missing:#?}; only check {extra:#?}",
            paths.len()
        );
    }
}
