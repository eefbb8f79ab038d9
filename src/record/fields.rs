//! [`Fields`]: the top-level fields of a record, a short list kept sorted
//! by key.
//!
//! A record has a few dozen top-level keys, read once and looked up a few
//! times each. Held as one sorted vector they are built with one sort
//! instead of a tree insertion per key (`serde_json::Map` is a B-tree),
//! found by a binary search over contiguous memory, and dropped as one
//! allocation plus their values. They keep the map's order and meaning:
//! one value per key, iterated and serialized in key order.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// A record's top-level fields: unique keys, sorted.
#[derive(Clone, Default, PartialEq)]
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    /// The fields of `entries`, in any order, no key twice.
    pub(crate) fn from_unique(mut entries: Vec<(String, Value)>) -> Fields {
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        debug_assert!(entries.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)));
        Fields(entries)
    }

    /// The fields as a JSON object.
    pub(crate) fn into_map(self) -> Map<String, Value> {
        self.0.into_iter().collect()
    }

    /// Where `key` is, or where it would go.
    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The key and value under `key`. A scan, not a binary search: with a
    /// few dozen keys, most told apart by their length alone, it is about
    /// four times as fast (and twice as fast as a B-tree).
    #[inline]
    fn find(&self, key: &str) -> Option<&(String, Value)> {
        self.0.iter().find(|(k, _)| k == key)
    }

    /// The value under `key`.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).map(|(_, v)| v)
    }

    /// The key as stored and the value under `key`.
    pub(crate) fn get_key_value(&self, key: &str) -> Option<(&String, &Value)> {
        self.find(key).map(|(k, v)| (k, v))
    }

    /// Whether there is a value under `key`.
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// Puts `value` under `key`; gives back the value it replaces.
    pub(crate) fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        match self.position(&key) {
            Ok(i) => self.0.get_mut(i).map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Takes out the value under `key`.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key).ok()?;
        Some(self.0.remove(i).1)
    }

    /// The keys and values, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys and values, in key order, the values to change.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The values, in key order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(_, v)| v)
    }

    /// How many fields there are.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = Value;

    /// The value under `key`, or null.
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl From<Map<String, Value>> for Fields {
    /// A map's entries come in key order already.
    fn from(map: Map<String, Value>) -> Fields {
        Fields(map.into_iter().collect())
    }
}

impl IntoIterator for Fields {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for Fields {
    /// As the map of the same entries.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// What finds values by key: a record's [`Fields`], or an object inside a
/// record.
pub(crate) trait Object {
    /// The value under `key`, spelled exactly.
    fn get_value(&self, key: &str) -> Option<&Value>;

    /// The keys and values, in key order.
    fn entries(&self) -> impl Iterator<Item = (&String, &Value)>;

    /// The value under `key`: spelled exactly when there is one (the
    /// common case), else under the first key, in key order, equal to it
    /// ignoring ASCII case. The reader (which maps keys to catalog names)
    /// and the evaluator (which reads `raw.` paths) look keys up this way.
    #[inline]
    fn get_any_case(&self, key: &str) -> Option<&Value> {
        self.get_value(key).or_else(|| {
            self.entries()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }
}

/// An [`Object`] that takes new values.
pub(crate) trait ObjectMut: Object {
    /// Puts `value` under `key`, replacing what was there.
    fn insert_value(&mut self, key: String, value: Value);
}

impl ObjectMut for Fields {
    fn insert_value(&mut self, key: String, value: Value) {
        self.insert(key, value);
    }
}

impl ObjectMut for Map<String, Value> {
    fn insert_value(&mut self, key: String, value: Value) {
        self.insert(key, value);
    }
}

impl Object for Fields {
    #[inline]
    fn get_value(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }

    fn entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.iter()
    }
}

impl Object for Map<String, Value> {
    #[inline]
    fn get_value(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }

    fn entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_read_as_the_map_of_the_same_entries() {
        let entries = [("b", 1), ("a", 4), ("c", 3), ("B", 5)];
        let mut map = Map::new();
        for (k, v) in entries {
            map.insert(k.to_string(), json!(v));
        }
        let fields = Fields::from_unique(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        );
        // The order is the map's.
        assert_eq!(fields.get("a"), Some(&json!(4)));
        assert!(fields.keys().eq(map.keys()));
        assert!(fields.values().eq(map.values()));
        assert_eq!(
            serde_json::to_string(&fields).ok(),
            serde_json::to_string(&map).ok()
        );
        assert_eq!(format!("{fields:?}"), format!("{map:?}"));
        assert_eq!(Fields::from(map.clone()), fields);
        assert_eq!(fields.clone().into_map(), map);

        let mut fields = fields;
        assert_eq!(fields.insert("d".into(), json!(6)), None);
        assert_eq!(fields.insert("a".into(), json!(7)), Some(json!(4)));
        assert_eq!(fields.remove("b"), Some(json!(1)));
        assert!(!fields.contains_key("b") && fields.contains_key("B"));
        assert_eq!(
            fields.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["B", "a", "c", "d"]
        );
        assert_eq!(fields["a"], json!(7));
        assert_eq!(fields["b"], Value::Null);
    }
}
