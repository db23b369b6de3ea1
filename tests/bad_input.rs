//! Bad input does not stop a pipeline: a record over the 1 MiB limit is rejected at the producer, with an error
//! naming the producer, the file and the line, and the records around it go through.

use std::process::Command;

#[test]
fn a_record_over_the_size_limit_is_rejected_at_the_producer_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pipeline = "name: bad\nproducers:\n  input: {type: file, stream: events, path: input.ndjson}\nstreams:\n  \
                    events: {type: embedded, shards: 1}\ndestinations:\n  bucket: {type: s3, source: events, bucket: \
                    file://./bucket, buffer: {size: 1MiB, interval: 900s}}\n";
    std::fs::write(dir.path().join("pipeline.yaml"), pipeline).expect("write");
    let big = format!("{{\"big\":\"{}\"}}", "x".repeat(1 << 20));
    std::fs::write(dir.path().join("input.ndjson"), format!("{{\"a\":1}}\n{big}\n{{\"a\":2}}\n")).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "pipeline.yaml"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("sluice runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the run goes on: {stderr}");
    assert!(
        stderr.contains("producer `input`: ./input.ndjson:2: the record is 1048586 bytes, over the 1048576-byte limit"),
        "the error names the producer, the file and the line: {stderr}"
    );
    let producer_line = stderr.lines().find(|l| l.contains("producer input")).unwrap_or_default();
    assert!(producer_line.contains("2 records") && producer_line.ends_with("1 errors"), "{stderr}");
    let mut delivered = Vec::new();
    for entry in walk(&dir.path().join("bucket")) {
        delivered.extend(std::fs::read_to_string(entry).expect("read").lines().map(str::to_owned));
    }
    assert_eq!(delivered, ["{\"a\":1}", "{\"a\":2}"]);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("bucket").flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}
