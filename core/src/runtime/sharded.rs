//! Shard-level access to a stream, for servers that speak a shard-level protocol (the Kinesis API).
//!
//! The pipeline's own stages use [`Stream`](super::stream::Stream): batches in, batches out, all shards at once.
//! A Kinesis client addresses shards one by one and is told where each record went, so a stream that can serve
//! one offers this view through [`Stream::sharded`](super::stream::Stream::sharded):
//!
//! ```text
//!   put(records, shard per record) ──▶ each record's sequence number, once durable by the fsync policy
//!   seq_at_time(shard, ms)          ──▶ the first sequence number that arrived at or after `ms`
//!   read(shard, ShardStart, limits) ──▶ records with sequence numbers, and a ShardMark to resume from
//! ```
//!
//! Records put here are the same records producers put: every reader of the stream sees them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::record::PutRecord;
use super::stream::StreamError;

/// A record read from one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRecord {
    /// Its sequence number in the shard.
    pub seq: u64,
    /// The partition key it was put with.
    pub partition_key: Arc<str>,
    /// The payload.
    pub data: Bytes,
    /// When it arrived, in milliseconds since the Unix epoch.
    pub arrival_ms: i64,
}

/// Where a read of one shard goes on: the next sequence number, and where the stream will find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardMark {
    /// Records below this sequence number are skipped.
    pub next_seq: u64,
    /// The stream's own note of where that record lies (the embedded stream: segment and byte offset), so a
    /// resumed read does not search for it. Only hand back a locator this stream gave: a made-up one makes
    /// the read fail as a corrupt record.
    pub locator: [u64; 2],
}

/// Where a read of one shard starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardStart {
    /// At the first record kept with at least this sequence number (0: the oldest kept).
    AtSeq(u64),
    /// Where an earlier read of the same shard stopped.
    Resume(ShardMark),
}

/// What a read of one shard found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRead {
    /// The records, in sequence order.
    pub records: Vec<ShardRecord>,
    /// Where the next read goes on.
    pub next: ShardMark,
    /// The sequence number the shard's next record will get, as the read ended: the shard's tip.
    pub tip: u64,
}

/// A stream whose shards can be written and read one by one (see the [module docs](self)).
#[async_trait]
pub trait ShardedStream: Send + Sync {
    /// The stream's name in the pipeline.
    fn name(&self) -> &str;

    /// How many shards it has; shard `i` is `shardId-` and `i` in 12 digits.
    fn shard_count(&self) -> u32;

    /// How long records are kept.
    fn retention(&self) -> Duration;

    /// When the stream was created, in milliseconds since the Unix epoch (as well as the stream knows).
    fn created_ms(&self) -> i64;

    /// The sequence number the next record put into `shard` gets; `None` for a shard that does not exist.
    fn tip(&self, shard: u32) -> Option<u64>;

    /// Appends `records`, record `i` to shard `shards[i]`, and returns once they are durable by the stream's
    /// fsync policy: each record's sequence number, in order. A batch that breaks a limit (record size,
    /// partition key, a shard that does not exist) is rejected whole, before anything is written.
    async fn put(&self, records: Vec<PutRecord>, shards: Vec<u32>) -> Result<Vec<u64>, StreamError>;

    /// The sequence number of the first record of `shard` that arrived at or after `at_ms`, or the tip when
    /// none has yet.
    async fn seq_at_time(&self, shard: u32, at_ms: i64) -> Result<u64, StreamError>;

    /// Up to `max_records` records of `shard` from `start` that can be read now (never waits), stopping once
    /// their data passed `max_bytes`.
    async fn read(
        &self,
        shard: u32,
        start: ShardStart,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<ShardRead, StreamError>;
}
