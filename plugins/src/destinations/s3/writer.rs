//! The running `s3` destination: Firehose's buffer, cut into objects by size, age or the end of input.
//!
//! Every record's bytes (plus the delimiter) are appended to one reusable buffer: the per-record cost is a
//! `memcpy`, with no allocation. The buffer is published as one object when it holds `size` bytes (checked after
//! each record, so a delivery may span two objects), when `interval` has passed since its first record arrived
//! here (a deadline raced against the input channel; `0s` publishes after each delivery), or when the input
//! closes. After a publish the buffer's allocation comes back from the `Bytes` handed to object_store, so
//! steady state allocates nothing per object either. With `naming: deterministic` (the default) the size is
//! checked after each delivery instead, so an object holds whole deliveries and its name can say which input it
//! holds ([`super::recovery`]: announced in the ledger before the put, found again after a crash).
//!
//! Acknowledgements are byte offsets: `appended` counts every byte ever buffered, `published` the bytes in
//! published objects. A delivery waits in `pending` with the offset where its last record ends and is
//! acknowledged once `published` reaches it; deliveries are acknowledged in order, an empty one as soon as
//! everything before it is.
//!
//! Outages: a put that fails for a passing reason is retried (back-off with jitter, capped) for `retry_duration`
//! while the destination takes no new delivery, so the bounded channels in front of it fill and the pipeline
//! upstream waits. Only when `retry_duration` runs out do the buffer's records go under the error prefix
//! (`s3-failed`, one document per record with its raw bytes and the reason, see [`super::failed`]), and are then
//! acknowledged. A failure retrying cannot mend (no such bucket), or an error prefix that cannot be written
//! either, stops `run` with the error and acknowledges nothing, so a restart replays those records: duplicates are
//! possible, loss is not (Firehose's at-least-once).
//!
//! `format: parquet`: the buffer still holds the raw JSON records (and each one's span); a flush encodes them as
//! one Parquet file with one row group ([`super::parquet`]), off the async workers. Records that do not convert
//! go under the error prefix as `format-conversion-failed`.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use flate2::write::GzEncoder;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use sluice_core::runtime::ack::{Ack, Delivery};
use sluice_core::runtime::component::{Destination, DestinationContext, Recovered, RunError};
use sluice_core::runtime::metrics::StageMetrics;
use sluice_core::runtime::record::MAX_RECORD_BYTES;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bucket::{Bucket, RetryPolicy};
use super::failed::{Failure, append_documents};
use super::keys::{ErrorOutputType, KeyNaming};
use super::multipart::UploadJournal;
use super::parquet::ParquetSchema;
use super::recovery::ObjectLedger;
use super::{Compression, Delimiter, ObjectFormat};
use sluice_core::runtime::component::OutputShape;

/// Firehose's largest buffer size hint: the most the buffer reserves up front.
const LARGEST_BUFFER_BYTES: usize = 128 << 20;

/// How an [`S3Destination`] buffers and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterSettings {
    /// Publish once this many bytes are buffered (before compression, as Firehose counts).
    pub size: usize,
    /// Publish once the buffer's first record has waited this long.
    pub interval: Duration,
    /// What follows each record.
    pub delimiter: Delimiter,
    /// Object compression.
    pub compression: Compression,
    /// How failed puts are retried.
    pub retry: RetryPolicy,
    /// How long a put is retried before its records go under the error prefix.
    pub retry_duration: Duration,
    /// Records as delivered, or converted to Parquet.
    pub format: ObjectFormat,
}

/// The `s3` destination, ready to run.
#[derive(Debug)]
pub struct S3Destination {
    bucket: Bucket,
    naming: KeyNaming,
    settings: WriterSettings,
    /// `format: parquet`: the schema from the shape of the output feeding it, or why there is none.
    parquet: Option<Result<Arc<ParquetSchema>, String>>,
    /// `naming: deterministic`: what was published, for effectively-once keys (see [`super::recovery`]).
    objects: Option<ObjectLedger>,
}

impl S3Destination {
    /// A destination writing to `bucket`, naming objects with `naming`.
    pub fn new(bucket: Bucket, naming: KeyNaming, settings: WriterSettings) -> Self {
        S3Destination { bucket, naming, settings, parquet: None, objects: None }
    }

    /// Names objects after what they hold and recovers after a crash with `objects` (`naming: deterministic`):
    /// objects are then cut between deliveries only.
    pub fn with_objects(mut self, objects: ObjectLedger) -> Self {
        self.objects = Some(objects);
        self
    }

    /// Keeps the bucket's multipart uploads in `journal` while they run, so the next start aborts one a crash cut
    /// short ([`super::multipart`]).
    pub fn with_upload_journal(mut self, journal: UploadJournal) -> Self {
        self.bucket = self.bucket.with_upload_journal(journal);
        self
    }

    /// The Parquet schema of objects, or why there is none (`format: parquet` needs one typed JSON output).
    fn parquet_schema(shapes: &[OutputShape]) -> Result<Arc<ParquetSchema>, String> {
        let Some(first) = shapes.first() else {
            return Err("`format: parquet` needs an application output (JSON) feeding it, with typed columns".into());
        };
        if let Some(csv) = shapes.iter().find(|s| s.format != "json") {
            return Err(format!(
                "`format: parquet` reads JSON records, but application `{}` sends `{}` as {}",
                csv.application, csv.stream, csv.format
            ));
        }
        if let Some(other) = shapes.iter().find(|s| s.columns != first.columns) {
            return Err(format!(
                "`format: parquet` needs one set of columns, but `{}.{}` and `{}.{}` differ",
                first.application, first.stream, other.application, other.stream
            ));
        }
        ParquetSchema::new(&first.columns).map(Arc::new)
    }

    /// Writes records that failed (`error`) as one object under the error prefix; see [`write_failed`].
    pub async fn write_failed(
        &self,
        error: ErrorOutputType,
        oldest_arrival_ms: i64,
        body: Bytes,
    ) -> Result<String, RunError> {
        write_failed(&self.bucket, &self.naming, error, oldest_arrival_ms, body, self.settings.retry).await
    }
}

#[async_trait]
impl Destination for S3Destination {
    fn accept_input_shapes(&mut self, shapes: Vec<OutputShape>) {
        if self.settings.format == ObjectFormat::Parquet {
            self.parquet = Some(Self::parquet_schema(&shapes));
        }
    }

    async fn recover(&mut self) -> Result<Vec<Recovered>, RunError> {
        let aborted = self.bucket.abort_leftover_uploads().await.map_err(RunError)?;
        if aborted > 0 {
            tracing::info!(bucket = %self.bucket.url(), aborted, "aborted the multipart uploads a crash left");
        }
        match &mut self.objects {
            Some(objects) => objects.recover(&self.bucket).await,
            None => Ok(Vec::new()),
        }
    }

    async fn run(self: Box<Self>, mut input: mpsc::Receiver<Delivery>, cx: DestinationContext) -> Result<(), RunError> {
        if self.settings.format == ObjectFormat::Parquet {
            let problem = match &self.parquet {
                None => Some("`format: parquet` got no columns from the pipeline"),
                Some(Err(e)) => Some(e.as_str()),
                Some(Ok(_)) => None,
            };
            if let Some(e) = problem {
                return Err(RunError(format!("s3 destination `{}`: {e}", cx.name)));
            }
        }
        let mut writer = Writer::new(*self, cx.name, cx.metrics);
        loop {
            let deadline = writer.deadline();
            // Biased towards the deadline: a busy channel must not starve the age flush.
            let delivery = tokio::select! {
                biased;
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    writer.flush().await?;
                    continue;
                }
                delivery = input.recv() => delivery,
            };
            match delivery {
                Some(delivery) => writer.push(delivery).await?,
                None => return writer.finish().await,
            }
        }
    }
}

/// The buffer, its pending acknowledgements, and what publishing needs.
struct Writer {
    dest: S3Destination,
    name: String,
    metrics: Arc<StageMetrics>,
    /// Raw records and delimiters of the object being built.
    data: Vec<u8>,
    /// Gzip output, kept between objects.
    spare: Vec<u8>,
    /// The key being written, kept between objects.
    key: String,
    /// Each record's bytes in `data` (start, end) and arrival time: for Parquet and the error prefix.
    spans: Vec<(usize, usize, i64)>,
    /// Records in `data`, their payload bytes, and the oldest one's arrival time.
    records: u64,
    payload_bytes: u64,
    oldest_ms: i64,
    /// When the buffer's first record arrived here.
    opened_at: Option<Instant>,
    /// Bytes ever buffered / bytes in published objects: the offsets acknowledgements wait on.
    appended: u64,
    published: u64,
    /// Deliveries not yet acknowledged, with the offset where each ends.
    pending: VecDeque<(u64, Ack)>,
    rng: SmallRng,
}

impl Writer {
    fn new(dest: S3Destination, name: String, metrics: Arc<StageMetrics>) -> Self {
        Writer {
            dest,
            name,
            metrics,
            data: Vec::new(),
            spare: Vec::new(),
            key: String::new(),
            spans: Vec::new(),
            records: 0,
            payload_bytes: 0,
            oldest_ms: i64::MAX,
            opened_at: None,
            appended: 0,
            published: 0,
            pending: VecDeque::new(),
            // Seeded from the OS once (uuid draws from it), then cheap: keys need uniqueness, not secrecy.
            rng: SmallRng::seed_from_u64(uuid::Uuid::new_v4().as_u64_pair().0),
        }
    }

    /// When the buffer must be published by age; `None` while it is empty.
    fn deadline(&self) -> Option<Instant> {
        self.opened_at.map(|at| at + self.dest.settings.interval)
    }

    /// Buffers a delivery, publishing whenever the size hint is reached, and queues its acknowledgement.
    async fn push(&mut self, delivery: Delivery) -> Result<(), RunError> {
        let newline = self.dest.settings.delimiter == Delimiter::Newline;
        let size = self.dest.settings.size;
        // Effectively-once objects are cut between deliveries, so each one holds exactly the input it names.
        let whole_deliveries = self.dest.objects.is_some();
        if let Some(objects) = &mut self.dest.objects {
            if objects.already_published(&delivery.ack) {
                self.pending.push_back((self.appended, delivery.ack));
                self.acknowledge_covered();
                return Ok(());
            }
            objects.buffer(&delivery.ack);
        }
        for record in &delivery.records {
            if self.records == 0 {
                self.opened_at = Some(Instant::now());
                // Room for a whole object at once (it ends with the record that reaches `size`): growing a big
                // buffer step by step costs a copy or a remap of everything in it at every step.
                self.data.reserve(size.min(LARGEST_BUFFER_BYTES) + MAX_RECORD_BYTES + 1);
            }
            self.spans.push((self.data.len(), self.data.len() + record.data.len(), record.arrival_ms));
            self.data.extend_from_slice(&record.data);
            if newline {
                self.data.push(b'\n');
            }
            self.appended += (record.data.len() + usize::from(newline)) as u64;
            self.records += 1;
            self.payload_bytes += record.data.len() as u64;
            self.oldest_ms = self.oldest_ms.min(record.arrival_ms);
            if self.data.len() >= size && !whole_deliveries {
                self.flush().await?;
            }
        }
        self.pending.push_back((self.appended, delivery.ack));
        if whole_deliveries && self.data.len() >= size {
            self.flush().await?;
        }
        self.metrics.buffered_bytes.store(self.data.len() as u64, Ordering::Relaxed);
        // Also covers `interval: 0s`, and a deadline that passed while the channel kept us busy.
        if self.deadline().is_some_and(|d| d <= Instant::now()) {
            self.flush().await?;
        }
        self.acknowledge_covered();
        Ok(())
    }

    /// Publishes everything buffered at the end of the input.
    async fn finish(mut self) -> Result<(), RunError> {
        self.flush().await?;
        self.acknowledge_covered();
        Ok(())
    }

    /// Publishes the buffer as one object, then acknowledges the deliveries it completes.
    async fn flush(&mut self) -> Result<(), RunError> {
        if self.records == 0 {
            return Ok(());
        }
        // Records of zero bytes with no delimiter leave nothing to write; Firehose writes no empty objects.
        if !self.data.is_empty() || self.dest.settings.format == ObjectFormat::Parquet {
            match &mut self.dest.objects {
                Some(objects) => objects.announce(&self.dest.naming, self.oldest_ms, &mut self.key).await?,
                None => self.dest.naming.object_key(self.oldest_ms, &mut self.rng, &mut self.key),
            }
            let (body, unconverted) = self.encode().await?;
            if !unconverted.is_empty() {
                self.write_unconverted(&unconverted).await?;
            }
            if let Some(body) = body {
                self.publish(body).await?;
            }
            if let Some(objects) = &mut self.dest.objects {
                objects.published();
            }
        }
        self.data.clear();
        self.spans.clear();
        self.published = self.appended;
        self.metrics.add(self.records, self.payload_bytes);
        self.metrics.buffered_bytes.store(0, Ordering::Relaxed);
        self.records = 0;
        self.payload_bytes = 0;
        self.oldest_ms = i64::MAX;
        self.opened_at = None;
        self.acknowledge_covered();
        Ok(())
    }

    /// Puts the object, retrying through outages for `retry_duration`; then its records go under the error prefix.
    async fn publish(&mut self, body: Bytes) -> Result<(), RunError> {
        let size = body.len() as u64;
        let settings = self.dest.settings;
        let written = self.dest.bucket.put_within(
            &self.key,
            body.clone(),
            settings.retry,
            settings.retry_duration,
            &mut self.rng,
        );
        match written.await {
            Ok(()) => {
                let reclaimed = reclaim(body);
                match (settings.format, settings.compression) {
                    (ObjectFormat::Raw, Compression::None) => self.data = reclaimed,
                    (ObjectFormat::Raw, Compression::Gzip) => self.spare = reclaimed,
                    (ObjectFormat::Parquet, _) => {}
                }
                self.metrics.objects.fetch_add(1, Ordering::Relaxed);
                self.metrics.object_sizes.observe(size);
                Ok(())
            }
            Err(e) if e.permanent => Err(RunError(format!(
                "s3 destination `{}`: could not write object `{}` to `{}`: {} (retrying cannot help; nothing was \
                 acknowledged, so a restart delivers these records again)",
                self.name,
                self.key,
                self.dest.bucket.url(),
                e.source
            ))),
            Err(e) => {
                // The raw records: still in `data`, unless the body was `data` itself.
                if self.data.is_empty() {
                    self.data = body.to_vec();
                }
                let message = format!(
                    "could not write object `{}` to `{}` for {:?} ({} attempts): {}",
                    self.key,
                    self.dest.bucket.url(),
                    settings.retry_duration,
                    e.attempts,
                    e.source
                );
                tracing::error!(destination = %self.name, "{message}; its records go under the error prefix");
                let failure = Failure { code: "S3.PutObject", message: &message, attempts: e.attempts };
                let mut documents = Vec::new();
                let records = self.spans.iter().map(|&(start, end, at)| (&self.data[start..end], at, None));
                append_documents(&mut documents, records, &failure);
                self.put_errors(ErrorOutputType::S3Failed, documents, false).await
            }
        }
    }

    /// Writes the records Parquet conversion left out under the error prefix, with each one's reason.
    async fn write_unconverted(&mut self, unconverted: &[(usize, String)]) -> Result<(), RunError> {
        let failure = Failure { code: "DataFormatConversion.MalformedData", message: "", attempts: 1 };
        let mut documents = Vec::new();
        let records = unconverted.iter().filter_map(|(index, reason)| {
            let &(start, end, at) = self.spans.get(*index)?;
            Some((&self.data[start..end], at, Some(reason.as_str())))
        });
        append_documents(&mut documents, records, &failure);
        tracing::warn!(destination = %self.name, records = unconverted.len(), "records could not be converted to Parquet");
        self.put_errors(ErrorOutputType::FormatConversionFailed, documents, true).await
    }

    /// Puts one error-prefix object: retried for `retry_duration` (`patient`) or only briefly (the bucket has just
    /// failed for that long already); a failure stops the run with nothing acknowledged.
    async fn put_errors(&mut self, error: ErrorOutputType, documents: Vec<u8>, patient: bool) -> Result<(), RunError> {
        let mut key = String::new();
        self.dest.naming.error_key(self.oldest_ms, error, &mut self.rng, &mut key);
        let settings = self.dest.settings;
        let body = Bytes::from(documents);
        let written = if patient {
            self.dest.bucket.put_within(&key, body, settings.retry, settings.retry_duration, &mut self.rng).await
        } else {
            self.dest.bucket.put(&key, body, settings.retry, &mut self.rng).await
        };
        written.map_err(|e| {
            RunError(format!(
                "s3 destination `{}`: could not write failed records to `{key}` in `{}` either ({} attempts): {}; \
                 nothing was acknowledged, so a restart delivers these records again",
                self.name,
                self.dest.bucket.url(),
                e.attempts,
                e.source
            ))
        })?;
        self.metrics.objects.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The object's bytes (`None`: nothing converted), and the records Parquet conversion left out with why.
    async fn encode(&mut self) -> Result<(Option<Bytes>, Vec<(usize, String)>), RunError> {
        let Some(Ok(schema)) = self.dest.parquet.clone() else {
            return Ok((Some(self.body().await?), Vec::new()));
        };
        let data = std::mem::take(&mut self.data);
        let spans = std::mem::take(&mut self.spans);
        let (data, spans, encoded) = tokio::task::spawn_blocking(move || {
            let encoded = schema.encode(spans.iter().map(|&(start, end, _)| &data[start..end]));
            (data, spans, encoded)
        })
        .await
        .map_err(|e| RunError(format!("s3 destination `{}`: encoding Parquet failed: {e}", self.name)))?;
        self.data = data;
        self.spans = spans;
        let encoded = encoded.map_err(|e| RunError(format!("s3 destination `{}`: {e}", self.name)))?;
        Ok((encoded.file.map(Bytes::from), encoded.failed))
    }

    /// The object's bytes: the buffer itself, or its gzip (compressed off the async workers: it takes a while).
    async fn body(&mut self) -> Result<Bytes, RunError> {
        match self.dest.settings.compression {
            Compression::None => Ok(Bytes::from(std::mem::take(&mut self.data))),
            Compression::Gzip => {
                let raw = std::mem::take(&mut self.data);
                let mut out = std::mem::take(&mut self.spare);
                out.clear();
                let (raw, gz) = tokio::task::spawn_blocking(move || {
                    let gz = gzip(&raw, out);
                    (raw, gz)
                })
                .await
                .map_err(|e| RunError(format!("s3 destination `{}`: compressing an object failed: {e}", self.name)))?;
                self.data = raw;
                let gz = gz.map_err(|e| RunError(format!("s3 destination `{}`: gzip failed: {e}", self.name)))?;
                Ok(Bytes::from(gz))
            }
        }
    }

    fn acknowledge_covered(&mut self) {
        while let Some((end, _)) = self.pending.front()
            && *end <= self.published
        {
            if let Some((_, ack)) = self.pending.pop_front() {
                ack.acknowledge();
            }
        }
    }
}

fn gzip(raw: &[u8], out: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(out, flate2::Compression::default());
    encoder.write_all(raw)?;
    encoder.finish()
}

/// Takes back the allocation of a body object_store is done with (it keeps no reference once a put returns).
fn reclaim(body: Bytes) -> Vec<u8> {
    match body.try_into_mut() {
        Ok(buffer) => {
            let mut vec = Vec::from(buffer);
            vec.clear();
            vec
        }
        Err(_) => Vec::new(),
    }
}

/// Writes records that failed processing under the error prefix, as one object: the hook for error outputs.
///
/// `body` is the object as the caller formatted it (Firehose writes one JSON document per failed record);
/// `oldest_arrival_ms` names it. Returns the key written.
pub async fn write_failed(
    bucket: &Bucket,
    naming: &KeyNaming,
    error: ErrorOutputType,
    oldest_arrival_ms: i64,
    body: Bytes,
    retry: RetryPolicy,
) -> Result<String, RunError> {
    let mut rng = SmallRng::seed_from_u64(uuid::Uuid::new_v4().as_u64_pair().0);
    let mut key = String::new();
    naming.error_key(oldest_arrival_ms, error, &mut rng, &mut key);
    match bucket.put(&key, body, retry, &mut rng).await {
        Ok(()) => Ok(key),
        Err(e) => Err(RunError(format!(
            "could not write failed records to `{key}` in `{}` after {} attempts: {}",
            bucket.url(),
            e.attempts,
            e.source
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::path::{Path, PathBuf};

    use sluice_core::runtime::ack::AckTracker;
    use sluice_core::runtime::record::{Positions, Record};

    use super::super::keys::PrefixTemplate;
    use super::super::keys::is_uuid_v4;
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;
    /// Objects as (key, bytes).
    type Objects = Vec<(String, Vec<u8>)>;

    /// 2024-03-05T07:08:09Z
    const T0: i64 = 1_709_622_489_000;

    fn settings(size: usize, interval: Duration) -> WriterSettings {
        WriterSettings {
            size,
            interval,
            delimiter: Delimiter::Newline,
            compression: Compression::None,
            retry: RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(1) },
            retry_duration: Duration::from_millis(50),
            format: ObjectFormat::Raw,
        }
    }

    fn destination(dir: &Path, naming: KeyNaming, settings: WriterSettings) -> Result<S3Destination, String> {
        Ok(S3Destination::new(Bucket::open("file://./bucket", dir)?, naming, settings))
    }

    fn default_naming(extension: &'static str) -> KeyNaming {
        KeyNaming::new("out", PrefixTemplate::default_prefix(), PrefixTemplate::default_error_prefix(), extension)
    }

    fn record(data: &str, arrival_ms: i64) -> Record {
        Record { partition_key: "k".into(), data: Bytes::copy_from_slice(data.as_bytes()), arrival_ms, shard: None }
    }

    fn delivery(records: Vec<Record>) -> Delivery {
        Delivery { records, ack: Ack::none() }
    }

    fn at(seq: u64) -> Positions {
        Positions::from([("s0".to_owned(), seq.to_string())])
    }

    /// Every object under `root` as (key, bytes), sorted by key; fails on leftover staging files.
    fn objects(root: &Path) -> Result<Objects, Box<dyn std::error::Error>> {
        fn walk(root: &Path, dir: &Path, out: &mut Objects) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let path: PathBuf = entry?.path();
                if path.is_dir() {
                    walk(root, &path, out)?;
                } else {
                    let key = path.strip_prefix(root).map_err(std::io::Error::other)?.to_string_lossy().into_owned();
                    out.push((key, std::fs::read(&path)?));
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        walk(root, root, &mut out)?;
        out.sort();
        if let Some((key, _)) = out.iter().find(|(key, _)| key.contains('#')) {
            return Err(format!("staging file left behind: {key}").into());
        }
        Ok(out)
    }

    fn context(metrics: &Arc<StageMetrics>) -> DestinationContext {
        DestinationContext { name: "out".to_owned(), metrics: Arc::clone(metrics) }
    }

    /// Runs the destination over `deliveries` to the end of its input.
    async fn run_all(dest: S3Destination, deliveries: Vec<Delivery>) -> Result<Arc<StageMetrics>, RunError> {
        let metrics = Arc::new(StageMetrics::default());
        let (tx, rx) = mpsc::channel(deliveries.len().max(1));
        for d in deliveries {
            tx.send(d).await.map_err(|e| RunError(e.to_string()))?;
        }
        drop(tx);
        Box::new(dest).run(rx, context(&metrics)).await?;
        Ok(metrics)
    }

    #[tokio::test]
    async fn default_key_and_exact_bytes_on_close() -> TestResult {
        let dir = tempfile::tempdir()?;
        let dest = destination(dir.path(), default_naming(""), settings(1 << 20, Duration::from_secs(300)))?;
        let first = delivery(vec![record("{\"a\":1}", T0 + 500), record("{\"a\":2}", T0 - 2_000)]);
        let metrics = run_all(dest, vec![first, delivery(vec![]), delivery(vec![record("x", T0)])]).await?;
        let all = objects(&dir.path().join("bucket"))?;
        assert_eq!(all.len(), 1, "{all:?}");
        let (key, bytes) = &all[0];
        // The oldest record (07:08:07) names the object.
        let fixed = "2024/03/05/07/out-1-2024-03-05-07-08-07-";
        assert!(key.starts_with(fixed) && is_uuid_v4(&key[fixed.len()..]), "{key}");
        assert_eq!(bytes.as_slice(), b"{\"a\":1}\n{\"a\":2}\nx\n");
        let m = metrics.snapshot();
        assert_eq!((m.records, m.bytes, m.objects, m.buffered_bytes), (3, 15, 1, 0));
        Ok(())
    }

    #[tokio::test]
    async fn size_hint_splits_deliveries_and_acks_wait_for_coverage() -> TestResult {
        let dir = tempfile::tempdir()?;
        let dest = destination(dir.path(), default_naming(""), settings(40, Duration::from_secs(300)))?;
        let metrics = Arc::new(StageMetrics::default());
        let mut writer = Writer::new(dest, "out".to_owned(), Arc::clone(&metrics));
        let (tracker, committable) = AckTracker::new(1);
        // Ten 9-byte records (10 with the newline), a second apart; 40 bytes make an object.
        let recs: Vec<Record> = (0..10).map(|i| record(&format!("record-{i:02}"), T0 + i * 1000)).collect();
        let batches = [&recs[0..3], &recs[3..6], &recs[6..10]];
        let expected_commits = [None, Some(at(0)), Some(at(1))];
        for (i, (batch, expected)) in batches.iter().zip(expected_commits).enumerate() {
            let acks = tracker.register(at(i as u64));
            writer.push(Delivery { records: batch.to_vec(), ack: acks.for_sink(0) }).await?;
            assert_eq!(*committable.borrow(), expected, "after delivery {i}");
        }
        assert_eq!(metrics.snapshot().buffered_bytes, 20);
        writer.finish().await?;
        assert_eq!(*committable.borrow(), Some(at(2)), "the close covers the last delivery");
        let all = objects(&dir.path().join("bucket"))?;
        let bodies: Vec<&[u8]> = all.iter().map(|(_, b)| b.as_slice()).collect();
        assert_eq!(
            bodies,
            [
                &b"record-00\nrecord-01\nrecord-02\nrecord-03\n"[..],
                b"record-04\nrecord-05\nrecord-06\nrecord-07\n",
                b"record-08\nrecord-09\n"
            ]
        );
        assert!(all[1].0.contains("-07-08-13-"), "named after its oldest record: {}", all[1].0);
        assert_eq!(metrics.snapshot().objects, 3);
        Ok(())
    }

    #[tokio::test]
    async fn interval_publishes_old_buffers() -> TestResult {
        let dir = tempfile::tempdir()?;
        let bucket_dir = dir.path().join("bucket");
        let interval = Duration::from_millis(300);
        let dest = destination(dir.path(), default_naming(""), settings(1 << 20, interval))?;
        let metrics = Arc::new(StageMetrics::default());
        let (tx, rx) = mpsc::channel(4);
        let task = tokio::spawn(Box::new(dest).run(rx, context(&metrics)));
        let (tracker, committable) = AckTracker::new(1);
        let sent = Instant::now();
        tx.send(Delivery { records: vec![record("a", T0)], ack: tracker.register(at(1)).for_sink(0) }).await?;
        tx.send(Delivery { records: vec![record("b", T0)], ack: tracker.register(at(2)).for_sink(0) }).await?;
        wait_for(|| metrics.snapshot().objects == 1).await?;
        assert!(sent.elapsed() >= interval, "published after the interval, not before");
        assert_eq!(objects(&bucket_dir)?.len(), 1);
        assert_eq!(*committable.borrow(), Some(at(2)));
        tx.send(Delivery { records: vec![record("c", T0)], ack: tracker.register(at(3)).for_sink(0) }).await?;
        wait_for(|| metrics.snapshot().objects == 2).await?;
        assert_eq!(*committable.borrow(), Some(at(3)));
        drop(tx);
        task.await??;
        let bodies: Vec<Vec<u8>> = objects(&bucket_dir)?.into_iter().map(|(_, b)| b).collect();
        assert!(bodies.contains(&b"a\nb\n".to_vec()) && bodies.contains(&b"c\n".to_vec()), "{bodies:?}");
        Ok(())
    }

    /// Polls `done` for up to 10 s (real time: these tests run on a shared machine).
    async fn wait_for(done: impl Fn() -> bool) -> Result<(), String> {
        let start = Instant::now();
        while !done() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err("timed out".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    #[tokio::test]
    async fn zero_interval_publishes_each_delivery() -> TestResult {
        let dir = tempfile::tempdir()?;
        let dest = destination(dir.path(), default_naming(""), settings(1 << 20, Duration::ZERO))?;
        let metrics = Arc::new(StageMetrics::default());
        let mut writer = Writer::new(dest, "out".to_owned(), Arc::clone(&metrics));
        let (tracker, committable) = AckTracker::new(1);
        writer
            .push(Delivery {
                records: vec![record("a", T0), record("b", T0)],
                ack: tracker.register(at(1)).for_sink(0),
            })
            .await?;
        assert_eq!(*committable.borrow(), Some(at(1)));
        writer.push(Delivery { records: vec![record("c", T0)], ack: tracker.register(at(2)).for_sink(0) }).await?;
        assert_eq!(*committable.borrow(), Some(at(2)));
        assert_eq!(metrics.snapshot().objects, 2);
        assert!(writer.data.is_empty() && writer.data.capacity() >= 4, "the buffer's allocation comes back");
        Ok(())
    }

    #[tokio::test]
    async fn gzip_round_trips_with_gz_suffix() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut s = settings(1 << 20, Duration::from_secs(300));
        s.compression = Compression::Gzip;
        let dest = destination(dir.path(), default_naming(".gz"), s)?;
        let records: Vec<Record> = (0..1000).map(|i| record(&format!("{{\"n\":{i}}}"), T0)).collect();
        let expected: Vec<u8> = records.iter().flat_map(|r| r.data.iter().copied().chain([b'\n'])).collect();
        run_all(dest, vec![delivery(records)]).await?;
        let all = objects(&dir.path().join("bucket"))?;
        assert_eq!(all.len(), 1);
        assert!(all[0].0.ends_with(".gz"), "{}", all[0].0);
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(all[0].1.as_slice()).read_to_end(&mut plain)?;
        assert_eq!(plain, expected);
        Ok(())
    }

    #[tokio::test]
    async fn delimiter_none_concatenates() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut s = settings(1 << 20, Duration::from_secs(300));
        s.delimiter = Delimiter::None;
        let dest = destination(dir.path(), default_naming(""), s)?;
        run_all(dest, vec![delivery(vec![record("{\"a\":1}", T0), record("{\"a\":2}", T0)])]).await?;
        let all = objects(&dir.path().join("bucket"))?;
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].1, b"{\"a\":1}{\"a\":2}");
        Ok(())
    }

    #[tokio::test]
    async fn custom_prefixes_expand() -> TestResult {
        let dir = tempfile::tempdir()?;
        let prefix =
            PrefixTemplate::parse("p/dt=!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/!{firehose:random-string}/", false)?;
        let naming = KeyNaming::new("out", prefix, PrefixTemplate::default_error_prefix(), "");
        let dest = destination(dir.path(), naming, settings(1 << 20, Duration::from_secs(300)))?;
        run_all(dest, vec![delivery(vec![record("a", T0)])]).await?;
        let all = objects(&dir.path().join("bucket"))?;
        let key = &all[0].0;
        let rest = key.strip_prefix("p/dt=2024-03-05/h=07/").ok_or(format!("prefix: {key}"))?;
        let (random, name) = rest.split_once('/').ok_or(format!("random-string folder: {key}"))?;
        assert!(random.len() == 11 && random.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
        assert!(name.starts_with("out-1-2024-03-05-07-08-09-"), "{key}");

        let dir = tempfile::tempdir()?;
        let naming =
            KeyNaming::new("out", PrefixTemplate::parse("logs/", false)?, PrefixTemplate::default_error_prefix(), "");
        let dest = destination(dir.path(), naming, settings(1 << 20, Duration::from_secs(300)))?;
        run_all(dest, vec![delivery(vec![record("a", T0)])]).await?;
        let all = objects(&dir.path().join("bucket"))?;
        assert!(all[0].0.starts_with("logs/2024/03/05/07/out-1-2024-03-05-07-08-09-"), "{}", all[0].0);
        Ok(())
    }

    #[tokio::test]
    async fn after_the_retry_duration_records_go_under_the_error_prefix_and_are_acknowledged() -> TestResult {
        let dir = tempfile::tempdir()?;
        let naming = KeyNaming::new(
            "out",
            PrefixTemplate::parse("blocked/", false)?,
            PrefixTemplate::parse("errors/!{firehose:error-output-type}/", true)?,
            "",
        );
        let dest = destination(dir.path(), naming, settings(1 << 20, Duration::from_secs(300)))?;
        // A file where the prefix's folder must go: every put there fails, whoever runs the test.
        std::fs::write(dir.path().join("bucket/blocked"), b"")?;
        let (tracker, committable) = AckTracker::new(1);
        let acked =
            Delivery { records: vec![record("a", T0), record("b", T0)], ack: tracker.register(at(1)).for_sink(0) };
        let metrics = Arc::new(StageMetrics::default());
        let (tx, rx) = mpsc::channel(2);
        tx.send(acked).await?;
        tx.send(Delivery { records: vec![], ack: tracker.register(at(2)).for_sink(0) }).await?;
        drop(tx);
        Box::new(dest).run(rx, context(&metrics)).await?;
        assert_eq!(*committable.borrow(), Some(at(2)), "durable under the error prefix: acknowledged");
        let all = objects(&dir.path().join("bucket"))?;
        let (key, body) = all.iter().find(|(k, _)| k.starts_with("errors/")).ok_or("an error object")?;
        assert!(key.starts_with("errors/s3-failed/2024/03/05/07/out-1-2024-03-05-07-08-09-"), "{key}");
        let documents: Vec<serde_json::Value> =
            String::from_utf8(body.clone())?.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
        let raw: Vec<&str> = documents.iter().filter_map(|d| d["rawData"].as_str()).collect();
        assert_eq!(raw, ["YQ==", "Yg=="], "every record, raw bytes in base64");
        let reason = documents[0]["lastErrorMessage"].as_str().unwrap_or_default();
        assert!(reason.contains("could not write object `blocked/2024/03/05/07/out-1-"), "{reason}");
        assert_eq!(documents[0]["lastErrorCode"], "S3.PutObject");
        Ok(())
    }

    #[tokio::test]
    async fn failed_records_go_under_the_error_prefix() -> TestResult {
        let dir = tempfile::tempdir()?;
        let bucket = Bucket::open("file://./bucket", dir.path())?;
        let naming = KeyNaming::new(
            "out",
            PrefixTemplate::default_prefix(),
            PrefixTemplate::parse("errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM}/", true)?,
            "",
        );
        let body = Bytes::from_static(b"{\"rawData\":\"YQ==\"}\n");
        let key =
            write_failed(&bucket, &naming, ErrorOutputType::ProcessingFailed, T0, body, RetryPolicy::default()).await?;
        assert!(key.starts_with("errors/processing-failed/2024/03/out-1-2024-03-05-07-08-09-"), "{key}");
        assert_eq!(objects(&dir.path().join("bucket"))?, [(key, b"{\"rawData\":\"YQ==\"}\n".to_vec())]);
        Ok(())
    }
}
