//! A new project's files: a `tollgate.yaml` with every key explained,
//! `rules/` with one example rule and its tests, `logs/` with a sample,
//! and a GitHub Actions workflow, so adopting tollgate in CI starts from
//! one command.

use std::path::{Path, PathBuf};

use super::ProjectError;

/// The files of a new project, relative to its directory.
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

/// Writes a new project's files into `dir` (created when missing) and
/// gives their paths. Refuses to overwrite a file unless `force`, and then
/// names every file in the way.
pub(super) fn init(dir: &Path, force: bool) -> Result<Vec<PathBuf>, ProjectError> {
    // `init p/tollgate.yaml`: a project is a directory.
    if dir.exists() && !dir.is_dir() {
        return Err(ProjectError::Write(
            dir.to_path_buf(),
            std::io::Error::other("it is a file; name the project's directory"),
        ));
    }
    let targets: Vec<(PathBuf, &str)> = FILES
        .iter()
        .map(|(path, text)| (dir.join(path), *text))
        .collect();
    let existing: Vec<PathBuf> = targets
        .iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, _)| path.clone())
        .collect();
    if !existing.is_empty() && !force {
        return Err(ProjectError::Exists(existing));
    }
    for (path, text) in &targets {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| ProjectError::Write(parent.to_path_buf(), e))?;
        }
        std::fs::write(path, text).map_err(|e| ProjectError::Write(path.clone(), e))?;
    }
    Ok(targets.into_iter().map(|(path, _)| path).collect())
}
