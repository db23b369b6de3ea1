//! Signature Version 4: reading the `Authorization` header SDKs send, and checking it against `auth:`.
//!
//! ```text
//!  Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request,
//!                 SignedHeaders=host;x-amz-date;..., Signature=<hex>
//!    key id not listed ──▶ UnrecognizedClientException
//!    listed without a secret ──▶ accepted (only the key id is checked)
//!    listed with its secret ──▶ canonical request ──▶ string to sign ──▶ HMAC chain ──▶ signatures equal?
//! ```
//!
//! Without `auth:`, every request is accepted, signed or not; the header only tells the region for ARNs.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use http::request::Parts;
use sha2::{Digest, Sha256};
use sluice_core::serve::KinesisApiAuth;

use crate::error::ApiError;

/// How far a request's `X-Amz-Date` may be from the server's clock.
const MAX_SKEW_MINUTES: i64 = 15;

/// The access keys a server accepts: key id -> secret (`None`: only the id is checked).
#[derive(Debug, Clone, Default)]
pub struct Auth {
    keys: HashMap<String, Option<String>>,
}

impl Auth {
    /// The keys of an `auth:` block.
    pub fn new(spec: &KinesisApiAuth) -> Self {
        let keys = spec.access_keys.iter().map(|key| (key.access_key_id.clone(), key.secret_access_key.clone()));
        Auth { keys: keys.collect() }
    }

    /// How it checks, for the log: how many keys, and for how many the signature is verified.
    pub fn describe(&self) -> String {
        let verified = self.keys.values().filter(|secret| secret.is_some()).count();
        match verified {
            0 => format!("auth: {} access key ids checked, signatures not verified", self.keys.len()),
            n => format!("auth: {} access keys, signatures verified for the {n} with a secret", self.keys.len()),
        }
    }

    /// Accepts a request signed with a listed key (and, where the key's secret is known, signed correctly).
    pub fn check(&self, parts: &Parts, body: &[u8], now: DateTime<Utc>) -> Result<(), ApiError> {
        let header = parts.headers.get(http::header::AUTHORIZATION).ok_or_else(ApiError::missing_token)?;
        let header =
            header.to_str().map_err(|_| ApiError::incomplete_signature("the Authorization header is not text"))?;
        let signed = Signed::parse(header)?;
        match self.keys.get(signed.key_id) {
            None => Err(ApiError::unrecognized_client()),
            Some(None) => Ok(()),
            Some(Some(secret)) => signed.verify(secret, parts, body, now),
        }
    }
}

/// The region a request was signed for, if it was: ARNs in responses name it.
pub fn region(headers: &HeaderMap) -> Option<String> {
    let header = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    Signed::parse(header).ok().map(|signed| signed.region.to_owned())
}

/// The parts of a Signature Version 4 `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
struct Signed<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

impl<'a> Signed<'a> {
    fn parse(header: &'a str) -> Result<Self, ApiError> {
        let incomplete = |what: &str| ApiError::incomplete_signature(format!("{what} Authorization={header}"));
        let Some(params) = header.strip_prefix("AWS4-HMAC-SHA256") else {
            return Err(incomplete("Only AWS4-HMAC-SHA256 (Signature Version 4) is supported."));
        };
        let mut found: HashMap<&str, &str> = HashMap::new();
        for part in params.split(',') {
            if let Some((name, value)) = part.trim().split_once('=') {
                found.insert(name.trim(), value.trim());
            }
        }
        let missing: Vec<String> = ["Credential", "Signature", "SignedHeaders"]
            .iter()
            .filter(|name| !found.contains_key(*name))
            .map(|name| format!("Authorization header requires '{name}' parameter."))
            .collect();
        if !missing.is_empty() {
            return Err(incomplete(&missing.join(" ")));
        }
        let credential: Vec<&str> = found["Credential"].split('/').collect();
        let [key_id, date, region, service, "aws4_request"] = credential[..] else {
            return Err(incomplete(
                "Credential should be scoped to a valid region, service and terminated by 'aws4_request'.",
            ));
        };
        let signed_headers = found["SignedHeaders"].split(';').collect();
        Ok(Signed { key_id, date, region, service, signed_headers, signature: found["Signature"] })
    }

    /// Recomputes the signature with `secret` and compares.
    fn verify(&self, secret: &str, parts: &Parts, body: &[u8], now: DateTime<Utc>) -> Result<(), ApiError> {
        let amz_date = header_text(&parts.headers, "x-amz-date").ok_or_else(|| {
            ApiError::incomplete_signature("Authorization header requires existence of a 'X-Amz-Date' header.")
        })?;
        let signed_at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
            .map_err(|_| ApiError::incomplete_signature(format!("X-Amz-Date '{amz_date}' is not yyyyMMddTHHmmssZ")))?
            .and_utc();
        let skew = chrono::Duration::minutes(MAX_SKEW_MINUTES);
        let stamp = |at: DateTime<Utc>| at.format("%Y%m%dT%H%M%SZ").to_string();
        if signed_at < now - skew {
            let message = format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - {MAX_SKEW_MINUTES} min.)",
                stamp(now - skew),
                stamp(now)
            );
            return Err(ApiError::invalid_signature(message));
        }
        if signed_at > now + skew {
            let message = format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + {MAX_SKEW_MINUTES} min.)",
                stamp(now + skew),
                stamp(now)
            );
            return Err(ApiError::invalid_signature(message));
        }
        if !amz_date.starts_with(self.date) {
            let message = format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != \
                 '{}', from '{amz_date}'.",
                self.date,
                &amz_date[..amz_date.len().min(8)]
            );
            return Err(ApiError::invalid_signature(message));
        }
        let body_hash = hex(&Sha256::digest(body));
        let payload_hash = match header_text(&parts.headers, "x-amz-content-sha256") {
            Some(claimed) if claimed == "UNSIGNED-PAYLOAD" || claimed == body_hash => claimed,
            Some(_) => {
                let message = "The provided 'x-amz-content-sha256' header does not match what was computed.";
                return Err(ApiError::invalid_signature(message));
            }
            None => &body_hash,
        };
        let canonical = self.canonical_request(parts, payload_hash);
        let scope = format!("{}/{}/{}/aws4_request", self.date, self.region, self.service);
        let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical.as_bytes())));
        let mut key = hmac(format!("AWS4{secret}").as_bytes(), self.date.as_bytes());
        for part in [self.region, self.service, "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        let expected = hex(&hmac(&key, to_sign.as_bytes()));
        if constant_time_eq(expected.as_bytes(), self.signature.as_bytes()) {
            return Ok(());
        }
        Err(ApiError::invalid_signature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
             Access Key and signing method. Consult the service documentation for details.",
        ))
    }

    fn canonical_request(&self, parts: &Parts, payload_hash: &str) -> String {
        let path = parts.uri.path();
        let path = if path.is_empty() { "/" } else { path };
        let mut out = format!("{}\n{}\n{}\n", parts.method, uri_encode(path, false), canonical_query(&parts.uri));
        for name in &self.signed_headers {
            let values: Vec<String> = parts
                .headers
                .get_all(*name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            out.push_str(&format!("{name}:{}\n", values.join(",")));
        }
        out.push_str(&format!("\n{}\n{payload_hash}", self.signed_headers.join(";")));
        out
    }
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The query string as SigV4 signs it: decoded, re-encoded, sorted.
fn canonical_query(uri: &http::Uri) -> String {
    let mut pairs: Vec<(String, String)> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (uri_encode(&percent_decode(name), true), uri_encode(&percent_decode(value), true))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("&")
}

/// Percent-encodes all but RFC 3986's unreserved characters (and `/` unless `encode_slash`).
fn uri_encode(text: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) || (byte == b'/' && !encode_slash) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_pair = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex_pair.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference, so timing tells nothing about the expected signature.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use sluice_core::serve::AccessKey;

    use super::*;

    /// The `get-vanilla` case of AWS's Signature Version 4 test suite.
    fn vanilla(signature: &str) -> Parts {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        let request = http::Request::get("/")
            .header("host", "example.amazonaws.com")
            .header("x-amz-date", "20150830T123600Z")
            .header("authorization", authorization)
            .body(())
            .expect("a valid request");
        request.into_parts().0
    }

    fn auth(secret: Option<&str>) -> Auth {
        let key = AccessKey { access_key_id: "AKIDEXAMPLE".into(), secret_access_key: secret.map(str::to_owned) };
        Auth::new(&KinesisApiAuth { access_keys: vec![key] })
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SIGNATURE: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn at(stamp: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").expect("a valid stamp").and_utc()
    }

    #[test]
    fn verifies_the_test_suites_signature() {
        let now = at("20150830T123600Z");
        assert_eq!(auth(Some(SECRET)).check(&vanilla(SIGNATURE), b"", now), Ok(()));
        let forged = vanilla(&SIGNATURE.replace('5', "6"));
        assert_eq!(auth(Some(SECRET)).check(&forged, b"", now).map_err(|e| e.kind), Err("InvalidSignatureException"));
        assert_eq!(
            auth(Some("wrong")).check(&vanilla(SIGNATURE), b"", now).map_err(|e| e.kind),
            Err("InvalidSignatureException")
        );
        assert_eq!(auth(None).check(&forged, b"", now), Ok(()), "without a secret only the key id is checked");
        let late = at("20150830T130100Z");
        let expired = auth(Some(SECRET)).check(&vanilla(SIGNATURE), b"", late).expect_err("25 minutes late");
        assert!(expired.message.starts_with("Signature expired: 20150830T123600Z"), "{}", expired.message);
    }

    #[test]
    fn unknown_keys_and_missing_or_broken_headers_are_refused() {
        let now = at("20150830T123600Z");
        let other = Auth::new(&KinesisApiAuth {
            access_keys: vec![AccessKey { access_key_id: "someone-else".into(), secret_access_key: None }],
        });
        assert_eq!(other.check(&vanilla(SIGNATURE), b"", now).map_err(|e| e.kind), Err("UnrecognizedClientException"));
        let unsigned = http::Request::post("/").body(()).expect("a valid request").into_parts().0;
        assert_eq!(other.check(&unsigned, b"", now).map_err(|e| e.kind), Err("MissingAuthenticationTokenException"));
        let broken = http::Request::post("/")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kinesis/aws4_request")
            .body(())
            .expect("a valid request")
            .into_parts()
            .0;
        let error = other.check(&broken, b"", now).expect_err("no signature");
        assert_eq!(error.kind, "IncompleteSignatureException");
        assert!(error.message.contains("requires 'Signature' parameter"), "{}", error.message);
        assert_eq!(region(&vanilla(SIGNATURE).headers).as_deref(), Some("us-east-1"));
    }

    #[test]
    fn queries_are_canonicalized_sorted_and_reencoded() {
        let uri: http::Uri = "/?b=2&a=x%20y&c".parse().expect("a valid uri");
        assert_eq!(canonical_query(&uri), "a=x%20y&b=2&c=");
        assert_eq!(uri_encode("/a b/~", false), "/a%20b/~");
    }
}
