//! The planner's part for `SELECT STREAM ... GROUP BY ...`: checks what KDA checks, finds the window on ROWTIME,
//! and binds the select list, HAVING and ORDER BY to the group row.
//!
//! ```text
//!   GROUP BY exprs ──Tumble::recognize──▶ the window (the finest, if several) + per-row keys
//!   SELECT / HAVING / ORDER BY ──bind in a grouped scope──▶ a GROUP BY expression  → its slot in the group row
//!                                                           an aggregate call      → an AggSpec and its slot
//!                                                           ROWTIME                → the window's end
//!                                                           any other column       → error: not grouped
//! ```
//!
//! The group row is `[per-row keys.., the window's GROUP BY value, aggregates..]`. Expressions match GROUP BY
//! ones by a fingerprint that ignores spacing, case of keywords and how a column is qualified.

use std::cell::RefCell;
use std::fmt::Write as _;

use crate::ast::{Expr, Literal, OrderByItem, Select, SelectItem};
use crate::error::{Span, SqlError, SqlErrorKind};
use crate::types::SqlType;
use crate::value::Value;

use super::Stage;
use super::aggregate::{AggKind, AggSpec};
use super::eval::Bound;
use super::grouped::{Aggregate, SortKey};
use super::plan::{Scope, StageColumns, bind, bind_column, not_supported, type_error};
use super::stateful::OperatorStage;
use super::window::{Recognized, Tumble};

/// What a grouped scope resolves before plain binding: GROUP BY expressions, aggregate calls, columns.
pub(super) struct Grouped<'a> {
    /// The rows before grouping: aggregate arguments and GROUP BY expressions bind here.
    pub(super) input: &'a Scope<'a>,
    /// Per GROUP BY expression: its fingerprint, its slot in the group row, its type.
    pub(super) keys: Vec<(String, usize, SqlType)>,
    /// The group row's slot of the first aggregate.
    pub(super) first_aggregate: usize,
    /// The aggregate calls found so far, with their fingerprints.
    pub(super) aggs: RefCell<Vec<(String, AggSpec)>>,
}

/// Whether a SELECT aggregates: it has GROUP BY or HAVING, or its select list calls an aggregate.
pub(super) fn is_grouped(select: &Select) -> bool {
    !select.group_by.is_empty()
        || select.having.is_some()
        || select
            .items
            .iter()
            .any(|item| matches!(item, SelectItem::Expr { expr, .. } if find_aggregate(expr).is_some()))
}

/// Rejects an aggregate in WHERE, as KDA does: WHERE filters rows before they are grouped.
pub(super) fn check_where(select: &Select) -> Result<(), SqlError> {
    match select.filter.as_ref().and_then(find_aggregate) {
        Some(call) => {
            Err(type_error(call.span(), format!("aggregate function {} is not allowed in WHERE", function_name(call)))
                .with_help("WHERE filters rows before they are grouped; filter groups with HAVING".to_owned()))
        }
        None => Ok(()),
    }
}

/// Compiles a grouped SELECT over `input`'s rows into an aggregate stage and its output columns.
pub(super) fn compile_grouped(select: &Select, input: &Scope<'_>) -> Result<(Stage, StageColumns), SqlError> {
    check_where(select)?;
    if let Some(call) = select.group_by.iter().find_map(find_aggregate) {
        let message = format!("aggregate function {} is not allowed in GROUP BY", function_name(call));
        return Err(type_error(call.span(), message));
    }
    let Some(first) = select.group_by.first() else {
        let place = first_aggregate_span(select).or(select.having.as_ref().map(Expr::span)).unwrap_or(select.span);
        let message =
            "an aggregate in a streaming query needs GROUP BY with a monotonic expression of ROWTIME (a window)";
        return Err(no_window(place).with_message(message));
    };
    let filter = match &select.filter {
        Some(expr) => {
            let (bound, ty) = bind(expr, input)?;
            if !matches!(ty, SqlType::Boolean | SqlType::Null) {
                return Err(type_error(expr.span(), format!("WHERE needs a BOOLEAN, not {ty}")));
            }
            Some(bound)
        }
        None => None,
    };
    // A misspelt MONOTONIC(...) is not a window: say what is wrong with it first.
    for expr in &select.group_by {
        if matches!(expr, Expr::Function { name, .. } if name.name.eq_ignore_ascii_case("MONOTONIC")) {
            bind(expr, input)?;
        }
    }
    // The window on ROWTIME; failing that, a key declared MONOTONIC (its groups close when its value changes).
    let (window_index, window) = match find_window(&select.group_by, input, first.span()) {
        Ok((index, window)) => (index, Some(window)),
        Err(e) => match declared_monotonic(&select.group_by, input) {
            Some(index) => (index, None),
            None => return Err(e),
        },
    };
    if let (None, Some(item)) = (window, select.order_by.first()) {
        return Err(not_supported(item.span, "ORDER BY after a GROUP BY on MONOTONIC(...) of a column"));
    }
    // Slots: per-row keys in GROUP BY order, then the window's expression.
    let mut keys = Vec::new();
    let mut fingerprints = Vec::new();
    let mut key_binds = Vec::new();
    let mut window_key = None;
    let per_row = select.group_by.len() - 1;
    for (i, expr) in select.group_by.iter().enumerate() {
        let (bound, ty) = bind(expr, input)?;
        let slot = if i == window_index { per_row } else { key_binds.len() };
        fingerprints.push((fingerprint(expr, input), slot, ty.clone()));
        keys.push(group_column_name(expr, slot));
        if i == window_index {
            window_key = Some(bound);
        } else {
            key_binds.push(bound);
        }
    }
    keys.sort_by_key(|(slot, _)| *slot);
    let grouped = Grouped { input, keys: fingerprints, first_aggregate: per_row + 1, aggs: RefCell::new(Vec::new()) };
    let scope = Scope { grouped: Some(&grouped), ..input.clone() };
    let (projections, columns) = bind_items(select, &scope)?;
    let having = match &select.having {
        Some(expr) => {
            let (bound, ty) = bind(expr, &scope)?;
            if !matches!(ty, SqlType::Boolean | SqlType::Null) {
                return Err(type_error(expr.span(), format!("HAVING needs a BOOLEAN, not {ty}")));
            }
            Some(bound)
        }
        None => None,
    };
    let order = bind_order(&select.order_by, select, &columns, &scope)?;
    let aggs: Vec<AggSpec> = grouped.aggs.into_inner().into_iter().map(|(_, spec)| spec).collect();
    let mut group_columns: Vec<String> = keys.into_iter().map(|(_, name)| name).collect();
    group_columns.extend(aggs.iter().map(|a| a.kind.name().to_owned()));
    let intervals = vec![None; columns.len()];
    let (window, window_key) = match (window, window_key) {
        (Some(window), key) => (window, key),
        (None, None) => return Err(no_window(first.span())),
        (None, Some(monotonic)) => {
            let groups = monotonic::MonotonicGroups {
                filter,
                monotonic,
                keys: key_binds,
                aggs,
                having,
                projections,
                group_columns,
                input_columns: input.columns.iter().map(|(name, _)| name.clone()).collect(),
            };
            let stage = Stage::Operator(Box::new(OperatorStage::new(Box::new(groups))));
            return Ok((stage, (columns, intervals)));
        }
    };
    let aggregate = Aggregate {
        filter,
        window,
        keys: key_binds,
        window_keys: window_key.into_iter().collect(),
        aggs,
        having,
        projections,
        order,
        group_columns,
        clock: false, // Decided once every stream is known.
        state: 0,
    };
    Ok((Stage::Aggregate(Box::new(aggregate)), (columns, intervals)))
}

/// KDA's rule ([SQLREF] sql-reference-group-by-clause): a streaming GROUP BY needs a monotonic expression.
fn no_window(span: Span) -> SqlError {
    type_error(span, "a streaming GROUP BY needs a monotonic expression of ROWTIME (a window)".to_owned()).with_help(
        "group by a window, as in GROUP BY STEP(s.ROWTIME BY INTERVAL '1' MINUTE) or FLOOR(s.ROWTIME TO MINUTE)"
            .to_owned(),
    )
}

/// The GROUP BY expression that is the window: the finest of those recognized.
fn find_window(group_by: &[Expr], input: &Scope<'_>, place: Span) -> Result<(usize, Tumble), SqlError> {
    let is_rowtime = |e: &Expr| is_rowtime(e, input);
    let mut best: Option<(usize, Tumble)> = None;
    let mut unsupported = None;
    for (i, expr) in group_by.iter().enumerate() {
        match Tumble::recognize(strip_monotonic(expr), &is_rowtime) {
            Recognized::Window(w) if best.is_none_or(|(_, b)| w.width() < b.width()) => best = Some((i, w)),
            Recognized::Window(_) | Recognized::NotAWindow => {}
            Recognized::Unsupported(what) => unsupported = unsupported.or(Some((expr.span(), what))),
        }
        if best.is_none() && unsupported.is_none() && references_rowtime(expr, input) {
            let what = "this expression of ROWTIME as a window (use STEP(s.ROWTIME BY INTERVAL ...) or FLOOR(s.ROWTIME TO ...))";
            unsupported = Some((expr.span(), what.to_owned()));
        }
    }
    match (best, unsupported) {
        (Some(found), _) => Ok(found),
        (None, Some((span, what))) => Err(not_supported(span, &what)),
        (None, None) => Err(no_window(place)),
    }
}

/// The GROUP BY expression declared `MONOTONIC(...)` that does not read ROWTIME (one that does is a window, or
/// an expression of ROWTIME sluice cannot use as one).
fn declared_monotonic(group_by: &[Expr], input: &Scope<'_>) -> Option<usize> {
    group_by.iter().position(|expr| {
        let inner = strip_monotonic(expr);
        !std::ptr::eq(inner, expr) && !references_rowtime(inner, input)
    })
}

/// The select list over the group row.
/// A select list bound: its expressions and its output columns.
pub(super) type Items = (Vec<Bound>, Vec<(String, SqlType)>);

pub(super) fn bind_items(select: &Select, scope: &Scope<'_>) -> Result<Items, SqlError> {
    let mut projections = Vec::new();
    let mut columns = Vec::new();
    for item in &select.items {
        match item {
            SelectItem::Wildcard { span } | SelectItem::QualifiedWildcard { span, .. } => {
                return Err(type_error(
                    *span,
                    "`*` in a GROUP BY query: list the grouped columns and aggregates".into(),
                ));
            }
            SelectItem::Expr { expr, alias, .. } => {
                if alias.as_ref().is_some_and(|a| a.name == "ROWTIME" && !a.quoted) {
                    return Err(not_supported(
                        expr.span(),
                        "`AS ROWTIME` in a GROUP BY query (its ROWTIME is the window's end)",
                    ));
                }
                let (bound, ty) = bind(expr, scope)?;
                let name = match (alias, expr) {
                    (Some(alias), _) => alias.name.clone(),
                    (None, Expr::Column { parts, .. }) => parts.last().map(|p| p.name.clone()).unwrap_or_default(),
                    (None, _) => format!("EXPR${}", columns.len()),
                };
                projections.push(bound);
                columns.push((name, ty));
            }
        }
    }
    Ok((projections, columns))
}

/// ORDER BY after a tumbling GROUP BY: its leading item must be time-based and ascending (ROWTIME, or the
/// window's expression, or an output column made of it), as [SQLREF] sql-reference-order-by-clause requires of a
/// streaming ORDER BY; every item sorts the rows of one window.
fn bind_order(
    items: &[OrderByItem],
    select: &Select,
    columns: &[(String, SqlType)],
    scope: &Scope<'_>,
) -> Result<Vec<(SortKey, bool)>, SqlError> {
    let mut order = Vec::new();
    for (position, item) in items.iter().enumerate() {
        let (key, timed) = match &item.expr {
            Expr::Literal { value: Literal::Integer(n), span } => {
                let index = usize::try_from(*n).ok().filter(|n| (1..=columns.len()).contains(n)).ok_or_else(|| {
                    type_error(*span, format!("ORDER BY {n}: the query has {} columns", columns.len()))
                })? - 1;
                (SortKey::Output(index), output_is_timed(select, index, scope))
            }
            Expr::Column { parts, .. }
                if parts.len() == 1 && columns.iter().any(|(name, _)| *name == parts[0].name) =>
            {
                let index = columns.iter().position(|(name, _)| *name == parts[0].name).unwrap_or_default();
                (SortKey::Output(index), output_is_timed(select, index, scope))
            }
            expr => {
                let (bound, _) = bind(expr, scope)?;
                (SortKey::Group(bound), references_rowtime(expr, scope_input(scope)))
            }
        };
        if position == 0 && (!timed || item.descending) {
            return Err(type_error(
                item.span,
                "a streaming ORDER BY must start with a monotonic expression of time, ascending".to_owned(),
            )
            .with_help(
                "start with ROWTIME or the GROUP BY's window, as in ORDER BY ROWTIME, \"total\" DESC".to_owned(),
            ));
        }
        order.push((key, item.descending));
    }
    Ok(order)
}

fn scope_input<'a>(scope: &'a Scope<'a>) -> &'a Scope<'a> {
    scope.grouped.map_or(scope, |g| g.input)
}

/// Whether output column `index` is made from ROWTIME.
fn output_is_timed(select: &Select, index: usize, scope: &Scope<'_>) -> bool {
    match select.items.get(index) {
        Some(SelectItem::Expr { expr, .. }) => references_rowtime(expr, scope_input(scope)),
        _ => false,
    }
}

/// In a grouped scope, binds what grouping decides: a GROUP BY expression (its slot), an aggregate call (its
/// slot), a column (ROWTIME is the window's end; any other is an error). `None`: bind `expr` as usual.
pub(super) fn resolve(expr: &Expr, grouped: &Grouped<'_>) -> Result<Option<(Bound, SqlType)>, SqlError> {
    let print = fingerprint(expr, grouped.input);
    if let Some((_, slot, ty)) = grouped.keys.iter().find(|(f, _, _)| *f == print) {
        return Ok(Some((Bound::Column(*slot), ty.clone())));
    }
    match expr {
        Expr::Function { name, args, star, distinct, over: None, span } => {
            let upper = name.name.to_ascii_uppercase();
            let Some(kind) = AggKind::from_name(&upper) else { return Ok(None) };
            let kind = match (kind, *star, args.len()) {
                (AggKind::Count, true, 0) => AggKind::CountStar,
                (_, false, 1) => kind,
                _ => return Err(type_error(*span, format!("{upper} takes one argument"))),
            };
            if let Some(inner) = args.iter().find_map(find_aggregate) {
                return Err(type_error(inner.span(), "aggregate functions cannot be nested".to_owned()));
            }
            let (arg, arg_type) = match args.first() {
                Some(arg) => {
                    let (bound, ty) = bind(arg, grouped.input)?;
                    (Some(bound), ty)
                }
                None => (None, SqlType::Null),
            };
            let result = kind.result_type(&arg_type, *distinct).map_err(|m| type_error(*span, m))?;
            let mut aggs = grouped.aggs.borrow_mut();
            let slot = match aggs.iter().position(|(f, _)| *f == print) {
                Some(found) => found,
                None => {
                    aggs.push((print, AggSpec { kind, arg, distinct: *distinct, result: result.clone() }));
                    aggs.len() - 1
                }
            };
            Ok(Some((Bound::Column(grouped.first_aggregate + slot), result)))
        }
        Expr::Column { parts, span } => match bind_column(parts, *span, grouped.input)? {
            (Bound::RowTime, ty) => Ok(Some((Bound::RowTime, ty))),
            _ => Err(SqlError::at(
                SqlErrorKind::Type,
                *span,
                format!("column {} is neither in GROUP BY nor inside an aggregate function", shown_column(parts)),
            )
            .with_help("add it to GROUP BY, or aggregate it (MIN, MAX, FIRST_VALUE, ...)".to_owned())),
        },
        _ => Ok(None),
    }
}

fn shown_column(parts: &[crate::ast::Ident]) -> String {
    parts.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
}

fn function_name(call: &Expr) -> String {
    match call {
        Expr::Function { name, .. } => name.name.to_ascii_uppercase(),
        _ => String::new(),
    }
}

/// A name for a group row value in error_stream's DATA_ROW.
pub(super) fn group_column_name(expr: &Expr, slot: usize) -> (usize, String) {
    match expr {
        Expr::Column { parts, .. } => (slot, shown_column(parts)),
        _ => (slot, format!("GROUP${slot}")),
    }
}

/// Whether `expr` is the source's ROWTIME.
fn is_rowtime(expr: &Expr, scope: &Scope<'_>) -> bool {
    matches!(expr, Expr::Column { parts, span } if matches!(bind_column(parts, *span, scope), Ok((Bound::RowTime, _))))
}

/// Whether `expr` reads ROWTIME anywhere.
fn references_rowtime(expr: &Expr, scope: &Scope<'_>) -> bool {
    is_rowtime(expr, scope) || children(expr).into_iter().any(|child| references_rowtime(child, scope))
}

/// `expr` without the `MONOTONIC(...)` around it, if any: [SQLREF] sql-reference-monotonic, MONOTONIC returns
/// its argument and only declares it monotonic, so `GROUP BY MONOTONIC(FLOOR(s.ROWTIME TO MINUTE))` is that window.
pub(super) fn strip_monotonic(expr: &Expr) -> &Expr {
    match expr {
        Expr::Function { name, args, over: None, star: false, distinct: false, .. }
            if args.len() == 1 && name.name.eq_ignore_ascii_case("MONOTONIC") =>
        {
            strip_monotonic(&args[0])
        }
        _ => expr,
    }
}

/// The first aggregate call in `expr` (not looking into subqueries).
/// Where the first aggregate call of `select`'s select list is.
pub(super) fn first_aggregate_span(select: &Select) -> Option<Span> {
    select.items.iter().find_map(|item| match item {
        SelectItem::Expr { expr, .. } => find_aggregate(expr).map(Expr::span),
        _ => None,
    })
}

pub(super) fn find_aggregate(expr: &Expr) -> Option<&Expr> {
    if let Expr::Function { name, over: None, .. } = expr
        && AggKind::from_name(&name.name.to_ascii_uppercase()).is_some()
    {
        return Some(expr);
    }
    children(expr).into_iter().find_map(find_aggregate)
}

/// The direct subexpressions of `expr` (a CURSOR's query is not one).
pub(super) fn children(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Literal { .. } | Expr::Column { .. } | Expr::Cursor { .. } => Vec::new(),
        Expr::Unary { expr, .. } | Expr::Cast { expr, .. } | Expr::IsNull { expr, .. } | Expr::IsBool { expr, .. } => {
            vec![expr]
        }
        Expr::Binary { left, right, .. } | Expr::DatetimeMinus { left, right, .. } => vec![left, right],
        Expr::Function { args, .. } => args.iter().collect(),
        Expr::Case { operand, branches, otherwise, .. } => operand
            .iter()
            .map(|e| &**e)
            .chain(branches.iter().flat_map(|(w, t)| [w, t]))
            .chain(otherwise.iter().map(|e| &**e))
            .collect(),
        Expr::InList { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
        Expr::Between { expr, low, high, .. } => vec![expr, low, high],
        Expr::Like { expr, pattern, escape, .. } => {
            [&**expr, &**pattern].into_iter().chain(escape.iter().map(|e| &**e)).collect()
        }
    }
}

/// `expr` written canonically: columns as what they resolve to in `scope`, no spans, no spacing.
pub(super) fn fingerprint(expr: &Expr, scope: &Scope<'_>) -> String {
    let mut out = String::new();
    print(expr, scope, &mut out);
    out
}

fn print(expr: &Expr, scope: &Scope<'_>, out: &mut String) {
    // MONOTONIC(x) is x: a select item `x` shows the GROUP BY's `MONOTONIC(x)`.
    let expr = strip_monotonic(expr);
    let list = |items: &[&Expr], out: &mut String| {
        out.push('(');
        for item in items {
            print(item, scope, out);
            out.push(',');
        }
        out.push(')');
    };
    let _ = match expr {
        Expr::Literal { value: Literal::IntervalDayTime { millis, .. }, .. } => write!(out, "INTERVAL {millis}"),
        Expr::Literal { value, .. } => write!(out, "{:?}", value_of(value)),
        Expr::Column { parts, span } => match bind_column(parts, *span, scope) {
            Ok((bound, _)) => write!(out, "{bound:?}"),
            Err(_) => write!(out, "?{}", shown_column(parts)),
        },
        Expr::Function { name, star, distinct, args, .. } => {
            let _ = write!(
                out,
                "{}{}{}",
                name.name.to_ascii_uppercase(),
                if *star { "*" } else { "" },
                if *distinct { " DISTINCT" } else { "" }
            );
            list(&args.iter().collect::<Vec<_>>(), out);
            Ok(())
        }
        Expr::Cast { expr, to, .. } => {
            out.push_str("CAST");
            list(&[expr], out);
            write!(out, "{to}")
        }
        Expr::Unary { op, .. } => write!(out, "{op:?}"),
        Expr::Binary { op, .. } => write!(out, "{op:?}"),
        Expr::DatetimeMinus { leading, trailing, .. } => write!(out, "MINUS {leading:?} {trailing:?}"),
        Expr::IsNull { negated, .. } => write!(out, "ISNULL {negated}"),
        Expr::IsBool { value, negated, .. } => write!(out, "IS {value:?} {negated}"),
        Expr::InList { negated, .. } => write!(out, "IN {negated}"),
        Expr::Between { negated, .. } => write!(out, "BETWEEN {negated}"),
        Expr::Like { similar, negated, .. } => write!(out, "LIKE {similar} {negated}"),
        Expr::Case { operand, .. } => write!(out, "CASE {}", operand.is_some()),
        Expr::Cursor { span, .. } => write!(out, "CURSOR@{}", span.start),
    };
    if !matches!(expr, Expr::Function { .. } | Expr::Cast { .. }) {
        list(&children(expr), out);
    }
}

/// A literal as a value, so that `1.50` and `1.5` print alike only when they are equal values.
fn value_of(literal: &Literal) -> Value {
    literal.to_value()
}

mod distinct;
mod monotonic;
mod rowtime_copies;
pub(super) use distinct::as_group_by;
pub(super) use rowtime_copies::with_rowtime_copies;

#[cfg(test)]
mod tests;
