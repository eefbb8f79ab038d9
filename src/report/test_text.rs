//! Rule test outcomes for people: one line per case, the trace of each
//! failure, the rules without tests, and a closing count.

use std::io::{self, Write};

use crate::engine::TestOutcome;
use crate::finding::RuleInfo;

/// How `tollgate test` reports the outcomes (see [`write_tests_text`] and
/// [`super::write_junit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum TestFormat {
    /// For people.
    Text,
    /// JUnit XML for CI systems.
    Junit,
}

/// Writes the outcomes in `format`; gives how many failed or were not run.
pub fn write_tests(
    out: &mut dyn Write,
    outcomes: &[TestOutcome],
    rules: &[RuleInfo],
    format: TestFormat,
) -> io::Result<usize> {
    match format {
        TestFormat::Text => write_tests_text(out, outcomes, rules),
        TestFormat::Junit => {
            super::write_junit(out, outcomes)?;
            Ok(outcomes.iter().filter(|o| !o.passed()).count())
        }
    }
}

/// Writes the outcomes; gives how many failed or were not run.
pub fn write_tests_text(
    out: &mut dyn Write,
    outcomes: &[TestOutcome],
    rules: &[RuleInfo],
) -> io::Result<usize> {
    let mut failed = 0;
    let mut skipped = 0;
    let mut not_run = 0;
    for o in outcomes {
        let status = match (&o.skipped, o.not_run, o.passed()) {
            (_, true, _) => "NOT RUN",
            (Some(_), _, _) => "SKIP",
            (None, _, true) => "PASS",
            (None, _, false) => "FAIL",
        };
        writeln!(
            out,
            "{status}  {}  {}  ({}:{})",
            o.rule_id, o.name, o.source, o.line
        )?;
        if o.not_run {
            not_run += 1;
            if let Some(note) = &o.note {
                writeln!(out, "      {note}")?;
            }
            continue;
        }
        if let Some(why) = &o.skipped {
            skipped += 1;
            writeln!(out, "      {why}")?;
        }
        if !o.passed() {
            failed += 1;
            match &o.note {
                Some(note) => writeln!(out, "      {note}")?,
                None => writeln!(out, "      {}:", o.verdict())?,
            }
            for line in o.trace.lines() {
                writeln!(out, "      {line}")?;
            }
        }
    }
    let without: Vec<&str> = rules
        .iter()
        .filter(|r| !outcomes.iter().any(|o| o.rule_id == r.id.as_ref()))
        .map(|r| r.id.as_ref())
        .collect();
    if !without.is_empty() {
        let (n, verb) = match without.len() {
            1 => (1, "rule has"),
            n => (n, "rules have"),
        };
        writeln!(out, "note: {n} {verb} no tests: {}", without.join(", "))?;
    }
    write!(
        out,
        "{} passed, {failed} failed",
        outcomes.len() - failed - skipped - not_run
    )?;
    if skipped > 0 {
        write!(out, ", {skipped} skipped")?;
    }
    if not_run > 0 {
        write!(out, ", {not_run} not run")?;
    }
    writeln!(out)?;
    // A case not run is no pass: it fails the run as a failure does.
    Ok(failed + not_run)
}
