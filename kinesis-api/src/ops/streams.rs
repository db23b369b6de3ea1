//! The stream operations: CreateStream, DescribeStream, DescribeStreamSummary, ListStreams, ListShards.
//!
//! The pipeline declares its streams, so they all exist, ACTIVE, with the shards the pipeline gives them.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use sluice_core::runtime::sharded::ShardedStream;

use super::{shard_index, shard_model};
use crate::api::{Api, RequestCx, check_stream};
use crate::error::{ACCOUNT, ApiError, Pattern, Violations};
use crate::model::{
    CreateStreamInput, DescribeStreamInput, DescribeStreamOutput, DescribeStreamSummaryInput,
    DescribeStreamSummaryOutput, EnhancedMetrics, ListShardsInput, ListShardsOutput, ListStreamsInput,
    ListStreamsOutput, StreamDescription, StreamDescriptionSummary, StreamModeDetails, StreamSummary,
};
use crate::wire::Timestamp;

/// An output without members.
#[derive(Debug, Serialize)]
pub struct Empty {}

fn provisioned() -> StreamModeDetails {
    StreamModeDetails { stream_mode: Some("PROVISIONED".to_owned()) }
}

fn retention_hours(stream: &dyn ShardedStream) -> u64 {
    stream.retention().as_secs() / 3600
}

/// CreateStream: every stream a pipeline serves exists already (ResourceInUseException, as Kinesis answers);
/// others cannot be made from outside.
pub fn create_stream(api: &Api, input: CreateStreamInput) -> Result<Empty, ApiError> {
    let mut found = Violations::default();
    found.require(input.stream_name.as_ref(), "streamName");
    found.text(input.stream_name.as_deref(), "streamName", 1, 128, Some(Pattern::Name));
    found.range(input.shard_count, "shardCount", 1, i64::from(i32::MAX));
    let mode = input.stream_mode_details.as_ref().and_then(|details| details.stream_mode.as_deref());
    if let Some(mode) = mode.filter(|mode| !["PROVISIONED", "ON_DEMAND"].contains(mode)) {
        found.add(
            Some(mode),
            "streamModeDetails.streamMode",
            "Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]",
        );
    }
    found.finish()?;
    let name = input.stream_name.unwrap_or_default();
    if api.streams.contains_key(&name) {
        return Err(ApiError::in_use(format!("Stream {name} under account {ACCOUNT} already exists.")));
    }
    let served: Vec<&str> = api.streams.keys().map(String::as_str).collect();
    Err(ApiError::invalid_argument(format!(
        "Stream {name} cannot be created through the API: sluice serves the streams its pipeline declares ({}). \
         Add `{name}` to the pipeline's `streams:` section.",
        served.join(", ")
    )))
}

/// DescribeStream: the stream, and up to `Limit` of its shards after `ExclusiveStartShardId`.
pub fn describe_stream(
    api: &Api,
    input: DescribeStreamInput,
    cx: &RequestCx,
) -> Result<DescribeStreamOutput, ApiError> {
    let mut found = Violations::default();
    check_stream(&mut found, input.stream());
    found.range(input.limit, "limit", 1, 10_000);
    found.text(input.exclusive_start_shard_id.as_deref(), "exclusiveStartShardId", 1, 128, Some(Pattern::Name));
    found.finish()?;
    let (name, stream) = api.stream(input.stream())?;
    let count = stream.shard_count();
    let first = first_after(input.exclusive_start_shard_id.as_deref());
    let limit = input.limit.map_or(100, |limit| limit as u32);
    let last = first.saturating_add(limit).min(count);
    Ok(DescribeStreamOutput {
        stream_description: StreamDescription {
            stream_arn: cx.arn(&name),
            stream_status: "ACTIVE",
            stream_mode_details: provisioned(),
            shards: (first..last).map(|index| shard_model(index, count)).collect(),
            has_more_shards: last < count,
            retention_period_hours: retention_hours(&*stream),
            stream_creation_timestamp: Timestamp { ms: stream.created_ms() },
            enhanced_monitoring: vec![EnhancedMetrics::default()],
            encryption_type: "NONE",
            stream_name: name,
        },
    })
}

/// The first shard index after `exclusive_start` (shard ids compare as their indexes).
fn first_after(exclusive_start: Option<&str>) -> u32 {
    exclusive_start.map_or(0, |id| shard_index(id).map_or(0, |index| index.saturating_add(1)))
}

/// DescribeStreamSummary: the stream without its shards.
pub fn describe_summary(
    api: &Api,
    input: DescribeStreamSummaryInput,
    cx: &RequestCx,
) -> Result<DescribeStreamSummaryOutput, ApiError> {
    let mut found = Violations::default();
    check_stream(&mut found, input.stream());
    found.finish()?;
    let (name, stream) = api.stream(input.stream())?;
    Ok(DescribeStreamSummaryOutput {
        stream_description_summary: StreamDescriptionSummary {
            stream_arn: cx.arn(&name),
            stream_status: "ACTIVE",
            stream_mode_details: provisioned(),
            retention_period_hours: retention_hours(&*stream),
            stream_creation_timestamp: Timestamp { ms: stream.created_ms() },
            enhanced_monitoring: vec![EnhancedMetrics::default()],
            encryption_type: "NONE",
            open_shard_count: stream.shard_count(),
            consumer_count: 0,
            stream_name: name,
        },
    })
}

/// ListStreams: the served streams' names, sorted, a page at a time.
pub fn list_streams(api: &Api, input: ListStreamsInput, cx: &RequestCx) -> Result<ListStreamsOutput, ApiError> {
    let mut found = Violations::default();
    found.range(input.limit, "limit", 1, 10_000);
    found.text(input.exclusive_start_stream_name.as_deref(), "exclusiveStartStreamName", 1, 128, Some(Pattern::Name));
    found.text(input.next_token.as_deref(), "nextToken", 1, 1_048_576, None);
    found.finish()?;
    let after = match (&input.next_token, &input.exclusive_start_stream_name) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_argument(
                "NextToken and ExclusiveStartStreamName cannot be provided together.",
            ));
        }
        (Some(token), None) => Some(decode_token(token)?),
        (None, start) => start.clone(),
    };
    let limit = input.limit.map_or(100, |limit| limit as usize);
    let mut names = api.streams.keys().filter(|name| after.as_ref().is_none_or(|after| *name > after));
    let page: Vec<String> = names.by_ref().take(limit).cloned().collect();
    let has_more = names.next().is_some();
    let stream_summaries = page
        .iter()
        .filter_map(|name| {
            let stream = api.streams.get(name)?;
            Some(StreamSummary {
                stream_name: name.clone(),
                stream_arn: cx.arn(name),
                stream_status: "ACTIVE",
                stream_mode_details: provisioned(),
                stream_creation_timestamp: Timestamp { ms: stream.created_ms() },
            })
        })
        .collect();
    let next_token = has_more.then(|| page.last().map(|last| STANDARD.encode(last))).flatten();
    Ok(ListStreamsOutput { stream_names: page, has_more_streams: has_more, next_token, stream_summaries })
}

/// ListShards: a stream's shards, a page at a time (`NextToken` carries the stream and where to go on).
pub fn list_shards(api: &Api, input: ListShardsInput) -> Result<ListShardsOutput, ApiError> {
    let mut found = Violations::default();
    check_stream(&mut found, input.stream());
    found.text(input.next_token.as_deref(), "nextToken", 1, 1_048_576, None);
    found.text(input.exclusive_start_shard_id.as_deref(), "exclusiveStartShardId", 1, 128, Some(Pattern::Name));
    found.range(input.max_results, "maxResults", 1, 10_000);
    found.finish()?;
    let names_stream = input.stream().name.is_some() || input.stream().arn.is_some();
    let (stream, first): (Arc<dyn ShardedStream>, u32) = match (&input.next_token, names_stream) {
        (Some(_), true) => {
            return Err(ApiError::invalid_argument("NextToken and StreamName cannot be provided together."));
        }
        (None, false) => return Err(ApiError::invalid_argument("Either NextToken or StreamName should be provided.")),
        (Some(token), false) => {
            let decoded = decode_token(token)?;
            let (name, index) = decoded.rsplit_once('/').ok_or_else(invalid_token)?;
            let index = index.parse().map_err(|_| invalid_token())?;
            let stream = api.streams.get(name).ok_or_else(|| ApiError::stream_not_found(name))?;
            (Arc::clone(stream), index)
        }
        (None, true) => (api.stream(input.stream())?.1, first_after(input.exclusive_start_shard_id.as_deref())),
    };
    let count = stream.shard_count();
    let limit = input.max_results.map_or(1000, |limit| limit as u32);
    let last = first.saturating_add(limit).min(count);
    let shards = (first..last).map(|index| shard_model(index, count)).collect();
    let next_token = (last < count).then(|| STANDARD.encode(format!("{}/{last}", stream.name())));
    Ok(ListShardsOutput { shards, next_token })
}

fn invalid_token() -> ApiError {
    ApiError::invalid_argument("Invalid NextToken.")
}

fn decode_token(token: &str) -> Result<String, ApiError> {
    let bytes = STANDARD.decode(token).map_err(|_| invalid_token())?;
    String::from_utf8(bytes).map_err(|_| invalid_token())
}
