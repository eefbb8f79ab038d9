//! On the worker threads: a record → the compact events of the rules
//! that read it ([`extract`]), each with the [`Detail`] a finding needs.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::kept::{self, KeyTable};
use super::ticks::parse_ticks;
use crate::catalog::FieldPath;
use crate::check::Piece;
use crate::compile::travel::{self, Point};
use crate::compile::{MultiRule, MultiSpec, StepProgram};
use crate::eval;
use crate::record::{Location, LogCategory, Names, Object, Record};
use crate::window::{Key, KeyBuilder, Ticks, TieKey};

/// What the workers precompute once per rule.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Top-level fields a record's [`Detail`] keeps: `(name, any case)`.
    keep: Vec<(Box<str>, bool)>,
    /// The names every plan of the run keeps, for the compact form of
    /// kept fields; set by [`Plan::for_rules`].
    keys: KeyTable,
    /// Every `(name, any case)` some plan of the run keeps, each once, and
    /// which of them this plan keeps (a bit each); set by
    /// [`Plan::for_rules`]. A record taking part in several rules looks
    /// each of their fields up once, and the records of one layout find
    /// them at the same places.
    fields: Names,
    wants: Box<[u64]>,
    /// Whether a step of the rule travels: its records keep their
    /// coordinates.
    travels: bool,
}

/// The fields that identify a record in a finding.
const IDENTITY: [&str; 10] = [
    "id",
    "requestId",
    "createdDateTime",
    "timeGenerated",
    "userPrincipalName",
    "ipAddress",
    "appDisplayName",
    "correlationId",
    "userId",
    "appId",
];

impl Plan {
    /// The plans of a run's rules, sharing one table of the names they
    /// keep.
    pub fn for_rules(rules: &[MultiRule]) -> Vec<Plan> {
        let mut plans: Vec<Plan> = rules.iter().map(Plan::new).collect();
        let mut names: Vec<Box<str>> = Vec::new();
        for (name, _) in plans.iter().flat_map(|p| p.keep.iter()) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        let keys: KeyTable = names.into();
        let mut fields: Vec<(Box<str>, bool)> = Vec::new();
        for field in plans.iter().flat_map(|p| p.keep.iter()) {
            if !fields.contains(field) {
                fields.push(field.clone());
            }
        }
        let fields = Names::new(fields);
        for plan in &mut plans {
            plan.keys = Arc::clone(&keys);
            let mut wants = vec![0u64; fields.as_slice().len().div_ceil(64)];
            for (i, field) in fields.as_slice().iter().enumerate() {
                if plan.keep.contains(field)
                    && let Some(word) = wants.get_mut(i / 64)
                {
                    *word |= 1 << (i % 64);
                }
            }
            plan.wants = wants.into();
            plan.fields = fields.clone();
        }
        plans
    }

    /// The plan of one rule.
    fn new(rule: &MultiRule) -> Plan {
        let mut keep: Vec<(Box<str>, bool)> = Vec::new();
        let mut add = |path: &FieldPath| {
            if let Some(first) = path.segments().first() {
                let k = (first.clone(), path.is_raw());
                if !keep.contains(&k) {
                    keep.push(k);
                }
            }
        };
        for name in IDENTITY {
            add(&FieldPath::new([name], false));
        }
        for step in &rule.steps {
            for (_, w) in &step.where_ {
                crate::compile::visit_paths(&w.root, &mut add);
            }
        }
        match &rule.spec {
            MultiSpec::Window(w) => {
                w.group_by.iter().for_each(|k| add(&k.path));
                w.distinct.iter().for_each(|(f, _)| add(&f.path));
            }
            MultiSpec::Sequence(s) => {
                s.steps
                    .iter()
                    .flat_map(|s| s.key.iter())
                    .for_each(|k| add(&k.path));
            }
        }
        for piece in &rule.message {
            match piece {
                Piece::Field(f)
                | Piece::Distinct(f)
                | Piece::Step { field: f, .. }
                | Piece::Key { field: f, .. } => add(&f.path),
                Piece::Text(_) | Piece::Count | Piece::Window(_) | Piece::Travel(_) => {}
            }
        }
        Plan {
            keep,
            keys: Arc::from([]),
            fields: Names::new([]),
            wants: Box::new([]),
            travels: rule.steps.iter().any(|s| s.travel.is_some()),
        }
    }
}

/// What a record keeps for findings of multi-record rules: one per
/// record, shared by every rule it takes part in.
#[derive(Debug)]
pub struct Kept {
    /// Where it was read.
    pub(super) location: Location,
    /// Its log.
    pub(super) category: LogCategory,
    /// Its time.
    pub(super) time: Ticks,
    /// The fields the rules' `where`, messages and keys read, and those of
    /// its identity, in the compact form of [`super::kept`]: a fraction of
    /// the memory of a map of values, read back only for the records a
    /// finding lists or a `where` compares.
    pub(super) packed: Box<[u8]>,
    /// The names the packed fields are numbered by.
    pub(super) keys: KeyTable,
}

impl Kept {
    /// The kept fields.
    pub(super) fn fields(&self) -> Map<String, Value> {
        kept::decode(&self.packed, &self.keys, self.time)
    }

    /// The record's coordinates, kept when a rule travels and the record
    /// has them.
    pub(super) fn point(&self) -> Option<Point> {
        kept::point(&self.packed)
    }

    /// Heap bytes of a record's kept part: the structure and its text.
    pub(super) fn heap_bytes(&self) -> usize {
        size_of::<Self>() + self.packed.len() + 16
    }
}

/// What a record taking part in one rule keeps: its shared part, and the
/// steps it was taken for (bit per step; 1 for windows).
#[derive(Debug, Clone)]
pub struct Detail {
    pub(super) kept: Arc<Kept>,
    pub(super) steps: u64,
}

/// One record taking part in one rule, as the workers give it.
#[derive(Debug, Clone)]
pub struct Part {
    pub(super) rule: u32,
    pub(super) time: Ticks,
    pub(super) tie: TieKey,
    pub(super) key: Key,
    pub(super) distinct: Box<[Option<Box<str>>]>,
    pub(super) detail: Detail,
}

/// The events one record gives, for every multi-record rule it takes part
/// in.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pub(super) parts: Vec<Part>,
    /// Where the record was read, when it would have taken part in some
    /// rule but has no readable time.
    pub(super) untimed: Option<Location>,
}

impl Parts {
    /// No parts (what `Default` gives, in a constant).
    pub const EMPTY: Parts = Parts {
        parts: Vec::new(),
        untimed: None,
    };

    /// Whether the record takes part in nothing.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && self.untimed.is_none()
    }
}

/// The time of a record in ticks: `createdDateTime`, or for Graph activity
/// `timeGenerated`.
fn record_time(record: &Record) -> Option<Ticks> {
    let name = if record.category == LogCategory::GraphActivity {
        "timeGenerated"
    } else {
        "createdDateTime"
    };
    let text = record.fields.get(name)?.as_str()?;
    parse_ticks(text)
}

/// The first present, non-blank value at a path, as text.
pub(super) fn first_text<O: Object + ?Sized>(fields: &O, path: &FieldPath) -> Option<String> {
    with_first_value(fields, path, &mut |text| text.to_string())
}

/// `give` of the first present, non-blank value at a path, as text
/// (trimmed; a number or a boolean as JSON writes it).
fn with_first_value<O: Object + ?Sized, T>(
    fields: &O,
    path: &FieldPath,
    give: &mut dyn FnMut(&str) -> T,
) -> Option<T> {
    let mut found = None;
    let (first, rest) = path.segments().split_first()?;
    let value = eval::lookup(fields, first, path.is_raw())?;
    crate::record::visit_value(value, rest, path.is_raw(), &mut |v| {
        let number;
        let text = match v {
            Value::String(s) => s.trim(),
            Value::Number(n) => {
                number = n.to_string();
                &number
            }
            Value::Bool(b) => {
                if *b {
                    "true"
                } else {
                    "false"
                }
            }
            _ => return false,
        };
        if text.is_empty() {
            return false;
        }
        found = Some(give(text));
        true
    });
    found
}

/// The key a record gives at the key fields `paths` (each its first
/// present value, as compared), or `None` when one is missing.
fn key_of<'p, O: Object + ?Sized>(
    fields: &O,
    paths: impl Iterator<Item = &'p FieldPath>,
    case_sensitive: bool,
) -> Option<Key> {
    let mut key = KeyBuilder::default();
    for path in paths {
        with_first_value(fields, path, &mut |text| {
            push_folded(&mut key, text, case_sensitive);
        })?;
    }
    Some(key.finish())
}

/// Adds a key's value as compared to the text of the key: lower case
/// unless the rule compares with case.
fn push_folded(key: &mut KeyBuilder, text: &str, case_sensitive: bool) {
    if case_sensitive {
        key.push(text);
    } else if text.is_ascii() {
        // Lower case in place: ASCII keeps its length.
        key.push(text).make_ascii_lowercase();
    } else {
        key.push(&text.to_lowercase());
    }
}

/// A distinct value (or, explaining a rule, a key's value) as compared:
/// lower case unless the rule compares with case.
pub(super) fn fold(text: &str, case_sensitive: bool) -> Box<str> {
    if case_sensitive {
        text.into()
    } else if text.is_ascii() {
        // The same as `to_lowercase` for ASCII, without a second string.
        let mut text: Box<str> = text.into();
        text.make_ascii_lowercase();
        text
    } else {
        text.to_lowercase().into()
    }
}

/// The record's own identifier: a sign-in's `id`, a Graph call's
/// `requestId`.
pub(super) fn record_id<O: Object + ?Sized>(fields: &O) -> Option<&str> {
    ["id", "requestId"].into_iter().find_map(|name| {
        fields
            .get_value(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    })
}

pub(super) fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The fields of a record that the plans of the rules it takes part in
/// keep, each looked up once (a raw field as a condition reads it:
/// [`Names::places`]), each key once.
fn kept_fields<'r, 'p>(
    plans: impl Iterator<Item = &'p Plan>,
    record: &'r Record,
) -> Vec<(&'r str, &'r Value)> {
    let mut plans = plans.peekable();
    let Some(names) = plans.peek().map(|p| &p.fields) else {
        return Vec::new();
    };
    let mut wanted = vec![0u64; names.as_slice().len().div_ceil(64)];
    for plan in plans {
        for (w, p) in wanted.iter_mut().zip(plan.wants.iter()) {
            *w |= p;
        }
    }
    let fields = &record.fields;
    let places = names.places(fields);
    let mut kept: Vec<(&str, &Value)> = Vec::with_capacity(names.as_slice().len());
    for (i, (name, raw)) in names.as_slice().iter().enumerate() {
        if wanted.get(i / 64).is_none_or(|w| w & 1 << (i % 64) == 0) {
            continue;
        }
        let at = match &places {
            Some(places) => places.get(i).copied().flatten().map(|at| at as usize),
            None => fields.position_of(name, *raw),
        };
        // Two names (a raw one and another) may find one key. The keys of
        // one record are distinct strings, so one key is one address
        // (and at most one of them is empty).
        if let Some((key, value)) = at.and_then(|at| fields.entry(at))
            && !kept.iter().any(|(k, _)| std::ptr::eq(*k, key.as_str()))
        {
            kept.push((key.as_str(), value));
        }
    }
    kept
}

/// The events of one record for every multi-record rule (with its plan)
/// that reads its log.
pub fn extract(rules: &[MultiRule], plans: &[Plan], record: &Record, location: &Location) -> Parts {
    extract_with(rules, plans, record, location, &mut |_, _, step| {
        step.matcher.matches(record)
    })
}

/// [`extract`], told by `holds(rule, step, program)` whether the record is
/// of step `step` of rule `rule` (the rule set asks its index, with the
/// fields it looked up for the single-record rules).
pub(crate) fn extract_with(
    rules: &[MultiRule],
    plans: &[Plan],
    record: &Record,
    location: &Location,
    holds: &mut dyn FnMut(usize, usize, &StepProgram) -> bool,
) -> Parts {
    let mut out = Parts::default();
    let mut timed: Option<Option<Ticks>> = None;
    let mut tie: Option<TieKey> = None;
    // The record's kept part is built once every rule it takes part in is
    // known, so it packs their fields only; the parts hold this until then.
    let pending = placeholder();
    let no_keys: KeyTable = Arc::from([]);
    // For each sequence in turn: its steps' keys, and the steps of each.
    let mut by_key: Vec<(Key, u64)> = Vec::new();
    let keys = plans.first().map_or(&no_keys, |p| &p.keys);
    for (r, rule) in rules.iter().enumerate() {
        if !rule.logs.contains(&record.category) {
            continue;
        }
        let mut steps = 0u64;
        for (i, step) in rule.steps.iter().enumerate() {
            // The step's `where` conditions that read no earlier step are
            // part of its matcher; those that do are asked pair by pair.
            if holds(r, i, step) {
                steps |= 1 << i;
            }
        }
        if steps == 0 {
            continue;
        }
        let Some(time) = *timed.get_or_insert_with(|| record_time(record)) else {
            out.untimed = Some(location.clone());
            continue;
        };
        let tie = *tie.get_or_insert_with(|| match record_id(&record.fields) {
            Some(id) => TieKey::from_id(id),
            None => {
                let json = serde_json::to_string(&record.fields).unwrap_or_default();
                TieKey::from_hash(fnv64(json.as_bytes()))
            }
        });
        let detail = |steps: u64| Detail {
            kept: Arc::clone(&pending),
            steps,
        };
        match &rule.spec {
            MultiSpec::Window(w) => {
                let fields = w.group_by.iter().map(|k| &k.path);
                let Some(key) = key_of(&record.fields, fields, w.case_sensitive) else {
                    continue;
                };
                let distinct = w
                    .distinct
                    .iter()
                    .map(|(f, _)| {
                        with_first_value(&record.fields, &f.path, &mut |t| {
                            fold(t, w.case_sensitive)
                        })
                    })
                    .collect();
                out.parts.push(Part {
                    rule: r as u32,
                    time,
                    tie,
                    key,
                    distinct,
                    detail: detail(1),
                });
            }
            MultiSpec::Sequence(s) => {
                // Steps whose keys give the same values share one event.
                by_key.clear();
                for (i, step) in s.steps.iter().enumerate() {
                    if steps >> i & 1 == 0 {
                        continue;
                    }
                    let fields = step.key.iter().map(|k| &k.path);
                    let Some(key) = key_of(&record.fields, fields, s.case_sensitive) else {
                        continue;
                    };
                    match by_key.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, bits)) => *bits |= 1 << i,
                        None => by_key.push((key, 1 << i)),
                    }
                }
                for (key, bits) in by_key.drain(..) {
                    out.parts.push(Part {
                        rule: r as u32,
                        time,
                        tie,
                        key,
                        distinct: Box::new([]),
                        detail: detail(bits),
                    });
                }
            }
        }
    }
    if let Some(time) = out.parts.first().map(|p| p.time) {
        let taking_part = |i: usize| out.parts.iter().any(|p| p.rule as usize == i);
        let mine = || {
            plans
                .iter()
                .enumerate()
                .filter(move |(i, _)| taking_part(*i))
                .map(|(_, p)| p)
        };
        let point = mine()
            .any(|p| p.travels)
            .then(|| travel::coordinates(&record.fields))
            .flatten();
        let kept = Arc::new(Kept {
            location: location.clone(),
            category: record.category.clone(),
            time,
            packed: kept::encode(kept_fields(mine(), record), keys, time, point),
            keys: Arc::clone(keys),
        });
        for part in &mut out.parts {
            part.detail.kept = Arc::clone(&kept);
        }
    }
    out
}

/// What a part holds before its record's kept part is built: one shared
/// empty value, so no part allocates for it.
fn placeholder() -> Arc<Kept> {
    static EMPTY: std::sync::OnceLock<Arc<Kept>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| {
        Arc::new(Kept {
            location: Location {
                path: Arc::from(""),
                line: 0,
                record: 0,
            },
            category: LogCategory::Interactive,
            time: 0,
            packed: Box::new([]),
            keys: Arc::from([]),
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Fields, Layout};

    fn plans(text: &str) -> (crate::engine::RuleSet, Vec<Plan>) {
        let mut loader = crate::engine::Loader::new();
        loader.add_source("rules.yaml", text);
        let set = loader.load().unwrap_or_else(|e| panic!("{e:?}"));
        let plans = Plan::for_rules(set.multi());
        (set, plans)
    }

    /// The keys of records under a rule that ignores case and one that
    /// does not: every value trimmed, folded as compared (non-ASCII too,
    /// where lower case may be longer), each after its length; a number as
    /// JSON writes it; no key when a value is missing or blank.
    #[test]
    fn keys_are_the_values_as_compared() {
        let rule = |id: &str, case: bool| {
            format!(
                "id: {id}\ntitle: k\nseverity: low\nmatch: {{ status.errorCode: 50126 }}\n\
                 window: {{ groupBy: [userPrincipalName, status.errorCode, raw.Tag], span: 20m, \
                 count: {{ gte: 100 }}, caseSensitive: {case} }}\n"
            )
        };
        let (set, plans) = plans(&format!(
            "{}---\n{}",
            rule("KEY-I", false),
            rule("KEY-C", true)
        ));
        let key_of = |upn: &str, tag: &str| -> Vec<Option<String>> {
            let fields = serde_json::json!({
                "createdDateTime": "2025-03-01T10:00:00Z",
                "userPrincipalName": upn,
                "status": { "errorCode": 50126 },
                "Tag": tag,
            });
            let Value::Object(map) = fields else {
                return Vec::new();
            };
            let record = Record {
                fields: Fields::from(map),
                category: LogCategory::Interactive,
            };
            let at = Location {
                path: Arc::from("a.json"),
                line: 1,
                record: 0,
            };
            let parts = extract(set.multi(), &plans, &record, &at);
            (0..2u32)
                .map(|r| {
                    let part = parts.parts.iter().find(|p| p.rule == r);
                    part.map(|p| p.key.as_str().to_string())
                })
                .collect()
        };
        let both = |key: &str| vec![Some(key.to_string()); 2];
        assert_eq!(key_of("bob@x.io", "a:1"), both("8:bob@x.io5:501263:a:1"));
        assert_eq!(
            key_of("  ÉMILE@x.io ", "İ"),
            [
                Some("11:émile@x.io5:501263:i\u{307}".to_string()),
                Some("11:ÉMILE@x.io5:501262:İ".to_string()),
            ]
        );
        assert_eq!(
            key_of("Bob@X.io", "TAG"),
            [
                Some("8:bob@x.io5:501263:tag".to_string()),
                Some("8:Bob@X.io5:501263:TAG".to_string()),
            ]
        );
        assert_eq!(key_of("bob@x.io", "  "), [None, None]);
    }

    /// The kept fields as found by name, record by record.
    fn by_name<'r>(plans: &[&Plan], record: &'r Record) -> Vec<(&'r str, &'r Value)> {
        let mut out: Vec<(&str, &Value)> = Vec::new();
        let Some(first) = plans.first() else {
            return out;
        };
        for (i, (name, raw)) in first.fields.as_slice().iter().enumerate() {
            let wanted = plans
                .iter()
                .any(|p| p.wants.get(i / 64).is_some_and(|w| w & 1 << (i % 64) != 0));
            if !wanted {
                continue;
            }
            // A raw field: the key spelled as its name, else the first in
            // key order equal to it ignoring case, as a condition reads it.
            let exact = record
                .fields
                .iter()
                .find(|(k, _)| k.as_str() == name.as_ref());
            let found = if *raw {
                exact.or_else(|| {
                    record
                        .fields
                        .iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .min_by(|a, b| a.0.cmp(b.0))
                })
            } else {
                exact
            };
            if let Some((k, v)) = found
                && !out.iter().any(|(taken, _)| *taken == k.as_str())
            {
                out.push((k.as_str(), v));
            }
        }
        out
    }

    /// Records of one layout, of another, and of none, through two runs of
    /// different rules (the first rule of one keeping as many fields as the
    /// other run's rule) and through subsets of one run's rules: the places
    /// kept per layout give what looking each field up by name gives.
    #[test]
    fn kept_fields_by_layout_are_those_found_by_name() {
        let (_one, one) = plans(
            r#"
id: KEEP-A
title: a
severity: low
match: { status.errorCode: 50126 }
window: { groupBy: [raw.customKey], span: 20m, count: { gte: 100 } }
---
id: KEEP-B
title: b
severity: low
match: { status.errorCode: 0 }
window: { groupBy: [appId], span: 20m, distinct: { userAgent: { gte: 100 } } }
"#,
        );
        let (_other, other) = plans(
            r#"
id: KEEP-C
title: c
severity: low
match: { status.errorCode: 0 }
window: { groupBy: [deviceDetail.deviceId], span: 20m, count: { gte: 100 } }
"#,
        );
        let keys = |names: &[&str]| -> Arc<[String]> {
            names
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .into()
        };
        // Two spellings of a raw field, the one first in key order second.
        let first = keys(&[
            "userAgent",
            "customKey",
            "id",
            "ipAddress",
            "CUSTOMKEY",
            "deviceDetail",
            "appId",
            "createdDateTime",
        ]);
        let second = keys(&["customkey", "ipAddress", "userPrincipalName", "id"]);
        let (a, b) = (Layout::new(), Layout::new());
        let record = |keys: &Arc<[String]>, layout: Option<Layout>, n: usize| {
            let values: Vec<Value> = (0..keys.len())
                .map(|i| Value::String(format!("value {n} {i}")))
                .collect();
            let fields = match layout {
                Some(layout) => Fields::shared(Arc::clone(keys), values, layout),
                None => Fields::from_keys_values(keys.to_vec(), values),
            };
            Record {
                fields,
                category: LogCategory::Interactive,
            }
        };
        let mut checked = 0;
        for n in 0..3 {
            for (keys, layout) in [(&first, Some(a)), (&second, Some(b)), (&first, None)] {
                let r = record(keys, layout, n);
                let subsets: Vec<Vec<&Plan>> = vec![
                    one.iter().collect(),
                    one.iter().take(1).collect(),
                    one.iter().skip(1).collect(),
                    other.iter().collect(),
                ];
                for plans in subsets {
                    let kept = kept_fields(plans.iter().copied(), &r);
                    assert_eq!(kept, by_name(&plans, &r), "{keys:?} {layout:?}");
                    checked += usize::from(!kept.is_empty());
                }
            }
        }
        assert_eq!(checked, 36);
    }
}
