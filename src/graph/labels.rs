//! The detail lines under each entry's name: its type, pace, shards, buffer hints and formats.
//!
//! Built-in plugins are read through their config types, so defaults show (an `s3` destination without
//! `buffer` shows Firehose's 5MiB / 300s); any other plugin shows its type and a few common keys.

use serde_json::Value;
use sluice_core::units::Duration;
use sluice_plugins::destinations::s3::{Compression, Delimiter, S3Config};
use sluice_plugins::streams::embedded::EmbeddedConfig;

use crate::pipeline_file::Entry;

/// A scalar as short text: strings without quotes.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `type`, then `every 10s` or `1000/s`, `path`, `format`, `count`.
pub fn producer(entry: &Entry<'_>) -> Vec<String> {
    let config = entry.config;
    let mut parts = vec![entry.plugin.to_owned()];
    if let Some(every) = config.get("every") {
        parts.push(format!("every {}", text(every)));
    }
    if let Some(rate) = config.get("rate") {
        parts.push(format!("{}/s", text(rate)));
    }
    if let Some(count) = config.get("count") {
        parts.push(format!("{} records", text(count)));
    }
    for key in ["path", "format"] {
        if let Some(value) = config.get(key) {
            parts.push(text(value));
        }
    }
    vec![parts.join(" · ")]
}

/// The number of shards of a stream entry: `embedded`'s default is 1.
pub fn shards(entry: &Entry<'_>) -> Option<u64> {
    if entry.plugin == "embedded" {
        return entry.parse::<EmbeddedConfig>().ok().map(|c| u64::from(c.shards));
    }
    entry.config.get("shards").and_then(Value::as_u64)
}

/// `type · N shards · retention`.
pub fn stream(entry: &Entry<'_>) -> Vec<String> {
    let mut parts = vec![entry.plugin.to_owned()];
    if let Some(n) = shards(entry) {
        parts.push(format!("{n} shard{}", if n == 1 { "" } else { "s" }));
    }
    if let Some(retention) = entry.config.get("retention") {
        parts.push(text(retention));
    }
    vec![parts.join(" · ")]
}

/// A buffer interval in seconds, as Firehose states its range (`60s`, not `1m`).
pub fn seconds(interval: Duration) -> String {
    let millis = interval.as_std().as_millis();
    if millis.is_multiple_of(1000) { format!("{}s", millis / 1000) } else { interval.to_string() }
}

/// `type · bucket`, then the buffer hints and the object format.
pub fn destination(entry: &Entry<'_>) -> Vec<String> {
    if entry.plugin == "s3"
        && let Ok(config) = entry.parse::<S3Config>()
    {
        let mut format = Vec::new();
        if config.compression == Compression::Gzip {
            format.push("gzip");
        }
        if config.delimiter == Delimiter::None {
            format.push("no delimiter");
        }
        let mut lines = vec![
            format!("s3 · {}", config.bucket),
            format!("buffer {} or {}", config.buffer.size_for(config.format), seconds(config.buffer.interval)),
        ];
        if !format.is_empty() {
            lines.push(format.join(" · "));
        }
        return lines;
    }
    vec![entry.plugin.to_owned()]
}
