//! One rule over many records in a run: its window or sequence state, the
//! details of the records its events stand for, and how a sequence's
//! `where` and `travel` are asked of two of them.

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::episode::episode_finding;
use super::extract::{Detail, Part};
use crate::check::CountCmp;
use crate::compile::travel::Place;
use crate::compile::{MultiRule, MultiSpec, Node};
use crate::eval::{self, Scope};
use crate::finding::Finding;
use crate::record::Location;
use crate::window::{
    Admission, Event, Key, LimitError, Limits, SequenceSpec, SequenceState, StepSpec, Threshold,
    Ticks, TieKey, WindowSpec, WindowState,
};

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
    /// (see [`MultiRun::sweep`](super::state::MultiRun::sweep)): a span for a window, two for a sequence.
    fn horizon(rule: &MultiRule) -> Ticks {
        match &rule.spec {
            MultiSpec::Window(w) => w.span.ticks,
            MultiSpec::Sequence(s) => s.span.ticks.saturating_mul(2),
        }
    }
}

/// A multi-record rule retains more records than its limit allows.
#[derive(Debug, Clone)]
pub struct Overflow {
    /// The rule.
    pub rule_id: String,
    /// The limit.
    pub error: LimitError,
}

/// One rule's own part of a run: its state, the details of the records
/// its events stand for, and the events it took lately.
#[derive(Debug)]
pub(super) struct Lane {
    state: State,
    details: FxHashMap<u64, Detail>,
    /// A live stream only: `(time, tie, key)` of the events taken in the
    /// last three spans. The engine drops a repeat it holds beside the
    /// first copy; one that comes after the watermark passed the first
    /// copy is recognised here, as a repeat and not as late. The key is
    /// held, not a hash of it: two parts of one record (one per value of a
    /// list it is grouped by) are never taken for each other.
    recent: rustc_hash::FxHashSet<(Ticks, TieKey, Key)>,
    /// Events waiting in the sort buffer: how the replay shares out the
    /// rules.
    pub(super) waiting: u64,
}

/// What taking one part came to.
pub(super) enum Took {
    Accepted,
    /// A repeat known by [`Lane::recent`]: not taken.
    Repeated,
    /// Behind the watermark, read there.
    Late(Location),
}

impl Lane {
    pub(super) fn new(rule: &MultiRule, limits: Limits) -> Lane {
        Lane {
            state: State::new(rule, limits),
            details: FxHashMap::default(),
            recent: Default::default(),
            waiting: 0,
        }
    }

    /// The details of the records its events stand for.
    pub(super) fn details(&self) -> impl Iterator<Item = &Detail> {
        self.details.values()
    }

    /// Bytes the engine retains (`WindowState::retained_bytes`), and an
    /// estimate of the slots of its details and recent events (not the
    /// records' kept parts, which rules share).
    pub(super) fn retained_bytes(&self) -> usize {
        let engine = match &self.state {
            State::Window(w) => w.retained_bytes(),
            State::Sequence(q) => q.retained_bytes(),
        };
        engine
            + self.details.capacity() * (size_of::<u64>() + size_of::<Detail>() + 1)
            + self.recent.capacity() * (size_of::<(Ticks, TieKey, Key)>() + 1)
            + self
                .recent
                .iter()
                .map(|(_, _, k)| k.as_str().len())
                .sum::<usize>()
    }

    /// Forgets every record: the end of the input.
    pub(super) fn forget(&mut self) {
        self.details = FxHashMap::default();
        self.recent = Default::default();
    }

    /// Gives a record's part to the state as event `payload`. `decided` is
    /// the watermark the rules last decided up to.
    pub(super) fn take(
        &mut self,
        rule: &MultiRule,
        part: Part,
        payload: u64,
        live: bool,
        limits: Limits,
        decided: Option<Ticks>,
    ) -> Result<Took, Overflow> {
        if live && !self.recent.insert((part.time, part.tie, part.key.clone())) {
            return Ok(Took::Repeated);
        }
        // A window's few distinct values borrowed on the stack, not in a
        // vector of their own.
        let (small, large): ([Option<&str>; 4], Vec<Option<&str>>);
        let distinct: &[Option<&str>] = if part.distinct.len() <= 4 {
            small = std::array::from_fn(|i| part.distinct.get(i).and_then(|d| d.as_deref()));
            small.get(..part.distinct.len()).unwrap_or_default()
        } else {
            large = part.distinct.iter().map(|d| d.as_deref()).collect();
            &large
        };
        let event = Event::new(part.time, part.tie, &part.key, payload)
            .with_distinct(distinct)
            .with_steps(part.detail.steps);
        let admitted = match &mut self.state {
            State::Window(s) => s.push(event),
            State::Sequence(s) => s.push(event),
        };
        // The details count against the limit too: they are what the
        // events stand for; those no episode can use are dropped first.
        if self.details.len() >= limits.max_retained
            && let Some(w) = decided
        {
            drop_unusable(rule, &mut self.details, w);
        }
        let admitted = admitted.and_then(|a| {
            if self.details.len() >= limits.max_retained {
                Err(LimitError {
                    max_retained: limits.max_retained,
                })
            } else {
                Ok(a)
            }
        });
        match admitted {
            Ok(Admission::Accepted) => {
                self.details.insert(payload, part.detail);
                Ok(Took::Accepted)
            }
            Ok(Admission::Late) => Ok(Took::Late(part.detail.kept.location.clone())),
            Err(error) => Err(Overflow {
                rule_id: rule.info.id.to_string(),
                error,
            }),
        }
    }

    /// Drops the details no episode can use any more, once the rule has
    /// decided up to `watermark`. A window's next episode completes at a
    /// record after the watermark, so its records are within one span of
    /// it; a sequence's may be a candidate waiting for an `absent` step,
    /// whose last record is within a span and its first within two. The
    /// events of the last three spans stay known, as repeats, on a live
    /// stream.
    pub(super) fn sweep(&mut self, rule: &MultiRule, watermark: Ticks) {
        drop_unusable(rule, &mut self.details, watermark);
        // A repeat older than this would be late anyway.
        let cutoff = watermark.saturating_sub(State::span(rule).saturating_mul(3));
        self.recent.retain(|(t, _, _)| *t >= cutoff);
    }

    /// Advances the state to `watermark` (all the way with `None`), adding
    /// the rule's findings to `out`; gives how many repeats the engine
    /// dropped.
    pub(super) fn decide(
        &mut self,
        rule: &MultiRule,
        watermark: Option<Ticks>,
        out: &mut Vec<Finding>,
    ) -> u64 {
        let details = &mut self.details;
        let episodes = match &mut self.state {
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
        let repeats = match &mut self.state {
            State::Window(s) => s.take_repeats(),
            State::Sequence(s) => s.take_repeats(),
        };
        for payload in &repeats {
            details.remove(payload);
        }
        repeats.len() as u64
    }
}

/// Drops the details of `rule`'s records that no episode can use once the
/// rule decided up to `watermark` (see [`MultiRun::sweep`](super::state::MultiRun::sweep)).
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
