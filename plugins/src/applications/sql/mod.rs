//! `sql`: a Kinesis Data Analytics SQL application, run as written.
//!
//! The config (input mapping, SQL, outputs) is checked by `sluice validate`, SQL included: the code is
//! parsed and planned against the input columns, and every error is placed at its line and column in the
//! `code_file` or inside the YAML `code:` block. [`run`] is the running application.

pub mod harness;
mod holdback;
mod map_ahead;
pub mod reference;
mod rows;
mod run;
mod tapped;
mod workers;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use sluice_core::diagnostic::Position;
use sluice_core::plugin::IssueAt;
use sluice_sql::engine::{Program, StreamDef};
use sluice_sql::error::{SqlError, SqlErrorKind};
use sluice_sql::error_stream::{ERROR_STREAM, error_stream_columns};
use sluice_sql::input::{InputColumn, InputFormat, InputMapping};
use sluice_sql::output::OutputFormat;
use sluice_sql::types::SqlType;

use self::run::{OutputPlan, SqlApplication};

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
    /// Reference data (at most one source, as in KDA): an object loaded at start as an in-app table the SQL
    /// joins to a stream.
    #[serde(default)]
    pub reference: Option<reference::SqlReference>,
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
#[derive(Debug, Clone, Deserialize, JsonSchema)]
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
        let mut columns_unsound = false;
        for (i, column) in self.input.columns.iter().enumerate() {
            if !seen.insert(column.name.as_str()) {
                columns_unsound = true;
                cx.error(
                    &format!("input/columns/{i}/name"),
                    Code::InvalidValue,
                    format!("column `{}` is declared twice", column.name),
                );
            }
            if let Err(e) = column.sql_type.parse::<SqlType>() {
                columns_unsound = true;
                let base = column.sql_type.split('(').next().unwrap_or_default().trim().to_ascii_uppercase();
                let help = sluice_core::suggest::did_you_mean(&base, SQL_TYPE_NAMES)
                    .unwrap_or_else(|| format!("SQL types: {}", SQL_TYPE_NAMES.join(", ")));
                cx.error_with_help(&format!("input/columns/{i}/type"), Code::InvalidValue, e.to_string(), help);
            }
            if self.input.format == RecordFormat::Json && column.path.is_none() {
                columns_unsound = true;
                cx.error(
                    &format!("input/columns/{i}"),
                    Code::MissingKey,
                    format!("column `{}` needs a JSONPath `path` for JSON input", column.name),
                );
            }
            if let Some(path) = &column.path
                && !path.starts_with('$')
            {
                columns_unsound = true;
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
        let reference_sound = self.reference.as_ref().is_none_or(|r| r.validate(cx));
        // The SQL is checked against the columns, so only once they are sound; inline code with `${VAR}`s is
        // complete only at run time.
        let Some(code) = self.code_text(cx.base_dir()) else { return };
        if columns_unsound || !reference_sound || (self.code.is_some() && code.contains("${")) {
            return;
        }
        match self.compile(&code) {
            Ok(compiled) => {
                for (i, output) in self.outputs.iter().enumerate() {
                    if output.stream != ERROR_STREAM && compiled.program.stream(&output.stream).is_none() {
                        let help = sluice_core::suggest::did_you_mean(&output.stream, compiled.program.stream_names())
                            .unwrap_or_else(|| {
                                "an output names an in-app stream the SQL creates, or error_stream".into()
                            });
                        cx.error_with_help(
                            &format!("outputs/{i}/stream"),
                            Code::DanglingReference,
                            format!("the SQL creates no stream `{}`", output.stream),
                            help,
                        );
                    }
                }
            }
            Err(CompileError::Mapping(e)) => cx.error("input/columns", Code::InvalidValue, e.message),
            Err(CompileError::Types) => {} // Unreachable: unsound columns return above.
            Err(CompileError::Sql(errors)) => {
                for e in errors {
                    let (field, at) = match (&self.code_file, e.span) {
                        (Some(file), Some(span)) => {
                            let path = cx.shown_path(file);
                            let len = code.get(span.start..span.end).map_or(1, |t| t.chars().count().max(1));
                            let position = Position { line: span.line, column: span.column, len: len as u32 };
                            ("code_file", IssueAt::File { path, position })
                        }
                        (None, Some(span)) => {
                            ("code", IssueAt::Inside(code.get(..span.start).map_or(0, |t| t.chars().count())))
                        }
                        (_, None) => (if self.code_file.is_some() { "code_file" } else { "code" }, IssueAt::Value),
                    };
                    let code = match e.kind {
                        SqlErrorKind::Syntax => Code::SqlSyntax,
                        SqlErrorKind::Unknown => Code::SqlUnknown,
                        SqlErrorKind::Type | SqlErrorKind::Data => Code::SqlType,
                        SqlErrorKind::NotSupported => Code::NotSupported,
                    };
                    cx.error_at(field, at, code, e.message, e.help);
                }
            }
        }
    }

    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError> {
        let code =
            self.code_text(&cx.base_dir).ok_or_else(|| BuildError::Config("the SQL code cannot be read".into()))?;
        let compiled = self.compile(&code).map_err(|e| BuildError::Config(e.to_string()))?;
        let outputs = self.output_plans(&compiled.program).map_err(BuildError::Config)?;
        Ok(Built::Application(Box::new(SqlApplication {
            program: Arc::new(compiled.program),
            mapping: compiled.mapping,
            outputs,
            name: cx.name.clone(),
            reference: self.reference.clone().map(|r| (r, cx.base_dir.clone())),
        })))
    }
}

/// KDA's SQL type names, for suggestions.
const SQL_TYPE_NAMES: [&str; 16] = [
    "CHAR",
    "VARCHAR",
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
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
];

/// The input stream's column naming the shard a record was read from ([DG] input-parallelism.md: "The records
/// from a Kinesis data stream include a `shard_id` field"). Upper case, as a public application reads it unquoted
/// beside APPROXIMATE_ARRIVAL_TIME (`SELECT STREAM APPROXIMATE_ARRIVAL_TIME, SHARD_ID, ...`).
pub const SHARD_ID: &str = "SHARD_ID";

/// SHARD_ID's type: long enough for a Kinesis shard id (`shardId-` and 12 digits); KDA's own is unpublished.
pub const SHARD_ID_TYPE: SqlType = SqlType::Varchar(20);

/// The SQL compiled against the input mapping.
struct Compiled {
    program: Program,
    mapping: InputMapping,
}

/// Why the application's SQL or mapping did not compile.
#[derive(Debug)]
enum CompileError {
    /// A column's type does not parse.
    Types,
    /// The input mapping was refused.
    Mapping(SqlError),
    /// The SQL has errors.
    Sql(Vec<SqlError>),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Types => f.write_str("an input column's type does not parse"),
            CompileError::Mapping(e) => write!(f, "input mapping: {e}"),
            CompileError::Sql(errors) => {
                let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
                write!(f, "SQL: {}", messages.join("; "))
            }
        }
    }
}

impl SqlConfig {
    /// The compiled SQL program, as the running application has it (`base_dir` locates `code_file`): for tools
    /// that show an application's in-app streams and pumps.
    pub fn program(&self, base_dir: &Path) -> Result<Program, String> {
        let code = self.code_text(base_dir).ok_or_else(|| "the SQL code cannot be read".to_owned())?;
        self.compile(&code).map(|compiled| compiled.program).map_err(|e| e.to_string())
    }

    /// The SQL text: the `code_file` beside the pipeline, or `code`.
    fn code_text(&self, base_dir: &Path) -> Option<String> {
        match (&self.code_file, &self.code) {
            (Some(file), None) => std::fs::read_to_string(base_dir.join(file)).ok(),
            (None, Some(code)) => Some(code.clone()),
            _ => None,
        }
    }

    /// Where each output's rows come from (an in-app stream, or error_stream: `None`) and how they are written.
    fn output_plans(&self, program: &Program) -> Result<Vec<OutputPlan>, String> {
        self.outputs
            .iter()
            .map(|output| {
                let format = match output.format {
                    RecordFormat::Json => OutputFormat::Json,
                    RecordFormat::Csv => OutputFormat::Csv,
                };
                let (stream, columns) = if output.stream == ERROR_STREAM {
                    (None, error_stream_columns())
                } else {
                    let id = program
                        .stream(&output.stream)
                        .ok_or_else(|| format!("the SQL creates no stream `{}`", output.stream))?;
                    (Some(id), program.stream_def(id).columns.clone())
                };
                Ok(OutputPlan { stream, columns, format, destination: output.destination.clone() })
            })
            .collect()
    }

    /// Compiles the input mapping and the SQL. The in-app input stream is `<name_prefix>_001`, with the
    /// mapped columns, APPROXIMATE_ARRIVAL_TIME and SHARD_ID.
    fn compile(&self, code: &str) -> Result<Compiled, CompileError> {
        let columns = self
            .input
            .columns
            .iter()
            .map(|c| {
                let sql_type = c.sql_type.parse::<SqlType>().map_err(|_| CompileError::Types)?;
                Ok(InputColumn { name: c.name.clone(), sql_type, path: c.path.clone() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let format = match self.input.format {
            RecordFormat::Json => InputFormat::Json,
            RecordFormat::Csv => InputFormat::Csv {
                column_delimiter: self.input.column_delimiter.clone(),
                row_delimiter: self.input.row_delimiter.clone(),
            },
        };
        let mut stream_columns: Vec<(String, SqlType)> =
            columns.iter().map(|c| (c.name.clone(), c.sql_type.clone())).collect();
        stream_columns.push(("APPROXIMATE_ARRIVAL_TIME".into(), SqlType::Timestamp));
        stream_columns.push((SHARD_ID.into(), SHARD_ID_TYPE));
        let mapping = InputMapping::new(format, columns).map_err(CompileError::Mapping)?;
        let input = StreamDef { name: format!("{}_001", self.input.name_prefix), columns: stream_columns };
        let tables = self.reference.as_ref().and_then(reference::SqlReference::table_def).into_iter().collect();
        let program = Program::compile_with_tables(code, input, tables).map_err(CompileError::Sql)?;
        Ok(Compiled { program, mapping })
    }
}

/// The outputs of the document's `sql` applications that feed `destination`, as (application, in-app stream,
/// record format): for a destination's validate hook that needs to know what it receives (Parquet needs JSON).
pub fn outputs_feeding(document: &serde_json::Value, destination: &str) -> Vec<(String, String, String)> {
    let Some(applications) = document.get("applications").and_then(serde_json::Value::as_object) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, entry) in applications {
        if entry.get("type").and_then(serde_json::Value::as_str) != Some("sql") {
            continue;
        }
        for output in entry.get("outputs").and_then(serde_json::Value::as_array).into_iter().flatten() {
            if output.get("destination").and_then(serde_json::Value::as_str) == Some(destination) {
                let text = |key: &str, default: &str| {
                    output.get(key).and_then(serde_json::Value::as_str).unwrap_or(default).to_owned()
                };
                found.push((name.clone(), text("stream", ""), text("format", "json")));
            }
        }
    }
    found
}

/// The shape of each output's records, for destinations that write typed files (Parquet): the in-app stream's
/// columns with their declared SQL types. KDA SQL declares no NOT NULL, so every column is nullable.
fn output_shapes(
    application: &str,
    program: &Program,
    outputs: &[OutputPlan],
) -> Vec<sluice_core::runtime::component::OutputShape> {
    use sluice_core::runtime::component::{OutputColumn, OutputShape};
    outputs
        .iter()
        .map(|plan| OutputShape {
            application: application.to_owned(),
            destination: plan.destination.clone(),
            stream: plan.stream.map_or_else(|| ERROR_STREAM.to_owned(), |id| program.stream_def(id).name.clone()),
            format: match plan.format {
                OutputFormat::Json => "json",
                OutputFormat::Csv => "csv",
            }
            .to_owned(),
            columns: plan
                .columns
                .iter()
                .map(|(name, ty)| OutputColumn { name: name.clone(), sql_type: ty.to_string(), nullable: true })
                .collect(),
        })
        .collect()
}

sluice_core::register_plugin!(Application, "sql", SqlConfig);
