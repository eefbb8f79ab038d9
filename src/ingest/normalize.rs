//! Normalization: takes one record object as read, in any of the record
//! shapes, and gives the canonical [`Record`]: catalog names, catalog types,
//! and the log category.
//!
//! One mechanism serves every shape: each input key is looked up in the
//! catalog ([`crate::catalog`]) by canonical name or Log Analytics alias,
//! exactly first, then ignoring letter case, and the value is coerced to the
//! catalog type. Objects the catalog describes are normalized the same way,
//! level by level. The shapes only differ in where the fields sit:
//! - **diagnostic settings**: a `properties` object (any case) next to a
//!   `category` or `operationName` key; the fields come from `properties`,
//!   and the envelope only fills in what `properties` lacks;
//! - **Log Analytics**: PascalCase columns; the `ResourceId` column (an Azure
//!   resource path) stays out of the canonical `resourceId`;
//! - **Graph** `signIn`: camelCase keys, and anything else.
//!
//! Nothing is dropped: keys the catalog does not know, and values that cannot
//! be coerced, are kept as they came. The only keys left out are envelope
//! keys that `properties` repeats, and envelope keys spelled exactly like a
//! canonical field that `properties` lacks (such as the envelope's
//! `resourceId`), which would otherwise pass for that field.

mod coerce;
mod rename;

use std::cell::Cell;
use std::sync::LazyLock;

use rustc_hash::FxHashMap as HashMap;
use serde_json::{Map, Value};

use super::markers::{
    self, DIAGNOSTIC_LOG, DIAGNOSTIC_SOURCE, GRAPH_ACTIVITY_MARKERS, IS_INTERACTIVE, KeyCounts,
    LA_LOG, LA_MARKERS, PROPERTIES, SERVICE_PRINCIPAL_ID, SIGN_IN_EVENT_TYPES, USER_ID,
    USER_PRINCIPAL_NAME,
};
use super::sparse::{Below, Keep};
use crate::catalog::{Field, GRAPH_ACTIVITY, SIGN_IN};
use crate::record::{Fields, Layout, LogCategory, Object, ObjectMut, Record};
use coerce::coerce;
use rename::{Order, Renaming, Slots};

/// The shape a record was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordShape {
    /// Graph `signIn` (camelCase), also the shape of rule test records.
    Graph,
    /// Azure Monitor diagnostic-settings record.
    Diagnostic,
    /// Log Analytics row (PascalCase columns).
    LogAnalytics,
    /// Entra admin center CSV row, its columns mapped to Graph names.
    AdminCenter,
}

impl RecordShape {
    /// The name used in [`crate::ingest::Reader::format`].
    pub(crate) fn name(self) -> &'static str {
        match self {
            RecordShape::Graph => "graph",
            RecordShape::Diagnostic => "diagnostic",
            RecordShape::LogAnalytics => "log-analytics",
            RecordShape::AdminCenter => "admin-center",
        }
    }
}

/// How records of one catalog are read: the catalog's fields indexed for key
/// lookup, and what the record shapes need to know about them.
struct Root {
    level: Level,
    /// Log Analytics columns (exact names, or any case unless spelled like
    /// their field) that hold something else than the catalog field of the
    /// same name, and are kept as they are.
    la_kept: &'static [&'static str],
    /// Diagnostic envelope keys (lower case) and the canonical path (dotted)
    /// they fill in when `properties` lacks it.
    envelope: &'static [(&'static str, &'static str)],
}

/// Sign-in records, indexed once.
static SIGN_IN_ROOT: LazyLock<Root> = LazyLock::new(|| Root {
    level: Level::new(SIGN_IN),
    // `ResourceId` is the Azure resource path of the log, not the Graph
    // `resourceId` (that one is `ResourceIdentity`); `TenantId` is the Log
    // Analytics workspace, not the Entra tenant (`AADTenantId`).
    la_kept: &["ResourceId", "TenantId"],
    envelope: markers::SIGN_IN_ENVELOPE,
});

/// Graph activity records, indexed once.
static GRAPH_ACTIVITY_ROOT: LazyLock<Root> = LazyLock::new(|| Root {
    level: Level::new(GRAPH_ACTIVITY),
    // `TenantId` is the Log Analytics workspace; the Entra tenant is
    // `AadTenantId`.
    la_kept: &["TenantId"],
    envelope: markers::GRAPH_ACTIVITY_ENVELOPE,
});

fn root_for(category: Option<&LogCategory>) -> &'static Root {
    match category {
        Some(LogCategory::GraphActivity) => &GRAPH_ACTIVITY_ROOT,
        _ => &SIGN_IN_ROOT,
    }
}

/// Whether a record object read from a log has something of a sign-in or
/// a Graph call: a key, at its top or in a diagnostic record's
/// `properties` (an object, or JSON text holding one), that names a field
/// of either catalog beyond the envelope ([`markers::is_record_key`]).
/// `counts`, when given, are those [`super::sparse`] took of the keys it
/// skipped as well as those it kept.
pub(crate) fn has_known_key(input: &impl Object, counts: Option<KeyCounts>) -> bool {
    let top = match counts {
        Some(counts) => counts.known,
        None => input.entries().any(|(k, _)| markers::is_record_key(k)),
    };
    top || input
        .entries()
        .filter(|(k, _)| k.eq_ignore_ascii_case(PROPERTIES))
        .any(|(_, v)| match v {
            Value::Object(m) => m.keys().any(|k| markers::is_record_key(k)),
            Value::String(_) => into_properties(v.clone())
                .is_some_and(|m| m.keys().any(|k| markers::is_record_key(k))),
            _ => false,
        })
}

/// Normalizes a record object, detecting its shape.
pub(crate) fn normalize_object(input: Map<String, Value>) -> (Record, RecordShape) {
    normalize_with(input.into(), None, None, None)
}

/// Normalizes a record object read by [`super::sparse`]: `counts`, when
/// given, counts the keys the record had before unwanted ones were skipped,
/// for shape detection; JSON text in a value is parsed only as far as
/// `keep` wants it.
pub(crate) fn normalize_counted(
    input: Fields,
    counts: Option<KeyCounts>,
    keep: Option<&Keep>,
) -> (Record, RecordShape) {
    let shape = detect(&input, counts);
    normalize_with(input, Some(shape), None, keep)
}

/// Normalizes a record object. `shape`, when given, is the shape the reader
/// knows the record has; otherwise it is detected.
/// `log`, when given, is the record's log, whatever the record says.
/// `keep`, when given, is what rules read: JSON text in a value is parsed
/// only as far as it wants (see [`coerce::parse_text`]).
///
/// The log decides the catalog: the source the record names (diagnostic
/// `category`, Log Analytics `Type`), else, for a record that names none,
/// Graph activity when it has the keys of one ([`GRAPH_ACTIVITY_MARKERS`]),
/// else sign-ins, with the category derived from the fields.
pub(crate) fn normalize_with(
    input: Fields,
    shape: Option<RecordShape>,
    log: Option<&LogCategory>,
    keep: Option<&Keep>,
) -> (Record, RecordShape) {
    let shape = shape.unwrap_or_else(|| detect(&input, None));
    let named: &[&str] = match shape {
        RecordShape::Diagnostic => &DIAGNOSTIC_LOG,
        RecordShape::LogAnalytics => &LA_LOG,
        RecordShape::Graph | RecordShape::AdminCenter => &[],
    };
    let source = named
        .iter()
        .find_map(|name| input.get_any_case(name).and_then(Value::as_str))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(LogCategory::from_source);
    let known = log.cloned().or(source).or_else(|| {
        let marked = GRAPH_ACTIVITY_MARKERS
            .iter()
            .all(|m| input.get_any_case(m).is_some_and(|v| !v.is_null()));
        marked.then_some(LogCategory::GraphActivity)
    });
    let root = root_for(known.as_ref());
    let fields = match shape {
        RecordShape::Diagnostic => diagnostic(root, input, keep),
        RecordShape::LogAnalytics => top_level(&root.level, input, root.la_kept, keep),
        RecordShape::Graph | RecordShape::AdminCenter => top_level(&root.level, input, &[], keep),
    };
    let category = known.unwrap_or_else(|| derive_category(&fields));
    (Record { fields, category }, shape)
}

/// Normalizes a record read from an Entra admin center CSV download: the
/// columns the reader mapped, as Graph names in `canonical`, go through the
/// sign-in catalog; the columns it could not map are added as they came,
/// under their own names (a name already taken gets ` (2)`, ` (3)`, ...).
pub(crate) fn normalize_admin_center(
    canonical: Map<String, Value>,
    unmapped: Vec<(String, Value)>,
) -> Record {
    let (mut record, _) =
        normalize_with(canonical.into(), Some(RecordShape::AdminCenter), None, None);
    for (key, value) in unmapped {
        insert_new(&mut record.fields, &key, value);
    }
    record
}

/// Inserts under `name`, or under `name (2)`, `name (3)`, ... when taken.
pub(super) fn insert_new(out: &mut impl ObjectMut, name: &str, value: Value) {
    let mut key = name.to_string();
    let mut n = 2;
    while out.get_value(&key).is_some() {
        key = format!("{name} ({n})");
        n += 1;
    }
    out.insert_value(key, value);
}

fn detect(input: &Fields, counts: Option<KeyCounts>) -> RecordShape {
    let has_properties = input
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case(PROPERTIES) && is_properties(v));
    let has_source = DIAGNOSTIC_SOURCE
        .iter()
        .any(|name| input.keys().iter().any(|k| k.eq_ignore_ascii_case(name)));
    if has_properties && has_source {
        return RecordShape::Diagnostic;
    }
    let KeyCounts { total, upper, .. } =
        counts.unwrap_or_else(|| KeyCounts::of(input.keys().iter()));
    if LA_MARKERS.iter().any(|k| input.contains_key(k)) || upper * 2 > total {
        RecordShape::LogAnalytics
    } else {
        RecordShape::Graph
    }
}

/// Whether a value can be the `properties` of a diagnostic record: an
/// object, or JSON text holding one, as some pipelines write it.
fn is_properties(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::String(text) => {
            matches!(
                serde_json::from_str::<Value>(text.trim()),
                Ok(Value::Object(_))
            )
        }
        _ => false,
    }
}

/// The object of a value accepted by [`is_properties`].
fn into_properties(value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        Value::String(text) => match serde_json::from_str::<Value>(text.trim()) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        },
        _ => None,
    }
}

/// A diagnostic-settings record: canonical fields from `properties`, and
/// the envelope keys of [`Root::envelope`] (such as `resultType`,
/// `callerIpAddress`, `location`) filling in what `properties` lacks.
fn diagnostic(root: &Root, input: Fields, keep: Option<&Keep>) -> Fields {
    // In key order, in which the first of several keys counts.
    let mut input = input.into_map();
    let key = input
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case(PROPERTIES) && is_properties(v))
        .map(|(k, _)| k.clone());
    let properties = key
        .and_then(|k| input.remove(&k))
        .and_then(into_properties)
        // Detection makes a record diagnostic only when it has such a
        // `properties`; a record read as diagnostic without one has none.
        .unwrap_or_default();
    let inner_keys: Vec<String> = properties.keys().cloned().collect();
    let level = &root.level;
    let mut out = object(level, properties, &[], keep);
    for (key, value) in input {
        let value = match envelope_target(root, &key, &value) {
            Some(target) => match fill(level, &mut out, target, value) {
                Ok(()) => continue,
                Err(value) => value,
            },
            None => value,
        };
        let repeated = inner_keys.iter().any(|k| k.eq_ignore_ascii_case(&key));
        let canonical = matches!(level.exact.get(key.as_str()), Some((Target::Direct(_), 0)));
        if !repeated && !canonical {
            out.entry(key).or_insert(value);
        }
    }
    out.into()
}

/// Where an envelope key of a diagnostic record goes in the canonical
/// record, if anywhere: only scalars fill in (an object under `location` is
/// no country).
fn envelope_target(root: &Root, key: &str, value: &Value) -> Option<Target> {
    if value.is_object() || value.is_array() {
        return None;
    }
    let lower = key.to_ascii_lowercase();
    let (_, path) = root.envelope.iter().find(|(k, _)| *k == lower)?;
    let fields = root.level.fields;
    match path.split_once('.') {
        Some((parent, child)) => {
            let parent = fields.iter().find(|f| f.name == parent && !f.list)?;
            let child = parent.children().iter().find(|c| c.name == child)?;
            Some(Target::Nested(parent, child))
        }
        None => fields.iter().find(|f| f.name == *path).map(Target::Direct),
    }
}

/// Where an input key lands in the canonical record.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A field at this level.
    Direct(&'static Field),
    /// A field of an object at this level, named by a flat alias
    /// (`Location` is `location.countryOrRegion`).
    Nested(&'static Field, &'static Field),
}

/// The catalog fields of one object level, indexed by the keys that
/// stand for them, with the levels of its object fields below.
///
/// Each key gets a rank: lower ranks win when several keys land on one
/// field. Exact spellings (name 0, alias 1, flat alias into an object 2)
/// come before matches that ignore case (3, 4, 5), so `Location` is the
/// country and `location` the object, as the catalog resolves rule field names;
/// within a rank the catalog's order decides.
struct Level {
    fields: &'static [Field],
    exact: HashMap<&'static str, (Target, u8)>,
    folded: HashMap<String, (Target, u8)>,
    children: HashMap<&'static str, Level>,
}

impl Level {
    fn new(fields: &'static [Field]) -> Level {
        let names = fields.iter().map(|f| (f.name, Target::Direct(f))).collect();
        let aliases = fields
            .iter()
            .flat_map(|f| f.aliases.iter().map(move |a| (*a, Target::Direct(f))))
            .collect();
        let nested = fields
            .iter()
            .filter(|f| !f.list)
            .flat_map(|parent| {
                parent.children().iter().flat_map(move |child| {
                    child
                        .aliases
                        .iter()
                        .map(move |a| (*a, Target::Nested(parent, child)))
                })
            })
            .collect();
        let mut exact = HashMap::default();
        let mut folded = HashMap::default();
        let groups: [Vec<(&'static str, Target)>; 3] = [names, aliases, nested];
        for (rank, group) in (0u8..).zip(groups) {
            for (name, target) in group {
                exact.entry(name).or_insert((target, rank));
                folded
                    .entry(name.to_ascii_lowercase())
                    .or_insert((target, rank + 3));
            }
        }
        let children = fields
            .iter()
            .filter(|f| !f.children().is_empty())
            .map(|f| (f.name, Level::new(f.children())))
            .collect();
        Level {
            fields,
            exact,
            folded,
            children,
        }
    }

    /// The field an input key stands for, with its rank.
    fn lookup(&self, key: &str) -> Option<(Target, u8)> {
        if let Some(found) = self.exact.get(key) {
            return Some(*found);
        }
        let mut buf = [0u8; 64];
        let folded = match buf.get_mut(..key.len()) {
            Some(lower) => {
                lower.copy_from_slice(key.as_bytes());
                lower.make_ascii_lowercase();
                // Lower-casing ASCII letters keeps UTF-8 valid.
                std::str::from_utf8(lower)
                    .ok()
                    .and_then(|k| self.folded.get(k))
            }
            None => self.folded.get(&key.to_ascii_lowercase()),
        };
        folded.copied()
    }

    /// The field an input key stands for, with its rank, in an object
    /// whose `excluded` keys (matched ignoring case, unless spelled exactly
    /// like their field) are kept as they are: `None` for a key kept as it
    /// came.
    fn target(&self, key: &str, excluded: &[&str]) -> Option<(Target, u8)> {
        let skip = excluded.iter().any(|x| x.eq_ignore_ascii_case(key))
            && !self.fields.iter().any(|f| f.name == key);
        if skip { None } else { self.lookup(key) }
    }

    /// The level below an object field of this level.
    #[inline]
    fn child(&self, field: &Field) -> Option<&Level> {
        // Most fields are no object: no name to hash then.
        if field.children().is_empty() {
            return None;
        }
        self.children.get(field.name)
    }

    /// The level below the field a target lands on.
    fn target_child(&self, target: Target) -> Option<&Level> {
        match target {
            Target::Direct(field) => self.child(field),
            Target::Nested(parent, child) => self.child(parent).and_then(|l| l.child(child)),
        }
    }
}

/// Normalizes one object level against `level` ([`rename`]). `excluded`
/// names keys (matched ignoring case, unless spelled exactly like their
/// field) that are kept as they are instead of being mapped.
fn object(
    level: &Level,
    mut input: Map<String, Value>,
    excluded: &[&str],
    keep: Option<&Keep>,
) -> Map<String, Value> {
    if in_place(level, &mut input, excluded, keep) {
        return input;
    }
    let (keys, values): (Vec<String>, Vec<Value>) = input.into_iter().unzip();
    rename::renamed(level, keys, values, excluded, keep)
}

/// [`object`] for a record's top-level fields: in place when it can be.
/// Whether it can be, and the field of each key, depend only on the keys:
/// for fields of a known [`Layout`] they are worked out once per layout
/// (per thread), not once per record.
fn top_level(
    level: &'static Level,
    mut input: Fields,
    excluded: &'static [&'static str],
    keep: Option<&Keep>,
) -> Fields {
    let layout = input.layout();
    if !layout.is_known() {
        if in_place(level, &mut input, excluded, keep) {
            return input;
        }
        return renamed_own(level, input, excluded, keep);
    }
    // Taken out while in use and put back after: nothing below reads a
    // record's top level again, but fresh plans would do no harm.
    let mut plans = PLANS.try_with(Cell::take).unwrap_or_default();
    match plans.iter().position(|p| p.is_for(layout, level, excluded)) {
        Some(0) => {}
        Some(i) => {
            let plan = plans.remove(i);
            plans.insert(0, plan);
        }
        None => {
            plans.truncate(PLANS_KEPT - 1);
            let fields = input
                .keys()
                .iter()
                .map(|key| own(level, key, excluded))
                .collect();
            let placed = match fields {
                Some(fields) => Placed::InPlace(fields),
                None => Placed::Renamed(Renaming::new(Order::new(level, input.keys(), excluded))),
            };
            plans.insert(
                0,
                Plan {
                    layout,
                    level,
                    excluded,
                    placed,
                },
            );
        }
    }
    let out = match plans.first_mut().map(|p| &mut p.placed) {
        Some(Placed::InPlace(fields)) => {
            for ((key, value), field) in input.iter_mut().zip(fields.iter()) {
                if let Some(field) = field {
                    coerce_in_place(level, field, key, value, keep);
                }
            }
            input
        }
        Some(Placed::Renamed(renaming)) => match input.into_shared() {
            Ok((keys, values)) => renaming.apply(level, &keys, values, keep),
            Err(input) => renamed_own(level, input, excluded, keep),
        },
        None => renamed_own(level, input, excluded, keep),
    };
    let _ = PLANS.try_with(|cell| cell.set(plans));
    out
}

/// A record's top-level fields renamed into fields with keys of their own.
fn renamed_own(level: &Level, input: Fields, excluded: &[&str], keep: Option<&Keep>) -> Fields {
    let (keys, values) = input.into_keys_values();
    rename::renamed(level, keys, values, excluded, keep)
}

/// What normalization finds of the keys of one [`Layout`] at the top
/// level.
struct Plan {
    layout: Layout,
    level: &'static Level,
    excluded: &'static [&'static str],
    placed: Placed,
}

/// Where the keys of a layout go.
enum Placed {
    /// Each key is spelled as its field or is no field's: the field of
    /// each, in order (`None` for a key kept as it is).
    InPlace(Vec<Option<&'static Field>>),
    /// Some key needs renaming.
    Renamed(Renaming),
}

impl Plan {
    fn is_for(&self, layout: Layout, level: &Level, excluded: &[&str]) -> bool {
        self.layout == layout
            && std::ptr::eq(self.level, level)
            && std::ptr::eq(self.excluded, excluded)
    }
}

/// How many plans a thread keeps: as many as the reader keeps key
/// sequences, for each catalog a record of one may be read against.
const PLANS_KEPT: usize = 8;

thread_local! {
    /// The plans of the last layouts normalized on this thread, the last
    /// used first.
    static PLANS: Cell<Vec<Plan>> = const { Cell::new(Vec::new()) };
}

/// For [`in_place`]: `Some(Some(field))` for a key spelled as its field,
/// `Some(None)` for a key of no field (kept as it is), `None` for a key
/// that is another spelling of a field (to be renamed).
fn own(level: &Level, key: &str, excluded: &[&str]) -> Option<Option<&'static Field>> {
    match level.target(key, excluded) {
        None => Some(None),
        Some((Target::Direct(field), _)) if field.name == key => Some(Some(field)),
        Some(_) => None,
    }
}

/// Coerces the value of `key`, which is spelled as its `field`, where it is.
fn coerce_in_place(
    level: &Level,
    field: &'static Field,
    key: &str,
    value: &mut Value,
    keep: Option<&Keep>,
) {
    if coerce::settled(field, value) {
        return;
    }
    let value_in = partly(field, key, std::mem::take(value), keep);
    *value = coerce(field, level.child(field), value_in);
}

/// [`object`] without building a new map, for the common object whose every
/// key is either its field's own name or no field's (kept as it is): then
/// no key moves, so normalizing is coercing the fields' values where they
/// are. Gives `false`, with `input` untouched, for any other object.
fn in_place(
    level: &Level,
    input: &mut impl ObjectMut,
    excluded: &[&str],
    keep: Option<&Keep>,
) -> bool {
    // The fields found by the first pass, for the second (most objects
    // have fewer keys than this).
    let mut found: [Option<&'static Field>; 64] = [None; 64];
    for (i, (key, _)) in input.entries().enumerate() {
        match own(level, key, excluded) {
            None => return false,
            Some(field) => {
                if let Some(slot) = found.get_mut(i) {
                    *slot = field;
                }
            }
        }
    }
    for (i, (key, value)) in input.entries_mut().enumerate() {
        let field = match found.get(i) {
            Some(field) => *field,
            None => own(level, key, excluded).flatten(),
        };
        if let Some(field) = field {
            coerce_in_place(level, field, key, value, keep);
        }
    }
    true
}

/// A value whose JSON text coercion parses (a Log Analytics dynamic
/// column written as text), parsed building only what `keep` wants below
/// `key`; any other value as it is.
fn partly(field: &'static Field, key: &str, value: Value, keep: Option<&Keep>) -> Value {
    let json_text = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.trim_start().starts_with(['[', '{']))
    };
    match keep {
        Some(keep) if json_text(&value) => match keep.get(key) {
            Some(Below::Some(below)) => coerce::parse_text(field, value, below),
            _ => value,
        },
        _ => value,
    }
}

/// Puts `value` at `target` if nothing is there yet; gives it back
/// otherwise, and for null or blank values, which carry nothing to fill.
fn fill(level: &Level, out: &mut impl Slots, target: Target, value: Value) -> Result<(), Value> {
    if is_blank(&value) {
        return Err(value);
    }
    let below = level.target_child(target);
    match target {
        Target::Direct(field) => match out.slot(field) {
            Some(there) if !there.is_null() => Err(value),
            Some(there) => {
                *there = coerce(field, below, value);
                Ok(())
            }
            None => {
                out.add(field, coerce(field, below, value));
                Ok(())
            }
        },
        Target::Nested(parent, child) => {
            match out.slot(parent) {
                Some(there) if there.is_null() => *there = Value::Object(Map::new()),
                Some(_) => {}
                None => out.add(parent, Value::Object(Map::new())),
            }
            match out.slot(parent) {
                Some(Value::Object(map)) if map.get(child.name).is_none_or(Value::is_null) => {
                    map.insert(child.name.to_string(), coerce(child, below, value));
                    Ok(())
                }
                _ => Err(value),
            }
        }
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// The log category of a record that does not name its source:
/// 1. the first element of `signInEventTypes` that names a sign-in log
///    (`interactiveUser`, `nonInteractiveUser`, `servicePrincipal`,
///    `managedIdentity`); it comes before `isInteractive` because some
///    non-interactive sign-ins (FIDO2 keys among them) are marked
///    interactive;
/// 2. `isInteractive`: true is interactive, false non-interactive;
/// 3. a non-empty `servicePrincipalId` with neither `userId` nor
///    `userPrincipalName`: service principal;
/// 4. otherwise interactive, as Graph's `/auditLogs/signIns` lists
///    interactive sign-ins by default.
pub(crate) fn derive_category(fields: &Fields) -> LogCategory {
    if let Some(Value::Array(types)) = fields.get(SIGN_IN_EVENT_TYPES) {
        let named = types.iter().filter_map(Value::as_str).find_map(|t| {
            [
                ("interactiveUser", LogCategory::Interactive),
                ("nonInteractiveUser", LogCategory::NonInteractive),
                ("servicePrincipal", LogCategory::ServicePrincipal),
                ("managedIdentity", LogCategory::ManagedIdentity),
            ]
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(t.trim()))
            .map(|(_, category)| category)
        });
        if let Some(category) = named {
            return category;
        }
    }
    if let Some(Value::Bool(interactive)) = fields.get(IS_INTERACTIVE) {
        return if *interactive {
            LogCategory::Interactive
        } else {
            LogCategory::NonInteractive
        };
    }
    let present = |name: &str| fields.get(name).is_some_and(|v| !is_blank(v));
    if present(SERVICE_PRINCIPAL_ID) && !present(USER_ID) && !present(USER_PRINCIPAL_NAME) {
        return LogCategory::ServicePrincipal;
    }
    LogCategory::Interactive
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> (Record, RecordShape) {
        match v {
            Value::Object(map) => normalize_object(map),
            _ => normalize_object(Map::new()),
        }
    }

    fn fields(v: Value) -> Value {
        Value::Object(norm(v).0.fields.into_map())
    }

    #[test]
    fn settled_values_are_what_coercion_gives_back() {
        // Every field of both catalogs (children too) and values of every
        // kind: a value `settled` lets stay where it is must be what reading
        // JSON text and coercing would have made of it.
        let values = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(1),
            json!(2),
            json!(-3),
            json!(1.5),
            json!(2.0),
            json!(""),
            json!(" "),
            json!("0"),
            json!(" 2 "),
            json!("7"),
            json!("true"),
            json!("success"),
            json!("2025-03-01T00:00:03.3318132Z"),
            json!("2025-03-01T00:00:03Z"),
            json!("[\"a\"]"),
            json!("{\"a\": 1}"),
            json!([1]),
            json!({"a": 1}),
        ];
        fn walk(level: &Level, fields: &'static [Field], values: &[Value], checked: &mut usize) {
            for field in fields {
                let path = [field.name.to_string(), "x".to_string()];
                let keep = Keep::new([&path[..]], []);
                for value in values {
                    if coerce::settled(field, value) {
                        *checked += 1;
                        let read = partly(field, field.name, value.clone(), Some(&keep));
                        assert_eq!(
                            &coerce(field, level.child(field), read),
                            value,
                            "{}",
                            field.name
                        );
                    }
                }
                if let Some(below) = level.child(field) {
                    walk(below, field.children(), values, checked);
                }
            }
        }
        let mut checked = 0;
        for catalog in [SIGN_IN, GRAPH_ACTIVITY] {
            walk(&Level::new(catalog), catalog, &values, &mut checked);
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn small_graph_test_records_work() {
        let (r, shape) = norm(json!({"isInteractive": true, "status": {"errorCode": 0}}));
        assert_eq!(shape, RecordShape::Graph);
        assert_eq!(
            Value::Object(r.fields.into_map()),
            json!({"isInteractive": true, "status": {"errorCode": 0}})
        );
        assert_eq!(r.category, LogCategory::Interactive);
    }

    #[test]
    fn keys_match_in_any_case_and_unknown_keys_are_kept() {
        let f = fields(json!({
            "USERPRINCIPALNAME": "a@b.c",
            "Status": {"ErrorCode": "50126", "somethingNew": 1},
            "tokenProtectionStatusDetails": {"signInSessionStatus": "unbound"},
        }));
        assert_eq!(
            f,
            json!({
                "userPrincipalName": "a@b.c",
                "status": {"errorCode": 50126, "somethingNew": 1},
                "tokenProtectionStatusDetails": {"signInSessionStatus": "unbound"},
            })
        );
    }

    #[test]
    fn log_analytics_columns_map_through_aliases() {
        let (r, shape) = norm(json!({
            "TimeGenerated": "2021-04-28T14:09:00Z",
            "Type": "AADNonInteractiveUserSignInLogs",
            "ResultType": "0",
            "ResultDescription": "",
            "IPAddress": "10.0.0.1",
            "UserPrincipalName": "a@b.c",
            "Location": "GB",
            "LocationDetails": "{\"city\":\"London\",\"geoCoordinates\":{\"latitude\":\"51.5\"}}",
            "ConditionalAccessPolicies": "[{\"result\":\"success\",\"conditionsSatisfied\":3}]",
            "ConditionalAccessStatus": 2,
            "ResourceId": "/tenants/t/providers/Microsoft.aadiam",
            "ResourceIdentity": "00000003-0000-0000-c000-000000000000",
            "AuthenticationDetails": "",
            "Status": "",
        }));
        assert_eq!(shape, RecordShape::LogAnalytics);
        assert_eq!(r.category, LogCategory::NonInteractive);
        assert_eq!(
            Value::Object(r.fields.into_map()),
            json!({
                "TimeGenerated": "2021-04-28T14:09:00Z",
                "Type": "AADNonInteractiveUserSignInLogs",
                "ResultDescription": "",
                "status": {"errorCode": 0},
                "ipAddress": "10.0.0.1",
                "userPrincipalName": "a@b.c",
                "location": {"city": "London", "countryOrRegion": "GB", "geoCoordinates": {"latitude": 51.5}},
                "appliedConditionalAccessPolicies": [{"result": "success", "conditionsSatisfied": 3}],
                "conditionalAccessStatus": "notApplied",
                "ResourceId": "/tenants/t/providers/Microsoft.aadiam",
                "resourceId": "00000003-0000-0000-c000-000000000000",
                "authenticationDetails": [],
            })
        );
    }

    #[test]
    fn explicit_objects_win_over_flat_aliases() {
        let f = fields(json!({
            "Type": "SigninLogs",
            "ResultType": "50126",
            "Status": {"errorCode": 0},
            "Location": "US",
            "LocationDetails": {"countryOrRegion": "FR"},
        }));
        assert_eq!(f.get("status"), Some(&json!({"errorCode": 0})));
        assert_eq!(f.get("location"), Some(&json!({"countryOrRegion": "FR"})));
        // The losers are kept under their own names.
        assert_eq!(f.get("ResultType"), Some(&json!("50126")));
        assert_eq!(f.get("Location"), Some(&json!("US")));
    }

    #[test]
    fn exact_names_win_over_other_spellings() {
        let f = fields(json!({"ipAddress": "1.1.1.1", "IPADDRESS": "2.2.2.2"}));
        assert_eq!(f, json!({"ipAddress": "1.1.1.1", "IPADDRESS": "2.2.2.2"}));
        let f = fields(json!({"ipAddress": null, "IPAddress": "2.2.2.2"}));
        assert_eq!(f, json!({"ipAddress": "2.2.2.2"}));
    }

    #[test]
    fn among_equal_spellings_the_first_in_key_order_wins_however_read() {
        // Both keys are the field's name in another case (the same rank),
        // and neither is null: the first in key order wins.
        let entries = [
            ("userprincipalname", json!("second@b.c")),
            ("USERPRINCIPALNAME", json!("first@b.c")),
            ("IPADDRESS", json!(null)),
            ("ipaddress", json!("3.3.3.3")),
            ("Location", json!("GB")),
            ("location", json!("US")),
        ];
        // The losers are kept under their own names; `location` holds no
        // object for the flat `Location` to fill in.
        let want = json!({
            "userPrincipalName": "first@b.c",
            "userprincipalname": "second@b.c",
            "ipAddress": "3.3.3.3",
            "IPADDRESS": null,
            "location": "US",
            "Location": "GB",
        });
        for reversed in [false, true] {
            let mut read: Vec<(String, Value)> = entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            if reversed {
                read.reverse();
            }
            let (keys, values) = read.into_iter().unzip();
            let fields = Fields::from_keys_values(keys, values);
            let (r, _) = normalize_with(fields, None, None, None);
            assert_eq!(
                Value::Object(r.fields.into_map()),
                want,
                "reversed: {reversed}"
            );
        }
    }

    #[test]
    fn rows_of_one_layout_renamed_alike_share_their_keys() {
        // A Log Analytics layout: two spellings of one field, flat aliases
        // into `status` and `location`, a key of no field.
        let keys: Vec<String> = [
            "UserPrincipalName",
            "userprincipalname",
            "ResultType",
            "ResultDescription",
            "Status",
            "Location",
            "LocationDetails",
            "Extra",
        ]
        .map(String::from)
        .into();
        let shared: std::sync::Arc<[String]> = keys.clone().into();
        let layout = Layout::new();
        // Each choice changes how a row is renamed: which spelling wins
        // (null or not), and whether each flat alias fills in (blank or
        // not); twice each, with other values.
        let row = |choice: u32, n: u32| -> Vec<Value> {
            let on = |bit: u32| choice & (1 << bit) != 0;
            vec![
                if on(0) {
                    json!(null)
                } else {
                    json!(format!("a{n}@b.c"))
                },
                json!(format!("z{n}@b.c")),
                if on(1) {
                    json!(" ")
                } else {
                    json!(n.to_string())
                },
                if on(2) {
                    json!("")
                } else {
                    json!(format!("failed {n}"))
                },
                json!(format!("{{\"additionalDetails\": \"d{n}\"}}")),
                if on(3) { json!(null) } else { json!("GB") },
                json!(format!("{{\"city\": \"c{n}\"}}")),
                json!(n),
            ]
        };
        let mut made: Vec<(u32, Layout)> = Vec::new();
        let mut first = true;
        for n in 0..2 {
            for choice in 0..16 {
                let values = row(choice, n);
                let own = Fields::from_keys_values(keys.clone(), values.clone());
                let read = Fields::shared(std::sync::Arc::clone(&shared), values, layout);
                let shape = Some(RecordShape::LogAnalytics);
                let (want, _) = normalize_with(own, shape, None, None);
                let (got, _) = normalize_with(read, shape, None, None);
                assert!(!want.fields.layout().is_known());
                let entries = |r: &Record| -> Vec<(String, Value)> {
                    r.fields
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                assert_eq!(entries(&got), entries(&want), "choice {choice}, row {n}");
                let got_layout = got.fields.layout();
                match made.iter().find(|(c, _)| *c == choice) {
                    // Renamed as before: the same layout.
                    Some((_, before)) => assert_eq!(got_layout, *before, "choice {choice}"),
                    // The first row of a layout gets keys of its own.
                    None if std::mem::take(&mut first) => assert!(!got_layout.is_known()),
                    // The first eight ways after it get a layout each; the
                    // others keys of their own.
                    None if made.len() < 8 => {
                        assert!(got_layout.is_known(), "choice {choice}");
                        assert!(made.iter().all(|(_, l)| *l != got_layout));
                        made.push((choice, got_layout));
                    }
                    None => assert!(!got_layout.is_known(), "choice {choice}"),
                }
            }
        }
        assert_eq!(made.len(), 8);
        // Choice 0: everything fills in, the null-free first spelling wins.
        let (r, _) = normalize_with(
            Fields::shared(shared, row(0, 7), layout),
            Some(RecordShape::LogAnalytics),
            None,
            None,
        );
        assert_eq!(
            Value::Object(r.fields.into_map()),
            json!({
                "userPrincipalName": "a7@b.c",
                "userprincipalname": "z7@b.c",
                "status": {"additionalDetails": "d7", "errorCode": 7, "failureReason": "failed 7"},
                "location": {"city": "c7", "countryOrRegion": "GB"},
                "Extra": 7,
            })
        );
    }

    #[test]
    fn renamed_keys_come_in_a_fixed_order() {
        // Three spellings of one field (the winner neither first nor
        // last), two of another all null, a flat alias with no object to
        // fill (one is made), one whose object is null, one blank, the
        // Log Analytics keys kept as they are, keys of no field.
        let entries = [
            ("Zeta", json!(1)),
            ("ipaddress", json!("1.1.1.1")),
            ("IPAddress", json!(null)),
            ("IPADDRESS", json!("3.3.3.3")),
            ("UserPrincipalName", json!(null)),
            ("userPrincipalName", json!(null)),
            ("ResultType", json!("50126")),
            ("ResultDescription", json!("  ")),
            ("Location", json!("FR")),
            ("LocationDetails", json!(null)),
            ("ResourceId", json!("/r")),
            ("TenantId", json!("t")),
            ("alpha", json!(2)),
        ];
        // Fields in catalog order (the winners: the first non-null in
        // order of rank, then key; the first when all are null; `location`
        // null, made an object for `Location`), then `status`, made for
        // `ResultType`, then the keys of no field in their order, the
        // losers (values before nulls) and the flat alias that filled
        // nothing.
        let want = [
            ("userPrincipalName", json!(null)),
            ("ipAddress", json!("3.3.3.3")),
            ("location", json!({"countryOrRegion": "FR"})),
            ("status", json!({"errorCode": 50126})),
            ("Zeta", json!(1)),
            ("ResourceId", json!("/r")),
            ("TenantId", json!("t")),
            ("alpha", json!(2)),
            ("UserPrincipalName", json!(null)),
            ("ipaddress", json!("1.1.1.1")),
            ("IPAddress", json!(null)),
            ("ResultDescription", json!("  ")),
        ];
        let (keys, values): (Vec<String>, Vec<Value>) =
            entries.into_iter().map(|(k, v)| (k.to_string(), v)).unzip();
        let shape = Some(RecordShape::LogAnalytics);
        let own = Fields::from_keys_values(keys.clone(), values.clone());
        let shared = Fields::shared(keys.into(), values, Layout::new());
        for (read, fields) in [("own", own), ("shared", shared)] {
            let (r, _) = normalize_with(fields, shape, None, None);
            let got: Vec<(&str, &Value)> = r.fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
            let want: Vec<(&str, &Value)> = want.iter().map(|(k, v)| (*k, v)).collect();
            assert_eq!(got, want, "{read} keys");
        }
    }

    #[test]
    fn diagnostic_envelope_only_fills_in() {
        let (r, shape) = norm(json!({
            "time": "2025-01-01T00:00:00Z",
            "resourceId": "/tenants/t/providers/Microsoft.aadiam",
            "operationName": "Sign-in activity",
            "category": "ServicePrincipalSignInLogs",
            "resultType": "7000215",
            "resultDescription": "Invalid client secret",
            "callerIpAddress": "10.1.1.1",
            "correlationId": "outer",
            "location": "DE",
            "Level": "4",
            "Properties": {"correlationId": "inner", "status": {"additionalDetails": "x"}},
        }));
        assert_eq!(shape, RecordShape::Diagnostic);
        assert_eq!(r.category, LogCategory::ServicePrincipal);
        assert_eq!(
            Value::Object(r.fields.into_map()),
            json!({
                "time": "2025-01-01T00:00:00Z",
                "operationName": "Sign-in activity",
                "category": "ServicePrincipalSignInLogs",
                "Level": "4",
                "correlationId": "inner",
                "ipAddress": "10.1.1.1",
                "location": {"countryOrRegion": "DE"},
                "status": {
                    "errorCode": 7000215,
                    "failureReason": "Invalid client secret",
                    "additionalDetails": "x"
                },
            })
        );
    }

    #[test]
    fn diagnostic_properties_win_and_envelope_keys_stay_apart() {
        let f = fields(json!({
            "category": "SignInLogs",
            "resourceId": "/tenants/t/providers/Microsoft.aadiam",
            "resultType": "0",
            "tenantId": "outer",
            "properties": {"resourceId": "r", "status": {"errorCode": 50097}, "tenantId": "inner"},
        }));
        assert_eq!(
            f,
            json!({
                "category": "SignInLogs",
                "resourceId": "r",
                "resultType": "0",
                "tenantId": "inner",
                "status": {"errorCode": 50097},
            })
        );
    }

    #[test]
    fn integers_numbers_and_booleans_from_text() {
        let f = fields(json!({
            "processingTimeInMilliseconds": " 366 ",
            "autonomousSystemNumber": 4134.0,
            "location": {"geoCoordinates": {"latitude": "-33.86", "longitude": 151, "altitude": "high"}},
            "isInteractive": "True",
            "isTenantRestricted": "FALSE",
            "flaggedForReview": 0,
            "isThroughGlobalSecureAccess": "maybe",
            "deviceDetail": {"isCompliant": "true", "isManaged": 1},
        }));
        assert_eq!(
            f,
            json!({
                "processingTimeInMilliseconds": 366,
                "autonomousSystemNumber": 4134,
                "location": {"geoCoordinates": {"latitude": -33.86, "longitude": 151, "altitude": "high"}},
                "isInteractive": true,
                "isTenantRestricted": false,
                "flaggedForReview": false,
                "isThroughGlobalSecureAccess": "maybe",
                "deviceDetail": {"isCompliant": true, "isManaged": true},
            })
        );
    }

    #[test]
    fn empty_text_is_no_value_for_typed_fields() {
        let f = fields(json!({
            "processingTimeInMilliseconds": "",
            "isInteractive": " ",
            "createdDateTime": "",
            "status": "",
            "userDisplayName": "",
        }));
        assert_eq!(
            f,
            json!({
                "processingTimeInMilliseconds": null,
                "isInteractive": null,
                "createdDateTime": null,
                "status": null,
                "userDisplayName": "",
            })
        );
    }

    #[test]
    fn date_times_become_one_sortable_form() {
        let cases = [
            (
                "2025-02-01T16:26:24.6955459+00:00",
                "2025-02-01T16:26:24.6955459Z",
            ),
            ("2025-02-01T16:26:24Z", "2025-02-01T16:26:24.0000000Z"),
            (
                "2025-02-01T18:26:24.123456789+02:00",
                "2025-02-01T16:26:24.1234567Z",
            ),
            ("2021-04-28T14:08:45.221", "2021-04-28T14:08:45.2210000Z"),
            ("4/28/2021, 2:08:45.221 PM", "2021-04-28T14:08:45.2210000Z"),
            ("12/1/2021, 12:00:01 AM", "2021-12-01T00:00:01.0000000Z"),
        ];
        for (input, want) in cases {
            assert_eq!(
                crate::time::normalize(input).as_deref(),
                Some(want),
                "{input}"
            );
        }
        assert_eq!(crate::time::normalize("yesterday"), None);
        let f = fields(json!({"createdDateTime": "not a date"}));
        assert_eq!(f, json!({"createdDateTime": "not a date"}));
    }

    #[test]
    fn enum_codes_become_names() {
        for code in [json!(2), json!("2")] {
            let f = fields(json!({"conditionalAccessStatus": code}));
            assert_eq!(f, json!({"conditionalAccessStatus": "notApplied"}));
        }
        let f = fields(json!({"conditionalAccessStatus": "NOTAPPLIED", "riskState": 7}));
        assert_eq!(
            f,
            json!({"conditionalAccessStatus": "NOTAPPLIED", "riskState": "7"})
        );
    }

    #[test]
    fn string_lists_from_text() {
        let f = fields(json!({
            "signInEventTypes": "[\"interactiveUser\"]",
            "riskEventTypes_v2": "",
            "authenticationMethodsUsed": "Password, Text message ,",
        }));
        assert_eq!(
            f,
            json!({
                "signInEventTypes": ["interactiveUser"],
                "riskEventTypes_v2": [],
                "authenticationMethodsUsed": ["Password", "Text message"],
            })
        );
    }

    #[test]
    fn lists_of_objects_from_text_or_a_single_object() {
        let f = fields(json!({
            "authenticationDetails": "[\r\n  {\r\n    \"succeeded\": \"true\",\r\n    \"authenticationStepDateTime\": \"2020-05-20T14:55:25.9803507+00:00\"\r\n  }\r\n]",
            "networkLocationDetails": {"networkType": "namedNetwork", "networkNames": "a,b"},
            "sessionLifetimePolicies": "not json",
        }));
        assert_eq!(
            f,
            json!({
                "authenticationDetails": [{
                    "succeeded": true,
                    "authenticationStepDateTime": "2020-05-20T14:55:25.9803507Z"
                }],
                "networkLocationDetails": [{"networkType": "namedNetwork", "networkNames": ["a", "b"]}],
                "sessionLifetimePolicies": "not json",
            })
        );
    }

    #[test]
    fn dynamic_fields_are_left_as_they_are() {
        let f = fields(json!({
            "appliedConditionalAccessPolicies": [
                {"conditionsSatisfied": 1035, "conditionsNotSatisfied": "application,users"}
            ]
        }));
        assert_eq!(
            f,
            json!({
                "appliedConditionalAccessPolicies": [
                    {"conditionsSatisfied": 1035, "conditionsNotSatisfied": "application,users"}
                ]
            })
        );
    }

    #[test]
    fn category_from_the_record_itself() {
        let cat = |v: Value| norm(v).0.category;
        // Event types come before isInteractive (FIDO2 sign-ins marked
        // interactive are non-interactive).
        assert_eq!(
            cat(json!({"signInEventTypes": ["nonInteractiveUser"], "isInteractive": true})),
            LogCategory::NonInteractive
        );
        assert_eq!(
            cat(json!({"signInEventTypes": ["unknownFutureValue", "managedIdentity"]})),
            LogCategory::ManagedIdentity
        );
        assert_eq!(
            cat(json!({"isInteractive": "false"})),
            LogCategory::NonInteractive
        );
        assert_eq!(
            cat(json!({"servicePrincipalId": "sp", "userId": ""})),
            LogCategory::ServicePrincipal
        );
        assert_eq!(
            cat(json!({"servicePrincipalId": "sp", "userId": "u"})),
            LogCategory::Interactive
        );
        assert_eq!(cat(json!({})), LogCategory::Interactive);
        // A source category wins, and unknown ones are kept by name.
        assert_eq!(
            cat(json!({"category": "ADFSSignInLogs", "properties": {"isInteractive": true}})),
            LogCategory::Other("ADFSSignInLogs".into())
        );
        assert_eq!(
            cat(json!({"Category": "SignInLogs", "IsInteractive": false})),
            LogCategory::Interactive
        );
    }

    #[test]
    fn properties_held_as_text_are_read() {
        let (r, shape) = norm(json!({
            "category": "SignInLogs",
            "properties": "{\"id\": \"x\", \"status\": {\"errorCode\": \"0\"}}",
        }));
        assert_eq!(shape, RecordShape::Diagnostic);
        assert_eq!(r.fields.get("status"), Some(&json!({"errorCode": 0})));
    }
}
