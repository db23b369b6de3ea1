//! The operations: which exist, and running one from its encoded input to its encoded output.
//!
//! ```text
//!  body ──Wire::decode──▶ input ──validate (ValidationException)──▶ resolve stream / shard ──▶ act ──▶ output
//!                                                                                               │
//!  response body ◀──Wire::encode──────────────────────────────────────────────────────────────┘
//! ```

mod put;
mod read;
mod streams;

use bytes::Bytes;
use sluice_core::embedded::{hash_key_range, shard_id};
use sluice_core::runtime::stream::StreamError;

use crate::api::{Api, RequestCx};
use crate::error::ApiError;
use crate::model::{HashKeyRange, SequenceNumberRange, Shard};
use crate::wire::Wire;

/// An operation of the Kinesis Data Streams API that this server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Answers for a stream the pipeline declares (it exists: ResourceInUseException).
    CreateStream,
    /// A stream and its shards.
    DescribeStream,
    /// A stream without its shards.
    DescribeStreamSummary,
    /// The streams served.
    ListStreams,
    /// A stream's shards.
    ListShards,
    /// One record in.
    PutRecord,
    /// Up to 500 records in.
    PutRecords,
    /// Where to read a shard.
    GetShardIterator,
    /// Records out.
    GetRecords,
}

impl Operation {
    /// Every operation, in the API reference's order.
    pub const ALL: [Operation; 9] = [
        Operation::CreateStream,
        Operation::DescribeStream,
        Operation::DescribeStreamSummary,
        Operation::GetRecords,
        Operation::GetShardIterator,
        Operation::ListShards,
        Operation::ListStreams,
        Operation::PutRecord,
        Operation::PutRecords,
    ];

    /// Its name, as `X-Amz-Target` carries it after `Kinesis_20131202.`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateStream => "CreateStream",
            Operation::DescribeStream => "DescribeStream",
            Operation::DescribeStreamSummary => "DescribeStreamSummary",
            Operation::ListStreams => "ListStreams",
            Operation::ListShards => "ListShards",
            Operation::PutRecord => "PutRecord",
            Operation::PutRecords => "PutRecords",
            Operation::GetShardIterator => "GetShardIterator",
            Operation::GetRecords => "GetRecords",
        }
    }

    /// The operation called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// Runs `operation` on an encoded input; the encoded output.
pub async fn run(api: &Api, operation: Operation, wire: Wire, body: &[u8], cx: &RequestCx) -> Result<Bytes, ApiError> {
    match operation {
        Operation::CreateStream => wire.encode(&streams::create_stream(api, wire.decode(body)?)?),
        Operation::DescribeStream => wire.encode(&streams::describe_stream(api, wire.decode(body)?, cx)?),
        Operation::DescribeStreamSummary => wire.encode(&streams::describe_summary(api, wire.decode(body)?, cx)?),
        Operation::ListStreams => wire.encode(&streams::list_streams(api, wire.decode(body)?, cx)?),
        Operation::ListShards => wire.encode(&streams::list_shards(api, wire.decode(body)?)?),
        Operation::PutRecord => wire.encode(&put::put_record(api, wire.decode(body)?).await?),
        Operation::PutRecords => wire.encode(&put::put_records(api, wire.decode(body)?).await?),
        Operation::GetShardIterator => wire.encode(&read::get_shard_iterator(api, wire.decode(body)?, cx).await?),
        Operation::GetRecords => wire.encode(&read::get_records(api, wire.decode(body)?, cx).await?),
    }
}

/// The index in a shard id: `shardId-000000000003` (or `shardId-3`, or `3`, as Kinesis accepts).
fn shard_index(id: &str) -> Option<u32> {
    let digits = id.strip_prefix("shardId-").unwrap_or(id);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
}

/// Shard `index` of a stream of `count`, as DescribeStream and ListShards describe it.
fn shard_model(index: u32, count: u32) -> Shard {
    let (start, end) = hash_key_range(index, count);
    Shard {
        shard_id: shard_id(index),
        hash_key_range: HashKeyRange { starting_hash_key: start.to_string(), ending_hash_key: end.to_string() },
        // The embedded stream numbers each shard's records from 1.
        sequence_number_range: SequenceNumberRange { starting_sequence_number: "1".to_owned() },
    }
}

/// A stream failure as the client sees it: a rejected batch is its fault, anything else the server's.
fn stream_error(error: StreamError) -> ApiError {
    match error {
        StreamError::Rejected { message, .. } => ApiError::invalid_argument(message),
        StreamError::Io { .. } => {
            tracing::error!("Kinesis API: {error}");
            ApiError::internal(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_shard_ids_parse() {
        assert!(Operation::ALL.iter().all(|op| Operation::from_name(op.name()) == Some(*op)));
        assert_eq!(Operation::from_name("DeleteStream"), None);
        assert_eq!(shard_index("shardId-000000000003"), Some(3));
        assert_eq!((shard_index("shardId-7"), shard_index("7")), (Some(7), Some(7)));
        assert_eq!((shard_index("shardId-"), shard_index("shard-1"), shard_index("99999999999")), (None, None, None));
        let last = shard_model(1, 2);
        assert_eq!(last.hash_key_range.ending_hash_key, u128::MAX.to_string());
    }
}
