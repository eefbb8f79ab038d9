//! What a new user trips over: each test pins a defect found by trying
//! tollgate as a stranger would, so it cannot come back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tollgate_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tollgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Why: `cargo test` must pass in a clone with nothing beside it, so no
/// test, benchmark or source file may read the directory beside the
/// repository.
#[test]
fn nothing_reads_outside_the_repository() {
    let beside = format!("..{}shared", '/');
    let mut offenders = Vec::new();
    for dir in ["src", "tests", "benches", "examples"] {
        for entry in walk(&root().join(dir)) {
            let text = std::fs::read_to_string(&entry).unwrap_or_default();
            if text.contains(&beside) {
                offenders.push(entry.display().to_string());
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "read outside the repository: {offenders:?}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path
            .extension()
            .is_some_and(|e| e == "rs" || e == "sh" || e == "py")
        {
            out.push(path);
        }
    }
    out
}

/// Why: the real Log Analytics export repeats sign-ins; one sign-in must
/// give one finding per rule, with the repeat counted, not two findings.
#[test]
fn a_sign_in_delivered_twice_gives_one_finding_and_is_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = "{\"id\": \"s-1\", \"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}}\n";
    std::fs::write(dir.path().join("twice.jsonl"), format!("{line}{line}")).expect("write");
    let o = tollgate_in(dir.path(), &["check", "twice.jsonl", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let legacy: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["ruleId"] == "TG-LEG-001")
        .collect();
    assert_eq!(legacy.len(), 1, "{}", stdout(&o));
    assert!(v["summary"]["duplicates"].as_u64().is_some_and(|n| n >= 1));
    assert_eq!(v["summary"]["records"], 2);
    let text = tollgate_in(dir.path(), &["check", "twice.jsonl"]);
    assert!(stdout(&text).contains("not reported: the same rule on the same sign-in"));
}

/// Why: findings on one-line Event Hub batches share a line number; the
/// record index they report must be enough to explain one.
#[test]
fn explain_reaches_a_record_by_its_index() {
    let o = tollgate_in(
        &root(),
        &[
            "explain",
            "--rule",
            "TG-AUTH-004",
            "examples/logs/eventhub-batch.json",
            "--record",
            "2",
        ],
    );
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", stderr(&o));
    assert!(stdout(&o).contains("(record 2,"), "{}", stdout(&o));
    let o = tollgate_in(
        &root(),
        &[
            "explain",
            "--rule",
            "TG-AUTH-004",
            "examples/logs/eventhub-batch.json",
            "--record",
            "999",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no record 999"), "{}", stderr(&o));
}

/// Why: a typo in a field name must suggest the Graph name the README
/// teaches, not its Log Analytics alias.
#[test]
fn a_misspelled_field_suggests_the_graph_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("r.yaml"),
        "id: X-1\ntitle: t\nseverity: low\nmatch:\n  ipAdress: 203.0.113.1\n",
    )
    .expect("write");
    let o = tollgate_in(
        dir.path(),
        &["validate", "--rules", "r.yaml", "--error-format", "plain"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `ipAddress`"),
        "{}",
        stderr(&o)
    );
}

/// Why: config mistakes were counted as mistakes "in 1 rule file", and a
/// rule path from a config found in the working directory failed without
/// naming the config.
#[test]
fn config_mistakes_name_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tollgate.yaml"), "rules: [missing/]\n").expect("write");
    let o = tollgate_in(dir.path(), &["validate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read rules at missing/ (named in tollgate.yaml)"),
        "{}",
        stderr(&o)
    );
    std::fs::write(dir.path().join("tollgate.yaml"), "failOn: hihg\n").expect("write");
    let o = tollgate_in(dir.path(), &["validate", "--error-format", "plain"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("in 1 config file"), "{}", stderr(&o));
}

/// Why: the exit codes are what CI scripts test; `--help` must say them.
#[test]
fn help_lists_the_exit_codes() {
    let o = tollgate_in(&root(), &["--help"]);
    assert!(stdout(&o).contains("Exit codes:"), "{}", stdout(&o));
    assert!(stdout(&o).contains("2  usage error"));
}

/// Why: the summary of accepted findings read "not reported:;".
#[test]
fn the_accepted_line_reads_as_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("s.jsonl"),
        "{\"id\": \"a\", \"userPrincipalName\": \"bg@contoso.com\", \"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "exceptions:\n  - rule: TG-LEG-001\n    users: [bg@contoso.com]\n    reason: break-glass\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["check", "s.jsonl"]);
    let out = stdout(&o);
    assert!(
        out.contains("not reported: 1 TG-LEG-001 by exception (break-glass)"),
        "{out}"
    );
    assert!(!out.contains(":;"), "{out}");
}

/// Why: `--rules` on an empty directory ran zero rules and exited 0, a run
/// that checked nothing reported as a pass.
#[test]
fn zero_rules_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("rules")).expect("mkdir");
    std::fs::write(dir.path().join("s.jsonl"), "{\"id\": \"a\"}\n").expect("write");
    for args in [
        &["check", "s.jsonl", "--rules", "rules"][..],
        &["validate", "--rules", "rules"][..],
        &["test", "--rules", "rules"][..],
    ] {
        let o = tollgate_in(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("no rules to run: rules holds no rule file"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

/// Why: an empty input said nothing, so a broken export looked clean.
#[test]
fn an_empty_input_is_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty.jsonl"), "").expect("write");
    let o = tollgate_in(dir.path(), &["check", "empty.jsonl"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("warning: no records in empty.jsonl: nothing was checked"),
        "{}",
        stderr(&o)
    );
}

/// Why: adopting tollgate took copying four files by hand; `init` writes
/// them, and what it writes validates, passes its tests and finds its
/// sample.
#[test]
fn init_scaffolds_a_project_that_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("detections");
    let project_arg = project.to_str().unwrap_or_default();
    let o = tollgate_in(dir.path(), &["init", project_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for file in [
        "tollgate.yaml",
        "rules/example-rule.yaml",
        "logs/sample-signins.jsonl",
        ".github/workflows/tollgate.yml",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    let o = tollgate_in(&project, &["validate", "--require-tests"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tollgate_in(&project, &["test"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("3 passed, 0 failed"));
    let o = tollgate_in(&project, &["check", "logs/", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["summary"]["findings"], 1);
    // A second init does not overwrite what the team has edited.
    let o = tollgate_in(&project, &["init", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not overwriting"), "{}", stderr(&o));
}

/// Why: a team that requires every rule to carry tests needs the build to
/// fail on one without.
#[test]
fn validate_can_require_tests() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("r.yaml"),
        "id: X-1\ntitle: t\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["validate", "--rules", "r.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tollgate_in(
        dir.path(),
        &["validate", "--rules", "r.yaml", "--require-tests"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("1 rule has no `tests:` cases: X-1 (r.yaml:1)"),
        "{}",
        stderr(&o)
    );
}

/// Why: exceptions named single users and apps only; teams accept whole
/// domains (`*@contoso.com`) and address ranges (a scanner's subnet).
#[test]
fn exceptions_take_wildcards_and_address_ranges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = |id: &str, user: &str, ip: &str| {
        format!(
            "{{\"id\": \"{id}\", \"userPrincipalName\": \"{user}\", \"ipAddress\": \"{ip}\", \"clientAppUsed\": \"IMAP4\", \"status\": {{\"errorCode\": 0}}}}\n"
        )
    };
    let log = [
        line("a", "svc-mail@Contoso.com", "198.51.100.1"),
        line("b", "alice@fabrikam.com", "10.1.2.3"),
        line("c", "bob@fabrikam.com", "203.0.113.9"),
    ]
    .concat();
    std::fs::write(dir.path().join("s.jsonl"), log).expect("write");
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "exceptions:\n  - rule: TG-LEG-001\n    users: ['*@contoso.com']\n    reason: our mail robots\n  - rule: TG-LEG-001\n    ips: [10.0.0.0/8]\n    reason: the internal relay\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["check", "s.jsonl", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let reported: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["ruleId"] == "TG-LEG-001")
        .filter_map(|f| f["signIn"]["id"].as_str())
        .collect();
    assert_eq!(reported, ["c"], "{}", stdout(&o));
    let accepted = &v["summary"]["accepted"]["exceptions"];
    assert_eq!(accepted.as_array().map(Vec::len), Some(2), "{accepted}");
    // A range that is not one is refused at its line.
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "exceptions:\n  - rule: TG-LEG-001\n    ips: [10.0.0.0/40]\n    reason: typo\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["check", "s.jsonl", "--error-format", "plain"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("tollgate.yaml:3:"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not an IP address or range"),
        "{}",
        stderr(&o)
    );
}
