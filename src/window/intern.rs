//! A reference-counted interner: each text is stored once, and only while
//! some retained event uses it.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

#[derive(Debug)]
struct Slot {
    text: Box<str>,
    /// The text's hash, so the table finds the id without reading the text.
    hash: u64,
    refs: u32,
}

/// Texts to `u32` ids; an id is freed (and reused) when its last reference
/// is released. Each text is held once, in its slot: the table holds ids,
/// found by their slot's text.
#[derive(Debug, Default)]
pub(super) struct Interner {
    ids: HashTable<u32>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
}

/// The slot of `id`, if in use.
fn slot(slots: &[Option<Slot>], id: u32) -> Option<&Slot> {
    slots.get(id as usize).and_then(Option::as_ref)
}

impl Interner {
    /// The id of `text`, taking one reference to it.
    pub(super) fn intern(&mut self, text: &str) -> u32 {
        let hash = FxBuildHasher.hash_one(text);
        let slots = &self.slots;
        let found = self.ids.find(hash, |&id| {
            slot(slots, id).is_some_and(|s| *s.text == *text)
        });
        if let Some(&id) = found {
            self.retain(id);
            return id;
        }
        let new = Some(Slot {
            text: text.into(),
            hash,
            refs: 1,
        });
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = new;
                }
                id
            }
            None => {
                self.slots.push(new);
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.ids
            .insert_unique(hash, id, |&id| slot(slots, id).map_or(0, |s| s.hash));
        id
    }

    /// Takes one more reference to `id`.
    pub(super) fn retain(&mut self, id: u32) {
        if let Some(Some(slot)) = self.slots.get_mut(id as usize) {
            slot.refs += 1;
        }
    }

    /// Releases one reference to `id`, freeing it after the last.
    pub(super) fn release(&mut self, id: u32) {
        let Some(entry) = self.slots.get_mut(id as usize) else {
            return;
        };
        let Some(slot) = entry else {
            return;
        };
        slot.refs = slot.refs.saturating_sub(1);
        if slot.refs == 0 {
            if let Ok(found) = self.ids.find_entry(slot.hash, |&i| i == id) {
                found.remove();
            }
            *entry = None;
            self.free.push(id);
        }
    }

    /// The text of `id` (empty when it is not in use).
    pub(super) fn get(&self, id: u32) -> &str {
        slot(&self.slots, id).map_or("", |s| &s.text)
    }

    /// How many texts are in use.
    #[cfg(test)]
    pub(super) fn live(&self) -> usize {
        self.ids.len()
    }

    /// Bytes allocated, approximately (table, slots and text).
    pub(super) fn bytes(&self) -> usize {
        let text: usize = self.slots.iter().flatten().map(|s| s.text.len()).sum();
        self.ids.capacity() * (size_of::<u32>() + 1)
            + self.slots.capacity() * size_of::<Option<Slot>>()
            + self.free.capacity() * size_of::<u32>()
            + text
    }
}

/// A group key: the values of its fields (already case-folded when the
/// rule ignores case), each written after its length in decimal and a colon
/// (`3:abc`), in one text, so no value can be confused with a separator.
/// It is made once, where the record is read, and is the text a state
/// interns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Key(Box<str>);

impl Key {
    /// The key of these values, in order (a run makes its keys value by
    /// value, with a [`KeyBuilder`]).
    #[cfg(test)]
    pub fn new<'s>(values: impl IntoIterator<Item = &'s str>) -> Key {
        let mut key = KeyBuilder::default();
        for value in values {
            key.push(value);
        }
        key.finish()
    }

    /// A key read back from its text, if the text is one.
    pub fn from_text(text: Box<str>) -> Option<Key> {
        let mut rest: &str = &text;
        while !rest.is_empty() {
            (_, rest) = next_value(rest)?;
        }
        Some(Key(text))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its values, in order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        values(&self.0)
    }
}

/// A [`Key`] being made, value by value: its text is a key's text at
/// every step, whatever is pushed.
#[derive(Debug, Default)]
pub struct KeyBuilder(String);

impl KeyBuilder {
    /// Adds a value, and gives it back as written, to change in place
    /// (a change to a `str` in place keeps its length, which is written
    /// before it).
    pub fn push(&mut self, value: &str) -> &mut str {
        let mut digits = itoa::Buffer::new();
        let len = digits.format(value.len());
        // Room for exactly this value: a key of one value, the most common,
        // is then made without growing or shrinking its text.
        self.0.reserve_exact(len.len() + 1 + value.len());
        self.0.push_str(len);
        self.0.push(':');
        let start = self.0.len();
        self.0.push_str(value);
        self.0.get_mut(start..).unwrap_or_default()
    }

    /// The key of the values pushed.
    pub fn finish(self) -> Key {
        Key(self.0.into_boxed_str())
    }
}

/// The first value of a key's text and the text after it, or `None` at
/// its end or where the text is not a key's.
fn next_value(text: &str) -> Option<(&str, &str)> {
    let mut len = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            // A length is written without leading zeros.
            b'0'..=b'9' if i == 0 || len > 0 => {
                len = len.checked_mul(10)?.checked_add(usize::from(b - b'0'))?;
            }
            b':' if i > 0 => return text.get(i + 1..)?.split_at_checked(len),
            _ => return None,
        }
    }
    None
}

/// The values of a key's text, up to its end or to where it is not a
/// key's.
fn values(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let (value, after) = next_value(rest)?;
        rest = after;
        Some(value)
    })
}

/// The values of a key's text, as an episode gives them.
pub(super) fn key_parts(text: &str) -> Box<[Box<str>]> {
    values(text).map(Box::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_every_value_apart() {
        let values = ["", "1:2", "ab", "10:x", "é"];
        let key = Key::new(values);
        assert_eq!(key.as_str(), "0:3:1:22:ab4:10:x2:é");
        assert_eq!(key.values().collect::<Vec<_>>(), values);
        assert_eq!(&*key_parts(key.as_str()), values.map(Box::from).as_slice());
        assert_ne!(Key::new(["a", "b"]), Key::new(["ab"]));
        assert_eq!(Key::new(["x".repeat(1234).as_str()]).values().count(), 1);
        assert_eq!(Key::from_text(key.as_str().into()), Some(key));
        assert_eq!(Key::from_text("".into()), Some(Key::new([])));
        let too_long = format!("{}0:", usize::MAX);
        for damaged in [
            "3:ab", "x:a", ":a", "1a", "1:é", "3:é", "01:a", "00:", &too_long,
        ] {
            assert_eq!(Key::from_text(damaged.into()), None, "{damaged}");
        }
    }
}
