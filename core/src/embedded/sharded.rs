//! The embedded stream's shards one by one, for the Kinesis API ([`ShardedStream`]).
//!
//! ```text
//!  put  ──▶ limits ──▶ Log::append_to (the caller's routing) ──▶ fsync always:   sync now
//!                                                            ──▶ fsync interval: wait for the sync covering it
//!                                                            ──▶ fsync never:    commit the ledger now (no fsync)
//!  read ──▶ ShardCursor at a sequence number, or resumed at a segment and offset ──▶ what is readable now
//! ```
//!
//! Readers see records once a sync committed them (see `log`), so a put that returned is readable.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::log::Log;
use super::reader::ShardCursor;
use super::shard::ShardView;
use super::{EmbeddedStream, FsyncPolicy};
use crate::runtime::buffers::BufferPool;
use crate::runtime::record::PutRecord;
use crate::runtime::sharded::{ShardMark, ShardRead, ShardRecord, ShardStart, ShardedStream};
use crate::runtime::stream::StreamError;

/// The view of shard `shard`, or the error for a shard the stream does not have.
fn view(log: &Log, shard: u32) -> Result<Arc<ShardView>, StreamError> {
    log.views.get(shard as usize).cloned().ok_or_else(|| StreamError::Rejected {
        stream: log.name.clone(),
        message: format!("there is no shard {shard} (the stream has {})", log.views.len()),
    })
}

#[async_trait]
impl ShardedStream for EmbeddedStream {
    fn name(&self) -> &str {
        &self.log.name
    }

    fn shard_count(&self) -> u32 {
        self.log.views.len() as u32
    }

    fn retention(&self) -> Duration {
        self.log.options.retention
    }

    fn created_ms(&self) -> i64 {
        // The stream's directory is made when the stream is first opened, and kept.
        let dir = self.log.views.first().and_then(|view| view.dir.parent().map(std::path::Path::to_path_buf));
        let metadata = dir.and_then(|dir| std::fs::metadata(dir).ok());
        let at = metadata.and_then(|m| m.created().or_else(|_| m.modified()).ok()).unwrap_or_else(SystemTime::now);
        at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_millis() as i64)
    }

    fn tip(&self, shard: u32) -> Option<u64> {
        self.log.views.get(shard as usize).map(|view| view.next_seq())
    }

    async fn put(&self, records: Vec<PutRecord>, shards: Vec<u32>) -> Result<Vec<u64>, StreamError> {
        self.check_limits(&records)?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let (seqs, version) = self
            .on_log(move |log| {
                let (seqs, version) = log.append_to(&records, &shards)?;
                // `never` commits without an fsync, so the records are readable when the put returns.
                if log.options.fsync != FsyncPolicy::Interval {
                    log.sync_through(version)?;
                }
                Ok((seqs, version))
            })
            .await?;
        // `interval` acknowledges producers before the sync; a caller told "durable" (and able to read its records
        // back) must wait for it.
        if self.log.options.fsync == FsyncPolicy::Interval {
            self.log.wait_durable(version).await?;
        }
        Ok(seqs)
    }

    async fn seq_at_time(&self, shard: u32, at_ms: i64) -> Result<u64, StreamError> {
        self.on_log(move |log| {
            let view = view(log, shard)?;
            // Taken first: a record put after it arrives after `at_ms` (never in the future), so it is found.
            let tip = view.next_seq();
            let mut cursor = ShardCursor::at_time(view, at_ms)
                .map_err(|e| log.io_error(format!("cannot look for records at {at_ms} ms: {e}")))?;
            Ok(cursor.next(log, &mut BufferPool::default())?.map_or(tip, |(seq, _)| seq))
        })
        .await
    }

    async fn read(
        &self,
        shard: u32,
        start: ShardStart,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<ShardRead, StreamError> {
        self.on_log(move |log| {
            let view = view(log, shard)?;
            let (mut cursor, mut next_seq) = match start {
                ShardStart::AtSeq(seq) => (ShardCursor::at_seq(Arc::clone(&view), seq), seq),
                ShardStart::Resume(ShardMark { next_seq, locator: [segment, offset] }) => {
                    (ShardCursor::resume(Arc::clone(&view), segment, offset, next_seq), next_seq)
                }
            };
            let mut pool = BufferPool::default();
            let (mut records, mut bytes) = (Vec::new(), 0);
            while records.len() < max_records && bytes < max_bytes {
                let Some((seq, record)) = cursor.next(log, &mut pool)? else { break };
                bytes += record.data.len();
                next_seq = seq + 1;
                let (partition_key, data, arrival_ms) = (record.partition_key, record.data, record.arrival_ms);
                records.push(ShardRecord { seq, partition_key, data, arrival_ms });
            }
            let (segment, offset) = cursor.position();
            let next = ShardMark { next_seq, locator: [segment, offset] };
            Ok(ShardRead { records, next, tip: view.next_seq() })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use bytes::Bytes;

    use super::super::EmbeddedOptions;
    use super::super::state::Keys;
    use super::*;
    use crate::runtime::ledger::Ledger;
    use crate::runtime::stream::Stream;

    type TestResult<T = ()> = Result<T, Box<dyn Error>>;

    fn record(key: &str, data: &str) -> PutRecord {
        PutRecord { partition_key: key.into(), data: Bytes::copy_from_slice(data.as_bytes()) }
    }

    async fn open(dir: &std::path::Path, shards: u32, fsync: FsyncPolicy) -> TestResult<Arc<EmbeddedStream>> {
        let ledger = Arc::new(Ledger::open(&dir.join("ledger.redb"))?);
        let options = EmbeddedOptions {
            shards,
            retention: Duration::from_secs(86_400),
            fsync,
            fsync_interval: Duration::from_millis(30),
        };
        Ok(EmbeddedStream::open("events", dir, options, ledger).await?)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn puts_report_sequence_numbers_and_are_synced_before_they_return() -> TestResult {
        let dir = tempfile::tempdir()?;
        let stream = open(dir.path(), 2, FsyncPolicy::Interval).await?;
        let batch = vec![record("a", "one"), record("b", "two"), record("c", "three")];
        let seqs = stream.put(batch, vec![1, 0, 1]).await?;
        assert_eq!(seqs, [1, 1, 2], "each shard numbers its records from 1, in batch order");
        // Under `fsync: interval` the put returned only once a sync covered it: the ledger's marks say so.
        let marks = Keys::new("events").load_marks(&stream.log.ledger)?;
        assert_eq!(marks.get(&1).map(|m| m.next_seq), Some(3));
        assert_eq!(marks.get(&0).map(|m| m.next_seq), Some(2));
        assert_eq!((ShardedStream::tip(&*stream, 1), ShardedStream::tip(&*stream, 2)), (Some(3), None));

        let bad = stream.put(vec![record("a", "x")], vec![2]).await;
        assert!(matches!(bad, Err(StreamError::Rejected { .. })), "no shard 2: {bad:?}");
        let too_long = stream.put(vec![record(&"k".repeat(257), "x")], vec![0]).await;
        assert!(matches!(too_long, Err(StreamError::Rejected { .. })));
        assert_eq!(ShardedStream::tip(&*stream, 0), Some(2), "nothing of a rejected batch was written");
        stream.shutdown().await?;
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_resume_where_they_stopped_and_see_producers_records() -> TestResult {
        let dir = tempfile::tempdir()?;
        let stream = open(dir.path(), 1, FsyncPolicy::Never).await?;
        stream.put((0..5).map(|i| record("k", &format!("r{i}"))).collect(), vec![0; 5]).await?;
        // A producer's batch goes through the same log: shard readers see it too, once synced.
        stream.put_batch(vec![record("p", "from a producer")], "producer", None).await?;
        stream.log.sync(Vec::new())?;

        let first = stream.read(0, ShardStart::AtSeq(0), 2, usize::MAX).await?;
        let seqs: Vec<u64> = first.records.iter().map(|r| r.seq).collect();
        assert_eq!((seqs, first.next.next_seq, first.tip), (vec![1, 2], 3, 7));
        let rest = stream.read(0, ShardStart::Resume(first.next), 100, usize::MAX).await?;
        let data: Vec<&[u8]> = rest.records.iter().map(|r| &r.data[..]).collect();
        assert_eq!(data, [&b"r2"[..], b"r3", b"r4", b"from a producer"]);
        assert_eq!(rest.records.last().map(|r| &*r.partition_key), Some("p"));

        let empty = stream.read(0, ShardStart::Resume(rest.next), 100, usize::MAX).await?;
        assert!(empty.records.is_empty());
        assert_eq!(empty.next, rest.next, "nothing new: the same place");
        stream.put(vec![record("k", "later")], vec![0]).await?;
        let later = stream.read(0, ShardStart::Resume(empty.next), 100, usize::MAX).await?;
        assert_eq!(later.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [7]);

        let from_four = stream.read(0, ShardStart::AtSeq(4), 1, usize::MAX).await?;
        assert_eq!(from_four.records.first().map(|r| r.seq), Some(4));
        let capped = stream.read(0, ShardStart::AtSeq(0), 100, 3).await?;
        assert_eq!(capped.records.len(), 2, "stops once the data passed the byte cap");

        let future = chrono::Utc::now().timestamp_millis() + 60_000;
        assert_eq!(stream.seq_at_time(0, future).await?, 8, "nothing arrived yet: the tip");
        assert_eq!(stream.seq_at_time(0, 0).await?, 1);
        stream.shutdown().await?;
        Ok(())
    }
}
