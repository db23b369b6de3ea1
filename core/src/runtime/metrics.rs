//! Counters per stage, read by the progress line and the summary.

use std::sync::atomic::{AtomicU64, Ordering};

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
}

impl StageMetrics {
    /// Counts `records` records of `bytes` payload bytes.
    pub fn add(&self, records: u64, bytes: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A consistent-enough copy for display.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
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
}
