//! `sluice graph` shows what a join reads besides its pump's source: the other in-app stream of a stream-stream
//! join, and the reference table of a stream-table join (a node of its own), each with a `join` edge to the pump.

use std::process::{Command, Output};

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).output().expect("sluice runs")
}

fn stdout(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.trim() == line)
}

#[test]
fn a_stream_stream_join_draws_its_right_stream_into_the_pump() {
    let text = stdout(&sluice(&["graph", "tests/joins/stream_to_stream.yaml"]));
    let app = "application_market_app";
    for line in [
        // The pump's source, as before, and the join's right side.
        format!("{app}_stream_ORDERSTREAM --> {app}_pump_MATCH_PUMP"),
        format!(r#"{app}_stream_TRADESTREAM -->|"join"| {app}_pump_MATCH_PUMP"#),
        format!(r#"{app}_stream_TRADESTREAM -->|"join"| {app}_pump_FULL_PUMP"#),
    ] {
        assert!(has_line(&text, &line), "{line} in:\n{text}");
    }
    // TRADES_PUMP fills TRADESTREAM and joins nothing.
    assert!(!text.lines().any(|l| l.trim().ends_with(&format!(r#"-->|"join"| {app}_pump_TRADES"#))), "{text}");
    assert_eq!(text.matches("-->|\"join\"|").count(), 7, "one join edge per joining pump: {text}");
}

#[test]
fn a_stream_table_join_draws_the_reference_table() {
    let mermaid = stdout(&sluice(&["graph", "tests/joins/reference_company.yaml"]));
    let app = "application_tickers_app";
    assert!(
        has_line(&mermaid, &format!(r#"{app}_table_CompanyName(["CompanyName<br/>reference data"])"#)),
        "{mermaid}"
    );
    assert!(has_line(&mermaid, &format!(r#"{app}_table_CompanyName -->|"join"| {app}_pump_STREAM_PUMP"#)), "{mermaid}");
    let dot = stdout(&sluice(&["graph", "tests/joins/reference_company.yaml", "-f", "dot"]));
    assert!(has_line(&dot, &format!(r#"{app}_table_CompanyName -> {app}_pump_STREAM_PUMP [label="join"];"#)), "{dot}");
}

#[test]
fn a_subquery_on_the_right_is_drawn_as_the_stream_it_runs_as() {
    let text = stdout(&sluice(&["graph", "tests/joins/subquery_right.yaml"]));
    let app = "application_market_app";
    for line in [
        format!(r#"{app}_stream_MATCH_PUMP_JOIN1(["MATCH_PUMP$JOIN1"])"#),
        format!("{app}_stream_SOURCE_SQL_STREAM_001 --> {app}_pump_MATCH_PUMP_JOIN1"),
        format!(r#"{app}_stream_MATCH_PUMP_JOIN1 -->|"join"| {app}_pump_MATCH_PUMP"#),
        format!("{app}_stream_TRADESTREAM --> {app}_pump_MATCH_PUMP"),
    ] {
        assert!(has_line(&text, &line), "{line} in:\n{text}");
    }
}
