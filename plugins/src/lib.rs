//! # sluice-plugins
//!
//! The built-in plugins, one module per kind, one file per plugin. Each file holds the user-facing config type
//! (serde + schemars: its doc comments become the schema's descriptions), its validate hook, and the one
//! `register_plugin!` line that names it.
//!
//! ```text
//!   producers/    datagen, file, stdin      ──▶ streams/ embedded
//!   applications/ sql                       ──▶ destinations/ s3, stdout, firehose, lambda, http
//! ```
//!
//! `destinations/batch.rs` is what the request-per-batch destinations (firehose, lambda, http) share: gathering
//! deliveries into requests within a service's limits, per-record retries, acknowledgement.

pub mod applications;
pub mod aws;
pub mod destinations;
pub mod producers;
pub mod retry;
pub mod streams;

/// Keeps this crate linked into the binary, so its `inventory` registrations reach the registry.
/// The binary and xtask call it once at start.
pub fn link() {}

/// Every built-in plugin as `(section, type)`, for the registry test.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("producers", "datagen"),
    ("producers", "file"),
    ("producers", "stdin"),
    ("streams", "embedded"),
    ("streams", "kinesis"),
    ("applications", "sql"),
    ("destinations", "firehose"),
    ("destinations", "http"),
    ("destinations", "kinesis"),
    ("destinations", "lambda"),
    ("destinations", "s3"),
    ("destinations", "stdout"),
];

#[cfg(test)]
mod tests {
    use sluice_core::plugin::registry;

    #[test]
    fn every_built_in_plugin_is_registered_once() {
        let registered: Vec<(&str, &str)> = registry().iter().map(|p| (p.kind.section(), p.name)).collect();
        for expected in super::BUILT_IN {
            assert_eq!(registered.iter().filter(|r| *r == expected).count(), 1, "{expected:?} registered once");
        }
        assert_eq!(registered.len(), super::BUILT_IN.len(), "no unexpected plugins: {registered:?}");
        let mut sorted = registered.clone();
        sorted.sort_by_key(|(section, name)| {
            (sluice_core::plugin::PluginKind::ALL.iter().position(|k| k.section() == *section), *name)
        });
        assert_eq!(registered, sorted, "registry iterates sorted");
    }
}
