//! Files are read in any order, so the events of rules over many records
//! cannot be decided until the input ends. Rather than hold them all until
//! then, the run keeps each taking-part record compactly in a sort buffer
//! of bounded size; when it is full, the buffer is sorted by event time and
//! written to a temporary file. At the end the buffer and the files are
//! merged in time order, and the rules see the records as a stream in
//! order, deciding and forgetting as they go: memory holds the buffer and
//! what the rules' spans hold, not the input.
//!
//! Records of one time keep the order they came in (a stable sort, and a
//! merge that takes the earlier file first), so a run decides exactly as if
//! every record had been held.
//!
//! A record is one entry: its time, tie key and kept part once, then each
//! rule's event (rule, steps, key and distinct values). The temporary
//! files are anonymous (removed by the system when the run ends, even if it
//! is killed) and live in the system's temporary directory (`TMPDIR` on
//! Unix, `TMP` on Windows).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::sync::Arc;

use super::extract::{Detail, Kept, Part, Parts};
use super::kept::{KeyTable, put_bytes, put_len, take_bytes, take_len};
use crate::record::{Location, LogCategory};
use crate::window::{Key, Ticks, TieKey};

/// Bytes of the sort buffer by default: past this, sorted records go to a
/// temporary file. The buffer is most of a run's peak memory. When it is
/// freed at the end of the input, mimalloc returns it to the system only
/// after a delay, while the replay's windows are already growing: 24 MiB
/// keeps that overlap under 64 MB for the built-in pack on two cores, and
/// spills no slower than 32 MiB did (README, "Memory").
pub const SORT_BUFFER: usize = 24 << 20;

/// Says that the temporary files could not be used, where, and how to
/// choose another place.
pub fn spill_failed(f: &mut std::fmt::Formatter<'_>, e: &io::Error) -> std::fmt::Result {
    let variable = if cfg!(windows) { "TMP" } else { "TMPDIR" };
    write!(
        f,
        "cannot use a temporary file for the records of window and sequence rules \
         (in {}; set {variable} to another directory): {e}",
        std::env::temp_dir().display()
    )
}

/// Most temporary files open at once: past them, the files written since
/// the last merge are merged into one (so a run never holds more open
/// files than this, whatever its size, and each record is rewritten once
/// until 256 merged files are full, 2 TiB with the default buffer).
#[cfg(not(test))]
const MAX_FILES: usize = 256;
#[cfg(test)]
const MAX_FILES: usize = 4;

/// The largest sort buffer: entries are found by 32-bit offsets.
const MAX_BUFFER: usize = 1 << 31;

/// The longest entry read back: one record's events, far below this (a
/// damaged length is an error, not an allocation).
const MAX_ENTRY: usize = 1 << 30;

/// Bytes an index entry takes beside its record.
const INDEX_BYTES: usize = size_of::<(Ticks, u32, u32)>();

/// Taking-part records waiting for the end of the input, in memory up to a
/// budget and in sorted temporary files past it.
#[derive(Debug)]
pub(super) struct Spill {
    budget: usize,
    /// The names kept fields are numbered by (one table per run).
    keys: Option<KeyTable>,
    /// The paths of the records, by number, and the numbers by path.
    paths: Vec<Arc<str>>,
    numbers: rustc_hash::FxHashMap<Arc<str>, u32>,
    /// The encoded records in memory.
    buf: Vec<u8>,
    /// `(time, start, length)` of each record in `buf`.
    index: Vec<(Ticks, u32, u32)>,
    /// Sorted runs written out, oldest first.
    files: Vec<File>,
    /// The files before this one are merges of earlier files.
    merged: usize,
    /// How many times the buffer was written out.
    written: usize,
}

impl Spill {
    /// A sort buffer of `budget` bytes.
    pub(super) fn new(budget: usize) -> Spill {
        Spill {
            budget: budget.min(MAX_BUFFER),
            keys: None,
            paths: Vec::new(),
            numbers: rustc_hash::FxHashMap::default(),
            buf: Vec::new(),
            index: Vec::new(),
            files: Vec::new(),
            merged: 0,
            written: 0,
        }
    }

    /// Whether no record waits.
    pub(super) fn is_empty(&self) -> bool {
        self.index.is_empty() && self.files.is_empty()
    }

    /// How many times the buffer was written to a temporary file.
    pub(super) fn written(&self) -> usize {
        self.written
    }

    /// Bytes the records in memory take: their entries and index. (Past
    /// its first megabyte, the buffer is reserved at its full size, up to
    /// [`SORT_BUFFER`].)
    pub(super) fn bytes(&self) -> usize {
        self.buf.len() + self.index.len() * INDEX_BYTES
    }

    /// Keeps one record's parts (all of one record: one time, tie and kept
    /// part). Writes a sorted file when the buffer is full.
    pub(super) fn push(&mut self, parts: Parts) -> io::Result<()> {
        let Some(first) = parts.parts.first() else {
            return Ok(());
        };
        let (time, tie, kept) = (first.time, first.tie, &first.detail.kept);
        if self.keys.is_none() {
            self.keys = Some(Arc::clone(&kept.keys));
        }
        // Past its first megabyte the buffer is reserved at its full size
        // at once: growing by doubling would leave the smaller copies with
        // the allocator.
        let full = self.budget.min(SORT_BUFFER);
        if self.buf.len() >= 1 << 20 && self.buf.capacity() < full {
            self.buf.reserve_exact(full - self.buf.len());
        }
        let path = self.path_number(&kept.location.path);
        let start = self.buf.len();
        let out = &mut self.buf;
        out.extend_from_slice(&time.to_le_bytes());
        out.extend_from_slice(&tie.to_bits().to_le_bytes());
        out.extend_from_slice(&path.to_le_bytes());
        out.extend_from_slice(&kept.location.line.to_le_bytes());
        out.extend_from_slice(&kept.location.record.to_le_bytes());
        put_category(out, &kept.category);
        put_bytes(out, &kept.packed);
        put_len(out, parts.parts.len());
        for part in &parts.parts {
            out.extend_from_slice(&part.rule.to_le_bytes());
            out.extend_from_slice(&part.detail.steps.to_le_bytes());
            put_bytes(out, part.key.as_str().as_bytes());
            put_len(out, part.distinct.len());
            for d in &part.distinct {
                match d {
                    Some(d) => {
                        out.push(1);
                        put_bytes(out, d.as_bytes());
                    }
                    None => out.push(0),
                }
            }
        }
        let (Ok(start32), Ok(len32)) =
            (u32::try_from(start), u32::try_from(self.buf.len() - start))
        else {
            return Err(io::Error::other("a sort buffer past 4 GiB"));
        };
        self.index.push((time, start32, len32));
        if self.buf.len() + self.index.len() * INDEX_BYTES >= self.budget {
            self.write_run()?;
        }
        Ok(())
    }

    fn path_number(&mut self, path: &Arc<str>) -> u32 {
        // Records come file by file: the last path is nearly always it.
        if let Some(last) = self.paths.last()
            && Arc::ptr_eq(last, path)
        {
            return (self.paths.len() - 1) as u32;
        }
        let next = self.paths.len() as u32;
        let number = *self.numbers.entry(Arc::clone(path)).or_insert(next);
        if number == next {
            self.paths.push(Arc::clone(path));
        }
        number
    }

    /// Sorts the buffer by time (stably: records of one time keep their
    /// order) and writes it to a new temporary file.
    fn write_run(&mut self) -> io::Result<()> {
        self.index.sort_by_key(|(t, _, _)| *t);
        if self.files.len() >= MAX_FILES {
            self.compact()?;
        }
        let mut file = Writer::new()?;
        for &(_, start, len) in &self.index {
            file.write(entry(&self.buf, start, len)?)?;
        }
        self.files.push(file.finish()?);
        self.written += 1;
        self.buf.clear();
        self.index.clear();
        Ok(())
    }

    /// Merges the files written since the last merge into one, in their
    /// place: its records came after those of the files before it and
    /// before any later file's, so ties keep their order. When every file
    /// is already a merge, they are all merged.
    fn compact(&mut self) -> io::Result<()> {
        if self.merged >= self.files.len().saturating_sub(1) {
            self.merged = 0;
        }
        let recent = self.files.split_off(self.merged);
        let mut merge = Merge::new(recent)?;
        let mut file = Writer::new()?;
        while let Some(entry) = merge.next()? {
            file.write(entry)?;
        }
        self.files.push(file.finish()?);
        self.merged = self.files.len();
        Ok(())
    }

    /// Every record, in time order (records of one time in the order they
    /// came). The spill starts again empty afterwards, with nothing of the
    /// records drained (their paths, files and merges) left behind.
    pub(super) fn drain(&mut self) -> io::Result<Sorted> {
        let empty = Spill {
            written: self.written,
            ..Spill::new(self.budget)
        };
        let mut full = std::mem::replace(self, empty);
        let keys = full.keys.take().unwrap_or_else(|| Arc::from([]));
        let paths = std::mem::take(&mut full.paths);
        if full.files.is_empty() {
            full.index.sort_by_key(|(t, _, _)| *t);
            return Ok(Sorted {
                keys,
                paths,
                source: Source::Memory {
                    buf: full.buf,
                    index: full.index.into_iter(),
                },
            });
        }
        if !full.index.is_empty() {
            full.write_run()?;
            self.written = full.written;
        }
        Ok(Sorted {
            keys,
            paths,
            source: Source::Merge(Merge::new(full.files)?),
        })
    }
}

/// A temporary file being written: entries of a length and the bytes.
struct Writer(BufWriter<File>);

impl Writer {
    fn new() -> io::Result<Writer> {
        Ok(Writer(BufWriter::with_capacity(
            1 << 16,
            tempfile::tempfile()?,
        )))
    }

    fn write(&mut self, entry: &[u8]) -> io::Result<()> {
        let len = u32::try_from(entry.len()).map_err(|_| damaged())?;
        self.0.write_all(&len.to_le_bytes())?;
        self.0.write_all(entry)
    }

    /// The file, flushed and ready to be read from its start.
    fn finish(self) -> io::Result<File> {
        let mut file = self
            .0
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.rewind()?;
        Ok(file)
    }
}

/// Sorted files merged: entries in time order, the earlier file first on a
/// tie.
#[derive(Debug)]
struct Merge {
    runs: Vec<Run>,
    /// The next time of each run not yet at its end.
    heap: BinaryHeap<Reverse<(Ticks, usize)>>,
    /// The run whose entry was given last: it reads on at the next call.
    taken: Option<usize>,
}

impl Merge {
    fn new(files: Vec<File>) -> io::Result<Merge> {
        let mut runs = Vec::new();
        let mut heap = BinaryHeap::new();
        for (i, file) in files.into_iter().enumerate() {
            let mut run = Run {
                reader: BufReader::with_capacity(1 << 16, file),
                entry: Vec::new(),
            };
            if let Some(time) = run.advance()? {
                heap.push(Reverse((time, i)));
            }
            runs.push(run);
        }
        Ok(Merge {
            runs,
            heap,
            taken: None,
        })
    }

    /// The next entry, or `None` at the end.
    fn next(&mut self) -> io::Result<Option<&[u8]>> {
        if let Some(i) = self.taken.take() {
            let run = self.runs.get_mut(i).ok_or_else(damaged)?;
            if let Some(time) = run.advance()? {
                self.heap.push(Reverse((time, i)));
            }
        }
        let Some(Reverse((_, i))) = self.heap.pop() else {
            return Ok(None);
        };
        self.taken = Some(i);
        Ok(Some(&self.runs.get(i).ok_or_else(damaged)?.entry))
    }
}

fn entry(buf: &[u8], start: u32, len: u32) -> io::Result<&[u8]> {
    let start = start as usize;
    buf.get(start..start + len as usize).ok_or_else(damaged)
}

/// A file that ends inside an entry is damaged.
fn cut_short(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        damaged()
    } else {
        e
    }
}

fn damaged() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "a temporary file of rules over many records reads back damaged",
    )
}

/// One sorted temporary file, read entry by entry.
#[derive(Debug)]
struct Run {
    reader: BufReader<File>,
    /// The entry read last, not yet taken.
    entry: Vec<u8>,
}

impl Run {
    /// Reads the next entry; gives its time, or `None` at the end.
    fn advance(&mut self) -> io::Result<Option<Ticks>> {
        if self.reader.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let mut len = [0u8; 4];
        self.reader.read_exact(&mut len).map_err(cut_short)?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_ENTRY {
            return Err(damaged());
        }
        self.entry.clear();
        self.entry.resize(len, 0);
        self.reader.read_exact(&mut self.entry).map_err(cut_short)?;
        let time = self.entry.first_chunk::<8>().ok_or_else(damaged)?;
        Ok(Some(Ticks::from_le_bytes(*time)))
    }
}

#[derive(Debug)]
enum Source {
    Memory {
        buf: Vec<u8>,
        index: std::vec::IntoIter<(Ticks, u32, u32)>,
    },
    Merge(Merge),
}

/// The records of a [`Spill`] in time order.
#[derive(Debug)]
pub(super) struct Sorted {
    keys: KeyTable,
    paths: Vec<Arc<str>>,
    source: Source,
}

impl Sorted {
    /// The next record's parts, or `None` at the end.
    pub(super) fn next(&mut self) -> io::Result<Option<Parts>> {
        match &mut self.source {
            Source::Memory { buf, index } => match index.next() {
                Some((_, start, len)) => {
                    decode(entry(buf, start, len)?, &self.keys, &self.paths).map(Some)
                }
                None => Ok(None),
            },
            Source::Merge(merge) => match merge.next()? {
                Some(entry) => decode(entry, &self.keys, &self.paths).map(Some),
                None => Ok(None),
            },
        }
    }
}

const CATEGORIES: [LogCategory; 5] = [
    LogCategory::Interactive,
    LogCategory::NonInteractive,
    LogCategory::ServicePrincipal,
    LogCategory::ManagedIdentity,
    LogCategory::GraphActivity,
];

fn put_category(out: &mut Vec<u8>, category: &LogCategory) {
    match CATEGORIES.iter().position(|c| c == category) {
        Some(i) => out.push(i as u8),
        None => {
            out.push(u8::MAX);
            put_bytes(out, category.name().as_bytes());
        }
    }
}

fn take<const N: usize>(bytes: &mut &[u8]) -> io::Result<[u8; N]> {
    let (head, rest) = bytes.split_first_chunk::<N>().ok_or_else(damaged)?;
    *bytes = rest;
    Ok(*head)
}

fn take_text(bytes: &mut &[u8]) -> io::Result<Box<str>> {
    let raw = take_bytes(bytes).ok_or_else(damaged)?;
    std::str::from_utf8(raw)
        .map(Into::into)
        .map_err(|_| damaged())
}

/// `n` values, each read by `take_one`, in a slice of their number: room
/// for up to 64 taken at once (the count may be damaged), where collecting
/// into a `Result` would grow a vector from four and shrink it back.
fn take_each<T>(
    b: &mut &[u8],
    n: usize,
    mut take_one: impl FnMut(&mut &[u8]) -> io::Result<T>,
) -> io::Result<Box<[T]>> {
    let mut out = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        out.push(take_one(b)?);
    }
    Ok(out.into_boxed_slice())
}

/// The parts [`Spill::push`] encoded.
fn decode(mut bytes: &[u8], keys: &KeyTable, paths: &[Arc<str>]) -> io::Result<Parts> {
    let b = &mut bytes;
    let time = Ticks::from_le_bytes(take(b)?);
    let tie = TieKey::from_bits(u128::from_le_bytes(take(b)?));
    let path = paths
        .get(u32::from_le_bytes(take(b)?) as usize)
        .ok_or_else(damaged)?;
    let location = Location {
        path: Arc::clone(path),
        line: u64::from_le_bytes(take(b)?),
        record: u64::from_le_bytes(take(b)?),
    };
    let [tag] = take::<1>(b)?;
    let category = match CATEGORIES.get(usize::from(tag)) {
        Some(c) => c.clone(),
        None => LogCategory::Other(take_text(b)?),
    };
    let packed: Box<[u8]> = take_bytes(b).ok_or_else(damaged)?.into();
    let kept = Arc::new(Kept {
        location,
        category,
        time,
        packed,
        keys: Arc::clone(keys),
    });
    let n = take_len(b).ok_or_else(damaged)?;
    let mut parts = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let rule = u32::from_le_bytes(take(b)?);
        let steps = u64::from_le_bytes(take(b)?);
        let key = Key::from_text(take_text(b)?).ok_or_else(damaged)?;
        let d = take_len(b).ok_or_else(damaged)?;
        let distinct = take_each(b, d, |b| match take::<1>(b)? {
            [0] => Ok(None),
            _ => take_text(b).map(Some),
        })?;
        parts.push(Part {
            rule,
            time,
            tie,
            key,
            distinct,
            detail: Detail {
                kept: Arc::clone(&kept),
                steps,
            },
        });
    }
    if !b.is_empty() {
        return Err(damaged());
    }
    Ok(Parts {
        parts,
        untimed: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(time: Ticks, n: u64, path: &Arc<str>) -> Parts {
        let kept = Arc::new(Kept {
            location: Location {
                path: Arc::clone(path),
                line: n + 1,
                record: n,
            },
            category: if n.is_multiple_of(3) {
                LogCategory::Other("ADFSSignInLogs".into())
            } else {
                LogCategory::NonInteractive
            },
            time,
            packed: vec![n as u8; (n % 7) as usize].into(),
            keys: Arc::from([Box::from("ipAddress")]),
        });
        let part = |rule: u32| Part {
            rule,
            time,
            tie: TieKey::from_bits(u128::from(n) << 70 | u128::from(n)),
            key: Key::new([format!("203.0.113.{}", n % 5).as_str(), "é"]),
            distinct: vec![Some(Box::from(format!("user{n}"))), None].into(),
            detail: Detail {
                kept: Arc::clone(&kept),
                steps: n | 1 << 40,
            },
        };
        Parts {
            parts: vec![part(0), part(3)],
            untimed: None,
        }
    }

    /// What a test compares of parts: everything, as text.
    fn essence(p: &Parts) -> String {
        p.parts
            .iter()
            .map(|p| {
                format!(
                    "{} {} {:?} {:?} {:?} {} {:?} {:?} {} {}",
                    p.rule,
                    p.time,
                    p.tie,
                    p.key,
                    p.distinct,
                    p.detail.steps,
                    p.detail.kept.location,
                    p.detail.kept.category,
                    p.detail.kept.time,
                    p.detail.kept.packed.len()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn sorted_out(budget: usize, input: &[Parts]) -> (Vec<String>, usize) {
        let mut spill = Spill::new(budget);
        for p in input {
            assert!(spill.push(p.clone()).is_ok());
        }
        assert!(spill.files.len() <= MAX_FILES);
        let files = spill.written();
        let mut sorted = spill.drain().unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(p) = sorted.next().unwrap_or_else(|e| panic!("{e}")) {
            out.push(essence(&p));
        }
        assert!(spill.is_empty());
        (out, files)
    }

    /// In memory or through many files, the records come back whole, in
    /// time order, those of one time in the order they came.
    #[test]
    fn records_come_back_whole_in_time_order() {
        let a: Arc<str> = "a.json".into();
        let b: Arc<str> = "b.json".into();
        let input: Vec<Parts> = (0..500u64)
            .map(|n| {
                let time = ((n * 7919) % 50) as Ticks - 10;
                parts(time, n, if n % 2 == 0 { &a } else { &b })
            })
            .collect();
        let mut expected: Vec<(Ticks, usize)> = input
            .iter()
            .enumerate()
            .map(|(i, p)| (p.parts[0].time, i))
            .collect();
        expected.sort();
        let expected: Vec<String> = expected.iter().map(|&(_, i)| essence(&input[i])).collect();
        let (memory, files) = sorted_out(usize::MAX, &input);
        assert_eq!(files, 0);
        assert_eq!(memory, expected);
        let (spilled, files) = sorted_out(4096, &input);
        // Many files were written, merged into one each time there were
        // MAX_FILES of them.
        assert!(files > 3 * MAX_FILES, "{files}");
        assert_eq!(spilled, expected);
    }

    /// Why: a drained spill kept its path numbers, so a file read again
    /// after a drain (`a.json - b.json a.json`) was numbered into a table
    /// that no longer held it, and read back as damaged.
    #[test]
    fn a_drained_spill_starts_again() {
        let a: Arc<str> = "a.json".into();
        let b: Arc<str> = "b.json".into();
        for budget in [usize::MAX, 1] {
            let mut spill = Spill::new(budget);
            let read_back = |spill: &mut Spill, input: &[Parts]| {
                for p in input {
                    assert!(spill.push(p.clone()).is_ok());
                }
                let mut sorted = spill.drain().unwrap_or_else(|e| panic!("{e}"));
                let mut out = Vec::new();
                while let Some(p) = sorted.next().unwrap_or_else(|e| panic!("{e}")) {
                    out.push(essence(&p));
                }
                assert_eq!(out, input.iter().map(essence).collect::<Vec<_>>());
                assert!(spill.is_empty());
            };
            read_back(&mut spill, &[parts(1, 1, &a), parts(2, 2, &b)]);
            read_back(&mut spill, &[parts(3, 3, &b), parts(4, 4, &a)]);
        }
    }

    /// A temporary file cut short (in an entry or in its length) is an
    /// error, never a quiet end.
    #[test]
    fn a_file_cut_short_is_an_error() {
        let path: Arc<str> = "a.json".into();
        let written = |keep: Option<u64>| -> (u64, io::Result<()>) {
            let mut spill = Spill::new(usize::MAX);
            for n in 0..2 {
                assert!(spill.push(parts(n as Ticks, n, &path)).is_ok());
            }
            let first = spill.index.first().map_or(0, |(_, _, len)| *len);
            assert!(spill.write_run().is_ok());
            if let (Some(file), Some(keep)) = (spill.files.first(), keep) {
                assert!(file.set_len(keep).is_ok());
            }
            let mut read_all = || -> io::Result<()> {
                let mut sorted = spill.drain()?;
                while sorted.next()?.is_some() {}
                Ok(())
            };
            (4 + u64::from(first), read_all())
        };
        let (boundary, whole) = written(None);
        assert!(whole.is_ok());
        let len = {
            let mut spill = Spill::new(usize::MAX);
            for n in 0..2 {
                assert!(spill.push(parts(n as Ticks, n, &path)).is_ok());
            }
            spill.buf.len() as u64 + 8
        };
        for keep in (1..len).filter(|k| *k != boundary) {
            let (_, result) = written(Some(keep));
            assert_eq!(
                result.map_err(|e| e.kind()),
                Err(io::ErrorKind::InvalidData),
                "cut to {keep} of {len} bytes"
            );
        }
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let path: Arc<str> = "a.json".into();
        let mut spill = Spill::new(usize::MAX);
        assert!(spill.push(parts(5, 1, &path)).is_ok());
        let keys: KeyTable = Arc::from([]);
        let whole = spill.buf.clone();
        for cut in 0..whole.len() {
            let cut = whole.get(..cut).unwrap_or_default();
            assert!(decode(cut, &keys, &spill.paths).is_err());
        }
        assert!(decode(&whole, &keys, &spill.paths).is_ok());
        assert!(decode(&whole, &keys, &[]).is_err());
        // A key whose text is not a key's: its first length, `11:`, made
        // `91:`, longer than the rest of the key.
        let key = b"11:203.0.113.1";
        let at = whole
            .windows(key.len())
            .position(|w| w == key)
            .unwrap_or_else(|| panic!("no key in the entry"));
        let mut damaged = whole.clone();
        damaged[at] = b'9';
        let error = decode(&damaged, &keys, &spill.paths).err();
        assert_eq!(error.map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
    }
}
