//! The parse floor: how long it takes just to read a JSON-lines file and
//! parse every line, with no rule evaluated and nothing normalized.
//!
//! `tollgate-parse-floor ignored FILE` parses each line into
//! `serde::de::IgnoredAny` (validates the JSON, builds nothing);
//! `tollgate-parse-floor value FILE` builds a `serde_json::Value` per line,
//! the least any engine working on a JSON tree must do.
//! Prints the number of lines parsed; exits 1 if a line is not JSON.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (mode, path) = match args.as_slice() {
        [_, mode, path] if mode == "ignored" || mode == "value" => (mode.as_str(), path),
        _ => {
            eprintln!("usage: tollgate-parse-floor ignored|value FILE");
            return ExitCode::from(2);
        }
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut line = Vec::new();
    let (mut parsed, mut bad) = (0u64, 0u64);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("cannot read {path}: {e}");
                return ExitCode::from(2);
            }
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let ok = if mode == "ignored" {
            serde_json::from_slice::<serde::de::IgnoredAny>(&line).is_ok()
        } else {
            serde_json::from_slice::<serde_json::Value>(&line)
                .map(std::hint::black_box)
                .is_ok()
        };
        if ok {
            parsed += 1;
        } else {
            bad += 1;
        }
    }
    println!("{parsed}");
    if bad > 0 {
        eprintln!("{bad} lines are not JSON");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
