//! What a person watching the terminal reads beside a report: the line
//! that sums a run up, why a run checked nothing, and the Markdown summary
//! of a GitHub Actions step. Texts only; the caller decides where they go.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{Emitter, Format, SarifEmitter, markdown_summary};
use crate::diag::plural;
use crate::finding::{RuleInfo, Severity, Summary};

/// How the SARIF report is written; other formats ignore it.
#[derive(Debug, Clone, Default)]
pub struct SarifOptions {
    /// Log paths are made relative to this directory (the repository
    /// root); the working directory when `None`.
    pub root: Option<PathBuf>,
    /// `automationDetails.id`, to upload several analyses for one
    /// repository.
    pub category: Option<String>,
    /// Whether each result carries `baselineState` (a run with a
    /// baseline).
    pub baseline_state: bool,
}

/// The emitter for `format`, with the SARIF options applied; an error only
/// when the SARIF root cannot be made absolute.
pub fn emitter_with(format: Format, sarif: &SarifOptions) -> io::Result<Box<dyn Emitter>> {
    if format != Format::Sarif {
        return Ok(super::emitter(format));
    }
    let mut emitter = match &sarif.root {
        Some(root) => SarifEmitter::with_base(std::path::absolute(root)?),
        None => SarifEmitter::new(),
    };
    if let Some(category) = &sarif.category {
        emitter = emitter.with_category(category);
    }
    if sarif.baseline_state {
        emitter = emitter.with_baseline_state();
    }
    Ok(Box::new(emitter))
}

/// Where a report goes: the file at `path` (created or emptied), else
/// standard output; buffered.
pub fn output(path: Option<&Path>) -> io::Result<io::BufWriter<Box<dyn Write>>> {
    let out: Box<dyn Write> = match path {
        Some(path) => Box::new(std::fs::File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    Ok(io::BufWriter::with_capacity(1 << 16, out))
}

/// The warning on an exception that expired: its findings are reported
/// again.
pub fn expired(exception: &crate::config::Exception) -> String {
    format!(
        "the exception for {} ({}) expired on {}; its findings are reported again",
        exception.rule,
        exception.reason,
        exception.expires.as_deref().unwrap_or("?")
    )
}

/// One line that sums a run up: `3 findings in 120 records (118
/// evaluated, 2 unreadable) from 2 files`, and what was accepted.
pub fn summary_line(summary: &Summary) -> String {
    let t = &summary.totals;
    let files = summary.files.len();
    format!(
        "{} {} in {} {} ({} evaluated, {} unreadable) from {files} {}{}",
        t.findings,
        plural(t.findings, "finding", "findings"),
        t.records,
        plural(t.records, "record", "records"),
        t.evaluated,
        t.unreadable,
        plural(files, "file", "files"),
        match summary.accepted.total() {
            0 => String::new(),
            n => format!("; {n} accepted and not reported"),
        }
    )
}

/// Why a run over some files checked nothing, when it did not: the files
/// held no record, or no record read was a sign-in or a Graph call (each
/// could not be read, or was something else).
pub fn nothing_checked(summary: &Summary) -> Option<String> {
    let t = &summary.totals;
    if summary.files.is_empty() || t.evaluated > 0 {
        return None;
    }
    let why = match (t.records, t.unreadable, t.not_sign_in) {
        (0, ..) => {
            let paths: Vec<&str> = summary.files.iter().map(|f| f.path.as_str()).collect();
            format!("no records in {}", paths.join(", "))
        }
        (1, 1, _) => "the only record is unreadable".to_string(),
        (1, _, _) => "the only record is not a sign-in or Graph activity record".to_string(),
        (n, _, 0) => format!("all {n} records are unreadable"),
        (n, 0, _) => format!("none of the {n} records is a sign-in or Graph activity record"),
        (n, unreadable, not_sign_in) => format!(
            "none of the {n} records is a sign-in or Graph activity record \
             ({unreadable} unreadable, {not_sign_in} something else)"
        ),
    };
    Some(format!("{why}: nothing was checked"))
}

/// Appends the run's Markdown summary to a GitHub Actions step summary
/// file (`GITHUB_STEP_SUMMARY`).
pub fn append_step_summary(path: &Path, rules: &[RuleInfo], summary: &Summary) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(markdown_summary(rules, summary).as_bytes())
}

impl Summary {
    /// Whether a finding is at or above `threshold` (`None`: never).
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        matches!((threshold, self.max_severity()), (Some(t), Some(max)) if max >= t)
    }
}
