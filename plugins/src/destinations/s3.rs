//! `s3`: Firehose-style delivery into a bucket: a local folder (`file://`) or S3 (`s3://`).

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::units::{ByteSize, Duration, byte_size_range_schema, duration_range_schema};

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

const ERROR_OUTPUT_TYPE: &str = "!{firehose:error-output-type}";

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
        if self.prefix.as_deref().is_some_and(|p| p.contains(ERROR_OUTPUT_TYPE)) {
            cx.error("prefix", Code::InvalidValue, format!("`{ERROR_OUTPUT_TYPE}` may only appear in `error_prefix`"));
        }
        if let Some(error_prefix) = &self.error_prefix
            && !error_prefix.contains(ERROR_OUTPUT_TYPE)
        {
            cx.error("error_prefix", Code::InvalidValue, format!("`error_prefix` must contain `{ERROR_OUTPUT_TYPE}`"));
        }
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        Err(BuildError::NotBuiltYet { kind: "destination", name: "s3" })
    }
}

sluice_core::register_plugin!(Destination, "s3", S3Config);
