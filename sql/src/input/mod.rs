//! Input mapping: records of the source stream become rows of the in-app input stream (`SOURCE_SQL_STREAM_001`),
//! as KDA's `InputSchema` describes them (DG sch-mapping.md, about-json-path.md).
//!
//! ```text
//!   record bytes ──JSON, top-level paths: a byte scanner (flat.rs), else ───────────┐
//!               ├──JSON: one serde_json pass guided by the paths' trie (json.rs)──┤
//!               └──CSV: fields split by the delimiters, in column order (csv.rs)──┴─▶ coerce (coerce.rs) ─▶ rows
//! ```
//!
//! A mapping is compiled once ([`InputMapping::new`]): JSONPaths parsed and merged into a trie, types checked. Each
//! record then costs one parse: fields no column names are skipped without being built, fields a column takes are
//! borrowed as raw JSON text and coerced straight into the row (performance.md: "decode with the declared schema,
//! no DOM"). When every path is a top-level field (the usual mapping), a byte scanner reads simple records first,
//! and leaves anything else to the serde_json pass, which gives the same rows and errors. A record that cannot be mapped (not JSON, a value that does not coerce) is an `Err` whose message names
//! the column; the engine sends the record to `error_stream` with it.
//!
//! Choices the reference leaves open, made here:
//! - `$.a[0:].x` over an empty array, a missing array or a value that is not an array gives one row whose flattened
//!   columns are NULL; the other columns keep their values.
//! - A path through something of another kind (`$.a.b` where `a` is a number) is a missing path: NULL.
//! - A JSON number into DATE/TIME/TIMESTAMP is a coercion error, as KDA's table says (no epoch-milliseconds guess).
//! - A string into BINARY/VARBINARY: a binary literal `X'3F'`, else base64 (the JSON form in SQLREF data types).

mod coerce;
pub(crate) mod csv;
mod flat;
mod json;
mod jsonpath;

use crate::error::{SqlError, SqlErrorKind};
use crate::types::SqlType;
use crate::value::Value;

/// One column of the in-app input stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputColumn {
    /// Column name (case-sensitive, as the SQL quotes it).
    pub name: String,
    /// Its SQL type; values are coerced into it.
    pub sql_type: SqlType,
    /// JSONPath of the value in a JSON record (required for JSON; ignored for CSV).
    pub path: Option<String>,
}

/// The record format of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFormat {
    /// JSON objects, columns read with JSONPaths.
    Json,
    /// Delimited text, columns read in order.
    Csv {
        /// Between fields (`,`).
        column_delimiter: String,
        /// Between rows (`\n`); a record may hold several rows.
        row_delimiter: String,
    },
}

/// Columns the running application appends to every mapped row (APPROXIMATE_ARRIVAL_TIME and SHARD_ID): rows
/// are made with room for them, so appending does not reallocate.
pub const APPENDED_COLUMNS: usize = 2;

/// Emptied row buffers for the rows the mapping makes next ([`InputMapping::map_record_pooled`]): a caller that
/// gets its rows' buffers back from the runner ([`crate::engine::Runner::push_recycling`]) gives them here, so a
/// row costs no allocation and no free.
#[derive(Debug, Default)]
pub struct RowPool {
    buffers: Vec<Vec<Value>>,
}

impl RowPool {
    /// At most this many buffers are kept: rows made without the pool (a flattened array's) come back too.
    pub const MAX_BUFFERS: usize = 1024;

    /// Keeps `row`'s buffer, emptied, for a later row (drops it when the pool is full).
    pub fn give(&mut self, mut row: Vec<Value>) {
        if self.buffers.len() < Self::MAX_BUFFERS {
            row.clear();
            self.buffers.push(row);
        }
    }

    /// How many buffers wait.
    pub fn len(&self) -> usize {
        self.buffers.len()
    }

    /// Whether no buffer waits.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }

    /// An empty buffer for a row of `columns` mapped columns: a kept one, else a new one with room for the
    /// appended columns.
    #[inline]
    pub(crate) fn take(&mut self, columns: usize) -> Vec<Value> {
        self.buffers.pop().unwrap_or_else(|| Vec::with_capacity(columns + APPENDED_COLUMNS))
    }
}

/// A compiled input mapping: turns records into rows of the input stream's columns.
#[derive(Debug)]
pub struct InputMapping {
    columns: Vec<InputColumn>,
    reader: Reader,
}

#[derive(Debug)]
enum Reader {
    Json(json::JsonMapping),
    Csv(csv::CsvMapping),
}

fn config_error(kind: SqlErrorKind, message: String) -> SqlError {
    SqlError { kind, message, span: None, help: None }
}

impl InputMapping {
    /// Compiles a mapping. Errors (naming the column): a JSONPath that does not parse or is missing for JSON input,
    /// a type that cannot be an input column, two columns of one name, bad CSV delimiters.
    pub fn new(format: InputFormat, columns: Vec<InputColumn>) -> Result<Self, SqlError> {
        if columns.is_empty() {
            return Err(config_error(SqlErrorKind::Type, "an input mapping needs at least one column".into()));
        }
        for (i, column) in columns.iter().enumerate() {
            if columns[..i].iter().any(|c| c.name == column.name) {
                return Err(config_error(SqlErrorKind::Type, format!("column `{}` is declared twice", column.name)));
            }
            if matches!(
                column.sql_type,
                SqlType::Row(_) | SqlType::Null | SqlType::IntervalDayTime | SqlType::IntervalYearMonth
            ) {
                return Err(config_error(
                    SqlErrorKind::Type,
                    format!("column `{}`: {} cannot be the type of an input column", column.name, column.sql_type),
                ));
            }
        }
        let reader = match format {
            InputFormat::Json => Reader::Json(json::JsonMapping::new(&columns)?),
            InputFormat::Csv { column_delimiter, row_delimiter } => {
                let bad = |what: &str| config_error(SqlErrorKind::Syntax, format!("CSV input: {what}"));
                if column_delimiter.is_empty() || row_delimiter.is_empty() {
                    return Err(bad("delimiters cannot be empty"));
                }
                if column_delimiter == row_delimiter {
                    return Err(bad("the column and row delimiters must differ"));
                }
                if column_delimiter.contains('"') || row_delimiter.contains('"') {
                    return Err(bad("a delimiter cannot contain `\"` (it quotes fields)"));
                }
                Reader::Csv(csv::CsvMapping::new(column_delimiter, row_delimiter))
            }
        };
        Ok(InputMapping { columns, reader })
    }

    /// Appends the rows one record produces (usually 1; a flattened array `$.a[0:].x` gives one per element; an
    /// empty array one row with those columns NULL; a CSV record one per row it holds) to `out`, each a `Vec<Value>`
    /// in column order. `Err`: the record cannot be mapped (not JSON, a coercion error...); the message names the
    /// column, and the caller sends the record to error_stream with it. On `Err`, `out` is unchanged.
    pub fn map_record(&self, data: &[u8], out: &mut Vec<Vec<Value>>) -> Result<(), SqlError> {
        self.map_record_pooled(data, out, &mut RowPool::default())
    }

    /// [`map_record`](Self::map_record), the rows' buffers taken from `pool` while it has some. On `Err`, the
    /// rows made so far go back to `pool`.
    pub fn map_record_pooled(
        &self,
        data: &[u8],
        out: &mut Vec<Vec<Value>>,
        pool: &mut RowPool,
    ) -> Result<(), SqlError> {
        let before = out.len();
        let mapped = match &self.reader {
            Reader::Json(json) => json.map(&self.columns, data, out, pool),
            Reader::Csv(csv) => csv.map(&self.columns, data, out, pool),
        };
        if let Err(error) = mapped {
            for row in out.drain(before..) {
                pool.give(row);
            }
            return Err(error);
        }
        Ok(())
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[InputColumn] {
        &self.columns
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::literal;

    fn column(name: &str, ty: &str, path: &str) -> InputColumn {
        InputColumn {
            name: name.into(),
            sql_type: ty.parse().expect("a valid type"),
            path: (!path.is_empty()).then(|| path.to_owned()),
        }
    }

    fn json_mapping(columns: &[(&str, &str, &str)]) -> InputMapping {
        let columns = columns.iter().map(|(n, t, p)| column(n, t, p)).collect();
        InputMapping::new(InputFormat::Json, columns).expect("the mapping compiles")
    }

    fn csv_mapping(columns: &[(&str, &str)]) -> InputMapping {
        let columns = columns.iter().map(|(n, t)| column(n, t, "")).collect();
        let format = InputFormat::Csv { column_delimiter: ",".into(), row_delimiter: "\n".into() };
        InputMapping::new(format, columns).expect("the mapping compiles")
    }

    fn rows(mapping: &InputMapping, record: &str) -> Result<Vec<Vec<Value>>, SqlError> {
        let mut out = Vec::new();
        mapping.map_record(record.as_bytes(), &mut out)?;
        Ok(out)
    }

    fn s(text: &str) -> Value {
        Value::string(text)
    }

    const SEED: &str =
        r#"{"timestamp": "2020-07-01T00:00:00.000", "requests_newUsers_newOrders_churnUsers": "82,1,0,2"}"#;

    fn seed_mapping() -> InputMapping {
        json_mapping(&[
            ("COL_timestamp", "TIMESTAMP", "$.timestamp"),
            ("requests_newUsers_newOrders_churnUsers", "VARCHAR(32)", "$.requests_newUsers_newOrders_churnUsers"),
        ])
    }

    #[test]
    fn the_seed_record_maps_exactly() -> Result<(), SqlError> {
        let expected = literal::parse_timestamp("2020-07-01 00:00:00.000").expect("a timestamp");
        assert_eq!(rows(&seed_mapping(), SEED)?, vec![vec![Value::Timestamp(expected), s("82,1,0,2")]]);
        Ok(())
    }

    /// Maps `record` with `pool`, then gives its rows back as a runner would: (the rows, whether each row's
    /// buffer was one of the pool's).
    fn pooled(mapping: &InputMapping, record: &str, pool: &mut RowPool) -> Result<(Vec<Vec<Value>>, bool), SqlError> {
        let kept: Vec<*const Value> = pool.buffers.iter().map(|b| b.as_ptr()).collect();
        let mut out = Vec::new();
        mapping.map_record_pooled(record.as_bytes(), &mut out, pool)?;
        let reused = out.iter().all(|row| kept.contains(&row.as_ptr()));
        let rows = out.clone();
        for row in out {
            pool.give(row);
        }
        Ok((rows, reused))
    }

    #[test]
    fn pooled_mapping_reuses_the_buffers_given_back_and_maps_the_same_rows() -> Result<(), SqlError> {
        let csv = csv_mapping(&[("a", "INTEGER"), ("b", "VARCHAR(4)")]);
        let nested = json_mapping(&[("x", "INTEGER", "$.a.b")]);
        let cases: [(&InputMapping, &str); 4] =
            [(&seed_mapping(), SEED), (&nested, r#"{"a": {"b": 7}}"#), (&csv, "1,x\n\n2"), (&csv, "3,yz")];
        for (mapping, record) in cases {
            let mut pool = RowPool::default();
            let (first, reused) = pooled(mapping, record, &mut pool)?;
            assert!(!reused || first.is_empty(), "an empty pool: new buffers");
            assert_eq!(first, rows(mapping, record)?, "{record}");
            let before = pool.len();
            assert!(before >= first.len() && pool.buffers.iter().all(Vec::is_empty), "given back, emptied");
            let (again, reused) = pooled(mapping, record, &mut pool)?;
            assert_eq!(again, first, "{record}");
            assert!(reused, "the second record's rows are the first's buffers: {record}");
            assert_eq!(pool.len(), before);
        }
        Ok(())
    }

    #[test]
    fn a_record_that_does_not_map_leaves_out_as_it_was_and_its_rows_in_the_pool() {
        let mut pool = RowPool::default();
        pool.give(Vec::with_capacity(8));
        let mut out = vec![vec![Value::Int(1)]];
        let csv = csv_mapping(&[("a", "INTEGER")]);
        // The first row maps, the second does not: the record is the error, its first row back in the pool.
        let error = csv.map_record_pooled(b"1\nnot a number", &mut out, &mut pool).expect_err("a bad field");
        assert!(error.message.contains("column `a`"), "{}", error.message);
        assert_eq!(out, [vec![Value::Int(1)]]);
        assert_eq!(pool.len(), 1);
        assert!(pool.buffers.iter().all(|b| b.is_empty() && b.capacity() >= 8));
        let seed = seed_mapping();
        let error = seed.map_record_pooled(br#"{"timestamp": 5}"#, &mut out, &mut pool).expect_err("a number");
        assert!(error.message.contains("COL_timestamp"), "{}", error.message);
        assert_eq!(out.len(), 1);
        assert_eq!(pool.len(), 1, "the failed row's buffer is back");
        assert_eq!(seed.map_record_pooled(SEED.as_bytes(), &mut out, &mut pool).map(|()| out.len()), Ok(2));
        assert!(pool.is_empty());
    }

    #[test]
    fn the_pool_keeps_a_bounded_number_of_buffers() {
        let mut pool = RowPool::default();
        for _ in 0..RowPool::MAX_BUFFERS + 5 {
            pool.give(vec![Value::string("x")]);
        }
        assert_eq!(pool.len(), RowPool::MAX_BUFFERS);
        assert!(pool.buffers.iter().all(Vec::is_empty));
    }

    #[test]
    fn every_jsonpath_form_reads_its_value() -> Result<(), SqlError> {
        let mapping = json_mapping(&[
            ("whole", "VARCHAR(64)", "$"),
            ("nested", "INTEGER", "$.a.b"),
            ("spaced", "VARCHAR(8)", "$['a b']"),
            ("quoted", "VARCHAR(8)", "$[\"c\"]"),
            ("second", "INTEGER", "$.arr[1]"),
            ("array", "VARCHAR(32)", "$.arr[0:]"),
            ("missing", "INTEGER", "$.nope.deeper"),
            ("case", "INTEGER", "$.A.b"),
        ]);
        let record = r#"{"a": {"b": 7}, "a b": "x", "c": "y", "arr": [10, 20, 30]}"#;
        let got = rows(&mapping, record)?;
        let expected =
            vec![s(record), Value::Int(7), s("x"), s("y"), Value::Int(20), s("[10, 20, 30]"), Value::Null, Value::Null];
        assert_eq!(got, vec![expected]);
        Ok(())
    }

    #[test]
    fn the_fast_path_for_flat_records_agrees_with_the_general_walk() -> Result<(), SqlError> {
        let top = [("s", "VARCHAR(16)", "$.s"), ("n", "DECIMAL(10,2)", "$.n"), ("b", "BOOLEAN", "$.b")];
        let flat = json_mapping(&top);
        // A nested path turns the fast path off.
        let general = json_mapping(&[top[0], top[1], top[2], ("deep", "INTEGER", "$.x.y")]);
        let records = [
            r#"{"s": "plain", "n": 12.345, "b": true}"#,
            " \t\r\n{ \"s\" :\"x\" , \"n\":-0.5e1,\"b\":null } \n",
            r#"{"s": "esc\"aped\u00e9", "n": "7", "b": "TRUE"}"#,
            r#"{"s": [1, {"a": "]"}], "n": 1E2, "other": {"s": "no"}}"#,
            r#"{"s": 123456, "n": 0, "b": 0, "s": "last wins"}"#,
            r#"{}"#,
            r#"{"s": "héllo wörld"}"#,
        ];
        for record in records {
            let fast = rows(&flat, record)?;
            let slow: Vec<Vec<Value>> =
                rows(&general, record)?.into_iter().map(|mut row| row.drain(..3).collect()).collect();
            assert_eq!(fast, slow, "{record}");
        }
        // Invalid JSON the fast path sees is still an error, with serde_json's message.
        for bad in [
            r#"{"n": 01}"#,
            r#"{"n": -}"#,
            r#"{"n": 1.}"#,
            r#"{"s": "x",}"#,
            r#"{"s": "x"} {}"#,
            "{\"s\": \"a\tb\"}",
            r#"{"n": tru}"#,
        ] {
            let error = rows(&flat, bad).expect_err(bad);
            assert!(error.message.starts_with("the record is not valid JSON"), "{bad}: {}", error.message);
        }
        // A coercion error on the fast path names the column.
        assert_eq!(
            rows(&flat, r#"{"n": "abc"}"#).map_err(|e| e.message),
            Err("column `n`: `abc` is not a DECIMAL(10, 2)".into())
        );
        Ok(())
    }

    #[test]
    fn the_fast_path_gives_the_general_walks_rows_and_errors() {
        let top = [
            ("at", "TIMESTAMP", "$.timestamp"),
            ("time", "TIMESTAMP", "$.time"),
            ("s", "VARCHAR(4)", "$.s"),
            ("c", "CHAR(3)", "$.c"),
            ("n", "BIGINT", "$.n"),
            ("d", "DATE", "$.time"),
            ("arr", "VARCHAR(16)", "$.arr[0:]"),
        ];
        let flat = json_mapping(&top);
        let mut with_deep = top.to_vec();
        with_deep.push(("deep", "INTEGER", "$.x.y"));
        let general = json_mapping(&with_deep);
        let map = |mapping: &InputMapping, record: &[u8]| {
            let mut out = Vec::new();
            mapping.map_record(record, &mut out).map(|()| out).map_err(|e| (e.kind, e.message))
        };
        let records: [&[u8]; 32] = [
            br#"{"timestamp": "2020-07-01T00:00:00.000", "s": "82,1,0,2"}"#,
            // The usual leads and ends, and what is near them: whitespace before values, other spacing, field 0
            // after others or after a value without a comma.
            br#"{"timestamp":"2020-07-01T00:00:59.999","time":"2020-07-01 00:01:00","s":"a"}"#,
            b"{\"timestamp\":  \"2020-07-01T00:00:00.000\" ,\"s\":\t\"abcdef\" ,  \"c\" :\"xy\"}\n",
            br#"{ "timestamp": "2020-07-01T00:00:00.000", "s" : "x" }"#,
            br#"{"s": "x", "timestamp": "2020-07-01T00:00:00.000"}"#,
            br#"{"s": "x"{"timestamp": "2020-07-01T00:00:00.000"}"#,
            br#"{"timestamp": "2020-07-01T00:00:00.000""s": "x"}"#,
            br#"{"timestamp": "2020-07-01T00:00:00.000",, "s": "x"}"#,
            br#"{"timestamp": "2020-07-01T00:00:60.000", "s": "x"}"#,
            br#"{"timestamp": "2020-07-01T00:00:00.000"} }"#,
            br#"{"timestamp": "2020-07-01T00:00:00.000"}"#,
            br#"{"time": 01, "n": 1}"#,
            br#"{"n": -012}"#,
            br#"{"s":"abcdefgh","timestamp":"2020-07-01 23:59:59","n":-12}"#,
            br#"{"time": "2020-07-01T01:02:03.456789", "timestamp": "2020-07-01", "c": "x"}"#,
            br#"{"timestamp": "2020-07-01T00:00:00.000Z", "ts": "2020-07-01T00:00:00.000", "times": 1}"#,
            br#"{"timestamp": " 2020-07-01 00:00:00", "arr": "not an array", "arr2": [1, 2]}"#,
            br#"{"timestamp": "2020-02-30T00:00:00.000"}"#,
            br#"{"timestamp": "2020-07-01T24:00:00.000"}"#,
            br#"{"timestamp": 1593561600000}"#,
            br#"{"s": "a\u00e9\ud83d\ude00b", "c": "\"q\""}"#,
            "{\"s\": \"ça va\", \"c\": \"日本語です\", \"n\": \"42\"}".as_bytes(),
            br#"{"time\u0073tamp": "2020-07-01T00:00:00.000", "s": "x"}"#,
            br#"{"arr": [1, "two", {"three": 3}], "n": 1e3}"#,
            br#"{"n": 9223372036854775808}"#,
            b"{\"s\": \"caf\xc3\xa9\"}",
            b"{\"s\": \"bad \xff byte\"}",
            b"{\"skipped\": \"bad \xc3\", \"s\": \"ok\"}",
            b"{\"s\": \"ok\", \"skipped\": \"\xe9\"",
            br#"{"timestamp": "2020-07-01T00:00:00.000", "s": "trunc"#,
            br#"{"timestamp": "2020-07-01T00:00:00.000""#,
            br#"{"s": null, "c": null, "n": null, "timestamp": null}"#,
        ];
        for record in records {
            let general = map(&general, record).map(|rows| {
                rows.into_iter().map(|mut row| row.drain(..top.len()).collect::<Vec<_>>()).collect::<Vec<_>>()
            });
            assert_eq!(map(&flat, record), general, "{}", String::from_utf8_lossy(record));
        }
        for record in generated_records(2000) {
            let general = map(&general, &record).map(|rows| {
                rows.into_iter().map(|mut row| row.drain(..top.len()).collect::<Vec<_>>()).collect::<Vec<_>>()
            });
            assert_eq!(map(&flat, &record), general, "{}", String::from_utf8_lossy(&record));
        }
        // The UTF-8 error names the offset in the whole record, as before.
        let error = map(&flat, b"{\"s\": \"ok\", \"skipped\": \"\xff\"}").expect_err("not UTF-8");
        assert_eq!(
            error.1,
            "the record is not valid JSON: it is not UTF-8 (invalid utf-8 sequence of 1 bytes from index 24)"
        );
    }

    /// `count` records made of the pieces the fast path tells apart (the fields of
    /// [`the_fast_path_gives_the_general_walks_rows_and_errors`] and others, values it reads straight or leaves to
    /// the coercion, the usual leads and other spacing), a few cut short or with a byte changed; the same records
    /// on every run (xorshift from a fixed seed).
    fn generated_records(count: usize) -> Vec<Vec<u8>> {
        let mut state: u64 = 0x5eed_1234_abcd_0001;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        // (Not `x`: the general mapping descends into it, and serde_json's error positions differ by a column
        // between a value skipped and one descended into.)
        let names = ["timestamp", "time", "s", "c", "n", "arr", "xs", "other", "tim", "s2"];
        let values: [&[u8]; 22] = [
            br#""2020-07-01T00:00:00.000""#,
            br#""2020-07-01T00:01:02.345""#,
            br#""2020-07-01 23:59:59""#,
            br#""2020-07-02T00:00:00.000""#,
            br#""2020-07-01T00:00:61.000""#,
            br#""2020-07-01T25:00:00.000""#,
            br#""2020-07-01""#,
            br#""2020-07-01T00:00:00.000Z""#,
            br#""82,1,0,2""#,
            br#""abcdefgh""#,
            br#""""#,
            br#""esc"aped""#,
            "\"héllo\"".as_bytes(),
            b"\"bad \xff\"",
            b"12",
            // (Written as serde_json's f64 prints it: the general walk names a number in an error as it does.)
            b"-15.25",
            b"true",
            b"null",
            b"[1, 2]",
            br#"{"y": 1}"#,
            b"01",
            b"\"ctl\x01\"",
        ];
        let leads: [&[u8]; 5] = [
            b", ", b",", b" , ", b",
", b"",
        ];
        let colons: [&[u8]; 4] = [b": ", b":", b" :", b":  "];
        (0..count)
            .map(|_| {
                let mut record = if next(8) == 0 { b" {".to_vec() } else { b"{".to_vec() };
                for i in 0..next(5) {
                    if i > 0 {
                        record.extend_from_slice(if next(6) == 0 { leads[next(leads.len())] } else { leads[0] });
                    }
                    record.extend_from_slice(format!("\"{}\"", names[next(names.len())]).as_bytes());
                    record.extend_from_slice(colons[next(colons.len())]);
                    record.extend_from_slice(values[next(values.len())]);
                }
                record.extend_from_slice(if next(6) == 0 { &b" }\n"[..] } else { b"}" });
                match next(10) {
                    0 => record.truncate(next(record.len())),
                    1 => {
                        let at = next(record.len());
                        record[at] = b"\":,{}[ x\\"[next(9)];
                    }
                    _ => {}
                }
                record
            })
            .collect()
    }

    #[test]
    fn coercion_errors_keep_the_values_text_as_written() {
        let mapping =
            json_mapping(&[("n", "INTEGER", "$.n"), ("d", "DECIMAL(3,1)", "$.d"), ("at", "TIMESTAMP", "$.at")]);
        let message = |record: &[u8]| {
            let mut out = Vec::new();
            mapping.map_record(record, &mut out).map_err(|e| e.message).expect_err("an error")
        };
        assert_eq!(message(br#"{"n": 123.40}"#), "column `n`: `123.40` is not an INTEGER (it has a fraction)");
        assert_eq!(message(br#"{"n": 2.5e0, "at": "x"}"#), "column `n`: `2.5e0` is not an INTEGER (it has a fraction)");
        assert_eq!(message(br#"{"d": 1E3, "n": 1}"#), "column `d`: `1E3` does not fit DECIMAL(3, 1)");
        assert_eq!(message(br#"{"at": 5, "n": 1"#), "column `at`: the number `5` is not a TIMESTAMP");
        assert_eq!(message("{\"n\": \"x\", \"o\": \"é\"}".as_bytes()), "column `n`: `x` is not an INTEGER");
        assert_eq!(
            message(b"{\"n\": \"x\", \"o\": \"\xff\"}"),
            "the record is not valid JSON: it is not UTF-8 (invalid utf-8 sequence of 1 bytes from index 17)"
        );
        // Escaped, the general walk reads it, with the number's text as serde_json gives it.
        assert_eq!(
            message(br#"{"s\u0020": 1, "n": 123.40}"#),
            "column `n`: `123.4` is not an INTEGER (it has a fraction)"
        );
    }

    #[test]
    fn a_value_and_paths_below_it_are_both_read() -> Result<(), SqlError> {
        let mapping = json_mapping(&[("obj", "VARCHAR(32)", "$.a"), ("inner", "INTEGER", "$.a.b")]);
        assert_eq!(rows(&mapping, r#"{"a":{"b":1}}"#)?, vec![vec![s(r#"{"b":1}"#), Value::Int(1)]]);
        Ok(())
    }

    #[test]
    fn flattening_gives_one_row_per_element() -> Result<(), SqlError> {
        let mapping = json_mapping(&[
            ("id", "INTEGER", "$.id"),
            ("sku", "VARCHAR(8)", "$.items[0:].sku"),
            ("qty", "INTEGER", "$.items[0:].qty"),
        ]);
        // The shared field comes after the array: it still reaches every row.
        let record = r#"{"items": [{"sku": "a", "qty": 1}, {"sku": "b"}, 5], "id": 9}"#;
        let expected = vec![
            vec![Value::Int(9), s("a"), Value::Int(1)],
            vec![Value::Int(9), s("b"), Value::Null],
            vec![Value::Int(9), Value::Null, Value::Null],
        ];
        assert_eq!(rows(&mapping, record)?, expected);
        for empty in [r#"{"id": 9, "items": []}"#, r#"{"id": 9}"#, r#"{"id": 9, "items": null}"#] {
            assert_eq!(rows(&mapping, empty)?, vec![vec![Value::Int(9), Value::Null, Value::Null]], "{empty}");
        }
        let from_second = json_mapping(&[("v", "INTEGER", "$.xs[1:].v")]);
        let got = rows(&from_second, r#"{"xs": [{"v": 1}, {"v": 2}, {"v": 3}]}"#)?;
        assert_eq!(got, vec![vec![Value::Int(2)], vec![Value::Int(3)]]);
        Ok(())
    }

    #[test]
    fn an_element_read_by_index_and_flattened() -> Result<(), SqlError> {
        let mapping = json_mapping(&[("first", "INTEGER", "$.xs[0].v"), ("each", "INTEGER", "$.xs[0:].v")]);
        let got = rows(&mapping, r#"{"xs": [{"v": 1}, {"v": 2}]}"#)?;
        assert_eq!(got, vec![vec![Value::Int(1), Value::Int(1)], vec![Value::Int(1), Value::Int(2)]]);
        Ok(())
    }

    #[test]
    fn many_fields_use_the_hashed_lookup_and_escaped_names_match() -> Result<(), SqlError> {
        let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        let paths: Vec<String> = names.iter().map(|n| format!("$.{n}")).collect();
        let spec: Vec<(&str, &str, &str)> =
            names.iter().zip(&paths).map(|(n, p)| (n.as_str(), "INTEGER", p.as_str())).collect();
        let mapping = json_mapping(&spec);
        let got = rows(&mapping, r#"{"f19": 19, "f\u0031": 1, "other": [1, {"f2": 5}]}"#)?;
        let mut expected = vec![Value::Null; 20];
        expected[19] = Value::Int(19);
        expected[1] = Value::Int(1);
        assert_eq!(got, vec![expected]);
        Ok(())
    }

    #[test]
    fn bad_records_are_errors_naming_the_column() {
        let mapping = json_mapping(&[("price", "DOUBLE", "$.price"), ("n", "INTEGER", "$.n")]);
        let message = |record: &str| rows(&mapping, record).map_err(|e| (e.kind, e.message));
        assert_eq!(
            message(r#"{"price": "12x"}"#),
            Err((SqlErrorKind::Data, "column `price`: `12x` is not a DOUBLE".into()))
        );
        assert_eq!(
            message(r#"{"price": 1, "n": 123.4}"#),
            Err((SqlErrorKind::Data, "column `n`: `123.4` is not an INTEGER (it has a fraction)".into()))
        );
        assert_eq!(
            message(r#"{"n": [1]}"#),
            Err((SqlErrorKind::Data, "column `n`: an array `[...]` is not an INTEGER".into()))
        );
        for not_json in ["not json", r#"{"price": 1"#, r#"{"price": 1} trailing"#, ""] {
            let error = message(not_json).expect_err(not_json);
            assert!(error.1.starts_with("the record is not valid JSON"), "{not_json}: {}", error.1);
        }
        // A failed record leaves the caller's rows as they were.
        let mut out = vec![vec![Value::Null]];
        assert!(mapping.map_record(br#"{"price": "x"}"#, &mut out).is_err());
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn bad_mappings_are_errors_naming_the_column() {
        let compile = |columns: Vec<InputColumn>| InputMapping::new(InputFormat::Json, columns).map(|_| ());
        let message = |r: Result<(), SqlError>| r.map_err(|e| e.message).expect_err("an error");
        assert!(message(compile(vec![column("a", "INTEGER", "$.a[")])).starts_with("column `a`: JSONPath `$.a[`"));
        assert!(message(compile(vec![column("a", "INTEGER", "")])).starts_with("column `a`"));
        let two_arrays = vec![column("a", "INTEGER", "$.xs[0:].v"), column("b", "INTEGER", "$.ys[0:].v")];
        assert!(message(compile(two_arrays)).contains("one array only"));
        let twice = vec![column("a", "INTEGER", "$.a"), column("a", "INTEGER", "$.b")];
        assert!(message(compile(twice)).contains("declared twice"));
        let row = InputColumn { name: "r".into(), sql_type: SqlType::Row(Arc::from(vec![])), path: Some("$".into()) };
        assert!(message(compile(vec![row])).starts_with("column `r`"));
        let csv = InputFormat::Csv { column_delimiter: ",".into(), row_delimiter: ",".into() };
        assert!(InputMapping::new(csv, vec![column("a", "INTEGER", "")]).is_err());
    }

    #[test]
    fn csv_fields_quote_and_missing_ones_are_null() -> Result<(), SqlError> {
        let mapping = csv_mapping(&[("a", "VARCHAR(16)"), ("b", "INTEGER"), ("c", "VARCHAR(4)"), ("d", "BOOLEAN")]);
        let cases = [
            ("x,1,y,TRUE", vec![s("x"), Value::Int(1), s("y"), Value::Boolean(true)]),
            (r#""a,""b""",2"#, vec![s(r#"a,"b""#), Value::Int(2), Value::Null, Value::Null]),
            ("\"multi\nline\", 3 ,,false,extra", vec![s("multi\nline"), Value::Int(3), s(""), Value::Boolean(false)]),
            ("z,,toolong", vec![s("z"), Value::Null, s("tool"), Value::Null]),
        ];
        for (record, expected) in cases {
            assert_eq!(rows(&mapping, record)?, vec![expected], "{record}");
        }
        let several = rows(&mapping, "p,1\nq,2\n")?;
        assert_eq!(several.len(), 2);
        assert_eq!(several[1][1], Value::Int(2));
        // Blank rows (a quoted empty field alone is one) give no row; a row of empty fields does.
        let blanks = rows(&mapping, "\n\nx,1\n\n\"\"\n,,\r\ny,2")?;
        let expected = vec![
            vec![s("x"), Value::Int(1), Value::Null, Value::Null],
            vec![s(""), Value::Null, s("\r"), Value::Null],
            vec![s("y"), Value::Int(2), Value::Null, Value::Null],
        ];
        assert_eq!(blanks, expected);
        let error = rows(&mapping, "p,1.5").expect_err("1.5 is not an integer");
        assert_eq!(error.message, "column `b`: `1.5` is not an INTEGER (it has a fraction)");
        Ok(())
    }

    #[test]
    fn csv_takes_multi_character_delimiters() -> Result<(), SqlError> {
        let format = InputFormat::Csv { column_delimiter: "||".into(), row_delimiter: "\r\n".into() };
        let columns = vec![column("a", "VARCHAR(8)", ""), column("b", "TIMESTAMP", "")];
        let mapping = InputMapping::new(format, columns)?;
        let at = literal::parse_timestamp("1992-02-14 18:35:44").expect("a timestamp");
        let got = rows(&mapping, "x|y||1992-02-14 18:35:44.0\r\nz")?;
        assert_eq!(got, vec![vec![s("x|y"), Value::Timestamp(at)], vec![s("z"), Value::Null]]);
        Ok(())
    }

    /// The best (wall, CPU) seconds of three runs: CPU time from `/proc/thread-self/schedstat` (the wall time where
    /// it is unreadable), because the machine is shared and wall time also counts other processes.
    fn best_of_three(mut run: impl FnMut() -> Result<(), SqlError>) -> Result<(f64, f64), SqlError> {
        let cpu_ns = || {
            let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
            stat.split_whitespace().next()?.parse::<f64>().ok()
        };
        let (mut wall, mut cpu) = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            let (timer, cpu_start) = (std::time::Instant::now(), cpu_ns());
            run()?;
            let elapsed = timer.elapsed().as_secs_f64();
            wall = wall.min(elapsed);
            cpu = cpu.min(match (cpu_start, cpu_ns()) {
                (Some(start), Some(end)) => (end - start) / 1e9,
                _ => elapsed,
            });
        }
        Ok((wall, cpu))
    }

    /// `cargo test -p sluice-sql --release -- --ignored --nocapture seed_throughput`
    #[test]
    #[ignore = "a measurement: run in release"]
    fn seed_throughput() -> Result<(), SqlError> {
        const N: usize = 2_000_000;
        let mapping = seed_mapping();
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let start = literal::parse_timestamp("2020-07-01 00:00:00").expect("a timestamp");
        let records: Vec<Vec<u8>> = (0..N)
            .map(|i| {
                let mut at = String::new();
                literal::format_timestamp(start + 10 * i as i64, &mut at);
                let at = at.replacen(' ', "T", 1);
                let values = format!("{},{},{},{}", 1 + next(100), next(11), next(6), next(4));
                format!(r#"{{"timestamp": "{at}", "requests_newUsers_newOrders_churnUsers": "{values}"}}"#).into_bytes()
            })
            .collect();
        let bytes: usize = records.iter().map(Vec::len).sum();
        let mut rows_seen = 0;
        let (wall, cpu) = best_of_three(|| {
            let mut out = Vec::with_capacity(1024);
            for record in &records {
                mapping.map_record(record, &mut out)?;
                if out.len() == 1024 {
                    rows_seen += out.len();
                    out.clear();
                }
            }
            rows_seen += out.len();
            Ok(())
        })?;
        assert_eq!(rows_seen, 3 * N);
        // The reference point on the same bytes, now: serde_json into a borrowed struct, parse only.
        #[derive(serde::Deserialize)]
        struct Borrowed<'a> {
            timestamp: &'a str,
            #[serde(rename = "requests_newUsers_newOrders_churnUsers")]
            requests: &'a str,
        }
        let mut sum = 0;
        let (ceiling_wall, ceiling_cpu) = best_of_three(|| {
            for record in &records {
                let parsed: Borrowed<'_> = serde_json::from_slice(record).map_err(|e| SqlError::data(e.to_string()))?;
                sum += parsed.timestamp.len() + parsed.requests.len();
            }
            Ok(())
        })?;
        assert!(sum > N);
        let per_s = |seconds: f64| N as f64 / seconds / 1e6;
        println!(
            "seed mapping: {:.2} M records/s wall, {:.2} M per CPU-second, {:.0} MB/s",
            per_s(wall),
            per_s(cpu),
            bytes as f64 / wall / 1e6
        );
        println!(
            "for scale, serde_json into a borrowed struct (parse only): {:.2} M records/s wall, {:.2} M per CPU-second",
            per_s(ceiling_wall),
            per_s(ceiling_cpu)
        );
        Ok(())
    }
}
