//! Report: writes findings and the run's accounting in each output format.
//! Emitters take a writer and stream: a finding is written when it is found.
//!
//! (Interface placeholder: the emitters land in the following commits.)

use std::io::{self, Write};

use crate::finding::{Finding, RuleInfo, Summary};

/// Output formats of `tollgate check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document: tool, findings, summary.
    Json,
    /// One finding per line.
    Jsonl,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// What an emitter knows about the run before the first finding.
#[derive(Debug, Clone)]
pub struct RunInfo<'a> {
    /// Every rule that runs, in order; SARIF `ruleIndex` indexes this.
    pub rules: &'a [RuleInfo],
    /// The command line as the user typed it.
    pub command_line: String,
    /// Whether to colour text output.
    pub color: bool,
}

/// Writes one output format.
pub trait Emitter {
    /// Called once before any finding.
    fn begin(&mut self, out: &mut dyn Write, run: &RunInfo<'_>) -> io::Result<()>;
    /// Called for each finding, in input order.
    fn finding(&mut self, out: &mut dyn Write, finding: &Finding) -> io::Result<()>;
    /// Called once at the end, with the run's accounting.
    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()>;
}

/// The emitter for a format.
pub fn emitter(_format: Format) -> Box<dyn Emitter> {
    unimplemented!()
}
