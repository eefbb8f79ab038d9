//! Params: `params:` declarations and `$name` references.
//!
//! Takes a rule's `params:` mapping and the values given from outside
//! (`--param`, config), and gives each param's value (the given one, else
//! the default), typed by its declared type. Conditions then read `$name`
//! or `${name}` through [`RuleCx::param_ref`], which marks the param used
//! so unused ones can be reported; `$$` is a literal `$`.

use super::{RuleCx, find, key_name, wrong_type};
use crate::catalog;
use crate::diag::{Code, Span};
use crate::syntax::{Lit, Node, NodeKind};

pub(super) struct ParamDef {
    pub(super) span: Span,
    pub(super) value: Option<ParamValue>,
    pub(super) used: bool,
    pub(super) is_list: bool,
    /// Declared `required: true`: no default, and until a value is given
    /// the rule waits instead of running.
    pub(super) required: bool,
    /// Its value (given, or its default) was refused, and said so: its
    /// uses are not mistakes of their own.
    pub(super) refused: bool,
}

#[derive(Debug, Clone)]
pub(super) enum ParamValue {
    One(Lit),
    List(Vec<Lit>),
}

impl RuleCx<'_> {
    pub(super) fn declare_params(&mut self, n: &Node) {
        let Some(entries) = n.map() else {
            self.err(wrong_type(
                n,
                "`params` must be a mapping of names to `{ type: ..., default: ... }`".into(),
                "expected a mapping",
            ));
            return;
        };
        const TYPES: [&str; 5] = ["string", "int", "number", "bool", "list"];
        for (key, def) in entries {
            let name = key_name(key).to_string();
            let (ty, default, required) = match def.map() {
                Some(fields) => {
                    self.known_keys(
                        fields,
                        &["type", "default", "required", "description"],
                        "param",
                    );
                    (
                        find(fields, "type"),
                        find(fields, "default"),
                        find(fields, "required"),
                    )
                }
                None => (None, None, None),
            };
            let required = match required.map(|r| (r, r.scalar().map(|s| s.lit()))) {
                None => false,
                Some((_, Some(Lit::Bool(b)))) => b,
                Some((r, _)) => {
                    self.err(wrong_type(
                        r,
                        format!("`required` must be true or false, not {}", r.describe()),
                        "expected true or false",
                    ));
                    false
                }
            };
            if required && let Some(d) = default {
                self.err(
                    Code::BadParam
                        .error(
                            d.span.clone(),
                            format!("param `{name}` is required and has a default"),
                        )
                        .label("a required param has no default")
                        .help("remove the default, or `required: true` to let the default apply when no value is given"),
                );
            }
            let ty_name = match ty {
                Some(t) => {
                    let t_name = key_name(t);
                    let canonical = match t_name {
                        "integer" => "int",
                        "boolean" => "bool",
                        other => other,
                    };
                    if TYPES.contains(&canonical) {
                        canonical.to_string()
                    } else {
                        self.err(
                            Code::BadParam
                                .error(t.span.clone(), format!("unknown param type `{t_name}`"))
                                .label("not a param type")
                                .help(format!("param types are {}", TYPES.join(", "))),
                        );
                        continue;
                    }
                }
                None => {
                    self.err(
                        Code::BadParam.error(key.span.clone(),
                            format!("param `{name}` has no `type`"),
                        )
                        .label("this param")
                        .help("write `{ type: list, default: [...] }` (types: string, int, number, bool, list)"),
                    );
                    continue;
                }
            };
            let is_list = ty_name == "list";
            // `Some(None)`: a value was given (or a default written) and
            // refused.
            let read = match self.given.get(&name) {
                Some(given) => Some(self.param_from_text(&name, &ty_name, given, &key.span)),
                None => default.map(|d| self.param_from_node(&name, &ty_name, d)),
            };
            let refused = matches!(read, Some(None));
            let value = read.flatten();
            self.params.insert(
                name,
                ParamDef {
                    span: key.span.clone(),
                    value,
                    used: false,
                    is_list,
                    required,
                    refused,
                },
            );
        }
    }

    pub(super) fn param_from_node(&mut self, name: &str, ty: &str, n: &Node) -> Option<ParamValue> {
        let bad = |cx: &mut Self, what: &str| {
            cx.err(
                Code::BadParam
                    .error(
                        n.span.clone(),
                        format!(
                            "default of param `{name}` is {what}, not {}",
                            with_article(ty)
                        ),
                    )
                    .label(format!("expected {}", with_article(ty)))
                    .help(match ty {
                        "list" => "write the default as a list, such as `[US, GB]`".to_string(),
                        other => {
                            format!("write a default of type {other}, or change the param's `type`")
                        }
                    }),
            );
            None
        };
        match (&n.kind, ty) {
            (NodeKind::Seq(items), "list") => {
                let mut out = Vec::new();
                for item in items {
                    match item.scalar() {
                        Some(s) => out.push(s.lit()),
                        None => return bad(self, item.describe()),
                    }
                }
                Some(ParamValue::List(out))
            }
            (NodeKind::Scalar(s), "list") => Some(ParamValue::List(vec![s.lit()])),
            (NodeKind::Scalar(s), _) => {
                let lit = s.lit();
                let ok = matches!(
                    (ty, &lit),
                    ("string", _)
                        | ("int", Lit::Int(_))
                        | ("number", Lit::Int(_) | Lit::Float(_))
                        | ("bool", Lit::Bool(_))
                );
                if ok {
                    Some(ParamValue::One(match (ty, lit) {
                        ("string", Lit::Str(s)) => Lit::Str(s),
                        ("string", _) => Lit::Str(s.text.clone()),
                        (_, lit) => lit,
                    }))
                } else {
                    bad(self, n.describe())
                }
            }
            _ => bad(self, n.describe()),
        }
    }

    pub(super) fn param_from_text(
        &mut self,
        name: &str,
        ty: &str,
        given: &[String],
        at: &Span,
    ) -> Option<ParamValue> {
        if ty == "list" {
            let items = given
                .iter()
                .flat_map(|g| g.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Lit::Str(s.to_string()))
                .collect();
            return Some(ParamValue::List(items));
        }
        // The last value given wins. `Loader::param` never leaves a name
        // with no value, but `ParamValues` is public: none reads as empty
        // text, which is then refused for every type but string.
        let text = given.last().map(String::as_str).unwrap_or_default();
        let lit = match ty {
            "int" => text.trim().parse::<i64>().ok().map(Lit::Int),
            "number" => text.trim().parse::<f64>().ok().map(Lit::Float),
            "bool" => match text.trim().to_ascii_lowercase().as_str() {
                "true" => Some(Lit::Bool(true)),
                "false" => Some(Lit::Bool(false)),
                _ => None,
            },
            _ => Some(Lit::Str(text.to_string())),
        };
        if lit.is_none() {
            self.err(
                Code::BadParam
                    .error(
                        at.clone(),
                        format!(
                            "the value `{text}` given for param `{name}` (with `--param` or in \
                             the config) is not {}",
                            with_article(ty)
                        ),
                    )
                    .label(format!("declared as {ty} here"))
                    .help(format!(
                        "pass {} value: `--param {name}=...`",
                        with_article(ty)
                    )),
            );
        }
        lit.map(ParamValue::One)
    }

    /// Reads `$name` / `${name}` references; `$$` escapes a literal `$`.
    pub(super) fn param_ref(&mut self, n: &Node) -> Option<Result<ParamValue, ()>> {
        let s = n.scalar()?;
        let text = s.text.as_str();
        if let Some(rest) = text.strip_prefix("$$") {
            return Some(Ok(ParamValue::One(Lit::Str(format!("${rest}")))));
        }
        let name = param_name(text)?;
        let declared: Vec<&str> = self.params.keys().map(String::as_str).collect();
        let suggestion = catalog::closest(name, declared);
        match self.params.get_mut(name) {
            Some(def) => {
                def.used = true;
                match def.value.clone() {
                    Some(v) => Some(Ok(v)),
                    // The value was refused where it was given.
                    None if def.refused => Some(Err(())),
                    // The rule waits for the value: not a mistake, and the
                    // condition is not built (the rule does not run).
                    None if def.required => {
                        self.waiting.insert(name.to_string());
                        Some(Err(()))
                    }
                    None => {
                        let span = def.span.clone();
                        self.err(
                            Code::ParamWithoutValue
                                .error(n.span.clone(), format!("param `{name}` has no value"))
                                .label("used here")
                                .related(span, "declared without a default")
                                .help(format!("give it a default, declare it `required: true`, or pass `--param {name}=...`")),
                        );
                        Some(Err(()))
                    }
                }
            }
            None => {
                self.err(
                    Code::UndefinedParam.error(n.span.clone(),
                        format!("param `{name}` is not declared"),
                    )
                    .label("undefined param")
                    .suggest_or(
                        suggestion.map(|near| format!("${near}")),
                        format!("declare it under `params:` as `{name}: {{ type: ..., default: ... }}`, or write `$$` for a literal `$`"),
                    ),
                );
                Some(Err(()))
            }
        }
    }

    pub(super) fn touch_params(&mut self, n: &Node) {
        match &n.kind {
            NodeKind::Scalar(_) => {
                let _ = self.param_ref(n);
            }
            NodeKind::Seq(items) => items.iter().for_each(|i| self.touch_params(i)),
            NodeKind::Map(entries) => entries.iter().for_each(|(_, v)| self.touch_params(v)),
        }
    }

    /// Whether a value is a reference to a list param (without marking it
    /// used).
    pub(super) fn peek_param(&self, n: &Node) -> Option<bool> {
        let text = n.text()?;
        if text.starts_with("$$") {
            return None;
        }
        self.params.get(param_name(text)?).map(|p| p.is_list)
    }
}

/// The param a `$name` or `${name}` reference names; `None` for text that
/// is no reference.
fn param_name(text: &str) -> Option<&str> {
    let name = text.strip_prefix('$')?;
    // `${name}` lets a name be followed by text; `$name` is the whole value.
    Some(
        name.strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(name),
    )
}

/// `an int`, `a list`, ...
pub(super) fn with_article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}
