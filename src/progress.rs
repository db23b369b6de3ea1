//! The live progress line on a terminal, and the summary at the end of a run.

use std::io::Write;
use std::time::Duration;

use sluice_core::runtime::metrics::MetricsSnapshot;
use sluice_core::runtime::topology::{RunSummary, Stage};
use tokio_util::sync::CancellationToken;

/// Redraws one line on stderr every second: records/s and MB/s per stage, buffered bytes per destination.
pub async fn live(stages: Vec<Stage>, done: CancellationToken) {
    let mut previous: Vec<MetricsSnapshot> = stages.iter().map(|s| s.metrics.snapshot()).collect();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = done.cancelled() => break,
        }
        let mut parts = Vec::new();
        for (stage, before) in stages.iter().zip(previous.iter_mut()) {
            let now = stage.metrics.snapshot();
            let mut part = format!(
                "{} {}/s {}/s",
                stage.label,
                count(now.records - before.records),
                bytes(now.bytes - before.bytes)
            );
            if now.buffered_bytes > 0 {
                part.push_str(&format!(" ({} buffered)", bytes(now.buffered_bytes)));
            }
            parts.push(part);
            *before = now;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", parts.join(" | "));
        let _ = err.flush();
    }
    let _ = write!(std::io::stderr(), "\r\x1b[2K");
}

/// The end-of-run summary: totals per stage.
pub fn summary(summary: &RunSummary) -> String {
    let seconds = summary.elapsed.as_secs_f64().max(1e-9);
    let mut out = format!("finished in {:.2}s\n", summary.elapsed.as_secs_f64());
    for (stage, m) in &summary.stages {
        out.push_str(&format!(
            "  {:<40} {:>12} records {:>10} ({}/s)",
            stage.label,
            m.records,
            bytes(m.bytes),
            count((m.records as f64 / seconds) as u64)
        ));
        if m.objects > 0 {
            out.push_str(&format!(", {} objects", m.objects));
        }
        if m.errors > 0 {
            out.push_str(&format!(", {} errors", m.errors));
        }
        out.push('\n');
    }
    out
}

fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}

fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}
