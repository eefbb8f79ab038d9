//! The built-in rule pack: its own tests pass, it validates without a
//! warning, every rule is tested both ways and finds something in the
//! example logs, the pack keeps its layout, parameters change what rules
//! report the way their descriptions say, the detections a review asked
//! for report hand-made records, a Windows Hello for Business logon gets
//! nothing above low, and `rules/README.md` is the generated reference
//! page.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tollgate::Location;
use tollgate::engine::{Loader, RuleSet};
use tollgate::finding::Severity;
use tollgate::ingest;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built-in pack with parameters set (`(name, value)`, as `--param`).
fn pack(params: &[(&str, &str)]) -> RuleSet {
    let mut loader = Loader::new();
    loader.add_builtin();
    for (name, value) in params {
        loader.param(name, value);
    }
    common::loaded(loader)
}

#[test]
fn every_rule_test_passes() {
    let outcomes = pack(&[]).run_tests();
    assert!(!outcomes.is_empty());
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| {
            format!(
                "{} `{}` ({}:{}): expected {}, {}\n{}",
                o.rule_id,
                o.name,
                o.source,
                o.line,
                if o.expect_match {
                    "a match"
                } else {
                    "no match"
                },
                o.note.clone().unwrap_or_else(|| format!(
                    "got {}",
                    if o.matched { "a match" } else { "no match" }
                )),
                o.trace
            )
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn the_pack_validates_without_a_warning() {
    let mut loader = Loader::new();
    loader.add_builtin();
    let report = loader.validate();
    assert!(
        report.diagnostics.is_empty(),
        "{}",
        tollgate::diag::render(
            &report.diagnostics,
            &report.sources,
            tollgate::diag::ErrorFormat::Plain
        )
    );
}

#[test]
fn every_rule_has_a_match_and_a_near_miss_test() {
    let set = pack(&[]);
    let mut kinds: BTreeMap<String, BTreeSet<bool>> = set
        .infos()
        .iter()
        .map(|r| (r.id.to_string(), BTreeSet::new()))
        .collect();
    for outcome in set.run_tests() {
        kinds
            .entry(outcome.rule_id.clone())
            .or_default()
            .insert(outcome.expect_match);
    }
    let missing: Vec<String> = kinds
        .iter()
        .filter(|(_, k)| k.len() < 2)
        .map(|(id, k)| format!("{id} has tests expecting only {k:?}"))
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// The example logs' own tenant, as `examples/tollgate.yaml` sets it.
const EXAMPLE_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// The example logs, and the sign-ins of the detections they do not
/// exercise yet (tests/fixtures/pack/README.md says which is which).
fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        root().join("examples/logs"),
        root().join("tests/fixtures/pack"),
    ] {
        files.extend(
            std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("json" | "jsonl")
                    )
                }),
        );
    }
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn every_rule_finds_something_in_the_example_logs() {
    let set = pack(&[]);
    let files = example_files();
    // Through a run, so the window and sequence rules take part too.
    struct Ids(BTreeSet<String>);
    impl tollgate::Sink for Ids {
        fn finding(&mut self, f: &tollgate::Finding) -> std::io::Result<()> {
            self.0.insert(f.rule_id.to_string());
            Ok(())
        }
        fn notice(&mut self, notice: tollgate::Notice<'_>) {
            panic!("{}: {notice}", notice.level());
        }
    }
    let inputs = tollgate::Inputs::discover(&files).expect("inputs");
    let mut ids = Ids(BTreeSet::new());
    tollgate::Run::new(&set, tollgate::RunOptions::default())
        .run(&inputs, &mut ids)
        .expect("run");
    let found = ids.0;
    let silent: Vec<&str> = set
        .infos()
        .iter()
        .map(|r| r.id.as_ref())
        .filter(|id| !found.contains(*id))
        .collect();
    assert!(
        silent.is_empty(),
        "no finding in examples/logs or tests/fixtures/pack for {silent:?}; add a sign-in to examples/logs/generate.py and run it"
    );
}

/// The records of window and sequence rules wait for the end of the input
/// in a sort buffer, and past it in temporary files: a buffer so small
/// that nearly every record goes to a file decides exactly as one that
/// holds them all, on one thread or two.
#[test]
fn a_small_sort_buffer_decides_as_a_large_one() {
    let set = pack(&[]);
    let inputs = tollgate::Inputs::discover(&example_files()).expect("inputs");
    struct All(Vec<String>);
    impl tollgate::Sink for All {
        fn finding(&mut self, f: &tollgate::Finding) -> std::io::Result<()> {
            self.0.push(serde_json::to_string(f)?);
            Ok(())
        }
    }
    let run = |sort_buffer: usize, threads: usize| {
        let options = tollgate::RunOptions {
            sort_buffer,
            threads,
            ..tollgate::RunOptions::default()
        };
        let mut all = All(Vec::new());
        tollgate::Run::new(&set, options)
            .run(&inputs, &mut all)
            .expect("run");
        all.0
    };
    let base = run(usize::MAX, 1);
    let multi: BTreeSet<&str> = set.multi().iter().map(|r| r.info.id.as_ref()).collect();
    let from_many = base
        .iter()
        .filter(|f| {
            multi
                .iter()
                .any(|id| f.contains(&format!("\"ruleId\":\"{id}\"")))
        })
        .count();
    assert!(
        from_many >= multi.len(),
        "{from_many} findings of {multi:?}"
    );
    assert_eq!(base, run(1, 1));
    assert_eq!(base, run(1, 2));
    assert_eq!(base, run(4096, 2));
}

/// One rule a file, in a theme folder that matches the id's prefix; a
/// description, tags and references on every rule: Microsoft Learn (at
/// least one), and the Sentinel or SigmaHQ rule a detection follows.
#[test]
fn the_pack_keeps_its_layout() {
    let themes = [
        ("authentication", "TG-AUTH-"),
        ("conditional-access", "TG-CA-"),
        ("cross-tenant", "TG-XT-"),
        ("federation", "TG-FED-"),
        ("graph-activity", "TG-GA-"),
        ("legacy-auth", "TG-LEG-"),
        ("risk", "TG-RISK-"),
        ("service-principal", "TG-SP-"),
    ];
    let set = pack(&[]);
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for rule in set.infos() {
        *per_file.entry(rule.source.as_str()).or_default() += 1;
        let path = rule
            .source
            .strip_prefix("builtin:rules/")
            .unwrap_or_else(|| panic!("{} comes from {}", rule.id, rule.source));
        let (folder, file) = path.split_once('/').unwrap_or(("", path));
        let prefix = themes
            .iter()
            .find(|(f, _)| *f == folder)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("{path}: `{folder}` is not a theme folder"));
        assert!(rule.id.starts_with(prefix), "{} in {path}", rule.id);
        let stem = file.strip_suffix(".yaml").unwrap_or("");
        assert!(
            !stem.is_empty()
                && stem
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{path}: name rule files in kebab-case after what they flag"
        );
        assert!(
            !rule.description.trim().is_empty(),
            "{}: description",
            rule.id
        );
        assert!(!rule.tags.is_empty(), "{}: tags", rule.id);
        assert!(
            rule.references
                .iter()
                .any(|r| r.starts_with("https://learn.microsoft.com/")),
            "{}: no Microsoft Learn reference",
            rule.id
        );
        for reference in &rule.references {
            assert!(
                [
                    "https://learn.microsoft.com/",
                    "https://github.com/Azure/Azure-Sentinel/blob/master/",
                    "https://github.com/SigmaHQ/sigma/blob/master/",
                ]
                .iter()
                .any(|source| reference.starts_with(source)),
                "{}: {reference} is not Microsoft Learn, Sentinel or SigmaHQ",
                rule.id
            );
        }
    }
    for (file, n) in per_file {
        assert_eq!(n, 1, "{file} holds {n} rules");
    }
}

/// The ids of the rules that report a record (any shape), in rule order.
fn report(set: &RuleSet, record: serde_json::Value) -> Vec<String> {
    let record = ingest::normalize(record).expect("a record");
    let at = Location {
        path: "inline".into(),
        line: 1,
        record: 0,
    };
    let mut ids = Vec::new();
    set.evaluate(&record, &at, &mut |f| ids.push(f.rule_id.to_string()));
    ids
}

fn reports(set: &RuleSet, record: serde_json::Value, id: &str) -> bool {
    report(set, record).iter().any(|r| r == id)
}

// The rules' own tests run with the defaults; these run the same rules
// configured, as a tenant would.

#[test]
fn trusted_countries_turn_the_country_check_on() {
    let signin = |country: &str| {
        serde_json::json!({
            "isInteractive": true, "conditionalAccessStatus": "success",
            "status": {"errorCode": 0}, "location": {"countryOrRegion": country}
        })
    };
    let quiet = pack(&[]);
    assert!(
        !reports(&quiet, signin("BR"), "TG-RISK-008"),
        "the rule waits for the list"
    );
    assert!(!reports(&quiet, signin("BR"), "TG-RISK-002"));
    let set = pack(&[("trusted_countries", "US,gb")]);
    assert!(reports(&set, signin("BR"), "TG-RISK-008"));
    assert!(!reports(&set, signin("US"), "TG-RISK-008"));
    assert!(
        !reports(&set, signin("GB"), "TG-RISK-008"),
        "codes compare without case"
    );
    let no_country = serde_json::json!({"status": {"errorCode": 0}, "isInteractive": true});
    assert!(!reports(&set, no_country, "TG-RISK-008"));
}

#[test]
fn trusted_ranges_turn_the_address_check_on() {
    let signin = |ip: &str| {
        serde_json::json!({
            "isInteractive": true, "conditionalAccessStatus": "success",
            "status": {"errorCode": 0}, "ipAddress": ip
        })
    };
    assert!(!reports(&pack(&[]), signin("192.0.2.1"), "TG-RISK-009"));
    assert!(!reports(&pack(&[]), signin("192.0.2.1"), "TG-RISK-003"));
    let set = pack(&[("trusted_ranges", "198.51.100.0/24,2001:db8::/32")]);
    assert!(reports(&set, signin("192.0.2.1"), "TG-RISK-009"));
    assert!(!reports(&set, signin("198.51.100.7"), "TG-RISK-009"));
    assert!(!reports(&set, signin("2001:db8::7"), "TG-RISK-009"));
    assert!(
        !reports(&set, signin(""), "TG-RISK-009"),
        "no address, nothing to judge"
    );
}

#[test]
fn managed_identity_ranges_silence_known_addresses() {
    let mi = |ip: &str| {
        serde_json::json!({
            "signInEventTypes": ["managedIdentity"], "servicePrincipalId": "sp-1",
            "status": {"errorCode": 0}, "ipAddress": ip
        })
    };
    assert!(
        !reports(&pack(&[]), mi("20.1.2.3"), "TG-SP-002"),
        "waits for the ranges"
    );
    let set = pack(&[("managed_identity_ranges", "20.0.0.0/8")]);
    assert!(!reports(&set, mi("20.1.2.3"), "TG-SP-002"));
    assert!(reports(&set, mi("203.0.113.9"), "TG-SP-002"));
}

#[test]
fn tenant_lists_narrow_the_cross_tenant_rules() {
    let home = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let partner = "11111111-2222-3333-4444-555555555555";
    let stranger = "66666666-7777-8888-9999-000000000000";
    let guest_from = |tenant: &str| {
        serde_json::json!({
            "isInteractive": true, "status": {"errorCode": 0}, "userType": "guest",
            "crossTenantAccessType": "b2bCollaboration", "conditionalAccessStatus": "notApplied",
            "homeTenantId": tenant, "resourceTenantId": home,
            "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
        })
    };
    let everything = pack(&[]);
    assert!(
        !reports(&everything, guest_from(partner), "TG-XT-002"),
        "waits for home_tenants"
    );
    let home_only = pack(&[("home_tenants", home)]);
    assert!(reports(&home_only, guest_from(partner), "TG-XT-002"));
    let set = pack(&[("home_tenants", home), ("allowed_tenants", partner)]);
    assert!(!reports(&set, guest_from(partner), "TG-XT-002"));
    assert!(reports(&set, guest_from(stranger), "TG-XT-002"));
    // A guest in your Azure portal is reported whatever the partner list
    // says, once the rule knows which tenants are yours.
    assert!(reports(&set, guest_from(partner), "TG-XT-003"));
    assert!(
        !reports(&everything, guest_from(partner), "TG-XT-003"),
        "without home_tenants, a sign-in that names its resource tenant is not known to be inbound"
    );
    // One of your users in a partner's Azure portal is in your logs too,
    // with the same cross-tenant type: not reported.
    let outbound = serde_json::json!({
        "isInteractive": true, "status": {"errorCode": 0}, "userType": "guest",
        "crossTenantAccessType": "b2bCollaboration", "homeTenantId": home,
        "resourceTenantId": partner, "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
    });
    assert!(!reports(&set, outbound.clone(), "TG-XT-003"));
    assert!(!reports(&everything, outbound, "TG-XT-003"));
    // With home_tenants set, a foreign home tenant is enough, even where
    // an export leaves out the cross-tenant type and the user type.
    let bare = serde_json::json!({
        "isInteractive": true, "status": {"errorCode": 0},
        "homeTenantId": stranger, "resourceTenantId": home,
        "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013"
    });
    assert!(!reports(&everything, bare.clone(), "TG-XT-003"));
    assert!(reports(&set, bare, "TG-XT-003"));
}

#[test]
fn listed_issuers_and_apps_are_not_reported() {
    let federated = serde_json::json!({
        "isInteractive": true, "status": {"errorCode": 0},
        "tokenIssuerType": "ADFederationServices", "tokenIssuerName": "sts.contoso.com"
    });
    assert!(
        !reports(&pack(&[]), federated.clone(), "TG-FED-002"),
        "waits for the issuers"
    );
    let other = pack(&[("expected_token_issuers", "sts.fabrikam.com")]);
    assert!(reports(&other, federated.clone(), "TG-FED-002"));
    let set = pack(&[("expected_token_issuers", "STS.contoso.com")]);
    assert!(!reports(&set, federated, "TG-FED-002"));

    let secret = serde_json::json!({
        "signInEventTypes": ["servicePrincipal"], "servicePrincipalId": "sp-9",
        "appId": "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
        "clientCredentialType": "clientSecret", "status": {"errorCode": 0}
    });
    assert!(
        !reports(&pack(&[]), secret.clone(), "TG-SP-001"),
        "waits for the allowed apps"
    );
    let none = pack(&[("secret_allowed_apps", "none")]);
    assert!(reports(&none, secret.clone(), "TG-SP-001"));
    let set = pack(&[(
        "secret_allowed_apps",
        "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
    )]);
    assert!(!reports(&set, secret, "TG-SP-001"));
}

#[test]
fn listed_apps_may_add_credentials_and_read_mail() {
    let call = |method: &str, uri: &str| {
        serde_json::json!({
            "Type": "MicrosoftGraphActivityLogs", "RequestMethod": method,
            "RequestUri": uri, "ResponseStatusCode": "200",
            "AppId": "5d6e7f80-0000-4000-8000-000000000004",
            "ServicePrincipalId": "6e7f8091-0000-4000-8000-000000000004",
            "UserId": "", "ClientAuthMethod": "2"
        })
    };
    let secret = call(
        "POST",
        "https://graph.microsoft.com/v1.0/applications/9a8b7c6d-0000-4000-8000-000000000023/addPassword",
    );
    let mail = call(
        "GET",
        "https://graph.microsoft.com/v1.0/users/0b1c2d3e-0000-4000-8000-000000000090/messages",
    );
    let unset = pack(&[]);
    assert!(
        report(&unset, secret.clone()).is_empty(),
        "waits for the apps"
    );
    assert!(
        report(&unset, mail.clone()).is_empty(),
        "waits for the apps"
    );
    let everything = pack(&[
        ("credential_manager_apps", "none"),
        ("mail_reader_apps", "none"),
    ]);
    assert_eq!(report(&everything, secret.clone()), ["TG-GA-002"]);
    assert_eq!(report(&everything, mail.clone()), ["TG-GA-004"]);
    let listed = pack(&[
        (
            "credential_manager_apps",
            "5d6e7f80-0000-4000-8000-000000000004",
        ),
        ("mail_reader_apps", "5D6E7F80-0000-4000-8000-000000000004"),
    ]);
    assert!(report(&listed, secret).is_empty());
    assert!(
        report(&listed, mail.clone()).is_empty(),
        "ids compare without case"
    );
    // Another application reading the same mailbox is still reported.
    let mut other = mail;
    other["AppId"] = "5d6e7f80-0000-4000-8000-000000000005".into();
    assert_eq!(report(&listed, other), ["TG-GA-004"]);
}

#[test]
fn a_guest_from_a_watched_country_is_reported() {
    let guest = serde_json::json!({
        "isInteractive": true, "status": {"errorCode": 0}, "userType": "guest",
        "riskLevelDuringSignIn": "none", "location": {"countryOrRegion": "KP"}
    });
    assert!(!reports(&pack(&[]), guest.clone(), "TG-RISK-004"));
    assert!(reports(
        &pack(&[("guest_watched_countries", "KP")]),
        guest,
        "TG-RISK-004"
    ));
}

#[test]
fn a_foreign_home_tenant_makes_a_guest_once_home_tenants_is_set() {
    // Sign-in logs carry a guest's home address, not the #EXT# name, and
    // some exports leave out the user type.
    let guest = serde_json::json!({
        "isInteractive": true, "status": {"errorCode": 0},
        "userPrincipalName": "victor@fabrikam.com",
        "homeTenantId": "11111111-2222-3333-4444-555555555555",
        "resourceTenantId": EXAMPLE_TENANT, "riskLevelDuringSignIn": "high"
    });
    assert!(!reports(&pack(&[]), guest.clone(), "TG-RISK-004"));
    assert!(reports(
        &pack(&[("home_tenants", EXAMPLE_TENANT)]),
        guest,
        "TG-RISK-004"
    ));
}

/// The findings of the pack (defaults, and with the example tenant's
/// lists) for a record: `(rule id, severity, message)`.
fn findings(record: &serde_json::Value) -> Vec<(String, Severity, String)> {
    let mut all = Vec::new();
    for set in [
        pack(&[]),
        pack(&[
            ("home_tenants", EXAMPLE_TENANT),
            ("trusted_countries", "FR"),
            ("trusted_ranges", "203.0.113.0/24"),
        ]),
    ] {
        let normalized = ingest::normalize(record.clone()).expect("a record");
        let at = Location {
            path: "inline".into(),
            line: 1,
            record: 0,
        };
        set.evaluate(&normalized, &at, &mut |f| {
            all.push((f.rule_id.to_string(), f.severity, f.message.clone()))
        });
    }
    all
}

/// A Windows Hello for Business logon succeeds with Conditional Access
/// `notApplied` by design: no rule may call it medium or worse, in any
/// shape the logon can arrive in.
#[test]
fn a_windows_hello_for_business_logon_is_not_an_alert() {
    let graph = serde_json::json!({
        "id": "7a2d3c4e-0000-4000-8000-000000000201",
        "createdDateTime": "2025-04-02T07:58:12Z",
        "userPrincipalName": "alice@contoso.com", "userType": "member",
        "appId": "38aa3b87-a06d-4817-b275-7a316988d93b", "appDisplayName": "Windows Sign In",
        "resourceId": "00000002-0000-0000-c000-000000000000",
        "resourceDisplayName": "Windows Azure Active Directory",
        "clientAppUsed": "Mobile Apps and Desktop clients",
        "userAgent": "Windows-AzureAD-Authentication-Provider/1.0",
        "ipAddress": "203.0.113.11", "location": {"city": "Lyon", "countryOrRegion": "FR"},
        "isInteractive": true, "signInEventTypes": ["interactiveUser"],
        "conditionalAccessStatus": "notApplied",
        "authenticationRequirement": "singleFactorAuthentication",
        "authenticationMethodsUsed": ["Windows Hello for Business"],
        "authenticationDetails": [{"authenticationMethod": "Windows Hello for Business", "succeeded": true}],
        "deviceDetail": {"deviceId": "3f1a2b3c-0000-4000-8000-000000000001", "operatingSystem": "Windows10",
                         "trustType": "Azure AD joined", "isCompliant": true, "isManaged": true},
        "homeTenantId": EXAMPLE_TENANT, "resourceTenantId": EXAMPLE_TENANT,
        "crossTenantAccessType": "none", "isTenantRestricted": false,
        "tokenIssuerType": "AzureAD", "riskState": "none", "riskLevelDuringSignIn": "none",
        "riskLevelAggregated": "none", "riskEventTypes_v2": [],
        "status": {"errorCode": 0}, "appliedConditionalAccessPolicies": []
    });
    let log_analytics = serde_json::json!({
        "Type": "SigninLogs", "Id": "7a2d3c4e-0000-4000-8000-000000000202",
        "CreatedDateTime": "2025-04-02T07:58:12Z", "UserPrincipalName": "alice@contoso.com",
        "UserType": "Member", "AppId": "38aa3b87-a06d-4817-b275-7a316988d93b",
        "AppDisplayName": "Windows Sign In", "ResourceIdentity": "00000002-0000-0000-c000-000000000000",
        "IPAddress": "203.0.113.11", "Location": "FR", "IsInteractive": "True",
        "ConditionalAccessStatus": "notApplied",
        "AuthenticationRequirement": "singleFactorAuthentication", "ResultType": "0",
        "DeviceDetail": {"trustType": "Azure AD joined", "isCompliant": true},
        "RiskState": "none", "HomeTenantId": EXAMPLE_TENANT, "ResourceTenantId": EXAMPLE_TENANT
    });
    // The same logon without the app id (the admin center's CSV columns).
    let mut by_name = graph.clone();
    by_name.as_object_mut().unwrap().remove("appId");
    for record in [graph, log_analytics, by_name] {
        let loud: Vec<_> = findings(&record)
            .into_iter()
            .filter(|(_, severity, _)| *severity >= Severity::Medium)
            .collect();
        assert!(loud.is_empty(), "{loud:?} for {record}");
    }
}

/// One hand-made record per point of the pack review, and the rule that
/// must report it.
#[test]
fn each_reviewed_detection_reports_its_record() {
    let signin = |extra: serde_json::Value| {
        let mut record = serde_json::json!({
            "userPrincipalName": "ivan@contoso.com", "userType": "member",
            "ipAddress": "192.0.2.50", "isInteractive": true,
            "signInEventTypes": ["interactiveUser"], "status": {"errorCode": 0},
            "homeTenantId": EXAMPLE_TENANT, "resourceTenantId": EXAMPLE_TENANT,
            "crossTenantAccessType": "none", "tokenIssuerType": "AzureAD"
        });
        for (key, value) in extra.as_object().unwrap() {
            record[key] = value.clone();
        }
        record
    };
    let cases: Vec<(&str, serde_json::Value)> = vec![
        // Wrong
        (
            "TG-AUTH-013",
            signin(serde_json::json!({
            "signInEventTypes": ["interactiveUser", "nonInteractiveUser"],
            "authenticationMethodsUsed": ["FIDO2 security key"]})),
        ),
        (
            "TG-CA-003",
            signin(serde_json::json!({
            "appliedConditionalAccessPolicies": [
                {"displayName": "Require MFA (report-only)", "result": "reportOnlyInterrupted"}]})),
        ),
        (
            "TG-RISK-004",
            signin(serde_json::json!({
            "userType": "guest", "userPrincipalName": "victor@fabrikam.com",
            "homeTenantId": "11111111-2222-3333-4444-555555555555",
            "crossTenantAccessType": "b2bCollaboration", "riskLevelDuringSignIn": "medium"})),
        ),
        // Risky
        (
            "TG-AUTH-004",
            signin(serde_json::json!({
            "appId": "497effe9-df71-4043-a8bb-14cf78c4b63b", "appDisplayName": "Exchange Admin Center",
            "authenticationRequirement": "singleFactorAuthentication"})),
        ),
        (
            "TG-LEG-001",
            signin(serde_json::json!({"clientAppUsed": "IMAP"})),
        ),
        (
            "TG-LEG-001",
            signin(serde_json::json!({"clientAppUsed": "Outlook Service"})),
        ),
        // Missing
        (
            "TG-RISK-006",
            signin(serde_json::json!({"riskEventTypes_v2": ["passwordSpray"]})),
        ),
        (
            "TG-RISK-006",
            signin(serde_json::json!({"riskEventTypes_v2": ["investigationsThreatIntelligence"]})),
        ),
        (
            "TG-RISK-006",
            signin(serde_json::json!({"riskEventTypes_v2": ["suspiciousBrowser"]})),
        ),
        (
            "TG-RISK-006",
            signin(serde_json::json!({"riskEventTypes_v2": ["unfamiliarFeatures"]})),
        ),
        (
            "TG-AUTH-008",
            signin(serde_json::json!({"userAgent": "BAV2ROPC"})),
        ),
        (
            "TG-AUTH-008",
            signin(serde_json::json!({"userAgent": "CBAinPROD"})),
        ),
        (
            "TG-AUTH-008",
            signin(serde_json::json!({"userAgent": "CBAinTAR"})),
        ),
        (
            "TG-AUTH-009",
            signin(serde_json::json!({"userAgent": "azurehound/v2.1.7"})),
        ),
        (
            "TG-AUTH-010",
            signin(serde_json::json!({
            "resourceDisplayName": "Device Registration Service",
            "conditionalAccessStatus": "success",
            "authenticationRequirement": "singleFactorAuthentication"})),
        ),
        (
            "TG-AUTH-011",
            signin(serde_json::json!({"status": {"errorCode": 500121,
            "additionalDetails": "MFA denied; user did not respond to mobile app notification"}})),
        ),
        (
            "TG-AUTH-011",
            signin(serde_json::json!({"status": {"errorCode": 50158}})),
        ),
        (
            "TG-AUTH-011",
            signin(serde_json::json!({"status": {"errorCode": 50097}})),
        ),
        (
            "TG-AUTH-011",
            signin(serde_json::json!({"status": {"errorCode": 50155}})),
        ),
        (
            "TG-AUTH-012",
            signin(serde_json::json!({
            "appId": "1b730954-1685-4b74-9bfd-dac224a7b894",
            "resourceId": "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"})),
        ),
        (
            "TG-RISK-007",
            signin(serde_json::json!({
            "authenticationRequirement": "singleFactorAuthentication", "riskState": "atRisk",
            "deviceDetail": {"deviceId": "", "trustType": ""}})),
        ),
        (
            "TG-RISK-007",
            signin(serde_json::json!({
            "authenticationRequirement": "singleFactorAuthentication", "riskState": "atRisk",
            "deviceDetail": {"trustType": "Azure AD registered", "isCompliant": false}})),
        ),
    ];
    let mut cases = cases;
    for code in [530035, 530032, 53004, 53011, 500212, 500213] {
        cases.push((
            "TG-CA-004",
            signin(serde_json::json!({"status": {"errorCode": code}})),
        ));
    }
    let set = pack(&[]);
    let missed: Vec<String> = cases
        .into_iter()
        .filter(|(id, record)| !reports(&set, record.clone(), id))
        .map(|(id, record)| format!("{id} does not report {record}"))
        .collect();
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

#[test]
fn a_passthrough_into_a_restricted_tenant_reads_as_a_blocked_attempt() {
    let passthrough = serde_json::json!({
        "userPrincipalName": "ivan@contoso.com", "appDisplayName": "Office 365 SharePoint Online",
        "crossTenantAccessType": "passthrough", "isTenantRestricted": true,
        "resourceTenantId": "66666666-7777-8888-9999-000000000000",
        "status": {"errorCode": 0}
    });
    let found: Vec<_> = findings(&passthrough)
        .into_iter()
        .filter(|(id, _, _)| id == "TG-XT-001")
        .collect();
    assert!(!found.is_empty());
    for (_, severity, message) in found {
        assert!(severity <= Severity::Low, "{severity:?}");
        assert!(message.contains("gives no"), "{message}");
        assert!(!message.contains("reached"), "{message}");
    }
}

#[test]
fn cross_tenant_failures_do_not_read_as_sign_ins() {
    let failed = serde_json::json!({
        "userPrincipalName": "victor@fabrikam.com", "userType": "guest",
        "crossTenantAccessType": "b2bCollaboration",
        "homeTenantId": "11111111-2222-3333-4444-555555555555",
        "resourceTenantId": EXAMPLE_TENANT, "status": {"errorCode": 50126}
    });
    assert!(!reports(&pack(&[]), failed, "TG-XT-002"));
}

#[test]
fn no_conditional_access_names_only_causes_it_can_report() {
    // The rule requires a success, so an interrupted sign-in can never be
    // one of its findings: the description may mention interruptions only
    // as something it does not report.
    let set = pack(&[]);
    let rule = set
        .infos()
        .iter()
        .find(|r| &*r.id == "TG-CA-001")
        .expect("TG-CA-001");
    for paragraph in rule.description.split("\n\n") {
        if paragraph.contains("interrupt") {
            assert!(paragraph.contains("not reported"), "{paragraph}");
        }
    }
}

#[test]
fn the_rule_reference_is_generated() {
    let path = root().join("rules/README.md");
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = tollgate::report::rules_markdown(&pack(&[]));
    assert!(
        written == generated,
        "{} is not the generated reference page; regenerate it with\n    \
         cargo run -q -- rules --format markdown > rules/README.md",
        Path::new("rules/README.md").display()
    );
}
