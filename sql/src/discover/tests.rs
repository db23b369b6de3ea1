//! Discovery end to end: sample records in, a checked mapping out.

use super::*;
use crate::value::Value;

fn sample(records: &[&'static str]) -> Vec<SampleRecord<'static>> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| SampleRecord { data: r.as_bytes(), place: format!("line {}", i + 1) })
        .collect()
}

fn shown(discovery: &Discovery) -> Vec<String> {
    let column = |c: &InputColumn| format!("{} {} {}", c.name, c.sql_type, c.path.as_deref().unwrap_or("-"));
    discovery.columns.iter().map(column).collect()
}

#[test]
fn the_seed_record_is_discovered_as_the_seed_pipeline_maps_it() -> Result<(), DiscoverError> {
    let records = sample(&[
        r#"{"timestamp": "2020-07-01T00:00:00.000", "requests_newUsers_newOrders_churnUsers": "82,1,0,2"}"#,
        r#"{"timestamp": "2020-07-01T00:00:10.000", "requests_newUsers_newOrders_churnUsers": "100,10,5,3"}"#,
    ]);
    let found = discover(&records, &FormatChoice::Auto, 100)?;
    assert_eq!(found.format, InputFormat::Json);
    assert_eq!(
        shown(&found),
        [
            "COL_timestamp TIMESTAMP $.timestamp",
            "requests_newUsers_newOrders_churnUsers VARCHAR(16) $.requests_newUsers_newOrders_churnUsers",
        ]
    );
    assert_eq!((found.records, found.rows, found.skipped), (2, 2, 0));
    assert!(found.notes.is_empty(), "{:?}", found.notes);
    Ok(())
}

#[test]
fn the_discovered_mapping_reads_the_sample_it_came_from() -> Result<(), Box<dyn std::error::Error>> {
    let records = sample(&[
        r#"{"id": 1, "user": {"name": "ann", "e-mail": "a@x"}, "items": [{"sku": "a", "qty": 2}, {"sku": "bb"}]}"#,
        r#"{"id": 2.5, "user": {"name": "bob"}, "items": [], "ok": true}"#,
        "not json",
    ]);
    let found = discover(&records, &FormatChoice::Json, 100)?;
    assert_eq!(
        shown(&found),
        [
            "id DOUBLE $.id",
            "name VARCHAR(4) $.user.name",
            "COL_email VARCHAR(4) $.user['e-mail']",
            "sku VARCHAR(4) $.items[0:].sku",
            "qty INTEGER $.items[0:].qty",
            "ok BOOLEAN $.ok",
        ]
    );
    assert_eq!(found.skipped, 1);
    assert!(found.notes.iter().any(|n| n.contains("1 of 3 records skipped") && n.contains("line 3: not JSON")));
    assert!(found.notes.iter().any(|n| n.contains("`$.items[0:]` is flattened")));
    let mapping = InputMapping::new(found.format.clone(), found.columns.clone())?;
    let mut rows = Vec::new();
    mapping.map_record(records[0].data, &mut rows)?;
    assert_eq!(rows.len(), 2, "one row per item");
    assert_eq!(rows[0][2], Value::string("a@x"));
    assert_eq!(rows[1][3], Value::string("bb"));
    Ok(())
}

#[test]
fn auto_reads_csv_when_the_first_record_is_not_an_object() -> Result<(), DiscoverError> {
    let found = discover(&sample(&["1,a\r\n2,b\r\n", "3,c\r\n"]), &FormatChoice::Auto, 100)?;
    assert_eq!(found.format, InputFormat::Csv { column_delimiter: ",".into(), row_delimiter: "\r\n".into() });
    assert_eq!(shown(&found), ["COL_0 INTEGER -", "COL_1 VARCHAR(4) -"]);
    assert_eq!(found.rows, 3);
    let limited = discover(&sample(&["1,a\n2,b\n", "3,c\n"]), &FormatChoice::Auto, 2)?;
    assert_eq!(limited.rows, 2, "the limit counts CSV rows");
    let tabs = FormatChoice::Csv { column_delimiter: Some("\t".into()), row_delimiter: Some("\n".into()) };
    assert_eq!(shown(&discover(&sample(&["x\t1.5"]), &tabs, 100)?), ["COL_0 VARCHAR(4) -", "COL_1 DOUBLE -"]);
    Ok(())
}

#[test]
fn records_without_fields_fall_back_to_one_column() -> Result<(), DiscoverError> {
    let found = discover(&sample(&["{}", "{ }"]), &FormatChoice::Json, 100)?;
    assert_eq!(shown(&found), ["COL_0 VARCHAR(4) $"]);
    Ok(())
}

#[test]
fn failures_say_why() {
    assert_eq!(discover(&[], &FormatChoice::Auto, 100), Err(DiscoverError::NoRecords));
    let error = discover(&sample(&["[1]", "nope"]), &FormatChoice::Json, 100).expect_err("nothing parses");
    assert_eq!(error.to_string(), "no record could be read as JSON objects (2 tried; line 1: not a JSON object)");
    let bad = FormatChoice::Csv { column_delimiter: Some(",".into()), row_delimiter: Some(",".into()) };
    let error = discover(&sample(&["a,b"]), &bad, 100).expect_err("same delimiters");
    assert!(error.to_string().contains("must differ"), "{error}");
    let empty = FormatChoice::Csv { column_delimiter: Some(String::new()), row_delimiter: None };
    assert!(matches!(discover(&sample(&["a"]), &empty, 100), Err(DiscoverError::Delimiters(_))));
    let blank = discover(&sample(&["\n\n"]), &FormatChoice::Csv { column_delimiter: None, row_delimiter: None }, 9);
    assert!(matches!(blank, Err(DiscoverError::NothingParsed { format: "CSV", .. })), "{blank:?}");
}

#[test]
fn a_number_past_double_is_reported() -> Result<(), DiscoverError> {
    let found = discover(&sample(&[r#"{"x": 1.5}"#, r#"{"x": 1e999}"#]), &FormatChoice::Json, 100)?;
    assert!(found.notes.iter().any(|n| n.starts_with("1 sampled records would go to error_stream (line 2:")));
    Ok(())
}
