//! What a value must be ([`Matcher`]): constant sets folded once
//! ([`ValueSet`]), regexes, numbers, times and ranges, and how record
//! values compare.

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::check::{Const, past_float};
use crate::fold::FoldedKeys;

/// Whether two record values are equal as conditions compare them: text
/// without case unless asked, numbers by value (also when one is written
/// as text), booleans also as `"true"`/`"false"`.
pub fn values_equal(a: &Value, b: &Value, case_sensitive: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if case_sensitive {
                x == y
            } else if x.is_ascii() && y.is_ascii() {
                x.eq_ignore_ascii_case(y)
            } else {
                x.to_lowercase() == y.to_lowercase()
            }
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Bool(x), Value::String(s)) | (Value::String(s), Value::Bool(x)) => {
            s.eq_ignore_ascii_case(if *x { "true" } else { "false" })
        }
        (Value::Number(_) | Value::String(_), Value::Number(_) | Value::String(_)) => {
            matches!((number(a), number(b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

/// A value as text patterns read it: text as it is, a number as written
/// by `serde_json`, a boolean as `true` or `false`; nothing else is text.
pub(crate) fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}
/// What a value must be.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Present (`true`) or absent (`false`); decided by the path, not a value.
    Exists(bool),
    /// Equals one of the set.
    In(ValueSet),
    /// Is present and equals none of the set.
    NotIn(ValueSet),
    /// Text that the regex matches (`contains`, `startsWith`, `endsWith`,
    /// `matches`, all as one regex of alternatives).
    Regex {
        /// The regex, built with the case rule below.
        regex: Regex,
        /// Whether it was built to match letter case.
        case_sensitive: bool,
    },
    /// A number compared with a constant.
    Num(Cmp, f64),
    /// A normalized date-time compared with a constant (the normal form
    /// orders like the instants).
    Time(Cmp, Box<str>),
    /// An IP address inside one of the ranges.
    Cidr(Box<[IpNet]>),
}

/// Order comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl Cmp {
    pub(super) fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Cmp::Gt => ord == Greater,
            Cmp::Gte => ord != Less,
            Cmp::Lt => ord == Less,
            Cmp::Lte => ord != Greater,
        }
    }
}

/// A set of constants to compare a value with: strings (case-folded unless
/// case-sensitive), numbers and booleans. A constant is entered in every
/// form a record may hold it in (`0` as the number and the text `"0"`), so a
/// record value is looked up without being converted.
#[derive(Debug, Clone, Default)]
pub struct ValueSet(Constants<()>);

impl ValueSet {
    pub(super) fn new(values: &[Const], case_sensitive: bool) -> ValueSet {
        let mut set = ValueSet(Constants::new(case_sensitive));
        for v in values {
            set.insert(v);
        }
        set
    }

    fn insert(&mut self, v: &Const) {
        let case_sensitive = self.0.case_sensitive;
        let table = &mut self.0;
        let mut enter = |c: Constant<'_>| {
            table.entry(c, || ());
        };
        match v {
            Const::Str(s) => {
                // Text that reads as a number equals that number, unless
                // it is a whole number a float cannot hold (it would equal
                // its neighbours too; check refuses it where it would be
                // compared as a number): then it is only text.
                if let Ok(n) = s.trim().parse::<f64>()
                    && !past_float(s)
                {
                    enter(Constant::Number(n));
                }
                match s.to_ascii_lowercase().as_str() {
                    "true" => enter(Constant::Bool(true)),
                    "false" => enter(Constant::Bool(false)),
                    _ => {}
                }
                enter(Constant::Text(&fold(s, case_sensitive)));
            }
            Const::Int(i) => {
                enter(Constant::Number(*i as f64));
                enter(Constant::Text(&i.to_string()));
            }
            Const::Num(n) => {
                enter(Constant::Number(*n));
                enter(Constant::Text(&n.to_string()));
            }
            Const::Bool(b) => {
                enter(Constant::Bool(*b));
                enter(Constant::Text(&b.to_string()));
            }
            // A field reference is compiled to a [`Compare`], never a set.
            Const::Field(_) => {}
        }
    }

    pub(super) fn merge(&mut self, other: &ValueSet) {
        for c in other.0.constants() {
            self.0.entry(c, || ());
        }
    }

    /// Whether the set compares text with its letter case.
    pub(crate) fn case_sensitive(&self) -> bool {
        self.0.case_sensitive
    }

    /// The constants, in each form they were entered in.
    pub(crate) fn constants(&self) -> impl Iterator<Item = Constant<'_>> {
        self.0.constants()
    }

    /// Whether a record value is in the set.
    #[inline]
    pub fn contains(&self, v: &Value) -> bool {
        self.0.get(v).is_some()
    }
}

/// One constant of a [`Constants`] table, in one of the forms a record may
/// hold it in; text is folded already unless the table is case-sensitive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Constant<'a> {
    Text(&'a str),
    Number(f64),
    Bool(bool),
}

/// Constants, each with a value, looked up by a record value as a
/// [`ValueSet`] compares it: the set itself (values `()`), and the index of
/// the sets a rule set's conditions require of one field, which tells in one
/// lookup every set a record value is in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Constants<V> {
    /// The strings of a case-sensitive table.
    strings: FxHashMap<Box<str>, V>,
    /// The strings of a table that ignores case, folded: a record's ASCII
    /// text is looked up as it is, without being lower-cased first.
    folded: FoldedKeys<V>,
    /// Numbers compare by value: `0` is `0.0`, and NaN is nothing.
    numbers: Vec<(f64, V)>,
    on_true: Option<V>,
    on_false: Option<V>,
    case_sensitive: bool,
}

impl<V> Constants<V> {
    pub(crate) fn new(case_sensitive: bool) -> Constants<V> {
        Constants {
            strings: FxHashMap::default(),
            folded: FoldedKeys::default(),
            numbers: Vec::new(),
            on_true: None,
            on_false: None,
            case_sensitive,
        }
    }

    /// Whether text is compared with its letter case.
    pub(crate) fn case_sensitive(&self) -> bool {
        self.case_sensitive
    }

    /// The value of a constant, entered with `make` when new.
    pub(crate) fn entry(&mut self, c: Constant<'_>, make: impl FnOnce() -> V) -> &mut V {
        match c {
            Constant::Text(text) if self.case_sensitive => {
                self.strings.entry(text.into()).or_insert_with(make)
            }
            Constant::Text(text) => {
                if self.folded.get(text.as_bytes()).is_none() {
                    self.folded.insert_new(text, make());
                }
                self.folded
                    .get_mut(text.as_bytes())
                    .unwrap_or_else(|| unreachable!("entered just above"))
            }
            Constant::Number(n) => {
                let at = match self.numbers.iter().position(|(m, _)| *m == n) {
                    Some(at) => at,
                    None => {
                        self.numbers.push((n, make()));
                        self.numbers.len() - 1
                    }
                };
                match self.numbers.get_mut(at) {
                    Some((_, value)) => value,
                    None => unreachable!("found or entered just above"),
                }
            }
            Constant::Bool(true) => self.on_true.get_or_insert_with(make),
            Constant::Bool(false) => self.on_false.get_or_insert_with(make),
        }
    }

    /// The constants, in each form they were entered in.
    pub(crate) fn constants(&self) -> impl Iterator<Item = Constant<'_>> {
        let texts = self
            .strings
            .keys()
            .map(AsRef::as_ref)
            .chain(self.folded.keys());
        texts
            .map(Constant::Text)
            .chain(self.numbers.iter().map(|(n, _)| Constant::Number(*n)))
            .chain(self.on_true.as_ref().map(|_| Constant::Bool(true)))
            .chain(self.on_false.as_ref().map(|_| Constant::Bool(false)))
    }

    /// The value of the constant a record value equals, if any.
    #[inline]
    pub(crate) fn get(&self, v: &Value) -> Option<&V> {
        match v {
            // This runs for every record and every set on its field.
            Value::String(s) if self.case_sensitive => self.strings.get(s.as_str()),
            // ASCII text equals a folded string ignoring ASCII case exactly
            // when its lower case equals it; other text is folded first
            // (Unicode lower case), then equal ignoring ASCII case means
            // equal.
            Value::String(s) if s.is_ascii() => self.folded.get(s.as_bytes()),
            Value::String(s) => self.folded.get(fold(s, false).as_bytes()),
            Value::Number(n) => {
                let n = n.as_f64()?;
                self.numbers.iter().find(|(m, _)| *m == n).map(|(_, v)| v)
            }
            Value::Bool(true) => self.on_true.as_ref(),
            Value::Bool(false) => self.on_false.as_ref(),
            _ => None,
        }
    }
}

/// Lower-cases text for case-insensitive comparison, borrowing when it is
/// already lower case (the common case for enum values).
pub fn fold(s: &str, case_sensitive: bool) -> Cow<'_, str> {
    if case_sensitive {
        return Cow::Borrowed(s);
    }
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

impl Matcher {
    /// Whether one value passes. (`Exists` is decided by the caller.)
    pub fn test(&self, v: &Value) -> bool {
        match self {
            Matcher::Exists(_) => true,
            Matcher::In(set) => set.contains(v),
            Matcher::NotIn(set) => !set.contains(v),
            Matcher::Regex { regex, .. } => text(v).is_some_and(|t| regex.is_match(&t)),
            Matcher::Num(cmp, c) => {
                number(v).is_some_and(|n| n.partial_cmp(c).is_some_and(|o| cmp.holds(o)))
            }
            Matcher::Time(cmp, c) => match v {
                Value::String(s) => cmp.holds(s.as_str().cmp(c)),
                _ => false,
            },
            Matcher::Cidr(nets) => match v {
                Value::String(s) => s
                    .trim()
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| nets.iter().any(|n| n.contains(&ip))),
                _ => false,
            },
        }
    }
}

pub(super) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_sets_match_every_form_of_a_constant() {
        let set = ValueSet::new(&[Const::Int(0), Const::Str("NotApplied".into())], false);
        assert!(set.contains(&json!(0)));
        assert!(set.contains(&json!("0")));
        assert!(set.contains(&json!("notapplied")));
        assert!(!set.contains(&json!(1)));
        assert!(!set.contains(&json!(null)));
        let cs = ValueSet::new(&[Const::Str("NotApplied".into())], true);
        assert!(!cs.contains(&json!("notapplied")));
        assert!(cs.contains(&json!("NotApplied")));
    }

    #[test]
    fn unicode_text_folds_too() {
        let set = ValueSet::new(&[Const::Str("ZÜRICH".into())], false);
        assert!(set.contains(&json!("zürich")));
        // The Kelvin sign folds to an ASCII `k`, which ASCII text finds.
        let set = ValueSet::new(
            &[Const::Str("\u{212a}m".into()), Const::Str("a_b".into())],
            false,
        );
        for (text, found) in [
            ("KM", true),
            ("km", true),
            ("\u{212a}M", true),
            ("a_b", true),
            ("A_B", true),
            ("a\u{7f}b", false),
            ("kmm", false),
        ] {
            assert_eq!(set.contains(&json!(text)), found, "{text}");
        }
        let mut merged = ValueSet::new(&[Const::Str("X".into())], false);
        merged.merge(&set);
        assert!(merged.contains(&json!("Km")) && merged.contains(&json!("x")));
    }

    #[test]
    fn cidr_and_comparisons() {
        let m = Matcher::Cidr(vec!["10.0.0.0/8".parse().unwrap_or_else(|_| unreachable!())].into());
        assert!(m.test(&json!("10.1.2.3")));
        assert!(!m.test(&json!("11.1.2.3")));
        assert!(!m.test(&json!("not an ip")));
        assert!(Matcher::Num(Cmp::Gte, 5.0).test(&json!(5)));
        assert!(Matcher::Num(Cmp::Gt, 5.0).test(&json!("6")));
        assert!(!Matcher::Num(Cmp::Lt, 5.0).test(&json!(5)));
        let t = Matcher::Time(Cmp::Lt, "2025-01-01T00:00:00.0000000Z".into());
        assert!(t.test(&json!("2024-12-31T23:59:59.9999999Z")));
        assert!(!t.test(&json!("2025-01-01T00:00:00.0000000Z")));
    }
}
