//! Values of rows: one variant per family of SQL types.

use std::sync::Arc;

use bytes::Bytes;

/// A fixed-point number: `unscaled / 10^scale` (DECIMAL/NUMERIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The digits, without the point.
    pub unscaled: i128,
    /// Digits after the point.
    pub scale: u8,
}

/// The text of a CHAR or VARCHAR value: UTF-8 in reference-counted bytes. Cloning it, or taking a part of it
/// ([`text_within`]), shares the bytes instead of copying them: the fields a log parser cuts from a line and a
/// truncated VARCHAR are slices of the line's buffer, with no allocation of their own. Values are made per worker
/// thread and not shared between threads, so their reference counts stay in one core's cache.
pub type Text = bytestring::ByteString;

/// `part` as [`Text`]: a shared slice of `source` when `part` lies within it (no copy), else a copy of `part`.
pub fn text_within(source: &Text, part: &str) -> Text {
    let (start, end) = (source.as_ptr() as usize, source.as_ptr() as usize + source.len());
    let at = part.as_ptr() as usize;
    if at >= start && at + part.len() <= end { source.slice_ref(part) } else { Text::from(part) }
}

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// BOOLEAN.
    Boolean(bool),
    /// TINYINT, SMALLINT, INTEGER, BIGINT.
    Int(i64),
    /// REAL, DOUBLE.
    Double(f64),
    /// DECIMAL, NUMERIC.
    Decimal(Decimal),
    /// CHAR, VARCHAR: shared text, often a slice of the record it was read from (see [`Text`]).
    String(Text),
    /// DATE: days since 1970-01-01.
    Date(i32),
    /// TIME: milliseconds since midnight.
    Time(i32),
    /// TIMESTAMP: milliseconds since 1970-01-01 00:00:00 UTC.
    Timestamp(i64),
    /// BINARY, VARBINARY.
    Binary(Bytes),
    /// A day-time INTERVAL, in milliseconds.
    Interval(i64),
    /// A year-month INTERVAL, in months.
    IntervalMonths(i32),
    /// A row value (log parser results): fields in the order of its [`SqlType::Row`](crate::types::SqlType::Row).
    Row(Arc<[Value]>),
}

impl Value {
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A string value (a copy of `text`).
    pub fn string(text: &str) -> Self {
        Value::String(Text::from(text))
    }
}
