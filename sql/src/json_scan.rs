//! Finding the bytes that end a JSON string's plain run (`"`, `\\`, control characters and, when asked, bytes
//! above 0x7F), eight bytes at a time: record fields and row values are short, too short to set up a vector
//! search. The JSON input reads strings with it and the JSON writer decides which strings need escapes.

const ONES: u64 = 0x0101_0101_0101_0101;
/// As `high`: flag every byte above 0x7F too (text not yet known to be UTF-8).
pub(crate) const NON_ASCII: u64 = 0x8080_8080_8080_8080;

/// Flags (high bit of a byte) the bytes of `word` that a JSON string cannot hold as they are (`"`, `\\`, control
/// characters), and with `high` = [`NON_ASCII`] bytes above 0x7F. Non-zero exactly when `word` holds one; the
/// lowest flag is exact, flags above it may be false.
#[inline(always)]
pub(crate) fn special_flags(word: u64, high: u64) -> u64 {
    // Flags bytes below `n` (n <= 0x80).
    let below = |word: u64, n: u64| word.wrapping_sub(ONES * n) & !word & NON_ASCII;
    below(word ^ (ONES * u64::from(b'"')), 1)
        | below(word ^ (ONES * u64::from(b'\\')), 1)
        | below(word, 0x20)
        | word & high
}

/// The offset of the first byte of `bytes` that [`special_flags`] flags.
#[inline(always)]
pub(crate) fn special_at(bytes: &[u8], high: u64) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        let flags = special_flags(word, high);
        if flags != 0 {
            return Some(at + (flags.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let high = high != 0;
    words.remainder().iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20 || (high && b >= 0x80)).map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_bytes_are_found_at_their_first_offset() {
        let cases: [(&[u8], u64, Option<usize>); 9] = [
            (b"plain text without end", NON_ASCII, None),
            (b"0123456789\"", NON_ASCII, Some(10)),
            (b"01234567\\\"", NON_ASCII, Some(8)),
            (b"ab\ncd\"", NON_ASCII, Some(2)),
            ("0123é\"".as_bytes(), NON_ASCII, Some(4)),
            ("0123é\"".as_bytes(), 0, Some(6)),
            ("0123456789é\"".as_bytes(), 0, Some(12)),
            (b"\x1f\"", 0, Some(0)),
            // A byte below a special one in the same word never hides it, nor makes a false one.
            (b"!#\x21\x5b\x5d\x7f\x20\x22", NON_ASCII, Some(7)),
        ];
        for (bytes, high, expected) in cases {
            assert_eq!(special_at(bytes, high), expected, "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn the_word_at_a_time_scan_finds_the_first_special_byte() {
        let naive = |bytes: &[u8]| bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        let mut cases: Vec<Vec<u8>> =
            vec![b"".to_vec(), b"plain".to_vec(), b"requests_newUsers_newOrders_churnUsers\"".to_vec()];
        // Every special byte (and bytes around the thresholds) at every offset of a 19-byte run.
        for special in [b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
            for at in 0..19 {
                let mut bytes = vec![b'a'; 19];
                bytes[at] = special;
                cases.push(bytes.clone());
                bytes[(at + 5) % 19] = b'"';
                cases.push(bytes);
            }
        }
        for bytes in cases {
            assert_eq!(special_at(&bytes, 0), naive(&bytes), "{bytes:?}");
        }
    }
}
