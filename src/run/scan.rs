//! Runs a rule set over an input: records are framed in input order on the
//! calling thread, decoded and evaluated in batches on worker threads, and
//! handed back in input order, so the output of a run does not depend on
//! the number of threads.
//!
//! JSON lines are framed without a scan (each line that starts with `{`
//! and ends with `}` is taken for a record) and checked by the worker that
//! parses them; a line that is not one record sends the reader back to it
//! (see [`Reader`]'s `speculate`), so the outcomes are those of framing
//! every record first.
//!
//! What a worker built and the sink leaves in an outcome (its findings)
//! goes back to that worker to be dropped: freed on another thread, its
//! memory would come back to the worker's allocator cold, and reading the
//! next records into it would cost more (see `scan_in_place`).
//!
//! Memory stays bounded: at most `IN_FLIGHT_PER_THREAD` (4) batches per worker
//! are out at once, each at most `BATCH` (256) records and, past its first
//! record, `BATCH_BYTES` (4 MiB) of input; the reader keeps the input bytes
//! of the batches not applied yet, to go back to. A worker that panics (a
//! bug) makes the whole scan panic with its message, once the other workers
//! have stopped.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use crate::engine::RuleSet;
use crate::finding::{Finding, Problem};
use crate::ingest::{Item, Mark, Pending, Reader, Seen};
pub use crate::run::multi::Parts;

/// Records per batch handed to a worker.
const BATCH: usize = 256;

/// Input bytes past which a batch is sent even if it holds fewer records.
const BATCH_BYTES: usize = 4 << 20;

/// Batches out at once per worker: enough to keep workers busy while the
/// caller applies results, few enough to bound memory.
const IN_FLIGHT_PER_THREAD: usize = 4;

/// What one record of the input came to.
#[derive(Debug)]
pub enum Outcome {
    /// A record that was read.
    Record {
        /// Whether any rule reads the record's log; when not, it was not
        /// evaluated.
        targeted: bool,
        /// Its findings, in rule order.
        findings: Vec<Finding>,
        /// Its events for the window and sequence rules.
        parts: Parts,
    },
    /// A record that could not be read.
    Unreadable(Problem),
    /// A record that holds nothing of a sign-in or a Graph call: not
    /// evaluated.
    NotSignIn(Problem),
}

/// Evaluates `rules` over every record of `reader`, calling `sink` with
/// each record's outcome in input order; stops at the first error `sink`
/// returns, and returns it.
///
/// With `threads` of 1 or less everything runs on the calling thread;
/// otherwise that many workers decode and evaluate while the calling thread
/// frames the input and runs `sink`.
pub fn scan<E>(
    reader: &mut Reader,
    rules: &RuleSet,
    threads: usize,
    sink: &mut dyn FnMut(Outcome) -> Result<(), E>,
) -> Result<(), E> {
    scan_in_place(reader, rules, threads, &mut |outcome| {
        sink(std::mem::replace(outcome, Outcome::SPENT))
    })
}

/// [`scan`], with `sink` reading each outcome in place. What it leaves in
/// the outcome is dropped by the worker that made it, once the sink is
/// done with the batch: a finding's many small values, freed on the
/// calling thread, would go back to the worker's allocator from another
/// core, and the worker writing its next records into them would wait for
/// each cache line (twelve rules on two cores, 200,000 records: 0.94x the
/// time and 5 % less CPU time than when the calling thread dropped them).
pub(crate) fn scan_in_place<E>(
    reader: &mut Reader,
    rules: &RuleSet,
    threads: usize,
    sink: &mut dyn FnMut(&mut Outcome) -> Result<(), E>,
) -> Result<(), E> {
    if threads <= 1 {
        while let Some(pending) = reader.next_pending() {
            let (item, seen) = pending.decode();
            reader.note(seen);
            sink(&mut outcome(item, rules))?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (work_tx, work_rx) = mpsc::sync_channel::<Job>(threads * IN_FLIGHT_PER_THREAD);
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let work_rx = Arc::new(Mutex::new(work_rx));
        let mut spent = Vec::with_capacity(threads);
        for worker in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            let (spent_tx, spent_rx) = mpsc::channel::<Results>();
            spent.push(spent_tx);
            scope.spawn(move || work(worker, &work_rx, &done_tx, &spent_rx, rules));
        }
        drop(done_tx);
        let result = drive(reader, threads, work_tx, &done_rx, &spent, sink);
        reader.speculate(false);
        // Dropping the work channel (in `drive`) stops the workers; results
        // still on their way are dropped with `done_rx`.
        result
    })
}

impl Outcome {
    /// What [`scan`] leaves in place of an outcome it hands on.
    pub(crate) const SPENT: Outcome = Outcome::Record {
        targeted: false,
        findings: Vec::new(),
        parts: Parts::EMPTY,
    };
}

/// A batch of records to decode, with its sequence number.
type Job = (u64, Vec<Pending>);

/// A decoded batch with the worker that decoded it, or that worker's
/// panic.
type Done = (u64, usize, std::thread::Result<Decoded>);

/// For each record of a batch, what [`Reader::note`] needs and its outcome.
type Results = Vec<(Seen, Outcome)>;

/// A decoded batch: for each record, what [`Reader::note`] needs and its
/// outcome, up to a line the reader took for a record and must read again
/// (see [`Reader::speculate`]).
struct Decoded {
    results: Results,
    rewind: Option<Mark>,
}

/// The calling thread's side: sends batches, applies results in order.
///
/// The reader frames JSON lines without scanning them (the workers parse
/// each byte once, and check that each line is one record). When a line is
/// not, the results up to it are applied, the reader goes back to it and
/// reads on as usual, and the batches read after it are dropped as they
/// come back.
fn drive<E>(
    reader: &mut Reader,
    threads: usize,
    work_tx: SyncSender<Job>,
    done_rx: &Receiver<Done>,
    spent: &[Sender<Results>],
    sink: &mut dyn FnMut(&mut Outcome) -> Result<(), E>,
) -> Result<(), E> {
    // The workers parse: the framer only frames (see
    // `Reader::parse_lines`).
    reader.parse_lines(false);
    reader.speculate(true);
    let limit = threads * IN_FLIGHT_PER_THREAD;
    let mut sent = 0u64;
    let mut applied = 0u64;
    let mut early: BTreeMap<u64, (usize, std::thread::Result<Decoded>)> = BTreeMap::new();
    // Where each batch not applied yet starts: once the one before is
    // applied, no rewind goes back past it.
    let mut starts: VecDeque<Option<Mark>> = VecDeque::new();
    let mut more = true;
    loop {
        while more && sent - applied < limit as u64 {
            let start = reader.mark();
            let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
            let mut bytes = 0;
            while batch.len() < BATCH && bytes < BATCH_BYTES {
                match reader.next_pending() {
                    Some(pending) => {
                        bytes += pending.size();
                        batch.push(pending);
                    }
                    None => {
                        more = false;
                        break;
                    }
                }
            }
            if batch.is_empty() {
                break;
            }
            if work_tx.send((sent, batch)).is_err() {
                // Every worker is gone: they only stop early on a panic,
                // whose result is on its way; `recv` below gets it.
                break;
            }
            starts.push_back(start);
            sent += 1;
        }
        if applied == sent {
            return Ok(());
        }
        let Ok((seq, worker, results)) = done_rx.recv() else {
            return Ok(());
        };
        if seq < applied {
            // Read past a line read again since: dropped.
            continue;
        }
        early.insert(seq, (worker, results));
        while let Some((worker, results)) = early.remove(&applied) {
            applied += 1;
            // Dropping the work channel on the way out stops the other
            // workers, so the scope can end and pass the panic on.
            let mut decoded = results.unwrap_or_else(|payload| panic::resume_unwind(payload));
            for (seen, outcome) in &mut decoded.results {
                reader.note(*seen);
                sink(outcome)?;
            }
            // A worker gone (on its way out) cannot take them back: then
            // they are dropped here.
            if let Some(to) = spent.get(worker) {
                let _ = to.send(decoded.results);
            }
            if let Some(mark) = decoded.rewind {
                reader.rewind(&mark);
                early.clear();
                starts.clear();
                applied = sent;
                more = true;
                break;
            }
            starts.pop_front();
            if let Some(Some(next)) = starts.front() {
                reader.forget(next);
            }
        }
    }
}

/// A worker: decodes and evaluates batches until the work channel closes,
/// and drops what the sink is done with of the batches it decoded.
fn work(
    worker: usize,
    work_rx: &Mutex<Receiver<Job>>,
    done_tx: &Sender<Done>,
    spent_rx: &Receiver<Results>,
    rules: &RuleSet,
) {
    loop {
        spent_rx.try_iter().for_each(drop);
        let job = match work_rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, batch)) = job else { return };
        let results = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut results = Vec::with_capacity(batch.len());
            for pending in batch {
                match pending.decode_checked() {
                    Ok((item, seen)) => results.push((seen, outcome(item, rules))),
                    Err(mark) => {
                        return Decoded {
                            results,
                            rewind: Some(mark),
                        };
                    }
                }
            }
            Decoded {
                results,
                rewind: None,
            }
        }));
        if done_tx.send((seq, worker, results)).is_err() {
            return;
        }
    }
}

/// Evaluates one decoded item.
fn outcome(item: Item, rules: &RuleSet) -> Outcome {
    match item {
        Item::Record(record, location) => {
            let targeted = rules.targets(&record.category);
            let mut findings = Vec::new();
            let mut parts = Parts::default();
            if targeted {
                parts = rules.evaluate_and_extract(&record, &location, &mut |f| findings.push(f));
            }
            Outcome::Record {
                targeted,
                findings,
                parts,
            }
        }
        Item::Unreadable(problem) => Outcome::Unreadable(problem),
        Item::NotSignIn(problem) => Outcome::NotSignIn(problem),
    }
}
