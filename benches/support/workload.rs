//! The reference workload of `../shared/reference/performance.md`: NDJSON records like the tutorial's producer,
//! generated deterministically so every run and every engine reads identical bytes.

use std::io::Write;
use std::path::Path;

/// Writes `count` reference records to `path` (about 95 bytes each): timestamps from 2020-07-01T00:00:00.000
/// up 10 ms per record; four uniform integers in 1-100, 0-10, 0-5, 0-3 from a fixed-seed generator.
pub fn write_records(path: &Path, count: u64) -> std::io::Result<()> {
    write_to(std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?), count)
}

/// The same records as [`write_records`], in memory.
#[allow(dead_code)] // Only sql/examples/engine_profile.rs calls it.
pub fn records(count: u64) -> Vec<u8> {
    let mut records = Vec::with_capacity(count as usize * 96);
    write_to(&mut records, count).expect("writing to memory cannot fail");
    records
}

fn write_to(mut out: impl Write, count: u64) -> std::io::Result<()> {
    let mut state: u64 = 0x5eed_5eed_5eed_5eed;
    let mut next = |bound: u64| {
        // xorshift64*: deterministic and dependency-free; the bench needs identical bytes, not quality.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % bound
    };
    for i in 0..count {
        let ms = i * 10;
        let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        let (day, h) = (1 + h / 24, h % 24);
        writeln!(
            out,
            r#"{{"timestamp": "2020-07-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}", "requests_newUsers_newOrders_churnUsers": "{},{},{},{}"}}"#,
            1 + next(100),
            next(11),
            next(6),
            next(4)
        )?;
    }
    out.flush()
}
