//! PutRecords: how a `kinesis` stream (for producers) and a `kinesis` destination (for application outputs) write.
//!
//! ```text
//!   records ──▶ queue ──next_request──▶ ≤ 500 records, ≤ 5 MiB ──PutRecords──▶ per-record result
//!                 ▲                                                                │ some failed
//!                 └──────── to_resend: each failed record and every later record ◀─┘
//!                           of its partition key, in order, at the queue's front
//! ```
//!
//! One request is in flight per call of [`put_all`], so requests reach Kinesis in order. Records of one partition
//! key go to one shard, and Kinesis stores a request's records of a shard in request order; only a partial failure
//! can break a key's order. So when a record fails, it is sent again *together with every later record of its key
//! from the same request*, even those that were stored: the key's records are stored again in order after the
//! failed one. Throttling (a shard's budget running out) refuses a shard's records from some point of the request
//! on, so then nothing is stored twice and the order is exact; when a key's record fails and a later one of the
//! same key got through (an internal failure of one record, or a large record over a byte budget that a small one
//! still fits), that later record is stored twice, and a reader that keeps a record's last copy sees the key in
//! order. Delivery is at-least-once either way: a request that fails as a whole (a timeout) is sent again and may
//! have been stored.
//!
//! Throttled records are retried for as long as the throttling lasts, with back-off and jitter (Kinesis's
//! back-pressure, as KDA retries its outputs); a record failing otherwise is retried as the entry's `retry:` says
//! ([`PutRecordsApi::policy`]).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use sluice_core::runtime::record::PutRecord;

use super::client::{
    Failure, FailureKind, KinesisClient, MAX_BACKOFF, THROTTLED, is_throttling, jitter_rng, with_stream,
};
use crate::retry::RetryPolicy;

/// Records in one PutRecords request, at most.
pub const MAX_RECORDS: usize = 500;

/// Bytes in one PutRecords request (data and partition keys), at most.
pub const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;

/// What Kinesis counts of a record against the request's 5 MiB: its data and its partition key.
fn request_bytes(record: &PutRecord) -> usize {
    record.data.len() + record.partition_key.len()
}

/// Takes the next request from the front of `queue`: as many records as fit in 500 records and 5 MiB (at least one).
pub fn next_request(queue: &mut VecDeque<PutRecord>) -> Vec<PutRecord> {
    let mut request = Vec::new();
    let mut bytes = 0;
    while let Some(record) = queue.front() {
        let size = request_bytes(record);
        if request.len() == MAX_RECORDS || (!request.is_empty() && bytes + size > MAX_REQUEST_BYTES) {
            break;
        }
        bytes += size;
        request.extend(queue.pop_front());
    }
    request
}

/// What to send again after a request in which the records marked in `failed` failed: each failed record and
/// every later record of its partition key, in request order (see the module's notes).
pub fn to_resend(sent: Vec<PutRecord>, failed: &[bool]) -> Vec<PutRecord> {
    let mut held: HashSet<Arc<str>> = HashSet::new();
    let mut resend = Vec::new();
    for (record, failed) in sent.into_iter().zip(failed.iter().copied().chain(std::iter::repeat(true))) {
        if failed || held.contains(&record.partition_key) {
            held.insert(Arc::clone(&record.partition_key));
            resend.push(record);
        }
    }
    resend
}

/// Why a record of a PutRecords request failed: its error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// `ProvisionedThroughputExceededException`, `InternalFailure`, ...
    pub code: String,
    /// The service's explanation.
    pub message: String,
}

/// One PutRecords call: the SDK in production, a fake in tests.
#[async_trait]
pub trait PutRecordsApi: Send + Sync {
    /// Sends one request; returns per record `None` (stored) or why it failed, in request order.
    async fn put_records(&self, records: &[PutRecord]) -> Result<Vec<Option<RecordError>>, Failure>;

    /// How often a record failing for another reason than throttling is sent again.
    fn policy(&self) -> RetryPolicy;
}

#[async_trait]
impl PutRecordsApi for KinesisClient {
    fn policy(&self) -> RetryPolicy {
        self.policy
    }

    async fn put_records(&self, records: &[PutRecord]) -> Result<Vec<Option<RecordError>>, Failure> {
        let entries = records
            .iter()
            .map(|r| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(r.data.to_vec()))
                    .partition_key(&*r.partition_key)
                    .build()
                    .map_err(|e| Failure { kind: FailureKind::Fatal, message: e.to_string() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .call("PutRecords", |client| {
                let request = with_stream!(client.put_records(), &self.target).set_records(Some(entries.clone()));
                request.send()
            })
            .await?;
        if output.records.len() != records.len() {
            let message = format!("PutRecords answered {} results for {} records", output.records.len(), records.len());
            return Err(Failure { kind: FailureKind::Fatal, message });
        }
        Ok(output
            .records
            .into_iter()
            .map(|entry| {
                entry.error_code.map(|code| RecordError { code, message: entry.error_message.unwrap_or_default() })
            })
            .collect())
    }
}

/// What [`put_all`] did, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PutStats {
    /// PutRecords requests sent.
    pub requests: u64,
    /// Records sent again after a partial failure (the failed ones and their keys' later ones).
    pub resent: u64,
}

/// Puts every record of `records` (in order, see the module's notes), returning once Kinesis stored all of them.
pub async fn put_all(api: &dyn PutRecordsApi, records: Vec<PutRecord>) -> Result<PutStats, Failure> {
    let mut queue: VecDeque<PutRecord> = records.into();
    let mut stats = PutStats::default();
    let mut rng = jitter_rng();
    // Consecutive rounds with failed records, and of those the rounds where some failure was not throttling.
    let (mut rounds, mut other_rounds) = (0u32, 0u32);
    while !queue.is_empty() {
        let request = next_request(&mut queue);
        stats.requests += 1;
        let results = api.put_records(&request).await?;
        let failed: Vec<bool> = results.iter().map(Option::is_some).collect();
        let Some(first) = results.iter().flatten().next() else {
            (rounds, other_rounds) = (0, 0);
            continue;
        };
        let throttled_only = results.iter().flatten().all(|e| is_throttling(&e.code));
        if !throttled_only {
            other_rounds += 1;
            if other_rounds >= api.policy().attempts {
                let message = format!(
                    "{} of {} records still failed after {other_rounds} attempts: {}: {}",
                    failed.iter().filter(|f| **f).count(),
                    request.len(),
                    first.code,
                    first.message
                );
                return Err(Failure { kind: FailureKind::Fatal, message });
            }
        }
        let resend = to_resend(request, &failed);
        stats.resent += resend.len() as u64;
        tracing::debug!("PutRecords: {} records to send again ({}: {})", resend.len(), first.code, first.message);
        for record in resend.into_iter().rev() {
            queue.push_front(record);
        }
        tokio::time::sleep(THROTTLED.backoff(rounds.min(10), &mut rng).min(MAX_BACKOFF)).await;
        rounds += 1;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use bytes::Bytes;

    use super::*;

    fn record(key: &str, n: usize, size: usize) -> PutRecord {
        let mut data = format!("{key}:{n}:").into_bytes();
        data.resize(size.max(data.len()), b'.');
        PutRecord { partition_key: key.into(), data: Bytes::from(data) }
    }

    #[test]
    fn requests_hold_at_most_500_records_and_5_mib() {
        let mut queue: VecDeque<PutRecord> = (0..1200).map(|n| record("k", n, 10)).collect();
        let sizes: Vec<usize> =
            std::iter::from_fn(|| Some(next_request(&mut queue)).filter(|r| !r.is_empty())).map(|r| r.len()).collect();
        assert_eq!(sizes, [500, 500, 200]);

        // 1 MiB records: five make 5 MiB plus their keys, so four fit.
        let mut queue: VecDeque<PutRecord> = (0..9).map(|n| record("k", n, 1024 * 1024)).collect();
        let first = next_request(&mut queue);
        assert_eq!(first.len(), 4);
        assert!(first.iter().map(request_bytes).sum::<usize>() <= MAX_REQUEST_BYTES);
        assert_eq!(next_request(&mut queue).len(), 4);
        assert_eq!(next_request(&mut queue).len(), 1);

        // Exactly 5 MiB fits.
        let exact = (MAX_REQUEST_BYTES / 2) - 1;
        let mut queue: VecDeque<PutRecord> = (0..3).map(|n| record("k", n, exact)).collect();
        assert_eq!(next_request(&mut queue).len(), 2);
    }

    #[test]
    fn a_failed_record_takes_its_keys_later_records_along() {
        let sent = vec![record("a", 0, 0), record("b", 0, 0), record("a", 1, 0), record("c", 0, 0), record("b", 1, 0)];
        let resend = to_resend(sent, &[true, false, false, false, true]);
        let names: Vec<_> = resend.iter().map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect();
        assert_eq!(names, ["a:0:", "a:1:", "b:1:"], "b:0 stayed stored; a:1 goes again after a:0");
    }

    /// Which records a fake request fails: (request number, index in it, record) -> error code.
    type FailRule = Box<dyn Fn(usize, usize, &PutRecord) -> Option<&'static str> + Send + Sync>;

    /// A Kinesis that stores what it accepts per key and fails records by a rule of (request number, index).
    struct Fake {
        stored: Mutex<BTreeMap<String, Vec<String>>>,
        requests: Mutex<Vec<usize>>,
        fail: FailRule,
    }

    #[async_trait]
    impl PutRecordsApi for Fake {
        fn policy(&self) -> RetryPolicy {
            RetryPolicy { attempts: 10, first_backoff: std::time::Duration::from_millis(100) }
        }

        async fn put_records(&self, records: &[PutRecord]) -> Result<Vec<Option<RecordError>>, Failure> {
            let request = {
                let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                requests.push(records.len());
                requests.len() - 1
            };
            assert!(records.len() <= MAX_RECORDS);
            let mut stored = self.stored.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(records
                .iter()
                .enumerate()
                .map(|(i, r)| match (self.fail)(request, i, r) {
                    Some(code) => Some(RecordError { code: code.into(), message: "refused".into() }),
                    None => {
                        let data = String::from_utf8_lossy(&r.data).into_owned();
                        stored.entry(r.partition_key.to_string()).or_default().push(data);
                        None
                    }
                })
                .collect())
        }
    }

    /// Each key's stored records with every record at its last copy: must be the put order.
    fn last_copies(log: &[String]) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut kept: Vec<String> = log.iter().rev().filter(|r| seen.insert((*r).clone())).cloned().collect();
        kept.reverse();
        kept
    }

    fn records(keys: &[&str], per_key: usize) -> Vec<PutRecord> {
        (0..per_key).flat_map(|n| keys.iter().map(move |k| record(k, n, 0))).collect()
    }

    fn expected(key: &str, per_key: usize) -> Vec<String> {
        (0..per_key).map(|n| format!("{key}:{n}:")).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_refuses_a_suffix_and_the_order_stays_exact() -> Result<(), Failure> {
        // Like a shard's budget: in the first three requests everything from record 100 on is refused.
        let fake = Fake {
            stored: Mutex::default(),
            requests: Mutex::default(),
            fail: Box::new(|request, i, _| {
                (request < 3 && i >= 100).then_some("ProvisionedThroughputExceededException")
            }),
        };
        let stats = put_all(&fake, records(&["a", "b", "c"], 400)).await?;
        let stored = fake.stored.into_inner().unwrap_or_default();
        for key in ["a", "b", "c"] {
            assert_eq!(stored[key], expected(key, 400), "no duplicates, exact order for {key}");
        }
        assert_eq!(stats.resent, 400 + 400 + 400);
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn scattered_failures_are_sent_again_and_every_key_ends_in_order() -> Result<(), Failure> {
        // Odd records of key `a` fail in the first two requests, and every 7th record in the first five:
        // later records of the same key got through before them.
        let fake = Fake {
            stored: Mutex::default(),
            requests: Mutex::default(),
            fail: Box::new(|request, i, r| {
                let odd_a = &*r.partition_key == "a" && i % 2 == 1 && request < 2;
                (odd_a || (i % 7 == 3 && request < 5)).then_some("InternalFailure")
            }),
        };
        let stats = put_all(&fake, records(&["a", "b", "c", "d"], 300)).await?;
        let stored = fake.stored.into_inner().unwrap_or_default();
        for key in ["a", "b", "c", "d"] {
            assert_eq!(last_copies(&stored[key]), expected(key, 300), "key {key} in order at its last copies");
        }
        assert!(stats.resent > 0 && stats.requests > 3, "{stats:?}");
        let requests = fake.requests.into_inner().unwrap_or_default();
        assert!(requests.iter().all(|n| *n <= MAX_RECORDS), "{requests:?}");
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_that_keeps_failing_otherwise_fails_the_put() {
        let fake = Fake {
            stored: Mutex::default(),
            requests: Mutex::default(),
            fail: Box::new(|_, i, _| (i == 0).then_some("KMSAccessDeniedException")),
        };
        let error = put_all(&fake, records(&["a"], 3)).await.err().map(|f| f.message);
        assert_eq!(
            error.as_deref(),
            Some("1 of 3 records still failed after 10 attempts: KMSAccessDeniedException: refused")
        );
    }
}
