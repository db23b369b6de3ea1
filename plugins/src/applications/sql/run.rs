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
//! when an output got no rows. Output records are slices of one buffer per batch: no allocation per row.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use sluice_core::runtime::ack::Delivery;
use sluice_core::runtime::component::{Application, ConsumerInput, Output, RunError};
use sluice_core::runtime::record::Record;
use sluice_sql::engine::{Program, StreamId};
use sluice_sql::error_stream::ERROR_STREAM;
use sluice_sql::input::InputMapping;
use sluice_sql::output::{OutputFormat, RowWriter};
use sluice_sql::types::SqlType;
use sluice_sql::value::Value;

use super::rows::push_record;

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

/// The records one output gets from one input batch: rows written back to back into one buffer, sliced
/// into records once the batch is done.
#[derive(Default)]
struct OutputBatch {
    data: Vec<u8>,
    /// Per record: where its bytes end in `data`, its partition key and arrival time.
    ends: Vec<(usize, Arc<str>, i64)>,
}

impl OutputBatch {
    fn into_records(self) -> Vec<Record> {
        let data = Bytes::from(self.data);
        let mut start = 0;
        self.ends
            .into_iter()
            .map(|(end, partition_key, arrival_ms)| {
                let record = Record { partition_key, data: data.slice(start..end), arrival_ms };
                start = end;
                record
            })
            .collect()
    }
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
        let mut runner = program.runner();
        let writers: Vec<RowWriter> = plans.iter().map(|p| RowWriter::new(p.format, &p.columns)).collect();
        // Per output, the size of its last batch's bytes: the next buffer starts a little larger.
        let mut sizes = vec![0usize; plans.len()];
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut last_rowtime = i64::MIN;
        while let Some((records, acks)) = input.next().await? {
            let mut batches: Vec<OutputBatch> = sizes
                .iter()
                .map(|&size| OutputBatch {
                    data: Vec::with_capacity(size + size / 8),
                    ends: Vec::with_capacity(if size > 0 { records.len() } else { 0 }),
                })
                .collect();
            let mut failed = 0u64;
            for record in &records {
                // ROWTIME: when the row entered the in-app stream; the record's arrival, kept monotonic.
                last_rowtime = last_rowtime.max(record.arrival_ms);
                let rowtime = last_rowtime;
                // Rows reaching an output's in-app stream (or error_stream: `None`) become that output's records.
                let mut emit = |stream: Option<StreamId>, _rowtime: i64, values: &[Value]| {
                    failed += u64::from(stream.is_none());
                    for ((plan, writer), batch) in plans.iter().zip(&writers).zip(batches.iter_mut()) {
                        if plan.stream == stream {
                            writer.write(values, &mut batch.data);
                            let end = batch.data.len();
                            batch.ends.push((end, Arc::clone(&record.partition_key), record.arrival_ms));
                        }
                    }
                };
                push_record(&mut runner, &mapping, &record.data, record.arrival_ms, rowtime, &mut rows, &mut emit);
            }
            if failed > 0 && !keeps_errors {
                tracing::warn!(
                    "application `{name}`: {failed} rows failed; add an output of `{ERROR_STREAM}` to keep them"
                );
            }
            for (size, batch) in sizes.iter_mut().zip(&batches) {
                *size = batch.data.len();
            }
            for ((sink, sender), batch) in sinks.iter().zip(batches) {
                let delivery = Delivery { records: batch.into_records(), ack: acks.for_sink(*sink) };
                if sender.send(delivery).await.is_err() {
                    return Ok(()); // The destination ended; its own error says why.
                }
            }
        }
        Ok(())
    }
}
