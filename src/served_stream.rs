//! Reading a stream another service keeps (`type: kinesis`) from outside a run: `sluice discover --stream` samples
//! it from its oldest record, as the console's "Discover schema" sampled the application's Kinesis stream, and
//! `sluice tap` follows its new records.
//!
//! ```text
//!   the stream's entry ──its plugin, as `sluice run` builds it──▶ Stream ──open_reader(start)──▶ batches
//!                             │ ledger: a throwaway one                      until a deadline or enough records
//! ```
//!
//! The reader is a consumer of its own whose checkpoints would go to a temporary ledger deleted after, so the
//! pipeline's positions (its ledger, its running readers) are never touched, and nothing is committed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_core::embedded::shard_id;
use sluice_core::plugin::{BuildContext, Built, PluginKind, find};
use sluice_core::runtime::ledger::Ledger;
use sluice_core::runtime::record::Record;
use sluice_core::runtime::stream::{StartPosition, Stream, StreamReader};

/// The consumer name the stream is read as.
const CONSUMER: &str = "sluice-outside-reader";

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

/// A record read for a sample, and where it came from (for the summary).
pub(crate) struct SampledRecord {
    /// Its data.
    pub data: bytes::Bytes,
    /// `shardId-000000000001 record 3`.
    pub place: String,
}

/// An open reader of a served stream, on a runtime of its own.
pub(crate) struct OutsideReader {
    runtime: tokio::runtime::Runtime,
    stream: Arc<dyn Stream>,
    reader: Option<Box<dyn StreamReader>>,
    /// Holds the throwaway ledger; deleted when the reader is.
    _scratch: tempfile::TempDir,
}

impl OutsideReader {
    /// Builds `stream` by its plugin and opens a reader at `start`.
    pub fn open(stream: ServedStream<'_>, start: StartPosition) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let scratch = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        let ledger = Ledger::open(&scratch.path().join("ledger.redb")).map_err(|e| e.to_string())?;
        let plugin =
            find(PluginKind::Stream, stream.plugin).ok_or_else(|| format!("unknown type `{}`", stream.plugin))?;
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
        let reader = runtime.block_on(built.open_reader(CONSUMER, start)).map_err(|e| e.to_string())?;
        Ok(OutsideReader { runtime, stream: built, reader: Some(reader), _scratch: scratch })
    }

    /// The next records (at most `max`), or `None` once `deadline` passed with none.
    pub fn next(&mut self, max: usize, deadline: Instant) -> Result<Option<Vec<Record>>, String> {
        let Some(reader) = self.reader.as_mut() else { return Ok(None) };
        let deadline = tokio::time::Instant::from_std(deadline);
        self.runtime.block_on(async {
            match tokio::time::timeout_at(deadline, reader.next_batch(max)).await {
                Err(_elapsed) => Ok(None),
                Ok(read) => Ok(read.map_err(|e| e.to_string())?.map(|batch| batch.records)),
            }
        })
    }

    /// Closes the reader and the stream's clients.
    pub fn close(mut self) -> Result<(), String> {
        drop(self.reader.take());
        self.runtime.block_on(self.stream.shutdown()).map_err(|e| e.to_string())
    }
}

/// Reads up to `limit` records from the oldest on, for at most `wait`.
pub(crate) fn sample(stream: ServedStream<'_>, limit: usize, wait: Duration) -> Result<Vec<SampledRecord>, String> {
    let deadline = Instant::now() + wait;
    let mut reader = OutsideReader::open(stream, StartPosition::TrimHorizon)?;
    let mut sampled = Vec::new();
    let mut per_shard = std::collections::BTreeMap::<Option<u32>, u64>::new();
    while sampled.len() < limit {
        let Some(records) = reader.next(limit - sampled.len(), deadline)? else { break };
        for record in records.into_iter().take(limit - sampled.len()) {
            let index = per_shard.entry(record.shard).or_default();
            let shard = record.shard.map_or_else(|| "a shard".to_owned(), shard_id);
            sampled.push(SampledRecord { data: record.data, place: format!("{shard} record {index}") });
            *index += 1;
        }
    }
    reader.close()?;
    Ok(sampled)
}
