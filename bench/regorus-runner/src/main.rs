//! Evaluates a Rego policy over every record of a JSON-lines file with
//! regorus (Microsoft's Rego interpreter), the way a policy engine is used
//! on logs: the record is the `input`, the rule named on the command line
//! is a set of the ids of the rules the record matches.
//!
//! `tollgate-regorus-runner POLICY.rego RULE FILE`, for example
//! `tollgate-regorus-runner bench/rules12.rego data.tollgate.bench.matches signins.jsonl`.
//!
//! Prints one `count id` line per rule id that matched (sorted by id), then
//! `total N` (matching (rule, record) pairs) and `records N`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use regorus::{Engine, Value};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, policy, rule, path] = args.as_slice() else {
        return Err("usage: tollgate-regorus-runner POLICY.rego RULE FILE".into());
    };
    let mut engine = Engine::new();
    engine.add_policy_from_file(policy)?;
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let (mut records, mut total) = (0u64, 0u64);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        records += 1;
        engine.set_input(Value::from_json_str(&line)?);
        let matched = engine.eval_rule(rule.clone())?;
        if let Ok(set) = matched.as_set() {
            for id in set.iter() {
                let id = id.as_string().map(|s| s.to_string()).unwrap_or_default();
                *counts.entry(id).or_default() += 1;
                total += 1;
            }
        }
    }
    for (id, n) in &counts {
        println!("{n} {id}");
    }
    println!("total {total}");
    println!("records {records}");
    Ok(())
}
