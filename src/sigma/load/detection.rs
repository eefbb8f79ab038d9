//! A detection rule: its `detection` (search identifiers and the
//! `condition` expression) and an aggregation (`| count(...) by ...`).

use super::cx::{Base, Cx, find};
use super::document::Head;
use crate::catalog;
use crate::check::{
    CheckedRule, Cond, CountCmp, Shape, TICKS_PER_SECOND, Threshold, TimeSpan, Window,
};
use crate::diag::{Code, Span};
use crate::sigma::cond::{self, Aggregation, Expr};
use crate::syntax::{Node, NodeKind};

impl Cx<'_> {
    /// A detection rule: a document with no `correlation`.
    pub(super) fn detection_rule(
        &mut self,
        entries: &[(Node, Node)],
        head: &Head,
        bases: &mut Vec<Base>,
    ) -> Option<CheckedRule> {
        // A Sigma filter (a `filter:` that excludes from other rules) has
        // no detection of its own; say what it is rather than what it lacks.
        if let (Some(filter), None) = (find(entries, "filter"), find(entries, "detection")) {
            self.err(
                Code::SigmaUnsupported
                    .error(filter.span.clone(), "Sigma filters are not supported")
                    .label("a filter rule")
                    .help(
                        "tollgate reads detection and correlation rules; write the exclusion \
                         in the rule it applies to (`condition: selection and not filter`), \
                         or as an exception in tollgate.yaml",
                    ),
            );
            return None;
        }
        let help = "add `logsource: { product: azure, service: signinlogs }`";
        let logs = self
            .required(entries, "logsource", &head.at, help)
            .and_then(|n| self.logsource(n));
        if let Some(logs) = &logs {
            self.root = logs.first().map_or(catalog::SIGN_IN, catalog::for_log);
        }
        let help = "add `detection:` with search identifiers and a `condition`";
        let detection = self
            .required(entries, "detection", &head.at, help)
            .and_then(|n| self.detection(n, entries));
        let (Some(logs), Some(detection), false) = (logs, detection, self.has_errors()) else {
            return None;
        };
        self.finish(head, logs, detection, false, None, bases)
    }

    fn detection(&mut self, n: &Node, rule: &[(Node, Node)]) -> Option<(Cond, Shape)> {
        let Some(entries) = n.map() else {
            self.err(
                Code::WrongType
                    .error(n.span.clone(), "`detection` must be a mapping")
                    .label("expected search identifiers and `condition`"),
            );
            return None;
        };
        let mut searches: Vec<(String, Span, Option<Cond>)> = Vec::new();
        let mut condition = None;
        let mut timeframe = None;
        for (key, value) in entries {
            let name = key.text().unwrap_or_default().to_string();
            match name.as_str() {
                "condition" => condition = Some(value),
                "timeframe" => timeframe = Some(value),
                _ => {
                    let cond = self.search(value);
                    searches.push((name, key.span.clone(), cond));
                }
            }
        }
        // `timeframe` may also sit at the top of the rule (Sigma 1).
        let timeframe = timeframe.or_else(|| find(rule, "timeframe"));
        let Some(condition) = condition else {
            self.err(
                Code::MissingKey
                    .error(n.span.clone(), "Sigma detection has no `condition`")
                    .label("this detection")
                    .help("add `condition: selection` (or `1 of selection_*`, `selection and not filter`, ...)"),
            );
            return None;
        };
        let texts: Vec<&Node> = match &condition.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            _ => vec![condition],
        };
        // Sigma 1 allowed a list of conditions, each its own query: a
        // record matches when one of them holds.
        let mut conds = Vec::new();
        let mut shape = Shape::Single;
        for text_node in &texts {
            let text = self.text(text_node, "condition")?;
            let base = self.text_start(text_node);
            let source = self.source;
            let span_at =
                |r: std::ops::Range<usize>| Span::new(source, base + r.start..base + r.end);
            let (expr, aggregation) = match cond::parse(&text) {
                Ok(x) => x,
                Err(e) => {
                    let span = span_at(e.at);
                    self.err(
                        Code::SigmaCondition
                            .error(span, format!("Sigma condition: {}", e.message))
                            .label("here")
                            .help("conditions combine search identifiers with `and`, `or`, `not`, parentheses, `1 of x*`, `all of x*` and `them`"),
                    );
                    return None;
                }
            };
            conds.push(self.expr(&expr, &searches, &span_at)?);
            // A timeframe with no aggregation changes nothing.
            if let Some(agg) = aggregation {
                if texts.len() > 1 {
                    self.unsupported(
                        &span_at(agg.at.clone()),
                        "an aggregation in a list of conditions",
                        "write the rule with one condition",
                    );
                    return None;
                }
                shape = Shape::Window(self.aggregation(&agg, timeframe, &span_at)?);
            }
        }
        let cond = match conds.len() {
            1 => conds.pop()?,
            _ => Cond::Any(conds),
        };
        Some((cond, shape))
    }

    fn aggregation(
        &mut self,
        agg: &Aggregation,
        timeframe: Option<&Node>,
        span_at: &dyn Fn(std::ops::Range<usize>) -> Span,
    ) -> Option<Window> {
        let at = span_at(agg.at.clone());
        let Some(timeframe) = timeframe else {
            self.err(
                Code::SigmaCondition
                    .error(at, "a Sigma aggregation needs a `timeframe`")
                    .label("over which span of time?")
                    .help("add `timeframe: 10m` to the detection"),
            );
            return None;
        };
        let span = self.timespan(timeframe)?;
        let cmp = match agg.cmp.as_str() {
            ">" => CountCmp::Gt,
            ">=" => CountCmp::Gte,
            "<" => CountCmp::Lt,
            "<=" => CountCmp::Lte,
            _ => CountCmp::Eq,
        };
        let threshold = Threshold {
            cmp,
            value: agg.value,
            span: at.clone(),
        };
        let group_by = match &agg.by {
            Some((name, r)) => vec![self.field(name, &span_at(r.clone()))],
            None => Vec::new(),
        };
        let (count, distinct) = match &agg.field {
            None => (Some(threshold), Vec::new()),
            Some((name, r)) => (
                None,
                vec![(self.field(name, &span_at(r.clone())), threshold)],
            ),
        };
        Some(Window {
            group_by,
            span,
            count,
            distinct,
            case_sensitive: false,
        })
    }

    pub(super) fn timespan(&mut self, n: &Node) -> Option<TimeSpan> {
        let text = n.text().unwrap_or_default().trim().to_string();
        let (num, unit) = text.split_at(text.len().saturating_sub(1));
        let seconds = match unit {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3600),
            "d" => Some(86400),
            _ => None,
        };
        match (num.parse::<i64>(), seconds) {
            (Ok(v), Some(s)) if v > 0 => v
                .checked_mul(s)
                .and_then(|x| x.checked_mul(TICKS_PER_SECOND))
                .map(|ticks| TimeSpan {
                    ticks,
                    text: text.clone(),
                    span: n.span.clone(),
                }),
            _ => {
                self.err(
                    Code::BadDuration
                        .error(n.span.clone(), format!("`{text}` is not a Sigma timespan"))
                        .label("expected a number and s, m, h or d")
                        .help("write `10m`, `1h`, `30s` or `1d`"),
                );
                None
            }
        }
    }

    fn expr(
        &mut self,
        e: &Expr,
        searches: &[(String, Span, Option<Cond>)],
        span_at: &dyn Fn(std::ops::Range<usize>) -> Span,
    ) -> Option<Cond> {
        Some(match e {
            Expr::And(parts) => Cond::All(
                parts
                    .iter()
                    .map(|p| self.expr(p, searches, span_at))
                    .collect::<Option<_>>()?,
            ),
            Expr::Or(parts) => Cond::Any(
                parts
                    .iter()
                    .map(|p| self.expr(p, searches, span_at))
                    .collect::<Option<_>>()?,
            ),
            Expr::Not(inner) => Cond::Not(Box::new(self.expr(inner, searches, span_at)?)),
            Expr::Ident(name, r) => match searches.iter().find(|(n, _, _)| n == name) {
                Some((_, _, cond)) => cond.clone()?,
                None => {
                    self.err(
                        Code::SigmaCondition
                            .error(span_at(r.clone()), format!("Sigma condition names `{name}`, which the detection does not define"))
                            .label("unknown search identifier")
                            .suggest_or(
                                catalog::closest(name, searches.iter().map(|(n, _, _)| n.as_str())),
                                "define it under `detection:`",
                            ),
                    );
                    return None;
                }
            },
            Expr::Of { all, pattern, at } => {
                let picked: Vec<&(String, Span, Option<Cond>)> = searches
                    .iter()
                    .filter(|(n, _, _)| match pattern {
                        Some(p) => glob(p, n),
                        None => !n.starts_with('_'),
                    })
                    .collect();
                if picked.is_empty() {
                    let what = pattern.as_deref().unwrap_or("them");
                    self.err(
                        Code::SigmaCondition
                            .error(span_at(at.clone()), format!("`{what}` matches no search identifier"))
                            .label("matches nothing")
                            .suggest_or(
                                catalog::closest(what, searches.iter().map(|(n, _, _)| n.as_str())),
                                "search identifiers are the keys of `detection:` other than `condition`",
                            ),
                    );
                    return None;
                }
                let conds = picked
                    .into_iter()
                    .map(|(_, _, c)| c.clone())
                    .collect::<Option<Vec<_>>>()?;
                if *all {
                    Cond::All(conds)
                } else {
                    Cond::Any(conds)
                }
            }
        })
    }

    /// A search identifier's value: a map (AND of fields), a list of maps
    /// (OR), or keywords (a value or a list of values).
    fn search(&mut self, n: &Node) -> Option<Cond> {
        match &n.kind {
            NodeKind::Map(entries) => self.field_map(entries, &n.span),
            NodeKind::Seq(items)
                if items.iter().all(|i| i.map().is_some()) && !items.is_empty() =>
            {
                let parts = items
                    .iter()
                    .map(|i| self.field_map(i.map().unwrap_or_default(), &i.span))
                    .collect::<Vec<_>>();
                Some(Cond::Any(parts.into_iter().collect::<Option<_>>()?))
            }
            NodeKind::Seq(items) if items.iter().any(|i| i.map().is_some()) => {
                self.unsupported(
                    &n.span,
                    "a list mixing field maps and keywords",
                    "split the keywords and the field maps into two search identifiers",
                );
                None
            }
            _ => self.values(None, &[], n, &n.span),
        }
    }

    fn field_map(&mut self, entries: &[(Node, Node)], at: &Span) -> Option<Cond> {
        if entries.is_empty() {
            self.err(
                Code::SigmaValue
                    .error(at.clone(), "an empty search would match every record")
                    .label("no field")
                    .help("name a field and its value, or remove the search identifier"),
            );
            return None;
        }
        let mut parts = Vec::new();
        let mut ok = true;
        for (key, value) in entries {
            let text = key.text().unwrap_or_default().to_string();
            let mut pieces = text.split('|');
            let name = pieces.next().unwrap_or_default().to_string();
            // Each modifier with its own span, for did-you-mean under it.
            let start = self.text_start(key);
            let mut offset = start + name.len() + 1;
            let mods: Vec<(String, Span)> = pieces
                .map(|m| {
                    let at = Span::new(self.source, offset..offset + m.len());
                    offset += m.len() + 1;
                    (m.to_string(), at)
                })
                .collect();
            let field = if name.is_empty() {
                None
            } else {
                let at = Span::new(self.source, start..start + name.len());
                Some(self.field(&name, &at))
            };
            match self.values(field, &mods, value, &key.span) {
                Some(c) => parts.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some(match parts.len() {
            1 => parts.pop()?,
            _ => Cond::All(parts),
        })
    }
}

/// Whether a search identifier matches a pattern with `*` wildcards.
pub(super) fn glob(pattern: &str, name: &str) -> bool {
    let re = format!(
        r"\A{}\z",
        pattern
            .split('*')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(".*")
    );
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_patterns_match_whole_names() {
        assert!(glob("sel_*", "sel_a"));
        assert!(glob("*_x", "sel_x"));
        assert!(!glob("sel_*", "filter_sel_a"));
        assert!(glob("a.b", "a.b") && !glob("a.b", "axb"));
    }
}
