//! One record through a compiled application, as the running application does it: the input mapping makes
//! rows (APPROXIMATE_ARRIVAL_TIME appended), each row flows through the pumps at `rowtime`, and every row
//! reaching an in-app stream, or error_stream (`None`), is handed to `emit`. A record the mapping rejects
//! becomes one `Mapping_Error` row of error_stream.
//!
//! The running application (`run.rs`) and the pipeline-test harness both go through it, so a test sees exactly
//! what a run does.

use sluice_sql::engine::{Emit, Row, Runner, StreamId};
use sluice_sql::error_stream::error_row;
use sluice_sql::input::InputMapping;
use sluice_sql::value::Value;

/// Receives each row: its in-app stream (None: error_stream), its ROWTIME and its values.
pub type EmitRow<'a> = dyn FnMut(Option<StreamId>, i64, &[Value]) + 'a;

/// ERROR_NAME of a record the input mapping rejects.
pub const MAPPING_ERROR: &str = "Mapping_Error";

/// Maps `data` (arrived at `arrival_ms`) and pushes its rows at `rowtime`; `rows` is a reused buffer.
pub fn push_record(
    runner: &mut Runner<'_>,
    mapping: &InputMapping,
    data: &[u8],
    arrival_ms: i64,
    rowtime: i64,
    rows: &mut Vec<Vec<Value>>,
    emit: &mut EmitRow<'_>,
) {
    rows.clear();
    match mapping.map_record(data, rows) {
        Ok(()) => {
            for mut values in rows.drain(..) {
                values.push(Value::Timestamp(arrival_ms));
                runner.push(Row { rowtime, values }, &mut |emitted| match emitted {
                    Emit::Row(stream, row) => emit(Some(stream), row.rowtime, &row.values),
                    Emit::Failure(failure) => emit(
                        None,
                        rowtime,
                        &error_row(
                            rowtime,
                            failure.name,
                            &failure.message,
                            Some(failure.rowtime),
                            failure.data.as_bytes(),
                            failure.pump.as_deref(),
                        ),
                    ),
                });
            }
        }
        Err(e) => emit(None, rowtime, &error_row(rowtime, MAPPING_ERROR, &e.message, None, data, None)),
    }
}
