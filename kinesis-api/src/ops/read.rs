//! GetShardIterator and GetRecords: reading a shard from where the caller says.
//!
//! ```text
//!  GetShardIterator: TRIM_HORIZON ─▶ seq 0 (oldest kept)     AT_SEQUENCE_NUMBER n    ─▶ n
//!                    LATEST       ─▶ the shard's tip         AFTER_SEQUENCE_NUMBER n ─▶ n + 1
//!                    AT_TIMESTAMP ─▶ first arrived at/after  ──▶ iterator (stream, shard, seq), 5 minutes
//!  GetRecords: iterator ─▶ read what is there now (up to Limit, ~10 MiB) ─▶ records + NextShardIterator
//!                                                                           + MillisBehindLatest
//! ```

use sluice_core::embedded::shard_id;
use sluice_core::runtime::sharded::{ShardMark, ShardStart};

use super::{shard_index, stream_error};
use crate::api::{Api, RequestCx, arn_stream_name, check_stream};
use crate::error::{ACCOUNT, ApiError, Pattern, Violations};
use crate::iterator::Position;
use crate::model::{GetRecordsInput, GetRecordsOutput, GetShardIteratorInput, GetShardIteratorOutput, RecordOut};
use crate::wire::{Blob, Timestamp};

/// The iterator types, as the service lists them.
const ITERATOR_TYPES: [&str; 5] =
    ["AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "TRIM_HORIZON", "AT_SEQUENCE_NUMBER"];

/// Records one GetRecords returns at most, by default.
const MAX_RECORDS: usize = 10_000;
/// Data one GetRecords returns (about: the record that passes it is the last).
const MAX_BYTES: usize = 10 * 1024 * 1024;

/// GetShardIterator: where a shard is to be read.
pub async fn get_shard_iterator(
    api: &Api,
    input: GetShardIteratorInput,
    cx: &RequestCx,
) -> Result<GetShardIteratorOutput, ApiError> {
    let mut found = Violations::default();
    check_stream(&mut found, input.stream());
    found.require(input.shard_id.as_ref(), "shardId");
    found.text(input.shard_id.as_deref(), "shardId", 1, 128, Some(Pattern::Name));
    found.require(input.shard_iterator_type.as_ref(), "shardIteratorType");
    if let Some(kind) = input.shard_iterator_type.as_deref().filter(|kind| !ITERATOR_TYPES.contains(kind)) {
        let constraint = format!("Member must satisfy enum value set: [{}]", ITERATOR_TYPES.join(", "));
        found.add(Some(kind), "shardIteratorType", &constraint);
    }
    let starting = input.starting_sequence_number.as_deref();
    found.text(starting, "startingSequenceNumber", 1, 129, Some(Pattern::SequenceNumber));
    found.finish()?;

    let (name, stream) = api.stream(input.stream())?;
    let given_id = input.shard_id.as_deref().unwrap_or_default();
    let shard = shard_index(given_id).filter(|&index| index < stream.shard_count());
    let (Some(shard), Some(tip)) = (shard, shard.and_then(|index| stream.tip(index))) else {
        let shown = shard_index(given_id).map_or_else(|| given_id.to_owned(), shard_id);
        return Err(ApiError::shard_not_found(&shown, &name));
    };
    let id = shard_id(shard);
    let kind = input.shard_iterator_type.as_deref().unwrap_or_default();
    let wrong_combination = |given: &str| {
        ApiError::invalid_argument(format!(
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) \
             TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and {given} \
             StartingSequenceNumber."
        ))
    };
    let invalid_seq = |seq: &str, why: &str| {
        ApiError::invalid_argument(format!(
            "StartingSequenceNumber {seq} used in GetShardIterator on shard {id} in stream {name} under account \
             {ACCOUNT} is invalid{why}."
        ))
    };
    let next_seq = match (kind, starting) {
        ("TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP", Some(_)) => return Err(wrong_combination("also a")),
        ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", None) => return Err(wrong_combination("no")),
        ("TRIM_HORIZON", None) => 0,
        ("LATEST", None) => tip,
        ("AT_TIMESTAMP", None) => {
            let Some(Timestamp { ms }) = input.timestamp else {
                return Err(ApiError::invalid_argument(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has \
                     no timestamp parameter.",
                ));
            };
            if ms > cx.now_ms {
                return Err(ApiError::invalid_argument(format!(
                    "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. \
                     timestampInMillis: {ms}, currentTimestampInMillis: {}",
                    cx.now_ms
                )));
            }
            stream.seq_at_time(shard, ms).await.map_err(stream_error)?
        }
        (_, Some(text)) => {
            let seq: u64 = text.parse().map_err(|_| invalid_seq(text, ""))?;
            // Only numbers the shard has handed out (or its next one) are its sequence numbers.
            let after = kind == "AFTER_SEQUENCE_NUMBER";
            if seq > tip || (after && seq == tip) {
                return Err(invalid_seq(text, " because it did not come from this stream"));
            }
            if after { seq + 1 } else { seq }
        }
        (_, None) => return Err(wrong_combination("no")),
    };
    let position = Position { stream: name, shard, next_seq, locator: None };
    Ok(GetShardIteratorOutput { shard_iterator: api.iterators.encode(&position, cx.now_ms) })
}

/// GetRecords: what the shard holds from the iterator on, now.
pub async fn get_records(api: &Api, input: GetRecordsInput, cx: &RequestCx) -> Result<GetRecordsOutput, ApiError> {
    let mut found = Violations::default();
    found.require(input.shard_iterator.as_ref(), "shardIterator");
    found.text(input.shard_iterator.as_deref(), "shardIterator", 1, 512, None);
    found.range(input.limit, "limit", 1, MAX_RECORDS as i64);
    check_stream(&mut found, crate::model::StreamRef { name: None, arn: input.stream_arn.as_deref() });
    found.finish()?;

    let position = api.iterators.decode(input.shard_iterator.as_deref().unwrap_or_default(), cx.now_ms)?;
    if let Some(arn) = input.stream_arn.as_deref()
        && arn_stream_name(arn) != Some(position.stream.as_str())
    {
        return Err(ApiError::invalid_argument(format!(
            "The ShardIterator does not belong to the stream {arn} (it reads {}).",
            position.stream
        )));
    }
    let id = shard_id(position.shard);
    let stream = api
        .streams
        .get(&position.stream)
        .filter(|stream| position.shard < stream.shard_count())
        .ok_or_else(|| ApiError::shard_not_found(&id, &position.stream))?;
    let start = match position.locator {
        Some(locator) => ShardStart::Resume(ShardMark { next_seq: position.next_seq, locator }),
        None => ShardStart::AtSeq(position.next_seq),
    };
    let limit = input.limit.map_or(MAX_RECORDS, |limit| limit as usize);
    let read = stream.read(position.shard, start, limit, MAX_BYTES).await.map_err(stream_error)?;

    let behind = read.next.next_seq < read.tip;
    let millis_behind_latest = match read.records.last() {
        Some(last) if behind => (cx.now_ms - last.arrival_ms).max(0),
        _ => 0,
    };
    let next = Position {
        stream: position.stream,
        shard: position.shard,
        next_seq: read.next.next_seq,
        locator: Some(read.next.locator),
    };
    let records = read
        .records
        .into_iter()
        .map(|record| RecordOut {
            sequence_number: record.seq.to_string(),
            approximate_arrival_timestamp: Timestamp { ms: record.arrival_ms },
            data: Blob(record.data),
            partition_key: record.partition_key.to_string(),
        })
        .collect();
    Ok(GetRecordsOutput { records, next_shard_iterator: api.iterators.encode(&next, cx.now_ms), millis_behind_latest })
}
