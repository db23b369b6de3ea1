//! The stream's background task: periodic syncs (`fsync: interval` and `never`), earlier ones when many bytes
//! wait ([`SYNC_SOON_BYTES`](super::log::SYNC_SOON_BYTES)), and retention every minute.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;

use super::FsyncPolicy;
use super::log::Log;

/// How often retention looks for expired segments.
const RETENTION_EVERY: Duration = Duration::from_secs(60);

/// Runs until `stop` is cancelled or the stream is dropped (it holds the log weakly, so a stream dropped
/// without `shutdown` does not live on in here).
pub(crate) async fn run(
    log: Weak<Log>,
    sync_soon: Arc<Notify>,
    stop: CancellationToken,
    policy: FsyncPolicy,
    sync_every: Duration,
) {
    let periodic_sync = policy != FsyncPolicy::Always;
    let sync_every = sync_every.max(Duration::from_millis(1));
    let mut sync_tick = interval_at(Instant::now() + sync_every, sync_every);
    sync_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut retention_tick = interval_at(Instant::now() + RETENTION_EVERY, RETENTION_EVERY);
    retention_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let sync = tokio::select! {
            () = stop.cancelled() => return,
            _ = sync_tick.tick(), if periodic_sync => true,
            () = sync_soon.notified(), if periodic_sync => {
                sync_tick.reset(); // The next periodic sync is a whole interval after this one.
                true
            }
            _ = retention_tick.tick() => false,
        };
        let Some(log) = log.upgrade() else { return };
        let name = log.name.clone();
        let work = tokio::task::spawn_blocking(move || {
            if sync {
                // The failure is logged and remembered by the log; puts and checkpoints report it.
                log.sync(Vec::new()).is_err()
            } else {
                log.enforce_retention(SystemTime::now());
                false
            }
        });
        match work.await {
            Ok(false) => {}
            Ok(true) => return, // The stream failed: nothing more to sync.
            Err(e) => tracing::error!(stream = name, "background work of the stream failed: {e}"),
        }
    }
}
