//! `embedded`: sluice's own durable, sharded log with Kinesis semantics, stored under the data directory.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, PluginConfig, ValidateCx};
use sluice_core::units::{Duration, duration_range_schema};

/// When the embedded stream syncs its segment files to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Every write is synced before it is acknowledged.
    Always,
    /// Writes are synced every `fsync_interval`, and acknowledged once synced.
    #[default]
    Interval,
    /// Left to the operating system: fastest, loses recent records on a power cut.
    Never,
}

/// A durable, sharded log on local disk that behaves like a Kinesis data stream: MD5 partition-key hashing,
/// per-shard sequence numbers, retention, and readers from TRIM_HORIZON, LATEST, a sequence number or a time.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    /// Number of shards (Kinesis allows up to 500 per stream by default).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 500), default = "one")]
    pub shards: u32,
    /// How long records are kept: 24h to 8760h (365d), Kinesis's range.
    #[serde(default = "day")]
    #[schemars(default = "day", schema_with = "retention_schema")]
    pub retention: Duration,
    /// When writes reach the disk.
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// The sync period of `fsync: interval`.
    #[serde(default = "second")]
    #[schemars(default = "second")]
    pub fsync_interval: Duration,
}

fn retention_schema(_: &mut SchemaGenerator) -> Schema {
    duration_range_schema("24h", "8760h")
}
fn one() -> u32 {
    1
}
fn day() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn second() -> Duration {
    Duration::from_secs(1)
}

impl PluginConfig for EmbeddedConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        if self.fsync_interval.as_std().is_zero() {
            cx.error("fsync_interval", Code::OutOfRange, "`fsync_interval` must be longer than 0");
        }
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        Err(BuildError::NotBuiltYet { kind: "stream", name: "embedded" })
    }
}

sluice_core::register_plugin!(Stream, "embedded", EmbeddedConfig);
