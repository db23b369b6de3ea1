//! Joins: a stream with a reference table, and a stream with a stream over windows.
//!
//! ```text
//!   left rows ──▶ Join stage ──(left ++ right values)──▶ the pump's next stages (WHERE, select list, GROUP BY ...)
//!                    │ table: hash index on the ON clause's equalities, built once per runner
//!                    │ stream: rows held in each side's window; the right stream feeds the stage directly
//!   right rows ──────┘        (Program::join_readers), so a pair is made when its second row arrives
//! ```
//!
//! **Stream-table** (the common KDA case, `FROM "SOURCE_SQL_STREAM_001" s JOIN "CompanyName" c ON ...`): the
//! table is the application's reference data, loaded once at start. Each stream row is looked up: the equalities
//! of the ON clause between an expression of the stream and one of the table (`s.ticker = c."Ticker"`) become a
//! hash key, so a lookup costs one hash probe whatever the table's size; the whole ON clause is then evaluated on
//! each candidate (the key only narrows the candidates, it never decides alone). INNER, LEFT and CROSS joins;
//! output ROWTIME is the stream row's.
//!
//! **Stream-stream** ([SQLREF] sql-reference-join-clause): at least one side has a window, `OVER (RANGE INTERVAL
//! '1' MINUTE PRECEDING)` or `OVER (ROWS n PRECEDING)`; a side without one holds only its current row (the rows
//! at the current ROWTIME). Rows are held per side while they are in their window, indexed by the ON clause's
//! equalities as a table is (a row arriving meets only the rows of its key, not the whole window): RANGE windows
//! forget rows older than the interval (state bounded by time), ROWS windows keep the last n + 1. A pair is emitted
//! when its second row arrives, if the first is still in its window then. Its ROWTIME is that arrival's: the left
//! row's when the left row completes the pair (always so when only the right side has a window, the form of every
//! documented example), the right row's when a right row completes a pair with a left row held in the left
//! side's window: ROWTIME never goes back in a stream. Outer joins emit a row that matched nothing, padded with
//! NULLs, when it leaves its window (no later row can match it then), with ROWTIME = the end of its window.
//!
//! The ROWTIMEs of both sides are carried behind the visible columns, so `o.ROWTIME` and `t.ROWTIME` read each
//! side's; a bare `ROWTIME` is the joined row's.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use crate::ast::{Expr, FrameBound, FromItem, JoinKind, Literal, NamedWindow, Over, Select, WindowSpec};
use crate::error::{Span, SqlError, SqlErrorKind};
use crate::operator::{BinaryOp, UnaryOp};
use crate::types::SqlType;
use crate::value::Value;

use super::eval::{Bound, RowRef};
use super::plan::{self, Branch, Scope, bind, bind_column, compile_stage, not_supported, unknown};
use super::{Emit, Failure, Program, Row, Runner, Stage, StreamDef, StreamId, describe_row};

mod hoist;
pub(super) use hoist::hoist_right_subqueries;

/// A reference table: its columns, and its rows once loaded.
#[derive(Debug)]
pub(crate) struct RefTable {
    pub def: StreamDef,
    pub rows: Arc<Vec<Vec<Value>>>,
}

/// How far back a side of a stream-stream join reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinWindow {
    /// Rows whose ROWTIME is at most this many milliseconds before the current time (0: the current row only).
    Range(i64),
    /// The latest n + 1 rows.
    Rows(usize),
}

impl JoinWindow {
    /// Whether a row at `rowtime` is in the window at `now` (ROWS windows are kept to size as rows come).
    fn holds(self, rowtime: i64, now: i64) -> bool {
        match self {
            JoinWindow::Range(d) => rowtime.saturating_add(d) >= now,
            JoinWindow::Rows(_) => true,
        }
    }
}

/// The right side of a join.
#[derive(Debug)]
pub(crate) enum Right {
    /// A reference table, by index.
    Table(usize),
    /// An in-app stream and its window.
    Stream { stream: StreamId, window: JoinWindow },
}

/// A join stage: each row reaching it is paired with rows of the right side.
#[derive(Debug)]
pub(crate) struct Join {
    pub kind: JoinKind,
    pub right: Right,
    /// The left side's window (stream-stream joins).
    pub left_window: JoinWindow,
    /// Values of a left row.
    pub left_width: usize,
    /// Values of a right row.
    pub right_width: usize,
    /// The ON clause, on the joined row.
    pub condition: Option<Bound>,
    /// Equalities of the ON clause: expressions of the left row and of the right row, pairwise equal.
    pub left_keys: Vec<Bound>,
    pub right_keys: Vec<Bound>,
    /// The runner's state for this stage.
    pub state: usize,
    /// Whether the input's clock expires its windows (no `AS ROWTIME` upstream).
    pub clock: bool,
}

/// A row held in a window of a stream-stream join.
#[derive(Debug)]
struct Held {
    rowtime: i64,
    values: Vec<Value>,
    matched: bool,
    /// Its key for the ON clause's equalities (None: NULL, or no equalities).
    key: Option<Vec<Key>>,
}

/// The rows one side of a stream-stream join holds, in arrival (ROWTIME) order, and by key: a row arriving on
/// the other side meets only the rows of its key, so its cost does not grow with the window.
#[derive(Debug, Default)]
struct Window {
    rows: VecDeque<Held>,
    /// The sequence number of the front row.
    first: u64,
    /// Sequence numbers of the rows of each key, oldest first.
    by_key: HashMap<Vec<Key>, VecDeque<u64>>,
}

impl Window {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn front(&self) -> Option<&Held> {
        self.rows.front()
    }

    fn push(&mut self, held: Held) {
        if let Some(key) = &held.key {
            let seq = self.first + self.rows.len() as u64;
            self.by_key.entry(key.clone()).or_default().push_back(seq);
        }
        self.rows.push_back(held);
    }

    /// The oldest row: rows leave in the order they came, so it is also the oldest of its key.
    fn pop(&mut self) -> Option<Held> {
        let held = self.rows.pop_front()?;
        if let Some(key) = &held.key
            && let Some(seqs) = self.by_key.get_mut(key)
        {
            seqs.pop_front();
            if seqs.is_empty() {
                self.by_key.remove(key);
            }
        }
        self.first += 1;
        Some(held)
    }

    /// The positions of the rows a row of the other side may pair with: those of its key when the join has
    /// equalities (none for a NULL key), else every row.
    fn candidates(&self, keyed: bool, key: Option<&Vec<Key>>) -> Vec<usize> {
        if !keyed {
            return (0..self.rows.len()).collect();
        }
        let Some(seqs) = key.and_then(|k| self.by_key.get(k)) else { return Vec::new() };
        seqs.iter().map(|seq| (seq - self.first) as usize).collect()
    }
}

/// A join's state in a runner.
#[derive(Debug, Default)]
pub(crate) struct JoinState {
    /// Table joins: right rows by key (shared, so a lookup holds it while rows go on).
    index: Option<Arc<HashMap<Vec<Key>, Vec<u32>>>>,
    /// Table joins: the key being looked up, reused.
    probe: Vec<Key>,
    left: Window,
    right: Window,
    /// The latest time seen.
    now: i64,
}

impl JoinState {
    /// Rows held in windows.
    pub(crate) fn held(&self) -> usize {
        self.left.len() + self.right.len()
    }
}

/// A value as a hash key: equal keys for values SQL's `=` finds equal (for the types keys are made of).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Bool(bool),
    Number(u64),
    Text(Box<str>),
    Instant(i64),
    Other(String),
}

fn key_of(value: &Value) -> Option<Key> {
    let number = |f: f64| Key::Number(if f == 0.0 { 0.0f64.to_bits() } else { f.to_bits() });
    Some(match value {
        Value::Null => return None,
        Value::Boolean(b) => Key::Bool(*b),
        Value::Int(i) => number(*i as f64),
        Value::Double(d) if d.is_nan() => Key::Other("NaN".into()),
        Value::Double(d) => number(*d),
        Value::Decimal(d) => number(d.unscaled as f64 / 10f64.powi(i32::from(d.scale))),
        Value::String(s) => Key::Text(s.trim_end_matches(' ').into()),
        Value::Date(d) => Key::Instant(i64::from(*d)),
        Value::Time(t) => Key::Instant(i64::from(*t)),
        Value::Timestamp(t) => Key::Instant(*t),
        other => Key::Other(format!("{other:?}")),
    })
}

/// Whether equal values of these types always give equal keys.
fn keyable(a: &SqlType, b: &SqlType) -> bool {
    (a.is_numeric() && b.is_numeric())
        || (a.is_string() && b.is_string())
        || (a == b && matches!(a, SqlType::Boolean | SqlType::Date | SqlType::Time | SqlType::Timestamp))
}

// ---- Planning ----

/// Where a side's ROWTIME is in the joined row.
#[derive(Debug, Clone, Copy)]
pub(super) enum SideTime {
    /// The joined row's ROWTIME (the stream of a stream-table join).
    Row,
    /// A hidden column behind the visible ones (the sides of a stream-stream join).
    Column(usize),
    /// None: a reference table.
    Table,
}

/// One source of a join, as names see it.
#[derive(Debug, Clone)]
pub(super) struct Side {
    pub qualifier: Option<String>,
    pub range: Range<usize>,
    pub time: SideTime,
}

/// The sources of a joined row, for resolving `alias.column`.
#[derive(Debug, Clone, Default)]
pub(super) struct JoinScope {
    pub sides: Vec<Side>,
    /// Whether the row carries the two hidden ROWTIME columns of a stream-stream join.
    pub hidden: bool,
}

/// Compiles a SELECT whose FROM is a join: one branch per branch of the left side, each ending in the join
/// stage and the SELECT's own stage (row by row, GROUP BY, sliding or stagger windows, as the SELECT asks).
pub(super) fn compile_select(
    program: &Program,
    select: &Select,
    clock: &std::cell::Cell<bool>,
) -> Result<Vec<Branch>, SqlError> {
    let sliding = super::sliding_plan::is_sliding(select);
    let staggered = select.stagger.is_some();
    let grouped = !sliding && !staggered && super::grouping::is_grouped(select);
    let mut branches = Vec::new();
    for (mut branch, joined, _) in compile_from(program, &select.from, &select.windows, clock)? {
        let scope = Scope {
            qualifier: None,
            columns: &branch.columns,
            intervals: &branch.intervals,
            clock,
            grouped: None,
            windowed: None,
            joined: Some(&joined),
        };
        let (stage, (columns, intervals)) = if staggered {
            super::stagger::compile_stagger(select, &scope)?
        } else if sliding {
            super::sliding_plan::compile_sliding(select, &scope)?
        } else if grouped {
            super::grouping::compile_grouped(select, &scope)?
        } else {
            compile_stage(select, &scope)?
        };
        branch.stages.push(stage);
        branch.columns = columns;
        branch.intervals = intervals;
        branches.push(branch);
    }
    Ok(branches)
}

/// `FROM` as branches: rows reaching the end of each branch's stages, with their sources' names and, for a
/// plain stream, its window.
fn compile_from(
    program: &Program,
    from: &FromItem,
    windows: &[NamedWindow],
    clock: &std::cell::Cell<bool>,
) -> Result<Vec<(Branch, JoinScope, Option<JoinWindow>)>, SqlError> {
    match from {
        FromItem::Stream { name, window, alias, span } => {
            if program.table(&name.name).is_some() {
                let message = format!("{name} is a reference table: it can only be joined to a stream");
                return Err(SqlError::at(SqlErrorKind::Type, *span, message)
                    .with_help(format!("put the stream first: FROM \"stream\" JOIN {name} ON ...")));
            }
            let id = resolve_stream(program, name)?;
            let columns = program.stream_def(id).columns.clone();
            let window = window.as_deref().map(|w| over_window(w, windows)).transpose()?;
            let named = match window_over(from) {
                Some(Over::Named(window)) => Some(window),
                _ => None,
            };
            let qualifier = Some(alias.as_ref().or(named).unwrap_or(name).name.clone());
            let side = Side { qualifier, range: 0..columns.len(), time: SideTime::Row };
            let intervals = vec![None; columns.len()];
            let branch = Branch { source: id, stages: Vec::new(), columns, intervals };
            Ok(vec![(branch, JoinScope { sides: vec![side], hidden: false }, window)])
        }
        FromItem::Subquery { query, alias, .. } => {
            let branches = plan::compile_query(program, query, clock)?;
            Ok(branches
                .into_iter()
                .map(|branch| {
                    let side = Side {
                        qualifier: alias.as_ref().map(|a| a.name.clone()),
                        range: 0..branch.columns.len(),
                        time: SideTime::Row,
                    };
                    (branch, JoinScope { sides: vec![side], hidden: false }, None)
                })
                .collect())
        }
        FromItem::TableFunction { span, name, .. } => Err(not_supported(*span, &format!("table function {name}"))),
        FromItem::Join { left, kind, right, on, span } => {
            let lefts = compile_from(program, left, windows, clock)?;
            let FromItem::Stream { name, window, alias, span: right_span } = right.as_ref() else {
                return Err(not_supported(right.span(), "a table function on the right of a join"));
            };
            // `JOIN TradeStream OVER t ... WINDOW t AS (...)` ([DG] stream-joins-concepts.md) reads the stream's
            // columns as `t.orderId`: with no alias, a named window names its side.
            let named = match window.as_deref() {
                Some(Over::Named(window)) => Some(window),
                _ => None,
            };
            let qualifier = alias.as_ref().or(named).unwrap_or(name).name.clone();
            let (target, right_columns) = match program.table(&name.name) {
                Some(table) => {
                    if window.is_some() {
                        let message = format!("reference table {name} takes no window: all its rows join");
                        return Err(SqlError::at(SqlErrorKind::Type, *right_span, message));
                    }
                    if matches!(kind, JoinKind::Right | JoinKind::Full) {
                        let message = format!(
                            "a {} join with reference table {name} never ends: a table row unmatched so far could \
                             match a later stream row",
                            if *kind == JoinKind::Right { "RIGHT" } else { "FULL" }
                        );
                        return Err(SqlError::at(SqlErrorKind::Type, *span, message)
                            .with_help("join the stream to the table with JOIN or LEFT JOIN"));
                    }
                    (Right::Table(table), program.tables[table].def.columns.clone())
                }
                None => {
                    let id = resolve_stream(program, name)?;
                    let window = window.as_deref().map(|w| over_window(w, windows)).transpose()?;
                    (Right::Stream { stream: id, window: window.unwrap_or(JoinWindow::Range(0)) }, {
                        let columns = program.stream_def(id).columns.clone();
                        if window.is_none() && lefts.iter().any(|(_, _, w)| w.is_none()) {
                            let message = format!(
                                "a join of two streams needs a window on at least one side: {name} and the stream \
                                 it joins have none"
                            );
                            return Err(SqlError::at(SqlErrorKind::Type, *span, message).with_help(format!(
                                "as in JOIN {name} OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS {qualifier} ON ..."
                            )));
                        }
                        columns
                    })
                }
            };
            let mut out = Vec::new();
            for (mut branch, scope, left_window) in lefts {
                let stream_join = matches!(target, Right::Stream { .. });
                if scope.hidden && stream_join {
                    // The pairs of the first join would have to be held in a window with both their ROWTIMEs.
                    return Err(not_supported(*span, "a join of a stream after a join of two streams").with_help(
                        "insert the first join's rows into an in-app stream with a pump, and join that stream"
                            .to_owned(),
                    ));
                }
                if matches!(target, Right::Table(_)) && left_window.is_some() {
                    let message = "a window on the stream joined to a reference table (every row is looked up alone)";
                    return Err(not_supported(*span, message));
                }
                if scope.sides.iter().any(|s| s.qualifier.as_deref() == Some(qualifier.as_str())) {
                    let message = format!("two sources in FROM are named {qualifier}: give one an alias");
                    return Err(SqlError::at(SqlErrorKind::Type, *right_span, message));
                }
                // A table joined after a join of two streams: that join's rows carry its two ROWTIMEs behind its
                // visible columns, and the table's columns come after them.
                let hidden = if scope.hidden { HIDDEN_TIMES.len() } else { 0 };
                let left_width = branch.columns.len() + hidden;
                let right_width = right_columns.len();
                let mut sides = scope.sides.clone();
                if stream_join {
                    for side in &mut sides {
                        if matches!(side.time, SideTime::Row) {
                            side.time = SideTime::Column(left_width + right_width);
                        }
                    }
                }
                let right_time =
                    if stream_join { SideTime::Column(left_width + right_width + 1) } else { SideTime::Table };
                let right_side = Side {
                    qualifier: Some(qualifier.clone()),
                    range: left_width..left_width + right_width,
                    time: right_time,
                };
                sides.push(right_side.clone());
                let joined = JoinScope { sides, hidden: stream_join || scope.hidden };
                let mut columns = branch.columns.clone();
                columns.extend(HIDDEN_TIMES.iter().take(hidden).map(|name| ((*name).to_owned(), SqlType::Timestamp)));
                columns.extend(right_columns.iter().cloned());
                let mut intervals = branch.intervals.clone();
                intervals.extend(std::iter::repeat_n(None, hidden + right_width));
                let scope_of = |columns, intervals, joined| Scope {
                    qualifier: None,
                    columns,
                    intervals,
                    clock,
                    grouped: None,
                    windowed: None,
                    joined,
                };
                let condition = match on {
                    Some(expr) => {
                        let (bound, ty) = bind(expr, &scope_of(&columns, &intervals, Some(&joined)))?;
                        if !matches!(ty, SqlType::Boolean | SqlType::Null) {
                            let message = format!("ON needs a BOOLEAN, not {ty}");
                            return Err(SqlError::at(SqlErrorKind::Type, expr.span(), message));
                        }
                        Some(bound)
                    }
                    None => None,
                };
                // The equalities between the two sides, for the table's hash index.
                let (mut left_keys, mut right_keys) = (Vec::new(), Vec::new());
                if let Some(expr) = on {
                    let left_scope = scope_of(&branch.columns, &branch.intervals, Some(&scope));
                    // Right keys are evaluated on the right row alone, at its own ROWTIME.
                    let time = if stream_join { SideTime::Row } else { SideTime::Table };
                    let right_only = JoinScope {
                        sides: vec![Side { range: 0..right_width, time, ..right_side.clone() }],
                        hidden: false,
                    };
                    let right_scope = scope_of(&right_columns, &intervals[left_width..], Some(&right_only));
                    for conjunct in conjuncts(expr) {
                        let Expr::Binary { left: a, op: BinaryOp::Eq, right: b, .. } = conjunct else { continue };
                        let pair = |x: &Expr, y: &Expr| match (bind(x, &left_scope), bind(y, &right_scope)) {
                            (Ok((l, lt)), Ok((r, rt))) if keyable(&lt, &rt) => Some((l, r)),
                            _ => None,
                        };
                        if let Some((l, r)) = pair(a, b).or_else(|| pair(b, a)) {
                            left_keys.push(l);
                            right_keys.push(r);
                        }
                    }
                }
                let right = match &target {
                    Right::Table(t) => Right::Table(*t),
                    Right::Stream { stream, window } => Right::Stream { stream: *stream, window: *window },
                };
                let join = Join {
                    kind: *kind,
                    right,
                    left_window: left_window.unwrap_or(JoinWindow::Range(0)),
                    left_width,
                    right_width,
                    condition,
                    left_keys,
                    right_keys,
                    state: 0,
                    clock: false,
                };
                branch.stages.push(Stage::Join(Box::new(join)));
                branch.columns = columns;
                branch.intervals = intervals;
                out.push((branch, joined, None));
            }
            Ok(out)
        }
    }
}

/// The window written after a stream in FROM.
fn window_over(from: &FromItem) -> Option<&Over> {
    match from {
        FromItem::Stream { window, .. } => window.as_deref(),
        _ => None,
    }
}

/// The conjuncts of `a AND b AND ...`.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Binary { left, op: BinaryOp::And, right, .. } => {
            let mut all = conjuncts(left);
            all.extend(conjuncts(right));
            all
        }
        other => vec![other],
    }
}

fn resolve_stream(program: &Program, name: &crate::ast::Ident) -> Result<StreamId, SqlError> {
    program.stream(&name.name).ok_or_else(|| {
        let candidates = program.stream_names().chain(program.tables.iter().map(|t| t.def.name.as_str()));
        unknown(
            name.span,
            format!("unknown stream {name}"),
            candidates.map(str::to_owned).collect::<Vec<_>>(),
            &name.name,
        )
    })
}

/// The window `OVER (spec)` or `OVER name` gives a side of a join.
fn over_window(over: &Over, windows: &[NamedWindow]) -> Result<JoinWindow, SqlError> {
    match over {
        Over::Spec(spec) => join_window(spec),
        Over::Named(name) => match windows.iter().find(|w| w.name.name == name.name) {
            Some(window) => join_window(&window.spec),
            None => Err(unknown(
                name.span,
                format!("unknown window {name}"),
                windows.iter().map(|w| w.name.name.clone()).collect::<Vec<_>>(),
                &name.name,
            )
            .with_help(format!("define it after the query: WINDOW {name} AS (RANGE INTERVAL '1' MINUTE PRECEDING)"))),
        },
    }
}

/// A join window: `RANGE INTERVAL 'n' unit PRECEDING` or `ROWS n PRECEDING` (optionally `BETWEEN ... AND
/// CURRENT ROW`), as [SQLREF] sql-reference-allowed-disallowed-window allows them.
fn join_window(spec: &WindowSpec) -> Result<JoinWindow, SqlError> {
    let wrong = |span: Span, message: &str| SqlError::at(SqlErrorKind::Type, span, message.to_owned());
    if let Some(first) = spec.partition_by.first() {
        return Err(not_supported(first.span(), "PARTITION BY in the window of a join"));
    }
    if let Some(first) = spec.order_by.first() {
        return Err(wrong(first.span, "a join window takes no ORDER BY: rows are in ROWTIME order"));
    }
    let Some(frame) = &spec.frame else {
        let message = "a join window needs its size: RANGE INTERVAL '1' MINUTE PRECEDING or ROWS 10 PRECEDING";
        return Err(wrong(spec.span, message));
    };
    if !matches!(frame.end, None | Some(FrameBound::CurrentRow)) {
        return Err(wrong(frame.span, "a join window ends at the current row: its end is CURRENT ROW"));
    }
    match &frame.start {
        FrameBound::CurrentRow => Ok(if frame.rows { JoinWindow::Rows(0) } else { JoinWindow::Range(0) }),
        FrameBound::Preceding(expr) => match (frame.rows, expr.as_ref()) {
            (true, Expr::Literal { value: Literal::Integer(n), .. }) if *n >= 0 => {
                Ok(JoinWindow::Rows(usize::try_from(*n).unwrap_or(usize::MAX)))
            }
            (false, Expr::Literal { value: value @ Literal::IntervalDayTime { .. }, .. }) => match value.to_value() {
                Value::Interval(ms) if ms >= 0 => Ok(JoinWindow::Range(ms)),
                _ => Err(wrong(expr.span(), "a join window cannot be of negative size")),
            },
            (_, Expr::Unary { op: UnaryOp::Negate, .. }) => {
                Err(wrong(expr.span(), "a join window cannot be of negative size"))
            }
            (true, _) => Err(wrong(expr.span(), "ROWS takes a count of rows: ROWS 10 PRECEDING")),
            (false, _) => {
                Err(wrong(expr.span(), "RANGE takes a day-time interval: RANGE INTERVAL '1' MINUTE PRECEDING"))
            }
        },
        FrameBound::UnboundedPreceding => {
            Err(wrong(frame.span, "an UNBOUNDED window would hold a stream's whole history: give it a size"))
        }
        FrameBound::Following(_) | FrameBound::UnboundedFollowing => {
            Err(wrong(frame.span, "a window cannot reach into the future (FOLLOWING): use PRECEDING"))
        }
    }
}

/// Resolves a column of a joined row: `alias.column`, `alias.ROWTIME`, or a name only one side has.
pub(super) fn bind_joined(
    parts: &[crate::ast::Ident],
    span: Span,
    scope: &Scope<'_>,
    joined: &JoinScope,
) -> Result<(Bound, SqlType), SqlError> {
    let on_side = |side: &Side, parts: &[crate::ast::Ident]| -> Result<(Bound, SqlType), SqlError> {
        let side_scope = Scope {
            qualifier: side.qualifier.as_deref(),
            columns: &scope.columns[side.range.clone()],
            intervals: scope.intervals.get(side.range.clone()).unwrap_or(&[]),
            clock: scope.clock,
            grouped: None,
            windowed: None,
            joined: None,
        };
        let (bound, ty) = bind_column(parts, span, &side_scope)?;
        let bound = match (bound, side.time) {
            (Bound::RowTime, SideTime::Row) => Bound::RowTime,
            (Bound::RowTime, SideTime::Column(i)) => Bound::Column(i),
            (Bound::RowTime, SideTime::Table) => {
                let message = "a reference table has no ROWTIME: it is not a stream";
                return Err(SqlError::at(SqlErrorKind::Unknown, span, message));
            }
            (bound, _) => shift(bound, side.range.start),
        };
        Ok((bound, ty))
    };
    if parts.len() > 1
        && let Some(side) = joined.sides.iter().find(|s| s.qualifier.as_deref() == Some(parts[0].name.as_str()))
    {
        return on_side(side, parts);
    }
    let first = &parts[0];
    if first.name == "ROWTIME" && !first.quoted && !scope.columns.iter().any(|(n, _)| n == "ROWTIME") {
        return Ok((Bound::RowTime, SqlType::Timestamp));
    }
    let having: Vec<&Side> =
        joined.sides.iter().filter(|s| scope.columns[s.range.clone()].iter().any(|(n, _)| *n == first.name)).collect();
    match having.as_slice() {
        [side] => on_side(side, parts),
        [] if parts.len() > 1 => {
            let message = format!("no source named {first} in FROM");
            let names = joined.sides.iter().filter_map(|s| s.qualifier.clone()).collect::<Vec<_>>();
            Err(unknown(first.span, message, names, &first.name))
        }
        [] => Err(unknown(
            first.span,
            format!("unknown column {first}"),
            scope.columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
            &first.name,
        )),
        several => {
            let names: Vec<String> =
                several.iter().filter_map(|s| s.qualifier.as_ref().map(|q| format!("{q}.{first}"))).collect();
            let message = format!("column {first} is ambiguous: more than one source in FROM has it");
            Err(SqlError::at(SqlErrorKind::Type, first.span, message)
                .with_help(format!("write {}", names.join(" or "))))
        }
    }
}

fn shift(bound: Bound, offset: usize) -> Bound {
    match bound {
        Bound::Column(i) => Bound::Column(i + offset),
        Bound::Field(inner, i) => Bound::Field(Box::new(shift(*inner, offset)), i),
        other => other,
    }
}

/// Names for the two ROWTIMEs a stream-stream join's rows carry behind their columns, where a later (table) join
/// must list them to place its own columns after them; no source's range covers them, so no name finds them.
const HIDDEN_TIMES: [&str; 2] = ["$LEFT_ROWTIME", "$RIGHT_ROWTIME"];

/// The columns `*` selects in a joined row: every source's, in FROM order (not the hidden ROWTIMEs).
pub(super) fn visible_columns(joined: &JoinScope) -> Vec<usize> {
    joined.sides.iter().flat_map(|s| s.range.clone()).collect()
}

/// The columns `alias.*` selects in a joined row, or None when no source has that name.
pub(super) fn qualified_wildcard(joined: &JoinScope, qualifier: &str) -> Option<Range<usize>> {
    joined.sides.iter().find(|s| s.qualifier.as_deref() == Some(qualifier)).map(|s| s.range.clone())
}

/// For each stream, the join stages it is the right side of, as (pump, stage).
pub(super) fn readers(program: &Program) -> Vec<Vec<(usize, usize)>> {
    let mut readers = vec![Vec::new(); program.streams.len()];
    for (index, pump) in program.pumps.iter().enumerate() {
        for (position, stage) in pump.stages.iter().enumerate() {
            if let Stage::Join(join) = stage
                && let Right::Stream { stream, .. } = join.right
            {
                readers[stream.0].push((index, position));
            }
        }
    }
    readers
}

// ---- Reference data on the program and runner ----

impl Program {
    /// Compiles `sql` for an application whose input in-app stream is `input`, with reference `tables` (KDA
    /// allows one) that the SQL may join. Their rows are loaded later ([`Program::set_table_rows`]).
    pub fn compile_with_tables(sql: &str, input: StreamDef, tables: Vec<StreamDef>) -> Result<Program, Vec<SqlError>> {
        plan::compile_with(sql, input, tables)
    }

    /// The reference tables' names.
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().map(|t| t.def.name.as_str())
    }

    /// A reference table's definition.
    pub fn table_def(&self, name: &str) -> Option<&StreamDef> {
        self.tables.iter().find(|t| t.def.name == name).map(|t| &t.def)
    }

    /// Loads a reference table's rows (each in the table's column order); false when there is no such table.
    pub fn set_table_rows(&mut self, name: &str, rows: Vec<Vec<Value>>) -> bool {
        match self.tables.iter_mut().find(|t| t.def.name == name) {
            Some(table) => {
                table.rows = Arc::new(rows);
                true
            }
            None => false,
        }
    }

    /// The right-hand streams of stream-stream joins, as `(pump, stream)`: each pump reads that stream too, beside
    /// the source [`Program::pump_edges`] gives (for pictures of the application).
    pub fn join_edges(&self) -> impl Iterator<Item = (&str, StreamId)> {
        self.join_readers
            .iter()
            .enumerate()
            .flat_map(|(stream, readers)| readers.iter().map(move |&(p, _)| (p, StreamId(stream))))
            .map(|(p, stream)| (self.pumps[p].name.as_str(), stream))
    }

    /// The reference tables pumps join, as `(pump, table)`, once per join stage (for pictures of the application).
    pub fn table_join_edges(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pumps.iter().flat_map(move |pump| {
            pump.stages.iter().filter_map(move |stage| match stage {
                Stage::Join(join) => match join.right {
                    Right::Table(table) => Some((pump.name.as_str(), self.tables[table].def.name.as_str())),
                    Right::Stream { .. } => None,
                },
                _ => None,
            })
        })
    }

    pub(super) fn table(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.def.name == name)
    }
}

impl Runner<'_> {
    /// Replaces a reference table's rows for this runner only (pipeline tests give them inline); false when
    /// there is no such table.
    pub fn set_table_rows(&mut self, name: &str, rows: Vec<Vec<Value>>) -> bool {
        let Some(table) = self.program.table(name) else { return false };
        self.tables[table] = Arc::new(rows);
        for state in &mut self.joins {
            state.index = None;
        }
        true
    }

    /// Rows held in the windows of stream-stream joins: the runner's join state size.
    pub fn join_rows(&self) -> usize {
        self.joins.iter().map(JoinState::held).sum()
    }

    /// A row reaching join stage `position` of pump `index` from the left.
    pub(super) fn join_left(
        &mut self,
        index: usize,
        position: usize,
        join: &Join,
        row: &RowRef<'_>,
        describe: &dyn Fn() -> String,
        out: &mut dyn FnMut(Emit<'_>),
    ) {
        match join.right {
            Right::Table(table) => self.join_table(index, position, join, table, row, describe, out),
            Right::Stream { window, .. } => {
                let now = row.rowtime;
                self.expire_join(index, position, join, now, false, out);
                let key = self.key(&join.left_keys, row);
                let mut held = std::mem::take(&mut self.joins[join.state].right);
                let mut matched = false;
                for at in held.candidates(!join.left_keys.is_empty(), key.as_ref()) {
                    let right = &mut held.rows[at];
                    if !window.holds(right.rowtime, now) {
                        continue;
                    }
                    let mut joined = self.buffer();
                    joined.extend_from_slice(row.values);
                    joined.extend_from_slice(&right.values);
                    joined.push(Value::Timestamp(now));
                    joined.push(Value::Timestamp(right.rowtime));
                    if self.pair(index, position, join, joined, now, describe, out) {
                        right.matched = true;
                        matched = true;
                    }
                }
                let state = &mut self.joins[join.state];
                state.right = held;
                state.left.push(Held { rowtime: now, values: row.values.to_vec(), matched, key });
                self.trim_rows(index, position, join, now, out);
            }
        }
    }

    /// A row of the right stream of join stage `position` of pump `index`.
    pub(super) fn join_right(&mut self, index: usize, position: usize, row: &Row, out: &mut dyn FnMut(Emit<'_>)) {
        let program = self.program;
        let Stage::Join(join) = &program.pumps[index].stages[position] else { return };
        let Right::Stream { stream, .. } = join.right else { return };
        let now = row.rowtime;
        self.expire_join(index, position, join, now, false, out);
        let source = &program.streams[stream.0];
        let describe = || describe_row(source, row);
        let key = self.key(&join.right_keys, &RowRef { values: &row.values, rowtime: now });
        let mut held = std::mem::take(&mut self.joins[join.state].left);
        let mut matched = false;
        for at in held.candidates(!join.right_keys.is_empty(), key.as_ref()) {
            let left = &mut held.rows[at];
            if !join.left_window.holds(left.rowtime, now) {
                continue;
            }
            let mut joined = self.buffer();
            joined.extend_from_slice(&left.values);
            joined.extend_from_slice(&row.values);
            joined.push(Value::Timestamp(left.rowtime));
            joined.push(Value::Timestamp(now));
            if self.pair(index, position, join, joined, now, &describe, out) {
                left.matched = true;
                matched = true;
            }
        }
        let state = &mut self.joins[join.state];
        state.left = held;
        state.right.push(Held { rowtime: now, values: row.values.clone(), matched, key });
        self.trim_rows(index, position, join, now, out);
    }

    /// A row's key for the ON clause's equalities: None when there are none, or a value is NULL or fails (such a
    /// row pairs by no equality; a failing ON clause is reported when a pair is tried).
    fn key(&self, keys: &[Bound], row: &RowRef<'_>) -> Option<Vec<Key>> {
        if keys.is_empty() {
            return None;
        }
        keys.iter().map(|bound| bound.eval(row, &self.cx).ok().as_ref().and_then(key_of)).collect()
    }

    /// Evaluates the ON clause on `joined`; when it holds, the row goes on through the pump's next stages.
    #[allow(clippy::too_many_arguments)]
    fn pair(
        &mut self,
        index: usize,
        position: usize,
        join: &Join,
        joined: Vec<Value>,
        rowtime: i64,
        describe: &dyn Fn() -> String,
        out: &mut dyn FnMut(Emit<'_>),
    ) -> bool {
        if let Some(condition) = &join.condition {
            match condition.eval(&RowRef { values: &joined, rowtime }, &self.cx) {
                Ok(Value::Boolean(true)) => {}
                Ok(_) => {
                    self.recycle(joined);
                    return false;
                }
                Err(e) => {
                    self.recycle(joined);
                    let pump = Some(self.program.pumps[index].name.clone());
                    let failure = Failure { name: "Data_Error", message: e.message, rowtime, data: describe(), pump };
                    out(Emit::Failure(failure));
                    return false;
                }
            }
        }
        self.run(index, position + 1, &joined, rowtime, describe, out);
        self.recycle(joined);
        true
    }

    /// A stream row looked up in a reference table.
    #[allow(clippy::too_many_arguments)]
    fn join_table(
        &mut self,
        index: usize,
        position: usize,
        join: &Join,
        table: usize,
        row: &RowRef<'_>,
        describe: &dyn Fn() -> String,
        out: &mut dyn FnMut(Emit<'_>),
    ) {
        let rows = Arc::clone(&self.tables[table]);
        let mut lookup = None;
        let mut key = std::mem::take(&mut self.joins[join.state].probe);
        key.clear();
        if !join.left_keys.is_empty() {
            for bound in &join.left_keys {
                match bound.eval(row, &self.cx) {
                    Ok(value) => match key_of(&value) {
                        Some(k) => key.push(k),
                        None => break, // NULL equals nothing.
                    },
                    Err(e) => {
                        self.joins[join.state].probe = key;
                        let pump = Some(self.program.pumps[index].name.clone());
                        let failure = Failure {
                            name: "Data_Error",
                            message: e.message,
                            rowtime: row.rowtime,
                            data: describe(),
                            pump,
                        };
                        return out(Emit::Failure(failure));
                    }
                }
            }
            let state = &mut self.joins[join.state];
            let cx = &self.cx;
            lookup = Some(Arc::clone(state.index.get_or_insert_with(|| Arc::new(build_index(join, &rows, cx)))));
        }
        let candidates: Option<&[u32]> = lookup.as_deref().map(|index| {
            if key.len() == join.left_keys.len() { index.get(&key).map_or(&[][..], Vec::as_slice) } else { &[][..] }
        });
        let mut matched = false;
        let mut try_pair = |runner: &mut Self, right: &[Value]| {
            let mut joined = runner.buffer();
            joined.extend_from_slice(row.values);
            joined.extend_from_slice(right);
            matched |= runner.pair(index, position, join, joined, row.rowtime, describe, out);
        };
        match candidates {
            Some(found) => {
                for &i in found {
                    try_pair(self, &rows[i as usize]);
                }
            }
            None => {
                for right in rows.iter() {
                    try_pair(self, right);
                }
            }
        }
        self.joins[join.state].probe = key;
        if !matched && matches!(join.kind, JoinKind::Left | JoinKind::Full) {
            let mut joined = self.buffer();
            joined.extend_from_slice(row.values);
            joined.resize(join.left_width + join.right_width, Value::Null);
            self.run(index, position + 1, &joined, row.rowtime, describe, out);
            self.recycle(joined);
        }
    }

    /// Keeps ROWS windows to their size; an unmatched row pushed out of an outer side is emitted now.
    fn trim_rows(&mut self, index: usize, position: usize, join: &Join, now: i64, out: &mut dyn FnMut(Emit<'_>)) {
        let Right::Stream { window, .. } = join.right else { return };
        let mut expired = Vec::new();
        let state = &mut self.joins[join.state];
        if let JoinWindow::Rows(n) = join.left_window {
            while state.left.len() > n.saturating_add(1) {
                if let Some(row) = state.left.pop() {
                    expired.push(unmatched(join, row, true, now));
                }
            }
        }
        if let JoinWindow::Rows(n) = window {
            while state.right.len() > n.saturating_add(1) {
                if let Some(row) = state.right.pop() {
                    expired.push(unmatched(join, row, false, now));
                }
            }
        }
        self.emit_unmatched(index, position, expired.into_iter().flatten().collect(), out);
    }

    /// The time is `now` for join stage `position` of pump `index`: rows leave RANGE windows that no longer hold
    /// them (every row, at the end of input: `all`), and the unmatched ones of outer sides are emitted.
    pub(super) fn expire_join(
        &mut self,
        index: usize,
        position: usize,
        join: &Join,
        now: i64,
        all: bool,
        out: &mut dyn FnMut(Emit<'_>),
    ) {
        let Right::Stream { window, .. } = join.right else { return };
        let state = &mut self.joins[join.state];
        state.now = state.now.max(now);
        let last = state.now;
        let mut expired = Vec::new();
        for (left, window) in [(true, join.left_window), (false, window)] {
            let rows = if left { &mut state.left } else { &mut state.right };
            while let Some(front) = rows.front() {
                let gone = match window {
                    JoinWindow::Range(_) => all || !window.holds(front.rowtime, now),
                    JoinWindow::Rows(_) => all,
                };
                if !gone {
                    break;
                }
                let Some(row) = rows.pop() else { break };
                // Held rows end their window no earlier than the last time seen (they would have left before).
                let at = match window {
                    JoinWindow::Range(d) => row.rowtime.saturating_add(d),
                    JoinWindow::Rows(_) => last,
                };
                expired.extend(unmatched(join, row, left, at));
            }
        }
        expired.sort_by_key(|(at, _)| *at);
        self.emit_unmatched(index, position, expired, out);
    }

    fn emit_unmatched(
        &mut self,
        index: usize,
        position: usize,
        rows: Vec<(i64, Vec<Value>)>,
        out: &mut dyn FnMut(Emit<'_>),
    ) {
        for (at, values) in rows {
            let describe = || format!("{values:?}");
            self.run(index, position + 1, &values, at, &describe, out);
        }
    }

    /// Every join whose windows the input's clock expires, at `now` (in pump order).
    pub(super) fn expire_joins(&mut self, now: i64, all: bool, out: &mut dyn FnMut(Emit<'_>)) {
        let program = self.program;
        for &index in &program.pump_order {
            for (position, stage) in program.pumps[index].stages.iter().enumerate() {
                if let Stage::Join(join) = stage
                    && matches!(join.right, Right::Stream { .. })
                    && (all || join.clock)
                {
                    self.expire_join(index, position, join, now, all, out);
                }
            }
        }
    }
}

/// A row leaving its window: for an outer side, if it matched nothing, its row padded with NULLs at `at`.
fn unmatched(join: &Join, row: Held, left: bool, at: i64) -> Option<(i64, Vec<Value>)> {
    let keep = if left {
        matches!(join.kind, JoinKind::Left | JoinKind::Full)
    } else {
        matches!(join.kind, JoinKind::Right | JoinKind::Full)
    };
    if row.matched || !keep {
        return None;
    }
    let mut values = Vec::with_capacity(join.left_width + join.right_width + 2);
    if left {
        values.extend(row.values);
        values.resize(join.left_width + join.right_width, Value::Null);
        values.push(Value::Timestamp(row.rowtime));
        values.push(Value::Null);
    } else {
        values.resize(join.left_width, Value::Null);
        values.extend(row.values);
        values.push(Value::Null);
        values.push(Value::Timestamp(row.rowtime));
    }
    Some((at, values))
}

/// The table's rows by the key of the ON clause's equalities (rows whose key is NULL or fails match nothing).
fn build_index(join: &Join, rows: &[Vec<Value>], cx: &crate::functions::EvalContext) -> HashMap<Vec<Key>, Vec<u32>> {
    let mut index: HashMap<Vec<Key>, Vec<u32>> = HashMap::with_capacity(rows.len());
    'rows: for (i, row) in rows.iter().enumerate() {
        let mut key = Vec::with_capacity(join.right_keys.len());
        for bound in &join.right_keys {
            match bound.eval(&RowRef { values: row, rowtime: 0 }, cx).ok().as_ref().and_then(key_of) {
                Some(k) => key.push(k),
                None => continue 'rows,
            }
        }
        index.entry(key).or_default().push(u32::try_from(i).unwrap_or(u32::MAX));
    }
    index
}

#[cfg(test)]
#[path = "join_tests.rs"]
mod tests;
