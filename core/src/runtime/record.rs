//! What moves between stages: records, in batches.
//!
//! Records are cheap to move and to clone: the partition key is a shared `Arc<str>` (records put with the same
//! key usually share one allocation), the data is a [`Bytes`] handle, often a slice of a larger read buffer
//! rather than an allocation of its own, and the shard is a number (its name is made only where it is shown).
//! Holding a record keeps the buffer it was cut from alive, so stages should not keep records longer than they
//! need them.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

/// A record as a producer puts it into a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecord {
    /// Decides the shard (MD5 of the key, as in Kinesis); 1 to 256 characters. Producers give records with the
    /// same key one shared `Arc`, which streams recognise without comparing or hashing the key again.
    pub partition_key: Arc<str>,
    /// The payload: up to 1 MiB.
    pub data: Bytes,
}

/// A record read from a stream, or produced by an application for a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The partition key it was put with (an application's output keeps its input's key where it can);
    /// consecutive records with the same key may share one `Arc`.
    pub partition_key: Arc<str>,
    /// The payload, possibly a slice of the buffer the stream read it into.
    pub data: Bytes,
    /// Approximate arrival time in the stream, in milliseconds since the Unix epoch.
    pub arrival_ms: i64,
    /// The shard it was read from, by number: Kinesis names shard 3 `shardId-000000000003`
    /// ([`shard_id`](crate::embedded::shard_id)). `None` for a record an application made for a destination.
    pub shard: Option<u32>,
}

/// How far a consumer has read: the last sequence number consumed per shard, as the stream names them
/// (`shardId-000000000000` -> `"42"`). Strings, because Kinesis sequence numbers exceed 128 bits.
pub type Positions = BTreeMap<String, String>;

/// The largest record a stream accepts, as in Kinesis.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The longest partition key, in characters, as in Kinesis.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stays_small() {
        // A key, a data handle, the arrival time and the shard number: no allocation of its own.
        assert!(std::mem::size_of::<Record>() <= 64, "{}", std::mem::size_of::<Record>());
    }
}
