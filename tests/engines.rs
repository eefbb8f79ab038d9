//! The compiled queries on the engines they are for: Spark SQL on a local
//! Spark gives the same (rule, sign-in) pairs as `tollgate check` on the
//! same records; every KQL query passes Microsoft's Kusto parser and
//! semantic checker against the five tables' declared columns; every
//! Sentinel rule is well-formed.
//!
//! Spark (pyspark, Java) and the Kusto parser (Node, `@kusto/language-service-next`)
//! are installed by `.ci/run` under `target/ci/`. Where one is missing the
//! test says so and passes on a developer's machine; with `TOLLGATE_CI=1`
//! (set by `.ci/run`) it fails instead, so CI never passes without them.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

const OPERATORS: &str = "tests/fixtures/engines/operators.yaml";

/// Values for the params the built-in pack's rules wait for, chosen so
/// that the generated and edge records give findings.
const PACK_PARAMS: &[&str] = &[
    "home_tenants=72f988bf-86f1-41af-91ab-2d7cd011db47",
    "expected_token_issuers=sts.contoso.com",
    "mail_reader_apps=00000000-0000-0000-0000-000000000001",
    "credential_manager_apps=00000000-0000-0000-0000-000000000002",
    "trusted_ranges=192.0.2.0/24,2001:db8::/32",
    "trusted_countries=US,GB,FR",
    "secret_allowed_apps=00000000-0000-0000-0000-000000000003",
    "managed_identity_ranges=10.0.0.0/16",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool the test needs, or `None` with a message (a failure in CI).
fn tool(what: &str, path: PathBuf) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "{what} not found at {}; `.ci/run` installs it under target/ci/",
        path.display()
    );
    if std::env::var("TOLLGATE_CI").is_ok_and(|v| v == "1") {
        panic!("{why} (TOLLGATE_CI=1: CI must run this test)");
    }
    eprintln!("skipped: {why}");
    None
}

fn python() -> Option<PathBuf> {
    let path = std::env::var_os("TOLLGATE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/ci/venv/bin/python"));
    tool("Python with pyspark", path)
}

fn kusto_modules() -> Option<PathBuf> {
    let modules = std::env::var_os("KUSTO_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/ci/node/node_modules"));
    tool(
        "the Kusto parser (@kusto/language-service-next)",
        modules.join("@kusto/language-service-next"),
    )
    .map(|_| modules)
}

/// The diagnostic-settings category of a log.
fn category(log: &str) -> &'static str {
    match log {
        "interactive" => "SignInLogs",
        "nonInteractive" => "NonInteractiveUserSignInLogs",
        "servicePrincipal" => "ServicePrincipalSignInLogs",
        "managedIdentity" => "ManagedIdentitySignInLogs",
        _ => "MicrosoftGraphActivityLogs",
    }
}

/// A folder of diagnostic-settings exports: generated records, the real
/// diagnostic record, the real Log Analytics rows as a diagnostic export
/// would hold them, and hand-written edge cases (Event Hub batch, enum
/// codes, envelope-only fields, blank text, single objects for lists,
/// Graph activity).
fn exports() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = support::buffer(support::Shape::Diagnostic, 3000, 7);
    std::fs::write(dir.path().join("generated.json"), generated).expect("write");
    let fixtures = root().join("tests/fixtures");
    std::fs::copy(
        fixtures.join("ingest/diag_noninteractive_real_pseudonymized_1rec.json"),
        dir.path().join("real-diagnostic.json"),
    )
    .expect("copy");
    std::fs::copy(
        fixtures.join("engines/edges.jsonl"),
        dir.path().join("edges.json"),
    )
    .expect("copy");
    let la =
        std::fs::read_to_string(fixtures.join("ingest/la_signinlogs_msticpy_aad_logons.jsonl"))
            .expect("read");
    let mut lines = String::new();
    for line in la.lines().filter(|l| !l.trim().is_empty()) {
        let value: Value = serde_json::from_str(line).expect("a JSON row");
        let record = tollgate::ingest::normalize(value).expect("a sign-in");
        let wrapped = json!({
            "category": category(record.log().name()),
            "properties": record.to_json(),
        });
        lines.push_str(&wrapped.to_string());
        lines.push('\n');
    }
    std::fs::write(dir.path().join("real-log-analytics.json"), lines).expect("write");
    std::fs::write(dir.path().join("attacks.json"), attacks()).expect("write");
    dir
}

/// Sign-ins that the pack's rules over many records find (and near misses
/// they must not): a spray from one address, failures then a success from
/// the same address, denied MFA prompts then a success, one session from
/// several addresses.
fn attacks() -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut add = |minute: u32, log: &str, upn: &str, ip: &str, code: u32, session: &str| {
        n += 1;
        let time = format!(
            "2025-03-02T{:02}:{:02}:{:02}.1234567Z",
            minute / 60,
            minute % 60,
            n % 60
        );
        let record = json!({
            "time": time,
            "category": log,
            "resultType": code.to_string(),
            "callerIpAddress": ip,
            "properties": {
                "id": format!("00000000-0000-4000-8000-{n:012}"),
                "createdDateTime": time,
                "userPrincipalName": upn,
                "ipAddress": ip,
                "sessionId": session,
                "status": { "errorCode": code },
            },
        });
        out.push_str(&record.to_string());
        out.push('\n');
    };
    // A spray: 12 accounts from one address in 12 minutes; a near miss
    // with 9 accounts; 12 accounts spread over 4 hours.
    for i in 0..12 {
        add(
            i,
            "SignInLogs",
            &format!("spray{i}@contoso.com"),
            "203.0.113.66",
            50126,
            "",
        );
        add(
            60 + i * 20,
            "SignInLogs",
            &format!("slow{i}@contoso.com"),
            "203.0.113.68",
            50126,
            "",
        );
    }
    for i in 0..9 {
        add(
            i,
            "NonInteractiveUserSignInLogs",
            &format!("few{i}@contoso.com"),
            "203.0.113.67",
            50053,
            "",
        );
    }
    // Ten failures then a success from the same address; the same from
    // another address; nine failures then a success.
    for i in 0..10 {
        add(
            100 + i,
            "SignInLogs",
            "Mallory@contoso.com",
            "198.51.100.50",
            50126,
            "",
        );
        add(
            100 + i,
            "SignInLogs",
            "oscar@contoso.com",
            "198.51.100.51",
            50126,
            "",
        );
        if i < 9 {
            add(
                100 + i,
                "SignInLogs",
                "trent@contoso.com",
                "198.51.100.52",
                50053,
                "",
            );
        }
    }
    add(
        111,
        "SignInLogs",
        "mallory@contoso.com",
        "198.51.100.50",
        0,
        "s-m",
    );
    add(
        111,
        "SignInLogs",
        "oscar@contoso.com",
        "198.51.100.99",
        0,
        "s-o",
    );
    add(
        111,
        "SignInLogs",
        "trent@contoso.com",
        "198.51.100.52",
        0,
        "s-t",
    );
    // Denied MFA prompts then a success; two denials only; a success
    // before the denials.
    for i in 0..3 {
        add(
            200 + i,
            "SignInLogs",
            "peggy@contoso.com",
            "192.0.2.10",
            500121,
            "",
        );
        add(
            300 + i,
            "SignInLogs",
            "victor@contoso.com",
            "192.0.2.11",
            500121,
            "",
        );
    }
    add(
        205,
        "SignInLogs",
        "peggy@contoso.com",
        "192.0.2.10",
        0,
        "s-p",
    );
    add(
        299,
        "SignInLogs",
        "victor@contoso.com",
        "192.0.2.11",
        0,
        "s-v",
    );
    for i in 0..2 {
        add(
            400 + i,
            "SignInLogs",
            "walter@contoso.com",
            "192.0.2.12",
            500121,
            "",
        );
    }
    add(
        405,
        "SignInLogs",
        "walter@contoso.com",
        "192.0.2.12",
        0,
        "s-w",
    );
    // Three disabled accounts tried from one address, and two; one
    // account failing from ten addresses, and from three.
    for i in 0..3 {
        add(
            700 + i * 10,
            "SignInLogs",
            &format!("gone{i}@contoso.com"),
            "203.0.113.70",
            50057,
            "",
        );
        if i < 2 {
            add(
                700 + i * 10,
                "SignInLogs",
                &format!("left{i}@contoso.com"),
                "203.0.113.71",
                50057,
                "",
            );
        }
    }
    for i in 0..10 {
        let ip = format!("198.51.100.{}", 120 + i);
        add(
            800 + i * 4,
            "NonInteractiveUserSignInLogs",
            "victim@contoso.com",
            &ip,
            50126,
            "",
        );
        let ip = format!("198.51.100.{}", 140 + i % 3);
        add(
            800 + i * 4,
            "NonInteractiveUserSignInLogs",
            "victim2@contoso.com",
            &ip,
            50126,
            "",
        );
    }
    // One session from three addresses within the hour, and from three
    // addresses over three hours.
    for (i, ip) in ["192.0.2.20", "198.51.100.20", "203.0.113.20"]
        .iter()
        .enumerate()
    {
        add(
            500 + i as u32 * 10,
            "NonInteractiveUserSignInLogs",
            "sue@contoso.com",
            ip,
            0,
            "SESSION-1",
        );
        add(
            600 + i as u32 * 70,
            "NonInteractiveUserSignInLogs",
            "sam@contoso.com",
            ip,
            0,
            "session-2",
        );
    }
    // Records delivered twice, as overlapping exports deliver them: one
    // event each natively, so walter's two denials and trent's nine
    // failures stay near misses (counted with the copy, they would not).
    let copies: Vec<String> = out
        .lines()
        .filter(|l| {
            (l.contains("walter@contoso.com") && l.contains("500121"))
                || (l.contains("trent@contoso.com") && l.contains("50053"))
        })
        .map(str::to_string)
        .collect();
    for line in copies {
        out.push_str(&line);
        out.push('\n');
    }
    // Graph calls: a token no sign-in shows, one a sign-in shows 20
    // minutes later (its id in other letter case), one whose sign-in is two
    // hours older.
    let at = |minute: u32| {
        format!(
            "2025-03-02T{:02}:{:02}:00.5000000Z",
            minute / 60,
            minute % 60
        )
    };
    let call = |minute: u32, n: u32, token: &str| {
        json!({
            "time": at(minute),
            "category": "MicrosoftGraphActivityLogs",
            "properties": {
                "requestId": format!("00000000-0000-4000-9000-{n:012}"),
                "timeGenerated": at(minute),
                "signInActivityId": token,
                "requestMethod": "GET",
                "requestUri": "https://graph.microsoft.com/v1.0/me",
                "responseStatusCode": 200,
            },
        })
    };
    let sign_in = |minute: u32, n: u32, token: &str| {
        json!({
            "time": at(minute),
            "category": "NonInteractiveUserSignInLogs",
            "properties": {
                "id": format!("00000000-0000-4000-a000-{n:012}"),
                "createdDateTime": at(minute),
                "uniqueTokenIdentifier": token,
                "userPrincipalName": "app@contoso.com",
                "status": { "errorCode": 0 },
            },
        })
    };
    for line in [
        call(900, 1, "tokX"),
        call(910, 2, "tokY"),
        sign_in(930, 1, "TOKY"),
        call(920, 3, "tokZ"),
        sign_in(790, 2, "tokZ"),
    ] {
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

fn rule_args(rules: Option<&str>) -> Vec<String> {
    match rules {
        Some(path) => vec!["--rules".into(), root().join(path).display().to_string()],
        None => PACK_PARAMS
            .iter()
            .flat_map(|p| ["--param".to_string(), p.to_string()])
            .collect(),
    }
}

/// `tollgate compile` of the pack (with its params) or a rule file: the
/// JSON document, and the rules it could not compile.
fn compile(target: &str, rules: Option<&str>) -> (Value, Vec<String>) {
    let mut args = vec!["compile", "--target", target];
    let extra = rule_args(rules);
    args.extend(extra.iter().map(String::as_str));
    let out = common::tollgate_in(&root(), &args);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "compile --target {target} printed no JSON ({e}): {}",
            common::stderr(&out)
        )
    });
    // Each refusal says "ID cannot be compiled for TARGET".
    let err: String = common::stderr(&out)
        .lines()
        .filter(|l| !l.starts_with("error: "))
        .collect::<Vec<_>>()
        .join("\n");
    let parts: Vec<&str> = err.split(" cannot be compiled for ").collect();
    let refused = parts
        .iter()
        .take(parts.len().saturating_sub(1))
        .filter_map(|before| {
            before
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
                .next()
        })
        .map(str::to_string)
        .collect();
    (doc, refused)
}

fn queries(doc: &Value) -> Vec<Value> {
    doc["queries"].as_array().cloned().unwrap_or_default()
}

/// (rule, sign-in id) pairs of `tollgate check` on the exports.
fn native(dir: &Path, rules: Option<&str>) -> BTreeMap<String, BTreeSet<String>> {
    let path = dir.display().to_string();
    let mut args = vec![
        "check",
        path.as_str(),
        "--format",
        "jsonl",
        "--fail-on",
        "never",
        "--quiet",
    ];
    let extra = rule_args(rules);
    args.extend(extra.iter().map(String::as_str));
    let out = common::tollgate_in(&root(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let mut pairs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Per (rule, group), the first episode's window: (end, start).
    let mut first: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for line in common::stdout(&out).lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        let Some(rule) = v["ruleId"].as_str() else {
            continue;
        };
        match v.get("episode") {
            Some(e) if !e.is_null() => {
                let window = (
                    e["windowEnd"].as_str().unwrap_or_default().to_string(),
                    e["windowStart"].as_str().unwrap_or_default().to_string(),
                );
                let slot = first
                    .entry((rule.into(), group_of(&e["group"])))
                    .or_insert_with(|| window.clone());
                *slot = std::cmp::min(slot.clone(), window);
            }
            _ => {
                // The id, and the message: a query that builds the message
                // must build the same one.
                let id = v["signIn"]["id"].as_str().unwrap_or_default();
                let message = v["message"].as_str().unwrap_or_default();
                pairs
                    .entry(rule.into())
                    .or_default()
                    .insert(format!("{id} :: {message}"));
            }
        }
    }
    for ((rule, group), (end, start)) in first {
        pairs
            .entry(rule)
            .or_default()
            .insert(format!("{group} {start}..{end}"));
    }
    pairs
}

/// A group key as one text: its values (columns other than `ruleId`,
/// `windowStart` and `windowEnd`, in name order), case-folded.
fn group_of(v: &Value) -> String {
    let Some(map) = v.as_object() else {
        return v.to_string().to_lowercase();
    };
    let parts: Vec<String> = map
        .iter()
        .filter(|(k, _)| !["ruleId", "windowStart", "windowEnd"].contains(&k.as_str()))
        .map(|(k, v)| {
            let value = v.as_str().map_or(v.to_string(), str::to_string);
            format!("{}={}", k.replace('.', "_"), value.to_lowercase())
        })
        .collect();
    parts.join(",")
}

#[test]
fn spark_gives_the_same_findings_as_check() {
    let Some(python) = python() else { return };
    let data = exports();
    let (pack, pack_refused) = compile("spark-sql", None);
    let (ops, ops_refused) = compile("spark-sql", Some(OPERATORS));
    assert!(ops_refused.is_empty(), "refused: {ops_refused:?}");
    assert_eq!(pack_refused, PACK_REFUSED);
    let mut doc = pack.clone();
    let mut all = queries(&pack);
    all.extend(queries(&ops));
    doc["queries"] = Value::Array(all.clone());
    let work = tempfile::tempdir().expect("temp dir");
    let compiled = work.path().join("compiled.json");
    let found = work.path().join("found.jsonl");
    std::fs::write(&compiled, doc.to_string()).expect("write");
    let out = Command::new(&python)
        .arg(root().join("examples/spark/tollgate_spark.py"))
        .arg(&compiled)
        .arg(&found)
        .arg(data.path())
        .output()
        .expect("python runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Spark driver failed: {}",
        log.lines()
            .filter(|l| l.starts_with("error") || l.contains("Exception"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // A row is a sign-in (`id`) for a single-record rule, a group (its
    // key columns) for a rule over many records.
    let mut spark: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(&found).expect("findings").lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        let rule = v["ruleId"].as_str().expect("ruleId").to_string();
        let id = match v.get("id") {
            Some(id) => format!(
                "{} :: {}",
                id.as_str().unwrap_or_default(),
                v["message"].as_str().unwrap_or("(no message)")
            ),
            None => format!(
                "{} {}..{}",
                group_of(&v),
                v["windowStart"].as_str().unwrap_or_default(),
                v["windowEnd"].as_str().unwrap_or_default()
            ),
        };
        spark.entry(rule).or_default().insert(id);
    }
    let mut checked = native(data.path(), None);
    checked.extend(native(data.path(), Some(OPERATORS)));
    // Every single-record query builds the message (these rules' messages
    // name scalars and lists of scalars only).
    for q in &all {
        let text = q["query"].as_str().unwrap_or_default();
        assert!(
            text.contains("AS message") || text.contains("windowStart"),
            "{}: no message",
            q["ruleId"]
        );
    }
    // Differences the README documents: Spark's JSON reader cannot read a
    // single object where the schema says a list, so a record holding one
    // policy object instead of a list of them (the native engine reads it
    // as a list of one) has no policies on Spark.
    let known: BTreeSet<(&str, &str)> = [
        ("OP-THROUGH-LIST", "edge-02"),
        ("OP-NESTED-LIST", "edge-02"),
        ("OP-ANY-NESTED", "edge-02"),
    ]
    .into_iter()
    .collect();
    let mut seen_known = BTreeSet::new();
    let mut differences = Vec::new();
    let mut pairs = 0;
    let mut rules_with_findings = 0;
    for q in &all {
        let rule = q["ruleId"].as_str().expect("ruleId");
        let empty = BTreeSet::new();
        let mut want = checked.get(rule).unwrap_or(&empty).clone();
        let got = spark.get(rule).unwrap_or(&empty);
        for id in want.clone() {
            let bare = id.split(" :: ").next().unwrap_or_default();
            if known.contains(&(rule, bare)) && !got.contains(&id) {
                want.remove(&id);
                seen_known.insert((rule, id));
            }
        }
        pairs += want.len();
        rules_with_findings += usize::from(!want.is_empty());
        if want != *got {
            differences.push(format!(
                "{rule}: check {} / spark {}; only check: {:?}; only spark: {:?}",
                want.len(),
                got.len(),
                want.difference(got).take(3).collect::<Vec<_>>(),
                got.difference(&want).take(3).collect::<Vec<_>>()
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // The documented differences are still there (else the README is wrong).
    assert_eq!(seen_known.len(), known.len(), "{seen_known:?}");
    // A comparison of empty sets proves nothing: most rules must find
    // something in these records.
    assert!(all.len() >= 70, "{} queries", all.len());
    assert!(
        rules_with_findings * 4 >= all.len() * 3,
        "only {rules_with_findings} of {} rules found anything",
        all.len()
    );
    assert!(pairs > 20_000, "{pairs} pairs");
    // Every rule over many records found groups, and not every group.
    for rule in [
        "TG-AUTH-014",
        "TG-AUTH-015",
        "TG-AUTH-016",
        "TG-AUTH-017",
        "TG-AUTH-018",
        "TG-GA-006",
        "TG-RISK-010",
    ] {
        let groups = checked.get(rule).map_or(0, BTreeSet::len);
        assert!((1..10).contains(&groups), "{rule}: {groups} groups");
    }
}

#[test]
fn every_kql_query_passes_the_kusto_checker() {
    let Some(modules) = kusto_modules() else {
        return;
    };
    let (pack, refused) = compile("kql", None);
    let (ops, ops_refused) = compile("kql", Some(OPERATORS));
    assert!(ops_refused.is_empty(), "refused: {ops_refused:?}");
    assert_eq!(refused, PACK_REFUSED);
    let mut all = queries(&pack);
    all.extend(queries(&ops));
    let work = tempfile::tempdir().expect("temp dir");
    let path = work.path().join("kql.json");
    std::fs::write(&path, json!({ "queries": all }).to_string()).expect("write");
    let out = Command::new("node")
        .env("KUSTO_NODE_MODULES", &modules)
        .arg(root().join("tests/kusto/check.js"))
        .arg(root().join("schemas/log-analytics-tables.json"))
        .arg(&path)
        .output()
        .expect("node runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("checked {} queries, 0 errors", all.len())),
        "{text}"
    );
}

#[test]
fn the_kusto_checker_rejects_bad_queries() {
    let Some(modules) = kusto_modules() else {
        return;
    };
    let out = Command::new("node")
        .env("KUSTO_NODE_MODULES", &modules)
        .arg(root().join("tests/kusto/check.js"))
        .arg("--self-test")
        .arg(root().join("schemas/log-analytics-tables.json"))
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pack's rules the query targets refuse: impossible travel, whose
/// floating-point trigonometry no target computes as `check` does.
const PACK_REFUSED: [&str; 1] = ["TG-RISK-011"];

/// Each query target writes every rule of the pack but those it refuses,
/// names them, and exits with 2 as for any refusal.
#[test]
fn the_query_targets_refuse_only_travel_in_the_pack() {
    for target in ["kql", "sentinel", "spark-sql"] {
        let (doc, refused) = compile(target, None);
        assert_eq!(refused, PACK_REFUSED, "{target}");
        let ids: Vec<&str> = doc["queries"]
            .as_array()
            .map(|q| q.iter().filter_map(|q| q["ruleId"].as_str()).collect())
            .unwrap_or_default();
        assert!(!ids.contains(&"TG-RISK-011"), "{target}");
        assert!(ids.contains(&"TG-AUTH-015"), "{target}: {ids:?}");
        let mut args = vec!["compile", "--target", target];
        let extra = rule_args(None);
        args.extend(extra.iter().map(String::as_str));
        let out = common::tollgate_in(&root(), &args);
        assert_eq!(out.status.code(), Some(2), "{target}");
        let err = common::stderr(&out);
        assert!(err.contains("tollgate::not-expressible"), "{err}");
        assert!(err.contains("it uses `travel`"), "{err}");
        assert!(
            err.contains(&format!(
                "error: 1 of {} rules cannot be compiled for {target}",
                ids.len() + 1
            )),
            "{err}"
        );
    }
}

#[test]
fn sentinel_rules_are_well_formed() {
    let (doc, _) = compile("sentinel", None);
    let rules = queries(&doc);
    assert!(rules.len() >= 30, "{} rules", rules.len());
    let mut ids = BTreeSet::new();
    for q in &rules {
        let text = q["query"].as_str().expect("text");
        let rule = q["ruleId"].as_str().expect("ruleId");
        let yaml = marked_yaml::parse_yaml(0, text)
            .unwrap_or_else(|e| panic!("{rule}: not YAML: {e}\n{text}"));
        let map = yaml.as_mapping().expect("a mapping");
        let get = |k: &str| {
            map.get_scalar(k)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| panic!("{rule}: no `{k}`"))
        };
        for key in [
            "id",
            "name",
            "description",
            "severity",
            "queryFrequency",
            "queryPeriod",
            "triggerOperator",
            "triggerThreshold",
            "query",
            "version",
            "kind",
        ] {
            assert!(!get(key).is_empty(), "{rule}: empty `{key}`");
        }
        let id = get("id");
        assert_eq!(id.len(), 36, "{rule}: {id}");
        assert!(ids.insert(id), "{rule}: a GUID twice");
        assert!(
            ["High", "Medium", "Low", "Informational"].contains(&get("severity").as_str()),
            "{rule}"
        );
        assert_eq!(get("kind"), "Scheduled");
        assert!(map.get_sequence("tactics").is_some(), "{rule}: tactics");
        assert!(
            map.get_sequence("relevantTechniques").is_some(),
            "{rule}: techniques"
        );
        let query = get("query");
        assert!(query.contains("project ruleId"), "{rule}");
        // Entities only on columns the query returns.
        let returned = query
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with("| project "))
            .unwrap_or_default();
        let mut columns: Vec<String> = Vec::new();
        for entity in map
            .get_sequence("entityMappings")
            .iter()
            .flat_map(|s| s.iter())
        {
            let fields = entity
                .as_mapping()
                .and_then(|m| m.get_sequence("fieldMappings"));
            for field in fields.iter().flat_map(|s| s.iter()) {
                if let Some(c) = field.as_mapping().and_then(|m| m.get_scalar("columnName")) {
                    columns.push(c.as_str().to_string());
                }
            }
        }
        for column in &columns {
            assert!(
                returned.contains(&format!(" {column} = "))
                    || returned.contains(&format!("['{column}'] = ")),
                "{rule}: {column} not in {returned}"
            );
        }
        // A rule over single records returns both.
        if !query.contains("materialize(") {
            assert_eq!(columns, ["userPrincipalName", "ipAddress"], "{rule}");
        }
    }
    // The GUID follows the rule id, not its title: the same id always
    // gives the same GUID.
    let (again, _) = compile("sentinel", None);
    assert_eq!(queries(&again), rules);
}
