//! The `serve:` section's model: servers `sluice run` starts beside the pipeline.
//!
//! ```yaml
//! serve:
//!   kinesis_api:
//!     listen: 127.0.0.1:4567
//!     auth:
//!       access_keys:
//!         - {access_key_id: local-dev}                                          # the key id is checked
//!         - {access_key_id: ci, secret_access_key: "${KINESIS_SECRET}"}          # the signature is verified
//!     shard_limits: {records_per_second: 1000, bytes_per_second: 1MiB}
//! ```

use schemars::JsonSchema;
use serde::Deserialize;

use crate::units::ByteSize;

/// The address the Kinesis API listens on unless told otherwise: loopback only.
pub const DEFAULT_KINESIS_API_LISTEN: &str = "127.0.0.1:4567";

/// Servers `sluice run` starts beside the pipeline.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServeSpec {
    /// The Kinesis Data Streams API over the pipeline's streams: existing producers and consumers (boto3, the
    /// AWS CLI, the SDKs, KPL, Fluent Bit) point their endpoint at it and work unchanged. `sluice run
    /// --kinesis-api ADDRESS` serves it too, overriding `listen`.
    #[serde(default)]
    pub kinesis_api: Option<KinesisApiSpec>,
}

/// The Kinesis Data Streams API over the pipeline's streams.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KinesisApiSpec {
    /// `host:port` to listen on. Loopback by default; `0.0.0.0:4567` opens it to the network.
    #[serde(default = "default_listen")]
    #[schemars(default = "default_listen", length(min = 1))]
    pub listen: String,
    /// Who may call it. Without it, every request is accepted, signed or not.
    #[serde(default)]
    pub auth: Option<KinesisApiAuth>,
    /// Per-shard write limits, like a provisioned Kinesis shard's; a put beyond them gets
    /// ProvisionedThroughputExceededException. Without them, writes are not throttled.
    #[serde(default)]
    pub shard_limits: Option<ShardLimits>,
}

fn default_listen() -> String {
    DEFAULT_KINESIS_API_LISTEN.to_owned()
}

/// Which callers the Kinesis API accepts: requests must carry a Signature Version 4 `Authorization` header
/// with one of these access keys.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KinesisApiAuth {
    /// The access keys allowed.
    #[schemars(length(min = 1))]
    pub access_keys: Vec<AccessKey>,
}

/// An access key the Kinesis API accepts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    /// The access key id (`AWS_ACCESS_KEY_ID` of the client).
    #[schemars(length(min = 1))]
    pub access_key_id: String,
    /// Its secret (`AWS_SECRET_ACCESS_KEY` of the client), as `${VAR}`. With it, each request's signature is
    /// verified; without it, only the key id is checked.
    #[serde(default)]
    pub secret_access_key: Option<String>,
}

/// Per-shard write limits of the Kinesis API (Kinesis's own are 1,000 records and 1 MiB per second).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShardLimits {
    /// Records per second one shard accepts.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub records_per_second: Option<u32>,
    /// Bytes per second one shard accepts: data and partition keys, as Kinesis counts them.
    #[serde(default)]
    pub bytes_per_second: Option<ByteSize>,
}
