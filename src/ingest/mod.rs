//! Ingest: takes log files (or any byte stream), detects the layout of each
//! file and the shape of each record in it, streams records in constant
//! memory, and gives each as a canonical [`Record`] with its [`Location`], or
//! as a [`Problem`] saying why it could not be read.
//!
//! - `frame` splits JSON into records (JSON lines, JSON arrays, Graph
//!   pages, Event Hub batches; gzip is undone first) and recovers from bad
//!   input; `frame::scan` finds where a value ends, `frame::parse` parses
//!   one record and words its errors;
//! - `table` splits CSV into rows (Log Analytics portal exports, and Entra
//!   admin center downloads, whose columns `table::admin_center` maps);
//! - `source` is what both readers share: the replayable stream, the
//!   size-capped record buffer, the loop from reading steps to items;
//! - `sparse` parses only the keys the rules read;
//! - [`normalize()`] maps each record (Graph, diagnostic settings, Log
//!   Analytics, admin center) to catalog names and types, the sign-in
//!   catalog or the Graph activity one as the record's log says
//!   (`normalize::coerce` does the types); `markers` lists the keys that
//!   tell a record's shape and log, which `sparse` must keep;
//! - [`discover()`] expands the paths given on the command line.
//!
//! Whether a file is JSON or CSV is told by its content, not its name: a
//! file whose first line is a CSV header ([`InputFormat::Auto`]) is CSV.

mod discover;
mod error;
mod frame;
mod markers;
mod normalize;
mod source;
mod sparse;
mod table;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::finding::Problem;
use crate::record::{Fields, Location, LogCategory, Record};

pub use discover::{discover, log_endings};
pub use error::{NormalizeError, UnknownInputFormat};
pub use sparse::Keep;

#[cfg(test)]
use frame::Shape;
use frame::{Frame, Framer};
use normalize::RecordShape;

/// Buffer of the stream below the source, for the peeks that tell gzip,
/// CSV and JSON apart. The source reads in blocks four times as large
/// (see `source::BLOCK`), which such a buffer, once empty, passes straight
/// to the stream: the bytes are read into the block without a copy.
const BUFFER: usize = 64 * 1024;

/// Most bytes of the first line looked at to tell CSV from JSON: a CSV
/// header is far shorter.
const HEAD_LIMIT: u64 = 64 * 1024;

/// Which reader reads an input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InputFormat {
    /// CSV when the first line is a CSV header, else JSON.
    #[default]
    Auto,
    /// JSON in any layout (JSON lines, arrays, Graph pages, Event Hub
    /// batches); `jsonl` and `json` both name it.
    Json,
    /// CSV with a header line (Log Analytics portal or Entra admin center).
    Csv,
}

impl FromStr for InputFormat {
    type Err = UnknownInputFormat;

    fn from_str(text: &str) -> Result<InputFormat, UnknownInputFormat> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(InputFormat::Auto),
            "json" | "jsonl" | "ndjson" => Ok(InputFormat::Json),
            "csv" => Ok(InputFormat::Csv),
            _ => Err(UnknownInputFormat(text.to_string())),
        }
    }
}

/// How to read inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The reader to use, or [`InputFormat::Auto`] to tell by content.
    pub format: InputFormat,
    /// The keys worth reading from records (see [`Keep`]); `None` reads
    /// every key. A rule set's keep (`RuleSet::projection().keep()`) makes
    /// reading faster and gives the same outcomes as reading everything:
    /// rules only see the fields they name.
    pub keep: Option<Arc<Keep>>,
}

/// One thing read from a log: a record or a record that could not be read.
#[derive(Debug)]
pub enum Item {
    /// A record, normalized, with where it starts.
    Record(Box<Record>, Location),
    /// A record that could not be read, with where and why.
    Unreadable(Problem),
    /// A record that was read but holds nothing of a sign-in or of a Graph
    /// call (no key names a field of either catalog beyond the envelope,
    /// such as a line of another log): not evaluated, with where and why.
    NotSignIn(Problem),
}

/// Why a record is [`Item::NotSignIn`].
pub const NOT_SIGN_IN: &str =
    "not a sign-in or Graph activity record: none of its keys is a known field";

/// An input named on the command line, after directories are walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// Whether the input may be a live stream, read as it comes: standard
    /// input, or a path that is no regular file (a named pipe, a process
    /// substitution such as `<(tail -f log)`, a device).
    pub fn is_stream(&self) -> bool {
        match self {
            Input::Stdin => true,
            Input::File(path) => std::fs::metadata(path).is_ok_and(|m| !m.is_file()),
        }
    }
}

/// Streams the records of one input, in order.
///
/// Every item carries the 0-based index of the record in the input; indexes
/// run from 0 without gaps over records and unreadable records alike, so
/// the count of items is the count of records seen.
pub struct Reader {
    display: Arc<str>,
    body: Body,
    next_index: u64,
    record_shapes: Vec<RecordShape>,
    keep: Option<Arc<Keep>>,
    /// Bytes read from the input so far.
    read: Arc<AtomicU64>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("display", &self.display)
            .field("next_index", &self.next_index)
            .field("bytes_read", &self.bytes_read())
            .finish_non_exhaustive()
    }
}

/// The reader of a file's content.
enum Body {
    Json(Framer),
    Csv(table::Table),
}

impl Reader {
    fn new(display: Arc<str>, body: Body) -> Reader {
        Reader {
            display,
            body,
            next_index: 0,
            record_shapes: Vec::new(),
            keep: None,
            read: Arc::default(),
        }
    }

    /// The shape(s) detected so far: the file layout, `jsonl`,
    /// `json-array`, `graph-page`, `event-hub` or `csv`, then the record
    /// shapes in parentheses, `graph`, `diagnostic`, `log-analytics` or
    /// `admin-center`; several of a kind are joined with `+`, in order of
    /// first appearance. Examples: `jsonl (log-analytics)`, `event-hub
    /// (diagnostic)`, `jsonl+json-array (graph)`, `csv (admin-center)`. A
    /// file with no record at all is `empty`; one where nothing could be
    /// recognized is `unknown`.
    pub fn format(&self) -> String {
        let layouts: Vec<&str> = match &self.body {
            Body::Json(framer) => framer.shapes().iter().map(|s| s.name()).collect(),
            Body::Csv(table) if table.dialect().is_some() => vec!["csv"],
            Body::Csv(_) => Vec::new(),
        };
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
        match &self.body {
            Body::Json(framer) => framer.shapes(),
            Body::Csv(_) => &[],
        }
    }

    /// Whether the reader parses a JSON-lines record itself, as it frames
    /// it, when the record is its own line: on by default, as reading each
    /// byte once (parsing tells where a valid record ends) costs less than
    /// framing then parsing. A caller that decodes records on other threads
    /// turns it off, so the parsing is spread over them (parsing on the
    /// framing thread measured slower on two cores: that thread became the
    /// bottleneck). Either way the records read are the same.
    pub(crate) fn parse_lines(&mut self, on: bool) {
        if let Body::Json(framer) = &mut self.body {
            framer.parse_lines = on;
        }
    }

    /// Whether the framer gives JSON lines unchecked, for the threads that
    /// parse them to check (see [`Pending::decode_checked`]); only with a
    /// keep, whose key counts the check needs.
    pub(crate) fn speculate(&mut self, on: bool) {
        if let Body::Json(framer) = &mut self.body {
            framer.speculate(on && self.keep.is_some());
        }
    }

    /// Where the reader stands, to give [`Reader::forget`] later.
    pub(crate) fn mark(&self) -> Option<Mark> {
        match &self.body {
            Body::Json(framer) => Some(Mark {
                framer: framer.mark(),
                next_index: self.next_index,
            }),
            Body::Csv(_) => None,
        }
    }

    /// Goes back to `mark`, the mark of a record that
    /// [`Pending::decode_checked`] refused, and stops speculating: the
    /// records from there on are read again, framed as usual.
    pub(crate) fn rewind(&mut self, mark: &Mark) {
        if let Body::Json(framer) = &mut self.body {
            framer.rewind(&mark.framer);
            self.next_index = mark.next_index;
        }
    }

    /// No rewind will go back past `mark`.
    pub(crate) fn forget(&mut self, mark: &Mark) {
        if let Body::Json(framer) = &mut self.body {
            framer.forget(&mark.framer);
        }
    }

    /// Reads the next record without decoding it: the framing (or CSV
    /// parsing) happens here, in input order, and [`Pending::decode`] does
    /// the rest, on any thread. [`Reader::note`] must then see each decoded
    /// record, in order, for [`Reader::format`].
    pub fn next_pending(&mut self) -> Option<Pending> {
        let (body, line) = match &mut self.body {
            Body::Json(framer) => match framer.next_frame()? {
                Frame::Unparsed { bytes, start } => (
                    Raw::Json {
                        bytes,
                        start,
                        keep: self.keep.clone(),
                    },
                    start.line,
                ),
                Frame::Object {
                    fields,
                    counts,
                    line,
                } => (
                    Raw::Object {
                        fields,
                        counts,
                        keep: self.keep.clone(),
                    },
                    line,
                ),
                Frame::Unchecked { bytes, start, mark } => {
                    let raw = match self.keep.clone() {
                        Some(keep) => Raw::Unchecked {
                            bytes,
                            start,
                            keep,
                            mark: Mark {
                                framer: mark,
                                next_index: self.next_index,
                            },
                        },
                        // The framer speculates only with a keep (see
                        // `Reader::speculate`).
                        None => Raw::Json {
                            bytes: bytes.to_vec(),
                            start,
                            keep: None,
                        },
                    };
                    (raw, start.line)
                }
                Frame::Bad { line, reason } => (Raw::Bad(reason), line),
            },
            Body::Csv(table) => match table.next_row()? {
                table::Row::Object {
                    mut fields,
                    counts,
                    line,
                } => {
                    // A row's cells are split already; the rules' keep
                    // still spares normalizing the columns no rule reads.
                    // The table kept only those already when it could.
                    let counts = counts.or_else(|| {
                        self.keep.as_deref().map(|keep| {
                            let counts = markers::KeyCounts::of(fields.keys().iter());
                            fields.retain(|key, _| keep.wants(key));
                            counts
                        })
                    });
                    let keep = self.keep.clone();
                    (
                        Raw::Object {
                            fields,
                            counts,
                            keep,
                        },
                        line,
                    )
                }
                table::Row::AdminCenter {
                    canonical,
                    unmapped,
                    line,
                } => (
                    Raw::AdminCenter {
                        canonical,
                        unmapped,
                    },
                    line,
                ),
                table::Row::Bad { line, reason } => (Raw::Bad(reason), line),
            },
        };
        let index = self.next_index;
        self.next_index += 1;
        Some(Pending {
            raw: body,
            location: Location {
                path: self.display.clone(),
                line,
                record: index,
            },
        })
    }

    /// Bytes read from the input so far (compressed bytes for gzip): up
    /// to a read buffer ahead of the records given out, and, under
    /// [`crate::run::scan::scan`], ahead of the records evaluated by the batches
    /// in flight.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// A handle on [`Reader::bytes_read`] that can be read while the
    /// reader is borrowed elsewhere.
    pub fn bytes_counter(&self) -> BytesRead {
        BytesRead(Arc::clone(&self.read))
    }

    /// Records what a decoded record was, for [`Reader::format`].
    pub fn note(&mut self, seen: Seen) {
        if let Some(shape) = seen.0
            && !self.record_shapes.contains(&shape)
        {
            self.record_shapes.push(shape);
        }
    }
}

/// A record read from an input but not decoded yet (see
/// [`Reader::next_pending`]). It owns its bytes, so it can be sent to
/// another thread.
#[derive(Debug)]
pub struct Pending {
    raw: Raw,
    location: Location,
}

#[derive(Debug)]
enum Raw {
    /// JSON text of one record.
    Json {
        bytes: Vec<u8>,
        start: frame::Start,
        keep: Option<Arc<Keep>>,
    },
    /// A line taken for one record without a scan, with where the reader
    /// stood before it (see [`Reader::speculate`]).
    Unchecked {
        bytes: source::Bytes,
        start: frame::Start,
        keep: Arc<Keep>,
        mark: Mark,
    },
    /// A record already split into keys and values, with the rules' keep
    /// for what JSON text its values hold.
    Object {
        fields: Fields,
        counts: Option<markers::KeyCounts>,
        keep: Option<Arc<Keep>>,
    },
    /// An admin center CSV row.
    AdminCenter {
        canonical: serde_json::Map<String, Value>,
        unmapped: Vec<(String, Value)>,
    },
    /// A record that could not be read, and why.
    Bad(String),
}

/// Where a reader stood before a record, to come back to (see
/// [`Reader::rewind`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    framer: frame::Mark,
    next_index: u64,
}

/// What [`Reader::note`] needs to know of a decoded record: its shape.
#[derive(Debug, Clone, Copy)]
pub struct Seen(Option<RecordShape>);

impl Pending {
    /// Where the record starts.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// About how many bytes the record holds, for batching.
    pub fn size(&self) -> usize {
        match &self.raw {
            Raw::Json { bytes, .. } => bytes.len(),
            Raw::Unchecked { bytes, .. } => bytes.len(),
            Raw::Bad(reason) => reason.len(),
            // Rows are split into cells already: count them roughly.
            Raw::Object { fields, .. } => 64 * fields.len(),
            Raw::AdminCenter { canonical, .. } => 64 * canonical.len(),
        }
    }

    /// [`Pending::decode`], except for a line the reader took for one
    /// record without checking (see [`Reader::speculate`]) that turns out
    /// not to be one: then where the reader stood before it, to
    /// [`Reader::rewind`] to.
    pub(crate) fn decode_checked(self) -> Result<(Item, Seen), Mark> {
        let Pending { raw, location } = self;
        let raw = match raw {
            Raw::Unchecked {
                bytes, keep, mark, ..
            } => match frame::line_object(&bytes, &keep) {
                Some((fields, counts)) => Raw::Object {
                    fields,
                    counts: Some(counts),
                    keep: Some(keep),
                },
                None => return Err(mark),
            },
            raw => raw,
        };
        Ok(Pending { raw, location }.decode())
    }

    /// Parses and normalizes the record; give the [`Seen`] to
    /// [`Reader::note`].
    pub fn decode(self) -> (Item, Seen) {
        let Pending { raw, location } = self;
        let counted = |fields: Fields, counts, keep: Option<&Keep>| {
            let known = normalize::has_known_key(&fields, counts);
            (normalize::normalize_counted(fields, counts, keep), known)
        };
        let found = match raw {
            Raw::Json { bytes, start, keep } => frame::parse_record(&bytes, start, keep.as_deref())
                .map(|(fields, counts)| counted(fields, counts, keep.as_deref()))
                .map_err(|e| e.to_string()),
            // Only `decode_checked` meets these in a run; read on its own,
            // such a line is read as a framed record.
            Raw::Unchecked {
                bytes, start, keep, ..
            } => frame::parse_record(&bytes, start, Some(&keep))
                .map(|(fields, counts)| counted(fields, counts, Some(&keep)))
                .map_err(|e| e.to_string()),
            Raw::Object {
                fields,
                counts,
                keep,
            } => Ok(counted(fields, counts, keep.as_deref())),
            Raw::AdminCenter {
                canonical,
                unmapped,
            } => {
                // Only the columns mapped to Graph names can tell.
                let known = normalize::has_known_key(&canonical, None);
                Ok((
                    (
                        normalize::normalize_admin_center(canonical, unmapped),
                        RecordShape::AdminCenter,
                    ),
                    known,
                ))
            }
            Raw::Bad(reason) => Err(reason),
        };
        match found {
            Ok(((_, shape), false)) => (
                Item::NotSignIn(Problem {
                    path: location.path,
                    line: location.line,
                    record: Some(location.record),
                    reason: NOT_SIGN_IN.to_string(),
                }),
                Seen(Some(shape)),
            ),
            Ok(((record, shape), true)) => {
                (Item::Record(Box::new(record), location), Seen(Some(shape)))
            }
            Err(reason) => (
                Item::Unreadable(Problem {
                    path: location.path,
                    line: location.line,
                    record: Some(location.record),
                    reason,
                }),
                Seen(None),
            ),
        }
    }
}

impl Iterator for Reader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        let (item, seen) = self.next_pending()?.decode();
        self.note(seen);
        Some(item)
    }
}

/// Opens a file (gzip-compressed or not, told by its first bytes, not its
/// name) for reading; `display` is the path as reports should show it.
pub fn open(path: &Path, display: Arc<str>) -> io::Result<Reader> {
    open_with(path, display, Options::default())
}

/// [`open`], with options.
pub fn open_with(path: &Path, display: Arc<str>, options: Options) -> io::Result<Reader> {
    let file = File::open(path)?;
    Ok(from_reader_with(display, Box::new(file), options))
}

/// Reads records from any byte stream (standard input, a test buffer),
/// gzip-compressed or not.
pub fn from_reader(display: Arc<str>, reader: Box<dyn Read + Send>) -> Reader {
    from_reader_with(display, reader, Options::default())
}

/// [`from_reader`], with options.
pub fn from_reader_with(
    display: Arc<str>,
    reader: Box<dyn Read + Send>,
    options: Options,
) -> Reader {
    let read = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        inner: reader,
        read: Arc::clone(&read),
    };
    let mut reader = buffered(
        display,
        BufReader::with_capacity(BUFFER, counted),
        frame::DEFAULT_LIMIT,
        options,
    );
    reader.read = read;
    reader
}

/// See [`Reader::bytes_counter`].
#[derive(Debug, Clone)]
pub struct BytesRead(Arc<AtomicU64>);

impl BytesRead {
    /// Bytes read from the input so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A stream that counts the bytes read from it (before any gzip is
/// undone), for progress reports.
struct Counted {
    inner: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A reader over a buffered stream, undoing gzip (magic bytes `1f 8b`);
/// concatenated gzip members are read one after another. With
/// [`InputFormat::Auto`], the first line decides between CSV and JSON.
fn buffered<R: BufRead + Send + 'static>(
    display: Arc<str>,
    mut inner: R,
    limit: usize,
    options: Options,
) -> Reader {
    // An error here comes back on the first read and is reported there.
    let gzip = inner
        .fill_buf()
        .is_ok_and(|head| head.starts_with(&[0x1f, 0x8b]));
    let mut source: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::bufread::MultiGzDecoder::new(inner),
        ))
    } else {
        Box::new(inner)
    };
    let csv = match options.format {
        InputFormat::Json => false,
        InputFormat::Csv => true,
        InputFormat::Auto => {
            // Read the first two lines (a decompressed stream may give them
            // in pieces), then put them back in front of the rest. A header
            // followed by JSON is a JSON file with a line of junk first.
            let mut head = Vec::new();
            let mut read = (&mut source).take(HEAD_LIMIT).read_until(b'\n', &mut head);
            let mut csv = read.is_ok() && table::looks_like_header(&head);
            if csv {
                let mut second = Vec::new();
                read = (&mut source)
                    .take(HEAD_LIMIT)
                    .read_until(b'\n', &mut second);
                let text = second.trim_ascii_start();
                csv = read.is_ok() && !text.starts_with(b"{") && !text.starts_with(b"[");
                head.extend_from_slice(&second);
            }
            let rest: Box<dyn BufRead + Send> = match read {
                Ok(_) => source,
                Err(e) => Box::new(Failed(Some(e))),
            };
            source = Box::new(Cursor::new(head).chain(rest));
            csv
        }
    };
    let body = if csv {
        let mut table = table::Table::new(source, limit);
        table.keep(options.keep.clone());
        Body::Csv(table)
    } else {
        let mut framer = Framer::new(source, limit);
        framer.keep(options.keep.clone());
        Body::Json(framer)
    };
    let mut reader = Reader::new(display, body);
    reader.keep = options.keep;
    reader
}

/// A stream whose first read failed while telling CSV from JSON: it gives
/// that error to the reader, which reports it, then ends.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

impl BufRead for Failed {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(&[]),
        }
    }

    fn consume(&mut self, _: usize) {}
}

/// Normalizes one record object, in any shape, to the canonical view.
///
/// Also used on rule test records, which are small partial records in
/// Graph vocabulary: `{"isInteractive": true, "status": {"errorCode": 0}}`.
/// Fails only when the value is not a JSON object.
pub fn normalize(value: Value) -> Result<Record, NormalizeError> {
    match value {
        Value::Object(fields) => Ok(normalize::normalize_object(fields).0),
        other => Err(NormalizeError::NotAnObject(frame::value_kind(&other))),
    }
}

/// Normalizes one record object, in any shape, as a record of `log`: the
/// log's catalog names and types its fields, whatever the record says its
/// log is. Used on rule test records whose case or rule names the log.
pub fn normalize_as(value: Value, log: &LogCategory) -> Result<Record, NormalizeError> {
    match value {
        Value::Object(fields) => {
            Ok(normalize::normalize_with(fields.into(), None, Some(log), None).0)
        }
        other => Err(NormalizeError::NotAnObject(frame::value_kind(&other))),
    }
}

#[cfg(test)]
mod tests;
