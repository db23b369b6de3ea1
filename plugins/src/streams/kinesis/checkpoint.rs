//! What a `kinesis` stream keeps in the pipeline's ledger, under `kinesis/<entry>/`:
//!
//! ```text
//!   kinesis/<entry>/consumer/<consumer>   {"stream":"orders","positions":{"shardId-000000000000":"4960..."}}
//!   kinesis/<entry>/producer/<producer>   the producer's read position, as it gave it
//! ```
//!
//! A checkpoint names the AWS stream (name or ARN) it was taken on: after the entry is pointed at another stream,
//! the old positions are ignored (with a warning) instead of being looked up in a stream they do not belong to.
//! The prefix differs from the embedded stream's (`stream/<entry>/`), so moving an entry from `embedded` to
//! `kinesis` never reads an embedded sequence number as a Kinesis one.

use serde::{Deserialize, Serialize};
use sluice_core::runtime::ledger::Ledger;
use sluice_core::runtime::record::Positions;

/// A consumer's checkpoint as stored.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Stored {
    stream: String,
    positions: Positions,
}

/// The ledger keys of one `kinesis` entry.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of the entry named `entry`.
    pub fn new(entry: &str) -> Self {
        Keys { prefix: format!("kinesis/{entry}/") }
    }

    /// Where `consumer`'s checkpoint lives.
    pub fn consumer(&self, consumer: &str) -> String {
        format!("{}consumer/{consumer}", self.prefix)
    }

    /// Where `producer`'s position lives.
    pub fn producer(&self, producer: &str) -> String {
        format!("{}producer/{producer}", self.prefix)
    }
}

/// The checkpoint value for `positions` taken on `stream`.
pub fn encode(stream: &str, positions: &Positions) -> Result<Vec<u8>, String> {
    serde_json::to_vec(&Stored { stream: stream.to_owned(), positions: positions.clone() }).map_err(|e| e.to_string())
}

/// `consumer`'s checkpoint on `stream`: `None` when it has none, or one taken on another stream (logged).
pub fn load(ledger: &Ledger, keys: &Keys, consumer: &str, stream: &str) -> Result<Option<Positions>, String> {
    let key = keys.consumer(consumer);
    let Some(bytes) = ledger.get(&key).map_err(|e| e.to_string())? else { return Ok(None) };
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| format!("the ledger entry `{key}`: {e}"))?;
    if stored.stream != stream {
        tracing::warn!(
            "ignoring the checkpoint of `{consumer}`: it was taken on Kinesis stream `{}`, this entry reads `{stream}`",
            stored.stream
        );
        return Ok(None);
    }
    Ok(Some(stored.positions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_belongs_to_its_stream() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let ledger = Ledger::open(&dir.path().join("ledger.redb"))?;
        let keys = Keys::new("orders");
        let positions = Positions::from([("shardId-000000000000".to_owned(), "49".to_owned())]);
        ledger.commit(vec![(keys.consumer("application/app"), encode("orders", &positions)?)], true)?;
        assert_eq!(load(&ledger, &keys, "application/app", "orders")?, Some(positions));
        assert_eq!(load(&ledger, &keys, "application/app", "other")?, None);
        assert_eq!(load(&ledger, &keys, "application/none", "orders")?, None);
        assert_eq!(keys.producer("p"), "kinesis/orders/producer/p");
        Ok(())
    }
}
