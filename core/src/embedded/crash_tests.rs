//! Property tests of crash recovery: whatever a crash leaves at the end of a segment file (a cut anywhere, a
//! torn frame, zeros or garbage after it) and whatever the ledger says (a mark of what was synced, or no ledger
//! at all), the reopened stream holds exactly the longest prefix of whole records, and numbering continues after
//! both them and the mark.
//!
//! Each case writes `synced` records and syncs (the mark), writes the rest, then "crashes": the segment file is
//! cut at a random byte and a random tail appended, and the ledger is put back to the mark (`Mark`), kept as it
//! was at the end (`All`), or deleted (`Lost`). The expected prefix is computed from the frame boundaries.

use std::error::Error;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::frame::{self, Status};
use super::log::Limits;
use super::segment::{list_segments, segment_path, shard_dir};
use super::{EmbeddedOptions, EmbeddedStream, FsyncPolicy};
use crate::runtime::ledger::Ledger;
use crate::runtime::record::PutRecord;
use crate::runtime::stream::{StartPosition, Stream};

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// What the ledger says after the crash.
#[derive(Debug, Clone, Copy)]
enum LedgerAfter {
    /// The mark of the first sync (the second one never committed).
    Mark,
    /// Everything synced (the damage came after: a disk losing written data, or `fsync: never`).
    All,
    /// No ledger at all: recovery scans for the first bad frame.
    Lost,
}

/// What follows the cut.
#[derive(Debug, Clone)]
enum Tail {
    Nothing,
    Zeros(usize),
    Garbage(Vec<u8>),
    /// A strict prefix of a valid frame: a torn write.
    TornFrame(usize),
}

fn tail() -> impl Strategy<Value = Tail> {
    prop_oneof![
        Just(Tail::Nothing),
        (1usize..64).prop_map(Tail::Zeros),
        proptest::collection::vec(any::<u8>(), 1..64).prop_map(Tail::Garbage),
        (1usize..200).prop_map(Tail::TornFrame),
    ]
}

fn ledger_after() -> impl Strategy<Value = LedgerAfter> {
    prop_oneof![Just(LedgerAfter::Mark), Just(LedgerAfter::All), Just(LedgerAfter::Lost)]
}

fn options() -> EmbeddedOptions {
    EmbeddedOptions {
        shards: 1,
        retention: Duration::from_secs(24 * 3600),
        fsync: FsyncPolicy::Always,
        fsync_interval: Duration::from_millis(20),
    }
}

async fn open(dir: &Path) -> TestResult<Arc<EmbeddedStream>> {
    let ledger = Arc::new(Ledger::open(&dir.join("ledger.redb"))?);
    Ok(EmbeddedStream::open_with("events", dir, options(), Limits::default(), ledger).await?)
}

async fn put_and_stop(dir: &Path, records: &[Vec<u8>]) -> TestResult {
    let stream = open(dir).await?;
    let batch = records.iter().map(|data| PutRecord { partition_key: "k".into(), data: data.clone().into() }).collect();
    stream.put_batch(batch, "p", None).await?;
    stream.shutdown().await?;
    Ok(())
}

/// The end offset of every whole frame in `bytes`.
fn frame_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while let Status::Complete(len) = frame::check(&bytes[at..]) {
        at += len;
        ends.push(at);
    }
    ends
}

/// One crash and recovery; returns an error describing any difference from the expected prefix.
async fn crash_and_recover(
    records: Vec<Vec<u8>>,
    synced: usize,
    cut: f64,
    tail: Tail,
    after: LedgerAfter,
) -> TestResult {
    let dir = tempfile::tempdir()?;
    let synced = synced.min(records.len());
    put_and_stop(dir.path(), &records[..synced]).await?;
    let ledger = dir.path().join("ledger.redb");
    let marked = dir.path().join("ledger.marked");
    fs::copy(&ledger, &marked)?;
    put_and_stop(dir.path(), &records[synced..]).await?;

    let shard = shard_dir(&dir.path().join("streams").join("events"), 0);
    let segments = list_segments(&shard)?;
    let segment = segment_path(&shard, *segments.last().ok_or("no segment")?);
    let bytes = fs::read(&segment)?;
    let ends = frame_ends(&bytes);
    if ends.len() != records.len() || ends.last().copied().unwrap_or(0) != bytes.len() {
        return Err(format!("{} frames for {} records", ends.len(), records.len()).into());
    }
    // The crash.
    let cut_at = ((bytes.len() as f64) * cut) as usize;
    let mut damaged = bytes[..cut_at].to_vec();
    match &tail {
        Tail::Nothing => {}
        Tail::Zeros(n) => damaged.extend(std::iter::repeat_n(0, *n)),
        Tail::Garbage(garbage) => damaged.extend_from_slice(garbage),
        Tail::TornFrame(n) => {
            let mut frame = Vec::new();
            frame::encode(&mut frame, 999_999, 1, "torn", &[7; 150]);
            damaged.extend_from_slice(&frame[..(*n).min(frame.len() - 1)]);
        }
    }
    OpenOptions::new().write(true).truncate(true).open(&segment)?.write_all(&damaged)?;
    let marked_len = match after {
        LedgerAfter::Mark => {
            fs::copy(&marked, &ledger)?;
            if synced == 0 { 0 } else { ends[synced - 1] }
        }
        LedgerAfter::All => bytes.len(),
        LedgerAfter::Lost => {
            fs::remove_file(&ledger)?;
            usize::MAX
        }
    };
    // The frames still whole after the damage (a tail can happen to rewrite the bytes the cut removed).
    let kept = ends.iter().take_while(|&&end| end <= marked_len && damaged.get(..end) == Some(&bytes[..end])).count();
    let next_after_mark = match after {
        LedgerAfter::Mark => synced + 1,
        LedgerAfter::All => records.len() + 1,
        LedgerAfter::Lost => 1,
    };

    // The restart: what is there, and one more record after it.
    let stream = open(dir.path()).await?;
    stream.put_batch(vec![PutRecord { partition_key: "k".into(), data: "after".into() }], "p", None).await?;
    stream.close_writers();
    let mut reader = stream.open_reader("check", StartPosition::TrimHorizon).await?;
    let (mut read, mut last_seq) = (Vec::new(), None);
    while let Some(batch) = tokio::time::timeout(Duration::from_secs(10), reader.next_batch(1000)).await?? {
        read.extend(batch.records.iter().map(|r| r.data.to_vec()));
        last_seq = batch.positions.get(&super::shard_id(0)).cloned().or(last_seq);
    }
    stream.shutdown().await?;
    let mut expected: Vec<Vec<u8>> = records[..kept].to_vec();
    expected.push(b"after".to_vec());
    if read != expected {
        return Err(format!("read {} records, expected the first {kept} and `after`", read.len()).into());
    }
    let expected_seq = (kept + 1).max(next_after_mark);
    if last_seq != Some(expected_seq.to_string()) {
        return Err(format!("`after` got sequence number {last_seq:?}, expected {expected_seq}").into());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn recovery_keeps_exactly_the_whole_records_before_the_damage(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..40),
        synced_fraction in 0.0f64..=1.0,
        cut in 0.0f64..=1.0,
        tail in tail(),
        after in ledger_after(),
    ) {
        let synced = ((records.len() as f64) * synced_fraction) as usize;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let result = runtime.block_on(crash_and_recover(records, synced, cut, tail, after));
        prop_assert!(result.is_ok(), "{}", result.err().map(|e| e.to_string()).unwrap_or_default());
    }
}
