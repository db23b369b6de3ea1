//! The picture's content, independent of its format: nodes (with a title and detail lines), the groups that
//! hold an application's in-app streams and pumps, and labelled edges.
//!
//! The data flow comes from the links every plugin's validate hook declares, so any plugin shows up; an
//! `sql` application is opened up into its in-app streams and pumps from its compiled SQL.

use sluice_core::plugin::{LinkRole, PluginKind};
use sluice_plugins::applications::sql::SqlConfig;
use sluice_sql::error_stream::ERROR_STREAM;

use super::labels;
use crate::pipeline_file::PipelineFile;
use crate::sql_view::SqlView;

/// What a node stands for: each format draws each kind in its own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A producer.
    Producer,
    /// A stream of the pipeline.
    Stream,
    /// An application drawn as one box (not opened up).
    Application,
    /// An in-app stream of an `sql` application.
    InAppStream,
    /// A pump of an `sql` application.
    Pump,
    /// A destination.
    Destination,
}

/// A node.
#[derive(Debug, Clone)]
pub struct Node {
    /// A unique, format-independent key (`stream:metrics_stream`).
    pub key: String,
    /// What it is.
    pub shape: Shape,
    /// Its name.
    pub title: String,
    /// Short detail lines (type, buffer hints, formats).
    pub details: Vec<String>,
    /// The group (application) it is drawn in.
    pub group: Option<usize>,
}

/// An application's box around its in-app streams and pumps.
#[derive(Debug, Clone)]
pub struct Group {
    /// A unique key (`application:metrics_stream_app`).
    pub key: String,
    /// Its title (`metrics_stream_app (sql)`).
    pub title: String,
}

/// A labelled edge.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The index of the source node.
    pub from: usize,
    /// The index of the target node.
    pub to: usize,
    /// A short label (a record format), maybe empty.
    pub label: String,
    /// Drawn dashed: where failed rows go, not the main flow.
    pub dashed: bool,
}

/// A pipeline as a picture.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// The pipeline's name.
    pub name: String,
    /// The nodes, in data-flow order.
    pub nodes: Vec<Node>,
    /// The groups.
    pub groups: Vec<Group>,
    /// The edges.
    pub edges: Vec<Edge>,
}

impl Graph {
    fn add(&mut self, key: String, shape: Shape, title: &str, details: Vec<String>, group: Option<usize>) -> usize {
        self.nodes.push(Node { key, shape, title: title.to_owned(), details, group });
        self.nodes.len() - 1
    }

    /// The index of the node with `key`.
    pub fn find(&self, key: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.key == key)
    }

    fn connect(&mut self, from: &str, to: &str, label: &str) {
        self.connect_styled(from, to, label, false);
    }

    fn connect_styled(&mut self, from: &str, to: &str, label: &str, dashed: bool) {
        if let (Some(from), Some(to)) = (self.find(from), self.find(to))
            && !self.edges.iter().any(|e| e.from == from && e.to == to)
        {
            self.edges.push(Edge { from, to, label: label.to_owned(), dashed });
        }
    }
}

fn key(kind: PluginKind, name: &str) -> String {
    format!("{}:{name}", kind.noun())
}

fn in_app_key(app: &str, stream: &str) -> String {
    format!("application:{app}/stream:{stream}")
}

/// Builds the picture of a valid pipeline; an error names the application whose SQL did not compile.
pub fn build(file: &PipelineFile) -> Result<Graph, String> {
    let mut graph = Graph { name: file.name(), ..Graph::default() };
    for entry in file.entries(PluginKind::Producer) {
        graph.add(key(PluginKind::Producer, entry.name), Shape::Producer, entry.name, labels::producer(&entry), None);
    }
    for entry in file.entries(PluginKind::Stream) {
        graph.add(key(PluginKind::Stream, entry.name), Shape::Stream, entry.name, labels::stream(&entry), None);
    }
    // Applications are drawn before destinations so that every node an edge needs exists when it is added.
    let mut opened = Vec::new();
    for entry in file.entries(PluginKind::Application) {
        if entry.plugin == "sql" {
            let config: SqlConfig = entry.parse()?;
            let view =
                SqlView::compile(&config, &file.base_dir).map_err(|e| format!("application `{}`: {e}", entry.name))?;
            open_sql_application(&mut graph, entry.name, &view);
            opened.push((entry.name, view));
        } else {
            let details = vec![entry.plugin.to_owned()];
            graph.add(key(PluginKind::Application, entry.name), Shape::Application, entry.name, details, None);
        }
    }
    for entry in file.entries(PluginKind::Destination) {
        let details = labels::destination(&entry);
        graph.add(key(PluginKind::Destination, entry.name), Shape::Destination, entry.name, details, None);
    }
    connect_links(&mut graph, file, &opened);
    Ok(graph)
}

/// An sql application's group: its in-app streams (error_stream only when it is an output) and pumps.
fn open_sql_application(graph: &mut Graph, app: &str, view: &SqlView) {
    graph.groups.push(Group { key: key(PluginKind::Application, app), title: format!("{app} (sql)") });
    let group = Some(graph.groups.len() - 1);
    for stream in &view.streams {
        graph.add(in_app_key(app, stream), Shape::InAppStream, stream, Vec::new(), group);
    }
    let errors = in_app_key(app, ERROR_STREAM);
    if view.outputs.iter().any(|o| o.stream == ERROR_STREAM) {
        graph.add(errors.clone(), Shape::InAppStream, ERROR_STREAM, vec!["failed rows".to_owned()], group);
        // Records that cannot be mapped fail on the way into the input stream.
        graph.connect_styled(&in_app_key(app, &view.source), &errors, "", true);
    }
    for pump in &view.pumps {
        let pump_key = format!("application:{app}/pump:{}", pump.name);
        if graph.find(&pump_key).is_none() {
            let details = if pump.filters { vec!["WHERE".to_owned()] } else { Vec::new() };
            graph.add(pump_key.clone(), Shape::Pump, &pump.name, details, group);
        }
        graph.connect(&in_app_key(app, &pump.source), &pump_key, "");
        graph.connect(&pump_key, &in_app_key(app, &pump.target), "");
        graph.connect_styled(&pump_key, &errors, "", true);
    }
    // A join's right side feeds its pump too: another in-app stream, or the reference table (a node of its own).
    for join in &view.joins {
        let pump_key = format!("application:{app}/pump:{}", join.pump);
        let right = if join.table {
            let table_key = format!("application:{app}/table:{}", join.right);
            if graph.find(&table_key).is_none() {
                graph.add(table_key.clone(), Shape::InAppStream, &join.right, vec!["reference data".to_owned()], group);
            }
            table_key
        } else {
            in_app_key(app, &join.right)
        };
        graph.connect(&right, &pump_key, "join");
    }
}

/// The edges between entries, from their declared links; an opened sql application's edges go to and from
/// its in-app streams.
fn connect_links(graph: &mut Graph, file: &PipelineFile, opened: &[(&str, SqlView)]) {
    for (kind, name, link) in &file.links {
        let this = key(*kind, name);
        let opened_app = opened.iter().find(|(app, _)| *kind == PluginKind::Application && app == name);
        match (link.role, opened_app) {
            (LinkRole::WritesStream, _) => graph.connect(&this, &key(PluginKind::Stream, &link.target), ""),
            (LinkRole::ReadsStream, Some((app, view))) => {
                let format = view.input_format;
                graph.connect(&key(PluginKind::Stream, &link.target), &in_app_key(app, &view.source), format);
            }
            (LinkRole::ReadsStream, None) => graph.connect(&key(PluginKind::Stream, &link.target), &this, ""),
            (LinkRole::FeedsDestination, Some((app, view))) => {
                for output in view.outputs.iter().filter(|o| o.destination == link.target) {
                    let from = in_app_key(app, &output.stream);
                    graph.connect(&from, &key(PluginKind::Destination, &link.target), output.format);
                }
            }
            (LinkRole::FeedsDestination, None) => {
                graph.connect(&this, &key(PluginKind::Destination, &link.target), "");
            }
            (LinkRole::ReadOutside, _) => {}
        }
    }
}
