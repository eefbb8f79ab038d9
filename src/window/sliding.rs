//! Sliding windows: counts and distinct values per group within a span.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::FxHashMap;

use super::intern::{Interner, key_parts};
use super::{
    Admission, DistinctSummary, Episode, Event, Intake, LimitError, Limits, NONE, Pending, Ready,
    Reuse, Spare, Threshold, Ticks, capped, shrink, sort_episodes,
};

/// What a `window` asks of each group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    /// Records whose times differ by at most this many ticks share a window.
    pub span: Ticks,
    /// Records in the window; `None` puts no condition on the count.
    pub count: Option<Threshold>,
    /// Distinct values of each distinct field, all of which must hold; the
    /// events carry one value per entry, in this order.
    pub distinct: Vec<Threshold>,
}

impl WindowSpec {
    fn holds(&self, count: usize, distinct: &[FxHashMap<u32, u32>]) -> bool {
        self.count.is_none_or(|t| t.holds(count as u64))
            && self
                .distinct
                .iter()
                .enumerate()
                .all(|(f, t)| t.holds(distinct.get(f).map_or(0, |counts| counts.len() as u64)))
    }
}

/// How many events [`WindowState::process`] and its sequence twin take
/// between two sweeps of the groups left behind. The tests sweep every few
/// events, so their reference comparisons go through the sweep.
#[cfg(not(test))]
pub(super) const EXPIRE_EVERY: usize = 1024;
#[cfg(test)]
pub(super) const EXPIRE_EVERY: usize = 3;

/// A processed event still in its group's window.
#[derive(Debug, Clone, Copy)]
pub(super) struct Active {
    time: Ticks,
    payload: u64,
}

/// The unconsumed events of one group within the span, in `(time, tie)`
/// order, with their distinct value ids (`width` per event) and, per field,
/// how many of them hold each value.
#[derive(Debug)]
struct Group {
    events: VecDeque<Active>,
    values: VecDeque<u32>,
    counts: Vec<FxHashMap<u32, u32>>,
}

impl Group {
    fn new(width: usize) -> Self {
        Self {
            events: VecDeque::new(),
            values: VecDeque::new(),
            counts: (0..width).map(|_| FxHashMap::default()).collect(),
        }
    }
}

impl Reuse for Group {
    fn clear(&mut self) {
        self.events.clear();
        self.values.clear();
        self.counts.iter_mut().for_each(FxHashMap::clear);
    }

    fn room(&self) -> usize {
        self.events.capacity()
    }

    fn bytes(&self) -> usize {
        self.events.capacity() * size_of::<Active>()
            + self.values.capacity() * size_of::<u32>()
            + self
                .counts
                .iter()
                .map(|c| c.capacity() * (size_of::<(u32, u32)>() + 1))
                .sum::<usize>()
    }
}

/// The state of one `window` rule: push events, advance the watermark,
/// collect [`Episode`]s. See the [module documentation](super).
#[derive(Debug)]
pub struct WindowState {
    spec: WindowSpec,
    pub(super) intake: Intake,
    pub(super) values: Interner,
    groups: FxHashMap<u32, Group>,
    spare: Spare<Group>,
    /// `(time, group)`, at most the time of the group's oldest event: finds
    /// the groups whose oldest events have left every future window. One
    /// entry per group, plus stale ones for groups since consumed.
    expiry: BinaryHeap<Reverse<(Ticks, u32)>>,
}

impl WindowState {
    /// A state for `spec` within `limits`. A negative span counts as 0.
    pub fn new(mut spec: WindowSpec, limits: Limits) -> Self {
        spec.span = spec.span.max(0);
        let width = spec.distinct.len();
        Self {
            spec,
            values: Interner::default(),
            intake: Intake::new(limits, width),
            groups: FxHashMap::default(),
            spare: Spare::default(),
            expiry: BinaryHeap::new(),
        }
    }

    /// Buffers `event` until the watermark passes it. An event at or before
    /// the last watermark is late: counted, not used. Fails, without taking
    /// the event, when it would make more than [`Limits::max_retained`].
    pub fn push(&mut self, event: Event<'_>) -> Result<Admission, LimitError> {
        if self.intake.late(event.time) {
            return Ok(Admission::Late);
        }
        let (values, width) = (&mut self.values, self.spec.distinct.len());
        self.intake.buffer(&event, move || {
            (0..width).map(move |f| match event.distinct.get(f).copied().flatten() {
                Some(v) => values.intern(v),
                None => NONE,
            })
        })
    }

    /// Declares that no event with time `<= watermark` will come any more:
    /// processes those buffered, returns the episodes they complete, and
    /// drops what can no longer take part. A watermark never moves back.
    pub fn advance(&mut self, watermark: Ticks) -> Vec<Episode> {
        let mut episodes = self.take(Some(watermark));
        let watermark = self.intake.watermark.unwrap_or(watermark);
        // Every future event is later than the watermark, so its window
        // starts after `watermark - span`.
        self.expire(watermark.saturating_sub(self.spec.span).saturating_add(1));
        sort_episodes(&mut episodes);
        episodes
    }

    /// The end of input: processes everything and returns the remaining
    /// episodes. Any later push is late.
    pub fn finish(&mut self) -> Vec<Episode> {
        let mut episodes = self.take(None);
        self.expire(Ticks::MAX);
        sort_episodes(&mut episodes);
        episodes
    }

    /// Moves the watermark to `upto` and processes the events it passed,
    /// a batch at a time.
    fn take(&mut self, upto: Option<Ticks>) -> Vec<Episode> {
        let mut episodes = Vec::new();
        loop {
            let ready = self.intake.ready(upto);
            if ready.is_empty() {
                return episodes;
            }
            self.release_repeats(&ready);
            episodes.extend(self.process(&ready));
        }
    }

    /// Releases the distinct values of the repeats set apart.
    fn release_repeats(&mut self, ready: &Ready) {
        for &v in &ready.repeat_attrs {
            if v != NONE {
                self.values.release(v);
            }
        }
    }

    /// The payloads of events dropped so far as repeats of an earlier
    /// event of the same record (same time, tie and key), emptied: the
    /// caller forgets what they stood for.
    pub fn take_repeats(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.intake.repeats)
    }

    /// Bytes allocated for the retained events, their groups (and the
    /// emptied ones kept for reuse) and interned text, approximately (hash
    /// tables counted by capacity).
    pub fn retained_bytes(&self) -> usize {
        self.intake.buffer.bytes()
            + self.groups.capacity() * (size_of::<(u32, Group)>() + 1)
            + self.groups.values().map(Group::bytes).sum::<usize>()
            + self.spare.bytes()
            + self.expiry.capacity() * size_of::<(Ticks, u32)>()
            + self.intake.keys.bytes()
            + self.values.bytes()
    }

    fn process(&mut self, ready: &Ready) -> Vec<Episode> {
        let mut episodes = Vec::new();
        let width = self.spec.distinct.len();
        for (i, p) in ready.items.iter().enumerate() {
            if i % EXPIRE_EVERY == EXPIRE_EVERY - 1 {
                // The events come in time order: none after this one
                // reaches back past `time - span`. Dropping what lies
                // behind that as we go keeps only the groups still live,
                // rather than every group of the input at the end.
                self.expire(p.time.saturating_sub(self.spec.span));
            }
            let mut group = match self.groups.remove(&p.group) {
                Some(group) => group,
                None => self.spare.take(|| Group::new(width)),
            };
            let cutoff = p.time.saturating_sub(self.spec.span);
            self.intake.retained -= drop_front(
                &mut group,
                Some(cutoff),
                &mut self.intake.keys,
                &mut self.values,
                p.group,
            );
            if group.events.is_empty() {
                self.expiry.push(Reverse((p.time, p.group)));
            }
            group.events.push_back(Active {
                time: p.time,
                payload: p.payload,
            });
            for (f, &v) in ready.attrs_of(i).iter().enumerate() {
                group.values.push_back(v);
                if v != NONE
                    && let Some(counts) = group.counts.get_mut(f)
                {
                    *counts.entry(v).or_insert(0) += 1;
                }
            }
            if self.spec.holds(group.events.len(), &group.counts) {
                episodes.push(self.episode(&group, p));
                self.intake.retained -= drop_front(
                    &mut group,
                    None,
                    &mut self.intake.keys,
                    &mut self.values,
                    p.group,
                );
                self.spare.keep(group);
            } else {
                self.groups.insert(p.group, group);
            }
        }
        episodes
    }

    fn episode(&self, group: &Group, completing: &Pending) -> Episode {
        let width = self.spec.distinct.len();
        let distinct = (0..width)
            .map(|f| {
                let mut seen = rustc_hash::FxHashSet::default();
                let mut values = Vec::new();
                for v in group.values.iter().skip(f).step_by(width).copied() {
                    if v != NONE && values.len() < self.intake.limits.max_values && seen.insert(v) {
                        values.push(Box::from(self.values.get(v)));
                    }
                }
                let total = group.counts.get(f).map_or(0, |c| c.len() as u64);
                DistinctSummary { values, total }
            })
            .collect();
        Episode {
            key: key_parts(self.intake.keys.get(completing.group)),
            first: group.events.front().map_or(completing.time, |a| a.time),
            last: completing.time,
            count: group.events.len() as u64,
            distinct,
            contributors: capped(
                group.events.iter().map(|a| a.payload),
                self.intake.limits.max_contributors,
            ),
            completed_by: completing.payload,
            steps: Vec::new(),
            completed_tie: completing.tie,
        }
    }

    /// Drops, from every group, the events with time before `cutoff`.
    fn expire(&mut self, cutoff: Ticks) {
        if cutoff == Ticks::MAX {
            for (gid, mut group) in std::mem::take(&mut self.groups) {
                self.intake.retained -= drop_front(
                    &mut group,
                    None,
                    &mut self.intake.keys,
                    &mut self.values,
                    gid,
                );
            }
            self.expiry.clear();
            return;
        }
        while let Some(&Reverse((time, gid))) = self.expiry.peek() {
            if time >= cutoff {
                break;
            }
            self.expiry.pop();
            if let Some(group) = self.groups.get_mut(&gid) {
                self.intake.retained -= drop_front(
                    group,
                    Some(cutoff),
                    &mut self.intake.keys,
                    &mut self.values,
                    gid,
                );
                match group.events.front() {
                    Some(oldest) => self.expiry.push(Reverse((oldest.time, gid))),
                    None => {
                        if let Some(group) = self.groups.remove(&gid) {
                            self.spare.keep(group);
                        }
                    }
                }
            }
        }
        shrink(&mut self.expiry);
    }
}

/// Drops the events of `group` with time before `cutoff` (all with `None`),
/// releasing their interned key and values; returns how many.
fn drop_front(
    group: &mut Group,
    cutoff: Option<Ticks>,
    keys: &mut Interner,
    values: &mut Interner,
    gid: u32,
) -> usize {
    let width = group.counts.len();
    let mut dropped = 0;
    while group
        .events
        .front()
        .is_some_and(|a| cutoff.is_none_or(|c| a.time < c))
    {
        group.events.pop_front();
        keys.release(gid);
        for f in 0..width {
            let Some(v) = group.values.pop_front() else {
                break;
            };
            if v == NONE {
                continue;
            }
            values.release(v);
            if let Some(counts) = group.counts.get_mut(f)
                && let Some(n) = counts.get_mut(&v)
            {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&v);
                }
            }
        }
        dropped += 1;
    }
    dropped
}
