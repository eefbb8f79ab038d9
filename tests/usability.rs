//! What a new user trips over: each test pins a defect found by trying
//! tollgate as a stranger would, so it cannot come back.

use std::path::{Path, PathBuf};

mod common;

use common::{stderr, stdout, tollgate_in};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
    // A rule file with no rule in it checks nothing either.
    std::fs::write(dir.path().join("empty.yaml"), "# only a comment\n---\n").expect("write");
    for (args, path) in [
        (&["check", "s.jsonl", "--rules", "rules"][..], "rules"),
        (&["validate", "--rules", "rules"][..], "rules"),
        (&["test", "--rules", "rules"][..], "rules"),
        (
            &["check", "s.jsonl", "--rules", "empty.yaml"][..],
            "empty.yaml",
        ),
        (&["validate", "--rules", "empty.yaml"][..], "empty.yaml"),
        (&["test", "--rules", "empty.yaml"][..], "empty.yaml"),
    ] {
        let o = tollgate_in(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains(&format!("no rules to run: {path} holds no rule")),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

/// Why: an empty input said nothing, so a broken export looked clean; then
/// it was warned about, but still passed (exit 0, "no findings"), as did a
/// file of broken records and an empty directory: a run that checked
/// nothing is an error (exit 2), its report still written.
#[test]
fn a_run_that_checked_nothing_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("no-logs")).expect("mkdir");
    std::fs::write(dir.path().join("no-logs/README.md"), "notes\n").expect("write");
    std::fs::write(dir.path().join("empty.jsonl"), "").expect("write");
    std::fs::write(
        dir.path().join("broken.jsonl"),
        "{\"userPrincipalName\": \n{x\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("other.jsonl"),
        "{\"foo\": 1}\n{\"bar\": 2}\n",
    )
    .expect("write");
    let sign_in =
        r#"{"userPrincipalName": "a@b.c", "isInteractive": true, "status": {"errorCode": 0}}"#;
    std::fs::write(dir.path().join("one.jsonl"), format!("{sign_in}\n")).expect("write");
    std::fs::write(
        dir.path().join("noninteractive.yaml"),
        "id: X-1\ntitle: a rule\nseverity: low\nlogs: [nonInteractive]\nmatch:\n  userPrincipalName: a@b.c\n",
    )
    .expect("write");
    for (args, why) in [
        (
            &["check", "no-logs"][..],
            "error: no log files found in no-logs (read: .json, .jsonl, .ndjson, .csv, .log, .txt, .gz): nothing was checked",
        ),
        (
            &["check", "empty.jsonl"],
            "error: no records in empty.jsonl: nothing was checked",
        ),
        (
            &["check", "broken.jsonl", "--quiet"],
            "error: all 2 records are unreadable: nothing was checked",
        ),
        (
            &[
                "check",
                "other.jsonl",
                "--format",
                "sarif",
                "--output",
                "out.sarif",
            ],
            "error: none of the 2 records is a sign-in or Graph activity record: nothing was checked",
        ),
        (
            &["check", "broken.jsonl", "other.jsonl"],
            "error: none of the 4 records was checked by a rule (2 unreadable, 2 not sign-ins): nothing was checked",
        ),
        (
            &["check", "one.jsonl", "--rules", "noninteractive.yaml"],
            "error: the only record is of a log no loaded rule reads: nothing was checked",
        ),
        (
            &[
                "check",
                "one.jsonl",
                "one.jsonl",
                "--rules",
                "noninteractive.yaml",
            ],
            "error: all 2 records are of a log no loaded rule reads: nothing was checked",
        ),
        (
            &["check", "empty.jsonl", "--fail-on", "never"],
            "error: no records in empty.jsonl: nothing was checked",
        ),
    ] {
        let o = tollgate_in(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{args:?}: {}", stderr(&o));
    }
    // The report of a run that read records is written all the same, and
    // says the run did not succeed, and why.
    let sarif = std::fs::read_to_string(dir.path().join("out.sarif")).expect("report");
    let sarif: serde_json::Value = serde_json::from_str(&sarif).expect("json");
    let run = &sarif["runs"][0];
    assert_eq!(run["results"], serde_json::json!([]));
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let first = &invocation["toolExecutionNotifications"][0];
    assert_eq!(first["level"], "error");
    assert_eq!(
        first["message"]["text"],
        "none of the 2 records is a sign-in or Graph activity record: nothing was checked"
    );
    // A directory with no log still writes the report it was asked for.
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "no-logs",
            "--format",
            "sarif",
            "--output",
            "none.sarif",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let sarif = std::fs::read_to_string(dir.path().join("none.sarif")).expect("report");
    let sarif: serde_json::Value = serde_json::from_str(&sarif).expect("json");
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"][0]["message"]["text"],
        "no log file was read: nothing was checked"
    );
    // One sign-in among them is something checked; the empty file is
    // warned about.
    let o = tollgate_in(
        dir.path(),
        &["check", "empty.jsonl", "other.jsonl", "one.jsonl"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("nothing was checked"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("warning: no records in empty.jsonl"),
        "{}",
        stderr(&o)
    );
}

/// Why: a run that failed (here: it checked nothing) still wrote
/// `--write-baseline`, replacing a good baseline with an empty one, so the
/// next run reported every finding as new.
#[test]
fn a_failed_run_leaves_the_baseline_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty.jsonl"), "").expect("write");
    let good = "{\"fingerprints\": []}\n";
    let baseline = dir.path().join("baseline.json");
    std::fs::write(&baseline, good).expect("write");
    let o = tollgate_in(
        dir.path(),
        &["check", "empty.jsonl", "--write-baseline", "baseline.json"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("error: the run failed, so the baseline baseline.json was not written"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&baseline).expect("read"), good);
    // A path that is not there stops the run before it starts.
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "missing.jsonl",
            "--write-baseline",
            "baseline.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&baseline).expect("read"), good);
}

/// Why: `tollgate test` over rules without a `tests:` case printed
/// "0 passed, 0 failed" and exited 0, a CI step that tested nothing.
#[test]
fn a_test_run_that_tested_nothing_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("rule.yaml"),
        "id: X-1\ntitle: a rule\nseverity: low\nmatch:\n  userPrincipalName: a@b.c\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["test", "--rules", "rule.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("error: no rule loaded has a `tests:` case: nothing was tested"),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        dir.path().join("rule.yaml"),
        "id: X-1\ntitle: a rule\nseverity: low\nmatch:\n  userPrincipalName: a@b.c\n\
         tests:\n  - name: it matches\n    record: {userPrincipalName: a@b.c}\n    expect: match\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["test", "--rules", "rule.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("1 passed, 0 failed"), "{}", stdout(&o));
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
    // A file is no project directory.
    let o = tollgate_in(&project, &["init", "tollgate.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("it is a file; name the project's directory"),
        "{}",
        stderr(&o)
    );
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

/// Why: a misspelt `--param` name used to be ignored without a word, so
/// the rule ran with its default and the user believed it configured.
#[test]
fn a_param_no_rule_declares_is_an_error_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    for command in ["validate", "check"] {
        let mut args = vec![command, "--param", "trusted_contries=US", "--quiet"];
        if command == "check" {
            args.push(".");
        } else {
            args.pop();
        }
        let o = tollgate_in(dir.path(), &args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("no rule declares param `trusted_contries`"),
            "{command}: {err}"
        );
        assert!(
            err.contains("did you mean `trusted_countries`?"),
            "{command}: {err}"
        );
    }
}

/// Why: the same typo under `params:` in the config was ignored too; it
/// must point at the config's line and column.
#[test]
fn a_param_no_rule_declares_in_the_config_points_at_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "params:\n  trusted_contries: [US]\n",
    )
    .expect("write");
    for command in ["validate", "rules", "test"] {
        let o = tollgate_in(dir.path(), &[command, "--error-format", "plain"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("tollgate.yaml:2:3: error[tollgate::config]: no rule declares param `trusted_contries`"),
            "{command}: {err}"
        );
        assert!(err.contains("did you mean `trusted_countries`?"), "{err}");
    }
}

/// Why: an exception, `disable:` or `severity:` entry naming a rule that
/// does not exist was a warning `--quiet` hid and `validate` never gave:
/// the exception silently accepted nothing.
#[test]
fn unknown_rule_ids_in_the_config_are_errors_everywhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "disable: [TG-FED-01]\nseverity: { TG-LEG-01: critical }\nexceptions:\n  - rule: TG-CA-01\n    users: [a@contoso.com]\n    reason: break glass\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("empty.jsonl"), "").expect("write");
    for args in [
        &["validate", "--error-format", "plain"][..],
        &["check", "empty.jsonl", "--quiet", "--error-format", "plain"][..],
    ] {
        let o = tollgate_in(dir.path(), args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        for (at, id, near) in [
            ("tollgate.yaml:1:11", "TG-FED-01", "TG-FED-001"),
            ("tollgate.yaml:2:13", "TG-LEG-01", "TG-LEG-001"),
            ("tollgate.yaml:4:11", "TG-CA-01", "TG-CA-001"),
        ] {
            assert!(
                err.contains(&format!(
                    "{at}: error[tollgate::config]: no rule has id `{id}`"
                )),
                "{args:?}: {err}"
            );
            assert!(
                err.contains(&format!("did you mean `{near}`?")),
                "{args:?}: {err}"
            );
        }
    }
}

/// Why: a value of the wrong type for a param must be refused whether it
/// comes from `--param` or from the config.
#[test]
fn a_param_value_of_the_wrong_type_is_an_error_from_both_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("rule.yaml"),
        "id: EX-001\ntitle: Many failures\nseverity: low\nparams:\n  code: { type: int, default: 50126 }\nmatch:\n  status.errorCode: $code\n",
    )
    .expect("write");
    let o = tollgate_in(
        dir.path(),
        &["validate", "--rules", "rule.yaml", "--param", "code=many"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "value `many` given for param `code` (with `--param` or in the config) is not an int"
        ),
        "{}",
        stderr(&o)
    );
    // A count given through a param says so, not that the rule is wrong.
    let pack = tollgate_in(dir.path(), &["validate", "--param", "min_failures=2.5"]);
    assert_eq!(pack.status.code(), Some(2), "{}", stderr(&pack));
    assert!(
        stderr(&pack).contains("the param's value is `2.5`")
            && stderr(&pack).contains("with `--param` or in the config"),
        "{}",
        stderr(&pack)
    );
    // One mistake: the param's use is no second one.
    assert!(!stderr(&o).contains("has no value"), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 mistake"), "{}", stderr(&o));
    std::fs::write(
        dir.path().join("tollgate.yaml"),
        "rules: [rule.yaml]\nparams:\n  code: many\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["validate"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "value `many` given for param `code` (with `--param` or in the config) is not an int"
        ),
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

/// Why: rules whose params defaulted to empty lists flagged every record
/// they read until configured. A required param has no default: until it
/// is set the rule waits, says so, and is left out of reports and counts.
#[test]
fn rules_that_wait_for_a_param_say_so_and_do_not_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("fed.jsonl"),
        "{\"id\": \"s-1\", \"tokenIssuerType\": \"ADFederationServices\", \"tokenIssuerName\": \"sts.contoso.com\", \"isInteractive\": true}\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["check", "fed.jsonl", "--format", "json"]);
    let err = stderr(&o);
    assert!(
        err.contains("note: TG-FED-002 waits for param expected_token_issuers (set it with --param or in tollgate.yaml)"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let ids: Vec<&str> = v["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(!ids.contains(&"TG-FED-002"), "{ids:?}");
    assert!(ids.contains(&"TG-FED-001"), "{ids:?}");
    assert_eq!(v["summary"]["rules"].as_u64(), Some(ids.len() as u64));
    let fired: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["ruleId"].as_str())
        .collect();
    assert_eq!(fired, ["TG-FED-001"]);

    // Set, the rule runs and the note is gone.
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "fed.jsonl",
            "--format",
            "json",
            "--param",
            "expected_token_issuers=sts.fabrikam.com",
        ],
    );
    assert!(!stderr(&o).contains("TG-FED-002 waits"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let fired: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["ruleId"].as_str())
        .collect();
    assert_eq!(fired, ["TG-FED-001", "TG-FED-002"]);
}

/// Why: `test` must not fail because a rule waits for a param; its cases
/// run with the values of their `params:`, or are reported as skipped.
#[test]
fn tests_of_waiting_rules_run_with_their_params_or_are_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("rule.yaml"),
        "id: EX-001\ntitle: Unexpected issuer\nseverity: medium\nparams:\n  issuers: { type: list, required: true, description: your issuers }\nmatch:\n  tokenIssuerType: ADFederationServices\n  not:\n    tokenIssuerName: $issuers\ntests:\n  - name: listed\n    expect: no-match\n    params: { issuers: [sts.contoso.com] }\n    record: { tokenIssuerType: ADFederationServices, tokenIssuerName: sts.contoso.com }\n  - name: without params\n    expect: match\n    record: { tokenIssuerType: ADFederationServices }\n",
    )
    .expect("write");
    let o = tollgate_in(dir.path(), &["test", "--rules", "rule.yaml"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("PASS  EX-001  listed"), "{out}");
    assert!(out.contains("SKIP  EX-001  without params"), "{out}");
    assert!(out.contains("1 passed, 0 failed, 1 skipped"), "{out}");
    assert!(
        stderr(&o).contains("note: EX-001 waits for param issuers"),
        "{}",
        stderr(&o)
    );
    let o = tollgate_in(dir.path(), &["rules", "--rules", "rule.yaml"]);
    assert!(
        stdout(&o).contains("param issuers: list, required, not set: the rule waits for it"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("note: EX-001 waits for param issuers"));
    let o = tollgate_in(
        dir.path(),
        &["rules", "--rules", "rule.yaml", "--format", "markdown"],
    );
    assert!(
        stdout(&o).contains("| `issuers` | list | required"),
        "{}",
        stdout(&o)
    );
}

/// Why: a file of another log's lines (or an unrelated CSV) counted as
/// evaluated sign-ins, so a run that checked nothing looked clean. Such a
/// record is reported like an unreadable one and counted as `notSignIn`.
#[test]
fn records_with_no_known_field_are_not_counted_as_sign_ins() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("junk.jsonl"), "{\"foo\":1}\n{\"foo\":2}\n").expect("write");
    std::fs::write(dir.path().join("other.csv"), "name,size\nreport.pdf,12\n").expect("write");
    std::fs::write(
        dir.path().join("mixed.jsonl"),
        "{\"foo\":1}\n{\"id\": \"s-1\", \"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}}\n",
    )
    .expect("write");
    let o = tollgate_in(
        dir.path(),
        &[
            "check",
            "junk.jsonl",
            "other.csv",
            "mixed.jsonl",
            "--format",
            "json",
        ],
    );
    let err = stderr(&o);
    assert!(
        err.contains("warning: junk.jsonl:1: not a sign-in or Graph activity record: none of its keys is a known field"),
        "{err}"
    );
    assert!(err.contains("other.csv:2: not a sign-in"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let s = &v["summary"];
    assert_eq!(v["schemaVersion"], tollgate::finding::SCHEMA_VERSION);
    assert_eq!(s["records"], 5);
    assert_eq!(s["evaluated"], 1);
    assert_eq!(s["unreadable"], 0);
    assert_eq!(s["notSignIn"], 4);
    let files = s["files"].as_array().expect("files");
    let per_file: Vec<u64> = files
        .iter()
        .filter_map(|f| f["notSignIn"].as_u64())
        .collect();
    assert_eq!(per_file, [2, 1, 1]);
    for f in files.iter().chain([s]) {
        assert_eq!(
            f["records"].as_u64(),
            Some(
                f["evaluated"].as_u64().unwrap_or(0)
                    + f["unreadable"].as_u64().unwrap_or(0)
                    + f["notSignIn"].as_u64().unwrap_or(0)
            ),
            "{f}"
        );
    }
    assert_eq!(s["problems"][0]["line"], 1);
    assert_eq!(
        s["problems"][0]["reason"],
        "not a sign-in or Graph activity record: none of its keys is a known field"
    );

    let o = tollgate_in(dir.path(), &["check", "junk.jsonl"]);
    assert!(
        stdout(&o).contains("2 read: 0 evaluated, 0 unreadable, 2 not sign-ins"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("nothing was checked"), "{}", stderr(&o));
    let o = tollgate_in(dir.path(), &["check", "junk.jsonl", "--strict", "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Why: deciding "not a sign-in" must never drop a real export: every
/// record of the bundled examples and the ingest fixtures is evaluated.
#[test]
fn every_bundled_and_fixture_record_counts_as_evaluated() {
    let o = tollgate_in(
        &root(),
        &[
            "check",
            "examples/logs",
            "tests/fixtures/ingest",
            "--format",
            "json",
            "--quiet",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    for f in v["summary"]["files"].as_array().expect("files") {
        assert_eq!(f["notSignIn"], 0, "{f}");
        assert!(
            f["evaluated"].as_u64().unwrap_or(0) > 0 || f["records"] == 0,
            "{f}"
        );
    }
}

/// Why: `explain` on a rule that waits for a param said the rule did not
/// exist; it must say what the rule waits for.
#[test]
fn explain_says_what_a_waiting_rule_waits_for() {
    let o = tollgate_in(
        &root(),
        &[
            "explain",
            "--rule",
            "TG-FED-002",
            "examples/logs/graph-page.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("TG-FED-002 waits for param expected_token_issuers"),
        "{}",
        stderr(&o)
    );
}

/// Why: a rule file named `RULE.YAML` in a rules directory was passed over
/// without a word.
#[test]
fn rule_files_are_found_whatever_the_case_of_their_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("rules")).expect("mkdir");
    for (name, id) in [("a.yml", "T-A"), ("B.YAML", "T-B"), ("c.Yml", "T-C")] {
        std::fs::write(
            dir.path().join("rules").join(name),
            format!("id: {id}\ntitle: t\nseverity: low\nmatch:\n  clientAppUsed: IMAP4\n"),
        )
        .expect("write");
    }
    std::fs::write(dir.path().join("rules/notes.txt"), "not a rule\n").expect("write");
    let o = tollgate_in(dir.path(), &["rules", "--rules", "rules"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A file named again (itself, after its directory) is read once, not
    // reported as its own rule ids written twice.
    let again = tollgate_in(
        dir.path(),
        &["validate", "--rules", "rules", "--rules", "rules/a.yml"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    for id in ["T-A", "T-B", "T-C"] {
        assert!(stdout(&o).contains(id), "{id}: {}", stdout(&o));
    }
}

/// Why: with every rule disabled, the error said the rule file held no
/// rule; explaining a disabled rule said no rule had its id.
#[test]
fn a_disabled_rule_is_said_to_be_disabled() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("rules")).expect("mkdir");
    for (name, id, app) in [("a.yaml", "T-A", "IMAP4"), ("b.yaml", "T-B", "POP3")] {
        std::fs::write(
            dir.path().join("rules").join(name),
            format!("id: {id}\ntitle: t\nseverity: low\nmatch:\n  clientAppUsed: {app}\n"),
        )
        .expect("write");
    }
    std::fs::write(
        dir.path().join("s.jsonl"),
        "{\"id\":\"x\",\"createdDateTime\":\"2025-03-01T10:00:00Z\",\"clientAppUsed\":\"IMAP4\"}\n",
    )
    .expect("write");
    let all = ["--rules", "rules", "--disable", "T-A", "--disable", "T-B"];
    for command in [
        &["check", "s.jsonl"][..],
        &["validate"],
        &["test"],
        &["compile", "--target", "kql"],
    ] {
        let args: Vec<&str> = command.iter().chain(&all).copied().collect();
        let o = tollgate_in(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("every rule loaded is disabled") && stderr(&o).contains("T-A, T-B"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let o = tollgate_in(
        dir.path(),
        &[
            "explain",
            "--rule",
            "T-A",
            "--rules",
            "rules",
            "--disable",
            "T-A",
            "s.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("rule `T-A` is disabled"),
        "{}",
        stderr(&o)
    );
}
