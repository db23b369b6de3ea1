//! The running components plugins build, and what the runtime hands each of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ack::{AckTracker, BatchAcks, Delivery};
use super::metrics::StageMetrics;
use super::record::{PutRecord, Record};
use super::stream::{Stream, StreamError, StreamReader};

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
}

/// Delivers records outside the pipeline.
#[async_trait]
pub trait Destination: Send {
    /// Runs until `input` closes; then flushes everything buffered and returns.
    async fn run(self: Box<Self>, input: mpsc::Receiver<Delivery>, cx: DestinationContext) -> Result<(), RunError>;
}

/// Bounds the records all producers of a run may put (`sluice run --records`).
#[derive(Debug)]
pub struct Budget {
    remaining: AtomicU64,
}

impl Budget {
    /// A budget of `limit` records; `None` is unbounded.
    pub fn new(limit: Option<u64>) -> Arc<Self> {
        Arc::new(Budget { remaining: AtomicU64::new(limit.unwrap_or(u64::MAX)) })
    }

    /// Takes up to `wanted` records from the budget; 0 means the run's budget is spent.
    pub fn reserve(&self, wanted: usize) -> usize {
        let wanted = wanted as u64;
        let mut granted = 0;
        let _ = self.remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            granted = left.min(wanted);
            Some(left - granted)
        });
        granted as usize
    }

    /// Returns records reserved and not used.
    pub fn give_back(&self, unused: usize) {
        self.remaining.fetch_add(unused as u64, Ordering::Relaxed);
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
    /// Takes up to `wanted` records from the run's budget (0: stop). Give back what is not used.
    pub fn reserve(&self, wanted: usize) -> usize {
        if self.stop.is_cancelled() { 0 } else { self.budget.reserve(wanted) }
    }

    /// Returns reserved records that were not produced.
    pub fn give_back(&self, unused: usize) {
        self.budget.give_back(unused);
    }

    /// Puts a batch; `position` is the producer's read position after it, stored with the records.
    pub async fn put(&self, records: Vec<PutRecord>, position: Option<Vec<u8>>) -> Result<(), RunError> {
        let count = records.len() as u64;
        let bytes = records.iter().map(|r| r.data.len() as u64).sum();
        self.stream.put_batch(records, &self.name, position).await?;
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
}

impl ConsumerInput {
    /// Wraps `reader`, registering every batch with `tracker`.
    pub fn new(reader: Box<dyn StreamReader>, tracker: Arc<AckTracker>, metrics: Arc<StageMetrics>) -> Self {
        ConsumerInput { reader, tracker, batch_records: 4096, metrics }
    }

    /// The next batch and its acks; `None` at the end of the input.
    pub async fn next(&mut self) -> Result<Option<(Vec<Record>, BatchAcks)>, RunError> {
        let Some(batch) = self.reader.next_batch(self.batch_records).await? else { return Ok(None) };
        let bytes = batch.records.iter().map(|r| r.data.len() as u64).sum();
        self.metrics.add(batch.records.len() as u64, bytes);
        let acks = self.tracker.register(batch.positions);
        Ok(Some((batch.records, acks)))
    }
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
