//! `sluice discover` as a user drives it: sample a file or a stream, paste the printed block into a pipeline,
//! and `sluice validate` (and `sluice run`) accept it; every failure is a clear message naming its file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn sluice(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("sluice runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `sluice discover` and returns the block it printed; it must succeed.
fn discover(args: &[&str], dir: &Path) -> String {
    let mut all = vec!["discover"];
    all.extend_from_slice(args);
    let output = sluice(&all, dir);
    assert!(output.status.success(), "discover {args:?} failed: {}", text(&output.stderr));
    text(&output.stdout)
}

/// Runs `sluice discover` that must fail with `code`; returns its stderr.
fn discover_fails(args: &[&str], dir: &Path, code: i32) -> String {
    let mut all = vec!["discover"];
    all.extend_from_slice(args);
    let output = sluice(&all, dir);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "discover {args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "nothing printed on failure");
    assert!(stderr.starts_with("error: ") && !stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A pipeline whose sql application takes `block` (the printed `input:` block) as its input.
fn pipeline_with(block: &str, head: &str, sql: &str) -> String {
    let input: String = block.lines().map(|line| format!("    {line}\n")).collect();
    let code: String = sql.lines().map(|line| format!("      {line}\n")).collect();
    format!(
        "{head}applications:\n  app:\n    type: sql\n{input}    code: |\n{code}    outputs:\n      \
         - {{stream: OUT, destination: out}}\ndestinations:\n  out: {{type: stdout}}\n"
    )
}

fn validate(dir: &Path, pipeline: &str) -> PathBuf {
    let path = dir.join("pipeline.yaml");
    std::fs::write(&path, pipeline).expect("write the pipeline");
    let output = sluice(&["validate", path.to_str().expect("utf-8")], dir);
    assert!(output.status.success(), "the pasted block validates:\n{pipeline}\n{}", text(&output.stderr));
    path
}

const ORDERS: &str = r#"{"id": 1, "timestamp": "2020-07-01T00:00:00.000", "user": {"name": "ann"}, "price": 9.5, "paid": true}
{"id": 2, "timestamp": "2020-07-01 00:00:10", "user": {"name": "bobby"}, "price": 10, "paid": false}
{"id": 3, "timestamp": "2020-07-01 00:00:20.5", "user": {"name": "cy"}, "price": 0.25}
"#;

#[test]
fn an_ndjson_sample_gives_a_block_that_validates_and_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("orders.ndjson"), ORDERS).expect("write");
    let block = discover(&["--file", "orders.ndjson"], dir.path());
    assert_eq!(
        block,
        "input:\n  stream: orders\n  name_prefix: SOURCE_SQL_STREAM\n  format: json\n  columns:\n\
         \x20   - {name: id, type: INTEGER, path: $.id}\n\
         \x20   - {name: COL_timestamp, type: TIMESTAMP, path: $.timestamp}\n\
         \x20   - {name: name, type: VARCHAR(8), path: $.user.name}\n\
         \x20   - {name: price, type: DOUBLE, path: $.price}\n\
         \x20   - {name: paid, type: BOOLEAN, path: $.paid}\n"
    );
    let head = "name: orders\nproducers:\n  in: {type: file, stream: orders, path: orders.ndjson, format: lines}\n\
                streams:\n  orders: {type: embedded}\n";
    let sql = "CREATE OR REPLACE STREAM \"OUT\" (\"id\" INTEGER, \"at\" TIMESTAMP, \"who\" VARCHAR(8), \"paid\" BOOLEAN);\n\
               CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n\
               SELECT STREAM \"id\", \"COL_timestamp\", \"name\", \"paid\" FROM \"SOURCE_SQL_STREAM_001\" WHERE \"price\" > 1;";
    let path = validate(dir.path(), &pipeline_with(&block, head, sql));
    let run = sluice(&["run", "--quiet", path.to_str().expect("utf-8")], dir.path());
    assert!(run.status.success(), "{}", text(&run.stderr));
    let rows = text(&run.stdout);
    assert!(rows.contains(r#""id":1"#) && rows.contains(r#""who":"bobby""#), "{rows}");
    assert_eq!(rows.lines().count(), 2, "every record mapped, `price > 1` kept two: {rows}");
}

#[test]
fn a_csv_sample_with_a_header_gives_a_block_that_validates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = "year,month,state,units,consumption\r\n2001,1,AK,ShortTons,47615\r\n2001,2,AL,ShortTons,3020601\r\n";
    std::fs::write(dir.path().join("energy.csv"), csv).expect("write");
    let output = sluice(&["discover", "--file", "energy.csv"], dir.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let block = text(&output.stdout);
    assert_eq!(
        block,
        "input:\n  stream: energy\n  name_prefix: SOURCE_SQL_STREAM\n  format: csv\n  column_delimiter: \",\"\n  \
         row_delimiter: \"\\r\\n\"\n  columns:\n    - {name: COL_year, type: INTEGER}\n    \
         - {name: COL_month, type: INTEGER}\n    - {name: state, type: VARCHAR(4)}\n    \
         - {name: units, type: VARCHAR(16)}\n    - {name: consumption, type: INTEGER}\n"
    );
    assert!(text(&output.stderr).contains("taken for a header"), "the header is pointed out");
    let head = "name: energy\nstreams:\n  energy: {type: embedded}\n";
    let sql = "CREATE OR REPLACE STREAM \"OUT\" (\"y\" INTEGER, \"total\" INTEGER);\n\
               CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n\
               SELECT STREAM \"COL_year\", \"consumption\" FROM \"SOURCE_SQL_STREAM_001\";";
    validate(dir.path(), &pipeline_with(&block, head, sql));

    // Other delimiters, given as escapes; no header: the columns are numbered.
    std::fs::write(dir.path().join("tabs.tsv"), "a\t1.5\nbb\t2\n").expect("write");
    let block = discover(&["--file", "tabs.tsv", "--column-delimiter", "\\t"], dir.path());
    assert!(block.contains("  column_delimiter: \"\\t\"\n  row_delimiter: \"\\n\"\n"), "{block}");
    assert!(block.contains("{name: COL_0, type: VARCHAR(4)}\n    - {name: COL_1, type: DOUBLE}"), "{block}");
    let head = "name: tabs\nstreams:\n  tabs: {type: embedded}\n";
    let sql = "CREATE OR REPLACE STREAM \"OUT\" (\"v\" DOUBLE);\n\
               CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\" SELECT STREAM \"COL_1\" FROM \"SOURCE_SQL_STREAM_001\";";
    validate(dir.path(), &pipeline_with(&block, head, sql));
}

#[test]
fn names_follow_kdas_rules_and_still_validate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = r#"{"user": "u", "USER@DOMAIN": "d", "@@": 1, "1st": 2, "a b": 3, "Year": 2020, "it's": "x",
        "tags": ["a", "b"], "items": [{"sku": "k1"}], "a": {"id": 1}, "b": {"id": 2}}"#;
    std::fs::write(dir.path().join("odd.json"), format!("[{}]", record.replace('\n', " "))).expect("write");
    let block = discover(&["--file", "odd.json", "--format", "json"], dir.path());
    for expected in [
        "{name: COL_user, type: VARCHAR(4), path: $.user}",
        "{name: COL_USERDOMAIN, type: VARCHAR(4), path: \"$['USER@DOMAIN']\"}",
        "{name: COL_2, type: INTEGER, path: \"$['@@']\"}",
        "{name: COL_1st, type: INTEGER, path: $.1st}",
        "{name: COL_ab, type: INTEGER, path: \"$['a b']\"}",
        "{name: COL_Year, type: INTEGER, path: $.Year}",
        "{name: COL_its, type: VARCHAR(4), path: \"$['it\\\\'s']\"}",
        "{name: tags, type: VARCHAR(16), path: \"$.tags[0:]\"}",
        "{name: sku, type: VARCHAR(4), path: \"$.items[0:].sku\"}",
        "{name: id, type: INTEGER, path: $.a.id}",
        "{name: b_id, type: INTEGER, path: $.b.id}",
    ] {
        assert!(block.contains(expected), "{expected} in\n{block}");
    }
    let head = "name: odd\nstreams:\n  odd: {type: embedded}\n";
    let sql = "CREATE OR REPLACE STREAM \"OUT\" (\"u\" VARCHAR(4), \"s\" VARCHAR(4), \"n\" INTEGER);\n\
               CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\"\n\
               SELECT STREAM \"COL_user\", \"sku\", \"b_id\" FROM \"SOURCE_SQL_STREAM_001\";";
    validate(dir.path(), &pipeline_with(&block, head, sql));
}

const GENERATED: &str = "name: gen\nproducers:\n  gen:\n    type: datagen\n    stream: metrics\n    rate: 200\n    \
    record:\n      timestamp: \"{{now}}\"\n      requests: \"{{int 1 100}}\"\n      kind: \"{{choice a bb ccc}}\"\n\
    streams:\n  metrics: {type: embedded, shards: 2}\n  elsewhere: {type: kinesis}\n\
    destinations:\n  sink: {type: stdout, source: metrics}\n";

fn expected_stream_columns(block: &str) {
    assert!(block.starts_with("input:\n  stream: metrics\n"), "{block}");
    for expected in [
        "{name: COL_timestamp, type: TIMESTAMP, path: $.timestamp}",
        "{name: requests, type: INTEGER, path: $.requests}",
        "{name: kind, type: VARCHAR(4), path: $.kind}",
    ] {
        assert!(block.contains(expected), "{expected} in\n{block}");
    }
}

#[test]
fn a_stream_is_sampled_from_its_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `elsewhere` is only there for the error test below; this pipeline is never validated.
    let path = dir.path().join("gen.yaml");
    std::fs::write(&path, GENERATED.replace("  elsewhere: {type: kinesis}\n", "")).expect("write");
    let data = dir.path().join("data");
    let run = sluice(&["run", "gen.yaml", "--records", "30", "--quiet", "--data-dir", "data"], dir.path());
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(!dir.path().join(".sluice").exists(), "--data-dir was used");

    let block = discover(&["--stream", "metrics", "gen.yaml", "--data-dir", data.to_str().expect("utf-8")], dir.path());
    expected_stream_columns(&block);
    let output =
        sluice(&["discover", "--stream", "metrics", "gen.yaml", "--data-dir", "data", "--limit", "5"], dir.path());
    assert!(text(&output.stderr).contains("from 5 JSON records of stream `metrics`"), "{}", text(&output.stderr));

    // Pasted into the same pipeline, reading the stream it sampled.
    let head = GENERATED.split("streams:").next().expect("head").to_owned()
        + "streams:\n  metrics: {type: embedded, shards: 2}\n";
    let sql = "CREATE OR REPLACE STREAM \"OUT\" (\"n\" INTEGER);\n\
               CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\" SELECT STREAM \"requests\" FROM \"SOURCE_SQL_STREAM_001\";";
    let pipeline = pipeline_with(&block, &head, sql)
        .replace("  out: {type: stdout}\n", "  out: {type: stdout}\n  sink: {type: stdout, source: metrics}\n");
    validate(dir.path(), &pipeline);
}

#[test]
fn a_running_pipeline_is_sampled_without_being_disturbed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("gen.yaml"), GENERATED.replace("  elsewhere: {type: kinesis}\n", ""))
        .expect("write");
    // The default data directory: `.sluice/gen/` beside the pipeline file. A bounded run, never an endless one.
    let mut running = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "gen.yaml", "--duration", "6s", "--quiet"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the run");
    let started = Instant::now();
    let mut sampled = None;
    while started.elapsed() < Duration::from_secs(5) {
        let output = sluice(&["discover", "--stream", "metrics", "gen.yaml"], dir.path());
        let still_running = running.try_wait().expect("poll the run").is_none();
        if output.status.success() && still_running {
            sampled = Some(text(&output.stdout));
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let finished = running.wait_with_output().expect("the run ends after its duration");
    assert!(finished.status.success(), "the run was not disturbed: {}", text(&finished.stderr));
    expected_stream_columns(&sampled.expect("discover read the stream while the run held the data directory"));
}

#[test]
fn every_failure_is_a_message_naming_its_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = dir.path();
    std::fs::write(at.join("gen.yaml"), GENERATED).expect("write");
    std::fs::write(at.join("empty.ndjson"), "\n  \n").expect("write");
    std::fs::write(at.join("garbage.json"), "not json\n{broken\n").expect("write");
    std::fs::write(at.join("array.json"), "[]").expect("write");

    let missing = discover_fails(&["--file", "missing.ndjson"], at, 2);
    assert!(missing.starts_with("error: missing.ndjson: cannot read it:"), "{missing}");
    let empty = discover_fails(&["--file", "empty.ndjson"], at, 1);
    assert!(empty.starts_with("error: empty.ndjson: the file is empty"), "{empty}");
    let garbage = discover_fails(&["--file", "garbage.json"], at, 1);
    assert!(
        garbage.starts_with("error: garbage.json: no record could be read as JSON objects (2 tried; line 1: not JSON:"),
        "{garbage}"
    );
    let none = discover_fails(&["--file", "array.json"], at, 1);
    assert!(none.starts_with("error: array.json: there are no records"), "{none}");
    let unknown = discover_fails(&["--stream", "metric", "gen.yaml"], at, 1);
    assert!(
        unknown.starts_with("error: gen.yaml: the pipeline declares no stream `metric` (did you mean `metrics`?)"),
        "{unknown}"
    );
    let kinesis = discover_fails(&["--stream", "elsewhere", "gen.yaml"], at, 1);
    // A Kinesis stream is sampled from Kinesis (tests/aws_kinesis.rs); with no region or endpoint here, it says why not.
    assert!(kinesis.starts_with("error: gen.yaml: stream `elsewhere` (kinesis): "), "{kinesis}");
    let never_ran = discover_fails(&["--stream", "metrics", "gen.yaml"], at, 1);
    assert!(never_ran.starts_with("error: gen.yaml: stream `metrics` has no data in "), "{never_ran}");
    assert!(never_ran.contains("sluice run gen.yaml"), "{never_ran}");
    let no_pipeline = discover_fails(&["--stream", "metrics", "nope.yaml"], at, 2);
    assert!(no_pipeline.starts_with("error: nope.yaml: cannot read it:"), "{no_pipeline}");
    let not_yaml = discover_fails(&["--stream", "metrics", "garbage.json"], at, 1);
    assert!(not_yaml.starts_with("error: garbage.json:"), "{not_yaml}");
    let json_delimiter =
        discover_fails(&["--file", "garbage.json", "--format", "json", "--column-delimiter", ";"], at, 2);
    assert!(json_delimiter.contains("are for CSV"), "{json_delimiter}");
    let bad_delimiters = discover_fails(&["--file", "garbage.json", "--format", "csv", "--row-delimiter", ","], at, 1);
    assert!(
        bad_delimiters.starts_with("error: garbage.json: CSV input: the column and row delimiters must differ"),
        "{bad_delimiters}"
    );
    // Neither source, or both: clap's usage error.
    assert_eq!(sluice(&["discover"], at).status.code(), Some(2));
    assert_eq!(sluice(&["discover", "--file", "a", "--stream", "s", "gen.yaml"], at).status.code(), Some(2));
}
