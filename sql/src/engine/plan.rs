//! The planner: from statements to a [`Program`], resolving every name and type once, and rejecting what
//! the engine does not run yet with "not supported yet: ..." at its place in the SQL. A SELECT that aggregates
//! is planned by [`super::grouping`].

use std::cell::Cell;

use crate::ast::{Expr, FromItem, Ident, Literal, Query, Select, SelectItem, Statement};
use crate::cast::can_cast;
use crate::error::{Span, SqlError, SqlErrorKind};
use crate::functions;
use crate::operator::{BinaryOp, TimeUnit, UnaryOp};
use crate::ops;
use crate::types::SqlType;
use crate::value::Value;

use super::aggregate::AggKind;
use super::eval::{Bound, Qualifier};
use super::grouping::{self, Grouped};
use super::sliding_plan::{self, Windowed};
use super::{MapStage, Program, Pump, Stage, StreamDef, StreamId};

pub(super) fn not_supported(span: Span, what: &str) -> SqlError {
    SqlError::at(SqlErrorKind::NotSupported, span, format!("not supported yet: {what}"))
}

pub(super) fn unknown(
    span: Span,
    message: String,
    candidates: impl IntoIterator<Item = String>,
    wanted: &str,
) -> SqlError {
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
    compile_with(sql, input, Vec::new())
}

/// Compiles the application's SQL with reference `tables` it may join ([`super::join`]).
pub(super) fn compile_with(sql: &str, input: StreamDef, tables: Vec<StreamDef>) -> Result<Program, Vec<SqlError>> {
    let mut statements = crate::parser::parse(sql)?;
    let mut program = Program {
        streams: vec![input],
        pumps: Vec::new(),
        readers: Vec::new(),
        input: StreamId(0),
        reads_row_clock: false,
        pump_order: Vec::new(),
        window_states: 0,
        sliding_states: 0,
        operator_states: 0,
        tables: tables
            .into_iter()
            .map(|def| super::join::RefTable { def, rows: std::sync::Arc::new(Vec::new()) })
            .collect(),
        join_readers: Vec::new(),
        join_states: 0,
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
            if program.table(&create.name.name).is_some() {
                let message = format!("stream {} has the name of the reference table", create.name);
                errors.push(SqlError::at(SqlErrorKind::Type, create.name.span, message));
                continue;
            }
            let columns = create.columns.iter().map(|c| (c.name.name.clone(), c.data_type.clone())).collect();
            program.streams.push(StreamDef { name: create.name.name.clone(), columns });
        }
    }
    // A subquery on the right of a join becomes an in-app stream of its own ([`super::join::hoist_right_subqueries`]).
    let mut hoisted = vec![true; statements.len()];
    for (statement, ok) in statements.iter_mut().zip(&mut hoisted) {
        let (name, insert) = match statement {
            Statement::CreateStream(_) => continue,
            Statement::CreatePump(pump) => (pump.name.name.clone(), &mut pump.insert),
            Statement::Insert(insert) => ("INSERT".to_owned(), insert),
        };
        if let Err(e) = super::join::hoist_right_subqueries(&mut program, &name, &mut insert.query, &reads_row_clock) {
            errors.push(e);
            *ok = false;
        }
    }
    for statement in statements.iter().zip(&hoisted).filter_map(|(s, ok)| ok.then_some(s)) {
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
    program.join_readers = super::join::readers(&program);
    if let Some(e) = find_cycle(&program, &statements) {
        errors.push(e);
    } else {
        plan_windows(&mut program);
    }
    program.reads_row_clock = reads_row_clock.get();
    if errors.is_empty() { Ok(program) } else { Err(errors) }
}

/// Orders pumps so that every pump comes after those writing the stream it reads, numbers the GROUP BY stages'
/// states, and marks those whose ROWTIME is the input's (no `AS ROWTIME` on the way): the clock closes their
/// windows. Needs a program without cycles.
fn plan_windows(program: &mut Program) {
    let streams = program.streams.len();
    // Streams in dependency order (Kahn): a stream comes after every stream a pump into it reads.
    let mut waiting = vec![0usize; streams];
    for pump in &program.pumps {
        waiting[pump.target.0] += 1;
    }
    for &(p, _) in program.join_readers.iter().flatten() {
        waiting[program.pumps[p].target.0] += 1; // A join's target also waits for its right stream.
    }
    let mut ready: Vec<usize> = (0..streams).filter(|s| waiting[*s] == 0).collect();
    let mut order = Vec::with_capacity(streams);
    while let Some(stream) = ready.pop() {
        order.push(stream);
        for &p in program.readers[stream].iter().chain(program.join_readers[stream].iter().map(|(p, _)| p)) {
            let target = program.pumps[p].target.0;
            waiting[target] -= 1;
            if waiting[target] == 0 {
                ready.push(target);
            }
        }
    }
    let rank = |stream: StreamId| order.iter().position(|s| *s == stream.0).unwrap_or(usize::MAX);
    let mut pumps: Vec<usize> = (0..program.pumps.len()).collect();
    pumps.sort_by_key(|&p| rank(program.pumps[p].source)); // Stable: creation order among equals.
    // A stream's ROWTIME is the input's when every pump into it keeps its source's, from such a source.
    let mut input_timed = vec![false; streams];
    input_timed[program.input.0] = true;
    for &stream in &order {
        let writers: Vec<&Pump> = program.pumps.iter().filter(|p| p.target.0 == stream).collect();
        if !writers.is_empty() {
            input_timed[stream] = writers.iter().all(|p| input_timed[p.source.0] && !p.sets_rowtime());
        }
    }
    let (mut states, mut slides, mut operators, mut joins) = (0, 0, 0, 0);
    for &p in &pumps {
        let pump = &mut program.pumps[p];
        let mut timed = input_timed[pump.source.0];
        for stage in &mut pump.stages {
            match stage {
                Stage::Map(map) => timed &= map.rowtime.is_none(),
                Stage::Aggregate(aggregate) => {
                    aggregate.clock = timed;
                    aggregate.state = states;
                    states += 1;
                }
                Stage::Sliding(sliding) => {
                    sliding.clock = timed;
                    sliding.state = slides;
                    slides += 1;
                }
                Stage::Operator(operator) => {
                    operator.clock = timed;
                    operator.state = operators;
                    operators += 1;
                }
                Stage::Join(join) => {
                    if let super::join::Right::Stream { stream, .. } = join.right {
                        timed &= input_timed[stream.0];
                    }
                    join.clock = timed;
                    join.state = joins;
                    joins += 1;
                }
            }
        }
    }
    program.pump_order = pumps;
    program.window_states = states;
    program.sliding_states = slides;
    program.operator_states = operators;
    program.join_states = joins;
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
                stack.extend(program.join_readers[stream.0].iter().map(|&(p, _)| program.pumps[p].target));
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
pub(super) struct Branch {
    pub source: StreamId,
    pub stages: Vec<Stage>,
    pub columns: Vec<(String, SqlType)>,
    /// Per column, the qualifier of a day-time interval column whose qualifier is known (`(a - b) SECOND`).
    pub intervals: Vec<Option<Qualifier>>,
}

/// The columns an expression sees: the rows of one source, under an optional qualifier.
#[derive(Clone)]
pub(super) struct Scope<'a> {
    pub qualifier: Option<&'a str>,
    pub columns: &'a [(String, SqlType)],
    /// Per column, the qualifier of an interval column, when known.
    pub intervals: &'a [Option<Qualifier>],
    /// Set when an expression calls CURRENT_ROW_TIMESTAMP.
    pub clock: &'a Cell<bool>,
    /// In a GROUP BY query's select list, HAVING and ORDER BY: what grouping resolves first.
    pub grouped: Option<&'a Grouped<'a>>,
    /// In the select list of a query with sliding windows: resolves the calls with OVER.
    pub windowed: Option<&'a Windowed<'a>>,
    /// In a query over a join: the sources' names and columns.
    pub joined: Option<&'a super::join::JoinScope>,
}

pub(super) fn compile_query(program: &Program, query: &Query, clock: &Cell<bool>) -> Result<Vec<Branch>, SqlError> {
    match query {
        Query::Select(select) => compile_select(program, select, clock),
        Query::UnionAll { left, right, order_by, span } => {
            if let Some(first) = order_by.first() {
                return Err(not_supported(first.span, "ORDER BY of a UNION ALL"));
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
        return compile_select(program, &grouping::as_group_by(select)?, clock);
    }
    if let Some(rewritten) = grouping::with_rowtime_copies(select) {
        return compile_select(program, &rewritten, clock);
    }
    grouping::check_where(select)?;
    sliding_plan::check_windows(select)?;
    let sliding = sliding_plan::is_sliding(select);
    let staggered = select.stagger.is_some();
    let grouped = !sliding && !staggered && grouping::is_grouped(select);
    if let Some(first) = select.order_by.first()
        && !grouped
    {
        return Err(not_supported(first.span, "ORDER BY without a GROUP BY window"));
    }
    // Where rows come from: a stream, or each branch of a subquery.
    let sources: Vec<(Branch, Option<&Ident>)> = match &select.from {
        FromItem::Stream { name, window, alias, span } => {
            if window.is_some() {
                return Err(not_supported(*span, "a window on a stream in FROM"));
            }
            if program.table(&name.name).is_some() {
                let message = format!("{name} is a reference table, not a stream: join it to a stream");
                return Err(SqlError::at(SqlErrorKind::Type, *span, message)
                    .with_help(format!("as in FROM \"SOURCE_SQL_STREAM_001\" AS s JOIN {name} AS t ON ...")));
            }
            let id = program.stream(&name.name).ok_or_else(|| {
                unknown(
                    name.span,
                    format!("unknown stream {name}"),
                    program.stream_names().chain(program.table_names()).map(str::to_owned),
                    &name.name,
                )
            })?;
            let columns = program.stream_def(id).columns.clone();
            let intervals = vec![None; columns.len()];
            let branch = Branch { source: id, stages: Vec::new(), columns, intervals };
            vec![(branch, Some(alias.as_ref().unwrap_or(name)))]
        }
        FromItem::Subquery { query, alias, .. } => {
            compile_query(program, query, clock)?.into_iter().map(|branch| (branch, alias.as_ref())).collect()
        }
        FromItem::TableFunction { span, name, args, alias } => {
            super::analytics::compile_table(program, name, args, alias.as_ref(), *span, clock)?
        }
        FromItem::Join { .. } => return super::join::compile_select(program, select, clock),
    };
    let mut branches = Vec::new();
    for (mut branch, qualifier) in sources {
        let scope = Scope {
            qualifier: qualifier.map(|q| q.name.as_str()),
            columns: &branch.columns,
            intervals: &branch.intervals,
            clock,
            grouped: None,
            windowed: None,
            joined: None,
        };
        let (stage, (columns, intervals)) = if staggered {
            super::stagger::compile_stagger(select, &scope)?
        } else if sliding {
            sliding_plan::compile_sliding(select, &scope)?
        } else if grouped {
            grouping::compile_grouped(select, &scope)?
        } else {
            compile_stage(select, &scope)?
        };
        branch.stages.push(stage);
        super::fuse::fuse_last_two(&mut branch.stages);
        branch.columns = columns;
        branch.intervals = intervals;
        branches.push(branch);
    }
    Ok(branches)
}

/// A stage's columns: names and types, and the qualifiers of its interval columns.
pub(super) type StageColumns = (Vec<(String, SqlType)>, Vec<Option<Qualifier>>);

pub(super) fn compile_stage(select: &Select, scope: &Scope<'_>) -> Result<(Stage, StageColumns), SqlError> {
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
    let mut intervals = Vec::new();
    let mut rowtime = None;
    for item in &select.items {
        match item {
            SelectItem::Wildcard { .. } => {
                // In a join, the sources' columns, not the ROWTIMEs a stream-stream join carries behind them.
                let visible = match scope.joined {
                    Some(joined) => super::join::visible_columns(joined),
                    None => (0..scope.columns.len()).collect(),
                };
                for i in visible {
                    projections.push(Bound::Column(i));
                    columns.push(scope.columns[i].clone());
                    intervals.push(scope.intervals.get(i).copied().flatten());
                }
            }
            SelectItem::QualifiedWildcard { qualifier, span } => {
                let named = qualifier.last().map(|q| q.name.as_str());
                let range = match (scope.joined, named) {
                    (Some(joined), Some(named)) if qualifier.len() == 1 => {
                        super::join::qualified_wildcard(joined, named)
                    }
                    _ => None,
                };
                if let Some(range) = range {
                    for i in range {
                        projections.push(Bound::Column(i));
                        columns.push(scope.columns[i].clone());
                        intervals.push(scope.intervals.get(i).copied().flatten());
                    }
                    continue;
                }
                if qualifier.len() != 1 || named != scope.qualifier || scope.joined.is_some() {
                    let message = format!(
                        "no source named {} in FROM",
                        qualifier.last().map_or(String::new(), |q| q.to_string())
                    );
                    return Err(SqlError::at(SqlErrorKind::Unknown, *span, message));
                }
                for (i, column) in scope.columns.iter().enumerate() {
                    projections.push(Bound::Column(i));
                    columns.push(column.clone());
                    intervals.push(scope.intervals.get(i).copied().flatten());
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
                intervals.push(if ty == SqlType::IntervalDayTime { interval_qualifier(expr, scope) } else { None });
                projections.push(bound);
                columns.push((name, ty));
            }
        }
    }
    Ok((Stage::Map(MapStage::new(filter, projections, rowtime)), (columns, intervals)))
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
pub(super) fn bind_column(parts: &[Ident], span: Span, scope: &Scope<'_>) -> Result<(Bound, SqlType), SqlError> {
    if let Some(joined) = scope.joined {
        return super::join::bind_joined(parts, span, scope, joined);
    }
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

pub(super) fn type_error(span: Span, message: String) -> SqlError {
    SqlError::at(SqlErrorKind::Type, span, message)
}

/// Binds an expression: names to indexes, functions prepared, types checked.
pub(super) fn bind(expr: &Expr, scope: &Scope<'_>) -> Result<(Bound, SqlType), SqlError> {
    if let Some(grouped) = scope.grouped
        && let Some(resolved) = grouping::resolve(expr, grouped)?
    {
        return Ok(resolved);
    }
    if let Some(windowed) = scope.windowed
        && matches!(expr, Expr::Function { over: Some(_), .. })
    {
        return sliding_plan::resolve(expr, windowed);
    }
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
                let message = "a windowed aggregate (OVER) belongs in the select list of a query without GROUP BY";
                return Err(type_error(*span, message.into()));
            }
            if matches!(upper.as_str(), "LAG" | "NTH_VALUE") {
                let message = format!("{upper} needs a window, as in {upper}(x, 1) OVER (ROWS 10 PRECEDING)");
                return Err(type_error(*span, message));
            }
            if AggKind::from_name(&upper).is_some() {
                // Grouping resolves aggregates; one reaching here has no GROUP BY around it.
                return Err(type_error(*span, format!("aggregate function {upper} outside a GROUP BY query")));
            }
            if let Some(e) = super::analytics::misused(&upper, *span) {
                return Err(e);
            }
            if upper == "MONOTONIC" {
                // [SQLREF] sql-reference-monotonic: returns its argument; the declaration matters to GROUP BY only.
                return match (args.as_slice(), *star || *distinct) {
                    ([arg], false) => bind(arg, scope),
                    _ => Err(type_error(*span, "MONOTONIC takes one expression".to_owned())),
                };
            }
            if *star || *distinct {
                let what = if *star { "`*`" } else { "DISTINCT" };
                return Err(type_error(*span, format!("{upper} is not an aggregate function: it takes no {what}")));
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
            (Bound::call(prepared, bound), ty)
        }
        Expr::Cast { expr, to, span } => {
            let (inner, from) = bind(expr, scope)?;
            if from == SqlType::IntervalDayTime && (to.is_string() || to.is_numeric()) {
                return bind_interval_cast(inner, expr, to, *span, scope);
            }
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
        Expr::DatetimeMinus { left, right, leading, trailing, span } => {
            let qualifier = match Qualifier::new(*leading, *trailing) {
                Ok(qualifier) => qualifier,
                Err(_) if matches!(leading, TimeUnit::Year | TimeUnit::Month) => {
                    let what = "a datetime difference in years or months (use DAY, HOUR, MINUTE or SECOND)";
                    return Err(not_supported(*span, what));
                }
                Err(m) => return Err(type_error(*span, m)),
            };
            let (l, lt) = bind(left, scope)?;
            let (r, rt) = bind(right, scope)?;
            let datetime = |t: &SqlType| t.is_datetime() || *t == SqlType::Null;
            let difference = ops::binary_type(BinaryOp::Subtract, &lt, &rt);
            if !datetime(&lt) || !datetime(&rt) || difference.is_err() {
                let message =
                    format!("(a - b) {qualifier} subtracts two datetimes (TIMESTAMP, DATE, TIME), not {lt} and {rt}");
                return Err(type_error(*span, message));
            }
            (Bound::DatetimeMinus(Box::new(l), Box::new(r), qualifier), SqlType::IntervalDayTime)
        }
    })
}

/// `CAST(interval AS t)` to a string or a number, which depends on the interval's qualifier ([SQLREF]
/// sql-reference-cast: a DAY-TIME INTERVAL casts to DAY-TIME INTERVAL, BIGINT, DECIMAL, CHAR and VARCHAR). An
/// interval whose qualifier is not known (`CAST('...' AS INTERVAL DAY TO SECOND)`, `a - b` without one) is
/// DAY TO SECOND.
fn bind_interval_cast(
    inner: Bound,
    expr: &Expr,
    to: &SqlType,
    span: Span,
    scope: &Scope<'_>,
) -> Result<(Bound, SqlType), SqlError> {
    let qualifier = interval_qualifier(expr, scope);
    if to.is_numeric() {
        if !matches!(to, SqlType::BigInt | SqlType::Decimal { .. }) {
            let message = format!("cannot CAST INTERVAL DAY TO SECOND to {to}: an interval casts to BIGINT or DECIMAL");
            return Err(type_error(span, message));
        }
        match qualifier {
            Some(q) if q.single_field() => {}
            _ => {
                let shown = qualifier.unwrap_or(Qualifier::DAY_TO_SECOND);
                let message = format!("cannot CAST an INTERVAL {shown} to {to}: only an interval of one field counts");
                return Err(type_error(span, message)
                    .with_help("give the difference one unit, as in CAST((a - b) SECOND AS BIGINT)".to_owned()));
            }
        }
    }
    let qualifier = qualifier.unwrap_or(Qualifier::DAY_TO_SECOND);
    Ok((Bound::IntervalCast(Box::new(inner), qualifier, to.clone()), to.clone()))
}

/// The qualifier of a day-time interval expression, when the SQL gives one: a literal's (`INTERVAL '5' SECOND`),
/// a datetime difference's (`(a - b) MINUTE`), kept by `-x`, `ABS`, `* n` and `/ n`, and widened by `+`/`-` of
/// two intervals (`DAY` + `HOUR TO MINUTE` is `DAY TO MINUTE`), as the SQL standard's interval arithmetic does.
fn interval_qualifier(expr: &Expr, scope: &Scope<'_>) -> Option<Qualifier> {
    match expr {
        Expr::Literal { value: Literal::IntervalDayTime { leading, trailing, .. }, .. } => {
            Qualifier::new(*leading, *trailing).ok()
        }
        Expr::DatetimeMinus { leading, trailing, .. } => Qualifier::new(*leading, *trailing).ok(),
        Expr::Column { parts, span } => match bind_column(parts, *span, scope).ok()? {
            (Bound::Column(i), SqlType::IntervalDayTime) => scope.intervals.get(i).copied().flatten(),
            _ => None,
        },
        Expr::Unary { op: UnaryOp::Negate | UnaryOp::Plus, expr, .. } => interval_qualifier(expr, scope),
        Expr::Binary { left, op: BinaryOp::Add | BinaryOp::Subtract, right, .. } => {
            Some(interval_qualifier(left, scope)?.union(interval_qualifier(right, scope)?))
        }
        Expr::Binary { left, op: BinaryOp::Multiply | BinaryOp::Divide, right, .. } => {
            interval_qualifier(left, scope).or_else(|| interval_qualifier(right, scope))
        }
        Expr::Function { name, args, .. } if name.name.eq_ignore_ascii_case("ABS") && args.len() == 1 => {
            interval_qualifier(&args[0], scope)
        }
        Expr::Case { branches, otherwise, .. } => {
            let mut results = branches.iter().map(|(_, then)| then).chain(otherwise.as_deref());
            let first = interval_qualifier(results.next()?, scope)?;
            results.try_fold(first, |q, e| Some(q.union(interval_qualifier(e, scope)?)))
        }
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    //! `(a - b) <qualifier>` planned and run, with KDA's documented examples, and the clock functions on a
    //! virtual clock.

    use super::super::{Emit, Program, Row, StreamDef};
    use crate::error::SqlErrorKind;
    use crate::literal::parse_timestamp;
    use crate::types::SqlType;
    use crate::value::{Decimal, Value};

    fn input() -> StreamDef {
        StreamDef {
            name: "S".into(),
            columns: vec![("A".into(), SqlType::Timestamp), ("B".into(), SqlType::Timestamp)],
        }
    }

    fn ts(text: &str) -> Value {
        Value::Timestamp(parse_timestamp(text).expect("a timestamp"))
    }

    /// The SQL of one pump into `"OUT" (<columns>)`, selecting `items` from `S` (or, when `items` has its own
    /// `FROM`, the query as given after `SELECT STREAM`).
    fn pump(columns: &str, items: &str) -> String {
        let from = if items.contains(" FROM ") { "" } else { r#" FROM "S""# };
        format!(r#"CREATE STREAM "OUT" ({columns}); CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM {items}{from};"#)
    }

    /// `items` on one row (a, b): the row of OUT, or the failure's message; None when it was filtered out.
    fn run(columns: &str, items: &str, a: Value, b: Value) -> Option<Result<Vec<Value>, String>> {
        let program = Program::compile(&pump(columns, items), input()).unwrap_or_else(|e| panic!("{items}: {e:?}"));
        let out = program.stream("OUT").expect("OUT");
        let mut result = None;
        program.runner_at(0).push(Row { rowtime: 0, values: vec![a, b] }, &mut |emitted| match emitted {
            Emit::Row(id, row) if id == out => result = Some(Ok(row.values.clone())),
            Emit::Row(..) => {}
            Emit::Failure(f) => result = Some(Err(f.message)),
        });
        result
    }

    /// `item` as the one VARCHAR(32) column, on the row (a, b).
    fn text(item: &str, a: &str, b: &str) -> String {
        match run("t VARCHAR(32)", item, ts(a), ts(b)) {
            Some(Ok(values)) => match values.as_slice() {
                [Value::String(s)] => s.to_string(),
                other => panic!("{item}: {other:?}"),
            },
            other => panic!("{item}: {other:?}"),
        }
    }

    fn compile_error(columns: &str, items: &str) -> crate::error::SqlError {
        let mut errors = Program::compile(&pump(columns, items), input()).expect_err(items);
        errors.remove(0)
    }

    const T0: &str = "2020-07-01 12:00:00";

    #[test]
    fn kda_documented_interval_texts() {
        // [SQLREF] sql-reference-date-timestamp-interval, "Further Examples of Interval Operations", Example 1.
        let cases = [
            ("CAST((TIME '12:03:34' - TIME '11:57:23') MINUTE TO SECOND AS VARCHAR(8))", "+6:11"),
            ("CAST((TIME '12:03:34' - TIME '11:57:23') SECOND AS VARCHAR(8))", "+371"),
            // [SQLREF] sql-reference-abs: ABS(INTERVAL '-3 4:20' DAY TO MINUTE) cast AS VARCHAR(8) is +3 04:20.
            // (ABS of an interval is not in the function library yet: negation keeps the qualifier the same way.)
            ("CAST(-INTERVAL '-3 4:20' DAY TO MINUTE AS VARCHAR(8))", "+3 04:20"),
            // The same page's table: examples 2, 3 and 6 (the qualifiers widen to DAY TO HOUR).
            ("CAST(INTERVAL '1' DAY + INTERVAL '3 4' DAY TO HOUR AS VARCHAR(8))", "+4 04"),
            ("CAST(INTERVAL '1' DAY - INTERVAL '3 4' DAY TO HOUR AS VARCHAR(8))", "-2 04"),
            ("CAST(INTERVAL '3 4' DAY TO HOUR / 2 AS VARCHAR(8))", "+1 14"),
            ("CAST(2 * INTERVAL '3 4' DAY TO HOUR AS VARCHAR(8))", "+6 08"),
            // Fields below the trailing one are dropped (truncated, not rounded).
            ("CAST((TIME '12:03:54' - TIME '11:57:23') MINUTE AS VARCHAR(8))", "+6"),
            ("CAST((TIME '11:57:23' - TIME '12:03:54') MINUTE AS VARCHAR(8))", "-6"),
        ];
        for (item, expected) in cases {
            assert_eq!(text(item, T0, T0), expected, "{item}");
        }
    }

    #[test]
    fn differences_of_columns_in_every_qualifier() {
        let (a, b) = ("2020-07-02 13:03:04.500", "2020-07-01 11:00:00");
        let cases = [
            ("(A - B) DAY", "+1"),
            ("(A - B) DAY TO HOUR", "+1 02"),
            ("(A - B) DAY TO MINUTE", "+1 02:03"),
            ("(A - B) DAY TO SECOND", "+1 02:03:04.500"),
            ("(A - B) HOUR", "+26"),
            ("(A - B) HOUR TO MINUTE", "+26:03"),
            ("(A - B) HOUR TO SECOND", "+26:03:04.500"),
            ("(A - B) MINUTE", "+1563"),
            ("(A - B) MINUTE TO SECOND", "+1563:04.500"),
            ("(A - B) SECOND", "+93784.500"),
            ("(B - A) HOUR TO MINUTE", "-26:03"),
            ("(B - A) SECOND", "-93784.500"),
            // Without a qualifier the difference is DAY TO SECOND.
            ("A - B", "+1 02:03:04.500"),
            // DATE - DATE, DATE - TIMESTAMP.
            ("(DATE '2020-03-01' - DATE '2020-02-01') DAY", "+29"),
            ("(CAST(A AS DATE) - B) HOUR", "+13"),
        ];
        for (item, expected) in cases {
            assert_eq!(text(&format!("CAST({item} AS VARCHAR(32))"), a, b), expected, "{item}");
        }
    }

    #[test]
    fn an_interval_compares_with_interval_literals_and_moves_timestamps() {
        let passed = |a: &str| {
            let items =
                r#"A FROM "S" WHERE (A - B) SECOND > INTERVAL '5' SECOND AND (A - B) MINUTE <= INTERVAL '1' MINUTE"#;
            run("t TIMESTAMP", items, ts(a), ts(T0)).is_some()
        };
        assert!(!passed("2020-07-01 12:00:05"), "5 s is not more than 5 s");
        assert!(passed("2020-07-01 12:00:05.001"), "SECOND keeps the milliseconds");
        // 119 s truncated to MINUTE is 1 minute; 120 s is 2.
        assert!(passed("2020-07-01 12:01:59.999"));
        assert!(!passed("2020-07-01 12:02:00"));
        // TIMESTAMP + interval, interval + TIMESTAMP, TIMESTAMP - interval.
        let moved = run(
            "t TIMESTAMP, u TIMESTAMP, v TIMESTAMP",
            "B + (A - B) MINUTE, (A - B) HOUR + B, A - (A - B) SECOND",
            ts("2020-07-01 13:30:45.250"),
            ts(T0),
        );
        let expected = vec![ts("2020-07-01 13:30:00"), ts("2020-07-01 13:00:00"), ts(T0)];
        assert_eq!(moved, Some(Ok(expected)));
    }

    #[test]
    fn an_interval_of_one_field_casts_to_bigint_and_decimal() {
        let (a, b) = (ts("2020-07-01 12:06:11.500"), ts(T0));
        let row = run(
            "s BIGINT, m BIGINT, d DECIMAL(10, 3), h DECIMAL(4, 0)",
            "CAST((A - B) SECOND AS BIGINT), CAST((A - B) MINUTE AS BIGINT), CAST((A - B) SECOND AS DECIMAL(10, 3)), \
             CAST((A - B) HOUR AS DECIMAL(4, 0))",
            a,
            b,
        );
        let expected = vec![
            Value::Int(372), // 371.5 s rounds half away from zero, as DECIMAL to BIGINT does.
            Value::Int(6),
            Value::Decimal(Decimal { unscaled: 371_500, scale: 3 }),
            Value::Decimal(Decimal { unscaled: 0, scale: 0 }),
        ];
        assert_eq!(row, Some(Ok(expected)));
        assert_eq!(
            run("n BIGINT", "CAST(INTERVAL '90' SECOND * 2 AS BIGINT)", ts(T0), ts(T0)),
            Some(Ok(vec![Value::Int(180)]))
        );
    }

    #[test]
    fn nulls_give_null_and_text_that_does_not_fit_fails_the_row() {
        let row = run(
            "t VARCHAR(8), n BIGINT",
            "CAST((A - B) SECOND AS VARCHAR(8)), CAST((B - A) SECOND AS BIGINT)",
            Value::Null,
            ts(T0),
        );
        assert_eq!(row, Some(Ok(vec![Value::Null, Value::Null])));
        let failed = run("t VARCHAR(3)", "CAST((A - B) SECOND AS VARCHAR(3))", ts("2020-07-01 12:06:11"), ts(T0));
        assert_eq!(failed, Some(Err("INTERVAL '+371' SECOND does not fit VARCHAR(3)".into())));
    }

    #[test]
    fn the_qualifier_survives_a_subquery() {
        let items = r#"CAST(d AS VARCHAR(8)) FROM (SELECT STREAM (A - B) MINUTE TO SECOND AS d FROM "S") AS q
            WHERE d > INTERVAL '1' MINUTE UNION ALL SELECT STREAM 'x' FROM "S""#;
        let program = Program::compile(&pump("t VARCHAR(8)", items), input()).expect("compiles");
        let out = program.stream("OUT").expect("OUT");
        let mut rows = Vec::new();
        let row = Row { rowtime: 0, values: vec![ts("2020-07-01 12:06:11"), ts(T0)] };
        program.runner().push(row, &mut |e| {
            if let Emit::Row(id, row) = e
                && id == out
            {
                rows.push(row.values.clone());
            }
        });
        assert_eq!(rows, [vec![Value::string("+6:11")], vec![Value::string("x")]]);
    }

    #[test]
    fn mistakes_in_datetime_differences_are_placed_and_explained() {
        let cases = [
            ("(A - B) YEAR", SqlErrorKind::NotSupported, "not supported yet: a datetime difference in years or months"),
            ("(A - B) SECOND TO MINUTE", SqlErrorKind::Type, "SECOND TO MINUTE: the trailing field must be smaller"),
            (
                "(A - 'x') SECOND",
                SqlErrorKind::Type,
                "(a - b) SECOND subtracts two datetimes (TIMESTAMP, DATE, TIME), not TIMESTAMP and VARCHAR(1)",
            ),
            ("(A - TIME '12:00:00') SECOND", SqlErrorKind::Type, "subtracts two datetimes"),
            (
                "CAST((A - B) MINUTE TO SECOND AS BIGINT)",
                SqlErrorKind::Type,
                "cannot CAST an INTERVAL MINUTE TO SECOND to BIGINT",
            ),
            ("CAST(A - B AS BIGINT)", SqlErrorKind::Type, "cannot CAST an INTERVAL DAY TO SECOND to BIGINT"),
            ("CAST((A - B) SECOND AS INTEGER)", SqlErrorKind::Type, "an interval casts to BIGINT or DECIMAL"),
            ("CAST((A - B) SECOND AS DOUBLE)", SqlErrorKind::Type, "an interval casts to BIGINT or DECIMAL"),
            ("(A - B) SECOND > 5", SqlErrorKind::Type, "cannot apply > to INTERVAL DAY TO SECOND and INTEGER"),
        ];
        for (item, kind, message) in cases {
            let e = compile_error("t VARCHAR(8)", &format!("{item} AS x"));
            assert_eq!(e.kind, kind, "{item}: {e:?}");
            assert!(e.message.contains(message), "{item}: {}", e.message);
            let span = e.span.expect("placed");
            assert!(span.start > 0, "{item}");
        }
        let e = compile_error("n BIGINT", "CAST((A - B) DAY TO HOUR AS BIGINT)");
        assert_eq!(e.help.as_deref(), Some("give the difference one unit, as in CAST((a - b) SECOND AS BIGINT)"));
        // An interval does not fill a column of another type.
        let e = compile_error("n BIGINT", "(A - B) SECOND");
        assert!(e.message.contains("is BIGINT, but the query gives INTERVAL DAY TO SECOND"), "{}", e.message);
    }

    #[test]
    fn a_runner_at_a_virtual_time_gives_the_clock_functions_that_time() {
        let items = "CURRENT_TIMESTAMP, LOCALTIMESTAMP, CURRENT_DATE, CURRENT_TIME, LOCALTIME, CURRENT_ROW_TIMESTAMP";
        let columns = "a TIMESTAMP, b TIMESTAMP, c DATE, d TIME, e TIME, f TIMESTAMP";
        let program = Program::compile(&pump(columns, items), input()).expect("compiles");
        let out = program.stream("OUT").expect("OUT");
        let start = parse_timestamp("2016-09-23 04:29:26.234").expect("start");
        let mut runner = program.runner_at(start);
        let mut rows = Vec::new();
        for now in [start, start + 61_000] {
            runner.set_row_clock(now);
            let row = Row { rowtime: now, values: vec![Value::Null, Value::Null] };
            runner.push(row, &mut |e| {
                if let Emit::Row(id, row) = e
                    && id == out
                {
                    rows.push(row.values.clone());
                }
            });
        }
        let day = (start / 86_400_000) as i32;
        let time = (start % 86_400_000) as i32;
        let fixed =
            [Value::Timestamp(start), Value::Timestamp(start), Value::Date(day), Value::Time(time), Value::Time(time)];
        let mut first = fixed.to_vec();
        first.push(Value::Timestamp(start));
        let mut second = fixed.to_vec();
        second.push(Value::Timestamp(start + 61_000));
        assert_eq!(rows, [first, second], "CURRENT_TIMESTAMP stays at the query start; CURRENT_ROW_TIMESTAMP moves");
        // The wall clock's runner is not at 2016.
        let mut wall = Vec::new();
        program.runner().push(Row { rowtime: 0, values: vec![Value::Null, Value::Null] }, &mut |e| {
            if let Emit::Row(id, row) = e
                && id == out
            {
                wall.push(row.values.clone());
            }
        });
        assert!(matches!(wall[0][5], Value::Timestamp(t) if t > start + 86_400_000 * 365));
    }
}
