//! The parse floor: how long it takes just to read a JSON-lines file and
//! parse every line, with no rule evaluated and nothing normalized.
//!
//! `tollgate-parse-floor ignored FILE` parses each line into
//! `serde::de::IgnoredAny` (validates the JSON, builds nothing);
//! `tollgate-parse-floor value FILE` builds a `serde_json::Value` per line,
//! the least any engine working on a JSON tree must do.
//! `tollgate-parse-floor checked FILE` builds nothing but checks what a
//! full parse checks and `IgnoredAny` does not (the escapes and UTF-8 of
//! strings, the range of numbers, 128 levels of nesting): the least a
//! reader must do that reads a line exactly when a full parse reads it,
//! keeping nothing (the line's UTF-8 checked at once, then its text).
//! Two faster parsers, measured for tollgate's reader and not adopted (see
//! the README): `sonic-rs FILE` builds a `sonic_rs::Value` per line (with
//! numbers kept as written, as tollgate would need them), `simd-json FILE`
//! builds simd-json's tape (its cheapest full parse; it parses in place, so
//! each line is copied first, as a reader that keeps its input must), and
//! `sonic-rs-lazy FILE` walks each line's keys with sonic-rs's lazy
//! iterator, skipping every value (its cheapest way to read a few keys).
//! Prints the number of lines parsed; exits 1 if a line is not JSON.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

const MODES: [&str; 6] = [
    "ignored",
    "checked",
    "value",
    "sonic-rs",
    "sonic-rs-lazy",
    "simd-json",
];

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
            // The UTF-8 of the whole line at once, then the text: cheaper
            // than string by string, as tollgate's reader does it.
            "checked" => std::str::from_utf8(&line)
                .is_ok_and(|text| serde_json::from_str::<Checked>(text).is_ok()),
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
            "sonic-rs-lazy" => {
                let mut keys = 0usize;
                let mut ok = true;
                for entry in sonic_rs::to_object_iter(line.as_slice()) {
                    match entry {
                        Ok((key, _)) => keys += key.len(),
                        Err(_) => {
                            ok = false;
                            break;
                        }
                    }
                }
                std::hint::black_box(keys);
                ok
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

/// A value checked as a full parse checks it and not stored. serde's
/// `IgnoredAny` skips strings without checking their escapes and numbers
/// without their range, and nests without the depth limit; asking for a
/// borrowed string, a number and the value's kind makes serde_json check
/// each as it would to build it.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
}
