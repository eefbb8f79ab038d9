//! The Sigma document: which kind of rule it is, its head and
//! `logsource` (id, title, level, description, tags, and the logs its
//! `service` names), and the checked rule it ends as.

use super::cx::{Base, Cx, find};
use crate::catalog;
use crate::check::{CheckedRule, Cond, Piece, Shape, Threshold};
use crate::diag::{Code, Span};
use crate::finding::{RuleInfo, Severity};
use crate::record::LogCategory;
use crate::syntax::Node;

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

/// The log a Sigma `service` names (ignoring case), if tollgate reads it.
pub fn log_of_service(service: &str) -> Option<LogCategory> {
    SERVICES
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(service))
        .map(|(_, l)| l.clone())
}

/// The help that lists the services tollgate reads.
fn services_help() -> String {
    let names: Vec<&str> = SERVICES.iter().map(|(s, _)| *s).collect();
    format!("services are {}", names.join(", "))
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

/// The rule head every Sigma rule has.
pub(super) struct Head {
    /// Where the rule starts (its first key), for errors about a key it
    /// lacks.
    pub(super) at: Span,
    pub(super) id: Option<(String, Span)>,
    title: Option<String>,
    severity: Option<Severity>,
    description: String,
    references: Vec<String>,
    tags: Vec<String>,
    pub(super) name: Option<String>,
}

impl Cx<'_> {
    /// Reads one Sigma document: its head, then a correlation rule when it
    /// has `correlation`, a detection rule otherwise. Gives the rule (when
    /// it has no error) and the id it is written with.
    pub(super) fn rule(
        &mut self,
        root: &Node,
        bases: &mut Vec<Base>,
    ) -> (Option<CheckedRule>, Option<(String, Span)>) {
        let Some(entries) = root.map() else {
            return (None, None);
        };
        let head = self.head(root);
        let rule = match find(entries, "correlation") {
            Some(corr) => self.correlation_rule(corr, &head, bases),
            None => self.detection_rule(entries, &head, bases),
        };
        (rule, head.id)
    }

    /// What a rule read through becomes: a [`Base`] that correlations
    /// loaded after it can name, and a checked rule; neither when its head
    /// has no valid id, and no checked rule when it has no title or level.
    pub(super) fn finish(
        &self,
        head: &Head,
        logs: Vec<LogCategory>,
        (cond, shape): (Cond, Shape),
        correlation: bool,
        counted: Option<(Threshold, Vec<String>, i64)>,
        bases: &mut Vec<Base>,
    ) -> Option<CheckedRule> {
        let (id, span) = head.id.clone()?;
        bases.push(Base {
            id: id.clone(),
            name: head.name.clone(),
            logs: logs.clone(),
            root: self.root,
            cond: cond.clone(),
            correlation,
            counted,
        });
        let info = self.info(head, &logs, &id, &span)?;
        let message = vec![Piece::Text(info.title.to_string())];
        Some(CheckedRule {
            info,
            logs,
            cond,
            shape,
            message,
            tests: Vec::new(),
            waiting: Vec::new(),
            span,
        })
    }

    pub(super) fn head(&mut self, root: &Node) -> Head {
        let entries = root.map().unwrap_or_default();
        let at = entries
            .first()
            .map_or_else(|| root.span.clone(), |(k, _)| k.span.clone());
        let help = "add `id: <a UUID>`: findings name the rule by it";
        let id = match self.required(entries, "id", &at, help) {
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
            None => None,
        };
        let title = self
            .required(entries, "title", &at, "add `title: what the rule finds`")
            .and_then(|n| self.text(n, "title"));
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
            at,
            id,
            title,
            severity,
            description,
            references,
            tags,
            name,
        }
    }

    pub(super) fn info(
        &self,
        head: &Head,
        logs: &[LogCategory],
        id: &str,
        span: &Span,
    ) -> Option<RuleInfo> {
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

    pub(super) fn logsource(&mut self, n: &Node) -> Option<Vec<LogCategory>> {
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
                        .help(services_help()),
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
                            &services_help(),
                        ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
