//! The Kinesis client shared by a `kinesis` stream and a `kinesis` destination: which AWS stream, the SDK client
//! built on first use, and how a failed call is classified and retried.
//!
//! The client is built lazily (loading the AWS config chain is async and may read files, and `build` is not), once,
//! and shared by every task of the component. Every call goes through [`KinesisClient::call`], which sorts failures
//! into kinds: throttling (`ProvisionedThroughputExceededException`, `LimitExceededException`, ...) is retried for
//! as long as it lasts, with back-off and jitter from 200-400 ms doubling up to [`MAX_BACKOFF`] (it is Kinesis's
//! back-pressure, as KDA waits on a throttled output); transient failures (connection refused, timeouts, 5xx) are
//! retried as the entry's `retry:` block says (by default 10 attempts from 100 ms, about half a minute; `attempts:
//! 0` retries forever); anything else (the stream does not exist, access denied, a malformed request) fails at once
//! with a message naming the stream and where it was looked for. The SDK's own retries are off, so this is the
//! only retry loop, and each attempt is bounded by [`ATTEMPT_TIMEOUT`].

use std::future::Future;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_kinesis::config::timeout::TimeoutConfig;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::OnceCell;

use crate::retry::{MAX_PAUSE, RetryPolicy};

/// The longest pause between two attempts of a throttled call.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The back-off of throttled calls: 200 to 400 ms at first (so a throttled shard is not asked more than 5 times a
/// second), doubling up to [`MAX_BACKOFF`], with jitter, without limit.
pub const THROTTLED: RetryPolicy = RetryPolicy { attempts: u32::MAX, first_backoff: Duration::from_millis(400) };

/// The longest one attempt of a call may take (a GetRecords carries up to 10 MB).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// A generator for back-off jitter, seeded from the clock and a counter (writers that failed together must not
/// pause alike).
pub fn jitter_rng() -> SmallRng {
    // Seeded from the OS (uuid draws from it): the jitter needs spread, not secrecy.
    SmallRng::seed_from_u64(uuid::Uuid::new_v4().as_u64_pair().0)
}

/// Which AWS stream: by name (in the configured account and region) or by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamTarget {
    /// The stream's name.
    Name(String),
    /// The stream's ARN.
    Arn(String),
}

impl StreamTarget {
    /// The target of a config: its `arn`, else its `stream_name`, else `default` (the entry's key).
    pub fn from_config(stream_name: Option<&str>, arn: Option<&str>, default: &str) -> Self {
        match (arn, stream_name) {
            (Some(arn), _) => StreamTarget::Arn(arn.to_owned()),
            (None, Some(name)) => StreamTarget::Name(name.to_owned()),
            (None, None) => StreamTarget::Name(default.to_owned()),
        }
    }

    /// The name or ARN, as shown in messages and stored with checkpoints.
    pub fn shown(&self) -> &str {
        match self {
            StreamTarget::Name(name) | StreamTarget::Arn(name) => name,
        }
    }
}

/// Sets `StreamName` or `StreamARN` on a request builder.
macro_rules! with_stream {
    ($builder:expr, $target:expr) => {
        match $target {
            $crate::streams::kinesis::client::StreamTarget::Name(name) => $builder.stream_name(name),
            $crate::streams::kinesis::client::StreamTarget::Arn(arn) => $builder.stream_arn(arn),
        }
    };
}
pub(crate) use with_stream;

/// What kind of failure a call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Kinesis refused for now (a shard's or the account's limits): retried for as long as it lasts.
    Throttled,
    /// The network or the service failed: retried a few times.
    Transient,
    /// A shard iterator was older than 5 minutes: get a new one.
    ExpiredIterator,
    /// The stream (or shard) does not exist.
    NotFound,
    /// Anything else: not retried.
    Fatal,
}

/// A failed call: its kind and a message (error code and text).
#[derive(Debug, Clone)]
pub struct Failure {
    /// How to react.
    pub kind: FailureKind,
    /// The error code and message, as the service or the SDK gave them.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Error codes Kinesis answers when a limit is exceeded for now.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "ThrottlingException",
    "Throttling",
    "KMSThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

/// Error codes of a failure on the service's side.
const TRANSIENT_CODES: &[&str] = &["InternalFailure", "InternalFailureException", "ServiceUnavailable"];

/// Whether a per-record error code of PutRecords is throttling (retried without limit).
pub fn is_throttling(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// Sorts an SDK error into a [`Failure`].
pub fn classify<E, R>(error: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let kind = match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => FailureKind::Transient,
        SdkError::ServiceError(_) => match error.code() {
            Some(code) if is_throttling(code) => FailureKind::Throttled,
            Some(code) if TRANSIENT_CODES.contains(&code) => FailureKind::Transient,
            Some("ExpiredIteratorException") => FailureKind::ExpiredIterator,
            Some("ResourceNotFoundException") => FailureKind::NotFound,
            _ => FailureKind::Fatal,
        },
        _ => FailureKind::Fatal,
    };
    let message = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => causes(error),
    };
    // No credentials anywhere in the chain: waiting will not bring them.
    if message.contains("no providers in chain provided credentials") {
        let message = format!(
            "{message}; no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
             AWS_PROFILE, or run where a role provides them"
        );
        return Failure { kind: FailureKind::Fatal, message };
    }
    Failure { kind, message }
}

/// An error and its sources, `: `-joined, each said once (the SDK's wrappers repeat their source's text).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message
}

/// How a missing region is shown.
const NO_REGION: &str = "(none set)";

/// A Kinesis client for one stream, built on first use.
#[derive(Debug)]
pub struct KinesisClient {
    /// The stream.
    pub target: StreamTarget,
    /// How failures other than throttling are retried (the entry's `retry:`).
    pub policy: RetryPolicy,
    region: Option<String>,
    endpoint: Option<String>,
    client: OnceCell<(Client, String)>,
}

impl KinesisClient {
    /// A client for `target`, with the config's `region` and `endpoint` overrides, retrying failures other than
    /// throttling under `policy`.
    pub fn new(target: StreamTarget, region: Option<String>, endpoint: Option<String>, policy: RetryPolicy) -> Self {
        KinesisClient { target, policy, region, endpoint, client: OnceCell::new() }
    }

    /// A client over an SDK client built elsewhere (tests: a scripted server, fixed credentials).
    #[cfg(test)]
    pub(crate) fn with_client(target: StreamTarget, client: Client, policy: RetryPolicy) -> Self {
        let built = OnceCell::new_with(Some((client, "a scripted server".to_owned())));
        KinesisClient { target, policy, region: None, endpoint: None, client: built }
    }

    /// The SDK client and where it sends requests (`endpoint http://..., region ...`), built on the first call.
    pub async fn client(&self) -> &(Client, String) {
        self.client
            .get_or_init(|| async {
                let config = crate::aws::sdk_config(self.region.as_deref(), self.endpoint.as_deref()).await;
                let region = config.region().map_or_else(|| NO_REGION.to_owned(), ToString::to_string);
                let at = match config.endpoint_url() {
                    Some(endpoint) => format!("endpoint {endpoint}, region {region}"),
                    None => format!("region {region}"),
                };
                let timeouts = TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build();
                let config = aws_sdk_kinesis::config::Builder::from(&config)
                    .retry_config(SdkRetryConfig::disabled())
                    .timeout_config(timeouts)
                    .build();
                (Client::from_conf(config), at)
            })
            .await
    }

    /// Where requests go, once the client was built (for messages).
    pub fn whereabouts(&self) -> &str {
        self.client.get().map_or("", |(_, at)| at.as_str())
    }

    /// `Kinesis stream `x` (endpoint ..., region ...)`: `what` failed: `failure`, for error messages.
    pub fn explain(&self, what: &str, failure: &Failure) -> String {
        let stream = self.target.shown();
        let at = self.whereabouts();
        match failure.kind {
            FailureKind::NotFound => format!(
                "Kinesis stream `{stream}` not found ({at}): {what} failed: {failure}; create the stream, or name \
                 another one with `stream_name:` or `arn:`"
            ),
            _ => format!("Kinesis stream `{stream}` ({at}): {what} failed: {failure}"),
        }
    }

    /// Runs `call` until it succeeds, retrying throttling for as long as it lasts and transient failures as
    /// [`KinesisClient::policy`] says, with back-off. Other failures (and an expired iterator) return at once.
    pub async fn call<T, E, R, F, Fut>(&self, what: &str, mut call: F) -> Result<T, Failure>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
        F: FnMut(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
    {
        let client = self.client().await.0.clone();
        let explain = |failure: &Failure| self.explain(what, failure);
        if client.config().region().is_none() {
            let message = "no AWS region is set: give the entry `region:`, or set AWS_REGION (or a profile's region)";
            return Err(Failure { kind: FailureKind::Fatal, message: message.to_owned() });
        }
        retry_classified(self.policy, &explain, || {
            let attempt = call(client.clone());
            async move { attempt.await.map_err(|e| classify(&e)) }
        })
        .await
    }
}

/// The retry loop of [`KinesisClient::call`] over classified failures: throttling without limit (back-off from
/// [`THROTTLED`] up to [`MAX_BACKOFF`]), transient failures as `policy` says, anything else returned at once.
pub async fn retry_classified<T, Fut>(
    policy: RetryPolicy,
    explain: &(dyn Fn(&Failure) -> String + Sync),
    mut call: impl FnMut() -> Fut,
) -> Result<T, Failure>
where
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut rng = jitter_rng();
    let (mut throttled, mut failed) = (0u32, 0u32);
    loop {
        let failure = match call().await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        let pause = match failure.kind {
            FailureKind::Throttled => {
                throttled += 1;
                if throttled % 20 == 0 {
                    tracing::info!("{}; still throttled after {throttled} attempts", explain(&failure));
                }
                THROTTLED.backoff((throttled - 1).min(10), &mut rng).min(MAX_BACKOFF)
            }
            FailureKind::Transient if failed.saturating_add(1) < policy.attempts => {
                failed += 1;
                tracing::warn!("{}; retrying (attempt {})", explain(&failure), failed + 1);
                policy.backoff(failed - 1, &mut rng).min(MAX_PAUSE)
            }
            FailureKind::Transient => {
                let message = format!("{} (gave up after {} attempts)", failure.message, failed + 1);
                return Err(Failure { kind: failure.kind, message });
            }
            _ => return Err(failure),
        };
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(kinds: Vec<FailureKind>) -> impl FnMut() -> std::future::Ready<Result<usize, Failure>> {
        let mut calls = 0;
        move || {
            calls += 1;
            let result = match kinds.get(calls - 1) {
                Some(kind) => Err(Failure { kind: *kind, message: format!("{kind:?}") }),
                None => Ok(calls),
            };
            std::future::ready(result)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_waited_out_and_other_failures_are_bounded() {
        let policy = RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(100) };
        let explain = |f: &Failure| f.message.clone();
        let started = tokio::time::Instant::now();
        let throttled = retry_classified(policy, &explain, failing(vec![FailureKind::Throttled; 40])).await;
        assert_eq!(throttled.ok(), Some(41), "throttling is retried past `attempts`");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(60) && waited <= MAX_BACKOFF * 40, "backs off up to 5s: {waited:?}");

        let transient = retry_classified(policy, &explain, failing(vec![FailureKind::Transient; 2])).await;
        assert_eq!(transient.ok(), Some(3), "two failures fit in 3 attempts");
        let gave_up = retry_classified(policy, &explain, failing(vec![FailureKind::Transient; 3])).await;
        assert_eq!(gave_up.err().map(|f| f.kind), Some(FailureKind::Transient));
        for kind in [FailureKind::NotFound, FailureKind::Fatal, FailureKind::ExpiredIterator] {
            let once = retry_classified(policy, &explain, failing(vec![kind, kind])).await;
            assert_eq!(once.err().map(|f| f.kind), Some(kind), "returned at once");
        }
    }

    #[test]
    fn the_arn_wins_then_the_name_then_the_key() {
        assert_eq!(StreamTarget::from_config(Some("n"), None, "k"), StreamTarget::Name("n".into()));
        assert_eq!(StreamTarget::from_config(None, None, "k").shown(), "k");
        assert_eq!(StreamTarget::from_config(None, Some("arn"), "k"), StreamTarget::Arn("arn".into()));
    }
}
