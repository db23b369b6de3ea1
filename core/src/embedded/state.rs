//! What a stream keeps in the ledger, under `stream/<name>/`.
//!
//! ```text
//!   stream/<name>/shard/shardId-000000000000   {"segment":1,"length":4096,"next_seq":43}   (a Mark, JSON)
//!   stream/<name>/producer/<producer>          the producer's position, as it gave it
//!   stream/<name>/consumer/<consumer>          {"shardId-000000000000":"42"}               (Positions, JSON)
//! ```
//!
//! A mark only ever describes bytes that were already synced when it was committed, and producer positions are
//! committed in the same transaction as the marks covering their records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hash::{parse_shard_id, shard_id};
use crate::runtime::ledger::Ledger;
use crate::runtime::record::Positions;

/// How far a shard is durable: the active segment, its synced length, and the next sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    /// The first sequence number (and name) of the active segment.
    pub segment: u64,
    /// The bytes of that segment that are durable.
    pub length: u64,
    /// The sequence number the next record gets.
    pub next_seq: u64,
}

/// The ledger keys of one stream.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of stream `name`.
    pub(crate) fn new(name: &str) -> Self {
        Keys { prefix: format!("stream/{name}/") }
    }

    /// The mark of shard `index`.
    pub(crate) fn shard(&self, index: u32) -> String {
        format!("{}shard/{}", self.prefix, shard_id(index))
    }

    /// A producer's position.
    pub(crate) fn producer(&self, producer: &str) -> String {
        format!("{}producer/{producer}", self.prefix)
    }

    /// A consumer's checkpoint.
    pub(crate) fn consumer(&self, consumer: &str) -> String {
        format!("{}consumer/{consumer}", self.prefix)
    }

    /// Every shard's mark, by shard index.
    pub(crate) fn load_marks(&self, ledger: &Ledger) -> Result<BTreeMap<u32, Mark>, String> {
        let prefix = format!("{}shard/", self.prefix);
        let mut marks = BTreeMap::new();
        for (key, value) in ledger.scan(&prefix).map_err(|e| e.to_string())? {
            let index = key.strip_prefix(&prefix).and_then(parse_shard_id);
            let mark = serde_json::from_slice::<Mark>(&value).ok();
            match index.zip(mark) {
                Some((index, mark)) => {
                    marks.insert(index, mark);
                }
                None => return Err(format!("the ledger entry `{key}` is not a shard mark")),
            }
        }
        Ok(marks)
    }

    /// Every consumer's checkpoint.
    pub(crate) fn load_consumers(&self, ledger: &Ledger) -> Result<Vec<(String, Positions)>, String> {
        let prefix = self.consumer("");
        let mut checkpoints = Vec::new();
        for (key, value) in ledger.scan(&prefix).map_err(|e| e.to_string())? {
            let positions = serde_json::from_slice::<Positions>(&value)
                .map_err(|e| format!("the checkpoint `{key}` is not readable: {e}"))?;
            checkpoints.push((key.strip_prefix(&prefix).unwrap_or(&key).to_owned(), positions));
        }
        Ok(checkpoints)
    }

    /// Every producer's stored position.
    pub(crate) fn load_producers(&self, ledger: &Ledger) -> Result<Vec<(String, Vec<u8>)>, String> {
        let prefix = self.producer("");
        let entries = ledger.scan(&prefix).map_err(|e| e.to_string())?;
        Ok(entries
            .into_iter()
            .filter_map(|(key, value)| Some((key.strip_prefix(&prefix)?.to_owned(), value)))
            .collect())
    }
}
