//! One shard: its writer (appends, rolls segments, snapshots what to sync) and its view (what readers may
//! read).
//!
//! The writer is only touched under the stream's writer lock. The view is shared with readers, and it shows
//! only what the ledger's marks cover: a snapshot carries the shard's state as a [`Publication`], which the sync
//! hands to the view once its marks are committed. So a reader never sees a record that recovery could drop
//! after a crash, and a sequence number a consumer has seen is never given to another record.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::frame;
use super::lock;
use super::segment::{segment_path, sync_dir};
use super::state::Mark;
use crate::runtime::record::PutRecord;

/// Encoded bytes a writer buffers before writing them out.
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// When a writer rolls to a new segment, and whether it syncs directories.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteConfig {
    /// The largest a segment grows (a single bigger record still gets a segment of its own).
    pub segment_bytes: u64,
    /// A non-empty segment whose first record is older than this is rolled, so retention can delete it.
    pub segment_age_ms: i64,
    /// Sync the shard directory after creating a segment.
    pub sync_dirs: bool,
}

/// A segment file that was written since the last sync snapshot.
pub(crate) type Unsynced = (PathBuf, Arc<File>);

/// The writing side of a shard.
#[derive(Debug)]
pub(crate) struct ShardWriter {
    view: Arc<ShardView>,
    /// The active segment: its first sequence number, file and length.
    segment: u64,
    file: Arc<File>,
    len: u64,
    first_arrival_ms: Option<i64>,
    /// Arrival times never go backwards within a shard, so AT_TIMESTAMP can stop at the first match.
    last_arrival_ms: i64,
    next_seq: u64,
    /// Bytes of the active segment covered by the last snapshot.
    snapshot_len: u64,
    /// Sealed segments written since the last snapshot.
    unsynced: Vec<Unsynced>,
    /// Segments sealed since the last snapshot, with their final lengths, for the next publication.
    sealed: Vec<(u64, u64)>,
    /// The mark of the last snapshot.
    marked: Option<Mark>,
    /// The segment of the last mark committed to the ledger: retention keeps it and everything after.
    durable_segment: u64,
    buf: Vec<u8>,
}

/// Where a recovered shard continues.
#[derive(Debug)]
pub(crate) struct Tail {
    /// The active segment's first sequence number.
    pub segment: u64,
    /// The active segment, open for appending.
    pub file: File,
    /// Its valid length.
    pub len: u64,
    /// The arrival time of its first record.
    pub first_arrival_ms: Option<i64>,
    /// The arrival time of its last record.
    pub last_arrival_ms: i64,
    /// The next sequence number.
    pub next_seq: u64,
    /// The mark the ledger holds, if it still describes this tail.
    pub marked: Option<Mark>,
}

impl ShardWriter {
    /// A writer continuing at `tail`, publishing to `view`.
    pub(crate) fn new(view: Arc<ShardView>, tail: Tail) -> Self {
        ShardWriter {
            view,
            segment: tail.segment,
            file: Arc::new(tail.file),
            len: tail.len,
            first_arrival_ms: tail.first_arrival_ms,
            last_arrival_ms: tail.last_arrival_ms,
            next_seq: tail.next_seq,
            snapshot_len: tail.marked.map_or(0, |m| m.length.min(tail.len)),
            unsynced: Vec::new(),
            sealed: Vec::new(),
            marked: tail.marked,
            durable_segment: tail.segment,
            buf: Vec::new(),
        }
    }

    /// Appends `records` (all of this shard) with arrival time `now_ms` (readers see them once a sync covers
    /// them).
    pub(crate) fn append<'a>(
        &mut self,
        records: impl Iterator<Item = &'a PutRecord>,
        now_ms: i64,
        config: &WriteConfig,
    ) -> io::Result<()> {
        for record in records {
            let size = self.len + self.buf.len() as u64;
            let frame_len = frame::frame_len(&record.partition_key, &record.data) as u64;
            let too_old =
                self.first_arrival_ms.is_some_and(|first| now_ms.saturating_sub(first) >= config.segment_age_ms);
            if size > 0 && (size + frame_len > config.segment_bytes || too_old) {
                self.roll(config)?;
            }
            let arrival_ms = now_ms.max(self.last_arrival_ms);
            self.last_arrival_ms = arrival_ms;
            self.first_arrival_ms.get_or_insert(arrival_ms);
            frame::encode(&mut self.buf, self.next_seq, arrival_ms, &record.partition_key, &record.data);
            self.next_seq += 1;
            if self.buf.len() >= WRITE_BUFFER_BYTES {
                self.flush()?;
            }
        }
        self.flush()
    }

    /// Writes the buffer to the active segment.
    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        (&*self.file).write_all(&self.buf)?;
        self.len += self.buf.len() as u64;
        self.buf.clear();
        self.buf.shrink_to(2 * WRITE_BUFFER_BYTES); // After a batch of huge records.
        Ok(())
    }

    /// Seals the active segment and starts a new one at the next sequence number.
    fn roll(&mut self, config: &WriteConfig) -> io::Result<()> {
        self.flush()?;
        if self.len > self.snapshot_len {
            self.unsynced.push((segment_path(&self.view.dir, self.segment), Arc::clone(&self.file)));
        }
        let file = create_segment(&self.view.dir, self.next_seq, config.sync_dirs)?;
        self.sealed.push((self.segment, self.len));
        self.file = Arc::new(file);
        self.segment = self.next_seq;
        self.len = 0;
        self.snapshot_len = 0;
        self.first_arrival_ms = None;
        Ok(())
    }

    /// What a sync must make durable for this shard: its new mark, the files to fsync first, and what readers
    /// may see once the mark is committed. `None` when nothing changed since the last snapshot.
    pub(crate) fn snapshot(&mut self) -> Option<(Mark, Vec<Unsynced>, Publication)> {
        let mark = Mark { segment: self.segment, length: self.len, next_seq: self.next_seq };
        let mut files = std::mem::take(&mut self.unsynced);
        if self.len > self.snapshot_len {
            files.push((segment_path(&self.view.dir, self.segment), Arc::clone(&self.file)));
            self.snapshot_len = self.len;
        }
        if self.marked == Some(mark) && files.is_empty() && self.sealed.is_empty() {
            return None;
        }
        self.marked = Some(mark);
        let publication = Publication {
            sealed: std::mem::take(&mut self.sealed),
            active: (self.segment, self.len),
            next_seq: self.next_seq,
        };
        Some((mark, files, publication))
    }

    /// The sequence number the next record appended gets.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Numbers the next record `seq` or later: a checkpoint covers sequence numbers up to `seq - 1` that this
    /// shard has not given out (they were lost by a crash before a sync), and they must not name other records.
    /// Kinesis sequence numbers are not contiguous either; the next sync commits the new numbering.
    pub(crate) fn skip_to(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq);
    }

    /// Records that the ledger now holds a mark in `segment`.
    pub(crate) fn set_durable(&mut self, segment: u64) {
        self.durable_segment = segment;
    }

    /// Segments before this one may be deleted by retention: neither active nor needed by the ledger's mark.
    pub(crate) fn retention_floor(&self) -> u64 {
        self.segment.min(self.durable_segment)
    }
}

/// Creates segment `first_seq` in `dir` (it must not exist), open for appending.
pub(crate) fn create_segment(dir: &std::path::Path, first_seq: u64, sync_dirs: bool) -> io::Result<File> {
    let file = OpenOptions::new().create_new(true).append(true).open(segment_path(dir, first_seq))?;
    if sync_dirs {
        sync_dir(dir)?; // Without it, a power cut can lose the file even after the file itself was synced.
    }
    Ok(file)
}

/// What readers of a shard may see after a sync: the segments sealed since the previous one (first sequence
/// number, final length), the active segment and its synced length, and the next sequence number.
#[derive(Debug)]
pub(crate) struct Publication {
    sealed: Vec<(u64, u64)>,
    active: (u64, u64),
    next_seq: u64,
}

/// A shard as readers see it: its segments with their readable lengths.
#[derive(Debug)]
pub(crate) struct ShardView {
    /// The shard's directory.
    pub dir: PathBuf,
    state: Mutex<ViewState>,
}

#[derive(Debug)]
struct ViewState {
    /// (first sequence number, readable length), ascending; the last one is active.
    segments: VecDeque<(u64, u64)>,
    next_seq: u64,
}

/// A segment's readable length (`None`: deleted, so sealed: its file length is final) and its successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extent {
    /// Bytes readers may read.
    pub len: Option<u64>,
    /// The next segment, once this one is sealed.
    pub next: Option<u64>,
}

impl ShardView {
    /// A view of `segments` (ascending, the last active).
    pub(crate) fn new(dir: PathBuf, segments: Vec<(u64, u64)>, next_seq: u64) -> Self {
        ShardView { dir, state: Mutex::new(ViewState { segments: segments.into(), next_seq }) }
    }

    /// Shows readers what a committed sync made durable. Publications come in snapshot order, so the segments
    /// they name are the view's last one or new ones after it.
    pub(crate) fn publish(&self, publication: Publication) {
        let mut state = lock(&self.state);
        for (first, len) in publication.sealed.into_iter().chain([publication.active]) {
            match state.segments.back_mut() {
                Some(last) if last.0 == first => last.1 = len,
                Some(last) if last.0 > first => {} // Out of order (cannot happen): keep the view sorted.
                _ => state.segments.push_back((first, len)),
            }
        }
        state.next_seq = publication.next_seq;
    }

    /// Forgets a segment retention deletes.
    pub(crate) fn remove_segment(&self, first: u64) {
        lock(&self.state).segments.retain(|(f, _)| *f != first);
    }

    /// The segments (first sequence number, readable length), ascending.
    pub(crate) fn segments(&self) -> Vec<(u64, u64)> {
        lock(&self.state).segments.iter().copied().collect()
    }

    /// How far segment `first` may be read, and what follows it.
    pub(crate) fn extent(&self, first: u64) -> Extent {
        let state = lock(&self.state);
        let at = state.segments.partition_point(|(f, _)| *f <= first);
        let len = at.checked_sub(1).and_then(|i| state.segments.get(i)).filter(|(f, _)| *f == first).map(|s| s.1);
        Extent { len, next: state.segments.get(at).map(|s| s.0) }
    }

    /// The segment that holds `seq` if it is still kept: the last one starting at or before it, else the
    /// oldest.
    pub(crate) fn locate(&self, seq: u64) -> u64 {
        let state = lock(&self.state);
        let at = state.segments.partition_point(|(f, _)| *f <= seq);
        at.checked_sub(1).or(Some(0)).and_then(|i| state.segments.get(i)).map_or(seq, |s| s.0)
    }

    /// The sequence number of the next record published.
    pub(crate) fn next_seq(&self) -> u64 {
        lock(&self.state).next_seq
    }

    /// The active segment and its readable length: where LATEST starts.
    pub(crate) fn tail(&self) -> (u64, u64) {
        let state = lock(&self.state);
        state.segments.back().copied().unwrap_or((state.next_seq, 0))
    }
}
