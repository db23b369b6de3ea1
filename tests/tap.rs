//! `sluice run --tap`: the rows of in-app streams and the records of streams, live on stdout, never slowing the run.

#[path = "support/workspace.rs"]
mod workspace;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use workspace::{Workspace, exit_within};

const PIPELINE: &str = r#"name: tapped
producers:
  input: {type: file, stream: events, path: input.ndjson, format: lines}
streams:
  events: {type: embedded, shards: 2}
applications:
  app:
    type: sql
    input:
      stream: events
      columns: [{name: n, type: INTEGER, path: $.n}]
    code: |
      CREATE OR REPLACE STREAM "OUT" ("n" INTEGER, "half" INTEGER);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
      SELECT STREAM "n", "n" / 2 FROM "SOURCE_SQL_STREAM_001" WHERE "n" > 1;
    outputs:
      - {stream: OUT, destination: bucket, format: csv}
destinations:
  bucket: {type: s3, bucket: file://./bucket, buffer: {size: 1MiB, interval: 900s}}
"#;

/// The tapped pipeline with `input` as its input file.
fn workspace(input: &str) -> Workspace {
    let ws = Workspace::new(PIPELINE);
    ws.write("input.ndjson", input);
    ws
}

/// `sluice run pipeline.yaml <args>`.
fn sluice(ws: &Workspace, args: &[&str]) -> Command {
    let mut command = ws.sluice("run");
    command.args(args);
    command
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("a JSON line: {line}: {e}"))
}

#[test]
fn a_tap_shows_the_rows_of_an_in_app_stream_and_the_records_of_a_stream() {
    let ws = workspace("{\"n\": 1}\n{\"n\": 2}\n{\"n\": 3}\n{\"n\": 4}\n{\"n\": 5}\n");
    let output = sluice(&ws, &["--records", "4", "--tap", "app.OUT", "--tap", "events", "--quiet"])
        .output()
        .expect("sluice runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(json).collect();
    let tapped = |name: &str| lines.iter().filter(|l| l["tap"] == name).cloned().collect::<Vec<_>>();
    let mut rows: Vec<(i64, i64)> = tapped("app.OUT")
        .iter()
        .map(|l| (l["row"]["n"].as_i64().expect("n"), l["row"]["half"].as_i64().expect("half")))
        .collect();
    rows.sort_unstable();
    assert_eq!(rows, [(2, 1), (3, 1), (4, 2)], "the rows the pump inserted into OUT: {stdout}");
    assert!(tapped("app.OUT").iter().all(|l| l["row"]["ROWTIME"].is_string()), "with ROWTIME: {stdout}");
    let mut records: Vec<i64> = tapped("events").iter().map(|l| l["data"]["n"].as_i64().expect("n")).collect();
    records.sort_unstable();
    assert_eq!(records, [1, 2, 3, 4], "the --records 4 records put into the stream: {stdout}");
    assert!(tapped("events").iter().all(|l| l["partition_key"].is_string() && l["arrival_ms"].is_i64()));

    let unknown = sluice(&ws, &["--tap", "nope"]).output().expect("sluice runs");
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(message.contains("pipeline.yaml: --tap nope: not a stream of the pipeline (events)"), "{message}");
    let no_stream = sluice(&ws, &["--tap", "app.NOPE"]).output().expect("sluice runs");
    let message = String::from_utf8_lossy(&no_stream.stderr);
    assert!(message.contains("no in-app stream `NOPE`"), "{message}");
}

#[test]
fn a_reader_that_does_not_read_never_stalls_the_run_rows_are_skipped_instead() {
    const RECORDS: usize = 30_000;
    let input: String = (0..RECORDS).map(|n| format!("{{\"n\": {n}, \"pad\": \"{}\"}}\n", "x".repeat(100))).collect();
    let ws = workspace(&input);
    let mut child = sluice(&ws, &["--tap", "events", "--tap", "app.SOURCE_SQL_STREAM_001"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice runs");
    // Nobody reads stdout until the run is over: its pipe fills after a few hundred lines.
    let (status, stderr) = exit_within(&mut child, Duration::from_secs(60), "the run stalled behind its tap");
    assert!(status.success(), "{stderr}");
    let skipped: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("tap: ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("the summary counts skipped rows: {stderr}"));
    assert!(skipped > 0 && skipped < 2 * RECORDS as u64, "{skipped}");
    let mut stdout = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut stdout).expect("stdout");
    assert!(stdout.lines().count() > 10, "what fitted was printed");
    for line in stdout.lines() {
        assert!(line.starts_with("{\"tap\":") || line.ends_with(" rows skipped)"), "{line}");
    }
    // Every record was delivered all the same.
    let delivered: usize =
        ws.objects("bucket").values().map(|bytes| bytes.iter().filter(|b| **b == b'\n').count()).sum();
    assert_eq!(delivered, RECORDS - 2, "n > 1");
}

#[test]
fn sluice_tap_follows_the_new_records_of_a_running_pipeline() {
    let ws = Workspace::new(
        "name: live\nproducers:\n  gen: {type: datagen, stream: s, rate: 50, record: {n: \"{{seq}}\"}}\nstreams:\n  \
         s: {type: embedded}\ndestinations:\n  out: {type: s3, source: s, bucket: file://./bucket}\n",
    );
    let pipeline = ws.path("pipeline.yaml");
    let mut run = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--quiet", "--duration", "8s"])
        .arg(&pipeline)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sluice runs");
    let stream_dir = ws.path(".sluice/live/streams/s");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stream_dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let tapped = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["tap", "--records", "5", "--duration", "20s"])
        .arg(&pipeline)
        .arg("s")
        .output()
        .expect("sluice tap runs");
    let _ = run.kill();
    let _ = run.wait();
    assert!(tapped.status.success(), "{}", String::from_utf8_lossy(&tapped.stderr));
    let stdout = String::from_utf8_lossy(&tapped.stdout);
    let numbers: Vec<i64> = stdout
        .lines()
        .map(json)
        .map(|l| {
            assert_eq!(l["tap"], "s");
            l["data"]["n"].as_str().and_then(|n| n.parse().ok()).or(l["data"]["n"].as_i64()).expect("n")
        })
        .collect();
    assert_eq!(numbers.len(), 5, "{stdout}");
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "in order: {stdout}");

    let in_app = Command::new(env!("CARGO_BIN_EXE_sluice")).arg("tap").arg(&pipeline).arg("app.OUT").output();
    let message = String::from_utf8_lossy(&in_app.expect("sluice tap runs").stderr).into_owned();
    assert!(message.contains("sluice run") && message.contains("--tap app.OUT"), "{message}");
}
