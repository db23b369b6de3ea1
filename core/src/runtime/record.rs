//! What moves between stages: records, in batches.

use std::collections::BTreeMap;

/// A record as a producer puts it into a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecord {
    /// Decides the shard (MD5 of the key, as in Kinesis); 1 to 256 characters.
    pub partition_key: String,
    /// The payload: up to 1 MiB.
    pub data: Vec<u8>,
}

/// A record read from a stream, or produced by an application for a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The partition key it was put with (an application's output keeps its input's key where it can).
    pub partition_key: String,
    /// The payload.
    pub data: Vec<u8>,
    /// Approximate arrival time in the stream, in milliseconds since the Unix epoch.
    pub arrival_ms: i64,
}

/// How far a consumer has read: the last sequence number consumed per shard, as the stream names them
/// (`shardId-000000000000` -> `"42"`). Strings, because Kinesis sequence numbers exceed 128 bits.
pub type Positions = BTreeMap<String, String>;

/// The largest record a stream accepts, as in Kinesis.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The longest partition key, in characters, as in Kinesis.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;
