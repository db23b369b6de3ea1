//! What every plugin that calls AWS shares: one way to find region, endpoint and credentials.
//!
//! Credentials come only from the standard AWS chain (environment, shared config and credentials files, SSO,
//! web identity, container and instance metadata): a pipeline file never holds a secret. A plugin's config
//! may override the region and the endpoint with its own `region:` and `endpoint:` fields (a local server,
//! a VPC endpoint); `AWS_ENDPOINT_URL` and `AWS_REGION` work as in every AWS SDK. Configs list the two
//! fields themselves (serde's `flatten` cannot be combined with `deny_unknown_fields`) and pass them here.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use sluice_core::diagnostic::Code;
use sluice_core::plugin::ValidateCx;

/// The SDK config for a plugin: the standard chain, with the config's `region` and `endpoint` when given.
/// Loading is async and may read files; call it when the component starts, not in `build`.
pub async fn sdk_config(region: Option<&str>, endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Checks a config's `endpoint` field: an `http://` or `https://` URL with a host.
pub fn validate_endpoint(cx: &mut ValidateCx<'_>, field: &str, endpoint: Option<&str>) {
    let Some(endpoint) = endpoint else { return };
    let host = endpoint.strip_prefix("https://").or_else(|| endpoint.strip_prefix("http://"));
    if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
        cx.error_with_help(
            field,
            Code::InvalidValue,
            format!("endpoint `{endpoint}` is not an http:// or https:// URL"),
            "for example `http://127.0.0.1:4566` (a local server) or `https://kinesis.eu-west-1.amazonaws.com`",
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn endpoints_must_be_http_urls() {
        for (endpoint, ok) in [
            ("http://127.0.0.1:4566", true),
            ("https://s3.amazonaws.com", true),
            ("127.0.0.1:4566", false),
            ("http://", false),
        ] {
            let mut cx = ValidateCx::new(Path::new("."), "/streams/s".into());
            validate_endpoint(&mut cx, "endpoint", Some(endpoint));
            let (issues, _) = cx.finish();
            assert_eq!(issues.is_empty(), ok, "{endpoint}: {issues:?}");
        }
    }

    #[tokio::test]
    async fn the_configs_region_and_endpoint_win() {
        let config = sdk_config(Some("eu-west-3"), Some("http://127.0.0.1:1")).await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
    }
}
