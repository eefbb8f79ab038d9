//! The SARIF 2.1.0 objects tollgate writes, as serde types: the head of a
//! log (schema, tool, rules), results with their locations, fingerprints
//! and properties, and the tail (invocation, run properties). Field names
//! follow the SARIF specification; the emitter in the parent module fills
//! them and streams them out.

use serde::Serialize;

use crate::finding::{Evidence, Severity, SignIn};

#[derive(Serialize)]
pub(super) struct LogHead {
    #[serde(rename = "$schema")]
    pub(super) schema: &'static str,
    pub(super) version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RunHead {
    pub(super) tool: Tool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) original_uri_base_ids: Option<BaseIds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) automation_details: Option<AutomationDetails>,
}

#[derive(Serialize)]
pub(super) struct AutomationDetails {
    pub(super) id: String,
}

#[derive(Serialize)]
pub(super) struct BaseIds {
    #[serde(rename = "%SRCROOT%")]
    pub(super) srcroot: BaseUri,
}

#[derive(Serialize)]
pub(super) struct BaseUri {
    pub(super) uri: String,
}

#[derive(Serialize)]
pub(super) struct Tool {
    pub(super) driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Driver {
    pub(super) name: &'static str,
    pub(super) version: &'static str,
    pub(super) semantic_version: &'static str,
    pub(super) information_uri: &'static str,
    pub(super) rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReportingDescriptor {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) short_description: Text,
    pub(super) full_description: Text,
    pub(super) help: Help,
    pub(super) default_configuration: Configuration,
    pub(super) properties: RuleProperties,
}

#[derive(Serialize)]
pub(super) struct Text {
    pub(super) text: String,
}

#[derive(Serialize)]
pub(super) struct Help {
    pub(super) text: String,
    pub(super) markdown: String,
}

#[derive(Serialize)]
pub(super) struct Configuration {
    pub(super) level: &'static str,
}

#[derive(Serialize)]
pub(super) struct RuleProperties {
    pub(super) tags: Vec<String>,
    #[serde(rename = "security-severity")]
    pub(super) security_severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SarifResult<'a> {
    pub(super) rule_id: &'a str,
    pub(super) rule_index: usize,
    pub(super) level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) baseline_state: Option<&'static str>,
    pub(super) message: Message<'a>,
    pub(super) locations: [ResultLocation<'a>; 1],
    /// Window and sequence findings: the other contributing records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) related_locations: Vec<RelatedLocation>,
    pub(super) partial_fingerprints: Fingerprints<'a>,
    pub(super) properties: ResultProperties<'a>,
}

#[derive(Serialize)]
pub(super) struct Message<'a> {
    pub(super) text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResultLocation<'a> {
    pub(super) physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) logical_locations: Vec<LogicalLocation<'a>>,
}

/// Another record a finding rests on.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RelatedLocation {
    pub(super) id: u64,
    pub(super) physical_location: PhysicalLocation,
    pub(super) message: OwnedMessage,
}

#[derive(Serialize)]
pub(super) struct OwnedMessage {
    pub(super) text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PhysicalLocation {
    pub(super) artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) region: Option<Region>,
}

#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ArtifactLocation {
    pub(super) uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Region {
    pub(super) start_line: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LogicalLocation<'a> {
    pub(super) name: &'a str,
    pub(super) kind: &'static str,
    pub(super) fully_qualified_name: String,
}

#[derive(Serialize)]
pub(super) struct Fingerprints<'a> {
    // The version in the key changes if the way fingerprints are computed
    // does, so code scanning does not match old alerts with new ones.
    #[serde(rename = "tollgate/v1")]
    pub(super) v1: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResultProperties<'a> {
    pub(super) severity: Severity,
    pub(super) category: &'a str,
    pub(super) record: u64,
    pub(super) sign_in: &'a SignIn,
    pub(super) evidence: &'a [Evidence],
}

#[derive(Serialize)]
pub(super) struct RunTail<'a> {
    pub(super) invocations: [Invocation<'a>; 1],
    pub(super) properties: RunProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Invocation<'a> {
    pub(super) execution_successful: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(super) command_line: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) tool_execution_notifications: Vec<Notification<'a>>,
}

#[derive(Serialize)]
pub(super) struct Notification<'a> {
    pub(super) level: &'static str,
    pub(super) message: Message<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) locations: Vec<NotificationLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NotificationLocation {
    pub(super) physical_location: PhysicalLocation,
}

#[derive(Serialize)]
pub(super) struct RunProperties<'a> {
    pub(super) summary: Counts<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Counts<'a> {
    pub(super) records: u64,
    pub(super) evaluated: u64,
    pub(super) unreadable: u64,
    pub(super) untargeted: u64,
    pub(super) findings: u64,
    pub(super) files: usize,
    pub(super) skipped: usize,
    pub(super) rules: u64,
    pub(super) by_severity: &'a std::collections::BTreeMap<Severity, u64>,
    pub(super) by_rule: &'a std::collections::BTreeMap<String, u64>,
}
