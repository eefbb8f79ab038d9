//! The values of a search and their modifiers (`contains`, `re`,
//! `cidr`, `base64`, `fieldref`, ...) → conditions.

use super::cx::Cx;
use crate::catalog::{self, FieldPath, Resolved};
use crate::check::pattern::{build_regex, parse_net};
use crate::check::{Cond, Const, FieldRef, Op, Pred, Prepared, text_pattern};
use crate::diag::{Code, Span};
use crate::sigma::value::{self, Pattern};
use crate::syntax::{Lit, Node, NodeKind};

/// The value modifiers tollgate runs.
pub const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "base64",
    "base64offset",
    "windash",
    "cased",
    "fieldref",
];

/// Modifiers of the Sigma specification tollgate does not run, and why.
const UNSUPPORTED_MODIFIERS: &[(&str, &str)] = &[
    ("expand", "placeholders"),
    ("utf16le", "UTF-16 encoding before base64"),
    ("utf16be", "UTF-16 encoding before base64"),
    ("utf16", "UTF-16 encoding before base64"),
    ("wide", "UTF-16 encoding before base64"),
    ("minute", "time-part comparison"),
    ("hour", "time-part comparison"),
    ("day", "time-part comparison"),
    ("week", "time-part comparison"),
    ("month", "time-part comparison"),
    ("year", "time-part comparison"),
];

impl Cx<'_> {
    /// The values of one field (or keywords, when `field` is `None`) with
    /// their modifiers: one condition, the values ORed (ANDed with `all`).
    pub(super) fn values(
        &mut self,
        field: Option<Resolved>,
        mods: &[(String, Span)],
        n: &Node,
        key_span: &Span,
    ) -> Option<Cond> {
        let mut m = Mods::default();
        let mut ok = true;
        for (name, at) in mods {
            if !m.set(name) {
                ok = false;
                if let Some((_, what)) = UNSUPPORTED_MODIFIERS.iter().find(|(u, _)| u == name) {
                    if name == "expand" {
                        let placeholders = placeholders_in(n);
                        let file = self.file().to_string();
                        self.err(
                            Code::SigmaPlaceholder
                                .error(key_span.clone(), format!(
                                    "Sigma placeholder {} in {file} has no value",
                                    if placeholders.is_empty() { "`|expand`".to_string() } else { placeholders.join(", ") }
                                ))
                                .label("placeholder")
                                .help("tollgate fills no Sigma placeholders: replace them with the values in the rule"),
                        );
                    } else {
                        self.unsupported(
                            at,
                            &format!("modifier `{name}` ({what})"),
                            "remove the modifier or rewrite the value without it",
                        );
                    }
                } else {
                    self.err(
                        Code::SigmaModifier
                            .error(at.clone(), format!("unknown Sigma modifier `{name}`"))
                            .label("not a modifier")
                            .suggest_or(
                                catalog::closest(name, MODIFIERS.iter().copied()),
                                format!("modifiers are {}", MODIFIERS.join(", ")),
                            ),
                    );
                }
            }
        }
        if !ok {
            return None;
        }
        if let Some(problem) = m.conflict() {
            self.err(
                Code::SigmaModifier
                    .error(key_span.clone(), format!("Sigma modifiers {problem}"))
                    .label("these modifiers do not combine"),
            );
            return None;
        }
        let items: Vec<&Node> = match &n.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            _ => vec![n],
        };
        if items.is_empty() {
            self.err(
                Code::SigmaValue
                    .error(n.span.clone(), "an empty list of values matches nothing")
                    .label("empty list"),
            );
            return None;
        }
        let mut conds = Vec::new();
        for item in items {
            if item.scalar().is_none() {
                self.err(
                    Code::SigmaValue
                        .error(
                            item.span.clone(),
                            format!("a Sigma value must be a scalar, not {}", item.describe()),
                        )
                        .label("expected a value"),
                );
                return None;
            }
            conds.push(self.value(field.as_ref(), &m, item)?);
        }
        if m.exists && conds.len() == 1 {
            return conds.pop();
        }
        Some(match (conds.len(), m.all) {
            (1, _) => conds.pop()?,
            (_, true) => Cond::All(conds),
            (_, false) => Cond::Any(conds),
        })
    }

    fn value(&mut self, field: Option<&Resolved>, m: &Mods, n: &Node) -> Option<Cond> {
        let lit = n.scalar().map(|s| s.lit()).unwrap_or(Lit::Null);
        let span = n.span.clone();
        // Keywords search every value of the record.
        let keyword = field.is_none();
        let field = field.cloned().unwrap_or(Resolved {
            path: FieldPath::new(Vec::<String>::new(), true),
            field: None,
        });
        let pred = |op: Op,
                    values: Vec<Const>,
                    case_sensitive: bool,
                    prepared: Prepared,
                    as_text: bool| {
            Cond::Pred(Pred {
                field: field.clone(),
                op,
                values,
                case_sensitive,
                prepared,
                as_text,
                span: span.clone(),
            })
        };
        if m.exists {
            let Lit::Bool(b) = lit else {
                self.err(
                    Code::SigmaValue
                        .error(span.clone(), "`exists` takes `true` or `false`")
                        .label("expected a boolean"),
                );
                return None;
            };
            return Some(pred(
                Op::Exists,
                vec![Const::Bool(b)],
                false,
                Prepared::Values,
                false,
            ));
        }
        if keyword && matches!(lit, Lit::Null) {
            self.unsupported(
                &span,
                "`null` as a keyword",
                "`null` is a value of a field: `Field: null`",
            );
            return None;
        }
        if let Some(op) = m.order {
            let c = match lit {
                Lit::Int(i) => Const::Int(i),
                Lit::Float(f) => Const::Num(f),
                Lit::Str(s) => match (s.trim().parse::<i64>(), s.trim().parse::<f64>()) {
                    (Ok(i), _) => Const::Int(i),
                    (_, Ok(f)) => Const::Num(f),
                    _ => {
                        self.err(
                            Code::SigmaValue
                                .error(
                                    span.clone(),
                                    format!("`{}` compares numbers, not `{s}`", op.name()),
                                )
                                .label("expected a number"),
                        );
                        return None;
                    }
                },
                _ => {
                    self.err(
                        Code::SigmaValue
                            .error(span.clone(), format!("`{}` compares numbers", op.name()))
                            .label("expected a number"),
                    );
                    return None;
                }
            };
            return Some(pred(op, vec![c], false, Prepared::Values, false));
        }
        // A keyword is found anywhere in a value, as full-text search finds
        // it (unless the rule anchors it with `startswith` / `endswith`).
        let contains = m.contains || (keyword && !m.startswith && !m.endswith);
        let text = match lit {
            Lit::Null => {
                // `null`: the field is absent or null.
                return Some(pred(
                    Op::Exists,
                    vec![Const::Bool(false)],
                    false,
                    Prepared::Values,
                    false,
                ));
            }
            Lit::Int(i) if m.plain() && !keyword => {
                return Some(pred(
                    Op::Eq,
                    vec![Const::Int(i)],
                    false,
                    Prepared::Values,
                    false,
                ));
            }
            Lit::Float(f) if m.plain() && !keyword => {
                return Some(pred(
                    Op::Eq,
                    vec![Const::Num(f)],
                    false,
                    Prepared::Values,
                    false,
                ));
            }
            Lit::Bool(b) if m.plain() && !keyword => {
                return Some(pred(
                    Op::Eq,
                    vec![Const::Bool(b)],
                    false,
                    Prepared::Values,
                    false,
                ));
            }
            _ => n.text().unwrap_or_default().to_string(),
        };
        if m.cidr {
            return match parse_net(&text) {
                Ok(net) => Some(pred(
                    Op::Cidr,
                    vec![Const::Str(text)],
                    false,
                    Prepared::Nets(vec![net]),
                    false,
                )),
                Err(e) => {
                    self.err(
                        Code::BadCidr
                            .error(span.clone(), format!("`{text}` is not an IP range"))
                            .label(e.to_string()),
                    );
                    None
                }
            };
        }
        if m.fieldref {
            let target = self.field(&text, &span);
            let op = if m.contains {
                Op::Contains
            } else if m.startswith {
                Op::StartsWith
            } else if m.endswith {
                Op::EndsWith
            } else {
                Op::Eq
            };
            return Some(pred(
                op,
                vec![Const::Field(FieldRef {
                    step: None,
                    field: target,
                })],
                m.cased,
                Prepared::Values,
                false,
            ));
        }
        if m.re {
            let mut flags = String::new();
            for (on, f) in [(m.re_m, 'm'), (m.re_s, 's')] {
                if on {
                    flags.push(f);
                }
            }
            // The value holds the flags too: the targets and the Sigma
            // export compile the value, not the regex built here.
            let value = if flags.is_empty() {
                text
            } else {
                format!("(?{flags}){text}")
            };
            let values = vec![Const::Str(value)];
            let pattern = text_pattern(Op::Matches, &values)?;
            // Sigma regexes match with case unless `|i`.
            let case_sensitive = !m.re_i;
            return match build_regex(&pattern, case_sensitive) {
                Ok(re) => Some(pred(
                    Op::Matches,
                    values,
                    case_sensitive,
                    Prepared::Regex(Ok(re)),
                    true,
                )),
                Err(e) => {
                    let code = if e.too_large {
                        Code::RegexTooLarge
                    } else {
                        Code::BadRegex
                    };
                    self.err(
                        code.error(span.clone(), "invalid Sigma regular expression")
                            .label(e.message)
                            .help("tollgate runs Rust `regex` syntax: no look-around and no back-references"),
                    );
                    None
                }
            };
        }
        // A whole object or list never equals text that is not JSON of
        // one: say so (the rule still loads, as Log Analytics runs it).
        let whole = !(contains || m.startswith || m.endswith || m.base64 || m.base64offset);
        let structured = field
            .field
            .is_some_and(|f| f.list || !f.children().is_empty());
        let trimmed = text.trim_start();
        if whole && structured && !keyword && !trimmed.starts_with(['{', '[', '*', '?']) {
            let name = n.text().unwrap_or_default();
            let column = crate::sigma::export::log_analytics_name(&field.path, self.root);
            self.err(
                Code::SigmaJsonText
                    .warning(
                        span.clone(),
                        format!(
                            "`{column}` holds {}: `{name}` is compared with its JSON text and never equals it",
                            if field.field.is_some_and(|f| f.list) { "a list" } else { "an object" }
                        ),
                    )
                    .label("never matches")
                    .help("compare a field inside it (`Status.errorCode`, `ResultType`), or use `|contains`"),
            );
        }
        // Strings: wildcards, then the modifiers that rewrite the value.
        let mut alternatives: Vec<Pattern> = if m.base64 || m.base64offset {
            let pattern = Pattern::parse(&text);
            let Some(plain) = pattern.plain() else {
                self.unsupported(
                    &span,
                    "wildcards in a `base64` value",
                    "write the value without `*` and `?`",
                );
                return None;
            };
            if m.base64 {
                vec![Pattern::text(&value::base64(plain.as_bytes()))]
            } else {
                value::base64_offsets(&plain)
                    .iter()
                    .map(|s| Pattern::text(s))
                    .collect()
            }
        } else {
            vec![Pattern::parse(&text)]
        };
        if m.windash {
            alternatives = alternatives.into_iter().map(Pattern::windash).collect();
        }
        let conds: Vec<Cond> = alternatives
            .into_iter()
            .map(|p| {
                let p = if contains {
                    p.contains()
                } else if m.startswith {
                    p.starts()
                } else if m.endswith {
                    p.ends()
                } else {
                    p
                };
                self.pattern_cond(&p, m.cased, &pred)
            })
            .collect::<Option<_>>()?;
        let mut conds = conds;
        Some(match conds.len() {
            1 => conds.pop()?,
            _ => Cond::Any(conds),
        })
    }

    /// A string pattern as a condition: text with no wildcard as `eq` (an
    /// empty text also matches an absent field, as Log Analytics gives an
    /// empty value for it), `*x*` / `x*` / `*x` as `contains` / `startsWith`
    /// / `endsWith`, anything else as a regex.
    fn pattern_cond(
        &mut self,
        p: &Pattern,
        cased: bool,
        pred: &dyn Fn(Op, Vec<Const>, bool, Prepared, bool) -> Cond,
    ) -> Option<Cond> {
        use value::Part;
        // The regex check builds for the same condition in a rule.
        let literal = |op: Op, text: &str| -> Option<Cond> {
            let values = vec![Const::Str(text.to_string())];
            let re = text_pattern(op, &values)?;
            Some(pred(
                op,
                values,
                cased,
                Prepared::Regex(build_regex(&re, cased)),
                true,
            ))
        };
        match p.0.as_slice() {
            [] => Some(Cond::Any(vec![
                pred(
                    Op::Eq,
                    vec![Const::Str(String::new())],
                    cased,
                    Prepared::Values,
                    true,
                ),
                pred(
                    Op::Exists,
                    vec![Const::Bool(false)],
                    false,
                    Prepared::Values,
                    false,
                ),
            ])),
            [Part::Text(t)] => Some(pred(
                Op::Eq,
                vec![Const::Str(t.clone())],
                cased,
                Prepared::Values,
                true,
            )),
            [Part::Star, Part::Text(t), Part::Star] => literal(Op::Contains, t),
            [Part::Text(t), Part::Star] => literal(Op::StartsWith, t),
            [Part::Star, Part::Text(t)] => literal(Op::EndsWith, t),
            _ => {
                let values = vec![Const::Str(p.to_regex())];
                match build_regex(&text_pattern(Op::Matches, &values)?, cased) {
                    Ok(built) => Some(pred(
                        Op::Matches,
                        values,
                        cased,
                        Prepared::Regex(Ok(built)),
                        true,
                    )),
                    Err(e) => {
                        self.err(
                            Code::RegexTooLarge
                                .error(
                                    Span::new(self.source, 0..0),
                                    "Sigma value is too large to match",
                                )
                                .label(e.message),
                        );
                        None
                    }
                }
            }
        }
    }
}

/// `%name%` placeholders in a value (or values).
fn placeholders_in(n: &Node) -> Vec<String> {
    let texts: Vec<&str> = match &n.kind {
        NodeKind::Seq(items) => items.iter().filter_map(Node::text).collect(),
        _ => n.text().into_iter().collect(),
    };
    let mut out = Vec::new();
    for t in texts {
        let parts: Vec<&str> = t.split('%').collect();
        for (i, p) in parts.iter().enumerate() {
            if i % 2 == 1 && i + 1 < parts.len() && !p.is_empty() {
                out.push(format!("`%{p}%`"));
            }
        }
    }
    out
}

/// The modifiers of one field.
#[derive(Debug, Default)]
struct Mods {
    contains: bool,
    startswith: bool,
    endswith: bool,
    all: bool,
    re: bool,
    re_i: bool,
    re_m: bool,
    re_s: bool,
    cidr: bool,
    exists: bool,
    order: Option<Op>,
    base64: bool,
    base64offset: bool,
    windash: bool,
    cased: bool,
    fieldref: bool,
}

impl Mods {
    fn set(&mut self, name: &str) -> bool {
        match name {
            "contains" => self.contains = true,
            "startswith" => self.startswith = true,
            "endswith" => self.endswith = true,
            "all" => self.all = true,
            "re" => self.re = true,
            "i" => self.re_i = true,
            "m" => self.re_m = true,
            "s" => self.re_s = true,
            "cidr" => self.cidr = true,
            "exists" => self.exists = true,
            "gt" => self.order = Some(Op::Gt),
            "gte" => self.order = Some(Op::Gte),
            "lt" => self.order = Some(Op::Lt),
            "lte" => self.order = Some(Op::Lte),
            "base64" => self.base64 = true,
            "base64offset" => self.base64offset = true,
            "windash" => self.windash = true,
            "cased" => self.cased = true,
            "fieldref" => self.fieldref = true,
            _ => return false,
        }
        true
    }

    /// No modifier that changes how a number or boolean compares.
    fn plain(&self) -> bool {
        !(self.contains
            || self.startswith
            || self.endswith
            || self.re
            || self.base64
            || self.base64offset
            || self.windash
            || self.cased
            || self.cidr
            || self.fieldref)
    }

    fn conflict(&self) -> Option<String> {
        let position = [self.contains, self.startswith, self.endswith]
            .iter()
            .filter(|b| **b)
            .count();
        if position > 1 {
            return Some("`contains`, `startswith` and `endswith` exclude each other".into());
        }
        if (self.re_i || self.re_m || self.re_s) && !self.re {
            return Some("`i`, `m` and `s` are flags of `re`".into());
        }
        let kinds = [
            self.re,
            self.cidr,
            self.exists,
            self.order.is_some(),
            self.fieldref,
            self.base64 || self.base64offset,
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if kinds > 1 || (self.base64 && self.base64offset) {
            return Some("`re`, `cidr`, `exists`, `gt`/`gte`/`lt`/`lte`, `fieldref` and `base64` exclude each other".into());
        }
        if (self.re || self.cidr || self.exists || self.order.is_some()) && position > 0 {
            return Some(
                "`contains`, `startswith` and `endswith` apply to plain values only".into(),
            );
        }
        if self.windash
            && (self.re || self.cidr || self.exists || self.order.is_some() || self.fieldref)
        {
            return Some("`windash` applies to plain values only".into());
        }
        None
    }
}
