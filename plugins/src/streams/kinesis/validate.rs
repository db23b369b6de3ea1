//! Checks of the fields every `kinesis` entry (stream or destination) has, at validate time: no network, no
//! credentials. A stream is named once (`stream_name` or `arn`, else the entry's name), names and ARNs follow
//! Kinesis's patterns, a region looks like one, and an endpoint is an `http://` or `https://` URL.

use sluice_core::diagnostic::Code;
use sluice_core::plugin::ValidateCx;

/// Checks the fields every `kinesis` entry has: `stream_name` or `arn` (not both), `region`, `endpoint`. `key` is
/// the entry's name, the stream's name when neither is given.
pub fn validate_target(
    cx: &mut ValidateCx<'_>,
    key: &str,
    stream_name: Option<&str>,
    arn: Option<&str>,
    region: Option<&str>,
    endpoint: Option<&str>,
) {
    if stream_name.is_some() && arn.is_some() {
        cx.error_with_help(
            "arn",
            Code::InvalidValue,
            "`stream_name` and `arn` both name the stream; give one",
            "an ARN names the stream in its account and region: `arn:aws:kinesis:eu-west-1:123456789012:stream/orders`",
        );
    }
    match (stream_name, arn) {
        (Some(name), _) => check_name(cx, "stream_name", name, "`stream_name`"),
        (None, Some(arn)) => check_arn(cx, arn),
        (None, None) => check_name(cx, "", key, "the entry's name (the stream's name unless `stream_name:` says)"),
    }
    if let Some(region) = region
        && (region.is_empty() || !region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        cx.error_with_help(
            "region",
            Code::InvalidValue,
            format!("region `{region}` is not an AWS region name"),
            "for example `eu-west-1`; leave it out to use AWS_REGION or the AWS config file",
        );
    }
    crate::aws::validate_endpoint(cx, "endpoint", endpoint);
}

/// Kinesis stream names: 1 to 128 of `a-z A-Z 0-9 _ . -`.
fn check_name(cx: &mut ValidateCx<'_>, field: &str, name: &str, what: &str) {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        cx.error_with_help(
            field,
            Code::InvalidValue,
            format!("{what} `{name}` is not a Kinesis stream name"),
            "a stream name has 1 to 128 letters, digits, `_`, `.` or `-`",
        );
    }
}

/// `arn:<partition>:kinesis:<region>:<account>:stream/<name>`.
fn check_arn(cx: &mut ValidateCx<'_>, arn: &str) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = match parts.as_slice() {
        ["arn", partition, "kinesis", region, account, resource] => {
            partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && resource.strip_prefix("stream/").is_some_and(|name| {
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                })
        }
        _ => false,
    };
    if !valid {
        cx.error_with_help(
            "arn",
            Code::InvalidValue,
            format!("`{arn}` is not the ARN of a Kinesis stream"),
            "a stream's ARN reads `arn:aws:kinesis:eu-west-1:123456789012:stream/orders`",
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn issues(key: &str, name: Option<&str>, arn: Option<&str>, region: Option<&str>) -> Vec<String> {
        let mut cx = ValidateCx::new(Path::new("."), "/streams/s".into());
        validate_target(&mut cx, key, name, arn, region, None);
        cx.finish().0.into_iter().map(|i| format!("{} {}", i.pointer, i.message)).collect()
    }

    #[test]
    fn names_arns_and_regions_are_checked() {
        assert!(issues("orders", None, None, Some("eu-west-1")).is_empty());
        assert!(issues("x", None, Some("arn:aws:kinesis:us-east-1:000000000000:stream/orders"), None).is_empty());
        assert_eq!(issues("a b", None, None, None).len(), 1);
        assert_eq!(
            issues("x", Some("bad/name"), None, None),
            ["/streams/s/stream_name `stream_name` `bad/name` is not a Kinesis stream name"]
        );
        assert_eq!(issues("x", None, Some("arn:aws:s3:::bucket"), None).len(), 1);
        assert_eq!(issues("x", Some("a"), Some("arn:aws:kinesis:us-east-1:000000000000:stream/a"), None).len(), 1);
        assert_eq!(issues("x", None, None, Some("EU West")).len(), 1);
    }
}
