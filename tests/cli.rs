//! The command line as users run it: exit codes, formats, bad input.

mod common;

use common::{stderr, stdout};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tollgate(args: &[&str]) -> Output {
    common::tollgate_in(&root(), args)
}

fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn check_on_the_examples_finds_and_exits_1() {
    let o = tollgate(&["check", "examples/"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    for rule in [
        "TG-CA-001",
        "TG-XT-001",
        "TG-AUTH-001",
        "TG-FED-001",
        "TG-LEG-001",
    ] {
        assert!(out.contains(rule), "{rule} missing from:\n{out}");
    }
}

#[test]
fn fail_on_sets_the_threshold() {
    let o = tollgate(&[
        "check",
        "examples/logs/graph-page.json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = tollgate(&[
        "check",
        "examples/logs/graph-page.json",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = tollgate(&[
        "check",
        "examples/logs/graph-page.json",
        "--fail-on",
        "high",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = tollgate(&[
        "check",
        "examples/logs/graph-page.json",
        "--fail-on",
        "urgent",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn no_findings_exits_0() {
    let o = with_stdin(&["check", "-"], br#"{"status": {"errorCode": 0}, "isInteractive": true, "conditionalAccessStatus": "success"}"#);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn standard_input_is_read_with_dash() {
    let o = with_stdin(
        &["check", "-", "--format", "json"],
        b"{\"isInteractive\": true, \"conditionalAccessStatus\": \"notApplied\", \"status\": {\"errorCode\": 0}}\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["findings"][0]["ruleId"], "TG-CA-001");
    assert_eq!(v["findings"][0]["location"]["path"], "-");
}

#[test]
fn json_summary_reconciles_with_a_broken_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("mixed.jsonl");
    std::fs::write(
        &log,
        "{\"isInteractive\": true, \"conditionalAccessStatus\": \"notApplied\", \"status\": {\"errorCode\": 0}}\n{\"broken\": \n{\"status\": {\"errorCode\": 1}}\n",
    )
    .expect("write");
    let o = tollgate(&[
        "check",
        log.to_str().unwrap_or_default(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(":2:"),
        "the bad line is named: {}",
        stderr(&o)
    );
    let s = &json(&o)["summary"];
    assert_eq!(s["records"], 3);
    assert_eq!(s["evaluated"], 2);
    assert_eq!(s["unreadable"], 1);
    assert_eq!(s["problems"][0]["line"], 2);
    // --strict turns the unreadable record into exit 2.
    let o = tollgate(&[
        "check",
        log.to_str().unwrap_or_default(),
        "--strict",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn jsonl_is_one_finding_per_line() {
    let o = tollgate(&[
        "check",
        "examples/logs/graph-signins.jsonl",
        "--format",
        "jsonl",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(lines.len() >= 5);
    for l in &lines {
        assert!(l["ruleId"].is_string());
        assert!(l["location"]["line"].as_u64().is_some_and(|n| n >= 1));
        assert!(l["fingerprint"].is_string());
        assert!(l["evidence"].is_array());
    }
}

#[test]
fn sarif_passes_the_code_scanning_checker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.sarif");
    let o = tollgate(&[
        "check",
        "examples/",
        "--format",
        "sarif",
        "--output",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    common::sarif_check::assert_accepted(&std::fs::read_to_string(&out).expect("read the SARIF"));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("json");
    let results = v["runs"][0]["results"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(results >= 5);
}

#[test]
fn text_output_explains_each_finding() {
    let o = tollgate(&["check", "examples/logs/graph-page.json"]);
    let out = stdout(&o);
    assert!(
        out.contains("alice@contoso.com signed in to Azure Portal from 203.0.113.11 (FR)"),
        "{out}"
    );
    assert!(out.contains("examples/logs/graph-page.json:"), "{out}");
    assert!(
        out.contains("conditionalAccessStatus eq notApplied"),
        "{out}"
    );
}

#[test]
fn broken_rules_are_all_reported_and_no_log_is_read() {
    let o = tollgate(&[
        "check",
        "examples/",
        "--rules",
        "tests/fixtures/broken",
        "--error-format",
        "plain",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty(), "no report is written");
    let err = stderr(&o);
    for needle in [
        "unknown rule key `serverity`",
        "did you mean `severity`?",
        "unknown field `contryOrRegion`",
        "did you mean `notApplied`?",
        "unknown operator `containz`",
        "no log was read",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
}

#[test]
fn validate_passes_on_the_builtin_pack_and_fails_on_broken_rules() {
    let o = tollgate(&["validate"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tollgate(&[
        "validate",
        "--rules",
        "tests/fixtures/broken",
        "--error-format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let first = stderr(&o)
        .lines()
        .next()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .unwrap_or_default();
    assert!(first.is_some_and(|d| d["line"].as_u64().is_some() && d["code"].is_string()));
}

#[test]
fn test_runs_the_builtin_rule_tests() {
    let o = tollgate(&["test"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.ends_with(" passed, 0 failed")),
        "{out}"
    );
}

#[test]
fn a_failing_rule_test_exits_1_and_shows_the_trace() {
    let o = tollgate(&["test", "--rules", "tests/fixtures/failing-test.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("FAIL"), "{out}");
    assert!(
        out.contains("✗ status.errorCode eq 0  (saw 50126)"),
        "{out}"
    );
}

#[test]
fn missing_paths_and_usage_errors_exit_2() {
    assert_eq!(
        tollgate(&["check", "does/not/exist.json"]).status.code(),
        Some(2)
    );
    assert_eq!(tollgate(&["check"]).status.code(), Some(2));
    assert_eq!(tollgate(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        tollgate(&["check", "examples/", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
}

/// The first record of the bundled Graph sign-ins: TG-AUTH-004 finds it.
fn first_example_record() -> String {
    let examples = std::fs::read_to_string(root().join("examples/logs/graph-signins.jsonl"))
        .expect("examples");
    examples.lines().next().expect("a record").to_string()
}

/// Checks that `child`, fed [`first_example_record`] through `input`,
/// writes its finding while `input` is still open (waits at most a guard
/// against a hang, not a measure of speed), then closes `input` and checks
/// the run ends finding it (exit 1).
fn first_finding_comes_while_open(mut child: std::process::Child, input: impl Send) {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads to the end, so that the run never writes to a closed pipe.
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let _ = tx.send(line.expect("read"));
        }
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("no finding before the input ended");
    drop(input);
    let status = child.wait().expect("wait");
    reader.join().expect("reader");
    let finding: serde_json::Value = serde_json::from_str(&line).expect("a finding");
    assert_eq!(finding["ruleId"], "TG-AUTH-004");
    assert_eq!(status.code(), Some(1));
}

/// Why: findings from a live stream on standard input sat in the output
/// buffer until it filled or the input ended.
#[test]
fn a_finding_from_standard_input_goes_out_before_the_input_ends() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["check", "-", "--format", "jsonl", "--quiet"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", first_example_record()).expect("write");
    stdin.flush().expect("flush");
    first_finding_comes_while_open(child, stdin);
}

/// Why: a named pipe (or a process substitution, `<(tail -f log)`) given
/// as a path was read like a file: on several threads, in blocks of 256
/// KiB, so a live stream's findings waited for the block to fill.
#[cfg(unix)]
#[test]
fn a_finding_from_a_named_pipe_goes_out_before_the_input_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("live.jsonl");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["check", "--format", "jsonl", "--quiet", "--threads", "2"])
        .arg(&fifo)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Opening the pipe to write waits for the reader to open it: on a
    // thread of its own, under a guard against a hang.
    let (opened, writer) = std::sync::mpsc::channel();
    let record = first_example_record();
    std::thread::spawn(move || {
        let mut pipe = std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .expect("open the pipe");
        writeln!(pipe, "{record}").expect("write");
        pipe.flush().expect("flush");
        let _ = opened.send(pipe);
    });
    let pipe = writer
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the pipe was never opened");
    first_finding_comes_while_open(child, pipe);
}

#[test]
fn an_empty_directory_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = tollgate(&["check", dir.path().to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no log files found in"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn params_reach_rules_from_the_command_line() {
    let record = br#"{"crossTenantAccessType": "passthrough", "isTenantRestricted": false, "resourceTenantId": "t-2"}"#;
    let o = with_stdin(&["check", "-", "--format", "jsonl"], record);
    assert_eq!(o.status.code(), Some(0));
    let o = with_stdin(
        &[
            "check",
            "-",
            "--format",
            "jsonl",
            "--param",
            "restricted_tenants=t-1,t-2",
        ],
        record,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("TG-XT-001"));
}

/// Why: the built-in pack's impossible travel has no exact form in the
/// query languages, so compiling the pack exits 2 until it is left out;
/// `--disable` does that from the command line, as `disable:` does in the
/// config, and a mistyped id is an error with the closest id.
#[test]
fn disable_leaves_a_rule_out_from_the_command_line() {
    let compile = |more: &[&str]| {
        tollgate(&[&["compile", "--target", "kql", "--format", "text"], more].concat())
    };
    let o = compile(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("TG-RISK-011"), "{}", stderr(&o));
    let o = compile(&["--disable", "TG-RISK-011"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("TG-RISK-011"));
    let o = compile(&["--disable", "TG-RISK-01"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean `TG-RISK-011`?"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    // In a check too: the rule's findings are gone.
    let check = |more: &[&str]| {
        let base = [
            "check",
            "examples/",
            "--format",
            "jsonl",
            "--fail-on",
            "never",
        ];
        stdout(&tollgate(&[&base[..], more].concat()))
    };
    assert!(check(&[]).contains("TG-CA-001"));
    let without = check(&["--disable", "TG-CA-001"]);
    assert!(!without.contains("TG-CA-001") && !without.is_empty());
}

#[test]
fn rules_and_schema_list_what_there_is() {
    let o = tollgate(&["rules", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(json(&o).as_array().is_some_and(|r| r.len() >= 5));
    let o = tollgate(&["schema"]);
    let out = stdout(&o);
    assert!(
        out.contains("status.errorCode") && out.contains("ResultType"),
        "{out}"
    );
}

#[test]
fn explain_shows_the_condition_that_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("one.jsonl");
    std::fs::write(
        &log,
        "{\"isInteractive\": true}\n{\"isInteractive\": true, \"conditionalAccessStatus\": \"notApplied\", \"status\": {\"errorCode\": 50126}}\n",
    )
    .expect("write");
    let target = format!("{}:2", log.display());
    let o = tollgate(&["explain", "--rule", "TG-CA-001", &target]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("does not match"), "{out}");
    assert!(
        out.contains("✗ status.errorCode eq 0  (saw 50126)"),
        "{out}"
    );
    assert!(
        out.contains("✓ conditionalAccessStatus eq notApplied"),
        "{out}"
    );
}

/// A window rule explained over a file: each group's best window against
/// the thresholds, and the engine's verdict, so a writer sees why a spray
/// did not fire and which one did.
#[test]
fn explain_shows_how_far_each_group_of_a_window_got() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = dir.path().join("spray.yaml");
    std::fs::write(
        &rule,
        "id: MY-SPRAY\ntitle: spray\nseverity: high\nmatch: { status.errorCode: 50126 }\nwindow: { groupBy: [ipAddress], span: 10m, distinct: { userPrincipalName: { gte: 3 } } }\n",
    )
    .expect("write");
    let mut lines = String::new();
    // 203.0.113.7: three accounts within 4 minutes (fires); 198.51.100.9:
    // three accounts, but the third 11 minutes after the first (a window
    // of 10 minutes holds two); one success that takes no part.
    for (i, (ip, minute, user)) in [
        ("203.0.113.7", 0, "a"),
        ("203.0.113.7", 2, "b"),
        ("203.0.113.7", 4, "c"),
        ("198.51.100.9", 0, "a"),
        ("198.51.100.9", 5, "b"),
        ("198.51.100.9", 11, "c"),
    ]
    .iter()
    .enumerate()
    {
        lines.push_str(&format!(
            "{{\"id\": \"{i}\", \"createdDateTime\": \"2025-03-01T10:{minute:02}:00Z\", \"ipAddress\": \"{ip}\", \"userPrincipalName\": \"{user}@contoso.com\", \"status\": {{\"errorCode\": 50126}}}}\n"
        ));
    }
    lines.push_str("{\"id\": \"9\", \"createdDateTime\": \"2025-03-01T10:00:00Z\", \"ipAddress\": \"203.0.113.7\", \"userPrincipalName\": \"z@contoso.com\", \"status\": {\"errorCode\": 0}}\n");
    // A broken line is said, not silently dropped.
    lines.push_str("broken{\n");
    let log = dir.path().join("spray.jsonl");
    std::fs::write(&log, lines).expect("write");
    let rules = rule.display().to_string();
    let log = log.display().to_string();
    // A file of records none of which is a sign-in says so.
    let other = dir.path().join("other.jsonl");
    std::fs::write(&other, "{\"foo\": 1}\n{\"bar\": 2}\n").expect("write");
    let other = other.display().to_string();
    let o = tollgate(&["explain", "--rule", "MY-SPRAY", "--rules", &rules, &other]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("none of the 2 records in ")
            && stderr(&o).contains("other.jsonl is a sign-in or Graph activity record"),
        "{}",
        stderr(&o)
    );
    let o = tollgate(&["explain", "--rule", "MY-SPRAY", "--rules", &rules, &log]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains("6 of 7 records take part, in 2 groups; 1 fired"),
        "{out}"
    );
    assert!(out.contains("ipAddress=203.0.113.7: 3 records"), "{out}");
    assert!(
        out.contains("1 unreadable record took no part (the first: "),
        "{out}"
    );
    assert!(out.contains("ipAddress=198.51.100.9: 3 records"), "{out}");
    let near_miss = out
        .split("ipAddress=198.51.100.9")
        .nth(1)
        .expect("the near miss is listed");
    assert!(near_miss.contains("did not fire"), "{out}");
    assert!(
        near_miss.contains("2 distinct userPrincipalName (needs >= 3)"),
        "{out}"
    );
    let fired = out
        .split("ipAddress=203.0.113.7")
        .nth(1)
        .and_then(|s| s.split("ipAddress=").next())
        .expect("the spray is listed");
    assert!(fired.contains(": fired"), "{out}");
    assert!(
        fired.contains("3 distinct userPrincipalName (needs >= 3)"),
        "{out}"
    );
    // A line names one record: a window has none to explain alone.
    let o = tollgate(&[
        "explain",
        "--rule",
        "MY-SPRAY",
        "--rules",
        &rules,
        &format!("{log}:1"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("explain it on a whole file"),
        "{}",
        stderr(&o)
    );
}

/// A sequence explained over a file: the records of each step per group,
/// under the names of each step's key.
#[test]
fn explain_shows_the_steps_of_each_group_of_a_sequence() {
    let o = tollgate(&[
        "explain",
        "--rule",
        "TG-GA-006",
        "examples/logs/graph-activity.jsonl",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains("TG-GA-006 (a sequence of 2 steps within 1h): 15 of 15 records take part"),
        "{out}"
    );
    assert!(
        out.contains("signInActivityId/uniqueTokenIdentifier=buildagenttoken0009xyz: 3 records"),
        "{out}"
    );
    assert!(
        out.contains("    step call: 3 records (needs >= 1)"),
        "{out}"
    );
    assert!(
        out.contains("    step signIn: 0 records (must have none)"),
        "{out}"
    );
}

#[test]
fn garbage_input_never_panics() {
    let inputs: [&[u8]; 6] = [
        b"",
        b"\x00\x01\x02\xff\xfe",
        b"[[[[[[",
        b"{\"a\":",
        b"\xef\xbb\xbf\r\n\r\n",
        b"null\n42\n\"x\"\n",
    ];
    for input in inputs {
        let o = with_stdin(&["check", "-", "--format", "json"], input);
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        let v = json(&o);
        let s = &v["summary"];
        // None of these is a sign-in: nothing was checked, exit 2.
        assert_eq!(s["evaluated"], 0, "{input:?}");
        assert_eq!(o.status.code(), Some(2), "{input:?}: {}", stderr(&o));
        assert_eq!(
            s["records"],
            s["evaluated"].as_u64().unwrap_or(0) + s["unreadable"].as_u64().unwrap_or(0)
        );
    }
}

#[test]
fn reading_a_directory_skips_non_logs_visibly() {
    let o = tollgate(&["check", "examples/", "--format", "json"]);
    let v = json(&o);
    let skipped = v["summary"]["skipped"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        skipped.iter().any(|s| s["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("library.rs"))),
        "{skipped:?}"
    );
    assert_eq!(v["summary"]["unreadable"], 0);
}

#[test]
fn junit_output_is_well_formed_xml_with_the_trace() {
    let o = tollgate(&[
        "test",
        "--rules",
        "tests/fixtures/failing-test.yaml",
        "--format",
        "junit",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = dir.path().join("junit.xml");
    std::fs::write(&xml, &o.stdout).expect("write");
    // Parse it as CI systems do, with a real XML parser.
    let script = "import sys, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\nassert root.tag == 'testsuites', root.tag\nsuite = root.find('testsuite')\ncase = suite.find('testcase')\nfailure = case.find('failure')\nprint(suite.get('name'), case.get('classname'), failure.get('message'))\nprint(failure.text)\n";
    let parsed = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&xml)
        .output()
        .expect("python3");
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let text = String::from_utf8_lossy(&parsed.stdout);
    assert!(
        text.starts_with(
            "tests/fixtures/failing-test.yaml T-FAIL-001 expected a match, got no match"
        ),
        "{text}"
    );
    assert!(
        text.contains("✗ status.errorCode eq 0  (saw 50126)"),
        "{text}"
    );
}

/// A report or a baseline written over a log the run reads would destroy
/// it: the run refuses before it writes anything, under any name of the
/// file, and the log is as it was.
#[test]
fn a_report_is_never_written_over_a_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("a.jsonl");
    let original =
        std::fs::read(root().join("examples/logs/graph-signins.jsonl")).expect("example log");
    std::fs::write(&log, &original).expect("write log");
    let report = dir.path().join("report.json");
    std::fs::write(&report, b"{}\n").expect("write report");
    let link = dir.path().join("other-name");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&log, &link).expect("symlink");
    let log_arg = log.to_str().expect("utf-8 path");
    let dir_arg = dir.path().to_str().expect("utf-8 path");
    let cases: Vec<Vec<&str>> = vec![
        vec!["check", log_arg, "--output", log_arg],
        vec!["check", log_arg, "--write-baseline", log_arg],
        // A report left among the logs by an earlier run is read as one.
        vec![
            "check",
            dir_arg,
            "--output",
            report.to_str().expect("utf-8"),
        ],
        #[cfg(unix)]
        vec!["check", log_arg, "--output", link.to_str().expect("utf-8")],
    ];
    for args in cases {
        let o = tollgate(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("is also a log this run reads"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(&log).expect("log"), original, "{args:?}");
        assert_eq!(std::fs::read(&report).expect("report"), b"{}\n");
    }
    // Standard input redirected from the log is the log too.
    #[cfg(unix)]
    {
        let o = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["check", "-", "--output", log_arg])
            .stdin(Stdio::from(std::fs::File::open(&log).expect("open log")))
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("is also a log this run reads"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(&log).expect("log"), original);
    }
    // The report and the baseline in one file: one would replace the other.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let report_path = elsewhere.path().join("same.json");
    let again = elsewhere.path().join(".").join("same.json");
    let o = tollgate(&[
        "check",
        log_arg,
        "--output",
        report_path.to_str().expect("utf-8"),
        "--write-baseline",
        again.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("both name"), "{}", stderr(&o));
    // Nor over the baseline the run reads. (Written into a folder that
    // does not exist yet, as `.tollgate/baseline.json` in a new project.)
    let baseline = elsewhere.path().join(".tollgate").join("baseline.json");
    let o = tollgate(&[
        "check",
        log_arg,
        "--write-baseline",
        baseline.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = std::fs::read(&baseline).expect("baseline");
    let o = tollgate(&[
        "check",
        log_arg,
        "--baseline",
        baseline.to_str().expect("utf-8"),
        "--output",
        baseline.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is the baseline this run reads"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&baseline).expect("baseline"), written);
    // Elsewhere, the report is written.
    let out = elsewhere.path().join("report.jsonl");
    let o = tollgate(&[
        "check",
        log_arg,
        "--format",
        "jsonl",
        "--output",
        out.to_str().expect("utf-8"),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    assert!(!std::fs::read(&out).expect("report").is_empty());
}
