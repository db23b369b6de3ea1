//! Secrets never reach what sluice prints: with credentials in the environment (`AWS_SECRET_ACCESS_KEY`, a
//! `${API_TOKEN}` interpolated into a URL and a header) and errors forced at validation and at run time, at
//! every log level, neither value appears on stdout or stderr.

use std::process::Command;

const TOKEN: &str = "tok-7f3a9c-SECRET-c0ffee";
const AWS_SECRET: &str = "aws-wJalrXUtnFEMI-SECRET-K7MDENG";

/// A pipeline whose http destination puts the token in its URL and its `Authorization` header; the URL's port
/// refuses connections, so every request fails and the run ends with an error. `extra` adds lines at the end.
fn pipeline(extra: &str) -> String {
    format!(
        r#"name: secrets
producers:
  input: {{type: file, stream: events, path: input.ndjson}}
streams:
  events: {{type: embedded, shards: 1}}
destinations:
  api:
    type: http
    source: events
    url: "http://127.0.0.1:9/hooks/${{API_TOKEN}}"
    timeout: 1s
    retry: {{attempts: 3, backoff: 10ms}}
    headers:
      Authorization: "Bearer ${{API_TOKEN}}"
{extra}"#
    )
}

/// Runs `sluice <args>` in `dir` with the secrets in the environment; returns stdout and stderr together.
fn sluice(dir: &std::path::Path, args: &[&str], log: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env("API_TOKEN", TOKEN)
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_REGION", "us-east-1")
        .env("RUST_LOG", log)
        .output()
        .expect("sluice runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

fn assert_no_secret(text: &str, what: &str) {
    assert!(!text.contains(TOKEN) && !text.contains("c0ffee"), "{what} shows the token:\n{text}");
    assert!(!text.contains(AWS_SECRET) && !text.contains("wJalrXUtnFEMI"), "{what} shows the AWS secret:\n{text}");
}

#[test]
fn validation_errors_show_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Errors of every phase: an unknown field (schema), a bad header, a secret written literally.
    let broken = pipeline(
        "    retries: 3\n  other:\n    type: http\n    source: events\n    url: \"ftp://${API_TOKEN}\"\n    headers: {\"Bad Name\": \"${API_TOKEN}\"}\n",
    );
    std::fs::write(dir.path().join("pipeline.yaml"), broken).expect("write");
    std::fs::write(dir.path().join("input.ndjson"), "{\"a\":1}\n").expect("write");
    for args in [&["validate", "pipeline.yaml"][..], &["validate", "--env", "pipeline.yaml"]] {
        let text = sluice(dir.path(), args, "trace");
        assert!(text.contains("error"), "{args:?} reports the errors: {text}");
        assert_no_secret(&text, &format!("sluice {args:?}"));
    }
}

#[test]
fn run_time_errors_and_logs_show_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline("")).expect("write");
    std::fs::write(dir.path().join("input.ndjson"), "{\"a\":1}\n{\"a\":2}\n").expect("write");
    // Every log line at trace level, and the final error (the destination cannot connect).
    let text = sluice(dir.path(), &["run", "pipeline.yaml"], "trace");
    assert!(text.contains("http://127.0.0.1:9/hooks/****"), "the URL is shown, masked: {text}");
    assert!(text.contains("error: pipeline.yaml"), "the run fails: {text}");
    assert_no_secret(&text, "sluice run");
}
