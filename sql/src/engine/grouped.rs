//! A tumbling GROUP BY stage at run time: rows are added to their group of the open window, and when the
//! window closes its groups become rows.
//!
//! ```text
//!   row ─WHERE─▶ key values + aggregate arguments (scratch buffers) ─▶ GroupTable ─▶ Acc::update
//!                                                                          │ window closes (a later ROWTIME,
//!                                                                          ▼ the clock, the end of input)
//!   rows at ROWTIME = window end ◀─ ORDER BY ◀─ SELECT list ◀─ HAVING ◀─ group row [keys.., window keys.., aggregates..]
//! ```
//!
//! Only one window of a stage is open at a time: ROWTIME never goes back, so a row of a later window closes
//! the open one first. State is the open window's groups (and, for DISTINCT, their values): it is dropped as the
//! window is emitted, so memory follows the keys of one window, not the stream's history. Groups come out in the
//! order they first appeared in the window, unless ORDER BY says otherwise.

use std::cmp::Ordering;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::ops;
use crate::value::Value;

use super::Row;
use super::aggregate::AggSpec;
use super::eval::{Bound, RowRef};
use super::groups::GroupTable;
use super::window::Tumble;

/// What an ORDER BY item sorts on.
#[derive(Debug)]
pub(crate) enum SortKey {
    /// A column of the query's output (`ORDER BY 2`, `ORDER BY total`).
    Output(usize),
    /// An expression over the group row (`ORDER BY COUNT(*) DESC`).
    Group(Bound),
}

/// A tumbling GROUP BY, compiled.
#[derive(Debug)]
pub(crate) struct Aggregate {
    /// WHERE, on input rows.
    pub filter: Option<Bound>,
    /// The windows, on the input's ROWTIME.
    pub window: Tumble,
    /// GROUP BY expressions evaluated per row: the key.
    pub keys: Vec<Bound>,
    /// GROUP BY expressions of ROWTIME that are constant in a window: evaluated once per group.
    pub window_keys: Vec<Bound>,
    /// The aggregate calls.
    pub aggs: Vec<AggSpec>,
    /// HAVING, over the group row.
    pub having: Option<Bound>,
    /// The select list, over the group row.
    pub projections: Vec<Bound>,
    /// ORDER BY: keys and whether each is descending.
    pub order: Vec<(SortKey, bool)>,
    /// Names of the group row's values, for error_stream.
    pub group_columns: Vec<String>,
    /// Whether the clock closes its windows: its ROWTIME is the input's (no `AS ROWTIME` on the way).
    pub clock: bool,
    /// Its state's index in the runner.
    pub state: usize,
}

/// The open window of one GROUP BY stage.
#[derive(Debug)]
pub(crate) struct WindowState {
    /// `[start, end)` of the open window.
    pub open: Option<(i64, i64)>,
    /// Rows before this ROWTIME belong to windows already emitted.
    pub closed_until: i64,
    /// The input mark ([`super::Runner::set_input_mark`]) of the oldest input the open window holds.
    pub first_mark: u64,
    /// Restored from a checkpoint: rows before this ROWTIME are input read again whose windows were emitted
    /// before the restart, so they are dropped quietly (not errors).
    pub replayed_until: i64,
    groups: GroupTable,
    /// Reused per row: the key values and the aggregates' arguments.
    key: Vec<Value>,
    args: Vec<Value>,
}

impl Default for WindowState {
    fn default() -> Self {
        WindowState {
            open: None,
            closed_until: i64::MIN,
            first_mark: 0,
            replayed_until: i64::MIN,
            groups: GroupTable::default(),
            key: Vec::new(),
            args: Vec::new(),
        }
    }
}

impl WindowState {
    /// The groups of the open window (state held until it closes).
    pub fn open_groups(&self) -> usize {
        self.groups.len()
    }
}

/// A group whose row failed when its window closed: the message and the group row as text.
pub(crate) type GroupFailure = (String, String);

impl Aggregate {
    /// Adds `row` to its group of the open window (the caller opened the row's window). A row WHERE drops is
    /// ignored; a failing expression is the row's error, and the row counts nowhere.
    pub fn absorb(&self, state: &mut WindowState, row: &RowRef<'_>, cx: &EvalContext) -> Result<(), SqlError> {
        if let Some(filter) = &self.filter
            && filter.eval(row, cx)? != Value::Boolean(true)
        {
            return Ok(());
        }
        // The scratch buffers are overwritten in place (a new group takes the key's buffer: it is refilled).
        if state.key.len() != self.keys.len() {
            state.key.resize(self.keys.len(), Value::Null);
        }
        for (slot, key) in state.key.iter_mut().zip(&self.keys) {
            *slot = key.eval(row, cx)?;
        }
        if state.args.len() != self.aggs.len() {
            state.args.resize(self.aggs.len(), Value::Null);
        }
        for (slot, spec) in state.args.iter_mut().zip(&self.aggs) {
            if let Some(arg) = &spec.arg {
                *slot = arg.eval(row, cx)?;
            }
        }
        let group = state.groups.find_or_insert(&mut state.key, || self.aggs.iter().map(AggSpec::start).collect());
        if group.keys.len() < self.keys.len() + self.window_keys.len() {
            // A new group: the window's own GROUP BY values, the same for all its rows (STEP, FLOOR of ROWTIME).
            for key in &self.window_keys {
                group.keys.push(key.eval(row, cx).unwrap_or(Value::Null));
            }
        }
        for ((spec, acc), value) in self.aggs.iter().zip(&mut group.accs).zip(&state.args) {
            acc.update(spec.kind, value);
        }
        Ok(())
    }

    /// Closes the open window: its groups' rows (those HAVING keeps, sorted by ORDER BY) go to `rows` with
    /// ROWTIME = the window's end; groups whose row fails go to `failures`.
    pub fn close(
        &self,
        state: &mut WindowState,
        cx: &mut EvalContext,
        rows: &mut Vec<Row>,
        failures: &mut Vec<GroupFailure>,
    ) {
        let Some((_, end)) = state.open.take() else { return };
        state.closed_until = state.closed_until.max(end);
        cx.row_time_ms = end;
        let mut sorted: Vec<(Vec<Value>, Row)> = Vec::new();
        'groups: for group in state.groups.drain() {
            let mut values = group.keys;
            for (acc, spec) in group.accs.into_iter().zip(&self.aggs) {
                match acc.finish(spec) {
                    Ok(value) => values.push(value),
                    Err(e) => {
                        failures.push((e.message, self.describe(&values)));
                        continue 'groups;
                    }
                }
            }
            match self.output(&values, end, cx) {
                Ok(Some((keys, row))) => sorted.push((keys, row)),
                Ok(None) => {}
                Err(e) => failures.push((e.message, self.describe(&values))),
            }
        }
        if !self.order.is_empty() {
            sorted.sort_by(|(a, _), (b, _)| self.compare(a, b)); // Stable: ties keep first-seen order.
        }
        rows.extend(sorted.into_iter().map(|(_, row)| row));
    }

    /// A group row through HAVING and the select list: its sort keys and output row, or None when HAVING drops it.
    fn output(&self, group: &[Value], end: i64, cx: &EvalContext) -> Result<Option<(Vec<Value>, Row)>, SqlError> {
        let row = RowRef { values: group, rowtime: end };
        if let Some(having) = &self.having
            && having.eval(&row, cx)? != Value::Boolean(true)
        {
            return Ok(None);
        }
        let values = self.projections.iter().map(|p| p.eval(&row, cx)).collect::<Result<Vec<_>, _>>()?;
        let mut keys = Vec::with_capacity(self.order.len());
        for (key, _) in &self.order {
            keys.push(match key {
                SortKey::Output(i) => values.get(*i).cloned().unwrap_or(Value::Null),
                SortKey::Group(bound) => bound.eval(&row, cx)?,
            });
        }
        Ok(Some((keys, Row { rowtime: end, values })))
    }

    /// ORDER BY's order of two rows' keys. NULL sorts as the largest value, last ascending and first descending,
    /// as in Calcite, KDA's lineage (UNCONFIRMED).
    fn compare(&self, a: &[Value], b: &[Value]) -> Ordering {
        for ((x, y), (_, descending)) in a.iter().zip(b).zip(&self.order) {
            let order = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => ops::compare(x, y).unwrap_or(Ordering::Equal),
            };
            let order = if *descending { order.reverse() } else { order };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }

    /// A group row as text for error_stream's DATA_ROW.
    fn describe(&self, values: &[Value]) -> String {
        let pairs: Vec<String> =
            self.group_columns.iter().zip(values).map(|(name, value)| format!("{name}={value:?}")).collect();
        pairs.join(", ")
    }
}
