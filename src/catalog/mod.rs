//! The field catalogs: every field a rule may name, with its type, its enum
//! values and the Log Analytics names that are accepted as aliases. There are
//! two: [`SIGN_IN`] for the four sign-in logs, and [`GRAPH_ACTIVITY`] for
//! Microsoft Graph activity (one record per Graph API call), whose records
//! share few fields with sign-ins; [`for_log`] says which one a log uses.
//!
//! Takes a field name as a rule writer spells it (`status.errorCode`,
//! `ResultType`, `LocationDetails.countryOrRegion`) and gives a [`FieldPath`]
//! of canonical Graph beta names plus the [`Field`] it ends on. Ingest uses the
//! same tables to rename the keys of every export shape to canonical names, so
//! a rule and a record always meet in one vocabulary.
//!
//! Names the catalog does not know are reachable through the escape hatch
//! `raw.NAME` (see [`RAW_PREFIX`]): the key is looked up in the record as it
//! is, ignoring letter case, and its value has no declared type.

use std::fmt;

mod fields;
mod log;

pub use fields::{GRAPH_ACTIVITY, SIGN_IN};
pub use log::LogCategory;

/// Prefix of the escape hatch that reaches record keys the catalog lacks.
pub const RAW_PREFIX: &str = "raw.";

/// The type of a field's value (of each element, for a list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// An instant, normalized by ingest to `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
    DateTime,
    /// A JSON object with the given fields.
    Object(&'static [Field]),
    /// No declared type: numbers, strings, booleans or objects, as they come.
    Dynamic,
}

impl Kind {
    /// A short lowercase name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::DateTime => "date-time",
            Kind::Object(_) => "object",
            Kind::Dynamic => "dynamic",
        }
    }
}

/// One field of the canonical sign-in record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Canonical Graph beta name (camelCase).
    pub name: &'static str,
    /// Type of the value, or of each element when `list` is set.
    pub kind: Kind,
    /// Whether the value is a list of `kind`.
    pub list: bool,
    /// Known enum values (compared case-insensitively); empty when free text.
    /// Enums are open: new values appear, so an unlisted value in a record is
    /// kept as it is.
    pub values: &'static [&'static str],
    /// Integer codes some exports write instead of the enum names.
    pub codes: &'static [(i64, &'static str)],
    /// Other names for this field, as Log Analytics spells them.
    pub aliases: &'static [&'static str],
    /// For a list of strings: when the list comes as text, its items are
    /// separated by white space (OAuth scopes, role ids) rather than commas.
    pub spaced: bool,
    /// One line for `tollgate schema`.
    pub doc: &'static str,
}

impl Field {
    const fn new(name: &'static str, kind: Kind, doc: &'static str) -> Field {
        Field {
            name,
            kind,
            list: false,
            values: &[],
            codes: &[],
            aliases: &[],
            spaced: false,
            doc,
        }
    }
    const fn list(mut self) -> Field {
        self.list = true;
        self
    }
    const fn values(mut self, values: &'static [&'static str]) -> Field {
        self.values = values;
        self
    }
    const fn codes(mut self, codes: &'static [(i64, &'static str)]) -> Field {
        self.codes = codes;
        self
    }
    const fn aliases(mut self, aliases: &'static [&'static str]) -> Field {
        self.aliases = aliases;
        self
    }
    const fn spaced(mut self) -> Field {
        self.list = true;
        self.spaced = true;
        self
    }

    /// The fields of an object (or of each object of a list), if any.
    pub fn children(&self) -> &'static [Field] {
        match self.kind {
            Kind::Object(fields) => fields,
            _ => &[],
        }
    }

    /// A type description for messages: `string`, `list of string`, ...
    pub fn type_name(&self) -> String {
        let base = if self.values.is_empty() {
            self.kind.name()
        } else {
            "enum"
        };
        if self.list {
            format!("list of {base}")
        } else {
            base.to_string()
        }
    }

    /// The canonical spelling of an enum value, matched case-insensitively.
    pub fn enum_value(&self, value: &str) -> Option<&'static str> {
        self.values
            .iter()
            .copied()
            .find(|v| v.eq_ignore_ascii_case(value))
    }

    /// The enum name an integer code stands for.
    pub fn code_name(&self, code: i64) -> Option<&'static str> {
        self.codes
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, name)| *name)
    }
}

/// The catalog of a log: [`GRAPH_ACTIVITY`] for Graph activity,
/// [`SIGN_IN`] for every other log (the four sign-in logs, and categories
/// such as `ADFSSignInLogs` that carry sign-in fields).
pub fn for_log(log: &LogCategory) -> &'static [Field] {
    match log {
        LogCategory::GraphActivity => GRAPH_ACTIVITY,
        _ => SIGN_IN,
    }
}

/// Every catalog, with the name `tollgate schema` gives it and the logs
/// that use it, in the order `tollgate schema` lists them.
pub const CATALOGS: [Catalog; 2] = [
    Catalog {
        name: "signIn",
        title: "Sign-in logs",
        logs: &LogCategory::SIGN_INS,
        fields: SIGN_IN,
    },
    Catalog {
        name: "graphActivity",
        title: "Microsoft Graph activity",
        logs: &[LogCategory::GraphActivity],
        fields: GRAPH_ACTIVITY,
    },
];

/// One field catalog and the logs whose records it describes.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    /// Short name, as `tollgate schema --format json` gives it.
    pub name: &'static str,
    /// Heading for people.
    pub title: &'static str,
    /// The logs (as rules name them) whose records it describes.
    pub logs: &'static [LogCategory],
    /// Its top-level fields.
    pub fields: &'static [Field],
}

/// A resolved path into the canonical record: canonical names, one per level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    segments: Box<[Box<str>]>,
    raw: bool,
}

impl FieldPath {
    /// A path of canonical names (or, with `raw`, of record keys matched
    /// without regard to case).
    pub fn new<S: Into<Box<str>>>(segments: impl IntoIterator<Item = S>, raw: bool) -> FieldPath {
        FieldPath {
            segments: segments.into_iter().map(Into::into).collect(),
            raw,
        }
    }

    /// The names along the path.
    pub fn segments(&self) -> &[Box<str>] {
        &self.segments
    }

    /// Whether this path reaches uncatalogued keys (`raw.NAME`).
    pub fn is_raw(&self) -> bool {
        self.raw
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.raw {
            f.write_str(RAW_PREFIX)?;
        }
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(seg)?;
        }
        Ok(())
    }
}

/// What a name resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Where the value lives in the canonical record.
    pub path: FieldPath,
    /// The field the path ends on; `None` for `raw.` paths.
    pub field: Option<&'static Field>,
}

impl Resolved {
    /// The kind of the value, [`Kind::Dynamic`] for `raw.` paths.
    pub fn kind(&self) -> Kind {
        self.field.map_or(Kind::Dynamic, |f| f.kind)
    }
}

/// Why a name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// The segment that was not found (the whole name for a failed alias).
    pub segment: String,
    /// Byte offset of that segment in the name as written.
    pub offset: usize,
    /// The closest known name, if one is close enough.
    pub suggestion: Option<String>,
}

/// Finds `name` among `fields`: canonical name or alias, exactly, then
/// ignoring case (Log Analytics writes `UserPrincipalName`).
pub fn find_field(fields: &'static [Field], name: &str) -> Option<&'static Field> {
    fields
        .iter()
        .find(|f| f.name == name || f.aliases.contains(&name))
        .or_else(|| {
            fields.iter().find(|f| {
                f.name.eq_ignore_ascii_case(name)
                    || f.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
        })
}

#[cfg(test)]
/// Resolves a dotted name as written in a rule to a canonical path.
///
/// Each segment is looked up among the fields of the level above; an alias
/// may stand for a nested field (`ResultType` is `status.errorCode`,
/// `Location` is `location.countryOrRegion`).
pub fn resolve(name: &str) -> Result<Resolved, UnknownField> {
    resolve_in(SIGN_IN, name)
}

/// Resolves a dotted name as written in a rule to a canonical path below
/// `root`: each segment is looked up among the fields of the level above,
/// and an alias may stand for a nested field (`ResultType` is
/// `status.errorCode`). `root` is a log's fields, or an object's for names
/// inside `any:` / `all:` / `none:` over a list of objects.
pub fn resolve_in(root: &'static [Field], name: &str) -> Result<Resolved, UnknownField> {
    if let Some(rest) = name.strip_prefix(RAW_PREFIX) {
        if rest.is_empty() || rest.split('.').any(str::is_empty) {
            return Err(UnknownField {
                segment: name.to_string(),
                offset: 0,
                suggestion: None,
            });
        }
        return Ok(Resolved {
            path: FieldPath::new(rest.split('.'), true),
            field: None,
        });
    }
    let mut fields = root;
    let mut segments: Vec<&'static str> = Vec::new();
    let mut field: Option<&'static Field> = None;
    let mut offset = 0;
    for seg in name.split('.') {
        let Some(found) = find_nested(fields, seg, &mut segments) else {
            return Err(UnknownField {
                segment: seg.to_string(),
                offset,
                suggestion: suggest(fields, seg),
            });
        };
        field = Some(found);
        fields = found.children();
        offset += seg.len() + 1;
    }
    match field {
        Some(field) => Ok(Resolved {
            path: FieldPath::new(segments, false),
            field: Some(field),
        }),
        None => Err(UnknownField {
            segment: name.to_string(),
            offset: 0,
            suggestion: None,
        }),
    }
}

/// Looks a segment up at one level, following aliases that stand for a
/// nested field (`Location` is `location.countryOrRegion`). Exact spellings
/// win over matches that ignore case, so `Location` is the country and
/// `location` the object. Pushes the canonical names walked onto `path`.
fn find_nested(
    fields: &'static [Field],
    seg: &str,
    path: &mut Vec<&'static str>,
) -> Option<&'static Field> {
    let exact = |name: &str| name == seg;
    let any_case = |name: &str| name.eq_ignore_ascii_case(seg);
    for same in [&exact as &dyn Fn(&str) -> bool, &any_case] {
        if let Some(found) = fields
            .iter()
            .find(|f| same(f.name) || f.aliases.iter().any(|a| same(a)))
        {
            path.push(found.name);
            return Some(found);
        }
        for parent in fields.iter().filter(|f| !f.list) {
            if let Some(child) = parent
                .children()
                .iter()
                .find(|c| c.aliases.iter().any(|a| same(a)))
            {
                path.push(parent.name);
                path.push(child.name);
                return Some(child);
            }
        }
    }
    None
}

/// The closest name (canonical or alias) to `name` among `fields`, if it is
/// close enough to be a likely typo.
pub fn suggest(fields: &'static [Field], name: &str) -> Option<String> {
    let nested_aliases = fields
        .iter()
        .filter(|f| !f.list)
        .flat_map(|f| f.children().iter().flat_map(|c| c.aliases.iter().copied()));
    let candidates = fields
        .iter()
        .flat_map(|f| std::iter::once(f.name).chain(f.aliases.iter().copied()))
        .chain(nested_aliases);
    closest(name, candidates)
}

/// The candidate nearest to `word` by normalized Damerau-Levenshtein
/// similarity, ignoring case, if similar enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    const NEAR: f64 = 0.6;
    let lower = word.to_lowercase();
    let lower_len = lower.chars().count();
    candidates
        .into_iter()
        // The distance is at least the difference in length: a candidate
        // whose length alone keeps it under `NEAR` is not compared (most
        // are not, and comparing is quadratic).
        .filter(|c| {
            let len = if c.is_ascii() {
                c.len()
            } else {
                c.to_lowercase().chars().count()
            };
            let (short, long) = (len.min(lower_len), len.max(lower_len));
            long == 0 || 1.0 - (long - short) as f64 / long as f64 >= NEAR
        })
        .map(|c| {
            // Letter case breaks ties: `ipAdress` is closer to `ipAddress`
            // than to its Log Analytics alias `IPAddress`.
            let score = strsim::normalized_damerau_levenshtein(&lower, &c.to_lowercase());
            let cased = strsim::normalized_damerau_levenshtein(word, c);
            (score, cased, c)
        })
        .filter(|(score, _, _)| *score >= NEAR)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(_, _, c)| c.to_string())
}

/// Every field of a catalog, depth first, with its dotted canonical path.
pub fn walk_in(root: &'static [Field]) -> Vec<(String, &'static Field)> {
    fn go(prefix: &str, fields: &'static [Field], out: &mut Vec<(String, &'static Field)>) {
        for field in fields {
            let path = if prefix.is_empty() {
                field.name.to_string()
            } else {
                format!("{prefix}.{}", field.name)
            };
            out.push((path.clone(), field));
            go(&path, field.children(), out);
        }
    }
    let mut out = Vec::new();
    go("", root, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> String {
        resolve(name)
            .map(|r| r.path.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn canonical_names_resolve_to_themselves() {
        assert_eq!(path("status.errorCode"), "status.errorCode");
        assert_eq!(path("location.countryOrRegion"), "location.countryOrRegion");
        assert_eq!(
            path("appliedConditionalAccessPolicies.result"),
            "appliedConditionalAccessPolicies.result"
        );
    }

    #[test]
    fn log_analytics_names_are_aliases() {
        assert_eq!(path("ResultType"), "status.errorCode");
        assert_eq!(path("Location"), "location.countryOrRegion");
        assert_eq!(
            path("LocationDetails.countryOrRegion"),
            "location.countryOrRegion"
        );
        assert_eq!(path("ConditionalAccessStatus"), "conditionalAccessStatus");
        assert_eq!(path("IPAddress"), "ipAddress");
        assert_eq!(
            path("ConditionalAccessPolicies"),
            "appliedConditionalAccessPolicies"
        );
        assert_eq!(path("Status.errorCode"), "status.errorCode");
    }

    #[test]
    fn unknown_names_get_a_suggestion_at_the_failing_segment() {
        let err = resolve("location.contryOrRegion").err();
        assert_eq!(
            err,
            Some(UnknownField {
                segment: "contryOrRegion".into(),
                offset: 9,
                suggestion: Some("countryOrRegion".into()),
            })
        );
        let err = resolve("riskStat").err().and_then(|e| e.suggestion);
        assert_eq!(err.as_deref(), Some("riskState"));
        assert!(
            resolve("completelyUnrelatedThing")
                .err()
                .is_some_and(|e| e.suggestion.is_none())
        );
    }

    #[test]
    fn raw_prefix_reaches_uncatalogued_keys() {
        let r = resolve("raw.tokenProtectionStatusDetails.signInSessionStatus").ok();
        assert!(
            r.as_ref()
                .is_some_and(|r| r.path.is_raw() && r.field.is_none())
        );
        assert!(resolve("raw.").is_err());
        assert!(resolve("raw.a..b").is_err());
    }

    #[test]
    fn enum_values_and_codes() {
        let ca = find_field(SIGN_IN, "conditionalAccessStatus");
        assert_eq!(
            ca.and_then(|f| f.enum_value("NOTAPPLIED")),
            Some("notApplied")
        );
        assert_eq!(ca.and_then(|f| f.code_name(2)), Some("notApplied"));
    }
}
