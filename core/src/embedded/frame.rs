//! The on-disk record frame.
//!
//! ```text
//!  ┌──────────────┬──────────────────┬─────────────────────────────────────────────────────────────┐
//!  │ u32 LE       │ u32 LE           │ payload                                                     │
//!  │ payload len  │ crc32c(payload)  │ u64 LE seq │ i64 LE arrival_ms │ u16 LE key len │ key │ data │
//!  └──────────────┴──────────────────┴─────────────────────────────────────────────────────────────┘
//! ```
//!
//! The length comes first so a reader knows how much to read; the checksum covers the whole payload, so a
//! torn write or a flipped bit is detected before a record is handed out.

use crate::runtime::record::{MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES};

/// Bytes before the payload: its length and its checksum.
pub(crate) const HEADER_BYTES: usize = 8;
/// The payload's fixed fields: sequence number, arrival time, key length.
const FIXED_BYTES: usize = 8 + 8 + 2;
/// The largest payload a valid frame can have (a key is at most 256 characters of up to 4 bytes).
const MAX_PAYLOAD_BYTES: usize = FIXED_BYTES + 4 * MAX_PARTITION_KEY_CHARS + MAX_RECORD_BYTES;

/// The size of a record's frame.
pub(crate) fn frame_len(key: &str, data: &[u8]) -> usize {
    HEADER_BYTES + FIXED_BYTES + key.len() + data.len()
}

/// Appends a record's frame to `out`. The key must be at most 1024 bytes (checked when the batch is put).
pub(crate) fn encode(out: &mut Vec<u8>, seq: u64, arrival_ms: i64, key: &str, data: &[u8]) {
    let start = out.len();
    let payload_len = FIXED_BYTES + key.len() + data.len();
    out.reserve(HEADER_BYTES + payload_len);
    out.extend_from_slice(&(payload_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]); // The checksum, once the payload is in place.
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&arrival_ms.to_le_bytes());
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(data);
    let crc = crc32c::crc32c(&out[start + HEADER_BYTES..]);
    out[start + 4..start + HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
}

/// What the bytes at the start of a buffer hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// A valid frame of this many bytes (header included): [`parse`] it.
    Complete(usize),
    /// The start of a frame; it needs at least this many bytes in all.
    Incomplete(usize),
    /// Not a valid frame, and why.
    Corrupt(&'static str),
}

/// Checks the frame at the start of `buf`: length, checksum and key length.
pub(crate) fn check(buf: &[u8]) -> Status {
    let Some(header) = buf.get(..HEADER_BYTES) else { return Status::Incomplete(HEADER_BYTES) };
    let payload_len = u32::from_le_bytes(array(header, 0)) as usize;
    if !(FIXED_BYTES..=MAX_PAYLOAD_BYTES).contains(&payload_len) {
        return Status::Corrupt("impossible record length");
    }
    let total = HEADER_BYTES + payload_len;
    let Some(payload) = buf.get(HEADER_BYTES..total) else { return Status::Incomplete(total) };
    if crc32c::crc32c(payload) != u32::from_le_bytes(array(header, 4)) {
        return Status::Corrupt("checksum mismatch");
    }
    let key_len = usize::from(u16::from_le_bytes(array(payload, 16)));
    if FIXED_BYTES + key_len > payload_len {
        return Status::Corrupt("partition key longer than the record");
    }
    Status::Complete(total)
}

/// A record as it lies in a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    /// Its sequence number in its shard.
    pub seq: u64,
    /// When it arrived, in milliseconds since the Unix epoch.
    pub arrival_ms: i64,
    /// The partition key's bytes (UTF-8 when written by us).
    pub key: &'a [u8],
    /// The record's data.
    pub data: &'a [u8],
}

/// The fields of a frame that [`check`] found `Complete(len)`, `frame` being exactly those `len` bytes.
pub(crate) fn parse(frame: &[u8]) -> Frame<'_> {
    let payload = &frame[HEADER_BYTES..];
    let key_len = usize::from(u16::from_le_bytes(array(payload, 16)));
    Frame {
        seq: u64::from_le_bytes(array(payload, 0)),
        arrival_ms: i64::from_le_bytes(array(payload, 8)),
        key: &payload[FIXED_BYTES..FIXED_BYTES + key_len],
        data: &payload[FIXED_BYTES + key_len..],
    }
}

/// `N` bytes of `bytes` from `at` (the caller checked the length).
fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, -3, "ü-key", b"hello");
        encode(&mut buf, u64::MAX, i64::MAX, "k", b"");
        let first_len = frame_len("ü-key", b"hello");
        assert_eq!(check(&buf), Status::Complete(first_len));
        assert_eq!(parse(&buf[..first_len]), Frame { seq: 7, arrival_ms: -3, key: "ü-key".as_bytes(), data: b"hello" });
        let rest = &buf[first_len..];
        assert_eq!(check(rest), Status::Complete(rest.len()));
        assert_eq!(parse(rest), Frame { seq: u64::MAX, arrival_ms: i64::MAX, key: b"k", data: b"" });
    }

    #[test]
    fn torn_and_damaged_frames_are_detected() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, 2, "key", b"some data");
        assert_eq!(check(&buf[..3]), Status::Incomplete(HEADER_BYTES));
        assert_eq!(check(&buf[..buf.len() - 1]), Status::Incomplete(buf.len()));
        let mut flipped = buf.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert_eq!(check(&flipped), Status::Corrupt("checksum mismatch"));
        assert_eq!(check(&[0; 32]), Status::Corrupt("impossible record length"));
        assert_eq!(check(&[0xff; 32]), Status::Corrupt("impossible record length"));
    }
}
