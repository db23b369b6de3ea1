//! Operators: their result types ([`binary_type`], [`unary_type`]), their evaluation ([`binary`], [`unary`]),
//! comparison ([`compare`]) and pattern matching (`LIKE`: [`LikePattern`], `SIMILAR TO`: [`SimilarPattern`]).
//!
//! Numbers: integers (any width) are `Value::Int`, computed in `i64` with overflow checks; REAL/DOUBLE are
//! `Value::Double`; DECIMAL is a scaled `i128` ([`Decimal`]). A mix of families widens to the right of
//! integer < DECIMAL < REAL < DOUBLE. `INTEGER / INTEGER` divides exactly and truncates, as in Java. Division or
//! modulo by zero is a [`SqlErrorKind::Data`](crate::error::SqlErrorKind::Data) error for every numeric type (KDA
//! sends the row to error_stream rather than producing Infinity).
//!
//! NULL: any NULL operand gives NULL, except `AND`/`OR`, which use three-valued logic (`FALSE AND NULL` is FALSE,
//! `TRUE OR NULL` is TRUE).
//!
//! Strings compare with PAD SPACE semantics (trailing blanks do not count), so a CHAR(16) column equals the literal
//! it was padded from. A string compared with a date/time or a number is read as one (`ROWTIME > '2020-07-01
//! 00:00:00'`).
//!
//! Datetime arithmetic: TIMESTAMP/DATE/TIME ± INTERVAL, INTERVAL + TIMESTAMP, TIMESTAMP - TIMESTAMP (a day-time
//! interval, as are DATE - DATE and TIME - TIME), INTERVAL ± INTERVAL, INTERVAL * number, INTERVAL / number. Adding
//! months clamps the day to the month's end (2020-01-31 + 1 month = 2020-02-29).

use std::cmp::Ordering;

use crate::error::SqlError;
use crate::literal::{civil_from_days, days_from_civil, days_in_month, parse_date, parse_time, parse_timestamp};
use crate::operator::{BinaryOp, UnaryOp};
use crate::types::SqlType;
use crate::value::{Decimal, Text, Value};

const MS_PER_DAY: i64 = 86_400_000;
/// The most digits a DECIMAL holds in KDA.
pub const MAX_DECIMAL_PRECISION: u8 = 19;
/// The largest scale sluice keeps from a DECIMAL multiplication or division.
const MAX_DECIMAL_SCALE: u8 = 18;

// ---------------------------------------------------------------------------------------------------------------
// Types

/// Rank of a numeric type for widening: integers by width, then DECIMAL, REAL, DOUBLE.
fn numeric_rank(t: &SqlType) -> u8 {
    match t {
        SqlType::TinyInt => 1,
        SqlType::SmallInt => 2,
        SqlType::Integer => 3,
        SqlType::BigInt => 4,
        SqlType::Decimal { .. } => 5,
        SqlType::Real => 6,
        _ => 7,
    }
}

/// The precision of an integer type as a DECIMAL.
fn integer_digits(t: &SqlType) -> u8 {
    match t {
        SqlType::TinyInt => 3,
        SqlType::SmallInt => 5,
        SqlType::Integer => 10,
        _ => 19,
    }
}

/// `(precision, scale)` of a numeric type seen as a DECIMAL.
fn as_decimal(t: &SqlType) -> (u8, u8) {
    match t {
        SqlType::Decimal { precision, scale } => (*precision, *scale),
        other => (integer_digits(other), 0),
    }
}

/// The scale of a DECIMAL quotient.
fn division_scale(l: u8, r: u8) -> u8 {
    l.max(r).clamp(6, MAX_DECIMAL_SCALE)
}

/// The type both sides of a numeric operation widen to.
pub fn numeric_common(l: &SqlType, r: &SqlType) -> SqlType {
    let (lr, rr) = (numeric_rank(l), numeric_rank(r));
    if lr.max(rr) == 5 {
        let ((lp, ls), (rp, rs)) = (as_decimal(l), as_decimal(r));
        let scale = ls.max(rs);
        let precision = (lp - ls).max(rp - rs).saturating_add(scale).min(MAX_DECIMAL_PRECISION);
        return SqlType::Decimal { precision, scale };
    }
    if lr >= rr { l.clone() } else { r.clone() }
}

/// Whether two types can be compared (`=`, `<`, ...) or mixed in COALESCE/CASE.
pub fn comparable(l: &SqlType, r: &SqlType) -> bool {
    use SqlType as T;
    match (l, r) {
        (T::Null, _) | (_, T::Null) => true,
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (a, b) if a.is_string() && b.is_string() => true,
        (a, b) if a.is_string() && (b.is_datetime() || b.is_numeric() || *b == T::Boolean) => true,
        (a, b) if b.is_string() && (a.is_datetime() || a.is_numeric() || *a == T::Boolean) => true,
        (T::Date | T::Timestamp, T::Date | T::Timestamp) => true,
        (T::Binary(_) | T::Varbinary(_), T::Binary(_) | T::Varbinary(_)) => true,
        (a, b) => a == b,
    }
}

fn string_len(t: &SqlType) -> u32 {
    match t {
        SqlType::Char(n) | SqlType::Varchar(n) | SqlType::Binary(n) | SqlType::Varbinary(n) => *n,
        _ => 0,
    }
}

/// The result type of `l op r`, or a message for a type error.
pub fn binary_type(op: BinaryOp, l: &SqlType, r: &SqlType) -> Result<SqlType, String> {
    use BinaryOp as B;
    use SqlType as T;
    let mismatch = || Err(format!("cannot apply {} to {l} and {r}", op_symbol(op)));
    match op {
        B::And | B::Or => match (l, r) {
            (T::Boolean | T::Null, T::Boolean | T::Null) => Ok(T::Boolean),
            _ => mismatch(),
        },
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
            if matches!(l, T::Row(_)) || matches!(r, T::Row(_)) || !comparable(l, r) {
                mismatch()
            } else {
                Ok(T::Boolean)
            }
        }
        B::Concat => match (l, r) {
            (T::Char(a), T::Char(b)) => Ok(T::Char(a.saturating_add(*b))),
            (a, b) if (a.is_string() || *a == T::Null) && (b.is_string() || *b == T::Null) => {
                Ok(T::Varchar(string_len(a).saturating_add(string_len(b)).max(1)))
            }
            (T::Binary(_) | T::Varbinary(_) | T::Null, T::Binary(_) | T::Varbinary(_) | T::Null) => {
                Ok(T::Varbinary(string_len(l).saturating_add(string_len(r)).max(1)))
            }
            _ => mismatch(),
        },
        B::Add | B::Subtract | B::Multiply | B::Divide | B::Modulo => match (l, r) {
            (T::Null, T::Null) => Ok(T::Null),
            (T::Null, x) | (x, T::Null) if x.is_numeric() || is_interval(x) => Ok(x.clone()),
            (T::Null, x) | (x, T::Null) if x.is_datetime() && matches!(op, B::Add | B::Subtract) => Ok(x.clone()),
            (a, b) if a.is_numeric() && b.is_numeric() => Ok(arithmetic_numeric_type(op, a, b)),
            (a, b) if a.is_datetime() && is_interval(b) && matches!(op, B::Add | B::Subtract) => Ok(a.clone()),
            (a, b) if is_interval(a) && b.is_datetime() && op == B::Add => Ok(b.clone()),
            (a, b) if a.is_datetime() && a == b && op == B::Subtract => Ok(T::IntervalDayTime),
            (T::Date, T::Timestamp) | (T::Timestamp, T::Date) if op == B::Subtract => Ok(T::IntervalDayTime),
            (a, b) if is_interval(a) && a == b && matches!(op, B::Add | B::Subtract) => Ok(a.clone()),
            (a, b) if is_interval(a) && b.is_numeric() && matches!(op, B::Multiply | B::Divide) => Ok(a.clone()),
            (a, b) if a.is_numeric() && is_interval(b) && op == B::Multiply => Ok(b.clone()),
            _ => mismatch(),
        },
    }
}

fn is_interval(t: &SqlType) -> bool {
    matches!(t, SqlType::IntervalDayTime | SqlType::IntervalYearMonth)
}

fn arithmetic_numeric_type(op: BinaryOp, l: &SqlType, r: &SqlType) -> SqlType {
    let common = numeric_common(l, r);
    let SqlType::Decimal { .. } = common else { return common };
    let ((lp, ls), (rp, rs)) = (as_decimal(l), as_decimal(r));
    let (precision, scale) = match op {
        BinaryOp::Add | BinaryOp::Subtract => {
            let scale = ls.max(rs);
            ((lp - ls).max(rp - rs).saturating_add(scale).saturating_add(1), scale)
        }
        BinaryOp::Multiply => (lp.saturating_add(rp), ls.saturating_add(rs).min(MAX_DECIMAL_SCALE)),
        BinaryOp::Divide => (MAX_DECIMAL_PRECISION, division_scale(ls, rs)),
        _ => (rp, ls.max(rs)),
    };
    let precision = precision.min(MAX_DECIMAL_PRECISION);
    SqlType::Decimal { precision, scale: scale.min(precision) }
}

/// The result type of `op x`, or a message for a type error.
pub fn unary_type(op: UnaryOp, t: &SqlType) -> Result<SqlType, String> {
    match (op, t) {
        (_, SqlType::Null) => Ok(if op == UnaryOp::Not { SqlType::Boolean } else { SqlType::Null }),
        (UnaryOp::Not, SqlType::Boolean) => Ok(SqlType::Boolean),
        (UnaryOp::Negate | UnaryOp::Plus, t) if t.is_numeric() || is_interval(t) => Ok(t.clone()),
        (op, t) => Err(format!("cannot apply {} to {t}", if op == UnaryOp::Not { "NOT" } else { "unary -/+" })),
    }
}

/// The operator as written in SQL, for messages.
pub fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Subtract => "-",
        BinaryOp::Multiply => "*",
        BinaryOp::Divide => "/",
        BinaryOp::Modulo => "%",
        BinaryOp::Concat => "||",
        BinaryOp::Eq => "=",
        BinaryOp::NotEq => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::GtEq => ">=",
        BinaryOp::And => "AND",
        BinaryOp::Or => "OR",
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

fn overflow() -> SqlError {
    SqlError::data("numeric overflow")
}

fn division_by_zero() -> SqlError {
    SqlError::data("division by zero")
}

/// `l op r` on values.
#[inline]
pub fn binary(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, SqlError> {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => match integers(op, *a, *b) {
            Some(value) => Ok(value),
            None => binary_general(op, l, r),
        },
        _ => binary_general(op, l, r),
    }
}

/// `a op b` on two integers when it is plain (`+`, `-`, `*` without overflow, a comparison); None for what the
/// general path decides (AND/OR type errors, division, remainder, overflow), which gives the same result or error.
#[inline]
pub(crate) fn integers(op: BinaryOp, a: i64, b: i64) -> Option<Value> {
    use BinaryOp as B;
    Some(match op {
        B::Add => Value::Int(a.checked_add(b)?),
        B::Subtract => Value::Int(a.checked_sub(b)?),
        B::Multiply => Value::Int(a.checked_mul(b)?),
        B::Eq => Value::Boolean(a == b),
        B::NotEq => Value::Boolean(a != b),
        B::Lt => Value::Boolean(a < b),
        B::LtEq => Value::Boolean(a <= b),
        B::Gt => Value::Boolean(a > b),
        B::GtEq => Value::Boolean(a >= b),
        _ => return None,
    })
}

/// [`binary`] for any operands.
fn binary_general(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, SqlError> {
    use BinaryOp as B;
    match op {
        B::And => return logic(l, r, false),
        B::Or => return logic(l, r, true),
        _ => {}
    }
    if l.is_null() || r.is_null() {
        return Ok(Value::Null);
    }
    match op {
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
            let ord =
                compare(l, r).ok_or_else(|| SqlError::data(format!("cannot compare {} with {}", kind(l), kind(r))))?;
            Ok(Value::Boolean(match op {
                B::Eq => ord == Ordering::Equal,
                B::NotEq => ord != Ordering::Equal,
                B::Lt => ord == Ordering::Less,
                B::LtEq => ord != Ordering::Greater,
                B::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }))
        }
        B::Concat => match (l, r) {
            (Value::String(a), Value::String(b)) => {
                let mut s = String::with_capacity(a.len() + b.len());
                s.push_str(a);
                s.push_str(b);
                Ok(Value::String(Text::from(s)))
            }
            (Value::Binary(a), Value::Binary(b)) => {
                let mut v = Vec::with_capacity(a.len() + b.len());
                v.extend_from_slice(a);
                v.extend_from_slice(b);
                Ok(Value::Binary(v.into()))
            }
            _ => Err(type_error(op, l, r)),
        },
        _ => arithmetic(op, l, r),
    }
}

fn type_error(op: BinaryOp, l: &Value, r: &Value) -> SqlError {
    SqlError::data(format!("cannot apply {} to {} and {}", op_symbol(op), kind(l), kind(r)))
}

/// A short name of a value's family, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Boolean(_) => "BOOLEAN",
        Value::Int(_) => "integer",
        Value::Double(_) => "DOUBLE",
        Value::Decimal(_) => "DECIMAL",
        Value::String(_) => "string",
        Value::Date(_) => "DATE",
        Value::Time(_) => "TIME",
        Value::Timestamp(_) => "TIMESTAMP",
        Value::Binary(_) => "binary",
        Value::Interval(_) => "INTERVAL DAY TO SECOND",
        Value::IntervalMonths(_) => "INTERVAL YEAR TO MONTH",
        Value::Row(_) => "ROW",
    }
}

/// Three-valued AND (`or == false`) and OR.
fn logic(l: &Value, r: &Value, or: bool) -> Result<Value, SqlError> {
    let as_bool = |v: &Value| match v {
        Value::Null => Ok(None),
        Value::Boolean(b) => Ok(Some(*b)),
        other => Err(SqlError::data(format!("{} is not BOOLEAN", kind(other)))),
    };
    let (a, b) = (as_bool(l)?, as_bool(r)?);
    // The dominant value (TRUE for OR, FALSE for AND) wins over NULL.
    Ok(match (a, b) {
        (Some(x), _) | (_, Some(x)) if x == or => Value::Boolean(or),
        (Some(_), Some(_)) => Value::Boolean(!or),
        _ => Value::Null,
    })
}

fn arithmetic(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, SqlError> {
    use BinaryOp as B;
    use Value as V;
    match (l, r) {
        (V::Int(a), V::Int(b)) => {
            let (a, b) = (*a, *b);
            let result = match op {
                B::Add => a.checked_add(b),
                B::Subtract => a.checked_sub(b),
                B::Multiply => a.checked_mul(b),
                B::Divide if b == 0 => return Err(division_by_zero()),
                B::Divide => a.checked_div(b),
                B::Modulo if b == 0 => return Err(division_by_zero()),
                _ => a.checked_rem(b),
            };
            result.map(V::Int).ok_or_else(overflow)
        }
        (V::Double(_), V::Int(_) | V::Double(_) | V::Decimal(_)) | (V::Int(_) | V::Decimal(_), V::Double(_)) => {
            let (a, b) = (to_f64(l).unwrap_or(0.0), to_f64(r).unwrap_or(0.0));
            let result = match op {
                B::Add => a + b,
                B::Subtract => a - b,
                B::Multiply => a * b,
                B::Divide if b == 0.0 => return Err(division_by_zero()),
                B::Divide => a / b,
                B::Modulo if b == 0.0 => return Err(division_by_zero()),
                _ => a % b,
            };
            Ok(V::Double(result))
        }
        (V::Decimal(_), V::Int(_) | V::Decimal(_)) | (V::Int(_), V::Decimal(_)) => {
            let (a, b) = (to_decimal(l).ok_or_else(overflow)?, to_decimal(r).ok_or_else(overflow)?);
            decimal_arithmetic(op, a, b).map(V::Decimal)
        }
        _ => datetime_arithmetic(op, l, r),
    }
}

fn datetime_arithmetic(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, SqlError> {
    use BinaryOp as B;
    use Value as V;
    let sign = |ms: i64| if op == B::Subtract { ms.checked_neg() } else { Some(ms) };
    let add = |a: i64, b: Option<i64>| b.and_then(|b| a.checked_add(b)).ok_or_else(overflow);
    match (op, l, r) {
        (B::Add | B::Subtract, V::Timestamp(t), V::Interval(ms)) => add(*t, sign(*ms)).map(V::Timestamp),
        (B::Add, V::Interval(ms), V::Timestamp(t)) => add(*t, Some(*ms)).map(V::Timestamp),
        (B::Add | B::Subtract, V::Date(d), V::Interval(ms)) => {
            let t = add(i64::from(*d) * MS_PER_DAY, sign(*ms))?;
            i32::try_from(t.div_euclid(MS_PER_DAY)).map(V::Date).map_err(|_| overflow())
        }
        (B::Add, V::Interval(ms), V::Date(d)) => datetime_arithmetic(op, &V::Date(*d), &V::Interval(*ms)),
        (B::Add | B::Subtract, V::Time(t), V::Interval(ms)) => {
            let t = add(i64::from(*t), sign(*ms))?;
            Ok(V::Time(t.rem_euclid(MS_PER_DAY) as i32))
        }
        (B::Add, V::Interval(ms), V::Time(t)) => datetime_arithmetic(op, &V::Time(*t), &V::Interval(*ms)),
        (B::Add | B::Subtract, V::Timestamp(_) | V::Date(_), V::IntervalMonths(m)) => {
            let m = if op == B::Subtract { -i64::from(*m) } else { i64::from(*m) };
            add_months(l, m)
        }
        (B::Add, V::IntervalMonths(m), V::Timestamp(_) | V::Date(_)) => add_months(r, i64::from(*m)),
        (B::Subtract, V::Timestamp(a), V::Timestamp(b)) => a.checked_sub(*b).map(V::Interval).ok_or_else(overflow),
        (B::Subtract, V::Date(a), V::Date(b)) => Ok(V::Interval((i64::from(*a) - i64::from(*b)) * MS_PER_DAY)),
        (B::Subtract, V::Time(a), V::Time(b)) => Ok(V::Interval(i64::from(*a) - i64::from(*b))),
        (B::Subtract, V::Date(a), V::Timestamp(b)) => Ok(V::Interval(i64::from(*a) * MS_PER_DAY - b)),
        (B::Subtract, V::Timestamp(a), V::Date(b)) => Ok(V::Interval(a - i64::from(*b) * MS_PER_DAY)),
        (B::Add | B::Subtract, V::Interval(a), V::Interval(b)) => add(*a, sign(*b)).map(V::Interval),
        (B::Add | B::Subtract, V::IntervalMonths(a), V::IntervalMonths(b)) => {
            let b = if op == B::Subtract { b.checked_neg() } else { Some(*b) };
            b.and_then(|b| a.checked_add(b)).map(V::IntervalMonths).ok_or_else(overflow)
        }
        (B::Multiply | B::Divide, V::Interval(_) | V::IntervalMonths(_), n) if to_f64(n).is_some() => {
            scale_interval(op, l, n)
        }
        (B::Multiply, n, V::Interval(_) | V::IntervalMonths(_)) if to_f64(n).is_some() => scale_interval(op, r, n),
        _ => Err(type_error(op, l, r)),
    }
}

/// An interval times or divided by a number (rounded to whole milliseconds or months).
fn scale_interval(op: BinaryOp, interval: &Value, n: &Value) -> Result<Value, SqlError> {
    let factor = to_f64(n).unwrap_or(0.0);
    if op == BinaryOp::Divide && factor == 0.0 {
        return Err(division_by_zero());
    }
    let apply = |x: f64| if op == BinaryOp::Divide { x / factor } else { x * factor };
    match (interval, n) {
        (Value::Interval(ms), Value::Int(k)) if op == BinaryOp::Multiply => {
            ms.checked_mul(*k).map(Value::Interval).ok_or_else(overflow)
        }
        (Value::Interval(ms), Value::Int(k)) => Ok(Value::Interval(ms / k)),
        (Value::Interval(ms), _) => Ok(Value::Interval(apply(*ms as f64).round() as i64)),
        (Value::IntervalMonths(m), _) => Ok(Value::IntervalMonths(apply(f64::from(*m)).round() as i32)),
        _ => Err(type_error(op, interval, n)),
    }
}

/// A TIMESTAMP or DATE plus `months`, the day clamped to the month's length.
pub fn add_months(v: &Value, months: i64) -> Result<Value, SqlError> {
    let (days, in_day) = match v {
        Value::Timestamp(t) => (t.div_euclid(MS_PER_DAY), t.rem_euclid(MS_PER_DAY)),
        Value::Date(d) => (i64::from(*d), 0),
        other => return Err(SqlError::data(format!("cannot add months to {}", kind(other)))),
    };
    let (y, m, d) = civil_from_days(days);
    let total = y * 12 + i64::from(m) - 1 + months;
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let day = d.min(days_in_month(year, month));
    let days = days_from_civil(year, month, day);
    Ok(match v {
        Value::Date(_) => Value::Date(i32::try_from(days).map_err(|_| overflow())?),
        _ => Value::Timestamp(days.checked_mul(MS_PER_DAY).and_then(|t| t.checked_add(in_day)).ok_or_else(overflow)?),
    })
}

/// `op v`.
pub fn unary(op: UnaryOp, v: &Value) -> Result<Value, SqlError> {
    match (op, v) {
        (_, Value::Null) => Ok(Value::Null),
        (UnaryOp::Not, Value::Boolean(b)) => Ok(Value::Boolean(!b)),
        (UnaryOp::Plus, v) if !matches!(v, Value::Boolean(_) | Value::String(_)) => Ok(v.clone()),
        (UnaryOp::Negate, Value::Int(i)) => i.checked_neg().map(Value::Int).ok_or_else(overflow),
        (UnaryOp::Negate, Value::Double(d)) => Ok(Value::Double(-d)),
        (UnaryOp::Negate, Value::Decimal(d)) => Ok(Value::Decimal(Decimal { unscaled: -d.unscaled, scale: d.scale })),
        (UnaryOp::Negate, Value::Interval(ms)) => Ok(Value::Interval(-ms)),
        (UnaryOp::Negate, Value::IntervalMonths(m)) => Ok(Value::IntervalMonths(-m)),
        (_, other) => Err(SqlError::data(format!("cannot apply a unary operator to {}", kind(other)))),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

/// A number as `f64` (`None` for non-numbers).
pub fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Double(d) => Some(*d),
        Value::Decimal(d) => Some(decimal_to_f64(*d)),
        _ => None,
    }
}

/// A DECIMAL as `f64`.
pub fn decimal_to_f64(d: Decimal) -> f64 {
    d.unscaled as f64 / 10f64.powi(i32::from(d.scale))
}

/// An integer or DECIMAL as a DECIMAL (`None` for other values).
pub fn to_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(i) => Some(Decimal { unscaled: i128::from(*i), scale: 0 }),
        Value::Decimal(d) => Some(*d),
        _ => None,
    }
}

fn pow10(n: u8) -> Option<i128> {
    10i128.checked_pow(u32::from(n))
}

/// `d` at `scale` digits after the point, rounding half away from zero when digits are dropped.
pub fn rescale(d: Decimal, scale: u8) -> Option<Decimal> {
    if scale >= d.scale {
        let unscaled = d.unscaled.checked_mul(pow10(scale - d.scale)?)?;
        return Some(Decimal { unscaled, scale });
    }
    let divisor = pow10(d.scale - scale)?;
    Some(Decimal { unscaled: div_round(d.unscaled, divisor), scale })
}

/// `a / b` rounded half away from zero.
fn div_round(a: i128, b: i128) -> i128 {
    let (q, r) = (a / b, a % b);
    if r.unsigned_abs() * 2 >= b.unsigned_abs() { q + if (a < 0) == (b < 0) { 1 } else { -1 } } else { q }
}

/// Whether `d` fits `precision` digits.
pub fn decimal_fits(d: Decimal, precision: u8) -> bool {
    pow10(precision).is_none_or(|limit| d.unscaled.unsigned_abs() < limit.unsigned_abs())
}

fn decimal_arithmetic(op: BinaryOp, a: Decimal, b: Decimal) -> Result<Decimal, SqlError> {
    let scale = a.scale.max(b.scale);
    let align = |d: Decimal| rescale(d, scale).ok_or_else(overflow);
    let result = match op {
        BinaryOp::Add | BinaryOp::Subtract | BinaryOp::Modulo => {
            let (x, y) = (align(a)?.unscaled, align(b)?.unscaled);
            let unscaled = match op {
                BinaryOp::Add => x.checked_add(y),
                BinaryOp::Subtract => x.checked_sub(y),
                _ if y == 0 => return Err(division_by_zero()),
                _ => x.checked_rem(y),
            };
            Decimal { unscaled: unscaled.ok_or_else(overflow)?, scale }
        }
        BinaryOp::Multiply => {
            let unscaled = a.unscaled.checked_mul(b.unscaled).ok_or_else(overflow)?;
            let product = Decimal { unscaled, scale: a.scale + b.scale };
            if product.scale > MAX_DECIMAL_SCALE {
                rescale(product, MAX_DECIMAL_SCALE).ok_or_else(overflow)?
            } else {
                product
            }
        }
        _ => {
            if b.unscaled == 0 {
                return Err(division_by_zero());
            }
            let scale = division_scale(a.scale, b.scale);
            // a/b at `scale`: a.unscaled * 10^(scale + b.scale - a.scale) / b.unscaled.
            let shift = pow10(scale + b.scale - a.scale).ok_or_else(overflow)?;
            let numerator = a.unscaled.checked_mul(shift).ok_or_else(overflow)?;
            Decimal { unscaled: div_round(numerator, b.unscaled), scale }
        }
    };
    if decimal_fits(result, 38) { Ok(result) } else { Err(overflow()) }
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison

/// Compares two strings with PAD SPACE semantics: the shorter is compared as if blank-padded.
pub fn compare_padded(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let common = a.len().min(b.len());
    match a[..common].cmp(&b[..common]) {
        Ordering::Equal => {}
        other => return other,
    }
    let rest_cmp = |rest: &[u8]| rest.iter().find(|c| **c != b' ').map_or(Ordering::Equal, |c| c.cmp(&b' '));
    if a.len() > common { rest_cmp(&a[common..]) } else { rest_cmp(&b[common..]).reverse() }
}

/// Orders two values; `None` when either is NULL or they cannot be compared.
pub fn compare(l: &Value, r: &Value) -> Option<Ordering> {
    use Value as V;
    match (l, r) {
        (V::Null, _) | (_, V::Null) => None,
        (V::Int(a), V::Int(b)) => Some(a.cmp(b)),
        (V::Decimal(_), V::Int(_) | V::Decimal(_)) | (V::Int(_), V::Decimal(_)) => {
            let (a, b) = (to_decimal(l)?, to_decimal(r)?);
            let scale = a.scale.max(b.scale);
            match (rescale(a, scale), rescale(b, scale)) {
                (Some(a), Some(b)) => Some(a.unscaled.cmp(&b.unscaled)),
                _ => to_f64(l)?.partial_cmp(&to_f64(r)?),
            }
        }
        (V::Double(_) | V::Int(_) | V::Decimal(_), V::Double(_) | V::Int(_) | V::Decimal(_)) => {
            Some(to_f64(l)?.total_cmp(&to_f64(r)?))
        }
        (V::String(a), V::String(b)) => Some(compare_padded(a, b)),
        (V::Boolean(a), V::Boolean(b)) => Some(a.cmp(b)),
        (V::Date(a), V::Date(b)) => Some(a.cmp(b)),
        (V::Time(a), V::Time(b)) => Some(a.cmp(b)),
        (V::Timestamp(a), V::Timestamp(b)) => Some(a.cmp(b)),
        (V::Date(d), V::Timestamp(t)) => Some((i64::from(*d) * MS_PER_DAY).cmp(t)),
        (V::Timestamp(t), V::Date(d)) => Some(t.cmp(&(i64::from(*d) * MS_PER_DAY))),
        (V::Interval(a), V::Interval(b)) => Some(a.cmp(b)),
        (V::IntervalMonths(a), V::IntervalMonths(b)) => Some(a.cmp(b)),
        (V::Binary(a), V::Binary(b)) => Some(a.cmp(b)),
        (V::String(s), other) => compare(&string_as(s, other)?, other),
        (other, V::String(s)) => compare(other, &string_as(s, other)?),
        _ => None,
    }
}

/// A string read as a value of the same family as `like` (for comparisons of strings with other types).
fn string_as(s: &str, like: &Value) -> Option<Value> {
    let t = s.trim();
    match like {
        V::Date(_) => parse_date(t).map(V::Date),
        V::Time(_) => parse_time(t).map(V::Time),
        V::Timestamp(_) => parse_timestamp(t).map(V::Timestamp),
        V::Int(_) | V::Double(_) | V::Decimal(_) => {
            t.parse::<i64>().map(V::Int).ok().or_else(|| t.parse::<f64>().ok().map(V::Double))
        }
        V::Boolean(_) => match t.to_ascii_uppercase().as_str() {
            "TRUE" => Some(V::Boolean(true)),
            "FALSE" => Some(V::Boolean(false)),
            _ => None,
        },
        _ => None,
    }
}

use Value as V;

// ---------------------------------------------------------------------------------------------------------------
// LIKE and SIMILAR TO

#[derive(Debug, Clone, PartialEq, Eq)]
enum LikeToken {
    Char(char),
    One,
    Any,
}

/// A compiled `LIKE` pattern: `%` any run of characters, `_` one character, an optional escape character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePattern {
    tokens: Vec<LikeToken>,
}

impl LikePattern {
    /// Compiles `pattern`; an escape character followed by anything other than `%`, `_` or itself is a data error.
    pub fn compile(pattern: &str, escape: Option<char>) -> Result<Self, SqlError> {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                match chars.next() {
                    Some(next) if next == '%' || next == '_' || Some(next) == escape => {
                        tokens.push(LikeToken::Char(next))
                    }
                    _ => return Err(SqlError::data(format!("invalid escape sequence in LIKE pattern '{pattern}'"))),
                }
            } else {
                tokens.push(match c {
                    '%' => LikeToken::Any,
                    '_' => LikeToken::One,
                    c => LikeToken::Char(c),
                });
            }
        }
        Ok(LikePattern { tokens })
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut t, mut p) = (0usize, 0usize);
        // Where the last `%` was and the text position it is trying to cover up to.
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(LikeToken::Any) => {
                    backtrack = Some((p, t));
                    p += 1;
                    continue;
                }
                Some(LikeToken::One) => {
                    t += 1;
                    p += 1;
                    continue;
                }
                Some(LikeToken::Char(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                    continue;
                }
                _ => {}
            }
            match backtrack {
                Some((bp, bt)) => {
                    backtrack = Some((bp, bt + 1));
                    p = bp + 1;
                    t = bt + 1;
                }
                None => return false,
            }
        }
        self.tokens[p..].iter().all(|tok| *tok == LikeToken::Any)
    }
}

/// `s LIKE pattern [ESCAPE escape]`, compiling the pattern on each call (use [`LikePattern`] for constants).
pub fn like(s: &str, pattern: &str, escape: Option<char>) -> Result<bool, SqlError> {
    Ok(LikePattern::compile(pattern, escape)?.matches(s))
}

/// A compiled `SIMILAR TO` pattern (SQL regular expressions: `%`, `_`, `|`, `*`, `+`, `?`, `{m,n}`, `(...)`,
/// `[...]`), matched against the whole string.
#[derive(Debug, Clone)]
pub struct SimilarPattern {
    regex: regex::Regex,
}

impl SimilarPattern {
    /// Translates `pattern` into a regular expression and compiles it.
    pub fn compile(pattern: &str, escape: Option<char>) -> Result<Self, SqlError> {
        let mut out = String::from("^(?s:");
        let mut chars = pattern.chars().peekable();
        let mut in_bracket = false;
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                let next = chars.next().ok_or_else(|| {
                    SqlError::data(format!("invalid escape sequence in SIMILAR TO pattern '{pattern}'"))
                })?;
                out.push_str(&regex::escape(&next.to_string()));
                continue;
            }
            if in_bracket {
                match c {
                    ']' => {
                        in_bracket = false;
                        out.push(']');
                    }
                    '\\' | '[' | '&' | '~' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
                continue;
            }
            match c {
                '%' => out.push_str(".*"),
                '_' => out.push('.'),
                '[' => {
                    in_bracket = true;
                    out.push('[');
                    if chars.peek() == Some(&'^') {
                        out.push('^');
                        chars.next();
                    }
                }
                '|' | '*' | '+' | '?' | '{' | '}' | '(' | ')' | ',' => out.push(c),
                c if c.is_ascii_digit() => out.push(c),
                c => out.push_str(&regex::escape(&c.to_string())),
            }
        }
        out.push_str(")$");
        let regex = regex::Regex::new(&out)
            .map_err(|e| SqlError::data(format!("invalid SIMILAR TO pattern '{pattern}': {e}")))?;
        Ok(SimilarPattern { regex })
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// `s SIMILAR TO pattern [ESCAPE escape]`, compiling the pattern on each call.
pub fn similar_to(s: &str, pattern: &str, escape: Option<char>) -> Result<bool, SqlError> {
    Ok(SimilarPattern::compile(pattern, escape)?.matches(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SqlErrorKind;

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    fn ts(text: &str) -> Value {
        Value::Timestamp(parse_timestamp(text).expect("timestamp"))
    }

    #[test]
    fn arithmetic_widens_and_division_by_zero_is_a_data_error() {
        assert_eq!(binary(BinaryOp::Add, &int(2), &int(3)), Ok(int(5)));
        assert_eq!(binary(BinaryOp::Divide, &int(7), &int(2)), Ok(int(3)));
        assert_eq!(binary(BinaryOp::Divide, &int(7), &Value::Double(2.0)), Ok(Value::Double(3.5)));
        assert_eq!(binary(BinaryOp::Modulo, &int(-7), &int(3)), Ok(int(-1)));
        for (l, r) in [
            (int(1), int(0)),
            (Value::Double(1.5), Value::Double(0.0)),
            (int(1), Value::Decimal(Decimal { unscaled: 0, scale: 2 })),
        ] {
            let err = binary(BinaryOp::Divide, &l, &r).expect_err("division by zero");
            assert_eq!((err.kind, err.message.as_str()), (SqlErrorKind::Data, "division by zero"));
        }
        assert_eq!(binary(BinaryOp::Multiply, &int(i64::MAX), &int(2)).map_err(|e| e.kind), Err(SqlErrorKind::Data));
        let d = |u: i128, s: u8| Value::Decimal(Decimal { unscaled: u, scale: s });
        assert_eq!(binary(BinaryOp::Add, &d(150, 2), &int(1)), Ok(d(250, 2)));
        assert_eq!(binary(BinaryOp::Multiply, &d(15, 1), &d(15, 1)), Ok(d(225, 2)));
        assert_eq!(binary(BinaryOp::Divide, &d(10, 0), &d(3, 0)), Ok(d(3_333_333, 6)));
        assert_eq!(binary(BinaryOp::Add, &Value::Null, &int(1)), Ok(Value::Null));
    }

    #[test]
    fn three_valued_logic() {
        let (t, f, n) = (Value::Boolean(true), Value::Boolean(false), Value::Null);
        assert_eq!(binary(BinaryOp::And, &f, &n), Ok(f.clone()));
        assert_eq!(binary(BinaryOp::And, &t, &n), Ok(n.clone()));
        assert_eq!(binary(BinaryOp::Or, &n, &t), Ok(t.clone()));
        assert_eq!(binary(BinaryOp::Or, &f, &n), Ok(n.clone()));
        assert_eq!(binary(BinaryOp::Or, &f, &f), Ok(f.clone()));
        assert_eq!(unary(UnaryOp::Not, &n), Ok(n));
    }

    #[test]
    fn comparisons_pad_strings_and_read_strings_as_other_types() {
        assert_eq!(compare(&Value::string("fred    "), &Value::string("fred")), Some(Ordering::Equal));
        assert_eq!(compare(&Value::string("fred"), &Value::string("freda")), Some(Ordering::Less));
        assert_eq!(compare(&int(2), &Value::Double(2.5)), Some(Ordering::Less));
        assert_eq!(compare(&ts("2020-07-01 00:00:00"), &Value::string("2020-07-01 00:00:01")), Some(Ordering::Less));
        assert_eq!(compare(&Value::Null, &int(1)), None);
        assert_eq!(binary(BinaryOp::Eq, &Value::Null, &int(1)), Ok(Value::Null));
    }

    #[test]
    fn datetime_arithmetic() {
        let minute = Value::Interval(60_000);
        assert_eq!(binary(BinaryOp::Add, &ts("2020-07-01 00:00:00"), &minute), Ok(ts("2020-07-01 00:01:00")));
        assert_eq!(binary(BinaryOp::Subtract, &ts("2020-07-01 00:01:00"), &ts("2020-07-01 00:00:00")), Ok(minute));
        assert_eq!(
            binary(BinaryOp::Add, &ts("2020-01-31 10:00:00"), &Value::IntervalMonths(1)),
            Ok(ts("2020-02-29 10:00:00"))
        );
    }

    #[test]
    fn types() {
        assert_eq!(binary_type(BinaryOp::Add, &SqlType::Integer, &SqlType::Double), Ok(SqlType::Double));
        assert_eq!(binary_type(BinaryOp::Add, &SqlType::Integer, &SqlType::BigInt), Ok(SqlType::BigInt));
        assert_eq!(binary_type(BinaryOp::Concat, &SqlType::Varchar(3), &SqlType::Char(2)), Ok(SqlType::Varchar(5)));
        assert_eq!(
            binary_type(BinaryOp::Subtract, &SqlType::Timestamp, &SqlType::Timestamp),
            Ok(SqlType::IntervalDayTime)
        );
        assert!(binary_type(BinaryOp::Add, &SqlType::Varchar(3), &SqlType::Integer).is_err());
        assert!(binary_type(BinaryOp::Eq, &SqlType::Boolean, &SqlType::Integer).is_err());
        assert_eq!(unary_type(UnaryOp::Not, &SqlType::Boolean), Ok(SqlType::Boolean));
    }

    #[test]
    fn like_and_similar_to() {
        let cases = [
            ("abc", "a%", true),
            ("abc", "a_c", true),
            ("abc", "%b", false),
            ("abc", "%", true),
            ("", "%", true),
            ("a%c", "a\\%c", true),
            ("abc", "a\\%c", false),
            ("mississippi", "%iss%ppi", true),
        ];
        for (s, p, expected) in cases {
            assert_eq!(like(s, p, Some('\\')), Ok(expected), "{s} LIKE {p}");
        }
        assert!(LikePattern::compile("a\\b", Some('\\')).is_err());
        assert_eq!(similar_to("abc", "(a|b)%", None), Ok(true));
        assert_eq!(similar_to("xbc", "(a|b)%", None), Ok(false));
        assert_eq!(similar_to("a.c", "a.c", None), Ok(true));
        assert_eq!(similar_to("abc", "a.c", None), Ok(false));
        assert_eq!(similar_to("b12", "[a-c][0-9]{2}", None), Ok(true));
    }

    #[test]
    fn integer_operands_take_the_quick_path_with_the_general_answers() {
        use BinaryOp as B;
        let ops =
            [B::Add, B::Subtract, B::Multiply, B::Divide, B::Modulo, B::Eq, B::NotEq, B::Lt, B::LtEq, B::Gt, B::GtEq];
        let pairs = [(7, 2), (-7, 2), (2, 7), (5, 0), (i64::MAX, 1), (i64::MIN, -1), (i64::MIN, 1), (3, 3)];
        for op in ops.into_iter().chain([B::And, B::Or, B::Concat]) {
            for (a, b) in pairs {
                assert_eq!(binary(op, &int(a), &int(b)), binary_general(op, &int(a), &int(b)), "{a} {op:?} {b}");
            }
        }
        assert_eq!(integers(B::Subtract, 5, 1), Some(int(4)));
        assert_eq!(integers(B::Add, i64::MAX, 1), None, "overflow: the general path's error");
        assert_eq!(binary(B::Add, &int(i64::MAX), &int(1)).map_err(|e| e.message), Err("numeric overflow".into()));
        assert_eq!(integers(B::Divide, 6, 3), None);
        assert_eq!(binary(B::Divide, &int(6), &int(0)).map_err(|e| e.message), Err("division by zero".into()));
    }
}
