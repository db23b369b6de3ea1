//! An `sql` application seen from outside: its in-app streams, pumps and outputs, from the compiled SQL.
//!
//! The program is compiled by the plugin itself ([`SqlConfig::program`]), so the picture shows exactly what runs;
//! validation has already accepted it, so an error here is unexpected.

use std::path::Path;

use sluice_plugins::applications::sql::{RecordFormat, SqlConfig};

/// One pump (or one `UNION ALL` branch of it).
pub struct PumpView {
    /// The pump's name.
    pub name: String,
    /// The in-app stream it reads.
    pub source: String,
    /// The in-app stream it inserts into.
    pub target: String,
    /// Whether it has a WHERE: then it may drop rows.
    pub filters: bool,
}

/// What a pump joins besides its source: another in-app stream (a stream-stream join) or the reference table.
pub struct JoinView {
    /// The pump's name.
    pub pump: String,
    /// The in-app stream or reference table on the join's right.
    pub right: String,
    /// Whether `right` is the reference table.
    pub table: bool,
}

/// One output: an in-app stream (or error_stream) sent to a destination.
pub struct OutputView {
    /// The in-app stream.
    pub stream: String,
    /// The destination.
    pub destination: String,
    /// `json` or `csv`.
    pub format: &'static str,
}

/// What an `sql` application is made of.
pub struct SqlView {
    /// Its input's record format.
    pub input_format: &'static str,
    /// The in-app input stream (`SOURCE_SQL_STREAM_001`).
    pub source: String,
    /// Every in-app stream, in creation order (the input stream first).
    pub streams: Vec<String>,
    /// Every pump, in creation order.
    pub pumps: Vec<PumpView>,
    /// The right sides of the pumps' joins.
    pub joins: Vec<JoinView>,
    /// The outputs, in file order.
    pub outputs: Vec<OutputView>,
}

fn format_name(format: RecordFormat) -> &'static str {
    match format {
        RecordFormat::Json => "json",
        RecordFormat::Csv => "csv",
    }
}

impl SqlView {
    /// Compiles `config`'s SQL (`code_file` relative to `base_dir`).
    pub fn compile(config: &SqlConfig, base_dir: &Path) -> Result<SqlView, String> {
        let program = config.program(base_dir)?;
        let name = |id| program.stream_def(id).name.clone();
        let pumps = program
            .pump_edges()
            .map(|(pump, source, target, filters)| PumpView {
                name: pump.to_owned(),
                source: name(source),
                target: name(target),
                filters,
            })
            .collect();
        let streams = program.join_edges().map(|(pump, stream)| (pump, name(stream), false));
        let tables = program.table_join_edges().map(|(pump, table)| (pump, table.to_owned(), true));
        let joins = streams
            .chain(tables)
            .map(|(pump, right, table)| JoinView { pump: pump.to_owned(), right, table })
            .collect();
        let outputs = config
            .outputs
            .iter()
            .map(|o| OutputView {
                stream: o.stream.clone(),
                destination: o.destination.clone(),
                format: format_name(o.format),
            })
            .collect();
        Ok(SqlView {
            input_format: format_name(config.input.format),
            source: name(program.input()),
            streams: program.stream_names().map(str::to_owned).collect(),
            pumps,
            joins,
            outputs,
        })
    }
}
