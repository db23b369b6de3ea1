//! Multipart uploads to S3 that a crash cannot leak.
//!
//! ```text
//!   put of a large object ──create_multipart──▶ id ──journal.begin (ledger, durable)──▶ parts, a few at a time
//!                                                    └─▶ complete (or abort on failure) ──▶ journal.end
//!   start of a run ──▶ every upload still in the journal ──abort_multipart──▶ journal cleared
//! ```
//!
//! S3 keeps the parts of an upload that was neither completed nor aborted, invisibly and billed, until a bucket
//! lifecycle rule removes them. A `kill -9` in the middle of a large put leaves exactly that, so each upload is
//! written to the pipeline's ledger before its first part and removed after it is completed or aborted; at start
//! the destination aborts what a crash left there. The journal is one ledger entry per destination (a destination
//! uploads one object at a time, so it holds at most a few uploads).

use std::sync::Arc;

use bytes::Bytes;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{MultipartId, PutPayload};
use serde::{Deserialize, Serialize};
use sluice_core::runtime::ledger::Ledger;
use tokio::task::JoinSet;

/// An upload begun and not yet completed or aborted: the object's full path in the bucket, and its upload id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OpenUpload {
    path: String,
    id: String,
}

/// The uploads of one destination in flight, kept in the pipeline's ledger.
#[derive(Debug)]
pub struct UploadJournal {
    ledger: Arc<Ledger>,
    /// `destination/<name>/uploads`.
    entry: String,
}

impl UploadJournal {
    /// The journal of destination `destination`.
    pub fn new(ledger: Arc<Ledger>, destination: &str) -> Self {
        UploadJournal { ledger, entry: format!("destination/{destination}/uploads") }
    }

    fn open_uploads(&self) -> Result<Vec<OpenUpload>, String> {
        let Some(bytes) = self.ledger.get(&self.entry).map_err(|e| e.to_string())? else { return Ok(Vec::new()) };
        serde_json::from_slice(&bytes).map_err(|e| format!("the ledger's `{}` is damaged: {e}", self.entry))
    }

    fn store(&self, uploads: &[OpenUpload]) -> Result<(), String> {
        let bytes = serde_json::to_vec(uploads).map_err(|e| e.to_string())?;
        self.ledger.commit(vec![(self.entry.clone(), bytes)], true).map_err(|e| e.to_string())
    }

    fn begin(&self, upload: OpenUpload) -> Result<(), String> {
        let mut uploads = self.open_uploads()?;
        uploads.push(upload);
        self.store(&uploads)
    }

    fn end(&self, upload: &OpenUpload) -> Result<(), String> {
        let mut uploads = self.open_uploads()?;
        uploads.retain(|open| open != upload);
        self.store(&uploads)
    }
}

/// S3's multipart API for one bucket, with the key prefix of its URL and the journal of its destination.
#[derive(Clone)]
pub struct Multipart {
    pub(super) store: Arc<dyn MultipartStore>,
    /// The `key-prefix` of `s3://bucket/key-prefix`, put before every key.
    pub(super) prefix: Option<ObjectPath>,
    pub(super) journal: Option<Arc<UploadJournal>>,
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("prefix", &self.prefix)
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl Multipart {
    fn full_path(&self, location: &ObjectPath) -> ObjectPath {
        match &self.prefix {
            Some(prefix) => prefix.parts().chain(location.parts()).collect(),
            None => location.clone(),
        }
    }

    /// Uploads `body` to `location` in parts of `part_size`, `concurrency` at a time; aborts the upload when a part
    /// or the completion fails. The upload is in the journal from before its first part until it is over.
    pub async fn upload(
        &self,
        location: &ObjectPath,
        body: Bytes,
        part_size: usize,
        concurrency: usize,
    ) -> object_store::Result<()> {
        let path = self.full_path(location);
        let id = self.store.create_multipart(&path).await?;
        let open = OpenUpload { path: path.to_string(), id: id.clone() };
        if let Some(journal) = &self.journal
            && let Err(e) = journal.begin(open.clone())
        {
            let _ = self.store.abort_multipart(&path, &id).await;
            return Err(journal_error(e));
        }
        let result = match self.put_parts(&path, &id, body, part_size, concurrency).await {
            Ok(parts) => self.store.complete_multipart(&path, &id, parts).await.map(drop),
            Err(e) => Err(e),
        };
        if result.is_err()
            && let Err(e) = self.store.abort_multipart(&path, &id).await
        {
            // It stays in the journal: the next start aborts it again.
            tracing::warn!(key = %path, error = %e, "aborting a failed multipart upload failed; the next start retries");
            return result;
        }
        if let Some(journal) = &self.journal {
            journal.end(&open).map_err(journal_error)?;
        }
        result
    }

    async fn put_parts(
        &self,
        path: &ObjectPath,
        id: &MultipartId,
        body: Bytes,
        part_size: usize,
        concurrency: usize,
    ) -> object_store::Result<Vec<PartId>> {
        let count = body.len().div_ceil(part_size);
        let mut parts: Vec<Option<PartId>> = vec![None; count];
        let mut running = JoinSet::new();
        for index in 0..count {
            if running.len() >= concurrency.max(1) {
                finish_one(&mut running, &mut parts).await?;
            }
            let (store, path, id) = (Arc::clone(&self.store), path.clone(), id.clone());
            // Slicing `Bytes` shares the buffer: no copy per part.
            let data = body.slice(index * part_size..((index + 1) * part_size).min(body.len()));
            running.spawn(async move {
                let part = store.put_part(&path, &id, index, PutPayload::from_bytes(data)).await;
                (index, part)
            });
        }
        while !running.is_empty() {
            finish_one(&mut running, &mut parts).await?;
        }
        Ok(parts.into_iter().flatten().collect())
    }

    /// Aborts every upload the journal holds (a crash's leftovers); returns how many there were. An upload S3 no
    /// longer knows (completed or aborted before the crash could note it) counts as aborted.
    pub async fn abort_leftovers(&self) -> Result<usize, String> {
        let Some(journal) = &self.journal else { return Ok(0) };
        let uploads = journal.open_uploads()?;
        for upload in &uploads {
            let path = ObjectPath::from(upload.path.as_str());
            match self.store.abort_multipart(&path, &upload.id).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                    tracing::info!(key = %upload.path, "aborted a multipart upload a crash left");
                    journal.end(upload)?;
                }
                Err(e) => return Err(format!("cannot abort the upload a crash left at `{}`: {e}", upload.path)),
            }
        }
        Ok(uploads.len())
    }
}

async fn finish_one(
    running: &mut JoinSet<(usize, object_store::Result<PartId>)>,
    parts: &mut [Option<PartId>],
) -> object_store::Result<()> {
    let Some(joined) = running.join_next().await else { return Ok(()) };
    let (index, part) = joined.map_err(|e| object_store::Error::Generic { store: "S3", source: Box::new(e) })?;
    parts[index] = Some(part?);
    Ok(())
}

fn journal_error(message: String) -> object_store::Error {
    object_store::Error::Generic { store: "S3", source: message.into() }
}
