//! Reference data: one S3 object (or local file) loaded at start as an in-app table the SQL joins to a stream
//! ([DG] how-it-works-input.md: "at most one reference source ... refreshed only on application update").
//!
//! ```text
//!   reference.url ──file:// (beside the pipeline) or s3:// (Bucket::open, AWS_* environment)──▶ bytes
//!        ──CSV: rows split by row_delimiter │ JSON: one object per line, or an array──▶ InputMapping ──▶ rows
//!        ──▶ Program::set_table_rows(table)          (a row that does not map: error naming file and line)
//! ```
//!
//! The table's columns use the input's column spec (name, SQL type, JSONPath for JSON) and its mapping
//! ([`sluice_sql::input`]), so a reference file is read exactly as the input stream's records are. `sluice
//! validate` checks the spec, that the table name is usable in SQL, and that a `file://` object exists; it does not
//! reach S3. In pipeline tests the rows may be given inline instead (`reference: {table, rows}` under a test).

use std::collections::BTreeSet;
use std::path::Path;

use object_store::ObjectStoreExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::ValidateCx;
use sluice_sql::engine::StreamDef;
use sluice_sql::input::{InputColumn, InputFormat, InputMapping};
use sluice_sql::types::SqlType;
use sluice_sql::value::Value;

use super::{RecordFormat, SQL_TYPE_NAMES, SqlColumn, comma, newline};
use crate::destinations::s3::bucket::Bucket;

/// The application's reference data source: an object loaded at start as the in-app table `table`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlReference {
    /// The in-app table's name, as the SQL quotes it (`"CompanyName"`); case-sensitive.
    #[schemars(length(min = 1, max = 32))]
    pub table: String,
    /// Where the data is: `file://./ref/tickers.csv` (beside the pipeline), `file:///abs/path.csv`, or
    /// `s3://bucket/key` (region, endpoint and credentials from the usual `AWS_*` environment).
    #[schemars(length(min = 1))]
    pub url: String,
    /// Record format of the object.
    #[serde(default)]
    pub format: RecordFormat,
    /// CSV column delimiter.
    #[serde(default = "comma")]
    #[schemars(length(min = 1), default = "comma")]
    pub column_delimiter: String,
    /// CSV row delimiter.
    #[serde(default = "newline")]
    #[schemars(length(min = 1), default = "newline")]
    pub row_delimiter: String,
    /// CSV: the first row names the columns and is skipped.
    #[serde(default)]
    pub header: bool,
    /// The table's columns (1 to 1000), as the input's: name, SQL type, and for JSON a JSONPath.
    #[schemars(length(min = 1, max = 1000))]
    pub columns: Vec<SqlColumn>,
}

impl SqlReference {
    /// Checks the source (under `reference/`): the table name, the columns, the URL, and that a `file://` object
    /// exists. Returns whether the columns are sound (then the SQL can be checked against them).
    pub fn validate(&self, cx: &mut ValidateCx<'_>) -> bool {
        let mut sound = true;
        if self.table.is_empty() || self.table.chars().count() > 32 {
            cx.error("reference/table", Code::InvalidValue, "a reference table's name has 1 to 32 characters");
        }
        let mut seen = BTreeSet::new();
        for (i, column) in self.columns.iter().enumerate() {
            if !seen.insert(column.name.as_str()) {
                sound = false;
                let message = format!("column `{}` is declared twice", column.name);
                cx.error(&format!("reference/columns/{i}/name"), Code::InvalidValue, message);
            }
            if let Err(e) = column.sql_type.parse::<SqlType>() {
                sound = false;
                let base = column.sql_type.split('(').next().unwrap_or_default().trim().to_ascii_uppercase();
                let help = sluice_core::suggest::did_you_mean(&base, SQL_TYPE_NAMES)
                    .unwrap_or_else(|| format!("SQL types: {}", SQL_TYPE_NAMES.join(", ")));
                cx.error_with_help(&format!("reference/columns/{i}/type"), Code::InvalidValue, e.to_string(), help);
            }
            if self.format == RecordFormat::Json && column.path.is_none() {
                sound = false;
                let message = format!("column `{}` needs a JSONPath `path` for JSON reference data", column.name);
                cx.error(&format!("reference/columns/{i}"), Code::MissingKey, message);
            }
        }
        if sound && let Err(e) = self.mapping() {
            sound = false;
            cx.error("reference/columns", Code::InvalidValue, e);
        }
        match Location::parse(&self.url) {
            Ok(Location::File(path)) => {
                cx.require_file("reference/url", &path);
            }
            Ok(Location::S3 { .. }) => {} // No network at validate.
            Err(e) => cx.error("reference/url", Code::InvalidValue, e),
        }
        sound
    }

    /// The table as the SQL sees it.
    pub fn table_def(&self) -> Option<StreamDef> {
        let columns = self
            .columns
            .iter()
            .map(|c| c.sql_type.parse::<SqlType>().ok().map(|t| (c.name.clone(), t)))
            .collect::<Option<Vec<_>>>()?;
        Some(StreamDef { name: self.table.clone(), columns })
    }

    fn mapping(&self) -> Result<InputMapping, String> {
        let columns = self
            .columns
            .iter()
            .map(|c| {
                let sql_type = c.sql_type.parse::<SqlType>().map_err(|e| e.to_string())?;
                Ok(InputColumn { name: c.name.clone(), sql_type, path: c.path.clone() })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let format = match self.format {
            RecordFormat::Json => InputFormat::Json,
            RecordFormat::Csv => InputFormat::Csv {
                column_delimiter: self.column_delimiter.clone(),
                row_delimiter: self.row_delimiter.clone(),
            },
        };
        InputMapping::new(format, columns).map_err(|e| e.message)
    }

    /// Reads the object and maps it into rows (async: `s3://` objects are fetched).
    pub async fn load(&self, base_dir: &Path) -> Result<Vec<Vec<Value>>, String> {
        let bytes = match Location::parse(&self.url)? {
            Location::File(path) => {
                let full = base_dir.join(&path);
                tokio::fs::read(&full).await.map_err(|e| format!("cannot read {}: {e}", full.display()))?
            }
            Location::S3 { bucket, key } => {
                let bucket = Bucket::open(&format!("s3://{bucket}"), base_dir)?;
                let location = object_store::path::Path::from(key.as_str());
                let got = bucket.store().get(&location).await.map_err(|e| format!("cannot get {}: {e}", self.url))?;
                got.bytes().await.map_err(|e| format!("cannot read {}: {e}", self.url))?.to_vec()
            }
        };
        self.parse(&bytes)
    }

    /// Reads a `file://` object now (pipeline tests); None for an `s3://` one, which tests give inline.
    pub fn load_local(&self, base_dir: &Path) -> Option<Result<Vec<Vec<Value>>, String>> {
        match Location::parse(&self.url) {
            Ok(Location::File(path)) => {
                let full = base_dir.join(&path);
                Some(
                    std::fs::read(&full)
                        .map_err(|e| format!("cannot read {}: {e}", full.display()))
                        .and_then(|bytes| self.parse(&bytes)),
                )
            }
            Ok(Location::S3 { .. }) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// The object's rows; a record that does not map is an error naming the object and the line.
    pub fn parse(&self, bytes: &[u8]) -> Result<Vec<Vec<Value>>, String> {
        let mapping = self.mapping()?;
        let text = std::str::from_utf8(bytes).map_err(|e| format!("{}: not UTF-8 text: {e}", self.url))?;
        let mut rows = Vec::new();
        let mut map = |record: &str, line: usize| {
            mapping
                .map_record(record.as_bytes(), &mut rows)
                .map_err(|e| format!("{}: line {line}: {}", self.url, e.message))
        };
        match self.format {
            RecordFormat::Csv => {
                let delimiter = self.row_delimiter.as_str();
                for (i, record) in text.split(delimiter).enumerate() {
                    let record = record.strip_suffix('\r').unwrap_or(record);
                    if record.trim().is_empty() || (i == 0 && self.header) {
                        continue;
                    }
                    map(record, i + 1)?;
                }
            }
            RecordFormat::Json if text.trim_start().starts_with('[') => {
                let records: Vec<Json> =
                    serde_json::from_str(text).map_err(|e| format!("{}: line {}: {e}", self.url, e.line()))?;
                for (i, record) in records.iter().enumerate() {
                    map(&record.to_string(), i + 1)?;
                }
            }
            RecordFormat::Json => {
                for (i, record) in text.lines().enumerate() {
                    if !record.trim().is_empty() {
                        map(record, i + 1)?;
                    }
                }
            }
        }
        Ok(rows)
    }

    /// A test's inline rows (JSON objects keyed by column name) as table rows, coerced as the input's are.
    pub fn inline_rows(&self, rows: &[Map<String, Json>]) -> Result<Vec<Vec<Value>>, String> {
        let columns = self
            .columns
            .iter()
            .map(|c| {
                let sql_type = c.sql_type.parse::<SqlType>().map_err(|e| e.to_string())?;
                let path = format!("$['{}']", c.name.replace('\'', "\\'"));
                Ok(InputColumn { name: c.name.clone(), sql_type, path: Some(path) })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mapping = InputMapping::new(InputFormat::Json, columns).map_err(|e| e.message)?;
        let mut out = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if let Some(unknown) = row.keys().find(|k| !self.columns.iter().any(|c| c.name == **k)) {
                let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
                return Err(format!(
                    "reference row {}: table `{}` has no column `{unknown}` (its columns: {})",
                    i + 1,
                    self.table,
                    names.join(", ")
                ));
            }
            let text = Json::Object(row.clone()).to_string();
            mapping
                .map_record(text.as_bytes(), &mut out)
                .map_err(|e| format!("reference row {}: {}", i + 1, e.message))?;
        }
        Ok(out)
    }
}

/// Where a reference object is.
enum Location {
    /// A path, relative to the pipeline's directory unless absolute.
    File(String),
    /// An S3 object.
    S3 { bucket: String, key: String },
}

impl Location {
    fn parse(url: &str) -> Result<Location, String> {
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() || path.ends_with('/') {
                return Err(format!("`{url}` names no file; use `file://./ref/table.csv` or `file:///abs/table.csv`"));
            }
            Ok(Location::File(path.to_owned()))
        } else if let Some(rest) = url.strip_prefix("s3://") {
            match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() && !key.ends_with('/') => {
                    Ok(Location::S3 { bucket: bucket.to_owned(), key: key.to_owned() })
                }
                _ => Err(format!("`{url}` names no object; use `s3://bucket/key`")),
            }
        } else {
            Err(format!("reference data `{url}` is not a `file://` or `s3://` URL"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source of `format` with `extra` fields (JSON members, each followed by a comma) and `columns` (JSON).
    fn reference(format: &str, extra: &str, columns: &str) -> SqlReference {
        let json =
            format!(r#"{{"table": "T", "url": "file://./t", "format": "{format}", {extra} "columns": {columns}}}"#);
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn csv_objects_skip_a_header_blank_lines_and_carriage_returns() {
        let r = reference(
            "csv",
            r#""header": true,"#,
            r#"[{"name": "a", "type": "VARCHAR(4)"}, {"name": "n", "type": "INTEGER"}]"#,
        );
        let rows = r.parse(b"a,n\r\nx,1\r\n\r\ny,2").expect("rows");
        assert_eq!(rows, vec![vec![Value::string("x"), Value::Int(1)], vec![Value::string("y"), Value::Int(2)]]);
        let r = reference(
            "csv",
            r#""column_delimiter": "|", "row_delimiter": ";","#,
            r#"[{"name": "a", "type": "VARCHAR(4)"}]"#,
        );
        assert_eq!(r.parse(b"x|ignored;y").expect("rows").len(), 2);
    }

    #[test]
    fn json_objects_are_lines_or_an_array_and_errors_name_the_line() {
        let r = reference("json", "", r#"[{"name": "a", "type": "INTEGER", "path": "$.a"}]"#);
        assert_eq!(
            r.parse(b"{\"a\": 1}\n\n{\"a\": 2}\n").expect("rows"),
            vec![vec![Value::Int(1)], vec![Value::Int(2)]]
        );
        assert_eq!(r.parse(b"[{\"a\": 1}, {\"a\": 3}]").expect("rows"), vec![vec![Value::Int(1)], vec![Value::Int(3)]]);
        let e = r.parse(b"{\"a\": 1}\n{\"a\": \"x\"}\n").expect_err("a bad value");
        assert!(e.starts_with("file://./t: line 2: "), "{e}");
        let e = r.parse(b"{\"a\": 1}\nnot json\n").expect_err("not JSON");
        assert!(e.starts_with("file://./t: line 2: "), "{e}");
    }

    #[test]
    fn inline_rows_are_coerced_and_unknown_columns_refused() {
        let r = reference(
            "json",
            "",
            r#"[{"name": "Ticker", "type": "VARCHAR(4)", "path": "$.t"}, {"name": "n", "type": "DOUBLE", "path": "$.n"}]"#,
        );
        let rows: Vec<Map<String, Json>> =
            serde_json::from_str(r#"[{"Ticker": "AMZN", "n": 2}, {"Ticker": "TOOLONG"}]"#).expect("rows");
        let got = r.inline_rows(&rows).expect("rows");
        assert_eq!(got[0], vec![Value::string("AMZN"), Value::Double(2.0)]);
        assert_eq!(got[1], vec![Value::string("TOOL"), Value::Null], "truncated as input mapping does");
        let rows: Vec<Map<String, Json>> = serde_json::from_str(r#"[{"ticker": "AMZN"}]"#).expect("rows");
        let e = r.inline_rows(&rows).expect_err("unknown column");
        assert_eq!(e, "reference row 1: table `T` has no column `ticker` (its columns: Ticker, n)");
    }

    #[test]
    fn urls_name_a_file_or_an_object() {
        assert!(matches!(Location::parse("file://./a.csv"), Ok(Location::File(p)) if p == "./a.csv"));
        assert!(
            matches!(Location::parse("s3://b/k/x.csv"), Ok(Location::S3 { bucket, key }) if bucket == "b" && key == "k/x.csv")
        );
        for bad in ["file://", "file://dir/", "s3://b", "s3://b/", "s3:///k", "http://x/y"] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }
}
