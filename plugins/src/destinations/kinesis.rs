//! `kinesis`: delivers records to an existing Kinesis data stream (KDA's "Kinesis data stream" destination).
//!
//! ```text
//!   Delivery ──gather──▶ records (partition key: the record's) ──put_all──▶ PutRecords ≤ 500 records / 5 MiB
//!                                                                              │ all stored
//!                                                   acknowledge every delivery ◀┘
//! ```
//!
//! The writer is the `kinesis` stream's ([`put_all`]): requests in order, failed records sent again with their
//! partition key's later records so each key's order holds, throttling retried for as long as it lasts (KDA
//! retries its outputs indefinitely: back-pressure). Deliveries already waiting are gathered into one put
//! ([`gather`]); each is acknowledged once PutRecords accepted all of its records, so the application's checkpoint
//! never passes a record Kinesis does not have. A put that fails for good (no such stream, no permission) stops
//! the run with nothing after the last acknowledged delivery acknowledged: a restart sends it again
//! (at-least-once, as in KDA).
//!
//! Each record keeps its partition key (an application's output keeps its input row's key); a record without one
//! gets the destination's name as its key, since Kinesis requires one.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::runtime::ack::Delivery;
use sluice_core::runtime::component::{Destination, DestinationContext, RunError};
use sluice_core::runtime::record::PutRecord;
use tokio::sync::mpsc;

use super::batch::gather;
use crate::retry::RetryConfig;
use crate::streams::kinesis::client::{KinesisClient, StreamTarget};
use crate::streams::kinesis::entry_key;
use crate::streams::kinesis::put::{MAX_RECORDS, put_all};
use crate::streams::kinesis::validate::validate_target;

/// Records gathered from the channel into one put.
const GATHER_RECORDS: usize = 4 * MAX_RECORDS;

/// Puts records into an existing Kinesis data stream with PutRecords. The stream's name is the entry's name unless
/// `stream_name` or `arn` says otherwise. Region, endpoint and credentials come from the standard AWS environment
/// and config files; `region` and `endpoint` override them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KinesisDestinationConfig {
    /// The Kinesis stream's name, when it differs from the entry's name.
    pub stream_name: Option<String>,
    /// The stream's ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`), instead of `stream_name`.
    pub arn: Option<String>,
    /// Read records straight from this stream, instead of an application.
    pub source: Option<String>,
    /// The AWS region (default: `AWS_REGION`, or the AWS config file's).
    pub region: Option<String>,
    /// Another endpoint than AWS's: an `http://` or `https://` URL (default: `AWS_ENDPOINT_URL`, else AWS's).
    pub endpoint: Option<String>,
    /// How failed calls other than throttling (network, 5xx) are retried before the run stops; throttling is
    /// Kinesis's back-pressure and is retried for as long as it lasts.
    #[serde(default)]
    pub retry: RetryConfig,
}

impl PluginConfig for KinesisDestinationConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        if let Some(source) = &self.source {
            cx.link("source", LinkRole::ReadsStream, source);
        }
        let key = entry_key(cx);
        validate_target(
            cx,
            &key,
            self.stream_name.as_deref(),
            self.arn.as_deref(),
            self.region.as_deref(),
            self.endpoint.as_deref(),
        );
    }

    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError> {
        let target = StreamTarget::from_config(self.stream_name.as_deref(), self.arn.as_deref(), &cx.name);
        let client = KinesisClient::new(target, self.region.clone(), self.endpoint.clone(), self.retry.policy());
        Ok(Built::Destination(Box::new(KinesisDestination { client, default_key: Arc::from(cx.name.as_str()) })))
    }
}

/// The running `kinesis` destination.
#[derive(Debug)]
pub struct KinesisDestination {
    client: KinesisClient,
    default_key: Arc<str>,
}

#[async_trait]
impl Destination for KinesisDestination {
    async fn run(self: Box<Self>, mut input: mpsc::Receiver<Delivery>, cx: DestinationContext) -> Result<(), RunError> {
        while let Some(mut gathered) = gather(&mut input, GATHER_RECORDS).await {
            let records: Vec<PutRecord> = gathered
                .records
                .iter()
                .map(|r| PutRecord {
                    partition_key: if r.partition_key.is_empty() {
                        Arc::clone(&self.default_key)
                    } else {
                        Arc::clone(&r.partition_key)
                    },
                    data: r.data.clone(),
                })
                .collect();
            let count = records.len();
            put_all(&self.client, records).await.map_err(|f| {
                RunError(format!("kinesis destination `{}`: {}", cx.name, self.client.explain("PutRecords", &f)))
            })?;
            gathered.acknowledge_through(count, &cx.metrics);
        }
        Ok(())
    }
}

sluice_core::register_plugin!(Destination, "kinesis", KinesisDestinationConfig);
