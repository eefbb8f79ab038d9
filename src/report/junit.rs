//! JUnit XML for rule tests: one `<testsuite>` per rule file, one
//! `<testcase>` per `tests:` case, the evaluation trace inside each
//! `<failure>`. CI systems (GitHub, GitLab, Jenkins) read this format.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::engine::TestOutcome;

/// Writes the outcomes as one JUnit XML document.
pub fn write_junit(out: &mut dyn Write, outcomes: &[TestOutcome]) -> io::Result<()> {
    let mut suites: BTreeMap<&str, Vec<&TestOutcome>> = BTreeMap::new();
    for o in outcomes {
        suites.entry(o.source.as_str()).or_default().push(o);
    }
    let failures = outcomes.iter().filter(|o| !o.passed()).count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="tollgate" tests="{}" failures="{failures}" errors="0">"#,
        outcomes.len()
    )?;
    for (source, cases) in suites {
        let failed = cases.iter().filter(|o| !o.passed()).count();
        let skipped = cases.iter().filter(|o| o.skipped.is_some()).count();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{failed}" errors="0" skipped="{skipped}">"#,
            escape(source),
            cases.len()
        )?;
        for o in cases {
            write!(
                out,
                r#"    <testcase classname="{}" name="{}" file="{}" line="{}""#,
                escape(&o.rule_id),
                escape(&o.name),
                escape(&o.source),
                o.line
            )?;
            if let Some(why) = &o.skipped {
                writeln!(out, ">")?;
                writeln!(out, r#"      <skipped message="{}"/>"#, escape(why))?;
                writeln!(out, "    </testcase>")?;
                continue;
            }
            if o.passed() {
                writeln!(out, "/>")?;
                continue;
            }
            let message = match &o.note {
                Some(note) => note.clone(),
                None => o.verdict(),
            };
            writeln!(out, ">")?;
            writeln!(
                out,
                r#"      <failure message="{}" type="rule-test">{}</failure>"#,
                escape(&message),
                escape(&o.trace)
            )?;
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// Escapes text for XML attributes and content, dropping the characters XML
/// 1.0 cannot hold at all (most C0 controls).
fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            '\n' => s.push_str("&#10;"),
            '\t' | '\r' => s.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &str, matched: bool) -> TestOutcome {
        TestOutcome {
            rule_id: "TG-1".into(),
            source: "rules/a & b.yaml".into(),
            name: name.into(),
            line: 7,
            expect_match: true,
            not_run: false,
            matched,
            trace: "✗ status.errorCode eq 0  (saw 50126)\n".into(),
            note: None,
            skipped: None,
            span: crate::diag::Span::new(0, 0..0),
            counted: None,
        }
    }

    #[test]
    fn a_count_expected_is_said_as_counts() {
        let counted = TestOutcome {
            counted: Some((1, 2)),
            ..outcome("counts", false)
        };
        assert_eq!(counted.verdict(), "expected 1 finding, got 2 findings");
        assert_eq!(
            outcome("plain", false).verdict(),
            "expected a match, got no match"
        );
    }

    #[test]
    fn junit_has_a_suite_per_file_and_the_trace_in_failures() {
        let mut buf = Vec::new();
        let written = write_junit(
            &mut buf,
            &[outcome("ok <1>", true), outcome("bad \"2\"\u{1}", false)],
        );
        assert!(written.is_ok());
        let xml = String::from_utf8(buf).unwrap_or_default();
        assert!(xml.contains(r#"<testsuites name="tollgate" tests="2" failures="1" errors="0">"#));
        assert!(xml.contains(r#"<testsuite name="rules/a &amp; b.yaml" tests="2" failures="1""#));
        assert!(xml.contains(r#"name="ok &lt;1&gt;""#));
        assert!(xml.contains(r#"name="bad &quot;2&quot;""#));
        assert!(xml.contains("<failure message=\"expected a match, got no match\" type=\"rule-test\">✗ status.errorCode eq 0  (saw 50126)&#10;</failure>"));
    }
}
