//! The `html` format: one self-contained page for people who would rather
//! look than read.
//!
//! Takes the run's rules, each finding and the summary; gives one HTML file
//! with the run (command line, counts), totals by severity, rule, user, IP
//! address, country and app, a timeline of findings (an inline SVG
//! histogram) and every finding with its evidence. Styles and the script
//! are inline and a Content-Security-Policy forbids every fetch, so the
//! page opens offline and cannot call out, whatever the logs held.
//!
//! Streaming: each finding is rendered and written when it arrives, up to
//! a limit ([`DEFAULT_LIST_LIMIT`]; past it findings are only counted and a
//! note says how many were left out). The totals are known only at the
//! end, so they are written after the list and CSS (`order` in a flex
//! column) shows them first. What the emitter holds is counts: per
//! severity, rule, hour, and per distinct user, IP address, country and
//! app (at most [`MAX_VALUES`] distinct values each; the rest are counted
//! together).
//!
//! Everything is rendered server-side, so the totals and the list read
//! with JavaScript off; the script only filters (by severity, rule, user,
//! IP address, app, country and free text). Every string from a log or a
//! rule is escaped for HTML, and control and bidirectional formatting
//! characters are shown as `\u{..}` escapes, as the `text` format does.
//!
//! Country is not part of a finding's sign-in identity: it is taken from
//! the evidence, when a condition of the rule read
//! `location.countryOrRegion`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::sync::Arc;

use serde_json::Value;

use super::{Emitter, RunInfo, TOOL_NAME, TOOL_VERSION};
use crate::finding::{Finding, Severity, Summary};

/// The page's styles.
const STYLE: &str = include_str!("html/report.css");

/// The page's script: filters, nothing else.
const SCRIPT: &str = include_str!("html/report.js");

/// No fetch of any kind; inline styles and scripts, and `data:` images.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// Most findings a page lists; the totals count every finding.
pub const DEFAULT_LIST_LIMIT: u64 = 10_000;

/// Most distinct values counted per user, IP address, country and app;
/// findings with further values are counted together as "other values".
pub const MAX_VALUES: usize = 10_000;

/// Rows each breakdown shows.
const TOP: usize = 10;

/// Most rules the by-rule table shows.
const TOP_RULES: usize = 100;

/// Most distinct hours the timeline counts (more than eleven years).
const MAX_HOURS: usize = 100_000;

/// Longest rendering of an expected or actual value, in characters.
const MAX_VALUE_CHARS: usize = 1_000;

/// Most unreadable records and skipped files the page lists.
const MAX_PROBLEMS_SHOWN: usize = 50;

/// The field that tells a sign-in's country.
const COUNTRY_FIELD: &str = "location.countryOrRegion";

/// Severities, most severe first: the order the page shows them.
const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// Counts per severity, indexed by `Severity as usize`.
type PerSeverity = [u64; 5];

fn get(counts: &PerSeverity, sev: Severity) -> u64 {
    counts.get(sev as usize).copied().unwrap_or(0)
}

fn add(counts: &mut PerSeverity, sev: Severity, n: u64) {
    if let Some(c) = counts.get_mut(sev as usize) {
        *c += n;
    }
}

/// Where the emitter is: calls out of order are errors, not a broken page.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    #[default]
    Unopened,
    Open,
    Closed,
}

/// Writes the `html` format.
#[derive(Debug)]
pub struct HtmlEmitter {
    phase: Phase,
    limit: u64,
    listed: u64,
    command_line: String,
    /// The rules that run: id, title, severity, in order.
    rules: Vec<(Arc<str>, Arc<str>, Severity)>,
    /// Findings per rule id, with the title and severity they carried.
    by_rule: HashMap<Arc<str>, (Arc<str>, Severity, u64)>,
    by_severity: [u64; 5],
    users: Tally,
    ips: Tally,
    countries: Tally,
    apps: Tally,
    timeline: Timeline,
    buf: String,
}

impl Default for HtmlEmitter {
    fn default() -> Self {
        Self::new()
    }
}

impl HtmlEmitter {
    /// An emitter for one run, listing at most [`DEFAULT_LIST_LIMIT`]
    /// findings.
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_LIST_LIMIT)
    }

    /// An emitter that lists at most `limit` findings (all are counted).
    pub fn with_limit(limit: u64) -> Self {
        HtmlEmitter {
            phase: Phase::Unopened,
            limit,
            listed: 0,
            command_line: String::new(),
            rules: Vec::new(),
            by_rule: HashMap::new(),
            by_severity: [0; 5],
            users: Tally::default(),
            ips: Tally::default(),
            countries: Tally::default(),
            apps: Tally::default(),
            timeline: Timeline::default(),
            buf: String::new(),
        }
    }

    fn count(&mut self, f: &Finding, country: Option<&str>) {
        add(&mut self.by_severity, f.severity, 1);
        match self.by_rule.get_mut(&f.rule_id) {
            Some(entry) => entry.2 += 1,
            None => {
                self.by_rule
                    .insert(f.rule_id.clone(), (f.title.clone(), f.severity, 1));
            }
        }
        let s = &f.sign_in;
        self.users.add(s.user_principal_name.as_deref());
        self.ips.add(s.ip_address.as_deref());
        self.apps.add(s.app_display_name.as_deref());
        self.countries.add(country);
        self.timeline
            .add(s.created_date_time.as_deref(), f.severity);
    }
}

impl Emitter for HtmlEmitter {
    fn begin(&mut self, out: &mut dyn Write, run: &RunInfo<'_>) -> io::Result<()> {
        if self.phase != Phase::Unopened {
            return Err(misuse("begin called twice"));
        }
        self.phase = Phase::Open;
        self.command_line = run.command_line.clone();
        self.rules = run
            .rules
            .iter()
            .map(|r| (r.id.clone(), r.title.clone(), r.severity))
            .collect();
        self.buf.clear();
        render_head(&mut self.buf, &self.command_line).map_err(io::Error::other)?;
        out.write_all(self.buf.as_bytes())
    }

    fn finding(&mut self, out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
        match self.phase {
            Phase::Open => {}
            Phase::Unopened => return Err(misuse("finding before begin")),
            Phase::Closed => return Err(misuse("finding after finish")),
        }
        let country = country(finding);
        self.count(finding, country);
        if self.listed >= self.limit {
            return Ok(());
        }
        self.listed += 1;
        self.buf.clear();
        render_finding(&mut self.buf, finding, country).map_err(io::Error::other)?;
        out.write_all(self.buf.as_bytes())
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        match self.phase {
            Phase::Open => {}
            Phase::Unopened => return Err(misuse("finish before begin")),
            Phase::Closed => return Err(misuse("finish called twice")),
        }
        self.phase = Phase::Closed;
        self.buf.clear();
        let mut buf = std::mem::take(&mut self.buf);
        self.render_tail(&mut buf, summary)
            .map_err(io::Error::other)?;
        out.write_all(buf.as_bytes())?;
        self.buf = buf;
        out.flush()
    }
}

fn misuse(what: &str) -> io::Error {
    io::Error::other(format!("report emitter misused: {what}"))
}

/// The country a finding's evidence saw, if a condition read it.
fn country(f: &Finding) -> Option<&str> {
    f.evidence
        .iter()
        .filter(|e| e.field.eq_ignore_ascii_case(COUNTRY_FIELD))
        .find_map(|e| e.actual.as_str())
        .filter(|s| !s.trim().is_empty())
}

/// Counts per distinct value, for at most [`MAX_VALUES`] values.
#[derive(Debug, Default)]
struct Tally {
    counts: HashMap<String, u64>,
    /// Findings whose record had no value.
    missing: u64,
    /// Findings whose value came after the table was full.
    overflow: u64,
}

impl Tally {
    fn add(&mut self, value: Option<&str>) {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            self.missing += 1;
            return;
        };
        if let Some(n) = self.counts.get_mut(value) {
            *n += 1;
        } else if self.counts.len() < MAX_VALUES {
            self.counts.insert(value.to_string(), 1);
        } else {
            self.overflow += 1;
        }
    }

    /// Values by count, highest first (ties by value).
    fn sorted(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }
}

/// Findings per hour and severity, from `signIn.createdDateTime`.
#[derive(Debug, Default)]
struct Timeline {
    /// Hours since 1970-01-01T00 (negative before) to counts per severity.
    hours: BTreeMap<i64, [u64; 5]>,
    /// Findings with no (readable) time, or past [`MAX_HOURS`].
    undated: u64,
}

impl Timeline {
    fn add(&mut self, time: Option<&str>, severity: Severity) {
        match time.and_then(hour_of) {
            Some(h) if self.hours.len() < MAX_HOURS || self.hours.contains_key(&h) => {
                add(self.hours.entry(h).or_default(), severity, 1);
            }
            _ => self.undated += 1,
        }
    }
}

/// The hour of a `YYYY-MM-DDTHH...` time stamp, as hours since the epoch.
fn hour_of(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let at = |i: usize| b.get(i).copied();
    if at(4) != Some(b'-') || at(7) != Some(b'-') || !matches!(at(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d, h) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 24 + h)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01: (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A string from a log or a rule, escaped for HTML text and attribute
/// values; control and bidirectional formatting characters (which could
/// fake lines or reorder what is shown) are made visible.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() || is_invisible_control(c) => {
                    write!(f, "\\u{{{:x}}}", c as u32)?
                }
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

fn is_invisible_control(c: char) -> bool {
    matches!(
        c,
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}' | '\u{feff}'
    )
}

/// A number with thousands separators.
struct Num(u64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                f.write_char(',')?;
            }
            f.write_char(c)?;
        }
        Ok(())
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// A value as the evidence table shows it: JSON, cut when long.
fn value_text(v: &Value) -> String {
    let mut s = match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    if let Some((cut, _)) = s.char_indices().nth(MAX_VALUE_CHARS) {
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// A time stamp as the page shows it: `2025-03-02 08:11:00`.
fn short_time(t: &str) -> String {
    let cut = t.get(..19).unwrap_or(t);
    cut.replacen('T', " ", 1)
}

const LOGO: &str = r##"<svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="7" fill="#1e293b"/><path d="M7 11h18M10 11v13M22 11v13M7 24h18" stroke="#f8fafc" stroke-width="2.4" stroke-linecap="round"/><path d="M12 17h8" stroke="#f59e0b" stroke-width="2.4" stroke-linecap="round"/></svg>"##;

fn render_head(o: &mut String, command_line: &str) -> fmt::Result {
    write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{TOOL_NAME} {TOOL_VERSION}\">\n\
         <title>{TOOL_NAME} report</title>\n<style>\n{STYLE}</style>\n</head>\n\
         <body>\n<div class=\"page\">\n<header class=\"top\">{LOGO}\
         <div class=\"brand\"><h1>Sign-in findings</h1>\
         <div class=\"sub\">{TOOL_NAME} {TOOL_VERSION} · Microsoft Entra ID sign-in logs</div></div>\
         <div class=\"cmd\" title=\"command line\"><span class=\"prompt\">$</span> <code>{}</code></div>\
         </header>\n<section class=\"list\" id=\"list\" aria-label=\"Findings\">\n",
        Esc(command_line)
    )
}

fn render_finding(o: &mut String, f: &Finding, country: Option<&str>) -> fmt::Result {
    let sev = f.severity.name();
    let s = &f.sign_in;
    write!(
        o,
        "<details class=\"f\" data-sev=\"{sev}\" data-rule=\"{}\"",
        Esc(&f.rule_id)
    )?;
    for (name, value) in [
        ("user", s.user_principal_name.as_deref()),
        ("ip", s.ip_address.as_deref()),
        ("app", s.app_display_name.as_deref()),
        ("country", country),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            write!(o, " data-{name}=\"{}\"", Esc(v))?;
        }
    }
    let when = s.created_date_time.as_deref().map(short_time);
    writeln!(
        o,
        "><summary><span class=\"sev s-{sev}\">{sev}</span>\
         <span class=\"when\">{}</span><span class=\"rid\">{}</span>\
         <span class=\"msg\">{}</span><span class=\"who\">{}</span><span class=\"addr\">{}</span></summary>",
        Esc(when.as_deref().unwrap_or("—")),
        Esc(&f.rule_id),
        Esc(&f.message),
        Esc(s.user_principal_name.as_deref().unwrap_or("—")),
        Esc(s.ip_address.as_deref().unwrap_or("—")),
    )?;
    write!(
        o,
        "<div class=\"fb\"><div class=\"ft\"><span class=\"sev s-{sev}\">{sev}</span> \
         <b>{}</b> {}</div><p class=\"fm\">{}</p><dl class=\"kv\">",
        Esc(&f.rule_id),
        Esc(&f.title),
        Esc(&f.message)
    )?;
    let location = if &*f.location.path == "-" {
        format!("standard input:{}", f.location.line)
    } else {
        format!("{}:{}", f.location.path, f.location.line)
    };
    write!(
        o,
        "<dt>Location</dt><dd><code>{}</code> <span class=\"muted\">record {}</span></dd>",
        Esc(&location),
        f.location.record
    )?;
    let rows: [(&str, Option<&str>); 8] = [
        ("Time", s.created_date_time.as_deref()),
        ("User", s.user_principal_name.as_deref()),
        ("IP address", s.ip_address.as_deref()),
        ("Country", country),
        ("App", s.app_display_name.as_deref()),
        ("Log", Some(f.category.as_str())),
        ("Sign-in id", s.id.as_deref()),
        ("Correlation id", s.correlation_id.as_deref()),
    ];
    for (label, value) in rows {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            write!(o, "<dt>{label}</dt><dd>{}</dd>", Esc(v))?;
        }
    }
    writeln!(
        o,
        "<dt>Fingerprint</dt><dd><code>{}</code></dd></dl>",
        Esc(&f.fingerprint)
    )?;
    if !f.evidence.is_empty() {
        o.push_str(
            "<table class=\"ev\"><thead><tr><th>Condition</th><th>Expected</th>\
             <th>Actual</th><th>Outcome</th></tr></thead><tbody>",
        );
        for e in &f.evidence {
            let actual = if e.actual.is_null() {
                "<span class=\"absent\">absent</span>".to_string()
            } else {
                format!("<code>{}</code>", Esc(&value_text(&e.actual)))
            };
            let (class, outcome) = if e.outcome {
                ("yes", "true")
            } else {
                ("no", "false")
            };
            write!(
                o,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{actual}</td>\
                 <td><span class=\"oc {class}\">{outcome}</span></td></tr>",
                Esc(&e.condition),
                Esc(&value_text(&e.expected)),
            )?;
        }
        o.push_str("</tbody></table>\n");
    }
    o.push_str("</div></details>\n");
    Ok(())
}

impl HtmlEmitter {
    fn render_tail(&self, o: &mut String, summary: &Summary) -> fmt::Result {
        let total: u64 = self.by_severity.iter().sum();
        o.push_str("</section>\n");
        self.render_run(o, summary, total)?;
        self.render_severities(o, total)?;
        self.render_timeline(o)?;
        self.render_breakdowns(o)?;
        self.render_list_head(o, total)?;
        write!(
            o,
            "<footer class=\"foot\">Written by {TOOL_NAME} {TOOL_VERSION}. This page is one \
             self-contained file: it loads nothing from the network.</footer>\n\
             </div>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
        )
    }

    fn render_run(&self, o: &mut String, s: &Summary, total: u64) -> fmt::Result {
        let t = &s.totals;
        let top = SEVERITIES
            .into_iter()
            .find(|sev| get(&self.by_severity, *sev) > 0);
        let top_class = top.map_or("none", Severity::name);
        o.push_str("<section class=\"run\" aria-label=\"Run\"><div class=\"kpis\">");
        write!(
            o,
            "<div class=\"kpi main k-{top_class}\"><div class=\"n\">{}{}</div><div class=\"l\">{}</div></div>",
            Num(total),
            match top {
                Some(sev) =>
                    format!(" <span class=\"sev s-{sev}\" title=\"highest severity\">{sev}</span>"),
                None => String::new(),
            },
            plural(total, "finding", "findings"),
        )?;
        let accepted = s.accepted.total();
        let kpis: [(&str, u64, &str); 7] = [
            ("rules", s.rules, ""),
            ("files", s.files.len() as u64, ""),
            ("records", t.records, ""),
            ("evaluated", t.evaluated, ""),
            (
                "unreadable",
                t.unreadable,
                if t.unreadable > 0 { " warn" } else { "" },
            ),
            ("untargeted", t.untargeted, ""),
            ("accepted", accepted, ""),
        ];
        for (label, n, class) in kpis {
            write!(
                o,
                "<div class=\"kpi{class}\"><div class=\"n\">{}</div><div class=\"l\">{label}</div></div>",
                Num(n)
            )?;
        }
        o.push_str("</div>");
        // Details of the run: time range, accepted findings, files, problems.
        o.push_str("<div class=\"facts\">");
        if let (Some((first, _)), Some((last, _))) = (
            self.timeline.hours.first_key_value(),
            self.timeline.hours.last_key_value(),
        ) {
            write!(
                o,
                "<span><b>Sign-ins with findings</b> {} – {} UTC</span>",
                hour_label(*first),
                hour_label(*last + 1)
            )?;
        }
        if accepted > 0 {
            write!(
                o,
                "<span><b>Accepted</b> {} by the baseline",
                Num(s.accepted.baseline)
            )?;
            for e in &s.accepted.exceptions {
                write!(
                    o,
                    "; {} {} by the exception for <code>{}</code> ({}{})",
                    Num(e.findings),
                    plural(e.findings, "finding", "findings"),
                    Esc(&e.rule_id),
                    Esc(&e.reason),
                    match &e.expires {
                        Some(d) => format!(", expires {}", Esc(d)),
                        None => String::new(),
                    }
                )?;
            }
            o.push_str("</span>");
        }
        o.push_str("</div>");
        if !s.files.is_empty() {
            write!(
                o,
                "<details class=\"more\"><summary>Files read ({})</summary><table class=\"tbl\">\
                 <thead><tr><th>File</th><th>Shape</th><th class=\"r\">Records</th>\
                 <th class=\"r\">Evaluated</th><th class=\"r\">Unreadable</th>\
                 <th class=\"r\">Findings</th></tr></thead><tbody>",
                s.files.len()
            )?;
            for file in &s.files {
                write!(
                    o,
                    "<tr><td><code>{}</code></td><td>{}</td><td class=\"r\">{}</td>\
                     <td class=\"r\">{}</td><td class=\"r\">{}</td><td class=\"r\">{}</td></tr>",
                    Esc(&file.path),
                    Esc(&file.format),
                    Num(file.records),
                    Num(file.evaluated),
                    Num(file.unreadable),
                    Num(file.findings)
                )?;
            }
            o.push_str("</tbody></table></details>");
        }
        for (title, problems, open) in [
            ("Unreadable records and files", &s.problems, " open"),
            ("Skipped files", &s.skipped, ""),
        ] {
            if problems.is_empty() {
                continue;
            }
            write!(
                o,
                "<details class=\"more\"{open}><summary>{title} ({})</summary><ul class=\"problems\">",
                problems.len()
            )?;
            for p in problems.iter().take(MAX_PROBLEMS_SHOWN) {
                let place = match p.record {
                    Some(r) => format!("{}:{} (record {r})", p.path, p.line),
                    None if p.line > 0 => format!("{}:{}", p.path, p.line),
                    None => p.path.to_string(),
                };
                write!(
                    o,
                    "<li><code>{}</code> {}</li>",
                    Esc(&place),
                    Esc(&p.reason)
                )?;
            }
            if problems.len() > MAX_PROBLEMS_SHOWN {
                write!(
                    o,
                    "<li class=\"muted\">and {} more (the json format lists them)</li>",
                    problems.len() - MAX_PROBLEMS_SHOWN
                )?;
            }
            o.push_str("</ul></details>");
        }
        o.push_str("</section>\n");
        Ok(())
    }

    fn render_severities(&self, o: &mut String, total: u64) -> fmt::Result {
        o.push_str("<section class=\"sevs\" aria-label=\"Findings by severity\">");
        for sev in SEVERITIES {
            let n = get(&self.by_severity, sev);
            let share = (n * 100).checked_div(total).unwrap_or(0);
            write!(
                o,
                "<div class=\"sevcard s-{sev}{}\" data-filter=\"sev\" data-value=\"{sev}\">\
                 <div class=\"n\">{}</div><div class=\"l\">{sev}</div><div class=\"pc\">{share}%</div></div>",
                if n == 0 { " zero" } else { "" },
                Num(n)
            )?;
        }
        o.push_str("<div class=\"stack\" aria-hidden=\"true\">");
        for sev in SEVERITIES {
            let n = get(&self.by_severity, sev);
            if n > 0 && total > 0 {
                write!(
                    o,
                    "<span class=\"b-{sev}\" style=\"width:{:.3}%\"></span>",
                    n as f64 * 100.0 / total as f64
                )?;
            }
        }
        o.push_str("</div></section>\n");
        Ok(())
    }

    fn render_timeline(&self, o: &mut String) -> fmt::Result {
        o.push_str(
            "<section class=\"card timeline\" aria-label=\"Timeline\"><div class=\"ch\"><h2>Timeline</h2>",
        );
        let buckets = buckets(&self.timeline.hours);
        let Some(unit) = buckets.first().map(|b| b.unit) else {
            let why = if self.timeline.undated > 0 {
                "No finding has a sign-in time."
            } else {
                "No findings."
            };
            writeln!(o, "</div><p class=\"empty\">{why}</p></section>")?;
            return Ok(());
        };
        write!(
            o,
            "<span class=\"hint\">findings per {} by severity, UTC</span><span class=\"legend\">",
            unit.name()
        )?;
        for sev in SEVERITIES {
            write!(o, "<span><i class=\"b-{sev}\"></i>{sev}</span>")?;
        }
        o.push_str("</span></div>");
        svg_histogram(o, &buckets)?;
        if self.timeline.undated > 0 {
            write!(
                o,
                "<p class=\"note\">{} {} without a sign-in time {} not shown.</p>",
                Num(self.timeline.undated),
                plural(self.timeline.undated, "finding", "findings"),
                plural(self.timeline.undated, "is", "are"),
            )?;
        }
        o.push_str("</section>\n");
        Ok(())
    }

    fn render_breakdowns(&self, o: &mut String) -> fmt::Result {
        o.push_str("<section class=\"grid\" aria-label=\"Totals\">");
        // By rule: every rule that found something, then how many did not.
        let mut rules: Vec<(&Arc<str>, &Arc<str>, Severity, u64)> = self
            .by_rule
            .iter()
            .map(|(id, (title, sev, n))| (id, title, *sev, *n))
            .collect();
        rules.sort_by(|a, b| {
            b.3.cmp(&a.3)
                .then_with(|| b.2.cmp(&a.2))
                .then_with(|| a.0.cmp(b.0))
        });
        let max = rules.first().map_or(1, |r| r.3).max(1);
        o.push_str("<div class=\"card rules\"><div class=\"ch\"><h2>By rule</h2></div>");
        if !rules.is_empty() {
            o.push_str(
                "<table class=\"tbl bars\"><thead><tr><th>Severity</th><th>Rule</th><th>Title</th>\
                 <th class=\"r\">Findings</th><th></th></tr></thead><tbody>",
            );
        }
        for (id, title, sev, n) in rules.iter().take(TOP_RULES) {
            write!(
                o,
                "<tr data-filter=\"rule\" data-value=\"{id}\"><td><span class=\"sev s-{sev}\">{sev}</span></td>\
                 <td class=\"rid\">{id}</td><td title=\"{title}\">{title}</td><td class=\"r n\">{}</td>\
                 <td class=\"barcell\"><span class=\"bar b-{sev}\" style=\"width:{:.1}%\"></span></td></tr>",
                Num(*n),
                *n as f64 * 100.0 / max as f64,
                id = Esc(id),
                title = Esc(title),
            )?;
        }
        if !rules.is_empty() {
            o.push_str("</tbody></table>");
        }
        let silent = self
            .rules
            .iter()
            .filter(|(id, _, _)| !self.by_rule.contains_key(id))
            .count();
        if rules.len() > TOP_RULES || silent > 0 || rules.is_empty() {
            o.push_str("<p class=\"note\">");
            if rules.len() > TOP_RULES {
                write!(
                    o,
                    "{} more rules with findings are not shown. ",
                    rules.len() - TOP_RULES
                )?;
            }
            if rules.is_empty() {
                o.push_str("No rule found anything. ");
            }
            if silent > 0 {
                write!(
                    o,
                    "{} of {} {} found nothing.",
                    silent,
                    self.rules.len(),
                    plural(self.rules.len() as u64, "rule", "rules")
                )?;
            }
            o.push_str("</p>");
        }
        o.push_str("</div>");
        for (title, key, tally, empty) in [
            ("By user", "user", &self.users, "No finding names a user."),
            (
                "By IP address",
                "ip",
                &self.ips,
                "No finding names an IP address.",
            ),
            (
                "By country",
                "country",
                &self.countries,
                "Findings do not carry a country; it shows here when a rule's evidence reads location.countryOrRegion, and none did.",
            ),
            ("By app", "app", &self.apps, "No finding names an app."),
        ] {
            tally_card(o, title, key, tally, empty)?;
        }
        o.push_str("</section>\n");
        Ok(())
    }

    fn render_list_head(&self, o: &mut String, total: u64) -> fmt::Result {
        write!(
            o,
            "<section class=\"listhead\" aria-label=\"Filters\"><div class=\"lh\"><h2>Findings</h2>\
             <span class=\"shown\" id=\"shown\">{} listed</span></div>",
            Num(self.listed)
        )?;
        if self.listed > 0 {
            o.push_str(
                "<form class=\"filters\" id=\"filters\" hidden autocomplete=\"off\">\
                 <div class=\"chips\">",
            );
            for sev in SEVERITIES {
                let disabled = if get(&self.by_severity, sev) == 0 {
                    " disabled"
                } else {
                    ""
                };
                write!(
                    o,
                    "<label class=\"chip s-{sev}\"><input type=\"checkbox\" name=\"sev\" value=\"{sev}\" checked{disabled}>{sev}</label>"
                )?;
            }
            o.push_str("</div>");
            for (key, label) in [
                ("rule", "Rule"),
                ("user", "User"),
                ("ip", "IP address"),
                ("app", "App"),
                ("country", "Country"),
            ] {
                write!(
                    o,
                    "<label class=\"sel\" id=\"w-{key}\"><span>{label}</span><select id=\"f-{key}\" data-key=\"{key}\"><option value=\"\">all</option></select></label>"
                )?;
            }
            o.push_str(
                "<label class=\"sel grow\"><span>Text</span><input type=\"search\" id=\"f-q\" placeholder=\"message, id, evidence…\"></label>\
                 <div class=\"btns\"><button type=\"button\" id=\"f-reset\">Reset</button>\
                 <button type=\"button\" id=\"f-open\">Expand all</button>\
                 <button type=\"button\" id=\"f-close\">Collapse all</button></div></form>",
            );
            o.push_str(
                "<div class=\"cols\" aria-hidden=\"true\"><span>severity</span><span>time (UTC)</span>\
                 <span>rule</span><span>message</span><span>user</span><span>IP address</span></div>",
            );
        }
        if total > self.listed {
            write!(
                o,
                "<p class=\"cap\">This page lists the first {} of {} findings; the other {} are in the \
                 totals above but not listed. The json and jsonl formats carry them all.</p>",
                Num(self.listed),
                Num(total),
                Num(total - self.listed)
            )?;
        }
        if total == 0 {
            o.push_str("<p class=\"empty\">No findings.</p>");
        }
        o.push_str("</section>\n");
        Ok(())
    }
}

fn tally_card(o: &mut String, title: &str, key: &str, t: &Tally, empty: &str) -> fmt::Result {
    write!(o, "<div class=\"card\"><div class=\"ch\"><h2>{title}</h2>")?;
    let sorted = t.sorted();
    if !sorted.is_empty() {
        write!(
            o,
            "<span class=\"hint\">{} {}</span>",
            Num(sorted.len() as u64),
            if t.overflow > 0 {
                "counted"
            } else {
                "distinct"
            }
        )?;
    }
    o.push_str("</div>");
    if sorted.is_empty() {
        write!(o, "<p class=\"empty\">{}</p></div>", Esc(empty))?;
        return Ok(());
    }
    let max = sorted.first().map_or(1, |v| v.1).max(1);
    o.push_str("<table class=\"tbl bars\"><tbody>");
    for (value, n) in sorted.iter().take(TOP) {
        write!(
            o,
            "<tr data-filter=\"{key}\" data-value=\"{v}\"><td class=\"val\" title=\"{v}\">{v}</td>\
             <td class=\"r n\">{}</td><td class=\"barcell\"><span class=\"bar\" style=\"width:{:.1}%\"></span></td></tr>",
            Num(*n),
            *n as f64 * 100.0 / max as f64,
            v = Esc(value),
        )?;
    }
    o.push_str("</tbody></table>");
    let rest: u64 = sorted.iter().skip(TOP).map(|(_, n)| n).sum::<u64>() + t.overflow;
    let rest_values = sorted.len().saturating_sub(TOP);
    if rest > 0 || t.missing > 0 {
        o.push_str("<p class=\"note\">");
        if rest > 0 {
            write!(
                o,
                "{} more {} in {} other {}{}. ",
                Num(rest),
                plural(rest, "finding", "findings"),
                Num(rest_values as u64),
                plural(rest_values as u64, "value", "values"),
                if t.overflow > 0 {
                    format!(
                        " and {} past the first {} values",
                        Num(t.overflow),
                        Num(MAX_VALUES as u64)
                    )
                } else {
                    String::new()
                }
            )?;
        }
        if t.missing > 0 {
            write!(
                o,
                "{} {} without one.",
                Num(t.missing),
                plural(t.missing, "finding", "findings")
            )?;
        }
        o.push_str("</p>");
    }
    o.push_str("</div>");
    Ok(())
}

/// How long a bar of the timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Hour,
    Day,
    Month,
    Year,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Hour => "hour",
            Unit::Day => "day",
            Unit::Month => "month",
            Unit::Year => "year",
        }
    }
}

/// One bar of the timeline.
#[derive(Debug)]
struct Bucket {
    unit: Unit,
    /// First hour of the bucket, hours since the epoch.
    start: i64,
    counts: [u64; 5],
}

/// `2025-03-02 08:00`.
fn hour_label(h: i64) -> String {
    let (y, m, d) = civil_from_days(h.div_euclid(24));
    format!("{y:04}-{m:02}-{d:02} {:02}:00", h.rem_euclid(24))
}

fn bucket_label(b: &Bucket) -> String {
    let (y, m, d) = civil_from_days(b.start.div_euclid(24));
    match b.unit {
        Unit::Hour => format!("{m:02}-{d:02} {:02}h", b.start.rem_euclid(24)),
        Unit::Day => format!("{y:04}-{m:02}-{d:02}"),
        Unit::Month => format!("{y:04}-{m:02}"),
        Unit::Year => format!("{y:04}"),
    }
}

/// The bars of the timeline: every hour, day, month or year from the
/// first finding to the last, empty ones included, at most a few hundred.
fn buckets(hours: &BTreeMap<i64, [u64; 5]>) -> Vec<Bucket> {
    let (Some((&first, _)), Some((&last, _))) = (hours.first_key_value(), hours.last_key_value())
    else {
        return Vec::new();
    };
    let span_hours = last - first;
    let month_of = |h: i64| {
        let (y, m, _) = civil_from_days(h.div_euclid(24));
        y * 12 + m - 1
    };
    let unit = if span_hours < 72 {
        Unit::Hour
    } else if span_hours < 24 * 120 {
        Unit::Day
    } else if month_of(last) - month_of(first) < 240 {
        Unit::Month
    } else {
        Unit::Year
    };
    // The key of the bucket an hour falls in, and the bucket's first hour.
    let key = |h: i64| match unit {
        Unit::Hour => h,
        Unit::Day => h.div_euclid(24),
        Unit::Month => month_of(h),
        Unit::Year => month_of(h).div_euclid(12),
    };
    let start = |k: i64| match unit {
        Unit::Hour => k,
        Unit::Day => k * 24,
        Unit::Month => days_from_civil(k.div_euclid(12), k.rem_euclid(12) + 1, 1) * 24,
        Unit::Year => days_from_civil(k, 1, 1) * 24,
    };
    let (k0, k1) = (key(first), key(last));
    let mut out: Vec<Bucket> = (k0..=k1)
        .map(|k| Bucket {
            unit,
            start: start(k),
            counts: [0; 5],
        })
        .collect();
    for (h, counts) in hours {
        if let Some(b) = out.get_mut((key(*h) - k0) as usize) {
            for sev in SEVERITIES {
                add(&mut b.counts, sev, get(counts, sev));
            }
        }
    }
    out
}

/// A round number at or above `n`, for the top of the axis.
fn nice_ceiling(n: u64) -> u64 {
    if n <= 10 {
        return if n <= 5 { 5 } else { 10 };
    }
    let mut step: u64 = 1;
    loop {
        // 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten.
        for tenths in [10, 15, 20, 25, 30, 40, 50, 60, 80] {
            let top = step.saturating_mul(tenths) / 10;
            if top >= n {
                return top;
            }
        }
        if step > u64::MAX / 100 {
            return n;
        }
        step *= 10;
    }
}

/// An SVG histogram of `buckets`, stacked by severity, most severe at the
/// bottom; each bar has a title (a tooltip) with its counts.
fn svg_histogram(o: &mut String, buckets: &[Bucket]) -> fmt::Result {
    const W: f64 = 1200.0;
    const H: f64 = 200.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 26.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let peak = buckets
        .iter()
        .map(|b| b.counts.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let top = nice_ceiling(peak);
    write!(
        o,
        "<svg class=\"hist\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Findings over time\">"
    )?;
    for tick in [0, top / 2, top] {
        if tick == top / 2 && (top < 2 || !top.is_multiple_of(2)) {
            continue;
        }
        let y = TOP + plot_h - tick as f64 / top as f64 * plot_h;
        write!(
            o,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"ax\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            Num(tick)
        )?;
    }
    let n = buckets.len() as f64;
    let slot = plot_w / n;
    let gap = if slot > 6.0 {
        (slot * 0.18).min(6.0)
    } else {
        0.0
    };
    // A bar is at most this wide, centred in its slot, so a few bars do not
    // fill the chart.
    let bar = (slot - gap).clamp(0.5, 64.0);
    // Labels about 7 units a character wide, with room between them.
    let label_width = buckets
        .first()
        .map_or(0, |b| bucket_label(b).chars().count()) as f64
        * 7.0
        + 16.0;
    let label_every = ((label_width / slot).ceil() as usize).max(1);
    for (i, b) in buckets.iter().enumerate() {
        let x = LEFT + i as f64 * slot;
        let total: u64 = b.counts.iter().sum();
        if total > 0 {
            let mut tip = format!(
                "{} ({}): {} {}",
                bucket_label(b),
                b.unit.name(),
                total,
                plural(total, "finding", "findings")
            );
            for sev in SEVERITIES {
                let c = get(&b.counts, sev);
                if c > 0 {
                    let _ = write!(tip, ", {sev} {c}");
                }
            }
            write!(o, "<g><title>{}</title>", Esc(&tip))?;
            let mut y = TOP + plot_h;
            for sev in SEVERITIES {
                let c = get(&b.counts, sev);
                if c == 0 {
                    continue;
                }
                let h = c as f64 / top as f64 * plot_h;
                y -= h;
                write!(
                    o,
                    "<rect class=\"b-{sev}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\"/>",
                    x + (slot - bar) / 2.0,
                    bar
                )?;
            }
            o.push_str("</g>");
        }
        if i % label_every == 0 {
            write!(
                o,
                "<text class=\"ax\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                H - 8.0,
                bucket_label(b)
            )?;
        }
    }
    write!(
        o,
        "<line class=\"base\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/></svg>",
        W - RIGHT,
        TOP + plot_h,
        TOP + plot_h
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata::{self, HOSTILE};

    #[test]
    fn page_lists_findings_with_totals_and_evidence() {
        let page = testdata::render(&mut HtmlEmitter::new(), false, true);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.trim_end().ends_with("</html>"));
        assert_eq!(page.matches("<details class=\"f\"").count(), 3);
        for needle in [
            "TG-CA-001",
            "TG-RISK-002",
            "alice@contoso.com",
            "203.0.113.7",
            "Azure Portal",
            "examples/logs/graph.jsonl:3",
            "record 2",
            "standard input:1",
            "conditionalAccessStatus eq notApplied",
            "<span class=\"absent\">absent</span>",
            "expected `,` or `}` at column 18",
            "examples/logs/README.md",
            "<svg class=\"hist\"",
        ] {
            assert!(page.contains(needle), "missing {needle}");
        }
        assert!(page.contains("default-src 'none'"));
        assert!(!page.contains("src=\"http"));
    }

    #[test]
    fn hostile_strings_are_escaped() {
        // Why: log fields are attacker-controlled; a user name or message
        // must not close an element, open a tag or add an attribute.
        let rules = testdata::rules();
        let mut f = testdata::hostile_finding();
        let attack = "</script><img src=x onerror=alert(1)>\"'<marquee>";
        f.message = format!("{attack} {HOSTILE}");
        f.sign_in.user_principal_name = Some(attack.into());
        f.sign_in.app_display_name = Some(attack.into());
        f.rule_id = "TG-<i>".into();
        let findings = vec![f];
        let summary = testdata::summary(&findings);
        let run = RunInfo {
            command_line: format!("tollgate check {attack}"),
            ..testdata::run(&rules, false)
        };
        let page = testdata::render_with(&mut HtmlEmitter::new(), &run, &findings, &summary);
        assert!(!page.contains("<img"));
        assert!(!page.contains("<marquee>"));
        assert!(!page.contains("<i>"));
        assert_eq!(page.matches("</script>").count(), 1, "only the page's own");
        assert!(page.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;"));
        // Control and bidirectional characters are shown, not obeyed.
        assert!(page.contains("bidi\\u{202e}"));
        assert!(page.contains("esc\\u{1b}[31m"));
        assert!(!page.contains('\u{202e}'));
        assert!(!page.contains('\u{0}'));
    }

    #[test]
    fn the_list_is_capped_but_the_totals_count_everything() {
        let rules = testdata::rules();
        let findings: Vec<Finding> = std::iter::repeat_n(testdata::findings(), 4)
            .flatten()
            .collect();
        let summary = testdata::summary(&findings);
        let run = testdata::run(&rules, false);
        let page =
            testdata::render_with(&mut HtmlEmitter::with_limit(5), &run, &findings, &summary);
        assert_eq!(page.matches("<details class=\"f\"").count(), 5);
        assert!(page.contains("lists the first 5 of 12 findings; the other 7"));
        assert!(page.contains("<div class=\"n\">12 <span"));
    }

    #[test]
    fn an_empty_run_says_so() {
        let page = testdata::render(&mut HtmlEmitter::new(), false, false);
        assert!(page.contains("No findings."));
        assert!(!page.contains("<table class=\"tbl bars\">"));
        assert!(!page.contains("id=\"filters\""));
    }

    #[test]
    fn out_of_order_calls_are_errors() {
        let mut e = HtmlEmitter::new();
        let mut out = Vec::new();
        let finding = testdata::findings().remove(0);
        assert!(e.finding(&mut out, &finding).is_err());
        assert!(e.finish(&mut out, &testdata::summary(&[])).is_err());
    }

    #[test]
    fn country_comes_from_the_evidence() {
        let mut f = testdata::findings().remove(0);
        assert_eq!(country(&f), None);
        f.evidence[0].field = COUNTRY_FIELD.into();
        f.evidence[0].actual = Value::String("FR".into());
        assert_eq!(country(&f), Some("FR"));
    }

    #[test]
    fn timeline_buckets_by_hour_day_or_month() {
        let mut t = Timeline::default();
        t.add(Some("2025-03-02T08:11:00.1234567Z"), Severity::High);
        t.add(Some("2025-03-02T10:59:59Z"), Severity::Low);
        t.add(Some("not a time"), Severity::Low);
        t.add(None, Severity::Low);
        assert_eq!(t.undated, 2);
        let b = buckets(&t.hours);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].unit, Unit::Hour);
        assert_eq!(bucket_label(&b[0]), "03-02 08h");
        assert_eq!(b[1].counts, [0; 5]);
        t.add(Some("2025-03-20T00:00:00Z"), Severity::Info);
        let b = buckets(&t.hours);
        assert_eq!(b[0].unit, Unit::Day);
        assert_eq!(b.len(), 19);
        assert_eq!(bucket_label(&b[18]), "2025-03-20");
        t.add(Some("2026-01-01T00:00:00Z"), Severity::Info);
        let b = buckets(&t.hours);
        assert_eq!(b[0].unit, Unit::Month);
        assert_eq!(b.len(), 11);
        assert_eq!(bucket_label(&b[10]), "2026-01");
        assert_eq!(
            hour_label(hour_of("1969-12-31T23:00:00Z").unwrap()),
            "1969-12-31 23:00"
        );
    }

    #[test]
    fn the_axis_tops_at_a_round_number() {
        assert_eq!(nice_ceiling(1), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(18), 20);
        assert_eq!(nice_ceiling(2_144), 2_500);
        assert_eq!(nice_ceiling(5_365), 6_000);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
    }

    #[test]
    fn numbers_have_separators() {
        assert_eq!(Num(0).to_string(), "0");
        assert_eq!(Num(999).to_string(), "999");
        assert_eq!(Num(1000).to_string(), "1,000");
        assert_eq!(Num(1234567).to_string(), "1,234,567");
    }
}
