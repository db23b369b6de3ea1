//! The running `kinesis` stream: core's [`Stream`] over an AWS Kinesis data stream.
//!
//! Writes go through PutRecords ([`put_all`]); a producer's position is stored in the ledger after Kinesis accepted
//! the records it covers, so a producer restarted after a crash between the two puts those records again
//! (at-least-once). Readers are [`KinesisReader`]s; checkpoints go to the ledger ([`checkpoint`](super::checkpoint)).
//! Nothing is buffered in sluice, so `shutdown` has nothing to flush.

use std::sync::Arc;

use async_trait::async_trait;
use sluice_core::runtime::ledger::Ledger;
use sluice_core::runtime::record::{Positions, PutRecord};
use sluice_core::runtime::stream::{StartPosition, Stream, StreamError, StreamReader};
use tokio::sync::watch;

use super::StartingPosition;
use super::checkpoint::{self, Keys};
use super::client::KinesisClient;
use super::put::put_all;
use super::reader::{KinesisReader, Start, StartPlan, after};

/// A pipeline stream backed by a Kinesis data stream.
#[derive(Debug)]
pub struct KinesisStream {
    entry: String,
    client: Arc<KinesisClient>,
    ledger: Arc<Ledger>,
    keys: Keys,
    starting_position: StartingPosition,
    closed: watch::Sender<bool>,
}

impl KinesisStream {
    /// The stream of entry `entry`, reached through `client`, keeping its state in `ledger`.
    pub fn new(entry: String, client: KinesisClient, ledger: Arc<Ledger>, starting_position: StartingPosition) -> Self {
        let keys = Keys::new(&entry);
        KinesisStream {
            entry,
            client: Arc::new(client),
            ledger,
            keys,
            starting_position,
            closed: watch::Sender::new(false),
        }
    }

    fn error(&self, message: String) -> StreamError {
        StreamError::Io { stream: self.entry.clone(), message }
    }

    /// Where a reader of `consumer` starts: what the runtime asks for, and for its default (`TRIM_HORIZON`, "from
    /// the beginning") the entry's `starting_position`.
    fn plan(&self, consumer: &str, start: StartPosition) -> Result<StartPlan, StreamError> {
        let listed = |listed| StartPlan { per_shard: Default::default(), listed };
        Ok(match start {
            StartPosition::TrimHorizon => match self.starting_position {
                StartingPosition::TrimHorizon => listed(Start::TrimHorizon),
                StartingPosition::Now => listed(Start::Latest),
                StartingPosition::LastStoppedPoint => {
                    let stored = checkpoint::load(&self.ledger, &self.keys, consumer, self.client.target.shown())
                        .map_err(|e| self.error(e))?;
                    let per_shard = stored.as_ref().map(after).unwrap_or_default();
                    StartPlan { per_shard, listed: Start::TrimHorizon }
                }
            },
            StartPosition::Latest => listed(Start::Latest),
            StartPosition::AtTimestamp(ms) => listed(Start::AtTimestamp(ms)),
            StartPosition::AtSequenceNumber(positions) => StartPlan {
                per_shard: positions.into_iter().map(|(s, seq)| (s, Start::AtSequence(seq))).collect(),
                listed: Start::TrimHorizon,
            },
            StartPosition::AfterSequenceNumber(positions) => {
                StartPlan { per_shard: after(&positions), listed: Start::TrimHorizon }
            }
        })
    }
}

#[async_trait]
impl Stream for KinesisStream {
    fn name(&self) -> &str {
        &self.entry
    }

    async fn put_batch(
        &self,
        records: Vec<PutRecord>,
        producer: &str,
        position: Option<Vec<u8>>,
    ) -> Result<(), StreamError> {
        put_all(&*self.client, records).await.map_err(|f| self.error(self.client.explain("PutRecords", &f)))?;
        if let Some(position) = position {
            self.ledger
                .commit(vec![(self.keys.producer(producer), position)], true)
                .map_err(|e| self.error(e.to_string()))?;
        }
        Ok(())
    }

    fn producer_position(&self, producer: &str) -> Option<Vec<u8>> {
        self.ledger.get(&self.keys.producer(producer)).ok().flatten()
    }

    async fn open_reader(&self, consumer: &str, start: StartPosition) -> Result<Box<dyn StreamReader>, StreamError> {
        let plan = self.plan(consumer, start)?;
        let reader =
            KinesisReader::open(Arc::clone(&self.client), self.entry.clone(), self.closed.subscribe(), plan).await?;
        Ok(Box::new(reader))
    }

    async fn commit_checkpoint(&self, consumer: &str, positions: &Positions) -> Result<(), StreamError> {
        let value = checkpoint::encode(self.client.target.shown(), positions).map_err(|e| self.error(e))?;
        self.ledger.commit(vec![(self.keys.consumer(consumer), value)], true).map_err(|e| self.error(e.to_string()))
    }

    fn close_writers(&self) {
        self.closed.send_replace(true);
    }

    async fn shutdown(&self) -> Result<(), StreamError> {
        // Puts return once Kinesis stored their records and checkpoints are committed as they come: nothing waits.
        Ok(())
    }
}
