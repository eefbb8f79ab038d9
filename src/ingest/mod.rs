//! Ingest: takes log files (or any byte stream), detects the layout of each
//! file and the shape of each record in it, streams records in constant
//! memory, and gives each as a canonical [`Record`] with its [`Location`], or
//! as a [`Problem`] saying why it could not be read.
//!
//! - `frame` splits bytes into records (JSON lines, JSON arrays, Graph
//!   pages, Event Hub batches; gzip is undone first) and recovers from bad
//!   input;
//! - [`normalize()`] maps each record (Graph, diagnostic settings, Log
//!   Analytics) to catalog names and types, the sign-in catalog or the
//!   Graph activity one as the record's log says;
//! - [`discover`] expands the paths given on the command line.

mod discover;
mod frame;
mod normalize;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::finding::Problem;
use crate::record::{Location, LogCategory, Record};

pub use discover::discover;

#[cfg(test)]
use frame::Shape;
use frame::{Frame, Framer};
use normalize::RecordShape;

/// Read buffer size: large reads keep system calls rare on big files.
const BUFFER: usize = 256 * 1024;

/// One thing read from a log: a record or a record that could not be read.
#[derive(Debug)]
pub enum Item {
    /// A record, normalized, with where it starts.
    Record(Box<Record>, Location),
    /// A record that could not be read, with where and why.
    Unreadable(Problem),
}

/// An input named on the command line, after directories are walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

/// Streams the records of one input, in order.
///
/// Every item carries the 0-based index of the record in the input; indexes
/// run from 0 without gaps over records and unreadable records alike, so
/// the count of items is the count of records seen.
pub struct Reader {
    display: Arc<str>,
    framer: Framer,
    next_index: u64,
    record_shapes: Vec<RecordShape>,
}

impl Reader {
    fn new(display: Arc<str>, inner: Box<dyn BufRead + Send>, limit: usize) -> Reader {
        Reader {
            display,
            framer: Framer::new(inner, limit),
            next_index: 0,
            record_shapes: Vec::new(),
        }
    }

    /// The shape(s) detected so far: the file layout, `jsonl`,
    /// `json-array`, `graph-page` or `event-hub`, then the record shapes in
    /// parentheses, `graph`, `diagnostic` or `log-analytics`; several of a
    /// kind are joined with `+`, in order of first appearance. Examples:
    /// `jsonl (log-analytics)`, `event-hub (diagnostic)`,
    /// `jsonl+json-array (graph)`. A file with no record at all is `empty`;
    /// one where nothing could be recognized is `unknown`.
    pub fn format(&self) -> String {
        let layouts: Vec<&str> = self.framer.shapes().iter().map(|s| s.name()).collect();
        let records: Vec<&str> = self.record_shapes.iter().map(|s| s.name()).collect();
        match (layouts.is_empty(), records.is_empty()) {
            (true, _) if self.next_index == 0 => "empty".to_string(),
            (true, _) => "unknown".to_string(),
            (false, true) => layouts.join("+"),
            (false, false) => format!("{} ({})", layouts.join("+"), records.join("+")),
        }
    }

    /// The layouts seen so far.
    #[cfg(test)]
    fn layouts(&self) -> &[Shape] {
        self.framer.shapes()
    }
}

impl Iterator for Reader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        let frame = self.framer.next_frame()?;
        let index = self.next_index;
        self.next_index += 1;
        let problem = |line, reason| {
            Item::Unreadable(Problem {
                path: self.display.clone(),
                line,
                record: Some(index),
                reason,
            })
        };
        Some(match frame {
            Frame::Object { fields, line } => {
                let (record, shape) = normalize::normalize_object(fields);
                if !self.record_shapes.contains(&shape) {
                    self.record_shapes.push(shape);
                }
                Item::Record(
                    Box::new(record),
                    Location {
                        path: self.display.clone(),
                        line,
                        record: index,
                    },
                )
            }
            Frame::Bad { line, reason } => problem(line, reason),
        })
    }
}

/// Opens a file (gzip-compressed or not, told by its first bytes, not its
/// name) for reading; `display` is the path as reports should show it.
pub fn open(path: &Path, display: Arc<str>) -> io::Result<Reader> {
    let file = File::open(path)?;
    Ok(buffered(
        display,
        BufReader::with_capacity(BUFFER, file),
        frame::DEFAULT_LIMIT,
    ))
}

/// Reads records from any byte stream (standard input, a test buffer),
/// gzip-compressed or not.
pub fn from_reader(display: Arc<str>, reader: Box<dyn Read + Send>) -> Reader {
    buffered(
        display,
        BufReader::with_capacity(BUFFER, reader),
        frame::DEFAULT_LIMIT,
    )
}

/// A reader over a buffered stream, undoing gzip (magic bytes `1f 8b`);
/// concatenated gzip members are read one after another.
fn buffered<R: BufRead + Send + 'static>(display: Arc<str>, mut inner: R, limit: usize) -> Reader {
    // An error here comes back on the first read and is reported there.
    let gzip = inner
        .fill_buf()
        .is_ok_and(|head| head.starts_with(&[0x1f, 0x8b]));
    let source: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::bufread::MultiGzDecoder::new(inner),
        ))
    } else {
        Box::new(inner)
    };
    Reader::new(display, source, limit)
}

/// Normalizes one record object, in any shape, to the canonical view.
///
/// Also used on rule test records, which are small partial records in
/// Graph vocabulary: `{"isInteractive": true, "status": {"errorCode": 0}}`.
/// Fails only when the value is not a JSON object.
pub fn normalize(value: Value) -> Result<Record, String> {
    match value {
        Value::Object(fields) => Ok(normalize::normalize_object(fields).0),
        other => Err(format!(
            "record is not a JSON object but {}",
            frame::value_kind(&other)
        )),
    }
}

/// Normalizes one record object, in any shape, as a record of `log`: the
/// log's catalog names and types its fields, whatever the record says its
/// log is. Used on rule test records whose case or rule names the log.
pub fn normalize_as(value: Value, log: &LogCategory) -> Result<Record, String> {
    match value {
        Value::Object(fields) => Ok(normalize::normalize_with(fields, None, Some(log)).0),
        other => Err(format!(
            "record is not a JSON object but {}",
            frame::value_kind(&other)
        )),
    }
}

#[cfg(test)]
mod tests;
