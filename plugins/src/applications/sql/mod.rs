//! `sql`: a Kinesis Data Analytics SQL application, run as written.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};

/// A Kinesis Data Analytics SQL application: its input mapping, its SQL, and where its in-app streams go.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// How the source stream's records become rows of the in-app input stream.
    pub input: SqlInput,
    /// The SQL, in a file beside the pipeline; give `code_file` or `code`.
    pub code_file: Option<String>,
    /// The SQL, inline; give `code_file` or `code`.
    pub code: Option<String>,
    /// In-app streams sent to destinations (at most 3, as in KDA).
    #[schemars(length(min = 1, max = 3))]
    pub outputs: Vec<SqlOutput>,
}

/// Record format of the input and outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordFormat {
    /// JSON objects; input columns are read with JSONPaths.
    #[default]
    Json,
    /// Delimited text; input columns are read in order.
    Csv,
}

/// The application's input: a stream, and the mapping of its records to columns.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlInput {
    /// The stream the application reads.
    pub stream: String,
    /// The in-app input stream is `<name_prefix>_001`.
    #[serde(default = "source_prefix")]
    #[schemars(length(min = 1, max = 32), default = "source_prefix")]
    pub name_prefix: String,
    /// Record format.
    #[serde(default)]
    pub format: RecordFormat,
    /// CSV column delimiter.
    #[serde(default = "comma")]
    #[schemars(length(min = 1), default = "comma")]
    pub column_delimiter: String,
    /// CSV row delimiter.
    #[serde(default = "newline")]
    #[schemars(length(min = 1), default = "newline")]
    pub row_delimiter: String,
    /// The columns of the in-app input stream (1 to 1000).
    #[schemars(length(min = 1, max = 1000))]
    pub columns: Vec<SqlColumn>,
}

/// One column of the in-app input stream.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlColumn {
    /// Column name, as SQL sees it (quoted: case-sensitive).
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// SQL type: `VARCHAR(16)`, `INTEGER`, `TIMESTAMP`, `DECIMAL(10,2)`, ...
    #[serde(rename = "type")]
    #[schemars(length(min = 1))]
    pub sql_type: String,
    /// JSONPath of the value in a JSON record (`$.timestamp`); required for JSON input.
    pub path: Option<String>,
}

/// One in-app stream sent to a destination.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlOutput {
    /// The in-app stream (as named in the SQL), or `error_stream`.
    #[schemars(length(min = 1, max = 128))]
    pub stream: String,
    /// The destination it feeds.
    pub destination: String,
    /// How rows are serialised.
    #[serde(default)]
    pub format: RecordFormat,
}

fn source_prefix() -> String {
    "SOURCE_SQL_STREAM".into()
}
fn comma() -> String {
    ",".into()
}
fn newline() -> String {
    "\n".into()
}

/// SQL type names a column may declare (KDA's types).
const SQL_TYPES: [&str; 18] = [
    "CHAR",
    "VARCHAR",
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "INT",
    "BIGINT",
    "REAL",
    "DOUBLE",
    "DECIMAL",
    "NUMERIC",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "BINARY",
    "VARBINARY",
    "FLOAT",
];

fn base_type(sql_type: &str) -> String {
    let name = sql_type.split('(').next().unwrap_or_default().trim();
    name.trim_end_matches(" PRECISION").to_ascii_uppercase()
}

impl PluginConfig for SqlConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        cx.link("input/stream", LinkRole::ReadsStream, &self.input.stream);
        match (&self.code_file, &self.code) {
            (Some(_), Some(_)) => cx.error("code", Code::InvalidValue, "give `code_file` or `code`, not both"),
            (None, None) => cx.error("", Code::MissingKey, "an sql application needs `code_file` or `code`"),
            (Some(file), None) => {
                cx.require_file("code_file", file);
            }
            (None, Some(_)) => {}
        }
        let mut seen = BTreeSet::new();
        for (i, column) in self.input.columns.iter().enumerate() {
            if !seen.insert(column.name.as_str()) {
                cx.error(
                    &format!("input/columns/{i}/name"),
                    Code::InvalidValue,
                    format!("column `{}` is declared twice", column.name),
                );
            }
            let base = base_type(&column.sql_type);
            if !SQL_TYPES.contains(&base.as_str()) {
                let help = sluice_core::suggest::did_you_mean(&base, SQL_TYPES)
                    .unwrap_or_else(|| format!("SQL types: {}", SQL_TYPES.join(", ")));
                cx.error_with_help(
                    &format!("input/columns/{i}/type"),
                    Code::InvalidValue,
                    format!("unknown SQL type `{}`", column.sql_type),
                    help,
                );
            }
            if self.input.format == RecordFormat::Json && column.path.is_none() {
                cx.error(
                    &format!("input/columns/{i}"),
                    Code::MissingKey,
                    format!("column `{}` needs a JSONPath `path` for JSON input", column.name),
                );
            }
            if let Some(path) = &column.path
                && !path.starts_with('$')
            {
                cx.error(
                    &format!("input/columns/{i}/path"),
                    Code::InvalidValue,
                    format!("JSONPath `{path}` must start with `$`"),
                );
            }
        }
        for (i, output) in self.outputs.iter().enumerate() {
            cx.link(&format!("outputs/{i}/destination"), LinkRole::FeedsDestination, &output.destination);
        }
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        Err(BuildError::NotBuiltYet { kind: "application", name: "sql" })
    }
}

sluice_core::register_plugin!(Application, "sql", SqlConfig);
