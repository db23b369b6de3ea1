//! A sliding-window stage at run time (`AVG(x) OVER w`, `WINDOW w AS (PARTITION BY k RANGE INTERVAL '1' MINUTE
//! PRECEDING | ROWS n PRECEDING)`): one output row per input row, its aggregates over the window that ends at,
//! and includes, that row.
//!
//! ```text
//!   row ─WHERE─▶ per window: partition key ─▶ Partition { deque of (ROWTIME, arguments), accumulators }
//!                                                 push the row, Acc::update
//!                                                 pop rows out of range (RANGE: ROWTIME <= now - size;
//!                                                 ROWS: more than n + 1), Acc::remove
//!                                                 Acc::finish (rebuilt from the deque when it cannot remove)
//!   output row ◀─ SELECT list ◀─ [input values.., aggregate values..] (ROWTIME = the input row's)
//! ```
//!
//! State is bounded: a partition holds the rows of its window only, and when the clock moves
//! ([`Sliding::prune`]) RANGE partitions forget the rows it moved past; those left empty are dropped. COUNT, SUM, AVG and the
//! variances take leaving rows out in place; MIN and MAX stand until their own value leaves, and are then
//! recomputed over the window's rows, as ANY, EVERY and DISTINCT are whenever a row leaves; FIRST_VALUE,
//! LAST_VALUE, LAG and NTH_VALUE read the deque.

use std::collections::{HashMap, VecDeque};

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::value::Value;

use super::aggregate::{Acc, AggKind, AggSpec};
use super::eval::{Bound, RowRef};
use super::groups::KeyValue;

/// How far a sliding window reaches back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// `RANGE INTERVAL ... PRECEDING`: rows whose ROWTIME is later than the current row's minus this many
    /// milliseconds ([DG] sliding-window-concepts.md: a 5-second window at t6 no longer holds the row of t1).
    Range(i64),
    /// `ROWS n PRECEDING`: the current row and the n rows before it in its partition.
    Rows(u64),
}

/// A function computed over a sliding window.
#[derive(Debug)]
pub(crate) enum WindowFn {
    /// An aggregate (SUM, AVG, MIN, ...).
    Agg(AggSpec),
    /// `LAG(x, n, default)`: x of the row n rows before the current one in the window, else `default` (NULL).
    Lag {
        /// x.
        arg: Bound,
        /// n (1 when not given).
        offset: usize,
        /// The default, evaluated on the current row.
        default: Option<Bound>,
    },
    /// `NTH_VALUE(x, n)`: x of the window's n-th row (from the first), NULL when it has fewer.
    Nth {
        /// x.
        arg: Bound,
        /// n, from 1.
        n: usize,
    },
    /// `EXP_AVG(x, INTERVAL ...)` ([SQLREF] sql-reference-exp-avg): the average of the window's x weighted by
    /// age, each `half_life` milliseconds back halving the weight (the current one weighs 1, the one before 1/2,
    /// ...), as the page's example has it: "the most recent 10-second subwindow carry double the weight of the
    /// middle 10-second subwindow and four times the weight of the oldest". DOUBLE; NULLs skipped.
    ExpAvg {
        /// x.
        arg: Bound,
        /// The half-life, in milliseconds.
        half_life: i64,
    },
}

impl WindowFn {
    /// The value kept per row for this function.
    fn arg(&self) -> Option<&Bound> {
        match self {
            WindowFn::Agg(spec) => spec.arg.as_ref(),
            WindowFn::Lag { arg, .. } | WindowFn::Nth { arg, .. } | WindowFn::ExpAvg { arg, .. } => Some(arg),
        }
    }
}

/// One window of a query (a named window, or one written in place), with the functions computed over it.
#[derive(Debug)]
pub(crate) struct WindowDef {
    /// PARTITION BY expressions, on input rows.
    pub partition: Vec<Bound>,
    /// Its extent.
    pub frame: Frame,
    /// The functions over it, each with its slot among the stage's computed values.
    pub aggs: Vec<(usize, WindowFn)>,
}

/// A query with sliding-window aggregates, compiled.
#[derive(Debug)]
pub(crate) struct Sliding {
    /// WHERE, on input rows: a row it drops enters no window.
    pub filter: Option<Bound>,
    /// The windows.
    pub windows: Vec<WindowDef>,
    /// How many aggregate values follow the input's values in the row the select list reads.
    pub slots: usize,
    /// The select list, over `[input values.., aggregate values..]`.
    pub projections: Vec<Bound>,
    /// Whether the clock may prune its RANGE windows: its ROWTIME is the input's.
    pub clock: bool,
    /// Its state's index in the runner.
    pub state: usize,
}

/// The rows one partition's window holds, and its running aggregates.
#[derive(Debug)]
struct Partition {
    /// ROWTIME and aggregate arguments of each row in the window, oldest first.
    rows: VecDeque<(i64, Vec<Value>)>,
    /// Per function, its accumulator (aggregates only).
    accs: Vec<Option<Acc>>,
    /// Per aggregate: a row left that its accumulator could not forget, so it is rebuilt before it is read.
    stale: Vec<bool>,
}

/// The open partitions of every window of one stage.
#[derive(Debug, Default)]
pub(crate) struct SlidingState {
    /// Per window, its partitions by key.
    partitions: Vec<HashMap<Vec<KeyValue>, Partition>>,
}

impl SlidingState {
    /// How many partitions the stage's windows hold (state counted in the `window_groups` metric).
    pub fn partitions(&self) -> usize {
        self.partitions.iter().map(HashMap::len).sum()
    }

    /// How many rows the stage's windows hold in all.
    #[cfg(test)]
    pub fn rows(&self) -> usize {
        self.partitions.iter().flat_map(HashMap::values).map(|p| p.rows.len()).sum()
    }
}

impl Sliding {
    /// Runs one row: adds it to its partition of each window and gives the output row's values, or None when
    /// WHERE drops it. A failing expression (or an overflowing sum) is the row's error, with its ERROR_NAME.
    pub fn push(
        &self,
        state: &mut SlidingState,
        row: &RowRef<'_>,
        cx: &EvalContext,
    ) -> Result<Option<Vec<Value>>, (&'static str, SqlError)> {
        let data = |e: SqlError| ("Data_Error", e);
        if let Some(filter) = &self.filter
            && filter.eval(row, cx).map_err(data)? != Value::Boolean(true)
        {
            return Ok(None);
        }
        if state.partitions.len() < self.windows.len() {
            state.partitions.resize_with(self.windows.len(), HashMap::new);
        }
        // Evaluate everything first, so a failing row enters no window.
        let mut keys = Vec::with_capacity(self.windows.len());
        let mut args = Vec::with_capacity(self.windows.len());
        for window in &self.windows {
            let key = window.partition.iter().map(|k| k.eval(row, cx).map(KeyValue));
            let key = key.collect::<Result<Vec<_>, _>>().map_err(data)?;
            let values = window.aggs.iter().map(|(_, f)| f.arg().map_or(Ok(Value::Null), |arg| arg.eval(row, cx)));
            let values = values.collect::<Result<Vec<_>, _>>().map_err(data)?;
            keys.push(key);
            args.push(values);
        }
        if let Some(last) = keys.iter().zip(&state.partitions).find_map(|(key, partitions)| {
            partitions.get(key).and_then(|p| p.rows.back()).map(|(t, _)| *t).filter(|t| *t > row.rowtime)
        }) {
            // Only a ROWTIME set in a subquery can go back.
            let message = format!("ROWTIME {} is earlier than its window's last row ({last})", row.rowtime);
            return Err(("Out_Of_Order_Rowtime", SqlError::data(message)));
        }
        let mut values = Vec::with_capacity(row.values.len() + self.slots);
        values.extend_from_slice(row.values);
        values.resize(row.values.len() + self.slots, Value::Null);
        let base = row.values.len();
        for (((window, key), arguments), partitions) in
            self.windows.iter().zip(keys).zip(args).zip(&mut state.partitions)
        {
            let partition = partitions.entry(key).or_insert_with(|| Partition {
                rows: VecDeque::new(),
                accs: window
                    .aggs
                    .iter()
                    .map(|(_, f)| match f {
                        WindowFn::Agg(spec) => Some(spec.start()),
                        _ => None,
                    })
                    .collect(),
                stale: vec![false; window.aggs.len()],
            });
            for ((_, f), (acc, value)) in window.aggs.iter().zip(partition.accs.iter_mut().zip(&arguments)) {
                if let (WindowFn::Agg(spec), Some(acc)) = (f, acc) {
                    acc.update(spec.kind, value);
                }
            }
            partition.rows.push_back((row.rowtime, arguments));
            partition.evict(window, row.rowtime);
            for (index, (slot, f)) in window.aggs.iter().enumerate() {
                values[base + slot] = match f {
                    WindowFn::Agg(spec) => partition.value(index, spec).map_err(data)?,
                    WindowFn::Lag { offset, default, .. } => {
                        let back = partition.rows.len().checked_sub(offset + 1);
                        match (back.and_then(|i| partition.rows.get(i)), default) {
                            (Some((_, arguments)), _) => arguments[index].clone(),
                            (None, Some(default)) => default.eval(row, cx).map_err(data)?,
                            (None, None) => Value::Null,
                        }
                    }
                    WindowFn::Nth { n, .. } => {
                        partition.rows.get(n - 1).map_or(Value::Null, |(_, arguments)| arguments[index].clone())
                    }
                    WindowFn::ExpAvg { half_life, .. } => {
                        let (mut sum, mut weights) = (0.0, 0.0);
                        for (t, arguments) in &partition.rows {
                            if let Some(x) = crate::ops::to_f64(&arguments[index]) {
                                let age = (row.rowtime - t).max(0) / (*half_life).max(1);
                                let weight = 0.5f64.powi(i32::try_from(age).unwrap_or(i32::MAX));
                                sum += weight * x;
                                weights += weight;
                            }
                        }
                        if weights > 0.0 { Value::Double(sum / weights) } else { Value::Null }
                    }
                };
            }
        }
        let extended = RowRef { values: &values, rowtime: row.rowtime };
        let out = self.projections.iter().map(|p| p.eval(&extended, cx)).collect::<Result<Vec<_>, _>>();
        out.map(Some).map_err(data)
    }

    /// The clock is at `now`: drops the rows of RANGE windows that are out of range, and partitions left empty.
    pub fn prune(&self, state: &mut SlidingState, now: i64) {
        for (window, partitions) in self.windows.iter().zip(&mut state.partitions) {
            if !matches!(window.frame, Frame::Range(_)) {
                continue;
            }
            partitions.retain(|_, partition| {
                partition.evict(window, now);
                !partition.rows.is_empty()
            });
        }
    }
}

impl Partition {
    /// Pops the rows that have left the window at time `now` (the latest row's ROWTIME, or the clock), taking
    /// each out of the accumulators that can forget it.
    fn evict(&mut self, window: &WindowDef, now: i64) {
        loop {
            let out = match (window.frame, self.rows.front()) {
                (Frame::Range(size), Some((t, _))) => *t <= now.saturating_sub(size),
                (Frame::Rows(n), Some(_)) => self.rows.len() as u64 > n.saturating_add(1),
                (_, None) => false,
            };
            if !out {
                break;
            }
            let Some((_, arguments)) = self.rows.pop_front() else { break };
            for (index, ((_, f), acc)) in window.aggs.iter().zip(&mut self.accs).enumerate() {
                if let (WindowFn::Agg(spec), Some(acc)) = (f, acc)
                    && !self.stale[index]
                    && !acc.remove(spec.kind, &arguments[index])
                {
                    self.stale[index] = true;
                }
            }
        }
    }

    /// Aggregate `index`'s value over the window's rows.
    fn value(&mut self, index: usize, spec: &AggSpec) -> Result<Value, SqlError> {
        if !spec.distinct {
            // The ends of the window answer these directly.
            match spec.kind {
                AggKind::First => return Ok(self.rows.front().map_or(Value::Null, |(_, a)| a[index].clone())),
                AggKind::Last => return Ok(self.rows.back().map_or(Value::Null, |(_, a)| a[index].clone())),
                _ => {}
            }
        }
        if std::mem::take(&mut self.stale[index]) {
            let mut acc = spec.start();
            for (_, arguments) in &self.rows {
                acc.update(spec.kind, &arguments[index]);
            }
            self.accs[index] = Some(acc);
        }
        self.accs[index].as_ref().map_or(Ok(Value::Null), |acc| acc.finish(spec))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Emit, Program, Row, StreamDef};
    use crate::types::SqlType;
    use crate::value::Value;

    fn program(sql: &str) -> Program {
        let input = StreamDef {
            name: "S".into(),
            columns: vec![("K".into(), SqlType::Varchar(4)), ("X".into(), SqlType::Integer)],
        };
        Program::compile(sql, input).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn range_partitions_are_pruned_by_the_clock_and_dropped_when_empty() {
        let program = program(
            r#"CREATE STREAM "OUT" (k VARCHAR(4), s BIGINT);
               CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM K, SUM(X) OVER (PARTITION BY K
               RANGE INTERVAL '10' SECOND PRECEDING) FROM "S";"#,
        );
        assert!(!program.is_stateless(), "a sliding window runs on one worker");
        let out = program.stream("OUT").expect("OUT");
        let mut runner = program.runner_at(0);
        let mut sums = Vec::new();
        for (i, key) in ["a", "b", "c", "a"].iter().enumerate() {
            let row = Row { rowtime: i as i64 * 1_000, values: vec![Value::string(key), Value::Int(i as i64 + 1)] };
            runner.push(row, &mut |e| {
                if let Emit::Row(id, row) = e
                    && id == out
                {
                    sums.push(row.values[1].clone());
                }
            });
        }
        assert_eq!(sums, [Value::Int(1), Value::Int(2), Value::Int(3), Value::Int(5)]);
        assert_eq!(runner.slides[0].rows(), 4);
        runner.advance_to(11_000, &mut |_| {});
        assert_eq!(runner.slides[0].rows(), 2, "the rows of 0 s and 1 s have left");
        runner.advance_to(60_000, &mut |_| {});
        assert_eq!(runner.slides[0].rows(), 0);
        assert!(runner.slides[0].partitions[0].is_empty(), "empty partitions are dropped");
    }

    #[test]
    fn rows_windows_keep_n_plus_one_rows_and_overflow_fails_only_its_row() {
        let program = program(
            r#"CREATE STREAM "OUT" (s BIGINT);
               CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM SUM(X) OVER (ROWS 1 PRECEDING) FROM "S";"#,
        );
        let out = program.stream("OUT").expect("OUT");
        let mut runner = program.runner_at(0);
        let (mut sums, mut failures) = (Vec::new(), Vec::new());
        for (i, x) in [5, i64::MAX, 1, 2].into_iter().enumerate() {
            let row = Row { rowtime: i as i64, values: vec![Value::Null, Value::Int(x)] };
            runner.push(row, &mut |e| match e {
                Emit::Row(id, row) if id == out => sums.push(row.values[0].clone()),
                Emit::Row(..) => {}
                Emit::Failure(f) => failures.push(f.name),
            });
        }
        // 5 + MAX overflows; MAX + 1 too; then 1 + 2 once MAX has left the window.
        assert_eq!(sums, [Value::Int(5), Value::Int(3)]);
        assert_eq!(failures, ["Data_Error", "Data_Error"]);
        assert_eq!(runner.slides[0].rows(), 2);
    }
}
