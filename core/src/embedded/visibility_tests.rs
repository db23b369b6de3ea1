//! Readers see only what a sync committed, so a crash never takes back a record a consumer saw, and a
//! checkpoint is never left behind numbers that new records reuse.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::runtime::ledger::Ledger;
use crate::runtime::stream::ReadBatch;

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// `fsync: interval` whose background sync never comes during a test: only explicit syncs make records durable.
fn interval_options() -> EmbeddedOptions {
    EmbeddedOptions {
        shards: 2,
        retention: Duration::from_secs(24 * 3600),
        fsync: FsyncPolicy::Interval,
        fsync_interval: Duration::from_secs(3600),
    }
}

async fn open(dir: &std::path::Path) -> TestResult<Arc<EmbeddedStream>> {
    let ledger = Arc::new(Ledger::open(&dir.join("ledger.redb"))?);
    Ok(EmbeddedStream::open("events", dir, interval_options(), ledger).await?)
}

fn batch(tag: &str, count: usize) -> Vec<PutRecord> {
    (0..count)
        .map(|i| PutRecord { partition_key: format!("{tag}-{i}").into(), data: format!("{tag}-{i}").into() })
        .collect()
}

/// What `reader` hands out within `wait` (nothing when it would wait longer).
async fn read_for(reader: &mut Box<dyn StreamReader>, wait: Duration) -> TestResult<Vec<ReadBatch>> {
    let mut batches = Vec::new();
    while let Ok(batch) = tokio::time::timeout(wait, reader.next_batch(1000)).await {
        match batch? {
            Some(batch) => batches.push(batch),
            None => break,
        }
    }
    Ok(batches)
}

fn count(batches: &[ReadBatch]) -> usize {
    batches.iter().map(|b| b.records.len()).sum()
}

/// The last sequence number seen per shard, over `batches`.
fn seen(batches: &[ReadBatch]) -> Positions {
    let mut seen = Positions::new();
    for batch in batches {
        seen.extend(batch.positions.clone());
    }
    seen
}

/// Puts of `count` records of `size` bytes each, 1,000 per batch.
async fn put_sized(stream: &EmbeddedStream, count: usize, size: usize) -> TestResult {
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let key: Arc<str> = Arc::from("k");
    for _ in 0..count / 1000 {
        let records = (0..1000).map(|_| PutRecord { partition_key: Arc::clone(&key), data: payload.clone() }).collect();
        stream.put_batch(records, "p", None).await?;
    }
    Ok(())
}

#[tokio::test]
async fn under_fsync_interval_many_waiting_bytes_are_synced_before_the_tick() -> TestResult {
    let dir = tempfile::tempdir()?;
    let stream = open(dir.path()).await?; // The periodic sync is an hour away.
    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;

    // Below the threshold: nothing is readable before the tick.
    put_sized(&stream, 1000, 1024).await?;
    assert_eq!(count(&read_for(&mut reader, Duration::from_millis(200)).await?), 0, "1 MB waits for the tick");

    // Crossing it: the background task syncs at once, so everything put so far becomes readable.
    let records = (log::SYNC_SOON_BYTES / 1024) as usize;
    put_sized(&stream, records, 1024).await?;
    assert_eq!(count(&read_for(&mut reader, Duration::from_secs(5)).await?), 1000 + records / 1000 * 1000);
    stream.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn under_fsync_interval_readers_see_records_once_synced_not_before() -> TestResult {
    let dir = tempfile::tempdir()?;
    let stream = open(dir.path()).await?;
    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
    stream.put_batch(batch("a", 20), "p", Some(b"20".to_vec())).await?;
    assert_eq!(count(&read_for(&mut reader, Duration::from_millis(100)).await?), 0, "written, not synced");
    assert_eq!(stream.clone().sharded().and_then(|s| s.tip(0)), Some(1), "the tip is the synced one");

    stream.log.sync(Vec::new())?;
    assert_eq!(count(&read_for(&mut reader, Duration::from_millis(100)).await?), 20, "synced: readable");

    // Closing the writers syncs what is left, so readers still get everything before they end.
    stream.put_batch(batch("b", 5), "p", Some(b"25".to_vec())).await?;
    stream.close_writers();
    assert_eq!(count(&read_for(&mut reader, Duration::from_secs(5)).await?), 5);
    stream.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_crash_never_takes_back_a_record_a_consumer_saw() -> TestResult {
    let dir = tempfile::tempdir()?;
    let stream = open(dir.path()).await?;
    stream.put_batch(batch("a", 50), "p", Some(b"50".to_vec())).await?;
    stream.log.sync(Vec::new())?;
    stream.put_batch(batch("b", 50), "p", Some(b"100".to_vec())).await?;
    // A destination reads what it can and publishes it; it remembers the input positions in its own ledger
    // (as the s3 destination's object ledger does), not in the stream's checkpoint.
    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
    let batches = read_for(&mut reader, Duration::from_millis(100)).await?;
    let published = seen(&batches);
    assert_eq!(count(&batches), 50, "only the synced batch");

    // kill -9: no shutdown, no sync. Recovery cuts each shard back to its mark.
    drop(reader);
    drop(stream);
    let stream = open(dir.path()).await?;
    assert_eq!(stream.producer_position("p"), Some(b"50".to_vec()), "the producer puts `b` again");
    let sharded = stream.clone().sharded().ok_or("sharded")?;
    for (id, seq) in &published {
        let index = super::hash::parse_shard_id(id).ok_or("shard id")?;
        let tip = sharded.tip(index).ok_or("tip")?;
        assert!(seq.parse::<u64>()? < tip, "{id}: a consumer saw {seq}, the recovered shard numbers on from {tip}");
    }

    // The restart moves the checkpoint to what was published, and the producer puts `b` again, routed
    // otherwise this time (random partition keys): every one of them reaches the consumer.
    stream.commit_checkpoint("c", &published).await?;
    stream.put_batch(batch("b-again", 50), "p", Some(b"100".to_vec())).await?;
    stream.close_writers();
    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
    let after = read_for(&mut reader, Duration::from_secs(5)).await?;
    let mut data: Vec<String> =
        after.iter().flat_map(|b| &b.records).map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect();
    data.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("b-again-{i}")).collect();
    expected.sort();
    assert_eq!(data, expected, "nothing lost behind the checkpoint, nothing read twice");
    stream.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_checkpoint_past_the_end_moves_the_numbering_past_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.redb"))?);
    // A checkpoint past the end, as a crash under an older sluice could leave it, found at open.
    let checkpoint = Positions::from([(shard_id(0), "40".to_owned())]);
    ledger.commit(vec![("stream/events/consumer/old".to_owned(), serde_json::to_vec(&checkpoint)?)], true)?;
    let always = EmbeddedOptions { fsync: FsyncPolicy::Always, ..interval_options() };
    let stream = EmbeddedStream::open("events", dir.path(), always, Arc::clone(&ledger)).await?;
    let sharded = stream.clone().sharded().ok_or("sharded")?;
    assert_eq!((sharded.tip(0), sharded.tip(1)), (Some(41), Some(1)), "shard 0 numbers on after 40");

    // And one committed later, past the end again.
    stream.commit_checkpoint("new", &Positions::from([(shard_id(1), "7".to_owned())])).await?;
    let seqs = sharded.put(batch("x", 2), vec![0, 1]).await?;
    assert_eq!(seqs, [41, 8], "no sequence number a checkpoint covers is given out");
    stream.shutdown().await?;
    drop((stream, sharded, ledger));

    // The numbering is stored with the marks: it holds across a restart.
    let stream = open(dir.path()).await?;
    let sharded = stream.clone().sharded().ok_or("sharded")?;
    assert_eq!((sharded.tip(0), sharded.tip(1)), (Some(42), Some(9)));
    stream.close_writers();
    let mut reader = stream.open_reader("new", StartPosition::TrimHorizon).await?;
    let mut data: Vec<String> = read_for(&mut reader, Duration::from_secs(5))
        .await?
        .iter()
        .flat_map(|b| &b.records)
        .map(|r| String::from_utf8_lossy(&r.data).into_owned())
        .collect();
    data.sort();
    assert_eq!(data, ["x-0", "x-1"], "the records after the checkpoints are read");
    stream.shutdown().await?;
    Ok(())
}
