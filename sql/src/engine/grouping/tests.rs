//! Tumbling GROUP BY planned and run: the reference's examples, every aggregate, HAVING, ORDER BY, windows
//! closed by later rows, by the clock and at the end, and what validation refuses.

use super::super::{Emit, Failure, Program, Row, Runner, StreamDef};
use crate::error::SqlErrorKind;
use crate::literal::parse_timestamp;
use crate::types::SqlType;
use crate::value::Value;

fn input() -> StreamDef {
    StreamDef {
        name: "S".into(),
        columns: vec![
            ("ticker".into(), SqlType::Varchar(4)),
            ("event_time".into(), SqlType::Timestamp),
            ("price".into(), SqlType::Double),
            ("n".into(), SqlType::Integer),
            ("ok".into(), SqlType::Boolean),
        ],
    }
}

fn t(text: &str) -> i64 {
    parse_timestamp(&format!("2020-07-01 {text}")).expect("a time")
}

fn ts(text: &str) -> Value {
    Value::Timestamp(t(text))
}

fn compile(sql: &str) -> Program {
    Program::compile(sql, input()).unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

fn compile_error(sql: &str) -> crate::error::SqlError {
    Program::compile(sql, input()).expect_err(sql).remove(0)
}

/// A row of S: ticker, event time, price, n, ok.
fn row(rowtime: &str, ticker: &str, event: &str, price: f64, n: i64) -> Row {
    let values =
        vec![Value::string(ticker), ts(event), Value::Double(price), Value::Int(n), Value::Boolean(n % 2 == 0)];
    Row { rowtime: t(rowtime), values }
}

/// What a run gave: the rows of OUT (with ROWTIME) and the failures.
#[derive(Default)]
struct Seen {
    rows: Vec<(i64, Vec<Value>)>,
    failures: Vec<Failure>,
}

fn collector<'s>(program: &Program, seen: &'s mut Seen) -> impl FnMut(Emit<'_>) + 's {
    let out = program.stream("OUT").expect("OUT");
    move |emitted| match emitted {
        Emit::Row(id, row) if id == out => seen.rows.push((row.rowtime, row.values.clone())),
        Emit::Row(..) => {}
        Emit::Failure(f) => seen.failures.push(f),
    }
}

/// Pushes `rows` on a virtual clock at each row's ROWTIME, then ends the input.
fn run(program: &Program, rows: Vec<Row>) -> Seen {
    let mut seen = Seen::default();
    let mut runner = program.runner_at(0);
    {
        let mut out = collector(program, &mut seen);
        for row in rows {
            runner.advance_to(row.rowtime, &mut out);
            runner.push(row, &mut out);
        }
        runner.finish(&mut out);
    }
    seen
}

const STAGGER_DOC_TUMBLING: &str = r#"
    CREATE OR REPLACE STREAM "OUT" (ticker_symbol VARCHAR(4), event_time TIMESTAMP, ticker_count BIGINT);
    CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "OUT"
        SELECT STREAM "ticker", FLOOR("event_time" TO MINUTE), COUNT("ticker") AS ticker_count
        FROM "S"
        GROUP BY "ticker", FLOOR("event_time" TO MINUTE), STEP("S".ROWTIME BY INTERVAL '1' MINUTE);"#;

fn stagger_doc_rows() -> Vec<Row> {
    vec![
        row("11:00:20", "AMZN", "11:00:10", 1.0, 1),
        row("11:00:30", "AMZN", "11:00:20", 1.0, 1),
        row("11:01:05", "AMZN", "11:00:55", 1.0, 1),
        row("11:01:15", "AMZN", "11:01:05", 1.0, 1),
    ]
}

#[test]
fn the_stagger_pages_tumbling_output() {
    // [DG] stagger-window-concepts.md, "Partial Results with Tumbling Windows".
    let program = compile(STAGGER_DOC_TUMBLING);
    assert!(!program.is_stateless());
    let seen = run(&program, stagger_doc_rows());
    assert!(seen.failures.is_empty(), "{:?}", seen.failures);
    let amzn = Value::string("AMZN");
    assert_eq!(
        seen.rows,
        [
            (t("11:01:00"), vec![amzn.clone(), ts("11:00:00"), Value::Int(2)]),
            (t("11:02:00"), vec![amzn.clone(), ts("11:00:00"), Value::Int(1)]),
            (t("11:02:00"), vec![amzn, ts("11:01:00"), Value::Int(1)]),
        ]
    );
}

#[test]
fn a_window_closes_on_a_later_row_on_the_clock_or_at_the_end() {
    let program = compile(STAGGER_DOC_TUMBLING);
    let mut seen = Seen::default();
    let mut runner: Runner<'_> = program.runner_at(0);
    let mut out = collector(&program, &mut seen);
    for row in stagger_doc_rows().into_iter().take(2) {
        runner.push(row, &mut out);
    }
    assert_eq!(runner.next_window_end(), Some(t("11:01:00")));
    runner.advance_to(t("11:00:59.999"), &mut out);
    assert_eq!(runner.next_window_end(), Some(t("11:01:00")), "not yet");
    runner.advance_to(t("11:01:00"), &mut out);
    assert_eq!(runner.next_window_end(), None, "closed by the clock, with no row after it");
    // A row that arrives after the clock has passed its time gets the clock's time as ROWTIME.
    runner.push(row("11:00:40", "AMZN", "11:00:40", 1.0, 1), &mut out);
    runner.finish(&mut out);
    drop(out);
    let shown: Vec<(i64, Value)> = seen.rows.iter().map(|(rt, v)| (*rt, v[2].clone())).collect();
    assert_eq!(shown, [(t("11:01:00"), Value::Int(2)), (t("11:02:00"), Value::Int(1))]);
}

#[test]
fn every_aggregate_with_having() {
    let sql = r#"
        CREATE STREAM "OUT" (ticker VARCHAR(4), c BIGINT, cn BIGINT, cd BIGINT, s BIGINT, a INTEGER, ad DOUBLE,
                             lo DOUBLE, hi DOUBLE, f DOUBLE, l DOUBLE, vp DOUBLE, vs DOUBLE, sp DOUBLE, ss DOUBLE,
                             an BOOLEAN, ev BOOLEAN, w TIMESTAMP, rt TIMESTAMP);
        CREATE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM "ticker", COUNT(*), COUNT("n"), COUNT(DISTINCT "n"), SUM("n"), AVG("n"), AVG("price"),
                   MIN("price"), MAX("price"), FIRST_VALUE("price"), LAST_VALUE("price"), VAR_POP("price"),
                   VAR_SAMP("price"), STDDEV_POP("price"), STDDEV_SAMP("price"), ANY("ok"), EVERY("ok"),
                   STEP(s.ROWTIME BY INTERVAL '10' SECOND), ROWTIME
            FROM "S" AS s
            GROUP BY "ticker", STEP(s.ROWTIME BY INTERVAL '10' SECOND)
            HAVING COUNT(*) > 1 AND MAX("price") < 100;"#;
    let program = compile(sql);
    let rows = vec![
        row("12:00:01", "A", "12:00:00", 2.0, 1),
        row("12:00:02", "B", "12:00:00", 500.0, 1), // B: one row, and too expensive: HAVING drops it.
        row("12:00:03", "A", "12:00:00", 4.0, 2),
        row("12:00:04", "A", "12:00:00", 4.0, 2),
        row("12:00:05", "A", "12:00:00", 5.0, 5),
        row("12:00:06", "A", "12:00:00", 5.0, 5),
        row("12:00:07", "A", "12:00:00", 7.0, 7),
        row("12:00:08", "A", "12:00:00", 9.0, 9),
        row("12:00:09", "A", "12:00:00", 4.0, 4),
    ];
    let seen = run(&program, rows);
    assert!(seen.failures.is_empty(), "{:?}", seen.failures);
    assert_eq!(seen.rows.len(), 1, "{:?}", seen.rows);
    let (rowtime, values) = &seen.rows[0];
    assert_eq!(*rowtime, t("12:00:10"));
    let d = Value::Double;
    let b = Value::Boolean;
    let expected = [
        Value::string("A"),
        Value::Int(8),
        Value::Int(8),
        Value::Int(6), // 1, 2, 5, 7, 9, 4
        Value::Int(35),
        Value::Int(4), // 35 / 8 truncated
        d(40.0 / 8.0),
        d(2.0),
        d(9.0),
        d(2.0),
        d(4.0),
        d(4.0), // 2,4,4,4,5,5,7,9: population variance 4
        d(32.0 / 7.0),
        d(2.0),
        d((32.0f64 / 7.0).sqrt()),
        b(true),
        b(false),
        ts("12:00:00"),
        ts("12:00:10"),
    ];
    for (i, (got, want)) in values.iter().zip(&expected).enumerate() {
        let close = match (got, want) {
            (Value::Double(x), Value::Double(y)) => (x - y).abs() < 1e-9,
            _ => got == want,
        };
        assert!(close, "column {i}: {got:?} != {want:?}");
    }
}

#[test]
fn the_console_template_window_and_order_by_within_a_window() {
    let sql = r#"
        CREATE STREAM "OUT" (ticker VARCHAR(4), total DOUBLE);
        CREATE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM "ticker", SUM("price") AS total
            FROM "S"
            GROUP BY "ticker", FLOOR(("S".ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND)
            ORDER BY FLOOR(("S".ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND), total DESC, 1;"#;
    let program = compile(sql);
    let rows = vec![
        row("12:00:01", "A", "12:00:00", 1.0, 1),
        row("12:00:02", "B", "12:00:00", 5.0, 1),
        row("12:00:03", "C", "12:00:00", 1.0, 1),
        row("12:00:11", "A", "12:00:00", 3.0, 1),
    ];
    let seen = run(&program, rows);
    let shown: Vec<(i64, String, f64)> = seen
        .rows
        .iter()
        .map(|(rt, v)| match v.as_slice() {
            [Value::String(s), Value::Double(x)] => (*rt, s.to_string(), *x),
            other => panic!("{other:?}"),
        })
        .collect();
    let ten = t("12:00:10");
    let twenty = t("12:00:20");
    assert_eq!(
        shown,
        [(ten, "B".into(), 5.0), (ten, "A".into(), 1.0), (ten, "C".into(), 1.0), (twenty, "A".into(), 3.0)]
    );
}

#[test]
fn windows_cascade_through_in_app_streams_and_a_subquery() {
    // Per-minute counts into MID, then two-minute sums of them; and a subquery's groups filtered outside.
    let sql = r#"
        CREATE STREAM "MID" (ticker VARCHAR(4), c BIGINT);
        CREATE STREAM "OUT" (ticker VARCHAR(4), c BIGINT);
        CREATE STREAM "BIG" (ticker VARCHAR(4), c BIGINT);
        CREATE PUMP p1 AS INSERT INTO "MID"
            SELECT STREAM "ticker", COUNT(*) FROM "S" GROUP BY "ticker", FLOOR("S".ROWTIME TO MINUTE);
        CREATE PUMP p2 AS INSERT INTO "OUT"
            SELECT STREAM ticker, SUM(c) FROM "MID" GROUP BY ticker, STEP("MID".ROWTIME BY INTERVAL '2' MINUTE);
        CREATE PUMP p3 AS INSERT INTO "BIG"
            SELECT STREAM q.ticker, q.c FROM (
                SELECT STREAM "ticker" AS ticker, COUNT(*) AS c FROM "S" GROUP BY "ticker", FLOOR("S".ROWTIME TO MINUTE)
            ) AS q WHERE q.c > 1;"#;
    let program = compile(sql);
    let rows = vec![
        row("12:00:01", "A", "12:00:00", 1.0, 1),
        row("12:00:02", "A", "12:00:00", 1.0, 1),
        row("12:01:01", "A", "12:00:00", 1.0, 1),
        row("12:02:01", "A", "12:00:00", 1.0, 1),
    ];
    let seen = run(&program, rows);
    // MID's rows come out at their window's end: 12:01 (2 rows), 12:02 (1), 12:03 (1). OUT's window
    // [12:00, 12:02) gets the first, [12:02, 12:04) the other two.
    let a = Value::string("A");
    assert_eq!(seen.rows, [(t("12:02:00"), vec![a.clone(), Value::Int(2)]), (t("12:04:00"), vec![a, Value::Int(2)])]);
    let big = program.stream("BIG").expect("BIG");
    let mut bigs = Vec::new();
    let mut runner = program.runner_at(0);
    let mut out = |e: Emit<'_>| {
        if let Emit::Row(id, r) = e
            && id == big
        {
            bigs.push(r.values.clone());
        }
    };
    for r in [
        row("12:00:01", "A", "12:00:00", 1.0, 1),
        row("12:00:02", "A", "12:00:00", 1.0, 1),
        row("12:01:01", "B", "12:00:00", 1.0, 1),
    ] {
        runner.push(r, &mut out);
    }
    runner.finish(&mut out);
    assert_eq!(bigs, [vec![Value::string("A"), Value::Int(2)]], "the outer WHERE sees the groups");
}

#[test]
fn a_failing_row_is_reported_and_the_window_goes_on() {
    let sql = r#"CREATE STREAM "OUT" (s BIGINT);
        CREATE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM SUM(10 / "n") FROM "S" GROUP BY FLOOR("S".ROWTIME TO MINUTE);"#;
    let program = compile(sql);
    let rows = vec![
        row("12:00:01", "A", "12:00:00", 1.0, 5),
        row("12:00:02", "A", "12:00:00", 1.0, 0),
        row("12:00:03", "A", "12:00:00", 1.0, 1),
    ];
    let seen = run(&program, rows);
    assert_eq!(seen.rows, [(t("12:01:00"), vec![Value::Int(12)])]);
    assert_eq!(seen.failures.len(), 1);
    assert_eq!(seen.failures[0].name, "Data_Error");
    assert_eq!(seen.failures[0].pump.as_deref(), Some("P"));
}

#[test]
fn window_state_is_dropped_as_windows_close() {
    let sql = r#"CREATE STREAM "OUT" (ticker VARCHAR(4), c BIGINT);
        CREATE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM "ticker", COUNT(DISTINCT "n") FROM "S" GROUP BY "ticker", STEP("S".ROWTIME BY INTERVAL '1' SECOND);"#;
    let program = compile(sql);
    let mut runner = program.runner_at(0);
    let mut emitted = 0;
    let mut out = |e: Emit<'_>| emitted += usize::from(matches!(e, Emit::Row(..)));
    for i in 0..10_000i64 {
        let mut r = row("12:00:00", if i % 2 == 0 { "A" } else { "B" }, "12:00:00", 1.0, i);
        r.rowtime += i * 100;
        runner.push(r, &mut out);
        assert!(runner.windows[0].open.is_some());
    }
    runner.finish(&mut out);
    assert!(runner.windows[0].open.is_none());
    assert_eq!(emitted, 10_000 + 1_000 * 2, "the input rows, and 2 groups per one-second window");
}

#[test]
fn an_event_time_rowtime_closes_on_rows_and_rejects_going_back() {
    let sql = r#"CREATE STREAM "OUT" (c BIGINT);
        CREATE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM COUNT(*) FROM (SELECT STREAM "event_time" AS ROWTIME FROM "S") AS e
            GROUP BY FLOOR(e.ROWTIME TO MINUTE);"#;
    let program = compile(sql);
    let mut runner = program.runner_at(0);
    let mut seen = Seen::default();
    let mut out = collector(&program, &mut seen);
    runner.push(row("13:00:00", "A", "12:00:10", 1.0, 1), &mut out);
    runner.advance_to(t("14:00:00"), &mut out);
    assert_eq!(runner.next_window_end(), None, "the clock does not close event-time windows");
    runner.push(row("13:00:01", "A", "12:01:10", 1.0, 1), &mut out);
    runner.push(row("13:00:02", "A", "12:00:50", 1.0, 1), &mut out);
    runner.finish(&mut out);
    drop(out);
    assert_eq!(seen.rows, [(t("12:01:00"), vec![Value::Int(1)]), (t("12:02:00"), vec![Value::Int(1)])]);
    assert_eq!(seen.failures.len(), 1);
    assert_eq!(seen.failures[0].name, "Out_Of_Order_Rowtime");
}

#[test]
fn validation_refuses_what_kda_refuses_at_its_place() {
    let pump = |query: &str| {
        format!("CREATE STREAM \"OUT\" (a BIGINT, b BIGINT);\nCREATE PUMP p AS INSERT INTO \"OUT\"\n{query};")
    };
    let cases = [
        (
            r#"SELECT STREAM "n", COUNT(*) FROM "S" GROUP BY FLOOR("S".ROWTIME TO MINUTE)"#,
            SqlErrorKind::Type,
            "column \"n\" is neither in GROUP BY nor inside an aggregate function",
            15,
        ),
        (
            r#"SELECT STREAM "n", 1 FROM "S" WHERE COUNT(*) > 1"#,
            SqlErrorKind::Type,
            "aggregate function COUNT is not allowed in WHERE",
            37,
        ),
        (
            r#"SELECT STREAM "n", COUNT(*) FROM "S" GROUP BY "n""#,
            SqlErrorKind::Type,
            "a streaming GROUP BY needs a monotonic expression of ROWTIME (a window)",
            47,
        ),
        (
            r#"SELECT STREAM SUM(COUNT(*)), 1 FROM "S" GROUP BY FLOOR(ROWTIME TO MINUTE)"#,
            SqlErrorKind::Type,
            "aggregate functions cannot be nested",
            19,
        ),
        (
            r#"SELECT STREAM "n", SUM("ticker") FROM "S" GROUP BY "n", FLOOR(ROWTIME TO MINUTE)"#,
            SqlErrorKind::Type,
            "SUM takes a number, not VARCHAR(4)",
            20,
        ),
        (
            r#"SELECT STREAM "n", COUNT(*) AS c FROM "S" GROUP BY "n", FLOOR(ROWTIME TO MINUTE) ORDER BY c"#,
            SqlErrorKind::Type,
            "a streaming ORDER BY must start with a monotonic expression of time, ascending",
            91,
        ),
        (
            r#"SELECT STREAM "n", COUNT(*) FROM "S" GROUP BY "n", CAST(ROWTIME AS DATE)"#,
            SqlErrorKind::NotSupported,
            "not supported yet: this expression of ROWTIME as a window",
            52,
        ),
        (
            r#"SELECT STREAM "n", "n" FROM "S" ORDER BY ROWTIME"#,
            SqlErrorKind::NotSupported,
            "not supported yet: ORDER BY without a GROUP BY window",
            42,
        ),
        (
            r#"SELECT STREAM * FROM "S" GROUP BY FLOOR(ROWTIME TO MINUTE)"#,
            SqlErrorKind::Type,
            "`*` in a GROUP BY query",
            15,
        ),
        (
            r#"SELECT STREAM "n", MONOTONIC("n") OVER (ROWS 1 PRECEDING) FROM "S""#,
            SqlErrorKind::NotSupported,
            "not supported yet: MONOTONIC OVER a window",
            20,
        ),
    ];
    for (query, kind, message, column) in cases {
        let e = compile_error(&pump(query));
        assert_eq!(e.kind, kind, "{query}: {e:?}");
        assert!(e.message.starts_with(message), "{query}: {}", e.message);
        let span = e.span.expect("placed");
        assert_eq!((span.line, span.column), (3, column), "{query}: {}", e.message);
    }
}

#[test]
fn distinct_on_rowtime_alone_collapses_rows_that_share_a_rowtime() {
    // [SQLREF] sql-reference-order-by-clause accepts `SELECT STREAM DISTINCT rowtime, ticker`: with no coarser
    // window, ROWTIME itself is the window, so duplicates of one instant collapse.
    let program = compile(
        r#"CREATE STREAM "OUT" (t TIMESTAMP, ticker VARCHAR(4));
        CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM DISTINCT ROWTIME, "ticker" FROM "S";"#,
    );
    let rows = vec![
        row("11:00:00", "AMZN", "11:00:00", 1.0, 1),
        row("11:00:00", "AMZN", "11:00:00", 2.0, 2),
        row("11:00:00", "ASD", "11:00:00", 1.0, 1),
        row("11:00:01", "AMZN", "11:00:00", 1.0, 1),
    ];
    let seen = run(&program, rows);
    let shown: Vec<(i64, Value)> = seen.rows.iter().map(|(rt, v)| (*rt, v[1].clone())).collect();
    let (amzn, asd) = (Value::string("AMZN"), Value::string("ASD"));
    // A window of one instant ends a millisecond later.
    assert_eq!(shown, [(t("11:00:00") + 1, amzn.clone()), (t("11:00:00") + 1, asd), (t("11:00:01") + 1, amzn)]);
    // ROWTIME is the GROUP BY key here, so the column shows the rows' instant (as `GROUP BY ROWTIME` does).
    assert_eq!(seen.rows[0].1[0], ts("11:00:00"));
}

#[test]
fn distinct_ignores_rowtime_beside_a_window_and_keeps_null_tuples() {
    let program = compile(
        r#"CREATE STREAM "OUT" (t TIMESTAMP, n INTEGER, m TIMESTAMP);
        CREATE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM DISTINCT ROWTIME, CASE WHEN "n" > 1 THEN NULL ELSE "n" END, FLOOR("S".ROWTIME TO MINUTE)
            FROM "S" WHERE "ticker" <> 'X';"#,
    );
    let rows = vec![
        row("11:00:01", "AMZN", "11:00:00", 1.0, 1),
        row("11:00:02", "AMZN", "11:00:00", 1.0, 2),
        row("11:00:03", "AMZN", "11:00:00", 1.0, 3),
        row("11:00:04", "X", "11:00:00", 1.0, 4),
        row("11:00:05", "AMZN", "11:00:00", 1.0, 1),
    ];
    let seen = run(&program, rows);
    let shown: Vec<(i64, Value)> = seen.rows.iter().map(|(rt, v)| (*rt, v[1].clone())).collect();
    assert_eq!(shown, [(t("11:01:00"), Value::Int(1)), (t("11:01:00"), Value::Null)]);
}

#[test]
fn distinct_and_monotonic_mistakes_are_placed() {
    let pump = |query: &str| {
        format!("CREATE STREAM \"OUT\" (a BIGINT, b BIGINT);\nCREATE PUMP p AS INSERT INTO \"OUT\"\n{query};")
    };
    let cases = [
        (
            r#"SELECT STREAM DISTINCT "n", "ticker" FROM "S""#,
            SqlErrorKind::Type,
            "SELECT DISTINCT on a stream needs a monotonic expression of ROWTIME among its columns",
            1,
        ),
        (
            r#"SELECT STREAM DISTINCT "n", COUNT(*) FROM "S" GROUP BY "n", FLOOR(ROWTIME TO MINUTE)"#,
            SqlErrorKind::NotSupported,
            "not supported yet: SELECT DISTINCT with GROUP BY or aggregates",
            29,
        ),
        (
            r#"SELECT STREAM DISTINCT "n", AVG("n") OVER (ROWS 2 PRECEDING) FROM "S""#,
            SqlErrorKind::NotSupported,
            "not supported yet: SELECT DISTINCT with a sliding window (OVER)",
            29,
        ),
        (
            r#"SELECT STREAM DISTINCT "n", CAST(ROWTIME AS DATE) FROM "S""#,
            SqlErrorKind::NotSupported,
            "not supported yet: this expression of ROWTIME as a window",
            29,
        ),
        (
            r#"SELECT STREAM "n", COUNT(*) FROM "S" GROUP BY MONOTONIC("n", 2)"#,
            SqlErrorKind::Type,
            "MONOTONIC takes one expression",
            47,
        ),
        (
            r#"SELECT STREAM "n", COUNT(*) FROM "S" GROUP BY MONOTONIC("n") ORDER BY "n""#,
            SqlErrorKind::NotSupported,
            "not supported yet: ORDER BY after a GROUP BY on MONOTONIC(...) of a column",
            71,
        ),
        (
            r#"SELECT STREAM "price", COUNT(*) FROM "S" GROUP BY MONOTONIC("n")"#,
            SqlErrorKind::Type,
            "column \"price\" is neither in GROUP BY nor inside an aggregate function",
            15,
        ),
    ];
    for (query, kind, message, column) in cases {
        let e = compile_error(&pump(query));
        assert_eq!(e.kind, kind, "{query}: {e:?}");
        assert!(e.message.starts_with(message), "{query}: {}", e.message);
        let span = e.span.expect("placed");
        assert_eq!((span.line, span.column), (3, column), "{query}: {}", e.message);
    }
}

#[test]
fn monotonic_around_a_window_is_that_window_and_around_a_column_waits_for_a_new_value() {
    let windowed = compile(
        r#"CREATE STREAM "OUT" (m TIMESTAMP, c BIGINT);
        CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM FLOOR(ROWTIME TO MINUTE), COUNT(*) FROM "S"
            GROUP BY MONOTONIC(FLOOR(ROWTIME TO MINUTE));"#,
    );
    let mut runner = windowed.runner_at(0);
    runner.push(row("11:00:20", "AMZN", "11:00:00", 1.0, 1), &mut |_| {});
    assert_eq!(runner.next_window_end(), Some(t("11:01:00")), "a tumbling window, closed by the clock");

    let keyed = compile(
        r#"CREATE STREAM "OUT" (n INTEGER, c BIGINT, hi DOUBLE);
        CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM "n", COUNT(*), MAX("price") FROM "S"
            GROUP BY MONOTONIC("n");"#,
    );
    let mut seen = Seen::default();
    let mut runner = keyed.runner_at(0);
    {
        let mut out = collector(&keyed, &mut seen);
        runner.push(row("11:00:00", "AMZN", "11:00:00", 1.0, 5), &mut out);
        runner.push(row("11:00:01", "AMZN", "11:00:00", 3.0, 5), &mut out);
        assert_eq!(runner.next_window_end(), None, "only a new value closes the run");
        runner.advance_to(t("12:00:00"), &mut out);
        assert_eq!(runner.window_groups(), 1, "the run is held, not closed by the clock");
        runner.push(row("12:00:01", "AMZN", "11:00:00", 2.0, 6), &mut out);
        runner.finish(&mut out);
    }
    assert!(seen.failures.is_empty(), "{:?}", seen.failures);
    assert_eq!(
        seen.rows,
        [
            (t("12:00:01"), vec![Value::Int(5), Value::Int(2), Value::Double(3.0)]),
            (t("12:00:01"), vec![Value::Int(6), Value::Int(1), Value::Double(2.0)]),
        ]
    );
}

#[test]
fn a_subquery_column_that_copies_rowtime_windows_the_query_around_it() {
    let outer = |inner: &str| {
        format!(
            r#"CREATE STREAM "OUT" (n INTEGER, c BIGINT);
            CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM d."n", COUNT(*) FROM ({inner}) AS d
                GROUP BY d."n", STEP(d.t BY INTERVAL '1' MINUTE);"#
        )
    };
    let program = compile(&outer(r#"SELECT STREAM ROWTIME AS t, "n" FROM "S""#));
    let rows = vec![
        row("11:00:10", "AMZN", "11:00:00", 1.0, 1),
        row("11:00:20", "AMZN", "11:00:00", 1.0, 1),
        row("11:01:10", "AMZN", "11:00:00", 1.0, 1),
    ];
    let seen = run(&program, rows);
    let shown: Vec<(i64, Value)> = seen.rows.iter().map(|(rt, v)| (*rt, v[1].clone())).collect();
    assert_eq!(shown, [(t("11:01:00"), Value::Int(2)), (t("11:02:00"), Value::Int(1))]);
    // A subquery that sets ROWTIME shows the old one in its other ROWTIME items: no longer a copy, no window.
    let e = compile_error(&outer(r#"SELECT STREAM ROWTIME AS t, "n", "event_time" AS ROWTIME FROM "S""#));
    assert_eq!(e.kind, SqlErrorKind::Type, "{e:?}");
    assert!(e.message.starts_with("a streaming GROUP BY needs a monotonic expression"), "{}", e.message);
}
