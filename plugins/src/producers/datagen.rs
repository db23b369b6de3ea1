//! `datagen`: generates records from a template, like the tutorial's boto3 producer.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::units::Duration;

/// Generates records from a template: literal values, and `{{...}}` generators in strings
/// (`{{int 1 100}}`, `{{float 0 1}}`, `{{now}}`, `{{uuid}}`, `{{choice a b c}}`, `{{seq}}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatagenConfig {
    /// The stream records are put into.
    pub stream: String,
    /// One record per period (`10s`); give `every` or `rate`.
    pub every: Option<Duration>,
    /// Records per second; give `every` or `rate`.
    #[schemars(range(min = 0.001, max = 1000000.0))]
    pub rate: Option<f64>,
    /// Stop after this many records; without it the producer runs until stopped.
    #[schemars(range(min = 1))]
    pub count: Option<u64>,
    /// Seed of the random generators, for reproducible output.
    pub seed: Option<u64>,
    /// Partition key template; a random UUID per record by default.
    pub partition_key: Option<String>,
    /// The record template: a JSON object written as YAML.
    #[schemars(with = "BTreeMap<String, Value>")]
    pub record: BTreeMap<String, Value>,
}

impl PluginConfig for DatagenConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        cx.link("stream", LinkRole::WritesStream, &self.stream);
        match (&self.every, &self.rate) {
            (Some(_), Some(_)) => cx.error("rate", Code::InvalidValue, "give `every` or `rate`, not both"),
            (None, None) => cx.error(
                "",
                Code::MissingKey,
                "datagen needs `every` (one record per period) or `rate` (records per second)",
            ),
            (Some(every), None) if every.as_std().is_zero() => {
                cx.error("every", Code::OutOfRange, "`every` must be longer than 0")
            }
            _ => {}
        }
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        Err(BuildError::NotBuiltYet { kind: "producer", name: "datagen" })
    }
}

sluice_core::register_plugin!(Producer, "datagen", DatagenConfig);
