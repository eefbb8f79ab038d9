//! One rule on one record, condition by condition: what `tollgate explain`
//! prints.
//!
//! Takes a rule set, a rule id and a log file with the line where the
//! record starts (or none: the first record); gives the trace of every
//! condition with the values it saw, and whether the rule matched. A rule
//! over many records is explained over the whole file instead: how far
//! each group got against the thresholds or steps, and which groups fired.

use std::path::Path;
use std::sync::Arc;

use crate::catalog;
use crate::diag::plural;
use crate::engine::RuleSet;
use crate::ingest::{self, Item};

/// Which record of a file to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The first record.
    First,
    /// The record that starts at this 1-based line.
    Line(u64),
    /// The record with this 0-based index in the file, as findings report
    /// it.
    Index(u64),
}

impl Pick {
    /// The file and the record that `target` names: `FILE:LINE`, or a
    /// whole path (one that exists, or has no numeric suffix); `index` is
    /// the record's 0-based index, given apart.
    pub fn parse(target: &str, index: Option<u64>) -> Result<(&Path, Pick), ExplainError> {
        let (path, line) = match target.rsplit_once(':') {
            Some((file, line)) if !Path::new(target).exists() => match line.parse::<u64>() {
                Ok(n) => (file, Some(n)),
                Err(_) => (target, None),
            },
            _ => (target, None),
        };
        let pick = match (line, index) {
            (Some(_), Some(_)) => return Err(ExplainError::TwoPicks),
            (Some(line), None) => Pick::Line(line),
            (None, Some(index)) => Pick::Index(index),
            (None, None) => Pick::First,
        };
        Ok((Path::new(path), pick))
    }

    fn wants(self, line: u64, index: Option<u64>) -> bool {
        match self {
            Pick::First => true,
            Pick::Line(l) => l == line,
            Pick::Index(i) => index == Some(i),
        }
    }
}

/// A rule's evaluation of one record, for people.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The verdict and the trace, as text.
    pub text: String,
    /// Whether the rule matched (and reads the record's log).
    pub matched: bool,
}

/// Why a record could not be explained.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExplainError {
    /// The record was named both by its line and by its index.
    TwoPicks,
    /// The file could not be opened.
    Open(String, String),
    /// The record asked for could not be read.
    Unreadable {
        /// The file.
        path: String,
        /// The line where the record starts.
        line: u64,
        /// Why.
        reason: String,
    },
    /// No record is where it was asked for.
    NoRecord(String, Pick),
    /// None of the file's records (this many) is a sign-in or Graph call.
    NoSignIn(String, u64),
    /// No rule has the id, with the closest one.
    UnknownRule(String, Option<String>),
    /// The rule is loaded but disabled.
    Disabled(String),
    /// The rule is a window or sequence and a record was named: it reads
    /// every record of the file.
    MultiRecord(String),
    /// A rule over many records held more records than its limit.
    Overflow(String, String),
    /// The rule waits for required params that have no value.
    Waiting(String, Vec<String>),
}

impl std::fmt::Display for ExplainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExplainError::Open(path, e) => write!(f, "cannot read {path}: {e}"),
            ExplainError::TwoPicks => {
                f.write_str("give the record as FILE:LINE or with --record N, not both")
            }
            ExplainError::Unreadable { path, line, reason } => {
                write!(f, "{path}:{line}: the record cannot be read: {reason}")
            }
            ExplainError::NoRecord(path, Pick::Line(line)) => {
                write!(f, "no record starts at line {line} of {path}")
            }
            ExplainError::NoRecord(path, Pick::Index(index)) => {
                write!(f, "{path} has no record {index} (records count from 0)")
            }
            ExplainError::NoRecord(path, Pick::First) => write!(f, "{path} holds no record"),
            ExplainError::NoSignIn(path, 1) => write!(
                f,
                "the only record in {path} is not a sign-in or Graph activity record"
            ),
            ExplainError::NoSignIn(path, n) => write!(
                f,
                "none of the {n} records in {path} is a sign-in or Graph activity record"
            ),
            ExplainError::UnknownRule(id, Some(near)) => {
                write!(f, "no rule has id `{id}`; did you mean `{near}`?")
            }
            ExplainError::UnknownRule(id, None) => write!(f, "no rule has id `{id}`"),
            ExplainError::Disabled(id) => write!(
                f,
                "rule `{id}` is disabled (by --disable or the config's `disable:`): \
                 explain it without that"
            ),
            ExplainError::MultiRecord(id) => write!(
                f,
                "rule `{id}` is a window or sequence over many records: explain it on a whole file (no :LINE or --record), which shows how far each group got"
            ),
            ExplainError::Overflow(id, e) => write!(f, "{id}: {e}"),
            ExplainError::Waiting(id, params) => write!(
                f,
                "{id} waits for {} {}: it runs, and can be explained, once {} set with --param or in tollgate.yaml",
                plural(params.len(), "param", "params"),
                params.join(", "),
                plural(params.len(), "it is", "they are"),
            ),
        }
    }
}

impl std::error::Error for ExplainError {}

impl Explanation {
    /// Evaluates rule `rule_id` of `rules` on the record of `path` that
    /// `pick` names.
    pub fn of(
        rules: &RuleSet,
        rule_id: &str,
        path: &Path,
        pick: Pick,
    ) -> Result<Explanation, ExplainError> {
        if let Some(w) = rules
            .waiting()
            .iter()
            .find(|w| w.info.id.as_ref() == rule_id)
        {
            return Err(ExplainError::Waiting(rule_id.to_string(), w.params.clone()));
        }
        let name = path.display().to_string();
        if name == "-" {
            // A record is picked by its line or index in a file read again.
            return Err(ExplainError::Open(
                name,
                "explain reads a file, not standard input: save the records to a file".into(),
            ));
        }
        let display: Arc<str> = name.as_str().into();
        let reader = ingest::open(path, display)
            .map_err(|e| ExplainError::Open(name.clone(), e.to_string()))?;
        if let Some(rule) = rules.multi().iter().find(|r| r.info.id.as_ref() == rule_id) {
            // A rule over many records is explained over the whole file.
            if pick != Pick::First {
                return Err(ExplainError::MultiRecord(rule_id.to_string()));
            }
            let mut records = Vec::new();
            let (mut unreadable, mut not_sign_in) = (Vec::new(), 0u64);
            for item in reader {
                match item {
                    Item::Record(record, location) => records.push((*record, location)),
                    Item::Unreadable(p) => unreadable.push(p),
                    Item::NotSignIn(_) => not_sign_in += 1,
                }
            }
            if records.is_empty() {
                return Err(match unreadable.into_iter().next() {
                    Some(p) => ExplainError::Unreadable {
                        path: p.path.to_string(),
                        line: p.line,
                        reason: p.reason,
                    },
                    None if not_sign_in > 0 => ExplainError::NoSignIn(name, not_sign_in),
                    None => ExplainError::NoRecord(name, pick),
                });
            }
            let (mut text, matched) =
                crate::run::multi::explain_groups(rule, records).map_err(|e| match e {
                    crate::run::multi::MultiError::Limit(o) => {
                        ExplainError::Overflow(o.rule_id, o.error.to_string())
                    }
                    other => ExplainError::Overflow(rule.info.id.to_string(), other.to_string()),
                })?;
            // What was not read takes no part: say so, never silently.
            if let Some(p) = unreadable.first() {
                text.push_str(&format!(
                    "{} unreadable {} took no part (the first: {}:{}: {})\n",
                    unreadable.len(),
                    plural(unreadable.len(), "record", "records"),
                    p.path,
                    p.line,
                    p.reason
                ));
            }
            if not_sign_in > 0 {
                text.push_str(&format!(
                    "{not_sign_in} {} no known field and took no part\n",
                    plural(not_sign_in, "record has", "records have")
                ));
            }
            return Ok(Explanation { text, matched });
        }
        let mut chosen = None;
        for item in reader {
            match item {
                Item::Record(record, location)
                    if pick.wants(location.line, Some(location.record)) =>
                {
                    chosen = Some((record, location));
                    break;
                }
                Item::Unreadable(p) | Item::NotSignIn(p) if pick.wants(p.line, p.record) => {
                    return Err(ExplainError::Unreadable {
                        path: p.path.to_string(),
                        line: p.line,
                        reason: p.reason,
                    });
                }
                _ => {}
            }
        }
        let Some((record, location)) = chosen else {
            return Err(ExplainError::NoRecord(name, pick));
        };
        let Some((rule, trace)) = rules.explain(rule_id, &record) else {
            if rules.multi().iter().any(|r| r.info.id.as_ref() == rule_id) {
                return Err(ExplainError::MultiRecord(rule_id.to_string()));
            }
            if rules.disabled().iter().any(|d| d == rule_id) {
                return Err(ExplainError::Disabled(rule_id.to_string()));
            }
            let ids: Vec<&str> = rules.infos().iter().map(|r| r.id.as_ref()).collect();
            let near = catalog::closest(rule_id, ids);
            return Err(ExplainError::UnknownRule(rule_id.to_string(), near));
        };
        let in_logs = rule.logs.contains(&record.category);
        let matched = in_logs && trace.outcome;
        let text = format!(
            "{} {} the record at {}:{} (record {}, {} log)\n{}{}",
            rule.info.id,
            if matched { "matches" } else { "does not match" },
            location.path,
            location.line,
            location.record,
            record.category,
            if in_logs {
                String::new()
            } else {
                format!(
                    "the rule reads only {} records, so it is not evaluated on this one; its conditions would give:\n",
                    rule.logs
                        .iter()
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            crate::eval::render_trace(&trace, &rule.conds)
        );
        Ok(Explanation { text, matched })
    }
}
