//! The floor under `end_to_end`: the same buffer of Graph JSON lines split
//! into lines and parsed into `serde::de::IgnoredAny` (validation only) or
//! into a `serde_json::Value` per line, next to tollgate's reader alone
//! (framing, parsing and normalizing, no rule), reading every key or only
//! the keys the twelve comparison rules read.

mod support;

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use support::Shape;
use tollgate::ingest::{self, Item};

const RECORDS: u64 = 20_000;

fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

fn parse_floor(c: &mut Criterion) {
    let data: Arc<[u8]> = support::buffer(Shape::Jsonl, RECORDS, 7).into();
    let mut group = c.benchmark_group("parse_floor");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("ignored_any", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for line in lines(&data) {
                if serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok() {
                    n += 1;
                }
            }
            assert_eq!(n, RECORDS);
        })
    });
    group.bench_function("value", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for line in lines(&data) {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) {
                    black_box(v);
                    n += 1;
                }
            }
            assert_eq!(n, RECORDS);
        })
    });
    let mut loader = tollgate::engine::Loader::new();
    loader.add_source("rules12.yaml", support::RULES12);
    let Ok(rules12) = loader.load() else {
        panic!("bench/rules12.yaml does not load")
    };
    let keep = Arc::new(rules12.projection().keep());
    for (name, keep) in [
        ("tollgate_ingest_every_key", None),
        ("tollgate_ingest_rules12_keys", Some(keep)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let options = ingest::Options {
                    keep: keep.clone(),
                    ..ingest::Options::default()
                };
                let reader = ingest::from_reader_with(
                    "bench".into(),
                    Box::new(Cursor::new(data.clone())),
                    options,
                );
                let mut n = 0u64;
                for item in reader {
                    if let Item::Record(record, _) = item {
                        black_box(record);
                        n += 1;
                    }
                }
                assert_eq!(n, RECORDS);
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = parse_floor
}
criterion_main!(benches);
