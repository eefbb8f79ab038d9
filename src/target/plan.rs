//! What the query targets share: the walk over a condition's logic, and the
//! plan of a rule over many records (which events each part reads, the
//! shapes of sequences both targets decide, the names of a group's
//! columns). Each target writes the plan in its own language.

use crate::catalog::{Kind, Resolved};
use crate::check::{CheckedRule, Cond, Const, Pred, Quantifier, Sequence, Step, Window};
use crate::diag::Span;
use crate::record::LogCategory;
use crate::target::{
    Unsupported, const_bool, const_number, const_text, double_literal, key_column, reads_json_text,
    unsupported,
};

/// A target's writer of the leaves of conditions.
pub(crate) trait Leaves {
    /// Where a condition is read: the record, or an element of a list.
    type Scope;
    /// The rule being written.
    fn rule(&self) -> &CheckedRule;
    /// Why a construct of the rule cannot be written.
    fn no(&self, construct: impl Into<String>, span: &Span) -> Unsupported {
        unsupported(self.rule(), &construct.into(), span)
    }
    /// A condition on one field and constants.
    fn pred(&mut self, pred: &Pred, scope: &Self::Scope) -> Result<String, Unsupported>;
    /// A condition comparing a field with another field.
    fn compare(&mut self, pred: &Pred, scope: &Self::Scope) -> Result<String, Unsupported>;
}

/// `any`, `all` or `none` of the elements of a list of objects meeting a
/// condition.
pub(crate) struct Quant<'c> {
    pub(crate) quantifier: Quantifier,
    pub(crate) field: &'c Resolved,
    pub(crate) inner: &'c Cond,
    pub(crate) span: &'c Span,
}

/// A target's writer of conditions: the leaves and quantifiers are its
/// own; the logic around them ([`CondWriter::cond`]) is the same for every
/// target, two-valued as the native engine reads it (every leaf is written
/// true or false, never unknown).
pub(crate) trait CondWriter: Leaves {
    /// The conjunction, with spaces around it.
    const AND: &'static str;
    /// The disjunction, with spaces around it.
    const OR: &'static str;
    /// What a negated condition is written between.
    const NOT: [&'static str; 2];
    /// `any`, `all` or `none` over a list of objects.
    fn quant(&mut self, quant: Quant<'_>, scope: &Self::Scope) -> Result<String, Unsupported>;

    /// A condition in the target's language.
    fn cond(&mut self, cond: &Cond, scope: &Self::Scope) -> Result<String, Unsupported> {
        Ok(match cond {
            Cond::All(children) if children.is_empty() => "true".into(),
            Cond::Any(children) if children.is_empty() => "false".into(),
            Cond::All(children) | Cond::Any(children) => {
                let joiner = if matches!(cond, Cond::All(_)) {
                    Self::AND
                } else {
                    Self::OR
                };
                let parts = children
                    .iter()
                    .map(|c| self.cond(c, scope))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("({})", parts.join(joiner))
            }
            Cond::Not(child) => {
                let [open, close] = Self::NOT;
                format!("{open}{}{close}", self.cond(child, scope)?)
            }
            // A Sigma comparison of a whole object or list as its JSON
            // text: the compact text the native engine writes is not what
            // the target would write.
            Cond::Pred(pred) if reads_json_text(pred) => {
                return Err(self.no(
                    format!(
                        "`{}` compared as JSON text (a Sigma value against an object or list column)",
                        pred.field.path
                    ),
                    &pred.span,
                ));
            }
            Cond::Pred(pred) if pred.field_ref().is_some() => self.compare(pred, scope)?,
            Cond::Pred(pred) => self.pred(pred, scope)?,
            Cond::Quant {
                quantifier,
                field,
                inner,
                span,
            } => self.quant(
                Quant {
                    quantifier: *quantifier,
                    field,
                    inner,
                    span,
                },
                scope,
            )?,
        })
    }
}

/// The constants of an `eq` or `in` condition as literals of the field's
/// kind: numbers as doubles, booleans, date-times written by `time`, text
/// by `text`. A constant that is not of the kind is left out: it equals no
/// value of the field.
pub(crate) fn set_literals(
    pred: &Pred,
    kind: Kind,
    time: impl Fn(&str) -> Option<String>,
    text: impl Fn(&str) -> String,
) -> Vec<String> {
    let values = pred.values.iter();
    match kind {
        Kind::Integer | Kind::Number => values
            .filter_map(const_number)
            .map(double_literal)
            .collect(),
        Kind::Boolean => values
            .filter_map(const_bool)
            .map(|b| b.to_string())
            .collect(),
        Kind::DateTime => values
            .filter_map(|c| match c {
                Const::Str(s) => time(s),
                _ => None,
            })
            .collect(),
        _ => values.filter_map(const_text).map(|s| text(&s)).collect(),
    }
}

/// Any of some conditions already written, joined with `or`.
pub(crate) fn any_of(parts: &[String], or: &str) -> String {
    match parts {
        [] => "false".into(),
        _ => format!("({})", parts.join(or)),
    }
}

/// All of some conditions already written, joined with `and`; true for
/// none.
pub(crate) fn all_of(parts: &[String], and: &str) -> String {
    if parts.is_empty() {
        "true".into()
    } else {
        parts.join(and)
    }
}

/// Whether a value is one of some literals, with the target's `in`
/// operator; false for none.
pub(crate) fn in_list(value: &str, items: &[String], op: &str) -> String {
    if items.is_empty() {
        "false".into()
    } else {
        format!("({value} {op} ({}))", items.join(", "))
    }
}

/// The events of a multi-record rule (or of one step) a target reads: the
/// records of its logs that pass its condition and have a time and every
/// key field, projected to `_ticks` (the time in ticks of 100 ns), `_tie`
/// (the record id, which breaks ties in time), `_k0`... (the key,
/// case-folded unless the rule compares with case), `_d0`... (the distinct
/// fields, case-folded) and `_w0`... (fields a later step's `where`
/// compares with, where the target needs them).
pub(crate) struct Events<'r> {
    pub(crate) rule: &'r CheckedRule,
    pub(crate) logs: &'r [LogCategory],
    pub(crate) cond: &'r Cond,
    pub(crate) key: &'r [Resolved],
    pub(crate) distinct: Vec<&'r Resolved>,
    pub(crate) compared: Vec<&'r Resolved>,
    pub(crate) case_sensitive: bool,
}

impl<'r> Events<'r> {
    /// The records a window counts.
    pub(crate) fn window(rule: &'r CheckedRule, w: &'r Window) -> Self {
        Events {
            rule,
            logs: &rule.logs,
            cond: &rule.cond,
            key: &w.group_by,
            distinct: w.distinct.iter().map(|(f, _)| f).collect(),
            compared: Vec::new(),
            case_sensitive: w.case_sensitive,
        }
    }

    /// The records of one step of a sequence.
    pub(crate) fn step(rule: &'r CheckedRule, seq: &Sequence, step: &'r Step) -> Self {
        Events {
            rule,
            logs: &step.logs,
            cond: &step.cond,
            key: &step.key,
            distinct: Vec::new(),
            compared: Vec::new(),
            case_sensitive: seq.case_sensitive,
        }
    }

    /// The key columns `_k0`... and the distinct columns `_d0`..., each
    /// `(name, expression)`, from `text` (a field as text) and `lower`
    /// (folding case).
    #[expect(clippy::type_complexity, reason = "two lists of (name, expression)")]
    pub(crate) fn key_columns(
        &self,
        mut text: impl FnMut(&Resolved) -> Result<String, Unsupported>,
        lower: impl Fn(&str) -> String,
    ) -> Result<(Vec<(String, String)>, Vec<(String, String)>), Unsupported> {
        let mut keys = Vec::new();
        for (i, field) in self.key.iter().enumerate() {
            let t = text(field)?;
            let t = if self.case_sensitive { t } else { lower(&t) };
            keys.push((format!("_k{i}"), t));
        }
        let mut distinct = Vec::new();
        for (i, field) in self.distinct.iter().enumerate() {
            distinct.push((format!("_d{i}"), lower(&text(field)?)));
        }
        Ok((keys, distinct))
    }
}

/// The names of a sequence's group columns: its `groupBy`, else the key
/// of the step whose record completes it.
pub(crate) fn group_names(seq: &Sequence, last: &Step) -> Vec<String> {
    match &seq.group_by {
        Some(fields) => fields.iter().map(key_column).collect(),
        None => last.key.iter().map(key_column).collect(),
    }
}

/// The columns of a group's row, and its key columns `_k0`....
pub(crate) struct GroupRow {
    pub(crate) keys: Vec<String>,
    pub(crate) columns: Vec<String>,
}

impl GroupRow {
    /// The key columns, comma-separated between `before` and `after`;
    /// empty when the rule has no key (one group).
    pub(crate) fn keys_between(&self, before: &str, after: &str) -> String {
        if self.keys.is_empty() {
            String::new()
        } else {
            format!("{before}{}{after}", self.keys.join(", "))
        }
    }
}

/// How a target writes a group's row.
pub(crate) struct RowSyntax {
    /// A text literal.
    pub(crate) literal: fn(&str) -> String,
    /// A column name from a field's name, quoted.
    pub(crate) quote: fn(&str) -> String,
    /// An expression under a column name.
    pub(crate) column: fn(&str, &str) -> String,
    /// A time in ticks as ISO 8601 text.
    pub(crate) iso: fn(&str) -> String,
}

/// The row of a group: the rule id, each key column under its field's
/// name, and the first window's start and end as ISO 8601 text. The row's
/// input has `_k0`..., `_start` and `_end`.
pub(crate) fn group_row(rule: &CheckedRule, names: &[String], syntax: &RowSyntax) -> GroupRow {
    let column = syntax.column;
    let keys: Vec<String> = (0..names.len()).map(|i| format!("_k{i}")).collect();
    let mut columns = vec![column(&(syntax.literal)(&rule.info.id), "ruleId")];
    for (key, name) in keys.iter().zip(names) {
        columns.push(column(key, &(syntax.quote)(name)));
    }
    columns.push(column(&(syntax.iso)("_start"), "windowStart"));
    columns.push(column(&(syntax.iso)("_end"), "windowEnd"));
    GroupRow { keys, columns }
}

/// The sequences both query targets decide as the native engine does.
pub(crate) enum SeqShape<'s> {
    /// Two steps in order, the first with at least N records (`need`), the
    /// second with one, none absent: `(first, second, need)`. A group has a
    /// finding when some record of the second step has N records of the
    /// first (not itself) at or before it within the span, each meeting the
    /// second step's `where` with it.
    Then(&'s Step, &'s Step, u64),
    /// One present step of one record and absent steps (without `where`):
    /// `(present, absent)`. Each record of the present step is a finding
    /// when no record of an absent step with the same key lies within the
    /// span before or after it. (Each such record is its own candidate, so
    /// which records earlier candidates consumed does not matter.)
    Unless(&'s Step, Vec<&'s Step>),
}

/// Why no target writes a step's `travel`: its bounds are decided on a
/// haversine distance in floating point, and each engine's trigonometry
/// rounds its own way, so a pair near a bound could be decided otherwise.
pub(crate) const TRAVEL: &str = "`travel` (a great-circle distance and speed computed in floating point: the target's trigonometry does not round as `check` does, so a pair near a bound could be decided otherwise)";

/// The first step of a sequence that travels, if any.
pub(crate) fn travel_of(seq: &Sequence) -> Option<&crate::check::Travel> {
    seq.steps.iter().find_map(|s| s.travel.as_ref())
}

/// The shape of a sequence, or why the query targets refuse it.
pub(crate) fn seq_shape<'s>(
    rule: &CheckedRule,
    seq: &'s Sequence,
) -> Result<SeqShape<'s>, Unsupported> {
    let no = |what: &str| Err(unsupported(rule, what, &seq.span.span));
    if let Some(t) = travel_of(seq) {
        return Err(unsupported(rule, TRAVEL, &t.span));
    }
    let present: Vec<&Step> = seq.steps.iter().filter(|s| !s.absent).collect();
    let absent: Vec<&Step> = seq.steps.iter().filter(|s| s.absent).collect();
    if !absent.is_empty() {
        let [one] = present.as_slice() else {
            return no(
                "a sequence with an `absent` step and several present ones (whether it holds depends on which records earlier candidates consumed)",
            );
        };
        if one.count.at_least() != Some(1) {
            return no("a sequence with an `absent` step whose present step needs several records");
        }
        if seq.steps.iter().any(|s| s.where_.is_some()) {
            return no("a sequence with an `absent` step and a `where`");
        }
        return Ok(SeqShape::Unless(one, absent));
    }
    if !seq.ordered {
        return no("a sequence with `ordered: false`");
    }
    let [first, second] = seq.steps.as_slice() else {
        return no("a sequence of more than two steps");
    };
    let Some(need) = first.count.at_least() else {
        return no("a first step without an at-least count");
    };
    if second.count.at_least() != Some(1) {
        return no("a last step that needs more than one record");
    }
    Ok(SeqShape::Then(first, second, need))
}
