//! Reading a stream: one cursor per shard, batches filled round robin across shards.
//!
//! A shard cursor walks the shard's segments in order, reading each only up to the length its view
//! publishes. When it reaches the end of a sealed segment it moves to the next one the view lists, so
//! segments deleted by retention are skipped. Waiting uses a `watch` channel marked seen *before* looking
//! for records, so a put that lands in between still wakes the reader.

use std::io::ErrorKind;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use super::hash::shard_id;
use super::log::Log;
use super::segment::{Next, SegmentCursor, segment_path};
use super::shard::{Extent, ShardView};
use crate::runtime::buffers::BufferPool;
use crate::runtime::record::{Positions, Record};
use crate::runtime::stream::{ReadBatch, StartPosition, StreamError, StreamReader};

/// A reader of every shard of an embedded stream.
pub(crate) struct EmbeddedReader {
    log: Arc<Log>,
    changes: watch::Receiver<u64>,
    shards: Vec<ShardCursor>,
    /// The shard a batch starts with; it rotates so small batches do not favour shard 0.
    rotation: usize,
    /// The read chunks of every shard, reused once their records are gone.
    pool: BufferPool,
}

impl EmbeddedReader {
    /// Opens a reader for `consumer`: after its checkpoint where it has one, else at `start`.
    pub(crate) fn open(log: Arc<Log>, consumer: &str, start: &StartPosition) -> Result<Self, StreamError> {
        let changes = log.subscribe();
        let key = log.keys.consumer(consumer);
        let checkpoint: Positions = match log.ledger.get(&key).map_err(|e| log.io_error(e.to_string()))? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| log.io_error(format!("the checkpoint of consumer `{consumer}` is unreadable: {e}")))?,
            None => Positions::new(),
        };
        let seq_in = |positions: &Positions, id: &str| -> Result<Option<u64>, StreamError> {
            positions.get(id).map(|seq| parse_seq(&log, id, seq)).transpose()
        };
        let mut shards = Vec::with_capacity(log.views.len());
        for (index, view) in log.views.iter().enumerate() {
            let view = Arc::clone(view);
            let id = shard_id(index as u32);
            let cursor = if let Some(done) = seq_in(&checkpoint, &id)? {
                ShardCursor::at_seq(view, done.saturating_add(1))
            } else {
                match start {
                    StartPosition::TrimHorizon => ShardCursor::at_seq(view, 0),
                    StartPosition::Latest => ShardCursor::latest(view),
                    StartPosition::AtSequenceNumber(at) => ShardCursor::at_seq(view, seq_in(at, &id)?.unwrap_or(0)),
                    StartPosition::AfterSequenceNumber(after) => {
                        ShardCursor::at_seq(view, seq_in(after, &id)?.map_or(0, |seq| seq.saturating_add(1)))
                    }
                    StartPosition::AtTimestamp(ms) => ShardCursor::at_time(view, *ms)
                        .map_err(|e| log.io_error(format!("cannot look for records at {ms} ms: {e}")))?,
                }
            };
            shards.push(ShardCursor { shard: index as u32, ..cursor });
        }
        Ok(EmbeddedReader { log, changes, shards, rotation: 0, pool: BufferPool::default() })
    }

    /// Up to `max` records that are already readable, round robin across shards.
    fn fill(&mut self, max: usize) -> Result<ReadBatch, StreamError> {
        let count = self.shards.len();
        let mut live: Vec<usize> = (0..count).map(|k| (self.rotation + k) % count).collect();
        self.rotation = (self.rotation + 1) % count.max(1);
        let mut last_seq = vec![None; count];
        let mut records = Vec::with_capacity(max.min(8192));
        'fill: while records.len() < max && !live.is_empty() {
            let mut k = 0;
            while k < live.len() && records.len() < max {
                let index = live[k];
                match self.shards[index].next(&self.log, &mut self.pool) {
                    Ok(Some((seq, record))) => {
                        records.push(record);
                        last_seq[index] = Some(seq);
                        k += 1;
                    }
                    Ok(None) => {
                        live.remove(k);
                    }
                    // Hand out what was read; the cursor stays at the bad frame, so the next call reports it.
                    Err(_) if !records.is_empty() => break 'fill,
                    Err(e) => return Err(e),
                }
            }
        }
        let positions = last_seq
            .iter()
            .enumerate()
            .filter_map(|(index, seq)| Some((shard_id(index as u32), seq.as_ref()?.to_string())))
            .collect();
        Ok(ReadBatch { records, positions })
    }
}

#[async_trait]
impl StreamReader for EmbeddedReader {
    async fn next_batch(&mut self, max_records: usize) -> Result<Option<ReadBatch>, StreamError> {
        loop {
            // Closed first: once closed, every write is already visible, so an empty read means the end.
            let closed = self.log.is_closed();
            self.changes.mark_unchanged();
            // Reads are page-cache hits for a reader keeping up, and doing them here keeps this future
            // cancel-safe: its only await point is the wait below.
            let batch = self.fill(max_records.max(1))?;
            if !batch.records.is_empty() {
                return Ok(Some(batch));
            }
            if closed || self.changes.changed().await.is_err() {
                return Ok(None);
            }
        }
    }
}

/// Which records at the start of a cursor to pass over.
#[derive(Debug, Clone, Copy)]
enum Skip {
    Nothing,
    SeqBelow(u64),
    ArrivedBefore(i64),
}

/// Where a reader is in one shard.
pub(crate) struct ShardCursor {
    view: Arc<ShardView>,
    /// The segment being read (its first sequence number), and where to open it.
    segment: u64,
    offset: u64,
    cursor: Option<SegmentCursor>,
    /// How far the open segment may be read, as last published.
    limit: u64,
    skip: Skip,
    /// The partition key of the last record read, for the next ones to share.
    key: Option<Arc<str>>,
    /// The shard's number, which every record read from it carries.
    shard: u32,
}

impl ShardCursor {
    fn new(view: Arc<ShardView>, segment: u64, offset: u64, skip: Skip) -> Self {
        ShardCursor { view, segment, offset, cursor: None, limit: offset, skip, key: None, shard: 0 }
    }

    /// At the first record with a sequence number of at least `seq`.
    pub(crate) fn at_seq(view: Arc<ShardView>, seq: u64) -> Self {
        let segment = view.locate(seq);
        ShardCursor::new(view, segment, 0, Skip::SeqBelow(seq))
    }

    /// After everything readable now.
    fn latest(view: Arc<ShardView>) -> Self {
        let (segment, len) = view.tail();
        ShardCursor::new(view, segment, len, Skip::Nothing)
    }

    /// At the first record from `seq` on, starting the search at byte `offset` of `segment`: a
    /// [`position`](Self::position) a cursor of this shard gave.
    pub(crate) fn resume(view: Arc<ShardView>, segment: u64, offset: u64, seq: u64) -> Self {
        ShardCursor::new(view, segment, offset, Skip::SeqBelow(seq))
    }

    /// Where the next record would be read: its segment and byte offset.
    pub(crate) fn position(&self) -> (u64, u64) {
        (self.segment, self.cursor.as_ref().map_or(self.offset, SegmentCursor::offset))
    }

    /// At the first record that arrived at or after `ms`: from the last segment whose first record arrived
    /// before it (arrival times never decrease within a shard).
    pub(crate) fn at_time(view: Arc<ShardView>, ms: i64) -> std::io::Result<Self> {
        let mut from = view.locate(0);
        for (first, len) in view.segments() {
            let arrived = match SegmentCursor::open(segment_path(&view.dir, first), 0) {
                Ok(mut cursor) => match cursor.next(len, &mut BufferPool::default())? {
                    Next::Frame(frame, _) => frame.arrival_ms,
                    _ => break,
                },
                Err(e) if e.kind() == ErrorKind::NotFound => continue, // Just deleted by retention.
                Err(e) => return Err(e),
            };
            if arrived >= ms {
                break;
            }
            from = first;
        }
        Ok(ShardCursor::new(view, from, 0, Skip::ArrivedBefore(ms)))
    }

    /// The next record and its sequence number; `None` when nothing more is readable now.
    pub(crate) fn next(&mut self, log: &Log, pool: &mut BufferPool) -> Result<Option<(u64, Record)>, StreamError> {
        loop {
            if self.cursor.is_none() && !self.open(log)? {
                return Ok(None);
            }
            let Some(cursor) = self.cursor.as_mut() else { return Ok(None) };
            let at = cursor.offset();
            let why = match cursor.next(self.limit, pool) {
                Ok(Next::Frame(frame, chunk)) => {
                    match self.skip {
                        Skip::SeqBelow(seq) if frame.seq < seq => continue,
                        Skip::ArrivedBefore(ms) if frame.arrival_ms < ms => continue,
                        _ => self.skip = Skip::Nothing,
                    }
                    // Consecutive records usually share their key: one `Arc` (and one UTF-8 check) for a run.
                    let partition_key = match &self.key {
                        Some(key) if key.as_bytes() == frame.key => Arc::clone(key),
                        _ => {
                            let Ok(key) = std::str::from_utf8(frame.key) else {
                                return Err(corrupt(log, cursor, at, "the partition key is not UTF-8"));
                            };
                            let key: Arc<str> = Arc::from(key);
                            self.key = Some(Arc::clone(&key));
                            key
                        }
                    };
                    let record = Record {
                        partition_key,
                        data: chunk.slice_ref(frame.data),
                        arrival_ms: frame.arrival_ms,
                        shard: Some(self.shard),
                    };
                    return Ok(Some((frame.seq, record)));
                }
                Ok(Next::End) => {
                    if self.advance(log)? {
                        continue;
                    }
                    return Ok(None);
                }
                // Published lengths always end on a frame boundary, so a cut frame is damage too.
                Ok(Next::Torn) => "a record runs past the end of the written data",
                Ok(Next::Corrupt(why)) => why,
                Err(e) => {
                    let path = cursor.path().display();
                    return Err(log.io_error(format!("cannot read {path} at byte {at}: {e}")));
                }
            };
            return Err(corrupt(log, cursor, at, why));
        }
    }

    /// At the end of what was readable: take in newly published bytes, or move to the next segment once this
    /// one is sealed. `false` when there is nothing more for now.
    fn advance(&mut self, log: &Log) -> Result<bool, StreamError> {
        let extent = self.view.extent(self.segment);
        let len = match (extent.len, &self.cursor) {
            (Some(len), _) => len,
            // Deleted by retention after we opened it: sealed, so its file length is final.
            (None, Some(cursor)) => cursor
                .file_len()
                .map_err(|e| log.io_error(format!("cannot read the length of {}: {e}", cursor.path().display())))?,
            (None, None) => 0,
        };
        if len > self.limit {
            self.limit = len;
            return Ok(true);
        }
        match extent.next {
            Some(next) => {
                self.segment = next;
                self.offset = 0;
                self.cursor = None;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Opens the current segment; one retention deleted meanwhile is skipped.
    fn open(&mut self, log: &Log) -> Result<bool, StreamError> {
        loop {
            let path = segment_path(&self.view.dir, self.segment);
            match SegmentCursor::open(path, self.offset) {
                Ok(cursor) => {
                    self.cursor = Some(cursor);
                    self.limit = self.offset;
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    if let Extent { len: None, next: Some(next) } = self.view.extent(self.segment) {
                        self.segment = next;
                        self.offset = 0;
                        continue;
                    }
                    let path = segment_path(&self.view.dir, self.segment);
                    return Err(log.io_error(format!("segment {} is missing", path.display())));
                }
                Err(e) => {
                    let path = segment_path(&self.view.dir, self.segment);
                    return Err(log.io_error(format!("cannot open {}: {e}", path.display())));
                }
            }
        }
    }
}

/// The error for a bad frame at byte `at` of the cursor's segment.
fn corrupt(log: &Log, cursor: &SegmentCursor, at: u64, why: &str) -> StreamError {
    log.io_error(format!("corrupt record in {} at byte {at}: {why}", cursor.path().display()))
}

/// A sequence number given for shard `id`.
fn parse_seq(log: &Log, id: &str, seq: &str) -> Result<u64, StreamError> {
    seq.parse().map_err(|_| StreamError::Rejected {
        stream: log.name.clone(),
        message: format!("`{seq}` is not a sequence number of this stream (shard {id})"),
    })
}
