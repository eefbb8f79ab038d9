//! Rule evaluation alone: pre-compiled rule sets over pre-parsed canonical
//! records (`RuleSet::evaluate`, findings built but not written), reported
//! per record.

mod support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tollgate::engine::{Loader, RuleSet};
use tollgate::{Location, Record};

const RECORDS: usize = 5000;

fn rule_set(name: &str, text: Option<&str>) -> RuleSet {
    let mut loader = Loader::new();
    match text {
        Some(text) => loader.add_source(name, text),
        None => loader.add_builtin(),
    };
    match loader.load() {
        Ok(rules) => rules,
        Err(rejected) => panic!("{name} does not load: {:?}", rejected.diagnostics),
    }
}

fn records() -> Vec<Record> {
    let mut generator = support::Generator::new(7);
    (0..RECORDS)
        .map(|_| {
            let value: serde_json::Value =
                match serde_json::from_str(&generator.next_sign_in().0.to_json()) {
                    Ok(v) => v,
                    Err(e) => panic!("generated JSON does not parse: {e}"),
                };
            match tollgate::ingest::normalize(value) {
                Ok(record) => record,
                Err(e) => panic!("generated record does not normalize: {e}"),
            }
        })
        .collect()
}

fn evaluate(c: &mut Criterion) {
    let records = records();
    let path: Arc<str> = "generated.jsonl".into();
    let locations: Vec<Location> = (0..records.len())
        .map(|i| Location {
            path: path.clone(),
            line: i as u64 + 1,
            record: i as u64,
        })
        .collect();
    let generated = support::rules(500, 7);
    let sets = [
        ("builtin", rule_set("builtin", None)),
        ("rules12", rule_set("rules12.yaml", Some(support::RULES12))),
        ("rules500", rule_set("rules500.yaml", Some(&generated))),
    ];
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(records.len() as u64));
    for (name, rules) in &sets {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut findings = 0u64;
                for (record, location) in records.iter().zip(&locations) {
                    rules.evaluate(record, location, &mut |f| {
                        black_box(&f);
                        findings += 1;
                    });
                }
                findings
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = evaluate
}
criterion_main!(benches);
