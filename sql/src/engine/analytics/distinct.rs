//! `COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(...), 'column', windowSeconds)` ([SQLREF] count-distinct-items): how
//! many distinct values a column takes in each tumbling window, exact up to 10,000 items and a HyperLogLog
//! estimate beyond.
//!
//! ```text
//!   row ──value (NULL skipped)──▶ exact set ──more than 10,000──▶ HyperLogLog (2^14 registers, ~0.8 % error)
//!   window closes ──▶ one row: NUMBER_OF_DISTINCT_ITEMS BIGINT, at ROWTIME = the window's end
//! ```
//!
//! The exact set holds at most 10,000 values; past that the window's memory is the 16 KiB of registers, however
//! many values come. HyperLogLog (Flajolet et al., 2007) with the small-range (linear counting) correction; a
//! value's 64-bit hash is SipHash (fixed keys) of what GROUP BY hashes, so `1.50` and `1.5` are one item.
//! The output column's name is UNCONFIRMED (the reference's example reads it with `SELECT STREAM *`).

use std::any::Any;
use std::collections::HashSet;
use std::hash::Hasher;

use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::types::SqlType;
use crate::value::Value;

use super::super::Row;
use super::super::eval::RowRef;
use super::super::groups::{KeyValue, hash_value};
use super::super::stateful::{Emitted, Operator};
use super::{Built, Params};

/// Up to this many distinct items the count is exact.
const EXACT: usize = 10_000;
/// log2 of the number of registers.
const PRECISION: u32 = 14;

#[derive(Debug)]
struct CountDistinct {
    column: usize,
    width: i64,
}

/// The distinct items of one window: exact, then estimated.
#[derive(Debug, Default)]
struct State {
    open: Option<(i64, i64)>,
    exact: HashSet<KeyValue>,
    sketch: Option<HyperLogLog>,
}

/// A HyperLogLog sketch of 2^PRECISION registers.
#[derive(Debug, Clone)]
pub(crate) struct HyperLogLog {
    registers: Vec<u8>,
}

impl Default for HyperLogLog {
    fn default() -> Self {
        HyperLogLog { registers: vec![0; 1 << PRECISION] }
    }
}

impl HyperLogLog {
    /// Adds an item by its 64-bit hash.
    pub fn add(&mut self, hash: u64) {
        let index = (hash >> (64 - PRECISION)) as usize;
        let rest = (hash << PRECISION) | (1 << (PRECISION - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if let Some(register) = self.registers.get_mut(index) {
            *register = (*register).max(rank);
        }
    }

    /// The estimated number of distinct items added.
    pub fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw }
    }
}

/// A value's 64-bit hash: equal for values GROUP BY counts as one, well mixed in every bit.
fn hash(value: &Value) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hash_value(value, &mut hasher);
    hasher.finish()
}

/// Checks the arguments and builds the operator.
pub(super) fn build(params: &Params<'_>, columns: &[(String, SqlType)]) -> Result<Built, SqlError> {
    params.count(2, 2, "a cursor, a column name and a window size in seconds")?;
    let column = params.column(0, columns)?;
    let seconds = params.int(1, "window size in seconds", None, (1, 3_600))?;
    let out = vec![("NUMBER_OF_DISTINCT_ITEMS".to_owned(), SqlType::BigInt)];
    Ok((Box::new(CountDistinct { column, width: seconds * 1_000 }), out))
}

impl State {
    fn add(&mut self, value: Value) {
        if let Some(sketch) = &mut self.sketch {
            sketch.add(hash(&value));
            return;
        }
        self.exact.insert(KeyValue(value));
        if self.exact.len() > EXACT {
            let mut sketch = HyperLogLog::default();
            for item in self.exact.drain() {
                sketch.add(hash(&item.0));
            }
            self.sketch = Some(sketch);
        }
    }

    fn count(&self) -> i64 {
        match &self.sketch {
            Some(sketch) => sketch.estimate().round() as i64,
            None => self.exact.len() as i64,
        }
    }
}

impl CountDistinct {
    fn emit(&self, state: &mut State, out: &mut Emitted) {
        let Some((_, end)) = state.open.take() else { return };
        out.rows.push(Row { rowtime: end, values: vec![Value::Int(state.count())] });
        state.exact.clear();
        state.sketch = None;
    }
}

impl Operator for CountDistinct {
    fn start(&self) -> Box<dyn Any + Send> {
        Box::new(State::default())
    }

    fn push(&self, state: &mut dyn Any, row: &RowRef<'_>, _cx: &EvalContext, out: &mut Emitted) {
        let Some(state) = state.downcast_mut::<State>() else { return };
        if state.open.is_some_and(|(_, end)| row.rowtime >= end) {
            self.emit(state, out);
        }
        let start = row.rowtime.div_euclid(self.width) * self.width;
        state.open.get_or_insert((start, start.saturating_add(self.width)));
        match row.values.get(self.column) {
            Some(value) if !value.is_null() => state.add(value.clone()),
            _ => {}
        }
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
        state.downcast_ref::<State>().map_or(0, |s| usize::from(s.open.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_up_to_ten_thousand_then_estimated_within_two_percent() {
        let mut state = State::default();
        for i in 0..10_000 {
            state.add(Value::Int(i));
            state.add(Value::Int(i)); // Repeats count once.
        }
        assert_eq!(state.count(), 10_000);
        assert!(state.sketch.is_none());
        for i in 10_000..100_000 {
            state.add(Value::Int(i));
        }
        let estimate = state.count() as f64;
        assert!((estimate - 100_000.0).abs() / 100_000.0 < 0.02, "{estimate}");
        let mut sketch = HyperLogLog::default();
        for i in 0..1_000_000i64 {
            sketch.add(hash(&Value::string(&format!("user-{i}"))));
        }
        let estimate = sketch.estimate();
        assert!((estimate - 1e6).abs() / 1e6 < 0.02, "{estimate}");
    }
}
