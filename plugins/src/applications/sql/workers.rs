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
//! exactly what one runner would make of the whole batch, in the same order. A program that is not stateless
//! gets one worker: when it sets ROWTIME itself, the order rows arrive in decides which are out of order, and a
//! GROUP BY window must see every row of its window. That worker also hears the clock ([`WorkerPool::advance`])
//! and the end of input ([`WorkerPool::finish`]), which close windows. Mapping records to rows is stateless even
//! then: on a machine with more than one core, a second thread maps that worker's batch ahead of it, chunk by
//! chunk, and the worker only pushes the rows, in input order ([`MapAhead`]).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use bytes::Bytes;
use sluice_core::runtime::component::RunError;
use sluice_core::runtime::metrics::StageMetrics;
use sluice_core::runtime::record::{Positions, Record};
use sluice_sql::engine::{Program, Runner, StreamId};
use sluice_sql::input::{InputMapping, RowPool};
use sluice_sql::output::RowWriter;
use sluice_sql::value::Value;
use tokio::sync::oneshot;

use super::holdback::{HoldBack, restored_marks};
use super::map_ahead::{MAP_CHUNK, MapAhead};
use super::rows::{advance, finish, map_record, push_mapped};
use super::run::OutputPlan;
use super::tapped::TapPlan;

/// Where ERROR_NAME is in an error_stream row ([`sluice_sql::error_stream::error_stream_columns`]).
const ERROR_NAME_COLUMN: usize = 2;

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
    /// The taps on in-app streams (`--tap`); usually none.
    pub taps: Vec<TapPlan>,
    /// The application's counters: the window state size goes there.
    pub metrics: Arc<StageMetrics>,
    /// The checkpoint the input starts after: a program with GROUP BY windows restores from it.
    pub checkpoint: Positions,
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
            let record = Record { partition_key, data: data.slice(start..end), arrival_ms, shard: None };
            start = end;
            record
        }));
    }
}

/// A worker's result for one chunk: per output its records, and how many rows failed.
struct ChunkResult {
    outputs: Vec<OutputBatch>,
    failed: u64,
    hold: Option<Hold>,
}

/// One batch's result: per output (in the pipeline file's order) its records, and how many rows failed.
pub struct BatchResult {
    /// Per output, the records for its destination.
    pub outputs: Vec<Vec<Record>>,
    /// Rows that went to error_stream.
    pub failed: u64,
    /// A program with GROUP BY windows: what its outputs may acknowledge after this job.
    pub hold: Option<Hold>,
}

/// What a program with GROUP BY windows may acknowledge after a job ([`super::holdback`]).
#[derive(Debug, Clone)]
pub struct Hold {
    /// The mark of the oldest input record an open window holds (`None`: none is open).
    pub held: Option<u64>,
    /// For outputs fed by windows: the positions just before that record, with the windows' marks.
    pub positions: Arc<Positions>,
    /// The windows' marks alone, which every output's acks carry.
    pub marks: Vec<(String, i64)>,
}

struct Job {
    work: Work,
    reply: oneshot::Sender<ChunkResult>,
}

/// What a worker is asked to do.
enum Work {
    /// Run a chunk of a batch.
    Records {
        records: Arc<Vec<Record>>,
        range: Range<usize>,
        /// The ROWTIME the rows before this chunk reached.
        rowtime_before: i64,
        /// The input mark of the batch's first record, and the stream's positions after the batch.
        marked: Option<(u64, Arc<Positions>)>,
    },
    /// The time is now this: close the windows that end by then.
    Clock(i64),
    /// The input ended: close every window.
    Finish,
}

/// The application's worker threads. Dropping the pool ends them once their current chunk is done.
pub struct WorkerPool {
    workers: Vec<mpsc::Sender<Job>>,
    outputs: usize,
    /// The ROWTIME the last batch reached: ROWTIME is the records' arrival, kept monotonic.
    rowtime: i64,
    /// The input records submitted so far: the next batch's first mark.
    marks: u64,
}

impl WorkerPool {
    /// Starts the workers: one per core for a program whose rows are independent, else one.
    pub fn start(shared: Shared, name: &str) -> Result<WorkerPool, RunError> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        WorkerPool::with_workers(shared, name, cores)
    }

    /// Starts up to `count` workers (one unless the program is stateless; that one maps its records on a second
    /// thread when `count` allows).
    fn with_workers(shared: Shared, name: &str, count: usize) -> Result<WorkerPool, RunError> {
        let stateless = shared.program.is_stateless();
        let map_ahead = !stateless && count > 1;
        let count = if stateless { count.max(1) } else { 1 };
        let outputs = shared.plans.len();
        let shared = Arc::new(shared);
        let mut workers = Vec::with_capacity(count);
        let cannot_start = |e: std::io::Error| RunError(format!("application `{name}`: cannot start a thread: {e}"));
        for index in 0..count {
            let (jobs, inbox) = mpsc::channel::<Job>();
            let worker = format!("sql-{name}-{index}");
            let mapper = match map_ahead {
                true => Some(MapAhead::start(Arc::clone(&shared), format!("{worker}-map")).map_err(cannot_start)?),
                false => None,
            };
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(worker)
                .spawn(move || work(&shared, &inbox, mapper.as_ref()))
                .map_err(cannot_start)?;
            workers.push(jobs);
        }
        Ok(WorkerPool { workers, outputs, rowtime: i64::MIN, marks: 0 })
    }

    /// Hands one batch to the workers, split into chunks; [`PendingBatch::finish`] waits for its rows, which come
    /// back in input order. Batches may be submitted before earlier ones finish: each worker takes its chunks
    /// in order.
    #[cfg(test)]
    pub fn submit(&mut self, records: Vec<Record>) -> Result<PendingBatch, RunError> {
        self.submit_at(records, None)
    }

    /// [`WorkerPool::submit`] for a batch after which the stream is at `positions`: a program with GROUP BY
    /// windows reports, with the batch's rows, what its outputs may acknowledge ([`BatchResult::hold`]).
    pub fn submit_at(
        &mut self,
        records: Vec<Record>,
        positions: Option<Arc<Positions>>,
    ) -> Result<PendingBatch, RunError> {
        let first_mark = self.marks;
        self.marks += records.len() as u64;
        let chunk = records.len().div_ceil(self.workers.len()).max(MIN_CHUNK);
        let records = Arc::new(records);
        let mut replies = Vec::with_capacity(self.workers.len());
        for (worker, start) in self.workers.iter().zip((0..records.len()).step_by(chunk)) {
            let range = start..(start + chunk).min(records.len());
            let rowtime_before = self.rowtime;
            self.rowtime = records[range.clone()].iter().fold(self.rowtime, |max, r| max.max(r.arrival_ms));
            let (reply, result) = oneshot::channel();
            // Only a single worker (a program with windows) gets positions: it runs the whole batch.
            let marked = positions.clone().filter(|_| self.workers.len() == 1).map(|p| (first_mark, p));
            let work = Work::Records { records: Arc::clone(&records), range, rowtime_before, marked };
            worker.send(Job { work, reply }).map_err(|_| stopped())?;
            replies.push(result);
        }
        Ok(PendingBatch { replies, outputs: self.outputs, marks: first_mark..self.marks })
    }

    /// Tells the (single) worker of a program with windows that the time is `clock_ms`; the rows of the windows
    /// that closed come back like a batch's.
    pub fn advance(&mut self, clock_ms: i64) -> Result<PendingBatch, RunError> {
        self.send_first(Work::Clock(clock_ms))
    }

    /// Tells the worker the input ended: every open window closes.
    pub fn finish(&mut self) -> Result<PendingBatch, RunError> {
        self.send_first(Work::Finish)
    }

    fn send_first(&mut self, work: Work) -> Result<PendingBatch, RunError> {
        let (reply, result) = oneshot::channel();
        self.workers.first().ok_or_else(stopped)?.send(Job { work, reply }).map_err(|_| stopped())?;
        Ok(PendingBatch { replies: vec![result], outputs: self.outputs, marks: self.marks..self.marks })
    }
}

/// A batch the workers are running.
pub struct PendingBatch {
    replies: Vec<oneshot::Receiver<ChunkResult>>,
    outputs: usize,
    /// The input marks of its records (empty for the clock and the end of input).
    pub marks: Range<u64>,
}

impl PendingBatch {
    /// Waits for every chunk and puts their rows together, in input order.
    pub async fn finish(self) -> Result<BatchResult, RunError> {
        let mut batch = BatchResult { outputs: (0..self.outputs).map(|_| Vec::new()).collect(), failed: 0, hold: None };
        for reply in self.replies {
            let chunk = reply.await.map_err(|_| stopped())?;
            batch.failed += chunk.failed;
            batch.hold = batch.hold.or(chunk.hold);
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

/// The partition key of records a window emits on the clock or at the end of input, when no input record
/// caused them.
const WINDOW_KEY: &str = "window";

/// A record's rows, as the runner takes them.
type Rows<'a> = dyn Iterator<Item = Vec<Value>> + 'a;

/// A worker's loop: chunks in, output batches out, until the pool is dropped. With a `mapper`, a batch big
/// enough is mapped on its thread ([`MapAhead`]).
fn work(shared: &Shared, inbox: &mpsc::Receiver<Job>, mapper: Option<&MapAhead>) {
    let mut runner = shared.program.runner();
    let writers: Vec<RowWriter> = shared.plans.iter().map(|p| RowWriter::new(p.format, &p.columns)).collect();
    let streams: Vec<Option<StreamId>> = shared.plans.iter().map(|p| p.stream).collect();
    // Per output, bytes per input record in the last chunk: the next chunk's buffer starts about that big.
    let mut bytes_per_record = vec![0usize; shared.plans.len()];
    let (mut rows, mut pool): (Vec<Vec<Value>>, RowPool) = (Vec::new(), RowPool::default());
    let window_key: Arc<str> = Arc::from(WINDOW_KEY);
    let windows = shared.program.has_windows();
    // GROUP BY windows hold input back from the checkpoint, and restore what they emitted before a restart.
    let mut hold = shared.program.has_group_windows().then(|| HoldBack::new(&shared.checkpoint));
    let restored = restored_marks(&shared.checkpoint);
    if hold.is_some() && !restored.is_empty() {
        tracing::info!(windows = ?restored, "restarting after windows emitted through these ROWTIMEs (ms)");
        runner.restore_windows(&restored);
    }
    while let Ok(Job { work, reply }) = inbox.recv() {
        let count = match &work {
            Work::Records { range, .. } => range.len(),
            Work::Clock(_) | Work::Finish => 0,
        };
        let mut outputs: Vec<OutputBatch> = bytes_per_record
            .iter()
            .map(|&per| OutputBatch {
                data: Vec::with_capacity(per * count + per * count / 8),
                ends: Vec::with_capacity(if per > 0 { count } else { 0 }),
            })
            .collect();
        let mut failed = 0u64;
        // Per ERROR_NAME, the rows of this chunk that went to error_stream.
        let mut error_kinds: Vec<(Value, u64)> = Vec::new();
        // Rows reaching an output's in-app stream (or error_stream: `None`) become that output's records, with
        // the key and arrival time of the record that made them (a window's own end when the clock did).
        let mut write = |cause: Option<&Record>, stream: Option<StreamId>, rowtime: i64, values: &[Value]| {
            if stream.is_none() {
                failed += 1;
                let kind = values.get(ERROR_NAME_COLUMN).unwrap_or(&Value::Null);
                match error_kinds.iter_mut().find(|(seen, _)| seen == kind) {
                    Some((_, count)) => *count += 1,
                    None => error_kinds.push((kind.clone(), 1)),
                }
            }
            for tap in &shared.taps {
                tap.offer(stream, rowtime, values);
            }
            let (key, arrival_ms) = cause.map_or((&window_key, rowtime), |r| (&r.partition_key, r.arrival_ms));
            for ((wanted, writer), batch) in streams.iter().zip(&writers).zip(outputs.iter_mut()) {
                if *wanted == stream {
                    writer.write(values, &mut batch.data);
                    let end = batch.data.len();
                    batch.ends.push((end, Arc::clone(key), arrival_ms));
                }
            }
        };
        let mut ran: Option<(Arc<Vec<Record>>, u64, Arc<Positions>)> = None;
        match work {
            Work::Records { records, range, rowtime_before, marked } => {
                let mut rowtime = rowtime_before;
                let first_mark = marked.as_ref().map_or(0, |(mark, _)| *mark);
                // One record's rows through the runner, in input order.
                let mut run_record = |runner: &mut Runner<'_>,
                                      index: usize,
                                      mapped: Result<usize, String>,
                                      rows: &mut Rows<'_>,
                                      pool: &mut RowPool| {
                    let record = &records[index];
                    rowtime = rowtime.max(record.arrival_ms);
                    runner.set_input_mark(first_mark + index as u64);
                    let mut emit = |stream, at, values: &[Value]| write(Some(record), stream, at, values);
                    push_mapped(runner, record, mapped, rows, rowtime, pool, &mut emit);
                };
                if let Some(mapper) = mapper.filter(|_| range.len() >= 2 * MAP_CHUNK) {
                    mapper.run(&records, range, |chunk| {
                        let mut rows = chunk.rows.drain(..);
                        for (offset, mapped) in chunk.outcomes.drain(..).enumerate() {
                            run_record(&mut runner, chunk.start + offset, mapped, &mut rows, &mut chunk.pool);
                        }
                    });
                } else {
                    for index in range {
                        rows.clear();
                        let mapped =
                            map_record(&shared.mapping, &records[index], &mut rows, &mut pool).map(|()| rows.len());
                        run_record(&mut runner, index, mapped, &mut rows.drain(..), &mut pool);
                    }
                }
                ran = marked.map(|(mark, positions)| (records, mark, positions));
            }
            Work::Clock(clock_ms) => advance(&mut runner, clock_ms, &mut |s, at, v| write(None, s, at, v)),
            Work::Finish => finish(&mut runner, &mut |s, at, v| write(None, s, at, v)),
        }
        let hold = hold.as_mut().map(|hold| {
            match ran {
                Some((records, first_mark, after)) => {
                    hold.ran_batch(&records, first_mark, &after, runner.open_window_marks());
                }
                None => hold.ran_clock(runner.open_window_marks()),
            }
            let (held, marks) = (runner.held_since(), runner.window_marks());
            Hold { held, positions: Arc::new(hold.acknowledgeable(held, &marks)), marks }
        });
        if windows {
            shared.metrics.window_groups.store(runner.window_groups() as u64, Ordering::Relaxed);
        }
        // Rows that went to error_stream are the application's errors, by ERROR_NAME (the summary and `--metrics`
        // show them).
        for (kind, count) in &error_kinds {
            let kind = match kind {
                Value::String(name) => name,
                _ => "unknown",
            };
            shared.metrics.add_errors(kind, *count);
        }
        if count > 0 {
            for (per, batch) in bytes_per_record.iter_mut().zip(&outputs) {
                *per = batch.data.len().div_ceil(count);
            }
        }
        // The pool may have gone (the run is stopping): nobody waits for this chunk then.
        let _ = reply.send(ChunkResult { outputs, failed, hold });
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
        Shared {
            program: Arc::new(compiled.program),
            mapping: compiled.mapping,
            plans,
            taps: Vec::new(),
            metrics: Arc::default(),
            checkpoint: Positions::new(),
        }
    }

    fn records(arrivals: impl Iterator<Item = i64>) -> Vec<Record> {
        let key: Arc<str> = Arc::from("k");
        arrivals
            .enumerate()
            .map(|(id, arrival_ms)| Record {
                partition_key: Arc::clone(&key),
                data: Bytes::from(format!("{{\"id\": {id}}}")),
                arrival_ms,
                shard: Some(0),
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
        let shared = shared(sql);
        let metrics = Arc::clone(&shared.metrics);
        let mut pool = WorkerPool::with_workers(shared, "test", 4).expect("pool");
        assert_eq!(pool.workers.len(), 1);
        let mut records = records(std::iter::repeat_n(1_000_000, 600));
        records.push(Record { data: Bytes::from_static(b"not json"), ..records[0].clone() });
        let batch = pool.submit(records).expect("submit").finish().await;
        let batch = batch.expect("batch");
        assert_eq!(lines(&batch.outputs[0]), ["0"], "each later row goes a second back in time");
        assert_eq!((batch.outputs[1].len(), batch.failed), (600, 600));
        let kinds = [("Mapping_Error".to_owned(), 1), ("Out_Of_Order_Rowtime".to_owned(), 599)];
        assert_eq!(metrics.errors_by_kind(), kinds, "the stage's errors, by ERROR_NAME");
        assert_eq!(metrics.errors.load(Ordering::Relaxed), 600);
        let columns = sluice_sql::error_stream::error_stream_columns();
        assert_eq!(columns[ERROR_NAME_COLUMN].0, "ERROR_NAME");
    }

    #[tokio::test]
    async fn a_program_with_windows_runs_on_one_worker_and_closes_windows_on_the_clock_and_at_the_end() {
        let sql = r#"
            CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("windows" BIGINT);
            CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
            SELECT STREAM COUNT(*) FROM "SOURCE_SQL_STREAM_001"
            GROUP BY STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);"#;
        let mut pool = WorkerPool::with_workers(shared(sql), "test", 4).expect("pool");
        assert_eq!(pool.workers.len(), 1);
        // 1,500 records in the second [1 s, 2 s), then 10 in [2 s, 3 s): the first window closes on a row.
        let arrivals = (0..1_510).map(|i| if i < 1_500 { 1_000 + i % 1_000 } else { 2_000 });
        let batch = pool.submit(records(arrivals)).expect("submit").finish().await.expect("batch");
        assert_eq!(lines(&batch.outputs[0]), ["1500"]);
        assert_eq!(batch.outputs[0][0].arrival_ms, 2_000, "the record that closed it");
        // The clock closes the second window with no row after it; its record has the window's end as arrival.
        let quiet = pool.advance(2_999).expect("advance").finish().await.expect("tick");
        assert!(quiet.outputs[0].is_empty(), "not yet");
        let tick = pool.advance(3_000).expect("advance").finish().await.expect("tick");
        assert_eq!(lines(&tick.outputs[0]), ["10"]);
        assert_eq!((tick.outputs[0][0].arrival_ms, &*tick.outputs[0][0].partition_key), (3_000, WINDOW_KEY));
        // A window still open at the end of input closes then.
        pool.submit(records([5_500].into_iter())).expect("submit").finish().await.expect("batch");
        let end = pool.finish().expect("finish").finish().await.expect("end");
        assert_eq!(lines(&end.outputs[0]), ["1"]);
    }

    /// Everything a batch gives back, as text: per output its records (data, key, arrival), failures and hold.
    fn outcome(batch: &BatchResult) -> String {
        let outputs: Vec<Vec<(String, String, i64)>> = batch
            .outputs
            .iter()
            .map(|records| {
                let record = |r: &Record| {
                    (String::from_utf8_lossy(&r.data).into_owned(), r.partition_key.to_string(), r.arrival_ms)
                };
                records.iter().map(record).collect()
            })
            .collect();
        let hold = batch.hold.as_ref().map(|h| (h.held, h.marks.clone()));
        format!("{outputs:?} failed {} hold {hold:?}", batch.failed)
    }

    #[tokio::test]
    async fn a_stateful_batch_mapped_ahead_on_a_second_thread_gives_what_one_thread_gives() {
        // Windows of one second close in the middle of the batch (on rows), records fail mapping here and there,
        // a row fails in the pump (id 0 divides), arrival goes back in time: all must come out in the same order.
        let sql = r#"
            CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("n" BIGINT, "total" BIGINT, "inverse" INTEGER);
            CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
            SELECT STREAM COUNT(*), SUM("id"), MIN(1000 / ("id" % 700)) FROM "SOURCE_SQL_STREAM_001"
            GROUP BY "id" / 500, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);"#;
        let batch = || {
            let arrivals = (0..3_000).map(|i| if i == 1_700 { 0 } else { 1_000 + i * 2 });
            let mut records = records(arrivals);
            for bad in [0, 255, 256, 257, 1_234, 2_999] {
                records[bad].data = Bytes::from_static(b"{\"id\": \"not a number\"}");
            }
            records
        };
        let run = |count: usize| async move {
            let mut pool = WorkerPool::with_workers(shared(sql), "test", count).expect("pool");
            let positions = Arc::new(Positions::new());
            let mut outcomes = Vec::new();
            for _ in 0..2 {
                let pending = pool.submit_at(batch(), Some(Arc::clone(&positions))).expect("submit");
                outcomes.push(outcome(&pending.finish().await.expect("batch")));
            }
            outcomes.push(outcome(&pool.finish().expect("finish").finish().await.expect("end")));
            outcomes
        };
        let (alone, ahead) = (run(1).await, run(2).await);
        assert!(alone[0].contains("Mapping_Error") && alone[0].contains("Data_Error"), "{}", alone[0]);
        assert!(alone[0].contains("held: Some") || alone[0].contains("hold Some"), "{}", alone[0]);
        assert_eq!(ahead, alone);
    }

    #[test]
    fn chunks_mapped_ahead_come_back_with_their_rows_buffers_for_later_chunks_and_batches() {
        use super::super::map_ahead::CHUNKS_GOING_ROUND;
        let mapper = MapAhead::start(Arc::new(shared(PASS_THROUGH)), "test-map".into()).expect("mapping thread");
        let mut records = records(0..(MAP_CHUNK as i64 * (CHUNKS_GOING_ROUND as i64 + 3)));
        records[MAP_CHUNK * 2 + 7].data = Bytes::from_static(b"{\"id\": \"not a number\"}");
        let records = Arc::new(records);
        let mut seen = Vec::new();
        for batch in 0..2 {
            let (mut pushed, mut reused, mut failed) = (0, 0, 0);
            mapper.run(&records, 0..records.len(), |chunk| {
                for (offset, outcome) in chunk.outcomes.iter().enumerate() {
                    let index = chunk.start + offset;
                    match outcome {
                        Ok(count) => assert_eq!(*count, 1, "record {index}"),
                        Err(message) => {
                            assert_eq!(index, MAP_CHUNK * 2 + 7);
                            assert!(message.contains("`id`"), "{message}");
                            failed += 1;
                        }
                    }
                }
                for row in chunk.rows.drain(..) {
                    assert_eq!(row.len(), 3, "id, arrival and shard");
                    reused += usize::from(seen.contains(&row.as_ptr()));
                    seen.push(row.as_ptr());
                    chunk.pool.give(row);
                    pushed += 1;
                }
            });
            assert_eq!((pushed, failed), (records.len() - 1, 1), "batch {batch}");
            if batch == 0 {
                // Every chunk after the first few is one pushed before, its rows in the buffers of earlier rows;
                // but the third came back with a buffer fewer (its failed record's buffer went to its next record).
                assert_eq!(reused, 3 * MAP_CHUNK - 1);
            } else {
                // The chunks go on round across batches: every row of the second batch is in a reused buffer.
                assert_eq!(reused, pushed);
            }
        }
    }
}
