//! Drives N reference records (../shared/reference/performance.md's workload, generated with a fixed seed)
//! through the `sql` plugin as the benchmarks' "SQL stage alone" does: built through the registry, fed batches
//! from memory, its worker threads (and a windowed program's mapping thread) doing the work. The benchmarks
//! measure time; this measures the plugin's work per record, stably on a noisy machine, under callgrind:
//!
//! ```text
//! cargo build --release --example stage_profile
//! valgrind --tool=callgrind --collect-atstart=no "--toggle-collect=*workers*work*" "--toggle-collect=*map_jobs*" \
//!     target/release/examples/stage_profile tumbling 200000
//! ```
//!
//! Instructions per record = the "Collected" total / N (the worker threads and the mapping thread; the async
//! side, which hands batches over and counts the output records, is left out). Usage:
//! `stage_profile (seed|tumbling) N`; run from the workspace root (the seed reads `pipelines/site-metrics.sql`).

#[path = "../benches/support/engine_thread.rs"]
#[allow(dead_code)] // Only its TUMBLING_SQL is used here.
mod engine_thread;
#[path = "../benches/support/sql_stage.rs"]
#[allow(dead_code)] // The hand-written programs are the benchmarks'.
mod sql_stage;
#[path = "../benches/support/workload.rs"]
mod workload;

use sql_stage::SqlStage;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: stage_profile (seed|tumbling) N";
    let count: u64 = args.get(2).and_then(|n| n.parse().ok()).expect(usage);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("records.ndjson");
    workload::write_records(&input, count).expect("generate the workload");
    let stage = match args.get(1).map(String::as_str) {
        Some("seed") => {
            std::fs::copy("pipelines/site-metrics.sql", dir.path().join("site-metrics.sql"))
                .expect("run from the workspace root");
            SqlStage::new(dir.path(), &input)
        }
        Some("tumbling") => SqlStage::tumbling(dir.path(), &input),
        _ => panic!("{usage}"),
    };
    let batches = stage.input();
    let start = std::time::Instant::now();
    let written = stage.run(batches);
    eprintln!("{written} output records, {:?}", start.elapsed());
}
