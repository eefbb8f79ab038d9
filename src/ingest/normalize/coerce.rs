//! Coercion: takes one value and the catalog field it lands on, and gives
//! the value in the field's type (`"0"` as 0 for an integer, `"True"` as
//! true, a date in any accepted form as RFC 3339 UTC, an enum code as its
//! name, JSON text as the list or object it holds). A value that cannot be
//! coerced is kept as it came: nothing is dropped.

use serde_json::{Number, Value};

use super::{Level, object};
use crate::catalog::{Field, Kind};
use crate::ingest::sparse::{self, Keep};

/// Coerces a value to its field's type; what cannot be coerced is kept.
/// `below` is the level of an object field's own fields.
pub(super) fn coerce(field: &'static Field, below: Option<&Level>, value: Value) -> Value {
    if value.is_null() {
        Value::Null
    } else if field.list {
        coerce_list(field, below, value)
    } else {
        coerce_one(field, below, value)
    }
}

/// Whether coercion, and the reading of JSON text before it, would give
/// `value` back as it is for `field`: a value of the field's type already
/// (in normal form, for a date-time), or null.
#[inline]
pub(super) fn settled(field: &Field, value: &Value) -> bool {
    if value.is_null() {
        return true;
    }
    if field.list {
        return false;
    }
    match (field.kind, value) {
        (Kind::String, Value::String(_)) => code_name(field, value).is_none(),
        (Kind::Integer, Value::Number(n)) => !n.is_f64(),
        (Kind::Number, Value::Number(_)) | (Kind::Boolean, Value::Bool(_)) => true,
        (Kind::DateTime, Value::String(text)) => crate::time::is_normal(text),
        _ => false,
    }
}

fn coerce_list(field: &'static Field, below: Option<&Level>, value: Value) -> Value {
    let items = match value {
        Value::Array(items) => items,
        Value::String(text) => match list_from_text(field, &text) {
            Some(items) => items,
            None => return Value::String(text),
        },
        // A single object or value where a list is expected.
        other => vec![other],
    };
    Value::Array(
        items
            .into_iter()
            .map(|v| {
                if v.is_null() {
                    v
                } else {
                    coerce_one(field, below, v)
                }
            })
            .collect(),
    )
}

/// A list held in a string: JSON text (Log Analytics string columns), empty
/// for none, or, for lists of strings, comma-separated values (separated by
/// white space too for fields that are written so, such as OAuth scopes).
fn list_from_text(field: &Field, text: &str) -> Option<Vec<Value>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    if text.starts_with(['[', '{']) {
        return match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => Some(items),
            Ok(object @ Value::Object(_)) => Some(vec![object]),
            _ => None,
        };
    }
    match field.kind {
        Kind::Object(_) | Kind::Dynamic => None,
        _ => Some(
            text.split(|c: char| c == ',' || (field.spaced && c.is_whitespace()))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
    }
}

fn coerce_one(field: &'static Field, below: Option<&Level>, value: Value) -> Value {
    match (field.kind, below) {
        (Kind::Object(_), Some(level)) => match value {
            Value::Object(map) => Value::Object(object(level, map, &[], None)),
            Value::String(text) => object_from_text(level, text),
            other => other,
        },
        // Every object field has its level; without one, keep the value.
        (Kind::Object(_), None) => value,
        (Kind::Integer, _) => to_integer(value),
        (Kind::Number, _) => to_number(value),
        (Kind::Boolean, _) => to_boolean(value),
        (Kind::DateTime, _) => to_date_time(value),
        (Kind::String, _) => to_text(field, value),
        (Kind::Dynamic, _) => value,
    }
}

/// JSON text in a string, parsed as coercion would parse it for `field`,
/// building only what `keep` wants: the value as it came when coercion
/// would keep the text (not JSON, or JSON of another kind).
pub(super) fn parse_text(field: &Field, value: Value, keep: &Keep) -> Value {
    let Value::String(text) = &value else {
        return value;
    };
    match sparse::json_in_text(text, Some(keep)) {
        Some(list @ Value::Array(_)) if field.list => list,
        Some(object @ Value::Object(_)) if field.list || matches!(field.kind, Kind::Object(_)) => {
            object
        }
        _ => value,
    }
}

/// An object held in a string (Log Analytics dynamic columns written as
/// text). Empty text is no value; text that is not a JSON object is kept.
fn object_from_text(level: &Level, text: String) -> Value {
    if text.trim().is_empty() {
        return Value::Null;
    }
    match sparse::json_in_text(&text, None) {
        Some(Value::Object(map)) => Value::Object(object(level, map, &[], None)),
        _ => Value::String(text),
    }
}

/// For the scalar kinds, an empty string is no value.
fn blank_to_null(value: Value) -> Result<Value, Value> {
    match &value {
        Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
        _ => Err(value),
    }
}

fn to_integer(value: Value) -> Value {
    let value = match blank_to_null(value) {
        Ok(null) => return null,
        Err(value) => value,
    };
    match value {
        Value::Number(n) if n.is_f64() => n
            .as_f64()
            .and_then(whole)
            .map_or(Value::Number(n), Value::from),
        Value::String(text) => parse_integer(text.trim()).map_or(Value::String(text), Value::from),
        other => other,
    }
}

/// A float that holds a whole number, as an integer.
fn whole(f: f64) -> Option<i64> {
    // Past 2^53 a float no longer holds every integer: leave those alone.
    (f.is_finite() && f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then_some(f as i64)
}

fn parse_integer(text: &str) -> Option<i64> {
    text.parse::<i64>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().and_then(whole))
}

fn to_number(value: Value) -> Value {
    let value = match blank_to_null(value) {
        Ok(null) => return null,
        Err(value) => value,
    };
    match value {
        Value::String(text) => {
            let t = text.trim();
            if let Ok(i) = t.parse::<i64>() {
                Value::from(i)
            } else {
                t.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map_or(Value::String(text), Value::Number)
            }
        }
        other => other,
    }
}

fn to_boolean(value: Value) -> Value {
    let value = match blank_to_null(value) {
        Ok(null) => return null,
        Err(value) => value,
    };
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(1) => Value::Bool(true),
            Some(0) => Value::Bool(false),
            _ => Value::Number(n),
        },
        Value::String(text) => {
            let t = text.trim();
            if t.eq_ignore_ascii_case("true") || t == "1" {
                Value::Bool(true)
            } else if t.eq_ignore_ascii_case("false") || t == "0" {
                Value::Bool(false)
            } else {
                Value::String(text)
            }
        }
        other => other,
    }
}

fn to_date_time(value: Value) -> Value {
    let value = match blank_to_null(value) {
        Ok(null) => return null,
        Err(value) => value,
    };
    match value {
        // Most date-times are in the normal form already: kept as they are.
        Value::String(text) if crate::time::is_normal(&text) => Value::String(text),
        Value::String(text) => {
            crate::time::normalize(&text).map_or(Value::String(text), Value::String)
        }
        other => other,
    }
}

/// The name of the enum code `value` holds, as a number or as text, for
/// a field with codes.
fn code_name(field: &Field, value: &Value) -> Option<&'static str> {
    if field.codes.is_empty() {
        return None;
    }
    let code = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    code.and_then(|c| field.code_name(c))
}

/// A string for a string field: an integer code of an enum becomes its
/// name (`conditionalAccessStatus: 2` is `notApplied`); numbers and
/// booleans become their JSON text; other values are kept.
fn to_text(field: &Field, value: Value) -> Value {
    if let Some(name) = code_name(field, &value) {
        return Value::String(name.to_string());
    }
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        other => other,
    }
}
