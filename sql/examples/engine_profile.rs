//! Drives N reference records (../shared/reference/performance.md's workload, generated with a fixed seed)
//! through the engine on one thread: JSON mapping, the program, and the JSON writer for its output rows. The
//! benchmarks measure time; this measures work, stably on a noisy machine, under callgrind:
//!
//! ```text
//! cargo build --release -p sluice-sql --example engine_profile
//! valgrind --tool=callgrind --collect-atstart=no "--toggle-collect=*Runner*push*" \
//!     "--toggle-collect=*InputMapping*map_record*" target/release/examples/engine_profile tumbling 20000
//! ```
//!
//! Instructions per record = the "Collected" total / N. Usage: `engine_profile (seed|tumbling) N`; run from the
//! workspace root (the seed reads `pipelines/site-metrics.sql`).
use sluice_sql::engine::{Emit, Program, Row, StreamDef};
use sluice_sql::input::{InputColumn, InputFormat, InputMapping};
use sluice_sql::output::{OutputFormat, RowWriter};
use sluice_sql::types::SqlType;
use sluice_sql::value::Value;

const TUMBLING: &str = r#"
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("minute" TIMESTAMP, "requests" BIGINT, "records" BIGINT);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM FLOOR("COL_timestamp" TO MINUTE),
                  SUM(CAST(SUBSTRING("metrics" FROM 1 FOR POSITION(',' IN "metrics") - 1) AS INTEGER)),
                  COUNT(*)
    FROM "SOURCE_SQL_STREAM_001"
    GROUP BY FLOOR("COL_timestamp" TO MINUTE), STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE);
"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seed = args.get(1).is_some_and(|mode| mode == "seed");
    let n: u64 = args.get(2).and_then(|n| n.parse().ok()).expect("usage: engine_profile (seed|tumbling) N");
    let sql = if seed {
        std::fs::read_to_string("pipelines/site-metrics.sql").expect("run from the workspace root")
    } else {
        TUMBLING.into()
    };
    let second = if seed { "requests_newUsers_newOrders_churnUsers" } else { "metrics" };
    let columns = vec![
        InputColumn { name: "COL_timestamp".into(), sql_type: SqlType::Timestamp, path: Some("$.timestamp".into()) },
        InputColumn {
            name: second.into(),
            sql_type: SqlType::Varchar(32),
            path: Some("$.requests_newUsers_newOrders_churnUsers".into()),
        },
    ];
    let mut stream: Vec<(String, SqlType)> = columns.iter().map(|c| (c.name.clone(), c.sql_type.clone())).collect();
    stream.push(("APPROXIMATE_ARRIVAL_TIME".into(), SqlType::Timestamp));
    stream.push(("SHARD_ID".into(), SqlType::Varchar(64)));
    let mapping = InputMapping::new(InputFormat::Json, columns).expect("mapping");
    let program =
        Program::compile(&sql, StreamDef { name: "SOURCE_SQL_STREAM_001".into(), columns: stream }).expect("program");
    let out_id = program.stream("DESTINATION_SQL_STREAM").expect("output stream");
    let writer = RowWriter::new(OutputFormat::Json, &program.stream_def(out_id).columns);
    let mut runner = program.runner_at(0);
    let mut data = Vec::new();
    let mut state: u64 = 0x5eed_5eed_5eed_5eed;
    let mut next = |bound: u64| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % bound
    };
    let mut lines = Vec::new();
    for i in 0..n {
        let ms = i * 10;
        let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        let (day, h) = (1 + h / 24, h % 24);
        lines.push(format!(
            r#"{{"timestamp": "2020-07-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}", "requests_newUsers_newOrders_churnUsers": "{},{},{},{}"}}"#,
            1 + next(100), next(11), next(6), next(4)
        ));
    }
    let shard = Value::string("shardId-000000000000");
    let (mut rows, mut written) = (Vec::new(), 0u64);
    let start = std::time::Instant::now();
    for (i, line) in lines.iter().enumerate() {
        let arrival = 1_593_561_600_000 + if seed { (i / 1000) as i64 } else { i as i64 * 10 };
        rows.clear();
        mapping.map_record(line.as_bytes(), &mut rows).expect("a reference record maps");
        for mut values in rows.drain(..) {
            values.push(Value::Timestamp(arrival));
            values.push(shard.clone());
            runner.push(Row { rowtime: arrival, values }, &mut |e| {
                if let Emit::Row(id, row) = e
                    && id == out_id
                {
                    data.clear();
                    writer.write(&row.values, &mut data);
                    written += 1;
                }
            });
        }
    }
    runner.finish(&mut |e| {
        if let Emit::Row(id, _) = e
            && id == out_id
        {
            written += 1;
        }
    });
    eprintln!("{written} rows, {:?}", start.elapsed());
}
