//! JSON lines read without a scan: a line that ends in `}` is most often
//! one record. On one thread it is parsed as it is framed; on several it
//! goes to a worker unchecked, the framer keeping the bytes read until no
//! rewind can go back to them, and a line that turns out not to be one
//! record sends the framer back to it.

use std::io;

use memchr::memchr;

use super::{Ctx, Frame, Framer, Mark, Shape, Start};
use crate::ingest::markers::KeyCounts;
use crate::ingest::source::within;
use crate::ingest::sparse::{self, Keep, Parsed};
use crate::record::Fields;

impl Framer {
    /// A top-level record that fills the rest of its line, read without
    /// scanning it first ([`line_object`]). Anything else (a record over
    /// several lines, two on a line, a broken one, a line that goes on past
    /// the bytes at hand) is left to the scan, as nothing was consumed.
    ///
    /// Framing and parsing each read every byte; JSON lines are the most
    /// common layout, and for them this reads each byte once.
    pub(super) fn whole_line(&mut self) -> io::Result<Option<Frame>> {
        let Some(keep) = self.keep.clone() else {
            return Ok(None);
        };
        let Some(text) = line_record(self.src.chunk()?) else {
            return Ok(None);
        };
        let Some((fields, counts)) = line_object(text, &keep) else {
            return Ok(None);
        };
        let (line, n) = (self.pos.line, text.len());
        self.take_line(n);
        Ok(Some(Frame::Object {
            fields,
            counts: Some(counts),
            line,
        }))
    }

    /// Gives lines that end with `}` (the common JSON line) as
    /// [`Frame::Unchecked`], without scanning them, so that the
    /// threads that parse them read each byte once; or stops. While on,
    /// every byte read is kept until [`Framer::forget`] says no rewind will
    /// go back that far. A line that is not one whole record (a record
    /// going on over the next lines, two records, a broken one) is only
    /// found when it is parsed: the caller then [`Framer::rewind`]s to it,
    /// and the framer reads on from there as if it had never gone ahead.
    pub(crate) fn speculate(&mut self, on: bool) {
        self.speculate = on;
        self.src.log(on);
    }

    /// Where the framer stands, to come back to.
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            shapes: self.shapes.len(),
            source: self.src.mark(),
        }
    }

    /// Goes back to `mark`, taken at an unchecked line that is not one
    /// whole record, and stops speculating: the framer then reads the line
    /// and on as it would have without going ahead.
    pub(crate) fn rewind(&mut self, mark: &Mark) {
        self.src.rewind(&mark.source);
        self.speculate = false;
        self.pos = mark.pos;
        self.shapes.truncate(mark.shapes);
        self.ctx = Ctx::Top;
        self.resync = None;
        self.deferred = None;
        self.buf.clear();
        self.finished = false;
        self.current = None;
    }

    /// No rewind will go back past `mark`: the bytes before it are dropped.
    pub(crate) fn forget(&mut self, mark: &Mark) {
        self.src.forget(&mark.source);
    }

    /// A top-level record that fills the rest of its line, given unchecked
    /// (see [`Framer::speculate`]).
    pub(super) fn line_unchecked(&mut self) -> io::Result<Option<Frame>> {
        let mark = self.mark();
        let Some(len) = line_record(self.src.chunk()?).map(<[u8]>::len) else {
            return Ok(None);
        };
        // The line is shared with the source's block, not copied.
        let bytes = self.src.share(len);
        let start = Start {
            line: self.pos.line,
            col: self.pos.col(self.pos.offset),
            offset: self.pos.offset,
        };
        self.take_line(bytes.len());
        Ok(Some(Frame::Unchecked { bytes, start, mark }))
    }

    /// Consumes the `n` bytes of a record found by [`line_record`], read
    /// as a JSON line.
    fn take_line(&mut self, n: usize) {
        self.consume(n);
        self.pos.blank = false;
        self.note(Shape::Jsonl);
        self.src.reached(self.pos.offset);
    }
}

/// A line (see [`line_record`]) parsed as one record: an object whose keys
/// could not announce a container is exactly the record a scan would find,
/// as no scan of a valid object stops before its last `}`. `None` for
/// anything else, which the scan must frame.
pub(in crate::ingest) fn line_object(text: &[u8], keep: &Keep) -> Option<(Fields, KeyCounts)> {
    match sparse::parse(text, keep) {
        Ok((Parsed::Object(fields), Some(counts))) if !counts.container => Some((fields, counts)),
        _ => None,
    }
}

/// The rest of the line at the start of `chunk`, without its blank end,
/// when it ends in `}` (a record that may fill it) and its line break is
/// within `chunk`.
fn line_record(chunk: &[u8]) -> Option<&[u8]> {
    let end = memchr(b'\n', chunk)?;
    let mut text = within(chunk, ..end);
    while let [rest @ .., b' ' | b'\t' | b'\r'] = text {
        text = rest;
    }
    (text.last() == Some(&b'}')).then_some(text)
}
