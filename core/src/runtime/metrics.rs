//! Counters per stage, read by the progress line and the summary.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use super::ack::AckTracker;
use super::histogram::{SizeHistogram, SizeSnapshot};

/// What one stage (a producer, stream reader, application or destination) has moved so far.
#[derive(Debug, Default)]
pub struct StageMetrics {
    /// Records the stage emitted (put, delivered, written).
    pub records: AtomicU64,
    /// Payload bytes of those records.
    pub bytes: AtomicU64,
    /// Bytes held in a buffer, not yet delivered (destinations).
    pub buffered_bytes: AtomicU64,
    /// Objects written (destinations).
    pub objects: AtomicU64,
    /// Records that failed and went to an error output.
    pub errors: AtomicU64,
    /// Those errors by kind (an sql application's ERROR_NAME: `Mapping_Error`, `Data_Error`, ...).
    error_kinds: Mutex<BTreeMap<String, u64>>,
    /// Window state held (applications that have windows): groups of open GROUP BY and stagger windows,
    /// sliding-window partitions, and the groups, windows or rows a table function holds.
    pub window_groups: AtomicU64,
    /// How far the last read was behind the newest record, in milliseconds (consumers of a stream).
    pub millis_behind_latest: AtomicU64,
    /// Sizes of the objects written (destinations).
    pub object_sizes: SizeHistogram,
    /// The consumer's acknowledgements, read for its checkpoint lag. Weak: the tracker's end (its last
    /// holder dropped) is what ends the consumer's checkpoint task.
    acks: OnceLock<Weak<AckTracker>>,
}

impl StageMetrics {
    /// Counts `records` records of `bytes` payload bytes.
    pub fn add(&self, records: u64, bytes: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `count` errors of `kind` (and in [`errors`](Self::errors)). Called once per batch, not per record.
    pub fn add_errors(&self, kind: &str, count: u64) {
        self.errors.fetch_add(count, Ordering::Relaxed);
        let mut kinds = self.error_kinds.lock().unwrap_or_else(PoisonError::into_inner);
        match kinds.get_mut(kind) {
            Some(total) => *total += count,
            None => {
                kinds.insert(kind.to_owned(), count);
            }
        }
    }

    /// The errors counted by [`add_errors`](Self::add_errors), per kind, in name order.
    pub fn errors_by_kind(&self) -> Vec<(String, u64)> {
        let kinds = self.error_kinds.lock().unwrap_or_else(PoisonError::into_inner);
        kinds.iter().map(|(kind, count)| (kind.clone(), *count)).collect()
    }

    /// Reports the checkpoint lag of the consumer whose acknowledgements `tracker` tracks.
    pub fn watch_acks(&self, tracker: &Arc<AckTracker>) {
        let _ = self.acks.set(Arc::downgrade(tracker));
    }

    /// A consistent-enough copy for display.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let (unacknowledged, waited) =
            self.acks.get().and_then(Weak::upgrade).map(|acks| acks.lag()).unwrap_or_default();
        MetricsSnapshot {
            consumer: self.acks.get().is_some(),
            unacknowledged_records: unacknowledged,
            checkpoint_lag_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
            window_groups: self.window_groups.load(Ordering::Relaxed),
            millis_behind_latest: self.millis_behind_latest.load(Ordering::Relaxed),
            object_sizes: self.object_sizes.snapshot(),
            records: self.records.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            buffered_bytes: self.buffered_bytes.load(Ordering::Relaxed),
            objects: self.objects.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// A copy of [`StageMetrics`] at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// See [`StageMetrics::records`].
    pub records: u64,
    /// See [`StageMetrics::bytes`].
    pub bytes: u64,
    /// See [`StageMetrics::buffered_bytes`].
    pub buffered_bytes: u64,
    /// See [`StageMetrics::objects`].
    pub objects: u64,
    /// See [`StageMetrics::errors`].
    pub errors: u64,
    /// Whether the stage consumes a stream (then the checkpoint and stream lags apply).
    pub consumer: bool,
    /// Records read and not yet acknowledged by every sink.
    pub unacknowledged_records: u64,
    /// How long the oldest of them has waited, in milliseconds: 0 when everything read is acknowledged.
    pub checkpoint_lag_ms: u64,
    /// See [`StageMetrics::window_groups`].
    pub window_groups: u64,
    /// See [`StageMetrics::millis_behind_latest`].
    pub millis_behind_latest: u64,
    /// See [`StageMetrics::object_sizes`].
    pub object_sizes: SizeSnapshot,
}
