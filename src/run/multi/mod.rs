//! Rules over many records in a run: the records that take part become
//! compact events on the worker threads (module `extract`), and the calling
//! thread feeds them to one window or sequence state per rule
//! ([`MultiRun`]), turning the episodes into findings.
//!
//! An event keeps, besides what the engine needs (time, tie key, group key,
//! distinct values, steps), a [`Detail`] for the finding: where the record
//! was read, its id and time text, only the top-level fields that the
//! rule's `where`, message, keys and a finding's identity read, and, when a
//! step travels, the record's coordinates.

mod episode;
mod extract;
mod kept;
mod lane;
mod progress;
mod replay;
mod spill;
mod state;
mod ticks;

pub use episode::MAX_RECORDS_LISTED;
pub(crate) use extract::extract_with;
pub use extract::{Detail, Part, Parts, Plan, extract};
pub use lane::{Overflow, holds_across};
pub use progress::explain_groups;
pub use spill::{SORT_BUFFER, spill_failed};
pub use state::{LATENESS, MultiError, MultiRun, Pushed};
pub use ticks::{format_duration, format_ticks, parse_ticks};

use crate::compile::MultiRule;
use crate::finding::Finding;
use crate::record::{Location, Record};
use crate::window::Limits;

/// Runs one rule over a few records (a `tests:` case): every record
/// through the same extraction and state as a run; gives the findings.
pub fn run_records(
    rule: &MultiRule,
    records: &[(Record, Location)],
) -> Result<(Vec<Finding>, u64), MultiError> {
    let rules = std::slice::from_ref(rule);
    let plans = Plan::for_rules(rules);
    let mut run = MultiRun::new(rules, Limits::default());
    for (record, location) in records {
        run.push(extract(rules, &plans, record, location), false)?;
    }
    let findings = run.finish()?.findings;
    Ok((findings, run.untimed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> crate::engine::RuleSet {
        let mut loader = crate::engine::Loader::new();
        loader.add_source("rules.yaml", text);
        loader.load().unwrap_or_else(|_| unreachable!())
    }

    /// The bytes a participating record costs a window rule: in the sort
    /// buffer while files are read, and, engine and detail, while the
    /// record is within a span in the replay. The README quotes both (run
    /// with `--nocapture`).
    #[test]
    fn memory_per_participating_record_is_small() {
        let text = r#"
id: SPRAY-MEM
title: spray
severity: high
match: { status.errorCode: 50126 }
window:
  groupBy: [ipAddress]
  span: 1d
  distinct: { userPrincipalName: { gte: 100000 } }
"#;
        let set = load(text);
        let rules = set.multi();
        let plans = Plan::for_rules(rules);
        let mut run = MultiRun::new(rules, Limits::default());
        let mut held = MultiRun::new(rules, Limits::default());
        let n = 20_000u64;
        for i in 0..n {
            let record = crate::ingest::normalize(serde_json::json!({
                "id": format!("00000000-0000-0000-0000-{i:012x}"),
                "createdDateTime": format!("2025-03-01T10:{:02}:{:02}.1234567Z", (i / 60) % 60, i % 60),
                "userPrincipalName": format!("user{i}@contoso.com"),
                "ipAddress": format!("203.0.113.{}", i % 50),
                "appDisplayName": "Office 365 Exchange Online",
                "correlationId": format!("5f8e2c1a-0000-4000-8000-{i:012x}"),
                "status": { "errorCode": 50126 },
            }))
            .unwrap_or_else(|_| unreachable!());
            let location = Location {
                path: "mem".into(),
                line: i + 1,
                record: i,
            };
            let parts = extract(rules, &plans, &record, &location);
            assert!(
                held.take(parts.clone(), false, &mut Pushed::default())
                    .is_ok()
            );
            assert!(run.push(parts, false).is_ok());
        }
        let sorting = run.retained_bytes() as u64 / n;
        println!("bytes per participating record in the sort buffer: {sorting}");
        assert!(sorting > 0 && sorting < 1024, "{sorting}");
        assert_eq!(run.spilled(), 0);
        let per = held.retained_bytes() as u64 / n;
        println!("bytes per participating record (engine and detail): {per}");
        assert!(per > 0 && per < 2048, "{per}");
    }

    /// A record keeps the fields of the rules it takes part in, and its
    /// coordinates only for a rule that travels: not those every rule of
    /// the run reads.
    #[test]
    fn a_record_keeps_what_its_own_rules_read() {
        let text = r#"
id: SPRAY-KEEP
title: spray
severity: high
match: { status.errorCode: 50126 }
window: { groupBy: [ipAddress], span: 20m, count: { gte: 100 } }
---
id: TRAVEL-KEEP
title: travel
severity: low
sequence:
  groupBy: [userPrincipalName]
  span: 1d
  steps:
    - name: here
      match: { status.errorCode: 0 }
    - name: there
      match: { status.errorCode: 0 }
      travel: { from: here, km: { gte: 500 } }
message: "{there.userAgent}"
"#;
        let set = load(text);
        let rules = set.multi();
        let plans = Plan::for_rules(rules);
        let record = |code: u64| {
            crate::ingest::normalize(serde_json::json!({
                "id": "00000000-0000-0000-0000-000000000001",
                "createdDateTime": "2025-03-01T10:00:00Z",
                "userPrincipalName": "a@contoso.com",
                "ipAddress": "203.0.113.7",
                "userAgent": "curl/8.0",
                "status": { "errorCode": code },
                "location": { "geoCoordinates": { "latitude": 51.5, "longitude": -0.12 } },
            }))
            .unwrap_or_else(|_| unreachable!())
        };
        let location = Location {
            path: "keep".into(),
            line: 1,
            record: 0,
        };
        let failure = extract(rules, &plans, &record(50126), &location);
        let [part] = failure.parts.as_slice() else {
            panic!("one part")
        };
        let fields = part.detail.kept.fields();
        assert!(fields.contains_key("ipAddress"));
        assert!(!fields.contains_key("userAgent"), "{fields:?}");
        assert_eq!(part.detail.kept.point(), None);
        let success = extract(rules, &plans, &record(0), &location);
        let [part] = success.parts.as_slice() else {
            panic!("one part")
        };
        assert!(part.detail.kept.fields().contains_key("userAgent"));
        let point = part.detail.kept.point().map(|p| (p.lat, p.lon));
        assert_eq!(point, Some((51.5, -0.12)));
    }

    /// The replay at the end of the input (sort buffer, temporary files,
    /// decisions every few records, details swept behind them) decides
    /// exactly as holding every record and deciding once: the pack's rules
    /// over the example logs and the pack's fixtures, shuffled, some
    /// records delivered twice.
    #[test]
    fn the_replay_decides_as_holding_everything() {
        let mut loader = crate::engine::Loader::new();
        loader.add_builtin();
        let set = loader.load().unwrap_or_else(|_| unreachable!());
        let rules = set.multi();
        let plans = Plan::for_rules(rules);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut records = Vec::new();
        for dir in ["examples/logs", "tests/fixtures/pack"] {
            let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap_or_else(|e| panic!("{dir}: {e}"))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("json" | "jsonl")
                    )
                })
                .collect();
            paths.sort();
            for path in paths {
                let display: std::sync::Arc<str> = path.display().to_string().into();
                let reader = crate::ingest::open(&path, display)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for item in reader {
                    if let crate::ingest::Item::Record(r, l) = item {
                        records.push((*r, l));
                    }
                }
            }
        }
        let again: Vec<_> = records.iter().step_by(7).cloned().collect();
        records.extend(again);
        let n = records.len();
        for i in 0..n {
            records.swap(i, (i * 7919 + 13) % n);
        }
        let parts: Vec<Parts> = records
            .iter()
            .map(|(r, l)| extract(rules, &plans, r, l))
            .filter(|p| !p.parts.is_empty())
            .collect();
        let render = |findings: Vec<Finding>| -> Vec<String> {
            findings
                .iter()
                .map(|f| serde_json::to_string(f).unwrap_or_default())
                .collect()
        };
        let mut held = MultiRun::new(rules, Limits::default());
        for p in &parts {
            assert!(held.take(p.clone(), false, &mut Pushed::default()).is_ok());
        }
        let mut decided = vec![Vec::new(); rules.len()];
        held.decide(None, &mut decided);
        let expected = render(decided.into_iter().flatten().collect());
        let fired: std::collections::BTreeSet<&str> = rules
            .iter()
            .map(|r| r.info.id.as_ref())
            .filter(|id| {
                expected
                    .iter()
                    .any(|f| f.contains(&format!("\"ruleId\":\"{id}\"")))
            })
            .collect();
        assert_eq!(fired.len(), rules.len(), "{fired:?}");
        assert!(held.repeated > 0);
        for (budget, threads) in [(usize::MAX, 1), (2048, 1), (1, 1), (usize::MAX, 2), (1, 3)] {
            let mut run = MultiRun::new(rules, Limits::default())
                .with_sort_buffer(budget)
                .with_threads(threads);
            for p in &parts {
                assert!(run.push(p.clone(), false).is_ok());
            }
            assert_eq!(run.spilled() > 0, budget < usize::MAX, "{budget}");
            let got = run.finish().map(|p| render(p.findings));
            assert_eq!(
                got.ok().as_ref(),
                Some(&expected),
                "sort buffer of {budget} bytes, {threads} threads"
            );
            assert_eq!(run.repeated, held.repeated);
        }
    }

    fn spray_set() -> crate::engine::RuleSet {
        let text = r#"
id: SPRAY-LIMIT
title: spray
severity: high
match: { status.errorCode: 50126 }
window: { groupBy: [ipAddress], span: 20m, count: { gte: 100 } }
"#;
        load(text)
    }

    fn failure(i: u64, time: Option<&str>) -> (Record, Location) {
        let mut json = serde_json::json!({
            "id": format!("00000000-0000-0000-0000-{i:012x}"),
            "userPrincipalName": format!("user{i}@contoso.com"),
            "ipAddress": "203.0.113.7",
            "status": { "errorCode": 50126 },
        });
        if let (Some(t), Some(o)) = (time, json.as_object_mut()) {
            o.insert("createdDateTime".into(), t.into());
        }
        let record = crate::ingest::normalize(json).unwrap_or_else(|_| unreachable!());
        let location = Location {
            path: "mem".into(),
            line: i + 1,
            record: i,
        };
        (record, location)
    }

    #[test]
    fn past_the_limit_the_run_stops_naming_the_rule() {
        let set = spray_set();
        let rules = set.multi();
        let plans = Plan::for_rules(rules);
        let limits = Limits {
            max_retained: 3,
            ..Limits::default()
        };
        let mut run = MultiRun::new(rules, limits);
        for i in 0..4 {
            let (r, l) = failure(i, Some("2025-03-01T10:00:00Z"));
            assert!(run.push(extract(rules, &plans, &r, &l), false).is_ok());
        }
        let rule = match run.finish() {
            Err(MultiError::Limit(o)) => o.rule_id,
            other => panic!("{other:?}"),
        };
        assert_eq!(rule, "SPRAY-LIMIT");
    }

    /// Two rules over the same records, the second first past its limit
    /// in time order: a replay split over threads names the same rule as
    /// one replay of both.
    #[test]
    fn past_the_limit_the_first_rule_over_it_is_named_however_split() {
        let set = load(
            r#"
id: LIMIT-LATER
title: later
severity: high
match: { status.errorCode: 50126, appDisplayName: late }
window: { groupBy: [ipAddress], span: 20m, count: { gte: 100 } }
---
id: LIMIT-FIRST
title: first
severity: high
match: { status.errorCode: 50126, appDisplayName: early }
window: { groupBy: [ipAddress], span: 20m, count: { gte: 100 } }
"#,
        );
        let rules = set.multi();
        let plans = Plan::for_rules(rules);
        let limits = Limits {
            max_retained: 3,
            ..Limits::default()
        };
        let mut parts = Vec::new();
        for i in 0..8 {
            let (app, second) = if i < 4 {
                ("early", i)
            } else {
                ("late", 10 + i)
            };
            let time = format!("2025-03-01T10:00:{second:02}Z");
            let (mut r, l) = failure(i, Some(&time));
            r.fields.insert("appDisplayName".into(), app.into());
            parts.push(extract(rules, &plans, &r, &l));
        }
        // Read in another order than time: the sort buffer puts it right.
        parts.reverse();
        let named = |parts: &[Parts], threads: usize| {
            let mut run = MultiRun::new(rules, limits).with_threads(threads);
            for p in parts {
                assert!(run.push(p.clone(), false).is_ok());
            }
            match run.finish() {
                Err(MultiError::Limit(o)) => o.rule_id,
                other => panic!("{threads} threads: {other:?}"),
            }
        };
        for threads in [1, 2, 3] {
            assert_eq!(named(&parts, threads), "LIMIT-FIRST", "{threads} threads");
        }
        // Both past the limit at the same record: the first in rule order,
        // whichever share each rule is in.
        let both: Vec<Parts> = (0..4)
            .map(|i| {
                let (mut r, l) = failure(i, Some("2025-03-01T10:00:00Z"));
                r.fields.insert("appDisplayName".into(), "early".into());
                let mut p = extract(rules, &plans, &r, &l);
                r.fields.insert("appDisplayName".into(), "late".into());
                p.parts.extend(extract(rules, &plans, &r, &l).parts);
                p.parts.sort_by_key(|part| part.rule);
                p
            })
            .collect();
        for threads in [1, 2, 3] {
            assert_eq!(named(&both, threads), "LIMIT-LATER", "{threads} threads");
        }
    }

    #[test]
    fn records_with_no_time_are_counted_and_late_ones_reported() {
        let set = spray_set();
        let rules = set.multi();
        let plans = Plan::for_rules(rules);
        let mut run = MultiRun::new(rules, Limits::default());
        let (r, l) = failure(0, None);
        assert!(run.push(extract(rules, &plans, &r, &l), true).is_ok());
        assert_eq!(run.untimed, 1);
        let (r, l) = failure(1, Some("2025-03-01T10:30:00Z"));
        assert!(run.push(extract(rules, &plans, &r, &l), true).is_ok());
        // 10 minutes of lateness: 10:20 is still on time, 10:19 is late.
        let (r, l) = failure(2, Some("2025-03-01T10:20:00.0000001Z"));
        let pushed = run.push(extract(rules, &plans, &r, &l), true);
        assert!(pushed.is_ok_and(|p| p.late.is_empty()));
        let (r, l) = failure(3, Some("2025-03-01T10:19:00Z"));
        let pushed = run.push(extract(rules, &plans, &r, &l), true);
        let late = pushed.map(|p| p.late).unwrap_or_default();
        assert_eq!(late.len(), 1);
        assert_eq!(
            late.first().map(|(id, l)| (id.as_str(), l.line)),
            Some(("SPRAY-LIMIT", 4))
        );
        assert_eq!(run.late, 1);
    }
}
