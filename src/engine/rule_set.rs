//! The [`RuleSet`]: compiled rules, what evaluation reads of a record
//! ([`Projection`]), and evaluating records into findings.

use crate::check::Piece;
use crate::compile::{self, CompiledRule, MultiRule};
use crate::diag::{Diagnostic, Sources};
use crate::eval::{self, Scope, Trace};
use crate::finding::{Finding, RuleInfo};
use crate::record::{Location, LogCategory, Record};

use super::finding::{IDENTITY_FIELDS, finding};
use super::index::RuleIndex;

/// Compiled rules, ready to evaluate records.
#[derive(Debug)]
pub struct RuleSet {
    pub(super) rules: Vec<CompiledRule>,
    /// Window and sequence rules, which single-record evaluation skips.
    pub(super) multi: Vec<MultiRule>,
    /// What extraction precomputes for each of `multi`, in its order.
    pub(super) plans: Vec<crate::run::multi::Plan>,
    /// The top-level fields record-level tests read (see
    /// [`compile::intern_tops`]).
    pub(super) tops: crate::record::Names,
    /// Which of `rules`, and of the steps of `multi`, a record can match,
    /// told by the sets they require: rule `i` is entry `i`, the steps of
    /// multi-record rule `m` are the entries from `first_step[m]` on.
    pub(super) index: RuleIndex,
    pub(super) first_step: Vec<usize>,
    pub(super) infos: Vec<RuleInfo>,
    pub(super) sources: Sources,
    pub(super) warnings: Vec<Diagnostic>,
    pub(super) unknown_ids: Vec<String>,
    /// The ids of the rules left out by [`Loader::disable`](crate::Loader::disable).
    pub(super) disabled: Vec<String>,
    pub(super) waiting: Vec<Waiting>,
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
    pub(super) cases: Vec<(crate::check::TestCase, Option<CompiledRule>)>,
}

/// `ID waits for param NAME (set it with --param or in tollgate.yaml)`:
/// the note on a rule that does not run until its params are set.
pub fn waits_for(id: &str, params: &[String]) -> String {
    use crate::diag::plural;
    format!(
        "{id} waits for {} {} (set {} with --param or in {})",
        plural(params.len(), "param", "params"),
        params.join(", "),
        plural(params.len(), "it", "them"),
        crate::config::FILE_NAME
    )
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

    /// Ids given to [`Loader::disable`](crate::Loader::disable) or
    /// [`Loader::severity`](crate::Loader::severity) that name
    /// no rule (likely typos in a config file).
    pub fn unknown_ids(&self) -> &[String] {
        &self.unknown_ids
    }

    /// The ids of the rules that were loaded and then left out by
    /// [`Loader::disable`](crate::Loader::disable) (or a config's
    /// `disable:`).
    pub fn disabled(&self) -> &[String] {
        &self.disabled
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
            compile::visit_paths(&rule.root, &mut add);
            for piece in &rule.message {
                if let Piece::Field(field) = piece {
                    add(&field.path);
                }
            }
        }
        for rule in &self.multi {
            for step in &rule.steps {
                compile::visit_paths(&step.matcher.root, &mut add);
                for (_, w) in &step.where_ {
                    compile::visit_paths(&w.root, &mut add);
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
            // A step that travels, and the step it travels from, read the
            // coordinates of their records.
            if rule.steps.iter().any(|s| s.travel.is_some()) {
                for name in ["latitude", "longitude"] {
                    add(&crate::catalog::FieldPath::new(
                        ["location", "geoCoordinates", name],
                        false,
                    ));
                }
            }
            for piece in &rule.message {
                match piece {
                    Piece::Field(field)
                    | Piece::Distinct(field)
                    | Piece::Step { field, .. }
                    | Piece::Key { field, .. } => add(&field.path),
                    Piece::Text(_) | Piece::Count | Piece::Window(_) | Piece::Travel(_) => {}
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

    /// Evaluates every rule that reads the record's log, calling `emit` for
    /// each match, in rule order.
    pub fn evaluate(&self, record: &Record, location: &Location, emit: &mut dyn FnMut(Finding)) {
        self.evaluate_with(record, location, emit, false);
    }

    /// [`RuleSet::evaluate`], then the record's events for the window and
    /// sequence rules that read its log (nothing when there are none).
    pub(crate) fn evaluate_and_extract(
        &self,
        record: &Record,
        location: &Location,
        emit: &mut dyn FnMut(Finding),
    ) -> crate::run::multi::Parts {
        self.evaluate_with(record, location, emit, true)
    }

    /// Which steps of each window and sequence rule (bit `i` for step `i`;
    /// a window's `match` is step 0) a record is of, as a run finds them:
    /// through the index of required sets the single-record rules share.
    pub fn steps_of(&self, record: &Record) -> Vec<u64> {
        let tops = eval::Tops::new(&self.tops, &record.fields);
        let scope = Scope::Record(&record.fields, Some(&tops));
        let mut hits = self.index.hits();
        (self.multi.iter().enumerate())
            .map(|(m, rule)| {
                (rule.steps.iter().enumerate())
                    .filter(|(s, step)| self.step_holds(m, *s, step, record, scope, &mut hits))
                    .fold(0, |bits, (s, _)| bits | 1 << s)
            })
            .collect()
    }

    fn evaluate_with(
        &self,
        record: &Record,
        location: &Location,
        emit: &mut dyn FnMut(Finding),
        multi: bool,
    ) -> crate::run::multi::Parts {
        let tops = eval::Tops::new(&self.tops, &record.fields);
        let scope = Scope::Record(&record.fields, Some(&tops));
        let mut hits = self.index.hits();
        let rules = &self.rules;
        self.index
            .candidates(&record.category, scope, &mut hits, &mut |i, hits| {
                if let Some(rule) = rules.get(i)
                    && self.index.holds(i, scope, hits)
                {
                    emit(finding(rule, record, location));
                }
            });
        if !multi || self.multi.is_empty() {
            return crate::run::multi::Parts::default();
        }
        crate::run::multi::extract_with(
            &self.multi,
            &self.plans,
            record,
            location,
            &mut |m, s, step| self.step_holds(m, s, step, record, scope, &mut hits),
        )
    }

    /// Whether `record` is of step `s` of multi-record rule `m`, asked of
    /// the index with the fields `scope` and `hits` hold of the record.
    fn step_holds(
        &self,
        m: usize,
        s: usize,
        step: &compile::StepProgram,
        record: &Record,
        scope: Scope<'_>,
        hits: &mut super::index::Hits,
    ) -> bool {
        if !step.matcher.logs.contains(&record.category) {
            return false;
        }
        match self.first_step.get(m) {
            Some(first) => self.index.holds(first + s, scope, hits),
            // Every step has its entry; without one, the plain way.
            None => step.matcher.matches(record),
        }
    }

    /// Whether one rule's conditions hold on a record (whatever its log),
    /// by the fast path; `None` for an unknown id.
    pub fn matches(&self, rule_id: &str, record: &Record) -> Option<bool> {
        let rule = self.rules.iter().find(|r| r.info.id.as_ref() == rule_id)?;
        Some(eval::matches(
            &rule.root,
            Scope::Record(&record.fields, None),
        ))
    }

    /// The trace of one rule on one record, or `None` for an unknown id.
    pub fn explain(&self, rule_id: &str, record: &Record) -> Option<(&CompiledRule, Trace)> {
        let rule = self.rules.iter().find(|r| r.info.id.as_ref() == rule_id)?;
        Some((
            rule,
            eval::explain(&rule.root, Scope::Record(&record.fields, None)),
        ))
    }

    /// The rules that do not run because a required param has no value,
    /// in load order.
    pub fn waiting(&self) -> &[Waiting] {
        &self.waiting
    }

    /// Every rule loaded: those that run ([`RuleSet::infos`]), then those
    /// that wait for a param ([`RuleSet::waiting`]).
    pub fn all_infos(&self) -> impl Iterator<Item = &RuleInfo> {
        self.infos()
            .iter()
            .chain(self.waiting.iter().map(|w| &w.info))
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
    /// list a quantifier walks, as far as the conditions on its elements
    /// read it.
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
