//! The `s3` destination on real S3 servers, through the CLI: moto (objects read back with boto3, gzip, multipart,
//! Parquet read with pyarrow), s3rver stopped for a minute mid-run (nothing lost, nothing duplicated, delivery
//! resumes), and the errors a user meets (no such bucket, an endpoint that is no URL, https against plain http).
//! Parquet on `file://` is checked here too, with the same pyarrow reader.
//!
//! The servers are emulators (5-10k records/s): record counts stay small.

#[path = "support/aws_servers.rs"]
mod aws_servers;
#[path = "support/workspace.rs"]
mod workspace;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_servers::Server;
use workspace::Workspace;

/// `sluice <verb> pipeline.yaml`, with the server's credentials (and, unless `endpoint_in_yaml`, its endpoint) in
/// the environment: no AWS setting of the machine leaks in.
fn command(ws: &Workspace, verb: &str, server: Option<&Server>, endpoint_in_yaml: bool) -> Command {
    let mut command = ws.sluice(verb);
    for var in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"] {
        command.env_remove(var);
    }
    if let Some(server) = server {
        for (key, value) in server.env() {
            if !(endpoint_in_yaml && key == "AWS_ENDPOINT_URL") {
                command.env(key, value);
            }
        }
    }
    command
}

/// `sluice run` through [`command`], which must succeed.
fn run(ws: &Workspace, server: Option<&Server>, endpoint_in_yaml: bool) -> Output {
    let output = command(ws, "run", server, endpoint_in_yaml).output().expect("sluice runs");
    assert!(
        output.status.success(),
        "sluice run failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Lists `bucket/prefix` and reads every object back (gunzipped when its key ends in `.gz`): a JSON list of
/// {key, etag, size, lines}.
const READ_BACK: &str = r#"
import boto3, gzip, json, sys
s3 = boto3.client('s3')
bucket, prefix = sys.argv[1], sys.argv[2]
out = []
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
    for o in page.get('Contents', []):
        obj = s3.get_object(Bucket=bucket, Key=o['Key'])
        body = obj['Body'].read()
        if o['Key'].endswith('.gz'):
            body = gzip.decompress(body)
        out.append({'key': o['Key'], 'etag': obj['ETag'], 'size': len(body), 'lines': body.decode().splitlines()})
print(json.dumps(out))
"#;

const CREATE_BUCKET: &str = "import boto3, sys\nboto3.client('s3').create_bucket(Bucket=sys.argv[1])";

/// What [`READ_BACK`] found.
#[derive(Debug)]
struct Object {
    key: String,
    etag: String,
    size: u64,
    lines: Vec<String>,
}

fn read_back(server: &Server, bucket: &str, prefix: &str) -> Vec<Object> {
    let text = server.python(READ_BACK, &[bucket, prefix]);
    let value: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON from the reader");
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| Object {
            key: o["key"].as_str().unwrap_or_default().to_owned(),
            etag: o["etag"].as_str().unwrap_or_default().to_owned(),
            size: o["size"].as_u64().unwrap_or_default(),
            lines: o["lines"].as_array().into_iter().flatten().filter_map(|l| l.as_str().map(str::to_owned)).collect(),
        })
        .collect()
}

/// `count` NDJSON records with unique ids.
fn records(count: usize) -> String {
    (0..count).map(|i| format!("{{\"id\": {i}, \"name\": \"item-{}\", \"amount\": {}.25}}\n", i % 7, i % 100)).collect()
}

fn sql_pipeline(destination: &str) -> String {
    format!(
        r#"name: to-s3
producers:
  input: {{type: file, stream: events, path: input.ndjson}}
streams:
  events: {{type: embedded, shards: 2}}
applications:
  app:
    type: sql
    input:
      stream: events
      columns:
        - {{name: id, type: INTEGER, path: $.id}}
        - {{name: name, type: VARCHAR(16), path: $.name}}
        - {{name: amount, type: DOUBLE, path: $.amount}}
    code: |
      CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" INTEGER, "name" VARCHAR(16), "doubled" DOUBLE);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM "id", UPPER("name"), "amount" * 2 FROM "SOURCE_SQL_STREAM_001";
    outputs:
      - {{stream: DESTINATION_SQL_STREAM, destination: bucket, format: json}}
destinations:
  bucket:
{destination}"#
    )
}

/// The rows the SQL above makes of [`records`], as JSON values, by id.
fn expected_rows(count: usize) -> BTreeMap<i64, serde_json::Value> {
    (0..count)
        .map(|i| {
            let row = serde_json::json!({"id": i, "name": format!("ITEM-{}", i % 7), "doubled": (i % 100) as f64 * 2.0 + 0.5});
            (i as i64, row)
        })
        .collect()
}

fn rows_by_id(lines: impl IntoIterator<Item = String>) -> BTreeMap<i64, serde_json::Value> {
    let mut rows = BTreeMap::new();
    for line in lines {
        let row: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let id = row["id"].as_i64().expect("an id");
        assert!(rows.insert(id, row).is_none(), "id {id} delivered twice");
    }
    rows
}

#[test]
fn an_sql_pipeline_delivers_every_row_to_an_s3_bucket_gzipped_under_its_key_prefix() {
    let Some(moto) = Server::moto() else { return };
    moto.python(CREATE_BUCKET, &["lake"]);
    // `endpoint:` and `region:` from the YAML (the environment has credentials only).
    let ws = Workspace::new(&sql_pipeline(&format!(
        "    type: s3\n    bucket: s3://lake/metrics\n    endpoint: {}\n    region: us-east-1\n    \
         compression: gzip\n    buffer: {{size: 1MiB, interval: 900s}}\n",
        moto.endpoint()
    )));
    let count = 3_000;
    ws.write("input.ndjson", &records(count));
    let started = Instant::now();
    run(&ws, Some(&moto), true);
    let objects = read_back(&moto, "lake", "");
    assert!(!objects.is_empty(), "objects were written");
    for object in &objects {
        // s3://lake/metrics: every key under `metrics/`, then Firehose's `YYYY/MM/dd/HH/` and name, `.gz`.
        let parts: Vec<&str> = object.key.split('/').collect();
        assert_eq!(parts.len(), 6, "{}", object.key);
        assert_eq!(parts[0], "metrics", "{}", object.key);
        assert!(parts[5].starts_with("bucket-1-") && parts[5].ends_with(".gz"), "{}", object.key);
    }
    let delivered = rows_by_id(objects.into_iter().flat_map(|o| o.lines));
    assert_eq!(delivered, expected_rows(count), "every row once, with its values");
    eprintln!("{count} rows through SQL into moto in {:?}", started.elapsed());
}

#[test]
fn a_large_object_goes_up_as_a_multipart_upload() {
    let Some(moto) = Server::moto() else { return };
    moto.python(CREATE_BUCKET, &["big"]);
    let ws = Workspace::new(
        "name: big\nproducers:\n  input: {type: file, stream: events, path: input.ndjson}\n\
         streams:\n  events: {type: embedded}\n\
         destinations:\n  bucket:\n    type: s3\n    source: events\n    bucket: s3://big\n    \
         buffer: {size: 32MiB, interval: 900s}\n",
    );
    // Eleven records of about 900 KB: one object of about 9.9 MB, over the 8 MiB multipart threshold.
    let pad = "x".repeat(900_000);
    let input: String = (0..11).map(|i| format!("{{\"id\": {i}, \"pad\": \"{pad}\"}}\n")).collect();
    ws.write("input.ndjson", &input);
    run(&ws, Some(&moto), false);
    let objects = read_back(&moto, "big", "");
    assert_eq!(objects.len(), 1, "{:?}", objects.iter().map(|o| &o.key).collect::<Vec<_>>());
    let object = &objects[0];
    assert_eq!(object.size, input.len() as u64);
    // A multipart upload's ETag is `"<md5 of the parts' md5s>-<parts>"`.
    assert!(object.etag.trim_matches('"').ends_with("-2"), "two parts: {}", object.etag);
    let expected: Vec<&str> = input.lines().collect();
    assert_eq!(object.lines, expected, "the bytes as written");
    let leftover = moto.python(
        "import boto3\nprint(len(boto3.client('s3').list_multipart_uploads(Bucket='big').get('Uploads', [])))",
        &[],
    );
    assert_eq!(leftover.trim(), "0", "no upload left open");
}

/// How many multipart uploads bucket `bucket` of `moto` has in progress, asked over plain HTTP (moto answers
/// unsigned requests): a few milliseconds, where a Python client takes a second to start.
fn uploads_in_progress(moto: &Server, bucket: &str) -> usize {
    use std::io::{Read, Write};
    let mut connection = std::net::TcpStream::connect(("127.0.0.1", moto.port())).expect("connect to moto");
    let request = format!("GET /{bucket}?uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    connection.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    connection.read_to_string(&mut response).expect("receive");
    assert!(response.contains("ListMultipartUploadsResult"), "moto's answer: {response}");
    response.matches("<Upload>").count()
}

const OPEN_UPLOADS: &str =
    "import boto3, sys\nprint(len(boto3.client('s3').list_multipart_uploads(Bucket=sys.argv[1]).get('Uploads', [])))";

#[cfg(unix)]
#[test]
fn a_multipart_upload_cut_short_by_kill_9_is_aborted_at_the_next_start() {
    let Some(moto) = Server::moto() else { return };
    // Sixty records of about 900 KB: one object of about 54 MB, seven parts.
    let pad = "x".repeat(900_000);
    let input: String = (0..60).map(|i| format!("{{\"id\": {i}, \"pad\": \"{pad}\"}}\n")).collect();
    // The upload must still be open when the kill lands; on a fast machine it may finish first: try again.
    for attempt in 0..3 {
        let bucket = format!("cut-{attempt}");
        moto.python(CREATE_BUCKET, &[&bucket]);
        let ws = Workspace::new(&format!(
            "name: cut\nproducers:\n  input: {{type: file, stream: events, path: input.ndjson}}\n\
             streams:\n  events: {{type: embedded}}\n\
             destinations:\n  bucket:\n    type: s3\n    source: events\n    bucket: s3://{bucket}\n    \
             buffer: {{size: 64MiB, interval: 1s}}\n"
        ));
        ws.write("input.ndjson", &input);
        let mut child = command(&ws, "run", Some(&moto), false).stderr(Stdio::null()).spawn().expect("start sluice");
        // Killed as soon as an upload is seen: its seven parts take far longer to send than a poll.
        let deadline = Instant::now() + Duration::from_secs(60);
        while uploads_in_progress(&moto, &bucket) == 0 {
            assert!(Instant::now() < deadline, "an upload began within a minute");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        if moto.python(OPEN_UPLOADS, &[&bucket]).trim() == "0" {
            eprintln!("attempt {attempt}: the upload completed before the kill landed; again");
            continue;
        }
        run(&ws, Some(&moto), false);
        assert_eq!(moto.python(OPEN_UPLOADS, &[&bucket]).trim(), "0", "the restart aborted the upload the crash left");
        let mut ids: Vec<u64> = read_back(&moto, &bucket, "")
            .iter()
            .flat_map(|o| {
                o.lines
                    .iter()
                    .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON")["id"].as_u64().expect("id"))
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids, (0..60).collect::<Vec<u64>>(), "every record delivered");
        return;
    }
    panic!("in three attempts the kill never landed during an upload");
}

#[test]
fn a_bucket_outage_of_a_minute_loses_and_duplicates_nothing_and_delivery_resumes() {
    let Some(mut s3rver) = Server::s3rver() else { return };
    s3rver.python(CREATE_BUCKET, &["outage"]);
    let count: usize = 1_500;
    // 20 records/s with an object every second: the run spans the outage, the producer keeps going meanwhile.
    let ws = Workspace::new(&format!(
        "name: outage\nproducers:\n  gen:\n    type: datagen\n    stream: events\n    rate: 20\n    count: {count}\n    \
         record: {{id: \"{{{{seq}}}}\"}}\n\
         streams:\n  events: {{type: embedded}}\n\
         applications:\n  app:\n    type: sql\n    input:\n      stream: events\n      \
         columns: [{{name: id, type: BIGINT, path: $.id}}]\n    code: |\n      \
         CREATE OR REPLACE STREAM \"OUT\" (\"id\" BIGINT);\n      \
         CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\" SELECT STREAM \"id\" FROM \"SOURCE_SQL_STREAM_001\";\n    \
         outputs: [{{stream: OUT, destination: bucket, format: json}}]\n\
         destinations:\n  bucket:\n    type: s3\n    bucket: s3://outage\n    buffer: {{size: 1MiB, interval: 1s}}\n"
    ));
    let started = Instant::now();
    let mut child = command(&ws, "run", Some(&s3rver), false).stderr(Stdio::piped()).spawn().expect("start sluice");
    let keys = |server: &Server| {
        server
            .python("import boto3\nprint(boto3.client('s3').list_objects_v2(Bucket='outage').get('KeyCount', 0))", &[])
            .trim()
            .parse::<usize>()
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while keys(&s3rver) < 2 {
        assert!(Instant::now() < deadline, "no object within a minute");
        std::thread::sleep(Duration::from_millis(200));
    }
    let before = keys(&s3rver);
    s3rver.stop();
    let stopped_at = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    assert!(child.try_wait().expect("wait").is_none(), "the run waits out the outage instead of failing");
    s3rver.restart();
    let output = child.wait_with_output().expect("sluice ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the run succeeds after the outage: {stderr}");
    assert!(stderr.contains("put failed; retrying"), "the outage was met and retried: {stderr}");
    let objects = read_back(&s3rver, "outage", "");
    assert!(objects.len() > before, "delivery resumed after the restart");
    assert!(objects.iter().all(|o| !o.key.contains("s3-failed")), "nothing given up");
    let ids: Vec<i64> = {
        let mut ids: Vec<i64> = objects
            .iter()
            .flat_map(|o| o.lines.iter())
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON")["id"].as_i64().expect("id"))
            .collect();
        ids.sort_unstable();
        ids
    };
    let expected: Vec<i64> = (1..=count as i64).collect();
    let lost = expected.iter().filter(|i| ids.binary_search(i).is_err()).count();
    let duplicated = ids.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!((lost, duplicated), (0, 0), "0 lost, 0 duplicated");
    assert_eq!(ids, expected);
    eprintln!(
        "outage: {before} objects before, 60 s down, {} after; run took {:?} ({:?} after the stop)",
        objects.len(),
        started.elapsed(),
        stopped_at.elapsed()
    );
}

#[test]
fn a_bucket_that_does_not_exist_fails_the_run_at_once_naming_it() {
    let Some(moto) = Server::moto() else { return };
    let ws = Workspace::new(&sql_pipeline("    type: s3\n    bucket: s3://no-such-bucket\n"));
    ws.write("input.ndjson", &records(10));
    let started = Instant::now();
    let output = command(&ws, "run", Some(&moto), false).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("s3 destination `bucket`") && stderr.contains("s3://no-such-bucket"), "{stderr}");
    assert!(stderr.contains("retrying cannot help"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "not retried for the retry duration");
}

#[test]
fn an_https_endpoint_is_never_downgraded_to_http() {
    let Some(moto) = Server::moto() else { return };
    moto.python(CREATE_BUCKET, &["tls"]);
    let https = moto.endpoint().replace("http://", "https://");
    let ws = Workspace::new(&sql_pipeline(&format!(
        "    type: s3\n    bucket: s3://tls\n    endpoint: {https}\n    retry_duration: 0s\n"
    )));
    ws.write("input.ndjson", &records(5));
    let output = command(&ws, "run", Some(&moto), true).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "TLS to a plain-HTTP server fails: {stderr}");
    assert!(stderr.contains(&https), "the error names the endpoint it tried: {stderr}");
    assert!(read_back(&moto, "tls", "").is_empty(), "nothing went over plain HTTP");
}

#[test]
fn validate_places_endpoint_and_parquet_errors_at_their_line_and_column() {
    let ws = Workspace::new(&sql_pipeline(
        "    type: s3\n    bucket: s3://b\n    endpoint: 127.0.0.1:9000\n    format: parquet\n    buffer: {size: 5MiB}\n",
    ));
    ws.write("input.ndjson", "");
    let output = command(&ws, "validate", None, false).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let file = ws.path("pipeline.yaml").display().to_string();
    assert!(
        stderr.contains(&format!("{file}:25:15: error[invalid-value]: endpoint `127.0.0.1:9000` is not an http")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{file}:27:20: error[invalid-value]: `buffer.size` 5MiB is below 64MiB")),
        "{stderr}"
    );
    assert!(stderr.contains("2 error(s)"), "nothing else: {stderr}");
}

/// Reads Parquet (a local file, or `s3://bucket/key` through boto3) with pyarrow: its schema as
/// [name, type] pairs, and its rows as JSON values (timestamps, dates and decimals as text).
const READ_PARQUET: &str = r#"
import io, json, sys
import pyarrow.parquet as pq
source = sys.argv[1]
if source.startswith('s3://'):
    import boto3
    bucket, key = source[5:].split('/', 1)
    source = io.BytesIO(boto3.client('s3').get_object(Bucket=bucket, Key=key)['Body'].read())
parquet = pq.ParquetFile(source)
table = parquet.read()
print(json.dumps({
    'schema': [[f.name, str(f.type), f.nullable] for f in table.schema],
    'rows': table.to_pylist(),
    'row_groups': parquet.metadata.num_row_groups,
}, default=str))
"#;

fn read_parquet(python: &Path, source: &str, server: Option<&Server>) -> serde_json::Value {
    let mut command = Command::new(python);
    command.arg("-c").arg(READ_PARQUET).arg(source);
    if let Some(server) = server {
        command.envs(server.env());
    }
    let output = command.output().expect("python runs");
    assert!(output.status.success(), "pyarrow failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON from the reader")
}

fn typed_pipeline(bucket: &str, extra: &str) -> String {
    format!(
        r#"name: typed
producers:
  input: {{type: file, stream: events, path: input.ndjson}}
streams:
  events: {{type: embedded}}
applications:
  app:
    type: sql
    input:
      stream: events
      columns:
        - {{name: id, type: INTEGER, path: $.id}}
        - {{name: name, type: VARCHAR(16), path: $.name}}
        - {{name: at, type: TIMESTAMP, path: $.at}}
        - {{name: price, type: "DECIMAL(10,2)", path: $.price}}
        - {{name: ok, type: BOOLEAN, path: $.ok}}
    code: |
      CREATE OR REPLACE STREAM "OUT" ("id" INTEGER, "big" BIGINT, "name" VARCHAR(16), "ratio" DOUBLE,
        "at" TIMESTAMP, "day" DATE, "price" DECIMAL(10, 2), "ok" BOOLEAN, "small" SMALLINT, "r" REAL);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
      SELECT STREAM "id", CAST("id" AS BIGINT) * 10000000000, "name", "id" / 4.0, "at", CAST("at" AS DATE),
        "price", "ok", CAST("id" AS SMALLINT), CAST("id" AS REAL) / 2
      FROM "SOURCE_SQL_STREAM_001";
    outputs:
      - {{stream: OUT, destination: bucket, format: json}}
destinations:
  bucket:
    type: s3
    bucket: {bucket}
    format: parquet
{extra}"#
    )
}

const TYPED_INPUT: &str = "{\"id\": 1, \"name\": \"one\", \"at\": \"2020-07-01 12:00:00.250\", \"price\": 12.30, \"ok\": true}\n\
    {\"id\": 2, \"at\": \"2020-07-02 00:00:00.000\", \"price\": -0.05, \"ok\": false}\n\
    {\"id\": 3, \"name\": \"three\", \"at\": \"2021-01-31 23:59:59.999\", \"price\": 99999999.99}\n";

fn check_typed(table: &serde_json::Value) {
    let schema: Vec<(String, String)> = table["schema"]
        .as_array()
        .expect("schema")
        .iter()
        .map(|f| (f[0].as_str().unwrap_or_default().to_owned(), f[1].as_str().unwrap_or_default().to_owned()))
        .collect();
    let expected_schema = [
        ("id", "int32"),
        ("big", "int64"),
        ("name", "string"),
        ("ratio", "double"),
        ("at", "timestamp[ms, tz=UTC]"),
        ("day", "date32[day]"),
        ("price", "decimal128(10, 2)"),
        ("ok", "bool"),
        ("small", "int16"),
        ("r", "float"),
    ];
    let expected_schema: Vec<(String, String)> =
        expected_schema.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
    assert_eq!(schema, expected_schema, "types from the in-app stream's columns");
    assert!(table["schema"].as_array().into_iter().flatten().all(|f| f[2] == true), "every column nullable");
    assert_eq!(table["row_groups"], 1, "one row group per flush");
    let rows = table["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3);
    let mut rows = rows.clone();
    rows.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(
        rows[0],
        serde_json::json!({"id": 1, "big": 10_000_000_000i64, "name": "one", "ratio": 0.25,
            "at": "2020-07-01 12:00:00.250000+00:00", "day": "2020-07-01", "price": "12.30", "ok": true,
            "small": 1, "r": 0.5})
    );
    assert_eq!(rows[1]["name"], serde_json::Value::Null, "a missing value is NULL");
    assert_eq!(rows[1]["price"], "-0.05");
    assert_eq!(rows[1]["ok"], false);
    assert_eq!(rows[2]["at"], "2021-01-31 23:59:59.999000+00:00");
    assert_eq!(rows[2]["price"], "99999999.99", "decimals exact");
    assert_eq!(rows[2]["ok"], serde_json::Value::Null);
}

#[test]
fn parquet_objects_on_file_buckets_carry_the_in_app_streams_types() {
    let python = match aws_servers::python() {
        Ok(python) => python,
        Err(e) => {
            eprintln!("\n*** SKIPPED: the test venv (pyarrow) is missing: {e}\n");
            return;
        }
    };
    let ws = Workspace::new(&typed_pipeline("file://./bucket", ""));
    ws.write("input.ndjson", TYPED_INPUT);
    run(&ws, None, false);
    let mut files = Vec::new();
    let mut stack = vec![ws.path("bucket")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("bucket").flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(".parquet"), "{files:?}");
    check_typed(&read_parquet(&python, &files[0].to_string_lossy(), None));
}

#[test]
fn parquet_objects_on_s3_read_back_with_pyarrow() {
    let Some(moto) = Server::moto() else { return };
    let Ok(python) = aws_servers::python() else { return };
    moto.python(CREATE_BUCKET, &["typed"]);
    let ws = Workspace::new(&typed_pipeline("s3://typed", "    buffer: {size: 64MiB, interval: 900s}\n"));
    ws.write("input.ndjson", TYPED_INPUT);
    run(&ws, Some(&moto), false);
    let objects = read_back_keys(&moto, "typed");
    assert_eq!(objects.len(), 1, "{objects:?}");
    check_typed(&read_parquet(&python, &format!("s3://typed/{}", objects[0]), Some(&moto)));
}

fn read_back_keys(server: &Server, bucket: &str) -> Vec<String> {
    let text = server.python(
        "import boto3, json, sys\nprint(json.dumps([o['Key'] for o in \
         boto3.client('s3').list_objects_v2(Bucket=sys.argv[1]).get('Contents', [])]))",
        &[bucket],
    );
    serde_json::from_str(text.trim()).expect("keys")
}

#[test]
fn after_retry_duration_records_go_under_the_error_prefix_with_the_reason() {
    // A file where the object prefix's folder must go: every put of an object fails, the error prefix works.
    let ws = Workspace::new(&sql_pipeline(
        "    type: s3\n    bucket: file://./bucket\n    prefix: blocked/\n    \
         error_prefix: \"errors/!{firehose:error-output-type}/\"\n    retry_duration: 2s\n",
    ));
    ws.write("input.ndjson", &records(20));
    std::fs::create_dir_all(ws.path("bucket")).expect("bucket");
    ws.write("bucket/blocked", "");
    let started = Instant::now();
    let output = run(&ws, None, false);
    assert!(started.elapsed() >= Duration::from_secs(2), "retried for the retry duration first");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("put failed; retrying"), "{stderr}");
    let mut documents = Vec::new();
    let mut stack = vec![ws.path("bucket/errors/s3-failed")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("the s3-failed folder").flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                let text = std::fs::read_to_string(entry.path()).expect("read");
                documents.extend(text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON")));
            }
        }
    }
    assert_eq!(documents.len(), 20, "one document per record, none dropped");
    let mut rows: Vec<serde_json::Value> = documents
        .iter()
        .map(|d| {
            assert_eq!(d["lastErrorCode"], "S3.PutObject");
            let reason = d["lastErrorMessage"].as_str().unwrap_or_default();
            assert!(reason.contains("could not write object `blocked/") && reason.contains("for 2s"), "{reason}");
            let raw = base64_decode(d["rawData"].as_str().expect("rawData"));
            serde_json::from_slice(&raw).expect("the raw record is the row")
        })
        .collect();
    rows.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(rows, expected_rows(20).into_values().collect::<Vec<_>>());
}

/// Standard base64, for reading `rawData` back.
fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}
