//! Selective parsing: reads a record's JSON but builds values only for the
//! keys some rule (or the finding, or normalization itself) can read, and
//! skips the rest with [`serde::de::IgnoredAny`], which validates without
//! allocating.
//!
//! The kept set is a superset by construction: a key is kept when its name,
//! ignoring case, is any name or alias of a wanted catalog field (in either
//! catalog), a key a rule reaches through `raw.`, or a key normalization
//! looks at to tell the shape and the log. Normalization then maps exactly
//! the same keys it would have mapped from the whole record, so findings are
//! the same either way (a differential test runs both).

use std::borrow::Cow;
use std::fmt;

use rustc_hash::FxHashSet;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::normalize;
use crate::catalog::{Field, GRAPH_ACTIVITY, SIGN_IN};

/// Keys normalization reads whatever the rules: the shape and log markers,
/// the diagnostic envelope, and what the category is derived from.
const ALWAYS: &[&str] = &[
    // Shapes and logs.
    "properties",
    "category",
    "operationName",
    "Type",
    "Category",
    "TenantId",
    "TimeGenerated",
    "SourceSystem",
    "requestUri",
    "requestMethod",
    // The category of a record that names no log.
    "signInEventTypes",
    "isInteractive",
    "servicePrincipalId",
    "userId",
    "userPrincipalName",
];

/// The keys of a record worth parsing, compared ignoring ASCII case.
#[derive(Debug, Clone, Default)]
pub struct Keep {
    keys: FxHashSet<Box<[u8]>>,
    longest: usize,
}

/// Longest key looked up without allocating.
const STACK_KEY: usize = 64;

impl Keep {
    /// The keys to keep for records whose rules read the canonical
    /// top-level `fields` and the uncatalogued keys `raw` (the first
    /// segment of each `raw.` path).
    pub fn new<'a>(
        fields: impl IntoIterator<Item = &'a str>,
        raw: impl IntoIterator<Item = &'a str>,
    ) -> Keep {
        let mut keep = Keep::default();
        for name in ALWAYS.iter().copied().chain(raw) {
            keep.add(name);
        }
        for name in fields {
            keep.add(name);
            for key in normalize::envelope_keys_for(name) {
                keep.add(key);
            }
            for catalog in [SIGN_IN, GRAPH_ACTIVITY] {
                if let Some(field) = catalog.iter().find(|f| f.name == name) {
                    keep.add_field(field);
                }
            }
        }
        keep
    }

    /// A field's names, and the flat aliases of its children
    /// (`Location` for `location.countryOrRegion`).
    fn add_field(&mut self, field: &Field) {
        for alias in field.aliases {
            self.add(alias);
        }
        if !field.list {
            for child in field.children() {
                for alias in child.aliases {
                    self.add(alias);
                }
            }
        }
    }

    fn add(&mut self, name: &str) {
        self.longest = self.longest.max(name.len());
        self.keys
            .insert(name.to_ascii_lowercase().into_bytes().into_boxed_slice());
    }

    /// Whether a key read from a record is kept.
    pub fn wants(&self, key: &str) -> bool {
        let bytes = key.as_bytes();
        if bytes.len() > self.longest {
            return false;
        }
        let mut buf = [0u8; STACK_KEY];
        match buf.get_mut(..bytes.len()) {
            Some(lower) => {
                lower.copy_from_slice(bytes);
                lower.make_ascii_lowercase();
                self.keys.contains(&*lower)
            }
            None => self.keys.contains(key.to_ascii_lowercase().as_bytes()),
        }
    }
}

/// How many keys a record had and how many of them start with an upper-case
/// letter, counted before any was skipped: shape detection weighs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeyCounts {
    pub(crate) total: usize,
    pub(crate) upper: usize,
}

impl KeyCounts {
    /// The counts of a record's keys.
    pub(crate) fn of<'a>(keys: impl Iterator<Item = &'a String>) -> KeyCounts {
        let mut counts = KeyCounts::default();
        for key in keys {
            counts.add(key);
        }
        counts
    }

    fn add(&mut self, key: &str) {
        self.total += 1;
        if key.starts_with(|c: char| c.is_ascii_uppercase()) {
            self.upper += 1;
        }
    }
}

/// Parses one JSON value: an object keeps only the keys `keep` wants
/// (nested `properties` objects too) and counts all of them; any other
/// value is validated and given back as an empty value of its kind.
pub(crate) fn parse(bytes: &[u8], keep: &Keep) -> serde_json::Result<(Value, KeyCounts)> {
    // Checking the UTF-8 of the whole record at once is cheaper than
    // string by string; invalid text goes the slow way, for its error.
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let parsed = Top { keep }.deserialize(&mut de)?;
            de.end()?;
            Ok(parsed)
        }
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let parsed = Top { keep }.deserialize(&mut de)?;
            de.end()?;
            Ok(parsed)
        }
    }
}

/// The seed of a record (or of its `properties`).
#[derive(Clone, Copy)]
struct Top<'k> {
    keep: &'k Keep,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = (Value, KeyCounts);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = (Value, KeyCounts);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        let mut counts = KeyCounts::default();
        while let Some(Key(key)) = map.next_key()? {
            counts.add(&key);
            if !self.keep.wants(&key) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = if key.eq_ignore_ascii_case("properties") {
                map.next_value_seed(self)?.0
            } else {
                map.next_value::<Value>()?
            };
            out.insert(key.into_owned(), value);
        }
        Ok((Value::Object(out), counts))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((Value::Array(Vec::new()), KeyCounts::default()))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok((Value::String(String::new()), KeyCounts::default()))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok((Value::Bool(b), KeyCounts::default()))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok((Value::from(n), KeyCounts::default()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok((Value::from(n), KeyCounts::default()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok((Value::from(n), KeyCounts::default()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((Value::Null, KeyCounts::default()))
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

    fn keep() -> Keep {
        Keep::new(["status", "location"], ["myextension"])
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
        assert_eq!(counts, KeyCounts { total: 5, upper: 2 });
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
