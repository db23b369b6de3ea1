//! How many records reach each destination per second: a stream's rate straight through, or an `sql`
//! application's output rate, counted through its pumps (one row per input row and pump, unless a WHERE
//! drops some: then the estimate is an upper bound and says so).

use std::collections::BTreeMap;

use sluice_core::plugin::{LinkRole, PluginKind};
use sluice_plugins::applications::sql::SqlConfig;
use sluice_sql::error_stream::ERROR_STREAM;

use crate::pipeline_file::PipelineFile;
use crate::sql_view::SqlView;

/// Records flowing into a destination from one source.
#[derive(Debug, Clone)]
pub struct Inflow {
    /// Records per second; `None` for error_stream, which carries only failed rows.
    pub records_per_sec: Option<f64>,
    /// Where they come from, for people.
    pub source: String,
    /// What the estimate assumes.
    pub assumption: String,
    /// Whether an application wrote them (then their size is a guess).
    pub from_application: bool,
}

/// Rows per input record in `stream` of `view`, and the pumps with a WHERE on the way (upper bound then).
fn rows_per_record(view: &SqlView, stream: &str, depth: usize, filters: &mut Vec<String>) -> f64 {
    if stream == view.source {
        return 1.0;
    }
    // KDA's pumps form no cycle, but a bound keeps a surprise from recursing forever.
    if depth > 64 {
        return 0.0;
    }
    view.pumps
        .iter()
        .filter(|p| p.target == stream)
        .map(|p| {
            if p.filters && !filters.contains(&p.name) {
                filters.push(p.name.clone());
            }
            rows_per_record(view, &p.source, depth + 1, filters)
        })
        .sum()
}

/// The inflows of every destination, given each stream's records per second; an error names the application
/// whose SQL did not compile.
pub fn inflows(file: &PipelineFile, stream_rate: f64) -> Result<BTreeMap<String, Vec<Inflow>>, String> {
    let mut out: BTreeMap<String, Vec<Inflow>> = BTreeMap::new();
    for (kind, name, link) in &file.links {
        if *kind == PluginKind::Destination && link.role == LinkRole::ReadsStream {
            out.entry(name.clone()).or_default().push(Inflow {
                records_per_sec: Some(stream_rate),
                source: format!("stream `{}`", link.target),
                assumption: "every record of the stream".into(),
                from_application: false,
            });
        }
    }
    for app in file.entries(PluginKind::Application) {
        if app.plugin != "sql" {
            for target in file.targets(PluginKind::Application, app.name, LinkRole::FeedsDestination) {
                out.entry(target.to_owned()).or_default().push(Inflow {
                    records_per_sec: Some(stream_rate),
                    source: format!("application `{}` ({})", app.name, app.plugin),
                    assumption: "one output record per input record".into(),
                    from_application: true,
                });
            }
            continue;
        }
        let config: SqlConfig = app.parse()?;
        let view = SqlView::compile(&config, &file.base_dir).map_err(|e| format!("application `{}`: {e}", app.name))?;
        for output in &view.outputs {
            let source = format!("application `{}`, output `{}`", app.name, output.stream);
            let inflow = if output.stream == ERROR_STREAM {
                let assumption = "only rows that fail: not estimated".into();
                Inflow { records_per_sec: None, source, assumption, from_application: true }
            } else {
                let mut filters = Vec::new();
                let rows = rows_per_record(&view, &output.stream, 0, &mut filters);
                let per_record = if rows == 0.0 {
                    "no pump inserts into it".to_owned()
                } else if rows == 1.0 {
                    "one output row per input record".to_owned()
                } else {
                    let rows = super::human::count(rows);
                    format!("{rows} output rows per input record (one per pump on the way)")
                };
                let assumption = if filters.is_empty() {
                    format!("the application's output rate: {per_record}")
                } else {
                    let pumps: Vec<String> = filters.iter().map(|p| format!("`{p}`")).collect();
                    format!(
                        "the application's output rate: {per_record}, at most: the WHERE of {} drops rows, \
                         assumed to drop none",
                        pumps.join(", ")
                    )
                };
                Inflow { records_per_sec: Some(stream_rate * rows), source, assumption, from_application: true }
            };
            out.entry(output.destination.clone()).or_default().push(inflow);
        }
    }
    Ok(out)
}
