//! A size histogram with fixed buckets (Prometheus's cumulative `le` buckets), for the objects destinations write.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the buckets, in bytes: from small objects (the usual complaint) to Firehose's 128 MiB.
pub const OBJECT_SIZE_BUCKETS: [u64; 7] = [1 << 10, 64 << 10, 1 << 20, 5 << 20, 16 << 20, 64 << 20, 128 << 20];

/// Counts of sizes per bucket, their sum and count; lock-free.
#[derive(Debug, Default)]
pub struct SizeHistogram {
    /// Per bucket, the sizes that fell in it (not cumulative); the last counts those above every bound.
    counts: [AtomicU64; OBJECT_SIZE_BUCKETS.len() + 1],
    sum: AtomicU64,
}

/// A copy of a [`SizeHistogram`]: cumulative counts per bound of [`OBJECT_SIZE_BUCKETS`], the sum and the count.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SizeSnapshot {
    /// Sizes at or below each bound.
    pub cumulative: [u64; OBJECT_SIZE_BUCKETS.len()],
    /// The sum of all sizes.
    pub sum: u64,
    /// How many sizes (the `+Inf` bucket).
    pub count: u64,
}

impl SizeHistogram {
    /// Counts one size.
    pub fn observe(&self, bytes: u64) {
        let bucket = OBJECT_SIZE_BUCKETS.iter().position(|&bound| bytes <= bound).unwrap_or(OBJECT_SIZE_BUCKETS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The cumulative counts, as Prometheus exposes them.
    pub fn snapshot(&self) -> SizeSnapshot {
        let mut snapshot = SizeSnapshot { sum: self.sum.load(Ordering::Relaxed), ..SizeSnapshot::default() };
        let mut running = 0;
        for (index, count) in self.counts.iter().enumerate() {
            running += count.load(Ordering::Relaxed);
            if let Some(slot) = snapshot.cumulative.get_mut(index) {
                *slot = running;
            }
        }
        snapshot.count = running;
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fall_in_cumulative_buckets() {
        let histogram = SizeHistogram::default();
        for size in [10, 1024, 2_000_000, 200 << 20] {
            histogram.observe(size);
        }
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.cumulative, [2, 2, 2, 3, 3, 3, 3]);
        assert_eq!((snapshot.count, snapshot.sum), (4, 10 + 1024 + 2_000_000 + (200 << 20)));
    }
}
