//! # sluice-core
//!
//! The heart of sluice: the pipeline spec, loading it from YAML, the JSON schema generated from it, offline
//! validation, and the plugin registry that every producer, stream, application and destination joins.
//!
//! ## Design
//!
//! A pipeline is a YAML file in git. Its first promise is that a broken file is rejected before anything runs,
//! with a message that points at the exact line, and that an editor can complete it from a generated schema.
//! So the file goes through one validator, in phases that each report everything they find:
//!
//! ```text
//!  pipeline.yaml
//!       │  yaml::load       1 MiB cap, UTF-8, serde-saphyr budgets, duplicate keys, positions of every node
//!       ▼
//!   Document ──▶ validate ──▶ schema (jsonschema) ──▶ strings (${VAR}, secrets)
//!       │                 ──▶ plugin hooks (registry) ──▶ references (dangling, unused, cycles)
//!       ▼
//!   Report: path:line:col: error[code]: message
//! ```
//!
//! Data in a running pipeline flows one way, in batches:
//!
//! ```text
//!   producer ──▶ stream ──▶ application (SQL) ──▶ destination
//! ```
//!
//! ## Extension points
//!
//! | to add             | implement                                   | register with                      |
//! |--------------------|---------------------------------------------|------------------------------------|
//! | a plugin of a kind | [`plugin::PluginConfig`] on its config type | [`register_plugin!`] (once, by name) |
//!
//! Core never names a plugin: the schema, validation and listings walk [`plugin::registry`], sorted.
//!
//! ## Architecture invariants
//!
//! - Loading and validation never panic on any input, and never touch the network.
//! - Every diagnostic has a file, line and column.
//! - The committed schema is exactly what [`schema::pipeline_schema`] generates (`cargo xtask schema --check`).

pub mod diagnostic;
pub mod embedded;
pub mod interpolate;
pub mod plugin;
pub mod redact;
pub mod runtime;
pub mod schema;
pub mod serve;
pub mod spec;
pub mod suggest;
pub mod units;
pub mod validate;
pub mod yaml;

#[doc(hidden)]
pub use inventory;
