//! Using tollgate as a library: load rules, run them over logs, print
//! findings and the accounting. Only the crate's front door is used.
//!
//! Run with `cargo run --example library -- examples/logs/graph-page.json`.

use std::io;
use std::path::PathBuf;

use tollgate::{ErrorFormat, Finding, Inputs, Loader, Notice, Run, RunOptions, Sink};

/// Prints each finding as `path:line rule message`, and problems on
/// standard error.
struct Print;

impl Sink for Print {
    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        println!(
            "{}:{} {} {}",
            f.location.path, f.location.line, f.rule_id, f.message
        );
        Ok(())
    }

    fn notice(&mut self, notice: Notice<'_>) {
        eprintln!("{}: {notice}", notice.level());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<PathBuf> = match std::env::args()
        .skip(1)
        .map(PathBuf::from)
        .collect::<Vec<_>>()
    {
        given if !given.is_empty() => given,
        _ => vec![PathBuf::from("examples/logs/graph-page.json")],
    };

    // The built-in pack plus a rule of our own, with a parameter set.
    let mut loader = Loader::new();
    loader
        .add_builtin()
        .param("restricted_tenants", "11111111-2222-3333-4444-555555555555");
    loader.add_source(
        "inline.yaml",
        "id: EX-001\ntitle: Sign-in from outside the US\nseverity: low\nmatch:\n  not: { location.countryOrRegion: US }\n",
    );
    let rules = loader.load().map_err(|rejected| {
        tollgate::diag::render(&rejected.diagnostics, &rejected.sources, ErrorFormat::Plain)
    })?;

    let inputs = Inputs::discover(&paths)?;
    let result = Run::new(&rules, RunOptions::default()).run(&inputs, &mut Print)?;
    let totals = &result.summary.totals;
    eprintln!(
        "{} findings in {} records ({} unreadable)",
        totals.findings, totals.records, totals.unreadable
    );
    Ok(())
}
