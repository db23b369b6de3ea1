//! `format: parquet`: Firehose's record format conversion, JSON records in, one Parquet file per object out.
//!
//! ```text
//!   application output shape (columns, SQL types) ──▶ ParquetSchema (once, when the destination starts)
//!   buffered JSON records ──▶ decode each into typed cells ──▶ column buffers ──▶ one row group ──▶ object body
//!                                   └── a record that does not convert ──▶ error prefix (format-conversion-failed)
//! ```
//!
//! The schema comes from the in-app stream's columns, as the application declares them (core hands them to the
//! destination through [`sluice_core::runtime::component::OutputShape`]). Every column is OPTIONAL (KDA SQL has no
//! NOT NULL). Types map as Glue/Athena expect Firehose's conversions:
//!
//! | SQL | Parquet |
//! |---|---|
//! | CHAR, VARCHAR | BYTE_ARRAY, STRING (UTF8) |
//! | BOOLEAN | BOOLEAN |
//! | TINYINT, SMALLINT, INTEGER | INT32, INT(8/16/32, signed) |
//! | BIGINT | INT64 |
//! | REAL / DOUBLE | FLOAT / DOUBLE |
//! | DECIMAL(p, s) | DECIMAL(p, s): INT32 (p <= 9), INT64 (p <= 18), else FIXED_LEN_BYTE_ARRAY |
//! | TIMESTAMP | INT64, TIMESTAMP(MILLIS, UTC) |
//! | DATE | INT32, DATE |
//! | TIME | INT32, TIME(MILLIS) |
//! | BINARY, VARBINARY | BYTE_ARRAY (from the lowercase hex the JSON output writes) |
//! | INTERVAL DAY TO SECOND / YEAR TO MONTH | INT64 milliseconds / INT32 months |
//! | ROW (log parsers) | BYTE_ARRAY, JSON (its JSON text) |
//!
//! Records are read as the SQL application's JSON output writes them (see `sluice_sql::output`): a JSON object
//! keyed by column name, DATE/TIME/TIMESTAMP as `"2020-07-01 12:00:00.000"` text, DECIMAL as a number with its
//! exact digits (read from its JSON text, never through a float). A missing key or `null` is NULL. A record that
//! is not such an object, or whose value does not fit its column, is left out of the file and reported with the
//! reason; the caller writes it under the error prefix. Pages are Snappy-compressed (Firehose's default).

use std::collections::HashMap;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::data_type::{BoolType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::data_type::{ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use serde_json::value::RawValue;
use sluice_core::runtime::component::OutputColumn;
use sluice_sql::types::SqlType;

/// How a column's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Json,
    Boolean,
    Int32 { min: i64, max: i64 },
    Int64,
    Float,
    Double,
    Decimal { precision: u8, scale: u8, physical: DecimalStorage },
    TimestampMillis,
    Date,
    TimeMillis,
    Binary,
}

/// The physical type of a DECIMAL column, by precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecimalStorage {
    Int32,
    Int64,
    /// Big-endian two's complement in this many bytes.
    Fixed(usize),
}

/// One converted value.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Boolean(bool),
    Int32(i32),
    Int64(i64),
    Float(f32),
    Double(f64),
    Bytes(Vec<u8>),
}

/// The Parquet schema of one object, from the columns of the application output feeding the destination.
#[derive(Debug, Clone)]
pub struct ParquetSchema {
    names: Vec<String>,
    kinds: Vec<Kind>,
    schema: Arc<Type>,
    properties: Arc<WriterProperties>,
}

/// What encoding a buffer gave: the file (when any record converted) and the records that did not convert, as
/// (index in the buffer, reason).
#[derive(Debug)]
pub struct Encoded {
    /// The Parquet file; `None` when no record converted.
    pub file: Option<Vec<u8>>,
    /// Records left out: their index among the records passed in, and why.
    pub failed: Vec<(usize, String)>,
}

impl ParquetSchema {
    /// The schema of records with `columns`; an error names a column whose type has no Parquet counterpart.
    pub fn new(columns: &[OutputColumn]) -> Result<Self, String> {
        let mut fields = Vec::with_capacity(columns.len());
        let mut kinds = Vec::with_capacity(columns.len());
        for column in columns {
            let sql_type: SqlType = column
                .sql_type
                .parse()
                .or_else(|e| interval_type(&column.sql_type).ok_or(e))
                .map_err(|e| format!("column `{}`: {e}", column.name))?;
            let kind = kind_of(&sql_type);
            let repetition = if column.nullable { Repetition::OPTIONAL } else { Repetition::REQUIRED };
            let field = field_type(&column.name, kind, repetition)
                .map_err(|e| format!("column `{}` ({sql_type}): {e}", column.name))?;
            fields.push(Arc::new(field));
            kinds.push(kind);
        }
        let schema = Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(|e| format!("the Parquet schema: {e}"))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("sluice version {}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(ParquetSchema {
            names: columns.iter().map(|c| c.name.clone()).collect(),
            kinds,
            schema: Arc::new(schema),
            properties: Arc::new(properties),
        })
    }

    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Encodes `records` (JSON objects) as one Parquet file with one row group.
    pub fn encode<'a>(&self, records: impl IntoIterator<Item = &'a [u8]>) -> Result<Encoded, String> {
        let mut columns: Vec<ColumnBuffer> = self.kinds.iter().map(|_| ColumnBuffer::default()).collect();
        let mut failed = Vec::new();
        let mut rows = 0usize;
        let mut row: Vec<Option<Cell>> = Vec::with_capacity(self.kinds.len());
        for (index, record) in records.into_iter().enumerate() {
            row.clear();
            match self.convert(record, &mut row) {
                Ok(()) => {
                    for (column, cell) in columns.iter_mut().zip(row.drain(..)) {
                        column.push(cell);
                    }
                    rows += 1;
                }
                Err(reason) => failed.push((index, reason)),
            }
        }
        if rows == 0 {
            return Ok(Encoded { file: None, failed });
        }
        let file = self.write(columns).map_err(|e| format!("writing Parquet: {e}"))?;
        Ok(Encoded { file: Some(file), failed })
    }

    /// One record's cells, in column order.
    fn convert(&self, record: &[u8], row: &mut Vec<Option<Cell>>) -> Result<(), String> {
        let object: HashMap<String, &RawValue> =
            serde_json::from_slice(record).map_err(|e| format!("the record is not a JSON object: {e}"))?;
        for (name, kind) in self.names.iter().zip(&self.kinds) {
            let cell = match object.get(name) {
                None => None,
                Some(raw) if raw.get() == "null" => None,
                Some(raw) => Some(cell(*kind, raw.get()).map_err(|e| format!("column `{name}`: {e}"))?),
            };
            row.push(cell);
        }
        Ok(())
    }

    fn write(&self, columns: Vec<ColumnBuffer>) -> parquet::errors::Result<Vec<u8>> {
        let mut writer = SerializedFileWriter::new(Vec::new(), Arc::clone(&self.schema), Arc::clone(&self.properties))?;
        let mut group = writer.next_row_group()?;
        let mut buffers = columns.into_iter().zip(&self.kinds);
        while let Some(mut column) = group.next_column()? {
            let Some((buffer, kind)) = buffers.next() else { break };
            let defs = Some(buffer.defs.as_slice());
            match kind {
                Kind::Boolean => {
                    let values: Vec<bool> =
                        buffer.cells.into_iter().map(|c| matches!(c, Cell::Boolean(true))).collect();
                    column.typed::<BoolType>().write_batch(&values, defs, None)?;
                }
                Kind::Int32 { .. }
                | Kind::Date
                | Kind::TimeMillis
                | Kind::Decimal { physical: DecimalStorage::Int32, .. } => {
                    let values: Vec<i32> =
                        buffer.cells.into_iter().map(|c| if let Cell::Int32(n) = c { n } else { 0 }).collect();
                    column.typed::<Int32Type>().write_batch(&values, defs, None)?;
                }
                Kind::Int64 | Kind::TimestampMillis | Kind::Decimal { physical: DecimalStorage::Int64, .. } => {
                    let values: Vec<i64> =
                        buffer.cells.into_iter().map(|c| if let Cell::Int64(n) = c { n } else { 0 }).collect();
                    column.typed::<Int64Type>().write_batch(&values, defs, None)?;
                }
                Kind::Float => {
                    let values: Vec<f32> =
                        buffer.cells.into_iter().map(|c| if let Cell::Float(x) = c { x } else { 0.0 }).collect();
                    column.typed::<FloatType>().write_batch(&values, defs, None)?;
                }
                Kind::Double => {
                    let values: Vec<f64> =
                        buffer.cells.into_iter().map(|c| if let Cell::Double(x) = c { x } else { 0.0 }).collect();
                    column.typed::<DoubleType>().write_batch(&values, defs, None)?;
                }
                Kind::Decimal { physical: DecimalStorage::Fixed(_), .. } => {
                    let values: Vec<FixedLenByteArray> = buffer
                        .cells
                        .into_iter()
                        .map(|c| FixedLenByteArray::from(if let Cell::Bytes(b) = c { b } else { Vec::new() }))
                        .collect();
                    column.typed::<FixedLenByteArrayType>().write_batch(&values, defs, None)?;
                }
                Kind::Utf8 | Kind::Json | Kind::Binary => {
                    let values: Vec<ByteArray> = buffer
                        .cells
                        .into_iter()
                        .map(|c| ByteArray::from(if let Cell::Bytes(b) = c { b } else { Vec::new() }))
                        .collect();
                    column.typed::<ByteArrayType>().write_batch(&values, defs, None)?;
                }
            }
            column.close()?;
        }
        group.close()?;
        writer.into_inner()
    }
}

/// One column's non-null values and every row's definition level (1 = a value, 0 = NULL).
#[derive(Debug, Default)]
struct ColumnBuffer {
    cells: Vec<Cell>,
    defs: Vec<i16>,
}

impl ColumnBuffer {
    fn push(&mut self, cell: Option<Cell>) {
        match cell {
            Some(cell) => {
                self.cells.push(cell);
                self.defs.push(1);
            }
            None => self.defs.push(0),
        }
    }
}

/// INTERVAL types are written by their SQL names, which the type parser (for column lists) does not take.
fn interval_type(text: &str) -> Option<SqlType> {
    match text.trim().to_ascii_uppercase().as_str() {
        "INTERVAL DAY TO SECOND" => Some(SqlType::IntervalDayTime),
        "INTERVAL YEAR TO MONTH" => Some(SqlType::IntervalYearMonth),
        _ => None,
    }
}

fn kind_of(sql_type: &SqlType) -> Kind {
    match sql_type {
        SqlType::Boolean => Kind::Boolean,
        SqlType::TinyInt => Kind::Int32 { min: i64::from(i8::MIN), max: i64::from(i8::MAX) },
        SqlType::SmallInt => Kind::Int32 { min: i64::from(i16::MIN), max: i64::from(i16::MAX) },
        SqlType::Integer | SqlType::IntervalYearMonth => {
            Kind::Int32 { min: i64::from(i32::MIN), max: i64::from(i32::MAX) }
        }
        SqlType::BigInt | SqlType::IntervalDayTime => Kind::Int64,
        SqlType::Real => Kind::Float,
        SqlType::Double => Kind::Double,
        SqlType::Decimal { precision, scale } => {
            let physical = match precision {
                0..=9 => DecimalStorage::Int32,
                10..=18 => DecimalStorage::Int64,
                p => DecimalStorage::Fixed(decimal_bytes(*p)),
            };
            Kind::Decimal { precision: *precision, scale: *scale, physical }
        }
        SqlType::Char(_) | SqlType::Varchar(_) | SqlType::Null => Kind::Utf8,
        SqlType::Date => Kind::Date,
        SqlType::Time => Kind::TimeMillis,
        SqlType::Timestamp => Kind::TimestampMillis,
        SqlType::Binary(_) | SqlType::Varbinary(_) => Kind::Binary,
        SqlType::Row(_) => Kind::Json,
    }
}

/// The fewest bytes whose two's complement holds every `precision`-digit number.
fn decimal_bytes(precision: u8) -> usize {
    let largest = 10i128.checked_pow(u32::from(precision)).map_or(i128::MAX, |p| p - 1);
    (1..=16).find(|n| largest < 1i128 << (8 * n - 1).min(126)).unwrap_or(16)
}

fn field_type(name: &str, kind: Kind, repetition: Repetition) -> parquet::errors::Result<Type> {
    let (physical, logical) = match kind {
        Kind::Utf8 => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
        Kind::Json => (PhysicalType::BYTE_ARRAY, Some(LogicalType::Json)),
        Kind::Boolean => (PhysicalType::BOOLEAN, None),
        Kind::Int32 { min, .. } => {
            let bits = match min {
                m if m == i64::from(i8::MIN) => 8,
                m if m == i64::from(i16::MIN) => 16,
                _ => 32,
            };
            (PhysicalType::INT32, Some(LogicalType::integer(bits, true)))
        }
        Kind::Int64 => (PhysicalType::INT64, None),
        Kind::Float => (PhysicalType::FLOAT, None),
        Kind::Double => (PhysicalType::DOUBLE, None),
        Kind::Decimal { precision, scale, physical } => {
            let logical = Some(LogicalType::decimal(i32::from(scale), i32::from(precision)));
            let builder = match physical {
                DecimalStorage::Int32 => Type::primitive_type_builder(name, PhysicalType::INT32),
                DecimalStorage::Int64 => Type::primitive_type_builder(name, PhysicalType::INT64),
                DecimalStorage::Fixed(n) => Type::primitive_type_builder(name, PhysicalType::FIXED_LEN_BYTE_ARRAY)
                    .with_length(i32::try_from(n).unwrap_or(16)),
            };
            return builder
                .with_repetition(repetition)
                .with_logical_type(logical)
                .with_precision(i32::from(precision))
                .with_scale(i32::from(scale))
                .build();
        }
        Kind::TimestampMillis => (PhysicalType::INT64, Some(LogicalType::timestamp(true, TimeUnit::MILLIS))),
        Kind::Date => (PhysicalType::INT32, Some(LogicalType::Date)),
        Kind::TimeMillis => (PhysicalType::INT32, Some(LogicalType::time(false, TimeUnit::MILLIS))),
        Kind::Binary => (PhysicalType::BYTE_ARRAY, None),
    };
    Type::primitive_type_builder(name, physical).with_repetition(repetition).with_logical_type(logical).build()
}

/// Converts one JSON value (its text, not `null`) for a column of `kind`.
fn cell(kind: Kind, raw: &str) -> Result<Cell, String> {
    let text = || -> Result<String, String> {
        serde_json::from_str::<String>(raw).map_err(|_| format!("expected a string, found `{}`", shorten(raw)))
    };
    let integer = || -> Result<i64, String> {
        raw.parse::<i64>().map_err(|_| format!("expected an integer, found `{}`", shorten(raw)))
    };
    let number = || -> Result<f64, String> {
        serde_json::from_str::<f64>(raw).map_err(|_| format!("expected a number, found `{}`", shorten(raw)))
    };
    Ok(match kind {
        Kind::Utf8 => Cell::Bytes(text()?.into_bytes()),
        Kind::Json => Cell::Bytes(raw.as_bytes().to_vec()),
        Kind::Boolean => match raw {
            "true" => Cell::Boolean(true),
            "false" => Cell::Boolean(false),
            _ => return Err(format!("expected true or false, found `{}`", shorten(raw))),
        },
        Kind::Int32 { min, max } => {
            let n = integer()?;
            if n < min || n > max {
                return Err(format!("{n} is out of the column's range {min}..={max}"));
            }
            Cell::Int32(i32::try_from(n).map_err(|e| e.to_string())?)
        }
        Kind::Int64 => Cell::Int64(integer()?),
        #[allow(clippy::cast_possible_truncation)] // REAL is 32-bit: the narrowing is the type's.
        Kind::Float => Cell::Float(number()? as f32),
        Kind::Double => Cell::Double(number()?),
        Kind::Decimal { precision, scale, physical } => {
            let unscaled = decimal(raw, precision, scale)?;
            match physical {
                DecimalStorage::Int32 => Cell::Int32(i32::try_from(unscaled).map_err(|e| e.to_string())?),
                DecimalStorage::Int64 => Cell::Int64(i64::try_from(unscaled).map_err(|e| e.to_string())?),
                DecimalStorage::Fixed(n) => Cell::Bytes(unscaled.to_be_bytes()[16 - n..].to_vec()),
            }
        }
        Kind::TimestampMillis => {
            let t = text()?;
            Cell::Int64(sluice_sql::literal::parse_timestamp(&t).ok_or_else(|| format!("`{t}` is not a TIMESTAMP"))?)
        }
        Kind::Date => {
            let t = text()?;
            Cell::Int32(sluice_sql::literal::parse_date(&t).ok_or_else(|| format!("`{t}` is not a DATE"))?)
        }
        Kind::TimeMillis => {
            let t = text()?;
            Cell::Int32(sluice_sql::literal::parse_time(&t).ok_or_else(|| format!("`{t}` is not a TIME"))?)
        }
        Kind::Binary => Cell::Bytes(unhex(&text()?)?),
    })
}

/// The unscaled value of a DECIMAL(precision, scale) from its JSON text (a number or a string of one): exact,
/// no float; more decimals than `scale` or more digits than `precision` is an error.
fn decimal(raw: &str, precision: u8, scale: u8) -> Result<i128, String> {
    let text = raw.trim().trim_matches('"');
    let bad = || format!("`{}` is not a DECIMAL({precision}, {scale})", shorten(raw));
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(scale) {
        return Err(format!("{} has more than {scale} decimals", shorten(raw)));
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() + usize::from(scale) > usize::from(precision) {
        return Err(format!("{} has more than {precision} digits", shorten(raw)));
    }
    let mut unscaled: i128 = 0;
    let padding = usize::from(scale) - fraction.len();
    for b in whole.bytes().chain(fraction.bytes()).chain(std::iter::repeat_n(b'0', padding)) {
        unscaled = unscaled.checked_mul(10).and_then(|u| u.checked_add(i128::from(b - b'0'))).ok_or_else(bad)?;
    }
    Ok(if negative { -unscaled } else { unscaled })
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("`{}` is not hex bytes", shorten(text)));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("`{}` is not hex bytes", shorten(text)))
        })
        .collect()
}

/// At most 40 characters of a value, for messages.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn column(name: &str, sql_type: &str) -> OutputColumn {
        OutputColumn { name: name.to_owned(), sql_type: sql_type.to_owned(), nullable: true }
    }

    #[test]
    fn every_type_round_trips_through_a_reader() -> TestResult {
        let schema = ParquetSchema::new(&[
            column("s", "VARCHAR(8)"),
            column("b", "BOOLEAN"),
            column("i", "INTEGER"),
            column("t", "TINYINT"),
            column("l", "BIGINT"),
            column("r", "REAL"),
            column("d", "DOUBLE"),
            column("p", "DECIMAL(10, 2)"),
            column("big", "DECIMAL(30, 3)"),
            column("ts", "TIMESTAMP"),
            column("day", "DATE"),
            column("clock", "TIME"),
            column("bin", "VARBINARY(4)"),
        ])?;
        let records: Vec<&[u8]> = vec![
            br#"{"s":"h\u00e9","b":true,"i":-7,"t":5,"l":9007199254740993,"r":1.5,"d":2.25,"p":-12.30,"big":123456789012345678901234567.125,"ts":"2020-07-01 12:00:00.123","day":"2020-07-01","clock":"12:00:00.000","bin":"0fa0"}"#,
            br#"{"s":null}"#,
            br#"{"i":"x"}"#,
            b"not json",
            br#"{"t":300}"#,
            br#"{"p":1.234}"#,
        ];
        let encoded = schema.encode(records)?;
        let reasons: Vec<_> = encoded.failed.iter().map(|(i, r)| format!("{i}: {r}")).collect();
        assert_eq!(encoded.failed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [2, 3, 4, 5], "{reasons:?}");
        assert!(reasons[0].contains("column `i`: expected an integer"), "{reasons:?}");
        assert!(reasons[2].contains("out of the column's range"), "{reasons:?}");
        assert!(reasons[3].contains("more than 2 decimals"), "{reasons:?}");
        let file = encoded.file.ok_or("a file")?;
        let reader = SerializedFileReader::new(bytes::Bytes::from(file))?;
        assert_eq!(reader.metadata().num_row_groups(), 1);
        let rows: Vec<_> = reader.get_row_iter(None)?.collect::<Result<_, _>>()?;
        assert_eq!(rows.len(), 2);
        let first: Vec<(String, Field)> = rows[0].get_column_iter().map(|(n, f)| (n.clone(), f.clone())).collect();
        let get = |name: &str| first.iter().find(|(n, _)| n == name).map(|(_, f)| f.clone());
        assert_eq!(get("s"), Some(Field::Str("hé".into())));
        assert_eq!(get("b"), Some(Field::Bool(true)));
        assert_eq!(get("i"), Some(Field::Int(-7)));
        assert_eq!(get("t"), Some(Field::Byte(5)));
        assert_eq!(get("l"), Some(Field::Long(9_007_199_254_740_993)));
        assert_eq!(get("r"), Some(Field::Float(1.5)));
        assert_eq!(get("d"), Some(Field::Double(2.25)));
        assert_eq!(get("ts"), Some(Field::TimestampMillis(1_593_604_800_123)));
        assert_eq!(get("day"), Some(Field::Date(18_444)));
        assert_eq!(get("bin"), Some(Field::Bytes(vec![0x0f, 0xa0].into())));
        match get("p") {
            Some(Field::Decimal(d)) => assert_eq!(d.data(), (-1230i64).to_be_bytes(), "INT64: precision 10"),
            other => return Err(format!("p: {other:?}").into()),
        }
        match get("big") {
            Some(Field::Decimal(d)) => {
                assert_eq!(d.data(), &123_456_789_012_345_678_901_234_567_125i128.to_be_bytes()[16 - 13..]);
            }
            other => return Err(format!("big: {other:?}").into()),
        }
        assert!(rows[1].get_column_iter().all(|(_, f)| *f == Field::Null), "all NULL");
        Ok(())
    }

    #[test]
    fn decimals_are_read_exactly() {
        assert_eq!(decimal("12.3", 10, 2), Ok(1230));
        assert_eq!(decimal("-0.05", 3, 2), Ok(-5));
        assert_eq!(decimal("\"7\"", 3, 0), Ok(7));
        assert_eq!(decimal("92233720368547758.08", 19, 2), Ok(9_223_372_036_854_775_808));
        assert!(decimal("1000", 3, 0).is_err());
        assert!(decimal("1e3", 5, 0).is_err());
        assert_eq!(decimal_bytes(19), 9);
        assert_eq!(decimal_bytes(38), 16);
    }

    #[test]
    fn unknown_types_are_refused_with_the_column() {
        let e = ParquetSchema::new(&[column("x", "GEOMETRY")]).err();
        assert!(e.is_some_and(|e| e.contains("column `x`")));
    }

    /// Through the running destination: the output's shape types the file, a record that does not convert goes
    /// under the error prefix as `format-conversion-failed` with its reason, and every delivery is acknowledged.
    #[tokio::test]
    async fn the_destination_writes_parquet_and_sends_unconvertible_records_to_the_error_prefix() -> TestResult {
        use sluice_core::runtime::ack::{AckTracker, Delivery};
        use sluice_core::runtime::component::{Destination, DestinationContext, OutputShape};
        use sluice_core::runtime::metrics::StageMetrics;
        use sluice_core::runtime::record::{Positions, Record};

        use super::super::bucket::{Bucket, RetryPolicy};
        use super::super::keys::{KeyNaming, PrefixTemplate};
        use super::super::writer::{S3Destination, WriterSettings};
        use super::super::{Compression, Delimiter, ObjectFormat};

        let dir = tempfile::tempdir()?;
        let settings = WriterSettings {
            size: 64 << 20,
            interval: std::time::Duration::from_secs(300),
            delimiter: Delimiter::Newline,
            compression: Compression::None,
            retry: RetryPolicy::default(),
            retry_duration: std::time::Duration::from_secs(1),
            format: ObjectFormat::Parquet,
        };
        let naming = KeyNaming::new(
            "out",
            PrefixTemplate::parse("rows/", false)?,
            PrefixTemplate::parse("errors/!{firehose:error-output-type}/", true)?,
            ".parquet",
        );
        let mut dest = S3Destination::new(Bucket::open("file://./bucket", dir.path())?, naming, settings);
        dest.accept_input_shapes(vec![OutputShape {
            application: "app".into(),
            destination: "out".into(),
            stream: "OUT".into(),
            format: "json".into(),
            columns: vec![column("n", "INTEGER"), column("s", "VARCHAR(4)")],
        }]);
        let record = |data: &str| Record {
            partition_key: "k".into(),
            data: bytes::Bytes::copy_from_slice(data.as_bytes()),
            arrival_ms: 1_709_622_489_000,
            shard: None,
        };
        let (tracker, committable) = AckTracker::new(1);
        let position = Positions::from([("s0".to_owned(), "1".to_owned())]);
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tx.send(Delivery {
            records: vec![record(r#"{"n":1,"s":"a"}"#), record(r#"{"n":"x"}"#), record(r#"{"n":3}"#)],
            ack: tracker.register(position.clone()).for_sink(0),
        })
        .await?;
        drop(tx);
        let metrics = Arc::new(StageMetrics::default());
        Box::new(dest).run(rx, DestinationContext { name: "out".into(), metrics }).await?;
        assert_eq!(*committable.borrow(), Some(position), "acknowledged");
        let mut files = Vec::new();
        let mut stack = vec![dir.path().join("bucket")];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(folder)? {
                let path = entry?.path();
                if path.is_dir() { stack.push(path) } else { files.push(path) }
            }
        }
        let root = dir.path().join("bucket");
        let key = |p: &std::path::PathBuf| p.strip_prefix(&root).map(|k| k.to_string_lossy().into_owned());
        let table = files.iter().find(|p| key(p).is_ok_and(|k| k.starts_with("rows/"))).ok_or("a table")?;
        assert!(table.to_string_lossy().ends_with(".parquet"));
        let reader = SerializedFileReader::new(bytes::Bytes::from(std::fs::read(table)?))?;
        let rows: Vec<_> = reader.get_row_iter(None)?.collect::<Result<_, _>>()?;
        assert_eq!(rows.len(), 2, "the two records that convert");
        let error = files
            .iter()
            .find(|p| key(p).is_ok_and(|k| k.starts_with("errors/format-conversion-failed/")))
            .ok_or("an error object")?;
        let document: serde_json::Value = serde_json::from_slice(&std::fs::read(error)?)?;
        assert_eq!(document["rawData"], "eyJuIjoieCJ9", "the raw record");
        assert_eq!(document["lastErrorCode"], "DataFormatConversion.MalformedData");
        let reason = document["lastErrorMessage"].as_str().unwrap_or_default();
        assert!(reason.contains("column `n`: expected an integer"), "{reason}");
        Ok(())
    }

    #[test]
    fn nothing_converted_means_no_file() -> TestResult {
        let schema = ParquetSchema::new(&[column("a", "INTEGER")])?;
        let encoded = schema.encode([&b"[]"[..]])?;
        assert!(encoded.file.is_none() && encoded.failed.len() == 1);
        Ok(())
    }
}
