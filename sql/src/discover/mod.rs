//! Schema discovery: an input mapping inferred from sample records, as the KDA console's "Discover schema" (the
//! `DiscoverInputSchema` API) made one (DG sch-dis.md, sch-dis-ref.md); `sluice discover` prints it.
//!
//! ```text
//!   records ──format (given, or JSON if the first record is an object)──┬─ JSON: a tree of fields (json.rs)
//!                                                                       └─ CSV: rows split as the mapping does (csv.rs)
//!        ──▶ columns: names (names.rs), types widened over the sample (kinds.rs) ──▶ checked ──▶ YAML (yaml.rs)
//! ```
//!
//! The result is checked before it is returned: the mapping must compile, and (JSON) every sampled record must map
//! through it; a record that would not is reported in [`Discovery::notes`]. If JSON records have no field at all,
//! the mapping is KDA's fallback: one VARCHAR column with the whole record (`$`).

mod csv;
mod json;
mod kinds;
mod names;
mod sample;
mod yaml;

use serde_json::value::RawValue;

pub use sample::{SampleRecord, file_records, looks_like_json};
pub use yaml::render_input;

use crate::input::{InputColumn, InputFormat, InputMapping};
use crate::types::SqlType;

/// KDA's limit on the columns of an input stream.
const MAX_COLUMNS: usize = 1000;

/// The record format to discover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatChoice {
    /// JSON if the first record is a JSON object, else CSV with the default delimiters.
    Auto,
    /// JSON objects.
    Json,
    /// Delimited text; a delimiter not given is `,` for columns and, for rows, `\r\n` if a record holds one, else
    /// `\n`.
    Csv {
        /// Between fields.
        column_delimiter: Option<String>,
        /// Between rows.
        row_delimiter: Option<String>,
    },
}

/// What discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The record format, with its delimiters.
    pub format: InputFormat,
    /// The columns, in order.
    pub columns: Vec<InputColumn>,
    /// Records read.
    pub records: usize,
    /// Rows the columns were inferred from (JSON: records read; CSV: rows, header included).
    pub rows: usize,
    /// Records skipped: not JSON objects, not UTF-8.
    pub skipped: usize,
    /// What the user should know: skipped records, a header row, a flattened array, columns dropped.
    pub notes: Vec<String>,
}

/// Why nothing could be discovered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoverError {
    /// The sample is empty.
    #[error("there are no records to discover from")]
    NoRecords,
    /// No record could be read in the format.
    #[error("no record could be read as {format} ({tried} tried; {first})")]
    NothingParsed {
        /// `JSON` or `CSV`.
        format: &'static str,
        /// How many records were tried.
        tried: usize,
        /// Why the first one failed, with its place.
        first: String,
    },
    /// The CSV delimiters given are not usable.
    #[error("{0}")]
    Delimiters(String),
    /// The mapping discovered does not compile: a bug in discovery.
    #[error("the discovered mapping is invalid ({0}): please report this")]
    Invalid(String),
}

/// Infers an input mapping from `records`, reading at most `limit` CSV rows.
pub fn discover(records: &[SampleRecord<'_>], choice: &FormatChoice, limit: usize) -> Result<Discovery, DiscoverError> {
    if records.is_empty() {
        return Err(DiscoverError::NoRecords);
    }
    let json = match choice {
        FormatChoice::Json => true,
        FormatChoice::Csv { .. } => false,
        FormatChoice::Auto => {
            records.iter().find(|r| !r.data.trim_ascii().is_empty()).is_some_and(|r| object(r.data).is_ok())
        }
    };
    let (column_delimiter, row_delimiter) = match choice {
        FormatChoice::Csv { column_delimiter, row_delimiter } => (column_delimiter.clone(), row_delimiter.clone()),
        _ => (None, None),
    };
    let discovery =
        if json { discover_json(records)? } else { discover_csv(records, column_delimiter, row_delimiter, limit)? };
    InputMapping::new(discovery.format.clone(), discovery.columns.clone())
        .map_err(|e| DiscoverError::Invalid(e.message))?;
    Ok(discovery)
}

/// A record that is one JSON object.
fn object(data: &[u8]) -> Result<&RawValue, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if !raw.get().starts_with('{') {
        return Err("not a JSON object".into());
    }
    Ok(raw)
}

fn discover_json(records: &[SampleRecord<'_>]) -> Result<Discovery, DiscoverError> {
    let mut root = json::Node::default();
    let (mut used, mut skipped, mut first_skip) = (Vec::new(), 0, None);
    for record in records {
        match object(record.data).and_then(|raw| root.add(raw).map_err(|e| e.to_string())) {
            Ok(()) => used.push(record),
            Err(why) => {
                skipped += 1;
                first_skip.get_or_insert_with(|| format!("{}: {why}", record.place));
            }
        }
    }
    if used.is_empty() {
        let first = first_skip.unwrap_or_default();
        return Err(DiscoverError::NothingParsed { format: "JSON objects", tried: records.len(), first });
    }
    let mut notes = Vec::new();
    if let Some(first) = first_skip {
        notes.push(format!("{skipped} of {} records skipped, not JSON objects ({first})", records.len()));
    }
    let (leaves, flattened) = json::leaves(&root);
    let mut namer = names::Namer::default();
    let mut columns: Vec<InputColumn> = leaves
        .into_iter()
        .enumerate()
        .map(|(position, leaf)| {
            let keys: Vec<&str> = leaf.keys.iter().map(String::as_str).collect();
            InputColumn { name: namer.name(&keys, position), sql_type: leaf.sql_type, path: Some(leaf.path) }
        })
        .collect();
    if columns.is_empty() {
        notes.push("the records have no fields: one column holds each whole record".into());
        columns.push(InputColumn { name: "COL_0".into(), sql_type: root.text_type(), path: Some("$".into()) });
    }
    if let Some(array) = flattened {
        notes.push(format!(
            "`{array}` is flattened: each of its elements becomes a row (a mapping flattens one array; others are \
             read whole, as text)"
        ));
    }
    cap_columns(&mut columns, &mut notes);
    let format = InputFormat::Json;
    check_rows(&format, &columns, &used, &mut notes);
    Ok(Discovery { format, columns, records: records.len(), rows: used.len(), skipped, notes })
}

fn discover_csv(
    records: &[SampleRecord<'_>],
    column_delimiter: Option<String>,
    row_delimiter: Option<String>,
    limit: usize,
) -> Result<Discovery, DiscoverError> {
    let mut texts = Vec::new();
    let (mut skipped, mut first_skip) = (0, None);
    for record in records {
        match std::str::from_utf8(record.data) {
            Ok(text) => texts.push(text),
            Err(e) => {
                skipped += 1;
                first_skip.get_or_insert_with(|| format!("{}: not UTF-8 text: {e}", record.place));
            }
        }
    }
    let row_delimiter = row_delimiter
        .unwrap_or_else(|| if texts.iter().any(|t| t.contains("\r\n")) { "\r\n".into() } else { "\n".into() });
    let format = InputFormat::Csv { column_delimiter: column_delimiter.unwrap_or_else(|| ",".into()), row_delimiter };
    let probe = InputColumn { name: "probe".into(), sql_type: SqlType::Varchar(1), path: None };
    InputMapping::new(format.clone(), vec![probe]).map_err(|e| DiscoverError::Delimiters(e.message))?;
    let InputFormat::Csv { column_delimiter, row_delimiter } = &format else {
        return Err(DiscoverError::Invalid("CSV discovery lost its format".into()));
    };
    let splitter = crate::input::csv::CsvMapping::new(column_delimiter.clone(), row_delimiter.clone());
    let mut rows = Vec::new();
    for text in &texts {
        rows.extend(splitter.split(text));
        if rows.len() >= limit {
            rows.truncate(limit);
            break;
        }
    }
    if rows.is_empty() {
        let first = first_skip.unwrap_or_else(|| "every row is empty".into());
        return Err(DiscoverError::NothingParsed { format: "CSV", tried: records.len(), first });
    }
    let mut notes = Vec::new();
    if let Some(first) = first_skip {
        notes.push(format!("{skipped} of {} records skipped ({first})", records.len()));
    }
    let found = csv::columns(&rows);
    if found.header {
        notes.push(
            "the first row was taken for a header and named the columns; the mapping does not skip it (KDA's did \
             not either): it goes to error_stream if it does not fit the types"
                .into(),
        );
    }
    let mut columns: Vec<InputColumn> =
        found.columns.into_iter().map(|(name, sql_type)| InputColumn { name, sql_type, path: None }).collect();
    cap_columns(&mut columns, &mut notes);
    Ok(Discovery { format, columns, records: records.len(), rows: rows.len(), skipped, notes })
}

fn cap_columns(columns: &mut Vec<InputColumn>, notes: &mut Vec<String>) {
    if columns.len() > MAX_COLUMNS {
        notes.push(format!("{} columns found: kept the first {MAX_COLUMNS}, KDA's limit", columns.len()));
        columns.truncate(MAX_COLUMNS);
    }
}

/// Notes the sampled records the mapping would send to error_stream (only numbers out of DOUBLE's range can be).
fn check_rows(format: &InputFormat, columns: &[InputColumn], records: &[&SampleRecord<'_>], notes: &mut Vec<String>) {
    let Ok(mapping) = InputMapping::new(format.clone(), columns.to_vec()) else { return };
    let mut out = Vec::new();
    let failed: Vec<String> = records
        .iter()
        .filter_map(|record| {
            out.clear();
            mapping.map_record(record.data, &mut out).err().map(|e| format!("{}: {}", record.place, e.message))
        })
        .collect();
    if let Some(first) = failed.first() {
        notes.push(format!("{} sampled records would go to error_stream ({first})", failed.len()));
    }
}

#[cfg(test)]
mod tests;
