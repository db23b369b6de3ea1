//! `stdout`: prints records, one per line, for trying things out.

use schemars::JsonSchema;
use serde::Deserialize;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};

/// Prints each record on its own line of standard output.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    /// Read records straight from this stream, instead of an application.
    pub source: Option<String>,
}

impl PluginConfig for StdoutConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        if let Some(source) = &self.source {
            cx.link("source", LinkRole::ReadsStream, source);
        }
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        Err(BuildError::NotBuiltYet { kind: "destination", name: "stdout" })
    }
}

sluice_core::register_plugin!(Destination, "stdout", StdoutConfig);
