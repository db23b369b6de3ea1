//! Tumbling windows through the CLI, as a user runs them: the pipelines of `tests/windows/` (the reference's
//! window examples and a test per construct) must be valid and their `tests:` must pass under `sluice test`; a
//! wrong expectation fails; and a real run (`sluice run --records N`) closes its windows at the end of the
//! input and delivers their rows to the bucket.

use std::path::Path;

use serde_json::Value;

#[macro_use]
#[path = "support/suite.rs"]
mod suite;

use suite::{shown, sluice};

const SUITE: &str = "tests/windows";

suite_tests!(SUITE);

#[test]
fn a_wrong_window_expectation_fails_naming_the_actual_count() {
    let row = r#"EVENT_TIME: "2020-07-01 11:00:00", TICKER_SYMBOL: AMZN, TICKER_COUNT: 2}"#;
    suite::assert_edited_test_fails(
        SUITE,
        "stagger_page_tumbling.yaml",
        row,
        &row.replace("COUNT: 2", "COUNT: 3"),
        "row 1: column `TICKER_COUNT` differs: expected 3, actual 2",
    );
}

const RUN_PIPELINE: &str = r#"name: hourly
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
        - {name: id, type: INTEGER, path: $.id}
        - {name: kind, type: VARCHAR(8), path: $.kind}
    code: |
      CREATE OR REPLACE STREAM "HOURLY" ("kind" VARCHAR(8), "events" BIGINT, "id_sum" BIGINT, "hour_end" TIMESTAMP);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "HOURLY"
          SELECT STREAM "kind", COUNT(*), SUM("id"), ROWTIME FROM "SOURCE_SQL_STREAM_001"
          GROUP BY "kind", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' HOUR);
    outputs:
      - {stream: HOURLY, destination: bucket}
destinations:
  bucket:
    type: s3
    bucket: file://./bucket
"#;

/// Every JSON line of every object under `dir`.
fn rows(dir: &Path, out: &mut Vec<Value>) {
    for entry in std::fs::read_dir(dir).expect("bucket folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rows(&path, out);
        } else {
            let text = std::fs::read_to_string(&path).expect("object");
            out.extend(text.lines().map(|l| serde_json::from_str::<Value>(l).expect("a JSON row")));
        }
    }
}

#[test]
fn a_run_closes_its_windows_at_the_end_of_input_and_delivers_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pipeline.yaml"), RUN_PIPELINE).expect("write pipeline");
    let input: String = (1..=20).map(|i| format!("{{\"id\": {i}, \"kind\": \"{}\"}}\n", ["a", "b"][i % 2])).collect();
    std::fs::write(dir.path().join("input.ndjson"), input).expect("write input");
    let pipeline = dir.path().join("pipeline.yaml");
    // An hour's window is still open when the 12 records are in: only the end of input can close it.
    let output = sluice(&["run", pipeline.to_str().expect("utf-8"), "--records", "12", "--quiet"]);
    assert!(output.status.success(), "{}", shown(&output));
    let mut delivered = Vec::new();
    rows(&dir.path().join("bucket"), &mut delivered);
    let total = |kind: &str| -> (i64, i64) {
        delivered
            .iter()
            .filter(|r| r["kind"] == kind)
            .fold((0, 0), |(n, s), r| (n + r["events"].as_i64().unwrap_or(0), s + r["id_sum"].as_i64().unwrap_or(0)))
    };
    // Records 1..=12: odd ids are "b", even ids "a" (a run crossing an hour's end splits a kind in two rows).
    assert_eq!(total("a"), (6, 2 + 4 + 6 + 8 + 10 + 12), "{delivered:?}");
    assert_eq!(total("b"), (6, 1 + 3 + 5 + 7 + 9 + 11), "{delivered:?}");
    assert!((2..=4).contains(&delivered.len()), "{delivered:?}");
    for row in &delivered {
        let end = row["hour_end"].as_str().expect("hour_end");
        assert!(end.ends_with(":00:00.000"), "a window ends on the hour: {row}");
    }
}
