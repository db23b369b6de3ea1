//! Bound expressions: the planner's output, evaluated per row with no name lookups left.

use std::cmp::Ordering;

use crate::cast::cast;
use crate::error::SqlError;
use crate::functions::{EvalContext, ScalarEval};
use crate::operator::{BinaryOp, TimeUnit, UnaryOp};
use crate::ops;
use crate::types::SqlType;
use crate::value::{Decimal, Value};

/// An expression with every name resolved: columns are indexes into the row, functions are prepared.
pub(crate) enum Bound {
    /// A constant.
    Literal(Value),
    /// The row's column at this index.
    Column(usize),
    /// The row's ROWTIME.
    RowTime,
    /// Field `index` of a row value (`t.r."COL_1"`).
    Field(Box<Bound>, usize),
    /// `-x`, `NOT x`.
    Unary(UnaryOp, Box<Bound>),
    /// `a + b`, `a AND b`, ...
    Binary(BinaryOp, Box<Bound>, Box<Bound>),
    /// A scalar function, prepared once.
    Call(Box<dyn ScalarEval>, Vec<Bound>),
    /// `CAST(x AS t)`: from, to.
    Cast(Box<Bound>, SqlType, SqlType),
    /// `x IS [NOT] NULL` (true: NOT NULL).
    IsNull(Box<Bound>, bool),
    /// `CASE [operand] WHEN .. THEN .. ELSE .. END`.
    Case { operand: Option<Box<Bound>>, whens: Vec<(Bound, Bound)>, otherwise: Option<Box<Bound>> },
    /// `x [NOT] IN (list)` (true: NOT IN).
    InList(Box<Bound>, Vec<Bound>, bool),
    /// `x [NOT] BETWEEN a AND b` (true: NOT).
    Between(Box<Bound>, Box<Bound>, Box<Bound>, bool),
    /// `x [NOT] LIKE p [ESCAPE e]` or `SIMILAR TO`.
    Like { expr: Box<Bound>, pattern: Box<Bound>, escape: Option<Box<Bound>>, similar: bool, negated: bool },
    /// `(a - b) <qualifier>`: the difference of two datetimes as a day-time interval, truncated to the
    /// qualifier's last field.
    DatetimeMinus(Box<Bound>, Box<Bound>, Qualifier),
    /// `CAST(interval AS ...)` to CHAR/VARCHAR or a number: written or counted in the interval's fields.
    IntervalCast(Box<Bound>, Qualifier, SqlType),
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Literal(v) => write!(f, "{v:?}"),
            Bound::Column(i) => write!(f, "#{i}"),
            Bound::RowTime => f.write_str("ROWTIME"),
            Bound::Field(b, i) => write!(f, "{b:?}.{i}"),
            Bound::Unary(op, b) => write!(f, "{op:?}({b:?})"),
            Bound::Binary(op, a, b) => write!(f, "{op:?}({a:?}, {b:?})"),
            Bound::Call(_, args) => write!(f, "call({args:?})"),
            Bound::Cast(b, _, to) => write!(f, "CAST({b:?} AS {to})"),
            Bound::IsNull(b, not) => write!(f, "{b:?} IS {}NULL", if *not { "NOT " } else { "" }),
            Bound::Case { .. } => f.write_str("CASE"),
            Bound::InList(b, list, _) => write!(f, "{b:?} IN {list:?}"),
            Bound::Between(b, lo, hi, _) => write!(f, "{b:?} BETWEEN {lo:?} AND {hi:?}"),
            Bound::Like { expr, pattern, .. } => write!(f, "{expr:?} LIKE {pattern:?}"),
            Bound::DatetimeMinus(a, b, q) => write!(f, "({a:?} - {b:?}) {q}"),
            Bound::IntervalCast(b, q, to) => write!(f, "CAST({b:?} {q} AS {to})"),
        }
    }
}

/// What an expression reads: the row's values and its ROWTIME.
pub(crate) struct RowRef<'a> {
    pub values: &'a [Value],
    pub rowtime: i64,
}

fn truth(value: &Value) -> Option<bool> {
    match value {
        Value::Boolean(b) => Some(*b),
        _ => None,
    }
}

impl Bound {
    /// Evaluates against `row`; a failure (division by zero, a failed cast) is the row's error.
    pub(crate) fn eval(&self, row: &RowRef<'_>, cx: &EvalContext) -> Result<Value, SqlError> {
        Ok(match self {
            Bound::Literal(v) => v.clone(),
            Bound::Column(i) => row.values.get(*i).cloned().unwrap_or(Value::Null),
            Bound::RowTime => Value::Timestamp(row.rowtime),
            // A field of a column (`t.r."COL_1"`): read in place, without cloning the row value.
            Bound::Field(inner, i) if matches!(**inner, Bound::Column(_)) => {
                let Bound::Column(column) = **inner else { return Ok(Value::Null) };
                match row.values.get(column) {
                    Some(Value::Row(fields)) => fields.get(*i).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                }
            }
            Bound::Field(inner, i) => match inner.eval(row, cx)? {
                Value::Row(fields) => fields.get(*i).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            },
            Bound::Unary(op, inner) => ops::unary(*op, &inner.eval(row, cx)?)?,
            Bound::Binary(op, a, b) => {
                let left = a.eval(row, cx)?;
                // Short-circuit where three-valued logic allows it.
                match (op, truth(&left)) {
                    (BinaryOp::And, Some(false)) => return Ok(Value::Boolean(false)),
                    (BinaryOp::Or, Some(true)) => return Ok(Value::Boolean(true)),
                    _ => {}
                }
                ops::binary(*op, &left, &b.eval(row, cx)?)?
            }
            // Arguments on the stack for the usual arities: no allocation per call.
            Bound::Call(function, args) => match args.len() {
                0 => function.eval(&[], cx)?,
                1 => function.eval(&eval_args::<1>(args, row, cx)?, cx)?,
                2 => function.eval(&eval_args::<2>(args, row, cx)?, cx)?,
                3 => function.eval(&eval_args::<3>(args, row, cx)?, cx)?,
                4 => function.eval(&eval_args::<4>(args, row, cx)?, cx)?,
                _ => {
                    let values = args.iter().map(|a| a.eval(row, cx)).collect::<Result<Vec<_>, _>>()?;
                    function.eval(&values, cx)?
                }
            },
            Bound::Cast(inner, from, to) => cast(&inner.eval(row, cx)?, from, to)?,
            Bound::IsNull(inner, not) => Value::Boolean(inner.eval(row, cx)?.is_null() != *not),
            Bound::Case { operand, whens, otherwise } => {
                let subject = operand.as_ref().map(|o| o.eval(row, cx)).transpose()?;
                for (when, then) in whens {
                    let candidate = when.eval(row, cx)?;
                    let hit = match &subject {
                        Some(subject) => ops::compare(subject, &candidate) == Some(Ordering::Equal),
                        None => truth(&candidate) == Some(true),
                    };
                    if hit {
                        return then.eval(row, cx);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(row, cx)?,
                    None => Value::Null,
                }
            }
            Bound::InList(inner, list, not) => {
                let subject = inner.eval(row, cx)?;
                if subject.is_null() {
                    return Ok(Value::Null);
                }
                let mut saw_null = false;
                for item in list {
                    let candidate = item.eval(row, cx)?;
                    saw_null |= candidate.is_null();
                    if ops::compare(&subject, &candidate) == Some(Ordering::Equal) {
                        return Ok(Value::Boolean(!*not));
                    }
                }
                if saw_null { Value::Null } else { Value::Boolean(*not) }
            }
            Bound::Like { expr, pattern, escape, similar, negated } => {
                let (text, pattern) = (expr.eval(row, cx)?, pattern.eval(row, cx)?);
                let escape = escape.as_ref().map(|e| e.eval(row, cx)).transpose()?;
                let (Value::String(text), Value::String(pattern)) = (&text, &pattern) else { return Ok(Value::Null) };
                let escape = match &escape {
                    None => None,
                    Some(Value::String(e)) => e.chars().next(),
                    Some(_) => return Ok(Value::Null),
                };
                let hit =
                    if *similar { ops::similar_to(text, pattern, escape)? } else { ops::like(text, pattern, escape)? };
                Value::Boolean(hit != *negated)
            }
            Bound::Between(inner, low, high, not) => {
                let (v, lo, hi) = (inner.eval(row, cx)?, low.eval(row, cx)?, high.eval(row, cx)?);
                match (ops::compare(&v, &lo), ops::compare(&v, &hi)) {
                    (Some(a), Some(b)) => Value::Boolean((a != Ordering::Less && b != Ordering::Greater) != *not),
                    _ => Value::Null,
                }
            }
            Bound::DatetimeMinus(a, b, qualifier) => {
                match ops::binary(BinaryOp::Subtract, &a.eval(row, cx)?, &b.eval(row, cx)?)? {
                    Value::Interval(ms) => Value::Interval(qualifier.truncate(ms)),
                    other => other, // NULL
                }
            }
            Bound::IntervalCast(inner, qualifier, to) => match inner.eval(row, cx)? {
                Value::Interval(ms) => qualifier.cast(ms, to)?,
                other => cast(&other, &SqlType::IntervalDayTime, to)?,
            },
        })
    }
}

/// Evaluates `N` arguments (`args.len() == N`) in order into an array.
fn eval_args<const N: usize>(args: &[Bound], row: &RowRef<'_>, cx: &EvalContext) -> Result<[Value; N], SqlError> {
    let mut values = [const { Value::Null }; N];
    for (slot, arg) in values.iter_mut().zip(args) {
        *slot = arg.eval(row, cx)?;
    }
    Ok(values)
}

/// A day-time interval qualifier: its leading and trailing fields (`MINUTE TO SECOND`; `SECOND` alone is
/// `SECOND TO SECOND`). Values stay milliseconds; the qualifier decides how a datetime difference is truncated
/// and how an interval is written or counted by CAST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Qualifier {
    pub leading: TimeUnit,
    pub trailing: TimeUnit,
}

/// Milliseconds in one `unit` of a day-time interval.
fn unit_ms(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Day => 86_400_000,
        TimeUnit::Hour => 3_600_000,
        TimeUnit::Minute => 60_000,
        _ => 1_000,
    }
}

/// How significant a day-time field is (DAY is the most).
fn rank(unit: TimeUnit) -> u8 {
    match unit {
        TimeUnit::Year | TimeUnit::Month | TimeUnit::Day => 0,
        TimeUnit::Hour => 1,
        TimeUnit::Minute => 2,
        TimeUnit::Second | TimeUnit::Millisecond => 3,
    }
}

impl Qualifier {
    /// `DAY TO SECOND`: what an interval whose qualifier is not known is written as.
    pub const DAY_TO_SECOND: Qualifier = Qualifier { leading: TimeUnit::Day, trailing: TimeUnit::Second };

    /// The qualifier `leading [TO trailing]`, or a message when it is not a day-time qualifier running from a
    /// larger field to a smaller one.
    pub fn new(leading: TimeUnit, trailing: Option<TimeUnit>) -> Result<Qualifier, String> {
        let day_time = |u: TimeUnit| matches!(u, TimeUnit::Day | TimeUnit::Hour | TimeUnit::Minute | TimeUnit::Second);
        let shown = match trailing {
            Some(t) => format!("{} TO {}", leading.keyword(), t.keyword()),
            None => leading.keyword().to_owned(),
        };
        if !day_time(leading) || !trailing.is_none_or(day_time) {
            return Err(format!("{shown}: a datetime difference is a day-time interval (DAY, HOUR, MINUTE, SECOND)"));
        }
        if trailing.is_some_and(|t| rank(t) <= rank(leading)) {
            return Err(format!("{shown}: the trailing field must be smaller than the leading one (DAY TO SECOND)"));
        }
        Ok(Qualifier { leading, trailing: trailing.unwrap_or(leading) })
    }

    /// The smallest qualifier covering both (`DAY` and `HOUR TO MINUTE` give `DAY TO MINUTE`), as the result of
    /// adding two intervals.
    pub fn union(self, other: Qualifier) -> Qualifier {
        let leading = if rank(other.leading) < rank(self.leading) { other.leading } else { self.leading };
        let trailing = if rank(other.trailing) > rank(self.trailing) { other.trailing } else { self.trailing };
        Qualifier { leading, trailing }
    }

    /// Whether it has a single field (`SECOND`), as CAST to a number needs.
    pub fn single_field(self) -> bool {
        self.leading == self.trailing
    }

    /// `ms` truncated toward zero to a whole number of the trailing field (SECOND keeps milliseconds).
    pub fn truncate(self, ms: i64) -> i64 {
        if self.trailing == TimeUnit::Second {
            return ms; // Seconds keep their fraction: TIMESTAMPs have milliseconds.
        }
        let unit = unit_ms(self.trailing);
        ms / unit * unit
    }

    /// CAST of the interval `ms` to a string (its fields, as KDA writes them: `+6:11` for 371 seconds as
    /// MINUTE TO SECOND) or to a number (how many of its single field it holds: 371 as SECOND).
    pub fn cast(self, ms: i64, to: &SqlType) -> Result<Value, SqlError> {
        if let SqlType::Char(n) | SqlType::Varchar(n) = to {
            let mut text = String::new();
            self.write(ms, &mut text);
            // As for every non-string value, text that does not fit is an error, not cut ([SQLREF] sql-reference-cast).
            if text.chars().count() > *n as usize {
                return Err(SqlError::data(format!("INTERVAL '{text}' {self} does not fit {to}")));
            }
            return crate::cast::fit(Value::String(text.into()), to);
        }
        let unit = unit_ms(self.leading);
        let count = if self.leading == TimeUnit::Second && ms % 1000 != 0 {
            Value::Decimal(Decimal { unscaled: i128::from(ms), scale: 3 })
        } else {
            Value::Int(ms / unit)
        };
        let from = crate::cast::type_of(&count);
        cast(&count, &from, to)
    }

    /// Writes `ms` with a sign, the leading field unpadded, the others on two digits (a space after DAY, colons
    /// between the rest) and milliseconds after SECOND when there are any: `+3 04:20`, `-0:05.250`, `+371`.
    pub fn write(self, ms: i64, out: &mut String) {
        use std::fmt::Write;
        let ms = self.truncate(ms);
        out.push(if ms < 0 { '-' } else { '+' });
        let ms = ms.unsigned_abs();
        let units = [TimeUnit::Day, TimeUnit::Hour, TimeUnit::Minute, TimeUnit::Second];
        let mut rest = ms;
        for unit in units.into_iter().filter(|u| (rank(self.leading)..=rank(self.trailing)).contains(&rank(*u))) {
            let size = unit_ms(unit).unsigned_abs();
            let count = rest / size;
            rest %= size;
            let _ = if unit == self.leading {
                write!(out, "{count}")
            } else {
                out.push(if unit == TimeUnit::Hour { ' ' } else { ':' });
                write!(out, "{count:02}")
            };
        }
        if self.trailing == TimeUnit::Second && rest > 0 {
            let _ = write!(out, ".{rest:03}");
        }
    }
}

impl std::fmt::Display for Qualifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.single_field() {
            f.write_str(self.leading.keyword())
        } else {
            write!(f, "{} TO {}", self.leading.keyword(), self.trailing.keyword())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(leading: TimeUnit, trailing: Option<TimeUnit>) -> Qualifier {
        Qualifier::new(leading, trailing).expect("a qualifier")
    }

    fn written(q: Qualifier, ms: i64) -> String {
        let mut out = String::new();
        q.write(ms, &mut out);
        out
    }

    #[test]
    fn qualifiers_run_from_a_larger_field_to_a_smaller_one() {
        use TimeUnit::*;
        assert_eq!(q(Minute, Some(Second)).to_string(), "MINUTE TO SECOND");
        assert_eq!(q(Second, None).to_string(), "SECOND");
        assert!(Qualifier::new(Second, Some(Minute)).is_err());
        assert!(Qualifier::new(Hour, Some(Hour)).is_err());
        assert!(Qualifier::new(Year, None).is_err());
        assert!(Qualifier::new(Day, Some(Month)).is_err());
        assert_eq!(q(Day, None).union(q(Hour, Some(Minute))), q(Day, Some(Minute)));
        assert_eq!(q(Second, None).union(q(Minute, None)), q(Minute, Some(Second)));
    }

    #[test]
    fn intervals_are_written_in_their_fields_and_truncated_toward_zero() {
        use TimeUnit::*;
        let ms = ((26 * 60 + 3) * 60 + 4) * 1000 + 500; // 1 day 02:03:04.500
        assert_eq!(written(q(Day, Some(Second)), ms), "+1 02:03:04.500");
        assert_eq!(written(q(Day, Some(Second)), 0), "+0 00:00:00");
        assert_eq!(written(q(Hour, Some(Minute)), -ms), "-26:03");
        assert_eq!(written(q(Minute, None), -119_999), "-1");
        assert_eq!(written(q(Hour, Some(Minute)), -59_999), "+0:00", "the sign of what is kept");
        assert_eq!(written(q(Second, None), 5_250), "+5.250");
        assert_eq!(written(q(Second, None), -50), "-0.050");
        assert_eq!(q(Minute, None).truncate(-119_999), -60_000);
        assert_eq!(q(Second, None).truncate(-1_999), -1_999);
        assert_eq!(written(q(Day, None), i64::MIN), "-106751991167");
    }

    #[test]
    fn casts_count_the_single_field_or_write_the_text() {
        use TimeUnit::*;
        assert_eq!(q(Minute, None).cast(371_000, &SqlType::BigInt), Ok(Value::Int(6)));
        assert_eq!(q(Second, None).cast(-1_500, &SqlType::BigInt), Ok(Value::Int(-2)));
        let decimal = SqlType::Decimal { precision: 6, scale: 3 };
        assert_eq!(q(Second, None).cast(1_500, &decimal), Ok(Value::Decimal(Decimal { unscaled: 1_500, scale: 3 })));
        assert_eq!(q(Minute, Some(Second)).cast(371_000, &SqlType::Char(6)), Ok(Value::string("+6:11 ")));
        assert!(q(Minute, Some(Second)).cast(371_000, &SqlType::Varchar(4)).is_err());
    }
}
