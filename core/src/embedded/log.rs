//! The shared state of one open stream: its shards, the pending producer positions, and syncing.
//!
//! ```text
//!  put_batch ──▶ writer lock: append frames per shard (handed to the OS, not yet visible)
//!  sync      ──▶ writer lock: snapshot marks + positions ──▶ fsync files ──▶ one durable ledger commit
//!                                             ──▶ publish the snapshot to the views ──▶ wake readers and puts
//! ```
//!
//! Readers see what a committed mark covers and nothing more: exactly what recovery keeps after a process crash
//! (and, unless `fsync: never`, after a power cut). So no consumer reads, checkpoints or publishes a record
//! that a restart could drop and give its sequence number to another record. The price is latency: with
//! `fsync: interval`, a record becomes readable at the next sync, up to `fsync_interval` later, or sooner when
//! [`SYNC_SOON_BYTES`] are waiting: under load, readers keep up with writers instead of idling between ticks.
//!
//! Syncs run one at a time (a later snapshot must not be committed before an earlier one), but do not hold
//! the writer lock while they fsync, so producers keep appending meanwhile.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{Notify, watch};

use super::hash::{parse_shard_id, shard_for_key};
use super::recovery::recover_shard;
use super::segment::{parse_shard_dir, shard_dir, sync_dir};
use super::shard::{Publication, ShardView, ShardWriter, WriteConfig};
use super::state::Keys;
use super::{EmbeddedOptions, FsyncPolicy, lock};
use crate::runtime::ledger::Ledger;
use crate::runtime::record::{Positions, PutRecord};
use crate::runtime::stream::StreamError;

/// Unsynced bytes that ask the background task for a sync before its next tick. Large enough that a fast
/// producer still shares one fsync and one ledger commit among many puts (at 200 MB/s: 25 syncs a second), small
/// enough that readers wait milliseconds, not a whole `fsync_interval`, while records pour in.
pub(crate) const SYNC_SOON_BYTES: u64 = 8 * 1024 * 1024;

/// Limits that are fixed in production and small in tests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Segments roll at this size.
    pub segment_bytes: u64,
    /// Segments roll once their first record is this old.
    pub segment_age_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { segment_bytes: 128 * 1024 * 1024, segment_age_ms: 3600 * 1000 }
    }
}

/// One open stream.
#[derive(Debug)]
pub(crate) struct Log {
    /// The stream's name.
    pub name: String,
    /// As opened.
    pub options: EmbeddedOptions,
    /// The ledger and this stream's keys in it.
    pub ledger: Arc<Ledger>,
    /// This stream's ledger keys.
    pub keys: Keys,
    /// What readers see, per shard.
    pub views: Vec<Arc<ShardView>>,
    write_config: WriteConfig,
    writer: Mutex<Writer>,
    /// Held for a whole sync.
    sync_lock: Mutex<()>,
    durable_positions: Mutex<HashMap<String, Vec<u8>>>,
    /// Bumped whenever readers may have something new to do.
    changes: watch::Sender<u64>,
    /// The write version the last committed sync covered, for puts that wait until they are durable.
    durable: watch::Sender<u64>,
    /// Woken when [`SYNC_SOON_BYTES`] wait for a sync (the background task listens).
    pub sync_soon: Arc<Notify>,
    closed: AtomicBool,
    /// Set by the first failed write or sync: after it, the stream refuses writes and syncs (the state on disk
    /// is unknown; a restart recovers it).
    failed: OnceLock<String>,
}

#[derive(Debug)]
struct Writer {
    shards: Vec<ShardWriter>,
    /// Producer positions put since the last snapshot.
    positions: HashMap<String, Vec<u8>>,
    /// Bumped by every put; `synced` is the value the last committed sync covered.
    version: u64,
    synced: u64,
    /// Bytes appended since the last snapshot.
    unsynced_bytes: u64,
    shut_down: bool,
}

impl Log {
    /// Opens stream `name` under `data_dir`, recovering every shard.
    pub(crate) fn open(
        name: &str,
        data_dir: &Path,
        options: EmbeddedOptions,
        limits: Limits,
        ledger: Arc<Ledger>,
    ) -> Result<Log, StreamError> {
        let io = |message: String| StreamError::Io { stream: name.to_owned(), message };
        if options.shards == 0 {
            return Err(io("`shards` must be at least 1".into()));
        }
        let dir = data_dir.join("streams").join(name);
        let sync = options.fsync != FsyncPolicy::Never;
        let existed = dir.exists();
        fs::create_dir_all(&dir).map_err(|e| io(format!("cannot create {}: {e}", dir.display())))?;
        check_shard_dirs(name, &dir, options.shards)?;

        let keys = Keys::new(name);
        let marks = keys.load_marks(&ledger).map_err(io)?;
        let mut views = Vec::new();
        let mut shards = Vec::new();
        for index in 0..options.shards {
            let shard = shard_dir(&dir, index);
            let recovered = recover_shard(name, &shard, marks.get(&index).copied(), sync)
                .map_err(|e| io(format!("cannot recover {}: {e}", shard.display())))?;
            let view = Arc::new(ShardView::new(shard, recovered.segments, recovered.tail.next_seq));
            shards.push(ShardWriter::new(Arc::clone(&view), recovered.tail));
            views.push(view);
        }
        if sync && !existed {
            // The new directories themselves must survive a power cut, not only the files in them.
            for parent in dir.ancestors().skip(1).take(2).chain([dir.as_path()]) {
                sync_dir(parent).map_err(|e| io(format!("cannot sync {}: {e}", parent.display())))?;
            }
        }
        let durable_positions = keys.load_producers(&ledger).map_err(io)?.into_iter().collect();
        let write_config =
            WriteConfig { segment_bytes: limits.segment_bytes, segment_age_ms: limits.segment_age_ms, sync_dirs: sync };
        // Version 1 over synced 0: the first sync commits the marks of shards whose state recovery changed.
        let writer =
            Writer { shards, positions: HashMap::new(), version: 1, synced: 0, unsynced_bytes: 0, shut_down: false };
        Ok(Log {
            name: name.to_owned(),
            options,
            ledger,
            keys,
            views,
            write_config,
            writer: Mutex::new(writer),
            sync_lock: Mutex::new(()),
            durable_positions: Mutex::new(durable_positions),
            changes: watch::channel(0).0,
            durable: watch::channel(0).0,
            sync_soon: Arc::new(Notify::new()),
            closed: AtomicBool::new(false),
            failed: OnceLock::new(),
        })
    }

    /// An I/O error of this stream.
    pub(crate) fn io_error(&self, message: String) -> StreamError {
        StreamError::Io { stream: self.name.clone(), message }
    }

    /// Marks the stream failed (see `failed`) and returns the error.
    fn fail(&self, message: String) -> StreamError {
        tracing::error!(stream = self.name, "{message}; the stream stops accepting writes");
        let _ = self.failed.set(message.clone());
        self.durable.send_modify(|_| {}); // Puts waiting for a sync that will never come learn of it.
        self.io_error(message)
    }

    fn check_failed(&self) -> Result<(), StreamError> {
        match self.failed.get() {
            Some(message) => Err(self.io_error(format!("stopped after an earlier failure: {message}"))),
            None => Ok(()),
        }
    }

    /// Appends a validated batch and remembers `producer`'s position (both durable and readable at the next
    /// sync). Returns the write version a sync must cover.
    pub(crate) fn append(
        &self,
        records: &[PutRecord],
        producer: &str,
        position: Option<Vec<u8>>,
    ) -> Result<u64, StreamError> {
        let order = route(records, self.views.len() as u32);
        let position = position.map(|position| (producer, position));
        self.write(records, &order, position, None)
    }

    /// Appends a validated batch, record `i` to shard `shards[i]` (the caller routed it); returns each record's
    /// sequence number, in batch order, and the write version a sync must cover to make them durable.
    pub(crate) fn append_to(&self, records: &[PutRecord], shards: &[u32]) -> Result<(Vec<u64>, u64), StreamError> {
        let count = self.views.len() as u32;
        if shards.len() != records.len() || shards.iter().any(|&shard| shard >= count) {
            let message = format!("a batch routed to shards this stream of {count} does not have was rejected");
            return Err(StreamError::Rejected { stream: self.name.clone(), message });
        }
        let mut order: Vec<(u32, usize)> = shards.iter().copied().zip(0..).collect();
        order.sort_unstable();
        let mut seqs = vec![0; records.len()];
        let version = self.write(records, &order, None, Some(&mut seqs))?;
        Ok((seqs, version))
    }

    /// Appends `records` in `order` (grouped by shard); fills `seqs` (by batch index) when given. Returns the
    /// new write version.
    fn write(
        &self,
        records: &[PutRecord],
        order: &[(u32, usize)],
        position: Option<(&str, Vec<u8>)>,
        mut seqs: Option<&mut Vec<u64>>,
    ) -> Result<u64, StreamError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut writer = lock(&self.writer);
        self.check_failed()?;
        if writer.shut_down {
            return Err(self.io_error("the stream was shut down".into()));
        }
        let mut result = Ok(());
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            let index = group[0].0 as usize;
            if let Some(seqs) = seqs.as_deref_mut() {
                // A shard numbers its records one after another from its next sequence number.
                let first = writer.shards[index].next_seq();
                for (&(_, i), seq) in group.iter().zip(first..) {
                    seqs[i] = seq;
                }
            }
            let shard_records = group.iter().map(|&(_, i)| &records[i]);
            if let Err(e) = writer.shards[index].append(shard_records, now_ms, &self.write_config) {
                let dir = self.views[index].dir.display();
                result = Err(self.fail(format!("cannot append to a segment in {dir}: {e}")));
                break;
            }
        }
        if result.is_ok() {
            if let Some((producer, position)) = position {
                writer.positions.insert(producer.to_owned(), position);
            }
            writer.version += 1;
            let before = writer.unsynced_bytes;
            writer.unsynced_bytes += records.iter().map(|record| record.data.len() as u64).sum::<u64>();
            if before < SYNC_SOON_BYTES && writer.unsynced_bytes >= SYNC_SOON_BYTES {
                self.sync_soon.notify_one();
            }
        }
        result.map(|()| writer.version)
    }

    /// Waits until a sync covered write `version` (as [`write`](Self::write) returned it).
    pub(crate) async fn wait_durable(&self, version: u64) -> Result<(), StreamError> {
        let mut durable = self.durable.subscribe();
        loop {
            self.check_failed()?;
            if *durable.borrow_and_update() >= version {
                return Ok(());
            }
            // The sender lives as long as `self`: `changed` cannot fail while we borrow it.
            if durable.changed().await.is_err() {
                return Err(self.io_error("the stream closed before the write was synced".into()));
            }
        }
    }

    /// Makes write `version` durable (per the fsync policy) and readable: at once if a sync already covered it,
    /// else after the sync running now if that one does (so concurrent puts share a commit), else by a sync.
    pub(crate) fn sync_through(&self, version: u64) -> Result<(), StreamError> {
        let covered = || lock(&self.writer).synced >= version;
        if covered() {
            return self.check_failed();
        }
        drop(lock(&self.sync_lock)); // Waits for a sync in progress.
        if covered() {
            return self.check_failed();
        }
        self.sync(Vec::new())
    }

    /// Makes everything appended so far durable (per the fsync policy) and commits it to the ledger with
    /// `extra` entries, in one durable transaction.
    pub(crate) fn sync(&self, extra: Vec<(String, Vec<u8>)>) -> Result<(), StreamError> {
        self.check_failed()?;
        let _one_at_a_time = lock(&self.sync_lock);
        let (marks, files, publications, positions, version) = {
            let mut writer = lock(&self.writer);
            if writer.version == writer.synced && extra.is_empty() {
                return Ok(()); // An earlier sync (another producer's, say) covered everything.
            }
            let mut marks = Vec::new();
            let mut files = Vec::new();
            let mut publications: Vec<(usize, Publication)> = Vec::new();
            for (index, shard) in writer.shards.iter_mut().enumerate() {
                if let Some((mark, unsynced, publication)) = shard.snapshot() {
                    marks.push((index, mark));
                    files.extend(unsynced);
                    publications.push((index, publication));
                }
            }
            writer.unsynced_bytes = 0;
            (marks, files, publications, std::mem::take(&mut writer.positions), writer.version)
        };
        if self.options.fsync != FsyncPolicy::Never {
            for (path, file) in &files {
                // Never retried: after a failed fsync the page cache may have dropped the dirty pages.
                file.sync_data().map_err(|e| self.fail(format!("cannot sync {}: {e}", path.display())))?;
            }
        }
        let mut entries = Vec::with_capacity(marks.len() + positions.len() + extra.len());
        for &(index, mark) in &marks {
            let value = serde_json::to_vec(&mark).map_err(|e| self.fail(format!("cannot encode a mark: {e}")))?;
            entries.push((self.keys.shard(index as u32), value));
        }
        entries.extend(positions.iter().map(|(producer, position)| (self.keys.producer(producer), position.clone())));
        entries.extend(extra);
        self.ledger.commit(entries, true).map_err(|e| self.fail(e.to_string()))?;

        lock(&self.durable_positions).extend(positions);
        let mut writer = lock(&self.writer);
        writer.synced = version;
        for (index, mark) in marks {
            writer.shards[index].set_durable(mark.segment);
        }
        // Under the writer lock, so retention sees the marks and the views agree.
        for (index, publication) in publications {
            self.views[index].publish(publication);
        }
        drop(writer);
        self.wake_readers();
        self.durable.send_if_modified(|covered| {
            let newer = *covered < version;
            *covered = (*covered).max(version);
            newer
        });
        Ok(())
    }

    /// The position `producer` last stored durably.
    pub(crate) fn producer_position(&self, producer: &str) -> Option<Vec<u8>> {
        lock(&self.durable_positions).get(producer).cloned()
    }

    /// Whether writers are closed: once they are, everything written is already visible (or was lost with a
    /// failed sync).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// No more writes in this run: syncs what was written, so readers see it all, then lets readers end once
    /// they caught up. A failed sync is logged (and remembered); readers then end with what is durable.
    pub(crate) fn close(&self) {
        let _ = self.sync(Vec::new());
        self.closed.store(true, Ordering::Release);
        self.wake_readers();
    }

    /// Refuses writes from now on, syncs what was written and ends readers once they caught up.
    pub(crate) fn shut_down(&self) -> Result<(), StreamError> {
        lock(&self.writer).shut_down = true;
        let synced = self.sync(Vec::new());
        self.closed.store(true, Ordering::Release);
        self.wake_readers();
        synced
    }

    /// Makes sure no shard gives out a sequence number that `positions` (a checkpoint of `consumer`) already
    /// covers. Only a crash that lost records a consumer had read (under an older sluice, which let readers see
    /// unsynced records, or `fsync: never` and a power cut) leaves such a checkpoint; reusing its numbers would
    /// hide new records behind it. Takes effect at the next sync.
    pub(crate) fn never_reuse(&self, consumer: &str, positions: &Positions) {
        let mut writer = lock(&self.writer);
        let mut skipped = false;
        for (id, seq) in positions {
            let Some(index) = parse_shard_id(id).map(|index| index as usize) else { continue };
            let (Some(shard), Ok(seq)) = (writer.shards.get_mut(index), seq.parse::<u64>()) else { continue };
            if seq >= shard.next_seq() {
                tracing::warn!(
                    stream = self.name,
                    consumer,
                    "the checkpoint of `{consumer}` is at sequence number {seq} of {id}, past the shard's last \
                     record ({}): records it had read were lost by a crash before they were synced. New records \
                     are numbered from {} so that none hides behind the checkpoint",
                    shard.next_seq().saturating_sub(1),
                    seq.saturating_add(1)
                );
                shard.skip_to(seq.saturating_add(1));
                skipped = true;
            }
        }
        if skipped {
            writer.version += 1;
        }
    }

    /// A receiver that changes whenever readers may find something new.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn wake_readers(&self) {
        self.changes.send_modify(|version| *version = version.wrapping_add(1));
    }

    /// The segment before which retention may delete segments of shard `index`.
    pub(crate) fn retention_floor(&self, index: usize) -> u64 {
        lock(&self.writer).shards[index].retention_floor()
    }
}

/// The records' `(shard, index)` pairs, grouped by shard and in batch order within each shard.
fn route(records: &[PutRecord], shard_count: u32) -> Vec<(u32, usize)> {
    let mut order = Vec::with_capacity(records.len());
    let mut previous: Option<(&Arc<str>, u32)> = None;
    for (index, record) in records.iter().enumerate() {
        let key = &record.partition_key;
        // Runs of one key are common (often one `Arc`, shared by the producer): hash each run once.
        let shard = match previous {
            Some((last, shard)) if Arc::ptr_eq(last, key) || last == key => shard,
            _ => shard_for_key(key, shard_count),
        };
        previous = Some((key, shard));
        order.push((shard, index));
    }
    if shard_count > 1 {
        order.sort_unstable();
    }
    order
}

/// Fails unless the shard directories on disk are exactly `0..shards` (or there are none yet).
fn check_shard_dirs(name: &str, dir: &Path, shards: u32) -> Result<(), StreamError> {
    let entries = fs::read_dir(dir).map_err(|e| StreamError::Io {
        stream: name.to_owned(),
        message: format!("cannot list {}: {e}", dir.display()),
    })?;
    let mut found: Vec<u32> =
        entries.filter_map(|entry| parse_shard_dir(entry.ok()?.file_name().to_str()?)).collect::<Vec<_>>();
    found.sort_unstable();
    if found.is_empty() || found.iter().copied().eq(0..shards) {
        return Ok(());
    }
    Err(StreamError::Io {
        stream: name.to_owned(),
        message: format!(
            "{} holds {} shard directories but the pipeline asks for {shards} shards; resharding an embedded \
             stream is not supported. Set `shards: {}` again, or stop the pipeline and delete {} to start this \
             stream over (its records are lost)",
            dir.display(),
            found.len(),
            found.len(),
            dir.display()
        ),
    })
}
