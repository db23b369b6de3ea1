//! One request, start to end: method, target, auth, the operation, and the answer in the request's encoding.
//!
//! ```text
//!  POST / ──X-Amz-Target: Kinesis_20131202.<Operation>──▶ auth (SigV4) ──▶ ops::run ──▶ 200 + output
//!    a step fails ──▶ 4xx/5xx, {"__type": "...", "message": "..."} and x-amzn-ErrorType
//! ```

use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;

use crate::api::{Api, DEFAULT_REGION, RequestCx};
use crate::auth;
use crate::error::ApiError;
use crate::model::ErrorBody;
use crate::ops::{self, Operation};
use crate::wire::Wire;

/// What `X-Amz-Target` starts with: the service and its API version.
pub const TARGET_PREFIX: &str = "Kinesis_20131202.";

/// Answers one request whose body was read (or could not be).
pub async fn respond(api: &Api, parts: &Parts, body: Result<Bytes, ApiError>) -> Response<Full<Bytes>> {
    let wire = Wire::of(&parts.headers);
    let started = Instant::now();
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let result = match body {
        Ok(body) => handle(api, parts, wire, &body).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(output) => response(StatusCode::OK, wire, output, None),
        Err(error) => {
            let body = ErrorBody { kind: error.kind, message: &error.message };
            let encoded = wire.encode(&body).unwrap_or_default();
            response(error.status, wire, encoded, Some(error.kind))
        }
    };
    tracing::debug!(target = target, status = response.status().as_u16(), elapsed = ?started.elapsed(), "Kinesis API");
    response
}

async fn handle(api: &Api, parts: &Parts, wire: Wire, body: &[u8]) -> Result<Bytes, ApiError> {
    if parts.method != Method::POST {
        return Err(ApiError::access_denied("Unable to determine service/operation name to be authorized"));
    }
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).ok_or_else(|| {
        ApiError::unknown_operation(format!("No X-Amz-Target header: expected {TARGET_PREFIX}<Operation>."))
    })?;
    let name = target.strip_prefix(TARGET_PREFIX).ok_or_else(|| {
        ApiError::unknown_operation(format!("X-Amz-Target `{target}` is not {TARGET_PREFIX}<Operation>."))
    })?;
    let operation = Operation::from_name(name).ok_or_else(|| {
        let supported: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
        ApiError::unknown_operation(format!(
            "Operation `{name}` is not supported by sluice's Kinesis API (it supports {}).",
            supported.join(", ")
        ))
    })?;
    let now = Utc::now();
    if let Some(auth) = &api.auth {
        auth.check(parts, body, now)?;
    }
    let region = auth::region(&parts.headers).unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let cx = RequestCx { region, now_ms: now.timestamp_millis() };
    ops::run(api, operation, wire, body, &cx).await
}

fn response(status: StatusCode, wire: Wire, body: Bytes, error: Option<&'static str>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(wire.content_type()));
    if let Ok(id) = HeaderValue::try_from(uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(kind) = error {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(kind));
    }
    response
}
