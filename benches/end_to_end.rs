//! Reading and evaluating together, as `tollgate check` does: an in-memory
//! buffer of generated sign-ins read with the rule set's projection
//! (`tollgate::ingest::from_reader_with`: framing, JSON parsing of the keys
//! rules read, shape detection, normalization) and evaluated by
//! `tollgate::run::scan::scan`, on one thread, for each input shape, with the
//! twelve comparison rules and with 500 generated rules; then the Graph
//! lines with the twelve rules on every core. Reported in bytes per second
//! and, in a second group, in records per second.

mod support;

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use support::Shape;
use tollgate::engine::{Loader, RuleSet};
use tollgate::ingest;
use tollgate::run::scan::{self, Outcome};

/// Records per buffer (about 54 MB of Graph lines).
const RECORDS: u64 = 20_000;

fn rule_set(name: &str, text: &str) -> RuleSet {
    let mut loader = Loader::new();
    loader.add_source(name, text);
    match loader.load() {
        Ok(rules) => rules,
        Err(rejected) => panic!("{name} does not load: {:?}", rejected.diagnostics),
    }
}

/// Reads and evaluates one buffer; gives (records, findings).
fn run(rules: &RuleSet, data: &Arc<[u8]>, threads: usize) -> (u64, u64) {
    let options = ingest::Options {
        keep: Some(Arc::new(rules.projection().keep())),
        ..ingest::Options::default()
    };
    let mut reader =
        ingest::from_reader_with("bench".into(), Box::new(Cursor::new(data.clone())), options);
    let (mut records, mut findings) = (0u64, 0u64);
    let scanned: Result<(), String> = scan::scan(&mut reader, rules, threads, &mut |outcome| {
        records += 1;
        match outcome {
            Outcome::Record {
                findings: found, ..
            } => {
                findings += found.len() as u64;
                black_box(found);
                Ok(())
            }
            Outcome::Unreadable(problem) | Outcome::NotSignIn(problem) => {
                Err(format!("unreadable generated record: {problem:?}"))
            }
        }
    });
    if let Err(e) = scanned {
        panic!("{e}");
    }
    (records, findings)
}

fn end_to_end(c: &mut Criterion) {
    let generated = support::rules(500, 7);
    let sets = [
        ("rules12", rule_set("rules12.yaml", support::RULES12)),
        ("rules500", rule_set("rules500.yaml", &generated)),
    ];
    let buffers: Vec<(Shape, Arc<[u8]>)> = Shape::ALL
        .iter()
        .map(|&shape| (shape, support::buffer(shape, RECORDS, 7).into()))
        .collect();
    for (_, data) in &buffers {
        assert_eq!(run(&sets[0].1, data, 1).0, RECORDS);
    }

    let mut group = c.benchmark_group("end_to_end_bytes");
    group.sampling_mode(SamplingMode::Flat);
    for (name, rules) in &sets {
        for (shape, data) in &buffers {
            group.throughput(Throughput::Bytes(data.len() as u64));
            group.bench_with_input(BenchmarkId::new(*name, shape.name()), data, |b, data| {
                b.iter(|| run(rules, data, 1))
            });
        }
    }
    group.finish();

    // Records per second: every shape with the twelve rules, and the Graph
    // lines with 500 rules (the other shapes follow from the group above).
    let mut group = c.benchmark_group("end_to_end_records");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(RECORDS));
    for (name, rules) in &sets {
        for (shape, data) in &buffers {
            if *name == "rules500" && *shape != Shape::Jsonl {
                continue;
            }
            group.bench_with_input(BenchmarkId::new(*name, shape.name()), data, |b, data| {
                b.iter(|| run(rules, data, 1))
            });
        }
    }
    // Every core: the calling thread frames, workers decode and evaluate.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some((_, data)) = buffers.iter().find(|(shape, _)| *shape == Shape::Jsonl) {
        group.bench_with_input(
            BenchmarkId::new(format!("rules12-{cores}-threads"), "jsonl"),
            data,
            |b, data| b.iter(|| run(&sets[0].1, data, cores)),
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = end_to_end
}
criterion_main!(benches);
