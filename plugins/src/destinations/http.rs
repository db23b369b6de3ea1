//! `http`: POSTs batches of records as JSON lines to an HTTP endpoint, for anything without a destination of
//! its own (a webhook, a collector, an internal service).
//!
//! ```text
//!   Delivery ──gather──▶ records ──chunks: max_records / max_bytes──▶ POST url (application/x-ndjson)
//!                                                                        │
//!      2xx: acknowledge · 408, 429, 5xx, no connection, timeout: again with back-off (Retry-After honoured)
//!      any other status: the run stops with the error, nothing of the batch acknowledged
//! ```
//!
//! A request's body is its records, each followed by `\n`, as they are (an application's JSON rows are one
//! line each; records read straight from a stream are sent as written). Deliveries already waiting are
//! gathered ([`super::batch`]) and cut into requests of at most `max_records` records and `max_bytes` bytes; a
//! record larger than `max_bytes` goes in a request of its own. Requests go one at a time, in order, and a
//! delivery is acknowledged once every request holding its records was answered 2xx.
//!
//! A 4xx other than 408 and 429 means the endpoint will not take the request however often it is sent (a bad
//! token, a wrong path, a body it rejects), and so does a 3xx (redirects are not followed: a redirected POST
//! would arrive as a GET without its body): the run stops with an error naming the status and the start of the
//! response, and, like a failure that outlasts the retries, acknowledges nothing of that batch or after it. No
//! record is lost: the next run sends them again, once the endpoint or the pipeline is fixed (at-least-once).
//!
//! `headers` are sent with every request; their values may use `${VAR}`, resolved from the environment when
//! the pipeline starts, so a token never sits in the file (a literal `Authorization`, `Proxy-Authorization`,
//! `Cookie` or `X-Api-Key` value is an error of `sluice validate`). The client is reqwest (rustls): it is
//! already built for object_store's S3 client, so it costs no compile time.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use sluice_core::diagnostic::Code;
use sluice_core::plugin::{BuildContext, BuildError, Built, LinkRole, PluginConfig, ValidateCx};
use sluice_core::runtime::ack::Delivery;
use sluice_core::runtime::component::{Destination, DestinationContext, RunError};
use sluice_core::runtime::record::Record;
use sluice_core::units::{self, ByteSize, byte_size_range_schema, duration_range_schema};
use tokio::sync::mpsc;

use super::batch::{Limits, chunks, error_chain, gather};
use crate::retry::{Failure, RetryConfig, RetryPolicy, retry};

/// The content type of a request's body.
pub const NDJSON: &str = "application/x-ndjson";

/// Headers whose values are credentials: a literal value is refused.
const SECRET_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "x-api-key"];

/// Headers the destination sets itself.
const OWN_HEADERS: [&str; 3] = ["content-length", "transfer-encoding", "host"];

/// POSTs records as JSON lines (`application/x-ndjson`, one record per line) to an HTTP endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Where batches are POSTed: an `http://` or `https://` URL.
    #[schemars(length(min = 1))]
    pub url: String,
    /// Read records straight from this stream, instead of an application.
    pub source: Option<String>,
    /// Headers sent with every request; write secrets as `${VAR}` (`Authorization: "Bearer ${API_TOKEN}"`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Records per request at most.
    #[serde(default = "default_max_records")]
    #[schemars(default = "default_max_records", range(min = 1, max = 100000))]
    pub max_records: usize,
    /// Bytes per request at most (records and their newlines); a larger record is sent alone.
    #[serde(default = "default_max_bytes")]
    #[schemars(default = "default_max_bytes", schema_with = "max_bytes_schema")]
    pub max_bytes: ByteSize,
    /// How long one request may take, connecting included.
    #[serde(default = "default_timeout")]
    #[schemars(default = "default_timeout", schema_with = "timeout_schema")]
    pub timeout: units::Duration,
    /// How failed requests are retried before the run stops.
    #[serde(default)]
    pub retry: RetryConfig,
}

fn default_max_records() -> usize {
    500
}
fn default_max_bytes() -> ByteSize {
    ByteSize::from_mib(1)
}
fn default_timeout() -> units::Duration {
    units::Duration::from_secs(30)
}
fn max_bytes_schema(_: &mut SchemaGenerator) -> Schema {
    byte_size_range_schema("1KiB", "256MiB")
}
fn timeout_schema(_: &mut SchemaGenerator) -> Schema {
    duration_range_schema("1s", "900s")
}

/// Why `url` cannot be POSTed to, if it cannot; a URL still holding `${VAR}` is checked once resolved.
fn url_problem(url: &str) -> Option<String> {
    if url.contains("${") {
        let scheme_ok = ["http://", "https://", "${"].iter().any(|p| url.starts_with(p));
        return (!scheme_ok).then(|| format!("url `{url}` is not an http:// or https:// URL"));
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => None,
        Ok(_) => Some(format!("url `{url}` is not an http:// or https:// URL")),
        Err(e) => Some(format!("url `{url}` is not an http:// or https:// URL ({e})")),
    }
}

impl PluginConfig for HttpConfig {
    fn validate(&self, cx: &mut ValidateCx<'_>) {
        if let Some(source) = &self.source {
            cx.link("source", LinkRole::ReadsStream, source);
        }
        if let Some(problem) = url_problem(&self.url) {
            cx.error_with_help(
                "url",
                Code::InvalidValue,
                problem,
                "for example `https://collector.example.com/v1/events`",
            );
        }
        for (name, value) in &self.headers {
            let field = format!("headers/{name}");
            let lower = name.to_ascii_lowercase();
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                cx.error(&field, Code::InvalidValue, format!("`{name}` is not an HTTP header name"));
            } else if OWN_HEADERS.contains(&lower.as_str()) {
                cx.error(&field, Code::InvalidValue, format!("`{name}` is set by the destination itself"));
            } else if HeaderValue::from_str(value).is_err() {
                cx.error(
                    &field,
                    Code::InvalidValue,
                    format!("the value of header `{name}` is not a valid header value"),
                );
            } else if SECRET_HEADERS.contains(&lower.as_str()) && !value.contains("${") && !value.is_empty() {
                cx.error_with_help(
                    &field,
                    Code::LiteralSecret,
                    format!("literal secret in header `{name}`: pipeline files live in git"),
                    "write it as `${VAR}` (for example `Bearer ${API_TOKEN}`), set in the environment",
                );
            }
        }
    }

    fn build(&self, cx: &BuildContext) -> Result<Built, BuildError> {
        let invalid = |what: String| BuildError::Config(format!("http destination `{}`: {what}", cx.name));
        if let Some(problem) = url_problem(&self.url) {
            return Err(invalid(problem));
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(NDJSON));
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(format!("header `{name}`: {e}")))?;
            let value = HeaderValue::from_str(value).map_err(|e| invalid(format!("header `{name}`: {e}")))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            // A redirected POST becomes a GET without its body: a 3xx must not pass for delivery.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(self.timeout.as_std()))
            .timeout(self.timeout.as_std())
            .build()
            .map_err(|e| BuildError::Open(format!("http destination `{}`: the HTTP client: {e}", cx.name)))?;
        let max_bytes = usize::try_from(self.max_bytes.bytes()).unwrap_or(usize::MAX);
        Ok(Built::Destination(Box::new(HttpDestination {
            name: cx.name.clone(),
            url: self.url.clone(),
            client,
            limits: Limits { max_records: self.max_records.max(1), max_bytes, max_record_bytes: usize::MAX },
            retry: self.retry.policy(),
        })))
    }
}

/// The running `http` destination.
#[derive(Debug)]
pub struct HttpDestination {
    name: String,
    url: String,
    client: reqwest::Client,
    limits: Limits,
    retry: RetryPolicy,
}

/// The body of one request: each record followed by `\n`.
pub fn ndjson(records: &[Record]) -> Bytes {
    let mut body = Vec::with_capacity(records.iter().map(|r| r.data.len() + 1).sum());
    for record in records {
        body.extend_from_slice(&record.data);
        body.push(b'\n');
    }
    Bytes::from(body)
}

#[async_trait]
impl Destination for HttpDestination {
    async fn run(self: Box<Self>, mut input: mpsc::Receiver<Delivery>, cx: DestinationContext) -> Result<(), RunError> {
        let what = format!("http destination `{}`: POST {}", self.name, self.url);
        while let Some(mut gathered) = gather(&mut input, self.limits.max_records.saturating_mul(4)).await {
            let requests = chunks(&gathered.records, self.limits, |r| r.data.len() + 1)
                .map_err(|e| RunError(format!("http destination `{}`: {e}", self.name)))?;
            for request in requests {
                let body = ndjson(&gathered.records[request.clone()]);
                retry(self.retry, &what, |_| self.post(body.clone())).await.map_err(|e| {
                    RunError(format!(
                        "{e}; the run stops with this batch and what follows unacknowledged, so the next run sends \
                         them again"
                    ))
                })?;
                gathered.acknowledge_through(request.end, &cx.metrics);
            }
            gathered.acknowledge_through(gathered.records.len(), &cx.metrics);
        }
        Ok(())
    }
}

impl HttpDestination {
    /// One POST: `Ok` on 2xx, else how to go on.
    async fn post(&self, body: Bytes) -> Result<(), Failure<String>> {
        let response = match self.client.post(&self.url).body(body).send().await {
            Ok(response) => response,
            Err(e) if e.is_builder() => return Err(Failure::Permanent(error_chain(&e))),
            Err(e) => return Err(Failure::Retry(error_chain(&e), None)),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // Retry-After in seconds; its HTTP-date form is left to the back-off.
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let shown: String = text.chars().take(300).collect();
        let message = if shown.trim().is_empty() {
            format!("the endpoint answered {status}")
        } else {
            format!("the endpoint answered {status}: {}", shown.trim())
        };
        let retryable =
            status.is_server_error() || matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT);
        if retryable { Err(Failure::Retry(message, retry_after)) } else { Err(Failure::Permanent(message)) }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn messages(yaml: serde_json::Value) -> Vec<String> {
        let config: HttpConfig = serde_json::from_value(yaml).expect("parses");
        let mut cx = ValidateCx::new(Path::new("."), "/destinations/d".into());
        config.validate(&mut cx);
        cx.finish().0.into_iter().map(|i| format!("{}: {}", i.pointer, i.message)).collect()
    }

    #[test]
    fn urls_must_be_http() {
        assert_eq!(url_problem("https://example.com/v1/events"), None);
        assert_eq!(url_problem("http://127.0.0.1:8080"), None);
        assert_eq!(url_problem("${WEBHOOK_URL}"), None);
        assert_eq!(url_problem("https://${HOST}/events"), None);
        assert_eq!(
            url_problem("ftp://example.com").as_deref(),
            Some("url `ftp://example.com` is not an http:// or https:// URL")
        );
        assert_eq!(
            url_problem("example.com/events").as_deref(),
            Some("url `example.com/events` is not an http:// or https:// URL (relative URL without a base)")
        );
    }

    #[test]
    fn headers_are_checked_and_secrets_must_come_from_the_environment() {
        let yaml = serde_json::json!({
            "url": "http://127.0.0.1:1",
            "headers": {
                "Authorization": "Bearer abc",
                "X-Api-Key": "${KEY}",
                "Bad Name": "x",
                "Content-Length": "3",
                "X-Team": "data"
            }
        });
        assert_eq!(
            messages(yaml),
            [
                "/destinations/d/headers/Authorization: literal secret in header `Authorization`: pipeline files live in git",
                "/destinations/d/headers/Bad Name: `Bad Name` is not an HTTP header name",
                "/destinations/d/headers/Content-Length: `Content-Length` is set by the destination itself",
            ]
        );
    }

    #[test]
    fn a_body_is_one_record_per_line() {
        let record = |d: &'static str| Record {
            partition_key: "k".into(),
            data: Bytes::from_static(d.as_bytes()),
            arrival_ms: 0,
            shard: None,
        };
        assert_eq!(&ndjson(&[record("{\"a\":1}"), record("{\"b\":2}")])[..], b"{\"a\":1}\n{\"b\":2}\n");
    }
}

sluice_core::register_plugin!(Destination, "http", HttpConfig);
