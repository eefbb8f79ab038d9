//! A reference-counted interner: each text is stored once, and only while
//! some retained event uses it.

use std::sync::Arc;

use rustc_hash::FxHashMap;

#[derive(Debug)]
struct Slot {
    text: Arc<str>,
    refs: u32,
}

/// Texts to `u32` ids; an id is freed (and reused) when its last reference
/// is released.
#[derive(Debug, Default)]
pub(super) struct Interner {
    ids: FxHashMap<Arc<str>, u32>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
}

impl Interner {
    /// The id of `text`, taking one reference to it.
    pub(super) fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            self.retain(id);
            return id;
        }
        let text: Arc<str> = Arc::from(text);
        let slot = Some(Slot {
            text: Arc::clone(&text),
            refs: 1,
        });
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = slot;
                }
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.ids.insert(text, id);
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
            let text = Arc::clone(&slot.text);
            *entry = None;
            self.ids.remove(&text);
            self.free.push(id);
        }
    }

    /// The text of `id` (empty when it is not in use).
    pub(super) fn get(&self, id: u32) -> &str {
        match self.slots.get(id as usize) {
            Some(Some(slot)) => &slot.text,
            _ => "",
        }
    }

    /// How many texts are in use.
    #[cfg(test)]
    pub(super) fn live(&self) -> usize {
        self.ids.len()
    }

    /// Bytes allocated, approximately (table, slots and text).
    pub(super) fn bytes(&self) -> usize {
        let text: usize = self.ids.keys().map(|t| t.len() + 16).sum();
        self.ids.capacity() * (size_of::<Arc<str>>() + size_of::<u32>() + 1)
            + self.slots.capacity() * size_of::<Option<Slot>>()
            + self.free.capacity() * size_of::<u32>()
            + text
    }
}

/// One text for a group key: each part length-prefixed, so no separator can
/// be confused with a value.
pub(super) fn key_text(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        text.push_str(&part.len().to_string());
        text.push(':');
        text.push_str(part);
    }
    text
}

/// The parts of a text made by [`key_text`].
pub(super) fn key_parts(mut text: &str) -> Box<[Box<str>]> {
    let mut parts = Vec::new();
    while let Some((len, rest)) = text.split_once(':') {
        let Ok(len) = len.parse::<usize>() else {
            break;
        };
        let Some((part, after)) = rest.split_at_checked(len) else {
            break;
        };
        parts.push(Box::from(part));
        text = after;
    }
    parts.into_boxed_slice()
}
