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
//!
//! A program with GROUP BY windows also runs on a clock: every [`TICK`] of wall time the worker is told the
//! stream's time (the newest arrival seen, plus the wall time since it was seen), so a quiet stream still emits
//! its last window when the window ends; at the end of input every open window closes. Rows a window emits
//! that way travel with no ack: no input record's checkpoint waits for them.
//!
//! ```text
//!  reader task ──batches──▶ select { batch ──▶ submit │ tick ──▶ advance(clock) } ──▶ end of input ──▶ finish
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sluice_core::runtime::ack::{Ack, BatchAcks, Delivery};
use sluice_core::runtime::component::{Application, ConsumerInput, Output, RunError};
use sluice_sql::engine::{Program, StreamId};
use sluice_sql::error_stream::ERROR_STREAM;
use sluice_sql::input::InputMapping;
use sluice_sql::output::OutputFormat;
use sluice_sql::types::SqlType;

use tokio::sync::mpsc;

use super::tapped::TapPlan;
use super::workers::{PendingBatch, Shared, WorkerPool};

/// Batches handed to the workers and not yet delivered, beyond the one being delivered.
const IN_FLIGHT: usize = 2;

/// How often a program with windows is told the time.
pub const TICK: Duration = Duration::from_secs(1);

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
    /// Reference data to load at start, and the directory `file://` URLs resolve against.
    pub reference: Option<(super::reference::SqlReference, std::path::PathBuf)>,
}

#[async_trait]
impl Application for SqlApplication {
    fn output_shapes(&self) -> Vec<sluice_core::runtime::component::OutputShape> {
        super::output_shapes(&self.name, &self.program, &self.outputs)
    }

    async fn run(self: Box<Self>, mut input: ConsumerInput, outputs: Vec<Output>) -> Result<(), RunError> {
        let SqlApplication { mut program, mapping, outputs: plans, name, reference } = *self;
        // Reference data is read once, before the first record (KDA refreshes it only on an update).
        if let Some((source, base_dir)) = reference {
            let rows = source
                .load(&base_dir)
                .await
                .map_err(|e| RunError(format!("application `{name}`: reference table `{}`: {e}", source.table)))?;
            tracing::info!(application = %name, table = %source.table, rows = rows.len(), "reference data loaded");
            let loaded = Arc::get_mut(&mut program).is_some_and(|p| p.set_table_rows(&source.table, rows));
            if !loaded {
                return Err(RunError(format!("application `{name}`: reference table `{}` not loaded", source.table)));
            }
        }
        // The runtime's outputs follow the links the validate hook declared: one per `outputs` entry, in order
        // (two outputs may feed one destination, each with its own sink).
        if outputs.len() != plans.len() || outputs.iter().zip(&plans).any(|(o, p)| o.destination != p.destination) {
            return Err(RunError(format!("application `{name}`: its outputs do not match the runtime's channels")));
        }
        let sinks: Vec<_> = outputs.into_iter().map(|o| (o.sink, o.sender)).collect();
        let keeps_errors = plans.iter().any(|p| p.stream.is_none());
        let windows = program.has_windows();
        let taps = TapPlan::build(&program, input.taps(), &name)?;
        let mut workers =
            WorkerPool::start(Shared { program, mapping, plans, taps, metrics: Arc::clone(input.metrics()) }, &name)?;
        // Reading and delivering overlap: batches go to the workers as they are read, and a delivery task
        // waits for each one's rows in turn. The channel bounds how many are in flight.
        let (pending, mut finished) = mpsc::channel::<(PendingBatch, Option<BatchAcks>)>(IN_FLIGHT);
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
                    let ack = match &acks {
                        Some(acks) => acks.for_sink(*sink),
                        None if records.is_empty() => continue, // A clock tick that closed nothing.
                        None => Ack::none(),
                    };
                    if sender.send(Delivery { records, ack }).await.is_err() {
                        return Ok(()); // The destination ended; its own error says why.
                    }
                }
            }
            Ok::<(), RunError>(())
        });
        if windows {
            run_on_the_clock(input, &mut workers, &pending).await?;
        } else {
            while let Some((records, acks)) = input.next().await? {
                if pending.send((workers.submit(records)?, Some(acks))).await.is_err() {
                    break; // The delivery task ended: its result says why.
                }
            }
        }
        drop(pending);
        deliver.await.map_err(|e| RunError(format!("an sql delivery task failed: {e}")))??;
        Ok(())
    }
}

/// The stream's time as the application knows it: the newest arrival seen, moved on by the wall time since.
/// For a live stream that is about now; while a backlog is read it follows the backlog.
#[derive(Default)]
struct StreamClock {
    seen: Option<(i64, Instant)>,
}

impl StreamClock {
    fn saw(&mut self, records: &[sluice_core::runtime::record::Record]) {
        if let Some(newest) = records.iter().map(|r| r.arrival_ms).max() {
            let newest = self.seen.map_or(newest, |(known, _)| known.max(newest));
            self.seen = Some((newest, Instant::now()));
        }
    }

    fn now(&self) -> Option<i64> {
        self.seen.map(|(arrival, at)| arrival.saturating_add(i64::try_from(at.elapsed().as_millis()).unwrap_or(0)))
    }
}

/// The loop of a program with windows: batches as they come, the clock every [`TICK`], and at the end of input
/// a last job that closes every window. The input is read by a task of its own, so waiting for it can be
/// interrupted by the tick without losing a batch.
async fn run_on_the_clock(
    mut input: ConsumerInput,
    workers: &mut WorkerPool,
    pending: &mpsc::Sender<(PendingBatch, Option<BatchAcks>)>,
) -> Result<(), RunError> {
    let (batches, mut incoming) = mpsc::channel(1);
    let reader = tokio::spawn(async move {
        while let Some(batch) = input.next().await? {
            if batches.send(batch).await.is_err() {
                break;
            }
        }
        Ok::<(), RunError>(())
    });
    let mut clock = StreamClock::default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let job = tokio::select! {
            batch = incoming.recv() => match batch {
                Some((records, acks)) => {
                    clock.saw(&records);
                    (workers.submit(records)?, Some(acks))
                }
                None => break,
            },
            _ = tick.tick() => match clock.now() {
                Some(now) => (workers.advance(now)?, None),
                None => continue,
            },
        };
        if pending.send(job).await.is_err() {
            return Ok(()); // The delivery task ended: its result says why.
        }
    }
    let _ = pending.send((workers.finish()?, None)).await;
    reader.await.map_err(|e| RunError(format!("an sql input task failed: {e}")))?
}
