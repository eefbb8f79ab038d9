//! `tollgate init`: scaffolds a project, so the README's steps for adopting
//! tollgate in CI start from one command: a `tollgate.yaml` with every key
//! explained, `rules/` with one example rule and its tests, `logs/` with a
//! sample, and a GitHub Actions workflow.

use std::path::{Path, PathBuf};

use super::{CliResult, EXIT_OK};

/// The files `init` writes, relative to the project directory.
const FILES: [(&str, &str); 4] = [
    ("tollgate.yaml", include_str!("init/tollgate.yaml")),
    (
        "rules/example-rule.yaml",
        include_str!("init/example-rule.yaml"),
    ),
    (
        "logs/sample-signins.jsonl",
        include_str!("init/sample-signins.jsonl"),
    ),
    (
        ".github/workflows/tollgate.yml",
        include_str!("../../examples/ci/github-actions.yml"),
    ),
];

/// Writes the scaffold into `dir`; refuses to overwrite a file unless
/// `force`, and then names every file in the way.
pub(super) fn init(dir: &Path, force: bool) -> CliResult {
    let targets: Vec<(PathBuf, &str)> = FILES
        .iter()
        .map(|(path, text)| (dir.join(path), *text))
        .collect();
    let existing: Vec<String> = targets
        .iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !existing.is_empty() && !force {
        return Err(format!(
            "not overwriting {} (use --force to replace {})",
            existing.join(", "),
            if existing.len() == 1 { "it" } else { "them" }
        ));
    }
    for (path, text) in &targets {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    eprintln!(
        "next: cd {} && tollgate validate && tollgate test && tollgate check logs/",
        dir.display()
    );
    Ok(EXIT_OK)
}
