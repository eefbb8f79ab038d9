//! How far each group of a multi-record rule got over some records, for
//! `tollgate explain`: a writer sees why a spray did not fire.
//!
//! The verdict per group comes from the engine itself ([`run_records`]);
//! the progress beside it (the most records and distinct values any one
//! window held, the records of each step) is counted here, plainly.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rustc_hash::{FxHashMap, FxHashSet};

use super::episode::whole;
use super::extract::{Part, Plan, extract, fold};
use super::ticks::format_ticks;
use super::{MultiError, run_records};
use crate::check::{Sequence, Threshold, Window};
use crate::compile::travel::{self, Measured, Place};
use crate::compile::{MultiRule, MultiSpec};
use crate::diag::plural;
use crate::record::{Location, Record};
use crate::window::Ticks;

/// Most groups listed; the others are counted.
const MAX_GROUPS: usize = 20;

/// One group's records.
#[derive(Default)]
struct Group {
    /// `(time, distinct values)` of each record, for windows.
    events: Vec<(Ticks, Vec<Option<Box<str>>>)>,
    /// Records per step, for sequences.
    per_step: Vec<u64>,
    /// `(time, steps, point)` of each record, for sequences that travel.
    points: Vec<(Ticks, u64, Option<Place>)>,
}

/// The progress of `rule` over `records`, as text, and whether some group
/// fired.
pub fn explain_groups(
    rule: &MultiRule,
    records: Vec<(Record, Location)>,
) -> Result<(String, bool), MultiError> {
    let rules = std::slice::from_ref(rule);
    let plans = Plan::for_rules(rules);
    let total = records.len();
    let mut taking_part = Vec::new();
    let mut untimed = 0u64;
    let mut groups: BTreeMap<Box<[Box<str>]>, Group> = BTreeMap::new();
    let steps = rule.steps.len();
    let mut seen = FxHashSet::default();
    let mut repeated = 0u64;
    let travels = rule.steps.iter().any(|s| s.travel.is_some());
    for (record, location) in records {
        let parts = extract(rules, &plans, &record, &location);
        if parts.untimed.is_some() {
            untimed += 1;
        }
        if parts.parts.is_empty() {
            continue;
        }
        for Part {
            key,
            time,
            tie,
            distinct,
            detail,
            ..
        } in parts.parts
        {
            // A record delivered again counts once, as in a run.
            if !seen.insert((time, tie, key.clone())) {
                repeated += 1;
                continue;
            }
            let key: Box<[Box<str>]> = key.values().map(Box::from).collect();
            let group = groups.entry(key).or_insert_with(|| Group {
                per_step: vec![0; steps],
                ..Group::default()
            });
            group.events.push((time, distinct.into_vec()));
            if travels {
                group
                    .points
                    .push((time, detail.steps, detail.kept.point().map(Place::from)));
            }
            for (i, n) in group.per_step.iter_mut().enumerate() {
                if detail.steps >> i & 1 == 1 {
                    *n += 1;
                }
            }
        }
        taking_part.push((record, location));
    }
    let participants = taking_part.len();
    let (findings, _) = run_records(rule, &taking_part)?;
    let case_sensitive = match &rule.spec {
        MultiSpec::Window(w) => w.case_sensitive,
        MultiSpec::Sequence(s) => s.case_sensitive,
    };
    // The groups the engine fired for, keyed as the events are: a
    // finding's group is keyed by field name, in the completing step's key
    // order (each step's, for a sequence with per-step keys).
    let orders: Vec<Vec<String>> = match &rule.spec {
        MultiSpec::Window(w) => vec![w.group_by.iter().map(|f| f.path.to_string()).collect()],
        MultiSpec::Sequence(s) => s
            .steps
            .iter()
            .map(|st| st.key.iter().map(|f| f.path.to_string()).collect())
            .collect(),
    };
    let mut fired: FxHashSet<Box<[Box<str>]>> = FxHashSet::default();
    for group in findings
        .iter()
        .filter_map(|f| f.episode.as_ref())
        .map(|e| &e.group)
    {
        for order in &orders {
            let values: Option<Box<[Box<str>]>> = order
                .iter()
                .map(|name| group.get(name).map(|v| fold(v, case_sensitive)))
                .collect();
            if let Some(values) = values.filter(|v| v.len() == group.len()) {
                fired.insert(values);
            }
        }
    }
    let key_names = key_names(rule);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}): {participants} of {total} {} {} part, in {} {}; {} fired",
        rule.info.id,
        describe(rule),
        plural(total, "record", "records"),
        plural(participants, "takes", "take"),
        groups.len(),
        plural(groups.len(), "group", "groups"),
        fired.len(),
    );
    if repeated > 0 {
        let _ = writeln!(
            out,
            "{repeated} {} delivered again (the same time, id and key) counted once",
            plural(repeated, "record", "records")
        );
    }
    if untimed > 0 {
        let _ = writeln!(
            out,
            "{untimed} {} would take part but {} no readable time",
            plural(untimed, "record", "records"),
            plural(untimed, "has", "have")
        );
    }
    // The groups that got furthest first.
    let mut listed: Vec<(&Box<[Box<str>]>, &Group)> = groups.iter().collect();
    listed.sort_by_key(|(_, g)| std::cmp::Reverse(g.events.len()));
    for (key, group) in listed.iter().take(MAX_GROUPS) {
        let did = fired.contains(*key);
        let name: Vec<String> = key_names
            .iter()
            .zip(key.iter())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let (first, last) = group
            .events
            .iter()
            .fold((Ticks::MAX, Ticks::MIN), |(a, b), (t, _)| {
                (a.min(*t), b.max(*t))
            });
        let _ = writeln!(
            out,
            "  {}: {} {}, {} to {}: {}",
            if name.is_empty() {
                "every record".to_string()
            } else {
                name.join(", ")
            },
            group.events.len(),
            plural(group.events.len(), "record", "records"),
            format_ticks(first),
            format_ticks(last),
            if did { "fired" } else { "did not fire" }
        );
        match &rule.spec {
            MultiSpec::Window(w) => window_progress(&mut out, w, group),
            MultiSpec::Sequence(s) => {
                for (step, n) in s.steps.iter().zip(&group.per_step) {
                    let need = if step.absent {
                        "must have none".to_string()
                    } else {
                        format!("needs {}", bound(&step.count))
                    };
                    let _ = writeln!(
                        out,
                        "    step {}: {n} {} ({need})",
                        step.name,
                        plural(*n, "record", "records")
                    );
                }
                travel_progress(&mut out, s, group);
            }
        }
    }
    if groups.len() > MAX_GROUPS {
        let _ = writeln!(
            out,
            "  ... and {} more groups with fewer records",
            groups.len() - MAX_GROUPS
        );
    }
    Ok((out, !findings.is_empty()))
}

/// The most records, and distinct values per field, that one window of a
/// group held, against the thresholds.
fn window_progress(out: &mut String, w: &Window, group: &Group) {
    let mut events: Vec<&(Ticks, Vec<Option<Box<str>>>)> = group.events.iter().collect();
    events.sort_by_key(|(t, _)| *t);
    let fields = w.distinct.len();
    let mut best_count = 0usize;
    let mut best_distinct = vec![0usize; fields];
    let mut counts: Vec<FxHashMap<&str, usize>> = vec![FxHashMap::default(); fields];
    let mut start = 0;
    for (end, (time, values)) in events.iter().enumerate() {
        for (f, v) in values.iter().enumerate() {
            if let (Some(v), Some(c)) = (v, counts.get_mut(f)) {
                *c.entry(v).or_default() += 1;
            }
        }
        // The window ending here holds the records within `span` before.
        while let Some((t, old)) = events.get(start).copied()
            && *t < time.saturating_sub(w.span.ticks)
        {
            for (f, v) in old.iter().enumerate() {
                if let (Some(v), Some(c)) = (v, counts.get_mut(f))
                    && let Some(n) = c.get_mut(&**v)
                {
                    *n -= 1;
                    if *n == 0 {
                        c.remove(&**v);
                    }
                }
            }
            start += 1;
        }
        best_count = best_count.max(end + 1 - start);
        for (b, c) in best_distinct.iter_mut().zip(&counts) {
            *b = (*b).max(c.len());
        }
    }
    let mut parts = vec![format!(
        "{best_count} {}{}",
        plural(best_count, "record", "records"),
        w.count
            .as_ref()
            .map(|t| format!(" (needs {})", bound(t)))
            .unwrap_or_default()
    )];
    for ((field, t), n) in w.distinct.iter().zip(&best_distinct) {
        parts.push(format!("{n} distinct {} (needs {})", field.path, bound(t)));
    }
    let _ = writeln!(
        out,
        "    most in one {} window: {}",
        w.span.text,
        parts.join(", ")
    );
}

/// For each step that travels, the fastest pair of records (one of the
/// step travelled from, one of the step) within the span and in order,
/// against the bounds, and how many of their records have no
/// coordinates.
fn travel_progress(out: &mut String, s: &Sequence, group: &Group) {
    let index = |name: &str| s.steps.iter().position(|st| st.name == name);
    for (to, step) in s.steps.iter().enumerate() {
        let Some(t) = &step.travel else {
            continue;
        };
        let Some(from) = index(&t.from) else {
            continue;
        };
        let mut fastest: Option<Measured> = None;
        for (j, (tb, bits_b, pb)) in group.points.iter().enumerate() {
            if bits_b >> to & 1 == 0 {
                continue;
            }
            for (i, (ta, bits_a, pa)) in group.points.iter().enumerate() {
                let in_span = tb.abs_diff(*ta) <= s.span.ticks.unsigned_abs();
                if i == j || bits_a >> from & 1 == 0 || !in_span || (s.ordered && ta > tb) {
                    continue;
                }
                // A pair far enough apart goes before a faster one that is
                // not: the pair shown is one that could fire if any can.
                let far = |m: &Measured| t.km.as_ref().is_none_or(|b| b.holds(m.km));
                if let Some(m) = travel::measure(pa.as_ref(), *ta, pb.as_ref(), *tb)
                    && fastest.is_none_or(|f| (far(&m), m.kmh, m.km) > (far(&f), f.kmh, f.km))
                {
                    fastest = Some(m);
                }
            }
        }
        let without = group
            .points
            .iter()
            .filter(|(_, bits, p)| (bits >> from | bits >> to) & 1 == 1 && p.is_none())
            .count();
        let needs: Vec<String> = [("kmh", &t.kmh), ("km", &t.km)]
            .into_iter()
            .filter_map(|(name, b)| {
                b.as_ref()
                    .map(|b| format!("{name} {} {}", b.cmp.symbol(), b.value))
            })
            .collect();
        let pair = match fastest {
            Some(m) => format!("fastest pair {} km/h over {} km", whole(m.kmh), whole(m.km)),
            None => format!("no pair with coordinates within {}", s.span.text),
        };
        let _ = write!(
            out,
            "    travel {} -> {}: {pair} (needs {})",
            t.from,
            step.name,
            needs.join(", ")
        );
        if without > 0 {
            let _ = write!(
                out,
                "; {without} {} without coordinates",
                plural(without, "record", "records")
            );
        }
        out.push('\n');
    }
}

/// The names of the rule's key fields.
fn key_names(rule: &MultiRule) -> Vec<String> {
    let names = |fields: &[crate::catalog::Resolved]| -> Vec<String> {
        fields.iter().map(|f| f.path.to_string()).collect()
    };
    match &rule.spec {
        MultiSpec::Window(w) => names(&w.group_by),
        MultiSpec::Sequence(s) => match &s.group_by {
            Some(fields) => names(fields),
            // Per-step keys: the names of each position, joined with `/`
            // where steps differ (`signInActivityId/uniqueTokenIdentifier`).
            None => {
                let mut out: Vec<String> = Vec::new();
                for step in &s.steps {
                    for (i, name) in names(&step.key).into_iter().enumerate() {
                        match out.get_mut(i) {
                            Some(have) if !have.split('/').any(|n| n == name) => {
                                have.push('/');
                                have.push_str(&name);
                            }
                            Some(_) => {}
                            None => out.push(name),
                        }
                    }
                }
                out
            }
        },
    }
}

/// What the rule asks, in a few words.
fn describe(rule: &MultiRule) -> String {
    match &rule.spec {
        MultiSpec::Window(w) => format!(
            "a window of {}{}",
            w.span.text,
            if w.group_by.is_empty() {
                String::new()
            } else {
                format!(" per {}", key_names(rule).join(", "))
            }
        ),
        MultiSpec::Sequence(s) => format!(
            "a sequence of {} steps within {}",
            s.steps.len(),
            s.span.text
        ),
    }
}

/// A threshold as people write it: `>= 10`.
fn bound(t: &Threshold) -> String {
    format!("{} {}", t.cmp.symbol(), t.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> MultiRule {
        let mut loader = crate::engine::Loader::new();
        loader.add_source("r.yaml", text);
        let set = loader.load().unwrap_or_else(|_| unreachable!());
        set.multi()
            .first()
            .cloned()
            .unwrap_or_else(|| unreachable!())
    }

    fn records(rows: &[serde_json::Value]) -> Vec<(Record, Location)> {
        rows.iter()
            .enumerate()
            .map(|(i, row)| {
                let record =
                    crate::ingest::normalize(row.clone()).unwrap_or_else(|_| unreachable!());
                let location = Location {
                    path: "t".into(),
                    line: i as u64 + 1,
                    record: i as u64,
                };
                (record, location)
            })
            .collect()
    }

    fn row(id: &str, minute: u32, home: &str, resource: &str) -> serde_json::Value {
        serde_json::json!({
            "id": id,
            "createdDateTime": format!("2025-03-01T10:{minute:02}:00Z"),
            "homeTenantId": home,
            "resourceTenantId": resource,
            "status": { "errorCode": 50126 },
        })
    }

    /// Only the group the engine fired for is said to have fired, even
    /// when another group holds the same values in other fields.
    #[test]
    fn fired_groups_are_matched_field_by_field() {
        let rule = rule(
            "id: T\ntitle: t\nseverity: low\nmatch: { status.errorCode: 50126 }\nwindow: { groupBy: [homeTenantId, resourceTenantId], span: 10m, count: { gte: 2 } }\n",
        );
        let rows = [
            row("1", 0, "a", "a"),
            row("2", 1, "a", "a"),
            row("3", 2, "a", "b"),
            row("4", 3, "b", "a"),
        ];
        let (text, fired) = explain_groups(&rule, records(&rows)).unwrap_or_default();
        assert!(fired, "{text}");
        assert!(text.contains("in 3 groups; 1 fired"), "{text}");
        assert_eq!(text.matches(": fired").count(), 1, "{text}");
        assert_eq!(text.matches(": did not fire").count(), 2, "{text}");
    }

    fn signed_in(id: &str, minute: u32, lat: Option<f64>, lon: f64) -> serde_json::Value {
        let mut row = serde_json::json!({
            "id": id,
            "createdDateTime": format!("2025-03-01T10:{minute:02}:00Z"),
            "userPrincipalName": "a@contoso.com",
            "status": { "errorCode": 0 },
        });
        if let Some(lat) = lat {
            row["location"] =
                serde_json::json!({ "geoCoordinates": { "latitude": lat, "longitude": lon } });
        }
        row
    }

    /// A sequence that travels says how fast its fastest pair went, and
    /// how many records had no coordinates to compare.
    #[test]
    fn travel_shows_the_fastest_pair_and_records_without_coordinates() {
        let rule = rule(
            "id: T\ntitle: t\nseverity: low\nsequence:\n  groupBy: [userPrincipalName]\n  span: 1h\n  steps:\n    - name: here\n      match: { status.errorCode: 0 }\n    - name: there\n      match: { status.errorCode: 0 }\n      travel: { from: here, kmh: { gt: 900 }, km: { gte: 500 } }\n",
        );
        // Paris, then 30 minutes later London (about 344 km: 687 km/h),
        // then a record with no coordinates.
        let rows = [
            signed_in("1", 0, Some(48.8566), 2.3522),
            signed_in("2", 30, Some(51.5074), -0.1278),
            signed_in("3", 40, None, 0.0),
        ];
        let (text, fired) = explain_groups(&rule, records(&rows)).unwrap_or_default();
        assert!(!fired, "{text}");
        assert!(
            text.contains("travel here -> there: fastest pair 687 km/h over 344 km (needs kmh > 900, km >= 500); 1 record without coordinates"),
            "{text}"
        );
        // Five minutes apart instead: too fast, but not far enough.
        let rows = [
            signed_in("1", 0, Some(48.8566), 2.3522),
            signed_in("2", 5, Some(51.5074), -0.1278),
        ];
        let (text, fired) = explain_groups(&rule, records(&rows)).unwrap_or_default();
        assert!(!fired, "{text}");
        assert!(
            text.contains("fastest pair 4123 km/h over 344 km"),
            "{text}"
        );
        // Paris, then New York ten minutes later: fired.
        let rows = [
            signed_in("1", 0, Some(48.8566), 2.3522),
            signed_in("2", 10, Some(40.7128), -74.006),
        ];
        let (text, fired) = explain_groups(&rule, records(&rows)).unwrap_or_default();
        assert!(fired, "{text}");
        assert!(text.contains("1 fired"), "{text}");
        // Paris, London a minute later (344 km: far too fast, too near),
        // New York 55 minutes after Paris: the pair shown is the fastest
        // one far enough apart (Paris to New York), not the nearer faster.
        let rows = [
            signed_in("1", 0, Some(48.8566), 2.3522),
            signed_in("2", 1, Some(51.5074), -0.1278),
            signed_in("3", 55, Some(40.7128), -74.006),
        ];
        let (text, _) = explain_groups(&rule, records(&rows)).unwrap_or_default();
        assert!(
            text.contains("fastest pair 6368 km/h over 5837 km"),
            "{text}"
        );
        // No coordinates at all.
        let rows = [signed_in("1", 0, None, 0.0), signed_in("2", 10, None, 0.0)];
        let (text, _) = explain_groups(&rule, records(&rows)).unwrap_or_default();
        assert!(
            text.contains("no pair with coordinates within 1h (needs kmh > 900, km >= 500); 2 records without coordinates"),
            "{text}"
        );
    }

    /// A record read twice counts once, as in a run.
    #[test]
    fn repeated_records_count_once() {
        let rule = rule(
            "id: T\ntitle: t\nseverity: low\nmatch: { status.errorCode: 50126 }\nwindow: { groupBy: [homeTenantId], span: 10m, count: { gte: 2 } }\n",
        );
        let rows = [row("1", 0, "a", "a"), row("1", 0, "a", "a")];
        let (text, fired) = explain_groups(&rule, records(&rows)).unwrap_or_default();
        assert!(!fired, "{text}");
        assert!(text.contains("1 record delivered again"), "{text}");
        assert!(
            text.contains("most in one 10m window: 1 record (needs >= 2)"),
            "{text}"
        );
    }
}
