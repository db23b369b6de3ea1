//! `embedded`: sluice's own durable, sharded log with Kinesis semantics, stored under the data directory.

use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use sluice_core::diagnostic::Code;
use sluice_core::embedded::{EmbeddedOptions, EmbeddedStream, FsyncPolicy};
use sluice_core::plugin::{BuildContext, BuildError, Built, PluginConfig, ValidateCx};
use sluice_core::units::{Duration, duration_range_schema};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::block_in_place;

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

    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError> {
        let options = EmbeddedOptions {
            shards: self.shards,
            retention: self.retention.as_std(),
            fsync: self.fsync,
            fsync_interval: self.fsync_interval.as_std(),
        };
        let open = || EmbeddedStream::open_blocking(&cx.name, &cx.data_dir, options, Arc::clone(&cx.ledger));
        // `build` is synchronous but runs on the runtime: let the recovery I/O block this worker only, not
        // the tasks queued on it (`block_in_place` exists on the multi-threaded runtime only).
        let opened = match Handle::try_current() {
            Ok(runtime) if runtime.runtime_flavor() == RuntimeFlavor::MultiThread => block_in_place(open),
            _ => open(),
        };
        let stream = opened.map_err(|e| BuildError::Open(e.to_string()))?;
        Ok(Built::Stream(stream))
    }
}

sluice_core::register_plugin!(Stream, "embedded", EmbeddedConfig);

#[cfg(test)]
mod tests {
    use sluice_core::runtime::ledger::Ledger;
    use sluice_core::runtime::record::PutRecord;
    use sluice_core::runtime::stream::StartPosition;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn builds_a_stream_in_the_data_dir() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.redb"))?);
        let cx = BuildContext { base_dir: dir.path().into(), data_dir: dir.path().into(), ledger, name: "s".into() };
        let config: EmbeddedConfig = serde_json::from_value(serde_json::json!({"shards": 2, "fsync": "always"}))?;
        let Built::Stream(stream) = config.build(&cx)? else { return Err("not a stream".into()) };
        let record = PutRecord { partition_key: "k".into(), data: bytes::Bytes::from_static(b"hello") };
        stream.put_batch(vec![record], "p", Some(b"1".to_vec())).await?;
        assert_eq!(stream.producer_position("p"), Some(b"1".to_vec()));
        stream.close_writers();
        let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
        assert_eq!(reader.next_batch(10).await?.map(|b| b.records.len()), Some(1));
        assert!(dir.path().join("streams").join("s").join("shard-000001").is_dir());
        stream.shutdown().await?;
        Ok(())
    }
}
