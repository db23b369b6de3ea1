//! The HTTP/1.1 server: accepts connections until the run stops, then lets the requests in flight finish.
//!
//! ```text
//!  accept ──▶ connection task (keep-alive) ──▶ request: body (at most 8 MiB) ──▶ dispatch::respond
//!  stop ──▶ no more accepts; idle connections close, busy ones finish their request (30 s at most)
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::dispatch;
use crate::error::ApiError;

/// The largest request body read: a full PutRecords (5 MiB of data) in base64 JSON, with room to spare.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How long requests in flight may take to finish once the run stops.
const GRACE: Duration = Duration::from_secs(30);

/// How long a request's headers may take to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `api` on `listener` until `stop` is cancelled; returns once the connections are done.
pub async fn serve(listener: TcpListener, api: Arc<Api>, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(connection(stream, Arc::clone(&api), stop.clone()));
                }
                Err(e) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!("Kinesis API: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("Kinesis API: requests still running {GRACE:?} after the stop were cut off");
        connections.abort_all();
    }
}

async fn connection(stream: TcpStream, api: Arc<Api>, stop: CancellationToken) {
    // Responses are written whole: no need to wait for more to fill a packet.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let api = Arc::clone(&api);
        async move { Ok::<_, Infallible>(handle(&api, request).await) }
    });
    // A client that opens a connection and sends half a request is dropped after a while, not kept forever.
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("Kinesis API: connection ended: {e}");
    }
}

async fn handle(api: &Api, request: Request<Incoming>) -> http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let declared = parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body = if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        Err(ApiError::too_large(MAX_BODY_BYTES))
    } else {
        match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::too_large(MAX_BODY_BYTES)),
            Err(e) => Err(ApiError::serialization(format!("cannot read the request body: {e}"))),
        }
    };
    dispatch::respond(api, &parts, body).await
}
