//! tollgate rules → Sigma rules.
//!
//! [`to_sigma`] writes one single-record rule as Sigma YAML that Sigma's
//! own tools load: Log Analytics field names, `logsource: { product:
//! azure, service: ... }` per log, the rule's id as a stable UUID, its
//! severity as `level`. A rule that reads several logs becomes one Sigma
//! document per log (Sigma names one log per rule). What Sigma cannot say
//! exactly is an [`Unsupported`] naming the construct and where it is
//! written, never an approximation.

use std::fmt::Write as _;

use super::value::escape;
use crate::catalog::{self, Field, FieldPath};
use crate::check::{CheckedRule, Cond, Const, Op, Pred, Shape};
use crate::diag::Span;
use crate::finding::Severity;
use crate::record::LogCategory;

pub use crate::target::Unsupported;
use crate::target::regex::{Dialect, translate};
use crate::target::unsupported;

/// The Sigma service of a log.
pub fn service_of(log: &LogCategory) -> Option<&'static str> {
    Some(match log {
        LogCategory::Interactive => "signinlogs",
        LogCategory::NonInteractive => "noninteractiveusersigninlogs",
        LogCategory::ServicePrincipal => "serviceprincipalsigninlogs",
        LogCategory::ManagedIdentity => "managedidentitysigninlogs",
        LogCategory::GraphActivity => "microsoftgraphactivitylogs",
        LogCategory::Other(_) => return None,
    })
}

/// A UUID for a rule id, as Sigma ids are UUIDs: derived from the id
/// alone, so the same rule always exports with the same id.
pub fn sigma_id(name: &str) -> String {
    crate::target::guid(&format!("tollgate sigma rule {name}"))
}

/// The Sigma level of a severity.
pub fn level_of(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "informational",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// A path as Log Analytics names it: the column (its alias, else the
/// canonical name with a capital), then the keys inside it as they are;
/// a nested field with a column of its own (`status.errorCode` is
/// `ResultType`) by that column.
pub fn log_analytics_name(path: &FieldPath, root: &'static [Field]) -> String {
    let segs = path.segments();
    if path.is_raw() {
        return segs.join(".");
    }
    let Some((first, rest)) = segs.split_first() else {
        return String::new();
    };
    let top = catalog::find_field(root, first);
    if let (Some(top), [child]) = (top, rest)
        && !top.list
        && let Some(alias) = top
            .children()
            .iter()
            .find(|c| c.name == child.as_ref())
            .and_then(|c| c.aliases.first())
    {
        return (*alias).to_string();
    }
    let column = match top.and_then(|t| t.aliases.first()) {
        Some(alias) => (*alias).to_string(),
        None => capitalize(first),
    };
    std::iter::once(column)
        .chain(rest.iter().map(|s| s.to_string()))
        .collect::<Vec<_>>()
        .join(".")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// JSON text is YAML: every scalar is written as a JSON string or number.
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Writes one single-record rule as Sigma YAML (one document per log it
/// reads), or says what Sigma cannot say of it.
pub fn to_sigma(rule: &CheckedRule) -> Result<String, Unsupported> {
    let id = rule.info.id.to_string();
    let unsupported = |construct: &str, span: &Span| unsupported(rule, construct, span);
    // A window is a correlation over its `match` written as base rules.
    let correlation = match &rule.shape {
        Shape::Single => None,
        Shape::Window(w) => Some(window_correlation(rule, w)?),
        Shape::Sequence(seq) => {
            // Refused for its own reason first, so it stays refused when
            // sequences are exported.
            if let Some(t) = crate::target::plan::travel_of(seq) {
                return Err(unsupported(crate::target::plan::TRAVEL, &t.span));
            }
            return Err(unsupported(
                "a `sequence` (sequences are not exported as Sigma correlations yet)",
                &rule.span,
            ));
        }
    };
    if !rule.waiting.is_empty() {
        return Err(unsupported(
            &format!(
                "required params without a value ({})",
                rule.waiting.join(", ")
            ),
            &rule.span,
        ));
    }
    let root = rule.logs.first().map_or(catalog::SIGN_IN, catalog::for_log);
    let mut w = Writer {
        root,
        searches: Vec::new(),
        rule: &id,
    };
    let condition = w.cond(&rule.cond, true)?;
    let mut out = String::new();
    for (i, log) in rule.logs.iter().enumerate() {
        let Some(service) = service_of(log) else {
            return Err(unsupported(
                &format!("log `{}` (no Sigma service)", log.name()),
                &rule.span,
            ));
        };
        let (uuid, title) = if i == 0 {
            (sigma_id(&id), rule.info.title.to_string())
        } else {
            (
                sigma_id(&format!("{id}#{}", log.name())),
                format!("{} ({})", rule.info.title, log.name()),
            )
        };
        if i > 0 {
            out.push_str("---\n");
        }
        // Under a correlation, the base rules have ids and names of their
        // own; the correlation takes the rule's id.
        let (uuid, title) = match &correlation {
            Some(_) => (
                sigma_id(&format!("{id}#match#{}", log.name())),
                format!(
                    "{} (records that take part, {})",
                    rule.info.title,
                    log.name()
                ),
            ),
            None => (uuid, title),
        };
        let _ = writeln!(out, "title: {}", quote(&title));
        let _ = writeln!(out, "id: {uuid}");
        if correlation.is_some() {
            let _ = writeln!(out, "name: {}", base_name(&id, log));
        }
        if i > 0 && correlation.is_none() {
            let _ = writeln!(
                out,
                "related:\n    - id: {}\n      type: similar",
                sigma_id(&id)
            );
        }
        write_status_and_description(&mut out, rule);
        if !rule.info.references.is_empty() {
            out.push_str("references:\n");
            for r in &rule.info.references {
                let _ = writeln!(out, "    - {}", quote(r));
            }
        }
        out.push_str("author: tollgate\n");
        if !rule.info.tags.is_empty() {
            out.push_str("tags:\n");
            for t in &rule.info.tags {
                // Sigma tags are `namespace.name`.
                let tag: String = t
                    .to_ascii_lowercase()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect();
                // MITRE ATT&CK techniques go in Sigma's `attack` namespace.
                let is_technique = tag.len() >= 5
                    && tag.starts_with('t')
                    && tag
                        .get(1..5)
                        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
                let namespace = if is_technique { "attack" } else { "tollgate" };
                let _ = writeln!(out, "    - {}", quote(&format!("{namespace}.{tag}")));
            }
        }
        let _ = writeln!(
            out,
            "logsource:\n    product: azure\n    service: {service}"
        );
        out.push_str("detection:\n");
        for (name, entries) in &w.searches {
            let _ = writeln!(out, "    {name}:");
            for (key, values) in entries {
                match values.as_slice() {
                    [one] => {
                        let _ = writeln!(out, "        {}: {one}", quote(key));
                    }
                    many => {
                        let _ = writeln!(out, "        {}:", quote(key));
                        for v in many {
                            let _ = writeln!(out, "            - {v}");
                        }
                    }
                }
            }
        }
        let _ = writeln!(out, "    condition: {}", quote(&condition));
        let _ = writeln!(out, "level: {}", level_of(rule.info.severity));
    }
    if let Some(body) = correlation {
        let _ = writeln!(out, "---\ntitle: {}", quote(&rule.info.title));
        let _ = writeln!(out, "id: {}", sigma_id(&id));
        write_status_and_description(&mut out, rule);
        out.push_str("author: tollgate\n");
        out.push_str(&body);
        let _ = writeln!(out, "level: {}", level_of(rule.info.severity));
    }
    Ok(out)
}

/// The `status` and `description` of every document a rule is exported
/// as: its description (its title when it has none) and the tollgate rule
/// it came from.
fn write_status_and_description(out: &mut String, rule: &CheckedRule) {
    out.push_str("status: experimental\n");
    let mut description = rule.info.description.trim().to_string();
    if description.is_empty() {
        description = rule.info.title.to_string();
    }
    let _ = writeln!(
        out,
        "description: {}",
        quote(&format!(
            "{description}\n\n(tollgate rule {})",
            rule.info.id
        ))
    );
}

/// The Sigma name of the base rule of a correlation, for one log.
fn base_name(id: &str, log: &LogCategory) -> String {
    let id: String = id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{id}_{}", log.name().to_ascii_lowercase())
}

/// The `correlation:` block of a window: `event_count` for a bound on the
/// records, `value_count` for a bound on one field's distinct values, over
/// the base rules of its logs, grouped by its key, within its span. Sigma
/// correlations have one condition, so a window with both bounds, or
/// several distinct fields, is refused.
fn window_correlation(rule: &CheckedRule, w: &crate::check::Window) -> Result<String, Unsupported> {
    let no = |what: &str| unsupported(rule, what, &w.span.span);
    let root = rule.logs.first().map_or(catalog::SIGN_IN, catalog::for_log);
    let (kind, threshold, field) = match (&w.count, w.distinct.as_slice()) {
        (Some(t), []) => ("event_count", t, None),
        (None, [(f, t)]) => ("value_count", t, Some(log_analytics_name(&f.path, root))),
        _ => {
            return Err(no(
                "a window with more than one bound (a Sigma correlation has one condition)",
            ));
        }
    };
    if w.case_sensitive {
        return Err(no("a window that compares its keys with case"));
    }
    let mut out = String::from("correlation:\n");
    let _ = writeln!(out, "    type: {kind}");
    out.push_str("    rules:\n");
    for log in &rule.logs {
        let _ = writeln!(out, "        - {}", base_name(&rule.info.id, log));
    }
    if !w.group_by.is_empty() {
        out.push_str("    group-by:\n");
        for f in &w.group_by {
            let _ = writeln!(
                out,
                "        - {}",
                quote(&log_analytics_name(&f.path, root))
            );
        }
    }
    let _ = writeln!(out, "    timespan: {}", w.span.text);
    out.push_str("    condition:\n");
    let _ = writeln!(out, "        {}: {}", threshold.cmp.name(), threshold.value);
    if let Some(field) = field {
        let _ = writeln!(out, "        field: {}", quote(&field));
    }
    Ok(out)
}

/// Search identifiers being written: name → (`Field|mods`, values as YAML).
type Search = (String, Vec<(String, Vec<String>)>);

struct Writer<'a> {
    root: &'static [Field],
    searches: Vec<Search>,
    rule: &'a str,
}

impl Writer<'_> {
    fn unsupported(&self, construct: &str, span: &Span) -> Unsupported {
        Unsupported {
            rule: self.rule.to_string(),
            construct: construct.to_string(),
            span: span.clone(),
        }
    }

    fn add(&mut self, entries: Vec<(String, Vec<String>)>) -> String {
        let name = format!("sel{}", self.searches.len() + 1);
        self.searches.push((name.clone(), entries));
        name
    }

    /// The condition expression for a condition tree (adding its search
    /// identifiers); `top` drops the outer parentheses.
    fn cond(&mut self, cond: &Cond, top: bool) -> Result<String, Unsupported> {
        let wrap = |s: String| if top { s } else { format!("({s})") };
        Ok(match cond {
            Cond::All(children) if children.is_empty() => {
                return Err(self.unsupported("a condition that always holds", &span_of(cond)));
            }
            Cond::Any(children) if children.is_empty() => {
                return Err(self.unsupported("a condition that never holds", &span_of(cond)));
            }
            Cond::All(children) => {
                // Plain field conditions go into one search identifier.
                let mut entries = Vec::new();
                let mut others = Vec::new();
                for c in children {
                    match c {
                        Cond::Pred(p) if p.op != Op::Ne && p.op != Op::NotIn => {
                            let entry = self.entry(p)?;
                            if entries
                                .iter()
                                .any(|(k, _): &(String, Vec<String>)| *k == entry.0)
                            {
                                others.push(self.cond(c, false)?);
                            } else {
                                entries.push(entry);
                            }
                        }
                        other => others.push(self.cond(other, false)?),
                    }
                }
                let mut parts = Vec::new();
                if !entries.is_empty() {
                    parts.push(self.add(entries));
                }
                parts.extend(others);
                match parts.len() {
                    1 => parts.pop().unwrap_or_default(),
                    _ => wrap(parts.join(" and ")),
                }
            }
            Cond::Any(children) => {
                let parts = children
                    .iter()
                    .map(|c| self.cond(c, false))
                    .collect::<Result<Vec<_>, _>>()?;
                match parts.len() {
                    1 => parts.into_iter().next().unwrap_or_default(),
                    _ => wrap(parts.join(" or ")),
                }
            }
            Cond::Not(inner) => format!("not {}", self.cond(inner, false)?),
            Cond::Pred(p) if matches!(p.op, Op::Ne | Op::NotIn) => {
                // `ne` holds on a present value only; Sigma's `not` also
                // holds on an absent field.
                let mut eq = p.clone();
                eq.op = Op::Eq;
                let (field, list_of_text) = self.field(p)?;
                if list_of_text {
                    return Err(self.unsupported(
                        &format!("`{}` on list field `{}`", p.op.name(), p.field.path),
                        &p.span,
                    ));
                }
                // With a field reference, both fields must be present.
                let mut present = vec![(format!("{field}|exists"), vec!["true".into()])];
                if let Some(r) = p.field_ref().filter(|r| r.step.is_none()) {
                    let other = log_analytics_name(&r.field.path, self.root);
                    present.push((format!("{other}|exists"), vec!["true".into()]));
                }
                let present = self.add(present);
                let entry = self.entry(&eq)?;
                let equal = self.add(vec![entry]);
                wrap(format!("{present} and not {equal}"))
            }
            Cond::Pred(p) => {
                let entry = self.entry(p)?;
                self.add(vec![entry])
            }
            Cond::Quant {
                quantifier, span, ..
            } => {
                return Err(self.unsupported(
                    &format!(
                        "`{}` over a list (Log Analytics holds the list as JSON text)",
                        quantifier.name()
                    ),
                    span,
                ));
            }
        })
    }

    /// The field's Log Analytics name, and whether it is a list of text
    /// (which Log Analytics holds as JSON text).
    fn field(&self, p: &Pred) -> Result<(String, bool), Unsupported> {
        let mut fields = self.root;
        let mut list_of_text = false;
        if !p.field.path.is_raw() {
            let segments = p.field.path.segments();
            for (i, seg) in segments.iter().enumerate() {
                let Some(f) = catalog::find_field(fields, seg) else {
                    break;
                };
                if f.list {
                    let last = i + 1 == segments.len();
                    if last && f.kind == catalog::Kind::String {
                        list_of_text = true;
                    } else {
                        return Err(self.unsupported(
                            &format!(
                                "a condition through list field `{}` (Log Analytics holds it as JSON text)",
                                p.field.path
                            ),
                            &p.span,
                        ));
                    }
                }
                fields = f.children();
            }
        }
        Ok((log_analytics_name(&p.field.path, self.root), list_of_text))
    }

    /// A condition on a list of text, as a `contains` on its JSON text:
    /// an element equals `v` where the text holds `"v"`, contains `v`
    /// where it holds `v`. Exact for values JSON writes as they are and
    /// that hold no `"`, `,`, `[` or `]` (which could reach across
    /// elements).
    fn list_entry(&self, field: &str, p: &Pred) -> Result<(String, Vec<String>), Unsupported> {
        let refuse = |why: &str| {
            self.unsupported(
                &format!("`{}` on list field `{}` ({why})", p.op.name(), p.field.path),
                &p.span,
            )
        };
        let mut values = Vec::new();
        for v in &p.values {
            let Const::Str(text) = v else {
                return Err(refuse("a value other than text"));
            };
            let plain = text
                .chars()
                .all(|c| !c.is_control() && !matches!(c, '"' | '\\' | ',' | '[' | ']'));
            if !plain {
                return Err(refuse("a value with JSON punctuation"));
            }
            let needle = match p.op {
                Op::Eq | Op::In => format!("\"{text}\""),
                Op::Contains => text.clone(),
                Op::StartsWith => format!("\"{text}"),
                Op::EndsWith => format!("{text}\""),
                _ => return Err(refuse("Log Analytics holds the list as JSON text")),
            };
            values.push(quote(&escape(&needle)));
        }
        let mut key = format!("{field}|contains");
        if p.case_sensitive {
            key.push_str("|cased");
        }
        Ok((key, values))
    }

    /// One `Field|modifiers: values` entry.
    fn entry(&self, p: &Pred) -> Result<(String, Vec<String>), Unsupported> {
        let (field, list_of_text) = self.field(p)?;
        if list_of_text {
            return self.list_entry(&field, p);
        }
        if p.field.kind() == catalog::Kind::DateTime && p.op != Op::Exists {
            // tollgate compares the normal form of an instant; Log
            // Analytics writes it otherwise.
            return Err(self.unsupported(
                &format!("`{}` on date-time field `{}`", p.op.name(), p.field.path),
                &p.span,
            ));
        }
        let value = |c: &Const| -> Result<String, Unsupported> {
            Ok(match c {
                Const::Str(s) => quote(&escape(s)),
                Const::Int(i) => i.to_string(),
                Const::Num(n) => serde_json::Value::from(*n).to_string(),
                Const::Bool(b) => b.to_string(),
                Const::Field(r) => {
                    if r.step.is_some() {
                        return Err(self.unsupported("a reference to a sequence step", &p.span));
                    }
                    quote(&log_analytics_name(&r.field.path, self.root))
                }
            })
        };
        let cased = |mods: &mut Vec<&str>| {
            if p.case_sensitive {
                mods.push("cased");
            }
        };
        if p.values.is_empty() {
            // `in: []` matches nothing; a Sigma field with no value is
            // null, which matches an absent field.
            return Err(self.unsupported(&format!("`{}` with an empty list", p.op.name()), &p.span));
        }
        let mut mods: Vec<&str> = Vec::new();
        let values: Vec<String> = match p.op {
            Op::Eq | Op::In | Op::Ne | Op::NotIn => {
                if p.field_ref().is_some() {
                    mods.push("fieldref");
                } else if p.values.iter().any(|v| matches!(v, Const::Str(_))) {
                    cased(&mut mods);
                }
                p.values.iter().map(value).collect::<Result<_, _>>()?
            }
            Op::Contains | Op::StartsWith | Op::EndsWith => {
                if p.field_ref().is_some() {
                    return Err(self.unsupported(
                        &format!("`{}` with a field reference", p.op.name()),
                        &p.span,
                    ));
                }
                mods.push(match p.op {
                    Op::Contains => "contains",
                    Op::StartsWith => "startswith",
                    _ => "endswith",
                });
                cased(&mut mods);
                p.values.iter().map(value).collect::<Result<_, _>>()?
            }
            Op::Matches => {
                // Written out as RE2 and Rust read it alike, its case rule
                // in its classes (no `|i`).
                mods.push("re");
                p.values
                    .iter()
                    .map(|v| match v {
                        // A regex is not a Sigma string: no escaping.
                        Const::Str(s) => translate(s, p.case_sensitive, Dialect::Sigma)
                            .map(|t| quote(&t))
                            .map_err(|what| self.unsupported(&what, &p.span)),
                        other => value(other),
                    })
                    .collect::<Result<_, _>>()?
            }
            Op::Exists => {
                mods.push("exists");
                p.values.iter().map(value).collect::<Result<_, _>>()?
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                if p.values
                    .iter()
                    .any(|v| !matches!(v, Const::Int(_) | Const::Num(_)))
                {
                    return Err(self.unsupported(
                        &format!("`{}` on a date-time or a field reference", p.op.name()),
                        &p.span,
                    ));
                }
                mods.push(p.op.name());
                p.values.iter().map(value).collect::<Result<_, _>>()?
            }
            Op::Cidr => {
                mods.push("cidr");
                p.values.iter().map(value).collect::<Result<_, _>>()?
            }
        };
        let key = std::iter::once(field.as_str())
            .chain(mods)
            .collect::<Vec<_>>()
            .join("|");
        Ok((key, values))
    }
}

fn span_of(cond: &Cond) -> Span {
    match cond {
        Cond::Pred(p) => p.span.clone(),
        Cond::Quant { span, .. } => span.clone(),
        Cond::All(c) | Cond::Any(c) => c.first().map_or(Span::new(0, 0..0), span_of),
        Cond::Not(c) => span_of(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Loader;

    fn export(text: &str) -> Result<String, Unsupported> {
        let mut loader = Loader::new();
        loader.add_source("rule.yaml", text);
        let checked = loader.check();
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics());
        to_sigma(&checked.rules()[0])
    }

    #[test]
    fn sigma_ids_are_stable_uuids() {
        let id = sigma_id("TG-CA-001");
        assert_eq!(id, sigma_id("TG-CA-001"));
        assert_ne!(id, sigma_id("TG-CA-002"));
        assert_ne!(id, crate::target::rule_guid("TG-CA-001"));
        assert_eq!(id.len(), 36);
    }

    #[test]
    fn log_analytics_names() {
        let name = |p: &str| {
            catalog::resolve_in(catalog::SIGN_IN, p)
                .map(|r| log_analytics_name(&r.path, catalog::SIGN_IN))
                .unwrap_or_default()
        };
        assert_eq!(name("status.errorCode"), "ResultType");
        assert_eq!(name("location.countryOrRegion"), "Location");
        assert_eq!(name("location.city"), "LocationDetails.city");
        assert_eq!(name("ipAddress"), "IPAddress");
        assert_eq!(name("userPrincipalName"), "UserPrincipalName");
        assert_eq!(name("deviceDetail.isCompliant"), "DeviceDetail.isCompliant");
    }

    #[test]
    fn a_rule_becomes_sigma() {
        let out = export(
            "id: EX-001\ntitle: IMAP\nseverity: info\nlogs: [interactive]\nmatch:\n  clientAppUsed: [IMAP4, POP3]\n  status.errorCode: 0\n  not:\n    ipAddress: { cidr: 10.0.0.0/8 }\n  userAgent: { ne: 'a*b' }\n",
        )
        .unwrap();
        assert!(out.contains("service: signinlogs"), "{out}");
        assert!(out.contains("level: informational"), "{out}");
        assert!(
            out.contains(&format!("id: {}", sigma_id("EX-001"))),
            "{out}"
        );
        assert!(
            out.contains("\"ClientAppUsed\":\n            - \"IMAP4\""),
            "{out}"
        );
        assert!(out.contains("\"ResultType\": 0"), "{out}");
        assert!(out.contains("\"IPAddress|cidr\": \"10.0.0.0/8\""), "{out}");
        assert!(out.contains("\"UserAgent\": \"a\\\\*b\""), "{out}");
        assert!(
            out.contains("condition: \"sel4 and not sel1 and (sel2 and not sel3)\""),
            "{out}"
        );
    }

    #[test]
    fn several_logs_give_several_documents() {
        let out = export(
            "id: EX-002\ntitle: t\nseverity: low\nlogs: [interactive, nonInteractive]\nmatch:\n  riskState: atRisk\n",
        )
        .unwrap();
        assert_eq!(out.matches("---\n").count(), 1, "{out}");
        assert!(
            out.contains("service: noninteractiveusersigninlogs"),
            "{out}"
        );
        assert!(out.contains(&format!("id: {}", sigma_id("EX-002#nonInteractive"))));
    }

    #[test]
    fn what_sigma_cannot_say_is_named() {
        let err = export(
            "id: EX-003\ntitle: t\nseverity: low\nmatch:\n  appliedConditionalAccessPolicies: { any: { result: failure } }\n",
        )
        .err()
        .unwrap();
        assert!(err.construct.contains("`any` over a list"), "{err}");
        assert!(err.to_string().contains("EX-003"));
        let err = export(
            "id: EX-004\ntitle: t\nseverity: low\nmatch:\n  createdDateTime: { gt: '2025-01-01T00:00:00Z' }\n",
        )
        .err()
        .unwrap();
        assert!(err.construct.contains("date-time"), "{err}");
        // `in: []` matches nothing; a Sigma field without a value is null,
        // which matches an absent field.
        for empty in ["in: []", "notIn: []"] {
            let err = export(&format!(
                "id: EX-005\ntitle: t\nseverity: low\nmatch:\n  clientAppUsed: {{ {empty} }}\n"
            ))
            .err()
            .unwrap_or_else(|| panic!("{empty} exported"));
            assert!(err.construct.contains("an empty list"), "{err}");
        }
        // Sigma's RE2 and tollgate's reader read `\b` differently.
        let err = export(
            "id: EX-006\ntitle: t\nseverity: low\nmatch:\n  userAgent: { matches: '(?-u:\\b)curl' }\n",
        )
        .err()
        .unwrap();
        assert!(err.construct.contains("word boundary"), "{err}");
    }

    /// `ne` with a field reference holds when both fields are present;
    /// patterns are written with their case rule in them.
    #[test]
    fn comparisons_keep_their_meaning() {
        let out = export(
            "id: EX-007\ntitle: t\nseverity: low\nlogs: [interactive]\nmatch:\n  homeTenantId: { ne: { field: resourceTenantId } }\n  userAgent: { matches: '^k\\d' }\n",
        )
        .unwrap();
        assert!(out.contains("\"HomeTenantId|exists\": true"), "{out}");
        assert!(out.contains("\"ResourceTenantId|exists\": true"), "{out}");
        assert!(
            out.contains("\"HomeTenantId|fieldref\": \"ResourceTenantId\""),
            "{out}"
        );
        assert!(
            out.contains("\"UserAgent|re\": \"\\\\A[Kk\\\\x{212A}][0-9"),
            "{out}"
        );
    }
}
