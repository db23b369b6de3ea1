//! `sluice test` as a user drives it: the seed pipeline's tests pass, a wrong expectation fails with a diff
//! naming the column, and a test naming an unknown stream is a validation error at its line and column.

use std::path::Path;
use std::process::{Command, Output};

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).output().expect("sluice runs")
}

/// A temporary copy of the seed pipeline (and its SQL), with `edit` applied to the YAML.
fn seed_copy(dir: &Path, edit: impl Fn(&str) -> String) -> String {
    let yaml = std::fs::read_to_string("pipelines/site-metrics.yaml").expect("seed pipeline");
    std::fs::copy("pipelines/site-metrics.sql", dir.join("site-metrics.sql")).expect("copy the SQL");
    let path = dir.join("site-metrics.yaml");
    std::fs::write(&path, edit(&yaml)).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

#[test]
fn the_seed_pipelines_tests_pass() {
    let output = sluice(&["test", "pipelines/"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("splits the metrics field ... ok"), "{stdout}");
}

#[test]
fn a_wrong_expectation_fails_with_a_diff_naming_the_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = seed_copy(dir.path(), |yaml| {
        let row = r#"- {timestamp: "2020-07-01 12:00:00", requests: "57","#;
        assert!(yaml.contains(row), "the seed expects the tutorial's first row");
        yaml.replacen(row, r#"- {timestamp: "2020-07-01 12:00:00", requests: "58","#, 1)
    });
    let output = sluice(&["test", &path]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("splits the metrics field ... FAILED"), "{stdout}");
    assert!(stdout.contains(r#"row 1: column `requests` differs: expected "58", actual "57""#), "{stdout}");
    assert!(stdout.contains(&format!("{path}:")), "the failure points into the file: {stdout}");
}

#[test]
fn a_test_naming_an_unknown_stream_is_a_validation_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = seed_copy(dir.path(), |yaml| {
        yaml.replacen("      - stream: metrics_stream\n", "      - stream: metrics_streem\n", 1)
    });
    let line = std::fs::read_to_string(&path)
        .expect("read")
        .lines()
        .position(|l| l == "      - stream: metrics_streem")
        .expect("edited")
        + 1;
    let headline = format!("{path}:{line}:17: error[dangling-reference]: no stream named `metrics_streem`");
    for command in ["validate", "test"] {
        let output = sluice(&[command, &path]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
        assert!(stderr.lines().any(|l| l == headline), "{command}: {stderr}");
        assert!(stderr.contains("did you mean `metrics_stream`?"), "{command}: {stderr}");
    }
}

#[test]
fn an_expected_in_app_stream_the_sql_does_not_create_fails_the_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = seed_copy(dir.path(), |yaml| {
        yaml.replacen("      - stream: DESTINATION_SQL_STREAM\n", "      - stream: DESTINATION_STREAM\n", 1)
    });
    let output = sluice(&["test", &path]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("no application has an in-app stream `DESTINATION_STREAM`"), "{stdout}");
}
