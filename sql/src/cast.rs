//! CAST ([SQLREF] sql-reference-cast) and storing values into typed columns ([`fit`]).
//!
//! The matrix ([`can_cast`]): anything to itself; numeric <-> numeric; anything but ROW to CHAR/VARCHAR; CHAR/VARCHAR
//! to numeric, BOOLEAN, DATE, TIME, TIMESTAMP and INTERVAL; TIMESTAMP <-> DATE, TIMESTAMP/TIME -> TIME, DATE/TIME ->
//! TIMESTAMP (a TIME on 1970-01-01); BINARY <-> VARBINARY. A value that does not convert (`CAST('x' AS INTEGER)`,
//! 300 into TINYINT) is a [`SqlErrorKind::Data`](crate::error::SqlErrorKind::Data) error: the row goes to
//! error_stream.
//!
//! Choices where KDA's documentation is silent:
//! - REAL/DOUBLE/DECIMAL -> integer rounds half away from zero (`2.5` -> 3, `-2.5` -> -3); NaN or out of range fails.
//! - CAST to CHAR(n) blank-pads; to CHAR(n)/VARCHAR(n), a longer string is truncated to n characters (like input
//!   mapping). The text of any other value must fit: `CAST(DATE '2008-08-23' AS VARCHAR(9))` fails, as KDA documents.
//! - Strings to numbers are trimmed first; integer targets take integer text only (`'12.5'` fails, as in Java's
//!   `Integer.parseInt`). Strings to BOOLEAN take `TRUE`/`FALSE` in any case.
//! - Numbers as text: integers plainly; DECIMAL with exactly its scale (`12.50`); DOUBLE as Java's
//!   `Double.toString` (`1.0`, `0.001`, `1.0E7`, `1.234E-5`, `NaN`, `Infinity`), REAL as `Float.toString` (the same
//!   rules on the value rounded to 32 bits). Booleans are `TRUE`/`FALSE`; dates `yyyy-MM-dd`, times
//!   `HH:mm:ss.SSS`, timestamps `yyyy-MM-dd HH:mm:ss.SSS` (sluice's canonical forms); day-time intervals
//!   `[-]d hh:mm:ss.SSS`, year-month intervals `[-]y-m`; binary as upper-case hex.
//! - Strings to day-time INTERVAL: `[-]d hh:mm:ss[.fff]`, `[-]hh:mm:ss[.fff]`, or a number of seconds; to
//!   year-month: `[-]y-m` or a number of months.

use crate::error::SqlError;
use crate::literal::{format_date, format_time, format_timestamp, parse_date, parse_time, parse_timestamp};
use crate::ops::{decimal_fits, kind, rescale};
use crate::types::SqlType;
use crate::value::{Decimal, Text, Value, text_within};

const MS_PER_DAY: i64 = 86_400_000;

/// Whether CAST from `from` to `to` is allowed.
pub fn can_cast(from: &SqlType, to: &SqlType) -> bool {
    use SqlType as T;
    if from == to || *from == T::Null {
        return true;
    }
    match (from, to) {
        (T::Row(_), _) | (_, T::Row(_) | T::Null) => false,
        (_, T::Char(_) | T::Varchar(_)) => true,
        (f, t) if f.is_numeric() && t.is_numeric() => true,
        (f, t) if f.is_string() => {
            t.is_numeric() || t.is_datetime() || matches!(t, T::Boolean | T::IntervalDayTime | T::IntervalYearMonth)
        }
        (T::Timestamp, T::Date | T::Time) | (T::Date | T::Time, T::Timestamp) => true,
        (T::Binary(_) | T::Varbinary(_), T::Binary(_) | T::Varbinary(_)) => true,
        _ => false,
    }
}

fn failed(value: &Value, to: &SqlType) -> SqlError {
    let mut shown = display(value);
    if shown.len() > 64 {
        let cut = (0..=64).rev().find(|i| shown.is_char_boundary(*i)).unwrap_or(0);
        shown.truncate(cut);
        shown.push_str("...");
    }
    SqlError::data(format!("cannot cast {} '{shown}' to {to}", kind(value)))
}

/// `CAST(value AS to)`, where `from` is the value's static type.
#[inline]
pub fn cast(value: &Value, from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    match integer_from_text(value, from, to) {
        Some(number) => Ok(number),
        None => cast_general(value, from, to),
    }
}

/// [`cast`] of `text`, a value of the string type `from`, that is not a value of its own yet (a part of another
/// value's text): integer text is read in place, anything else is cast as a value made of it.
#[inline]
pub(crate) fn from_text(text: &str, from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    match integer_from_str(text, from, to) {
        Some(number) => Ok(number),
        None => cast_general(&Value::string(text), from, to),
    }
}

/// [`cast`] of any value.
fn cast_general(value: &Value, from: &SqlType, to: &SqlType) -> Result<Value, SqlError> {
    use SqlType as T;
    if value.is_null() {
        return Ok(Value::Null);
    }
    if !can_cast(from, to) {
        return Err(SqlError::data(format!("cannot cast {from} to {to}")));
    }
    match to {
        T::Char(n) | T::Varchar(n) => match value {
            Value::String(_) => fit(value.clone(), to),
            other => {
                // Only text is cut: a date, number or other value whose text does not fit gives no row
                // ([SQLREF] sql-reference-cast: `cast(date'2008-08-23' as varchar(9))` selects no rows, "because
                // the date literal requires 10 characters").
                let text = to_text(other, from);
                if text.chars().count() > *n as usize {
                    return Err(SqlError::data(format!("{} '{text}' does not fit {to}", kind(value))));
                }
                fit(Value::String(Text::from(text)), to)
            }
        },
        t if t.is_numeric() => to_number(value, to),
        T::Boolean => match value {
            Value::Boolean(_) => Ok(value.clone()),
            Value::String(s) => match s.trim().to_ascii_uppercase().as_str() {
                "TRUE" => Ok(Value::Boolean(true)),
                "FALSE" => Ok(Value::Boolean(false)),
                _ => Err(failed(value, to)),
            },
            _ => Err(failed(value, to)),
        },
        T::Date => match value {
            Value::Date(_) => Ok(value.clone()),
            Value::Timestamp(t) => {
                i32::try_from(t.div_euclid(MS_PER_DAY)).map(Value::Date).map_err(|_| failed(value, to))
            }
            Value::String(s) => parse_date(s)
                .or_else(|| parse_timestamp(s).and_then(|t| i32::try_from(t.div_euclid(MS_PER_DAY)).ok()))
                .map(Value::Date)
                .ok_or_else(|| failed(value, to)),
            _ => Err(failed(value, to)),
        },
        T::Time => match value {
            Value::Time(_) => Ok(value.clone()),
            Value::Timestamp(t) => Ok(Value::Time(t.rem_euclid(MS_PER_DAY) as i32)),
            Value::String(s) => parse_time(s)
                .or_else(|| parse_timestamp(s).map(|t| t.rem_euclid(MS_PER_DAY) as i32))
                .map(Value::Time)
                .ok_or_else(|| failed(value, to)),
            _ => Err(failed(value, to)),
        },
        T::Timestamp => match value {
            Value::Timestamp(_) => Ok(value.clone()),
            Value::Date(d) => Ok(Value::Timestamp(i64::from(*d) * MS_PER_DAY)),
            Value::Time(t) => Ok(Value::Timestamp(i64::from(*t))),
            Value::String(s) => parse_timestamp(s).map(Value::Timestamp).ok_or_else(|| failed(value, to)),
            _ => Err(failed(value, to)),
        },
        T::IntervalDayTime => match value {
            Value::Interval(_) => Ok(value.clone()),
            Value::String(s) => parse_day_time_interval(s).map(Value::Interval).ok_or_else(|| failed(value, to)),
            _ => Err(failed(value, to)),
        },
        T::IntervalYearMonth => match value {
            Value::IntervalMonths(_) => Ok(value.clone()),
            Value::String(s) => {
                parse_year_month_interval(s).map(Value::IntervalMonths).ok_or_else(|| failed(value, to))
            }
            _ => Err(failed(value, to)),
        },
        T::Binary(_) | T::Varbinary(_) => fit(value.clone(), to),
        _ => Err(failed(value, to)),
    }
}

/// Converts a number (or numeric text) to the numeric type `to`, with range checks.
/// CAST of text to an integer type when the text is an integer in the type's range, as the general path reads it
/// (trimmed, an optional `+`); None for anything else, which the general path casts or fails with its message.
#[inline]
pub(crate) fn integer_from_text(value: &Value, from: &SqlType, to: &SqlType) -> Option<Value> {
    let Value::String(s) = value else { return None };
    integer_from_str(s, from, to)
}

/// [`integer_from_text`] of text that is not a value of its own.
#[inline]
pub(crate) fn integer_from_str(text: &str, from: &SqlType, to: &SqlType) -> Option<Value> {
    if !from.is_string() {
        return None;
    }
    let (lo, hi) = integer_range(to)?;
    let n = plain_integer(text.as_bytes())?;
    (lo..=hi).contains(&n).then_some(Value::Int(n))
}

/// `[spaces][+|-]digits[spaces]` (ASCII spaces, up to 18 digits) as an i64; None for any other text (other
/// whitespace, a second sign, no digits, more digits), which the general path reads or rejects.
fn plain_integer(text: &[u8]) -> Option<i64> {
    let mut text = text;
    while let [b' ', rest @ ..] = text {
        text = rest;
    }
    while let [rest @ .., b' '] = text {
        text = rest;
    }
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        digits => (false, digits),
    };
    // 18 digits stay below i64::MAX: no overflow checks per digit.
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n * 10 + i64::from(digit);
    }
    Some(if negative { -n } else { n })
}

fn to_number(value: &Value, to: &SqlType) -> Result<Value, SqlError> {
    use SqlType as T;
    let fail = || failed(value, to);
    let result = match (value, to) {
        (Value::String(s), t) => {
            let text = s.trim();
            match t {
                T::Real | T::Double => match text.parse::<f64>() {
                    Ok(d) if !text.is_empty() => Value::Double(d),
                    _ => return Err(fail()),
                },
                T::Decimal { .. } => Value::Decimal(parse_decimal(text).ok_or_else(fail)?),
                _ => Value::Int(text.strip_prefix('+').unwrap_or(text).parse::<i64>().map_err(|_| fail())?),
            }
        }
        (Value::Boolean(b), _) => Value::Int(i64::from(*b)),
        (Value::Int(_) | Value::Double(_) | Value::Decimal(_), _) => value.clone(),
        _ => return Err(fail()),
    };
    fit(result, to).map_err(|_| fail())
}

/// Parses decimal text (`-12.50`, `+3`, `.5`, `1e3`) exactly.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.as_bytes().first()? {
        b'-' => (true, &mantissa[1..]),
        b'+' => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut unscaled: i128 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        unscaled = unscaled.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let mut scale = i32::try_from(frac_part.len()).ok()? - exponent;
    while scale < 0 {
        unscaled = unscaled.checked_mul(10)?;
        scale += 1;
    }
    let mut d = Decimal { unscaled: if negative { -unscaled } else { unscaled }, scale: u8::try_from(scale).ok()? };
    if d.scale > 38 {
        d = rescale(d, 38)?;
    }
    Some(d)
}

/// The inclusive range of an integer type.
pub fn integer_range(t: &SqlType) -> Option<(i64, i64)> {
    match t {
        SqlType::TinyInt => Some((i64::from(i8::MIN), i64::from(i8::MAX))),
        SqlType::SmallInt => Some((i64::from(i16::MIN), i64::from(i16::MAX))),
        SqlType::Integer => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
        SqlType::BigInt => Some((i64::MIN, i64::MAX)),
        _ => None,
    }
}

/// Stores `value` into a column of type `to`: VARCHAR(n) truncates to n characters, CHAR(n) blank-pads or truncates
/// to n, integers are range-checked (other numbers round to them), DECIMAL is rounded to its scale and checked
/// against its precision, REAL is rounded to 32 bits. Values of another family are converted as by [`cast`].
#[inline]
pub fn fit(value: Value, to: &SqlType) -> Result<Value, SqlError> {
    if fits_as_is(&value, to) { Ok(value) } else { fit_changed(value, to) }
}

/// Whether `fit` keeps `value` as it is, for the common cases only (false sends the value through the general
/// path, which gives the same answer): NULL, text that a VARCHAR holds without a cut (no more bytes than the
/// limit in characters), an integer in the column's range, and a value already of the column's double, datetime,
/// interval, boolean or row type. The runner asks it before fitting a row's values in place.
#[inline]
pub(crate) fn fits_as_is(value: &Value, to: &SqlType) -> bool {
    use SqlType as T;
    match (value, to) {
        (Value::Null, _) | (_, T::Null) | (Value::Int(_), T::BigInt) => true,
        (Value::Int(i), T::Integer) => i32::try_from(*i).is_ok(),
        (Value::String(s), T::Varchar(n)) => s.len() <= *n as usize,
        (Value::Timestamp(_), T::Timestamp) | (Value::Date(_), T::Date) | (Value::Time(_), T::Time) => true,
        (Value::Double(_), T::Double) | (Value::Boolean(_), T::Boolean) | (Value::Row(_), T::Row(_)) => true,
        (Value::Interval(_), T::IntervalDayTime) | (Value::IntervalMonths(_), T::IntervalYearMonth) => true,
        _ => false,
    }
}

/// [`fit`] of a value that may change (be cut, padded, rounded, range-checked or converted).
fn fit_changed(value: Value, to: &SqlType) -> Result<Value, SqlError> {
    use SqlType as T;
    match (&value, to) {
        (Value::Null, _) | (_, T::Null) => Ok(value),
        (Value::String(s), T::Varchar(n)) => Ok(match char_boundary(s, *n as usize) {
            Some(cut) => Value::String(text_within(s, &s[..cut])),
            None => value,
        }),
        (Value::String(s), T::Char(n)) => {
            let n = *n as usize;
            Ok(match char_boundary(s, n) {
                Some(cut) => Value::String(text_within(s, &s[..cut])),
                None => {
                    let len = s.chars().count();
                    if len == n {
                        value
                    } else {
                        let mut padded = String::with_capacity(s.len() + n - len);
                        padded.push_str(s);
                        padded.extend(std::iter::repeat_n(' ', n - len));
                        Value::String(Text::from(padded))
                    }
                }
            })
        }
        (Value::Int(i), t) if t.is_integer() => {
            let (lo, hi) = integer_range(t).unwrap_or((i64::MIN, i64::MAX));
            if (lo..=hi).contains(i) { Ok(value) } else { Err(out_of_range(&value, to)) }
        }
        (Value::Double(d), t) if t.is_integer() => {
            let r = d.round();
            // i64::MAX as f64 rounds up to 2^63, so the upper bound is exclusive.
            let limit = i64::MAX as f64;
            if !(-limit..limit).contains(&r) {
                return Err(out_of_range(&value, to));
            }
            fit(Value::Int(r as i64), to).map_err(|_| out_of_range(&value, to))
        }
        (Value::Decimal(d), t) if t.is_integer() => {
            let i =
                rescale(*d, 0).and_then(|r| i64::try_from(r.unscaled).ok()).ok_or_else(|| out_of_range(&value, to))?;
            fit(Value::Int(i), to).map_err(|_| out_of_range(&value, to))
        }
        (Value::Int(_) | Value::Double(_) | Value::Decimal(_), T::Real) => {
            Ok(Value::Double(crate::ops::to_f64(&value).unwrap_or(0.0) as f32 as f64))
        }
        (Value::Int(_) | Value::Double(_) | Value::Decimal(_), T::Double) => {
            Ok(Value::Double(crate::ops::to_f64(&value).unwrap_or(0.0)))
        }
        (Value::Int(_) | Value::Decimal(_), T::Decimal { precision, scale }) => {
            let d = crate::ops::to_decimal(&value).and_then(|d| rescale(d, *scale));
            match d {
                Some(d) if decimal_fits(d, *precision) => Ok(Value::Decimal(d)),
                _ => Err(out_of_range(&value, to)),
            }
        }
        (Value::Double(x), T::Decimal { precision, scale }) => {
            if !x.is_finite() {
                return Err(out_of_range(&value, to));
            }
            // Through the shortest decimal text of the double, so 0.1 stays 0.1.
            let d = parse_decimal(&format!("{x:e}")).and_then(|d| rescale(d, *scale));
            match d {
                Some(d) if decimal_fits(d, *precision) => Ok(Value::Decimal(d)),
                _ => Err(out_of_range(&value, to)),
            }
        }
        (Value::Binary(b), T::Binary(n) | T::Varbinary(n)) => {
            let n = *n as usize;
            if b.len() > n {
                Ok(Value::Binary(b.slice(..n)))
            } else if b.len() < n && matches!(to, T::Binary(_)) {
                let mut padded = b.to_vec();
                padded.resize(n, 0);
                Ok(Value::Binary(padded.into()))
            } else {
                Ok(value)
            }
        }
        (Value::Boolean(_), T::Boolean)
        | (Value::Date(_), T::Date)
        | (Value::Time(_), T::Time)
        | (Value::Timestamp(_), T::Timestamp)
        | (Value::Interval(_), T::IntervalDayTime)
        | (Value::IntervalMonths(_), T::IntervalYearMonth)
        | (Value::Row(_), T::Row(_)) => Ok(value),
        _ => {
            let from = type_of(&value);
            cast(&value, &from, to)
        }
    }
}

fn out_of_range(value: &Value, to: &SqlType) -> SqlError {
    SqlError::data(format!("value {} is out of range for {to}", display(value)))
}

/// The first `n` characters of `text` (all of it when it is shorter): what VARCHAR(n) keeps of a string. Inline:
/// log parsers cut every field, most of them shorter than `n` bytes.
#[inline]
pub fn cut_chars(text: &str, n: usize) -> &str {
    if text.len() <= n {
        return text; // At most n bytes: at most n characters.
    }
    char_boundary(text, n).map_or(text, |cut| &text[..cut])
}

/// The byte index at which `s` exceeds `n` characters, if it does.
fn char_boundary(s: &str, n: usize) -> Option<usize> {
    if s.len() <= n {
        return None;
    }
    s.char_indices().nth(n).map(|(i, _)| i)
}

/// A plausible static type of a value (for values whose static type is not at hand).
pub fn type_of(value: &Value) -> SqlType {
    match value {
        Value::Null => SqlType::Null,
        Value::Boolean(_) => SqlType::Boolean,
        Value::Int(_) => SqlType::BigInt,
        Value::Double(_) => SqlType::Double,
        Value::Decimal(d) => SqlType::Decimal { precision: 38, scale: d.scale },
        Value::String(s) => SqlType::Varchar(s.chars().count().max(1) as u32),
        Value::Date(_) => SqlType::Date,
        Value::Time(_) => SqlType::Time,
        Value::Timestamp(_) => SqlType::Timestamp,
        Value::Binary(b) => SqlType::Varbinary(b.len().max(1) as u32),
        Value::Interval(_) => SqlType::IntervalDayTime,
        Value::IntervalMonths(_) => SqlType::IntervalYearMonth,
        Value::Row(fields) => {
            SqlType::Row(fields.iter().enumerate().map(|(i, v)| (format!("COLUMN{}", i + 1), type_of(v))).collect())
        }
    }
}

/// A value as text, by its value alone (DOUBLE rules for floating point); what messages and `||` of casts show.
pub fn display(value: &Value) -> String {
    to_text(value, &type_of(value))
}

/// A value as the text CAST to VARCHAR gives; `from` tells REAL from DOUBLE.
pub fn to_text(value: &Value, from: &SqlType) -> String {
    let mut out = String::new();
    write_text(value, from, &mut out);
    out
}

/// Appends a value as the text CAST to VARCHAR gives.
pub fn write_text(value: &Value, from: &SqlType, out: &mut String) {
    use std::fmt::Write;
    match value {
        Value::Null => out.push_str("NULL"),
        Value::Boolean(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Double(d) if *from == SqlType::Real => format_java_float(*d as f32, out),
        Value::Double(d) => format_java_double(*d, out),
        Value::Decimal(d) => format_decimal(*d, out),
        Value::String(s) => out.push_str(s),
        Value::Date(d) => format_date(i64::from(*d), out),
        Value::Time(t) => format_time(i64::from(*t), out),
        Value::Timestamp(t) => format_timestamp(*t, out),
        Value::Binary(b) => {
            for byte in b.iter() {
                let _ = write!(out, "{byte:02X}");
            }
        }
        Value::Interval(ms) => {
            if *ms < 0 {
                out.push('-');
            }
            let ms = ms.unsigned_abs();
            let _ = write!(
                out,
                "{} {:02}:{:02}:{:02}.{:03}",
                ms / MS_PER_DAY as u64,
                ms / 3_600_000 % 24,
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000
            );
        }
        Value::IntervalMonths(m) => {
            if *m < 0 {
                out.push('-');
            }
            let _ = write!(out, "{}-{}", m.unsigned_abs() / 12, m.unsigned_abs() % 12);
        }
        Value::Row(fields) => {
            out.push('(');
            let types: Vec<SqlType> = match from {
                SqlType::Row(f) => f.iter().map(|(_, t)| t.clone()).collect(),
                _ => fields.iter().map(type_of).collect(),
            };
            for (i, (v, t)) in fields.iter().zip(types.iter()).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_text(v, t, out);
            }
            out.push(')');
        }
    }
}

/// A DECIMAL with exactly its scale: `12.50`, `-0.05`.
pub fn format_decimal(d: Decimal, out: &mut String) {
    let digits = d.unscaled.unsigned_abs().to_string();
    if d.unscaled < 0 {
        out.push('-');
    }
    let scale = usize::from(d.scale);
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        out.push_str(&digits[..digits.len() - scale]);
        out.push('.');
        out.push_str(&digits[digits.len() - scale..]);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
}

/// Java's `Double.toString`: plain with at least one fraction digit for 1e-3 <= |x| < 1e7, else `d.dddE±n`.
pub fn format_java_double(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        // Rust's `{:e}` gives the shortest digits that round-trip, as Java (since 19) does.
        java_layout(&format!("{x:e}"), x == 0.0 || (1e-3..1e7).contains(&x.abs()), out);
    }
}

/// Java's `Float.toString`.
pub fn format_java_float(x: f32, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        java_layout(&format!("{x:e}"), x == 0.0 || (1e-3..1e7).contains(&x.abs()), out);
    }
}

/// Lays out Rust's `-d.ddde-n` as Java does.
fn java_layout(sci: &str, plain: bool, out: &mut String) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if negative {
        out.push('-');
    }
    if plain {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push_str(&exp.to_string());
    }
}

/// `[-]d hh:mm:ss[.fff]`, `[-]hh:mm:ss[.fff]` or a number of seconds, as milliseconds.
pub fn parse_day_time_interval(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let ms = if let Ok(seconds) = body.parse::<f64>() {
        if !seconds.is_finite() {
            return None;
        }
        (seconds * 1000.0).round() as i64
    } else {
        let (days, clock) = match body.split_once(' ') {
            Some((d, c)) => (d.parse::<i64>().ok()?, c.trim()),
            None => (0, body),
        };
        let mut parts = clock.split(':');
        let hours: i64 = parts.next()?.parse().ok()?;
        let minutes: i64 = parts.next().map_or(Some(0), |m| m.parse().ok())?;
        let seconds: f64 = parts.next().map_or(Some(0.0), |s| s.parse().ok())?;
        if parts.next().is_some() || minutes > 59 || !(0.0..60.0).contains(&seconds) {
            return None;
        }
        days.checked_mul(MS_PER_DAY)?
            .checked_add(hours.checked_mul(3_600_000)?)?
            .checked_add(minutes * 60_000 + (seconds * 1000.0).round() as i64)?
    };
    Some(if negative { -ms } else { ms })
}

/// `[-]y-m` or a number of months.
pub fn parse_year_month_interval(text: &str) -> Option<i32> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let months = match body.split_once('-') {
        Some((y, m)) => {
            let (y, m): (i32, i32) = (y.trim().parse().ok()?, m.trim().parse().ok()?);
            if !(0..12).contains(&m) {
                return None;
            }
            y.checked_mul(12)?.checked_add(m)?
        }
        None => body.parse().ok()?,
    };
    Some(if negative { -months } else { months })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SqlErrorKind;

    fn s(text: &str) -> Value {
        Value::string(text)
    }

    fn text_of(v: Value, from: SqlType) -> String {
        match cast(&v, &from, &SqlType::Varchar(100)) {
            Ok(Value::String(s)) => s.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn char_pads_and_varchar_truncates() {
        assert_eq!(cast(&s("fred"), &SqlType::Varchar(4), &SqlType::Char(8)), Ok(s("fred    ")));
        // [SQLREF] sql-reference-cast: a DATE to VARCHAR(10) and CHAR (blank-padded), and to VARCHAR(9): no row.
        let date = Value::Date(parse_date("2008-08-23").expect("date"));
        assert_eq!(cast(&date, &SqlType::Date, &SqlType::Varchar(10)), Ok(s("2008-08-23")));
        assert_eq!(cast(&date, &SqlType::Date, &SqlType::Char(12)), Ok(s("2008-08-23  ")));
        let short = cast(&date, &SqlType::Date, &SqlType::Varchar(9));
        assert_eq!(short.map_err(|e| e.kind), Err(SqlErrorKind::Data));
        assert!(cast(&Value::Int(12345), &SqlType::Integer, &SqlType::Char(4)).is_err());
        assert_eq!(cast(&Value::Int(1234), &SqlType::Integer, &SqlType::Char(4)), Ok(s("1234")));
        assert_eq!(cast(&s("frederick"), &SqlType::Varchar(9), &SqlType::Varchar(4)), Ok(s("fred")));
        assert_eq!(fit(s("héllo"), &SqlType::Varchar(2)), Ok(s("hé")));
        assert_eq!(cast(&Value::Int(42), &SqlType::Integer, &SqlType::Char(4)), Ok(s("42  ")));
    }

    #[test]
    fn numbers_round_range_check_and_fail_as_data_errors() {
        assert_eq!(cast(&Value::Double(2.5), &SqlType::Real, &SqlType::Integer), Ok(Value::Int(3)));
        assert_eq!(cast(&Value::Double(-2.4), &SqlType::Double, &SqlType::Integer), Ok(Value::Int(-2)));
        assert_eq!(cast(&s(" 42 "), &SqlType::Varchar(4), &SqlType::Integer), Ok(Value::Int(42)));
        assert_eq!(cast(&s("1.5"), &SqlType::Varchar(4), &SqlType::Double), Ok(Value::Double(1.5)));
        assert_eq!(
            cast(&s("12.345"), &SqlType::Varchar(8), &SqlType::Decimal { precision: 5, scale: 2 }),
            Ok(Value::Decimal(Decimal { unscaled: 1235, scale: 2 }))
        );
        for (v, to) in [
            (s("x"), SqlType::Integer),
            (s("12.5"), SqlType::Integer),
            (Value::Int(300), SqlType::TinyInt),
            (Value::Double(f64::NAN), SqlType::BigInt),
        ] {
            let err = cast(&v, &type_of(&v), &to).expect_err("fails");
            assert_eq!(err.kind, SqlErrorKind::Data, "{v:?} to {to}");
        }
        assert_eq!(fit(Value::Int(70_000), &SqlType::SmallInt).map_err(|e| e.kind), Err(SqlErrorKind::Data));
    }

    #[test]
    fn numbers_print_like_java() {
        let d = |x: f64| text_of(Value::Double(x), SqlType::Double);
        assert_eq!(d(1.0), "1.0");
        assert_eq!(d(0.1), "0.1");
        assert_eq!(d(123.456), "123.456");
        assert_eq!(d(0.001), "0.001");
        assert_eq!(d(0.0001), "1.0E-4");
        assert_eq!(d(1e7), "1.0E7");
        assert_eq!(d(-12345678.9), "-1.23456789E7");
        assert_eq!(d(9999999.0), "9999999.0");
        assert_eq!(d(f64::NAN), "NaN");
        assert_eq!(d(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(text_of(Value::Double(0.1f32 as f64), SqlType::Real), "0.1");
        assert_eq!(text_of(Value::Int(-7), SqlType::BigInt), "-7");
        assert_eq!(
            text_of(Value::Decimal(Decimal { unscaled: -5, scale: 2 }), SqlType::Decimal { precision: 3, scale: 2 }),
            "-0.05"
        );
        assert_eq!(text_of(Value::Boolean(true), SqlType::Boolean), "TRUE");
    }

    #[test]
    fn datetimes_and_intervals() {
        let ts = parse_timestamp("2004-09-30 13:48:23.5").expect("ts");
        let v = Value::Timestamp(ts);
        assert_eq!(
            cast(&v, &SqlType::Timestamp, &SqlType::Date),
            Ok(Value::Date(parse_date("2004-09-30").expect("d")))
        );
        assert_eq!(
            cast(&v, &SqlType::Timestamp, &SqlType::Time),
            Ok(Value::Time(parse_time("13:48:23.5").expect("t")))
        );
        assert_eq!(text_of(v.clone(), SqlType::Timestamp), "2004-09-30 13:48:23.500");
        assert_eq!(cast(&s("2004-09-30 13:48:23.5"), &SqlType::Varchar(30), &SqlType::Timestamp), Ok(v));
        assert_eq!(cast(&s("true"), &SqlType::Varchar(4), &SqlType::Boolean), Ok(Value::Boolean(true)));
        assert_eq!(
            cast(&s("1 02:00:00"), &SqlType::Varchar(10), &SqlType::IntervalDayTime),
            Ok(Value::Interval(93_600_000))
        );
        assert_eq!(cast(&s("-1-6"), &SqlType::Varchar(4), &SqlType::IntervalYearMonth), Ok(Value::IntervalMonths(-18)));
        assert_eq!(text_of(Value::Interval(-93_600_000), SqlType::IntervalDayTime), "-1 02:00:00.000");
        assert!(!can_cast(&SqlType::Timestamp, &SqlType::Integer));
        assert!(can_cast(&SqlType::Real, &SqlType::Varchar(5)));
    }

    #[test]
    fn integer_text_takes_the_quick_path_and_everything_else_the_general_one() {
        let int = SqlType::Integer;
        // Quick path: what the general path (to_number) gives too.
        for (text, to) in
            [(" +42 ", &int), ("-7", &int), ("127", &SqlType::TinyInt), ("-999999999999999999", &SqlType::BigInt)]
        {
            let quick = integer_from_text(&s(text), &SqlType::Varchar(20), to);
            assert!(quick.is_some(), "{text}");
            assert_eq!(quick.map(Ok), Some(to_number(&s(text), to)), "{text}");
            assert_eq!(cast(&s(text), &SqlType::Varchar(20), to), to_number(&s(text), to));
        }
        // 19 digits: the general path reads them.
        assert_eq!(integer_from_text(&s("9223372036854775807"), &SqlType::Varchar(20), &SqlType::BigInt), None);
        assert_eq!(cast(&s("9223372036854775807"), &SqlType::Varchar(20), &SqlType::BigInt), Ok(Value::Int(i64::MAX)));
        // Fallback: out of range, not an integer, not text, not to an integer: the general answer and message.
        for (value, to) in [(s("3000000000"), &int), (s("128"), &SqlType::TinyInt), (s("1.5"), &int), (s("x"), &int)] {
            assert_eq!(integer_from_text(&value, &SqlType::Varchar(20), to), None);
            let error = cast(&value, &SqlType::Varchar(20), to).expect_err("fails");
            assert_eq!(error.kind, SqlErrorKind::Data);
            assert!(error.message.starts_with("cannot cast string"), "{}", error.message);
        }
        assert_eq!(integer_from_text(&s("5"), &SqlType::Varchar(1), &SqlType::Double), None);
        for (text, n) in [
            ("0", Some(0)),
            (" -12 ", Some(-12)),
            ("+7", Some(7)),
            ("999999999999999999", Some(999_999_999_999_999_999)),
        ] {
            assert_eq!(plain_integer(text.as_bytes()), n, "{text}");
        }
        for text in ["", " ", "-", "+-5", "9223372036854775808", "-9223372036854775808", "1x", "1 2", "\t5", "٣"] {
            assert_eq!(plain_integer(text.as_bytes()), None, "{text}");
            let general = to_number(&s(text), &SqlType::BigInt);
            assert_eq!(cast(&s(text), &SqlType::Varchar(30), &SqlType::BigInt), general, "{text}");
        }
        assert_eq!(integer_from_text(&Value::Int(5), &SqlType::BigInt, &int), None);
        assert_eq!(cast(&s("1.5"), &SqlType::Varchar(3), &SqlType::Double), Ok(Value::Double(1.5)));
    }

    #[test]
    fn values_that_fit_as_they_are_give_what_the_general_path_gives() {
        let cases = [
            (Value::Null, SqlType::Integer),
            (s("abc"), SqlType::Varchar(3)),
            (s("abcd"), SqlType::Varchar(3)),
            (s("ééé"), SqlType::Varchar(3)),
            (s("ab"), SqlType::Char(3)),
            (Value::Int(i64::MAX), SqlType::BigInt),
            (Value::Int(300), SqlType::TinyInt),
            (Value::Timestamp(5), SqlType::Timestamp),
            (Value::Date(5), SqlType::Date),
            (Value::Time(5), SqlType::Time),
            (Value::Boolean(true), SqlType::Boolean),
            (Value::Timestamp(5), SqlType::Date),
        ];
        for (value, to) in cases {
            assert_eq!(fit(value.clone(), &to), fit_changed(value.clone(), &to), "{value:?} into {to}");
        }
        assert!(fits_as_is(&s("ab"), &SqlType::Varchar(2)));
        assert!(!fits_as_is(&s("ééé"), &SqlType::Varchar(3)), "more bytes than the limit: the general path counts");
        assert!(fits_as_is(&Value::Int(1), &SqlType::Integer), "in INTEGER's range");
        assert!(!fits_as_is(&Value::Int(i64::from(i32::MAX) + 1), &SqlType::Integer), "out of range: an error");
        assert!(!fits_as_is(&s("ab"), &SqlType::Char(8)), "CHAR pads: the general path decides");
    }

    #[test]
    fn fit_is_skipped_only_where_it_would_change_nothing() {
        let values = [
            Value::Null,
            Value::string("abcdefgh"),
            Value::string("abcdefghijklmnop"),
            Value::string("ééééé"),
            Value::Int(7),
            Value::Int(i64::from(i32::MAX) + 1),
            Value::Double(1.5),
            Value::Double(f64::NAN),
            Value::Boolean(true),
            Value::Timestamp(1_000),
            Value::Date(3),
            Value::Interval(60_000),
            Value::Decimal(crate::value::Decimal { unscaled: 150, scale: 2 }),
        ];
        let types = [
            SqlType::Varchar(8),
            SqlType::Varchar(16),
            SqlType::Char(8),
            SqlType::Integer,
            SqlType::SmallInt,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::Real,
            SqlType::Decimal { precision: 5, scale: 1 },
            SqlType::Boolean,
            SqlType::Timestamp,
            SqlType::Date,
            SqlType::IntervalDayTime,
        ];
        let mut skipped = 0;
        for value in &values {
            for ty in &types {
                let general = fit_changed(value.clone(), ty).map_err(|e| e.message);
                if fits_as_is(value, ty) {
                    skipped += 1;
                    assert_eq!(
                        format!("{general:?}"),
                        format!("{:?}", Ok::<_, String>(value.clone())),
                        "{value:?} into {ty}"
                    );
                }
                assert_eq!(format!("{:?}", fit(value.clone(), ty).map_err(|e| e.message)), format!("{general:?}"));
            }
        }
        assert!(skipped > 20, "the shortcut applies to the usual cases ({skipped})");
    }
}
