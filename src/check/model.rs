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
    /// The symbol of an ordering operator, as SQL and KQL write it.
    pub(crate) fn order_symbol(self) -> Option<&'static str> {
        match self {
            Op::Gt => Some(">"),
            Op::Gte => Some(">="),
            Op::Lt => Some("<"),
            Op::Lte => Some("<="),
            _ => None,
        }
    }

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
    /// The value of another field (`{ field: PATH }`): of the same record,
    /// or in a sequence's `where`, of the record an earlier step matched.
    Field(FieldRef),
}

/// A value taken from a field rather than written as a constant.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef {
    /// The earlier step whose record holds the field (`STEP.PATH` in a
    /// sequence's `where`); `None` for the record being tested.
    pub step: Option<String>,
    /// The field.
    pub field: Resolved,
}

impl FieldRef {
    /// The reference as written canonically: `resourceTenantId`,
    /// `failures.ipAddress`.
    pub fn name(&self) -> String {
        match &self.step {
            Some(step) => format!("{step}.{}", self.field.path),
            None => self.field.path.to_string(),
        }
    }
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
            Const::Field(r) => serde_json::json!({ "field": r.name() }),
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
    /// The constants (one for scalar operators; any may match for lists),
    /// or a single [`Const::Field`] reference.
    pub values: Vec<Const>,
    /// Compare strings with case.
    pub case_sensitive: bool,
    /// What check parsed from the constants, so compile never reads them
    /// again.
    pub prepared: Prepared,
    /// An object or a list at the field is compared as its compact JSON
    /// text rather than element by element, as Log Analytics compares a
    /// string with a dynamic column (Sigma rules).
    pub as_text: bool,
    /// Where the condition was written.
    pub span: Span,
}

impl Pred {
    /// The field the condition compares with, when its value is
    /// `{ field: PATH }`.
    pub fn field_ref(&self) -> Option<&FieldRef> {
        match self.values.as_slice() {
            [Const::Field(r)] => Some(r),
            _ => None,
        }
    }
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

impl Cond {
    /// The steps whose records the condition's field references read
    /// ([`FieldRef::step`]), each once, in the order met.
    pub fn steps_read(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_steps(&mut out);
        out
    }

    fn collect_steps<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Cond::All(children) | Cond::Any(children) => {
                children.iter().for_each(|c| c.collect_steps(out));
            }
            Cond::Not(child) => child.collect_steps(out),
            Cond::Quant { inner, .. } => inner.collect_steps(out),
            Cond::Pred(p) => {
                if let Some(step) = p.field_ref().and_then(|r| r.step.as_deref())
                    && !out.contains(&step)
                {
                    out.push(step);
                }
            }
        }
    }

    /// The conjuncts of nested `all`s (itself when it is not an `all`).
    pub fn conjuncts(&self) -> Vec<&Cond> {
        match self {
            Cond::All(children) => children.iter().flat_map(Cond::conjuncts).collect(),
            other => vec![other],
        }
    }
}

/// A piece of a message template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A field's value (`-` when absent).
    Field(Resolved),
    /// Multi-record rules: `{count}`, the records of the finding.
    Count,
    /// Multi-record rules: `{window.duration}`, `{window.start}`,
    /// `{window.end}`.
    Window(WindowPart),
    /// Windows: `{distinct.FIELD}`, the number of distinct values of one of
    /// the window's `distinct` fields.
    Distinct(Resolved),
    /// Sequences: `{STEP.PATH}`, the distinct values of a field over the
    /// records of a step.
    Step {
        /// The step's name.
        step: String,
        /// The field of its records.
        field: Resolved,
    },
    /// Multi-record rules: a group-key field written plainly
    /// (`{ipAddress}`): the value of the key at this position.
    Key {
        /// The position in `groupBy` (or in each step's key).
        index: usize,
        /// The field as written.
        field: Resolved,
    },
    /// Sequences with a step that travels: `{travel.kmh}`, `{travel.km}`,
    /// the speed or distance of the fastest pair of records it compared.
    Travel(TravelPart),
}

/// What `{travel.*}` names in a sequence's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TravelPart {
    /// The speed in km/h.
    Kmh,
    /// The great-circle distance in km.
    Km,
}

/// What `{window.*}` names in a multi-record message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPart {
    /// The time from the first contributing record to the last.
    Duration,
    /// The first contributing record's time.
    Start,
    /// The last contributing record's time.
    End,
}

/// Whether a rule reads one record at a time or many.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// One record at a time: `match` alone (v1).
    Single,
    /// Counts and distinct values per group in a time span.
    Window(Window),
    /// Steps in order (or not), possibly in different logs, possibly
    /// absent.
    Sequence(Sequence),
}

/// A time span in ticks of 100 ns (the resolution of the records' times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSpan {
    /// Ticks of 100 ns.
    pub ticks: i64,
    /// As written (`20m`).
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

/// Ticks of 100 ns in a second.
pub const TICKS_PER_SECOND: i64 = 10_000_000;

/// How a count compares with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CountCmp {
    /// More than.
    Gt,
    /// At least.
    Gte,
    /// Fewer than.
    Lt,
    /// At most.
    Lte,
    /// Exactly.
    Eq,
}

impl CountCmp {
    /// Every comparison with its name in rules.
    pub const ALL: [(&'static str, CountCmp); 5] = [
        ("gt", CountCmp::Gt),
        ("gte", CountCmp::Gte),
        ("lt", CountCmp::Lt),
        ("lte", CountCmp::Lte),
        ("eq", CountCmp::Eq),
    ];

    /// The comparison as a symbol (`>=`), equality as `==`.
    pub fn symbol(self) -> &'static str {
        match self {
            CountCmp::Gt => ">",
            CountCmp::Gte => ">=",
            CountCmp::Lt => "<",
            CountCmp::Lte => "<=",
            CountCmp::Eq => "==",
        }
    }

    /// The comparison's name in rules.
    pub fn name(self) -> &'static str {
        CountCmp::ALL
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("?", |(n, _)| n)
    }
}

/// A bound on a number of records or of distinct values: `{ gte: 10 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    /// The comparison.
    pub cmp: CountCmp,
    /// The bound.
    pub value: u64,
    /// Where it was written.
    pub span: Span,
}

impl Threshold {
    /// The least count that satisfies a `gte` or `gt` threshold; `None`
    /// for the others (which a step's `count` cannot be).
    pub fn at_least(&self) -> Option<u64> {
        match self.cmp {
            CountCmp::Gte => Some(self.value),
            CountCmp::Gt => self.value.checked_add(1),
            _ => None,
        }
    }

    /// Whether a count satisfies the threshold.
    pub fn holds(&self, n: u64) -> bool {
        match self.cmp {
            CountCmp::Gt => n > self.value,
            CountCmp::Gte => n >= self.value,
            CountCmp::Lt => n < self.value,
            CountCmp::Lte => n <= self.value,
            CountCmp::Eq => n == self.value,
        }
    }
}

/// A `window:` rule: the records that pass `match`, grouped by key, in a
/// sliding time span.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The key fields (empty: every record is of one group). A record
    /// lacking one takes no part.
    pub group_by: Vec<Resolved>,
    /// How far apart in time records of one window may be (inclusive).
    pub span: TimeSpan,
    /// Bound on the records in the window.
    pub count: Option<Threshold>,
    /// Bounds on the distinct values of fields, ANDed.
    pub distinct: Vec<(Resolved, Threshold)>,
    /// Compare group keys (and distinct values) with case.
    pub case_sensitive: bool,
}

/// A `sequence:` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// The key fields every step shares, when written (steps may have
    /// their own `by`), as the first step that uses them resolves them
    /// (each step's [`Step::key`] is resolved in its own logs).
    pub group_by: Option<Vec<Resolved>>,
    /// From the first contributing record to the last.
    pub span: TimeSpan,
    /// Whether steps occur in step order in time (equal times count as in
    /// order).
    pub ordered: bool,
    /// Compare keys with case.
    pub case_sensitive: bool,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its name (`[A-Za-z_][A-Za-z0-9_]*`, unique in the rule).
    pub name: String,
    /// The logs its records come from (default: the rule's logs).
    pub logs: Vec<LogCategory>,
    /// Its own key fields, when written.
    pub by: Option<Vec<Resolved>>,
    /// The key its records are grouped by: `by`, or the sequence's
    /// `groupBy` resolved in the step's logs. Every step's key has the same
    /// number of fields, of comparable types position by position.
    pub key: Vec<Resolved>,
    /// Which records are of the step (its `match`, ANDed with the rule's
    /// `match` when there is one; everything when neither is written).
    pub cond: Cond,
    /// Bound on the step's records (default: at least one): `gte` or `gt`
    /// of one record or more ([`Threshold::at_least`]), or for an absent
    /// step the default.
    pub count: Threshold,
    /// The step holds when no record of it with the same key lies within
    /// the span of the other steps' records.
    pub absent: bool,
    /// Conditions across steps: its field references may read
    /// `STEP.PATH` of earlier steps ([`FieldRef::step`]). Each conjunct
    /// reads one earlier step at most, so the condition can be decided one
    /// pair of records at a time.
    pub where_: Option<Cond>,
    /// How far and how fast from the records of an earlier step to this
    /// step's record, when written.
    pub travel: Option<Travel>,
    /// Where its name was written.
    pub span: Span,
}

/// A step's `travel:` the great-circle distance between the
/// `location.geoCoordinates` of each record of an earlier step and this
/// step's record, and that distance over the time between them. Decided
/// one pair of records at a time, like a `where`: against a step of
/// several records it holds when it holds with each of them. A record
/// without coordinates pairs with nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Travel {
    /// The earlier step (by name, as written in `from`).
    pub from: String,
    /// Bound on the speed in km/h.
    pub kmh: Option<Bound>,
    /// Bound on the distance in km.
    pub km: Option<Bound>,
    /// Where `travel` was written.
    pub span: Span,
}

/// A bound on a measure that is not a count (a speed, a distance):
/// `{ gt: 900 }`, one of gt, gte, lt, lte with a finite number of zero or
/// more.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// The comparison (never [`CountCmp::Eq`]).
    pub cmp: CountCmp,
    /// The bound.
    pub value: f64,
    /// Where it was written.
    pub span: Span,
}

impl Bound {
    /// Whether a measure (possibly infinite, never NaN) satisfies the
    /// bound.
    pub fn holds(&self, x: f64) -> bool {
        match self.cmp {
            CountCmp::Gt => x > self.value,
            CountCmp::Gte => x >= self.value,
            CountCmp::Lt => x < self.value,
            CountCmp::Lte => x <= self.value,
            CountCmp::Eq => false,
        }
    }
}

/// One `tests:` case of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// The case's name.
    pub name: String,
    /// What the rule should give.
    pub expect: Expect,
    /// What it is given.
    pub input: TestInput,
    /// Param values the case gives (its `params:`), by name.
    pub params: Vec<(String, Vec<String>)>,
    /// For a rule that waits for a required param: the rule checked again
    /// with the case's `params:`, when they give every param it waits for.
    /// The case runs against it; without it, the case is skipped.
    pub with_params: Option<Box<CheckedRule>>,
    /// Where the case was written.
    pub span: Span,
}

impl TestCase {
    /// The record of a single-record case (`record:`).
    pub fn record(&self) -> Option<&serde_json::Value> {
        match &self.input {
            TestInput::Record { record, .. } => Some(record),
            TestInput::Records(_) => None,
        }
    }

    /// The log a single-record case names (`log:`).
    pub fn log(&self) -> Option<&LogCategory> {
        match &self.input {
            TestInput::Record { log, .. } => log.as_ref(),
            TestInput::Records(_) => None,
        }
    }
}

/// What a test case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `expect: match` (for a multi-record rule: at least one finding).
    Match,
    /// `expect: no-match`.
    NoMatch,
    /// `findings: N` (multi-record rules).
    Findings(u64),
}

impl Expect {
    /// Whether the case expects the rule to find something.
    pub fn wants_match(self) -> bool {
        match self {
            Expect::Match => true,
            Expect::NoMatch => false,
            Expect::Findings(n) => n > 0,
        }
    }
}

/// The records a test case gives the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum TestInput {
    /// `record:` (single-record rules): one record, as JSON in any
    /// supported shape, and the log it is from when the case says so.
    Record {
        /// The record.
        record: serde_json::Value,
        /// Its log, from the case's `log:`.
        log: Option<LogCategory>,
    },
    /// `records:` (multi-record rules): several records, each with its
    /// time. Running these needs the multi-record engine.
    Records(Vec<TestRecord>),
}

/// One record of a multi-record test case.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRecord {
    /// The record (without its `log:` key).
    pub record: serde_json::Value,
    /// Its log, from its own `log:` key.
    pub log: Option<LogCategory>,
    /// Where it was written.
    pub span: Span,
}

/// A rule that passed checking.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRule {
    /// What reports show about the rule.
    pub info: RuleInfo,
    /// The logs it reads.
    pub logs: Vec<LogCategory>,
    /// Its condition: which records take part (every record of its logs
    /// when a multi-record rule has no `match`).
    pub cond: Cond,
    /// One record at a time, a window or a sequence.
    pub shape: Shape,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_compare_counts() {
        let t = |cmp, value| Threshold {
            cmp,
            value,
            span: Span::new(0, 0..0),
        };
        assert!(t(CountCmp::Gte, 10).holds(10) && !t(CountCmp::Gte, 10).holds(9));
        assert!(t(CountCmp::Gt, 10).holds(11) && !t(CountCmp::Gt, 10).holds(10));
        assert!(t(CountCmp::Lt, 1).holds(0) && !t(CountCmp::Lt, 1).holds(1));
        assert!(t(CountCmp::Lte, 1).holds(1) && !t(CountCmp::Lte, 1).holds(2));
        assert!(t(CountCmp::Eq, 3).holds(3) && !t(CountCmp::Eq, 3).holds(4));
        assert_eq!(CountCmp::Gte.name(), "gte");
    }
}
