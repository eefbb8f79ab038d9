//! On the calling thread: one window or sequence state per rule
//! ([`MultiRun`]), fed the events, checking sequence steps' `where`
//! between records, and giving each closed episode to be rendered.

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::episode::episode_finding;
use super::extract::{Detail, Parts, fnv64};
use super::spill::{SORT_BUFFER, Spill};
use crate::check::CountCmp;
use crate::compile::travel::Place;
use crate::compile::{MultiRule, MultiSpec, Node};
use crate::eval::{self, Scope};
use crate::finding::Finding;
use crate::record::Location;
use crate::window::{
    Admission, Event, LimitError, Limits, SequenceSpec, SequenceState, StepSpec, Threshold, Ticks,
    TieKey, WindowSpec, WindowState,
};

/// How late a record of standard input may come, in event time, behind the
/// newest record seen so far, and still take part: 10 minutes.
pub const LATENESS: Ticks = 10 * 60 * crate::window::TICKS_PER_SECOND;

/// The state of one multi-record rule.
#[derive(Debug)]
enum State {
    Window(WindowState),
    Sequence(SequenceState),
}

fn threshold(t: &crate::check::Threshold) -> Threshold {
    Threshold {
        cmp: t.cmp,
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

    /// How far behind the watermark a record's details may still be used
    /// (see [`MultiRun::sweep`]): a span for a window, two for a sequence.
    fn horizon(rule: &MultiRule) -> Ticks {
        match &rule.spec {
            MultiSpec::Window(w) => w.span.ticks,
            MultiSpec::Sequence(s) => s.span.ticks.saturating_mul(2),
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
    /// A live stream only, per rule: `(time, tie, key hash)` of the events
    /// taken in the last three spans. The engine drops a repeat it holds
    /// beside the first copy; one that comes after the watermark passed
    /// the first copy is recognised here, as a repeat and not as late.
    recent: Vec<rustc_hash::FxHashSet<(Ticks, TieKey, u64)>>,
    /// Records of files, waiting for the end of the input.
    spill: Spill,
    next_payload: u64,
    newest: Option<Ticks>,
    watermark: Option<Ticks>,
    /// The last watermark the rules decided up to.
    decided: Option<Ticks>,
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

/// Why a run's rules over many records cannot go on.
#[derive(Debug)]
pub enum MultiError {
    /// A rule retains more records than its limit allows.
    Limit(Overflow),
    /// The sort buffer's temporary file could not be written or read.
    Spill(std::io::Error),
}

impl From<Overflow> for MultiError {
    fn from(o: Overflow) -> Self {
        MultiError::Limit(o)
    }
}

impl std::fmt::Display for MultiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MultiError::Limit(o) => write!(f, "rule {}: {}", o.rule_id, o.error),
            MultiError::Spill(e) => super::spill::spill_failed(f, e),
        }
    }
}

impl std::error::Error for MultiError {}

/// Records taken, in the end-of-input replay, between two decisions. The
/// tests decide every few records, so their comparisons cross decisions
/// and sweeps.
#[cfg(not(test))]
const DECIDE_EVERY: usize = 1024;
#[cfg(test)]
const DECIDE_EVERY: usize = 3;
/// Decisions between two sweeps of the details no episode can use.
#[cfg(not(test))]
const SWEEP_EVERY: usize = 8;
#[cfg(test)]
const SWEEP_EVERY: usize = 2;

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
    /// A state per rule, with a sort buffer of [`SORT_BUFFER`] bytes.
    pub fn new(rules: &'r [MultiRule], limits: Limits) -> MultiRun<'r> {
        MultiRun {
            rules,
            states: rules.iter().map(|r| State::new(r, limits)).collect(),
            details: rules.iter().map(|_| FxHashMap::default()).collect(),
            recent: rules.iter().map(|_| Default::default()).collect(),
            spill: Spill::new(SORT_BUFFER),
            next_payload: 0,
            newest: None,
            watermark: None,
            decided: None,
            since_sweep: 0,
            limits,
            untimed: 0,
            late: 0,
            repeated: 0,
        }
    }

    /// Pushes one record's events. With `live` (standard input), the
    /// watermark follows the newest time seen minus [`LATENESS`], and the
    /// episodes it decides come back as findings. Otherwise (files, read in
    /// any order) the record waits in the sort buffer for
    /// [`finish`](MultiRun::finish).
    pub fn push(&mut self, parts: Parts, live: bool) -> Result<Pushed, MultiError> {
        let mut pushed = Pushed::default();
        if parts.untimed {
            self.untimed += 1;
        }
        if !live {
            self.spill.push(parts).map_err(MultiError::Spill)?;
            return Ok(pushed);
        }
        // Files read before standard input wait no longer: their records
        // join the rules as they would have without a sort buffer.
        if !self.spill.is_empty() {
            let mut sorted = self.spill.drain().map_err(MultiError::Spill)?;
            while let Some(earlier) = sorted.next().map_err(MultiError::Spill)? {
                self.take(earlier, false, &mut pushed)?;
            }
        }
        self.take(parts, true, &mut pushed)?;
        if let Some(newest) = self.newest {
            let w = newest - LATENESS;
            if self.watermark.is_none_or(|old| w > old) {
                self.watermark = Some(w);
                let mut decided = vec![Vec::new(); self.rules.len()];
                self.decide(Some(w), &mut decided);
                pushed.findings = decided.into_iter().flatten().collect();
                self.since_sweep += 1;
                if self.since_sweep >= 1024 {
                    self.since_sweep = 0;
                    self.sweep(w);
                }
            }
        }
        Ok(pushed)
    }

    /// Gives one record's events to the rules' states. With `live`, a
    /// repeat of a record the watermark has passed is known by
    /// [`MultiRun::recent`], and the newest time is followed.
    pub(super) fn take(
        &mut self,
        parts: Parts,
        live: bool,
        pushed: &mut Pushed,
    ) -> Result<(), Overflow> {
        for part in parts.parts {
            let r = part.rule as usize;
            let (Some(state), Some(details), Some(rule), Some(recent)) = (
                self.states.get_mut(r),
                self.details.get_mut(r),
                self.rules.get(r),
                self.recent.get_mut(r),
            ) else {
                continue;
            };
            if live {
                let key_hash = part.key.iter().fold(0u64, |h, k| {
                    fnv64(k.as_bytes()) ^ h.rotate_left(5).wrapping_mul(0x0000_0100_0000_01b3)
                });
                if !recent.insert((part.time, part.tie, key_hash)) {
                    self.repeated += 1;
                    continue;
                }
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
            // events stand for; those no episode can use are dropped first.
            if details.len() >= self.limits.max_retained
                && let Some(w) = self.decided
            {
                drop_unusable(rule, details, w);
            }
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
                        .push((rule.info.id.to_string(), part.detail.kept.location.clone()));
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
        Ok(())
    }

    /// The same, with a sort buffer of `bytes` (past them, records wait in
    /// temporary files).
    pub fn with_sort_buffer(mut self, bytes: usize) -> Self {
        self.spill = Spill::new(bytes);
        self
    }

    /// How many times the sort buffer was written to a temporary file.
    pub fn spilled(&self) -> usize {
        self.spill.written()
    }

    /// Bytes held for the rules: the engine's retained events
    /// (`WindowState::retained_bytes`) and the details of their records
    /// (an estimate: map slots, and each record's kept part once).
    pub fn retained_bytes(&self) -> usize {
        let engine: usize = self
            .states
            .iter()
            .map(|s| match s {
                State::Window(w) => w.retained_bytes(),
                State::Sequence(q) => q.retained_bytes(),
            })
            .sum();
        // A record's kept part is shared by the rules it takes part in:
        // counted once.
        let mut seen = rustc_hash::FxHashSet::default();
        let kept: usize = self
            .details
            .iter()
            .flat_map(|d| d.values())
            .filter(|d| seen.insert(std::sync::Arc::as_ptr(&d.kept)))
            .map(|d| d.kept.heap_bytes())
            .sum();
        let details: usize = kept
            + self
                .details
                .iter()
                .map(|d| d.capacity() * (size_of::<u64>() + size_of::<Detail>() + 1))
                .sum::<usize>()
            + self
                .recent
                .iter()
                .map(|r| r.capacity() * (size_of::<(Ticks, TieKey, u64)>() + 1))
                .sum::<usize>();
        engine + details + self.spill.bytes()
    }

    /// The end of input: the records in the sort buffer go through the
    /// rules in time order, decided as they pass, then every episode left.
    /// Gives the findings, rule by rule, and the records too late for a
    /// rule (only when standard input came first and set a watermark).
    pub fn finish(&mut self) -> Result<Pushed, MultiError> {
        let mut pushed = Pushed::default();
        let mut decided = vec![Vec::new(); self.rules.len()];
        let mut sorted = self.spill.drain().map_err(MultiError::Spill)?;
        let mut since = 0usize;
        let mut decides = 0usize;
        while let Some(parts) = sorted.next().map_err(MultiError::Spill)? {
            let Some(time) = parts.parts.first().map(|p| p.time) else {
                continue;
            };
            // Every record still to come is at `time` or later: all before
            // it is in and can be decided.
            if since >= DECIDE_EVERY {
                since = 0;
                let w = time.saturating_sub(1);
                self.decide(Some(w), &mut decided);
                decides += 1;
                if decides.is_multiple_of(SWEEP_EVERY) {
                    self.sweep(w);
                }
            }
            since += 1;
            self.take(parts, false, &mut pushed)?;
        }
        drop(sorted);
        self.decide(None, &mut decided);
        pushed.findings = decided.into_iter().flatten().collect();
        for d in &mut self.details {
            *d = FxHashMap::default();
        }
        for r in &mut self.recent {
            *r = Default::default();
        }
        Ok(pushed)
    }

    /// Drops the details no episode can use any more, once the rules have
    /// decided up to `watermark`. A window's next episode completes at a
    /// record after the watermark, so its records are within one span of
    /// it; a sequence's may be a candidate waiting for an `absent` step,
    /// whose last record is within a span and its first within two. The
    /// events of the last three spans stay known, as repeats, on a live
    /// stream.
    fn sweep(&mut self, watermark: Ticks) {
        for ((rule, details), recent) in self
            .rules
            .iter()
            .zip(&mut self.details)
            .zip(&mut self.recent)
        {
            drop_unusable(rule, details, watermark);
            // A repeat older than this would be late anyway.
            let cutoff = watermark.saturating_sub(State::span(rule).saturating_mul(3));
            recent.retain(|(t, _, _)| *t >= cutoff);
        }
    }

    /// Advances every state to `watermark` (all the way with `None`),
    /// adding each rule's findings to its own list in `out`.
    pub(super) fn decide(&mut self, watermark: Option<Ticks>, out: &mut [Vec<Finding>]) {
        if watermark.is_some() {
            self.decided = watermark.max(self.decided);
        }
        for (((rule, state), details), out) in self
            .rules
            .iter()
            .zip(&mut self.states)
            .zip(&mut self.details)
            .zip(out)
        {
            let episodes = match state {
                State::Window(s) => match watermark {
                    Some(w) => s.advance(w),
                    None => s.finish(),
                },
                State::Sequence(s) => {
                    let cache = FieldCache::default();
                    let places = PlaceCache::default();
                    let holds = |later: usize, lp: u64, earlier: usize, ep: u64| {
                        where_holds(rule, details, (&cache, &places), (later, lp), (earlier, ep))
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
            // A record delivered again (an export read twice, overlapping
            // pages) is used once: the engine dropped the repeats.
            let repeats = match state {
                State::Window(s) => s.take_repeats(),
                State::Sequence(s) => s.take_repeats(),
            };
            self.repeated += repeats.len() as u64;
            for payload in repeats {
                details.remove(&payload);
            }
        }
    }
}

/// Drops the details of `rule`'s records that no episode can use once the
/// rule decided up to `watermark` (see [`MultiRun::sweep`]).
fn drop_unusable(rule: &MultiRule, details: &mut FxHashMap<u64, Detail>, watermark: Ticks) {
    let cutoff = watermark.saturating_sub(State::horizon(rule));
    details.retain(|_, d| d.kept.time >= cutoff);
}

/// The fields of records a sequence's `where` compared lately, read back
/// once rather than once per pair: the pairs of one candidate share their
/// records. Bounded: it starts again past [`FieldCache::MAX`] records.
#[derive(Default)]
struct FieldCache(std::cell::RefCell<FxHashMap<u64, std::rc::Rc<Map<String, Value>>>>);

impl FieldCache {
    const MAX: usize = 4096;

    fn fields(
        &self,
        details: &FxHashMap<u64, Detail>,
        payload: u64,
    ) -> Option<std::rc::Rc<Map<String, Value>>> {
        let mut map = self.0.borrow_mut();
        if let Some(f) = map.get(&payload) {
            return Some(std::rc::Rc::clone(f));
        }
        let fields = std::rc::Rc::new(details.get(&payload)?.kept.fields());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(payload, std::rc::Rc::clone(&fields));
        Some(fields)
    }
}

/// The places and times of records a sequence's `travel` compared lately,
/// read back once rather than once per pair, as [`FieldCache`] does for
/// fields. Bounded: it starts again past [`PlaceCache::MAX`] records
/// (about 3 MB).
#[derive(Default)]
struct PlaceCache(std::cell::RefCell<FxHashMap<u64, (Option<Place>, Ticks)>>);

impl PlaceCache {
    const MAX: usize = 1 << 16;

    fn place(
        &self,
        details: &FxHashMap<u64, Detail>,
        payload: u64,
    ) -> Option<(Option<Place>, Ticks)> {
        let mut map = self.0.borrow_mut();
        if let Some(p) = map.get(&payload) {
            return Some(*p);
        }
        let kept = &details.get(&payload)?.kept;
        let place = (kept.point().map(Place::from), kept.time);
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(payload, place);
        Some(place)
    }
}

/// The `where` and `travel` of step `later` between two records, each
/// `(step, payload)`.
fn where_holds(
    rule: &MultiRule,
    details: &FxHashMap<u64, Detail>,
    (cache, places): (&FieldCache, &PlaceCache),
    (later, later_payload): (usize, u64),
    (earlier, earlier_payload): (usize, u64),
) -> bool {
    let Some(step) = rule.steps.get(later) else {
        return true;
    };
    // Travel first: it reads two kept places, no fields.
    if let Some(travel) = step.travel.as_ref().filter(|t| t.from == earlier) {
        let (Some((this, this_time)), Some((other, other_time))) = (
            places.place(details, later_payload),
            places.place(details, earlier_payload),
        ) else {
            return false;
        };
        if !travel.holds(other.as_ref(), other_time, this.as_ref(), this_time) {
            return false;
        }
    }
    let mut programs = step.where_.iter().filter(|(i, _)| *i == earlier).peekable();
    if programs.peek().is_none() {
        return true;
    }
    let Some(name) = rule.steps.get(earlier).and_then(|s| s.name.as_deref()) else {
        return true;
    };
    let (Some(this), Some(other)) = (
        cache.fields(details, later_payload),
        cache.fields(details, earlier_payload),
    ) else {
        return false;
    };
    programs.all(|(_, w)| holds_across(&w.root, Scope::Fields(&this), name, Scope::Fields(&other)))
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
