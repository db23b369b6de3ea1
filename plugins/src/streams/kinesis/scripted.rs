//! Tests of the reader's rare paths against a scripted Kinesis: an HTTP/1.1 server on 127.0.0.1 that answers the
//! real JSON wire protocol (`X-Amz-Target: Kinesis_20131202.<Operation>`, `__type` errors) from a script, so the
//! SDK, its error parsing and the reader's loop run as in production. It covers what the emulators cannot be made
//! to do on demand: GetRecords throttled, and an iterator that expired (5 minutes on a real server).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};
use sluice_core::runtime::stream::StreamReader;
use tokio::sync::watch;

use super::client::{KinesisClient, StreamTarget};
use super::reader::{KinesisReader, Start, StartPlan};
use crate::retry::RetryPolicy;

/// One request the server saw: its operation, its JSON body, and when.
type Seen = (String, Value, Instant);

/// Answers `(status, body)` to an operation and its body.
type Script = Box<dyn FnMut(&str, &Value) -> (u16, Value) + Send>;

/// Serves `script` on a free port of 127.0.0.1 (a thread per connection); returns the endpoint and the log.
fn serve(script: Script) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(script));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (script, log) = (Arc::clone(&script), Arc::clone(&log));
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().expect("clone the socket");
                let mut reader = BufReader::new(stream);
                loop {
                    let (mut target, mut length, mut line) = (String::new(), 0, String::new());
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return; // The client closed the connection.
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                            break;
                        }
                        let (name, value) = line.split_once(':').unwrap_or_default();
                        match name.to_ascii_lowercase().as_str() {
                            "x-amz-target" => target = value.trim().rsplit('.').next().unwrap_or_default().to_owned(),
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let (status, answer) = (script.lock().unwrap_or_else(PoisonError::into_inner))(&target, &body);
                    log.lock().unwrap_or_else(PoisonError::into_inner).push((target, body, Instant::now()));
                    let answer = answer.to_string();
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if writer.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (endpoint, seen)
}

/// A client of `endpoint` with test credentials (none from the environment).
fn client(endpoint: &str) -> KinesisClient {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .build();
    let policy = RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(10) };
    KinesisClient::with_client(StreamTarget::Name("events".into()), aws_sdk_kinesis::Client::from_conf(config), policy)
}

fn record(seq: &str) -> Value {
    // "a" in base64; arrival 1.5 s after the epoch.
    json!({"SequenceNumber": seq, "ApproximateArrivalTimestamp": 1.5, "Data": "YQ==", "PartitionKey": "k"})
}

fn error(kind: &str) -> (u16, Value) {
    (400, json!({"__type": kind, "message": format!("scripted {kind}")}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_reads_back_off_and_an_expired_iterator_resumes_after_the_last_record() {
    let mut get_records = 0;
    let (endpoint, seen) = serve(Box::new(move |operation, body| match operation {
        "ListShards" => (
            200,
            json!({"Shards": [{"ShardId": "shardId-000000000000",
                "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "340282366920938463463374607431768211455"},
                "SequenceNumberRange": {"StartingSequenceNumber": "1"}}]}),
        ),
        "GetShardIterator" => {
            let from = body["StartingSequenceNumber"].as_str().unwrap_or("start");
            (200, json!({"ShardIterator": format!("from-{from}")}))
        }
        "GetRecords" => {
            get_records += 1;
            match get_records {
                1 => (
                    200,
                    json!({"Records": [record("1"), record("2")], "NextShardIterator": "next", "MillisBehindLatest": 0}),
                ),
                2 | 3 => error("ProvisionedThroughputExceededException"),
                4 => error("ExpiredIteratorException"),
                // After the renewal: the last record, and the end of the shard.
                _ => (200, json!({"Records": [record("3")], "MillisBehindLatest": 0})),
            }
        }
        _ => error("UnknownOperationException"),
    }));
    let (close, closed) = watch::channel(false);
    let plan = StartPlan { per_shard: Default::default(), listed: Start::TrimHorizon };
    let mut reader =
        KinesisReader::open(Arc::new(client(&endpoint)), "events".into(), closed, plan).await.expect("opens");
    let (mut records, mut sequence) = (0, Vec::new());
    while records < 3 {
        let next = tokio::time::timeout(Duration::from_secs(20), reader.next_batch(10)).await;
        let batch = next.expect("a batch within 20 s").expect("reads").expect("a batch");
        assert_eq!(batch.records[0].arrival_ms, 1_500);
        records += batch.records.len();
        sequence.extend(batch.positions.values().cloned());
    }
    assert_eq!(sequence, ["2", "3"], "each batch's position is its last record");
    close.send_replace(true);
    let end = tokio::time::timeout(Duration::from_secs(20), reader.next_batch(10)).await.expect("ends in time");
    assert!(end.expect("ends").is_none(), "the only shard ended and writers are closed");

    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let iterators: Vec<String> = seen
        .iter()
        .filter(|(op, _, _)| op == "GetShardIterator")
        .map(|(_, body, _)| format!("{} {}", body["ShardIteratorType"], body["StartingSequenceNumber"]))
        .collect();
    assert_eq!(iterators, ["\"TRIM_HORIZON\" null", "\"AFTER_SEQUENCE_NUMBER\" \"2\""]);
    let reads: Vec<&Instant> = seen.iter().filter(|(op, _, _)| op == "GetRecords").map(|(_, _, at)| at).collect();
    assert_eq!(reads.len(), 5);
    let gaps: Vec<Duration> = reads.windows(2).map(|w| w[1].duration_since(*w[0])).collect();
    assert!(gaps.iter().all(|g| *g >= Duration::from_millis(190)), "5 GetRecords a second at most: {gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(390), "throttling backs off, doubling: {gaps:?}");
}
