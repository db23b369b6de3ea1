//! The command line as a user drives it: `--env`, `run` validating first, `plugins`, `schema`.

use std::process::{Command, Output};

fn sluice(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.args(args).env_remove("SLUICE_TEST_BUCKET");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("sluice runs")
}

fn pipeline_with_env_reference(dir: &std::path::Path) -> String {
    let path = dir.join("env.yaml");
    std::fs::write(
        &path,
        "name: env\nstreams:\n  s: {type: embedded}\ndestinations:\n  out:\n    type: s3\n    source: s\n    bucket: \"file://${SLUICE_TEST_BUCKET}\"\n    prefix: \"${SLUICE_TEST_PREFIX:-logs/}\"\n",
    )
    .expect("write");
    path.to_str().expect("utf-8").to_owned()
}

#[test]
fn env_flag_requires_referenced_variables_without_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = pipeline_with_env_reference(dir.path());

    let without_flag = sluice(&["validate", &path], &[]);
    assert_eq!(without_flag.status.code(), Some(0), "{}", String::from_utf8_lossy(&without_flag.stderr));

    let unset = sluice(&["validate", "--env", &path], &[]);
    let stderr = String::from_utf8_lossy(&unset.stderr);
    assert_eq!(unset.status.code(), Some(1));
    let headline = format!("{path}:8:21: error[env-unset]: environment variable `SLUICE_TEST_BUCKET` is not set");
    assert!(stderr.lines().any(|l| l == headline), "{stderr}");
    assert!(!stderr.contains("SLUICE_TEST_PREFIX"), "a defaulted variable need not be set: {stderr}");

    let set = sluice(&["validate", "--env", &path], &[("SLUICE_TEST_BUCKET", "/tmp/b")]);
    assert_eq!(set.status.code(), Some(0), "{}", String::from_utf8_lossy(&set.stderr));
}

#[test]
fn run_validates_first() {
    let invalid = sluice(&["run", "tests/invalid/unknown-key.yaml"], &[]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("error[unknown-key]"), "run validates first");
}

#[test]
fn plugins_lists_the_registry_and_schema_prints_the_committed_schema() {
    let plugins = String::from_utf8_lossy(&sluice(&["plugins"], &[]).stdout).into_owned();
    for (_, name) in sluice_plugins::BUILT_IN {
        assert!(plugins.lines().any(|l| l.ends_with(&format!(" {name}"))), "{name} listed: {plugins}");
    }
    let schema = sluice(&["schema"], &[]).stdout;
    let committed = std::fs::read("schemas/pipeline.schema.json").expect("committed schema");
    assert_eq!(schema, committed);
}

#[test]
fn a_report_whose_reader_went_away_ends_without_a_panic() {
    // The reader is gone before anything is written (`sluice test | head`, with head already gone): the first
    // write meets a broken pipe. The command ends by SIGPIPE, as Unix tools do, and prints no panic. The read end
    // is closed before the child starts, so the child can never win a race and write into a live pipe.
    for args in [&["plugins"][..], &["test", "tests/conformance"]] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn sluice");
        let output = child.wait_with_output().expect("wait for sluice");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!output.status.success(), "{args:?}: its output was lost, so it must not claim success");
    }
}
