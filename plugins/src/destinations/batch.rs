//! What the request-per-batch destinations (`firehose`, `lambda`, `http`) share: gathering deliveries into
//! requests under a service's limits, retrying the records a request did not take, and acknowledging.
//!
//! ```text
//!   channel ──gather──▶ Gathered{records, acks} ──chunks(limits)──▶ request ──▶ deliver_all (retry failed ones)
//!                            ▲                                                      │
//!                            └──── acknowledge_through(records sent) ◀──────────────┘
//! ```
//!
//! [`gather`] waits for one delivery, then takes every further one already waiting (up to a record count), so a
//! busy pipeline fills requests and a quiet one adds no latency. [`chunks`] cuts the gathered records into
//! requests no bigger than the service takes ([`Limits`], measured by a per-destination cost of each record),
//! and reports a record too big for any request. [`deliver_all`] sends one chunk: each attempt gets the records
//! still pending (with how often each failed, Lambda's `retryHint`) and answers per record; only the failed
//! ones go again, with back-off, until all are taken or the [`RetryPolicy`] gives up. Chunks go in order, one at
//! a time, and a delivery is acknowledged once every record of it (and of all before it) was taken: a
//! destination that gives up returns the error with nothing after it acknowledged, so a restart replays it.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::Range;

use sluice_core::runtime::ack::{Ack, Delivery};
use sluice_core::runtime::metrics::StageMetrics;
use sluice_core::runtime::record::Record;
use tokio::sync::mpsc;

use aws_sdk_firehose::config::http::HttpResponse;
use aws_sdk_firehose::error::{ProvideErrorMetadata, SdkError};

use crate::retry::{Failure, GaveUp, Retrier, RetryPolicy};

/// The most one request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Records per request.
    pub max_records: usize,
    /// Bytes per request, as the destination's cost function counts them.
    pub max_bytes: usize,
    /// Bytes of one record, as the cost function counts them; a record over `max_bytes` (but within this) goes
    /// in a request of its own.
    pub max_record_bytes: usize,
}

/// A record no request can carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {index} of the batch is {bytes} bytes, over the {limit}-byte limit of one record")]
pub struct Oversized {
    /// Its index in the batch.
    pub index: usize,
    /// Its cost.
    pub bytes: usize,
    /// The limit it exceeds.
    pub limit: usize,
}

/// Cuts `records` into consecutive ranges, each within `limits` as `cost` counts a record.
pub fn chunks(
    records: &[Record],
    limits: Limits,
    cost: impl Fn(&Record) -> usize,
) -> Result<Vec<Range<usize>>, Oversized> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, record) in records.iter().enumerate() {
        let size = cost(record);
        if size > limits.max_record_bytes {
            return Err(Oversized { index, bytes: size, limit: limits.max_record_bytes });
        }
        if index > start && (index - start >= limits.max_records || bytes + size > limits.max_bytes) {
            out.push(start..index);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < records.len() {
        out.push(start..records.len());
    }
    Ok(out)
}

/// Deliveries taken from the channel together: their records end to end, and where each delivery ends.
#[derive(Debug, Default)]
pub struct Gathered {
    /// The records of every delivery, in order.
    pub records: Vec<Record>,
    /// Per delivery, not yet acknowledged: the end of its records in `records`, and its ack.
    acks: VecDeque<(usize, Ack)>,
    /// Records acknowledged so far (their payload bytes are counted in the metrics then).
    acknowledged: usize,
}

impl Gathered {
    /// Adds a delivery's records.
    pub fn push(&mut self, delivery: Delivery) {
        self.records.extend(delivery.records);
        self.acks.push_back((self.records.len(), delivery.ack));
    }

    /// Acknowledges every delivery whose records all lie in the first `sent` records, counting them in `metrics`.
    pub fn acknowledge_through(&mut self, sent: usize, metrics: &StageMetrics) {
        while self.acks.front().is_some_and(|(end, _)| *end <= sent) {
            let Some((end, ack)) = self.acks.pop_front() else { break };
            let bytes = self.records[self.acknowledged..end].iter().map(|r| r.data.len() as u64).sum();
            metrics.add((end - self.acknowledged) as u64, bytes);
            self.acknowledged = end;
            ack.acknowledge();
        }
    }

    /// Deliveries not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.acks.len()
    }
}

/// Waits for a delivery, then takes those already waiting until about `max_records` records are gathered;
/// `None` once the channel is closed and empty.
pub async fn gather(input: &mut mpsc::Receiver<Delivery>, max_records: usize) -> Option<Gathered> {
    let mut gathered = Gathered::default();
    gathered.push(input.recv().await?);
    while gathered.records.len() < max_records {
        match input.try_recv() {
            Ok(delivery) => gathered.push(delivery),
            Err(_) => break,
        }
    }
    Some(gathered)
}

/// A record an attempt of [`deliver_all`] should send: its index in the chunk, and how many attempts failed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Index in the chunk.
    pub index: usize,
    /// Failed attempts so far (Lambda's `retryHint`).
    pub failures: u32,
}

/// Sends `count` records with `call` until every one is taken: each attempt gets the records still pending and
/// returns, per pending record in the same order, `None` (taken) or `Some(reason)` (failed: it goes again). An
/// `Err` from `call` fails every pending record. Retried under `policy`; `what` names the call in logs and errors.
pub async fn deliver_all<Fut>(
    policy: RetryPolicy,
    what: &str,
    count: usize,
    mut call: impl FnMut(Vec<Pending>) -> Fut,
) -> Result<(), GaveUp<String>>
where
    Fut: Future<Output = Result<Vec<Option<String>>, Failure<String>>>,
{
    let mut pending: Vec<Pending> = (0..count).map(|index| Pending { index, failures: 0 }).collect();
    let mut retrier = Retrier::new(policy, what);
    while !pending.is_empty() {
        let failure = match call(pending.clone()).await {
            Ok(results) if results.len() == pending.len() => {
                let sent = pending.len();
                let mut first = None;
                pending = pending
                    .into_iter()
                    .zip(results)
                    .filter_map(|(p, result)| {
                        let reason = result?;
                        first.get_or_insert(reason);
                        Some(Pending { failures: p.failures + 1, ..p })
                    })
                    .collect();
                match first {
                    None => return Ok(()),
                    Some(reason) => {
                        Failure::Retry(format!("{} of {sent} records failed ({reason})", pending.len()), None)
                    }
                }
            }
            Ok(results) => {
                pending.iter_mut().for_each(|p| p.failures += 1);
                Failure::Retry(format!("{} results for {} records", results.len(), pending.len()), None)
            }
            Err(failure) => {
                pending.iter_mut().for_each(|p| p.failures += 1);
                failure
            }
        };
        retrier.failed(failure).await?;
    }
    Ok(())
}

/// An error and its causes on one line (`dispatch failure: io error: tcp connect error: Connection refused`),
/// leaving out a cause whose text its parent already shows.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Service error codes of AWS APIs worth retrying: throttles and the service's own trouble.
const RETRYABLE_CODES: [&str; 10] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ServiceUnavailableException",
    "ServiceException",
    "InternalFailure",
    "LimitExceededException",
    "RequestTimeout",
    "ResourceConflictException",
    "EC2ThrottledException",
];

/// How a failed AWS SDK call is retried: network trouble, timeouts, unreadable responses, throttles and 5xx go
/// again; anything else (a missing resource, a bad request, no permission) is permanent. The message carries
/// the service's error code and message, or the chain of causes ([`error_chain`]) for errors without a response.
pub fn sdk_failure<E>(error: SdkError<E, HttpResponse>) -> Failure<String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    match &error {
        SdkError::ConstructionFailure(_) => Failure::Permanent(error_chain(&error)),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Failure::Retry(error_chain(&error), None)
        }
        _ => {
            let code = error.code().unwrap_or("unknown error").to_owned();
            let message = match (error.message(), status) {
                (Some(m), Some(s)) => format!("{code} (HTTP {s}): {m}"),
                (Some(m), None) => format!("{code}: {m}"),
                (None, Some(s)) => format!("{code} (HTTP {s})"),
                (None, None) => code.clone(),
            };
            let retryable = RETRYABLE_CODES.contains(&code.as_str()) || status.is_some_and(|s| s == 429 || s >= 500);
            if retryable { Failure::Retry(message, None) } else { Failure::Permanent(message) }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use sluice_core::runtime::ack::AckTracker;
    use sluice_core::runtime::record::Positions;

    use super::*;

    fn record(bytes: usize) -> Record {
        Record { partition_key: "k".into(), data: Bytes::from(vec![b'x'; bytes]), arrival_ms: 0, shard: None }
    }

    #[test]
    fn chunks_respect_record_and_byte_limits() {
        let limits = Limits { max_records: 3, max_bytes: 10, max_record_bytes: 6 };
        let len = |r: &Record| r.data.len();
        let sizes = |s: &[usize]| s.iter().map(|n| record(*n)).collect::<Vec<_>>();
        assert_eq!(chunks(&sizes(&[1, 1, 1, 1, 1, 1, 1]), limits, len), Ok(vec![0..3, 3..6, 6..7]), "3 records each");
        assert_eq!(chunks(&sizes(&[4, 4, 4, 6]), limits, len), Ok(vec![0..2, 2..4]), "10 bytes each");
        assert_eq!(chunks(&sizes(&[5, 5, 5]), limits, len), Ok(vec![0..2, 2..3]), "exactly at the byte limit");
        assert_eq!(chunks(&sizes(&[]), limits, len), Ok(vec![]));
        assert_eq!(
            chunks(&sizes(&[1, 7]), limits, len),
            Err(Oversized { index: 1, bytes: 7, limit: 6 }),
            "over the per-record limit"
        );
        let alone = Limits { max_records: 3, max_bytes: 10, max_record_bytes: 100 };
        assert_eq!(chunks(&sizes(&[1, 50, 1]), alone, len), Ok(vec![0..1, 1..2, 2..3]), "a big record goes alone");
        // The cost function decides: Lambda counts base64 and framing.
        assert_eq!(chunks(&sizes(&[1, 1, 1]), limits, |r| r.data.len() * 5), Ok(vec![0..2, 2..3]));
    }

    #[test]
    fn the_firehose_limits_cut_500_records_or_4_mib() {
        let limits = Limits { max_records: 500, max_bytes: 4 << 20, max_record_bytes: 1000 << 10 };
        let small: Vec<Record> = (0..1_201).map(|_| record(10)).collect();
        assert_eq!(chunks(&small, limits, |r| r.data.len()), Ok(vec![0..500, 500..1000, 1000..1201]));
        let big: Vec<Record> = (0..9).map(|_| record(1000 << 10)).collect();
        assert_eq!(chunks(&big, limits, |r| r.data.len()), Ok(vec![0..4, 4..8, 8..9]), "4 x 1000 KiB fit in 4 MiB");
    }

    #[tokio::test]
    async fn gathering_takes_what_waits_and_acknowledges_whole_deliveries_only() {
        let (tracker, committable) = AckTracker::new(1);
        let (tx, mut rx) = mpsc::channel(8);
        for n in 1..=3u64 {
            let ack = tracker.register(Positions::from([("s0".to_owned(), n.to_string())])).for_sink(0);
            tx.send(Delivery { records: vec![record(1), record(2)], ack }).await.expect("open");
        }
        let mut gathered = gather(&mut rx, 4).await.expect("a delivery");
        assert_eq!(gathered.records.len(), 4, "stops once 4 records are gathered");
        let metrics = StageMetrics::default();
        gathered.acknowledge_through(3, &metrics);
        assert_eq!(*committable.borrow(), Some(Positions::from([("s0".to_owned(), "1".to_owned())])));
        gathered.acknowledge_through(4, &metrics);
        assert_eq!(*committable.borrow(), Some(Positions::from([("s0".to_owned(), "2".to_owned())])));
        assert_eq!((metrics.snapshot().records, metrics.snapshot().bytes), (4, 6));
        assert_eq!(gathered.unacknowledged(), 0);
        drop(tx);
        assert_eq!(gather(&mut rx, 4).await.map(|g| g.records.len()), Some(2));
        assert!(gather(&mut rx, 4).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn only_failed_records_are_sent_again_with_their_failure_count() {
        let policy = RetryPolicy { attempts: 5, first_backoff: Duration::from_millis(10) };
        let seen = std::cell::RefCell::new(Vec::<Vec<(usize, u32)>>::new());
        let result = deliver_all(policy, "test", 4, |pending: Vec<Pending>| {
            seen.borrow_mut().push(pending.iter().map(|p| (p.index, p.failures)).collect());
            let call = seen.borrow().len();
            async move {
                match call {
                    1 => Ok(pending.iter().map(|p| (p.index % 2 == 1).then(|| "busy".to_owned())).collect()),
                    2 => Err(Failure::Retry("down".to_owned(), None)),
                    _ => Ok(vec![None; pending.len()]),
                }
            }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(
            seen.into_inner(),
            [vec![(0, 0), (1, 0), (2, 0), (3, 0)], vec![(1, 1), (3, 1)], vec![(1, 2), (3, 2)]]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_that_always_fails_ends_in_an_error_naming_the_reason() {
        let policy = RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(10) };
        let result = deliver_all(policy, "PutRecordBatch", 2, |pending: Vec<Pending>| async move {
            Ok(pending.iter().map(|p| (p.index == 0).then(|| "ServiceUnavailableException".to_owned())).collect())
        })
        .await;
        assert_eq!(
            result.err().map(|e| e.to_string()).as_deref(),
            Some("PutRecordBatch failed 3 times, giving up: 1 of 1 records failed (ServiceUnavailableException)")
        );
    }
}
