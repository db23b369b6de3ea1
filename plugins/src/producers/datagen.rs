//! `datagen`: generates records from a template, like the tutorial's boto3 producer.
//!
//! The record template is compiled once ([`Template::json`]); each record is one rendering, compact JSON. The
//! pace is a token bucket ([`Pace`]): `every` lets one record go per period, the first at once; `rate` sends
//! small batches about every 100 ms so the average holds. The position stored with each put is the number of
//! records produced so far, so after a restart `count` and `{{seq}}` go on where they stopped. With a `seed`,
//! record `n` is rendered from an RNG seeded with (`seed`, `n`): the output is the same whatever the batching
//! and however often the run was restarted.

use std::collections::BTreeMap;

use async_trait::async_trait;
use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::runtime::component::{Producer, ProducerContext, RunError};
use sluice_core::runtime::record::PutRecord;
use sluice_core::units::Duration;

use super::rate::Pace;
use super::template::{self, Template};
use super::{BATCH_RECORDS, KeyTemplate, encode_position, entropy_rng, interpolated, stored_position};

/// Generates records from a template: literal values, and `{{...}}` generators in strings
/// (`{{int 1 100}}`, `{{float 0 1}}`, `{{now}}`, `{{uuid}}`, `{{choice a b c}}`, `{{seq}}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatagenConfig {
    /// The stream records are put into.
    pub stream: String,
    /// One record per period (`10s`); give `every` or `rate`.
    pub every: Option<Duration>,
    /// Records per second; give `every` or `rate`.
    #[schemars(range(min = 0.001, max = 1000000.0))]
    pub rate: Option<f64>,
    /// Stop after this many records; without it the producer runs until stopped.
    #[schemars(range(min = 1))]
    pub count: Option<u64>,
    /// Seed of the random generators, for reproducible output.
    pub seed: Option<u64>,
    /// Partition key template; a random UUID per record by default.
    pub partition_key: Option<String>,
    /// The record template: a JSON object written as YAML.
    #[schemars(with = "BTreeMap<String, Value>")]
    pub record: BTreeMap<String, Value>,
}

impl PluginConfig for DatagenConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        cx.link("stream", LinkRole::WritesStream, &self.stream);
        match (&self.every, &self.rate) {
            (Some(_), Some(_)) => cx.error("rate", Code::InvalidValue, "give `every` or `rate`, not both"),
            (None, None) => cx.error(
                "",
                Code::MissingKey,
                "datagen needs `every` (one record per period) or `rate` (records per second)",
            ),
            (Some(every), None) if every.as_std().is_zero() => {
                cx.error("every", Code::OutOfRange, "`every` must be longer than 0")
            }
            _ => {}
        }
        for error in template::check_json(&self.record_value()) {
            // Strings with `${...}` are only complete at run time; `build` checks them.
            if !interpolated(&error.template) {
                cx.error(&format!("record/{}", error.path), Code::InvalidValue, error.message);
            }
        }
        super::check_partition_key(cx, self.partition_key.as_deref());
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        let pace = match (self.every, self.rate) {
            (Some(every), None) if !every.as_std().is_zero() => Pace::every(every.as_std()),
            (None, Some(rate)) if rate > 0.0 && rate.is_finite() => Pace::rate(rate),
            _ => return Err(BuildError::Config("datagen needs `every` (longer than 0) or `rate`, not both".into())),
        };
        let record = Template::json(&self.record_value())
            .map_err(|e| BuildError::Config(format!("`record/{}`: {}", e.path, e.message)))?;
        let partition_key = super::partition_key_template(self.partition_key.as_deref())?;
        Ok(Built::Producer(Box::new(Datagen { pace, count: self.count, seed: self.seed, record, partition_key })))
    }
}

impl DatagenConfig {
    fn record_value(&self) -> Value {
        Value::Object(self.record.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

sluice_core::register_plugin!(Producer, "datagen", DatagenConfig);

/// The running `datagen` producer.
struct Datagen {
    pace: Pace,
    count: Option<u64>,
    seed: Option<u64>,
    record: Template,
    partition_key: KeyTemplate,
}

/// What `datagen` stores with each put.
#[derive(Debug, Serialize, Deserialize)]
struct DatagenPosition {
    /// Records produced so far, over all runs.
    records: u64,
}

#[async_trait]
impl Producer for Datagen {
    async fn run(mut self: Box<Self>, cx: ProducerContext) -> Result<(), RunError> {
        let mut produced = stored_position::<DatagenPosition>(&cx)?.map_or(0, |p| p.records);
        let mut rng = entropy_rng();
        loop {
            let left = self.count.map_or(u64::MAX, |count| count.saturating_sub(produced));
            if left == 0 {
                return Ok(());
            }
            let Some(allowed) = self.pace.ready(&cx.stop).await else { return Ok(()) };
            let wanted = allowed.min(BATCH_RECORDS).min(usize::try_from(left).unwrap_or(usize::MAX));
            let granted = cx.reserve(wanted).await;
            if granted == 0 {
                return Ok(());
            }
            // The batch's records are rendered into one buffer, then shared out of it.
            let mut data = Vec::with_capacity(granted * 128);
            let mut keyed = Vec::with_capacity(granted);
            for seq in produced + 1..=produced + granted as u64 {
                if let Some(seed) = self.seed {
                    rng = record_rng(seed, seq);
                }
                let start = data.len();
                self.record.render(&mut rng, seq, &mut data);
                keyed.push((self.partition_key.render(&mut rng, seq), start..data.len()));
            }
            let data = Bytes::from(data);
            let records = keyed
                .into_iter()
                .map(|(partition_key, range)| PutRecord { partition_key, data: data.slice(range) })
                .collect();
            self.pace.take(granted);
            produced += granted as u64;
            cx.put(records, Some(encode_position(&DatagenPosition { records: produced }))).await?;
        }
    }
}

/// The RNG of record `seq` of a seeded run: a function of both, so output does not depend on batching or restarts.
fn record_rng(seed: u64, seq: u64) -> SmallRng {
    // Spread consecutive numbers apart before seeding (SplitMix64's increment).
    SmallRng::seed_from_u64(seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration as StdDuration;

    use serde_json::json;

    use super::*;
    use crate::producers::template::TemplateError;
    use crate::producers::testing::{FakeStream, context};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A datagen of `{n: seq, v: int, id: uuid}` records.
    fn datagen(pace: Pace, count: Option<u64>, seed: Option<u64>) -> Result<Box<Datagen>, TemplateError> {
        let record = Template::json(&json!({"n": "{{seq}}", "v": "{{int 1 1000000}}", "id": "{{uuid}}"}))?;
        Ok(Box::new(Datagen { pace, count, seed, record, partition_key: KeyTemplate::new(Template::uuid()) }))
    }

    fn fast() -> Pace {
        Pace::rate(1e6)
    }

    fn values(stream: &FakeStream) -> Result<Vec<Value>, serde_json::Error> {
        stream.data().iter().map(|d| serde_json::from_str(d)).collect()
    }

    #[tokio::test]
    async fn count_is_honoured_and_resume_continues_seq_and_count() -> TestResult {
        let stream = Arc::new(FakeStream::default());
        let (cx, _stop) = context(&stream, Some(4));
        // The budget cuts the first run at 4 of 10.
        datagen(fast(), Some(10), Some(1))?.run(cx).await?;
        let first = values(&stream)?;
        assert_eq!(first.iter().map(|v| v["n"].clone()).collect::<Vec<_>>(), [1, 2, 3, 4]);

        stream.clear_records();
        let (cx, _stop) = context(&stream, None);
        datagen(fast(), Some(10), Some(1))?.run(cx).await?;
        let second = values(&stream)?;
        assert_eq!(second.iter().map(|v| v["n"].clone()).collect::<Vec<_>>(), [5, 6, 7, 8, 9, 10]);
        let last = stream.puts().last().and_then(|p| p.position.clone()).ok_or("a position")?;
        assert_eq!(String::from_utf8(last)?, r#"{"records":10}"#);

        // A restart after `count` produces nothing.
        stream.clear_records();
        let (cx, _stop) = context(&stream, None);
        datagen(fast(), Some(10), Some(1))?.run(cx).await?;
        assert!(stream.data().is_empty());

        // Seeded output is the same whether made in one run or across a restart.
        let whole = Arc::new(FakeStream::default());
        let (cx, _stop) = context(&whole, None);
        datagen(fast(), Some(10), Some(1))?.run(cx).await?;
        assert_eq!(values(&whole)?, [first, second].concat());
        Ok(())
    }

    #[tokio::test]
    async fn a_budget_caps_an_endless_generator() -> TestResult {
        let stream = Arc::new(FakeStream::default());
        let (cx, _stop) = context(&stream, Some(5));
        datagen(fast(), None, None)?.run(cx).await?;
        assert_eq!(stream.data().len(), 5);
        Ok(())
    }

    #[tokio::test]
    async fn every_sends_the_first_record_at_once_and_stop_ends_the_wait() -> TestResult {
        let stream = Arc::new(FakeStream::default());
        let (cx, stop) = context(&stream, None);
        let task = tokio::spawn(datagen(Pace::every(StdDuration::from_secs(3600)), None, None)?.run(cx));
        tokio::time::timeout(StdDuration::from_secs(5), async {
            while stream.data().is_empty() {
                tokio::time::sleep(StdDuration::from_millis(5)).await;
            }
        })
        .await?;
        stop.cancel();
        tokio::time::timeout(StdDuration::from_secs(5), task).await???;
        assert_eq!(stream.data().len(), 1, "one record, then an hour's wait cut short");
        Ok(())
    }

    #[tokio::test]
    async fn rate_holds_its_pace() -> TestResult {
        let stream = Arc::new(FakeStream::default());
        let (cx, _stop) = context(&stream, None);
        let started = tokio::time::Instant::now();
        // 20/s: the first record at once, the other 9 over at least 0.45 s.
        datagen(Pace::rate(20.0), Some(10), None)?.run(cx).await?;
        assert_eq!(stream.data().len(), 10);
        assert!(started.elapsed() >= StdDuration::from_millis(440), "{:?}", started.elapsed());
        Ok(())
    }

    #[test]
    fn validate_reports_bad_generators_at_their_field() -> TestResult {
        let config: DatagenConfig = serde_json::from_value(json!({
            "stream": "s", "every": "1s", "partition_key": "{{choice}}",
            "record": {"ok": "{{int 1 2}}", "bad": "{{int 5 1}}", "nested": [{"x": "{{nope}}"}],
                       "env": "{{int ${LOW} 9}}"}
        }))?;
        let dir = std::path::Path::new(".");
        let mut cx = ValidateCx::new(dir, "/producers/gen".into());
        config.validate(&mut cx);
        let (issues, _) = cx.finish();
        let found: Vec<(&str, &str)> = issues.iter().map(|i| (i.pointer.as_str(), i.message.as_str())).collect();
        assert_eq!(
            found,
            [
                ("/producers/gen/record/bad", "`{{int 5 1}}`: the lowest value 5 is above the highest 1"),
                (
                    "/producers/gen/record/nested/0/x",
                    "unknown generator `nope` in `{{nope}}`: use one of int, float, now, uuid, choice, seq"
                ),
                ("/producers/gen/partition_key", "`{{choice}}` needs at least one option"),
            ]
        );
        Ok(())
    }
}
