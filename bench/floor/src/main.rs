//! The parse floor: how long it takes just to read a JSON-lines file and
//! parse every line, with no rule evaluated and nothing normalized.
//!
//! `tollgate-parse-floor ignored FILE` parses each line into
//! `serde::de::IgnoredAny` (validates the JSON, builds nothing);
//! `tollgate-parse-floor value FILE` builds a `serde_json::Value` per line,
//! the least any engine working on a JSON tree must do.
//! Two faster parsers, measured for tollgate's reader and not adopted (see
//! the README): `sonic-rs FILE` builds a `sonic_rs::Value` per line (with
//! numbers kept as written, as tollgate would need them), `simd-json FILE`
//! builds simd-json's tape (its cheapest full parse; it parses in place, so
//! each line is copied first, as a reader that keeps its input must).
//! Prints the number of lines parsed; exits 1 if a line is not JSON.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

const MODES: [&str; 4] = ["ignored", "value", "sonic-rs", "simd-json"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (mode, path) = match args.as_slice() {
        [_, mode, path] if MODES.contains(&mode.as_str()) => (mode.as_str(), path),
        _ => {
            eprintln!("usage: tollgate-parse-floor {} FILE", MODES.join("|"));
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
    let mut copy = Vec::new();
    let mut buffers = simd_json::Buffers::default();
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
        let ok = match mode {
            "ignored" => serde_json::from_slice::<serde::de::IgnoredAny>(&line).is_ok(),
            "value" => serde_json::from_slice::<serde_json::Value>(&line)
                .map(std::hint::black_box)
                .is_ok(),
            "sonic-rs" => {
                let mut de = sonic_rs::Deserializer::from_slice(&line).use_rawnumber();
                <sonic_rs::Value as serde::Deserialize>::deserialize(&mut de)
                    .and_then(|v| de.end().map(|()| v))
                    .map(std::hint::black_box)
                    .is_ok()
            }
            _ => {
                copy.clear();
                copy.extend_from_slice(&line);
                simd_json::Deserializer::from_slice_with_buffers(&mut copy, &mut buffers)
                    .map(|tape| std::hint::black_box(tape.into_tape().0.len()))
                    .is_ok()
            }
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
