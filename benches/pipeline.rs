//! `sluice run` on the reference workload (2,000,000 NDJSON records, about 190 MB), beside baseline programs
//! measured in the same run.
//!
//! - `file_to_bucket_2M_records`: a `file` producer into an embedded stream (fsync every second, as by
//!   default) and straight into a `file://` bucket, driven through the CLI exactly as a user runs it; the
//!   baseline reads the same file line by line and writes the same bytes to one output file.
//! - `seed_sql_2M_records`: the tutorial's SQL application. The SQL stage alone (the `sql` plugin built
//!   through the registry, fed batches of records from memory, its output records counted) and end to end
//!   through the CLI (file -> embedded stream -> SQL -> bucket), and the engine alone on one thread (JSON
//!   mapping -> program -> JSON writer, no plugin around it: the one-core figure). Beside them the same read+write baseline and
//!   a hand-written Rust program doing the same transform (performance.md's "ceiling": a borrowed-struct
//!   JSON parse, byte-level timestamp formatting, one reused output buffer), both single-threaded, and that
//!   program on every core (the input cut into one part per core): what this machine allows any program doing
//!   the work this way, the bound for the SQL stage, whose workers use every core.
//! - `tumbling_2M_records`: performance.md's window workload, a 1-minute tumbling SUM(requests)/COUNT(*)
//!   (334 windows). The engine alone on one thread and the SQL stage alone, with records arriving as they were stamped (10 ms apart) and the
//!   event-time minute grouped beside the ROWTIME window, as KDA's guide recommends; beside it a hand-written
//!   program (borrowed-struct JSON parse, per-minute sums of records in time order) in the same run.

#[path = "support/engine_thread.rs"]
mod engine_thread;
#[path = "support/sql_stage.rs"]
mod sql_stage;
#[path = "support/workload.rs"]
mod workload;

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::Command;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const RECORDS: u64 = 2_000_000;

const PIPELINE: &str = r#"
name: bench
producers:
  records:
    type: file
    stream: records
    path: records.ndjson
    partition_key: partitionkey
streams:
  records:
    type: embedded
    shards: 1
destinations:
  bucket:
    type: s3
    source: records
    bucket: file://./bucket
    buffer: {size: 128MiB, interval: 900s}
"#;

/// The same workload through the tutorial's SQL application, as the seed pipeline declares it.
const SQL_PIPELINE: &str = r#"
name: bench-sql
producers:
  records:
    type: file
    stream: records
    path: records.ndjson
    partition_key: partitionkey
streams:
  records:
    type: embedded
    shards: 1
applications:
  metrics_stream_app:
    type: sql
    input:
      stream: records
      columns:
        - {name: COL_timestamp, type: TIMESTAMP, path: $.timestamp}
        - {name: requests_newUsers_newOrders_churnUsers, type: VARCHAR(32), path: $.requests_newUsers_newOrders_churnUsers}
    code_file: site-metrics.sql
    outputs:
      - {stream: DESTINATION_SQL_STREAM, destination: bucket, format: json}
destinations:
  bucket:
    type: s3
    bucket: file://./bucket
    buffer: {size: 128MiB, interval: 900s}
"#;

fn baseline(input: &Path, output: &Path) -> std::io::Result<u64> {
    let mut reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(input)?);
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(output)?);
    let (mut line, mut lines) = (Vec::new(), 0);
    while reader.read_until(b'\n', &mut line)? > 0 {
        writer.write_all(&line)?;
        line.clear();
        lines += 1;
    }
    writer.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(lines)
}

fn bucket_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("read bucket").flatten() {
        let path = entry.path();
        total += if path.is_dir() { bucket_bytes(&path) } else { entry.metadata().expect("metadata").len() };
    }
    total
}

/// Runs `sluice run` on `pipeline` from an empty data directory and bucket; returns the bytes delivered.
fn fresh_run(dir: &Path, pipeline: &Path) -> u64 {
    for leftover in [".sluice", "bucket"] {
        let _ = std::fs::remove_dir_all(dir.join(leftover));
    }
    let status =
        Command::new(env!("CARGO_BIN_EXE_sluice")).args(["run", "--quiet"]).arg(pipeline).status().expect("run sluice");
    assert!(status.success());
    bucket_bytes(&dir.join("bucket"))
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("records.ndjson");
    workload::write_records(&input, RECORDS).expect("generate the workload");
    let input_bytes = std::fs::metadata(&input).expect("input").len();
    let pipeline = dir.path().join("bench.yaml");
    std::fs::write(&pipeline, PIPELINE).expect("write pipeline");

    let mut group = c.benchmark_group("file_to_bucket_2M_records");
    group.sample_size(10).throughput(Throughput::Elements(RECORDS));
    group.bench_function("baseline: read lines + write the same bytes", |b| {
        b.iter(|| assert_eq!(baseline(&input, &dir.path().join("baseline.out")).expect("baseline"), RECORDS))
    });
    group.bench_function("sluice run: file -> embedded stream -> file:// bucket", |b| {
        b.iter(|| assert_eq!(fresh_run(dir.path(), &pipeline), input_bytes, "every byte delivered"))
    });
    group.finish();

    let sql_pipeline = dir.path().join("bench-sql.yaml");
    std::fs::write(&sql_pipeline, SQL_PIPELINE).expect("write pipeline");
    std::fs::copy("pipelines/site-metrics.sql", dir.path().join("site-metrics.sql")).expect("seed SQL");
    let stage = sql_stage::SqlStage::new(dir.path(), &input);
    let mut group = c.benchmark_group("seed_sql_2M_records");
    group.sample_size(10).throughput(Throughput::Elements(RECORDS));
    group.bench_function("baseline: read lines + write the same bytes", |b| {
        b.iter(|| assert_eq!(baseline(&input, &dir.path().join("baseline.out")).expect("baseline"), RECORDS))
    });
    group.bench_function("hand-written transform, one thread (the ceiling)", |b| {
        b.iter(|| assert_eq!(sql_stage::hand_written(&input, &dir.path().join("ceiling.out")), RECORDS))
    });
    group.bench_function("hand-written transform, every core (the machine's ceiling)", |b| {
        b.iter(|| assert_eq!(sql_stage::hand_written_on_every_core(&input, &dir.path().join("ceiling.out")), RECORDS))
    });
    let records = std::fs::read(&input).expect("the workload");
    let engine =
        engine_thread::EngineThread::seed(&std::fs::read_to_string("pipelines/site-metrics.sql").expect("seed"));
    group.bench_function("SQL engine, one thread: JSON -> seed SQL -> JSON", |b| {
        b.iter(|| assert_eq!(engine.run(&records), RECORDS))
    });
    group.bench_function("SQL stage alone: records in memory -> seed SQL -> output records", |b| {
        b.iter_batched(|| stage.input(), |input| assert_eq!(stage.run(input), RECORDS), BatchSize::PerIteration)
    });
    group.bench_function("sluice run: file -> embedded stream -> seed SQL -> file:// bucket", |b| {
        b.iter(|| assert!(fresh_run(dir.path(), &sql_pipeline) > 0, "rows delivered"))
    });
    group.finish();
    drop(stage);

    bench_tumbling(c, dir.path(), &input);
}

/// 2,000,000 records ten milliseconds apart: 333 full minutes and one of 20 seconds.
const TUMBLING_WINDOWS: u64 = 334;

fn bench_tumbling(c: &mut Criterion, dir: &Path, input: &Path) {
    let stage = sql_stage::SqlStage::tumbling(dir, input);
    let mut group = c.benchmark_group("tumbling_2M_records");
    group.sample_size(10).throughput(Throughput::Elements(RECORDS));
    group.bench_function("hand-written per-minute SUM/COUNT, one thread (the ceiling)", |b| {
        b.iter(|| assert_eq!(sql_stage::hand_written_tumbling(input, &dir.join("tumbling.out")), TUMBLING_WINDOWS))
    });
    let records = std::fs::read(input).expect("the workload");
    let engine = engine_thread::EngineThread::tumbling();
    group.bench_function("SQL engine, one thread: JSON -> tumbling SUM/COUNT -> JSON", |b| {
        b.iter(|| assert_eq!(engine.run(&records), TUMBLING_WINDOWS))
    });
    group.bench_function("SQL stage alone: records in memory -> tumbling SUM/COUNT -> output records", |b| {
        b.iter_batched(
            || stage.input(),
            |input| assert_eq!(stage.run(input), TUMBLING_WINDOWS),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
