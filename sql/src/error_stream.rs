//! `error_stream`: the in-app stream of run-time errors (DG error-handling.md). User SQL cannot read it; it is
//! only persisted, by naming it as an output. A record the input mapping rejects, and a row a pump fails on
//! (division by zero, a failed cast, an out-of-order ROWTIME), each become one row of it.
//!
//! Choices the reference leaves open: ERROR_LEVEL is `ERROR`; DATA_ROW is lowercase hex without a prefix, cut at
//! 49152 hex digits (the first 24576 bytes); strings longer than their column are truncated, like input mapping.

use crate::types::SqlType;
use crate::value::{Text, Value};

/// The name of the error stream, as outputs name it.
pub const ERROR_STREAM: &str = "error_stream";

/// Column sizes, shared by the schema and the truncation.
const LEVEL: u32 = 10;
const NAME: u32 = 32;
const MESSAGE: u32 = 4096;
const DATA_ROW: u32 = 49_152;
const PUMP: u32 = 128;

/// The columns of `error_stream`: ERROR_TIME TIMESTAMP, ERROR_LEVEL VARCHAR(10), ERROR_NAME VARCHAR(32), MESSAGE
/// VARCHAR(4096), DATA_ROWTIME TIMESTAMP, DATA_ROW VARCHAR(49152), PUMP_NAME VARCHAR(128).
pub fn error_stream_columns() -> Vec<(String, SqlType)> {
    [
        ("ERROR_TIME", SqlType::Timestamp),
        ("ERROR_LEVEL", SqlType::Varchar(LEVEL)),
        ("ERROR_NAME", SqlType::Varchar(NAME)),
        ("MESSAGE", SqlType::Varchar(MESSAGE)),
        ("DATA_ROWTIME", SqlType::Timestamp),
        ("DATA_ROW", SqlType::Varchar(DATA_ROW)),
        ("PUMP_NAME", SqlType::Varchar(PUMP)),
    ]
    .into_iter()
    .map(|(name, ty)| (name.to_owned(), ty))
    .collect()
}

/// One row of `error_stream`, in [`error_stream_columns`] order: the error's time and name (a short kind, such as
/// `Coercion error`), its message, the failed row's ROWTIME (None for a record that never became a row), the original
/// bytes (hex-encoded into DATA_ROW) and the pump it failed in (None for input mapping). Strings are truncated to
/// their column sizes.
pub fn error_row(
    error_time_ms: i64,
    name: &str,
    message: &str,
    data_rowtime_ms: Option<i64>,
    data_row: &[u8],
    pump: Option<&str>,
) -> Vec<Value> {
    let mut hex = Vec::new();
    crate::output::write_hex(&data_row[..data_row.len().min(DATA_ROW as usize / 2)], &mut hex);
    vec![
        Value::Timestamp(error_time_ms),
        Value::string("ERROR"),
        truncated(name, NAME),
        truncated(message, MESSAGE),
        data_rowtime_ms.map_or(Value::Null, Value::Timestamp),
        // Hex digits are ASCII.
        Value::String(Text::from(String::from_utf8_lossy(&hex).into_owned())),
        pump.map_or(Value::Null, |pump| truncated(pump, PUMP)),
    ]
}

/// `text` cut to `max` characters.
fn truncated(text: &str, max: u32) -> Value {
    let cut = text.char_indices().nth(max as usize).map_or(text.len(), |(i, _)| i);
    Value::string(&text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_kdas() {
        let columns = error_stream_columns();
        let shown: Vec<String> = columns.iter().map(|(name, ty)| format!("{name} {ty}")).collect();
        assert_eq!(
            shown,
            [
                "ERROR_TIME TIMESTAMP",
                "ERROR_LEVEL VARCHAR(10)",
                "ERROR_NAME VARCHAR(32)",
                "MESSAGE VARCHAR(4096)",
                "DATA_ROWTIME TIMESTAMP",
                "DATA_ROW VARCHAR(49152)",
                "PUMP_NAME VARCHAR(128)",
            ]
        );
        assert_eq!(ERROR_STREAM, "error_stream");
    }

    #[test]
    fn a_row_has_the_schema_shape_and_hex_data() {
        let row = error_row(1_000, "Coercion error", "column `n`: `x` is not an INTEGER", None, b"{\"n\":\"x\"}", None);
        assert_eq!(
            row,
            vec![
                Value::Timestamp(1_000),
                Value::string("ERROR"),
                Value::string("Coercion error"),
                Value::string("column `n`: `x` is not an INTEGER"),
                Value::Null,
                Value::string("7b226e223a2278227d"),
                Value::Null,
            ]
        );
        assert_eq!(row.len(), error_stream_columns().len());
        let row = error_row(5, "Division by zero", "", Some(4), &[0x00, 0xff], Some("STREAM_PUMP"));
        assert_eq!(row[4], Value::Timestamp(4));
        assert_eq!(row[5], Value::string("00ff"));
        assert_eq!(row[6], Value::string("STREAM_PUMP"));
    }

    #[test]
    fn long_values_are_truncated_to_their_columns() {
        let big = vec![0xabu8; 30_000];
        let row = error_row(0, &"n".repeat(40), &"é".repeat(5000), None, &big, Some(&"p".repeat(200)));
        let chars = |v: &Value| match v {
            Value::String(s) => s.chars().count(),
            _ => 0,
        };
        assert_eq!([chars(&row[2]), chars(&row[3]), chars(&row[5]), chars(&row[6])], [32, 4096, 49_152, 128]);
    }
}
