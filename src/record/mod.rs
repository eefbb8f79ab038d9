//! The canonical sign-in record that rules are evaluated against, whatever
//! shape it was read from, and where it was read from.
//!
//! Ingest builds a [`Record`] whose keys are the catalog's canonical names
//! and whose values carry the catalog's types; eval reads it through
//! [`Record::visit`]. Nothing here knows a log shape or a rule.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::FieldPath;
pub use crate::catalog::LogCategory;

mod fields;

pub(crate) use fields::{Fields, Layout, Names, Object, ObjectMut, Places};

/// Where a record was read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// The file as given on the command line (or `-` for standard input).
    pub path: Arc<str>,
    /// 1-based line where the record starts.
    pub line: u64,
    /// 0-based index of the record in its file.
    pub record: u64,
}

/// One sign-in in the canonical view: catalog names, catalog types.
///
/// Keys the catalog does not know are kept under the name the source gave
/// them, for rules that reach them with `raw.NAME`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The fields, keyed by canonical name. Private to the crate: how a
    /// record holds its values is free to change (a record that borrows
    /// from the input, say) without breaking library users.
    pub(crate) fields: Fields,
    /// The log the record belongs to.
    pub(crate) category: LogCategory,
}

impl Record {
    /// The log the record belongs to.
    pub fn log(&self) -> &LogCategory {
        &self.category
    }

    /// The canonical view as JSON: catalog names, catalog types (a copy).
    pub fn to_json(&self) -> Value {
        Value::Object(self.fields.clone().into_map())
    }

    /// The value at a canonical path, if it is present and not null, and no
    /// list lies on the way.
    pub fn get(&self, path: &FieldPath) -> Option<&Value> {
        let mut segments = path.segments().iter();
        let first = segments.next()?;
        let mut value = lookup(&self.fields, first, path.is_raw())?;
        for seg in segments {
            value = match value {
                Value::Object(map) => lookup(map, seg, path.is_raw())?,
                _ => return None,
            };
        }
        (!value.is_null()).then_some(value)
    }

    /// Calls `f` on each value found at `path`, stopping at the first call
    /// that returns `true`; returns whether one did.
    ///
    /// Lists on the way are walked element by element, so
    /// `appliedConditionalAccessPolicies.result` visits the result of every
    /// policy, and a list at the end visits each element. Absent and null
    /// values are not visited.
    pub fn visit(&self, path: &FieldPath, f: &mut dyn FnMut(&Value) -> bool) -> bool {
        match path.segments().split_first() {
            Some((first, rest)) => match lookup(&self.fields, first, path.is_raw()) {
                Some(value) => visit_value(value, rest, path.is_raw(), f),
                None => false,
            },
            None => false,
        }
    }
}

/// Calls `f` on each value below `value` along `rest` (see [`Record::visit`]).
pub fn visit_value(
    value: &Value,
    rest: &[Box<str>],
    raw: bool,
    f: &mut dyn FnMut(&Value) -> bool,
) -> bool {
    visit_along(value, rest, raw, false, f)
}

/// [`visit_value`], except that with `as_text` an object or a list where
/// the path ends is given as its compact JSON text (lists along the path
/// are still walked element by element).
pub(crate) fn visit_along(
    value: &Value,
    rest: &[Box<str>],
    raw: bool,
    as_text: bool,
    f: &mut dyn FnMut(&Value) -> bool,
) -> bool {
    match (value, rest.split_first()) {
        (Value::Null, _) => false,
        (Value::Array(_) | Value::Object(_), None) if as_text => {
            f(&Value::String(value.to_string()))
        }
        // A list is walked element by element, along the path or at its end.
        (Value::Array(items), _) => items
            .iter()
            .any(|item| visit_along(item, rest, raw, as_text, f)),
        (_, None) => f(value),
        (Value::Object(map), Some((seg, rest))) => {
            lookup(map, seg, raw).is_some_and(|v| visit_along(v, rest, raw, as_text, f))
        }
        (_, Some(_)) => false,
    }
}

/// A key of an object, in any case when `any_case` (a `raw.` path).
#[inline]
pub(crate) fn lookup<'a, O: Object + ?Sized>(
    map: &'a O,
    key: &str,
    any_case: bool,
) -> Option<&'a Value> {
    if any_case {
        map.get_any_case(key)
    } else {
        map.get_value(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> Record {
        match v {
            Value::Object(fields) => Record {
                fields: fields.into(),
                category: LogCategory::Interactive,
            },
            _ => Record {
                fields: Fields::default(),
                category: LogCategory::Interactive,
            },
        }
    }

    fn values(r: &Record, path: &FieldPath) -> Vec<Value> {
        let mut out = Vec::new();
        r.visit(path, &mut |v| {
            out.push(v.clone());
            false
        });
        out
    }

    #[test]
    fn visit_walks_lists_on_the_way() {
        let r = record(
            json!({"appliedConditionalAccessPolicies": [{"result": "success"}, {"result": "failure"}, {}]}),
        );
        let p = FieldPath::new(["appliedConditionalAccessPolicies", "result"], false);
        assert_eq!(values(&r, &p), vec![json!("success"), json!("failure")]);
        assert_eq!(r.get(&p), None);
    }

    #[test]
    fn null_and_absent_are_not_visited() {
        let r = record(json!({"a": null, "b": {"c": null}}));
        assert!(values(&r, &FieldPath::new(["a"], false)).is_empty());
        assert!(values(&r, &FieldPath::new(["b", "c"], false)).is_empty());
        assert!(values(&r, &FieldPath::new(["zz"], false)).is_empty());
    }

    #[test]
    fn raw_paths_ignore_case() {
        let r = record(json!({"TokenProtectionStatusDetails": {"signInSessionStatus": "unbound"}}));
        let p = FieldPath::new(
            ["tokenProtectionStatusDetails", "SIGNINSESSIONSTATUS"],
            true,
        );
        assert_eq!(r.get(&p), Some(&json!("unbound")));
        let strict = FieldPath::new(["tokenProtectionStatusDetails"], false);
        assert_eq!(r.get(&strict), None);
    }

    #[test]
    fn categories_from_sources() {
        assert_eq!(
            LogCategory::from_source("SigninLogs"),
            LogCategory::Interactive
        );
        assert_eq!(
            LogCategory::from_source("signinlogs"),
            LogCategory::Interactive
        );
        assert_eq!(
            LogCategory::from_source("AADNonInteractiveUserSignInLogs"),
            LogCategory::NonInteractive
        );
        assert_eq!(
            LogCategory::from_source("ADFSSignInLogs"),
            LogCategory::Other("ADFSSignInLogs".into())
        );
    }
}
