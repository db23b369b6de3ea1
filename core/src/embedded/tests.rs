//! The embedded stream end to end: writes, reads, restarts, recovery, retention, limits.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::log::Limits;
use super::segment::{list_segments, segment_path, shard_dir};
use super::*;
use crate::runtime::record::Record;

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

const DAY: Duration = Duration::from_secs(24 * 3600);

fn options(shards: u32, fsync: FsyncPolicy) -> EmbeddedOptions {
    EmbeddedOptions { shards, retention: DAY, fsync, fsync_interval: Duration::from_millis(20) }
}

/// A data directory; every `open` reopens its ledger too, as a restart does.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> TestResult<Self> {
        Ok(Fixture { dir: tempfile::tempdir()? })
    }

    async fn open(&self, options: EmbeddedOptions) -> Result<Arc<EmbeddedStream>, Box<dyn Error>> {
        self.open_with(options, Limits::default()).await
    }

    async fn open_with(&self, options: EmbeddedOptions, limits: Limits) -> TestResult<Arc<EmbeddedStream>> {
        let ledger = Arc::new(Ledger::open(&self.dir.path().join("ledger.redb"))?);
        Ok(EmbeddedStream::open_with("events", self.dir.path(), options, limits, ledger).await?)
    }

    fn shard(&self, index: u32) -> PathBuf {
        shard_dir(&self.dir.path().join("streams").join("events"), index)
    }

    /// The active (last) segment of shard `index`.
    fn last_segment(&self, index: u32) -> TestResult<PathBuf> {
        let dir = self.shard(index);
        let last = list_segments(&dir)?.last().copied().ok_or("no segment")?;
        Ok(segment_path(&dir, last))
    }
}

/// Shuts a stream down and drops it, releasing the ledger for the next `open`.
async fn stop(stream: Arc<EmbeddedStream>) -> TestResult {
    stream.shutdown().await?;
    drop(stream);
    Ok(())
}

fn records(tag: &str, range: std::ops::Range<usize>) -> Vec<PutRecord> {
    range
        .map(|i| PutRecord { partition_key: format!("key-{}", i % 17).into(), data: format!("{tag}-{i}").into() })
        .collect()
}

fn data(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect()
}

/// Reads until the reader ends (writers must be closed), merging the positions of every batch.
async fn drain(reader: &mut Box<dyn StreamReader>) -> TestResult<(Vec<Record>, Positions)> {
    let (mut all, mut positions) = (Vec::new(), Positions::new());
    while let Some(batch) = tokio::time::timeout(Duration::from_secs(10), reader.next_batch(7)).await?? {
        all.extend(batch.records);
        positions.extend(batch.positions);
    }
    Ok((all, positions))
}

/// Reads exactly `count` records.
async fn read(reader: &mut Box<dyn StreamReader>, count: usize) -> TestResult<(Vec<Record>, Positions)> {
    let (mut all, mut positions) = (Vec::new(), Positions::new());
    while all.len() < count {
        let batch = tokio::time::timeout(Duration::from_secs(10), reader.next_batch(count - all.len())).await??;
        let batch = batch.ok_or("the reader ended early")?;
        all.extend(batch.records);
        positions.extend(batch.positions);
    }
    Ok((all, positions))
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

#[tokio::test]
async fn records_come_back_in_put_order_per_shard_numbered_from_one() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(4, FsyncPolicy::Interval)).await?;
    let put = records("a", 0..1000);
    stream.put_batch(put[..400].to_vec(), "p", None).await?;
    stream.put_batch(put[400..].to_vec(), "p", None).await?;
    stream.close_writers();
    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
    let (got, positions) = drain(&mut reader).await?;
    assert_eq!(sorted(data(&got)), sorted(data(&put.iter().map(to_record).collect::<Vec<_>>())));
    // Per shard, the order of the puts; and the last sequence number is the shard's record count.
    let mut per_shard: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in &got {
        per_shard.entry(shard_id(shard_for_key(&record.partition_key, 4))).or_default().push(data_of(record));
    }
    for (id, shard_data) in &per_shard {
        let expected: Vec<String> = put
            .iter()
            .filter(|r| &shard_id(shard_for_key(&r.partition_key, 4)) == id)
            .map(|r| String::from_utf8_lossy(&r.data).into_owned())
            .collect();
        assert_eq!(shard_data, &expected);
        assert_eq!(positions.get(id), Some(&expected.len().to_string()));
    }
    stop(stream).await
}

#[tokio::test]
async fn runs_of_one_key_are_routed_by_it_and_read_back_sharing_it() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(3, FsyncPolicy::Interval)).await?;
    let shared: Arc<str> = "user-42".into();
    let put: Vec<PutRecord> = (0..60)
        .map(|i| {
            // A run of one shared `Arc`, runs of equal keys in `Arc`s of their own, then alternating keys.
            let partition_key = match i / 20 {
                0 => Arc::clone(&shared),
                1 => format!("key-{}", i / 5).into(),
                _ => format!("key-{}", i % 3).into(),
            };
            PutRecord { partition_key, data: format!("r{i}").into() }
        })
        .collect();
    stream.put_batch(put.clone(), "p", None).await?;
    stream.close_writers();
    let (got, positions) = drain(&mut stream.open_reader("c", StartPosition::TrimHorizon).await?).await?;
    let mut expected = Positions::new();
    for record in &put {
        let count = expected.entry(shard_id(shard_for_key(&record.partition_key, 3))).or_insert_with(|| "0".into());
        *count = (count.parse::<u64>()? + 1).to_string();
    }
    assert_eq!(positions, expected, "each shard holds the records of its keys");
    for record in &got {
        assert_eq!(record.shard, Some(shard_for_key(&record.partition_key, 3)), "a record carries its shard");
    }
    let keys: BTreeMap<String, Arc<str>> = got.iter().map(|r| (data_of(r), Arc::clone(&r.partition_key))).collect();
    for record in &put {
        assert_eq!(keys.get(&data_of(&to_record(record))), Some(&record.partition_key));
    }
    let run: Vec<&Record> = got.iter().filter(|r| &*r.partition_key == "user-42").collect();
    assert_eq!(run.len(), 20);
    assert!(run.iter().all(|r| Arc::ptr_eq(&r.partition_key, &run[0].partition_key)), "one key, one `Arc`");
    stop(stream).await
}

fn to_record(put: &PutRecord) -> Record {
    Record { partition_key: put.partition_key.clone(), data: put.data.clone(), arrival_ms: 0, shard: None }
}

fn data_of(record: &Record) -> String {
    String::from_utf8_lossy(&record.data).into_owned()
}

#[tokio::test]
async fn a_restart_keeps_records_producer_positions_and_checkpoints() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(2, FsyncPolicy::Interval)).await?;
    stream.put_batch(records("a", 0..100), "producer", Some(b"offset-100".to_vec())).await?;
    let mut reader = stream.open_reader("consumer", StartPosition::TrimHorizon).await?;
    let (first, positions) = read(&mut reader, 40).await?;
    stream.commit_checkpoint("consumer", &positions).await?;
    stream.put_batch(records("a", 100..150), "producer", Some(b"offset-150".to_vec())).await?;
    drop(reader);
    stop(stream).await?;

    let stream = fixture.open(options(2, FsyncPolicy::Interval)).await?;
    assert_eq!(stream.producer_position("producer"), Some(b"offset-150".to_vec()));
    assert_eq!(stream.producer_position("other"), None);
    stream.put_batch(records("b", 0..1), "producer", None).await?;
    stream.close_writers();
    let (rest, _) = drain(&mut stream.open_reader("consumer", StartPosition::TrimHorizon).await?).await?;
    let (everything, positions) = drain(&mut stream.open_reader("new", StartPosition::TrimHorizon).await?).await?;
    assert_eq!(first.len() + rest.len(), 151);
    assert_eq!(sorted([data(&first), data(&rest)].concat()), sorted(data(&everything)));
    // Numbering continued across the restart.
    let total: u64 = positions.values().map(|seq| seq.parse::<u64>()).sum::<Result<_, _>>()?;
    assert_eq!(total, 151);
    stop(stream).await
}

#[tokio::test]
async fn a_torn_tail_is_cut_and_numbering_continues() -> TestResult {
    for damage in ["garbage", "cut mid-frame", "cut mid-frame, ledger lost"] {
        let fixture = Fixture::new()?;
        let stream = fixture.open(options(1, FsyncPolicy::Always)).await?;
        stream.put_batch(records("a", 0..10), "p", None).await?;
        stop(stream).await?;
        let segment = fixture.last_segment(0)?;
        let len = fs::metadata(&segment)?.len();
        match damage {
            "garbage" => OpenOptions::new().append(true).open(&segment)?.write_all(&[0xAB; 37])?,
            _ => OpenOptions::new().write(true).open(&segment)?.set_len(len - 5)?,
        }
        if damage.ends_with("ledger lost") {
            fs::remove_file(fixture.dir.path().join("ledger.redb"))?;
        }

        let stream = fixture.open(options(1, FsyncPolicy::Always)).await?;
        stream.put_batch(records("b", 0..1), "p", None).await?;
        stream.close_writers();
        let (got, positions) = drain(&mut stream.open_reader("c", StartPosition::TrimHorizon).await?).await?;
        let kept = if damage == "garbage" { 10 } else { 9 };
        let mut expected = data(&records("a", 0..kept).iter().map(to_record).collect::<Vec<_>>());
        expected.push("b-0".into());
        assert_eq!(data(&got), expected, "{damage}");
        // The ledger's mark says 10 records were handed out: the next one is 11 even if record 10 was lost.
        let next = if damage.ends_with("ledger lost") { "10" } else { "11" };
        assert_eq!(positions.get(&shard_id(0)).map(String::as_str), Some(next), "{damage}");
        stop(stream).await?;
    }
    Ok(())
}

#[tokio::test]
async fn readers_start_where_asked() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(2, FsyncPolicy::Never)).await?;
    stream.put_batch(records("a", 0..20), "p", None).await?;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let between = chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(Duration::from_millis(30)).await;
    stream.put_batch(records("b", 0..20), "p", None).await?;
    stream.log.sync(Vec::new())?; // LATEST is after what readers can see: synced records.
    let mut latest = stream.open_reader("latest", StartPosition::Latest).await?;
    stream.put_batch(records("c", 0..5), "p", None).await?;
    stream.close_writers();

    let read_from = |start: StartPosition| {
        let stream = Arc::clone(&stream);
        async move { drain(&mut stream.open_reader("c", start).await?).await }
    };
    let (all, _) = read_from(StartPosition::TrimHorizon).await?;
    assert_eq!(all.len(), 45);
    let (since, _) = read_from(StartPosition::AtTimestamp(between)).await?;
    assert_eq!(
        sorted(data(&since)),
        sorted(data(&all[..].iter().filter(|r| !data_of(r).starts_with("a-")).cloned().collect::<Vec<_>>()))
    );
    let (after_latest, _) = drain(&mut latest).await?;
    assert_eq!(sorted(data(&after_latest)), sorted((0..5).map(|i| format!("c-{i}")).collect()));

    // Per shard: shard 0 from sequence number 3 (or after it); shard 1, missing, from the trim horizon.
    let shard0 = |records: &[Record]| records.iter().filter(|r| shard_for_key(&r.partition_key, 2) == 0).count();
    let at: Positions = [(shard_id(0), "3".to_owned())].into();
    let (from_at, _) = read_from(StartPosition::AtSequenceNumber(at.clone())).await?;
    assert_eq!(shard0(&from_at), shard0(&all) - 2);
    assert_eq!(from_at.len(), all.len() - 2);
    let (from_after, _) = read_from(StartPosition::AfterSequenceNumber(at)).await?;
    assert_eq!(from_after.len(), all.len() - 3);
    let shard0_all: Vec<_> = all.iter().filter(|r| shard_for_key(&r.partition_key, 2) == 0).collect();
    let shard0_after: Vec<_> = from_after.iter().filter(|r| shard_for_key(&r.partition_key, 2) == 0).collect();
    assert_eq!(shard0_after, shard0_all[3..]);

    let bad: Positions = [(shard_id(1), "x".to_owned())].into();
    assert!(matches!(
        stream.open_reader("c", StartPosition::AtSequenceNumber(bad)).await,
        Err(StreamError::Rejected { .. })
    ));
    stop(stream).await
}

#[tokio::test]
async fn retention_deletes_expired_segments_and_readers_move_on() -> TestResult {
    let fixture = Fixture::new()?;
    let small = Limits { segment_bytes: 200, ..Limits::default() };
    let stream = fixture.open_with(options(1, FsyncPolicy::Interval), small).await?;
    for batch in 0..6 {
        stream.put_batch(records("a", batch * 5..batch * 5 + 5), "p", None).await?;
    }
    let segments = list_segments(&fixture.shard(0))?;
    assert!(segments.len() >= 4, "{segments:?}");
    let expire = |first: u64| -> TestResult {
        let file = OpenOptions::new().write(true).open(segment_path(&fixture.shard(0), first))?;
        Ok(file.set_modified(SystemTime::now() - DAY - Duration::from_secs(60))?)
    };

    // A reader inside the first segment when it and the second are deleted finishes the first (its file is
    // open) and carries on with the third.
    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
    let (first, _) = read(&mut reader, 1).await?;
    stream.commit_checkpoint("other", &Positions::new()).await?; // Moves the ledger's mark to the last segment.
    expire(segments[0])?;
    expire(segments[1])?;
    stream.log.enforce_retention(SystemTime::now());
    assert_eq!(list_segments(&fixture.shard(0))?, segments[2..]);
    stream.close_writers();
    let (rest, _) = drain(&mut reader).await?;
    assert_eq!((first.len() + rest.len()) as u64, 30 - (segments[2] - segments[1]));
    drop(reader);
    stop(stream).await?;

    // At open, too: a new reader starts at the oldest segment kept.
    expire(segments[2])?;
    let stream = fixture.open_with(options(1, FsyncPolicy::Interval), small).await?;
    assert_eq!(list_segments(&fixture.shard(0))?, segments[3..]);
    stream.close_writers();
    let (kept, positions) = drain(&mut stream.open_reader("c", StartPosition::TrimHorizon).await?).await?;
    assert_eq!(kept.len() as u64, 30 - (segments[3] - 1));
    assert_eq!(positions.get(&shard_id(0)).map(String::as_str), Some("30"));
    stop(stream).await
}

#[tokio::test]
async fn a_batch_breaking_a_limit_is_rejected_whole() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(1, FsyncPolicy::Always)).await?;
    let good = PutRecord { partition_key: "k".into(), data: Bytes::from_static(b"fine") };
    let bad = [
        PutRecord { partition_key: "k".into(), data: vec![0; MAX_RECORD_BYTES + 1].into() },
        PutRecord { partition_key: "".into(), data: Bytes::from_static(b"x") },
        PutRecord { partition_key: "k".repeat(257).into(), data: Bytes::from_static(b"x") },
    ];
    for record in bad {
        let result = stream.put_batch(vec![good.clone(), record], "p", Some(b"pos".to_vec())).await;
        assert!(matches!(result, Err(StreamError::Rejected { .. })), "{result:?}");
    }
    assert_eq!(fs::metadata(fixture.last_segment(0)?)?.len(), 0);
    assert_eq!(stream.producer_position("p"), None);
    // The limits themselves are allowed: 256 characters (of 2 bytes each), 1 MiB of data.
    let edge = PutRecord { partition_key: "é".repeat(256).into(), data: vec![1; MAX_RECORD_BYTES].into() };
    stream.put_batch(vec![edge.clone()], "p", None).await?;
    stream.close_writers();
    let (got, _) = drain(&mut stream.open_reader("c", StartPosition::TrimHorizon).await?).await?;
    assert_eq!(got.len(), 1);
    assert_eq!((&got[0].partition_key, &got[0].data), (&edge.partition_key, &edge.data));
    stop(stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_interleave_safely() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(3, FsyncPolicy::Always)).await?;
    let mut writers = Vec::new();
    for producer in ["p1", "p2"] {
        let stream = Arc::clone(&stream);
        writers.push(tokio::spawn(async move {
            for batch in 0..40 {
                let put = records(producer, batch * 50..batch * 50 + 50);
                stream.put_batch(put, producer, Some(format!("{}", batch * 50 + 50).into_bytes())).await?;
            }
            Ok::<_, StreamError>(())
        }));
    }
    for writer in writers {
        writer.await??;
    }
    stream.close_writers();
    let (got, _) = drain(&mut stream.open_reader("c", StartPosition::TrimHorizon).await?).await?;
    assert_eq!(got.len(), 4000);
    for producer in ["p1", "p2"] {
        for shard in 0..3 {
            let mine: Vec<usize> = got
                .iter()
                .filter(|r| shard_for_key(&r.partition_key, 3) == shard)
                .filter_map(|r| data_of(r).strip_prefix(&format!("{producer}-")).map(str::to_owned))
                .map(|n| n.parse::<usize>())
                .collect::<Result<_, _>>()?;
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{producer} in shard {shard} out of order");
        }
        assert_eq!(stream.producer_position(producer), Some(b"2000".to_vec()));
    }
    stop(stream).await
}

#[tokio::test]
async fn waiting_readers_wake_on_puts_and_end_on_close() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(2, FsyncPolicy::Interval)).await?;
    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
    let waiting = tokio::spawn(async move {
        let first = reader.next_batch(100).await?.map(|b| b.records.len());
        let second = reader.next_batch(100).await?.map(|b| b.records.len());
        Ok::<_, StreamError>((first, second))
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.put_batch(records("a", 0..1), "p", None).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.close_writers();
    let (first, second) = tokio::time::timeout(Duration::from_secs(5), waiting).await???;
    assert_eq!((first, second), (Some(1), None));
    stop(stream).await
}

#[tokio::test]
async fn a_corrupted_byte_in_committed_data_is_an_error() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(1, FsyncPolicy::Always)).await?;
    stream.put_batch(records("a", 0..10), "p", None).await?;
    let segment = fixture.last_segment(0)?;
    let mut bytes = fs::read(&segment)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    fs::write(&segment, &bytes)?;

    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
    let mut read = 0;
    let error = loop {
        match reader.next_batch(3).await {
            Ok(Some(batch)) => read += batch.records.len(),
            Ok(None) => return Err("the damage went unnoticed".into()),
            Err(e) => break e.to_string(),
        }
    };
    assert!(read < 10);
    assert!(error.contains("corrupt record in") && error.contains(&segment.display().to_string()), "{error}");
    assert!(error.contains("at byte"), "{error}");
    stop(stream).await
}

#[tokio::test]
async fn producer_positions_are_stored_per_fsync_policy() -> TestResult {
    for policy in [FsyncPolicy::Always, FsyncPolicy::Interval, FsyncPolicy::Never] {
        let fixture = Fixture::new()?;
        let stream = fixture.open(options(1, policy)).await?;
        stream.put_batch(records("a", 0..3), "p", Some(b"3".to_vec())).await?;
        if policy != FsyncPolicy::Always {
            // Stored by the background task within a few intervals.
            for _ in 0..100 {
                if stream.producer_position("p").is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        assert_eq!(stream.producer_position("p"), Some(b"3".to_vec()), "{policy:?}");
        stop(stream).await?;
    }
    Ok(())
}

#[tokio::test]
async fn resharding_is_refused() -> TestResult {
    let fixture = Fixture::new()?;
    stop(fixture.open(options(2, FsyncPolicy::Interval)).await?).await?;
    let error = fixture.open(options(3, FsyncPolicy::Interval)).await.err().ok_or("resharded")?.to_string();
    assert!(error.contains("resharding an embedded stream is not supported"), "{error}");
    assert!(error.contains(&fixture.dir.path().join("streams").join("events").display().to_string()), "{error}");
    Ok(())
}

/// Not a timed test: run by hand for the throughput figure,
/// `cargo test --release -p sluice-core embedded::tests::throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a release-mode measurement, run by hand"]
async fn throughput() -> TestResult {
    let fixture = Fixture::new()?;
    let stream = fixture.open(options(4, FsyncPolicy::Interval)).await?;
    let (total, batch) = (2_000_000, 500);
    let started = std::time::Instant::now();
    let mut reader = stream.open_reader("c", StartPosition::TrimHorizon).await?;
    let consumer = tokio::spawn(async move {
        let mut read = 0;
        while let Some(batch) = reader.next_batch(4096).await? {
            read += batch.records.len();
        }
        Ok::<_, StreamError>(read)
    });
    for start in (0..total).step_by(batch) {
        let put = (start..start + batch)
            .map(|i| PutRecord {
                partition_key: format!("device-{:05}", i % 10_000).into(),
                data: format!("{{\"id\":{i:08},\"device\":\"d-{:05}\",\"temperature\":21.5,\"ok\":true}}", i % 10_000)
                    .into(),
            })
            .collect();
        stream.put_batch(put, "p", Some(start.to_string().into_bytes())).await?;
    }
    let put_done = started.elapsed();
    stream.close_writers();
    let read = consumer.await??;
    let elapsed = started.elapsed();
    assert_eq!(read, total);
    let bytes: u64 = (0..4).map(|i| dir_size(&fixture.shard(i))).sum::<std::io::Result<u64>>()?;
    println!(
        "{total} records ({} MB on disk): puts done after {put_done:?}, all read after {elapsed:?} ({:.0} records/s)",
        bytes / 1_000_000,
        total as f64 / elapsed.as_secs_f64()
    );
    stop(stream).await
}

fn dir_size(dir: &Path) -> std::io::Result<u64> {
    fs::read_dir(dir)?.map(|entry| Ok(entry?.metadata()?.len())).sum()
}
