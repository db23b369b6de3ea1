//! `type: kinesis` streams and destinations against real Kinesis wire protocols: moto and kinesalite (started by
//! the tests on 127.0.0.1, see `support/aws_servers.rs`) and sluice's own `--kinesis-api`, with boto3 as the
//! independent client that puts records in and reads them back. Every pipeline runs through the CLI.
//!
//! Record counts stay in the hundreds: the emulators are for correctness, not speed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/aws_servers.rs"]
mod aws_servers;

use aws_servers::Server;

/// boto3 helpers, one command per call: `create NAME SHARDS`, `put NAME FIRST COUNT KEYS`, `read NAME`,
/// `split NAME`, `merge NAME` (the first two open shards), `bucket NAME`, `objects NAME`. Prints JSON.
const CLIENT: &str = r#"
import json, sys, time
import boto3

kinesis = boto3.client('kinesis')
command, args = sys.argv[1], sys.argv[2:]

def wait_active(name):
    for _ in range(300):
        if kinesis.describe_stream_summary(StreamName=name)['StreamDescriptionSummary']['StreamStatus'] == 'ACTIVE':
            return
        time.sleep(0.05)
    raise SystemExit(f'stream {name} did not become ACTIVE')

def metrics(n):
    # The seed's record shape: a timestamp and four comma-separated counters, all derived from n.
    return {'timestamp': '2020-07-01T12:%02d:%02d.000' % (n // 60 % 60, n % 60),
            'requests_newUsers_newOrders_churnUsers': '%d,%d,%d,%d' % (n, n % 10, n % 5, n % 3)}

if command == 'create':
    name, shards = args
    kinesis.create_stream(StreamName=name, ShardCount=int(shards))
    wait_active(name)
    print(json.dumps({'created': name}))
elif command == 'put':
    name, first, count, keys = args[0], int(args[1]), int(args[2]), int(args[3])
    entries = [{'Data': json.dumps(metrics(n)).encode(), 'PartitionKey': 'k%d' % (n % keys)}
               for n in range(first, first + count)]
    shards = []
    for start in range(0, len(entries), 500):
        reply = kinesis.put_records(StreamName=name, Records=entries[start:start + 500])
        assert reply.get('FailedRecordCount', 0) == 0, reply
        shards += [r['ShardId'] for r in reply['Records']]
    print(json.dumps({'shards': shards}))
elif command == 'read':
    name = args[0]
    out = []
    for shard in kinesis.list_shards(StreamName=name)['Shards']:
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard['ShardId'],
                                              ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        while iterator:
            reply = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            out += [{'shard': shard['ShardId'], 'key': r['PartitionKey'], 'data': r['Data'].decode()}
                    for r in reply['Records']]
            iterator = reply.get('NextShardIterator')
            if not reply['Records'] and reply.get('MillisBehindLatest', 0) == 0:
                break
    print(json.dumps(out))
elif command == 'split':
    name = args[0]
    shard = kinesis.list_shards(StreamName=name)['Shards'][0]
    kinesis.split_shard(StreamName=name, ShardToSplit=shard['ShardId'], NewStartingHashKey=str(2 ** 127))
    wait_active(name)
    print(json.dumps([s['ShardId'] for s in kinesis.list_shards(StreamName=name)['Shards']]))
elif command == 'merge':
    name = args[0]
    open_shards = [s['ShardId'] for s in kinesis.list_shards(StreamName=name)['Shards']
                   if 'EndingSequenceNumber' not in s['SequenceNumberRange']]
    kinesis.merge_shards(StreamName=name, ShardToMerge=open_shards[0], AdjacentShardToMerge=open_shards[1])
    wait_active(name)
    print(json.dumps([s['ShardId'] for s in kinesis.list_shards(StreamName=name)['Shards']]))
elif command == 'bucket':
    boto3.client('s3').create_bucket(Bucket=args[0])
    print(json.dumps({'bucket': args[0]}))
elif command == 'objects':
    s3 = boto3.client('s3')
    listed = s3.list_objects_v2(Bucket=args[0]).get('Contents', [])
    print(json.dumps({o['Key']: s3.get_object(Bucket=args[0], Key=o['Key'])['Body'].read().decode()
                      for o in listed}))
"#;

/// Runs a [`CLIENT`] command against `server`; returns its JSON.
fn client(server: &Server, args: &[&str]) -> Value {
    serde_json::from_str(&server.python(CLIENT, args)).expect("the client prints JSON")
}

/// Runs a [`CLIENT`] command against any Kinesis endpoint (sluice's own API).
fn client_at(endpoint: &str, args: &[&str]) -> Value {
    let python = aws_servers::python().unwrap_or_else(|e| panic!("the test venv: {e}"));
    let output = Command::new(python)
        .arg("-c")
        .arg(CLIENT)
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("python runs");
    assert!(output.status.success(), "the client failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the client prints JSON")
}

/// The seed's record number `n` (as [`CLIENT`]'s `metrics` makes it), as a line of input.
fn metrics_line(n: u64) -> String {
    json!({
        "timestamp": format!("2020-07-01T12:{:02}:{:02}.000", n / 60 % 60, n % 60),
        "requests_newUsers_newOrders_churnUsers": format!("{n},{},{},{}", n % 10, n % 5, n % 3),
    })
    .to_string()
}

/// What the seed SQL makes of record `n`.
fn metrics_row(n: u64) -> Value {
    json!({
        "timestamp": format!("2020-07-01 12:{:02}:{:02}", n / 60 % 60, n % 60),
        "requests": n.to_string(),
        "new_users": (n % 10).to_string(),
        "new_orders": (n % 5).to_string(),
        "new_churns": (n % 3).to_string(),
    })
}

/// The `n` of a record's data (`requests_newUsers_newOrders_churnUsers` starts with it).
fn n_of(data: &str) -> u64 {
    let value: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
    let field = value["requests_newUsers_newOrders_churnUsers"].as_str().or(value["requests"].as_str());
    field.and_then(|f| f.split(',').next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no n in {data}"))
}

/// The seed pipeline between `stream:` and `destination:`, as YAML entries.
fn seed_pipeline(producers: &str, stream: &str, destination: &str) -> String {
    format!(
        "name: seed-on-aws\n{producers}streams:\n  metrics_stream:\n{stream}\
         applications:\n  app:\n    type: sql\n    input:\n      stream: metrics_stream\n      name_prefix: SOURCE_SQL_STREAM\n      \
         format: json\n      columns:\n        - {{name: COL_timestamp, type: TIMESTAMP, path: $.timestamp}}\n        \
         - {{name: requests_newUsers_newOrders_churnUsers, type: VARCHAR(32), path: $.requests_newUsers_newOrders_churnUsers}}\n    \
         code_file: site-metrics.sql\n    outputs:\n      - {{stream: DESTINATION_SQL_STREAM, destination: out, format: json}}\n\
         destinations:\n  out:\n{destination}"
    )
}

/// A fresh folder with `pipeline.yaml` and the seed's SQL.
fn workspace(pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline).expect("write the pipeline");
    let sql = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/site-metrics.sql");
    std::fs::copy(sql, dir.path().join("site-metrics.sql")).expect("copy the SQL");
    dir
}

/// `sluice run pipeline.yaml ARGS` in `dir` with `env`, to its end.
fn sluice_run(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(dir.join("pipeline.yaml"))
        .args(["--quiet"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("sluice runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `sluice run` in the background, its stdout going to a file; killed when dropped.
struct Background {
    child: Child,
    stdout: PathBuf,
    stderr: Arc<Mutex<String>>,
    port: Option<u16>,
}

impl Background {
    fn start(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Background {
        let stdout = dir.join("stdout.txt");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("run")
            .arg(dir.join("pipeline.yaml"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "info")
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sluice");
        let collected = Arc::new(Mutex::new(String::new()));
        let (port_sender, port) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr is piped");
        let lines = Arc::clone(&collected);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().expect("stderr lock").push_str(&format!("{line}\n"));
                if let Some(at) = line.find("listening on http://127.0.0.1:") {
                    let digits: String = line[at + 30..].chars().take_while(char::is_ascii_digit).collect();
                    let _ = port_sender.send(digits.parse::<u16>().ok());
                }
            }
            let _ = port_sender.send(None);
        });
        let mut background = Background { child, stdout, stderr: collected, port: None };
        if args.contains(&"--kinesis-api") {
            background.port = port.recv_timeout(Duration::from_secs(60)).ok().flatten();
            assert!(background.port.is_some(), "sluice did not say where it listens:\n{}", background.stderr());
        }
        background
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port.expect("a listening port"))
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.stdout).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    /// Waits until stdout has `count` lines (or `limit` passes).
    fn wait_for_lines(&self, count: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let lines = self.lines();
            if lines.len() >= count || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it as Ctrl-C would, and waits.
    fn stop(mut self) -> (ExitStatus, String) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50)); // The stderr thread's last lines.
                return (status, self.stderr());
            }
            assert!(Instant::now() < deadline, "sluice did not stop:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each key's `n`s in the order the records come.
fn by_key(records: &[Value]) -> BTreeMap<String, Vec<u64>> {
    let mut keys: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for record in records {
        let key = record["key"].as_str().expect("a key").to_owned();
        keys.entry(key).or_default().push(n_of(record["data"].as_str().expect("data")));
    }
    keys
}

fn sorted_rows(values: impl IntoIterator<Item = Value>) -> Vec<String> {
    let mut rows: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
    rows.sort();
    rows
}

// ---------------------------------------------------------------------------------------------------------

#[test]
fn boto3_records_go_through_the_seed_sql_into_an_s3_bucket_record_by_record() {
    let Some(moto) = Server::moto() else { return };
    client(&moto, &["create", "metrics_stream", "2"]);
    client(&moto, &["bucket", "site-metrics"]);
    client(&moto, &["put", "metrics_stream", "0", "300", "7"]);
    let stream = "    type: kinesis\n    starting_position: TRIM_HORIZON\n";
    let destination = "    type: s3\n    bucket: s3://site-metrics\n    buffer: {size: 1MiB, interval: 60s}\n";
    let dir = workspace(&seed_pipeline("", stream, destination));
    let output = sluice_run(dir.path(), &["--duration", "6s"], &moto.env());
    assert!(output.status.success(), "{}", stderr(&output));

    let objects = client(&moto, &["objects", "site-metrics"]);
    let objects = objects.as_object().expect("objects by key");
    assert!(!objects.is_empty(), "the bucket holds objects");
    let rows = objects
        .values()
        .flat_map(|body| {
            body.as_str().unwrap_or_default().lines().map(|l| serde_json::from_str(l).expect("a JSON row"))
        })
        .collect::<Vec<Value>>();
    assert_eq!(rows.len(), 300, "a row per record, none twice: {rows:?}");
    assert_eq!(sorted_rows(rows), sorted_rows((0..300).map(metrics_row)));
}

#[test]
fn a_producer_writes_a_kinesis_stream_and_an_application_output_a_kinesis_destination() {
    let Some(moto) = Server::moto() else { return };
    client(&moto, &["create", "metrics_stream", "2"]);
    client(&moto, &["create", "derived", "1"]);
    let producer = "producers:\n  lines:\n    type: file\n    stream: metrics_stream\n    path: input.ndjson\n    \
                    format: lines\n    partition_key: \"k{{int 0 4}}\"\n";
    let stream = "    type: kinesis\n";
    // By ARN (moto's account is 123456789012).
    let destination = "    type: kinesis\n    arn: arn:aws:kinesis:us-east-1:123456789012:stream/derived\n";
    let dir = workspace(&seed_pipeline(producer, stream, destination));
    let input: String = (0..400).map(|n| metrics_line(n) + "\n").collect();
    std::fs::write(dir.path().join("input.ndjson"), input).expect("write the input");
    // No `--duration`: the producer ends, so the stream's writers close, the reader reads to the tip and ends.
    let started = Instant::now();
    let output = sluice_run(dir.path(), &[], &moto.env());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(started.elapsed() < Duration::from_secs(30), "the run ended by itself");

    let written: Vec<Value> = serde_json::from_value(client(&moto, &["read", "metrics_stream"])).expect("records");
    assert_eq!(written.len(), 400, "every line once");
    let mut all: Vec<u64> = written.iter().map(|r| n_of(r["data"].as_str().unwrap_or_default())).collect();
    all.sort_unstable();
    assert_eq!(all, (0..400).collect::<Vec<_>>());
    for (key, ns) in by_key(&written) {
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "key {key} in order: {ns:?}");
    }

    let derived: Vec<Value> = serde_json::from_value(client(&moto, &["read", "derived"])).expect("records");
    let rows = derived.iter().map(|r| serde_json::from_str(r["data"].as_str().unwrap_or_default()).expect("a row"));
    assert_eq!(sorted_rows(rows), sorted_rows((0..400).map(metrics_row)), "every row once");
    let derived_keys = by_key(&derived);
    assert_eq!(derived_keys.keys().collect::<Vec<_>>(), by_key(&written).keys().collect::<Vec<_>>(), "keys kept");
    for (key, ns) in derived_keys {
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "output key {key} in order: {ns:?}");
    }
}

#[test]
fn a_shard_split_mid_run_loses_nothing_and_reads_parents_before_children() {
    let Some(kinesalite) = Server::kinesalite() else { return };
    client(&kinesalite, &["create", "events", "1"]);
    let pipeline = "name: resharding\nstreams:\n  events: {type: kinesis}\n\
                    destinations:\n  out: {type: stdout, source: events}\n";
    let dir = workspace(pipeline);
    let sluice = Background::start(dir.path(), &["--quiet", "--duration", "120s"], &kinesalite.env());
    let before = client(&kinesalite, &["put", "events", "0", "300", "8"]);
    let shards = client(&kinesalite, &["split", "events"]);
    assert_eq!(shards.as_array().map(Vec::len), Some(3), "a parent and two children: {shards}");
    let after = client(&kinesalite, &["put", "events", "300", "300", "8"]);
    let after_shards: Vec<&str> =
        after["shards"].as_array().expect("shards").iter().filter_map(Value::as_str).collect();
    assert!(after_shards.iter().all(|s| *s != "shardId-000000000000"), "new records go to the children");
    assert!(before["shards"].as_array().expect("shards").iter().all(|s| s == "shardId-000000000000"));

    let lines = sluice.wait_for_lines(600, Duration::from_secs(60));
    let (status, stderr) = sluice.stop();
    assert!(status.success(), "{stderr}");
    let records: Vec<Value> = lines
        .iter()
        .map(|l| {
            let n = n_of(l);
            json!({"key": format!("k{}", n % 8), "data": l})
        })
        .collect();
    assert_eq!(records.len(), 600, "nothing lost, nothing twice");
    for (key, ns) in by_key(&records) {
        let expected: Vec<u64> = (0..600).filter(|n| format!("k{}", n % 8) == key).collect();
        assert_eq!(ns, expected, "key {key}: every record, the parent's before the children's");
    }
}

#[test]
fn children_wait_for_all_their_parents_even_when_every_shard_is_full() {
    // Written before the run: a reader that read every listed shard at once would mix a key's records from the
    // parent, the children and the merged grandchild.
    let Some(kinesalite) = Server::kinesalite() else { return };
    client(&kinesalite, &["create", "events", "1"]);
    client(&kinesalite, &["put", "events", "0", "200", "6"]);
    client(&kinesalite, &["split", "events"]);
    client(&kinesalite, &["put", "events", "200", "200", "6"]);
    let shards = client(&kinesalite, &["merge", "events"]);
    assert_eq!(shards.as_array().map(Vec::len), Some(4), "parent, two children, their merge: {shards}");
    let last = client(&kinesalite, &["put", "events", "400", "200", "6"]);
    assert!(last["shards"].as_array().expect("shards").iter().all(|s| s == "shardId-000000000003"));

    let pipeline = "name: lineage\nstreams:\n  events: {type: kinesis}\n\
                    destinations:\n  out: {type: stdout, source: events}\n";
    let dir = workspace(pipeline);
    let sluice = Background::start(dir.path(), &["--quiet", "--duration", "120s"], &kinesalite.env());
    let lines = sluice.wait_for_lines(600, Duration::from_secs(60));
    let (status, stderr) = sluice.stop();
    assert!(status.success(), "{stderr}");
    let ns: Vec<u64> = lines.iter().map(|l| n_of(l)).collect();
    assert_eq!(ns.len(), 600, "nothing lost, nothing twice");
    for key in 0..6 {
        let of_key: Vec<u64> = ns.iter().copied().filter(|n| n % 6 == key).collect();
        let expected: Vec<u64> = (0..600).filter(|n| n % 6 == key).collect();
        assert_eq!(of_key, expected, "key k{key}: parent, then children, then their merge");
    }
}

#[test]
fn throttled_puts_are_retried_record_by_record_and_nothing_is_lost() {
    // The Kinesis endpoint is sluice's own API, which refuses records past 100 a second per shard in the entries
    // of PutRecords, as Kinesis does.
    let target = "name: target\nstreams:\n  events: {type: embedded, fsync: never}\n\
                  destinations:\n  sink: {type: stdout, source: events}\n\
                  serve:\n  kinesis_api:\n    shard_limits: {records_per_second: 100}\n";
    let target_dir = workspace(target);
    let api = Background::start(target_dir.path(), &["--kinesis-api", "127.0.0.1:0", "--duration", "120s"], &[]);

    let writer = format!(
        "name: writer\nproducers:\n  lines:\n    type: file\n    stream: events\n    path: input.ndjson\n    \
         format: lines\n    partition_key: \"k{{{{int 0 3}}}}\"\nstreams:\n  events:\n    type: kinesis\n    \
         endpoint: {}\n    region: eu-west-1\ndestinations:\n  back: {{type: stdout, source: events}}\n",
        api.endpoint()
    );
    let writer_dir = workspace(&writer);
    let input: String = (0..400).map(|n| metrics_line(n) + "\n").collect();
    std::fs::write(writer_dir.path().join("input.ndjson"), &input).expect("write the input");
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("RUST_LOG", "sluice_plugins::streams::kinesis=debug".to_owned()),
    ];
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(writer_dir.path().join("pipeline.yaml"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("sluice runs");
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("records to send again (ProvisionedThroughputExceededException"),
        "throttled:\n{}",
        stderr(&output)
    );
    assert!(elapsed >= Duration::from_secs(2), "400 records at 100 a second take a while: {elapsed:?}");
    let read_back = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        read_back.lines().collect::<Vec<_>>(),
        input.lines().collect::<Vec<_>>(),
        "read back through GetRecords"
    );

    let stored: Vec<Value> = serde_json::from_value(client_at(&api.endpoint(), &["read", "events"])).expect("records");
    let data: Vec<&str> = stored.iter().filter_map(|r| r["data"].as_str()).collect();
    let lines: Vec<&str> = input.lines().collect();
    assert_eq!(data, lines, "every record once, in the order of the file (one shard: a throttled suffix goes again)");
    let (status, stderr) = api.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn last_stopped_point_resumes_after_what_the_last_run_delivered() {
    let Some(moto) = Server::moto() else { return };
    client(&moto, &["create", "events", "2"]);
    client(&moto, &["put", "events", "0", "100", "5"]);
    let pipeline = "name: resume\nstreams:\n  events: {type: kinesis, starting_position: LAST_STOPPED_POINT}\n\
                    destinations:\n  out: {type: stdout, source: events}\n";
    let dir = workspace(pipeline);
    let numbers = |output: &Output| {
        let mut ns: Vec<u64> = String::from_utf8_lossy(&output.stdout).lines().map(n_of).collect();
        ns.sort_unstable();
        ns
    };
    let first = sluice_run(dir.path(), &["--duration", "3s"], &moto.env());
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(numbers(&first), (0..100).collect::<Vec<_>>());
    client(&moto, &["put", "events", "100", "50", "5"]);
    let second = sluice_run(dir.path(), &["--duration", "3s"], &moto.env());
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(numbers(&second), (100..150).collect::<Vec<_>>(), "only what came since");

    // TRIM_HORIZON reads everything kept, every run, as in KDA.
    let everything = pipeline.replace("LAST_STOPPED_POINT", "TRIM_HORIZON");
    std::fs::write(dir.path().join("pipeline.yaml"), everything).expect("rewrite the pipeline");
    let third = sluice_run(dir.path(), &["--duration", "3s"], &moto.env());
    assert_eq!(numbers(&third), (0..150).collect::<Vec<_>>());

    // NOW reads only what is put after the reader opened: nothing, here.
    let now = pipeline.replace("LAST_STOPPED_POINT", "NOW");
    std::fs::write(dir.path().join("pipeline.yaml"), now).expect("rewrite the pipeline");
    let fourth = sluice_run(dir.path(), &["--duration", "2s"], &moto.env());
    assert!(fourth.status.success(), "{}", stderr(&fourth));
    assert_eq!(numbers(&fourth), Vec::<u64>::new());
}

#[test]
fn discover_samples_a_kinesis_stream_and_prints_the_seed_input_block() {
    let Some(kinesalite) = Server::kinesalite() else { return };
    client(&kinesalite, &["create", "metrics_stream", "2"]);
    client(&kinesalite, &["put", "metrics_stream", "0", "40", "5"]);
    let stream = "    type: kinesis\n    starting_position: LAST_STOPPED_POINT\n";
    let dir = workspace(&seed_pipeline("", stream, "    type: stdout\n"));
    let discover = |limit: &str| {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["discover", "--stream", "metrics_stream", "--limit", limit, "--wait", "5s"])
            .arg(dir.path().join("pipeline.yaml"))
            .envs(kinesalite.env())
            .output()
            .expect("sluice discover runs")
    };
    let output = discover("25");
    assert!(output.status.success(), "{}", stderr(&output));
    let block = String::from_utf8_lossy(&output.stdout);
    assert!(block.contains("stream: metrics_stream"), "{block}");
    assert!(block.contains("{name: COL_timestamp, type: TIMESTAMP, path: $.timestamp}"), "{block}");
    assert!(block.contains("path: $.requests_newUsers_newOrders_churnUsers"), "{block}");
    assert!(stderr(&output).contains("25 JSON records"), "the summary counts what was sampled: {}", stderr(&output));

    // Sampling commits nothing: the pipeline's own reader still starts from the first record.
    let run = sluice_run(dir.path(), &["--duration", "4s"], &kinesalite.env());
    assert!(run.status.success(), "{}", stderr(&run));
    let rows = String::from_utf8_lossy(&run.stdout).lines().count();
    assert_eq!(rows, 40, "every record reached stdout: {}", String::from_utf8_lossy(&run.stdout));

    // An empty stream says so after --wait.
    client(&kinesalite, &["create", "empty_stream", "1"]);
    let pipeline = "name: empty\nstreams:\n  empty_stream: {type: kinesis}\ndestinations:\n  out: {type: stdout, source: empty_stream}\n";
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline).expect("rewrite the pipeline");
    let empty = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["discover", "--stream", "empty_stream", "--wait", "2s"])
        .arg(dir.path().join("pipeline.yaml"))
        .envs(kinesalite.env())
        .output()
        .expect("sluice discover runs");
    assert_eq!(empty.status.code(), Some(1));
    assert!(stderr(&empty).contains("stream `empty_stream` (kinesis) gave no records in 2s"), "{}", stderr(&empty));
}

#[test]
fn tap_follows_the_new_records_of_a_kinesis_stream() {
    let Some(kinesalite) = Server::kinesalite() else { return };
    client(&kinesalite, &["create", "metrics_stream", "2"]);
    client(&kinesalite, &["put", "metrics_stream", "0", "10", "3"]); // Before the tap: not shown.
    let dir = workspace(&seed_pipeline("", "    type: kinesis\n", "    type: stdout\n"));
    let mut tap = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["tap", "--records", "5", "--duration", "60s"])
        .arg(dir.path().join("pipeline.yaml"))
        .arg("metrics_stream")
        .envs(kinesalite.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice tap runs");
    // The tap reads from when it opened: keep putting new records until it has its five.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut next = 100;
    let output = loop {
        client(&kinesalite, &["put", "metrics_stream", &next.to_string(), "1", "3"]);
        next += 1;
        std::thread::sleep(Duration::from_millis(300));
        if tap.try_wait().expect("wait").is_some() {
            break tap.wait_with_output().expect("tap output");
        }
        assert!(Instant::now() < deadline, "the tap never printed five records");
    };
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    for line in &lines {
        assert_eq!(line["tap"], "metrics_stream");
        let n = line["data"]["requests_newUsers_newOrders_churnUsers"].as_str().and_then(|f| f.split(',').next());
        let n: u64 = n.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"));
        assert!(n >= 100, "only records put after the tap opened: {line}");
    }
}

#[test]
fn a_stream_that_does_not_exist_is_named_with_the_endpoint() {
    let Some(moto) = Server::moto() else { return };
    let pipeline = "name: missing\nstreams:\n  orders: {type: kinesis, stream_name: no-such-stream}\n\
                    destinations:\n  out: {type: stdout, source: orders}\n";
    let dir = workspace(pipeline);
    let output = sluice_run(dir.path(), &["--duration", "30s"], &moto.env());
    assert!(!output.status.success());
    let message = stderr(&output);
    let expected = format!(
        "Kinesis stream `no-such-stream` not found (endpoint {}, region us-east-1): ListShards failed: \
         ResourceNotFoundException",
        moto.endpoint()
    );
    assert!(message.contains(&expected), "{message}");

    // A destination too, when it first puts.
    client(&moto, &["create", "events", "1"]);
    client(&moto, &["put", "events", "0", "3", "1"]);
    let pipeline = "name: missing\nstreams:\n  events: {type: kinesis}\n\
                    destinations:\n  out: {type: kinesis, source: events, stream_name: gone}\n";
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline).expect("rewrite the pipeline");
    let output = sluice_run(dir.path(), &["--duration", "30s"], &moto.env());
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("kinesis destination `out`: Kinesis stream `gone` not found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_missing_region_or_missing_credentials_fail_at_once_saying_what_to_set() {
    let pipeline = "name: nothing-set\nstreams:\n  orders: {type: kinesis}\n\
                    destinations:\n  out: {type: stdout, source: orders}\n";
    let dir = workspace(pipeline);
    let home = dir.path().join("home"); // No ~/.aws here.
    let run = |env: &[(&str, &str)]| {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("run")
            .arg(dir.path().join("pipeline.yaml"))
            .args(["--quiet", "--duration", "60s"])
            .env_clear()
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied())
            .output()
            .expect("sluice runs");
        assert!(!output.status.success());
        assert!(started.elapsed() < Duration::from_secs(20), "no retrying what waiting cannot fix");
        stderr(&output)
    };
    let no_region = run(&[]);
    assert!(no_region.contains("no AWS region is set: give the entry `region:`, or set AWS_REGION"), "{no_region}");
    let no_credentials = run(&[("AWS_REGION", "eu-west-1")]);
    assert!(
        no_credentials.contains("Kinesis stream `orders` (region eu-west-1): ListShards failed")
            && no_credentials
                .contains("no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{no_credentials}"
    );
}

#[test]
fn the_seed_pipeline_moves_to_aws_by_editing_its_stream_and_bucket_entries() {
    let Some(moto) = Server::moto() else { return };
    client(&moto, &["create", "metrics_stream", "1"]);
    client(&moto, &["bucket", "my-metrics-bucket"]);
    let seed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/site-metrics.yaml"))
        .expect("the seed pipeline");
    let edited = seed
        .replace("    type: embedded\n    shards: 1\n    retention: 24h\n", "    type: kinesis\n")
        .replace("bucket: file://./data/site-metrics-bucket", "bucket: s3://my-metrics-bucket");
    assert_ne!(edited, seed);
    let dir = workspace(&edited);
    let sluice = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .arg(dir.path().join("pipeline.yaml"))
            .envs(moto.env())
            .output()
            .expect("sluice runs")
    };
    for command in [&["validate"][..], &["test"]] {
        let output = sluice(command);
        assert!(output.status.success(), "sluice {command:?}:\n{}", stderr(&output));
    }
    // The datagen producer puts its first record at once, then every 10 s.
    let output = sluice(&["run", "--quiet", "--duration", "4s"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let objects = client(&moto, &["objects", "my-metrics-bucket"]);
    let rows: Vec<Value> = objects
        .as_object()
        .expect("objects")
        .values()
        .flat_map(|body| body.as_str().unwrap_or_default().lines().map(|l| serde_json::from_str(l).expect("a row")))
        .collect();
    assert_eq!(rows.len(), 1, "{objects}");
    let requests: u64 = rows[0]["requests"].as_str().and_then(|r| r.parse().ok()).expect("a number of requests");
    assert!((1..=100).contains(&requests), "{rows:?}");
}

#[test]
fn a_restarted_producer_resumes_after_the_records_kinesis_accepted() {
    let Some(moto) = Server::moto() else { return };
    client(&moto, &["create", "events", "2"]);
    let pipeline = "name: resume-producer\nproducers:\n  lines:\n    type: file\n    stream: events\n    \
                    path: input.ndjson\n    format: lines\nstreams:\n  events: {type: kinesis}\n\
                    destinations:\n  back: {type: stdout, source: events}\n";
    let dir = workspace(pipeline);
    let input: String = (0..300).map(|n| metrics_line(n) + "\n").collect();
    std::fs::write(dir.path().join("input.ndjson"), input).expect("write the input");
    let first = sluice_run(dir.path(), &["--records", "120"], &moto.env());
    assert!(first.status.success(), "{}", stderr(&first));
    let second = sluice_run(dir.path(), &[], &moto.env());
    assert!(second.status.success(), "{}", stderr(&second));
    let read_back = |output: &Output| String::from_utf8_lossy(&output.stdout).lines().map(n_of).collect::<Vec<_>>();
    let (mut first_read, second_read) = (read_back(&first), read_back(&second));
    first_read.sort_unstable();
    assert_eq!(first_read, (0..120).collect::<Vec<_>>(), "the first run's reader read what its producer put");
    let mut second_sorted = second_read.clone();
    second_sorted.sort_unstable();
    assert_eq!(second_sorted, (120..300).collect::<Vec<_>>(), "the reader resumed too: {second_read:?}");

    let stored: Vec<Value> = serde_json::from_value(client(&moto, &["read", "events"])).expect("records");
    let mut all: Vec<u64> = stored.iter().map(|r| n_of(r["data"].as_str().unwrap_or_default())).collect();
    all.sort_unstable();
    assert_eq!(all, (0..300).collect::<Vec<_>>(), "every line once: the producer resumed at its stored position");
}

#[test]
fn a_pipeline_that_only_produces_into_a_kinesis_stream_is_valid_and_delivers_to_outside_readers() {
    let only_produces = |stream_type: &str| {
        format!(
            "name: only-produces\nproducers:\n  lines:\n    type: file\n    stream: events\n    path: input.ndjson\n    \
             format: lines\nstreams:\n  events: {{type: {stream_type}}}\n"
        )
    };
    // An embedded stream nobody reads is still a mistake; a Kinesis stream has its readers outside the pipeline.
    let embedded = workspace(&only_produces("embedded"));
    std::fs::write(embedded.path().join("input.ndjson"), "x\n").expect("write the input");
    let refused = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("validate")
        .arg(embedded.path().join("pipeline.yaml"))
        .output()
        .expect("sluice runs");
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("pipeline.yaml:9:3: error[unused]: stream `events` is never read"), "{message}");

    let Some(moto) = Server::moto() else { return };
    client(&moto, &["create", "events", "1"]);
    let dir = workspace(&only_produces("kinesis"));
    let input: String = (0..50).map(|n| metrics_line(n) + "\n").collect();
    std::fs::write(dir.path().join("input.ndjson"), input).expect("write the input");
    let run = sluice_run(dir.path(), &[], &moto.env());
    assert!(run.status.success(), "{}", stderr(&run));
    let stored: Vec<Value> = serde_json::from_value(client(&moto, &["read", "events"])).expect("records");
    let mut all: Vec<u64> = stored.iter().map(|r| n_of(r["data"].as_str().unwrap_or_default())).collect();
    all.sort_unstable();
    assert_eq!(all, (0..50).collect::<Vec<_>>(), "boto3 reads what the pipeline put");
}
