//! The command line's `--input-format` and `schema` over both catalogs.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tollgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .env("NO_COLOR", "1")
        .output()
        .expect("run tollgate")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// A Log Analytics CSV export of one sign-in that TG-LEG-001 flags.
const CSV: &str = "Id,Type,ResultType,ClientAppUsed,UserPrincipalName\r\n\
    a,SigninLogs,0,IMAP4,a@contoso.com\r\n";

fn summary(file: &std::path::Path, format: &str) -> (Option<i32>, serde_json::Value) {
    let path = file.to_str().unwrap_or_default();
    let o = tollgate(&["check", path, "--format", "json", "--input-format", format]);
    (o.status.code(), json(&o))
}

#[test]
fn the_input_format_forces_the_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The name says JSON; the content says CSV, and the content wins.
    let file = dir.path().join("export.json");
    std::fs::write(&file, CSV).expect("write");
    let (code, report) = summary(&file, "auto");
    assert_eq!(code, Some(1));
    assert_eq!(report["summary"]["records"], 1);
    assert_eq!(report["summary"]["unreadable"], 0);
    assert_eq!(
        report["summary"]["files"][0]["format"],
        "csv (log-analytics)"
    );
    assert_eq!(report["findings"][0]["ruleId"], "TG-LEG-001");
    assert_eq!(summary(&file, "csv").1["summary"], report["summary"]);
    // Read as JSON, the two lines are junk, reported and counted, and a
    // run that checked nothing fails.
    let (code, report) = summary(&file, "jsonl");
    assert_eq!(code, Some(2));
    assert_eq!(report["summary"]["evaluated"], 0);
    assert!(report["summary"]["unreadable"].as_u64() >= Some(1));
    assert_eq!(summary(&file, "json").1["summary"], report["summary"]);
}

#[test]
fn csv_files_in_a_directory_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("export.csv"), CSV).expect("write");
    let (code, report) = summary(dir.path(), "auto");
    assert_eq!(code, Some(1));
    assert_eq!(report["summary"]["records"], 1);
}

#[test]
fn schema_lists_both_catalogs() {
    let o = tollgate(&["schema", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let fields = json(&o);
    let log_of = |name: &str| {
        fields
            .as_array()
            .and_then(|all| all.iter().find(|f| f["field"] == name))
            .map(|f| f["log"].clone())
    };
    assert_eq!(log_of("status.errorCode"), Some("signIn".into()));
    assert_eq!(log_of("responseStatusCode"), Some("graphActivity".into()));
    let o = tollgate(&["schema"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Microsoft Graph activity (logs: graphActivity)"),
        "{text}"
    );
}
