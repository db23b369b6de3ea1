//! Mapping records to rows on a thread of its own, ahead of the one worker of a program that is not stateless.
//!
//! ```text
//!                 jobs (a batch's records)              chunks of mapped rows, in order
//!  worker ──────────────────────────────▶ mapping thread ──────────────────────────────▶ worker: push each
//!     ▲                                        ▲                                               │
//!     └── the batch's rows                     └────────── pushed chunks, their row buffers ◀──┘
//! ```
//!
//! Mapping is stateless, so while the worker pushes one chunk's rows through the runner (whose windows must see
//! every row in order), the mapping thread maps the next. The thread lives as long as its worker: starting one
//! per batch cost more than a batch's worth of handoffs. A fixed set of chunks goes round
//! ([`CHUNKS_GOING_ROUND`]), so the mapping thread runs at most that far ahead and rows' buffers are reused.

use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc;

use sluice_core::runtime::record::Record;
use sluice_sql::input::RowPool;
use sluice_sql::value::Value;

use super::rows::map_record;
use super::workers::Shared;

/// Records a chunk holds: enough that handing chunks over costs little beside mapping them, few enough that the
/// worker starts pushing soon after a batch arrives.
pub const MAP_CHUNK: usize = 256;
/// How many chunks go round: the mapping thread may run this far ahead of the worker.
pub const CHUNKS_GOING_ROUND: usize = 6;

/// Rows the mapping thread made of some records of a batch, for the worker to push. The worker sends it back,
/// its rows' buffers in `pool`, for a later chunk's rows.
#[derive(Default)]
pub struct MappedChunk {
    /// The batch index of its first record.
    pub start: usize,
    /// The rows of its records, back to back.
    pub rows: Vec<Vec<Value>>,
    /// Per record, how many of `rows` it made, or the mapping's message.
    pub outcomes: Vec<Result<usize, String>>,
    /// Emptied row buffers: taken by the mapping, given back by the worker.
    pub pool: RowPool,
}

/// A batch's records for the mapping thread.
struct MapJob {
    records: Arc<Vec<Record>>,
    range: Range<usize>,
}

/// The worker's end of its mapping thread. Dropping it ends the thread once its current chunk is done.
pub struct MapAhead {
    jobs: mpsc::Sender<MapJob>,
    mapped: mpsc::Receiver<MappedChunk>,
    give_back: mpsc::Sender<MappedChunk>,
}

impl MapAhead {
    /// Starts the mapping thread `name`, mapping with `shared`'s input mapping.
    pub fn start(shared: Arc<Shared>, name: String) -> std::io::Result<MapAhead> {
        let (jobs, inbox) = mpsc::channel();
        let (sender, mapped) = mpsc::channel();
        let (give_back, returned) = mpsc::channel();
        std::thread::Builder::new().name(name).spawn(move || map_jobs(&shared, &inbox, &sender, &returned))?;
        Ok(MapAhead { jobs, mapped, give_back })
    }

    /// Maps `records[range]` on the mapping thread, [`MAP_CHUNK`] records at a time, and hands each chunk to
    /// `push` as it comes, in order.
    ///
    /// # Panics
    /// If the mapping thread stopped (it panicked): the worker stops with it, as the run's error says.
    pub fn run(&self, records: &Arc<Vec<Record>>, range: Range<usize>, mut push: impl FnMut(&mut MappedChunk)) {
        let chunks = range.len().div_ceil(MAP_CHUNK);
        let stopped = "the sql application's mapping thread stopped";
        self.jobs.send(MapJob { records: Arc::clone(records), range }).expect(stopped);
        for _ in 0..chunks {
            let mut chunk = self.mapped.recv().expect(stopped);
            push(&mut chunk);
            // The mapping thread is still there: it sent this chunk and waits for jobs until this end drops.
            let _ = self.give_back.send(chunk);
        }
    }
}

/// The mapping thread's loop: each job's records, chunk by chunk, until the worker's end is dropped. The first
/// [`CHUNKS_GOING_ROUND`] chunks are new; every later one is one the worker pushed and gave back.
fn map_jobs(
    shared: &Shared,
    jobs: &mpsc::Receiver<MapJob>,
    mapped: &mpsc::Sender<MappedChunk>,
    returned: &mpsc::Receiver<MappedChunk>,
) {
    let mut made = 0;
    while let Ok(MapJob { records, range }) = jobs.recv() {
        for start in range.clone().step_by(MAP_CHUNK) {
            let mut chunk = if made < CHUNKS_GOING_ROUND {
                made += 1;
                MappedChunk::default()
            } else {
                let Ok(chunk) = returned.recv() else { return }; // The worker stopped.
                chunk
            };
            chunk.start = start;
            chunk.rows.clear();
            chunk.outcomes.clear();
            for record in &records[start..(start + MAP_CHUNK).min(range.end)] {
                let before = chunk.rows.len();
                let outcome = map_record(&shared.mapping, record, &mut chunk.rows, &mut chunk.pool);
                chunk.outcomes.push(outcome.map(|()| chunk.rows.len() - before));
            }
            if mapped.send(chunk).is_err() {
                return; // The worker stopped.
            }
        }
    }
}
