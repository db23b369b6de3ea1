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
//! its last window when the window ends; at the end of input every open window closes. A run stopped from
//! outside (a signal) does not close them: they come out whole in the next run.
//!
//! Acks of a program with tumbling GROUP BY windows are held back ([`super::holdback`]): an output fed by
//! windows acknowledges only the input before the oldest record an open window holds (its deliveries may
//! carry an older batch's ack, which covers less), so the checkpoint never passes a window's rows before the
//! window is published, and a restart rebuilds it from the stream. Outputs no window feeds acknowledge their
//! own batch. Rows of other stateful operators (stagger windows, table functions) that come out on the clock
//! travel with the held ack too.
//!
//! ```text
//!  reader task ──batches──▶ select { batch ──▶ submit │ tick ──▶ advance(clock) } ──▶ end of input ──▶ finish
//! ```

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sluice_core::runtime::ack::{Ack, BatchAcks, Delivery};
use sluice_core::runtime::component::{Application, ConsumerInput, Output, RunError};
use sluice_core::runtime::record::Positions;
use sluice_sql::engine::{Program, StreamId};
use sluice_sql::error_stream::ERROR_STREAM;
use sluice_sql::input::InputMapping;
use sluice_sql::output::OutputFormat;
use sluice_sql::types::SqlType;

use tokio::sync::mpsc;

use super::holdback::{READ_MARK, add_marks};
use super::tapped::TapPlan;
use super::workers::{Hold, PendingBatch, Shared, WorkerPool};

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
        // Per output: its sink, channel, and whether GROUP BY windows feed it (then its acks are held back).
        let sinks: Vec<_> = outputs
            .into_iter()
            .zip(&plans)
            .map(|(o, plan)| (o.sink, o.sender, plan.stream.is_some_and(|s| program.fed_by_group_windows(s))))
            .collect();
        let keeps_errors = plans.iter().any(|p| p.stream.is_none());
        let windows = program.has_windows();
        let taps = TapPlan::build(&program, input.taps(), &name)?;
        let checkpoint = input.checkpoint().clone();
        let stop = input.stop_token();
        let shared = Shared { program, mapping, plans, taps, metrics: Arc::clone(input.metrics()), checkpoint };
        let mut workers = WorkerPool::start(shared, &name)?;
        // Reading and delivering overlap: batches go to the workers as they are read, and a delivery task
        // waits for each one's rows in turn. The channel bounds how many are in flight.
        let (pending, mut finished) = mpsc::channel::<(PendingBatch, Option<BatchAcks>)>(IN_FLIGHT);
        let deliver = tokio::spawn(async move {
            let mut recent = RecentBatches::default();
            while let Some((pending, acks)) = finished.recv().await {
                let marks = pending.marks.clone();
                let batch = pending.finish().await?;
                if batch.failed > 0 && !keeps_errors {
                    tracing::warn!(
                        "application `{name}`: {} rows failed; add an output of `{ERROR_STREAM}` to keep them",
                        batch.failed
                    );
                }
                if let Some(acks) = &acks {
                    recent.ran(marks, acks.clone());
                }
                for ((sink, sender, windowed), records) in sinks.iter().zip(batch.outputs) {
                    let ack = match (&batch.hold, &acks) {
                        // Fed by no window: the batch itself, with the windows' marks.
                        (Some(hold), Some(acks)) if !*windowed => {
                            let mut positions = Positions::clone(acks.positions());
                            add_marks(&mut positions, &hold.marks);
                            acks.for_sink_at(*sink, true, Arc::new(positions))
                        }
                        // Fed by windows, or rows of the clock: what no open window holds.
                        (Some(hold), _) => match recent.held_ack(*sink, hold) {
                            Some(ack) => ack,
                            None if records.is_empty() => continue,
                            None => Ack::none(),
                        },
                        (None, Some(acks)) => acks.for_sink(*sink),
                        (None, None) if records.is_empty() => continue, // A clock tick that closed nothing.
                        (None, None) => Ack::none(),
                    };
                    if sender.send(Delivery { records, ack }).await.is_err() {
                        return Ok(()); // The destination ended; its own error says why.
                    }
                }
            }
            Ok::<(), RunError>(())
        });
        if windows {
            run_on_the_clock(input, &mut workers, &pending, stop).await?;
        } else {
            while let Some((records, acks)) = input.next().await? {
                if pending.send((workers.submit_at(records, None)?, Some(acks))).await.is_err() {
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
    stop: Option<tokio_util::sync::CancellationToken>,
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
                    (workers.submit_at(records, Some(Arc::clone(acks.positions())))?, Some(acks))
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
    let result = reader.await.map_err(|e| RunError(format!("an sql input task failed: {e}")))?;
    if stop.is_some_and(|stop| stop.is_cancelled()) {
        // Stopped from outside: the open windows are not complete. Their input is not checkpointed (their acks
        // are held back), so the next run reads it again and emits them whole.
        tracing::info!("stopping with windows open: the next run completes them");
    } else if result.is_ok() {
        let _ = pending.send((workers.finish()?, None)).await;
    }
    result
}

/// The batches whose acks a held-back output may still send: from the one holding the oldest input an open
/// window holds, to the newest.
#[derive(Default)]
struct RecentBatches {
    batches: VecDeque<(Range<u64>, BatchAcks)>,
}

impl RecentBatches {
    fn ran(&mut self, marks: Range<u64>, acks: BatchAcks) {
        self.batches.push_back((marks, acks));
    }

    /// Sink `sink`'s ack of what `hold` lets through: the positions before the oldest held record, acknowledged
    /// through the batch holding it (that batch not wholly); everything read when no window is open.
    ///
    /// The ack also names how far the input was read, as `~read/<shard>` positions: the shard positions of a held
    /// ack stay behind while a window is open, so without them a delivery carrying rows of a plain pump into the
    /// same output would look, after a restart, like one the destination already published (the s3 duplicate
    /// filter of `naming: deterministic`), and those rows would be dropped.
    fn held_ack(&mut self, sink: usize, hold: &Hold) -> Option<Ack> {
        let (_, newest) = self.batches.back()?;
        let mut positions = Positions::clone(&hold.positions);
        for (shard, position) in newest.positions().iter().filter(|(key, _)| !key.starts_with('~')) {
            positions.insert(format!("{READ_MARK}{shard}"), position.clone());
        }
        let positions = Arc::new(positions);
        match hold.held {
            Some(held) => {
                while self.batches.len() > 1 && self.batches.front().is_some_and(|(marks, _)| marks.end <= held) {
                    self.batches.pop_front();
                }
                // The batch holding the record: not wholly acknowledged (unless the record comes after it).
                let (marks, acks) = self.batches.front()?;
                let whole = marks.end <= held;
                Some(acks.for_sink_at(sink, whole, positions))
            }
            None => {
                while self.batches.len() > 1 {
                    self.batches.pop_front();
                }
                let (_, acks) = self.batches.back()?;
                Some(acks.for_sink_at(sink, true, positions))
            }
        }
    }
}
