//! What the JSON framer and the CSV table reader share: takes the input
//! stream and gives it back in chunks, with room to read some bytes again
//! (the recovery from a broken record), a bounded buffer for one record's
//! bytes, and the loop that turns reading steps into items and read errors
//! into a last item.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::ops::Range;
use std::slice::SliceIndex;
use std::sync::Arc;

/// The byte-order mark some exports start with: skipped, not part of the
/// first record.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes that may be read again beyond as many as were read once.
pub(super) const REPLAY_SLACK: u64 = 1 << 20;

/// Bytes read from the stream at once: the size of a [`Source`]'s blocks
/// (large reads keep system calls rare on big files).
pub(super) const BLOCK: usize = 256 << 10;

/// Most blocks a source keeps for reuse while other threads still read
/// records taken from them.
const KEPT_BLOCKS: usize = 32;

/// Bytes of the input, shared rather than copied: a range of one of the
/// blocks a [`Source`] reads into (records taken from it for other threads
/// to parse, the bytes kept to go back to), or bytes of their own.
#[derive(Clone)]
pub(crate) struct Bytes {
    block: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl Bytes {
    /// Bytes of their own.
    pub(super) fn owned(bytes: Vec<u8>) -> Bytes {
        let range = 0..bytes.len();
        Bytes {
            block: Arc::new(bytes),
            range,
        }
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.block.get(self.range.clone()).unwrap_or_default()
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({})", self.len())
    }
}

/// The byte stream, with room to read some bytes again: when a record spans
/// several lines and fails to parse, the lines after its first are scanned
/// again, in case a broken line swallowed the start of the next record.
///
/// Replays are budgeted: bytes read again may not pass [`REPLAY_SLACK`] plus
/// the bytes read once (as far as the reader has [`Source::reached`]), so
/// input built to be replayed over and over is still read in linear time.
pub(super) struct Source {
    inner: Box<dyn BufRead + Send>,
    /// The bytes last read from `inner`; `pos..filled` are not consumed
    /// yet. Records taken from it without a copy ([`Source::share`]) and
    /// the bytes logged to go back to share it: while they do, the next
    /// read goes to another block.
    block: Arc<Vec<u8>>,
    pos: usize,
    filled: usize,
    /// Blocks read before, for reuse once nothing else holds them.
    kept: VecDeque<Arc<Vec<u8>>>,
    /// Bytes put back, read before `inner`; `replay_pos` of them are read.
    replay: Vec<u8>,
    replay_pos: usize,
    /// Bytes put back so far, and the furthest offset the reader reached.
    replayed: u64,
    furthest: u64,
    /// Bytes consumed so far, read again or not.
    consumed: u64,
    /// The bytes consumed since `log_start` (a count of consumed bytes),
    /// while logging, for [`Source::rewind`]: shared with the records
    /// taken from them.
    log: Option<VecDeque<Bytes>>,
    log_start: u64,
    /// A read that failed, given again by every later read: bytes read
    /// again after a rewind end where the stream failed, as they did.
    failed: Option<(io::ErrorKind, String)>,
}

/// What [`Source::rewind`] restores: the replay budget as it stood, and
/// how many bytes were consumed.
#[derive(Debug, Clone, Copy)]
pub(super) struct SourceMark {
    replayed: u64,
    furthest: u64,
    consumed: u64,
}

impl Source {
    /// A source over `inner`, with nothing to read again yet.
    pub(super) fn new(inner: Box<dyn BufRead + Send>) -> Source {
        Source {
            inner,
            block: Arc::new(Vec::new()),
            pos: 0,
            filled: 0,
            kept: VecDeque::new(),
            replay: Vec::new(),
            replay_pos: 0,
            replayed: 0,
            furthest: 0,
            consumed: 0,
            log: None,
            log_start: 0,
            failed: None,
        }
    }

    /// The next bytes, empty at the end of the stream.
    pub(super) fn chunk(&mut self) -> io::Result<&[u8]> {
        if self.replay_pos < self.replay.len() {
            return Ok(self.replay.get(self.replay_pos..).unwrap_or_default());
        }
        if self.pos == self.filled {
            if let Some((kind, message)) = &self.failed {
                return Err(io::Error::new(*kind, message.clone()));
            }
            self.fill()?;
        }
        Ok(self.block.get(self.pos..self.filled).unwrap_or_default())
    }

    /// Reads the next bytes into a block, all of it consumed before.
    ///
    /// A block no record holds any more is read into where it left off (so
    /// on a live stream each read gives what has come, at once). A block
    /// records still hold is left to them, and the next is filled up (or to
    /// the end of the input) before it is read: only files are read with
    /// records taken for other threads, and a block mostly empty would be
    /// held as long as a full one.
    fn fill(&mut self) -> io::Result<()> {
        let fill_up = match Arc::get_mut(&mut self.block) {
            Some(block) if !block.is_empty() => {
                if self.filled == block.len() {
                    self.pos = 0;
                    self.filled = 0;
                }
                false
            }
            _ => {
                // The first block is read as one held by no record.
                let shared = !self.block.is_empty();
                let block = self.spare_block();
                let old = std::mem::replace(&mut self.block, block);
                if shared {
                    self.kept.push_back(old);
                    if self.kept.len() > KEPT_BLOCKS {
                        self.kept.pop_front();
                    }
                }
                self.pos = 0;
                self.filled = 0;
                shared
            }
        };
        let Some(block) = Arc::get_mut(&mut self.block) else {
            return Ok(());
        };
        let start = self.filled;
        while self.filled < block.len() {
            match read_into(
                &mut *self.inner,
                block.get_mut(self.filled..).unwrap_or_default(),
            ) {
                Ok(0) => break,
                Ok(n) => {
                    self.filled += n;
                    if !fill_up {
                        break;
                    }
                }
                Err(e) => {
                    self.failed = Some((e.kind(), e.to_string()));
                    if self.filled == start {
                        return Err(e);
                    }
                    break;
                }
            }
        }
        self.pos = start;
        if self.filled == start {
            self.at_end();
        }
        Ok(())
    }

    /// At the end of the stream: the blocks kept for reuse are let go.
    fn at_end(&mut self) {
        self.kept.clear();
    }

    /// A block to read into: one kept that nothing else holds any more, or
    /// a new one.
    fn spare_block(&mut self) -> Arc<Vec<u8>> {
        let free = self.kept.iter().position(|b| Arc::strong_count(b) == 1);
        match free.and_then(|i| self.kept.remove(i)) {
            Some(block) => block,
            None => Arc::new(vec![0; BLOCK]),
        }
    }

    /// The first `n` bytes of the last [`Source::chunk`], shared with the
    /// source's block when they are in it (copied when they are bytes put
    /// back to read again).
    pub(super) fn share(&self, n: usize) -> Bytes {
        if self.replay_pos < self.replay.len() {
            let rest = self.replay.get(self.replay_pos..).unwrap_or_default();
            return Bytes::owned(rest.get(..n).unwrap_or(rest).to_vec());
        }
        let end = (self.pos + n).min(self.filled);
        Bytes {
            block: Arc::clone(&self.block),
            range: self.pos..end,
        }
    }

    /// Starts or stops keeping every byte consumed, so the reader can go
    /// back to a [`Source::mark`] taken while logging.
    pub(super) fn log(&mut self, on: bool) {
        self.log = on.then(VecDeque::new);
        self.log_start = self.consumed;
    }

    /// The point the reader stands at, to come back to.
    pub(super) fn mark(&self) -> SourceMark {
        SourceMark {
            replayed: self.replayed,
            furthest: self.furthest,
            consumed: self.consumed,
        }
    }

    /// Forgets the logged bytes before `mark`: no rewind goes back past it
    /// any more.
    pub(super) fn forget(&mut self, mark: &SourceMark) {
        let Some(log) = &mut self.log else {
            return;
        };
        let mut n = mark.consumed.saturating_sub(self.log_start);
        while let Some(first) = log.front_mut()
            && n > 0
        {
            let len = first.len() as u64;
            if len <= n {
                log.pop_front();
                n -= len;
                self.log_start += len;
            } else {
                // Fewer than `len` bytes, which is a `usize`.
                first.range.start += n as usize;
                self.log_start += n;
                n = 0;
            }
        }
    }

    /// Goes back to `mark`, taken while logging and not forgotten: the
    /// bytes consumed since are read again, outside the replay budget
    /// (they are read again because the reader read ahead, not because the
    /// input asked for it), and the budget is as it was. Logging stops.
    pub(super) fn rewind(&mut self, mark: &SourceMark) {
        let log = self.log.take().unwrap_or_default();
        let mut skip =
            usize::try_from(mark.consumed.saturating_sub(self.log_start)).unwrap_or(usize::MAX);
        let left = std::mem::take(&mut self.replay);
        let mut replay: Vec<u8> = Vec::new();
        for part in &log {
            let from = skip.min(part.len());
            replay.extend_from_slice(part.get(from..).unwrap_or_default());
            skip -= from;
        }
        replay.extend(left.iter().skip(self.replay_pos));
        self.replay = replay;
        self.replay_pos = 0;
        self.replayed = mark.replayed;
        self.furthest = mark.furthest;
        self.consumed = mark.consumed;
    }

    /// Marks the first `n` bytes of the last [`Source::chunk`] as read.
    pub(super) fn consume(&mut self, n: usize) {
        if self.log.is_some() && n > 0 {
            let part = self.share(n);
            if let Some(log) = &mut self.log {
                // Bytes of one block read one after another stay one part.
                match log.back_mut() {
                    Some(last)
                        if Arc::ptr_eq(&last.block, &part.block)
                            && last.range.end == part.range.start =>
                    {
                        last.range.end = part.range.end;
                    }
                    _ => log.push_back(part),
                }
            }
        }
        self.consumed += n as u64;
        if self.replay_pos < self.replay.len() {
            self.replay_pos += n;
            if self.replay_pos >= self.replay.len() {
                self.replay = Vec::new();
                self.replay_pos = 0;
            }
        } else {
            self.pos = (self.pos + n).min(self.filled);
        }
    }

    /// The reader got as far as `offset`: bytes before it count as read
    /// once for the replay budget.
    pub(super) fn reached(&mut self, offset: u64) {
        self.furthest = self.furthest.max(offset);
    }

    /// Whether `cost` more bytes may be read again.
    pub(super) fn may_replay(&self, cost: u64) -> bool {
        self.replayed + cost <= self.furthest + REPLAY_SLACK
    }

    /// Puts `bytes` back in front of what is left to read, charging them
    /// to the replay budget (see [`Source::may_replay`]).
    pub(super) fn replay(&mut self, bytes: &[u8]) {
        self.replayed += bytes.len() as u64;
        let left = std::mem::take(&mut self.replay);
        let mut replay = bytes.to_vec();
        // Whatever was put back before and not read yet follows.
        replay.extend(left.iter().skip(self.replay_pos));
        self.replay = replay;
        self.replay_pos = 0;
    }
}

/// One read from `inner` into `buf`, retried when interrupted; 0 at the
/// end of the stream.
fn read_into(inner: &mut dyn BufRead, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match inner.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// The bytes of one record, up to a limit: past it they are dropped (the
/// record will be reported, not read), so memory stays bounded by the
/// limit whatever the input.
pub(super) struct Capped {
    bytes: Vec<u8>,
    /// The record passed the limit and its bytes are being dropped.
    oversize: bool,
    limit: usize,
}

impl Capped {
    /// An empty buffer holding at most `limit` bytes.
    pub(super) fn new(limit: usize) -> Capped {
        Capped {
            bytes: Vec::new(),
            oversize: false,
            limit,
        }
    }

    /// Starts the next record.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.oversize = false;
    }

    /// Appends the next bytes of the record, unless that passes the limit.
    #[inline]
    pub(super) fn push(&mut self, part: &[u8]) {
        if self.oversize {
            return;
        }
        if self.bytes.len() + part.len() > self.limit {
            self.oversize = true;
            // Give the memory back: the record may have been huge.
            self.bytes = Vec::new();
        } else {
            self.bytes.extend_from_slice(part);
        }
    }

    /// The record's bytes (none once it passed the limit).
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Takes the record's bytes out, leaving the buffer empty.
    pub(super) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }

    /// Puts back the buffer [`Capped::take`] took, to reuse its memory.
    pub(super) fn put_back(&mut self, bytes: Vec<u8>) {
        self.bytes = bytes;
    }

    /// Empties the buffer and gives its memory back.
    pub(super) fn release(&mut self) {
        self.bytes = Vec::new();
    }

    /// Whether the record passed the limit.
    pub(super) fn oversize(&self) -> bool {
        self.oversize
    }

    /// The limit, for messages.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }
}

/// The part of `items` in `range`, for positions the caller read in
/// `items` itself: counts of bytes it scanned in a chunk, or positions
/// `csv_core` gives, which reads and writes no more than it is given.
#[inline]
#[cfg_attr(
    not(test),
    expect(
        clippy::indexing_slicing,
        reason = "callers give positions they read in `items`, never past its end"
    )
)]
pub(super) fn within<T, R: SliceIndex<[T], Output = [T]>>(items: &[T], range: R) -> &[T] {
    &items[range]
}

/// A reader that advances in steps, some of which give an item; see
/// [`next_item`].
pub(super) trait Steps {
    /// What a step gives: a record, or a record that cannot be read.
    type Item;

    /// One step of progress: consumes input, and may give an item.
    fn step(&mut self) -> io::Result<Option<Self::Item>>;

    /// Whether nothing is left to read, set when a read fails.
    fn finished(&mut self) -> &mut bool;

    /// Whether any byte was read yet.
    fn started_reading(&self) -> bool;

    /// The item that reports a read error, given the reason.
    fn read_failed(&mut self, reason: String) -> Self::Item;
}

/// The next item of a [`Steps`] reader, or `None` at the end: steps are
/// taken until one gives an item. A read error ends the input and is given
/// as a last item (it is not retried: a failing disk or a corrupt gzip
/// stream would fail again).
pub(super) fn next_item<S: Steps>(reader: &mut S) -> Option<S::Item> {
    while !*reader.finished() {
        match reader.step() {
            Ok(Some(item)) => return Some(item),
            Ok(None) => {}
            Err(e) => {
                *reader.finished() = true;
                let what = if reader.started_reading() {
                    "cannot read the rest of the input"
                } else {
                    "cannot read the input"
                };
                let reason = format!("{what}: {}", lowercase_first(&e.to_string()));
                return Some(reader.read_failed(reason));
            }
        }
    }
    None
}

/// System messages start with a capital (`Is a directory`); reasons do not.
/// A word in capitals (`UTF-8`) keeps them.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_string(),
    }
}

/// A size for messages: whole MiB as such, else bytes.
pub(super) fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}
