//! The fast path gives exactly what the plain path gives.
//!
//! Plain: every key of every record parsed, one thread. Fast: only the keys
//! the rules read ([`ingest::Keep`] from [`RuleSet::projection`]), records
//! decoded and evaluated on several threads. Both run every rule of the
//! built-in pack, of `bench/rules12.yaml` and of generated variants over
//! generated sign-ins in each shape (with broken records mixed in) and over
//! the bundled examples, and must give the same outcomes, record by record:
//! the same findings (every field), the same unreadable records with the
//! same reasons, the same counts, the same detected formats.

#[path = "../benches/support/mod.rs"]
mod support;

mod common;

use std::path::{Path, PathBuf};

use common::same;
use support::Shape;
use tollgate::engine::{Loader, RuleSet};

fn load(add: impl FnOnce(&mut Loader)) -> RuleSet {
    let mut loader = Loader::new();
    add(&mut loader);
    common::loaded(loader)
}

/// Generated records in one shape, with a few broken ones: a line cut
/// short, a line of junk, and a record that is not an object.
fn generated(shape: Shape, count: u64) -> Vec<u8> {
    let bytes = support::buffer(shape, count, 11);
    if shape == Shape::GraphPage {
        return bytes;
    }
    let text = String::from_utf8(bytes).expect("generated text is UTF-8");
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        // A value no rule reads that a full parse refuses, or a key twice.
        let with = |extra: &str| line.replacen('{', &format!("{{{extra}"), 1);
        match i % 97 {
            13 => out.push_str(line.get(..line.len() / 2).unwrap_or(line)),
            41 => out.push_str("[1, 2, 3]"),
            55 => out.push_str(&with(r#""junk": "\ud800", "#)),
            63 => out.push_str(&with(r#""junk": 1, "junk": 2, "#)),
            71 => out.push_str(&with(r#""junk": 1e400, "#)),
            77 => out.push_str("not json at all"),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| ["json", "jsonl", "csv", "gz"].iter().any(|e| x == *e))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_pack_gives_the_same_outcomes_both_ways_on_every_shape() {
    let set = load(|l| {
        l.add_builtin();
    });
    let mut findings = 0;
    for shape in Shape::ALL {
        findings += same(&set, shape.name(), &generated(shape, 600));
    }
    assert!(findings > 100, "the data exercises the rules: {findings}");
}

#[test]
fn the_benchmark_and_generated_rules_give_the_same_outcomes_both_ways() {
    let rules12 = load(|l| {
        l.add_source("rules12.yaml", support::RULES12);
    });
    let variants = support::rules(300, 3);
    let generated_rules = load(|l| {
        l.add_source("generated.yaml", &variants);
    });
    for set in [&rules12, &generated_rules] {
        let mut findings = 0;
        for shape in [Shape::Jsonl, Shape::LogAnalytics] {
            findings += same(set, shape.name(), &generated(shape, 400));
        }
        assert!(findings > 20, "{findings}");
    }
}

#[test]
fn the_bundled_and_real_logs_give_the_same_outcomes_both_ways() {
    let set = load(|l| {
        l.add_builtin();
    });
    let mut files = files_under(&root().join("examples"));
    files.extend(files_under(&root().join("tests/fixtures/ingest")));
    assert!(files.len() >= 6, "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).expect("read");
        same(&set, &file.display().to_string(), &bytes);
    }
}

#[test]
fn edge_records_read_the_same_both_ways() {
    let set = load(|l| {
        l.add_builtin();
        l.add_source(
            "raw.yaml",
            "id: T-RAW\ntitle: t\nseverity: low\nmatch:\n  raw.properties.foo: bar\n",
        );
    });
    let deep = format!(
        r#"{{"userPrincipalName": "a@b", "clientAppUsed": "IMAP4", "status": {{"errorCode": 0}}, "junk": {}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let lines = [
        r#"{"userPrincipalName": "a@b", "clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "junk": "\ud800"}"#,
        r#"{"userPrincipalName": "a@b", "clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "junk": 1e400}"#,
        &deep,
        // A multi-line record with a bad escape: recovery re-reads line 2.
        "{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}, \"junk\": \"\\ud800\", \"n\":\n{\"id\": \"inner\", \"clientAppUsed\": \"POP3\", \"status\": {\"errorCode\": 0}}}",
        // Repeated keys decide the shape by distinct keys.
        r#"{"Category": "ServicePrincipalSignInLogs", "Status": {"errorCode": 50126}, "x": 1, "x": 2}"#,
        // `properties` as JSON text, and reached through raw.
        r#"{"category": "SignInLogs", "properties": "{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}}"}"#,
        r#"{"userPrincipalName": "a@b", "properties": {"foo": "bar"}}"#,
    ];
    let mut bytes = lines.join("\n").into_bytes();
    bytes.extend_from_slice(
        b"\n{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}, \"junk\": \"\xff\"}\n",
    );
    let found = same(&set, "edge records", &bytes);
    assert!(found >= 2, "{found}");
}
