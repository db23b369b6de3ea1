//! Reading a Kinesis stream: one task per shard being read, feeding one channel the reader's batches come from.
//!
//! ```text
//!   open: ListShards ──▶ Lineage ──start_ready──▶ shard task (GetShardIterator, then GetRecords in a loop)
//!                          ▲                              │ Records{shard, records, caught_up}  (bounded channel:
//!                          │ Ended{children}: finish the  │ Ended{shard, children}               a slow consumer
//!                          │ parent, add its children,    │ Failed(message)                      stops the polls)
//!                          └─ ListShards, start_ready ◀───┘
//!   next_batch: records of the pending events in arrival order, ≤ max_records, with each shard's last sequence number
//! ```
//!
//! A shard task calls GetRecords at most 5 times a second (Kinesis's per-shard read limit), and when a call finds
//! nothing new it waits a second before the next (as the KCL does). Throttling is retried with back-off and jitter
//! ([`KinesisClient::call`]). An iterator older than 5 minutes (a consumer that was slow for that long) is renewed
//! `AFTER_SEQUENCE_NUMBER` of the last record read, or at the task's start when it read nothing yet. A shard that
//! ends (no `NextShardIterator`: it was split or merged) reports its children; the reader lists the shards again
//! (some servers return no `ChildShards`), and starts each child once all its parents ended ([`Lineage`]). A child
//! starts at `TRIM_HORIZON`: everything in it came after its parents. Shards are also listed again every
//! [`DISCOVERY_INTERVAL`], for shards added otherwise.
//!
//! A Kinesis stream is written from outside sluice, so a reader ends only once the stream's writers in this run are
//! closed (the run stops, or its producers are done) and then every shard being read answered a GetRecords that
//! began after the close with everything there was (`MillisBehindLatest` 0): what the run's own producers put is
//! read, nothing later is waited for.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use bytes::Bytes;
use sluice_core::runtime::record::{Positions, Record};
use sluice_core::runtime::stream::{ReadBatch, StreamError, StreamReader};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::client::{FailureKind, KinesisClient, with_stream};
use super::shards::{Lineage, ShardInfo, list_shards, shard_number};

/// Records asked for per GetRecords (Kinesis's maximum).
const GET_RECORDS_LIMIT: i32 = 10_000;

/// The shortest time between two GetRecords of one shard: 5 a second, Kinesis's per-shard limit.
const MIN_CALL_INTERVAL: Duration = Duration::from_millis(200);

/// The pause after a GetRecords that found nothing new.
const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// How often the shards are listed again, besides when one ends.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);

/// Events the channel holds before shard tasks wait: the read-ahead bound.
const EVENT_CHANNEL: usize = 8;

/// Where a shard's reading starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// The oldest record kept.
    TrimHorizon,
    /// Records put from now on.
    Latest,
    /// The first record that arrived at or after this time (ms since the epoch).
    AtTimestamp(i64),
    /// At this sequence number.
    AtSequence(String),
    /// Just after this sequence number.
    AfterSequence(String),
}

/// Where each shard starts.
#[derive(Debug, Clone)]
pub struct StartPlan {
    /// Shards with a start of their own (a checkpoint's positions).
    pub per_shard: std::collections::BTreeMap<String, Start>,
    /// The start of shards listed when the reader opens and not in `per_shard`. Shards found later start at
    /// `TRIM_HORIZON`: they were created after the reader opened.
    pub listed: Start,
}

/// What a shard task tells the reader.
enum Event {
    /// Records read (possibly none), with their sequence numbers; `caught_up_after_close` when the call began after
    /// the writers closed and found everything there was.
    Records { shard: String, records: Vec<(Record, String)>, caught_up_after_close: bool },
    /// The shard was read to its end.
    Ended { shard: String, children: Vec<ShardInfo> },
    /// Reading failed; the message names the stream, the shard and the call.
    Failed(String),
}

/// A reader of every shard of a Kinesis stream, parents before children.
pub struct KinesisReader {
    client: Arc<KinesisClient>,
    entry: String,
    closed: watch::Receiver<bool>,
    plan: StartPlan,
    listed_at_open: HashSet<String>,
    lineage: Lineage,
    sender: mpsc::Sender<Event>,
    events: mpsc::Receiver<Event>,
    tasks: JoinSet<()>,
    pending: VecDeque<(String, VecDeque<(Record, String)>)>,
    caught_up: HashSet<String>,
    next_discovery: Instant,
}

impl KinesisReader {
    /// Lists the shards of the stream and starts reading those without unread parents.
    pub async fn open(
        client: Arc<KinesisClient>,
        entry: String,
        closed: watch::Receiver<bool>,
        plan: StartPlan,
    ) -> Result<Self, StreamError> {
        let (sender, events) = mpsc::channel(EVENT_CHANNEL);
        let mut reader = KinesisReader {
            client,
            entry,
            closed,
            plan,
            listed_at_open: HashSet::new(),
            lineage: Lineage::default(),
            sender,
            events,
            tasks: JoinSet::new(),
            pending: VecDeque::new(),
            caught_up: HashSet::new(),
            next_discovery: Instant::now(),
        };
        let shards = reader.list().await?;
        reader.listed_at_open = shards.iter().map(|s| s.id.clone()).collect();
        reader.lineage.add(shards);
        reader.start_ready();
        Ok(reader)
    }

    async fn list(&mut self) -> Result<Vec<ShardInfo>, StreamError> {
        self.next_discovery = Instant::now() + DISCOVERY_INTERVAL;
        list_shards(&self.client).await.map_err(|f| self.error(self.client.explain("ListShards", &f)))
    }

    fn error(&self, message: String) -> StreamError {
        StreamError::Io { stream: self.entry.clone(), message }
    }

    fn start_ready(&mut self) {
        for shard in self.lineage.start_ready() {
            let start = match self.plan.per_shard.get(&shard) {
                Some(start) => start.clone(),
                None if self.listed_at_open.contains(&shard) => self.plan.listed.clone(),
                None => Start::TrimHorizon,
            };
            tracing::debug!("Kinesis stream `{}`: reading {shard} from {start:?}", self.client.target.shown());
            let task = ShardTask {
                client: Arc::clone(&self.client),
                shard,
                start,
                events: self.sender.clone(),
                closed: self.closed.clone(),
            };
            self.tasks.spawn(task.run());
        }
    }

    async fn handle(&mut self, event: Event) -> Result<(), StreamError> {
        match event {
            Event::Records { shard, records, caught_up_after_close } => {
                if !records.is_empty() {
                    self.pending.push_back((shard.clone(), records.into()));
                }
                if caught_up_after_close {
                    self.caught_up.insert(shard);
                }
            }
            Event::Ended { shard, children } => {
                tracing::debug!("Kinesis stream `{}`: {shard} read to its end", self.client.target.shown());
                self.lineage.finish(&shard);
                let unknown_children = children.is_empty() || children.iter().any(|c| !self.lineage.knows(&c.id));
                self.lineage.add(children);
                if unknown_children {
                    let shards = self.list().await?;
                    self.lineage.add(shards);
                }
                self.start_ready();
            }
            Event::Failed(message) => return Err(self.error(message)),
        }
        Ok(())
    }

    /// Up to `max` pending records, in arrival order, with each shard's last sequence number among them.
    fn take(&mut self, max: usize) -> Option<ReadBatch> {
        let mut batch = ReadBatch::default();
        while batch.records.len() < max.max(1) {
            let Some((shard, records)) = self.pending.front_mut() else { break };
            while batch.records.len() < max.max(1) {
                let Some((record, seq)) = records.pop_front() else { break };
                batch.records.push(record);
                batch.positions.insert(shard.clone(), seq);
            }
            if records.is_empty() {
                self.pending.pop_front();
            }
        }
        (!batch.records.is_empty()).then_some(batch)
    }

    fn drained(&self) -> bool {
        *self.closed.borrow() && self.pending.is_empty() && self.lineage.reading().all(|s| self.caught_up.contains(s))
    }
}

#[async_trait]
impl StreamReader for KinesisReader {
    async fn next_batch(&mut self, max_records: usize) -> Result<Option<ReadBatch>, StreamError> {
        loop {
            if let Some(batch) = self.take(max_records) {
                return Ok(Some(batch));
            }
            if self.drained() {
                self.tasks.abort_all();
                return Ok(None);
            }
            let open = !*self.closed.borrow();
            tokio::select! {
                event = self.events.recv() => {
                    // The reader holds a sender, so the channel never closes under it.
                    if let Some(event) = event {
                        self.handle(event).await?;
                    }
                }
                () = tokio::time::sleep_until(self.next_discovery) => {
                    let shards = self.list().await?;
                    self.lineage.add(shards);
                    self.start_ready();
                }
                _ = self.closed.changed(), if open => {}
            }
        }
    }
}

/// Reads one shard until its end (or until the reader is dropped, which aborts it).
struct ShardTask {
    client: Arc<KinesisClient>,
    shard: String,
    start: Start,
    events: mpsc::Sender<Event>,
    closed: watch::Receiver<bool>,
}

impl ShardTask {
    async fn run(self) {
        let events = self.events.clone();
        if let Err(message) = self.read().await {
            let _ = events.send(Event::Failed(message)).await;
        }
    }

    async fn read(mut self) -> Result<(), String> {
        let number = shard_number(&self.shard);
        // An iterator renewed before anything was read starts where this one did; `LATEST` then means "since now".
        let renewal = match &self.start {
            Start::Latest => Start::AtTimestamp(now_ms()),
            other => other.clone(),
        };
        let mut last_seq: Option<String> = None;
        let Some(mut iterator) = self.iterator(&self.start).await? else { return self.ended(Vec::new()).await };
        let mut next_call = Instant::now();
        loop {
            tokio::time::sleep_until(next_call).await;
            let after_close = *self.closed.borrow();
            let started = Instant::now();
            let result = self
                .client
                .call("GetRecords", |c| c.get_records().shard_iterator(&iterator).limit(GET_RECORDS_LIMIT).send())
                .await;
            // 200 ms from this call's start; when it was retried, from now, since its last attempt began later.
            let retried = started.elapsed() > MIN_CALL_INTERVAL;
            next_call = if retried { Instant::now() } else { started } + MIN_CALL_INTERVAL;
            let output = match result {
                Ok(output) => output,
                Err(failure) if failure.kind == FailureKind::ExpiredIterator => {
                    let from = last_seq.clone().map_or_else(|| renewal.clone(), Start::AfterSequence);
                    tracing::debug!("{}: iterator expired, renewed from {from:?}", self.shard);
                    match self.iterator(&from).await? {
                        Some(renewed) => iterator = renewed,
                        None => return self.ended(Vec::new()).await,
                    }
                    continue;
                }
                Err(failure) => return Err(self.client.explain(&format!("GetRecords on {}", self.shard), &failure)),
            };
            let count = output.records.len();
            let caught_up = output.millis_behind_latest.unwrap_or(0) == 0 && count < GET_RECORDS_LIMIT as usize;
            let records = convert(output.records, number);
            if let Some((_, seq)) = records.last() {
                last_seq = Some(seq.clone());
            }
            if !records.is_empty() || caught_up {
                let event = Event::Records {
                    shard: self.shard.clone(),
                    records,
                    caught_up_after_close: caught_up && after_close,
                };
                if self.events.send(event).await.is_err() {
                    return Ok(());
                }
            }
            let Some(next) = output.next_shard_iterator else {
                let children = output
                    .child_shards
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| ShardInfo { id: c.shard_id, parents: c.parent_shards })
                    .collect();
                return self.ended(children).await;
            };
            iterator = next;
            if count == 0 && caught_up {
                // Nothing new: wait before asking again, but confirm the tip at once when the writers close.
                let idle = tokio::time::sleep(IDLE_INTERVAL);
                if after_close {
                    idle.await;
                } else {
                    tokio::select! {
                        () = idle => {}
                        _ = self.closed.changed() => {}
                    }
                }
            }
        }
    }

    async fn ended(&self, children: Vec<ShardInfo>) -> Result<(), String> {
        let _ = self.events.send(Event::Ended { shard: self.shard.clone(), children }).await;
        Ok(())
    }

    /// A shard iterator from `start`; `None` when the shard has nothing more (a closed shard read to its end).
    async fn iterator(&self, start: &Start) -> Result<Option<String>, String> {
        let client = &self.client;
        let output = client
            .call("GetShardIterator", |c| {
                let request = with_stream!(c.get_shard_iterator(), &client.target).shard_id(&self.shard);
                let request = match start {
                    Start::TrimHorizon => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
                    Start::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
                    Start::AtTimestamp(ms) => request
                        .shard_iterator_type(ShardIteratorType::AtTimestamp)
                        .timestamp(DateTime::from_millis(*ms)),
                    Start::AtSequence(seq) => {
                        request.shard_iterator_type(ShardIteratorType::AtSequenceNumber).starting_sequence_number(seq)
                    }
                    Start::AfterSequence(seq) => request
                        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                        .starting_sequence_number(seq),
                };
                request.send()
            })
            .await
            .map_err(|f| client.explain(&format!("GetShardIterator on {}", self.shard), &f))?;
        Ok(output.shard_iterator)
    }
}

/// Kinesis records as sluice records, with their sequence numbers; consecutive records of one key share it.
fn convert(records: Vec<aws_sdk_kinesis::types::Record>, shard: Option<u32>) -> Vec<(Record, String)> {
    let mut key: Arc<str> = Arc::from("");
    records
        .into_iter()
        .map(|r| {
            if *key != *r.partition_key {
                key = Arc::from(r.partition_key.as_str());
            }
            let arrival_ms = r.approximate_arrival_timestamp.and_then(|t| t.to_millis().ok()).unwrap_or_else(now_ms);
            let data = Bytes::from(r.data.into_inner());
            (Record { partition_key: Arc::clone(&key), data, arrival_ms, shard }, r.sequence_number)
        })
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Positions of a checkpoint as per-shard starts just after them.
pub fn after(positions: &Positions) -> std::collections::BTreeMap<String, Start> {
    positions.iter().map(|(shard, seq)| (shard.clone(), Start::AfterSequence(seq.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converted_records_keep_key_shard_and_arrival() {
        let record = |key: &str, seq: &str| {
            aws_sdk_kinesis::types::Record::builder()
                .sequence_number(seq)
                .partition_key(key)
                .data(aws_sdk_kinesis::primitives::Blob::new(b"x".to_vec()))
                .approximate_arrival_timestamp(DateTime::from_millis(1_500))
                .build()
        };
        let records = [record("a", "1"), record("a", "2"), record("b", "3")].into_iter().collect::<Result<Vec<_>, _>>();
        let converted = convert(records.unwrap_or_default(), Some(4));
        assert_eq!(converted.len(), 3);
        assert!(Arc::ptr_eq(&converted[0].0.partition_key, &converted[1].0.partition_key), "one key, one Arc");
        assert_eq!((converted[2].0.arrival_ms, converted[2].0.shard, converted[2].1.as_str()), (1_500, Some(4), "3"));
    }
}
