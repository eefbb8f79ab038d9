//! The command line: parses arguments with clap, runs the library, and maps
//! outcomes to exit codes (0 clean, 1 findings or failed tests, 2 usage,
//! rule or input errors). The only module that knows clap or exit codes.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use crate::catalog;
use crate::config::{self, Config};
use crate::diag::{self, Diagnostic, ErrorFormat, Level, Sources};
use crate::engine::{Loader, Rejected, RuleSet};
use crate::finding::{AcceptedByException, FileCounts, Problem, Severity, Summary};
use crate::ingest::{self, Input, Item};
use crate::progress::Progress;
use crate::report::{self, Format, RunInfo};
use crate::scan::{self, Outcome};
use crate::triage::{self, Baseline, BaselineEntry, Triage, Verdict};

/// Exit code: ran, nothing at or above `--fail-on`.
pub const EXIT_OK: u8 = 0;
/// Exit code: findings at or above `--fail-on`, or a failed rule test.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage error, rule error, or unreadable input.
pub const EXIT_ERROR: u8 = 2;

/// Policy as code for Microsoft Entra ID sign-in logs.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct RuleArgs {
    /// Rule file or directory (its .yaml/.yml files); repeatable. Without
    /// it, the built-in pack runs.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Set a rule parameter: NAME=VALUE (lists: comma-separated; repeating
    /// the flag appends).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// Project config file (default: tollgate.yaml in the working
    /// directory, if there is one). Flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Jsonl,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ErrorFormatArg {
    Human,
    Plain,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TestFormat {
    Text,
    Junit,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate rules over sign-in logs and report findings.
    Check(CheckArgs),
    /// Check rule files and report every mistake, without reading logs.
    Validate {
        #[command(flatten)]
        rules: RuleArgs,
        /// How to show diagnostics.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormatArg,
        /// Fail (exit 2) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Run the `tests:` cases embedded in the rules.
    Test {
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TestFormat,
        /// How to show rule errors.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormatArg,
    },
    /// List the rules.
    Rules {
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
        /// How to show rule errors.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormatArg,
    },
    /// Show how one rule evaluates one record, condition by condition.
    Explain {
        /// The rule's id.
        #[arg(long)]
        rule: String,
        #[command(flatten)]
        rules: RuleArgs,
        /// The log file holding the record, optionally with the line where
        /// the record starts (FILE:LINE); without a line, the first record.
        #[arg(value_name = "RECORD_FILE[:LINE]")]
        record: String,
        /// How to show rule errors.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormatArg,
    },
    /// Print the field catalog rules are written against.
    Schema {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: SchemaFormat,
        /// Print the JSON Schema of rule files (for editors) instead.
        #[arg(long)]
        rules_json_schema: bool,
    },
}

/// The flags of `check`.
#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Log files or directories (walked in sorted order); `-` reads
    /// standard input.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    rules: RuleArgs,
    /// Output format [default: text, or the config's `format`].
    #[arg(long, value_enum)]
    format: Option<CheckFormat>,
    /// Write the report to a file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Lowest severity that makes the exit code 1, or `never`
    /// [default: info, or the config's `failOn`].
    #[arg(long, value_name = "SEVERITY|never", value_parser = parse_fail_on)]
    fail_on: Option<FailOn>,
    /// Report only findings whose fingerprint is not in this baseline
    /// [default: the config's `baseline`].
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the fingerprints of this run's findings as a baseline.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// SARIF: make log paths relative to this directory (the
    /// repository root) [default: the working directory].
    #[arg(long, value_name = "DIR")]
    sarif_root: Option<PathBuf>,
    /// SARIF: `automationDetails.id`, to upload several analyses for one
    /// repository (such as `tollgate/prod/`).
    #[arg(long, value_name = "ID")]
    sarif_category: Option<String>,
    /// Exit 2 when any record cannot be read.
    #[arg(long)]
    strict: bool,
    /// Print nothing on standard error but errors.
    #[arg(long, short)]
    quiet: bool,
    /// How to show rule errors.
    #[arg(long, value_enum, default_value = "human")]
    error_format: ErrorFormatArg,
    /// How to read the logs: auto (CSV when the first line is a CSV
    /// header, else JSON), jsonl or json (JSON in any layout), csv.
    #[arg(long, value_name = "auto|jsonl|json|csv", default_value = "auto")]
    input_format: ingest::InputFormat,
    /// Worker threads that decode and evaluate records, 1 to 256 [default:
    /// one per core]; 1 runs everything on one thread, as standard input
    /// always does. The output is the same whatever the number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

/// The `--fail-on` threshold: a severity, or `never` (`None`).
#[derive(Debug, Clone, Copy)]
struct FailOn(Option<Severity>);

fn parse_fail_on(text: &str) -> Result<FailOn, String> {
    if text == "never" {
        return Ok(FailOn(None));
    }
    text.parse::<Severity>()
        .map(|s| FailOn(Some(s)))
        .map_err(|e| format!("{e}, or never"))
}

/// Runs the command line and returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Validate {
            rules,
            error_format,
            deny_warnings,
        } => validate(&rules, error_format, deny_warnings),
        Command::Test {
            rules,
            format,
            error_format,
        } => test(&rules, format, error_format),
        Command::Rules {
            rules,
            format,
            error_format,
        } => list_rules(&rules, format, error_format),
        Command::Explain {
            rule,
            rules,
            record,
            error_format,
        } => explain(&rule, &rules, &record, error_format),
        Command::Schema {
            rules_json_schema: true,
            ..
        } => {
            let text = serde_json::to_string_pretty(&crate::schema::rule_schema())
                .map_err(|e| e.to_string());
            text.and_then(|t| {
                writeln!(io::stdout().lock(), "{t}").map_err(|e| e.to_string())?;
                Ok(EXIT_OK)
            })
        }
        Command::Schema { format, .. } => schema(format),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}

/// An operational error, for people.
type CliResult = Result<u8, String>;

fn error_format(arg: ErrorFormatArg) -> ErrorFormat {
    match arg {
        ErrorFormatArg::Human => ErrorFormat::Human {
            color: color_on(&io::stderr()),
            width: 100,
        },
        ErrorFormatArg::Plain => ErrorFormat::Plain,
        ErrorFormatArg::Json => ErrorFormat::Json,
    }
}

/// Colour only on a terminal, and never with `NO_COLOR` set.
fn color_on(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The project config in force: its settings and its text, for messages.
#[derive(Debug, Default)]
struct Project {
    config: Config,
    sources: Sources,
}

impl Project {
    /// Reads `--config FILE`, or `tollgate.yaml` in the working directory
    /// when there is one; prints its mistakes.
    fn find(args: &RuleArgs, format: ErrorFormatArg) -> Result<Project, u8> {
        let path = match &args.config {
            Some(p) => p.clone(),
            None if Path::new(config::FILE_NAME).is_file() => PathBuf::from(config::FILE_NAME),
            None => return Ok(Project::default()),
        };
        let mut sources = Sources::default();
        let (config, diagnostics) = match config::load(&path, &mut sources) {
            Ok(parsed) => parsed,
            Err(e) => {
                eprintln!("error: cannot read config {}: {e}", path.display());
                return Err(EXIT_ERROR);
            }
        };
        if !diagnostics.is_empty() {
            let rejected = Rejected {
                diagnostics,
                sources,
            };
            report_mistakes(&rejected, format, "fix the config first");
            if rejected.diagnostics.iter().any(|d| d.level == Level::Error) {
                return Err(EXIT_ERROR);
            }
            return Ok(Project {
                config,
                sources: rejected.sources,
            });
        }
        Ok(Project { config, sources })
    }

    /// Warns about config rule ids that name no rule.
    fn warn_unknown_ids(&self, rules: &RuleSet, format: ErrorFormatArg) {
        let known: Vec<&str> = rules.infos().iter().map(|r| r.id.as_ref()).collect();
        let spans = self
            .config
            .disable
            .iter()
            .map(|(id, span)| (id, span))
            .chain(self.config.severity.iter().map(|(id, _, span)| (id, span)));
        let warnings: Vec<Diagnostic> = spans
            .filter(|(id, _)| rules.unknown_ids().contains(id))
            .map(|(id, span)| {
                Diagnostic::warning(
                    "tollgate::config",
                    span.clone(),
                    format!("no rule has id `{id}`"),
                )
                .label("unknown rule id")
                .suggest(catalog::closest(id, known.iter().copied()))
            })
            .collect();
        if !warnings.is_empty() {
            eprint!(
                "{}",
                diag::render(&warnings, &self.sources, error_format(format))
            );
        }
    }
}

/// A loader with the rule paths and params of the command line, falling
/// back to the config's; the built-in pack when neither names rules.
fn loader(args: &RuleArgs, project: &Project) -> Result<Loader, u8> {
    let mut loader = Loader::new();
    let config = &project.config;
    for (name, values) in &config.params {
        // A flag for the same param replaces the config's value.
        if !args.params.iter().any(|(n, _)| n == name) {
            for value in values {
                loader.param(name, value);
            }
        }
    }
    for (name, value) in &args.params {
        loader.param(name, value);
    }
    for (id, _) in &config.disable {
        loader.disable(id);
    }
    for (id, severity, _) in &config.severity {
        loader.severity(id, *severity);
    }
    let paths = if args.rules.is_empty() {
        &config.rules
    } else {
        &args.rules
    };
    if paths.is_empty() {
        loader.add_builtin();
    }
    for path in paths {
        if let Err(e) = loader.add_path(path) {
            eprintln!("error: cannot read rules at {}: {e}", path.display());
            return Err(EXIT_ERROR);
        }
    }
    Ok(loader)
}

/// Loads the rules, printing diagnostics; `Err(code)` when they cannot run.
fn load(
    args: &RuleArgs,
    format: ErrorFormatArg,
    show_warnings: bool,
) -> Result<(RuleSet, Project), u8> {
    let project = Project::find(args, format)?;
    match loader(args, &project)?.load() {
        Ok(rules) => {
            if show_warnings && !rules.warnings().is_empty() {
                eprint!(
                    "{}",
                    diag::render(rules.warnings(), rules.sources(), error_format(format))
                );
            }
            if show_warnings {
                project.warn_unknown_ids(&rules, format);
            }
            Ok((rules, project))
        }
        Err(rejected) => {
            report_mistakes(&rejected, format, "no log was read");
            Err(EXIT_ERROR)
        }
    }
}

/// Prints diagnostics and a closing count of errors.
fn report_mistakes(rejected: &Rejected, format: ErrorFormatArg, consequence: &str) {
    let Rejected {
        diagnostics,
        sources,
    } = rejected;
    eprint!(
        "{}",
        diag::render(diagnostics, sources, error_format(format))
    );
    let errors = diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    let files: std::collections::BTreeSet<_> = diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| d.span.source)
        .collect();
    if errors > 0 && format != ErrorFormatArg::Json {
        eprintln!(
            "error: {errors} {} in {} rule {}; {consequence}",
            plural(errors, "mistake", "mistakes"),
            files.len(),
            plural(files.len(), "file", "files")
        );
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn check(args: CheckArgs) -> CliResult {
    let (rules, project) = match load(&args.rules, args.error_format, !args.quiet) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let config = &project.config;
    let (inputs, passed_over) = ingest::discover(&args.paths);
    let (missing, skipped): (Vec<Problem>, Vec<Problem>) = passed_over.into_iter().partition(|p| {
        args.paths
            .iter()
            .any(|given| given.as_os_str() == p.path.as_ref())
    });
    if let Some(first) = missing.first() {
        return Err(format!("cannot read {}: {}", first.path, first.reason));
    }
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
    let format = match args.format {
        Some(CheckFormat::Text) => Format::Text,
        Some(CheckFormat::Json) => Format::Json,
        Some(CheckFormat::Jsonl) => Format::Jsonl,
        Some(CheckFormat::Sarif) => Format::Sarif,
        Some(CheckFormat::Github) => Format::Github,
        None => match &config.format {
            Some(name) => name.parse::<Format>()?,
            None => Format::Text,
        },
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
        Some(path) => Some(Baseline::read(path)?),
        None => None,
    };
    let (mut triage, expired) = Triage::new(baseline, &config.exceptions, &triage::today());
    if !args.quiet {
        for e in &expired {
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
    let color = args.output.is_none() && color_on(&io::stdout());
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let run = RunInfo {
        rules: rules.infos(),
        command_line,
        color,
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
            if triage.has_baseline() {
                sarif = sarif.with_baseline_state();
            }
            Box::new(sarif)
        }
        other => report::emitter(other),
    };
    let write_err = |e: io::Error| format!("cannot write the report: {e}");
    emitter.begin(&mut out, &run).map_err(write_err)?;
    let mut summary = Summary {
        rules: rules.infos().len() as u64,
        skipped,
        ..Summary::default()
    };
    let mut to_baseline: Vec<BaselineEntry> = Vec::new();
    let mut unreadable_path = false;
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        usize::from,
    );
    let options = ingest::Options {
        format: args.input_format,
        keep: Some(Arc::new(rules.projection().keep())),
    };
    let total = inputs
        .iter()
        .map(|input| match input {
            Input::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
            Input::Stdin => 0,
        })
        .sum();
    let has_stdin = inputs.iter().any(|i| matches!(i, Input::Stdin));
    // A report on the same terminal would be torn by the bar.
    let report_on_terminal = args.output.is_none() && io::stdout().is_terminal();
    let mut progress = Progress::new(
        !args.quiet && !report_on_terminal,
        if has_stdin { 0 } else { total },
    );
    for input in &inputs {
        let (display, reader) = match input {
            Input::Stdin => {
                let display: Arc<str> = "-".into();
                (
                    display.clone(),
                    Ok(ingest::from_reader_with(
                        display,
                        Box::new(io::stdin()),
                        options.clone(),
                    )),
                )
            }
            Input::File(path) => {
                let display: Arc<str> = path.display().to_string().into();
                (
                    display.clone(),
                    ingest::open_with(path, display, options.clone()),
                )
            }
        };
        let mut counts = FileCounts {
            path: display.to_string(),
            ..FileCounts::default()
        };
        let mut reader = match reader {
            Ok(r) => r,
            Err(e) => {
                unreadable_path = true;
                let problem = Problem {
                    path: display.clone(),
                    line: 0,
                    record: None,
                    reason: format!("cannot open: {e}"),
                };
                if !args.quiet {
                    progress.suspend(|| eprintln!("error: {}: {}", problem.path, problem.reason));
                }
                summary.keep_problem(problem);
                summary.files.push(counts);
                continue;
            }
        };
        let read = reader.bytes_counter();
        // Standard input may be a live stream: one thread reports each
        // record as it comes instead of waiting for a batch to fill.
        let threads = if matches!(input, Input::Stdin) {
            1
        } else {
            threads
        };
        let scanned = scan::scan(&mut reader, &rules, threads, &mut |outcome| {
            counts.records += 1;
            match outcome {
                Outcome::Record { targeted, findings } => {
                    let reported = counts.findings;
                    counts.evaluated += 1;
                    if !targeted {
                        counts.untargeted += 1;
                    }
                    for finding in findings {
                        let verdict = triage.classify(&finding);
                        if args.write_baseline.is_some() && !matches!(verdict, Verdict::Excepted(_))
                        {
                            to_baseline.push(BaselineEntry {
                                fingerprint: finding.fingerprint.clone(),
                                rule_id: finding.rule_id.to_string(),
                                sign_in_id: finding.sign_in.id.clone(),
                            });
                        }
                        match verdict {
                            Verdict::New => {
                                counts.findings += 1;
                                summary.count_finding(&finding);
                                emitter.finding(&mut out, &finding)?;
                            }
                            Verdict::Baselined => summary.accepted.baseline += 1,
                            Verdict::Excepted(_) => {}
                        }
                    }
                    progress.record(counts.findings - reported, || read.get());
                }
                Outcome::Unreadable(problem) => {
                    counts.unreadable += 1;
                    progress.record(0, || read.get());
                    if !args.quiet {
                        progress.suspend(|| {
                            eprintln!(
                                "warning: {}:{}: unreadable record: {}",
                                problem.path, problem.line, problem.reason
                            );
                        });
                    }
                    summary.keep_problem(problem);
                }
            }
            Ok(())
        });
        scanned.map_err(write_err)?;
        progress.input_done(reader.bytes_read());
        counts.format = reader.format();
        summary.totals.add(&FileCounts {
            findings: 0,
            ..counts.clone()
        });
        summary.files.push(counts);
    }
    summary.accepted.exceptions = triage
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
    progress.finish();
    emitter.finish(&mut out, &summary).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    if let Some(path) = &args.write_baseline {
        let written = Baseline::write(path, &to_baseline)?;
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
    if unreadable_path || (args.strict && summary.totals.unreadable > 0) {
        return Ok(EXIT_ERROR);
    }
    let failing = match (fail_on, summary.max_severity()) {
        (Some(threshold), Some(max)) => max >= threshold,
        _ => false,
    };
    Ok(if failing { EXIT_FINDINGS } else { EXIT_OK })
}

fn validate(args: &RuleArgs, format: ErrorFormatArg, deny_warnings: bool) -> CliResult {
    let loader = match Project::find(args, format).and_then(|project| loader(args, &project)) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let rejected = loader.validate();
    let errors = rejected
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    let warnings = rejected.diagnostics.len() - errors;
    report_mistakes(&rejected, format, "fix them before the rules can run");
    if errors == 0 && format != ErrorFormatArg::Json {
        let files = rejected.sources.len();
        eprintln!(
            "{files} rule {}: ok{}",
            plural(files, "file", "files"),
            if warnings > 0 {
                format!(", {warnings} {}", plural(warnings, "warning", "warnings"))
            } else {
                String::new()
            }
        );
    }
    Ok(if errors > 0 || (deny_warnings && warnings > 0) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

fn test(args: &RuleArgs, format: TestFormat, error_format: ErrorFormatArg) -> CliResult {
    let (rules, _) = match load(args, error_format, true) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let outcomes = rules.run_tests();
    let mut out = io::stdout().lock();
    let write_err = |e: io::Error| format!("cannot write: {e}");
    if let TestFormat::Junit = format {
        report::write_junit(&mut out, &outcomes).map_err(write_err)?;
        let failed = outcomes.iter().any(|o| !o.passed());
        return Ok(if failed { EXIT_FINDINGS } else { EXIT_OK });
    }
    let mut failed = 0;
    for o in &outcomes {
        let status = if o.passed() { "PASS" } else { "FAIL" };
        writeln!(
            out,
            "{status}  {}  {}  ({}:{})",
            o.rule_id, o.name, o.source, o.line
        )
        .map_err(write_err)?;
        if !o.passed() {
            failed += 1;
            let want = if o.expect_match { "match" } else { "no match" };
            let got = if o.matched { "a match" } else { "no match" };
            match &o.note {
                Some(note) => writeln!(out, "      {note}").map_err(write_err)?,
                None => writeln!(out, "      expected {want}, got {got}:").map_err(write_err)?,
            }
            for line in o.trace.lines() {
                writeln!(out, "      {line}").map_err(write_err)?;
            }
        }
    }
    let without: Vec<&str> = rules
        .infos()
        .iter()
        .filter(|r| !outcomes.iter().any(|o| o.rule_id == r.id.as_ref()))
        .map(|r| r.id.as_ref())
        .collect();
    if !without.is_empty() {
        writeln!(
            out,
            "note: {} {} no tests: {}",
            without.len(),
            plural(without.len(), "rule has", "rules have"),
            without.join(", ")
        )
        .map_err(write_err)?;
    }
    writeln!(out, "{} passed, {failed} failed", outcomes.len() - failed).map_err(write_err)?;
    Ok(if failed > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

fn list_rules(args: &RuleArgs, format: ListFormat, error_format: ErrorFormatArg) -> CliResult {
    let (rules, _) = match load(args, error_format, true) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let mut out = io::stdout().lock();
    let text = match format {
        ListFormat::Json => {
            serde_json::to_string_pretty(rules.infos()).map_err(|e| e.to_string())? + "\n"
        }
        ListFormat::Text => {
            let width = rules.infos().iter().map(|r| r.id.len()).max().unwrap_or(0);
            rules
                .infos()
                .iter()
                .map(|r| {
                    format!(
                        "{:width$}  {:8}  {}  [{}]\n",
                        r.id,
                        r.severity.name(),
                        r.title,
                        r.logs.join(", ")
                    )
                })
                .collect()
        }
        ListFormat::Markdown => rules_markdown(&rules),
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(EXIT_OK)
}

/// A reference page of the rules, in Markdown: a summary table, then one
/// section per rule (severity, logs, parameters with their defaults,
/// description, tags, references), sorted by id. For the built-in pack it
/// ends with the detections that wait for rules over many records.
/// `rules/README.md` is this page for the built-in pack.
pub fn rules_markdown(rules: &RuleSet) -> String {
    use crate::syntax::{self, Node};
    use serde_json::Value;

    /// The detections that need windows, sequences or joins, which rule
    /// language v1 cannot express (see the roadmap in the README).
    const AWAITING: &str = "\
## Awaiting windowed rules

These detections need many records at once (a count in a time window per
user or per IP address, a sequence, or a join across logs), which the rule
language cannot express yet. They join the pack when windowed rules land;
until then, the single-record rules named here catch part of each.

| detection | what it needs | single-record rules meanwhile |
|---|---|---|
| Password spray | failures 50126, 50053 or 50055 for 5 or more distinct users from one IP address within 20 minutes | TG-AUTH-007 (lockouts), TG-LEG-001 |
| Brute force on one user | many failed passwords for one user within minutes, from one or many IP addresses, possibly followed by a success | TG-AUTH-007 |
| MFA fatigue | more than 10 MFA denials or unanswered prompts for one user, then a success, within 5 minutes | TG-AUTH-005, TG-AUTH-006 |
| One session from several IP addresses | one `sessionId` or `uniqueTokenIdentifier` used from more than one IP address or autonomous system in a window (token replay) | TG-RISK-005 |
| Bursts from several countries | one user signing in from several countries within an hour | TG-RISK-002 |
| Graph activity with no matching sign-in | a `MicrosoftGraphActivityLogs` row whose `SignInActivityId` matches no sign-in's `uniqueTokenIdentifier` (expected for tokens of first-party app-only sign-ins, which are not logged) | none |
| Mass mailbox collection by one application | app-only `GET users/{id}/messages` (or `.../mailFolders/.../messages`) by one `appId` on many distinct mailboxes within an hour | TG-GA-004 |
| Directory reconnaissance through Graph | one `appId`, `userId` or `signInActivityId` paging through users, groups, service principals, applications and role assignments within minutes, as AzureHound and ROADrecon do | none |
| Graph call from another address than its sign-in | a Graph activity row whose `ipAddress` differs from that of the sign-in whose `uniqueTokenIdentifier` equals its `signInActivityId` (token theft and replay) | TG-RISK-005 |
";

    /// A rule's declared params as (name, type, default, description).
    fn params_of(rules: &RuleSet, source: &str, id: &str) -> Vec<[String; 4]> {
        let sources = rules.sources();
        let Some(file) = (0..sources.len())
            .filter_map(|i| sources.get(i).map(|f| (i, f)))
            .find(|(_, f)| f.name == source)
        else {
            return Vec::new();
        };
        let (docs, _) = syntax::parse(file.0, &file.1.text);
        let field = |node: &Node, key: &str| -> Option<Node> {
            node.map()?
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v.clone())
        };
        let Some(params) = docs
            .iter()
            .find(|d| {
                field(&d.root, "id").and_then(|n| n.text().map(str::to_string))
                    == Some(id.to_string())
            })
            .and_then(|d| field(&d.root, "params"))
        else {
            return Vec::new();
        };
        let text = |node: Option<Node>| {
            node.and_then(|n| n.text().map(str::to_string))
                .unwrap_or_default()
        };
        params
            .map()
            .unwrap_or_default()
            .iter()
            .map(|(name, def)| {
                let default = match field(def, "default").map(|d| d.to_json()) {
                    None => "none".to_string(),
                    Some(Value::Array(items)) => format!(
                        "`[{}]`",
                        items
                            .iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Some(other) => format!("`{other}`"),
                };
                [
                    name.text().unwrap_or_default().to_string(),
                    text(field(def, "type")),
                    default,
                    text(field(def, "description")),
                ]
            })
            .collect()
    }

    /// A MITRE ATT&CK technique id (`T1110`, `T1110.003`) as a link to its
    /// page; any other tag as it is.
    fn attack_link(tag: &str) -> String {
        let (base, sub) = tag.split_once('.').unwrap_or((tag, ""));
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let technique = base.strip_prefix('T').is_some_and(|d| digits(d, 4));
        if !technique || !(sub.is_empty() || digits(sub, 3)) {
            return tag.to_string();
        }
        let path = if sub.is_empty() {
            base.to_string()
        } else {
            format!("{base}/{sub}")
        };
        format!("[{tag}](https://attack.mitre.org/techniques/{path}/)")
    }

    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut infos: Vec<_> = rules.infos().iter().collect();
    infos.sort_by(|a, b| a.id.cmp(&b.id));
    let builtin = !infos.is_empty() && infos.iter().all(|r| r.source.starts_with("builtin:"));

    let mut md = String::from("# Rules\n\n");
    if builtin {
        md.push_str(
            "The built-in rule pack of tollgate: every rule runs when no `--rules` is given.\n\
             This page is generated; regenerate it with\n\
             `cargo run -q -- rules --format markdown > rules/README.md`.\n\
             Parameters are set with `--param NAME=VALUE` or in the `params` of\n\
             `tollgate.yaml` (see `examples/tollgate.yaml`).\n\n",
        );
    }
    md.push_str("| id | title | severity | logs | params |\n|---|---|---|---|---|\n");
    let all_params: Vec<Vec<[String; 4]>> = infos
        .iter()
        .map(|r| params_of(rules, &r.source, &r.id))
        .collect();
    for (r, params) in infos.iter().zip(&all_params) {
        let names: Vec<String> = params.iter().map(|p| format!("`{}`", p[0])).collect();
        md.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} | {} |\n",
            r.id,
            r.id.to_lowercase(),
            cell(&r.title),
            r.severity,
            r.logs.join(", "),
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    for (r, params) in infos.iter().zip(&all_params) {
        // Every block starts with a blank line and ends with one newline.
        md.push_str(&format!(
            "\n## {}\n\n**{}**\n\nSeverity `{}` · logs: {} · ",
            r.id,
            r.title,
            r.severity,
            r.logs.join(", ")
        ));
        match r.source.strip_prefix("builtin:rules/") {
            Some(rel) => md.push_str(&format!("file [`{rel}`]({rel})\n")),
            None => md.push_str(&format!(
                "file `{}`\n",
                r.source.strip_prefix("builtin:").unwrap_or(&r.source)
            )),
        }
        if !r.description.trim().is_empty() {
            md.push_str(&format!("\n{}\n", r.description.trim()));
        }
        if !params.is_empty() {
            md.push_str("\n| param | type | default | meaning |\n|---|---|---|---|\n");
            for [name, ty, default, description] in params {
                md.push_str(&format!(
                    "| `{name}` | {ty} | {} | {} |\n",
                    cell(default),
                    cell(description)
                ));
            }
        }
        if !r.tags.is_empty() {
            let tags: Vec<String> = r.tags.iter().map(|t| attack_link(t)).collect();
            md.push_str(&format!("\nTags: {}\n", tags.join(", ")));
        }
        if !r.references.is_empty() {
            md.push_str("\nReferences:\n\n");
            for reference in &r.references {
                md.push_str(&format!("- <{reference}>\n"));
            }
        }
    }
    if builtin {
        md.push('\n');
        md.push_str(AWAITING);
    }
    md
}

fn explain(
    rule_id: &str,
    args: &RuleArgs,
    target: &str,
    error_format: ErrorFormatArg,
) -> CliResult {
    let (rules, _) = match load(args, error_format, true) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let (path, line) = split_line(target);
    let display: Arc<str> = path.display().to_string().into();
    let reader =
        ingest::open(&path, display).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut chosen = None;
    for item in reader {
        match item {
            Item::Record(record, location) if line.is_none_or(|l| location.line == l) => {
                chosen = Some((record, location));
                break;
            }
            Item::Unreadable(p) if line.is_none_or(|l| p.line == l) => {
                return Err(format!(
                    "{}:{}: the record cannot be read: {}",
                    p.path, p.line, p.reason
                ));
            }
            _ => {}
        }
    }
    let Some((record, location)) = chosen else {
        return Err(match line {
            Some(l) => format!("no record starts at line {l} of {}", path.display()),
            None => format!("{} holds no record", path.display()),
        });
    };
    let Some((rule, trace)) = rules.explain(rule_id, &record) else {
        let ids: Vec<&str> = rules.infos().iter().map(|r| r.id.as_ref()).collect();
        return Err(match catalog::closest(rule_id, ids) {
            Some(near) => format!("no rule has id `{rule_id}`; did you mean `{near}`?"),
            None => format!("no rule has id `{rule_id}`"),
        });
    };
    let mut out = io::stdout().lock();
    let in_logs = rule.logs.contains(&record.category);
    let verdict = if in_logs && trace.outcome {
        "matches"
    } else {
        "does not match"
    };
    let text = format!(
        "{} {} the record at {}:{} (record {}, {} log)\n{}{}",
        rule.info.id,
        verdict,
        location.path,
        location.line,
        location.record,
        record.category,
        if in_logs {
            String::new()
        } else {
            format!(
                "the rule reads only {} records, so it is not evaluated on this one; its conditions would give:\n",
                rule.logs
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        crate::eval::render_trace(&trace, &rule.conds)
    );
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(if in_logs && trace.outcome {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// Splits `FILE:LINE`; a path with no numeric suffix is taken whole.
fn split_line(target: &str) -> (PathBuf, Option<u64>) {
    if let Some((file, line)) = target.rsplit_once(':')
        && let Ok(n) = line.parse::<u64>()
        && !Path::new(target).exists()
    {
        return (PathBuf::from(file), Some(n));
    }
    (PathBuf::from(target), None)
}

fn schema(format: SchemaFormat) -> CliResult {
    let text = match format {
        SchemaFormat::Json => {
            serde_json::to_string_pretty(&crate::schema::catalog_json())
                .map_err(|e| e.to_string())?
                + "\n"
        }
        SchemaFormat::Text => crate::schema::catalog_text(),
    };
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(EXIT_OK)
}
