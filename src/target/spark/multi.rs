//! Spark SQL of rules over many records: windows and two-step sequences,
//! one row per group with its first window.

use super::leaf::ticks_of;
use super::{Emit, Scope, log_filter, quote_ident, string_literal};
use crate::check::CheckedRule;
use crate::record::LogCategory;
use crate::target::plan::{
    CondWriter as _, Events, RowSyntax, SeqShape, all_of, group_names, group_row, seq_shape,
};
use crate::target::{Options, Unsupported, key_column, threshold, unsupported};

/// The events of a multi-record rule (or of one step) as a query over its
/// view (see [`Events`]; `_w` columns are not needed: a `where` is written
/// in the join itself).
fn events(ev: &Events<'_>, options: &Options) -> Result<String, Unsupported> {
    let graph = ev.logs.contains(&LogCategory::GraphActivity);
    if graph && ev.logs.len() > 1 {
        return Err(unsupported(
            ev.rule,
            "records of both Graph activity and sign-in logs in one step",
            &ev.rule.span,
        ));
    }
    let mut emit = Emit {
        rule: ev.rule,
        graph,
        vars: 0,
        steps: Vec::new(),
    };
    let cond = emit.cond(ev.cond, &Scope::Record(String::new()))?;
    let (time, id) = if graph {
        (emit.text_of("timeGenerated")?, "properties.`requestId`")
    } else {
        (emit.text_of("createdDateTime")?, "properties.`id`")
    };
    let mut columns = vec![
        format!("{} AS _ticks", ticks_of(&time)),
        format!("lower(CAST({id} AS STRING)) AS _tie"),
        format!("{time} AS _time"),
    ];
    let mut present = vec!["_ticks IS NOT NULL".to_string()];
    let span = &ev.rule.span;
    let lower = |t: &str| format!("lower({t})");
    let (keys, distinct) = ev.key_columns(|f| emit.scalar_text(f, span), lower)?;
    for (name, _) in &keys {
        present.push(format!("{name} IS NOT NULL"));
    }
    for (name, expr) in keys.iter().chain(&distinct) {
        columns.push(format!("{expr} AS {name}"));
    }
    let view = if graph {
        &options.graph_table
    } else {
        &options.table
    };
    // A record delivered twice (the same id, time, key and distinct
    // values) is one event, as natively: the first row of each.
    let mut copies = vec!["_ticks".to_string(), "_tie".to_string()];
    copies.extend(keys.iter().chain(&distinct).map(|(name, _)| name.clone()));
    Ok(format!(
        "SELECT * FROM (\n    SELECT *, row_number() OVER (PARTITION BY {} ORDER BY _time) AS _copy FROM (\n    SELECT *, {}\n    FROM {}\n    WHERE {}\n      AND {cond}\n  ) WHERE {}\n  ) WHERE _copy = 1",
        copies.join(", "),
        columns.join(", "),
        quote_ident(view),
        log_filter(ev.logs),
        present.join(" AND ")
    ))
}

/// The ISO 8601 UTC text of a time in ticks (Spark's session time zone
/// must be UTC, as the PySpark driver sets it).
pub(super) fn iso(ticks: &str) -> String {
    format!(
        "concat(date_format(timestamp_micros(div({ticks}, 10)), \"yyyy-MM-dd'T'HH:mm:ss.SSSSSS\"), CAST(pmod({ticks}, 10) AS STRING), 'Z')"
    )
}

/// How Spark SQL writes a group's row.
const ROW: RowSyntax = RowSyntax {
    literal: string_literal,
    quote: quote_ident,
    column: |expr, name| format!("{expr} AS {name}"),
    iso,
};

/// The rows of a multi-record rule's groups: the first window (in time)
/// of each group that has one, from `hits` (a query with the key columns,
/// `_start` and `_end` in ticks, and `_endTie`).
fn first_per_group(rule: &CheckedRule, names: &[String], hits: &str, ctes: &str) -> String {
    let row = group_row(rule, names, &ROW);
    let partition = row.keys_between("PARTITION BY ", " ");
    let columns = row.columns.join(", ");
    format!(
        "WITH {ctes},\nhits AS (\n{hits}\n),\nfirst AS (\n  SELECT *, row_number() OVER ({partition}ORDER BY _end, _endTie) AS _rn FROM hits\n)\nSELECT {columns}\nFROM first\nWHERE _rn = 1"
    )
}

/// A `window` rule: a group has a finding when some record's window (the
/// records of its group within `span` before it, in time and tie order)
/// meets the thresholds. That is when the native engine's first episode
/// completes, so the groups are the same; one row per group (later
/// episodes depend on which records earlier ones consumed, which SQL does
/// not follow).
pub(super) fn window_query(
    rule: &CheckedRule,
    w: &crate::check::Window,
    options: &Options,
) -> Result<String, Unsupported> {
    let ev = events(&Events::window(rule, w), options)?;
    let keys: Vec<String> = (0..w.group_by.len()).map(|i| format!("r._k{i}")).collect();
    let mut on: Vec<String> = (0..w.group_by.len())
        .map(|i| format!("s._k{i} = r._k{i}"))
        .collect();
    on.push(format!(
        "s._ticks BETWEEN r._ticks - {} AND r._ticks",
        w.span.ticks
    ));
    on.push("(s._ticks < r._ticks OR s._tie <= r._tie)".into());
    let mut aggregates = vec![
        "min(s._ticks) AS _start".to_string(),
        "count(*) AS _n".into(),
    ];
    let mut having = Vec::new();
    if let Some(t) = &w.count {
        having.push(threshold("count(*)", t, "="));
    }
    for (i, (_, t)) in w.distinct.iter().enumerate() {
        aggregates.push(format!("count(DISTINCT s._d{i}) AS _n{i}"));
        having.push(threshold(&format!("count(DISTINCT s._d{i})"), t, "="));
    }
    let mut group = keys.clone();
    group.extend(["r._ticks".to_string(), "r._tie".to_string()]);
    let mut select = keys.clone();
    select.extend([
        "r._ticks AS _end".to_string(),
        "r._tie AS _endTie".to_string(),
    ]);
    select.extend(aggregates);
    let hits = format!(
        "  SELECT {}\n  FROM ev r JOIN ev s ON {}\n  GROUP BY {}\n  HAVING {}",
        select.join(", "),
        on.join(" AND "),
        group.join(", "),
        all_of(&having, " AND ")
    );
    let names: Vec<String> = w.group_by.iter().map(key_column).collect();
    Ok(first_per_group(
        rule,
        &names,
        &hits,
        &format!("ev AS (\n  {ev}\n)"),
    ))
}

/// A `sequence` rule, in the shape the native engine decides exactly and
/// SQL can say: two steps in order, the first with at least N records, the
/// second with one, no absent step. A group has a finding when some record
/// of the second step has N records of the first (not itself) at or before
/// it within `span`, each meeting the second step's `where` with it.
pub(super) fn sequence_query(
    rule: &CheckedRule,
    seq: &crate::check::Sequence,
    options: &Options,
) -> Result<String, Unsupported> {
    let (first, second, need) = match seq_shape(rule, seq)? {
        SeqShape::Then(first, second, need) => (first, second, need),
        SeqShape::Unless(present, absent) => {
            return unless_query(rule, seq, present, &absent, options);
        }
    };
    let a = events(&Events::step(rule, seq, first), options)?;
    let b = events(&Events::step(rule, seq, second), options)?;
    let mut on: Vec<String> = (0..second.key.len())
        .map(|i| format!("a._k{i} = b._k{i}"))
        .collect();
    on.push(format!(
        "a._ticks BETWEEN b._ticks - {} AND b._ticks",
        seq.span.ticks
    ));
    on.push("NOT (a._ticks = b._ticks AND a._tie = b._tie)".into());
    if let Some(cond) = &second.where_ {
        let mut emit = Emit {
            rule,
            graph: second.logs.contains(&LogCategory::GraphActivity),
            vars: 0,
            steps: vec![(first.name.clone(), "a.".into())],
        };
        on.push(emit.cond(cond, &Scope::Record("b.".into()))?);
    }
    let keys: Vec<String> = (0..second.key.len()).map(|i| format!("b._k{i}")).collect();
    let mut select = keys.clone();
    select.extend([
        "b._ticks AS _end".to_string(),
        "b._tie AS _endTie".to_string(),
        "min(a._ticks) AS _start".to_string(),
    ]);
    let mut group = keys;
    group.extend(["b._ticks".to_string(), "b._tie".to_string()]);
    let hits = format!(
        "  SELECT {}\n  FROM b JOIN a ON {}\n  GROUP BY {}\n  HAVING count(*) >= {need}",
        select.join(", "),
        on.join(" AND "),
        group.join(", ")
    );
    let names = group_names(seq, second);
    Ok(first_per_group(
        rule,
        &names,
        &hits,
        &format!("a AS (\n  {a}\n),\nb AS (\n  {b}\n)"),
    ))
}

/// A sequence of one present record and absent steps: a group has a
/// finding when some record of the present step has no record of any
/// absent step with the same key within the span before or after it; one
/// row per group, its first such record.
fn unless_query(
    rule: &CheckedRule,
    seq: &crate::check::Sequence,
    present: &crate::check::Step,
    absent: &[&crate::check::Step],
    options: &Options,
) -> Result<String, Unsupported> {
    let events = |step| events(&Events::step(rule, seq, step), options);
    let mut ctes = vec![format!("p AS (\n  {}\n)", events(present)?)];
    let mut anti = Vec::new();
    for (j, step) in absent.iter().enumerate() {
        ctes.push(format!("x{j} AS (\n  {}\n)", events(step)?));
        let mut on: Vec<String> = (0..present.key.len())
            .map(|i| format!("x{j}._k{i} = p._k{i}"))
            .collect();
        on.push(format!(
            "x{j}._ticks BETWEEN p._ticks - {span} AND p._ticks + {span}",
            span = seq.span.ticks
        ));
        on.push(format!(
            "NOT (x{j}._ticks = p._ticks AND x{j}._tie = p._tie)"
        ));
        anti.push(format!("LEFT ANTI JOIN x{j} ON {}", on.join(" AND ")));
    }
    let keys: Vec<String> = (0..present.key.len()).map(|i| format!("p._k{i}")).collect();
    let mut select = keys;
    select.extend([
        "p._ticks AS _end".to_string(),
        "p._tie AS _endTie".to_string(),
        "p._ticks AS _start".to_string(),
    ]);
    let hits = format!(
        "  SELECT {}\n  FROM p {}",
        select.join(", "),
        anti.join(" ")
    );
    let names = group_names(seq, present);
    Ok(first_per_group(rule, &names, &hits, &ctes.join(",\n")))
}
