//! The Kinesis API under a bounded load on loopback: PutRecords of 500 records, sent by concurrent HTTP/1.1
//! keep-alive connections (hyper's client) for a fixed number of requests, reporting records per second and
//! the p50/p99 latency of a request. The baseline, in the same run, puts the same batches with the same
//! concurrency straight into the embedded stream through the library (`ShardedStream::put`), so the difference
//! is what HTTP, JSON, base64 and validation cost.
//!
//! Two durability settings: `fsync: never` (the API's own cost) and `fsync: always` (each put is synced
//! before it is answered; concurrent puts share syncs).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sluice_core::embedded::{EmbeddedOptions, EmbeddedStream, FsyncPolicy, shard_for_key};
use sluice_core::runtime::ledger::Ledger;
use sluice_core::runtime::metrics::StageMetrics;
use sluice_core::runtime::record::PutRecord;
use sluice_core::runtime::sharded::ShardedStream;
use sluice_core::runtime::stream::Stream;
use sluice_core::serve::KinesisApiSpec;
use sluice_kinesis_api::KinesisApi;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

const RECORDS_PER_REQUEST: usize = 500;
const REQUESTS: usize = 200;
const CONCURRENCY: usize = 8;
const SHARDS: u32 = 4;

/// A tutorial-like metrics record (about 100 bytes).
fn record(i: usize) -> Vec<u8> {
    format!(
        "{{\"timestamp\":\"2020-07-01T12:{:02}:{:02}.000\",\"requests_newUsers_newOrders_churnUsers\":\"{},{},{},{}\"}}",
        i / 60 % 60,
        i % 60,
        i % 100 + 1,
        i % 11,
        i % 6,
        i % 4
    )
    .into_bytes()
}

/// One stream with the API serving it, and the same batch as a request body and as library records.
struct Setup {
    _dir: tempfile::TempDir,
    stream: Arc<EmbeddedStream>,
    address: SocketAddr,
    stop: CancellationToken,
    body: Bytes,
    batch: Vec<PutRecord>,
    shards: Vec<u32>,
}

fn setup(runtime: &Runtime, fsync: FsyncPolicy) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let (stream, address, stop) = runtime.block_on(async {
        let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.redb")).expect("ledger"));
        let options = EmbeddedOptions {
            shards: SHARDS,
            retention: Duration::from_secs(24 * 3600),
            fsync,
            fsync_interval: Duration::from_secs(1),
        };
        let stream = EmbeddedStream::open("events", dir.path(), options, ledger).await.expect("open the stream");
        let streams = [("events".to_owned(), Arc::clone(&stream) as Arc<dyn Stream>)].into();
        let spec = KinesisApiSpec { listen: "127.0.0.1:0".into(), auth: None, shard_limits: None };
        let api = KinesisApi::bind(&spec, &streams).await.expect("bind the API");
        let (address, stop) = (api.local_addr(), CancellationToken::new());
        tokio::spawn(api.serve(stop.clone(), Arc::new(StageMetrics::default())));
        (stream, address, stop)
    });
    let keys: Vec<String> = (0..RECORDS_PER_REQUEST).map(|i| format!("key-{i}")).collect();
    let data: Vec<Vec<u8>> = (0..RECORDS_PER_REQUEST).map(record).collect();
    let entries: Vec<serde_json::Value> = keys
        .iter()
        .zip(&data)
        .map(|(key, data)| serde_json::json!({"Data": STANDARD.encode(data), "PartitionKey": key}))
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({"StreamName": "events", "Records": entries})).expect("json");
    let batch = keys
        .iter()
        .zip(data)
        .map(|(key, data)| PutRecord { partition_key: Arc::from(key.as_str()), data: Bytes::from(data) })
        .collect();
    let shards = keys.iter().map(|key| shard_for_key(key, SHARDS)).collect();
    Setup { _dir: dir, stream, address, stop, body: Bytes::from(body), batch, shards }
}

/// `REQUESTS` PutRecords over `CONCURRENCY` keep-alive connections; the latency of each.
async fn over_http(address: SocketAddr, body: Bytes) -> Vec<Duration> {
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let body = body.clone();
        workers.spawn(async move {
            let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
            tcp.set_nodelay(true).expect("nodelay");
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
            tokio::spawn(connection);
            let mut latencies = Vec::with_capacity(REQUESTS / CONCURRENCY);
            for _ in 0..REQUESTS / CONCURRENCY {
                let request = http::Request::post("/")
                    .header("host", address.to_string())
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-target", "Kinesis_20131202.PutRecords")
                    .body(Full::new(body.clone()))
                    .expect("a request");
                let started = Instant::now();
                let response = sender.send_request(request).await.expect("a response");
                let status = response.status();
                let answer = response.into_body().collect().await.expect("the body").to_bytes();
                latencies.push(started.elapsed());
                assert!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&answer));
                assert!(answer.starts_with(b"{\"FailedRecordCount\":0,"), "{}", String::from_utf8_lossy(&answer));
            }
            latencies
        });
    }
    workers.join_all().await.concat()
}

/// The same puts through the library.
async fn through_library(stream: Arc<EmbeddedStream>, batch: Vec<PutRecord>, shards: Vec<u32>) -> Vec<Duration> {
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (stream, batch, shards) = (Arc::clone(&stream), batch.clone(), shards.clone());
        workers.spawn(async move {
            let mut latencies = Vec::with_capacity(REQUESTS / CONCURRENCY);
            for _ in 0..REQUESTS / CONCURRENCY {
                let started = Instant::now();
                let seqs = ShardedStream::put(&*stream, batch.clone(), shards.clone()).await.expect("put");
                latencies.push(started.elapsed());
                assert_eq!(seqs.len(), RECORDS_PER_REQUEST);
            }
            latencies
        });
    }
    workers.join_all().await.concat()
}

/// Prints records/s and the p50/p99 latency per request of everything measured.
fn report(name: &str, latencies: &Mutex<Vec<Duration>>, elapsed: &Mutex<Duration>) {
    let mut latencies = latencies.lock().expect("latencies").clone();
    latencies.sort_unstable();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let elapsed = elapsed.lock().expect("elapsed").as_secs_f64();
    let records = (latencies.len() * RECORDS_PER_REQUEST) as f64;
    println!(
        "{name}: {:.0} records/s, request latency p50 {:?} p99 {:?} ({} requests of {RECORDS_PER_REQUEST})",
        records / elapsed.max(1e-9),
        at(0.50).copied().unwrap_or_default(),
        at(0.99).copied().unwrap_or_default(),
        latencies.len()
    );
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    for (label, fsync) in [("fsync_never", FsyncPolicy::Never), ("fsync_always", FsyncPolicy::Always)] {
        let setup = setup(&runtime, fsync);
        let mut group = c.benchmark_group(format!("kinesis_api_put_records_{label}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(15))
            .throughput(Throughput::Elements((REQUESTS * RECORDS_PER_REQUEST) as u64));
        let cases: [(&str, bool); 2] =
            [("baseline: ShardedStream::put, same batches", false), ("Kinesis API: PutRecords over HTTP", true)];
        for (name, http) in cases {
            let (latencies, elapsed) = (Mutex::new(Vec::new()), Mutex::new(Duration::ZERO));
            group.bench_function(name, |b| {
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let started = Instant::now();
                        let measured = if http {
                            runtime.block_on(over_http(setup.address, setup.body.clone()))
                        } else {
                            let (stream, batch) = (Arc::clone(&setup.stream), setup.batch.clone());
                            runtime.block_on(through_library(stream, batch, setup.shards.clone()))
                        };
                        let took = started.elapsed();
                        total += took;
                        *elapsed.lock().expect("elapsed") += took;
                        latencies.lock().expect("latencies").extend(measured);
                    }
                    total
                })
            });
            report(&format!("kinesis_api_put_records_{label}/{name}"), &latencies, &elapsed);
        }
        group.finish();
        setup.stop.cancel();
        runtime.block_on(async { setup.stream.shutdown().await.expect("shutdown") });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
