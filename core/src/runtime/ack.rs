//! Acknowledgements: a stream position is checkpointed only once every sink fed from it made it durable.
//!
//! A consumer (an application, or a destination reading a stream directly) registers each batch it reads
//! with its [`AckTracker`] and hands one [`Ack`] per sink downstream with the batch's records. A sink
//! acknowledges once the records are durable (an object published); acknowledging batch `n` means every
//! batch up to `n` is durable too, because sinks deliver in order. The tracker commits the position of the
//! newest batch that *every* sink acknowledged: the slowest sink decides, as in KDA.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::record::{Positions, Record};

/// What crosses into a destination: records, and the acknowledgement to send once they are durable.
#[derive(Debug)]
pub struct Delivery {
    /// The records, in order.
    pub records: Vec<Record>,
    /// Acknowledge after every record of this delivery (and of all before it) is durable.
    pub ack: Ack,
}

/// Tracks the batches of one consumer until all of its sinks acknowledged them.
#[derive(Debug)]
pub struct AckTracker {
    state: Mutex<TrackerState>,
    committable: watch::Sender<Option<Positions>>,
}

#[derive(Debug)]
struct TrackerState {
    /// Batches registered and not yet acknowledged by every sink: (batch number, positions after it).
    pending: VecDeque<(u64, Positions)>,
    /// Per pending batch (same order): its records and when it was registered, for the checkpoint lag.
    waiting: VecDeque<(u64, Instant)>,
    next_batch: u64,
    /// Per sink, the newest batch it acknowledged (+1; 0 = none).
    acked: Vec<u64>,
}

impl AckTracker {
    /// A tracker for a consumer with `sinks` sinks, and the receiver of the positions safe to checkpoint.
    pub fn new(sinks: usize) -> (Arc<Self>, watch::Receiver<Option<Positions>>) {
        let (committable, receiver) = watch::channel(None);
        let state =
            TrackerState { pending: VecDeque::new(), waiting: VecDeque::new(), next_batch: 0, acked: vec![0; sinks] };
        (Arc::new(AckTracker { state: Mutex::new(state), committable }), receiver)
    }

    /// Registers a batch read up to `positions`; returns the handle that makes its acks.
    pub fn register(self: &Arc<Self>, positions: Positions) -> BatchAcks {
        self.register_records(positions, 0)
    }

    /// [`AckTracker::register`] for a batch of `records` records, counted by [`AckTracker::lag`].
    pub fn register_records(self: &Arc<Self>, positions: Positions, records: u64) -> BatchAcks {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = state.next_batch;
        state.next_batch += 1;
        state.pending.push_back((batch, positions));
        state.waiting.push_back((records, Instant::now()));
        BatchAcks { tracker: Arc::clone(self), batch }
    }

    fn acknowledge(&self, sink: usize, batch: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(acked) = state.acked.get_mut(sink) else { return };
        *acked = (*acked).max(batch + 1);
        let all_acked = state.acked.iter().copied().min().unwrap_or(0);
        let mut newest = None;
        while state.pending.front().is_some_and(|(b, _)| *b < all_acked) {
            newest = state.pending.pop_front().map(|(_, positions)| positions);
            state.waiting.pop_front();
        }
        if let Some(positions) = newest {
            self.committable.send_modify(|slot| merge_into(slot, positions));
        }
    }
}

impl AckTracker {
    /// The records read and not yet acknowledged by every sink, and how long the oldest of them has waited:
    /// how far the consumer's checkpoint is behind what it read.
    pub fn lag(&self) -> (u64, Duration) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let records = state.waiting.iter().map(|(records, _)| records).sum();
        (records, state.waiting.front().map_or(Duration::ZERO, |(_, since)| since.elapsed()))
    }
}

/// Later positions win per shard; shards the newer batch did not touch keep their older position.
fn merge_into(slot: &mut Option<Positions>, newer: Positions) {
    match slot {
        Some(current) => current.extend(newer),
        None => *slot = Some(newer),
    }
}

/// The acknowledgements of one registered batch: one [`Ack`] per sink.
#[derive(Debug, Clone)]
pub struct BatchAcks {
    tracker: Arc<AckTracker>,
    batch: u64,
}

impl BatchAcks {
    /// The acknowledgement sink number `sink` sends.
    pub fn for_sink(&self, sink: usize) -> Ack {
        Ack { tracker: Some(Arc::clone(&self.tracker)), sink, batch: self.batch }
    }
}

/// One sink's acknowledgement of one batch.
#[derive(Debug)]
pub struct Ack {
    tracker: Option<Arc<AckTracker>>,
    sink: usize,
    batch: u64,
}

impl Ack {
    /// An acknowledgement that tracks nothing (records with no stream position behind them).
    pub fn none() -> Self {
        Ack { tracker: None, sink: 0, batch: 0 }
    }

    /// The records this ack covers are durable.
    pub fn acknowledge(self) {
        if let Some(tracker) = &self.tracker {
            tracker.acknowledge(self.sink, self.batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(shard: &str, seq: u64) -> Positions {
        Positions::from([(shard.to_owned(), seq.to_string())])
    }

    #[test]
    fn the_slowest_sink_decides_what_is_committable() {
        let (tracker, committable) = AckTracker::new(2);
        let first = tracker.register(at("s0", 10));
        let second = tracker.register(at("s1", 20));
        second.for_sink(0).acknowledge();
        assert_eq!(*committable.borrow(), None, "sink 1 has acknowledged nothing");
        first.for_sink(1).acknowledge();
        assert_eq!(*committable.borrow(), Some(at("s0", 10)));
        second.for_sink(1).acknowledge();
        let mut both = at("s0", 10);
        both.extend(at("s1", 20));
        assert_eq!(*committable.borrow(), Some(both), "shards the newer batch skipped keep their position");
    }

    #[test]
    fn the_lag_counts_what_waits_for_acknowledgement() {
        let (tracker, _committable) = AckTracker::new(1);
        assert_eq!(tracker.lag(), (0, Duration::ZERO));
        let first = tracker.register_records(at("s0", 1), 3);
        let _second = tracker.register_records(at("s0", 2), 4);
        assert_eq!(tracker.lag().0, 7);
        first.for_sink(0).acknowledge();
        assert_eq!(tracker.lag().0, 4);
    }

    #[test]
    fn an_ack_of_a_later_batch_covers_earlier_ones() {
        let (tracker, committable) = AckTracker::new(1);
        let _first = tracker.register(at("s0", 1));
        let second = tracker.register(at("s0", 2));
        second.for_sink(0).acknowledge();
        assert_eq!(*committable.borrow(), Some(at("s0", 2)));
    }
}
