//! The engine: a compiled application (its in-app streams and pumps) and the runner that pushes rows
//! through it.
//!
//! ```text
//!   input row ──▶ SOURCE_SQL_STREAM_001 ──pump (stages: filter, project, ROWTIME)──▶ STREAM_A ──pump──▶ ...
//!                       │ every row of every stream is offered to the caller (Emit::Row), which keeps
//!                       ▼ those of the streams it outputs; a row that fails goes out as Emit::Failure
//!
//!   a GROUP BY stage holds rows in its open window ──closes──▶ group rows go on through the pump's next stages
//!        closes when: a row of a later window arrives │ Runner::advance_to(clock) │ Runner::finish (end of input)
//! ```
//!
//! Each input row flows through the pumps at once, depth first, in the order the pumps were created. A pump's
//! query is compiled into a chain of stages, innermost subquery first; a subquery that only projects is merged
//! into the stage reading it ([`fuse`]), so the tutorial's parse-then-pick query is one stage; `UNION ALL` becomes
//! one chain per branch into the same stream. A tumbling GROUP BY is a stateful stage ([`grouped`]): its rows come out when their
//! window closes, with ROWTIME = the window's end. Stagger windows and the table functions of `FROM TABLE(...)` are
//! stateful operators ([`stateful`]) that decide themselves when their rows come out.

mod aggregate;
mod analytics;
mod checkpoint;
mod eval;
mod fuse;
mod grouped;
mod grouping;
mod groups;
mod join;
mod plan;
mod sliding;
mod sliding_plan;
mod stagger;
mod stateful;
mod window;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::types::SqlType;
use crate::value::Value;

use self::eval::{Bound, RowRef};
use self::grouped::{Aggregate, WindowState};
use self::sliding::{Sliding, SlidingState};
use self::stateful::OperatorStage;

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

/// One stage of a pump.
#[derive(Debug)]
enum Stage {
    /// Row by row: keep rows passing a filter, compute projections, maybe set ROWTIME.
    Map(MapStage),
    /// A tumbling GROUP BY: rows wait in their window, groups come out when it closes.
    Aggregate(Box<Aggregate>),
    /// Aggregates OVER sliding windows: each row comes out at once, with its window's aggregates.
    Sliding(Box<Sliding>),
    /// A stateful operator (a stagger window, a table function): it decides when rows come out.
    Operator(Box<OperatorStage>),
    /// A join: each row paired with a reference table's rows, or with another stream's rows in a window.
    Join(Box<join::Join>),
}

/// Keep rows passing `filter`, compute `projections`, maybe set ROWTIME.
#[derive(Debug)]
struct MapStage {
    filter: Option<Bound>,
    projections: Vec<Bound>,
    rowtime: Option<Bound>,
    /// A merged subquery's computed values, evaluated first, their fields written into the projections ([`fuse`]).
    spreads: Vec<fuse::Spread>,
    /// With spreads, the projections they do not fill: those evaluated.
    computed: Vec<usize>,
}

impl MapStage {
    fn new(filter: Option<Bound>, projections: Vec<Bound>, rowtime: Option<Bound>) -> MapStage {
        MapStage { filter, projections, rowtime, spreads: Vec::new(), computed: Vec::new() }
    }
}

impl Stage {
    /// Whether the stage filters rows (WHERE, HAVING).
    fn filters(&self) -> bool {
        match self {
            Stage::Map(map) => map.filter.is_some(),
            Stage::Aggregate(aggregate) => aggregate.filter.is_some() || aggregate.having.is_some(),
            Stage::Sliding(sliding) => sliding.filter.is_some(),
            Stage::Operator(stage) => stage.op.filters(),
            Stage::Join(join) => join.condition.is_some(),
        }
    }
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

impl Pump {
    /// Whether the final stage's values fill the target's columns one to one, in order: then a row's own
    /// buffer becomes the target row, fitted in place.
    fn fills_in_place(&self) -> bool {
        self.target_columns.iter().enumerate().all(|(column, source)| *source == Some(column))
    }

    /// Whether a stage sets ROWTIME (`... AS ROWTIME`).
    fn sets_rowtime(&self) -> bool {
        self.stages.iter().any(|stage| matches!(stage, Stage::Map(map) if map.rowtime.is_some()))
    }
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
    /// Every pump after the pumps writing the stream it reads: the order windows are closed in.
    pump_order: Vec<usize>,
    /// How many GROUP BY stages (each with a window state in the runner).
    window_states: usize,
    /// How many sliding-window stages (each with its partitions in the runner).
    sliding_states: usize,
    /// How many stateful operator stages (each with its state in the runner).
    operator_states: usize,
    /// The reference tables the SQL may join (KDA allows one), with their rows once loaded.
    tables: Vec<join::RefTable>,
    /// Per stream, the join stages it is the right side of, as (pump, stage): its rows go there too.
    join_readers: Vec<Vec<(usize, usize)>>,
    /// How many join stages (each with its state in the runner).
    join_states: usize,
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
        self.pumps.iter().any(Pump::sets_rowtime)
    }

    /// Whether a pump keeps state between rows: a GROUP BY window or a sliding window.
    pub fn has_windows(&self) -> bool {
        self.window_states > 0
            || self.sliding_states > 0
            || self.operator_states > 0
            || self.join_readers.iter().any(|r| !r.is_empty())
    }

    /// Whether each row's outcome depends only on the row and its ROWTIME: then batches may be split across
    /// runners. A program that sets ROWTIME or groups rows in windows must see every row, in order, on one.
    pub fn is_stateless(&self) -> bool {
        !self.has_windows() && !self.sets_rowtime()
    }

    /// A runner on the wall clock: the per-run state (last ROWTIME per stream, the query start time).
    /// CURRENT_TIMESTAMP (and CURRENT_DATE, CURRENT_TIME, LOCALTIME, LOCALTIMESTAMP) is the time it was made;
    /// CURRENT_ROW_TIMESTAMP reads the wall clock for each row.
    pub fn runner(&self) -> Runner<'_> {
        let mut runner = self.runner_at(now_ms());
        runner.wall_clock = true;
        runner
    }

    /// A runner on a virtual clock (pipeline tests): the query started at `query_start_ms`, and
    /// CURRENT_ROW_TIMESTAMP is the time last given to [`Runner::set_row_clock`] (at first the query start).
    /// The wall clock is never read.
    pub fn runner_at(&self, query_start_ms: i64) -> Runner<'_> {
        Runner {
            program: self,
            last_rowtime: vec![i64::MIN; self.streams.len()],
            cx: EvalContext { row_time_ms: 0, query_start_ms, now_ms: query_start_ms },
            spare: Vec::new(),
            wall_clock: false,
            windows: (0..self.window_states).map(|_| WindowState::default()).collect(),
            slides: (0..self.sliding_states).map(|_| SlidingState::default()).collect(),
            operators: self.operator_starts(),
            tables: self.tables.iter().map(|t| std::sync::Arc::clone(&t.rows)).collect(),
            joins: (0..self.join_states).map(|_| join::JoinState::default()).collect(),
            clock: i64::MIN,
            input_mark: 0,
            fills_in_place: self.pumps.iter().map(Pump::fills_in_place).collect(),
            has_joins: self.join_readers.iter().any(|r| !r.is_empty()),
        }
    }

    /// Every pump (one entry per `UNION ALL` branch) as `(name, source, target, filters)`, `filters` telling
    /// whether a stage has a WHERE: read-only, for pictures and rate estimates of the application.
    pub fn pump_edges(&self) -> impl Iterator<Item = (&str, StreamId, StreamId, bool)> {
        self.pumps.iter().map(|p| (p.name.as_str(), p.source, p.target, p.stages.iter().any(Stage::filters)))
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
    /// Whether CURRENT_ROW_TIMESTAMP reads the wall clock (else the time set by `set_row_clock`).
    wall_clock: bool,
    /// Per GROUP BY stage, its open window.
    windows: Vec<WindowState>,
    /// Per sliding-window stage, its partitions' rows.
    slides: Vec<SlidingState>,
    /// Per stateful operator stage, its state.
    operators: Vec<Box<dyn std::any::Any + Send>>,
    /// Per reference table, its rows (the program's, or a test's own).
    tables: Vec<std::sync::Arc<Vec<Vec<Value>>>>,
    /// Per join stage, its index or windows.
    joins: Vec<join::JoinState>,
    /// The latest time given to [`Runner::advance_to`]: input rows get at least this ROWTIME.
    clock: i64,
    /// The input mark of the row being pushed ([`Runner::set_input_mark`]); a window remembers its oldest.
    input_mark: u64,
    /// Per pump, [`Pump::fills_in_place`].
    fills_in_place: Vec<bool>,
    /// Whether a stream is the right side of a join: each row first expires the joins' old rows.
    has_joins: bool,
}

/// At most this many spare buffers are kept.
const MAX_SPARE: usize = 16;

impl Runner<'_> {
    /// On a virtual clock ([`Program::runner_at`]): the time CURRENT_ROW_TIMESTAMP gives the rows pushed next.
    /// A runner on the wall clock reads the wall clock instead.
    pub fn set_row_clock(&mut self, now_ms: i64) {
        self.cx.now_ms = now_ms;
    }

    /// Pushes a row into the input stream and through every pump, depth first; `out` sees every row of
    /// every stream and every failure. A row earlier than the clock given to [`Runner::advance_to`] gets the
    /// clock's time as ROWTIME: its window may be gone, and ROWTIME is when a row enters the application.
    pub fn push(&mut self, row: Row, out: &mut dyn FnMut(Emit<'_>)) {
        let buffer = self.push_recycling(row, out);
        self.recycle(buffer);
    }

    /// [`push`](Self::push), handing the row's buffer back emptied: the caller's next row may reuse it
    /// ([`crate::input::RowPool`]) instead of allocating one.
    pub fn push_recycling(&mut self, mut row: Row, out: &mut dyn FnMut(Emit<'_>)) -> Vec<Value> {
        if self.program.reads_row_clock && self.wall_clock {
            self.cx.now_ms = now_ms();
        }
        row.rowtime = row.rowtime.max(self.clock);
        if self.has_joins {
            self.expire_joins(row.rowtime, false, out);
        }
        let input = self.program.input;
        self.flow(input, &row, out);
        row.values.clear();
        row.values
    }

    /// The time is now `clock_ms` (ROWTIME's clock: the virtual one of a test, or the running application's
    /// estimate): closes every window of the input's ROWTIME that ends by then, even when no row came to close
    /// it. Windows on a ROWTIME a pump sets (`AS ROWTIME`) close on their rows and at [`Runner::finish`].
    pub fn advance_to(&mut self, clock_ms: i64, out: &mut dyn FnMut(Emit<'_>)) {
        if !self.program.has_windows() {
            return;
        }
        self.clock = self.clock.max(clock_ms);
        self.close_windows(Some(clock_ms), out);
        self.expire_joins(clock_ms, false, out);
        // Sliding windows emit nothing on the clock; their RANGE partitions forget the rows it moved past.
        let program = self.program;
        for stage in program.pumps.iter().flat_map(|p| &p.stages) {
            if let Stage::Sliding(sliding) = stage
                && sliding.clock
            {
                sliding.prune(&mut self.slides[sliding.state], clock_ms);
            }
        }
    }

    /// The end of input: closes every open window, upstream first, so each group's row is emitted.
    pub fn finish(&mut self, out: &mut dyn FnMut(Emit<'_>)) {
        self.close_windows(None, out);
        // Outer joins' unmatched rows still in windows; what they emit may fill windows downstream.
        if self.program.join_readers.iter().any(|r| !r.is_empty()) {
            self.expire_joins(i64::MAX, true, out);
            self.close_windows(None, out);
        }
    }

    /// The runner's window state size (`--metrics`): groups held in open GROUP BY windows, sliding-window
    /// partitions, what the stateful operators hold (stagger windows, table functions), and the rows held in
    /// stream-stream join windows.
    pub fn window_groups(&self) -> usize {
        self.windows.iter().map(WindowState::open_groups).sum::<usize>()
            + self.slides.iter().map(SlidingState::partitions).sum::<usize>()
            + self.operators_held()
            + self.join_rows()
    }

    /// The earliest end of an open window the clock closes, if any: a virtual clock moves there next.
    pub fn next_window_end(&self) -> Option<i64> {
        let program = self.program;
        let stages = program.pump_order.iter().flat_map(|&p| &program.pumps[p].stages);
        stages
            .filter_map(|stage| match stage {
                Stage::Aggregate(aggregate) if aggregate.clock => self.windows[aggregate.state].open.map(|(_, e)| e),
                Stage::Operator(operator) if operator.clock => {
                    operator.op.next_due(self.operators[operator.state].as_ref())
                }
                _ => None,
            })
            .min()
    }

    /// Closes the open windows `due` says, pump by pump in dependency order, so rows a window emits reach the
    /// windows downstream before those are considered.
    /// `until`: the clock (windows the clock closes that end by then), or None for the end of input (every window).
    fn close_windows(&mut self, until: Option<i64>, out: &mut dyn FnMut(Emit<'_>)) {
        let program = self.program;
        for &index in &program.pump_order {
            for (position, stage) in program.pumps[index].stages.iter().enumerate() {
                match stage {
                    Stage::Aggregate(aggregate)
                        if self.windows[aggregate.state]
                            .open
                            .is_some_and(|(_, end)| until.is_none_or(|clock| aggregate.clock && end <= clock)) =>
                    {
                        self.close(index, position, aggregate, out);
                    }
                    Stage::Operator(operator) if until.is_none() || operator.clock => {
                        self.close_operator(index, position, operator, until, out);
                    }
                    _ => {}
                }
            }
        }
    }

    fn flow(&mut self, stream: StreamId, row: &Row, out: &mut dyn FnMut(Emit<'_>)) {
        self.last_rowtime[stream.0] = self.last_rowtime[stream.0].max(row.rowtime);
        out(Emit::Row(stream, row));
        let program = self.program;
        let source = &program.streams[stream.0];
        for &index in &program.readers[stream.0] {
            self.run(index, 0, &row.values, row.rowtime, &|| describe_row(source, row), out);
        }
        for &(index, position) in &program.join_readers[stream.0] {
            self.join_right(index, position, row, out);
        }
    }

    /// Runs `values` (at `rowtime`) through pump `index` from stage `first`: map stages one after another, into
    /// a GROUP BY stage's window, or into the target stream. `describe` gives the row as text for a failure.
    fn run(
        &mut self,
        index: usize,
        first: usize,
        values: &[Value],
        rowtime: i64,
        describe: &dyn Fn() -> String,
        out: &mut dyn FnMut(Emit<'_>),
    ) {
        let program = self.program;
        let pump = &program.pumps[index];
        self.cx.row_time_ms = rowtime;
        let fail = |out: &mut dyn FnMut(Emit<'_>), name: &'static str, e: SqlError| {
            out(Emit::Failure(Failure {
                name,
                message: e.message,
                rowtime,
                data: describe(),
                pump: Some(pump.name.clone()),
            }));
        };
        let mut current_rowtime = rowtime;
        let mut owned: Option<Vec<Value>> = None;
        for (position, stage) in pump.stages.iter().enumerate().skip(first) {
            let current = RowRef { values: owned.as_deref().unwrap_or(values), rowtime: current_rowtime };
            let map = match stage {
                Stage::Map(map) => map,
                Stage::Sliding(sliding) => match sliding.push(&mut self.slides[sliding.state], &current, &self.cx) {
                    Ok(Some(next)) => {
                        if let Some(previous) = owned.replace(next) {
                            self.recycle(previous);
                        }
                        continue;
                    }
                    Ok(None) => {
                        if let Some(previous) = owned {
                            self.recycle(previous);
                        }
                        return;
                    }
                    Err((name, e)) => return fail(out, name, e),
                },
                Stage::Aggregate(aggregate) => {
                    self.aggregate(index, position, aggregate, &current, describe, out);
                    if let Some(previous) = owned {
                        self.recycle(previous);
                    }
                    return;
                }
                Stage::Operator(operator) => {
                    self.operate(index, position, operator, &current, out);
                    if let Some(previous) = owned {
                        self.recycle(previous);
                    }
                    return;
                }
                Stage::Join(join) => {
                    self.join_left(index, position, join, &current, describe, out);
                    if let Some(previous) = owned {
                        self.recycle(previous);
                    }
                    return;
                }
            };
            match self.map(map, &current) {
                Ok(Some((next, next_rowtime))) => {
                    current_rowtime = next_rowtime;
                    if let Some(previous) = owned.replace(next) {
                        self.recycle(previous);
                    }
                }
                Ok(None) => {
                    if let Some(previous) = owned {
                        self.recycle(previous);
                    }
                    return;
                }
                Err(e) => return fail(out, "Data_Error", e),
            }
        }
        match self.insert(index, owned, values, current_rowtime) {
            Ok(next) => {
                self.flow(pump.target, &next, out);
                self.recycle(next.values);
            }
            Err((name, e)) => fail(out, name, e),
        }
    }

    /// One map stage on `row`: its values and ROWTIME, or `None` when the filter drops it.
    fn map(&mut self, stage: &MapStage, row: &RowRef<'_>) -> Result<Option<(Vec<Value>, i64)>, SqlError> {
        if let Some(filter) = &stage.filter
            && filter.eval(row, &self.cx)? != Value::Boolean(true)
        {
            return Ok(None);
        }
        let mut next = self.buffer();
        if stage.spreads.is_empty() {
            for projection in &stage.projections {
                match projection.eval(row, &self.cx) {
                    Ok(value) => next.push(value),
                    Err(e) => {
                        self.recycle(next);
                        return Err(e);
                    }
                }
            }
        } else if let Err(e) = fuse::evaluate(stage, row, &self.cx, &mut next) {
            self.recycle(next);
            return Err(e);
        }
        let rowtime = match &stage.rowtime {
            None => row.rowtime,
            Some(expr) => match expr.eval(row, &self.cx)? {
                Value::Timestamp(ms) => ms,
                other => return Err(SqlError::data(format!("ROWTIME must be a TIMESTAMP, got {other:?}"))),
            },
        };
        Ok(Some((next, rowtime)))
    }

    /// A row reaching GROUP BY stage `position` of pump `index`: a later window first closes the open one,
    /// then the row joins its group.
    fn aggregate(
        &mut self,
        index: usize,
        position: usize,
        aggregate: &Aggregate,
        row: &RowRef<'_>,
        describe: &dyn Fn() -> String,
        out: &mut dyn FnMut(Emit<'_>),
    ) {
        if self.windows[aggregate.state].open.is_some_and(|(_, open_end)| open_end <= row.rowtime) {
            self.close(index, position, aggregate, out);
            self.cx.row_time_ms = row.rowtime;
        }
        let mark = self.input_mark;
        let state = &mut self.windows[aggregate.state];
        let floor = state.open.map_or(state.closed_until, |(open_start, _)| open_start.max(state.closed_until));
        let result = if row.rowtime < floor {
            if row.rowtime < state.replayed_until {
                return; // Read again after a restart: its window was emitted before.
            }
            // Only a ROWTIME set in a subquery can go back: the row's window was emitted already.
            let message = format!("ROWTIME {} is earlier than its GROUP BY's open window", row.rowtime);
            Err(("Out_Of_Order_Rowtime", SqlError::data(message)))
        } else {
            if state.open.is_none() {
                // Bounds once per window, not per row: they cost a division.
                state.open = Some(aggregate.window.bounds(row.rowtime));
                state.first_mark = mark;
            }
            aggregate.absorb(state, row, &self.cx).map_err(|e| ("Data_Error", e))
        };
        if let Err((name, e)) = result {
            out(Emit::Failure(Failure {
                name,
                message: e.message,
                rowtime: row.rowtime,
                data: describe(),
                pump: Some(self.program.pumps[index].name.clone()),
            }));
        }
    }

    /// Closes the open window of GROUP BY stage `position` of pump `index`; its rows go on from the next stage.
    fn close(&mut self, index: usize, position: usize, aggregate: &Aggregate, out: &mut dyn FnMut(Emit<'_>)) {
        let Some((_, end)) = self.windows[aggregate.state].open else { return };
        // The window's rows derive from its oldest input: windows downstream that they open hold that input.
        let mark = std::mem::replace(&mut self.input_mark, self.windows[aggregate.state].first_mark);
        let (mut rows, mut failures) = (Vec::new(), Vec::new());
        aggregate.close(&mut self.windows[aggregate.state], &mut self.cx, &mut rows, &mut failures);
        let program = self.program;
        let pump = &program.pumps[index];
        for (message, data) in failures {
            let failure = Failure { name: "Data_Error", message, rowtime: end, data, pump: Some(pump.name.clone()) };
            out(Emit::Failure(failure));
        }
        for row in rows {
            let describe = || format!("{:?}", row.values);
            self.run(index, position + 1, &row.values, row.rowtime, &describe, out);
        }
        self.input_mark = mark;
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

    /// The final stage's values (`owned`, or the pump's input `values` when it has no map stage) fitted into the
    /// target's columns, checked for ROWTIME order.
    fn insert(
        &mut self,
        index: usize,
        owned: Option<Vec<Value>>,
        values: &[Value],
        rowtime: i64,
    ) -> Result<Row, (&'static str, SqlError)> {
        let data = |e: SqlError| ("Data_Error", e);
        let program = self.program;
        let pump = &program.pumps[index];
        let target = &program.streams[pump.target.0];
        let values = match owned {
            // The final stage's values are ours and in the target's order: fit them where they are.
            Some(mut values) if self.fills_in_place[index] && values.len() >= target.columns.len() => {
                values.truncate(target.columns.len());
                if let Err(e) = fit_in_place(&mut values, &target.columns) {
                    self.recycle(values);
                    return Err(data(e));
                }
                values
            }
            // Ours, in another order: move them (each is the source of one target column at most).
            Some(mut values) => {
                let mut out = self.buffer();
                out.reserve(target.columns.len());
                for ((_, ty), source) in target.columns.iter().zip(&pump.target_columns) {
                    let value = source
                        .and_then(|i| values.get_mut(i))
                        .map_or(Value::Null, |v| std::mem::replace(v, Value::Null));
                    out.push(crate::cast::fit(value, ty).map_err(data)?);
                }
                self.recycle(values);
                out
            }
            None => {
                let mut out = self.buffer();
                out.reserve(target.columns.len());
                for ((_, ty), source) in target.columns.iter().zip(&pump.target_columns) {
                    let value = source.and_then(|i| values.get(i).cloned()).unwrap_or(Value::Null);
                    out.push(crate::cast::fit(value, ty).map_err(data)?);
                }
                out
            }
        };
        if rowtime < self.last_rowtime[pump.target.0] {
            let message = format!("ROWTIME {rowtime} is earlier than the stream's last ROWTIME");
            return Err(("Out_Of_Order_Rowtime", SqlError::data(message)));
        }
        Ok(Row { rowtime, values })
    }
}

/// Fits each of `values` into its column's type ([`crate::cast::fit`]), in place.
fn fit_in_place(values: &mut [Value], columns: &[(String, SqlType)]) -> Result<(), SqlError> {
    for (value, (_, ty)) in values.iter_mut().zip(columns) {
        if !crate::cast::fits_as_is(value, ty) {
            *value = crate::cast::fit(std::mem::replace(value, Value::Null), ty)?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod fit_tests {
    use super::*;

    fn run_one(sql: &str, values: Vec<Value>) -> (Vec<Vec<Value>>, Vec<Failure>) {
        let input = StreamDef {
            name: "SOURCE_SQL_STREAM_001".into(),
            columns: vec![("S".into(), SqlType::Varchar(16)), ("N".into(), SqlType::BigInt)],
        };
        let program = Program::compile(sql, input).expect("compiles");
        let out = program.stream("OUT").expect("OUT");
        let mut runner = program.runner_at(0);
        let (mut rows, mut failures) = (Vec::new(), Vec::new());
        runner.push(Row { rowtime: 1, values }, &mut |emitted| match emitted {
            Emit::Row(id, row) if id == out => rows.push(row.values.clone()),
            Emit::Row(..) => {}
            Emit::Failure(f) => failures.push(f),
        });
        (rows, failures)
    }

    #[test]
    fn a_pump_filling_its_target_in_order_still_truncates_and_range_checks() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (short VARCHAR(8), wide VARCHAR(16), n INTEGER);
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT" SELECT STREAM s, s, n FROM "SOURCE_SQL_STREAM_001";"#;
        let (rows, failures) = run_one(sql, vec![Value::string("abcdefghijklmnop"), Value::Int(5)]);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(rows, [vec![Value::string("abcdefgh"), Value::string("abcdefghijklmnop"), Value::Int(5)]]);
        let (rows, failures) = run_one(sql, vec![Value::string("x"), Value::Int(1 << 40)]);
        assert!(rows.is_empty());
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].name, "Data_Error");
        assert!(failures[0].message.contains("out of range"), "{}", failures[0].message);
    }

    #[test]
    fn a_pump_filling_its_target_in_another_order_moves_values_and_fits_them() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (n INTEGER, short VARCHAR(4), none VARCHAR(4));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT" (short, n) SELECT STREAM s, n FROM "SOURCE_SQL_STREAM_001";"#;
        let (rows, failures) = run_one(sql, vec![Value::string("abcdefgh"), Value::Int(5)]);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(rows, [vec![Value::Int(5), Value::string("abcd"), Value::Null]]);
    }
}

#[cfg(test)]
mod recycling_tests {
    use super::*;

    /// Every emit of one push, as comparable text.
    type Emitted = Vec<String>;

    fn program(sql: &str) -> Program {
        let input = StreamDef {
            name: "SOURCE_SQL_STREAM_001".into(),
            columns: vec![("S".into(), SqlType::Varchar(16)), ("N".into(), SqlType::BigInt)],
        };
        Program::compile(sql, input).expect("compiles")
    }

    fn record(emitted: &mut Emitted) -> impl FnMut(Emit<'_>) + '_ {
        |emit| {
            emitted.push(match emit {
                Emit::Row(id, row) => format!("{id:?} {row:?}"),
                Emit::Failure(failure) => format!("{failure:?}"),
            })
        }
    }

    /// Pushes `rows` through two runners, one with `push`, one with `push_recycling` and one buffer passed from
    /// row to row: both emit the same, and each buffer comes back empty and is the one pushed.
    fn same_as_push(sql: &str, rows: &[(i64, Vec<Value>)]) -> Emitted {
        let program = program(sql);
        let (mut plain, mut recycling) = (program.runner_at(0), program.runner_at(0));
        let (mut expected, mut got) = (Vec::new(), Vec::new());
        let mut buffer: Vec<Value> = Vec::with_capacity(4);
        for (rowtime, values) in rows {
            plain.push(Row { rowtime: *rowtime, values: values.clone() }, &mut record(&mut expected));
            buffer.extend(values.iter().cloned());
            let pushed = buffer.as_ptr();
            buffer = recycling.push_recycling(Row { rowtime: *rowtime, values: buffer }, &mut record(&mut got));
            assert!(buffer.is_empty(), "handed back emptied");
            assert_eq!(buffer.as_ptr(), pushed, "the very buffer pushed");
        }
        plain.finish(&mut record(&mut expected));
        recycling.finish(&mut record(&mut got));
        assert_eq!(got, expected);
        got
    }

    fn count(emitted: &Emitted, text: &str) -> usize {
        emitted.iter().filter(|e| e.contains(text)).count()
    }

    #[test]
    fn recycled_rows_pass_filter_and_fail_as_pushed_ones() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (s VARCHAR(4), n INTEGER);
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
                SELECT STREAM s, CAST(s AS INTEGER) + n FROM "SOURCE_SQL_STREAM_001" WHERE n > 0;"#;
        let rows = [
            (1, vec![Value::string("12"), Value::Int(1)]),
            (2, vec![Value::string("34"), Value::Int(-1)]), // Filtered out.
            (3, vec![Value::string("abc"), Value::Int(1)]), // CAST fails: error_stream.
            (4, vec![Value::string("5"), Value::Int(1 << 40)]), // Out of INTEGER's range: error_stream.
            (5, vec![Value::string("78"), Value::Int(2)]),
        ];
        let emitted = same_as_push(sql, &rows);
        assert_eq!(count(&emitted, "Data_Error"), 2, "{emitted:#?}");
        assert_eq!(count(&emitted, "Int(13)"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "Int(80)"), 1, "{emitted:#?}");
    }

    #[test]
    fn recycled_rows_reach_group_by_windows_as_pushed_ones() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (s VARCHAR(4), total BIGINT, c BIGINT);
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
                SELECT STREAM s, SUM(CAST(s AS INTEGER) * n), COUNT(*) FROM "SOURCE_SQL_STREAM_001"
                WHERE n <> 0
                GROUP BY s, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);"#;
        let rows = [
            (10, vec![Value::string("2"), Value::Int(3)]),
            (20, vec![Value::string("x"), Value::Int(1)]), // Fails in its window: error_stream.
            (30, vec![Value::string("2"), Value::Int(0)]), // Filtered out.
            (40, vec![Value::string("2"), Value::Int(1)]),
            (1_500, vec![Value::string("3"), Value::Int(1)]), // Closes the first window.
        ];
        let emitted = same_as_push(sql, &rows);
        assert_eq!(count(&emitted, "Data_Error"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "[String(\"2\"), Int(8), Int(2)]"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "[String(\"3\"), Int(3), Int(1)]"), 1, "{emitted:#?}");
    }
}
