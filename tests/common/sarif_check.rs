//! What a GitHub code-scanning upload checks in a SARIF log, for the tests.
//!
//! 1. The log validates against the OASIS SARIF 2.1.0 schema
//!    (`schemas/sarif-schema-2.1.0.json`, a copy of the official schema).
//! 2. What code scanning needs beyond the schema: `tool.driver.name`, every
//!    result's `ruleId` among `tool.driver.rules`, a message text, and a first
//!    location with `physicalLocation.artifactLocation.uri` and
//!    `region.startLine`; every rule has `shortDescription`,
//!    `fullDescription` and `help` text and a numeric
//!    `properties.security-severity` string in (0, 10].
//!
//! The same checks as the `sarif-check` script CI runs beside the project,
//! written in Rust so `cargo test` needs nothing outside the repository.
//! Used by the unit tests of `src/report/sarif.rs` (through `#[path]`) and
//! by the integration tests (through `tests/common`).

use serde_json::Value;

/// The SARIF 2.1.0 schema kept in the repository.
const SCHEMA: &str = include_str!("../../schemas/sarif-schema-2.1.0.json");

/// Every problem code scanning would have with `log`; empty when it passes.
pub fn problems(log: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the SARIF schema is JSON");
    let validator = jsonschema::draft4::new(&schema).expect("the SARIF schema compiles");
    let mut out: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("schema: {}: {e}", e.instance_path()))
        .collect();
    let runs = log["runs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (r, run) in runs.iter().enumerate() {
        let driver = &run["tool"]["driver"];
        if !has_text(&driver["name"]) {
            out.push(format!("runs[{r}]: tool.driver.name is missing"));
        }
        let rules = driver["rules"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, rule) in rules.iter().enumerate() {
            let id = &rule["id"];
            for key in ["shortDescription", "fullDescription", "help"] {
                if !has_text(&rule[key]["text"]) {
                    out.push(format!(
                        "runs[{r}].rules[{i}] ({id}): {key}.text is missing"
                    ));
                }
            }
            let severity = rule["properties"]["security-severity"]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok());
            if !severity.is_some_and(|s| s > 0.0 && s <= 10.0) {
                out.push(format!(
                    "runs[{r}].rules[{i}] ({id}): properties.security-severity must be a number in (0, 10] written as a string"
                ));
            }
        }
        let results = run["results"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, result) in results.iter().enumerate() {
            let at = format!("runs[{r}].results[{j}]");
            if !rules.iter().any(|rule| rule["id"] == result["ruleId"]) {
                out.push(format!(
                    "{at}: ruleId {} is not in tool.driver.rules",
                    result["ruleId"]
                ));
            }
            if !has_text(&result["message"]["text"]) {
                out.push(format!("{at}: message.text is missing"));
            }
            let physical = &result["locations"][0]["physicalLocation"];
            if !has_text(&physical["artifactLocation"]["uri"]) {
                out.push(format!(
                    "{at}: first location has no physicalLocation.artifactLocation.uri"
                ));
            }
            if physical["region"]["startLine"]
                .as_u64()
                .is_none_or(|l| l == 0)
            {
                out.push(format!("{at}: first location has no region.startLine"));
            }
        }
    }
    out
}

/// Fails the test, listing every problem, unless code scanning would accept
/// `sarif`.
pub fn assert_accepted(sarif: &str) {
    let log: Value = serde_json::from_str(sarif).expect("SARIF output is JSON");
    let found = problems(&log);
    assert!(
        found.is_empty(),
        "code scanning would reject this SARIF:\n{}",
        found.join("\n")
    );
}

fn has_text(value: &Value) -> bool {
    value.as_str().is_some_and(|t| !t.is_empty())
}
