//! Running the rules' own `tests:` cases ([`RuleSet::run_tests`]) into
//! [`TestOutcome`]s, and failing cases as diagnostics.

use std::fmt::Write as _;

use crate::check::{self, TestInput};
use crate::compile::{self, CompiledRule, MultiRule};
use crate::diag::{Code, Diagnostic, Span};
use crate::eval::{self, Scope};
use crate::finding::RuleInfo;
use crate::record::{Location, LogCategory};

use super::rule_set::RuleSet;

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
    /// For a case that expects a number of findings (`findings: N`): the
    /// number expected and the number found.
    pub counted: Option<(u64, u64)>,
}

impl TestOutcome {
    /// What a failed case expected and got, for people: `expected a match,
    /// got no match`, `expected 1 finding, got 2`.
    pub fn verdict(&self) -> String {
        let findings = |n: u64| format!("{n} {}", if n == 1 { "finding" } else { "findings" });
        if let Some((want, got)) = self.counted {
            return format!("expected {}, got {}", findings(want), findings(got));
        }
        let said = |m: bool| if m { "a match" } else { "no match" };
        format!(
            "expected {}, got {}",
            said(self.expect_match),
            said(self.matched)
        )
    }

    /// Whether the case passed; a skipped case did not fail.
    pub fn passed(&self) -> bool {
        !self.not_run
            && (self.skipped.is_some()
                || (self.note.is_none() && self.matched == self.expect_match))
    }
}

impl RuleSet {
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
                let base = self.case_outcome(&rule.info, case);
                // As above: a case with `params:` runs against the rule as
                // those values make it (a span, a bound).
                let outcome = match &case.with_params {
                    Some(checked) => match compile::compile_multi((**checked).clone()) {
                        Ok(with) => self.run_multi_case(&with, case, base),
                        Err(e) => TestOutcome {
                            note: Some(format!(
                                "the rule with the case's params does not compile: {e}"
                            )),
                            ..base
                        },
                    },
                    None => self.run_multi_case(rule, case, base),
                };
                out.push(outcome);
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
            counted: None,
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
        let trace = eval::explain(&rule.root, Scope::Record(&record.fields, None));
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
            Err(e) => {
                let note = match e {
                    crate::run::multi::MultiError::Limit(o) => o.error.to_string(),
                    other => other.to_string(),
                };
                return TestOutcome {
                    note: Some(note),
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
        let (matched, expect_match, counted) = match case.expect {
            check::Expect::Findings(want) => (n == want, true, Some((want, n))),
            other => (n > 0, other.wants_match(), None),
        };
        TestOutcome {
            matched,
            expect_match,
            trace,
            counted,
            ..base
        }
    }
}
