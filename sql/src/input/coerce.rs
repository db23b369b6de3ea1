//! Input coercion: a JSON value or a CSV field into a column's SQL type, following KDA's table "Mapping JSON Data
//! Types to SQL Data Types" (DG sch-mapping.md). It is not CAST (CAST rounds REAL into INTEGER; input mapping
//! rejects 123.4 into INT), so it lives here.
//!
//! | from \ into | numeric | BOOLEAN | CHAR/VARCHAR | DATE/TIME/TIMESTAMP | BINARY/VARBINARY |
//! |---|---|---|---|---|---|
//! | null | NULL | NULL | NULL | NULL | NULL |
//! | true/false | 1 / 0 | itself | `true`/`false` | error | one byte 1 / 0 |
//! | number | exact, or error if it does not fit | 0 false, else true | its text | error | error |
//! | string | parsed, or error | `true` (any case) true, else false | itself | literal forms, or error | `X'3F'` or base64 |
//! | array/object | error | error | its JSON text | error | error |
//!
//! Strings are truncated to n characters, CHAR(n) blank-padded; BINARY(n) zero-padded. The error is the reason only
//! ("`12x` is not a DOUBLE"): the caller adds the column.

use std::borrow::Cow;

use bytes::Bytes;

use crate::literal;
use crate::types::SqlType;
use crate::value::{Decimal, Text, Value};

/// A JSON value as the input sees it: the text of numbers and composites, kept as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// A number's text (exact: DECIMAL and BIGINT never go through f64).
    Number(&'a str),
    Str(Cow<'a, str>),
    /// An array's or object's JSON text.
    Composite(&'a str),
}

impl<'a> Json<'a> {
    /// Classifies the raw JSON text of one value (as serde_json's `RawValue` hands it over).
    pub(crate) fn from_raw(raw: &'a str) -> Json<'a> {
        let raw = raw.trim_ascii();
        match raw.as_bytes().first() {
            Some(b'"') => {
                let inner = &raw[1..raw.len() - 1];
                if inner.contains('\\') {
                    // Valid JSON already (the parser checked it): unescape.
                    Json::Str(serde_json::from_str::<String>(raw).map(Cow::Owned).unwrap_or(Cow::Borrowed(inner)))
                } else {
                    Json::Str(Cow::Borrowed(inner))
                }
            }
            Some(b'n') => Json::Null,
            Some(b't') => Json::Bool(true),
            Some(b'f') => Json::Bool(false),
            Some(b'[' | b'{') => Json::Composite(raw),
            _ => Json::Number(raw),
        }
    }
}

/// Coerces a JSON value into `ty`.
pub(crate) fn from_json(value: &Json<'_>, ty: &SqlType) -> Result<Value, String> {
    match value {
        Json::Null => Ok(Value::Null),
        Json::Str(text) => from_text(text, ty),
        Json::Bool(b) => from_bool(*b, ty),
        Json::Number(text) => from_number(text, ty),
        Json::Composite(text) => match ty {
            SqlType::Char(_) | SqlType::Varchar(_) => Ok(string(text, ty)),
            _ => {
                let what = if text.starts_with('[') { "an array" } else { "an object" };
                Err(format!("{what} `{}` is not {} {ty}", clip(text), article(ty)))
            }
        },
    }
}

/// Coerces a string (a JSON string or a CSV field) into `ty`.
pub(crate) fn from_text(text: &str, ty: &SqlType) -> Result<Value, String> {
    let not_a = || not_a(text, ty);
    match ty {
        SqlType::Char(_) | SqlType::Varchar(_) => Ok(string(text, ty)),
        SqlType::Boolean => Ok(Value::Boolean(text.trim().eq_ignore_ascii_case("true"))),
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => integer(text.trim(), ty),
        SqlType::Real | SqlType::Double => {
            let parsed = text.trim().parse::<f64>().map_err(|_| not_a())?;
            float(parsed, text, ty)
        }
        SqlType::Decimal { precision, scale } => decimal(text.trim(), *precision, *scale, ty),
        SqlType::Date => {
            let days = literal::parse_date(text).or_else(|| {
                literal::parse_timestamp(text).and_then(|ms| i32::try_from(ms.div_euclid(MS_PER_DAY)).ok())
            });
            days.map(Value::Date).ok_or_else(not_a)
        }
        SqlType::Time => {
            let ms = literal::parse_time(text).or_else(|| {
                literal::parse_timestamp(text).and_then(|ms| i32::try_from(ms.rem_euclid(MS_PER_DAY)).ok())
            });
            ms.map(Value::Time).ok_or_else(not_a)
        }
        SqlType::Timestamp => literal::parse_timestamp(text).map(Value::Timestamp).ok_or_else(not_a),
        SqlType::Binary(_) | SqlType::Varbinary(_) => {
            let bytes = binary_literal(text.trim()).or_else(|| base64(text.trim())).ok_or_else(not_a)?;
            Ok(binary(bytes, ty))
        }
        SqlType::IntervalDayTime | SqlType::IntervalYearMonth | SqlType::Row(_) | SqlType::Null => Err(not_a()),
    }
}

const MS_PER_DAY: i64 = 86_400_000;

fn from_bool(b: bool, ty: &SqlType) -> Result<Value, String> {
    let n = i64::from(b);
    match ty {
        SqlType::Boolean => Ok(Value::Boolean(b)),
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => Ok(Value::Int(n)),
        SqlType::Real | SqlType::Double => Ok(Value::Double(n as f64)),
        SqlType::Decimal { scale, .. } => {
            Ok(Value::Decimal(Decimal { unscaled: i128::from(n) * 10i128.pow(u32::from(*scale)), scale: *scale }))
        }
        SqlType::Char(_) | SqlType::Varchar(_) => Ok(string(if b { "true" } else { "false" }, ty)),
        SqlType::Binary(_) | SqlType::Varbinary(_) => Ok(binary(vec![u8::from(b)], ty)),
        _ => Err(not_a(if b { "true" } else { "false" }, ty)),
    }
}

fn from_number(text: &str, ty: &SqlType) -> Result<Value, String> {
    match ty {
        SqlType::Char(_) | SqlType::Varchar(_) => Ok(string(text, ty)),
        SqlType::Boolean => {
            // Zero whatever its spelling (0, -0.0, 0e5): every mantissa digit is 0.
            let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
            Ok(Value::Boolean(mantissa.bytes().any(|b| b.is_ascii_digit() && b != b'0')))
        }
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => integer(text, ty),
        SqlType::Real | SqlType::Double => {
            let parsed = text.parse::<f64>().map_err(|_| not_a(text, ty))?;
            float(parsed, text, ty)
        }
        SqlType::Decimal { precision, scale } => decimal(text, *precision, *scale, ty),
        _ => Err(format!("the number {}", not_a(text, ty))),
    }
}

fn integer(text: &str, ty: &SqlType) -> Result<Value, String> {
    let n = match text.parse::<i64>() {
        Ok(n) => i128::from(n),
        Err(_) => match parse_decimal(text, 0) {
            Ok((n, false)) => n,
            Ok((_, true)) => return Err(format!("{} (it has a fraction)", not_a(text, ty))),
            Err(NumError::Overflow) => return Err(format!("`{}` is out of range for {ty}", clip(text))),
            Err(NumError::Syntax) => return Err(not_a(text, ty)),
        },
    };
    let (min, max) = match ty {
        SqlType::TinyInt => (i128::from(i8::MIN), i128::from(i8::MAX)),
        SqlType::SmallInt => (i128::from(i16::MIN), i128::from(i16::MAX)),
        SqlType::Integer => (i128::from(i32::MIN), i128::from(i32::MAX)),
        _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
    };
    if n < min || n > max {
        return Err(format!("`{}` is out of range for {ty}", clip(text)));
    }
    Ok(Value::Int(n as i64))
}

fn float(parsed: f64, text: &str, ty: &SqlType) -> Result<Value, String> {
    let limit = if *ty == SqlType::Real { f64::from(f32::MAX) } else { f64::MAX };
    // Overflow to infinity (`1e999`) is out of range; a spelled-out `Infinity`/`NaN` string is taken as written.
    let overflowed = parsed.is_infinite() && !text.to_ascii_lowercase().contains("inf");
    if overflowed || parsed.abs() > limit && parsed.is_finite() {
        return Err(format!("`{}` is out of range for {ty}", clip(text)));
    }
    Ok(Value::Double(parsed))
}

fn decimal(text: &str, precision: u8, scale: u8, ty: &SqlType) -> Result<Value, String> {
    let unscaled = match parse_decimal(text, scale) {
        Ok((n, _)) => n,
        Err(NumError::Syntax) => return Err(not_a(text, ty)),
        Err(NumError::Overflow) => return Err(format!("`{}` does not fit {ty}", clip(text))),
    };
    if unscaled.unsigned_abs() >= 10u128.pow(u32::from(precision)) {
        return Err(format!("`{}` does not fit {ty}", clip(text)));
    }
    Ok(Value::Decimal(Decimal { unscaled, scale }))
}

/// Why a number did not parse.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NumError {
    /// Not a number.
    Syntax,
    /// Too many digits for 128 bits.
    Overflow,
}

/// Parses `[+-]digits[.digits][e[+-]digits]` exactly as `unscaled / 10^scale`, rounding half away from zero.
/// Returns the unscaled value and whether nonzero digits were dropped.
pub(crate) fn parse_decimal(text: &str, scale: u8) -> Result<(i128, bool), NumError> {
    let bytes = text.as_bytes();
    let (negative, bytes) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (mantissa, exponent) = match bytes.iter().position(|b| *b == b'e' || *b == b'E') {
        Some(e) => {
            let exp = std::str::from_utf8(&bytes[e + 1..]).ok().and_then(|t| t.parse::<i64>().ok());
            (&bytes[..e], exp.ok_or(NumError::Syntax)?.clamp(-100_000, 100_000))
        }
        None => (bytes, 0),
    };
    let (int, frac) = match mantissa.iter().position(|b| *b == b'.') {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, &mantissa[mantissa.len()..]),
    };
    if int.is_empty() && frac.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return Err(NumError::Syntax);
    }
    // value = digits * 10^(exponent - frac.len()); we want digits * 10^shift.
    let digits = || int.iter().chain(frac).map(|b| i128::from(b - b'0'));
    let count = int.len() + frac.len();
    let shift = exponent - frac.len() as i64 + i64::from(scale);
    let dropped = if shift < 0 { usize::try_from(-shift).unwrap_or(usize::MAX) } else { 0 };
    let keep = count.saturating_sub(dropped);
    let mut unscaled: i128 = 0;
    for d in digits().take(keep) {
        unscaled = unscaled.checked_mul(10).and_then(|n| n.checked_add(d)).ok_or(NumError::Overflow)?;
    }
    let mut inexact = false;
    if dropped > 0 {
        // The first dropped digit decides the rounding; an implicit leading zero when all digits and more go.
        let first = if dropped <= count { digits().nth(keep).unwrap_or(0) } else { 0 };
        inexact = digits().skip(keep).any(|d| d != 0);
        if first >= 5 {
            unscaled += 1;
        }
    } else if unscaled != 0 {
        for _ in 0..shift {
            unscaled = unscaled.checked_mul(10).ok_or(NumError::Overflow)?;
        }
    }
    Ok((if negative { -unscaled } else { unscaled }, inexact))
}

/// A string truncated to n characters; CHAR(n) blank-padded to n. The value gets its own copy of the text: a
/// slice of the record instead would share one reference count among all the rows cut from a read buffer, and
/// the worker threads would contend for it.
#[inline]
pub(crate) fn string(text: &str, ty: &SqlType) -> Value {
    // Fast path: n bytes or fewer are n characters or fewer.
    match ty {
        SqlType::Varchar(n) if text.len() <= *n as usize => Value::string(text),
        _ => cut_or_padded(text, ty),
    }
}

/// [`string`]'s text cut to n characters, CHAR(n) blank-padded to n.
fn cut_or_padded(text: &str, ty: &SqlType) -> Value {
    let (n, pad) = match ty {
        SqlType::Char(n) => (*n as usize, true),
        SqlType::Varchar(n) => (*n as usize, false),
        _ => (usize::MAX, false),
    };
    let cut = text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
    let text = &text[..cut];
    if pad {
        let have = text.chars().count();
        if have < n {
            let mut padded = String::with_capacity(text.len() + n - have);
            padded.push_str(text);
            padded.extend(std::iter::repeat_n(' ', n - have));
            return Value::String(Text::from(padded));
        }
    }
    Value::string(text)
}

/// Bytes truncated to n; BINARY(n) zero-padded to n.
fn binary(mut bytes: Vec<u8>, ty: &SqlType) -> Value {
    match ty {
        SqlType::Binary(n) => bytes.resize(*n as usize, 0),
        SqlType::Varbinary(n) => bytes.truncate(*n as usize),
        _ => {}
    }
    Value::Binary(Bytes::from(bytes))
}

/// A binary literal `X'3F67'` (an even number of hex digits).
fn binary_literal(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix(['X', 'x'])?.strip_prefix('\'')?.strip_suffix('\'')?.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks(2).map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?)).collect()
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Standard base64 (padding optional), the JSON form of BINARY in SQLREF sql-reference-data-types.
fn base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=').as_bytes();
    if text.len() % 4 == 1 {
        return None;
    }
    let sextet = |b: u8| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut acc = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            acc |= u32::from(sextet(*b)?) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// A value's text for a message: short, on one line.
fn clip(text: &str) -> Cow<'_, str> {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => Cow::Owned(format!("{}...", &text[..cut])),
        None => Cow::Borrowed(text),
    }
}

/// "`12x` is not a DOUBLE".
fn not_a(text: &str, ty: &SqlType) -> String {
    format!("`{}` is not {} {ty}", clip(text), article(ty))
}

fn article(ty: &SqlType) -> &'static str {
    if matches!(ty, SqlType::Integer | SqlType::IntervalDayTime | SqlType::IntervalYearMonth) { "an" } else { "a" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(raw: &str, ty: &str) -> Result<Value, String> {
        from_json(&Json::from_raw(raw), &ty.parse::<SqlType>().map_err(|e| e.to_string())?)
    }

    fn dec(unscaled: i128, scale: u8) -> Value {
        Value::Decimal(Decimal { unscaled, scale })
    }

    #[test]
    fn strings_longer_than_the_column_are_truncated_and_char_pads() {
        assert_eq!(json("\"abcdef\"", "VARCHAR(3)"), Ok(Value::string("abc")));
        assert_eq!(json("\"héllo\"", "VARCHAR(2)"), Ok(Value::string("hé")));
        assert_eq!(json("\"ab\"", "CHAR(4)"), Ok(Value::string("ab  ")));
        assert_eq!(json("\"abcdef\"", "CHAR(4)"), Ok(Value::string("abcd")));
        assert_eq!(json("\"a\\\"b\\n\"", "VARCHAR(8)"), Ok(Value::string("a\"b\n")));
        assert_eq!(json("12345", "VARCHAR(3)"), Ok(Value::string("123")));
    }

    #[test]
    fn numbers_that_do_not_fit_are_errors() {
        assert_eq!(json("42", "INTEGER"), Ok(Value::Int(42)));
        assert_eq!(json("123.0", "INTEGER"), Ok(Value::Int(123)));
        assert_eq!(json("1e3", "BIGINT"), Ok(Value::Int(1000)));
        assert_eq!(json("9223372036854775807", "BIGINT"), Ok(Value::Int(i64::MAX)));
        for (raw, ty) in [
            ("123.4", "INT"),
            ("2147483648", "INTEGER"),
            ("128", "TINYINT"),
            ("-32769", "SMALLINT"),
            ("9223372036854775808", "BIGINT"),
            ("1e400", "BIGINT"),
            ("1e999", "DOUBLE"),
            ("1e39", "REAL"),
            ("1234.5", "DECIMAL(5,2)"),
            ("\"12x\"", "DOUBLE"),
            ("\"forty\"", "INTEGER"),
            ("\"1.5\"", "INTEGER"),
        ] {
            assert!(json(raw, ty).is_err(), "{raw} into {ty}");
        }
        assert_eq!(json("123.4", "INT"), Err("`123.4` is not an INTEGER (it has a fraction)".into()));
        assert_eq!(json("\"12x\"", "DOUBLE"), Err("`12x` is not a DOUBLE".into()));
    }

    #[test]
    fn numbers_parse_from_strings_and_decimals_round_to_their_scale() {
        assert_eq!(json("\"42\"", "INTEGER"), Ok(Value::Int(42)));
        assert_eq!(json("\" -7 \"", "SMALLINT"), Ok(Value::Int(-7)));
        assert_eq!(json("\"2.5\"", "DOUBLE"), Ok(Value::Double(2.5)));
        assert_eq!(json("0.1", "REAL"), Ok(Value::Double(0.1)));
        assert_eq!(json("12.345", "DECIMAL(10,2)"), Ok(dec(1235, 2)));
        assert_eq!(json("-12.345", "DECIMAL(10,2)"), Ok(dec(-1235, 2)));
        assert_eq!(json("12.344", "DECIMAL(10,2)"), Ok(dec(1234, 2)));
        assert_eq!(json("\"7\"", "DECIMAL(4,2)"), Ok(dec(700, 2)));
        assert_eq!(json("1.5e2", "DECIMAL(5,1)"), Ok(dec(1500, 1)));
        assert_eq!(json("0.004", "DECIMAL(3,2)"), Ok(dec(0, 2)));
        assert_eq!(json("0.005", "DECIMAL(3,2)"), Ok(dec(1, 2)));
        assert_eq!(json("3.14159265358979323846264338327950288419716939937510", "DECIMAL(5,4)"), Ok(dec(31416, 4)));
    }

    #[test]
    fn booleans_into_numbers_and_back() {
        assert_eq!(json("true", "INTEGER"), Ok(Value::Int(1)));
        assert_eq!(json("false", "BIGINT"), Ok(Value::Int(0)));
        assert_eq!(json("true", "DOUBLE"), Ok(Value::Double(1.0)));
        assert_eq!(json("true", "DECIMAL(5,2)"), Ok(dec(100, 2)));
        assert_eq!(json("true", "VARCHAR(3)"), Ok(Value::string("tru")));
        assert_eq!(json("true", "VARBINARY(4)"), Ok(Value::Binary(Bytes::from_static(&[1]))));
        assert_eq!(json("false", "BOOLEAN"), Ok(Value::Boolean(false)));
        assert!(json("true", "TIMESTAMP").is_err());
        for (raw, expected) in [("\"true\"", true), ("\"TRUE\"", true), ("\"yes\"", false), ("\"1\"", false)] {
            assert_eq!(json(raw, "BOOLEAN"), Ok(Value::Boolean(expected)), "{raw}");
        }
        for (raw, expected) in [("0", false), ("-0.0", false), ("0e7", false), ("2", true), ("0.5", true)] {
            assert_eq!(json(raw, "BOOLEAN"), Ok(Value::Boolean(expected)), "{raw}");
        }
    }

    #[test]
    fn null_is_null_whatever_the_type() {
        for ty in ["INTEGER", "VARCHAR(4)", "TIMESTAMP", "BOOLEAN", "DECIMAL(4,1)", "BINARY(2)"] {
            assert_eq!(json("null", ty), Ok(Value::Null), "{ty}");
        }
    }

    #[test]
    fn arrays_and_objects_are_text_for_strings_and_errors_otherwise() {
        assert_eq!(json("[1, 2]", "VARCHAR(16)"), Ok(Value::string("[1, 2]")));
        assert_eq!(json("{\"a\":1}", "VARCHAR(16)"), Ok(Value::string("{\"a\":1}")));
        assert_eq!(json("[1]", "INTEGER"), Err("an array `[1]` is not an INTEGER".into()));
        assert!(json("{}", "TIMESTAMP").is_err());
    }

    #[test]
    fn datetimes_parse_in_the_literal_forms() {
        let day = literal::days_from_civil(1992, 2, 14);
        let at = day * MS_PER_DAY + (18 * 3600 + 35 * 60 + 44) * 1000;
        assert_eq!(json("\"1992-02-14\"", "DATE"), Ok(Value::Date(day as i32)));
        assert_eq!(json("\"1992-02-14 18:35:44.0\"", "TIMESTAMP"), Ok(Value::Timestamp(at)));
        assert_eq!(json("\"1992-02-14T18:35:44.000\"", "TIMESTAMP"), Ok(Value::Timestamp(at)));
        assert_eq!(json("\"1992-02-14\"", "TIMESTAMP"), Ok(Value::Timestamp(day * MS_PER_DAY)));
        assert_eq!(json("\"1992-02-14 18:35:44\"", "DATE"), Ok(Value::Date(day as i32)));
        assert_eq!(json("\"18:35:44\"", "TIME"), Ok(Value::Time(66_944_000)));
        assert_eq!(json("\"1992-02-14 18:35:44\"", "TIME"), Ok(Value::Time(66_944_000)));
        assert!(json("\"1992-02-30\"", "DATE").is_err());
        assert!(json("702000000000", "TIMESTAMP").is_err());
    }

    #[test]
    fn binary_takes_literals_and_base64() {
        let bytes = |b: &'static [u8]| Ok(Value::Binary(Bytes::from_static(b)));
        assert_eq!(json("\"X'3F67'\"", "VARBINARY(8)"), bytes(&[0x3f, 0x67]));
        assert_eq!(json("\"aGk=\"", "VARBINARY(8)"), bytes(b"hi"));
        assert_eq!(json("\"aGk=\"", "BINARY(3)"), bytes(b"hi\0"));
        assert_eq!(json("\"aGVsbG8\"", "VARBINARY(2)"), bytes(b"he"));
        assert!(json("\"X'3F6'\"", "VARBINARY(8)").is_err());
        assert!(json("\"not base64!\"", "VARBINARY(8)").is_err());
        assert!(json("12", "VARBINARY(8)").is_err());
    }
}
