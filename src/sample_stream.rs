//! Sampling a stream another service keeps (`type: kinesis`) for `sluice discover --stream`, as the console's
//! "Discover schema" sampled the application's Kinesis stream.
//!
//! ```text
//!   the stream's entry ──its plugin, as `sluice run` builds it──▶ Stream ──open_reader(TRIM_HORIZON)──▶ batches
//!                             │ ledger: a throwaway one                     until `limit` records or `wait` ends
//! ```
//!
//! The reader is a consumer of its own whose checkpoints would go to a temporary ledger that is deleted after,
//! so the pipeline's positions (its ledger, its running readers) are never touched, and nothing is committed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sluice_core::embedded::shard_id;
use sluice_core::plugin::{BuildContext, Built, PluginKind, find};
use sluice_core::runtime::ledger::Ledger;
use sluice_core::runtime::stream::StartPosition;

/// The consumer name the sample is read as.
const CONSUMER: &str = "sluice-discover";

/// A stream entry of a pipeline, served by a plugin other than the embedded stream.
pub(crate) struct ServedStream<'a> {
    /// The entry's name in `streams:`.
    pub entry: &'a str,
    /// Its `type`.
    pub plugin: &'a str,
    /// Its config (`type` included), `${VAR}`s resolved.
    pub config: Value,
    /// The directory of the pipeline file.
    pub base_dir: PathBuf,
}

/// A record read for the sample, and where it came from (for the summary).
pub(crate) struct SampledRecord {
    /// Its data.
    pub data: bytes::Bytes,
    /// `shardId-000000000001 record 3`.
    pub place: String,
}

/// Reads up to `limit` records from the oldest on, for at most `wait`.
pub(crate) fn sample(stream: ServedStream<'_>, limit: usize, wait: Duration) -> Result<Vec<SampledRecord>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(read(stream, limit, wait))
}

async fn read(stream: ServedStream<'_>, limit: usize, wait: Duration) -> Result<Vec<SampledRecord>, String> {
    let scratch = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let ledger = Ledger::open(&scratch.path().join("ledger.redb")).map_err(|e| e.to_string())?;
    let plugin = find(PluginKind::Stream, stream.plugin).ok_or_else(|| format!("unknown type `{}`", stream.plugin))?;
    let mut config = stream.config;
    if let Some(entry) = config.as_object_mut() {
        entry.remove("type");
    }
    let cx = BuildContext {
        base_dir: stream.base_dir,
        data_dir: scratch.path().to_path_buf(),
        ledger: Arc::new(ledger),
        name: stream.entry.to_owned(),
    };
    let Built::Stream(built) = plugin.build(&config, &cx).map_err(|e| e.to_string())? else {
        return Err(format!("the `{}` plugin built something else than a stream", stream.plugin));
    };
    let mut reader = built.open_reader(CONSUMER, StartPosition::TrimHorizon).await.map_err(|e| e.to_string())?;
    let deadline = tokio::time::Instant::now() + wait;
    let mut sampled = Vec::new();
    let mut per_shard = std::collections::BTreeMap::<Option<u32>, u64>::new();
    while sampled.len() < limit {
        let batch = match tokio::time::timeout_at(deadline, reader.next_batch(limit - sampled.len())).await {
            Err(_elapsed) => break,
            Ok(read) => read.map_err(|e| e.to_string())?,
        };
        let Some(batch) = batch else { break };
        for record in batch.records.into_iter().take(limit - sampled.len()) {
            let index = per_shard.entry(record.shard).or_default();
            let shard = record.shard.map_or_else(|| "a shard".to_owned(), shard_id);
            sampled.push(SampledRecord { data: record.data, place: format!("{shard} record {index}") });
            *index += 1;
        }
    }
    drop(reader);
    built.shutdown().await.map_err(|e| e.to_string())?;
    Ok(sampled)
}
