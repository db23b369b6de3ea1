//! The bucket objects go to: a local folder (`file://`) or S3 (`s3://`), behind object_store.
//!
//! Both publish an object only once it is complete: `LocalFileSystem` writes a staging file and renames it
//! (with `fsync` of the file and its directory before the rename returns, so an acknowledged object survives a
//! crash), S3 makes a `PutObject` or a completed multipart upload visible atomically. Objects over
//! [`MULTIPART_THRESHOLD`] go up in parts, a few at a time; a failed upload is aborted so no parts leak, and on
//! S3 an upload a crash cut short is aborted at the next start ([`super::multipart`]).
//! A failed put is retried with exponential back-off and jitter ([`RetryPolicy`]), always to the same key, so
//! a put that did land before its answer was lost is overwritten rather than duplicated.
//!
//! Outages: [`Bucket::put_within`] keeps retrying a put that fails for a passing reason (the server is down or
//! busy, a timeout, a 5xx) for a whole retry duration, the pause doubling up to [`MAX_BACKOFF`]; a failure that
//! retrying cannot mend (no such bucket, access denied) returns at once, marked permanent. object_store's own
//! retries are kept short, so these pauses are the ones that count.
//!
//! `s3://` takes its settings from the `AWS_*` environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials),
//! overridden by the destination's `region:` and `endpoint:`; path-style addressing, so a local server's bucket
//! needs no DNS name; plain HTTP only when the endpoint is explicitly `http://`.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, RetryConfig};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use rand::Rng;

pub use crate::retry::RetryPolicy;

use super::multipart::{Multipart, UploadJournal};

/// Objects larger than this go up as multipart uploads.
pub const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;

/// Size of each part but the last (S3 wants at least 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploading at once.
const PART_CONCURRENCY: usize = 4;

/// The longest pause between two attempts of [`Bucket::put_within`].
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long object_store itself retries one request before it reports the failure here.
const CLIENT_RETRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a bucket is and how to reach it: the `s3` destination's settings beyond its URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketOptions {
    /// The AWS region (`s3://` only); default: `AWS_REGION` / `AWS_DEFAULT_REGION`, else object_store's default.
    pub region: Option<String>,
    /// The S3 endpoint (`s3://` only): a local server or a VPC endpoint; default `AWS_ENDPOINT_URL(_S3)`.
    pub endpoint: Option<String>,
}

/// A put that failed on every attempt.
#[derive(Debug)]
pub struct PutError {
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's error.
    pub source: object_store::Error,
    /// Whether retrying cannot help (no such bucket, access denied): the put was given up at once.
    pub permanent: bool,
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failed after {} attempts: {}", self.attempts, self.source)
    }
}

/// Whether retrying `error` cannot help: the bucket or key does not exist, or access is refused.
fn is_permanent(error: &object_store::Error) -> bool {
    matches!(
        error,
        object_store::Error::NotFound { .. }
            | object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. }
            | object_store::Error::InvalidPath { .. }
            | object_store::Error::NotSupported { .. }
            | object_store::Error::NotImplemented { .. }
    )
}

impl std::error::Error for PutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Where objects are written.
#[derive(Debug, Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    url: String,
    /// S3's multipart API, for large objects on `s3://` (object_store's `put_multipart` hides the upload id a
    /// crash would need to abort the upload later).
    multipart: Option<Multipart>,
}

impl Bucket {
    /// Opens the bucket `url`: `file://./relative` (resolved against `base_dir`), `file:///absolute`, or
    /// `s3://bucket[/key-prefix]` (region, endpoint and credentials from the usual `AWS_*` environment).
    /// A `file://` folder is created if missing.
    pub fn open(url: &str, base_dir: &Path) -> Result<Self, String> {
        Self::open_with(url, base_dir, &BucketOptions::default())
    }

    /// [`Bucket::open`] with a region and an endpoint that override the environment's (`s3://` only).
    pub fn open_with(url: &str, base_dir: &Path, options: &BucketOptions) -> Result<Self, String> {
        let mut multipart = None;
        let store: Arc<dyn ObjectStore> = if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err(format!("bucket `{url}` names no folder; use `file://./folder` or `file:///abs/folder`"));
            }
            let dir = base_dir.join(path);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create bucket folder {} for `{url}`: {e}", dir.display()))?;
            let local = LocalFileSystem::new_with_prefix(&dir)
                .map_err(|e| format!("cannot open bucket folder {} for `{url}`: {e}", dir.display()))?;
            Arc::new(local.with_fsync(true))
        } else if let Some(rest) = url.strip_prefix("s3://") {
            let (name, key_prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if name.is_empty() {
                return Err(format!("bucket `{url}` names no bucket; use `s3://bucket-name[/key-prefix]`"));
            }
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(name)
                .with_virtual_hosted_style_request(false)
                // One request gives up after a few quick retries: the destination's own loop waits out outages.
                .with_retry(RetryConfig {
                    backoff: BackoffConfig::default(),
                    max_retries: 3,
                    retry_timeout: CLIENT_RETRY_TIMEOUT,
                });
            if let Some(region) = &options.region {
                builder = builder.with_region(region);
            }
            if let Some(endpoint) = &options.endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            // Plain HTTP only when the endpoint says so (a local MinIO or LocalStack), never by default.
            let http = [AmazonS3ConfigKey::S3Endpoint, AmazonS3ConfigKey::Endpoint]
                .iter()
                .find_map(|k| builder.get_config_value(k))
                .is_some_and(|endpoint| endpoint.starts_with("http://"));
            let s3 = builder.with_allow_http(http).build().map_err(|e| format!("cannot open bucket `{url}`: {e}"))?;
            let key_prefix = key_prefix.trim_matches('/');
            let prefix = (!key_prefix.is_empty()).then(|| object_path(key_prefix));
            multipart = Some(Multipart { store: Arc::new(s3.clone()), prefix: prefix.clone(), journal: None });
            match prefix {
                None => Arc::new(s3),
                Some(prefix) => Arc::new(PrefixStore::new(s3, prefix)),
            }
        } else {
            return Err(format!("bucket `{url}` is not a `file://` or `s3://` URL"));
        };
        Ok(Bucket { store, url: url.to_owned(), multipart })
    }

    /// A bucket over any store (tests, other backends).
    pub fn from_store(store: Arc<dyn ObjectStore>, url: &str) -> Self {
        Bucket { store, url: url.to_owned(), multipart: None }
    }

    /// Keeps this bucket's multipart uploads in `journal` while they run, so a crash cannot leak one
    /// ([`Bucket::abort_leftover_uploads`]). Only `s3://` buckets upload in parts; elsewhere it changes nothing.
    pub fn with_upload_journal(mut self, journal: UploadJournal) -> Self {
        if let Some(multipart) = &mut self.multipart {
            multipart.journal = Some(Arc::new(journal));
        }
        self
    }

    /// Aborts the multipart uploads a crash left in the journal; returns how many.
    pub async fn abort_leftover_uploads(&self) -> Result<usize, String> {
        match &self.multipart {
            Some(multipart) => multipart.abort_leftovers().await,
            None => Ok(0),
        }
    }

    /// The bucket's URL, as configured.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store behind the bucket.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Writes `body` at `key`, retrying as `policy` says; the object is visible only once complete.
    pub async fn put(&self, key: &str, body: Bytes, policy: RetryPolicy, rng: &mut impl Rng) -> Result<(), PutError> {
        let location = object_path(key);
        let mut attempt = 0;
        loop {
            let result = self.put_once(&location, body.clone()).await;
            attempt += 1;
            match result {
                Ok(()) => return Ok(()),
                Err(source) if attempt >= policy.attempts.max(1) || is_permanent(&source) => {
                    let permanent = is_permanent(&source);
                    return Err(PutError { attempts: attempt, source, permanent });
                }
                Err(e) => {
                    let pause = policy.backoff(attempt - 1, rng);
                    tracing::warn!(bucket = %self.url, key, attempt, error = %e, "put failed; retrying in {pause:?}");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Writes `body` at `key`, retrying a failure that may pass (an outage, a timeout, a 5xx) until `within` has
    /// passed since the first attempt, with exponential back-off and jitter capped at [`MAX_BACKOFF`] (and never
    /// sleeping past the deadline); a permanent failure returns at once. Meanwhile the caller takes nothing new,
    /// which is the back-pressure that reaches the producers.
    pub async fn put_within(
        &self,
        key: &str,
        body: Bytes,
        policy: RetryPolicy,
        within: Duration,
        rng: &mut impl Rng,
    ) -> Result<(), PutError> {
        let location = object_path(key);
        let deadline = tokio::time::Instant::now().checked_add(within);
        let mut attempt = 0u32;
        loop {
            let result = self.put_once(&location, body.clone()).await;
            attempt = attempt.saturating_add(1);
            let source = match result {
                Ok(()) => {
                    if attempt > 1 {
                        tracing::info!(bucket = %self.url, key, attempt, "put succeeded after retrying");
                    }
                    return Ok(());
                }
                Err(source) => source,
            };
            let left = deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
            if is_permanent(&source) || left.is_some_and(|l| l.is_zero()) {
                let permanent = is_permanent(&source);
                return Err(PutError { attempts: attempt, source, permanent });
            }
            let pause = policy.backoff(attempt.saturating_sub(1), rng).min(MAX_BACKOFF);
            let pause = left.map_or(pause, |l| pause.min(l));
            tracing::warn!(
                bucket = %self.url, key, attempt, error = %source,
                "put failed; retrying in {pause:?} (the destination waits: nothing new is taken meanwhile)"
            );
            tokio::time::sleep(pause).await;
        }
    }

    async fn put_once(&self, location: &ObjectPath, body: Bytes) -> object_store::Result<()> {
        if body.len() <= MULTIPART_THRESHOLD {
            return self.store.put(location, PutPayload::from_bytes(body)).await.map(drop);
        }
        if let Some(multipart) = &self.multipart {
            return multipart.upload(location, body, PART_SIZE, PART_CONCURRENCY).await;
        }
        let mut upload = WriteMultipart::new_with_chunk_size(self.store.put_multipart(location).await?, PART_SIZE);
        // Slicing `Bytes` shares the buffer: no copy per part.
        let mut offset = 0;
        while offset < body.len() {
            if let Err(e) = upload.wait_for_capacity(PART_CONCURRENCY).await {
                abort(upload, location).await;
                return Err(e);
            }
            let end = (offset + PART_SIZE).min(body.len());
            upload.put(body.slice(offset..end));
            offset = end;
        }
        // `finish` aborts the upload itself when a part or the completion fails.
        upload.finish().await.map(drop)
    }
}

async fn abort(upload: WriteMultipart, location: &ObjectPath) {
    if let Err(e) = upload.abort().await {
        tracing::warn!(key = %location, error = %e, "aborting a failed multipart upload failed; its parts may linger");
    }
}

/// The object path of `key`, kept as written when object_store accepts it (S3 takes any key), else with the
/// characters it refuses percent-encoded.
fn object_path(key: &str) -> ObjectPath {
    ObjectPath::parse(key).unwrap_or_else(|_| ObjectPath::from(key))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn urls_are_checked() -> TestResult {
        let dir = tempfile::tempdir()?;
        let bucket = Bucket::open("file://./a/b", dir.path())?;
        assert!(dir.path().join("a/b").is_dir(), "file:// creates the folder");
        assert_eq!(bucket.url(), "file://./a/b");
        let absolute = format!("file://{}", dir.path().join("abs").display());
        Bucket::open(&absolute, Path::new("/nonexistent"))?;
        assert!(dir.path().join("abs").is_dir());
        assert!(Bucket::open("file://", dir.path()).is_err_and(|e| e.contains("names no folder")));
        assert!(Bucket::open("s3://", dir.path()).is_err_and(|e| e.contains("names no bucket")));
        assert!(Bucket::open("gs://x", dir.path()).is_err_and(|e| e.contains("not a `file://` or `s3://` URL")));
        Ok(())
    }

    #[tokio::test]
    async fn put_within_retries_a_passing_failure_until_the_deadline_then_reports_it() -> TestResult {
        let dir = tempfile::tempdir()?;
        let bucket = Bucket::open("file://./bucket", dir.path())?;
        // A file where the key's folder must go: the put fails with an error that retrying might mend.
        std::fs::write(dir.path().join("bucket/blocked"), b"")?;
        let policy = RetryPolicy { attempts: 1, first_backoff: Duration::from_millis(20) };
        let started = std::time::Instant::now();
        let within = Duration::from_millis(300);
        let mut rng = SmallRng::seed_from_u64(3);
        let Err(e) = bucket.put_within("blocked/key", Bytes::from_static(b"x"), policy, within, &mut rng).await else {
            return Err("the put should fail".into());
        };
        assert!(!e.permanent, "{e}");
        assert!(e.attempts >= 3, "retried past the policy's attempts until the deadline: {e}");
        assert!(started.elapsed() >= within, "{:?}", started.elapsed());
        assert!(started.elapsed() < within + Duration::from_secs(2), "no pause past the deadline");
        // Once the obstacle is gone, the same call succeeds.
        std::fs::remove_file(dir.path().join("bucket/blocked"))?;
        bucket.put_within("blocked/key", Bytes::from_static(b"x"), policy, within, &mut rng).await?;
        assert_eq!(std::fs::read(dir.path().join("bucket/blocked/key"))?, b"x");
        Ok(())
    }

    #[test]
    fn only_failures_retrying_cannot_mend_are_permanent() {
        let not_found = object_store::Error::NotFound { path: "k".into(), source: "no such bucket".into() };
        assert!(is_permanent(&not_found));
        let generic = object_store::Error::Generic { store: "S3", source: "connection refused".into() };
        assert!(!is_permanent(&generic));
    }

    #[tokio::test]
    async fn large_objects_go_up_in_parts_and_read_back_whole() -> TestResult {
        let dir = tempfile::tempdir()?;
        let bucket = Bucket::open("file://./bucket", dir.path())?;
        let body: Vec<u8> = (0..MULTIPART_THRESHOLD * 2 + 12_345).map(|i| (i % 251) as u8).collect();
        bucket
            .put("big/object", Bytes::from(body.clone()), RetryPolicy::default(), &mut SmallRng::seed_from_u64(1))
            .await?;
        assert_eq!(std::fs::read(dir.path().join("bucket/big/object"))?, body);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("bucket/big"))?.collect::<Result<_, _>>()?;
        assert_eq!(names.len(), 1, "no staging files left: {names:?}");
        Ok(())
    }
}
