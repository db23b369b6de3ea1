//! `sluice run --metrics`: a running pipeline's counters, scraped over HTTP as Prometheus does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PIPELINE: &str = r#"
name: scraped
producers:
  gen:
    type: datagen
    stream: s
    rate: 200
    record: {n: "{{seq}}"}
streams:
  s: {type: embedded}
destinations:
  out: {type: s3, bucket: "file://./bucket", source: s, buffer: {size: 1MiB, interval: 900s}}
"#;

/// Kills the run if an assertion fails first.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on `addr`: the status line and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

/// The value of the sample `name{labels}` in Prometheus text.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
}

/// A sample that may have a fraction (`_seconds`).
fn sample_f64(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
}

/// Starts `sluice run --metrics 127.0.0.1:0` on `pipeline` for `duration`: the run and the endpoint's address.
fn start(dir: &std::path::Path, pipeline: &str, duration: &str) -> (Run, String) {
    let path = dir.join("scraped.yaml");
    std::fs::write(&path, pipeline).expect("write");
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--quiet", "--duration", duration, "--metrics", "127.0.0.1:0"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice runs");
    let mut run = Run(child);
    let mut stderr = BufReader::new(run.0.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("stderr line");
    let addr = first
        .trim()
        .strip_prefix("serving metrics at http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("the address is announced: {first}"))
        .to_owned();
    // Keep reading what the run logs after: a closed pipe would end it with SIGPIPE at its next log line.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (run, addr)
}

#[test]
fn a_running_pipeline_serves_its_counters_as_prometheus_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut run, addr) = start(dir.path(), PIPELINE, "4s");

    // Counters grow while the run goes on.
    let series = r#"sluice_stage_records_total{pipeline="scraped",kind="producer",stage="gen"}"#;
    let deadline = Instant::now() + Duration::from_secs(3);
    let text = loop {
        let (status, text) = get(&addr, "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK");
        if sample(&text, series).is_some_and(|n| n > 0) || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(sample(&text, series).is_some_and(|n| n > 0), "records counted:\n{text}");
    for line in [
        "# TYPE sluice_stage_records_total counter",
        "# TYPE sluice_stage_bytes_total counter",
        "# TYPE sluice_stage_errors_total counter",
        "# TYPE sluice_application_error_rows_total counter",
        "# TYPE sluice_destination_buffered_bytes gauge",
        "# TYPE sluice_destination_objects_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    for series in [
        r#"sluice_stage_bytes_total{pipeline="scraped",kind="stream",stage="s",consumer="destination/out"}"#,
        r#"sluice_destination_buffered_bytes{pipeline="scraped",kind="destination",stage="out"}"#,
        r#"sluice_destination_objects_total{pipeline="scraped",kind="destination",stage="out"}"#,
    ] {
        assert!(sample(&text, series).is_some(), "{series} in:\n{text}");
    }
    // Every sample line is `name{labels} value`, as the exposition format wants.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').expect("a value");
        assert!(series.starts_with("sluice_") && series.ends_with('}'), "{line}");
        assert!(value.parse::<f64>().is_ok_and(f64::is_finite), "{line}");
    }
    assert_eq!(get(&addr, "/").0, "HTTP/1.1 404 Not Found");

    // The run ends by itself, and the endpoint with it.
    let status = run.0.wait().expect("exit");
    assert!(status.success(), "the run succeeded");
    assert!(TcpStream::connect(&addr).is_err(), "the endpoint closed with the run");
}

#[test]
fn a_busy_metrics_address_is_refused_before_the_run() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scraped.yaml");
    std::fs::write(&path, PIPELINE).expect("write");
    // `--duration` bounds the run should the address not be refused.
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--quiet", "--duration", "1s", "--metrics", &addr])
        .arg(&path)
        .output()
        .expect("sluice runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("error: --metrics {addr}: ")), "{stderr}");
}

/// An application with a GROUP BY window, a destination writing an object a second, and one holding everything.
const STATEFUL: &str = r#"
name: scraped
producers:
  gen: {type: datagen, stream: s, rate: 200, record: {n: "{{seq}}"}}
streams:
  s: {type: embedded}
applications:
  app:
    type: sql
    input:
      stream: s
      columns: [{name: n, type: INTEGER, path: $.n}]
    code: |
      CREATE OR REPLACE STREAM "OUT" ("n" INTEGER, "c" BIGINT);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
      SELECT STREAM "n", COUNT(*) FROM "SOURCE_SQL_STREAM_001"
      GROUP BY "n", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' HOUR);
    outputs:
      - {stream: OUT, destination: windows}
destinations:
  windows: {type: s3, bucket: "file://./windows", buffer: {size: 1MiB, interval: 900s}}
  raw: {type: s3, bucket: "file://./raw", source: s, buffer: {size: 1MiB, interval: 1s}}
  held: {type: s3, bucket: "file://./held", source: s, buffer: {size: 1MiB, interval: 900s}}
"#;

#[test]
fn window_state_lags_and_object_sizes_are_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut run, addr) = start(dir.path(), STATEFUL, "6s");
    let series = |name: &str, kind: &str, stage: &str, consumer: &str| {
        let consumer = if consumer.is_empty() { String::new() } else { format!(",consumer=\"{consumer}\"") };
        format!(r#"{name}{{pipeline="scraped",kind="{kind}",stage="{stage}"{consumer}}}"#)
    };
    let groups = series("sluice_application_window_groups", "application", "app", "application/app");
    let raw_objects = series("sluice_destination_object_size_bytes_count", "destination", "raw", "");
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let (_, text) = get(&addr, "/metrics");
        let ready = sample(&text, &groups).is_some_and(|n| n > 0) && sample(&text, &raw_objects).is_some_and(|n| n > 0);
        if ready || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for line in [
        "# TYPE sluice_application_window_groups gauge",
        "# TYPE sluice_consumer_unacknowledged_records gauge",
        "# TYPE sluice_consumer_checkpoint_lag_seconds gauge",
        "# TYPE sluice_consumer_millis_behind_latest gauge",
        "# TYPE sluice_destination_object_size_bytes histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    // One group per `n` so far, held until the hour's window closes.
    assert!(sample(&text, &groups).is_some_and(|n| n > 0), "window state:\n{text}");
    // `raw` writes an object every second: each is counted in its size bucket.
    assert!(sample(&text, &raw_objects).is_some_and(|n| n > 0), "objects:\n{text}");
    let sum = series("sluice_destination_object_size_bytes_sum", "destination", "raw", "");
    assert!(sample(&text, &sum).is_some_and(|n| n > 0), "{text}");
    let inf =
        r#"sluice_destination_object_size_bytes_bucket{pipeline="scraped",kind="destination",stage="raw",le="+Inf"}"#;
    assert_eq!(sample(&text, inf), sample(&text, &raw_objects), "+Inf counts every object");
    // `held` (900 s) acknowledges nothing during the run: what it read waits for its checkpoint.
    let held = series("sluice_consumer_unacknowledged_records", "stream", "s", "destination/held");
    assert!(sample(&text, &held).is_some_and(|n| n > 0), "{held}:\n{text}");
    let lag = series("sluice_consumer_checkpoint_lag_seconds", "stream", "s", "destination/held");
    assert!(sample_f64(&text, &lag).is_some_and(|s| s > 0.0), "{lag}:\n{text}");
    let behind = series("sluice_consumer_millis_behind_latest", "application", "app", "application/app");
    assert!(sample_f64(&text, &behind).is_some(), "{behind}:\n{text}");
    // Every series is unique, though two destinations read stream `s`.
    let mut names: Vec<&str> =
        text.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.rsplit_once(' ')).map(|(s, _)| s).collect();
    let all = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all, "{text}");
    let status = run.0.wait().expect("exit");
    assert!(status.success(), "the run succeeded");
}
