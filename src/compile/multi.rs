//! Window and sequence rules: the checked spec with one program per step
//! (and per earlier step a `where` reads, and a step's `travel`).

use super::lower::{CompileError, lower, optimize};
use super::node::{CondInfo, Node};
use super::travel::TravelTest;
use crate::check::{CheckedRule, Cond, Piece, Sequence, Shape, TestCase, Window};
use crate::finding::RuleInfo;
use crate::record::LogCategory;

/// A condition compiled alone: which records take part in a window, or
/// are of a sequence step.
#[derive(Debug, Clone)]
pub struct Program {
    /// The logs its records come from.
    pub logs: Vec<LogCategory>,
    /// The condition.
    pub root: Node,
    /// Its conditions, by [`CondId`](super::CondId).
    pub conds: Vec<CondInfo>,
}

impl Program {
    fn new(logs: Vec<LogCategory>, cond: &Cond) -> Result<Program, CompileError> {
        let mut conds = Vec::new();
        let root = lower(cond, &mut conds)?;
        Ok(Program {
            logs,
            root: optimize(root, &mut conds),
            conds,
        })
    }

    /// Whether a record is of one of the logs and passes the condition.
    pub fn matches(&self, record: &crate::record::Record) -> bool {
        self.logs.contains(&record.category)
            && crate::eval::matches(&self.root, crate::eval::Scope::Record(&record.fields, None))
    }
}

/// A multi-record rule: its checked window or sequence, with the
/// single-record matchers that say which records take part.
#[derive(Debug, Clone)]
pub struct MultiRule {
    /// What reports show about it.
    pub info: RuleInfo,
    /// Every log it reads.
    pub logs: Vec<LogCategory>,
    /// The window or sequence, as checked (keys, span, thresholds, steps).
    pub spec: MultiSpec,
    /// For a window, one matcher (its `match`); for a sequence, one per
    /// step in step order (its `match`, ANDed with the rule's).
    pub steps: Vec<StepProgram>,
    /// Its message template.
    pub message: Vec<Piece>,
    /// Its test cases.
    pub tests: Vec<TestCase>,
}

/// The checked spec of a multi-record rule.
#[derive(Debug, Clone, PartialEq)]
pub enum MultiSpec {
    /// A `window:`.
    Window(Window),
    /// A `sequence:`.
    Sequence(Sequence),
}

/// The matchers of one step (or of a window's `match`).
#[derive(Debug, Clone)]
pub struct StepProgram {
    /// The step's name; `None` for a window.
    pub name: Option<String>,
    /// Which records are of the step.
    pub matcher: Program,
    /// The step's `where`, one program per earlier step it reads, by that
    /// step's index: a pair of records (this step's, the earlier step's)
    /// satisfies the `where` when every program for the earlier step holds
    /// ([`StepProgram::holds_with`]). The conditions of a `where` that read
    /// no other step are in `matcher`.
    pub where_: Vec<(usize, Program)>,
    /// The step's `travel`, from the earlier step it names: a pair of
    /// records (this step's, the earlier step's) must also meet it.
    pub travel: Option<TravelTest>,
}

impl StepProgram {
    /// Whether this step's record and a record of the earlier step
    /// `earlier` (by index) satisfy the step's `where` (true when it says
    /// nothing of that step), as the window engine's `Where` asks.
    pub fn holds_with(
        &self,
        earlier: usize,
        record: &crate::record::Record,
        other: &crate::record::Record,
    ) -> bool {
        use crate::eval::Scope;
        self.where_
            .iter()
            .filter(|(i, _)| *i == earlier)
            .all(|(_, p)| {
                crate::eval::matches_with_steps(
                    &p.root,
                    Scope::Record(&record.fields, None),
                    &|_| vec![Scope::Record(&other.fields, None)],
                )
            })
    }
}

/// Compiles a window or sequence rule; `Err` also for a single-record rule
/// given by mistake.
pub fn compile_multi(rule: CheckedRule) -> Result<MultiRule, CompileError> {
    let (spec, steps) = match rule.shape {
        Shape::Single => {
            return Err(CompileError {
                span: rule.span,
                message: "a single-record rule is compiled by `compile`".into(),
            });
        }
        Shape::Window(w) => {
            let step = StepProgram {
                name: None,
                matcher: Program::new(rule.logs.clone(), &rule.cond)?,
                where_: Vec::new(),
                travel: None,
            };
            (MultiSpec::Window(w), vec![step])
        }
        Shape::Sequence(seq) => {
            let index = |name: &str| seq.steps.iter().position(|s| s.name == name);
            let mut steps = Vec::new();
            for step in &seq.steps {
                // Split the `where` by the earlier step each conjunct reads;
                // those that read none test the step's own record.
                let mut own = vec![step.cond.clone()];
                let mut by_step: Vec<(usize, Vec<Cond>)> = Vec::new();
                for part in step.where_.iter().flat_map(Cond::conjuncts) {
                    match part.steps_read().first().and_then(|s| index(s)) {
                        Some(i) => match by_step.iter_mut().find(|(j, _)| *j == i) {
                            Some((_, parts)) => parts.push(part.clone()),
                            None => by_step.push((i, vec![part.clone()])),
                        },
                        None => own.push(part.clone()),
                    }
                }
                let matcher = match own.len() {
                    1 => Program::new(step.logs.clone(), &step.cond)?,
                    _ => Program::new(step.logs.clone(), &Cond::All(own))?,
                };
                let where_ = by_step
                    .into_iter()
                    .map(|(i, parts)| Ok((i, Program::new(step.logs.clone(), &Cond::All(parts))?)))
                    .collect::<Result<Vec<_>, CompileError>>()?;
                let travel = match &step.travel {
                    Some(t) => Some(TravelTest {
                        from: index(&t.from).ok_or_else(|| CompileError {
                            span: t.span.clone(),
                            message: format!("`travel` is from an unknown step `{}`", t.from),
                        })?,
                        kmh: t.kmh.clone(),
                        km: t.km.clone(),
                    }),
                    None => None,
                };
                steps.push(StepProgram {
                    name: Some(step.name.clone()),
                    matcher,
                    where_,
                    travel,
                });
            }
            (MultiSpec::Sequence(seq), steps)
        }
    };
    Ok(MultiRule {
        info: rule.info,
        logs: rule.logs,
        spec,
        steps,
        message: rule.message,
        tests: rule.tests,
    })
}
