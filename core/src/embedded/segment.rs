//! Segment files: naming, listing, and reading frames from them in big chunks.
//!
//! A segment is named after the sequence number of its first record (20 digits, so names sort like
//! numbers). A [`SegmentCursor`] reads a segment up to a limit in chunks of [`CHUNK_BYTES`] and decodes
//! frames out of its buffer, so reading costs one system call per chunk, not per record. Each chunk is a
//! [`Bytes`] of its own (from the caller's [`BufferPool`]), so records can share their data out of it instead of
//! copying it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::frame::{self, Frame, Status};
use crate::runtime::buffers::BufferPool;

/// How much a cursor reads at a time.
const CHUNK_BYTES: usize = 256 * 1024;

/// The directory of shard `index` in a stream's directory (`shard-000003`).
pub(crate) fn shard_dir(stream_dir: &Path, index: u32) -> PathBuf {
    stream_dir.join(format!("shard-{index:06}"))
}

/// The shard index a directory name stands for.
pub(crate) fn parse_shard_dir(name: &str) -> Option<u32> {
    name.strip_prefix("shard-").filter(|digits| digits.len() == 6).and_then(|digits| digits.parse().ok())
}

/// The segment of `shard_dir` whose first record has sequence number `first_seq`.
pub(crate) fn segment_path(shard_dir: &Path, first_seq: u64) -> PathBuf {
    shard_dir.join(format!("{first_seq:020}.seg"))
}

/// The first sequence numbers of the segments in `shard_dir`, ascending. Other files are left alone.
pub(crate) fn list_segments(shard_dir: &Path) -> io::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(shard_dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(first) = name.strip_suffix(".seg").filter(|d| d.len() == 20).and_then(|d| d.parse().ok()) {
            found.push(first);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Makes the entries of directory `dir` (files created or deleted in it) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What a cursor found next.
#[derive(Debug)]
pub(crate) enum Next<'a> {
    /// A valid frame, and the chunk it lies in (to share its bytes: [`Bytes::slice_ref`]).
    Frame(Frame<'a>, &'a Bytes),
    /// The limit was reached on a frame boundary.
    End,
    /// The limit cuts a frame short: a torn write.
    Torn,
    /// The bytes at [`SegmentCursor::offset`] are not a valid frame, and why.
    Corrupt(&'static str),
}

/// Reads frames from one segment file, sequentially, through a buffer.
#[derive(Debug)]
pub(crate) struct SegmentCursor {
    file: File,
    path: PathBuf,
    /// Bytes read from the file and not yet handed out start at `buf[start]`.
    buf: Bytes,
    start: usize,
    /// The file offset of `buf[0]`.
    buf_offset: u64,
}

impl SegmentCursor {
    /// Opens `path` at byte `offset` (a frame boundary).
    pub(crate) fn open(path: PathBuf, offset: u64) -> io::Result<Self> {
        let mut file = File::open(&path)?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))?;
        }
        Ok(SegmentCursor { file, path, buf: Bytes::new(), start: 0, buf_offset: offset })
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file offset of the next frame.
    pub(crate) fn offset(&self) -> u64 {
        self.buf_offset + self.start as u64
    }

    /// The file's current length.
    pub(crate) fn file_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// The next frame in the first `limit` bytes of the file. Chunks come from `pool` and go back to it.
    pub(crate) fn next(&mut self, limit: u64, pool: &mut BufferPool) -> io::Result<Next<'_>> {
        loop {
            let needed = match frame::check(&self.buf[self.start..]) {
                Status::Complete(len) => {
                    let at = self.start;
                    self.start += len;
                    return Ok(Next::Frame(frame::parse(&self.buf[at..at + len]), &self.buf));
                }
                Status::Corrupt(why) => return Ok(Next::Corrupt(why)),
                Status::Incomplete(needed) => needed,
            };
            let pending = self.buf.len() - self.start;
            let end = self.buf_offset + self.buf.len() as u64;
            if end >= limit {
                return Ok(if pending == 0 { Next::End } else { Next::Torn });
            }
            // A new chunk (records handed out may still share the old one): the partial frame, then the next
            // chunk of the file (or the rest of a big frame).
            let want = (limit - end).min(CHUNK_BYTES.max(needed - pending) as u64) as usize;
            let mut chunk = pool.take(pending + want);
            chunk.extend_from_slice(&self.buf[self.start..]);
            chunk.resize(pending + want, 0);
            if let Err(e) = self.file.read_exact(&mut chunk[pending..]) {
                pool.retire(chunk.freeze());
                return Err(e);
            }
            self.buf_offset += self.start as u64;
            self.start = 0;
            let used = std::mem::replace(&mut self.buf, chunk.freeze());
            pool.retire(used);
        }
    }
}

/// What [`scan`] found in a segment.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// The length of the longest prefix of valid frames.
    pub valid_len: u64,
    /// The sequence number of the last valid frame.
    pub last_seq: Option<u64>,
    /// The arrival time of the first frame.
    pub first_arrival_ms: Option<i64>,
    /// The arrival time of the last valid frame.
    pub last_arrival_ms: Option<i64>,
    /// Why the scan stopped before `limit`, if it did.
    pub stopped: Option<&'static str>,
}

/// Checks the frames in the first `limit` bytes of a segment (recovery).
pub(crate) fn scan(path: &Path, limit: u64) -> io::Result<Scan> {
    let mut cursor = SegmentCursor::open(path.to_owned(), 0)?;
    let mut pool = BufferPool::default();
    let mut found = Scan::default();
    loop {
        match cursor.next(limit, &mut pool)? {
            Next::Frame(frame, _) => {
                if found.last_seq.is_some_and(|last| frame.seq <= last) {
                    found.stopped = Some("sequence numbers out of order");
                    break;
                }
                found.last_seq = Some(frame.seq);
                found.first_arrival_ms.get_or_insert(frame.arrival_ms);
                found.last_arrival_ms = Some(frame.arrival_ms);
                found.valid_len = cursor.offset();
            }
            Next::End => break,
            Next::Torn => {
                found.stopped = Some("torn record at the end");
                break;
            }
            Next::Corrupt(why) => {
                found.stopped = Some(why);
                break;
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn cursor_reads_frames_across_chunks_and_stops_at_the_limit() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = segment_path(dir.path(), 1);
        let mut bytes = Vec::new();
        let data = vec![7u8; 100_000]; // Several frames per chunk, and frames straddling chunks.
        for seq in 1..=20 {
            frame::encode(&mut bytes, seq, 0, "k", &data);
        }
        File::create(&path)?.write_all(&bytes)?;
        assert_eq!(list_segments(dir.path())?, [1]);

        let mut cursor = SegmentCursor::open(path.clone(), 0)?;
        let limit = 10 * frame::frame_len("k", &data) as u64;
        let mut seqs = Vec::new();
        let mut pool = BufferPool::default();
        while let Next::Frame(frame, _) = cursor.next(limit, &mut pool)? {
            assert_eq!(frame.data.len(), data.len());
            seqs.push(frame.seq);
        }
        assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
        assert_eq!(cursor.offset(), limit);

        let scanned = scan(&path, bytes.len() as u64 - 1)?;
        assert_eq!(scanned.last_seq, Some(19));
        assert_eq!(scanned.stopped, Some("torn record at the end"));
        Ok(())
    }
}
