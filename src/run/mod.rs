//! A run: one rule set over a list of inputs, with triage and accounting.
//!
//! Takes a loaded [`RuleSet`], the inputs ([`Inputs::discover`] turns the
//! paths a user gave into files to read and files passed over) and
//! [`RunOptions`] (threads, reader, baseline, exceptions); gives every
//! finding to a [`Sink`] in input order, and returns a [`RunResult`]: the
//! [`Summary`] that reconciles every record, the baseline entries when
//! asked for, and whether an input could not be opened.
//!
//! The run owns what lives across records and files (triage counts, the
//! summary); the command line only renders and maps the result to an exit
//! code, so a library user gets the same behaviour as `tollgate check`.

pub mod explain;
pub mod multi;
pub mod scan;
pub mod triage;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::config::Exception;
use crate::engine::RuleSet;
use crate::finding::{AcceptedByException, FileCounts, Finding, Problem, Summary};
use crate::ingest::{self, Input, InputFormat};
use crate::record::Location;
use scan::Outcome;
use triage::{Baseline, BaselineEntry, Triage, Verdict};

/// The files of a run, found from the paths a user gave.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    inputs: Vec<Input>,
    skipped: Vec<Problem>,
}

/// Why a run could not start or go on.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// A path the user named cannot be read.
    Unreadable {
        /// The path as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// The sink failed (the report could not be written).
    Sink(io::Error),
    /// A window or sequence rule would retain more records than its limit:
    /// going on would under-count.
    Limit {
        /// The rule.
        rule_id: String,
        /// The limit reached.
        max_retained: usize,
    },
    /// The records of rules over many records could not wait in a
    /// temporary file.
    Spill(io::Error),
}

impl From<multi::MultiError> for RunError {
    fn from(e: multi::MultiError) -> Self {
        match e {
            multi::MultiError::Limit(o) => RunError::Limit {
                rule_id: o.rule_id,
                max_retained: o.error.max_retained,
            },
            multi::MultiError::Spill(e) => RunError::Spill(e),
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Unreadable { path, reason } => write!(f, "cannot read {path}: {reason}"),
            RunError::Sink(e) => write!(f, "cannot write the report: {e}"),
            RunError::Limit {
                rule_id,
                max_retained,
            } => write!(
                f,
                "rule {rule_id} would hold more than {max_retained} records at once \
                 (the limit of a window or sequence rule); the run stopped rather than under-count"
            ),
            RunError::Spill(e) => multi::spill_failed(f, e),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Sink(e) | RunError::Spill(e) => Some(e),
            RunError::Unreadable { .. } | RunError::Limit { .. } => None,
        }
    }
}

impl Inputs {
    /// The files under `paths` (directories walked in sorted order, `-`
    /// for standard input). A path named in `paths` that cannot be read is
    /// an error; files inside a directory that are not logs are kept as
    /// skipped, for the summary.
    pub fn discover(paths: &[PathBuf]) -> Result<Inputs, RunError> {
        let (inputs, passed_over) = ingest::discover(paths);
        let (missing, skipped): (Vec<Problem>, Vec<Problem>) =
            passed_over.into_iter().partition(|p| {
                paths
                    .iter()
                    .any(|given| given.as_os_str() == p.path.as_ref())
            });
        if let Some(first) = missing.into_iter().next() {
            return Err(RunError::Unreadable {
                path: first.path.to_string(),
                reason: first.reason,
            });
        }
        Ok(Inputs { inputs, skipped })
    }

    /// The inputs to read, in order.
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// Whether there is nothing to read.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Whether one of them may be a live stream ([`Input::is_stream`]).
    pub fn has_stream(&self) -> bool {
        self.inputs.iter().any(Input::is_stream)
    }

    /// Whether `path` names a regular file among the inputs (under any
    /// name: a link, another spelling of the path): what a run writes
    /// there would destroy a log it reads.
    pub fn reads(&self, path: &std::path::Path) -> bool {
        let Some(target) = file_id(path) else {
            return false;
        };
        self.inputs.iter().any(|input| match input {
            Input::File(p) => file_id(p).as_ref() == Some(&target),
            // Standard input redirected from a file (`< signins.jsonl`).
            Input::Stdin => {
                cfg!(unix) && file_id(std::path::Path::new("/dev/stdin")).as_ref() == Some(&target)
            }
        })
    }

    /// The size of the files in bytes (standard input counts 0).
    pub fn total_bytes(&self) -> u64 {
        self.inputs
            .iter()
            .map(|input| match input {
                Input::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
                Input::Stdin => 0,
            })
            .sum()
    }
}

/// Whether `a` and `b` name one regular file (under any names).
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    file_id(a).is_some_and(|id| file_id(b).as_ref() == Some(&id))
}

/// What tells a regular file from any other: its device and inode, where
/// there are such; else its canonical path.
#[cfg(unix)]
fn file_id(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then(|| (meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &std::path::Path) -> Option<PathBuf> {
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file()
        .then(|| std::fs::canonicalize(path).ok())
        .flatten()
}

/// How a run reads and triages.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads that decode and evaluate (1: everything on the
    /// calling thread; standard input and named pipes always run on one).
    pub threads: usize,
    /// How to read the logs.
    pub input_format: InputFormat,
    /// Findings already accepted, by fingerprint.
    pub baseline: Option<Baseline>,
    /// Findings accepted for a reason (expired ones are set apart by
    /// [`Run::new`]).
    pub exceptions: Vec<Exception>,
    /// The day exceptions are judged on, `YYYY-MM-DD` (default: today, UTC).
    pub today: String,
    /// Collect the fingerprints of the run's findings, for a new baseline.
    pub collect_baseline: bool,
    /// Bytes of memory for the records of window and sequence rules read
    /// from files, which wait for the end of the input; past them, they
    /// wait sorted in temporary files (default [`multi::SORT_BUFFER`]).
    pub sort_buffer: usize,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            input_format: InputFormat::Auto,
            baseline: None,
            exceptions: Vec::new(),
            today: triage::today(),
            collect_baseline: false,
            sort_buffer: multi::SORT_BUFFER,
        }
    }
}

/// What a run tells as it goes. Only [`Sink::finding`] is required.
pub trait Sink {
    /// A new finding (not accepted by the baseline or an exception), in
    /// input order.
    fn finding(&mut self, finding: &Finding) -> io::Result<()>;

    /// Something a person watching the run should hear of: an input or a
    /// record that could not be read, a record that is not a sign-in, a
    /// record too late for a window. The run goes on.
    fn notice(&mut self, _notice: Notice<'_>) {}

    /// One record done, with how many new findings it gave; `bytes` reads
    /// how far into the current input the reader is (cheap, call it only
    /// when needed).
    fn record(&mut self, _findings: u64, _bytes: &dyn Fn() -> u64) {}

    /// An input read to its end, `bytes` long.
    fn input_done(&mut self, _bytes: u64) {}
}

/// What a [`Sink`] hears of besides findings.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// An input that could not be opened; the run goes on with the next.
    UnreadableInput(&'a Problem),
    /// A record that could not be read (counted and kept among the
    /// problems).
    UnreadableRecord(&'a Problem),
    /// A record that holds nothing of a sign-in or a Graph call (counted,
    /// kept among the problems, and not evaluated).
    NotSignIn(&'a Problem),
    /// An input that held no record (counted among the files, with
    /// zeros).
    NoRecords(&'a str),
    /// A record of standard input came later than the watermark of a
    /// window or sequence rule (see [`multi::LATENESS`]): it takes no part
    /// in that rule.
    Late {
        /// The rule it came too late for.
        rule_id: &'a str,
        /// Where the record is.
        location: &'a Location,
    },
}

impl Notice<'_> {
    /// `error` for an input that could not be read, else `warning`.
    pub fn level(&self) -> &'static str {
        match self {
            Notice::UnreadableInput(_) => "error",
            _ => "warning",
        }
    }
}

impl std::fmt::Display for Notice<'_> {
    /// Where, then what: `logs/a.json:12: unreadable record: ...`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::UnreadableInput(p) => write!(f, "{}: {}", p.path, p.reason),
            Notice::UnreadableRecord(p) => {
                write!(f, "{}:{}: unreadable record: {}", p.path, p.line, p.reason)
            }
            Notice::NotSignIn(p) => write!(f, "{}:{}: {}", p.path, p.line, p.reason),
            Notice::NoRecords(path) => write!(f, "no records in {path}"),
            Notice::Late { rule_id, location } => write!(
                f,
                "{}:{}: record came too late for {rule_id} (more than {} minutes behind the newest record): not used",
                location.path,
                location.line,
                multi::LATENESS / (60 * crate::window::TICKS_PER_SECOND)
            ),
        }
    }
}

/// What a run came to.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// Counts that reconcile every record, per file and in total.
    pub summary: Summary,
    /// The fingerprints to write as a baseline (with
    /// [`RunOptions::collect_baseline`]).
    pub baseline: Vec<BaselineEntry>,
    /// Whether an input could not be opened at all.
    pub unreadable_input: bool,
}

/// One rule set over a list of inputs.
#[derive(Debug)]
pub struct Run<'r> {
    rules: &'r RuleSet,
    options: RunOptions,
    triage: Triage,
    expired: Vec<Exception>,
    /// Fingerprints of the findings seen so far: a sign-in delivered twice
    /// gives one finding per rule. Grows with findings, not with records:
    /// 16 bytes each ([`Seen`]).
    seen: Seen,
    /// The window and sequence rules' states.
    multi: multi::MultiRun<'r>,
    result: RunResult,
}

impl<'r> Run<'r> {
    /// A run of `rules`; exceptions that expired before `options.today`
    /// are set apart ([`Run::expired_exceptions`]) and do not apply.
    pub fn new(rules: &'r RuleSet, mut options: RunOptions) -> Run<'r> {
        let exceptions = std::mem::take(&mut options.exceptions);
        let (triage, expired) = Triage::new(options.baseline.take(), &exceptions, &options.today);
        let result = RunResult {
            summary: Summary {
                rules: rules.infos().len() as u64,
                ..Summary::default()
            },
            ..RunResult::default()
        };
        let multi = multi::MultiRun::new(rules.multi(), crate::window::Limits::default())
            .with_sort_buffer(options.sort_buffer)
            .with_threads(options.threads);
        Run {
            rules,
            options,
            triage,
            expired,
            seen: Seen::default(),
            multi,
            result,
        }
    }

    /// Exceptions that expired: their findings are reported again.
    pub fn expired_exceptions(&self) -> &[Exception] {
        &self.expired
    }

    /// Whether findings are judged against a baseline.
    pub fn has_baseline(&self) -> bool {
        self.triage.has_baseline()
    }

    /// Reads every input in order, giving new findings to `sink`; then
    /// closes the run.
    pub fn run(mut self, inputs: &Inputs, sink: &mut dyn Sink) -> Result<RunResult, RunError> {
        self.result
            .summary
            .skipped
            .extend(inputs.skipped.iter().cloned());
        for input in &inputs.inputs {
            self.input(input, sink)?;
        }
        let pushed = self.multi.finish()?;
        for (rule_id, location) in &pushed.late {
            sink.notice(Notice::Late { rule_id, location });
        }
        for finding in &pushed.findings {
            deliver(
                finding,
                None,
                &mut self.seen,
                &mut self.triage,
                &self.options,
                &mut self.result,
                sink,
            )?;
        }
        Ok(self.finish())
    }

    /// Reads one input to its end.
    fn input(&mut self, input: &Input, sink: &mut dyn Sink) -> Result<(), RunError> {
        let options = ingest::Options {
            format: self.options.input_format,
            keep: self.rules.projection().keep_some().map(Arc::new),
        };
        let (display, reader) = match input {
            Input::Stdin => {
                let display: Arc<str> = "-".into();
                let reader =
                    ingest::from_reader_with(display.clone(), Box::new(io::stdin()), options);
                (display, Ok(reader))
            }
            Input::File(path) => {
                let display: Arc<str> = path.display().to_string().into();
                (display.clone(), ingest::open_with(path, display, options))
            }
        };
        let mut counts = FileCounts {
            path: display.to_string(),
            ..FileCounts::default()
        };
        let mut reader = match reader {
            Ok(r) => r,
            Err(e) => {
                self.result.unreadable_input = true;
                let problem = Problem {
                    path: display,
                    line: 0,
                    record: None,
                    reason: format!("cannot open: {e}"),
                };
                sink.notice(Notice::UnreadableInput(&problem));
                self.result.summary.keep_problem(problem);
                self.result.summary.unopened += 1;
                // Its format is not known; the schema wants one said.
                counts.format = "unopened".to_string();
                self.result.summary.files.push(counts);
                return Ok(());
            }
        };
        let read = reader.bytes_counter();
        // A live stream (standard input, a named pipe): one thread reports
        // each record as it comes instead of waiting for a batch to fill.
        let threads = if input.is_stream() {
            1
        } else {
            self.options.threads
        };
        // Rules over many records decide as standard input goes (see
        // `MultiRun::push`); any other input, a pipe included (such as
        // `<(zcat export.json.gz)`, which may list the newest first), is
        // sorted by time first.
        let live = matches!(input, Input::Stdin);
        let Run {
            rules,
            options,
            triage,
            seen,
            multi,
            result,
            ..
        } = self;
        // The outcome is read in place: its findings are dropped by the
        // thread that made them (see `scan_in_place`).
        scan::scan_in_place::<RunError>(&mut reader, rules, threads, &mut |outcome| {
            counts.records += 1;
            match outcome {
                Outcome::Record {
                    targeted,
                    findings,
                    parts,
                } => {
                    let before = counts.findings;
                    counts.evaluated += 1;
                    if !*targeted {
                        counts.untargeted += 1;
                    }
                    let mut decided = Vec::new();
                    if !parts.is_empty() {
                        let parts = std::mem::take(parts);
                        let pushed = multi.push(parts, live).map_err(RunError::from)?;
                        for (rule_id, location) in &pushed.late {
                            sink.notice(Notice::Late { rule_id, location });
                        }
                        decided = pushed.findings;
                    }
                    for finding in findings.iter().chain(&decided) {
                        deliver(
                            finding,
                            Some(&mut counts),
                            seen,
                            triage,
                            options,
                            result,
                            sink,
                        )?;
                    }
                    sink.record(counts.findings - before, &|| read.get());
                }
                // Nothing of these goes back to a worker: taken whole.
                Outcome::Unreadable(_) | Outcome::NotSignIn(_) => {
                    match std::mem::replace(outcome, Outcome::SPENT) {
                        Outcome::Unreadable(problem) => {
                            counts.unreadable += 1;
                            sink.record(0, &|| read.get());
                            sink.notice(Notice::UnreadableRecord(&problem));
                            result.summary.keep_problem(problem);
                        }
                        Outcome::NotSignIn(problem) => {
                            counts.not_sign_in += 1;
                            sink.record(0, &|| read.get());
                            sink.notice(Notice::NotSignIn(&problem));
                            result.summary.keep_problem(problem);
                        }
                        Outcome::Record { .. } => {}
                    }
                }
            }
            Ok(())
        })?;
        sink.input_done(reader.bytes_read());
        if counts.records == 0 {
            sink.notice(Notice::NoRecords(&counts.path));
        }
        counts.format = reader.format();
        let summary = &mut self.result.summary;
        summary.totals.add(&FileCounts {
            findings: 0,
            ..counts.clone()
        });
        summary.files.push(counts);
        Ok(())
    }

    /// Closes the run: counts what each exception accepted.
    fn finish(mut self) -> RunResult {
        self.result.summary.untimed = self.multi.untimed;
        self.result.summary.first_untimed = self.multi.first_untimed.take();
        self.result.summary.late = self.multi.late;
        self.result.summary.repeated = self.multi.repeated;
        let triage = &self.triage;
        self.result.summary.accepted.exceptions = triage
            .excepted
            .iter()
            .filter_map(|(i, n)| {
                let e = triage.exceptions().get(*i)?;
                Some(AcceptedByException {
                    rule_id: e.rule.clone(),
                    reason: e.reason.clone(),
                    expires: e.expires.clone(),
                    findings: *n,
                })
            })
            .collect();
        self.result
    }
}

/// The fingerprints of findings delivered: the 128 bits a fingerprint's
/// 32 hex digits write, or, for one that is not such (none the engine
/// makes), the text.
#[derive(Debug, Default)]
struct Seen {
    bits: FxHashSet<u128>,
    other: FxHashSet<String>,
}

impl Seen {
    /// Adds a fingerprint; whether it was new.
    fn insert(&mut self, fingerprint: &str) -> bool {
        let hex = fingerprint.len() == 32
            && fingerprint
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match u128::from_str_radix(fingerprint, 16) {
            Ok(bits) if hex => self.bits.insert(bits),
            _ => self.other.insert(fingerprint.to_string()),
        }
    }
}

/// Triages one finding and gives it to the sink when it is new, counting it
/// in the summary (and in `counts`, the file being read, when given; a
/// finding decided at the end of the run counts in its record's file).
fn deliver(
    finding: &Finding,
    counts: Option<&mut FileCounts>,
    seen: &mut Seen,
    triage: &mut Triage,
    options: &RunOptions,
    result: &mut RunResult,
    sink: &mut dyn Sink,
) -> Result<(), RunError> {
    if !seen.insert(&finding.fingerprint) {
        result.summary.duplicates += 1;
        return Ok(());
    }
    let verdict = triage.classify(finding);
    if options.collect_baseline && !matches!(verdict, Verdict::Excepted(_)) {
        result.baseline.push(BaselineEntry {
            fingerprint: finding.fingerprint.clone(),
            rule_id: finding.rule_id.to_string(),
            sign_in_id: finding.sign_in.id.clone(),
        });
    }
    match verdict {
        Verdict::New => {
            match counts {
                Some(counts) => counts.findings += 1,
                None => {
                    let path = finding.location.path.as_ref();
                    if let Some(file) = result
                        .summary
                        .files
                        .iter_mut()
                        .rev()
                        .find(|f| f.path == path)
                    {
                        file.findings += 1;
                    }
                }
            }
            result.summary.count_finding(finding);
            sink.finding(finding).map_err(RunError::Sink)?;
        }
        Verdict::Baselined => result.summary.accepted.baseline += 1,
        Verdict::Excepted(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn fingerprints_are_told_apart_exactly() {
        let mut seen = Seen::default();
        let a = "0123456789abcdef0123456789abcdef";
        let b = "0123456789abcdef0123456789abcdee";
        assert!(seen.insert(a));
        assert!(!seen.insert(a));
        assert!(seen.insert(b));
        // Not the engine's lower-case hex: kept as text, never taken for
        // the fingerprint with the same digits.
        assert!(seen.insert(&a.to_uppercase()));
        assert!(seen.insert(&format!("+{}", &a[1..])));
        assert!(seen.insert("short"));
        assert!(!seen.insert("short"));
        assert_eq!((seen.bits.len(), seen.other.len()), (2, 3));
    }
}
