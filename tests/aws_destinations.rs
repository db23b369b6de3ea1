//! The `firehose`, `lambda` and `http` destinations through the CLI, against real wire protocols: `sluice run`
//! on YAML pipelines (a file producer -> an embedded stream -> a SQL pump -> the destination).
//!
//! - Firehose: moto's server (tests/support/aws_servers.rs), whose delivery stream writes to its S3; the
//!   objects are read back with boto3 and compared record by record.
//! - Lambda: moto's Lambda needs Docker, so the test serves Lambda's Invoke REST call itself
//!   (`POST /2015-03-31/functions/{name}/invocations`, [`FakeServer`]); sluice's real aws-sdk-lambda reaches it
//!   through `endpoint:`. The fake function fails some records, and the test checks each arrives exactly once
//!   as sent, with `retryHint` growing on every retry.
//! - HTTP: the same small server as the endpoint, answering 503, 429, 401 or 200 as each test needs.

#[path = "support/aws_servers.rs"]
mod aws_servers;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use aws_servers::Server;
use base64::Engine as _;
use serde_json::{Value, json};

/// A folder with a pipeline file and its input.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(pipeline: &str, rows: usize) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pipeline.yaml"), pipeline).expect("write pipeline");
        std::fs::write(dir.path().join("input.ndjson"), input(rows)).expect("write input");
        Workspace { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `sluice run` on the pipeline, with `env` set (AWS_* for the local server); returns its output.
    fn run(&self, env: &[(&str, String)]) -> Output {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("run")
            .arg(self.path("pipeline.yaml"))
            .env("RUST_LOG", "warn")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("sluice runs");
        eprintln!("sluice run took {:?}", started.elapsed());
        output
    }

    fn run_ok(&self, env: &[(&str, String)]) -> Output {
        let output = self.run(env);
        assert!(output.status.success(), "sluice run failed:\n{}", shown(&output));
        output
    }
}

fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `rows` input records: `{"n": i, "name": "row-i"}`.
fn input(rows: usize) -> String {
    (0..rows).map(|i| format!("{{\"n\": {i}, \"name\": \"row-{i}\"}}\n")).collect()
}

/// What the pump makes of input row `i`, parsed.
fn expected_row(i: usize) -> Value {
    json!({"n": i, "name": format!("row-{i}"), "doubled": 2 * i})
}

/// A pipeline: input.ndjson -> events -> a SQL pump -> the destination `out`, whose entry is `destination`
/// (YAML lines indented by four spaces).
fn pipeline(destination: &str) -> String {
    format!(
        r#"name: destinations
producers:
  input: {{type: file, stream: events, path: input.ndjson, format: lines}}
streams:
  events: {{type: embedded, shards: 1}}
applications:
  app:
    type: sql
    input:
      stream: events
      columns:
        - {{name: n, type: INTEGER, path: $.n}}
        - {{name: name, type: VARCHAR(16), path: $.name}}
    code: |
      CREATE OR REPLACE STREAM "OUT" ("n" INTEGER, "name" VARCHAR(16), "doubled" INTEGER);
      CREATE OR REPLACE PUMP "P" AS INSERT INTO "OUT"
      SELECT STREAM "n", "name", "n" * 2 FROM "SOURCE_SQL_STREAM_001";
    outputs:
      - {{stream: OUT, destination: out, format: json}}
destinations:
  out:
{destination}"#
    )
}

/// Records delivered, parsed, in `n` order, each once: panics on a duplicate.
fn by_n(records: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut seen = BTreeMap::new();
    for record in records {
        let n = record["n"].as_u64().unwrap_or_else(|| panic!("no n in {record}"));
        assert!(seen.insert(n, record.clone()).is_none(), "record {n} delivered twice: {record}");
    }
    seen.into_values().collect()
}

fn expected(rows: usize) -> Vec<Value> {
    (0..rows).map(expected_row).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Firehose, on moto

const FIREHOSE_SETUP: &str = r#"
import boto3, sys
boto3.client('s3').create_bucket(Bucket='firehose-bucket')
boto3.client('firehose').create_delivery_stream(
    DeliveryStreamName=sys.argv[1],
    DeliveryStreamType='DirectPut',
    ExtendedS3DestinationConfiguration={
        'RoleARN': 'arn:aws:iam::123456789012:role/firehose',
        'BucketARN': 'arn:aws:s3:::firehose-bucket',
        'BufferingHints': {'SizeInMBs': 1, 'IntervalInSeconds': 60},
    },
)
"#;

const FIREHOSE_OBJECTS: &str = r#"
import boto3, json
s3 = boto3.client('s3')
keys = [o['Key'] for o in s3.list_objects_v2(Bucket='firehose-bucket').get('Contents', [])]
print(json.dumps([s3.get_object(Bucket='firehose-bucket', Key=k)['Body'].read().decode() for k in sorted(keys)]))
"#;

#[test]
fn firehose_delivers_every_record_to_the_delivery_streams_bucket() {
    let Some(moto) = Server::moto() else { return };
    moto.python(FIREHOSE_SETUP, &["metrics-delivery-stream"]);
    // Over 500 records: more than one PutRecordBatch (moto writes one object per call).
    let rows = 1_200;
    let ws = Workspace::new(
        &pipeline(&format!(
            "    type: firehose\n    delivery_stream: metrics-delivery-stream\n    region: us-east-1\n    \
             endpoint: {}\n    append_newline: true\n",
            moto.endpoint()
        )),
        rows,
    );
    // Credentials from the environment only; the endpoint from the file.
    let env: Vec<(&str, String)> = moto.env().into_iter().filter(|(k, _)| *k != "AWS_ENDPOINT_URL").collect();
    let output = ws.run_ok(&env);
    let objects: Vec<String> = serde_json::from_str(&moto.python(FIREHOSE_OBJECTS, &[])).expect("a JSON list");
    assert!(objects.len() >= 3, "1,200 records need 3 calls of at most 500: {} objects", objects.len());
    assert!(objects.iter().all(|o| o.lines().count() <= 500), "no call over 500 records");
    let delivered = objects.iter().flat_map(|o| o.lines().map(|l| serde_json::from_str::<Value>(l).expect("JSON")));
    assert_eq!(by_n(delivered), expected(rows), "every record once, as the pump made it");
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(summary.contains("out"), "{summary}");
}

#[test]
fn firehose_to_a_missing_delivery_stream_stops_the_run_naming_it() {
    let Some(moto) = Server::moto() else { return };
    let ws = Workspace::new(
        &pipeline(&format!("    type: firehose\n    delivery_stream: nowhere\n    endpoint: {}\n", moto.endpoint())),
        5,
    );
    let output = ws.run(&moto.env());
    assert!(!output.status.success(), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("firehose destination `out`: PutRecordBatch to `nowhere` failed: ResourceNotFoundException"),
        "{}",
        shown(&output)
    );
}

#[test]
fn firehose_at_an_unreachable_endpoint_gives_up_after_its_retries() {
    let port = aws_servers::free_port();
    let ws = Workspace::new(
        &pipeline(&format!(
            "    type: firehose\n    delivery_stream: s\n    region: us-east-1\n    endpoint: http://127.0.0.1:{port}\n    \
             retry: {{attempts: 3, backoff: 10ms}}\n"
        )),
        3,
    );
    let env = [("AWS_ACCESS_KEY_ID", "testing".to_owned()), ("AWS_SECRET_ACCESS_KEY", "testing".to_owned())];
    let output = ws.run(&env);
    assert!(!output.status.success(), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PutRecordBatch to `s` failed 3 times, giving up"), "{}", shown(&output));
}

// ---------------------------------------------------------------------------------------------------------
// A small HTTP/1.1 server: Lambda's Invoke call and the http destination's endpoint

/// One request the server received.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    /// What the server answered.
    reply: (u16, Vec<(&'static str, String)>, Vec<u8>),
}

/// An answer: status, extra headers, body.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Self {
        Reply { status, headers: vec![("Content-Type", "application/json".into())], body: body.to_string().into() }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 (keep-alive, Content-Length bodies), one thread per connection, answering
/// with `handler`; stopped when dropped.
struct FakeServer {
    port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeServer {
    fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let accept = std::thread::spawn({
            let (stop, requests) = (Arc::clone(&stop), Arc::clone(&requests));
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (handler, requests) = (Arc::clone(&handler), Arc::clone(&requests));
                    std::thread::spawn(move || serve(stream, &*handler, &requests));
                }
            }
        });
        FakeServer { port, stop, accept: Some(accept), requests }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler, requests: &Mutex<Vec<Request>>) {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned());
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut request = Request { method, path, headers, body, reply: (0, Vec::new(), Vec::new()) };
        let reply = handler(&request);
        request.reply = (reply.status, reply.headers.clone(), reply.body.clone());
        requests.lock().expect("lock").push(request);
        let reason = match reply.status {
            200 => "OK",
            401 => "Unauthorized",
            404 => "Not Found",
            429 => "Too Many Requests",
            _ => "Service Unavailable",
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\n", reply.status, reply.body.len());
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(&reply.body)).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Firehose's per-record failures, which moto never returns: its PutRecordBatch call (awsJson1.1) served here

/// A PutRecordBatch that fails (`ServiceUnavailableException`) each record whose `n` is a multiple of 5 the first
/// time it sees it, and takes the rest.
fn fake_firehose(seen: &Mutex<Vec<u64>>, request: &Request) -> Reply {
    assert_eq!(request.headers.get("x-amz-target").map(String::as_str), Some("Firehose_20150804.PutRecordBatch"));
    let call: Value = serde_json::from_slice(&request.body).expect("JSON");
    let mut failed = 0;
    let responses: Vec<Value> = call["Records"]
        .as_array()
        .expect("Records")
        .iter()
        .map(|record| {
            let data =
                base64::engine::general_purpose::STANDARD.decode(record["Data"].as_str().expect("Data")).expect("b64");
            let n = serde_json::from_slice::<Value>(&data).expect("a row")["n"].as_u64().expect("n");
            let mut seen = seen.lock().expect("lock");
            let first = !seen.contains(&n);
            seen.push(n);
            if n.is_multiple_of(5) && first {
                failed += 1;
                json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."})
            } else {
                json!({"RecordId": format!("id-{n}")})
            }
        })
        .collect();
    Reply::json(200, &json!({"FailedPutCount": failed, "Encrypted": false, "RequestResponses": responses}))
}

#[test]
fn firehose_sends_again_only_the_records_putrecordbatch_failed() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = FakeServer::start({
        let seen = Arc::clone(&seen);
        move |request| fake_firehose(&seen, request)
    });
    let rows = 50;
    let ws = Workspace::new(
        &pipeline(&format!(
            "    type: firehose\n    delivery_stream: s\n    region: us-east-1\n    endpoint: {}\n    \
             retry: {{attempts: 3, backoff: 10ms}}\n",
            server.url()
        )),
        rows,
    );
    let env = [("AWS_ACCESS_KEY_ID", "testing".to_owned()), ("AWS_SECRET_ACCESS_KEY", "testing".to_owned())];
    ws.run_ok(&env);
    let mut accepted = Vec::new();
    for request in server.requests() {
        let call: Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_eq!(call["DeliveryStreamName"], "s");
        let answer: Value = serde_json::from_slice(&request.reply.2).expect("JSON");
        let records = call["Records"].as_array().expect("Records");
        let outcomes = records.iter().zip(answer["RequestResponses"].as_array().expect("responses"));
        for (record, response) in outcomes {
            if response.get("ErrorCode").is_none() {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(record["Data"].as_str().expect("Data"))
                    .expect("b64");
                accepted.push(serde_json::from_slice::<Value>(&data).expect("row"));
            }
        }
    }
    assert_eq!(by_n(accepted), expected(rows), "every record taken once, as the pump made it");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), rows + rows / 5, "only the 10 failed records were sent a second time");
}

// ---------------------------------------------------------------------------------------------------------
// Lambda, through its Invoke REST call

const INVOKE_PATH: &str = "/2015-03-31/functions/kda-output/invocations";

/// The fake output function: answers per record, failing (`DeliveryFailed`) a record whose `n` is a multiple of 4
/// until its `retryHint` reaches 2; its second invocation is a function error (`X-Amz-Function-Error`).
fn fake_function(calls: &Mutex<usize>, request: &Request) -> Reply {
    if request.path != INVOKE_PATH {
        return Reply {
            status: 404,
            headers: vec![("x-amzn-ErrorType", "ResourceNotFoundException".into())],
            body: json!({"Type": "User", "message": format!("Function not found: {}", request.path)})
                .to_string()
                .into(),
        };
    }
    let call = {
        let mut calls = calls.lock().expect("lock");
        *calls += 1;
        *calls
    };
    if call == 2 {
        let mut reply = Reply::json(200, &json!({"errorMessage": "boom", "errorType": "Error"}));
        reply.headers.push(("X-Amz-Function-Error", "Unhandled".into()));
        return reply;
    }
    let event: Value = serde_json::from_slice(&request.body).expect("the event is JSON");
    let records: Vec<Value> = event["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let data =
                base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().expect("data")).expect("b64");
            let row: Value = serde_json::from_slice(&data).expect("a JSON row");
            let hint = r["lambdaDeliveryRecordMetadata"]["retryHint"].as_u64().expect("retryHint");
            let fail = row["n"].as_u64().is_some_and(|n| n.is_multiple_of(4)) && hint < 2;
            json!({"recordId": r["recordId"], "result": if fail { "DeliveryFailed" } else { "Ok" }})
        })
        .collect();
    Reply::json(200, &json!({"records": records}))
}

#[test]
fn lambda_gets_kdas_payload_and_failed_records_come_back_with_a_growing_retry_hint() {
    let calls = Arc::new(Mutex::new(0));
    let server = FakeServer::start({
        let calls = Arc::clone(&calls);
        move |request| fake_function(&calls, request)
    });
    let rows = 40;
    let ws = Workspace::new(
        &pipeline(&format!(
            "    type: lambda\n    function: kda-output\n    region: eu-west-1\n    endpoint: {}\n    max_records: 16\n    \
             retry: {{attempts: 6, backoff: 10ms}}\n",
            server.url()
        )),
        rows,
    );
    let env = [("AWS_ACCESS_KEY_ID", "testing".to_owned()), ("AWS_SECRET_ACCESS_KEY", "testing".to_owned())];
    ws.run_ok(&env);
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.method == "POST" && r.path == INVOKE_PATH), "only Invoke calls");
    assert!(
        requests.iter().all(|r| r.headers.get("authorization").is_some_and(|a| a.contains("/eu-west-1/lambda/"))),
        "signed for Lambda in the configured region"
    );
    let mut delivered = Vec::new();
    let mut hints: HashMap<String, Vec<u64>> = HashMap::new();
    let mut invocation_ids = Vec::new();
    let mut function_errors = 0;
    for request in &requests {
        let event: Value = serde_json::from_slice(&request.body).expect("JSON");
        invocation_ids.push(event["invocationId"].as_str().expect("invocationId").to_owned());
        assert_eq!(event["applicationArn"], "arn:aws:kinesisanalytics:eu-west-1:000000000000:application/out");
        let records = event["records"].as_array().expect("records");
        assert!(!records.is_empty() && records.len() <= 16, "max_records: {}", records.len());
        for record in records {
            let id = record["recordId"].as_str().expect("recordId").to_owned();
            hints.entry(id).or_default().push(record["lambdaDeliveryRecordMetadata"]["retryHint"].as_u64().expect("n"));
        }
        let (status, headers, body) = &request.reply;
        assert_eq!(*status, 200);
        if headers.iter().any(|(name, _)| *name == "X-Amz-Function-Error") {
            function_errors += 1;
            continue;
        }
        let answers: Value = serde_json::from_slice(body).expect("JSON");
        for (record, answer) in records.iter().zip(answers["records"].as_array().expect("answers")) {
            assert_eq!(record["recordId"], answer["recordId"]);
            if answer["result"] == "Ok" {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(record["data"].as_str().expect("data"))
                    .expect("b64");
                delivered.push(serde_json::from_slice::<Value>(&data).expect("row"));
            }
        }
    }
    assert_eq!(function_errors, 1, "the function error was retried");
    assert_eq!(by_n(delivered), expected(rows), "every record answered Ok exactly once, as the pump made it");
    invocation_ids.sort();
    invocation_ids.dedup();
    assert_eq!(invocation_ids.len(), requests.len(), "a new invocationId per invocation");
    assert!(
        hints.values().all(|h| h.iter().enumerate().all(|(i, hint)| *hint == i as u64)),
        "a record's retryHint is 0, 1, 2, ... over its invocations: {hints:?}"
    );
    assert!(hints.values().any(|h| h.len() >= 3), "records failed twice were sent three times: {hints:?}");
}

#[test]
fn lambda_with_a_missing_function_stops_the_run_naming_it() {
    let calls = Arc::new(Mutex::new(0));
    let server = FakeServer::start(move |request| fake_function(&calls, request));
    let ws = Workspace::new(
        &pipeline(&format!("    type: lambda\n    function: no-such-function\n    endpoint: {}\n", server.url())),
        3,
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let output = ws.run(&env);
    assert!(!output.status.success(), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("lambda destination `out`: Invoke of `no-such-function` failed: ResourceNotFoundException"),
        "{}",
        shown(&output)
    );
    assert_eq!(server.requests().len(), 1, "a missing function is not retried");
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

#[test]
fn http_posts_json_lines_retrying_503_and_429_with_headers_from_the_environment() {
    let calls = Arc::new(Mutex::new(0));
    let server = FakeServer::start({
        let calls = Arc::clone(&calls);
        move |_| {
            let mut calls = calls.lock().expect("lock");
            *calls += 1;
            match *calls {
                1 => Reply { status: 503, headers: vec![], body: b"warming up".to_vec() },
                2 => Reply { status: 429, headers: vec![("Retry-After", "0".into())], body: vec![] },
                _ => Reply { status: 200, headers: vec![], body: vec![] },
            }
        }
    });
    let rows = 30;
    let ws = Workspace::new(
        &pipeline(&format!(
            "    type: http\n    url: {}/v1/events\n    max_records: 7\n    retry: {{attempts: 4, backoff: 10ms}}\n    \
             headers:\n      Authorization: Bearer ${{COLLECTOR_TOKEN}}\n      X-Team: data\n",
            server.url()
        )),
        rows,
    );
    ws.run_ok(&[("COLLECTOR_TOKEN", "s3cr3t".to_owned())]);
    let requests = server.requests();
    let mut delivered = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/events"));
        assert_eq!(request.headers.get("content-type").map(String::as_str), Some("application/x-ndjson"));
        assert_eq!(request.headers.get("authorization").map(String::as_str), Some("Bearer s3cr3t"));
        assert_eq!(request.headers.get("x-team").map(String::as_str), Some("data"));
        let text = String::from_utf8(request.body.clone()).expect("UTF-8");
        assert!(text.ends_with('\n'), "every line ends in a newline");
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
        assert!(!lines.is_empty() && lines.len() <= 7, "max_records: {}", lines.len());
        if i >= 2 {
            delivered.extend(lines);
        }
    }
    assert_eq!(requests[0].body, requests[1].body, "the refused request went again unchanged");
    assert_eq!(requests[1].body, requests[2].body);
    assert_eq!(by_n(delivered), expected(rows), "every record once, in order, as the pump made it");
}

#[test]
fn http_401_stops_the_run_and_the_next_run_delivers_what_was_refused() {
    let refuse = Arc::new(AtomicBool::new(true));
    let server = FakeServer::start({
        let refuse = Arc::clone(&refuse);
        move |_| {
            if refuse.load(Ordering::SeqCst) {
                Reply::json(401, &json!({"error": "bad token"}))
            } else {
                Reply { status: 200, headers: vec![], body: vec![] }
            }
        }
    });
    let rows = 12;
    let ws = Workspace::new(&pipeline(&format!("    type: http\n    url: {}/ingest\n", server.url())), rows);
    let output = ws.run(&[]);
    assert!(!output.status.success(), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "http destination `out`: POST {}/ingest failed: the endpoint answered 401 Unauthorized: {{\"error\":\"bad token\"}}",
            server.url()
        )),
        "{}",
        shown(&output)
    );
    assert!(stderr.contains("the next run sends them again"), "{}", shown(&output));
    assert_eq!(server.requests().len(), 1, "a 401 is not retried");
    refuse.store(false, Ordering::SeqCst);
    ws.run_ok(&[]);
    let delivered = server.requests()[1..]
        .iter()
        .flat_map(|r| {
            String::from_utf8_lossy(&r.body)
                .lines()
                .map(|l| serde_json::from_str(l).expect("JSON"))
                .collect::<Vec<Value>>()
        })
        .collect::<Vec<_>>();
    assert_eq!(by_n(delivered), expected(rows), "nothing lost: the refused records came with the next run");
}

#[test]
fn http_at_an_unreachable_endpoint_gives_up_after_its_retries() {
    let port = aws_servers::free_port();
    let ws = Workspace::new(
        &pipeline(&format!(
            "    type: http\n    url: http://127.0.0.1:{port}/x\n    retry: {{attempts: 3, backoff: 10ms}}\n"
        )),
        3,
    );
    let output = ws.run(&[]);
    assert!(!output.status.success(), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("http destination `out`: POST http://127.0.0.1:{port}/x failed 3 times, giving up")),
        "{}",
        shown(&output)
    );
}

#[test]
fn http_redirects_are_not_followed_so_a_post_never_turns_into_a_get() {
    let server = FakeServer::start(|request| {
        if request.method == "POST" {
            Reply { status: 307, headers: vec![("Location", "/elsewhere".into())], body: vec![] }
        } else {
            Reply { status: 200, headers: vec![], body: vec![] }
        }
    });
    let ws = Workspace::new(&pipeline(&format!("    type: http\n    url: {}/ingest\n", server.url())), 2);
    let output = ws.run(&[]);
    assert!(!output.status.success(), "{}", shown(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("the endpoint answered 307 Temporary Redirect"),
        "{}",
        shown(&output)
    );
    assert_eq!(server.requests().len(), 1, "one POST, no redirected request");
}
