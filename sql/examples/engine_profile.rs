//! Drives N reference records (../shared/reference/performance.md's workload, generated with a fixed seed)
//! through the engine on one thread: JSON mapping, the program, and the JSON writer for its output rows (the
//! benchmarks' `EngineThread`). The benchmarks measure time; this measures work, stably on a noisy machine,
//! under callgrind:
//!
//! ```text
//! cargo build --release -p sluice-sql --example engine_profile
//! valgrind --tool=callgrind --collect-atstart=no "--toggle-collect=*Runner*push*" \
//!     "--toggle-collect=*InputMapping*map_record*" target/release/examples/engine_profile tumbling 20000
//! ```
//!
//! Instructions per record = the "Collected" total / N. Usage: `engine_profile (seed|tumbling) N`; run from the
//! workspace root (the seed reads `pipelines/site-metrics.sql`).

#[path = "../../benches/support/engine_thread.rs"]
mod engine_thread;
#[path = "../../benches/support/workload.rs"]
#[allow(dead_code)] // Shared with the benchmarks, which write the workload to a file instead.
mod workload;

use engine_thread::EngineThread;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: engine_profile (seed|tumbling) N";
    let count: u64 = args.get(2).and_then(|n| n.parse().ok()).expect(usage);
    let engine = match args.get(1).map(String::as_str) {
        Some("seed") => EngineThread::seed(
            &std::fs::read_to_string("pipelines/site-metrics.sql").expect("run from the workspace root"),
        ),
        Some("tumbling") => EngineThread::tumbling(),
        _ => panic!("{usage}"),
    };
    let records = workload::records(count);
    let start = std::time::Instant::now();
    let written = engine.run(&records);
    eprintln!("{written} rows, {:?}", start.elapsed());
}
