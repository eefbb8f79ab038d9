//! Framing: takes a byte stream holding JSON records in any of the supported
//! layouts and gives one [`Frame`] per record, with the 1-based line where
//! the record starts, or the reason it could not be read.
//!
//! The scanner only finds where each record begins and ends (strings,
//! escapes, bracket depth); it builds no values. Each record's bytes are then
//! parsed with `serde_json`. It reads the input once, in chunks, so memory
//! stays bounded by the largest record (capped by a limit) whatever the size
//! of the file, and it keeps no recursion, so any nesting depth is safe.
//!
//! Layouts, detected without flags for each top-level value:
//! - JSON lines, or objects one after another in any formatting: each
//!   top-level object is a record ([`Shape::Jsonl`]);
//! - a top-level array: each element is a record ([`Shape::JsonArray`]);
//! - an object with a `value` or `records` key (any letter case) holding an
//!   array: a Graph page ([`Shape::GraphPage`]) or an Event Hub batch
//!   ([`Shape::EventHub`]); the array's elements are the records, streamed.
//!
//! Bad input never stops the scan: a record that cannot be parsed is given
//! as [`Frame::Bad`] and scanning resynchronizes on the next line that starts
//! a record (see [`Framer`]).

use std::io::{self, BufRead};
use std::sync::Arc;

use memchr::{memchr, memchr3};
use serde_json::error::Category;
use serde_json::{Map, Value};

use super::error::ReadError;
use super::markers::KeyCounts;
use super::sparse::{self, Keep};

/// Largest record read by default: larger ones are reported, not buffered.
pub(crate) const DEFAULT_LIMIT: usize = 64 * 1024 * 1024;

/// Bracket kinds remembered per nesting level, up to this depth. Deeper
/// levels are only counted: such a record is too deep for `serde_json`
/// anyway, and the bound keeps memory small on junk like `[[[[...`.
const KIND_LIMIT: usize = 1024;

/// How records are laid out in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Top-level objects, one a line or pretty-printed one after another.
    Jsonl,
    /// A top-level array of records.
    JsonArray,
    /// A Graph page: `{"value": [...]}`.
    GraphPage,
    /// An Event Hub batch: `{"records": [...]}`.
    EventHub,
}

impl Shape {
    /// The name used in [`crate::ingest::Reader::format`].
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Jsonl => "jsonl",
            Shape::JsonArray => "json-array",
            Shape::GraphPage => "graph-page",
            Shape::EventHub => "event-hub",
        }
    }
}

/// One record found by the scanner.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A record that parsed as a JSON object.
    Object {
        /// Its keys and values, as read (only the kept ones when the
        /// framer has a [`Keep`]).
        fields: Map<String, Value>,
        /// Its keys before any was skipped, when some may have been.
        counts: Option<KeyCounts>,
        /// 1-based line where it starts.
        line: u64,
    },
    /// A complete record whose parse cannot change how the scan goes on
    /// (it is on one line, or inside an array): parsing it is left to
    /// [`parse_record`], on any thread.
    Unparsed {
        /// Its bytes.
        bytes: Vec<u8>,
        /// Where it starts.
        start: Start,
    },
    /// A record that could not be read.
    Bad {
        /// 1-based line where it starts.
        line: u64,
        /// Why, in lowercase.
        reason: String,
    },
}

/// Where the scanner is in the stream.
#[derive(Debug, Clone, Copy)]
struct Pos {
    /// Bytes consumed so far.
    offset: u64,
    /// 1-based current line.
    line: u64,
    /// Offset of the first byte of the current line.
    line_start: u64,
    /// Whether only whitespace was seen so far on the current line.
    blank: bool,
}

impl Pos {
    /// 0-based column of the byte at `abs`.
    fn col(&self, abs: u64) -> u64 {
        abs.saturating_sub(self.line_start)
    }

    /// A `\n` was passed; `after` is the offset of the byte after it.
    fn newline(&mut self, after: u64) {
        self.line += 1;
        self.line_start = after;
        self.blank = true;
    }
}

/// The byte stream, with room to read some bytes again: when a record spans
/// several lines and fails to parse, the lines after its first are scanned
/// again, in case a broken line swallowed the start of the next record.
/// The CSV reader uses it the same way.
pub(super) struct Source {
    inner: Box<dyn BufRead + Send>,
    replay: Vec<u8>,
    replay_pos: usize,
}

impl Source {
    /// A source over `inner`, with nothing to read again yet.
    pub(super) fn new(inner: Box<dyn BufRead + Send>) -> Source {
        Source {
            inner,
            replay: Vec::new(),
            replay_pos: 0,
        }
    }

    /// The next bytes, empty at the end of the stream.
    pub(super) fn chunk(&mut self) -> io::Result<&[u8]> {
        if self.replay_pos < self.replay.len() {
            return Ok(self.replay.get(self.replay_pos..).unwrap_or_default());
        }
        // Retry interrupted reads first: returning the borrowed buffer from
        // inside the retry loop is not accepted by the borrow checker.
        loop {
            match self.inner.fill_buf() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.inner.fill_buf()
    }

    pub(super) fn consume(&mut self, n: usize) {
        if self.replay_pos < self.replay.len() {
            self.replay_pos += n;
            if self.replay_pos >= self.replay.len() {
                self.replay = Vec::new();
                self.replay_pos = 0;
            }
        } else {
            self.inner.consume(n);
        }
    }

    /// Puts `bytes` back in front of what is left to read.
    pub(super) fn push_back(&mut self, bytes: &[u8]) {
        let mut replay = bytes.to_vec();
        replay.extend_from_slice(self.replay.get(self.replay_pos..).unwrap_or_default());
        self.replay = replay;
        self.replay_pos = 0;
    }
}

/// Why a value's scan stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    /// A line ended inside a string: JSON strings hold no raw newline, so
    /// the line was cut.
    NewlineInString,
    /// A `}` closed a `[` or the reverse.
    Mismatch,
    /// A line starts with `{` where no value may stand: the record was cut
    /// and this is the next one (not consumed).
    NewRecord,
}

/// How a value's scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The value is complete.
    Done,
    /// The value cannot be complete; see [`Break`].
    Broken(Break),
    /// A top-level object turned out to be a container: its `value` or
    /// `records` array was just entered.
    Container(Shape),
    /// The stream ended inside the value.
    Eof,
}

/// The state of scanning one JSON value, resumable across chunks.
struct ValueScan {
    depth: usize,
    /// Open bracket per level, up to [`KIND_LIMIT`] levels.
    kinds: Vec<u8>,
    in_string: bool,
    /// A backslash was the last byte seen in a string.
    escape: bool,
    /// Scanning a bare number or literal: it ends at a delimiter.
    scalar: bool,
    /// Last significant byte outside strings (`"` for a string).
    last: u8,
    /// Column where the value starts: a line starting with `{` at this
    /// column or left of it is taken as the start of the next record.
    start_col: u64,
    /// Whether to look for a container key (top-level objects only).
    watch: bool,
    /// Whether the current string is a key at depth 1 being captured.
    capturing: bool,
    key: Vec<u8>,
    /// A container key was just read; waiting for `:` and `[`.
    found: Option<Shape>,
}

/// Longest key worth capturing: `records` has 7 letters.
const KEY_CAPTURE: usize = 8;

impl ValueScan {
    fn new(start_col: u64, first: u8, watch: bool) -> ValueScan {
        ValueScan {
            depth: 0,
            kinds: Vec::new(),
            in_string: false,
            escape: false,
            scalar: !matches!(first, b'{' | b'[' | b'"'),
            last: 0,
            start_col,
            watch,
            capturing: false,
            key: Vec::new(),
            found: None,
        }
    }

    fn capture(&mut self, bytes: &[u8]) {
        if self.capturing {
            let room = KEY_CAPTURE.saturating_sub(self.key.len());
            self.key
                .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        }
    }

    /// Whether a value may stand at this point: after `:`, `[`, or `,` in
    /// an array.
    fn expects_value(&self) -> bool {
        match self.last {
            b':' | b'[' => true,
            b',' => self.depth > KIND_LIMIT || self.kinds.last() == Some(&b'['),
            _ => false,
        }
    }

    /// Scans `chunk`, whose first byte is at `pos.offset`. Returns how many
    /// bytes belong to the value and, if it stopped, why.
    fn scan(&mut self, chunk: &[u8], pos: &mut Pos) -> (usize, Option<Step>) {
        let base = pos.offset;
        let mut i = 0usize;
        while let Some(rest) = chunk.get(i..) {
            let Some(&b) = rest.first() else { break };
            if self.in_string {
                if self.escape {
                    self.escape = false;
                    i += 1;
                    if b == b'\n' {
                        pos.newline(base + i as u64);
                        return (i, Some(Step::Broken(Break::NewlineInString)));
                    }
                    self.capture(&[b]);
                    continue;
                }
                match memchr3(b'"', b'\\', b'\n', rest) {
                    None => {
                        self.capture(rest);
                        i = chunk.len();
                    }
                    Some(k) => {
                        self.capture(rest.get(..k).unwrap_or_default());
                        let hit = rest.get(k).copied().unwrap_or(b'"');
                        i += k + 1;
                        match hit {
                            b'"' => {
                                self.in_string = false;
                                self.last = b'"';
                                if self.depth == 0 {
                                    return (i, Some(Step::Done));
                                }
                                self.end_key();
                            }
                            b'\\' => {
                                self.escape = true;
                                self.capture(b"\\");
                            }
                            _ => {
                                pos.newline(base + i as u64);
                                return (i, Some(Step::Broken(Break::NewlineInString)));
                            }
                        }
                    }
                }
                continue;
            }
            if self.scalar {
                pos.blank = false;
                match rest.iter().position(|&c| is_delimiter(c)) {
                    Some(k) => return (i + k, Some(Step::Done)),
                    None => {
                        i = chunk.len();
                        continue;
                    }
                }
            }
            match b {
                b'\n' => {
                    i += 1;
                    pos.newline(base + i as u64);
                }
                b' ' | b'\t' | b'\r' => i += 1,
                _ => {
                    let found = self.found.take();
                    if b == b'{'
                        && self.depth > 0
                        && pos.blank
                        && pos.col(base + i as u64) <= self.start_col
                        && !self.expects_value()
                    {
                        return (i, Some(Step::Broken(Break::NewRecord)));
                    }
                    i += 1;
                    pos.blank = false;
                    match b {
                        b'"' => {
                            self.in_string = true;
                            self.capturing =
                                self.watch && self.depth == 1 && matches!(self.last, b'{' | b',');
                            self.key.clear();
                        }
                        b'[' if self.depth == 1 && self.last == b':' && found.is_some() => {
                            if let Some(shape) = found {
                                return (i, Some(Step::Container(shape)));
                            }
                        }
                        b'{' | b'[' => {
                            self.depth += 1;
                            if self.depth <= KIND_LIMIT {
                                self.kinds.push(b);
                            }
                            self.last = b;
                        }
                        b'}' | b']' => {
                            if self.depth == 0 {
                                return (i, Some(Step::Broken(Break::Mismatch)));
                            }
                            let open = if self.depth <= KIND_LIMIT {
                                self.kinds.pop()
                            } else {
                                None
                            };
                            self.depth -= 1;
                            if open.is_some_and(|open| (open == b'{') != (b == b'}')) {
                                return (i, Some(Step::Broken(Break::Mismatch)));
                            }
                            self.last = b;
                            if self.depth == 0 {
                                return (i, Some(Step::Done));
                            }
                        }
                        b':' => {
                            self.found = found;
                            self.last = b;
                        }
                        _ => self.last = b,
                    }
                }
            }
        }
        (i, None)
    }

    fn end_key(&mut self) {
        if self.capturing {
            self.capturing = false;
            self.found = container_key(&self.key);
        }
    }
}

/// The container a key announces, if it is `value` or `records`.
fn container_key(key: &[u8]) -> Option<Shape> {
    if key.eq_ignore_ascii_case(b"value") {
        Some(Shape::GraphPage)
    } else if key.eq_ignore_ascii_case(b"records") {
        Some(Shape::EventHub)
    } else {
        None
    }
}

/// Bytes that end a bare number or literal.
fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' | b'[' | b']' | b'{' | b'}' | b'"'
    )
}

/// Bytes other than `{` that may start a JSON value.
fn starts_value(c: u8) -> bool {
    matches!(c, b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' | b'[')
}

/// Where the scanner stands between records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Between top-level values.
    Top,
    /// Between the elements of a top-level array.
    TopArray,
    /// Inside a container object, between its members.
    Envelope(Member),
    /// Between the elements of a container's record array.
    EnvelopeArray(Shape),
}

/// Where the scanner stands in a container member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    /// Before a key or the closing `}`.
    Key,
    /// After a key, before `:`; holds the container the key announces.
    Colon(Option<Shape>),
    /// After `:`, before the value.
    Value(Option<Shape>),
}

/// Where a record starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    pub(crate) line: u64,
    col: u64,
    offset: u64,
}

/// Splits a byte stream into records; see the module header.
///
/// Recovery: a record that is not valid JSON is reported and the scan goes
/// on. In line-oriented input it resynchronizes on the next line that starts
/// with `{` at the record's column or left of it; when a failed record spans
/// several lines, its lines after the first are scanned again for such a
/// line, so a cut line in JSON lines costs only that line. Inside an array,
/// a record whose brackets balance is simply skipped; otherwise the scan
/// resynchronizes the same way and stays in the array.
pub(crate) struct Framer {
    src: Source,
    pos: Pos,
    ctx: Ctx,
    /// Skip lines until one starts with `{` at or left of this column.
    resync: Option<u64>,
    buf: Vec<u8>,
    /// The record being buffered passed `limit` and is being skipped.
    oversize: bool,
    limit: usize,
    shapes: Vec<Shape>,
    started: bool,
    finished: bool,
    /// Line where the record being scanned starts, for read errors.
    current: Option<u64>,
    /// Bytes read again so far, and the furthest offset read: replays stop
    /// when they would pass [`REPLAY_SLACK`] plus the bytes read once, so
    /// input built to be replayed over and over is still read in linear
    /// time.
    replayed: u64,
    furthest: u64,
    /// The keys worth parsing, or `None` to parse every key.
    keep: Option<Arc<Keep>>,
}

/// Bytes that may be read again beyond as many as were read once.
pub(super) const REPLAY_SLACK: u64 = 1 << 20;

impl Framer {
    /// A framer over `inner`; records over `limit` bytes are reported
    /// without being buffered.
    pub(crate) fn new(inner: Box<dyn BufRead + Send>, limit: usize) -> Framer {
        Framer {
            src: Source::new(inner),
            pos: Pos {
                offset: 0,
                line: 1,
                line_start: 0,
                blank: true,
            },
            ctx: Ctx::Top,
            resync: None,
            buf: Vec::new(),
            oversize: false,
            limit,
            shapes: Vec::new(),
            started: false,
            finished: false,
            current: None,
            replayed: 0,
            furthest: 0,
            keep: None,
        }
    }

    /// Parses only the keys `keep` wants from each record.
    pub(crate) fn keep(&mut self, keep: Option<Arc<Keep>>) {
        self.keep = keep;
    }

    /// The layouts seen so far, in order of first appearance.
    pub(crate) fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    /// The next record, or `None` at the end of the stream.
    pub(crate) fn next_frame(&mut self) -> Option<Frame> {
        while !self.finished {
            match self.step() {
                Ok(Some(frame)) => return Some(frame),
                Ok(None) => {}
                Err(e) => {
                    self.finished = true;
                    let line = self.current.take().unwrap_or(self.pos.line);
                    let what = if self.pos.offset == 0 {
                        "cannot read the input"
                    } else {
                        "cannot read the rest of the input"
                    };
                    return Some(Frame::Bad {
                        line,
                        reason: format!("{what}: {}", lowercase_first(&e.to_string())),
                    });
                }
            }
        }
        None
    }

    fn note(&mut self, shape: Shape) {
        if !self.shapes.contains(&shape) {
            self.shapes.push(shape);
        }
    }

    fn consume(&mut self, n: usize) {
        self.src.consume(n);
        self.pos.offset += n as u64;
    }

    /// One step of progress: consumes input, and may give a frame.
    fn step(&mut self) -> io::Result<Option<Frame>> {
        if !self.started {
            self.started = true;
            if self.src.chunk()?.starts_with(b"\xEF\xBB\xBF") {
                self.consume(3);
                self.pos.line_start = 3;
            }
        }
        if let Some(max_col) = self.resync.take() {
            self.skip_lines(|b, col| b == b'{' && col <= max_col)?;
            return Ok(None);
        }
        let commas = !matches!(self.ctx, Ctx::Envelope(Member::Colon(_) | Member::Value(_)));
        let Some(b) = self.skip_blank(commas)? else {
            return Ok(self.at_eof());
        };
        match self.ctx {
            Ctx::Top => match b {
                b'{' => self.record(b, true),
                b'[' => {
                    self.consume(1);
                    self.pos.blank = false;
                    self.ctx = Ctx::TopArray;
                    self.note(Shape::JsonArray);
                    Ok(None)
                }
                _ => self.junk_region(),
            },
            Ctx::TopArray | Ctx::EnvelopeArray(_) => {
                if b == b']' {
                    self.consume(1);
                    self.pos.blank = false;
                    self.ctx = match self.ctx {
                        Ctx::TopArray => Ctx::Top,
                        _ => Ctx::Envelope(Member::Key),
                    };
                    Ok(None)
                } else if b == b'{' || starts_value(b) {
                    self.record(b, false)
                } else {
                    let line = self.pos.line;
                    self.resync = Some(self.pos.col(self.pos.offset));
                    self.consume(1);
                    self.pos.blank = false;
                    Ok(Some(Frame::Bad {
                        line,
                        reason: format!("unexpected {} in the array of records", show(b)),
                    }))
                }
            }
            Ctx::Envelope(member) => self.envelope(b, member),
        }
    }

    /// What the end of the stream means where the scanner stands.
    fn at_eof(&mut self) -> Option<Frame> {
        self.finished = true;
        match self.ctx {
            Ctx::TopArray | Ctx::EnvelopeArray(_) => Some(Frame::Bad {
                line: self.pos.line,
                reason: "file ends inside the array of records (truncated?)".into(),
            }),
            Ctx::Top | Ctx::Envelope(_) => None,
        }
    }

    /// Skips whitespace (and, if `commas`, commas between values); gives
    /// the next byte without consuming it, or `None` at the end.
    fn skip_blank(&mut self, commas: bool) -> io::Result<Option<u8>> {
        loop {
            let chunk = self.src.chunk()?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let mut n = 0usize;
            let mut next = None;
            for &b in chunk {
                match b {
                    b'\n' => {
                        n += 1;
                        self.pos.newline(self.pos.offset + n as u64);
                    }
                    b' ' | b'\t' | b'\r' => n += 1,
                    b',' if commas => {
                        n += 1;
                        self.pos.blank = false;
                    }
                    _ => {
                        next = Some(b);
                        break;
                    }
                }
            }
            self.consume(n);
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Skips to the next line whose first non-blank byte satisfies `stop`
    /// (given the byte and its column), leaving that byte unconsumed. Starts
    /// by finishing the current line unless nothing was read from it yet.
    /// Returns how many lines were passed over.
    fn skip_lines(&mut self, stop: impl Fn(u8, u64) -> bool) -> io::Result<u64> {
        let first = self.pos.line;
        let mut mid_line = self.pos.offset != self.pos.line_start;
        loop {
            let chunk = self.src.chunk()?;
            if chunk.is_empty() {
                return Ok(self.pos.line - first);
            }
            if mid_line {
                match memchr(b'\n', chunk) {
                    Some(k) => {
                        self.consume(k + 1);
                        self.pos.newline(self.pos.offset);
                        mid_line = false;
                    }
                    None => {
                        let n = chunk.len();
                        self.consume(n);
                    }
                }
                continue;
            }
            let mut n = 0usize;
            let mut outcome = None;
            for &b in chunk {
                match b {
                    b' ' | b'\t' | b'\r' => n += 1,
                    b'\n' => {
                        n += 1;
                        self.pos.newline(self.pos.offset + n as u64);
                    }
                    _ => {
                        outcome = Some(stop(b, self.pos.col(self.pos.offset + n as u64)));
                        break;
                    }
                }
            }
            self.consume(n);
            match outcome {
                Some(true) => return Ok(self.pos.line - first),
                Some(false) => {
                    self.pos.blank = false;
                    mid_line = true;
                }
                None => {}
            }
        }
    }

    /// Scans one value, buffering its bytes up to the limit.
    fn scan_value(&mut self, scan: &mut ValueScan, buffer: bool) -> io::Result<Step> {
        self.buf.clear();
        self.oversize = false;
        loop {
            let chunk = self.src.chunk()?;
            if chunk.is_empty() {
                return Ok(if scan.scalar { Step::Done } else { Step::Eof });
            }
            let (n, step) = scan.scan(chunk, &mut self.pos);
            if buffer && !self.oversize {
                let part = chunk.get(..n).unwrap_or_default();
                if self.buf.len() + part.len() > self.limit {
                    self.oversize = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            self.src.consume(n);
            self.pos.offset += n as u64;
            if let Some(step) = step {
                return Ok(step);
            }
        }
    }

    /// Reads one record starting at byte `first`; `top` for a top-level
    /// value, which may turn out to be a container.
    fn record(&mut self, first: u8, top: bool) -> io::Result<Option<Frame>> {
        let start = Start {
            line: self.pos.line,
            col: self.pos.col(self.pos.offset),
            offset: self.pos.offset,
        };
        self.current = Some(start.line);
        let mut scan = ValueScan::new(start.col, first, top);
        let step = self.scan_value(&mut scan, true)?;
        self.current = None;
        if let Step::Container(shape) = step {
            self.buf = Vec::new();
            self.note(shape);
            self.ctx = Ctx::EnvelopeArray(shape);
            return Ok(None);
        }
        if top {
            self.note(Shape::Jsonl);
        }
        let frame = self.finish(start, step, top);
        self.buf.clear();
        Ok(Some(frame))
    }

    /// Turns a scanned record into a frame and sets up recovery.
    fn finish(&mut self, start: Start, step: Step, top: bool) -> Frame {
        let bad = |reason: String| Frame::Bad {
            line: start.line,
            reason,
        };
        if self.oversize {
            self.after_failure(start, step);
            return bad(format!(
                "record is larger than {}",
                human_size(self.limit as u64)
            ));
        }
        if step == Step::Done && (!top || memchr(b'\n', &self.buf).is_none()) {
            // Whether it parses or not, the scan goes on after it.
            self.furthest = self.furthest.max(self.pos.offset);
            return Frame::Unparsed {
                bytes: self.buf.clone(),
                start,
            };
        }
        let parsed = parse(&self.buf, self.keep.as_deref());
        if step == Step::Done {
            match parsed {
                Ok((Value::Object(fields), counts)) => {
                    return Frame::Object {
                        fields,
                        counts,
                        line: start.line,
                    };
                }
                Ok((other, _)) => {
                    return bad(ReadError::NotAnObject(value_kind(&other)).to_string());
                }
                Err(_) => {}
            }
        }
        self.furthest = self.furthest.max(self.pos.offset);
        let replay = replay_point(&self.buf, start.col).filter(|&p| {
            let cost = self.buf.len().saturating_sub(p) as u64;
            self.replayed + cost <= self.furthest + REPLAY_SLACK
        });
        if top && let Some(p) = replay {
            let tail = self.buf.get(p..).unwrap_or_default();
            self.replayed += tail.len() as u64;
            let head = self.buf.get(..p).unwrap_or_default();
            let line = start.line + count_lines(head);
            let reason = match serde_json::from_slice::<Value>(head) {
                Err(e) if e.classify() != Category::Eof => json_error(&e, start),
                _ => format!("record is not closed before the next record starts on line {line}"),
            };
            self.src.push_back(tail);
            self.pos = Pos {
                offset: start.offset + p as u64,
                line,
                line_start: start.offset + p as u64,
                blank: true,
            };
            return bad(reason);
        }
        let reason = match (&parsed, step) {
            (Err(e), _) if e.classify() != Category::Eof => json_error(e, start),
            (_, Step::Broken(Break::NewRecord)) => format!(
                "record is not closed before the next record starts on line {}",
                self.pos.line
            ),
            (_, Step::Eof) => "file ends inside a record (truncated?)".into(),
            (Err(e), _) => json_error(e, start),
            (Ok(_), _) => "record is not valid JSON".into(),
        };
        self.after_failure(start, step);
        bad(reason)
    }

    /// Recovery after a record that could not be read.
    fn after_failure(&mut self, start: Start, step: Step) {
        match step {
            Step::Broken(Break::NewlineInString | Break::Mismatch) => {
                self.resync = Some(start.col);
            }
            Step::Eof => self.finished = true,
            Step::Broken(Break::NewRecord) | Step::Done | Step::Container(_) => {}
        }
    }

    /// A top-level value that is not an object or array: a scalar on its
    /// line (a record that is not an object), or junk, reported once for
    /// the whole run of lines up to the next line starting with `{` or `[`.
    fn junk_region(&mut self) -> io::Result<Option<Frame>> {
        let line = self.pos.line;
        let col = self.pos.col(self.pos.offset);
        self.buf.clear();
        self.oversize = false;
        loop {
            let chunk = self.src.chunk()?;
            if chunk.is_empty() {
                break;
            }
            let (n, ended) = match memchr(b'\n', chunk) {
                Some(k) => (k, true),
                None => (chunk.len(), false),
            };
            if !self.oversize {
                let part = chunk.get(..n).unwrap_or_default();
                if self.buf.len() + part.len() > self.limit {
                    self.oversize = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            self.consume(n);
            if ended {
                self.consume(1);
                self.pos.newline(self.pos.offset);
                break;
            }
        }
        let text = self.buf.trim_ascii();
        let reason = if self.oversize {
            format!(
                "not JSON: a line longer than {}",
                human_size(self.limit as u64)
            )
        } else {
            match serde_json::from_slice::<Value>(text) {
                Ok(value) => {
                    self.buf.clear();
                    return Ok(Some(Frame::Bad {
                        line,
                        reason: ReadError::NotAnObject(value_kind(&value)).to_string(),
                    }));
                }
                Err(_) if memchr(0, text).is_some() => "not JSON (binary data?)".to_string(),
                Err(e) => {
                    let start = Start {
                        line,
                        col,
                        offset: 0,
                    };
                    json_error(&e, start).replacen("invalid JSON", "not JSON", 1)
                }
            }
        };
        self.buf.clear();
        let more = self.skip_lines(|b, _| b == b'{' || b == b'[')?;
        let reason = if more > 0 {
            format!("{reason} (lines {line} to {} skipped)", line + more)
        } else {
            reason
        };
        Ok(Some(Frame::Bad { line, reason }))
    }

    /// One step inside a container object, outside its record array.
    fn envelope(&mut self, b: u8, member: Member) -> io::Result<Option<Frame>> {
        match (member, b) {
            (Member::Key, b'}') => {
                self.consume(1);
                self.pos.blank = false;
                self.ctx = Ctx::Top;
                Ok(None)
            }
            (Member::Key, b'"') => {
                let mut scan = ValueScan::new(self.pos.col(self.pos.offset), b, false);
                match self.scan_value(&mut scan, true)? {
                    Step::Done => {
                        let key = self
                            .buf
                            .get(1..self.buf.len().saturating_sub(1))
                            .unwrap_or_default();
                        self.ctx = Ctx::Envelope(Member::Colon(container_key(key)));
                        self.buf.clear();
                        Ok(None)
                    }
                    step => Ok(self.broken_envelope(step)),
                }
            }
            (Member::Colon(key), b':') => {
                self.consume(1);
                self.pos.blank = false;
                self.ctx = Ctx::Envelope(Member::Value(key));
                Ok(None)
            }
            (Member::Value(Some(shape)), b'[') => {
                self.consume(1);
                self.pos.blank = false;
                self.note(shape);
                self.ctx = Ctx::EnvelopeArray(shape);
                Ok(None)
            }
            (Member::Value(_), b) if b == b'{' || starts_value(b) => {
                let mut scan = ValueScan::new(self.pos.col(self.pos.offset), b, false);
                match self.scan_value(&mut scan, false)? {
                    Step::Done => {
                        self.ctx = Ctx::Envelope(Member::Key);
                        Ok(None)
                    }
                    step => Ok(self.broken_envelope(step)),
                }
            }
            (_, b) => {
                self.consume(1);
                self.pos.blank = false;
                Ok(self.broken_envelope_at(b))
            }
        }
    }

    fn broken_envelope(&mut self, step: Step) -> Option<Frame> {
        self.ctx = Ctx::Top;
        if step == Step::Eof {
            self.finished = true;
            return None;
        }
        if step != Step::Broken(Break::NewRecord) {
            self.resync = Some(0);
        }
        Some(Frame::Bad {
            line: self.pos.line,
            reason: "invalid JSON in the object around the records".into(),
        })
    }

    fn broken_envelope_at(&mut self, b: u8) -> Option<Frame> {
        self.ctx = Ctx::Top;
        self.resync = Some(0);
        Some(Frame::Bad {
            line: self.pos.line,
            reason: format!("unexpected {} in the object around the records", show(b)),
        })
    }
}

/// The offset in a failed multi-line record of its first line, after the
/// first, that starts with `{` at or left of `col`: where a cut line may
/// have swallowed the next record.
fn replay_point(buf: &[u8], col: u64) -> Option<usize> {
    let mut from = memchr(b'\n', buf)? + 1;
    while let Some(line) = buf.get(from..) {
        if line.is_empty() {
            return None;
        }
        let indent = line
            .iter()
            .take_while(|&&c| matches!(c, b' ' | b'\t' | b'\r'))
            .count();
        if line.get(indent) == Some(&b'{') && indent as u64 <= col {
            return Some(from);
        }
        from += memchr(b'\n', line)? + 1;
    }
    None
}

fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Parses a record, keeping only the keys `keep` wants when given.
fn parse(bytes: &[u8], keep: Option<&Keep>) -> serde_json::Result<(Value, Option<KeyCounts>)> {
    match keep {
        Some(keep) => sparse::parse(bytes, keep),
        None => serde_json::from_slice::<Value>(bytes).map(|v| (v, None)),
    }
}

/// Parses a [`Frame::Unparsed`] record: its object (with the key counts when
/// `keep` skipped some), or why it cannot be read.
pub(crate) fn parse_record(
    bytes: &[u8],
    start: Start,
    keep: Option<&Keep>,
) -> Result<(Map<String, Value>, Option<KeyCounts>), ReadError> {
    match parse(bytes, keep) {
        Ok((Value::Object(fields), counts)) => Ok((fields, counts)),
        Ok((other, _)) => Err(ReadError::NotAnObject(value_kind(&other))),
        Err(e) => Err(ReadError::Json(json_error(&e, start))),
    }
}

/// A `serde_json` error as a reason, with the position in the file.
fn json_error(e: &serde_json::Error, start: Start) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    if message.contains("recursion limit exceeded") {
        return "record is nested too deeply (more than 128 levels)".into();
    }
    let line = start.line + (e.line() as u64).saturating_sub(1);
    if e.column() == 0 && e.line() > 1 {
        // Column 0 is the newline that ends the line before.
        let which = if line - 1 == start.line {
            "the line".to_string()
        } else {
            format!("line {}", line - 1)
        };
        if message.starts_with("control character") {
            return format!("{which} ends inside a string (cut line?)");
        }
        format!("invalid JSON at the end of {which}: {message}")
    } else if e.line() <= 1 {
        format!(
            "invalid JSON at column {}: {message}",
            start.col + e.column() as u64
        )
    } else {
        format!(
            "invalid JSON at line {line}, column {}: {message}",
            e.column()
        )
    }
}

/// `a string`, `an array`, ... for messages.
pub(crate) fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A byte for messages: the character in backticks, or its hex code.
fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", char::from(b))
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// System messages start with a capital (`Is a directory`); reasons do not.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_string(),
    }
}

pub(super) fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}
