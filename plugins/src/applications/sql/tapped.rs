//! The taps on an sql application's in-app streams (`sluice run --tap app.STREAM`): each row reaching a tapped
//! stream is published as `{"tap": "app.STREAM", "row": {"ROWTIME": ..., columns...}}`, formatted only when
//! the tap has room for it.

use sluice_core::runtime::component::RunError;
use sluice_core::runtime::tap::Tap;
use sluice_sql::engine::{Program, StreamId};
use sluice_sql::error_stream::{ERROR_STREAM, error_stream_columns};
use sluice_sql::output::{OutputFormat, RowWriter};
use sluice_sql::types::SqlType;
use sluice_sql::value::Value;

/// One tapped in-app stream (`None`: error_stream) and how its rows are written.
pub struct TapPlan {
    stream: Option<StreamId>,
    tap: Tap,
    /// The stream's columns after ROWTIME.
    writer: RowWriter,
}

impl TapPlan {
    /// The plans of `taps` (`(STREAM, tap)`), each naming an in-app stream of `program` or error_stream.
    pub fn build(program: &Program, taps: &[(String, Tap)], application: &str) -> Result<Vec<TapPlan>, RunError> {
        taps.iter()
            .map(|(name, tap)| {
                let (stream, columns) = if name == ERROR_STREAM {
                    (None, error_stream_columns())
                } else {
                    // As SQL names them: an unquoted name is upper-cased.
                    let id =
                        program.stream(name).or_else(|| program.stream(&name.to_uppercase())).ok_or_else(|| {
                            RunError(format!(
                                "application `{application}`: --tap {}: no in-app stream `{name}`",
                                tap.name()
                            ))
                        })?;
                    (Some(id), program.stream_def(id).columns.clone())
                };
                let columns: Vec<_> =
                    std::iter::once(("ROWTIME".to_owned(), SqlType::Timestamp)).chain(columns).collect();
                Ok(TapPlan { stream, tap: tap.clone(), writer: RowWriter::new(OutputFormat::Json, &columns) })
            })
            .collect()
    }

    /// Publishes the row `values` at `rowtime` if it reached this tap's stream.
    pub fn offer(&self, stream: Option<StreamId>, rowtime: i64, values: &[Value]) {
        if stream != self.stream {
            return;
        }
        self.tap.publish(|| {
            let mut row = Vec::with_capacity(values.len() + 1);
            row.push(Value::Timestamp(rowtime));
            row.extend_from_slice(values);
            let mut line = format!("{{\"tap\":{},\"row\":", serde_json::Value::from(self.tap.name())).into_bytes();
            self.writer.write(&row, &mut line);
            line.push(b'}');
            String::from_utf8_lossy(&line).into_owned()
        });
    }
}
