//! GitHub Actions output: one workflow command per finding
//! (`::error file=...,line=...,title=...::message`), so findings show as
//! annotations on the log file's line, and a Markdown summary for
//! `$GITHUB_STEP_SUMMARY` with counts per rule and severity.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::sarif::path_under;
use super::{Emitter, RunInfo};
use crate::finding::{Finding, RuleInfo, Severity, Summary};

/// Writes workflow commands.
#[derive(Debug, Default)]
pub struct GithubEmitter {
    buf: String,
    base: std::path::PathBuf,
}

impl GithubEmitter {
    /// A new emitter; paths are shown relative to the working directory
    /// (the checkout, in a workflow).
    pub fn new() -> GithubEmitter {
        GithubEmitter {
            buf: String::new(),
            base: std::env::current_dir().unwrap_or_default(),
        }
    }
}

/// The workflow command for a severity: errors fail the eye, notices don't.
fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// Escapes a command's message, as the Actions toolkit does.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value (also `:` and `,`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

impl Emitter for GithubEmitter {
    fn begin(&mut self, _out: &mut dyn Write, _run: &RunInfo<'_>) -> io::Result<()> {
        Ok(())
    }

    fn finding(&mut self, out: &mut dyn Write, f: &Finding) -> io::Result<()> {
        self.buf.clear();
        let file = if f.location.path.as_ref() == "-" {
            "stdin".to_string()
        } else {
            path_under(&f.location.path, &self.base)
        };
        let _ = writeln!(
            self.buf,
            "::{} file={},line={},title={}::{}",
            command(f.severity),
            escape_property(&file),
            f.location.line.max(1),
            escape_property(&format!("{} {}", f.rule_id, f.title)),
            escape_data(&f.message)
        );
        out.write_all(self.buf.as_bytes())
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        for p in &summary.problems {
            let file = escape_property(&path_under(&p.path, &self.base));
            let line = if p.line > 0 {
                format!(",line={}", p.line)
            } else {
                String::new()
            };
            writeln!(
                out,
                "::warning file={file}{line},title={}::{}",
                if p.reason == crate::ingest::NOT_SIGN_IN {
                    "not a sign-in"
                } else {
                    "unreadable record"
                },
                escape_data(&p.reason)
            )?;
        }
        out.flush()
    }
}

/// A Markdown summary of the run: findings per severity and per rule.
pub fn markdown_summary(rules: &[RuleInfo], summary: &Summary) -> String {
    let mut md = String::from("## tollgate\n\n");
    let t = &summary.totals;
    let _ = writeln!(
        md,
        "{} findings in {} records from {} files ({} unreadable, {} not sign-ins).\n",
        t.findings,
        t.records,
        summary.files.len(),
        t.unreadable,
        t.not_sign_in
    );
    if t.findings > 0 {
        md.push_str("| severity | findings |\n|---|---:|\n");
        for sev in Severity::ALL.iter().rev() {
            if let Some(n) = summary.by_severity.get(sev).filter(|n| **n > 0) {
                let _ = writeln!(md, "| {sev} | {n} |");
            }
        }
        md.push_str("\n| rule | title | severity | findings |\n|---|---|---|---:|\n");
        for rule in rules {
            if let Some(n) = summary.by_rule.get(rule.id.as_ref()) {
                let title = rule.title.replace('|', "\\|");
                let _ = writeln!(md, "| `{}` | {title} | {} | {n} |", rule.id, rule.severity);
            }
        }
        md.push('\n');
    }
    if summary.accepted.total() > 0 {
        let _ = writeln!(
            md,
            "{} findings accepted and not reported ({} in the baseline, {} by exceptions).\n",
            summary.accepted.total(),
            summary.accepted.baseline,
            summary.accepted.total() - summary.accepted.baseline
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
