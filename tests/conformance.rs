//! The KDA conformance suite: `tests/conformance/*.yaml` are pipelines whose `tests:` blocks replay the
//! documentation's examples (see `tests/conformance/PENDING.md` for those not in it yet). They run through the CLI,
//! exactly as a user runs them: `sluice validate` must find every file valid, and `sluice test` must pass them all.

use std::process::{Command, Output};

const SUITE: &str = "tests/conformance";

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).output().expect("sluice runs")
}

/// Both streams of a run, for a failure message.
fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn every_conformance_pipeline_is_valid() {
    let output = sluice(&["validate", SUITE]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
}

#[test]
fn every_conformance_test_passes() {
    let output = sluice(&["test", SUITE]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.lines().find(|l| l.starts_with("test result:")).unwrap_or_default().to_owned();
    assert!(summary.starts_with("test result: ok.") && summary.contains(" 0 failed, 0 invalid"), "{}", shown(&output));
    // Every file of the suite ran tests.
    let files: Vec<String> = std::fs::read_dir(SUITE)
        .expect("the suite's folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(!files.is_empty(), "no pipelines in {SUITE}");
    for name in files {
        assert!(stdout.contains(&format!("test {name}: ")), "no test ran from {name}\n{}", shown(&output));
    }
}
