//! Discovery: takes the paths named on the command line and gives the
//! inputs to read, in order, and the paths passed over, with why.
//!
//! A file is read whatever its name; a directory is walked recursively in
//! sorted order and contributes the files that look like logs.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use walkdir::WalkDir;

use super::Input;
use crate::finding::Problem;

/// Endings of file names read when walking a directory, each optionally
/// followed by `.gz`; any `.gz` file is read too. What is in a file is told
/// by its content, not these endings: they only keep files that are plainly
/// no logs (sources, READMEs) out of a walk.
const LOG_ENDINGS: &[&str] = &[".json", ".jsonl", ".ndjson", ".csv", ".log", ".txt"];

/// The endings a directory walk reads, for a message: `.json, .jsonl, ...,
/// .gz`.
pub fn log_endings() -> String {
    let mut endings = LOG_ENDINGS.to_vec();
    endings.push(".gz");
    endings.join(", ")
}

/// Expands paths into inputs: `-` is standard input, files are taken as
/// given, directories are walked in sorted order (hidden entries skipped,
/// symbolic links followed, loops reported). Returns the inputs and the
/// paths passed over, with why: files in a directory that are not logs
/// (`not a log file (extension .rs)`), and paths that do not exist (`no such
/// file or directory`) or cannot be read.
pub fn discover(paths: &[PathBuf]) -> (Vec<Input>, Vec<Problem>) {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut inputs, &mut skipped),
            Ok(_) => inputs.push(Input::File(path.clone())),
            Err(e) => skipped.push(problem(path, io_reason(&e))),
        }
    }
    (inputs, skipped)
}

fn walk(root: &Path, inputs: &mut Vec<Input>, skipped: &mut Vec<Problem>) {
    let entries = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in entries {
        match entry {
            Ok(entry) if entry.file_type().is_file() => {
                let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
                if is_log_name(&name) {
                    inputs.push(Input::File(entry.into_path()));
                } else {
                    let reason = match entry.path().extension() {
                        Some(ext) => {
                            format!("not a log file (extension .{})", ext.to_string_lossy())
                        }
                        None => "not a log file (no extension)".to_string(),
                    };
                    skipped.push(problem(entry.path(), reason));
                }
            }
            Ok(entry) if entry.file_type().is_dir() => {}
            // Reading a pipe found in a directory could wait for ever.
            Ok(entry) => skipped.push(problem(
                entry.path(),
                "not a regular file (a named pipe, socket or device): name it on its own to read it"
                    .to_string(),
            )),
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let reason = if let Some(ancestor) = e.loop_ancestor() {
                    format!("symbolic link loop back to {}", ancestor.to_string_lossy())
                } else if let Some(io) = e.io_error() {
                    io_reason(io)
                } else {
                    e.to_string()
                };
                skipped.push(problem(&path, reason));
            }
        }
    }
}

fn is_log_name(name: &str) -> bool {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    name.ends_with(".gz") || LOG_ENDINGS.iter().any(|end| base.ends_with(end))
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => format!("cannot read: {e}"),
    }
}

fn problem(path: &Path, reason: String) -> Problem {
    Problem {
        path: Arc::from(path.to_string_lossy().as_ref()),
        line: 0,
        record: None,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(inputs: &[Input], root: &Path) -> Vec<String> {
        inputs
            .iter()
            .map(|i| match i {
                Input::Stdin => "-".to_string(),
                Input::File(p) => p
                    .strip_prefix(root)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned(),
            })
            .collect()
    }

    #[test]
    fn directories_are_walked_in_order_and_non_logs_reported() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let root = dir.path();
        for name in [
            "b.jsonl",
            "a.json",
            "sub/c.ndjson.gz",
            "sub/d.LOG",
            "e.txt",
            "f.gz",
            "g.csv",
            "notes.rs",
            "README",
            ".hidden.json",
            ".git/x.json",
        ] {
            let path = root.join(name);
            if let Some(parent) = path.parent() {
                assert!(std::fs::create_dir_all(parent).is_ok());
            }
            assert!(std::fs::write(&path, b"{}").is_ok());
        }
        let (inputs, skipped) = discover(&[root.to_path_buf()]);
        assert_eq!(
            names(&inputs, root),
            [
                "a.json",
                "b.jsonl",
                "e.txt",
                "f.gz",
                "g.csv",
                "sub/c.ndjson.gz",
                "sub/d.LOG"
            ]
        );
        let reasons: Vec<String> = skipped.iter().map(|p| p.reason.clone()).collect();
        assert_eq!(
            reasons,
            [
                "not a log file (no extension)",
                "not a log file (extension .rs)"
            ]
        );
        assert!(skipped.iter().all(|p| p.line == 0 && p.record.is_none()));
    }

    #[test]
    fn files_are_taken_as_given_and_dash_is_stdin() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let file = dir.path().join("export.csv.bin");
        assert!(std::fs::write(&file, b"{}").is_ok());
        let missing = dir.path().join("missing.json");
        let (inputs, skipped) = discover(&[PathBuf::from("-"), file.clone(), missing]);
        assert_eq!(inputs, [Input::Stdin, Input::File(file)]);
        let reasons: Vec<&str> = skipped.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(reasons, ["no such file or directory"]);
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_link_loops_end() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let sub = dir.path().join("sub");
        assert!(std::fs::create_dir(&sub).is_ok());
        assert!(std::fs::write(sub.join("a.json"), b"{}").is_ok());
        assert!(std::os::unix::fs::symlink(dir.path(), sub.join("loop")).is_ok());
        let (inputs, skipped) = discover(&[dir.path().to_path_buf()]);
        assert_eq!(names(&inputs, dir.path()), ["sub/a.json"]);
        assert!(
            skipped
                .iter()
                .any(|p| p.reason.starts_with("symbolic link loop")),
            "{skipped:?}"
        );
    }
}
