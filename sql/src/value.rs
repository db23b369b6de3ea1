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
    /// CHAR, VARCHAR.
    String(Arc<str>),
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

    /// A string value.
    pub fn string(text: &str) -> Self {
        Value::String(Arc::from(text))
    }
}
