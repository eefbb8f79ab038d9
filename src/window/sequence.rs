//! Sequences: steps in order (or in any order) within a span, possibly with
//! a step that must be absent.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::FxHashMap;

use super::intern::key_parts;
use super::sliding::EXPIRE_EVERY;
use super::{
    Admission, Episode, Event, Intake, LimitError, Limits, Pending, Ready, Reuse, Spare, Ticks,
    TieKey, capped, shrink, sort_episodes,
};

/// One step of a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepSpec {
    /// At least this many records of the step (the rule's `count`, 1 by
    /// default). Ignored for an absent step.
    pub min: u64,
    /// The step holds when no record of it with the same key lies within
    /// `span` of the other steps' records, before or after.
    pub absent: bool,
}

impl StepSpec {
    /// A step needing at least `min` records.
    pub const fn at_least(min: u64) -> Self {
        Self { min, absent: false }
    }

    /// A step that must be absent.
    pub const fn absent() -> Self {
        Self {
            min: 0,
            absent: true,
        }
    }
}

/// What a `sequence` asks of each group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSpec {
    /// Ticks from the first contributing record to the last, inclusive.
    pub span: Ticks,
    /// Whether the present steps must occur in step order in time (equal
    /// times count as in order).
    pub ordered: bool,
    /// The steps, at most 63.
    pub steps: Vec<StepSpec>,
}

/// Set in [`SeqEvent::steps`] once the event is consumed.
const USED: u64 = 1 << 63;

/// A processed event of a group.
#[derive(Debug, Clone, Copy)]
pub(super) struct SeqEvent {
    time: Ticks,
    payload: u64,
    /// Bit `i` for step `i`, and [`USED`].
    steps: u64,
}

#[derive(Debug, Default)]
struct SeqGroup {
    events: VecDeque<SeqEvent>,
    /// Per step, how many events of `events` match it and are not
    /// consumed: when one is below the step's minimum, no search is needed.
    free: Vec<u32>,
    /// Candidates of this group waiting for their absent steps.
    candidates: Vec<u64>,
}

impl Reuse for SeqGroup {
    fn clear(&mut self) {
        self.events.clear();
        self.free.clear();
        self.candidates.clear();
    }

    fn room(&self) -> usize {
        self.events.capacity().max(self.candidates.capacity())
    }

    fn bytes(&self) -> usize {
        self.events.capacity() * size_of::<SeqEvent>()
            + self.free.capacity() * size_of::<u32>()
            + self.candidates.capacity() * size_of::<u64>()
    }
}

impl SeqGroup {
    /// Counts the free events of each step `steps` has, up (`1`) or down.
    fn count(&mut self, steps: u64, up: bool) {
        if steps & USED != 0 {
            return;
        }
        for (s, n) in self.free.iter_mut().enumerate() {
            if steps >> s & 1 == 1 {
                *n = if up { *n + 1 } else { n.saturating_sub(1) };
            }
        }
    }
}

/// Present steps matched, waiting for the absent steps to be decided.
#[derive(Debug)]
struct Candidate {
    group: u32,
    first: Ticks,
    last: Ticks,
    completed_by: u64,
    tie: TieKey,
    /// Per step, `(time, payload)` of its records, in order.
    chosen: Vec<Vec<(Ticks, u64)>>,
    blocked: bool,
}

/// The `where` conditions across steps (and a step's `travel`), as a
/// relation between two records:
/// `holds(later_step, later_payload, earlier_step, earlier_payload)`, with
/// `earlier_step < later_step` in step order. It is asked for every pair of
/// contributing records of two present steps, so a condition against a step
/// with several records holds when it holds for each of them. Return `true`
/// when the later step has no condition on the earlier one.
pub type Where<'a> = &'a dyn Fn(usize, u64, usize, u64) -> bool;

/// The state of one `sequence` rule: push events, advance the watermark,
/// collect [`Episode`]s.
///
/// # Matching
///
/// Per group, events are processed in `(time, tie)` order. At each event `e`
/// that matches a present step, the engine looks for an assignment of
/// unconsumed events of the group within `[e.time - span, e.time]` to the
/// present steps: each step gets at least its `min` events, an event serves
/// one step, `e` itself must be assigned (it completes the sequence), every
/// pair of events of two steps satisfies [`Where`], and, when `ordered`,
/// every event of a step is at or after (in time) every event of the steps
/// before it.
///
/// The search is greedy, backwards from `e`. When not `ordered`, `e` is
/// first placed in the last step it matches (then the one before, if that
/// leads nowhere). The present steps are then filled from the last to the
/// first, each taking the *latest* eligible events (not taken, matching the
/// step, at or before the earliest event taken by the next step when
/// `ordered`, and satisfying [`Where`] with every event already taken) until
/// it has `min`. Then each step, first to last, is extended with every other
/// eligible event of the window (still between its neighbours when
/// `ordered`, still satisfying [`Where`] with all events taken), so an
/// episode of "10 failures then a success" with 15 failures in the span
/// lists and consumes all 15.
///
/// The search is exact (it finds an assignment whenever one exists, so an
/// episode completes at the earliest event that can complete it; the tests
/// check this against an exhaustive search) when each event matches one
/// step and either there is no `where`, or there are two present steps and
/// the second needs one event: taking the latest events first leaves the
/// most room to the earlier steps. It is not exhaustive when an event
/// matches several present steps (the later step gets it), or when a
/// `where` relates two steps of which neither is the completing event's (for
/// `A, B, C` with `B.ip = A.ip`, the latest `B` is taken even if only an
/// older `B` has a matching `A`), or a step needing several events to a
/// later one. It never backtracks: its cost per event is linear in the
/// group's window (times the `where` checks), and no search runs while a
/// step lacks events, or, `ordered`, when the newest event cannot be the
/// last.
///
/// # Absent steps
///
/// Once the present steps are assigned (`first`..`last`), the episode holds
/// when no event of an absent step with the same key has its time within
/// `[first - span, last + span]`, other than the assigned events. Events
/// before are checked at once: if one is found, nothing fires and nothing is
/// consumed. Otherwise the assigned events are consumed and the candidate is
/// decided when the watermark reaches `last + span` (or at
/// [`finish`](Self::finish)): it becomes an episode unless an absent event
/// came within the span after it. A candidate so disqualified keeps its
/// events consumed. Where an absent step sits in the step list does not
/// matter, and a sequence with only absent steps never fires. With absent
/// steps, every episode of the rule is reported `span` after its last record.
#[derive(Debug)]
pub struct SequenceState {
    spec: SequenceSpec,
    pub(super) intake: Intake,
    present: u64,
    absent: u64,
    groups: FxHashMap<u32, SeqGroup>,
    spare: Spare<SeqGroup>,
    /// `(time, group)`, at most the time of the group's oldest event (see
    /// [`WindowState`](super::WindowState)).
    expiry: BinaryHeap<Reverse<(Ticks, u32)>>,
    candidates: FxHashMap<u64, Candidate>,
    /// Candidates by decision time `last + span`, in creation order.
    decisions: VecDeque<(Ticks, u64)>,
    next_candidate: u64,
}

impl SequenceState {
    /// A state for `spec` within `limits`. A negative span counts as 0;
    /// steps past the 63rd are ignored.
    pub fn new(mut spec: SequenceSpec, limits: Limits) -> Self {
        spec.span = spec.span.max(0);
        spec.steps.truncate(63);
        let mut present = 0;
        let mut absent = 0;
        for (i, step) in spec.steps.iter().enumerate() {
            if step.absent {
                absent |= 1 << i;
            } else {
                present |= 1 << i;
            }
        }
        Self {
            spec,
            present,
            absent,
            intake: Intake::new(limits, 2),
            groups: FxHashMap::default(),
            spare: Spare::default(),
            expiry: BinaryHeap::new(),
            candidates: FxHashMap::default(),
            decisions: VecDeque::new(),
            next_candidate: 0,
        }
    }

    /// Buffers `event` (its [`Event::steps`] say which steps it matches)
    /// until the watermark passes it. A record pushed under several keys
    /// (per-step `by` fields) is one event per key; it must not be pushed
    /// twice under the same key. An event matching no step is accepted and
    /// ignored. An event at or before the last watermark is late: counted,
    /// not used. Fails, without taking the event, when it would make more
    /// than [`Limits::max_retained`].
    pub fn push(&mut self, event: Event<'_>) -> Result<Admission, LimitError> {
        if self.intake.late(event.time) {
            return Ok(Admission::Late);
        }
        let steps = event.steps & (self.present | self.absent);
        if steps == 0 {
            return Ok(Admission::Accepted);
        }
        self.intake
            .buffer(&event, || [steps as u32, (steps >> 32) as u32])
    }

    /// Declares that no event with time `<= watermark` will come any more:
    /// processes those buffered, returns the episodes decided (see
    /// [`Where`] for `holds`), and drops what can no longer take part.
    pub fn advance(&mut self, watermark: Ticks, holds: Where<'_>) -> Vec<Episode> {
        let mut episodes = self.take(Some(watermark), holds);
        let watermark = self.intake.watermark.unwrap_or(watermark);
        self.decide(Some(watermark), &mut episodes);
        self.expire(Some(watermark.saturating_add(1)));
        sort_episodes(&mut episodes);
        episodes
    }

    /// The end of input: processes and decides everything. Any later push
    /// is late.
    pub fn finish(&mut self, holds: Where<'_>) -> Vec<Episode> {
        let mut episodes = self.take(None, holds);
        self.decide(None, &mut episodes);
        self.expire(None);
        sort_episodes(&mut episodes);
        episodes
    }

    /// The payloads of events dropped so far as repeats of an earlier
    /// event of the same record (same time, tie and key), emptied: the
    /// caller forgets what they stood for.
    pub fn take_repeats(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.intake.repeats)
    }

    /// Bytes allocated for the retained events, their groups (and the
    /// emptied ones kept for reuse), pending candidates and interned keys,
    /// approximately.
    pub fn retained_bytes(&self) -> usize {
        let candidates: usize = self
            .candidates
            .values()
            .map(|c| {
                size_of::<Candidate>()
                    + c.chosen
                        .iter()
                        .map(|s| s.capacity() * size_of::<(Ticks, u64)>() + 24)
                        .sum::<usize>()
            })
            .sum();
        self.intake.buffer.bytes()
            + self.groups.capacity() * (size_of::<(u32, SeqGroup)>() + 1)
            + self.groups.values().map(SeqGroup::bytes).sum::<usize>()
            + self.spare.bytes()
            + self.expiry.capacity() * size_of::<(Ticks, u32)>()
            + self.candidates.capacity() * (size_of::<(u64, Candidate)>() + 1)
            + candidates
            + self.decisions.capacity() * size_of::<(Ticks, u64)>()
            + self.intake.keys.bytes()
    }

    /// Moves the watermark to `upto` and processes the events it passed,
    /// a batch at a time.
    fn take(&mut self, upto: Option<Ticks>, holds: Where<'_>) -> Vec<Episode> {
        let mut episodes = Vec::new();
        loop {
            let ready = self.intake.ready(upto);
            if ready.is_empty() {
                return episodes;
            }
            episodes.extend(self.process(&ready, holds));
        }
    }

    fn process(&mut self, ready: &Ready, holds: Where<'_>) -> Vec<Episode> {
        let mut episodes = Vec::new();
        let span = self.spec.span;
        for (i, p) in ready.items.iter().enumerate() {
            // Candidates whose absent window closed before this event.
            self.decide(Some(p.time.saturating_sub(1)), &mut episodes);
            if i % EXPIRE_EVERY == EXPIRE_EVERY - 1 {
                // In time order, no later event comes before this one: the
                // groups left behind go now, not all at the end.
                self.expire(Some(p.time));
            }
            let steps = match ready.attrs_of(i) {
                [lo, hi] => u64::from(*lo) | (u64::from(*hi) << 32),
                _ => 0,
            };
            let mut group = match self.groups.remove(&p.group) {
                Some(group) => group,
                None => self.spare.take(SeqGroup::default),
            };
            self.intake.retained -= self.drop_front(&mut group, p.group, Some(p.time));
            if steps & self.absent != 0 {
                for id in &group.candidates {
                    if let Some(c) = self.candidates.get_mut(id)
                        && p.time >= c.first.saturating_sub(span)
                        && p.time <= c.last.saturating_add(span)
                    {
                        c.blocked = true;
                    }
                }
            }
            if group.events.is_empty() {
                self.expiry.push(Reverse((p.time, p.group)));
            }
            group.events.push_back(SeqEvent {
                time: p.time,
                payload: p.payload,
                steps,
            });
            group.free.resize(self.spec.steps.len(), 0);
            group.count(steps, true);
            // An assignment an absent event before it blocks retires the
            // events it blocks for good; another may then be found.
            while steps & self.present != 0
                && self.worth_searching(&group, steps)
                && let Some(chosen) = self.assign(&group, p.time, holds)
                && self.complete(&mut group, p, &chosen, &mut episodes)
            {}
            if !group.events.is_empty() || !group.candidates.is_empty() {
                self.groups.insert(p.group, group);
            } else {
                self.spare.keep(group);
            }
        }
        episodes
    }

    /// A quick test before searching, for the group's newest event (with
    /// `steps`): every present step has at least its minimum of free events
    /// in the group, and, when ordered, the newest event can be assigned:
    /// it matches the last step that needs events, or some other event
    /// shares its time.
    fn worth_searching(&self, group: &SeqGroup, steps: u64) -> bool {
        let enough = self
            .spec
            .steps
            .iter()
            .zip(&group.free)
            .all(|(step, &n)| step.absent || u64::from(n) >= step.min);
        if !enough || !self.spec.ordered {
            return enough;
        }
        let last_needed = self
            .spec
            .steps
            .iter()
            .rposition(|step| !step.absent && step.min > 0);
        let matches_last = last_needed.is_none_or(|s| steps >> s & 1 == 1);
        let mut newest = group.events.iter().rev().map(|e| e.time);
        let shares_time = match (newest.next(), newest.next()) {
            (Some(now), Some(before)) => before == now,
            _ => false,
        };
        matches_last || shares_time
    }

    /// The greedy assignment described on [`SequenceState`]: per step, the
    /// indices in `group.events` of its events, in time order.
    fn assign(&self, group: &SeqGroup, now: Ticks, holds: Where<'_>) -> Option<Vec<Vec<usize>>> {
        let from = now.saturating_sub(self.spec.span);
        // Free events of present steps in the window, latest first.
        let window: Vec<(usize, SeqEvent)> = group
            .events
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, e)| e.time >= from)
            .filter(|(_, e)| e.steps & USED == 0 && e.steps & self.present != 0)
            .map(|(i, e)| (i, *e))
            .collect();
        let n = self.spec.steps.len();
        let ordered = self.spec.ordered;
        let fits = |chosen: &[Vec<usize>], step: usize, e: &SeqEvent| {
            chosen.iter().enumerate().all(|(other, list)| {
                other == step
                    || list.iter().all(|&w| {
                        let Some((_, o)) = window.get(w) else {
                            return true;
                        };
                        if other > step {
                            holds(other, o.payload, step, e.payload)
                        } else {
                            holds(step, e.payload, other, o.payload)
                        }
                    })
            })
        };
        let time_of = |w: usize| window.get(w).map_or(now, |(_, e)| e.time);
        // The greedy pass, with the completing event (the latest of the
        // window, at 0) placed in step `seed` first when given.
        let attempt = |seed: Option<usize>| -> Option<(Vec<Vec<usize>>, Vec<bool>)> {
            let mut taken = vec![false; window.len()];
            let mut chosen: Vec<Vec<usize>> = vec![Vec::new(); n];
            if let Some(step) = seed {
                taken.first_mut().map(|t| *t = true)?;
                chosen.get_mut(step).map(|list| list.push(0))?;
            }
            let mut upper = Ticks::MAX;
            for step in (0..n).rev().filter(|s| self.present >> s & 1 == 1) {
                let min = self.spec.steps.get(step).map_or(1, |s| s.min);
                let mut picked = chosen.get(step).cloned().unwrap_or_default();
                for (w, (_, e)) in window.iter().enumerate() {
                    if picked.len() as u64 >= min {
                        break;
                    }
                    let free = taken.get(w).is_some_and(|t| !t);
                    if free
                        && e.steps >> step & 1 == 1
                        && (!ordered || e.time <= upper)
                        && fits(&chosen, step, e)
                    {
                        picked.push(w);
                        if let Some(t) = taken.get_mut(w) {
                            *t = true;
                        }
                    }
                }
                if (picked.len() as u64) < min {
                    return None;
                }
                if ordered && let Some(earliest) = picked.iter().map(|&w| time_of(w)).min() {
                    upper = earliest;
                }
                if let Some(slot) = chosen.get_mut(step) {
                    *slot = picked;
                }
            }
            // The completing event must take part.
            taken
                .first()
                .copied()
                .unwrap_or(false)
                .then_some((chosen, taken))
        };
        // Ordered, the latest event falls in place; unordered, it goes first
        // into the last step it matches that leads to an assignment.
        let (mut chosen, mut taken) = if ordered {
            attempt(None)?
        } else {
            let steps = window.first().map_or(0, |(_, e)| e.steps & self.present);
            (0..n)
                .rev()
                .filter(|s| steps >> s & 1 == 1)
                .find_map(|s| attempt(Some(s)))?
        };
        // Extend each step with every other eligible event.
        for step in (0..n).filter(|s| self.present >> s & 1 == 1) {
            let (lower, upper) = if ordered {
                let before = chosen.get(..step).unwrap_or_default();
                let after = chosen.get(step + 1..).unwrap_or_default();
                let lower = before.iter().flatten().map(|&w| time_of(w)).max();
                let upper = after.iter().flatten().map(|&w| time_of(w)).min();
                (lower.unwrap_or(Ticks::MIN), upper.unwrap_or(Ticks::MAX))
            } else {
                (Ticks::MIN, Ticks::MAX)
            };
            for (w, (_, e)) in window.iter().enumerate() {
                let free = taken.get(w).is_some_and(|t| !t);
                if free
                    && e.steps >> step & 1 == 1
                    && e.time >= lower
                    && e.time <= upper
                    && fits(&chosen, step, e)
                {
                    if let Some(slot) = chosen.get_mut(step) {
                        slot.push(w);
                    }
                    if let Some(t) = taken.get_mut(w) {
                        *t = true;
                    }
                }
            }
        }
        Some(
            chosen
                .into_iter()
                .map(|list| {
                    let mut idx: Vec<usize> = list
                        .into_iter()
                        .filter_map(|w| window.get(w).map(|(i, _)| *i))
                        .collect();
                    idx.sort_unstable();
                    idx
                })
                .collect(),
        )
    }

    /// Consumes an assignment: an episode at once, or a candidate waiting
    /// for its absent steps; nothing when an absent event came before it.
    /// Then the assigned events that such an event blocks in any episode
    /// are retired, and whether any was is returned: the caller searches
    /// again without them.
    ///
    /// An event of an absent step only (no present one, so never assigned)
    /// at or after `t - span` blocks every episode holding an event at `t`:
    /// such an episode's first event is at or before `t`. Left free, the
    /// blocked event would be assigned again and again (the greedy search
    /// takes the oldest), hiding a later event that no absent one blocks.
    fn complete(
        &mut self,
        group: &mut SeqGroup,
        p: &Pending,
        chosen: &[Vec<usize>],
        episodes: &mut Vec<Episode>,
    ) -> bool {
        let all = || chosen.iter().flatten().copied();
        let time_at = |i: usize| group.events.get(i).map_or(p.time, |e| e.time);
        let first = all().map(time_at).min().unwrap_or(p.time);
        if self.absent != 0 {
            let span = self.spec.span;
            let from = first.saturating_sub(span);
            let mut mine: Vec<usize> = all().collect();
            mine.sort_unstable();
            let seen_absent = group.events.iter().enumerate().any(|(i, e)| {
                e.steps & self.absent != 0 && e.time >= from && mine.binary_search(&i).is_err()
            });
            if seen_absent {
                // The latest event of an absent step only, not assigned.
                let (absent, present) = (self.absent, self.present);
                let latest_absent = group
                    .events
                    .iter()
                    .filter(|e| e.steps & absent != 0 && e.steps & present == 0)
                    .map(|e| e.time)
                    .max();
                let mut retired = false;
                if let Some(a) = latest_absent {
                    for &i in &mine {
                        if let Some(e) = group.events.get_mut(i)
                            && a >= e.time.saturating_sub(span)
                            && e.steps & USED == 0
                        {
                            let steps = e.steps;
                            e.steps |= USED;
                            group.count(steps, false);
                            retired = true;
                        }
                    }
                }
                return retired;
            }
        }
        for i in all() {
            if let Some(e) = group.events.get_mut(i) {
                let steps = e.steps;
                e.steps |= USED;
                group.count(steps, false);
            }
        }
        let records: Vec<Vec<(Ticks, u64)>> = chosen
            .iter()
            .map(|list| {
                list.iter()
                    .filter_map(|&i| group.events.get(i).map(|e| (e.time, e.payload)))
                    .collect()
            })
            .collect();
        self.intake.keys.retain(p.group);
        let candidate = Candidate {
            group: p.group,
            first,
            last: p.time,
            completed_by: p.payload,
            tie: p.tie,
            chosen: records,
            blocked: false,
        };
        if self.absent == 0 {
            episodes.push(self.episode(candidate));
        } else {
            let id = self.next_candidate;
            self.next_candidate += 1;
            self.decisions
                .push_back((p.time.saturating_add(self.spec.span), id));
            group.candidates.push(id);
            self.candidates.insert(id, candidate);
        }
        false
    }

    /// Decides the candidates whose absent window ends at or before `upto`
    /// (all with `None`).
    fn decide(&mut self, upto: Option<Ticks>, episodes: &mut Vec<Episode>) {
        while let Some(&(at, id)) = self.decisions.front() {
            if upto.is_some_and(|u| at > u) {
                break;
            }
            self.decisions.pop_front();
            let Some(candidate) = self.candidates.remove(&id) else {
                continue;
            };
            if let Some(group) = self.groups.get_mut(&candidate.group) {
                group.candidates.retain(|&c| c != id);
                if group.events.is_empty()
                    && group.candidates.is_empty()
                    && let Some(group) = self.groups.remove(&candidate.group)
                {
                    self.spare.keep(group);
                }
            }
            if candidate.blocked {
                self.intake.keys.release(candidate.group);
            } else {
                episodes.push(self.episode(candidate));
            }
        }
    }

    fn episode(&mut self, candidate: Candidate) -> Episode {
        let cap = self.intake.limits.max_contributors;
        let mut all: Vec<(Ticks, u64)> = candidate.chosen.iter().flatten().copied().collect();
        all.sort_by_key(|&(t, _)| t);
        let key = key_parts(self.intake.keys.get(candidate.group));
        self.intake.keys.release(candidate.group);
        Episode {
            key,
            first: candidate.first,
            last: candidate.last,
            count: all.len() as u64,
            distinct: Vec::new(),
            contributors: capped(all.iter().map(|&(_, p)| p), cap),
            completed_by: candidate.completed_by,
            steps: candidate
                .chosen
                .iter()
                .map(|list| capped(list.iter().map(|&(_, p)| p), cap))
                .collect(),
            completed_tie: candidate.tie,
        }
    }

    /// Drops, from every group, the events no future event can use, given
    /// that every future event has time `>= next` (`None`: all).
    fn expire(&mut self, next: Option<Ticks>) {
        let horizon = self.horizon();
        while let Some(&Reverse((time, gid))) = self.expiry.peek() {
            if next.is_some_and(|n| time >= n.saturating_sub(horizon)) {
                break;
            }
            self.expiry.pop();
            if let Some(mut group) = self.groups.remove(&gid) {
                self.intake.retained -= self.drop_front(&mut group, gid, next);
                if let Some(oldest) = group.events.front() {
                    self.expiry.push(Reverse((oldest.time, gid)));
                }
                if !group.events.is_empty() || !group.candidates.is_empty() {
                    self.groups.insert(gid, group);
                } else {
                    self.spare.keep(group);
                }
            }
        }
        shrink(&mut self.expiry);
    }

    /// How long an event may stay useful: `span`, or `2 * span` with absent
    /// steps (a candidate looks back `span` from its first record).
    fn horizon(&self) -> Ticks {
        if self.absent == 0 {
            self.spec.span
        } else {
            self.spec.span.saturating_mul(2)
        }
    }

    /// Drops the front events of `group` that no event at or after `next`
    /// can use (all with `None`); returns how many.
    fn drop_front(&mut self, group: &mut SeqGroup, gid: u32, next: Option<Ticks>) -> usize {
        let span = self.spec.span;
        let (present_steps, absent_steps) = (self.present, self.absent);
        let useful = |e: &SeqEvent| {
            let Some(next) = next else {
                return false;
            };
            let present = e.steps & USED == 0 && e.steps & present_steps != 0;
            (present && e.time >= next.saturating_sub(span))
                || (e.steps & absent_steps != 0
                    && e.time >= next.saturating_sub(span.saturating_mul(2)))
        };
        let mut dropped = 0;
        while group.events.front().is_some_and(|e| !useful(e)) {
            if let Some(e) = group.events.pop_front() {
                group.count(e.steps, false);
            }
            self.intake.keys.release(gid);
            dropped += 1;
        }
        dropped
    }
}
