//! `GROUP BY MONOTONIC(expr)` where `expr` is not a window of ROWTIME, as in `GROUP BY MONOTONIC("block")`.
//!
//! [SQLREF] sql-reference-monotonic: MONOTONIC returns its argument and declares it monotonic ("non-increasing or
//! non-decreasing and never change direction"), so that a streaming GROUP BY may use it as its key; if the data
//! breaks the promise the behaviour is unspecified. [SQLREF] sql-reference-select-clause: "It is not the value of
//! the grouping expression that determines row completion, it's when that expression changes value." So the
//! groups of one value are complete when a row brings another value:
//!
//! ```text
//!   row ─WHERE─▶ MONOTONIC value v ── v differs from the open run's ──▶ emit the run's groups (ROWTIME = this row's)
//!                                 └─▶ other GROUP BY values ──▶ GroupTable ──▶ Acc::update
//!   end of input ──▶ emit the open run's groups (ROWTIME = the last row's)
//! ```
//!
//! The clock cannot close a run (only a new value can), so a quiet stream holds its last run until more input or
//! the end. The emitted ROWTIME (the row that completed the run) is sluice's reading of "the earliest time that row
//! is complete" (UNCONFIRMED). State is the open run's groups only: a value that comes back after another starts
//! a new run, as the docs' "unspecified" allows.

use std::any::Any;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::value::Value;

use super::super::Row;
use super::super::aggregate::AggSpec;
use super::super::eval::{Bound, RowRef};
use super::super::groups::{GroupTable, same};
use super::super::stateful::{Emitted, Operator};

/// A GROUP BY whose groups close when a declared monotonic key changes value, compiled.
#[derive(Debug)]
pub(in super::super) struct MonotonicGroups {
    /// WHERE, on input rows.
    pub filter: Option<Bound>,
    /// The MONOTONIC(...) GROUP BY expression, on input rows.
    pub monotonic: Bound,
    /// The other GROUP BY expressions, on input rows.
    pub keys: Vec<Bound>,
    /// The aggregate calls.
    pub aggs: Vec<AggSpec>,
    /// HAVING, over the group row `[keys.., monotonic value, aggregates..]`.
    pub having: Option<Bound>,
    /// The select list, over the group row.
    pub projections: Vec<Bound>,
    /// Names of the group row's values, for error_stream.
    pub group_columns: Vec<String>,
    /// Names of the input's columns, for error_stream.
    pub input_columns: Vec<String>,
}

/// The open run: the monotonic value shared by its rows, and its groups.
#[derive(Debug, Default)]
struct RunState {
    value: Option<Value>,
    last_rowtime: i64,
    groups: GroupTable,
    key: Vec<Value>,
    args: Vec<Value>,
}

impl MonotonicGroups {
    fn absorb(
        &self,
        state: &mut RunState,
        row: &RowRef<'_>,
        cx: &EvalContext,
        out: &mut Emitted,
    ) -> Result<(), SqlError> {
        if let Some(filter) = &self.filter
            && filter.eval(row, cx)? != Value::Boolean(true)
        {
            return Ok(());
        }
        let value = self.monotonic.eval(row, cx)?;
        state.key.clear();
        for key in &self.keys {
            state.key.push(key.eval(row, cx)?);
        }
        state.args.clear();
        for spec in &self.aggs {
            state.args.push(match &spec.arg {
                Some(arg) => arg.eval(row, cx)?,
                None => Value::Null,
            });
        }
        if state.value.as_ref().is_some_and(|open| !same(open, &value)) {
            self.emit(state, row.rowtime, cx, out);
        }
        state.value = Some(value);
        let group = state.groups.find_or_insert(&mut state.key, || self.aggs.iter().map(AggSpec::start).collect());
        for ((spec, acc), value) in self.aggs.iter().zip(&mut group.accs).zip(&state.args) {
            acc.update(spec.kind, value);
        }
        Ok(())
    }

    /// Emits the open run's groups at ROWTIME `at`, through HAVING and the select list.
    fn emit(&self, state: &mut RunState, at: i64, cx: &EvalContext, out: &mut Emitted) {
        let Some(value) = state.value.take() else { return };
        let cx = EvalContext { row_time_ms: at, ..*cx };
        for group in state.groups.drain() {
            let mut values = group.keys;
            values.push(value.clone());
            let finished: Result<Vec<Value>, SqlError> =
                group.accs.iter().zip(&self.aggs).map(|(a, s)| a.finish(s)).collect();
            let result = finished.and_then(|aggs| {
                values.extend(aggs);
                self.output(&values, at, &cx)
            });
            match result {
                Ok(Some(row)) => out.rows.push(row),
                Ok(None) => {}
                Err(e) => out.failures.push(("Data_Error", e.message, at, self.describe(&self.group_columns, &values))),
            }
        }
    }

    fn output(&self, group: &[Value], at: i64, cx: &EvalContext) -> Result<Option<Row>, SqlError> {
        let row = RowRef { values: group, rowtime: at };
        if let Some(having) = &self.having
            && having.eval(&row, cx)? != Value::Boolean(true)
        {
            return Ok(None);
        }
        let values = self.projections.iter().map(|p| p.eval(&row, cx)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Row { rowtime: at, values }))
    }

    fn describe(&self, names: &[String], values: &[Value]) -> String {
        let pairs: Vec<String> = names.iter().zip(values).map(|(name, value)| format!("{name}={value:?}")).collect();
        pairs.join(", ")
    }
}

impl Operator for MonotonicGroups {
    fn start(&self) -> Box<dyn Any + Send> {
        Box::new(RunState { last_rowtime: i64::MIN, ..RunState::default() })
    }

    fn push(&self, state: &mut dyn Any, row: &RowRef<'_>, cx: &EvalContext, out: &mut Emitted) {
        let Some(state) = state.downcast_mut::<RunState>() else { return };
        state.last_rowtime = state.last_rowtime.max(row.rowtime);
        if let Err(e) = self.absorb(state, row, cx, out) {
            out.failures.push(("Data_Error", e.message, row.rowtime, self.describe(&self.input_columns, row.values)));
        }
    }

    fn close(&self, state: &mut dyn Any, until: Option<i64>, cx: &mut EvalContext, out: &mut Emitted) {
        // Only a new value or the end of input completes a run: the clock cannot.
        if until.is_none()
            && let Some(state) = state.downcast_mut::<RunState>()
        {
            let at = state.last_rowtime;
            self.emit(state, at, cx, out);
        }
    }

    fn next_due(&self, _state: &dyn Any) -> Option<i64> {
        None
    }

    fn held(&self, state: &dyn Any) -> usize {
        state.downcast_ref::<RunState>().map_or(0, |s| s.groups.len())
    }

    fn filters(&self) -> bool {
        self.filter.is_some() || self.having.is_some()
    }
}
