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
use sluice_sql::input::InputMapping;
use sluice_sql::value::Value;

/// Receives each row: its in-app stream (None: error_stream), its ROWTIME and its values.
pub type EmitRow<'a> = dyn FnMut(Option<StreamId>, i64, &[Value]) + 'a;

/// ERROR_NAME of a record the input mapping rejects.
pub const MAPPING_ERROR: &str = "Mapping_Error";

/// Maps `record` (its data, arrival time and shard) and pushes its rows at `rowtime`; `rows` is a reused buffer.
pub fn push_record(
    runner: &mut Runner<'_>,
    mapping: &InputMapping,
    record: &Record,
    rowtime: i64,
    rows: &mut Vec<Vec<Value>>,
    emit: &mut EmitRow<'_>,
) {
    rows.clear();
    let mapped = map_record(mapping, record, rows).map(|()| rows.len());
    push_mapped(runner, record, mapped, rows.drain(..), rowtime, emit);
}

/// Appends the rows of `record` to `rows`, each with APPROXIMATE_ARRIVAL_TIME and SHARD_ID: the stateless half
/// of [`push_record`], which may run ahead of the runner on another thread. `Err`: the mapping's message.
pub fn map_record(mapping: &InputMapping, record: &Record, rows: &mut Vec<Vec<Value>>) -> Result<(), String> {
    let before = rows.len();
    mapping.map_record(&record.data, rows).map_err(|e| e.message)?;
    let shard = shard_value(record.shard);
    for values in &mut rows[before..] {
        values.push(Value::Timestamp(record.arrival_ms));
        values.push(shard.clone());
    }
    Ok(())
}

/// The other half of [`push_record`]: pushes the rows [`map_record`] made of `record` at `rowtime` (`mapped`:
/// how many, or the mapping's message, which becomes a `Mapping_Error` row of error_stream).
pub fn push_mapped(
    runner: &mut Runner<'_>,
    record: &Record,
    mapped: Result<usize, String>,
    rows: impl Iterator<Item = Vec<Value>>,
    rowtime: i64,
    emit: &mut EmitRow<'_>,
) {
    match mapped {
        Ok(count) => {
            for values in rows.take(count) {
                runner.push(Row { rowtime, values }, &mut |emitted| forward(emitted, rowtime, emit));
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
}
