//! Per-shard write limits (`shard_limits`): a token bucket per shard, as a provisioned Kinesis shard throttles.
//!
//! Each bucket holds at most one second of the limit and refills continuously. A record is admitted when its
//! shard's bucket has a record and its bytes left; otherwise it is refused (PutRecord: the whole call with
//! ProvisionedThroughputExceededException; PutRecords: that record, in its result entry) and takes nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use sluice_core::serve::ShardLimits;

/// The buckets of every shard written through the API.
#[derive(Debug)]
pub struct Throttle {
    records_per_second: Option<f64>,
    bytes_per_second: Option<f64>,
    buckets: Mutex<HashMap<(String, u32), Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    records: f64,
    bytes: f64,
    refilled: Instant,
}

impl Throttle {
    /// Buckets for `limits`.
    pub fn new(limits: ShardLimits) -> Self {
        Throttle {
            records_per_second: limits.records_per_second.map(f64::from),
            bytes_per_second: limits.bytes_per_second.map(|size| size.bytes() as f64),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether shard `shard` of `stream` may take a record of `bytes` bytes now; takes it from the bucket if so.
    pub fn admit(&self, stream: &str, shard: u32, bytes: usize, now: Instant) -> bool {
        let max_records = self.records_per_second.unwrap_or(f64::INFINITY);
        let max_bytes = self.bytes_per_second.unwrap_or(f64::INFINITY);
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry((stream.to_owned(), shard)).or_insert(Bucket {
            records: max_records,
            bytes: max_bytes,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.records = (bucket.records + elapsed * max_records).min(max_records);
        bucket.bytes = (bucket.bytes + elapsed * max_bytes).min(max_bytes);
        bucket.refilled = now;
        // A record larger than a whole second's bytes still goes through once the bucket is full.
        let bytes = bytes as f64;
        if bucket.records >= 1.0 && bucket.bytes >= bytes.min(max_bytes) {
            bucket.records -= 1.0;
            bucket.bytes -= bytes;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sluice_core::units::ByteSize;

    use super::*;

    #[test]
    fn a_shard_takes_one_second_of_its_limit_then_refills() {
        let limits = ShardLimits { records_per_second: Some(3), bytes_per_second: Some(ByteSize::from_bytes(1000)) };
        let throttle = Throttle::new(limits);
        let start = Instant::now();
        let admitted: Vec<bool> = (0..4).map(|_| throttle.admit("s", 0, 10, start)).collect();
        assert_eq!(admitted, [true, true, true, false]);
        assert!(throttle.admit("s", 1, 10, start), "another shard has its own bucket");
        assert!(throttle.admit("s", 0, 10, start + Duration::from_millis(400)), "a third of a second: one record");
        assert!(!throttle.admit("s", 0, 10, start + Duration::from_millis(400)));
        let later = start + Duration::from_secs(5);
        assert!(throttle.admit("s", 0, 1000, later));
        assert!(!throttle.admit("s", 0, 1, later), "the bytes are spent");
    }
}
