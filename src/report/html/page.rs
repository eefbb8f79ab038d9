//! The page itself: its styles, script and head, each finding's card,
//! and the tail (run, totals, breakdowns, timeline) written at the end.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use super::counts::{MAX_VALUES, SEVERITIES, Tally, get};
use super::text::{Esc, Num, short_time, value_text};
use super::timeline::{buckets, hour_label, svg_histogram};
use super::totals::Totals;
use crate::diag::plural;
use crate::finding::{Finding, Severity, Summary};
use crate::report::{TOOL_NAME, TOOL_VERSION};

/// The page's styles.
const STYLE: &str = include_str!("report.css");

/// The page's script: filters, nothing else.
const SCRIPT: &str = include_str!("report.js");

/// No fetch of any kind; inline styles and scripts, and `data:` images.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// Rows each breakdown shows.
pub(super) const TOP: usize = 10;

/// Most rules the by-rule table shows.
const TOP_RULES: usize = 100;

/// Most unreadable records and skipped files the page lists.
const MAX_PROBLEMS_SHOWN: usize = 50;

const LOGO: &str = r##"<svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="7" fill="#1e293b"/><path d="M7 11h18M10 11v13M22 11v13M7 24h18" stroke="#f8fafc" stroke-width="2.4" stroke-linecap="round"/><path d="M12 17h8" stroke="#f59e0b" stroke-width="2.4" stroke-linecap="round"/></svg>"##;

pub(super) fn render_head(o: &mut String, command_line: &str) -> fmt::Result {
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

pub(super) fn render_finding(o: &mut String, f: &Finding, country: Option<&str>) -> fmt::Result {
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

impl Totals {
    pub(super) fn render_tail(&self, o: &mut String, summary: &Summary) -> fmt::Result {
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
