//! `kinesis`: a pipeline stream that is an AWS Kinesis data stream (or anything speaking its API: a local
//! server, sluice's own `--kinesis-api`).
//!
//! The same pipeline runs on the embedded stream or on Kinesis by changing the stream entry's `type`: producers
//! put with PutRecords, applications and destinations read with ListShards / GetShardIterator / GetRecords, and
//! the pipeline's ledger keeps consumers' checkpoints and producers' positions, as it does for the embedded stream.
//!
//! ```text
//!   mod.rs         the config (`stream_name` | `arn`, `region`, `endpoint`, `starting_position`), validate, build
//!   client.rs      the SDK client (built on first use from the standard AWS chain), failure kinds, retries
//!   put.rs         PutRecords: 500 records / 5 MiB per request, partial failures sent again, per-key order
//!   reader.rs      one task per shard: 5 GetRecords/s, iterator renewal, parents before children
//!   shards.rs      ListShards (all pages) and the resharding lineage
//!   checkpoint.rs  what goes into the ledger
//!   validate.rs    the checks of `stream_name`, `arn`, `region`, `endpoint`
//!   stream.rs      core's `Stream` trait over all of it
//!   scripted.rs    (tests) the reader against a scripted server: throttled reads, an expired iterator
//! ```
//!
//! Credentials come only from the standard AWS chain (environment, profiles, SSO, instance and container roles):
//! a pipeline file never holds a secret. `region` and `endpoint` override the chain's (see [`crate::aws`]).

pub mod checkpoint;
pub mod client;
pub mod put;
pub mod reader;
#[cfg(test)]
mod scripted;
pub mod shards;
pub mod stream;
pub mod validate;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sluice_core::plugin::{BuildContext, BuildError, Built, PluginConfig, ValidateCx};

use self::client::{KinesisClient, StreamTarget};
use self::stream::KinesisStream;
use self::validate::validate_target;
use crate::retry::RetryConfig;

/// An AWS Kinesis data stream. The stream must exist; its name is the entry's name unless `stream_name` or `arn`
/// says otherwise. Region, endpoint and credentials come from the standard AWS environment and config files
/// (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_PROFILE`, ...); `region` and `endpoint` override them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KinesisConfig {
    /// The Kinesis stream's name, when it differs from the entry's name.
    pub stream_name: Option<String>,
    /// The stream's ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`), instead of `stream_name`.
    pub arn: Option<String>,
    /// The AWS region (default: `AWS_REGION`, or the AWS config file's).
    pub region: Option<String>,
    /// Another endpoint than AWS's (a local server, a VPC endpoint): an `http://` or `https://` URL
    /// (default: `AWS_ENDPOINT_URL`, else AWS's endpoint for the region).
    pub endpoint: Option<String>,
    /// Where readers start, as KDA's `InputStartingPositionConfiguration`: `LAST_STOPPED_POINT` resumes after what
    /// the reader's last run delivered (its checkpoint in the pipeline's data directory; without one, from
    /// `TRIM_HORIZON`), `TRIM_HORIZON` reads everything the stream keeps, `NOW` only what is put from now on.
    #[serde(default)]
    pub starting_position: StartingPosition,
    /// How failed calls other than throttling (network, 5xx) are retried before the run stops; throttling is
    /// Kinesis's back-pressure and is retried for as long as it lasts.
    #[serde(default)]
    pub retry: RetryConfig,
}

/// Where a reader of a `kinesis` stream starts (KDA's names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartingPosition {
    /// After the reader's checkpoint; without one, at the oldest record kept.
    #[default]
    LastStoppedPoint,
    /// At the oldest record the stream keeps, every run.
    TrimHorizon,
    /// At records put after the reader opened, every run.
    Now,
}

impl PluginConfig for KinesisConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        // Firehose, Lambda or other applications may read an AWS stream: it need not be read in the pipeline.
        cx.readable_outside();
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
        let stream =
            KinesisStream::new(cx.name.clone(), client, std::sync::Arc::clone(&cx.ledger), self.starting_position);
        Ok(Built::Stream(std::sync::Arc::new(stream)))
    }
}

/// The entry's name: the AWS stream's name unless `stream_name:` or `arn:` says otherwise.
pub(crate) fn entry_key(cx: &ValidateCx<'_>) -> String {
    cx.entry_name().unwrap_or_default()
}

sluice_core::register_plugin!(Stream, "kinesis", KinesisConfig);

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_entry_key_is_the_default_name() -> Result<(), serde_json::Error> {
        let config: KinesisConfig = serde_json::from_value(serde_json::json!({"endpoint": "localhost:1"}))?;
        let mut cx = ValidateCx::new(Path::new("."), "/streams/or~1ders".into());
        config.validate(&mut cx);
        let messages: Vec<String> = cx.finish().0.into_iter().map(|i| format!("{} {}", i.pointer, i.message)).collect();
        assert_eq!(
            messages,
            [
                "/streams/or~1ders the entry's name (the stream's name unless `stream_name:` says) `or/ders` is not a Kinesis stream name",
                "/streams/or~1ders/endpoint endpoint `localhost:1` is not an http:// or https:// URL",
            ]
        );
        assert_eq!(config.starting_position, StartingPosition::LastStoppedPoint);
        Ok(())
    }
}
