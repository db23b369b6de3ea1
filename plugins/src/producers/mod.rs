//! Producers: put records into a stream.

pub mod datagen;
pub mod file;
pub mod stdin;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a producer splits its input into records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// One JSON object per line; each line is one record.
    #[default]
    Ndjson,
    /// Comma-separated lines; the first line is the header, each other line one record.
    Csv,
    /// Each line, as it is, is one record.
    Lines,
}
