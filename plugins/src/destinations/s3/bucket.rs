//! The bucket objects go to: a local folder (`file://`) or S3 (`s3://`), behind object_store.
//!
//! Both publish an object only once it is complete: `LocalFileSystem` writes a staging file and renames it
//! (with `fsync` of the file and its directory before the rename returns, so an acknowledged object survives a
//! crash), S3 makes a `PutObject` or a completed multipart upload visible atomically. Objects over
//! [`MULTIPART_THRESHOLD`] go up in parts, a few at a time; a failed upload is aborted so no parts leak.
//! A failed put is retried with exponential back-off and jitter ([`RetryPolicy`]), always to the same key, so
//! a put that did land before its answer was lost is overwritten rather than duplicated.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use rand::Rng;

pub use crate::retry::RetryPolicy;

/// Objects larger than this go up as multipart uploads.
pub const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;

/// Size of each part but the last (S3 wants at least 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploading at once.
const PART_CONCURRENCY: usize = 4;

/// A put that failed on every attempt.
#[derive(Debug)]
pub struct PutError {
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's error.
    pub source: object_store::Error,
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failed after {} attempts: {}", self.attempts, self.source)
    }
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
}

impl Bucket {
    /// Opens the bucket `url`: `file://./relative` (resolved against `base_dir`), `file:///absolute`, or
    /// `s3://bucket[/key-prefix]` (region, endpoint and credentials from the usual `AWS_*` environment).
    /// A `file://` folder is created if missing.
    pub fn open(url: &str, base_dir: &Path) -> Result<Self, String> {
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
            let builder = AmazonS3Builder::from_env().with_bucket_name(name);
            // Plain HTTP only when the endpoint says so (a local MinIO or LocalStack), never by default.
            let http = [AmazonS3ConfigKey::S3Endpoint, AmazonS3ConfigKey::Endpoint]
                .iter()
                .find_map(|k| builder.get_config_value(k))
                .is_some_and(|endpoint| endpoint.starts_with("http://"));
            let s3 = builder.with_allow_http(http).build().map_err(|e| format!("cannot open bucket `{url}`: {e}"))?;
            let key_prefix = key_prefix.trim_matches('/');
            if key_prefix.is_empty() { Arc::new(s3) } else { Arc::new(PrefixStore::new(s3, object_path(key_prefix))) }
        } else {
            return Err(format!("bucket `{url}` is not a `file://` or `s3://` URL"));
        };
        Ok(Bucket { store, url: url.to_owned() })
    }

    /// A bucket over any store (tests, other backends).
    pub fn from_store(store: Arc<dyn ObjectStore>, url: &str) -> Self {
        Bucket { store, url: url.to_owned() }
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
                Err(source) if attempt >= policy.attempts.max(1) => return Err(PutError { attempts: attempt, source }),
                Err(e) => {
                    let pause = policy.backoff(attempt - 1, rng);
                    tracing::warn!(bucket = %self.url, key, attempt, error = %e, "put failed; retrying in {pause:?}");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    async fn put_once(&self, location: &ObjectPath, body: Bytes) -> object_store::Result<()> {
        if body.len() <= MULTIPART_THRESHOLD {
            return self.store.put(location, PutPayload::from_bytes(body)).await.map(drop);
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
