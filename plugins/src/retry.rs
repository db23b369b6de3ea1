//! Retrying a failed call to something outside (a bucket, an AWS API, an HTTP endpoint): exponential back-off
//! with jitter. Every destination and AWS client of the plugins retries through [`RetryPolicy`].
//!
//! [`Retrier`] (and [`retry`], which loops with it) runs an async call under a policy: the call says whether a failure is worth retrying
//! ([`Failure::Retry`], optionally with the server's own `Retry-After`) or final ([`Failure::Permanent`]); pauses
//! grow as [`RetryPolicy::backoff`] says, capped at [`MAX_PAUSE`]. [`RetryConfig`] is the `retry:` block a
//! destination's config offers, so a user can make a destination more patient (or retry forever, as KDA did).

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use rand::Rng;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use sluice_core::units::duration_range_schema;

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

/// The longest pause between two attempts, whatever the attempt number or a server's `Retry-After` says.
pub const MAX_PAUSE: Duration = Duration::from_secs(20);

/// How one attempt of a [`retry`]ed call failed.
#[derive(Debug)]
pub enum Failure<E> {
    /// Worth trying again (a connection error, a throttle, a 5xx); `Some` pause when the server asked for one.
    Retry(E, Option<Duration>),
    /// Trying again cannot help (a 4xx, a missing resource): give up now.
    Permanent(E),
}

/// Why a [`retry`]ed call gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GaveUp<E> {
    /// Every attempt failed; the error of the last one.
    #[error("{what} failed {attempts} times, giving up: {error}")]
    Exhausted {
        /// What was called, for the message.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        error: E,
    },
    /// An attempt failed for good.
    #[error("{what} failed: {error}")]
    Permanent {
        /// What was called, for the message.
        what: String,
        /// The error.
        error: E,
    },
}

impl<E> GaveUp<E> {
    /// The error of the attempt that ended it.
    pub fn error(&self) -> &E {
        match self {
            GaveUp::Exhausted { error, .. } | GaveUp::Permanent { error, .. } => error,
        }
    }
}

/// The state of one retried call: how many attempts failed, and the jitter's random numbers. Use it in a
/// loop that keeps its own state across attempts (the records still to send), or through [`retry`]:
///
/// ```ignore
/// let mut retrier = Retrier::new(policy, "PutRecordBatch");
/// let answer = loop {
///     match call().await {
///         Ok(answer) => break answer,
///         Err(failure) => retrier.failed(failure).await?, // pauses, or gives up
///     }
/// };
/// ```
#[derive(Debug)]
pub struct Retrier {
    policy: RetryPolicy,
    what: String,
    failures: u32,
    rng: SmallRng,
}

impl Retrier {
    /// A call retried as `policy` says; `what` names it in logs and errors (such as "firehose destination
    /// `out`: PutRecordBatch to `s`").
    pub fn new(policy: RetryPolicy, what: impl Into<String>) -> Self {
        // Seeded from the OS once (uuid draws from it): the jitter needs spread, not secrecy.
        let rng = SmallRng::seed_from_u64(uuid::Uuid::new_v4().as_u64_pair().0);
        Retrier { policy, what: what.into(), failures: 0, rng }
    }

    /// Attempts failed so far: the 0-based number of the next attempt.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// An attempt failed: pauses before the next one (logging the failure at warn), or gives up when the failure
    /// is permanent or it was the policy's last attempt.
    pub async fn failed<E: Display>(&mut self, failure: Failure<E>) -> Result<(), GaveUp<E>> {
        match failure {
            Failure::Permanent(error) => Err(GaveUp::Permanent { what: self.what.clone(), error }),
            Failure::Retry(error, asked) => {
                self.failures += 1;
                if self.failures >= self.policy.attempts.max(1) {
                    return Err(GaveUp::Exhausted { what: self.what.clone(), attempts: self.failures, error });
                }
                let pause =
                    asked.unwrap_or_else(|| self.policy.backoff(self.failures - 1, &mut self.rng)).min(MAX_PAUSE);
                tracing::warn!(attempt = self.failures, %error, "{} failed; retrying in {pause:?}", self.what);
                tokio::time::sleep(pause).await;
                Ok(())
            }
        }
    }
}

/// Calls `call` (with the 0-based attempt number) until it succeeds, fails for good, or `policy.attempts`
/// attempts failed, pausing between attempts as `policy` says; see [`Retrier`].
pub async fn retry<T, E: Display, Fut>(
    policy: RetryPolicy,
    what: &str,
    mut call: impl FnMut(u32) -> Fut,
) -> Result<T, GaveUp<E>>
where
    Fut: Future<Output = Result<T, Failure<E>>>,
{
    let mut retrier = Retrier::new(policy, what);
    loop {
        match call(retrier.failures()).await {
            Ok(value) => return Ok(value),
            Err(failure) => retrier.failed(failure).await?,
        }
    }
}

/// The `retry:` block of a destination: how patiently failed calls are retried before the run stops (with
/// nothing acknowledged, so a restart delivers the records again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per call in all, the first included; `0` retries forever, as Kinesis Data Analytics did.
    #[serde(default = "default_attempts")]
    #[schemars(default = "default_attempts", range(max = 1000))]
    pub attempts: u32,
    /// Pause after the first failure; it doubles after each further one (with jitter), up to 20s.
    #[serde(default = "default_backoff")]
    #[schemars(default = "default_backoff", schema_with = "backoff_schema")]
    pub backoff: sluice_core::units::Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { attempts: default_attempts(), backoff: default_backoff() }
    }
}

impl RetryConfig {
    /// The policy it describes.
    pub fn policy(&self) -> RetryPolicy {
        let attempts = if self.attempts == 0 { u32::MAX } else { self.attempts };
        RetryPolicy { attempts, first_backoff: self.backoff.as_std() }
    }
}

fn default_attempts() -> u32 {
    10
}
fn default_backoff() -> sluice_core::units::Duration {
    "100ms".parse().unwrap_or(sluice_core::units::Duration::from_secs(1))
}
fn backoff_schema(_: &mut SchemaGenerator) -> Schema {
    duration_range_schema("1ms", "20s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_what_is_worth_it_and_stops_at_permanent_or_exhausted() {
        let policy = RetryPolicy { attempts: 4, first_backoff: Duration::from_millis(100) };
        let calls = std::cell::Cell::new(0);
        let ok = retry(policy, "t", |attempt| {
            calls.set(calls.get() + 1);
            async move { if attempt < 2 { Err(Failure::Retry("busy", None)) } else { Ok(attempt) } }
        })
        .await;
        assert_eq!((ok, calls.get()), (Ok(2), 3));
        let exhausted: Result<(), _> = retry(policy, "t", |_| async { Err(Failure::Retry("down", None)) }).await;
        assert_eq!(exhausted.err().map(|e| e.to_string()).as_deref(), Some("t failed 4 times, giving up: down"));
        let calls = std::cell::Cell::new(0);
        let permanent: Result<(), _> = retry(policy, "t", |_| {
            calls.set(calls.get() + 1);
            async { Err(Failure::Permanent("404")) }
        })
        .await;
        assert_eq!((permanent.err().map(|e| e.to_string()), calls.get()), (Some("t failed: 404".to_owned()), 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_servers_retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(1) };
        let start = tokio::time::Instant::now();
        let _: Result<(), _> =
            retry(policy, "t", |_| async { Err(Failure::Retry("429", Some(Duration::from_secs(3600)))) }).await;
        assert_eq!(start.elapsed(), MAX_PAUSE * 2, "two pauses, each capped");
    }

    #[test]
    fn zero_attempts_means_forever() {
        let config: RetryConfig = serde_json::from_str(r#"{"attempts": 0}"#).expect("parses");
        assert_eq!(config.policy().attempts, u32::MAX);
        assert_eq!(
            RetryConfig::default().policy(),
            RetryPolicy { attempts: 10, first_backoff: Duration::from_millis(100) }
        );
    }

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
