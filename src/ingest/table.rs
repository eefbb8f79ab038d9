//! CSV: takes a byte stream holding a CSV file with a header line and gives
//! one [`Row`] per data row, with the 1-based line where the row starts, or
//! the reason it could not be read.
//!
//! Two CSV exports carry sign-ins, told apart by their header
//! ([`Dialect`]):
//! - **Log Analytics** portal "Export to CSV": a column per table column,
//!   the time columns suffixed ` [UTC]`, dynamic columns split in two,
//!   `X_dynamic` and `X_string`. A row becomes an object keyed by column
//!   name, which the normalizer reads like a JSON record (a Log Analytics
//!   row, by its columns). Any other CSV with a header is read the same way.
//! - **Entra admin center** download: display names as headers (`Date
//!   (UTC)`, `Request ID`, ...). The columns whose meaning is known are
//!   mapped to Graph names ([`admin_center`]); the others are
//!   kept under their own names.
//!
//! Rows are framed here and their cells parsed by the `csv` crate's state
//! machine, or, for a row of the usual form, split here into the same cells
//! a search at a time (`split_plain`, tested against the state machine on
//! every short row of the bytes that matter to CSV). Framing
//! counts quotes: a line break ends a row when the quotes seen since the
//! row began are balanced, which is where the `csv` crate ends a record in a
//! well-formed file. Framing first lets a row be capped before it is
//! buffered (memory stays bounded by the largest row whatever the size of
//! the file), and lets a row whose quote is never closed cost only its own
//! line: its lines after the first are read again as rows.
//!
//! Empty cells are absent from the record. A row that cannot be read (a
//! cell count that differs from the header's, bytes that are not UTF-8, a
//! quote never closed, a row over the size limit) is given as [`Row::Bad`]
//! and reading goes on with the next row.

mod admin_center;

use std::io::{self, BufRead};

use memchr::{memchr, memchr3};
use serde_json::{Map, Value};

use std::sync::Arc;

use super::error::ReadError;
use super::markers::{self, KeyCounts};
use super::normalize::insert_new;
use super::source::{self, Capped, Source, Steps, human_size, within};
use super::sparse::{self, Below, Keep};
use crate::record::{Fields, Layout};
use admin_center::admin_center_row;

/// Which export a CSV file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Log Analytics portal "Export to CSV", or any other CSV whose
    /// header names record keys.
    LogAnalytics,
    /// Entra admin center sign-in download.
    AdminCenter,
}

/// One row read from a CSV file.
#[derive(Debug)]
pub(crate) enum Row {
    /// A row as an object: columns as keys, empty cells left out.
    Object {
        /// Column name to cell: every column, or only those the rules'
        /// [`Keep`] wants when `counts` is given.
        fields: Fields,
        /// The counts of the row's keys, all of them, when `fields` holds
        /// only the kept ones.
        counts: Option<KeyCounts>,
        /// 1-based line where the row starts.
        line: u64,
    },
    /// An admin center row: the mapped columns under Graph names, and the
    /// other columns as they came.
    AdminCenter {
        /// Graph names (nested: `status.errorCode` is under `status`).
        canonical: Map<String, Value>,
        /// Columns with no Graph name, and values that lost to an earlier
        /// column of the same meaning.
        unmapped: Vec<(String, Value)>,
        /// 1-based line where the row starts.
        line: u64,
    },
    /// A row that could not be read.
    Bad {
        /// 1-based line where the row starts.
        line: u64,
        /// Why, in lowercase.
        reason: String,
    },
}

/// Suffix of time columns in Log Analytics exports.
const UTC_SUFFIX: &str = " [UTC]";

/// Longest header cell taken as a column name when detecting CSV.
const HEADER_CELL_LIMIT: usize = 256;

/// What a Log Analytics column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// An ordinary column.
    Plain,
    /// `X_dynamic`: the dynamic half of a split column, preferred.
    Dynamic,
    /// `X_string`: the text half, used when the dynamic half is empty.
    Text,
}

/// One column of the header.
#[derive(Debug)]
struct Column {
    /// The name the cell is kept under: for Log Analytics the column name
    /// (without ` [UTC]`, `_dynamic` or `_string`); for the admin center
    /// the display name, trimmed, suffixed ` (2)`, ` (3)`, ... when the
    /// header repeats it.
    name: String,
    /// The header cell as written (trimmed), for messages.
    header: String,
    role: Role,
    /// Admin center: the Graph path, its field and conversion.
    target: Option<admin_center::Target>,
    /// Admin center: the `Status` column.
    status: bool,
}

/// Splits CSV bytes into rows; see the module documentation.
pub(crate) struct Table {
    src: Source,
    /// 1-based line of the next byte.
    line: u64,
    /// Offset of the next byte.
    offset: u64,
    columns: Option<Vec<Column>>,
    dialect: Option<Dialect>,
    /// The bytes of the row being framed, up to the size limit.
    buf: Capped,
    started: bool,
    finished: bool,
    cells: Box<RowParser>,
    /// The keys worth keeping, or `None` to keep every column.
    keep: Option<Arc<Keep>>,
    /// What the keep makes of the header's columns, once it is read.
    projection: Option<Projection>,
}

/// A Log Analytics header seen through the rules' [`Keep`]: which columns
/// are kept, and what each adds to the row's [`KeyCounts`]. A row whose
/// every key is its column's own name (no two non-empty cells under one
/// name, which would need ` (2)` or `_string`) is built with the kept
/// columns only, and its counts from this.
#[derive(Debug)]
struct Projection {
    kept: Vec<bool>,
    /// What the keep wants below a column that holds JSON, when not all
    /// of it.
    below: Vec<Option<Keep>>,
    upper: Vec<bool>,
    known: Vec<bool>,
    /// Columns that share their name with another (`X_dynamic` and
    /// `X_string` are both `X`).
    shared: Vec<Vec<usize>>,
    /// The kept columns filled in the last rows (a row leaves its empty
    /// cells out), each with the layout and the keys of rows that fill
    /// exactly those: the last used first.
    layouts: Vec<(Vec<usize>, Layout, Arc<[String]>)>,
    /// The kept columns filled in the row being read.
    filled: Vec<usize>,
}

/// How many sets of filled columns a projection remembers.
const LAYOUTS: usize = 4;

impl Projection {
    fn new(columns: &[Column], keep: &Keep) -> Projection {
        let names = || columns.iter().map(|c| c.name.as_str());
        let mut shared: Vec<Vec<usize>> = Vec::new();
        for (i, name) in names().enumerate() {
            let first = names().position(|n| n == name);
            if first != Some(i) {
                continue;
            }
            let all: Vec<usize> = (i..columns.len())
                .filter(|&j| columns.get(j).is_some_and(|c| c.name == name))
                .collect();
            if all.len() > 1 {
                shared.push(all);
            }
        }
        Projection {
            kept: names().map(|n| keep.wants(n)).collect(),
            below: names()
                .map(|n| match keep.get(n) {
                    Some(Below::Some(below)) => Some(below.clone()),
                    _ => None,
                })
                .collect(),
            upper: names()
                .map(|n| n.starts_with(|c: char| c.is_ascii_uppercase()))
                .collect(),
            known: names().map(markers::is_record_key).collect(),
            shared,
            layouts: Vec::new(),
            filled: Vec::new(),
        }
    }

    /// The row's kept columns and the counts of all its keys; `None` when
    /// two non-empty cells share a name (the row is built whole then).
    fn row(&mut self, columns: &[Column], cells: &[&str]) -> Option<(Fields, KeyCounts)> {
        let filled = |i: &&usize| cells.get(**i).is_some_and(|c| !c.is_empty());
        if self
            .shared
            .iter()
            .any(|group| group.iter().filter(filled).count() > 1)
        {
            return None;
        }
        // No name twice among the cells kept (checked above).
        let kept = self.kept.iter().filter(|&&k| k).count();
        let mut values = Vec::with_capacity(kept);
        self.filled.clear();
        let mut counts = KeyCounts::default();
        for (i, (column, cell)) in columns.iter().zip(cells).enumerate() {
            if cell.is_empty() {
                continue;
            }
            counts.total += 1;
            counts.upper += usize::from(self.upper.get(i) == Some(&true));
            counts.known = counts.known || self.known.get(i) == Some(&true);
            if self.kept.get(i) == Some(&true) {
                let value = match column.role {
                    Role::Dynamic => dynamic(cell, self.below.get(i).and_then(Option::as_ref)),
                    Role::Plain | Role::Text => Value::String(cell.to_string()),
                };
                self.filled.push(i);
                values.push(value);
            }
        }
        // Rows that fill the same kept columns keep the same keys, in the
        // same order: a layout.
        let at = match self.layouts.iter().position(|(f, ..)| *f == self.filled) {
            Some(at) => at,
            None => {
                let keys: Vec<String> = (self.filled.iter())
                    .filter_map(|&i| columns.get(i).map(|c| c.name.clone()))
                    .collect();
                self.layouts.truncate(LAYOUTS - 1);
                self.layouts
                    .insert(0, (self.filled.clone(), Layout::new(), keys.into()));
                0
            }
        };
        let (filled, layout, keys) = self.layouts.remove(at);
        // Each filled column is a column: a key for each value. Were it
        // not, the row would be built whole, losing nothing.
        let fields =
            (keys.len() == values.len()).then(|| Fields::shared(Arc::clone(&keys), values, layout));
        self.layouts.insert(0, (filled, layout, keys));
        Some((fields?, counts))
    }
}

/// How a row's bytes ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// At a line break outside quotes.
    Line,
    /// At the end of the stream, outside quotes.
    Eof,
    /// At the end of the stream, inside a quoted cell.
    EofInQuotes,
}

/// One row's bytes, as framed.
struct Raw {
    line: u64,
    offset: u64,
    end: End,
    oversize: bool,
}

impl Table {
    /// A reader of the CSV in `inner`; rows over `limit` bytes are reported
    /// without being buffered.
    pub(crate) fn new(inner: Box<dyn BufRead + Send>, limit: usize) -> Table {
        Table {
            src: Source::new(inner),
            line: 1,
            offset: 0,
            columns: None,
            dialect: None,
            buf: Capped::new(limit),
            started: false,
            finished: false,
            cells: Box::default(),
            keep: None,
            projection: None,
        }
    }

    /// Keeps only the columns `keep` wants of a Log Analytics row.
    pub(crate) fn keep(&mut self, keep: Option<Arc<Keep>>) {
        self.keep = keep;
    }

    /// The export the header says the file comes from, once it is read.
    pub(crate) fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    /// The next row, or `None` at the end of the stream.
    pub(crate) fn next_row(&mut self) -> Option<Row> {
        source::next_item(self)
    }

    fn step(&mut self) -> io::Result<Option<Row>> {
        if !self.started {
            self.started = true;
            if self.src.chunk()?.starts_with(source::BOM) {
                self.consume(3);
            }
        }
        let Some(raw) = self.frame()? else {
            self.finished = true;
            return Ok(None);
        };
        if raw.end != End::Line {
            // Nothing can follow a row that ends the stream, except what a
            // replay puts back.
            self.finished = true;
        }
        if !raw.oversize && self.buf.bytes().iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if raw.oversize {
            let reason = format!("row is larger than {}", human_size(self.buf.limit() as u64));
            return Ok(Some(self.bad_row(&raw, reason)));
        }
        if raw.end == End::EofInQuotes {
            let reason = "a quote opened in this row is never closed".to_string();
            return Ok(Some(self.bad_row(&raw, reason)));
        }
        // `row` needs `self` whole: lend it the bytes, then take them back
        // to reuse their memory.
        let bytes = self.buf.take();
        let row = self.row(&bytes, raw.line);
        self.buf.put_back(bytes);
        Ok(row)
    }

    /// A row that cannot be read; a quote never closed swallowed the lines
    /// after the row's first, so they are read again as rows, within the
    /// replay budget.
    fn bad_row(&mut self, raw: &Raw, reason: String) -> Row {
        if raw.end == End::EofInQuotes
            && !raw.oversize
            && let Some(k) = memchr(b'\n', self.buf.bytes())
            && let Some((_, tail)) = self.buf.bytes().split_at_checked(k + 1)
            && !tail.is_empty()
            && self.src.may_replay(tail.len() as u64)
        {
            self.src.replay(tail);
            self.line = raw.line + 1;
            self.offset = raw.offset + k as u64 + 1;
            // The row's end was the stream's end; what was put back follows.
            self.finished = false;
        }
        if self.columns.is_none() {
            // Without a header no row can be read.
            self.finished = true;
        }
        Row::Bad {
            line: raw.line,
            reason,
        }
    }

    fn consume(&mut self, n: usize) {
        self.src.consume(n);
        self.offset += n as u64;
        self.src.reached(self.offset);
    }

    /// Reads one row's bytes into `buf` (up to the limit), or `None` at the
    /// end of the stream.
    fn frame(&mut self) -> io::Result<Option<Raw>> {
        self.buf.clear();
        let line = self.line;
        let offset = self.offset;
        let mut in_quotes = false;
        let mut any = false;
        loop {
            let chunk = self.src.chunk()?;
            if chunk.is_empty() {
                if !any {
                    return Ok(None);
                }
                let end = if in_quotes {
                    End::EofInQuotes
                } else {
                    End::Eof
                };
                return Ok(Some(Raw {
                    line,
                    offset,
                    end,
                    oversize: self.buf.oversize(),
                }));
            }
            any = true;
            let mut n = chunk.len();
            let mut ended = false;
            let mut lines = 0u64;
            // A line break ends the row when an even number of quotes came
            // before it (a quote inside a cell is written twice). Quotes
            // are counted between line breaks, not stopped at one by one:
            // Log Analytics cells hold JSON, with many.
            let mut i = 0usize;
            loop {
                let rest = within(chunk, i..);
                let Some(k) = memchr(b'\n', rest) else {
                    in_quotes ^= odd_quotes(rest);
                    break;
                };
                in_quotes ^= odd_quotes(within(rest, ..k));
                lines += 1;
                if !in_quotes {
                    n = i + k + 1;
                    ended = true;
                    break;
                }
                i += k + 1;
            }
            self.buf.push(within(chunk, ..n));
            self.consume(n);
            self.line += lines;
            if ended {
                return Ok(Some(Raw {
                    line,
                    offset,
                    end: End::Line,
                    oversize: self.buf.oversize(),
                }));
            }
        }
    }

    /// Parses a framed row: the header, or a data row.
    fn row(&mut self, bytes: &[u8], line: u64) -> Option<Row> {
        let bad = |reason: String| Some(Row::Bad { line, reason });
        let record = match self.cells.parse(bytes) {
            Ok(record) => record,
            Err(e) => return bad(e.to_string()),
        };
        let Some(columns) = &self.columns else {
            let header: Vec<String> = record
                .iter()
                .map(|cell| String::from_utf8_lossy(cell).trim().to_string())
                .collect();
            let (dialect, columns) = header_columns(header);
            self.projection = match (&self.keep, dialect) {
                (Some(keep), Dialect::LogAnalytics) => Some(Projection::new(&columns, keep)),
                _ => None,
            };
            self.dialect = Some(dialect);
            self.columns = Some(columns);
            return None;
        };
        if record.len() != columns.len() {
            return bad(format!(
                "row has {} {} where the header has {}",
                record.len(),
                if record.len() == 1 { "cell" } else { "cells" },
                columns.len()
            ));
        }
        let Some(cells) = record.texts() else {
            // Some cell is not UTF-8: say which.
            for (cell, column) in record.iter().zip(columns) {
                if let Err(e) = std::str::from_utf8(cell) {
                    return bad(format!(
                        "invalid UTF-8 in column `{}` (byte {} of the cell)",
                        column.header,
                        e.valid_up_to() + 1
                    ));
                }
            }
            return bad("invalid UTF-8".into());
        };
        Some(match self.dialect {
            Some(Dialect::AdminCenter) => admin_center_row(columns, &cells, line),
            _ => match self
                .projection
                .as_mut()
                .and_then(|p| p.row(columns, &cells))
            {
                Some((fields, counts)) => Row::Object {
                    fields,
                    counts: Some(counts),
                    line,
                },
                None => Row::Object {
                    fields: log_analytics_row(columns, &cells).into(),
                    counts: None,
                    line,
                },
            },
        })
    }
}

/// Whether `bytes` holds an odd number of quotes: counted in bytes, up to
/// 255 at a time, a loop the compiler does sixteen bytes at once.
fn odd_quotes(bytes: &[u8]) -> bool {
    let mut count = 0u8;
    for run in bytes.chunks(255) {
        let n: u8 = run.iter().map(|&b| u8::from(b == b'"')).sum();
        count = count.wrapping_add(n);
    }
    count % 2 == 1
}

/// The cells of one framed row, parsed by a fresh [`RowParser`].
fn parse(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ReadError> {
    Ok(RowParser::default()
        .parse(bytes)?
        .iter()
        .map(<[u8]>::to_vec)
        .collect())
}

/// Splits framed rows into cells with one CSV state machine (the one the
/// `csv` crate runs), reset for each row instead of built for each; rows of
/// the usual form are split by [`split_plain`] first, which finds the same
/// cells a search at a time rather than a byte at a time.
pub(crate) struct RowParser {
    core: Box<csv_core::Reader>,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// The cells [`split_plain`] found, and where each ends.
    plain_out: Vec<u8>,
    plain_ends: Vec<usize>,
}

impl Default for RowParser {
    fn default() -> RowParser {
        RowParser {
            core: Box::new(csv_core::Reader::new()),
            out: vec![0; 4096],
            ends: vec![0; 64],
            plain_out: Vec::new(),
            plain_ends: Vec::new(),
        }
    }
}

/// Splits a row of the usual form into cells as the `csv` crate's state
/// machine does (RFC 4180: cells between commas, a quoted cell holding
/// anything with its quotes written twice, the row ended by a line feed,
/// a carriage return and line feed, or the end of the input), and says
/// whether it did. Anything else is left to the state machine: a row that
/// starts with a line break (skipped there), a quote never closed, text
/// after a closing quote, a lone carriage return. Cells go to `out`, the
/// end of each to `ends`.
fn split_plain(bytes: &[u8], out: &mut Vec<u8>, ends: &mut Vec<usize>) -> bool {
    out.clear();
    ends.clear();
    if matches!(bytes.first(), None | Some(b'\r' | b'\n')) {
        return false;
    }
    let mut at = 0;
    loop {
        let rest = bytes.get(at..).unwrap_or_default();
        if rest.first() == Some(&b'"') {
            at += 1;
            loop {
                let rest = bytes.get(at..).unwrap_or_default();
                let Some(q) = memchr(b'"', rest) else {
                    return false;
                };
                out.extend_from_slice(rest.get(..q).unwrap_or_default());
                at += q + 1;
                if bytes.get(at) != Some(&b'"') {
                    break;
                }
                out.push(b'"');
                at += 1;
            }
        } else {
            let k = memchr3(b',', b'\r', b'\n', rest).unwrap_or(rest.len());
            out.extend_from_slice(rest.get(..k).unwrap_or_default());
            at += k;
        }
        ends.push(out.len());
        match bytes.get(at) {
            Some(b',') => at += 1,
            None => return true,
            Some(b'\n') => return at + 1 == bytes.len(),
            Some(b'\r') => return bytes.get(at + 1..) == Some(b"\n"),
            Some(_) => return false,
        }
    }
}

impl RowParser {
    /// The cells of a row; a row that holds two records (the `csv` crate
    /// also ends records at a lone carriage return) is refused.
    pub(crate) fn parse(&mut self, bytes: &[u8]) -> Result<Cells<'_>, ReadError> {
        if split_plain(bytes, &mut self.plain_out, &mut self.plain_ends) {
            return Ok(Cells {
                out: &self.plain_out,
                ends: &self.plain_ends,
            });
        }
        self.core.reset();
        let (ends, used) = self.next_record(bytes, 0, 0);
        let Some((nout, nend)) = ends else {
            return Ok(Cells {
                out: &[],
                ends: &[],
            });
        };
        match self.next_record(within(bytes, used..), nout, nend) {
            (None, _) => Ok(Cells {
                out: within(&self.out, ..nout),
                ends: within(&self.ends, ..nend),
            }),
            (Some(_), _) => Err(ReadError::CarriageReturn),
        }
    }

    /// Reads the next record in `input` (which ends there) into the
    /// buffers from `nout` and `nend` on; gives where its cells and their
    /// ends stop in the buffers, and the bytes read.
    fn next_record(
        &mut self,
        mut input: &[u8],
        mut nout: usize,
        mut nend: usize,
    ) -> (Option<(usize, usize)>, usize) {
        let mut used = 0;
        loop {
            let (out, ends) = match (self.out.get_mut(nout..), self.ends.get_mut(nend..)) {
                (Some(out), Some(ends)) => (out, ends),
                _ => return (None, used),
            };
            let (result, nin, o, e) = self.core.read_record(input, out, ends);
            input = within(input, nin..);
            used += nin;
            nout += o;
            nend += e;
            match result {
                // Everything given is read: the next call, with nothing,
                // ends the input.
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    let len = self.out.len() * 2;
                    self.out.resize(len, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                csv_core::ReadRecordResult::Record => return (Some((nout, nend)), used),
                csv_core::ReadRecordResult::End => return (None, used),
            }
        }
    }
}

/// The cells of a row, borrowed from the [`RowParser`] that split it.
pub(crate) struct Cells<'a> {
    out: &'a [u8],
    /// Where each cell ends in `out`.
    ends: &'a [usize],
}

impl<'a> Cells<'a> {
    /// How many cells the row has.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Each cell's text, in order; `None` when some cell is not UTF-8.
    /// The cells are checked at once, as one text cut where they end.
    pub(crate) fn texts(&self) -> Option<Vec<&'a str>> {
        let text = std::str::from_utf8(self.out).ok()?;
        let mut cells = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &end in self.ends {
            cells.push(text.get(start..end)?);
            start = end;
        }
        Some(cells)
    }

    /// Each cell's bytes, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let out = self.out;
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let cell = within(out, start..end);
            start = end;
            cell
        })
    }
}

/// Whether a first line reads as a CSV header: at least two cells, each a
/// short name with no control characters, none opening JSON.
pub(crate) fn looks_like_header(line: &[u8]) -> bool {
    let line = line.strip_prefix(source::BOM).unwrap_or(line);
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let text = text.trim_end_matches(['\r', '\n']);
    if text.trim_start().starts_with(['{', '[']) {
        return false;
    }
    match parse(text.as_bytes()) {
        Ok(record) => {
            record.len() >= 2
                && record.iter().all(|cell| {
                    let Ok(cell) = std::str::from_utf8(cell) else {
                        return false;
                    };
                    let cell = cell.trim();
                    !cell.is_empty()
                        && cell.len() <= HEADER_CELL_LIMIT
                        && !cell.chars().any(char::is_control)
                })
        }
        Err(_) => false,
    }
}

/// The dialect and columns of a header (see
/// [`admin_center::is_admin_header`]).
fn header_columns(header: Vec<String>) -> (Dialect, Vec<Column>) {
    let admin = admin_center::is_admin_header(&header);
    let mut seen: Vec<String> = Vec::new();
    let mut columns = Vec::with_capacity(header.len());
    for cell in header {
        let (base, role) = if admin {
            (cell.clone(), Role::Plain)
        } else {
            let name = cell.strip_suffix(UTC_SUFFIX).unwrap_or(&cell).trim_end();
            if let Some(x) = name.strip_suffix("_dynamic").filter(|x| !x.is_empty()) {
                (x.to_string(), Role::Dynamic)
            } else if let Some(x) = name.strip_suffix("_string").filter(|x| !x.is_empty()) {
                (x.to_string(), Role::Text)
            } else {
                (name.to_string(), Role::Plain)
            }
        };
        // A repeated name keeps its cells apart: ` (2)`, ` (3)`, ...
        let key = format!("{role:?}\0{}", base.to_lowercase());
        let n = seen.iter().filter(|k| **k == key).count();
        seen.push(key);
        let name = if n == 0 {
            base
        } else {
            format!("{base} ({})", n + 1)
        };
        let target = admin.then(|| admin_center::target(&cell)).flatten();
        let status = admin && admin_center::is_status(&cell);
        columns.push(Column {
            name,
            header: cell,
            role,
            target,
            status,
        });
    }
    let dialect = if admin {
        Dialect::AdminCenter
    } else {
        Dialect::LogAnalytics
    };
    (dialect, columns)
}

/// A Log Analytics row as an object: the dynamic half of a split column
/// wins over its text half, which is kept under `X_string` only when it
/// says something else.
fn log_analytics_row(columns: &[Column], cells: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut texts = Vec::new();
    for (column, cell) in columns.iter().zip(cells) {
        if cell.is_empty() {
            continue;
        }
        match column.role {
            Role::Text => texts.push((column, *cell)),
            Role::Dynamic => {
                out.insert(column.name.clone(), dynamic(cell, None));
            }
            Role::Plain => insert_new(&mut out, &column.name, Value::String(cell.to_string())),
        }
    }
    for (column, cell) in texts {
        match out.get(&column.name) {
            None => {
                out.insert(column.name.clone(), Value::String(cell.to_string()));
            }
            Some(dynamic) if same_text(dynamic, cell) => {}
            Some(_) => insert_new(
                &mut out,
                &format!("{}_string", column.name),
                Value::String(cell.to_string()),
            ),
        }
    }
    out
}

/// A dynamic cell: JSON when it holds an object or an array, else the text
/// (dynamic columns also hold scalars, written as text). With `keep`, the
/// JSON is built only as far as the rules read it
/// ([`sparse::json_in_text`]).
fn dynamic(cell: &str, keep: Option<&Keep>) -> Value {
    match sparse::json_in_text(cell, keep) {
        Some(value @ (Value::Object(_) | Value::Array(_))) => value,
        _ => Value::String(cell.to_string()),
    }
}

/// Whether a text cell says what a dynamic value says.
fn same_text(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => s == text,
        other => serde_json::from_str::<Value>(text.trim()).is_ok_and(|v| v == *other),
    }
}

impl Steps for Table {
    type Item = Row;

    fn step(&mut self) -> io::Result<Option<Row>> {
        Table::step(self)
    }

    fn finished(&mut self) -> &mut bool {
        &mut self.finished
    }

    fn started_reading(&self) -> bool {
        self.offset != 0
    }

    fn read_failed(&mut self, reason: String) -> Row {
        Row::Bad {
            line: self.line,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(text: &[u8]) -> (Vec<Row>, Option<Dialect>) {
        let mut table = Table::new(Box::new(io::Cursor::new(text.to_vec())), 1 << 20);
        let mut out = Vec::new();
        while let Some(row) = table.next_row() {
            out.push(row);
        }
        (out, table.dialect())
    }

    fn summary(rows: &[Row]) -> Vec<(u64, Value)> {
        rows.iter()
            .map(|r| match r {
                Row::Object { fields, line, .. } => {
                    (*line, Value::Object(fields.clone().into_map()))
                }
                Row::AdminCenter {
                    canonical,
                    unmapped,
                    line,
                } => {
                    let mut all = canonical.clone();
                    for (k, v) in unmapped {
                        all.insert(format!("raw:{k}"), v.clone());
                    }
                    (*line, Value::Object(all))
                }
                Row::Bad { line, reason } => (*line, json!({ "bad": reason })),
            })
            .collect()
    }

    /// The cells the state machine alone finds in a row, or its error.
    fn by_state_machine(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let mut parser = RowParser::default();
        parser.core.reset();
        let (ends, used) = parser.next_record(bytes, 0, 0);
        let Some((nout, nend)) = ends else {
            return Ok(Vec::new());
        };
        if parser
            .next_record(within(bytes, used..), nout, nend)
            .0
            .is_some()
        {
            return Err("two records".into());
        }
        let cells = Cells {
            out: within(&parser.out, ..nout),
            ends: within(&parser.ends, ..nend),
        };
        Ok(cells.iter().map(<[u8]>::to_vec).collect())
    }

    #[test]
    fn plain_rows_split_as_the_state_machine_splits_them() {
        // Every row of up to six bytes from an alphabet of what matters to
        // CSV, and longer ones built from cells of each kind.
        let alphabet: &[u8] = b"a,\"\r\n\xc3";
        let mut rows: Vec<Vec<u8>> = vec![Vec::new()];
        let mut last: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|r| {
                    alphabet.iter().map(move |&b| {
                        let mut r = r.clone();
                        r.push(b);
                        r
                    })
                })
                .collect();
            rows.extend(last.iter().cloned());
        }
        let cells: [&[u8]; 7] = [
            b"",
            b"plain text",
            b"\"quoted, with a comma\"",
            b"\"{\"\"errorCode\"\": 0}\"",
            b"\"two\r\nlines\"",
            b"in\"side",
            b"\"\"",
        ];
        for a in cells {
            for b in cells {
                for c in cells {
                    for end in [&b""[..], b"\n", b"\r\n", b"\r"] {
                        rows.push([a, b",", b, b",", c, end].concat());
                    }
                }
            }
        }
        let (mut out, mut ends) = (Vec::new(), Vec::new());
        let mut plain = 0;
        for row in &rows {
            if !split_plain(row, &mut out, &mut ends) {
                continue;
            }
            plain += 1;
            let cells: Vec<Vec<u8>> = Cells {
                out: &out,
                ends: &ends,
            }
            .iter()
            .map(<[u8]>::to_vec)
            .collect();
            assert_eq!(
                Ok(cells),
                by_state_machine(row),
                "{:?}",
                String::from_utf8_lossy(row)
            );
        }
        // The usual rows take the quick way: the comparison above is not
        // of a handful of rows.
        assert!(plain > 5_000, "{plain} of {}", rows.len());
        for a in cells {
            let row = [a, b",x\r\n"].concat();
            assert!(split_plain(&row, &mut out, &mut ends), "{row:?}");
        }
    }

    #[test]
    fn log_analytics_rows_with_split_columns_and_multi_line_cells() {
        let text = "\u{feff}TimeGenerated [UTC],Status_dynamic,Status_string,Empty,Type\r\n\
            \"4/28/2021, 2:08:45.221 PM\",\"{\r\n  \"\"errorCode\"\": 0\r\n}\",,,SigninLogs\r\n\
            \"4/28/2021, 2:09:00.000 PM\",,\"{\"\"errorCode\"\":50126}\",,SigninLogs\r\n";
        let (rows, dialect) = rows(text.as_bytes());
        assert_eq!(dialect, Some(Dialect::LogAnalytics));
        assert_eq!(
            summary(&rows),
            vec![
                (
                    2,
                    json!({"TimeGenerated": "4/28/2021, 2:08:45.221 PM", "Status": {"errorCode": 0}, "Type": "SigninLogs"})
                ),
                (
                    5,
                    json!({"TimeGenerated": "4/28/2021, 2:09:00.000 PM", "Status": "{\"errorCode\":50126}", "Type": "SigninLogs"})
                ),
            ]
        );
    }

    #[test]
    fn a_text_half_that_differs_is_kept() {
        let text = "A_dynamic,A_string,B\n\"[1]\",\"[2]\",x\n\"[1]\",\"[1]\",y\n";
        let (rows, _) = rows(text.as_bytes());
        assert_eq!(
            summary(&rows),
            vec![
                (2, json!({"A": [1], "A_string": "[2]", "B": "x"})),
                (3, json!({"A": [1], "B": "y"})),
            ]
        );
    }

    #[test]
    fn admin_center_columns_map_to_graph_names() {
        let text = "Date (UTC),Request ID,Username,Location,Status,Sign-in error code,\
            Conditional Access,Compliant,Application ID ,Incoming token type,Incoming token type,Latency,\
            Authentication requirement\n\
            2025-03-02T08:11:00Z,r1,a@b.c,\"Lyon, Auvergne-Rhone-Alpes, FR\",Success,,Not Applied,Yes,app,,Primary refresh token,42,\
            Single-factor authentication\n\
            2025-03-02T08:12:00Z,r2,a@b.c,\"Somewhere far\",Failure,50126,Failure,No,app,None,Refresh token,,\n";
        let (rows, dialect) = rows(text.as_bytes());
        assert_eq!(dialect, Some(Dialect::AdminCenter));
        assert_eq!(
            summary(&rows),
            vec![
                (
                    2,
                    json!({
                        "createdDateTime": "2025-03-02T08:11:00Z",
                        "id": "r1",
                        "userPrincipalName": "a@b.c",
                        "location": {"city": "Lyon", "state": "Auvergne-Rhone-Alpes", "countryOrRegion": "FR"},
                        "status": {"errorCode": 0},
                        "conditionalAccessStatus": "notApplied",
                        "deviceDetail": {"isCompliant": true},
                        "appId": "app",
                        "incomingTokenType": "primaryRefreshToken",
                        "authenticationRequirement": "singleFactorAuthentication",
                        "raw:Status": "Success",
                        "raw:Latency": "42",
                    })
                ),
                (
                    3,
                    json!({
                        "createdDateTime": "2025-03-02T08:12:00Z",
                        "id": "r2",
                        "userPrincipalName": "a@b.c",
                        "status": {"errorCode": "50126"},
                        "conditionalAccessStatus": "failure",
                        "deviceDetail": {"isCompliant": false},
                        "appId": "app",
                        "incomingTokenType": "none",
                        "raw:Location": "Somewhere far",
                        "raw:Status": "Failure",
                        "raw:Incoming token type (2)": "Refresh token",
                    })
                ),
            ]
        );
    }

    #[test]
    fn bad_rows_are_reported_and_reading_goes_on() {
        let mut text = b"A,B\n1,2\n1,2,3\nx,\xff\n\"never closed,4\n5,6\n7,8\n".to_vec();
        text.extend_from_slice(b"9,10");
        let (rows, _) = rows(&text);
        assert_eq!(
            summary(&rows),
            vec![
                (2, json!({"A": "1", "B": "2"})),
                (3, json!({"bad": "row has 3 cells where the header has 2"})),
                (
                    4,
                    json!({"bad": "invalid UTF-8 in column `B` (byte 1 of the cell)"})
                ),
                (
                    5,
                    json!({"bad": "a quote opened in this row is never closed"})
                ),
                (6, json!({"A": "5", "B": "6"})),
                (7, json!({"A": "7", "B": "8"})),
                (8, json!({"A": "9", "B": "10"})),
            ]
        );
    }

    #[test]
    fn oversized_rows_are_not_buffered() {
        let mut text = b"A,B\n".to_vec();
        text.extend_from_slice(b"\"");
        text.extend(std::iter::repeat_n(b'x', 4096));
        text.extend_from_slice(b"\",1\n2,3\n");
        let mut table = Table::new(Box::new(io::Cursor::new(text)), 1024);
        let mut out = Vec::new();
        while let Some(row) = table.next_row() {
            out.push(row);
        }
        assert_eq!(
            summary(&out),
            vec![
                (2, json!({"bad": "row is larger than 1024 bytes"})),
                (3, json!({"A": "2", "B": "3"})),
            ]
        );
    }

    #[test]
    fn headers_are_told_from_other_text() {
        assert!(looks_like_header(
            b"\xEF\xBB\xBFTenantId,TimeGenerated [UTC]\r\n"
        ));
        assert!(looks_like_header(b"\"Date (UTC)\",\"Request ID\"\n"));
        assert!(!looks_like_header(b"{\"a\": 1, \"b\": 2}\n"));
        assert!(!looks_like_header(b"just one column\n"));
        assert!(!looks_like_header(b"a,,b\n"));
        assert!(!looks_like_header(b"a,\xff\n"));
    }
}
