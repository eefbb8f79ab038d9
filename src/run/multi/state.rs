//! On the calling thread: one window or sequence state per rule
//! ([`MultiRun`]), fed the events, checking sequence steps' `where`
//! between records, and giving each closed episode to be rendered.

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::episode::episode_finding;
use super::extract::{Detail, Part, Parts, fnv64};
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
    /// Each rule's own part, by rule.
    lanes: Vec<Lane>,
    /// Records of files, waiting for the end of the input.
    spill: Spill,
    next_payload: u64,
    newest: Option<Ticks>,
    watermark: Option<Ticks>,
    /// The last watermark the rules decided up to.
    decided: Option<Ticks>,
    since_sweep: u64,
    limits: Limits,
    /// Threads the end-of-input replay may split the rules over.
    threads: usize,
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
            lanes: rules.iter().map(|r| Lane::new(r, limits)).collect(),
            spill: Spill::new(SORT_BUFFER),
            next_payload: 0,
            newest: None,
            watermark: None,
            decided: None,
            since_sweep: 0,
            limits,
            threads: 1,
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
            for part in &parts.parts {
                if let Some(lane) = self.lanes.get_mut(part.rule as usize) {
                    lane.waiting += 1;
                }
            }
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
            for lane in &mut self.lanes {
                lane.waiting = 0;
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
    /// [`Lane::recent`], and the newest time is followed.
    pub(super) fn take(
        &mut self,
        parts: Parts,
        live: bool,
        pushed: &mut Pushed,
    ) -> Result<(), Overflow> {
        for part in parts.parts {
            let r = part.rule as usize;
            let (Some(lane), Some(rule)) = (self.lanes.get_mut(r), self.rules.get(r)) else {
                continue;
            };
            let time = part.time;
            match lane.take(
                rule,
                part,
                self.next_payload,
                live,
                self.limits,
                self.decided,
            )? {
                Took::Repeated => {
                    self.repeated += 1;
                    continue;
                }
                Took::Accepted => {}
                Took::Late(location) => {
                    self.late += 1;
                    pushed.late.push((rule.info.id.to_string(), location));
                }
            }
            self.next_payload += 1;
            if live {
                self.newest = Some(self.newest.map_or(time, |n| n.max(time)));
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

    /// The same, with the end-of-input replay split over up to `threads`
    /// threads, each taking some of the rules (1: on the calling thread).
    /// The findings do not depend on it.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
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
            .lanes
            .iter()
            .map(|l| match &l.state {
                State::Window(w) => w.retained_bytes(),
                State::Sequence(q) => q.retained_bytes(),
            })
            .sum();
        // A record's kept part is shared by the rules it takes part in:
        // counted once.
        let mut seen = rustc_hash::FxHashSet::default();
        let kept: usize = self
            .lanes
            .iter()
            .flat_map(|l| l.details.values())
            .filter(|d| seen.insert(std::sync::Arc::as_ptr(&d.kept)))
            .map(|d| d.kept.heap_bytes())
            .sum();
        let details: usize = kept
            + self
                .lanes
                .iter()
                .map(|l| {
                    l.details.capacity() * (size_of::<u64>() + size_of::<Detail>() + 1)
                        + l.recent.capacity() * (size_of::<(Ticks, TieKey, u64)>() + 1)
                })
                .sum::<usize>();
        engine + details + self.spill.bytes()
    }

    /// The end of input: the records in the sort buffer go through the
    /// rules in time order, decided as they pass, then every episode left.
    /// Gives the findings, rule by rule, and the records too late for a
    /// rule (only when standard input came first and set a watermark).
    ///
    /// The rules are independent here, so with [`MultiRun::with_threads`]
    /// they are split over threads, each replaying the records of its
    /// rules, while the calling thread reads the sort buffer; every replay
    /// decides at the same records as one replay of all the rules would,
    /// so the findings are the same.
    pub fn finish(&mut self) -> Result<Pushed, MultiError> {
        let sorted = self.spill.drain().map_err(MultiError::Spill)?;
        let groups = self.threads.min(self.lanes.len()).max(1);
        let first = self.next_payload;
        let share = share(&self.lanes, groups);
        let mut lanes: Vec<Vec<(usize, &mut Lane)>> = (0..groups).map(|_| Vec::new()).collect();
        for ((r, lane), g) in self.lanes.iter_mut().enumerate().zip(&share) {
            lane.waiting = 0;
            if let Some(group) = lanes.get_mut(*g) {
                group.push((r, lane));
            }
        }
        let replays: Vec<Replay<'_>> = lanes
            .into_iter()
            .map(|lanes| Replay::new(self.rules, self.limits, self.decided, lanes))
            .collect();
        let outcome = split(sorted, first, &share, replays);
        for lane in &mut self.lanes {
            lane.details = FxHashMap::default();
            lane.recent = Default::default();
        }
        let ends: Vec<Ended> = outcome.map_err(MultiError::Spill)?;
        let mut decided = vec![Vec::new(); self.rules.len()];
        let mut late = Vec::new();
        let mut error: Option<(Position, Overflow)> = None;
        for end in ends {
            self.late += end.late.len() as u64;
            self.repeated += end.repeated;
            late.extend(end.late);
            for (r, found) in end.found {
                if let Some(slot) = decided.get_mut(r) {
                    *slot = found;
                }
            }
            if let Some((at, overflow)) = end.error
                && error.as_ref().is_none_or(|(first, _)| at < *first)
            {
                error = Some((at, overflow));
            }
        }
        if let Some((_, overflow)) = error {
            return Err(overflow.into());
        }
        late.sort_by_key(|(at, _, _)| *at);
        Ok(Pushed {
            findings: decided.into_iter().flatten().collect(),
            late: late.into_iter().map(|(_, id, l)| (id, l)).collect(),
        })
    }

    /// Drops the details no episode can use any more, once the rules have
    /// decided up to `watermark` (see [`Lane::sweep`]).
    fn sweep(&mut self, watermark: Ticks) {
        for (rule, lane) in self.rules.iter().zip(&mut self.lanes) {
            lane.sweep(rule, watermark);
        }
    }

    /// Advances every state to `watermark` (all the way with `None`),
    /// adding each rule's findings to its own list in `out`.
    pub(super) fn decide(&mut self, watermark: Option<Ticks>, out: &mut [Vec<Finding>]) {
        if watermark.is_some() {
            self.decided = watermark.max(self.decided);
        }
        for ((rule, lane), out) in self.rules.iter().zip(&mut self.lanes).zip(out) {
            self.repeated += lane.decide(rule, watermark, out);
        }
    }
}

/// One rule's own part of a run: its state, the details of the records
/// its events stand for, and the events it took lately.
#[derive(Debug)]
struct Lane {
    state: State,
    details: FxHashMap<u64, Detail>,
    /// A live stream only: `(time, tie, key hash)` of the events taken in
    /// the last three spans. The engine drops a repeat it holds beside the
    /// first copy; one that comes after the watermark passed the first
    /// copy is recognised here, as a repeat and not as late.
    recent: rustc_hash::FxHashSet<(Ticks, TieKey, u64)>,
    /// Events waiting in the sort buffer: how the replay shares out the
    /// rules.
    waiting: u64,
}

/// What taking one part came to.
enum Took {
    Accepted,
    /// A repeat known by [`Lane::recent`]: not taken.
    Repeated,
    /// Behind the watermark, read there.
    Late(Location),
}

impl Lane {
    fn new(rule: &MultiRule, limits: Limits) -> Lane {
        Lane {
            state: State::new(rule, limits),
            details: FxHashMap::default(),
            recent: Default::default(),
            waiting: 0,
        }
    }

    /// Gives a record's part to the state as event `payload`. `decided` is
    /// the watermark the rules last decided up to.
    fn take(
        &mut self,
        rule: &MultiRule,
        part: Part,
        payload: u64,
        live: bool,
        limits: Limits,
        decided: Option<Ticks>,
    ) -> Result<Took, Overflow> {
        if live {
            let key_hash = part.key.iter().fold(0u64, |h, k| {
                fnv64(k.as_bytes()) ^ h.rotate_left(5).wrapping_mul(0x0000_0100_0000_01b3)
            });
            if !self.recent.insert((part.time, part.tie, key_hash)) {
                return Ok(Took::Repeated);
            }
        }
        let key: Vec<&str> = part.key.iter().map(AsRef::as_ref).collect();
        let distinct: Vec<Option<&str>> = part.distinct.iter().map(|d| d.as_deref()).collect();
        let event = Event::new(part.time, part.tie, &key, payload)
            .with_distinct(&distinct)
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
    fn sweep(&mut self, rule: &MultiRule, watermark: Ticks) {
        drop_unusable(rule, &mut self.details, watermark);
        // A repeat older than this would be late anyway.
        let cutoff = watermark.saturating_sub(State::span(rule).saturating_mul(3));
        self.recent.retain(|(t, _, _)| *t >= cutoff);
    }

    /// Advances the state to `watermark` (all the way with `None`), adding
    /// the rule's findings to `out`; gives how many repeats the engine
    /// dropped.
    fn decide(
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

/// Where a part stands in the replay: its record's place in time order,
/// then its place among the record's parts.
type Position = (u64, usize);

/// One step of the end-of-input replay, for the rules of one [`Replay`].
enum Step {
    /// A record's parts for these rules, each with its position and its
    /// event number.
    Take(Vec<(Position, u64, Part)>),
    /// Decide up to the watermark.
    Decide(Ticks),
    /// Drop the details no episode can use (after a decision).
    Sweep(Ticks),
}

/// The end-of-input replay of some of a run's rules: each rule's lane and
/// what it decided.
struct Replay<'a> {
    rules: &'a [MultiRule],
    limits: Limits,
    decided: Option<Ticks>,
    /// Rule index and lane, in rule order.
    lanes: Vec<(usize, &'a mut Lane)>,
    /// Findings, by lane.
    found: Vec<Vec<Finding>>,
    late: Vec<(Position, String, Location)>,
    repeated: u64,
    /// The first rule to overflow, where; nothing is taken after it.
    error: Option<(Position, Overflow)>,
}

/// What a replay came to.
struct Ended {
    /// Findings by rule index.
    found: Vec<(usize, Vec<Finding>)>,
    late: Vec<(Position, String, Location)>,
    repeated: u64,
    error: Option<(Position, Overflow)>,
}

impl<'a> Replay<'a> {
    fn new(
        rules: &'a [MultiRule],
        limits: Limits,
        decided: Option<Ticks>,
        lanes: Vec<(usize, &'a mut Lane)>,
    ) -> Replay<'a> {
        Replay {
            rules,
            limits,
            decided,
            found: lanes.iter().map(|_| Vec::new()).collect(),
            lanes,
            late: Vec::new(),
            repeated: 0,
            error: None,
        }
    }

    fn step(&mut self, step: Step) {
        if self.error.is_some() {
            return;
        }
        match step {
            Step::Take(parts) => {
                for (at, payload, part) in parts {
                    let Some((r, lane)) = self
                        .lanes
                        .iter_mut()
                        .find(|(r, _)| *r == part.rule as usize)
                    else {
                        continue;
                    };
                    let Some(rule) = self.rules.get(*r) else {
                        continue;
                    };
                    match lane.take(rule, part, payload, false, self.limits, self.decided) {
                        Ok(Took::Accepted | Took::Repeated) => {}
                        Ok(Took::Late(location)) => {
                            self.late.push((at, rule.info.id.to_string(), location));
                        }
                        Err(overflow) => {
                            self.error = Some((at, overflow));
                            return;
                        }
                    }
                }
            }
            Step::Decide(w) => self.decide(Some(w)),
            Step::Sweep(w) => {
                for (r, lane) in &mut self.lanes {
                    if let Some(rule) = self.rules.get(*r) {
                        lane.sweep(rule, w);
                    }
                }
            }
        }
    }

    fn decide(&mut self, watermark: Option<Ticks>) {
        if watermark.is_some() {
            self.decided = watermark.max(self.decided);
        }
        for ((r, lane), out) in self.lanes.iter_mut().zip(&mut self.found) {
            if let Some(rule) = self.rules.get(*r) {
                self.repeated += lane.decide(rule, watermark, out);
            }
        }
    }

    /// Decides every episode left.
    fn end(mut self) -> Ended {
        if self.error.is_none() {
            self.decide(None);
        }
        Ended {
            found: self.lanes.iter().map(|(r, _)| *r).zip(self.found).collect(),
            late: self.late,
            repeated: self.repeated,
            error: self.error,
        }
    }
}

/// Replays the sorted records, in time order, as steps for the replays
/// (rule `r` in replay `share[r]`): their parts with event numbers from
/// `first`, a decision every [`DECIDE_EVERY`] records (up to
/// just before the record at hand: every record still to come is at its
/// time or later) and a sweep every [`SWEEP_EVERY`] decisions. `send` gets
/// each replay's steps, a decision's worth at a time.
fn feed(
    mut sorted: super::spill::Sorted,
    first: u64,
    share: &[usize],
    groups: usize,
    send: &mut dyn FnMut(usize, Vec<Step>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut batches: Vec<Vec<Step>> = (0..groups).map(|_| Vec::new()).collect();
    let mut payload = first;
    let mut since = 0usize;
    let mut decides = 0usize;
    let mut record = 0u64;
    let mut flush = |batches: &mut Vec<Vec<Step>>| -> std::io::Result<()> {
        for (g, batch) in batches.iter_mut().enumerate() {
            if !batch.is_empty() {
                send(g, std::mem::take(batch))?;
            }
        }
        Ok(())
    };
    while let Some(parts) = sorted.next()? {
        let Some(time) = parts.parts.first().map(|p| p.time) else {
            continue;
        };
        if since >= DECIDE_EVERY {
            since = 0;
            let w = time.saturating_sub(1);
            decides += 1;
            for batch in &mut batches {
                batch.push(Step::Decide(w));
                if decides.is_multiple_of(SWEEP_EVERY) {
                    batch.push(Step::Sweep(w));
                }
            }
            flush(&mut batches)?;
        }
        since += 1;
        let mut mine: Vec<Vec<(Position, u64, Part)>> = (0..groups).map(|_| Vec::new()).collect();
        for (i, part) in parts.parts.into_iter().enumerate() {
            if let Some(to) = share.get(part.rule as usize).and_then(|g| mine.get_mut(*g)) {
                to.push(((record, i), payload, part));
            }
            payload += 1;
        }
        for (batch, parts) in batches.iter_mut().zip(mine) {
            if !parts.is_empty() {
                batch.push(Step::Take(parts));
            }
        }
        record += 1;
    }
    flush(&mut batches)
}

/// Which of `groups` replays each rule goes to: the rules with the most
/// events waiting first, each to the replay with the fewest so far.
fn share(lanes: &[Lane], groups: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lanes.len()).collect();
    order.sort_by_key(|r| std::cmp::Reverse(lanes.get(*r).map_or(0, |l| l.waiting)));
    let mut load = vec![0u64; groups.max(1)];
    let mut share = vec![0; lanes.len()];
    for r in order {
        if let Some((g, least)) = load.iter_mut().enumerate().min_by_key(|(_, n)| **n) {
            *least += lanes.get(r).map_or(0, |l| l.waiting).max(1);
            if let Some(slot) = share.get_mut(r) {
                *slot = g;
            }
        }
    }
    share
}

/// Runs the first replay on the calling thread, as it reads the sort
/// buffer, and each other one (if any) on a thread of its own.
fn split(
    sorted: super::spill::Sorted,
    first: u64,
    share: &[usize],
    replays: Vec<Replay<'_>>,
) -> std::io::Result<Vec<Ended>> {
    let groups = replays.len();
    let mut replays = replays.into_iter();
    let Some(mut here) = replays.next() else {
        return Ok(Vec::new());
    };
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(groups);
        let mut handles = Vec::with_capacity(groups);
        for mut replay in replays {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Step>>(4);
            senders.push(tx);
            handles.push(scope.spawn(move || {
                for steps in rx {
                    steps.into_iter().for_each(|step| replay.step(step));
                }
                replay.end()
            }));
        }
        let fed = feed(sorted, first, share, groups, &mut |g, steps| {
            match g.checked_sub(1) {
                None => steps.into_iter().for_each(|step| here.step(step)),
                // A replay only stops taking, never receiving: a send
                // fails only if its thread panicked, which the join below
                // passes on.
                Some(i) => {
                    if let Some(tx) = senders.get(i) {
                        let _ = tx.send(steps);
                    }
                }
            }
            Ok(())
        });
        drop(senders);
        let mut ends = vec![here.end()];
        for handle in handles {
            match handle.join() {
                Ok(end) => ends.push(end),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        fed.map(|()| ends)
    })
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
