//! Using tollgate as a library: load rules, read a log, print findings.
//!
//! Run with `cargo run --example library -- examples/logs/graph-page.json`.

use std::path::PathBuf;

use tollgate::engine::Loader;
use tollgate::ingest::{self, Item};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "examples/logs/graph-page.json".into()),
    );

    // The built-in pack plus a rule of our own, with a parameter set.
    let mut loader = Loader::new();
    loader
        .add_builtin()
        .param("restricted_tenants", "11111111-2222-3333-4444-555555555555");
    loader.add_source(
        "inline.yaml",
        "id: EX-001\ntitle: Sign-in from outside the US\nseverity: low\nmatch:\n  not: { location.countryOrRegion: US }\n",
    );
    let rules = match loader.load() {
        Ok(rules) => rules,
        Err(rejected) => {
            let text = tollgate::diag::render(
                &rejected.diagnostics,
                &rejected.sources,
                tollgate::diag::ErrorFormat::Plain,
            );
            return Err(text.into());
        }
    };

    for item in ingest::open(&path, path.display().to_string().into())? {
        match item {
            Item::Record(record, location) => rules.evaluate(&record, &location, &mut |finding| {
                println!(
                    "{}:{} {} {}",
                    location.path, location.line, finding.rule_id, finding.message
                );
            }),
            Item::Unreadable(problem) | Item::NotSignIn(problem) => {
                eprintln!("{}:{}: {}", problem.path, problem.line, problem.reason)
            }
        }
    }
    Ok(())
}
