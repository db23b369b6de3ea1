//! An SQL application as a stage of its own (the seed's, or the 1-minute tumbling window's), and the
//! hand-written programs they are measured against.

use std::io::{BufRead, Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use sluice_core::plugin::{BuildContext, Built, PluginKind, find};
use sluice_core::runtime::ack::AckTracker;
use sluice_core::runtime::component::{ConsumerInput, Output};
use sluice_core::runtime::ledger::Ledger;
use sluice_core::runtime::metrics::StageMetrics;
use sluice_core::runtime::record::Record;
use sluice_core::runtime::stream::{ReadBatch, StreamError, StreamReader};

use super::engine_thread::TUMBLING_SQL;

/// Records per batch, as the embedded stream's readers hand them to an application.
const BATCH: usize = 4096;

/// The `sql` plugin, built through the registry as `sluice run` builds it, fed from memory.
pub struct SqlStage {
    runtime: tokio::runtime::Runtime,
    batches: Vec<Vec<Record>>,
    config: serde_json::Value,
    cx: BuildContext,
}

impl SqlStage {
    /// The seed application over the workload at `input`; `dir` holds `site-metrics.sql`. Records arrive a
    /// thousand per millisecond.
    pub fn new(dir: &Path, input: &Path) -> Self {
        let config = serde_json::json!({
            "input": {
                "stream": "records",
                "columns": [
                    {"name": "COL_timestamp", "type": "TIMESTAMP", "path": "$.timestamp"},
                    {"name": "requests_newUsers_newOrders_churnUsers", "type": "VARCHAR(32)",
                     "path": "$.requests_newUsers_newOrders_churnUsers"},
                ],
            },
            "code_file": "site-metrics.sql",
            "outputs": [{"stream": "DESTINATION_SQL_STREAM", "destination": "bucket", "format": "json"}],
        });
        SqlStage::with_application(dir, input, config, |index| (index / 1000) as i64)
    }

    /// performance.md's window, the 1-minute tumbling SUM/COUNT ([`TUMBLING_SQL`]), over the workload at
    /// `input`; records arrive as they were stamped, 10 ms apart.
    pub fn tumbling(dir: &Path, input: &Path) -> Self {
        let config = serde_json::json!({
            "input": {
                "stream": "records",
                "columns": [
                    {"name": "COL_timestamp", "type": "TIMESTAMP", "path": "$.timestamp"},
                    {"name": "metrics", "type": "VARCHAR(32)", "path": "$.requests_newUsers_newOrders_churnUsers"},
                ],
            },
            "code": TUMBLING_SQL,
            "outputs": [{"stream": "DESTINATION_SQL_STREAM", "destination": "bucket", "format": "json"}],
        });
        SqlStage::with_application(dir, input, config, |index| index as i64 * 10)
    }

    /// The application `config` over the workload at `input`; record `i` arrives `arrival(i)` ms after the
    /// workload's first timestamp.
    fn with_application(dir: &Path, input: &Path, config: serde_json::Value, arrival: fn(usize) -> i64) -> Self {
        sluice_plugins::link();
        let data = Bytes::from(std::fs::read(input).expect("read the workload"));
        let key: Arc<str> = Arc::from("partitionkey");
        let mut records = Vec::with_capacity(2_000_000);
        let mut start = 0;
        for (index, end) in memchr::memchr_iter(b'\n', &data).enumerate() {
            let arrival_ms = 1_593_561_600_000 + arrival(index);
            let shard = Some(0); // As read from the one shard of the embedded stream.
            records.push(Record { partition_key: Arc::clone(&key), data: data.slice(start..end), arrival_ms, shard });
            start = end + 1;
        }
        let batches = records.chunks(BATCH).map(<[Record]>::to_vec).collect();
        let ledger = Arc::new(Ledger::open(&dir.join("sql-stage.ledger")).expect("ledger"));
        let cx = BuildContext { base_dir: dir.to_path_buf(), data_dir: dir.to_path_buf(), ledger, name: "app".into() };
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        SqlStage { runtime, batches, config, cx }
    }

    /// A fresh copy of the input batches for one [`run`](Self::run), made outside the measured time.
    pub fn input(&self) -> Vec<Vec<Record>> {
        self.batches.clone()
    }

    /// Runs `batches` through a freshly built application; returns the output records, each acknowledged.
    pub fn run(&self, batches: Vec<Vec<Record>>) -> u64 {
        let sql = find(PluginKind::Application, "sql").expect("the sql plugin is registered");
        let Ok(Built::Application(app)) = sql.build(&self.config, &self.cx) else { panic!("build the application") };
        let reader = MemoryReader { batches: batches.into_iter() };
        let (tracker, _committed) = AckTracker::new(1);
        let input = ConsumerInput::new(Box::new(reader), tracker, Arc::new(StageMetrics::default()));
        self.runtime.block_on(async move {
            let (sender, mut deliveries) = tokio::sync::mpsc::channel(4);
            let output = Output { destination: "bucket".into(), sink: 0, sender };
            let running = tokio::spawn(app.run(input, vec![output]));
            let mut records = 0;
            while let Some(delivery) = deliveries.recv().await {
                records += delivery.records.len() as u64;
                delivery.ack.acknowledge();
            }
            running.await.expect("join").expect("the application runs");
            records
        })
    }
}

/// A stream reader over batches in memory.
struct MemoryReader {
    batches: std::vec::IntoIter<Vec<Record>>,
}

#[async_trait::async_trait]
impl StreamReader for MemoryReader {
    async fn next_batch(&mut self, _max_records: usize) -> Result<Option<ReadBatch>, StreamError> {
        Ok(self.batches.next().map(|records| ReadBatch { records, positions: Default::default() }))
    }
}

#[derive(Deserialize)]
struct Metrics<'a> {
    timestamp: &'a str,
    #[serde(rename = "requests_newUsers_newOrders_churnUsers")]
    values: &'a str,
}

/// The seed transform written by hand, one thread: parse each line into borrowed fields, split the metrics,
/// format the timestamp as `yyyy-MM-dd hh:mm:ss` (a 12-hour clock) byte by byte, write one JSON object per
/// line through one reused buffer. Returns the lines written.
pub fn hand_written(input: &Path, output: &Path) -> u64 {
    let everything = 0..std::fs::metadata(input).expect("input").len();
    hand_written_part(input, everything, output)
}

/// [`hand_written`] on every core: the input cut into one part per core at line ends, each part transformed by
/// a thread of its own into a file of its own (`output` with the part's number appended). The most any
/// program doing this work in this way can reach on the machine: the cores' shared caches, memory bandwidth and
/// the hypervisor's scheduling are in it. Returns the lines written.
pub fn hand_written_on_every_core(input: &Path, output: &Path) -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let data = std::fs::read(input).expect("input");
    let mut cuts = vec![0u64];
    for part in 1..cores {
        let from = data.len() * part / cores;
        let end = memchr::memchr(b'\n', &data[from..]).map_or(data.len(), |at| from + at + 1);
        cuts.push(end as u64);
    }
    cuts.push(data.len() as u64);
    std::thread::scope(|scope| {
        let parts: Vec<_> = cuts
            .windows(2)
            .enumerate()
            .map(|(part, cut)| {
                let output = output.with_extension(format!("part{part}"));
                scope.spawn(move || hand_written_part(input, cut[0]..cut[1], &output))
            })
            .collect();
        parts.into_iter().map(|part| part.join().expect("a part")).sum()
    })
}

/// [`hand_written`] on the bytes `range` of `input`, which starts at a line's start and ends at a line's end.
fn hand_written_part(input: &Path, range: std::ops::Range<u64>, output: &Path) -> u64 {
    let mut file = std::fs::File::open(input).expect("input");
    file.seek(std::io::SeekFrom::Start(range.start)).expect("seek");
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file.take(range.end - range.start));
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(output).expect("output"));
    let (mut line, mut out, mut lines) = (Vec::new(), Vec::with_capacity(256), 0);
    while reader.read_until(b'\n', &mut line).expect("read") > 0 {
        let record: Metrics<'_> = serde_json::from_slice(&line).expect("a reference record");
        let t = record.timestamp.as_bytes();
        out.clear();
        out.extend_from_slice(b"{\"timestamp\":\"");
        out.extend_from_slice(&t[..10]);
        out.push(b' ');
        let hour = (t[11] - b'0') * 10 + (t[12] - b'0');
        let hour12 = if hour.is_multiple_of(12) { 12 } else { hour % 12 };
        out.extend_from_slice(&[b'0' + hour12 / 10, b'0' + hour12 % 10]);
        out.extend_from_slice(&t[13..19]);
        out.push(b'"');
        for (name, value) in ["requests", "new_users", "new_orders", "new_churns"].iter().zip(record.values.split(','))
        {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":\"");
            out.extend_from_slice(value.as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b"}\n");
        writer.write_all(&out).expect("write");
        line.clear();
        lines += 1;
    }
    writer.into_inner().map_err(|e| e.into_error()).expect("flush").sync_all().expect("sync");
    lines
}

/// The 1-minute tumbling SUM/COUNT written by hand, one thread: parse each line into borrowed fields, take the
/// minute from the timestamp's bytes and the requests from the text before the first comma, add them up per
/// minute (the records are in time order) and write one JSON line per minute through one reused buffer.
/// Returns the lines written.
pub fn hand_written_tumbling(input: &Path, output: &Path) -> u64 {
    let mut reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(input).expect("input"));
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(output).expect("output"));
    let (mut line, mut out, mut lines) = (Vec::new(), Vec::with_capacity(256), 0);
    let mut current: Option<([u8; 16], u64, u64)> = None;
    let mut flush = |minute: &[u8; 16], sum: u64, count: u64, out: &mut Vec<u8>| {
        out.clear();
        out.extend_from_slice(b"{\"minute\":\"");
        out.extend_from_slice(&minute[..10]);
        out.push(b' ');
        out.extend_from_slice(&minute[11..16]);
        // 334 lines in all: formatting them is not what is measured.
        writeln!(out, ":00.000\",\"requests\":{sum},\"records\":{count}}}").expect("format");
        writer.write_all(out).expect("write");
    };
    while reader.read_until(b'\n', &mut line).expect("read") > 0 {
        let record: Metrics<'_> = serde_json::from_slice(&line).expect("a reference record");
        let mut minute = [0u8; 16];
        minute.copy_from_slice(&record.timestamp.as_bytes()[..16]);
        let first = record.values.split(',').next().unwrap_or_default();
        let requests: u64 = first.parse().expect("requests");
        match &mut current {
            Some((open, sum, count)) if *open == minute => {
                *sum += requests;
                *count += 1;
            }
            _ => {
                if let Some((open, sum, count)) = current.take() {
                    flush(&open, sum, count, &mut out);
                    lines += 1;
                }
                current = Some((minute, requests, 1));
            }
        }
        line.clear();
    }
    if let Some((open, sum, count)) = current {
        flush(&open, sum, count, &mut out);
        lines += 1;
    }
    writer.into_inner().map_err(|e| e.into_error()).expect("flush").sync_all().expect("sync");
    lines
}
