//! The project in force: the config file (named, or `tollgate.yaml` in the
//! working directory) with the settings a caller gives on top of it, turned
//! into a rule [`Loader`].
//!
//! Takes the config path and the caller's rule paths and params; gives the
//! parsed [`Config`] with its diagnostics and a loader whose params,
//! disabled rules and severity overrides are the config's, overridden by
//! the caller's. The command line and library users resolve settings the
//! same way here.

mod init;
mod settings;

use crate::diag::plural;

use std::path::{Path, PathBuf};

use crate::catalog;
use crate::config::{self, Config};
use crate::diag::{Code, Diagnostic, Sources, Span};
use crate::engine::{Declared, Loader};

pub use settings::{CheckSettings, FailOn, Resolved};

/// The rules a caller names on top of the config, the params it sets,
/// the config file, and how mistakes are shown.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[non_exhaustive]
pub struct RuleSettings {
    /// Rule file or directory (its .yaml/.yml files); repeatable. Without
    /// it, the built-in pack runs.
    #[cfg_attr(feature = "cli", arg(long = "rules", value_name = "PATH"))]
    pub rules: Vec<PathBuf>,
    /// Set a rule parameter: NAME=VALUE (lists: comma-separated; repeating
    /// the flag appends).
    #[cfg_attr(feature = "cli", arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param))]
    pub params: Vec<(String, String)>,
    /// Leave out the rule with this id, as the config's `disable:` does;
    /// repeatable.
    #[cfg_attr(feature = "cli", arg(long = "disable", value_name = "ID"))]
    pub disable: Vec<String>,
    /// Project config file (default: tollgate.yaml in the working
    /// directory, if there is one). Flags override it.
    #[cfg_attr(feature = "cli", arg(long, value_name = "FILE"))]
    pub config: Option<PathBuf>,
    /// How to show rule and config mistakes: human, plain or json.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value = "human"))]
    pub error_format: crate::diag::ErrorStyle,
}

#[cfg(feature = "cli")]
fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

impl RuleSettings {
    /// Why there is nothing to run when no rule loads: every rule loaded
    /// is `disabled` (those ids), or the rule paths given hold none.
    pub fn nothing_to_run(&self, disabled: &[String]) -> String {
        if !disabled.is_empty() {
            return format!(
                "no rules to run: every rule loaded is disabled (by --disable or the config's \
                 `disable:`): {}",
                disabled.join(", ")
            );
        }
        if self.rules.is_empty() {
            return "no rules to run: the configured rule paths hold no rule file, or every rule is disabled"
                .to_string();
        }
        let paths: Vec<String> = self.rules.iter().map(|p| p.display().to_string()).collect();
        format!(
            "no rules to run: {} {} no rule (rules are YAML documents with an `id`, in .yaml or .yml files)",
            paths.join(", "),
            plural(paths.len(), "holds", "hold")
        )
    }
}

/// The config in force, with its text for diagnostics.
#[derive(Debug, Default)]
pub struct Project {
    /// The settings.
    pub config: Config,
    /// The config's text, for diagnostics that point into it.
    pub sources: Sources,
    /// Where the config was read from; `None` when there is none.
    pub path: Option<PathBuf>,
}

/// Why the project's files could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProjectError {
    /// The config file could not be read.
    Config(PathBuf, std::io::Error),
    /// A rule path could not be read; with the config that named it, when
    /// it came from there.
    Rules(PathBuf, Option<PathBuf>, std::io::Error),
    /// A new project's files are in the way ([`Project::init`] without `force`).
    Exists(Vec<PathBuf>),
    /// A new project's file or directory could not be written.
    Write(PathBuf, std::io::Error),
    /// The baseline named is missing (and this run does not write it).
    MissingBaseline(PathBuf),
    /// The baseline named cannot be read.
    Baseline(crate::run::triage::BaselineError),
    /// The config's `format` names no output format.
    Format(String),
}

impl std::fmt::Display for ProjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProjectError::Config(path, e) => {
                write!(f, "cannot read config {}: {e}", path.display())
            }
            ProjectError::Rules(path, None, e) => {
                write!(f, "cannot read rules at {}: {e}", path.display())
            }
            ProjectError::Rules(path, Some(config), e) => write!(
                f,
                "cannot read rules at {} (named in {}): {e}",
                path.display(),
                config.display()
            ),
            ProjectError::Exists(paths) => {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "not overwriting {} (use --force to replace {})",
                    names.join(", "),
                    plural(paths.len(), "it", "them")
                )
            }
            ProjectError::Write(path, e) => write!(f, "cannot write {}: {e}", path.display()),
            ProjectError::MissingBaseline(path) => {
                let path = path.display();
                write!(
                    f,
                    "baseline {path} does not exist; write it first with `tollgate check ... --write-baseline {path}`"
                )
            }
            ProjectError::Baseline(e) => e.fmt(f),
            ProjectError::Format(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ProjectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProjectError::Config(_, e)
            | ProjectError::Rules(_, _, e)
            | ProjectError::Write(_, e) => Some(e),
            ProjectError::Baseline(e) => Some(e),
            ProjectError::Exists(_)
            | ProjectError::MissingBaseline(_)
            | ProjectError::Format(_) => None,
        }
    }
}

impl Project {
    /// Writes a new project's files into `dir` (created when missing): a
    /// `tollgate.yaml` with every key explained, `rules/` with an example
    /// rule and its tests, `logs/` with a sample, and a GitHub Actions
    /// workflow; gives their paths. Refuses to overwrite a file unless
    /// `force`, and then names every file in the way.
    pub fn init(dir: &Path, force: bool) -> Result<Vec<PathBuf>, ProjectError> {
        init::init(dir, force)
    }

    /// Reads `config`, or `tollgate.yaml` in the working directory when
    /// there is one; a project with default settings when neither. Gives
    /// the config's mistakes beside it (the caller decides whether they
    /// stop the run).
    pub fn find(config: Option<&Path>) -> Result<(Project, Vec<Diagnostic>), ProjectError> {
        let path = match config {
            Some(p) => p.to_path_buf(),
            None if Path::new(config::FILE_NAME).is_file() => PathBuf::from(config::FILE_NAME),
            None => return Ok((Project::default(), Vec::new())),
        };
        let mut sources = Sources::default();
        let (config, diagnostics) =
            config::load(&path, &mut sources).map_err(|e| ProjectError::Config(path.clone(), e))?;
        let project = Project {
            config,
            sources,
            path: Some(path),
        };
        Ok((project, diagnostics))
    }

    /// A loader with the rules, params and disabled ids the caller gives,
    /// falling back to the config's rule paths and params (a param given by
    /// the caller replaces the config's value for that name) and adding to
    /// its `disable:`; the built-in pack when neither names rules.
    pub fn loader(&self, settings: &RuleSettings) -> Result<Loader, ProjectError> {
        let RuleSettings {
            rules,
            params,
            disable,
            ..
        } = settings;
        let mut loader = Loader::new();
        let config = &self.config;
        for (name, values, _) in &config.params {
            if !params.iter().any(|(n, _)| n == name) {
                for value in values {
                    loader.param(name, value);
                }
            }
        }
        for (name, value) in params {
            loader.param(name, value);
        }
        for id in config.disable.iter().map(|(id, _)| id).chain(disable) {
            loader.disable(id);
        }
        for (id, severity, _) in &config.severity {
            loader.severity(id, *severity);
        }
        let (paths, named_in) = if rules.is_empty() {
            (&config.rules[..], self.path.as_ref())
        } else {
            (&rules[..], None)
        };
        if paths.is_empty() {
            loader.add_builtin();
        }
        for path in paths {
            loader
                .add_path(path)
                .map_err(|e| ProjectError::Rules(path.clone(), named_in.cloned(), e))?;
        }
        Ok(loader)
    }

    /// Errors for settings that name nothing the rules declare: a param
    /// (`--param` or the config's `params:`) no rule declares, and a rule
    /// id (`--disable`, or the config's `disable:`, `severity:` or an
    /// exception) that no rule has; each with the closest declared name.
    /// Command-line settings are added to [`Project::sources`] as sources
    /// of their own, `command line`, so every diagnostic renders against
    /// `self.sources`.
    pub fn setting_mistakes(
        &mut self,
        declared: &Declared,
        settings: &RuleSettings,
    ) -> Vec<Diagnostic> {
        let params = &settings.params;
        let mut out = Vec::new();
        let unknown_param = |name: &str, span: Span, given: &str| {
            Code::Config
                .error(span, format!("no rule declares param `{name}`"))
                .label(format!("unknown param, given {given}"))
                .suggest_or(
                    catalog::closest(name, declared.params.iter().map(String::as_str)),
                    if declared.params.is_empty() {
                        "the rules loaded declare no params".to_string()
                    } else {
                        format!("the rules loaded declare {}", declared.params.join(", "))
                    },
                )
        };
        let mut seen = Vec::new();
        for (name, value) in params {
            if declared.params.contains(name) || seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let span = command_line(&mut self.sources, "--param", name, &format!("={value}"));
            out.push(unknown_param(name, span, "with --param"));
        }
        for (name, _, span) in &self.config.params {
            if !declared.params.contains(name) {
                out.push(unknown_param(name, span.clone(), "in the config"));
            }
        }
        let unknown_id = |id: &str, span: Span, label: String| {
            Code::Config
                .error(span, format!("no rule has id `{id}`"))
                .label(label)
                .suggest_or(
                    catalog::closest(id, declared.ids.iter().map(String::as_str)),
                    "`tollgate rules` lists the ids of the rules loaded",
                )
        };
        let mut seen = Vec::new();
        for id in &settings.disable {
            if declared.ids.contains(id) || seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let span = command_line(&mut self.sources, "--disable", id, "");
            let label = "unknown rule id, given with --disable".to_string();
            out.push(unknown_id(id, span, label));
        }
        let config = &self.config;
        let ids = config
            .disable
            .iter()
            .map(|(id, span)| (id, span, "disable"))
            .chain(
                config
                    .severity
                    .iter()
                    .map(|(id, _, span)| (id, span, "severity")),
            )
            .chain(
                config
                    .exceptions
                    .iter()
                    .filter(|e| !e.rule.is_empty())
                    .map(|e| (&e.rule, &e.rule_span, "exceptions")),
            );
        for (id, span, key) in ids {
            if declared.ids.contains(id) {
                continue;
            }
            out.push(unknown_id(
                id,
                span.clone(),
                format!("unknown rule id in `{key}`"),
            ));
        }
        crate::diag::sort(&mut out, &self.sources);
        out
    }
}

/// A setting given on the command line, `FLAG NAME REST`, as a source of
/// its own (`command line`) for diagnostics: the span of `NAME` in it.
fn command_line(sources: &mut Sources, flag: &str, name: &str, rest: &str) -> Span {
    let source = sources.add("command line", format!("{flag} {name}{rest}"));
    let at = flag.len() + 1;
    Span::new(source, at..at + name.len())
}
