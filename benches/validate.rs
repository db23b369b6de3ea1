//! Validating 1,000 pipeline files (the target: under 2 s), beside a baseline that only reads and parses the
//! same files' YAML, measured in the same run.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use sluice_core::validate::{ValidateOptions, validate_paths};

const FILES: usize = 1_000;

fn corpus(dir: &Path) -> Vec<PathBuf> {
    let seed = std::fs::read_to_string("pipelines/site-metrics.yaml").expect("seed pipeline");
    std::fs::copy("pipelines/site-metrics.sql", dir.join("site-metrics.sql")).expect("seed sql");
    (0..FILES)
        .map(|i| {
            let path = dir.join(format!("pipeline-{i:04}.yaml"));
            std::fs::write(&path, seed.replace("name: site-metrics", &format!("name: site-metrics-{i}")))
                .expect("write");
            path
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    sluice_plugins::link();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = corpus(dir.path());
    let mut group = c.benchmark_group("validate_1000_files");
    group.sample_size(10);
    group.bench_function("baseline: read + parse YAML", |b| {
        b.iter(|| {
            for file in &files {
                let bytes = std::fs::read(file).expect("read");
                black_box(sluice_core::yaml::load(&bytes).is_ok());
            }
        })
    });
    group.bench_function("sluice validate", |b| {
        b.iter(|| {
            let report = validate_paths(&[dir.path().to_path_buf()], ValidateOptions::default()).expect("validates");
            assert_eq!((report.files, report.error_count()), (FILES, 0));
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
