//! A subquery column that copies ROWTIME is ROWTIME to the query around it.
//!
//! Likewise a column the subquery declares `MONOTONIC(...) AS name` may key a GROUP BY outside, as
//! `GROUP BY MONOTONIC(name)` ([`super::monotonic`]).
//!
//! The real applications that use SELECT DISTINCT keep the inner row's time as a column and window on it outside:
//!
//! ```text
//!   SELECT STREAM ..., COUNT(d.event_id) FROM (SELECT STREAM DISTINCT rowtime AS window_time, ..., STEP(...) ...) AS d
//!   GROUP BY ..., STEP(d.window_time BY INTERVAL '1' MINUTE)
//! ```
//!
//! `window_time` holds each inner row's ROWTIME, so `STEP(d.window_time ...)` is a window on ROWTIME, as KDA, which
//! knows ROWTIME is monotonic and tracks it through a subquery, accepts. The outer query is read with such columns
//! replaced by ROWTIME (an unaliased select item keeps its column's name). A copy is a plain `ROWTIME [AS] name`
//! item of a single SELECT over one source (over a join, `s.ROWTIME` may differ from the joined row's) that does
//! not set ROWTIME itself (`... AS ROWTIME`).

use crate::ast::{Expr, FromItem, Ident, Query, Select, SelectItem};

/// `select` with the columns of its FROM subquery that copy ROWTIME read as ROWTIME, and those the subquery
/// declares MONOTONIC declared so in its GROUP BY; None when it reads none.
pub(in super::super) fn with_rowtime_copies(select: &Select) -> Option<Select> {
    let FromItem::Subquery { query, alias, .. } = &select.from else { return None };
    let copies = copies(query);
    let declared = declared_monotonic(query);
    if copies.is_empty() && declared.is_empty() {
        return None;
    }
    let alias = alias.as_ref().map(|a| a.name.as_str());
    let mut out = select.clone();
    let mut changed = false;
    for expr in &mut out.group_by {
        if names_one_of(expr, &declared, alias).is_some() {
            let name = Ident { name: "MONOTONIC".to_owned(), quoted: false, span: expr.span() };
            let span = expr.span();
            let column = std::mem::replace(expr, Expr::Literal { value: crate::ast::Literal::Null, span });
            *expr = Expr::Function { name, args: vec![column], star: false, distinct: false, over: None, span };
            changed = true;
        }
    }
    let mut rewrite = |expr: &mut Expr| changed |= replace(expr, &copies, alias);
    for item in &mut out.items {
        if let SelectItem::Expr { expr, alias: item_alias, .. } = item {
            if item_alias.is_none()
                && let Expr::Column { parts, .. } = expr
                && let Some(last) = parts.last()
            {
                *item_alias = Some(last.clone()); // The output column keeps its name.
            }
            rewrite(expr);
        }
    }
    out.filter.iter_mut().chain(out.group_by.iter_mut()).chain(out.having.iter_mut()).for_each(&mut rewrite);
    out.order_by.iter_mut().for_each(|item| rewrite(&mut item.expr));
    changed.then_some(out)
}

/// A select item with an alias: its expression and the alias.
fn aliased(item: &SelectItem) -> Option<(&Expr, &Ident)> {
    match item {
        SelectItem::Expr { expr, alias: Some(alias), .. } => Some((expr, alias)),
        _ => None,
    }
}

/// The names of `query`'s columns that copy its rows' ROWTIME.
fn copies(query: &Query) -> Vec<String> {
    let Query::Select(inner) = query else { return Vec::new() };
    if matches!(inner.from, FromItem::Join { .. }) {
        return Vec::new();
    }
    if inner.items.iter().filter_map(aliased).any(|(_, alias)| is_rowtime_name(alias)) {
        return Vec::new(); // It sets ROWTIME: its other ROWTIME items show the old one.
    }
    inner
        .items
        .iter()
        .filter_map(aliased)
        .filter(|(expr, _)| matches!(expr, Expr::Column { parts, .. } if parts.last().is_some_and(is_rowtime_name)))
        .map(|(_, alias)| alias.name.clone())
        .collect()
}

/// The names of `query`'s columns that are `MONOTONIC(...)` declarations ([SQLREF] sql-reference-monotonic): the
/// query around it may group by them, as the application that uses MONOTONIC does.
fn declared_monotonic(query: &Query) -> Vec<String> {
    let Query::Select(inner) = query else { return Vec::new() };
    let declaration = |expr: &Expr| matches!(expr, Expr::Function { name, args, over: None, .. } if args.len() == 1 && name.name.eq_ignore_ascii_case("MONOTONIC"));
    inner.items.iter().filter_map(aliased).filter(|(expr, _)| declaration(expr)).map(|(_, a)| a.name.clone()).collect()
}

/// The column of `names` that `expr` is (bare or qualified by `alias`), if any.
fn names_one_of<'e>(expr: &'e Expr, names: &[String], alias: Option<&str>) -> Option<&'e Ident> {
    let Expr::Column { parts, .. } = expr else { return None };
    let column = match parts.as_slice() {
        [column] => column,
        [qualifier, column] if Some(qualifier.name.as_str()) == alias => column,
        _ => return None,
    };
    names.contains(&column.name).then_some(column)
}

fn is_rowtime_name(ident: &Ident) -> bool {
    ident.name == "ROWTIME" && !ident.quoted
}

/// Replaces, in `expr`, each reference to a column of `copies` (bare or qualified by `alias`) with ROWTIME.
fn replace(expr: &mut Expr, copies: &[String], alias: Option<&str>) -> bool {
    if matches!(expr, Expr::Column { .. }) {
        if names_one_of(expr, copies, alias).is_none() {
            return false;
        }
        if let Expr::Column { parts, .. } = expr
            && let Some(last) = parts.last_mut()
        {
            *last = Ident { name: "ROWTIME".to_owned(), quoted: false, span: last.span };
        }
        return true;
    }
    let mut changed = false;
    for child in children_mut(expr) {
        changed |= replace(child, copies, alias);
    }
    changed
}

/// The direct subexpressions of `expr`, mutably (as [`super::children`]).
fn children_mut(expr: &mut Expr) -> Vec<&mut Expr> {
    match expr {
        Expr::Literal { .. } | Expr::Column { .. } | Expr::Cursor { .. } => Vec::new(),
        Expr::Unary { expr, .. } | Expr::Cast { expr, .. } | Expr::IsNull { expr, .. } | Expr::IsBool { expr, .. } => {
            vec![expr]
        }
        Expr::Binary { left, right, .. } | Expr::DatetimeMinus { left, right, .. } => vec![left, right],
        Expr::Function { args, .. } => args.iter_mut().collect(),
        Expr::Case { operand, branches, otherwise, .. } => operand
            .iter_mut()
            .map(|e| &mut **e)
            .chain(branches.iter_mut().flat_map(|(w, t)| [w, t]))
            .chain(otherwise.iter_mut().map(|e| &mut **e))
            .collect(),
        Expr::InList { expr, list, .. } => std::iter::once(&mut **expr).chain(list.iter_mut()).collect(),
        Expr::Between { expr, low, high, .. } => vec![expr, low, high],
        Expr::Like { expr, pattern, escape, .. } => {
            [&mut **expr, &mut **pattern].into_iter().chain(escape.iter_mut().map(|e| &mut **e)).collect()
        }
    }
}
