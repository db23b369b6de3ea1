//! The record decoders of an SQL application's input: any record bytes map to rows or fail with an error (that
//! goes to `error_stream`), never a panic, as JSON (with nested JSONPaths) and as CSV.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_sql::input::{InputColumn, InputFormat, InputMapping};
use sluice_sql::types::SqlType;

fn column(name: &str, sql_type: SqlType, path: &str) -> InputColumn {
    InputColumn { name: name.to_owned(), sql_type, path: Some(path.to_owned()) }
}

fn mappings() -> &'static [InputMapping] {
    static MAPPINGS: OnceLock<Vec<InputMapping>> = OnceLock::new();
    MAPPINGS.get_or_init(|| {
        let columns = vec![
            column("id", SqlType::BigInt, "$.id"),
            column("name", SqlType::Varchar(16), "$.user.name"),
            column("price", SqlType::Decimal { precision: 10, scale: 2 }, "$.items[0].price"),
            column("at", SqlType::Timestamp, "$.at"),
            column("ok", SqlType::Boolean, "$.flags.ok"),
            column("ratio", SqlType::Double, "$.ratio"),
        ];
        let csv = InputFormat::Csv { column_delimiter: ",".to_owned(), row_delimiter: "\n".to_owned() };
        let csv_columns = columns.iter().map(|c| InputColumn { path: None, ..c.clone() }).collect();
        vec![
            InputMapping::new(InputFormat::Json, columns).expect("a valid JSON mapping"),
            InputMapping::new(csv, csv_columns).expect("a valid CSV mapping"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    for mapping in mappings() {
        let mut rows = Vec::new();
        let _ = mapping.map_record(data, &mut rows);
    }
});
