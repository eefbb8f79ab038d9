//! Loading rules: YAML parsing, checking against the catalog and compiling
//! to matcher programs, for the built-in pack, the twelve comparison rules
//! and 1,000 generated rule variants.

mod support;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tollgate::engine::{Loader, RuleSet};

fn load(name: &str, text: &str) -> RuleSet {
    let mut loader = Loader::new();
    loader.add_source(name, text);
    match loader.load() {
        Ok(rules) => rules,
        Err(rejected) => panic!("{name} does not load: {:?}", rejected.diagnostics),
    }
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.throughput(Throughput::Elements(
        tollgate::engine::BUILTIN_RULES.len() as u64
    ));
    group.bench_function("builtin", |b| {
        b.iter(|| {
            let mut loader = Loader::new();
            loader.add_builtin();
            black_box(loader.load().map(|r| r.rules().len()).unwrap_or(0))
        })
    });
    group.throughput(Throughput::Elements(12));
    group.bench_function("rules12", |b| {
        b.iter(|| black_box(load("rules12.yaml", support::RULES12)))
    });
    let generated = support::rules(1000, 7);
    assert_eq!(load("generated.yaml", &generated).rules().len(), 1000);
    group.throughput(Throughput::Elements(1000));
    group.bench_function("generated_1000", |b| {
        b.iter(|| black_box(load("generated.yaml", &generated)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = compile
}
criterion_main!(benches);
