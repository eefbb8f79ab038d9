//! The `json` and `jsonl` formats: findings as [`Finding`] serializes them,
//! for programs.
//!
//! `json` takes the run's rules, the findings and the summary and gives one
//! document, `{"schemaVersion", "tool", "rules", "findings", "summary"}`,
//! written as it goes: the head in `begin`, one finding per line in
//! `finding`, the summary in `finish`. `jsonl` gives one finding per line,
//! each with its `schemaVersion`, and nothing else: every line is a finding,
//! so `jq`, `grep` and line-oriented loaders need no special case. The
//! summary and the unreadable records are not in `jsonl` output; a caller
//! that wants them uses `json` or reports them elsewhere (such as stderr).
//!
//! Every value is written by serde_json, so strings from logs are escaped
//! the one correct way.

use std::io::{self, Write};

use serde::Serialize;

use super::{Emitter, RunInfo, Stream, TOOL, to_buf, to_buf_open};
use crate::finding::{Finding, SCHEMA_VERSION, Summary};

/// Writes the `json` format: one document.
#[derive(Debug, Default)]
pub struct JsonEmitter {
    findings: Stream,
    buf: Vec<u8>,
}

impl JsonEmitter {
    /// An emitter for one run.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The head of the document, before the findings.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    schema_version: &'static str,
    tool: &'a super::Tool,
    rules: &'a [crate::finding::RuleInfo],
}

impl Emitter for JsonEmitter {
    fn begin(&mut self, out: &mut dyn Write, run: &RunInfo<'_>) -> io::Result<()> {
        self.findings.open()?;
        to_buf_open(
            &mut self.buf,
            &Head {
                schema_version: SCHEMA_VERSION,
                tool: &TOOL,
                rules: run.rules,
            },
            br#","findings":["#,
        )?;
        out.write_all(&self.buf)
    }

    fn finding(&mut self, out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
        let sep = self.findings.next_item()?;
        to_buf(&mut self.buf, finding)?;
        self.buf.splice(0..0, sep.iter().copied());
        out.write_all(&self.buf)
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        let sep = self.findings.close()?;
        to_buf(&mut self.buf, summary)?;
        out.write_all(sep)?;
        out.write_all(br#"],"summary":"#)?;
        out.write_all(&self.buf)?;
        out.write_all(b"}\n")?;
        out.flush()
    }
}

/// Writes the `jsonl` format: one finding per line, nothing else.
#[derive(Debug, Default)]
pub struct JsonlEmitter {
    buf: Vec<u8>,
}

impl JsonlEmitter {
    /// An emitter for one run.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Emitter for JsonlEmitter {
    fn begin(&mut self, _out: &mut dyn Write, _run: &RunInfo<'_>) -> io::Result<()> {
        Ok(())
    }

    fn finding(&mut self, out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
        // The line is the finding's object with `schemaVersion` first: the
        // finding written after that member, its opening brace dropped
        // (what `#[serde(flatten)]` writes, without its map of entries).
        self.buf.clear();
        self.buf.extend_from_slice(b"{\"schemaVersion\":");
        serde_json::to_writer(&mut self.buf, SCHEMA_VERSION).map_err(io::Error::other)?;
        let at = self.buf.len();
        serde_json::to_writer(&mut self.buf, finding).map_err(io::Error::other)?;
        match self.buf.get(at..at + 2) {
            Some([b'{', b'}']) => {
                self.buf.truncate(at);
                self.buf.push(b'}');
            }
            Some([b'{', _]) => {
                if let Some(brace) = self.buf.get_mut(at) {
                    *brace = b',';
                }
            }
            _ => return Err(io::Error::other("a finding did not serialize as an object")),
        }
        // serde_json escapes newlines inside strings, so this is the only
        // newline on the line.
        self.buf.push(b'\n');
        out.write_all(&self.buf)
    }

    fn finish(&mut self, out: &mut dyn Write, _summary: &Summary) -> io::Result<()> {
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::report::testdata::{self, HOSTILE};

    fn document(with_findings: bool) -> Value {
        let text = testdata::render(&mut JsonEmitter::new(), false, with_findings);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}:\n{text}"))
    }

    #[test]
    fn json_is_one_document_with_tool_rules_findings_summary() {
        let doc = document(true);
        assert_eq!(doc["schemaVersion"], SCHEMA_VERSION);
        assert_eq!(doc["tool"]["name"], "tollgate");
        assert_eq!(doc["tool"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(doc["rules"].as_array().unwrap().len(), 2);
        assert_eq!(doc["rules"][1]["id"], "TG-RISK-002");

        let findings = doc["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 3);
        let f = &findings[0];
        assert_eq!(f["ruleId"], "TG-CA-001");
        assert_eq!(f["severity"], "medium");
        assert_eq!(f["location"]["path"], "examples/logs/graph.jsonl");
        assert_eq!(f["location"]["line"], 3);
        assert_eq!(f["location"]["record"], 2);
        assert_eq!(f["signIn"]["userPrincipalName"], "alice@contoso.com");
        assert_eq!(f["evidence"][0]["actual"], true);
        assert_eq!(f["evidence"][2]["actual"], Value::Null);
        assert_eq!(f["evidence"][2]["outcome"], false);
        assert_eq!(f["fingerprint"], "3f1c2a9d8e7b6a50");
        assert_eq!(findings[2]["signIn"]["userPrincipalName"], Value::Null);

        let s = &doc["summary"];
        assert_eq!(s["records"], 6);
        assert_eq!(s["evaluated"], 5);
        assert_eq!(s["unreadable"], 1);
        assert_eq!(s["untargeted"], 1);
        assert_eq!(s["findings"], 3);
        assert_eq!(s["bySeverity"], json!({"medium": 2, "high": 1}));
        assert_eq!(s["byRule"], json!({"TG-CA-001": 2, "TG-RISK-002": 1}));
        assert_eq!(s["problems"][0]["line"], 7);
        assert_eq!(s["skipped"][0]["path"], "examples/logs/README.md");
    }

    #[test]
    fn json_without_findings_has_an_empty_array() {
        let doc = document(false);
        assert_eq!(doc["findings"], json!([]));
        assert_eq!(doc["summary"]["findings"], 0);
    }

    #[test]
    fn jsonl_is_one_finding_per_line_and_nothing_else() {
        let text = testdata::render(&mut JsonlEmitter::new(), false, true);
        assert!(text.ends_with('\n'));
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        // Each line is the finding with `schemaVersion` first.
        for (text, finding) in text.lines().zip(testdata::findings()) {
            assert!(text.starts_with(r#"{"schemaVersion":"#), "{text}");
            let mut line: Value = serde_json::from_str(text).unwrap();
            if let Some(members) = line.as_object_mut() {
                members.remove("schemaVersion");
            }
            assert_eq!(line, serde_json::to_value(&finding).unwrap());
        }
        for (line, finding) in lines.iter().zip(testdata::findings()) {
            assert_eq!(line["schemaVersion"], SCHEMA_VERSION);
            assert_eq!(line["ruleId"], &*finding.rule_id);
            assert_eq!(line["fingerprint"], finding.fingerprint);
            assert_eq!(line["location"]["line"], finding.location.line);
        }
        let none = testdata::render(&mut JsonlEmitter::new(), false, false);
        assert_eq!(none, "");
    }

    #[test]
    fn hostile_strings_round_trip_in_json_and_jsonl() {
        // Why: log fields are attacker-controlled; quotes, newlines, control
        // and non-ASCII characters must neither break the document nor be
        // altered.
        let rules = testdata::rules();
        let findings = vec![testdata::hostile_finding()];
        let summary = testdata::summary(&findings);
        let run = testdata::run(&rules, false);

        let text = testdata::render_with(&mut JsonEmitter::new(), &run, &findings, &summary);
        let doc: Value = serde_json::from_str(&text).unwrap();
        let f = &doc["findings"][0];
        assert_eq!(f["message"], HOSTILE);
        assert_eq!(f["signIn"]["userPrincipalName"], HOSTILE);
        assert_eq!(f["evidence"][0]["actual"], HOSTILE);
        assert_eq!(f["location"]["path"], "logs/we\"ird\nname.jsonl");

        let text = testdata::render_with(&mut JsonlEmitter::new(), &run, &findings, &summary);
        assert_eq!(text.lines().count(), 1);
        let line: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(line["message"], HOSTILE);
        // No raw control character reaches the output.
        assert!(!text.trim_end().chars().any(|c| c < ' '));
    }
}
