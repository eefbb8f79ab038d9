//! Export to Sigma: every rule of the built-in pack either becomes Sigma
//! or is refused with the construct Sigma cannot say, and Sigma's own
//! reader (pySigma) loads and parses every rule exported.
//!
//! pySigma is looked for at `target/ci/venv/bin/python` (CI installs it
//! there). Without it the pySigma part is skipped with a message, unless
//! `TOLLGATE_CI=1`, when its absence fails the test.

use std::path::PathBuf;
use std::process::Command;

use tollgate::engine::Loader;
use tollgate::sigma::export::{sigma_id, to_sigma};

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
        match to_sigma(rule) {
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
failed = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yml")):
    try:
        collection = SigmaCollection.from_yaml(path.read_text())
        for rule in collection.rules:
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
