//! [`CheckedRules`]: rules that passed checking, before compiling, and
//! their compilation into a [`RuleSet`].

use crate::check::{CheckedRule, Shape};
use crate::compile;
use crate::diag::{Code, Diagnostic, Level, Sources};
use crate::finding::Severity;

use super::rule_set::{RuleSet, Waiting};

/// Rules that could not be loaded: every diagnostic, with the sources to
/// render them against.
#[derive(Debug)]
pub struct Rejected {
    /// Errors and warnings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The rule files.
    pub sources: Sources,
}

/// Rules that passed checking, not yet compiled, with every diagnostic of
/// reading and checking them (a rule with an error is not among them).
#[derive(Debug)]
pub struct CheckedRules {
    pub(super) rules: Vec<CheckedRule>,
    pub(super) diagnostics: Vec<Diagnostic>,
    pub(super) sources: Sources,
    pub(super) disabled: Vec<String>,
    pub(super) severities: Vec<(String, Severity)>,
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

    /// The ids given to disable that name a rule here: the rules left out.
    pub fn disabled(&self) -> Vec<String> {
        self.disabled
            .iter()
            .filter(|id| self.rules.iter().any(|r| r.info.id.as_ref() == id.as_str()))
            .cloned()
            .collect()
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
    pub(super) fn build(self) -> (RuleSet, Vec<Diagnostic>) {
        let left_out = self.disabled();
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
        // One index and one set of interned fields serve the single-record
        // rules and the steps of the multi-record rules: a record's fields
        // are looked up once for all of them.
        let mut tops = Vec::new();
        let steps = multi.iter_mut().flat_map(|m| m.steps.iter_mut());
        let roots = rules.iter_mut().map(|r| &mut r.root);
        for root in roots.chain(steps.map(|s| &mut s.matcher.root)) {
            compile::intern_tops(root, &mut tops);
        }
        let first_step = multi
            .iter()
            .scan(rules.len(), |next, m| {
                let first = *next;
                *next += m.steps.len();
                Some(first)
            })
            .collect();
        let plans = crate::run::multi::Plan::for_rules(&multi);
        let steps = multi.iter().flat_map(|m| m.steps.iter());
        let index = super::index::RuleIndex::new(
            rules.iter().map(|r| (&r.root, &r.logs[..])),
            steps.map(|s| &s.matcher.root),
        );
        let set = RuleSet {
            index,
            first_step,
            rules,
            multi,
            plans,
            tops: crate::record::Names::new(tops),
            infos,
            sources,
            warnings: Vec::new(),
            unknown_ids,
            disabled: left_out,
            waiting,
        };
        (set, diagnostics)
    }
}
