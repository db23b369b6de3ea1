//! Line framing shared by `file` and `stdin`: bytes in, records out.
//!
//! [`LineReader`] is I/O-free: its owner reads into [`LineReader::spare`] (blocking or async, as its input
//! needs) and reports [`LineReader::filled`]; the reader splits complete lines off the front of its buffer as
//! records' `Bytes`, which share the buffer, so a line costs neither an allocation nor a copy. It applies the format (blank lines
//! dropped for NDJSON, a header skipped for CSV), strips `\n` and a trailing `\r`, and counts the input offset
//! after the last line it consumed: the position a restart resumes from.
//!
//! A line over the 1 MiB record limit is not a record: it is skipped and remembered with its line number
//! ([`LineReader::take_rejected`]), so its producer reports it (producer, file, line) and goes on.

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use sluice_core::runtime::buffers::BufferPool;
use sluice_core::runtime::record::{MAX_RECORD_BYTES, PutRecord};

use super::{InputFormat, PartitionKeys};

/// Most payload bytes per put.
pub(crate) const BATCH_BYTES: usize = 4 << 20;

/// The buffer size, and the least room a read gets: large reads keep system calls rare.
const BUFFER_BYTES: usize = 1 << 20;

/// Records being gathered for one put, bounded by records (the budget's reservation) and bytes.
pub(crate) struct Batch {
    pub(crate) records: Vec<PutRecord>,
    bytes: usize,
    max_records: usize,
}

impl Batch {
    pub(crate) fn new(max_records: usize) -> Self {
        Batch { records: Vec::with_capacity(max_records), bytes: 0, max_records }
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.records.len() >= self.max_records || self.bytes >= BATCH_BYTES
    }

    /// Whether a record of `len` bytes fits; the first always does, however large.
    fn fits(&self, len: usize) -> bool {
        self.records.len() < self.max_records && (self.records.is_empty() || self.bytes + len <= BATCH_BYTES)
    }

    fn push(&mut self, partition_key: Arc<str>, data: Bytes) {
        self.bytes += data.len();
        self.records.push(PutRecord { partition_key, data });
    }
}

/// Cuts a byte input into records, line by line.
pub(crate) struct LineReader {
    format: InputFormat,
    /// `buf[..end]` is read input not yet consumed; `buf[end..]` is room for the next read. Consumed lines are
    /// split off the front.
    buf: BytesMut,
    end: usize,
    /// Earlier buffers, reused once records no longer hold them.
    pool: BufferPool,
    /// Input offset of `buf[0]`: just after the last consumed line.
    offset: u64,
    /// CSV: the next line is the header.
    header_pending: bool,
    /// Lines consumed before `buf[0]`, over the whole input (header and skipped lines included).
    line: u64,
    /// Lines over the record limit, skipped since the last [`take_rejected`](Self::take_rejected): (line
    /// number from 1, bytes).
    rejected: Vec<(u64, usize)>,
}

impl LineReader {
    /// A reader of input that starts at `offset` (0, or where a previous run stopped: past any CSV header).
    pub(crate) fn new(format: InputFormat, offset: u64) -> Self {
        let header_pending = format == InputFormat::Csv && offset == 0;
        LineReader {
            format,
            buf: BytesMut::new(),
            end: 0,
            pool: BufferPool::default(),
            offset,
            header_pending,
            line: 0,
            rejected: Vec::new(),
        }
    }

    /// Numbers lines after `lines` lines already consumed (a restart at a stored offset).
    pub(crate) fn after_lines(mut self, lines: u64) -> Self {
        self.line = lines;
        self
    }

    /// Lines consumed so far, over the whole input.
    pub(crate) fn lines(&self) -> u64 {
        self.line
    }

    /// The lines skipped for being over the record limit since the last call: (line number from 1, bytes).
    pub(crate) fn take_rejected(&mut self) -> Vec<(u64, usize)> {
        std::mem::take(&mut self.rejected)
    }

    /// The input offset just after the last consumed line.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The input offset of the end of what was read: [`offset`](Self::offset) plus an unfinished line.
    pub(crate) fn read_offset(&self) -> u64 {
        self.offset + self.end as u64
    }

    /// Whether everything read has been consumed.
    pub(crate) fn is_drained(&self) -> bool {
        self.end == 0
    }

    /// Whether a complete line is waiting.
    pub(crate) fn has_line(&self) -> bool {
        find_newline(&self.buf[..self.end]).is_some()
    }

    /// Where to read more input; call [`filled`](Self::filled) with how much was read.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.buf.len() - self.end < BUFFER_BYTES / 4 {
            // Little room left: another buffer, with the unfinished line at its front (a short copy that keeps reads
            // large), and twice that line's size if it is long. Records still hold parts of this one.
            let size = BUFFER_BYTES.max(2 * self.end);
            let mut fresh = self.pool.take(size);
            fresh.extend_from_slice(&self.buf[..self.end]);
            fresh.resize(size, 0);
            let used = std::mem::replace(&mut self.buf, fresh);
            self.pool.retire(used.freeze());
        }
        &mut self.buf[self.end..]
    }

    /// Records that `read` bytes were read into [`spare`](Self::spare).
    pub(crate) fn filled(&mut self, read: usize) {
        self.end = (self.end + read).min(self.buf.len());
    }

    /// Moves complete lines into `batch` until it is full (true) or more input is needed (false).
    pub(crate) fn fill(&mut self, batch: &mut Batch, keys: &mut PartitionKeys) -> bool {
        while !batch.is_full() {
            let Some(at) = find_newline(&self.buf[..self.end]) else { return false };
            if !self.consume(at, at + 1, batch, keys) {
                return true;
            }
        }
        true
    }

    /// At the end of a finite input: the unfinished last line, if any, becomes a record. False if it does not
    /// fit in `batch` (call again with a new batch).
    pub(crate) fn finish(&mut self, batch: &mut Batch, keys: &mut PartitionKeys) -> bool {
        let len = self.end;
        len == 0 || self.consume(len, len, batch, keys)
    }

    /// Consumes `advance` bytes holding a line of `len` bytes (without its `\n`); false, consuming nothing,
    /// if its record does not fit.
    fn consume(&mut self, len: usize, advance: usize, batch: &mut Batch, keys: &mut PartitionKeys) -> bool {
        let len = if len > 0 && self.buf[len - 1] == b'\r' { len - 1 } else { len };
        let skip = if self.header_pending {
            self.header_pending = false;
            true
        } else {
            self.format == InputFormat::Ndjson && self.buf[..len].iter().all(u8::is_ascii_whitespace)
        };
        if skip {
            self.buf.advance(advance);
        } else if len > MAX_RECORD_BYTES {
            self.rejected.push((self.line + 1, len));
            self.buf.advance(advance);
        } else {
            if !batch.fits(len) {
                return false;
            }
            let mut line = self.buf.split_to(advance);
            line.truncate(len);
            batch.push(keys.next(), line.freeze());
        }
        self.end -= advance;
        self.offset += advance as u64;
        self.line += 1;
        true
    }
}

/// The index of the first `\n`: `memchr`, which picks the widest SIMD compares the CPU has at run time.
fn find_newline(haystack: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', haystack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producers::KeyTemplate;
    use crate::producers::template::Template;

    /// Feeds `input` in `chunk`-byte reads, as a finite input; returns the records' payloads.
    fn split(format: InputFormat, input: &[u8], chunk: usize) -> Vec<String> {
        let mut reader = LineReader::new(format, 0);
        let mut keys = PartitionKeys::new(KeyTemplate::new(Template::uuid()), 0);
        let mut out = Vec::new();
        let mut rest = input;
        loop {
            let mut batch = Batch::new(3);
            let full = reader.fill(&mut batch, &mut keys);
            if !full {
                if rest.is_empty() {
                    reader.finish(&mut batch, &mut keys);
                    out.append(&mut batch.records);
                    break;
                }
                let spare = reader.spare();
                let n = chunk.min(rest.len()).min(spare.len());
                spare[..n].copy_from_slice(&rest[..n]);
                reader.filled(n);
                rest = &rest[n..];
            }
            out.append(&mut batch.records);
        }
        assert_eq!(reader.offset(), input.len() as u64, "everything consumed");
        out.into_iter().map(|r| String::from_utf8_lossy(&r.data).into_owned()).collect()
    }

    #[test]
    fn formats_split_lines_whatever_the_read_sizes() {
        let input = b"{\"a\":1}\r\n\n  \n{\"a\":2}\n{\"a\":3}";
        for chunk in [1, 2, 5, 1000] {
            assert_eq!(split(InputFormat::Ndjson, input, chunk), ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"]);
            assert_eq!(split(InputFormat::Lines, input, chunk), ["{\"a\":1}", "", "  ", "{\"a\":2}", "{\"a\":3}"]);
            assert_eq!(split(InputFormat::Csv, b"h1,h2\r\n1,2\r\n\n3,4", chunk), ["1,2", "", "3,4"]);
        }
    }

    #[test]
    fn a_line_over_the_record_limit_is_skipped_and_reported_with_its_number() {
        let big = "x".repeat(MAX_RECORD_BYTES + 1);
        let exact = "y".repeat(MAX_RECORD_BYTES);
        let input = format!("a\n{big}\n{exact}\nb\n{big}");
        let mut reader = LineReader::new(InputFormat::Lines, 0).after_lines(10);
        let mut keys = PartitionKeys::new(KeyTemplate::new(Template::uuid()), 0);
        let mut out = Vec::new();
        let mut rest = input.as_bytes();
        loop {
            let mut batch = Batch::new(100);
            if !reader.fill(&mut batch, &mut keys) {
                if rest.is_empty() {
                    reader.finish(&mut batch, &mut keys);
                    out.append(&mut batch.records);
                    break;
                }
                let spare = reader.spare();
                let n = rest.len().min(spare.len());
                spare[..n].copy_from_slice(&rest[..n]);
                reader.filled(n);
                rest = &rest[n..];
            }
            out.append(&mut batch.records);
        }
        let lens: Vec<usize> = out.iter().map(|r| r.data.len()).collect();
        assert_eq!(lens, [1, MAX_RECORD_BYTES, 1], "1 MiB exactly is allowed");
        assert_eq!(reader.take_rejected(), [(12, MAX_RECORD_BYTES + 1), (15, MAX_RECORD_BYTES + 1)]);
        assert_eq!((reader.lines(), reader.offset()), (15, input.len() as u64));
        assert!(reader.take_rejected().is_empty());
    }

    #[test]
    fn a_final_newline_makes_no_empty_record() {
        assert_eq!(split(InputFormat::Lines, b"a\nb\n", 7), ["a", "b"]);
        assert_eq!(split(InputFormat::Lines, b"a\r", 7), ["a"]);
        assert!(split(InputFormat::Csv, b"header only", 7).is_empty());
    }

    #[test]
    fn records_stay_intact_while_buffers_are_reused() {
        let lines: Vec<String> = (0..60_000).map(|i| format!("line {i} {}", "x".repeat(i % 80))).collect();
        let input = lines.join("\n");
        let (mut rest, mut next) = (input.as_bytes(), 0);
        let mut reader = LineReader::new(InputFormat::Lines, 0);
        let mut keys = PartitionKeys::new(KeyTemplate::new(Template::uuid()), 0);
        // The last few batches stay alive, as in a pipeline; older ones are dropped, so buffers come back.
        let mut held: std::collections::VecDeque<(usize, Vec<PutRecord>)> = Default::default();
        let check = |first: usize, records: &[PutRecord]| {
            for (record, line) in records.iter().zip(&lines[first..]) {
                assert_eq!(&record.data[..], line.as_bytes());
            }
        };
        while next < lines.len() {
            let mut batch = Batch::new(1000);
            if !reader.fill(&mut batch, &mut keys) && batch.is_empty() {
                if rest.is_empty() {
                    reader.finish(&mut batch, &mut keys);
                } else {
                    let spare = reader.spare();
                    let n = spare.len().min(rest.len()).min(100_000);
                    spare[..n].copy_from_slice(&rest[..n]);
                    reader.filled(n);
                    rest = &rest[n..];
                }
            }
            check(next, &batch.records);
            held.push_back((next, batch.records));
            next += held.back().map_or(0, |(_, records)| records.len());
            if held.len() > 3
                && let Some((first, records)) = held.pop_front()
            {
                check(first, &records);
            }
        }
        assert_eq!(next, lines.len());
        for (first, records) in &held {
            check(*first, records);
        }
    }

    #[test]
    fn long_lines_grow_the_buffer() {
        // The longest record there is: with its newline, more than a buffer holds.
        let long = "x".repeat(MAX_RECORD_BYTES.max(BUFFER_BYTES));
        let input = format!("{long}\nshort\n");
        assert_eq!(split(InputFormat::Lines, input.as_bytes(), BUFFER_BYTES), [long.as_str(), "short"]);
    }

    #[test]
    fn batches_stop_at_the_byte_limit() {
        let mut reader = LineReader::new(InputFormat::Lines, 0);
        let mut keys = PartitionKeys::new(KeyTemplate::new(Template::uuid()), 0);
        // Records of the largest size: four make a full batch.
        let mut line = vec![b'x'; MAX_RECORD_BYTES];
        line.push(b'\n');
        let per_batch = BATCH_BYTES / MAX_RECORD_BYTES;
        let mut input = &line.repeat(per_batch + 1)[..];
        while !input.is_empty() {
            let spare = reader.spare();
            let n = spare.len().min(input.len());
            spare[..n].copy_from_slice(&input[..n]);
            reader.filled(n);
            input = &input[n..];
        }
        let mut batch = Batch::new(100);
        assert!(reader.fill(&mut batch, &mut keys), "full");
        assert_eq!(batch.len(), per_batch);
        assert_eq!(reader.offset(), (per_batch * line.len()) as u64);
    }

    #[test]
    fn find_newline_finds_the_first() {
        for len in [0, 1, 31, 32, 33, 64, 100] {
            let mut bytes = vec![b'a'; len + 40];
            bytes[len] = b'\n';
            bytes[len + 5] = b'\n';
            assert_eq!(find_newline(&bytes), Some(len));
            assert_eq!(find_newline(&bytes[..len]), None);
        }
    }
}
