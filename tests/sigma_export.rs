//! Export to Sigma: every rule of the built-in pack either becomes Sigma
//! or is refused with the construct Sigma cannot say, and Sigma's own
//! reader (pySigma) loads and parses every rule exported.
//!
//! pySigma is looked for at `target/ci/venv/bin/python` (CI installs it
//! there). Without it the pySigma part is skipped with a message, unless
//! `TOLLGATE_CI=1`, when its absence fails the test.

#[path = "../benches/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;

use tollgate::engine::Loader;
use tollgate::target::{Options, Target, compile, sigma_id};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The exported pack: (rule id, Sigma YAML) and the refusals as text.
fn export_pack() -> (Vec<(String, String)>, Vec<String>) {
    let mut loader = Loader::new();
    loader.add_builtin();
    let checked = loader.check();
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics());
    let mut exported = Vec::new();
    let mut refused = Vec::new();
    for rule in checked.rules() {
        let id = rule.info.id.to_string();
        match compile(rule, Target::Sigma, &Options::default()).map(|q| q.query) {
            Ok(yaml) => exported.push((id, yaml)),
            Err(e) => {
                // The reason names the rule and a construct.
                assert!(e.to_string().contains(&id), "{e}");
                assert!(e.construct.len() > 5, "{e}");
                refused.push(e.to_string());
            }
        }
    }
    (exported, refused)
}

#[test]
fn every_pack_rule_exports_or_names_what_sigma_cannot_say() {
    let (exported, refused) = export_pack();
    for r in &refused {
        println!("{r}");
    }
    assert!(
        exported.len() > refused.len(),
        "{} exported, {} refused",
        exported.len(),
        refused.len()
    );
    // Impossible travel is refused for its own construct, not only as a
    // sequence.
    let travel: Vec<&String> = refused
        .iter()
        .filter(|r| r.contains("TG-RISK-011"))
        .collect();
    assert_eq!(travel.len(), 1, "{refused:?}");
    assert!(travel[0].contains("uses `travel`"), "{}", travel[0]);
    for (id, yaml) in &exported {
        assert!(yaml.contains(&format!("id: {}", sigma_id(id))), "{yaml}");
        assert!(yaml.contains("product: azure"), "{yaml}");
        // Exporting twice gives the same text.
        assert!(yaml.contains("level: "));
    }
}

#[test]
fn pysigma_loads_every_exported_rule() {
    let python = root().join("target/ci/venv/bin/python");
    if !python.is_file() {
        let message = format!(
            "pySigma not found at {}: create it with `python3 -m venv target/ci/venv && target/ci/venv/bin/pip install pysigma`",
            python.display()
        );
        assert!(
            std::env::var("TOLLGATE_CI").as_deref() != Ok("1"),
            "{message}"
        );
        eprintln!("skipped: {message}");
        return;
    }
    let (exported, _) = export_pack();
    let dir = tempfile::tempdir().expect("temporary directory");
    for (i, (_, yaml)) in exported.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i:03}.yml")), yaml).expect("write");
    }
    let script = r#"
import pathlib, sys
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule
failed = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yml")):
    try:
        # Loading resolves a correlation's rule names: an unknown one fails.
        collection = SigmaCollection.from_yaml(path.read_text())
        for rule in collection.rules:
            if isinstance(rule, SigmaCorrelationRule):
                if not rule.rules or not all(isinstance(r.rule, SigmaRule) for r in rule.rules):
                    raise ValueError("a correlation whose rules are not base rules")
                if rule.condition is None or rule.timespan is None:
                    raise ValueError("a correlation without condition or timespan")
            else:
                for condition in rule.detection.parsed_condition:
                    condition.parse()
        if not collection.rules:
            raise ValueError("no rule")
    except Exception as e:
        failed += 1
        print(f"{path.name}: {type(e).__name__}: {e}")
        print(path.read_text())
print(f"{failed} failed")
sys.exit(1 if failed else 0)
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 failed"), "{stdout}");
}

/// What the pack finds natively and what its Sigma export finds, loaded
/// back by tollgate's Sigma reader, are the same records, rule by rule, on
/// real and generated Log Analytics rows: the export says what the rule
/// says, and the reader reads it back as Sigma means it.
#[test]
fn exported_rules_read_back_find_what_the_native_rules_find() {
    let (exported, _) = export_pack();
    let mut native = Loader::new();
    native.add_builtin();
    let native = native.load().expect("the pack loads");
    let mut sigma = Loader::new();
    // Back from Sigma id to the rule it came from.
    let mut origin = std::collections::BTreeMap::new();
    for (id, yaml) in &exported {
        sigma.add_source(&format!("{id}.yml"), yaml);
        for line in yaml.lines() {
            if let Some(uuid) = line.strip_prefix("id: ") {
                origin.insert(uuid.to_string(), id.clone());
            }
        }
    }
    let sigma = sigma.load().unwrap_or_else(|r| {
        panic!(
            "{}",
            tollgate::diag::render(
                &r.diagnostics,
                &r.sources,
                tollgate::diag::ErrorFormat::Plain
            )
        )
    });
    let mut bytes =
        std::fs::read(root().join("tests/fixtures/ingest/la_signinlogs_msticpy_aad_logons.jsonl"))
            .expect("fixture");
    bytes.extend(support::buffer(support::Shape::LogAnalytics, 4000, 3));
    let found = |set: &tollgate::RuleSet, map: &dyn Fn(&str) -> Option<String>| {
        let mut reader = tollgate::ingest::from_reader_with(
            "input".into(),
            Box::new(std::io::Cursor::new(bytes.clone())),
            tollgate::ingest::Options::default(),
        );
        let mut out: std::collections::BTreeMap<String, std::collections::BTreeSet<u64>> =
            std::collections::BTreeMap::new();
        let scanned: Result<(), ()> =
            tollgate::run::scan::scan(&mut reader, set, 1, &mut |outcome| {
                if let tollgate::run::scan::Outcome::Record { findings, .. } = outcome {
                    for f in findings {
                        if let Some(id) = map(&f.rule_id) {
                            out.entry(id).or_default().insert(f.location.record);
                        }
                    }
                }
                Ok(())
            });
        assert!(scanned.is_ok());
        out
    };
    let ids: std::collections::BTreeSet<String> =
        exported.iter().map(|(id, _)| id.clone()).collect();
    let from_native = found(&native, &|id| ids.contains(id).then(|| id.to_string()));
    let from_sigma = found(&sigma, &|id| origin.get(id).cloned());
    for id in &ids {
        let empty = std::collections::BTreeSet::new();
        let n = from_native.get(id).unwrap_or(&empty);
        let s = from_sigma.get(id).unwrap_or(&empty);
        assert_eq!(n, s, "{id}: native and exported-then-read Sigma differ");
    }
    let total: usize = from_native.values().map(|s| s.len()).sum();
    assert!(total > 100, "the pack finds something: {total}");
}

/// The pack's windows exported as Sigma correlations and read back find
/// the same groups as the native windows, on Log Analytics rows holding a
/// spray, disabled accounts tried from one address, one account failing
/// from many addresses, one session from several addresses, and near
/// misses of each.
#[test]
fn exported_windows_read_back_find_the_same_groups() {
    let windows = ["TG-AUTH-014", "TG-AUTH-017", "TG-AUTH-018", "TG-RISK-010"];
    let (exported, _) = export_pack();
    let dir = tempfile::tempdir().expect("temporary directory");
    let sigma_dir = dir.path().join("sigma");
    std::fs::create_dir(&sigma_dir).expect("mkdir");
    for id in windows {
        let (_, yaml) = exported
            .iter()
            .find(|(i, _)| i == id)
            .unwrap_or_else(|| panic!("{id} was not exported"));
        assert!(yaml.contains("correlation:"), "{yaml}");
        std::fs::write(sigma_dir.join(format!("{id}.yml")), yaml).expect("write");
    }
    let mut rows = String::new();
    let mut n = 0;
    let mut row = |minute: u32, upn: &str, ip: &str, code: u32, session: &str| {
        n += 1;
        let time = format!("2025-03-02T{:02}:{:02}:00Z", minute / 60, minute % 60);
        rows.push_str(
            &serde_json::json!({
                "Type": "SigninLogs", "TimeGenerated": time, "CreatedDateTime": time,
                "Id": format!("00000000-0000-4000-8000-{n:012}"),
                "UserPrincipalName": upn, "IPAddress": ip, "ResultType": code.to_string(),
                "SessionId": session,
            })
            .to_string(),
        );
        rows.push('\n');
    };
    for i in 0..12 {
        row(
            i,
            &format!("spray{i}@contoso.com"),
            "203.0.113.66",
            50126,
            "",
        );
        row(
            i,
            &format!("few{}@contoso.com", i % 9),
            "203.0.113.67",
            50126,
            "",
        );
    }
    for i in 0..3 {
        row(
            100 + i * 10,
            &format!("gone{i}@contoso.com"),
            "203.0.113.70",
            50057,
            "",
        );
        row(100 + i * 10, "left@contoso.com", "203.0.113.71", 50057, "");
    }
    for i in 0..10 {
        row(
            200 + i * 4,
            "victim@contoso.com",
            &format!("198.51.100.{}", 120 + i),
            50126,
            "",
        );
        row(
            200 + i * 4,
            "victim2@contoso.com",
            &format!("198.51.100.{}", 140 + i % 3),
            50126,
            "",
        );
    }
    for (i, ip) in ["192.0.2.20", "198.51.100.20", "203.0.113.20"]
        .iter()
        .enumerate()
    {
        row(300 + i as u32 * 10, "sue@contoso.com", ip, 0, "SESSION-1");
        row(300 + i as u32 * 70, "sam@contoso.com", ip, 0, "session-2");
    }
    let logs = dir.path().join("signins.jsonl");
    std::fs::write(&logs, rows).expect("write");
    let groups = |rules: &[&str]| {
        let mut args = vec![
            "check".to_string(),
            logs.display().to_string(),
            "--format".into(),
            "jsonl".into(),
            "--fail-on".into(),
            "never".into(),
            "--quiet".into(),
        ];
        for r in rules {
            args.extend(["--rules".to_string(), r.to_string()]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(&args)
            .output()
            .expect("tollgate runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut found = std::collections::BTreeSet::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
            if let Some(group) = v["episode"]["group"].as_object() {
                let rule = v["ruleId"].as_str().unwrap_or_default().to_string();
                let key: Vec<String> = group
                    .values()
                    .map(|x| x.as_str().unwrap_or_default().to_lowercase())
                    .collect();
                found.insert((rule, key.join(",")));
            }
        }
        found
    };
    let native_files: Vec<String> = [
        "rules/authentication/password-spray.yaml",
        "rules/authentication/disabled-account-probing.yaml",
        "rules/authentication/distributed-password-cracking.yaml",
        "rules/risk/session-from-several-addresses.yaml",
    ]
    .iter()
    .map(|p| root().join(p).display().to_string())
    .collect();
    let native = groups(&native_files.iter().map(String::as_str).collect::<Vec<_>>());
    let sigma_path = sigma_dir.display().to_string();
    let from_sigma: std::collections::BTreeSet<(String, String)> = groups(&[&sigma_path])
        .into_iter()
        .map(|(uuid, key)| {
            let id = windows
                .iter()
                .find(|id| sigma_id(id) == uuid)
                .map_or(uuid, |id| id.to_string());
            (id, key)
        })
        .collect();
    assert_eq!(native.len(), 4, "{native:?}");
    assert_eq!(from_sigma, native);
}
