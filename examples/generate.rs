//! Writes deterministic synthetic Entra ID sign-ins, or rule variants, for
//! benchmarks and load tests.
//!
//! ```sh
//! cargo run --release --example generate -- --shape jsonl --count 200000 --seed 7 > signins.jsonl
//! cargo run --release --example generate -- --rules 500 > rules500.yaml
//! ```
//!
//! Shapes: `jsonl` (Graph `signIn` objects, one a line), `graph-page` (one
//! `{"value": [...]}` page), `diagnostic` (Azure Monitor diagnostic-settings
//! records, one a line) and `log-analytics` (PascalCase rows, one a line).
//! The same seed always gives the same bytes. Records average about 2.4 KB
//! in the Graph shapes.

#[path = "../benches/support/mod.rs"]
mod support;

use std::io::{self, Write};
use std::process::ExitCode;

use support::Shape;

const USAGE: &str =
    "usage: generate [--shape jsonl|graph-page|diagnostic|log-analytics] [--count N] [--seed N]
       generate --rules N [--seed N]";

fn main() -> ExitCode {
    let mut shape = Shape::Jsonl;
    let mut count: u64 = 1000;
    let mut seed: u64 = 7;
    let mut rules: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--shape" | "--count" | "--seed" | "--rules" => args.next(),
            _ => None,
        };
        let Some(value) = value else {
            eprintln!("error: unexpected or incomplete argument `{arg}`\n{USAGE}");
            return ExitCode::from(2);
        };
        let ok = match arg.as_str() {
            "--shape" => Shape::from_name(&value).map(|s| shape = s).is_some(),
            "--count" => value.parse().map(|n| count = n).is_ok(),
            "--seed" => value.parse().map(|n| seed = n).is_ok(),
            _ => value.parse().map(|n| rules = Some(n)).is_ok(),
        };
        if !ok {
            eprintln!("error: bad value `{value}` for {arg}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let written = match rules {
        Some(n) => out.write_all(support::rules(n, seed).as_bytes()),
        None => support::write_all(shape, count, seed, &mut out),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
