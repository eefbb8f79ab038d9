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
    /// Whether an unreadable record, or one that is no sign-in, fails the
    /// run (`--strict`): the SARIF then says it did not succeed.
    pub strict: bool,
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
    if sarif.strict {
        emitter = emitter.with_strict();
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

/// Why a run checked nothing, when it did not and nothing else failed it
/// (an input that could not be opened is its own error): no input was
/// read, the inputs held no record, or no record read was checked by a
/// rule (each could not be read, was no sign-in or Graph call, or was of
/// a log no loaded rule reads).
pub fn nothing_checked(summary: &Summary) -> Option<String> {
    let t = &summary.totals;
    if summary.unopened > 0 || t.evaluated > t.untargeted {
        return None;
    }
    let kinds = [
        Unchecked {
            count: t.unreadable,
            part: "unreadable",
            one: "is unreadable",
            all: |n| format!("all {n} records are unreadable"),
        },
        Unchecked {
            count: t.not_sign_in,
            part: "not sign-ins",
            one: "is not a sign-in or Graph activity record",
            all: |n| format!("none of the {n} records is a sign-in or Graph activity record"),
        },
        Unchecked {
            count: t.untargeted,
            part: "of a log no loaded rule reads",
            one: "is of a log no loaded rule reads",
            all: |n| format!("all {n} records are of a log no loaded rule reads"),
        },
    ];
    let present: Vec<&Unchecked> = kinds.iter().filter(|k| k.count > 0).collect();
    let why = match (t.records, present.as_slice()) {
        _ if summary.files.is_empty() => "no log file was read".to_string(),
        (0, _) => no_records_in(&summary.files.iter().map(|f| &f.path).collect::<Vec<_>>()),
        (1, [kind, ..]) => format!("the only record {}", kind.one),
        (n, [kind]) => (kind.all)(n),
        (n, _) => {
            let parts: Vec<String> = present
                .iter()
                .map(|k| format!("{} {}", k.count, k.part))
                .collect();
            format!(
                "none of the {n} records was checked by a rule ({})",
                parts.join(", ")
            )
        }
    };
    Some(format!("{why}: nothing was checked"))
}

/// Records of one kind no rule checked, and how [`nothing_checked`] names
/// them: as a part of several kinds, as the only record, as all records.
struct Unchecked {
    count: u64,
    part: &'static str,
    one: &'static str,
    all: fn(u64) -> String,
}

/// Why `--strict` fails a run, when it does: records that could not be
/// read or are no sign-in.
pub fn strict_failure(summary: &Summary) -> Option<String> {
    let unread = match summary.totals.unreadable + summary.totals.not_sign_in {
        0 => None,
        1 => Some("1 record is unreadable or not a sign-in".to_string()),
        n => Some(format!("{n} records are unreadable or not a sign-in")),
    };
    // A record a rule over many records could not place in time was read
    // but not used: as unusable as an unreadable one.
    let untimed = match summary.untimed {
        0 => None,
        1 => Some("1 record has no readable time for the rules over many records".to_string()),
        n => Some(format!(
            "{n} records have no readable time for the rules over many records"
        )),
    };
    let why: Vec<String> = unread.into_iter().chain(untimed).collect();
    (!why.is_empty()).then(|| format!("{}, and --strict fails the run", why.join("; ")))
}

/// `no records in a, b, c`: the first few inputs, and how many more (a
/// thousand empty hourly exports need not be one line).
pub fn no_records_in(paths: &[impl AsRef<str>]) -> String {
    const NAMED: usize = 3;
    let named: Vec<&str> = paths.iter().take(NAMED).map(AsRef::as_ref).collect();
    let named = named.join(", ");
    match paths.len().saturating_sub(NAMED) {
        0 => format!("no records in {named}"),
        1 => format!("no records in {named} and 1 other file"),
        more => format!("no records in {named} and {more} other files"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::FileCounts;

    fn files(n: usize) -> Summary {
        Summary {
            files: (1..=n)
                .map(|i| FileCounts {
                    path: format!("h{i}.json"),
                    ..FileCounts::default()
                })
                .collect(),
            ..Summary::default()
        }
    }

    #[test]
    fn empty_inputs_are_named_up_to_three() {
        let why = |n| nothing_checked(&files(n)).unwrap_or_default();
        assert_eq!(why(1), "no records in h1.json: nothing was checked");
        assert_eq!(
            why(3),
            "no records in h1.json, h2.json, h3.json: nothing was checked"
        );
        assert_eq!(
            why(4),
            "no records in h1.json, h2.json, h3.json and 1 other file: nothing was checked"
        );
        assert_eq!(
            why(1000),
            "no records in h1.json, h2.json, h3.json and 997 other files: nothing was checked"
        );
        assert_eq!(why(0), "no log file was read: nothing was checked");
    }

    #[test]
    fn a_checked_record_or_an_unopened_input_is_no_such_failure() {
        let mut summary = files(2);
        summary.totals.records = 1;
        summary.totals.evaluated = 1;
        assert_eq!(nothing_checked(&summary), None);
        // Read, but of a log no rule reads: not checked.
        summary.totals.untargeted = 1;
        assert!(nothing_checked(&summary).is_some());
        // An input that could not be opened is an error of its own.
        summary.unopened = 1;
        assert_eq!(nothing_checked(&summary), None);
    }
}
