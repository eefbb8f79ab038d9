//! The JSON scanner: takes chunks of bytes and finds where one JSON value
//! ends (strings, escapes, bracket depth), building no value; gives how
//! many bytes belong to the value and why its scan stopped. It also tells
//! a top-level object that is a container (a Graph page or an Event Hub
//! batch) as soon as its `value` or `records` array opens.
//!
//! The state is kept between chunks ([`ValueScan`]), so a value may span any
//! number of reads; it keeps no recursion, so any nesting depth is safe.

use memchr::memchr3;

use super::Shape;
use crate::ingest::markers;
use crate::ingest::source::within;

/// Bracket kinds remembered per nesting level, up to this depth. Deeper
/// levels are only counted: such a record is too deep for `serde_json`
/// anyway, and the bound keeps memory small on junk like `[[[[...`.
pub(super) const KIND_LIMIT: usize = 1024;

/// Where the scanner is in the stream.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pos {
    /// Bytes consumed so far.
    pub(super) offset: u64,
    /// 1-based current line.
    pub(super) line: u64,
    /// Offset of the first byte of the current line.
    pub(super) line_start: u64,
    /// Whether only whitespace was seen so far on the current line.
    pub(super) blank: bool,
}

impl Pos {
    /// 0-based column of the byte at `abs`.
    pub(super) fn col(&self, abs: u64) -> u64 {
        abs.saturating_sub(self.line_start)
    }

    /// A `\n` was passed; `after` is the offset of the byte after it.
    pub(super) fn newline(&mut self, after: u64) {
        self.line += 1;
        self.line_start = after;
        self.blank = true;
    }
}

/// Why a value's scan stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Break {
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
pub(super) enum Step {
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
pub(super) struct ValueScan {
    depth: usize,
    /// Open bracket per level, up to [`KIND_LIMIT`] levels.
    kinds: Vec<u8>,
    in_string: bool,
    /// A backslash was the last byte seen in a string.
    escape: bool,
    /// Scanning a bare number or literal: it ends at a delimiter.
    pub(super) scalar: bool,
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
    pub(super) fn new(start_col: u64, first: u8, watch: bool) -> ValueScan {
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
                .extend_from_slice(within(bytes, ..room.min(bytes.len())));
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
    pub(super) fn scan(&mut self, chunk: &[u8], pos: &mut Pos) -> (usize, Option<Step>) {
        let base = pos.offset;
        let mut i = 0usize;
        while let Some(rest) = chunk.get(i..) {
            let Some(&b) = rest.first() else { break };
            if self.in_string {
                // Inside a string only `"`, `\` and a newline matter: the
                // rest is skipped in bulk by memchr, which is where the
                // scanner spends its time on real records.
                if self.escape {
                    // The byte after a backslash is never special, except a
                    // newline: a raw newline is invalid even when escaped.
                    self.escape = false;
                    i += 1;
                    if b == b'\n' {
                        pos.newline(base + i as u64);
                        return (i, Some(Step::Broken(Break::NewlineInString)));
                    }
                    self.capture(&[b]);
                    continue;
                }
                match until_special(rest) {
                    None => {
                        self.capture(rest);
                        i = chunk.len();
                    }
                    Some((before, hit)) => {
                        self.capture(before);
                        i += before.len() + 1;
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
                                // The escaped byte may be in the next chunk:
                                // remember the escape in the state.
                                self.escape = true;
                                self.capture(b"\\");
                            }
                            // A raw newline: the line was cut mid-string.
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
                // A bare number or literal has no closing byte: it ends at
                // the first delimiter, which is not part of it.
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
                    // A container key counts only when `:` then `[` follow
                    // it directly; any other byte forgets it.
                    let found = self.found.take();
                    // A `{` first on its line, at or left of the record's
                    // own column, where no value may stand (not after `:`,
                    // `[` or `,` in an array), is the next record: the
                    // current one was cut. Indentation is what tells it
                    // from a nested object, in pretty-printed input.
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
                            // Only a key of the top-level object (a string
                            // after `{` or `,` at depth 1) can announce a
                            // container.
                            self.capturing =
                                self.watch && self.depth == 1 && matches!(self.last, b'{' | b',');
                            self.key.clear();
                        }
                        // `"value": [` in a top-level object: the object is
                        // a container and its elements are the records.
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
                            // Beyond KIND_LIMIT the kinds are not kept, so
                            // a mismatch there goes unseen; serde_json
                            // refuses such depth anyway.
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
                            // Keep the key's container across the `:`.
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

    /// A string closed: if it was a captured key, whether it announces a
    /// container.
    fn end_key(&mut self) {
        if self.capturing {
            self.capturing = false;
            self.found = container_key(&self.key);
        }
    }
}

/// The container a key announces, if any
/// ([`markers::is_container_key`]).
pub(super) fn container_key(key: &[u8]) -> Option<Shape> {
    if key.eq_ignore_ascii_case(markers::PAGE_KEY) {
        Some(Shape::GraphPage)
    } else if key.eq_ignore_ascii_case(markers::BATCH_KEY) {
        Some(Shape::EventHub)
    } else {
        None
    }
}

/// The bytes of a string's text before its first `"`, `\\` or newline,
/// and that byte; `None` when the text holds none of them.
#[inline]
#[cfg_attr(
    not(test),
    expect(
        clippy::indexing_slicing,
        reason = "memchr3 gives the index of a byte of `rest`"
    )
)]
fn until_special(rest: &[u8]) -> Option<(&[u8], u8)> {
    let k = memchr3(b'"', b'\\', b'\n', rest)?;
    Some((&rest[..k], rest[k]))
}

/// Bytes that end a bare number or literal.
fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' | b'[' | b']' | b'{' | b'}' | b'"'
    )
}

/// Bytes other than `{` that may start a JSON value.
pub(super) fn starts_value(c: u8) -> bool {
    matches!(c, b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' | b'[')
}
