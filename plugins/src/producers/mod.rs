//! Producers: put records into a stream.
//!
//! Every producer runs the same loop: wait until it has something to put (input, or its pace allows a record),
//! reserve that many records from the run's budget ([`ProducerContext::reserve`]; 0 means stop), produce up to
//! the reservation, give back the rest, and put the batch together with the producer's read position, which the
//! stream stores atomically with the records. On start a producer resumes from that position, so a restart
//! neither skips nor repeats. Waits race `cx.stop`, so a stopping run never waits on a producer.
//!
//! Shared pieces: [`template`] (records and partition keys), `lines` (line framing for `file` and `stdin`) and
//! `rate` (the token bucket behind `every` and `rate`).

pub mod datagen;
pub mod file;
pub mod stdin;
pub mod template;

mod lines;
mod rate;
#[cfg(test)]
mod testing;

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildError, ValidateCx};
use sluice_core::runtime::component::{ProducerContext, RunError};

use self::template::Template;

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

/// Most records per put.
const BATCH_RECORDS: usize = 8192;

/// Whether a string holds `${...}` interpolation: its template is only known at run time, so `build` checks it.
fn interpolated(text: &str) -> bool {
    text.contains("${")
}

/// The validate hook's check of a `partition_key` template.
fn check_partition_key(cx: &mut ValidateCx<'_>, partition_key: Option<&str>) {
    let Some(key) = partition_key else { return };
    if key.is_empty() {
        cx.error("partition_key", Code::InvalidValue, "`partition_key` is empty; a key has 1 to 256 characters");
    } else if !interpolated(key)
        && let Err(message) = template::check(key)
    {
        cx.error("partition_key", Code::InvalidValue, message);
    }
}

/// The compiled `partition_key` template, or a random UUID per record.
fn partition_key_template(partition_key: Option<&str>) -> Result<KeyTemplate, BuildError> {
    match partition_key {
        Some(key) => {
            Template::text(key).map(KeyTemplate::new).map_err(|e| BuildError::Config(format!("`partition_key`: {e}")))
        }
        None => Ok(KeyTemplate::new(Template::uuid())),
    }
}

/// A `partition_key` template rendering shared keys. Without generators every record gets a clone of one
/// `Arc<str>`: no rendering or allocation per record, and the stream sees the batch has one key.
#[derive(Debug, Clone)]
struct KeyTemplate {
    template: Template,
    constant: Option<Arc<str>>,
    /// Reused for each rendering.
    scratch: Vec<u8>,
}

impl KeyTemplate {
    fn new(template: Template) -> Self {
        let constant = template.constant().map(Arc::from);
        KeyTemplate { template, constant, scratch: Vec::new() }
    }

    /// The key of record `seq`.
    fn render(&mut self, rng: &mut impl Rng, seq: u64) -> Arc<str> {
        if let Some(key) = &self.constant {
            return Arc::clone(key);
        }
        self.scratch.clear();
        self.template.render(rng, seq, &mut self.scratch);
        // Every piece is UTF-8 (compiled from strings, generators print ASCII), so this never replaces anything.
        match std::str::from_utf8(&self.scratch) {
            Ok(key) => Arc::from(key),
            Err(_) => Arc::from(String::from_utf8_lossy(&self.scratch)),
        }
    }
}

/// A fast RNG seeded from the OS (through UUID v4, as rand's own OS source is not enabled in this build).
fn entropy_rng() -> SmallRng {
    let mut seed = <SmallRng as SeedableRng>::Seed::default();
    for chunk in seed.as_mut().chunks_mut(16) {
        chunk.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..chunk.len()]);
    }
    SmallRng::from_seed(seed)
}

/// Partition keys from a template, numbering records (`{{seq}}`) on from where the producer stopped.
struct PartitionKeys {
    template: KeyTemplate,
    rng: SmallRng,
    /// The number of the last record keyed.
    seq: u64,
}

impl PartitionKeys {
    fn new(template: KeyTemplate, seq: u64) -> Self {
        PartitionKeys { template, rng: entropy_rng(), seq }
    }

    fn next(&mut self) -> Arc<str> {
        self.seq += 1;
        self.template.render(&mut self.rng, self.seq)
    }
}

/// The producer's stored position, decoded; a position that does not decode is an error rather than a silent
/// restart from the beginning (which would repeat everything).
fn stored_position<T: serde::de::DeserializeOwned>(cx: &ProducerContext) -> Result<Option<T>, RunError> {
    let Some(bytes) = cx.resume_position() else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        RunError(format!(
            "producer `{}`: its stored position `{}` is not one it writes ({e}); was the producer's type changed?",
            cx.name,
            String::from_utf8_lossy(&bytes)
        ))
    })
}

fn encode_position(position: &impl Serialize) -> Vec<u8> {
    // Plain structs of strings and numbers always serialize.
    serde_json::to_vec(position).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_key_is_one_shared_arc_and_others_are_rendered() -> Result<(), Box<dyn std::error::Error>> {
        let mut keys = PartitionKeys::new(partition_key_template(Some("tenant-1"))?, 0);
        let (first, second) = (keys.next(), keys.next());
        assert_eq!(&*first, "tenant-1");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(keys.seq, 2, "`{{seq}}` counts records all the same");
        let mut keys = PartitionKeys::new(partition_key_template(Some("k{{seq}}"))?, 7);
        assert_eq!([keys.next(), keys.next()].map(|k| k.to_string()), ["k8", "k9"]);
        Ok(())
    }
}
