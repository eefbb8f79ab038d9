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
//! A JSON line needs no scan when it is one whole record: on one thread
//! the framer parses it at once ([`Framer::whole_line`]); feeding worker
//! threads, it gives it unchecked, for the worker to check
//! ([`Framer::speculate`]). Either way a line that is not one record is
//! read by the scan, as if it had never been tried.
//!
//! Bad input never stops the scan: a record that cannot be parsed is given
//! as [`Frame::Bad`] and scanning resynchronizes on the next line that starts
//! a record (see [`Framer`]).

mod line;
mod parse;
mod scan;

pub(super) use line::line_object;

use std::io::{self, BufRead};
use std::sync::Arc;

use memchr::memchr;
use serde_json::Value;
use serde_json::error::Category;

use super::error::ReadError;
use super::markers::KeyCounts;
use super::source::{self, Bytes, Capped, Source, SourceMark, Steps, human_size, within};
use super::sparse::{Keep, Parsed};
use crate::record::Fields;
use parse::{json_error, parse};
pub(crate) use parse::{parse_record, value_kind};
use scan::container_key;
use scan::{Break, Pos, Step, ValueScan, starts_value};

/// Largest record read by default: larger ones are reported, not buffered.
pub(crate) const DEFAULT_LIMIT: usize = 64 * 1024 * 1024;

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
        fields: Fields,
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
    /// A line that starts with `{` and ends with `}`, taken for one whole
    /// record without a scan (see [`Framer::speculate`]): whoever parses
    /// it checks that it is one, or rewinds the framer to `mark`.
    Unchecked {
        /// Its bytes.
        bytes: Bytes,
        /// Where it starts.
        start: Start,
        /// Where the framer stood before it.
        mark: Mark,
    },
    /// A record that could not be read.
    Bad {
        /// 1-based line where it starts.
        line: u64,
        /// Why, in lowercase.
        reason: String,
    },
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

/// Where the framer stands between records, to come back to
/// ([`Framer::rewind`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pos: Pos,
    shapes: usize,
    source: SourceMark,
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
    /// A read that failed while skipping after a broken record, said on
    /// the next step (after the record's report).
    deferred: Option<io::Error>,
    /// The bytes of the record being scanned, up to the size limit.
    buf: Capped,
    shapes: Vec<Shape>,
    started: bool,
    finished: bool,
    /// Line where the record being scanned starts, for read errors.
    current: Option<u64>,
    /// The keys worth parsing, or `None` to parse every key.
    keep: Option<Arc<Keep>>,
    /// Whether a record that is its own line is parsed here (see
    /// [`Framer::whole_line`]).
    pub(crate) parse_lines: bool,
    /// Whether such a line is given unchecked (see [`Framer::speculate`]).
    speculate: bool,
}

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
            deferred: None,
            buf: Capped::new(limit),
            shapes: Vec::new(),
            started: false,
            finished: false,
            current: None,
            keep: None,
            parse_lines: true,
            speculate: false,
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
        source::next_item(self)
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
            if self.src.chunk()?.starts_with(source::BOM) {
                self.consume(3);
                // Columns count from after the mark, as an editor shows them.
                self.pos.line_start = 3;
            }
        }
        // Commas separate records and members; only between a member's key
        // and its value is a comma an error, for `envelope` to report.
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
                // Records are objects; anything else at the top level is
                // a scalar record or junk.
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
                    // Scalars are read as records too, to be reported as
                    // records that are not objects, each with its index.
                    self.record(b, false)
                } else {
                    // `:` or `}` where an element should be: the array is
                    // broken here; resync on the next record-like line.
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

    /// After a record that broke mid-way, its rest is junk: skips to the
    /// next line that starts a record at its column or left of it. Gives the
    /// last line passed over, if any.
    fn resync_now(&mut self) -> io::Result<Option<u64>> {
        let Some(max_col) = self.resync.take() else {
            return Ok(None);
        };
        let lines = self.skip_lines(|b, col| b == b'{' && col <= max_col)?;
        // Stopped at a record's first byte: the line before it was the
        // last passed over; at the end, the line read last.
        let at_end = self.src.chunk()?.is_empty();
        let last = if at_end && self.pos.offset > self.pos.line_start {
            self.pos.line
        } else {
            self.pos.line - 1
        };
        Ok((lines > 0 || at_end).then_some(last))
    }

    /// Skips to the next line whose first non-blank byte satisfies `stop`
    /// (given the byte and its column), leaving that byte unconsumed. Starts
    /// by finishing the current line unless nothing was read from it yet.
    /// Returns how many lines were passed over.
    fn skip_lines(&mut self, stop: impl Fn(u8, u64) -> bool) -> io::Result<u64> {
        let first = self.pos.line;
        // The rest of a line started is skipped whatever it holds: the
        // stop condition is only looked at on a line's first byte.
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
        loop {
            let chunk = self.src.chunk()?;
            if chunk.is_empty() {
                // A bare number or literal ends with the stream; anything
                // else is cut.
                return Ok(if scan.scalar { Step::Done } else { Step::Eof });
            }
            let (n, step) = scan.scan(chunk, &mut self.pos);
            if buffer {
                self.buf.push(within(chunk, ..n));
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
        if top
            && self.parse_lines
            && let Some(frame) = self.whole_line()?
        {
            return Ok(Some(frame));
        }
        if top
            && self.speculate
            && let Some(frame) = self.line_unchecked()?
        {
            return Ok(Some(frame));
        }
        let start = Start {
            line: self.pos.line,
            col: self.pos.col(self.pos.offset),
            offset: self.pos.offset,
        };
        // A read error while scanning is reported on the record's line.
        self.current = Some(start.line);
        let mut scan = ValueScan::new(start.col, first, top);
        let step = self.scan_value(&mut scan, true)?;
        self.current = None;
        if let Step::Container(shape) = step {
            // The container's own bytes are not a record: only its
            // elements will be.
            self.buf.release();
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
        if self.buf.oversize() {
            self.after_failure(start, step);
            return bad(format!(
                "record is larger than {}",
                human_size(self.buf.limit() as u64)
            ));
        }
        if step == Step::Done && (!top || memchr(b'\n', self.buf.bytes()).is_none()) {
            // Whether it parses or not, the scan goes on after it: a record
            // on one line cannot have swallowed the next, and a record in an
            // array is delimited by the array. So it is parsed later, on any
            // thread.
            self.src.reached(self.pos.offset);
            return Frame::Unparsed {
                bytes: self.buf.bytes().to_vec(),
                start,
            };
        }
        // A top-level record over several lines, or a broken one: whether
        // it parses decides where the scan goes on, so it is parsed now.
        let parsed = parse(self.buf.bytes(), self.keep.as_deref());
        if step == Step::Done {
            match parsed {
                Ok((Parsed::Object(fields), counts)) => {
                    return Frame::Object {
                        fields,
                        counts,
                        line: start.line,
                    };
                }
                Ok((Parsed::Other(other), _)) => {
                    return bad(ReadError::NotAnObject(value_kind(&other)).to_string());
                }
                // Balanced brackets but invalid JSON: a cut line may hide
                // inside, so recover as from a broken record.
                Err(_) => {}
            }
        }
        self.src.reached(self.pos.offset);
        // A cut line in a top-level record swallows the records after it
        // up to the next bracket that happens to balance: read the record's
        // lines again from the first one that starts like a record, so the
        // records it swallowed are read too (within the replay budget).
        if top
            && let Some((head, tail)) = replay_point(self.buf.bytes(), start.col)
            && self.src.may_replay(tail.len() as u64)
        {
            let p = head.len();
            let line = start.line + count_lines(head);
            // The reason is the record's own error when its first lines
            // hold one; if they are only unfinished, the next record cut it.
            let reason = match serde_json::from_slice::<Value>(head) {
                Err(e) if e.classify() != Category::Eof => json_error(&e, start),
                _ => format!("record is not closed before the next record starts on line {line}"),
            };
            self.src.replay(tail);
            // The scan goes on from the replayed line, as if the record had
            // ended just before it.
            self.pos = Pos {
                offset: start.offset + p as u64,
                line,
                line_start: start.offset + p as u64,
                blank: true,
            };
            return bad(reason);
        }
        // The most telling reason first: a syntax error serde_json places,
        // then how the scan broke; an "unexpected end" from serde_json says
        // less than the scanner knows.
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

    /// Recovery after a record that could not be read: after a cut string
    /// or a bracket mismatch the record's rest is junk up to a line that
    /// starts a record; `NewRecord` stopped at the next record already;
    /// `Eof` leaves nothing to read.
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
        loop {
            let chunk = self.src.chunk()?;
            if chunk.is_empty() {
                break;
            }
            let (n, ended) = match memchr(b'\n', chunk) {
                Some(k) => (k, true),
                None => (chunk.len(), false),
            };
            self.buf.push(within(chunk, ..n));
            self.consume(n);
            if ended {
                self.consume(1);
                self.pos.newline(self.pos.offset);
                break;
            }
        }
        let text = self.buf.bytes().trim_ascii();
        let reason = if self.buf.oversize() {
            format!(
                "not JSON: a line longer than {}",
                human_size(self.buf.limit() as u64)
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
                        // A key cut by the size limit announces nothing.
                        let key = self.buf.bytes().strip_prefix(b"\"");
                        let key = key.and_then(|k| k.strip_suffix(b"\""));
                        self.ctx = Ctx::Envelope(Member::Colon(key.and_then(container_key)));
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

/// A failed multi-line record split before its first line, after the
/// first, that starts with `{` at or left of `col`: where a cut line may
/// have swallowed the next record. `None` when no line does.
fn replay_point(buf: &[u8], col: u64) -> Option<(&[u8], &[u8])> {
    let mut from = memchr(b'\n', buf)? + 1;
    while let Some((head, line)) = buf.split_at_checked(from) {
        if line.is_empty() {
            return None;
        }
        let indent = line
            .iter()
            .take_while(|&&c| matches!(c, b' ' | b'\t' | b'\r'))
            .count();
        if line.get(indent) == Some(&b'{') && indent as u64 <= col {
            return Some((head, line));
        }
        from += memchr(b'\n', line)? + 1;
    }
    None
}

fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// A byte for messages: the character in backticks, or its hex code.
fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", char::from(b))
    } else {
        format!("byte 0x{b:02x}")
    }
}

impl Steps for Framer {
    type Item = Frame;

    fn step(&mut self) -> io::Result<Option<Frame>> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let mut frame = Framer::step(self)?;
        // After a record that broke mid-way, its rest is skipped at once,
        // before it is reported, so the report names every line passed
        // over with it. A read that fails meanwhile is said after it.
        match self.resync_now() {
            Ok(Some(last)) => {
                if let Some(Frame::Bad { line, reason }) = &mut frame
                    && last > *line
                {
                    reason.push_str(&format!(" (lines {line} to {last} skipped)"));
                }
            }
            Ok(None) => {}
            Err(e) => self.deferred = Some(e),
        }
        Ok(frame)
    }

    fn finished(&mut self) -> &mut bool {
        &mut self.finished
    }

    fn started_reading(&self) -> bool {
        self.pos.offset != 0
    }

    fn read_failed(&mut self, reason: String) -> Frame {
        // The line of the record being read when reading failed, else the
        // line the scan stands on.
        let line = self.current.take().unwrap_or(self.pos.line);
        Frame::Bad { line, reason }
    }
}
