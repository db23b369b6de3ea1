//! The references phase: every link names an entry of the right section, every stream and destination is
//! used, and data never flows in a circle.

use std::collections::{BTreeMap, BTreeSet};

use super::Findings;
use crate::diagnostic::Code;
use crate::plugin::{Link, LinkRole, PluginKind};
use crate::suggest::closest;
use crate::yaml::escape_pointer_segment;

type Node = (PluginKind, String);

fn names(out: &Findings<'_>, kind: PluginKind) -> Vec<String> {
    out.doc
        .value
        .get(kind.section())
        .and_then(|s| s.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn pointer_of(kind: PluginKind, name: &str) -> String {
    format!("/{}/{}", kind.section(), escape_pointer_segment(name))
}

/// Checks links; with `complete`, every entry's links are known, so unused entries can be reported too.
pub(super) fn check(out: &mut Findings<'_>, links: &[(PluginKind, String, Link)], complete: bool) {
    let sections: BTreeMap<PluginKind, Vec<String>> = PluginKind::ALL.into_iter().map(|k| (k, names(out, k))).collect();
    let mut edges: BTreeMap<Node, Vec<(Node, &Link)>> = BTreeMap::new();
    let mut read_streams = BTreeSet::new();
    let mut fed_destinations = BTreeSet::new();
    for (kind, name, link) in links {
        let from: Node = (*kind, name.clone());
        let target_kind = match link.role {
            LinkRole::ReadOutside => {
                read_streams.insert(name.clone());
                continue;
            }
            LinkRole::ReadsStream | LinkRole::WritesStream => PluginKind::Stream,
            LinkRole::FeedsDestination => PluginKind::Destination,
        };
        let known = &sections[&target_kind];
        if !known.contains(&link.target) {
            let elsewhere = PluginKind::ALL.into_iter().find(|k| sections[k].contains(&link.target));
            let closest = closest(&link.target, known.iter().map(String::as_str));
            let help = match (elsewhere, closest) {
                (Some(other), _) => {
                    Some(format!("`{}` is a {}, not a {}", link.target, other.noun(), target_kind.noun()))
                }
                (None, Some(name)) => Some(format!("did you mean `{name}`?")),
                (None, None) => {
                    let defined = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
                    Some(format!("{} defined: {defined}", target_kind.section()))
                }
            };
            out.value_error(
                &link.pointer,
                Code::DanglingReference,
                format!("no {} named `{}`", target_kind.noun(), link.target),
                help,
            );
            // The entry the typo meant is not unused: saying so would only repeat this error.
            if let Some(meant) = closest.map(str::to_owned) {
                match link.role {
                    LinkRole::ReadsStream => read_streams.insert(meant),
                    LinkRole::FeedsDestination => fed_destinations.insert(meant),
                    LinkRole::WritesStream | LinkRole::ReadOutside => false,
                };
            }
            continue;
        }
        let to: Node = (target_kind, link.target.clone());
        match link.role {
            LinkRole::ReadsStream => {
                read_streams.insert(link.target.clone());
                edges.entry(to).or_default().push((from, link));
            }
            LinkRole::WritesStream => edges.entry(from).or_default().push((to, link)),
            LinkRole::ReadOutside => {}
            LinkRole::FeedsDestination => {
                fed_destinations.insert(link.target.clone());
                edges.entry(from).or_default().push((to, link));
            }
        }
    }
    if complete {
        report_unused(out, links, &sections, &read_streams, &fed_destinations);
    }
    report_cycle(out, &edges);
}

fn report_unused(
    out: &mut Findings<'_>,
    links: &[(PluginKind, String, Link)],
    sections: &BTreeMap<PluginKind, Vec<String>>,
    read_streams: &BTreeSet<String>,
    fed_destinations: &BTreeSet<String>,
) {
    // Streams served over the Kinesis API may be read from outside, by its GetRecords.
    let served = out.doc.value.pointer("/serve/kinesis_api").is_some_and(|api| !api.is_null());
    for stream in sections[&PluginKind::Stream].iter().filter(|_| !served) {
        if !read_streams.contains(stream) {
            out.key_error(
                &pointer_of(PluginKind::Stream, stream),
                Code::Unused,
                format!("stream `{stream}` is never read"),
                Some(
                    "give it to an application's `input` or a destination's `source`, serve it to outside readers \
                     with `serve: {kinesis_api: {}}`, or remove it"
                        .into(),
                ),
            );
        }
    }
    let reading_destinations: BTreeSet<&String> = links
        .iter()
        .filter(|(k, _, l)| *k == PluginKind::Destination && l.role == LinkRole::ReadsStream)
        .map(|(_, n, _)| n)
        .collect();
    for destination in &sections[&PluginKind::Destination] {
        if !fed_destinations.contains(destination) && !reading_destinations.contains(destination) {
            out.key_error(
                &pointer_of(PluginKind::Destination, destination),
                Code::Unused,
                format!("destination `{destination}` receives nothing"),
                Some("name it in an application's `outputs`, or give it a `source` stream".into()),
            );
        }
    }
}

/// Reports the first cycle found (depth-first, in sorted order, so the report is stable).
fn report_cycle(out: &mut Findings<'_>, edges: &BTreeMap<Node, Vec<(Node, &Link)>>) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Done,
    }
    fn visit<'l>(
        node: &Node,
        edges: &BTreeMap<Node, Vec<(Node, &'l Link)>>,
        state: &mut BTreeMap<Node, State>,
        path: &mut Vec<(Node, Option<&'l Link>)>,
    ) -> Option<Vec<(Node, Option<&'l Link>)>> {
        match state.get(node) {
            Some(State::Done) => return None,
            Some(State::Open) => {
                let start = path.iter().position(|(n, _)| n == node)?;
                return Some(path[start..].to_vec());
            }
            None => {}
        }
        state.insert(node.clone(), State::Open);
        for (next, link) in edges.get(node).into_iter().flatten() {
            path.push((next.clone(), Some(*link)));
            if let Some(cycle) = visit(next, edges, state, path) {
                return Some(cycle);
            }
            path.pop();
        }
        state.insert(node.clone(), State::Done);
        None
    }
    let mut state = BTreeMap::new();
    for start in edges.keys() {
        let mut path = vec![(start.clone(), None)];
        if let Some(cycle) = visit(start, edges, &mut state, &mut path) {
            // The path starts and ends at the same node.
            let names: Vec<String> = cycle.iter().map(|((k, n), _)| format!("{} `{n}`", k.noun())).collect();
            let pointer = cycle.iter().find_map(|(_, l)| l.map(|l| l.pointer.clone())).unwrap_or_default();
            out.value_error(&pointer, Code::Cycle, format!("data flows in a circle: {}", names.join(" -> ")), None);
            return;
        }
    }
}
