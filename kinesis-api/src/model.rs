//! The operations' inputs and outputs, member for member as in the Kinesis API reference.
//!
//! Inputs make every member optional, so a missing one becomes the service's ValidationException ("Member must
//! not be null") rather than a parse error; members this server does not use are ignored, as the service does.

use serde::{Deserialize, Serialize};

use crate::wire::{Blob, Timestamp};

/// How a request names its stream: by name, by ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`), or
/// both.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamRef<'a> {
    /// `StreamName`.
    pub name: Option<&'a str>,
    /// `StreamARN`.
    pub arn: Option<&'a str>,
}

/// The stream members of an input (not `#[serde(flatten)]`: it buffers values and loses CBOR's blobs and tags).
macro_rules! stream_members {
    ($input:ty) => {
        impl $input {
            /// How the request names its stream.
            pub fn stream(&self) -> StreamRef<'_> {
                StreamRef { name: self.stream_name.as_deref(), arn: self.stream_arn.as_deref() }
            }
        }
    };
}

/// CreateStream.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateStreamInput {
    /// The stream to create.
    pub stream_name: Option<String>,
    /// Shards wanted.
    pub shard_count: Option<i64>,
    /// PROVISIONED or ON_DEMAND.
    pub stream_mode_details: Option<StreamModeDetails>,
}

/// A stream's capacity mode.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetails {
    /// PROVISIONED or ON_DEMAND.
    pub stream_mode: Option<String>,
}

/// DescribeStream.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamInput {
    /// The stream's name.
    pub stream_name: Option<String>,
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// Shards to list, 1 to 10,000 (100 by default).
    pub limit: Option<i64>,
    /// List the shards after this one.
    pub exclusive_start_shard_id: Option<String>,
}

/// DescribeStream's output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamOutput {
    /// The stream.
    pub stream_description: StreamDescription,
}

/// A stream and (some of) its shards.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    /// Its name.
    pub stream_name: String,
    /// Its ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Always ACTIVE: a served stream is open.
    pub stream_status: &'static str,
    /// PROVISIONED: a fixed number of shards.
    pub stream_mode_details: StreamModeDetails,
    /// Its shards from `ExclusiveStartShardId` on, up to `Limit`.
    pub shards: Vec<Shard>,
    /// Whether more shards follow.
    pub has_more_shards: bool,
    /// How long records are kept.
    pub retention_period_hours: u64,
    /// When the stream was created.
    pub stream_creation_timestamp: Timestamp,
    /// No shard-level metrics.
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    /// NONE: records are stored as put.
    pub encryption_type: &'static str,
}

/// Shard-level metrics enabled (none).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMetrics {
    /// Empty.
    pub shard_level_metrics: Vec<String>,
}

/// One shard.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shard {
    /// `shardId-000000000000`.
    pub shard_id: String,
    /// The partition-key hashes it holds.
    pub hash_key_range: HashKeyRange,
    /// Its sequence numbers: open-ended, shards are never closed.
    pub sequence_number_range: SequenceNumberRange,
}

/// A range of 128-bit hash keys, in decimal.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HashKeyRange {
    /// The first.
    pub starting_hash_key: String,
    /// The last.
    pub ending_hash_key: String,
}

/// A shard's sequence numbers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange {
    /// Its first sequence number.
    pub starting_sequence_number: String,
}

/// DescribeStreamSummary.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamSummaryInput {
    /// The stream's name.
    pub stream_name: Option<String>,
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
}

/// DescribeStreamSummary's output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamSummaryOutput {
    /// The stream.
    pub stream_description_summary: StreamDescriptionSummary,
}

/// A stream without its shards.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescriptionSummary {
    /// Its name.
    pub stream_name: String,
    /// Its ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// ACTIVE.
    pub stream_status: &'static str,
    /// PROVISIONED.
    pub stream_mode_details: StreamModeDetails,
    /// How long records are kept.
    pub retention_period_hours: u64,
    /// When the stream was created.
    pub stream_creation_timestamp: Timestamp,
    /// No shard-level metrics.
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    /// NONE.
    pub encryption_type: &'static str,
    /// Its shards, all open.
    pub open_shard_count: u32,
    /// Enhanced fan-out consumers: none.
    pub consumer_count: u32,
}

/// ListStreams.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsInput {
    /// Names to list, 1 to 10,000 (100 by default).
    pub limit: Option<i64>,
    /// List the names after this one.
    pub exclusive_start_stream_name: Option<String>,
    /// A previous page's token.
    pub next_token: Option<String>,
}

/// ListStreams' output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsOutput {
    /// The names, sorted.
    pub stream_names: Vec<String>,
    /// Whether more follow.
    pub has_more_streams: bool,
    /// The token of the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// The same streams, summarized.
    pub stream_summaries: Vec<StreamSummary>,
}

/// A stream in ListStreams.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSummary {
    /// Its name.
    pub stream_name: String,
    /// Its ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// ACTIVE.
    pub stream_status: &'static str,
    /// PROVISIONED.
    pub stream_mode_details: StreamModeDetails,
    /// When it was created.
    pub stream_creation_timestamp: Timestamp,
}

/// ListShards.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsInput {
    /// The stream's name.
    pub stream_name: Option<String>,
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// A previous page's token.
    pub next_token: Option<String>,
    /// List the shards after this one.
    pub exclusive_start_shard_id: Option<String>,
    /// Shards to list, 1 to 10,000 (1,000 by default).
    pub max_results: Option<i64>,
}

/// ListShards' output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsOutput {
    /// The shards.
    pub shards: Vec<Shard>,
    /// The token of the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// PutRecord.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput {
    /// The stream's name.
    pub stream_name: Option<String>,
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// The record's data, up to 1 MiB.
    pub data: Option<Blob>,
    /// Its partition key, 1 to 256 characters.
    pub partition_key: Option<String>,
    /// A hash key that picks the shard instead of the partition key's MD5.
    pub explicit_hash_key: Option<String>,
    /// Accepted and ignored: records of a shard are always in order.
    pub sequence_number_for_ordering: Option<String>,
}

/// PutRecord's output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordOutput {
    /// The shard the record went to.
    pub shard_id: String,
    /// Its sequence number there.
    pub sequence_number: String,
}

/// PutRecords.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsInput {
    /// The stream's name.
    pub stream_name: Option<String>,
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// 1 to 500 records.
    pub records: Option<Vec<PutRecordsEntry>>,
}

/// One record of PutRecords.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsEntry {
    /// The record's data, up to 1 MiB.
    pub data: Option<Blob>,
    /// Its partition key, 1 to 256 characters.
    pub partition_key: Option<String>,
    /// A hash key that picks the shard instead of the partition key's MD5.
    pub explicit_hash_key: Option<String>,
}

/// PutRecords' output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsOutput {
    /// Records that were not put (throttled).
    pub failed_record_count: u32,
    /// One result per record, in request order.
    pub records: Vec<PutRecordsResult>,
}

/// The result of one record of PutRecords: a shard and sequence number, or an error.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsResult {
    /// Where it went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    /// Its sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// Why it was not put.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    /// More on why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// GetShardIterator.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorInput {
    /// The stream's name.
    pub stream_name: Option<String>,
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// The shard.
    pub shard_id: Option<String>,
    /// TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP.
    pub shard_iterator_type: Option<String>,
    /// For AT_ and AFTER_SEQUENCE_NUMBER.
    pub starting_sequence_number: Option<String>,
    /// For AT_TIMESTAMP.
    pub timestamp: Option<Timestamp>,
}

/// GetShardIterator's output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorOutput {
    /// Where to read, for GetRecords.
    pub shard_iterator: String,
}

/// GetRecords.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsInput {
    /// From GetShardIterator or an earlier GetRecords.
    pub shard_iterator: Option<String>,
    /// Records to return, 1 to 10,000 (10,000 by default).
    pub limit: Option<i64>,
    /// The stream, if the caller names it.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
}

/// GetRecords' output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    /// The records, in sequence order.
    pub records: Vec<RecordOut>,
    /// Where to read next (shards never close, so always present).
    pub next_shard_iterator: String,
    /// How far behind the shard's newest record this read ended, in milliseconds; 0 when caught up.
    pub millis_behind_latest: i64,
}

/// A record as GetRecords returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordOut {
    /// Its sequence number.
    pub sequence_number: String,
    /// When it arrived.
    pub approximate_arrival_timestamp: Timestamp,
    /// Its data.
    pub data: Blob,
    /// Its partition key.
    pub partition_key: String,
}

/// An error body.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error type.
    #[serde(rename = "__type")]
    pub kind: &'a str,
    /// What went wrong.
    pub message: &'a str,
}

stream_members!(DescribeStreamInput);
stream_members!(DescribeStreamSummaryInput);
stream_members!(ListShardsInput);
stream_members!(PutRecordInput);
stream_members!(PutRecordsInput);
stream_members!(GetShardIteratorInput);
