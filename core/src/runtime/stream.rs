//! The stream contract: a durable, sharded log with Kinesis semantics.

use std::sync::Arc;

use async_trait::async_trait;

use super::record::{Positions, PutRecord, Record};
use super::sharded::ShardedStream;

/// Where a reader starts in each shard when its consumer has no checkpoint (Kinesis's iterator types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// The oldest record kept.
    TrimHorizon,
    /// Only records put after the reader opened.
    Latest,
    /// At this sequence number (per shard: `Positions`).
    AtSequenceNumber(Positions),
    /// Just after this sequence number (per shard).
    AfterSequenceNumber(Positions),
    /// The first record that arrived at or after this time (milliseconds since the Unix epoch).
    AtTimestamp(i64),
}

/// A batch read from a stream: records in shard order, and the positions after them.
#[derive(Debug, Default)]
pub struct ReadBatch {
    /// The records; within a shard in sequence order.
    pub records: Vec<Record>,
    /// For every shard this batch advanced: the last sequence number it holds.
    pub positions: Positions,
}

/// Why a stream operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading or writing the stream's storage failed.
    #[error("stream `{stream}`: {message}")]
    Io {
        /// The stream's name.
        stream: String,
        /// What went wrong, with the path involved.
        message: String,
    },
    /// A record broke a limit (size, partition key).
    #[error("stream `{stream}`: {message}")]
    Rejected {
        /// The stream's name.
        stream: String,
        /// Which limit, and by how much.
        message: String,
    },
}

/// A stream of a pipeline. Writes are batched; each batch may carry the producer's new read position, which
/// the stream stores atomically with the records, so a restarted producer resumes exactly after them.
#[async_trait]
pub trait Stream: Send + Sync {
    /// The stream's name in the pipeline.
    fn name(&self) -> &str;

    /// Appends a batch. Returns once the records are visible to readers; they become durable by the
    /// stream's fsync policy, together with `producer`'s `position` (if given).
    async fn put_batch(
        &self,
        records: Vec<PutRecord>,
        producer: &str,
        position: Option<Vec<u8>>,
    ) -> Result<(), StreamError>;

    /// The read position `producer` last stored durably with its records.
    fn producer_position(&self, producer: &str) -> Option<Vec<u8>>;

    /// Opens a reader for `consumer`: after its checkpoint if it has one, else at `start`.
    async fn open_reader(&self, consumer: &str, start: StartPosition) -> Result<Box<dyn StreamReader>, StreamError>;

    /// Records that `consumer` has delivered everything up to `positions`. Makes the stream durable up to
    /// there first, so a checkpoint never points past what a restart will find.
    async fn commit_checkpoint(&self, consumer: &str, positions: &Positions) -> Result<(), StreamError>;

    /// The checkpoint `consumer` last committed; `None` when it has none. A stream that cannot say returns an
    /// error (the default), and the runtime then never moves the checkpoint on its own (see
    /// [`Destination::recover`]).
    ///
    /// [`Destination::recover`]: super::component::Destination::recover
    async fn checkpoint(&self, consumer: &str) -> Result<Option<Positions>, StreamError> {
        Err(StreamError::Io {
            stream: self.name().to_owned(),
            message: format!("the checkpoint of `{consumer}` cannot be read back from this kind of stream"),
        })
    }

    /// No more writes in this run: readers end once they have read everything written.
    fn close_writers(&self);

    /// Syncs whatever is pending and stops background work (the last call on a stream).
    async fn shutdown(&self) -> Result<(), StreamError>;

    /// The stream's shards one by one, for the Kinesis API; `None` for a stream that cannot offer them.
    fn sharded(self: Arc<Self>) -> Option<Arc<dyn ShardedStream>> {
        None
    }
}

/// Reads every shard of a stream.
#[async_trait]
pub trait StreamReader: Send {
    /// Up to `max_records` records; waits while there are none. `None` once writers are closed and
    /// everything written has been read, or when the reader was stopped.
    async fn next_batch(&mut self, max_records: usize) -> Result<Option<ReadBatch>, StreamError>;
}
