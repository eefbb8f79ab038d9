//! Rules over many records in a run: the records that take part become
//! compact events on the worker threads ([`extract`]), and the calling
//! thread feeds them to one window or sequence state per rule
//! ([`MultiRun`]), turning the episodes into findings.
//!
//! An event keeps, besides what the engine needs (time, tie key, group key,
//! distinct values, steps), a [`Detail`] for the finding: where the record
//! was read, its id and time text, and only the top-level fields that the
//! rule's `where`, message, keys and a finding's identity read.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::catalog::{FieldPath, Resolved};
use crate::check::{CountCmp, Piece, WindowPart};
use crate::compile::{MultiRule, MultiSpec, Node};
use crate::eval::{self, Scope};
use crate::finding::{Contributor, DistinctValues, Episodic, Finding, SignIn, StepRecords};
use crate::record::{Location, LogCategory, Record};
use crate::window::{
    Admission, Cmp, Episode, Event, LimitError, Limits, SequenceSpec, SequenceState, StepSpec,
    Threshold, Ticks, TieKey, WindowSpec, WindowState,
};

/// How late a record of standard input may come, in event time, behind the
/// newest record seen so far, and still take part: 10 minutes.
pub const LATENESS: Ticks = 10 * 60 * crate::window::TICKS_PER_SECOND;

/// Most contributing records listed in a finding (the total is always
/// given).
pub const MAX_RECORDS_LISTED: usize = 20;

/// What the workers precompute once per rule.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Top-level fields a record's [`Detail`] keeps: `(name, any case)`.
    keep: Vec<(Box<str>, bool)>,
}

/// The fields that identify a record in a finding.
const IDENTITY: [&str; 10] = [
    "id",
    "requestId",
    "createdDateTime",
    "timeGenerated",
    "userPrincipalName",
    "ipAddress",
    "appDisplayName",
    "correlationId",
    "userId",
    "appId",
];

impl Plan {
    /// The plan of one rule.
    pub fn new(rule: &MultiRule) -> Plan {
        let mut keep: Vec<(Box<str>, bool)> = Vec::new();
        let mut add = |path: &FieldPath| {
            if let Some(first) = path.segments().first() {
                let k = (first.clone(), path.is_raw());
                if !keep.contains(&k) {
                    keep.push(k);
                }
            }
        };
        for name in IDENTITY {
            add(&FieldPath::new([name], false));
        }
        for step in &rule.steps {
            for (_, w) in &step.where_ {
                crate::compile::visit_paths(&w.root, &mut add);
            }
        }
        match &rule.spec {
            MultiSpec::Window(w) => {
                w.group_by.iter().for_each(|k| add(&k.path));
                w.distinct.iter().for_each(|(f, _)| add(&f.path));
            }
            MultiSpec::Sequence(s) => {
                s.steps
                    .iter()
                    .flat_map(|s| s.key.iter())
                    .for_each(|k| add(&k.path));
            }
        }
        for piece in &rule.message {
            match piece {
                Piece::Field(f)
                | Piece::Distinct(f)
                | Piece::Step { field: f, .. }
                | Piece::Key { field: f, .. } => add(&f.path),
                Piece::Text(_) | Piece::Count | Piece::Window(_) => {}
            }
        }
        Plan { keep }
    }
}

/// Whether a step's `where` holds between its record (`this`) and a record
/// of the earlier step `earlier` (`other`): a field reference to
/// `earlier` reads `other`; a reference to another step is left to the
/// pair with that step (it counts as holding here); everything else reads
/// `this`.
pub fn holds_across(node: &Node, this: Scope<'_>, earlier: &str, other: Scope<'_>) -> bool {
    match node {
        Node::All(c) => c.iter().all(|n| holds_across(n, this, earlier, other)),
        Node::Any(c) => c.iter().any(|n| holds_across(n, this, earlier, other)),
        Node::Not(c) => !holds_across(c, this, earlier, other),
        Node::Compare(c) => match c.step.as_deref() {
            Some(s) if s == earlier => eval::compare_across(c, this, other),
            Some(_) => true,
            None => eval::matches(node, this),
        },
        Node::Test(_) | Node::Quant { .. } => eval::matches(node, this),
    }
}

/// What a record keeps for a finding of a multi-record rule.
#[derive(Debug, Clone)]
pub struct Detail {
    /// Where it was read.
    location: Location,
    /// Its log.
    category: LogCategory,
    /// Its time, as written in the normal form.
    time: Arc<str>,
    /// The steps it was taken for (bit per step; 1 for windows).
    steps: u64,
    /// The fields the rules' `where`, messages and keys read, and those of
    /// its identity: one map per record, shared by every rule it takes
    /// part in, so a record in four rules is kept once, not four times.
    fields: Arc<Map<String, Value>>,
}

impl Detail {
    /// Heap bytes of a detail, estimated: its time text, and per kept
    /// field a map entry (key, value and a share of a B-tree node) and the
    /// text they hold.
    fn heap_bytes(&self) -> usize {
        fn value_heap(v: &Value) -> usize {
            match v {
                Value::String(s) => s.capacity(),
                Value::Array(a) => {
                    a.capacity() * size_of::<Value>() + a.iter().map(value_heap).sum::<usize>()
                }
                Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| {
                        size_of::<String>() + size_of::<Value>() + k.capacity() + value_heap(v)
                    })
                    .sum(),
                _ => 0,
            }
        }
        // The shared parts count in full here: this is the cost of a record
        // that takes part in one rule; each further rule adds only the rest.
        self.time.len()
            + value_heap(&Value::Object((*self.fields).clone()))
            // B-tree nodes hold up to 11 entries plus links: about 1.3
            // entries' room per entry, and a node header.
            + self.fields.len() * (size_of::<String>() + size_of::<Value>()) / 3
            + 64
    }
}

/// One record taking part in one rule, as the workers give it.
#[derive(Debug, Clone)]
pub struct Part {
    rule: u32,
    time: Ticks,
    tie: TieKey,
    key: Box<[Box<str>]>,
    distinct: Box<[Option<Box<str>>]>,
    detail: Detail,
}

/// The events one record gives, for every multi-record rule it takes part
/// in.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    parts: Vec<Part>,
    /// Whether the record would have taken part in some rule but has no
    /// readable time.
    untimed: bool,
}

impl Parts {
    /// Whether the record takes part in nothing.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && !self.untimed
    }
}

/// The time of a record in ticks: `createdDateTime`, or for Graph activity
/// `timeGenerated`.
fn record_time(record: &Record) -> Option<(Ticks, &str)> {
    let name = if record.category == LogCategory::GraphActivity {
        "timeGenerated"
    } else {
        "createdDateTime"
    };
    let text = record.fields.get(name)?.as_str()?;
    Some((parse_ticks(text)?, text))
}

/// Ticks (100 ns) since the Unix epoch of a record's time, read with the
/// same reader as normalization (7 fraction digits are exact in ticks).
pub fn parse_ticks(text: &str) -> Option<Ticks> {
    let ts = crate::time::parse(text)?;
    Ticks::try_from(ts.as_nanosecond() / 100).ok()
}

/// The normal form of a time in ticks.
pub fn format_ticks(ticks: Ticks) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(ticks) * 100) {
        Ok(ts) => crate::time::format(ts),
        Err(_) => ticks.to_string(),
    }
}

/// A duration written like `12m30s` (whole seconds; `0s` when shorter).
pub fn format_duration(ticks: Ticks) -> String {
    let mut secs = ticks.max(0) / crate::window::TICKS_PER_SECOND;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        let n = secs / size;
        secs %= size;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// The first present, non-blank value at a path, as text.
fn first_text(fields: &Map<String, Value>, path: &FieldPath) -> Option<String> {
    let mut found = None;
    let (first, rest) = path.segments().split_first()?;
    let value = eval::lookup(fields, first, path.is_raw())?;
    crate::record::visit_value(value, rest, path.is_raw(), &mut |v| {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return false,
        };
        if text.is_empty() {
            return false;
        }
        found = Some(text);
        true
    });
    found
}

fn folded(text: String, case_sensitive: bool) -> Box<str> {
    if case_sensitive {
        text.into()
    } else {
        text.to_lowercase().into()
    }
}

/// The record's own identifier: a sign-in's `id`, a Graph call's
/// `requestId`.
fn record_id(fields: &Map<String, Value>) -> Option<&str> {
    ["id", "requestId"].into_iter().find_map(|name| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    })
}

fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What every rule a record takes part in shares: its time text and the
/// fields any rule keeps.
type Shared = (Arc<str>, Arc<Map<String, Value>>);

/// The fields of a record that any rule's plan keeps, in one map.
fn kept_fields(plans: &[Plan], record: &Record) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, raw) in plans.iter().flat_map(|p| p.keep.iter()) {
        let found = if *raw {
            record
                .fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
        } else {
            record.fields.get_key_value(name.as_ref())
        };
        if let Some((k, v)) = found
            && !out.contains_key(k)
        {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// The events of one record for every multi-record rule (with its plan)
/// that reads its log.
pub fn extract(rules: &[MultiRule], plans: &[Plan], record: &Record, location: &Location) -> Parts {
    let mut out = Parts::default();
    let mut timed: Option<Option<(Ticks, &str)>> = None;
    let mut tie: Option<TieKey> = None;
    let mut shared: Option<Shared> = None;
    for (r, rule) in rules.iter().enumerate() {
        if !rule.logs.contains(&record.category) {
            continue;
        }
        let mut steps = 0u64;
        for (i, step) in rule.steps.iter().enumerate() {
            // The step's `where` conditions that read no earlier step are
            // part of its matcher; those that do are asked pair by pair.
            if step.matcher.matches(record) {
                steps |= 1 << i;
            }
        }
        if steps == 0 {
            continue;
        }
        let Some((time, text)) = *timed.get_or_insert_with(|| record_time(record)) else {
            out.untimed = true;
            continue;
        };
        let tie = *tie.get_or_insert_with(|| match record_id(&record.fields) {
            Some(id) => TieKey::from_id(id),
            None => {
                let json = serde_json::to_string(&record.fields).unwrap_or_default();
                TieKey::from_hash(fnv64(json.as_bytes()))
            }
        });
        let (time_text, fields) = shared
            .get_or_insert_with(|| (Arc::from(text), Arc::new(kept_fields(plans, record))))
            .clone();
        let detail = |steps: u64| Detail {
            location: location.clone(),
            category: record.category.clone(),
            time: time_text.clone(),
            steps,
            fields: fields.clone(),
        };
        match &rule.spec {
            MultiSpec::Window(w) => {
                let key: Option<Vec<Box<str>>> = w
                    .group_by
                    .iter()
                    .map(|k| {
                        first_text(&record.fields, &k.path).map(|t| folded(t, w.case_sensitive))
                    })
                    .collect();
                let Some(key) = key else { continue };
                let distinct = w
                    .distinct
                    .iter()
                    .map(|(f, _)| {
                        first_text(&record.fields, &f.path).map(|t| folded(t, w.case_sensitive))
                    })
                    .collect();
                out.parts.push(Part {
                    rule: r as u32,
                    time,
                    tie,
                    key: key.into(),
                    distinct,
                    detail: detail(1),
                });
            }
            MultiSpec::Sequence(s) => {
                // Steps whose keys give the same values share one event.
                let mut by_key: Vec<(Vec<Box<str>>, u64)> = Vec::new();
                for (i, step) in s.steps.iter().enumerate() {
                    if steps >> i & 1 == 0 {
                        continue;
                    }
                    let key: Option<Vec<Box<str>>> = step
                        .key
                        .iter()
                        .map(|k| {
                            first_text(&record.fields, &k.path).map(|t| folded(t, s.case_sensitive))
                        })
                        .collect();
                    let Some(key) = key else { continue };
                    match by_key.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, bits)) => *bits |= 1 << i,
                        None => by_key.push((key, 1 << i)),
                    }
                }
                for (key, bits) in by_key {
                    out.parts.push(Part {
                        rule: r as u32,
                        time,
                        tie,
                        key: key.into(),
                        distinct: Box::new([]),
                        detail: detail(bits),
                    });
                }
            }
        }
    }
    out
}

/// The state of one multi-record rule.
#[derive(Debug)]
enum State {
    Window(WindowState),
    Sequence(SequenceState),
}

fn threshold(t: &crate::check::Threshold) -> Threshold {
    Threshold {
        cmp: match t.cmp {
            CountCmp::Gt => Cmp::Gt,
            CountCmp::Gte => Cmp::Gte,
            CountCmp::Lt => Cmp::Lt,
            CountCmp::Lte => Cmp::Lte,
            CountCmp::Eq => Cmp::Eq,
        },
        value: t.value,
    }
}

/// A step's count as the least number of records it needs.
fn step_min(t: &crate::check::Threshold) -> u64 {
    match t.cmp {
        CountCmp::Gt => t.value.saturating_add(1),
        CountCmp::Gte | CountCmp::Eq => t.value.max(1),
        CountCmp::Lt | CountCmp::Lte => 1,
    }
}

impl State {
    fn new(rule: &MultiRule, limits: Limits) -> State {
        match &rule.spec {
            MultiSpec::Window(w) => State::Window(WindowState::new(
                WindowSpec {
                    span: w.span.ticks,
                    count: w.count.as_ref().map(threshold),
                    distinct: w.distinct.iter().map(|(_, t)| threshold(t)).collect(),
                },
                limits,
            )),
            MultiSpec::Sequence(s) => State::Sequence(SequenceState::new(
                SequenceSpec {
                    span: s.span.ticks,
                    ordered: s.ordered,
                    steps: s
                        .steps
                        .iter()
                        .map(|st| {
                            if st.absent {
                                StepSpec::absent()
                            } else {
                                StepSpec::at_least(step_min(&st.count))
                            }
                        })
                        .collect(),
                },
                limits,
            )),
        }
    }

    fn span(rule: &MultiRule) -> Ticks {
        match &rule.spec {
            MultiSpec::Window(w) => w.span.ticks,
            MultiSpec::Sequence(s) => s.span.ticks,
        }
    }
}

/// A run's multi-record rules: one state per rule, and the details of the
/// records their events stand for.
#[derive(Debug)]
pub struct MultiRun<'r> {
    rules: &'r [MultiRule],
    states: Vec<State>,
    details: Vec<FxHashMap<u64, Detail>>,
    /// Per rule, `(time, tie, key hash)` of the events taken: a record
    /// delivered again (an export read twice, overlapping pages) is used
    /// once.
    taken: Vec<rustc_hash::FxHashSet<(Ticks, TieKey, u64)>>,
    next_payload: u64,
    newest: Option<Ticks>,
    watermark: Option<Ticks>,
    since_sweep: u64,
    limits: Limits,
    /// Records that would have taken part but had no readable time.
    pub untimed: u64,
    /// Events that came behind the watermark.
    pub late: u64,
    /// Events of a record delivered again, used once.
    pub repeated: u64,
}

/// A multi-record rule retains more records than its limit allows.
#[derive(Debug, Clone)]
pub struct Overflow {
    /// The rule.
    pub rule_id: String,
    /// The limit.
    pub error: LimitError,
}

/// What pushing a record's events did.
#[derive(Debug, Default)]
pub struct Pushed {
    /// Findings decided by the watermark moving (standard input).
    pub findings: Vec<Finding>,
    /// Rules for which the record came too late, by id, with where it was
    /// read.
    pub late: Vec<(String, Location)>,
}

impl<'r> MultiRun<'r> {
    /// A state per rule.
    pub fn new(rules: &'r [MultiRule], limits: Limits) -> MultiRun<'r> {
        MultiRun {
            rules,
            states: rules.iter().map(|r| State::new(r, limits)).collect(),
            details: rules.iter().map(|_| FxHashMap::default()).collect(),
            taken: rules.iter().map(|_| Default::default()).collect(),
            next_payload: 0,
            newest: None,
            watermark: None,
            since_sweep: 0,
            limits,
            untimed: 0,
            late: 0,
            repeated: 0,
        }
    }

    /// Pushes one record's events. With `live` (standard input), the
    /// watermark follows the newest time seen minus [`LATENESS`], and the
    /// episodes it decides come back as findings.
    pub fn push(&mut self, parts: Parts, live: bool) -> Result<Pushed, Overflow> {
        let mut pushed = Pushed::default();
        if parts.untimed {
            self.untimed += 1;
        }
        for part in parts.parts {
            let r = part.rule as usize;
            let (Some(state), Some(details), Some(rule), Some(taken)) = (
                self.states.get_mut(r),
                self.details.get_mut(r),
                self.rules.get(r),
                self.taken.get_mut(r),
            ) else {
                continue;
            };
            let key_hash = part.key.iter().fold(0u64, |h, k| {
                fnv64(k.as_bytes()) ^ h.rotate_left(5).wrapping_mul(0x0000_0100_0000_01b3)
            });
            if !taken.insert((part.time, part.tie, key_hash)) {
                self.repeated += 1;
                continue;
            }
            let payload = self.next_payload;
            self.next_payload += 1;
            let key: Vec<&str> = part.key.iter().map(AsRef::as_ref).collect();
            let distinct: Vec<Option<&str>> = part.distinct.iter().map(|d| d.as_deref()).collect();
            let event = Event::new(part.time, part.tie, &key, payload)
                .with_distinct(&distinct)
                .with_steps(part.detail.steps);
            let admitted = match state {
                State::Window(s) => s.push(event),
                State::Sequence(s) => s.push(event),
            };
            // The details count against the limit too: they are what the
            // events stand for.
            let admitted = admitted.and_then(|a| {
                if details.len() >= self.limits.max_retained {
                    Err(LimitError {
                        max_retained: self.limits.max_retained,
                    })
                } else {
                    Ok(a)
                }
            });
            match admitted {
                Ok(Admission::Accepted) => {
                    details.insert(payload, part.detail);
                }
                Ok(Admission::Late) => {
                    self.late += 1;
                    pushed
                        .late
                        .push((rule.info.id.to_string(), part.detail.location));
                }
                Err(error) => {
                    return Err(Overflow {
                        rule_id: rule.info.id.to_string(),
                        error,
                    });
                }
            }
            if live {
                self.newest = Some(self.newest.map_or(part.time, |n| n.max(part.time)));
            }
        }
        if live && let Some(newest) = self.newest {
            let w = newest - LATENESS;
            if self.watermark.is_none_or(|old| w > old) {
                self.watermark = Some(w);
                pushed.findings = self.decide(Some(w));
                self.since_sweep += 1;
                if self.since_sweep >= 1024 {
                    self.since_sweep = 0;
                    self.sweep(w);
                }
            }
        }
        Ok(pushed)
    }

    /// Bytes held for the rules: the engine's retained events
    /// ([`WindowState::retained_bytes`]) and the details of their records
    /// (an estimate: map slots, and each kept field's key and value).
    pub fn retained_bytes(&self) -> usize {
        let engine: usize = self
            .states
            .iter()
            .map(|s| match s {
                State::Window(w) => w.retained_bytes(),
                State::Sequence(q) => q.retained_bytes(),
            })
            .sum();
        let details: usize = self
            .details
            .iter()
            .map(|d| {
                d.capacity() * (size_of::<u64>() + size_of::<Detail>() + 1)
                    + d.values().map(Detail::heap_bytes).sum::<usize>()
            })
            .sum::<usize>()
            + self
                .taken
                .iter()
                .map(|t| t.capacity() * (size_of::<(Ticks, TieKey, u64)>() + 1))
                .sum::<usize>();
        engine + details
    }

    /// The end of input: every episode left, as findings.
    pub fn finish(&mut self) -> Vec<Finding> {
        let out = self.decide(None);
        for d in &mut self.details {
            *d = FxHashMap::default();
        }
        for t in &mut self.taken {
            *t = Default::default();
        }
        out
    }

    /// Drops the details no episode can use any more: events older than
    /// the watermark by three spans (a sequence keeps absent steps two
    /// spans, and a candidate waits one more).
    fn sweep(&mut self, watermark: Ticks) {
        for ((rule, details), taken) in self
            .rules
            .iter()
            .zip(&mut self.details)
            .zip(&mut self.taken)
        {
            let cutoff = watermark.saturating_sub(State::span(rule).saturating_mul(3));
            details.retain(|_, d| parse_ticks(&d.time).is_none_or(|t| t >= cutoff));
            // A repeat older than this would be late anyway.
            taken.retain(|(t, _, _)| *t >= cutoff);
        }
    }

    /// Advances every state to `watermark` (all the way with `None`).
    fn decide(&mut self, watermark: Option<Ticks>) -> Vec<Finding> {
        let mut out = Vec::new();
        for ((rule, state), details) in self.rules.iter().zip(&mut self.states).zip(&self.details) {
            let episodes = match state {
                State::Window(s) => match watermark {
                    Some(w) => s.advance(w),
                    None => s.finish(),
                },
                State::Sequence(s) => {
                    let holds = |later: usize, lp: u64, earlier: usize, ep: u64| {
                        where_holds(rule, details, later, lp, earlier, ep)
                    };
                    match watermark {
                        Some(w) => s.advance(w, &holds),
                        None => s.finish(&holds),
                    }
                }
            };
            out.extend(
                episodes
                    .iter()
                    .filter_map(|e| episode_finding(rule, details, e)),
            );
        }
        out
    }
}

/// The `where` of step `later` between two records.
fn where_holds(
    rule: &MultiRule,
    details: &FxHashMap<u64, Detail>,
    later: usize,
    later_payload: u64,
    earlier: usize,
    earlier_payload: u64,
) -> bool {
    let Some(step) = rule.steps.get(later) else {
        return true;
    };
    let mut programs = step.where_.iter().filter(|(i, _)| *i == earlier).peekable();
    if programs.peek().is_none() {
        return true;
    }
    let Some(name) = rule.steps.get(earlier).and_then(|s| s.name.as_deref()) else {
        return true;
    };
    let (Some(this), Some(other)) = (details.get(&later_payload), details.get(&earlier_payload))
    else {
        return false;
    };
    programs.all(|(_, w)| {
        holds_across(
            &w.root,
            Scope::Fields(&this.fields),
            name,
            Scope::Fields(&other.fields),
        )
    })
}

fn contributor(d: &Detail) -> Contributor {
    Contributor {
        path: d.location.path.to_string(),
        line: d.location.line,
        record: d.location.record,
        id: record_id(&d.fields).map(str::to_string),
        time: d.time.to_string(),
    }
}

/// The key fields of the rule for a record of these steps.
fn key_fields(rule: &MultiRule, steps: u64) -> &[Resolved] {
    match &rule.spec {
        MultiSpec::Window(w) => &w.group_by,
        MultiSpec::Sequence(s) => s
            .steps
            .iter()
            .enumerate()
            .find(|(i, _)| steps >> i & 1 == 1)
            .or_else(|| s.steps.first().map(|st| (0, st)))
            .map_or(&[], |(_, st)| st.key.as_slice()),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The finding of one episode.
fn episode_finding(
    rule: &MultiRule,
    details: &FxHashMap<u64, Detail>,
    episode: &Episode,
) -> Option<Finding> {
    let done = details.get(&episode.completed_by)?;
    let listed = |payloads: &[u64]| -> Vec<&Detail> {
        payloads.iter().filter_map(|p| details.get(p)).collect()
    };
    let contributors = listed(&episode.contributors.payloads);
    // The group: key fields as the completing record writes them.
    let fields = key_fields(rule, done.steps);
    let group: Vec<(String, String)> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let value = first_text(&done.fields, &f.path)
                .or_else(|| episode.key.get(i).map(ToString::to_string))
                .unwrap_or_default();
            (f.path.to_string(), value)
        })
        .collect();
    let distinct: BTreeMap<String, DistinctValues> = match &rule.spec {
        MultiSpec::Window(w) => w
            .distinct
            .iter()
            .zip(&episode.distinct)
            .map(|((f, _), d)| {
                (
                    f.path.to_string(),
                    DistinctValues {
                        values: d
                            .values
                            .iter()
                            .take(MAX_RECORDS_LISTED)
                            .map(ToString::to_string)
                            .collect(),
                        total: d.total,
                    },
                )
            })
            .collect(),
        MultiSpec::Sequence(_) => BTreeMap::new(),
    };
    let steps: Vec<StepRecords> = match &rule.spec {
        MultiSpec::Window(_) => Vec::new(),
        MultiSpec::Sequence(s) => s
            .steps
            .iter()
            .zip(&episode.steps)
            .map(|(st, recs)| StepRecords {
                name: st.name.clone(),
                absent: st.absent,
                records: listed(&recs.payloads)
                    .into_iter()
                    .take(MAX_RECORDS_LISTED)
                    .map(contributor)
                    .collect(),
                total: recs.total,
            })
            .collect(),
    };
    // The message.
    let mut message = String::new();
    for piece in &rule.message {
        match piece {
            Piece::Text(t) => message.push_str(t),
            Piece::Count => {
                let _ = write!(message, "{}", episode.count);
            }
            Piece::Window(WindowPart::Duration) => {
                message.push_str(&format_duration(episode.last - episode.first));
            }
            Piece::Window(WindowPart::Start) => message.push_str(&format_ticks(episode.first)),
            Piece::Window(WindowPart::End) => message.push_str(&format_ticks(episode.last)),
            Piece::Distinct(f) => {
                let total = match &rule.spec {
                    MultiSpec::Window(w) => w
                        .distinct
                        .iter()
                        .position(|(d, _)| d.path == f.path)
                        .and_then(|i| episode.distinct.get(i))
                        .map(|d| d.total),
                    MultiSpec::Sequence(_) => None,
                };
                match total {
                    Some(n) => {
                        let _ = write!(message, "{n}");
                    }
                    None => message.push('-'),
                }
            }
            Piece::Step { step, field } => {
                let at = rule
                    .steps
                    .iter()
                    .position(|s| s.name.as_deref() == Some(step.as_str()));
                let recs = at.and_then(|i| episode.steps.get(i));
                let mut values: Vec<String> = Vec::new();
                for d in recs.map(|r| listed(&r.payloads)).unwrap_or_default() {
                    let mut seen = Vec::new();
                    collect(&d.fields, &field.path, &mut seen);
                    for v in seen {
                        if !values.iter().any(|x| x.eq_ignore_ascii_case(&v)) {
                            values.push(v);
                        }
                    }
                }
                if values.is_empty() {
                    message.push('-');
                } else {
                    message.push_str(&values.join(", "));
                }
            }
            Piece::Key { index, .. } => match group.get(*index) {
                Some((_, v)) if !v.is_empty() => message.push_str(v),
                _ => message.push('-'),
            },
            Piece::Field(f) => {
                let mut seen = Vec::new();
                collect(&done.fields, &f.path, &mut seen);
                if seen.is_empty() {
                    message.push('-');
                } else {
                    message.push_str(&seen.join(", "));
                }
            }
        }
    }
    if rule.message.is_empty() {
        message = rule.info.title.to_string();
    }
    // The fingerprint: rule, group key, first contributing record.
    let mut hasher = Sha256::new();
    hasher.update(rule.info.id.as_bytes());
    hasher.update([0]);
    for k in &episode.key {
        hasher.update(k.as_bytes());
        hasher.update([0]);
    }
    match contributors.first() {
        Some(first) => match record_id(&first.fields) {
            Some(id) => {
                hasher.update(b"id\0");
                hasher.update(id.as_bytes());
            }
            None => {
                hasher.update(b"at\0");
                hasher.update(first.location.path.as_bytes());
                hasher.update([0]);
                hasher.update(first.location.line.to_le_bytes());
                hasher.update(first.location.record.to_le_bytes());
            }
        },
        None => hasher.update(b"none"),
    }
    let mut fingerprint = String::with_capacity(32);
    for byte in hasher.finalize().iter().take(16) {
        let _ = write!(fingerprint, "{byte:02x}");
    }
    let text = |name: &str| match done.fields.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Some(Finding {
        rule_id: rule.info.id.clone(),
        title: rule.info.title.clone(),
        severity: rule.info.severity,
        message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        location: done.location.clone(),
        category: done.category.name().to_string(),
        sign_in: SignIn {
            id: record_id(&done.fields).map(str::to_string),
            created_date_time: text("createdDateTime").or_else(|| text("timeGenerated")),
            user_principal_name: text("userPrincipalName"),
            ip_address: text("ipAddress"),
            app_display_name: text("appDisplayName"),
            correlation_id: text("correlationId"),
        },
        evidence: Vec::new(),
        fingerprint,
        episode: Some(Box::new(Episodic {
            group: group.into_iter().collect(),
            window_start: format_ticks(episode.first),
            window_end: format_ticks(episode.last),
            count: episode.count,
            distinct,
            records: contributors
                .iter()
                .take(MAX_RECORDS_LISTED)
                .map(|d| contributor(d))
                .collect(),
            records_total: episode.contributors.total,
            steps,
        })),
    })
}

/// The present values at a path, as text.
fn collect(fields: &Map<String, Value>, path: &FieldPath, out: &mut Vec<String>) {
    let Some((first, rest)) = path.segments().split_first() else {
        return;
    };
    if let Some(value) = eval::lookup(fields, first, path.is_raw()) {
        crate::record::visit_value(value, rest, path.is_raw(), &mut |v| {
            let t = text_of(v);
            if !t.trim().is_empty() && !out.contains(&t) {
                out.push(t);
            }
            false
        });
    }
}

/// Runs one rule over a few records (a `tests:` case): every record
/// through the same extraction and state as a run; gives the findings.
pub fn run_records(
    rule: &MultiRule,
    records: &[(Record, Location)],
) -> Result<(Vec<Finding>, u64), Overflow> {
    let rules = std::slice::from_ref(rule);
    let plans = [Plan::new(rule)];
    let mut run = MultiRun::new(rules, Limits::default());
    for (record, location) in records {
        run.push(extract(rules, &plans, record, location), false)?;
    }
    Ok((run.finish(), run.untimed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_times_read_exactly() {
        assert_eq!(parse_ticks("1970-01-01T00:00:00.0000001Z"), Some(1));
        assert_eq!(
            parse_ticks("2025-03-01T10:20:30.1234567Z"),
            crate::time::parse("2025-03-01T10:20:30.1234567Z")
                .map(|t| (t.as_nanosecond() / 100) as i64)
        );
        assert_eq!(
            parse_ticks("1969-12-31T23:59:59.0000000Z"),
            Some(-10_000_000)
        );
        assert_eq!(parse_ticks("not a time"), None);
        assert_eq!(
            format_ticks(parse_ticks("2025-03-01T10:20:30.1234567Z").unwrap_or(0)),
            "2025-03-01T10:20:30.1234567Z"
        );
    }

    /// The bytes a participating record costs a window rule, engine and
    /// detail: the README quotes this (run with `--nocapture`).
    #[test]
    fn memory_per_participating_record_is_small() {
        let text = r#"
id: SPRAY-MEM
title: spray
severity: high
match: { status.errorCode: 50126 }
window:
  groupBy: [ipAddress]
  span: 1d
  distinct: { userPrincipalName: { gte: 100000 } }
"#;
        let mut loader = crate::engine::Loader::new();
        loader.add_source("mem.yaml", text);
        let set = loader.load().unwrap_or_else(|_| unreachable!());
        let rules = set.multi();
        let plans: Vec<Plan> = rules.iter().map(Plan::new).collect();
        let mut run = MultiRun::new(rules, Limits::default());
        let n = 20_000u64;
        for i in 0..n {
            let record = crate::ingest::normalize(serde_json::json!({
                "id": format!("00000000-0000-0000-0000-{i:012x}"),
                "createdDateTime": format!("2025-03-01T10:{:02}:{:02}.1234567Z", (i / 60) % 60, i % 60),
                "userPrincipalName": format!("user{i}@contoso.com"),
                "ipAddress": format!("203.0.113.{}", i % 50),
                "appDisplayName": "Office 365 Exchange Online",
                "correlationId": format!("5f8e2c1a-0000-4000-8000-{i:012x}"),
                "status": { "errorCode": 50126 },
            }))
            .unwrap_or_else(|_| unreachable!());
            let location = Location {
                path: "mem".into(),
                line: i + 1,
                record: i,
            };
            let parts = extract(rules, &plans, &record, &location);
            assert!(run.push(parts, false).is_ok());
        }
        let per = run.retained_bytes() as u64 / n;
        println!("bytes per participating record (engine and detail): {per}");
        assert!(per > 0 && per < 2048, "{per}");
    }

    fn spray_set() -> crate::engine::RuleSet {
        let text = r#"
id: SPRAY-LIMIT
title: spray
severity: high
match: { status.errorCode: 50126 }
window: { groupBy: [ipAddress], span: 20m, count: { gte: 100 } }
"#;
        let mut loader = crate::engine::Loader::new();
        loader.add_source("limit.yaml", text);
        loader.load().unwrap_or_else(|_| unreachable!())
    }

    fn failure(i: u64, time: Option<&str>) -> (Record, Location) {
        let mut json = serde_json::json!({
            "id": format!("00000000-0000-0000-0000-{i:012x}"),
            "userPrincipalName": format!("user{i}@contoso.com"),
            "ipAddress": "203.0.113.7",
            "status": { "errorCode": 50126 },
        });
        if let (Some(t), Some(o)) = (time, json.as_object_mut()) {
            o.insert("createdDateTime".into(), t.into());
        }
        let record = crate::ingest::normalize(json).unwrap_or_else(|_| unreachable!());
        let location = Location {
            path: "mem".into(),
            line: i + 1,
            record: i,
        };
        (record, location)
    }

    #[test]
    fn past_the_limit_the_run_stops_naming_the_rule() {
        let set = spray_set();
        let rules = set.multi();
        let plans: Vec<Plan> = rules.iter().map(Plan::new).collect();
        let limits = Limits {
            max_retained: 3,
            ..Limits::default()
        };
        let mut run = MultiRun::new(rules, limits);
        for i in 0..3 {
            let (r, l) = failure(i, Some("2025-03-01T10:00:00Z"));
            assert!(run.push(extract(rules, &plans, &r, &l), false).is_ok());
        }
        let (r, l) = failure(3, Some("2025-03-01T10:00:00Z"));
        let err = run.push(extract(rules, &plans, &r, &l), false).err();
        assert_eq!(err.map(|o| o.rule_id), Some("SPRAY-LIMIT".to_string()));
    }

    #[test]
    fn records_with_no_time_are_counted_and_late_ones_reported() {
        let set = spray_set();
        let rules = set.multi();
        let plans: Vec<Plan> = rules.iter().map(Plan::new).collect();
        let mut run = MultiRun::new(rules, Limits::default());
        let (r, l) = failure(0, None);
        assert!(run.push(extract(rules, &plans, &r, &l), true).is_ok());
        assert_eq!(run.untimed, 1);
        let (r, l) = failure(1, Some("2025-03-01T10:30:00Z"));
        assert!(run.push(extract(rules, &plans, &r, &l), true).is_ok());
        // 10 minutes of lateness: 10:20 is still on time, 10:19 is late.
        let (r, l) = failure(2, Some("2025-03-01T10:20:00.0000001Z"));
        let pushed = run.push(extract(rules, &plans, &r, &l), true);
        assert!(pushed.is_ok_and(|p| p.late.is_empty()));
        let (r, l) = failure(3, Some("2025-03-01T10:19:00Z"));
        let pushed = run.push(extract(rules, &plans, &r, &l), true);
        let late = pushed.map(|p| p.late).unwrap_or_default();
        assert_eq!(late.len(), 1);
        assert_eq!(
            late.first().map(|(id, l)| (id.as_str(), l.line)),
            Some(("SPRAY-LIMIT", 4))
        );
        assert_eq!(run.late, 1);
    }

    #[test]
    fn durations_read_like_spans() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(750 * 10_000_000), "12m30s");
        assert_eq!(format_duration(3600 * 10_000_000), "1h");
    }
}
