//! Output formats: a row of an output in-app stream becomes one record's bytes, JSON or CSV, for a destination.
//!
//! [`write_row`] appends to the caller's buffer (reused across rows) with no trailing newline: the destination adds
//! delimiters. Numbers go through `itoa`/`ryu` and strings are escaped straight into the buffer; no `String` per value
//! except a small reused one for date/time text.
//!
//! The reference leaves the exact serialization UNCONFIRMED ("one JSON object per row, column names as keys, is
//! expected"); the choices made here:
//!
//! | value | JSON | CSV |
//! |---|---|---|
//! | NULL | `null` | empty field |
//! | BOOLEAN | `true` / `false` | `true` / `false` |
//! | TINYINT..BIGINT | number | digits |
//! | REAL, DOUBLE | shortest round-trip number (`ryu`: `1.0`, `1e-7`); NaN and infinities `null` | same; `NaN`, `Infinity`, `-Infinity` |
//! | DECIMAL(p, s) | number with exactly s decimals (`12.30`) | same |
//! | CHAR, VARCHAR | string (JSON escaping) | text, RFC 4180 quoted when needed |
//! | DATE / TIME / TIMESTAMP | `"2020-07-01"` / `"12:00:00.000"` / `"2020-07-01 12:00:00.000"` | same, unquoted |
//! | BINARY, VARBINARY | lowercase hex string | lowercase hex |
//! | INTERVAL | number: milliseconds (day-time) or months (year-month) | same |
//! | ROW | nested object, fields named by its type | the nested object's JSON text, quoted |
//!
//! JSON keys are the column names in column order. CSV quotes a field holding `,`, `"`, CR or LF (doubling `"`), and
//! writes an empty string as `""` so that it stays apart from NULL.

use crate::json_scan::special_flags;
use crate::literal;
use crate::types::SqlType;
use crate::value::{Decimal, Value};

/// How rows are serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per row.
    Json,
    /// One CSV line per row.
    Csv,
}

/// Appends one record's bytes for a row (no trailing newline: the destination adds delimiters): a JSON object with
/// the column names as keys in column order, or a CSV line (RFC 4180 quoting when needed). `row` holds one value per
/// column.
pub fn write_row(format: OutputFormat, columns: &[(String, SqlType)], row: &[Value], out: &mut Vec<u8>) {
    let mut scratch = String::new();
    match format {
        OutputFormat::Json => {
            out.push(b'{');
            for (i, ((name, ty), value)) in columns.iter().zip(row).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(name, out);
                out.push(b':');
                write_json_value(value, ty, out, &mut scratch);
            }
            out.push(b'}');
        }
        OutputFormat::Csv => {
            for (i, ((_, ty), value)) in columns.iter().zip(row).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_csv_value(value, ty, out, &mut scratch);
            }
        }
    }
}

/// [`write_row`] for one output's columns, with the JSON keys (`{"name":`, `,"name":`) escaped once, up front.
#[derive(Debug, Clone)]
pub struct RowWriter {
    format: OutputFormat,
    columns: Vec<(String, SqlType)>,
    /// JSON: per column, the text before its value.
    keys: Vec<JsonKey>,
}

/// The text before a column's value in a JSON row, followed by a `"` that string values take with it: kept in
/// a fixed-size array when short enough, so that writing it is one fixed-size copy (no call to copy a few bytes).
/// With the column's type, so that a row is one walk over the keys and the values.
#[derive(Debug, Clone)]
struct JsonKey {
    text: Vec<u8>,
    /// `text` then `"`, padded: when the key is shorter than the array.
    short: Option<[u8; SHORT_KEY]>,
    ty: SqlType,
}

const SHORT_KEY: usize = 32;

impl JsonKey {
    fn new(text: Vec<u8>, ty: SqlType) -> Self {
        let short = (text.len() < SHORT_KEY).then(|| {
            let mut short = [b' '; SHORT_KEY];
            short[..text.len()].copy_from_slice(&text);
            short[text.len()] = b'"';
            short
        });
        JsonKey { text, short, ty }
    }

    /// Appends the key, and the opening quote of a string value when `quote`.
    #[inline]
    fn write(&self, quote: bool, out: &mut Vec<u8>) {
        let len = self.text.len() + usize::from(quote);
        match &self.short {
            Some(short) => {
                let end = out.len() + len;
                out.extend_from_slice(short);
                out.truncate(end);
            }
            None => {
                out.extend_from_slice(&self.text);
                if quote {
                    out.push(b'"');
                }
            }
        }
    }
}

impl RowWriter {
    /// A writer of rows of `columns` in `format`.
    pub fn new(format: OutputFormat, columns: &[(String, SqlType)]) -> Self {
        let keys = match format {
            OutputFormat::Json => columns
                .iter()
                .enumerate()
                .map(|(i, (name, ty))| {
                    let mut key = vec![if i == 0 { b'{' } else { b',' }];
                    write_json_string(name, &mut key);
                    key.push(b':');
                    JsonKey::new(key, ty.clone())
                })
                .collect(),
            OutputFormat::Csv => Vec::new(),
        };
        RowWriter { format, columns: columns.to_vec(), keys }
    }

    /// Appends one record's bytes for `row`, exactly as [`write_row`] does.
    pub fn write(&self, row: &[Value], out: &mut Vec<u8>) {
        if self.format == OutputFormat::Csv || self.columns.is_empty() || row.is_empty() {
            write_row(self.format, &self.columns, row, out);
            return;
        }
        let mut scratch = String::new();
        for (key, value) in self.keys.iter().zip(row) {
            match plain_json_text(value) {
                // The usual value: the key takes its opening quote.
                Some(bytes) => {
                    key.write(true, out);
                    append_text(bytes, out);
                    out.push(b'"');
                }
                None => {
                    key.write(false, out);
                    write_json_value(value, &key.ty, out, &mut scratch);
                }
            }
        }
        out.push(b'}');
    }
}

/// Appends `bytes`: a few bytes one by one, which costs less than a call to copy them.
#[inline]
fn append_text(bytes: &[u8], out: &mut Vec<u8>) {
    if bytes.len() < 8 {
        bytes.iter().for_each(|&b| out.push(b));
    } else {
        out.extend_from_slice(bytes);
    }
}

/// The bytes of a string value that a JSON string holds as they are (nothing to escape), read once.
#[inline]
fn plain_json_text(value: &Value) -> Option<&[u8]> {
    match value {
        Value::String(text) => Some(text.as_bytes()).filter(|bytes| !needs_json_escape(bytes)),
        _ => None,
    }
}

fn write_json_value(value: &Value, ty: &SqlType, out: &mut Vec<u8>, scratch: &mut String) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Double(x) if !x.is_finite() => out.extend_from_slice(b"null"),
        Value::String(text) => write_json_string(text, out),
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) | Value::Binary(_) => {
            out.push(b'"');
            write_plain(value, out, scratch);
            out.push(b'"');
        }
        Value::Row(fields) => {
            let names = match ty {
                SqlType::Row(names) => &names[..],
                _ => &[],
            };
            out.push(b'{');
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match names.get(i) {
                    Some((name, field_ty)) => {
                        write_json_string(name, out);
                        out.push(b':');
                        write_json_value(field, field_ty, out, scratch);
                    }
                    // A row value wider than its type: name the extra fields by position.
                    None => {
                        write_json_string(&format!("EXPR${i}"), out);
                        out.push(b':');
                        write_json_value(field, &SqlType::Null, out, scratch);
                    }
                }
            }
            out.push(b'}');
        }
        _ => write_plain(value, out, scratch),
    }
}

fn write_csv_value(value: &Value, ty: &SqlType, out: &mut Vec<u8>, scratch: &mut String) {
    match value {
        Value::Null => {}
        Value::String(text) => write_csv_text(text.as_bytes(), out),
        Value::Row(_) => {
            let mut json = Vec::new();
            write_json_value(value, ty, &mut json, scratch);
            write_csv_text(&json, out);
        }
        _ => write_plain(value, out, scratch),
    }
}

/// The text of a value that needs no quoting or escaping in either format (numbers, dates, hex).
fn write_plain(value: &Value, out: &mut Vec<u8>, scratch: &mut String) {
    match value {
        Value::Null => {}
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(n) | Value::Interval(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Value::IntervalMonths(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Value::Double(x) => write_double(*x, out),
        Value::Decimal(d) => write_decimal(*d, out),
        Value::Date(days) => {
            scratch.clear();
            literal::format_date(i64::from(*days), scratch);
            out.extend_from_slice(scratch.as_bytes());
        }
        Value::Time(ms) => {
            scratch.clear();
            literal::format_time(i64::from(*ms), scratch);
            out.extend_from_slice(scratch.as_bytes());
        }
        Value::Timestamp(ms) => {
            scratch.clear();
            literal::format_timestamp(*ms, scratch);
            out.extend_from_slice(scratch.as_bytes());
        }
        Value::Binary(bytes) => write_hex(bytes, out),
        // Strings and rows are written by their format; plain text is a fallback only.
        Value::String(text) => out.extend_from_slice(text.as_bytes()),
        Value::Row(_) => out.extend_from_slice(b"null"),
    }
}

fn write_double(x: f64, out: &mut Vec<u8>) {
    if x.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
    } else if x.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if x > 0.0 {
        out.extend_from_slice(b"Infinity");
    } else {
        out.extend_from_slice(b"-Infinity");
    }
}

/// `unscaled / 10^scale` with exactly `scale` decimals.
fn write_decimal(d: Decimal, out: &mut Vec<u8>) {
    if d.unscaled < 0 {
        out.push(b'-');
    }
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(d.unscaled.unsigned_abs()).as_bytes();
    let scale = usize::from(d.scale);
    if scale == 0 {
        out.extend_from_slice(digits);
        return;
    }
    if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    } else {
        let point = digits.len() - scale;
        out.extend_from_slice(&digits[..point]);
        out.push(b'.');
        out.extend_from_slice(&digits[point..]);
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub(crate) fn write_hex(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
}

/// A JSON string: `"`, `\` and control characters escaped (`\n`, `\u001f`, ...), the rest copied in runs.
#[inline]
fn write_json_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    // Most strings need no escape: copy them whole.
    if !needs_json_escape(bytes) {
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    write_escaped_json_string(bytes, out);
}

/// Whether `bytes` holds a byte [`special_at`](crate::json_scan::special_at) finds, with no search for where: short strings byte by byte
/// in a table, longer ones in whole words and the tail as one last word overlapping the one before (bytes
/// tested twice do no harm to a yes/no answer).
#[inline]
fn needs_json_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 8 {
        return bytes.iter().any(|&b| ESCAPED[usize::from(b)]);
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    (0..n / 8).any(|i| special_flags(word(i * 8), 0) != 0) || special_flags(word(n - 8), 0) != 0
}

/// Per byte, whether a JSON string must escape it: `"`, `\\` and control characters.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// [`write_json_string`] of a string holding bytes to escape.
fn write_escaped_json_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        if escape.is_empty() {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        } else {
            out.extend_from_slice(escape);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// A CSV field: quoted (with `"` doubled) when it holds a delimiter, a quote or a line break, or is empty.
fn write_csv_text(text: &[u8], out: &mut Vec<u8>) {
    let needs_quotes = text.is_empty() || text.iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if !needs_quotes {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    for &b in text {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::json_scan::special_at;

    fn every_type() -> (Vec<(String, SqlType)>, Vec<Value>) {
        let at = literal::parse_timestamp("2020-07-01 12:00:00.000").expect("a timestamp");
        let row_type: Arc<[(String, SqlType)]> =
            Arc::from(vec![("COL_1".to_owned(), SqlType::Varchar(8)), ("n".to_owned(), SqlType::Integer)]);
        let columns = [
            ("null", SqlType::Integer),
            ("flag", SqlType::Boolean),
            ("n", SqlType::BigInt),
            ("x", SqlType::Double),
            ("whole", SqlType::Double),
            ("price", SqlType::Decimal { precision: 10, scale: 2 }),
            ("tiny", SqlType::Decimal { precision: 10, scale: 3 }),
            ("text", SqlType::Varchar(32)),
            ("day", SqlType::Date),
            ("clock", SqlType::Time),
            ("at", SqlType::Timestamp),
            ("bin", SqlType::Varbinary(4)),
            ("parsed", SqlType::Row(row_type)),
        ];
        let row = vec![
            Value::Null,
            Value::Boolean(true),
            Value::Int(-42),
            Value::Double(2.5),
            Value::Double(3.0),
            Value::Decimal(Decimal { unscaled: -1230, scale: 2 }),
            Value::Decimal(Decimal { unscaled: 5, scale: 3 }),
            Value::string("a \"q\", b\\\n\t\u{1}é"),
            Value::Date(literal::parse_date("2020-07-01").expect("a date")),
            Value::Time(12 * 3_600_000),
            Value::Timestamp(at),
            Value::Binary(Bytes::from_static(&[0x0f, 0xa0])),
            Value::Row(Arc::from(vec![Value::string("x"), Value::Int(1)])),
        ];
        (columns.into_iter().map(|(n, t)| (n.to_owned(), t)).collect(), row)
    }

    fn written(format: OutputFormat, columns: &[(String, SqlType)], row: &[Value]) -> String {
        let mut out = Vec::new();
        write_row(format, columns, row, &mut out);
        String::from_utf8(out).expect("UTF-8 output")
    }

    #[test]
    fn the_escape_test_agrees_with_the_scan_at_every_length_and_position() {
        for len in 0..40 {
            let plain = vec![b'a'; len];
            assert!(!needs_json_escape(&plain), "{len}");
            assert!(!needs_json_escape("é€ 😀 ~\u{7f}".as_bytes()), "non-ASCII and DEL need no escape");
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff] {
                    let mut bytes = plain.clone();
                    bytes[at] = special;
                    assert_eq!(needs_json_escape(&bytes), special_at(&bytes, 0).is_some(), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() -> Result<(), serde_json::Error> {
        let long = "a long string, longer than any word: ".repeat(4);
        let texts = [
            "",
            "7",
            "82",
            "abcdefg",
            "abcdefgh",
            "héllo",
            "\"",
            "ab\\",
            "2020-07-01 12:05:09",
            "tab\there",
            "\u{1}\u{8}\u{c}\r\n\u{1f}",
            "héllo wörld 😀",
            "quote at the end of eight\"",
            &long,
            &format!("{long}\"{long}\n"),
        ];
        for text in texts {
            let mut out = Vec::new();
            write_json_string(text, &mut out);
            assert_eq!(String::from_utf8_lossy(&out), serde_json::to_string(text)?, "{text:?}");
            let columns = [("s".to_owned(), SqlType::Varchar(1000))];
            let mut row = Vec::new();
            RowWriter::new(OutputFormat::Json, &columns).write(&[Value::string(text)], &mut row);
            assert_eq!(String::from_utf8_lossy(&row), format!("{{\"s\":{}}}", serde_json::to_string(text)?));
        }
        Ok(())
    }

    #[test]
    fn json_output_of_every_type() -> Result<(), serde_json::Error> {
        let (columns, row) = every_type();
        let text = written(OutputFormat::Json, &columns, &row);
        assert_eq!(
            text,
            r#"{"null":null,"flag":true,"n":-42,"x":2.5,"whole":3.0,"price":-12.30,"tiny":0.005,"#.to_owned()
                + r#""text":"a \"q\", b\\\n\t\u0001é","day":"2020-07-01","clock":"12:00:00.000","#
                + r#""at":"2020-07-01 12:00:00.000","bin":"0fa0","parsed":{"COL_1":"x","n":1}}"#
        );
        // Valid JSON, and the string survives the round trip.
        let parsed: serde_json::Value = serde_json::from_str(&text)?;
        assert_eq!(parsed["text"], "a \"q\", b\\\n\t\u{1}é");
        Ok(())
    }

    #[test]
    fn csv_output_of_every_type() {
        let (columns, row) = every_type();
        assert_eq!(
            written(OutputFormat::Csv, &columns, &row),
            "".to_owned()
                + ",true,-42,2.5,3.0,-12.30,0.005,\"a \"\"q\"\", b\\\n\t\u{1}é\",2020-07-01,12:00:00.000,"
                + "2020-07-01 12:00:00.000,0fa0,\"{\"\"COL_1\"\":\"\"x\"\",\"\"n\"\":1}\""
        );
        let columns = vec![("a".to_owned(), SqlType::Varchar(4)), ("b".to_owned(), SqlType::Varchar(4))];
        assert_eq!(written(OutputFormat::Csv, &columns, &[Value::string(""), Value::Null]), "\"\",");
        assert_eq!(written(OutputFormat::Csv, &columns, &[Value::string("plain"), Value::string("x y")]), "plain,x y");
    }

    #[test]
    fn odd_numbers_are_written_as_valid_output() {
        let columns =
            vec![("x".to_owned(), SqlType::Double), ("d".to_owned(), SqlType::Decimal { precision: 19, scale: 0 })];
        let row = [Value::Double(f64::NAN), Value::Decimal(Decimal { unscaled: -7, scale: 0 })];
        assert_eq!(written(OutputFormat::Json, &columns, &row), r#"{"x":null,"d":-7}"#);
        assert_eq!(written(OutputFormat::Csv, &columns, &row), "NaN,-7");
        let row = [Value::Double(f64::NEG_INFINITY), Value::Decimal(Decimal { unscaled: 12, scale: 4 })];
        assert_eq!(written(OutputFormat::Csv, &columns, &row), "-Infinity,0.0012");
        let row = [Value::Double(1e-7), Value::Decimal(Decimal { unscaled: i128::from(i64::MIN), scale: 2 })];
        assert_eq!(written(OutputFormat::Json, &columns, &row), r#"{"x":1e-7,"d":-92233720368547758.08}"#);
    }

    #[test]
    fn a_row_writer_writes_what_write_row_writes() {
        let (columns, row) = every_type();
        for format in [OutputFormat::Json, OutputFormat::Csv] {
            let writer = RowWriter::new(format, &columns);
            for values in [&row[..], &row[..3], &[]] {
                let mut out = b"prefix ".to_vec();
                writer.write(values, &mut out);
                let mut expected = b"prefix ".to_vec();
                write_row(format, &columns, values, &mut expected);
                assert_eq!(out, expected);
            }
        }
        let long = "a column name longer than the fixed-size keys hold".to_owned();
        let quoted = vec![("say \"hi\"".to_owned(), SqlType::Integer), (long.clone(), SqlType::Varchar(8))];
        let mut out = Vec::new();
        RowWriter::new(OutputFormat::Json, &quoted).write(&[Value::Int(1), Value::string("x\"")], &mut out);
        assert_eq!(String::from_utf8_lossy(&out), format!(r#"{{"say \"hi\"":1,"{long}":"x\""}}"#));
        out.clear();
        RowWriter::new(OutputFormat::Json, &quoted).write(&[Value::string("a"), Value::string("b")], &mut out);
        assert_eq!(String::from_utf8_lossy(&out), format!(r#"{{"say \"hi\"":"a","{long}":"b"}}"#));
        out.clear();
        RowWriter::new(OutputFormat::Json, &quoted).write(&[Value::Int(1), Value::Null], &mut out);
        assert_eq!(String::from_utf8_lossy(&out), format!(r#"{{"say \"hi\"":1,"{long}":null}}"#));
        out.clear();
        RowWriter::new(OutputFormat::Json, &[]).write(&[], &mut out);
        assert_eq!(out, b"{}");
    }

    #[test]
    fn keys_are_escaped_and_the_buffer_is_appended_to() {
        let columns = vec![("say \"hi\"".to_owned(), SqlType::Integer)];
        let mut out = b"prefix ".to_vec();
        write_row(OutputFormat::Json, &columns, &[Value::Int(1)], &mut out);
        assert_eq!(out, br#"prefix {"say \"hi\"":1}"#);
    }

    /// A straightforward writer to compare with: serde_json for strings and keys, `format!` for the rest.
    fn reference(format: OutputFormat, columns: &[(String, SqlType)], row: &[Value]) -> String {
        let fields: Vec<String> = columns.iter().zip(row).map(|((_, ty), v)| reference_value(format, ty, v)).collect();
        match format {
            OutputFormat::Json => {
                let names = columns.iter().map(|(name, _)| serde_json::to_string(name).expect("a key"));
                let pairs: Vec<String> = names.zip(fields).map(|(name, value)| format!("{name}:{value}")).collect();
                format!("{{{}}}", pairs.join(","))
            }
            OutputFormat::Csv => fields.join(","),
        }
    }

    fn text_of(format: fn(i64, &mut String), value: i64) -> String {
        let mut text = String::new();
        format(value, &mut text);
        text
    }

    fn reference_value(format: OutputFormat, ty: &SqlType, value: &Value) -> String {
        let json = format == OutputFormat::Json;
        let quoted = |text: String| if json { format!("\"{text}\"") } else { text };
        match value {
            Value::Null => (if json { "null" } else { "" }).to_owned(),
            Value::String(text) if json => serde_json::to_string(text.as_str()).expect("a string"),
            Value::String(text) if text.is_empty() || text.contains([',', '"', '\r', '\n']) => {
                format!("\"{}\"", text.replace('"', "\"\""))
            }
            Value::String(text) => text.to_string(),
            Value::Boolean(b) => b.to_string(),
            Value::Int(n) | Value::Interval(n) => n.to_string(),
            Value::IntervalMonths(n) => n.to_string(),
            Value::Double(x) if x.is_finite() => serde_json::to_string(x).expect("a number"),
            Value::Double(_) if json => "null".to_owned(),
            Value::Double(x) => (if x.is_nan() {
                "NaN"
            } else if *x > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            })
            .to_owned(),
            Value::Decimal(d) => {
                let (sign, digits) = (if d.unscaled < 0 { "-" } else { "" }, d.unscaled.unsigned_abs().to_string());
                let scale = usize::from(d.scale);
                let digits = format!("{digits:0>width$}", width = scale + 1);
                let (whole, fraction) = digits.split_at(digits.len() - scale);
                if scale == 0 { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }
            }
            Value::Date(days) => quoted(text_of(literal::format_date, i64::from(*days))),
            Value::Time(ms) => quoted(text_of(literal::format_time, i64::from(*ms))),
            Value::Timestamp(ms) => quoted(text_of(literal::format_timestamp, *ms)),
            Value::Binary(bytes) => quoted(bytes.iter().map(|b| format!("{b:02x}")).collect()),
            Value::Row(fields) => {
                let SqlType::Row(names) = ty else { panic!("a row type") };
                let text = reference(OutputFormat::Json, names, fields);
                if json { text } else { format!("\"{}\"", text.replace('"', "\"\"")) }
            }
        }
    }

    #[test]
    fn the_row_writer_writes_what_a_straightforward_writer_writes_for_random_rows() {
        let row_type: Arc<[(String, SqlType)]> =
            Arc::from(vec![("a".to_owned(), SqlType::Varchar(8)), ("b \"c\"".to_owned(), SqlType::Integer)]);
        let long_name = "a column name longer than thirty-two bytes".to_owned();
        let types = [
            SqlType::Varchar(64),
            SqlType::Varchar(64),
            SqlType::BigInt,
            SqlType::Boolean,
            SqlType::Double,
            SqlType::Decimal { precision: 12, scale: 3 },
            SqlType::Date,
            SqlType::Time,
            SqlType::Timestamp,
            SqlType::Varbinary(8),
            SqlType::Row(row_type),
        ];
        let names = ["ts", "say \"hi\"", "n", "flag", "x", "price", "day", "clock", "at", "bin", "parsed", &long_name];
        let columns: Vec<(String, SqlType)> =
            names.iter().zip(types.iter().cycle()).map(|(n, t)| (n.to_string(), t.clone())).collect();
        let pieces = [
            "a",
            "7",
            "42",
            "é",
            "😀",
            ",",
            "\"",
            "\\",
            "\n",
            "\r",
            "\t",
            "\u{1}",
            "\u{1f}",
            " ",
            "2020-07-01 12:00:01",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        for _ in 0..3000 {
            let row: Vec<Value> = columns
                .iter()
                .map(|(_, ty)| {
                    if next(6) == 0 {
                        return Value::Null;
                    }
                    match ty {
                        SqlType::BigInt => Value::Int(next(2_000_001) as i64 - 1_000_000),
                        SqlType::Boolean => Value::Boolean(next(2) == 0),
                        SqlType::Double => Value::Double([f64::NAN, 1e-7, -2.5, 3.0, f64::INFINITY][next(5) as usize]),
                        SqlType::Decimal { .. } => {
                            Value::Decimal(Decimal { unscaled: next(200_001) as i128 - 100_000, scale: 3 })
                        }
                        SqlType::Date => Value::Date(next(40_000) as i32 - 20_000),
                        SqlType::Time => Value::Time(next(86_400_000) as i32),
                        SqlType::Timestamp => Value::Timestamp(next(4_000_000_000_000) as i64 - 1_000_000_000_000),
                        SqlType::Varbinary(_) => {
                            Value::Binary(Bytes::from((0..next(5)).map(|b| b as u8 * 61).collect::<Vec<_>>()))
                        }
                        SqlType::Row(_) => {
                            Value::Row(Arc::from(vec![Value::string("x,\"y\""), Value::Int(next(9) as i64)]))
                        }
                        _ => Value::string(
                            &(0..next(6)).map(|_| pieces[next(pieces.len() as u64) as usize]).collect::<String>(),
                        ),
                    }
                })
                .collect();
            let width = next(columns.len() as u64 + 1) as usize;
            for format in [OutputFormat::Json, OutputFormat::Csv] {
                let (columns, row) = (&columns[..width], &row[..width]);
                let mut out = b"earlier row\n".to_vec();
                RowWriter::new(format, columns).write(row, &mut out);
                let expected = if width == 0 && format == OutputFormat::Json {
                    "{}".to_owned()
                } else {
                    reference(format, columns, row)
                };
                assert_eq!(
                    String::from_utf8(out).expect("UTF-8"),
                    format!("earlier row\n{expected}"),
                    "{format:?} {row:?}"
                );
            }
        }
    }
}
