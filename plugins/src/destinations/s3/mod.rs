//! `s3`: Firehose-style delivery into a bucket: a local folder (`file://`) or S3 (`s3://`).
//!
//! ```text
//!   Delivery{records, Ack} ──▶ writer: one buffer ──(size | interval | close)──▶ keys: name ──▶ bucket: put
//!                                  ▲                                                              │
//!                                  └──────────── Ack::acknowledge once an object covers it ◀──────┘
//! ```
//!
//! - [`writer`]: the buffer, the flush rules and the acknowledgements (the running destination).
//! - [`keys`]: Firehose's key naming; prefix templates are compiled once, when the destination is built.
//! - [`bucket`]: `file://` and `s3://` behind object_store, multipart for large objects, retries through outages.
//! - [`parquet`]: `format: parquet`, Firehose's record format conversion, typed from the application output's
//!   columns (which the runtime hands the destination before it starts).
//! - [`failed`]: the documents written under the error prefix (records given up after `retry_duration`, records
//!   that do not convert).
//!
//! The config below is what a pipeline file says; [`S3Config::destination`] turns it into a running
//! [`writer::S3Destination`]. The validate hook compiles the prefix templates too, so a bad expression is
//! reported by `sluice validate`, not at run time.

pub mod bucket;
pub mod failed;
pub mod keys;
pub mod multipart;
pub mod parquet;
pub mod recovery;
pub mod writer;

use std::path::Path;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::units::{ByteSize, Duration, byte_size_range_schema, duration_range_schema};

use self::bucket::{Bucket, BucketOptions, RetryPolicy};
use self::keys::{ERROR_OUTPUT_TYPE, KeyNaming, Naming, PrefixTemplate};
use self::writer::{S3Destination, WriterSettings};

/// Buffers records and writes them as objects, as Amazon Data Firehose does.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket, as a URL: `file://./data/bucket` (a local folder) or `s3://bucket[/key-prefix]`.
    #[schemars(length(min = 1))]
    pub bucket: String,
    /// AWS region of an `s3://` bucket; default from the environment (`AWS_REGION`, `AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// S3 endpoint URL for an `s3://` bucket (a local server, a VPC endpoint); default `AWS_ENDPOINT_URL`. Plain
    /// `http://` only when written so.
    pub endpoint: Option<String>,
    /// Read records straight from this stream (as Firehose reads a Kinesis stream), instead of an application.
    pub source: Option<String>,
    /// Key prefix; `!{timestamp:yyyy/MM/dd}` and `!{firehose:random-string}` expand. Default `YYYY/MM/dd/HH/`.
    #[schemars(length(max = 512))]
    pub prefix: Option<String>,
    /// Key prefix of records that fail; must contain `!{firehose:error-output-type}`.
    #[schemars(length(max = 512))]
    pub error_prefix: Option<String>,
    /// When buffered records are written: whichever hint is reached first.
    #[serde(default)]
    pub buffer: BufferHints,
    /// Object compression.
    #[serde(default)]
    pub compression: Compression,
    /// What separates records in an object.
    #[serde(default)]
    pub delimiter: Delimiter,
    /// Objects hold the records as delivered (`raw`), or converted to Parquet (`parquet`, typed from the columns
    /// of the application output feeding the destination; Firehose's record format conversion).
    #[serde(default)]
    pub format: ObjectFormat,
    /// How long a failing bucket is retried (back-off up to 30s between attempts, the pipeline waiting) before
    /// the records go under the error prefix as `s3-failed`: 0s to 24h, default 24h as Firehose.
    #[serde(default = "one_day")]
    #[schemars(default = "one_day", schema_with = "retry_duration_schema")]
    pub retry_duration: Duration,
    /// How objects are named: `deterministic` (default) after the input they hold, so a restart after a crash
    /// rewrites the same key and no record lands twice (effectively-once); `firehose`: a random UUID, exactly as
    /// Firehose (at-least-once).
    #[serde(default)]
    pub naming: Naming,
}

/// What an object holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ObjectFormat {
    /// Each record's bytes as delivered, followed by the delimiter.
    #[default]
    Raw,
    /// One Parquet file per object (one row group, Snappy pages); keys end in `.parquet`. Needs an application
    /// output with `format: json`; `buffer.size` is 64MiB to 128MiB (default 128MiB), as Firehose requires.
    Parquet,
}

fn one_day() -> Duration {
    Duration::from_secs(86_400)
}
fn retry_duration_schema(_: &mut SchemaGenerator) -> Schema {
    duration_range_schema("0s", "24h")
}

/// Firehose's smallest buffer size with record format conversion.
pub const PARQUET_MIN_BUFFER: u64 = 64 << 20;

/// Firehose buffering hints.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(from = "BufferHintsInput")]
pub struct BufferHints {
    /// Flush when this much is buffered.
    pub size: ByteSize,
    /// Flush when the oldest buffered record is this old.
    pub interval: Duration,
    /// Whether the file gave `size` (the Parquet default differs).
    #[serde(skip)]
    size_given: bool,
}

/// Firehose buffering hints, as written (`size` may be left out: its default depends on `format`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BufferHintsInput {
    /// Flush when this much is buffered: 1MiB to 128MiB, Firehose's range (default 5MiB; 128MiB with
    /// `format: parquet`, which needs at least 64MiB).
    #[schemars(default = "five_mib", schema_with = "buffer_size_schema")]
    size: Option<ByteSize>,
    /// Flush when the oldest buffered record is this old: 0s to 900s, Firehose's range.
    #[serde(default = "five_minutes")]
    #[schemars(default = "five_minutes", schema_with = "buffer_interval_schema")]
    interval: Duration,
}

impl From<BufferHintsInput> for BufferHints {
    fn from(input: BufferHintsInput) -> Self {
        BufferHints {
            size: input.size.unwrap_or_else(five_mib),
            interval: input.interval,
            size_given: input.size.is_some(),
        }
    }
}

impl Default for BufferHints {
    fn default() -> Self {
        BufferHints { size: five_mib(), interval: five_minutes(), size_given: false }
    }
}

impl BufferHints {
    /// The size hint in effect for objects of `format`: Parquet's default is Firehose's 128MiB.
    pub fn size_for(&self, format: ObjectFormat) -> ByteSize {
        match format {
            ObjectFormat::Parquet if !self.size_given => ByteSize::from_mib(128),
            _ => self.size,
        }
    }
}

fn buffer_size_schema(_: &mut SchemaGenerator) -> Schema {
    byte_size_range_schema("1MiB", "128MiB")
}
fn buffer_interval_schema(_: &mut SchemaGenerator) -> Schema {
    duration_range_schema("0s", "900s")
}
fn five_mib() -> ByteSize {
    ByteSize::from_mib(5)
}
fn five_minutes() -> Duration {
    Duration::from_secs(300)
}

/// Object compression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Objects as written.
    #[default]
    None,
    /// gzip; keys end in `.gz`.
    Gzip,
}

/// What separates records in an object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Delimiter {
    /// A newline after each record.
    #[default]
    Newline,
    /// Nothing: Firehose's raw concatenation.
    None,
}

impl S3Config {
    /// The running destination named `name`, with relative `file://` buckets resolved against `base_dir`.
    pub fn destination(&self, name: &str, base_dir: &Path) -> Result<S3Destination, BuildError> {
        let template = |field: &str, template: &Option<String>, error_prefix: bool| match template {
            Some(text) => PrefixTemplate::parse(text, error_prefix)
                .map_err(|e| BuildError::Config(format!("s3 destination `{name}`: `{field}`: {e}"))),
            None if error_prefix => Ok(PrefixTemplate::default_error_prefix()),
            None => Ok(PrefixTemplate::default_prefix()),
        };
        let prefix = template("prefix", &self.prefix, false)?;
        let error_prefix = template("error_prefix", &self.error_prefix, true)?;
        let extension = match (self.format, self.compression) {
            (ObjectFormat::Parquet, _) => ".parquet",
            (ObjectFormat::Raw, Compression::None) => "",
            (ObjectFormat::Raw, Compression::Gzip) => ".gz",
        };
        let options = BucketOptions { region: self.region.clone(), endpoint: self.endpoint.clone() };
        let bucket = Bucket::open_with(&self.bucket, base_dir, &options)
            .map_err(|e| BuildError::Open(format!("s3 destination `{name}`: {e}")))?;
        let settings = WriterSettings {
            size: usize::try_from(self.buffer.size_for(self.format).bytes()).unwrap_or(usize::MAX),
            interval: self.buffer.interval.as_std(),
            delimiter: self.delimiter,
            compression: self.compression,
            retry: RetryPolicy::default(),
            retry_duration: self.retry_duration.as_std(),
            format: self.format,
        };
        Ok(S3Destination::new(bucket, KeyNaming::new(name, prefix, error_prefix, extension), settings))
    }
}

impl S3Config {
    /// `format: parquet` needs typed JSON rows: an application output (not a stream read with `source:`) in JSON,
    /// Firehose's buffer size floor, and no whole-object compression (Parquet compresses its pages).
    fn validate_parquet(&self, cx: &mut ValidateCx<'_>) {
        if self.source.is_some() {
            cx.error_with_help(
                "format",
                Code::InvalidValue,
                "`format: parquet` needs typed columns, but this destination reads a stream (`source:`), whose \
                 records have none",
                "feed it from an SQL application output (`outputs: [{stream: ..., destination: ..., format: json}]`)",
            );
        }
        if self.buffer.size_given && self.buffer.size.bytes() < PARQUET_MIN_BUFFER {
            cx.error_with_help(
                "buffer/size",
                Code::InvalidValue,
                format!("`buffer.size` {} is below 64MiB, Firehose's minimum for Parquet", self.buffer.size),
                "leave it out for 128MiB (Firehose's default with format conversion), or give 64MiB to 128MiB",
            );
        }
        if self.compression != Compression::None {
            cx.error(
                "compression",
                Code::InvalidValue,
                "Parquet objects compress their pages (Snappy); leave `compression` out with `format: parquet`",
            );
        }
        // The outputs feeding this destination are in the applications' entries: a CSV one cannot be typed.
        if let Some(name) = cx.entry_name() {
            let feeding = crate::applications::sql::outputs_feeding(cx.document(), &name);
            let mut streams: Vec<String> = feeding.iter().map(|(a, s, _)| format!("`{a}.{s}`")).collect();
            streams.dedup();
            if streams.len() > 1 {
                cx.error_with_help(
                    "format",
                    Code::InvalidValue,
                    format!("`format: parquet` writes one table, but {} feed this destination", streams.join(" and ")),
                    "give each in-app stream (error_stream too) a destination of its own",
                );
            }
            for (application, stream, format) in feeding {
                if format != "json" {
                    cx.error_with_help(
                        "format",
                        Code::InvalidValue,
                        format!(
                            "`format: parquet` reads JSON rows, but application `{application}` sends `{stream}` \
                             here as {format}"
                        ),
                        format!("give that output `format: json` (in application `{application}`)"),
                    );
                }
            }
        }
    }
}

impl PluginConfig for S3Config {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        if let Some(source) = &self.source {
            cx.link("source", LinkRole::ReadsStream, source);
        }
        let scheme_ok =
            ["file://", "s3://"].iter().any(|s| self.bucket.starts_with(s)) || self.bucket.starts_with("${");
        if !scheme_ok {
            cx.error_with_help(
                "bucket",
                Code::InvalidValue,
                format!("bucket `{}` is not a `file://` or `s3://` URL", self.bucket),
                "a local folder: `file://./data/bucket`; S3: `s3://bucket-name`",
            );
        }
        crate::aws::validate_endpoint(cx, "endpoint", self.endpoint.as_deref());
        if (self.region.is_some() || self.endpoint.is_some()) && self.bucket.starts_with("file://") {
            let field = if self.region.is_some() { "region" } else { "endpoint" };
            cx.error(field, Code::InvalidValue, "`region` and `endpoint` apply to an `s3://` bucket, not `file://`");
        }
        if self.format == ObjectFormat::Parquet {
            self.validate_parquet(cx);
        }
        // Compiling the templates finds unknown expressions, bad timestamp patterns, and the error output type
        // outside `error_prefix`, with the same messages a build would give.
        if let Some(prefix) = &self.prefix
            && let Err(e) = PrefixTemplate::parse(prefix, false)
        {
            cx.error("prefix", Code::InvalidValue, e.to_string());
        }
        if let Some(error_prefix) = &self.error_prefix {
            match PrefixTemplate::parse(error_prefix, true) {
                Err(e) => cx.error("error_prefix", Code::InvalidValue, e.to_string()),
                Ok(template) if !template.has_error_output_type() => cx.error(
                    "error_prefix",
                    Code::InvalidValue,
                    format!("`error_prefix` must contain `{ERROR_OUTPUT_TYPE}`"),
                ),
                Ok(_) => {}
            }
        }
    }

    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError> {
        let journal = multipart::UploadJournal::new(std::sync::Arc::clone(&cx.ledger), &cx.name);
        let mut destination = self.destination(&cx.name, &cx.base_dir)?.with_upload_journal(journal);
        if self.naming == Naming::Deterministic {
            let local_dir = self.bucket.strip_prefix("file://").map(|path| cx.base_dir.join(path));
            let ledger = recovery::ObjectLedger::new(std::sync::Arc::clone(&cx.ledger), &cx.name, local_dir);
            destination = destination.with_objects(ledger);
        }
        Ok(Built::Destination(Box::new(destination)))
    }
}

sluice_core::register_plugin!(Destination, "s3", S3Config);
