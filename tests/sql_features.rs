//! SQL features through the CLI, as a user runs them: the pipelines of `tests/sql_features/` (datetime
//! differences as intervals, the clock functions on the test's virtual clock, SHARD_ID) must be valid and their
//! `tests:` must pass under `sluice test`; and a real run (`sluice run --records N`) gives each row the shard its
//! record was put into, with the clock functions on the wall clock.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sluice_core::embedded::{shard_for_key, shard_id};

#[macro_use]
#[path = "support/suite.rs"]
mod suite;

use suite::{shown, sluice};

const SUITE: &str = "tests/sql_features";

suite_tests!(SUITE);

#[test]
fn a_wrong_shard_expectation_fails_naming_the_actual_shard() {
    suite::assert_edited_test_fails(
        SUITE,
        "shard_id.yaml",
        "- {device_id: d2, SHARD_ID: shardId-000000000001}",
        "- {device_id: d2, SHARD_ID: shardId-000000000002}",
        r#"row 2: column `SHARD_ID` differs: expected "shardId-000000000002", actual "shardId-000000000001""#,
    );
}

const RUN_PIPELINE: &str = r#"name: shards
producers:
  input:
    type: file
    stream: events
    path: input.ndjson
    partition_key: "k{{seq}}"
streams:
  events:
    type: embedded
    shards: 4
applications:
  app:
    type: sql
    input:
      stream: events
      columns:
        - {name: id, type: INTEGER, path: $.id}
        - {name: at, type: TIMESTAMP, path: $.at}
    code: |
      CREATE OR REPLACE STREAM "OUT" ("id" INTEGER, "shard" VARCHAR(20), "query_start_ms" BIGINT,
                                      "age" VARCHAR(24), "seconds" BIGINT);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
          SELECT STREAM "id", SHARD_ID, UNIX_TIMESTAMP(CURRENT_TIMESTAMP),
                        CAST((TIMESTAMP '2020-07-02 00:00:00' - "at") DAY TO SECOND AS VARCHAR(24)),
                        CAST((TIMESTAMP '2020-07-02 00:00:00' - "at") SECOND AS BIGINT)
          FROM "SOURCE_SQL_STREAM_001";
    outputs:
      - {stream: OUT, destination: bucket}
destinations:
  bucket:
    type: s3
    bucket: file://./bucket
"#;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

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
fn a_run_gives_each_row_the_shard_its_record_was_put_into() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pipeline.yaml"), RUN_PIPELINE).expect("write pipeline");
    let input: String =
        (0..1_000).map(|i| format!("{{\"id\": {i}, \"at\": \"2020-07-01 00:00:{:02}.250\"}}\n", i % 60)).collect();
    std::fs::write(dir.path().join("input.ndjson"), input).expect("write input");
    let before = now_ms();
    let pipeline = dir.path().join("pipeline.yaml");
    let output = sluice(&["run", pipeline.to_str().expect("utf-8"), "--records", "600", "--quiet"]);
    let after = now_ms();
    assert!(output.status.success(), "{}", shown(&output));
    let mut delivered = Vec::new();
    rows(&dir.path().join("bucket"), &mut delivered);
    let mut ids = BTreeSet::new();
    let mut shards = BTreeSet::new();
    for row in &delivered {
        let id = row["id"].as_i64().expect("id");
        // The file producer keys record n (from 1) `k<n>`; the stream routes it by MD5 among 4 shards.
        let expected = shard_id(shard_for_key(&format!("k{}", id + 1), 4));
        assert_eq!(row["shard"].as_str(), Some(expected.as_str()), "{row}");
        shards.insert(expected);
        // The running application is on the wall clock: CURRENT_TIMESTAMP is when its query started.
        let start = row["query_start_ms"].as_i64().expect("query start");
        assert!((before - 1_000..=after + 1_000).contains(&start), "{start} not in {before}..{after}");
        // 23:59:59.750 - (id % 60) s; to BIGINT, the fraction rounds half away from zero, as DECIMAL's does.
        let seconds = 24 * 3600 - (id % 60);
        assert_eq!(row["seconds"].as_i64(), Some(seconds), "{row}");
        let age = format!("+0 23:59:{:02}.750", 59 - id % 60);
        assert_eq!(row["age"].as_str(), Some(age.as_str()), "{row}");
        assert!(ids.insert(id), "row {id} delivered twice");
    }
    assert_eq!(ids, (0..600).collect(), "the first 600 records, each once");
    assert_eq!(shards.len(), 4, "600 keys reach every shard");
}
