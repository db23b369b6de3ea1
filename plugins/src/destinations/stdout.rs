//! `stdout`: prints records, one per line, for trying things out.
//!
//! Writing to standard output blocks (a slow terminal, a full pipe), so the destination runs on a blocking
//! thread: it receives a delivery, copies its records (each followed by `\n`) into one reused buffer, writes
//! that with standard output locked (so lines of other writers never interleave inside a delivery), flushes,
//! and only then acknowledges. The lock is held per delivery, never across waits for the next one.

use std::io::Write;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::runtime::ack::Delivery;
use sluice_core::runtime::component::{Destination, DestinationContext, RunError};
use sluice_core::runtime::metrics::StageMetrics;
use tokio::sync::mpsc;

/// Prints each record on its own line of standard output.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    /// Read records straight from this stream, instead of an application.
    pub source: Option<String>,
}

impl PluginConfig for StdoutConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        if let Some(source) = &self.source {
            cx.link("source", LinkRole::ReadsStream, source);
        }
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        Ok(Built::Destination(Box::new(StdoutDestination)))
    }
}

/// The running `stdout` destination.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutDestination;

#[async_trait]
impl Destination for StdoutDestination {
    async fn run(self: Box<Self>, input: mpsc::Receiver<Delivery>, cx: DestinationContext) -> Result<(), RunError> {
        let name = cx.name.clone();
        tokio::task::spawn_blocking(move || write_all(input, &mut || std::io::stdout().lock(), &cx.metrics))
            .await
            .map_err(|e| RunError(format!("stdout destination `{name}` stopped: {e}")))?
            .map_err(|e| RunError(format!("stdout destination `{name}`: writing to standard output failed: {e}")))
    }
}

/// Writes every delivery from `input` to the writer `open` returns (once per delivery), acknowledging each
/// after it is flushed; returns when `input` closes.
fn write_all<W: Write>(
    mut input: mpsc::Receiver<Delivery>,
    open: &mut dyn FnMut() -> W,
    metrics: &StageMetrics,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    while let Some(delivery) = input.blocking_recv() {
        buffer.clear();
        let mut bytes = 0;
        for record in &delivery.records {
            buffer.extend_from_slice(&record.data);
            buffer.push(b'\n');
            bytes += record.data.len() as u64;
        }
        if !buffer.is_empty() {
            let mut out = open();
            out.write_all(&buffer)?;
            out.flush()?;
        }
        metrics.add(delivery.records.len() as u64, bytes);
        delivery.ack.acknowledge();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use bytes::Bytes;
    use sluice_core::runtime::ack::{Ack, AckTracker};
    use sluice_core::runtime::record::{Positions, Record};

    use super::*;

    /// Collects what is written, and counts flushes.
    #[derive(Clone, Default)]
    struct Sink(Rc<RefCell<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.borrow_mut().1 += 1;
            Ok(())
        }
    }

    fn record(data: &str) -> Record {
        Record { partition_key: "k".into(), data: Bytes::copy_from_slice(data.as_bytes()), arrival_ms: 0, shard: None }
    }

    #[test]
    fn prints_each_record_on_a_line_then_acknowledges() -> Result<(), Box<dyn std::error::Error>> {
        let (tracker, committable) = AckTracker::new(1);
        let (tx, rx) = mpsc::channel(4);
        let positions = Positions::from([("s0".to_owned(), "7".to_owned())]);
        tx.blocking_send(Delivery { records: vec![record("{\"a\":1}"), record("b")], ack: Ack::none() })?;
        tx.blocking_send(Delivery { records: vec![], ack: Ack::none() })?;
        tx.blocking_send(Delivery {
            records: vec![record("c")],
            ack: tracker.register(positions.clone()).for_sink(0),
        })?;
        drop(tx);
        let sink = Sink::default();
        let metrics = StageMetrics::default();
        write_all(rx, &mut || sink.clone(), &metrics)?;
        let (written, flushes) = sink.0.borrow().clone();
        assert_eq!(written, b"{\"a\":1}\nb\nc\n");
        assert_eq!(flushes, 2, "one flush per non-empty delivery");
        assert_eq!(*committable.borrow(), Some(positions));
        assert_eq!((metrics.snapshot().records, metrics.snapshot().bytes), (3, 9));
        Ok(())
    }
}

sluice_core::register_plugin!(Destination, "stdout", StdoutConfig);
