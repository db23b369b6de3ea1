//! `file`: records from a file or a glob of files.
//!
//! Files are read in path order, each from its start (or from the stored position) to its end, one record per
//! line ([`LineReader`]). Reading is blocking I/O with a 1 MiB buffer, so each batch is read on tokio's blocking
//! pool: the reader state moves into `spawn_blocking` and back, and the async side only paces, reserves budget
//! and puts.
//!
//! The position stored with each put is the file and the byte offset after the batch's last line (plus the
//! record count, for `{{seq}}`), as JSON. Files sorting before the stored one are done; the stored one resumes
//! at its offset, so a restart neither skips nor repeats a line, and a CSV header is skipped only at offset 0.
//!
//! With `follow`, the end of the input is not the end: the producer polls every 200 ms for growth of the last
//! file and for new files matching the glob that sort after it. A later file means the earlier one is complete:
//! its unterminated last line becomes a record; otherwise such a line waits for its newline. A followed file
//! that shrinks (truncated in place) is read again from its start.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::runtime::component::{Producer, ProducerContext, RunError};
use sluice_core::runtime::record::MAX_RECORD_BYTES;

use super::lines::{Batch, LineReader};
use super::rate::Pace;
use super::{BATCH_RECORDS, InputFormat, KeyTemplate, PartitionKeys, encode_position, stored_position};

/// How often `follow` looks for more input.
const POLL: Duration = Duration::from_millis(200);

/// Reads records from files: one record per line (or per CSV row).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The stream records are put into.
    pub stream: String,
    /// A file or a glob (`logs/*.ndjson`), relative to the pipeline file.
    #[schemars(length(min = 1))]
    pub path: String,
    /// How lines become records.
    #[serde(default)]
    pub format: InputFormat,
    /// Keep reading as the files grow, instead of finishing at their end.
    #[serde(default)]
    pub follow: bool,
    /// At most this many records per second.
    #[schemars(range(min = 0.001))]
    pub rate: Option<f64>,
    /// Partition key template; a random UUID per record by default.
    pub partition_key: Option<String>,
}

impl PluginConfig for FileConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        cx.link("stream", LinkRole::WritesStream, &self.stream);
        if self.path.contains('$') {
            // Interpolated: only known at run time.
        } else if is_glob(&self.path) {
            if let Err(e) = glob::Pattern::new(&self.path) {
                cx.error("path", Code::InvalidValue, format!("`{}` is not a valid glob: {e}", self.path));
            }
        } else if !cx.base_dir().join(&self.path).exists() {
            cx.error("path", Code::FileNotFound, format!("file `{}` not found", self.path));
        }
        super::check_partition_key(cx, self.partition_key.as_deref());
    }

    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError> {
        let glob = is_glob(&self.path);
        let pattern = if Path::new(&self.path).is_absolute() {
            self.path.clone()
        } else if glob {
            // The pipeline's directory is literal, even if its name holds `[` or `*`.
            let base = glob::Pattern::escape(&cx.base_dir.to_string_lossy());
            format!("{base}{}{}", std::path::MAIN_SEPARATOR, self.path)
        } else {
            cx.base_dir.join(&self.path).to_string_lossy().into_owned()
        };
        if glob {
            glob::Pattern::new(&pattern).map_err(|e| BuildError::Config(format!("`path`: {e}")))?;
        }
        let rate = match self.rate {
            Some(rate) if !(rate > 0.0 && rate.is_finite()) => {
                return Err(BuildError::Config(format!("`rate` must be above 0, not {rate}")));
            }
            rate => rate,
        };
        Ok(Built::Producer(Box::new(FileProducer {
            source: Source { shown: self.path.clone(), pattern, glob, base_dir: cx.base_dir.clone() },
            format: self.format,
            follow: self.follow,
            rate,
            partition_key: super::partition_key_template(self.partition_key.as_deref())?,
        })))
    }
}

sluice_core::register_plugin!(Producer, "file", FileConfig);

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The running `file` producer.
struct FileProducer {
    source: Source,
    format: InputFormat,
    follow: bool,
    rate: Option<f64>,
    partition_key: KeyTemplate,
}

/// Which files to read.
#[derive(Debug, Clone)]
struct Source {
    /// `path` as the pipeline gives it, for messages.
    shown: String,
    /// `path` resolved against the pipeline's directory (a glob pattern if `glob`).
    pattern: String,
    glob: bool,
    base_dir: PathBuf,
}

impl Source {
    /// The matching files, sorted by path.
    fn list(&self, producer: &str) -> Result<Vec<PathBuf>, RunError> {
        if !self.glob {
            return Ok(vec![PathBuf::from(&self.pattern)]);
        }
        let fail = |e: String| RunError(format!("producer `{producer}`: listing `{}`: {e}", self.shown));
        let mut files = Vec::new();
        for entry in glob::glob(&self.pattern).map_err(|e| fail(e.to_string()))? {
            let path = entry.map_err(|e| fail(e.to_string()))?;
            if path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// How a file is named in the stored position: relative to the pipeline when under it, so moving the
    /// pipeline's directory keeps positions valid.
    fn stored_name(&self, path: &Path) -> String {
        path.strip_prefix(&self.base_dir).unwrap_or(path).to_string_lossy().into_owned()
    }
}

/// What `file` stores with each put.
#[derive(Debug, Serialize, Deserialize)]
struct FilePosition {
    /// The file being read, relative to the pipeline's directory when under it.
    file: String,
    /// The byte offset in it after the last line put.
    offset: u64,
    /// Records put so far, over all runs (`{{seq}}` of partition keys).
    records: u64,
    /// Lines of the file before `offset` (for the line numbers of rejected records; absent in older positions).
    #[serde(default)]
    line: u64,
}

/// Whether a batch stopped because it was full, or because the input is at its end (for now, with `follow`).
#[derive(Debug, PartialEq, Eq)]
enum Status {
    More,
    End,
}

/// The reading state, moved to the blocking pool for each batch.
struct Reader {
    producer: String,
    source: Source,
    follow: bool,
    format: InputFormat,
    /// Without `follow`: the files listed at start. With it, the glob is listed again at each end of input.
    listed: Option<Vec<PathBuf>>,
    /// The file being read or to be read next; `lines` holds where in it. Kept when the file is missing, as
    /// the cursor the next file is looked for after.
    path: Option<PathBuf>,
    file: Option<File>,
    lines: LineReader,
    keys: PartitionKeys,
    /// The last file ended (without `follow`).
    done: bool,
    /// Lines over the record limit skipped since the last batch was put.
    rejected: u64,
}

impl Reader {
    fn new(producer: &FileProducer, name: &str, position: Option<FilePosition>) -> Result<Reader, RunError> {
        let source = producer.source.clone();
        let listed = if producer.follow { None } else { Some(source.list(name)?) };
        if listed.as_ref().is_some_and(Vec::is_empty) {
            return Err(RunError(format!("producer `{name}`: no file matches `{}`", source.shown)));
        }
        let (path, offset, records, line) = match position {
            // A single path that changed since: its stored offset means nothing for the new file.
            Some(p) if !source.glob && source.base_dir.join(&p.file) != Path::new(&source.pattern) => {
                tracing::info!(producer = name, "`path` changed since the stored position; reading from the start");
                (None, 0, p.records, 0)
            }
            Some(p) => (Some(source.base_dir.join(&p.file)), p.offset, p.records, p.line),
            None => (None, 0, 0, 0),
        };
        Ok(Reader {
            producer: name.to_owned(),
            follow: producer.follow,
            format: producer.format,
            listed,
            path,
            file: None,
            lines: LineReader::new(producer.format, offset).after_lines(line),
            keys: PartitionKeys::new(producer.partition_key.clone(), records),
            done: false,
            rejected: 0,
            source,
        })
    }

    fn position(&self) -> Option<Vec<u8>> {
        let path = self.path.as_ref()?;
        let file = self.source.stored_name(path);
        let line = self.lines.lines();
        Some(encode_position(&FilePosition { file, offset: self.lines.offset(), records: self.keys.seq, line }))
    }

    /// Reports the lines of the current file the record limit rejected; they are skipped, the run goes on.
    fn report_rejected(&mut self) {
        for (line, bytes) in self.lines.take_rejected() {
            tracing::error!(
                "producer `{}`: {}:{line}: the record is {bytes} bytes, over the {MAX_RECORD_BYTES}-byte limit of a \
                 record; it was skipped",
                self.producer,
                self.current().display()
            );
            self.rejected += 1;
        }
    }

    /// The file being read.
    fn current(&self) -> PathBuf {
        self.path.clone().unwrap_or_default()
    }

    fn fail(&self, path: &Path, what: &str, e: std::io::Error) -> RunError {
        RunError(format!("producer `{}`: {what} `{}`: {e}", self.producer, path.display()))
    }

    /// The first file sorting after `after` (the first file if `None`).
    fn next_after(&self, after: Option<&Path>) -> Result<Option<PathBuf>, RunError> {
        let fresh;
        let files = match &self.listed {
            Some(files) => files,
            None => {
                fresh = self.source.list(&self.producer)?;
                &fresh
            }
        };
        Ok(files.iter().find(|f| after.is_none_or(|after| f.as_path() > after)).cloned())
    }

    /// Starts reading the next file from its start.
    fn move_to(&mut self, path: PathBuf) {
        self.path = Some(path);
        self.file = None;
        self.lines = LineReader::new(self.format, 0);
    }

    /// Opens the current file (or the first one), at its offset; false if there is none yet.
    fn open(&mut self) -> Result<bool, RunError> {
        loop {
            let Some(path) = self.path.clone() else {
                match self.next_after(None)? {
                    Some(first) => {
                        self.move_to(first);
                        continue;
                    }
                    None => return Ok(false),
                }
            };
            let mut file = match File::open(&path) {
                Ok(file) => file,
                // A matched file deleted since (or the stored one, gone): the next one is where to go on.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.source.glob => {
                    match self.next_after(Some(&path))? {
                        Some(next) => {
                            self.move_to(next);
                            continue;
                        }
                        None => return Ok(false),
                    }
                }
                Err(e) => return Err(self.fail(&path, "cannot open", e)),
            };
            let offset = self.lines.offset();
            if offset > 0 {
                let len = file.metadata().map_err(|e| self.fail(&path, "cannot read", e))?.len();
                if len < offset {
                    tracing::warn!(producer = self.producer, file = %path.display(), offset, len,
                        "file is shorter than the stored position: reading it from the start");
                    self.lines = LineReader::new(self.format, 0);
                } else {
                    file.seek(SeekFrom::Start(offset)).map_err(|e| self.fail(&path, "cannot seek in", e))?;
                }
            }
            self.file = Some(file);
            return Ok(true);
        }
    }

    /// Reads lines into `batch` until it is full or the input is at its end.
    fn read_batch(&mut self, batch: &mut Batch) -> Result<Status, RunError> {
        loop {
            if self.done {
                return Ok(Status::End);
            }
            if batch.is_full() {
                return Ok(Status::More);
            }
            if self.file.is_none() && !self.open()? {
                return Ok(Status::End);
            }
            let full = self.lines.fill(batch, &mut self.keys);
            self.report_rejected();
            if full {
                return Ok(Status::More);
            }
            let Some(file) = self.file.as_mut() else { continue };
            match file.read(self.lines.spare()) {
                Ok(0) => {}
                Ok(n) => {
                    self.lines.filled(n);
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.fail(&self.current(), "cannot read", e)),
            }
            // The end of this file, for now.
            let path = self.current();
            let next = self.next_after(Some(&path))?;
            if next.is_none() && self.follow {
                let len = match self.file.as_ref().map(File::metadata) {
                    Some(Ok(metadata)) => metadata.len(),
                    Some(Err(e)) => return Err(self.fail(&path, "cannot read", e)),
                    None => 0,
                };
                if len < self.lines.read_offset() {
                    tracing::warn!(producer = self.producer, file = %path.display(), "file shrank: reading it again");
                    self.move_to(path);
                }
                return Ok(Status::End);
            }
            let finished = self.lines.finish(batch, &mut self.keys);
            self.report_rejected();
            if !finished {
                return Ok(Status::More);
            }
            match next {
                Some(next) => self.move_to(next),
                None => self.done = true,
            }
        }
    }
}

#[async_trait]
impl Producer for FileProducer {
    async fn run(self: Box<Self>, cx: ProducerContext) -> Result<(), RunError> {
        let mut reader = Reader::new(&self, &cx.name, stored_position(&cx)?)?;
        let mut pace = self.rate.map(Pace::rate);
        loop {
            let mut wanted = BATCH_RECORDS;
            if let Some(pace) = &mut pace {
                let Some(allowed) = pace.ready(&cx.stop).await else { return Ok(()) };
                wanted = wanted.min(allowed);
            }
            let granted = cx.reserve(wanted).await;
            if granted == 0 {
                return Ok(());
            }
            let (back, batch, status) = tokio::task::spawn_blocking(move || {
                let mut batch = Batch::new(granted);
                let status = reader.read_batch(&mut batch);
                (reader, batch, status)
            })
            .await
            .map_err(|e| RunError(format!("producer `{}`: reading failed: {e}", cx.name)))?;
            reader = back;
            if reader.rejected > 0 {
                cx.metrics.add_errors("Record_Too_Large", std::mem::take(&mut reader.rejected));
            }
            let status = status?;
            cx.give_back(granted - batch.len());
            if let Some(pace) = &mut pace {
                pace.take(batch.len());
            }
            if !batch.is_empty() {
                cx.put(batch.records, reader.position()).await?;
            }
            if status == Status::End {
                if !self.follow {
                    return Ok(());
                }
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = cx.stop.cancelled() => return Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration as StdDuration;

    use serde_json::{Value, json};
    use sluice_core::runtime::ledger::Ledger;

    use super::*;
    use crate::producers::testing::{FakeStream, context};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Builds a `file` producer from its YAML-shaped config, in `dir`.
    fn build(dir: &Path, config: Value) -> Result<Box<dyn Producer>, Box<dyn std::error::Error>> {
        let mut config = config;
        config["stream"] = json!("s");
        let config: FileConfig = serde_json::from_value(config)?;
        let cx = BuildContext {
            base_dir: dir.to_owned(),
            data_dir: dir.join("data"),
            ledger: Arc::new(Ledger::open(&dir.join("ledger.redb"))?),
            name: "p".into(),
        };
        match config.build(&cx)? {
            Built::Producer(producer) => Ok(producer),
            other => Err(format!("built {other:?}").into()),
        }
    }

    /// Runs a finite `file` producer to its end; returns the records put.
    async fn read_all(
        dir: &Path,
        config: Value,
        budget: Option<u64>,
    ) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let stream = Arc::new(FakeStream::default());
        let (cx, _stop) = context(&stream, budget);
        build(dir, config)?.run(cx).await?;
        Ok(stream.data())
    }

    async fn wait_for(stream: &FakeStream, records: usize) -> Result<(), tokio::time::error::Elapsed> {
        tokio::time::timeout(StdDuration::from_secs(10), async {
            while stream.data().len() < records {
                tokio::time::sleep(StdDuration::from_millis(10)).await;
            }
        })
        .await
    }

    #[tokio::test]
    async fn each_format_splits_lines() -> TestResult {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("in.txt"), "{\"a\":1}\r\n\n{\"a\":2}\n \n{\"a\":3}")?;
        let ndjson = read_all(dir.path(), json!({"path": "in.txt"}), None).await?;
        assert_eq!(ndjson, ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"]);
        let lines = read_all(dir.path(), json!({"path": "in.txt", "format": "lines"}), None).await?;
        assert_eq!(lines, ["{\"a\":1}", "", "{\"a\":2}", " ", "{\"a\":3}"]);
        std::fs::write(dir.path().join("in.csv"), "name,n\r\nx,1\r\ny,2\n")?;
        let csv = read_all(dir.path(), json!({"path": "in.csv", "format": "csv"}), None).await?;
        assert_eq!(csv, ["x,1", "y,2"]);
        Ok(())
    }

    #[tokio::test]
    async fn a_glob_reads_its_files_in_path_order() -> TestResult {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("logs"))?;
        std::fs::write(dir.path().join("logs/b.csv"), "h\nb1\nb2")?;
        std::fs::write(dir.path().join("logs/a.csv"), "h\na1\n")?;
        std::fs::write(dir.path().join("logs/c.txt"), "not matched\n")?;
        let records = read_all(dir.path(), json!({"path": "logs/*.csv", "format": "csv"}), None).await?;
        assert_eq!(records, ["a1", "b1", "b2"]);
        Ok(())
    }

    #[tokio::test]
    async fn a_missing_file_is_an_error_naming_it() -> TestResult {
        let dir = tempfile::tempdir()?;
        let Err(error) = read_all(dir.path(), json!({"path": "nope.ndjson"}), None).await else {
            return Err("a missing file fails".into());
        };
        assert!(error.to_string().contains("nope.ndjson"), "{error}");
        let Err(error) = read_all(dir.path(), json!({"path": "*.ndjson"}), None).await else {
            return Err("an empty glob fails".into());
        };
        assert_eq!(error.to_string(), "producer `p`: no file matches `*.ndjson`");
        Ok(())
    }

    #[tokio::test]
    async fn resuming_neither_skips_nor_repeats() -> TestResult {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("1.csv"), "h\n1a\n1b\n1c\n")?;
        std::fs::write(dir.path().join("2.csv"), "h\r\n2a\r\n\r\n2b")?;
        let config = json!({"path": "*.csv", "format": "csv", "partition_key": "k{{seq}}"});
        let expected = ["1a", "1b", "1c", "2a", "", "2b"];
        // Stop after every possible count, then restart and read the rest.
        for first_run in 0..=expected.len() as u64 {
            let stream = Arc::new(FakeStream::default());
            let (cx, _stop) = context(&stream, Some(first_run));
            build(dir.path(), config.clone())?.run(cx).await?;
            let (cx, _stop) = context(&stream, None);
            build(dir.path(), config.clone())?.run(cx).await?;
            assert_eq!(stream.data(), expected, "stopped after {first_run}");
            let keys: Vec<String> =
                stream.puts().iter().flat_map(|p| &p.records).map(|r| r.partition_key.to_string()).collect();
            assert_eq!(keys, ["k1", "k2", "k3", "k4", "k5", "k6"], "{{{{seq}}}} goes on");
        }
        Ok(())
    }

    #[tokio::test]
    async fn follow_picks_up_appended_lines_and_new_files_then_stops() -> TestResult {
        let dir = tempfile::tempdir()?;
        let first = dir.path().join("a.log");
        std::fs::write(&first, "one\npar")?;
        let stream = Arc::new(FakeStream::default());
        let (cx, stop) = context(&stream, None);
        let producer = build(dir.path(), json!({"path": "*.log", "format": "lines", "follow": true}))?;
        let task = tokio::spawn(producer.run(cx));
        wait_for(&stream, 1).await?;
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        assert_eq!(stream.data(), ["one"], "an unfinished line waits for its newline");

        std::fs::OpenOptions::new().append(true).open(&first).and_then(|mut f| {
            use std::io::Write;
            f.write_all(b"tial\nthree\n")
        })?;
        wait_for(&stream, 3).await?;
        std::fs::write(dir.path().join("b.log"), "four\n")?;
        wait_for(&stream, 4).await?;
        assert_eq!(stream.data(), ["one", "partial", "three", "four"]);

        stop.cancel();
        tokio::time::timeout(StdDuration::from_secs(5), task).await???;
        Ok(())
    }

    #[tokio::test]
    async fn rate_limits_records_per_second() -> TestResult {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("in.txt"), "x\n".repeat(10))?;
        let started = tokio::time::Instant::now();
        let records = read_all(dir.path(), json!({"path": "in.txt", "format": "lines", "rate": 20}), None).await?;
        assert_eq!(records.len(), 10);
        // The first record goes at once, the other 9 at 20/s.
        assert!(started.elapsed() >= StdDuration::from_millis(440), "{:?}", started.elapsed());
        Ok(())
    }

    #[test]
    fn validate_checks_the_glob_and_the_partition_key() -> TestResult {
        let config: FileConfig =
            serde_json::from_value(json!({"stream": "s", "path": "logs/[a.ndjson", "partition_key": "{{int 9 1}}"}))?;
        let mut cx = ValidateCx::new(Path::new("."), "/producers/f".into());
        config.validate(&mut cx);
        let (issues, _) = cx.finish();
        let pointers: Vec<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(pointers, ["/producers/f/path", "/producers/f/partition_key"]);
        Ok(())
    }

    /// The benchmark workload: 2,000,000 NDJSON records of ~95 bytes. Run with
    /// `cargo test --release -p sluice-plugins file::tests::throughput -- --ignored --nocapture`.
    #[tokio::test]
    #[ignore = "a measurement: run in release"]
    async fn throughput() -> TestResult {
        let dir = tempfile::tempdir()?;
        let line = r#"{"timestamp": "2020-07-01T00:00:00.000", "requests_newUsers_newOrders_churnUsers": "82,1,0,2"}"#;
        let records = 2_000_000;
        std::fs::write(dir.path().join("in.ndjson"), format!("{line}\n").repeat(records))?;
        let stream = Arc::new(FakeStream::counting());
        let (cx, _stop) = context(&stream, None);
        let producer = build(dir.path(), json!({"path": "in.ndjson"}))?;
        let (started, cpu) = (std::time::Instant::now(), cpu_seconds());
        producer.run(cx).await?;
        let (elapsed, cpu) = (started.elapsed(), cpu_seconds() - cpu);
        assert_eq!(stream.count(), records as u64);
        println!("{records} records in {elapsed:?} ({cpu:.2} s of CPU): {:.2} M/s", records as f64 / cpu / 1e6);
        Ok(())
    }

    /// CPU time of this process so far (Linux: user + system ticks of /proc/self/stat, at 100 Hz).
    fn cpu_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after_name = stat.rsplit(')').next().unwrap_or_default();
        let fields: Vec<f64> = after_name.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        // utime and stime: fields 14 and 15 of the line; 10 and 11 of the numbers after `pid (name) state`.
        fields.get(10..12).map_or(0.0, |t| (t[0] + t[1]) / 100.0)
    }
}
