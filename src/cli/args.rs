//! The command line's arguments, as clap reads them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::finding::Severity;
use crate::ingest;

/// The exit codes, for `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above --fail-on; all rule tests passed; rules valid
  1  findings at or above --fail-on (new ones only, with a baseline); or a rule test failed
  2  usage error, a rule or config error (no log is read), an input path that cannot be
     read, or an unreadable record with --strict";

/// Policy as code for Microsoft Entra ID sign-in logs.
#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version,
    about,
    long_about = None,
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, clap::Args)]
pub(super) struct RuleArgs {
    /// Rule file or directory (its .yaml/.yml files); repeatable. Without
    /// it, the built-in pack runs.
    #[arg(long = "rules", value_name = "PATH")]
    pub(super) rules: Vec<PathBuf>,
    /// Set a rule parameter: NAME=VALUE (lists: comma-separated; repeating
    /// the flag appends).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub(super) params: Vec<(String, String)>,
    /// Project config file (default: tollgate.yaml in the working
    /// directory, if there is one). Flags override it.
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ErrorFormatArg {
    Human,
    Plain,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ListFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum TestFormat {
    Text,
    Junit,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum SchemaFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum CompileFormat {
    Json,
    Text,
}

#[derive(Debug, clap::Args)]
pub(super) struct CompileArgs {
    /// The engine to compile for.
    #[arg(long, value_enum)]
    pub(super) target: crate::target::Target,
    #[command(flatten)]
    pub(super) rules: RuleArgs,
    /// json: one document with the schema and every query; text: the
    /// queries one after another.
    #[arg(long, value_enum, default_value = "json")]
    pub(super) format: CompileFormat,
    /// Write one file per rule (ID.kql, ID.yaml, ID.sql, ID.yml) into DIR instead
    /// of printing.
    #[arg(long, value_name = "DIR")]
    pub(super) output: Option<PathBuf>,
    /// Spark: the view of sign-in records.
    #[arg(long, value_name = "NAME", default_value = "signins")]
    pub(super) table: String,
    /// Spark: the view of Graph activity records.
    #[arg(long, value_name = "NAME", default_value = "graphActivity")]
    pub(super) graph_table: String,
    /// Print nothing on success but the output.
    #[arg(long, short)]
    pub(super) quiet: bool,
    /// How to print rule errors: human, plain or json.
    #[arg(long, value_enum, default_value = "human")]
    pub(super) error_format: ErrorFormatArg,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Evaluate rules over sign-in logs and report findings.
    Check(CheckArgs),
    /// Compile rules to queries for Sentinel (KQL) or Spark SQL, or to Sigma.
    Compile(CompileArgs),
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
        /// Fail (exit 2) when a rule has no `tests:` cases.
        #[arg(long)]
        require_tests: bool,
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
    /// Show how one rule evaluates one record, condition by condition; for
    /// a rule over many records, how far each group of a file got.
    Explain {
        /// The rule's id.
        #[arg(long)]
        rule: String,
        #[command(flatten)]
        rules: RuleArgs,
        /// The log file holding the record, optionally with the line where
        /// the record starts (FILE:LINE); without a line, the first record
        /// (for a rule over many records, every record of the file).
        #[arg(value_name = "RECORD_FILE[:LINE]")]
        record: String,
        /// Pick the record by its 0-based index in the file, as findings
        /// report it (records on one line, such as an Event Hub batch,
        /// share a line number).
        #[arg(long = "record", value_name = "N")]
        index: Option<u64>,
        /// How to show rule errors.
        #[arg(long, value_enum, default_value = "human")]
        error_format: ErrorFormatArg,
    },
    /// Scaffold a project: tollgate.yaml, rules/ with an example rule and
    /// its tests, logs/ with a sample, and a GitHub Actions workflow.
    Init {
        /// The project directory (created when missing).
        #[arg(value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// Replace files that already exist.
        #[arg(long)]
        force: bool,
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
pub(super) struct CheckArgs {
    /// Log files or directories (walked in sorted order); `-` reads
    /// standard input.
    #[arg(value_name = "PATH", required = true)]
    pub(super) paths: Vec<PathBuf>,
    #[command(flatten)]
    pub(super) rules: RuleArgs,
    /// Output format [default: text, or the config's `format`].
    #[arg(long, value_enum)]
    pub(super) format: Option<crate::report::Format>,
    /// Write the report to a file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub(super) output: Option<PathBuf>,
    /// Lowest severity that makes the exit code 1, or `never`
    /// [default: info, or the config's `failOn`].
    #[arg(long, value_name = "SEVERITY|never", value_parser = parse_fail_on)]
    pub(super) fail_on: Option<FailOn>,
    /// Report only findings whose fingerprint is not in this baseline
    /// [default: the config's `baseline`].
    #[arg(long, value_name = "FILE")]
    pub(super) baseline: Option<PathBuf>,
    /// Write the fingerprints of this run's findings as a baseline.
    #[arg(long, value_name = "FILE")]
    pub(super) write_baseline: Option<PathBuf>,
    /// SARIF: make log paths relative to this directory (the
    /// repository root) [default: the working directory].
    #[arg(long, value_name = "DIR")]
    pub(super) sarif_root: Option<PathBuf>,
    /// SARIF: `automationDetails.id`, to upload several analyses for one
    /// repository (such as `tollgate/prod/`).
    #[arg(long, value_name = "ID")]
    pub(super) sarif_category: Option<String>,
    /// Exit 2 when any record cannot be read.
    #[arg(long)]
    pub(super) strict: bool,
    /// Print nothing on standard error but errors.
    #[arg(long, short)]
    pub(super) quiet: bool,
    /// How to show rule errors.
    #[arg(long, value_enum, default_value = "human")]
    pub(super) error_format: ErrorFormatArg,
    /// How to read the logs: auto (CSV when the first line is a CSV
    /// header, else JSON), jsonl or json (JSON in any layout), csv.
    #[arg(long, value_name = "auto|jsonl|json|csv", default_value = "auto")]
    pub(super) input_format: ingest::InputFormat,
    /// Worker threads that decode and evaluate records, 1 to 256 [default:
    /// one per core]; 1 runs everything on one thread, as standard input
    /// always does. The output is the same whatever the number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(super) threads: Option<u16>,
}

/// The `--fail-on` threshold: a severity, or `never` (`None`).
#[derive(Debug, Clone, Copy)]
pub(super) struct FailOn(pub(super) Option<Severity>);

fn parse_fail_on(text: &str) -> Result<FailOn, String> {
    if text == "never" {
        return Ok(FailOn(None));
    }
    text.parse::<Severity>()
        .map(|s| FailOn(Some(s)))
        .map_err(|e| format!("{e}, or never"))
}
