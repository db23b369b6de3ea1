//! `lambda`: invokes an AWS Lambda function with Kinesis Data Analytics' output-Lambda payload, so functions
//! written for a KDA application's "Lambda function" destination run unchanged.
//!
//! ```text
//!   Delivery ──gather──▶ records ──chunks: max_records / 6 MB payload──▶ Invoke {invocationId, applicationArn,
//!       records: [{recordId, lambdaDeliveryRecordMetadata: {retryHint}, data: base64}]}
//!                                                              │
//!     {"records": [{recordId, result: Ok | DeliveryFailed}]} ◀─┘  DeliveryFailed / missing: again, retryHint + 1
//! ```
//!
//! Each record gets a random `recordId` (a UUID, kept across its retries) and `retryHint` 0. The function must
//! answer every record with `Ok` or `DeliveryFailed`; as in KDA, a record it fails, leaves out, or answers with
//! anything else counts as a delivery failure, and only those records are invoked again (in a new invocation,
//! with a new `invocationId`) with their `retryHint` raised by one. A function error (`X-Amz-Function-Error`),
//! an unreadable response, throttling or a 5xx fails every record of the call, which goes again whole. The
//! retries follow [`crate::retry`]; KDA retried forever, which `retry: {attempts: 0}` restores. A delivery is
//! acknowledged once all of its records were answered `Ok`. When the retries give up or Lambda rejects the call
//! for good (no such function, no permission), the run stops with nothing unanswered acknowledged, and a
//! restart invokes those records again: at-least-once, as in KDA (whose `retryHint` was not durable either).
//!
//! Payloads stay under the synchronous invoke limit of 6 MB: a record costs its base64 length plus its JSON
//! framing, and records that do not fit go in further invocations (KDA split them the same way).
//! `applicationArn` is the config's `application_arn`, or one made up from the region and the destination's
//! name (`arn:aws:kinesisanalytics:REGION:000000000000:application/NAME`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::primitives::Blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::runtime::ack::Delivery;
use sluice_core::runtime::component::{Destination, DestinationContext, RunError};
use sluice_core::runtime::record::Record;
use tokio::sync::mpsc;

use super::batch::{Limits, Pending, chunks, deliver_all, gather, sdk_failure};
use crate::aws::{sdk_config, validate_endpoint};
use crate::retry::{Failure, RetryConfig, RetryPolicy};

/// Lambda's limit on a synchronous invocation's payload.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// Room kept in the payload for `invocationId`, `applicationArn` and the braces around the records.
const ENVELOPE_BYTES: usize = 4096;

/// The JSON around one record's data, with the longest `retryHint`: `{"recordId":"<36>",
/// "lambdaDeliveryRecordMetadata":{"retryHint":4294967295},"data":""},` is 118 bytes.
const RECORD_FRAMING_BYTES: usize = 128;

/// Invokes an AWS Lambda function with the output-Lambda payload of Kinesis Data Analytics.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaConfig {
    /// The function: its name (`my-function`, `my-function:alias`), or its ARN.
    #[schemars(length(min = 1, max = 170))]
    pub function: String,
    /// Read records straight from this stream, instead of an application.
    pub source: Option<String>,
    /// AWS region; default from the standard AWS environment and config chain (`AWS_REGION`, profiles).
    pub region: Option<String>,
    /// Endpoint URL, such as a local server's `http://127.0.0.1:9001`; default from the AWS chain.
    pub endpoint: Option<String>,
    /// The `applicationArn` the function sees; default `arn:aws:kinesisanalytics:REGION:000000000000:application/NAME`.
    pub application_arn: Option<String>,
    /// Records per invocation at most (fewer when the payload would pass Lambda's 6 MB).
    #[serde(default = "default_max_records")]
    #[schemars(default = "default_max_records", range(min = 1, max = 10000))]
    pub max_records: usize,
    /// How failed invocations and failed records are retried before the run stops.
    #[serde(default)]
    pub retry: RetryConfig,
}

fn default_max_records() -> usize {
    500
}

/// Why `function` cannot name a Lambda function, if it cannot.
fn function_problem(function: &str) -> Option<&'static str> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-_.:$".contains(&b);
    if function.is_empty() || !function.bytes().all(allowed) {
        return Some("a function name holds only letters, digits, `-`, `_` (and `:` before an alias or version)");
    }
    if function.starts_with("arn:") && !(function.contains(":lambda:") && function.contains(":function:")) {
        return Some("a function ARN looks like `arn:aws:lambda:eu-west-1:123456789012:function:my-function`");
    }
    None
}

impl PluginConfig for LambdaConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        if let Some(source) = &self.source {
            cx.link("source", LinkRole::ReadsStream, source);
        }
        if !self.function.contains("${")
            && let Some(help) = function_problem(&self.function)
        {
            cx.error_with_help(
                "function",
                Code::InvalidValue,
                format!("`{}` is not a Lambda function name or ARN", self.function),
                help,
            );
        }
        validate_endpoint(cx, "endpoint", self.endpoint.as_deref());
    }

    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError> {
        Ok(Built::Destination(Box::new(LambdaDestination {
            name: cx.name.clone(),
            function: self.function.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            application_arn: self.application_arn.clone(),
            max_records: self.max_records.max(1),
            retry: self.retry.policy(),
        })))
    }
}

/// The running `lambda` destination.
#[derive(Debug)]
pub struct LambdaDestination {
    name: String,
    function: String,
    region: Option<String>,
    endpoint: Option<String>,
    application_arn: Option<String>,
    max_records: usize,
    retry: RetryPolicy,
}

/// What a record costs in the payload: its data in base64, and its JSON framing.
pub fn payload_cost(record: &Record) -> usize {
    record.data.len().div_ceil(3) * 4 + RECORD_FRAMING_BYTES
}

#[async_trait]
impl Destination for LambdaDestination {
    async fn run(self: Box<Self>, mut input: mpsc::Receiver<Delivery>, cx: DestinationContext) -> Result<(), RunError> {
        let shared = sdk_config(self.region.as_deref(), self.endpoint.as_deref()).await;
        let application_arn = self.application_arn.clone().unwrap_or_else(|| {
            let region = shared.region().map_or("us-east-1", |r| r.as_ref());
            format!("arn:aws:kinesisanalytics:{region}:000000000000:application/{}", self.name)
        });
        // A function may run for 15 minutes: the attempt timeout leaves it that, plus the trip.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(15 * 60 + 30))
            .build();
        let config = aws_sdk_lambda::config::Builder::from(&shared)
            .retry_config(SdkRetryConfig::disabled())
            .timeout_config(timeouts)
            .build();
        let client = Client::from_conf(config);
        let what = format!("lambda destination `{}`: Invoke of `{}`", self.name, self.function);
        let limits = Limits {
            max_records: self.max_records,
            max_bytes: MAX_PAYLOAD_BYTES - ENVELOPE_BYTES,
            max_record_bytes: MAX_PAYLOAD_BYTES - ENVELOPE_BYTES,
        };
        while let Some(mut gathered) = gather(&mut input, self.max_records.saturating_mul(4)).await {
            let calls = chunks(&gathered.records, limits, payload_cost)
                .map_err(|e| RunError(format!("lambda destination `{}`: {e} of a 6 MB payload", self.name)))?;
            for call in calls {
                let batch = &gathered.records[call.clone()];
                let ids: Vec<String> = batch.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect();
                deliver_all(self.retry, &what, batch.len(), |pending: Vec<Pending>| {
                    let payload = event(&application_arn, batch, &ids, &pending);
                    let (client, function, ids) = (&client, &self.function, &ids);
                    async move {
                        let payload = payload.map_err(|e| Failure::Permanent(format!("the payload: {e}")))?;
                        let out = client
                            .invoke()
                            .function_name(function)
                            .payload(Blob::new(payload))
                            .send()
                            .await
                            .map_err(sdk_failure)?;
                        let body = out.payload().map_or(&[][..], Blob::as_ref);
                        if let Some(kind) = out.function_error() {
                            let shown = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
                            return Err(Failure::Retry(format!("the function failed ({kind}): {shown}"), None));
                        }
                        answers(body, ids, &pending).map_err(|e| Failure::Retry(e, None))
                    }
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

/// The event KDA sent to an output function.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    invocation_id: String,
    application_arn: &'a str,
    records: Vec<EventRecord<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EventRecord<'a> {
    record_id: &'a str,
    lambda_delivery_record_metadata: Metadata,
    data: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    retry_hint: u32,
}

/// The payload of one invocation for the `pending` records of `batch`, whose record ids are `ids`.
fn event(application_arn: &str, batch: &[Record], ids: &[String], pending: &[Pending]) -> serde_json::Result<Vec<u8>> {
    let records = pending
        .iter()
        .map(|p| EventRecord {
            record_id: &ids[p.index],
            lambda_delivery_record_metadata: Metadata { retry_hint: p.failures },
            data: STANDARD.encode(&batch[p.index].data),
        })
        .collect();
    serde_json::to_vec(&Event { invocation_id: uuid::Uuid::new_v4().to_string(), application_arn, records })
}

/// What the function answers.
#[derive(Debug, Deserialize)]
struct Response {
    records: Vec<Answer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    record_id: Option<String>,
    result: Option<String>,
}

/// Per pending record, `None` (answered `Ok`) or why it counts as failed; `Err` when the response is not the
/// record response model at all.
fn answers(body: &[u8], ids: &[String], pending: &[Pending]) -> Result<Vec<Option<String>>, String> {
    let response: Response = serde_json::from_slice(body).map_err(|e| {
        let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        format!("the function's response is not `{{\"records\": [{{\"recordId\", \"result\"}}]}}` ({e}): {shown}")
    })?;
    let results: HashMap<&str, &str> = response
        .records
        .iter()
        .filter_map(|a| Some((a.record_id.as_deref()?, a.result.as_deref().unwrap_or(""))))
        .collect();
    Ok(pending
        .iter()
        .map(|p| match results.get(ids[p.index].as_str()) {
            Some(&"Ok") => None,
            Some(&"DeliveryFailed") => Some("DeliveryFailed".to_owned()),
            Some(&"") => Some("an answer without `result`".to_owned()),
            Some(other) => Some(format!("result `{other}` (expected `Ok` or `DeliveryFailed`)")),
            None => Some("no answer for the record".to_owned()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use bytes::Bytes;

    use super::*;

    fn record(data: &[u8]) -> Record {
        Record { partition_key: "k".into(), data: Bytes::copy_from_slice(data), arrival_ms: 0, shard: None }
    }

    #[test]
    fn the_event_has_kdas_shape() {
        let batch = [record(b"{\"a\":1}"), record(b"xyz")];
        let ids = ["id-0".to_owned(), "id-1".to_owned()];
        let payload = event("arn:app", &batch, &ids, &[Pending { index: 1, failures: 2 }]).expect("serialises");
        let value: serde_json::Value = serde_json::from_slice(&payload).expect("json");
        assert_eq!(value["applicationArn"], "arn:app");
        assert_eq!(value["invocationId"].as_str().map(str::len), Some(36));
        assert_eq!(
            value["records"],
            serde_json::json!([{"recordId": "id-1", "lambdaDeliveryRecordMetadata": {"retryHint": 2}, "data": "eHl6"}])
        );
    }

    #[test]
    fn answers_other_than_ok_count_as_failures() {
        let ids: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
        let pending: Vec<Pending> = (0..5).map(|index| Pending { index, failures: 0 }).collect();
        let body = br#"{"records": [{"recordId": "r0", "result": "Ok"}, {"recordId": "r1", "result": "DeliveryFailed"},
            {"recordId": "r2", "result": "Dropped"}, {"recordId": "r3"}, {"recordId": "zz", "result": "Ok"}]}"#;
        let got = answers(body, &ids, &pending).expect("the model");
        assert_eq!(
            got,
            [
                None,
                Some("DeliveryFailed".to_owned()),
                Some("result `Dropped` (expected `Ok` or `DeliveryFailed`)".to_owned()),
                Some("an answer without `result`".to_owned()),
                Some("no answer for the record".to_owned()),
            ]
        );
        assert!(answers(b"null", &ids, &pending).is_err_and(|e| e.starts_with("the function's response is not")));
    }

    #[test]
    fn payloads_stay_under_six_mb() {
        let limits = Limits {
            max_records: 500,
            max_bytes: MAX_PAYLOAD_BYTES - ENVELOPE_BYTES,
            max_record_bytes: MAX_PAYLOAD_BYTES - ENVELOPE_BYTES,
        };
        let big: Vec<Record> = (0..10).map(|_| record(&[7u8; 1 << 20])).collect();
        let calls = chunks(&big, limits, payload_cost).expect("fits");
        assert_eq!(calls, [0..4, 4..8, 8..10], "4 MiB of data is 5.3 MiB of base64");
        let ids: Vec<String> = (0..10).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        for call in calls {
            let pending: Vec<Pending> =
                call.clone().map(|index| Pending { index: index - call.start, failures: u32::MAX }).collect();
            let payload = event(&"a".repeat(2048), &big[call], &ids, &pending).expect("serialises");
            assert!(payload.len() <= MAX_PAYLOAD_BYTES, "{}", payload.len());
        }
    }

    #[test]
    fn functions_are_names_or_arns() {
        for (function, ok) in [
            ("my-function", true),
            ("my_function:prod", true),
            ("arn:aws:lambda:eu-west-1:123456789012:function:my-function", true),
            ("123456789012:function:my-function", true),
            ("my function", false),
            ("arn:aws:s3:::bucket", false),
            ("", false),
        ] {
            assert_eq!(function_problem(function).is_none(), ok, "{function}");
        }
        let config: LambdaConfig = serde_json::from_value(serde_json::json!({"function": "f/g"})).expect("parses");
        let mut cx = ValidateCx::new(Path::new("."), "/destinations/d".into());
        config.validate(&mut cx);
        let messages: Vec<String> = cx.finish().0.into_iter().map(|i| i.message).collect();
        assert_eq!(messages, ["`f/g` is not a Lambda function name or ARN"]);
    }
}

sluice_core::register_plugin!(Destination, "lambda", LambdaConfig);
