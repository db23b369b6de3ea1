//! `sluice run` as a user drives it: YAML files in a folder, the CLI, the bucket folder it fills.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/workspace.rs"]
mod workspace;

use workspace::{Workspace, exit_within};

/// `sluice run pipeline.yaml <extra>`.
fn command(ws: &Workspace, extra: &[&str]) -> Command {
    let mut command = ws.sluice("run");
    command.args(extra);
    command
}

/// [`command`], which must succeed.
fn run(ws: &Workspace, extra: &[&str]) -> Output {
    let output = command(ws, extra).output().expect("sluice runs");
    assert!(
        output.status.success(),
        "sluice run {extra:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `count` distinct NDJSON records like the tutorial's, one per line.
fn records(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{{\"id\": {i}, \"timestamp\": \"2020-07-01T00:00:00.000\", \"metrics\": \"{},{},{},{}\"}}\n",
                i % 100 + 1,
                i % 11,
                i % 6,
                i % 4
            )
        })
        .collect()
}

/// The lines of all objects, sorted (shards interleave, so order across them is not defined).
fn delivered_lines(objects: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut lines: Vec<String> = objects
        .values()
        .flat_map(|bytes| String::from_utf8_lossy(bytes).lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    lines.sort();
    lines
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn file_to_bucket(shards: u32, buffer: &str, extra: &str) -> String {
    format!(
        "name: files\nproducers:\n  input:\n    type: file\n    stream: events\n    path: input.ndjson\n{extra}\
         streams:\n  events:\n    type: embedded\n    shards: {shards}\n\
         destinations:\n  bucket:\n    type: s3\n    source: events\n    bucket: file://./bucket\n    buffer: {buffer}\n"
    )
}

/// Firehose's default key: `YYYY/MM/dd/HH/<destination>-1-YYYY-MM-dd-HH-mm-ss-<uuid>`, prefix and name agreeing.
fn assert_firehose_key(key: &str, destination: &str, extension: &str) {
    let parts: Vec<&str> = key.split('/').collect();
    assert_eq!(parts.len(), 5, "{key}");
    let name = parts[4].strip_suffix(extension).unwrap_or_else(|| panic!("{key} ends in {extension:?}"));
    let stamp = format!("{destination}-1-{}-{}-{}-{}-", parts[0], parts[1], parts[2], parts[3]);
    assert!(name.starts_with(&stamp), "{key}: name and prefix disagree");
    let rest = &name[stamp.len()..];
    let (minute_second, random) = rest.split_at(6);
    assert!(minute_second.chars().filter(|c| *c == '-').count() == 2, "{key}");
    assert!(
        random.len() == 36 && random.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "{key}: random part {random:?}"
    );
}

#[test]
fn file_records_reach_the_bucket_exactly_under_firehose_keys() {
    let input = records(5_000);
    let ws = Workspace::new(&file_to_bucket(4, "{size: 1MiB, interval: 900s}", ""));
    ws.write("input.ndjson", &input);
    let output = run(&ws, &[]);
    let objects = ws.objects("bucket");
    assert!(!objects.is_empty());
    for key in objects.keys() {
        assert_firehose_key(key, "bucket", "");
    }
    assert_eq!(delivered_lines(&objects), sorted_lines(&input), "every record once, as written");
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(summary.contains("finished in"), "{summary}");
    assert!(
        !ws.path("bucket").read_dir().expect("bucket").any(|e| e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .contains('#')),
        "no staging files"
    );
}

#[test]
fn the_size_hint_splits_objects() {
    // About 3.8 MiB of records with a 1 MiB hint: three full objects and a remainder flushed at the end.
    let input = records(50_000);
    // `naming: firehose` cuts after the record that reaches the hint, as Firehose; the default (deterministic)
    // naming cuts after the delivery that reaches it, so an object holds whole input batches (at most 4096
    // records, here about 350 KiB).
    for (naming, overshoot) in [("firehose", 200), ("deterministic", 400 << 10)] {
        let ws =
            Workspace::new(&file_to_bucket(1, &format!("{{size: 1MiB, interval: 900s}}\n    naming: {naming}"), ""));
        ws.write("input.ndjson", &input);
        run(&ws, &[]);
        let objects = ws.objects("bucket");
        let sizes: Vec<usize> = objects.values().map(Vec::len).collect();
        assert!(sizes.len() >= 3, "{naming}: {sizes:?}");
        let full = sizes.iter().filter(|s| **s >= 1 << 20).count();
        assert!(full >= 2 && full + 1 >= sizes.len(), "{naming}: objects flushed by size reach the hint: {sizes:?}");
        assert!(
            sizes.iter().all(|s| *s < (1 << 20) + overshoot),
            "{naming}: no object grows past the hint by more than a record (a delivery): {sizes:?}"
        );
        assert_eq!(delivered_lines(&objects), sorted_lines(&input), "{naming}");
    }
}

#[test]
fn the_interval_hint_splits_objects_over_time() {
    // 100 records at 20/s take about 5 s; with a 1 s interval they cannot all land in one object (readers see
    // records once synced, up to a second after they were put, so a shorter run could fit in one).
    let input = records(100);
    let ws = Workspace::new(&file_to_bucket(1, "{size: 64MiB, interval: 1s}", "    rate: 20\n"));
    ws.write("input.ndjson", &input);
    run(&ws, &[]);
    let objects = ws.objects("bucket");
    assert!(objects.len() >= 2, "{} objects", objects.len());
    assert_eq!(delivered_lines(&objects), sorted_lines(&input));
}

#[test]
fn gzip_objects_end_in_gz_and_hold_the_records() {
    let input = records(2_000);
    let ws =
        Workspace::new(&format!("{}    compression: gzip\n", file_to_bucket(2, "{size: 1MiB, interval: 900s}", "")));
    ws.write("input.ndjson", &input);
    run(&ws, &[]);
    let mut unpacked = BTreeMap::new();
    for (key, bytes) in ws.objects("bucket") {
        assert_firehose_key(&key, "bucket", ".gz");
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice()).read_to_end(&mut text).expect("valid gzip");
        unpacked.insert(key, text);
    }
    assert_eq!(delivered_lines(&unpacked), sorted_lines(&input));
}

#[test]
fn a_restart_neither_loses_nor_repeats_records() {
    let input = records(3_000);
    let ws = Workspace::new(&file_to_bucket(2, "{size: 1MiB, interval: 900s}", ""));
    ws.write("input.ndjson", &input);
    run(&ws, &["--records", "1000"]);
    let first = ws.objects("bucket");
    assert_eq!(delivered_lines(&first).len(), 1000, "--records bounds the first run");
    run(&ws, &[]);
    let all = ws.objects("bucket");
    assert!(first.iter().all(|(k, v)| all.get(k) == Some(v)), "the first run's objects stay as they were");
    assert_eq!(delivered_lines(&all), sorted_lines(&input), "the second run delivers exactly the rest");
}

#[cfg(unix)]
#[test]
fn sigterm_drains_and_a_restart_delivers_the_rest() {
    let input = records(400);
    let ws = Workspace::new(&file_to_bucket(2, "{size: 64MiB, interval: 900s}", "    rate: 200\n"));
    ws.write("input.ndjson", &input);
    let child = command(&ws, &[]).stderr(Stdio::piped()).spawn().expect("start sluice");
    std::thread::sleep(Duration::from_millis(800));
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "SIGTERM is a clean stop: {}", String::from_utf8_lossy(&output.stderr));
    let first = delivered_lines(&ws.objects("bucket")).len();
    assert!(first > 0 && first < 400, "stopped mid-stream after {first} records, everything read was flushed");
    run(&ws, &[]);
    assert_eq!(delivered_lines(&ws.objects("bucket")), sorted_lines(&input));
}

#[test]
fn datagen_with_a_seed_is_reproducible_and_count_bounds_it() {
    let pipeline = "name: gen\nproducers:\n  gen:\n    type: datagen\n    stream: s\n    rate: 1000\n    count: 25\n    seed: 7\n    partition_key: \"{{int 1 4}}\"\n    record:\n      requests: \"{{int 1 100}}\"\n      kind: \"{{choice a b c}}\"\n      id: \"{{uuid}}\"\nstreams:\n  s: {type: embedded, shards: 1}\ndestinations:\n  out: {type: stdout, source: s}\n";
    let first = Workspace::new(pipeline);
    let second = Workspace::new(pipeline);
    let a = String::from_utf8(run(&first, &["--quiet"]).stdout).expect("utf-8");
    let b = String::from_utf8(run(&second, &["--quiet"]).stdout).expect("utf-8");
    assert_eq!(a.lines().count(), 25);
    assert_eq!(a, b, "same seed, same records");
    for line in a.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("JSON records");
        let requests = record["requests"].as_i64().expect("a number");
        assert!((1..=100).contains(&requests), "{line}");
        assert!(["a", "b", "c"].contains(&record["kind"].as_str().expect("a string")), "{line}");
    }
}

#[test]
fn stdin_lines_flow_to_stdout() {
    let ws = Workspace::new(
        "name: pipe\nproducers:\n  in: {type: stdin, stream: s}\nstreams:\n  s: {type: embedded}\ndestinations:\n  out: {type: stdout, source: s}\n",
    );
    let mut child = command(&ws, &["--quiet"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"one\ntwo\nthree\n").expect("write");
    }
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "one\ntwo\nthree\n");
}

#[test]
fn duration_bounds_an_endless_producer() {
    let ws = Workspace::new(
        "name: endless\nproducers:\n  gen:\n    type: datagen\n    stream: s\n    rate: 100\n    record: {n: \"{{seq}}\"}\nstreams:\n  s: {type: embedded}\ndestinations:\n  out: {type: s3, source: s, bucket: file://./bucket, buffer: {size: 1MiB, interval: 900s}}\n",
    );
    let started = Instant::now();
    run(&ws, &["--duration", "1s"]);
    assert!(started.elapsed() < Duration::from_secs(20), "stopped after its duration");
    let lines = delivered_lines(&ws.objects("bucket"));
    assert!(!lines.is_empty(), "what was produced before the stop is flushed");
}

#[test]
fn a_second_run_on_the_same_data_directory_is_refused_clearly() {
    let ws = Workspace::new(
        "name: busy\nproducers:\n  gen:\n    type: datagen\n    stream: s\n    every: 1s\n    record: {n: 1}\nstreams:\n  s: {type: embedded}\ndestinations:\n  out: {type: stdout, source: s}\n",
    );
    let mut first = command(&ws, &["--quiet"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start");
    std::thread::sleep(Duration::from_millis(700));
    let second = command(&ws, &["--quiet"]).output().expect("second run");
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("is another `sluice run` using the data directory"), "{stderr}");
}

#[test]
fn a_missing_input_file_fails_the_run_with_its_path() {
    let ws = Workspace::new(
        &file_to_bucket(1, "{size: 1MiB, interval: 900s}", "").replace("path: input.ndjson", "path: \"logs/*.ndjson\""),
    );
    std::fs::create_dir(ws.path("logs")).expect("mkdir");
    ws.write("logs/a.ndjson", "{\"a\": 1}\n");
    run(&ws, &[]);
    assert_eq!(delivered_lines(&ws.objects("bucket")), ["{\"a\": 1}"]);

    let missing = Workspace::new(&file_to_bucket(1, "{size: 1MiB, interval: 900s}", ""));
    let output = command(&missing, &[]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1), "validation reports the missing file");
    assert!(String::from_utf8_lossy(&output.stderr).contains("input.ndjson"));
}

#[test]
fn a_failing_bucket_stops_the_run_and_a_restart_delivers_everything() {
    let input = records(500);
    let ws = Workspace::new(&file_to_bucket(2, "{size: 1MiB, interval: 900s}", ""));
    ws.write("input.ndjson", &input);
    // A file where the bucket folder must go: every put fails.
    ws.write("bucket", "not a folder");
    let output = command(&ws, &[]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("destination `bucket`"), "the error names the destination: {stderr}");

    std::fs::remove_file(ws.path("bucket")).expect("remove");
    run(&ws, &[]);
    assert_eq!(
        delivered_lines(&ws.objects("bucket")),
        sorted_lines(&input),
        "nothing was checkpointed past the failure"
    );
}

#[test]
fn changing_the_shard_count_of_an_existing_stream_is_refused_clearly() {
    let ws = Workspace::new(&file_to_bucket(2, "{size: 1MiB, interval: 900s}", ""));
    ws.write("input.ndjson", &records(10));
    run(&ws, &[]);
    ws.write("pipeline.yaml", &file_to_bucket(3, "{size: 1MiB, interval: 900s}", ""));
    let output = command(&ws, &[]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stream `events`") && stderr.contains("shard"), "{stderr}");
}

#[test]
fn an_unusable_data_directory_is_reported_with_its_path() {
    let ws = Workspace::new(&file_to_bucket(1, "{size: 1MiB, interval: 900s}", ""));
    ws.write("input.ndjson", &records(10));
    ws.write("occupied", "a file, not a folder");
    let data_dir = ws.path("occupied").join("state");
    let output = command(&ws, &["--data-dir", data_dir.to_str().expect("utf-8")]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot create data directory") && stderr.contains("occupied"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn after_kill_9_a_restart_delivers_every_record_at_least_once() {
    let input = records(1_500);
    let ws = Workspace::new(&file_to_bucket(2, "{size: 1MiB, interval: 0s}", "    rate: 1000\n"));
    ws.write("input.ndjson", &input);
    let mut child = command(&ws, &["--quiet"]).spawn().expect("start sluice");
    std::thread::sleep(Duration::from_millis(700));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let before = delivered_lines(&ws.objects("bucket")).len();
    assert!(before < 1_500, "killed mid-stream ({before} delivered)");
    run(&ws, &[]);
    let mut delivered = delivered_lines(&ws.objects("bucket"));
    delivered.dedup();
    assert_eq!(delivered, sorted_lines(&input), "every record, none lost");
}

#[cfg(unix)]
#[test]
fn a_second_ctrl_c_stops_a_drain_stuck_behind_an_outage_at_once() {
    // A bucket nobody serves: the destination retries (for 24 hours by default) and the drain cannot finish.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let pipeline = format!(
        "name: outage\nproducers:\n  input: {{type: file, stream: events, path: input.ndjson}}\n\
         streams:\n  events: {{type: embedded}}\ndestinations:\n  bucket:\n    type: s3\n    source: events\n    \
         bucket: s3://nowhere\n    endpoint: http://127.0.0.1:{port}\n    region: us-east-1\n    \
         buffer: {{size: 1MiB, interval: 1s}}\n"
    );
    let ws = Workspace::new(&pipeline);
    ws.write("input.ndjson", &records(20));
    let mut child = command(&ws, &["--quiet"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice");
    let interrupt = |child: &std::process::Child| {
        let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
    };
    std::thread::sleep(Duration::from_secs(3));
    interrupt(&child);
    std::thread::sleep(Duration::from_secs(2));
    assert!(child.try_wait().expect("wait").is_none(), "the first Ctrl-C drains, and the drain waits for the bucket");
    interrupt(&child);
    let (status, stderr) = exit_within(&mut child, Duration::from_secs(10), "the second Ctrl-C stops the run at once");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped at once by a second signal"), "{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_a_progress_line_shows_each_stage() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` (to give sluice a terminal) is not installed");
        return;
    }
    let ws = Workspace::new(&file_to_bucket(1, "{size: 1MiB, interval: 900s}", "    rate: 100\n"));
    ws.write("input.ndjson", &records(250));
    let line = format!("{} run {}", env!("CARGO_BIN_EXE_sluice"), ws.path("pipeline.yaml").display());
    let output = Command::new("script").args(["-qec", &line, "/dev/null"]).output().expect("script runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let screen = String::from_utf8_lossy(&output.stdout);
    let progress = screen.split('\r').find(|l| l.contains("producer input")).unwrap_or_else(|| panic!("{screen}"));
    assert!(progress.contains("/s") && progress.contains(" | destination bucket "), "{progress}");
    assert!(screen.contains("finished in"), "and a summary: {screen}");
}

#[test]
fn the_seed_pipeline_runs_end_to_end_into_hourly_folders() {
    // The tutorial as shipped: datagen -> embedded stream -> the tutorial's SQL -> JSON objects in the bucket.
    let ws = Workspace::new(&std::fs::read_to_string("pipelines/site-metrics.yaml").expect("seed pipeline"));
    std::fs::copy("pipelines/site-metrics.sql", ws.path("site-metrics.sql")).expect("seed SQL");
    // The first record is generated at once; the stop flushes it.
    run(&ws, &["--duration", "2s"]);
    let objects = ws.objects("data/site-metrics-bucket");
    assert_eq!(objects.len(), 1, "{objects:?}");
    let (key, bytes) = objects.iter().next().expect("one object");
    assert_firehose_key(key, "metrics_delivery_stream", "");
    let text = String::from_utf8_lossy(bytes);
    let row: serde_json::Value = serde_json::from_str(text.trim_end()).expect("one JSON object per line");
    let order: Vec<usize> = ["timestamp", "requests", "new_users", "new_orders", "new_churns"]
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).expect("every column of DESTINATION_SQL_STREAM"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "columns in the stream's order: {text}");
    let number = |k: &str| row[k].as_str().and_then(|v| v.parse::<u32>().ok()).expect("a number as text");
    assert!((1..=100).contains(&number("requests")) && number("new_users") <= 10, "{text}");
    assert!(number("new_orders") <= 5 && number("new_churns") <= 3, "{text}");
    // `hh` is the 12-hour clock, as in the tutorial's output.
    let timestamp = row["timestamp"].as_str().expect("text");
    let hour: u32 = timestamp[11..13].parse().expect("hour");
    assert!(timestamp.len() == 19 && (1..=12).contains(&hour), "{timestamp}");
}

#[test]
fn an_sql_application_delivers_rows_and_error_stream_and_checkpoints_both() {
    let pipeline = r#"name: sql-outputs
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
      SELECT STREAM "n", 10 / ("n" - 2) FROM "SOURCE_SQL_STREAM_001" WHERE "n" > 0;
    outputs:
      - {stream: OUT, destination: bucket, format: csv}
      - {stream: error_stream, destination: bucket}
destinations:
  bucket: {type: s3, bucket: file://./bucket, buffer: {size: 1MiB, interval: 900s}}
"#;
    let ws = Workspace::new(pipeline);
    ws.write("input.ndjson", "{\"n\": 1}\nnot json\n{\"n\": 2}\n{\"n\": 0}\n{\"n\": 12}\n");
    let summary = String::from_utf8_lossy(&run(&ws, &[]).stderr).into_owned();
    let app_line = summary.lines().find(|l| l.contains("app")).unwrap_or_default();
    assert!(app_line.ends_with(", 2 errors"), "the summary counts the application's failed rows: {summary}");
    let lines = delivered_lines(&ws.objects("bucket"));
    let rows: Vec<&String> = lines.iter().filter(|l| !l.starts_with('{')).collect();
    assert_eq!(rows, ["1,-10", "12,1"], "CSV rows; `n = 0` filtered out: {lines:?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with('{')).collect();
    assert_eq!(errors.len(), 2, "the record that is not JSON, and the division by zero: {lines:?}");
    assert!(errors.iter().any(|e| e.contains("\"ERROR_NAME\":\"Mapping_Error\"")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("division by zero") && e.contains("\"PUMP_NAME\":\"P\"")), "{errors:?}");

    // Both outputs acknowledged, so the checkpoint covers everything: a second run delivers nothing again.
    run(&ws, &[]);
    assert_eq!(delivered_lines(&ws.objects("bucket")), lines);
}
