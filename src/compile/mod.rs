//! Compile: checked rules → matcher programs.
//!
//! Takes [`CheckedRule`]s and gives [`CompiledRule`]s whose conditions are a
//! tree of [`Node`]s over resolved field paths: regexes and IP ranges as
//! check built them (compile parses neither), constant strings case-folded
//! once, numbers and date-times parsed once, and alternatives on one field
//! merged into one set. The program keeps no spans; each test carries a [`CondId`]
//! into a side table of [`CondInfo`] for evidence and traces.

mod lower;
mod matcher;
mod multi;
mod node;
pub mod travel;

pub use lower::CompileError;
pub(crate) use matcher::Constants;
pub use matcher::Matcher;
pub use matcher::ValueSet;
pub(crate) use matcher::text;
pub use multi::{MultiRule, MultiSpec, StepProgram, compile_multi};
pub(crate) use node::visit_paths;
pub use node::{Compare, CondId, CondInfo, Node, RefOp, Test, intern_tops};

use crate::check::{CheckedRule, Piece, TestCase};
use crate::finding::RuleInfo;
use crate::record::LogCategory;
use lower::{lower, optimize};

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// What reports show about it.
    pub info: RuleInfo,
    /// The logs it reads.
    pub logs: Vec<LogCategory>,
    /// Its condition.
    pub root: Node,
    /// Its conditions, by [`CondId`].
    pub conds: Vec<CondInfo>,
    /// Its message template.
    pub message: Vec<Piece>,
    /// Its test cases.
    pub tests: Vec<TestCase>,
}

/// Compiles a checked rule. Every regex and range was built by check; the
/// one failure left is a condition whose alternatives were each accepted
/// but together are over the size limit, which check kept for here.
pub fn compile(rule: CheckedRule) -> Result<CompiledRule, CompileError> {
    let mut conds = Vec::new();
    let root = lower(&rule.cond, &mut conds)?;
    Ok(CompiledRule {
        info: rule.info,
        logs: rule.logs,
        root: optimize(root, &mut conds),
        conds,
        message: rule.message,
        tests: rule.tests,
    })
}
