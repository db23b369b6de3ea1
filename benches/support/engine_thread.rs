//! The SQL engine on one thread, without the plugin around it: JSON mapping -> program -> JSON writer, as the
//! `sql` plugin's worker does it. The benchmarks time it for the one-core figures; `sql/examples/engine_profile.rs`
//! runs it under callgrind to count instructions per record.

use sluice_sql::engine::{Emit, Program, Row, StreamDef, StreamId};
use sluice_sql::input::{InputColumn, InputFormat, InputMapping, RowPool};
use sluice_sql::output::{OutputFormat, RowWriter};
use sluice_sql::types::SqlType;
use sluice_sql::value::Value;

/// performance.md's window: per minute, the sum of the first CSV value (requests) and the count of records.
pub const TUMBLING_SQL: &str = r#"
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("minute" TIMESTAMP, "requests" BIGINT, "records" BIGINT);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM FLOOR("COL_timestamp" TO MINUTE),
                  SUM(CAST(SUBSTRING("metrics" FROM 1 FOR POSITION(',' IN "metrics") - 1) AS INTEGER)),
                  COUNT(*)
    FROM "SOURCE_SQL_STREAM_001"
    GROUP BY FLOOR("COL_timestamp" TO MINUTE), STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE);
"#;

/// The first record's arrival: the workload's first timestamp, 2020-07-01T00:00:00Z.
const FIRST_ARRIVAL_MS: i64 = 1_593_561_600_000;

/// A compiled application over the reference workload's two input columns.
pub struct EngineThread {
    program: Program,
    mapping: InputMapping,
    writer: RowWriter,
    output: StreamId,
    /// Record `i` arrives `arrival(i)` ms after the first.
    arrival: fn(usize) -> i64,
}

impl EngineThread {
    /// The tutorial's application (`seed_sql`: pipelines/site-metrics.sql); records arrive a thousand per
    /// millisecond, as the plugin benchmark feeds them.
    pub fn seed(seed_sql: &str) -> EngineThread {
        EngineThread::new(seed_sql, "requests_newUsers_newOrders_churnUsers", |index| (index / 1000) as i64)
    }

    /// The 1-minute tumbling SUM/COUNT ([`TUMBLING_SQL`]); records arrive as they were stamped, 10 ms apart.
    pub fn tumbling() -> EngineThread {
        EngineThread::new(TUMBLING_SQL, "metrics", |index| index as i64 * 10)
    }

    fn new(sql: &str, metrics_column: &str, arrival: fn(usize) -> i64) -> EngineThread {
        let columns = vec![
            InputColumn {
                name: "COL_timestamp".into(),
                sql_type: SqlType::Timestamp,
                path: Some("$.timestamp".into()),
            },
            InputColumn {
                name: metrics_column.into(),
                sql_type: SqlType::Varchar(32),
                path: Some("$.requests_newUsers_newOrders_churnUsers".into()),
            },
        ];
        // The columns every Kinesis input stream has beside the mapped ones, as the plugin adds them.
        let mut stream: Vec<(String, SqlType)> = columns.iter().map(|c| (c.name.clone(), c.sql_type.clone())).collect();
        stream.push(("APPROXIMATE_ARRIVAL_TIME".into(), SqlType::Timestamp));
        stream.push(("SHARD_ID".into(), SqlType::Varchar(64)));
        let mapping = InputMapping::new(InputFormat::Json, columns).expect("the input mapping");
        let input = StreamDef { name: "SOURCE_SQL_STREAM_001".into(), columns: stream };
        let program = Program::compile(sql, input).expect("the application compiles");
        let output = program.stream("DESTINATION_SQL_STREAM").expect("the output stream");
        let writer = RowWriter::new(OutputFormat::Json, &program.stream_def(output).columns);
        EngineThread { program, mapping, writer, output, arrival }
    }

    /// Maps every line of `ndjson`, pushes the rows through a fresh runner and writes the output stream's rows
    /// (JSON, one reused buffer); returns how many were written. Each row's buffer comes back from the runner for
    /// the next record's row.
    pub fn run(&self, ndjson: &[u8]) -> u64 {
        let mut runner = self.program.runner_at(0);
        let shard = Value::string("shardId-000000000000");
        let (mut rows, mut pool, mut line, mut written) = (Vec::new(), RowPool::default(), Vec::new(), 0u64);
        let mut write = |emit: Emit<'_>| {
            if let Emit::Row(id, row) = emit
                && id == self.output
            {
                line.clear();
                self.writer.write(&row.values, &mut line);
                written += 1;
            }
        };
        for (index, record) in ndjson.split(|&b| b == b'\n').filter(|record| !record.is_empty()).enumerate() {
            let arrival = FIRST_ARRIVAL_MS + (self.arrival)(index);
            self.mapping.map_record_pooled(record, &mut rows, &mut pool).expect("a reference record maps");
            for mut values in rows.drain(..) {
                values.push(Value::Timestamp(arrival));
                values.push(shard.clone());
                pool.give(runner.push_recycling(Row { rowtime: arrival, values }, &mut write));
            }
        }
        runner.finish(&mut write);
        written
    }
}
