//! Conditions: the `match:` tree of a rule → a [`Cond`] tree.
//!
//! Takes the YAML under `match:` (and, recursively, under `all:`, `any:`,
//! `not:` and the list quantifiers), resolves each key against the catalog
//! in scope, reads operators and their values (substituting params), and
//! gives [`Cond`]s whose [`Pred`]s hold typed constants and the matcher
//! input built once ([`Prepared`]).

use super::model::{Cond, Const, Op, Pred, Prepared, Quantifier};
use super::params::ParamValue;
use super::pattern::{RegexError, build_regex};
use super::{RuleCx, all_of, find, key_name, wrong_type};
use crate::catalog::{self, Field, Kind, Resolved};
use crate::diag::{Code, Diagnostic, Span};
use crate::syntax::{Lit, Node, NodeKind};

impl RuleCx<'_> {
    pub(super) fn condition(
        &mut self,
        n: &Node,
        fields: &'static [Field],
        depth: usize,
    ) -> Option<Cond> {
        let Some(entries) = n.map() else {
            self.err(
                Code::BadCondition.error(n.span.clone(),
                    format!("a condition must be a mapping of fields to values, not {}", n.describe()),
                )
                .label("expected `field: value`")
                .help("write conditions as `field: value`, or combine them with `all:`, `any:`, `not:`"),
            );
            return None;
        };
        let mut parts = Vec::new();
        let mut ok = true;
        for (key, value) in entries {
            let name = key_name(key);
            let part = match name {
                "all" | "any" => self.list_of_conditions(name, value, fields, depth),
                "not" => self
                    .condition(value, fields, depth + 1)
                    .map(|c| Cond::Not(Box::new(c))),
                _ => self.field_condition(key, value, fields, depth),
            };
            match part {
                Some(c) => parts.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        all_of(parts)
    }

    pub(super) fn list_of_conditions(
        &mut self,
        name: &str,
        value: &Node,
        fields: &'static [Field],
        depth: usize,
    ) -> Option<Cond> {
        let items: Vec<&Node> = match &value.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            NodeKind::Map(_) => vec![value],
            NodeKind::Scalar(_) => {
                self.err(
                    Code::BadCondition
                        .error(
                            value.span.clone(),
                            format!(
                                "`{name}` takes a list of conditions, not {}",
                                value.describe()
                            ),
                        )
                        .label("expected a list of conditions")
                        .help(format!(
                            "write `{name}:` followed by `- field: value` lines"
                        )),
                );
                return None;
            }
        };
        let mut children = Vec::new();
        let mut ok = true;
        for item in items {
            match self.condition(item, fields, depth + 1) {
                Some(c) => children.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some(if name == "all" {
            Cond::All(children)
        } else {
            Cond::Any(children)
        })
    }

    pub(super) fn resolve(&mut self, key: &Node, fields: &'static [Field]) -> Option<Resolved> {
        let name = key_name(key);
        match catalog::resolve_in(fields, name) {
            Ok(r) => Some(r),
            Err(e) => {
                // Point at the segment that failed when the key is written plain.
                let start = key.span.range.start;
                let quoted = key.scalar().is_some_and(|s| !s.plain);
                let seg_start = start + usize::from(quoted) + e.offset;
                let span = Span::new(self.source, seg_start..seg_start + e.segment.len());
                self.err(
                    Code::UnknownField
                        .error(span, format!("unknown field `{}`", e.segment))
                        .label(format!("not in the {} catalog", self.catalog_name()))
                        .suggest_or(
                            e.suggestion.as_ref(),
                            format!(
                                "see `tollgate schema` for the fields; reach a field the catalog lacks with `{}{name}`",
                                catalog::RAW_PREFIX
                            ),
                        ),
                );
                None
            }
        }
    }

    pub(super) fn field_condition(
        &mut self,
        key: &Node,
        value: &Node,
        fields: &'static [Field],
        depth: usize,
    ) -> Option<Cond> {
        let Some(field) = self.resolve(key, fields) else {
            // Still read the params the condition names, so they are not
            // reported unused and undefined ones are reported too.
            self.touch_params(value);
            return None;
        };
        let span = Span::new(
            self.source,
            key.span.range.start..value.span.range.end.max(key.span.range.end),
        );
        match &value.kind {
            NodeKind::Map(ops) => self.operators(&field, ops, span, depth, Some(fields)),
            NodeKind::Seq(_) => self
                .pred(&field, Op::In, value, false, span, Some(fields))
                .map(Cond::Pred),
            NodeKind::Scalar(_) => {
                // `field: $list` reads as "equals one of".
                let op = match self.peek_param(value) {
                    Some(true) => Op::In,
                    _ => Op::Eq,
                };
                self.pred(&field, op, value, false, span, Some(fields))
                    .map(Cond::Pred)
            }
        }
    }

    pub(super) fn operators(
        &mut self,
        field: &Resolved,
        ops: &[(Node, Node)],
        span: Span,
        depth: usize,
        refs: Option<&'static [Field]>,
    ) -> Option<Cond> {
        // `field: { field: other }` is equality with another field.
        if let Some(target) = field_ref_target_in(ops) {
            return self
                .ref_pred(field, Op::Eq, target, false, span, refs)
                .map(Cond::Pred);
        }
        let case_sensitive = match find(ops, "caseSensitive") {
            Some(n) => match n.scalar().map(|s| s.lit()) {
                Some(Lit::Bool(b)) => b,
                _ => {
                    self.err(wrong_type(
                        n,
                        format!(
                            "`caseSensitive` must be true or false, not {}",
                            n.describe()
                        ),
                        "expected true or false",
                    ));
                    false
                }
            },
            None => false,
        };
        let mut parts = Vec::new();
        let mut ok = true;
        for (key, value) in ops {
            let name = key_name(key);
            if name == "caseSensitive" {
                continue;
            }
            let quant = match name {
                "any" => Some(Quantifier::Any),
                "all" => Some(Quantifier::All),
                "none" => Some(Quantifier::None),
                _ => None,
            };
            let part = if let Some(q) = quant {
                self.quantifier(field, q, key, value, depth)
            } else if let Some(op) = Op::from_name(name) {
                let span = Span::new(
                    self.source,
                    span.range.start..value.span.range.end.max(key.span.range.end),
                );
                self.pred(field, op, value, case_sensitive, span, refs)
                    .map(Cond::Pred)
            } else {
                let names =
                    Op::ALL
                        .iter()
                        .map(|(n, _)| *n)
                        .chain(["any", "all", "none", "caseSensitive"]);
                let names_list: Vec<&str> = Op::ALL.iter().map(|(n, _)| *n).collect();
                let suggestion = catalog::closest(name, names);
                self.err(
                    Code::UnknownOperator.error(key.span.clone(),
                        format!("unknown operator `{name}`"),
                    )
                    .label("not an operator")
                    .suggest_or(
                        suggestion,
                        format!(
                            "operators are {}; over lists: any, all, none; modifier: caseSensitive",
                            names_list.join(", ")
                        ),
                    ),
                );
                None
            };
            match part {
                Some(c) => parts.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        if parts.is_empty() {
            self.err(
                Code::BadCondition
                    .error(span, "condition has no operator")
                    .label("empty")
                    .help("write an operator such as `{ eq: value }`, or the value itself"),
            );
            return None;
        }
        all_of(parts)
    }

    pub(super) fn quantifier(
        &mut self,
        field: &Resolved,
        quantifier: Quantifier,
        key: &Node,
        value: &Node,
        depth: usize,
    ) -> Option<Cond> {
        let span = Span::new(
            self.source,
            key.span.range.start..value.span.range.end.max(key.span.range.end),
        );
        let list_field = field.field.filter(|f| f.list);
        if field.field.is_some() && list_field.is_none() {
            self.err(
                Code::NotAList
                    .error(
                        key.span.clone(),
                        format!(
                            "`{}` applies to lists, and `{}` is not one",
                            quantifier.name(),
                            field.path
                        ),
                    )
                    .label("not a list field")
                    .help("compare the field directly"),
            );
            return None;
        }
        let inner = match list_field {
            // Elements are objects: the value is a condition on their fields.
            Some(f) if matches!(f.kind, Kind::Object(_)) => {
                self.condition(value, f.children(), depth + 1)?
            }
            // Elements are scalars (or unknown): the value tests the element.
            _ => {
                // The element has the list's type; paths inside are empty.
                let element = Resolved {
                    path: catalog::FieldPath::new(Vec::<Box<str>>::new(), field.path.is_raw()),
                    field: list_field,
                };
                match &value.kind {
                    NodeKind::Map(ops) => {
                        self.operators(&element, ops, span.clone(), depth + 1, None)?
                    }
                    NodeKind::Seq(_) => {
                        Cond::Pred(self.pred(&element, Op::In, value, false, span.clone(), None)?)
                    }
                    NodeKind::Scalar(_) => {
                        Cond::Pred(self.pred(&element, Op::Eq, value, false, span.clone(), None)?)
                    }
                }
            }
        };
        Some(Cond::Quant {
            quantifier,
            field: field.clone(),
            inner: Box::new(inner),
            span,
        })
    }

    /// Reads the value(s) of one operator, substituting params and typing
    /// each constant against the field; a value `{ field: PATH }` is read
    /// by [`RuleCx::ref_pred`], resolving in `refs` (no field references
    /// where it is `None`: inside a quantifier over scalars).
    pub(super) fn pred(
        &mut self,
        field: &Resolved,
        op: Op,
        value: &Node,
        case_sensitive: bool,
        span: Span,
        refs: Option<&'static [Field]>,
    ) -> Option<Pred> {
        if let Some(target) = field_ref_target(value) {
            return self.ref_pred(field, op, target, case_sensitive, span, refs);
        }
        let mut lits: Vec<(Lit, Span)> = Vec::new();
        let mut failed = false;
        let mut is_list = false;
        let items: Vec<&Node> = match &value.kind {
            NodeKind::Seq(items) => {
                is_list = true;
                items.iter().collect()
            }
            _ => vec![value],
        };
        for item in items {
            match self.param_ref(item) {
                Some(Ok(ParamValue::One(l))) => lits.push((l, item.span.clone())),
                Some(Ok(ParamValue::List(ls))) => {
                    is_list = true;
                    lits.extend(ls.into_iter().map(|l| (l, item.span.clone())));
                }
                Some(Err(())) => failed = true,
                None => match item.scalar() {
                    Some(s) => lits.push((s.lit(), item.span.clone())),
                    None if field_ref_target(item).is_some() => {
                        self.err(
                            Code::BadFieldRef
                                .error(
                                    item.span.clone(),
                                    "a field reference cannot be one value of a list",
                                )
                                .label("inside a list")
                                .help("compare with one field (`FIELD: { field: OTHER }`), or with every value of a list field (`FIELD: { in: { field: LIST_FIELD } }`)"),
                        );
                        failed = true;
                    }
                    None => {
                        self.err(wrong_type(
                            item,
                            format!("`{}` takes a value, not {}", op.name(), item.describe()),
                            "expected a value",
                        ));
                        failed = true;
                    }
                },
            }
        }
        if failed {
            return None;
        }
        if is_list && !op.takes_list() && !matches!(op, Op::Eq) {
            self.err(
                wrong_type(
                    value,
                    format!("`{}` takes one value, not a list", op.name()),
                    "a list",
                )
                .help(match op {
                    Op::Ne => "use `notIn` to exclude several values".to_string(),
                    _ => format!("write one value after `{}`", op.name()),
                }),
            );
            return None;
        }
        // `eq` with a list (written, or from a list param) means "one of";
        // `in` with one value is kept as `in` so evidence reads as written.
        let op = match (op, is_list) {
            (Op::Eq, true) => Op::In,
            (Op::In, false) => Op::In,
            (op, _) => op,
        };
        let mut values = Vec::new();
        let mut nets = Vec::new();
        for (lit, at) in lits {
            // `cidr` keeps the parsed range beside the constant written.
            let typed = if op == Op::Cidr {
                self.typed_cidr(field, op, lit, &at).map(|(c, net)| {
                    nets.push(net);
                    c
                })
            } else {
                self.typed(field, op, lit, &at)
            };
            match typed {
                Some(c) => values.push(c),
                None => failed = true,
            }
        }
        if failed {
            return None;
        }
        if op == Op::Matches {
            // Validate each pattern alone, so the error points at it.
            let items = value
                .seq()
                .map_or_else(|| vec![value], |s| s.iter().collect());
            for (c, item) in values.iter().zip(items) {
                if let Const::Str(p) = c
                    && let Err(e) = build_regex(p, case_sensitive)
                {
                    self.err(regex_diagnostic(item.span.clone(), e));
                    failed = true;
                }
            }
        }
        if failed {
            return None;
        }
        let prepared = match text_pattern(op, &values) {
            Some(pattern) => Prepared::Regex(build_regex(&pattern, case_sensitive)),
            None if op == Op::Cidr => Prepared::Nets(nets),
            None => Prepared::Values,
        };
        Some(Pred {
            field: field.clone(),
            op,
            values,
            case_sensitive,
            prepared,
            as_text: false,
            span,
        })
    }
}

/// The `PATH` node of a value written `{ field: PATH }`.
pub(super) fn field_ref_target(value: &Node) -> Option<&Node> {
    field_ref_target_in(value.map()?)
}

fn field_ref_target_in(entries: &[(Node, Node)]) -> Option<&Node> {
    match entries {
        [(key, target)] if key_name(key) == "field" => Some(target),
        _ => None,
    }
}

/// A pattern that does not build: too large, or not a regex.
fn regex_diagnostic(span: Span, e: RegexError) -> Diagnostic {
    let (code, message, help) = if e.too_large {
        (
            Code::RegexTooLarge,
            "regular expression is too large",
            "patterns from rule files are limited in size; simplify the pattern or split it",
        )
    } else {
        (
            Code::BadRegex,
            "invalid regular expression",
            "regexes use Rust `regex` syntax; escape special characters with `\\`",
        )
    };
    code.error(span, message).label(e.message).help(help)
}

/// The one regex a text operator's alternatives become: literals escaped
/// and anchored for `contains` / `startsWith` / `endsWith`, patterns as
/// written for `matches`. `None` for operators that need no regex.
pub fn text_pattern(op: Op, values: &[Const]) -> Option<String> {
    let strings = || {
        values.iter().filter_map(|v| match v {
            Const::Str(s) => Some(s.as_str()),
            _ => None,
        })
    };
    let literal = |prefix: &str, suffix: &str| {
        let alternatives: Vec<String> = strings().map(regex::escape).collect();
        format!("{prefix}(?:{}){suffix}", alternatives.join("|"))
    };
    match op {
        Op::Contains => Some(literal("", "")),
        Op::StartsWith => Some(literal(r"\A", "")),
        Op::EndsWith => Some(literal("", r"\z")),
        Op::Matches => {
            let patterns: Vec<String> = strings()
                .map(|p| format!("(?:{})", without_comments(p)))
                .collect();
            Some(patterns.join("|"))
        }
        _ => None,
    }
}

/// A pattern as the regex parser reads it, with the comments and spacing
/// of the `x` flag left out, so a group around it closes where it is
/// written (a `#` comment would run over it); a pattern that does not
/// parse as it is, for the build to report.
fn without_comments(pattern: &str) -> std::borrow::Cow<'_, str> {
    match regex_syntax::ast::parse::Parser::new().parse(pattern) {
        Ok(ast) => {
            let mut out = String::with_capacity(pattern.len());
            match regex_syntax::ast::print::Printer::new().print(&ast, &mut out) {
                Ok(()) => out.into(),
                Err(_) => pattern.into(),
            }
        }
        Err(_) => pattern.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_operators_become_one_pattern() {
        let values = [Const::Str("a.b".into()), Const::Str("c".into())];
        assert_eq!(
            text_pattern(Op::StartsWith, &values).as_deref(),
            Some(r"\A(?:a\.b|c)")
        );
        assert_eq!(
            text_pattern(Op::Matches, &values).as_deref(),
            Some("(?:a.b)|(?:c)")
        );
        assert_eq!(text_pattern(Op::Eq, &values), None);
        // A comment of the `x` flag ends with its pattern.
        let commented = [
            Const::Str("(?x) py thon # tool".into()),
            Const::Str("c".into()),
        ];
        let joined = text_pattern(Op::Matches, &commented).unwrap_or_default();
        let regex = crate::check::pattern::build_regex(&joined, true);
        assert!(
            regex
                .as_ref()
                .is_ok_and(|r| r.is_match("python") && r.is_match("c")),
            "{joined}"
        );
        assert!(regex.is_ok_and(|r| !r.is_match("py thon")));
    }
}
