//! The command line's arguments, as clap reads them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::project::RuleSettings;

/// The exit codes, for `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above --fail-on; all rule tests passed; rules valid
  1  findings at or above --fail-on (new ones only, with a baseline); or a rule test failed
  2  usage error, a rule or config error (no log is read), an input path that cannot be
     read, a run that checked nothing (no log file, no record, no record a rule
     reads; no rule test run), or with --strict a record unreadable, not a sign-in,
     or with no readable time for a rule over many records";

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
pub(super) struct CompileArgs {
    /// The engine to compile for.
    #[arg(long, value_enum)]
    pub(super) target: crate::target::Target,
    #[command(flatten)]
    pub(super) rules: RuleSettings,
    /// json: one document with the schema and every query; text: the
    /// queries one after another.
    #[arg(long, value_enum, default_value = "json")]
    pub(super) format: crate::target::Output,
    /// Write one file per rule (ID.kql, ID.yaml, ID.sql, ID.yml) into DIR instead
    /// of printing.
    #[arg(long, value_name = "DIR")]
    pub(super) output: Option<PathBuf>,
    #[command(flatten)]
    pub(super) views: crate::target::Options,
    /// Print nothing on success but the output.
    #[arg(long, short)]
    pub(super) quiet: bool,
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
        rules: RuleSettings,
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
        rules: RuleSettings,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: crate::report::TestFormat,
    },
    /// List the rules.
    Rules {
        #[command(flatten)]
        rules: RuleSettings,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: crate::report::ListFormat,
    },
    /// Show how one rule evaluates one record, condition by condition; for
    /// a rule over many records, how far each group of a file got.
    Explain {
        /// The rule's id.
        #[arg(long)]
        rule: String,
        #[command(flatten)]
        rules: RuleSettings,
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
        format: crate::schema::CatalogFormat,
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
    pub(super) rules: RuleSettings,
    #[command(flatten)]
    pub(super) settings: crate::project::CheckSettings,
    /// Write the report to a file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub(super) output: Option<PathBuf>,
    /// Exit 2 when any record cannot be read, is not a sign-in, or has no
    /// readable time for a rule over many records.
    #[arg(long)]
    pub(super) strict: bool,
    /// Print nothing on standard error but errors.
    #[arg(long, short)]
    pub(super) quiet: bool,
}
