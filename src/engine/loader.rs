//! The [`Loader`]: gathers rule files (tollgate's and Sigma's), params,
//! disabled ids and severity overrides, and reads them into checked rules.

use std::path::Path;

use crate::check::{self, ParamValues};
use crate::diag::{Code, Diagnostic, Sources, Span};
use crate::finding::Severity;
use crate::syntax::{self, Document};

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

    /// The `logsource.service` of every Sigma detection rule added so far,
    /// in order, read from the text whatever its other mistakes (so
    /// `validate` can say which log each service reads).
    pub fn sigma_services(&self) -> Vec<String> {
        self.docs
            .iter()
            .filter(|(_, doc)| crate::sigma::is_sigma(&doc.root))
            .filter_map(|(_, doc)| {
                let entries = doc.root.map()?;
                let logsource = entries
                    .iter()
                    .find(|(k, _)| k.text() == Some("logsource"))?
                    .1
                    .map()?;
                let service = logsource
                    .iter()
                    .find(|(k, _)| k.text() == Some("service"))?
                    .1
                    .text()?;
                Some(service.to_string())
            })
            .collect()
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

    /// Adds a rule file, or every `.yaml` / `.yml` file below a directory in
    /// sorted order. Files that are not UTF-8 become diagnostics; a path
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
                let is_rule = name.ends_with(".yaml") || name.ends_with(".yml");
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
    /// compiled, whether or not other rules have errors.
    pub fn validate(self) -> Rejected {
        let (rules, mut diagnostics) = self.check().build();
        diagnostics.extend(rules.test_diagnostics());
        crate::diag::sort(&mut diagnostics, &rules.sources);
        Rejected {
            diagnostics,
            sources: rules.sources,
        }
    }
}
