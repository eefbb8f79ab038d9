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
//! app (at most [`MAX_VALUES`](counts::MAX_VALUES) distinct values each; the rest are counted
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

mod counts;
mod page;
mod text;
mod timeline;
mod totals;

use std::io::{self, Write};

use super::{Emitter, RunInfo};
use crate::finding::{Finding, Summary};
use page::{render_finding, render_head};
use totals::{Totals, country};

/// Most findings a page lists; the totals count every finding.
pub const DEFAULT_LIST_LIMIT: u64 = 10_000;

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
    command_line: String,
    totals: Totals,
    buf: String,
}

impl Default for HtmlEmitter {
    fn default() -> Self {
        Self::new()
    }
}

impl HtmlEmitter {
    /// An emitter for one run, listing at most `DEFAULT_LIST_LIMIT`
    /// findings.
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_LIST_LIMIT)
    }

    /// An emitter that lists at most `limit` findings (all are counted).
    pub fn with_limit(limit: u64) -> Self {
        HtmlEmitter {
            phase: Phase::Unopened,
            limit,
            command_line: String::new(),
            totals: Totals::default(),
            buf: String::new(),
        }
    }
}

impl Emitter for HtmlEmitter {
    fn begin(&mut self, out: &mut dyn Write, run: &RunInfo<'_>) -> io::Result<()> {
        if self.phase != Phase::Unopened {
            return Err(misuse("begin called twice"));
        }
        self.phase = Phase::Open;
        self.command_line = run.command_line.clone();
        self.totals.rules = run
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
        self.totals.count(finding, country);
        if self.totals.listed >= self.limit {
            return Ok(());
        }
        self.totals.listed += 1;
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
        self.totals
            .render_tail(&mut buf, summary)
            .map_err(io::Error::other)?;
        out.write_all(buf.as_bytes())?;
        self.buf = buf;
        out.flush()
    }
}

fn misuse(what: &str) -> io::Error {
    io::Error::other(format!("report emitter misused: {what}"))
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
}
