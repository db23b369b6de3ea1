//! The running components plugins build, and what the runtime hands each of them.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::ack::{AckTracker, BatchAcks, Delivery};
use super::metrics::StageMetrics;
use super::record::{Positions, PutRecord, Record};
use super::stream::{Stream, StreamError, StreamReader};
use super::tap::Tap;

/// Why a component stopped with an error. The message names the component and what failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RunError(pub String);

impl From<StreamError> for RunError {
    fn from(e: StreamError) -> Self {
        RunError(e.to_string())
    }
}

/// Puts records into a stream until its input ends or the run stops.
#[async_trait]
pub trait Producer: Send {
    /// Runs to the end of its input, or until `cx.stopping()`.
    async fn run(self: Box<Self>, cx: ProducerContext) -> Result<(), RunError>;
}

/// Reads a stream, transforms it, and feeds destinations.
#[async_trait]
pub trait Application: Send {
    /// Runs until its input ends. Every input batch's acks must reach every output (with its records, or
    /// with an empty delivery) so checkpoints advance.
    async fn run(self: Box<Self>, input: ConsumerInput, outputs: Vec<Output>) -> Result<(), RunError>;

    /// The shape of the records each output sends (its columns and their SQL types), for destinations that
    /// write typed files (the `s3` destination's Parquet). Default: unknown.
    fn output_shapes(&self) -> Vec<OutputShape> {
        Vec::new()
    }
}

/// One column of an application output's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// The column's name: the key of its value in a JSON record.
    pub name: String,
    /// Its SQL type as the application declares it (`VARCHAR(16)`, `DECIMAL(10, 2)`, `TIMESTAMP`): text, as core
    /// knows no SQL; the destination that needs it parses it.
    pub sql_type: String,
    /// Whether values may be NULL.
    pub nullable: bool,
}

/// What one application output sends a destination: the shape the topology hands the destination before it runs
/// ([`Destination::accept_input_shapes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputShape {
    /// The application's name.
    pub application: String,
    /// The destination fed.
    pub destination: String,
    /// The in-app stream sent.
    pub stream: String,
    /// The record format: `json` or `csv`.
    pub format: String,
    /// The records' columns, in order.
    pub columns: Vec<OutputColumn>,
}

/// Delivers records outside the pipeline.
#[async_trait]
pub trait Destination: Send {
    /// Runs until `input` closes; then flushes everything buffered and returns.
    async fn run(self: Box<Self>, input: mpsc::Receiver<Delivery>, cx: DestinationContext) -> Result<(), RunError>;

    /// Called once before [`Destination::run`] with the shapes of the application outputs feeding it (none for a
    /// destination reading a stream). Default: ignored.
    fn accept_input_shapes(&mut self, shapes: Vec<OutputShape>) {
        let _ = shapes;
    }

    /// Called once before `run`, before any consumer opens its reader: what this destination already made
    /// durable past its consumers' checkpoints (a crash between publishing and checkpointing), per consumer
    /// and sink ([`AckOrigin`](super::ack::AckOrigin)). When every sink of a consumer reports, the runtime moves
    /// the consumer's checkpoint up to the least of them, so those records are not read again. A destination
    /// that reports must also drop deliveries wholly inside what it reported. Default: nothing.
    async fn recover(&mut self) -> Result<Vec<Recovered>, RunError> {
        Ok(Vec::new())
    }
}

/// What a destination found durable after a restart: everything sink `sink` of `consumer` delivered from
/// input up to `positions` is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The consumer (`application/<name>`, `destination/<name>`).
    pub consumer: String,
    /// The sink number within the consumer.
    pub sink: usize,
    /// Input positions per shard.
    pub positions: super::record::Positions,
}

/// Bounds the records all producers of a run may put (`sluice run --records`).
///
/// Producers reserve records before producing them and give back what they did not use, so one producer's
/// unused reservation never ends another: a producer told "none left" waits while reservations are out.
#[derive(Debug)]
pub struct Budget {
    state: Mutex<BudgetState>,
    returned: Notify,
}

#[derive(Debug)]
struct BudgetState {
    remaining: u64,
    outstanding: u64,
}

impl Budget {
    /// A budget of `limit` records; `None` is unbounded.
    pub fn new(limit: Option<u64>) -> Arc<Self> {
        let state = BudgetState { remaining: limit.unwrap_or(u64::MAX), outstanding: 0 };
        Arc::new(Budget { state: Mutex::new(state), returned: Notify::new() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes up to `wanted` records; 0 once the budget is spent and no reservation is out.
    pub async fn reserve(&self, wanted: usize) -> usize {
        loop {
            let returned = self.returned.notified();
            {
                let mut state = self.lock();
                if state.remaining > 0 {
                    let granted = state.remaining.min(wanted as u64);
                    state.remaining -= granted;
                    state.outstanding += granted;
                    return granted as usize;
                }
                if state.outstanding == 0 {
                    return 0;
                }
            }
            returned.await;
        }
    }

    /// Returns reserved records that were not produced.
    pub fn give_back(&self, unused: usize) {
        let mut state = self.lock();
        state.remaining += unused as u64;
        state.outstanding = state.outstanding.saturating_sub(unused as u64);
        drop(state);
        self.returned.notify_waiters();
    }

    /// Settles reserved records that were produced.
    pub fn used(&self, produced: usize) {
        let mut state = self.lock();
        state.outstanding = state.outstanding.saturating_sub(produced as u64);
        drop(state);
        self.returned.notify_waiters();
    }
}

/// What a producer works with.
pub struct ProducerContext {
    /// The producer's name in the pipeline.
    pub name: String,
    /// The stream it writes to.
    pub stream: Arc<dyn Stream>,
    /// Shared by all producers of the run.
    pub budget: Arc<Budget>,
    /// Cancelled when the run stops (signal, `--duration`).
    pub stop: CancellationToken,
    /// The producer's counters.
    pub metrics: Arc<StageMetrics>,
}

impl ProducerContext {
    /// Takes up to `wanted` records from the run's budget; 0 means stop (budget spent, or the run is
    /// stopping). Give back what is not used.
    pub async fn reserve(&self, wanted: usize) -> usize {
        tokio::select! {
            biased;
            _ = self.stop.cancelled() => 0,
            granted = self.budget.reserve(wanted) => granted,
        }
    }

    /// Returns reserved records that were not produced.
    pub fn give_back(&self, unused: usize) {
        self.budget.give_back(unused);
    }

    /// Puts a batch; `position` is the producer's read position after it, stored with the records.
    pub async fn put(&self, records: Vec<PutRecord>, position: Option<Vec<u8>>) -> Result<(), RunError> {
        let count = records.len() as u64;
        let bytes = records.iter().map(|r| r.data.len() as u64).sum();
        let result = self.stream.put_batch(records, &self.name, position).await;
        self.budget.used(count as usize);
        result?;
        self.metrics.add(count, bytes);
        Ok(())
    }

    /// Where this producer stopped last time, as it stored it.
    pub fn resume_position(&self) -> Option<Vec<u8>> {
        self.stream.producer_position(&self.name)
    }

    /// Whether the run is stopping.
    pub fn stopping(&self) -> bool {
        self.stop.is_cancelled()
    }
}

/// A consumer's view of its input stream: batches, each registered for acknowledgement.
pub struct ConsumerInput {
    reader: Box<dyn StreamReader>,
    tracker: Arc<AckTracker>,
    /// Records per read.
    pub batch_records: usize,
    metrics: Arc<StageMetrics>,
    taps: Vec<(String, Tap)>,
    /// The checkpoint reading started after (empty: none).
    checkpoint: Positions,
    /// Cancelled when the run is stopped from outside (a signal) rather than ending with its input.
    stop: Option<CancellationToken>,
}

impl ConsumerInput {
    /// Wraps `reader`, registering every batch with `tracker`.
    pub fn new(reader: Box<dyn StreamReader>, tracker: Arc<AckTracker>, metrics: Arc<StageMetrics>) -> Self {
        metrics.watch_acks(&tracker);
        ConsumerInput {
            reader,
            tracker,
            batch_records: 4096,
            metrics,
            taps: Vec::new(),
            checkpoint: Positions::new(),
            stop: None,
        }
    }

    /// Tells the consumer where its reader started (its checkpoint, as the stream stored it) and the run's stop
    /// token: an application with windows restores from the one and, stopped by the other, leaves its open
    /// windows to the next run instead of emitting them half full.
    pub fn with_restart(mut self, checkpoint: Option<Positions>, stop: CancellationToken) -> Self {
        if let Some(checkpoint) = checkpoint {
            self.tracker.start_from(&checkpoint);
            self.checkpoint = checkpoint;
        }
        self.stop = Some(stop);
        self
    }

    /// The checkpoint reading started after: positions per shard, and whatever else the consumer's acks stored
    /// with them. Empty when there is none.
    pub fn checkpoint(&self) -> &Positions {
        &self.checkpoint
    }

    /// A token cancelled when the run is stopped from outside (a signal), not by the end of its input.
    pub fn stop_token(&self) -> Option<CancellationToken> {
        self.stop.clone()
    }

    /// Gives the application the taps of its in-app streams (`sluice run --tap app.STREAM`).
    pub fn with_taps(mut self, taps: Vec<(String, Tap)>) -> Self {
        self.taps = taps;
        self
    }

    /// The consumer's counters: an application reports its window state there.
    pub fn metrics(&self) -> &Arc<StageMetrics> {
        &self.metrics
    }

    /// The taps set on the application's in-app streams, as `(STREAM, tap)`: empty when nobody taps it.
    pub fn taps(&self) -> &[(String, Tap)] {
        &self.taps
    }

    /// The next batch and its acks; `None` at the end of the input.
    pub async fn next(&mut self) -> Result<Option<(Vec<Record>, BatchAcks)>, RunError> {
        let Some(batch) = self.reader.next_batch(self.batch_records).await? else { return Ok(None) };
        let bytes = batch.records.iter().map(|r| r.data.len() as u64).sum();
        self.metrics.add(batch.records.len() as u64, bytes);
        // Behind the tip when the read was full: by the age of its newest record (Kinesis's MillisBehindLatest).
        let behind = match batch.records.iter().map(|r| r.arrival_ms).max() {
            Some(newest) if batch.records.len() >= self.batch_records => now_ms().saturating_sub(newest).max(0),
            _ => 0,
        };
        self.metrics.millis_behind_latest.store(behind.unsigned_abs(), std::sync::atomic::Ordering::Relaxed);
        let acks = self.tracker.register_records(batch.positions, batch.records.len() as u64);
        Ok(Some((batch.records, acks)))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One output of an application: the destination it feeds and the sink number its acks carry.
pub struct Output {
    /// The destination's name.
    pub destination: String,
    /// This output's sink number for [`BatchAcks::for_sink`].
    pub sink: usize,
    /// Where deliveries go.
    pub sender: mpsc::Sender<Delivery>,
}

/// What a destination works with.
pub struct DestinationContext {
    /// The destination's name in the pipeline.
    pub name: String,
    /// The destination's counters.
    pub metrics: Arc<StageMetrics>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reservation_out_keeps_others_waiting_instead_of_stopping_them() {
        let budget = Budget::new(Some(10));
        assert_eq!(budget.reserve(10).await, 10);
        let waiting = tokio::spawn({
            let budget = Arc::clone(&budget);
            async move { budget.reserve(5).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "none left, but 10 are out: wait");
        budget.used(3);
        budget.give_back(7);
        assert_eq!(waiting.await.ok(), Some(5), "gets part of what came back");
        budget.used(5);
        budget.give_back(0);
        assert_eq!(budget.reserve(5).await, 2);
        budget.used(2);
        assert_eq!(budget.reserve(1).await, 0, "spent, nothing out: stop");
    }
}
