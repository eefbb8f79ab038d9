//! The command line (the `cli` feature): parses arguments with clap, runs the
//! library, and maps outcomes to exit codes (0 clean, 1 findings or failed
//! tests, 2 usage, rule or input errors), which only it knows.

mod args;
mod check;
mod compile;

use std::io::{self, IsTerminal, Write};

use crate::diag::{self, ErrorFormat, ErrorStyle, Within, plural};
use crate::engine::{Loader, RuleSet, waits_for};
use crate::project::{Project, RuleSettings};
use crate::report;
use crate::run::explain::{Explanation, Pick};
pub use args::Cli;
use args::Command;

/// Exit code: ran, nothing at or above `--fail-on`.
pub const EXIT_OK: u8 = 0;
/// Exit code: findings at or above `--fail-on`, or a failed rule test.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage error, rule error, or unreadable input.
pub const EXIT_ERROR: u8 = 2;

/// Mistakes in rule files, counted by file.
const RULE_FILES: Within<'static> = Within::Files("rule");

/// An exit code, or why a command stopped early (exit 2).
type CliResult = Result<u8, Stop>;

/// Why a command stopped early.
enum Stop {
    /// It printed why already (rule or config mistakes).
    Said,
    /// An operational error, for people.
    Error(String),
}

impl<E: std::error::Error> From<E> for Stop {
    fn from(error: E) -> Stop {
        Stop::Error(error.to_string())
    }
}

/// Runs the command line and returns the exit code.
pub fn run(cli: Cli) -> u8 {
    match command(cli.command) {
        Ok(code) => code,
        Err(Stop::Said) => EXIT_ERROR,
        Err(Stop::Error(e)) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}

fn command(command: Command) -> CliResult {
    match command {
        Command::Check(args) => check::check(args),
        Command::Compile(args) => compile::compile(args),
        Command::Validate {
            rules,
            deny_warnings,
            require_tests,
        } => validate(&rules, deny_warnings, require_tests),
        Command::Init { dir, force } => init(&dir, force),
        Command::Test { rules, format } => {
            let (rules, _) = load(&rules, true)?;
            let outcomes = rules.run_tests();
            let mut out = io::stdout().lock();
            let failed = report::write_tests(&mut out, &outcomes, rules.infos(), format)
                .map_err(|e| Stop::Error(format!("cannot write: {e}")))?;
            // A run that tested nothing is no pass (a case not run fails
            // it already).
            let ran = outcomes
                .iter()
                .filter(|o| !o.not_run && o.skipped.is_none())
                .count();
            if ran == 0 && failed == 0 {
                let why = match outcomes.len() {
                    0 => "no rule loaded has a `tests:` case",
                    _ => "every `tests:` case was skipped",
                };
                return Err(Stop::Error(format!("{why}: nothing was tested")));
            }
            Ok(if failed > 0 { EXIT_FINDINGS } else { EXIT_OK })
        }
        Command::Rules { rules, format } => {
            let (rules, _) = load(&rules, true)?;
            print(report::rule_list(&rules, format)?)
        }
        Command::Explain {
            rule,
            rules,
            record,
            index,
        } => explain(&load(&rules, true)?.0, &rule, &record, index),
        Command::Schema {
            rules_json_schema: true,
            ..
        } => {
            let schema = crate::schema::rule_schema();
            print(serde_json::to_string_pretty(&schema)? + "\n")
        }
        Command::Schema { format, .. } => print(crate::schema::field_catalog(format)?),
    }
}

/// Writes `text` to standard output.
fn print(text: String) -> CliResult {
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Stop::Error(format!("cannot write: {e}")))?;
    Ok(EXIT_OK)
}

fn error_format(style: ErrorStyle) -> ErrorFormat {
    style.format(color_on(&io::stderr()))
}

/// Colour only on a terminal, and never with `NO_COLOR` set.
fn color_on(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints `diagnostics` and the count of their errors; whether there are
/// errors.
fn show(
    diagnostics: &[diag::Diagnostic],
    sources: &diag::Sources,
    args: &RuleSettings,
    within: Within<'_>,
    consequence: &str,
) -> bool {
    let format = error_format(args.error_format);
    eprint!(
        "{}",
        diag::render_closed(diagnostics, sources, format, within, consequence)
    );
    diag::errors(diagnostics) > 0
}

/// The project (its config's mistakes printed) and the loader of its
/// rules, with whether the settings have mistakes (printed, followed by
/// `consequence`); an error when the config or the rule paths stop the
/// command.
fn open(args: &RuleSettings, consequence: &str) -> Result<(Project, Loader, bool), Stop> {
    let (mut project, mistakes) = Project::find(args.config.as_deref())?;
    let config = Within::Files("config");
    if show(
        &mistakes,
        &project.sources,
        args,
        config,
        "fix the config first",
    ) {
        return Err(Stop::Said);
    }
    let loader = project.loader(args)?;
    let settings = project.setting_mistakes(&loader.declared(), args);
    let bad = show(
        &settings,
        &project.sources,
        args,
        Within::Settings,
        consequence,
    );
    Ok((project, loader, bad))
}

/// Loads the rules, printing their mistakes (and, with `notes`, warnings
/// and the rules that wait for params); an error when they cannot run.
fn load(args: &RuleSettings, notes: bool) -> Result<(RuleSet, Project), Stop> {
    let consequence = "no log was read";
    let (project, loader, bad_settings) = open(args, consequence)?;
    if bad_settings {
        return Err(Stop::Said);
    }
    let rules = loader.load().map_err(|rejected| {
        show(
            &rejected.diagnostics,
            &rejected.sources,
            args,
            RULE_FILES,
            consequence,
        );
        Stop::Said
    })?;
    if notes {
        eprint!(
            "{}",
            diag::render(
                rules.warnings(),
                rules.sources(),
                error_format(args.error_format)
            )
        );
        for w in rules.waiting() {
            eprintln!("note: {}", waits_for(&w.info.id, &w.params));
        }
    }
    if rules.infos().is_empty() && rules.waiting().is_empty() {
        // A run that checks nothing must not pass as clean.
        return Err(Stop::Error(args.nothing_to_run(rules.disabled())));
    }
    Ok((rules, project))
}

fn validate(args: &RuleSettings, deny_warnings: bool, require_tests: bool) -> CliResult {
    let consequence = "fix them before the rules can run";
    let (_, loader, bad_settings) = open(args, consequence)?;
    let found = loader.validate();
    let (errors, warnings) = (found.errors(), found.warnings());
    show(
        &found.diagnostics,
        &found.sources,
        args,
        RULE_FILES,
        consequence,
    );
    if errors == 0 && found.rules == 0 {
        return Err(Stop::Error(args.nothing_to_run(&found.disabled)));
    }
    if require_tests && errors == 0 && !found.untested.is_empty() {
        let n = found.untested.len();
        let rules = plural(n, "rule has", "rules have");
        let untested = found.untested.join(", ");
        return Err(Stop::Error(format!(
            "{n} {rules} no `tests:` cases: {untested}"
        )));
    }
    if errors == 0 && !bad_settings && args.error_format != ErrorStyle::Json {
        eprint!("{}", found.verdict());
    }
    let failed = bad_settings || errors > 0 || (deny_warnings && warnings > 0);
    Ok(if failed { EXIT_ERROR } else { EXIT_OK })
}

fn init(dir: &std::path::Path, force: bool) -> CliResult {
    for path in Project::init(dir, force)? {
        eprintln!("wrote {}", path.display());
    }
    let dir = dir.display();
    eprintln!("next: cd {dir} && tollgate validate && tollgate test && tollgate check logs/");
    Ok(EXIT_OK)
}

fn explain(rules: &RuleSet, rule_id: &str, target: &str, index: Option<u64>) -> CliResult {
    let (path, pick) = Pick::parse(target, index)?;
    let explanation = Explanation::of(rules, rule_id, path, pick)?;
    print(explanation.text)?;
    Ok(if explanation.matched {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
