//! Joins and reference data through the CLI, as a user runs them: the pipelines of `tests/joins/` (the developer
//! guide's reference data and stream join examples, and a test per join kind) must be valid and their `tests:`
//! must pass under `sluice test`; mistakes are placed at their line and column (`sluice validate`); a bad
//! reference file is named with its line; and a real run (`sluice run`) loads the reference table from a
//! `file://` object and from an `s3://` one (on moto) and delivers the joined rows to the bucket.

use std::path::Path;

use serde_json::Value;

#[macro_use]
#[path = "support/suite.rs"]
mod suite;

#[path = "support/aws_servers.rs"]
mod aws_servers;

use aws_servers::Server;
use suite::{shown, sluice};

const SUITE: &str = "tests/joins";

suite_tests!(SUITE);

/// A pipeline whose application reads `events` (id, ticker) and joins the table `Companies` (`reference`).
fn pipeline(reference: &str) -> String {
    format!(
        r#"name: joined
producers:
  input:
    type: file
    stream: events
    path: input.ndjson
streams:
  events:
    type: embedded
applications:
  app:
    type: sql
    input:
      stream: events
      columns:
        - {{name: id, type: INTEGER, path: $.id}}
        - {{name: ticker, type: VARCHAR(4), path: $.ticker}}
{reference}    code_file: app.sql
    outputs:
      - {{stream: OUT, destination: bucket}}
destinations:
  bucket:
    type: s3
    bucket: file://./bucket
"#
    )
}

const CSV_REFERENCE: &str = r#"    reference:
      table: Companies
      url: file://./ref/companies.csv
      format: csv
      columns:
        - {name: ticker, type: VARCHAR(4)}
        - {name: name, type: VARCHAR(16)}
        - {name: employees, type: INTEGER}
"#;

const JOIN_SQL: &str = r#"CREATE OR REPLACE STREAM "OUT" ("id" INTEGER, "ticker" VARCHAR(4), "name" VARCHAR(16));
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
    SELECT STREAM e."id", e."ticker", c."name"
    FROM "SOURCE_SQL_STREAM_001" AS e LEFT JOIN "Companies" AS c ON e."ticker" = c."ticker";
"#;

/// A folder holding the pipeline, its SQL, the reference CSV and `records` input lines.
fn workspace(reference: &str, sql: &str, csv: &str, records: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline(reference)).expect("pipeline");
    std::fs::write(dir.path().join("app.sql"), sql).expect("sql");
    std::fs::create_dir_all(dir.path().join("ref")).expect("ref folder");
    std::fs::write(dir.path().join("ref/companies.csv"), csv).expect("csv");
    let tickers = ["AMZN", "ASD", "MMB", "QXZ"];
    let input: String =
        (0..records).map(|i| format!("{{\"id\": {i}, \"ticker\": \"{}\"}}\n", tickers[i % tickers.len()])).collect();
    std::fs::write(dir.path().join("input.ndjson"), input).expect("input");
    dir
}

const COMPANIES: &str = "AMZN,Amazon,1500000\nASD,SomeCompanyA,40\nMMB,SomeCompanyB,7\n";

/// Every JSON line of every object under `dir`, sorted by `id`.
fn delivered(dir: &Path) -> Vec<Value> {
    fn walk(dir: &Path, out: &mut Vec<Value>) {
        for entry in std::fs::read_dir(dir).expect("bucket folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                let text = std::fs::read_to_string(&path).expect("object");
                out.extend(text.lines().map(|l| serde_json::from_str::<Value>(l).expect("a JSON row")));
            }
        }
    }
    let mut rows = Vec::new();
    walk(dir, &mut rows);
    rows.sort_by_key(|r| r["id"].as_i64());
    rows
}

fn assert_joined(rows: &[Value], records: usize) {
    assert_eq!(rows.len(), records, "one row per record: {rows:?}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["id"].as_i64(), Some(i as i64), "{row}");
        let expected = match row["ticker"].as_str() {
            Some("AMZN") => Value::from("Amazon"),
            Some("ASD") => Value::from("SomeCompanyA"),
            Some("MMB") => Value::from("SomeCompanyB"),
            _ => Value::Null,
        };
        assert_eq!(row["name"], expected, "{row}");
    }
}

#[test]
fn a_run_joins_the_stream_to_a_reference_file() {
    let ws = workspace(CSV_REFERENCE, JOIN_SQL, COMPANIES, 400);
    let pipeline = ws.path().join("pipeline.yaml");
    let output = sluice(&["run", pipeline.to_str().expect("utf-8"), "--records", "400", "--quiet"]);
    assert!(output.status.success(), "{}", shown(&output));
    assert_joined(&delivered(&ws.path().join("bucket")), 400);
}

#[test]
fn a_run_loads_reference_data_from_s3() {
    let Some(moto) = Server::moto() else { return };
    moto.python(
        "import boto3, sys\n\
         s3 = boto3.client('s3')\n\
         s3.create_bucket(Bucket='reference')\n\
         s3.put_object(Bucket='reference', Key='tables/companies.json', Body=sys.argv[1].encode())\n",
        &[r#"{"t": "AMZN", "n": "Amazon"}
{"t": "ASD", "n": "SomeCompanyA"}
{"t": "MMB", "n": "SomeCompanyB"}
"#],
    );
    let reference = r#"    reference:
      table: Companies
      url: s3://reference/tables/companies.json
      format: json
      columns:
        - {name: ticker, type: VARCHAR(4), path: $.t}
        - {name: name, type: VARCHAR(16), path: $.n}
"#;
    let ws = workspace(reference, JOIN_SQL, "", 120);
    let pipeline = ws.path().join("pipeline.yaml");
    // `sluice validate` does not reach S3: the pipeline is valid without the network.
    let output = sluice(&["validate", pipeline.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", pipeline.to_str().expect("utf-8"), "--records", "120", "--quiet"])
        .envs(moto.env())
        .env("RUST_LOG", "warn")
        .output()
        .expect("sluice runs");
    assert!(output.status.success(), "{}", shown(&output));
    assert_joined(&delivered(&ws.path().join("bucket")), 120);
    // A missing object stops the run, naming the table and the object.
    let missing = reference.replace("tables/companies.json", "tables/nothing.json");
    let ws = workspace(&missing, JOIN_SQL, "", 10);
    let pipeline = ws.path().join("pipeline.yaml");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", pipeline.to_str().expect("utf-8"), "--records", "10", "--quiet"])
        .envs(moto.env())
        .env("RUST_LOG", "warn")
        .output()
        .expect("sluice runs");
    assert!(!output.status.success(), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("reference table `Companies`: cannot get s3://reference/tables/nothing.json"),
        "{}",
        shown(&output)
    );
}

#[test]
fn a_bad_row_of_the_reference_file_is_named_with_its_line() {
    let csv = "AMZN,Amazon,1500000\nASD,SomeCompanyA,forty\n";
    let ws = workspace(CSV_REFERENCE, JOIN_SQL, csv, 10);
    let pipeline = ws.path().join("pipeline.yaml");
    let output = sluice(&["run", pipeline.to_str().expect("utf-8"), "--records", "10", "--quiet"]);
    assert!(!output.status.success(), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("reference table `Companies`: file://./ref/companies.csv: line 2:"), "{}", shown(&output));
    assert!(stderr.contains("employees"), "the message names the column: {}", shown(&output));
    // A pipeline test reads the same file, and says the same.
    let yaml = std::fs::read_to_string(&pipeline).expect("pipeline")
        + "tests:\n  - name: t\n    input:\n      - stream: events\n        records:\n          - {at: 2020-07-01T12:00:00Z, data: {id: 1, ticker: AMZN}}\n    expect:\n      - stream: OUT\n        rows: []\n";
    std::fs::write(&pipeline, yaml).expect("pipeline");
    let output = sluice(&["test", pipeline.to_str().expect("utf-8")]);
    assert_ne!(output.status.code(), Some(0), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("file://./ref/companies.csv: line 2:"), "{}", shown(&output));
}

/// `sluice validate` on a workspace's pipeline: its exit code and both streams.
fn validate(ws: &tempfile::TempDir) -> (Option<i32>, String) {
    let pipeline = ws.path().join("pipeline.yaml");
    let output = sluice(&["validate", pipeline.to_str().expect("utf-8")]);
    (output.status.code(), shown(&output))
}

#[test]
fn a_missing_reference_file_is_an_error_at_validate() {
    let ws = workspace(&CSV_REFERENCE.replace("companies.csv", "nowhere.csv"), JOIN_SQL, COMPANIES, 1);
    let (code, shown) = validate(&ws);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("file `./ref/nowhere.csv` not found"), "{shown}");
    let ws = workspace(&CSV_REFERENCE.replace("file://./ref/companies.csv", "gs://x/y.csv"), JOIN_SQL, "", 1);
    let (code, shown) = validate(&ws);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("reference data `gs://x/y.csv` is not a `file://` or `s3://` URL"), "{shown}");
    let ws = workspace(&CSV_REFERENCE.replace("file://./ref/companies.csv", "s3://bucket-only"), JOIN_SQL, "", 1);
    let (code, shown) = validate(&ws);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("`s3://bucket-only` names no object; use `s3://bucket/key`"), "{shown}");
}

#[test]
fn an_unknown_table_or_column_is_placed_with_a_suggestion() {
    let sql = JOIN_SQL.replace(r#"LEFT JOIN "Companies""#, r#"LEFT JOIN "Company""#);
    let ws = workspace(CSV_REFERENCE, &sql, COMPANIES, 1);
    let (code, shown) = validate(&ws);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("app.sql:4:49: error[sql-unknown]: unknown stream \"Company\""), "{shown}");
    assert!(shown.contains("did you mean `Companies`?"), "{shown}");
    let sql = JOIN_SQL.replace(r#"c."name""#, r#"c."nmae""#);
    let ws = workspace(CSV_REFERENCE, &sql, COMPANIES, 1);
    let (code, shown) = validate(&ws);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("app.sql:3:41: error[sql-unknown]: unknown column \"nmae\""), "{shown}");
    assert!(shown.contains("did you mean `name`?"), "{shown}");
    // The table is not a stream of its own.
    let sql = JOIN_SQL.replace(
        r#""SOURCE_SQL_STREAM_001" AS e LEFT JOIN "Companies" AS c ON e."ticker" = c."ticker""#,
        r#""Companies" AS e"#,
    );
    let ws = workspace(CSV_REFERENCE, &sql, COMPANIES, 1);
    let (code, shown) = validate(&ws);
    assert_eq!(code, Some(1), "{shown}");
    assert!(shown.contains("\"Companies\" is a reference table, not a stream: join it to a stream"), "{shown}");
}

#[test]
fn a_join_of_two_streams_without_a_window_is_rejected_at_its_place() {
    let sql = r#"CREATE OR REPLACE STREAM "A" ("id" INTEGER);
CREATE OR REPLACE PUMP "PA" AS INSERT INTO "A" SELECT STREAM "id" FROM "SOURCE_SQL_STREAM_001";
CREATE OR REPLACE STREAM "OUT" ("id" INTEGER, "ticker" VARCHAR(4), "name" VARCHAR(16));
CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
    SELECT STREAM e."id", e."ticker", 'x'
    FROM "SOURCE_SQL_STREAM_001" AS e JOIN "A" AS a ON e."id" = a."id";
"#;
    let ws = workspace("", sql, "", 1);
    let (code, shown) = validate(&ws);
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains(
            "app.sql:6:10: error[sql-type]: a join of two streams needs a window on at least one side: \"A\" and \
             the stream it joins have none"
        ),
        "{shown}"
    );
    assert!(shown.contains("as in JOIN \"A\" OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS A ON ..."), "{shown}");
}

#[test]
fn a_test_naming_an_unknown_table_or_needing_s3_fails_saying_so() {
    suite::assert_edited_test_fails(
        SUITE,
        "reference_joins.yaml",
        "      table: Sites\n      rows:",
        "      table: Site\n      rows:",
        "no application has a reference table `Site` (reference tables: Sites)",
    );
    // A test without inline rows cannot read the S3 object.
    let yaml = std::fs::read_to_string(format!("{SUITE}/reference_joins.yaml")).expect("the suite's file");
    let start = yaml
        .find("    reference:\n      table: Sites\n      rows:\n        - {site_id: 1, city: Lisbon}\n")
        .expect("the cross join test's reference");
    let end = start + yaml[start..].find("    input:").expect("its input");
    suite::assert_edited_test_fails(
        SUITE,
        "reference_joins.yaml",
        &yaml[start..end],
        "",
        "reference table `Sites` is read from s3://reference-bucket/sites/sites.json, which tests do not reach",
    );
    // A reference row naming no column of the table.
    suite::assert_edited_test_fails(
        SUITE,
        "reference_joins.yaml",
        "{site_id: 1, city: Lisbon, max_temp: 30}",
        "{site_id: 1, town: Lisbon}",
        "reference row 1: table `Sites` has no column `town`",
    );
}

#[test]
fn a_wrong_join_expectation_fails_naming_the_actual_value() {
    let row = r#"ORDERID: 1, ORDERAMOUNT: 120, TRADEAMOUNT: 20}"#;
    suite::assert_edited_test_fails(
        SUITE,
        "stream_to_stream.yaml",
        row,
        &row.replace("TRADEAMOUNT: 20", "TRADEAMOUNT: 21"),
        "column `TRADEAMOUNT` differs: expected 21, actual 20",
    );
}
