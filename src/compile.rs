//! Compile: checked rules → matcher programs.
//!
//! Takes [`CheckedRule`]s and gives [`CompiledRule`]s whose conditions are a
//! tree of [`Node`]s over resolved field paths: regexes and IP ranges as
//! check built them (compile parses neither), constant strings case-folded
//! once, numbers and date-times parsed once, and alternatives on one field
//! merged into one set. The program keeps no spans; each test carries a [`CondId`]
//! into a side table of [`CondInfo`] for evidence and traces.

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;
use rustc_hash::FxHashSet;
use serde_json::Value;

use crate::catalog::FieldPath;
use crate::check::{
    CheckedRule, Cond, Const, Op, Piece, Pred, Prepared, Quantifier, Sequence, Shape, TestCase,
    Window,
};
use crate::diag::Span;
use crate::finding::RuleInfo;
use crate::record::LogCategory;

/// Index of a condition in its rule's [`CondInfo`] table.
pub type CondId = usize;

/// What a condition was, for evidence and traces.
#[derive(Debug, Clone, PartialEq)]
pub struct CondInfo {
    /// The condition as a person reads it: `status.errorCode eq 0`.
    pub text: String,
    /// The field path, relative to the list element inside `any`/`all`/`none`.
    pub field: String,
    /// The operator (or quantifier) name.
    pub op: &'static str,
    /// The constant(s) compared against.
    pub expected: Value,
    /// Where it was written.
    pub span: Span,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Node {
    /// Every child holds.
    All(Box<[Node]>),
    /// Some child holds.
    Any(Box<[Node]>),
    /// The child does not hold.
    Not(Box<Node>),
    /// A test on the values at a path.
    Test(Box<Test>),
    /// A comparison of the values at two paths (`{ field: PATH }`).
    Compare(Box<Compare>),
    /// A condition over the elements of a list.
    Quant {
        /// any, all or none.
        quantifier: Quantifier,
        /// The list.
        path: FieldPath,
        /// The condition on each element.
        inner: Box<Node>,
        /// Its entry in the rule's condition table.
        id: CondId,
    },
}

/// A test on the values found at one path: it holds when some value passes.
#[derive(Debug, Clone)]
pub struct Test {
    /// Where the values are.
    pub path: FieldPath,
    /// What a value must be.
    pub matcher: Matcher,
    /// Its entry in the rule's condition table.
    pub id: CondId,
    /// For a test on a record's own fields (not inside a quantifier): the
    /// index of its top-level field among those a rule set looks up once
    /// per record (set by [`intern_tops`]).
    pub top: Option<usize>,
    /// An object or a list at the path is tested as its compact JSON text
    /// ([`crate::check::Pred::as_text`]).
    pub as_text: bool,
}

/// A comparison of two fields: it holds when some value at `path` passes
/// against the values at `other` (see [`RefOp`]); both must be present.
#[derive(Debug, Clone)]
pub struct Compare {
    /// The field tested.
    pub path: FieldPath,
    /// The field it is compared with.
    pub other: FieldPath,
    /// The earlier sequence step whose record holds `other`; `None` for
    /// the same record. The single-record walks find such a field absent:
    /// the multi-record engine supplies the step's record.
    pub step: Option<Box<str>>,
    /// How the values compare.
    pub op: RefOp,
    /// Compare text with case.
    pub case_sensitive: bool,
    /// Its entry in the rule's condition table.
    pub id: CondId,
}

/// How a value compares with the values of another field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefOp {
    /// `eq`, `in`: equals some value of the other field.
    Eq,
    /// `ne`, `notIn`: equals no value of the other field (which is present).
    NotIn,
    /// `gt`, `gte`, `lt`, `lte`: ordered against some value (numbers, or
    /// date-times in their normal form).
    Order(Cmp),
    /// Contains some value, as text.
    Contains,
    /// Starts with some value.
    StartsWith,
    /// Ends with some value.
    EndsWith,
}

impl RefOp {
    /// Whether a value passes against one value of the other field (for
    /// `NotIn`: whether it equals it).
    pub fn test(self, v: &Value, other: &Value, case_sensitive: bool) -> bool {
        match self {
            RefOp::Eq | RefOp::NotIn => values_equal(v, other, case_sensitive),
            RefOp::Order(cmp) => match (number(v), number(other)) {
                (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| cmp.holds(o)),
                _ => match (v, other) {
                    (Value::String(a), Value::String(b)) => cmp.holds(a.as_str().cmp(b)),
                    _ => false,
                },
            },
            RefOp::Contains | RefOp::StartsWith | RefOp::EndsWith => {
                let (Some(a), Some(b)) = (text(v), text(other)) else {
                    return false;
                };
                let (a, b) = (fold(&a, case_sensitive), fold(&b, case_sensitive));
                match self {
                    RefOp::Contains => a.contains(b.as_ref()),
                    RefOp::StartsWith => a.starts_with(b.as_ref()),
                    _ => a.ends_with(b.as_ref()),
                }
            }
        }
    }
}

/// Whether two record values are equal as conditions compare them: text
/// without case unless asked, numbers by value (also when one is written
/// as text), booleans also as `"true"`/`"false"`.
pub fn values_equal(a: &Value, b: &Value, case_sensitive: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if case_sensitive {
                x == y
            } else if x.is_ascii() && y.is_ascii() {
                x.eq_ignore_ascii_case(y)
            } else {
                x.to_lowercase() == y.to_lowercase()
            }
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Bool(x), Value::String(s)) | (Value::String(s), Value::Bool(x)) => {
            s.eq_ignore_ascii_case(if *x { "true" } else { "false" })
        }
        (Value::Number(_) | Value::String(_), Value::Number(_) | Value::String(_)) => {
            matches!((number(a), number(b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// Numbers the top-level fields that the record-level tests of `root`
/// read, adding new ones to `tops` (name, matched in any case), so that a
/// rule set looks each up once per record, not once per test.
pub fn intern_tops(root: &mut Node, tops: &mut Vec<(Box<str>, bool)>) {
    match root {
        Node::All(children) | Node::Any(children) => {
            children.iter_mut().for_each(|c| intern_tops(c, tops));
        }
        Node::Not(child) => intern_tops(child, tops),
        Node::Test(test) => {
            let Some(first) = test.path.segments().first() else {
                return;
            };
            let key = (first.clone(), test.path.is_raw());
            test.top = Some(match tops.iter().position(|t| *t == key) {
                Some(i) => i,
                None => {
                    tops.push(key);
                    tops.len() - 1
                }
            });
        }
        // Tests inside read the elements, not the record; comparisons
        // look both fields up themselves.
        Node::Quant { .. } | Node::Compare(_) => {}
    }
}

/// Calls `f` on every path the condition reads at its own level (paths
/// inside a quantifier are relative to its list, which is visited).
pub(crate) fn visit_paths(node: &Node, f: &mut dyn FnMut(&crate::catalog::FieldPath)) {
    match node {
        Node::All(children) | Node::Any(children) => {
            children.iter().for_each(|c| visit_paths(c, f));
        }
        Node::Not(child) => visit_paths(child, f),
        Node::Test(test) => f(&test.path),
        Node::Compare(c) => {
            f(&c.path);
            f(&c.other);
        }
        Node::Quant { path, .. } => f(path),
    }
}

/// What a value must be.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Present (`true`) or absent (`false`); decided by the path, not a value.
    Exists(bool),
    /// Equals one of the set.
    In(ValueSet),
    /// Is present and equals none of the set.
    NotIn(ValueSet),
    /// Text that the regex matches (`contains`, `startsWith`, `endsWith`,
    /// `matches`, all as one regex of alternatives).
    Regex(Regex),
    /// A number compared with a constant.
    Num(Cmp, f64),
    /// A normalized date-time compared with a constant (the normal form
    /// orders like the instants).
    Time(Cmp, Box<str>),
    /// An IP address inside one of the ranges.
    Cidr(Box<[IpNet]>),
}

/// Order comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl Cmp {
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Cmp::Gt => ord == Greater,
            Cmp::Gte => ord != Less,
            Cmp::Lt => ord == Less,
            Cmp::Lte => ord != Greater,
        }
    }
}

/// A set of constants to compare a value with: strings (case-folded unless
/// case-sensitive), numbers and booleans. A constant is entered in every
/// form a record may hold it in (`0` as the number and the text `"0"`), so a
/// record value is looked up without being converted.
#[derive(Debug, Clone, Default)]
pub struct ValueSet {
    strings: FxHashSet<Box<str>>,
    numbers: Vec<f64>,
    has_true: bool,
    has_false: bool,
    case_sensitive: bool,
}

impl ValueSet {
    fn new(values: &[Const], case_sensitive: bool) -> ValueSet {
        let mut set = ValueSet {
            case_sensitive,
            ..ValueSet::default()
        };
        for v in values {
            set.insert(v);
        }
        set
    }

    fn insert(&mut self, v: &Const) {
        match v {
            Const::Str(s) => {
                if let Ok(n) = s.trim().parse::<f64>() {
                    self.numbers.push(n);
                }
                match s.to_ascii_lowercase().as_str() {
                    "true" => self.has_true = true,
                    "false" => self.has_false = true,
                    _ => {}
                }
                let folded = fold(s, self.case_sensitive).into_owned();
                self.strings.insert(folded.into());
            }
            Const::Int(i) => {
                self.numbers.push(*i as f64);
                self.strings.insert(i.to_string().into());
            }
            Const::Num(n) => {
                self.numbers.push(*n);
                self.strings.insert(n.to_string().into());
            }
            Const::Bool(b) => {
                if *b {
                    self.has_true = true;
                } else {
                    self.has_false = true;
                }
                self.strings.insert(b.to_string().into());
            }
            // A field reference is compiled to a [`Compare`], never a set.
            Const::Field(_) => {}
        }
    }

    fn merge(&mut self, other: &ValueSet) {
        self.strings.extend(other.strings.iter().cloned());
        self.numbers.extend_from_slice(&other.numbers);
        self.has_true |= other.has_true;
        self.has_false |= other.has_false;
    }

    /// Whether a record value is in the set.
    pub fn contains(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => {
                // Fold short ASCII text on the stack: this runs for every
                // record and every set on its field.
                let mut buf = [0u8; 128];
                match buf.get_mut(..s.len()) {
                    Some(lower) if !self.case_sensitive && s.is_ascii() => {
                        lower.copy_from_slice(s.as_bytes());
                        lower.make_ascii_lowercase();
                        std::str::from_utf8(lower).is_ok_and(|k| self.strings.contains(k))
                    }
                    _ => self.strings.contains(fold(s, self.case_sensitive).as_ref()),
                }
            }
            Value::Number(n) => n.as_f64().is_some_and(|n| self.numbers.contains(&n)),
            Value::Bool(true) => self.has_true,
            Value::Bool(false) => self.has_false,
            _ => false,
        }
    }
}

/// Lower-cases text for case-insensitive comparison, borrowing when it is
/// already lower case (the common case for enum values).
pub fn fold(s: &str, case_sensitive: bool) -> Cow<'_, str> {
    if case_sensitive {
        return Cow::Borrowed(s);
    }
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

impl Matcher {
    /// Whether one value passes. (`Exists` is decided by the caller.)
    pub fn test(&self, v: &Value) -> bool {
        match self {
            Matcher::Exists(_) => true,
            Matcher::In(set) => set.contains(v),
            Matcher::NotIn(set) => !set.contains(v),
            Matcher::Regex(re) => match v {
                Value::String(s) => re.is_match(s),
                Value::Number(n) => re.is_match(&n.to_string()),
                Value::Bool(b) => re.is_match(if *b { "true" } else { "false" }),
                _ => false,
            },
            Matcher::Num(cmp, c) => {
                number(v).is_some_and(|n| n.partial_cmp(c).is_some_and(|o| cmp.holds(o)))
            }
            Matcher::Time(cmp, c) => match v {
                Value::String(s) => cmp.holds(s.as_str().cmp(c)),
                _ => false,
            },
            Matcher::Cidr(nets) => match v {
                Value::String(s) => s
                    .trim()
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| nets.iter().any(|n| n.contains(&ip))),
                _ => false,
            },
        }
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Why a checked rule does not compile: the alternatives of one condition,
/// each accepted by check, are together over the regex size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The condition.
    pub span: Span,
    /// What is wrong, for a label under the condition.
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

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

/// A condition compiled alone: which records take part in a window, or
/// are of a sequence step.
#[derive(Debug, Clone)]
pub struct Program {
    /// The logs its records come from.
    pub logs: Vec<LogCategory>,
    /// The condition.
    pub root: Node,
    /// Its conditions, by [`CondId`].
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
            && crate::eval::matches(&self.root, crate::eval::Scope::Fields(&record.fields))
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
                crate::eval::matches_with_steps(&p.root, Scope::Fields(&record.fields), &|_| {
                    vec![Scope::Fields(&other.fields)]
                })
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
                steps.push(StepProgram {
                    name: Some(step.name.clone()),
                    matcher,
                    where_,
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

fn describe_values(values: &[Const]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|v| match v {
            Const::Str(s) => s.clone(),
            other => other.to_json().to_string(),
        })
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", parts.join(", ")),
    }
}

fn expected_json(values: &[Const]) -> Value {
    match values {
        [one] => one.to_json(),
        _ => Value::Array(values.iter().map(Const::to_json).collect()),
    }
}

fn lower(cond: &Cond, conds: &mut Vec<CondInfo>) -> Result<Node, CompileError> {
    Ok(match cond {
        Cond::All(children) => Node::All(
            children
                .iter()
                .map(|c| lower(c, conds))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Any(children) => Node::Any(
            children
                .iter()
                .map(|c| lower(c, conds))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Not(child) => Node::Not(Box::new(lower(child, conds)?)),
        Cond::Pred(pred) if pred.field_ref().is_some() => lower_compare(pred, conds),
        Cond::Pred(pred) => Node::Test(Box::new(lower_pred(pred, conds)?)),
        Cond::Quant {
            quantifier,
            field,
            inner,
            span,
        } => {
            let inner = lower(inner, conds)?;
            let id = conds.len();
            conds.push(CondInfo {
                text: format!("{} {} {{...}}", field.path, quantifier.name()),
                field: field.path.to_string(),
                op: quantifier.name(),
                expected: Value::Null,
                span: span.clone(),
            });
            Node::Quant {
                quantifier: *quantifier,
                path: field.path.clone(),
                inner: Box::new(inner),
                id,
            }
        }
    })
}

fn lower_pred(pred: &Pred, conds: &mut Vec<CondInfo>) -> Result<Test, CompileError> {
    let first_num = pred.values.iter().find_map(|v| match v {
        Const::Num(n) => Some(*n),
        Const::Int(i) => Some(*i as f64),
        _ => None,
    });
    let first_text = pred.values.iter().find_map(|v| match v {
        Const::Str(s) => Some(s.as_str()),
        _ => None,
    });
    let cmp = match pred.op {
        Op::Gt => Some(Cmp::Gt),
        Op::Gte => Some(Cmp::Gte),
        Op::Lt => Some(Cmp::Lt),
        Op::Lte => Some(Cmp::Lte),
        _ => None,
    };
    let error = |message: String| CompileError {
        span: pred.span.clone(),
        message,
    };
    let matcher = match (pred.op, &pred.prepared) {
        (Op::Exists, _) => Matcher::Exists(pred.values.contains(&Const::Bool(true))),
        (Op::Eq | Op::In, _) => Matcher::In(ValueSet::new(&pred.values, pred.case_sensitive)),
        (Op::Ne | Op::NotIn, _) => Matcher::NotIn(ValueSet::new(&pred.values, pred.case_sensitive)),
        (Op::Contains | Op::StartsWith | Op::EndsWith | Op::Matches, Prepared::Regex(built)) => {
            Matcher::Regex(built.clone().map_err(|e| error(e.message))?)
        }
        (Op::Cidr, Prepared::Nets(nets)) => Matcher::Cidr(nets.clone().into()),
        (Op::Contains | Op::StartsWith | Op::EndsWith | Op::Matches | Op::Cidr, _) => {
            // check prepares every condition of these operators.
            return Err(error("condition was not prepared".into()));
        }
        (Op::Gt | Op::Gte | Op::Lt | Op::Lte, _) => {
            let cmp = cmp.unwrap_or(Cmp::Gt);
            match (first_num, first_text) {
                (Some(n), _) => Matcher::Num(cmp, n),
                (None, Some(t)) => Matcher::Time(cmp, t.into()),
                (None, None) => return Err(error("no value to compare with".into())),
            }
        }
    };
    let id = conds.len();
    conds.push(CondInfo {
        text: format!(
            "{} {} {}",
            display_path(&pred.field.path),
            pred.op.name(),
            describe_values(&pred.values)
        ),
        field: display_path(&pred.field.path),
        op: pred.op.name(),
        expected: expected_json(&pred.values),
        span: pred.span.clone(),
    });
    Ok(Test {
        path: pred.field.path.clone(),
        matcher,
        id,
        top: None,
        as_text: pred.as_text,
    })
}

fn lower_compare(pred: &Pred, conds: &mut Vec<CondInfo>) -> Node {
    let Some(reference) = pred.field_ref() else {
        return Node::All(Box::new([]));
    };
    let op = match pred.op {
        Op::Ne | Op::NotIn => RefOp::NotIn,
        Op::Gt => RefOp::Order(Cmp::Gt),
        Op::Gte => RefOp::Order(Cmp::Gte),
        Op::Lt => RefOp::Order(Cmp::Lt),
        Op::Lte => RefOp::Order(Cmp::Lte),
        Op::Contains => RefOp::Contains,
        Op::StartsWith => RefOp::StartsWith,
        Op::EndsWith => RefOp::EndsWith,
        // check accepts no reference with `exists`, `matches` or `cidr`.
        _ => RefOp::Eq,
    };
    let id = conds.len();
    let name = reference.name();
    conds.push(CondInfo {
        text: format!(
            "{} {} {{field: {name}}}",
            display_path(&pred.field.path),
            pred.op.name()
        ),
        field: display_path(&pred.field.path),
        op: pred.op.name(),
        expected: serde_json::json!({ "field": name }),
        span: pred.span.clone(),
    });
    Node::Compare(Box::new(Compare {
        path: pred.field.path.clone(),
        other: reference.field.path.clone(),
        step: reference.step.as_deref().map(Into::into),
        op,
        case_sensitive: pred.case_sensitive,
        id,
    }))
}

/// A path for people; the element itself inside a quantifier over scalars;
/// every value of the record for a keyword search (a `raw.` path of no
/// segment).
fn display_path(path: &FieldPath) -> String {
    if path.segments().is_empty() && path.is_raw() {
        "any value".to_string()
    } else if path.segments().is_empty() {
        "element".to_string()
    } else {
        path.to_string()
    }
}

/// Rewrites the tree into an equivalent, cheaper one: flattens nested
/// `all`/`any`, and merges equality tests on one field inside an `any` into
/// one set lookup.
fn optimize(node: Node, conds: &mut Vec<CondInfo>) -> Node {
    match node {
        Node::All(children) => {
            let mut flat = Vec::new();
            for child in children.into_vec() {
                match optimize(child, conds) {
                    Node::All(grand) => flat.extend(grand.into_vec()),
                    other => flat.push(other),
                }
            }
            single_or(flat, Node::All)
        }
        Node::Any(children) => {
            let mut flat: Vec<Node> = Vec::new();
            for child in children.into_vec() {
                match optimize(child, conds) {
                    Node::Any(grand) => flat.extend(grand.into_vec()),
                    other => flat.push(other),
                }
            }
            single_or(merge_sets(flat, conds), Node::Any)
        }
        Node::Not(child) => Node::Not(Box::new(optimize(*child, conds))),
        Node::Quant {
            quantifier,
            path,
            inner,
            id,
        } => Node::Quant {
            quantifier,
            path,
            inner: Box::new(optimize(*inner, conds)),
            id,
        },
        test @ (Node::Test(_) | Node::Compare(_)) => test,
    }
}

fn single_or(mut nodes: Vec<Node>, wrap: fn(Box<[Node]>) -> Node) -> Node {
    if nodes.len() == 1
        && let Some(only) = nodes.pop()
    {
        return only;
    }
    wrap(nodes.into_boxed_slice())
}

/// Merges `in` tests on the same path (and case rule) among alternatives.
fn merge_sets(nodes: Vec<Node>, conds: &mut Vec<CondInfo>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::new();
    for node in nodes {
        let merged = match (&node, out.iter_mut().find_map(|n| mergeable_with(n, &node))) {
            (Node::Test(new), Some(existing)) => {
                if let (Matcher::In(into), Matcher::In(from)) =
                    (&mut existing.matcher, &new.matcher)
                {
                    into.merge(from);
                }
                let (a, b) = (conds.get(existing.id).cloned(), conds.get(new.id).cloned());
                if let (Some(a), Some(b)) = (a, b) {
                    let expected = flatten_expected(&a.expected, &b.expected);
                    let id = conds.len();
                    conds.push(CondInfo {
                        text: format!("{} in {}", a.field, describe_json(&expected)),
                        field: a.field,
                        op: "in",
                        expected,
                        span: a.span,
                    });
                    existing.id = id;
                }
                true
            }
            _ => false,
        };
        if !merged {
            out.push(node);
        }
    }
    out
}

fn mergeable_with<'a>(existing: &'a mut Node, new: &Node) -> Option<&'a mut Test> {
    match (existing, new) {
        (Node::Test(a), Node::Test(b)) => match (&a.matcher, &b.matcher) {
            (Matcher::In(x), Matcher::In(y))
                if a.path == b.path
                    && x.case_sensitive == y.case_sensitive
                    && a.as_text == b.as_text =>
            {
                Some(a)
            }
            _ => None,
        },
        _ => None,
    }
}

fn flatten_expected(a: &Value, b: &Value) -> Value {
    let mut items = Vec::new();
    for v in [a, b] {
        match v {
            Value::Array(xs) => items.extend(xs.iter().cloned()),
            other => items.push(other.clone()),
        }
    }
    Value::Array(items)
}

fn describe_json(v: &Value) -> String {
    match v {
        Value::Array(xs) => {
            let parts: Vec<String> = xs
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_sets_match_every_form_of_a_constant() {
        let set = ValueSet::new(&[Const::Int(0), Const::Str("NotApplied".into())], false);
        assert!(set.contains(&json!(0)));
        assert!(set.contains(&json!("0")));
        assert!(set.contains(&json!("notapplied")));
        assert!(!set.contains(&json!(1)));
        assert!(!set.contains(&json!(null)));
        let cs = ValueSet::new(&[Const::Str("NotApplied".into())], true);
        assert!(!cs.contains(&json!("notapplied")));
        assert!(cs.contains(&json!("NotApplied")));
    }

    #[test]
    fn unicode_text_folds_too() {
        let set = ValueSet::new(&[Const::Str("ZÜRICH".into())], false);
        assert!(set.contains(&json!("zürich")));
    }

    #[test]
    fn cidr_and_comparisons() {
        let m = Matcher::Cidr(vec!["10.0.0.0/8".parse().unwrap_or_else(|_| unreachable!())].into());
        assert!(m.test(&json!("10.1.2.3")));
        assert!(!m.test(&json!("11.1.2.3")));
        assert!(!m.test(&json!("not an ip")));
        assert!(Matcher::Num(Cmp::Gte, 5.0).test(&json!(5)));
        assert!(Matcher::Num(Cmp::Gt, 5.0).test(&json!("6")));
        assert!(!Matcher::Num(Cmp::Lt, 5.0).test(&json!(5)));
        let t = Matcher::Time(Cmp::Lt, "2025-01-01T00:00:00.0000000Z".into());
        assert!(t.test(&json!("2024-12-31T23:59:59.9999999Z")));
        assert!(!t.test(&json!("2025-01-01T00:00:00.0000000Z")));
    }
}
