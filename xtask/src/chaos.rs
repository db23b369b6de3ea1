//! The chaos harness: `kill -9` a running pipeline at random moments, restart it, and check the bucket.
//!
//! ## Design
//!
//! One run of the harness is one experiment in a work folder:
//!
//! ```text
//!   input.ndjson (N records, ids 0..N) ─▶ file producer ─▶ embedded stream (2 shards)
//!        ─▶ SQL pump (stateless) ─▶ s3 destination on file://./bucket
//! ```
//!
//! The stream's `fsync:` and the destination's `naming:` are their defaults unless an option names them, so
//! the harness proves what a pipeline gets without asking for it. Partition keys are the file producer's
//! default, a random UUID per record: records put again after a crash go to other shards than the first time,
//! so a stream that let a consumer see records a crash then dropped would give their sequence numbers to other
//! records, and the check below would find ids lost and duplicated.
//!
//! The `sluice` binary runs the pipeline; the harness kills it with SIGKILL after a random delay, K times,
//! restarting it each time (the file producer resumes from the position it stored with its records, the
//! application from its checkpoint), then lets a last run finish. Then every object in the bucket is read and
//! every id counted: an id missing is *lost*, an id seen twice is *duplicated*. The promise is 0 and 0.
//!
//! Half of the kills are aimed: the harness watches the bucket and kills the process the moment a new object
//! appears, the moment between publishing an object and checkpointing its input that turns a restart into
//! duplicates when objects are named at random (`naming: firehose` shows them; `naming: deterministic`, the
//! default, must not).
//!
//! The producer is paced (`rate`) so the input takes about `kills + 1` kill periods to go through: kills land
//! while records are on the way, not after the run finished. Delays are drawn from a seeded generator, so a
//! seed names an experiment (the machine's timing still varies). The module depends on nothing but `std`,
//! so `cargo xtask chaos` and the test `tests/chaos.rs` compile this same file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What one experiment does.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// The `sluice` binary to run.
    pub sluice: PathBuf,
    /// An empty folder for the pipeline, its input, data directory and bucket.
    pub work_dir: PathBuf,
    /// Records (unique ids) to send through.
    pub records: u64,
    /// How many times the pipeline is killed.
    pub kills: u32,
    /// Seeds the kill delays.
    pub seed: u64,
    /// The average time between kills.
    pub kill_period: Duration,
    /// `naming:` of the destination (`None`: the destination's default).
    pub naming: Option<String>,
    /// `fsync:` of the embedded stream (`None`: the stream's default).
    pub fsync: Option<String>,
}

/// What an experiment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaosReport {
    /// Records sent.
    pub records: u64,
    /// Kills that landed on a running process (a run that finished before its kill is not counted).
    pub kills: u32,
    /// Of those, kills aimed at the moment right after an object was published.
    pub kills_after_publish: u32,
    /// Runs started, the last (clean) one included.
    pub runs: u32,
    /// Objects in the bucket.
    pub objects: u64,
    /// Ids never found.
    pub lost: u64,
    /// Ids found more than once (counted once per extra copy).
    pub duplicated: u64,
    /// Staging files (`name#N`) left in the bucket after the last run.
    pub staging_files: u64,
    /// Lines in objects that are not a record of the input.
    pub garbage: u64,
    /// Wall time of the whole experiment, in milliseconds.
    pub elapsed_ms: u128,
}

impl ChaosReport {
    /// Whether the promise held: nothing lost, nothing duplicated, nothing left over.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.staging_files == 0 && self.garbage == 0
    }
}

impl std::fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} records, {} kills ({} right after a publish), {} runs, {:.1}s: {} objects, {} lost, {} duplicated, \
             {} staging files left, {} foreign lines",
            self.records,
            self.kills,
            self.kills_after_publish,
            self.runs,
            self.elapsed_ms as f64 / 1000.0,
            self.objects,
            self.lost,
            self.duplicated,
            self.staging_files,
            self.garbage
        )
    }
}

/// The pipeline under test. `{RATE}`, `{FSYNC}` and `{NAMING}` are filled in.
const PIPELINE: &str = r#"name: chaos
producers:
  input:
    type: file
    stream: events
    path: input.ndjson
    rate: {RATE}
streams:
  events:
    type: embedded
    shards: 2
{FSYNC}applications:
  pump:
    type: sql
    input:
      stream: events
      format: json
      columns:
        - {name: id, type: BIGINT, path: $.id}
        - {name: pad, type: VARCHAR(64), path: $.pad}
    code: |
      CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" BIGINT, "pad" VARCHAR(64));
      CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM "id", "pad" FROM "SOURCE_SQL_STREAM_001";
    outputs:
      - {stream: DESTINATION_SQL_STREAM, destination: bucket, format: json}
destinations:
  bucket:
    type: s3
    bucket: file://./bucket
    buffer: {size: 1MiB, interval: 200ms}
{NAMING}"#;

/// A small seeded generator (SplitMix64): the harness needs reproducible delays, not quality randomness.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[low, high]` milliseconds.
    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.next() % (high - low + 1))
    }
}

/// Fails unless `value` (of option `name`) is absent or one of `allowed`.
fn check_choice(name: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), String> {
    match value {
        Some(value) if !allowed.contains(&value) => {
            Err(format!("`--{name} {value}`: expected one of {}", allowed.join(", ")))
        }
        _ => Ok(()),
    }
}

/// Writes the input and the pipeline into `options.work_dir`.
pub fn prepare(options: &ChaosOptions) -> Result<(), String> {
    check_choice("fsync", options.fsync.as_deref(), &["always", "interval", "never"])?;
    check_choice("naming", options.naming.as_deref(), &["deterministic", "firehose"])?;
    let dir = &options.work_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let input = dir.join("input.ndjson");
    let file = std::fs::File::create(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    for id in 0..options.records {
        // Some padding of varying length, so objects are cut at varying points.
        let pad = "x".repeat((id % 37) as usize);
        writeln!(out, "{{\"id\":{id},\"pad\":\"{pad}\"}}").map_err(|e| format!("{}: {e}", input.display()))?;
    }
    out.flush().map_err(|e| format!("{}: {e}", input.display()))?;
    // Paced so the input lasts about `kills + 1` kill periods (but never slower than 2,000 records a second).
    let periods = f64::from(options.kills + 1) * options.kill_period.as_secs_f64();
    let rate = (options.records as f64 / periods).max(2_000.0).ceil();
    let line =
        |key: &str, value: &Option<String>| value.as_ref().map_or(String::new(), |v| format!("    {key}: {v}\n"));
    let pipeline = PIPELINE
        .replace("{RATE}", &rate.to_string())
        .replace("{FSYNC}", &line("fsync", &options.fsync))
        .replace("{NAMING}", &line("naming", &options.naming));
    let path = dir.join("pipeline.yaml");
    std::fs::write(&path, pipeline).map_err(|e| format!("{}: {e}", path.display()))
}

fn start(options: &ChaosOptions, run: u32) -> Result<Child, String> {
    let log = options.work_dir.join(format!("run-{run:03}.log"));
    let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    Command::new(&options.sluice)
        .arg("run")
        .arg(options.work_dir.join("pipeline.yaml"))
        .arg("--data-dir")
        .arg(options.work_dir.join("data"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", options.sluice.display()))
}

/// The tail of a run's log, for error messages.
fn log_tail(options: &ChaosOptions, run: u32) -> String {
    let log = options.work_dir.join(format!("run-{run:03}.log"));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Runs one experiment: prepares the work folder, kills and restarts the pipeline, checks the bucket.
/// `progress` receives a line per run.
pub fn run(options: &ChaosOptions, mut progress: impl FnMut(&str)) -> Result<ChaosReport, String> {
    let started = Instant::now();
    prepare(options)?;
    let mut rng = SplitMix(options.seed);
    let period_ms = options.kill_period.as_millis().max(20) as u64;
    let mut kills = 0;
    let mut aimed = 0;
    let mut runs = 0;
    let bucket = options.work_dir.join("bucket");
    while kills < options.kills {
        let mut child = start(options, runs)?;
        runs += 1;
        // Mostly mid-run, sometimes during start-up and recovery; every other kill right after a publish.
        let delay = rng.millis(period_ms / 20, period_ms * 2);
        let aim = rng.next().is_multiple_of(2);
        let published = aim && wait_for_new_object(&bucket, options.kill_period * 3);
        if !aim {
            std::thread::sleep(delay);
        }
        match child.try_wait().map_err(|e| format!("waiting for sluice: {e}"))? {
            Some(status) if status.success() => {
                progress(&format!("run {runs}: finished before its kill at {delay:?}"));
                // Everything went through already: the remaining kills would find nothing to do.
                break;
            }
            Some(status) => {
                return Err(format!("run {runs} failed on its own ({status}):\n{}", log_tail(options, runs - 1)));
            }
            None => {
                child.kill().map_err(|e| format!("kill -9 failed: {e}"))?;
                child.wait().map_err(|e| format!("waiting for the killed sluice: {e}"))?;
                kills += 1;
                if published {
                    aimed += 1;
                    progress(&format!("run {runs}: killed right after an object was published"));
                } else {
                    progress(&format!("run {runs}: killed after {delay:?}"));
                }
            }
        }
    }
    // The last run goes to the end of the input.
    let mut child = start(options, runs)?;
    runs += 1;
    let status = child.wait().map_err(|e| format!("waiting for sluice: {e}"))?;
    if !status.success() {
        return Err(format!("the final run failed ({status}):\n{}", log_tail(options, runs - 1)));
    }
    progress(&format!("run {runs}: finished"));
    let mut report = check_bucket(&options.work_dir.join("bucket"), options.records)?;
    report.kills = kills;
    report.kills_after_publish = aimed;
    report.runs = runs;
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}

/// The number of objects (files, staging files aside) under `dir`.
fn count_objects(dir: &Path) -> usize {
    let mut count = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            } else if !entry.file_name().to_string_lossy().contains('#') {
                count += 1;
            }
        }
    }
    count
}

/// Waits until a new object appears under `bucket` (true) or `longest` passes (false).
fn wait_for_new_object(bucket: &Path, longest: Duration) -> bool {
    let before = count_objects(bucket);
    let start = Instant::now();
    while start.elapsed() < longest {
        if count_objects(bucket) > before {
            return true;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    false
}

/// Counts every id in every object under `bucket`.
pub fn check_bucket(bucket: &Path, records: u64) -> Result<ChaosReport, String> {
    let mut counts = vec![0u32; usize::try_from(records).map_err(|e| e.to_string())?];
    let mut report = ChaosReport {
        records,
        kills: 0,
        kills_after_publish: 0,
        runs: 0,
        objects: 0,
        lost: 0,
        duplicated: 0,
        staging_files: 0,
        garbage: 0,
        elapsed_ms: 0,
    };
    let mut pending = vec![bucket.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.file_name().is_some_and(|n| n.to_string_lossy().contains('#')) {
                report.staging_files += 1;
                continue;
            }
            report.objects += 1;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for line in text.lines() {
                match id_of(line).and_then(|id| counts.get_mut(usize::try_from(id).ok()?)) {
                    Some(count) => *count += 1,
                    None => report.garbage += 1,
                }
            }
        }
    }
    for count in counts {
        match count {
            0 => report.lost += 1,
            n => report.duplicated += u64::from(n - 1),
        }
    }
    Ok(report)
}

/// The id of an output line `{"id":42,"pad":"..."}`.
fn id_of(line: &str) -> Option<u64> {
    let rest = &line[line.find("\"id\":")? + 5..];
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// A short description of the options, for the first line of output.
pub fn describe(options: &ChaosOptions) -> String {
    let mut text = format!(
        "chaos: {} records, {} kills (about every {:?}), seed {}, in {}",
        options.records,
        options.kills,
        options.kill_period,
        options.seed,
        options.work_dir.display()
    );
    let _ = write!(text, ", fsync: {}", options.fsync.as_deref().unwrap_or("default"));
    let _ = write!(text, ", naming: {}", options.naming.as_deref().unwrap_or("default"));
    text
}
