//! An episode → its [`Finding`]: the message, the contributing records,
//! the distinct values and the steps.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::extract::{Detail, first_text, record_id};
use super::ticks::{format_duration, format_ticks};
use crate::catalog::{FieldPath, Resolved};
use crate::check::{Piece, TravelPart, WindowPart};
use crate::compile::travel::{self, Measured, Place};
use crate::compile::{MultiRule, MultiSpec};
use crate::eval;
use crate::finding::{
    Contributor, DistinctValues, Episodic, Evidence, Finding, SignIn, StepRecords,
};
use crate::window::{Episode, Ticks};

/// Most contributing records listed in a finding (the total is always
/// given).
pub const MAX_RECORDS_LISTED: usize = 20;

fn contributor(d: &Detail) -> Contributor {
    let fields = d.kept.fields();
    // The record's own time field, as the event time was read from it.
    let name = if d.kept.category == crate::record::LogCategory::GraphActivity {
        "timeGenerated"
    } else {
        "createdDateTime"
    };
    let written = fields.get(name).and_then(Value::as_str);
    Contributor {
        path: d.kept.location.path.to_string(),
        line: d.kept.location.line,
        record: d.kept.location.record,
        id: record_id(&fields).map(str::to_string),
        time: written.map_or_else(|| format_ticks(d.kept.time), str::to_string),
    }
}

/// The key fields of the rule for a record of these steps.
fn key_fields(rule: &MultiRule, steps: u64) -> &[Resolved] {
    match &rule.spec {
        MultiSpec::Window(w) => &w.group_by,
        MultiSpec::Sequence(s) => s
            .steps
            .iter()
            .enumerate()
            .find(|(i, _)| steps >> i & 1 == 1)
            .or_else(|| s.steps.first().map(|st| (0, st)))
            .map_or(&[], |(_, st)| st.key.as_slice()),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The finding of one episode.
pub(super) fn episode_finding(
    rule: &MultiRule,
    details: &FxHashMap<u64, Detail>,
    episode: &Episode,
) -> Option<Finding> {
    let done = details.get(&episode.completed_by)?;
    let listed = |payloads: &[u64]| -> Vec<&Detail> {
        payloads.iter().filter_map(|p| details.get(p)).collect()
    };
    let contributors = listed(&episode.contributors.payloads);
    let done_fields = done.kept.fields();
    // The group: key fields as the completing record writes them.
    let fields = key_fields(rule, done.steps);
    let group: Vec<(String, String)> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let value = first_text(&done_fields, &f.path)
                .or_else(|| episode.key.get(i).map(ToString::to_string))
                .unwrap_or_default();
            (f.path.to_string(), value)
        })
        .collect();
    let distinct: BTreeMap<String, DistinctValues> = match &rule.spec {
        MultiSpec::Window(w) => w
            .distinct
            .iter()
            .zip(&episode.distinct)
            .map(|((f, _), d)| {
                (
                    f.path.to_string(),
                    DistinctValues {
                        values: d
                            .values
                            .iter()
                            .take(MAX_RECORDS_LISTED)
                            .map(ToString::to_string)
                            .collect(),
                        total: d.total,
                    },
                )
            })
            .collect(),
        MultiSpec::Sequence(_) => BTreeMap::new(),
    };
    let steps: Vec<StepRecords> = match &rule.spec {
        MultiSpec::Window(_) => Vec::new(),
        MultiSpec::Sequence(s) => s
            .steps
            .iter()
            .zip(&episode.steps)
            .map(|(st, recs)| StepRecords {
                name: st.name.clone(),
                absent: st.absent,
                records: listed(&recs.payloads)
                    .into_iter()
                    .take(MAX_RECORDS_LISTED)
                    .map(contributor)
                    .collect(),
                total: recs.total,
            })
            .collect(),
    };
    // The message.
    let mut message = String::new();
    for piece in &rule.message {
        match piece {
            Piece::Text(t) => message.push_str(t),
            Piece::Count => {
                let _ = write!(message, "{}", episode.count);
            }
            Piece::Window(WindowPart::Duration) => {
                message.push_str(&format_duration(episode.last - episode.first));
            }
            Piece::Window(WindowPart::Start) => message.push_str(&format_ticks(episode.first)),
            Piece::Window(WindowPart::End) => message.push_str(&format_ticks(episode.last)),
            Piece::Distinct(f) => {
                let total = match &rule.spec {
                    MultiSpec::Window(w) => w
                        .distinct
                        .iter()
                        .position(|(d, _)| d.path == f.path)
                        .and_then(|i| episode.distinct.get(i))
                        .map(|d| d.total),
                    MultiSpec::Sequence(_) => None,
                };
                match total {
                    Some(n) => {
                        let _ = write!(message, "{n}");
                    }
                    None => message.push('-'),
                }
            }
            Piece::Step { step, field } => {
                let at = rule
                    .steps
                    .iter()
                    .position(|s| s.name.as_deref() == Some(step.as_str()));
                let recs = at.and_then(|i| episode.steps.get(i));
                let mut values: Vec<String> = Vec::new();
                for d in recs.map(|r| listed(&r.payloads)).unwrap_or_default() {
                    let mut seen = Vec::new();
                    collect(&d.kept.fields(), &field.path, &mut seen);
                    for v in seen {
                        if !values.iter().any(|x| x.eq_ignore_ascii_case(&v)) {
                            values.push(v);
                        }
                    }
                }
                if values.is_empty() {
                    message.push('-');
                } else {
                    message.push_str(&values.join(", "));
                }
            }
            Piece::Key { index, .. } => match group.get(*index) {
                Some((_, v)) if !v.is_empty() => message.push_str(v),
                _ => message.push('-'),
            },
            Piece::Travel(part) => {
                // The checker lets `{travel.*}` name the one step that
                // travels.
                let measured = rule
                    .steps
                    .iter()
                    .position(|s| s.travel.is_some())
                    .and_then(|s| fastest(rule, details, episode, s));
                match (measured, part) {
                    (Some(m), TravelPart::Kmh) => message.push_str(&whole(m.kmh)),
                    (Some(m), TravelPart::Km) => message.push_str(&whole(m.km)),
                    (None, _) => message.push('-'),
                }
            }
            Piece::Field(f) => {
                let mut seen = Vec::new();
                collect(&done_fields, &f.path, &mut seen);
                if seen.is_empty() {
                    message.push('-');
                } else {
                    message.push_str(&seen.join(", "));
                }
            }
        }
    }
    if rule.message.is_empty() {
        message = rule.info.title.to_string();
    }
    // The fingerprint: rule, group key, first contributing record.
    let mut hasher = Sha256::new();
    hasher.update(rule.info.id.as_bytes());
    hasher.update([0]);
    for k in &episode.key {
        hasher.update(k.as_bytes());
        hasher.update([0]);
    }
    match contributors.first() {
        Some(first) => match record_id(&first.kept.fields()) {
            Some(id) => {
                hasher.update(b"id\0");
                hasher.update(id.as_bytes());
            }
            None => {
                hasher.update(b"at\0");
                hasher.update(first.kept.location.path.as_bytes());
                hasher.update([0]);
                hasher.update(first.kept.location.line.to_le_bytes());
                hasher.update(first.kept.location.record.to_le_bytes());
            }
        },
        None => hasher.update(b"none"),
    }
    let mut fingerprint = String::with_capacity(32);
    for byte in hasher.finalize().iter().take(16) {
        let _ = write!(fingerprint, "{byte:02x}");
    }
    let text = |name: &str| match done_fields.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Some(Finding {
        rule_id: rule.info.id.clone(),
        title: rule.info.title.clone(),
        severity: rule.info.severity,
        message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        location: done.kept.location.clone(),
        category: done.kept.category.name().to_string(),
        sign_in: SignIn {
            id: record_id(&done_fields).map(str::to_string),
            created_date_time: text("createdDateTime").or_else(|| text("timeGenerated")),
            user_principal_name: text("userPrincipalName"),
            ip_address: text("ipAddress"),
            app_display_name: text("appDisplayName"),
            correlation_id: text("correlationId"),
        },
        evidence: episode_evidence(rule, details, episode, &group),
        fingerprint,
        episode: Some(Box::new(Episodic {
            group: group.into_iter().collect(),
            window_start: format_ticks(episode.first),
            window_end: format_ticks(episode.last),
            count: episode.count,
            distinct,
            records: contributors
                .iter()
                .take(MAX_RECORDS_LISTED)
                .map(|d| contributor(d))
                .collect(),
            records_total: episode.contributors.total,
            steps,
        })),
    })
}

/// The present values at a path, as text.
fn collect(fields: &Map<String, Value>, path: &FieldPath, out: &mut Vec<String>) {
    let Some((first, rest)) = path.segments().split_first() else {
        return;
    };
    if let Some(value) = eval::lookup(fields, first, path.is_raw()) {
        crate::record::visit_value(value, rest, path.is_raw(), &mut |v| {
            let t = text_of(v);
            if !t.trim().is_empty() && !out.contains(&t) {
                out.push(t);
            }
            false
        });
    }
}

/// The fastest pair of listed records between step `step` (which
/// travels) and the step it travels from: their distance and speed (the
/// farther pair among equally fast ones).
fn fastest(
    rule: &MultiRule,
    details: &FxHashMap<u64, Detail>,
    episode: &Episode,
    step: usize,
) -> Option<Measured> {
    let travel = rule.steps.get(step)?.travel.as_ref()?;
    let records = |s: usize| -> Vec<(Option<Place>, Ticks)> {
        episode
            .steps
            .get(s)
            .map(|r| {
                r.payloads
                    .iter()
                    .filter_map(|p| details.get(p))
                    .map(|d| (d.kept.point().map(Place::from), d.kept.time))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (froms, tos) = (records(travel.from), records(step));
    let mut best: Option<Measured> = None;
    for (to, to_time) in &tos {
        for (from, from_time) in &froms {
            let Some(m) = travel::measure(from.as_ref(), *from_time, to.as_ref(), *to_time) else {
                continue;
            };
            if best.is_none_or(|b| (m.kmh, m.km) > (b.kmh, b.km)) {
                best = Some(m);
            }
        }
    }
    best
}

/// A speed or distance for people: whole, `∞` when infinite.
pub(super) fn whole(x: f64) -> String {
    if x.is_infinite() {
        "∞".to_string()
    } else {
        format!("{x:.0}")
    }
}

/// A measure as JSON: the number, or `"infinite"` (JSON has no infinity).
fn measure_json(x: f64) -> Value {
    if x.is_finite() {
        Value::from(x)
    } else {
        Value::from("infinite")
    }
}

/// Why an episode is a finding: its group key, then each threshold it met
/// with the count it had (a window's count and distinct values; a
/// sequence's steps, absent ones with none, and the fastest pair of a
/// step that travels).
fn episode_evidence(
    rule: &MultiRule,
    details: &FxHashMap<u64, Detail>,
    episode: &Episode,
    group: &[(String, String)],
) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = group
        .iter()
        .map(|(field, value)| Evidence {
            condition: format!("groupBy {field}"),
            field: field.clone(),
            operator: "groupBy".into(),
            expected: Value::Null,
            actual: Value::from(value.as_str()),
            outcome: true,
        })
        .collect();
    let met = |what: String, field: String, t: &crate::check::Threshold, actual: u64| Evidence {
        condition: format!("{what} {} {}", t.cmp.name(), t.value),
        field,
        operator: t.cmp.name().into(),
        expected: Value::from(t.value),
        actual: Value::from(actual),
        outcome: true,
    };
    match &rule.spec {
        MultiSpec::Window(w) => {
            if let Some(t) = &w.count {
                out.push(met(
                    format!("count within {}", w.span.text),
                    "count".into(),
                    t,
                    episode.count,
                ));
            }
            for ((f, t), d) in w.distinct.iter().zip(&episode.distinct) {
                out.push(met(
                    format!("distinct {} within {}", f.path, w.span.text),
                    f.path.to_string(),
                    t,
                    d.total,
                ));
            }
        }
        MultiSpec::Sequence(seq) => {
            for (step, records) in seq.steps.iter().zip(&episode.steps) {
                if step.absent {
                    out.push(Evidence {
                        condition: format!("step {} absent within {}", step.name, seq.span.text),
                        field: step.name.clone(),
                        operator: "absent".into(),
                        expected: Value::from(0),
                        actual: Value::from(0),
                        outcome: true,
                    });
                } else {
                    out.push(met(
                        format!("step {} count", step.name),
                        step.name.clone(),
                        &step.count,
                        records.total,
                    ));
                }
            }
            for (i, step) in seq.steps.iter().enumerate() {
                let Some(t) = &step.travel else {
                    continue;
                };
                let bounds: Vec<(&str, &crate::check::Bound)> = [("kmh", &t.kmh), ("km", &t.km)]
                    .into_iter()
                    .filter_map(|(name, b)| b.as_ref().map(|b| (name, b)))
                    .collect();
                let mut expected = Map::new();
                expected.insert("from".into(), Value::from(t.from.as_str()));
                for (name, b) in &bounds {
                    let mut cmp = Map::new();
                    cmp.insert(b.cmp.name().into(), Value::from(b.value));
                    expected.insert((*name).into(), Value::Object(cmp));
                }
                let actual = match fastest(rule, details, episode, i) {
                    Some(m) => {
                        let mut a = Map::new();
                        a.insert("kmh".into(), measure_json(m.kmh));
                        a.insert("km".into(), measure_json(m.km));
                        Value::Object(a)
                    }
                    None => Value::Null,
                };
                let written: Vec<String> = bounds
                    .iter()
                    .map(|(name, b)| format!("{name} {} {}", b.cmp.name(), b.value))
                    .collect();
                out.push(Evidence {
                    condition: format!(
                        "step {} travel from {}: {}",
                        step.name,
                        t.from,
                        written.join(", ")
                    ),
                    field: step.name.clone(),
                    operator: "travel".into(),
                    expected: Value::Object(expected),
                    actual,
                    outcome: true,
                });
            }
        }
    }
    out
}
