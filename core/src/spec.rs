//! The pipeline file's model: a name, a description and four sections of named entries, each naming a plugin
//! by `type`; the rest of an entry is that plugin's config.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::Value;

use crate::plugin::PluginKind;
use crate::serve::ServeSpec;

/// Pattern every entry name follows (Kinesis and Firehose name rules).
pub const NAME_PATTERN: &str = "^[A-Za-z0-9_.-]{1,128}$";

/// A sluice pipeline: producers put records into streams, SQL applications read streams, destinations deliver
/// the applications' output.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "sluice pipeline")]
pub struct PipelineSpec {
    /// The pipeline's name.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// What the pipeline is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Producers, by name: each puts records into a stream.
    #[serde(default)]
    #[schemars(schema_with = "producers_schema")]
    pub producers: BTreeMap<String, Entry>,
    /// Streams, by name: durable, sharded logs of records.
    #[serde(default)]
    #[schemars(schema_with = "streams_schema")]
    pub streams: BTreeMap<String, Entry>,
    /// Applications, by name: each reads a stream and writes in-app streams to destinations.
    #[serde(default)]
    #[schemars(schema_with = "applications_schema")]
    pub applications: BTreeMap<String, Entry>,
    /// Destinations, by name: where records are delivered.
    #[serde(default)]
    #[schemars(schema_with = "destinations_schema")]
    pub destinations: BTreeMap<String, Entry>,
    /// Pipeline tests, run by `sluice test`: records in, expected rows and deliveries out.
    #[serde(default)]
    pub tests: Vec<PipelineTest>,
    /// Servers `sluice run` starts beside the pipeline: the Kinesis API over its streams.
    #[serde(default)]
    pub serve: Option<ServeSpec>,
}

/// A pipeline test: records put into streams at given times, and the rows and deliveries they must produce.
/// Tests start no producer, touch no network and write no bucket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineTest {
    /// What the test checks, shown in its result line.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Records put into streams, as a producer would put them.
    #[serde(default)]
    pub input: Vec<TestInput>,
    /// What must come out: rows of in-app streams (or error_stream), or records a destination receives.
    #[serde(default)]
    pub expect: Vec<TestExpectation>,
    /// An application's reference table for this test, given inline instead of read from its `url`.
    #[serde(default)]
    pub reference: Option<TestReference>,
}

/// A reference table's rows for one test.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestReference {
    /// The table, as an application's `reference.table` names it.
    #[schemars(length(min = 1))]
    pub table: String,
    /// The rows, as JSON objects keyed by column name (a column left out is NULL).
    pub rows: Vec<serde_json::Map<String, Value>>,
}

/// Records put into one stream.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestInput {
    /// The stream (of the `streams` section) the records enter.
    pub stream: String,
    /// The records, each at its arrival time.
    pub records: Vec<TestRecord>,
}

/// One record put into a stream; give `data` or `raw`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRecord {
    /// Arrival time on the test's virtual clock (`2020-07-01T12:00:00.000Z`): the record's
    /// APPROXIMATE_ARRIVAL_TIME, its row's ROWTIME and CURRENT_ROW_TIMESTAMP. The earliest `at` of a stream's
    /// records is when the queries reading it start: CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME, LOCALTIME and
    /// LOCALTIMESTAMP, for the whole test.
    #[schemars(length(min = 1))]
    pub at: String,
    /// The record's partition key: it decides the record's shard (SHARD_ID) among the stream's `shards`, by
    /// Kinesis's MD5 rule. Without one, the record is in shard 0.
    #[serde(default)]
    pub partition_key: Option<String>,
    /// The record as a JSON object.
    #[serde(default)]
    pub data: Option<serde_json::Map<String, Value>>,
    /// The record as raw text (CSV lines, malformed input).
    #[serde(default)]
    pub raw: Option<String>,
}

/// What one in-app stream or one destination must get; give `stream` with `rows`, or `destination` with
/// `records`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestExpectation {
    /// An in-app stream, as the SQL stores its name, or `error_stream`.
    #[serde(default)]
    pub stream: Option<String>,
    /// A destination: the records an application output sends there.
    #[serde(default)]
    pub destination: Option<String>,
    /// The application whose in-app stream is meant, when several could match.
    #[serde(default)]
    pub application: Option<String>,
    /// Expected rows of `stream`: only the columns listed are compared (ROWTIME may be); TIMESTAMPs as
    /// timestamps, numbers numerically, strings exactly, `null` as NULL.
    #[serde(default)]
    pub rows: Option<Vec<serde_json::Map<String, Value>>>,
    /// Expected records of `destination`: JSON objects for a json output (compared like rows), strings otherwise.
    #[serde(default)]
    pub records: Option<Vec<Value>>,
    /// Compare as a multiset instead of in order.
    #[serde(default)]
    pub unordered: bool,
}

/// One entry of a section: a plugin `type` and that plugin's config.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The plugin's `type` name.
    pub type_name: String,
    /// The entry without `type`.
    pub config: Value,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = serde_json::Map::deserialize(d)?;
        match map.remove("type") {
            Some(Value::String(type_name)) => Ok(Entry { type_name, config: Value::Object(map) }),
            _ => Err(serde::de::Error::missing_field("type")),
        }
    }
}

impl PipelineSpec {
    /// The section holding entries of `kind`.
    pub fn section(&self, kind: PluginKind) -> &BTreeMap<String, Entry> {
        match kind {
            PluginKind::Producer => &self.producers,
            PluginKind::Stream => &self.streams,
            PluginKind::Application => &self.applications,
            PluginKind::Destination => &self.destinations,
        }
    }
}

/// The `$defs` name of the `oneOf` over every plugin of `kind`.
pub fn kind_def_name(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Producer => "Producer",
        PluginKind::Stream => "Stream",
        PluginKind::Application => "Application",
        PluginKind::Destination => "Destination",
    }
}

fn section_schema(kind: PluginKind) -> Schema {
    let reference = format!("#/$defs/{}", kind_def_name(kind));
    json_schema!({
        "type": "object",
        "propertyNames": { "pattern": NAME_PATTERN },
        "additionalProperties": { "$ref": reference },
        "default": {},
    })
}

fn producers_schema(_: &mut SchemaGenerator) -> Schema {
    section_schema(PluginKind::Producer)
}
fn streams_schema(_: &mut SchemaGenerator) -> Schema {
    section_schema(PluginKind::Stream)
}
fn applications_schema(_: &mut SchemaGenerator) -> Schema {
    section_schema(PluginKind::Application)
}
fn destinations_schema(_: &mut SchemaGenerator) -> Schema {
    section_schema(PluginKind::Destination)
}

impl TestRecord {
    /// `at` as milliseconds since the epoch: RFC 3339 (`2020-07-01T12:00:00.000Z`, `+02:00`), or a date and
    /// time without offset (`2020-07-01 12:00:00`), read as UTC.
    pub fn at_ms(&self) -> Option<i64> {
        parse_instant(&self.at)
    }

    /// The record's bytes: `data` as JSON, or `raw` as given.
    pub fn bytes(&self) -> Vec<u8> {
        match (&self.data, &self.raw) {
            (Some(data), _) => Value::Object(data.clone()).to_string().into_bytes(),
            (None, Some(raw)) => raw.clone().into_bytes(),
            (None, None) => Vec::new(),
        }
    }
}

/// An instant as milliseconds since the epoch: RFC 3339, or a naive date and time read as UTC.
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_millis());
    }
    let naive = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(naive, format).ok())
        .map(|at| at.and_utc().timestamp_millis())
}
