//! Effectively-once objects: the destination's record of what it publishes, and recovery after a crash.
//!
//! ## Design
//!
//! The gap: an object is published, then its deliveries are acknowledged, then the consumer's checkpoint is
//! committed. A crash after the publish and before the checkpoint makes the consumer read those records again,
//! and a writer that names objects at random publishes them a second time (Firehose's at-least-once).
//!
//! With `naming: deterministic` (the default), every object is first *announced* in the ledger:
//!
//! ```text
//!   cut ──▶ ledger (durable): destination/<name>/object = {number, key, through, before} ──▶ put ──▶ ack
//! ```
//!
//! - `number` counts the destination's objects; `through` is the input the object's records derive from, per
//!   consumer and sink (the positions its deliveries' acks carry, cumulated); `before` is what the previous
//!   objects covered. The key is named from `(destination, number, through)` ([`ObjectIdentity`]).
//! - Objects are cut between deliveries only (a delivery holds everything one input batch gave this sink),
//!   so `through` describes the object's content exactly.
//! - On restart ([`ObjectLedger::recover`]), the announced object is looked up in the bucket: there, the input
//!   up to `through` is published; missing (the crash came before or during the put), up to `before`. The
//!   runtime moves each consumer's checkpoint up to that ([`skip_recovered`]), so nothing published is read
//!   again; deliveries wholly inside it that still arrive (a consumer feeding several sinks) are dropped.
//! - Objects left half-written by the crash cannot be seen: S3 publishes a put or a completed multipart upload
//!   atomically, and `file://` writes a staging file `<key>#<n>` that it renames. Recovery deletes this
//!   destination's staging files from a `file://` bucket; the multipart uploads a crash left on S3 are aborted
//!   by the bucket itself at start ([`super::multipart`]).
//!
//! All of this relies on an input position naming the same record after a crash: Kinesis never reuses a sequence
//! number, and the embedded stream shows readers only records a sync committed, so recovery never takes back a
//! record an object holds (`fsync: never` and a power cut aside).
//!
//! `naming: firehose` keeps none of this: random names, at-least-once, exactly as Firehose.
//!
//! [`skip_recovered`]: sluice_core::runtime::ack::skip_recovered

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStoreExt as _;
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};
use sluice_core::runtime::ack::{Ack, within};
use sluice_core::runtime::component::{Recovered, RunError};
use sluice_core::runtime::ledger::Ledger;
use sluice_core::runtime::record::Positions;

use super::bucket::Bucket;
use super::keys::{KeyNaming, ObjectIdentity};

/// Input positions per (consumer, sink).
type Through = BTreeMap<(String, usize), Positions>;

/// The announcement stored before each put.
#[derive(Debug, Serialize, Deserialize)]
struct Announced {
    number: u64,
    key: String,
    through: Vec<Covered>,
    before: Vec<Covered>,
}

/// One consumer's sink and the input positions covered.
#[derive(Debug, Serialize, Deserialize)]
struct Covered {
    consumer: String,
    sink: usize,
    positions: Positions,
}

fn to_list(through: &Through) -> Vec<Covered> {
    through
        .iter()
        .map(|((consumer, sink), positions)| Covered {
            consumer: consumer.clone(),
            sink: *sink,
            positions: positions.clone(),
        })
        .collect()
}

fn from_list(list: Vec<Covered>) -> Through {
    list.into_iter().map(|c| ((c.consumer, c.sink), c.positions)).collect()
}

/// Merges `positions` into `into`: per shard, the later sequence number wins.
fn merge(into: &mut Positions, positions: &Positions) {
    for (shard, seq) in positions {
        match into.get_mut(shard) {
            Some(known) if sluice_core::runtime::ack::compare_sequence(seq, known).is_le() => {}
            Some(known) => known.clone_from(seq),
            None => {
                into.insert(shard.clone(), seq.clone());
            }
        }
    }
}

/// What one `naming: deterministic` destination published, and what its buffer holds (see the module docs).
#[derive(Debug)]
pub struct ObjectLedger {
    ledger: Arc<Ledger>,
    /// `destination/<name>/object`.
    entry: String,
    destination: String,
    /// The `file://` bucket's folder, swept of staging files at start.
    local_dir: Option<PathBuf>,
    /// The number of the next object.
    number: u64,
    /// The input the published objects cover.
    published: Through,
    /// The input covered once the buffer is published too.
    buffered: Through,
    /// Input published before a restart: deliveries wholly inside it are dropped, until one goes past it.
    replayed: Through,
}

impl ObjectLedger {
    /// The record of destination `destination` in `ledger`; `local_dir` is the folder of a `file://` bucket.
    pub fn new(ledger: Arc<Ledger>, destination: &str, local_dir: Option<PathBuf>) -> Self {
        ObjectLedger {
            ledger,
            entry: format!("destination/{destination}/object"),
            destination: destination.to_owned(),
            local_dir,
            number: 0,
            published: Through::new(),
            buffered: Through::new(),
            replayed: Through::new(),
        }
    }

    /// Whether the delivery acknowledged by `ack` was published before a restart (then it is dropped).
    pub fn already_published(&mut self, ack: &Ack) -> bool {
        let Some(origin) = ack.origin() else { return false };
        let id = (origin.consumer.to_owned(), origin.sink);
        let Some(limit) = self.replayed.get(&id) else { return false };
        if within(origin.positions, limit) {
            return true;
        }
        // Past what was published: from here on, this sink's deliveries are new.
        self.replayed.remove(&id);
        false
    }

    /// Notes that the delivery acknowledged by `ack` is now in the buffer.
    pub fn buffer(&mut self, ack: &Ack) {
        if let Some(origin) = ack.origin() {
            let id = (origin.consumer.to_owned(), origin.sink);
            merge(self.buffered.entry(id).or_default(), origin.positions);
        }
    }

    /// Names the object about to be published into `key` (its oldest record arrived at `oldest_ms`) and
    /// announces it durably in the ledger.
    pub async fn announce(&mut self, naming: &KeyNaming, oldest_ms: i64, key: &mut String) -> Result<(), RunError> {
        let through = self.buffered.iter().map(|((consumer, sink), positions)| (consumer.as_str(), *sink, positions));
        let identity = ObjectIdentity::new(&self.destination, self.number, through);
        naming.identified_key(oldest_ms, identity, key);
        let announced = Announced {
            number: self.number,
            key: key.clone(),
            through: to_list(&self.buffered),
            before: to_list(&self.published),
        };
        let value = serde_json::to_vec(&announced)
            .map_err(|e| RunError(format!("s3 destination `{}`: {e}", self.destination)))?;
        let (ledger, entry) = (Arc::clone(&self.ledger), self.entry.clone());
        tokio::task::spawn_blocking(move || ledger.commit(vec![(entry, value)], true))
            .await
            .map_err(|e| RunError(format!("s3 destination `{}`: a ledger task failed: {e}", self.destination)))?
            .map_err(|e| RunError(format!("s3 destination `{}`: cannot record object `{key}`: {e}", self.destination)))
    }

    /// The announced object is published (or its records went under the error prefix).
    pub fn published(&mut self) {
        self.number += 1;
        self.published.clone_from(&self.buffered);
    }

    /// After a restart: sweeps staging files, finds whether the announced object made it into the bucket, and
    /// returns the input the published objects cover (see the module docs).
    pub async fn recover(&mut self, bucket: &Bucket) -> Result<Vec<Recovered>, RunError> {
        let fail = |e: String| RunError(format!("s3 destination `{}`: {e}", self.destination));
        if let Some(dir) = &self.local_dir {
            let swept = sweep_staging(dir, &format!("{}-1-", self.destination)).map_err(fail)?;
            if swept > 0 {
                tracing::info!(destination = %self.destination, swept, "deleted staging files left by a crash");
            }
        }
        let Some(stored) = self.ledger.get(&self.entry).map_err(|e| fail(e.to_string()))? else {
            return Ok(Vec::new());
        };
        let announced: Announced = serde_json::from_slice(&stored)
            .map_err(|e| fail(format!("the ledger entry `{}` is not readable: {e}", self.entry)))?;
        let location = ObjectPath::parse(&announced.key).unwrap_or_else(|_| ObjectPath::from(announced.key.as_str()));
        let there = match bucket.store().head(&location).await {
            Ok(_) => true,
            Err(object_store::Error::NotFound { .. }) => false,
            Err(e) => {
                return Err(fail(format!(
                    "cannot tell whether object `{}` was written to `{}` before the restart: {e}",
                    announced.key,
                    bucket.url()
                )));
            }
        };
        let (number, published) = if there {
            (announced.number + 1, from_list(announced.through))
        } else {
            (announced.number, from_list(announced.before))
        };
        tracing::debug!(destination = %self.destination, key = %announced.key, there, "recovered the last announced object");
        self.number = number;
        self.buffered.clone_from(&published);
        self.replayed.clone_from(&published);
        self.published = published;
        Ok(self
            .published
            .iter()
            .map(|((consumer, sink), positions)| Recovered {
                consumer: consumer.clone(),
                sink: *sink,
                positions: positions.clone(),
            })
            .collect())
    }
}

/// Deletes the staging files (`<name>#<digits>`, object_store's `LocalFileSystem`) under `dir` whose name is
/// `prefix` and a year (`<destination>-1-yyyy-`: an object name of this destination): what a crash in the middle
/// of a put leaves. Returns how many.
pub fn sweep_staging(dir: &Path, prefix: &str) -> Result<usize, String> {
    let mut swept = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
        };
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
                continue;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let year = name.strip_prefix(prefix).map(str::as_bytes);
            let staging = year.is_some_and(|y| y.len() > 5 && y[..4].iter().all(u8::is_ascii_digit) && y[4] == b'-')
                && name.rsplit_once('#').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if staging {
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot delete staging file {}: {e}", path.display()))?;
                swept += 1;
            }
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn only_this_destinations_staging_files_are_swept() -> TestResult {
        let dir = tempfile::tempdir()?;
        let hour = dir.path().join("2024/03/05/07");
        std::fs::create_dir_all(&hour)?;
        let names = ["out-1-2024-x#1", "out-1-2024-x#12", "out-1-2024-x", "other-1-2024-x#3", "out-1-2024-x#draft"];
        for name in names.into_iter().chain(["out-x-1-2024-y#4"]) {
            std::fs::write(hour.join(name), b"")?;
        }
        assert_eq!(sweep_staging(dir.path(), "out-1-")?, 2);
        let mut left: Vec<String> = std::fs::read_dir(&hour)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        left.sort();
        assert_eq!(left, ["other-1-2024-x#3", "out-1-2024-x", "out-1-2024-x#draft", "out-x-1-2024-y#4"]);
        assert_eq!(sweep_staging(&dir.path().join("missing"), "out-1-")?, 0, "a bucket folder not made yet");
        Ok(())
    }

    fn at(seq: u64) -> Positions {
        Positions::from([("shardId-000000000000".to_owned(), seq.to_string())])
    }

    #[tokio::test]
    async fn a_restart_finds_what_was_published_and_names_a_replay_the_same() -> TestResult {
        use rand::SeedableRng as _;
        use sluice_core::runtime::ack::AckTracker;

        use super::super::bucket::RetryPolicy;
        use super::super::keys::PrefixTemplate;

        let dir = tempfile::tempdir()?;
        let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.redb"))?);
        let bucket = Bucket::open("file://./bucket", dir.path())?;
        let naming =
            KeyNaming::new("out", PrefixTemplate::default_prefix(), PrefixTemplate::default_error_prefix(), "");
        let local = Some(dir.path().join("bucket"));
        let (tracker, _committable) = AckTracker::named("application/app", 1);
        let (first, second) = (tracker.register(at(10)).for_sink(0), tracker.register(at(25)).for_sink(0));
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let put = |key: String| {
            let bucket = bucket.clone();
            async move {
                bucket
                    .put(
                        &key,
                        bytes::Bytes::from_static(b"x\n"),
                        RetryPolicy::default(),
                        &mut rand::rngs::SmallRng::seed_from_u64(2),
                    )
                    .await
            }
        };

        // Object 0 published, object 1 announced; the crash comes before its put, leaving a staging file.
        let mut objects = ObjectLedger::new(Arc::clone(&ledger), "out", local.clone());
        assert_eq!(objects.recover(&bucket).await?, [], "a fresh destination recovers nothing");
        let (mut key0, mut key1) = (String::new(), String::new());
        objects.buffer(&first);
        objects.announce(&naming, 1_709_622_489_000, &mut key0).await?;
        put(key0.clone()).await?;
        objects.published();
        objects.buffer(&second);
        objects.announce(&naming, 1_709_622_490_000, &mut key1).await?;
        std::fs::write(dir.path().join("bucket").join(format!("{key1}#3")), b"half")?;
        let _ = &mut rng;

        let mut restarted = ObjectLedger::new(Arc::clone(&ledger), "out", local.clone());
        let recovered = restarted.recover(&bucket).await?;
        let expected = |seq| vec![Recovered { consumer: "application/app".into(), sink: 0, positions: at(seq) }];
        assert_eq!(recovered, expected(10), "object 1 never made it: up to object 0");
        assert!(!dir.path().join("bucket").join(format!("{key1}#3")).exists(), "the staging file is swept");
        assert!(restarted.already_published(&tracker.register(at(7)).for_sink(0)), "inside object 0: dropped");
        // The replay cuts the same object again: the same number and input, so the same key.
        restarted.buffer(&second);
        let mut replayed_key = String::new();
        restarted.announce(&naming, 1_709_622_490_000, &mut replayed_key).await?;
        assert_eq!(replayed_key, key1);
        put(replayed_key).await?;

        // This time the crash comes after the put: the restart finds object 1.
        let mut again = ObjectLedger::new(Arc::clone(&ledger), "out", local);
        assert_eq!(again.recover(&bucket).await?, expected(25));
        assert!(again.already_published(&tracker.register(at(25)).for_sink(0)));
        assert!(!again.already_published(&tracker.register(at(26)).for_sink(0)), "past it: new");
        assert!(
            !again.already_published(&tracker.register(at(20)).for_sink(0)),
            "and from then on, nothing is dropped"
        );
        Ok(())
    }

    #[test]
    fn positions_merge_by_number_not_by_text() {
        let mut into = Positions::from([("s0".to_owned(), "9".to_owned())]);
        merge(&mut into, &Positions::from([("s0".to_owned(), "10".to_owned()), ("s1".to_owned(), "1".to_owned())]));
        assert_eq!(into, Positions::from([("s0".to_owned(), "10".to_owned()), ("s1".to_owned(), "1".to_owned())]));
        merge(&mut into, &Positions::from([("s0".to_owned(), "2".to_owned())]));
        assert_eq!(into["s0"], "10");
    }
}
