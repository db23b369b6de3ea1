//! Hold-back: an application with GROUP BY windows lets its checkpoint pass only input its open windows no
//! longer hold, and stores with it which windows it emitted, so a restart rebuilds open windows from the
//! stream instead of emitting them short, and emits no window twice.
//!
//! ```text
//!   record n of the input ──mark n──▶ Runner: a window opening remembers its first mark
//!   after each job: held = least mark of an open window ──▶ positions just before that record (per shard)
//!                   + `~window/<pump>/<stage>` = end of the stage's last emitted window
//!                 ──▶ the ack of every delivery to an output fed by windows
//!   restart: checkpoint = those positions ──▶ the reader starts at the oldest held record; the runner gets
//!            the `~window/` marks back (rows of emitted windows read again are dropped)
//! ```
//!
//! Positions are exact to the record where the stream numbers each shard's records one after another (the
//! embedded stream): the position before record `i` of a batch is the batch's last sequence number of that
//! shard less the shard's records from `i` on. Elsewhere (Kinesis) they fall back to the end of the shard's
//! previous batch, so a restart may read a few rows of an emitted window again (at-least-once for those).
//! The arithmetic runs once per window opened, never per record.

use std::collections::BTreeMap;

use sluice_core::embedded::shard_id;
use sluice_core::runtime::record::{Positions, Record};

/// The prefix of the checkpoint entries that store the end of each GROUP BY stage's last emitted window.
pub const WINDOW_MARK: &str = "~window/";

/// The prefix of the positions that say how far a held-back output's input was read (`~read/<shard>`).
pub const READ_MARK: &str = "~read/";

/// The `~window/` marks of a checkpoint, as [`sluice_sql::engine::Runner::restore_windows`] takes them.
pub fn restored_marks(checkpoint: &Positions) -> Vec<(String, i64)> {
    checkpoint
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix(WINDOW_MARK)?.to_owned(), value.parse().ok()?)))
        .collect()
}

/// A worker's record of where the input of its open windows starts.
#[derive(Debug, Default)]
pub struct HoldBack {
    /// Where reading started: the most that may be claimed when nothing better is known.
    start: Positions,
    /// Every shard's position after the last batch run (stream shards only, no marks).
    read: Positions,
    /// Per open window's first mark: every shard's position just before that record.
    starts: BTreeMap<u64, Positions>,
}

impl HoldBack {
    /// Starting after `checkpoint` (its shard positions).
    pub fn new(checkpoint: &Positions) -> Self {
        let read: Positions =
            checkpoint.iter().filter(|(k, _)| !k.starts_with('~')).map(|(k, v)| (k.clone(), v.clone())).collect();
        HoldBack { start: read.clone(), read, starts: BTreeMap::new() }
    }

    /// A batch ran: `records` (marks from `first_mark`), after which the stream's shards are at `after`.
    /// `open` are the first marks of the windows open now; those that opened in this batch get their positions.
    pub fn ran_batch(
        &mut self,
        records: &[Record],
        first_mark: u64,
        after: &Positions,
        open: impl Iterator<Item = u64>,
    ) {
        let end = first_mark + records.len() as u64;
        let mut open: Vec<u64> = open.collect();
        open.sort_unstable();
        for mark in open.iter().copied().filter(|m| (first_mark..end).contains(m)) {
            if !self.starts.contains_key(&mark) {
                let at = usize::try_from(mark - first_mark).unwrap_or(records.len());
                let positions = self.positions_before(records, at, after);
                self.starts.insert(mark, positions);
            }
        }
        self.starts.retain(|mark, _| open.binary_search(mark).is_ok());
        for (shard, seq) in after.iter().filter(|(k, _)| !k.starts_with('~')) {
            self.read.insert(shard.clone(), seq.clone());
        }
    }

    /// A clock tick or the end of input ran: windows may have closed.
    pub fn ran_clock(&mut self, open: impl Iterator<Item = u64>) {
        let open: Vec<u64> = open.collect();
        self.starts.retain(|mark, _| open.contains(mark));
    }

    /// The positions an output fed by windows may acknowledge: just before the record `held` (the oldest an
    /// open window holds), or everything read when none is open; with the windows' `marks`.
    pub fn acknowledgeable(&self, held: Option<u64>, marks: &[(String, i64)]) -> Positions {
        let mut positions = match held.and_then(|mark| self.starts.get(&mark)) {
            Some(before) => before.clone(),
            // A window holding a mark whose positions are unknown cannot happen (every open window's first mark
            // is recorded when its batch runs); were it to, nothing past what was read before is claimed.
            None if held.is_some() => self.start.clone(),
            None => self.read.clone(),
        };
        add_marks(&mut positions, marks);
        positions
    }

    /// Every shard's position just before record `at` of `records`, the batch that ends at `after`.
    fn positions_before(&self, records: &[Record], at: usize, after: &Positions) -> Positions {
        let mut positions = self.read.clone();
        // Per shard: records before `at`, and in the whole batch.
        let mut counts: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        for (index, record) in records.iter().enumerate() {
            if let Some(shard) = record.shard {
                let entry = counts.entry(shard).or_default();
                entry.1 += 1;
                if index < at {
                    entry.0 += 1;
                }
            }
        }
        for (shard, (before, total)) in counts {
            let id = shard_id(shard);
            let (Some(last), previous) = (after.get(&id), self.read.get(&id)) else { continue };
            let Ok(last) = last.parse::<u64>() else { continue };
            // Numbered one after another: the batch holds exactly the shard's records after the previous one.
            let dense = match previous.map(|p| p.parse::<u64>()) {
                Some(Ok(previous)) => last.checked_sub(previous) == Some(total),
                Some(Err(_)) => false,
                // Nothing read before: dense if the shard's numbers start at 1, as the embedded stream's do.
                None => last == total,
            };
            if dense && before > 0 {
                positions.insert(id, (last - (total - before)).to_string());
            }
        }
        positions
    }
}

/// Adds the `~window/` marks to `positions` (marks before the epoch are left out: positions are unsigned).
pub fn add_marks(positions: &mut Positions, marks: &[(String, i64)]) {
    for (stage, end) in marks {
        if *end >= 0 {
            positions.insert(format!("{WINDOW_MARK}{stage}"), end.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;

    fn records(shards: &[u32]) -> Vec<Record> {
        let key: Arc<str> = Arc::from("k");
        shards
            .iter()
            .map(|&shard| Record {
                partition_key: Arc::clone(&key),
                data: Bytes::new(),
                arrival_ms: 0,
                shard: Some(shard),
            })
            .collect()
    }

    fn at(pairs: &[(u32, &str)]) -> Positions {
        pairs.iter().map(|(shard, seq)| (shard_id(*shard), (*seq).to_owned())).collect()
    }

    #[test]
    fn positions_are_exact_to_the_record_on_densely_numbered_shards() {
        let mut hold = HoldBack::new(&at(&[(0, "9"), (1, "19")]));
        // Shard 0: seqs 10..=12, shard 1: 20..=21, interleaved 0 1 0 1 0; a window opens at record 3 (mark 103).
        let batch = records(&[0, 1, 0, 1, 0]);
        hold.ran_batch(&batch, 100, &at(&[(0, "12"), (1, "21")]), [103].into_iter());
        let marks = [("P/1".to_owned(), 5_000)];
        let mut expected = at(&[(0, "11"), (1, "20")]);
        expected.insert("~window/P/1".into(), "5000".into());
        assert_eq!(hold.acknowledgeable(Some(103), &marks), expected, "records 0..3: seqs 10, 11 and 20");
        // A window opening at the batch's first record holds all of it: the positions before the batch.
        let mut hold = HoldBack::new(&at(&[(0, "9"), (1, "19")]));
        hold.ran_batch(&batch, 100, &at(&[(0, "12"), (1, "21")]), [100].into_iter());
        assert_eq!(hold.acknowledgeable(Some(100), &[]), at(&[(0, "9"), (1, "19")]));
        // Nothing open: everything read.
        hold.ran_clock(std::iter::empty());
        assert_eq!(hold.acknowledgeable(None, &[]), at(&[(0, "12"), (1, "21")]));
    }

    #[test]
    fn sparse_sequence_numbers_fall_back_to_the_previous_batch() {
        let mut hold = HoldBack::new(&at(&[(0, "1000")]));
        hold.ran_batch(&records(&[0, 0, 0]), 0, &at(&[(0, "5000")]), [2].into_iter());
        assert_eq!(hold.acknowledgeable(Some(2), &[]), at(&[(0, "1000")]), "Kinesis-like numbers: not exact");
        // A first batch of a fresh stream numbered from 1 is dense; one starting elsewhere is not known to be.
        let mut fresh = HoldBack::new(&Positions::new());
        fresh.ran_batch(&records(&[0, 0, 0]), 0, &at(&[(0, "3")]), [2].into_iter());
        assert_eq!(fresh.acknowledgeable(Some(2), &[]), at(&[(0, "2")]));
        let mut trimmed = HoldBack::new(&Positions::new());
        trimmed.ran_batch(&records(&[0, 0, 0]), 0, &at(&[(0, "52")]), [2].into_iter());
        assert_eq!(trimmed.acknowledgeable(Some(2), &[]), Positions::new(), "nothing claimed");
    }

    #[test]
    fn marks_round_trip_through_a_checkpoint() {
        let mut checkpoint = at(&[(0, "7")]);
        add_marks(&mut checkpoint, &[("P/1".into(), 3_000), ("Q/0".into(), -5)]);
        assert_eq!(restored_marks(&checkpoint), [("P/1".to_owned(), 3_000)]);
    }
}
