//! The discovered mapping as the YAML `input:` block of an `sql` application, ready to paste under
//! `applications.<name>` (indent it to the entry's level). Keys are the `sql` plugin's: `stream`, `name_prefix`,
//! `format`, `column_delimiter`, `row_delimiter`, `columns` (`name`, `type`, `path`), one flow mapping per column
//! as in the seed pipeline. Scalars YAML could misread (`$.a[0:]`, `"\n"`, `DECIMAL(5,2)`, `yes`) are double-quoted.

use std::fmt::Write;

use super::Discovery;
use crate::input::InputFormat;

/// The `input:` block reading `stream` with the discovered mapping, ending in a newline.
pub fn render_input(stream: &str, discovery: &Discovery) -> String {
    let mut out = String::from("input:\n");
    let _ = writeln!(out, "  stream: {}", scalar(stream));
    out.push_str("  name_prefix: SOURCE_SQL_STREAM\n");
    match &discovery.format {
        InputFormat::Json => out.push_str("  format: json\n"),
        InputFormat::Csv { column_delimiter, row_delimiter } => {
            out.push_str("  format: csv\n");
            let _ = writeln!(out, "  column_delimiter: {}", quoted(column_delimiter));
            let _ = writeln!(out, "  row_delimiter: {}", quoted(row_delimiter));
        }
    }
    out.push_str("  columns:\n");
    for column in &discovery.columns {
        let _ = write!(out, "    - {{name: {}, type: {}", scalar(&column.name), scalar(&column.sql_type.to_string()));
        if let Some(path) = &column.path {
            let _ = write!(out, ", path: {}", scalar(path));
        }
        out.push_str("}\n");
    }
    out
}

/// `text` plain when YAML reads it back as the same string inside a flow mapping, else double-quoted.
fn scalar(text: &str) -> String {
    let plain = text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "_.$()-".contains(c))
        && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].iter().any(|w| w.eq_ignore_ascii_case(text));
    if plain { text.to_owned() } else { quoted(text) }
}

/// A YAML double-quoted scalar.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputColumn;
    use crate::types::SqlType;

    fn column(name: &str, sql_type: SqlType, path: Option<&str>) -> InputColumn {
        InputColumn { name: name.into(), sql_type, path: path.map(str::to_owned) }
    }

    fn discovery(format: InputFormat, columns: Vec<InputColumn>) -> Discovery {
        Discovery { format, columns, records: 1, rows: 1, skipped: 0, notes: Vec::new() }
    }

    #[test]
    fn json_blocks_quote_only_what_needs_it() {
        let columns = vec![
            column("COL_timestamp", SqlType::Timestamp, Some("$.timestamp")),
            column("sku", SqlType::Varchar(8), Some("$.items[0:].sku")),
            column("COL_ab", SqlType::Integer, Some("$['a b']")),
            column("yes", SqlType::Boolean, Some("$.yes")),
        ];
        let block = render_input("orders", &discovery(InputFormat::Json, columns));
        assert_eq!(
            block,
            "input:\n  stream: orders\n  name_prefix: SOURCE_SQL_STREAM\n  format: json\n  columns:\n\
             \x20   - {name: COL_timestamp, type: TIMESTAMP, path: $.timestamp}\n\
             \x20   - {name: sku, type: VARCHAR(8), path: \"$.items[0:].sku\"}\n\
             \x20   - {name: COL_ab, type: INTEGER, path: \"$['a b']\"}\n\
             \x20   - {name: \"yes\", type: BOOLEAN, path: $.yes}\n"
        );
    }

    #[test]
    fn csv_blocks_spell_their_delimiters() {
        let format = InputFormat::Csv { column_delimiter: "\t".into(), row_delimiter: "\r\n".into() };
        let block = render_input("1st", &discovery(format, vec![column("COL_0", SqlType::Double, None)]));
        assert_eq!(
            block,
            "input:\n  stream: \"1st\"\n  name_prefix: SOURCE_SQL_STREAM\n  format: csv\n  column_delimiter: \"\\t\"\n  \
             row_delimiter: \"\\r\\n\"\n  columns:\n    - {name: COL_0, type: DOUBLE}\n"
        );
        assert_eq!(quoted("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }
}
