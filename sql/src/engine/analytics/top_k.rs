//! `TOP_K_ITEMS_TUMBLING(CURSOR(...), 'column', K, windowSeconds)` ([SQLREF] top-k): the K most frequent values
//! of a column in each tumbling window of `windowSeconds` (windows counted from the epoch, as STEP does).
//!
//! ```text
//!   row ──value of 'column' (NULL skipped)──▶ counts: value → (count, first seen)
//!   window closes (a later row, the clock, the end of input) ──▶ K rows by count, descending (ties: first seen)
//!                                                                at ROWTIME = the window's end
//! ```
//!
//! KDA approximates the counts; sluice counts exactly, which is within any approximation's bounds. The state is
//! the open window's distinct values, dropped when it closes. Output columns: the counted column (its name and
//! type) and `ITEM_COUNT BIGINT` (UNCONFIRMED: the reference's examples read them by position, `SELECT STREAM *`).

use std::any::Any;
use std::collections::HashMap;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::types::SqlType;
use crate::value::Value;

use super::super::Row;
use super::super::eval::RowRef;
use super::super::groups::KeyValue;
use super::super::stateful::{Emitted, Operator};
use super::{Built, Params};

#[derive(Debug)]
struct TopK {
    column: usize,
    k: usize,
    width: i64,
}

#[derive(Debug, Default)]
struct State {
    /// `[start, end)` of the open window.
    open: Option<(i64, i64)>,
    counts: HashMap<KeyValue, (i64, usize)>,
}

/// Checks the arguments and builds the operator.
pub(super) fn build(params: &Params<'_>, columns: &[(String, SqlType)]) -> Result<Built, SqlError> {
    params.count(3, 3, "a cursor, a column name, K and a window size in seconds")?;
    let column = params.column(0, columns)?;
    let k = params.int(1, "K", None, (1, 100_000))?;
    let seconds = params.int(2, "window size in seconds", None, (1, 3_600))?;
    let out = vec![columns[column].clone(), ("ITEM_COUNT".to_owned(), SqlType::BigInt)];
    Ok((Box::new(TopK { column, k: k as usize, width: seconds * 1_000 }), out))
}

impl TopK {
    fn emit(&self, state: &mut State, out: &mut Emitted) {
        let Some((_, end)) = state.open.take() else { return };
        let mut items: Vec<(KeyValue, (i64, usize))> = state.counts.drain().collect();
        items.sort_by(|(_, (a, first_a)), (_, (b, first_b))| b.cmp(a).then(first_a.cmp(first_b)));
        for (item, (count, _)) in items.into_iter().take(self.k) {
            out.rows.push(Row { rowtime: end, values: vec![item.0, Value::Int(count)] });
        }
    }
}

impl Operator for TopK {
    fn start(&self) -> Box<dyn Any + Send> {
        Box::new(State::default())
    }

    fn push(&self, state: &mut dyn Any, row: &RowRef<'_>, _cx: &EvalContext, out: &mut Emitted) {
        let Some(state) = state.downcast_mut::<State>() else { return };
        if state.open.is_some_and(|(_, end)| row.rowtime >= end) {
            self.emit(state, out);
        }
        let value = row.values.get(self.column).cloned().unwrap_or(Value::Null);
        let start = row.rowtime.div_euclid(self.width) * self.width;
        state.open.get_or_insert((start, start.saturating_add(self.width)));
        if value.is_null() {
            return;
        }
        let seen = state.counts.len();
        state.counts.entry(KeyValue(value)).or_insert((0, seen)).0 += 1;
    }

    fn close(&self, state: &mut dyn Any, until: Option<i64>, _cx: &mut EvalContext, out: &mut Emitted) {
        let Some(state) = state.downcast_mut::<State>() else { return };
        if state.open.is_some_and(|(_, end)| until.is_none_or(|now| end <= now)) {
            self.emit(state, out);
        }
    }

    fn next_due(&self, state: &dyn Any) -> Option<i64> {
        state.downcast_ref::<State>().and_then(|s| s.open).map(|(_, end)| end)
    }

    fn held(&self, state: &dyn Any) -> usize {
        state.downcast_ref::<State>().map_or(0, |s| s.counts.len())
    }
}
