//! What every request is served with: the streams, the access keys, the write limits, the iterator key and the
//! counters; and how a request's stream name or ARN resolves to a stream.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_core::runtime::metrics::StageMetrics;
use sluice_core::runtime::sharded::ShardedStream;

use crate::auth::Auth;
use crate::error::{ACCOUNT, ApiError, Pattern, Violations};
use crate::iterator::Iterators;
use crate::model::StreamRef;
use crate::throttle::Throttle;

/// The region in ARNs when a request was not signed (a signed one names its own).
pub const DEFAULT_REGION: &str = "us-east-1";

/// The shared state of one server.
pub struct Api {
    /// The streams served, by name.
    pub streams: BTreeMap<String, Arc<dyn ShardedStream>>,
    /// The accepted access keys; `None` accepts every request.
    pub auth: Option<Auth>,
    /// Per-shard write limits; `None` does not throttle.
    pub throttle: Option<Throttle>,
    /// Makes and reads shard iterators.
    pub iterators: Iterators,
    /// Records and bytes put through the API.
    pub metrics: Arc<StageMetrics>,
}

/// What an operation knows of its request besides its input.
#[derive(Debug, Clone)]
pub struct RequestCx {
    /// The region the request was signed for, for ARNs.
    pub region: String,
    /// When it arrived, in milliseconds since the Unix epoch.
    pub now_ms: i64,
}

impl RequestCx {
    /// The ARN of stream `name`.
    pub fn arn(&self, name: &str) -> String {
        format!("arn:aws:kinesis:{}:{ACCOUNT}:stream/{name}", self.region)
    }
}

impl Api {
    /// Resolves a stream validated by [`check_stream`]; ResourceNotFoundException when it is not served.
    pub fn stream(&self, stream: StreamRef<'_>) -> Result<(String, Arc<dyn ShardedStream>), ApiError> {
        let name = stream_name(stream)?;
        let found = self.streams.get(name).ok_or_else(|| ApiError::stream_not_found(name))?;
        Ok((name.to_owned(), Arc::clone(found)))
    }
}

/// Adds the violations of a stream's name and ARN to `found`.
pub fn check_stream(found: &mut Violations, stream: StreamRef<'_>) {
    found.text(stream.name, "streamName", 1, 128, Some(Pattern::Name));
    found.text(stream.arn, "streamARN", 1, 2048, None);
    if let Some(arn) = stream.arn
        && arn_stream_name(arn).is_none()
    {
        found.add(
            Some(arn),
            "streamARN",
            "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
        );
    }
}

/// The stream a request names: by name, else by ARN (which must agree when both are given).
fn stream_name(stream: StreamRef<'_>) -> Result<&str, ApiError> {
    let from_arn = stream.arn.and_then(arn_stream_name);
    match (stream.name, from_arn) {
        (Some(name), Some(arn_name)) if name != arn_name => Err(ApiError::invalid_argument(format!(
            "StreamARN {} and StreamName {name} name different streams.",
            stream.arn.unwrap_or_default()
        ))),
        (Some(name), _) | (None, Some(name)) => Ok(name),
        (None, None) => Err(ApiError::invalid_argument("Either StreamName or StreamARN should be provided.")),
    }
}

/// The stream name in a Kinesis stream ARN (`arn:<partition>:kinesis:<region>:<account>:stream/<name>`).
pub fn arn_stream_name(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (scheme, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (_region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    let name = resource.strip_prefix("stream/")?;
    let valid = scheme == "arn"
        && partition.starts_with("aws")
        && service == "kinesis"
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && Pattern::Name.matches(name);
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_stream() {
        assert_eq!(arn_stream_name("arn:aws:kinesis:eu-west-1:123456789012:stream/metrics"), Some("metrics"));
        assert_eq!(arn_stream_name("arn:aws:kinesis:eu-west-1:123456789012:consumer/x"), None);
        assert_eq!(arn_stream_name("arn:aws:s3:::bucket"), None);
        let both = StreamRef { name: Some("a"), arn: Some("arn:aws:kinesis:us-east-1:000000000000:stream/b") };
        assert_eq!(stream_name(both).map_err(|e| e.kind), Err("InvalidArgumentException"));
        assert_eq!(stream_name(StreamRef::default()).map_err(|e| e.kind), Err("InvalidArgumentException"));
    }
}
