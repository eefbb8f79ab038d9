//! KQL of rules over many records: windows and two-step sequences, one
//! row per group with its first window, as in Spark SQL.

use std::fmt::Write as _;

use super::leaf::pair_test;
use super::{Emit, Scope, string_literal, table_for, trimmed, union};
use crate::catalog::{Kind, Resolved};
use crate::check::{CheckedRule, Cond, Pred, Shape};
use crate::record::LogCategory;
use crate::target::plan::{
    CondWriter as _, Events, RowSyntax, SeqShape, all_of, group_names, group_row, seq_shape,
};
use crate::target::{Unsupported, key_column, threshold, unsupported};

/// The events of a multi-record rule (or step) from each of its tables,
/// projected to the same columns (see [`Events`]).
fn events(ev: &Events<'_>) -> Result<String, Unsupported> {
    let mut parts = Vec::new();
    for log in ev.logs {
        let table = table_for(ev.rule, log)?;
        let graph = *log == LogCategory::GraphActivity;
        let mut emit = Emit {
            rule: ev.rule,
            table,
            graph,
            vars: 0,
            steps: Vec::new(),
        };
        let cond = emit.cond(ev.cond, &Scope::Record)?;
        let time = if graph {
            "TimeGenerated"
        } else {
            "CreatedDateTime"
        };
        let time = emit
            .column_of(time)
            .map_or_else(|| "datetime(null)".to_string(), |(c, _)| c);
        let id = if graph { "RequestId" } else { "Id" };
        let id = emit
            .column_of(id)
            .map_or_else(|| "\"\"".to_string(), |(c, _)| c);
        let mut columns = vec![
            format!("_ticks = tolong(todatetime({time}) - datetime(1970-01-01))"),
            format!("_tie = tolower(tostring({id}))"),
        ];
        let mut present = vec!["isnotnull(_ticks)".to_string()];
        let (keys, distinct) =
            ev.key_columns(|f| emit.scalar_text(f), |t| format!("tolower({t})"))?;
        for (name, _) in &keys {
            present.push(format!("isnotempty({})", trimmed(name)));
        }
        for (name, expr) in keys.iter().chain(&distinct) {
            columns.push(format!("{name} = {expr}"));
        }
        for (i, field) in ev.compared.iter().enumerate() {
            columns.push(format!("_w{i} = {}", emit.scalar_text(field)?));
        }
        let mut out = table.name.clone();
        for step in &emit.steps {
            let _ = write!(out, "\n| {step}");
        }
        let names: Vec<String> = columns
            .iter()
            .filter_map(|c| c.split(" = ").next())
            .map(str::to_string)
            .collect();
        let _ = write!(
            out,
            "\n| where {cond}\n| extend {}\n| where {}\n| project {}",
            columns.join(", "),
            present.join(" and "),
            names.join(", ")
        );
        parts.push(out);
    }
    // A record delivered twice (the same id, time and key, in one log or
    // two) is one event, as natively.
    Ok(format!("{}\n| distinct *", union(&parts)))
}

/// A time in ticks as ISO 8601 UTC text.
fn iso(ticks: &str) -> String {
    let t = format!("(datetime(1970-01-01) + {ticks} * 1tick)");
    format!(
        "strcat(format_datetime({t}, \"yyyy-MM-dd\"), \"T\", format_datetime({t}, \"HH:mm:ss.fffffff\"), \"Z\")"
    )
}

/// How KQL writes a group's row.
const ROW: RowSyntax = RowSyntax {
    literal: string_literal,
    quote: |name| format!("['{name}']"),
    column: |expr, name| format!("{name} = {expr}"),
    iso,
};

/// The first window (in time) of each group that has one, from `hits`
/// (rows with the key columns, `_start`, `_end` and `_endTie`).
fn first_per_group(rule: &CheckedRule, names: &[String], hits: &str) -> String {
    let row = group_row(rule, names, &ROW);
    let by = row.keys_between(" by ", "");
    let columns = row.columns.join(", ");
    format!("{hits}\n| summarize arg_min(_order, *){by}\n| project {columns}")
}

/// The columns of a multi-record rule's rows: its id, its group's key
/// fields, and where its window starts and ends.
pub(super) fn columns(rule: &CheckedRule) -> Result<Vec<String>, Unsupported> {
    let names = match &rule.shape {
        Shape::Single => Vec::new(),
        Shape::Window(w) => w.group_by.iter().map(key_column).collect(),
        Shape::Sequence(seq) => match seq_shape(rule, seq)? {
            SeqShape::Then(_, second, _) => group_names(seq, second),
            SeqShape::Unless(present, _) => group_names(seq, present),
        },
    };
    let mut columns = vec!["ruleId".to_string()];
    columns.extend(names);
    columns.extend(["windowStart".to_string(), "windowEnd".to_string()]);
    Ok(columns)
}

/// A `window` rule, as in Spark SQL: a group has a finding when some
/// record's window (its group's records within `span` before it, in time
/// and tie order) meets the thresholds; one row per group, its first such
/// window.
pub(super) fn window_query(
    rule: &CheckedRule,
    w: &crate::check::Window,
) -> Result<String, Unsupported> {
    let ev = events(&Events::window(rule, w))?;
    let keys: Vec<String> = (0..w.group_by.len()).map(|i| format!("_k{i}")).collect();
    let mut right = vec!["_sticks = _ticks".to_string(), "_stie = _tie".into()];
    right.extend(keys.iter().cloned());
    for i in 0..w.distinct.len() {
        right.push(format!("_sd{i} = _d{i}"));
    }
    let on = if keys.is_empty() {
        // One group: join every record with every other.
        "$left._one == $right._one".to_string()
    } else {
        keys.join(", ")
    };
    let one = if keys.is_empty() {
        "| extend _one = 1\n"
    } else {
        ""
    };
    let mut aggregates = vec!["_start = min(_sticks)".to_string(), "_n = count()".into()];
    let mut having = Vec::new();
    if let Some(t) = &w.count {
        having.push(threshold("_n", t, "=="));
    }
    for (i, (_, t)) in w.distinct.iter().enumerate() {
        aggregates.push(format!(
            "_n{i} = array_length(make_set_if(_sd{i}, isnotempty(_sd{i})))"
        ));
        having.push(threshold(&format!("_n{i}"), t, "=="));
    }
    let mut by = keys.clone();
    by.extend(["_ticks".to_string(), "_tie".to_string()]);
    let right_one = if keys.is_empty() { ", _one = 1" } else { "" };
    let hits = format!(
        "let ev = materialize(\n{}\n);\nev\n{one}| join kind=inner (ev | project {}{right_one}) on {on}\n| where _sticks between ((_ticks - {}) .. _ticks) and (_sticks < _ticks or strcmp(_stie, _tie) <= 0)\n| summarize {} by {}\n| where {}\n| extend _end = _ticks, _endTie = _tie, _order = strcat(format_datetime(datetime(1970-01-01) + _ticks * 1tick, \"yyyy-MM-dd HH:mm:ss.fffffff\"), \" \", _tie)",
        ev,
        right.join(", "),
        w.span.ticks,
        aggregates.join(", "),
        by.join(", "),
        all_of(&having, " and ")
    );
    let names: Vec<String> = w.group_by.iter().map(key_column).collect();
    Ok(first_per_group(rule, &names, &hits))
}

/// A `sequence` rule in the shape Spark SQL takes too (two steps in order,
/// the first with at least N records, the second with one, no absent
/// step), whose `where` compares fields of the second step with fields of
/// the first.
pub(super) fn sequence_query(
    rule: &CheckedRule,
    seq: &crate::check::Sequence,
) -> Result<String, Unsupported> {
    let (first, second, need) = match seq_shape(rule, seq)? {
        SeqShape::Then(first, second, need) => (first, second, need),
        SeqShape::Unless(present, absent) => return unless_query(rule, seq, present, &absent),
    };
    // The `where`: comparisons of a field of the second step's record with
    // a field of the first's, ANDed.
    let mut pairs: Vec<(&Pred, &Resolved)> = Vec::new();
    let mut own: Vec<Cond> = vec![second.cond.clone()];
    for part in second.where_.iter().flat_map(Cond::conjuncts) {
        match part {
            Cond::Pred(p)
                if p.field_ref()
                    .is_some_and(|r| r.step.as_deref() == Some(&first.name)) =>
            {
                if let Some(r) = p.field_ref() {
                    pairs.push((p, &r.field));
                }
            }
            other if other.steps_read().is_empty() => own.push(other.clone()),
            other => {
                let span = match other {
                    Cond::Pred(p) => p.span.clone(),
                    Cond::Quant { span, .. } => span.clone(),
                    _ => second.span.clone(),
                };
                return Err(unsupported(
                    rule,
                    "a `where` condition other than fields compared with fields of the first step",
                    &span,
                ));
            }
        }
    }
    let own = Cond::All(own);
    let a = events(&Events {
        compared: pairs.iter().map(|(_, f)| *f).collect(),
        ..Events::step(rule, seq, first)
    })?;
    let b = events(&Events {
        cond: &own,
        compared: pairs.iter().map(|(p, _)| &p.field).collect(),
        ..Events::step(rule, seq, second)
    })?;
    let keys: Vec<String> = (0..second.key.len()).map(|i| format!("_k{i}")).collect();
    let mut right = vec!["_aticks = _ticks".to_string(), "_atie = _tie".into()];
    right.extend(keys.iter().cloned());
    let mut tests = vec![
        format!("_aticks between ((_ticks - {}) .. _ticks)", seq.span.ticks),
        "not(_aticks == _ticks and _atie == _tie)".to_string(),
    ];
    for (i, (p, other)) in pairs.iter().enumerate() {
        right.push(format!("_aw{i} = _w{i}"));
        let kind = |f: &Resolved| f.field.map_or(Kind::Dynamic, |f| f.kind);
        let test = pair_test(
            p.op,
            p.case_sensitive,
            (&format!("_w{i}"), kind(&p.field)),
            (&format!("_aw{i}"), kind(other)),
        );
        tests.push(format!(
            "(isnotempty({}) and isnotempty({}) and {test})",
            trimmed(&format!("tostring(_w{i})")),
            trimmed(&format!("tostring(_aw{i})"))
        ));
    }
    let on = if keys.is_empty() {
        "$left._one == $right._one".to_string()
    } else {
        keys.join(", ")
    };
    let (one, right_one) = if keys.is_empty() {
        ("| extend _one = 1\n", ", _one = 1")
    } else {
        ("", "")
    };
    let mut by = keys.clone();
    by.extend(["_ticks".to_string(), "_tie".to_string()]);
    let hits = format!(
        "let a = materialize(\n{a}\n);\nlet b = materialize(\n{b}\n);\nb\n{one}| join kind=inner (a | project {}{right_one}) on {on}\n| where {}\n| summarize _start = min(_aticks), _n = count() by {}\n| where _n >= {need}\n| extend _end = _ticks, _endTie = _tie, _order = strcat(format_datetime(datetime(1970-01-01) + _ticks * 1tick, \"yyyy-MM-dd HH:mm:ss.fffffff\"), \" \", _tie)",
        right.join(", "),
        tests.join(" and "),
        by.join(", "),
    );
    let names = group_names(seq, second);
    Ok(first_per_group(rule, &names, &hits))
}

/// A sequence of one present record and absent steps, as in Spark SQL: a
/// group has a finding when some record of the present step has no record
/// of an absent step with the same key within the span before or after it.
fn unless_query(
    rule: &CheckedRule,
    seq: &crate::check::Sequence,
    present: &crate::check::Step,
    absent: &[&crate::check::Step],
) -> Result<String, Unsupported> {
    let events = |step| events(&Events::step(rule, seq, step));
    let keys: Vec<String> = (0..present.key.len()).map(|i| format!("_k{i}")).collect();
    let mut text = format!("let p = materialize(\n{}\n);\n", events(present)?);
    for (j, step) in absent.iter().enumerate() {
        let _ = write!(text, "let x{j} = materialize(\n{}\n);\n", events(step)?);
    }
    let _ = write!(text, "p");
    let on = if keys.is_empty() {
        "$left._one == $right._one".to_string()
    } else {
        keys.join(", ")
    };
    let mut by = keys.clone();
    by.extend(["_ticks".to_string(), "_tie".to_string()]);
    for j in 0..absent.len() {
        // Every record of the step with the same key, counted when within
        // the span (a record with none keeps a row with an empty time).
        let one = if keys.is_empty() {
            "| extend _one = 1\n"
        } else {
            ""
        };
        let right_one = if keys.is_empty() { ", _one = 1" } else { "" };
        let mut right = keys.clone();
        right.extend(["_xticks = _ticks".to_string(), "_xtie = _tie".to_string()]);
        let _ = write!(
            text,
            "\n{one}| join kind=leftouter (x{j} | project {}{right_one}) on {on}\n| summarize _near = countif(isnotnull(_xticks) and _xticks between ((_ticks - {span}) .. (_ticks + {span})) and not(_xticks == _ticks and _xtie == _tie)) by {}\n| where _near == 0\n| project-away _near",
            right.join(", "),
            by.join(", "),
            span = seq.span.ticks
        );
    }
    let _ = write!(
        text,
        "\n| extend _start = _ticks, _end = _ticks, _endTie = _tie, _order = strcat(format_datetime(datetime(1970-01-01) + _ticks * 1tick, \"yyyy-MM-dd HH:mm:ss.fffffff\"), \" \", _tie)"
    );
    let names = group_names(seq, present);
    Ok(first_per_group(rule, &names, &text))
}
