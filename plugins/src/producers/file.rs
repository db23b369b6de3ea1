//! `file`: records from a file or a glob of files.

use schemars::JsonSchema;
use serde::Deserialize;
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};

use super::InputFormat;

/// Reads records from files: one record per line (or per CSV row).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The stream records are put into.
    pub stream: String,
    /// A file or a glob (`logs/*.ndjson`), relative to the pipeline file.
    #[schemars(length(min = 1))]
    pub path: String,
    /// How lines become records.
    #[serde(default)]
    pub format: InputFormat,
    /// Keep reading as the files grow, instead of finishing at their end.
    #[serde(default)]
    pub follow: bool,
    /// At most this many records per second.
    #[schemars(range(min = 0.001))]
    pub rate: Option<f64>,
    /// Partition key template; a random UUID per record by default.
    pub partition_key: Option<String>,
}

impl PluginConfig for FileConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        cx.link("stream", LinkRole::WritesStream, &self.stream);
        let is_glob = self.path.contains(['*', '?', '[']);
        if !is_glob && !self.path.contains('$') && !cx.base_dir().join(&self.path).exists() {
            cx.error("path", Code::FileNotFound, format!("file `{}` not found", self.path));
        }
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        Err(BuildError::NotBuiltYet { kind: "producer", name: "file" })
    }
}

sluice_core::register_plugin!(Producer, "file", FileConfig);
