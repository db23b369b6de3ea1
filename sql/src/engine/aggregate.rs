//! Aggregate functions of a tumbling GROUP BY: their type rules (at plan time) and their accumulators (per
//! group, per window, at run time).
//!
//! ```text
//!   input row ──eval arg──▶ Acc::update (no allocation: counters, sums, one kept value)
//!                              │ the window closes
//!                              ▼
//!                          Acc::finish ──▶ the aggregate's value in the group row
//! ```
//!
//! Result types ([SQLREF] documents none of them; KDA is SQLstream, whose lineage, Eigenbase and Calcite, gives
//! an aggregate its argument's type; UNCONFIRMED where noted):
//!
//! | function | argument | result |
//! |---|---|---|
//! | COUNT(*), COUNT(x), COUNT(DISTINCT x) | any | BIGINT, never NULL |
//! | SUM(x) | integer / DECIMAL(p,s) / REAL, DOUBLE | BIGINT / DECIMAL(19,s) / DOUBLE (UNCONFIRMED: widened so sums do not overflow the argument's type) |
//! | AVG(x) | numeric | the argument's type: an integer average is truncated toward zero (UNCONFIRMED, the lineage's rule) |
//! | MIN, MAX, FIRST_VALUE, LAST_VALUE | any comparable / any | the argument's type |
//! | VAR_POP, VAR_SAMP, STDDEV_POP, STDDEV_SAMP | numeric | DOUBLE (UNCONFIRMED) |
//! | ANY, EVERY | BOOLEAN | BOOLEAN |
//!
//! NULL arguments are skipped, except by FIRST_VALUE and LAST_VALUE, which return the first / last row's value
//! as it is ([SQLREF] "from the first row that qualifies"). An aggregate over no non-NULL value is NULL (COUNT: 0);
//! VAR_SAMP and STDDEV_SAMP of one value are NULL. `DISTINCT` keeps a set of the window's values per group.

use std::collections::HashSet;

use crate::error::SqlError;
use crate::ops;
use crate::types::SqlType;
use crate::value::{Decimal, Value};

use super::eval::Bound;
use super::groups::KeyValue;

/// The aggregate functions of a tumbling GROUP BY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggKind {
    /// `COUNT(*)`.
    CountStar,
    /// `COUNT(x)`: non-NULL values.
    Count,
    /// `SUM(x)`.
    Sum,
    /// `AVG(x)`.
    Avg,
    /// `MIN(x)`.
    Min,
    /// `MAX(x)`.
    Max,
    /// `FIRST_VALUE(x)`.
    First,
    /// `LAST_VALUE(x)`.
    Last,
    /// `VAR_POP(x)`.
    VarPop,
    /// `VAR_SAMP(x)`.
    VarSamp,
    /// `STDDEV_POP(x)`.
    StddevPop,
    /// `STDDEV_SAMP(x)`.
    StddevSamp,
    /// `ANY(b)`: some value is TRUE.
    Any,
    /// `EVERY(b)`: every value is TRUE.
    Every,
}

impl AggKind {
    /// The aggregate named `name` (upper case), if it is one this engine runs.
    pub fn from_name(name: &str) -> Option<AggKind> {
        Some(match name {
            "COUNT" => AggKind::Count,
            "SUM" => AggKind::Sum,
            "AVG" => AggKind::Avg,
            "MIN" => AggKind::Min,
            "MAX" => AggKind::Max,
            "FIRST_VALUE" => AggKind::First,
            "LAST_VALUE" => AggKind::Last,
            "VAR_POP" => AggKind::VarPop,
            "VAR_SAMP" => AggKind::VarSamp,
            "STDDEV_POP" => AggKind::StddevPop,
            "STDDEV_SAMP" => AggKind::StddevSamp,
            "ANY" => AggKind::Any,
            "EVERY" => AggKind::Every,
            _ => return None,
        })
    }

    /// The result type for an argument of type `arg`, or a message.
    pub fn result_type(self, arg: &SqlType, distinct: bool) -> Result<SqlType, String> {
        let numeric = arg.is_numeric() || *arg == SqlType::Null;
        let name = self.name();
        if distinct && matches!(self, AggKind::First | AggKind::Last | AggKind::Any | AggKind::Every) {
            return Err(format!("{name} does not take DISTINCT"));
        }
        match self {
            AggKind::CountStar | AggKind::Count => Ok(SqlType::BigInt),
            AggKind::Sum if !numeric => Err(format!("SUM takes a number, not {arg}")),
            AggKind::Sum => Ok(match arg {
                SqlType::Decimal { scale, .. } => SqlType::Decimal { precision: 19, scale: *scale },
                SqlType::Real | SqlType::Double => SqlType::Double,
                _ => SqlType::BigInt,
            }),
            AggKind::Avg if !numeric => Err(format!("AVG takes a number, not {arg}")),
            AggKind::Avg if *arg == SqlType::Null => Ok(SqlType::Double),
            AggKind::Avg => Ok(arg.clone()),
            AggKind::VarPop | AggKind::VarSamp | AggKind::StddevPop | AggKind::StddevSamp if !numeric => {
                Err(format!("{name} takes a number, not {arg}"))
            }
            AggKind::VarPop | AggKind::VarSamp | AggKind::StddevPop | AggKind::StddevSamp => Ok(SqlType::Double),
            AggKind::Min | AggKind::Max
                if matches!(arg, SqlType::Row(_) | SqlType::Binary(_) | SqlType::Varbinary(_)) =>
            {
                Err(format!("{name} cannot order {arg}"))
            }
            AggKind::Min | AggKind::Max | AggKind::First | AggKind::Last => Ok(arg.clone()),
            AggKind::Any | AggKind::Every if matches!(arg, SqlType::Boolean | SqlType::Null) => Ok(SqlType::Boolean),
            AggKind::Any | AggKind::Every => Err(format!("{name} takes a BOOLEAN, not {arg}")),
        }
    }

    /// The SQL name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            AggKind::CountStar | AggKind::Count => "COUNT",
            AggKind::Sum => "SUM",
            AggKind::Avg => "AVG",
            AggKind::Min => "MIN",
            AggKind::Max => "MAX",
            AggKind::First => "FIRST_VALUE",
            AggKind::Last => "LAST_VALUE",
            AggKind::VarPop => "VAR_POP",
            AggKind::VarSamp => "VAR_SAMP",
            AggKind::StddevPop => "STDDEV_POP",
            AggKind::StddevSamp => "STDDEV_SAMP",
            AggKind::Any => "ANY",
            AggKind::Every => "EVERY",
        }
    }
}

/// One aggregate call of a query, bound.
#[derive(Debug)]
pub(crate) struct AggSpec {
    /// Which function.
    pub kind: AggKind,
    /// Its argument (none for `COUNT(*)`).
    pub arg: Option<Bound>,
    /// `DISTINCT` was written.
    pub distinct: bool,
    /// The result type.
    pub result: SqlType,
}

impl AggSpec {
    /// A fresh accumulator for one group.
    pub fn start(&self) -> Acc {
        let state = match self.kind {
            AggKind::CountStar | AggKind::Count => State::Count(0),
            AggKind::Sum | AggKind::Avg => State::Sum { sum: Sum::None, count: 0 },
            AggKind::Min | AggKind::Max | AggKind::Last => State::Kept(Value::Null),
            AggKind::First => State::First(None),
            AggKind::VarPop | AggKind::VarSamp | AggKind::StddevPop | AggKind::StddevSamp => {
                State::Moments { n: 0, mean: 0.0, m2: 0.0 }
            }
            AggKind::Any | AggKind::Every => State::Truth(None),
        };
        let seen = self.distinct.then(HashSet::new);
        Acc { state, seen }
    }
}

/// A running sum: exact for integers and DECIMAL, floating for REAL and DOUBLE.
#[derive(Debug, Clone, Copy)]
enum Sum {
    None,
    Int(i64),
    Decimal(Decimal),
    Double(f64),
    /// The sum left the range of its type: the group's row fails when emitted.
    Overflow,
}

#[derive(Debug)]
enum State {
    Count(i64),
    Sum {
        sum: Sum,
        count: i64,
    },
    /// MIN, MAX, LAST_VALUE: the value kept so far.
    Kept(Value),
    First(Option<Value>),
    /// Welford's running mean and sum of squared deviations: stable, one pass, no allocation.
    Moments {
        n: i64,
        mean: f64,
        m2: f64,
    },
    Truth(Option<bool>),
}

/// One aggregate's state in one group.
#[derive(Debug)]
pub(crate) struct Acc {
    state: State,
    /// For DISTINCT: the values already counted in this window.
    seen: Option<HashSet<KeyValue>>,
}

impl Acc {
    /// Adds one row's argument (`Value::Null` for `COUNT(*)`, which counts every row).
    #[inline]
    pub fn update(&mut self, kind: AggKind, value: &Value) {
        if kind == AggKind::CountStar {
            if let State::Count(n) = &mut self.state {
                *n += 1;
            }
            return;
        }
        // The usual SUM: an integer into an integer sum, not DISTINCT.
        if let (State::Sum { sum: Sum::Int(a), count }, Value::Int(b), None) = (&mut self.state, value, &self.seen)
            && let Some(total) = a.checked_add(*b)
        {
            *a = total;
            *count += 1;
            return;
        }
        self.update_in_general(kind, value);
    }

    /// [`Acc::update`] of every other case.
    fn update_in_general(&mut self, kind: AggKind, value: &Value) {
        let skips_null = !matches!(kind, AggKind::First | AggKind::Last);
        if skips_null && value.is_null() {
            return;
        }
        if let Some(seen) = &mut self.seen
            && !seen.insert(KeyValue(value.clone()))
        {
            return;
        }
        match &mut self.state {
            State::Count(n) => *n += 1,
            State::Sum { sum, count } => {
                *count += 1;
                *sum = add(*sum, value);
            }
            State::Kept(kept) => {
                let replace = match kind {
                    AggKind::Last => true,
                    _ if kept.is_null() => true,
                    AggKind::Min => ops::compare(value, kept) == Some(std::cmp::Ordering::Less),
                    _ => ops::compare(value, kept) == Some(std::cmp::Ordering::Greater),
                };
                if replace {
                    *kept = value.clone();
                }
            }
            State::First(first) => {
                if first.is_none() {
                    *first = Some(value.clone());
                }
            }
            State::Moments { n, mean, m2 } => {
                if let Some(x) = ops::to_f64(value) {
                    *n += 1;
                    let delta = x - *mean;
                    *mean += delta / *n as f64;
                    *m2 += delta * (x - *mean);
                }
            }
            State::Truth(truth) => {
                if let Value::Boolean(b) = value {
                    *truth = Some(match (kind, *truth) {
                        (AggKind::Any, Some(t)) => t || *b,
                        (_, Some(t)) => t && *b,
                        (_, None) => *b,
                    });
                }
            }
        }
    }

    /// Takes one value back out (a sliding window's row leaving it): true when done in place, false when the
    /// state cannot forget a value (MIN, MAX, FIRST_VALUE, ANY, DISTINCT, an overflowed sum) and must be
    /// rebuilt from the rows still in the window.
    pub fn remove(&mut self, kind: AggKind, value: &Value) -> bool {
        if self.seen.is_some() {
            return false;
        }
        if kind == AggKind::CountStar {
            if let State::Count(n) = &mut self.state {
                *n -= 1;
            }
            return true;
        }
        if value.is_null() {
            return matches!(self.state, State::Count(_) | State::Sum { .. } | State::Moments { .. });
        }
        match &mut self.state {
            State::Count(n) => *n -= 1,
            State::Sum { sum, count } => {
                let Some(rest) = subtract(*sum, value) else { return false };
                *count -= 1;
                *sum = if *count == 0 { Sum::None } else { rest };
            }
            State::Moments { n, mean, m2 } => {
                let Some(x) = ops::to_f64(value) else { return true };
                // Welford's update run backwards.
                *n -= 1;
                if *n == 0 {
                    (*mean, *m2) = (0.0, 0.0);
                } else {
                    let delta = x - *mean;
                    *mean -= delta / *n as f64;
                    *m2 -= delta * (x - *mean);
                }
            }
            // MIN and MAX stand until their own value leaves.
            State::Kept(kept) if matches!(kind, AggKind::Min | AggKind::Max) => {
                let stands = if kind == AggKind::Min { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Less };
                return ops::compare(value, kept) == Some(stands);
            }
            State::Kept(_) | State::First(_) | State::Truth(_) => return false,
        }
        true
    }

    /// The aggregate's value for the group; an overflowed sum is the group's error.
    pub fn finish(&self, spec: &AggSpec) -> Result<Value, SqlError> {
        Ok(match &self.state {
            State::Count(n) => Value::Int(*n),
            State::Sum { sum: Sum::None, .. } => Value::Null,
            State::Sum { sum: Sum::Overflow, .. } => {
                return Err(SqlError::data(format!("{} overflows its type", spec.kind.name())));
            }
            State::Sum { sum, count } if spec.kind == AggKind::Avg => average(*sum, *count, &spec.result),
            State::Sum { sum: Sum::Int(i), .. } => Value::Int(*i),
            State::Sum { sum: Sum::Decimal(d), .. } => Value::Decimal(*d),
            State::Sum { sum: Sum::Double(x), .. } => Value::Double(*x),
            State::Kept(value) => value.clone(),
            State::First(first) => first.clone().unwrap_or(Value::Null),
            State::Moments { n, m2, .. } => {
                let (n, m2) = (*n, *m2);
                let population = matches!(spec.kind, AggKind::VarPop | AggKind::StddevPop);
                let divisor = if population { n } else { n - 1 };
                if divisor <= 0 {
                    return Ok(Value::Null);
                }
                let variance = (m2 / divisor as f64).max(0.0);
                let root = matches!(spec.kind, AggKind::StddevPop | AggKind::StddevSamp);
                Value::Double(if root { variance.sqrt() } else { variance })
            }
            State::Truth(truth) => truth.map_or(Value::Null, Value::Boolean),
        })
    }
}

/// `sum + value`, staying exact while it can.
fn add(sum: Sum, value: &Value) -> Sum {
    match (sum, value) {
        (Sum::Overflow, _) => Sum::Overflow,
        (Sum::None, Value::Int(i)) => Sum::Int(*i),
        (Sum::None, Value::Decimal(d)) => Sum::Decimal(*d),
        (Sum::None, other) => ops::to_f64(other).map_or(Sum::None, Sum::Double),
        (Sum::Int(a), Value::Int(b)) => a.checked_add(*b).map_or(Sum::Overflow, Sum::Int),
        (Sum::Double(a), other) => ops::to_f64(other).map_or(Sum::Double(a), |b| Sum::Double(a + b)),
        (Sum::Int(_) | Sum::Decimal(_), Value::Double(b)) => {
            let a = match sum {
                Sum::Int(i) => i as f64,
                Sum::Decimal(d) => ops::decimal_to_f64(d),
                _ => 0.0,
            };
            Sum::Double(a + b)
        }
        (Sum::Int(_) | Sum::Decimal(_), other) => {
            let a = match sum {
                Sum::Int(i) => Decimal { unscaled: i128::from(i), scale: 0 },
                Sum::Decimal(d) => d,
                _ => return Sum::Overflow,
            };
            let Some(b) = ops::to_decimal(other) else { return Sum::Overflow };
            let scale = a.scale.max(b.scale);
            match (ops::rescale(a, scale), ops::rescale(b, scale)) {
                (Some(a), Some(b)) => a
                    .unscaled
                    .checked_add(b.unscaled)
                    .map(|unscaled| Decimal { unscaled, scale })
                    .filter(|d| ops::decimal_fits(*d, 19))
                    .map_or(Sum::Overflow, Sum::Decimal),
                _ => Sum::Overflow,
            }
        }
    }
}

/// `sum - value` for a value added earlier; None when it cannot be undone exactly (an overflowed sum).
fn subtract(sum: Sum, value: &Value) -> Option<Sum> {
    match (sum, value) {
        (Sum::Int(a), Value::Int(b)) => a.checked_sub(*b).map(Sum::Int),
        (Sum::Double(a), other) => ops::to_f64(other).map(|b| Sum::Double(a - b)),
        (Sum::Decimal(a), other) => {
            let b = ops::to_decimal(other)?;
            let scale = a.scale.max(b.scale);
            let (a, b) = (ops::rescale(a, scale)?, ops::rescale(b, scale)?);
            a.unscaled.checked_sub(b.unscaled).map(|unscaled| Sum::Decimal(Decimal { unscaled, scale }))
        }
        _ => None,
    }
}

/// SUM / COUNT in the argument's type: integers truncated toward zero, DECIMAL rounded to its scale.
fn average(sum: Sum, count: i64, result: &SqlType) -> Value {
    if count == 0 {
        return Value::Null;
    }
    match (sum, result) {
        (Sum::Int(s), _) if result.is_integer() => Value::Int(s / count),
        (Sum::Int(s), SqlType::Decimal { scale, .. }) => {
            decimal_average(Decimal { unscaled: i128::from(s), scale: 0 }, count, *scale)
        }
        (Sum::Decimal(d), SqlType::Decimal { scale, .. }) => decimal_average(d, count, *scale),
        (Sum::Decimal(d), _) if result.is_integer() => {
            let whole = ops::rescale(d, 0).map_or(0, |d| d.unscaled);
            Value::Int(i64::try_from(whole / i128::from(count)).unwrap_or(0))
        }
        (Sum::Int(s), _) => Value::Double(s as f64 / count as f64),
        (Sum::Decimal(d), _) => Value::Double(ops::decimal_to_f64(d) / count as f64),
        (Sum::Double(x), _) => Value::Double(x / count as f64),
        (Sum::None | Sum::Overflow, _) => Value::Null,
    }
}

fn decimal_average(sum: Decimal, count: i64, scale: u8) -> Value {
    // One more digit than kept, then rounded half away from zero by `rescale`.
    let Some(wide) = ops::rescale(sum, scale + 1) else { return Value::Null };
    let unscaled = wide.unscaled / i128::from(count);
    ops::rescale(Decimal { unscaled, scale: scale + 1 }, scale).map_or(Value::Null, Value::Decimal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: AggKind, arg: SqlType, distinct: bool, values: &[Value]) -> Result<Value, SqlError> {
        let result = kind.result_type(&arg, distinct).expect("a type");
        let spec = AggSpec { kind, arg: None, distinct, result };
        let mut acc = spec.start();
        for v in values {
            acc.update(kind, v);
        }
        acc.finish(&spec)
    }

    fn ints(values: &[i64]) -> Vec<Value> {
        values.iter().map(|i| Value::Int(*i)).collect()
    }

    /// [`run`] through the general update only: what the integer SUM shortcut must agree with.
    fn run_in_general(kind: AggKind, arg: SqlType, distinct: bool, values: &[Value]) -> Result<Value, SqlError> {
        let result = kind.result_type(&arg, distinct).expect("a type");
        let spec = AggSpec { kind, arg: None, distinct, result };
        let mut acc = spec.start();
        for v in values {
            acc.update_in_general(kind, v);
        }
        acc.finish(&spec)
    }

    #[test]
    fn the_integer_sum_shortcut_gives_what_the_general_update_gives() {
        let decimal = Value::Decimal(Decimal { unscaled: 15, scale: 1 });
        let cases = [
            ints(&[1, 2, 3, 2]),
            ints(&[i64::MAX, 1, -5]),
            ints(&[i64::MIN, -1]),
            vec![Value::Int(2), Value::Null, Value::Int(3)],
            vec![Value::Int(2), decimal.clone(), Value::Int(3)],
            vec![Value::Int(2), Value::Double(0.5), Value::Int(3)],
            vec![decimal, Value::Int(1)],
        ];
        for values in &cases {
            for kind in [AggKind::Sum, AggKind::Avg] {
                for distinct in [false, true] {
                    for arg in [SqlType::BigInt, SqlType::Decimal { precision: 10, scale: 1 }] {
                        let fast = run(kind, arg.clone(), distinct, values);
                        assert_eq!(fast, run_in_general(kind, arg, distinct, values), "{kind:?} {values:?}");
                    }
                }
            }
        }
        assert_eq!(run(AggKind::Sum, SqlType::BigInt, true, &ints(&[1, 2, 2])), Ok(Value::Int(3)), "DISTINCT");
        assert!(run(AggKind::Sum, SqlType::BigInt, false, &ints(&[i64::MAX, 1])).is_err(), "overflow fails");
    }

    #[test]
    fn counts_sums_and_averages_skip_nulls() {
        let mut values = ints(&[1, 2, 4]);
        values.push(Value::Null);
        assert_eq!(run(AggKind::CountStar, SqlType::Integer, false, &values), Ok(Value::Int(4)));
        assert_eq!(run(AggKind::Count, SqlType::Integer, false, &values), Ok(Value::Int(3)));
        assert_eq!(run(AggKind::Sum, SqlType::Integer, false, &values), Ok(Value::Int(7)));
        assert_eq!(run(AggKind::Avg, SqlType::Integer, false, &values), Ok(Value::Int(2)), "7/3 truncated");
        assert_eq!(run(AggKind::Avg, SqlType::Double, false, &values), Ok(Value::Double(7.0 / 3.0)));
        assert_eq!(run(AggKind::Sum, SqlType::Integer, false, &[Value::Null]), Ok(Value::Null));
        assert_eq!(run(AggKind::Count, SqlType::Integer, false, &[]), Ok(Value::Int(0)));
        assert_eq!(run(AggKind::Avg, SqlType::Integer, false, &ints(&[-7, 0])), Ok(Value::Int(-3)), "toward zero");
    }

    #[test]
    fn distinct_counts_each_value_once() {
        let values = ints(&[3, 3, 5, 3]);
        assert_eq!(run(AggKind::Count, SqlType::Integer, true, &values), Ok(Value::Int(2)));
        assert_eq!(run(AggKind::Sum, SqlType::Integer, true, &values), Ok(Value::Int(8)));
        let strings = [Value::string("a"), Value::string("b"), Value::string("a")];
        assert_eq!(run(AggKind::Count, SqlType::Varchar(4), true, &strings), Ok(Value::Int(2)));
    }

    #[test]
    fn decimal_sums_stay_exact_and_overflow_fails() {
        let d = |unscaled| Value::Decimal(Decimal { unscaled, scale: 2 });
        let arg = SqlType::Decimal { precision: 6, scale: 2 };
        assert_eq!(run(AggKind::Sum, arg.clone(), false, &[d(150), d(225)]), Ok(d(375)));
        assert_eq!(run(AggKind::Avg, arg, false, &[d(100), d(101)]), Ok(d(101)), "1.005 rounds half up");
        let big = ints(&[i64::MAX, 1]);
        assert!(run(AggKind::Sum, SqlType::BigInt, false, &big).is_err());
    }

    #[test]
    fn extremes_first_and_last() {
        let values = [Value::Null, Value::Int(4), Value::Int(-2), Value::Int(9), Value::Null];
        assert_eq!(run(AggKind::Min, SqlType::Integer, false, &values), Ok(Value::Int(-2)));
        assert_eq!(run(AggKind::Max, SqlType::Integer, false, &values), Ok(Value::Int(9)));
        assert_eq!(run(AggKind::First, SqlType::Integer, false, &values), Ok(Value::Null), "the first row's value");
        assert_eq!(run(AggKind::Last, SqlType::Integer, false, &values), Ok(Value::Null));
        let words = [Value::string("pear"), Value::string("apple")];
        assert_eq!(run(AggKind::Min, SqlType::Varchar(8), false, &words), Ok(Value::string("apple")));
    }

    #[test]
    fn variances_and_deviations() {
        let values = ints(&[2, 4, 4, 4, 5, 5, 7, 9]);
        assert_eq!(run(AggKind::VarPop, SqlType::Integer, false, &values), Ok(Value::Double(4.0)));
        assert_eq!(run(AggKind::StddevPop, SqlType::Integer, false, &values), Ok(Value::Double(2.0)));
        let Ok(Value::Double(samp)) = run(AggKind::VarSamp, SqlType::Integer, false, &values) else { panic!() };
        assert!((samp - 32.0 / 7.0).abs() < 1e-12);
        assert_eq!(run(AggKind::VarSamp, SqlType::Integer, false, &ints(&[3])), Ok(Value::Null));
    }

    #[test]
    fn any_and_every() {
        let values = [Value::Boolean(false), Value::Null, Value::Boolean(true)];
        assert_eq!(run(AggKind::Any, SqlType::Boolean, false, &values), Ok(Value::Boolean(true)));
        assert_eq!(run(AggKind::Every, SqlType::Boolean, false, &values), Ok(Value::Boolean(false)));
        assert_eq!(run(AggKind::Every, SqlType::Boolean, false, &[Value::Null]), Ok(Value::Null));
        assert!(AggKind::Any.result_type(&SqlType::Integer, false).is_err());
        assert!(AggKind::First.result_type(&SqlType::Integer, true).is_err());
    }
}
