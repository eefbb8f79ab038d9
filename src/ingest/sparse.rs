//! Selective parsing: reads a record's JSON but builds values only for the
//! keys some rule (or the finding, or normalization itself) can read; the
//! rest is checked as a full parse checks it but never stored.
//!
//! A key is kept when its name, ignoring case, is any name or alias of a
//! wanted catalog field (in either catalog), a key a rule reaches through
//! `raw.`, or a key normalization looks at to tell the shape and the log;
//! below an object field, only the keys the rules' paths go through are
//! kept. Normalization then maps the same keys it would have mapped from the
//! whole record. The record is walked by [`scan::Scan`]; what could still
//! tell the two apart is handled by reading the record in full: keys that
//! may repeat (detection counts distinct keys), text that is not UTF-8,
//! text the scan leaves to a full parse. `tests/differential.rs` compares
//! both ways on generated, bundled, real and hand-made broken records.

mod memo;
mod scan;

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use self::memo::{Action, Memo, Nest, Tally};
use self::scan::{Key, Scan, Unsure};
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
    /// [`memo::Memo`] of the last records' keys, which holds indexes
    /// into `keys`: the keys of a record's keep ([`Keep::new`]) are only
    /// added while it is built. (A keep below a key may share the id of
    /// another it was cloned from and merged into; those are never given
    /// to the memo.)
    id: u64,
    /// This keep's number among the keeps of a record's keep, itself 0
    /// and those below it numbered once it is built ([`Keep::new`]): the
    /// memo's [`Nest`] is indexed by it.
    node: u32,
    /// The id of the record's keep this one was numbered in, 0 before.
    top: u64,
}

impl Default for Keep {
    fn default() -> Keep {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Keep {
            keys: FoldedKeys::default(),
            raw_properties: false,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            node: 0,
            top: 0,
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
        keep.number(keep.id, &mut 0);
        keep
    }

    /// Numbers this keep and those below it, from `next`, in the record's
    /// keep of id `top`.
    fn number(&mut self, top: u64, next: &mut u32) {
        self.node = *next;
        self.top = top;
        *next = next.saturating_add(1);
        for below in self.keys.values_mut() {
            if let Below::Some(keep) = below {
                keep.number(top, next);
            }
        }
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
/// (nested `properties` objects too) and gives the counts of all its keys.
///
/// The object is walked by [`scan::Scan`], which checks skipped values as
/// strictly as a full parse checks them, so a record is readable exactly
/// when a full parse reads it; kept values are parsed from their text. A
/// record the scan cannot vouch for (invalid JSON, a number that could be
/// out of a float's range, deep nesting), whose keys may repeat, that is
/// not valid UTF-8 or not an object, is parsed in full instead: it comes
/// back with no counts, as the full parse gives it, or with that parse's
/// error.
pub(crate) fn parse(bytes: &[u8], keep: &Keep) -> serde_json::Result<(Parsed, Option<KeyCounts>)> {
    // Checking the UTF-8 of the whole record at once is cheaper than
    // string by string.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return serde_json::from_slice::<Value>(bytes).map(|v| (v.into(), None));
    };
    match Memo::with(|memo| record(text, keep, memo)) {
        Ok(Some((fields, counts))) => Ok((Parsed::Object(fields), Some(counts))),
        // Repeated keys collapse in a full parse (the last one wins), and
        // detection counts them once: read the record as it does.
        Ok(None) | Err(Unsure) => serde_json::from_str::<Value>(text).map(|v| (v.into(), None)),
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
        None => serde_json::from_str(text).ok(),
    }
}

/// Parses JSON text held in a string (a Log Analytics dynamic column
/// written as text): of an object, or of each object of a list, only the
/// keys `keep` wants are built ([`part`]). It reads exactly when a full
/// parse reads it, and builds the same values where it builds them.
fn parse_part(text: &str, keep: &Keep) -> Option<Value> {
    let mut scan = Scan::new(text);
    scan.start();
    // The objects of such text in one column are alike from row to row.
    let read = Memo::with(|memo| part(&mut scan, keep, false, None, memo.nest.of(keep.top)));
    match read.and_then(|v| scan.end().map(|()| v)) {
        Ok(value) => Some(value),
        Err(Unsure) => serde_json::from_str(text)
            .ok()
            .map(|value| pruned(value, keep)),
    }
}

/// What [`part`] builds of `value`, from a full parse of the same text.
fn pruned(value: Value, keep: &Keep) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter_map(|(key, value)| match keep.get(&key)? {
                    Below::Whole => Some((key, value)),
                    Below::Some(keep) => Some((key, pruned(value, keep))),
                })
                .collect(),
        ),
        Value::Array(items) => items.into_iter().map(|v| pruned(v, keep)).collect(),
        other => other,
    }
}

/// Reads the object at the top of a record: keeps what `keep` wants and
/// counts every key. `None` for a record that is no object or whose keys
/// may repeat. Its keys are compared with those of the last records
/// (`memo`) while they are the same as one's, and looked up, tallied and
/// remembered from the first that differs from all. A record with exactly
/// the keys of one keeps the same keys in the same order: what a key does
/// depends on the key and the keep alone; its fields share those keys.
fn record(text: &str, keep: &Keep, memo: &mut Memo) -> Result<Option<(Fields, KeyCounts)>, Unsure> {
    let mut scan = Scan::new(text);
    scan.start();
    if scan.peek() != Some(b'{') {
        return Ok(None);
    }
    scan.enter()?;
    let mut first = true;
    let mut values = Vec::with_capacity(memo.kept());
    memo.nest.of(keep.top);
    // Whether the keys read so far are the memo's first `at`.
    let mut following = memo.start(keep);
    // The keys read, tallied once the record leaves the memo's keys (the
    // memo has the counts of its own).
    let mut tally: Option<Tally> = (!following).then(Tally::default);
    let mut at = 0;
    // The keys kept so far, once the record leaves the memo's keys (until
    // then, the memo's).
    let mut keys: Option<Vec<String>> = (!following).then(Vec::new);
    // Whether the `properties` object holds a field, told by the keys
    // read there, kept or not.
    let properties_known = Cell::new(false);
    loop {
        let read = match following.then(|| memo.expect(at)).flatten() {
            Some((expected, action)) => match scan.key_or(&mut first, expected)? {
                Some(Key::Expected) => Ok(action),
                Some(Key::Read(key)) => Err(key),
                None => break,
            },
            None => match scan.key(&mut first)? {
                Some(key) => Err(key),
                None => break,
            },
        };
        // The action, and the key when it had to be read.
        let (action, key) = match read {
            Ok(action) => (action, None),
            Err(key) => match following.then(|| memo.follow(at, &key)).flatten() {
                Some(action) => (action, Some(key)),
                None => {
                    let tally = tally.get_or_insert_with(Tally::default);
                    if following {
                        following = false;
                        keys = Some(memo.kept_keys(values.len()));
                        memo.diverge(at, tally);
                    }
                    tally.add(&key);
                    if tally.seen.maybe_repeated {
                        return Ok(None);
                    }
                    let action = Action::of(&key, keep);
                    memo.push(&key, action, tally);
                    (action, Some(key))
                }
            },
        };
        at += 1;
        let value = match action {
            // An object holds the fields of a diagnostic record, read with
            // the record's own keep; anything else (JSON text, as some
            // pipelines write it) is read whole, for normalization to look
            // into; so is all of it when a rule reads `raw.properties`.
            Action::Properties if keep.raw_properties => whole(&mut scan)?,
            Action::Properties => part(
                &mut scan,
                keep,
                true,
                Some(&properties_known),
                &mut memo.nest,
            )?,
            Action::Kept(index) => match keep.at(index) {
                Some(Below::Whole) => whole(&mut scan)?,
                Some(Below::Some(keep)) => part(&mut scan, keep, false, None, &mut memo.nest)?,
                None => {
                    scan.skip()?;
                    continue;
                }
            },
            Action::Skip => {
                scan.skip()?;
                continue;
            }
        };
        if let Some(keys) = &mut keys {
            // Not following the memo, every key is read (were one not,
            // the full parse would read the record).
            keys.push(key.ok_or(Unsure)?.into_owned());
        }
        values.push(value);
    }
    scan.end()?;
    let mut counts = if following && memo.is_all(at) {
        memo.counts()
    } else {
        // The record ended before the memo's keys did, or left them.
        let tally = tally.get_or_insert_with(Tally::default);
        let kept = keys.unwrap_or_else(|| memo.kept_keys(values.len()));
        if following {
            memo.diverge(at, tally);
        }
        memo.finish(tally, kept);
        tally.counts
    };
    counts.known = counts.known || properties_known.get();
    memo.set_kept(values.len());
    // The record's keys are now the current sequence's.
    match memo.layout() {
        Some((layout, keys)) if keys.len() == values.len() => Ok(Some((
            Fields::shared(Arc::clone(keys), values, layout),
            counts,
        ))),
        // Never: the full parse reads the record then.
        _ => Err(Unsure),
    }
}

/// The value that comes next, whole.
fn whole(scan: &mut Scan<'_>) -> Result<Value, Unsure> {
    // Most kept values are strings: those need no parser.
    if scan.peek() == Some(b'"') {
        return Ok(Value::String(scan.string()?.into_owned()));
    }
    serde_json::from_str(scan.value()?).map_err(|_| Unsure)
}

/// The value that comes next, of which only some keys are needed: an
/// object keeps the keys `keep` wants; a list applies this to each
/// element, or reads its elements whole when `whole_elements`; any other
/// value is read whole. `known` is set when the object has a key that
/// names a field ([`markers::is_record_key`]), kept or not: only for a
/// diagnostic `properties`.
fn part(
    scan: &mut Scan<'_>,
    keep: &Keep,
    whole_elements: bool,
    known: Option<&Cell<bool>>,
    nest: &mut Nest,
) -> Result<Value, Unsure> {
    let mut first = true;
    match scan.peek() {
        Some(b'{') => {
            scan.enter()?;
            let mut out = Map::new();
            let mut at = 0;
            loop {
                // The key when kept, and its index among the kept.
                let (key, index) = match nest.expect(keep.node, at) {
                    Some((expected, index)) => {
                        match scan.key_or(&mut first, expected.as_bytes())? {
                            Some(Key::Expected) => {
                                note_known(known, expected);
                                (index.map(|_| expected.to_owned()), index)
                            }
                            Some(Key::Read(key)) => nested_key(keep, nest, at, key, known),
                            None => break,
                        }
                    }
                    None => match scan.key(&mut first)? {
                        Some(key) => nested_key(keep, nest, at, key, known),
                        None => break,
                    },
                };
                at += 1;
                let (Some(key), Some(below)) = (key, index.and_then(|i| keep.at(i))) else {
                    scan.skip()?;
                    continue;
                };
                let value = match below {
                    Below::Whole => whole(scan)?,
                    Below::Some(keep) => part(scan, keep, false, None, nest)?,
                };
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        }
        Some(b'[') => {
            scan.enter()?;
            let mut items = Vec::new();
            while scan.element(&mut first)? {
                items.push(if whole_elements {
                    whole(scan)?
                } else {
                    part(scan, keep, false, None, nest)?
                });
            }
            Ok(Value::Array(items))
        }
        _ => whole(scan),
    }
}

/// A key read at `at` in an object [`part`] reads with `keep`: looked up,
/// and learnt by `nest`. Gives the key when kept, and its index.
fn nested_key(
    keep: &Keep,
    nest: &mut Nest,
    at: usize,
    key: Cow<'_, str>,
    known: Option<&Cell<bool>>,
) -> (Option<String>, Option<usize>) {
    note_known(known, &key);
    let index = keep.index(&key);
    nest.learn(keep.node, at, &key, index);
    (index.map(|_| key.into_owned()), index)
}

/// Sets `known` when `key` names a field ([`markers::is_record_key`]).
fn note_known(known: Option<&Cell<bool>>, key: &str) {
    if let Some(known) = known.filter(|k| !k.get()) {
        known.set(markers::is_record_key(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::tests::Rng;
    use serde_json::json;

    /// [`super::parse`], with the record as a JSON value.
    fn parse(text: &[u8], keep: &Keep) -> serde_json::Result<(Value, Option<KeyCounts>)> {
        super::parse(text, keep).map(|(parsed, counts)| (value_of(parsed), counts))
    }

    fn value_of(parsed: Parsed) -> Value {
        match parsed {
            Parsed::Object(fields) => Value::Object(fields.into_map()),
            Parsed::Other(value) => value,
        }
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

    /// [`parse`] with a fresh memo, the thread's own left as it was.
    fn parse_alone(text: &[u8], keep: &Keep) -> Result<(Value, Option<KeyCounts>), String> {
        let saved = Memo::with(std::mem::take);
        let alone = parse(text, keep).map_err(|e| e.to_string());
        Memo::with(|memo| *memo = saved);
        alone
    }

    #[test]
    fn generated_sequences_of_records_read_as_each_alone() {
        // Records whose keys mostly follow the last record's with an edit
        // (one key added, dropped, replaced or repeated, or a case
        // changed), or go back to the keys of one of the last few records
        // (more than the memo holds), read one after another: each reads,
        // with its counts, as it reads alone; records given one layout
        // kept the same keys in the same order.
        let (k, other) = (keep(), Keep::new([], ["zed"]));
        let names = [
            "status",
            "a",
            "Zed",
            "zed",
            "properties",
            "STATUS",
            "value",
            "zz",
            "b",
            "Location",
        ];
        let values = [
            "1",
            "\"x\"",
            "{\"status\": 2}",
            "{\"b\": [1, {\"c\": 3}]}",
            "[]",
            "null",
        ];
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut keys: Vec<&str> = vec!["status", "a", "Zed"];
        let mut recent: Vec<Vec<&str>> = Vec::new();
        let mut layouts: Vec<(crate::record::Layout, Vec<String>)> = Vec::new();
        let mut known = 0;
        for round in 0..5_000 {
            match rng.below(9) {
                0 => keys.insert(rng.below(keys.len() + 1), names[rng.below(names.len())]),
                1 if !keys.is_empty() => {
                    keys.remove(rng.below(keys.len()));
                }
                2 if !keys.is_empty() => {
                    let at = rng.below(keys.len());
                    keys[at] = names[rng.below(names.len())];
                }
                3 if keys.len() > 8 => keys.truncate(3),
                4..=6 if !recent.is_empty() => keys = recent[rng.below(recent.len())].clone(),
                _ => {}
            }
            if !recent.contains(&keys) {
                recent.push(keys.clone());
                if recent.len() > 6 {
                    recent.remove(0);
                }
            }
            let body: Vec<String> = keys
                .iter()
                .map(|key| format!("\"{key}\": {}", values[rng.below(values.len())]))
                .collect();
            let text = format!("{{{}}}", body.join(", "));
            let keep = if round % 97 == 0 { &other } else { &k };
            let here = super::parse(text.as_bytes(), keep).map_err(|e| e.to_string());
            if let Ok((Parsed::Object(fields), _)) = &here
                && fields.layout().is_known()
            {
                known += 1;
                let kept: Vec<String> = fields.keys().to_vec();
                match layouts.iter().find(|(l, _)| *l == fields.layout()) {
                    Some((_, before)) => assert_eq!(before, &kept, "record {round}: {text}"),
                    None => layouts.push((fields.layout(), kept)),
                }
            }
            let here = here.map(|(parsed, counts)| (value_of(parsed), counts));
            assert_eq!(
                here,
                parse_alone(text.as_bytes(), keep),
                "record {round}: {text}"
            );
        }
        // Most records follow one of the sequences the memo holds.
        assert!(known > 2_500, "{known}");
    }

    #[test]
    fn records_read_one_after_another_read_as_each_alone() {
        let k = keep();
        let other = Keep::new([], ["zed"]);
        let nested = Keep::new([&["status".to_string(), "errorCode".to_string()][..]], []);
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
            // Keys that JSON must escape, then the same keys unescaped,
            // which is no JSON: a quote ends a key early, a control
            // character may not stand in a string.
            (&k, br#"{"a\"b": 1, "status": 2}"#),
            (&k, br#"{"a"b": 1, "status": 2}"#),
            (&k, b"{\"a\\nb\": 1, \"status\": 2}"),
            (&k, b"{\"a\nb\": 1, \"status\": 2}"),
            // A key escaped where the last record's was not, and a key
            // that only starts like the last record's.
            (&k, br#"{"st\u0061tus": 1, "a": 2}"#),
            (&k, br#"{"status": 1, "a": 2}"#),
            (&k, br#"{"st\u0061tus": 1, "a": 2}"#),
            (&k, br#"{"statusx": 1, "a": 2}"#),
            (&k, br#"{"status": 1, "ab": 2}"#),
            // The same, in objects read in part.
            (&nested, br#"{"status": {"a\"b": 1, "errorCode": 2}}"#),
            (&nested, br#"{"status": {"a"b": 1, "errorCode": 2}}"#),
            (&nested, b"{\"status\": {\"a\\nb\": 1, \"errorCode\": 2}}"),
            (&nested, b"{\"status\": {\"a\nb\": 1, \"errorCode\": 2}}"),
            (&nested, br#"{"status": {"errorCode": 1, "x": 2}}"#),
            (&nested, br#"{"status": {"errorC\u006fde": 3, "x": 2}}"#),
            (&nested, br#"{"status": {"ErrorCode": 4, "x": 2}}"#),
            (&nested, br#"{"status": {"errorCodeX": 5, "x": 2}}"#),
            (&nested, br#"{"status": {"x": 2, "errorCode": 6}}"#),
            (
                &nested,
                br#"{"status": [{"errorCode": 1}, {"x": 1, "errorCode": 2}, {"errorCode": 3}]}"#,
            ),
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
    fn nesting_reads_as_deep_as_a_full_parse_reads_it() {
        // The scan follows 100 levels, a full parse 127: records and JSON
        // text nested around both limits, in kept, nested-kept and skipped
        // places, read exactly as a full parse reads them.
        let keep = keep();
        for depth in [97, 98, 99, 100, 101, 125, 126, 127, 128, 129] {
            let nest = |inner: &str| format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth));
            for text in [
                format!(r#"{{"status": {}}}"#, nest("1")),
                format!(r#"{{"location": {{"city": {}}}}}"#, nest("\"x\"")),
                format!(r#"{{"junk": {}, "status": 1}}"#, nest("{}")),
            ] {
                let full = full_kept(text.as_bytes(), &keep).map_err(|e| e.to_string());
                let sparse = parse(text.as_bytes(), &keep)
                    .map(|(value, _)| full_kept(value.to_string().as_bytes(), &keep).ok())
                    .map_err(|e| e.to_string());
                assert_eq!(sparse, full.map(Some), "{depth} levels: {text}");
            }
            let text = format!(r#"{{"status": {}, "other": 1}}"#, nest("2"));
            let full = serde_json::from_str::<Value>(&text)
                .ok()
                .map(|v| pruned(v, &keep));
            assert!(full.as_ref().is_none_or(|v| v.get("status").is_some()));
            assert_eq!(json_in_text(&text, Some(&keep)), full, "{depth} levels");
        }
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

    /// What a full parse gives of `text` with only what `keep` wants of
    /// it: the top-level keys it keeps, and below them what [`part`]
    /// keeps.
    fn full_kept(text: &[u8], keep: &Keep) -> serde_json::Result<Value> {
        serde_json::from_slice::<Value>(text).map(|value| match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter_map(|(key, value)| {
                        if key.eq_ignore_ascii_case(markers::PROPERTIES) {
                            // An object is read with the record's keep; a
                            // list or JSON text, whole.
                            return match value {
                                Value::Object(_) => Some((key, pruned(value, keep))),
                                other => Some((key, other)),
                            };
                        }
                        match keep.get(&key)? {
                            Below::Whole => Some((key, value)),
                            Below::Some(below) => Some((key, pruned(value, below))),
                        }
                    })
                    .collect(),
            ),
            other => other,
        })
    }

    #[test]
    fn mutated_records_read_as_a_full_parse_reads_them() {
        let seeds: [&[u8]; 4] = [
            br#"{"status": {"errorCode": 50126, "failureReason": "x\"y"}, "location": {"city": "K\u00f8ge", "geo": [1.5, -0, 2]}, "junk": [true, false, null, {"a": [[]]}], "MyExtension": "\t"}"#,
            b"{\n  \"id\" : \"a\\\\b \\ud83d\\ude00\",\n  \"status\": {\"errorCode\": 0},\n  \"n\": -12.25\n}\n",
            "{\"location\": [{\"city\": \"Zürich — ✓\"}, {}], \"skip\": \"long text past eight bytes: 0123456789\"}".as_bytes(),
            br#"{"properties": {"status": {"errorCode": 1}, "other": [1, {"b": "c"}]}, "status": 1}"#,
        ];
        let pieces: [&[u8]; 25] = [
            b"\"",
            b"\\",
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b"0",
            b"1",
            b".",
            b"e",
            b"-",
            b"+",
            b"t",
            b"n",
            b" ",
            b"\t",
            b"\n",
            b"\x01",
            b"\\u",
            b"\\ud83d",
            b"\\ude00",
            b"\\u00e9",
            "é".as_bytes(),
        ];
        let keep = keep();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut read, mut failed) = (0, 0);
        for round in 0..20_000 {
            let seed = seeds[round % seeds.len()];
            let mut text = seed.to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(text.len() + 1);
                match rng.below(3) {
                    0 => {
                        text.splice(at..at, pieces[rng.below(pieces.len())].iter().copied());
                    }
                    1 if at < text.len() => {
                        text.remove(at);
                    }
                    _ => text.truncate(at.max(1)),
                }
            }
            let full = full_kept(&text, &keep).map_err(|e| e.to_string());
            let sparse = parse(&text, &keep)
                .map(|(value, _)| value)
                .map_err(|e| e.to_string());
            match (&sparse, &full) {
                (Ok(sparse), Ok(full)) => {
                    read += 1;
                    // A record read in full (repeated keys, or the scan
                    // unsure) holds more than the keep; compare what the
                    // keep wants.
                    let kept = full_kept(sparse.to_string().as_bytes(), &keep).ok();
                    assert_eq!(
                        kept.as_ref(),
                        Some(full),
                        "{}",
                        String::from_utf8_lossy(&text)
                    );
                }
                (Err(_), Err(_)) => {
                    failed += 1;
                    assert_eq!(
                        sparse,
                        full.map(|_| Value::Null),
                        "{}",
                        String::from_utf8_lossy(&text)
                    );
                }
                _ => panic!(
                    "sparse {sparse:?}, full {full:?}: {}",
                    String::from_utf8_lossy(&text)
                ),
            }
        }
        // Both outcomes are well represented.
        assert!(
            read > 2_000 && failed > 2_000,
            "{read} read, {failed} failed"
        );
    }
}
