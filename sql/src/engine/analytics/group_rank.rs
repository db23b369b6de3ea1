//! `GROUP_RANK(CURSOR(...), 'rankByColumn', 'rankOutColumn', sortOrder, outputOrder, maxIdle, outputMax)`
//! ([SQLREF] sql-reference-group-rank-udx, the reference's "Sorting: group rank"): RANK() over each group of rows
//! that share a ROWTIME (typically the rows a GROUP BY window emits at once), returned as `c.*` plus the rank.
//!
//! ```text
//!   row ──same ROWTIME as the group──▶ held
//!       └─ a later ROWTIME, maxIdle ms of quiet on the clock, or the end of input ──▶ the group is ranked:
//!          sorted by rankByColumn (sortOrder 'asc' | 'desc', NULLs last), RANK() (ties share a rank, gaps
//!          after), output by rank in outputOrder ('asc' | 'desc'), at most outputMax rows (0: all)
//! ```
//!
//! The rank column is INTEGER, named by rankOutColumn. maxIdle 0 means no idle timeout: the group waits for the
//! next ROWTIME or the end of input. State is one group's rows.

use std::any::Any;
use std::cmp::Ordering;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::ops;
use crate::types::SqlType;
use crate::value::Value;

use super::super::Row;
use super::super::eval::RowRef;
use super::super::plan::type_error;
use super::super::stateful::{Emitted, Operator};
use super::{Built, Params};

#[derive(Debug)]
struct GroupRank {
    column: usize,
    descending: bool,
    output_descending: bool,
    max_idle: i64,
    output_max: usize,
}

#[derive(Debug, Default)]
struct State {
    /// The group's ROWTIME and rows.
    time: Option<i64>,
    rows: Vec<Vec<Value>>,
}

fn order(params: &Params<'_>, index: usize, what: &str) -> Result<bool, SqlError> {
    let (text, place) = params.string(index, what)?;
    match text.to_ascii_lowercase().as_str() {
        "asc" => Ok(false),
        "desc" => Ok(true),
        _ => Err(type_error(place, format!("{}'s {what} is 'asc' or 'desc', not '{text}'", params.function()))),
    }
}

/// Checks the arguments and builds the operator.
pub(super) fn build(params: &Params<'_>, columns: &[(String, SqlType)]) -> Result<Built, SqlError> {
    params.count(6, 6, "a cursor, rankByColumnName, rankOutColumnName, sortOrder, outputOrder, maxIdle, outputMax")?;
    let column = params.column(0, columns)?;
    let ty = &columns[column].1;
    if !(ty.is_numeric() || ty.is_string() || ty.is_datetime()) {
        let message = format!("{} ranks by a number, a string or a datetime, not {ty}", params.function());
        return Err(type_error(params.span(), message));
    }
    let (out_name, _) = params.string(1, "rankOutColumnName")?;
    let descending = order(params, 2, "sortOrder")?;
    let output_descending = order(params, 3, "outputOrder")?;
    let max_idle = params.int(4, "maxIdle", None, (0, i64::from(i32::MAX)))?;
    let output_max = params.int(5, "outputMax", None, (0, i64::from(i32::MAX)))? as usize;
    let mut out = columns.to_vec();
    out.push((out_name, SqlType::Integer));
    Ok((Box::new(GroupRank { column, descending, output_descending, max_idle, output_max }), out))
}

impl GroupRank {
    fn compare(&self, a: &Value, b: &Value) -> Ordering {
        match (a.is_null(), b.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => {
                let order = ops::compare(a, b).unwrap_or(Ordering::Equal);
                if self.descending { order.reverse() } else { order }
            }
        }
    }

    fn emit(&self, state: &mut State, out: &mut Emitted) {
        let Some(time) = state.time.take() else { return };
        let mut rows = std::mem::take(&mut state.rows);
        let key = |row: &Vec<Value>| row.get(self.column).cloned().unwrap_or(Value::Null);
        rows.sort_by(|a, b| self.compare(&key(a), &key(b))); // Stable: ties keep their arrival order.
        let mut ranked: Vec<(i64, Vec<Value>)> = Vec::with_capacity(rows.len());
        let mut previous: Option<(Value, i64)> = None;
        for (position, row) in rows.into_iter().enumerate() {
            let value = key(&row);
            let rank = match &previous {
                Some((last, rank)) if self.compare(last, &value) == Ordering::Equal => *rank,
                _ => position as i64 + 1,
            };
            previous = Some((value, rank));
            ranked.push((rank, row));
        }
        if self.output_descending {
            ranked.reverse();
        }
        let limit = if self.output_max == 0 { usize::MAX } else { self.output_max };
        for (rank, mut values) in ranked.into_iter().take(limit) {
            values.push(Value::Int(rank));
            out.rows.push(Row { rowtime: time, values });
        }
    }
}

impl Operator for GroupRank {
    fn start(&self) -> Box<dyn Any + Send> {
        Box::new(State::default())
    }

    fn push(&self, state: &mut dyn Any, row: &RowRef<'_>, _cx: &EvalContext, out: &mut Emitted) {
        let Some(state) = state.downcast_mut::<State>() else { return };
        if state.time.is_some_and(|t| t != row.rowtime) {
            self.emit(state, out);
        }
        state.time = Some(row.rowtime);
        state.rows.push(row.values.to_vec());
    }

    fn close(&self, state: &mut dyn Any, until: Option<i64>, _cx: &mut EvalContext, out: &mut Emitted) {
        let Some(state) = state.downcast_mut::<State>() else { return };
        let due = match (until, state.time) {
            (None, _) => true,
            (Some(now), Some(t)) => self.max_idle > 0 && t.saturating_add(self.max_idle) <= now,
            _ => false,
        };
        if due {
            self.emit(state, out);
        }
    }

    fn next_due(&self, state: &dyn Any) -> Option<i64> {
        let time = state.downcast_ref::<State>()?.time?;
        (self.max_idle > 0).then(|| time.saturating_add(self.max_idle))
    }

    fn held(&self, state: &dyn Any) -> usize {
        state.downcast_ref::<State>().map_or(0, |s| s.rows.len())
    }
}
