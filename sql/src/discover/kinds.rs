//! What kind of value a sample holds, how kinds widen when a column holds several, and the SQL type that results.
//!
//! | kind | from | SQL type |
//! |---|---|---|
//! | Boolean | JSON `true`/`false`; CSV `true`/`false` in any case | BOOLEAN |
//! | Integer, BigInt | whole numbers within 32 / 64 bits | INTEGER / BIGINT |
//! | Double | numbers with a fraction or exponent, whole numbers past 64 bits | DOUBLE |
//! | Date | `yyyy-MM-dd` | DATE |
//! | Timestamp | `yyyy-MM-dd HH:mm[:ss[.f]]`, `T` for the space, an optional `Z` (what the input mapping reads) | TIMESTAMP |
//! | Text | anything else | VARCHAR(n) |
//!
//! Widening: Integer + BigInt → BigInt, any two numbers → Double, Date + Timestamp → Timestamp, anything else mixed
//! → Text. NULLs and missing values do not count. A JSON string stays text unless it is a date or a timestamp
//! (`"42"` is VARCHAR, as the record has it); a CSV field is typed by its text. A CSV integer with a leading zero
//! (`007`, a zip code) is text, so the zero is kept.
//!
//! VARCHAR(n): `n` is the longest value seen (in characters, as the mapping would copy it), rounded up to a power of
//! two, at least 4. That reproduces KDA's output in the reference's static-data example (`AK` → 4, `Coal` → 4,
//! `ShortTons` → 16, 35 characters → 64). A column that was only ever NULL is VARCHAR(4).
//!
//! Fractions become DOUBLE rather than DECIMAL(p,s): KDA's outputs differ between examples, and DOUBLE never rejects
//! a later value with more digits.

use crate::literal;
use crate::types::SqlType;

/// The kind of a sampled value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Boolean,
    Integer,
    BigInt,
    Double,
    Date,
    Timestamp,
    Text,
}

impl Kind {
    /// The kind of a column that held both.
    pub(crate) fn widen(self, other: Kind) -> Kind {
        use Kind::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Integer | BigInt, Integer | BigInt) => BigInt,
            (Integer | BigInt | Double, Integer | BigInt | Double) => Double,
            (Date | Timestamp, Date | Timestamp) => Timestamp,
            _ => Text,
        }
    }
}

/// What one column saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    kind: Option<Kind>,
    max_chars: usize,
}

impl Stats {
    /// Counts a value of `kind`, `chars` characters long as text.
    pub(crate) fn add(&mut self, kind: Kind, chars: usize) {
        self.kind = Some(self.kind.map_or(kind, |seen| seen.widen(kind)));
        self.max_chars = self.max_chars.max(chars);
    }

    /// Counts an empty value: no kind, but its length.
    pub(crate) fn add_empty(&mut self, chars: usize) {
        self.max_chars = self.max_chars.max(chars);
    }

    /// The SQL type of the column.
    pub(crate) fn sql_type(&self) -> SqlType {
        match self.kind {
            Some(Kind::Boolean) => SqlType::Boolean,
            Some(Kind::Integer) => SqlType::Integer,
            Some(Kind::BigInt) => SqlType::BigInt,
            Some(Kind::Double) => SqlType::Double,
            Some(Kind::Date) => SqlType::Date,
            Some(Kind::Timestamp) => SqlType::Timestamp,
            Some(Kind::Text) | None => self.text_type(),
        }
    }

    /// VARCHAR sized for the longest value seen.
    pub(crate) fn text_type(&self) -> SqlType {
        SqlType::Varchar(varchar_size(self.max_chars))
    }

    /// The kind seen, if any value was not empty.
    pub(crate) fn kind(&self) -> Option<Kind> {
        self.kind
    }
}

/// The length of a VARCHAR for values up to `chars` long: the next power of two, at least 4.
pub(crate) fn varchar_size(chars: usize) -> u32 {
    let size = chars.max(4).checked_next_power_of_two().unwrap_or(usize::MAX);
    u32::try_from(size).unwrap_or(u32::MAX)
}

/// The kind of a CSV field's text (not empty).
pub(crate) fn text_kind(text: &str) -> Kind {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false") {
        return Kind::Boolean;
    }
    if let Some(kind) = number_text_kind(trimmed) {
        return kind;
    }
    string_kind(text)
}

/// The kind of a JSON string: a date, a timestamp, or text.
pub(crate) fn string_kind(text: &str) -> Kind {
    temporal_kind(text).unwrap_or(Kind::Text)
}

/// The kind of a JSON number, from its text as written.
pub(crate) fn json_number_kind(raw: &str) -> Kind {
    if raw.contains(['.', 'e', 'E']) { Kind::Double } else { integer_kind(raw) }
}

fn integer_kind(digits: &str) -> Kind {
    match digits.parse::<i64>() {
        Ok(n) if i32::try_from(n).is_ok() => Kind::Integer,
        Ok(_) => Kind::BigInt,
        Err(_) => Kind::Double,
    }
}

/// `[+-]digits`, or a decimal number with a fraction and/or an exponent (what `f64` parses, without `inf`/`NaN`).
fn number_text_kind(text: &str) -> Option<Kind> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    let fraction_digits = fraction.unwrap_or_default();
    if !digits(whole) || !digits(fraction_digits) || whole.len() + fraction_digits.len() == 0 || !exponent_ok {
        return None;
    }
    if whole.len() > 1 && whole.starts_with('0') {
        return None; // `007`: text, so the zero is kept.
    }
    Some(if fraction.is_none() && exponent.is_none() { integer_kind(text) } else { Kind::Double })
}

/// `yyyy-MM-dd` (DATE) or `yyyy-MM-dd[ T]HH:mm[:ss[.fraction]][Z]` (TIMESTAMP), valid dates and times only.
fn temporal_kind(text: &str) -> Option<Kind> {
    let trimmed = text.trim();
    let bytes = trimmed.as_bytes();
    let digits_at = |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let date_shape = digits_at(0..4) && bytes.get(4) == Some(&b'-') && digits_at(5..7) && bytes.get(7) == Some(&b'-');
    if !date_shape || !digits_at(8..10) {
        return None;
    }
    if bytes.len() == 10 {
        return literal::parse_date(trimmed).map(|_| Kind::Date);
    }
    let time_shape = matches!(bytes.get(10), Some(b' ' | b'T')) && digits_at(11..13) && bytes.get(13) == Some(&b':');
    (time_shape && literal::parse_timestamp(trimmed).is_some()).then_some(Kind::Timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_is_typed_by_what_the_mapping_reads() {
        let cases = [
            ("true", Kind::Boolean),
            (" FALSE ", Kind::Boolean),
            ("42", Kind::Integer),
            ("-2147483648", Kind::Integer),
            ("2147483648", Kind::BigInt),
            ("99999999999999999999", Kind::Double),
            ("+3", Kind::Integer),
            ("0", Kind::Integer),
            ("007", Kind::Text),
            ("1.5", Kind::Double),
            ("-.5", Kind::Double),
            ("1e5", Kind::Double),
            ("0.25", Kind::Double),
            ("1e", Kind::Text),
            ("inf", Kind::Text),
            ("NaN", Kind::Text),
            (".", Kind::Text),
            ("-", Kind::Text),
            ("1,5", Kind::Text),
            ("1992-02-14", Kind::Date),
            ("1992-02-14 18:35:44.0", Kind::Timestamp),
            ("2020-07-01T00:00:00.000Z", Kind::Timestamp),
            ("2020-07-01T00:00", Kind::Timestamp),
            ("2020-02-30", Kind::Text),
            ("2020-07-01T25:00:00", Kind::Text),
            ("2020-07-01T00:00:00+02:00", Kind::Text),
            ("1-2-3", Kind::Text),
            ("hello", Kind::Text),
        ];
        for (text, expected) in cases {
            assert_eq!(text_kind(text), expected, "{text:?}");
        }
        assert_eq!(string_kind("42"), Kind::Text, "a JSON string stays text");
        assert_eq!(string_kind("true"), Kind::Text);
        assert_eq!(string_kind("1992-02-14 18:35:44.0"), Kind::Timestamp);
        assert_eq!(json_number_kind("12"), Kind::Integer);
        assert_eq!(json_number_kind("-9000000000"), Kind::BigInt);
        assert_eq!(json_number_kind("123456789012345678901"), Kind::Double);
        assert_eq!(json_number_kind("1.0"), Kind::Double);
        assert_eq!(json_number_kind("2E3"), Kind::Double);
    }

    #[test]
    fn kinds_widen_to_what_holds_both() {
        use Kind::*;
        let cases = [
            (Integer, Integer, Integer),
            (Integer, BigInt, BigInt),
            (BigInt, Double, Double),
            (Integer, Double, Double),
            (Date, Timestamp, Timestamp),
            (Boolean, Integer, Text),
            (Timestamp, Integer, Text),
            (Double, Text, Text),
            (Boolean, Boolean, Boolean),
        ];
        for (a, b, expected) in cases {
            assert_eq!(a.widen(b), expected, "{a:?} + {b:?}");
            assert_eq!(b.widen(a), expected, "{b:?} + {a:?}");
        }
    }

    #[test]
    fn varchar_lengths_round_up_like_kda() {
        let sizes: Vec<u32> = [0, 2, 4, 5, 9, 16, 17, 35].into_iter().map(varchar_size).collect();
        assert_eq!(sizes, [4, 4, 4, 8, 16, 16, 32, 64]);
        let mut stats = Stats::default();
        assert_eq!(stats.sql_type(), SqlType::Varchar(4), "only NULLs");
        stats.add(Kind::Integer, 3);
        stats.add_empty(0);
        assert_eq!(stats.sql_type(), SqlType::Integer);
        stats.add(Kind::Text, 9);
        assert_eq!(stats.sql_type(), SqlType::Varchar(16));
    }
}
