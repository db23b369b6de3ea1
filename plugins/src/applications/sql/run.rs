//! The running `sql` application: records in, rows through the program's pumps, records out.
//!
//! ```text
//!  ConsumerInput ──records──▶ InputMapping ──rows──▶ Runner (pumps, in-app streams) ──rows──▶ write_row
//!                                 │ cannot map                   │ a row fails                 │ per output
//!                                 └────────────▶ error_stream ◀──┘                             ▼
//!                                                                              Delivery{records, ack} per sink
//! ```
//!
//! One input batch becomes one delivery per output, carrying that output's ack, so checkpoints advance even
//! when an output got no rows. The work itself is done by the application's worker threads
//! ([`super::workers`]).

use std::sync::Arc;

use async_trait::async_trait;
use sluice_core::runtime::ack::{BatchAcks, Delivery};
use sluice_core::runtime::component::{Application, ConsumerInput, Output, RunError};
use sluice_sql::engine::{Program, StreamId};
use sluice_sql::error_stream::ERROR_STREAM;
use sluice_sql::input::InputMapping;
use sluice_sql::output::OutputFormat;
use sluice_sql::types::SqlType;

use tokio::sync::mpsc;

use super::workers::{PendingBatch, Shared, WorkerPool};

/// Batches handed to the workers and not yet delivered, beyond the one being delivered.
const IN_FLIGHT: usize = 2;

/// One output of the application: which in-app stream, how rows are written, and where they go.
#[derive(Debug, Clone)]
pub struct OutputPlan {
    /// The in-app stream (or `None` for error_stream).
    pub stream: Option<StreamId>,
    /// Its columns, for writing rows.
    pub columns: Vec<(String, SqlType)>,
    /// JSON or CSV.
    pub format: OutputFormat,
    /// The destination it feeds.
    pub destination: String,
}

/// A compiled SQL application, ready to run.
pub struct SqlApplication {
    /// The compiled SQL.
    pub program: Arc<Program>,
    /// Records to rows of the in-app input stream.
    pub mapping: InputMapping,
    /// The outputs, in the pipeline file's order.
    pub outputs: Vec<OutputPlan>,
    /// The application's name, for messages.
    pub name: String,
}

#[async_trait]
impl Application for SqlApplication {
    async fn run(self: Box<Self>, mut input: ConsumerInput, outputs: Vec<Output>) -> Result<(), RunError> {
        let SqlApplication { program, mapping, outputs: plans, name } = *self;
        // The runtime's outputs follow the links the validate hook declared: one per `outputs` entry, in order
        // (two outputs may feed one destination, each with its own sink).
        if outputs.len() != plans.len() || outputs.iter().zip(&plans).any(|(o, p)| o.destination != p.destination) {
            return Err(RunError(format!("application `{name}`: its outputs do not match the runtime's channels")));
        }
        let sinks: Vec<_> = outputs.into_iter().map(|o| (o.sink, o.sender)).collect();
        let keeps_errors = plans.iter().any(|p| p.stream.is_none());
        let mut workers = WorkerPool::start(Shared { program, mapping, plans }, &name)?;
        // Reading and delivering overlap: batches go to the workers as they are read, and a delivery task
        // waits for each one's rows in turn. The channel bounds how many are in flight.
        let (pending, mut finished) = mpsc::channel::<(PendingBatch, BatchAcks)>(IN_FLIGHT);
        let deliver = tokio::spawn(async move {
            while let Some((batch, acks)) = finished.recv().await {
                let batch = batch.finish().await?;
                if batch.failed > 0 && !keeps_errors {
                    tracing::warn!(
                        "application `{name}`: {} rows failed; add an output of `{ERROR_STREAM}` to keep them",
                        batch.failed
                    );
                }
                for ((sink, sender), records) in sinks.iter().zip(batch.outputs) {
                    if sender.send(Delivery { records, ack: acks.for_sink(*sink) }).await.is_err() {
                        return Ok(()); // The destination ended; its own error says why.
                    }
                }
            }
            Ok::<(), RunError>(())
        });
        while let Some((records, acks)) = input.next().await? {
            if pending.send((workers.submit(records)?, acks)).await.is_err() {
                break; // The delivery task ended: its result says why.
            }
        }
        drop(pending);
        deliver.await.map_err(|e| RunError(format!("an sql delivery task failed: {e}")))??;
        Ok(())
    }
}
