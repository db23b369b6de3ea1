//! Pacing: a token bucket shared by `datagen` (`every`, `rate`) and `file` (`rate`).
//!
//! Tokens accrue at the rate and are spent one per record; a producer waits until a whole token is there, then
//! takes as many records as there are tokens. `capacity` bounds the burst after a stall, so the average holds
//! without a flood. The first record goes at once (the bucket starts with one token). Time is tokio's, so the
//! bucket follows a paused test clock.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A token bucket: at most `per_sec` records per second on average.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    per_sec: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
    /// The shortest wait: with high rates, waking every 100 ms and sending a batch beats a wake-up per record.
    min_wait: Duration,
}

impl Pace {
    /// One record per `period`.
    pub(crate) fn every(period: Duration) -> Pace {
        Pace::new(1.0 / period.as_secs_f64().max(1e-9), 1.0, Duration::ZERO)
    }

    /// `per_sec` records per second, sent in batches about every 100 ms; bursts up to a quarter second's worth.
    pub(crate) fn rate(per_sec: f64) -> Pace {
        Pace::new(per_sec, (per_sec / 4.0).max(1.0), Duration::from_millis(100))
    }

    fn new(per_sec: f64, capacity: f64, min_wait: Duration) -> Pace {
        Pace { per_sec, capacity, tokens: 1.0, last: Instant::now(), min_wait }
    }

    /// Records that may go now.
    pub(crate) fn available(&mut self) -> usize {
        self.available_at(Instant::now())
    }

    fn available_at(&mut self, now: Instant) -> usize {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.last = now;
        self.tokens as usize
    }

    /// Spends `records` tokens.
    pub(crate) fn take(&mut self, records: usize) {
        self.tokens -= records as f64;
    }

    /// How long until a record may go (zero if one may go now).
    fn wait_at(&mut self, now: Instant) -> Duration {
        if self.available_at(now) >= 1 {
            return Duration::ZERO;
        }
        let missing = (1.0 - self.tokens) / self.per_sec;
        // Rounded up to a millisecond: float error must not turn into a string of zero-length sleeps.
        Duration::from_secs_f64(missing).max(self.min_wait).max(Duration::from_millis(1))
    }

    /// Waits until at least one record may go; returns how many may, or `None` if `stop` was cancelled first.
    pub(crate) async fn ready(&mut self, stop: &CancellationToken) -> Option<usize> {
        loop {
            let wait = self.wait_at(Instant::now());
            if wait.is_zero() {
                return Some(self.available());
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lets_one_record_go_per_period_starting_at_once() {
        let mut pace = Pace::every(Duration::from_secs(10));
        let start = pace.last;
        assert_eq!(pace.available_at(start), 1);
        pace.take(1);
        assert_eq!(pace.wait_at(start), Duration::from_secs(10));
        assert_eq!(pace.available_at(start + Duration::from_secs(9)), 0);
        assert_eq!(pace.available_at(start + Duration::from_secs(10)), 1);
        // A long stall does not release a burst: the bucket holds one record.
        assert_eq!(pace.available_at(start + Duration::from_secs(100)), 1);
    }

    #[test]
    fn rate_sends_batches_every_100ms_and_holds_the_average() {
        let mut pace = Pace::rate(1000.0);
        let mut now = pace.last;
        let mut sent = pace.available_at(now);
        pace.take(sent);
        let end = now + Duration::from_secs(10);
        while now < end {
            let wait = pace.wait_at(now);
            assert!(wait >= Duration::from_millis(100) || wait.is_zero(), "{wait:?}");
            now += wait;
            let n = pace.available_at(now);
            pace.take(n);
            sent += n;
        }
        assert!((9_990..=10_010).contains(&sent), "{sent} records in 10 s at 1000/s");
    }

    #[test]
    fn slow_rates_wait_for_a_whole_record() {
        let mut pace = Pace::rate(0.5);
        let start = pace.last;
        let now = pace.available_at(start);
        pace.take(now);
        assert_eq!(pace.wait_at(start), Duration::from_secs(2));
    }
}
