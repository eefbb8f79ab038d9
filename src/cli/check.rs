//! `tollgate check`: drives a library [`Run`] and renders what it tells.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};

use super::args::CheckArgs;
use super::{CliResult, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, color_on, load, plural};
use crate::finding::{Finding, Problem, Severity};
use crate::progress::Progress;
use crate::report::{self, Format, RunInfo};
use crate::run::triage::Baseline;
use crate::run::{Inputs, Run, RunOptions, RunResult, Sink};

pub(super) fn check(args: CheckArgs) -> CliResult {
    let (rules, project) = match load(&args.rules, args.error_format, !args.quiet) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if rules.infos().is_empty() {
        eprintln!(
            "error: no rules to run: every rule loaded waits for a param (see the notes above)"
        );
        return Ok(EXIT_ERROR);
    }
    let config = &project.config;
    let inputs = Inputs::discover(&args.paths).map_err(|e| e.to_string())?;
    if inputs.is_empty() && !args.quiet {
        eprintln!(
            "warning: no log files found in {} (read: .json, .jsonl, .ndjson, .csv, .log, .txt, .gz)",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let format = match (args.format, &config.format) {
        (Some(format), _) => format,
        (None, Some(name)) => name.parse::<Format>()?,
        (None, None) => Format::Text,
    };
    let fail_on = args
        .fail_on
        .map(|f| f.0)
        .or(config.fail_on)
        .unwrap_or(Some(Severity::Info));
    let baseline = match args.baseline.as_ref().or(config.baseline.as_ref()) {
        // Writing the first baseline while the config already names it.
        Some(path) if !path.exists() && args.write_baseline.is_some() => None,
        Some(path) if !path.exists() => {
            return Err(format!(
                "baseline {} does not exist; write it first with `tollgate check ... --write-baseline {}`",
                path.display(),
                path.display()
            ));
        }
        Some(path) => Some(Baseline::read(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut options = RunOptions {
        input_format: args.input_format,
        baseline,
        exceptions: config.exceptions.clone(),
        collect_baseline: args.write_baseline.is_some(),
        ..RunOptions::default()
    };
    if let Some(threads) = args.threads {
        options.threads = usize::from(threads);
    }
    let run = Run::new(&rules, options);
    if !args.quiet {
        for e in run.expired_exceptions() {
            eprintln!(
                "warning: the exception for {} ({}) expired on {}; its findings are reported again",
                e.rule,
                e.reason,
                e.expires.as_deref().unwrap_or("?")
            );
        }
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 16,
            File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
    };
    let info = RunInfo {
        rules: rules.infos(),
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        color: args.output.is_none() && color_on(&io::stdout()),
    };
    let mut emitter: Box<dyn report::Emitter> = match format {
        Format::Sarif => {
            let mut sarif = match &args.sarif_root {
                Some(root) => report::SarifEmitter::with_base(
                    std::path::absolute(root).map_err(|e| e.to_string())?,
                ),
                None => report::SarifEmitter::new(),
            };
            if let Some(category) = &args.sarif_category {
                sarif = sarif.with_category(category);
            }
            if run.has_baseline() {
                sarif = sarif.with_baseline_state();
            }
            Box::new(sarif)
        }
        other => report::emitter(other),
    };
    let write_err = |e: io::Error| format!("cannot write the report: {e}");
    emitter.begin(&mut out, &info).map_err(write_err)?;
    // A report on the same terminal would be torn by the bar.
    let report_on_terminal = args.output.is_none() && io::stdout().is_terminal();
    let progress = Progress::new(
        !args.quiet && !report_on_terminal,
        if inputs.has_stdin() {
            0
        } else {
            inputs.total_bytes()
        },
    );
    let mut sink = CheckSink {
        out: &mut out,
        emitter: emitter.as_mut(),
        progress,
        quiet: args.quiet,
    };
    let result = run.run(&inputs, &mut sink).map_err(|e| e.to_string())?;
    sink.progress.finish();
    let RunResult {
        summary,
        baseline: to_baseline,
        unreadable_input,
    } = result;
    if !args.quiet && !inputs.is_empty() && summary.totals.records == 0 {
        eprintln!(
            "warning: no records in {}: nothing was checked",
            summary
                .files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let totals = &summary.totals;
    if !args.quiet && totals.records > 0 && totals.evaluated == 0 && totals.not_sign_in > 0 {
        eprintln!(
            "warning: none of the {} records read is a sign-in or Graph activity record: nothing was checked",
            totals.records
        );
    }
    emitter.finish(&mut out, &summary).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    if let Some(path) = &args.write_baseline {
        let written = Baseline::write(path, &to_baseline).map_err(|e| e.to_string())?;
        if !args.quiet {
            eprintln!(
                "wrote {written} {} to {}",
                plural(written, "fingerprint", "fingerprints"),
                path.display()
            );
        }
    }
    if format == Format::Github
        && let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY")
    {
        let markdown = report::markdown_summary(rules.infos(), &summary);
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(markdown.as_bytes()));
        if let Err(e) = appended {
            eprintln!("warning: cannot write the step summary: {e}");
        }
    }
    if !args.quiet && (args.output.is_some() || !matches!(format, Format::Text)) {
        // The report went to a file or a machine format: say in one line
        // what happened, for the person watching the terminal.
        let t = &summary.totals;
        eprintln!(
            "{} {} in {} {} ({} evaluated, {} unreadable) from {} {}{}",
            t.findings,
            plural(t.findings as usize, "finding", "findings"),
            t.records,
            plural(t.records as usize, "record", "records"),
            t.evaluated,
            t.unreadable,
            summary.files.len(),
            plural(summary.files.len(), "file", "files"),
            match summary.accepted.total() {
                0 => String::new(),
                n => format!("; {n} accepted and not reported"),
            }
        );
    }
    let unread = summary.totals.unreadable + summary.totals.not_sign_in;
    if unreadable_input || (args.strict && unread > 0) {
        return Ok(EXIT_ERROR);
    }
    if args.write_baseline.is_some() {
        // Accepting today's findings is the point of writing a baseline:
        // it succeeds whatever they are.
        return Ok(EXIT_OK);
    }
    let failing = match (fail_on, summary.max_severity()) {
        (Some(threshold), Some(max)) => max >= threshold,
        _ => false,
    };
    Ok(if failing { EXIT_FINDINGS } else { EXIT_OK })
}

/// Where `check` sends what the run tells: findings to the report,
/// problems to standard error, progress to the bar.
struct CheckSink<'a> {
    out: &'a mut dyn Write,
    emitter: &'a mut dyn report::Emitter,
    progress: Progress,
    quiet: bool,
}

impl Sink for CheckSink<'_> {
    fn finding(&mut self, finding: &Finding) -> io::Result<()> {
        self.emitter.finding(&mut *self.out, finding)
    }

    fn unreadable_input(&mut self, problem: &Problem) {
        if !self.quiet {
            self.progress
                .suspend(|| eprintln!("error: {}: {}", problem.path, problem.reason));
        }
    }

    fn unreadable_record(&mut self, problem: &Problem) {
        if !self.quiet {
            self.progress.suspend(|| {
                eprintln!(
                    "warning: {}:{}: unreadable record: {}",
                    problem.path, problem.line, problem.reason
                );
            });
        }
    }

    fn not_sign_in(&mut self, problem: &Problem) {
        if !self.quiet {
            self.progress.suspend(|| {
                eprintln!(
                    "warning: {}:{}: {}",
                    problem.path, problem.line, problem.reason
                );
            });
        }
    }

    fn record(&mut self, findings: u64, bytes: &dyn Fn() -> u64) {
        self.progress.record(findings, bytes);
    }

    fn input_done(&mut self, bytes: u64) {
        self.progress.input_done(bytes);
    }

    fn late_record(&mut self, rule_id: &str, location: &crate::record::Location) {
        if !self.quiet {
            self.progress.suspend(|| {
                eprintln!(
                    "warning: {}:{}: record came too late for {rule_id} (more than 10 minutes behind the newest record): not used",
                    location.path, location.line
                );
            });
        }
    }
}
