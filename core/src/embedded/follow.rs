//! Following a stream's new records straight from its segment files, read-only (`sluice tap` beside a run).
//!
//! Like a [peek](super::peek_records), nothing is opened for writing, so a running pipeline goes on undisturbed.
//! Each shard is followed from where its last whole frame ended when the follow started; every poll reads the
//! frames appended since, moves on to the shard's next segment when one exists, and stops at a torn frame (a
//! writer is appending it) to read it whole on the next poll.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::peek::PeekedRecord;
use super::segment::{Next, SegmentCursor, list_segments, parse_shard_dir, segment_path, shard_dir};
use crate::runtime::buffers::BufferPool;
use crate::runtime::stream::StreamError;

/// Where one shard is followed from.
#[derive(Debug)]
struct ShardTail {
    index: u32,
    dir: PathBuf,
    /// The segment being read (its first sequence number), if the shard has any yet.
    segment: Option<u64>,
    offset: u64,
}

/// A stream followed from its end.
#[derive(Debug)]
pub struct StreamTail {
    name: String,
    shards: Vec<ShardTail>,
    pool: BufferPool,
}

impl StreamTail {
    /// Follows stream `name` under `data_dir` from its current end; `None` when the stream has no directory there.
    pub fn at_end(data_dir: &Path, name: &str) -> Result<Option<StreamTail>, StreamError> {
        let dir = data_dir.join("streams").join(name);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(name, format!("cannot list {}: {e}", dir.display()))),
        };
        let mut indexes: Vec<u32> = entries.filter_map(|e| parse_shard_dir(e.ok()?.file_name().to_str()?)).collect();
        indexes.sort_unstable();
        let shards = indexes
            .into_iter()
            .map(|index| ShardTail { index, dir: shard_dir(&dir, index), segment: None, offset: 0 })
            .collect();
        let mut tail = StreamTail { name: name.to_owned(), shards, pool: BufferPool::default() };
        for shard in 0..tail.shards.len() {
            let last = tail.segments(shard)?.last().copied();
            tail.shards[shard].segment = last;
            tail.read(shard, &mut |_| {})?; // Skip what is there: only new records are followed.
        }
        Ok(Some(tail))
    }

    /// The records appended since the last poll, shard by shard.
    pub fn poll(&mut self) -> Result<Vec<PeekedRecord>, StreamError> {
        let mut found = Vec::new();
        for shard in 0..self.shards.len() {
            self.read(shard, &mut |record| found.push(record))?;
        }
        Ok(found)
    }

    fn segments(&self, shard: usize) -> Result<Vec<u64>, StreamError> {
        let dir = &self.shards[shard].dir;
        list_segments(dir).map_err(|e| io(&self.name, format!("cannot list {}: {e}", dir.display())))
    }

    /// Reads shard `shard` on from where it was, through later segments, to its last whole frame.
    fn read(&mut self, shard: usize, found: &mut dyn FnMut(PeekedRecord)) -> Result<(), StreamError> {
        loop {
            let Some(segment) = self.shards[shard].segment.or_else(|| self.segments(shard).ok()?.first().copied())
            else {
                return Ok(()); // No segment yet.
            };
            let at = self.read_segment(shard, segment, self.shards[shard].offset, found)?;
            let Some(next) = self.segments(shard)?.into_iter().find(|&s| s > segment) else {
                (self.shards[shard].segment, self.shards[shard].offset) = (Some(segment), at);
                return Ok(());
            };
            // A writer starts a segment only after its last frame in the previous one: read that to its end.
            self.read_segment(shard, segment, at, found)?;
            (self.shards[shard].segment, self.shards[shard].offset) = (Some(next), 0);
        }
    }

    /// Reads the whole frames of `segment` from `offset` on; where they end.
    fn read_segment(
        &mut self,
        shard: usize,
        segment: u64,
        offset: u64,
        found: &mut dyn FnMut(PeekedRecord),
    ) -> Result<u64, StreamError> {
        let index = self.shards[shard].index;
        let path = segment_path(&self.shards[shard].dir, segment);
        let fail = |e: std::io::Error| io(&self.name, format!("cannot read {}: {e}", path.display()));
        let mut cursor = match SegmentCursor::open(path.clone(), offset) {
            Ok(cursor) => cursor,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(offset), // Deleted by retention.
            Err(e) => return Err(fail(e)),
        };
        let len = cursor.file_len().map_err(fail)?;
        // A torn frame is being written: it is read whole next time. Damage stops the shard here as well.
        while let Next::Frame(frame, _) = cursor.next(len, &mut self.pool).map_err(fail)? {
            found(PeekedRecord {
                shard: index,
                sequence: frame.seq,
                arrival_ms: frame.arrival_ms,
                partition_key: String::from_utf8_lossy(frame.key).into_owned(),
                data: frame.data.to_vec(),
            });
        }
        Ok(cursor.offset())
    }
}

fn io(stream: &str, message: String) -> StreamError {
    StreamError::Io { stream: stream.to_owned(), message }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::embedded::frame::encode;

    fn append(path: &Path, frames: &[(u64, &str)]) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        for (seq, data) in frames {
            encode(&mut bytes, *seq, 10, "k", data.as_bytes());
        }
        std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(&bytes)
    }

    fn data(records: Vec<PeekedRecord>) -> Vec<String> {
        records.into_iter().map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect()
    }

    #[test]
    fn follows_new_frames_across_segments_and_waits_for_a_torn_one() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert!(StreamTail::at_end(dir.path(), "s")?.is_none(), "no directory yet");
        let shard = dir.path().join("streams").join("s").join("shard-000000");
        std::fs::create_dir_all(&shard)?;
        append(&segment_path(&shard, 1), &[(1, "old")])?;
        let mut tail = StreamTail::at_end(dir.path(), "s")?.ok_or("a directory")?;
        assert!(tail.poll()?.is_empty(), "what was there is skipped");
        append(&segment_path(&shard, 1), &[(2, "two"), (3, "three")])?;
        // A torn frame: half of it written.
        let mut torn = Vec::new();
        encode(&mut torn, 4, 10, "k", b"four");
        let (first, rest) = torn.split_at(torn.len() / 2);
        std::fs::OpenOptions::new().append(true).open(segment_path(&shard, 1))?.write_all(first)?;
        assert_eq!(data(tail.poll()?), ["two", "three"]);
        std::fs::OpenOptions::new().append(true).open(segment_path(&shard, 1))?.write_all(rest)?;
        append(&segment_path(&shard, 5), &[(5, "five")])?;
        assert_eq!(data(tail.poll()?), ["four", "five"], "the rest of the old segment, then the new one");
        assert!(tail.poll()?.is_empty());
        Ok(())
    }
}
