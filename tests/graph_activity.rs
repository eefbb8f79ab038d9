//! Microsoft Graph activity is its own log with its own catalog: rules that
//! read it name its fields, its records are read from Log Analytics rows and
//! diagnostic-settings records, and sign-in field names are mistakes there.

mod common;

use serde_json::{Value, json};
use tollgate::diag::Level;
use tollgate::engine::{Loader, RuleSet};
use tollgate::ingest::{self, Item};
use tollgate::{LogCategory, Record};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/rules/graph-activity.yaml"
);

fn rules() -> RuleSet {
    let mut loader = Loader::new();
    loader
        .add_path(std::path::Path::new(FIXTURE))
        .expect("fixture");
    common::loaded(loader)
}

/// A Log Analytics row of `MicrosoftGraphActivityLogs` (the `TenantId`
/// column is the workspace, `AadTenantId` the Entra tenant).
fn la_row() -> Value {
    json!({
        "TenantId": "9e0b4a4b-0000-4000-8000-00000000aaaa",
        "SourceSystem": "Azure AD",
        "TimeGenerated": "2025-03-02T09:00:01.5Z",
        "Type": "MicrosoftGraphActivityLogs",
        "AadTenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "RequestId": "a1a1a1a1-0000-4000-8000-000000000001",
        "OperationId": "a1a1a1a1-0000-4000-8000-000000000001",
        "ApiVersion": "v1.0",
        "RequestMethod": "POST",
        "RequestUri": "https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments",
        "ResponseStatusCode": 201,
        "ResponseSizeBytes": 512,
        "DurationMs": 180,
        "IPAddress": "198.51.100.7",
        "UserAgent": "python-requests/2.31",
        "AppId": "5d6e7f80-0000-4000-8000-000000000001",
        "ServicePrincipalId": "6e7f8091-0000-4000-8000-000000000001",
        "UserId": "",
        "SignInActivityId": "SIA-token-1",
        "Scopes": "",
        "Roles": "RoleManagement.ReadWrite.Directory Application.Read.All",
        "Wids": "0997a1d0-0d1d-4acb-b408-d5ca73121e90",
        "ClientAuthMethod": 2,
        "TokenIssuedAt": "2025-03-02T08:55:00Z",
        "Location": "West Europe",
    })
}

/// A diagnostic-settings record of category `MicrosoftGraphActivityLogs`.
fn diagnostic() -> Value {
    json!({
        "time": "2025-03-02T09:05:00.0000000Z",
        "resourceId": "/TENANTS/72F988BF-86F1-41AF-91AB-2D7CD011DB47/PROVIDERS/MICROSOFT.AADIAM",
        "operationName": "Microsoft Graph Activity",
        "operationVersion": "v1.0",
        "category": "MicrosoftGraphActivityLogs",
        "resultSignature": "204",
        "durationMs": 95,
        "callerIpAddress": "198.51.100.8",
        "level": "Informational",
        "location": "West Europe",
        "properties": {
            "timeGenerated": "2025-03-02T09:05:00.0000000Z",
            "requestId": "b2b2b2b2-0000-4000-8000-000000000002",
            "apiVersion": "v1.0",
            "requestMethod": "DELETE",
            "requestUri": "https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments/abc",
            "responseStatusCode": 204,
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "appId": "5d6e7f80-0000-4000-8000-000000000002",
            "servicePrincipalId": "6e7f8091-0000-4000-8000-000000000002",
            "userId": "",
            "signInActivityId": "SIA-token-2",
            "roles": "RoleManagement.ReadWrite.Directory",
            "scopes": "",
            "wids": "",
            "clientAuthMethod": 1,
            "userAgent": "PowerShell/7"
        }
    })
}

fn read(lines: &[Value]) -> Vec<Record> {
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    ingest::from_reader("inline".into(), Box::new(std::io::Cursor::new(text)))
        .map(|item| match item {
            Item::Record(r, _) => *r,
            Item::Unreadable(p) => panic!("{}: {}", p.line, p.reason),
            Item::NotSignIn(p) => panic!("{}: {}", p.line, p.reason),
        })
        .collect()
}

fn findings(set: &RuleSet, records: &[Record]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let at = tollgate::Location {
            path: "inline".into(),
            line: i as u64 + 1,
            record: i as u64,
        };
        set.evaluate(record, &at, &mut |f| {
            out.push((f.rule_id.to_string(), f.message.clone()))
        });
    }
    out
}

#[test]
fn the_fixture_rule_tests_pass() {
    let outcomes = rules().run_tests();
    assert_eq!(outcomes.len(), 3);
    for o in &outcomes {
        assert!(
            o.passed(),
            "{}: {}\n{}",
            o.name,
            o.note.as_deref().unwrap_or(""),
            o.trace
        );
    }
}

#[test]
fn graph_activity_records_are_read_against_their_own_catalog() {
    let records = read(&[la_row(), diagnostic()]);
    for r in &records {
        assert_eq!(r.log(), &LogCategory::GraphActivity);
    }
    let la = &records[0].to_json();
    assert_eq!(la["responseStatusCode"], 201);
    assert_eq!(la["clientAuthMethod"], 2);
    assert_eq!(
        la["roles"],
        json!(["RoleManagement.ReadWrite.Directory", "Application.Read.All"])
    );
    assert_eq!(la["scopes"], json!([]));
    assert_eq!(la["timeGenerated"], "2025-03-02T09:00:01.5000000Z");
    assert_eq!(la["tokenIssuedAt"], "2025-03-02T08:55:00.0000000Z");
    assert_eq!(la["location"], "West Europe");
    // The Entra tenant is `AadTenantId`; the workspace stays under its own name.
    assert_eq!(la["tenantId"], "72f988bf-86f1-41af-91ab-2d7cd011db47");
    assert_eq!(la["TenantId"], "9e0b4a4b-0000-4000-8000-00000000aaaa");
    let diag = &records[1].to_json();
    assert_eq!(diag["responseStatusCode"], 204);
    // The envelope fills in what `properties` lacks.
    assert_eq!(diag["ipAddress"], "198.51.100.8");
    assert_eq!(diag["durationMs"], 95);
    assert_eq!(diag["location"], "West Europe");
}

#[test]
fn a_graph_activity_rule_fires_on_log_analytics_and_diagnostic_records() {
    let set = rules();
    // A sign-in in the same stream is not read by the rule.
    let sign_in = json!({"Type": "SigninLogs", "ResultType": "0", "UserPrincipalName": "a@b.c"});
    let records = read(&[la_row(), sign_in, diagnostic()]);
    assert_eq!(records[1].log(), &LogCategory::Interactive);
    let got = findings(&set, &records);
    assert_eq!(
        got,
        vec![
            (
                "TG-TEST-GA-001".to_string(),
                "app 5d6e7f80-0000-4000-8000-000000000001 (service principal \
                 6e7f8091-0000-4000-8000-000000000001) called POST \
                 https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments \
                 from 198.51.100.7 with roles RoleManagement.ReadWrite.Directory, Application.Read.All"
                    .to_string()
            ),
            (
                "TG-TEST-GA-001".to_string(),
                "app 5d6e7f80-0000-4000-8000-000000000002 (service principal \
                 6e7f8091-0000-4000-8000-000000000002) called DELETE \
                 https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments/abc \
                 from 198.51.100.8 with roles RoleManagement.ReadWrite.Directory"
                    .to_string()
            ),
        ]
    );
    // In the built-in pack, the Graph activity rules are the TG-GA ones, and
    // the sign-in rules read no Graph activity.
    let mut loader = Loader::new();
    loader.add_builtin();
    let Ok(builtin) = loader.load() else {
        panic!("the built-in pack loads")
    };
    assert!(builtin.targets(&LogCategory::GraphActivity));
    for rule in builtin.infos() {
        assert_eq!(
            rule.logs.iter().any(|l| l == "graphActivity"),
            rule.id.starts_with("TG-GA-"),
            "{}: {:?}",
            rule.id,
            rule.logs
        );
    }
}

#[test]
fn a_record_that_names_no_log_is_graph_activity_by_its_keys() {
    let mut plain = diagnostic()["properties"].clone();
    plain["responseStatusCode"] = json!("201");
    let records = read(&[plain]);
    assert_eq!(records[0].log(), &LogCategory::GraphActivity);
    assert_eq!(records[0].to_json()["responseStatusCode"], 201);
}

/// The diagnostics of one rule text: (code, message, help).
fn diagnose(text: &str) -> Vec<(String, String, String)> {
    let mut loader = Loader::new();
    loader.add_source("rule.yaml", text);
    loader
        .validate()
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| {
            (
                d.code.to_string(),
                d.message.clone(),
                d.help.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn sign_in_field_names_are_unknown_in_graph_activity_rules() {
    let got = diagnose(
        "id: GA-X\ntitle: t\nseverity: low\nlogs: [graphActivity]\n\
         match:\n  servicePrincipalName: x\nmessage: \"{userPrincipalName}\"\n",
    );
    assert_eq!(
        got,
        vec![
            (
                "tollgate::unknown-field".to_string(),
                "unknown field `servicePrincipalName`".to_string(),
                "did you mean `servicePrincipalId`?".to_string()
            ),
            (
                "tollgate::unknown-field".to_string(),
                "message names unknown field `userPrincipalName`".to_string(),
                String::new()
            ),
        ]
    );
    // And Graph activity names are unknown in sign-in rules (the default).
    let got = diagnose("id: SI-X\ntitle: t\nseverity: low\nmatch:\n  requestUri: x\n");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "tollgate::unknown-field");
}

#[test]
fn a_rule_cannot_mix_graph_activity_and_sign_in_logs() {
    let got = diagnose(
        "id: MIX\ntitle: t\nseverity: low\nlogs: [interactive, graphActivity]\n\
         match:\n  ipAddress: 10.0.0.1\n",
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "tollgate::mixed-logs");
    assert!(got[0].2.contains("split it into two rules"), "{}", got[0].2);
}

#[test]
fn graph_calls_are_told_apart_by_their_request_id() {
    let set = rules();
    let mut second = la_row();
    second["RequestId"] = json!("a1a1a1a1-0000-4000-8000-000000000002");
    second["TimeGenerated"] = json!("2025-03-02T09:05:00Z");
    let records = read(&[la_row(), second]);
    let mut found = Vec::new();
    for record in &records {
        let at = tollgate::Location {
            path: "inline".into(),
            line: 1,
            record: 0,
        };
        set.evaluate(record, &at, &mut |f| found.push(f));
    }
    assert_eq!(found.len(), 2);
    let ids: Vec<Option<&str>> = found.iter().map(|f| f.sign_in.id.as_deref()).collect();
    assert_eq!(
        ids,
        [
            Some("a1a1a1a1-0000-4000-8000-000000000001"),
            Some("a1a1a1a1-0000-4000-8000-000000000002")
        ]
    );
    assert_eq!(
        found[1].sign_in.created_date_time.as_deref(),
        Some("2025-03-02T09:05:00.0000000Z")
    );
    assert_ne!(found[0].fingerprint, found[1].fingerprint);
}
