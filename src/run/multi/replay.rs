//! The end-of-input replay of a run's rules over many records: the
//! records of the sort buffer, in time order, go to the rules' states as
//! steps (take these parts, decide up to here, sweep), the rules shared
//! out over the run's threads. Rules do not read each other's records
//! here, so each share, given the same decisions at the same records as a
//! single replay, decides the same episodes.

use std::sync::atomic::{AtomicBool, Ordering};

use super::extract::Part;
use super::lane::{Lane, Overflow, Took};
use super::spill::Sorted;
use crate::compile::MultiRule;
use crate::finding::Finding;
use crate::record::Location;
use crate::window::{Limits, Ticks};

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

/// Parts gathered for a replay before they are sent (the record at hand
/// whole, so a batch may pass this by a record's parts); a decision sends
/// what is gathered sooner. (Sending the calling thread's replay each
/// record as it is read, and the others 128 records at a time through a
/// channel of two, together with the busiest rule on another thread,
/// measured 1.18x the time with no less memory.) The tests send every few
/// parts, between decisions too.
#[cfg(not(test))]
const BATCH: usize = 4096;
#[cfg(test)]
const BATCH: usize = 4;

/// Batches waiting for a replay on another thread, at most.
const IN_FLIGHT: usize = 4;

/// Where a part stands in the replay: its record's place in time order,
/// then its place among the record's parts.
pub(super) type Position = (u64, usize);

/// One step of the end-of-input replay, for the rules of one [`Replay`].
enum Step {
    /// Records' parts for these rules, in order, each with its position
    /// and its event number.
    Take(Vec<(Position, u64, Part)>),
    /// Decide up to the watermark.
    Decide(Ticks),
    /// Drop the details no episode can use (after a decision).
    Sweep(Ticks),
}

/// The end-of-input replay of some of a run's rules: each rule's lane and
/// what it decided.
pub(super) struct Replay<'a> {
    rules: &'a [MultiRule],
    limits: Limits,
    decided: Option<Ticks>,
    /// Rule index and lane, in rule order.
    lanes: Vec<(usize, &'a mut Lane)>,
    /// For each rule of the run, its place in `lanes`, if here.
    index: Vec<Option<usize>>,
    /// Findings, by lane.
    found: Vec<Vec<Finding>>,
    late: Vec<(Position, String, Location)>,
    repeated: u64,
    /// The first rule to overflow, where; nothing is taken after it.
    error: Option<(Position, Overflow)>,
}

/// What a replay came to.
pub(super) struct Ended {
    /// Findings by rule index.
    pub(super) found: Vec<(usize, Vec<Finding>)>,
    /// Records too late for a rule: where in the replay, the rule, where
    /// the record was read.
    pub(super) late: Vec<(Position, String, Location)>,
    /// Repeats the engine dropped.
    pub(super) repeated: u64,
    /// The first rule past its limit, where.
    pub(super) error: Option<(Position, Overflow)>,
    /// The watermark its rules decided up to.
    pub(super) decided: Option<Ticks>,
}

impl<'a> Replay<'a> {
    pub(super) fn new(
        rules: &'a [MultiRule],
        limits: Limits,
        decided: Option<Ticks>,
        lanes: Vec<(usize, &'a mut Lane)>,
    ) -> Replay<'a> {
        let mut index = vec![None; rules.len()];
        for (at, (r, _)) in lanes.iter().enumerate() {
            if let Some(slot) = index.get_mut(*r) {
                *slot = Some(at);
            }
        }
        Replay {
            rules,
            limits,
            decided,
            found: lanes.iter().map(|_| Vec::new()).collect(),
            lanes,
            index,
            late: Vec::new(),
            repeated: 0,
            error: None,
        }
    }

    /// Carries out one step; past its limit, a rule sets `stop` and the
    /// replay takes nothing more.
    fn step(&mut self, step: Step, stop: &AtomicBool) {
        if self.error.is_some() {
            return;
        }
        match step {
            Step::Take(parts) => {
                for (at, payload, part) in parts {
                    let found = self.index.get(part.rule as usize).copied().flatten();
                    let Some((r, lane)) = found.and_then(|i| self.lanes.get_mut(i)) else {
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
                            stop.store(true, Ordering::Relaxed);
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

    /// Decides every episode left, unless the replay stopped (a rule past
    /// its limit, here or in another replay, or the sort buffer unreadable):
    /// then nothing it would decide is used.
    fn end(mut self, stop: &AtomicBool) -> Ended {
        if !stop.load(Ordering::Relaxed) {
            self.decide(None);
        }
        Ended {
            found: self.lanes.iter().map(|(r, _)| *r).zip(self.found).collect(),
            late: self.late,
            repeated: self.repeated,
            error: self.error,
            decided: self.decided,
        }
    }
}

/// The steps gathered for one replay, and the parts among them.
#[derive(Default)]
struct Batch {
    steps: Vec<Step>,
    parts: usize,
    /// Parts in the last step that takes them, so far.
    taking: usize,
}

impl Batch {
    /// Adds a part to the step taking the parts gathered since the last
    /// decision or send: one step for many records, not one each.
    fn take(&mut self, part: (Position, u64, Part)) {
        self.parts += 1;
        match self.steps.last_mut() {
            Some(Step::Take(parts)) => parts.push(part),
            _ => {
                // Room for as many as the last such step took (the
                // decisions come every so many records): at most a batch,
                // about half a megabyte.
                let mut parts = Vec::with_capacity(self.taking.clamp(BATCH.min(16), BATCH));
                parts.push(part);
                self.steps.push(Step::Take(parts));
                self.taking = 0;
            }
        }
        self.taking += 1;
    }
}

/// Replays the sorted records, in time order, as steps for the replays
/// (rule `r` in replay `share[r]`): their parts with event numbers from
/// `first`, a decision every [`DECIDE_EVERY`] records (up to just before
/// the record at hand: every record still to come is at its time or later)
/// and a sweep every [`SWEEP_EVERY`] decisions. `send` gets each replay's
/// steps at each decision, or by [`BATCH`]. Stops when `stop` is set;
/// gives the next event number.
fn feed(
    mut sorted: Sorted,
    first: u64,
    share: &[usize],
    groups: usize,
    stop: &AtomicBool,
    send: &mut dyn FnMut(usize, Vec<Step>),
) -> std::io::Result<u64> {
    let mut batches: Vec<Batch> = (0..groups).map(|_| Batch::default()).collect();
    let mut payload = first;
    let mut since = 0usize;
    let mut decides = 0usize;
    let mut record = 0u64;
    let mut flush = |batches: &mut Vec<Batch>, all: bool| {
        for (g, batch) in batches.iter_mut().enumerate() {
            if (all && !batch.steps.is_empty()) || batch.parts >= BATCH {
                batch.parts = 0;
                send(g, std::mem::take(&mut batch.steps));
            }
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let Some(parts) = sorted.next()? else {
            break;
        };
        let Some(time) = parts.parts.first().map(|p| p.time) else {
            continue;
        };
        if since >= DECIDE_EVERY {
            since = 0;
            let w = time.saturating_sub(1);
            decides += 1;
            for batch in &mut batches {
                batch.steps.push(Step::Decide(w));
                if decides.is_multiple_of(SWEEP_EVERY) {
                    batch.steps.push(Step::Sweep(w));
                }
            }
            flush(&mut batches, true);
        }
        since += 1;
        for (i, part) in parts.parts.into_iter().enumerate() {
            if let Some(batch) = share
                .get(part.rule as usize)
                .and_then(|g| batches.get_mut(*g))
            {
                batch.take(((record, i), payload, part));
                payload += 1;
            }
        }
        flush(&mut batches, false);
        record += 1;
    }
    flush(&mut batches, true);
    Ok(payload)
}

/// Which of `groups` replays each rule goes to: the rules with the most
/// events waiting first, each to the replay with the fewest so far (the
/// first among equals: giving the busiest rule to another thread than the
/// one reading the sort buffer measured slower).
pub(super) fn share(lanes: &[Lane], groups: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lanes.len()).collect();
    order.sort_by_key(|r| std::cmp::Reverse(lanes.get(*r).map_or(0, |l| l.waiting)));
    let mut load = vec![0u64; groups.max(1)];
    let mut share = vec![0; lanes.len()];
    for r in order {
        let least = load.iter_mut().enumerate().min_by_key(|(_, n)| **n);
        if let Some((g, least)) = least {
            *least += lanes.get(r).map_or(0, |l| l.waiting).max(1);
            if let Some(slot) = share.get_mut(r) {
                *slot = g;
            }
        }
    }
    share
}

/// Runs the first replay on the calling thread, as it reads the sort
/// buffer, and each other one (if any) on a thread of its own. Gives what
/// each came to and the next event number; a rule past its limit stops
/// the reading, and an unreadable sort buffer stops every replay.
pub(super) fn split(
    sorted: Sorted,
    first: u64,
    share: &[usize],
    replays: Vec<Replay<'_>>,
) -> std::io::Result<(Vec<Ended>, u64)> {
    let groups = replays.len();
    let mut replays = replays.into_iter();
    let Some(mut here) = replays.next() else {
        return Ok((Vec::new(), first));
    };
    let stop = AtomicBool::new(false);
    let stop = &stop;
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(groups);
        let mut handles = Vec::with_capacity(groups);
        for mut replay in replays {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Step>>(IN_FLIGHT);
            senders.push(tx);
            handles.push(scope.spawn(move || {
                for steps in rx {
                    steps.into_iter().for_each(|step| replay.step(step, stop));
                }
                replay.end(stop)
            }));
        }
        let fed = feed(sorted, first, share, groups, stop, &mut |g, steps| {
            match g.checked_sub(1) {
                None => steps.into_iter().for_each(|step| here.step(step, stop)),
                // A replay only stops taking, never receiving: a send
                // fails only if its thread panicked, which the join below
                // passes on.
                Some(i) => {
                    if let Some(tx) = senders.get(i) {
                        let _ = tx.send(steps);
                    }
                }
            }
        });
        if fed.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(senders);
        let mut ends = vec![here.end(stop)];
        for handle in handles {
            match handle.join() {
                Ok(end) => ends.push(end),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        fed.map(|next| (ends, next))
    })
}
