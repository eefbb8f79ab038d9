//! The engine: loads rule files through syntax → check → compile into a
//! [`RuleSet`], evaluates canonical records against it into [`Finding`]s,
//! and runs the rules' own tests.
//!
//! This is the library's front door; the command line is a thin shell over
//! it.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::check::{self, CheckedRule, ParamValues, Piece, Shape, TestInput};
use crate::compile::{self, CompiledRule, MultiRule};
use crate::diag::{Code, Diagnostic, Level, Sources, Span};
use crate::eval::{self, Scope, Trace};
use crate::finding::{Finding, RuleInfo, Severity, SignIn};
use crate::record::{Location, LogCategory, Record};
use crate::syntax::{self, Document};

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

/// Rules that could not be loaded: every diagnostic, with the sources to
/// render them against.
#[derive(Debug)]
pub struct Rejected {
    /// Errors and warnings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The rule files.
    pub sources: Sources,
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

/// Rules that passed checking, not yet compiled, with every diagnostic of
/// reading and checking them (a rule with an error is not among them).
#[derive(Debug)]
pub struct CheckedRules {
    rules: Vec<CheckedRule>,
    diagnostics: Vec<Diagnostic>,
    sources: Sources,
    disabled: Vec<String>,
    severities: Vec<(String, Severity)>,
}

impl CheckedRules {
    /// The rules without errors, in load order (disabled ones included:
    /// they are checked, only not compiled).
    pub fn rules(&self) -> &[CheckedRule] {
        &self.rules
    }

    /// Errors and warnings of reading and checking, sorted by file and
    /// position.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The rule files.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// The rules a run would evaluate, as checked: disabled ones left out,
    /// severity overrides applied; and apart, those waiting for a required
    /// param, with the params they wait for.
    pub fn selected(&self) -> (Vec<CheckedRule>, Vec<(String, Vec<String>)>) {
        let mut ready = Vec::new();
        let mut waiting = Vec::new();
        for rule in &self.rules {
            if self.disabled.iter().any(|d| d == rule.info.id.as_ref()) {
                continue;
            }
            if !rule.waiting.is_empty() {
                waiting.push((rule.info.id.to_string(), rule.waiting.clone()));
                continue;
            }
            let mut rule = rule.clone();
            if let Some((_, sev)) = self
                .severities
                .iter()
                .rev()
                .find(|(id, _)| id == rule.info.id.as_ref())
            {
                rule.info.severity = *sev;
            }
            ready.push(rule);
        }
        (ready, waiting)
    }

    /// Whether some diagnostic is an error, so [`CheckedRules::compile`]
    /// will reject the set.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    /// Compiles the rules (skipping disabled ones, applying severity
    /// overrides). Any error, of checking or compiling, rejects the whole
    /// set; warnings travel with the rules.
    pub fn compile(self) -> Result<RuleSet, Rejected> {
        let (rules, diagnostics) = self.build();
        if diagnostics.iter().any(|d| d.level == Level::Error) {
            return Err(Rejected {
                diagnostics,
                sources: rules.sources,
            });
        }
        Ok(RuleSet {
            warnings: diagnostics,
            ..rules
        })
    }

    /// The rules that compile, and every diagnostic, sorted.
    fn build(self) -> (RuleSet, Vec<Diagnostic>) {
        let CheckedRules {
            rules: checked,
            mut diagnostics,
            sources,
            disabled,
            severities,
        } = self;
        let ids: Vec<&str> = checked.iter().map(|r| r.info.id.as_ref()).collect();
        let unknown_ids = disabled
            .iter()
            .chain(severities.iter().map(|(id, _)| id))
            .filter(|id| !ids.contains(&id.as_str()))
            .cloned()
            .collect();
        let mut rules = Vec::new();
        let mut multi = Vec::new();
        let mut infos = Vec::new();
        let mut waiting = Vec::new();
        let cannot_compile = |e: compile::CompileError| {
            Code::RegexTooLarge
                .error(e.span, "condition cannot be compiled")
                .label(e.message)
                .help("simplify the pattern or split the alternatives")
        };
        let compile_one =
            |rule: CheckedRule, diagnostics: &mut Vec<Diagnostic>| match compile::compile(rule) {
                Ok(r) => Some(r),
                Err(e) => {
                    diagnostics.push(cannot_compile(e));
                    None
                }
            };
        for mut rule in checked {
            if disabled.iter().any(|d| d == rule.info.id.as_ref()) {
                continue;
            }
            if let Some((_, sev)) = severities
                .iter()
                .rev()
                .find(|(id, _)| id == rule.info.id.as_ref())
            {
                rule.info.severity = *sev;
            }
            if rule.waiting.is_empty() {
                let info = rule.info.clone();
                // Multi-record rules are kept apart: single-record
                // evaluation never walks them.
                let compiled = match rule.shape {
                    Shape::Single => compile_one(rule, &mut diagnostics).map(|r| rules.push(r)),
                    _ => match compile::compile_multi(rule) {
                        Ok(r) => {
                            multi.push(r);
                            Some(())
                        }
                        Err(e) => {
                            diagnostics.push(cannot_compile(e));
                            None
                        }
                    },
                };
                if compiled.is_some() {
                    infos.push(info);
                }
                continue;
            }
            let mut cases = Vec::new();
            for mut case in std::mem::take(&mut rule.tests) {
                let with = case.with_params.take().and_then(|mut r| {
                    r.info.severity = rule.info.severity;
                    compile_one(*r, &mut diagnostics)
                });
                cases.push((case, with));
            }
            waiting.push(Waiting {
                info: rule.info,
                params: rule.waiting,
                cases,
            });
        }
        crate::diag::sort(&mut diagnostics, &sources);
        let mut tops = Vec::new();
        for rule in &mut rules {
            compile::intern_tops(&mut rule.root, &mut tops);
        }
        let plans = multi.iter().map(crate::run::multi::Plan::new).collect();
        let set = RuleSet {
            rules,
            multi,
            plans,
            tops,
            infos,
            sources,
            warnings: Vec::new(),
            unknown_ids,
            waiting,
        };
        (set, diagnostics)
    }
}

/// Compiled rules, ready to evaluate records.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    /// Window and sequence rules, which single-record evaluation skips.
    multi: Vec<MultiRule>,
    /// What extraction precomputes for each of `multi`, in its order.
    plans: Vec<crate::run::multi::Plan>,
    /// The top-level fields record-level tests read (see
    /// [`compile::intern_tops`]).
    tops: Vec<(Box<str>, bool)>,
    infos: Vec<RuleInfo>,
    sources: Sources,
    warnings: Vec<Diagnostic>,
    unknown_ids: Vec<String>,
    waiting: Vec<Waiting>,
}

/// A rule that does not run because a required param has no value.
#[derive(Debug)]
pub struct Waiting {
    /// The rule.
    pub info: RuleInfo,
    /// The required params it waits for, sorted.
    pub params: Vec<String>,
    /// Its test cases, each with the rule as the case's `params:` make it,
    /// when they give every param it waits for.
    cases: Vec<(crate::check::TestCase, Option<CompiledRule>)>,
}

/// The outcome of one `tests:` case.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    /// The rule.
    pub rule_id: String,
    /// The rule's file.
    pub source: String,
    /// The case's name.
    pub name: String,
    /// 1-based line of the case.
    pub line: u64,
    /// Whether the case expected a match (for `findings: N`, N > 0).
    pub expect_match: bool,
    /// The case could not be run. Never counted as passed. (Every case
    /// runs in this build.)
    pub not_run: bool,
    /// Whether the rule matched.
    pub matched: bool,
    /// The evaluation trace, for people.
    pub trace: String,
    /// Why the rule could not be evaluated as written, if so.
    pub note: Option<String>,
    /// Why the case was not run, if so: its rule waits for a required
    /// param the case does not give.
    pub skipped: Option<String>,
    /// Where the case is written.
    pub span: Span,
}

impl TestOutcome {
    /// Whether the case passed; a skipped case did not fail.
    pub fn passed(&self) -> bool {
        !self.not_run
            && (self.skipped.is_some()
                || (self.note.is_none() && self.matched == self.expect_match))
    }
}

impl RuleSet {
    /// The single-record rules, in load order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The window and sequence rules, in load order: for each, the checked
    /// spec (keys, span, thresholds, steps) and the compiled matcher of its
    /// `match` (a window) or of each step (a sequence), for the
    /// multi-record engine to feed records through.
    pub fn multi(&self) -> &[MultiRule] {
        &self.multi
    }

    /// What reports show about each rule (single- and multi-record), in
    /// load order.
    pub fn infos(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// The rule files.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Ids given to [`Loader::disable`] or [`Loader::severity`] that name
    /// no rule (likely typos in a config file).
    pub fn unknown_ids(&self) -> &[String] {
        &self.unknown_ids
    }

    /// Warnings found while loading.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The top-level fields evaluation can read: those the rules' conditions
    /// and messages name, and those findings show. Ingest need build no
    /// other field of a record.
    pub fn projection(&self) -> Projection {
        let mut projection = Projection::default();
        let mut add = |path: &crate::catalog::FieldPath| {
            // A keyword search (a `raw.` path of no segment) reads every
            // key of the record.
            projection.everything |= path.is_raw() && path.segments().is_empty();
            if let Some(first) = path.segments().first() {
                if path.is_raw() {
                    projection.raw.insert(first.to_ascii_lowercase());
                } else {
                    projection.fields.insert(first.to_string());
                    projection
                        .paths
                        .insert(path.segments().iter().map(|s| s.to_string()).collect());
                }
            }
        };
        for rule in &self.rules {
            visit_paths(&rule.root, &mut add);
            for piece in &rule.message {
                if let Piece::Field(field) = piece {
                    add(&field.path);
                }
            }
        }
        for rule in &self.multi {
            for step in &rule.steps {
                visit_paths(&step.matcher.root, &mut add);
                for (_, w) in &step.where_ {
                    visit_paths(&w.root, &mut add);
                }
            }
            match &rule.spec {
                compile::MultiSpec::Window(w) => {
                    w.group_by.iter().for_each(|k| add(&k.path));
                    w.distinct.iter().for_each(|(f, _)| add(&f.path));
                }
                compile::MultiSpec::Sequence(seq) => {
                    seq.steps
                        .iter()
                        .flat_map(|s| s.key.iter())
                        .for_each(|k| add(&k.path));
                }
            }
            for piece in &rule.message {
                match piece {
                    Piece::Field(field)
                    | Piece::Distinct(field)
                    | Piece::Step { field, .. }
                    | Piece::Key { field, .. } => add(&field.path),
                    Piece::Text(_) | Piece::Count | Piece::Window(_) => {}
                }
            }
        }
        let identity = [
            "id",
            "requestId",
            "timeGenerated",
            "signInEventTypes",
            "isInteractive",
        ]
        .into_iter()
        .chain(IDENTITY_FIELDS);
        for name in identity {
            projection.fields.insert(name.to_string());
            projection.paths.insert(vec![name.to_string()]);
        }
        projection
    }

    /// Whether any rule reads records of this category.
    pub fn targets(&self, category: &LogCategory) -> bool {
        self.rules.iter().any(|r| r.logs.contains(category))
            || self.multi.iter().any(|r| r.logs.contains(category))
    }

    /// The events of a record for the window and sequence rules that read
    /// its log (nothing when there are none).
    pub(crate) fn extract(&self, record: &Record, location: &Location) -> crate::run::multi::Parts {
        if self.multi.is_empty() {
            return crate::run::multi::Parts::default();
        }
        crate::run::multi::extract(&self.multi, &self.plans, record, location)
    }

    /// Evaluates every rule that reads the record's log, calling `emit` for
    /// each match, in rule order.
    pub fn evaluate(&self, record: &Record, location: &Location, emit: &mut dyn FnMut(Finding)) {
        let tops: Vec<Option<&Value>> = self
            .tops
            .iter()
            .map(|(name, raw)| eval::lookup(&record.fields, name, *raw))
            .collect();
        let scope = Scope::Record(&record.fields, &tops);
        for rule in &self.rules {
            if rule.logs.contains(&record.category) && eval::matches(&rule.root, scope) {
                emit(finding(rule, record, location));
            }
        }
    }

    /// Whether one rule's conditions hold on a record (whatever its log),
    /// by the fast path; `None` for an unknown id.
    pub fn matches(&self, rule_id: &str, record: &Record) -> Option<bool> {
        let rule = self.rules.iter().find(|r| r.info.id.as_ref() == rule_id)?;
        Some(eval::matches(&rule.root, Scope::Fields(&record.fields)))
    }

    /// The trace of one rule on one record, or `None` for an unknown id.
    pub fn explain(&self, rule_id: &str, record: &Record) -> Option<(&CompiledRule, Trace)> {
        let rule = self.rules.iter().find(|r| r.info.id.as_ref() == rule_id)?;
        Some((
            rule,
            eval::explain(&rule.root, Scope::Fields(&record.fields)),
        ))
    }

    /// The failing `tests:` cases as diagnostics, each at its case with the
    /// evaluation trace, so `validate` reports them with the other mistakes.
    pub fn test_diagnostics(&self) -> Vec<Diagnostic> {
        self.run_tests()
            .into_iter()
            .filter(|o| !o.passed())
            .map(|o| {
                if o.not_run {
                    return Code::TestFailed
                        .warning(
                            o.span.clone(),
                            format!("test `{}` of `{}` was not run", o.name, o.rule_id),
                        )
                        .label("this case")
                        .help(o.note.unwrap_or_default());
                }
                let want = if o.expect_match {
                    "a match"
                } else {
                    "no match"
                };
                let got = if o.matched { "a match" } else { "no match" };
                let message = match &o.note {
                    Some(note) => {
                        format!("test `{}` of `{}` cannot run: {note}", o.name, o.rule_id)
                    }
                    None => format!(
                        "test `{}` of `{}` expects {want} but gets {got}",
                        o.name, o.rule_id
                    ),
                };
                Code::TestFailed
                    .error(o.span.clone(), message)
                    .label("this case")
                    .help(format!(
                        "the conditions evaluate as:\n{}",
                        o.trace.trim_end()
                    ))
            })
            .collect()
    }

    /// The rules that do not run because a required param has no value,
    /// in load order.
    pub fn waiting(&self) -> &[Waiting] {
        &self.waiting
    }

    /// Runs every rule's `tests:` cases: those of rules that run (window
    /// and sequence rules through the multi-record engine, as `check` runs
    /// them), then those of rules that wait for a param, against the rule
    /// as the case's `params:` make it, or skipped when they do not give
    /// every param.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        let mut out = Vec::new();
        for rule in &self.rules {
            for case in &rule.tests {
                // A case with `params:` runs against the rule as those
                // values make it, never silently against the defaults.
                let outcome = match &case.with_params {
                    Some(checked) => match compile::compile((**checked).clone()) {
                        Ok(with) => self.run_case(&with, case),
                        Err(e) => TestOutcome {
                            note: Some(format!(
                                "the rule with the case's params does not compile: {e}"
                            )),
                            ..self.case_outcome(&rule.info, case)
                        },
                    },
                    None => self.run_case(rule, case),
                };
                out.push(outcome);
            }
        }
        for rule in &self.multi {
            for case in &rule.tests {
                out.push(self.run_multi_case(rule, case, self.case_outcome(&rule.info, case)));
            }
        }
        for waiting in &self.waiting {
            for (case, with) in &waiting.cases {
                match with {
                    Some(rule) => out.push(self.run_case(rule, case)),
                    None => {
                        let mut outcome = self.case_outcome(&waiting.info, case);
                        let names = waiting.params.join(", ");
                        outcome.skipped = Some(format!(
                            "the rule waits for {} {names}; give {} in the case's `params:`",
                            if waiting.params.len() == 1 {
                                "param"
                            } else {
                                "params"
                            },
                            if waiting.params.len() == 1 {
                                "it"
                            } else {
                                "them"
                            },
                        ));
                        out.push(outcome);
                    }
                }
            }
        }
        out
    }

    /// A case's outcome before it runs.
    fn case_outcome(&self, info: &RuleInfo, case: &crate::check::TestCase) -> TestOutcome {
        let line = self
            .sources
            .line_col(case.span.source, case.span.range.start)
            .0 as u64;
        TestOutcome {
            rule_id: info.id.to_string(),
            source: info.source.clone(),
            name: case.name.clone(),
            line,
            expect_match: case.expect.wants_match(),
            not_run: false,
            matched: false,
            trace: String::new(),
            note: None,
            skipped: None,
            span: case.span.clone(),
        }
    }

    /// Runs one `tests:` case against a rule.
    fn run_case(&self, rule: &CompiledRule, case: &crate::check::TestCase) -> TestOutcome {
        let base = self.case_outcome(&rule.info, case);
        let TestInput::Record { record, log } = &case.input else {
            // check gives single-record rules `record` cases only.
            return TestOutcome {
                note: Some("a rule over one record is tested with `record`".into()),
                ..base
            };
        };
        // A case's record is of the log it names; a case of a rule
        // that reads Graph activity only is a Graph activity record.
        let log = log.as_ref().or_else(|| {
            (rule.logs == [LogCategory::GraphActivity]).then_some(&LogCategory::GraphActivity)
        });
        let record = match log {
            Some(log) => crate::ingest::normalize_as(record.clone(), log),
            None => crate::ingest::normalize(record.clone()),
        };
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                return TestOutcome {
                    note: Some(format!("the test record cannot be read: {e}")),
                    ..base
                };
            }
        };
        let trace = eval::explain(&rule.root, Scope::Fields(&record.fields));
        let in_logs = rule.logs.contains(&record.category);
        let mut text = eval::render_trace(&trace, &rule.conds);
        if !in_logs {
            let logs: Vec<&str> = rule.logs.iter().map(LogCategory::name).collect();
            text = format!(
                "the record is from the {} log, which the rule does not read (logs: {}); add `log:` to the case to set it\n{text}",
                record.category,
                logs.join(", ")
            );
        }
        TestOutcome {
            matched: in_logs && trace.outcome,
            trace: text,
            ..base
        }
    }
}

impl RuleSet {
    /// Runs one `records:` case of a window or sequence rule: each record
    /// normalized (of its `log:`, else inferred), then through the same
    /// extraction and state as `check`, and the findings counted.
    fn run_multi_case(
        &self,
        rule: &MultiRule,
        case: &check::TestCase,
        base: TestOutcome,
    ) -> TestOutcome {
        let TestInput::Records(records) = &case.input else {
            return TestOutcome {
                note: Some("a rule over many records is tested with `records`".into()),
                ..base
            };
        };
        let mut read = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let record = match &r.log {
                Some(log) => crate::ingest::normalize_as(r.record.clone(), log),
                None => crate::ingest::normalize(r.record.clone()),
            };
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    return TestOutcome {
                        note: Some(format!("test record {} cannot be read: {e}", i + 1)),
                        ..base
                    };
                }
            };
            let location = Location {
                path: base.source.as_str().into(),
                line: self.sources.line_col(r.span.source, r.span.range.start).0 as u64,
                record: i as u64,
            };
            read.push((record, location));
        }
        let (findings, untimed) = match crate::run::multi::run_records(rule, &read) {
            Ok(found) => found,
            Err(o) => {
                return TestOutcome {
                    note: Some(format!("{}", o.error)),
                    ..base
                };
            }
        };
        let n = findings.len() as u64;
        let mut trace = format!(
            "{n} {} from {} records",
            if n == 1 { "finding" } else { "findings" },
            read.len()
        );
        if untimed > 0 {
            let _ = write!(
                trace,
                " ({untimed} with no readable time took no part: give each `createdDateTime`, or `timeGenerated` for Graph activity)"
            );
        }
        for f in &findings {
            let _ = write!(trace, "\n  {}", f.message);
        }
        trace.push('\n');
        let (matched, expect_match) = match case.expect {
            check::Expect::Findings(want) => (n == want, true),
            other => (n > 0, other.wants_match()),
        };
        TestOutcome {
            matched,
            expect_match,
            trace,
            ..base
        }
    }
}

/// The top-level fields of a record that evaluation reads (see
/// [`RuleSet::projection`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// Canonical names.
    pub fields: std::collections::BTreeSet<String>,
    /// Keys reached through `raw.`, lower-cased (they match in any case).
    pub raw: std::collections::BTreeSet<String>,
    /// Every canonical path read, in full (`["location", "city"]`); a
    /// list a quantifier walks is read whole.
    pub paths: std::collections::BTreeSet<Vec<String>>,
    /// Some rule reads every key of a record (a Sigma keyword search):
    /// ingest must keep them all.
    pub everything: bool,
}

impl Projection {
    /// Whether evaluation can read a canonical top-level field.
    pub fn wants(&self, canonical: &str) -> bool {
        self.fields.contains(canonical)
    }

    /// The keys ingest must read from records for these fields (see
    /// [`crate::ingest::Keep`]).
    /// (See [`Projection::everything`]: then no key may be left out, and
    /// [`Projection::keep_some`] gives `None`.)
    pub fn keep(&self) -> crate::ingest::Keep {
        crate::ingest::Keep::new(
            self.paths.iter().map(Vec::as_slice),
            self.raw.iter().map(String::as_str),
        )
    }

    /// [`Projection::keep`], or `None` when every key must be read.
    pub fn keep_some(&self) -> Option<crate::ingest::Keep> {
        (!self.everything).then(|| self.keep())
    }

    /// Whether evaluation can read an uncatalogued key.
    pub fn wants_raw(&self, key: &str) -> bool {
        self.raw.iter().any(|r| r.eq_ignore_ascii_case(key))
    }
}

/// Calls `f` on every path the condition reads at its own level (paths
/// inside a quantifier are relative to its list, which is visited).
pub(crate) fn visit_paths(node: &compile::Node, f: &mut dyn FnMut(&crate::catalog::FieldPath)) {
    match node {
        compile::Node::All(children) | compile::Node::Any(children) => {
            children.iter().for_each(|c| visit_paths(c, f));
        }
        compile::Node::Not(child) => visit_paths(child, f),
        compile::Node::Test(test) => f(&test.path),
        compile::Node::Compare(c) => {
            f(&c.path);
            f(&c.other);
        }
        compile::Node::Quant { path, .. } => f(path),
    }
}

/// Builds the finding for a rule that matched a record.
fn finding(rule: &CompiledRule, record: &Record, location: &Location) -> Finding {
    let trace = eval::explain(&rule.root, Scope::Fields(&record.fields));
    let text = |name: &str| match record.fields.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Finding {
        rule_id: rule.info.id.clone(),
        title: rule.info.title.clone(),
        severity: rule.info.severity,
        message: render_message(&rule.message, record),
        location: location.clone(),
        category: record.category.name().to_string(),
        sign_in: SignIn {
            id: record_id(record).map(str::to_string),
            created_date_time: text("createdDateTime").or_else(|| text("timeGenerated")),
            user_principal_name: text("userPrincipalName"),
            ip_address: text("ipAddress"),
            app_display_name: text("appDisplayName"),
            correlation_id: text("correlationId"),
        },
        evidence: eval::evidence(&trace, &rule.conds),
        fingerprint: fingerprint(&rule.info.id, record),
        episode: None,
    }
}

/// Fills a message template from a record; an absent field renders as `-`.
pub fn render_message(pieces: &[Piece], record: &Record) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            // Only multi-record findings fill these.
            Piece::Count
            | Piece::Window(_)
            | Piece::Distinct(_)
            | Piece::Step { .. }
            | Piece::Key { .. } => out.push('-'),
            Piece::Field(field) => {
                let mut parts: Vec<String> = Vec::new();
                record.visit(&field.path, &mut |v| {
                    parts.push(match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                    false
                });
                parts.retain(|p| !p.is_empty());
                if parts.is_empty() {
                    out.push('-');
                } else {
                    out.push_str(&parts.join(", "));
                }
            }
        }
    }
    out
}

/// The fields that identify a sign-in when its record has no id.
pub const IDENTITY_FIELDS: [&str; 8] = [
    "createdDateTime",
    "userPrincipalName",
    "userId",
    "ipAddress",
    "appId",
    "appDisplayName",
    "correlationId",
    "servicePrincipalId",
];

/// The record's own identifier: a sign-in's `id`, a Graph call's
/// `requestId`.
fn record_id(record: &Record) -> Option<&str> {
    ["id", "requestId"].into_iter().find_map(|name| {
        record
            .fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    })
}

/// A fingerprint that depends only on the rule and the record, never on
/// where or how the record was written: the rule, the log, and the record's
/// id (a sign-in's `id`, a Graph call's `requestId`), or when the record
/// has none, its identity fields ([`IDENTITY_FIELDS`]).
pub fn fingerprint(rule_id: &str, record: &Record) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0]);
    hasher.update(record.category.name().as_bytes());
    hasher.update([0]);
    let text = |name: &str| match record.fields.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    match record_id(record) {
        Some(id) => {
            hasher.update(b"id\0");
            hasher.update(id.as_bytes());
        }
        None => {
            hasher.update(b"identity\0");
            for name in IDENTITY_FIELDS {
                hasher.update(text(name).as_bytes());
                hasher.update([0]);
            }
        }
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(32);
    for byte in digest.iter().take(16) {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"
id: EX-001
title: Legacy IMAP sign-in
severity: high
match:
  clientAppUsed: IMAP4
  ipAddress: { cidr: [10.0.0.0/8, 192.0.2.1] }
"#;

    #[test]
    fn checked_rules_are_there_before_compiling() {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", RULE);
        let checked = loader.check();
        assert!(!checked.has_errors());
        assert_eq!(checked.rules().len(), 1);
        assert_eq!(checked.rules()[0].info.id.as_ref(), "EX-001");
        let set = checked.compile().unwrap_or_else(|_| unreachable!());
        assert_eq!(set.rules().len(), 1);
    }

    #[test]
    fn checked_rules_with_errors_do_not_compile() {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", "id: EX-002\ntitle: t\nseverity: high\n");
        let checked = loader.check();
        assert!(checked.has_errors());
        assert!(checked.rules().is_empty());
        let rejected = checked.compile().err().unwrap_or_else(|| unreachable!());
        assert_eq!(rejected.diagnostics[0].kind(), Some(Code::MissingKey));
    }

    const WAITING: &str = r#"
id: EX-003
title: Unexpected issuer
severity: medium
params:
  issuers: { type: list, required: true }
match:
  tokenIssuerType: ADFederationServices
  not:
    tokenIssuerName: $issuers
tests:
  - name: an issuer not listed
    expect: match
    params: { issuers: [sts.contoso.com] }
    record: { tokenIssuerType: ADFederationServices, tokenIssuerName: idp.example }
  - name: a listed issuer
    expect: no-match
    params: { issuers: sts.contoso.com }
    record: { tokenIssuerType: ADFederationServices, tokenIssuerName: sts.contoso.com }
  - name: no params given
    expect: match
    record: { tokenIssuerType: ADFederationServices, tokenIssuerName: idp.example }
"#;

    #[test]
    fn a_rule_with_an_unset_required_param_waits_and_its_cases_run_with_their_params() {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", WAITING);
        let set = loader
            .load()
            .unwrap_or_else(|r| panic!("{:?}", r.diagnostics));
        assert!(set.rules().is_empty() && set.infos().is_empty());
        assert_eq!(set.waiting().len(), 1);
        assert_eq!(set.waiting()[0].params, ["issuers"]);
        let outcomes = set.run_tests();
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes[0].passed() && outcomes[0].skipped.is_none());
        assert!(outcomes[0].matched);
        assert!(outcomes[1].passed() && !outcomes[1].matched);
        assert!(
            outcomes[2]
                .skipped
                .as_deref()
                .is_some_and(|s| s.contains("issuers"))
        );

        let mut loader = Loader::new();
        loader.add_source("rules.yaml", WAITING);
        loader.param("issuers", "sts.contoso.com");
        let set = loader
            .load()
            .unwrap_or_else(|r| panic!("{:?}", r.diagnostics));
        assert_eq!(set.rules().len(), 1);
        assert!(set.waiting().is_empty());
        assert!(set.run_tests().iter().all(TestOutcome::passed));
    }

    #[test]
    fn a_required_param_with_a_default_is_an_error() {
        let mut loader = Loader::new();
        loader.add_source(
            "rules.yaml",
            "id: EX-004\ntitle: t\nseverity: low\nparams:\n  apps: { type: list, required: true, default: [a] }\nmatch:\n  appId: $apps\n",
        );
        let rejected = loader.load().err().unwrap_or_else(|| unreachable!());
        assert_eq!(rejected.diagnostics[0].kind(), Some(Code::BadParam));
        assert!(
            rejected.diagnostics[0]
                .message
                .contains("required and has a default")
        );
    }
}
