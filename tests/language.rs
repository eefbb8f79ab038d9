//! The rule language, end to end through the library: every operator
//! matching and not matching, absent-field logic, aliases, params, case
//! rules, quantifiers and message templates.

use serde_json::{Value, json};
use tollgate::Location;
use tollgate::engine::{Loader, RuleSet};
use tollgate::finding::Finding;

fn rules(yaml: &str) -> RuleSet {
    rules_with(yaml, &[])
}

fn rules_with(yaml: &str, params: &[(&str, &str)]) -> RuleSet {
    let mut loader = Loader::new();
    for (k, v) in params {
        loader.param(k, v);
    }
    loader.add_source("test.yaml", yaml);
    match loader.load() {
        Ok(set) => set,
        Err(rejected) => panic!(
            "rules rejected:\n{}",
            tollgate::diag::render(
                &rejected.diagnostics,
                &rejected.sources,
                tollgate::diag::ErrorFormat::Plain
            )
        ),
    }
}

fn findings(set: &RuleSet, record: Value) -> Vec<Finding> {
    let record = tollgate::ingest::normalize(record).expect("record normalizes");
    let location = Location {
        path: "mem".into(),
        line: 1,
        record: 0,
    };
    let mut out = Vec::new();
    set.evaluate(&record, &location, &mut |f| out.push(f));
    out
}

/// A one-condition rule over all logs.
fn cond(condition: &str) -> RuleSet {
    rules(&format!(
        "id: T-1\ntitle: t\nseverity: low\nmatch:\n  {condition}\n"
    ))
}

fn hits(condition: &str, record: Value) -> bool {
    !findings(&cond(condition), record).is_empty()
}

#[test]
fn eq_scalar_shorthand_and_numbers_from_strings() {
    assert!(hits(
        "status.errorCode: 0",
        json!({"status": {"errorCode": 0}})
    ));
    assert!(!hits(
        "status.errorCode: 0",
        json!({"status": {"errorCode": 50126}})
    ));
    assert!(hits(
        "status.errorCode: { eq: \"50126\" }",
        json!({"status": {"errorCode": 50126}})
    ));
}

#[test]
fn ne_is_false_on_absent_fields() {
    assert!(hits(
        "clientAppUsed: { ne: Browser }",
        json!({"clientAppUsed": "IMAP4"})
    ));
    assert!(!hits(
        "clientAppUsed: { ne: Browser }",
        json!({"clientAppUsed": "browser"})
    ));
    assert!(!hits("clientAppUsed: { ne: Browser }", json!({})));
}

#[test]
fn in_and_list_shorthand() {
    assert!(hits(
        "clientAppUsed: [IMAP4, POP3]",
        json!({"clientAppUsed": "POP3"})
    ));
    assert!(hits(
        "clientAppUsed: { in: [IMAP4, POP3] }",
        json!({"clientAppUsed": "imap4"})
    ));
    assert!(!hits(
        "clientAppUsed: [IMAP4, POP3]",
        json!({"clientAppUsed": "Browser"})
    ));
}

#[test]
fn not_in_excludes_and_needs_a_value() {
    assert!(hits(
        "location.countryOrRegion: { notIn: [US, GB] }",
        json!({"location": {"countryOrRegion": "FR"}})
    ));
    assert!(!hits(
        "location.countryOrRegion: { notIn: [US, GB] }",
        json!({"location": {"countryOrRegion": "gb"}})
    ));
    assert!(!hits(
        "location.countryOrRegion: { notIn: [US, GB] }",
        json!({})
    ));
}

#[test]
fn contains_starts_and_ends_with_ignore_case() {
    assert!(hits(
        "userAgent: { contains: python }",
        json!({"userAgent": "Python-urllib/3.9"})
    ));
    assert!(!hits(
        "userAgent: { contains: python }",
        json!({"userAgent": "Mozilla/5.0"})
    ));
    assert!(hits(
        "userPrincipalName: { startsWith: ADM- }",
        json!({"userPrincipalName": "adm-bob@contoso.com"})
    ));
    assert!(!hits(
        "userPrincipalName: { startsWith: adm- }",
        json!({"userPrincipalName": "bob-adm-@contoso.com"})
    ));
    assert!(hits(
        "userPrincipalName: { endsWith: \"#EXT#@contoso.onmicrosoft.com\" }",
        json!({"userPrincipalName": "x_y.com#ext#@contoso.onmicrosoft.com"})
    ));
    assert!(!hits(
        "userPrincipalName: { endsWith: \"@contoso.com\" }",
        json!({"userPrincipalName": "a@contoso.com.evil"})
    ));
}

#[test]
fn case_sensitive_modifier() {
    let rule = "userAgent: { contains: Python, caseSensitive: true }";
    assert!(hits(rule, json!({"userAgent": "Python-urllib"})));
    assert!(!hits(rule, json!({"userAgent": "python-urllib"})));
}

#[test]
fn matches_is_a_regex() {
    assert!(hits(
        "userAgent: { matches: \"^curl/\\\\d+\" }",
        json!({"userAgent": "curl/8.1"})
    ));
    assert!(!hits(
        "userAgent: { matches: \"^curl/\\\\d+\" }",
        json!({"userAgent": "xcurl/8"})
    ));
}

#[test]
fn exists_true_and_false() {
    assert!(hits(
        "tokenIssuerName: { exists: true }",
        json!({"tokenIssuerName": "sts"})
    ));
    assert!(!hits("tokenIssuerName: { exists: true }", json!({})));
    assert!(hits("tokenIssuerName: { exists: false }", json!({})));
    assert!(hits(
        "tokenIssuerName: { exists: false }",
        json!({"tokenIssuerName": null})
    ));
    assert!(!hits(
        "tokenIssuerName: { exists: false }",
        json!({"tokenIssuerName": "sts"})
    ));
    // Log Analytics writes a missing text column as "": that is absent.
    for blank in ["", "  "] {
        assert!(hits(
            "tokenIssuerName: { exists: false }",
            json!({ "TokenIssuerName": blank, "Type": "SigninLogs" })
        ));
        assert!(!hits(
            "tokenIssuerName: { exists: true }",
            json!({ "tokenIssuerName": blank })
        ));
    }
}

#[test]
fn order_comparisons_on_numbers_and_times() {
    assert!(hits(
        "processingTimeInMilliseconds: { gt: 100 }",
        json!({"processingTimeInMilliseconds": 101})
    ));
    assert!(!hits(
        "processingTimeInMilliseconds: { gt: 100 }",
        json!({"processingTimeInMilliseconds": 100})
    ));
    assert!(hits(
        "processingTimeInMilliseconds: { gte: 100 }",
        json!({"processingTimeInMilliseconds": "100"})
    ));
    assert!(hits(
        "processingTimeInMilliseconds: { lt: 100 }",
        json!({"processingTimeInMilliseconds": 99})
    ));
    assert!(!hits(
        "processingTimeInMilliseconds: { lte: 100 }",
        json!({"processingTimeInMilliseconds": 101})
    ));
    assert!(!hits(
        "processingTimeInMilliseconds: { lt: 100 }",
        json!({})
    ));
    let after = "createdDateTime: { gte: \"2025-01-01\" }";
    assert!(hits(
        after,
        json!({"createdDateTime": "2025-01-01T00:00:00Z"})
    ));
    assert!(hits(
        after,
        json!({"createdDateTime": "2025-01-01T01:00:00+01:00"})
    ));
    assert!(!hits(
        after,
        json!({"createdDateTime": "2024-12-31T23:59:59.9Z"})
    ));
}

#[test]
fn cidr_ranges_v4_and_v6() {
    let rule = "ipAddress: { cidr: [10.0.0.0/8, \"2001:db8::/32\", 192.0.2.7] }";
    assert!(hits(rule, json!({"ipAddress": "10.20.30.40"})));
    assert!(hits(rule, json!({"ipAddress": "2001:db8::1"})));
    assert!(hits(rule, json!({"ipAddress": "192.0.2.7"})));
    assert!(!hits(rule, json!({"ipAddress": "192.0.2.8"})));
    assert!(!hits(rule, json!({"ipAddress": "not an address"})));
    assert!(!hits(rule, json!({})));
}

#[test]
fn quantifiers_over_lists_of_objects() {
    let any = "appliedConditionalAccessPolicies: { any: { result: failure } }";
    let failed =
        json!({"appliedConditionalAccessPolicies": [{"result": "success"}, {"result": "failure"}]});
    let passed = json!({"appliedConditionalAccessPolicies": [{"result": "success"}]});
    assert!(hits(any, failed.clone()));
    assert!(!hits(any, passed.clone()));
    let all = "appliedConditionalAccessPolicies: { all: { result: [success, notApplied] } }";
    assert!(hits(all, passed.clone()));
    assert!(!hits(all, failed.clone()));
    let none = "appliedConditionalAccessPolicies: { none: { result: failure } }";
    assert!(hits(none, passed));
    assert!(!hits(none, failed));
    // Absent lists: every quantifier is false (two-valued logic).
    assert!(!hits(any, json!({})));
    assert!(!hits(none, json!({})));
    // Empty lists: nothing satisfies `any`, everything vacuously `all`/`none`.
    assert!(!hits(any, json!({"appliedConditionalAccessPolicies": []})));
    assert!(hits(
        "appliedConditionalAccessPolicies: { none: { result: failure } }",
        json!({"appliedConditionalAccessPolicies": []})
    ));
}

#[test]
fn scalar_operators_on_lists_match_any_element() {
    assert!(hits(
        "signInEventTypes: nonInteractiveUser",
        json!({"signInEventTypes": ["interactiveUser", "nonInteractiveUser"]})
    ));
    assert!(!hits(
        "signInEventTypes: servicePrincipal",
        json!({"signInEventTypes": ["interactiveUser"]})
    ));
    assert!(hits(
        "appliedConditionalAccessPolicies.result: failure",
        json!({"appliedConditionalAccessPolicies": [{"result": "success"}, {"result": "failure"}]})
    ));
    assert!(hits(
        "signInEventTypes: { all: { ne: servicePrincipal } }",
        json!({"signInEventTypes": ["interactiveUser"]})
    ));
}

#[test]
fn not_of_an_absent_field_is_true() {
    let set = rules(
        "id: T-1\ntitle: t\nseverity: low\nmatch:\n  not:\n    crossTenantAccessType: passthrough\n",
    );
    assert_eq!(findings(&set, json!({})).len(), 1);
    assert_eq!(
        findings(&set, json!({"crossTenantAccessType": "passthrough"})).len(),
        0
    );
}

#[test]
fn any_all_not_nest() {
    let set = rules(
        "id: T-1\ntitle: t\nseverity: low\nmatch:\n  any:\n    - all:\n        - clientAppUsed: IMAP4\n        - status.errorCode: 0\n    - not:\n        any:\n          - isInteractive: true\n          - isInteractive: false\n",
    );
    assert_eq!(
        findings(
            &set,
            json!({"clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "isInteractive": true})
        )
        .len(),
        1
    );
    assert_eq!(
        findings(
            &set,
            json!({"clientAppUsed": "IMAP4", "status": {"errorCode": 1}, "isInteractive": true})
        )
        .len(),
        0
    );
    assert_eq!(
        findings(
            &set,
            json!({"clientAppUsed": "IMAP4", "status": {"errorCode": 1}})
        )
        .len(),
        1
    );
}

#[test]
fn log_analytics_aliases_resolve_to_canonical_fields() {
    for condition in [
        "ResultType: \"50126\"",
        "Status.errorCode: 50126",
        "status.errorCode: 50126",
    ] {
        assert!(
            hits(condition, json!({"status": {"errorCode": 50126}})),
            "{condition}"
        );
    }
    assert!(hits(
        "LocationDetails.countryOrRegion: FR",
        json!({"location": {"countryOrRegion": "FR"}})
    ));
    assert!(hits(
        "Location: FR",
        json!({"location": {"countryOrRegion": "FR"}})
    ));
    assert!(hits(
        "IPAddress: { cidr: 10.0.0.0/8 }",
        json!({"ipAddress": "10.0.0.1"})
    ));
    assert!(hits(
        "ConditionalAccessPolicies: { any: { result: failure } }",
        json!({"appliedConditionalAccessPolicies": [{"result": "failure"}]})
    ));
}

#[test]
fn raw_escape_hatch_reaches_uncatalogued_keys() {
    assert!(hits("raw.rngcStatus: 0", json!({"rngcStatus": 0})));
    assert!(hits(
        "raw.tokenProtectionStatusDetails.signInSessionStatus: unbound",
        json!({"tokenProtectionStatusDetails": {"signInSessionStatus": "unbound"}})
    ));
    assert!(!hits("raw.rngcStatus: 1", json!({"rngcStatus": 0})));
}

#[test]
fn params_from_defaults_and_from_the_command_line() {
    let yaml = "id: T-1\ntitle: t\nseverity: low\nparams:\n  trusted: { type: list, default: [US, GB] }\nmatch:\n  not:\n    location.countryOrRegion: { in: $trusted }\n";
    let fr = json!({"location": {"countryOrRegion": "FR"}});
    assert_eq!(findings(&rules(yaml), fr.clone()).len(), 1);
    let set = rules_with(yaml, &[("trusted", "FR,DE")]);
    assert_eq!(findings(&set, fr).len(), 0);
    assert_eq!(
        findings(&set, json!({"location": {"countryOrRegion": "US"}})).len(),
        1
    );
    // Repeating the flag appends.
    let set = rules_with(yaml, &[("trusted", "FR"), ("trusted", "US")]);
    assert_eq!(
        findings(&set, json!({"location": {"countryOrRegion": "US"}})).len(),
        0
    );
}

#[test]
fn dollar_dollar_is_a_literal_dollar() {
    assert!(hits(
        "userPrincipalName: { startsWith: \"$$svc\" }",
        json!({"userPrincipalName": "$svc-backup@contoso.com"})
    ));
}

#[test]
fn message_templates_fill_fields_and_dash_for_absent() {
    let set = rules(
        "id: T-1\ntitle: t\nseverity: low\nmatch: { status.errorCode: 0 }\nmessage: \"{userPrincipalName} from {ipAddress} in {location.countryOrRegion} {{literal}}\"\n",
    );
    let f = findings(
        &set,
        json!({"status": {"errorCode": 0}, "userPrincipalName": "a@b.c", "location": {"countryOrRegion": "US"}}),
    );
    assert_eq!(f[0].message, "a@b.c from - in US {literal}");
    // A field of many values: those not empty, joined; numbers as written.
    let set = rules(
        "id: T-1\ntitle: t\nseverity: low\nmatch: { status.errorCode: 0 }\nmessage: \"{appliedConditionalAccessPolicies.displayName} / {signInEventTypes} / {status.errorCode}\"\n",
    );
    let policies = json!([{"displayName": "A"}, {"displayName": ""}, {"displayName": "B"}, {}]);
    let f = findings(
        &set,
        json!({"status": {"errorCode": 0}, "appliedConditionalAccessPolicies": policies,
            "signInEventTypes": [""]}),
    );
    assert_eq!(f[0].message, "A, B / - / 0");
}

#[test]
fn evidence_names_the_deciding_conditions_and_values() {
    let set = rules(
        "id: T-1\ntitle: t\nseverity: low\nmatch:\n  all:\n    - status.errorCode: 0\n    - isInteractive: true\n  not:\n    crossTenantAccessType: passthrough\n",
    );
    let f = findings(
        &set,
        json!({"status": {"errorCode": 0}, "isInteractive": true}),
    );
    let evidence: Vec<(String, Value, bool)> = f[0]
        .evidence
        .iter()
        .map(|e| (e.condition.clone(), e.actual.clone(), e.outcome))
        .collect();
    assert_eq!(
        evidence,
        vec![
            ("status.errorCode eq 0".to_string(), json!(0), true),
            ("isInteractive eq true".to_string(), json!(true), true),
            (
                "crossTenantAccessType eq passthrough".to_string(),
                Value::Null,
                false
            ),
        ]
    );
}

#[test]
fn quantifier_evidence_points_at_the_element() {
    let set = cond("appliedConditionalAccessPolicies: { any: { result: failure } }");
    let f = findings(
        &set,
        json!({"appliedConditionalAccessPolicies": [{"result": "success"}, {"result": "failure"}]}),
    );
    assert_eq!(
        f[0].evidence[0].field,
        "appliedConditionalAccessPolicies[1].result"
    );
    assert_eq!(f[0].evidence[0].actual, json!("failure"));
}

#[test]
fn logs_restrict_rules_to_their_categories() {
    let set = rules(
        "id: T-1\ntitle: t\nseverity: low\nlogs: [nonInteractive]\nmatch: { status.errorCode: 0 }\n",
    );
    assert_eq!(
        findings(
            &set,
            json!({"status": {"errorCode": 0}, "isInteractive": true})
        )
        .len(),
        0
    );
    assert_eq!(
        findings(
            &set,
            json!({"status": {"errorCode": 0}, "isInteractive": false})
        )
        .len(),
        1
    );
    assert_eq!(findings(&set, json!({"status": {"errorCode": 0}, "signInEventTypes": ["nonInteractiveUser"], "isInteractive": true})).len(), 1);
}

#[test]
fn fingerprints_are_stable_and_depend_on_rule_and_sign_in() {
    let set = rules(
        "id: T-1\ntitle: t\nseverity: low\nmatch: { status.errorCode: 0 }\n---\nid: T-2\ntitle: t\nseverity: low\nmatch: { status.errorCode: 0 }\n",
    );
    let a = findings(&set, json!({"id": "x", "status": {"errorCode": 0}}));
    let b = findings(&set, json!({"status": {"errorCode": 0}, "id": "x"}));
    let c = findings(&set, json!({"id": "y", "status": {"errorCode": 0}}));
    assert_eq!(a[0].fingerprint, b[0].fingerprint);
    assert_ne!(a[0].fingerprint, a[1].fingerprint);
    assert_ne!(a[0].fingerprint, c[0].fingerprint);
    assert_eq!(a[0].fingerprint.len(), 32);
    // Fingerprints stay what they were: code scanning matches alerts by
    // them across runs and versions.
    assert_eq!(a[0].fingerprint, "32149ccc05c8a54426c6beee716c6a6f");
}

#[test]
fn the_projection_names_every_field_rules_and_findings_read() {
    let set = rules(
        "id: T-1\ntitle: t\nseverity: low\nmatch:\n  status.errorCode: 0\n  raw.RngcStatus: 1\n  appliedConditionalAccessPolicies: { any: { result: failure } }\nmessage: \"{location.city}\"\n",
    );
    let p = set.projection();
    for field in [
        "status",
        "appliedConditionalAccessPolicies",
        "location",
        "id",
        "createdDateTime",
        "userPrincipalName",
    ] {
        assert!(p.wants(field), "{field}");
    }
    assert!(!p.wants("deviceDetail"));
    assert!(p.wants_raw("rngcstatus"));
    assert!(!p.wants_raw("other"));
    // A list a quantifier walks is read as far as its elements' conditions
    // read it; one of a record's own lists, read whole, reads it all.
    let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let policies = "appliedConditionalAccessPolicies";
    assert!(p.paths.contains(&path(&[policies, "result"])));
    assert!(!p.paths.contains(&path(&[policies])));
    let whole = rules(
        "id: T-2\ntitle: t\nseverity: low\nmatch:\n  appliedConditionalAccessPolicies: { any: { raw.Extra: 1 } }\n",
    );
    assert!(whole.projection().paths.contains(&path(&[policies])));
    let nothing = rules(
        "id: T-3\ntitle: t\nseverity: low\nmatch:\n  appliedConditionalAccessPolicies: { any: { all: [] } }\n",
    );
    assert!(nothing.projection().paths.contains(&path(&[policies])));
}

#[test]
fn field_references_compare_two_fields_of_one_record() {
    let ne = "homeTenantId: { ne: { field: resourceTenantId } }";
    assert!(hits(
        ne,
        json!({"homeTenantId": "a", "resourceTenantId": "b"})
    ));
    // Text compares without case, as with constants.
    assert!(!hits(
        ne,
        json!({"homeTenantId": "A", "resourceTenantId": "a"})
    ));
    // Two-valued logic: absent, null or blank on either side is false.
    for record in [
        json!({"homeTenantId": "a"}),
        json!({"resourceTenantId": "a"}),
        json!({"homeTenantId": "a", "resourceTenantId": null}),
        json!({"homeTenantId": "a", "resourceTenantId": ""}),
    ] {
        assert!(!hits(ne, record.clone()), "{record}");
        assert!(
            hits(&format!("not: {{ {ne} }}"), record.clone()),
            "{record}"
        );
    }
    let eq = "homeTenantId: { field: resourceTenantId }";
    assert!(hits(
        eq,
        json!({"homeTenantId": "A", "resourceTenantId": "a"})
    ));
    let cs = "homeTenantId: { eq: { field: resourceTenantId }, caseSensitive: true }";
    assert!(!hits(
        cs,
        json!({"homeTenantId": "A", "resourceTenantId": "a"})
    ));
}

#[test]
fn field_references_order_text_tests_and_lists() {
    let later = "createdDateTime: { gt: { field: raw.lastSeen } }";
    assert!(hits(
        later,
        json!({"createdDateTime": "2025-01-02T00:00:00Z", "lastSeen": "2025-01-01T00:00:00.0000000Z"})
    ));
    assert!(hits(
        "userPrincipalName: { endsWith: { field: raw.domain } }",
        json!({"userPrincipalName": "a@Contoso.com", "domain": "contoso.COM"})
    ));
    // `in` against a list field; a path through a list is any element.
    let in_list = "userId: { in: { field: raw.owners } }";
    assert!(hits(
        in_list,
        json!({"userId": "u2", "owners": ["u1", "u2"]})
    ));
    assert!(!hits(
        in_list,
        json!({"userId": "u3", "owners": ["u1", "u2"]})
    ));
    let not_in = "userId: { notIn: { field: raw.owners } }";
    assert!(hits(
        not_in,
        json!({"userId": "u3", "owners": ["u1", "u2"]})
    ));
    assert!(!hits(not_in, json!({"userId": "u3", "owners": []})));
    assert!(hits(
        "appliedConditionalAccessPolicies.displayName: { eq: { field: appDisplayName } }",
        json!({"appDisplayName": "P2", "appliedConditionalAccessPolicies": [{"displayName": "P1"}, {"displayName": "p2"}]})
    ));
}

#[test]
fn field_reference_evidence_shows_both_values() {
    let set = cond("homeTenantId: { ne: { field: resourceTenantId } }");
    let found = findings(&set, json!({"homeTenantId": "a", "resourceTenantId": "b"}));
    assert_eq!(found.len(), 1);
    let e = &found[0].evidence[0];
    assert_eq!(e.condition, "homeTenantId ne {field: resourceTenantId}");
    assert_eq!(e.actual, json!("a"));
    assert_eq!(
        e.expected,
        json!({"field": "resourceTenantId", "value": "b"})
    );
    // The referenced field is read even when ingest parses only what rules
    // need.
    assert!(set.projection().wants("resourceTenantId"));
}

/// The errors (code and message) of validating a one-condition rule.
fn errors(condition: &str) -> Vec<String> {
    let mut loader = Loader::new();
    loader.add_source(
        "t.yaml",
        &format!("id: T-1\ntitle: t\nseverity: low\nmatch:\n  {condition}\n"),
    );
    loader
        .validate()
        .diagnostics
        .iter()
        .filter(|d| d.level == tollgate::diag::Level::Error)
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

/// Numbers compare as 64-bit floats, here as in KQL and Spark: a whole
/// number past 2^53 would equal its neighbours, so it is refused where it
/// would be compared as a number, and stays text where it is text.
#[test]
fn whole_numbers_past_2_pow_53_are_refused_as_numbers() {
    for refused in [
        "processingTimeInMilliseconds: 9007199254740993",
        "processingTimeInMilliseconds: -9007199254740993",
        "status.errorCode: { in: [0, 9007199254740993] }",
        "status.errorCode: { gt: '9007199254740993' }",
        "raw.size: { lte: 9007199254740993 }",
        "raw.size: 18014398509481984",
        "raw.size: '9007199254740993'",
        "raw.size: { in: ['1', '-9007199254740993'] }",
    ] {
        let e = errors(refused);
        assert!(
            e.len() == 1 && e[0].contains("type-mismatch") && e[0].contains("9007199254740992"),
            "{refused}: {e:?}"
        );
    }
    for fine in [
        "processingTimeInMilliseconds: 9007199254740992",
        "status.errorCode: { gt: -9007199254740992 }",
        "userPrincipalName: '9007199254740993'",
        "raw.size: { matches: '^9007199254740993$' }",
        "raw.size: { contains: 9007199254740993 }",
        "userAgent: { startsWith: 9007199254740993 }",
    ] {
        assert!(errors(fine).is_empty(), "{fine}: {:?}", errors(fine));
    }
    // As text, on a text field, such a value equals its own spelling.
    let text = cond("userPrincipalName: '9007199254740993'");
    assert!(!findings(&text, json!({"userPrincipalName": "9007199254740993"})).is_empty());
    assert!(findings(&text, json!({"userPrincipalName": "9007199254740992"})).is_empty());
}

#[test]
fn field_references_are_checked_like_constants() {
    let e = errors("homeTenantId: { ne: { field: resourceTenantI } }");
    assert!(
        e[0].contains("unknown-field") && e[0].contains("resourceTenantI"),
        "{e:?}"
    );
    let e = errors("status.errorCode: { eq: { field: userPrincipalName } }");
    assert!(
        e[0].contains("type-mismatch") && e[0].contains("integer") && e[0].contains("string"),
        "{e:?}"
    );
    let e = errors("userAgent: { matches: { field: appDisplayName } }");
    assert!(
        e[0].contains("bad-field-ref") && e[0].contains("compiled once"),
        "{e:?}"
    );
    let e = errors("ipAddress: { cidr: { field: raw.ranges } }");
    assert!(e[0].contains("bad-field-ref"), "{e:?}");
    let e = errors("ipAddress: { in: { field: appDisplayName } }");
    assert!(e[0].contains("bad-field-ref"), "{e:?}");
    let e = errors("createdDateTime: { gt: { field: status.errorCode } }");
    assert!(e[0].contains("type-mismatch"), "{e:?}");
    assert!(errors("ResultType: { eq: { field: raw.code } }").is_empty());
    assert!(errors("IPAddress: { eq: { field: LocationDetails.city } }").is_empty());
}

#[test]
fn the_field_reference_fixture_passes_its_tests() {
    let text = include_str!("fixtures/rules/field-references.yaml");
    let set = rules(text);
    let outcomes = set.run_tests();
    assert!(outcomes.len() >= 4);
    for o in &outcomes {
        assert!(o.passed(), "{} {}: {}", o.rule_id, o.name, o.trace);
    }
}
