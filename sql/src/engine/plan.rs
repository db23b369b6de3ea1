//! The planner: from statements to a [`Program`], resolving every name and type once, and rejecting what
//! the engine does not run yet with "not supported yet: ..." at its place in the SQL.

use std::cell::Cell;

use crate::ast::{Expr, FromItem, Ident, Literal, Query, Select, SelectItem, Statement};
use crate::cast::can_cast;
use crate::error::{Span, SqlError, SqlErrorKind};
use crate::functions;
use crate::operator::{BinaryOp, UnaryOp};
use crate::ops;
use crate::types::SqlType;
use crate::value::Value;

use super::eval::Bound;
use super::{Program, Pump, Stage, StreamDef, StreamId};

/// Aggregate, window and table functions: real KDA SQL that the windows work will bring.
const NOT_YET: [&str; 22] = [
    "AVG",
    "COUNT",
    "SUM",
    "MIN",
    "MAX",
    "FIRST_VALUE",
    "LAST_VALUE",
    "EXP_AVG",
    "STDDEV_POP",
    "STDDEV_SAMP",
    "VAR_POP",
    "VAR_SAMP",
    "ANY",
    "EVERY",
    "LAG",
    "NTH_VALUE",
    "MONOTONIC",
    "TOP_K_ITEMS_TUMBLING",
    "COUNT_DISTINCT_ITEMS_TUMBLING",
    "RANDOM_CUT_FOREST",
    "RANDOM_CUT_FOREST_WITH_EXPLANATION",
    "HOTSPOTS",
];

fn not_supported(span: Span, what: &str) -> SqlError {
    SqlError::at(SqlErrorKind::NotSupported, span, format!("not supported yet: {what}"))
}

fn unknown(span: Span, message: String, candidates: impl IntoIterator<Item = String>, wanted: &str) -> SqlError {
    let error = SqlError::at(SqlErrorKind::Unknown, span, message);
    let best = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&c.to_lowercase(), &wanted.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) if c != wanted && c.eq_ignore_ascii_case(wanted) => error
            .with_help(format!("did you mean \"{c}\"? Quoted names keep their case; unquoted ones are upper-cased")),
        Some((_, c)) => error.with_help(format!("did you mean `{c}`?")),
        None => error,
    }
}

/// Compiles the application's SQL; every error found is returned, each at its place.
pub(super) fn compile(sql: &str, input: StreamDef) -> Result<Program, Vec<SqlError>> {
    let statements = crate::parser::parse(sql)?;
    let mut program = Program {
        streams: vec![input],
        pumps: Vec::new(),
        readers: Vec::new(),
        input: StreamId(0),
        reads_row_clock: false,
    };
    // Set while binding when a query calls CURRENT_ROW_TIMESTAMP: only then is the clock read per row.
    let reads_row_clock = Cell::new(false);
    let mut errors = Vec::new();
    for statement in &statements {
        if let Statement::CreateStream(create) = statement {
            if program.stream(&create.name.name).is_some() {
                let message = format!("stream {} is created twice (or is the input stream)", create.name);
                errors.push(SqlError::at(SqlErrorKind::Type, create.name.span, message));
                continue;
            }
            let columns = create.columns.iter().map(|c| (c.name.name.clone(), c.data_type.clone())).collect();
            program.streams.push(StreamDef { name: create.name.name.clone(), columns });
        }
    }
    for statement in &statements {
        let (name, insert) = match statement {
            Statement::CreateStream(_) => continue,
            Statement::CreatePump(pump) => (pump.name.name.clone(), &pump.insert),
            Statement::Insert(insert) => ("INSERT".to_owned(), insert),
        };
        match compile_pump(&program, name, insert, &reads_row_clock) {
            Ok(pumps) => program.pumps.extend(pumps),
            Err(e) => errors.push(e),
        }
    }
    program.readers = vec![Vec::new(); program.streams.len()];
    for (index, pump) in program.pumps.iter().enumerate() {
        program.readers[pump.source.0].push(index);
    }
    if let Some(e) = find_cycle(&program, &statements) {
        errors.push(e);
    }
    program.reads_row_clock = reads_row_clock.get();
    if errors.is_empty() { Ok(program) } else { Err(errors) }
}

/// A pump whose rows come back to its own source would run forever: reject it.
fn find_cycle(program: &Program, statements: &[Statement]) -> Option<SqlError> {
    let reaches = |from: StreamId, to: StreamId| {
        let mut seen = vec![false; program.streams.len()];
        let mut stack = vec![from];
        while let Some(stream) = stack.pop() {
            if stream == to {
                return true;
            }
            if !std::mem::replace(&mut seen[stream.0], true) {
                stack.extend(program.readers[stream.0].iter().map(|&p| program.pumps[p].target));
            }
        }
        false
    };
    let pump = program.pumps.iter().find(|p| reaches(p.target, p.source))?;
    let span = statements
        .iter()
        .find_map(|s| match s {
            Statement::CreatePump(p) if p.name.name == pump.name => Some(p.name.span),
            _ => None,
        })
        .unwrap_or_default();
    Some(SqlError::at(
        SqlErrorKind::Type,
        span,
        format!("pump {} feeds rows back into the stream it reads: a cycle", pump.name),
    ))
}

fn compile_pump(
    program: &Program,
    name: String,
    insert: &crate::ast::Insert,
    clock: &Cell<bool>,
) -> Result<Vec<Pump>, SqlError> {
    let target = program.stream(&insert.target.name).ok_or_else(|| {
        unknown(
            insert.target.span,
            format!("unknown stream {}", insert.target),
            program.stream_names().map(str::to_owned),
            &insert.target.name,
        )
    })?;
    let target_def = program.stream_def(target);
    let listed: Vec<usize> = if insert.columns.is_empty() {
        (0..target_def.columns.len()).collect()
    } else {
        insert
            .columns
            .iter()
            .map(|c| {
                target_def.columns.iter().position(|(n, _)| *n == c.name).ok_or_else(|| {
                    unknown(
                        c.span,
                        format!("stream {} has no column {c}", insert.target),
                        target_def.columns.iter().map(|(n, _)| n.clone()),
                        &c.name,
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    let branches = compile_query(program, &insert.query, clock)?;
    let mut pumps = Vec::new();
    for branch in branches {
        if branch.columns.len() != listed.len() {
            let message = format!(
                "the query gives {} columns, but the INSERT into {} fills {}",
                branch.columns.len(),
                insert.target,
                listed.len()
            );
            return Err(SqlError::at(SqlErrorKind::Type, insert.query.span(), message));
        }
        for ((column_name, ty), &target_index) in branch.columns.iter().zip(&listed) {
            let (target_name, target_ty) = &target_def.columns[target_index];
            if !assignable(ty, target_ty) {
                let message = format!(
                    "column {target_name} of {} is {target_ty}, but the query gives {ty} (`{column_name}`)",
                    insert.target
                );
                return Err(SqlError::at(SqlErrorKind::Type, insert.query.span(), message));
            }
        }
        let mut target_columns = vec![None; target_def.columns.len()];
        for (position, &target_index) in listed.iter().enumerate() {
            target_columns[target_index] = Some(position);
        }
        pumps.push(Pump { name: name.clone(), source: branch.source, stages: branch.stages, target, target_columns });
    }
    Ok(pumps)
}

/// Whether a query column of type `from` may fill a column of type `to` (same family, as KDA checks).
fn assignable(from: &SqlType, to: &SqlType) -> bool {
    from == &SqlType::Null
        || (from.is_numeric() && to.is_numeric())
        || (from.is_string() && to.is_string())
        || from == to
        || (from.is_datetime() && to.is_datetime() && can_cast(from, to))
        || matches!(
            (from, to),
            (SqlType::Binary(_) | SqlType::Varbinary(_), SqlType::Binary(_) | SqlType::Varbinary(_))
        )
}

/// One way rows reach a pump's target: a source stream and the stages from it (a `UNION ALL` has several).
struct Branch {
    source: StreamId,
    stages: Vec<Stage>,
    columns: Vec<(String, SqlType)>,
}

/// The columns an expression sees: the rows of one source, under an optional qualifier.
struct Scope<'a> {
    qualifier: Option<&'a str>,
    columns: &'a [(String, SqlType)],
    /// Set when an expression calls CURRENT_ROW_TIMESTAMP.
    clock: &'a Cell<bool>,
}

fn compile_query(program: &Program, query: &Query, clock: &Cell<bool>) -> Result<Vec<Branch>, SqlError> {
    match query {
        Query::Select(select) => compile_select(program, select, clock),
        Query::UnionAll { left, right, order_by, span } => {
            if let Some(first) = order_by.first() {
                return Err(not_supported(first.span, "ORDER BY"));
            }
            let mut branches = compile_query(program, left, clock)?;
            let right = compile_query(program, right, clock)?;
            if let (Some(l), Some(r)) = (branches.first(), right.first())
                && (l.columns.len() != r.columns.len()
                    || l.columns.iter().zip(&r.columns).any(|((_, a), (_, b))| !assignable(b, a)))
            {
                let message = "the two sides of UNION ALL must have the same number and types of columns";
                return Err(SqlError::at(SqlErrorKind::Type, *span, message));
            }
            branches.extend(right);
            Ok(branches)
        }
    }
}

fn compile_select(program: &Program, select: &Select, clock: &Cell<bool>) -> Result<Vec<Branch>, SqlError> {
    if select.distinct {
        return Err(not_supported(select.span, "SELECT DISTINCT"));
    }
    if let Some(stagger) = &select.stagger {
        return Err(not_supported(stagger.span, "WINDOWED BY STAGGER"));
    }
    if let Some(first) = select.group_by.first() {
        return Err(not_supported(first.span(), "GROUP BY (tumbling windows)"));
    }
    if let Some(having) = &select.having {
        return Err(not_supported(having.span(), "HAVING"));
    }
    if let Some(window) = select.windows.first() {
        return Err(not_supported(window.span, "WINDOW (sliding windows)"));
    }
    if let Some(first) = select.order_by.first() {
        return Err(not_supported(first.span, "ORDER BY"));
    }
    // Where rows come from: a stream, or each branch of a subquery.
    let sources: Vec<(Branch, Option<&Ident>)> = match &select.from {
        FromItem::Stream { name, window, alias, span } => {
            if window.is_some() {
                return Err(not_supported(*span, "a window on a stream in FROM"));
            }
            let id = program.stream(&name.name).ok_or_else(|| {
                unknown(
                    name.span,
                    format!("unknown stream {name}"),
                    program.stream_names().map(str::to_owned),
                    &name.name,
                )
            })?;
            let columns = program.stream_def(id).columns.clone();
            vec![(Branch { source: id, stages: Vec::new(), columns }, Some(alias.as_ref().unwrap_or(name)))]
        }
        FromItem::Subquery { query, alias, .. } => {
            compile_query(program, query, clock)?.into_iter().map(|branch| (branch, alias.as_ref())).collect()
        }
        FromItem::TableFunction { span, name, .. } => {
            return Err(not_supported(*span, &format!("table function {name}")));
        }
        FromItem::Join { span, .. } => return Err(not_supported(*span, "joins")),
    };
    let mut branches = Vec::new();
    for (mut branch, qualifier) in sources {
        let scope = Scope { qualifier: qualifier.map(|q| q.name.as_str()), columns: &branch.columns, clock };
        let (stage, columns) = compile_stage(select, &scope)?;
        branch.stages.push(stage);
        branch.columns = columns;
        branches.push(branch);
    }
    Ok(branches)
}

fn compile_stage(select: &Select, scope: &Scope<'_>) -> Result<(Stage, Vec<(String, SqlType)>), SqlError> {
    let filter = match &select.filter {
        Some(expr) => {
            let (bound, ty) = bind(expr, scope)?;
            if !matches!(ty, SqlType::Boolean | SqlType::Null) {
                return Err(SqlError::at(SqlErrorKind::Type, expr.span(), format!("WHERE needs a BOOLEAN, not {ty}")));
            }
            Some(bound)
        }
        None => None,
    };
    let mut projections = Vec::new();
    let mut columns = Vec::new();
    let mut rowtime = None;
    for item in &select.items {
        match item {
            SelectItem::Wildcard { .. } => {
                for (i, column) in scope.columns.iter().enumerate() {
                    projections.push(Bound::Column(i));
                    columns.push(column.clone());
                }
            }
            SelectItem::QualifiedWildcard { qualifier, span } => {
                let named = qualifier.last().map(|q| q.name.as_str());
                if qualifier.len() != 1 || named != scope.qualifier {
                    let message = format!(
                        "no source named {} in FROM",
                        qualifier.last().map_or(String::new(), |q| q.to_string())
                    );
                    return Err(SqlError::at(SqlErrorKind::Unknown, *span, message));
                }
                for (i, column) in scope.columns.iter().enumerate() {
                    projections.push(Bound::Column(i));
                    columns.push(column.clone());
                }
            }
            SelectItem::Expr { expr, alias, .. } => {
                let (bound, ty) = bind(expr, scope)?;
                if alias.as_ref().is_some_and(|a| a.name == "ROWTIME" && !a.quoted) {
                    if ty != SqlType::Timestamp {
                        let message = format!("ROWTIME must be a TIMESTAMP, not {ty}");
                        return Err(SqlError::at(SqlErrorKind::Type, expr.span(), message));
                    }
                    rowtime = Some(bound);
                    continue;
                }
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
    Ok((Stage { filter, projections, rowtime }, columns))
}

fn literal_type(literal: &Literal) -> SqlType {
    match literal {
        Literal::Null | Literal::Unknown => SqlType::Null,
        Literal::Boolean(_) => SqlType::Boolean,
        Literal::Integer(i) if i32::try_from(*i).is_ok() => SqlType::Integer,
        Literal::Integer(_) => SqlType::BigInt,
        Literal::Decimal(d) => SqlType::Decimal { precision: 19, scale: d.scale },
        Literal::Double(_) => SqlType::Double,
        Literal::String(s) => SqlType::Varchar(s.chars().count().max(1) as u32),
        Literal::Binary(b) => SqlType::Varbinary(b.len().max(1) as u32),
        Literal::Date(_) => SqlType::Date,
        Literal::Time(_) => SqlType::Time,
        Literal::Timestamp(_) => SqlType::Timestamp,
        Literal::IntervalDayTime { .. } => SqlType::IntervalDayTime,
        Literal::IntervalYearMonth { .. } => SqlType::IntervalYearMonth,
    }
}

/// Resolves a (possibly qualified, possibly dotted into a row value) column reference.
fn bind_column(parts: &[Ident], span: Span, scope: &Scope<'_>) -> Result<(Bound, SqlType), SqlError> {
    let mut rest = parts;
    if rest.len() > 1 && scope.qualifier == Some(rest[0].name.as_str()) {
        rest = &rest[1..];
    }
    let Some((first, fields)) = rest.split_first() else {
        return Err(SqlError::at(SqlErrorKind::Unknown, span, "a column name is missing"));
    };
    let (mut bound, mut ty) = match scope.columns.iter().position(|(n, _)| *n == first.name) {
        Some(i) => (Bound::Column(i), scope.columns[i].1.clone()),
        None if first.name == "ROWTIME" && !first.quoted => (Bound::RowTime, SqlType::Timestamp),
        None => {
            return Err(unknown(
                first.span,
                format!("unknown column {first}"),
                scope.columns.iter().map(|(n, _)| n.clone()),
                &first.name,
            ));
        }
    };
    for field in fields {
        let SqlType::Row(row_fields) = &ty else {
            return Err(SqlError::at(SqlErrorKind::Type, field.span, format!("{ty} has no field {field}")));
        };
        let Some(index) = row_fields.iter().position(|(n, _)| *n == field.name) else {
            return Err(unknown(
                field.span,
                format!("the row has no field {field}"),
                row_fields.iter().map(|(n, _)| n.clone()),
                &field.name,
            ));
        };
        ty = row_fields[index].1.clone();
        bound = Bound::Field(Box::new(bound), index);
    }
    Ok((bound, ty))
}

fn type_error(span: Span, message: String) -> SqlError {
    SqlError::at(SqlErrorKind::Type, span, message)
}

/// Binds an expression: names to indexes, functions prepared, types checked.
fn bind(expr: &Expr, scope: &Scope<'_>) -> Result<(Bound, SqlType), SqlError> {
    Ok(match expr {
        Expr::Literal { value, .. } => (Bound::Literal(value.to_value()), literal_type(value)),
        Expr::Column { parts, span } => bind_column(parts, *span, scope)?,
        Expr::Unary { op, expr, span } => {
            let (inner, ty) = bind(expr, scope)?;
            let ty = ops::unary_type(*op, &ty).map_err(|m| type_error(*span, m))?;
            (Bound::Unary(*op, Box::new(inner)), ty)
        }
        Expr::Binary { left, op, right, span } => {
            let (l, lt) = bind(left, scope)?;
            let (r, rt) = bind(right, scope)?;
            let ty = ops::binary_type(*op, &lt, &rt).map_err(|m| type_error(*span, m))?;
            (Bound::Binary(*op, Box::new(l), Box::new(r)), ty)
        }
        Expr::Function { name, args, star, distinct, over, span } => {
            let upper = name.name.to_ascii_uppercase();
            if over.is_some() {
                return Err(not_supported(*span, "OVER (sliding windows)"));
            }
            if *star || *distinct || NOT_YET.contains(&upper.as_str()) {
                return Err(not_supported(*span, &format!("aggregate and window function {upper}")));
            }
            if upper == "CURRENT_ROW_TIMESTAMP" {
                scope.clock.set(true);
            }
            let Some(function) = functions::lookup(&upper) else {
                return Err(unknown(
                    name.span,
                    format!("unknown function {name}"),
                    functions::names().map(str::to_owned),
                    &upper,
                ));
            };
            let mut bound = Vec::with_capacity(args.len());
            let mut types = Vec::with_capacity(args.len());
            for arg in args {
                let (b, t) = bind(arg, scope)?;
                bound.push(b);
                types.push(t);
            }
            let literals: Vec<Option<&Value>> =
                bound.iter().map(|b| if let Bound::Literal(v) = b { Some(v) } else { None }).collect();
            let ty = (function.return_type)(&types, &literals)
                .map_err(|m| type_error(*span, format!("{}: {m}", function.name)))?;
            let prepared = (function.prepare)(&types, &literals)
                .map_err(|m| type_error(*span, format!("{}: {m}", function.name)))?;
            (Bound::Call(prepared, bound), ty)
        }
        Expr::Cast { expr, to, span } => {
            let (inner, from) = bind(expr, scope)?;
            if from != SqlType::Null && !can_cast(&from, to) {
                return Err(type_error(*span, format!("cannot CAST {from} to {to}")));
            }
            (Bound::Cast(Box::new(inner), from, to.clone()), to.clone())
        }
        Expr::Case { operand, branches, otherwise, span } => {
            let operand = operand.as_ref().map(|o| bind(o, scope)).transpose()?;
            let mut whens = Vec::new();
            let mut result = SqlType::Null;
            for (when, then) in branches {
                let (w, _) = bind(when, scope)?;
                let (t, tt) = bind(then, scope)?;
                result =
                    unify(result, tt).ok_or_else(|| type_error(*span, "CASE branches of different types".into()))?;
                whens.push((w, t));
            }
            let otherwise = match otherwise {
                Some(e) => {
                    let (b, t) = bind(e, scope)?;
                    result =
                        unify(result, t).ok_or_else(|| type_error(*span, "CASE branches of different types".into()))?;
                    Some(Box::new(b))
                }
                None => None,
            };
            (Bound::Case { operand: operand.map(|(b, _)| Box::new(b)), whens, otherwise }, result)
        }
        Expr::IsNull { expr, negated, .. } => {
            (Bound::IsNull(Box::new(bind(expr, scope)?.0), *negated), SqlType::Boolean)
        }
        Expr::IsBool { expr, value, negated, .. } => {
            let (inner, _) = bind(expr, scope)?;
            let test = match value {
                // IS UNKNOWN: the value is NULL.
                None => Bound::IsNull(Box::new(inner), false),
                // IS TRUE / IS FALSE: never NULL itself.
                Some(wanted) => {
                    let condition = if *wanted { inner } else { Bound::Unary(UnaryOp::Not, Box::new(inner)) };
                    Bound::Case {
                        operand: None,
                        whens: vec![(condition, Bound::Literal(Value::Boolean(true)))],
                        otherwise: Some(Box::new(Bound::Literal(Value::Boolean(false)))),
                    }
                }
            };
            let test = if *negated { Bound::Unary(UnaryOp::Not, Box::new(test)) } else { test };
            (test, SqlType::Boolean)
        }
        Expr::InList { expr, list, negated, .. } => {
            let (inner, _) = bind(expr, scope)?;
            let list = list.iter().map(|e| bind(e, scope).map(|(b, _)| b)).collect::<Result<_, _>>()?;
            (Bound::InList(Box::new(inner), list, *negated), SqlType::Boolean)
        }
        Expr::Between { expr, low, high, negated, .. } => {
            let (inner, _) = bind(expr, scope)?;
            let (lo, _) = bind(low, scope)?;
            let (hi, _) = bind(high, scope)?;
            (Bound::Between(Box::new(inner), Box::new(lo), Box::new(hi), *negated), SqlType::Boolean)
        }
        Expr::Like { expr, pattern, escape, similar, negated, span } => {
            let (inner, _) = bind(expr, scope)?;
            let (pattern, _) = bind(pattern, scope)?;
            let escape = escape.as_ref().map(|e| bind(e, scope).map(|(b, _)| b)).transpose()?;
            let _ = span;
            let like = Bound::Like {
                expr: Box::new(inner),
                pattern: Box::new(pattern),
                escape: escape.map(Box::new),
                similar: *similar,
                negated: *negated,
            };
            (like, SqlType::Boolean)
        }
        Expr::Cursor { span, .. } => return Err(not_supported(*span, "CURSOR outside a table function")),
        Expr::DatetimeMinus { span, .. } => return Err(not_supported(*span, "(a - b) <unit> datetime intervals")),
    })
}

/// The common type of two CASE branches.
fn unify(a: SqlType, b: SqlType) -> Option<SqlType> {
    match (&a, &b) {
        (SqlType::Null, _) => Some(b),
        (_, SqlType::Null) => Some(a),
        _ if a == b => Some(a),
        (SqlType::Varchar(x) | SqlType::Char(x), SqlType::Varchar(y) | SqlType::Char(y)) => {
            Some(SqlType::Varchar(*x.max(y)))
        }
        _ if a.is_numeric() && b.is_numeric() => ops::binary_type(BinaryOp::Add, &a, &b).ok(),
        _ => None,
    }
}
