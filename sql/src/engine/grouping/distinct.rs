//! `SELECT STREAM DISTINCT` planned as the tumbling GROUP BY it means.
//!
//! [SQLREF] sql-reference-select-clause ("Streaming SELECT DISTINCT"): a streaming SELECT DISTINCT needs a
//! non-constant monotonic expression in its select list, for the same reason a streaming GROUP BY does; a ROWTIME
//! item is ignored for duplicate elimination; a row comes out when its window is complete, e.g.
//! `SELECT STREAM DISTINCT ROWTIME, prodId, FLOOR(Orders.ROWTIME TO DAY)` gives each day's distinct products.
//! That is `GROUP BY` every select item but ROWTIME, which the grouping planner already runs: one row per
//! distinct tuple per window, at ROWTIME = the window's end, ROWTIME items showing that end.
//!
//! ```text
//!   SELECT STREAM DISTINCT ROWTIME AS t, "k", STEP(s.ROWTIME BY INTERVAL '1' MINUTE) AS w FROM s
//!     ══▶ SELECT STREAM ROWTIME AS t, "k", STEP(...) AS w FROM s GROUP BY "k", STEP(...)
//! ```
//!
//! A bare ROWTIME is a group key only when nothing else can be the window (`SELECT DISTINCT ROWTIME, ticker`,
//! which [SQLREF] sql-reference-order-by-clause accepts): rows then collapse when they share a ROWTIME.

use crate::ast::{Expr, Select, SelectItem};
use crate::error::SqlError;

use super::super::plan::{not_supported, type_error};
use super::super::sliding_plan::find_over;
use super::{children, first_aggregate_span, is_grouped, strip_monotonic};

/// The GROUP BY query that `select` (a SELECT DISTINCT) means, or why KDA (or sluice) refuses it.
pub(in super::super) fn as_group_by(select: &Select) -> Result<Select, SqlError> {
    if is_grouped(select) {
        let place = select.group_by.first().map_or(select.span, Expr::span);
        let place = first_aggregate_span(select).unwrap_or(place);
        return Err(not_supported(
            place,
            "SELECT DISTINCT with GROUP BY or aggregates (GROUP BY alone gives distinct groups)",
        ));
    }
    if let Some(stagger) = &select.stagger {
        return Err(not_supported(stagger.span, "SELECT DISTINCT with WINDOWED BY STAGGER"));
    }
    let mut exprs = Vec::new();
    for item in &select.items {
        match item {
            SelectItem::Wildcard { span } | SelectItem::QualifiedWildcard { span, .. } => {
                return Err(type_error(*span, "`*` in a SELECT DISTINCT on a stream: list the columns".to_owned())
                    .with_help(needs_window_help()));
            }
            SelectItem::Expr { expr, .. } => {
                if let Some(over) = find_over(expr) {
                    return Err(not_supported(over.span(), "SELECT DISTINCT with a sliding window (OVER)"));
                }
                exprs.push(expr);
            }
        }
    }
    // An expression of ROWTIME other than ROWTIME itself is the window (or the grouping planner says why it
    // cannot be one); so is a MONOTONIC(...) declaration.
    let windows = exprs.iter().any(|e| !is_rowtime(e) && reads_rowtime(e));
    let declared = exprs.iter().any(|e| is_monotonic_call(e));
    let mut group_by: Vec<Expr> = exprs.iter().filter(|e| !is_rowtime(e)).map(|e| (*e).clone()).collect();
    if !windows && !declared {
        match exprs.iter().find(|e| is_rowtime(e)) {
            Some(rowtime) => group_by.push((*rowtime).clone()),
            None => {
                let message = "SELECT DISTINCT on a stream needs a monotonic expression of ROWTIME among its columns";
                return Err(type_error(select.span, message.to_owned()).with_help(needs_window_help()));
            }
        }
    }
    Ok(Select { distinct: false, group_by, ..select.clone() })
}

fn needs_window_help() -> String {
    "add a window to the select list, as in SELECT STREAM DISTINCT \"k\", STEP(s.ROWTIME BY INTERVAL '1' MINUTE) \
     FROM ...: each window's distinct rows come out when it closes"
        .to_owned()
}

/// Whether `expr` is a bare (possibly qualified) ROWTIME column.
fn is_rowtime(expr: &Expr) -> bool {
    matches!(expr, Expr::Column { parts, .. } if parts.last().is_some_and(|p| p.name == "ROWTIME" && !p.quoted))
}

/// Whether `expr` reads ROWTIME anywhere (by name: the grouping planner resolves it).
fn reads_rowtime(expr: &Expr) -> bool {
    is_rowtime(expr) || children(expr).into_iter().any(reads_rowtime)
}

/// Whether `expr` is a `MONOTONIC(...)` call: a declared monotonic key, which the grouping planner accepts as the
/// window of a GROUP BY.
fn is_monotonic_call(expr: &Expr) -> bool {
    !std::ptr::eq(strip_monotonic(expr), expr)
}
