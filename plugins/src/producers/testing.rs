//! Test support: a stream that records what producers put.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sluice_core::runtime::component::{Budget, ProducerContext};
use sluice_core::runtime::metrics::StageMetrics;
use sluice_core::runtime::record::{Positions, PutRecord};
use sluice_core::runtime::stream::{StartPosition, Stream, StreamError, StreamReader};
use tokio_util::sync::CancellationToken;

/// One `put_batch` call.
#[derive(Debug, Clone)]
pub(crate) struct Put {
    pub(crate) records: Vec<PutRecord>,
    pub(crate) position: Option<Vec<u8>>,
}

/// Keeps every put, and the last position per producer, as a real stream would store it.
#[derive(Default)]
pub(crate) struct FakeStream {
    puts: Mutex<Vec<Put>>,
    positions: Mutex<HashMap<String, Vec<u8>>>,
    /// Count records and drop them, for measurements.
    discard: bool,
    counted: AtomicU64,
}

impl FakeStream {
    /// A stream that only counts what is put, so a measurement does not time the test's memory.
    pub(crate) fn counting() -> Self {
        FakeStream { discard: true, ..FakeStream::default() }
    }

    /// Records put so far.
    pub(crate) fn count(&self) -> u64 {
        self.counted.load(Ordering::Relaxed)
    }

    pub(crate) fn puts(&self) -> Vec<Put> {
        self.puts.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Every record put so far, as text.
    pub(crate) fn data(&self) -> Vec<String> {
        self.puts().iter().flat_map(|p| &p.records).map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect()
    }

    /// Forgets the records (not the positions): a restart's new output starts empty.
    pub(crate) fn clear_records(&self) {
        if let Ok(mut puts) = self.puts.lock() {
            puts.clear();
        }
    }
}

#[async_trait]
impl Stream for FakeStream {
    fn name(&self) -> &str {
        "fake"
    }

    async fn put_batch(
        &self,
        records: Vec<PutRecord>,
        producer: &str,
        position: Option<Vec<u8>>,
    ) -> Result<(), StreamError> {
        let poisoned = || StreamError::Io { stream: "fake".into(), message: "poisoned".into() };
        if let Some(position) = &position {
            self.positions.lock().map_err(|_| poisoned())?.insert(producer.to_owned(), position.clone());
        }
        self.counted.fetch_add(records.len() as u64, Ordering::Relaxed);
        if !self.discard {
            self.puts.lock().map_err(|_| poisoned())?.push(Put { records, position });
        }
        Ok(())
    }

    fn producer_position(&self, producer: &str) -> Option<Vec<u8>> {
        self.positions.lock().ok()?.get(producer).cloned()
    }

    async fn open_reader(&self, _: &str, _: StartPosition) -> Result<Box<dyn StreamReader>, StreamError> {
        Err(StreamError::Io { stream: "fake".into(), message: "not readable".into() })
    }

    async fn commit_checkpoint(&self, _: &str, _: &Positions) -> Result<(), StreamError> {
        Ok(())
    }

    fn close_writers(&self) {}

    async fn shutdown(&self) -> Result<(), StreamError> {
        Ok(())
    }
}

/// A context for producer `p` writing to `stream`, with `budget` records.
pub(crate) fn context(stream: &Arc<FakeStream>, budget: Option<u64>) -> (ProducerContext, CancellationToken) {
    let stop = CancellationToken::new();
    let cx = ProducerContext {
        name: "p".into(),
        stream: stream.clone(),
        budget: Budget::new(budget),
        stop: stop.clone(),
        metrics: Arc::new(StageMetrics::default()),
    };
    (cx, stop)
}
