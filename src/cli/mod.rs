//! The command line: parses arguments with clap, runs the library, and maps
//! outcomes to exit codes (0 clean, 1 findings or failed tests, 2 usage,
//! rule or input errors). The only module that knows clap or exit codes.

mod args;
mod check;
mod compile;
mod init;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::diag::{self, ErrorFormat, Level, plural};
use crate::engine::{Loader, Rejected, RuleSet};
use crate::project::Project;
use crate::report;
use crate::run::explain::{Explanation, Pick};
pub use args::Cli;
use args::{Command, ErrorFormatArg, ListFormat, RuleArgs, SchemaFormat, TestFormat};

/// Exit code: ran, nothing at or above `--fail-on`.
pub const EXIT_OK: u8 = 0;
/// Exit code: findings at or above `--fail-on`, or a failed rule test.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage error, rule error, or unreadable input.
pub const EXIT_ERROR: u8 = 2;

/// Runs the command line and returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Check(args) => check::check(args),
        Command::Compile(args) => compile::compile(args),
        Command::Validate {
            rules,
            error_format,
            deny_warnings,
            require_tests,
        } => validate(&rules, error_format, deny_warnings, require_tests),
        Command::Init { dir, force } => init::init(&dir, force),
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
            index,
            error_format,
        } => explain(&rule, &rules, &record, index, error_format),
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

/// Reads the project config (`--config`, or `tollgate.yaml` here) and
/// prints its mistakes; `Err(code)` when they stop the command.
fn find_project(args: &RuleArgs, format: ErrorFormatArg) -> Result<Project, u8> {
    let (project, diagnostics) = Project::find(args.config.as_deref()).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_ERROR
    })?;
    if diagnostics.is_empty() {
        return Ok(project);
    }
    let Project {
        config,
        sources,
        path,
    } = project;
    let rejected = Rejected {
        diagnostics,
        sources,
    };
    report_mistakes(&rejected, format, "config", "fix the config first");
    if rejected.diagnostics.iter().any(|d| d.level == Level::Error) {
        return Err(EXIT_ERROR);
    }
    Ok(Project {
        config,
        sources: rejected.sources,
        path,
    })
}

/// The project's rule loader with the command line's rules and params.
fn loader(args: &RuleArgs, project: &Project) -> Result<Loader, u8> {
    project.loader(&args.rules, &args.params).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_ERROR
    })
}

/// Loads the rules, printing diagnostics; `Err(code)` when they cannot run.
fn load(
    args: &RuleArgs,
    format: ErrorFormatArg,
    show_warnings: bool,
) -> Result<(RuleSet, Project), u8> {
    let mut project = find_project(args, format)?;
    let loader = loader(args, &project)?;
    let settings = project.setting_mistakes(&loader.declared(), &args.params);
    if report_settings(&settings, &project, format, "no log was read") {
        return Err(EXIT_ERROR);
    }
    match loader.load() {
        Ok(rules) => {
            if show_warnings && !rules.warnings().is_empty() {
                eprint!(
                    "{}",
                    diag::render(rules.warnings(), rules.sources(), error_format(format))
                );
            }
            if rules.infos().is_empty() && rules.waiting().is_empty() {
                // A run that checks nothing must not pass as clean.
                eprintln!("error: {}", no_rules(args));
                return Err(EXIT_ERROR);
            }
            if show_warnings {
                for w in rules.waiting() {
                    eprintln!(
                        "note: {} waits for {} {} (set {} with --param or in {})",
                        w.info.id,
                        plural(w.params.len(), "param", "params"),
                        w.params.join(", "),
                        plural(w.params.len(), "it", "them"),
                        crate::config::FILE_NAME
                    );
                }
            }
            Ok((rules, project))
        }
        Err(rejected) => {
            report_mistakes(&rejected, format, "rule", "no log was read");
            Err(EXIT_ERROR)
        }
    }
}

/// Prints the mistakes of the settings (params and rule ids named on the
/// command line or in the config); whether any is an error.
fn report_settings(
    mistakes: &[diag::Diagnostic],
    project: &Project,
    format: ErrorFormatArg,
    consequence: &str,
) -> bool {
    if mistakes.is_empty() {
        return false;
    }
    eprint!(
        "{}",
        diag::render(mistakes, &project.sources, error_format(format))
    );
    let errors = mistakes.iter().filter(|d| d.level == Level::Error).count();
    if errors > 0 && format != ErrorFormatArg::Json {
        eprintln!(
            "error: {errors} {} in the settings; {consequence}",
            plural(errors, "mistake", "mistakes")
        );
    }
    errors > 0
}

/// Prints diagnostics and a closing count of errors.
fn report_mistakes(rejected: &Rejected, format: ErrorFormatArg, what: &str, consequence: &str) {
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
            "error: {errors} {} in {} {what} {}; {consequence}",
            plural(errors, "mistake", "mistakes"),
            files.len(),
            plural(files.len(), "file", "files")
        );
    }
}

/// Why there is nothing to run: the rule paths given hold no rule file,
/// or every rule is disabled.
fn no_rules(args: &RuleArgs) -> String {
    if args.rules.is_empty() {
        "no rules to run: the configured rule paths hold no rule file, or every rule is disabled"
            .to_string()
    } else {
        let paths: Vec<String> = args.rules.iter().map(|p| p.display().to_string()).collect();
        format!(
            "no rules to run: {} {} no rule file (.yaml or .yml)",
            paths.join(", "),
            plural(paths.len(), "holds", "hold")
        )
    }
}

fn validate(
    args: &RuleArgs,
    format: ErrorFormatArg,
    deny_warnings: bool,
    require_tests: bool,
) -> CliResult {
    let (mut project, first) = match find_project(args, format)
        .and_then(|project| Ok((loader(args, &project)?, project)))
    {
        Ok((l, p)) => (p, l),
        Err(code) => return Ok(code),
    };
    let settings = project.setting_mistakes(&first.declared(), &args.params);
    let bad_settings = report_settings(
        &settings,
        &project,
        format,
        "fix them before the rules can run",
    );
    let services = first.sigma_services();
    let rejected = first.validate();
    let errors = rejected
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    let warnings = rejected.diagnostics.len() - errors;
    report_mistakes(
        &rejected,
        format,
        "rule",
        "fix them before the rules can run",
    );
    if errors == 0 && rejected.sources.is_empty() {
        eprintln!("error: {}", no_rules(args));
        return Ok(EXIT_ERROR);
    }
    if require_tests && errors == 0 {
        let again = match find_project(args, format).and_then(|project| loader(args, &project)) {
            Ok(l) => l,
            Err(code) => return Ok(code),
        };
        let untested: Vec<String> = again
            .check()
            .rules()
            .iter()
            .filter(|r| r.tests.is_empty())
            .map(|r| format!("{} ({}:{})", r.info.id, r.info.source, r.info.line))
            .collect();
        if !untested.is_empty() {
            eprintln!(
                "error: {} {} no `tests:` cases: {}",
                untested.len(),
                plural(untested.len(), "rule has", "rules have"),
                untested.join(", ")
            );
            return Ok(EXIT_ERROR);
        }
    }
    if errors == 0 && !bad_settings && format != ErrorFormatArg::Json {
        // Which log each Sigma service reads, once per service.
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for service in &services {
            match seen
                .iter_mut()
                .find(|(s, _)| s.eq_ignore_ascii_case(service))
            {
                Some((_, n)) => *n += 1,
                None => seen.push((service, 1)),
            }
        }
        for (service, n) in seen {
            if let Some(log) = tollgate_sigma_log(service) {
                eprintln!(
                    "Sigma `service: {service}` reads the {log} log ({n} {})",
                    plural(n, "rule", "rules")
                );
            }
        }
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
    Ok(
        if bad_settings || errors > 0 || (deny_warnings && warnings > 0) {
            EXIT_ERROR
        } else {
            EXIT_OK
        },
    )
}

/// The log a Sigma service reads, by its name in rules.
fn tollgate_sigma_log(service: &str) -> Option<String> {
    crate::sigma::log_of_service(service).map(|l| format!("`{}`", l.name()))
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
    let failed = report::write_tests_text(&mut out, &outcomes, rules.infos()).map_err(write_err)?;
    Ok(if failed > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

fn list_rules(args: &RuleArgs, format: ListFormat, error_format: ErrorFormatArg) -> CliResult {
    let (rules, _) = match load(args, error_format, true) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    // Rules that wait for a param are listed too: they are loaded, and the
    // list says what they wait for.
    let text = match format {
        ListFormat::Json => {
            let all: Vec<&crate::finding::RuleInfo> = rules.all_infos().collect();
            serde_json::to_string_pretty(&all).map_err(|e| e.to_string())? + "\n"
        }
        ListFormat::Text => report::rules_text(&rules),
        ListFormat::Markdown => report::rules_markdown(&rules),
    };
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(EXIT_OK)
}

fn explain(
    rule_id: &str,
    args: &RuleArgs,
    target: &str,
    index: Option<u64>,
    error_format: ErrorFormatArg,
) -> CliResult {
    let (rules, _) = match load(args, error_format, true) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let (path, line) = split_line(target);
    let pick = match (line, index) {
        (Some(_), Some(_)) => {
            return Err("give the record as FILE:LINE or with --record N, not both".into());
        }
        (Some(line), None) => Pick::Line(line),
        (None, Some(index)) => Pick::Index(index),
        (None, None) => Pick::First,
    };
    let explanation = Explanation::of(&rules, rule_id, &path, pick).map_err(|e| e.to_string())?;
    io::stdout()
        .lock()
        .write_all(explanation.text.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(if explanation.matched {
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
