//! A record's kept fields, compactly: what a finding of a rule over many
//! records may show of each record that takes part, held from the record's
//! reading to the end of the run, so every byte counts.
//!
//! Each field is a key, by its index in the run's table of kept names (or
//! written out when the record spells it otherwise), then its value: a GUID
//! in 16 bytes, the record's own time as nothing (it is the event time),
//! other text as its bytes, numbers in 8 bytes (bit for bit), lists and
//! objects element by element. A generated
//! sign-in's ten identity fields take about 190 bytes, against about 450 as
//! JSON text and over a kilobyte as a map of values.
//!
//! When a rule travels, the record's coordinates come first, as a tag and
//! two numbers (17 bytes), read back without decoding the fields: travel
//! compares them pair by pair, and needs nothing else of `location`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::ticks::format_ticks;
use crate::compile::travel::Point;
use crate::window::Ticks;

/// The names a run keeps, shared by every record's kept part.
pub type KeyTable = Arc<[Box<str>]>;

const GUID: u8 = 1;
const TEXT: u8 = 2;
const TIME: u8 = 3;
const NULL: u8 = 4;
const FALSE: u8 = 5;
const TRUE: u8 = 6;
const INT: u8 = 7;
const UINT: u8 = 8;
const FLOAT: u8 = 9;
const LIST: u8 = 10;
const OBJECT: u8 = 11;
/// A key written out, not an index.
const NAMED: u8 = u8::MAX;
/// At the start only: the record's coordinates follow, latitude then
/// longitude, 8 bytes each. No key is numbered this.
const COORDINATES: u8 = u8::MAX - 1;
/// Deeper values than this are not read back (ingest bounds records far
/// below; the bound keeps a damaged buffer from recursing without end).
const MAX_DEPTH: usize = 1024;

/// Encodes `fields` of a record whose event time is `time`, and its
/// coordinates when a rule travels. Every value reads back exactly,
/// numbers bit for bit.
pub(super) fn encode<'v>(
    fields: impl IntoIterator<Item = (&'v str, &'v Value)>,
    keys: &[Box<str>],
    time: Ticks,
    point: Option<Point>,
) -> Box<[u8]> {
    let mut out = Vec::with_capacity(192);
    if let Some(p) = point {
        out.push(COORDINATES);
        out.extend_from_slice(&p.lat.to_bits().to_le_bytes());
        out.extend_from_slice(&p.lon.to_bits().to_le_bytes());
    }
    // The record's time, as text, only when a time field asks for it.
    let mut time_text: Option<String> = None;
    for (key, value) in fields {
        match keys.iter().position(|k| **k == *key) {
            Some(i) if i < usize::from(COORDINATES) => out.push(i as u8),
            _ => {
                out.push(NAMED);
                put_bytes(&mut out, key.as_bytes());
            }
        }
        match value {
            Value::String(s)
                if matches!(key, "createdDateTime" | "timeGenerated")
                    && *s == *time_text.get_or_insert_with(|| format_ticks(time)) =>
            {
                out.push(TIME);
            }
            other => put_value(&mut out, other),
        }
    }
    out.into_boxed_slice()
}

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(UINT);
                out.extend_from_slice(&u.to_le_bytes());
            } else if let Some(i) = n.as_i64() {
                out.push(INT);
                out.extend_from_slice(&i.to_le_bytes());
            } else {
                out.push(FLOAT);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_bits().to_le_bytes());
            }
        }
        Value::String(s) => match guid_bytes(s) {
            Some(g) => {
                out.push(GUID);
                out.extend_from_slice(&g);
            }
            None => {
                out.push(TEXT);
                put_bytes(out, s.as_bytes());
            }
        },
        Value::Array(items) => {
            out.push(LIST);
            let n = put_len(out, items.len());
            for item in items.iter().take(n) {
                put_value(out, item);
            }
        }
        Value::Object(map) => {
            out.push(OBJECT);
            let n = put_len(out, map.len());
            for (k, v) in map.iter().take(n) {
                put_bytes(out, k.as_bytes());
                put_value(out, v);
            }
        }
    }
}

/// The coordinates [`encode`] wrote, if it did.
pub(super) fn point(bytes: &[u8]) -> Option<Point> {
    let (&COORDINATES, rest) = bytes.split_first()? else {
        return None;
    };
    let (lat, rest) = rest.split_first_chunk::<8>()?;
    let (lon, _) = rest.split_first_chunk::<8>()?;
    Some(Point {
        lat: f64::from_bits(u64::from_le_bytes(*lat)),
        lon: f64::from_bits(u64::from_le_bytes(*lon)),
    })
}

/// The fields [`encode`] wrote. A malformed buffer (which `encode` never
/// writes) gives the fields read before the damage.
pub(super) fn decode(mut bytes: &[u8], keys: &[Box<str>], time: Ticks) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some((&COORDINATES, rest)) = bytes.split_first() {
        bytes = rest.get(16..).unwrap_or_default();
    }
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
        let value = match bytes.split_first() {
            Some((&TIME, rest)) => {
                bytes = rest;
                Value::String(format_ticks(time))
            }
            _ => match take_value(&mut bytes, 0) {
                Some(v) => v,
                None => break,
            },
        };
        out.insert(key, value);
    }
    out
}

fn take_value(bytes: &mut &[u8], depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (&tag, rest) = bytes.split_first()?;
    *bytes = rest;
    let mut eight = || -> Option<[u8; 8]> {
        let (b, rest) = bytes.split_first_chunk::<8>()?;
        *bytes = rest;
        Some(*b)
    };
    Some(match tag {
        NULL => Value::Null,
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        UINT => Value::from(u64::from_le_bytes(eight()?)),
        INT => Value::from(i64::from_le_bytes(eight()?)),
        FLOAT => Value::Number(serde_json::Number::from_f64(f64::from_bits(
            u64::from_le_bytes(eight()?),
        ))?),
        GUID => {
            let (g, rest) = bytes.split_first_chunk::<16>()?;
            *bytes = rest;
            Value::String(guid_text(g))
        }
        TEXT => Value::String(String::from_utf8_lossy(take_bytes(bytes)?).into_owned()),
        LIST => {
            let n = take_len(bytes)?;
            let mut items = Vec::with_capacity(n.min(bytes.len()));
            for _ in 0..n {
                items.push(take_value(bytes, depth + 1)?);
            }
            Value::Array(items)
        }
        OBJECT => {
            let n = take_len(bytes)?;
            let mut map = Map::new();
            for _ in 0..n {
                let k = String::from_utf8_lossy(take_bytes(bytes)?).into_owned();
                map.insert(k, take_value(bytes, depth + 1)?);
            }
            Value::Object(map)
        }
        _ => return None,
    })
}

/// A length in 4 bytes. Lengths past u32 cannot come from one record
/// (ingest bounds records far below); they are cut rather than trusted.
pub(super) fn put_len(out: &mut Vec<u8>, len: usize) -> usize {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    len as usize
}

pub(super) fn take_len(bytes: &mut &[u8]) -> Option<usize> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    *bytes = rest;
    Some(u32::from_le_bytes(*len) as usize)
}

pub(super) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = put_len(out, bytes.len());
    out.extend_from_slice(bytes.get(..len).unwrap_or(bytes));
}

pub(super) fn take_bytes<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = take_len(bytes)?;
    let (value, rest) = bytes.split_at_checked(len)?;
    *bytes = rest;
    Some(value)
}

/// The 16 bytes of a GUID written in lower case with hyphens, the one
/// spelling that reads back the same.
fn guid_bytes(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b.get(i) != Some(&b'-')) {
        return None;
    }
    // The 32 digits between the hyphens; a fifth hyphen leaves 31.
    let mut digits = b.iter().filter(|&&c| c != b'-').map(|&c| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    });
    let mut out = [0u8; 16];
    for byte in &mut out {
        *byte = digits.next()?? << 4 | digits.next()??;
    }
    Some(out)
}

fn guid_text(g: &[u8; 16]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, byte) in g.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        for nibble in [byte >> 4, byte & 0xf] {
            s.extend(DIGITS.get(usize::from(nibble)).map(|&d| char::from(d)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(fields: &Map<String, Value>) -> impl Iterator<Item = (&str, &Value)> {
        fields.iter().map(|(k, v)| (k.as_str(), v))
    }

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
        let bytes = encode(pairs(&fields), &keys, time, None);
        // Smaller than the JSON text (270 bytes here): GUIDs and the time
        // make up for the lengths of text and lists.
        let json = serde_json::to_vec(&fields).unwrap_or_default().len();
        assert!(bytes.len() < json, "{} of {json}", bytes.len());
        assert_eq!(decode(&bytes, &keys, time), fields);
        // Cut anywhere, it never panics and keeps what came before.
        for cut in 0..bytes.len() {
            let part = decode(bytes.get(..cut).unwrap_or_default(), &keys, time);
            assert!(part.len() <= fields.len());
        }
    }

    /// Numbers are kept as their bits, not as text parsed back (serde_json
    /// reads some 17-digit doubles one unit off unless a feature only the
    /// tests enable is on).
    #[test]
    fn numbers_and_nested_values_read_back_bit_for_bit() {
        let keys: Vec<Box<str>> = vec![Box::from("location")];
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut doubles = Vec::new();
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = f64::from_bits(x);
            if d.is_finite() {
                doubles.push(d);
            }
        }
        doubles.extend([21.877423353265442, -0.0, 5e-324, 1e300]);
        for d in doubles {
            let value = json!({
                "geoCoordinates": { "latitude": d, "longitude": [d, -1, u64::MAX, i64::MIN] },
                "city": null, "ok": true,
            });
            let mut fields = Map::new();
            fields.insert("location".into(), value.clone());
            let bytes = encode(pairs(&fields), &keys, 0, None);
            let back = decode(&bytes, &keys, 0);
            let lat = back
                .get("location")
                .and_then(|l| l.pointer("/geoCoordinates/latitude"))
                .and_then(Value::as_f64);
            assert_eq!(lat.map(f64::to_bits), Some(d.to_bits()), "{d:e}");
            assert_eq!(back.get("location"), Some(&value));
        }
        // A number is its tag and 8 bytes, never text.
        let mut one = Map::new();
        one.insert("location".into(), json!(21.877423353265442));
        assert_eq!(encode(pairs(&one), &keys, 0, None).len(), 1 + 1 + 8);
    }

    /// Coordinates come first and read back bit for bit without the
    /// fields; the fields read back as without them; a key numbered like
    /// the coordinates' tag is written out instead.
    #[test]
    fn coordinates_read_back_apart_from_the_fields() {
        let keys: Vec<Box<str>> = (0..300).map(|i| format!("k{i}").into()).collect();
        let mut fields = Map::new();
        for name in ["k0", "k253", "k254", "k299"] {
            fields.insert(name.into(), json!(name));
        }
        let p = Point {
            lat: -33.868_800_000_000_01,
            lon: 151.209_3,
        };
        let with = encode(pairs(&fields), &keys, 0, Some(p));
        let without = encode(pairs(&fields), &keys, 0, None);
        assert_eq!(with.len(), without.len() + 17);
        assert_eq!(point(&with), Some(p));
        assert_eq!(point(&without), None);
        assert_eq!(decode(&with, &keys, 0), fields);
        assert_eq!(decode(&without, &keys, 0), fields);
        for cut in 0..with.len() {
            let part = with.get(..cut).unwrap_or_default();
            assert!(decode(part, &keys, 0).len() <= fields.len());
            assert!(point(part).is_none_or(|q| q == p));
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
        // A hyphen for a digit, a digit for a hyphen, one digit short, one
        // too many.
        for other in [
            "e977fbf6-1623-4915-8182-7273c9e961d-",
            "e977fbf6-1623-4915-8182-7273c9e96-d0",
            "e977fbf6-1623-4915-818207273c9e961d0",
            "e977fbf6-1623-4915-8182-7273c9e961d",
            "e977fbf6-1623-4915-8182-7273c9e961d00",
            "e977fbf6-1623-4915-8182-7273c9e961dg",
        ] {
            assert!(guid_bytes(other).is_none(), "{other}");
        }
        // Every byte value reads back through its text.
        for n in 0..=255u8 {
            let g = [
                n,
                !n,
                n ^ 0x5a,
                n.rotate_left(3),
                0,
                0xff,
                n,
                n,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                n,
            ];
            let text = guid_text(&g);
            assert_eq!(guid_bytes(&text), Some(g), "{text}");
            assert_eq!(text.len(), 36);
        }
    }
}
