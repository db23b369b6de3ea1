//! Retention: whole segments are deleted once their file was last modified longer ago than the retention
//! period, as Kinesis drops records older than it.
//!
//! Only sealed segments before the one the ledger's mark names are candidates: recovery needs the marked
//! segment, and the ledger must move past a segment before its file goes (update the cursor, then delete).
//! A reader inside a deleted segment keeps its open file and then continues with the next segment.

use std::fs;
use std::io::ErrorKind;
use std::time::SystemTime;

use super::log::Log;
use super::segment::segment_path;

impl Log {
    /// Deletes the segments that expired by `now`.
    pub(crate) fn enforce_retention(&self, now: SystemTime) {
        let Some(cutoff) = now.checked_sub(self.options.retention) else { return };
        for (index, view) in self.views.iter().enumerate() {
            let floor = self.retention_floor(index);
            for (first, _) in view.segments().into_iter().take_while(|&(first, _)| first < floor) {
                let path = segment_path(&view.dir, first);
                let expired = match fs::metadata(&path).and_then(|meta| meta.modified()) {
                    Ok(modified) => modified < cutoff,
                    Err(e) if e.kind() == ErrorKind::NotFound => true,
                    Err(e) => {
                        tracing::warn!(stream = self.name, "retention cannot check {}: {e}", path.display());
                        false
                    }
                };
                if !expired {
                    continue;
                }
                // Readers stop finding it first; those already inside keep their open file.
                view.remove_segment(first);
                match fs::remove_file(&path) {
                    Ok(()) => tracing::info!(stream = self.name, "retention deleted {}", path.display()),
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(stream = self.name, "retention cannot delete {}: {e}", path.display()),
                }
            }
        }
    }
}
