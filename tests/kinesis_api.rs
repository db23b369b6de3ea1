//! `sluice run --kinesis-api` as producers and consumers meet it: boto3 (from `target/ci-venv`, installed from
//! `tests/support/requirements.txt` on first use), raw HTTP requests in JSON and CBOR, and the pipeline's bucket at the other end.
//!
//! Every test starts its own `sluice run` on 127.0.0.1 with port 0 (the OS picks a free one; the test reads it
//! from the "listening on" log line), bounded by `--duration`, and stops it at the end, also when it fails.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/aws_servers.rs"]
mod aws_servers;

/// The venv's python, with boto3 in it (`tests/support/requirements.txt`, installed on first use).
fn python() -> PathBuf {
    aws_servers::python().unwrap_or_else(|e| {
        panic!("these tests need boto3 in target/ci-venv, made with python3 and pip from PyPI (network access): {e}")
    })
}

/// Runs a Python script with boto3 against `endpoint`; returns the JSON it writes to the file named by its last
/// argument.
fn run_python(dir: &Path, script: &str, args: &[&str]) -> Value {
    let path = dir.join("client.py");
    std::fs::write(&path, script).expect("write the script");
    let result = dir.join("result.json");
    let output = Command::new(python())
        .arg(&path)
        .args(args)
        .arg(&result)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "the boto3 client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(&result).expect("the client wrote its result")).expect("JSON")
}

// ---------------------------------------------------------------------------------------------------------
// A `sluice run` serving the Kinesis API.

/// A running `sluice run --kinesis-api 127.0.0.1:0`, killed when dropped (a failing assertion included).
struct Sluice {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Sluice {
    /// Starts `pipeline.yaml` of `dir` for at most `duration`, with the API on a free port of 127.0.0.1.
    fn start(dir: &Path, duration: &str, env: &[(&str, &str)]) -> Sluice {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .args(["run", "--kinesis-api", "127.0.0.1:0", "--duration", duration])
            .arg(dir.join("pipeline.yaml"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start sluice");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (port_sender, port) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr is piped");
        let collected = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                collected.lock().expect("stderr lock").push_str(&format!("{line}\n"));
                if let Some(at) = line.find("listening on http://127.0.0.1:") {
                    let digits: String = line[at + 30..].chars().take_while(char::is_ascii_digit).collect();
                    let _ = port_sender.send(digits.parse::<u16>().ok());
                }
            }
            let _ = port_sender.send(None); // Ended without saying where it listens.
        });
        let mut sluice = Sluice { child, port: 0, stderr, reader: Some(reader) };
        match port.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(port)) => sluice.port = port,
            _ => panic!("sluice did not say where it listens:\n{}", sluice.stderr()),
        }
        sluice
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops it as Ctrl-C would (drain, flush, checkpoint) and waits; returns its exit status and its stderr.
    fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.wait(Duration::from_secs(60))
    }

    /// Waits for it to end by itself (within `limit`).
    fn wait(&mut self, limit: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return (status, self.stderr());
            }
            assert!(Instant::now() < deadline, "sluice did not stop within {limit:?}:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one raw request and reads the answer.
    fn request(&self, target: Option<&str>, content_type: &str, body: &[u8]) -> Reply {
        let mut headers = vec![("Content-Type", content_type.to_owned())];
        if let Some(target) = target {
            headers.push(("X-Amz-Target", target.to_owned()));
        }
        raw_request(self.port, "POST", &headers, body)
    }

    /// A JSON request to `Kinesis_20131202.<operation>`.
    fn call(&self, operation: &str, body: &Value) -> Reply {
        let target = format!("Kinesis_20131202.{operation}");
        self.request(Some(&target), "application/x-amz-json-1.1", body.to_string().as_bytes())
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Asserts an AWS error: status, `__type` (also in `x-amzn-ErrorType`), and returns the message.
    fn error(&self, status: u16, kind: &str) -> String {
        let body = self.json();
        assert_eq!((self.status, body["__type"].as_str()), (status, Some(kind)), "{body}");
        assert_eq!(self.headers.get("x-amzn-errortype").map(String::as_str), Some(kind));
        body["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
fn raw_request(port: u16, method: &str, headers: &[(&str, String)], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut head = format!("{method} / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-length")) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send the head");
    let _ = stream.write_all(body); // The server may answer (and close) before reading a refused body.
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete HTTP response");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Reply { status, headers, body: response[split + 4..].to_vec() }
}

// ---------------------------------------------------------------------------------------------------------
// Pipelines and buckets.

/// A folder with `pipeline.yaml`.
fn workspace(pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline).expect("write the pipeline");
    dir
}

/// A stream that only the API writes, delivered straight to a `file://` bucket.
fn stream_to_bucket(shards: u32, fsync: &str) -> String {
    format!(
        "name: api\nstreams:\n  events: {{type: embedded, shards: {shards}, {fsync}}}\n\
         destinations:\n  bucket:\n    type: s3\n    source: events\n    bucket: file://./bucket\n    \
         buffer: {{size: 64MiB, interval: 900s}}\n"
    )
}

/// The bytes of every object of a bucket folder, in key order, concatenated.
fn bucket_bytes(dir: &Path) -> Vec<u8> {
    fn collect(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).expect("read an object"));
            }
        }
    }
    let mut objects = BTreeMap::new();
    collect(dir, &mut objects);
    objects.into_values().flatten().collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

fn hex_list(value: &Value) -> Vec<Vec<u8>> {
    value.as_array().expect("a list").iter().map(|v| unhex(v.as_str().expect("hex text"))).collect()
}

// ---------------------------------------------------------------------------------------------------------
// boto3 end to end.

/// The tutorial's producer (its `generate_metrics` and `put_record` loop, with a seeded generator and a fixed
/// clock), a `put_records` batch, then every way of reading back with `get_records`.
const TUTORIAL_CLIENT: &str = r#"
import datetime, json, random, sys, time
import boto3
from botocore.config import Config

endpoint, stream, loops, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
kinesis = boto3.client('kinesis', endpoint_url=endpoint, config=Config(retries={'max_attempts': 0}))
random.seed(7)
start = datetime.datetime(2020, 7, 1, 12, 0, 0)

def generate_metrics(i):
    num_requests = random.randint(1, 100)
    num_new_users = random.randint(0, 10)
    num_new_orders = random.randint(0, 5)
    num_churn_users = random.randint(0, 3)
    data = {}
    data['timestamp'] = (start + datetime.timedelta(seconds=10 * i)).isoformat(timespec='milliseconds')
    data['requests_newUsers_newOrders_churnUsers'] = f"{num_requests},{num_new_users},{num_new_orders},{num_churn_users}"
    return data

sent, placed = [], []
for i in range(loops):
    data = json.dumps(generate_metrics(i))
    r = kinesis.put_record(StreamName=stream, Data=data, PartitionKey="partitionkey")
    sent.append(data.encode())
    placed.append([r['ShardId'], r['SequenceNumber']])

batch = [json.dumps(generate_metrics(loops + i)).encode() for i in range(25)]
r = kinesis.put_records(StreamName=stream, Records=[{'Data': d, 'PartitionKey': f'key-{i}'} for i, d in enumerate(batch)])
assert r['FailedRecordCount'] == 0, r
sent += batch
placed += [[e['ShardId'], e['SequenceNumber']] for e in r['Records']]

def read(shard, **where):
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, **where)['ShardIterator']
    records, pages, behind = [], 0, []
    while True:
        r = kinesis.get_records(ShardIterator=it, Limit=7)
        records += r['Records']
        behind.append(r['MillisBehindLatest'])
        pages += 1
        it = r['NextShardIterator']
        if not r['Records']:
            return records, pages, behind, it

shards = [s['ShardId'] for s in kinesis.list_shards(StreamName=stream)['Shards']]
described = kinesis.describe_stream(StreamName=stream)['StreamDescription']
everything, pages, behind, tail = read(shards[0], ShardIteratorType='TRIM_HORIZON')
at, _, _, _ = read(shards[0], ShardIteratorType='AT_SEQUENCE_NUMBER', StartingSequenceNumber=placed[3][1])
after, _, _, _ = read(shards[0], ShardIteratorType='AFTER_SEQUENCE_NUMBER', StartingSequenceNumber=placed[3][1])
stamp = everything[2]['ApproximateArrivalTimestamp']
at_time, _, _, _ = read(shards[0], ShardIteratorType='AT_TIMESTAMP', Timestamp=stamp)
latest = kinesis.get_shard_iterator(StreamName=stream, ShardId=shards[0], ShardIteratorType='LATEST')['ShardIterator']
empty = kinesis.get_records(ShardIterator=latest)
late = b'{"late": "\xc3\xbc \\u65e5\\"quoted\\""}'
r = kinesis.put_record(StreamName=stream, Data=late, PartitionKey="partitionkey")
sent.append(late)
placed.append([r['ShardId'], r['SequenceNumber']])
after_latest = kinesis.get_records(ShardIterator=empty['NextShardIterator'])
from_tail = kinesis.get_records(ShardIterator=tail)

json.dump({
    'shards': shards,
    'described': [described['StreamStatus'], described['HasMoreShards'], described['RetentionPeriodHours'],
                  [s['HashKeyRange']['EndingHashKey'] for s in described['Shards']]],
    'streams': kinesis.list_streams()['StreamNames'],
    'sent': [d.hex() for d in sent],
    'placed': placed,
    'got': [[x['SequenceNumber'], x['Data'].hex(), x['PartitionKey']] for x in everything],
    'pages': pages,
    'behind': behind,
    'at': [x['SequenceNumber'] for x in at][:1],
    'after': [x['SequenceNumber'] for x in after][:1],
    'at_time': [x['Data'].hex() for x in at_time][:1],
    'latest_empty': len(empty['Records']),
    'after_latest': [x['Data'].hex() for x in after_latest['Records']],
    'from_tail': [x['Data'].hex() for x in from_tail['Records']],
}, open(out, 'w'))
"#;

#[test]
fn boto3_puts_come_out_of_the_bucket_byte_exact_and_get_records_reads_them_back() {
    let dir = workspace(&stream_to_bucket(1, "fsync: interval, fsync_interval: 50ms"));
    let sluice = Sluice::start(dir.path(), "120s", &[]);
    let result = run_python(dir.path(), TUTORIAL_CLIENT, &[&sluice.endpoint(), "events", "10"]);

    let sent = hex_list(&result["sent"]);
    assert_eq!(sent.len(), 10 + 25 + 1);
    let placed: Vec<(String, u64)> = result["placed"]
        .as_array()
        .expect("placed")
        .iter()
        .map(|p| (p[0].as_str().expect("shard").to_owned(), p[1].as_str().expect("seq").parse().expect("a number")))
        .collect();
    assert!(placed.iter().all(|(shard, _)| shard == "shardId-000000000000"));
    assert_eq!(result["shards"], json!(["shardId-000000000000"]));
    assert_eq!(result["described"], json!(["ACTIVE", false, 24, [u128::MAX.to_string()]]));
    assert_eq!(result["streams"], json!(["events"]));
    let seqs: Vec<u64> = placed.iter().map(|(_, seq)| *seq).collect();
    assert_eq!(seqs, (1..=36).collect::<Vec<_>>(), "sequence numbers increase in put order");

    // get_records returns every record put before it, byte-exact, in pages of 7, with their partition keys.
    let got = result["got"].as_array().expect("got");
    assert_eq!(got.len(), 35);
    for (i, record) in got.iter().enumerate() {
        assert_eq!(record[0].as_str(), Some(format!("{}", i + 1).as_str()));
        assert_eq!(unhex(record[1].as_str().expect("data")), sent[i], "record {i}");
        let key = if i < 10 { "partitionkey".to_owned() } else { format!("key-{}", i - 10) };
        assert_eq!(record[2].as_str(), Some(key.as_str()));
    }
    assert_eq!(result["pages"], json!(6), "5 pages of 7, then an empty one");
    let behind: Vec<i64> = result["behind"].as_array().expect("behind").iter().filter_map(Value::as_i64).collect();
    assert!(behind[0] > 0 && *behind.last().expect("pages") == 0, "MillisBehindLatest {behind:?}");
    assert_eq!((result["at"].clone(), result["after"].clone()), (json!(["4"]), json!(["5"])));
    assert_eq!(hex_list(&result["at_time"]), [sent[2].clone()], "AT_TIMESTAMP of record 2's arrival");
    assert_eq!(result["latest_empty"], json!(0));
    assert_eq!(hex_list(&result["after_latest"]), [sent[35].clone()], "LATEST sees only what came after");
    assert_eq!(hex_list(&result["from_tail"]), [sent[35].clone()], "an iterator at the end goes on from there");

    let (status, stderr) = sluice.stop();
    assert!(status.success(), "a clean stop: {stderr}");
    let mut expected = Vec::new();
    for record in &sent {
        expected.extend_from_slice(record);
        expected.push(b'\n');
    }
    assert_eq!(String::from_utf8_lossy(&bucket_bytes(&dir.path().join("bucket"))), String::from_utf8_lossy(&expected));
    assert!(
        stderr.contains("kinesis-api 127.0.0.1:") && stderr.contains("36 records"),
        "the summary counts the API:\n{stderr}"
    );
}

/// The seed pipeline without its producer: the tutorial's SQL between the stream and the bucket.
fn seed_pipeline(producer: &str) -> String {
    let seed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/site-metrics.yaml"))
        .expect("the seed pipeline");
    let start = seed.find("producers:").expect("a producers section");
    let end = seed.find("streams:").expect("a streams section");
    let tests = seed.find("tests:").unwrap_or(seed.len());
    let body = &seed[end..tests];
    // Syncs every 50 ms rather than every second: each `put_record` waits for the sync that covers it.
    let body = body
        .replace("file://./data/site-metrics-bucket", "file://./bucket")
        .replace("    retention: 24h\n", "    retention: 24h\n    fsync_interval: 50ms\n");
    format!("{}{producer}{body}", &seed[..start])
}

#[test]
fn the_tutorials_sql_application_turns_boto3_records_into_what_a_producer_gets() {
    let sql = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/site-metrics.sql")).expect("sql");
    let api_dir = workspace(&seed_pipeline(""));
    std::fs::write(api_dir.path().join("site-metrics.sql"), &sql).expect("copy the SQL");
    let sluice = Sluice::start(api_dir.path(), "120s", &[]);
    let result = run_python(api_dir.path(), TUTORIAL_CLIENT, &[&sluice.endpoint(), "metrics_stream", "20"]);
    let (status, stderr) = sluice.stop();
    assert!(status.success(), "{stderr}");
    let through_api = bucket_bytes(&api_dir.path().join("bucket"));

    // The same records through a `file` producer: the bucket must hold exactly the same bytes.
    let producer = "producers:\n  tutorial:\n    type: file\n    stream: metrics_stream\n    path: input.ndjson\n    format: lines\n\n";
    let file_dir = workspace(&seed_pipeline(producer));
    std::fs::write(file_dir.path().join("site-metrics.sql"), &sql).expect("copy the SQL");
    let mut input = Vec::new();
    for record in hex_list(&result["sent"]) {
        input.extend_from_slice(&record);
        input.push(b'\n');
    }
    std::fs::write(file_dir.path().join("input.ndjson"), input).expect("write the input");
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(file_dir.path().join("pipeline.yaml"))
        .args(["--quiet", "--duration", "60s"])
        .output()
        .expect("sluice runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let through_producer = bucket_bytes(&file_dir.path().join("bucket"));

    let text = String::from_utf8_lossy(&through_api);
    assert!(text.lines().count() >= 20 + 25, "a row per metrics record:\n{text}");
    assert!(text.starts_with("{\"timestamp\":\"2020-07-01 12:00:00\",\"requests\":"), "{text}");
    assert_eq!(text, String::from_utf8_lossy(&through_producer));
}

// ---------------------------------------------------------------------------------------------------------
// Auth, throttling, and running without producers.

const AUTH_CLIENT: &str = r#"
import json, sys
import boto3
from botocore.config import Config

endpoint, out = sys.argv[1], sys.argv[2]
def call(key, secret, **put):
    client = boto3.client('kinesis', endpoint_url=endpoint, region_name='eu-west-1', aws_access_key_id=key,
                          aws_secret_access_key=secret, config=Config(retries={'max_attempts': 0}))
    try:
        if 'Records' in put:
            r = client.put_records(StreamName='events', **put)
            return [e.get('ErrorCode', 'OK') for e in r['Records']]
        r = client.put_record(StreamName='events', Data=b'x', PartitionKey='k')
        return 'OK ' + r['SequenceNumber']
    except client.exceptions.ClientError as e:
        return e.response['Error']['Code']

json.dump({
    'signed': call('ci', 'the-secret'),
    'wrong_secret': call('ci', 'not-the-secret'),
    'id_only': call('local', 'anything'),
    'stranger': call('stranger', 'x'),
    'batch': call('ci', 'the-secret', Records=[{'Data': b'y', 'PartitionKey': 'k'}] * 2),
    'arn': boto3.client('kinesis', endpoint_url=endpoint, region_name='eu-west-1', aws_access_key_id='ci',
                        aws_secret_access_key='the-secret').describe_stream_summary(StreamName='events')
                        ['StreamDescriptionSummary']['StreamARN'],
}, open(out, 'w'))
"#;

#[test]
fn signatures_are_verified_and_access_keys_checked() {
    let pipeline = format!(
        "{}serve:\n  kinesis_api:\n    auth:\n      access_keys:\n        - {{access_key_id: local}}\n        \
         - {{access_key_id: ci, secret_access_key: \"${{KINESIS_SECRET}}\"}}\n",
        stream_to_bucket(1, "fsync: always")
    );
    let dir = workspace(&pipeline);
    let sluice = Sluice::start(dir.path(), "120s", &[("KINESIS_SECRET", "the-secret")]);
    assert!(sluice.stderr().contains("signatures verified"), "{}", sluice.stderr());
    let result = run_python(dir.path(), AUTH_CLIENT, &[&sluice.endpoint()]);
    assert_eq!(result["signed"], json!("OK 1"));
    assert_eq!(result["wrong_secret"], json!("InvalidSignatureException"));
    assert_eq!(result["id_only"], json!("OK 2"), "a key listed without its secret: only the id is checked");
    assert_eq!(result["stranger"], json!("UnrecognizedClientException"));
    assert_eq!(result["batch"], json!(["OK", "OK"]));
    assert_eq!(result["arn"], json!("arn:aws:kinesis:eu-west-1:000000000000:stream/events"));
    let unsigned = sluice.call("ListStreams", &json!({}));
    unsigned.error(400, "MissingAuthenticationTokenException");
}

#[test]
fn a_shard_limit_throttles_records_one_by_one_as_kinesis_does() {
    let pipeline = format!(
        "{}serve:\n  kinesis_api:\n    shard_limits: {{records_per_second: 2}}\n",
        stream_to_bucket(1, "fsync: never")
    );
    let dir = workspace(&pipeline);
    let sluice = Sluice::start(dir.path(), "120s", &[]);
    // One request is judged at one instant: 2 records go through, the other 3 are refused in their entries.
    let records: Vec<Value> =
        (0..5).map(|i| json!({"Data": base64_of(format!("r{i}").as_bytes()), "PartitionKey": "k"})).collect();
    let reply = sluice.call("PutRecords", &json!({"StreamName": "events", "Records": records}));
    let answer = reply.json();
    assert_eq!((reply.status, &answer["FailedRecordCount"]), (200, &json!(3)), "{answer}");
    let codes: Vec<&str> = answer["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["ErrorCode"].as_str().or(r["SequenceNumber"].as_str()).unwrap_or_default())
        .collect();
    let throttled = "ProvisionedThroughputExceededException";
    assert_eq!(codes, ["1", "2", throttled, throttled, throttled]);
    assert_eq!(
        answer["Records"][2]["ErrorMessage"],
        json!("Rate exceeded for shard shardId-000000000000 in stream events under account 000000000000.")
    );
    // The bucket refills at 2 records a second: a put right after is refused whole.
    let one = sluice.call("PutRecord", &json!({"StreamName": "events", "Data": "eA==", "PartitionKey": "k"}));
    one.error(400, throttled);
    assert_eq!(stored(&sluice), ["cjA=", "cjE="], "only the admitted records were written");
}

#[test]
fn without_producers_the_run_goes_on_until_its_duration_and_the_api_counts_as_a_writer() {
    // A producer that is done at once: before the API, its stream closed then and the run ended.
    let pipeline = format!(
        "{}producers:\n  one:\n    type: datagen\n    stream: events\n    rate: 100\n    count: 1\n    record: {{n: \"{{{{seq}}}}\"}}\n",
        stream_to_bucket(1, "fsync: never")
    );
    let dir = workspace(&pipeline);
    let mut sluice = Sluice::start(dir.path(), "4s", &[]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(sluice.is_running(), "the producer is done, but the API still writes:\n{}", sluice.stderr());
    let put =
        sluice.call("PutRecord", &json!({"StreamName": "events", "Data": "eyJuIjoiYXBpIn0=", "PartitionKey": "k"}));
    assert_eq!((put.status, put.json()["SequenceNumber"].as_str()), (200, Some("2")));
    let (status, stderr) = sluice.wait(Duration::from_secs(60));
    assert!(status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&bucket_bytes(&dir.path().join("bucket"))), "{\"n\":1}\n{\"n\":\"api\"}\n");
}

// ---------------------------------------------------------------------------------------------------------
// The AWS SDK for Rust, signing with a secret the server verifies.

#[test]
fn the_rust_sdk_puts_and_reads_records_with_verified_signatures() {
    use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_kinesis::error::ProvideErrorMetadata;
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};

    let pipeline = format!(
        "{}serve:\n  kinesis_api:\n    auth:\n      access_keys:\n        \
         - {{access_key_id: rust, secret_access_key: \"${{KINESIS_SECRET}}\"}}\n",
        stream_to_bucket(2, "fsync: always")
    );
    let dir = workspace(&pipeline);
    let sluice = Sluice::start(dir.path(), "120s", &[("KINESIS_SECRET", "rust-secret")]);
    let client = |secret: &str| {
        let config = aws_sdk_kinesis::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-central-1"))
            .endpoint_url(sluice.endpoint())
            .credentials_provider(Credentials::new("rust", secret, None, None, "test"))
            .build();
        aws_sdk_kinesis::Client::from_conf(config)
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let kinesis = client("rust-secret");
        let put = kinesis
            .put_record()
            .stream_name("events")
            .data(Blob::new(b"\x00from rust\xff".to_vec()))
            .partition_key("partition-key-1")
            .send()
            .await
            .expect("put_record");
        assert_eq!((put.shard_id(), put.sequence_number()), ("shardId-000000000000", "1"));
        let entries: Vec<PutRecordsRequestEntry> = (0..10)
            .map(|i| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(format!("record {i}")))
                    .partition_key(format!("key-{i}"))
                    .build()
                    .expect("an entry")
            })
            .collect();
        let batch =
            kinesis.put_records().stream_name("events").set_records(Some(entries)).send().await.expect("put_records");
        assert_eq!(batch.failed_record_count(), Some(0));
        let summary = kinesis.describe_stream_summary().stream_name("events").send().await.expect("summary");
        let summary = summary.stream_description_summary().expect("a summary");
        assert_eq!(
            (summary.open_shard_count(), summary.stream_arn()),
            (2, "arn:aws:kinesis:eu-central-1:000000000000:stream/events")
        );
        let shards = kinesis.list_shards().stream_name("events").send().await.expect("list_shards");
        let mut read = Vec::new();
        for shard in shards.shards() {
            let iterator = kinesis
                .get_shard_iterator()
                .stream_name("events")
                .shard_id(shard.shard_id())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("get_shard_iterator");
            let records = kinesis
                .get_records()
                .shard_iterator(iterator.shard_iterator().expect("an iterator"))
                .send()
                .await
                .expect("get_records");
            assert_eq!(records.millis_behind_latest(), Some(0));
            assert!(records.next_shard_iterator().is_some());
            read.extend(records.records().iter().map(|r| r.data().as_ref().to_vec()));
        }
        assert_eq!(read.len(), 11);
        assert!(read.contains(&b"\x00from rust\xff".to_vec()) && read.contains(&b"record 9".to_vec()));

        let missing = kinesis.describe_stream().stream_name("nope").send().await.expect_err("no such stream");
        assert_eq!(missing.as_service_error().and_then(|e| e.code()), Some("ResourceNotFoundException"));
        let forged = client("not-the-secret").list_streams().send().await.expect_err("a wrong secret");
        assert_eq!(forged.as_service_error().and_then(|e| e.code()), Some("InvalidSignatureException"));
    });
}

// ---------------------------------------------------------------------------------------------------------
// CBOR, as the Java SDKs send it.

fn cbor(value: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("encode CBOR");
    out
}

fn cbor_map(entries: &[(&str, ciborium::Value)]) -> ciborium::Value {
    ciborium::Value::Map(entries.iter().map(|(k, v)| (ciborium::Value::Text((*k).to_owned()), v.clone())).collect())
}

fn cbor_get<'a>(map: &'a ciborium::Value, key: &str) -> &'a ciborium::Value {
    map.as_map()
        .and_then(|entries| entries.iter().find(|(k, _)| k.as_text() == Some(key)))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key} in {map:?}"))
}

#[test]
fn cbor_requests_get_cbor_answers_with_byte_strings_and_millisecond_timestamps() {
    let dir = workspace(&stream_to_bucket(2, "fsync: always"));
    let sluice = Sluice::start(dir.path(), "120s", &[]);
    let send = |operation: &str, body: ciborium::Value| {
        let target = format!("Kinesis_20131202.{operation}");
        let reply = sluice.request(Some(&target), "application/x-amz-cbor-1.1", &cbor(&body));
        assert_eq!(reply.headers.get("content-type").map(String::as_str), Some("application/x-amz-cbor-1.1"));
        let value: ciborium::Value = ciborium::from_reader(&reply.body[..]).expect("a CBOR answer");
        (reply.status, value)
    };
    let data = vec![0, 159, 146, 150, b'\n', 255];
    let before_ms = chrono_now_ms();
    let (status, put) = send(
        "PutRecord",
        cbor_map(&[
            ("StreamName", ciborium::Value::Text("events".into())),
            ("Data", ciborium::Value::Bytes(data.clone())),
            ("PartitionKey", ciborium::Value::Text("partition-key-1".into())),
        ]),
    );
    assert_eq!(status, 200, "{put:?}");
    // MD5("partition-key-1") lies in the lower half of the hash-key space (see core's hash vectors).
    assert_eq!(cbor_get(&put, "ShardId").as_text(), Some("shardId-000000000000"));
    let (_, iterator) = send(
        "GetShardIterator",
        cbor_map(&[
            ("StreamName", ciborium::Value::Text("events".into())),
            ("ShardId", ciborium::Value::Text("shardId-000000000000".into())),
            ("ShardIteratorType", ciborium::Value::Text("AT_TIMESTAMP".into())),
            // The Java SDK's form: tag 1 around epoch milliseconds.
            ("Timestamp", ciborium::Value::Tag(1, Box::new(ciborium::Value::Integer(before_ms.into())))),
        ]),
    );
    let iterator = cbor_get(&iterator, "ShardIterator").clone();
    let (status, got) = send("GetRecords", cbor_map(&[("ShardIterator", iterator)]));
    assert_eq!(status, 200, "{got:?}");
    let records = cbor_get(&got, "Records").as_array().expect("records").clone();
    assert_eq!(records.len(), 1);
    assert_eq!(cbor_get(&records[0], "Data").as_bytes(), Some(&data));
    let ciborium::Value::Tag(1, arrival) = cbor_get(&records[0], "ApproximateArrivalTimestamp") else {
        panic!("a tagged timestamp: {records:?}");
    };
    let arrival: i128 = arrival.as_integer().expect("integer milliseconds").into();
    assert!((before_ms as i128..before_ms as i128 + 60_000).contains(&arrival), "{arrival} ms vs {before_ms}");

    let (status, error) = send("PutRecord", cbor_map(&[("StreamName", ciborium::Value::Text("events".into()))]));
    assert_eq!(status, 400);
    assert_eq!(cbor_get(&error, "__type").as_text(), Some("ValidationException"));
    let garbage = sluice.request(Some("Kinesis_20131202.PutRecord"), "application/x-amz-cbor-1.1", &[0xff, 0x00]);
    assert_eq!(garbage.status, 400);
}

fn chrono_now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    since.as_millis() as i64
}

// ---------------------------------------------------------------------------------------------------------
// Malformed requests: the right AWS error each, and the server goes on.

/// A server on a one-shard stream, for one malformed request; checks it still answers afterwards.
fn malformed(check: impl FnOnce(&Sluice)) {
    let dir = workspace(&stream_to_bucket(1, "fsync: never"));
    let mut sluice = Sluice::start(dir.path(), "120s", &[]);
    check(&sluice);
    let alive = sluice.call("ListStreams", &json!({}));
    assert_eq!((alive.status, alive.json()["StreamNames"].clone()), (200, json!(["events"])));
    assert!(sluice.is_running(), "{}", sluice.stderr());
}

/// Every record of shard 0, from the oldest, as data.
fn stored(sluice: &Sluice) -> Vec<String> {
    let iterator = sluice.call(
        "GetShardIterator",
        &json!({"StreamName": "events", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let records = sluice.call("GetRecords", &json!({"ShardIterator": iterator.json()["ShardIterator"]}));
    records.json()["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["Data"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn bad_json_is_a_serialization_exception() {
    malformed(|sluice| {
        let reply =
            sluice.request(Some("Kinesis_20131202.PutRecord"), "application/x-amz-json-1.1", b"{\"StreamName\":");
        reply.error(400, "SerializationException");
        let wrong_type = sluice.call("PutRecord", &json!({"StreamName": 5, "Data": "eA==", "PartitionKey": "k"}));
        wrong_type.error(400, "SerializationException");
        let not_base64 = sluice.call("PutRecord", &json!({"StreamName": "events", "Data": "%%%", "PartitionKey": "k"}));
        assert!(not_base64.error(400, "SerializationException").contains("can not be converted to a Blob"));
    });
}

#[test]
fn a_missing_target_is_an_unknown_operation() {
    malformed(|sluice| {
        let reply = sluice.request(None, "application/x-amz-json-1.1", b"{}");
        assert!(reply.error(400, "UnknownOperationException").contains("X-Amz-Target"));
    });
}

#[test]
fn another_services_target_is_an_unknown_operation() {
    malformed(|sluice| {
        let reply = sluice.request(Some("DynamoDB_20120810.PutItem"), "application/x-amz-json-1.1", b"{}");
        reply.error(400, "UnknownOperationException");
    });
}

#[test]
fn an_unsupported_operation_is_an_unknown_operation() {
    malformed(|sluice| {
        let reply = sluice.call("DeleteStream", &json!({"StreamName": "events"}));
        assert!(reply.error(400, "UnknownOperationException").contains("DeleteStream"));
        let get = raw_request(sluice.port, "GET", &[], b"");
        get.error(403, "AccessDeniedException");
    });
}

#[test]
fn missing_required_fields_are_validation_exceptions() {
    malformed(|sluice| {
        let reply = sluice.call("PutRecord", &json!({"StreamName": "events"}));
        assert_eq!(
            reply.error(400, "ValidationException"),
            "2 validation errors detected: Value null at 'data' failed to satisfy constraint: Member must not be \
             null; Value null at 'partitionKey' failed to satisfy constraint: Member must not be null"
        );
        let iterator = sluice.call("GetShardIterator", &json!({"StreamName": "events"}));
        assert!(iterator.error(400, "ValidationException").starts_with("2 validation errors detected"));
        let nameless = sluice.call("PutRecords", &json!({"Records": [{"Data": "eA==", "PartitionKey": "k"}]}));
        nameless.error(400, "InvalidArgumentException");
    });
}

#[test]
fn an_oversize_record_is_refused_whole() {
    malformed(|sluice| {
        let big = base64_of(&vec![b'a'; 1024 * 1024 + 1]);
        let reply = sluice.call("PutRecord", &json!({"StreamName": "events", "Data": big, "PartitionKey": "k"}));
        assert_eq!(
            reply.error(400, "ValidationException"),
            "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' \
             failed to satisfy constraint: Member must have length less than or equal to 1048576"
        );
        // Five records of 1 MiB are within each record's limit, but over the request's 5 MiB with their keys.
        let mib = base64_of(&vec![b'b'; 1024 * 1024]);
        let records: Vec<Value> = (0..5).map(|_| json!({"Data": mib, "PartitionKey": "k"})).collect();
        let reply = sluice.call("PutRecords", &json!({"StreamName": "events", "Records": records}));
        assert_eq!(reply.error(400, "InvalidArgumentException"), "Records size exceeds 5 MB limit");
        let declared = [
            ("Content-Type", "application/x-amz-json-1.1".to_owned()),
            ("X-Amz-Target", "Kinesis_20131202.PutRecords".to_owned()),
            ("Content-Length", "9000000".to_owned()),
        ];
        raw_request(sluice.port, "POST", &declared, b"").error(413, "RequestEntityTooLargeException");
        assert!(stored(sluice).is_empty(), "nothing was written");
    });
}

#[test]
fn too_many_records_are_refused_and_nothing_partial_is_written() {
    malformed(|sluice| {
        let records: Vec<Value> = (0..501).map(|i| json!({"Data": "eA==", "PartitionKey": format!("k{i}")})).collect();
        let reply = sluice.call("PutRecords", &json!({"StreamName": "events", "Records": records}));
        assert_eq!(
            reply.error(400, "ValidationException"),
            "1 validation error detected: Value '[501 records]' at 'records' failed to satisfy constraint: Member \
             must have length less than or equal to 500"
        );
        // Three good records and one with an empty key: the whole request is refused, none of it stored.
        let mixed = json!({"StreamName": "events", "Records": [
            {"Data": "YQ==", "PartitionKey": "a"}, {"Data": "Yg==", "PartitionKey": "b"},
            {"Data": "Yw==", "PartitionKey": ""}, {"Data": "ZA==", "PartitionKey": "d"}]});
        let reply = sluice.call("PutRecords", &mixed);
        assert!(reply.error(400, "ValidationException").contains("'records.3.member.partitionKey'"));
        assert!(stored(sluice).is_empty(), "nothing partial");
        let empty = sluice.call("PutRecords", &json!({"StreamName": "events", "Records": []}));
        empty.error(400, "ValidationException");
        let good = sluice.call("PutRecord", &json!({"StreamName": "events", "Data": "YQ==", "PartitionKey": "a"}));
        assert_eq!(good.json()["SequenceNumber"], json!("1"), "the refused requests took no sequence numbers");
    });
}

#[test]
fn an_unknown_stream_or_shard_is_not_found() {
    malformed(|sluice| {
        let reply = sluice.call("PutRecord", &json!({"StreamName": "nope", "Data": "eA==", "PartitionKey": "k"}));
        assert_eq!(reply.error(400, "ResourceNotFoundException"), "Stream nope under account 000000000000 not found.");
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/nope";
        sluice.call("DescribeStreamSummary", &json!({"StreamARN": arn})).error(400, "ResourceNotFoundException");
        let shard = sluice.call(
            "GetShardIterator",
            &json!({"StreamName": "events", "ShardId": "shardId-000000000001", "ShardIteratorType": "LATEST"}),
        );
        assert_eq!(
            shard.error(400, "ResourceNotFoundException"),
            "Shard shardId-000000000001 in stream events under account 000000000000 does not exist"
        );
        let create = sluice.call("CreateStream", &json!({"StreamName": "events", "ShardCount": 1}));
        create.error(400, "ResourceInUseException");
        sluice
            .call("CreateStream", &json!({"StreamName": "other", "ShardCount": 1}))
            .error(400, "InvalidArgumentException");
        let bad_name = sluice.call("DescribeStream", &json!({"StreamName": "no spaces"}));
        assert!(bad_name.error(400, "ValidationException").contains("regular expression pattern"));
    });
}

#[test]
fn bad_partition_keys_are_validation_exceptions() {
    malformed(|sluice| {
        let long = "k".repeat(257);
        let reply = sluice.call("PutRecord", &json!({"StreamName": "events", "Data": "eA==", "PartitionKey": long}));
        assert!(reply.error(400, "ValidationException").ends_with("Member must have length less than or equal to 256"));
        let empty = sluice.call("PutRecord", &json!({"StreamName": "events", "Data": "eA==", "PartitionKey": ""}));
        assert!(
            empty.error(400, "ValidationException").ends_with("Member must have length greater than or equal to 1")
        );
        let hash = sluice.call(
            "PutRecord",
            &json!({"StreamName": "events", "Data": "eA==", "PartitionKey": "k", "ExplicitHashKey": u128::MAX.to_string() + "0"}),
        );
        hash.error(400, "ValidationException");
        let too_big = (u128::MAX as f64 * 2.0).to_string().split('.').next().unwrap_or_default().to_owned();
        let range = sluice.call(
            "PutRecord",
            &json!({"StreamName": "events", "Data": "eA==", "PartitionKey": "k", "ExplicitHashKey": too_big}),
        );
        assert!(range.error(400, "InvalidArgumentException").starts_with("Invalid ExplicitHashKey"));
        assert!(stored(sluice).is_empty());
    });
}

#[test]
fn invalid_and_expired_iterators_are_refused() {
    malformed(|sluice| {
        let invalid = sluice.call("GetRecords", &json!({"ShardIterator": "bm90IGFuIGl0ZXJhdG9y"}));
        assert_eq!(invalid.error(400, "InvalidArgumentException"), "Invalid ShardIterator.");
        let limit = sluice.call("GetRecords", &json!({"ShardIterator": "x", "Limit": 0}));
        limit.error(400, "ValidationException");
        let iterator = sluice.call(
            "GetShardIterator",
            &json!({"StreamName": "events", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
        );
        let token = iterator.json()["ShardIterator"].as_str().expect("an iterator").to_owned();
        // An iterator issued ten minutes ago: bytes 1..9 of the token hold when it was issued (see
        // kinesis-api/src/iterator.rs); Kinesis iterators live five minutes.
        let mut bytes = unbase64(&token);
        let issued = i64::from_be_bytes(bytes[1..9].try_into().expect("8 bytes")) - 600_000;
        bytes[1..9].copy_from_slice(&issued.to_be_bytes());
        let expired = sluice.call("GetRecords", &json!({"ShardIterator": base64_of(&bytes)}));
        assert!(expired.error(400, "ExpiredIteratorException").starts_with("Iterator expired."));
        let future_seq = sluice.call(
            "GetShardIterator",
            &json!({"StreamName": "events", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "5"}),
        );
        assert!(future_seq.error(400, "InvalidArgumentException").contains("did not come from this stream"));
        let mixed = sluice.call(
            "GetShardIterator",
            &json!({"StreamName": "events", "ShardId": "shardId-000000000000", "ShardIteratorType": "LATEST", "StartingSequenceNumber": "1"}),
        );
        mixed.error(400, "InvalidArgumentException");
    });
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_of(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let value = BASE64.iter().position(|&b| b == c).expect("base64") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}
