//! Parsing one framed record: takes its bytes (and the rules' [`Keep`])
//! and gives its object, or the reason it cannot be read, with its
//! position in the file.

use serde_json::Value;

use super::Start;
use crate::ingest::error::ReadError;
use crate::ingest::markers::KeyCounts;
use crate::ingest::sparse::{self, Keep, Parsed};
use crate::record::Fields;

/// Parses a record, keeping only the keys `keep` wants when given.
pub(super) fn parse(
    bytes: &[u8],
    keep: Option<&Keep>,
) -> serde_json::Result<(Parsed, Option<KeyCounts>)> {
    match keep {
        Some(keep) => sparse::parse(bytes, keep),
        None => serde_json::from_slice::<Value>(bytes).map(|v| (v.into(), None)),
    }
}

/// Parses a [`super::Frame::Unparsed`] record: its object (with the key counts when
/// `keep` skipped some), or why it cannot be read.
pub(crate) fn parse_record(
    bytes: &[u8],
    start: Start,
    keep: Option<&Keep>,
) -> Result<(Fields, Option<KeyCounts>), ReadError> {
    match parse(bytes, keep) {
        Ok((Parsed::Object(fields), counts)) => Ok((fields, counts)),
        Ok((Parsed::Other(other), _)) => Err(ReadError::NotAnObject(value_kind(&other))),
        Err(e) => Err(ReadError::Json(json_error(&e, start))),
    }
}

/// A `serde_json` error as a reason, with the position in the file.
pub(super) fn json_error(e: &serde_json::Error, start: Start) -> String {
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
