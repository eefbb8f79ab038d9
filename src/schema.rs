//! A JSON Schema of rule files, built from the catalog and the rule keys,
//! for editors: with the YAML language server, rule writers get completion
//! of keys, field names, operators and enum values as they type.
//!
//! The schema is a help for typing, not the judge: `tollgate validate` is
//! stricter (types per field, params, regexes, ranges) and has the spans.
//!
//! Also the field catalogs as `tollgate schema` prints them, for people
//! ([`catalog_text`]) and for tools ([`catalog_json`]).

use serde_json::{Value, json};

use crate::catalog;
use crate::check::{Op, RULE_KEYS};
use crate::record::LogCategory;

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "https://github.com/tollgate-rules/tollgate/schemas/rule.schema.json";

/// The JSON Schema (draft 2020-12) of one rule document.
pub fn rule_schema() -> Value {
    // Field names of every catalog: which names fit which `logs` is left to
    // `tollgate validate`.
    let mut seen = std::collections::HashSet::new();
    let fields: Vec<String> = catalog::CATALOGS
        .iter()
        .flat_map(|c| {
            catalog::walk_in(c.fields)
                .into_iter()
                .map(|(path, _)| path)
                .chain(aliases(c.fields))
        })
        .filter(|name| seen.insert(name.clone()))
        .collect();
    let operators: serde_json::Map<String, Value> = Op::ALL
        .iter()
        .map(|(name, op)| {
            let schema = match op {
                Op::Exists => json!({ "type": "boolean" }),
                Op::Cidr => {
                    json!({ "anyOf": [{ "$ref": "#/$defs/scalar" }, { "type": "array", "items": { "$ref": "#/$defs/scalar" } }] })
                }
                Op::Matches => json!({ "$ref": "#/$defs/scalar" }),
                Op::In | Op::NotIn | Op::Contains | Op::StartsWith | Op::EndsWith => {
                    json!({ "anyOf": [{ "$ref": "#/$defs/scalar" }, { "type": "array", "items": { "$ref": "#/$defs/scalar" } }, { "$ref": "#/$defs/fieldRef" }] })
                }
                _ => json!({ "anyOf": [{ "$ref": "#/$defs/scalar" }, { "$ref": "#/$defs/fieldRef" }] }),
            };
            (name.to_string(), schema)
        })
        .chain([
            ("caseSensitive".to_string(), json!({ "type": "boolean" })),
            ("any".to_string(), json!({ "$ref": "#/$defs/elementCondition" })),
            ("all".to_string(), json!({ "$ref": "#/$defs/elementCondition" })),
            ("none".to_string(), json!({ "$ref": "#/$defs/elementCondition" })),
        ])
        .collect();
    let severities = ["info", "low", "medium", "high", "critical"];
    let param_def = json!({
        "type": "object",
        "required": ["type"],
        "additionalProperties": false,
        "properties": {
            "type": { "enum": ["string", "int", "integer", "number", "bool", "boolean", "list"] },
            "default": {},
            "required": { "type": "boolean", "description": "With `true`, the param has no default and the rule waits (does not run) until a value is given." },
            "description": { "type": "string" }
        },
        "not": { "required": ["default", "required"], "properties": { "required": { "const": true } } }
    });
    let case_params = json!({
        "type": "object",
        "description": "Values of the rule's params for this case; a case of a rule that waits for a required param runs only when it gives it.",
        "additionalProperties": {
            "anyOf": [
                { "type": ["string", "number", "boolean"] },
                { "type": "array", "items": { "type": ["string", "number", "boolean"] } }
            ]
        }
    });
    let tests = test_cases_schema(&case_params);
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "tollgate rule",
        "description": "A tollgate rule over Microsoft Entra ID sign-in logs or Microsoft Graph activity. `tollgate validate` checks more than this schema can.",
        "type": "object",
        "required": ["id", "title", "severity"],
        "anyOf": [
            { "required": ["match"] },
            { "required": ["window"] },
            { "required": ["sequence"] }
        ],
        "not": { "required": ["window", "sequence"] },
        "additionalProperties": false,
        "propertyNames": { "enum": RULE_KEYS },
        "properties": {
            "id": { "type": "string", "pattern": "^[A-Za-z0-9._-]+$", "description": "Unique, stable rule id such as TG-CA-001." },
            "title": { "type": "string", "description": "What the rule finds, in one line." },
            "severity": { "enum": severities },
            "logs": { "type": "array", "items": { "enum": LogCategory::RULE_NAMES }, "description": "Logs the rule reads (default: all four sign-in logs); `graphActivity` cannot be mixed with the others." },
            "description": { "type": "string", "description": "Markdown for the person who gets the finding." },
            "references": { "type": "array", "items": { "type": "string" } },
            "tags": { "type": "array", "items": { "type": "string" } },
            "params": {
                "type": "object",
                "additionalProperties": param_def
            },
            "match": { "$ref": "#/$defs/condition" },
            "window": { "$ref": "#/$defs/window" },
            "sequence": { "$ref": "#/$defs/sequence" },
            "message": { "type": "string", "description": "Template; {field} is replaced by the record's value, `-` when absent. Windows and sequences: {count}, {window.duration}, {window.start}, {window.end}, {distinct.FIELD}, {STEP.FIELD}, {travel.kmh}, {travel.km} and group-key fields." },
            "tests": tests
        },
        "$defs": {
            "scalar": { "type": ["string", "number", "boolean"] },
            "fieldRef": {
                "type": "object",
                "description": "The value of another field of the same record (in a sequence step's `where`, `STEP.PATH` of an earlier step); both must be present.",
                "required": ["field"],
                "additionalProperties": false,
                "properties": { "field": { "type": "string" } }
            },
            "value": {
                "anyOf": [
                    { "$ref": "#/$defs/scalar" },
                    { "type": "array", "items": { "$ref": "#/$defs/scalar" } },
                    { "$ref": "#/$defs/fieldRef" },
                    { "$ref": "#/$defs/operators" }
                ]
            },
            "operators": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": false,
                "properties": operators
            },
            "condition": {
                "type": "object",
                "propertyNames": {
                    "anyOf": [
                        { "enum": ["all", "any", "not"] },
                        { "enum": fields },
                        { "pattern": "^raw\\." }
                    ]
                },
                "properties": {
                    "all": { "type": "array", "items": { "$ref": "#/$defs/condition" } },
                    "any": { "type": "array", "items": { "$ref": "#/$defs/condition" } },
                    "not": { "$ref": "#/$defs/condition" }
                },
                "additionalProperties": { "$ref": "#/$defs/value" }
            },
            "elementCondition": {
                "anyOf": [
                    { "type": "object", "additionalProperties": { "$ref": "#/$defs/value" } },
                    { "$ref": "#/$defs/value" }
                ]
            }
        }
    });
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        defs.extend(multi_record_defs());
    }
    schema
}

/// The schema of `tests:`.
fn test_cases_schema(case_params: &Value) -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": false,
            "oneOf": [
                { "required": ["record"], "not": { "required": ["records"] } },
                { "required": ["records"], "not": { "required": ["record"] } }
            ],
            "properties": {
                "name": { "type": "string" },
                "expect": { "enum": ["match", "no-match"] },
                "findings": { "type": "integer", "minimum": 0, "description": "Windows and sequences: how many findings the records give." },
                "log": { "enum": LogCategory::RULE_NAMES },
                "params": case_params,
                "record": { "type": "object" },
                "records": {
                    "type": "array",
                    "minItems": 1,
                    "description": "Windows and sequences: records, each with its time (`createdDateTime`, `timeGenerated` for Graph activity) and optionally its `log`.",
                    "items": {
                        "type": "object",
                        "properties": { "log": { "enum": LogCategory::RULE_NAMES } }
                    }
                }
            }
        }
    })
}

/// One comparison `{ OP: VALUE }`, OP among `ops`, VALUE the definition
/// named `value`.
fn comparison(ops: &[&str], value: &str) -> Value {
    let properties: serde_json::Map<String, Value> = ops
        .iter()
        .map(|op| {
            (
                op.to_string(),
                json!({ "$ref": format!("#/$defs/{value}") }),
            )
        })
        .collect();
    json!({
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": false,
        "properties": properties,
    })
}

/// The definitions of `window:` and `sequence:`.
fn multi_record_defs() -> serde_json::Map<String, Value> {
    let defs = json!({
            "duration": { "type": "string", "pattern": "^([0-9]+[smhd]|\\$\\{?[A-Za-z_][A-Za-z0-9_]*\\}?)$", "description": "A whole number and a unit: 30s, 20m, 1h, 2d." },
            "count": {
                "anyOf": [
                    { "type": "integer", "minimum": 0 },
                    { "type": "string", "pattern": "^\\$\\{?[A-Za-z_][A-Za-z0-9_]*\\}?$" }
                ]
            },
            "threshold": comparison(&["gt", "gte", "lt", "lte", "eq"], "count"),
            "measure": {
                "anyOf": [
                    { "type": "number", "minimum": 0 },
                    { "type": "string", "pattern": "^\\$\\{?[A-Za-z_][A-Za-z0-9_]*\\}?$" }
                ]
            },
            "bound": comparison(&["gt", "gte", "lt", "lte"], "measure"),
            "travel": {
                "type": "object",
                "description": "From each record of an earlier step to this step's record: the great-circle distance between their location.geoCoordinates (haversine, Earth radius 6371.0088 km) and that distance over the hours between them. A record without coordinates pairs with nothing.",
                "required": ["from"],
                "anyOf": [ { "required": ["kmh"] }, { "required": ["km"] } ],
                "additionalProperties": false,
                "properties": {
                    "from": { "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "description": "The earlier step, present, whose records this step's record is compared with." },
                    "kmh": { "$ref": "#/$defs/bound", "description": "Bound on the speed in km/h (infinite at the same instant, unless in the same place)." },
                    "km": { "$ref": "#/$defs/bound", "description": "Bound on the distance in km." }
                }
            },
            "keyFields": {
                "anyOf": [
                    { "type": "string" },
                    { "type": "array", "minItems": 1, "items": { "type": "string" } }
                ]
            },
            "window": {
                "type": "object",
                "description": "Counts and distinct values per group of records in a time span.",
                "required": ["span"],
                "additionalProperties": false,
                "properties": {
                    "groupBy": { "$ref": "#/$defs/keyFields" },
                    "span": { "$ref": "#/$defs/duration" },
                    "count": { "$ref": "#/$defs/threshold" },
                    "distinct": { "type": "object", "additionalProperties": { "$ref": "#/$defs/threshold" } },
                    "caseSensitive": { "type": "boolean" }
                }
            },
            "sequence": {
                "type": "object",
                "description": "Steps in order (or not), possibly in different logs, possibly absent.",
                "required": ["span", "steps"],
                "additionalProperties": false,
                "properties": {
                    "groupBy": { "$ref": "#/$defs/keyFields" },
                    "span": { "$ref": "#/$defs/duration" },
                    "ordered": { "type": "boolean" },
                    "caseSensitive": { "type": "boolean" },
                    "steps": { "type": "array", "minItems": 2, "items": { "$ref": "#/$defs/step" } }
                }
            },
            "step": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": false,
                "properties": {
                    "name": { "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
                    "logs": { "type": "array", "items": { "enum": LogCategory::RULE_NAMES } },
                    "by": { "$ref": "#/$defs/keyFields" },
                    "match": { "$ref": "#/$defs/condition" },
                    "count": { "$ref": "#/$defs/threshold" },
                    "absent": { "type": "boolean" },
                    "where": { "$ref": "#/$defs/condition" },
                    "travel": { "$ref": "#/$defs/travel" }
                }
            }
    });
    match defs {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// The other spellings rules accept: Log Analytics names (a top-level name
/// with its first letter upper-cased, and the explicit aliases) followed by
/// the rest of the path, and aliases that stand for a nested field alone
/// (`ResultType`, `Location`).
fn aliases(root: &'static [catalog::Field]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, field) in catalog::walk_in(root) {
        let (head, rest) = path
            .split_once('.')
            .map_or((path.as_str(), ""), |(h, r)| (h, r));
        let dotted = |name: &str| {
            if rest.is_empty() {
                name.to_string()
            } else {
                format!("{name}.{rest}")
            }
        };
        let mut upper = head.to_string();
        if let Some(first) = upper.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        out.push(dotted(&upper));
        if let Some(top) = catalog::find_field(root, head) {
            out.extend(top.aliases.iter().map(|a| dotted(a)));
        }
        if path.contains('.') {
            out.extend(field.aliases.iter().map(|a| a.to_string()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// How `tollgate schema` prints the field catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum CatalogFormat {
    /// For people.
    Text,
    /// As JSON.
    Json,
}

/// The field catalog printed in `format`.
pub fn field_catalog(format: CatalogFormat) -> Result<String, serde_json::Error> {
    Ok(match format {
        CatalogFormat::Text => catalog_text(),
        CatalogFormat::Json => serde_json::to_string_pretty(&catalog_json())? + "\n",
    })
}

/// Every catalog for people: a heading per catalog naming the logs it
/// serves, then one line per field with its type and description, its enum
/// values and aliases below it.
pub fn catalog_text() -> String {
    let mut text = String::new();
    for (i, c) in catalog::CATALOGS.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let logs: Vec<&str> = c.logs.iter().map(LogCategory::name).collect();
        text.push_str(&format!("{} (logs: {})\n\n", c.title, logs.join(", ")));
        for (path, f) in catalog::walk_in(c.fields) {
            text.push_str(&format!("{path:48} {:16} {}\n", f.type_name(), f.doc));
            if !f.values.is_empty() {
                text.push_str(&format!("{:48} values: {}\n", "", f.values.join(", ")));
            }
            if !f.aliases.is_empty() {
                text.push_str(&format!("{:48} aliases: {}\n", "", f.aliases.join(", ")));
            }
        }
    }
    text.push_str(&format!(
        "\nFields the catalog lacks are reached as `{}NAME` (record keys, any letter case, untyped).\n",
        catalog::RAW_PREFIX
    ));
    text
}

/// Every catalog for tools: one object per field, with the catalog it
/// belongs to under `log` (`signIn` for the four sign-in logs,
/// `graphActivity`).
pub fn catalog_json() -> Value {
    let items: Vec<Value> = catalog::CATALOGS
        .iter()
        .flat_map(|c| {
            catalog::walk_in(c.fields).into_iter().map(|(path, f)| {
                json!({
                    "log": c.name,
                    "field": path,
                    "type": f.type_name(),
                    "values": f.values,
                    "aliases": f.aliases,
                    "description": f.doc,
                })
            })
        })
        .collect();
    Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_schema_file_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/rule.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        let current = serde_json::to_string_pretty(&rule_schema()).unwrap_or_default() + "\n";
        assert!(
            committed == current,
            "schemas/rule.schema.json is stale: run `cargo run -- schema --rules-json-schema > schemas/rule.schema.json`"
        );
    }

    /// The schema's errors on each document of a rule file.
    fn schema_errors(text: &str) -> Vec<String> {
        let schema = rule_schema();
        let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{e}"));
        let (docs, diagnostics) = crate::syntax::parse(0, text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        docs.iter()
            .flat_map(|d| {
                validator
                    .iter_errors(&d.root.to_json())
                    .map(|e| format!("{}: {e}", e.instance_path()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Editors flag nothing in the built-in rules, and flag a `travel`
    /// written wrong as the checker does.
    #[test]
    fn the_schema_accepts_the_pack_and_checks_travel() {
        for (path, text) in crate::engine::BUILTIN_RULES {
            let errors = schema_errors(text);
            assert!(errors.is_empty(), "{path}: {errors:?}");
        }
        let rule = |travel: &str| {
            format!(
                "id: TR-1\ntitle: t\nseverity: low\nsequence:\n  groupBy: [userPrincipalName]\n  span: 1d\n  steps:\n    - name: here\n    - name: there\n      travel: {travel}\n"
            )
        };
        for ok in [
            "{ from: here, kmh: { gt: 900 }, km: { gte: 500 } }",
            "{ from: here, km: { gte: 500.5 } }",
            "{ from: here, kmh: { lte: $slow } }",
        ] {
            assert!(schema_errors(&rule(ok)).is_empty(), "{ok}");
        }
        for bad in [
            "{ kmh: { gt: 900 } }",
            "{ from: here }",
            "{ from: here, kmh: { eq: 900 } }",
            "{ from: here, kmh: { gt: -1 } }",
            "{ from: here, kmh: { gt: 900, lt: 1000 } }",
            "{ from: here, kmph: { gt: 900 } }",
        ] {
            assert!(!schema_errors(&rule(bad)).is_empty(), "{bad}");
        }
    }

    #[test]
    fn the_catalog_listing_has_both_catalogs() {
        let text = catalog_text();
        let sign_in = text.find("Sign-in logs (logs: interactive,");
        let graph = text.find("Microsoft Graph activity (logs: graphActivity)");
        assert!(
            sign_in.is_some_and(|s| graph.is_some_and(|g| s < g)),
            "{text}"
        );
        assert!(text.contains("responseStatusCode") && text.contains("status.errorCode"));
        let json = catalog_json();
        let logs_of = |field: &str| -> Vec<Value> {
            json.as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["field"] == field)
                .map(|f| f["log"].clone())
                .collect()
        };
        assert_eq!(logs_of("status.errorCode"), [json!("signIn")]);
        assert_eq!(logs_of("requestUri"), [json!("graphActivity")]);
        assert_eq!(
            logs_of("ipAddress"),
            [json!("signIn"), json!("graphActivity")]
        );
    }
}
