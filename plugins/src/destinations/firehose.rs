//! `firehose`: delivers records to an existing Amazon Data Firehose delivery stream, for users who keep Firehose
//! (KDA's "Firehose delivery stream" destination).
//!
//! ```text
//!   Delivery ──gather──▶ records ──chunks: 500 records / 4 MiB──▶ PutRecordBatch ──▶ FailedPutCount > 0?
//!                                                                      ▲                   │ yes: the failed
//!                                                                      └── back-off ◀──────┘ entries only
//! ```
//!
//! The machinery is [`super::batch`]'s: deliveries already waiting are gathered, cut into PutRecordBatch calls
//! within Firehose's limits (500 records, 4 MiB per call, 1,000 KiB per record), and each call is retried until
//! every entry is taken: a call that fails as a whole (network, throttling, 5xx) goes again whole; a call that
//! answers `FailedPutCount > 0` goes again with only the entries that carry an `ErrorCode`, as AWS advises. A
//! delivery is acknowledged once all of its records were taken. When the retries give up, or Firehose rejects
//! the call for good (no such delivery stream, no permission), or a record is over 1,000 KiB, the run stops with
//! the error and nothing after the last acknowledged delivery is acknowledged: a restart sends those records
//! again (at-least-once, as Firehose itself).
//!
//! Firehose concatenates records with nothing between them; `append_newline: true` adds a `\n` to each record
//! here (what the AppendDelimiterToRecord processor does in the delivery stream). The SDK's own retries are
//! turned off, so [`crate::retry`] alone decides how often and how patiently a call is repeated.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_firehose::Client;
use aws_sdk_firehose::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_firehose::config::timeout::TimeoutConfig;
use aws_sdk_firehose::primitives::Blob;
use schemars::JsonSchema;
use serde::Deserialize;
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::runtime::ack::Delivery;
use sluice_core::runtime::component::{Destination, DestinationContext, RunError};
use sluice_core::runtime::record::Record;
use tokio::sync::mpsc;

use super::batch::{Limits, Pending, chunks, deliver_all, gather, sdk_failure};
use crate::aws::{sdk_config, validate_endpoint};
use crate::retry::{Failure, RetryConfig, RetryPolicy};

/// PutRecordBatch's limits.
pub const LIMITS: Limits = Limits { max_records: 500, max_bytes: 4 << 20, max_record_bytes: 1000 << 10 };

/// Records gathered from the channel before they are cut into calls.
const GATHER_RECORDS: usize = 4 * 500;

/// Delivers records to an existing Amazon Data Firehose delivery stream with PutRecordBatch.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirehoseConfig {
    /// The delivery stream's name; it must exist (sluice does not create it).
    pub delivery_stream: String,
    /// Read records straight from this stream, instead of an application.
    pub source: Option<String>,
    /// AWS region; default from the standard AWS environment and config chain (`AWS_REGION`, profiles).
    pub region: Option<String>,
    /// Endpoint URL, such as a local server's `http://127.0.0.1:5000`; default from the AWS chain.
    pub endpoint: Option<String>,
    /// Add a newline after each record: Firehose itself concatenates records with nothing between them.
    #[serde(default)]
    pub append_newline: bool,
    /// How failed calls and failed records are retried before the run stops.
    #[serde(default)]
    pub retry: RetryConfig,
}

/// Whether `name` can be a delivery stream's name: 1 to 64 of `a-z A-Z 0-9 _ . -`.
fn valid_stream_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl PluginConfig for FirehoseConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        if let Some(source) = &self.source {
            cx.link("source", LinkRole::ReadsStream, source);
        }
        if !self.delivery_stream.contains("${") && !valid_stream_name(&self.delivery_stream) {
            cx.error_with_help(
                "delivery_stream",
                Code::InvalidValue,
                format!("`{}` is not a delivery stream name", self.delivery_stream),
                "a name is 1 to 64 letters, digits, `_`, `.` or `-`, such as `metrics-delivery-stream`",
            );
        }
        validate_endpoint(cx, "endpoint", self.endpoint.as_deref());
    }

    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError> {
        Ok(Built::Destination(Box::new(FirehoseDestination {
            name: cx.name.clone(),
            delivery_stream: self.delivery_stream.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            append_newline: self.append_newline,
            retry: self.retry.policy(),
        })))
    }
}

/// The running `firehose` destination.
#[derive(Debug)]
pub struct FirehoseDestination {
    name: String,
    delivery_stream: String,
    region: Option<String>,
    endpoint: Option<String>,
    append_newline: bool,
    retry: RetryPolicy,
}

#[async_trait]
impl Destination for FirehoseDestination {
    async fn run(self: Box<Self>, mut input: mpsc::Receiver<Delivery>, cx: DestinationContext) -> Result<(), RunError> {
        let shared = sdk_config(self.region.as_deref(), self.endpoint.as_deref()).await;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(60))
            .build();
        let config = aws_sdk_firehose::config::Builder::from(&shared)
            .retry_config(SdkRetryConfig::disabled())
            .timeout_config(timeouts)
            .build();
        let client = Client::from_conf(config);
        let what = format!("firehose destination `{}`: PutRecordBatch to `{}`", self.name, self.delivery_stream);
        let extra = usize::from(self.append_newline);
        while let Some(mut gathered) = gather(&mut input, GATHER_RECORDS).await {
            let calls = chunks(&gathered.records, LIMITS, |r| r.data.len() + extra).map_err(|e| {
                RunError(format!(
                    "firehose destination `{}`: {e} (Firehose takes records up to 1,000 KiB); the run stops with \
                     the record unacknowledged",
                    self.name
                ))
            })?;
            for call in calls {
                let batch = &gathered.records[call.clone()];
                deliver_all(self.retry, &what, batch.len(), |pending| {
                    put(&client, &self.delivery_stream, batch, pending, self.append_newline)
                })
                .await
                .map_err(|e| RunError(e.to_string()))?;
                gathered.acknowledge_through(call.end, &cx.metrics);
            }
            gathered.acknowledge_through(gathered.records.len(), &cx.metrics);
        }
        Ok(())
    }
}

/// One PutRecordBatch of the `pending` records of `batch`: per pending record, `None` (taken) or its error.
async fn put(
    client: &Client,
    stream: &str,
    batch: &[Record],
    pending: Vec<Pending>,
    append_newline: bool,
) -> Result<Vec<Option<String>>, Failure<String>> {
    let entries = pending
        .iter()
        .map(|p| {
            let data = &batch[p.index].data;
            let mut bytes = Vec::with_capacity(data.len() + usize::from(append_newline));
            bytes.extend_from_slice(data);
            if append_newline {
                bytes.push(b'\n');
            }
            aws_sdk_firehose::types::Record::builder().data(Blob::new(bytes)).build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Permanent(e.to_string()))?;
    let out = client
        .put_record_batch()
        .delivery_stream_name(stream)
        .set_records(Some(entries))
        .send()
        .await
        .map_err(sdk_failure)?;
    if out.failed_put_count() == 0 {
        return Ok(vec![None; pending.len()]);
    }
    Ok(out
        .request_responses()
        .iter()
        .map(|entry| {
            entry.error_code().map(|code| match entry.error_message() {
                Some(message) => format!("{code}: {message}"),
                None => code.to_owned(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn issues(yaml: serde_json::Value) -> Vec<String> {
        let config: FirehoseConfig = serde_json::from_value(yaml).expect("parses");
        let mut cx = ValidateCx::new(Path::new("."), "/destinations/d".into());
        config.validate(&mut cx);
        cx.finish().0.into_iter().map(|i| format!("{}: {}", i.pointer, i.message)).collect()
    }

    #[test]
    fn names_and_endpoints_are_checked() {
        assert!(issues(serde_json::json!({"delivery_stream": "metrics-delivery_stream.1"})).is_empty());
        assert!(issues(serde_json::json!({"delivery_stream": "${STREAM}"})).is_empty(), "resolved at run time");
        assert_eq!(
            issues(serde_json::json!({"delivery_stream": "a b", "endpoint": "localhost:4566"})),
            [
                "/destinations/d/delivery_stream: `a b` is not a delivery stream name",
                "/destinations/d/endpoint: endpoint `localhost:4566` is not an http:// or https:// URL"
            ]
        );
        assert!(!valid_stream_name(&"x".repeat(65)));
    }
}

sluice_core::register_plugin!(Destination, "firehose", FirehoseConfig);
