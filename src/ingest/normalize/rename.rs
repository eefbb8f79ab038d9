//! Renaming an object's keys to the catalog fields they stand for.
//!
//! Where each key goes depends on the keys alone ([`Order`]); which of
//! several keys of one field wins, and whether a flat alias fills in its
//! object, depend on the values too. The result is first a list of names
//! ([`Name`]: a field, or an input key kept as it is) with their values,
//! then either an object with keys of its own, or, for a record's top
//! level read in a known layout, fields sharing the keys of every record
//! renamed the same way ([`Renaming`]): the keys of a Log Analytics row
//! are then neither copied nor freed record after record, and its fields
//! have a layout of their own.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Level, Target, coerce, fill, partly};
use crate::catalog::Field;
use crate::ingest::sparse::Keep;
use crate::record::{Fields, Layout, ObjectMut};

/// Where the keys of one object go, known from the keys alone.
pub(super) struct Order {
    /// The target of each key, in order, with its rank; `None` for a key
    /// kept as it is.
    targets: Vec<Option<(Target, u8)>>,
    /// The keys landing on a field of this level: by field (in catalog
    /// order), then rank, then key.
    direct: Vec<u32>,
    /// The flat aliases into an object: by rank, then key.
    nested: Vec<u32>,
    /// The keys of no field, in order.
    kept: Vec<u32>,
}

impl Order {
    /// Where `keys` go at `level`, the `excluded` ones kept as they are
    /// (see [`Level::target`]).
    pub(super) fn new(level: &Level, keys: &[String], excluded: &[&str]) -> Order {
        let targets: Vec<_> = keys.iter().map(|k| level.target(k, excluded)).collect();
        // Each key with what it is ordered by: its field (in catalog
        // order) or none, its rank, its text.
        let mut by: Vec<(*const Field, u8, &str, u32)> = Vec::with_capacity(keys.len());
        let mut kept = Vec::new();
        for ((i, target), key) in (0u32..).zip(&targets).zip(keys) {
            match target {
                Some((Target::Direct(field), rank)) => by.push((*field, *rank, key, i)),
                Some((Target::Nested(..), rank)) => by.push((std::ptr::null(), *rank, key, i)),
                None => kept.push(i),
            }
        }
        by.sort_unstable();
        // The flat aliases (no field of this level) come first.
        let nested = by.iter().take_while(|b| b.0.is_null()).count();
        let (nested, direct) = by.split_at(nested);
        Order {
            direct: direct.iter().map(|b| b.3).collect(),
            nested: nested.iter().map(|b| b.3).collect(),
            targets,
            kept,
        }
    }

    /// The field key `i` lands on, if it lands on one of this level.
    fn field(&self, i: u32) -> Option<&'static Field> {
        match self.targets.get(i as usize) {
            Some(Some((Target::Direct(field), _))) => Some(field),
            _ => None,
        }
    }
}

/// A key of a renamed object.
#[derive(Debug, Clone, Copy)]
pub(super) enum Name {
    /// A field, with the input key that gave its value (none for an
    /// object made to hold a flat alias).
    Field(&'static Field, Option<u32>),
    /// The input key at this place, kept as it is.
    Kept(u32),
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        match (self, other) {
            (Name::Field(a, i), Name::Field(b, j)) => std::ptr::eq(*a, *b) && i == j,
            (Name::Kept(i), Name::Kept(j)) => i == j,
            _ => false,
        }
    }
}

/// An object renamed ([`rename`]): its names, in order, and their values;
/// the names borrow the input's keys.
struct Renamed<'k> {
    keys: &'k [String],
    names: Vec<Name>,
    values: Vec<Value>,
}

impl Renamed<'_> {
    /// The key a name stands for.
    fn key(&self, name: Name) -> &str {
        match name {
            Name::Field(field, _) => field.name,
            Name::Kept(i) => self.keys.get(i as usize).map_or("", String::as_str),
        }
    }

    fn has(&self, key: &str) -> bool {
        self.names.iter().any(|n| self.key(*n) == key)
    }
}

/// What [`fill`] fills in: an object's fields, by catalog field.
pub(super) trait Slots {
    /// The value of `field`, if it has one.
    fn slot(&mut self, field: &'static Field) -> Option<&mut Value>;

    /// Gives `field`, which has no value yet, `value`.
    fn add(&mut self, field: &'static Field, value: Value);
}

impl Slots for Renamed<'_> {
    fn slot(&mut self, field: &'static Field) -> Option<&mut Value> {
        let at = self
            .names
            .iter()
            .position(|n| matches!(n, Name::Field(f, _) if f.name == field.name))?;
        self.values.get_mut(at)
    }

    fn add(&mut self, field: &'static Field, value: Value) {
        self.names.push(Name::Field(field, None));
        self.values.push(value);
    }
}

impl Slots for Map<String, Value> {
    fn slot(&mut self, field: &'static Field) -> Option<&mut Value> {
        self.get_mut(field.name)
    }

    fn add(&mut self, field: &'static Field, value: Value) {
        self.insert(field.name.to_string(), value);
    }
}

/// Renames the object of `keys` and `values` (in order, as `order` was
/// worked out for): fields in catalog order, then the objects made for
/// flat aliases, then the keys kept under their own names: those of no
/// field in input order, then the keys that lost to another of their
/// field, then the flat aliases that could not fill in their object.
///
/// When several keys land on one field, a non-null value beats a null and
/// then the lower rank ([`Level`]) wins; the others are kept under their
/// own names. Flat aliases into an object (`Location`, `ResultType`) only
/// fill in what the object itself lacks. `keep`, when given, is what of
/// the object rules read (see [`partly`]).
fn rename<'k>(
    level: &Level,
    keys: &'k [String],
    mut values: Vec<Value>,
    order: &Order,
    keep: Option<&Keep>,
) -> Renamed<'k> {
    let mut out = Renamed {
        keys,
        names: Vec::with_capacity(keys.len()),
        values: Vec::with_capacity(keys.len()),
    };
    let key = |i: u32| keys.get(i as usize).map_or("", String::as_str);
    let is_null = |values: &[Value], i: u32| values.get(i as usize).is_none_or(Value::is_null);
    // Keys that lost to another of their field, or could not fill in
    // their object: kept under their own names after the others.
    let mut lost = Vec::new();
    let mut rest = order.direct.as_slice();
    while let Some((field, first)) = rest.first().and_then(|i| Some((order.field(*i)?, *i))) {
        let len = rest
            .iter()
            .take_while(|i| order.field(**i).is_some_and(|f| std::ptr::eq(f, field)))
            .count();
        let (keys_of_field, tail) = rest.split_at(len);
        rest = tail;
        for &i in keys_of_field {
            if let Some(slot) = values.get_mut(i as usize) {
                *slot = partly(field, key(i), std::mem::take(slot), keep);
            }
        }
        let winner = keys_of_field
            .iter()
            .copied()
            .find(|i| !is_null(&values, *i))
            .unwrap_or(first);
        let others = keys_of_field.iter().copied().filter(|i| *i != winner);
        lost.extend(others.clone().filter(|i| !is_null(&values, *i)));
        lost.extend(others.filter(|i| is_null(&values, *i)));
        let value = take(&mut values, winner);
        out.names.push(Name::Field(field, Some(winner)));
        out.values.push(coerce(field, level.child(field), value));
    }
    for &i in &order.nested {
        let Some(Some((target, _))) = order.targets.get(i as usize) else {
            continue;
        };
        if let Err(value) = fill(level, &mut out, *target, take(&mut values, i)) {
            if let Some(slot) = values.get_mut(i as usize) {
                *slot = value;
            }
            lost.push(i);
        }
    }
    for i in order.kept.iter().copied().chain(lost) {
        // Only a null that lost to a value can meet its own field's name
        // here; dropping it loses nothing.
        if !out.has(key(i)) {
            out.names.push(Name::Kept(i));
            out.values.push(take(&mut values, i));
        }
    }
    out
}

/// The value at `i`, taken out (null left in its place).
fn take(values: &mut [Value], i: u32) -> Value {
    values
        .get_mut(i as usize)
        .map(std::mem::take)
        .unwrap_or_default()
}

/// [`rename`] into an object with keys of its own (an input key's string
/// serves its field's name when it can), the `excluded` keys kept as they
/// are (see [`Order::new`]).
pub(super) fn renamed<O: ObjectMut + Default>(
    level: &Level,
    mut keys: Vec<String>,
    values: Vec<Value>,
    excluded: &[&str],
    keep: Option<&Keep>,
) -> O {
    let order = Order::new(level, &keys, excluded);
    let Renamed { names, values, .. } = rename(level, &keys, values, &order, keep);
    let mut out = O::default();
    out.reserve_keys(names.len());
    for (name, value) in names.into_iter().zip(values) {
        let from = match name {
            Name::Field(_, at) => at,
            Name::Kept(at) => Some(at),
        };
        let mut key = from
            .and_then(|at| keys.get_mut(at as usize))
            .map(std::mem::take)
            .unwrap_or_default();
        if let Name::Field(field, _) = name
            && key != field.name
        {
            key.clear();
            key.push_str(field.name);
        }
        out.insert_new_key(key, value);
    }
    out
}

/// How many ways of renaming one layout's keys a [`Renaming`] keeps a
/// layout for, the first met after its first record; a record renamed yet
/// another way gets keys of its own.
const MADE_KEPT: usize = 8;

/// The renaming of a layout's keys at a record's top level: its
/// [`Order`], and the layouts of the fields it made, each with its names
/// and keys.
pub(super) struct Renaming {
    order: Order,
    made: Vec<(Vec<Name>, Layout, Arc<[String]>)>,
    /// Whether a record was renamed already: the first gets keys of its
    /// own (a layout met once, as when many rows each leave out other
    /// cells, is not worth working out places for).
    used: bool,
}

impl Renaming {
    pub(super) fn new(order: Order) -> Renaming {
        Renaming {
            order,
            made: Vec::new(),
            used: false,
        }
    }

    /// Renames a record's top-level fields, read under `keys` (the keys of
    /// the layout this renaming was worked out for): fields renamed alike
    /// share their keys and layout.
    pub(super) fn apply(
        &mut self,
        level: &Level,
        keys: &[String],
        values: Vec<Value>,
        keep: Option<&Keep>,
    ) -> Fields {
        let renamed = rename(level, keys, values, &self.order, keep);
        let found = self.made.iter().find(|(names, ..)| *names == renamed.names);
        let (layout, shared) = match found {
            Some((_, layout, keys)) => (*layout, Arc::clone(keys)),
            None => {
                let keys: Vec<String> = renamed
                    .names
                    .iter()
                    .map(|n| renamed.key(*n).to_string())
                    .collect();
                if !std::mem::replace(&mut self.used, true) || self.made.len() >= MADE_KEPT {
                    return Fields::from_keys_values(keys, renamed.values);
                }
                let (layout, made): (_, Arc<[String]>) = (Layout::new(), keys.into());
                self.made.push((renamed.names, layout, Arc::clone(&made)));
                (layout, made)
            }
        };
        Fields::shared(shared, renamed.values, layout)
    }
}
