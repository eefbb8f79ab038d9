//! The keys of the last records read on a thread, in order, with what the
//! keep said of each. The records of one export repeat their keys in the
//! same order (or in a few orders, one per kind of record), so a record's
//! keys are compared with these one by one (one comparison each) instead
//! of being looked up in the keep, tallied and checked for repeats: a
//! record whose keys are exactly those of one sequence, which did not
//! repeat, has none that repeats and the same counts.

use std::cell::Cell;
use std::hash::Hasher;
use std::ops::Range;
use std::sync::Arc;

use super::Keep;
use super::scan::needs_escape;
use crate::ingest::markers::{self, KeyCounts};
use crate::record::Layout;

/// What the reader does with the value of a key at the top of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Checked and dropped: no rule reads it.
    Skip,
    /// `properties` (any case): read as [`super::record`] says.
    Properties,
    /// Kept, as the keep's entry of this index says.
    Kept(usize),
}

impl Action {
    /// What `keep` says of `key`.
    pub(super) fn of(key: &str, keep: &Keep) -> Action {
        if key.eq_ignore_ascii_case(markers::PROPERTIES) {
            Action::Properties
        } else {
            keep.index(key).map_or(Action::Skip, Action::Kept)
        }
    }
}

/// The key sequences of the last records read with one keep, and what to
/// do with each key: the current one (the last record's) first.
#[derive(Debug, Default)]
pub(super) struct Memo {
    /// The keep's [`Keep::id`]; 0 before any record.
    keep: u64,
    /// At most [`SEQUENCES`], the one records are compared with (and
    /// read into) first, then the others, complete, the last used first.
    sequences: Vec<Sequence>,
    /// How many keys the last record read kept: room for as many is made
    /// for the next.
    kept: usize,
    /// The keys of the objects read in part below the top of the last
    /// records.
    pub(super) nest: Nest,
}

/// The keys of one record, in order, with what the keep said of each.
#[derive(Debug, Default)]
struct Sequence {
    /// The keys, one after the other.
    text: String,
    /// Where each key ends in `text`, and its action.
    keys: Vec<(usize, Action)>,
    /// The counts of all the keys (a `properties` object's keys aside).
    counts: KeyCounts,
    /// Whether a key holds a quote, a backslash or a control character:
    /// written in JSON, such a key needs an escape.
    escaped: bool,
    /// Once `keys` are all the keys of a record and none of them
    /// repeats (not while a record is being read into it): the layout of
    /// the keys a record with exactly these keys keeps, and those keys.
    kept: Option<(Layout, Arc<[String]>)>,
}

/// How many key sequences a memo holds: an export that mixes a few kinds
/// of record (interactive, non-interactive, service principal) goes from
/// one to another without reading any as new.
const SEQUENCES: usize = 4;

thread_local! {
    static LAST: Cell<Memo> = Cell::new(Memo::default());
}

/// Bytes of key text a sequence holds on to between records: one odd
/// record with very long or very many keys does not pin its size for the
/// life of the thread.
const KEEP_TEXT: usize = 64 << 10;

/// Where key number `at` lies in the text of keys written one after
/// another that end where `keys` say, and what goes with it.
#[inline(always)]
fn span<T: Copy>(keys: &[(usize, T)], at: usize) -> Option<(Range<usize>, T)> {
    let start = match at.checked_sub(1) {
        Some(before) => keys.get(before)?.0,
        None => 0,
    };
    let &(end, with) = keys.get(at)?;
    Some((start..end, with))
}

impl Sequence {
    /// The key at `at` and its action, if the sequence has that many.
    #[inline]
    fn get(&self, at: usize) -> Option<(&str, Action)> {
        let (range, action) = span(&self.keys, at)?;
        Some((self.text.get(range)?, action))
    }

    /// The text of the first `at` keys, and where each ends.
    fn prefix(&self, at: usize) -> Option<(&str, &[(usize, Action)])> {
        let keys = self.keys.get(..at)?;
        let end = keys.last().map_or(0, |&(end, _)| end);
        Some((self.text.get(..end)?, keys))
    }

    /// Whether the keys are all the keys of a record, none repeated.
    fn is_complete(&self) -> bool {
        self.kept.is_some()
    }

    /// Empties the sequence, keeping its room unless it grew past
    /// [`KEEP_TEXT`].
    fn clear(&mut self) {
        self.kept = None;
        self.escaped = false;
        self.keys.clear();
        self.text.clear();
        if self.text.capacity() > KEEP_TEXT {
            self.text.shrink_to(KEEP_TEXT);
            self.keys.shrink_to(KEEP_TEXT / 8);
        }
    }
}

impl Memo {
    /// Runs `read` with this thread's memo: taken out of the thread's cell
    /// while `read` runs (a reader inside it would find a fresh one) and
    /// put back after, whatever `read` gave.
    pub(super) fn with<T>(read: impl FnOnce(&mut Memo) -> T) -> T {
        // Only while the thread is ending is the cell gone.
        let mut memo = LAST.try_with(Cell::take).unwrap_or_default();
        let out = read(&mut memo);
        let _ = LAST.try_with(|cell| cell.set(memo));
        out
    }

    /// Starts a record read with `keep`: whether its keys can be compared
    /// with the memo's.
    pub(super) fn start(&mut self, keep: &Keep) -> bool {
        if self.keep != keep.id {
            self.keep = keep.id;
            self.sequences.truncate(1);
            if let Some(only) = self.sequences.first_mut() {
                only.clear();
            }
        }
        // A record that was not read to its end, or may repeat a key,
        // is not compared with.
        if self.sequences.first().is_some_and(|s| !s.is_complete()) {
            let mut dropped = self.sequences.remove(0);
            if self.sequences.is_empty() {
                dropped.clear();
                self.sequences.push(dropped);
            }
        }
        match self.sequences.first() {
            Some(current) => current.is_complete(),
            None => {
                self.sequences.push(Sequence::default());
                false
            }
        }
    }

    /// The key at `at` of the current sequence, and its action, if it
    /// has that many.
    #[inline]
    pub(super) fn get(&self, at: usize) -> Option<(&str, Action)> {
        self.sequences.first()?.get(at)
    }

    /// [`Memo::get`], when each key of the current sequence is written in
    /// JSON as itself between quotes: then text that holds the key so
    /// written holds exactly that key ([`super::scan::Scan::key_or`]).
    #[inline]
    pub(super) fn expect(&self, at: usize) -> Option<(&[u8], Action)> {
        let current = self.sequences.first()?;
        if current.escaped {
            return None;
        }
        let (range, action) = span(&current.keys, at)?;
        Some((current.text.as_bytes().get(range)?, action))
    }

    /// The action of `key`, read after the current sequence's first `at`
    /// keys, when `key` comes next in it, or in another sequence with the
    /// same first `at` keys, which then becomes the current one.
    #[inline]
    pub(super) fn follow(&mut self, at: usize, key: &str) -> Option<Action> {
        match self.get(at) {
            Some((same, action)) if same == key => Some(action),
            _ => self.switch(at, key),
        }
    }

    /// [`Memo::follow`], among the other sequences.
    #[cold]
    fn switch(&mut self, at: usize, key: &str) -> Option<Action> {
        let (current, others) = self.sequences.split_first()?;
        let prefix = current.prefix(at)?;
        // The others are complete: only the current one is read into.
        let found = others.iter().position(|other| {
            other.get(at).is_some_and(|(next, _)| next == key) && other.prefix(at) == Some(prefix)
        })?;
        // The one found first, the others in the order they were used.
        let other = self.sequences.remove(found + 1);
        self.sequences.insert(0, other);
        self.get(at).map(|(_, action)| action)
    }

    /// The current sequence's keys before `at` become the start of the
    /// record being read, which goes on differently (or ends) there: the
    /// keys are tallied in `tally` as if read. A complete sequence is
    /// kept among the others (the least recently used one makes room), the
    /// record read into a new one.
    pub(super) fn diverge(&mut self, at: usize, tally: &mut Tally) {
        let Some(current) = self.sequences.first() else {
            return;
        };
        if current.is_complete() {
            let mut fresh = if self.sequences.len() < SEQUENCES {
                Sequence::default()
            } else {
                self.sequences.pop().unwrap_or_default()
            };
            fresh.clear();
            if let Some(current) = self.sequences.first()
                && let Some((text, keys)) = current.prefix(at)
            {
                fresh.text.push_str(text);
                fresh.keys.extend_from_slice(keys);
                fresh.escaped = current.escaped;
            }
            self.sequences.insert(0, fresh);
        } else if let Some(current) = self.sequences.first_mut() {
            current.keys.truncate(at);
            let end = current.keys.last().map_or(0, |&(end, _)| end);
            current.text.truncate(end);
        }
        let Some(current) = self.sequences.first() else {
            return;
        };
        let mut start = 0;
        for &(end, _) in &current.keys {
            if let Some(key) = current.text.get(start..end) {
                tally.add(key);
            }
            start = end;
        }
    }

    /// Adds the next key of the record being read, unless a key of it may
    /// repeat (`tally`): such a record is never compared with.
    pub(super) fn push(&mut self, key: &str, action: Action, tally: &Tally) {
        if let Some(current) = self.sequences.first_mut()
            && !tally.seen.maybe_repeated
        {
            current.text.push_str(key);
            current.keys.push((current.text.len(), action));
            current.escaped = current.escaped || needs_escape(key);
        }
    }

    /// Whether the record read had exactly the current sequence's keys,
    /// `at` of them.
    pub(super) fn is_all(&self, at: usize) -> bool {
        self.sequences
            .first()
            .is_some_and(|s| s.is_complete() && at == s.keys.len())
    }

    /// How many keys the last record read kept (0 before any).
    pub(super) fn kept(&self) -> usize {
        self.kept
    }

    /// Notes how many keys the record just read kept.
    pub(super) fn set_kept(&mut self, kept: usize) {
        self.kept = kept;
    }

    /// The counts of the current sequence's keys.
    pub(super) fn counts(&self) -> KeyCounts {
        self.sequences.first().map(|s| s.counts).unwrap_or_default()
    }

    /// The layout of the keys kept by a record whose keys are exactly the
    /// current sequence's, and those keys: known once a record with them
    /// was read to its end.
    pub(super) fn layout(&self) -> Option<(Layout, &Arc<[String]>)> {
        let (layout, keys) = self.sequences.first()?.kept.as_ref()?;
        Some((*layout, keys))
    }

    /// The first `n` keys kept by a record that follows the current
    /// sequence (as many as it kept so far).
    pub(super) fn kept_keys(&self, n: usize) -> Vec<String> {
        let kept = self.sequences.first().and_then(|s| s.kept.as_ref());
        kept.and_then(|(_, k)| k.get(..n))
            .unwrap_or_default()
            .to_vec()
    }

    /// Ends a record read into the current sequence, tallied in `tally`,
    /// that kept `kept`: its keys, unless one may repeat, are a new
    /// layout.
    pub(super) fn finish(&mut self, tally: &Tally, kept: Vec<String>) {
        if let Some(current) = self.sequences.first_mut() {
            current.counts = tally.counts;
            current.kept = (!tally.seen.maybe_repeated).then(|| (Layout::new(), kept.into()));
        }
    }
}

/// The counts of a record's keys and whether one may repeat, key by key.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) counts: KeyCounts,
    pub(super) seen: Seen,
}

impl Tally {
    /// Counts one key read at the top of a record.
    pub(super) fn add(&mut self, key: &str) {
        self.counts.add(key);
        self.seen.add(key);
        self.counts.known = self.counts.known || markers::is_record_key(key);
        self.counts.container = self.counts.container || markers::is_container_key(key.as_bytes());
    }
}

/// The keys of a record seen so far, as hashes in a small table on the
/// stack: a hash seen twice (or a record with very many keys) means a key
/// may repeat.
#[derive(Debug)]
pub(super) struct Seen {
    slots: [u64; 256],
    len: usize,
    pub(super) maybe_repeated: bool,
}

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            slots: [0; 256],
            len: 0,
            maybe_repeated: false,
        }
    }
}

impl Seen {
    fn add(&mut self, key: &str) {
        if self.maybe_repeated {
            return;
        }
        let mut hasher = rustc_hash::FxHasher::default();
        hasher.write(key.as_bytes());
        // Never 0, which marks an empty slot.
        let hash = hasher.finish() | 1;
        self.len += 1;
        if self.len > 192 {
            self.maybe_repeated = true;
            return;
        }
        let mut i = (hash >> 56) as usize;
        loop {
            match self.slots.get_mut(i % 256) {
                Some(slot) if *slot == 0 => {
                    *slot = hash;
                    return;
                }
                Some(slot) if *slot == hash => {
                    self.maybe_repeated = true;
                    return;
                }
                _ => i += 1,
            }
        }
    }
}

/// Objects below the top of a record read in part ([`super::part`]):
/// the keys of the last one read with each keep, numbered by the keep's
/// `node`, with the index of each among the keep's keys (`None` when not
/// kept). Like the memo's key sequences, they tell which key comes next,
/// and are compared with it as written; unlike them they only save a
/// look-up: what a key does depends on the key and the keep alone.
#[derive(Debug, Default)]
pub(crate) struct Nest {
    /// The id of the record's keep the keeps are numbered in.
    top: u64,
    objects: Vec<NestedKeys>,
}

#[derive(Debug, Default)]
struct NestedKeys {
    /// The keys, one after the other, none needing an escape in JSON.
    text: String,
    /// Where each key ends in `text`, and its index.
    keys: Vec<(usize, Option<usize>)>,
}

/// Objects (keeps) and keys in each that a [`Nest`] learns: past these,
/// keys are looked up as read.
const NESTED_OBJECTS: usize = 64;
const NESTED_KEYS: usize = 64;

impl Nest {
    /// This nest, for the keeps numbered in the record's keep of id `top`:
    /// emptied when it held another's, or for keeps not numbered (0).
    pub(super) fn of(&mut self, top: u64) -> &mut Nest {
        if self.top != top || top == 0 {
            self.top = top;
            self.objects.clear();
        }
        self
    }

    /// The key expected at `at` in an object read with the keep numbered
    /// `node`, and its index.
    #[inline]
    pub(super) fn expect(&self, node: u32, at: usize) -> Option<(&str, Option<usize>)> {
        let object = self.objects.get(node as usize)?;
        let (range, index) = span(&object.keys, at)?;
        Some((object.text.get(range)?, index))
    }

    /// Learns that the key at `at` of an object read with the keep
    /// numbered `node` is `key`, of this `index`. The keys learnt after
    /// it are forgotten; a key that needs an escape in JSON is not learnt
    /// (nor any after it).
    pub(super) fn learn(&mut self, node: u32, at: usize, key: &str, index: Option<usize>) {
        let node = node as usize;
        if node >= NESTED_OBJECTS {
            return;
        }
        if self.objects.len() <= node {
            self.objects.resize_with(node + 1, NestedKeys::default);
        }
        let Some(object) = self.objects.get_mut(node) else {
            return;
        };
        if object.keys.len() < at {
            return;
        }
        object.keys.truncate(at);
        object
            .text
            .truncate(object.keys.last().map_or(0, |&(end, _)| end));
        if at < NESTED_KEYS && !needs_escape(key) && object.text.len() + key.len() <= KEEP_TEXT {
            object.text.push_str(key);
            object.keys.push((object.text.len(), index));
        }
    }
}
