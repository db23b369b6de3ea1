//! Running a folder of pipelines through the CLI, as a user does: `sluice validate` must find every file valid,
//! and `sluice test` must pass every test with each file having run at least one. Shared by the suites of
//! `tests/` (`#[macro_use] #[path = "support/suite.rs"] mod suite;`, then `suite_tests!("tests/<folder>");`).

use std::process::{Command, Output};

/// The two tests every suite folder has: its pipelines are valid (`sluice validate`) and their tests pass
/// (`sluice test`).
macro_rules! suite_tests {
    ($dir:expr) => {
        #[test]
        fn every_pipeline_is_valid() {
            suite::assert_valid($dir);
        }

        #[test]
        fn every_test_passes() {
            suite::assert_passes($dir);
        }
    };
}

/// Runs the built `sluice` with `args` (logs at warn, so failures show only what matters).
pub fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice")).args(args).env("RUST_LOG", "warn").output().expect("sluice runs")
}

/// Both streams of a run, for a failure message.
pub fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `sluice validate DIR` succeeds.
pub fn assert_valid(dir: &str) {
    let output = sluice(&["validate", dir]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
}

/// `sluice test DIR` passes, and every `*.yaml` of the folder ran tests.
pub fn assert_passes(dir: &str) {
    let output = sluice(&["test", dir]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.lines().find(|l| l.starts_with("test result:")).unwrap_or_default().to_owned();
    assert!(summary.starts_with("test result: ok.") && summary.contains(" 0 failed, 0 invalid"), "{}", shown(&output));
    let files: Vec<String> = std::fs::read_dir(dir)
        .expect("the suite's folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(!files.is_empty(), "no pipelines in {dir}");
    for name in files {
        assert!(stdout.contains(&format!("test {name}: ")), "no test ran from {name}\n{}", shown(&output));
    }
}

/// `sluice test` on a copy of the suite file `dir/file` in which `text` (which must be there) is replaced by
/// `replacement` fails, and its report contains `message`.
#[allow(dead_code)] // Not every suite edits its files.
pub fn assert_edited_test_fails(dir: &str, file: &str, text: &str, replacement: &str, message: &str) {
    let yaml = std::fs::read_to_string(format!("{dir}/{file}")).expect("the suite's file");
    assert!(yaml.contains(text), "{dir}/{file} no longer contains {text:?}");
    let copy = tempfile::tempdir().expect("tempdir");
    let path = copy.path().join(file);
    std::fs::write(&path, yaml.replacen(text, replacement, 1)).expect("write the edited copy");
    let output = sluice(&["test", path.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains(message), "{}", shown(&output));
}
