//! Tumbling windows across crashes and stops, through the CLI: a file producer feeds an embedded stream
//! (`fsync: always`), an sql application counts each second's records (COUNT, SUM, MIN and MAX of their ids) and
//! an s3 destination on `file://` writes the windows (`naming: deterministic`). The run is killed with SIGKILL
//! at several moments (some right after a window's object appears), or stopped with SIGTERM, and restarted
//! until it finishes. Then every window must appear once, and every record must be counted in exactly one
//! window: with one shard the ids arrive in order, so the windows' id ranges must tile 0..N with no gap or
//! overlap, each window's COUNT and SUM exactly those of its range.
//!
//! `WINDOW_CRASH_SLUICE=<path>` runs another build of the binary (to see an older one fail the checks).

#[path = "support/workspace.rs"]
mod workspace;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use workspace::Workspace;

const PIPELINE: &str = r#"name: window-crash
producers:
  input:
    type: file
    stream: events
    path: input.ndjson
    rate: {RATE}
streams:
  events:
    type: embedded
    shards: {SHARDS}
    fsync: always
applications:
  counts:
    type: sql
    input:
      stream: events
      format: json
      columns:
        - {name: id, type: BIGINT, path: $.id}
    code: |
      CREATE OR REPLACE STREAM "PER_SECOND" (
          "window_start" TIMESTAMP, "n" BIGINT, "total" BIGINT, "first_id" BIGINT, "last_id" BIGINT);
      CREATE OR REPLACE PUMP "COUNT_PUMP" AS INSERT INTO "PER_SECOND"
      SELECT STREAM FLOOR("SOURCE_SQL_STREAM_001".ROWTIME TO SECOND), COUNT(*), SUM("id"), MIN("id"), MAX("id")
      FROM "SOURCE_SQL_STREAM_001"
      GROUP BY FLOOR("SOURCE_SQL_STREAM_001".ROWTIME TO SECOND);
{PLAIN_PUMP}    outputs:
      - {stream: PER_SECOND, destination: bucket, format: json}
destinations:
  bucket:
    type: s3
    bucket: file://./bucket
    buffer: {size: 1MiB, interval: 100ms}
    naming: deterministic
"#;

/// One window as the bucket holds it.
#[derive(Debug, Clone, serde::Deserialize)]
struct Window {
    window_start: String,
    n: i64,
    total: i64,
    first_id: i64,
    last_id: i64,
}

fn sluice() -> PathBuf {
    std::env::var_os("WINDOW_CRASH_SLUICE").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sluice")), PathBuf::from)
}

/// A second pump into the windows' output stream, with no window: every tenth record as a row of its own (`n` -1).
const PLAIN_PUMP: &str = r#"      CREATE OR REPLACE PUMP "PLAIN_PUMP" AS INSERT INTO "PER_SECOND"
      SELECT STREAM ROWTIME, -1, "id", "id", "id" FROM "SOURCE_SQL_STREAM_001" WHERE MOD("id", 10) = 0;
"#;

/// A workspace with the pipeline and `records` records `{"id": i}` at `rate` per second.
fn workspace(records: u64, rate: u64, shards: u32) -> Workspace {
    workspace_with(records, rate, shards, "")
}

/// [`workspace`] with `plain_pump` added to the application's SQL.
fn workspace_with(records: u64, rate: u64, shards: u32, plain_pump: &str) -> Workspace {
    let pipeline = PIPELINE
        .replace("{RATE}", &rate.to_string())
        .replace("{SHARDS}", &shards.to_string())
        .replace("{PLAIN_PUMP}", plain_pump);
    let ws = Workspace::new(&pipeline);
    let input: String = (0..records).map(|id| format!("{{\"id\":{id}}}\n")).collect();
    ws.write("input.ndjson", &input);
    ws
}

/// Starts `sluice run` (run number `run`: its log is `run-<n>.log`).
fn start(ws: &Workspace, run: u32) -> Child {
    let log = std::fs::File::create(ws.path(&format!("run-{run}.log"))).expect("log file");
    Command::new(sluice())
        .arg("run")
        .arg(ws.path("pipeline.yaml"))
        .arg("--data-dir")
        .arg(ws.path("data"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("sluice starts")
}

fn log(ws: &Workspace, run: u32) -> String {
    std::fs::read_to_string(ws.path(&format!("run-{run}.log"))).unwrap_or_default()
}

fn objects(ws: &Workspace) -> usize {
    ws.objects("bucket").keys().filter(|k| !k.contains('#')).count()
}

/// Waits up to `longest` for an object beyond the `before` there were.
fn wait_for_object(ws: &Workspace, before: usize, longest: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < longest {
        if objects(ws) > before {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// Lets run `run` finish on its own; it must succeed.
fn finish(ws: &Workspace, mut child: Child, run: u32) {
    let status = child.wait().expect("wait");
    assert!(status.success(), "run {run} failed ({status}):\n{}", log(ws, run));
}

/// Kills run `run` with SIGKILL; it must still be running.
fn kill_9(ws: &Workspace, mut child: Child, run: u32) {
    if child.try_wait().expect("try_wait").is_some() {
        panic!("run {run} ended before its kill:\n{}", log(ws, run));
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
}

/// Sends SIGTERM to `child` (a clean stop, as Ctrl-C) and waits for it to exit successfully.
fn terminate(ws: &Workspace, mut child: Child, run: u32) {
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
    assert!(status.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "run {run} did not stop cleanly ({status}):\n{}", log(ws, run));
}

/// Every window in the bucket.
fn windows(ws: &Workspace) -> Vec<Window> {
    let mut windows: Vec<Window> = Vec::new();
    for (key, bytes) in ws.objects("bucket") {
        assert!(!key.contains('#'), "a staging file was left: {key}");
        for line in String::from_utf8_lossy(&bytes).lines() {
            windows.push(serde_json::from_str(line).unwrap_or_else(|e| panic!("{key}: {line}: {e}")));
        }
    }
    windows.sort_by(|a, b| a.window_start.cmp(&b.window_start));
    windows
}

/// What is wrong with `windows` as the windows of records 0..`records` of one shard (ids in arrival order).
fn problems(windows: &[Window], records: i64) -> Vec<String> {
    let mut problems = Vec::new();
    for pair in windows.windows(2) {
        if pair[0].window_start == pair[1].window_start {
            problems.push(format!("window {} twice: {:?} and {:?}", pair[0].window_start, pair[0], pair[1]));
        }
    }
    let mut by_id: Vec<&Window> = windows.iter().collect();
    by_id.sort_by_key(|w| w.first_id);
    let mut next = 0;
    for window in by_id {
        let Window { first_id, last_id, n, total, .. } = *window;
        if first_id != next {
            problems.push(format!(
                "ids {next}..{first_id} (before window {window:?}) counted {}",
                match first_id > next {
                    true => "in no window",
                    false => "twice",
                }
            ));
        }
        let expected_total = (first_id + last_id) * (last_id - first_id + 1) / 2;
        if n != last_id - first_id + 1 || total != expected_total {
            problems.push(format!("window {window:?} is not exactly ids {first_id}..={last_id}"));
        }
        next = next.max(last_id + 1);
    }
    if next != records {
        problems.push(format!("ids {next}..{records} counted in no window"));
    }
    problems
}

fn assert_exact(ws: &Workspace, records: i64, runs: u32) {
    let windows = windows(ws);
    let problems = problems(&windows, records);
    let counted: i64 = windows.iter().map(|w| w.n).sum();
    assert!(
        problems.is_empty(),
        "{} windows, {counted} records counted of {records}, after {runs} runs:\n{}\n{:#?}",
        windows.len(),
        problems.join("\n"),
        windows
    );
    assert!(windows.len() >= 3, "the input spans several windows: {windows:?}");
}

#[test]
fn kill_9_at_any_moment_loses_and_double_counts_no_window() {
    // About 15 s of input (15 windows); six runs killed between 0.3 s and 2 s in, half of them just after a window's
    // object appears, then a run to the end.
    let (records, rate) = (30_000, 2_000);
    let ws = workspace(records, rate, 1);
    let delays = [700, 1_300, 400, 1_900, 1_000, 1_600];
    let mut aimed = 0;
    for (run, delay) in (0u32..).zip(delays) {
        let before = objects(&ws);
        let child = start(&ws, run);
        if run % 2 == 1 && wait_for_object(&ws, before, Duration::from_secs(4)) {
            aimed += 1;
        } else {
            std::thread::sleep(Duration::from_millis(delay));
        }
        kill_9(&ws, child, run);
    }
    assert!(aimed >= 2, "kills right after a window was published: {aimed}");
    let last = delays.len() as u32;
    finish(&ws, start(&ws, last), last);
    let restored = (1..=last).filter(|&run| log(&ws, run).contains("restarting after windows emitted")).count();
    assert!(restored >= 3, "most restarts restore the windows' marks from the checkpoint: {restored}");
    assert_exact(&ws, records as i64, last + 1);
}

#[test]
fn a_clean_stop_leaves_open_windows_to_the_next_run() {
    // SIGTERM mid-window, twice: the open window is not emitted half full; the next run emits it whole.
    let (records, rate) = (8_000, 2_000);
    let ws = workspace(records, rate, 1);
    for run in 0..2 {
        let child = start(&ws, run);
        std::thread::sleep(Duration::from_millis(1_500));
        terminate(&ws, child, run);
    }
    finish(&ws, start(&ws, 2), 2);
    assert_exact(&ws, records as i64, 3);
}

#[test]
fn kill_9_with_two_shards_counts_every_record_once() {
    // Two shards interleave: windows' ids are not ranges, but every id is counted once, no window twice.
    let (records, rate) = (12_000, 2_000);
    let ws = workspace(records, rate, 2);
    for (run, delay) in (0u32..).zip([900, 1_500, 600]) {
        let child = start(&ws, run);
        std::thread::sleep(Duration::from_millis(delay));
        kill_9(&ws, child, run);
    }
    finish(&ws, start(&ws, 3), 3);
    let windows = windows(&ws);
    let starts: std::collections::BTreeSet<&str> = windows.iter().map(|w| w.window_start.as_str()).collect();
    assert_eq!(starts.len(), windows.len(), "no window twice: {windows:#?}");
    let counted: i64 = windows.iter().map(|w| w.n).sum();
    let total: i64 = windows.iter().map(|w| w.total).sum();
    let n = records as i64;
    assert_eq!((counted, total), (n, n * (n - 1) / 2), "every record in exactly one window: {windows:#?}");
}

#[test]
fn kill_9_loses_no_row_of_a_plain_pump_sharing_the_windows_output() {
    // The output is held back for its windows; the plain pump's rows in it must still all arrive (at least once).
    let (records, rate) = (12_000, 2_000);
    let ws = workspace_with(records, rate, 1, PLAIN_PUMP);
    for (run, delay) in (0u32..).zip([800, 1_400, 500]) {
        let before = objects(&ws);
        let child = start(&ws, run);
        if !(run == 1 && wait_for_object(&ws, before, Duration::from_secs(4))) {
            std::thread::sleep(Duration::from_millis(delay));
        }
        kill_9(&ws, child, run);
    }
    finish(&ws, start(&ws, 3), 3);
    let (plain, windows): (Vec<Window>, Vec<Window>) = windows(&ws).into_iter().partition(|w| w.n == -1);
    let problems = problems(&windows, records as i64);
    assert!(problems.is_empty(), "the windows, exactly once:\n{}", problems.join("\n"));
    let mut ids: Vec<i64> = plain.iter().map(|row| row.first_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let expected: Vec<i64> = (0..records as i64).step_by(10).collect();
    assert_eq!(ids, expected, "every row of the plain pump delivered");
}
