//! `sluice test`: each pipeline file's `tests:` run against its `sql` applications in memory.
//!
//! Per test: the records of each input stream, sorted by `at`, go through every application reading that
//! stream (ROWTIME, APPROXIMATE_ARRIVAL_TIME and CURRENT_ROW_TIMESTAMP = `at`; CURRENT_TIMESTAMP and the other
//! query-start clocks = the first record's `at`; SHARD_ID = the shard the record's `partition_key` routes to in
//! the stream's `shards`, by the embedded stream's MD5 rule, shard 0 without a key); then each expectation is
//! compared with the rows an in-app stream got, or the records a destination would have received. No producer
//! starts, nothing touches the network, no bucket is written.
//!
//! The virtual clock moves to each record's `at` before the record goes in, closing the GROUP BY windows that
//! end by then; after the last record it moves on until every window has closed, so a test sees every window's
//! row, each with ROWTIME = its window's end (the harness, `plugins/src/applications/sql/harness.rs`).
//!
//! The binary reaches the `sql` plugin's harness directly: the core's registry has no test hook yet.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value};
use sluice_core::embedded::shard_for_key;
use sluice_core::interpolate::resolve_value;
use sluice_core::spec::{PipelineTest, TestExpectation};
use sluice_core::validate::{self, Report, ValidateOptions};
use sluice_core::yaml;
use sluice_plugins::applications::sql::SqlConfig;
use sluice_plugins::applications::sql::harness::{Captured, Harness, Kind, TestInputRecord, cell_matches};

/// Runs the tests of every pipeline file under `paths` (default `pipelines/`): 0 all pass, 1 a test fails or
/// a file is invalid, 2 usage or I/O error.
pub fn test_command(paths: Vec<PathBuf>) -> ExitCode {
    let paths = if paths.is_empty() { vec![PathBuf::from("pipelines")] } else { paths };
    let files = match validate::discover(&paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut totals = Totals::default();
    for file in &files {
        if let Err(code) = test_file(file, &mut totals) {
            return code;
        }
    }
    let summary = format!("{} passed, {} failed, {} invalid file(s)", totals.passed, totals.failed, totals.invalid);
    if totals.failed == 0 && totals.invalid == 0 {
        println!("test result: ok. {summary}");
        ExitCode::SUCCESS
    } else {
        println!("test result: FAILED. {summary}");
        ExitCode::from(1)
    }
}

#[derive(Default)]
struct Totals {
    passed: usize,
    failed: usize,
    invalid: usize,
}

/// One application ready for tests.
struct App {
    name: String,
    harness: Harness,
}

fn test_file(file: &Path, totals: &mut Totals) -> Result<(), ExitCode> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| {
        eprintln!("error: {name}: {e}");
        ExitCode::from(2)
    })?;
    let source = String::from_utf8_lossy(&bytes).into_owned();
    let (diagnostics, validated) = validate::check_source(&name, file, &bytes, ValidateOptions::default());
    let report = Report { files: 1, diagnostics, sources: [(name.clone(), source.clone())].into() };
    let Some(validated) = validated else {
        eprint!("{}", report.render());
        totals.invalid += 1;
        return Ok(());
    };
    // Validation passed, so the document loads; it is loaded again only for positions.
    let Ok(doc) = yaml::load(&bytes) else { return Ok(()) };
    let mut value = validated.value.clone();
    if resolve_value(&mut value, &|var| std::env::var(var).ok()).is_err() {
        value = validated.value.clone(); // An unset variable outside the SQL does not matter to a test.
    }
    let tests: Vec<PipelineTest> =
        value.get("tests").cloned().map(serde_json::from_value).transpose().ok().flatten().unwrap_or_default();
    if tests.is_empty() {
        return Ok(());
    }
    let base_dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut apps = Vec::new();
    for (app, entry) in value.get("applications").and_then(Value::as_object).into_iter().flatten() {
        let Some(mut config) = entry.as_object().cloned() else { continue };
        if config.remove("type").as_ref().and_then(Value::as_str) != Some("sql") {
            continue;
        }
        let harness = serde_json::from_value::<SqlConfig>(Value::Object(config))
            .map_err(|e| e.to_string())
            .and_then(|config| config.test_harness(base_dir));
        match harness {
            Ok(harness) => apps.push(App { name: app.clone(), harness }),
            Err(e) => {
                eprintln!("error: {name}: application `{app}`: {e}");
                totals.invalid += 1;
                return Ok(());
            }
        }
    }
    // Each stream's shard count, to route test records by partition key as the stream would.
    let shards: BTreeMap<&str, u32> = value
        .get("streams")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(stream, entry)| {
            let count = entry.get("shards").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
            (stream.as_str(), count.unwrap_or(1))
        })
        .collect();
    for (t, test) in tests.iter().enumerate() {
        let failures = run_test(test, &apps, &shards);
        if failures.is_empty() {
            println!("test {name}: {} ... ok", test.name);
            totals.passed += 1;
        } else {
            println!("test {name}: {} ... FAILED", test.name);
            for failure in failures {
                let pointer = match failure.expectation {
                    Some(e) => format!("/tests/{t}/expect/{e}{}", failure.field),
                    None => format!("/tests/{t}{}", failure.field),
                };
                let position = doc.positions.value(&pointer);
                println!("  {name}:{}:{}: {}", position.line, position.column, failure.message.trim_end());
            }
            totals.failed += 1;
        }
    }
    Ok(())
}

/// A failed expectation: its index (None: the test itself, e.g. its `reference`), the field to point at, and
/// what differs.
struct Failure {
    expectation: Option<usize>,
    field: String,
    message: String,
}

fn run_test(test: &PipelineTest, apps: &[App], shards: &BTreeMap<&str, u32>) -> Vec<Failure> {
    let mut by_stream: BTreeMap<&str, Vec<TestInputRecord>> = BTreeMap::new();
    for input in &test.input {
        let count = shards.get(input.stream.as_str()).copied().unwrap_or(1);
        let records = by_stream.entry(input.stream.as_str()).or_default();
        for record in &input.records {
            let shard = record.partition_key.as_deref().map_or(0, |key| shard_for_key(key, count));
            records.push(TestInputRecord {
                at_ms: record.at_ms().unwrap_or_default(),
                shard: Some(shard),
                data: record.bytes(),
            });
        }
    }
    for records in by_stream.values_mut() {
        records.sort_by_key(|r| r.at_ms); // Stable: records at the same time keep their order.
    }
    // The test's inline reference rows go to the application whose reference table has that name.
    let mut failures = Vec::new();
    if let Some(reference) = &test.reference
        && !apps.iter().any(|app| app.harness.reference_table() == Some(reference.table.as_str()))
    {
        let tables: Vec<&str> = apps.iter().filter_map(|app| app.harness.reference_table()).collect();
        let message = format!(
            "no application has a reference table `{}` (reference tables: {})",
            reference.table,
            if tables.is_empty() { "none".to_owned() } else { tables.join(", ") }
        );
        failures.push(Failure { expectation: None, field: "/reference/table".into(), message });
        return failures;
    }
    let mut captured: Vec<(&App, Captured)> = Vec::new();
    for app in apps {
        let records = by_stream.get(app.harness.input_stream.as_str()).map_or(&[][..], Vec::as_slice);
        let inline = test.reference.as_ref().filter(|r| app.harness.reference_table() == Some(r.table.as_str()));
        let table = match inline.map(|r| app.harness.reference_rows(&r.rows)).transpose() {
            Ok(table) => table,
            Err(message) => {
                failures.push(Failure { expectation: None, field: "/reference/rows".into(), message });
                return failures;
            }
        };
        if table.is_none()
            && !records.is_empty()
            && let Some(message) = app.harness.needs_inline_reference()
        {
            failures.push(Failure { expectation: None, field: String::new(), message });
            return failures;
        }
        captured.push((app, app.harness.run_with(records, table)));
    }
    for (e, expect) in test.expect.iter().enumerate() {
        if let Err((field, message)) = check_expectation(expect, &captured) {
            failures.push(Failure { expectation: Some(e), field, message });
        }
    }
    failures
}

/// Rows to compare: JSON objects and their columns' kinds (None: plain strings).
struct Actual {
    what: String,
    rows: Vec<Value>,
    kinds: BTreeMap<String, Kind>,
}

fn check_expectation(expect: &TestExpectation, captured: &[(&App, Captured)]) -> Result<(), (String, String)> {
    let in_scope = |app: &App| expect.application.as_ref().is_none_or(|a| *a == app.name);
    let (actual, expected) = if let Some(stream) = &expect.stream {
        let matching: Vec<_> =
            captured.iter().filter(|(app, c)| in_scope(app) && c.streams.contains_key(stream)).collect();
        let (app, found) = match matching.as_slice() {
            [] => return Err(("/stream".into(), format!("no application has an in-app stream `{stream}`"))),
            [one] => *one,
            several => {
                let names: Vec<&str> = several.iter().map(|(a, _)| a.name.as_str()).collect();
                return Err((
                    "/stream".into(),
                    format!(
                        "in-app stream `{stream}` is in several applications ({}): add `application:`",
                        names.join(", ")
                    ),
                ));
            }
        };
        let table = &found.streams[stream];
        let actual = Actual {
            what: format!("{stream} (application `{}`)", app.name),
            rows: table.rows.iter().cloned().map(Value::Object).collect(),
            kinds: table.columns.iter().cloned().collect(),
        };
        let expected: Vec<Value> = expect.rows.iter().flatten().cloned().map(Value::Object).collect();
        (actual, expected)
    } else if let Some(destination) = &expect.destination {
        let mut actual =
            Actual { what: format!("destination {destination}"), rows: Vec::new(), kinds: BTreeMap::new() };
        for (_, found) in captured.iter().filter(|(app, _)| in_scope(app)) {
            for record in found.destinations.get(destination).into_iter().flatten() {
                match &record.json {
                    Some((object, kinds)) => {
                        actual.kinds.extend(kinds.iter().cloned());
                        actual.rows.push(Value::Object(object.clone()));
                    }
                    None => actual.rows.push(Value::String(record.text.clone())),
                }
            }
        }
        (actual, expect.records.clone().unwrap_or_default())
    } else {
        return Ok(()); // Validation refuses it.
    };
    compare(&actual, &expected, expect.unordered).map_err(|(row, message)| {
        let field = match (row, expect.stream.is_some()) {
            (Some(i), true) => format!("/rows/{i}"),
            (Some(i), false) => format!("/records/{i}"),
            (None, true) => "/stream".into(),
            (None, false) => "/destination".into(),
        };
        (field, message)
    })
}

/// Whether `expected` matches `actual`: for objects, only the listed columns.
fn row_matches(kinds: &BTreeMap<String, Kind>, expected: &Value, actual: &Value) -> bool {
    mismatch(kinds, expected, actual).is_none()
}

/// The first difference: the column (None: the whole row) and what differs.
fn mismatch(kinds: &BTreeMap<String, Kind>, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (column, want) in expected {
                let Some(got) = actual.get(column) else {
                    let known: Vec<&str> = actual.keys().map(String::as_str).collect();
                    return Some(format!("no column `{column}` (columns: {})", known.join(", ")));
                };
                let kind = kinds.get(column).copied().unwrap_or(Kind::Other);
                if !cell_matches(kind, want, got) {
                    return Some(format!("column `{column}` differs: expected {want}, actual {got}"));
                }
            }
            None
        }
        (expected, actual) if expected == actual => None,
        (expected, actual) => Some(format!("expected {expected}, actual {actual}")),
    }
}

/// Compares rows; on a difference, the first expected row that differs (to point at) and the diff.
fn compare(actual: &Actual, expected: &[Value], unordered: bool) -> Result<(), (Option<usize>, String)> {
    let mut problems = Vec::new();
    let mut first: Option<usize> = None;
    if unordered {
        let mut unmatched: Vec<Option<&Value>> = actual.rows.iter().map(Some).collect();
        for (i, want) in expected.iter().enumerate() {
            let found = unmatched.iter_mut().find(|a| a.is_some_and(|a| row_matches(&actual.kinds, want, a)));
            match found {
                Some(slot) => *slot = None,
                None => {
                    first = first.or(Some(i));
                    problems.push(format!("expected row {} has no match: {want}", i + 1));
                }
            }
        }
        for extra in unmatched.into_iter().flatten() {
            problems.push(format!("unexpected row: {extra}"));
        }
    } else {
        for (i, (want, got)) in expected.iter().zip(&actual.rows).enumerate() {
            if let Some(difference) = mismatch(&actual.kinds, want, got) {
                first = first.or(Some(i));
                problems.push(format!("row {}: {difference}", i + 1));
            }
        }
        if expected.len() != actual.rows.len() {
            problems.push(format!("expected {} row(s), got {}", expected.len(), actual.rows.len()));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut out = format!("{}:\n", actual.what);
    for problem in &problems {
        let _ = writeln!(out, "    {problem}");
    }
    let _ = writeln!(out, "    expected rows:");
    for row in expected {
        let _ = writeln!(out, "      {row}");
    }
    let _ = writeln!(out, "    actual rows:");
    for row in &actual.rows {
        let _ = writeln!(out, "      {}", shown(row, expected));
    }
    Err((first, out))
}

/// An actual row as shown in a diff: only the columns the expectation lists, when it lists any.
fn shown(row: &Value, expected: &[Value]) -> Value {
    let listed: Vec<&String> = expected.iter().filter_map(Value::as_object).flat_map(Map::keys).collect();
    match row {
        Value::Object(object) if !listed.is_empty() => Value::Object(
            object.iter().filter(|(k, _)| listed.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        other => other.clone(),
    }
}
