//! The engine: a compiled application (its in-app streams and pumps) and the runner that pushes rows
//! through it.
//!
//! ```text
//!   input row ──▶ SOURCE_SQL_STREAM_001 ──pump (stages: filter, project, ROWTIME)──▶ STREAM_A ──pump──▶ ...
//!                       │ every row of every stream is offered to the caller (Emit::Row), which keeps
//!                       ▼ those of the streams it outputs; a row that fails goes out as Emit::Failure
//! ```
//!
//! This is the stateless part of KDA SQL: each input row flows through the pumps at once, depth first, in
//! the order the pumps were created. A pump's query is compiled into a chain of stages, innermost subquery
//! first; `UNION ALL` becomes one chain per branch into the same stream.

mod eval;
mod plan;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::types::SqlType;
use crate::value::Value;

use self::eval::{Bound, RowRef};

/// An in-app stream of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(usize);

/// An in-app stream: its name as SQL stores it, and its columns (ROWTIME is implicit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDef {
    /// The name (unquoted identifiers upper-cased, quoted ones exact).
    pub name: String,
    /// Columns, in order.
    pub columns: Vec<(String, SqlType)>,
}

/// A row of an in-app stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// ROWTIME, in milliseconds since the epoch.
    pub rowtime: i64,
    /// The columns' values, in the stream's column order.
    pub values: Vec<Value>,
}

/// A row that failed in a pump: it goes to error_stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// ERROR_NAME.
    pub name: &'static str,
    /// MESSAGE.
    pub message: String,
    /// The failing row's ROWTIME.
    pub rowtime: i64,
    /// The failing row, as text.
    pub data: String,
    /// The pump it failed in.
    pub pump: Option<String>,
}

/// What the runner hands back while a row flows.
#[derive(Debug)]
pub enum Emit<'a> {
    /// A row entered this stream.
    Row(StreamId, &'a Row),
    /// A row failed.
    Failure(Failure),
}

/// One stage of a pump: keep rows passing `filter`, compute `projections`, maybe set ROWTIME.
#[derive(Debug)]
struct Stage {
    filter: Option<Bound>,
    projections: Vec<Bound>,
    rowtime: Option<Bound>,
}

/// A pump (or one `UNION ALL` branch of it): from a stream, through stages, into a stream's columns.
#[derive(Debug)]
struct Pump {
    name: String,
    source: StreamId,
    stages: Vec<Stage>,
    target: StreamId,
    /// For each target column, the index of the final stage's value that fills it (None: NULL).
    target_columns: Vec<Option<usize>>,
}

/// A compiled application.
#[derive(Debug)]
pub struct Program {
    streams: Vec<StreamDef>,
    pumps: Vec<Pump>,
    /// Per stream, the pumps that read it, in creation order.
    readers: Vec<Vec<usize>>,
    input: StreamId,
    /// Whether the SQL may read the wall clock of each row (CURRENT_ROW_TIMESTAMP): else rows skip reading it.
    reads_row_clock: bool,
}

impl Program {
    /// Compiles `sql` for an application whose input in-app stream is `input`.
    pub fn compile(sql: &str, input: StreamDef) -> Result<Program, Vec<SqlError>> {
        plan::compile(sql, input)
    }

    /// The stream named `name` exactly as SQL stores it.
    pub fn stream(&self, name: &str) -> Option<StreamId> {
        self.streams.iter().position(|s| s.name == name).map(StreamId)
    }

    /// A stream's definition.
    pub fn stream_def(&self, id: StreamId) -> &StreamDef {
        &self.streams[id.0]
    }

    /// Every in-app stream's name, for messages.
    pub fn stream_names(&self) -> impl Iterator<Item = &str> {
        self.streams.iter().map(|s| s.name.as_str())
    }

    /// The input in-app stream.
    pub fn input(&self) -> StreamId {
        self.input
    }

    /// Whether a pump sets ROWTIME (`... AS ROWTIME`): then the order rows arrive in decides which are out of
    /// order, so rows must run one after another on one runner. Otherwise a row's outcome depends only on the
    /// row and its ROWTIME, and batches may be split across runners.
    pub fn sets_rowtime(&self) -> bool {
        self.pumps.iter().any(|pump| pump.stages.iter().any(|stage| stage.rowtime.is_some()))
    }

    /// A runner: the per-run state (last ROWTIME per stream, the query start time).
    pub fn runner(&self) -> Runner<'_> {
        let now = now_ms();
        Runner {
            program: self,
            last_rowtime: vec![i64::MIN; self.streams.len()],
            cx: EvalContext { row_time_ms: 0, query_start_ms: now, now_ms: now },
            spare: Vec::new(),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Pushes rows through a program.
#[derive(Debug)]
pub struct Runner<'a> {
    program: &'a Program,
    last_rowtime: Vec<i64>,
    cx: EvalContext,
    /// Emptied value buffers of earlier rows, reused for stage and pump outputs: no allocation per row.
    spare: Vec<Vec<Value>>,
}

/// At most this many spare buffers are kept.
const MAX_SPARE: usize = 16;

impl Runner<'_> {
    /// Pushes a row into the input stream and through every pump, depth first; `out` sees every row of
    /// every stream and every failure.
    pub fn push(&mut self, row: Row, out: &mut dyn FnMut(Emit<'_>)) {
        if self.program.reads_row_clock {
            self.cx.now_ms = now_ms();
        }
        let input = self.program.input;
        self.flow(input, &row, out);
    }

    fn flow(&mut self, stream: StreamId, row: &Row, out: &mut dyn FnMut(Emit<'_>)) {
        self.last_rowtime[stream.0] = self.last_rowtime[stream.0].max(row.rowtime);
        out(Emit::Row(stream, row));
        let program = self.program;
        for &index in &program.readers[stream.0] {
            let pump = &program.pumps[index];
            self.cx.row_time_ms = row.rowtime;
            match self.apply(pump, row) {
                Ok(Some(next)) => {
                    self.flow(pump.target, &next, out);
                    self.recycle(next.values);
                }
                Ok(None) => {}
                Err((name, e)) => out(Emit::Failure(Failure {
                    name,
                    message: e.message,
                    rowtime: row.rowtime,
                    data: describe_row(&program.streams[stream.0], row),
                    pump: Some(pump.name.clone()),
                })),
            }
        }
    }

    /// An empty buffer for values: a spare one when there is one.
    fn buffer(&mut self) -> Vec<Value> {
        self.spare.pop().unwrap_or_default()
    }

    /// Empties `values` and keeps it for a later row.
    fn recycle(&mut self, mut values: Vec<Value>) {
        if self.spare.len() < MAX_SPARE {
            values.clear();
            self.spare.push(values);
        }
    }

    /// Runs a pump's stages on `row`: `None` when a filter drops it.
    fn apply(&mut self, pump: &Pump, row: &Row) -> Result<Option<Row>, (&'static str, SqlError)> {
        let data = |e: SqlError| ("Data_Error", e);
        let mut rowtime = row.rowtime;
        let mut owned: Option<Vec<Value>> = None;
        for stage in &pump.stages {
            let values = owned.as_deref().unwrap_or(&row.values);
            let current = RowRef { values, rowtime };
            if let Some(filter) = &stage.filter
                && filter.eval(&current, &self.cx).map_err(data)? != Value::Boolean(true)
            {
                if let Some(previous) = owned {
                    self.recycle(previous);
                }
                return Ok(None);
            }
            let mut next = self.buffer();
            for projection in &stage.projections {
                next.push(projection.eval(&current, &self.cx).map_err(data)?);
            }
            if let Some(expr) = &stage.rowtime {
                rowtime = match expr.eval(&current, &self.cx).map_err(data)? {
                    Value::Timestamp(ms) => ms,
                    other => return Err(data(SqlError::data(format!("ROWTIME must be a TIMESTAMP, got {other:?}")))),
                };
            }
            if let Some(previous) = owned.replace(next) {
                self.recycle(previous);
            }
        }
        let program = self.program;
        let target = &program.streams[pump.target.0];
        let mut out = self.buffer();
        out.reserve(target.columns.len());
        match &mut owned {
            // The final stage's values are ours: move them (each is the source of one target column at most).
            Some(values) => {
                for ((_, ty), source) in target.columns.iter().zip(&pump.target_columns) {
                    let value = source
                        .and_then(|i| values.get_mut(i))
                        .map_or(Value::Null, |v| std::mem::replace(v, Value::Null));
                    out.push(crate::cast::fit(value, ty).map_err(data)?);
                }
            }
            None => {
                for ((_, ty), source) in target.columns.iter().zip(&pump.target_columns) {
                    let value = source.and_then(|i| row.values.get(i).cloned()).unwrap_or(Value::Null);
                    out.push(crate::cast::fit(value, ty).map_err(data)?);
                }
            }
        }
        if let Some(values) = owned {
            self.recycle(values);
        }
        if rowtime < self.last_rowtime[pump.target.0] {
            let message = format!("ROWTIME {rowtime} is earlier than the stream's last ROWTIME");
            return Err(("Out_Of_Order_Rowtime", SqlError::data(message)));
        }
        Ok(Some(Row { rowtime, values: out }))
    }
}

/// A row as text for error_stream's DATA_ROW: `COLUMN=value` pairs.
fn describe_row(stream: &StreamDef, row: &Row) -> String {
    let mut text = String::new();
    for ((name, _), value) in stream.columns.iter().zip(&row.values) {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(&format!("{name}={value:?}"));
    }
    text
}
#[cfg(test)]
mod tests;
