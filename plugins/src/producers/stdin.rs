//! `stdin`: records from standard input.

use schemars::JsonSchema;
use serde::Deserialize;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};

use super::InputFormat;

/// Reads records from standard input, one per line, until it closes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdinConfig {
    /// The stream records are put into.
    pub stream: String,
    /// How lines become records.
    #[serde(default = "lines")]
    #[schemars(default = "lines")]
    pub format: InputFormat,
    /// Partition key template; a random UUID per record by default.
    pub partition_key: Option<String>,
}

fn lines() -> InputFormat {
    InputFormat::Lines
}

impl PluginConfig for StdinConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        cx.link("stream", LinkRole::WritesStream, &self.stream);
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        Err(BuildError::NotBuiltYet { kind: "producer", name: "stdin" })
    }
}

sluice_core::register_plugin!(Producer, "stdin", StdinConfig);
