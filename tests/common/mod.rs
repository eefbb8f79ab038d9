//! Helpers shared by the integration tests.

// Each test file uses a part of this module.
#![allow(dead_code)]

pub mod sarif_check;

use std::io::Cursor;
use std::sync::Arc;

use tollgate::engine::{Loader, RuleSet};
use tollgate::ingest::{self, Options};
use tollgate::run::scan::{self, Outcome};

/// Every outcome of a run, as text, then the detected format: plain (every
/// key) or fast (the rules' keys), on `threads`. Fast on one thread, the
/// framer parses the records that are their own line; on more, it leaves
/// the parsing to the workers.
pub fn run(set: &RuleSet, bytes: &[u8], fast: bool, threads: usize) -> Vec<String> {
    run_from(set, Box::new(Cursor::new(bytes.to_vec())), fast, threads)
}

/// [`run`] over any stream.
pub fn run_from(
    set: &RuleSet,
    input: Box<dyn std::io::Read + Send>,
    fast: bool,
    threads: usize,
) -> Vec<String> {
    let options = Options {
        keep: fast.then(|| Arc::new(set.projection().keep())),
        ..Options::default()
    };
    let mut reader = ingest::from_reader_with("input".into(), input, options);
    let mut out = Vec::new();
    let scanned: Result<(), ()> = scan::scan(&mut reader, set, threads, &mut |outcome| {
        out.push(match outcome {
            Outcome::Record {
                targeted, findings, ..
            } => format!(
                "record targeted={targeted} {}",
                serde_json::to_string(&findings).expect("findings serialize")
            ),
            Outcome::Unreadable(p) => format!("unreadable {}:{:?} {}", p.line, p.record, p.reason),
            Outcome::NotSignIn(p) => {
                format!("not a sign-in {}:{:?} {}", p.line, p.record, p.reason)
            }
        });
        Ok(())
    });
    assert!(scanned.is_ok());
    out.push(format!("format {}", reader.format()));
    out
}

/// Runs plain on one thread, and fast on one thread and on three, and
/// asserts the outcomes are equal; gives the number of outcomes with
/// findings.
pub fn same(set: &RuleSet, name: &str, bytes: &[u8]) -> usize {
    let plain = run(set, bytes, false, 1);
    for threads in [1, 3] {
        let fast = run(set, bytes, true, threads);
        assert_eq!(
            plain.len(),
            fast.len(),
            "{name}, {threads} threads: outcome count"
        );
        for (i, (p, f)) in plain.iter().zip(&fast).enumerate() {
            assert_eq!(p, f, "{name}, {threads} threads: outcome {i}");
        }
    }
    each_rule_alone(set, name, bytes);
    plain.iter().filter(|o| o.contains("\"ruleId\"")).count()
}

/// Asserts that evaluating the rule set on each record (which skips the
/// rules whose required sets its index rules out) finds what evaluating
/// each rule on its own finds, and the same steps of the multi-record
/// rules; gives the number of matches (and of steps a record is of).
pub fn each_rule_alone(set: &RuleSet, name: &str, bytes: &[u8]) -> usize {
    let reader = ingest::from_reader("input".into(), Box::new(Cursor::new(bytes.to_vec())));
    let mut matches = 0;
    for item in reader {
        let ingest::Item::Record(record, location) = item else {
            continue;
        };
        let mut together = Vec::new();
        set.evaluate(&record, &location, &mut |f| together.push(f.rule_id));
        let alone: Vec<_> = set
            .rules()
            .iter()
            .filter(|r| r.logs.contains(record.log()))
            .filter(|r| set.matches(&r.info.id, &record) == Some(true))
            .map(|r| r.info.id.clone())
            .collect();
        assert_eq!(together, alone, "{name}: record {}", location.record);
        matches += alone.len();
        // The steps of the multi-record rules, asked of the same index.
        let steps: Vec<u64> = (set.multi().iter())
            .map(|rule| {
                (rule.steps.iter().enumerate())
                    .filter(|(_, step)| step.matcher.matches(&record))
                    .fold(0, |bits, (i, _)| bits | 1 << i)
            })
            .collect();
        assert_eq!(
            set.steps_of(&record),
            steps,
            "{name}: steps, record {}",
            location.record
        );
        matches += steps.iter().map(|s| s.count_ones() as usize).sum::<usize>();
    }
    matches
}

/// Loads the rules added to `loader`, or fails the test with every
/// diagnostic, rendered as plain text.
pub fn loaded(loader: Loader) -> RuleSet {
    loader.load().unwrap_or_else(|r| {
        panic!(
            "{}",
            tollgate::diag::render(
                &r.diagnostics,
                &r.sources,
                tollgate::diag::ErrorFormat::Plain
            )
        )
    })
}

/// The evidence every shape can give: without the conditions on the
/// tenant the log belongs to (`tenantId`), which the diagnostic and Log
/// Analytics shapes carry and Graph pages do not, so the same sign-in
/// rightly shows them with other values.
pub fn shared_evidence(evidence: &[tollgate::Evidence]) -> Vec<&tollgate::Evidence> {
    evidence
        .iter()
        .filter(|e| {
            e.field != "tenantId" && e.expected.get("field") != Some(&serde_json::json!("tenantId"))
        })
        .collect()
}

/// Runs the tollgate binary in `dir`, without colour or a GitHub step
/// summary, and gives what it did.
pub fn tollgate_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("run tollgate")
}

/// What a run printed on standard output.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a run printed on standard error.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small deterministic generator, so tests need no randomness crate and
/// a failure names the seed that shows it.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// True `in_ten` times in ten.
    pub fn chance(&mut self, in_ten: u64) -> bool {
        self.next() % 10 < in_ten
    }
}
