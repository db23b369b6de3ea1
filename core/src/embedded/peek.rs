//! Peeking at a stream's first records straight from its segment files, read-only (`sluice discover`).
//!
//! Nothing is opened for writing: no ledger (so no run lock, and a running pipeline goes on undisturbed), no
//! recovery, no directory created. Each shard's segments are read in order, frame by frame with their checksums,
//! until enough records are found or a frame is torn or damaged (a writer may be appending to it right now). So a
//! peek can include records written but not synced yet, which a crash could still drop: a sample does not mind.
//! Segments deleted by retention while a peek runs are skipped.

use std::io::ErrorKind;
use std::path::Path;

use super::segment::{Next, SegmentCursor, list_segments, parse_shard_dir, segment_path, shard_dir};
use crate::runtime::buffers::BufferPool;
use crate::runtime::stream::StreamError;

/// One record of a stream, as its segment file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeekedRecord {
    /// The shard's index.
    pub shard: u32,
    /// Its sequence number in the shard.
    pub sequence: u64,
    /// When it arrived, in milliseconds since the Unix epoch.
    pub arrival_ms: i64,
    /// Its partition key (lossily decoded if it is not UTF-8).
    pub partition_key: String,
    /// Its data.
    pub data: Vec<u8>,
}

/// The first `limit` records of stream `name` stored under `data_dir` (the oldest ones: each shard's first records,
/// merged by arrival time), or `None` when the stream has no directory there (it never ran with this data
/// directory). Read-only: see the [module docs](self).
pub fn peek_records(data_dir: &Path, name: &str, limit: usize) -> Result<Option<Vec<PeekedRecord>>, StreamError> {
    let io = |message: String| StreamError::Io { stream: name.to_owned(), message };
    let dir = data_dir.join("streams").join(name);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(format!("cannot list {}: {e}", dir.display()))),
    };
    let mut shards: Vec<u32> = entries.filter_map(|entry| parse_shard_dir(entry.ok()?.file_name().to_str()?)).collect();
    shards.sort_unstable();
    let mut found = Vec::new();
    let mut pool = BufferPool::default();
    for shard in shards {
        let shard_dir = shard_dir(&dir, shard);
        let segments =
            list_segments(&shard_dir).map_err(|e| io(format!("cannot list {}: {e}", shard_dir.display())))?;
        let mut taken = 0;
        'segments: for first in segments {
            let path = segment_path(&shard_dir, first);
            let mut cursor = match SegmentCursor::open(path.clone(), 0) {
                Ok(cursor) => cursor,
                Err(e) if e.kind() == ErrorKind::NotFound => continue, // Deleted by retention meanwhile.
                Err(e) => return Err(io(format!("cannot open {}: {e}", path.display()))),
            };
            let len = cursor.file_len().map_err(|e| io(format!("cannot read {}: {e}", path.display())))?;
            while taken < limit {
                match cursor.next(len, &mut pool).map_err(|e| io(format!("cannot read {}: {e}", path.display())))? {
                    Next::Frame(frame, _) => {
                        found.push(PeekedRecord {
                            shard,
                            sequence: frame.seq,
                            arrival_ms: frame.arrival_ms,
                            partition_key: String::from_utf8_lossy(frame.key).into_owned(),
                            data: frame.data.to_vec(),
                        });
                        taken += 1;
                    }
                    Next::End => continue 'segments,
                    // A frame being written, or damage: what follows in this shard cannot be trusted.
                    Next::Torn | Next::Corrupt(_) => break 'segments,
                }
            }
            break;
        }
    }
    found.sort_by_key(|r| (r.arrival_ms, r.shard, r.sequence));
    found.truncate(limit);
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::embedded::{EmbeddedOptions, EmbeddedStream, FsyncPolicy};
    use crate::runtime::ledger::Ledger;
    use crate::runtime::record::PutRecord;
    use crate::runtime::stream::Stream;

    fn put(key: &str, data: &str) -> PutRecord {
        PutRecord { partition_key: key.into(), data: Bytes::from(data.to_owned()) }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn peeks_the_first_records_while_the_stream_is_open() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert_eq!(peek_records(dir.path(), "s", 10)?, None, "no directory yet");
        let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.redb"))?);
        let options = EmbeddedOptions {
            shards: 2,
            retention: Duration::from_secs(86_400),
            fsync: FsyncPolicy::Never,
            fsync_interval: Duration::from_secs(1),
        };
        let stream = EmbeddedStream::open("s", dir.path(), options, ledger).await?;
        assert_eq!(peek_records(dir.path(), "s", 10)?, Some(Vec::new()), "open but empty");
        let records: Vec<PutRecord> = (0..20).map(|i| put(&format!("k{i}"), &format!("r{i}"))).collect();
        stream.put_batch(records, "p", None).await?;
        // The stream stays open (its ledger locked): the peek needs neither.
        let peeked = peek_records(dir.path(), "s", 5)?.ok_or("the stream has a directory")?;
        assert_eq!(peeked.len(), 5);
        assert!(peeked.iter().all(|r| r.data.starts_with(b"r") && r.partition_key.starts_with('k')));
        let all = peek_records(dir.path(), "s", 100)?.ok_or("the stream has a directory")?;
        let mut data: Vec<String> = all.iter().map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect();
        data.sort();
        let mut expected: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
        expected.sort();
        assert_eq!(data, expected, "every record once, across both shards");
        stream.shutdown().await?;
        Ok(())
    }

    #[test]
    fn a_torn_tail_ends_the_shard() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let shard = dir.path().join("streams").join("s").join("shard-000000");
        std::fs::create_dir_all(&shard)?;
        let mut bytes = Vec::new();
        super::super::frame::encode(&mut bytes, 1, 10, "k", b"one");
        super::super::frame::encode(&mut bytes, 2, 11, "k", b"two");
        bytes.truncate(bytes.len() - 2);
        std::fs::write(segment_path(&shard, 1), &bytes)?;
        let peeked = peek_records(dir.path(), "s", 10)?.ok_or("a directory")?;
        assert_eq!(peeked.len(), 1);
        assert_eq!(peeked[0].data, b"one");
        assert_eq!((peeked[0].sequence, peeked[0].arrival_ms), (1, 10));
        Ok(())
    }
}
