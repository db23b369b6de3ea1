//! Dates, times and timestamps as text: KDA's literal forms in, its canonical forms out. Byte-level and
//! allocation-free on the way in, because every JSON record of a TIMESTAMP column goes through here.
//!
//! Accepted: `1992-02-14`; `18:35:44`, `18:35:44.123`; `1992-02-14 18:35:44`, `1992-02-14 18:35:44.0`,
//! `1992-02-14T18:35:44.123` (ISO-8601's `T`), with an optional trailing `Z`; fractions of 1 to 9 digits are
//! cut to milliseconds. Output: `yyyy-MM-dd`, `HH:mm:ss.SSS` and `yyyy-MM-dd HH:mm:ss.SSS`.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day number since 1970-01-01 (`civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Days in `month` of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

fn parse_date_bytes(bytes: &[u8]) -> Option<i64> {
    // yyyy-MM-dd, the year 1 to 4 digits.
    let first = bytes.iter().position(|b| *b == b'-')?;
    let rest = &bytes[first + 1..];
    let second = rest.iter().position(|b| *b == b'-')?;
    let year = digits(&bytes[..first])?;
    let month = digits(&rest[..second])?;
    let day = digits(&rest[second + 1..])?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn parse_time_bytes(bytes: &[u8]) -> Option<i64> {
    // HH:mm[:ss[.fraction]]
    let mut parts = bytes.splitn(3, |b| *b == b':');
    let hour = digits(parts.next()?)?;
    let minute = digits(parts.next()?)?;
    let (second, millis) = match parts.next() {
        None => (0, 0),
        Some(rest) => match rest.iter().position(|b| *b == b'.') {
            None => (digits(rest)?, 0),
            Some(dot) => {
                let fraction = &rest[dot + 1..];
                let mut ms = digits(fraction)?;
                // Cut (or pad) to milliseconds.
                for _ in fraction.len()..3 {
                    ms *= 10;
                }
                for _ in 3..fraction.len() {
                    ms /= 10;
                }
                (digits(&rest[..dot])?, ms)
            }
        },
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(i64::from(hour) * 3_600_000 + i64::from(minute) * 60_000 + i64::from(second) * 1000 + i64::from(millis))
}

/// A DATE literal as days since 1970-01-01.
pub fn parse_date(text: &str) -> Option<i32> {
    parse_date_bytes(text.trim().as_bytes()).and_then(|d| i32::try_from(d).ok())
}

/// A TIME literal as milliseconds since midnight.
pub fn parse_time(text: &str) -> Option<i32> {
    parse_time_bytes(text.trim().as_bytes()).and_then(|t| i32::try_from(t).ok())
}

/// The common layouts of machine-written timestamps, read at fixed offsets without searching:
/// `yyyy-MM-dd HH:mm:ss`, optionally `.SSS`, with ` ` or `T` between. None: another layout (the general parser
/// decides), or not a timestamp.
///
/// The text is read as three 8-byte words, checked and converted a word at a time (all digits at once), straight
/// from the text (no copy, no stack).
#[inline]
pub(crate) fn parse_canonical_timestamp(text: &[u8]) -> Option<i64> {
    let seconds = match text.len() {
        23 => word(text, 15),
        // No fraction: `m:ss` read with `.000`.
        19 => {
            u64::from(u32::from_le_bytes(text[15..19].try_into().ok()?)) | u64::from(u32::from_le_bytes(*b".000")) << 32
        }
        _ => return None,
    };
    let seconds = digit_values(seconds, SECONDS)?;
    let (second, millis) = (byte(pairs(seconds), 2), byte(pairs(seconds), 5) * 10 + byte(seconds, 7));
    if second > 59 {
        return None;
    }
    let (date, clock, within_minute) = (word(text, 0), word(text, 8), i64::from(second * 1000 + millis));
    let (last_date, last_clock, last_minute) = LAST_MINUTE.get();
    if (last_date, last_clock) == (date, clock) {
        return Some(last_minute + within_minute);
    }
    read_minute(date, clock).map(|minute| minute + within_minute)
}

thread_local! {
    /// The last `yyyy-MM-ddTHH:mm` [`parse_canonical_timestamp`] read (bytes 0 to 7 and 8 to 15) and its
    /// milliseconds, per thread: the timestamps of a stream share their minute for many records, and reading it
    /// again costs more than the seconds. The epoch's bytes at first, so that only a valid date and time is ever
    /// remembered.
    static LAST_MINUTE: std::cell::Cell<(u64, u64, i64)> = const {
        std::cell::Cell::new((u64::from_le_bytes(*b"1970-01-"), u64::from_le_bytes(*b"01T00:00"), 0))
    };
}

/// The milliseconds of `yyyy-MM-ddTHH:mm` (`date` and `clock`; ` ` or `T` between), remembered in
/// [`LAST_MINUTE`]; None when they are no date and time. Apart (not inlined), so that the remembered minute's
/// path saves no registers for it.
#[inline(never)]
fn read_minute(date: u64, clock: u64) -> Option<i64> {
    let clock_values = pairs(digit_values(clock, CLOCK_T).or_else(|| digit_values(clock, CLOCK_SPACE))?);
    let (day, hour, minute) = (byte(clock_values, 0), byte(clock_values, 3), byte(clock_values, 6));
    if hour > 23 || minute > 59 {
        return None;
    }
    let date_values = pairs(digit_values(date, DATE)?);
    let (year, month) = (byte(date_values, 0) * 100 + byte(date_values, 2), byte(date_values, 5));
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    let ms = days_from_civil_ce(year, month, day) * MS_PER_DAY + i64::from((hour * 60 + minute) * 60_000);
    LAST_MINUTE.set((date, clock, ms));
    Some(ms)
}

/// The separators of one word of the layout: the mask of their bytes and their values.
type Separators = (u64, u64);

/// The separators of a word of the layout, `d` marking the digits (the first byte the lowest).
const fn separators(pattern: &[u8; 8]) -> Separators {
    let (mut mask, mut values, mut i) = (0u64, 0u64, 0);
    while i < 8 {
        if pattern[i] != b'd' {
            mask |= 0xff << (8 * i);
            values |= (pattern[i] as u64) << (8 * i);
        }
        i += 1;
    }
    (mask, values)
}

/// Bytes 0 to 7, 8 to 15 and 15 to 22 of `yyyy-MM-ddTHH:mm:ss.SSS`.
const DATE: Separators = separators(b"dddd-dd-");
const CLOCK_T: Separators = separators(b"ddTdd:dd");
const CLOCK_SPACE: Separators = separators(b"dd dd:dd");
const SECONDS: Separators = separators(b"d:dd.ddd");

/// `0x30` (`'0'`) in every byte.
const ZEROS: u64 = 0x3030_3030_3030_3030;
const HIGH_NIBBLES: u64 = 0xf0f0_f0f0_f0f0_f0f0;

/// Eight bytes from `at` as a little-endian word (byte `at` the lowest).
#[inline]
fn word(b: &[u8], at: usize) -> u64 {
    // (0, no digits and no separators, where `b` is too short: the callers read within its length.)
    b.get(at..at + 8).and_then(|word| word.try_into().ok()).map_or(0, u64::from_le_bytes)
}

/// A word's digits as values 0 to 9 (0 at its separators), or None when a separator is not in its place or a
/// byte between them is not a digit.
#[inline]
fn digit_values(word: u64, (mask, separators): Separators) -> Option<u64> {
    if word & mask != separators {
        return None;
    }
    // Separators read as `0`; then every byte must be 0x30 to 0x39: high nibble 3, and still 3 after adding 6
    // (no byte carries into the next: 0x3f + 6 < 0x100).
    let digits = word & !mask | ZEROS & mask;
    let all_digits =
        digits & HIGH_NIBBLES == ZEROS && digits.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES == ZEROS;
    all_digits.then(|| digits - ZEROS)
}

/// Two-digit numbers: byte k of the result is `10 * values[k] + values[k + 1]` (at most 99: no carries).
#[inline]
fn pairs(values: u64) -> u64 {
    values * 10 + (values >> 8)
}

/// Byte `k` of a word.
#[inline]
fn byte(word: u64, k: u32) -> u32 {
    u32::from((word >> (8 * k)) as u8)
}

/// [`days_from_civil`] for the years 0 to 9999 of the fixed layouts, in unsigned arithmetic (no signed division).
#[inline]
fn days_from_civil_ce(year: u32, month: u32, day: u32) -> i64 {
    // Years counted from March, so that a leap day ends its year; 400 years (146,097 days) added to stay unsigned.
    let (y, m) = if month <= 2 { (year + 399, month + 9) } else { (year + 400, month - 3) };
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let days = 365 * y + y / 4 - y / 100 + y / 400 + day_of_year;
    i64::from(days) - (719_468 + 146_097)
}

/// A TIMESTAMP literal (or a date alone, at midnight) as milliseconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if let Some(ms) = parse_canonical_timestamp(text.as_bytes()) {
        return Some(ms);
    }
    let text = text.trim();
    let bytes = text.strip_suffix(['Z', 'z']).unwrap_or(text).as_bytes();
    match bytes.iter().position(|b| *b == b' ' || *b == b'T') {
        Some(split) => {
            let day = parse_date_bytes(&bytes[..split])?;
            let time = parse_time_bytes(bytes[split + 1..].trim_ascii_start())?;
            Some(day * MS_PER_DAY + time)
        }
        None => parse_date_bytes(bytes).map(|day| day * MS_PER_DAY),
    }
}

/// Writes `n` as `width` zero-padded digits.
fn push_padded(out: &mut String, n: i64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(n.unsigned_abs());
    if n < 0 {
        out.push('-');
    }
    for _ in text.len()..width {
        out.push('0');
    }
    out.push_str(text);
}

/// `yyyy-MM-dd` of a day number.
pub fn format_date(days: i64, out: &mut String) {
    let (year, month, day) = civil_from_days(days);
    push_padded(out, year, 4);
    out.push('-');
    push_padded(out, i64::from(month), 2);
    out.push('-');
    push_padded(out, i64::from(day), 2);
}

/// `HH:mm:ss.SSS` of milliseconds since midnight.
pub fn format_time(ms: i64, out: &mut String) {
    push_padded(out, ms / 3_600_000, 2);
    out.push(':');
    push_padded(out, ms / 60_000 % 60, 2);
    out.push(':');
    push_padded(out, ms / 1000 % 60, 2);
    out.push('.');
    push_padded(out, ms % 1000, 3);
}

/// `yyyy-MM-dd HH:mm:ss.SSS` of milliseconds since the epoch.
pub fn format_timestamp(ms: i64, out: &mut String) {
    format_date(ms.div_euclid(MS_PER_DAY), out);
    out.push(' ');
    format_time(ms.rem_euclid(MS_PER_DAY), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(ms: i64) -> String {
        let mut out = String::new();
        format_timestamp(ms, &mut out);
        out
    }

    #[test]
    fn timestamps_parse_in_every_literal_form_and_format_canonically() {
        let expected = Some(days_from_civil(1992, 2, 14) * MS_PER_DAY + 18 * 3_600_000 + 35 * 60_000 + 44_000);
        for text in ["1992-02-14 18:35:44", "1992-02-14 18:35:44.0", "1992-02-14T18:35:44.000", "1992-02-14T18:35:44Z"]
        {
            assert_eq!(parse_timestamp(text), expected, "{text}");
        }
        assert_eq!(
            parse_timestamp("2020-07-01T00:00:00.123456").map(shown).as_deref(),
            Some("2020-07-01 00:00:00.123")
        );
        assert_eq!(parse_timestamp("1992-02-14").map(shown).as_deref(), Some("1992-02-14 00:00:00.000"));
        assert_eq!(shown(-1), "1969-12-31 23:59:59.999");
        for bad in ["", "1992-13-01", "1992-02-30", "1992-02-14 24:00:00", "yesterday", "1992-02-14 18:3x"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_fixed_layout_fast_path_agrees_with_the_general_parser() {
        let cases = [
            "2020-07-01T00:00:00.000",
            "2020-07-01 23:59:59.999",
            "2020-07-01 12:34:56",
            "2000-02-29T01:02:03.004",
            "0001-01-01 00:00:00",
            "2021-02-28 00:00:00",
            "2021-02-29 00:00:00",
            "2021-02-28 00:00:00",
            "2020-13-01 00:00:00",
            "2020-07-01 24:00:00",
            "2020-07-01 00:60:00.000",
            "2020-07-01 00:00:60",
            "2020-07-01x00:00:00",
            "2020-07-01 00:00:00.00x",
            "2020-07-01 00:00:00,000",
            "202a-07-01 00:00:00",
            "2020-07-01 0-:00:00",
            "9999-12-31T23:59:59.999",
            "0000-02-29 00:00:00",
            "1900-02-29 00:00:00",
            "2000-02-29 00:00:00",
            "2020-07-01 00:00:00+000",
            "2020-07-01 00:00:0:.000",
            "2020-07-01 00:00:00.0/0",
            "2020-07-01 00:00:00.0a0",
            "2020-07-01 00:00:00 000",
            "2020/07/01 00:00:00",
            "2020-07-01T00:00:00:000",
            "2020-07-01t00:00:00.000",
            "2020-07-01 00:00:0é",
        ];
        for text in cases {
            // A leading space is not the fixed layout: the general parser reads it.
            let general = parse_timestamp(&format!(" {text}"));
            assert_eq!(parse_canonical_timestamp(text.as_bytes()), general, "{text}");
            assert_eq!(parse_timestamp(text), general, "{text}");
        }
        // Other layouts are the general parser's.
        for text in [
            "2020-07-01 00:00:00.",
            "2020-07-01 00:00:00.0",
            "2020-07-01 00:00:00.0000",
            "2020-07-01 00:00:00Z",
            "2020-07-01T00:00:00.000Z",
            "2020-07-01 00:00",
            "2020-7-1 0:0:0",
            "20200-07-01 00:00:00",
        ] {
            assert_eq!(parse_canonical_timestamp(text.as_bytes()), None, "{text}");
            assert_eq!(parse_timestamp(text), parse_timestamp(&format!(" {text}")), "{text}");
        }
    }

    #[test]
    fn the_remembered_minute_is_only_taken_for_the_same_bytes() {
        let at = |text: &str| parse_canonical_timestamp(text.as_bytes());
        let day = |d: i64| Some(days_from_civil(2020, 7, 1) * MS_PER_DAY + (d - 1) * MS_PER_DAY);
        let plus = |ms: Option<i64>, more: i64| ms.map(|ms| ms + more);
        assert_eq!(at("2020-07-01 00:00:00"), day(1));
        assert_eq!(at("2020-07-01T00:00:00.000"), day(1));
        assert_eq!(at("2020-07-01T00:00:59.999"), plus(day(1), 59_999));
        assert_eq!(at("2020-07-01T00:00:60.000"), None, "the seconds are checked under a remembered minute");
        assert_eq!(at("2020-07-01T00:00:0x.000"), None);
        assert_eq!(at("2020-07-01T00:01:00.000"), plus(day(1), 60_000));
        assert_eq!(at("2020-07-01 23:59:01"), plus(day(1), 86_399_000 - 58_000));
        assert_eq!(at("2020-07-02 00:00:00"), day(2));
        assert_eq!(at("2020-07-01 00:00:00"), day(1));
        assert_eq!(at("2020-07-32 00:00:00"), None);
        assert_eq!(at("2020-07-0: 00:00:00"), None);
        assert_eq!(at("2020-07-01 00:00:00"), day(1));
        assert_eq!(at("2020-07-01 24:00:00"), None);
        assert_eq!(at("2020-07-01 00:60:00"), None);
        assert_eq!(at("2020/07-01 00:00:00"), None);
        // Nothing read yet on a new thread: the initial memory is the epoch's own bytes, nothing else.
        std::thread::spawn(|| {
            let zero_bytes_then_seconds = [&[0u8; 15][..], b"0:00.000"].concat();
            assert_eq!(parse_canonical_timestamp(&zero_bytes_then_seconds), None);
            assert_eq!(parse_canonical_timestamp(b"1970-01-01T00:00:01.000"), Some(1000));
            assert_eq!(parse_canonical_timestamp(b"1970-01-01 00:00:00.000"), Some(0));
        })
        .join()
        .expect("the thread's checks pass");
    }

    #[test]
    fn days_of_the_fixed_layouts_agree_with_the_general_formula() {
        for year in 0..=9999 {
            for month in 1..=12 {
                for day in [1, 15, days_in_month(i64::from(year), month)] {
                    let expected = days_from_civil(i64::from(year), month, day);
                    assert_eq!(days_from_civil_ce(year, month, day), expected, "{year}-{month}-{day}");
                }
            }
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000, -1, 0, 59, 10_957, 18_444, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_time("23:59:59.999"), Some(86_399_999));
    }
}
