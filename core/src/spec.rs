//! The pipeline file's model: a name, a description and four sections of named entries, each naming a plugin
//! by `type`; the rest of an entry is that plugin's config.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::Value;

use crate::plugin::PluginKind;

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
    #[schemars(schema_with = "tests_schema")]
    pub tests: Vec<Value>,
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
fn tests_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "object", "required": ["name"], "properties": { "name": { "type": "string" } } },
        "default": [],
    })
}
