//! Numeric functions: ABS, CEIL/CEILING, FLOOR, EXP, LN, LOG10, MOD, POWER and STEP (numeric and datetime).
//!
//! ABS, CEIL and FLOOR keep their argument's type (DECIMAL loses its scale); EXP, LN, LOG10 and POWER compute in
//! DOUBLE; LN and LOG10 of a number that is not positive is a data error. MOD takes exact numbers and follows the
//! dividend's sign, as Java's `%` does. STEP(x BY w) floors x to a multiple of w counted from 0 (numbers) or from
//! 1970-01-01 00:00:00 (TIMESTAMP, DATE, TIME by a day-time INTERVAL; TIMESTAMP and DATE by a year-month one).

use super::{ScalarFunction, check_arity, numeric, strict};
use crate::error::SqlError;
use crate::operator::BinaryOp;
use crate::ops::{self, rescale, to_f64};
use crate::types::SqlType;
use crate::value::{Decimal, Value};

const MS_PER_DAY: i64 = 86_400_000;

pub(super) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction { name: "ABS", return_type: same_numeric, prepare: |_, _| Ok(strict(abs)) },
    ScalarFunction { name: "CEIL", return_type: rounded_type, prepare: |_, _| Ok(strict(|a| round(a[0], true))) },
    ScalarFunction { name: "CEILING", return_type: rounded_type, prepare: |_, _| Ok(strict(|a| round(a[0], true))) },
    ScalarFunction { name: "FLOOR", return_type: rounded_type, prepare: |_, _| Ok(strict(|a| round(a[0], false))) },
    ScalarFunction { name: "EXP", return_type: double_of_one, prepare: |_, _| Ok(strict(|a| double(a, f64::exp))) },
    ScalarFunction { name: "LN", return_type: double_of_one, prepare: |_, _| Ok(strict(|a| log(a, f64::ln))) },
    ScalarFunction { name: "LOG10", return_type: double_of_one, prepare: |_, _| Ok(strict(|a| log(a, f64::log10))) },
    ScalarFunction { name: "POWER", return_type: power_type, prepare: |_, _| Ok(strict(power)) },
    ScalarFunction {
        name: "MOD",
        return_type: mod_type,
        prepare: |_, _| Ok(strict(|a| ops::binary(BinaryOp::Modulo, a[0], a[1]))),
    },
    ScalarFunction { name: "STEP", return_type: step_type, prepare: |_, _| Ok(strict(|a| step(a[0], a[1]))) },
];

fn one_numeric(args: &[SqlType]) -> Result<(), String> {
    check_arity("the function", args, 1, 1)?;
    if numeric(&args[0]) { Ok(()) } else { Err(format!("expected a number, not {}", args[0])) }
}

fn same_numeric(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    one_numeric(args)?;
    Ok(args[0].clone())
}

fn rounded_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    one_numeric(args)?;
    Ok(match &args[0] {
        SqlType::Decimal { precision, .. } => SqlType::Decimal { precision: *precision, scale: 0 },
        t => t.clone(),
    })
}

fn double_of_one(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    one_numeric(args)?;
    Ok(SqlType::Double)
}

fn power_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("POWER", args, 2, 2)?;
    if args.iter().all(numeric) { Ok(SqlType::Double) } else { Err("POWER takes two numbers".into()) }
}

fn mod_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("MOD", args, 2, 2)?;
    let exact = |t: &SqlType| t.is_integer() || matches!(t, SqlType::Decimal { .. } | SqlType::Null);
    if !args.iter().all(exact) {
        return Err(format!("MOD takes exact numbers, not {} and {}", args[0], args[1]));
    }
    ops::binary_type(BinaryOp::Modulo, &args[0], &args[1])
}

fn abs(a: &[&Value]) -> Result<Value, SqlError> {
    match &a[0] {
        Value::Int(i) => i.checked_abs().map(Value::Int).ok_or_else(|| SqlError::data("numeric overflow")),
        Value::Double(d) => Ok(Value::Double(d.abs())),
        Value::Decimal(d) => Ok(Value::Decimal(Decimal { unscaled: d.unscaled.abs(), scale: d.scale })),
        other => Err(SqlError::data(format!("ABS of {}", ops::kind(other)))),
    }
}

fn round(v: &Value, up: bool) -> Result<Value, SqlError> {
    match v {
        Value::Int(_) => Ok(v.clone()),
        Value::Double(d) => Ok(Value::Double(if up { d.ceil() } else { d.floor() })),
        Value::Decimal(d) => {
            let p = 10i128.pow(u32::from(d.scale));
            let (q, r) = (d.unscaled.div_euclid(p), d.unscaled.rem_euclid(p));
            Ok(Value::Decimal(Decimal { unscaled: if up && r != 0 { q + 1 } else { q }, scale: 0 }))
        }
        other => Err(SqlError::data(format!("cannot round {}", ops::kind(other)))),
    }
}

fn double(a: &[&Value], f: fn(f64) -> f64) -> Result<Value, SqlError> {
    to_f64(a[0]).map(|x| Value::Double(f(x))).ok_or_else(|| SqlError::data("expected a number"))
}

fn log(a: &[&Value], f: fn(f64) -> f64) -> Result<Value, SqlError> {
    match to_f64(a[0]) {
        Some(x) if x > 0.0 => Ok(Value::Double(f(x))),
        Some(x) => Err(SqlError::data(format!("cannot take the logarithm of {x}"))),
        None => Err(SqlError::data("expected a number")),
    }
}

fn power(a: &[&Value]) -> Result<Value, SqlError> {
    match (to_f64(a[0]), to_f64(a[1])) {
        (Some(x), Some(y)) => Ok(Value::Double(x.powf(y))),
        _ => Err(SqlError::data("POWER takes two numbers")),
    }
}

fn step_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("STEP", args, 2, 2)?;
    match (&args[0], &args[1]) {
        (x, w) if numeric(x) && numeric(w) => Ok(if *x == SqlType::Null { w.clone() } else { x.clone() }),
        (x @ (SqlType::Timestamp | SqlType::Date | SqlType::Time | SqlType::Null), SqlType::IntervalDayTime)
        | (x @ (SqlType::Timestamp | SqlType::Date | SqlType::Null), SqlType::IntervalYearMonth) => {
            Ok(if *x == SqlType::Null { SqlType::Timestamp } else { x.clone() })
        }
        (x, w) => Err(format!("STEP takes a number BY a number or a datetime BY an INTERVAL, not {x} BY {w}")),
    }
}

/// STEP(x BY width): x floored to a multiple of `width` from the epoch (or from zero for numbers).
pub fn step(x: &Value, width: &Value) -> Result<Value, SqlError> {
    let bad_width = || SqlError::data("STEP's width must be positive");
    let floor_to = |v: i64, w: i64| if w > 0 { Ok(v.div_euclid(w) * w) } else { Err(bad_width()) };
    match (x, width) {
        (Value::Int(v), Value::Int(w)) => floor_to(*v, *w).map(Value::Int),
        (Value::Timestamp(t), Value::Interval(w)) => floor_to(*t, *w).map(Value::Timestamp),
        (Value::Date(d), Value::Interval(w)) => {
            let ms = floor_to(i64::from(*d) * MS_PER_DAY, *w)?;
            Ok(Value::Date(ms.div_euclid(MS_PER_DAY) as i32))
        }
        (Value::Time(t), Value::Interval(w)) => floor_to(i64::from(*t), *w).map(|t| Value::Time(t as i32)),
        (Value::Timestamp(_) | Value::Date(_), Value::IntervalMonths(w)) => {
            let w = i64::from(*w);
            let floored = floor_to(months_since_epoch(x), w)?;
            let ts = ops::add_months(&Value::Timestamp(0), floored)?;
            Ok(match x {
                Value::Date(_) => crate::cast::cast(&ts, &SqlType::Timestamp, &SqlType::Date)?,
                _ => ts,
            })
        }
        (Value::Decimal(_) | Value::Int(_), Value::Decimal(_) | Value::Int(_)) => {
            let (a, b) = (ops::to_decimal(x), ops::to_decimal(width));
            let (Some(a), Some(b)) = (a, b) else { return Err(bad_width()) };
            let scale = a.scale.max(b.scale);
            let (a, b) = (rescale(a, scale), rescale(b, scale));
            let (Some(a), Some(b)) = (a, b) else { return Err(SqlError::data("numeric overflow")) };
            if b.unscaled <= 0 {
                return Err(bad_width());
            }
            Ok(Value::Decimal(Decimal { unscaled: a.unscaled.div_euclid(b.unscaled) * b.unscaled, scale }))
        }
        _ => match (to_f64(x), to_f64(width)) {
            (Some(v), Some(w)) if w > 0.0 => Ok(Value::Double((v / w).floor() * w)),
            (Some(_), Some(_)) => Err(bad_width()),
            _ => Err(SqlError::data(format!("cannot STEP {} BY {}", ops::kind(x), ops::kind(width)))),
        },
    }
}

fn months_since_epoch(v: &Value) -> i64 {
    let days = match v {
        Value::Timestamp(t) => t.div_euclid(MS_PER_DAY),
        Value::Date(d) => i64::from(*d),
        _ => 0,
    };
    let (y, m, _) = crate::literal::civil_from_days(days);
    (y - 1970) * 12 + i64::from(m) - 1
}

#[cfg(test)]
mod tests {
    use super::super::test_support::call;
    use super::*;
    use crate::literal::parse_timestamp;

    fn ts(text: &str) -> Value {
        Value::Timestamp(parse_timestamp(text).expect("timestamp"))
    }

    #[test]
    fn step_reference_examples() {
        assert_eq!(call("STEP", &[Value::Int(23), Value::Int(5)]), Ok(Value::Int(20)));
        assert_eq!(call("STEP", &[Value::Int(30), Value::Int(10)]), Ok(Value::Int(30)));
        assert_eq!(call("STEP", &[Value::Null, Value::Int(10)]), Ok(Value::Null));
        assert_eq!(
            call("STEP", &[ts("2020-07-01 00:01:59.990"), Value::Interval(60_000)]),
            Ok(ts("2020-07-01 00:01:00"))
        );
        assert_eq!(call("STEP", &[ts("2020-07-01 00:01:59"), Value::Interval(10_000)]), Ok(ts("2020-07-01 00:01:50")));
        assert_eq!(call("STEP", &[ts("2020-08-15 10:00:00"), Value::IntervalMonths(3)]), Ok(ts("2020-07-01 00:00:00")));
        assert!(call("STEP", &[Value::Int(3), Value::Int(0)]).is_err());
    }

    #[test]
    fn floors_ceilings_and_the_rest() {
        assert_eq!(call("FLOOR", &[Value::Double(-3.3)]), Ok(Value::Double(-4.0)));
        assert_eq!(call("FLOOR", &[Value::Double(3.3)]), Ok(Value::Double(3.0)));
        assert_eq!(call("CEIL", &[Value::Double(-3.3)]), Ok(Value::Double(-3.0)));
        assert_eq!(
            call("CEILING", &[Value::Decimal(Decimal { unscaled: 331, scale: 2 })]),
            Ok(Value::Decimal(Decimal { unscaled: 4, scale: 0 }))
        );
        assert_eq!(
            call("FLOOR", &[Value::Decimal(Decimal { unscaled: -331, scale: 2 })]),
            Ok(Value::Decimal(Decimal { unscaled: -4, scale: 0 }))
        );
        assert_eq!(call("ABS", &[Value::Int(-4)]), Ok(Value::Int(4)));
        assert_eq!(call("MOD", &[Value::Int(-7), Value::Int(3)]), Ok(Value::Int(-1)));
        assert!(call("MOD", &[Value::Int(7), Value::Int(0)]).is_err());
        assert_eq!(call("POWER", &[Value::Int(2), Value::Int(10)]), Ok(Value::Double(1024.0)));
        assert_eq!(call("LOG10", &[Value::Int(1000)]), Ok(Value::Double(3.0)));
        assert_eq!(call("LN", &[Value::Double(1.0)]), Ok(Value::Double(0.0)));
        assert_eq!(call("EXP", &[Value::Int(0)]), Ok(Value::Double(1.0)));
        assert!(call("LN", &[Value::Int(0)]).is_err());
    }
}
