//! The [`Loader`]: gathers rule files (tollgate's and Sigma's), params,
//! disabled ids and severity overrides, and reads them into checked rules.

use std::path::Path;

use crate::check::{self, ParamValues};
use crate::diag::{Code, Diagnostic, Sources, Span};
use crate::finding::Severity;
use crate::record::LogCategory;
use crate::syntax::{self, Document, Node};

use super::checked::{CheckedRules, Rejected};
use super::rule_set::RuleSet;

/// The built-in rule pack: (path under the crate, text), compiled in.
pub const BUILTIN_RULES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Gathers rule files and parameter values, then checks them
/// ([`Loader::check`]) and compiles them ([`CheckedRules::compile`]), or
/// both at once ([`Loader::load`]).
#[derive(Debug, Default)]
pub struct Loader {
    sources: Sources,
    docs: Vec<(usize, Document)>,
    diags: Vec<Diagnostic>,
    params: ParamValues,
    disabled: Vec<String>,
    severities: Vec<(String, Severity)>,
    /// The files added, by canonical path: a file named twice (a
    /// directory and a file in it) is read once.
    files: std::collections::HashSet<std::path::PathBuf>,
}

/// What the rule files of a [`Loader`] declare (see [`Loader::declared`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// Rule ids, sorted.
    pub ids: Vec<String>,
    /// Param names, sorted.
    pub params: Vec<String>,
}

impl Loader {
    /// An empty loader.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Sets a parameter for every rule that declares it; repeated calls for
    /// one name append (list parameters also split on commas).
    pub fn param(&mut self, name: &str, value: &str) -> &mut Loader {
        self.params
            .entry(name.to_string())
            .or_default()
            .push(value.to_string());
        self
    }

    /// Turns a rule off: it is checked but does not run.
    pub fn disable(&mut self, id: &str) -> &mut Loader {
        self.disabled.push(id.to_string());
        self
    }

    /// Overrides a rule's severity.
    pub fn severity(&mut self, id: &str, severity: Severity) -> &mut Loader {
        self.severities.push((id.to_string(), severity));
        self
    }

    /// The rule ids and the param names the rules added so far declare,
    /// read from their text whatever its other mistakes, so settings that
    /// name them can be checked before (and whether or not) the rules are.
    pub fn declared(&self) -> Declared {
        let mut declared = Declared::default();
        for (_, doc) in &self.docs {
            let Some(entries) = doc.root.map() else {
                continue;
            };
            for (key, value) in entries {
                match key.text() {
                    Some("id") => declared.ids.extend(value.text().map(str::to_string)),
                    Some("params") => declared.params.extend(
                        value
                            .map()
                            .into_iter()
                            .flatten()
                            .filter_map(|(k, _)| k.text().map(str::to_string)),
                    ),
                    _ => {}
                }
            }
        }
        declared.ids.sort();
        declared.ids.dedup();
        declared.params.sort();
        declared.params.dedup();
        declared
    }

    /// The log each Sigma detection rule's `logsource.service` reads, once
    /// per service (its first spelling), with how many rules name it; read
    /// from the text whatever its other mistakes.
    fn sigma_logs(&self) -> Vec<(String, LogCategory, usize)> {
        let mut seen: Vec<(String, LogCategory, usize)> = Vec::new();
        let services = self
            .docs
            .iter()
            .filter(|(_, doc)| crate::sigma::is_sigma(&doc.root))
            .filter_map(|(_, doc)| {
                fn entry<'a>(map: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
                    map.iter()
                        .find(|(k, _)| k.text() == Some(key))
                        .map(|(_, v)| v)
                }
                let logsource = entry(doc.root.map()?, "logsource")?.map()?;
                entry(logsource, "service")?.text()
            });
        for service in services {
            match seen
                .iter_mut()
                .find(|(s, _, _)| s.eq_ignore_ascii_case(service))
            {
                Some((_, _, n)) => *n += 1,
                None => {
                    if let Some(log) = crate::sigma::log_of_service(service) {
                        seen.push((service.to_string(), log, 1));
                    }
                }
            }
        }
        seen
    }

    /// Adds the rule text of one file.
    pub fn add_source(&mut self, name: &str, text: &str) -> &mut Loader {
        let id = self.sources.add(name, text);
        let (docs, mut diags) = syntax::parse(id, text);
        self.docs.extend(docs.into_iter().map(|d| (id, d)));
        self.diags.append(&mut diags);
        self
    }

    /// Adds the built-in pack.
    pub fn add_builtin(&mut self) -> &mut Loader {
        for (path, text) in BUILTIN_RULES {
            self.add_source(&format!("builtin:{path}"), text);
        }
        self
    }

    /// Adds a rule file, or every `.yaml` / `.yml` file (in any case) below
    /// a directory in sorted order. Files that are not UTF-8 become diagnostics; a path
    /// that cannot be read is an error.
    pub fn add_path(&mut self, path: &Path) -> std::io::Result<&mut Loader> {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            let mut files = Vec::new();
            for entry in walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name()
            {
                let entry = entry.map_err(std::io::Error::other)?;
                let name = entry.file_name().to_string_lossy();
                // `RULE.YAML` is a rule file too: the extension in any case.
                let lower = name.to_ascii_lowercase();
                let is_rule = lower.ends_with(".yaml") || lower.ends_with(".yml");
                if entry.file_type().is_file() && is_rule && !name.starts_with('.') {
                    files.push(entry.into_path());
                }
            }
            for file in files {
                self.add_file(&file)?;
            }
        } else {
            self.add_file(path)?;
        }
        Ok(self)
    }

    fn add_file(&mut self, path: &Path) -> std::io::Result<()> {
        let canonical = std::fs::canonicalize(path)?;
        if !self.files.insert(canonical) {
            return Ok(());
        }
        let name = path.display().to_string();
        let len = std::fs::metadata(path)?.len();
        if len > syntax::MAX_FILE_BYTES as u64 {
            let id = self.sources.add(name, "");
            self.diags.push(
                Code::FileTooLarge
                    .error(
                        Span::new(id, 0..0),
                        format!(
                            "rule file is {len} bytes, more than the {} MiB limit",
                            syntax::MAX_FILE_BYTES >> 20
                        ),
                    )
                    .help("split the rules into several files"),
            );
            return Ok(());
        }
        let bytes = std::fs::read(path)?;
        match String::from_utf8(bytes) {
            Ok(text) => {
                self.add_source(&name, &text);
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let id = self.sources.add(name, text);
                self.diags.push(
                    Code::NotUtf8
                        .error(Span::new(id, at..at + 1), "rule file is not valid UTF-8")
                        .label("invalid byte")
                        .help("save the file as UTF-8"),
                );
            }
        }
        Ok(())
    }

    /// Checks everything added without compiling: the rules that passed
    /// and every diagnostic so far. [`CheckedRules::compile`] finishes the
    /// job; [`Loader::load`] is the two in one.
    pub fn check(self) -> CheckedRules {
        let Loader {
            sources,
            docs,
            mut diags,
            params,
            disabled,
            severities,
            files: _,
        } = self;
        let (rules, mut check_diags) = check::check(&docs, &sources, &params);
        diags.append(&mut check_diags);
        crate::diag::sort(&mut diags, &sources);
        CheckedRules {
            rules,
            diagnostics: diags,
            sources,
            disabled,
            severities,
        }
    }

    /// Checks and compiles everything added. Any error rejects the whole
    /// set (no rule is dropped silently); warnings travel with the rules.
    pub fn load(self) -> Result<RuleSet, Rejected> {
        self.check().compile()
    }

    /// Every mistake at once, for `validate`: the diagnostics of checking
    /// and compiling, plus the failing `tests:` cases of every rule that
    /// compiled, whether or not other rules have errors; with the rules
    /// that have no `tests:` and the log each Sigma service reads.
    pub fn validate(self) -> Validation {
        let sigma_logs = self.sigma_logs();
        let checked = self.check();
        let untested = checked
            .rules()
            .iter()
            .filter(|r| r.tests.is_empty())
            .map(|r| format!("{} ({}:{})", r.info.id, r.info.source, r.info.line))
            .collect();
        let (rules, mut diagnostics) = checked.build();
        diagnostics.extend(rules.test_diagnostics());
        crate::diag::sort(&mut diagnostics, &rules.sources);
        Validation {
            rules: rules.infos().len() + rules.waiting().len(),
            disabled: rules.disabled().to_vec(),
            diagnostics,
            sources: rules.sources,
            untested,
            sigma_logs,
        }
    }
}

/// What [`Loader::validate`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct Validation {
    /// Errors and warnings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The rule files.
    pub sources: Sources,
    /// The rules without errors that have no `tests:` cases, as
    /// `ID (file:line)`.
    pub untested: Vec<String>,
    /// Each Sigma `logsource.service` the rules name (its first spelling),
    /// the log it reads, and how many rules name it.
    pub sigma_logs: Vec<(String, LogCategory, usize)>,
    /// How many rules the files hold that would run or wait for a param
    /// (none: there is nothing to run, however clean the files).
    pub rules: usize,
    /// The rules left out by [`Loader::disable`].
    pub disabled: Vec<String>,
}

impl Validation {
    /// The errors among the diagnostics.
    pub fn errors(&self) -> usize {
        crate::diag::errors(&self.diagnostics)
    }

    /// The warnings among the diagnostics.
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    /// What a validation without errors says: the log each Sigma service
    /// reads, then `3 rule files: ok, 1 warning`.
    pub fn verdict(&self) -> String {
        use crate::diag::plural;
        let mut out = String::new();
        for (service, log, n) in &self.sigma_logs {
            out += &format!(
                "Sigma `service: {service}` reads the `{}` log ({n} {})\n",
                log.name(),
                plural(*n, "rule", "rules")
            );
        }
        let files = self.sources.len();
        out += &format!("{files} rule {}: ok", plural(files, "file", "files"));
        match self.warnings() {
            0 => out + "\n",
            n => out + &format!(", {n} {}\n", plural(n, "warning", "warnings")),
        }
    }
}
