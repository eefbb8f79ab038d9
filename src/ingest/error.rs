//! Ingest errors: takes what went wrong reading or normalizing a record and
//! gives it as a typed error whose `Display` is the reason reports print.

use std::error::Error;
use std::fmt;

/// Why a value cannot be normalized into a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NormalizeError {
    /// The value is not a JSON object; holds what it is instead (`null`,
    /// `a string`, `an array`, ...).
    NotAnObject(&'static str),
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NormalizeError::NotAnObject(kind) => {
                write!(f, "record is not a JSON object but {kind}")
            }
        }
    }
}

impl Error for NormalizeError {}

/// An input format name that is none of `auto`, `jsonl`, `json`,
/// `ndjson` or `csv`; holds the name as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownInputFormat(pub String);

impl fmt::Display for UnknownInputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown input format `{}`: auto, jsonl, json or csv",
            self.0
        )
    }
}

impl Error for UnknownInputFormat {}

/// Why one record (a JSON record or a CSV row) cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The record is JSON but not an object.
    NotAnObject(&'static str),
    /// The record is not valid JSON; holds the reason with its position
    /// in the file (see `frame::json_error`).
    Json(String),
    /// A CSV row holds a carriage return outside quotes, which the `csv`
    /// crate takes for the end of a record.
    CarriageReturn,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotAnObject(kind) => NormalizeError::NotAnObject(kind).fmt(f),
            ReadError::Json(reason) => f.write_str(reason),
            ReadError::CarriageReturn => {
                f.write_str("a carriage return outside quotes splits the row")
            }
        }
    }
}

impl Error for ReadError {}
