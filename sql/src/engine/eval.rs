//! Bound expressions: the planner's output, evaluated per row with no name lookups left.

use std::cmp::Ordering;

use crate::cast::cast;
use crate::error::SqlError;
use crate::functions::{EvalContext, ScalarEval};
use crate::operator::{BinaryOp, UnaryOp};
use crate::ops;
use crate::types::SqlType;
use crate::value::Value;

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
