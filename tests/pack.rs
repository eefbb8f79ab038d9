//! The built-in rule pack: its own tests pass, it validates without a
//! warning, every rule is tested both ways and finds something in the
//! example logs, the pack keeps its layout, parameters change what rules
//! report the way their descriptions say, and `rules/README.md` is the
//! generated reference page.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tollgate::engine::{Loader, RuleSet};
use tollgate::ingest::{self, Item};
use tollgate::record::Location;

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

#[test]
fn every_rule_finds_something_in_the_example_logs() {
    let set = pack(&[]);
    let dir = root().join("examples/logs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/logs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "jsonl")
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut found: BTreeSet<String> = BTreeSet::new();
    for path in &files {
        let reader = ingest::open(path, path.display().to_string().into()).expect("open");
        for item in reader {
            match item {
                Item::Record(record, location) => set.evaluate(&record, &location, &mut |f| {
                    found.insert(f.rule_id.to_string());
                }),
                Item::Unreadable(p) => panic!("{}:{}: unreadable: {}", p.path, p.line, p.reason),
            }
        }
    }
    let silent: Vec<&str> = set
        .infos()
        .iter()
        .map(|r| r.id.as_ref())
        .filter(|id| !found.contains(*id))
        .collect();
    assert!(
        silent.is_empty(),
        "no finding in examples/logs for {silent:?}; add a sign-in to examples/logs/generate.py and run it"
    );
}

/// One rule a file, in a theme folder that matches the id's prefix; a
/// description, tags and Microsoft Learn references on every rule.
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
        assert!(!rule.references.is_empty(), "{}: references", rule.id);
        for reference in &rule.references {
            assert!(
                reference.starts_with("https://learn.microsoft.com/"),
                "{}: {reference} is not Microsoft Learn",
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
        !reports(&quiet, signin("BR"), "TG-RISK-002"),
        "every country is trusted by default"
    );
    let set = pack(&[("trusted_countries", "US,gb")]);
    assert!(reports(&set, signin("BR"), "TG-RISK-002"));
    assert!(!reports(&set, signin("US"), "TG-RISK-002"));
    assert!(
        !reports(&set, signin("GB"), "TG-RISK-002"),
        "codes compare without case"
    );
    let no_country = serde_json::json!({"status": {"errorCode": 0}, "isInteractive": true});
    assert!(!reports(&set, no_country, "TG-RISK-002"));
}

#[test]
fn trusted_ranges_turn_the_address_check_on() {
    let signin = |ip: &str| {
        serde_json::json!({
            "isInteractive": true, "conditionalAccessStatus": "success",
            "status": {"errorCode": 0}, "ipAddress": ip
        })
    };
    assert!(!reports(&pack(&[]), signin("192.0.2.1"), "TG-RISK-003"));
    let set = pack(&[("trusted_ranges", "198.51.100.0/24,2001:db8::/32")]);
    assert!(reports(&set, signin("192.0.2.1"), "TG-RISK-003"));
    assert!(!reports(&set, signin("198.51.100.7"), "TG-RISK-003"));
    assert!(!reports(&set, signin("2001:db8::7"), "TG-RISK-003"));
    assert!(
        !reports(&set, signin(""), "TG-RISK-003"),
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
        reports(&pack(&[]), mi("20.1.2.3"), "TG-SP-002"),
        "fails closed by default"
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
    assert!(reports(&everything, guest_from(partner), "TG-XT-002"));
    let set = pack(&[("home_tenants", home), ("allowed_tenants", partner)]);
    assert!(!reports(&set, guest_from(partner), "TG-XT-002"));
    assert!(reports(&set, guest_from(stranger), "TG-XT-002"));
    // A guest in the Azure portal is reported whatever the lists say.
    assert!(reports(&set, guest_from(partner), "TG-XT-003"));
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
    assert!(reports(&pack(&[]), federated.clone(), "TG-FED-002"));
    let set = pack(&[("expected_token_issuers", "STS.contoso.com")]);
    assert!(!reports(&set, federated, "TG-FED-002"));

    let secret = serde_json::json!({
        "signInEventTypes": ["servicePrincipal"], "servicePrincipalId": "sp-9",
        "appId": "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
        "clientCredentialType": "clientSecret", "status": {"errorCode": 0}
    });
    assert!(reports(&pack(&[]), secret.clone(), "TG-SP-001"));
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
    let everything = pack(&[]);
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
