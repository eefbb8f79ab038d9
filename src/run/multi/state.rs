//! On the calling thread: the rules over many records of a run
//! ([`MultiRun`]), one [`Lane`] each, fed the events; on a live stream
//! decided as the watermark moves, otherwise, at the end of the input,
//! through the [`super::replay`].

use super::extract::Parts;
use super::lane::{Lane, Overflow, Took};
use super::replay::{Ended, Position, Replay, share, split};
use super::spill::{SORT_BUFFER, Spill};
use crate::compile::MultiRule;
use crate::finding::Finding;
use crate::record::Location;
use crate::window::{Limits, Ticks};

/// How late a record of standard input may come, in event time, behind the
/// newest record seen so far, and still take part: 10 minutes.
pub const LATENESS: Ticks = 10 * 60 * crate::window::TICKS_PER_SECOND;

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
    /// Where the first of them was read.
    pub first_untimed: Option<Location>,
    /// Events that came behind the watermark.
    pub late: u64,
    /// Events of a record delivered again, used once.
    pub repeated: u64,
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
            first_untimed: None,
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
        if let Some(location) = &parts.untimed {
            self.untimed += 1;
            self.first_untimed.get_or_insert_with(|| location.clone());
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
        // A record's kept part is shared by the rules it takes part in:
        // counted once.
        let mut seen = rustc_hash::FxHashSet::default();
        let kept: usize = self
            .lanes
            .iter()
            .flat_map(Lane::details)
            .filter(|d| seen.insert(std::sync::Arc::as_ptr(&d.kept)))
            .map(|d| d.kept.heap_bytes())
            .sum();
        let lanes: usize = self.lanes.iter().map(Lane::retained_bytes).sum();
        let (engine, details) = (lanes, kept);
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
    /// so the findings are the same. A rule past its limit stops the
    /// replay at once; the counters (`late`, `repeated`) then stay as they
    /// were before it.
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
            lane.forget();
        }
        let (ends, next): (Vec<Ended>, u64) = outcome.map_err(MultiError::Spill)?;
        self.next_payload = next;
        let error = ends
            .iter()
            .filter_map(|end| end.error.as_ref())
            .min_by_key(|(at, _)| *at)
            .map(|(_, overflow)| overflow.clone());
        if let Some(overflow) = error {
            return Err(overflow.into());
        }
        let mut decided = vec![Vec::new(); self.rules.len()];
        let mut late: Vec<(Position, String, Location)> = Vec::new();
        for end in ends {
            self.late += end.late.len() as u64;
            self.repeated += end.repeated;
            self.decided = self.decided.max(end.decided);
            late.extend(end.late);
            for (r, found) in end.found {
                if let Some(slot) = decided.get_mut(r) {
                    *slot = found;
                }
            }
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
