//! The checked rule as plain data: what [`super::check`] gives and compile
//! takes. Conditions name resolved fields and hold typed constants; spans
//! are kept so later stages can point at the rule text.

use ipnet::IpNet;
use regex::Regex;

use super::pattern::RegexError;
use crate::catalog::Resolved;
use crate::diag::Span;
use crate::finding::RuleInfo;
use crate::record::LogCategory;

/// Comparison operators of a field condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Equals.
    Eq,
    /// Does not equal.
    Ne,
    /// Equals one of.
    In,
    /// Equals none of.
    NotIn,
    /// Contains a substring.
    Contains,
    /// Starts with.
    StartsWith,
    /// Ends with.
    EndsWith,
    /// Matches a regular expression.
    Matches,
    /// Is present (or absent, with `false`).
    Exists,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// IP address in a range.
    Cidr,
}

impl Op {
    /// Every operator with its name in rules.
    pub const ALL: [(&'static str, Op); 14] = [
        ("eq", Op::Eq),
        ("ne", Op::Ne),
        ("in", Op::In),
        ("notIn", Op::NotIn),
        ("contains", Op::Contains),
        ("startsWith", Op::StartsWith),
        ("endsWith", Op::EndsWith),
        ("matches", Op::Matches),
        ("exists", Op::Exists),
        ("gt", Op::Gt),
        ("gte", Op::Gte),
        ("lt", Op::Lt),
        ("lte", Op::Lte),
        ("cidr", Op::Cidr),
    ];

    /// The operator's name in rules.
    pub fn name(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(n, _)| n)
    }

    pub(super) fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
    }

    /// Whether the operator takes a list of values (any of which may match).
    pub(super) fn takes_list(self) -> bool {
        matches!(
            self,
            Op::In | Op::NotIn | Op::Contains | Op::StartsWith | Op::EndsWith | Op::Cidr
        )
    }
}

/// Quantifiers over a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// Some element satisfies the condition.
    Any,
    /// Every element does (true for an empty list).
    All,
    /// No element does (true for an empty list).
    None,
}

impl Quantifier {
    /// The quantifier's name in rules.
    pub fn name(self) -> &'static str {
        match self {
            Quantifier::Any => "any",
            Quantifier::All => "all",
            Quantifier::None => "none",
        }
    }
}

/// A typed constant of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    /// Text (for date-time fields, normalized to the record's form).
    Str(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
}

impl Const {
    /// The constant as JSON, for evidence.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Const::Str(s) => serde_json::Value::from(s.as_str()),
            Const::Int(i) => serde_json::Value::from(*i),
            // A whole number reads as one: `gt 100`, not `gt 100.0`.
            Const::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => {
                serde_json::Value::from(*n as i64)
            }
            Const::Num(n) => serde_json::Value::from(*n),
            Const::Bool(b) => serde_json::Value::from(*b),
        }
    }
}

/// A condition on one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Pred {
    /// The field.
    pub field: Resolved,
    /// The operator.
    pub op: Op,
    /// The constants (one for scalar operators; any may match for lists).
    pub values: Vec<Const>,
    /// Compare strings with case.
    pub case_sensitive: bool,
    /// What check parsed from the constants, so compile never reads them
    /// again.
    pub prepared: Prepared,
    /// Where the condition was written.
    pub span: Span,
}

/// The constants of a condition as its operator needs them, built once by
/// check.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// The constants themselves are enough (`eq`, `in`, `exists`, `gt`...).
    Values,
    /// `cidr`: every range, in the order written (none dropped: a range
    /// that does not parse is an error in check).
    Nets(Vec<IpNet>),
    /// `contains`, `startsWith`, `endsWith`, `matches`: one regex for all
    /// the alternatives. Each alternative was accepted alone; their union
    /// can still exceed the size limit, and that is kept here rather than
    /// reported by check because it only matters for a rule that is loaded
    /// (a disabled rule with such a union is no error).
    Regex(Result<Regex, RegexError>),
}

impl PartialEq for Prepared {
    fn eq(&self, other: &Prepared) -> bool {
        match (self, other) {
            (Prepared::Values, Prepared::Values) => true,
            (Prepared::Nets(a), Prepared::Nets(b)) => a == b,
            // Regexes have no equality; the same pattern text is the same
            // regex, as the case rule is part of the condition too.
            (Prepared::Regex(a), Prepared::Regex(b)) => match (a, b) {
                (Ok(a), Ok(b)) => a.as_str() == b.as_str(),
                (Err(a), Err(b)) => a == b,
                _ => false,
            },
            _ => false,
        }
    }
}

/// A checked condition tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Every child holds (true when empty).
    All(Vec<Cond>),
    /// Some child holds.
    Any(Vec<Cond>),
    /// The child does not hold.
    Not(Box<Cond>),
    /// A field condition.
    Pred(Pred),
    /// A condition over the elements of a list.
    Quant {
        /// any, all or none.
        quantifier: Quantifier,
        /// The list field.
        field: Resolved,
        /// The condition on each element (field paths relative to it).
        inner: Box<Cond>,
        /// Where it was written.
        span: Span,
    },
}

/// A piece of a message template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A field's value (`-` when absent).
    Field(Resolved),
}

/// One `tests:` case of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// The case's name.
    pub name: String,
    /// Whether the rule should match.
    pub expect_match: bool,
    /// The record, as JSON in any supported shape.
    pub record: serde_json::Value,
    /// The log the record is from, when the case says so.
    pub log: Option<LogCategory>,
    /// Param values the case gives (its `params:`), by name.
    pub params: Vec<(String, Vec<String>)>,
    /// For a rule that waits for a required param: the rule checked again
    /// with the case's `params:`, when they give every param it waits for.
    /// The case runs against it; without it, the case is skipped.
    pub with_params: Option<Box<CheckedRule>>,
    /// Where the case was written.
    pub span: Span,
}

/// A rule that passed checking.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRule {
    /// What reports show about the rule.
    pub info: RuleInfo,
    /// The logs it reads.
    pub logs: Vec<LogCategory>,
    /// Its condition.
    pub cond: Cond,
    /// Its message template.
    pub message: Vec<Piece>,
    /// Its test cases.
    pub tests: Vec<TestCase>,
    /// Required params that have no value (sorted): while any is left the
    /// rule does not run, and only its cases that give them are evaluated.
    pub waiting: Vec<String>,
    /// The span of its `id` value.
    pub span: Span,
}
