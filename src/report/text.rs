//! The `text` format: findings for people reading a terminal or a CI log.
//!
//! Takes each finding and gives a block: severity and rule, where the
//! record is, the message, and the conditions that decided the match with
//! the values seen. `finish` gives the accounting: findings by severity,
//! records read, evaluated and unreadable, files and rules, then each
//! unreadable record or file and each skipped file.
//!
//! Log values are untrusted and a terminal obeys escape sequences, so every
//! string from a log or a rule is written with control and bidirectional
//! formatting characters made visible. Colour (ANSI escapes) only when
//! [`RunInfo::color`] says so.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use serde_json::Value;

use super::{Emitter, RunInfo};
use crate::finding::{Evidence, Finding, MAX_PROBLEMS_KEPT, Problem, Severity, Summary};

/// Longest rendering of a value seen, in characters, before it is cut: the
/// whole value is in the machine formats.
const MAX_VALUE_CHARS: usize = 100;

/// Width of the severity column: the longest name, `critical`.
const SEVERITY_WIDTH: usize = 8;

/// Width of the label column of the summary.
const LABEL_WIDTH: usize = 10;

/// Writes the `text` format.
#[derive(Debug, Default)]
pub struct TextEmitter {
    color: bool,
    buf: String,
}

impl TextEmitter {
    /// An emitter for one run.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Emitter for TextEmitter {
    fn begin(&mut self, _out: &mut dyn Write, run: &RunInfo<'_>) -> io::Result<()> {
        self.color = run.color;
        Ok(())
    }

    fn finding(&mut self, out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
        self.buf.clear();
        let style = Style(self.color);
        render_finding(&mut self.buf, style, finding).map_err(io::Error::other)?;
        out.write_all(self.buf.as_bytes())
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        self.buf.clear();
        let style = Style(self.color);
        render_summary(&mut self.buf, style, summary).map_err(io::Error::other)?;
        out.write_all(self.buf.as_bytes())?;
        out.flush()
    }
}

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
struct Style(bool);

impl Style {
    const RESET: &'static str = "\x1b[0m";
    const BOLD: &'static str = "\x1b[1m";
    const DIM: &'static str = "\x1b[2m";

    fn severity(sev: Severity) -> &'static str {
        match sev {
            Severity::Critical => "\x1b[1;35m",
            Severity::High => "\x1b[1;31m",
            Severity::Medium => "\x1b[33m",
            Severity::Low => "\x1b[36m",
            Severity::Info => "\x1b[34m",
        }
    }

    /// Writes `text` in `code`, or plain when colour is off.
    fn paint(self, out: &mut String, code: &str, text: impl fmt::Display) -> fmt::Result {
        if self.0 {
            write!(out, "{code}{text}{}", Self::RESET)
        } else {
            write!(out, "{text}")
        }
    }
}

/// A string from a log or a rule, with control characters (which could
/// move the cursor, recolour or clear a terminal, or fake extra lines) and
/// bidirectional overrides (which could reorder what is shown) escaped.
struct Clean<'a>(&'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text between characters to escape is written as one piece.
        let mut rest = self.0;
        while let Some((at, c)) = rest
            .char_indices()
            .find(|&(_, c)| c.is_control() || is_bidi_control(c))
        {
            let (clean, tail) = rest.split_at(at);
            f.write_str(clean)?;
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{{{:x}}}", c as u32)?,
            }
            rest = tail.get(c.len_utf8()..).unwrap_or_default();
        }
        f.write_str(rest)
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// How a location's file is shown: standard input has no name.
fn display_path(path: &str) -> &str {
    if path == "-" { "<stdin>" } else { path }
}

fn render_finding(out: &mut String, style: Style, f: &Finding) -> fmt::Result {
    let sev = f.severity.name();
    style.paint(out, Style::severity(f.severity), sev)?;
    let pad = SEVERITY_WIDTH.saturating_sub(sev.len()) + 2;
    write!(out, "{:pad$}", "")?;
    style.paint(out, Style::BOLD, Clean(&f.rule_id))?;
    writeln!(out, "  {}", Clean(&f.title))?;

    out.push_str("  ");
    style.paint(
        out,
        Style::DIM,
        format_args!(
            "at {}:{} (record {})",
            Clean(display_path(&f.location.path)),
            f.location.line,
            f.location.record
        ),
    )?;
    out.push('\n');

    writeln!(out, "  {}", Clean(&f.message))?;

    if let Some(e) = &f.episode {
        render_episode(out, e)?;
    }

    for (i, e) in f.evidence.iter().enumerate() {
        // "because" for the first condition, "and" right-aligned under it
        // for the others, so the conditions line up.
        let lead = if i == 0 { "because" } else { "    and" };
        write!(out, "  {lead} ")?;
        render_evidence(out, e)?;
        out.push('\n');
    }
    out.push('\n');
    Ok(())
}

/// Records listed under a window or sequence finding.
const EPISODE_RECORDS_SHOWN: usize = 5;

/// The block of a window or sequence finding: group, span, counts, and the
/// first few contributing records.
fn render_episode(out: &mut String, e: &crate::finding::Episodic) -> fmt::Result {
    if !e.group.is_empty() {
        let group: Vec<String> = e
            .group
            .iter()
            .map(|(k, v)| format!("{k}={}", Clean(v)))
            .collect();
        writeln!(out, "  group   {}", group.join(", "))?;
    }
    writeln!(
        out,
        "  window  {} – {}, {} {}",
        e.window_start,
        e.window_end,
        e.count,
        if e.count == 1 { "record" } else { "records" }
    )?;
    for (field, d) in &e.distinct {
        let values: Vec<String> = d
            .values
            .iter()
            .take(EPISODE_RECORDS_SHOWN)
            .map(|v| Clean(v).to_string())
            .collect();
        let more = d.total.saturating_sub(values.len() as u64);
        write!(
            out,
            "  distinct {field}: {} ({})",
            d.total,
            values.join(", ")
        )?;
        if more > 0 {
            write!(out, " and {more} more")?;
        }
        out.push('\n');
    }
    for step in &e.steps {
        if step.absent {
            writeln!(out, "  step    {}: absent", step.name)?;
        } else {
            let noun = if step.total == 1 { "record" } else { "records" };
            writeln!(out, "  step    {}: {} {noun}", step.name, step.total)?;
        }
    }
    for r in e.records.iter().take(EPISODE_RECORDS_SHOWN) {
        writeln!(
            out,
            "    {}:{} (record {}) {}{}",
            Clean(display_path(&r.path)),
            r.line,
            r.record,
            r.time,
            r.id.as_deref()
                .map(|id| format!(" id {}", Clean(id)))
                .unwrap_or_default()
        )?;
    }
    let shown = e.records.len().min(EPISODE_RECORDS_SHOWN) as u64;
    if e.records_total > shown {
        writeln!(out, "    and {} more", e.records_total - shown)?;
    }
    Ok(())
}

fn render_evidence(out: &mut String, e: &Evidence) -> fmt::Result {
    if !e.outcome {
        out.push_str("not ");
    }
    write!(out, "{} (saw ", Clean(&e.condition))?;
    render_value(out, &e.actual)?;
    // A comparison with another field shows that field's value too.
    if let (Some(Value::String(other)), Some(value)) =
        (e.expected.get("field"), e.expected.get("value"))
    {
        write!(out, "; {} was ", Clean(other))?;
        render_value(out, value)?;
    }
    out.push(')');
    Ok(())
}

/// A value seen, as JSON (strings quoted, so `"0"` and `0` differ), or
/// `absent` for a field the record did not have.
fn render_value(out: &mut String, value: &Value) -> fmt::Result {
    if value.is_null() {
        out.push_str("absent");
        return Ok(());
    }
    let json = value.to_string();
    let mut chars = json.char_indices();
    match chars.nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => write!(out, "{}…", Clean(json.get(..cut).unwrap_or_default())),
        None => write!(out, "{}", Clean(&json)),
    }
}

fn render_summary(out: &mut String, style: Style, s: &Summary) -> fmt::Result {
    let total = s.totals.findings;
    if total == 0 {
        out.push_str("no findings\n");
    } else {
        write!(
            out,
            "{total} finding{}: ",
            if total == 1 { "" } else { "s" }
        )?;
        // Most serious first: that is what a reader acts on.
        let counts = Severity::ALL
            .iter()
            .rev()
            .filter_map(|sev| Some((*sev, *s.by_severity.get(sev).filter(|n| **n > 0)?)));
        for (i, (sev, n)) in counts.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write!(out, "{n} ")?;
            style.paint(out, Style::severity(sev), sev.name())?;
        }
        out.push('\n');
    }
    if s.accepted.total() > 0 {
        // "accepted  3 not reported: 1 in the baseline; 2 TG-CA-001 by
        // exception (break-glass account)"
        let mut parts = Vec::new();
        if s.accepted.baseline > 0 {
            parts.push(format!("{} in the baseline", s.accepted.baseline));
        }
        for e in &s.accepted.exceptions {
            parts.push(format!(
                "{} {} by exception ({})",
                e.findings,
                e.rule_id,
                Clean(&e.reason)
            ));
        }
        writeln!(
            out,
            "{:LABEL_WIDTH$}{} not reported: {}",
            "accepted",
            s.accepted.total(),
            parts.join("; ")
        )?;
    }

    if s.duplicates > 0 {
        writeln!(
            out,
            "{:LABEL_WIDTH$}{} not reported: the same rule on the same sign-in, delivered again",
            "repeated", s.duplicates
        )?;
    }

    if s.untimed > 0 {
        let first = match &s.first_untimed {
            Some(at) => format!(
                " (the first at {}:{})",
                Clean(display_path(&at.path)),
                at.line
            ),
            None => String::new(),
        };
        writeln!(
            out,
            "{:LABEL_WIDTH$}{} with no readable time{first}: no part in window or sequence rules",
            "untimed", s.untimed
        )?;
    }
    if s.late > 0 {
        writeln!(
            out,
            "{:LABEL_WIDTH$}{} too late for a window or sequence rule (more than 10 minutes behind the newest): not used",
            "late", s.late
        )?;
    }

    if s.repeated > 0 {
        writeln!(
            out,
            "{:LABEL_WIDTH$}{} times a window or sequence rule met a sign-in it already had (delivered twice): counted once",
            "repeated", s.repeated
        )?;
    }

    let t = &s.totals;
    write!(
        out,
        "{:LABEL_WIDTH$}{} read: {} evaluated",
        "records", t.records, t.evaluated
    )?;
    if t.untargeted > 0 {
        write!(out, " ({} in logs no rule reads)", t.untargeted)?;
    }
    write!(out, ", {} unreadable", t.unreadable)?;
    writeln!(out, ", {} not sign-ins", t.not_sign_in)?;

    write!(out, "{:LABEL_WIDTH$}{} read", "files", s.files.len())?;
    if !s.skipped.is_empty() {
        write!(out, ", {} skipped", s.skipped.len())?;
    }
    out.push('\n');
    writeln!(out, "{:LABEL_WIDTH$}{}", "rules", s.rules)?;

    if !s.problems.is_empty() {
        style.paint(out, Style::BOLD, "problems")?;
        if s.problems.len() >= MAX_PROBLEMS_KEPT {
            write!(out, " (the first {MAX_PROBLEMS_KEPT})")?;
        }
        out.push('\n');
        for p in &s.problems {
            render_problem(out, style, p)?;
        }
    }
    if !s.skipped.is_empty() {
        style.paint(out, Style::BOLD, "skipped")?;
        out.push('\n');
        for p in &s.skipped {
            render_problem(out, style, p)?;
        }
    }
    Ok(())
}

/// `path:line: reason`, or `path: reason` for a whole file.
fn render_problem(out: &mut String, style: Style, p: &Problem) -> fmt::Result {
    out.push_str("  ");
    let path = Clean(display_path(&p.path));
    if p.line > 0 {
        style.paint(out, Style::DIM, format_args!("{path}:{}:", p.line))?;
    } else {
        style.paint(out, Style::DIM, format_args!("{path}:"))?;
    }
    writeln!(out, " {}", Clean(&p.reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    const EXPECTED: &str = r#"medium    TG-CA-001  Interactive sign-in succeeded without Conditional Access
  at examples/logs/graph.jsonl:3 (record 2)
  alice@contoso.com signed in to Azure Portal from 203.0.113.7 (US) and no Conditional Access policy applied
  because isInteractive eq true (saw true)
      and conditionalAccessStatus eq notApplied (saw "notApplied")
      and not crossTenantAccessType in [passthrough, b2bCollaboration] (saw absent)

high      TG-RISK-002  High-risk sign-in succeeded
  at exports/sign ins #1.json:12 (record 0)
  bob@contoso.com signed in at high risk
  because riskLevelDuringSignIn eq high (saw "high")

medium    TG-CA-001  Interactive sign-in succeeded without Conditional Access
  at <stdin>:1 (record 0)
  carol@contoso.com signed in to Azure Portal from - (-) and no Conditional Access policy applied
  because isInteractive eq true (saw true)
      and conditionalAccessStatus eq notApplied (saw "notApplied")
      and not crossTenantAccessType in [passthrough, b2bCollaboration] (saw absent)

3 findings: 1 high, 2 medium
records   6 read: 5 evaluated (1 in logs no rule reads), 1 unreadable, 0 not sign-ins
files     3 read, 1 skipped
rules     2
problems
  examples/logs/graph.jsonl:7: expected `,` or `}` at column 18
skipped
  examples/logs/README.md: not a log file
"#;

    #[test]
    fn text_without_colour() {
        let text = testdata::render(&mut TextEmitter::new(), false, true);
        assert!(!text.contains('\x1b'));
        assert_eq!(text, EXPECTED, "\n{text}");
    }

    #[test]
    fn text_says_plainly_when_nothing_was_found() {
        let text = testdata::render(&mut TextEmitter::new(), false, false);
        assert!(text.starts_with("no findings\nrecords   6 read"), "{text}");
    }

    #[test]
    fn colour_only_when_asked() {
        let text = testdata::render(&mut TextEmitter::new(), true, true);
        assert!(text.starts_with("\x1b[33mmedium\x1b[0m    \x1b[1mTG-CA-001\x1b[0m  "));
        assert!(text.contains("\x1b[2mat examples/logs/graph.jsonl:3 (record 2)\x1b[0m"));
        assert!(text.contains("1 \x1b[1;31mhigh\x1b[0m, 2 \x1b[33mmedium\x1b[0m"));
        // Stripping the escapes gives the plain output back.
        let plain = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
        assert_eq!(plain.replace_all(&text, ""), EXPECTED);
    }

    #[test]
    fn log_values_cannot_drive_the_terminal() {
        // Why: a sign-in's user name or app name is attacker-controlled, and
        // raw escapes or newlines in it could forge or hide output.
        let f = testdata::hostile_finding();
        let mut out = String::new();
        render_finding(&mut out, Style(false), &f).unwrap();
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
        assert!(!out.contains('\u{202e}'));
        assert!(out.contains("newline\\nreturn\\r tab\\t nul\\u{0} esc\\u{1b}[31m"));
        assert!(out.contains("é 日本 🚀"));
        assert!(out.contains("at logs/we\"ird\\nname.jsonl:3"));
        // The block keeps its shape: the five lines and the blank one.
        assert_eq!(out.lines().count(), 7, "{out}");
    }

    #[test]
    fn clean_text_escapes_each_character_as_alone() {
        // Each character escaped on its own, one at a time: what `Clean`
        // must write, however the text around it is cut.
        fn one_by_one(text: &str) -> String {
            text.chars()
                .map(|c| match c {
                    '\n' => "\\n".to_string(),
                    '\r' => "\\r".to_string(),
                    '\t' => "\\t".to_string(),
                    c if c.is_control() || is_bidi_control(c) => format!("\\u{{{:x}}}", c as u32),
                    c => c.to_string(),
                })
                .collect()
        }
        let pieces = [
            "", "a", "é", "日", "🚀", "\n", "\r", "\t", "\u{0}", "\u{1b}", "\u{7f}", "\u{85}",
            "\u{202e}", "\u{2066}", "\u{200f}",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}");
                    assert_eq!(Clean(&text).to_string(), one_by_one(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let mut out = String::new();
        render_value(&mut out, &Value::String("é".repeat(300))).unwrap();
        assert_eq!(out.chars().count(), MAX_VALUE_CHARS + 1);
        assert!(out.starts_with("\"é") && out.ends_with('…'));
    }
}
