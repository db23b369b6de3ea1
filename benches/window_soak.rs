//! Window state over a long run: is memory bounded by the open windows and keys, not by history?
//!
//! Three windowed queries run on the SQL engine for 60 minutes of virtual time, 2,000 rows a second
//! (7,200,000 rows each), 500 distinct keys a minute and new key names every minute (so a leak of closed keys
//! would show): a 1-minute tumbling SUM/COUNT per key (the issue's soak), a 1-minute stagger window per key,
//! and a 1-minute RANGE sliding AVG per key. The clock advances with the rows, as a running application's does.
//! After each virtual minute the process's resident set (VmRSS) and the engine's `window_groups` are sampled;
//! the report prints them at minutes 5, 10, 30 and 60, the peak (VmHWM), and whether RSS after minute 10 stayed
//! within 10 % (plus 8 MiB) of its minute-10 value: "flat". Then criterion measures rows/s of each query.
//!
//! Run: `cargo bench --bench window_soak`.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use sluice_sql::engine::{Emit, Program, Row, StreamDef};
use sluice_sql::types::SqlType;
use sluice_sql::value::Value;

/// 2020-07-01 00:00:00 UTC.
const T0: i64 = 1_593_561_600_000;
const ROWS_PER_SECOND: i64 = 2_000;
const KEYS_PER_MINUTE: i64 = 500;
const MINUTES: i64 = 60;

const QUERIES: [(&str, &str); 3] = [
    (
        "tumbling 1-minute SUM/COUNT per key",
        r#"CREATE STREAM "OUT" ("k" VARCHAR(16), "total" BIGINT, "n" BIGINT);
           CREATE PUMP "P" AS INSERT INTO "OUT"
           SELECT STREAM "k", SUM("v"), COUNT(*) FROM "S"
           GROUP BY "k", STEP("S".ROWTIME BY INTERVAL '1' MINUTE);"#,
    ),
    (
        "stagger 1-minute SUM/COUNT per key",
        r#"CREATE STREAM "OUT" ("k" VARCHAR(16), "total" BIGINT, "n" BIGINT);
           CREATE PUMP "P" AS INSERT INTO "OUT"
           SELECT STREAM "k", SUM("v"), COUNT(*) FROM "S"
           WINDOWED BY STAGGER (PARTITION BY "k" RANGE INTERVAL '1' MINUTE);"#,
    ),
    (
        "sliding 1-minute RANGE AVG per key",
        r#"CREATE STREAM "OUT" ("k" VARCHAR(16), "average" BIGINT);
           CREATE PUMP "P" AS INSERT INTO "OUT"
           SELECT STREAM "k", AVG("v") OVER (PARTITION BY "k" RANGE INTERVAL '1' MINUTE PRECEDING) FROM "S";"#,
    ),
];

fn input() -> StreamDef {
    StreamDef { name: "S".into(), columns: vec![("k".into(), SqlType::Varchar(16)), ("v".into(), SqlType::Integer)] }
}

/// A `/proc/self/status` field in KiB (0 where there is no procfs).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or(0)
}

/// A string value cloned once: its text's first clone allocates the shared header (`bytes`' promotion), which
/// would otherwise show as growth of the input's own memory while the soak runs.
fn shared(value: Value) -> Value {
    let _ = value.clone();
    value
}

/// Runs `minutes` of virtual time through `program`; calls `sample(minute, window_groups)` after each minute.
/// Returns how many rows came out.
fn feed(program: &Program, minutes: i64, mut sample: impl FnMut(i64, usize)) -> u64 {
    let out_stream = program.stream("OUT").expect("OUT");
    let mut emitted = 0u64;
    let mut out = |e: Emit<'_>| {
        if let Emit::Row(id, _) = e
            && id == out_stream
        {
            emitted += 1;
        }
    };
    let mut runner = program.runner_at(T0);
    let names: Vec<Vec<Value>> = (0..minutes)
        .map(|m| (0..KEYS_PER_MINUTE).map(|k| shared(Value::string(&format!("key-{m}-{k}")))).collect())
        .collect();
    for minute in 0..minutes {
        let keys = &names[minute as usize];
        for i in 0..ROWS_PER_SECOND * 60 {
            let rowtime = T0 + minute * 60_000 + i * 1_000 / ROWS_PER_SECOND;
            if i % ROWS_PER_SECOND == 0 {
                runner.advance_to(rowtime, &mut out);
            }
            let key = keys[(i % KEYS_PER_MINUTE) as usize].clone();
            runner.push(Row { rowtime, values: vec![key, Value::Int(i % 100)] }, &mut out);
        }
        sample(minute + 1, runner.window_groups());
    }
    runner.finish(&mut out);
    emitted
}

fn soak_report() {
    println!("window soak: {MINUTES} virtual minutes, {ROWS_PER_SECOND} rows/s, {KEYS_PER_MINUTE} new keys a minute");
    for (name, sql) in QUERIES {
        let program = Program::compile(sql, input()).expect("compiles");
        let mut samples = Vec::new();
        let started = std::time::Instant::now();
        let rows = feed(&program, MINUTES, |minute, groups| samples.push((minute, status_kib("VmRSS:"), groups)));
        let elapsed = started.elapsed().as_secs_f64();
        let at = |m: i64| samples.iter().find(|s| s.0 == m).copied().unwrap_or_default();
        let base = at(10).1;
        let flat = samples.iter().filter(|s| s.0 >= 10).all(|s| s.1 <= base + base / 10 + 8 * 1024);
        println!("  {name}: {rows} rows out, {:.0} rows/s", (MINUTES * 60 * ROWS_PER_SECOND) as f64 / elapsed);
        for m in [5, 10, 30, 60] {
            let (_, rss, groups) = at(m);
            println!("    minute {m:>2}: RSS {:>7} KiB, window_groups {groups}", rss);
        }
        println!(
            "    peak RSS (VmHWM) {} KiB; flat after minute 10: {}",
            status_kib("VmHWM:"),
            if flat { "yes" } else { "NO" }
        );
    }
}

fn bench(c: &mut Criterion) {
    soak_report();
    let mut group = c.benchmark_group("window_soak_5_virtual_minutes");
    group.sample_size(10).throughput(Throughput::Elements((5 * 60 * ROWS_PER_SECOND) as u64));
    for (name, sql) in QUERIES {
        let program = Program::compile(sql, input()).expect("compiles");
        group.bench_function(name, |b| b.iter(|| black_box(feed(&program, 5, |_, _| {}))));
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
