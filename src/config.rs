//! The project config file, `tollgate.yaml`: rule paths, params, disabled
//! rules, severity overrides, default output format and threshold, the
//! baseline path and per-rule exceptions.
//!
//! Takes the file's text and gives a [`Config`] or diagnostics with spans,
//! like rule files (an unknown key is a mistake, with a suggestion).
//!
//! ```yaml
//! rules: [rules/]                 # rule files or directories (default: the built-in pack)
//! params:
//!   trusted_countries: [US, GB]
//! disable: [TG-FED-001]
//! severity: { TG-LEG-001: critical }
//! format: sarif
//! failOn: high
//! baseline: .tollgate/baseline.json
//! exceptions:
//!   - rule: TG-CA-001
//!     users: [breakglass@contoso.com]
//!     reason: break-glass account, monitored elsewhere
//!     expires: 2026-12-31
//! ```

use std::path::{Path, PathBuf};

use crate::catalog;
use crate::diag::{Code, Diagnostic, SourceId, Sources, Span};
use crate::finding::Severity;
use crate::syntax::{self, Node, NodeKind};

/// The config file looked for in the working directory.
pub const FILE_NAME: &str = "tollgate.yaml";

/// The keys a config may have.
pub const KEYS: &[&str] = &[
    "rules",
    "params",
    "disable",
    "severity",
    "format",
    "failOn",
    "baseline",
    "exceptions",
];

/// A project config. Paths are resolved against the config file's folder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Rule files or directories; empty means the built-in pack.
    pub rules: Vec<PathBuf>,
    /// Parameter values by name (each value one element of a list param),
    /// with where the name is written.
    pub params: Vec<(String, Vec<String>, Span)>,
    /// Rule ids not to run.
    pub disable: Vec<(String, Span)>,
    /// Severity overrides by rule id.
    pub severity: Vec<(String, Severity, Span)>,
    /// Default output format name.
    pub format: Option<String>,
    /// Default `--fail-on`: a severity, or `None` inside for `never`.
    pub fail_on: Option<Option<Severity>>,
    /// Baseline of accepted findings.
    pub baseline: Option<PathBuf>,
    /// Accepted findings, by rule.
    pub exceptions: Vec<Exception>,
}

/// Findings of one rule that are accepted: for the listed sign-ins, users or
/// apps, with a reason and an optional expiry date.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    /// The rule.
    pub rule: String,
    /// Where the rule id is written (the whole exception when it has none).
    pub rule_span: Span,
    /// Sign-in ids.
    pub sign_ins: Vec<String>,
    /// User principal names (compared ignoring case).
    pub users: Vec<String>,
    /// Application display names (compared ignoring case).
    pub apps: Vec<String>,
    /// IP address ranges (`10.0.0.0/8`, `2001:db8::/32`, or one address)
    /// holding the sign-in's address.
    pub ips: Vec<ipnet::IpNet>,
    /// Why the findings are accepted.
    pub reason: String,
    /// Last day (UTC, `YYYY-MM-DD`) the exception holds; after it, the
    /// findings count again.
    pub expires: Option<String>,
    /// Where it was written.
    pub span: Span,
}

impl Exception {
    /// Whether it names no sign-in, user, app or address: config refuses
    /// such an exception, and one built so accepts nothing.
    pub fn names_nothing(&self) -> bool {
        self.sign_ins.is_empty()
            && self.users.is_empty()
            && self.apps.is_empty()
            && self.ips.is_empty()
    }
}

/// Reads a config file into `sources` and parses it.
pub fn load(
    path: &Path,
    sources: &mut Sources,
) -> Result<(Config, Vec<Diagnostic>), std::io::Error> {
    let text = std::fs::read_to_string(path)?;
    let id = sources.add(path.display().to_string(), text.as_str());
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(parse(id, &text, &base))
}

/// Parses config text; `base` is the folder relative paths start from.
pub fn parse(source: SourceId, text: &str, base: &Path) -> (Config, Vec<Diagnostic>) {
    let (docs, mut diags) = syntax::parse(source, text);
    let mut config = Config::default();
    let Some(doc) = docs.first() else {
        return (config, diags);
    };
    if let Some(extra) = docs.get(1) {
        diags.push(
            Code::Config
                .error(
                    extra.root.span.clone(),
                    "a config file holds one YAML document",
                )
                .label("second document")
                .help("merge the documents into one"),
        );
    }
    let Some(entries) = doc.root.map() else {
        return (config, diags);
    };
    let mut cx = Cx { diags: &mut diags };
    for (key, value) in entries {
        let name = key.text().unwrap_or_default();
        match name {
            "rules" => {
                config.rules = cx
                    .strings(value, "rules")
                    .into_iter()
                    .map(|(s, _)| base.join(s))
                    .collect()
            }
            "params" => config.params = cx.params(value),
            "disable" => config.disable = cx.strings(value, "disable"),
            "severity" => config.severity = cx.severities(value),
            "format" => {
                config.format = cx.choice(
                    value,
                    "format",
                    &["text", "json", "jsonl", "sarif", "github", "html"],
                );
            }
            "failOn" => {
                config.fail_on = cx
                    .choice(
                        value,
                        "failOn",
                        &["info", "low", "medium", "high", "critical", "never"],
                    )
                    .map(|s| s.parse::<Severity>().ok());
            }
            "baseline" => config.baseline = cx.string(value, "baseline").map(|s| base.join(s)),
            "exceptions" => config.exceptions = cx.exceptions(value),
            other => cx.diags.push(
                Code::Config
                    .error(key.span.clone(), format!("unknown config key `{other}`"))
                    .label("not a config key")
                    .suggest_or(
                        catalog::closest(other, KEYS.iter().copied()),
                        format!("config keys are {}", KEYS.join(", ")),
                    ),
            ),
        }
    }
    (config, diags)
}

struct Cx<'a> {
    diags: &'a mut Vec<Diagnostic>,
}

impl Cx<'_> {
    fn wrong(&mut self, n: &Node, what: String) {
        self.diags.push(
            Code::Config
                .error(n.span.clone(), what)
                .label(format!("this is {}", n.describe()))
                .help("see the example config in the README"),
        );
    }

    fn string(&mut self, n: &Node, key: &str) -> Option<String> {
        match n.scalar() {
            Some(s) => Some(s.text.clone()),
            None => {
                self.wrong(n, format!("`{key}` must be text"));
                None
            }
        }
    }

    fn strings(&mut self, n: &Node, key: &str) -> Vec<(String, Span)> {
        match &n.kind {
            NodeKind::Scalar(s) => vec![(s.text.clone(), n.span.clone())],
            NodeKind::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(i, key).map(|s| (s, i.span.clone())))
                .collect(),
            NodeKind::Map(_) => {
                self.wrong(n, format!("`{key}` must be a list"));
                Vec::new()
            }
        }
    }

    fn choice(&mut self, n: &Node, key: &str, allowed: &[&str]) -> Option<String> {
        let value = self.string(n, key)?;
        if allowed.contains(&value.as_str()) {
            return Some(value);
        }
        self.diags.push(
            Code::Config
                .error(n.span.clone(), format!("`{value}` is not a valid `{key}`"))
                .label("unknown value")
                .suggest_then(
                    catalog::closest(&value, allowed.iter().copied()),
                    &format!("values: {}", allowed.join(", ")),
                ),
        );
        None
    }

    fn params(&mut self, n: &Node) -> Vec<(String, Vec<String>, Span)> {
        let Some(entries) = n.map() else {
            self.wrong(n, "`params` must be a mapping of names to values".into());
            return Vec::new();
        };
        entries
            .iter()
            .map(|(k, v)| {
                let name = k.text().unwrap_or_default().to_string();
                // Its mistakes name the param, not `params`.
                let what = format!("params.{name}");
                let values = self.strings(v, &what).into_iter().map(|(s, _)| s).collect();
                (name, values, k.span.clone())
            })
            .collect()
    }

    fn severities(&mut self, n: &Node) -> Vec<(String, Severity, Span)> {
        let Some(entries) = n.map() else {
            self.wrong(n, "`severity` must map rule ids to severities".into());
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let names = ["info", "low", "medium", "high", "critical"];
            if let Some(s) = self.choice(v, "severity", &names)
                && let Ok(sev) = s.parse::<Severity>()
            {
                out.push((
                    k.text().unwrap_or_default().to_string(),
                    sev,
                    k.span.clone(),
                ));
            }
        }
        out
    }

    fn exceptions(&mut self, n: &Node) -> Vec<Exception> {
        let Some(items) = n.seq() else {
            self.wrong(n, "`exceptions` must be a list".into());
            return Vec::new();
        };
        const KEYS: [&str; 7] = [
            "rule", "signIns", "users", "apps", "ips", "reason", "expires",
        ];
        let mut out = Vec::new();
        for item in items {
            let Some(entries) = item.map() else {
                self.wrong(item, "an exception must be a mapping".into());
                continue;
            };
            let mut e = Exception {
                rule: String::new(),
                rule_span: item.span.clone(),
                sign_ins: Vec::new(),
                users: Vec::new(),
                apps: Vec::new(),
                ips: Vec::new(),
                reason: String::new(),
                expires: None,
                span: item.span.clone(),
            };
            // A list of identities refused (and said so, such as an address
            // that is not one) is not followed by "names nothing".
            let mut refused = false;
            for (k, v) in entries {
                let key = k.text().unwrap_or_default();
                let said = self.diags.len();
                let identity = matches!(key, "signIns" | "users" | "apps" | "ips");
                let list = |cx: &mut Self| cx.strings(v, key).into_iter().map(|(s, _)| s).collect();
                match key {
                    "rule" => {
                        e.rule = self.string(v, key).unwrap_or_default();
                        e.rule_span = v.span.clone();
                    }
                    "signIns" => e.sign_ins = list(self),
                    "users" => e.users = list(self),
                    "apps" => e.apps = list(self),
                    "ips" => {
                        for (text, span) in self.strings(v, key) {
                            match crate::check::pattern::parse_net(&text) {
                                Ok(net) => e.ips.push(net),
                                Err(why) => self.diags.push(
                                    Code::Config
                                        .error(span, format!("`{text}` is not an IP address or range: {why}"))
                                        .label("expected an address or a range")
                                        .help("write an address (`203.0.113.7`) or a range (`10.0.0.0/8`, `2001:db8::/32`)"),
                                ),
                            }
                        }
                    }
                    "reason" => e.reason = self.string(v, key).unwrap_or_default(),
                    "expires" => {
                        let text = self.string(v, key).unwrap_or_default();
                        // Held in its normal form (`2026-2-1` as `2026-02-01`):
                        // expiry compares it with today's as text.
                        if let Ok(day) = jiff::civil::Date::strptime("%Y-%m-%d", &text)
                            && (1..=9999).contains(&day.year())
                        {
                            e.expires = Some(day.to_string());
                        } else {
                            self.diags.push(
                                Code::Config.error(v.span.clone(),
                                    format!("`{text}` is not a date"),
                                )
                                .label("expected YYYY-MM-DD")
                                .help(
                                    "write the last day the exception holds, such as `2026-12-31`",
                                ),
                            );
                        }
                    }
                    other => self.diags.push(
                        Code::Config
                            .error(k.span.clone(), format!("unknown exception key `{other}`"))
                            .label("not an exception key")
                            .suggest_or(
                                catalog::closest(other, KEYS),
                                format!("exception keys are {}", KEYS.join(", ")),
                            ),
                    ),
                }
                refused |= identity && self.diags.len() > said;
            }
            let head = entries
                .first()
                .map_or_else(|| item.span.clone(), |(k, _)| k.span.clone());
            if e.rule.is_empty() {
                self.diags.push(
                    Code::Config
                        .error(head.clone(), "exception has no `rule`")
                        .label("this exception")
                        .help("name the rule whose findings it accepts: `rule: TG-CA-001`"),
                );
            }
            if e.reason.trim().is_empty() {
                self.diags.push(
                    Code::Config
                        .error(head.clone(), "exception has no `reason`")
                        .label("this exception")
                        .help(
                            "say why the findings are accepted, for whoever reads the config next",
                        ),
                );
            }
            if e.names_nothing() && !refused {
                self.diags.push(
                    Code::Config.error(head, "exception names no sign-in, user, app or IP address")
                        .label("this exception")
                        .help("list `signIns`, `users`, `apps` or `ips`; to turn a whole rule off, use `disable`"),
                );
            }
            out.push(e);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Config, Vec<Diagnostic>) {
        parse(0, text, Path::new("conf"))
    }

    #[test]
    fn a_full_config_reads() {
        let (c, d) = parsed(
            "rules: [rules/]\nparams:\n  trusted_countries: [US, GB]\n  limit: 5\ndisable: [TG-FED-001]\nseverity: { TG-LEG-001: critical }\nformat: sarif\nfailOn: never\nbaseline: base.json\nexceptions:\n  - rule: TG-CA-001\n    users: [a@b.c]\n    reason: break glass\n    expires: 2026-12-31\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.rules, vec![PathBuf::from("conf/rules/")]);
        assert_eq!(c.params[0].0, "trusted_countries");
        assert_eq!(c.params[0].1, vec!["US".to_string(), "GB".to_string()]);
        assert_eq!(c.params[1].0, "limit");
        assert_eq!(c.params[1].1, vec!["5".to_string()]);
        assert_eq!(c.disable[0].0, "TG-FED-001");
        assert_eq!(c.severity[0].1, Severity::Critical);
        assert_eq!(c.format.as_deref(), Some("sarif"));
        assert_eq!(c.fail_on, Some(None));
        assert_eq!(c.baseline, Some(PathBuf::from("conf/base.json")));
        assert_eq!(c.exceptions[0].users, vec!["a@b.c".to_string()]);
        assert_eq!(c.exceptions[0].expires.as_deref(), Some("2026-12-31"));
        // A day written without its zeros is read as the same day.
        let (c, d) = parsed(
            "exceptions:\n  - rule: X\n    users: [a@b.c]\n    reason: r\n    expires: 2026-2-1\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.exceptions[0].expires.as_deref(), Some("2026-02-01"));
    }

    #[test]
    fn unknown_keys_and_values_point_at_themselves() {
        let text = "rulez: [x]\nfailOn: hihg\nexceptions:\n  - rule: X\n    user: [a]\n";
        let (_, d) = parsed(text);
        let found: Vec<(&str, &str)> = d
            .iter()
            .map(|d| {
                (
                    text.get(d.span.range.clone()).unwrap_or(""),
                    d.help.as_deref().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(found[0], ("rulez", "did you mean `rules`?"));
        assert_eq!(found[1].0, "hihg");
        assert!(found[1].1.starts_with("did you mean `high`?"));
        assert_eq!(found[2], ("user", "did you mean `users`?"));
        // The exception also lacks a reason and names nobody.
        assert_eq!(d.len(), 5);
        // A refused address is the one mistake; an empty list names nobody.
        let (_, d) = parsed("exceptions:\n  - rule: X\n    ips: ['203.0.113.*']\n    reason: r\n");
        assert_eq!(d.len(), 1, "{d:?}");
        let (_, d) = parsed("exceptions:\n  - rule: X\n    users: []\n    reason: r\n");
        assert!(d.len() == 1 && d[0].message.contains("names no"), "{d:?}");
    }
}
