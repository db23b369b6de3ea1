//! The planner's part for sliding windows: `SELECT STREAM ..., AVG(x) OVER w1, COUNT(*) OVER (PARTITION BY k
//! ROWS 10 PRECEDING) ... WINDOW w1 AS (PARTITION BY k RANGE INTERVAL '1' MINUTE PRECEDING)`.
//!
//! ```text
//!   WINDOW w AS (spec), OVER (spec) ──check_spec──▶ Frame (RANGE ms | ROWS n), or KDA's error at its place
//!   SELECT list ──bind in a windowed scope──▶ agg(x) OVER w → an AggSpec of w's WindowDef, read from its slot
//!                                             any other expression → over the input row, as usual
//! ```
//!
//! The row the select list reads is `[input values.., aggregate values..]`. What KDA rejects ([DG]
//! sliding-window-concepts.md, [SQLREF] sql-reference-window-clause): UNBOUNDED FOLLOWING, negative bounds,
//! ORDER BY in a window; windows also cannot look ahead (FOLLOWING) in a stream. `GROUP BY` and `OVER` do not
//! mix: a query either groups rows into tumbling windows or slides a window over every row.

use std::cell::RefCell;

use crate::ast::{Expr, FrameBound, Literal, NamedWindow, Over, Select, WindowSpec};
use crate::error::{SqlError, SqlErrorKind};
use crate::operator::UnaryOp;

use super::Stage;
use super::aggregate::{AggKind, AggSpec};
use super::eval::Bound;
use super::grouping::{children, find_aggregate, fingerprint};
use super::plan::{Scope, StageColumns, bind, compile_stage, not_supported, type_error};
use super::sliding::{Frame, Sliding, WindowDef, WindowFn};

/// What a windowed scope resolves: aggregate calls with OVER.
pub(super) struct Windowed<'a> {
    /// The input rows: arguments and PARTITION BY bind here.
    input: &'a Scope<'a>,
    /// The WINDOW clause's definitions.
    named: &'a [NamedWindow],
    /// How many values the input row has: aggregate slots follow.
    base: usize,
    /// Each window used so far (by a fingerprint of its definition) and its aggregates' fingerprints.
    windows: RefCell<Vec<(String, WindowDef, Vec<String>)>>,
    /// Aggregate values so far.
    slots: RefCell<usize>,
}

/// Whether a SELECT calls a function with OVER in its select list.
pub(super) fn is_sliding(select: &Select) -> bool {
    select
        .items
        .iter()
        .any(|item| matches!(item, crate::ast::SelectItem::Expr { expr, .. } if find_over(expr).is_some()))
}

/// The first call with OVER in `expr`.
pub(super) fn find_over(expr: &Expr) -> Option<&Expr> {
    if matches!(expr, Expr::Function { over: Some(_), .. }) {
        return Some(expr);
    }
    children(expr).into_iter().find_map(find_over)
}

/// Compiles a SELECT with sliding-window aggregates over `input`'s rows.
pub(super) fn compile_sliding(select: &Select, input: &Scope<'_>) -> Result<(Stage, StageColumns), SqlError> {
    let first_over = select.items.iter().find_map(|item| match item {
        crate::ast::SelectItem::Expr { expr, .. } => find_over(expr),
        _ => None,
    });
    let place = first_over.map_or(select.span, Expr::span);
    if !select.group_by.is_empty() || select.having.is_some() {
        return Err(type_error(place, "a query cannot both GROUP BY and aggregate OVER a sliding window".into())
            .with_help("use GROUP BY for a tumbling window, or OVER for a sliding one, in separate queries"));
    }
    if let Some(call) = select.filter.as_ref().and_then(find_over) {
        return Err(type_error(call.span(), "a windowed aggregate (OVER) is not allowed in WHERE".into()));
    }
    check_windows(select)?;
    let windowed = Windowed {
        input,
        named: &select.windows,
        base: input.columns.len(),
        windows: RefCell::new(Vec::new()),
        slots: RefCell::new(0),
    };
    let scope = Scope { windowed: Some(&windowed), ..input.clone() };
    let (stage, columns) = compile_stage(select, &scope)?;
    let Stage::Map(map) = stage else { return Err(type_error(place, "a sliding window query".into())) };
    if map.rowtime.is_some() {
        return Err(not_supported(place, "`AS ROWTIME` in a query with sliding windows (its ROWTIME is the row's)"));
    }
    let slots = *windowed.slots.borrow();
    let windows = windowed.windows.into_inner().into_iter().map(|(_, window, _)| window).collect();
    let sliding = Sliding { filter: map.filter, windows, slots, projections: map.projections, clock: false, state: 0 };
    Ok((Stage::Sliding(Box::new(sliding)), columns))
}

/// Checks the WINDOW clause's definitions, used or not: unique names, windows KDA accepts.
pub(super) fn check_windows(select: &Select) -> Result<(), SqlError> {
    for (i, window) in select.windows.iter().enumerate() {
        if select.windows[..i].iter().any(|w| w.name.name == window.name.name) {
            return Err(type_error(window.name.span, format!("window {} is defined twice", window.name)));
        }
        check_spec(&window.spec)?;
    }
    Ok(())
}

/// Binds `name(args) OVER window` in a windowed scope: the slot of its value.
pub(super) fn resolve(expr: &Expr, windowed: &Windowed<'_>) -> Result<(Bound, crate::types::SqlType), SqlError> {
    let Expr::Function { name, args, star, distinct, over: Some(over), span } = expr else {
        return Err(type_error(expr.span(), "expected a call with OVER".into()));
    };
    let upper = name.name.to_ascii_uppercase();
    if let Some(inner) = args.iter().find_map(|a| find_aggregate(a).or_else(|| find_over(a))) {
        return Err(type_error(inner.span(), "aggregate functions cannot be nested".to_owned()));
    }
    let kind = AggKind::from_name(&upper);
    if kind.is_none() && upper != "LAG" && upper != "NTH_VALUE" && upper != "EXP_AVG" {
        return Err(not_supported(*span, &format!("{upper} OVER a window")));
    }
    if kind.is_none() && (*star || *distinct) {
        return Err(type_error(*span, format!("{upper} takes no `*` or DISTINCT")));
    }
    let spec = match &**over {
        Over::Spec(spec) => spec,
        Over::Named(window) => match windowed.named.iter().find(|w| w.name.name == window.name) {
            Some(named) => &named.spec,
            None => {
                let message = format!("unknown window {window}");
                let error = SqlError::at(SqlErrorKind::Unknown, window.span, message);
                let defined: Vec<String> = windowed.named.iter().map(|w| w.name.to_string()).collect();
                return Err(if defined.is_empty() {
                    error.with_help(format!(
                        "define it: WINDOW {window} AS (PARTITION BY ... RANGE INTERVAL '1' MINUTE PRECEDING)"
                    ))
                } else {
                    error.with_help(format!("the query defines {}", defined.join(", ")))
                });
            }
        },
    };
    let frame = check_spec(spec)?;
    let (function, result) = match kind {
        Some(kind) => {
            let kind = match (kind, *star, args.len()) {
                (AggKind::Count, true, 0) => AggKind::CountStar,
                (_, false, 1) => kind,
                _ => return Err(type_error(*span, format!("{upper} takes one argument"))),
            };
            let (arg, arg_type) = match args.first() {
                Some(arg) => {
                    let (bound, ty) = bind(arg, windowed.input)?;
                    (Some(bound), ty)
                }
                None => (None, crate::types::SqlType::Null),
            };
            let result = kind.result_type(&arg_type, *distinct).map_err(|m| type_error(*span, m))?;
            (WindowFn::Agg(AggSpec { kind, arg, distinct: *distinct, result: result.clone() }), result)
        }
        None if upper == "EXP_AVG" => super::analytics::bind_exp_avg(args, *span, windowed.input)?,
        None => bind_positional(&upper, args, *span, windowed.input)?,
    };
    let mut partition = Vec::new();
    let mut window_print = format!("{frame:?}");
    for expr in &spec.partition_by {
        partition.push(bind(expr, windowed.input)?.0);
        window_print.push('|');
        window_print.push_str(&fingerprint(expr, windowed.input));
    }
    let call_print = fingerprint(expr, windowed.input);
    let mut windows = windowed.windows.borrow_mut();
    let position = match windows.iter().position(|(print, _, _)| *print == window_print) {
        Some(found) => found,
        None => {
            windows.push((window_print, WindowDef { partition, frame, aggs: Vec::new() }, Vec::new()));
            windows.len() - 1
        }
    };
    let (_, window, calls) = &mut windows[position];
    let slot = match calls.iter().position(|c| *c == call_print) {
        Some(found) => window.aggs[found].0,
        None => {
            let mut slots = windowed.slots.borrow_mut();
            let slot = *slots;
            *slots += 1;
            window.aggs.push((slot, function));
            calls.push(call_print);
            slot
        }
    };
    Ok((Bound::Column(windowed.base + slot), result))
}

/// `LAG(x [, n [, default]])` ([SQLREF] sql-reference-lag) and `NTH_VALUE(x, n)` ([SQLREF]
/// sql-reference-nth-value): the function and its type, x's.
fn bind_positional(
    upper: &str,
    args: &[Expr],
    span: crate::error::Span,
    input: &Scope<'_>,
) -> Result<(WindowFn, crate::types::SqlType), SqlError> {
    let lag = upper == "LAG";
    let fits = if lag { (1..=3).contains(&args.len()) } else { args.len() == 2 };
    if !fits {
        let usage = if lag { "LAG(x [, n [, default]])" } else { "NTH_VALUE(x, n)" };
        return Err(type_error(span, format!("{upper} takes {usage}")));
    }
    let (arg, ty) = bind(&args[0], input)?;
    let n = match args.get(1) {
        None => 1,
        Some(Expr::Literal { value: Literal::Integer(n), span }) => {
            let least = if lag { 0 } else { 1 };
            usize::try_from(*n)
                .ok()
                .filter(|n| *n >= least)
                .ok_or_else(|| type_error(*span, format!("{upper}'s n must be a whole number of at least {least}")))?
        }
        Some(other) => return Err(type_error(other.span(), format!("{upper}'s n must be a whole number literal"))),
    };
    if !lag {
        return Ok((WindowFn::Nth { arg, n }, ty));
    }
    let default = match args.get(2) {
        Some(expr) => {
            let (bound, default_ty) = bind(expr, input)?;
            if default_ty != crate::types::SqlType::Null && !crate::cast::can_cast(&default_ty, &ty) {
                return Err(type_error(expr.span(), format!("LAG's default is {default_ty}, but x is {ty}")));
            }
            Some(bound)
        }
        None => None,
    };
    Ok((WindowFn::Lag { arg, offset: n, default }, ty))
}

/// A window's extent, or what KDA says is wrong with it.
fn check_spec(spec: &WindowSpec) -> Result<Frame, SqlError> {
    if let Some(first) = spec.order_by.first() {
        return Err(type_error(first.span, "ORDER BY is not allowed in a sliding window".into())
            .with_help("a sliding window's rows are in ROWTIME order: remove ORDER BY"));
    }
    let Some(frame) = &spec.frame else {
        return Err(type_error(
            spec.span,
            "a sliding window needs RANGE INTERVAL ... PRECEDING or ROWS n PRECEDING".into(),
        ));
    };
    let ahead = |bound: &FrameBound| match bound {
        FrameBound::UnboundedFollowing => {
            Some(type_error(frame.span, "UNBOUNDED FOLLOWING is not allowed in a sliding window".into()))
        }
        FrameBound::Following(_) => Some(type_error(
            frame.span,
            "FOLLOWING is not allowed in a sliding window: a stream's later rows have not arrived".into(),
        )),
        _ => None,
    };
    if let Some(e) = ahead(&frame.start).or_else(|| frame.end.as_ref().and_then(ahead)) {
        return Err(e);
    }
    if frame.end.as_ref().is_some_and(|end| *end != FrameBound::CurrentRow) {
        return Err(not_supported(frame.span, "a window that ends before the current row"));
    }
    let size = match &frame.start {
        FrameBound::Preceding(size) => size,
        FrameBound::CurrentRow if frame.rows => return Ok(Frame::Rows(0)),
        FrameBound::CurrentRow => return Err(not_supported(frame.span, "RANGE CURRENT ROW")),
        _ => return Err(not_supported(frame.span, "UNBOUNDED PRECEDING (a window that never forgets)")),
    };
    let negative = || type_error(size.span(), "a window's size cannot be negative".into());
    match (frame.rows, &**size) {
        (_, Expr::Unary { op: UnaryOp::Negate, .. }) => Err(negative()),
        (true, Expr::Literal { value: Literal::Integer(n), .. }) => {
            u64::try_from(*n).map(Frame::Rows).map_err(|_| negative())
        }
        (true, other) => {
            Err(type_error(other.span(), "ROWS needs a whole number of rows, as in ROWS 10 PRECEDING".into()))
        }
        (false, Expr::Literal { value: Literal::IntervalDayTime { millis, .. }, .. }) if *millis < 0 => Err(negative()),
        (false, Expr::Literal { value: Literal::IntervalDayTime { millis, .. }, .. }) if *millis == 0 => {
            Err(type_error(size.span(), "a RANGE window needs a positive interval".into()))
        }
        (false, Expr::Literal { value: Literal::IntervalDayTime { millis, .. }, .. }) => Ok(Frame::Range(*millis)),
        (false, Expr::Literal { value: Literal::IntervalYearMonth { .. }, .. }) => {
            Err(not_supported(size.span(), "a RANGE window of months or years"))
        }
        (false, other) => Err(type_error(
            other.span(),
            "RANGE needs an interval of ROWTIME, as in RANGE INTERVAL '1' MINUTE PRECEDING".into(),
        )),
    }
}
