//! PutRecord and PutRecords: records in, durable before the answer.
//!
//! ```text
//!  validate every record (ValidationException) ──▶ 5 MiB in all (InvalidArgumentException) ──▶ stream
//!    ──▶ route: ExplicitHashKey, else MD5(PartitionKey) ──▶ throttle per shard ──▶ put the admitted records
//!    ──▶ durable by the stream's fsync policy ──▶ shard id + sequence number per record (or its error)
//! ```
//!
//! An invalid request writes nothing. Only throttling fails single records of a PutRecords, as in Kinesis.

use std::sync::Arc;
use std::time::Instant;

use sluice_core::embedded::{shard_for_hash, shard_for_key, shard_id};
use sluice_core::runtime::record::{MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES, PutRecord};
use sluice_core::runtime::sharded::ShardedStream;

use super::stream_error;
use crate::api::{Api, check_stream};
use crate::error::{ApiError, Pattern, Violations, rate_exceeded};
use crate::model::{PutRecordInput, PutRecordOutput, PutRecordsInput, PutRecordsOutput, PutRecordsResult};
use crate::wire::Blob;

/// Records in one PutRecords.
const MAX_RECORDS: usize = 500;
/// Data and partition keys of one PutRecords.
const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;

/// A blob as the service shows it in messages.
fn shown(data: &Blob) -> String {
    let len = data.0.len();
    format!("java.nio.HeapByteBuffer[pos=0 lim={len} cap={len}]")
}

/// The violations of one record's members: record `index` of a PutRecords (paths `records.<n>.member.data`), or
/// PutRecord's (`data`). Paths are only spelled out for a violation: most records have none.
fn check_record(
    found: &mut Violations,
    index: Option<usize>,
    data: Option<&Blob>,
    key: Option<&str>,
    hash: Option<&str>,
) {
    let path = |member: &str| match index {
        Some(i) => format!("records.{}.member.{member}", i + 1),
        None => member.to_owned(),
    };
    match data {
        None => found.require(data, &path("data")),
        Some(data) if data.0.len() > MAX_RECORD_BYTES => {
            let constraint = format!("Member must have length less than or equal to {MAX_RECORD_BYTES}");
            found.add(Some(&shown(data)), &path("data"), &constraint);
        }
        Some(_) => {}
    }
    match key {
        None => found.require(key, &path("partitionKey")),
        // At most 256 bytes is at most 256 characters: count them only when that could matter.
        Some(key)
            if key.is_empty()
                || (key.len() > MAX_PARTITION_KEY_CHARS && key.chars().count() > MAX_PARTITION_KEY_CHARS) =>
        {
            found.text(Some(key), &path("partitionKey"), 1, MAX_PARTITION_KEY_CHARS, None);
        }
        Some(_) => {}
    }
    if let Some(hash) = hash.filter(|hash| hash.len() > 39 || !Pattern::HashKey.matches(hash)) {
        found.text(Some(hash), &path("explicitHashKey"), 1, 39, Some(Pattern::HashKey));
    }
}

/// The shard a record goes to: its explicit hash key's, else its partition key's.
fn route(key: &str, explicit_hash: Option<&str>, shard_count: u32) -> Result<u32, ApiError> {
    match explicit_hash {
        None => Ok(shard_for_key(key, shard_count)),
        Some(text) => match text.parse::<u128>() {
            Ok(hash) => Ok(shard_for_hash(hash, shard_count)),
            Err(_) => Err(ApiError::invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was \
                 {text}"
            ))),
        },
    }
}

/// Puts `records` (all admitted) and counts them.
async fn put(
    api: &Api,
    stream: &Arc<dyn ShardedStream>,
    records: Vec<PutRecord>,
    shards: Vec<u32>,
) -> Result<Vec<u64>, ApiError> {
    let count = records.len() as u64;
    let bytes = records.iter().map(|r| r.data.len() as u64).sum();
    let seqs = stream.put(records, shards).await.map_err(stream_error)?;
    api.metrics.add(count, bytes);
    Ok(seqs)
}

/// PutRecord: one record.
pub async fn put_record(api: &Api, input: PutRecordInput) -> Result<PutRecordOutput, ApiError> {
    let mut found = Violations::default();
    check_stream(&mut found, input.stream());
    let (key, hash) = (input.partition_key.as_deref(), input.explicit_hash_key.as_deref());
    check_record(&mut found, None, input.data.as_ref(), key, hash);
    found.text(
        input.sequence_number_for_ordering.as_deref(),
        "sequenceNumberForOrdering",
        1,
        129,
        Some(Pattern::SequenceNumber),
    );
    found.finish()?;
    let (name, stream) = api.stream(input.stream())?;
    let key = input.partition_key.unwrap_or_default();
    let data = input.data.unwrap_or_default().0;
    let shard = route(&key, hash, stream.shard_count())?;
    if let Some(throttle) = &api.throttle
        && !throttle.admit(&name, shard, data.len() + key.len(), Instant::now())
    {
        return Err(ApiError::throughput_exceeded(&shard_id(shard), &name));
    }
    let record = PutRecord { partition_key: Arc::from(key), data };
    let seqs = put(api, &stream, vec![record], vec![shard]).await?;
    let seq = seqs.first().ok_or_else(|| ApiError::internal("the stream returned no sequence number"))?;
    Ok(PutRecordOutput { shard_id: shard_id(shard), sequence_number: seq.to_string() })
}

/// PutRecords: up to 500 records, each with its own result.
pub async fn put_records(api: &Api, input: PutRecordsInput) -> Result<PutRecordsOutput, ApiError> {
    let mut found = Violations::default();
    check_stream(&mut found, input.stream());
    found.require(input.records.as_ref(), "records");
    let entries = input.records.as_deref().unwrap_or_default();
    if input.records.is_some() && !(1..=MAX_RECORDS).contains(&entries.len()) {
        let constraint = if entries.is_empty() {
            "Member must have length greater than or equal to 1".to_owned()
        } else {
            format!("Member must have length less than or equal to {MAX_RECORDS}")
        };
        found.add(Some(&format!("[{} records]", entries.len())), "records", &constraint);
    }
    for (i, entry) in entries.iter().enumerate() {
        let (key, hash) = (entry.partition_key.as_deref(), entry.explicit_hash_key.as_deref());
        check_record(&mut found, Some(i), entry.data.as_ref(), key, hash);
    }
    found.finish()?;
    let size: usize = entries
        .iter()
        .map(|e| e.data.as_ref().map_or(0, |d| d.0.len()) + e.partition_key.as_ref().map_or(0, String::len))
        .sum();
    if size > MAX_REQUEST_BYTES {
        return Err(ApiError::invalid_argument("Records size exceeds 5 MB limit"));
    }
    let (name, stream) = api.stream(input.stream())?;
    let count = stream.shard_count();
    let routes = entries
        .iter()
        .map(|e| route(e.partition_key.as_deref().unwrap_or_default(), e.explicit_hash_key.as_deref(), count))
        .collect::<Result<Vec<u32>, ApiError>>()?;

    let now = Instant::now();
    let mut results = Vec::with_capacity(entries.len());
    let (mut admitted, mut shards, mut admitted_at) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (entry, &shard)) in input.records.unwrap_or_default().into_iter().zip(&routes).enumerate() {
        let key = entry.partition_key.unwrap_or_default();
        let data = entry.data.unwrap_or_default().0;
        let bytes = data.len() + key.len();
        if api.throttle.as_ref().is_some_and(|throttle| !throttle.admit(&name, shard, bytes, now)) {
            results.push(PutRecordsResult {
                error_code: Some("ProvisionedThroughputExceededException"),
                error_message: Some(rate_exceeded(&shard_id(shard), &name)),
                ..PutRecordsResult::default()
            });
            continue;
        }
        results.push(PutRecordsResult::default());
        admitted.push(PutRecord { partition_key: Arc::from(key), data });
        shards.push(shard);
        admitted_at.push(i);
    }
    let failed = (results.len() - admitted.len()) as u32;
    let placed = shards.clone();
    let seqs = if admitted.is_empty() { Vec::new() } else { put(api, &stream, admitted, shards).await? };
    for ((i, shard), seq) in admitted_at.into_iter().zip(placed).zip(seqs) {
        results[i].shard_id = Some(shard_id(shard));
        results[i].sequence_number = Some(seq.to_string());
    }
    Ok(PutRecordsOutput { failed_record_count: failed, records: results })
}
