//! `sluice run --tap NAME`: prints what the taps publish to stdout, one JSON line per row or record.
//!
//! A thread of its own writes the lines, so a slow reader of stdout blocks only it: the taps then find their
//! channel full and skip rows, and the printer says how many where it resumes: `(N rows skipped)`.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use sluice_core::runtime::tap::{TAP_CHANNEL_LINES, TapOutput, TapSet};

/// How long the end of a run waits for the printer to write what is left: a reader that stopped reading does
/// not hold the exit.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// Checks `names` against the pipeline `value`: each is one of its streams, or `application.STREAM` of one of
/// its applications (the application checks STREAM when it starts).
pub fn check_names(names: &[String], value: &Value) -> Result<(), String> {
    let section = |name: &str| -> Vec<String> {
        value.get(name).and_then(Value::as_object).map(|o| o.keys().cloned().collect()).unwrap_or_default()
    };
    let (streams, applications) = (section("streams"), section("applications"));
    for name in names {
        let known = streams.contains(name)
            || name
                .split_once('.')
                .is_some_and(|(app, stream)| !stream.is_empty() && applications.iter().any(|a| a == app));
        if !known {
            return Err(format!(
                "--tap {name}: not a stream of the pipeline ({}) nor `application.STREAM` of an application ({})",
                list(&streams),
                list(&applications)
            ));
        }
    }
    Ok(())
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// The printer of a run's taps.
pub struct Printer {
    done: mpsc::Receiver<()>,
    skipped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The taps named `names` and their printer, writing to stdout; `None` without taps.
pub fn start(names: &[String]) -> Option<(TapSet, Printer)> {
    if names.is_empty() {
        return None;
    }
    let (taps, output) = TapSet::new(names, TAP_CHANNEL_LINES);
    let skipped = std::sync::Arc::clone(&output.skipped);
    let (finished, done) = mpsc::channel();
    std::thread::spawn(move || {
        print_lines(output, &mut std::io::stdout().lock());
        let _ = finished.send(());
    });
    Some((taps, Printer { done, skipped }))
}

impl Printer {
    /// Waits (briefly) for the last lines once every tap is gone; the rows skipped in all.
    pub fn finish(self) -> u64 {
        let _ = self.done.recv_timeout(DRAIN_WAIT);
        self.skipped.load(Ordering::Relaxed)
    }
}

/// Writes lines as they come, flushing whenever the channel is empty, with a `(N rows skipped)` line where
/// rows were skipped.
fn print_lines(mut output: TapOutput, out: &mut impl Write) {
    let mut reported = 0;
    let mut report = |out: &mut dyn Write| {
        let skipped = output.skipped.load(Ordering::Relaxed);
        if skipped > reported {
            let _ = writeln!(out, "({} rows skipped)", skipped - reported);
            reported = skipped;
        }
    };
    while let Some(line) = output.lines.blocking_recv() {
        report(out);
        if writeln!(out, "{line}").is_err() {
            return; // stdout is gone: the taps fill up and skip, the run goes on.
        }
        if output.lines.is_empty() {
            let _ = out.flush();
        }
    }
    report(out);
    let _ = out.flush();
}
