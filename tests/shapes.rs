//! The same sign-ins (and the same Graph calls) in every export shape give
//! the same findings, and the real records nobody wrote for us are all
//! read, with the right types.

mod common;

use std::path::{Path, PathBuf};

use tollgate::Record;
use tollgate::engine::{Loader, RuleSet};
use tollgate::finding::Finding;
use tollgate::ingest::{self, Item};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(paths: &[&str], builtin: bool) -> RuleSet {
    let mut loader = Loader::new();
    if builtin {
        loader.add_builtin();
        // The examples' tenant: shapes that do not say which tenant the
        // log belongs to (Graph pages) then tell a guest coming in from
        // one of its users going out as the others do.
        loader.param("home_tenants", "72f988bf-86f1-41af-91ab-2d7cd011db47");
    }
    for p in paths {
        loader.add_path(&root().join(p)).expect("rule path");
    }
    common::loaded(loader)
}

/// Reads a file; panics on any unreadable record.
fn read(path: &Path) -> Vec<(Record, tollgate::Location)> {
    let reader = ingest::open(path, path.display().to_string().into()).expect("open");
    reader
        .map(|item| match item {
            Item::Record(r, l) => (*r, l),
            Item::Unreadable(p) => panic!("{}:{}: unreadable: {}", p.path, p.line, p.reason),
            Item::NotSignIn(p) => panic!("{}:{}: not a sign-in: {}", p.path, p.line, p.reason),
        })
        .collect()
}

/// (rule, sign-in id, message, evidence) of every finding: everything but
/// the location.
fn findings(set: &RuleSet, path: &Path) -> Vec<(String, Option<String>, String, String)> {
    let mut out = Vec::new();
    for (record, location) in read(path) {
        set.evaluate(&record, &location, &mut |f: Finding| {
            out.push((
                f.rule_id.to_string(),
                f.sign_in.id.clone(),
                f.message.clone(),
                serde_json::to_string(&common::shared_evidence(&f.evidence)).unwrap_or_default(),
            ));
        });
    }
    out.sort();
    out
}

const SHAPES: [&str; 5] = [
    "examples/logs/graph-page.json",
    "examples/logs/graph-signins.jsonl",
    "examples/logs/diagnostic-PT1H.json",
    "examples/logs/eventhub-batch.json",
    "examples/logs/log-analytics.jsonl",
];

#[test]
fn the_product_example_rule_finds_the_same_sign_ins_in_every_shape() {
    let set = load(&["tests/fixtures/rules/product-example.yaml"], false);
    let expected = findings(&set, &root().join(SHAPES[0]));
    assert!(!expected.is_empty());
    // Both spellings of the rule find the same sign-ins.
    let ids = |rule: &str| -> Vec<Option<String>> {
        expected
            .iter()
            .filter(|f| f.0 == rule)
            .map(|f| f.1.clone())
            .collect()
    };
    assert_eq!(ids("TG-CA-001"), ids("TG-CA-001-LA"));
    for shape in &SHAPES[1..] {
        assert_eq!(findings(&set, &root().join(shape)), expected, "{shape}");
    }
}

#[test]
fn the_builtin_pack_finds_the_same_sign_ins_in_every_shape() {
    let set = load(&[], true);
    let expected = findings(&set, &root().join(SHAPES[0]));
    for shape in &SHAPES[1..] {
        assert_eq!(findings(&set, &root().join(shape)), expected, "{shape}");
    }
    // Every built-in sign-in rule fires on the examples (or on the
    // sign-ins tests/fixtures/pack adds for detections they lack).
    let added = findings(&set, &root().join("tests/fixtures/pack/signins.jsonl"));
    // (Window and sequence rules are run end to end in tests/pack.rs.)
    let multi: Vec<&str> = set.multi().iter().map(|r| r.info.id.as_ref()).collect();
    for rule in set
        .infos()
        .iter()
        .filter(|r| !reads_graph_activity(r) && !multi.contains(&r.id.as_ref()))
    {
        assert!(
            expected
                .iter()
                .chain(&added)
                .any(|f| f.0 == rule.id.as_ref()),
            "{} never fires on the examples",
            rule.id
        );
    }
}

fn reads_graph_activity(rule: &tollgate::finding::RuleInfo) -> bool {
    rule.logs.iter().any(|l| l == "graphActivity")
}

/// The example Graph activity: Log Analytics rows, then the same calls as
/// diagnostic-settings records.
const GRAPH_SHAPES: [&str; 2] = [
    "examples/logs/graph-activity.jsonl",
    "examples/logs/graph-activity-PT1H.json",
];

#[test]
fn the_builtin_pack_finds_the_same_graph_calls_in_both_shapes() {
    let set = load(&[], true);
    let expected = findings(&set, &root().join(GRAPH_SHAPES[0]));
    assert_eq!(
        findings(&set, &root().join(GRAPH_SHAPES[1])),
        expected,
        "{}",
        GRAPH_SHAPES[1]
    );
    // Every built-in single-record Graph activity rule fires once: the
    // other calls in the examples are near misses. (A rule over Graph calls
    // and sign-ins together is not evaluated record by record.)
    let mut graph_rules: Vec<&str> = set
        .infos()
        .iter()
        .filter(|r| r.logs.iter().all(|l| l == "graphActivity"))
        .map(|r| r.id.as_ref())
        .collect();
    graph_rules.sort();
    let mut fired: Vec<&str> = expected.iter().map(|f| f.0.as_str()).collect();
    fired.sort();
    assert_eq!(fired, graph_rules);
    // No sign-in rule reads Graph calls, and no Graph rule reads sign-ins.
    for shape in SHAPES {
        assert!(
            findings(&set, &root().join(shape))
                .iter()
                .all(|f| !f.0.starts_with("TG-GA-")),
            "{shape}"
        );
    }
}

fn real(name: &str) -> PathBuf {
    root().join("tests/fixtures/ingest").join(name)
}

#[test]
fn every_real_log_analytics_record_is_read_with_typed_fields() {
    let records = read(&real("la_signinlogs_msticpy_aad_logons.jsonl"));
    assert_eq!(records.len(), 86);
    for (i, (record, location)) in records.iter().enumerate() {
        assert_eq!(location.record, i as u64);
        assert_eq!(location.line, i as u64 + 1);
        assert_eq!(record.log(), &tollgate::LogCategory::Interactive);
        assert!(
            record.to_json()["status"]["errorCode"].is_i64(),
            "record {i}"
        );
        assert!(
            record.to_json()["location"]["countryOrRegion"].is_string(),
            "record {i}"
        );
        assert!(
            record.to_json()["appliedConditionalAccessPolicies"].is_array(),
            "record {i}"
        );
        assert!(
            record.to_json()["authenticationDetails"].is_array(),
            "record {i}"
        );
        assert!(record.to_json()["isInteractive"].is_boolean(), "record {i}");
    }
    let first = &records[0].0.to_json();
    assert_eq!(first["status"]["errorCode"], 0);
    assert_eq!(first["location"]["countryOrRegion"], "US");
    assert_eq!(
        first["appliedConditionalAccessPolicies"]
            .as_array()
            .map(Vec::len),
        Some(12)
    );
    assert_eq!(first["conditionalAccessStatus"], "notApplied");
    assert_eq!(first["createdDateTime"], "2020-05-20T18:19:04.0000000Z");
    assert_eq!(first["processingTimeInMilliseconds"], 366);
}

#[test]
fn the_real_diagnostic_record_is_read_with_typed_fields() {
    let records = read(&real("diag_noninteractive_real_pseudonymized_1rec.json"));
    assert_eq!(records.len(), 1);
    let (record, location) = &records[0];
    assert_eq!((location.line, location.record), (1, 0));
    assert_eq!(record.log().clone(), tollgate::LogCategory::NonInteractive);
    let f = &record.to_json();
    assert_eq!(f["status"]["errorCode"], 50097);
    assert_eq!(
        f["appliedConditionalAccessPolicies"]
            .as_array()
            .map(Vec::len),
        Some(30)
    );
    assert_eq!(
        f["appliedConditionalAccessPolicies"][1]["conditionsSatisfied"],
        1035
    );
    assert_eq!(f["createdDateTime"], "2025-02-01T16:26:24.6955459Z");
    assert_eq!(f["resourceId"], "00000003-0000-0000-c000-000000000000");
    assert_eq!(f["location"]["countryOrRegion"], "CN");
    assert_eq!(f["isInteractive"], false);
}

#[test]
fn the_builtin_pack_evaluates_every_real_record() {
    let set = load(&[], true);
    for name in [
        "la_signinlogs_msticpy_aad_logons.jsonl",
        "diag_noninteractive_real_pseudonymized_1rec.json",
    ] {
        for (record, location) in read(&real(name)) {
            // The fast path and the explaining path agree on every rule
            // over one record.
            for rule in set.rules() {
                let id = rule.info.id.as_ref();
                let fast = set.matches(id, &record);
                let explained = set.explain(id, &record).map(|(_, trace)| trace.outcome);
                assert!(fast.is_some(), "{id}");
                assert_eq!(fast, explained, "{id} on {name}:{}", location.line);
            }
        }
    }
}
