//! Microsoft Sentinel scheduled analytics rules: the KQL query of a rule
//! in the YAML form of Microsoft's Sentinel repository, with a GUID derived
//! from the rule id, severity, schedule, trigger, tactics and techniques
//! from the rule's tags, and entity mappings for the account and IP
//! columns the query returns.

use std::fmt::Write as _;

use crate::check::{CheckedRule, Shape};
use crate::finding::Severity;

use super::{Unsupported, kql, rule_guid};

/// How often a rule runs; a multi-record rule looks back over its span
/// plus this.
const FREQUENCY_MINUTES: i64 = 60;

/// MITRE ATT&CK techniques (the ones rules tag) and their tactics, as
/// Sentinel names them.
const TECHNIQUE_TACTICS: &[(&str, &[&str])] = &[
    (
        "T1078",
        &[
            "DefenseEvasion",
            "Persistence",
            "PrivilegeEscalation",
            "InitialAccess",
        ],
    ),
    ("T1087", &["Discovery"]),
    ("T1090", &["CommandAndControl"]),
    ("T1098", &["Persistence", "PrivilegeEscalation"]),
    ("T1110", &["CredentialAccess"]),
    ("T1114", &["Collection"]),
    ("T1199", &["InitialAccess"]),
    ("T1484", &["DefenseEvasion", "PrivilegeEscalation"]),
    ("T1526", &["Discovery"]),
    ("T1528", &["CredentialAccess"]),
    ("T1550", &["DefenseEvasion", "LateralMovement"]),
    ("T1564", &["DefenseEvasion"]),
    ("T1566", &["InitialAccess"]),
    ("T1567", &["Exfiltration"]),
    ("T1606", &["CredentialAccess"]),
    ("T1621", &["CredentialAccess"]),
];

/// Tactics as tags may name them (`initial-access`, `TA0001`,
/// `attack.initial_access`), and Sentinel's name for each.
const TACTICS: &[(&str, &str, &str)] = &[
    ("reconnaissance", "TA0043", "Reconnaissance"),
    ("resource-development", "TA0042", "ResourceDevelopment"),
    ("initial-access", "TA0001", "InitialAccess"),
    ("execution", "TA0002", "Execution"),
    ("persistence", "TA0003", "Persistence"),
    ("privilege-escalation", "TA0004", "PrivilegeEscalation"),
    ("defense-evasion", "TA0005", "DefenseEvasion"),
    ("credential-access", "TA0006", "CredentialAccess"),
    ("discovery", "TA0007", "Discovery"),
    ("lateral-movement", "TA0008", "LateralMovement"),
    ("collection", "TA0009", "Collection"),
    ("command-and-control", "TA0011", "CommandAndControl"),
    ("exfiltration", "TA0010", "Exfiltration"),
    ("impact", "TA0040", "Impact"),
];

/// Sentinel's severity for a rule's.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Info => "Informational",
    }
}

/// Tactics and techniques a rule's tags name, in a stable order.
pub fn attack(tags: &[String]) -> (Vec<&'static str>, Vec<String>) {
    let mut tactics: Vec<&'static str> = Vec::new();
    let mut techniques: Vec<String> = Vec::new();
    for tag in tags {
        let t = tag.trim();
        let bare = t
            .strip_prefix("attack.")
            .unwrap_or(t)
            .to_ascii_lowercase()
            .replace('_', "-");
        if let Some((_, _, name)) = TACTICS
            .iter()
            .find(|(slug, id, _)| *slug == bare || id.eq_ignore_ascii_case(&bare))
        {
            tactics.push(name);
            continue;
        }
        let upper = bare.to_ascii_uppercase();
        let is_technique = upper.len() >= 5
            && upper.starts_with('T')
            && upper
                .get(1..5)
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
        if is_technique {
            let parent = upper.get(..5).unwrap_or_default().to_string();
            if let Some((_, names)) = TECHNIQUE_TACTICS.iter().find(|(id, _)| *id == parent) {
                tactics.extend(names.iter().copied());
            }
            techniques.push(upper);
        }
    }
    tactics.sort_unstable();
    tactics.dedup();
    techniques.sort();
    techniques.dedup();
    (tactics, techniques)
}

/// A YAML scalar: JSON's quoting is valid YAML.
fn scalar(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The Sentinel rule of one tollgate rule.
pub fn rule(rule: &CheckedRule) -> Result<String, Unsupported> {
    let query = kql::query(rule)?;
    let span_minutes = match &rule.shape {
        Shape::Single => 0,
        Shape::Window(w) => w.span.ticks / crate::check::TICKS_PER_SECOND / 60,
        Shape::Sequence(s) => s.span.ticks / crate::check::TICKS_PER_SECOND / 60,
    };
    let period = FREQUENCY_MINUTES + span_minutes;
    let (tactics, techniques) = attack(&rule.info.tags);
    let tables: Vec<&str> = rule.logs.iter().filter_map(kql::table_of).collect();
    let mut out = String::new();
    let _ = writeln!(out, "id: {}", rule_guid(&rule.info.id));
    let _ = writeln!(out, "name: {}", scalar(&rule.info.title));
    let description = if rule.info.description.trim().is_empty() {
        rule.info.title.to_string()
    } else {
        rule.info.description.trim().to_string()
    };
    let _ = writeln!(
        out,
        "description: {}",
        scalar(&format!("{description} (tollgate rule {})", rule.info.id))
    );
    let _ = writeln!(out, "severity: {}", severity(rule.info.severity));
    let _ = writeln!(out, "requiredDataConnectors:");
    let _ = writeln!(out, "  - connectorId: AzureActiveDirectory");
    let _ = writeln!(out, "    dataTypes:");
    for t in &tables {
        let _ = writeln!(out, "      - {t}");
    }
    let _ = writeln!(out, "queryFrequency: {}", duration(FREQUENCY_MINUTES));
    let _ = writeln!(out, "queryPeriod: {}", duration(period));
    let _ = writeln!(out, "triggerOperator: gt");
    let _ = writeln!(out, "triggerThreshold: 0");
    let _ = writeln!(out, "tactics:");
    if tactics.is_empty() {
        out.truncate(out.len() - "tactics:\n".len());
        let _ = writeln!(out, "tactics: []");
    }
    for t in &tactics {
        let _ = writeln!(out, "  - {t}");
    }
    if techniques.is_empty() {
        let _ = writeln!(out, "relevantTechniques: []");
    } else {
        let _ = writeln!(out, "relevantTechniques:");
        for t in &techniques {
            let _ = writeln!(out, "  - {t}");
        }
    }
    let _ = writeln!(out, "query: |");
    for line in query.lines() {
        let _ = writeln!(out, "  {line}");
    }
    // Entities on the columns the query returns, if it returns them (a
    // rule over many records returns its group's key fields).
    let columns = kql::columns(rule)?;
    let entities: Vec<(&str, &str, &str)> = [
        ("Account", "FullName", "userPrincipalName"),
        ("IP", "Address", "ipAddress"),
    ]
    .into_iter()
    .filter(|(_, _, column)| columns.iter().any(|c| c == column))
    .collect();
    if !entities.is_empty() {
        let _ = writeln!(out, "entityMappings:");
    }
    for (entity, identifier, column) in entities {
        let _ = writeln!(out, "  - entityType: {entity}");
        let _ = writeln!(out, "    fieldMappings:");
        let _ = writeln!(out, "      - identifier: {identifier}");
        let _ = writeln!(out, "        columnName: {column}");
    }
    let _ = writeln!(out, "version: 1.0.0");
    let _ = writeln!(out, "kind: Scheduled");
    Ok(out)
}

/// A duration as Sentinel writes it: `1h`, `90m`, `2d`.
fn duration(minutes: i64) -> String {
    if minutes % (24 * 60) == 0 {
        format!("{}d", minutes / (24 * 60))
    } else if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_tactics_and_techniques() {
        let tags: Vec<String> = ["T1110.003", "initial-access", "risk", "attack.t1078"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (tactics, techniques) = attack(&tags);
        assert_eq!(
            tactics,
            [
                "CredentialAccess",
                "DefenseEvasion",
                "InitialAccess",
                "Persistence",
                "PrivilegeEscalation"
            ]
        );
        assert_eq!(techniques, ["T1078", "T1110.003"]);
    }

    #[test]
    fn durations_read_as_sentinel_writes_them() {
        assert_eq!(duration(60), "1h");
        assert_eq!(duration(80), "80m");
        assert_eq!(duration(24 * 60), "1d");
    }
}
