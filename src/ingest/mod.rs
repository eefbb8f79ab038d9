//! Ingest: detects the shape of each log file and of each record in it,
//! streams records in constant memory, and normalizes each to the canonical
//! [`Record`] with its [`Location`].
//!
//! (Interface placeholder: the readers land in the following commits.)

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::finding::Problem;
use crate::record::{Location, Record};

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

/// Streams the records of one input.
pub struct Reader {
    _private: (),
}

impl Reader {
    /// The shape(s) detected so far, such as `jsonl` or `graph-page`.
    pub fn format(&self) -> String {
        String::new()
    }
}

impl Iterator for Reader {
    type Item = Item;
    fn next(&mut self) -> Option<Item> {
        None
    }
}

/// Opens a file (gzip-compressed or not) for reading; `display` is the path
/// as reports should show it.
pub fn open(_path: &Path, _display: Arc<str>) -> io::Result<Reader> {
    Err(io::Error::other("not implemented"))
}

/// Reads records from any byte stream (standard input, a test buffer).
pub fn from_reader(_display: Arc<str>, _reader: Box<dyn Read + Send>) -> Reader {
    Reader { _private: () }
}

/// Normalizes one record object, in any shape, to the canonical view.
pub fn normalize(_value: Value) -> Result<Record, String> {
    Err("not implemented".into())
}

/// Expands paths into inputs: files as given, directories walked in sorted
/// order. Returns the inputs and the files passed over, with why.
pub fn discover(_paths: &[PathBuf]) -> (Vec<Input>, Vec<Problem>) {
    (Vec::new(), Vec::new())
}
