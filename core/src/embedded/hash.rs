//! Partition keys to shards, exactly as Kinesis does it.
//!
//! The MD5 of a key's UTF-8 bytes, read as a 128-bit big-endian integer, is the record's hash key.
//! CreateStream splits the hash-key space `[0, 2^128)` evenly: `step = 2^128 / n` (integer division), shard
//! `i` starts at `i * step`, and the last shard also takes the remainder up to `2^128 - 1`.

use md5::{Digest, Md5};

/// The index of the shard that holds `partition_key` in a stream of `shard_count` shards (Kinesis's MD5
/// rule with CreateStream's even hash-key ranges). A count of 0 is treated as 1.
pub fn shard_for_key(partition_key: &str, shard_count: u32) -> u32 {
    if shard_count <= 1 {
        return 0; // No need to hash.
    }
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    shard_for_hash(u128::from_be_bytes(digest), shard_count)
}

/// The shard whose hash-key range holds `hash` (a partition key's MD5, or an explicit hash key). A count of 0
/// is treated as 1.
pub fn shard_for_hash(hash: u128, shard_count: u32) -> u32 {
    if shard_count <= 1 {
        return 0; // One shard owns everything (and 2^128 / 1 does not fit in a u128).
    }
    let n = u128::from(shard_count);
    // 2^128 / n = (u128::MAX + 1) / n: one more than u128::MAX / n exactly when n divides 2^128.
    let step = u128::MAX / n + u128::from(u128::MAX % n == n - 1);
    u32::try_from(hash / step).map_or(shard_count - 1, |index| index.min(shard_count - 1))
}

/// The hash-key range of shard `index` of `shard_count`, first and last key included, as CreateStream splits
/// `[0, 2^128)`.
pub fn hash_key_range(index: u32, shard_count: u32) -> (u128, u128) {
    if shard_count <= 1 {
        return (0, u128::MAX);
    }
    let n = u128::from(shard_count);
    let step = u128::MAX / n + u128::from(u128::MAX % n == n - 1);
    let start = step * u128::from(index);
    let end = if index + 1 >= shard_count { u128::MAX } else { start + step - 1 };
    (start, end)
}

/// The Kinesis name of shard `index`: `shardId-` and 12 digits (`shardId-000000000003`).
pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// The index in a Kinesis shard name, if it is one.
pub(crate) fn parse_shard_id(id: &str) -> Option<u32> {
    id.strip_prefix("shardId-").filter(|digits| digits.len() == 12).and_then(|digits| digits.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed independently with Python, for each key and shard counts 1, 2, 3, 4, 7, 500:
    /// `h = int.from_bytes(hashlib.md5(key.encode()).digest(), "big"); min(h // (2**128 // n), n - 1)`.
    const VECTORS: [(&str, [u32; 6]); 10] = [
        ("a", [0, 0, 0, 0, 0, 24]),
        (" ", [0, 0, 1, 1, 3, 222]),
        ("\0", [0, 1, 1, 2, 4, 288]),
        ("0", [0, 1, 2, 3, 5, 405]),
        ("Kinesis", [0, 0, 1, 1, 2, 174]),
        ("partition-key-1", [0, 0, 0, 0, 0, 49]),
        ("user-42", [0, 0, 1, 1, 3, 230]),
        ("shop-metrics", [0, 1, 1, 2, 3, 282]),
        ("ü日本語", [0, 0, 0, 0, 0, 43]),
        ("🦀", [0, 1, 2, 3, 5, 400]),
    ];
    const COUNTS: [u32; 6] = [1, 2, 3, 4, 7, 500];

    #[test]
    fn keys_map_to_shards_as_kinesis_md5() {
        let long_key = "k".repeat(256);
        let mut vectors = VECTORS.to_vec();
        vectors.push((&long_key, [0, 1, 2, 3, 6, 443])); // `"k" * 256`, the longest key allowed.
        for (key, expected) in vectors {
            let got = COUNTS.map(|n| shard_for_key(key, n));
            assert_eq!(got, expected, "key {key:?}");
        }
    }

    #[test]
    fn ranges_split_evenly_and_the_last_shard_takes_the_remainder() {
        // 2^128 / 3 = 113427455640312821154458202477256070485 (Kinesis's first ending hash key + 1).
        let step = 113_427_455_640_312_821_154_458_202_477_256_070_485_u128;
        assert_eq!(shard_for_hash(step - 1, 3), 0);
        assert_eq!(shard_for_hash(step, 3), 1);
        assert_eq!(shard_for_hash(3 * step, 3), 2);
        assert_eq!(shard_for_hash(u128::MAX, 3), 2);
        assert_eq!(shard_for_hash(1 << 127, 2), 1);
        assert_eq!(shard_for_hash((1 << 127) - 1, 2), 0);
        assert_eq!(shard_for_hash(u128::MAX, 1), 0);
        assert_eq!(hash_key_range(0, 3), (0, step - 1));
        assert_eq!(hash_key_range(2, 3), (2 * step, u128::MAX));
        assert_eq!(hash_key_range(1, 2), (1 << 127, u128::MAX));
        assert_eq!(hash_key_range(0, 1), (0, u128::MAX));
    }

    #[test]
    fn shard_ids_have_twelve_digits() {
        assert_eq!(shard_id(0), "shardId-000000000000");
        assert_eq!(shard_id(499), "shardId-000000000499");
        assert_eq!(parse_shard_id("shardId-000000000499"), Some(499));
        assert_eq!(parse_shard_id("shardId-499"), None);
    }
}
