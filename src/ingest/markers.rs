//! Marker keys: takes nothing, gives the one list of the keys that tell a
//! record's shape and its log, the diagnostic envelope keys, and the key
//! counts shape detection weighs.
//!
//! Normalization reads these keys to detect a record's shape and log;
//! selective parsing must therefore keep them whatever the rules read, or a
//! record read in part would be detected differently from the same record
//! read whole. Both take them from here, so neither depends on the other.

/// The key (any case) of a diagnostic record's payload object.
pub(super) const PROPERTIES: &str = "properties";

/// Keys (any case) that, next to a [`PROPERTIES`] object, make a record a
/// diagnostic-settings record.
pub(super) const DIAGNOSTIC_SOURCE: [&str; 2] = ["category", "operationName"];

/// The key (any case) where a diagnostic record names its log.
pub(super) const DIAGNOSTIC_LOG: [&str; 1] = ["category"];

/// The keys (any case, in order) where a Log Analytics row names its log.
pub(super) const LA_LOG: [&str; 2] = ["Type", "Category"];

/// Columns that tell a Log Analytics row apart (exact spelling).
pub(super) const LA_MARKERS: [&str; 4] = ["Type", "TenantId", "TimeGenerated", "SourceSystem"];

/// Keys (any case) that, together, mark a record that names no source as
/// Microsoft Graph activity: every Graph API call has both, no sign-in does.
pub(super) const GRAPH_ACTIVITY_MARKERS: [&str; 2] = ["requestUri", "requestMethod"];

/// The canonical fields the log category of a record that names no log is
/// derived from (see `normalize::derive_category`).
pub(super) const SIGN_IN_EVENT_TYPES: &str = "signInEventTypes";
pub(super) const IS_INTERACTIVE: &str = "isInteractive";
pub(super) const SERVICE_PRINCIPAL_ID: &str = "servicePrincipalId";
pub(super) const USER_ID: &str = "userId";
pub(super) const USER_PRINCIPAL_NAME: &str = "userPrincipalName";

/// Diagnostic envelope keys (lower case) of sign-in records, and the
/// canonical path (dotted) each fills in when `properties` lacks it.
pub(super) const SIGN_IN_ENVELOPE: &[(&str, &str)] = &[
    ("resulttype", "status.errorCode"),
    ("resultdescription", "status.failureReason"),
    ("calleripaddress", "ipAddress"),
    ("correlationid", "correlationId"),
    ("location", "location.countryOrRegion"),
    ("tenantid", "tenantId"),
];

/// Diagnostic envelope keys (lower case) of Graph activity records, and
/// the canonical path each fills in.
pub(super) const GRAPH_ACTIVITY_ENVELOPE: &[(&str, &str)] = &[
    ("time", "timeGenerated"),
    ("calleripaddress", "ipAddress"),
    ("durationms", "durationMs"),
    ("location", "location"),
    ("tenantid", "tenantId"),
];

/// Every key normalization reads whatever the rules: the shape and log
/// markers, and what the category is derived from. Duplicates (in any
/// case) are harmless to the callers, which build a set.
pub(super) fn always() -> impl Iterator<Item = &'static str> {
    std::iter::once(PROPERTIES)
        .chain(DIAGNOSTIC_SOURCE)
        .chain(DIAGNOSTIC_LOG)
        .chain(LA_LOG)
        .chain(LA_MARKERS)
        .chain(GRAPH_ACTIVITY_MARKERS)
        .chain([
            SIGN_IN_EVENT_TYPES,
            IS_INTERACTIVE,
            SERVICE_PRINCIPAL_ID,
            USER_ID,
            USER_PRINCIPAL_NAME,
        ])
}

/// The diagnostic envelope keys (lower case) that fill in the top-level
/// field `name`, or a field below it, in either catalog.
pub(super) fn envelope_keys_for(name: &str) -> impl Iterator<Item = &'static str> {
    [SIGN_IN_ENVELOPE, GRAPH_ACTIVITY_ENVELOPE]
        .into_iter()
        .flatten()
        .filter(move |(_, path)| path.split('.').next() == Some(name))
        .map(|(key, _)| *key)
}

/// Keys (lower case) that, though the catalog may know them, only frame a
/// record (when it was written, by which pipeline, to which workspace or
/// resource): a record with none but these carries nothing of a sign-in or
/// of a Graph call.
const ENVELOPE_ONLY: [&str; 14] = [
    "time",
    "timegenerated",
    "category",
    "type",
    "tenantid",
    "sourcesystem",
    "operationname",
    "operationversion",
    "resourceid",
    "level",
    "durationms",
    "resultsignature",
    "identity",
    PROPERTIES,
];

/// Every key (lower case) that names a field of either catalog, or a Log
/// Analytics column standing for one (`Location` for
/// `location.countryOrRegion`), but the envelope keys.
static RECORD_KEYS: std::sync::LazyLock<rustc_hash::FxHashSet<String>> =
    std::sync::LazyLock::new(|| {
        let mut keys = rustc_hash::FxHashSet::default();
        for field in crate::catalog::SIGN_IN
            .iter()
            .chain(crate::catalog::GRAPH_ACTIVITY)
        {
            let children = if field.list {
                &[][..]
            } else {
                field.children()
            };
            let names = std::iter::once(field.name)
                .chain(field.aliases.iter().copied())
                .chain(children.iter().flat_map(|c| c.aliases.iter().copied()));
            for name in names {
                keys.insert(name.to_ascii_lowercase());
            }
        }
        for key in ENVELOPE_ONLY {
            keys.remove(key);
        }
        keys
    });

/// Whether a key of a record (any case) names a sign-in or Graph activity
/// field beyond the envelope: a record with no such key is not one.
pub(crate) fn is_record_key(key: &str) -> bool {
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        RECORD_KEYS.contains(&key.to_ascii_lowercase())
    } else {
        RECORD_KEYS.contains(key)
    }
}

/// The key (any case) under which a Graph page holds its records.
pub(super) const PAGE_KEY: &[u8] = b"value";
/// The key (any case) under which an Event Hub batch holds its records.
pub(super) const BATCH_KEY: &[u8] = b"records";

/// Whether a key at the top of a document announces a container of
/// records: a Graph page or an Event Hub batch.
pub(super) fn is_container_key(key: &[u8]) -> bool {
    key.eq_ignore_ascii_case(PAGE_KEY) || key.eq_ignore_ascii_case(BATCH_KEY)
}

/// How many keys a record had and how many of them start with an upper-case
/// letter, counted before any was skipped: shape detection weighs them.
/// `known` tells whether some key (at the top, or in a diagnostic record's
/// `properties` object) is a field ([`is_record_key`]); `container`,
/// whether a key at the top is `value` or `records` in any case, as the
/// key of a Graph page or an Event Hub batch is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeyCounts {
    pub(crate) total: usize,
    pub(crate) upper: usize,
    pub(crate) known: bool,
    pub(crate) container: bool,
}

impl KeyCounts {
    /// The counts of a record's keys.
    pub(crate) fn of<'a>(keys: impl Iterator<Item = &'a String>) -> KeyCounts {
        let mut counts = KeyCounts::default();
        for key in keys {
            counts.add(key);
            counts.known = counts.known || is_record_key(key);
        }
        counts
    }

    /// Counts one more key.
    pub(super) fn add(&mut self, key: &str) {
        self.total += 1;
        if key.starts_with(|c: char| c.is_ascii_uppercase()) {
            self.upper += 1;
        }
    }
}
