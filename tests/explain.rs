//! `sluice explain` through the binary: size- and interval-triggered objects, an application's output rate,
//! warnings against AWS's limits, and bad flags.

use std::path::Path;
use std::process::{Command, Output};

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).output().expect("sluice runs")
}

fn explained(args: &[&str]) -> String {
    let output = sluice(args);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn has_line(text: &str, line: &str) {
    assert!(text.lines().any(|l| l.trim() == line), "line {line:?} in:\n{text}");
}

const SEED: &str = "pipelines/site-metrics.yaml";

#[test]
fn a_fast_seed_fills_its_buffer_before_the_interval() {
    let text = explained(&["explain", SEED, "--rate", "1000/s"]);
    has_line(&text, "site-metrics: 1,000/s into each stream, records of 100 B (pipelines/site-metrics.yaml)");
    has_line(&text, "stream metrics_stream (embedded, 1 shard)");
    has_line(&text, "in: 1,000 records/s of 100 B = 97.7 KiB/s");
    has_line(&text, "per shard: 1,000 records/s and 0.1 MB/s (Kinesis takes 1,000 records/s and 1 MB/s per shard)");
    has_line(&text, "PutRecords: 500 records per request, so at least 2 requests/s");
    has_line(&text, "destination metrics_delivery_stream (s3, buffer 1MiB or 60s)");
    has_line(
        &text,
        "from application `metrics_stream_app`, output `DESTINATION_SQL_STREAM`: 1,000 records/s, \
         the application's output rate: one output row per input record",
    );
    has_line(&text, "buffered: 1,000 records/s of 101 B (the record and a newline) = 98.6 KiB/s");
    has_line(&text, "trigger: size: 1 MiB fills in 10.4 s, before the 60s interval");
    has_line(&text, "objects: one every 10.4 s, 1 MiB (10,382 records) each; 347 per hour, 346.8 MiB/hour");
    has_line(
        &text,
        "warning: an object every 10.4 s: raise `buffer.size` (Firehose allows up to 128MiB) for fewer, larger objects",
    );
    has_line(&text, "1 warning(s)");
}

#[test]
fn a_slow_seed_waits_for_the_interval_and_warns_of_small_objects() {
    let text = explained(&["explain", SEED, "--rate", "6/m", "--record-size", "200B"]);
    has_line(&text, "trigger: interval: 60s passes before 1 MiB is buffered (that takes 14.5 h)");
    has_line(&text, "objects: one every 60 s, 1.2 KiB (6 records) each; 60 per hour, 70.7 KiB/hour");
    has_line(
        &text,
        "warning: small objects (1.2 KiB every 60 s): raise `buffer.interval` (Firehose allows up to 900s)",
    );
    has_line(&text, "1 warning(s)");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

const BUSY: &str = r#"
name: busy
streams:
  events: {type: embedded, shards: 2}
applications:
  app:
    type: sql
    input:
      stream: events
      columns: [{name: MS, type: INTEGER, path: $.ms}]
    code: |
      CREATE STREAM "SLOW" (MS INTEGER);
      CREATE PUMP "SLOW_PUMP" AS INSERT INTO "SLOW" SELECT STREAM MS FROM "SOURCE_SQL_STREAM_001" WHERE MS > 1000;
      CREATE PUMP "ALL_PUMP" AS INSERT INTO "SLOW" SELECT STREAM MS FROM "SOURCE_SQL_STREAM_001";
    outputs:
      - {stream: SLOW, destination: slow}
      - {stream: error_stream, destination: errors}
destinations:
  slow: {type: s3, bucket: "s3://bucket", buffer: {size: 128MiB, interval: 900s}, compression: gzip}
  errors: {type: s3, bucket: "file://./errors", buffer: {size: 1MiB, interval: 0s}}
  raw: {type: s3, bucket: "file://./raw", source: events, delimiter: none}
  shown: {type: stdout, source: events}
"#;

#[test]
fn limits_pumps_where_and_error_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "busy.yaml", BUSY);
    let text = explained(&["explain", &path, "--rate", "5000/s", "--record-size", "20KiB"]);
    // Kinesis: 2,500 records/s and 51.2 MB/s per shard, and 20 KiB records fill PutRecords' 5 MiB first.
    has_line(
        &text,
        "warning: over Kinesis's per-shard write limit (1,000 records/s or 1 MB/s): writes would be throttled; \
         use at least 103 shards",
    );
    has_line(&text, "PutRecords: 256 records per request, so at least 20 requests/s");
    has_line(
        &text,
        "warning: records of 20 KiB fill PutRecords' 5 MiB request before its 500 records: only 256 per request",
    );
    // Two pumps into SLOW, one with a WHERE: at most two rows per record.
    has_line(
        &text,
        "from application `app`, output `SLOW`: 10,000 records/s, the application's output rate: 2 output rows per \
         input record (one per pump on the way), at most: the WHERE of `SLOW_PUMP` drops rows, assumed to drop none",
    );
    has_line(&text, "trigger: size: 128 MiB fills in 0.66 s, before the 900s interval");
    has_line(
        &text,
        "warning: an object every 0.66 s even at Firehose's largest buffer (128MiB): \
         split the flow over more destinations",
    );
    has_line(
        &text,
        "objects over 8 MiB go up as multipart uploads, in parts of at least 5 MiB but the last (S3's minimum)",
    );
    assert!(text.contains("128 MiB before gzip (6,554 records) each; 5,493 per hour, 686.7 GiB/hour"), "{text}");
    // error_stream: only failed rows, and `interval: 0s`.
    has_line(&text, "from application `app`, output `error_stream`: ? records/s, only rows that fail: not estimated");
    has_line(&text, "no steady flow: an object is written only when records come, at most one per interval");
    // A destination reading the stream straight, without a delimiter; and stdout.
    has_line(&text, "from stream `events`: 5,000 records/s, every record of the stream");
    has_line(&text, "buffered: 5,000 records/s of 20 KiB (no delimiter) = 97.7 MiB/s");
    has_line(&text, "5,000 records/s, written as they arrive: no buffer, no objects");
}

#[test]
fn zero_interval_writes_an_object_per_delivery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "zero.yaml",
        "name: zero\nstreams:\n  s: {type: embedded}\ndestinations:\n  \
         out: {type: s3, bucket: \"file://./o\", source: s, buffer: {interval: 0s}}\n",
    );
    let text = explained(&["explain", &path, "--rate", "10/s"]);
    has_line(&text, "destination out (s3, buffer 5MiB or 0s)");
    has_line(&text, "trigger: interval 0s: every delivery is written at once");
    has_line(
        &text,
        "warning: `interval: 0s` writes an object per delivery (up to 36,000 per hour): set an interval (up to 900s)",
    );
}

#[test]
fn bad_flags_and_invalid_pipelines_are_refused() {
    let no_rate = sluice(&["explain", SEED]);
    assert_eq!(no_rate.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_rate.stderr).contains("--rate <RATE>"));

    let bad_rate = sluice(&["explain", SEED, "--rate", "fast"]);
    assert_eq!(bad_rate.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_rate.stderr).contains("invalid rate `fast`: expected records per period"));

    let zero_rate = sluice(&["explain", SEED, "--rate", "0/s"]);
    assert_eq!(zero_rate.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero_rate.stderr).contains("the rate must be above zero"));

    let bad_size = sluice(&["explain", SEED, "--rate", "1/s", "--record-size", "100 bytes"]);
    assert_eq!(bad_size.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_size.stderr).contains("invalid size `100 bytes`"));

    let zero_size = sluice(&["explain", SEED, "--rate", "1/s", "--record-size", "0B"]);
    assert_eq!(zero_size.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero_size.stderr).contains("--record-size"));

    let invalid = sluice(&["explain", "tests/invalid/unknown-key.yaml", "--rate", "1/s"]);
    assert_eq!(invalid.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(stderr.starts_with("tests/invalid/unknown-key.yaml:") && stderr.contains("error[unknown-key]"), "{stderr}");

    let missing = sluice(&["explain", "no/such.yaml", "--rate", "1/s"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).starts_with("error: no/such.yaml: "));
}
