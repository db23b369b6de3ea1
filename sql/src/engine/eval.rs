//! Bound expressions: the planner's output, evaluated per row with no name lookups left.

use std::cmp::Ordering;

use crate::cast::cast;
use crate::error::SqlError;
use crate::functions::{EvalContext, Evaluated, ScalarEval};
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
    /// A scalar function, prepared once (built by [`Bound::call`]), and its arguments.
    Call(Callee, Vec<Bound>),
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

/// The function of a [`Bound::Call`].
pub(crate) struct Callee {
    function: Box<dyn ScalarEval>,
    /// Every argument is a constant or a column: they are passed where they lie, with no slots for computed
    /// values.
    in_place: bool,
    /// The function's result is a part of an argument's text (see [`Bound::text_operand`]).
    part: bool,
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

/// NULL, for a column index past the end of a row (borrowed, as a column is).
static NULL: Value = Value::Null;

/// Calls `$f` on each operand of the node `$bound` (not deeper), taking lists' items with `$iter` (`iter` or
/// `iter_mut`): the one match behind [`Bound::for_each_child`] and [`Bound::for_each_child_mut`].
macro_rules! each_operand {
    ($bound:expr, $f:ident, $iter:ident) => {
        match $bound {
            Bound::Literal(_) | Bound::Column(_) | Bound::RowTime => {}
            Bound::Field(inner, _)
            | Bound::Unary(_, inner)
            | Bound::Cast(inner, ..)
            | Bound::IsNull(inner, _)
            | Bound::IntervalCast(inner, ..) => $f(inner),
            Bound::Binary(_, a, b) | Bound::DatetimeMinus(a, b, _) => {
                $f(a);
                $f(b);
            }
            Bound::Call(_, args) => args.$iter().for_each(|arg| $f(arg)),
            Bound::Case { operand, whens, otherwise } => {
                operand.$iter().for_each(|o| $f(o));
                for (when, then) in whens {
                    $f(when);
                    $f(then);
                }
                otherwise.$iter().for_each(|o| $f(o));
            }
            Bound::InList(inner, list, _) => {
                $f(inner);
                list.$iter().for_each(|item| $f(item));
            }
            Bound::Between(inner, low, high, _) => {
                $f(inner);
                $f(low);
                $f(high);
            }
            Bound::Like { expr, pattern, escape, .. } => {
                $f(expr);
                $f(pattern);
                escape.$iter().for_each(|e| $f(e));
            }
        }
    };
}

impl Bound {
    /// A call of `function` on `args`.
    pub(crate) fn call(function: Box<dyn ScalarEval>, args: Vec<Bound>) -> Bound {
        let in_place = args.iter().all(|a| matches!(a, Bound::Literal(_) | Bound::Column(_)));
        // A part's source is evaluated first: any argument before it must be one that cannot fail.
        let part = function.text_part().is_some_and(|p| {
            p.source() < args.len()
                && args[..p.source()].iter().all(|a| matches!(a, Bound::Literal(_) | Bound::Column(_)))
        }) && args.len() <= MAX_PART_ARGS;
        Bound::Call(Callee { function, in_place, part }, args)
    }

    /// Evaluates against `row`; a failure (division by zero, a failed cast) is the row's error.
    pub(crate) fn eval(&self, row: &RowRef<'_>, cx: &EvalContext) -> Result<Value, SqlError> {
        // A field of a column (`t.r."COL_1"`, as a log parser's row is read) is a copy: read it right here.
        if let Bound::Field(inner, i) = self
            && let Bound::Column(column) = **inner
        {
            return Ok(field_of(row.values.get(column).unwrap_or(&NULL), *i).clone());
        }
        self.value(row, cx).map_err(|e| *e)
    }

    /// This node's value, read in place when it is a constant or a column (no clone; inlined, as most operands
    /// are one of these); any other node is computed into `slot`.
    #[inline(always)]
    fn operand<'v>(
        &'v self,
        row: &'v RowRef<'_>,
        cx: &EvalContext,
        slot: &'v mut Value,
    ) -> Result<&'v Value, Box<SqlError>> {
        match self {
            Bound::Literal(v) => Ok(v),
            Bound::Column(i) => Ok(row.values.get(*i).unwrap_or(&NULL)),
            _ => {
                *slot = self.value(row, cx)?;
                Ok(slot)
            }
        }
    }

    /// This node's value (see [`Bound::eval`]).
    fn value(&self, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
        // A dispatch only: each kind of node is evaluated in a function of its own, so that this one, which every
        // node goes through, keeps a small frame.
        match self {
            Bound::Literal(v) => Ok(v.clone()),
            Bound::Column(i) => Ok(row.values.get(*i).cloned().unwrap_or(Value::Null)),
            Bound::RowTime => Ok(Value::Timestamp(row.rowtime)),
            Bound::Field(inner, i) => field(inner, *i, row, cx),
            Bound::Unary(op, inner) => unary(*op, inner, row, cx),
            Bound::Binary(op, a, b) => binary(*op, a, b, row, cx),
            Bound::Call(Callee { function, in_place: true, .. }, args) => call_in_place(&**function, args, row, cx),
            Bound::Call(Callee { function, in_place: false, .. }, args) => call(&**function, args, row, cx),
            Bound::Cast(inner, from, to) => cast_to(inner, from, to, row, cx),
            Bound::IsNull(inner, not) => is_null(inner, *not, row, cx),
            Bound::Case { operand, whens, otherwise } => case(operand.as_deref(), whens, otherwise.as_deref(), row, cx),
            Bound::InList(inner, list, not) => in_list(inner, list, *not, row, cx),
            Bound::Like { expr, pattern, escape, similar, negated } => {
                like(expr, pattern, escape.as_deref(), *similar, *negated, row, cx)
            }
            Bound::Between(inner, low, high, not) => between(inner, low, high, *not, row, cx),
            Bound::DatetimeMinus(a, b, qualifier) => datetime_minus(a, b, *qualifier, row, cx),
            Bound::IntervalCast(inner, qualifier, to) => interval_cast(inner, *qualifier, to, row, cx),
        }
    }
}

impl Bound {
    /// For a call whose function can write a row value's fields straight into `slots` ([`ScalarEval::eval_into`]),
    /// with constants and columns as arguments: writes them and gives true. False, having written nothing, for
    /// any other node (then evaluate it with [`Bound::eval`]).
    pub(crate) fn eval_into(&self, row: &RowRef<'_>, cx: &EvalContext, slots: &mut [Value]) -> Result<bool, SqlError> {
        let Bound::Call(Callee { function, in_place: true, .. }, args) = self else { return Ok(false) };
        let written = match args.len() {
            1 => function.eval_into(&in_place::<1>(args, row), cx, slots),
            2 => function.eval_into(&in_place::<2>(args, row), cx, slots),
            3 => function.eval_into(&in_place::<3>(args, row), cx, slots),
            4 => function.eval_into(&in_place::<4>(args, row), cx, slots),
            5 => function.eval_into(&in_place::<5>(args, row), cx, slots),
            _ => None,
        };
        match written {
            None => Ok(false),
            Some(result) => result.map(|()| true).map_err(|e| *e),
        }
    }

    /// Calls `f` on each operand of this node (not deeper).
    pub(crate) fn for_each_child(&self, f: &mut dyn FnMut(&Bound)) {
        each_operand!(self, f, iter);
    }

    /// Calls `f` on each operand of this node (not deeper), mutably.
    pub(crate) fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut Bound)) {
        each_operand!(self, f, iter_mut);
    }
}

/// Field `i` of a row value.
#[inline(never)]
fn field(inner: &Bound, i: usize, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let mut slot = Value::Null;
    Ok(field_of(inner.operand(row, cx, &mut slot)?, i).clone())
}

/// `-x`, `NOT x`.
#[inline(never)]
fn unary(op: UnaryOp, inner: &Bound, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let mut slot = Value::Null;
    Ok(ops::unary(op, inner.operand(row, cx, &mut slot)?)?)
}

/// `CAST(x AS to)`, `x` of type `from`.
#[inline(never)]
fn cast_to(inner: &Bound, from: &SqlType, to: &SqlType, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let mut slot = Value::Null;
    let value = match inner.text_operand(row, cx, &mut slot)? {
        Operand::Value(value) => value,
        Operand::Text(text) => {
            // Integer text straight into the result, as below; anything else the general way.
            return match crate::cast::integer_from_str(text, from, to) {
                Some(number) => Ok(number),
                None => Ok(crate::cast::from_text(text, from, to)?),
            };
        }
    };
    // Integer text straight into the result (see `cast::integer_from_text`).
    match crate::cast::integer_from_text(value, from, to) {
        Some(number) => Ok(number),
        None => Ok(cast(value, from, to)?),
    }
}

/// `x IS [NOT] NULL` (`not`: NOT NULL).
#[inline(never)]
fn is_null(inner: &Bound, not: bool, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let mut slot = Value::Null;
    let null = matches!(inner.text_operand(row, cx, &mut slot)?, Operand::Value(Value::Null));
    Ok(Value::Boolean(null != not))
}

/// `x [NOT] LIKE p [ESCAPE e]` or `SIMILAR TO`: NULL when an operand is NULL.
#[inline(never)]
fn like(
    expr: &Bound,
    pattern: &Bound,
    escape: Option<&Bound>,
    similar: bool,
    negated: bool,
    row: &RowRef<'_>,
    cx: &EvalContext,
) -> Evaluated {
    let (mut text_slot, mut pattern_slot) = (Value::Null, Value::Null);
    let text = expr.text_operand(row, cx, &mut text_slot)?.as_text();
    let pattern = pattern.text_operand(row, cx, &mut pattern_slot)?.as_text();
    let escape = escape.map(|e| e.value(row, cx)).transpose()?;
    let (Some(text), Some(pattern)) = (text, pattern) else { return Ok(Value::Null) };
    let escape = match &escape {
        None => None,
        Some(Value::String(e)) => e.chars().next(),
        Some(_) => return Ok(Value::Null),
    };
    let hit = if similar { ops::similar_to(text, pattern, escape)? } else { ops::like(text, pattern, escape)? };
    Ok(Value::Boolean(hit != negated))
}

/// `x [NOT] BETWEEN low AND high`: NULL when a comparison is unknown.
#[inline(never)]
fn between(inner: &Bound, low: &Bound, high: &Bound, not: bool, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let (mut slot, mut low_slot, mut high_slot) = (Value::Null, Value::Null, Value::Null);
    let v = inner.operand(row, cx, &mut slot)?;
    let lo = low.operand(row, cx, &mut low_slot)?;
    let hi = high.operand(row, cx, &mut high_slot)?;
    Ok(match (ops::compare(v, lo), ops::compare(v, hi)) {
        (Some(a), Some(b)) => Value::Boolean((a != Ordering::Less && b != Ordering::Greater) != not),
        _ => Value::Null,
    })
}

/// `(a - b) <qualifier>`.
#[inline(never)]
fn datetime_minus(a: &Bound, b: &Bound, qualifier: Qualifier, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let (mut left_slot, mut right_slot) = (Value::Null, Value::Null);
    let (left, right) = (a.operand(row, cx, &mut left_slot)?, b.operand(row, cx, &mut right_slot)?);
    Ok(match ops::binary(BinaryOp::Subtract, left, right)? {
        Value::Interval(ms) => Value::Interval(qualifier.truncate(ms)),
        other => other, // NULL
    })
}

/// `CAST(interval AS to)` in the interval's fields.
#[inline(never)]
fn interval_cast(inner: &Bound, qualifier: Qualifier, to: &SqlType, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let mut slot = Value::Null;
    Ok(match inner.operand(row, cx, &mut slot)? {
        Value::Interval(ms) => qualifier.cast(*ms, to)?,
        other => cast(other, &SqlType::IntervalDayTime, to)?,
    })
}

/// Field `i` of a row value (NULL for a NULL row).
#[inline]
fn field_of(row: &Value, i: usize) -> &Value {
    match row {
        Value::Row(fields) => fields.get(i).unwrap_or(&NULL),
        _ => &NULL,
    }
}

/// `a op b`, short-circuiting where three-valued logic allows it.
#[inline(never)]
fn binary(op: BinaryOp, a: &Bound, b: &Bound, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let (mut left_slot, mut right_slot) = (Value::Null, Value::Null);
    let left = a.operand(row, cx, &mut left_slot)?;
    match (op, truth(left)) {
        (BinaryOp::And, Some(false)) => return Ok(Value::Boolean(false)),
        (BinaryOp::Or, Some(true)) => return Ok(Value::Boolean(true)),
        _ => {}
    }
    let right = b.operand(row, cx, &mut right_slot)?;
    // Plain integer arithmetic and comparisons straight into the result (see `ops::integers`).
    if let (Value::Int(x), Value::Int(y)) = (left, right)
        && let Some(value) = ops::integers(op, *x, *y)
    {
        return Ok(value);
    }
    Ok(ops::binary(op, left, right)?)
}

/// A function call. Its arguments are read in place where they can be (see [`Bound::operand`]), with the usual
/// arities on the stack: no allocation and no clone per call.
#[inline(never)]
fn call(function: &dyn ScalarEval, args: &[Bound], row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    match args.len() {
        0 => function.eval(&[], cx),
        1 => call_n::<1>(function, args, row, cx),
        2 => call_n::<2>(function, args, row, cx),
        3 => call_n::<3>(function, args, row, cx),
        4 => call_n::<4>(function, args, row, cx),
        _ => call_many(function, args, row, cx),
    }
}

/// [`call`] of more arguments than the usual arities (out of line, as [`call_in_place_many`]).
#[inline(never)]
fn call_many(function: &dyn ScalarEval, args: &[Bound], row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let values = args.iter().map(|a| a.value(row, cx)).collect::<Result<Vec<_>, _>>()?;
    function.eval(&values.iter().collect::<Vec<_>>(), cx)
}

/// A call of `N` arguments (`args.len() == N`), evaluated in order.
fn call_n<const N: usize>(function: &dyn ScalarEval, args: &[Bound], row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let mut slots = [const { Value::Null }; N];
    let mut values = [&NULL; N];
    for ((value, slot), arg) in values.iter_mut().zip(slots.iter_mut()).zip(args) {
        *value = arg.operand(row, cx, slot)?;
    }
    function.eval(&values, cx)
}

/// A call whose arguments are constants and columns only: no slots for computed values.
#[inline(never)]
fn call_in_place(function: &dyn ScalarEval, args: &[Bound], row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    match args.len() {
        0 => function.eval(&[], cx),
        1 => function.eval(&in_place::<1>(args, row), cx),
        2 => function.eval(&in_place::<2>(args, row), cx),
        3 => function.eval(&in_place::<3>(args, row), cx),
        _ => call_in_place_many(function, args, row, cx),
    }
}

/// [`call_in_place`] of more arguments than the usual arities: out of line, so that its vector does not weigh on
/// the frame of the usual calls.
#[inline(never)]
fn call_in_place_many(function: &dyn ScalarEval, args: &[Bound], row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    function.eval(&args.iter().map(|a| a.in_place(row)).collect::<Vec<_>>(), cx)
}

/// `N` arguments (`args.len() == N`) that are constants or columns, where they lie.
#[inline]
fn in_place<'v, const N: usize>(args: &'v [Bound], row: &'v RowRef<'_>) -> [&'v Value; N] {
    let mut values = [&NULL; N];
    for (value, arg) in values.iter_mut().zip(args) {
        *value = arg.in_place(row);
    }
    values
}

impl Bound {
    /// A constant or a column where it lies (NULL for any other node, which [`Bound::call`] keeps out of calls
    /// made in place).
    #[inline]
    fn in_place<'v>(&'v self, row: &'v RowRef<'_>) -> &'v Value {
        match self {
            Bound::Literal(v) => v,
            Bound::Column(i) => row.values.get(*i).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
}

/// An operand for a consumer that may only read text: a value where it lies (or in the caller's slot), or text
/// borrowed from one, which a call taking a part of its argument's text gives without copying it.
pub(crate) enum Operand<'v> {
    Value(&'v Value),
    /// The non-NULL text of a call whose result is a part of an argument (see [`crate::functions::TextPart`]).
    Text(&'v str),
}

impl<'v> Operand<'v> {
    /// Its text; None for NULL or a value that is not text.
    fn as_text(&self) -> Option<&'v str> {
        match *self {
            Operand::Value(Value::String(text)) => Some(text),
            Operand::Value(_) => None,
            Operand::Text(text) => Some(text),
        }
    }
}

/// The most arguments a call taking a part of text is evaluated with in place (more go the general way).
const MAX_PART_ARGS: usize = 4;

impl Bound {
    /// This node's value as [`Bound::operand`] gives it, except that a call whose result is a part of an
    /// argument's text (SUBSTRING, TRIM) gives that part borrowed: no new value to build and drop.
    #[inline(always)]
    pub(crate) fn text_operand<'v>(
        &'v self,
        row: &'v RowRef<'_>,
        cx: &EvalContext,
        slot: &'v mut Value,
    ) -> Result<Operand<'v>, Box<SqlError>> {
        match self {
            Bound::Call(Callee { function, part: true, .. }, args) => text_part(&**function, args, row, cx, slot),
            _ => Ok(Operand::Value(self.operand(row, cx, slot)?)),
        }
    }
}

/// A call of a function whose result is a part of its source argument's text, borrowed from that argument's
/// value (evaluated into `slot` if computed); the other arguments are evaluated after it, in order (before it,
/// there are only constants and columns, which cannot fail: see [`Bound::call`]). NULL when an argument is NULL
/// or the source is not text, as [`crate::functions::PartEval`] gives it.
#[inline(never)]
fn text_part<'v>(
    function: &dyn ScalarEval,
    args: &'v [Bound],
    row: &'v RowRef<'_>,
    cx: &EvalContext,
    slot: &'v mut Value,
) -> Result<Operand<'v>, Box<SqlError>> {
    let Some(part) = function.text_part() else { unreachable!("Bound::call checked it") };
    let source = part.source();
    let text = args[source].text_operand(row, cx, slot)?.as_text();
    let text = match args.len() {
        1 => text.map_or(Ok(None), |text| part.part(text, &[&PLACEHOLDER]))?,
        2 => part_of::<2>(part, source, text, args, row, cx)?,
        3 => part_of::<3>(part, source, text, args, row, cx)?,
        _ => part_of::<MAX_PART_ARGS>(part, source, text, args, row, cx)?,
    };
    Ok(text.map_or(Operand::Value(&NULL), Operand::Text))
}

/// The source argument's place among the arguments passed to [`crate::functions::TextPart::part`] (not read).
static PLACEHOLDER: Value = Value::String(crate::value::Text::new());

/// The part of `text` (the text of argument `source`; None if NULL) for `N` arguments (`args.len() == N`).
#[inline(always)]
fn part_of<'v, const N: usize>(
    part: &dyn crate::functions::TextPart,
    source: usize,
    text: Option<&'v str>,
    args: &[Bound],
    row: &RowRef<'_>,
    cx: &EvalContext,
) -> Result<Option<&'v str>, Box<SqlError>> {
    let mut slots = [const { Value::Null }; N];
    let mut values = [&PLACEHOLDER; N];
    let mut null = false;
    for (i, ((value, slot), arg)) in values.iter_mut().zip(slots.iter_mut()).zip(args).enumerate() {
        if i != source {
            *value = arg.operand(row, cx, slot)?;
            null |= value.is_null();
        }
    }
    match text {
        Some(text) if !null => Ok(part.part(text, &values)?),
        _ => Ok(None),
    }
}

/// `CASE [operand] WHEN .. THEN .. ELSE .. END`: the first branch that matches, evaluated alone.
#[inline(never)]
fn case(
    operand: Option<&Bound>,
    whens: &[(Bound, Bound)],
    otherwise: Option<&Bound>,
    row: &RowRef<'_>,
    cx: &EvalContext,
) -> Evaluated {
    let mut subject_slot = Value::Null;
    let subject = operand.map(|o| o.operand(row, cx, &mut subject_slot)).transpose()?;
    for (when, then) in whens {
        let mut slot = Value::Null;
        let candidate = when.operand(row, cx, &mut slot)?;
        let hit = match subject {
            Some(subject) => ops::compare(subject, candidate) == Some(Ordering::Equal),
            None => truth(candidate) == Some(true),
        };
        if hit {
            return then.value(row, cx);
        }
    }
    match otherwise {
        Some(e) => e.value(row, cx),
        None => Ok(Value::Null),
    }
}

/// `x [NOT] IN (list)`: NULL when `x` is NULL, or when nothing matches and the list holds a NULL.
#[inline(never)]
fn in_list(inner: &Bound, list: &[Bound], not: bool, row: &RowRef<'_>, cx: &EvalContext) -> Evaluated {
    let mut subject_slot = Value::Null;
    let subject = inner.operand(row, cx, &mut subject_slot)?;
    if subject.is_null() {
        return Ok(Value::Null);
    }
    let mut saw_null = false;
    for item in list {
        let mut slot = Value::Null;
        let candidate = item.operand(row, cx, &mut slot)?;
        saw_null |= candidate.is_null();
        if ops::compare(subject, candidate) == Some(Ordering::Equal) {
            return Ok(Value::Boolean(!not));
        }
    }
    Ok(if saw_null { Value::Null } else { Value::Boolean(not) })
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
    use std::sync::Arc;

    /// A prepared call of the library function `name` on `args` of `types`.
    fn call(name: &str, args: Vec<Bound>, types: &[SqlType]) -> Bound {
        let function = crate::functions::lookup(name).expect("a function");
        let prepared = {
            let literals: Vec<Option<&Value>> =
                args.iter().map(|b| if let Bound::Literal(v) = b { Some(v) } else { None }).collect();
            (function.prepare)(types, &literals).expect("prepared")
        };
        Bound::call(prepared, args)
    }

    fn lit(value: Value) -> Bound {
        Bound::Literal(value)
    }

    fn eval_on(bound: &Bound, values: &[Value]) -> Result<Value, SqlError> {
        bound.eval(&RowRef { values, rowtime: 7 }, &EvalContext::default())
    }

    #[test]
    fn columns_and_constants_are_read_in_place_and_computed_arguments_evaluated() {
        use SqlType as T;
        // SUBSTRING(#0 FROM 1 FOR POSITION(',' IN #0) - 1): a column, a constant and a computed argument.
        let position =
            call("POSITION", vec![lit(Value::string(",")), Bound::Column(0)], &[T::Varchar(1), T::Varchar(9)]);
        let length = Bound::Binary(BinaryOp::Subtract, Box::new(position), Box::new(lit(Value::Int(1))));
        let first = call(
            "SUBSTRING",
            vec![Bound::Column(0), lit(Value::Int(1)), length],
            &[T::Varchar(9), T::Integer, T::Integer],
        );
        assert_eq!(eval_on(&first, &[Value::string("12,3,4")]), Ok(Value::string("12")));
        assert_eq!(eval_on(&first, &[Value::Null]), Ok(Value::Null));
        // A column past the end of the row reads as NULL, alone or as an argument.
        assert_eq!(eval_on(&Bound::Column(3), &[Value::Int(1)]), Ok(Value::Null));
        assert_eq!(eval_on(&first, &[]), Ok(Value::Null));
        assert_eq!(eval_on(&Bound::RowTime, &[]), Ok(Value::Timestamp(7)));
        // More arguments than the stack arities: COALESCE of five.
        let nulls = (0..4).map(|_| lit(Value::Null));
        let coalesce = call(
            "COALESCE",
            nulls.chain([Bound::Column(0)]).collect(),
            &[T::Null, T::Null, T::Null, T::Null, T::Integer],
        );
        assert_eq!(eval_on(&coalesce, &[Value::Int(5)]), Ok(Value::Int(5)));
    }

    #[test]
    fn calls_on_constants_and_columns_pass_them_in_place_with_the_general_results() {
        use SqlType as T;
        let floor =
            || call("FLOOR_TO", vec![Bound::Column(1), lit(Value::string("MINUTE"))], &[T::Timestamp, T::Char(6)]);
        assert!(matches!(floor(), Bound::Call(Callee { in_place: true, .. }, _)));
        let Bound::Call(Callee { function, .. }, args) = floor() else { unreachable!() };
        let general = Bound::Call(Callee { function, in_place: false, part: false }, args);
        for values in [vec![Value::Null, Value::Timestamp(125_000)], vec![Value::Null, Value::Null], vec![]] {
            assert_eq!(eval_on(&floor(), &values), eval_on(&general, &values), "{values:?}");
        }
        assert_eq!(eval_on(&floor(), &[Value::Null, Value::Timestamp(125_000)]), Ok(Value::Timestamp(120_000)));
        let computed = call("ABS", vec![Bound::RowTime], &[T::Timestamp]);
        assert!(matches!(computed, Bound::Call(Callee { in_place: false, .. }, _)), "ROWTIME is computed");
        let many = call(
            "COALESCE",
            (0..5).map(|_| lit(Value::Null)).collect(),
            &[T::Null, T::Null, T::Null, T::Null, T::Null],
        );
        assert!(matches!(many, Bound::Call(Callee { in_place: true, .. }, _)));
        assert_eq!(eval_on(&many, &[]), Ok(Value::Null));
    }

    #[test]
    fn fields_of_a_row_column_or_of_a_computed_row_and_of_null() {
        let row = Value::Row(Arc::from(vec![Value::string("a"), Value::Int(2)]));
        let field = Bound::Field(Box::new(Bound::Column(0)), 1);
        assert_eq!(eval_on(&field, std::slice::from_ref(&row)), Ok(Value::Int(2)));
        assert_eq!(eval_on(&field, &[Value::Null]), Ok(Value::Null));
        assert_eq!(eval_on(&Bound::Field(Box::new(Bound::Column(0)), 5), std::slice::from_ref(&row)), Ok(Value::Null));
        let computed = Bound::Field(Box::new(lit(row.clone())), 0);
        assert_eq!(eval_on(&computed, &[]), Ok(Value::string("a")));
        let is_null = Bound::IsNull(Box::new(Bound::Field(Box::new(Bound::Column(0)), 0)), false);
        assert_eq!(eval_on(&is_null, &[Value::Null]), Ok(Value::Boolean(true)));
    }

    #[test]
    fn errors_of_nested_operands_are_the_row_error_and_short_circuits_skip_them() {
        let divide = || Bound::Binary(BinaryOp::Divide, Box::new(lit(Value::Int(1))), Box::new(Bound::Column(0)));
        let nested = call("ABS", vec![divide()], &[SqlType::Integer]);
        let error = eval_on(&nested, &[Value::Int(0)]).expect_err("division by zero");
        assert_eq!((error.kind, error.message.as_str()), (crate::error::SqlErrorKind::Data, "division by zero"));
        let cast = Bound::Cast(Box::new(Bound::Column(0)), SqlType::Varchar(4), SqlType::Integer);
        assert_eq!(eval_on(&cast, &[Value::string(" 12 ")]), Ok(Value::Int(12)));
        assert!(eval_on(&cast, &[Value::string("1x")]).is_err());
        let skipped = Bound::Binary(
            BinaryOp::And,
            Box::new(lit(Value::Boolean(false))),
            Box::new(Bound::Binary(BinaryOp::Eq, Box::new(divide()), Box::new(lit(Value::Int(1))))),
        );
        assert_eq!(eval_on(&skipped, &[Value::Int(0)]), Ok(Value::Boolean(false)));
        let between =
            Bound::Between(Box::new(Bound::Column(0)), Box::new(lit(Value::Int(1))), Box::new(divide()), false);
        assert!(eval_on(&between, &[Value::Int(0)]).is_err());
        assert_eq!(eval_on(&between, &[Value::Int(1)]), Ok(Value::Boolean(true)));
        // Integer operands: the quick path, and the general path's overflow error past it.
        let add = |a: i64| Bound::Binary(BinaryOp::Add, Box::new(lit(Value::Int(a))), Box::new(Bound::Column(0)));
        assert_eq!(eval_on(&add(2), &[Value::Int(3)]), Ok(Value::Int(5)));
        assert_eq!(eval_on(&add(2), &[Value::Null]), Ok(Value::Null));
        assert_eq!(eval_on(&add(i64::MAX), &[Value::Int(1)]).map_err(|e| e.message), Err("numeric overflow".into()));
        assert_eq!(eval_on(&add(1), &[Value::Double(0.5)]), Ok(Value::Double(1.5)));
    }

    /// `bound` with its calls evaluated the general way: each call's result a value of its own.
    fn without_parts(bound: Bound) -> Bound {
        match bound {
            Bound::Call(Callee { function, in_place, .. }, args) => {
                Bound::Call(Callee { function, in_place, part: false }, args.into_iter().map(without_parts).collect())
            }
            Bound::Cast(inner, from, to) => Bound::Cast(Box::new(without_parts(*inner)), from, to),
            Bound::IsNull(inner, not) => Bound::IsNull(Box::new(without_parts(*inner)), not),
            Bound::Like { expr, pattern, escape, similar, negated } => Bound::Like {
                expr: Box::new(without_parts(*expr)),
                pattern: Box::new(without_parts(*pattern)),
                escape,
                similar,
                negated,
            },
            other => other,
        }
    }

    #[test]
    fn parts_of_text_are_borrowed_with_the_general_results() {
        use SqlType as T;
        let (text, int) = (T::Varchar(20), T::Integer);
        // SUBSTRING(#0 FROM #1 FOR POSITION(',' IN #0) + #2): a computed argument after the source.
        let substring = || {
            let position =
                call("POSITION", vec![lit(Value::string(",")), Bound::Column(0)], &[T::Char(1), text.clone()]);
            let length = Bound::Binary(BinaryOp::Add, Box::new(position), Box::new(Bound::Column(2)));
            call(
                "SUBSTRING",
                vec![Bound::Column(0), Bound::Column(1), length],
                &[text.clone(), int.clone(), int.clone()],
            )
        };
        let trim = |inner: Bound| {
            call(
                "TRIM",
                vec![lit(Value::string("BOTH")), lit(Value::string(" ")), inner],
                &[text.clone(), text.clone(), text.clone()],
            )
        };
        type Consumer<'a> = (&'a str, Box<dyn Fn() -> Bound + 'a>);
        let consumers: Vec<Consumer> = vec![
            ("SUBSTRING", Box::new(substring)),
            ("CAST", Box::new(|| Bound::Cast(Box::new(substring()), text.clone(), T::Integer))),
            ("CAST(TRIM)", Box::new(|| Bound::Cast(Box::new(trim(substring())), text.clone(), T::SmallInt))),
            ("CAST AS DOUBLE", Box::new(|| Bound::Cast(Box::new(trim(substring())), text.clone(), T::Double))),
            ("IS NULL", Box::new(|| Bound::IsNull(Box::new(substring()), false))),
            (
                "LIKE",
                Box::new(|| Bound::Like {
                    expr: Box::new(trim(substring())),
                    pattern: Box::new(lit(Value::string("1%"))),
                    escape: None,
                    similar: false,
                    negated: false,
                }),
            ),
        ];
        let rows = [
            ("12,3", 1, -1),
            (" 70000 ,1", 1, -1),
            ("-5,", 1, -1),
            ("1x,2", 1, -1),
            ("é1,2", 2, -1),
            ("1€,2", 1, 0),
            ("12,3", 0, 0),
            ("12,3", -4, 9),
            ("12,3", 9, 2),
            ("12,3", 1, -9),
            ("nocomma", 1, 5),
        ];
        for (name, bound) in &consumers {
            assert!(matches!(trim(Bound::Column(0)), Bound::Call(Callee { part: true, .. }, _)));
            let general = without_parts(bound());
            let mut cases: Vec<Vec<Value>> = rows
                .iter()
                .map(|(t, from, extra)| vec![Value::string(t), Value::Int(*from), Value::Int(*extra)])
                .collect();
            cases.push(vec![Value::Null, Value::Int(1), Value::Int(0)]);
            cases.push(vec![Value::string("1,2"), Value::Null, Value::Int(0)]);
            cases.push(vec![Value::string("1,2"), Value::Int(1), Value::Null]);
            cases.push(vec![Value::Int(12), Value::Int(1), Value::Int(0)]);
            for values in cases {
                let (borrowed, copied) = (eval_on(&bound(), &values), eval_on(&general, &values));
                assert_eq!(borrowed, copied, "{name} {values:?}");
            }
        }
        let cast = Bound::Cast(Box::new(substring()), text.clone(), T::Integer);
        let error = eval_on(&cast, &[Value::string("1x,2"), Value::Int(1), Value::Int(-1)]).expect_err("not a number");
        assert_eq!(error.message, "cannot cast string '1x' to INTEGER");
        let error = eval_on(&cast, &[Value::string("12,3"), Value::Int(1), Value::Int(-9)]).expect_err("negative");
        assert_eq!(error.message, "negative substring length");
        assert_eq!(eval_on(&cast, &[Value::string("é1,2"), Value::Int(2), Value::Int(-2)]), Ok(Value::Int(1)));
        // A source after an argument that is computed is not borrowed: the arguments are evaluated in order.
        let computed = call("TRIM", vec![substring(), Bound::Column(0)], &[text.clone(), text.clone()]);
        assert!(matches!(computed, Bound::Call(Callee { part: false, .. }, _)));
    }

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
