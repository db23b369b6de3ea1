//! `sluice graph` through the binary: Mermaid, DOT and SVG pictures of the seed pipeline and of a pipeline
//! with several pumps, error_stream and a destination reading a stream directly; errors name the file.

use std::path::Path;
use std::process::{Command, Output};

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).output().expect("sluice runs")
}

/// `@` stands for the seed application's prefix in expected lines, to keep them short.
fn seed_line(line: &str) -> String {
    line.replace('@', "application_metrics_stream_app_")
}

fn stdout(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const SEED: &str = "pipelines/site-metrics.yaml";

#[test]
fn mermaid_shows_the_seed_pipeline_with_its_in_app_streams_and_pump() {
    let text = stdout(&sluice(&["graph", SEED]));
    assert!(text.contains("flowchart LR"), "{text}");
    for node in [
        r#"producer_shop_metrics["shop-metrics<br/>datagen · every 10s"]"#,
        r#"stream_metrics_stream[("metrics_stream<br/>embedded · 1 shard · 24h")]"#,
        r#"subgraph cluster_application_metrics_stream_app["metrics_stream_app (sql)"]"#,
        r#"@stream_SOURCE_SQL_STREAM_001(["SOURCE_SQL_STREAM_001"])"#,
        r#"@pump_SECOND_STREAM_PUMP{{"SECOND_STREAM_PUMP"}}"#,
        r#"@stream_DESTINATION_SQL_STREAM(["DESTINATION_SQL_STREAM"])"#,
        concat!(
            r#"destination_metrics_delivery_stream[/"metrics_delivery_stream<br/>"#,
            r#"s3 · file://./data/site-metrics-bucket<br/>buffer 1MiB or 60s"/]"#
        ),
    ] {
        let node = seed_line(node);
        assert!(text.lines().any(|l| l.trim() == node), "node {node} in:\n{text}");
    }
    for edge in [
        "producer_shop_metrics --> stream_metrics_stream",
        r#"stream_metrics_stream -->|"json"| @stream_SOURCE_SQL_STREAM_001"#,
        "@stream_SOURCE_SQL_STREAM_001 --> @pump_SECOND_STREAM_PUMP",
        "@pump_SECOND_STREAM_PUMP --> @stream_DESTINATION_SQL_STREAM",
        r#"@stream_DESTINATION_SQL_STREAM -->|"json"| destination_metrics_delivery_stream"#,
    ] {
        let edge = seed_line(edge);
        assert!(text.lines().any(|l| l.trim() == edge), "edge {edge} in:\n{text}");
    }
    assert_eq!(text.matches("-->").count(), 5, "no other edge: {text}");
}

#[test]
fn dot_shows_the_seed_pipeline_with_a_cluster_per_application() {
    let text = stdout(&sluice(&["graph", SEED, "--format", "dot"]));
    assert!(text.contains("digraph \"site-metrics\" {") && text.contains("rankdir=LR;"), "{text}");
    assert!(text.contains("subgraph \"cluster_application:metrics_stream_app\" {"), "{text}");
    assert!(text.contains("label=\"metrics_stream_app (sql)\";"), "{text}");
    for line in [
        concat!(
            r#"destination_metrics_delivery_stream [label="metrics_delivery_stream\n"#,
            r#"s3 · file://./data/site-metrics-bucket\nbuffer 1MiB or 60s", shape=folder];"#
        ),
        r#"@pump_SECOND_STREAM_PUMP [label="SECOND_STREAM_PUMP", shape=hexagon];"#,
        "producer_shop_metrics -> stream_metrics_stream;",
        r#"stream_metrics_stream -> @stream_SOURCE_SQL_STREAM_001 [label="json"];"#,
        r#"@stream_DESTINATION_SQL_STREAM -> destination_metrics_delivery_stream [label="json"];"#,
    ] {
        let line = seed_line(line);
        assert!(text.lines().any(|l| l.trim() == line), "{line} in:\n{text}");
    }
    assert!(text.trim_end().ends_with('}'));
}

/// Every text of an SVG document, its lines as `tspan`s joined.
fn svg_texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect::<Vec<_>>().join("\n"))
        .collect()
}

#[test]
fn svg_is_well_formed_and_carries_every_label() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("seed.svg");
    let out = sluice(&["graph", SEED, "-f", "svg", "-o", path.to_str().expect("utf-8")]);
    assert_eq!(stdout(&out), "", "written to the file, not stdout");
    let svg = std::fs::read_to_string(&path).expect("svg written");
    let texts = svg_texts(&svg);
    for label in [
        "shop-metrics\ndatagen · every 10s",
        "metrics_stream\nembedded · 1 shard · 24h",
        "SOURCE_SQL_STREAM_001\n[metrics_stream_app (sql)]",
        "SECOND_STREAM_PUMP\n[metrics_stream_app (sql)]",
        "DESTINATION_SQL_STREAM\n[metrics_stream_app (sql)]",
        "metrics_delivery_stream\ns3 · file://./data/site-metrics-bucket\nbuffer 1MiB or 60s",
        "json",
    ] {
        assert!(texts.iter().any(|t| t == label), "{label:?} in {texts:?}");
    }
    let doc = roxmltree::Document::parse(&svg).expect("parsed");
    let size = |attr| doc.root_element().attribute(attr).and_then(|v| v.parse::<f64>().ok()).expect("size");
    assert!(size("width") > 100.0 && size("width") < 2000.0, "a compact picture: {svg:.200}");
    assert!(size("height") > 100.0 && size("height") < 2000.0, "a compact picture: {svg:.200}");
    // The same pipeline gives the same bytes: `cargo xtask graph --check` relies on it.
    assert_eq!(stdout(&sluice(&["graph", SEED, "-f", "svg"])), svg);
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

const TWO_PUMPS: &str = r#"
name: two-pumps
producers:
  clicks: {type: stdin, stream: events}
streams:
  events: {type: embedded, shards: 2}
applications:
  app:
    type: sql
    input:
      stream: events
      format: csv
      columns:
        - {name: PAGE, type: VARCHAR(64)}
        - {name: MS, type: INTEGER}
    code: |
      CREATE STREAM "SLOW" (page VARCHAR(64), ms INTEGER);
      CREATE STREAM "ALL_PAGES" (page VARCHAR(64));
      CREATE PUMP "SLOW_PUMP" AS INSERT INTO "SLOW" SELECT STREAM page, ms FROM "SOURCE_SQL_STREAM_001" WHERE ms > 1000;
      CREATE PUMP "PAGE_PUMP" AS INSERT INTO "ALL_PAGES" SELECT STREAM page FROM "SOURCE_SQL_STREAM_001";
    outputs:
      - {stream: SLOW, destination: slow, format: csv}
      - {stream: error_stream, destination: errors}
destinations:
  slow: {type: s3, bucket: "file://./slow", buffer: {size: 64MiB, interval: 900s}, compression: gzip}
  errors: {type: stdout}
  raw: {type: s3, bucket: "file://./raw", source: events}
"#;

#[test]
fn several_pumps_error_stream_and_a_direct_destination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "two.yaml", TWO_PUMPS);
    let text = stdout(&sluice(&["graph", &path]));
    for line in [
        r#"application_app_pump_SLOW_PUMP{{"SLOW_PUMP<br/>WHERE"}}"#,
        r#"application_app_pump_PAGE_PUMP{{"PAGE_PUMP"}}"#,
        r#"application_app_stream_ALL_PAGES(["ALL_PAGES"])"#,
        r#"application_app_stream_error_stream(["error_stream<br/>failed rows"])"#,
        r#"destination_slow[/"slow<br/>s3 · file://./slow<br/>buffer 64MiB or 900s<br/>gzip"/]"#,
        r#"destination_raw[/"raw<br/>s3 · file://./raw<br/>buffer 5MiB or 300s"/]"#,
        r#"stream_events[("events<br/>embedded · 2 shards")]"#,
        r#"stream_events -->|"csv"| application_app_stream_SOURCE_SQL_STREAM_001"#,
        "application_app_stream_SOURCE_SQL_STREAM_001 --> application_app_pump_SLOW_PUMP",
        "application_app_pump_SLOW_PUMP --> application_app_stream_SLOW",
        r#"application_app_stream_SLOW -->|"csv"| destination_slow"#,
        r#"application_app_stream_error_stream -->|"json"| destination_errors"#,
        "stream_events --> destination_raw",
        "application_app_stream_SOURCE_SQL_STREAM_001 -.-> application_app_stream_error_stream",
        "application_app_pump_SLOW_PUMP -.-> application_app_stream_error_stream",
        "application_app_pump_PAGE_PUMP -.-> application_app_stream_error_stream",
        "producer_clicks --> stream_events",
    ] {
        assert!(text.lines().any(|l| l.trim() == line), "{line} in:\n{text}");
    }
}

#[test]
fn an_invalid_pipeline_is_reported_naming_the_file() {
    let invalid = sluice(&["graph", "tests/invalid/unknown-key.yaml"]);
    assert_eq!(invalid.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(stderr.starts_with("tests/invalid/unknown-key.yaml:"), "{stderr}");
    assert!(stderr.contains("error[unknown-key]"), "{stderr}");
    assert!(invalid.stdout.is_empty());

    let missing = sluice(&["graph", "no/such/pipeline.yaml", "-f", "svg"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).starts_with("error: no/such/pipeline.yaml: "));

    let bad_format = sluice(&["graph", SEED, "--format", "png"]);
    assert_eq!(bad_format.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_format.stderr).contains("mermaid, dot, svg"));

    let unwritable = sluice(&["graph", SEED, "-o", "no/such/dir/out.mmd"]);
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unwritable.stderr).starts_with("error: no/such/dir/out.mmd: "));
}
