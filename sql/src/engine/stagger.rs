//! Stagger windows: `SELECT STREAM keys.., aggregates.. FROM s WINDOWED BY STAGGER (PARTITION BY k1, k2 RANGE
//! INTERVAL '1' MINUTE)` ([DG] stagger-window-concepts.md). A window opens at the first row of its key and closes
//! one RANGE later; its row comes out then, with ROWTIME = the window's end. WINDOWED BY replaces GROUP BY.
//!
//! ```text
//!   row ─WHERE─▶ key (PARTITION BY values) ──index──▶ open window of that key ──Acc::update
//!                                              └─ none: open one, ending at ROWTIME + RANGE (pushed at the back)
//!   clock / a later row ──▶ pop windows from the front while end <= now ──▶ HAVING ▶ SELECT list ▶ rows
//! ```
//!
//! Every window lasts the same RANGE and opens at a ROWTIME no earlier than the one before, so the open windows,
//! kept in the order they opened, also end in that order: closing is popping from the front of a queue, and
//! rows come out in ROWTIME order. State is the open windows (one per active key): a key whose window closed
//! holds nothing until its next row. The planner checks what KDA checks: no GROUP BY beside WINDOWED BY, no
//! sliding windows, a positive day-time interval literal as RANGE, and a select list made of the PARTITION BY
//! expressions, aggregates of the rows and ROWTIME (the window's end).
//!
//! The reference's worked example, all AMZN, PARTITION BY FLOOR(EVENT_TIME TO MINUTE), TICKER_SYMBOL RANGE
//! INTERVAL '1' MINUTE: rows (ROWTIME/EVENT_TIME) 11:00:20/11:00:10, 11:00:30/11:00:20, 11:01:05/11:00:55 open
//! and fill the window of (11:00, AMZN) from 11:00:20 to 11:01:20; 11:01:15/11:01:05 opens (11:01, AMZN) until
//! 11:02:15. Output: (11:01:20, 11:00, 3), (11:02:15, 11:01, 1).

use std::any::Any;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use crate::ast::{Expr, Literal, Select};
use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::types::SqlType;
use crate::value::Value;

use super::Row;
use super::Stage;
use super::aggregate::{Acc, AggSpec};
use super::eval::{Bound, RowRef};
use super::grouping::{Grouped, bind_items, find_aggregate, fingerprint, group_column_name};
use super::groups::KeyValue;
use super::plan::{Scope, StageColumns, bind, not_supported, type_error};
use super::sliding_plan::find_over;
use super::stateful::{Emitted, Operator, OperatorStage};

/// A stagger window query, compiled.
#[derive(Debug)]
struct Stagger {
    /// WHERE, on input rows.
    filter: Option<Bound>,
    /// PARTITION BY expressions, on input rows.
    keys: Vec<Bound>,
    /// The window's length in milliseconds.
    range: i64,
    /// The aggregate calls.
    aggs: Vec<AggSpec>,
    /// HAVING, over the group row `[keys.., aggregates..]`.
    having: Option<Bound>,
    /// The select list, over the group row.
    projections: Vec<Bound>,
    /// Names of the group row's values, for error_stream.
    group_columns: Vec<String>,
    /// Names of the input's columns, for error_stream.
    input_columns: Vec<String>,
}

/// One open window: its key, when it ends, the key's values and the aggregates so far.
#[derive(Debug)]
struct Open {
    key: Vec<KeyValue>,
    end: i64,
    accs: Vec<Acc>,
}

/// The open windows of one stagger stage, oldest first.
#[derive(Debug, Default)]
struct StaggerState {
    /// Key → sequence number of its open window.
    index: HashMap<Vec<KeyValue>, u64>,
    /// The open windows; the front one has sequence number `first`.
    open: VecDeque<Open>,
    first: u64,
    /// The latest ROWTIME seen.
    last: i64,
}

/// Compiles `SELECT ... WINDOWED BY STAGGER (...)` over `input`'s rows.
pub(super) fn compile_stagger(select: &Select, input: &Scope<'_>) -> Result<(Stage, StageColumns), SqlError> {
    let Some(stagger) = &select.stagger else {
        return Err(type_error(select.span, "a stagger window query without WINDOWED BY".into()));
    };
    if let Some(first) = select.group_by.first() {
        return Err(type_error(
            first.span(),
            "WINDOWED BY STAGGER replaces GROUP BY: a query has one or the other".into(),
        )
        .with_help("move the GROUP BY keys into the stagger window's PARTITION BY"));
    }
    if let Some(call) = select.items.iter().find_map(|item| match item {
        crate::ast::SelectItem::Expr { expr, .. } => find_over(expr),
        _ => None,
    }) {
        return Err(type_error(
            call.span(),
            "a stagger window query cannot also aggregate OVER a sliding window".into(),
        ));
    }
    if let Some(window) = select.windows.first() {
        return Err(type_error(window.name.span, "a stagger window query has no WINDOW clause".into()));
    }
    if let Some(call) = select.filter.as_ref().and_then(find_aggregate) {
        return Err(type_error(call.span(), "an aggregate function is not allowed in WHERE".into())
            .with_help("WHERE filters rows before they enter their window; filter windows with HAVING"));
    }
    if let Some(call) = stagger.partition_by.iter().find_map(find_aggregate) {
        return Err(type_error(call.span(), "an aggregate function is not allowed in PARTITION BY".into()));
    }
    let range = match &stagger.range {
        Expr::Literal { value: Literal::IntervalDayTime { millis, .. }, .. } if *millis > 0 => *millis,
        Expr::Literal { value: Literal::IntervalDayTime { .. }, span } => {
            return Err(type_error(*span, "a stagger window's RANGE must be a positive interval".into()));
        }
        Expr::Literal { value: Literal::IntervalYearMonth { .. }, span } => {
            return Err(not_supported(*span, "a stagger window of months or years"));
        }
        other => {
            return Err(type_error(
                other.span(),
                "a stagger window's RANGE is an interval literal, as in RANGE INTERVAL '1' MINUTE".into(),
            ));
        }
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
    let mut keys = Vec::new();
    let mut fingerprints = Vec::new();
    let mut group_columns = Vec::new();
    for (slot, expr) in stagger.partition_by.iter().enumerate() {
        let (bound, ty) = bind(expr, input)?;
        fingerprints.push((fingerprint(expr, input), slot, ty));
        group_columns.push(group_column_name(expr, slot).1);
        keys.push(bound);
    }
    let grouped = Grouped { input, keys: fingerprints, first_aggregate: keys.len(), aggs: RefCell::new(Vec::new()) };
    let scope = Scope { grouped: Some(&grouped), ..input.clone() };
    let (projections, columns) = bind_items(select, &scope).map_err(partitioned)?;
    let having = match &select.having {
        Some(expr) => {
            let (bound, ty) = bind(expr, &scope).map_err(partitioned)?;
            if !matches!(ty, SqlType::Boolean | SqlType::Null) {
                return Err(type_error(expr.span(), format!("HAVING needs a BOOLEAN, not {ty}")));
            }
            Some(bound)
        }
        None => None,
    };
    let aggs: Vec<AggSpec> = grouped.aggs.into_inner().into_iter().map(|(_, spec)| spec).collect();
    group_columns.extend(aggs.iter().map(|a| a.kind.name().to_owned()));
    let intervals = vec![None; columns.len()];
    let stagger = Stagger {
        filter,
        keys,
        range,
        aggs,
        having,
        projections,
        group_columns,
        input_columns: input.columns.iter().map(|(name, _)| name.clone()).collect(),
    };
    Ok((Stage::Operator(Box::new(OperatorStage::new(Box::new(stagger)))), (columns, intervals)))
}

/// Grouping's messages, said of a stagger window: its keys are its PARTITION BY.
fn partitioned(mut e: SqlError) -> SqlError {
    if e.message.contains("neither in GROUP BY") {
        e.message = e.message.replace("neither in GROUP BY", "neither in PARTITION BY");
        e.help = Some("add it to the stagger window's PARTITION BY, or aggregate it (MIN, MAX, ...)".to_owned());
    }
    e
}

impl Stagger {
    /// Adds a row to its key's window, opening one when the key has none.
    fn absorb(&self, state: &mut StaggerState, row: &RowRef<'_>, cx: &EvalContext) -> Result<(), SqlError> {
        if let Some(filter) = &self.filter
            && filter.eval(row, cx)? != Value::Boolean(true)
        {
            return Ok(());
        }
        let key = self.keys.iter().map(|k| k.eval(row, cx).map(KeyValue)).collect::<Result<Vec<_>, _>>()?;
        let args = self
            .aggs
            .iter()
            .map(|spec| spec.arg.as_ref().map_or(Ok(Value::Null), |arg| arg.eval(row, cx)))
            .collect::<Result<Vec<_>, _>>()?;
        let position = match state.index.get(&key) {
            Some(&sequence) => (sequence - state.first) as usize,
            None => {
                let sequence = state.first + state.open.len() as u64;
                state.index.insert(key.clone(), sequence);
                let accs = self.aggs.iter().map(AggSpec::start).collect();
                state.open.push_back(Open { key, end: row.rowtime.saturating_add(self.range), accs });
                state.open.len() - 1
            }
        };
        if let Some(open) = state.open.get_mut(position) {
            for ((spec, acc), value) in self.aggs.iter().zip(&mut open.accs).zip(&args) {
                acc.update(spec.kind, value);
            }
        }
        Ok(())
    }

    /// Closes the windows that end by `until` (None: all), front first.
    fn close_due(&self, state: &mut StaggerState, until: Option<i64>, cx: &EvalContext, out: &mut Emitted) {
        while let Some(front) = state.open.front() {
            if until.is_some_and(|now| front.end > now) {
                break;
            }
            let Some(window) = state.open.pop_front() else { break };
            state.first += 1;
            state.index.remove(&window.key);
            let mut values: Vec<Value> = window.key.into_iter().map(|k| k.0).collect();
            let mut failed = None;
            for (acc, spec) in window.accs.iter().zip(&self.aggs) {
                match acc.finish(spec) {
                    Ok(value) => values.push(value),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let result = match failed {
                Some(e) => Err(e),
                None => self.output(&values, window.end, cx),
            };
            match result {
                Ok(Some(row)) => out.rows.push(row),
                Ok(None) => {}
                Err(e) => out.failures.push(("Data_Error", e.message, window.end, self.describe(&values))),
            }
        }
    }

    /// A window's group row through HAVING and the select list, at ROWTIME = its end.
    fn output(&self, group: &[Value], end: i64, cx: &EvalContext) -> Result<Option<Row>, SqlError> {
        let cx = EvalContext { row_time_ms: end, ..*cx };
        let row = RowRef { values: group, rowtime: end };
        if let Some(having) = &self.having
            && having.eval(&row, &cx)? != Value::Boolean(true)
        {
            return Ok(None);
        }
        let values = self.projections.iter().map(|p| p.eval(&row, &cx)).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Row { rowtime: end, values }))
    }

    fn describe(&self, values: &[Value]) -> String {
        let pairs: Vec<String> =
            self.group_columns.iter().zip(values).map(|(name, value)| format!("{name}={value:?}")).collect();
        pairs.join(", ")
    }
}

impl Operator for Stagger {
    fn start(&self) -> Box<dyn Any + Send> {
        Box::new(StaggerState { last: i64::MIN, ..StaggerState::default() })
    }

    fn push(&self, state: &mut dyn Any, row: &RowRef<'_>, cx: &EvalContext, out: &mut Emitted) {
        let Some(state) = state.downcast_mut::<StaggerState>() else { return };
        let describe = || {
            let pairs: Vec<String> =
                self.input_columns.iter().zip(row.values).map(|(name, value)| format!("{name}={value:?}")).collect();
            pairs.join(", ")
        };
        if row.rowtime < state.last {
            // Only a ROWTIME set in a subquery can go back.
            let message = format!("ROWTIME {} is earlier than its stagger window's last row", row.rowtime);
            out.failures.push(("Out_Of_Order_Rowtime", message, row.rowtime, describe()));
            return;
        }
        state.last = row.rowtime;
        self.close_due(state, Some(row.rowtime), cx, out);
        if let Err(e) = self.absorb(state, row, cx) {
            out.failures.push(("Data_Error", e.message, row.rowtime, describe()));
        }
    }

    fn close(&self, state: &mut dyn Any, until: Option<i64>, cx: &mut EvalContext, out: &mut Emitted) {
        if let Some(state) = state.downcast_mut::<StaggerState>() {
            self.close_due(state, until, cx, out);
        }
    }

    fn next_due(&self, state: &dyn Any) -> Option<i64> {
        state.downcast_ref::<StaggerState>().and_then(|s| s.open.front()).map(|w| w.end)
    }

    fn held(&self, state: &dyn Any) -> usize {
        state.downcast_ref::<StaggerState>().map_or(0, |s| s.open.len())
    }

    fn filters(&self) -> bool {
        self.filter.is_some() || self.having.is_some()
    }
}

#[cfg(test)]
mod tests {
    //! The stagger page's example planned and run, the clock closing a quiet key's window, HAVING and the
    //! window's end as ROWTIME, and what validation refuses, at its place.

    use super::super::{Emit, Failure, Program, Row, StreamDef};
    use crate::error::SqlErrorKind;
    use crate::literal::parse_timestamp;
    use crate::types::SqlType;
    use crate::value::Value;

    fn input() -> StreamDef {
        StreamDef {
            name: "S".into(),
            columns: vec![
                ("TICKER_SYMBOL".into(), SqlType::Varchar(4)),
                ("EVENT_TIME".into(), SqlType::Timestamp),
                ("PRICE".into(), SqlType::Double),
            ],
        }
    }

    fn t(text: &str) -> i64 {
        parse_timestamp(&format!("2020-07-01 {text}")).expect("a time")
    }

    fn row(rowtime: &str, ticker: &str, event: &str, price: f64) -> Row {
        Row {
            rowtime: t(rowtime),
            values: vec![Value::string(ticker), Value::Timestamp(t(event)), Value::Double(price)],
        }
    }

    /// Pushes rows on a virtual clock, then moves the clock to each window's end as a pipeline test does.
    fn run(sql: &str, rows: Vec<Row>) -> (Vec<(i64, Vec<Value>)>, Vec<Failure>) {
        let program = Program::compile(sql, input()).unwrap_or_else(|e| panic!("{e:?}"));
        let stream = program.stream("OUT").expect("OUT");
        let (mut seen, mut failures) = (Vec::new(), Vec::new());
        let mut out = |e: Emit<'_>| match e {
            Emit::Row(id, row) if id == stream => seen.push((row.rowtime, row.values.clone())),
            Emit::Row(..) => {}
            Emit::Failure(f) => failures.push(f),
        };
        let mut runner = program.runner_at(0);
        for row in rows {
            runner.advance_to(row.rowtime, &mut out);
            runner.push(row, &mut out);
        }
        while let Some(end) = runner.next_window_end() {
            runner.advance_to(end, &mut out);
        }
        assert_eq!(runner.window_groups(), 0, "every window closed");
        runner.finish(&mut out);
        (seen, failures)
    }

    const PAGE: &str = r#"
        CREATE OR REPLACE STREAM "OUT" (ticker_symbol VARCHAR(4), event_time TIMESTAMP, ticker_count DOUBLE);
        CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "OUT"
            SELECT STREAM TICKER_SYMBOL, FLOOR(EVENT_TIME TO MINUTE), COUNT(TICKER_SYMBOL) AS ticker_count
            FROM "S"
            WINDOWED BY STAGGER (PARTITION BY FLOOR(EVENT_TIME TO MINUTE), TICKER_SYMBOL RANGE INTERVAL '1' MINUTE);"#;

    #[test]
    fn the_stagger_pages_output() {
        let rows = vec![
            row("11:00:20", "AMZN", "11:00:10", 1.0),
            row("11:00:30", "AMZN", "11:00:20", 1.0),
            row("11:01:05", "AMZN", "11:00:55", 1.0),
            row("11:01:15", "AMZN", "11:01:05", 1.0),
        ];
        let (seen, failures) = run(PAGE, rows);
        assert!(failures.is_empty(), "{failures:?}");
        let amzn = Value::string("AMZN");
        assert_eq!(
            seen,
            [
                (t("11:01:20"), vec![amzn.clone(), Value::Timestamp(t("11:00:00")), Value::Double(3.0)]),
                (t("11:02:15"), vec![amzn, Value::Timestamp(t("11:01:00")), Value::Double(1.0)]),
            ]
        );
    }

    #[test]
    fn keys_window_apart_having_filters_and_rowtime_is_the_end() {
        let sql = r#"
            CREATE STREAM "OUT" (ticker VARCHAR(4), total DOUBLE, closed TIMESTAMP);
            CREATE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM TICKER_SYMBOL, SUM(PRICE), ROWTIME FROM "S" WHERE PRICE > 0
            WINDOWED BY STAGGER (PARTITION BY TICKER_SYMBOL RANGE INTERVAL '10' SECOND PRECEDING)
            HAVING COUNT(*) > 1;"#;
        let rows = vec![
            row("11:00:00", "A", "11:00:00", 1.0),
            row("11:00:05", "B", "11:00:00", 2.0),
            row("11:00:06", "A", "11:00:00", -5.0), // WHERE drops it.
            row("11:00:09", "A", "11:00:00", 3.0),
            row("11:00:12", "B", "11:00:00", 4.0),
            row("11:00:14", "B", "11:00:00", 5.0), // B's first window ended at 11:00:15: it holds 2.0, 4.0, 5.0.
            row("11:00:20", "A", "11:00:00", 7.0), // A's second window: one row, HAVING drops it.
        ];
        let (seen, failures) = run(sql, rows);
        assert!(failures.is_empty(), "{failures:?}");
        let close = |at: &str| Value::Timestamp(t(at));
        assert_eq!(
            seen,
            [
                (t("11:00:10"), vec![Value::string("A"), Value::Double(4.0), close("11:00:10")]),
                (t("11:00:15"), vec![Value::string("B"), Value::Double(11.0), close("11:00:15")]),
            ]
        );
    }

    #[test]
    fn window_groups_counts_open_stagger_windows_and_sliding_partitions() {
        let sql = r#"
            CREATE STREAM "OUT" (ticker VARCHAR(4), n BIGINT);
            CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM TICKER_SYMBOL, COUNT(*) FROM "S"
            WINDOWED BY STAGGER (PARTITION BY TICKER_SYMBOL RANGE INTERVAL '1' MINUTE);
            CREATE STREAM "AVERAGES" (ticker VARCHAR(4), average DOUBLE);
            CREATE PUMP q AS INSERT INTO "AVERAGES" SELECT STREAM TICKER_SYMBOL,
            AVG(PRICE) OVER (PARTITION BY TICKER_SYMBOL RANGE INTERVAL '1' MINUTE PRECEDING) FROM "S";"#;
        let program = Program::compile(sql, input()).unwrap_or_else(|e| panic!("{e:?}"));
        let mut runner = program.runner_at(0);
        let mut out = |_: Emit<'_>| {};
        for (at, ticker) in [("11:00:00", "A"), ("11:00:10", "B"), ("11:00:20", "A")] {
            runner.push(row(at, ticker, at, 1.0), &mut out);
        }
        assert_eq!(runner.window_groups(), 4, "two stagger windows, two sliding partitions");
        runner.advance_to(t("11:01:05"), &mut out);
        assert_eq!(runner.window_groups(), 3, "A's window closed at 11:01:00; B's window and both partitions remain");
        runner.advance_to(t("11:02:00"), &mut out);
        assert_eq!(runner.window_groups(), 0, "the clock closed and pruned everything");
    }

    #[test]
    fn what_kda_rejects_is_placed() {
        let cases = [
            (
                "SELECT STREAM TICKER_SYMBOL, COUNT(*) FROM S WINDOWED BY STAGGER (PARTITION BY TICKER_SYMBOL \
                 RANGE INTERVAL '1' MINUTE) GROUP BY TICKER_SYMBOL, STEP(S.ROWTIME BY INTERVAL '1' MINUTE)",
                SqlErrorKind::Type,
                "WINDOWED BY STAGGER replaces GROUP BY",
                "TICKER_SYMBOL, STEP",
            ),
            (
                "SELECT STREAM TICKER_SYMBOL, COUNT(*) FROM S WINDOWED BY STAGGER (PARTITION BY TICKER_SYMBOL RANGE 60)",
                SqlErrorKind::Type,
                "RANGE is an interval literal",
                "60)",
            ),
            (
                "SELECT STREAM TICKER_SYMBOL, COUNT(*) FROM S WINDOWED BY STAGGER (PARTITION BY TICKER_SYMBOL \
                 RANGE INTERVAL '0' SECOND)",
                SqlErrorKind::Type,
                "must be a positive interval",
                "INTERVAL '0'",
            ),
            (
                "SELECT STREAM TICKER_SYMBOL, COUNT(*) FROM S WINDOWED BY STAGGER (PARTITION BY TICKER_SYMBOL \
                 RANGE INTERVAL '1' MONTH)",
                SqlErrorKind::NotSupported,
                "not supported yet: a stagger window of months or years",
                "INTERVAL '1' MONTH",
            ),
            (
                "SELECT STREAM PRICE, COUNT(*) FROM S WINDOWED BY STAGGER (PARTITION BY TICKER_SYMBOL \
                 RANGE INTERVAL '1' MINUTE)",
                SqlErrorKind::Type,
                "column PRICE is neither in PARTITION BY nor inside an aggregate function",
                "PRICE, COUNT",
            ),
            (
                "SELECT STREAM TICKER_SYMBOL, COUNT(*) FROM S WINDOWED BY STAGGER (PARTITION BY COUNT(*) \
                 RANGE INTERVAL '1' MINUTE)",
                SqlErrorKind::Type,
                "not allowed in PARTITION BY",
                "COUNT(*) RANGE",
            ),
            (
                "SELECT STREAM TICKER_SYMBOL, AVG(PRICE) OVER (ROWS 2 PRECEDING) FROM S WINDOWED BY STAGGER \
                 (PARTITION BY TICKER_SYMBOL RANGE INTERVAL '1' MINUTE)",
                SqlErrorKind::Type,
                "cannot also aggregate OVER a sliding window",
                "AVG(PRICE) OVER",
            ),
            (
                "SELECT STREAM TICKER_SYMBOL, COUNT(*) FROM S WINDOWED BY STAGGER (PARTITION BY TICKER_SYMBOL \
                 RANGE INTERVAL '1' MINUTE) ORDER BY TICKER_SYMBOL",
                SqlErrorKind::NotSupported,
                "ORDER BY",
                "TICKER_SYMBOL\n",
            ),
        ];
        for (query, kind, message, at) in cases {
            let sql = format!(
                "CREATE STREAM \"OUT\" (a VARCHAR(8), b BIGINT); CREATE PUMP p AS INSERT INTO \"OUT\" {query};\n"
            );
            let errors = Program::compile(&sql, input()).expect_err(query);
            let e = &errors[0];
            assert_eq!(e.kind, kind, "{query}: {e:?}");
            assert!(e.message.contains(message), "{query}: {}", e.message);
            let span = e.span.expect("placed");
            assert!(sql[span.start..].starts_with(at.trim_end_matches('\n')), "{query}: at {:?}", &sql[span.start..]);
        }
    }
}
