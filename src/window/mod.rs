//! Rules over many records: sliding windows and sequences, evaluated over
//! event time.
//!
//! This module is the engine core behind the `window` and `sequence` rule
//! forms. It knows nothing of YAML, rule checking or JSON records. It takes
//! [`Event`]s (a time, a [`TieKey`], a group key already case-folded by the
//! caller, the distinct values or matched steps, and an opaque `payload` the
//! caller uses to find the record again) and gives [`Episode`]s (the group
//! key, first and last time, count, capped distinct values and contributors,
//! and the record that completed the episode).
//!
//! One state per rule: [`WindowState`] for a `window`, [`SequenceState`] for
//! a `sequence`. Both work the same way:
//!
//! - [`push`](WindowState::push) buffers an event. It fails with a
//!   [`LimitError`] when more than [`Limits::max_retained`] events would be
//!   retained (the caller stops the run naming the rule: nothing is ever
//!   dropped silently). An event whose time is at or before the last
//!   watermark is *late*: it is not used, it is counted
//!   ([`late`](Intake::late)) and `push` answers [`Admission::Late`] so
//!   the caller can report it.
//! - [`advance(w)`](WindowState::advance) declares that no event with time
//!   `<= w` will come any more (a watermark, for a live stream: `w` is
//!   typically the newest time seen minus the documented lateness). It
//!   processes every buffered event with time `<= w` in `(time, tie)` order,
//!   returns the episodes decided so far, and drops the events that can no
//!   longer take part.
//! - [`finish`](WindowState::finish) is the end of input: everything is
//!   processed and decided.
//!
//! Results never depend on the order events were pushed in, nor on how they
//! were split across `advance` calls: events are processed in `(time, tie,
//! payload)` order, and the episodes of all calls, concatenated, are the
//! episodes of a single `finish`, ordered by the completing record's `(time,
//! tie)` and then by key.
//!
//! (The module test `the_module_example_runs` walks through a spray window
//! and a Graph call with no sign-in.)
//!
//! # Windows
//!
//! Windows slide over event time and are inclusive: two records whose times
//! differ by at most `span` can share a window. Per group, records are taken
//! in `(time, tie)` order; at each record `r` the window is every record of
//! the group not yet consumed with time in `[r.time - span, r.time]` that
//! comes before `r` in that order, plus `r`. The first record at which the
//! condition ([`WindowSpec::count`] and every [`WindowSpec::distinct`]
//! threshold) holds over its window completes an episode; every record of
//! that window is consumed, so a later episode needs new records. A burst of
//! 12 distinct accounts one a minute against `distinct >= 5` in 20 minutes
//! gives two episodes (minutes 0–4 and 5–9); 10 and 11 are left. An absent
//! distinct value (`None`) counts nothing but the record still counts for
//! `count`.
//!
//! # Sequences
//!
//! See [`SequenceState`] for the exact matching strategy and its limits.
//!
//! # Memory
//!
//! Only retained events take memory: buffered events not yet processed, and
//! processed events that can still take part (for windows: unconsumed, and no
//! older than the newest processable time minus `span`; for sequences: the
//! same, and events of `absent` steps for `2 * span`). Group keys and distinct
//! values are interned per state with reference counts, so a key or value
//! takes memory once, and only while a retained event uses it.
//!
//! Bytes per retained event on x86-64 (`d` is the number of distinct fields
//! of a window), not counting the interned text shared by all events of one
//! key or value:
//!
//! | where                            | window     | sequence |
//! |----------------------------------|------------|----------|
//! | buffered, before the watermark   | `40 + 4 d` | `48`     |
//! | processed, in a group            | `16 + 4 d` | `24`     |
//!
//! Vectors grow by doubling, so the memory allocated is up to twice that.
//! Each state also keeps up to 256 emptied groups with room for a few
//! events, for its next new groups (counted in `retained_bytes`).
//! Measured with [`WindowState::retained_bytes`] on 100,000 events over 1,000
//! keys (and 5,000 distinct values, `d = 1`): 64 bytes per buffered event
//! and 34 per event in windows; for a sequence, 64 and 33. Groups are found
//! for expiry through one heap entry per group, not per event.

mod intern;
mod sequence;
mod sliding;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use intern::Interner;
pub use intern::{Key, KeyBuilder};

pub use sequence::{SequenceSpec, SequenceState, StepSpec};
pub use sliding::{WindowSpec, WindowState};

/// Ticks of 100 ns since the Unix epoch, the resolution Entra writes
/// (seven fraction digits), so times and spans are exact integers.
pub type Ticks = i64;

/// One tick per 100 ns: this many ticks make a second.
pub const TICKS_PER_SECOND: Ticks = 10_000_000;

/// Breaks ties between events with the same time, so results do not depend
/// on input order. Ordered like the record id for GUID ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TieKey {
    hi: u64,
    lo: u64,
}

impl TieKey {
    /// The tie key of a record id. A GUID (`8-4-4-4-12` hex digits, any
    /// case) gives its 128-bit value, so GUIDs order like their lowercase
    /// text; any other id gives a stable 128-bit hash of its text (stable
    /// across runs and machines, not ordered like the text).
    pub fn from_id(id: &str) -> Self {
        match parse_guid(id) {
            Some(bits) => Self::from_bits(bits),
            None => Self {
                hi: fnv1a(id.as_bytes(), 0xcbf2_9ce4_8422_2325),
                lo: fnv1a(id.as_bytes(), 0x6c62_272e_07bb_0142),
            },
        }
    }

    /// The tie key of a record without an id: a 64-bit hash of its content,
    /// computed by the caller.
    pub const fn from_hash(hash: u64) -> Self {
        Self { hi: 0, lo: hash }
    }

    /// The 128 bits of a tie key.
    pub const fn to_bits(self) -> u128 {
        (self.hi as u128) << 64 | self.lo as u128
    }

    /// A tie key from its 128 bits.
    pub const fn from_bits(bits: u128) -> Self {
        Self {
            hi: (bits >> 64) as u64,
            lo: bits as u64,
        }
    }
}

fn parse_guid(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut bits: u128 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let digit = (b as char).to_digit(16)?;
        bits = (bits << 4) | u128::from(digit);
    }
    Some(bits)
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How a count compares with a threshold: the rule language's own.
pub use crate::check::CountCmp as Cmp;

/// A condition on a count: `count <cmp> value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// The comparison.
    pub cmp: Cmp,
    /// The value compared with.
    pub value: u64,
}

impl Threshold {
    /// `count >= value`.
    #[cfg(test)]
    pub const fn gte(value: u64) -> Self {
        Self {
            cmp: Cmp::Gte,
            value,
        }
    }

    /// Whether `count` satisfies the threshold.
    pub fn holds(&self, count: u64) -> bool {
        match self.cmp {
            Cmp::Gt => count > self.value,
            Cmp::Gte => count >= self.value,
            Cmp::Lt => count < self.value,
            Cmp::Lte => count <= self.value,
            Cmp::Eq => count == self.value,
        }
    }
}

/// One record taking part in one rule, as the caller pushes it.
///
/// The strings are borrowed: the state interns what it keeps.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// Event time.
    pub time: Ticks,
    /// Breaks ties in time, and names the record: events of one state with
    /// the same time, tie and key are one record delivered again, used once
    /// (the one with the lowest payload); the others come back from
    /// `take_repeats`. Until the events are put in order, each copy is held
    /// and counts against [`Limits::max_retained`].
    pub tie: TieKey,
    /// The group key, its values already case-folded when the rule ignores
    /// case. In a sequence with per-step `by` fields, the key computed from
    /// the fields of the steps this event is pushed for.
    pub key: &'a Key,
    /// Windows only: one value per distinct field of the [`WindowSpec`], in
    /// its order, already case-folded; `None` when the record lacks it.
    pub distinct: &'a [Option<&'a str>],
    /// Sequences only: bit `i` set when the record matches step `i`
    /// (steps 0 to 62).
    pub steps: u64,
    /// Opaque to the engine: how the caller finds the record again.
    pub payload: u64,
}

impl<'a> Event<'a> {
    /// An event with no distinct values and no steps.
    pub fn new(time: Ticks, tie: TieKey, key: &'a Key, payload: u64) -> Self {
        Self {
            time,
            tie,
            key,
            distinct: &[],
            steps: 0,
            payload,
        }
    }

    /// The same event with these distinct values (windows).
    pub fn with_distinct(self, distinct: &'a [Option<&'a str>]) -> Self {
        Self { distinct, ..self }
    }

    /// The same event matching these steps (sequences), a bit per step.
    pub fn with_steps(self, steps: u64) -> Self {
        Self { steps, ..self }
    }
}

/// Limits of one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most events retained at once (buffered or in a window); one more is a
    /// [`LimitError`].
    pub max_retained: usize,
    /// Most contributors (and records per step) listed in an episode.
    pub max_contributors: usize,
    /// Most distinct values listed per field in an episode.
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_retained: 2_000_000,
            max_contributors: 100,
            max_values: 20,
        }
    }
}

/// More events would be retained than [`Limits::max_retained`]; the event
/// was not taken. The run cannot go on without under-counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitError {
    /// The limit that was reached.
    pub max_retained: usize,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "more than {} records retained at once",
            self.max_retained
        )
    }
}

impl std::error::Error for LimitError {}

/// What [`WindowState::push`] or [`SequenceState::push`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Buffered; it takes part.
    Accepted,
    /// At or before the last watermark: not used, counted as late.
    Late,
}

/// Distinct values of one field in an episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistinctSummary {
    /// The first values, in the order of their first record.
    pub values: Vec<Box<str>>,
    /// How many distinct values there are.
    pub total: u64,
}

/// Payloads of some records, capped, with their total.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Records {
    /// The earliest payloads, in `(time, tie)` order.
    pub payloads: Vec<u64>,
    /// How many records there are.
    pub total: u64,
}

/// One firing of a window or a sequence for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// The group key, as pushed.
    pub key: Box<[Box<str>]>,
    /// Time of the earliest contributing record.
    pub first: Ticks,
    /// Time of the latest contributing record.
    pub last: Ticks,
    /// How many records contribute.
    pub count: u64,
    /// Windows: distinct values per distinct field, in the spec's order.
    pub distinct: Vec<DistinctSummary>,
    /// The contributing records, earliest first, capped.
    pub contributors: Records,
    /// The record that completed the episode: the finding's location.
    pub completed_by: u64,
    /// Sequences: the contributing records per step, in the spec's order
    /// (empty for `absent` steps). Empty for windows.
    pub steps: Vec<Records>,
    /// Tie key of the completing record, for ordering.
    completed_tie: TieKey,
}

impl Episode {
    fn order_key(&self) -> (Ticks, TieKey, &[Box<str>]) {
        (self.last, self.completed_tie, &self.key)
    }
}

/// Sorts episodes by completion `(time, tie)` and then key.
fn sort_episodes(episodes: &mut [Episode]) {
    episodes.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
}

/// Builds a [`Records`] from payloads already in order.
fn capped(payloads: impl ExactSizeIterator<Item = u64>, cap: usize) -> Records {
    let total = payloads.len() as u64;
    Records {
        payloads: payloads.take(cap).collect(),
        total,
    }
}

/// What both states do with events before their own logic: count the late
/// ones, hold the limit, intern group keys and buffer events until the
/// watermark passes them.
#[derive(Debug)]
struct Intake {
    limits: Limits,
    keys: Interner,
    buffer: Buffer,
    watermark: Option<Ticks>,
    /// Events that came at or before the watermark, not used.
    late: u64,
    /// Events retained now (buffered or in a group).
    retained: usize,
    /// Payloads of events dropped as repeats of an earlier one (the same
    /// time, tie and group: one record delivered again), until the caller
    /// takes them.
    repeats: Vec<u64>,
}

impl Intake {
    fn new(limits: Limits, width: usize) -> Self {
        Self {
            limits,
            keys: Interner::default(),
            buffer: Buffer::new(width),
            watermark: None,
            late: 0,
            retained: 0,
            repeats: Vec::new(),
        }
    }

    /// Whether an event at `time` comes at or before the watermark (it is
    /// then counted as late).
    fn late(&mut self, time: Ticks) -> bool {
        let late = self.watermark.is_some_and(|w| time <= w);
        if late {
            self.late += 1;
        }
        late
    }

    /// Buffers an event with its extra values (made only once it is taken),
    /// or fails, without taking it, when it would make more than
    /// [`Limits::max_retained`].
    fn buffer<A: IntoIterator<Item = u32>>(
        &mut self,
        event: &Event<'_>,
        attrs: impl FnOnce() -> A,
    ) -> Result<Admission, LimitError> {
        if self.retained >= self.limits.max_retained {
            return Err(LimitError {
                max_retained: self.limits.max_retained,
            });
        }
        let pending = Pending {
            time: event.time,
            tie: event.tie,
            payload: event.payload,
            group: self.keys.intern(event.key.as_str()),
            slot: 0,
        };
        self.buffer.push(pending, attrs());
        self.retained += 1;
        Ok(Admission::Accepted)
    }

    /// Moves the watermark to `upto` (never back; to the end with `None`)
    /// and takes the next batch of the events it passed, in order (empty
    /// when they are all taken).
    fn ready(&mut self, upto: Option<Ticks>) -> Ready {
        let upto = upto.map(|u| self.watermark.map_or(u, |w| w.max(u)));
        self.watermark = Some(upto.unwrap_or(Ticks::MAX));
        let ready = self.buffer.take_ready(upto);
        for p in &ready.repeats {
            self.keys.release(p.group);
            self.repeats.push(p.payload);
            self.retained -= 1;
        }
        ready
    }
}

/// An event waiting for the watermark, ordered by `(time, tie, group,
/// payload)`: the events of one record delivered twice come out side by
/// side, the lowest payload first. (Group ids follow input order, but they
/// only order one record's events for different groups, which no group's
/// result depends on.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    time: Ticks,
    tie: TieKey,
    group: u32,
    payload: u64,
    /// Where its extra values are in [`Buffer::attrs`].
    slot: u32,
}

/// Events waiting for the watermark, in a min-heap, each with `width` extra
/// `u32`s (distinct value ids, or step bits) in a slab beside it.
#[derive(Debug, Default)]
struct Buffer {
    width: usize,
    heap: BinaryHeap<Reverse<Pending>>,
    attrs: Vec<u32>,
    free: Vec<u32>,
    /// `(time, tie, group)` of the last event taken, so a repeat is known
    /// across two takes.
    last: Option<(Ticks, TieKey, u32)>,
}

impl Buffer {
    fn new(width: usize) -> Self {
        Self {
            width,
            ..Self::default()
        }
    }

    fn push(&mut self, mut item: Pending, attrs: impl IntoIterator<Item = u32>) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None if self.width == 0 => 0,
            None => {
                let slot = (self.attrs.len() / self.width) as u32;
                self.attrs.resize(self.attrs.len() + self.width, NONE);
                slot
            }
        };
        let start = slot as usize * self.width;
        if let Some(room) = self.attrs.get_mut(start..start + self.width) {
            let mut attrs = attrs.into_iter();
            for a in room {
                *a = attrs.next().unwrap_or(NONE);
            }
        }
        item.slot = slot;
        self.heap.push(Reverse(item));
    }

    /// Removes at most [`TAKE`] events with time `<= upto` (all with
    /// `None`) and returns them in `(time, tie, group, payload)` order; an
    /// event with the time, tie and group of the one taken before it is a
    /// repeat of the same record, set apart in [`Ready::repeats`]. Empty
    /// when no event is ready.
    fn take_ready(&mut self, upto: Option<Ticks>) -> Ready {
        let mut out = Ready {
            width: self.width,
            items: Vec::new(),
            attrs: Vec::new(),
            repeats: Vec::new(),
            repeat_attrs: Vec::new(),
        };
        while let Some(Reverse(p)) = self.heap.peek() {
            if upto.is_some_and(|w| p.time > w) || out.items.len() + out.repeats.len() >= TAKE {
                break;
            }
            let p = *p;
            self.heap.pop();
            let start = p.slot as usize * self.width;
            let attrs = self
                .attrs
                .get(start..start + self.width)
                .unwrap_or_default();
            let id = (p.time, p.tie, p.group);
            if self.last == Some(id) {
                out.repeats.push(p);
                out.repeat_attrs.extend(attrs);
            } else {
                out.items.push(p);
                out.attrs.extend(attrs);
            }
            self.last = Some(id);
            if self.width > 0 {
                self.free.push(p.slot);
            }
        }
        if self.heap.is_empty() {
            self.attrs = Vec::new();
            self.free = Vec::new();
        }
        shrink(&mut self.heap);
        out
    }

    fn bytes(&self) -> usize {
        self.heap.capacity() * size_of::<Pending>()
            + (self.attrs.capacity() + self.free.capacity()) * size_of::<u32>()
    }
}

/// How many events a state takes from its buffer at once: the events are
/// processed a batch at a time, so the buffer gives memory back as it
/// empties and no second copy of it is made. The tests take a few at a
/// time, so their reference comparisons cross batches.
#[cfg(not(test))]
const TAKE: usize = 4096;
#[cfg(test)]
const TAKE: usize = 5;

/// Events taken from a [`Buffer`], in order, with their extra values.
#[derive(Debug)]
struct Ready {
    width: usize,
    items: Vec<Pending>,
    attrs: Vec<u32>,
    /// Repeats of the event before them (one record delivered again), not
    /// used; their group keys are released by [`Intake::ready`], their
    /// extra values are for the state to release.
    repeats: Vec<Pending>,
    repeat_attrs: Vec<u32>,
}

impl Ready {
    /// Whether nothing was taken: no event was ready.
    fn is_empty(&self) -> bool {
        self.items.is_empty() && self.repeats.is_empty()
    }

    fn attrs_of(&self, i: usize) -> &[u32] {
        self.attrs
            .get(i * self.width..(i + 1) * self.width)
            .unwrap_or_default()
    }
}

/// A group of a state's events that can be emptied and used again.
trait Reuse {
    /// Empties it, keeping what it allocated.
    fn clear(&mut self);
    /// Events it has room for.
    fn room(&self) -> usize;
    /// Bytes it allocated, approximately.
    fn bytes(&self) -> usize;
}

/// Groups kept for reuse, at most.
const SPARE_GROUPS: usize = 256;

/// A group with room for more events than this is freed, not kept. (A
/// window's counts of distinct values hold at most an entry per event, so
/// this bounds them too.)
const SPARE_ROOM: usize = 8;

/// Emptied groups of a state, kept for its next new groups: most keys of a
/// stream have a few events within a span, and a group made for each
/// would allocate its vectors each time (four or five allocations a record
/// for the built-in pack's sequences).
#[derive(Debug)]
struct Spare<G> {
    groups: Vec<G>,
}

impl<G> Default for Spare<G> {
    fn default() -> Self {
        Self { groups: Vec::new() }
    }
}

impl<G: Reuse> Spare<G> {
    /// An emptied group, or a new one from `new`.
    fn take(&mut self, new: impl FnOnce() -> G) -> G {
        self.groups.pop().unwrap_or_else(new)
    }

    /// Keeps `group` for reuse, emptied, unless enough are kept or it is
    /// large.
    fn keep(&mut self, mut group: G) {
        if self.groups.len() < SPARE_GROUPS && group.room() <= SPARE_ROOM {
            group.clear();
            self.groups.push(group);
        }
    }

    fn bytes(&self) -> usize {
        self.groups.capacity() * size_of::<G>() + self.groups.iter().map(G::bytes).sum::<usize>()
    }
}

/// Gives memory back when a heap uses under a quarter of it.
fn shrink<T: Ord>(heap: &mut BinaryHeap<T>) {
    if heap.len() < heap.capacity() / 4 {
        heap.shrink_to(heap.len() * 2);
    }
}

/// The id of an absent value.
const NONE: u32 = u32::MAX;

#[cfg(test)]
mod example {
    #[test]
    fn the_module_example_runs() -> Result<(), super::LimitError> {
        use super::{
            Event, Key, Limits, SequenceSpec, SequenceState, StepSpec, TICKS_PER_SECOND, Threshold,
            TieKey, WindowSpec, WindowState,
        };

        const MIN: i64 = 60 * TICKS_PER_SECOND;
        // Five distinct accounts from one address within 20 minutes.
        let spec = WindowSpec {
            span: 20 * MIN,
            count: None,
            distinct: vec![Threshold::gte(5)],
        };
        let mut spray = WindowState::new(spec, Limits::default());
        let key = Key::new(["203.0.113.7"]);
        for i in 0..12u64 {
            let account = format!("user{i}@contoso.com");
            let values = [Some(account.as_str())];
            let event =
                Event::new(i as i64 * MIN, TieKey::from_hash(i), &key, i).with_distinct(&values);
            spray.push(event)?;
        }
        let episodes = spray.finish();
        assert_eq!(episodes.len(), 2);
        assert_eq!(episodes[0].contributors.payloads, [0, 1, 2, 3, 4]);
        assert_eq!(episodes[1].completed_by, 9);

        // A Graph call (step 0) with no sign-in (step 1, absent) within an hour.
        let spec = SequenceSpec {
            span: 60 * MIN,
            ordered: false,
            steps: vec![StepSpec::at_least(1), StepSpec::absent()],
        };
        let mut calls = SequenceState::new(spec, Limits::default());
        let token = Key::new(["token-1"]);
        calls.push(Event::new(0, TieKey::from_hash(1), &token, 1).with_steps(0b01))?;
        assert!(calls.advance(59 * MIN, &|_, _, _, _| true).is_empty());
        let episodes = calls.advance(60 * MIN, &|_, _, _, _| true);
        assert_eq!(episodes[0].completed_by, 1);
        Ok(())
    }
}
