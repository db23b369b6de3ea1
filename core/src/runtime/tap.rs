//! Taps (`sluice run --tap NAME`): a sample of what flows through a stream or an in-app stream, as JSON lines.
//!
//! Every tap of a run shares one bounded channel to the printer. Publishing never waits: when the channel is
//! full the row is counted as skipped instead of formatted, so a slow reader costs the pipeline a failed
//! `try_send` at most. A run without taps hands out no [`Tap`] at all, so the hot paths only check an empty list.
//!
//! Core names no plugin: a tap is a stream name (records, read by the topology with a reader of its own) or
//! `application.STREAM`, which the application asks for by its name ([`TapSet::for_application`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

/// Lines the channel holds before rows are skipped.
pub const TAP_CHANNEL_LINES: usize = 1024;

/// One tap: where its lines go, and the shared count of rows skipped because the reader was behind.
#[derive(Debug, Clone)]
pub struct Tap {
    name: Arc<str>,
    sender: mpsc::Sender<String>,
    skipped: Arc<AtomicU64>,
}

impl Tap {
    /// The tap's name as given (`stream` or `application.STREAM`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes one line, made by `line` only when there is room for it; never waits.
    pub fn publish(&self, line: impl FnOnce() -> String) {
        if self.sender.capacity() == 0 || self.sender.try_send(line()).is_err() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The taps of a run, by name.
#[derive(Debug, Clone, Default)]
pub struct TapSet {
    taps: BTreeMap<String, Tap>,
}

/// The printer's end: every tap's lines, and the rows skipped since it last looked.
#[derive(Debug)]
pub struct TapOutput {
    /// The lines, in publishing order per tap.
    pub lines: mpsc::Receiver<String>,
    /// Rows skipped because the channel was full.
    pub skipped: Arc<AtomicU64>,
}

impl TapSet {
    /// Taps named `names`, sharing one channel of `capacity` lines.
    pub fn new(names: &[String], capacity: usize) -> (TapSet, TapOutput) {
        let (sender, lines) = mpsc::channel(capacity.max(1));
        let skipped = Arc::new(AtomicU64::new(0));
        let taps = names
            .iter()
            .map(|name| {
                let tap = Tap { name: Arc::from(name.as_str()), sender: sender.clone(), skipped: Arc::clone(&skipped) };
                (name.clone(), tap)
            })
            .collect();
        (TapSet { taps }, TapOutput { lines, skipped })
    }

    /// Whether no tap is set.
    pub fn is_empty(&self) -> bool {
        self.taps.is_empty()
    }

    /// The tap of a pipeline stream's records, if one is set.
    pub fn stream(&self, name: &str) -> Option<Tap> {
        self.taps.get(name).cloned()
    }

    /// The taps of `application`'s in-app streams, as `(STREAM, tap)`.
    pub fn for_application(&self, application: &str) -> Vec<(String, Tap)> {
        self.taps
            .iter()
            .filter_map(|(name, tap)| {
                let stream = name.strip_prefix(application)?.strip_prefix('.')?;
                Some((stream.to_owned(), tap.clone()))
            })
            .collect()
    }
}

/// A record as a tap prints it: `{"tap":NAME,"partition_key":..,"arrival_ms":..,"data":..}`, the data as JSON
/// when it is JSON, else as text.
pub fn record_line(tap: &str, partition_key: &str, arrival_ms: i64, data: &[u8]) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let data = match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(json) => json.to_string(),
        Err(_) => text(&String::from_utf8_lossy(data)),
    };
    format!(
        "{{\"tap\":{},\"partition_key\":{},\"arrival_ms\":{arrival_ms},\"data\":{data}}}",
        text(tap),
        text(partition_key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_channel_skips_rows_without_formatting_them() {
        let (taps, mut output) = TapSet::new(&["app.OUT".into(), "s".into()], 2);
        let tap = taps.for_application("app").pop().map(|(stream, tap)| (stream, tap.name().to_owned()));
        assert_eq!(tap, Some(("OUT".to_owned(), "app.OUT".to_owned())));
        let stream = taps.stream("s").expect("tap");
        stream.publish(|| "1".into());
        stream.publish(|| "2".into());
        stream.publish(|| unreachable!("no room: not formatted"));
        assert_eq!(output.skipped.load(Ordering::Relaxed), 1);
        assert_eq!(output.lines.try_recv().ok().as_deref(), Some("1"));
        assert!(taps.for_application("ap").is_empty() && taps.stream("t").is_none());
    }
}
