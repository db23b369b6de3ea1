//! Retrying a failed call to something outside (a bucket, an AWS API, an HTTP endpoint): exponential back-off
//! with jitter. Every destination and AWS client of the plugins retries through [`RetryPolicy`].

use std::time::Duration;

use rand::Rng;

/// How a failed call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Back-off after the first failure; it doubles after each further one.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 5, first_backoff: Duration::from_millis(100) }
    }
}

impl RetryPolicy {
    /// The pause after failed attempt `attempt` (0-based): "equal jitter", half fixed and half random, so
    /// writers that failed together do not retry together.
    pub fn backoff(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let full = self.first_backoff.saturating_mul(1u32 << attempt.min(16));
        let half = full / 2;
        half + half.mul_f64(rng.random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    #[test]
    fn backoff_doubles_with_jitter() {
        let policy = RetryPolicy::default();
        let mut rng = SmallRng::seed_from_u64(9);
        for attempt in 0..4 {
            let full = Duration::from_millis(100 << attempt);
            let pause = policy.backoff(attempt, &mut rng);
            assert!(pause >= full / 2 && pause <= full, "attempt {attempt}: {pause:?}");
        }
    }
}
