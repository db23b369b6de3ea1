//! Date/time functions (CURRENT_DATE, CURRENT_TIME, CURRENT_TIMESTAMP, CURRENT_ROW_TIMESTAMP, LOCALTIME,
//! LOCALTIMESTAMP, EXTRACT, TSDIFF, FLOOR_TO/CEIL_TO) and the datetime conversions (CHAR_TO_DATE, CHAR_TO_TIME,
//! CHAR_TO_TIMESTAMP, DATE_TO_CHAR, TIME_TO_CHAR, TIMESTAMP_TO_CHAR, TO_TIMESTAMP, UNIX_TIMESTAMP).
//!
//! The clocks: CURRENT_* and LOCAL* read [`EvalContext::query_start_ms`] (fixed when the query starts; sluice runs
//! in UTC, so LOCALTIME is CURRENT_TIME); CURRENT_ROW_TIMESTAMP reads [`EvalContext::now_ms`], new for each row.
//!
//! The `*_TO_CHAR` and `CHAR_TO_*` functions take a Java `SimpleDateFormat` pattern first
//! ([`crate::datetime_format`]); a constant pattern is compiled once at prepare. The `*_TO_CHAR` functions print a
//! NULL datetime as the string `null` (Java's `String.valueOf(null)`, as KDA documents for TIMESTAMP_TO_CHAR);
//! a NULL pattern gives NULL. Text that a `CHAR_TO_*` pattern cannot parse, or whose fields are out of range, is a
//! data error (the row goes to error_stream).

use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{
    EvalContext, Evaluated, ScalarEval, ScalarFunction, arg_int, check_arity, eval_fn, literal_str, strict, stringy,
};
use crate::datetime_format::DatePattern;
use crate::error::SqlError;
use crate::literal::{civil_from_days, days_from_civil, parse_timestamp};
use crate::operator::TimeUnit;
use crate::types::SqlType;
use crate::value::{Decimal, INLINE, Text, Value};

const MS_PER_DAY: i64 = 86_400_000;

pub(super) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction {
        name: "CURRENT_TIMESTAMP",
        return_type: |a, _| clock_type(a, SqlType::Timestamp),
        prepare: |_, _| Ok(eval_fn(|_, cx| Ok(Value::Timestamp(cx.query_start_ms)))),
    },
    ScalarFunction {
        name: "LOCALTIMESTAMP",
        return_type: |a, _| clock_type(a, SqlType::Timestamp),
        prepare: |_, _| Ok(eval_fn(|_, cx| Ok(Value::Timestamp(cx.query_start_ms)))),
    },
    ScalarFunction {
        name: "CURRENT_ROW_TIMESTAMP",
        return_type: |a, _| clock_type(a, SqlType::Timestamp),
        prepare: |_, _| Ok(eval_fn(|_, cx| Ok(Value::Timestamp(cx.now_ms)))),
    },
    ScalarFunction {
        name: "CURRENT_DATE",
        return_type: |a, _| clock_type(a, SqlType::Date),
        prepare: |_, _| Ok(eval_fn(|_, cx| Ok(Value::Date(cx.query_start_ms.div_euclid(MS_PER_DAY) as i32)))),
    },
    ScalarFunction {
        name: "CURRENT_TIME",
        return_type: |a, _| clock_type(a, SqlType::Time),
        prepare: |_, _| Ok(eval_fn(|_, cx| Ok(Value::Time(cx.query_start_ms.rem_euclid(MS_PER_DAY) as i32)))),
    },
    ScalarFunction {
        name: "LOCALTIME",
        return_type: |a, _| clock_type(a, SqlType::Time),
        prepare: |_, _| Ok(eval_fn(|_, cx| Ok(Value::Time(cx.query_start_ms.rem_euclid(MS_PER_DAY) as i32)))),
    },
    ScalarFunction { name: "EXTRACT", return_type: extract_type, prepare: extract_prepare },
    ScalarFunction { name: "TSDIFF", return_type: tsdiff_type, prepare: |_, _| Ok(strict(tsdiff)) },
    ScalarFunction { name: "FLOOR_TO", return_type: floor_to_type, prepare: |a, l| floor_to_prepare(a, l, false) },
    ScalarFunction { name: "CEIL_TO", return_type: floor_to_type, prepare: |a, l| floor_to_prepare(a, l, true) },
    ScalarFunction {
        name: "CHAR_TO_DATE",
        return_type: |a, l| char_to_type(a, l, SqlType::Date),
        prepare: |_, l| char_to_prepare(l, SqlType::Date),
    },
    ScalarFunction {
        name: "CHAR_TO_TIME",
        return_type: |a, l| char_to_type(a, l, SqlType::Time),
        prepare: |_, l| char_to_prepare(l, SqlType::Time),
    },
    ScalarFunction {
        name: "CHAR_TO_TIMESTAMP",
        return_type: |a, l| char_to_type(a, l, SqlType::Timestamp),
        prepare: |_, l| char_to_prepare(l, SqlType::Timestamp),
    },
    ScalarFunction {
        name: "DATE_TO_CHAR",
        return_type: |a, l| to_char_type(a, l, SqlType::Date),
        prepare: |_, l| to_char_prepare(l),
    },
    ScalarFunction {
        name: "TIME_TO_CHAR",
        return_type: |a, l| to_char_type(a, l, SqlType::Time),
        prepare: |_, l| to_char_prepare(l),
    },
    ScalarFunction {
        name: "TIMESTAMP_TO_CHAR",
        return_type: |a, l| to_char_type(a, l, SqlType::Timestamp),
        prepare: |_, l| to_char_prepare(l),
    },
    ScalarFunction {
        name: "TO_TIMESTAMP",
        return_type: |a, _| {
            check_arity("TO_TIMESTAMP", a, 1, 1)?;
            if super::numeric(&a[0]) {
                Ok(SqlType::Timestamp)
            } else {
                Err(format!("TO_TIMESTAMP takes milliseconds (BIGINT), not {}", a[0]))
            }
        },
        prepare: |_, _| {
            Ok(strict(|a| {
                arg_int(a, 0).map(Value::Timestamp).ok_or_else(|| SqlError::data("TO_TIMESTAMP takes a number"))
            }))
        },
    },
    ScalarFunction {
        name: "UNIX_TIMESTAMP",
        return_type: |a, _| {
            check_arity("UNIX_TIMESTAMP", a, 1, 1)?;
            match &a[0] {
                SqlType::Timestamp | SqlType::Date | SqlType::Null => Ok(SqlType::BigInt),
                t => Err(format!("UNIX_TIMESTAMP takes a TIMESTAMP, not {t}")),
            }
        },
        prepare: |_, _| Ok(strict(|a| Ok(epoch_ms(a[0]).map_or(Value::Null, Value::Int)))),
    },
];

fn clock_type(args: &[SqlType], t: SqlType) -> Result<SqlType, String> {
    check_arity("the function", args, 0, 0)?;
    Ok(t)
}

/// Milliseconds since the epoch of a TIMESTAMP, DATE or TIME (on 1970-01-01).
fn epoch_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Timestamp(t) => Some(*t),
        Value::Date(d) => Some(i64::from(*d) * MS_PER_DAY),
        Value::Time(t) => Some(i64::from(*t)),
        Value::String(s) => parse_timestamp(s),
        _ => None,
    }
}

fn unit_of(name: &str, literals: &[Option<&Value>], i: usize) -> Result<String, String> {
    literal_str(literals, i)
        .map(|u| u.trim().to_ascii_uppercase())
        .ok_or_else(|| format!("{name}'s time unit must be a keyword such as MINUTE"))
}

// ---------------------------------------------------------------------------------------------------------------
// EXTRACT, TSDIFF, FLOOR/CEIL TO

const EXTRACT_UNITS: &[&str] =
    &["YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DOW", "DOY", "HOUR", "MINUTE", "SECOND", "MILLISECOND", "EPOCH"];

fn extract_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("EXTRACT", args, 2, 2)?;
    let unit = unit_of("EXTRACT", literals, 0)?;
    if !EXTRACT_UNITS.contains(&unit.as_str()) {
        return Err(format!("EXTRACT cannot take {unit}; units: {}", EXTRACT_UNITS.join(", ")));
    }
    match &args[1] {
        SqlType::Timestamp
        | SqlType::Date
        | SqlType::Time
        | SqlType::IntervalDayTime
        | SqlType::IntervalYearMonth
        | SqlType::Null => Ok(if unit == "SECOND" { SECOND_TYPE } else { SqlType::BigInt }),
        t => Err(format!("EXTRACT takes a datetime or an interval, not {t}")),
    }
}

/// EXTRACT(SECOND ...)'s type: "Returns BIGINT for all fields other than SECOND. For SECOND it returns DECIMAL(5,3)
/// and includes milliseconds" ([SQLREF] sql-reference-extract).
const SECOND_TYPE: SqlType = SqlType::Decimal { precision: 5, scale: 3 };

fn extract_prepare(_: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String> {
    let unit = unit_of("EXTRACT", literals, 0)?;
    if unit == "SECOND" {
        return Ok(strict(|a| {
            let millis = extract("SECOND", a[1])? * 1000 + extract("MILLISECOND", a[1])?;
            Ok(Value::Decimal(Decimal { unscaled: i128::from(millis), scale: 3 }))
        }));
    }
    Ok(strict(move |a| extract(&unit, a[1]).map(Value::Int)))
}

/// EXTRACT(unit FROM v): calendar fields of datetimes (DOW 1 = Sunday, WEEK is ISO-8601, EPOCH in seconds) and the
/// fields of intervals (DAY, HOUR, MINUTE, SECOND, MILLISECOND of a day-time one; YEAR, MONTH of a year-month one).
/// SECOND is the whole seconds here; the SQL function adds the milliseconds (DECIMAL(5,3)).
pub fn extract(unit: &str, v: &Value) -> Result<i64, SqlError> {
    let bad = || SqlError::data(format!("cannot EXTRACT {unit} from {}", crate::ops::kind(v)));
    match v {
        Value::Interval(ms) => {
            let ms = *ms;
            return Ok(match unit {
                "DAY" => ms / MS_PER_DAY,
                "HOUR" => ms / 3_600_000 % 24,
                "MINUTE" => ms / 60_000 % 60,
                "SECOND" => ms / 1000 % 60,
                "MILLISECOND" => ms % 1000,
                "EPOCH" => ms / 1000,
                _ => return Err(bad()),
            });
        }
        Value::IntervalMonths(m) => {
            return Ok(match unit {
                "YEAR" => i64::from(m / 12),
                "MONTH" => i64::from(m % 12),
                _ => return Err(bad()),
            });
        }
        _ => {}
    }
    let ms = epoch_ms(v).ok_or_else(bad)?;
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let date_only = |f: &dyn Fn() -> i64| if matches!(v, Value::Time(_)) { Err(bad()) } else { Ok(f()) };
    let (y, m, d) = civil_from_days(days);
    match unit {
        "YEAR" => date_only(&|| y),
        "QUARTER" => date_only(&|| i64::from((m - 1) / 3 + 1)),
        "MONTH" => date_only(&|| i64::from(m)),
        "DAY" => date_only(&|| i64::from(d)),
        "DOW" => date_only(&|| (days + 4).rem_euclid(7) + 1),
        "DOY" => date_only(&|| days - days_from_civil(y, 1, 1) + 1),
        "WEEK" => date_only(&|| iso_week(days)),
        "HOUR" if !matches!(v, Value::Date(_)) => Ok(in_day / 3_600_000),
        "MINUTE" if !matches!(v, Value::Date(_)) => Ok(in_day / 60_000 % 60),
        "SECOND" if !matches!(v, Value::Date(_)) => Ok(in_day / 1000 % 60),
        "MILLISECOND" if !matches!(v, Value::Date(_)) => Ok(in_day % 1000),
        "EPOCH" => Ok(ms.div_euclid(1000)),
        _ => Err(bad()),
    }
}

/// The ISO-8601 week number of a day.
fn iso_week(days: i64) -> i64 {
    let weekday = (days + 3).rem_euclid(7); // 0 = Monday
    let thursday = days - weekday + 3;
    let (y, _, _) = civil_from_days(thursday);
    (thursday - days_from_civil(y, 1, 1)) / 7 + 1
}

fn tsdiff_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("TSDIFF", args, 2, 2)?;
    let ok = |t: &SqlType| matches!(t, SqlType::Timestamp | SqlType::Date | SqlType::Null);
    if args.iter().all(ok) { Ok(SqlType::BigInt) } else { Err("TSDIFF takes two TIMESTAMPs".into()) }
}

fn tsdiff(a: &[&Value]) -> Result<Value, SqlError> {
    match (epoch_ms(a[0]), epoch_ms(a[1])) {
        (Some(x), Some(y)) => x.checked_sub(y).map(Value::Int).ok_or_else(|| SqlError::data("numeric overflow")),
        _ => Err(SqlError::data("TSDIFF takes two TIMESTAMPs")),
    }
}

fn floor_to_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("FLOOR", args, 2, 2)?;
    let unit = unit_of("FLOOR", literals, 1)?;
    let unit = TimeUnit::from_keyword(&unit).ok_or_else(|| format!("FLOOR/CEIL cannot round to {unit}"))?;
    match (&args[0], unit) {
        (SqlType::Time, TimeUnit::Year | TimeUnit::Month | TimeUnit::Day) => {
            Err(format!("a TIME cannot be rounded to {}", unit.keyword()))
        }
        (SqlType::Timestamp | SqlType::Date | SqlType::Time, _) => Ok(args[0].clone()),
        // KDA's console template for tumbling windows: FLOOR((s.ROWTIME - TIMESTAMP '1970-01-01 00:00:00')
        // SECOND / 10 TO SECOND) floors a day-time interval to whole units.
        (SqlType::IntervalDayTime, TimeUnit::Year | TimeUnit::Month) => {
            Err(format!("a day-time interval cannot be rounded to {}", unit.keyword()))
        }
        (SqlType::IntervalDayTime, _) => Ok(SqlType::IntervalDayTime),
        (SqlType::Null, _) => Ok(SqlType::Timestamp),
        (t, _) => Err(format!("FLOOR/CEIL ... TO {} takes a datetime, not {t}", unit.keyword())),
    }
}

fn floor_to_prepare(_: &[SqlType], literals: &[Option<&Value>], up: bool) -> Result<Box<dyn ScalarEval>, String> {
    let unit = unit_of("FLOOR", literals, 1)?;
    let unit = TimeUnit::from_keyword(&unit).ok_or_else(|| format!("FLOOR/CEIL cannot round to {unit}"))?;
    Ok(strict(move |a| {
        if let Value::Interval(ms) = a[0] {
            let width = add_unit(0, unit); // Day-time units only: the type check refused YEAR and MONTH.
            let floored = ms.div_euclid(width) * width;
            return Ok(Value::Interval(if up && floored != *ms { floored + width } else { floored }));
        }
        let ms = epoch_ms(a[0]).ok_or_else(|| SqlError::data("FLOOR/CEIL TO takes a datetime"))?;
        let floored = floor_ms(ms, unit);
        let result = if up && floored != ms { add_unit(floored, unit) } else { floored };
        Ok(match &a[0] {
            Value::Date(_) => Value::Date(result.div_euclid(MS_PER_DAY) as i32),
            Value::Time(_) => Value::Time(result.rem_euclid(MS_PER_DAY) as i32),
            _ => Value::Timestamp(result),
        })
    }))
}

/// `ms` floored to the start of its `unit`.
pub fn floor_ms(ms: i64, unit: TimeUnit) -> i64 {
    let fixed = |w: i64| ms.div_euclid(w) * w;
    match unit {
        TimeUnit::Millisecond => ms,
        TimeUnit::Second => fixed(1000),
        TimeUnit::Minute => fixed(60_000),
        TimeUnit::Hour => fixed(3_600_000),
        TimeUnit::Day => fixed(MS_PER_DAY),
        TimeUnit::Month | TimeUnit::Year => {
            let (y, m, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
            let m = if unit == TimeUnit::Year { 1 } else { m };
            days_from_civil(y, m, 1) * MS_PER_DAY
        }
    }
}

/// A unit-aligned `ms` plus one `unit`.
pub fn add_unit(ms: i64, unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Millisecond => ms + 1,
        TimeUnit::Second => ms + 1000,
        TimeUnit::Minute => ms + 60_000,
        TimeUnit::Hour => ms + 3_600_000,
        TimeUnit::Day => ms + MS_PER_DAY,
        TimeUnit::Month | TimeUnit::Year => {
            let (y, m, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
            let (y, m) = match unit {
                TimeUnit::Year => (y + 1, 1),
                _ if m == 12 => (y + 1, 1),
                _ => (y, m + 1),
            };
            days_from_civil(y, m, 1) * MS_PER_DAY
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions

fn pattern_arg(name: &str, literals: &[Option<&Value>]) -> Result<Option<Arc<DatePattern>>, String> {
    literal_str(literals, 0)
        .map(|p| DatePattern::compile(p).map(Arc::new).map_err(|e| format!("{name}: {e}")))
        .transpose()
}

fn char_to_type(args: &[SqlType], literals: &[Option<&Value>], t: SqlType) -> Result<SqlType, String> {
    check_arity("CHAR_TO_*", args, 2, 2)?;
    if !stringy(&args[0]) || !stringy(&args[1]) {
        return Err(format!("CHAR_TO_{t} takes a format string and a character string"));
    }
    pattern_arg("CHAR_TO_*", literals)?;
    Ok(t)
}

fn char_to_prepare(literals: &[Option<&Value>], t: SqlType) -> Result<Box<dyn ScalarEval>, String> {
    let fixed = pattern_arg("CHAR_TO_*", literals)?;
    Ok(strict(move |a| {
        let (Value::String(pattern), Value::String(text)) = (&a[0], &a[1]) else { return Ok(Value::Null) };
        let compiled;
        let p = match &fixed {
            Some(p) => p.as_ref(),
            None => {
                compiled = DatePattern::compile(pattern).map_err(SqlError::data)?;
                &compiled
            }
        };
        let ms = p
            .parse(text)
            .ok_or_else(|| SqlError::data(format!("'{text}' does not match the date format '{pattern}'")))?;
        Ok(match t {
            SqlType::Date => {
                Value::Date(i32::try_from(ms.div_euclid(MS_PER_DAY)).map_err(|_| SqlError::data("date out of range"))?)
            }
            SqlType::Time => Value::Time(ms.rem_euclid(MS_PER_DAY) as i32),
            _ => Value::Timestamp(ms),
        })
    }))
}

fn to_char_type(args: &[SqlType], literals: &[Option<&Value>], t: SqlType) -> Result<SqlType, String> {
    check_arity("*_TO_CHAR", args, 2, 2)?;
    if !stringy(&args[0]) {
        return Err(format!("{t}_TO_CHAR's first argument is a format string, not {}", args[0]));
    }
    let ok = match t {
        SqlType::Time => matches!(args[1], SqlType::Time | SqlType::Null),
        _ => matches!(args[1], SqlType::Timestamp | SqlType::Date | SqlType::Null) || args[1].is_string(),
    };
    if !ok {
        return Err(format!("{t}_TO_CHAR formats a {t}, not {}", args[1]));
    }
    Ok(SqlType::Varchar(match pattern_arg("*_TO_CHAR", literals)? {
        Some(p) => u32::try_from(p.max_len()).unwrap_or(u32::MAX).max(4),
        None => 256,
    }))
}

thread_local! {
    /// The formatting buffer, reused across calls on a thread.
    static FORMAT_BUFFER: RefCell<String> = RefCell::new(String::with_capacity(64));
    /// The last text an evaluator with a constant pattern gave on this thread. Streams arrive in time order, so
    /// consecutive rows mostly fall in the same unit of the pattern's finest field (the same second for
    /// `yyyy-MM-dd hh:mm:ss`) and share the text. Nothing in it needs dropping (see [`LastText`]), which keeps
    /// the access to it a plain thread-local read.
    static LAST_TEXT: RefCell<LastText> = const { RefCell::new(LastText::NONE) };
}

/// A text a `*_TO_CHAR` evaluator gave, and the instants it stands for: `[from, until)`, one unit of the
/// pattern's finest field, in which every instant formats alike.
struct LastText {
    /// The evaluator ([`NEXT_ID`]); 0 for none.
    id: u64,
    from: i64,
    until: i64,
    /// At most [`INLINE`] bytes, so inline: no memory of its own, and nothing lost in not dropping it when the
    /// thread ends.
    text: ManuallyDrop<Text>,
}

impl LastText {
    const NONE: LastText = LastText { id: 0, from: 0, until: 0, text: ManuallyDrop::new(Text::new()) };

    /// The text, when it is `id`'s for `ms`.
    #[inline]
    fn get(&self, id: u64, ms: i64) -> Option<Text> {
        (self.id == id && self.from <= ms && ms < self.until).then(|| Text::clone(&self.text))
    }

    /// Keeps `text` as `id`'s for the unit of `resolution` ms holding `ms`, when it is short enough to be inline
    /// (and the unit's bounds are instants).
    fn keep(&mut self, id: u64, ms: i64, resolution: i64, text: &Text) {
        let from = ms.checked_sub(ms.rem_euclid(resolution));
        if let (Some(from), true) = (from, text.len() <= INLINE) {
            let until = from.saturating_add(resolution);
            let old = std::mem::replace(&mut self.text, ManuallyDrop::new(text.clone()));
            drop(ManuallyDrop::into_inner(old));
            (self.id, self.from, self.until) = (id, from, until);
        }
    }
}

/// Ids of `*_TO_CHAR` evaluators, for [`LAST_TEXT`] (never reused, unlike addresses).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A prepared `*_TO_CHAR` call.
struct ToChar {
    /// The pattern when constant, and its id for [`LAST_TEXT`].
    pattern: Option<(Arc<DatePattern>, u64)>,
}

fn format_ms(pattern: &DatePattern, ms: i64) -> Text {
    FORMAT_BUFFER.with_borrow_mut(|buf| {
        buf.clear();
        pattern.format(ms, buf);
        Text::from(buf.as_str())
    })
}

/// `ms` formatted by a constant `pattern` (evaluator `id`): the last text when it stands for `ms`.
#[inline]
fn format_or_last(pattern: &DatePattern, id: u64, ms: i64) -> Text {
    // Only the lookup in the closure, so that it is small enough to inline into the caller.
    LAST_TEXT.with_borrow(|last| last.get(id, ms)).unwrap_or_else(|| format_and_keep(pattern, id, ms))
}

#[cold]
fn format_and_keep(pattern: &DatePattern, id: u64, ms: i64) -> Text {
    let text = format_ms(pattern, ms);
    LAST_TEXT.with_borrow_mut(|last| last.keep(id, ms, pattern.resolution_ms(), &text));
    text
}

impl ScalarEval for ToChar {
    fn eval(&self, args: &[&Value], _: &EvalContext) -> Evaluated {
        let Value::String(text) = &args[0] else { return Ok(Value::Null) };
        let ms = match &args[1] {
            Value::Null => return Ok(Value::string("null")),
            v => {
                epoch_ms(v).ok_or_else(|| SqlError::data(format!("cannot format {} as a date", crate::ops::kind(v))))?
            }
        };
        match &self.pattern {
            Some((pattern, id)) => Ok(Value::String(format_or_last(pattern, *id, ms))),
            None => {
                let pattern = DatePattern::compile(text).map_err(SqlError::data)?;
                Ok(Value::String(format_ms(&pattern, ms)))
            }
        }
    }
}

fn to_char_prepare(literals: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String> {
    let pattern = pattern_arg("*_TO_CHAR", literals)?.map(|p| (p, NEXT_ID.fetch_add(1, Ordering::Relaxed)));
    Ok(Box::new(ToChar { pattern }))
}

#[cfg(test)]
mod tests {
    use super::super::lookup;
    use super::super::test_support::{call, call_cx, type_of_call};
    use super::*;

    fn ts(text: &str) -> Value {
        Value::Timestamp(parse_timestamp(text).expect("timestamp"))
    }

    fn s(text: &str) -> Value {
        Value::string(text)
    }

    #[test]
    fn timestamp_to_char_uses_the_twelve_hour_clock_and_prints_null() {
        let f = s("yyyy-MM-dd hh:mm:ss");
        assert_eq!(
            call("TIMESTAMP_TO_CHAR", &[f.clone(), ts("2020-07-01 00:00:00.010")]),
            Ok(s("2020-07-01 12:00:00"))
        );
        assert_eq!(call("TIMESTAMP_TO_CHAR", &[f.clone(), ts("2020-07-01 15:04:05")]), Ok(s("2020-07-01 03:04:05")));
        assert_eq!(call("TIMESTAMP_TO_CHAR", &[f.clone(), Value::Null]), Ok(s("null")));
        assert_eq!(call("TIMESTAMP_TO_CHAR", &[Value::Null, ts("2020-07-01 00:00:00")]), Ok(Value::Null));
        assert_eq!(type_of_call("TIMESTAMP_TO_CHAR", &[f, ts("2020-07-01 00:00:00")]), Ok(SqlType::Varchar(19)));
        assert_eq!(call("DATE_TO_CHAR", &[s("dd/MM/yyyy"), Value::Date(18_444)]), Ok(s("01/07/2020")));
        assert_eq!(call("TIME_TO_CHAR", &[s("HH:mm"), Value::Time(3_600_000)]), Ok(s("01:00")));
        assert!(type_of_call("TIMESTAMP_TO_CHAR", &[s("yyyy-qq"), ts("2020-07-01 00:00:00")]).is_err());
    }

    #[test]
    fn to_char_gives_the_pattern_s_text_whether_or_not_it_reuses_the_last_one() {
        // A long text (beyond inline), milliseconds, a coarse field, a date only: evaluators interleaved on one
        // thread, at instants that stay in a unit, leave it, come back, and cross the epoch.
        let patterns =
            ["yyyy-MM-dd hh:mm:ss", "yyyy-MM-dd HH:mm:ss.SSS", "HH:mm", "EEEE, d MMMM yyyy 'at' h a zzzz", "dd"];
        let f = lookup("TIMESTAMP_TO_CHAR").expect("registered");
        let evals: Vec<_> = patterns
            .iter()
            .map(|p| (f.prepare)(&[SqlType::Varchar(40), SqlType::Timestamp], &[Some(&s(p)), None]).expect("prepare"))
            .collect();
        let base = parse_timestamp("2020-07-01 23:59:58.990").expect("ts");
        let offsets = [0, 0, 5, 9, 10, 1009, 1010, 9, 60_000, 60_001, -1, 86_400_000, -base, -base - 1, -base + 999];
        let cx = EvalContext::default();
        for offset in offsets {
            let ms = base + offset;
            for (pattern, eval) in patterns.iter().zip(&evals) {
                let mut expected = String::new();
                DatePattern::compile(pattern).expect("pattern").format(ms, &mut expected);
                let got = eval.eval(&[&s(pattern), &Value::Timestamp(ms)], &cx).expect("formats");
                assert_eq!(got, s(&expected), "{pattern} at {ms}");
            }
        }
    }

    #[test]
    fn the_last_text_stands_for_its_unit_and_evaluator_only() {
        let text = Text::from("2020-07-01 12:00:01");
        let mut last = LastText::NONE;
        assert!(last.get(0, 0).is_none());
        last.keep(7, 1500, 1000, &text);
        assert_eq!(last.get(7, 1000).as_deref(), Some("2020-07-01 12:00:01"));
        assert_eq!(last.get(7, 1999).as_deref(), Some("2020-07-01 12:00:01"));
        for (id, ms) in [(7, 999), (7, 2000), (8, 1500), (0, 1500)] {
            assert!(last.get(id, ms).is_none(), "{id} {ms}");
        }
        last.keep(7, -1, 1000, &text);
        assert!(last.get(7, -1000).is_some() && last.get(7, -1001).is_none() && last.get(7, 0).is_none());
        // Not kept: a text that would need memory of its own, a unit starting before the first instant.
        last.keep(9, 1500, 1000, &Text::from("Wednesday, 1 July 2020 at 12 PM UTC"));
        assert!(last.get(9, 1500).is_none());
        last.keep(9, i64::MIN, 1000, &text);
        assert!(last.get(9, i64::MIN).is_none());
        last.keep(9, i64::MAX, 1000, &text);
        assert!(last.get(9, i64::MAX - 1).is_some() && last.get(9, i64::MAX).is_none());
    }

    #[test]
    fn char_to_timestamp_reference_cases() {
        for (pattern, input, expected) in crate::datetime_format::tests::CHAR_TO_TIMESTAMP_CASES {
            assert_eq!(call("CHAR_TO_TIMESTAMP", &[s(pattern), s(input)]), Ok(ts(expected)), "{pattern}");
        }
        assert!(call("CHAR_TO_TIMESTAMP", &[s("yyyy-MM-dd"), s("2009-13-01")]).is_err());
        assert_eq!(call("CHAR_TO_DATE", &[s("yyyy-MM-dd"), s("2020-07-01")]), Ok(Value::Date(18_444)));
        assert_eq!(call("CHAR_TO_TIME", &[s("HH:mm:ss"), s("01:00:00")]), Ok(Value::Time(3_600_000)));
    }

    #[test]
    fn unix_timestamp_to_timestamp_and_tsdiff() {
        let t = ts("2020-07-01 00:00:00");
        let Value::Timestamp(ms) = t else { unreachable!() };
        assert_eq!(call("UNIX_TIMESTAMP", std::slice::from_ref(&t)), Ok(Value::Int(ms)));
        assert_eq!(call("UNIX_TIMESTAMP", &[Value::Null]), Ok(Value::Null));
        assert_eq!(call("TO_TIMESTAMP", &[Value::Int(ms)]), Ok(t.clone()));
        assert_eq!(call("TSDIFF", &[ts("2020-07-01 00:00:01"), t.clone()]), Ok(Value::Int(1000)));
        assert_eq!(call("TSDIFF", &[Value::Null, t.clone()]), Ok(Value::Null));
        assert_eq!(call("TSDIFF", &[t, Value::Null]), Ok(Value::Null));
    }

    #[test]
    fn floor_to_reference_examples_and_ceil() {
        let x = ts("2004-09-30 13:48:23");
        let floor = |u: &str| call("FLOOR_TO", &[x.clone(), s(u)]);
        assert_eq!(floor("MINUTE"), Ok(ts("2004-09-30 13:48:00")));
        assert_eq!(floor("HOUR"), Ok(ts("2004-09-30 13:00:00")));
        assert_eq!(floor("DAY"), Ok(ts("2004-09-30 00:00:00")));
        assert_eq!(floor("MONTH"), Ok(ts("2004-09-01 00:00:00")));
        assert_eq!(floor("YEAR"), Ok(ts("2004-01-01 00:00:00")));
        assert_eq!(call("CEIL_TO", &[x.clone(), s("MINUTE")]), Ok(ts("2004-09-30 13:49:00")));
        assert_eq!(call("CEIL_TO", &[x.clone(), s("MONTH")]), Ok(ts("2004-10-01 00:00:00")));
        assert_eq!(call("CEIL_TO", &[ts("2004-09-30 13:48:00"), s("MINUTE")]), Ok(ts("2004-09-30 13:48:00")));
        assert!(type_of_call("FLOOR_TO", &[x, s("FORTNIGHT")]).is_err());
        // A day-time interval floors to whole units (the console's tumbling-window template).
        assert_eq!(call("FLOOR_TO", &[Value::Interval(1_599_999), s("SECOND")]), Ok(Value::Interval(1_599_000)));
        assert_eq!(call("FLOOR_TO", &[Value::Interval(-1), s("MINUTE")]), Ok(Value::Interval(-60_000)));
        assert!(type_of_call("FLOOR_TO", &[Value::Interval(1), s("MONTH")]).is_err());
    }

    #[test]
    fn extract_and_clocks() {
        let x = ts("2004-09-30 13:48:23.5");
        let e = |u: &str, v: &Value| call("EXTRACT", &[s(u), v.clone()]);
        assert_eq!(e("YEAR", &x), Ok(Value::Int(2004)));
        assert_eq!(e("MONTH", &x), Ok(Value::Int(9)));
        assert_eq!(e("DAY", &x), Ok(Value::Int(30)));
        assert_eq!(e("HOUR", &x), Ok(Value::Int(13)));
        assert_eq!(e("MINUTE", &x), Ok(Value::Int(48)));
        let seconds = |millis: i128| Ok(Value::Decimal(Decimal { unscaled: millis, scale: 3 }));
        assert_eq!(e("SECOND", &x), seconds(23_500));
        assert_eq!(type_of_call("EXTRACT", &[s("SECOND"), x.clone()]), Ok(SECOND_TYPE));
        // [SQLREF] sql-reference-extract: on INTERVAL '2 3:4:5.678' DAY TO SECOND, DAY 2, HOUR 3, MINUTE 4,
        // SECOND 5.678; on 2016-09-23 04:29:26.234, MINUTE 29 and HOUR 4.
        let interval = Value::Interval(((2 * 24 + 3) * 60 + 4) * 60_000 + 5_678);
        assert_eq!(e("DAY", &interval), Ok(Value::Int(2)));
        assert_eq!(e("HOUR", &interval), Ok(Value::Int(3)));
        assert_eq!(e("MINUTE", &interval), Ok(Value::Int(4)));
        assert_eq!(e("SECOND", &interval), seconds(5_678));
        assert_eq!(e("SECOND", &Value::Interval(-5_678)), seconds(-5_678));
        let row_time = ts("2016-09-23 04:29:26.234");
        assert_eq!((e("MINUTE", &row_time), e("HOUR", &row_time)), (Ok(Value::Int(29)), Ok(Value::Int(4))));
        assert_eq!(e("SECOND", &Value::Null), Ok(Value::Null));
        assert_eq!(e("DOW", &x), Ok(Value::Int(5)));
        assert_eq!(e("WEEK", &x), Ok(Value::Int(40)));
        assert_eq!(e("HOUR", &Value::Interval(93_600_000)), Ok(Value::Int(2)));
        assert_eq!(e("YEAR", &Value::Null), Ok(Value::Null));
        assert!(type_of_call("EXTRACT", &[s("CENTURY"), x]).is_err());
        let cx = EvalContext { row_time_ms: 5, query_start_ms: 86_400_000 + 1000, now_ms: 7 };
        assert_eq!(call_cx("CURRENT_TIMESTAMP", &[], &cx), Ok(Value::Timestamp(86_401_000)));
        assert_eq!(call_cx("CURRENT_ROW_TIMESTAMP", &[], &cx), Ok(Value::Timestamp(7)));
        assert_eq!(call_cx("CURRENT_DATE", &[], &cx), Ok(Value::Date(1)));
        assert_eq!(call_cx("LOCALTIME", &[], &cx), Ok(Value::Time(1000)));
    }

    /// Measures TIMESTAMP_TO_CHAR with a constant pattern: `cargo test -p sluice-sql --release -- --ignored
    /// timestamp_to_char_speed --nocapture`.
    #[test]
    #[ignore]
    fn timestamp_to_char_speed() {
        let f = lookup("TIMESTAMP_TO_CHAR").expect("registered");
        let pattern = s("yyyy-MM-dd hh:mm:ss");
        let eval = (f.prepare)(&[SqlType::Varchar(19), SqlType::Timestamp], &[Some(&pattern), None]).expect("prepare");
        let cx = EvalContext::default();
        let start_ms = parse_timestamp("2020-07-01 00:00:00").expect("ts");
        let n = 2_000_000i64;
        let mut args = [pattern.clone(), Value::Null];
        let mut total = 0usize;
        let started = std::time::Instant::now();
        for i in 0..n {
            args[1] = Value::Timestamp(start_ms + i * 10);
            if let Ok(Value::String(s)) = eval.eval(&[&args[0], &args[1]], &cx) {
                total += s.len();
            }
        }
        let elapsed = started.elapsed();
        println!("TIMESTAMP_TO_CHAR, 10 ms apart: {:.1} ns/call ({total} bytes)", elapsed.as_nanos() as f64 / n as f64);
        let started = std::time::Instant::now();
        for i in 0..n {
            args[1] = Value::Timestamp(start_ms + i * 1000);
            if let Ok(Value::String(s)) = eval.eval(&[&args[0], &args[1]], &cx) {
                total += s.len();
            }
        }
        let elapsed = started.elapsed();
        println!("TIMESTAMP_TO_CHAR, 1 s apart: {:.1} ns/call ({total} bytes)", elapsed.as_nanos() as f64 / n as f64);
    }
}
