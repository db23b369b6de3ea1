//! The short chaos run of the test command: 100k records, 5 `kill -9`s, every record in the bucket exactly once,
//! with the defaults a pipeline gets without asking (the embedded stream's `fsync: interval`, the s3 destination's
//! `naming: deterministic`, random partition keys). The harness is `xtask/src/chaos.rs` (`cargo xtask chaos`
//! runs it at any size).

#[path = "../xtask/src/chaos.rs"]
mod chaos;

use std::time::Duration;

fn options(dir: &std::path::Path, naming: Option<&str>, seed: u64) -> chaos::ChaosOptions {
    chaos::ChaosOptions {
        sluice: env!("CARGO_BIN_EXE_sluice").into(),
        work_dir: dir.join("chaos"),
        records: 100_000,
        kills: 5,
        seed,
        kill_period: Duration::from_millis(600),
        naming: naming.map(str::to_owned),
        fsync: None,
    }
}

#[test]
fn kill_9_five_times_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = options(dir.path(), None, 7);
    eprintln!("{}", chaos::describe(&options));
    let report = chaos::run(&options, |line| eprintln!("{line}")).unwrap_or_else(|e| panic!("chaos run failed: {e}"));
    eprintln!("{report}");
    assert!(report.kills >= 3, "most kills land mid-run: {report}");
    assert!(report.kills_after_publish >= 1, "a kill lands between a publish and its checkpoint: {report}");
    assert!(report.passed(), "every record exactly once: {report}");
}

/// The harness's own check: with Firehose's random names, a kill right after a publish does duplicate records
/// (at-least-once), so the test above would see duplicates if the default naming let any through.
#[test]
fn firehose_naming_is_at_least_once_and_the_harness_sees_its_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = options(dir.path(), Some("firehose"), 7);
    let report = chaos::run(&options, |line| eprintln!("{line}")).unwrap_or_else(|e| panic!("chaos run failed: {e}"));
    eprintln!("{report}");
    assert_eq!(report.lost, 0, "at-least-once: {report}");
    assert!(report.duplicated > 0 || report.kills_after_publish == 0, "{report}");
}
