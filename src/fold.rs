//! Letter case in record keys: a fixed set of keys looked up in any ASCII
//! letter case (the reader's keep, the catalog's names). A record's own
//! keys are looked up in any case by `Object::get_any_case`.

/// A fixed set of keys, each with a value, looked up ignoring ASCII letter
/// case without copying or lower-casing the key looked up: the reader asks
/// it of every key of every record, so a lookup is one cheap hash of the
/// key's first and last eight bytes (letters folded) and, mostly, one
/// comparison.
#[derive(Debug, Clone)]
pub(crate) struct FoldedKeys<V> {
    /// The keys, lower-cased, in the order they were first added.
    entries: Vec<(Box<str>, V)>,
    /// Each key as first spelled, compared first: most keys read are
    /// spelled as the catalog spells them.
    spelled: Vec<Box<str>>,
    /// Open addressing over `entries`: an index plus one in the low half,
    /// the key's hash in the high half (compared before the key), 0 when
    /// empty. Its length is a power of two, at least twice the entries.
    slots: Box<[u64]>,
    longest: usize,
}

impl<V> Default for FoldedKeys<V> {
    fn default() -> Self {
        FoldedKeys {
            entries: Vec::new(),
            spelled: Vec::new(),
            slots: Box::new([]),
            longest: 0,
        }
    }
}

impl<V: PartialEq> PartialEq for FoldedKeys<V> {
    /// The same keys with the same values, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|(k, v)| other.get(k.as_bytes()) == Some(v))
    }
}

impl<V> FoldedKeys<V> {
    /// The value under `key`, in any letter case.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
        self.at(self.find(key)?)
    }

    /// The value under `key`, in any letter case, to change.
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let i = self.find(key)?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// Adds `key` (none equal to it ignoring case may be there yet).
    pub(crate) fn insert_new(&mut self, key: &str, value: V) {
        self.longest = self.longest.max(key.len());
        self.entries
            .push((key.to_ascii_lowercase().into_boxed_str(), value));
        self.spelled.push(key.into());
        if self.entries.len() * 2 > self.slots.len() {
            self.rebuild();
        } else {
            self.place(self.entries.len() - 1);
        }
    }

    /// The keys (lower-cased), in the order added.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    /// The values, in the order added.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The keys (lower-cased) and their values, in the order added.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (Box<str>, V)> {
        self.entries.into_iter()
    }

    /// The value of the entry at `index` (as [`FoldedKeys::find`] gives
    /// it).
    #[inline]
    pub(crate) fn at(&self, index: usize) -> Option<&V> {
        self.entries.get(index).map(|(_, v)| v)
    }

    /// The index of the entry of `key`, in any letter case.
    #[inline]
    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        if key.len() > self.longest || self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let hash = fold_hash(key);
        let mut at = hash as usize & mask;
        loop {
            let slot = *self.slots.get(at)?;
            let i = ((slot & u64::from(u32::MAX)) as usize).checked_sub(1)?;
            if slot >> 32 == hash {
                let spelled = self.spelled.get(i).is_some_and(|k| k.as_bytes() == key);
                if spelled
                    || self
                        .entries
                        .get(i)
                        .is_some_and(|(k, _)| k.as_bytes().eq_ignore_ascii_case(key))
                {
                    return Some(i);
                }
            }
            at = (at + 1) & mask;
        }
    }

    fn rebuild(&mut self) {
        let len = (self.entries.len() * 2).next_power_of_two().max(8);
        self.slots = vec![0; len].into_boxed_slice();
        for i in 0..self.entries.len() {
            self.place(i);
        }
    }

    fn place(&mut self, i: usize) {
        let Some((key, _)) = self.entries.get(i) else {
            return;
        };
        let mask = self.slots.len() - 1;
        let hash = fold_hash(key.as_bytes());
        let mut at = hash as usize & mask;
        while let Some(slot) = self.slots.get_mut(at) {
            if *slot == 0 {
                // Fewer than 2^32 - 1 keys: the index fits.
                *slot = hash << 32 | u64::from(u32::try_from(i + 1).unwrap_or(u32::MAX));
                return;
            }
            at = (at + 1) & mask;
        }
    }
}

/// A 32-bit hash of a key that is the same in any ASCII letter case: its length
/// and its first and last eight bytes, each byte with the bit that tells
/// upper from lower case set (other bytes may change too; the same ones
/// change in every spelling).
#[inline]
fn fold_hash(key: &[u8]) -> u64 {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let word = |bytes: Option<&[u8]>| -> u64 {
        let mut buf = [0u8; 8];
        if let Some(bytes) = bytes {
            let n = bytes.len().min(8);
            if let (Some(to), Some(from)) = (buf.get_mut(..n), bytes.get(..n)) {
                to.copy_from_slice(from);
            }
        }
        u64::from_le_bytes(buf) | FOLD
    };
    let n = key.len();
    let first = word(key.get(..n.min(8)));
    let last = word(key.get(n.saturating_sub(8)..));
    let mixed = first ^ last.rotate_left(29) ^ (n as u64).rotate_left(58);
    // Fibonacci hashing; the high bits are the best mixed: 32 of them, for
    // the slot (the low ones) and to compare before the key.
    mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_keys_find_every_spelling_and_nothing_else() {
        let mut t = FoldedKeys::default();
        let names = [
            "status",
            "ipAddress",
            "appliedConditionalAccessPolicies",
            "a",
            "",
            "x_y",
            "x\u{7f}y",
            "userPrincipalName",
        ];
        for (i, name) in names.iter().enumerate() {
            t.insert_new(name, i);
        }
        for (i, name) in names.iter().enumerate() {
            assert_eq!(t.get(name.as_bytes()), Some(&i), "{name}");
            assert_eq!(t.get(name.to_uppercase().as_bytes()), Some(&i), "{name}");
        }
        // `_` and DEL differ only in the case bit: the hash folds them, the
        // comparison does not.
        for other in [
            "statu",
            "statuss",
            "b",
            "x\u{7f}Y_",
            "USERPRINCIPALNAME2",
            "ipaddresS ",
        ] {
            assert_eq!(t.get(other.as_bytes()), None, "{other}");
        }
        if let Some(v) = t.get_mut(b"IPADDRESS") {
            *v = 99;
        }
        assert_eq!(t.get(b"ipaddress"), Some(&99));
        let mut many = FoldedKeys::default();
        for i in 0..1000 {
            many.insert_new(&format!("Key{i}"), i);
        }
        assert!((0..1000).all(|i| many.get(format!("kEY{i}").as_bytes()) == Some(&i)));
        assert_eq!(many.get(b"key1000"), None);
        assert_eq!(FoldedKeys::<u8>::default().get(b""), None);
    }
}
