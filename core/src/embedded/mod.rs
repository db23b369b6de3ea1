//! The embedded stream: a durable, sharded log on local disk with Kinesis semantics.
//!
//! ## Design
//!
//! Each shard is an append-only sequence of segment files; the ledger says how much of them is durable.
//!
//! ```text
//!  <data_dir>/
//!  ├── ledger.redb                      stream/<name>/shard/<shard id>   mark: active segment, synced length, next seq
//!  │                                    stream/<name>/producer/<name>    producer positions
//!  │                                    stream/<name>/consumer/<name>    consumer checkpoints (Positions, JSON)
//!  └── streams/<name>/
//!      ├── shard-000000/
//!      │   ├── 00000000000000000001.seg   sealed (rolled at 128 MiB or after 1 hour)
//!      │   └── 00000000000000052113.seg   active: frames are appended here
//!      └── shard-000001/ ...
//! ```
//!
//! - **Routing** ([`shard_for_key`]): MD5 of the partition key into even hash-key ranges, as Kinesis (not
//!   computed at all for one shard, and once per run of records with the same key).
//! - **Writes** (`log`, `shard`): a batch's frames (length, CRC32C, payload: `frame`) are handed to the
//!   OS per shard, then published to readers with their sequence numbers (per shard, from 1).
//! - **Syncs**: snapshot the marks and producer positions, fsync the files written since, then commit both
//!   in one durable ledger transaction; so the ledger never points past synced bytes, and a producer's
//!   position is stored exactly with the records it covers. When they happen is the [`FsyncPolicy`]'s call;
//!   checkpoints always sync first.
//! - **Recovery** (`recovery`): on open, each shard is cut back to its mark (or, without one, to its last
//!   valid frame), so a crash loses at most what was never synced, and numbering continues after the mark.
//! - **Visibility**: readers see a record once a sync committed the mark covering it (with `fsync: interval`,
//!   up to `fsync_interval` after the put), never before: so nothing a consumer read, checkpointed or
//!   published can be dropped by recovery and its sequence number given to another record. A checkpoint past
//!   a shard's end (left by a crash under an older sluice) moves the shard's numbering past it, loudly.
//! - **Reads** (`reader`): per shard, big buffered reads of the published bytes, CRC-checked, round robin
//!   across shards; records' data are slices of the chunks read, not copies, and a run of records with the
//!   same key shares one `Arc<str>`. Readers wait on a `watch` channel.
//! - **Retention** (`retention`): whole expired segments are deleted at open and every minute.
//! - **Peeks** ([`peek_records`]): the first records read straight from the segment files, read-only (no ledger,
//!   no lock), for `sluice discover` beside a running pipeline.
//! - **Shards one by one** (`sharded`): puts routed by the caller that report sequence numbers and return once
//!   durable, and reads of one shard from a sequence number, for the Kinesis API.

mod background;
#[cfg(test)]
mod crash_tests;
mod follow;
mod frame;
mod hash;
mod log;
mod peek;
mod reader;
mod recovery;
mod retention;
mod segment;
mod shard;
mod sharded;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod visibility_tests;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use follow::StreamTail;
pub use hash::{hash_key_range, shard_for_hash, shard_for_key, shard_id};
pub use peek::{PeekedRecord, peek_records};

use self::log::{Limits, Log};
use self::reader::EmbeddedReader;
use crate::runtime::ledger::Ledger;
use crate::runtime::record::{MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES, Positions, PutRecord};
use crate::runtime::sharded::ShardedStream;
use crate::runtime::stream::{StartPosition, Stream, StreamError, StreamReader};

/// When the embedded stream syncs its segment files to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Every write is synced before it is acknowledged.
    Always,
    /// Writes are synced every `fsync_interval` (or sooner once 8 MiB wait), together with the producer read
    /// positions they cover; readers see records once synced (up to `fsync_interval` later).
    #[default]
    Interval,
    /// Left to the operating system: fastest, no guarantee (a power cut loses recent records, even ones
    /// consumers already read). Readers see records at the periodic ledger commit (sooner once 8 MiB wait).
    Never,
}

/// How an embedded stream is laid out and synced.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Number of shards; must match the shard directories already on disk.
    pub shards: u32,
    /// Segments whose file was last modified longer ago than this are deleted.
    pub retention: Duration,
    /// When writes are synced to disk.
    pub fsync: FsyncPolicy,
    /// The period of background syncs (`interval`) or ledger commits (`never`).
    pub fsync_interval: Duration,
}

/// sluice's own stream: a durable, sharded log under the data directory (see the [module docs](self)).
#[derive(Debug)]
pub struct EmbeddedStream {
    log: Arc<Log>,
    background: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
}

impl EmbeddedStream {
    /// Opens (creating or recovering) stream `name` in `<data_dir>/streams/<name>`, with its state in
    /// `ledger`, and starts its background syncs and retention. Must run inside a tokio runtime.
    pub async fn open(
        name: &str,
        data_dir: &Path,
        options: EmbeddedOptions,
        ledger: Arc<Ledger>,
    ) -> Result<Arc<EmbeddedStream>, StreamError> {
        Self::open_with(name, data_dir, options, Limits::default(), ledger).await
    }

    /// [`open`](Self::open) for synchronous callers inside a tokio runtime (a plugin's `build`): the
    /// recovery I/O runs on the calling thread.
    pub fn open_blocking(
        name: &str,
        data_dir: &Path,
        options: EmbeddedOptions,
        ledger: Arc<Ledger>,
    ) -> Result<Arc<EmbeddedStream>, StreamError> {
        let log = open_log(name.to_owned(), data_dir.to_owned(), options, Limits::default(), ledger)?;
        Self::start(log)
    }

    async fn open_with(
        name: &str,
        data_dir: &Path,
        options: EmbeddedOptions,
        limits: Limits,
        ledger: Arc<Ledger>,
    ) -> Result<Arc<EmbeddedStream>, StreamError> {
        let (owned_name, data_dir) = (name.to_owned(), data_dir.to_owned());
        let log = blocking(name, move || open_log(owned_name, data_dir, options, limits, ledger)).await?;
        Self::start(log)
    }

    /// Starts the background task of an opened log.
    fn start(log: Log) -> Result<Arc<EmbeddedStream>, StreamError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| log.io_error(format!("the stream must be opened inside a tokio runtime: {e}")))?;
        let log = Arc::new(log);
        let stop = CancellationToken::new();
        let sync_soon = Arc::clone(&log.sync_soon);
        let (policy, every) = (log.options.fsync, log.options.fsync_interval);
        let task = background::run(Arc::downgrade(&log), sync_soon, stop.clone(), policy, every);
        let task = runtime.spawn(task);
        Ok(Arc::new(EmbeddedStream { log, background: Mutex::new(Some((stop, task))) }))
    }

    /// Runs `work` on the log on the blocking pool.
    async fn on_log<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Log) -> Result<T, StreamError> + Send + 'static,
    ) -> Result<T, StreamError> {
        let log = Arc::clone(&self.log);
        blocking(&self.log.name, move || work(&log)).await
    }

    /// Rejects a batch that breaks a Kinesis limit.
    fn check_limits(&self, records: &[PutRecord]) -> Result<(), StreamError> {
        for (index, record) in records.iter().enumerate() {
            let key = &record.partition_key;
            // A key of at most 256 bytes has at most 256 characters: count them only when that could matter.
            let too_long = (key.len() > MAX_PARTITION_KEY_CHARS)
                .then(|| key.chars().count())
                .filter(|&chars| chars > MAX_PARTITION_KEY_CHARS);
            let problem = if record.data.len() > MAX_RECORD_BYTES {
                format!("its data is {} bytes, more than the {MAX_RECORD_BYTES} allowed", record.data.len())
            } else if key.is_empty() {
                "its partition key is empty".to_owned()
            } else if let Some(chars) = too_long {
                format!("its partition key is {chars} characters, more than the {MAX_PARTITION_KEY_CHARS} allowed")
            } else {
                continue;
            };
            let message =
                format!("record {index} of the batch was rejected (nothing of the batch was written): {problem}");
            return Err(StreamError::Rejected { stream: self.log.name.clone(), message });
        }
        Ok(())
    }
}

/// Opens the log, commits what recovery changed, and applies retention once.
fn open_log(
    name: String,
    data_dir: std::path::PathBuf,
    options: EmbeddedOptions,
    limits: Limits,
    ledger: Arc<Ledger>,
) -> Result<Log, StreamError> {
    let log = Log::open(&name, &data_dir, options, limits, ledger)?;
    let checkpoints = log.keys.load_consumers(&log.ledger).map_err(|e| log.io_error(e))?;
    for (consumer, positions) in &checkpoints {
        log.never_reuse(consumer, positions);
    }
    // Store the marks of shards recovery cut back (and numbering moved past checkpoints), so the ledger
    // describes the files again before new (unsynced) frames land where the dropped ones were.
    log.sync(Vec::new())?;
    log.enforce_retention(std::time::SystemTime::now());
    Ok(log)
}

/// Runs blocking `work` (file I/O, fsync, ledger commits) off the async workers.
async fn blocking<T: Send + 'static>(
    stream: &str,
    work: impl FnOnce() -> Result<T, StreamError> + Send + 'static,
) -> Result<T, StreamError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(StreamError::Io { stream: stream.to_owned(), message: format!("a blocking task failed: {e}") })
    })
}

/// Locks `mutex`; a panic elsewhere while it was held leaves data that is still consistent enough to go on.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for EmbeddedStream {
    fn drop(&mut self) {
        // Dropped without `shutdown`: stop the background task now rather than at its next tick.
        if let Some((stop, _)) = lock(&self.background).take() {
            stop.cancel();
        }
    }
}

#[async_trait]
impl Stream for EmbeddedStream {
    fn name(&self) -> &str {
        &self.log.name
    }

    async fn put_batch(
        &self,
        records: Vec<PutRecord>,
        producer: &str,
        position: Option<Vec<u8>>,
    ) -> Result<(), StreamError> {
        self.check_limits(&records)?;
        if records.is_empty() && position.is_none() {
            return Ok(());
        }
        let producer = producer.to_owned();
        self.on_log(move |log| {
            let version = log.append(&records, &producer, position)?;
            match log.options.fsync {
                FsyncPolicy::Always => log.sync_through(version),
                FsyncPolicy::Interval | FsyncPolicy::Never => Ok(()),
            }
        })
        .await
    }

    fn producer_position(&self, producer: &str) -> Option<Vec<u8>> {
        self.log.producer_position(producer)
    }

    async fn open_reader(&self, consumer: &str, start: StartPosition) -> Result<Box<dyn StreamReader>, StreamError> {
        let log = Arc::clone(&self.log);
        let consumer = consumer.to_owned();
        let reader = blocking(&self.log.name, move || EmbeddedReader::open(log, &consumer, &start)).await?;
        Ok(Box::new(reader))
    }

    async fn commit_checkpoint(&self, consumer: &str, positions: &Positions) -> Result<(), StreamError> {
        let key = self.log.keys.consumer(consumer);
        let value = serde_json::to_vec(positions)
            .map_err(|e| self.log.io_error(format!("cannot encode the checkpoint of `{consumer}`: {e}")))?;
        let (consumer, positions) = (consumer.to_owned(), positions.clone());
        // One durable commit: the stream up to now, and the checkpoint that relies on it.
        self.on_log(move |log| {
            log.never_reuse(&consumer, &positions);
            log.sync(vec![(key, value)])
        })
        .await
    }

    async fn checkpoint(&self, consumer: &str) -> Result<Option<Positions>, StreamError> {
        let key = self.log.keys.consumer(consumer);
        let stored = self.log.ledger.get(&key).map_err(|e| self.log.io_error(e.to_string()))?;
        stored
            .map(|bytes| serde_json::from_slice(&bytes))
            .transpose()
            .map_err(|e| self.log.io_error(format!("the checkpoint of `{consumer}` is not readable: {e}")))
    }

    fn close_writers(&self) {
        // Closing syncs (readers see only synced records), which blocks: off the async workers when there are
        // any.
        let log = Arc::clone(&self.log);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || log.close())),
            Err(_) => log.close(),
        }
    }

    async fn shutdown(&self) -> Result<(), StreamError> {
        let background = lock(&self.background).take();
        if let Some((stop, task)) = background {
            stop.cancel();
            let _ = task.await; // A failure in it was logged already.
        }
        self.on_log(Log::shut_down).await
    }

    fn sharded(self: Arc<Self>) -> Option<Arc<dyn ShardedStream>> {
        Some(self)
    }
}
