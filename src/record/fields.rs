//! [`Fields`]: the top-level fields of a record, a short list of keys and
//! values.
//!
//! A record has a few dozen top-level keys, read once and looked up a few
//! times each. Held as a vector of keys and one of values, in the order
//! read, they are built without a tree insertion per key
//! (`serde_json::Map` is a B-tree), found by a scan of keys told apart
//! mostly by their length (about four times as fast as a binary search
//! here, and twice as fast as the B-tree), and dropped as two allocations
//! plus their values. They mean what the map of the same entries means:
//! one value per key; whatever shows their order (serializing, `Debug`,
//! the first of the keys equal ignoring case) shows the map's, by key.
//!
//! The records of one export repeat their keys in one order (or a few),
//! and the reader notices ([`Layout`]): the records of one layout share
//! its keys, and what depends only on the keys (which catalog field each
//! key is) is worked out once per layout instead of once per record.
//! Normalization gives the records it renames alike a layout of their own
//! in the same way.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// A record's top-level fields: unique keys, in no particular order.
#[derive(Clone, Default)]
pub struct Fields {
    keys: Keys,
    /// The value of each key, in the keys' order.
    values: Vec<Value>,
}

/// The keys of [`Fields`]: their own, or those of every record of one
/// layout, shared (and the layout known only then).
#[derive(Clone)]
enum Keys {
    Own(Vec<String>),
    Shared(Arc<[String]>, Layout),
}

impl Default for Keys {
    fn default() -> Keys {
        Keys::Own(Vec::new())
    }
}

impl Keys {
    #[inline]
    fn as_slice(&self) -> &[String] {
        match self {
            Keys::Own(keys) => keys,
            Keys::Shared(keys, _) => keys,
        }
    }

    /// The keys, to change: shared keys are copied first, and leave
    /// their layout.
    fn to_mut(&mut self) -> &mut Vec<String> {
        if let Keys::Shared(shared, _) = self {
            *self = Keys::Own(shared.to_vec());
        }
        match self {
            Keys::Own(keys) => keys,
            Keys::Shared(..) => unreachable!("made own above"),
        }
    }
}

/// Names an order of keys: fields with the same layout, other than
/// [`Layout::UNKNOWN`], have the same keys in the same order. The reader
/// gives one to records whose keys it knows to be those of another, and
/// normalization to records it renamed alike ([`Layout::new`]); changing
/// a key forgets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Layout(u64);

impl Layout {
    /// Says nothing of the keys.
    pub(crate) const UNKNOWN: Layout = Layout(0);

    /// A layout no fields have had yet.
    pub(crate) fn new() -> Layout {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Layout(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Whether this names an order of keys.
    pub(crate) fn is_known(self) -> bool {
        self != Layout::UNKNOWN
    }
}

impl Fields {
    /// The fields of `values` under `keys`, one value per key, no key
    /// twice.
    pub(crate) fn from_keys_values(keys: Vec<String>, values: Vec<Value>) -> Fields {
        Fields::with_keys(Keys::Own(keys), values)
    }

    /// The fields of `values` under the keys of `layout`, shared with
    /// every record of that layout (one value per key, no key twice).
    pub(crate) fn shared(keys: Arc<[String]>, values: Vec<Value>, layout: Layout) -> Fields {
        Fields::with_keys(Keys::Shared(keys, layout), values)
    }

    fn with_keys(keys: Keys, values: Vec<Value>) -> Fields {
        let slice = keys.as_slice();
        debug_assert_eq!(slice.len(), values.len(), "a value per key");
        debug_assert!(
            slice
                .iter()
                .enumerate()
                .all(|(i, k)| slice.iter().skip(i + 1).all(|other| other != k)),
            "a key twice"
        );
        Fields { keys, values }
    }

    /// The layout of the keys.
    pub(crate) fn layout(&self) -> Layout {
        match self.keys {
            Keys::Own(_) => Layout::UNKNOWN,
            Keys::Shared(_, layout) => layout,
        }
    }

    /// The keys and the values (the keys copied when shared).
    pub(crate) fn into_keys_values(self) -> (Vec<String>, Vec<Value>) {
        let keys = match self.keys {
            Keys::Own(keys) => keys,
            Keys::Shared(keys, _) => keys.to_vec(),
        };
        (keys, self.values)
    }

    /// The keys shared by the fields of their layout, and the values; the
    /// fields as they are when their keys are their own.
    pub(crate) fn into_shared(self) -> Result<(Arc<[String]>, Vec<Value>), Fields> {
        match self.keys {
            Keys::Shared(keys, _) => Ok((keys, self.values)),
            Keys::Own(_) => Err(self),
        }
    }

    /// The fields as a JSON object.
    pub(crate) fn into_map(self) -> Map<String, Value> {
        let (keys, values) = self.into_keys_values();
        keys.into_iter().zip(values).collect()
    }

    /// Room for `n` more fields.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.keys.to_mut().reserve(n);
        self.values.reserve(n);
    }

    /// The position of `key`.
    #[inline]
    fn find(&self, key: &str) -> Option<usize> {
        self.keys.as_slice().iter().position(|k| k == key)
    }

    /// The value under `key`.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(self.find(key)?)
    }

    /// Where the first key in key order equal to `key` ignoring ASCII case
    /// is held ([`first_any_case`]), for [`Fields::position_of`].
    fn position_any_case(&self, key: &str) -> Option<usize> {
        self.keys
            .as_slice()
            .iter()
            .enumerate()
            .filter(|(_, k)| k.eq_ignore_ascii_case(key))
            .min_by(|a, b| a.1.cmp(b.1))
            .map(|(at, _)| at)
    }

    /// Where the value [`Object::get_any_case`] (with `any_case`) or
    /// [`Fields::get`] gives for `key` is held, for [`Fields::entry`].
    pub(crate) fn position_of(&self, key: &str, any_case: bool) -> Option<usize> {
        let exact = self.find(key);
        match any_case {
            true => exact.or_else(|| self.position_any_case(key)),
            false => exact,
        }
    }

    /// The key and value held at `at`. Fields of one layout hold their
    /// keys at the same places.
    pub(crate) fn entry(&self, at: usize) -> Option<(&String, &Value)> {
        Some((self.keys.as_slice().get(at)?, self.values.get(at)?))
    }

    /// Whether there is a value under `key`.
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// The value under `key`, to change.
    #[inline]
    fn find_mut(&mut self, key: &str) -> Option<&mut Value> {
        let at = self.find(key)?;
        self.values.get_mut(at)
    }

    /// Puts `value` under `key`; gives back the value it replaces.
    pub(crate) fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        match self.find_mut(&key) {
            Some(old) => Some(std::mem::replace(old, value)),
            None => {
                self.push(key, value);
                None
            }
        }
    }

    /// Adds a key: the fields leave their layout.
    fn push(&mut self, key: String, value: Value) {
        self.keys.to_mut().push(key);
        self.values.push(value);
    }

    /// The keys and values, in the order they are held.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.keys.as_slice().iter().zip(&self.values)
    }

    /// The keys and values, in the order they are held, the values to
    /// change.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut Value)> {
        self.keys.as_slice().iter().zip(&mut self.values)
    }

    /// The keys and values in key order, as a map gives them.
    pub(crate) fn sorted(&self) -> Vec<(&String, &Value)> {
        let mut entries: Vec<_> = self.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries
    }

    /// The keys, in the order they are held.
    pub(crate) fn keys(&self) -> &[String] {
        self.keys.as_slice()
    }

    /// Keeps only the fields `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        let kept: Vec<bool> = self.iter_mut().map(|(k, v)| keep(k, v)).collect();
        if kept.iter().all(|&k| k) {
            return;
        }
        let mut flags = kept.iter();
        self.keys.to_mut().retain(|_| flags.next() == Some(&true));
        let mut flags = kept.iter();
        self.values.retain(|_| flags.next() == Some(&true));
    }

    /// How many fields there are.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }
}

/// Top-level names looked up together in record after record (the fields
/// a rule set's tests read, the fields its rules over many records keep),
/// each with whether it is found in any case (a `raw.` key). Records of one
/// layout hold their keys at the same places, so where each name is held
/// ([`Names::places`]) is worked out once per layout, not per record.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    names: Arc<[(Box<str>, bool)]>,
    /// Tells these names (and their clones) from any others in the cache
    /// of places.
    id: u64,
}

/// Where fields hold each of some [`Names`]: the place of its key, if any.
pub(crate) type Places = Rc<[Option<u32>]>;

/// How many (names, layout) pairs a thread keeps the places of.
const PLACES_KEPT: usize = 16;

thread_local! {
    /// The places of names in the layouts met last, in the order they were
    /// worked out, the latest first (a layout in use is worked out again
    /// once 16 others came after it).
    static PLACES: RefCell<Vec<((u64, Layout), Places)>> = const { RefCell::new(Vec::new()) };
}

impl Names {
    /// The names `names`, each with whether it is found in any case.
    pub(crate) fn new(names: impl Into<Arc<[(Box<str>, bool)]>>) -> Names {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Names {
            names: names.into(),
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The names, each with whether it is found in any case.
    pub(crate) fn as_slice(&self) -> &[(Box<str>, bool)] {
        &self.names
    }

    /// Where `fields` holds each name, in their order: a name found in any
    /// case at the first key equal to it ignoring case, in key order, as
    /// [`Object::get_any_case`] finds it when no key is spelled as it is.
    /// `None` for fields of no known layout (look each name up instead).
    pub(crate) fn places(&self, fields: &Fields) -> Option<Places> {
        let layout = fields.layout();
        if !layout.is_known() {
            return None;
        }
        let key = (self.id, layout);
        // Without the thread's cache (as the thread ends), names are looked
        // up one by one.
        let cached = PLACES.try_with(|cell| {
            let mut kept = cell.try_borrow_mut().ok()?;
            if let Some((_, places)) = kept.iter().find(|(k, _)| *k == key) {
                return Some(Rc::clone(places));
            }
            let places: Places = self
                .names
                .iter()
                .map(|(name, any_case)| {
                    let at = fields.position_of(name, *any_case)?;
                    u32::try_from(at).ok()
                })
                .collect();
            kept.insert(0, (key, Rc::clone(&places)));
            kept.truncate(PLACES_KEPT);
            Some(places)
        });
        cached.ok().flatten()
    }
}

impl PartialEq for Fields {
    /// The same keys with the same values, in any order.
    fn eq(&self, other: &Fields) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
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
        let (keys, values) = map.into_iter().unzip();
        Fields::with_keys(Keys::Own(keys), values)
    }
}

impl Serialize for Fields {
    /// As the map of the same entries: in key order.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.sorted() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.sorted()).finish()
    }
}

/// What finds values by key: a record's [`Fields`], or an object inside a
/// record.
pub(crate) trait Object {
    /// The value under `key`, spelled exactly.
    fn get_value(&self, key: &str) -> Option<&Value>;

    /// The keys and values (a map's in key order, [`Fields`] in none).
    fn entries(&self) -> impl Iterator<Item = (&String, &Value)>;

    /// The value under `key`: spelled exactly when there is one (the
    /// common case), else under the first key, in key order, equal to it
    /// ignoring ASCII case. The reader (which maps keys to catalog names)
    /// and the evaluator (which reads `raw.` paths) look keys up this way.
    #[inline]
    fn get_any_case(&self, key: &str) -> Option<&Value> {
        self.get_value(key)
            .or_else(|| first_any_case(self.entries(), key).map(|(_, v)| v))
    }
}

/// An [`Object`] whose values change.
pub(crate) trait ObjectMut: Object {
    /// Puts `value` under `key`, replacing what was there.
    fn insert_value(&mut self, key: String, value: Value);

    /// Puts `value` under `key`, which has no value yet.
    fn insert_new_key(&mut self, key: String, value: Value);

    /// The keys and values, in the order of [`Object::entries`], the
    /// values to change.
    fn entries_mut(&mut self) -> impl Iterator<Item = (&String, &mut Value)>;

    /// Room for `n` more keys, where that means anything.
    fn reserve_keys(&mut self, _n: usize) {}
}

impl ObjectMut for Fields {
    fn insert_value(&mut self, key: String, value: Value) {
        self.insert(key, value);
    }

    fn insert_new_key(&mut self, key: String, value: Value) {
        debug_assert!(!self.contains_key(&key), "{key} twice");
        self.push(key, value);
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = (&String, &mut Value)> {
        self.iter_mut()
    }

    fn reserve_keys(&mut self, n: usize) {
        self.reserve(n);
    }
}

impl ObjectMut for Map<String, Value> {
    fn insert_value(&mut self, key: String, value: Value) {
        self.insert(key, value);
    }

    fn insert_new_key(&mut self, key: String, value: Value) {
        self.insert(key, value);
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = (&String, &mut Value)> {
        self.iter_mut()
    }
}

/// Of `entries`, the first in key order whose key equals `key` ignoring
/// ASCII case, in whatever order they come.
fn first_any_case<'a>(
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    key: &str,
) -> Option<(&'a String, &'a Value)> {
    entries
        .filter(|(k, _)| k.eq_ignore_ascii_case(key))
        .min_by(|a, b| a.0.cmp(b.0))
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
        let entries = [("b", 1), ("a", 4), ("c", 3), ("B", 5), ("dE", 6), ("De", 7)];
        let mut map = Map::new();
        for (k, v) in entries {
            map.insert(k.to_string(), json!(v));
        }
        let (keys, values): (Vec<String>, Vec<Value>) = entries
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .unzip();
        let fields = Fields::from_keys_values(keys.clone(), values.clone());
        // Keys shared with other fields of a layout read the same, and are
        // copied before one changes.
        let shared: Arc<[String]> = keys.into();
        let layout = Layout::new();
        let mut one = Fields::shared(Arc::clone(&shared), values.clone(), layout);
        let other = Fields::shared(Arc::clone(&shared), values, layout);
        assert_eq!(one, fields);
        assert_eq!(format!("{one:?}"), format!("{fields:?}"));
        assert_eq!(one.clone().into_map(), map);
        assert_eq!(one.insert("a".into(), json!(0)), Some(json!(4)));
        assert_eq!(one.layout(), layout);
        assert_eq!(one.insert("z".into(), json!(0)), None);
        assert_eq!(one.layout(), Layout::UNKNOWN);
        assert_eq!((one.len(), other.len(), shared.len()), (7, 6, 6));
        assert_eq!(other, fields);
        let mut fewer = other.clone();
        fewer.retain(|k, _| k != "c");
        assert_eq!((fewer.len(), fewer.layout()), (5, Layout::UNKNOWN));
        assert_eq!(fewer.get("c"), None);
        assert_eq!(fewer.get("dE"), Some(&json!(6)));
        // Where the order shows, it is the map's.
        assert_eq!(fields.get("a"), Some(&json!(4)));
        assert!(fields.sorted().into_iter().eq(map.iter()));
        assert_eq!(fields.get_any_case("b"), map.get_any_case("b"));
        assert_eq!(fields.get_any_case("A"), map.get_any_case("A"));
        // Of two other spellings, the first in key order.
        assert_eq!(fields.get_any_case("DE"), Some(&json!(7)));
        assert_eq!(fields.get_any_case("DE"), map.get_any_case("DE"));
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
        assert!(fields.contains_key("b") && !fields.contains_key("e"));
        assert_eq!(
            fields
                .sorted()
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            ["B", "De", "a", "b", "c", "d", "dE"]
        );
        assert_eq!(fields["a"], json!(7));
        assert_eq!(fields["e"], Value::Null);
    }
}
