//! `tollgate check`: drives a library [`Run`] and renders what it tells.

use std::io::{self, IsTerminal, Write};

use super::args::CheckArgs;
use super::{CliResult, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, Stop, color_on, load, plural};
use crate::finding::Finding;
use crate::progress::Progress;
use crate::project::Resolved;
use crate::report::{self, Format, RunInfo};
use crate::run::triage::Baseline;
use crate::run::{Inputs, Notice, Run, RunResult, Sink, same_file};

pub(super) fn check(args: CheckArgs) -> CliResult {
    let (rules, project) = load(&args.rules, !args.quiet)?;
    if rules.infos().is_empty() {
        let why = "no rules to run: every rule loaded waits for a param (see the notes above)";
        return Err(Stop::Error(why.to_string()));
    }
    let inputs = Inputs::discover(&args.paths)?;
    // A file this run writes that is also a log it reads would be emptied
    // (the report) or replaced (the baseline): refused before either.
    let writes = [
        ("--output", args.output.as_deref()),
        ("--write-baseline", args.settings.write_baseline.as_deref()),
    ];
    if let (Some(report), Some(baseline)) = (&args.output, &args.settings.write_baseline)
        && (same_file(report, baseline)
            || place(report).is_some_and(|r| place(baseline) == Some(r)))
    {
        return Err(Stop::Error(format!(
            "--output and --write-baseline both name {}: the baseline would replace the \
             report; give them different files",
            report.display()
        )));
    }
    // The baseline in force is read before the report is written.
    let read_baseline = args
        .settings
        .baseline
        .as_ref()
        .or(project.config.baseline.as_ref());
    for (flag, path) in writes {
        let Some(path) = path else { continue };
        if inputs.reads(path) {
            return Err(Stop::Error(format!(
                "{flag} {} is also a log this run reads: writing there would destroy it; \
                 write to a file outside the logs",
                path.display()
            )));
        }
        if flag == "--output"
            && let Some(baseline) = read_baseline.filter(|b| same_file(path, b))
        {
            return Err(Stop::Error(format!(
                "--output {} is the baseline this run reads ({}): writing there would destroy \
                 it; write the report elsewhere",
                path.display(),
                baseline.display()
            )));
        }
    }
    let Resolved {
        format,
        fail_on,
        mut sarif,
        options,
    } = project.resolve(&args.settings)?;
    sarif.strict = args.strict;
    let run = Run::new(&rules, options);
    for e in run.expired_exceptions().iter().filter(|_| !args.quiet) {
        eprintln!("warning: {}", report::expired(e));
    }
    let mut out = report::output(args.output.as_deref()).map_err(|e| {
        let path = args.output.as_deref().unwrap_or("-".as_ref()).display();
        Stop::Error(format!("cannot write {path}: {e}"))
    })?;
    let info = RunInfo {
        rules: rules.infos(),
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        color: args.output.is_none() && color_on(&io::stdout()),
    };
    let mut emitter = report::emitter_with(format, &sarif)?;
    let write_err = |e: io::Error| Stop::Error(format!("cannot write the report: {e}"));
    emitter.begin(&mut out, &info).map_err(write_err)?;
    // A report on the same terminal would be torn by the bar.
    let report_on_terminal = args.output.is_none() && io::stdout().is_terminal();
    // Standard input or a named pipe may be a live stream, read record by
    // record: each finding goes out as it is found, and no size is known.
    let stream = inputs.has_stream();
    let bytes = if stream { 0 } else { inputs.total_bytes() };
    let mut sink = CheckSink {
        out: &mut out,
        emitter: emitter.as_mut(),
        progress: Progress::new(!args.quiet && !report_on_terminal, bytes),
        quiet: args.quiet,
        live: stream,
        empty: Vec::new(),
    };
    let result = run.run(&inputs, &mut sink)?;
    sink.progress.finish();
    let empty = std::mem::take(&mut sink.empty);
    let RunResult {
        summary,
        baseline: to_baseline,
        unreadable_input,
    } = result;
    emitter.finish(&mut out, &summary).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    // Why the run failed besides an input that could not be opened (said
    // when it was met): it checked nothing, or `--strict` met a record.
    let nothing_checked = if inputs.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        Some(format!(
            "no log files found in {} (read: {}): nothing was checked",
            paths.join(", "),
            crate::ingest::log_endings()
        ))
    } else {
        report::nothing_checked(&summary).or_else(|| none_placed(&rules, &summary))
    };
    let checked_something = nothing_checked.is_none();
    let failure =
        nothing_checked.or_else(|| report::strict_failure(&summary).filter(|_| args.strict));
    let failed = unreadable_input || failure.is_some();
    let wrote = match &args.settings.write_baseline {
        // A failed run's findings are not all there is: written, they
        // would replace a good baseline.
        Some(path) if !failed => Some((Baseline::write(path, &to_baseline)?, path)),
        _ => None,
    };
    if format == Format::Github
        && let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY")
        && let Err(e) = report::append_step_summary(path.as_ref(), rules.infos(), &summary)
    {
        eprintln!("warning: cannot write the step summary: {e}");
    }
    if !args.quiet {
        if !empty.is_empty() && checked_something {
            eprintln!("warning: {}", report::no_records_in(&empty));
        }
        if let Some((written, path)) = wrote {
            let fingerprints = plural(written, "fingerprint", "fingerprints");
            eprintln!("wrote {written} {fingerprints} to {}", path.display());
        }
        if args.output.is_some() || format != Format::Text {
            // The report went to a file or a machine format: say in one
            // line what happened, for the person watching the terminal.
            eprintln!("{}", report::summary_line(&summary));
        }
    }
    if let Some(why) = &failure {
        eprintln!("error: {why}");
    }
    if let (true, Some(path)) = (failed, &args.settings.write_baseline) {
        eprintln!(
            "error: the run failed, so the baseline {} was not written",
            path.display()
        );
    }
    Ok(if failed {
        EXIT_ERROR
    } else if args.settings.write_baseline.is_some() {
        // Accepting today's findings is the point of writing a baseline:
        // it succeeds whatever they are.
        EXIT_OK
    } else if summary.fails(fail_on) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// Where `check` sends what the run tells: findings to the report,
/// problems to standard error, progress to the bar.
struct CheckSink<'a> {
    out: &'a mut dyn Write,
    emitter: &'a mut dyn report::Emitter,
    progress: Progress,
    quiet: bool,
    /// Whether to flush the report after each finding.
    live: bool,
    /// The inputs that held no record.
    empty: Vec<String>,
}

impl Sink for CheckSink<'_> {
    fn finding(&mut self, finding: &Finding) -> io::Result<()> {
        self.emitter.finding(&mut *self.out, finding)?;
        if self.live {
            self.out.flush()?;
        }
        Ok(())
    }

    fn notice(&mut self, notice: Notice<'_>) {
        if let Notice::NoRecords(path) = notice {
            // Said at the end, once, and only if the run checked something
            // (else its error says it).
            self.empty.push(path.to_string());
        } else if !self.quiet || notice.level() == "error" {
            let line = format!("{}: {notice}", notice.level());
            self.progress.suspend(|| eprintln!("{line}"));
        }
    }

    fn record(&mut self, findings: u64, bytes: &dyn Fn() -> u64) {
        self.progress.record(findings, bytes);
    }

    fn input_done(&mut self, bytes: u64) {
        self.progress.input_done(bytes);
    }
}

/// Where a file to be written would be: its folder's canonical path and
/// its name (`None` when the folder cannot be found).
fn place(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let name = path.file_name()?;
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => std::path::Path::new("."),
    };
    Some(std::fs::canonicalize(folder).ok()?.join(name))
}

/// Why a run checked nothing when every rule is over many records and
/// every record they read had no readable time: no rule could use one.
fn none_placed(
    rules: &crate::engine::RuleSet,
    summary: &crate::finding::Summary,
) -> Option<String> {
    let t = &summary.totals;
    let offered = t.evaluated.saturating_sub(t.untargeted);
    let only_multi = rules.infos().len() == rules.multi().len();
    (only_multi && summary.untimed > 0 && summary.untimed == offered).then(|| {
        format!(
            "no record could be used: {} {} no readable time (`createdDateTime`, or \
             `timeGenerated` for Graph activity), and every rule is over many records: nothing \
             was checked",
            summary.untimed,
            plural(summary.untimed, "record has", "records have")
        )
    })
}
