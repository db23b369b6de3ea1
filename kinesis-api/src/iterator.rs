//! Shard iterators: opaque tokens saying where GetRecords reads, valid for five minutes as in Kinesis.
//!
//! ```text
//!  base64( 1 | issued ms | shard | next seq | has locator | segment | offset | name length | stream name | MAC )
//! ```
//!
//! The locator (where the stream found the next record) lets a read start right where the last one stopped
//! instead of searching a segment for the sequence number. It is trusted only when the MAC, keyed with a
//! secret of this process, matches: a token from an earlier run of the server (or an altered one) still reads
//! from its sequence number, just without the shortcut.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;

/// How long an iterator is valid, as in Kinesis.
pub const ITERATOR_TTL_MS: i64 = 300_000;

const VERSION: u8 = 1;
const MAC_BYTES: usize = 16;
/// Version, issued ms, shard, next seq, locator flag, segment, offset, name length.
const FIXED_BYTES: usize = 1 + 8 + 4 + 8 + 1 + 8 + 8 + 1;

/// Where an iterator points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The stream.
    pub stream: String,
    /// The shard's index.
    pub shard: u32,
    /// The first sequence number to read.
    pub next_seq: u64,
    /// Where the stream said that record lies, when this process issued the token.
    pub locator: Option<[u64; 2]>,
}

/// Makes and reads iterators with this process's key.
#[derive(Debug)]
pub struct Iterators {
    key: [u8; 32],
}

impl Default for Iterators {
    fn default() -> Self {
        Self::new()
    }
}

impl Iterators {
    /// Iterators keyed with a fresh random secret.
    pub fn new() -> Self {
        let mut key = [0; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Iterators { key }
    }

    fn mac(&self, bytes: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(bytes);
        let mut out = [0; MAC_BYTES];
        out.copy_from_slice(&mac.finalize().into_bytes()[..MAC_BYTES]);
        out
    }

    /// A token for `position`, issued at `now_ms`.
    pub fn encode(&self, position: &Position, now_ms: i64) -> String {
        let name = position.stream.as_bytes();
        let name = &name[..name.len().min(u8::MAX as usize)]; // Stream names have at most 128 characters.
        let [segment, offset] = position.locator.unwrap_or_default();
        let mut bytes = Vec::with_capacity(FIXED_BYTES + name.len() + MAC_BYTES);
        bytes.push(VERSION);
        bytes.extend_from_slice(&now_ms.to_be_bytes());
        bytes.extend_from_slice(&position.shard.to_be_bytes());
        bytes.extend_from_slice(&position.next_seq.to_be_bytes());
        bytes.push(u8::from(position.locator.is_some()));
        bytes.extend_from_slice(&segment.to_be_bytes());
        bytes.extend_from_slice(&offset.to_be_bytes());
        bytes.push(name.len() as u8);
        bytes.extend_from_slice(name);
        let mac = self.mac(&bytes);
        bytes.extend_from_slice(&mac);
        STANDARD.encode(bytes)
    }

    /// The position of a token; InvalidArgumentException when it is not one, ExpiredIteratorException when it
    /// is older than five minutes at `now_ms`.
    pub fn decode(&self, token: &str, now_ms: i64) -> Result<Position, ApiError> {
        let invalid = || ApiError::invalid_argument("Invalid ShardIterator.");
        let bytes = STANDARD.decode(token).map_err(|_| invalid())?;
        if bytes.len() < FIXED_BYTES + MAC_BYTES || bytes[0] != VERSION {
            return Err(invalid());
        }
        let (body, mac) = bytes.split_at(bytes.len() - MAC_BYTES);
        let u64_at = |at: usize| body.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes);
        let issued_ms = u64_at(1).map(|v| v as i64).ok_or_else(invalid)?;
        let shard = body.get(9..13).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes).ok_or_else(invalid)?;
        let next_seq = u64_at(13).ok_or_else(invalid)?;
        let has_locator = body[21] == 1;
        let locator = [u64_at(22).ok_or_else(invalid)?, u64_at(30).ok_or_else(invalid)?];
        let name_len = usize::from(body[38]);
        let name = body.get(FIXED_BYTES..).filter(|name| name.len() == name_len).ok_or_else(invalid)?;
        let stream = String::from_utf8(name.to_vec()).map_err(|_| invalid())?;
        if issued_ms > now_ms + 1_000 {
            return Err(invalid());
        }
        if now_ms - issued_ms > ITERATOR_TTL_MS {
            return Err(ApiError::expired_iterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} which is further \
                 in the future than the tolerated delay of {ITERATOR_TTL_MS} milliseconds.",
                amz_time(issued_ms),
                amz_time(now_ms)
            )));
        }
        let trusted = has_locator && self.mac(body) == mac;
        Ok(Position { stream, shard, next_seq, locator: trusted.then_some(locator) })
    }
}

/// A time as Kinesis prints it in messages: `Thu Jan 22 01:22:02 UTC 2015`.
fn amz_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |at| at.format("%a %b %d %H:%M:%S UTC %Y").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(locator: Option<[u64; 2]>) -> Position {
        Position { stream: "metrics_stream".into(), shard: 3, next_seq: 42, locator }
    }

    #[test]
    fn tokens_round_trip_and_keep_their_locator_only_for_this_process() -> Result<(), ApiError> {
        let iterators = Iterators::new();
        let token = iterators.encode(&position(Some([7, 4096])), 1_000);
        assert!(token.len() <= 512, "Kinesis iterators are at most 512 characters");
        assert_eq!(iterators.decode(&token, 2_000)?, position(Some([7, 4096])));
        let restarted = Iterators::new();
        assert_eq!(restarted.decode(&token, 2_000)?, position(None), "another key: read by sequence number");
        Ok(())
    }

    #[test]
    fn garbage_is_invalid_and_old_tokens_expire() {
        let iterators = Iterators::new();
        for token in ["", "not base64!", "AAAA", &STANDARD.encode([1u8; 60])] {
            let error = iterators.decode(token, 0).expect_err("not a token");
            assert_eq!((error.kind, error.message.as_str()), ("InvalidArgumentException", "Invalid ShardIterator."));
        }
        let token = iterators.encode(&position(None), 1_000);
        let error = iterators.decode(&token, 1_000 + ITERATOR_TTL_MS + 1).expect_err("expired");
        assert_eq!(error.kind, "ExpiredIteratorException");
        assert!(
            error
                .message
                .starts_with("Iterator expired. The iterator was created at time Thu Jan 01 00:00:01 UTC 1970")
        );
    }
}
