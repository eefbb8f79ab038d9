//! What `window:` and `sequence:` read alike: mappings, flags, key
//! fields, spans of time and thresholds.

use crate::catalog::{self, Field, Kind, Resolved};
use crate::check::model::{CountCmp, TICKS_PER_SECOND, Threshold, TimeSpan};
use crate::check::params::ParamValue;
use crate::check::{RuleCx, find, key_name, wrong_type};
use crate::diag::{Code, Span};
use crate::syntax::{Lit, Node, NodeKind};

impl RuleCx<'_> {
    /// A mapping value of `key`, or an error.
    pub(super) fn mapping<'n>(
        &mut self,
        n: &'n Node,
        key: &str,
        keys: &str,
    ) -> Option<&'n [(Node, Node)]> {
        match n.map() {
            Some(entries) => Some(entries),
            None => {
                self.err(
                    wrong_type(
                        n,
                        format!("`{key}` must be a mapping, not {}", n.describe()),
                        "expected a mapping",
                    )
                    .help(format!("write {keys} under `{key}:`")),
                );
                None
            }
        }
    }

    /// A boolean key, `default` when absent.
    pub(super) fn flag(&mut self, entries: &[(Node, Node)], key: &str, default: bool) -> bool {
        match find(entries, key) {
            None => default,
            Some(n) => match n.scalar().map(|s| s.lit()) {
                Some(Lit::Bool(b)) => b,
                _ => {
                    self.err(wrong_type(
                        n,
                        format!("`{key}` must be true or false, not {}", n.describe()),
                        "expected true or false",
                    ));
                    default
                }
            },
        }
    }

    /// Fields of a key (`groupBy`, `by`): a list of names, or one name,
    /// resolved in `fields`; objects are not keys.
    pub(super) fn key_fields(
        &mut self,
        n: &Node,
        fields: &'static [Field],
        key: &str,
    ) -> Option<Vec<Resolved>> {
        let items: Vec<&Node> = match &n.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            NodeKind::Scalar(_) => vec![n],
            NodeKind::Map(_) => {
                self.err(wrong_type(
                    n,
                    format!("`{key}` must be a list of fields, not a mapping"),
                    "expected `[field, ...]`",
                ));
                return None;
            }
        };
        if items.is_empty() {
            self.err(
                Code::BadStep
                    .error(n.span.clone(), format!("`{key}` names no field"))
                    .label("empty")
                    .help(format!("write `{key}: [FIELD]`")),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            if item.scalar().is_none() {
                self.err(wrong_type(
                    item,
                    format!("a `{key}` field must be a name, not {}", item.describe()),
                    "expected a field name",
                ));
                ok = false;
                continue;
            }
            match self.resolve(item, fields) {
                Some(r) if self.scalar_field(&r, item) => out.push(r),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Whether a field holds values that can be keys or distinct values
    /// (not objects); an error when not.
    pub(super) fn scalar_field(&mut self, field: &Resolved, at: &Node) -> bool {
        if !matches!(field.kind(), Kind::Object(_)) {
            return true;
        }
        let child = field.field.and_then(|f| f.children().first());
        self.err(
            Code::TypeMismatch
                .error(
                    at.span.clone(),
                    format!(
                        "`{}` is an object, not a value to group or count by",
                        field.path
                    ),
                )
                .label("an object")
                .help(match child {
                    Some(c) => format!(
                        "name one of its fields, such as `{}.{}`",
                        field.path, c.name
                    ),
                    None => "name one of its fields".to_string(),
                }),
        );
        false
    }

    pub(super) fn required_span(
        &mut self,
        entries: &[(Node, Node)],
        n: &Node,
        what: &str,
    ) -> Option<TimeSpan> {
        match find(entries, "span") {
            Some(s) => self.duration(s),
            None => {
                self.err(
                    Code::MissingKey
                        .error(n.span.clone(), format!("{what} has no `span`"))
                        .label(format!("this {what}"))
                        .help("add `span: 20m` (units: s, m, h, d)"),
                );
                None
            }
        }
    }

    /// A span of time: a whole number and a unit, `30s`, `20m`, `1h`, `2d`.
    /// The span may be a param (`span: $window`).
    pub(in crate::check) fn duration(&mut self, n: &Node) -> Option<TimeSpan> {
        let text = match self.param_ref(n) {
            Some(Ok(ParamValue::One(lit))) => lit_text(&lit),
            Some(Ok(ParamValue::List(_))) => String::new(),
            Some(Err(())) => return None,
            None => n.text().unwrap_or_default().to_string(),
        };
        let text = text.trim().to_string();
        let (number, unit) = text.split_at(text.len().saturating_sub(1));
        let seconds = match unit {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3600),
            "d" => Some(86_400),
            _ => None,
        };
        let value = number
            .parse::<i64>()
            .ok()
            .filter(|_| number.bytes().all(|b| b.is_ascii_digit()));
        let ticks = match (value, seconds) {
            (Some(v), Some(s)) => v
                .checked_mul(s)
                .and_then(|t| t.checked_mul(TICKS_PER_SECOND)),
            _ => None,
        };
        match ticks {
            Some(t) if t > 0 => Some(TimeSpan {
                ticks: t,
                text,
                span: n.span.clone(),
            }),
            Some(_) => {
                self.err(
                    Code::BadDuration
                        .error(n.span.clone(), "a span must be longer than zero")
                        .label("zero")
                        .help("write a span such as `20m`"),
                );
                None
            }
            None => {
                let shown = if n.scalar().is_some() {
                    format!("`{text}`")
                } else {
                    n.describe().to_string()
                };
                self.err(
                    Code::BadDuration
                        .error(n.span.clone(), format!("{shown} is not a span of time"))
                        .label("expected a number and a unit")
                        .help("write a whole number and a unit: `30s`, `20m`, `1h`, `2d` (units: s, m, h, d)"),
                );
                None
            }
        }
    }

    /// One comparison of `key`, `{ OP: VALUE }` with OP among `cmps` (or
    /// else refused with `refuse`'s diagnostic when it names the op): the
    /// comparison and the value, a param's resolved. `None` after an
    /// error. `example` shows the form in messages.
    pub(in crate::check) fn comparison<'n>(
        &mut self,
        n: &'n Node,
        key: &str,
        cmps: &[(&'static str, CountCmp)],
        example: &str,
        refuse: &dyn Fn(&str, &Node, &str) -> Option<crate::diag::Diagnostic>,
    ) -> Option<Compared<'n>> {
        let names: Vec<&str> = cmps.iter().map(|(n, _)| *n).collect();
        let help = format!("write `{key}: {example}` (one of {})", names.join(", "));
        let Some([(op, value)]) = n.map() else {
            self.err(
                Code::BadThreshold
                    .error(
                        n.span.clone(),
                        format!("`{key}` takes one comparison, such as `{example}`"),
                    )
                    .label(format!("not a comparison: {}", n.describe()))
                    .help(help),
            );
            return None;
        };
        let name = key_name(op);
        let Some(cmp) = cmps.iter().find(|(n, _)| *n == name).map(|(_, c)| *c) else {
            let diagnostic = refuse(name, op, &names.join(", ")).unwrap_or_else(|| {
                Code::BadThreshold
                    .error(
                        op.span.clone(),
                        format!("`{name}` is not a comparison of `{key}`"),
                    )
                    .label("unknown comparison")
                    .suggest_or(catalog::closest(name, names.iter().copied()), help.clone())
            });
            self.err(diagnostic);
            return None;
        };
        // The value may be a param (`count: { gte: $min_failures }`).
        let (lit, param) = match self.param_ref(value) {
            Some(Ok(ParamValue::One(lit))) => (Some(lit), true),
            Some(Ok(ParamValue::List(_))) => (None, true),
            Some(Err(())) => return None,
            None => (value.scalar().map(|s| s.lit()), false),
        };
        Some(Compared {
            cmp,
            param,
            op: name.to_string(),
            lit,
            value,
            help,
        })
    }

    /// A threshold: `{ gte: 10 }` with one of gt, gte, lt, lte, eq and a
    /// whole number not below zero.
    pub(in crate::check) fn threshold(&mut self, n: &Node, key: &str) -> Option<Threshold> {
        let c = self.comparison(n, key, &CountCmp::ALL, "{ gte: 10 }", &|_, _, _| None)?;
        let count = match &c.lit {
            Some(Lit::Int(i)) => u64::try_from(*i).ok(),
            Some(Lit::Str(s)) => s.trim().parse::<u64>().ok(),
            // A `number` param given on the command line reads as a float
            // (`--param min_failures=12`): whole ones count. In the rule's
            // own text a count is written as one (`10`, not `10.0`).
            Some(Lit::Float(f))
                if c.param && f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(f) =>
            {
                Some(*f as u64)
            }
            _ => None,
        };
        let Some(value) = count else {
            self.err(c.bad_value(key, "a whole number", "not a count"));
            return None;
        };
        Some(Threshold {
            cmp: c.cmp,
            value,
            span: n.span.clone(),
        })
    }
}

/// A comparison read by [`RuleCx::comparison`].
pub(in crate::check) struct Compared<'n> {
    pub(in crate::check) cmp: CountCmp,
    /// Whether the value came from a param.
    param: bool,
    op: String,
    /// The value, a param's resolved; `None` for a list.
    pub(in crate::check) lit: Option<Lit>,
    value: &'n Node,
    help: String,
}

impl Compared<'_> {
    /// The error for a value that is not `what`, zero or more.
    pub(in crate::check) fn bad_value(
        &self,
        key: &str,
        what: &str,
        label: &str,
    ) -> crate::diag::Diagnostic {
        let error = Code::BadThreshold.error(
            self.value.span.clone(),
            format!("`{}` of `{key}` must be {what}, zero or more", self.op),
        );
        match (&self.lit, self.param) {
            // The value is a param's, given on the command line or in the
            // config: say which, and where to fix it.
            (Some(lit), true) => error
                .label(format!("the param's value is `{}`", lit_text(lit)))
                .help(format!(
                    "give the param {what}, zero or more (with `--param` or in the config)"
                )),
            _ => error.label(label.to_string()).help(self.help.clone()),
        }
    }
}

/// A literal as text (a param's value used as a span).
fn lit_text(lit: &Lit) -> String {
    match lit {
        Lit::Str(s) => s.clone(),
        Lit::Int(i) => i.to_string(),
        Lit::Float(f) => f.to_string(),
        Lit::Bool(b) => b.to_string(),
        Lit::Null => String::new(),
    }
}

/// The span of a rule's `window` or `sequence` key, for errors about the
/// pair.
pub(in crate::check) fn key_span(entries: &[(Node, Node)], key: &str) -> Option<Span> {
    entries
        .iter()
        .find(|(k, _)| k.text() == Some(key))
        .map(|(k, _)| k.span.clone())
}
