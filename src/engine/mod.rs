//! The engine: loads rule files through syntax → check → compile into a
//! [`RuleSet`], evaluates canonical records against it into
//! [`Finding`](crate::Finding)s,
//! and runs the rules' own tests.
//!
//! This is the library's front door; the command line is a thin shell over
//! it.

mod cases;
mod checked;
mod finding;
mod index;
mod loader;
mod rule_set;

pub use cases::TestOutcome;
pub use checked::{CheckedRules, Rejected};
pub use finding::{IDENTITY_FIELDS, fingerprint, render_message};
pub use loader::{BUILTIN_RULES, Declared, Loader, Validation};
pub use rule_set::{Projection, RuleSet, Waiting, waits_for};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    const RULE: &str = r#"
id: EX-001
title: Legacy IMAP sign-in
severity: high
match:
  clientAppUsed: IMAP4
  ipAddress: { cidr: [10.0.0.0/8, 192.0.2.1] }
"#;

    #[test]
    fn checked_rules_are_there_before_compiling() {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", RULE);
        let checked = loader.check();
        assert!(!checked.has_errors());
        assert_eq!(checked.rules().len(), 1);
        assert_eq!(checked.rules()[0].info.id.as_ref(), "EX-001");
        let set = checked.compile().unwrap_or_else(|_| unreachable!());
        assert_eq!(set.rules().len(), 1);
    }

    #[test]
    fn checked_rules_with_errors_do_not_compile() {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", "id: EX-002\ntitle: t\nseverity: high\n");
        let checked = loader.check();
        assert!(checked.has_errors());
        assert!(checked.rules().is_empty());
        let rejected = checked.compile().err().unwrap_or_else(|| unreachable!());
        assert_eq!(rejected.diagnostics[0].kind(), Some(Code::MissingKey));
    }

    const WAITING: &str = r#"
id: EX-003
title: Unexpected issuer
severity: medium
params:
  issuers: { type: list, required: true }
match:
  tokenIssuerType: ADFederationServices
  not:
    tokenIssuerName: $issuers
tests:
  - name: an issuer not listed
    expect: match
    params: { issuers: [sts.contoso.com] }
    record: { tokenIssuerType: ADFederationServices, tokenIssuerName: idp.example }
  - name: a listed issuer
    expect: no-match
    params: { issuers: sts.contoso.com }
    record: { tokenIssuerType: ADFederationServices, tokenIssuerName: sts.contoso.com }
  - name: no params given
    expect: match
    record: { tokenIssuerType: ADFederationServices, tokenIssuerName: idp.example }
"#;

    #[test]
    fn a_rule_with_an_unset_required_param_waits_and_its_cases_run_with_their_params() {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", WAITING);
        let set = loader
            .load()
            .unwrap_or_else(|r| panic!("{:?}", r.diagnostics));
        assert!(set.rules().is_empty() && set.infos().is_empty());
        assert_eq!(set.waiting().len(), 1);
        assert_eq!(set.waiting()[0].params, ["issuers"]);
        let outcomes = set.run_tests();
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes[0].passed() && outcomes[0].skipped.is_none());
        assert!(outcomes[0].matched);
        assert!(outcomes[1].passed() && !outcomes[1].matched);
        assert!(
            outcomes[2]
                .skipped
                .as_deref()
                .is_some_and(|s| s.contains("issuers"))
        );

        let mut loader = Loader::new();
        loader.add_source("rules.yaml", WAITING);
        loader.param("issuers", "sts.contoso.com");
        let set = loader
            .load()
            .unwrap_or_else(|r| panic!("{:?}", r.diagnostics));
        assert_eq!(set.rules().len(), 1);
        assert!(set.waiting().is_empty());
        assert!(set.run_tests().iter().all(TestOutcome::passed));
    }

    #[test]
    fn a_required_param_with_a_default_is_an_error() {
        let mut loader = Loader::new();
        loader.add_source(
            "rules.yaml",
            "id: EX-004\ntitle: t\nseverity: low\nparams:\n  apps: { type: list, required: true, default: [a] }\nmatch:\n  appId: $apps\n",
        );
        let rejected = loader.load().err().unwrap_or_else(|| unreachable!());
        assert_eq!(rejected.diagnostics[0].kind(), Some(Code::BadParam));
        assert!(
            rejected.diagnostics[0]
                .message
                .contains("required and has a default")
        );
    }
}
