//! Acknowledgements: a stream position is checkpointed only once every sink fed from it made it durable.
//!
//! A consumer (an application, or a destination reading a stream directly) registers each batch it reads
//! with its [`AckTracker`] and hands one [`Ack`] per sink downstream with the batch's records. A sink
//! acknowledges once the records are durable (an object published); acknowledging batch `n` means every
//! batch up to `n` is durable too, because sinks deliver in order. The tracker commits the position of the
//! newest batch that *every* sink acknowledged: the slowest sink decides, as in KDA.
//!
//! An ack carries positions (every shard read so far, not only its batch's). A consumer that still needs some of
//! its input (an application's open windows) acknowledges less than its batch ([`BatchAcks::for_sink_at`]), and
//! may add entries of its own that are not shards (an application's `~window/...` marks): the tracker commits,
//! per entry, the least that every sink covers, so such entries are stored with the checkpoint atomically.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::component::Recovered;
use super::record::{Positions, Record};
use super::stream::{Stream, StreamError};

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
    /// The consumer whose batches these are (`application/<name>`); acks name it to their sinks.
    consumer: Arc<str>,
    state: Mutex<TrackerState>,
    committable: watch::Sender<Option<Positions>>,
}

#[derive(Debug)]
struct TrackerState {
    /// Per batch registered and not yet acknowledged by every sink (oldest first): its records and when it was
    /// registered, for the checkpoint lag.
    waiting: VecDeque<(u64, Instant)>,
    /// The number of the oldest batch in `waiting`.
    oldest_waiting: u64,
    next_batch: u64,
    /// Every shard's position after the newest batch registered: each batch's acks carry this cumulative view,
    /// so an ack names every shard read so far, not only those its batch touched.
    read: Positions,
    /// Per sink, the batches it acknowledged wholly (0 = none) and the positions its acks carried (cumulative).
    acked: Vec<(u64, Option<Positions>)>,
}

impl AckTracker {
    /// A tracker for a consumer with `sinks` sinks, and the receiver of the positions safe to checkpoint.
    pub fn new(sinks: usize) -> (Arc<Self>, watch::Receiver<Option<Positions>>) {
        Self::named("", sinks)
    }

    /// [`AckTracker::new`] for consumer `consumer`: its acks tell sinks where their records come from
    /// ([`Ack::origin`]), which effectively-once destinations name objects after.
    pub fn named(consumer: &str, sinks: usize) -> (Arc<Self>, watch::Receiver<Option<Positions>>) {
        let (committable, receiver) = watch::channel(None);
        let state = TrackerState {
            waiting: VecDeque::new(),
            oldest_waiting: 0,
            next_batch: 0,
            read: Positions::new(),
            acked: vec![(0, None); sinks],
        };
        (Arc::new(AckTracker { consumer: consumer.into(), state: Mutex::new(state), committable }), receiver)
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
        state.read.extend(positions);
        let shared = Arc::new(state.read.clone());
        state.waiting.push_back((records, Instant::now()));
        BatchAcks { tracker: Arc::clone(self), batch, positions: shared }
    }

    /// Sets where reading starts (the consumer's checkpoint), so acks name shards this run has not read yet.
    pub fn start_from(&self, checkpoint: &Positions) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for (shard, seq) in checkpoint {
            state.read.entry(shard.clone()).or_insert_with(|| seq.clone());
        }
    }

    /// Sink `sink` made durable every batch before number `done` and the input up to `positions`.
    fn acknowledge(&self, sink: usize, done: u64, positions: &Positions) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((acked, covered)) = state.acked.get_mut(sink) else { return };
        *acked = (*acked).max(done);
        let covered = covered.get_or_insert_default();
        for (shard, seq) in positions.iter() {
            match covered.get_mut(shard) {
                Some(known) if compare_sequence(seq, known).is_le() => {}
                Some(known) => known.clone_from(seq),
                None => {
                    covered.insert(shard.clone(), seq.clone());
                }
            }
        }
        let all_acked = state.acked.iter().map(|(done, _)| *done).min().unwrap_or(0);
        while state.oldest_waiting < all_acked && state.waiting.pop_front().is_some() {
            state.oldest_waiting += 1;
        }
        // What every sink covers: per shard, the least of their positions (a shard some sink has not covered yet
        // is left out, so the stream keeps its older checkpoint).
        let mut least: Option<Positions> = None;
        for (_, covered) in &state.acked {
            let Some(covered) = covered else { return };
            least = Some(match least {
                None => covered.clone(),
                Some(mut least) => {
                    least.retain(|shard, seq| {
                        covered.get(shard).is_some_and(|other| {
                            if compare_sequence(other, seq).is_lt() {
                                seq.clone_from(other);
                            }
                            true
                        })
                    });
                    least
                }
            });
        }
        if let Some(least) = least
            && !least.is_empty()
        {
            self.committable.send_if_modified(|slot| {
                let changed = slot.as_ref() != Some(&least);
                *slot = Some(least);
                changed
            });
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

/// The acknowledgements of one registered batch: one [`Ack`] per sink.
#[derive(Debug, Clone)]
pub struct BatchAcks {
    tracker: Arc<AckTracker>,
    batch: u64,
    positions: Arc<Positions>,
}

impl BatchAcks {
    /// The acknowledgement sink number `sink` sends: this batch and every one before it.
    pub fn for_sink(&self, sink: usize) -> Ack {
        Ack {
            tracker: Some(Arc::clone(&self.tracker)),
            sink,
            done: self.batch + 1,
            positions: Some(Arc::clone(&self.positions)),
        }
    }

    /// Every shard's position after this batch (and the consumer's checkpoint for shards not read since).
    pub fn positions(&self) -> &Arc<Positions> {
        &self.positions
    }

    /// An acknowledgement of the input up to `positions` only, which end inside or before this batch: what an
    /// application that still holds input in open windows may let through. `whole` says this batch is covered
    /// wholly. `positions` may name more than shards (an application's own marks, see
    /// [`AckOrigin::positions`]); every key must only grow from one ack of a sink to the next.
    pub fn for_sink_at(&self, sink: usize, whole: bool, positions: Arc<Positions>) -> Ack {
        let done = if whole { self.batch + 1 } else { self.batch };
        Ack { tracker: Some(Arc::clone(&self.tracker)), sink, done, positions: Some(positions) }
    }
}

/// Where the records of a delivery come from: the consumer, its sink number, and the input positions after the
/// batch they derive from.
#[derive(Debug, Clone, Copy)]
pub struct AckOrigin<'a> {
    /// The consumer (`application/<name>`, `destination/<name>`).
    pub consumer: &'a str,
    /// The sink number within the consumer.
    pub sink: usize,
    /// The input positions (per shard) after the batch: every record of the delivery derives from input up to
    /// there, and from nothing past it.
    pub positions: &'a Positions,
}

/// One sink's acknowledgement of the input up to a point.
#[derive(Debug)]
pub struct Ack {
    tracker: Option<Arc<AckTracker>>,
    sink: usize,
    /// The batches wholly covered.
    done: u64,
    positions: Option<Arc<Positions>>,
}

impl Ack {
    /// An acknowledgement that tracks nothing (records with no stream position behind them).
    pub fn none() -> Self {
        Ack { tracker: None, sink: 0, done: 0, positions: None }
    }

    /// Where the delivery's records come from; `None` for records with no stream position behind them (an
    /// application's clock ticks).
    pub fn origin(&self) -> Option<AckOrigin<'_>> {
        let (tracker, positions) = (self.tracker.as_ref()?, self.positions.as_ref()?);
        Some(AckOrigin { consumer: &tracker.consumer, sink: self.sink, positions })
    }

    /// The records this ack covers are durable.
    pub fn acknowledge(self) {
        if let (Some(tracker), Some(positions)) = (&self.tracker, &self.positions) {
            tracker.acknowledge(self.sink, self.done, positions);
        }
    }
}

/// Orders two sequence numbers of one shard: decimal strings of any length (Kinesis's exceed 128 bits).
pub fn compare_sequence(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether `positions` are at or before `limit` in every shard they name (and name at least one).
pub fn within(positions: &Positions, limit: &Positions) -> bool {
    !positions.is_empty()
        && positions.iter().all(|(shard, seq)| {
            limit.get(shard).is_some_and(|last| compare_sequence(seq, last) != std::cmp::Ordering::Greater)
        })
}

/// Moves `consumer`'s checkpoint past input its destinations already published before a crash: to the least,
/// per shard, of what each of its `sinks` sinks recovered (see
/// [`Destination::recover`](super::component::Destination::recover)). Nothing moves unless every sink
/// reported, the stream can tell the current checkpoint, and a shard's position only ever moves forward.
pub async fn skip_recovered(
    stream: &dyn Stream,
    consumer: &str,
    sinks: usize,
    recovered: &[Recovered],
) -> Result<(), StreamError> {
    let mut least: Option<Positions> = None;
    for sink in 0..sinks {
        let Some(found) = recovered.iter().find(|r| r.consumer == consumer && r.sink == sink) else { return Ok(()) };
        least = Some(match least {
            None => found.positions.clone(),
            Some(mut least) => {
                least.retain(|shard, _| found.positions.contains_key(shard));
                for (shard, seq) in &mut least {
                    if let Some(other) = found.positions.get(shard)
                        && compare_sequence(other, seq).is_lt()
                    {
                        seq.clone_from(other);
                    }
                }
                least
            }
        });
    }
    let Some(least) = least else { return Ok(()) };
    let current = match stream.checkpoint(consumer).await {
        Ok(current) => current,
        Err(e) => {
            tracing::warn!(consumer, "{e}: records published before a crash may be delivered again");
            return Ok(());
        }
    };
    let Some(mut checkpoint) = current else {
        // No checkpoint yet: everything published came from the start of the stream, which the reader would
        // read again; the checkpoint below is the first.
        if least.is_empty() {
            return Ok(());
        }
        tracing::info!(consumer, ?least, "moving the checkpoint past objects published before a crash");
        return stream.commit_checkpoint(consumer, &least).await;
    };
    let mut moved = false;
    for (shard, seq) in least {
        match checkpoint.get(&shard) {
            Some(current) if !compare_sequence(&seq, current).is_gt() => {}
            _ => {
                checkpoint.insert(shard, seq);
                moved = true;
            }
        }
    }
    if moved {
        tracing::info!(consumer, ?checkpoint, "moving the checkpoint past objects published before a crash");
        stream.commit_checkpoint(consumer, &checkpoint).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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

    /// A stream that only keeps checkpoints (`None`: it cannot read them back).
    struct Checkpoints(Mutex<Option<BTreeMap<String, Positions>>>);

    #[async_trait::async_trait]
    impl Stream for Checkpoints {
        fn name(&self) -> &str {
            "s"
        }
        async fn put_batch(
            &self,
            _: Vec<super::super::record::PutRecord>,
            _: &str,
            _: Option<Vec<u8>>,
        ) -> Result<(), StreamError> {
            Ok(())
        }
        fn producer_position(&self, _: &str) -> Option<Vec<u8>> {
            None
        }
        async fn open_reader(
            &self,
            _: &str,
            _: super::super::stream::StartPosition,
        ) -> Result<Box<dyn super::super::stream::StreamReader>, StreamError> {
            Err(StreamError::Io { stream: "s".into(), message: "no readers".into() })
        }
        async fn commit_checkpoint(&self, consumer: &str, positions: &Positions) -> Result<(), StreamError> {
            let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            all.get_or_insert_default().insert(consumer.to_owned(), positions.clone());
            Ok(())
        }
        async fn checkpoint(&self, consumer: &str) -> Result<Option<Positions>, StreamError> {
            match &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
                Some(all) => Ok(all.get(consumer).cloned()),
                None => Err(StreamError::Io { stream: "s".into(), message: "cannot tell".into() }),
            }
        }
        fn close_writers(&self) {}
        async fn shutdown(&self) -> Result<(), StreamError> {
            Ok(())
        }
    }

    fn positions(pairs: &[(&str, u64)]) -> Positions {
        pairs.iter().map(|(shard, seq)| ((*shard).to_owned(), seq.to_string())).collect()
    }

    fn recovered(sink: usize, pairs: &[(&str, u64)]) -> Recovered {
        Recovered { consumer: "application/a".into(), sink, positions: positions(pairs) }
    }

    #[tokio::test]
    async fn recovered_input_moves_checkpoints_forward_only_when_every_sink_has_it() -> Result<(), StreamError> {
        let stream = Checkpoints(Mutex::new(Some(BTreeMap::new())));
        let consumer = "application/a";
        stream.commit_checkpoint(consumer, &positions(&[("s0", 10), ("s1", 50), ("s2", 7)])).await?;
        // Sink 1 reported nothing: nothing moves.
        skip_recovered(&stream, consumer, 2, &[recovered(0, &[("s0", 90)])]).await?;
        assert_eq!(stream.checkpoint(consumer).await?, Some(positions(&[("s0", 10), ("s1", 50), ("s2", 7)])));
        // Both did: per shard the least of them, never behind the checkpoint, other shards kept.
        let both = [recovered(0, &[("s0", 90), ("s1", 40)]), recovered(1, &[("s0", 100), ("s1", 60)])];
        skip_recovered(&stream, consumer, 2, &both).await?;
        assert_eq!(stream.checkpoint(consumer).await?, Some(positions(&[("s0", 90), ("s1", 50), ("s2", 7)])));
        // No checkpoint yet: the recovered positions become the first.
        skip_recovered(
            &stream,
            "application/b",
            1,
            &[Recovered { consumer: "application/b".into(), ..recovered(0, &[("s0", 3)]) }],
        )
        .await?;
        assert_eq!(stream.checkpoint("application/b").await?, Some(positions(&[("s0", 3)])));
        // A stream that cannot read checkpoints back is left alone.
        let blind = Checkpoints(Mutex::new(None));
        skip_recovered(&blind, consumer, 1, &[recovered(0, &[("s0", 3)])]).await?;
        assert!(blind.0.lock().unwrap_or_else(PoisonError::into_inner).is_none());
        Ok(())
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(compare_sequence("9", "10").is_lt());
        assert!(compare_sequence("0010", "10").is_eq());
        let kinesis = "49590338271490256608559692538361571095921575989136588898";
        assert!(compare_sequence(kinesis, &format!("{kinesis}0")).is_lt());
        assert!(within(&positions(&[("s0", 5)]), &positions(&[("s0", 5), ("s1", 1)])));
        assert!(!within(&positions(&[("s0", 5), ("s2", 1)]), &positions(&[("s0", 5)])), "a shard it does not know");
        assert!(!within(&Positions::new(), &positions(&[("s0", 5)])), "no positions: not inside");
    }

    #[test]
    fn an_ack_at_explicit_positions_commits_only_what_every_sink_covers() {
        let (tracker, committable) = AckTracker::new(2);
        tracker.start_from(&at("s1", 4));
        let first = tracker.register_records(at("s0", 10), 10);
        let second = tracker.register_records(at("s0", 20), 10);
        assert_eq!(**second.positions(), positions(&[("s0", 20), ("s1", 4)]), "cumulative, from the checkpoint");
        // Sink 0 (fed by windows) holds input back: only up to s0 15, inside the second batch, and a mark.
        let held = Arc::new(positions(&[("s0", 15), ("s1", 4), ("~window/P/1", 3_000)]));
        second.for_sink_at(0, false, Arc::clone(&held)).acknowledge();
        let plain = Arc::new(positions(&[("s0", 20), ("s1", 4), ("~window/P/1", 3_000)]));
        second.for_sink_at(1, true, plain).acknowledge();
        assert_eq!(*committable.borrow(), Some(Positions::clone(&held)), "the least of both, per key");
        assert_eq!(tracker.lag().0, 10, "the second batch is not wholly acknowledged");
        // An older ack arriving late never moves a sink back.
        first.for_sink(0).acknowledge();
        assert_eq!(*committable.borrow(), Some(Positions::clone(&held)));
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
