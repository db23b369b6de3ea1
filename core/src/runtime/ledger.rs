//! The ledger: a small durable key-value store (redb) for everything a restart must find again: stream
//! shard marks, producers' read positions and consumers' checkpoints.
//!
//! Writes are atomic batches. A batch is `durable` (fsynced before `commit` returns) or not (visible to
//! later reads in this process, persisted by the next durable batch), so the fsync policy decides the cost.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");

/// Why the ledger failed.
#[derive(Debug, thiserror::Error)]
#[error("ledger {path}: {message}")]
pub struct LedgerError {
    path: String,
    message: String,
}

/// The pipeline's durable key-value store. One per data directory; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Ledger {
    db: Database,
    path: String,
}

impl Ledger {
    /// Opens (or creates) the ledger file at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let shown = path.display().to_string();
        let fail = |e: &dyn std::fmt::Display| LedgerError { path: shown.clone(), message: e.to_string() };
        let db = Database::create(path).map_err(|e| fail(&e))?;
        let ledger = Ledger { db, path: shown.clone() };
        // Create the table up front so reads never meet a missing table.
        ledger.commit(Vec::new(), true)?;
        Ok(ledger)
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        let read = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = read.open_table(ENTRIES).map_err(|e| self.error(e))?;
        let value = table.get(key).map_err(|e| self.error(e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Every entry whose key starts with `prefix`, in key order.
    pub fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
        let read = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = read.open_table(ENTRIES).map_err(|e| self.error(e))?;
        let mut found = Vec::new();
        for entry in table.range(prefix..).map_err(|e| self.error(e))? {
            let (key, value) = entry.map_err(|e| self.error(e))?;
            if !key.value().starts_with(prefix) {
                break;
            }
            found.push((key.value().to_owned(), value.value().to_vec()));
        }
        Ok(found)
    }

    /// Writes `entries` atomically; with `durable`, they are on disk when this returns.
    pub fn commit(&self, entries: Vec<(String, Vec<u8>)>, durable: bool) -> Result<(), LedgerError> {
        let mut write = self.db.begin_write().map_err(|e| self.error(e))?;
        write
            .set_durability(if durable { Durability::Immediate } else { Durability::None })
            .map_err(|e| self.error(e))?;
        {
            let mut table = write.open_table(ENTRIES).map_err(|e| self.error(e))?;
            for (key, value) in &entries {
                table.insert(key.as_str(), value.as_slice()).map_err(|e| self.error(e))?;
            }
        }
        write.commit().map_err(|e| self.error(e))
    }

    fn error(&self, e: impl std::fmt::Display) -> LedgerError {
        LedgerError { path: self.path.clone(), message: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening_and_scan_by_prefix() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ledger.redb");
        {
            let ledger = Ledger::open(&path)?;
            ledger.commit(vec![("consumer/a".into(), b"1".to_vec()), ("producer/p".into(), b"2".to_vec())], true)?;
            ledger.commit(vec![("consumer/b".into(), b"3".to_vec())], true)?;
        }
        let ledger = Ledger::open(&path)?;
        assert_eq!(ledger.get("producer/p")?, Some(b"2".to_vec()));
        let consumers: Vec<_> = ledger.scan("consumer/")?.into_iter().map(|(k, _)| k).collect();
        assert_eq!(consumers, ["consumer/a", "consumer/b"]);
        Ok(())
    }
}
