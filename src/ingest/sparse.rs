//! Selective parsing: reads a record's JSON but builds values only for the
//! keys some rule (or the finding, or normalization itself) can read; the
//! rest is checked as a full parse checks it but never stored.
//!
//! A key is kept when its name, ignoring case, is any name or alias of a
//! wanted catalog field (in either catalog), a key a rule reaches through
//! `raw.`, or a key normalization looks at to tell the shape and the log;
//! below an object field, only the keys the rules' paths go through are
//! kept. Normalization then maps the same keys it would have mapped from the
//! whole record. What could still tell the two apart is handled by reading
//! the record in full: keys that may repeat (detection counts distinct
//! keys), text that is not UTF-8. `tests/differential.rs` compares both ways
//! on generated, bundled, real and hand-made broken records.

mod memo;

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use self::memo::{Action, Memo, Tally};
use super::markers::{self, KeyCounts};
use crate::catalog::{Field, GRAPH_ACTIVITY, Kind, SIGN_IN};
use crate::fold::FoldedKeys;
use crate::record::Fields;

/// The keys of a record worth parsing, compared ignoring ASCII case, and
/// for each, whether its whole value is needed or only some keys of the
/// object (or of each object of the list) below it.
#[derive(Debug, Clone)]
pub struct Keep {
    keys: FoldedKeys<Below>,
    /// A rule reads `raw.properties`: a record's `properties` is read
    /// whole.
    raw_properties: bool,
    /// Tells this keep (and its clones) from any other in the
    /// [`memo::Memo`] of the last record's keys, which holds indexes
    /// into `keys`: the keys of a record's keep ([`Keep::new`]) are only
    /// added while it is built. (A keep below a key may share the id of
    /// another it was cloned from and merged into; those are never given
    /// to the memo.)
    id: u64,
}

impl Default for Keep {
    fn default() -> Keep {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Keep {
            keys: FoldedKeys::default(),
            raw_properties: false,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl PartialEq for Keep {
    /// The same keys, kept the same way.
    fn eq(&self, other: &Keep) -> bool {
        self.keys == other.keys && self.raw_properties == other.raw_properties
    }
}

/// What of a kept key's value is needed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Below {
    /// All of it.
    Whole,
    /// Only these keys of the object (or of each object of the list).
    Some(Keep),
}

impl Keep {
    /// The keys to keep for records whose rules read the canonical `paths`
    /// (`["status", "errorCode"]`; a path of one segment reads the whole
    /// field) and the uncatalogued keys `raw` (the first segment of each
    /// `raw.` path).
    pub fn new<'a>(
        paths: impl IntoIterator<Item = &'a [String]>,
        raw: impl IntoIterator<Item = &'a str>,
    ) -> Keep {
        let mut keep = Keep::default();
        for name in markers::always() {
            keep.add(name, Below::Whole);
        }
        for name in raw {
            keep.raw_properties |= name.eq_ignore_ascii_case(markers::PROPERTIES);
            keep.add(name, Below::Whole);
        }
        for path in paths {
            let Some((first, rest)) = path.split_first() else {
                continue;
            };
            // Envelope keys fill in scalars: an object under one (the
            // Graph `location`) needs only what the path needs.
            for key in markers::envelope_keys_for(first) {
                keep.add(key, Below::Some(Keep::default()));
            }
            keep.add_path(&[SIGN_IN, GRAPH_ACTIVITY], first, rest);
        }
        keep
    }

    /// Keeps `name` and its aliases in any of `catalogs` (one per log, or
    /// the children of one field), with what `rest` needs below.
    fn add_path(&mut self, catalogs: &[&'static [Field]], name: &str, rest: &[String]) {
        let mut found = false;
        for field in catalogs
            .iter()
            .flat_map(|c| c.iter())
            .filter(|f| f.name == name)
        {
            found = true;
            let below = match (rest.split_first(), field.kind) {
                (None, _) | (Some(_), Kind::Dynamic) => Below::Whole,
                // An object field the catalog describes is read in part.
                (Some((next, rest)), Kind::Object(children)) => {
                    let mut keep = Keep::default();
                    keep.add_path(&[children], next, rest);
                    Below::Some(keep)
                }
                // A path below a scalar is another log's field of the
                // same name (the Graph activity `location` is text): the
                // scalar is read whole all the same.
                (Some(_), _) => Below::Some(Keep::default()),
            };
            for key in std::iter::once(&field.name).chain(field.aliases) {
                self.add(key, below.clone());
            }
            // Flat aliases of the children (`Location` for
            // `location.countryOrRegion`) hold scalars, read whole; the
            // same key in another case may be the object itself, which
            // needs only what the path needs.
            if !field.list {
                for alias in field.children().iter().flat_map(|c| c.aliases) {
                    self.add(alias, Below::Some(Keep::default()));
                }
            }
        }
        if !found {
            self.add(name, Below::Whole);
        }
    }

    /// Keeps `name` (any case) with `below`, merged with what is kept of
    /// it already.
    fn add(&mut self, name: &str, below: Below) {
        match self.keys.get_mut(name.as_bytes()) {
            None => self.keys.insert_new(name, below),
            Some(slot) => match (slot, below) {
                (Below::Some(old), Below::Some(new)) => {
                    for (key, below) in new.keys.into_entries() {
                        old.add(&key, below);
                    }
                }
                (slot, Below::Whole) => *slot = Below::Whole,
                (Below::Whole, Below::Some(_)) => {}
            },
        }
    }

    /// Whether a key read from a record is kept.
    pub fn wants(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// What is kept of a key read from a record, if anything.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&Below> {
        self.keys.get(key.as_bytes())
    }

    /// The index of a key read from a record among the kept, if kept.
    #[inline]
    fn index(&self, key: &str) -> Option<usize> {
        self.keys.find(key.as_bytes())
    }

    /// What is kept of the key of this index.
    #[inline]
    fn at(&self, index: usize) -> Option<&Below> {
        self.keys.at(index)
    }
}

/// Parses one JSON value: an object keeps only the keys `keep` wants
/// (nested `properties` objects too) and gives the counts of all its
/// keys; any other value is checked and given back as an empty value of
/// its kind.
///
/// Skipped values are checked as strictly as a full parse checks them
/// (escapes, number range, nesting depth, UTF-8), so a record is readable
/// exactly when a full parse reads it. A record whose keys may repeat, or
/// that is not valid UTF-8, is parsed in full instead and comes back with
/// no counts, as the full parse would give it.
pub(crate) fn parse(bytes: &[u8], keep: &Keep) -> serde_json::Result<(Parsed, Option<KeyCounts>)> {
    // Checking the UTF-8 of the whole record at once is cheaper than
    // string by string.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return serde_json::from_slice::<Value>(bytes).map(|v| (v.into(), None));
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Top { keep }.deserialize(&mut de)?;
    de.end()?;
    match parsed {
        (value, counts, false) => Ok((value, Some(counts))),
        // Repeated keys collapse in a full parse (the last one wins), and
        // detection counts them once: read the record as it does.
        (_, _, true) => serde_json::from_str::<Value>(text).map(|v| (v.into(), None)),
    }
}

/// A record as parsed: the fields of an object, or another JSON value
/// (which is no record).
#[derive(Debug)]
pub(crate) enum Parsed {
    /// An object's keys and values.
    Object(Fields),
    /// Any other value.
    Other(Value),
}

impl From<Value> for Parsed {
    fn from(value: Value) -> Parsed {
        match value {
            Value::Object(map) => Parsed::Object(map.into()),
            other => Parsed::Other(other),
        }
    }
}

/// The value of JSON text held in a string (a Log Analytics dynamic
/// column written as text): `None` unless the text, blanks aside, starts
/// with `{` or `[` and parses. With `keep`, only what it wants is built
/// ([`parse_part`]).
pub(crate) fn json_in_text(text: &str, keep: Option<&Keep>) -> Option<Value> {
    let text = text.trim();
    if !text.starts_with(['{', '[']) {
        return None;
    }
    match keep {
        Some(keep) => parse_part(text, keep),
        None => serde_json::from_str(text),
    }
    .ok()
}

/// Parses JSON text held in a string (a Log Analytics dynamic column
/// written as text): of an object, or of each object of a list, only the
/// keys `keep` wants are built. It reads exactly when a full parse reads
/// it, and builds the same values where it builds them.
fn parse_part(text: &str, keep: &Keep) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Part {
        keep,
        whole_elements: false,
        known: None,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The seed of a record: its value, the counts of its keys, and whether a
/// key may repeat.
#[derive(Clone, Copy)]
struct Top<'k> {
    keep: &'k Keep,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = (Parsed, KeyCounts, bool);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = (Parsed, KeyCounts, bool);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let (entries, counts, repeated) = Memo::with(|memo| record(map, self.keep, memo))?;
        let fields = if repeated {
            // Read again in full (see `parse`).
            Fields::default()
        } else {
            Fields::from_unique(entries)
        };
        Ok((Parsed::Object(fields), counts, repeated))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(other(Value::Array(Vec::new())))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(other(Value::String(String::new())))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(other(Value::Bool(b)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(other(Value::from(n)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(other(Value::from(n)))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(other(Value::from(n)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(other(Value::Null))
    }
}

/// What [`Top`] gives for a value other than an object.
fn other(value: Value) -> (Parsed, KeyCounts, bool) {
    (Parsed::Other(value), KeyCounts::default(), false)
}

/// The keys a record keeps and their values, in the order read.
type Entries = Vec<(String, Value)>;

/// Reads the object at the top of a record: keeps what `keep` wants and
/// counts every key; gives also whether a key may repeat. Its keys are
/// compared with those of the last record (`memo`) while they are the
/// same, and looked up, tallied and remembered from the first that differs.
fn record<'de, A: MapAccess<'de>>(
    mut map: A,
    keep: &Keep,
    memo: &mut Memo,
) -> Result<(Entries, KeyCounts, bool), A::Error> {
    let mut out = Vec::new();
    let mut tally = Tally::default();
    // Whether the keys read so far are the memo's first `at`.
    let mut following = memo.start(keep);
    let mut at = 0;
    // Whether the `properties` object holds a field, told by the keys
    // read there, kept or not.
    let properties_known = Cell::new(false);
    while let Some(Key(key)) = map.next_key()? {
        let action = match memo.get(at) {
            Some((same, action)) if following && same == key => action,
            _ => {
                if following {
                    following = false;
                    memo.diverge(at, &mut tally);
                }
                tally.add(&key);
                let action = Action::of(&key, keep);
                memo.push(&key, action, &tally);
                action
            }
        };
        at += 1;
        let value = match action {
            // An object holds the fields of a diagnostic record, read with
            // the record's own keep; anything else (JSON text, as some
            // pipelines write it) is read whole, for normalization to look
            // into; so is all of it when a rule reads `raw.properties`.
            Action::Properties if keep.raw_properties => map.next_value::<Value>()?,
            Action::Properties => map.next_value_seed(Part {
                keep,
                whole_elements: true,
                known: Some(&properties_known),
            })?,
            // The same read as in `object`, written out in both: this is
            // the innermost loop of reading, and a shared function measured
            // a few percent slower (bench/compare.sh, one thread).
            Action::Kept(index) => match keep.at(index) {
                Some(Below::Whole) => map.next_value::<Value>()?,
                Some(Below::Some(keep)) => map.next_value_seed(Part {
                    keep,
                    whole_elements: false,
                    known: None,
                })?,
                None => {
                    map.next_value::<Checked>()?;
                    continue;
                }
            },
            Action::Skip => {
                map.next_value::<Checked>()?;
                continue;
            }
        };
        out.push((key.into_owned(), value));
    }
    let mut counts = if following && memo.is_all(at) {
        memo.counts()
    } else {
        if following {
            // The record ended before the memo's keys did.
            memo.diverge(at, &mut tally);
        }
        memo.finish(&tally);
        tally.counts
    };
    counts.known = counts.known || properties_known.get();
    Ok((out, counts, tally.seen.maybe_repeated))
}

/// Reads an object inside a record, keeping what `keep` wants; sets
/// `known` when one of its keys, kept or not, names a field (a diagnostic
/// record's `properties`).
fn object<'de, A: MapAccess<'de>>(
    mut map: A,
    keep: &Keep,
    known: Option<&Cell<bool>>,
) -> Result<Map<String, Value>, A::Error> {
    let mut out = Map::new();
    while let Some(Key(key)) = map.next_key()? {
        if let Some(known) = known.filter(|k| !k.get()) {
            known.set(markers::is_record_key(&key));
        }
        let value = match keep.get(&key) {
            None => {
                map.next_value::<Checked>()?;
                continue;
            }
            Some(Below::Whole) => map.next_value::<Value>()?,
            Some(Below::Some(keep)) => map.next_value_seed(Part {
                keep,
                whole_elements: false,
                known: None,
            })?,
        };
        out.insert(key.into_owned(), value);
    }
    Ok(out)
}

/// A skipped value, checked as a full parse checks it but never stored:
/// serde's `IgnoredAny` skips strings and numbers without checking their
/// escapes or range, and nested values without the depth limit.
struct Checked;

impl<'de> de::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
}

/// The seed of a value of which only some keys are needed: an object
/// keeps those keys; an array applies this to each element, or reads its
/// elements whole when `whole_elements`; any other value is read whole.
#[derive(Clone, Copy)]
struct Part<'k> {
    keep: &'k Keep,
    whole_elements: bool,
    /// Set when an object read here has a key that names a field
    /// ([`markers::is_record_key`]); only for a diagnostic `properties`.
    known: Option<&'k Cell<bool>>,
}

impl<'de> DeserializeSeed<'de> for Part<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Part<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        object(map, self.keep, self.known).map(Value::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let item = if self.whole_elements {
                seq.next_element::<Value>()?
            } else {
                seq.next_element_seed(self)?
            };
            match item {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// An object key, borrowed from the input when it holds no escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// [`super::parse`], with the record as a JSON value.
    fn parse(text: &[u8], keep: &Keep) -> serde_json::Result<(Value, Option<KeyCounts>)> {
        super::parse(text, keep).map(|(parsed, counts)| {
            let value = match parsed {
                Parsed::Object(fields) => Value::Object(fields.into_map()),
                Parsed::Other(value) => value,
            };
            (value, counts)
        })
    }

    fn paths(paths: &[&[&str]]) -> Vec<Vec<String>> {
        paths
            .iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    fn keep() -> Keep {
        let paths = paths(&[&["status"], &["location"]]);
        Keep::new(paths.iter().map(Vec::as_slice), ["myextension"])
    }

    #[test]
    fn keeps_wanted_keys_in_any_case_and_their_aliases() {
        let k = keep();
        for key in [
            "status",
            "STATUS",
            "Status",
            "ResultType",
            "Location",
            "LocationDetails",
            "MyExtension",
            "properties",
            "isInteractive",
        ] {
            assert!(k.wants(key), "{key}");
        }
        for key in ["riskLevelAggregated", "deviceDetail", "DeviceDetail", ""] {
            assert!(!k.wants(key), "{key}");
        }
        assert!(!k.wants(&"x".repeat(200)));
    }

    #[test]
    fn parses_only_kept_keys_but_counts_all() {
        let text = br#"{"Status": {"errorCode": 0}, "deviceDetail": {"os": "Windows"},
            "Zed": [1, 2, {"a": "\u00e9"}], "properties": {"status": 1, "other": 2},
            "escaped\u0041": 3}"#;
        let (value, counts) = parse(text, &keep()).expect("parses");
        assert_eq!(
            value,
            json!({"Status": {"errorCode": 0}, "properties": {"status": 1}})
        );
        assert_eq!(counts.map(|c| (c.total, c.upper)), Some((5, 2)));
    }

    #[test]
    fn nested_paths_keep_only_their_keys_in_objects_and_lists() {
        let paths = paths(&[
            &["location", "countryOrRegion"],
            &["appliedConditionalAccessPolicies", "result"],
        ]);
        let k = Keep::new(paths.iter().map(Vec::as_slice), []);
        let text = br#"{"location": {"city": "Paris", "CountryOrRegion": "FR"},
            "LocationDetails": {"city": "Lyon", "countryOrRegion": "FR"},
            "Location": "FR",
            "appliedConditionalAccessPolicies": [{"id": "1", "result": "success"}, {"result": "failure"}, "x"],
            "deviceDetail": {"os": "Windows"}}"#;
        let (value, _) = parse(text, &k).expect("parses");
        assert_eq!(
            value,
            json!({
                "location": {"CountryOrRegion": "FR"},
                "LocationDetails": {"countryOrRegion": "FR"},
                "Location": "FR",
                "appliedConditionalAccessPolicies": [{"result": "success"}, {"result": "failure"}, "x"],
            })
        );
        // A path that reads the whole field wins over a part of it.
        let mut whole = paths.clone();
        whole.push(vec!["location".into()]);
        let k = Keep::new(whole.iter().map(Vec::as_slice), []);
        let (value, _) = parse(text, &k).expect("parses");
        assert_eq!(
            value["location"],
            json!({"city": "Paris", "CountryOrRegion": "FR"})
        );
    }

    #[test]
    fn repeated_keys_read_the_record_in_full() {
        let text = br#"{"Category": "x", "Status": {"errorCode": 1}, "x": 1, "x": 2}"#;
        let (value, counts) = parse(text, &keep()).expect("parses");
        assert_eq!(counts, None);
        assert_eq!(value, serde_json::from_slice::<Value>(text).expect("json"));
    }

    /// [`parse`] on a thread of its own, whose memo of the last record's
    /// keys is empty.
    fn parse_fresh(text: &[u8], keep: &Keep) -> Result<(Value, Option<KeyCounts>), String> {
        std::thread::scope(|s| {
            s.spawn(|| parse(text, keep).map_err(|e| e.to_string()))
                .join()
        })
        .expect("the parse does not panic")
    }

    #[test]
    fn records_read_one_after_another_read_as_each_alone() {
        let k = keep();
        let other = Keep::new([], ["zed"]);
        // Each record is read after the one before on this thread, with
        // the keep its line names: the memo of the last record's keys
        // must never change what a record reads as.
        let records: &[(&Keep, &[u8])] = &[
            (
                &k,
                br#"{"status": 1, "a": 2, "Zed": 3, "properties": {"status": 4}}"#,
            ),
            // The same keys, other values.
            (
                &k,
                br#"{"status": 5, "a": 6, "Zed": 7, "properties": {"x": 8}}"#,
            ),
            // The same keys, then one of them again.
            (
                &k,
                br#"{"status": 1, "a": 2, "Zed": 3, "properties": {}, "a": 9}"#,
            ),
            (&k, br#"{"status": 1, "a": 2, "Zed": 3, "properties": {}}"#),
            // The keys of the two records before, one after the other.
            (
                &k,
                br#"{"status": 1, "a": 2, "Zed": 3, "properties": {}, "a": 9,
                    "status": 1, "a": 2, "Zed": 3, "properties": {}}"#,
            ),
            // A record that repeats a key, twice.
            (
                &k,
                br#"{"status": 1, "a": 2, "Zed": 3, "properties": {}, "a": 9}"#,
            ),
            (
                &k,
                br#"{"status": 1, "a": 2, "Zed": 3, "properties": {}, "a": 9}"#,
            ),
            (&k, br#"{"status": 1, "a": 2, "Zed": 3, "properties": {}}"#),
            // Fewer keys: a start of the last record's.
            (&k, br#"{"status": 1, "a": 2}"#),
            // More keys, one repeating a key of the start.
            (&k, br#"{"status": 1, "a": 2, "status": 3}"#),
            // The same names in another case.
            (&k, br#"{"status": 1, "a": 2}"#),
            (&k, br#"{"STATUS": 1, "A": 2}"#),
            (&k, br#"{"STATUS": 1, "A": 2, "zed": {"b": 1}}"#),
            // Another keep: "zed" is kept, "status" too (always kept).
            (&other, br#"{"STATUS": 1, "A": 2, "zed": {"b": 1}}"#),
            (&k, br#"{"STATUS": 1, "A": 2, "zed": {"b": 1}}"#),
            (&k, br#"{}"#),
            (&k, br#"{"status": 1, "broken": }"#),
            (&k, br#"{"status": 1, "a": 2}"#),
            // Broken after the keys part from the last record's.
            (&k, br#"{"status": 1, "a": 2, "Zed": 3}"#),
            (&k, br#"{"status": 1, "b": }"#),
            (&k, br#"{"status": 1, "b": 2}"#),
            // What `properties` holds counts for this record only.
            (&k, br#"{"zz": 1, "properties": {"status": 1}}"#),
            (&k, br#"{"zz": 1, "properties": {"x": 1}}"#),
            // A key of a Graph page or an Event Hub batch.
            (&k, br#"{"value": 1, "a": 1}"#),
            (&k, br#"{"value": 1, "b": 1}"#),
        ];
        for (keep, text) in records {
            let here = parse(text, keep).map_err(|e| e.to_string());
            assert_eq!(
                here,
                parse_fresh(text, keep),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        // The next record with the same keys is compared with them: the
        // memo is complete and names them.
        assert!(parse(br#"{"Zed": 1, "status": 2}"#, &k).is_ok());
        let (first, armed) =
            Memo::with(|memo| (memo.get(0).map(|(key, _)| key.to_string()), memo.start(&k)));
        assert_eq!((first.as_deref(), armed), (Some("Zed"), true));
        assert!(!Memo::with(|memo| memo.start(&other)));
        // A key that repeats after the keys of the last record is found.
        let text = br#"{"status": 1, "a": 2, "status": 3}"#;
        assert!(parse(br#"{"status": 1, "a": 2}"#, &k).is_ok());
        assert_eq!(parse(text, &k).map(|(_, counts)| counts).ok(), Some(None));
    }

    #[test]
    fn properties_as_text_or_under_raw_are_read_whole() {
        let text = br#"{"category": "SignInLogs", "properties": "{\"a\": 1}"}"#;
        let (value, _) = parse(text, &keep()).expect("parses");
        assert_eq!(value["properties"], json!("{\"a\": 1}"));
        let text = br#"{"properties": {"foo": "bar", "status": 1}}"#;
        let (value, _) = parse(text, &keep()).expect("parses");
        assert_eq!(value["properties"], json!({"status": 1}));
        let raw = Keep::new([], ["properties"]);
        let (value, _) = parse(text, &raw).expect("parses");
        assert_eq!(value["properties"], json!({"foo": "bar", "status": 1}));
    }

    #[test]
    fn skipped_values_are_checked_like_a_full_parse() {
        let deep = format!(
            r#"{{"status": 1, "junk": {}1{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        for text in [
            &br#"{"status": 1, "junk": "\ud800"}"#[..],
            br#"{"status": 1, "junk": 1e400}"#,
            b"{\"status\": 1, \"junk\": \"\xff\"}",
            deep.as_bytes(),
        ] {
            let full = serde_json::from_slice::<Value>(text).map_err(|e| e.to_string());
            let sparse = parse(text, &keep()).map_err(|e| e.to_string());
            assert!(full.is_err(), "{}", String::from_utf8_lossy(text));
            assert_eq!(
                sparse.err(),
                full.err(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn syntax_errors_anywhere_still_fail() {
        for text in [
            &br#"{"deviceDetail": {"os": }, "status": 1}"#[..],
            br#"{"status": 1} trailing"#,
            br#"{"deviceDetail": "unterminated}"#,
        ] {
            assert!(
                parse(text, &keep()).is_err(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn non_objects_keep_their_kind() {
        assert!(matches!(
            parse(b"[1, 2]", &keep()),
            Ok((Value::Array(_), _))
        ));
        assert!(matches!(
            parse(b"\"x\"", &keep()),
            Ok((Value::String(_), _))
        ));
        assert!(matches!(parse(b"null", &keep()), Ok((Value::Null, _))));
    }
}
