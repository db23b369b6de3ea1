//! The engine on real applications: the seed's, chains of in-app streams, UNION ALL, filters, errors.

use super::*;
use crate::literal::parse_timestamp;

fn seed_input() -> StreamDef {
    StreamDef {
        name: "SOURCE_SQL_STREAM_001".into(),
        columns: vec![
            ("COL_timestamp".into(), SqlType::Timestamp),
            ("requests_newUsers_newOrders_churnUsers".into(), SqlType::Varchar(32)),
            ("APPROXIMATE_ARRIVAL_TIME".into(), SqlType::Timestamp),
        ],
    }
}

fn run(program: &Program, rows: Vec<Vec<Value>>, watch: &str) -> (Vec<Vec<Value>>, Vec<Failure>) {
    let stream = program.stream(watch).expect("watched stream");
    let mut runner = program.runner();
    let (mut out, mut failures) = (Vec::new(), Vec::new());
    for (i, values) in rows.into_iter().enumerate() {
        runner.push(Row { rowtime: 1_000 + i as i64, values }, &mut |emitted| match emitted {
            Emit::Row(id, row) if id == stream => out.push(row.values.clone()),
            Emit::Row(..) => {}
            Emit::Failure(f) => failures.push(f),
        });
    }
    (out, failures)
}

fn strings(row: &[Value]) -> Vec<String> {
    row.iter()
        .map(|v| match v {
            Value::String(s) => s.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn the_seed_application_splits_and_formats_as_the_tutorial_shows() {
    let sql = include_str!("../../../pipelines/site-metrics.sql");
    let program = Program::compile(sql, seed_input()).expect("the seed compiles");
    let ts = parse_timestamp("2020-07-01T00:05:09.000").expect("timestamp");
    let row = vec![Value::Timestamp(ts), Value::string("82,1,0,2"), Value::Timestamp(ts)];
    let (out, failures) = run(&program, vec![row], "DESTINATION_SQL_STREAM");
    assert!(failures.is_empty(), "{failures:?}");
    // `hh` is the 12-hour clock: 00:05 prints as 12:05.
    assert_eq!(out.iter().map(|r| strings(r)).collect::<Vec<_>>(), [["2020-07-01 12:05:09", "82", "1", "0", "2"]]);
}

#[test]
fn chains_unions_filters_and_rowtime_flow_through_pumps() {
    let sql = r#"
        CREATE OR REPLACE STREAM "MID" (n INTEGER, label VARCHAR(4));
        CREATE OR REPLACE STREAM "OUT" (n INTEGER, label VARCHAR(8));
        CREATE OR REPLACE PUMP p1 AS INSERT INTO "MID"
            SELECT STREAM CAST(SUBSTRING("requests_newUsers_newOrders_churnUsers", 1, 2) AS INTEGER), 'abcdef'
            FROM "SOURCE_SQL_STREAM_001" WHERE "requests_newUsers_newOrders_churnUsers" LIKE '8%';
        CREATE OR REPLACE PUMP p2 AS INSERT INTO "OUT" (label, n)
            SELECT STREAM label || '!', n * 2 FROM "MID"
            UNION ALL SELECT STREAM 'x', CASE WHEN n > 80 THEN 1 ELSE 0 END FROM "MID";
    "#;
    let program = Program::compile(sql, seed_input()).expect("compiles");
    let rows = ["82,1,0,2", "17,0,0,0", "85,0,0,0"]
        .map(|m| vec![Value::Timestamp(0), Value::string(m), Value::Timestamp(0)])
        .to_vec();
    let (out, failures) = run(&program, rows, "OUT");
    assert!(failures.is_empty(), "{failures:?}");
    let shown: Vec<Vec<String>> = out.iter().map(|r| strings(r)).collect();
    // VARCHAR(4) truncates 'abcdef' on insert into MID.
    assert_eq!(shown, [["Int(164)", "abcd!"], ["Int(1)", "x"], ["Int(170)", "abcd!"], ["Int(1)", "x"]]);
}

#[test]
fn a_failing_row_goes_to_error_stream_and_the_next_one_still_flows() {
    let sql = r#"CREATE STREAM "OUT" (n INTEGER);
        CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM 10 / CAST(SUBSTRING("requests_newUsers_newOrders_churnUsers", 1, 1) AS INTEGER) FROM "SOURCE_SQL_STREAM_001";"#;
    let program = Program::compile(sql, seed_input()).expect("compiles");
    let rows = ["0,1", "5,1"].map(|m| vec![Value::Timestamp(0), Value::string(m), Value::Timestamp(0)]).to_vec();
    let (out, failures) = run(&program, rows, "OUT");
    assert_eq!(out, [vec![Value::Int(2)]]);
    assert_eq!(failures.len(), 1);
    assert!(failures[0].message.contains("division by zero"), "{:?}", failures[0]);
    assert_eq!(failures[0].pump.as_deref(), Some("P"));
}

#[test]
fn mistakes_are_reported_at_their_place_with_suggestions() {
    let cases = [
        (
            "CREATE STREAM \"OUT\" (n INTEGER);\nCREATE PUMP p AS INSERT INTO \"OUTT\" SELECT STREAM 1 FROM \"SOURCE_SQL_STREAM_001\";",
            2,
            30,
            "unknown stream \"OUTT\"",
            Some("did you mean `OUT`?"),
        ),
        (
            "CREATE STREAM \"OUT\" (n VARCHAR(4));\nCREATE PUMP p AS INSERT INTO \"OUT\" SELECT STREAM col_timestamp FROM \"SOURCE_SQL_STREAM_001\";",
            2,
            50,
            "unknown column COL_TIMESTAMP",
            Some("did you mean \"COL_timestamp\"? Quoted names keep their case; unquoted ones are upper-cased"),
        ),
        (
            "CREATE STREAM \"OUT\" (n VARCHAR(4));\nCREATE PUMP p AS INSERT INTO \"OUT\" SELECT STREAM UPPR('a') FROM \"SOURCE_SQL_STREAM_001\";",
            2,
            50,
            "unknown function UPPR",
            Some("did you mean `UPPER`?"),
        ),
        (
            "CREATE STREAM \"OUT\" (n INTEGER);\nCREATE PUMP p AS INSERT INTO \"OUT\" SELECT STREAM \"COL_timestamp\" FROM \"SOURCE_SQL_STREAM_001\";",
            2,
            36,
            "column N of \"OUT\" is INTEGER, but the query gives TIMESTAMP (`COL_timestamp`)",
            None,
        ),
        (
            "CREATE STREAM \"OUT\" (n BIGINT);\nCREATE PUMP p AS INSERT INTO \"OUT\" SELECT STREAM COUNT(*) FROM \"SOURCE_SQL_STREAM_001\";",
            2,
            50,
            "an aggregate in a streaming query needs GROUP BY with a monotonic expression of ROWTIME (a window)",
            Some(
                "group by a window, as in GROUP BY STEP(s.ROWTIME BY INTERVAL '1' MINUTE) or FLOOR(s.ROWTIME TO MINUTE)",
            ),
        ),
    ];
    for (sql, line, column, message, help) in cases {
        let errors = Program::compile(sql, seed_input()).expect_err(sql);
        let first = &errors[0];
        let span = first.span.expect("placed");
        assert_eq!((span.line, span.column, first.message.as_str()), (line, column, message), "{sql}");
        assert_eq!(first.help.as_deref(), help, "{sql}");
    }
}

#[test]
fn the_row_clock_is_read_only_when_a_query_calls_current_row_timestamp() {
    let calls = r#"CREATE STREAM "OUT" (t TIMESTAMP);
        CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM CURRENT_ROW_TIMESTAMP FROM "SOURCE_SQL_STREAM_001";"#;
    assert!(Program::compile(calls, seed_input()).expect("compiles").reads_row_clock);
    let mentions = r#"-- CURRENT_ROW_TIMESTAMP is only named in this comment
        CREATE STREAM "OUT" (t TIMESTAMP);
        CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM ROWTIME FROM "SOURCE_SQL_STREAM_001";"#;
    assert!(!Program::compile(mentions, seed_input()).expect("compiles").reads_row_clock);
}
