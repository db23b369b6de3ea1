//! A subquery on the right of a join, `FROM s OVER (RANGE ...) AS o JOIN (SELECT STREAM ... FROM t WHERE ...) AS r
//! ON ...`, which KDA's FROM grammar allows (a relation may be "a subquery enclosed in parentheses", [SQLREF]
//! sql-reference-from-clause). The join stage reads its right side as an in-app stream (its rows are fed to the
//! stage as they are inserted), so the subquery becomes one, before the pumps are compiled:
//!
//! ```text
//!   PUMP "P" ... FROM s OVER w AS o JOIN (SELECT STREAM ...) AS r ON ...
//!     ══▶ stream "P$JOIN1" (the subquery's columns), filled by pump "P$JOIN1" (the subquery)
//!         PUMP "P" ... FROM s OVER w AS o JOIN "P$JOIN1" AS r ON ...
//! ```
//!
//! KDA puts a window (OVER) only after a stream's name, so the subquery has none: the left stream needs one, as
//! every stream-stream join needs a window on a side. A subquery over the reference table is refused: the table
//! itself joins, filtered in ON.

use std::cell::Cell;

use crate::ast::{FromItem, Ident, Query};
use crate::error::{SqlError, SqlErrorKind};

use super::super::plan::{self, not_supported};
use super::super::{Program, Pump, StreamDef, StreamId};

/// Turns every subquery on the right of a join in `query` (pump `pump`'s) into an in-app stream of `program`
/// filled by a pump of its own.
pub(in super::super) fn hoist_right_subqueries(
    program: &mut Program,
    pump: &str,
    query: &mut Query,
    clock: &Cell<bool>,
) -> Result<(), SqlError> {
    match query {
        Query::Select(select) => hoist_from(program, pump, &mut select.from, clock),
        Query::UnionAll { left, right, .. } => {
            hoist_right_subqueries(program, pump, left, clock)?;
            hoist_right_subqueries(program, pump, right, clock)
        }
    }
}

fn hoist_from(program: &mut Program, pump: &str, from: &mut FromItem, clock: &Cell<bool>) -> Result<(), SqlError> {
    let FromItem::Join { left, right, .. } = from else {
        if let FromItem::Subquery { query, .. } = from {
            hoist_right_subqueries(program, pump, query, clock)?;
        }
        return Ok(());
    };
    hoist_from(program, pump, left, clock)?;
    let FromItem::Subquery { query, alias, span } = right.as_mut() else {
        return hoist_from(program, pump, right, clock);
    };
    hoist_right_subqueries(program, pump, query, clock)?;
    if reads_table(program, query) {
        let what = "a subquery over the reference table on the right of a join";
        return Err(not_supported(*span, what).with_help("join the table itself and filter it in ON".to_owned()));
    }
    if !matches!(left.as_ref(), FromItem::Stream { window: Some(_), .. }) {
        let message = "a join with a subquery needs a window on its left stream: the subquery can have none";
        return Err(SqlError::at(SqlErrorKind::Type, *span, message).with_help(
            "as in FROM s OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o JOIN (SELECT STREAM ...) AS r ON ..."
                .to_owned(),
        ));
    }
    let branches = plan::compile_query(program, query, clock)?;
    let Some(first) = branches.first() else { return Ok(()) };
    let name = (1..).map(|n| format!("{pump}$JOIN{n}")).find(|n| program.stream(n).is_none()).unwrap_or_default();
    let columns = first.columns.clone();
    let width = columns.len();
    program.streams.push(StreamDef { name: name.clone(), columns });
    let target = StreamId(program.streams.len() - 1);
    for branch in branches {
        let target_columns = (0..width).map(Some).collect();
        program.pumps.push(Pump {
            name: name.clone(),
            source: branch.source,
            stages: branch.stages,
            target,
            target_columns,
        });
    }
    let span = *span;
    let stream = Ident { name: name.clone(), quoted: true, span };
    let alias = alias.take().or_else(|| Some(stream.clone()));
    **right = FromItem::Stream { name: stream, window: None, alias, span };
    Ok(())
}

/// Whether `query` reads the reference table directly (in a FROM that is not a join with a stream first).
fn reads_table(program: &Program, query: &Query) -> bool {
    match query {
        Query::Select(select) => match &select.from {
            FromItem::Stream { name, .. } => program.table(&name.name).is_some(),
            _ => false,
        },
        Query::UnionAll { left, right, .. } => reads_table(program, left) || reads_table(program, right),
    }
}
