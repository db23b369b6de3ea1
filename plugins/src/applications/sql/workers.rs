//! The threads that do an sql application's work: map records, run them through the program, write rows.
//!
//! ```text
//!                         ┌─ chunk 0 ─▶ worker 0: map ─▶ Runner ─▶ RowWriter ─┐
//!  batch (4096 records) ──┤                                                    ├──▶ output batches, in order
//!                         └─ chunk 1 ─▶ worker 1: map ─▶ Runner ─▶ RowWriter ─┘
//! ```
//!
//! Each worker is an OS thread with its own [`Runner`], so the application's CPU work stays off the async
//! runtime that moves records between stages, and a stateless program uses every core. A batch is cut into
//! one chunk per worker; each chunk starts from the ROWTIME the rows before it reached, so the result is
//! exactly what one runner would make of the whole batch, in the same order. A program that sets ROWTIME
//! itself gets one worker, because there the order rows arrive in decides which are out of order.

use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc;

use bytes::Bytes;
use sluice_core::runtime::component::RunError;
use sluice_core::runtime::record::Record;
use sluice_sql::engine::{Program, StreamId};
use sluice_sql::input::InputMapping;
use sluice_sql::output::RowWriter;
use sluice_sql::value::Value;
use tokio::sync::oneshot;

use super::rows::push_record;
use super::run::OutputPlan;

/// Below this many records a batch is not split: handing out a chunk costs more than it saves.
const MIN_CHUNK: usize = 256;

/// What every worker reads: the program, the input mapping and the outputs.
pub struct Shared {
    /// The compiled SQL.
    pub program: Arc<Program>,
    /// Records to rows.
    pub mapping: InputMapping,
    /// The outputs, in the pipeline file's order.
    pub plans: Vec<OutputPlan>,
}

/// The records one output gets from one chunk: rows written back to back into one buffer, sliced into records
/// once the chunk is done.
#[derive(Default)]
struct OutputBatch {
    data: Vec<u8>,
    /// Per record: where its bytes end in `data`, its partition key and arrival time.
    ends: Vec<(usize, Arc<str>, i64)>,
}

impl OutputBatch {
    fn into_records(self, records: &mut Vec<Record>) {
        let data = Bytes::from(self.data);
        let mut start = 0;
        records.extend(self.ends.into_iter().map(|(end, partition_key, arrival_ms)| {
            let record = Record { partition_key, data: data.slice(start..end), arrival_ms };
            start = end;
            record
        }));
    }
}

/// A worker's result for one chunk: per output its records, and how many rows failed.
struct ChunkResult {
    outputs: Vec<OutputBatch>,
    failed: u64,
}

/// One batch's result: per output (in the pipeline file's order) its records, and how many rows failed.
pub struct BatchResult {
    /// Per output, the records for its destination.
    pub outputs: Vec<Vec<Record>>,
    /// Rows that went to error_stream.
    pub failed: u64,
}

struct Job {
    records: Arc<Vec<Record>>,
    range: Range<usize>,
    /// The ROWTIME the rows before this chunk reached.
    rowtime_before: i64,
    reply: oneshot::Sender<ChunkResult>,
}

/// The application's worker threads. Dropping the pool ends them once their current chunk is done.
pub struct WorkerPool {
    workers: Vec<mpsc::Sender<Job>>,
    outputs: usize,
    /// The ROWTIME the last batch reached: ROWTIME is the records' arrival, kept monotonic.
    rowtime: i64,
}

impl WorkerPool {
    /// Starts the workers: one per core for a program whose rows are independent, else one.
    pub fn start(shared: Shared, name: &str) -> Result<WorkerPool, RunError> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        WorkerPool::with_workers(shared, name, cores)
    }

    /// Starts up to `count` workers (one if the program sets ROWTIME).
    fn with_workers(shared: Shared, name: &str, count: usize) -> Result<WorkerPool, RunError> {
        let count = if shared.program.sets_rowtime() { 1 } else { count.max(1) };
        let outputs = shared.plans.len();
        let shared = Arc::new(shared);
        let mut workers = Vec::with_capacity(count);
        for index in 0..count {
            let (jobs, inbox) = mpsc::channel::<Job>();
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("sql-{name}-{index}"))
                .spawn(move || work(&shared, &inbox))
                .map_err(|e| RunError(format!("application `{name}`: cannot start a worker thread: {e}")))?;
            workers.push(jobs);
        }
        Ok(WorkerPool { workers, outputs, rowtime: i64::MIN })
    }

    /// Hands one batch to the workers, split into chunks; [`PendingBatch::finish`] waits for its rows, which come
    /// back in input order. Batches may be submitted before earlier ones finish: each worker takes its chunks
    /// in order.
    pub fn submit(&mut self, records: Vec<Record>) -> Result<PendingBatch, RunError> {
        let chunk = records.len().div_ceil(self.workers.len()).max(MIN_CHUNK);
        let records = Arc::new(records);
        let mut replies = Vec::with_capacity(self.workers.len());
        for (worker, start) in self.workers.iter().zip((0..records.len()).step_by(chunk)) {
            let range = start..(start + chunk).min(records.len());
            let rowtime_before = self.rowtime;
            self.rowtime = records[range.clone()].iter().fold(self.rowtime, |max, r| max.max(r.arrival_ms));
            let (reply, result) = oneshot::channel();
            let job = Job { records: Arc::clone(&records), range, rowtime_before, reply };
            worker.send(job).map_err(|_| stopped())?;
            replies.push(result);
        }
        Ok(PendingBatch { replies, outputs: self.outputs })
    }
}

/// A batch the workers are running.
pub struct PendingBatch {
    replies: Vec<oneshot::Receiver<ChunkResult>>,
    outputs: usize,
}

impl PendingBatch {
    /// Waits for every chunk and puts their rows together, in input order.
    pub async fn finish(self) -> Result<BatchResult, RunError> {
        let mut batch = BatchResult { outputs: (0..self.outputs).map(|_| Vec::new()).collect(), failed: 0 };
        for reply in self.replies {
            let chunk = reply.await.map_err(|_| stopped())?;
            batch.failed += chunk.failed;
            for (records, output) in batch.outputs.iter_mut().zip(chunk.outputs) {
                output.into_records(records);
            }
        }
        Ok(batch)
    }
}

fn stopped() -> RunError {
    RunError("an sql worker thread stopped unexpectedly".into())
}

/// A worker's loop: chunks in, output batches out, until the pool is dropped.
fn work(shared: &Shared, inbox: &mpsc::Receiver<Job>) {
    let mut runner = shared.program.runner();
    let writers: Vec<RowWriter> = shared.plans.iter().map(|p| RowWriter::new(p.format, &p.columns)).collect();
    let streams: Vec<Option<StreamId>> = shared.plans.iter().map(|p| p.stream).collect();
    // Per output, bytes per input record in the last chunk: the next chunk's buffer starts about that big.
    let mut bytes_per_record = vec![0usize; shared.plans.len()];
    let mut rows: Vec<Vec<Value>> = Vec::new();
    while let Ok(Job { records, range, rowtime_before, reply }) = inbox.recv() {
        let records = &records[range];
        let mut outputs: Vec<OutputBatch> = bytes_per_record
            .iter()
            .map(|&per| OutputBatch {
                data: Vec::with_capacity(per * records.len() + per * records.len() / 8),
                ends: Vec::with_capacity(if per > 0 { records.len() } else { 0 }),
            })
            .collect();
        let mut failed = 0u64;
        let mut rowtime = rowtime_before;
        for record in records {
            rowtime = rowtime.max(record.arrival_ms);
            // Rows reaching an output's in-app stream (or error_stream: `None`) become that output's records.
            let mut emit = |stream: Option<StreamId>, _rowtime: i64, values: &[Value]| {
                failed += u64::from(stream.is_none());
                for ((wanted, writer), batch) in streams.iter().zip(&writers).zip(outputs.iter_mut()) {
                    if *wanted == stream {
                        writer.write(values, &mut batch.data);
                        let end = batch.data.len();
                        batch.ends.push((end, Arc::clone(&record.partition_key), record.arrival_ms));
                    }
                }
            };
            push_record(&mut runner, &shared.mapping, &record.data, record.arrival_ms, rowtime, &mut rows, &mut emit);
        }
        for (per, batch) in bytes_per_record.iter_mut().zip(&outputs) {
            *per = batch.data.len().div_ceil(records.len().max(1));
        }
        // The pool may have gone (the run is stopping): nobody waits for this chunk then.
        let _ = reply.send(ChunkResult { outputs, failed });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applications::sql::SqlConfig;

    /// The application of `sql` over JSON records `{"id": n}`, its outputs DESTINATION_SQL_STREAM and error_stream.
    fn shared(sql: &str) -> Shared {
        let config: SqlConfig = serde_json::from_value(serde_json::json!({
            "input": {"stream": "s", "columns": [{"name": "id", "type": "INTEGER", "path": "$.id"}]},
            "code": sql,
            "outputs": [
                {"stream": "DESTINATION_SQL_STREAM", "destination": "out", "format": "csv"},
                {"stream": "error_stream", "destination": "errors", "format": "csv"},
            ],
        }))
        .expect("config");
        let compiled = config.compile(sql).expect("compiles");
        let plans = config.output_plans(&compiled.program).expect("outputs");
        Shared { program: Arc::new(compiled.program), mapping: compiled.mapping, plans }
    }

    fn records(arrivals: impl Iterator<Item = i64>) -> Vec<Record> {
        let key: Arc<str> = Arc::from("k");
        arrivals
            .enumerate()
            .map(|(id, arrival_ms)| Record {
                partition_key: Arc::clone(&key),
                data: Bytes::from(format!("{{\"id\": {id}}}")),
                arrival_ms,
            })
            .collect()
    }

    fn lines(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| String::from_utf8_lossy(&r.data).trim_end().to_owned()).collect()
    }

    const PASS_THROUGH: &str = r#"
        CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" INTEGER, "t" TIMESTAMP);
        CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
        SELECT STREAM "id", ROWTIME FROM "SOURCE_SQL_STREAM_001" WHERE "id" <> 700;"#;

    #[tokio::test]
    async fn a_batch_split_across_workers_comes_back_whole_and_in_order_with_monotonic_rowtime() {
        let mut pool = WorkerPool::with_workers(shared(PASS_THROUGH), "test", 3).expect("pool");
        assert_eq!(pool.workers.len(), 3);
        // Arrival goes back in time at record 1,000 (in the second chunk): ROWTIME stays at the maximum so far.
        let arrivals = (0..2_000).map(|i| if i < 1_000 { 1_000 + i } else { i });
        let first = pool.submit(records(arrivals)).expect("submit");
        let second = pool.submit(records([5].into_iter())).expect("submit");
        let batch = first.finish().await.expect("first batch");
        let rows = lines(&batch.outputs[0]);
        assert_eq!(rows.len(), 1_999, "every row but the filtered one");
        let ids: Vec<i64> =
            rows.iter().map(|r| r.split(',').next().and_then(|id| id.parse().ok()).expect("id")).collect();
        assert_eq!(ids, (0..2_000).filter(|&i| i != 700).collect::<Vec<_>>());
        assert_eq!(rows[999], "1000,1970-01-01 00:00:01.999", "ROWTIME kept monotonic across chunks");
        assert!(batch.outputs[1].is_empty());
        let next = lines(&second.finish().await.expect("second batch").outputs[0]);
        assert_eq!(next, ["0,1970-01-01 00:00:01.999"], "and across batches");
    }

    #[tokio::test]
    async fn a_program_that_sets_rowtime_runs_on_one_worker_and_reports_out_of_order_rows() {
        let sql = r#"
            CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" INTEGER);
            CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
            SELECT STREAM "id", ROWTIME - "id" * INTERVAL '1' SECOND AS ROWTIME FROM "SOURCE_SQL_STREAM_001";"#;
        let mut pool = WorkerPool::with_workers(shared(sql), "test", 4).expect("pool");
        assert_eq!(pool.workers.len(), 1);
        let batch = pool.submit(records(std::iter::repeat_n(1_000_000, 600))).expect("submit").finish().await;
        let batch = batch.expect("batch");
        assert_eq!(lines(&batch.outputs[0]), ["0"], "each later row goes a second back in time");
        assert_eq!((batch.outputs[1].len(), batch.failed), (599, 599));
    }
}
