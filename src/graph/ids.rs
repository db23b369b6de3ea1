//! Node identifiers for the text formats: readable (`stream_metrics_stream`), unique, stable across runs.

use std::collections::BTreeSet;

use super::model::Graph;

/// One identifier per node, in node order: the key with every character but ASCII letters and digits turned
/// into `_`, numbered when two keys collapse into the same identifier.
pub fn node_ids(graph: &Graph) -> Vec<String> {
    let mut taken = BTreeSet::new();
    graph
        .nodes
        .iter()
        .map(|node| {
            let base: String = node.key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            let mut id = base.clone();
            let mut n = 2;
            while !taken.insert(id.clone()) {
                id = format!("{base}_{n}");
                n += 1;
            }
            id
        })
        .collect()
}
