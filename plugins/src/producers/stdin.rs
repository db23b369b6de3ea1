//! `stdin`: records from standard input.
//!
//! The same line framing as `file` ([`LineReader`]), over an async reader: each read's complete lines go out
//! at once (up to 8192 per put) instead of waiting to fill a batch, so interactive input shows up promptly. The
//! budget is reserved only once lines are waiting, so an idle terminal holds none of it. Standard input cannot
//! be read again, so no position is stored.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::runtime::component::{Producer, ProducerContext, RunError};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::lines::{Batch, LineReader};
use super::{BATCH_RECORDS, InputFormat, KeyTemplate, PartitionKeys};

/// Reads records from standard input, one per line, until it closes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdinConfig {
    /// The stream records are put into.
    pub stream: String,
    /// How lines become records.
    #[serde(default = "lines")]
    #[schemars(default = "lines")]
    pub format: InputFormat,
    /// Partition key template; a random UUID per record by default.
    pub partition_key: Option<String>,
}

fn lines() -> InputFormat {
    InputFormat::Lines
}

impl PluginConfig for StdinConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        cx.link("stream", LinkRole::WritesStream, &self.stream);
        super::check_partition_key(cx, self.partition_key.as_deref());
    }

    fn build(&self, _: &BuildContext) -> Result<Built, BuildError> {
        let partition_key = super::partition_key_template(self.partition_key.as_deref())?;
        Ok(Built::Producer(Box::new(Stdin { format: self.format, partition_key })))
    }
}

sluice_core::register_plugin!(Producer, "stdin", StdinConfig);

/// The running `stdin` producer.
struct Stdin {
    format: InputFormat,
    partition_key: KeyTemplate,
}

#[async_trait]
impl Producer for Stdin {
    async fn run(self: Box<Self>, cx: ProducerContext) -> Result<(), RunError> {
        let keys = PartitionKeys::new(self.partition_key, 0);
        read_records(tokio::io::stdin(), self.format, keys, &cx).await
    }
}

/// Puts the records of `input` until its end, the budget's end, or a stop.
async fn read_records(
    mut input: impl AsyncRead + Unpin,
    format: InputFormat,
    mut keys: PartitionKeys,
    cx: &ProducerContext,
) -> Result<(), RunError> {
    let mut lines = LineReader::new(format, 0);
    let mut at_end = false;
    loop {
        while !at_end && !lines.has_line() {
            let read = tokio::select! {
                read = input.read(lines.spare()) => read,
                () = cx.stop.cancelled() => return Ok(()),
            };
            match read {
                Ok(0) => at_end = true,
                Ok(n) => lines.filled(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RunError(format!("producer `{}`: reading standard input: {e}", cx.name))),
            }
        }
        if at_end && lines.is_drained() {
            return Ok(());
        }
        let granted = cx.reserve(BATCH_RECORDS).await;
        if granted == 0 {
            return Ok(());
        }
        let mut batch = Batch::new(granted);
        if !lines.fill(&mut batch, &mut keys) && at_end {
            lines.finish(&mut batch, &mut keys);
        }
        let rejected = lines.take_rejected();
        for (line, bytes) in &rejected {
            tracing::error!(
                "producer `{}`: stdin:{line}: the record is {bytes} bytes, over the {}-byte limit of a record; it \
                 was skipped",
                cx.name,
                sluice_core::runtime::record::MAX_RECORD_BYTES
            );
        }
        if !rejected.is_empty() {
            cx.metrics.add_errors("Record_Too_Large", rejected.len() as u64);
        }
        cx.give_back(granted - batch.len());
        if !batch.is_empty() {
            cx.put(batch.records, None).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    use super::*;
    use crate::producers::template::Template;
    use crate::producers::testing::{FakeStream, context};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn keys() -> PartitionKeys {
        PartitionKeys::new(KeyTemplate::new(Template::uuid()), 0)
    }

    #[tokio::test]
    async fn reads_to_the_end_with_the_format_and_no_position() -> TestResult {
        let stream = Arc::new(FakeStream::default());
        let (cx, _stop) = context(&stream, None);
        read_records(&b"h\r\na,1\r\n\nb,2"[..], InputFormat::Csv, keys(), &cx).await?;
        assert_eq!(stream.data(), ["a,1", "", "b,2"]);
        assert!(stream.puts().iter().all(|p| p.position.is_none()));
        Ok(())
    }

    #[tokio::test]
    async fn lines_go_out_as_they_arrive_and_stop_ends_the_wait() -> TestResult {
        let stream = Arc::new(FakeStream::default());
        let (cx, stop) = context(&stream, None);
        let (mut writer, reader) = tokio::io::duplex(64);
        let task = tokio::spawn(async move { read_records(reader, InputFormat::Lines, keys(), &cx).await });
        writer.write_all(b"one\ntwo\npart").await?;
        tokio::time::timeout(Duration::from_secs(5), async {
            while stream.data().len() < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await?;
        assert_eq!(stream.data(), ["one", "two"], "the unfinished line waits");
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task).await???;
        Ok(())
    }

    #[tokio::test]
    async fn a_budget_ends_it() -> TestResult {
        let stream = Arc::new(FakeStream::default());
        let (cx, _stop) = context(&stream, Some(2));
        read_records(&b"a\nb\nc\n"[..], InputFormat::Lines, keys(), &cx).await?;
        assert_eq!(stream.data(), ["a", "b"]);
        Ok(())
    }
}
