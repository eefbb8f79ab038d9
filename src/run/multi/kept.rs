//! A record's kept fields, compactly: what a finding of a rule over many
//! records may show of each record that takes part, held from the record's
//! reading to the end of the run, so every byte counts.
//!
//! Each field is a key, by its index in the run's table of kept names (or
//! written out when the record spells it otherwise), then its value: a GUID
//! in 16 bytes, the record's own time as nothing (it is the event time),
//! other text as its bytes, anything else as JSON text. A generated
//! sign-in's ten identity fields take about 190 bytes, against about 450 as
//! JSON text and over a kilobyte as a map of values.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::ticks::format_ticks;
use crate::window::Ticks;

/// The names a run keeps, shared by every record's kept part.
pub type KeyTable = Arc<[Box<str>]>;

const JSON: u8 = 0;
const GUID: u8 = 1;
const TEXT: u8 = 2;
const TIME: u8 = 3;
/// A key written out, not an index.
const NAMED: u8 = u8::MAX;

/// Encodes `fields` of a record whose event time is `time`.
pub(super) fn encode(fields: &Map<String, Value>, keys: &[Box<str>], time: Ticks) -> Box<[u8]> {
    let mut out = Vec::with_capacity(192);
    // The record's time, as text, only when a time field asks for it.
    let mut time_text: Option<String> = None;
    for (key, value) in fields {
        match keys.iter().position(|k| **k == **key) {
            Some(i) if i < usize::from(NAMED) => out.push(i as u8),
            _ => {
                out.push(NAMED);
                put_bytes(&mut out, key.as_bytes());
            }
        }
        match value {
            Value::String(s)
                if matches!(key.as_str(), "createdDateTime" | "timeGenerated")
                    && *s == *time_text.get_or_insert_with(|| format_ticks(time)) =>
            {
                out.push(TIME)
            }
            Value::String(s) => match guid_bytes(s) {
                Some(g) => {
                    out.push(GUID);
                    out.extend_from_slice(&g);
                }
                None => {
                    out.push(TEXT);
                    put_bytes(&mut out, s.as_bytes());
                }
            },
            other => {
                out.push(JSON);
                put_bytes(&mut out, other.to_string().as_bytes());
            }
        }
    }
    out.into_boxed_slice()
}

/// The fields [`encode`] wrote. A malformed buffer (which `encode` never
/// writes) gives the fields read before the damage.
pub(super) fn decode(mut bytes: &[u8], keys: &[Box<str>], time: Ticks) -> Map<String, Value> {
    let mut out = Map::new();
    while let Some((&k, rest)) = bytes.split_first() {
        bytes = rest;
        let key = if k == NAMED {
            let Some(name) = take_bytes(&mut bytes) else {
                break;
            };
            String::from_utf8_lossy(name).into_owned()
        } else {
            match keys.get(usize::from(k)) {
                Some(name) => name.to_string(),
                None => break,
            }
        };
        let Some((&tag, rest)) = bytes.split_first() else {
            break;
        };
        bytes = rest;
        let value = match tag {
            TIME => Value::String(format_ticks(time)),
            GUID => {
                let Some((g, rest)) = bytes.split_first_chunk::<16>() else {
                    break;
                };
                bytes = rest;
                Value::String(guid_text(g))
            }
            TEXT => match take_bytes(&mut bytes) {
                Some(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                None => break,
            },
            _ => match take_bytes(&mut bytes).and_then(|t| serde_json::from_slice(t).ok()) {
                Some(v) => v,
                None => break,
            },
        };
        out.insert(key, value);
    }
    out
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths past u32 cannot come from one record (ingest bounds records
    // far below); they are cut rather than trusted.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes.get(..len as usize).unwrap_or(bytes));
}

fn take_bytes<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    let (value, rest) = rest.split_at_checked(len)?;
    *bytes = rest;
    Some(value)
}

/// The 16 bytes of a GUID written in lower case with hyphens, the one
/// spelling that reads back the same.
fn guid_bytes(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut high = None;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        match high.take() {
            None => high = Some(v),
            Some(h) => {
                *out.get_mut(n)? = h << 4 | v;
                n += 1;
            }
        }
    }
    Some(out)
}

fn guid_text(g: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in g.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_back_as_written() {
        let time = crate::run::multi::parse_ticks("2025-03-01T10:20:30.1234567Z").unwrap_or(0);
        let keys: Vec<Box<str>> = [
            "id",
            "createdDateTime",
            "ipAddress",
            "status",
            "userId",
            "timeGenerated",
        ]
        .into_iter()
        .map(Box::from)
        .collect();
        let fields = json!({
            "id": "e977fbf6-1623-4915-8182-7273c9e961d0",
            "createdDateTime": "2025-03-01T10:20:30.1234567Z",
            "ipAddress": "203.0.113.7",
            "status": { "errorCode": 50126 },
            "userId": "E977FBF6-1623-4915-8182-7273C9E961D0",
            "RawName": ["a", 1, null],
            "empty": "",
            "timeGenerated": "2025-03-01T10:20:30Z",
        });
        let Value::Object(fields) = fields else {
            unreachable!()
        };
        let bytes = encode(&fields, &keys, time);
        // Smaller than the JSON text (about 330 bytes here) by a third.
        let json = serde_json::to_vec(&fields).unwrap_or_default().len();
        assert!(bytes.len() * 3 < json * 2, "{} of {json}", bytes.len());
        assert_eq!(decode(&bytes, &keys, time), fields);
        // Cut anywhere, it never panics and keeps what came before.
        for cut in 0..bytes.len() {
            let part = decode(bytes.get(..cut).unwrap_or_default(), &keys, time);
            assert!(part.len() <= fields.len());
        }
    }

    #[test]
    fn only_the_canonical_guid_spelling_is_packed() {
        assert!(guid_bytes("e977fbf6-1623-4915-8182-7273c9e961d0").is_some());
        assert!(guid_bytes("E977FBF6-1623-4915-8182-7273C9E961D0").is_none());
        assert!(guid_bytes("e977fbf6a1623-4915-8182-7273c9e961d0").is_none());
        assert!(guid_bytes("{977fbf6-1623-4915-8182-7273c9e961d0").is_none());
        let g = guid_bytes("00000003-0000-0000-c000-000000000000").unwrap_or_default();
        assert_eq!(guid_text(&g), "00000003-0000-0000-c000-000000000000");
    }
}
