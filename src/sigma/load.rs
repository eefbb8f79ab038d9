//! Sigma rule documents → checked rules, or every mistake with its span.
//!
//! A detection rule becomes a single-record [`CheckedRule`] whose condition
//! is built from the rule's `detection` (search identifiers, values and
//! modifiers, the `condition` expression); an aggregation (`| count(...)
//! by ...`) or a correlation rule becomes a window or a sequence. What
//! Sigma says and tollgate cannot run is an error naming the feature.

use super::cond::{self, Aggregation, Expr};
use super::value::{self, Pattern};
use crate::catalog::{self, Field, FieldPath, Resolved};
use crate::check::pattern::{build_regex, parse_net};
use crate::check::{
    CheckedRule, Cond, Const, CountCmp, FieldRef, Op, Piece, Pred, Prepared, Sequence, Shape, Step,
    TICKS_PER_SECOND, Threshold, TimeSpan, Window,
};
use crate::diag::{Code, Diagnostic, SourceId, Sources, Span};
use crate::finding::{RuleInfo, Severity};
use crate::record::LogCategory;
use crate::syntax::{Document, Lit, Node, NodeKind};

/// Whether a document is a Sigma rule: it has `logsource`, `detection` or
/// `correlation`, keys tollgate's own rules do not have.
pub fn is_sigma(root: &Node) -> bool {
    root.map().is_some_and(|entries| {
        entries
            .iter()
            .any(|(k, _)| matches!(k.text(), Some("logsource" | "detection" | "correlation")))
    })
}

/// The Sigma `service` names of `product: azure` tollgate reads, and the
/// log each stands for (the Log Analytics table Sigma's Kusto backend
/// queries).
pub const SERVICES: &[(&str, LogCategory)] = &[
    ("signinlogs", LogCategory::Interactive),
    ("noninteractiveusersigninlogs", LogCategory::NonInteractive),
    (
        "aadnoninteractiveusersigninlogs",
        LogCategory::NonInteractive,
    ),
    ("serviceprincipalsigninlogs", LogCategory::ServicePrincipal),
    (
        "aadserviceprincipalsigninlogs",
        LogCategory::ServicePrincipal,
    ),
    ("managedidentitysigninlogs", LogCategory::ManagedIdentity),
    ("aadmanagedidentitysigninlogs", LogCategory::ManagedIdentity),
    ("microsoftgraphactivitylogs", LogCategory::GraphActivity),
    ("graphactivitylogs", LogCategory::GraphActivity),
];

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

/// The log a Sigma `service` names (ignoring case), if tollgate reads it.
pub fn log_of_service(service: &str) -> Option<LogCategory> {
    SERVICES
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(service))
        .map(|(_, l)| l.clone())
}

/// Sigma `level` → severity.
pub fn severity_of(level: &str) -> Option<Severity> {
    Some(match level.to_ascii_lowercase().as_str() {
        "informational" | "info" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    })
}

/// What checking one Sigma document gave.
#[derive(Debug)]
pub struct Outcome {
    /// The rule, when it has no error (and is not a rule only a correlation
    /// uses).
    pub rule: Option<CheckedRule>,
    /// Its id and where it is written, for duplicate ids.
    pub id: Option<(String, Span)>,
    /// Errors and warnings.
    pub diags: Vec<Diagnostic>,
}

/// A detection rule as correlations use it.
#[derive(Debug, Clone)]
struct Base {
    id: String,
    name: Option<String>,
    logs: Vec<LogCategory>,
    root: &'static [Field],
    cond: Cond,
    /// Whether it is itself a correlation.
    correlation: bool,
    /// For an `event_count` correlation of at least some records: that
    /// bound, its group-by fields and its timespan, so a temporal
    /// correlation can take it as a step with a count.
    counted: Option<(Threshold, Vec<String>, i64)>,
}

/// Checks the Sigma documents of a load, in order: detection rules first
/// so that correlation rules can name them. Gives one outcome per
/// document, in the order given.
pub fn check_all(docs: &[(SourceId, &Document)], sources: &Sources) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = docs.iter().map(|_| None).collect();
    let mut bases: Vec<Base> = Vec::new();
    let mut correlations = Vec::new();
    for (i, (source, doc)) in docs.iter().enumerate() {
        let mut cx = Cx {
            source: *source,
            sources,
            diags: Vec::new(),
            root: catalog::SIGN_IN,
        };
        let entries = doc.root.map().unwrap_or_default();
        if cx.has(entries, "correlation") {
            correlations.push(i);
            continue;
        }
        let (rule, id) = cx.detection_rule(&doc.root, &mut bases);
        if let Some(slot) = outcomes.get_mut(i) {
            *slot = Some(Outcome {
                rule,
                id,
                diags: cx.diags,
            });
        }
    }
    // Correlations may name correlations written before them.
    for i in correlations {
        let Some((source, doc)) = docs.get(i) else {
            continue;
        };
        let mut cx = Cx {
            source: *source,
            sources,
            diags: Vec::new(),
            root: catalog::SIGN_IN,
        };
        let (rule, id) = cx.correlation_rule(&doc.root, &mut bases);
        if let Some(slot) = outcomes.get_mut(i) {
            *slot = Some(Outcome {
                rule,
                id,
                diags: cx.diags,
            });
        }
    }
    // A rule a correlation uses does not run alone unless it says
    // `generate: true` (the Sigma correlation specification's default).
    let used: Vec<String> = docs
        .iter()
        .filter_map(|(_, d)| d.root.map())
        .filter(|e| find(e, "correlation").is_some())
        .filter(|e| {
            find(e, "correlation")
                .and_then(Node::map)
                .and_then(|c| find(c, "generate"))
                .is_none_or(|g| g.text() != Some("true"))
        })
        .flat_map(|e| {
            find(e, "correlation")
                .and_then(Node::map)
                .and_then(|c| find(c, "rules"))
                .map(|r| match &r.kind {
                    NodeKind::Seq(items) => items
                        .iter()
                        .filter_map(|n| n.text().map(str::to_string))
                        .collect(),
                    NodeKind::Scalar(s) => vec![s.text.clone()],
                    NodeKind::Map(_) => Vec::new(),
                })
                .unwrap_or_default()
        })
        .collect();
    outcomes
        .into_iter()
        .zip(docs)
        .map(|(o, (_, doc))| {
            let mut o = o.unwrap_or(Outcome {
                rule: None,
                id: None,
                diags: Vec::new(),
            });
            let entries = doc.root.map().unwrap_or_default();
            let named = |key: &str| find(entries, key).and_then(Node::text).map(str::to_string);
            let referenced = [named("id"), named("name")]
                .into_iter()
                .flatten()
                .any(|n| used.contains(&n));
            if referenced {
                o.rule = None;
            }
            o
        })
        .collect()
}

struct Cx<'a> {
    source: SourceId,
    sources: &'a Sources,
    diags: Vec<Diagnostic>,
    root: &'static [Field],
}

fn find<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    entries
        .iter()
        .find(|(k, _)| k.text() == Some(key))
        .map(|(_, v)| v)
}

/// The rule head every Sigma rule has.
struct Head {
    id: Option<(String, Span)>,
    title: Option<String>,
    severity: Option<Severity>,
    description: String,
    references: Vec<String>,
    tags: Vec<String>,
    name: Option<String>,
}

impl Cx<'_> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn has(&self, entries: &[(Node, Node)], key: &str) -> bool {
        find(entries, key).is_some()
    }

    fn file(&self) -> &str {
        self.sources.name(self.source)
    }

    fn line_of(&self, span: &Span) -> u64 {
        self.sources.line_col(span.source, span.range.start).0 as u64
    }

    /// An unsupported feature: the message names the file, the line and
    /// the feature.
    fn unsupported(&mut self, span: &Span, feature: &str, help: &str) {
        let line = self.line_of(span);
        let file = self.file().to_string();
        self.err(
            Code::SigmaUnsupported
                .error(
                    span.clone(),
                    format!("Sigma feature {feature} is not supported ({file}, line {line})"),
                )
                .label("not supported")
                .help(help.to_string()),
        );
    }

    fn text(&mut self, n: &Node, key: &str) -> Option<String> {
        match n.scalar() {
            Some(s) => Some(s.text.clone()),
            None => {
                self.err(
                    Code::WrongType
                        .error(
                            n.span.clone(),
                            format!("`{key}` must be text, not {}", n.describe()),
                        )
                        .label("expected text"),
                );
                None
            }
        }
    }

    fn texts(&mut self, n: &Node, key: &str) -> Vec<String> {
        match &n.kind {
            NodeKind::Seq(items) => items.iter().filter_map(|i| self.text(i, key)).collect(),
            NodeKind::Scalar(s) => vec![s.text.clone()],
            NodeKind::Map(_) => {
                self.err(
                    Code::WrongType
                        .error(n.span.clone(), format!("`{key}` must be a list of text"))
                        .label("expected a list"),
                );
                Vec::new()
            }
        }
    }

    fn head(&mut self, root: &Node) -> Head {
        let entries = root.map().unwrap_or_default();
        let at = entries
            .first()
            .map_or_else(|| root.span.clone(), |(k, _)| k.span.clone());
        let id = match find(entries, "id") {
            Some(n) => self.text(n, "id").and_then(|id| {
                let valid = !id.is_empty()
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
                if valid {
                    Some((id, n.span.clone()))
                } else {
                    self.err(
                        Code::BadId
                            .error(n.span.clone(), format!("Sigma rule id `{id}` is not a UUID"))
                            .label("invalid id")
                            .help("Sigma rule ids are UUIDs such as `8c944ecb-6970-4541-8496-be554b8e2846`"),
                    );
                    None
                }
            }),
            None => {
                self.err(
                    Code::MissingKey
                        .error(at.clone(), "Sigma rule has no `id`")
                        .label("this rule")
                        .help("add `id: <a UUID>`: findings name the rule by it"),
                );
                None
            }
        };
        let title = match find(entries, "title") {
            Some(n) => self.text(n, "title"),
            None => {
                self.err(
                    Code::MissingKey
                        .error(at.clone(), "Sigma rule has no `title`")
                        .label("this rule")
                        .help("add `title: what the rule finds`"),
                );
                None
            }
        };
        let severity = match find(entries, "level") {
            Some(n) => self.text(n, "level").and_then(|l| {
                let s = severity_of(&l);
                if s.is_none() {
                    let names = ["informational", "low", "medium", "high", "critical"];
                    self.err(
                        Code::BadSeverity
                            .error(n.span.clone(), format!("`{l}` is not a Sigma level"))
                            .label("unknown level")
                            .suggest_then(
                                catalog::closest(&l, names),
                                "levels are informational, low, medium, high, critical",
                            ),
                    );
                }
                s
            }),
            // Sigma makes `level` optional; a rule without one is medium.
            None => Some(Severity::Medium),
        };
        let description = find(entries, "description")
            .and_then(|n| self.text(n, "description"))
            .unwrap_or_default();
        let references = find(entries, "references")
            .map(|n| self.texts(n, "references"))
            .unwrap_or_default();
        let tags = find(entries, "tags")
            .map(|n| self.texts(n, "tags"))
            .unwrap_or_default();
        let name = find(entries, "name").and_then(|n| self.text(n, "name"));
        Head {
            id,
            title,
            severity,
            description,
            references,
            tags,
            name,
        }
    }

    fn info(&self, head: &Head, logs: &[LogCategory], id: &str, span: &Span) -> Option<RuleInfo> {
        Some(RuleInfo {
            id: id.into(),
            title: head.title.clone()?.into(),
            severity: head.severity?,
            description: head.description.clone(),
            references: head.references.clone(),
            tags: head.tags.clone(),
            logs: logs.iter().map(|c| c.name().to_string()).collect(),
            source: self.file().to_string(),
            line: self.line_of(span),
        })
    }

    fn detection_rule(
        &mut self,
        root: &Node,
        bases: &mut Vec<Base>,
    ) -> (Option<CheckedRule>, Option<(String, Span)>) {
        let Some(entries) = root.map() else {
            return (None, None);
        };
        let head = self.head(root);
        let at = entries
            .first()
            .map_or_else(|| root.span.clone(), |(k, _)| k.span.clone());
        let logs = match find(entries, "logsource") {
            Some(n) => self.logsource(n),
            None => {
                self.err(
                    Code::MissingKey
                        .error(at.clone(), "Sigma rule has no `logsource`")
                        .label("this rule")
                        .help("add `logsource: { product: azure, service: signinlogs }`"),
                );
                None
            }
        };
        if let Some(logs) = &logs {
            self.root = logs.first().map_or(catalog::SIGN_IN, catalog::for_log);
        }
        let detection = match find(entries, "detection") {
            Some(n) => self.detection(n, entries),
            None => {
                self.err(
                    Code::MissingKey
                        .error(at.clone(), "Sigma rule has no `detection`")
                        .label("this rule")
                        .help("add `detection:` with search identifiers and a `condition`"),
                );
                None
            }
        };
        let errors = self
            .diags
            .iter()
            .any(|d| d.level == crate::diag::Level::Error);
        let (Some((id, id_span)), Some(logs), Some((cond, shape)), false) =
            (head.id.clone(), logs, detection, errors)
        else {
            return (None, head.id);
        };
        bases.push(Base {
            id: id.clone(),
            name: head.name.clone(),
            logs: logs.clone(),
            root: self.root,
            cond: cond.clone(),
            correlation: false,
            counted: None,
        });
        let Some(info) = self.info(&head, &logs, &id, &id_span) else {
            return (None, head.id);
        };
        let message = vec![Piece::Text(info.title.to_string())];
        let rule = CheckedRule {
            info,
            logs,
            cond,
            shape,
            message,
            tests: Vec::new(),
            waiting: Vec::new(),
            span: id_span,
        };
        (Some(rule), head.id)
    }

    fn logsource(&mut self, n: &Node) -> Option<Vec<LogCategory>> {
        let Some(entries) = n.map() else {
            self.err(
                Code::WrongType
                    .error(n.span.clone(), "`logsource` must be a mapping")
                    .label("expected `product:` and `service:`"),
            );
            return None;
        };
        let mut ok = true;
        for (key, value) in entries {
            match key.text().unwrap_or_default() {
                "product" => {
                    let p = value.text().unwrap_or_default();
                    if !p.eq_ignore_ascii_case("azure") {
                        self.err(
                            Code::SigmaLogsource
                                .error(value.span.clone(), format!("Sigma product `{p}` is not read by tollgate"))
                                .label("not an Entra log")
                                .help("tollgate reads `product: azure` with the Entra sign-in and Graph activity services"),
                        );
                        ok = false;
                    }
                }
                "service" | "category" | "definition" => {}
                other => {
                    self.err(
                        Code::UnknownKey
                            .error(key.span.clone(), format!("unknown logsource key `{other}`"))
                            .label("not a logsource key")
                            .suggest(catalog::closest(
                                other,
                                ["product", "service", "category", "definition"],
                            )),
                    );
                    ok = false;
                }
            }
        }
        if let Some(c) = find(entries, "category") {
            let text = c.text().unwrap_or_default().to_string();
            self.unsupported(
                &c.span,
                &format!("`logsource.category: {text}`"),
                "Entra logs are named by `service:` (signinlogs, noninteractiveusersigninlogs, ...)",
            );
            ok = false;
        }
        let service = match find(entries, "service") {
            Some(s) => s,
            None => {
                self.err(
                    Code::SigmaLogsource
                        .error(n.span.clone(), "Sigma logsource has no `service`")
                        .label("which log?")
                        .help(format!(
                            "services are {}",
                            SERVICES
                                .iter()
                                .map(|(s, _)| *s)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                );
                return None;
            }
        };
        let name = service.text().unwrap_or_default();
        let log = log_of_service(name);
        match log {
            Some(log) if ok => Some(vec![log]),
            Some(_) => None,
            None => {
                self.err(
                    Code::SigmaLogsource
                        .error(
                            service.span.clone(),
                            format!("Sigma service `{name}` is not an Entra log tollgate reads"),
                        )
                        .label("unknown service")
                        .suggest_then(
                            catalog::closest(name, SERVICES.iter().map(|(s, _)| *s)),
                            &format!(
                                "services are {}",
                                SERVICES
                                    .iter()
                                    .map(|(s, _)| *s)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                );
                None
            }
        }
    }

    /// The offset of a scalar's text in the file (after an opening quote).
    fn text_start(&self, n: &Node) -> usize {
        let text = self
            .sources
            .get(self.source)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        let start = n.span.range.start;
        match text.as_bytes().get(start) {
            Some(b'"' | b'\'') => start + 1,
            _ => start,
        }
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

    fn timespan(&mut self, n: &Node) -> Option<TimeSpan> {
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

    /// A field name as Sigma writes it (a Log Analytics column, any case):
    /// the catalog's field, or `raw.NAME` with a warning.
    fn field(&mut self, name: &str, at: &Span) -> Resolved {
        if name.split('.').any(|seg| seg.trim().is_empty()) {
            self.err(
                Code::SigmaValue
                    .error(at.clone(), format!("`{name}` is not a field name"))
                    .label("empty name or segment")
                    .help("write a Log Analytics column, such as `ResultType` or `DeviceDetail.isCompliant`"),
            );
            return Resolved {
                path: FieldPath::new(name.split('.'), true),
                field: None,
            };
        }
        // Diagnostic-settings records hold the sign-in under `properties`,
        // which ingest unwraps: `properties.X` is `X` when `X` is known.
        let inner = name
            .get(..11)
            .filter(|p| p.eq_ignore_ascii_case("properties."))
            .and_then(|_| name.get(11..))
            .and_then(|rest| catalog::resolve_in(self.root, rest).ok());
        if let Some(r) = inner {
            return r;
        }
        match catalog::resolve_in(self.root, name) {
            Ok(r) => r,
            Err(e) => {
                self.err(
                    Code::SigmaRawField
                        .warning(
                            at.clone(),
                            format!(
                                "field `{name}` is not in the catalog; it is read as `raw.{name}`"
                            ),
                        )
                        .label("unknown field")
                        .suggest_or(
                            e.suggestion,
                            "the record key is looked up as written, ignoring case",
                        ),
                );
                Resolved {
                    path: FieldPath::new(name.split('.'), true),
                    field: None,
                }
            }
        }
    }

    /// The values of one field (or keywords, when `field` is `None`) with
    /// their modifiers: one condition, the values ORed (ANDed with `all`).
    fn values(
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
            let pattern = if flags.is_empty() {
                format!("(?:{text})")
            } else {
                format!("(?:(?{flags}){text})")
            };
            // Sigma regexes match with case unless `|i`.
            let case_sensitive = !m.re_i;
            return match build_regex(&pattern, case_sensitive) {
                Ok(re) => Some(pred(
                    Op::Matches,
                    vec![Const::Str(text)],
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
            let column = super::export::log_analytics_name(&field.path, self.root);
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
        let literal = |op: Op, text: &str| -> Option<Cond> {
            let re = match op {
                Op::Contains => format!("(?:{})", regex::escape(text)),
                Op::StartsWith => format!(r"\A(?:{})", regex::escape(text)),
                _ => format!(r"(?:{})\z", regex::escape(text)),
            };
            Some(pred(
                op,
                vec![Const::Str(text.to_string())],
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
                let re = p.to_regex();
                match build_regex(&format!("(?:{re})"), cased) {
                    Ok(built) => Some(pred(
                        Op::Matches,
                        vec![Const::Str(re)],
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

    fn correlation_rule(
        &mut self,
        root: &Node,
        bases: &mut Vec<Base>,
    ) -> (Option<CheckedRule>, Option<(String, Span)>) {
        let Some(entries) = root.map() else {
            return (None, None);
        };
        let head = self.head(root);
        let Some(corr) = find(entries, "correlation") else {
            return (None, head.id);
        };
        let Some(c) = corr.map() else {
            self.err(
                Code::WrongType
                    .error(corr.span.clone(), "`correlation` must be a mapping")
                    .label("expected `type:`, `rules:`, `group-by:`, `timespan:`"),
            );
            return (None, head.id);
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
            return (None, head.id);
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
            return (None, head.id);
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
                    return (None, head.id);
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
                    return (None, head.id);
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
            return (None, head.id);
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
                return (None, head.id);
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
            return (None, head.id);
        };
        let Some(span) = self.timespan(span_node) else {
            return (None, head.id);
        };
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
                let Some((threshold, field)) = self.count_condition(c, corr, &kind) else {
                    return (None, head.id);
                };
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
                    return (None, head.id);
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
                        return (None, head.id);
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
        let errors = self
            .diags
            .iter()
            .any(|d| d.level == crate::diag::Level::Error);
        let Some((id, id_span)) = head.id.clone() else {
            return (None, None);
        };
        bases.push(Base {
            id: id.clone(),
            name: head.name.clone(),
            logs: logs.clone(),
            root: self.root,
            cond: cond.clone(),
            correlation: true,
            counted: match &shape {
                Shape::Window(w) if kind == "event_count" => w
                    .count
                    .as_ref()
                    .filter(|t| t.at_least().is_some())
                    .map(|t| {
                        let keys = w.group_by.iter().map(|g| g.path.to_string()).collect();
                        (t.clone(), keys, w.span.ticks)
                    }),
                _ => None,
            },
        });
        if errors {
            return (None, head.id);
        }
        let Some(info) = self.info(&head, &logs, &id, &id_span) else {
            return (None, head.id);
        };
        let message = vec![Piece::Text(info.title.to_string())];
        (
            Some(CheckedRule {
                info,
                logs,
                cond,
                shape,
                message,
                tests: Vec::new(),
                waiting: Vec::new(),
                span: id_span,
            }),
            head.id,
        )
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

/// Whether a search identifier matches a pattern with `*` wildcards.
fn glob(pattern: &str, name: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Loader;

    fn checked(text: &str) -> (Vec<CheckedRule>, Vec<Diagnostic>) {
        let mut loader = Loader::new();
        loader.add_source("sigma.yml", text);
        let c = loader.check();
        (c.rules().to_vec(), c.diagnostics().to_vec())
    }

    const HEAD: &str = "title: t\nid: 0e000000-0000-4000-8000-000000000001\nlogsource:\n  product: azure\n  service: signinlogs\n";

    #[test]
    fn diagnostic_settings_names_resolve_without_their_properties_prefix() {
        let (rules, diags) = checked(&format!(
            "{HEAD}detection:\n  sel:\n    properties.authenticationProtocol: deviceCode\n  condition: sel\n"
        ));
        assert!(diags.is_empty(), "{diags:?}");
        let Cond::Pred(p) = &rules[0].cond else {
            panic!("one predicate")
        };
        assert_eq!(p.field.path.to_string(), "authenticationProtocol");
    }

    #[test]
    fn placeholders_are_named_with_the_file() {
        let (rules, diags) = checked(&format!(
            "{HEAD}detection:\n  sel:\n    IPAddress|expand:\n      - '%office_ips%'\n      - '%vpn%'\n  condition: sel\n"
        ));
        assert!(rules.is_empty());
        let d = diags
            .iter()
            .find(|d| d.kind() == Some(Code::SigmaPlaceholder))
            .unwrap();
        assert!(
            d.message.contains("`%office_ips%`, `%vpn%`"),
            "{}",
            d.message
        );
        assert!(d.message.contains("sigma.yml"), "{}", d.message);
    }

    #[test]
    fn identifier_patterns_match_whole_names() {
        assert!(glob("sel_*", "sel_a"));
        assert!(glob("*_x", "sel_x"));
        assert!(!glob("sel_*", "filter_sel_a"));
        assert!(glob("a.b", "a.b") && !glob("a.b", "axb"));
    }

    #[test]
    fn levels_are_severities() {
        assert_eq!(severity_of("informational"), Some(Severity::Info));
        assert_eq!(severity_of("Critical"), Some(Severity::Critical));
        assert_eq!(severity_of("urgent"), None);
        assert_eq!(
            log_of_service("AADNonInteractiveUserSignInLogs"),
            Some(LogCategory::NonInteractive)
        );
    }

    #[test]
    fn a_rule_a_correlation_names_does_not_run_alone() {
        let text = format!(
            "{HEAD}name: base\ndetection:\n  sel:\n    ResultType: 50126\n  condition: sel\n---\ntitle: c\nid: 0e000000-0000-4000-8000-000000000002\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [IPAddress]\n  timespan: 5m\n  condition: {{ gte: 3 }}\n"
        );
        let (rules, diags) = checked(&text);
        assert!(diags.is_empty(), "{diags:?}");
        let ids: Vec<&str> = rules.iter().map(|r| r.info.id.as_ref()).collect();
        assert_eq!(ids, ["0e000000-0000-4000-8000-000000000002"]);
        assert!(matches!(rules[0].shape, Shape::Window(_)));
        let generate = text.replace(
            "  condition: { gte: 3 }",
            "  generate: true\n  condition: { gte: 3 }",
        );
        assert_eq!(checked(&generate).0.len(), 2);
    }
}
