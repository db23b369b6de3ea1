//! The `sql` application under test: records in at virtual times, every in-app stream's rows, error_stream's
//! rows and each destination's records captured in memory. Nothing starts, nothing touches the network.
//!
//! Rows are captured as JSON objects (as a json output would write them, plus ROWTIME) with a [`Kind`] per
//! column, so expectations written in YAML compare by type: [`cell_matches`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value as Json};
use sluice_core::runtime::record::Record;
use sluice_sql::engine::{Program, StreamId};
use sluice_sql::error_stream::{ERROR_STREAM, error_stream_columns};
use sluice_sql::input::{InputMapping, RowPool};
use sluice_sql::literal;
use sluice_sql::output::{OutputFormat, write_row};
use sluice_sql::types::SqlType;
use sluice_sql::value::Value;

use super::SqlConfig;
use super::rows::{advance, finish, push_record};
use super::run::OutputPlan;

/// How a column's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TIMESTAMP (and ROWTIME): as instants.
    Timestamp,
    /// DATE: as days.
    Date,
    /// TIME: as times of day.
    Time,
    /// Numeric types: numerically.
    Number,
    /// Anything else: exactly, as JSON.
    Other,
}

impl Kind {
    fn of(ty: &SqlType) -> Kind {
        match ty {
            SqlType::Timestamp => Kind::Timestamp,
            SqlType::Date => Kind::Date,
            SqlType::Time => Kind::Time,
            ty if ty.is_numeric() => Kind::Number,
            _ => Kind::Other,
        }
    }
}

/// Rows with their columns: an in-app stream's, or a json output's records.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names and kinds, in order (ROWTIME first for in-app streams).
    pub columns: Vec<(String, Kind)>,
    /// The rows, in arrival order, as JSON objects keyed by column name.
    pub rows: Vec<Map<String, Json>>,
}

/// A json output's record parsed, with its columns' kinds.
pub type JsonRecord = (Map<String, Json>, Vec<(String, Kind)>);

/// One record sent to a destination.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The record's text, as written.
    pub text: String,
    /// For a json output: the record parsed, with its columns' kinds.
    pub json: Option<JsonRecord>,
}

/// What one test run of an application produced.
#[derive(Debug, Default)]
pub struct Captured {
    /// Rows per in-app stream (every stream of the SQL, the input stream and error_stream included).
    pub streams: BTreeMap<String, Table>,
    /// Records per destination, in the order the application sent them.
    pub destinations: BTreeMap<String, Vec<Delivered>>,
}

/// One test record: its arrival time (ms since the epoch), shard and bytes.
#[derive(Debug, Clone)]
pub struct TestInputRecord {
    /// Arrival time on the virtual clock: APPROXIMATE_ARRIVAL_TIME, ROWTIME (kept monotonic) and
    /// CURRENT_ROW_TIMESTAMP.
    pub at_ms: i64,
    /// The number of the shard it is read from: SHARD_ID (`shardId-000000000001` for 1).
    pub shard: Option<u32>,
    /// The record's bytes.
    pub data: Vec<u8>,
}

/// A compiled `sql` application, ready for tests.
pub struct Harness {
    program: Program,
    mapping: InputMapping,
    plans: Vec<OutputPlan>,
    /// The stream (of the pipeline) the application reads.
    pub input_stream: String,
    /// The reference data source, if any; its `file://` rows are loaded into the program.
    reference: Option<super::reference::SqlReference>,
}

impl SqlConfig {
    /// Compiles the application for pipeline tests; `base_dir` locates `code_file`.
    pub fn test_harness(&self, base_dir: &Path) -> Result<Harness, String> {
        let code = self.code_text(base_dir).ok_or_else(|| "the SQL code cannot be read".to_owned())?;
        let mut compiled = self.compile(&code).map_err(|e| e.to_string())?;
        let plans = self.output_plans(&compiled.program)?;
        if let Some(reference) = &self.reference
            && let Some(rows) = reference.load_local(base_dir)
        {
            let rows = rows.map_err(|e| format!("reference table `{}`: {e}", reference.table))?;
            compiled.program.set_table_rows(&reference.table, rows);
        }
        Ok(Harness {
            program: compiled.program,
            mapping: compiled.mapping,
            plans,
            input_stream: self.input.stream.clone(),
            reference: self.reference.clone(),
        })
    }
}

fn kinds(columns: &[(String, SqlType)]) -> Vec<(String, Kind)> {
    columns.iter().map(|(name, ty)| (name.clone(), Kind::of(ty))).collect()
}

/// A row as a JSON object, as a json output writes it.
fn row_json(columns: &[(String, SqlType)], values: &[Value]) -> (String, Map<String, Json>) {
    let mut bytes = Vec::new();
    write_row(OutputFormat::Json, columns, values, &mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let object = match serde_json::from_str(&text) {
        Ok(Json::Object(object)) => object,
        _ => Map::new(),
    };
    (text, object)
}

impl Harness {
    /// Runs `records` (sorted by arrival) through the application and captures what comes out.
    ///
    /// The clock is virtual: the query starts at the earliest record's arrival, which CURRENT_TIMESTAMP,
    /// CURRENT_DATE, CURRENT_TIME, LOCALTIME and LOCALTIMESTAMP give for the whole run (KDA fixes them when the
    /// query starts), and CURRENT_ROW_TIMESTAMP is each record's arrival. The clock moves to each record's
    /// arrival before the record goes in, closing the GROUP BY windows that end by then; after the last record
    /// it moves on from window end to window end until every window has closed (the test ends when its input
    /// is exhausted and every result is out), and windows on a ROWTIME a pump sets close last.
    pub fn run(&self, records: &[TestInputRecord]) -> Captured {
        self.run_with(records, None)
    }

    /// The name of the application's reference table, if it has one.
    pub fn reference_table(&self) -> Option<&str> {
        self.reference.as_ref().map(|r| r.table.as_str())
    }

    /// Rows for the reference table from a test (JSON objects by column name), coerced to its columns.
    pub fn reference_rows(&self, rows: &[Map<String, Json>]) -> Result<Vec<Vec<Value>>, String> {
        let reference = self.reference.as_ref().ok_or("the application has no reference data")?;
        reference.inline_rows(rows)
    }

    /// Why a test without inline reference rows cannot run this application: its table is on S3.
    pub fn needs_inline_reference(&self) -> Option<String> {
        let reference = self.reference.as_ref()?;
        reference.url.starts_with("s3://").then(|| {
            format!(
                "reference table `{}` is read from {}, which tests do not reach: give its rows under the test's \
                 `reference: {{table: {}, rows: [...]}}`",
                reference.table, reference.url, reference.table
            )
        })
    }

    /// [`Harness::run`], with the reference table's rows replaced by `table` when given.
    pub fn run_with(&self, records: &[TestInputRecord], table: Option<Vec<Vec<Value>>>) -> Captured {
        let program = &self.program;
        let error_columns = error_stream_columns();
        let mut captured = Captured::default();
        let stream_columns = |id: Option<StreamId>| match id {
            Some(id) => &program.stream_def(id).columns,
            None => &error_columns,
        };
        let mut ids: Vec<Option<StreamId>> =
            program.stream_names().filter_map(|n| program.stream(n)).map(Some).collect();
        ids.push(None);
        for id in &ids {
            let name = id.map_or(ERROR_STREAM, |id| program.stream_def(id).name.as_str());
            let mut columns = vec![("ROWTIME".to_owned(), Kind::Timestamp)];
            columns.extend(kinds(stream_columns(*id)));
            captured.streams.insert(name.to_owned(), Table { columns, rows: Vec::new() });
        }
        for plan in &self.plans {
            captured.destinations.entry(plan.destination.clone()).or_default();
        }
        let mut runner = program.runner_at(records.iter().map(|r| r.at_ms).min().unwrap_or(0));
        if let (Some(rows), Some(reference)) = (table, &self.reference) {
            runner.set_table_rows(&reference.table, rows);
        }
        let (mut rows, mut pool) = (Vec::new(), RowPool::default());
        let mut last_rowtime = i64::MIN;
        let key: Arc<str> = Arc::from("");
        let mut emit = |stream: Option<StreamId>, rowtime: i64, values: &[Value]| {
            let columns = stream_columns(stream);
            let name = stream.map_or(ERROR_STREAM, |id| program.stream_def(id).name.as_str());
            let (_, mut object) = row_json(columns, values);
            let mut shown = String::new();
            literal::format_timestamp(rowtime, &mut shown);
            object.insert("ROWTIME".into(), Json::String(shown));
            if let Some(table) = captured.streams.get_mut(name) {
                table.rows.push(object);
            }
            for plan in self.plans.iter().filter(|p| p.stream == stream) {
                let delivered = match plan.format {
                    OutputFormat::Json => {
                        let (text, object) = row_json(&plan.columns, values);
                        Delivered { text, json: Some((object, kinds(&plan.columns))) }
                    }
                    OutputFormat::Csv => {
                        let mut bytes = Vec::new();
                        write_row(plan.format, &plan.columns, values, &mut bytes);
                        Delivered { text: String::from_utf8_lossy(&bytes).into_owned(), json: None }
                    }
                };
                captured.destinations.entry(plan.destination.clone()).or_default().push(delivered);
            }
        };
        for record in records {
            last_rowtime = last_rowtime.max(record.at_ms);
            runner.set_row_clock(record.at_ms);
            advance(&mut runner, record.at_ms, &mut emit);
            let input = Record {
                partition_key: Arc::clone(&key),
                data: Bytes::copy_from_slice(&record.data),
                arrival_ms: record.at_ms,
                shard: record.shard,
            };
            push_record(&mut runner, &self.mapping, &input, last_rowtime, &mut rows, &mut pool, &mut emit);
        }
        while let Some(end) = runner.next_window_end() {
            runner.set_row_clock(end);
            advance(&mut runner, end, &mut emit);
        }
        finish(&mut runner, &mut emit);
        captured
    }
}

/// Whether an expected value (from YAML) matches an actual one of `kind`: instants, dates and times as such,
/// numbers numerically (a numeric string counts), `null` only NULL, anything else exactly.
pub fn cell_matches(kind: Kind, expected: &Json, actual: &Json) -> bool {
    if expected == actual {
        return true;
    }
    let text = |v: &Json| match v {
        Json::String(s) => Some(s.clone()),
        _ => None,
    };
    match kind {
        Kind::Timestamp => parsed(expected, actual, literal::parse_timestamp),
        Kind::Date => parsed(expected, actual, |t| literal::parse_date(t).map(i64::from)),
        Kind::Time => parsed(expected, actual, |t| literal::parse_time(t).map(i64::from)),
        Kind::Number => {
            let number = |v: &Json| match v {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match (number(expected), number(actual)) {
                (Some(e), Some(a)) => e == a || (e - a).abs() <= 1e-9 * e.abs().max(a.abs()),
                _ => false,
            }
        }
        Kind::Other => text(expected).is_some() && text(expected) == text(actual),
    }
}

fn parsed(expected: &Json, actual: &Json, parse: impl Fn(&str) -> Option<i64>) -> bool {
    match (expected, actual) {
        (Json::String(e), Json::String(a)) => parse(e).is_some() && parse(e) == parse(a),
        _ => false,
    }
}
