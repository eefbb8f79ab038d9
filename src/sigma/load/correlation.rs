//! Correlation rules (`event_count`, `value_count`, `temporal`, ...) →
//! windows and sequences over the detection rules they name.

use super::cx::{Base, Cx, find};
use super::document::Head;
use crate::catalog::{self, Resolved};
use crate::check::{CheckedRule, Cond, CountCmp, Sequence, Shape, Step, Threshold, Window};
use crate::diag::{Code, Span};
use crate::record::LogCategory;
use crate::syntax::{Node, NodeKind};

impl Cx<'_> {
    /// A correlation rule: `corr` is its `correlation` mapping.
    pub(super) fn correlation_rule(
        &mut self,
        corr: &Node,
        head: &Head,
        bases: &mut Vec<Base>,
    ) -> Option<CheckedRule> {
        let Some(c) = corr.map() else {
            self.err(
                Code::WrongType
                    .error(corr.span.clone(), "`correlation` must be a mapping")
                    .label("expected `type:`, `rules:`, `group-by:`, `timespan:`"),
            );
            return None;
        };
        let kind_node = find(c, "type");
        let kind = kind_node
            .and_then(Node::text)
            .unwrap_or_default()
            .to_string();
        let kinds = ["event_count", "value_count", "temporal", "temporal_ordered"];
        if !kinds.contains(&kind.as_str()) {
            let at = kind_node.map_or_else(|| corr.span.clone(), |n| n.span.clone());
            self.err(
                Code::SigmaCorrelation
                    .error(
                        at,
                        format!("`{kind}` is not a Sigma correlation type tollgate runs"),
                    )
                    .label("unknown correlation type")
                    .suggest_or(
                        catalog::closest(&kind, kinds),
                        "types are event_count, value_count, temporal, temporal_ordered",
                    ),
            );
            return None;
        }
        // The rules it reads.
        let names: Vec<(String, Span)> = match find(c, "rules") {
            Some(n) => match &n.kind {
                NodeKind::Seq(items) => items
                    .iter()
                    .filter_map(|i| i.text().map(|t| (t.to_string(), i.span.clone())))
                    .collect(),
                NodeKind::Scalar(s) => vec![(s.text.clone(), n.span.clone())],
                NodeKind::Map(_) => Vec::new(),
            },
            None => Vec::new(),
        };
        if names.is_empty() {
            self.err(
                Code::SigmaCorrelation
                    .error(corr.span.clone(), "a Sigma correlation needs `rules:`")
                    .label("which rules?")
                    .help("name the rules it correlates by their `id` or `name`"),
            );
            return None;
        }
        let mut used: Vec<Base> = Vec::new();
        for (name, at) in &names {
            match bases
                .iter()
                .find(|b| b.id == *name || b.name.as_deref() == Some(name))
            {
                Some(b)
                    if b.correlation && !(kind.starts_with("temporal") && b.counted.is_some()) =>
                {
                    self.unsupported(
                        at,
                        &format!("a correlation of correlation rules (`{name}`) other than a temporal one over `event_count` rules of at least some records"),
                        "correlate the detection rules directly",
                    );
                    return None;
                }
                Some(b) => used.push(b.clone()),
                None => {
                    let known = bases
                        .iter()
                        .flat_map(|b| std::iter::once(b.id.as_str()).chain(b.name.as_deref()));
                    self.err(
                        Code::SigmaCorrelation
                            .error(at.clone(), format!("the correlation names rule `{name}`, which no Sigma rule loaded has as its `id` or `name`"))
                            .label("unknown rule")
                            .suggest_or(catalog::closest(name, known), "load the rule it names beside it"),
                    );
                    return None;
                }
            }
        }
        let root_catalog = used.first().map_or(catalog::SIGN_IN, |b| b.root);
        if used.iter().any(|b| b.root != root_catalog) {
            self.err(
                Code::MixedLogs
                    .error(
                        corr.span.clone(),
                        "a correlation cannot read Graph activity and sign-in logs together",
                    )
                    .label("rules of both kinds"),
            );
            return None;
        }
        self.root = root_catalog;
        for key in ["aliases", "generate"] {
            if key == "aliases"
                && let Some(n) = find(c, key)
            {
                self.unsupported(
                    &n.span,
                    "correlation `aliases`",
                    "group by a field every rule has under one name",
                );
                return None;
            }
        }
        let group_by: Vec<Resolved> = match find(c, "group-by") {
            Some(n) => {
                let items: Vec<&Node> = match &n.kind {
                    NodeKind::Seq(items) => items.iter().collect(),
                    _ => vec![n],
                };
                items
                    .into_iter()
                    .filter_map(|i| i.text().map(|t| (t.to_string(), i.span.clone())))
                    .map(|(t, at)| self.field(&t, &at))
                    .collect()
            }
            None => Vec::new(),
        };
        let Some(span_node) = find(c, "timespan").or_else(|| find(c, "timeframe")) else {
            self.err(
                Code::SigmaCorrelation
                    .error(corr.span.clone(), "a Sigma correlation needs `timespan:`")
                    .label("over which span of time?"),
            );
            return None;
        };
        let span = self.timespan(span_node)?;
        let mut logs: Vec<LogCategory> = Vec::new();
        for b in &used {
            for l in &b.logs {
                if !logs.contains(l) {
                    logs.push(l.clone());
                }
            }
        }
        let (cond, shape) = match kind.as_str() {
            "event_count" | "value_count" => {
                let (threshold, field) = self.count_condition(c, corr, &kind)?;
                let cond = match used.len() {
                    1 => used
                        .first()
                        .map(|b| b.cond.clone())
                        .unwrap_or(Cond::All(vec![])),
                    _ => Cond::Any(used.iter().map(|b| b.cond.clone()).collect()),
                };
                let (count, distinct) = match field {
                    Some(f) => (None, vec![(f, threshold)]),
                    None => (Some(threshold), Vec::new()),
                };
                (
                    cond,
                    Shape::Window(Window {
                        group_by: group_by.clone(),
                        span,
                        count,
                        distinct,
                        case_sensitive: false,
                    }),
                )
            }
            _ => {
                if find(c, "condition").is_some() {
                    let at = find(c, "condition").map_or(corr.span.clone(), |n| n.span.clone());
                    self.unsupported(
                        &at,
                        "a `condition` on a temporal correlation",
                        "remove it: every rule must occur",
                    );
                    return None;
                }
                // A counted rule (an `event_count` correlation) is a step
                // with its count: all records of all steps lie within the
                // timespan, so its own window, as long or longer, holds.
                let keys: Vec<String> = group_by.iter().map(|g| g.path.to_string()).collect();
                for (b, (name, at)) in used.iter().zip(&names) {
                    if let Some((_, inner_keys, ticks)) = &b.counted
                        && (*inner_keys != keys || *ticks < span.ticks)
                    {
                        self.unsupported(
                            at,
                            &format!("a temporal correlation over `{name}`, whose group-by differs or whose timespan is shorter"),
                            "give the counted rule the same group-by and a timespan at least as long",
                        );
                        return None;
                    }
                }
                let steps = used
                    .iter()
                    .enumerate()
                    .map(|(i, b)| Step {
                        name: format!("rule{}", i + 1),
                        logs: b.logs.clone(),
                        by: None,
                        key: group_by.clone(),
                        cond: b.cond.clone(),
                        count: b.counted.as_ref().map_or_else(
                            || Threshold {
                                cmp: CountCmp::Gte,
                                value: 1,
                                span: corr.span.clone(),
                            },
                            |(t, _, _)| t.clone(),
                        ),
                        absent: false,
                        where_: None,
                        travel: None,
                        span: names.get(i).map_or(corr.span.clone(), |(_, s)| s.clone()),
                    })
                    .collect();
                (
                    Cond::All(Vec::new()),
                    Shape::Sequence(Sequence {
                        group_by: Some(group_by.clone()),
                        span,
                        ordered: kind == "temporal_ordered",
                        case_sensitive: false,
                        steps,
                    }),
                )
            }
        };
        let errors = self.has_errors();
        let counted = match &shape {
            Shape::Window(w) if kind == "event_count" => w
                .count
                .as_ref()
                .filter(|t| t.at_least().is_some())
                .map(|t| {
                    let keys = w.group_by.iter().map(|g| g.path.to_string()).collect();
                    (t.clone(), keys, w.span.ticks)
                }),
            _ => None,
        };
        let rule = self.finish(head, logs, (cond, shape), true, counted, bases);
        // A correlation with errors is still a base that later correlations
        // can name; it only does not run.
        rule.filter(|_| !errors)
    }

    /// The `condition:` of an event or value count: one comparison, and
    /// for `value_count` its `field`.
    fn count_condition(
        &mut self,
        c: &[(Node, Node)],
        corr: &Node,
        kind: &str,
    ) -> Option<(Threshold, Option<Resolved>)> {
        let Some(n) = find(c, "condition") else {
            self.err(
                Code::SigmaCorrelation
                    .error(
                        corr.span.clone(),
                        format!("a `{kind}` correlation needs `condition:`"),
                    )
                    .label("how many?")
                    .help("add `condition: { gte: 10 }`"),
            );
            return None;
        };
        let entries = n.map().unwrap_or_default();
        let mut threshold = None;
        let mut field = None;
        for (k, v) in entries {
            let key = k.text().unwrap_or_default();
            let cmp = match key {
                "gt" => Some(CountCmp::Gt),
                "gte" => Some(CountCmp::Gte),
                "lt" => Some(CountCmp::Lt),
                "lte" => Some(CountCmp::Lte),
                "eq" => Some(CountCmp::Eq),
                "field" => {
                    if let Some(t) = v.text() {
                        field = Some(self.field(t, &v.span));
                    }
                    None
                }
                other => {
                    self.err(
                        Code::SigmaCorrelation
                            .error(
                                k.span.clone(),
                                format!("`{other}` is not a correlation condition"),
                            )
                            .label("unknown comparison")
                            .suggest_or(
                                catalog::closest(other, ["gt", "gte", "lt", "lte", "eq", "field"]),
                                "comparisons are gt, gte, lt, lte, eq",
                            ),
                    );
                    return None;
                }
            };
            if let Some(cmp) = cmp {
                if threshold.is_some() {
                    self.unsupported(
                        &k.span,
                        "a correlation condition with two comparisons (a range)",
                        "keep one comparison",
                    );
                    return None;
                }
                match v.text().and_then(|t| t.parse::<u64>().ok()) {
                    Some(value) => {
                        threshold = Some(Threshold {
                            cmp,
                            value,
                            span: v.span.clone(),
                        })
                    }
                    None => {
                        self.err(
                            Code::BadThreshold
                                .error(v.span.clone(), "a correlation count must be a whole number")
                                .label("expected a number"),
                        );
                        return None;
                    }
                }
            }
        }
        let Some(threshold) = threshold else {
            self.err(
                Code::SigmaCorrelation
                    .error(n.span.clone(), "a correlation condition needs a comparison")
                    .label("add `gte: N` or another comparison"),
            );
            return None;
        };
        if kind == "value_count" && field.is_none() {
            self.err(
                Code::SigmaCorrelation
                    .error(
                        n.span.clone(),
                        "a `value_count` correlation needs `field:` in its condition",
                    )
                    .label("which field's values?"),
            );
            return None;
        }
        if kind == "event_count" && field.is_some() {
            self.err(
                Code::SigmaCorrelation
                    .error(
                        n.span.clone(),
                        "an `event_count` correlation counts records, not a field's values",
                    )
                    .label("use `type: value_count` to count values"),
            );
            return None;
        }
        Some((threshold, field))
    }
}
