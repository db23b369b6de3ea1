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
//! - [`bucket`]: `file://` and `s3://` behind object_store, multipart for large objects, retries.
//!
//! The config below is what a pipeline file says; [`S3Config::destination`] turns it into a running
//! [`writer::S3Destination`]. The validate hook compiles the prefix templates too, so a bad expression is
//! reported by `sluice validate`, not at run time.

pub mod bucket;
pub mod keys;
pub mod writer;

use std::path::Path;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::units::{ByteSize, Duration, byte_size_range_schema, duration_range_schema};

use self::bucket::{Bucket, RetryPolicy};
use self::keys::{ERROR_OUTPUT_TYPE, KeyNaming, PrefixTemplate};
use self::writer::{S3Destination, WriterSettings};

/// Buffers records and writes them as objects, as Amazon Data Firehose does.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket, as a URL: `file://./data/bucket` (a local folder) or `s3://bucket`.
    #[schemars(length(min = 1))]
    pub bucket: String,
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
}

/// Firehose buffering hints.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BufferHints {
    /// Flush when this much is buffered: 1MiB to 128MiB, Firehose's range.
    #[serde(default = "five_mib")]
    #[schemars(default = "five_mib", schema_with = "buffer_size_schema")]
    pub size: ByteSize,
    /// Flush when the oldest buffered record is this old: 0s to 900s, Firehose's range.
    #[serde(default = "five_minutes")]
    #[schemars(default = "five_minutes", schema_with = "buffer_interval_schema")]
    pub interval: Duration,
}

impl Default for BufferHints {
    fn default() -> Self {
        BufferHints { size: five_mib(), interval: five_minutes() }
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
        let extension = match self.compression {
            Compression::None => "",
            Compression::Gzip => ".gz",
        };
        let bucket = Bucket::open(&self.bucket, base_dir)
            .map_err(|e| BuildError::Open(format!("s3 destination `{name}`: {e}")))?;
        let settings = WriterSettings {
            size: usize::try_from(self.buffer.size.bytes()).unwrap_or(usize::MAX),
            interval: self.buffer.interval.as_std(),
            delimiter: self.delimiter,
            compression: self.compression,
            retry: RetryPolicy::default(),
        };
        Ok(S3Destination::new(bucket, KeyNaming::new(name, prefix, error_prefix, extension), settings))
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
        Ok(Built::Destination(Box::new(self.destination(&cx.name, &cx.base_dir)?)))
    }
}

sluice_core::register_plugin!(Destination, "s3", S3Config);
