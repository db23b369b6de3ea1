//! One record through a compiled application, as the running application does it: the input mapping makes
//! rows (APPROXIMATE_ARRIVAL_TIME and SHARD_ID appended), each row flows through the pumps at `rowtime`, and
//! every row reaching an in-app stream, or error_stream (`None`), is handed to `emit`. A record the mapping
//! rejects becomes one `Mapping_Error` row of error_stream. The clock ([`advance`]) and the end of input
//! ([`finish`]) close GROUP BY windows, whose rows are handed to `emit` the same way.
//!
//! The running application (`run.rs`) and the pipeline-test harness both go through it, so a test sees exactly
//! what a run does.

use sluice_core::embedded::shard_id;
use sluice_core::runtime::record::Record;
use sluice_sql::engine::{Emit, Row, Runner, StreamId};
use sluice_sql::error_stream::error_row;
use sluice_sql::input::{InputMapping, RowPool};
use sluice_sql::value::Value;

/// Receives each row: its in-app stream (None: error_stream), its ROWTIME and its values.
pub type EmitRow<'a> = dyn FnMut(Option<StreamId>, i64, &[Value]) + 'a;

/// ERROR_NAME of a record the input mapping rejects.
pub const MAPPING_ERROR: &str = "Mapping_Error";

/// Maps `record` (its data, arrival time and shard) and pushes its rows at `rowtime`; `rows` is a reused buffer,
/// and the rows' own buffers go back to `pool` for the next record's rows.
pub fn push_record(
    runner: &mut Runner<'_>,
    mapping: &InputMapping,
    record: &Record,
    rowtime: i64,
    rows: &mut Vec<Vec<Value>>,
    pool: &mut RowPool,
    emit: &mut EmitRow<'_>,
) {
    rows.clear();
    let mapped = map_record(mapping, record, rows, pool).map(|()| rows.len());
    push_mapped(runner, record, mapped, rows.drain(..), rowtime, pool, emit);
}

/// Appends the rows of `record` to `rows`, each with APPROXIMATE_ARRIVAL_TIME and SHARD_ID, their buffers taken
/// from `pool` while it has some: the stateless half of [`push_record`], which may run ahead of the runner on
/// another thread. `Err`: the mapping's message.
pub fn map_record(
    mapping: &InputMapping,
    record: &Record,
    rows: &mut Vec<Vec<Value>>,
    pool: &mut RowPool,
) -> Result<(), String> {
    let before = rows.len();
    mapping.map_record_pooled(&record.data, rows, pool).map_err(|e| e.message)?;
    let shard = shard_value(record.shard);
    for values in &mut rows[before..] {
        values.push(Value::Timestamp(record.arrival_ms));
        values.push(shard.clone());
    }
    Ok(())
}

/// The other half of [`push_record`]: pushes the rows [`map_record`] made of `record` at `rowtime` (`mapped`:
/// how many, or the mapping's message, which becomes a `Mapping_Error` row of error_stream). Each row's buffer
/// comes back from the runner, emptied, into `pool`.
pub fn push_mapped(
    runner: &mut Runner<'_>,
    record: &Record,
    mapped: Result<usize, String>,
    rows: impl Iterator<Item = Vec<Value>>,
    rowtime: i64,
    pool: &mut RowPool,
    emit: &mut EmitRow<'_>,
) {
    match mapped {
        Ok(count) => {
            for values in rows.take(count) {
                let buffer =
                    runner.push_recycling(Row { rowtime, values }, &mut |emitted| forward(emitted, rowtime, emit));
                pool.give(buffer);
            }
        }
        Err(message) => emit(None, rowtime, &error_row(rowtime, MAPPING_ERROR, &message, None, &record.data, None)),
    }
}

/// The time is `clock_ms`: closes the GROUP BY windows that end by then ([`Runner::advance_to`]).
pub fn advance(runner: &mut Runner<'_>, clock_ms: i64, emit: &mut EmitRow<'_>) {
    runner.advance_to(clock_ms, &mut |emitted| forward(emitted, clock_ms, emit));
}

/// The end of input: closes every open window ([`Runner::finish`]).
pub fn finish(runner: &mut Runner<'_>, emit: &mut EmitRow<'_>) {
    runner.finish(&mut |emitted| {
        let at = match &emitted {
            Emit::Row(_, row) => row.rowtime,
            Emit::Failure(failure) => failure.rowtime,
        };
        forward(emitted, at, emit);
    });
}

/// A row or a failure (as an error_stream row, ERROR_TIME `at`) to `emit`.
fn forward(emitted: Emit<'_>, at: i64, emit: &mut EmitRow<'_>) {
    match emitted {
        Emit::Row(stream, row) => emit(Some(stream), row.rowtime, &row.values),
        Emit::Failure(failure) => emit(
            None,
            at,
            &error_row(
                at,
                failure.name,
                &failure.message,
                Some(failure.rowtime),
                failure.data.as_bytes(),
                failure.pump.as_deref(),
            ),
        ),
    }
}

/// Shards whose SHARD_ID value is made once per thread and shared by every row after (a stream has at most 500).
const SHARED_SHARD_IDS: usize = 512;

thread_local! {
    /// Per worker thread, the SHARD_ID value of each shard seen. Per thread, not global: every row clones it, and
    /// a reference count shared by all workers would bounce between their cores.
    static SHARD_IDS: std::cell::RefCell<Vec<Value>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The SHARD_ID of a record from shard number `shard` (`shardId-000000000003`), NULL for none: one shared string
/// per shard and thread, so a row costs a reference count, not an allocation.
fn shard_value(shard: Option<u32>) -> Value {
    let Some(shard) = shard else { return Value::Null };
    let index = shard as usize;
    if index >= SHARED_SHARD_IDS {
        return Value::string(&shard_id(shard));
    }
    SHARD_IDS.with_borrow_mut(|ids| {
        if ids.len() <= index {
            ids.resize(index + 1, Value::Null);
        }
        if ids[index].is_null() {
            ids[index] = Value::string(&shard_id(shard));
        }
        ids[index].clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids_are_kinesis_names_shared_per_shard() {
        assert_eq!(shard_value(Some(3)), Value::string("shardId-000000000003"));
        assert_eq!(shard_value(Some(4_000)), Value::string("shardId-000000004000"));
        assert_eq!(shard_value(None), Value::Null);
        // Made once per shard and thread, then cloned: a shard id is short enough to be kept inline in the value
        // (sql/src/value.rs), so the clone allocates nothing (it used to share one allocation).
        assert_eq!(shard_value(Some(7)), shard_value(Some(7)));
    }

    /// Pushes `records` one by one, as the running application does, with `push_record`'s pool, and as before
    /// pools were (each row a fresh buffer, dropped by `Runner::push`): both emit the same. Checks that the pool
    /// holds only empty buffers, and that a record's row after the first reuses one.
    fn pooled_and_fresh(sql: &str, records: &[&str]) -> Vec<String> {
        use sluice_sql::engine::{Program, StreamDef};
        use sluice_sql::input::{InputColumn, InputFormat};
        use sluice_sql::types::SqlType;
        let column = InputColumn { name: "id".into(), sql_type: SqlType::Integer, path: Some("$.id".into()) };
        let mapping = InputMapping::new(InputFormat::Json, vec![column]).expect("mapping");
        let columns = vec![
            ("id".into(), SqlType::Integer),
            ("APPROXIMATE_ARRIVAL_TIME".into(), SqlType::Timestamp),
            ("SHARD_ID".into(), SqlType::Varchar(64)),
        ];
        let program =
            Program::compile(sql, StreamDef { name: "SOURCE_SQL_STREAM_001".into(), columns }).expect("compiles");
        let (mut pooled, mut fresh) = (program.runner_at(0), program.runner_at(0));
        let (mut got, mut expected) = (Vec::new(), Vec::new());
        let (mut rows, mut pool) = (Vec::new(), RowPool::default());
        for (index, data) in records.iter().enumerate() {
            let at = index as i64;
            let record = Record {
                partition_key: std::sync::Arc::from("k"),
                data: bytes::Bytes::copy_from_slice(data.as_bytes()),
                arrival_ms: at,
                shard: Some(1),
            };
            let into = collect;
            let waiting = pool.len();
            push_record(&mut pooled, &mapping, &record, at, &mut rows, &mut pool, &mut into(&mut got));
            let mut made = Vec::new();
            let mapped = map_record(&mapping, &record, &mut made, &mut RowPool::default()).map(|()| made.len());
            if let Ok(count) = mapped {
                assert_eq!(pool.len(), waiting.max(count), "one buffer per row, the same ones from row to row");
            }
            let mut emit = into(&mut expected);
            match mapped {
                Ok(_) => {
                    for values in made {
                        pooled_free_push(&mut fresh, values, at, &mut emit);
                    }
                }
                Err(message) => emit(None, at, &error_row(at, MAPPING_ERROR, &message, None, &record.data, None)),
            }
        }
        assert!(!pool.is_empty());
        assert_eq!(got, expected);
        got
    }

    /// Each row `emit` gets, as text, into `out`.
    fn collect(out: &mut Vec<String>) -> impl FnMut(Option<StreamId>, i64, &[Value]) + '_ {
        move |stream, at, values| out.push(format!("{stream:?} {at} {values:?}"))
    }

    /// `Runner::push` of one row, each emit forwarded as `push_mapped` does.
    fn pooled_free_push(runner: &mut Runner<'_>, values: Vec<Value>, at: i64, emit: &mut EmitRow<'_>) {
        runner.push(Row { rowtime: at, values }, &mut |emitted| forward(emitted, at, emit));
    }

    #[test]
    fn pooled_rows_pass_fail_and_are_filtered_as_fresh_ones() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" ("inverse" INTEGER);
            CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
            SELECT STREAM 100 / "id" FROM "SOURCE_SQL_STREAM_001" WHERE "id" <> 7;"#;
        let records = [r#"{"id": 5}"#, r#"{"id": "x"}"#, r#"{"id": 0}"#, r#"{"id": 7}"#, r#"{"id": 20}"#];
        let emitted = pooled_and_fresh(sql, &records).join("\n");
        for wanted in [MAPPING_ERROR, "Data_Error", "[Int(20)]", "[Int(5)]"] {
            assert!(emitted.contains(wanted), "{wanted}: {emitted}");
        }
        assert!(!emitted.contains("Some(StreamId(1)) 3"), "id 7 is filtered: {emitted}");
    }
}
