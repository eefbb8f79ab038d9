//! Multi-record rules (`window`, `sequence`) from rule text to rule set:
//! the contract's examples load, their checked form and matchers are there
//! for the multi-record engine, single-record evaluation skips them, their
//! test cases are reported as not run, and mistakes are reported with
//! their codes.

use serde_json::json;

use crate::check::model::{
    CountCmp, Piece, Shape, TICKS_PER_SECOND, TestInput, TravelPart, WindowPart,
};
use crate::compile::MultiSpec;
use crate::diag::{Code, Level};
use crate::engine::{Loader, RuleSet};
use crate::record::{Location, LogCategory};

const CONTRACT: &str = include_str!("../../../tests/fixtures/rules/multi-record.yaml");

fn load(text: &str) -> RuleSet {
    let mut loader = Loader::new();
    loader.add_source("rules.yaml", text);
    match loader.load() {
        Ok(set) => set,
        Err(rejected) => panic!(
            "{}",
            crate::diag::render(
                &rejected.diagnostics,
                &rejected.sources,
                crate::diag::ErrorFormat::Plain
            )
        ),
    }
}

/// The error codes of validating `text`, in order.
fn errors(text: &str) -> Vec<(Code, String)> {
    let mut loader = Loader::new();
    loader.add_source("rules.yaml", text);
    loader
        .validate()
        .diagnostics
        .into_iter()
        .filter(|d| d.level == Level::Error)
        .filter_map(|d| Some((d.kind()?, d.message.clone())))
        .collect()
}

fn codes(text: &str) -> Vec<Code> {
    errors(text).into_iter().map(|(c, _)| c).collect()
}

#[test]
fn the_contract_examples_check_without_a_mistake() {
    let mut loader = Loader::new();
    loader.add_source("multi-record.yaml", CONTRACT);
    let diagnostics = loader.validate().diagnostics;
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let checked = {
        let mut loader = Loader::new();
        loader.add_source("multi-record.yaml", CONTRACT);
        loader.check()
    };
    let shapes: Vec<&Shape> = checked.rules().iter().map(|r| &r.shape).collect();
    let Shape::Window(w) = shapes[0] else {
        panic!("{:?}", shapes[0])
    };
    assert_eq!(w.group_by[0].path.to_string(), "ipAddress");
    assert_eq!(w.span.ticks, 20 * 60 * TICKS_PER_SECOND);
    let count = w.count.as_ref().map(|c| (c.cmp, c.value));
    assert_eq!(count, Some((CountCmp::Gte, 10)));
    assert_eq!(w.distinct[0].0.path.to_string(), "userPrincipalName");
    assert!(!w.case_sensitive);
    let Shape::Sequence(bf) = shapes[1] else {
        panic!("{:?}", shapes[1])
    };
    assert!(bf.ordered);
    assert_eq!(bf.steps.len(), 2);
    assert_eq!(bf.steps[0].count.value, 10);
    assert_eq!(bf.steps[1].count.value, 1);
    assert!(
        bf.steps
            .iter()
            .all(|s| s.key[0].path.to_string() == "userPrincipalName")
    );
    let where_ = format!("{:?}", bf.steps[1].where_);
    assert!(where_.contains("step: Some(\"failures\")"), "{where_}");
    let Shape::Sequence(ga) = shapes[2] else {
        panic!("{:?}", shapes[2])
    };
    assert!(!ga.ordered && ga.group_by.is_none());
    assert_eq!(ga.steps[0].logs, [LogCategory::GraphActivity]);
    assert!(ga.steps[1].absent);
    assert_eq!(ga.steps[1].key[0].path.to_string(), "uniqueTokenIdentifier");
    // The window's message uses only what its findings have.
    let message = &checked.rules()[0].message;
    assert!(message.contains(&Piece::Count));
    assert!(message.contains(&Piece::Window(WindowPart::Duration)));
    assert!(message.iter().any(|p| matches!(p, Piece::Distinct(_))));
    assert!(
        message
            .iter()
            .any(|p| matches!(p, Piece::Key { index: 0, .. }))
    );
}

#[test]
fn the_rule_set_gives_the_engine_each_rule_and_its_matchers() {
    let set = load(CONTRACT);
    assert!(set.rules().is_empty());
    assert_eq!(set.infos().len(), 3);
    let multi = set.multi();
    assert_eq!(multi.len(), 3);
    assert!(matches!(multi[0].spec, MultiSpec::Window(_)));
    assert_eq!(multi[0].steps.len(), 1);
    let names: Vec<Option<&str>> = multi[1].steps.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, [Some("failures"), Some("success")]);
    // The `where` of `success` reads `failures` (step 0), pair by pair.
    let success_step = &multi[1].steps[1];
    assert_eq!(success_step.where_.len(), 1);
    assert_eq!(success_step.where_[0].0, 0);
    let at = |ip: &str, code: i64| {
        crate::ingest::normalize(json!({"status": {"errorCode": code}, "ipAddress": ip}))
            .expect("a record")
    };
    let (ok, failed, elsewhere) = (
        at("192.0.2.1", 0),
        at("192.0.2.1", 50126),
        at("192.0.2.9", 50126),
    );
    assert!(success_step.holds_with(0, &ok, &failed));
    assert!(!success_step.holds_with(0, &ok, &elsewhere));
    // It says nothing of other steps.
    assert!(success_step.holds_with(1, &ok, &elsewhere));
    assert!(multi[1].steps[0].where_.is_empty());
    let record = |v| crate::ingest::normalize(v).expect("a record");
    let failure = record(json!({"status": {"errorCode": 50126}, "isInteractive": true}));
    let success = record(json!({"status": {"errorCode": 0}, "isInteractive": true}));
    assert!(multi[0].steps[0].matcher.matches(&failure));
    assert!(!multi[0].steps[0].matcher.matches(&success));
    assert!(multi[1].steps[0].matcher.matches(&failure));
    assert!(multi[1].steps[1].matcher.matches(&success));
    // A step without `match` takes every record of its logs.
    let call = crate::ingest::normalize_as(
        json!({"requestUri": "https://graph.microsoft.com/v1.0/me", "requestMethod": "GET"}),
        &LogCategory::GraphActivity,
    )
    .expect("a record");
    assert!(multi[2].steps[0].matcher.matches(&call));
    assert!(!multi[2].steps[1].matcher.matches(&call));
    // Ingest keeps the fields the multi-record rules read.
    let projection = set.projection();
    for field in [
        "ipAddress",
        "userPrincipalName",
        "status",
        "signInActivityId",
        "uniqueTokenIdentifier",
    ] {
        assert!(projection.wants(field), "{field}");
    }
    assert!(set.targets(&LogCategory::GraphActivity));
}

#[test]
fn single_record_evaluation_skips_multi_record_rules() {
    let text = format!(
        "{CONTRACT}\n---\nid: ONE-001\ntitle: one\nseverity: low\nmatch: {{ status.errorCode: 50126 }}\n"
    );
    let set = load(&text);
    let record =
        crate::ingest::normalize(json!({"status": {"errorCode": 50126}, "ipAddress": "192.0.2.1"}))
            .expect("a record");
    let location = Location {
        path: "mem".into(),
        line: 1,
        record: 0,
    };
    let mut found = Vec::new();
    set.evaluate(&record, &location, &mut |f| {
        found.push(f.rule_id.to_string())
    });
    assert_eq!(found, ["ONE-001"]);
}

#[test]
fn multi_record_cases_run() {
    let text = r#"
id: SPRAY-T
title: spray
severity: high
match: { status.errorCode: 50126 }
window: { groupBy: [ipAddress], span: 20m, count: { gte: 2 } }
tests:
  - name: two failures
    expect: match
    records:
      - { createdDateTime: "2025-01-01T00:00:00Z", ipAddress: 192.0.2.1, status: { errorCode: 50126 } }
      - { createdDateTime: "2025-01-01T00:01:00Z", ipAddress: 192.0.2.1, status: { errorCode: 50126 }, log: nonInteractive }
  - name: counted
    findings: 0
    records: [ { createdDateTime: "2025-01-01T00:00:00Z", ipAddress: 192.0.2.1 } ]
"#;
    let set = load(text);
    let outcomes = set.run_tests();
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert!(!o.not_run && o.passed(), "{o:?}");
    }
    let TestInput::Records(records) = &set.multi()[0].tests[0].input else {
        panic!("records expected")
    };
    assert_eq!(records[1].log, Some(LogCategory::NonInteractive));
    assert!(records[1].record.get("log").is_none());
    // Both pass, so `validate` has nothing to say.
    let mut loader = Loader::new();
    loader.add_source("rules.yaml", text);
    let diagnostics = loader.validate().diagnostics;
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
}

#[test]
fn spans_and_thresholds_are_checked() {
    let window = |body: &str| {
        format!(
            "id: W-1\ntitle: t\nseverity: low\nmatch: {{ status.errorCode: 50126 }}\nwindow:\n{body}"
        )
    };
    for span in ["20", "20x", "m", "1.5h", "-5m", "0s"] {
        let e = errors(&window(&format!("  span: {span}\n  count: {{ gte: 1 }}\n")));
        assert_eq!(e[0].0, Code::BadDuration, "{span}: {e:?}");
    }
    for ok in ["30s", "20m", "1h", "2d"] {
        assert!(codes(&window(&format!("  span: {ok}\n  count: {{ gte: 1 }}\n"))).is_empty());
    }
    for threshold in [
        "{ gte: -1 }",
        "{ atLeast: 3 }",
        "5",
        "{ gte: 1, lte: 3 }",
        "{ gt: 2.5 }",
    ] {
        let e = codes(&window(&format!("  span: 1h\n  count: {threshold}\n")));
        assert_eq!(e, [Code::BadThreshold], "{threshold}");
    }
    assert_eq!(codes(&window("  span: 1h\n")), [Code::BadThreshold]);
    let e = errors(&window(
        "  groupBy: [ipAdress]\n  span: 1h\n  count: { gt: 1 }\n  distinct: { userPrincipalNam: { gte: 2 } }\n",
    ));
    assert_eq!(e.len(), 2);
    assert!(e.iter().all(|(c, _)| *c == Code::UnknownField), "{e:?}");
    assert_eq!(
        codes(&window(
            "  groupBy: [ipAddress]\n  spam: 1h\n  count: { gt: 1 }\n"
        )),
        [Code::MissingKey, Code::UnknownKey]
    );
}

#[test]
fn sequences_are_checked_step_by_step() {
    let seq = |steps: &str| {
        format!(
            "id: S-1\ntitle: t\nseverity: low\nsequence:\n  groupBy: [userPrincipalName]\n  span: 20m\n  steps:\n{steps}"
        )
    };
    let two = "    - name: a\n      match: { status.errorCode: 50126 }\n    - name: b\n      match: { status.errorCode: 0 }\n";
    assert!(codes(&seq(two)).is_empty());
    // A `where` reading a later step, itself, or an unknown one.
    let later = "    - name: a\n      where: { ipAddress: { eq: { field: b.ipAddress } } }\n    - name: b\n";
    assert_eq!(codes(&seq(later)), [Code::UnknownStep]);
    let itself = "    - name: a\n    - name: b\n      where: { ipAddress: { eq: { field: b.ipAddress } } }\n";
    assert_eq!(codes(&seq(itself)), [Code::UnknownStep]);
    let typo = "    - name: failures\n    - name: b\n      where: { ipAddress: { eq: { field: failurs.ipAddress } } }\n";
    let e = errors(&seq(typo));
    assert_eq!(e[0].0, Code::UnknownStep);
    let mut loader = Loader::new();
    loader.add_source("rules.yaml", &seq(typo));
    let d = loader.validate().diagnostics;
    assert!(
        d[0].help.as_deref().is_some_and(|h| h.contains("failures")),
        "{d:?}"
    );
    // Names.
    let dup = "    - name: a\n    - name: a\n";
    assert_eq!(codes(&seq(dup)), [Code::BadStep]);
    let bad = "    - name: 1a\n    - name: b\n";
    assert_eq!(codes(&seq(bad)), [Code::BadStep]);
    let unknown_key = "    - name: a\n      mach: { status.errorCode: 0 }\n    - name: b\n";
    assert_eq!(codes(&seq(unknown_key)), [Code::UnknownKey]);
    // Absent steps.
    let counted = "    - name: a\n    - name: b\n      absent: true\n      count: { gte: 3 }\n";
    assert_eq!(codes(&seq(counted)), [Code::BadStep]);
    let all_absent = "    - name: a\n      absent: true\n    - name: b\n      absent: true\n";
    assert_eq!(codes(&seq(all_absent)), [Code::BadStep]);
    let reads_absent = "    - name: a\n      absent: true\n    - name: b\n      where: { ipAddress: { eq: { field: a.ipAddress } } }\n";
    assert_eq!(codes(&seq(reads_absent)), [Code::UnknownStep]);
    // Step counts are least numbers of records.
    for count in ["{ lt: 3 }", "{ eq: 2 }", "{ gte: 0 }"] {
        let text = seq(&format!(
            "    - name: a\n      count: {count}\n    - name: b\n"
        ));
        assert_eq!(codes(&text), [Code::BadThreshold], "{count}");
    }
    assert!(
        codes(&seq(
            "    - name: a\n      count: { gt: 0 }\n    - name: b\n"
        ))
        .is_empty()
    );
    // Keys: every step needs one, of the same length and types.
    let keyless = "id: S-2\ntitle: t\nseverity: low\nsequence:\n  span: 1h\n  steps:\n    - name: a\n      by: [ipAddress]\n    - name: b\n";
    assert_eq!(codes(keyless), [Code::BadStep]);
    let lengths = "id: S-2\ntitle: t\nseverity: low\nsequence:\n  span: 1h\n  steps:\n    - name: a\n      by: [ipAddress, userId]\n    - name: b\n      by: [ipAddress]\n";
    assert_eq!(codes(lengths), [Code::BadStep]);
    let types = "id: S-2\ntitle: t\nseverity: low\nsequence:\n  span: 1h\n  steps:\n    - name: a\n      by: [ipAddress]\n    - name: b\n      by: [status.errorCode]\n";
    assert_eq!(codes(types), [Code::BadStep]);
    // Types across steps in a `where`.
    let mismatch = "    - name: a\n    - name: b\n      where: { userAgent: { eq: { field: a.status.errorCode } } }\n";
    assert_eq!(codes(&seq(mismatch)), [Code::TypeMismatch]);
    // One condition of a `where` reads one earlier step.
    let three = "    - name: a\n    - name: b\n    - name: c\n      where:\n        any:\n          - ipAddress: { eq: { field: a.ipAddress } }\n          - ipAddress: { eq: { field: b.ipAddress } }\n";
    assert_eq!(codes(&seq(three)), [Code::BadFieldRef]);
    let split = "    - name: a\n    - name: b\n    - name: c\n      where:\n        ipAddress: { eq: { field: a.ipAddress } }\n        userAgent: { eq: { field: b.userAgent } }\n";
    assert!(codes(&seq(split)).is_empty());
    // `groupBy` resolves in the logs of the steps, once per catalog.
    let graph = "id: S-3\ntitle: t\nseverity: low\nsequence:\n  groupBy: [requestUri]\n  span: 1h\n  steps:\n    - name: a\n      logs: [graphActivity]\n    - name: b\n      logs: [graphActivity]\n";
    assert!(codes(graph).is_empty(), "{:?}", errors(graph));
    let typo = "id: S-3\ntitle: t\nseverity: low\nsequence:\n  groupBy: [userPrincipalNam]\n  span: 1h\n  steps:\n    - name: a\n    - name: b\n";
    assert_eq!(codes(typo), [Code::UnknownField]);
    // Both kinds at once.
    let both = format!("{}window: {{ span: 1h, count: {{ gte: 1 }} }}\n", seq(two));
    assert_eq!(codes(&both), [Code::WindowAndSequence]);
}

#[test]
fn messages_of_multi_record_rules_use_what_findings_have() {
    let rule = |message: &str| {
        format!(
            "id: S-1\ntitle: t\nseverity: low\nsequence:\n  groupBy: [userPrincipalName]\n  span: 20m\n  steps:\n    - name: failures\n    - name: success\nmessage: \"{message}\"\n"
        )
    };
    assert!(codes(&rule("{userPrincipalName}: {count} in {window.duration} from {failures.ipAddress} {window.start} {window.end}")).is_empty());
    let e = errors(&rule("{ipAddress}"));
    assert_eq!(e[0].0, Code::MessageField);
    assert!(e[0].1.contains("cannot fill"), "{e:?}");
    assert_eq!(codes(&rule("{distinct.ipAddress}")), [Code::MessageField]);
    assert_eq!(codes(&rule("{failures.ipAdress}")), [Code::MessageField]);
    assert_eq!(codes(&rule("{window.begin}")), [Code::MessageField]);
}

#[test]
fn spans_and_thresholds_may_be_params() {
    let text = r#"
id: P-1
title: t
severity: low
params:
  failures: { type: int, default: 10 }
  window: { type: string, default: 20m }
match: { status.errorCode: 50126 }
window: { groupBy: [ipAddress], span: $window, count: { gte: $failures } }
"#;
    // The window's count and span, loaded with `params`.
    let window = |text: &str, params: &[(&str, &str)]| {
        let mut loader = Loader::new();
        for (name, value) in params {
            loader.param(name, value);
        }
        loader.add_source("rules.yaml", text);
        let set = loader.load().unwrap_or_else(|_| panic!("loads"));
        let MultiSpec::Window(w) = &set.multi()[0].spec else {
            panic!("a window")
        };
        (w.count.as_ref().map(|c| c.value), w.span.ticks)
    };
    assert_eq!(window(text, &[]), (Some(10), 20 * 60 * TICKS_PER_SECOND));
    assert_eq!(window(text, &[("failures", "25")]).0, Some(25));
    let wrong = text.replace("default: 20m", "default: soon");
    assert_eq!(codes(&wrong), [Code::BadDuration]);
    // A whole float counts when a param gives it (`--param failures=25`
    // reads as a number), not when the rule's text writes one.
    let written = text.replace("$failures", "10.0");
    assert_eq!(codes(&written), [Code::BadThreshold]);
    let number = text.replace("type: int", "type: number");
    assert_eq!(window(&number, &[("failures", "25")]).0, Some(25));
}

/// Why: a case's `params:` of a rule over many records were dropped, so
/// the case ran against the defaults while reading as if it did not.
#[test]
fn multi_record_cases_run_with_their_params() {
    let text = r#"
id: SPRAY-P
title: spray
severity: high
params:
  min: { type: number, default: 2 }
  span: { type: string, default: 20m }
match: { status.errorCode: 50126 }
window: { groupBy: [ipAddress], span: $span, count: { gte: $min } }
tests:
  - name: two failures a minute apart
    expect: match
    records:
      - { createdDateTime: "2025-01-01T00:00:00Z", ipAddress: 192.0.2.1, status: { errorCode: 50126 } }
      - { createdDateTime: "2025-01-01T00:01:00Z", ipAddress: 192.0.2.1, status: { errorCode: 50126 } }
  - name: three needed
    params: { min: 3 }
    expect: no-match
    records:
      - { createdDateTime: "2025-01-01T00:00:00Z", ipAddress: 192.0.2.1, status: { errorCode: 50126 } }
      - { createdDateTime: "2025-01-01T00:01:00Z", ipAddress: 192.0.2.1, status: { errorCode: 50126 } }
  - name: a span too short
    params: { span: 30s }
    expect: no-match
    records:
      - { createdDateTime: "2025-01-01T00:00:00Z", ipAddress: 192.0.2.1, status: { errorCode: 50126 } }
      - { createdDateTime: "2025-01-01T00:01:00Z", ipAddress: 192.0.2.1, status: { errorCode: 50126 } }
"#;
    let outcomes = load(text).run_tests();
    assert_eq!(outcomes.len(), 3);
    for o in &outcomes {
        assert!(!o.not_run && o.passed(), "{o:?}");
    }
}

/// Why: the pack declares its counts `type: number`, and a number given
/// with `--param` reads as a float; `--param min_failures=12` was refused
/// as "not a whole number".
#[test]
fn a_number_param_given_as_text_bounds_a_count() {
    let text = r#"
id: P-2
title: t
severity: low
params:
  failures: { type: number, default: 10 }
match: { status.errorCode: 50126 }
window: { groupBy: [ipAddress], span: 1h, count: { gte: $failures } }
"#;
    let with = |value: &str| {
        let mut loader = Loader::new();
        loader.param("failures", value);
        loader.add_source("rules.yaml", text);
        loader.load().map(|set| match &set.multi()[0].spec {
            MultiSpec::Window(w) => w.count.as_ref().map(|c| c.value),
            MultiSpec::Sequence(_) => None,
        })
    };
    assert_eq!(with("12").ok(), Some(Some(12)));
    assert_eq!(with("12.0").ok(), Some(Some(12)));
    assert!(with("12.5").is_err());
    assert!(with("-3").is_err());
}

/// A sequence of two successes whose second step travels, with `travel`
/// written as given.
fn travel_rule(travel: &str) -> String {
    format!(
        "id: TR-1\ntitle: t\nseverity: low\nlogs: [interactive]\nparams:\n  max_kmh: {{ type: number, default: 900 }}\nsequence:\n  groupBy: [userPrincipalName]\n  span: 1d\n  steps:\n    - name: here\n      match: {{ status.errorCode: 0 }}\n    - name: there\n      match: {{ status.errorCode: 0 }}\n      travel: {travel}\n"
    )
}

/// The help of the first error of validating `text`, of code `code`.
fn help_of(text: &str, code: Code) -> String {
    let mut loader = Loader::new();
    loader.add_source("rules.yaml", text);
    loader
        .validate()
        .diagnostics
        .into_iter()
        .find(|d| d.level == Level::Error && d.kind() == Some(code))
        .and_then(|d| d.help)
        .unwrap_or_default()
}

#[test]
fn travel_is_read_and_compiled() {
    let text = travel_rule("{ from: here, kmh: { gt: $max_kmh }, km: { gte: 500 } }");
    let set = load(&text);
    let rule = &set.multi()[0];
    let MultiSpec::Sequence(seq) = &rule.spec else {
        panic!("a sequence")
    };
    let travel = seq.steps[1].travel.as_ref().expect("travel");
    assert_eq!(travel.from, "here");
    let kmh = travel.kmh.as_ref().map(|b| (b.cmp, b.value));
    assert_eq!(kmh, Some((CountCmp::Gt, 900.0)));
    let km = travel.km.as_ref().map(|b| (b.cmp, b.value));
    assert_eq!(km, Some((CountCmp::Gte, 500.0)));
    assert!(seq.steps[0].travel.is_none());
    // Compiled: the index of the step travelled from.
    let compiled = rule.steps[1].travel.as_ref().map(|t| t.from);
    assert_eq!(compiled, Some(0));
    assert!(rule.steps[0].travel.is_none());
    // The bound may come from `--param`, fractions included.
    let mut loader = Loader::new();
    loader.param("max_kmh", "1000.5");
    loader.add_source("rules.yaml", &text);
    let set = loader.load().unwrap_or_else(|_| panic!("loads"));
    let MultiSpec::Sequence(seq) = &set.multi()[0].spec else {
        panic!("a sequence")
    };
    let kmh = seq.steps[1].travel.as_ref().and_then(|t| t.kmh.as_ref());
    assert_eq!(kmh.map(|b| b.value), Some(1000.5));
    // One bound is enough, either one.
    assert!(codes(&travel_rule("{ from: here, km: { gte: 1000 } }")).is_empty());
    assert!(codes(&travel_rule("{ from: here, kmh: { lte: 5.5 } }")).is_empty());
}

#[test]
fn travel_names_an_earlier_step_that_is_present() {
    let e = errors(&travel_rule("{ from: hree, kmh: { gt: 900 } }"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Code::UnknownStep);
    assert!(e[0].1.contains("unknown step `hree`"), "{e:?}");
    assert_eq!(
        help_of(
            &travel_rule("{ from: hree, kmh: { gt: 900 } }"),
            Code::UnknownStep
        ),
        "did you mean `here`?"
    );
    // Itself, or a step after it.
    let itself = errors(&travel_rule("{ from: there, kmh: { gt: 900 } }"));
    assert_eq!(itself[0].0, Code::UnknownStep);
    assert!(itself[0].1.contains("its own step"), "{itself:?}");
    let later = travel_rule("{ from: here, kmh: { gt: 900 } }").replace(
        "    - name: here\n      match: { status.errorCode: 0 }\n",
        "    - name: here\n      match: { status.errorCode: 0 }\n      travel: { from: there, kmh: { gt: 1 } }\n",
    );
    let e = errors(&later);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Code::UnknownStep);
    assert!(e[0].1.contains("comes after it"), "{e:?}");
    assert!(help_of(&later, Code::UnknownStep).contains("on step `there`"));
    // An absent step has no record to travel from, nor to.
    let from_absent = travel_rule("{ from: here, kmh: { gt: 900 } }").replace(
        "    - name: here\n",
        "    - name: here\n      absent: true\n",
    );
    let e = errors(&from_absent);
    assert!(
        e.iter()
            .any(|(c, m)| *c == Code::UnknownStep && m.contains("is absent")),
        "{e:?}"
    );
    let absent_travels = travel_rule("{ from: here, kmh: { gt: 900 } }")
        .replace("      travel:", "      absent: true\n      travel:");
    assert_eq!(codes(&absent_travels), [Code::BadStep]);
    // `from` must be there, and a name.
    let e = errors(&travel_rule("{ kmh: { gt: 900 } }"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Code::MissingKey);
    assert!(e[0].1.contains("no `from`"), "{e:?}");
    assert_eq!(
        codes(&travel_rule("{ from: [here], kmh: { gt: 900 } }")),
        [Code::WrongType]
    );
    assert_eq!(codes(&travel_rule("here")), [Code::WrongType]);
}

#[test]
fn travel_keys_and_bounds_are_checked() {
    // An unknown key, with the closest one.
    let text = travel_rule("{ from: here, kmph: { gt: 900 } }");
    let e = codes(&text);
    assert!(e.contains(&Code::UnknownKey), "{e:?}");
    assert_eq!(help_of(&text, Code::UnknownKey), "did you mean `kmh`?");
    // Without `kmh` or `km` (the misspelt key does not count).
    assert!(e.contains(&Code::MissingKey), "{e:?}");
    // Bounds: numbers of zero or more, with gt, gte, lt or lte.
    for bad in [
        "{ gt: fast }",
        "{ gt: -1 }",
        "{ gt: .nan }",
        "{ gt: .inf }",
        "{ gt: [900] }",
        "{ gt: 900, lt: 2000 }",
        "900",
        "{ above: 900 }",
        "{ eq: 900 }",
        "{ gt: $nothing }",
    ] {
        let e = codes(&travel_rule(&format!("{{ from: here, kmh: {bad} }}")));
        let want = if bad.contains("$nothing") {
            Code::UndefinedParam
        } else {
            Code::BadThreshold
        };
        assert_eq!(e, [want], "{bad}");
    }
    let e = errors(&travel_rule("{ from: here, km: { gt: fast } }"));
    assert!(e[0].1.contains("`gt` of `km` must be a number"), "{e:?}");
    assert!(
        help_of(
            &travel_rule("{ from: here, kmh: { eq: 900 } }"),
            Code::BadThreshold
        )
        .contains("never exactly"),
        "eq"
    );
    assert_eq!(
        help_of(
            &travel_rule("{ from: here, kmh: { gtee: 900 } }"),
            Code::BadThreshold
        ),
        "did you mean `gte`?"
    );
    // Text that reads as a number is a number, as in `count`.
    assert!(codes(&travel_rule("{ from: here, kmh: { gt: \"900\" } }")).is_empty());
    // A step named like the placeholder.
    let named =
        travel_rule("{ from: here, kmh: { gt: 900 } }").replace("name: here", "name: travel");
    assert!(codes(&named).contains(&Code::BadStep));
    // In a sequence where no step travels, `travel` is a name like any.
    let plain = named.replace("      travel: { from: here, kmh: { gt: 900 } }\n", "");
    assert!(!plain.contains("travel:"), "{plain}");
    assert!(codes(&plain).is_empty(), "{:?}", codes(&plain));
}

#[test]
fn travel_reads_sign_ins_with_coordinates() {
    let graph = "id: TR-2\ntitle: t\nseverity: low\nsequence:\n  span: 1h\n  steps:\n    - name: call\n      logs: [graphActivity]\n      by: [ipAddress]\n    - name: signIn\n      logs: [interactive]\n      by: [ipAddress]\n      travel: { from: call, kmh: { gt: 900 } }\n";
    let e = errors(graph);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Code::UnknownStep);
    assert!(e[0].1.contains("no coordinates"), "{e:?}");
    let to_graph = "id: TR-2\ntitle: t\nseverity: low\nsequence:\n  span: 1h\n  steps:\n    - name: signIn\n      logs: [interactive]\n      by: [ipAddress]\n    - name: call\n      logs: [graphActivity]\n      by: [ipAddress]\n      travel: { from: signIn, kmh: { gt: 900 } }\n";
    let e = errors(to_graph);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Code::BadStep);
    assert!(e[0].1.contains("no coordinates"), "{e:?}");
}

#[test]
fn travel_placeholders_name_the_one_step_that_travels() {
    let with = |message: &str| {
        format!(
            "{}message: \"{message}\"\n",
            travel_rule("{ from: here, kmh: { gt: 900 } }")
        )
    };
    let set = load(&with(
        "{userPrincipalName}: {travel.km} km at {travel.kmh} km/h",
    ));
    let message = &set.multi()[0].message;
    assert!(message.contains(&Piece::Travel(TravelPart::Km)));
    assert!(message.contains(&Piece::Travel(TravelPart::Kmh)));
    let e = errors(&with("{travel.speed}"));
    assert_eq!(e[0].0, Code::MessageField);
    assert!(e[0].1.contains("not a measure of travel"), "{e:?}");
    // No step travels.
    let plain = "id: S-1\ntitle: t\nseverity: low\nsequence:\n  groupBy: [userPrincipalName]\n  span: 20m\n  steps:\n    - name: a\n    - name: b\nmessage: \"{travel.kmh}\"\n";
    assert_eq!(codes(plain), [Code::MessageField]);
    // Two steps travel: which one?
    let three = "id: S-1\ntitle: t\nseverity: low\nsequence:\n  groupBy: [userPrincipalName]\n  span: 1d\n  steps:\n    - name: a\n    - name: b\n      travel: { from: a, km: { gte: 500 } }\n    - name: c\n      travel: { from: b, km: { gte: 500 } }\nmessage: \"{travel.kmh}\"\n";
    let e = errors(three);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].1.contains("`b` or `c`"), "{e:?}");
    // A window has none.
    let window = "id: W-1\ntitle: t\nseverity: low\nmatch: { status.errorCode: 0 }\nwindow: { groupBy: [userPrincipalName], span: 1h, count: { gte: 2 } }\nmessage: \"{travel.km}\"\n";
    assert_eq!(codes(window), [Code::MessageField]);
}
