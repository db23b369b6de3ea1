//! Recovery at open: bring a shard directory back to what the ledger's mark says is durable.
//!
//! With a mark: segments newer than the marked one are deleted (written after the last sync), and the
//! marked segment is cut to the shorter of its marked length and its longest valid prefix. Without one (a
//! fresh ledger): the last segment is cut at its first torn or corrupt frame. Older segments are kept as
//! they are; a bad frame in them is reported when a reader reaches it.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use super::segment::{list_segments, scan, segment_path};
use super::shard::{Tail, create_segment};
use super::state::Mark;

/// A recovered shard: its segments (first sequence number, length), and where writing continues.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Every segment kept, ascending; the last one is `tail`'s.
    pub segments: Vec<(u64, u64)>,
    /// The active segment.
    pub tail: Tail,
}

/// Recovers the shard in `dir` of stream `stream`, creating the directory and a first segment if needed.
pub(crate) fn recover_shard(stream: &str, dir: &Path, mark: Option<Mark>, sync: bool) -> io::Result<Recovered> {
    fs::create_dir_all(dir)?;
    let mut firsts = list_segments(dir)?;
    let mut limit = None;
    if let Some(mark) = mark {
        for &first in firsts.iter().filter(|&&first| first > mark.segment) {
            let path = segment_path(dir, first);
            let len = fs::metadata(&path)?.len();
            fs::remove_file(&path)?;
            tracing::warn!(stream, "recovery deleted {} ({len} bytes): written after the last sync", path.display());
        }
        firsts.retain(|&first| first <= mark.segment);
        if firsts.last() == Some(&mark.segment) {
            limit = Some(mark.length);
        } else {
            tracing::warn!(
                stream,
                "segment {} is missing; the shard continues at sequence number {}",
                segment_path(dir, mark.segment).display(),
                mark.next_seq
            );
            // Every segment left is older than the mark's, so a new one named after `next_seq` sorts last.
            create_segment(dir, mark.next_seq, sync)?;
            firsts.push(mark.next_seq);
            limit = Some(0);
        }
    }
    let mut segments = Vec::with_capacity(firsts.len().max(1));
    for &first in &firsts {
        segments.push((first, fs::metadata(segment_path(dir, first))?.len()));
    }
    let Some(&(active, file_len)) = segments.last() else {
        // A new shard (with a mark, there is always a segment by now).
        let file = create_segment(dir, 1, sync)?;
        let tail = Tail {
            segment: 1,
            file,
            len: 0,
            first_arrival_ms: None,
            last_arrival_ms: i64::MIN,
            next_seq: 1,
            marked: None,
        };
        return Ok(Recovered { segments: vec![(1, 0)], tail });
    };

    let path = segment_path(dir, active);
    let scan_limit = limit.map_or(file_len, |marked| marked.min(file_len));
    let found = scan(&path, scan_limit)?;
    if found.valid_len < file_len {
        let why = found.stopped.unwrap_or("written after the last sync");
        tracing::warn!(
            stream,
            "recovery dropped {} bytes at the end of {} from byte {}: {why}",
            file_len - found.valid_len,
            path.display(),
            found.valid_len
        );
        let file = OpenOptions::new().write(true).open(&path)?;
        file.set_len(found.valid_len)?;
        if sync {
            file.sync_all()?;
        }
    }
    if let Some(marked) = limit.filter(|&marked| found.valid_len < marked) {
        tracing::warn!(
            stream,
            "{} holds {} valid bytes but {marked} were marked synced: records were lost (fsync `never`, or a \
             damaged disk)",
            path.display(),
            found.valid_len
        );
    }
    if let Some(last) = segments.last_mut() {
        last.1 = found.valid_len;
    }
    // Never hand out a sequence number again that a consumer may have checkpointed: continue after the mark
    // even if the records behind it were lost.
    let next_seq = found.last_seq.map_or(active, |last| last + 1).max(mark.map_or(1, |m| m.next_seq));
    let marked = mark.filter(|m| m.segment == active && m.length == found.valid_len && m.next_seq == next_seq);
    let tail = Tail {
        segment: active,
        file: OpenOptions::new().append(true).open(&path)?,
        len: found.valid_len,
        first_arrival_ms: found.first_arrival_ms,
        last_arrival_ms: found.last_arrival_ms.unwrap_or(i64::MIN),
        next_seq,
        marked,
    };
    Ok(Recovered { segments, tail })
}
