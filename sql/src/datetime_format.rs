//! Java `SimpleDateFormat` patterns, compiled once: what TIMESTAMP_TO_CHAR, CHAR_TO_TIMESTAMP and the log parsers'
//! date columns use.
//!
//! Design: [`DatePattern::compile`] turns the pattern into a list of [`Field`]s (a letter run such as `yyyy` or
//! `MMM`, or literal text from quotes and punctuation). [`DatePattern::format`] then writes bytes straight into the
//! caller's buffer from the civil date ([`civil_from_days`]) with no formatter machinery, which keeps
//! TIMESTAMP_TO_CHAR on the hot path at tens of nanoseconds. Every value is UTC: `z` prints `UTC`, `Z` `+0000`, `X`
//! `Z`.
//!
//! Parsing follows Java's non-lenient `SimpleDateFormat.parse(String)`: fields missing from the pattern default to
//! 1970-01-01 00:00:00.000, text after the pattern's end is ignored, a numeric field followed directly by another
//! numeric field takes exactly its letter count of digits (otherwise as many digits as are there), text fields
//! (`MMM`, `E`, `a`) accept long and short names in any case, and an out-of-range field (month 13, 30 February) gives
//! no result. Zones (`z`, `Z`, `X`) accept `Z`, `UTC`, `GMT` and numeric offsets, and shift the result to UTC.
//! Spaces and tabs before a field are skipped, as Java does. Years are read as written, except two digits under
//! `yy` (KDA documents `y` on `10` as the year 10, where Java would pick 2010).

use crate::literal::{civil_from_days, days_from_civil, days_in_month};

const MS_PER_DAY: i64 = 86_400_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// One element of a compiled pattern: a letter run (with its count) or literal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Text printed and matched as is (quoted text, punctuation, spaces).
    Literal(String),
    /// `G`: era (`AD`).
    Era,
    /// `y`/`Y`: year; `yy` is two digits.
    Year(u8),
    /// `M`/`L`: month; 3 letters for `Jan`, 4 or more for `January`.
    Month(u8),
    /// `d`: day of month.
    Day(u8),
    /// `D`: day of year.
    DayOfYear(u8),
    /// `E`: day name; 4 or more letters for the long name.
    DayName(u8),
    /// `u`: day number of week, 1 = Monday.
    DayNumber(u8),
    /// `a`: `AM`/`PM`.
    AmPm,
    /// `H`: hour 0-23.
    Hour0To23(u8),
    /// `k`: hour 1-24.
    Hour1To24(u8),
    /// `K`: hour 0-11.
    Hour0To11(u8),
    /// `h`: hour 1-12.
    Hour1To12(u8),
    /// `m`: minute.
    Minute(u8),
    /// `s`: second.
    Second(u8),
    /// `S`: milliseconds, as a number.
    Millis(u8),
    /// `z`, `Z`, `X`: the zone (always UTC when formatting); the letter and count.
    Zone(u8, u8),
}

impl Field {
    fn is_numeric(&self) -> bool {
        match self {
            Field::Month(n) => *n < 3,
            Field::Year(_)
            | Field::Day(_)
            | Field::DayOfYear(_)
            | Field::DayNumber(_)
            | Field::Hour0To23(_)
            | Field::Hour1To24(_)
            | Field::Hour0To11(_)
            | Field::Hour1To12(_)
            | Field::Minute(_)
            | Field::Second(_)
            | Field::Millis(_) => true,
            _ => false,
        }
    }

    /// The unit of time this field prints, in milliseconds: days for date fields, and for text that does not
    /// change (literals, the zone).
    fn resolution_ms(&self) -> i64 {
        match self {
            Field::Millis(_) => 1,
            Field::Second(_) => 1000,
            Field::Minute(_) => 60_000,
            Field::AmPm | Field::Hour0To23(_) | Field::Hour1To24(_) | Field::Hour0To11(_) | Field::Hour1To12(_) => {
                3_600_000
            }
            Field::Literal(_)
            | Field::Era
            | Field::Year(_)
            | Field::Month(_)
            | Field::Day(_)
            | Field::DayOfYear(_)
            | Field::DayName(_)
            | Field::DayNumber(_)
            | Field::Zone(..) => MS_PER_DAY,
        }
    }

    /// The most bytes this field prints.
    fn max_len(&self) -> usize {
        match self {
            Field::Literal(text) => text.len(),
            Field::Era | Field::AmPm => 2,
            Field::Year(2) => 2,
            // Four digits up to the year 9999 (later years overflow the bound and are truncated by VARCHAR).
            Field::Year(n) => usize::from(*n).max(4),
            Field::Month(n) | Field::DayName(n) if *n >= 4 => 9,
            Field::Month(n) | Field::DayName(n) if *n == 3 => 3,
            Field::DayName(_) => 3,
            Field::Zone(b'z', n) if *n >= 4 => 26,
            Field::Zone(..) => 5,
            Field::DayNumber(n) => usize::from(*n),
            Field::DayOfYear(n) | Field::Millis(n) => usize::from(*n).max(3),
            Field::Month(n)
            | Field::Day(n)
            | Field::Hour0To23(n)
            | Field::Hour1To24(n)
            | Field::Hour0To11(n)
            | Field::Hour1To12(n)
            | Field::Minute(n)
            | Field::Second(n) => usize::from(*n).max(2),
        }
    }
}

/// A compiled `SimpleDateFormat` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePattern {
    fields: Vec<Field>,
    max_len: usize,
    resolution_ms: i64,
}

impl DatePattern {
    /// Compiles `pattern`; an unknown letter or an unclosed quote is an error, as in Java.
    pub fn compile(pattern: &str) -> Result<Self, String> {
        let mut fields: Vec<Field> = Vec::new();
        let mut literal = String::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                // '' is a quote; 'text' is literal text, in which '' is a quote.
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated quote in date pattern '{pattern}'")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            literal.push(*other);
                            i += 1;
                        }
                    }
                }
                continue;
            }
            if !c.is_ascii_alphabetic() {
                literal.push(c);
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && chars[i] == c {
                i += 1;
            }
            let n = u8::try_from(i - start).unwrap_or(u8::MAX);
            let field = match c {
                'G' => Field::Era,
                'y' | 'Y' => Field::Year(n),
                'M' | 'L' => Field::Month(n),
                'd' => Field::Day(n),
                'D' => Field::DayOfYear(n),
                'E' => Field::DayName(n),
                'u' => Field::DayNumber(n),
                'a' => Field::AmPm,
                'H' => Field::Hour0To23(n),
                'k' => Field::Hour1To24(n),
                'K' => Field::Hour0To11(n),
                'h' => Field::Hour1To12(n),
                'm' => Field::Minute(n),
                's' => Field::Second(n),
                'S' => Field::Millis(n),
                'z' | 'Z' | 'X' => Field::Zone(c as u8, n),
                other => return Err(format!("illegal pattern character '{other}' in date pattern '{pattern}'")),
            };
            if !literal.is_empty() {
                fields.push(Field::Literal(std::mem::take(&mut literal)));
            }
            fields.push(field);
        }
        if !literal.is_empty() {
            fields.push(Field::Literal(literal));
        }
        let max_len = fields.iter().map(Field::max_len).sum();
        let resolution_ms = fields.iter().map(Field::resolution_ms).min().unwrap_or(MS_PER_DAY);
        Ok(DatePattern { fields, max_len, resolution_ms })
    }

    /// The compiled fields.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The most bytes [`format`](Self::format) writes (for a VARCHAR result type).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The unit of the pattern's finest field in milliseconds (1 for `S`, 1000 for `s`, ..., a day for date
    /// fields or none): [`format`](Self::format) gives the same text for every instant of one such unit counted
    /// from the epoch (`ms.div_euclid(resolution)`), since every unit divides the day and the coarser units.
    pub fn resolution_ms(&self) -> i64 {
        self.resolution_ms
    }

    /// Appends `ms` (milliseconds since the epoch, UTC) formatted by the pattern to `out`.
    pub fn format(&self, ms: i64, out: &mut String) {
        let days = ms.div_euclid(MS_PER_DAY);
        let in_day = ms.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let hour = (in_day / 3_600_000) as u32;
        let minute = (in_day / 60_000 % 60) as u32;
        let second = (in_day / 1000 % 60) as u32;
        let millis = (in_day % 1000) as u32;
        for field in &self.fields {
            match *field {
                Field::Literal(ref text) => out.push_str(text),
                Field::Era => out.push_str(if year > 0 { "AD" } else { "BC" }),
                Field::Year(2) => push_num(out, year.rem_euclid(100) as u32, 2),
                Field::Year(n) => {
                    // Java prints the year of era: 1 BC is year 1.
                    let y = if year > 0 { year } else { 1 - year };
                    push_num(out, u32::try_from(y).unwrap_or(u32::MAX), n);
                }
                Field::Month(n) if n >= 4 => out.push_str(MONTHS[month as usize - 1]),
                Field::Month(3) => out.push_str(&MONTHS[month as usize - 1][..3]),
                Field::Month(n) => push_num(out, month, n),
                Field::Day(n) => push_num(out, day, n),
                Field::DayOfYear(n) => {
                    let doy = days - days_from_civil(year, 1, 1) + 1;
                    push_num(out, doy as u32, n);
                }
                Field::DayName(n) => {
                    let name = DAYS[weekday(days) as usize - 1];
                    out.push_str(if n >= 4 { name } else { &name[..3] });
                }
                Field::DayNumber(n) => push_num(out, weekday(days), n),
                Field::AmPm => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                Field::Hour0To23(n) => push_num(out, hour, n),
                Field::Hour1To24(n) => push_num(out, if hour == 0 { 24 } else { hour }, n),
                Field::Hour0To11(n) => push_num(out, hour % 12, n),
                Field::Hour1To12(n) => push_num(out, if hour.is_multiple_of(12) { 12 } else { hour % 12 }, n),
                Field::Minute(n) => push_num(out, minute, n),
                Field::Second(n) => push_num(out, second, n),
                Field::Millis(n) => push_num(out, millis, n),
                Field::Zone(b'z', n) => out.push_str(if n >= 4 { "Coordinated Universal Time" } else { "UTC" }),
                Field::Zone(b'Z', _) => out.push_str("+0000"),
                Field::Zone(..) => out.push('Z'),
            }
        }
    }

    /// Parses `text` by the pattern into milliseconds since the epoch (UTC); `None` when it does not match or a
    /// field is out of range.
    pub fn parse(&self, text: &str) -> Option<i64> {
        let bytes = text.as_bytes();
        let mut pos = 0usize;
        let mut year: Option<i64> = None;
        let mut month: Option<u32> = None;
        let mut day: Option<u32> = None;
        let mut day_of_year: Option<u32> = None;
        let mut hour: Option<u32> = None;
        let mut hour12: Option<u32> = None;
        let mut pm: Option<bool> = None;
        let mut minute = 0u32;
        let mut second = 0u32;
        let mut millis = 0u32;
        let mut offset_ms = 0i64;
        for (i, field) in self.fields.iter().enumerate() {
            let abutting = self.fields.get(i + 1).is_some_and(Field::is_numeric);
            if !matches!(field, Field::Literal(_)) {
                // As Java's SimpleDateFormat, spaces and tabs before a field are skipped: 'MMM dd,y' reads
                // 'March 7, 2010' ([SQLREF] sql-reference-template-strings-create-output-timestamps).
                pos += bytes[pos..].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
            }
            match field {
                Field::Literal(lit) => {
                    let lit = lit.as_bytes();
                    if bytes.len() < pos + lit.len() || &bytes[pos..pos + lit.len()] != lit {
                        return None;
                    }
                    pos += lit.len();
                }
                Field::Era => {
                    let (_, len) = match_name(&bytes[pos..], &["AD", "BC"])?;
                    pos += len;
                }
                Field::Month(n) if *n >= 3 => {
                    let (m, len) = match_name(&bytes[pos..], &MONTHS)?;
                    month = Some(m as u32 + 1);
                    pos += len;
                }
                Field::DayName(_) => {
                    let (_, len) = match_name(&bytes[pos..], &DAYS)?;
                    pos += len;
                }
                Field::AmPm => {
                    let (which, len) = match_name(&bytes[pos..], &["AM", "PM"])?;
                    pm = Some(which == 1);
                    pos += len;
                }
                Field::Zone(..) => {
                    let (offset, len) = parse_zone(&bytes[pos..])?;
                    offset_ms = offset;
                    pos += len;
                }
                numeric => {
                    let count = match numeric {
                        Field::Year(n)
                        | Field::Month(n)
                        | Field::Day(n)
                        | Field::DayOfYear(n)
                        | Field::DayNumber(n)
                        | Field::Hour0To23(n)
                        | Field::Hour1To24(n)
                        | Field::Hour0To11(n)
                        | Field::Hour1To12(n)
                        | Field::Minute(n)
                        | Field::Second(n)
                        | Field::Millis(n) => usize::from(*n),
                        _ => return None,
                    };
                    let max = if abutting { count } else { 10 };
                    let (value, len) = parse_digits(&bytes[pos..], max)?;
                    let v = u32::try_from(value).ok()?;
                    match numeric {
                        Field::Year(n) => {
                            // Only `yy` reads two digits as a year near now: KDA documents 'MMM dd,y' on
                            // 'March 7, 10' as the year 10 (Java would say 2010).
                            year = Some(if *n == 2 && len == 2 { two_digit_year(value) } else { value });
                        }
                        Field::Month(_) => month = Some(v),
                        Field::Day(_) => day = Some(v),
                        Field::DayOfYear(_) => day_of_year = Some(v),
                        Field::DayNumber(_) => {}
                        Field::Hour0To23(_) => hour = Some(v),
                        Field::Hour1To24(_) => hour = Some(if v == 24 { 0 } else { v }),
                        Field::Hour0To11(_) | Field::Hour1To12(_) => hour12 = Some(v),
                        Field::Minute(_) => minute = v,
                        Field::Second(_) => second = v,
                        _ => millis = v,
                    }
                    pos += len;
                }
            }
        }
        let year = year.unwrap_or(1970);
        let hour = match (hour, hour12) {
            (Some(h), _) => h,
            (None, Some(h)) => {
                if h > 12 {
                    return None;
                }
                h % 12 + if pm == Some(true) { 12 } else { 0 }
            }
            (None, None) => {
                if pm == Some(true) {
                    12
                } else {
                    0
                }
            }
        };
        if hour > 23 || minute > 59 || second > 59 || millis > 999 {
            return None;
        }
        let days = match (month, day, day_of_year) {
            (None, None, Some(doy)) => {
                let len = if days_in_month(year, 2) == 29 { 366 } else { 365 };
                if doy == 0 || doy > len {
                    return None;
                }
                days_from_civil(year, 1, 1) + i64::from(doy) - 1
            }
            (month, day, _) => {
                let (month, day) = (month.unwrap_or(1), day.unwrap_or(1));
                if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
                    return None;
                }
                days_from_civil(year, month, day)
            }
        };
        let in_day =
            i64::from(hour) * 3_600_000 + i64::from(minute) * 60_000 + i64::from(second) * 1000 + i64::from(millis);
        Some(days * MS_PER_DAY + in_day - offset_ms)
    }
}

/// ISO day of week of a day number: 1 = Monday ... 7 = Sunday (1970-01-01 was a Thursday).
fn weekday(days: i64) -> u32 {
    (days + 3).rem_euclid(7) as u32 + 1
}

/// Java's two-digit year rule: within 80 years before and 20 after now (fixed at 2026 for reproducible results).
fn two_digit_year(yy: i64) -> i64 {
    if yy <= 46 { 2000 + yy } else { 1900 + yy }
}

/// "00" to "99", for writing two digits at once.
const PAIRS: &str = "00010203040506070809101112131415161718192021222324252627282930313233343536373839\
                     40414243444546474849505152535455565758596061626364656667686970717273747576777879\
                     8081828384858687888990919293949596979899";

/// Appends `n` zero-padded to `width` digits (the common widths 1 to 4 without a division loop).
#[inline]
fn push_num(out: &mut String, n: u32, width: u8) {
    if n < 100 && width <= 2 {
        if n >= 10 || width == 2 {
            let i = n as usize * 2;
            out.push_str(&PAIRS[i..i + 2]);
        } else {
            out.push(char::from(b'0' + n as u8));
        }
        return;
    }
    if n < 10_000 && width <= 4 && (width == 4 || n >= 1000) {
        let (hi, lo) = (n as usize / 100 * 2, n as usize % 100 * 2);
        out.push_str(&PAIRS[hi..hi + 2]);
        out.push_str(&PAIRS[lo..lo + 2]);
        return;
    }
    let mut buf = [b'0'; 10];
    let mut len = 0;
    let mut v = n;
    loop {
        buf[9 - len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for _ in len..usize::from(width) {
        out.push('0');
    }
    for b in &buf[10 - len..] {
        out.push(char::from(*b));
    }
}

/// Up to `max` ASCII digits at the start of `bytes` (at least one).
fn parse_digits(bytes: &[u8], max: usize) -> Option<(i64, usize)> {
    let len = bytes.iter().take(max).take_while(|b| b.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let value = bytes[..len].iter().fold(0i64, |acc, b| acc.saturating_mul(10).saturating_add(i64::from(b - b'0')));
    Some((value, len))
}

/// The index of the name (long form, or its first three letters) that `bytes` starts with, case-insensitive, and
/// the bytes it took.
fn match_name(bytes: &[u8], names: &[&str]) -> Option<(usize, usize)> {
    let starts = |name: &[u8]| bytes.len() >= name.len() && bytes[..name.len()].eq_ignore_ascii_case(name);
    names.iter().position(|n| starts(n.as_bytes())).map(|i| (i, names[i].len())).or_else(|| {
        names.iter().position(|n| starts(&n.as_bytes()[..3.min(n.len())])).map(|i| (i, 3.min(names[i].len())))
    })
}

/// A zone at the start of `bytes`: `Z`, `UTC`, `GMT` (optionally followed by an offset), `+hh`, `+hhmm`, `+hh:mm`;
/// returns the offset east of UTC in milliseconds and the bytes taken.
fn parse_zone(bytes: &[u8]) -> Option<(i64, usize)> {
    let mut pos = 0;
    for name in ["UTC", "GMT", "Z"] {
        if bytes.len() >= name.len() && bytes[..name.len()].eq_ignore_ascii_case(name.as_bytes()) {
            pos = name.len();
            break;
        }
    }
    let sign = match bytes.get(pos) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ if pos > 0 => return Some((0, pos)),
        _ => return None,
    };
    pos += 1;
    let (hh, len) = parse_digits(&bytes[pos..], 2)?;
    pos += len;
    let mut mm = 0;
    if bytes.get(pos) == Some(&b':') {
        let (m, len) = parse_digits(&bytes[pos + 1..], 2)?;
        mm = m;
        pos += 1 + len;
    } else if let Some((m, 2)) = parse_digits(&bytes[pos..], 2) {
        mm = m;
        pos += 2;
    }
    if hh > 23 || mm > 59 {
        return None;
    }
    Some((sign * (hh * 3_600_000 + mm * 60_000), pos))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::literal::parse_timestamp;

    fn ts(text: &str) -> i64 {
        parse_timestamp(text).unwrap_or_else(|| panic!("bad timestamp {text}"))
    }

    fn fmt(pattern: &str, text: &str) -> String {
        let mut out = String::new();
        DatePattern::compile(pattern).expect("pattern").format(ts(text), &mut out);
        out
    }

    fn parse(pattern: &str, text: &str) -> Option<i64> {
        DatePattern::compile(pattern).expect("pattern").parse(text)
    }

    #[test]
    fn a_pattern_formats_every_instant_of_its_resolution_alike() {
        let cases = [
            ("yyyy-MM-dd HH:mm:ss.SSS", 1),
            ("yyyy-MM-dd hh:mm:ss", 1000),
            ("ss", 1000),
            ("HH:mm", 60_000),
            ("h a", 3_600_000),
            ("K", 3_600_000),
            ("EEEE, d MMMM yyyy G", MS_PER_DAY),
            ("D u zzzz Z X", MS_PER_DAY),
            ("'literal only'", MS_PER_DAY),
            ("", MS_PER_DAY),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for (pattern, resolution) in cases {
            let compiled = DatePattern::compile(pattern).expect("pattern");
            assert_eq!(compiled.resolution_ms(), resolution, "{pattern}");
            let text = |ms: i64| {
                let mut out = String::new();
                compiled.format(ms, &mut out);
                out
            };
            for _ in 0..2000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Instants from about 1000 BC to 3000 AD, and the last of a unit.
                let ms = (state % 126_000_000_000_000) as i64 - 94_000_000_000_000;
                let start = ms - ms.rem_euclid(resolution);
                assert_eq!(text(ms), text(start), "{pattern} at {ms}");
                assert_eq!(text(start + resolution - 1), text(start), "{pattern} at {ms}");
            }
        }
        // The finest field is exact: the next unit prints differently.
        let at = ts("2020-07-01 13:05:09.007");
        for (pattern, resolution) in
            [("ss.SSS", 1), ("mm:ss", 1000), ("mm", 60_000), ("hh", 3_600_000), ("dd", MS_PER_DAY)]
        {
            let compiled = DatePattern::compile(pattern).expect("pattern");
            let (mut now, mut next) = (String::new(), String::new());
            compiled.format(at, &mut now);
            compiled.format(at + resolution, &mut next);
            assert_ne!(now, next, "{pattern}");
        }
    }

    #[test]
    fn hh_is_the_twelve_hour_clock() {
        assert_eq!(fmt("yyyy-MM-dd hh:mm:ss", "2020-07-01 00:00:00.010"), "2020-07-01 12:00:00");
        assert_eq!(fmt("yyyy-MM-dd hh:mm:ss", "2020-07-01 13:05:09"), "2020-07-01 01:05:09");
        assert_eq!(fmt("yyyy-MM-dd HH:mm:ss.SSS", "2020-07-01 13:05:09.007"), "2020-07-01 13:05:09.007");
        assert_eq!(fmt("k K a", "2020-07-01 00:30:00"), "24 0 AM");
    }

    #[test]
    fn text_fields_quotes_and_zones_format() {
        assert_eq!(fmt("EEE, d MMM yyyy", "2004-09-30 13:48:23"), "Thu, 30 Sep 2004");
        assert_eq!(fmt("EEEE MMMM yy", "2004-09-30 13:48:23"), "Thursday September 04");
        assert_eq!(fmt("yyyy-MM-dd'T'HH:mm:ss'Z' ''", "2004-09-30 13:48:23"), "2004-09-30T13:48:23Z '");
        assert_eq!(fmt("'o''clock' z Z X D", "2004-02-01 00:00:00"), "o'clock UTC +0000 Z 32");
        assert!(DatePattern::compile("yyyy-MM-dd 'T").is_err());
        assert!(DatePattern::compile("yyyy-qq").is_err());
    }

    /// CHAR_TO_TIMESTAMP's reference cases (pattern, input, result), shared with the SQL function's test.
    pub(crate) const CHAR_TO_TIMESTAMP_CASES: [(&str, &str, &str); 5] = [
        ("yyyy-MM-dd hh:mm:ss", "2009-09-16 03:15:24", "2009-09-16 03:15:24"),
        ("yyyy-mm", "2011-02-08 07:23:19", "2011-01-01 00:02:00"),
        ("MMM dd, yyyy", "March 7, 2010", "2010-03-07 00:00:00"),
        ("MMM dd,", "March 7, 2010", "1970-03-07 00:00:00"),
        ("M-d", "2-8", "1970-02-08 00:00:00"),
    ];

    #[test]
    fn char_to_timestamp_reference_cases() {
        for (pattern, input, expected) in CHAR_TO_TIMESTAMP_CASES {
            assert_eq!(parse(pattern, input), Some(ts(expected)), "{pattern} {input}");
        }
    }

    #[test]
    fn parsing_rejects_out_of_range_and_handles_zones_and_abutting_fields() {
        assert_eq!(parse("yyyy-MM-dd", "2009-13-01"), None);
        assert_eq!(parse("yyyy-MM-dd", "2009-02-30"), None);
        assert_eq!(parse("HH:mm", "24:00"), None);
        assert_eq!(parse("yyyy-MM-dd", "2009/01/01"), None);
        assert_eq!(parse("yyyyMMddHHmmss", "20090916031524"), Some(ts("2009-09-16 03:15:24")));
        assert_eq!(parse("dd/MMM/yyyy:HH:mm:ss Z", "24/May/2004:22:01:02 -0700"), Some(ts("2004-05-25 05:01:02")));
        assert_eq!(parse("hh:mm a", "12:30 AM"), Some(ts("1970-01-01 00:30:00")));
        assert_eq!(parse("hh:mm a", "01:30 pm"), Some(ts("1970-01-01 13:30:00")));
        assert_eq!(parse("yy-MM-dd", "09-01-02"), Some(ts("2009-01-02 00:00:00")));
    }

    #[test]
    fn template_strings_page_cases() {
        // [SQLREF] sql-reference-template-strings-create-output-timestamps.
        let cases = [
            ("MMM dd,y", "March 7, 2010", "2010-03-07 00:00:00"),
            ("MMM dd,y", "March 7, 10", "0010-03-07 00:00:00"),
            ("M-d", "2-8-2011", "1970-02-08 00:00:00"),
            ("MM-dd-yyyy", "06-23-2011 10:11:12", "2011-06-23 00:00:00"),
        ];
        for (pattern, input, expected) in cases {
            assert_eq!(parse(pattern, input), Some(ts(expected)), "{pattern} {input}");
        }
        // "using '2011-2-8' would give no result because 2011 is not a valid month"; "If the template lacks the
        // comma, so must the input string, or there is no output".
        assert_eq!(parse("M-d", "2011-2-8"), None);
        assert_eq!(parse("MMM dd yyyy", "March 7, 2010"), None);
        // Spaces and tabs before a field are skipped, not those a literal expects.
        assert_eq!(parse("yyyy-MM-dd", " 2009-\t9-16"), Some(ts("2009-09-16 00:00:00")));
        assert_eq!(parse("yyyy-MM-dd HH", "2009-09-16  3"), Some(ts("2009-09-16 03:00:00")));
        assert_eq!(parse("yyyy-MM-dd'x'", "2009-09-16 x"), None);
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    #[test]
    #[ignore]
    fn format_speed() {
        let p = DatePattern::compile("yyyy-MM-dd hh:mm:ss").expect("p");
        let mut buf = String::with_capacity(64);
        let n = 2_000_000i64;
        let mut total = 0;
        let started = std::time::Instant::now();
        for i in 0..n {
            buf.clear();
            p.format(1_593_561_600_000 + i * 10, &mut buf);
            total += buf.len();
        }
        println!("format: {:.1} ns/call ({total})", started.elapsed().as_nanos() as f64 / n as f64);
        let started = std::time::Instant::now();
        let mut v = Vec::new();
        for _ in 0..n {
            let a: std::sync::Arc<str> = std::sync::Arc::from(buf.as_str());
            v.push(a);
            v.clear();
        }
        println!("arc: {:.1} ns/call", started.elapsed().as_nanos() as f64 / n as f64);
    }
}
