//! The settings of a check that a caller gives on top of the config (the
//! command line's flags, declared here once with their help), resolved
//! against the config into what the run and the report need.

use std::path::PathBuf;

use super::{Project, ProjectError};
use crate::finding::Severity;
use crate::ingest::InputFormat;
use crate::report::{Format, SarifOptions};
use crate::run::RunOptions;
use crate::run::triage::Baseline;

/// What a caller sets for a check; each unset value falls back to the
/// config, then to the default.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[non_exhaustive]
pub struct CheckSettings {
    /// Output format [default: text, or the config's `format`].
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub format: Option<Format>,
    /// Lowest severity that makes the exit code 1, or `never`
    /// [default: info, or the config's `failOn`].
    #[cfg_attr(feature = "cli", arg(long, value_name = "SEVERITY|never", value_parser = parse_fail_on))]
    pub fail_on: Option<FailOn>,
    /// Report only findings whose fingerprint is not in this baseline
    /// [default: the config's `baseline`].
    #[cfg_attr(feature = "cli", arg(long, value_name = "FILE"))]
    pub baseline: Option<PathBuf>,
    /// Write the fingerprints of this run's findings as a baseline.
    #[cfg_attr(feature = "cli", arg(long, value_name = "FILE"))]
    pub write_baseline: Option<PathBuf>,
    /// SARIF: make log paths relative to this directory (the
    /// repository root) [default: the working directory].
    #[cfg_attr(feature = "cli", arg(long, value_name = "DIR"))]
    pub sarif_root: Option<PathBuf>,
    /// SARIF: `automationDetails.id`, to upload several analyses for one
    /// repository (such as `tollgate/prod/`).
    #[cfg_attr(feature = "cli", arg(long, value_name = "ID"))]
    pub sarif_category: Option<String>,
    /// How to read the logs: auto (CSV when the first line is a CSV
    /// header, else JSON), jsonl or json (JSON in any layout), csv.
    #[cfg_attr(
        feature = "cli",
        arg(long, value_name = "auto|jsonl|json|csv", default_value = "auto")
    )]
    pub input_format: InputFormat,
    /// Worker threads that decode and evaluate records, and that share the
    /// rules over many records at the end of the input, 1 to 256 [default:
    /// one per core]; 1 runs everything on one thread, as standard input
    /// always does. The output is the same whatever the number.
    #[cfg_attr(feature = "cli", arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256)))]
    pub threads: Option<u16>,
}

/// The `--fail-on` threshold: a severity, or `never` (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailOn(pub Option<Severity>);

#[cfg(feature = "cli")]
fn parse_fail_on(text: &str) -> Result<FailOn, String> {
    if text == "never" {
        return Ok(FailOn(None));
    }
    text.parse::<Severity>()
        .map(|s| FailOn(Some(s)))
        .map_err(|e| format!("{e}, or never"))
}

/// A check's settings resolved against the config.
#[derive(Debug)]
#[non_exhaustive]
pub struct Resolved {
    /// The report's format.
    pub format: Format,
    /// Findings at or above this severity fail the check (`None`: never).
    pub fail_on: Option<Severity>,
    /// How the SARIF report is written.
    pub sarif: SarifOptions,
    /// The run's options: the baseline read, the config's exceptions.
    pub options: RunOptions,
}

impl Project {
    /// Resolves `given` against the config: reads the baseline in force
    /// (none yet when this run writes it for the first time).
    pub fn resolve(&self, given: &CheckSettings) -> Result<Resolved, ProjectError> {
        let config = &self.config;
        let format = match (given.format, &config.format) {
            (Some(format), _) => format,
            (None, Some(name)) => name.parse().map_err(ProjectError::Format)?,
            (None, None) => Format::Text,
        };
        let baseline = match given.baseline.as_ref().or(config.baseline.as_ref()) {
            Some(path) if !path.exists() && given.write_baseline.is_some() => None,
            Some(path) if !path.exists() => {
                return Err(ProjectError::MissingBaseline(path.clone()));
            }
            Some(path) => Some(Baseline::read(path).map_err(ProjectError::Baseline)?),
            None => None,
        };
        let mut options = RunOptions {
            input_format: given.input_format,
            baseline,
            exceptions: config.exceptions.clone(),
            collect_baseline: given.write_baseline.is_some(),
            ..RunOptions::default()
        };
        if let Some(threads) = given.threads {
            options.threads = usize::from(threads);
        }
        Ok(Resolved {
            format,
            fail_on: given
                .fail_on
                .map_or(config.fail_on, |f| Some(f.0))
                .unwrap_or(Some(Severity::Info)),
            sarif: SarifOptions {
                root: given.sarif_root.clone(),
                category: given.sarif_category.clone(),
                baseline_state: options.baseline.is_some(),
                strict: false,
            },
            options,
        })
    }
}
