//! The text of `sluice explain`: a section per stream (shard and PutRecords limits) and per destination
//! (which buffer hint triggers, how often objects are written, how big, how many per hour), with warnings.

use std::fmt::Write as _;

use sluice_plugins::destinations::s3::bucket::MULTIPART_THRESHOLD;
use sluice_plugins::destinations::s3::{Compression, Delimiter, S3Config};

use super::estimate::{Flow, Trigger, objects};
use super::flows::Inflow;
use super::human::{bytes, count, span};
use super::limits::*;
use crate::graph::labels;
use crate::pipeline_file::Entry;

/// A section: a heading and its lines (`warning: ...` lines counted by the caller).
#[derive(Default)]
pub struct Section {
    /// The text.
    pub text: String,
    /// How many warnings it holds.
    pub warnings: usize,
}

impl Section {
    fn line(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.text, "  {}", text.as_ref());
    }

    fn warn(&mut self, text: impl AsRef<str>) {
        self.warnings += 1;
        let _ = writeln!(self.text, "  warning: {}", text.as_ref());
    }
}

/// A stream taking `rate` records per second of `record` bytes: per-shard throughput and PutRecords batches.
pub fn stream(entry: &Entry<'_>, rate: f64, record: f64) -> Section {
    let mut s = Section::default();
    let shards = labels::shards(entry);
    let shard_text = shards.map_or_else(String::new, |n| format!(", {n} shard{}", if n == 1 { "" } else { "s" }));
    let _ = writeln!(s.text, "stream {} ({}{shard_text})", entry.name, entry.plugin);
    let bytes_per_sec = rate * record;
    s.line(format!("in: {} records/s of {} = {}/s", count(rate), bytes(record), bytes(bytes_per_sec)));
    if let Some(n) = shards.filter(|n| *n > 0) {
        let (records, mb) = (rate / n as f64, bytes_per_sec / n as f64 / 1e6);
        s.line(format!(
            "per shard: {} records/s and {} MB/s (Kinesis takes 1,000 records/s and 1 MB/s per shard)",
            count(records),
            trim2(mb)
        ));
        let needed = (rate / SHARD_RECORDS_PER_SEC).max(bytes_per_sec / SHARD_BYTES_PER_SEC).ceil().max(1.0);
        if records > SHARD_RECORDS_PER_SEC || bytes_per_sec / n as f64 > SHARD_BYTES_PER_SEC {
            s.warn(format!(
                "over Kinesis's per-shard write limit (1,000 records/s or 1 MB/s): writes would be throttled; \
                 use at least {} shards",
                count(needed)
            ));
        }
    }
    if record > KINESIS_MAX_RECORD {
        s.warn(format!("records of {} are over Kinesis's 1 MiB record limit", bytes(record)));
    }
    let per_request = PUT_RECORDS_MAX_RECORDS.min((PUT_RECORDS_MAX_BYTES / record).floor()).max(1.0);
    s.line(format!(
        "PutRecords: {} records per request, so at least {} requests/s",
        count(per_request),
        count((rate / per_request).ceil())
    ));
    if per_request < PUT_RECORDS_MAX_RECORDS {
        s.warn(format!(
            "records of {} fill PutRecords' 5 MiB request before its 500 records: only {} per request",
            bytes(record),
            count(per_request)
        ));
    }
    s
}

/// Two decimals, trailing zeros dropped.
fn trim2(n: f64) -> String {
    let text = format!("{n:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A destination receiving `inflows`, of `record` bytes each.
pub fn destination(entry: &Entry<'_>, inflows: &[Inflow], record: f64) -> Section {
    let mut s = Section::default();
    let s3 = if entry.plugin == "s3" { entry.parse::<S3Config>().ok() } else { None };
    match &s3 {
        Some(config) => {
            let (size, interval) = (config.buffer.size_for(config.format), labels::seconds(config.buffer.interval));
            let _ = writeln!(s.text, "destination {} (s3, buffer {size} or {interval})", entry.name);
        }
        None => {
            let _ = writeln!(s.text, "destination {} ({})", entry.name, entry.plugin);
        }
    }
    for inflow in inflows {
        let rate =
            inflow.records_per_sec.map_or_else(|| "? records/s".to_owned(), |r| format!("{} records/s", count(r)));
        s.line(format!("from {}: {rate}, {}", inflow.source, inflow.assumption));
    }
    if inflows.iter().any(|i| i.from_application) {
        s.line("output records are assumed as large as input records (--record-size)");
    }
    let known: Vec<f64> = inflows.iter().filter_map(|i| i.records_per_sec).collect();
    let rate = known.iter().fold(0.0, |sum, r| sum + r);
    let Some(config) = s3 else {
        s.line(format!("{} records/s, written as they arrive: no buffer, no objects", count(rate)));
        return s;
    };
    if rate <= 0.0 {
        s.line("no steady flow: an object is written only when records come, at most one per interval");
        return s;
    }
    let newline = config.delimiter == Delimiter::Newline;
    let flow = Flow { records_per_sec: rate, record_bytes: record + f64::from(u8::from(newline)) };
    let what = if newline { "the record and a newline" } else { "no delimiter" };
    s.line(format!(
        "buffered: {} records/s of {} ({what}) = {}/s",
        count(rate),
        bytes(flow.record_bytes),
        bytes(flow.bytes_per_sec())
    ));
    if record > FIREHOSE_MAX_RECORD {
        s.warn(format!("records of {} are over Firehose's 1,000 KiB record limit", bytes(record)));
    }
    let size = config.buffer.size_for(config.format).bytes() as f64;
    let interval = config.buffer.interval.as_std().as_secs_f64();
    let Some(o) = objects(flow, size, interval) else { return s };
    let interval_text = labels::seconds(config.buffer.interval);
    match o.trigger {
        Trigger::Size => s.line(format!(
            "trigger: size: {} fills in {}, before the {interval_text} interval",
            bytes(size),
            span(o.fill_time),
        )),
        Trigger::Interval => s.line(format!(
            "trigger: interval: {interval_text} passes before {} is buffered (that takes {})",
            bytes(size),
            span(o.fill_time)
        )),
        Trigger::EveryDelivery => s.line("trigger: interval 0s: every delivery is written at once"),
    }
    let compressed = if config.compression == Compression::Gzip { " before gzip" } else { "" };
    s.line(format!(
        "objects: one every {}, {}{compressed} ({} records) each; {} per hour, {}/hour",
        span(o.period),
        bytes(o.bytes),
        count(o.records),
        count(o.per_hour()),
        bytes(o.bytes * o.per_hour())
    ));
    object_warnings(&mut s, o.trigger, o.period, o.bytes, size, interval);
    if config.bucket.starts_with("s3://") && o.bytes > MULTIPART_THRESHOLD as f64 {
        s.line(format!(
            "objects over {} go up as multipart uploads, in parts of at least {} but the last (S3's minimum)",
            bytes(MULTIPART_THRESHOLD as f64),
            bytes(S3_MIN_PART)
        ));
    }
    s
}

/// The classic complaints: a flood of objects, or small files; each with the hint to change.
fn object_warnings(s: &mut Section, trigger: Trigger, period: f64, object: f64, size: f64, interval: f64) {
    match trigger {
        Trigger::EveryDelivery => s.warn(format!(
            "`interval: 0s` writes an object per delivery (up to {} per hour): set an interval (up to 900s)",
            count(3600.0 / period)
        )),
        Trigger::Size if period < FREQUENT_OBJECTS_SECS && size < FIREHOSE_MAX_SIZE => s.warn(format!(
            "an object every {}: raise `buffer.size` (Firehose allows up to 128MiB) for fewer, larger objects",
            span(period)
        )),
        Trigger::Size if period < FREQUENT_OBJECTS_SECS => s.warn(format!(
            "an object every {} even at Firehose's largest buffer (128MiB): split the flow over more destinations",
            span(period)
        )),
        Trigger::Interval if object < SMALL_OBJECT && interval < FIREHOSE_MAX_INTERVAL => s.warn(format!(
            "small objects ({} every {}): raise `buffer.interval` (Firehose allows up to 900s)",
            bytes(object),
            span(interval)
        )),
        Trigger::Interval if object < SMALL_OBJECT => s.warn(format!(
            "small objects ({}) even at Firehose's longest interval (900s): the rate is too low for bigger ones",
            bytes(object)
        )),
        _ => {}
    }
}
