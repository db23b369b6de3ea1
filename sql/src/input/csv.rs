//! Delimited records: rows split by the row delimiter, fields by the column delimiter, in column order.
//!
//! A field that starts with `"` is quoted: delimiters inside it are text and `""` is a quote (RFC 4180; anything
//! after the closing quote up to the next delimiter is kept, an unclosed quote runs to the end of the record).
//! Missing trailing fields are NULL and extra fields are ignored, as in KDA. An empty field is `''` for CHAR/VARCHAR
//! and NULL for other types (KDA's CSV has no NULL spelling; this is the reading users expect). Empty rows (a
//! trailing row delimiter, blank lines) produce no row.

use std::borrow::Cow;

use super::coerce;
use super::{InputColumn, RowPool};
use crate::error::SqlError;
use crate::value::Value;

/// A compiled CSV mapping.
#[derive(Debug)]
pub(crate) struct CsvMapping {
    column: String,
    row: String,
}

/// A field's value for its column: `''` for CHAR/VARCHAR when empty, else NULL when empty, else coerced.
fn field_value(text: &str, column: &InputColumn) -> Result<Value, SqlError> {
    if text.is_empty() && !column.sql_type.is_string() {
        return Ok(Value::Null);
    }
    coerce::from_text(text, &column.sql_type).map_err(|why| SqlError::data(format!("column `{}`: {why}", column.name)))
}

/// What ends a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Column,
    Row,
    Record,
}

impl CsvMapping {
    /// A mapping with these delimiters (checked by the caller: non-empty, different, no `"`).
    pub(crate) fn new(column: String, row: String) -> Self {
        CsvMapping { column, row }
    }

    /// Maps one record; see [`InputMapping::map_record`](super::InputMapping::map_record). Fields are coerced
    /// as they are split, straight into the row.
    pub(crate) fn map(
        &self,
        columns: &[InputColumn],
        data: &[u8],
        out: &mut Vec<Vec<Value>>,
        pool: &mut RowPool,
    ) -> Result<(), SqlError> {
        let mut rest =
            std::str::from_utf8(data).map_err(|e| SqlError::data(format!("the record is not UTF-8 text: {e}")))?;
        while !rest.is_empty() {
            let mut row = pool.take(columns.len());
            let mut fields = 0;
            let blank = loop {
                let (field, end, after) = self.field(rest);
                rest = after;
                if let Some(column) = columns.get(fields) {
                    row.push(field_value(&field, column)?);
                }
                fields += 1;
                if end != End::Column {
                    break fields == 1 && field.is_empty();
                }
            };
            if blank {
                pool.give(row);
            } else {
                row.resize(columns.len(), Value::Null);
                out.push(row);
            }
        }
        Ok(())
    }

    /// The rows of a record as [`map`](Self::map) reads them, each the fields it holds, empty rows skipped (for
    /// schema discovery, which must split records exactly as the mapping will).
    pub(crate) fn split<'a>(&self, text: &'a str) -> Vec<Vec<Cow<'a, str>>> {
        let (mut rows, mut rest, mut fields) = (Vec::new(), text, Vec::new());
        while self.next_row(&mut rest, &mut fields) {
            rows.push(std::mem::take(&mut fields));
        }
        rows
    }

    /// Reads the next row of `rest` into `fields` (cleared first) and moves `rest` past it; false at the end of
    /// the text. Empty rows (a blank line) are skipped.
    fn next_row<'a>(&self, rest: &mut &'a str, fields: &mut Vec<Cow<'a, str>>) -> bool {
        while !rest.is_empty() {
            fields.clear();
            loop {
                let (field, end, after) = self.field(rest);
                fields.push(field);
                *rest = after;
                if end != End::Column {
                    break;
                }
            }
            if !(fields.len() == 1 && fields[0].is_empty()) {
                return true;
            }
        }
        false
    }

    /// The next field of `text`, what ended it, and the text after its delimiter.
    fn field<'a>(&self, text: &'a str) -> (Cow<'a, str>, End, &'a str) {
        let Some(quoted) = text.strip_prefix('"') else {
            let (at, end, len) = self.next_delimiter(text);
            return (Cow::Borrowed(&text[..at]), end, &text[at + len..]);
        };
        let mut value = String::new();
        let mut rest = quoted;
        loop {
            match rest.find('"') {
                None => return (Cow::Owned(value + rest), End::Record, ""),
                Some(at) => {
                    value.push_str(&rest[..at]);
                    rest = &rest[at + 1..];
                    match rest.strip_prefix('"') {
                        Some(after) => {
                            value.push('"');
                            rest = after;
                        }
                        None => break,
                    }
                }
            }
        }
        let (at, end, len) = self.next_delimiter(rest);
        value.push_str(&rest[..at]);
        (Cow::Owned(value), end, &rest[at + len..])
    }

    /// The first delimiter in `text`: its offset, kind and length (the end of the record when there is none).
    fn next_delimiter(&self, text: &str) -> (usize, End, usize) {
        let bytes = text.as_bytes();
        let (column, row) = (self.column.as_bytes(), self.row.as_bytes());
        // The longer first, in case one delimiter starts the other.
        let order = if row.len() >= column.len() {
            [(row, End::Row), (column, End::Column)]
        } else {
            [(column, End::Column), (row, End::Row)]
        };
        for at in memchr::memchr2_iter(column[0], row[0], bytes) {
            for (delimiter, end) in order {
                if bytes[at..].starts_with(delimiter) {
                    return (at, end, delimiter.len());
                }
            }
        }
        (text.len(), End::Record, 0)
    }
}
