//! # sluice-kinesis-api
//!
//! The Kinesis Data Streams API over a pipeline's streams, so existing producers and consumers (boto3, the AWS
//! CLI, the SDKs, KPL, Fluent Bit) work unchanged: point `endpoint_url` at sluice and nothing else changes.
//! `sluice run --kinesis-api 127.0.0.1:4567` (or `serve: {kinesis_api: ...}` in the pipeline) starts it.
//!
//! ```text
//!  client ──HTTP/1.1 POST /, X-Amz-Target: Kinesis_20131202.<Op>, JSON or CBOR body──▶ server (hyper)
//!     │                                                                                  │ dispatch: auth (SigV4)
//!     │                                                                                  ▼
//!     │     ops: CreateStream DescribeStream(Summary) ListStreams ListShards ──▶ the pipeline's streams
//!     │          PutRecord(s) ──▶ validate, route, throttle ──▶ ShardedStream::put (durable) ──▶ applications,
//!     │          GetShardIterator / GetRecords ──▶ ShardedStream::read                           destinations
//!     ◀── 200 + output, or 4xx/5xx {"__type", "message"} in the request's encoding
//! ```
//!
//! Records put through the API enter the stream exactly as a producer's do, so every application and destination
//! reading it sees them. The server counts as a writer of every stream it serves ([`Service`]): the run goes on
//! until it is stopped, even in a pipeline without producers.
//!
//! ## Behaviour, and where it differs from Kinesis
//!
//! - **Durable before the answer**: a put returns once its records are durable by the stream's `fsync`
//!   (`always`: synced with the put; `interval`: after the next sync, so up to `fsync_interval` later, sooner
//!   once 8 MiB wait; `never`: committed to the ledger without an fsync, so readable at once and safe from `kill -9` but
//!   not from a power cut).
//! - **Limits** as Kinesis's: 1 MiB of data per record, 1 to 256 characters per partition key, 1 to 500
//!   records and 5 MiB (data and keys) per PutRecords, bodies up to 8 MiB (else 413). An invalid request
//!   writes nothing; only throttling (`shard_limits`) fails single records of a PutRecords.
//! - **Auth**: without `auth`, every request is accepted, signed or not. With it, requests need a Signature
//!   Version 4 `Authorization` header from a listed key id; for a key listed with its secret, the signature is
//!   verified (canonical request, HMAC chain, 15 minutes of clock skew), otherwise only the key id is checked.
//! - **Sequence numbers** are the embedded stream's per-shard numbers (1, 2, ...), in decimal: shorter than
//!   Kinesis's 56 digits, and like them increasing within a shard and opaque to clients.
//! - **Streams** are the pipeline's: CreateStream answers ResourceInUseException for them and refuses others;
//!   shards never split or close, so NextShardIterator is always present. Iterators live five minutes.
//! - **Not served**: DeleteStream, resharding, enhanced fan-out (SubscribeToShard), tags, encryption:
//!   UnknownOperationException, naming what is supported.
//!
//! Modules: [`server`] (connections), [`dispatch`] (one request), [`auth`] (Signature Version 4), [`ops`]
//! (the operations), [`model`] (their shapes), [`wire`] (JSON and CBOR), [`error`] (AWS's errors),
//! [`iterator`] (shard iterators), [`throttle`] (per-shard limits), [`api`] (shared state).

pub mod api;
pub mod auth;
pub mod dispatch;
pub mod error;
pub mod iterator;
pub mod model;
pub mod ops;
pub mod server;
pub mod throttle;
pub mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use sluice_core::runtime::component::RunError;
use sluice_core::runtime::metrics::StageMetrics;
use sluice_core::runtime::service::{Service, ServiceContext};
use sluice_core::runtime::sharded::ShardedStream;
use sluice_core::runtime::stream::Stream;
use sluice_core::serve::KinesisApiSpec;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::Api;
use crate::auth::Auth;
use crate::iterator::Iterators;
use crate::throttle::Throttle;

/// A Kinesis API server bound to its address, ready to serve.
pub struct KinesisApi {
    listener: TcpListener,
    address: SocketAddr,
    streams: BTreeMap<String, Arc<dyn ShardedStream>>,
    auth: Option<Auth>,
    throttle: Option<Throttle>,
}

impl std::fmt::Debug for KinesisApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KinesisApi").field("address", &self.address).field("streams", &self.stream_names()).finish()
    }
}

impl KinesisApi {
    /// Binds `spec.listen` for `streams` (those that offer their shards; others are skipped with a warning) and
    /// logs where it listens.
    pub async fn bind(spec: &KinesisApiSpec, streams: &BTreeMap<String, Arc<dyn Stream>>) -> Result<Self, RunError> {
        let listener = TcpListener::bind(spec.listen.as_str())
            .await
            .map_err(|e| RunError(format!("Kinesis API: cannot listen on {}: {e}", spec.listen)))?;
        let address = listener
            .local_addr()
            .map_err(|e| RunError(format!("Kinesis API: cannot read the address of {}: {e}", spec.listen)))?;
        let mut served = BTreeMap::new();
        for (name, stream) in streams {
            match Arc::clone(stream).sharded() {
                Some(sharded) => {
                    served.insert(name.clone(), sharded);
                }
                None => tracing::warn!("Kinesis API: stream `{name}` cannot be served (it does not offer its shards)"),
            }
        }
        let api = KinesisApi {
            listener,
            address,
            streams: served,
            auth: spec.auth.as_ref().map(Auth::new),
            throttle: spec.shard_limits.map(Throttle::new),
        };
        api.announce();
        Ok(api)
    }

    fn announce(&self) {
        let auth = self.auth.as_ref().map_or_else(|| "no auth: every request is accepted".to_owned(), Auth::describe);
        tracing::info!(
            "Kinesis API listening on http://{} for streams {} ({auth})",
            self.address,
            self.stream_names().join(", ")
        );
        if !self.address.ip().is_loopback() {
            tracing::warn!("Kinesis API: {} is reachable from other machines", self.address);
        }
    }

    /// The address it listens on (the port the OS chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The streams it serves.
    pub fn stream_names(&self) -> Vec<String> {
        self.streams.keys().cloned().collect()
    }

    /// Serves until `stop` is cancelled, counting what is put in `metrics`; returns once requests in flight are
    /// done.
    pub async fn serve(self, stop: CancellationToken, metrics: Arc<StageMetrics>) {
        let api = Api {
            streams: self.streams,
            auth: self.auth,
            throttle: self.throttle,
            iterators: Iterators::new(),
            metrics,
        };
        server::serve(self.listener, Arc::new(api), stop).await;
    }
}

/// The Kinesis API a run serves: the pipeline's `serve.kinesis_api` (in its `${VAR}`-resolved document), with
/// `listen` (`sluice run --kinesis-api`) overriding its address or serving it alone; `None` when neither asks.
pub fn configured(pipeline: &serde_json::Value, listen: Option<&str>) -> Result<Option<KinesisApiSpec>, RunError> {
    let from_file = match pipeline.pointer("/serve/kinesis_api") {
        Some(spec) if !spec.is_null() => Some(
            serde_json::from_value::<KinesisApiSpec>(spec.clone())
                .map_err(|e| RunError(format!("serve.kinesis_api: {e}")))?,
        ),
        _ => None,
    };
    Ok(match (from_file, listen) {
        (Some(spec), Some(listen)) => Some(KinesisApiSpec { listen: listen.to_owned(), ..spec }),
        (Some(spec), None) => Some(spec),
        (None, Some(listen)) => Some(KinesisApiSpec { listen: listen.to_owned(), auth: None, shard_limits: None }),
        (None, None) => None,
    })
}

#[async_trait]
impl Service for KinesisApi {
    async fn run(self: Box<Self>, cx: ServiceContext) -> Result<(), RunError> {
        let address = self.address;
        self.serve(cx.stop, cx.metrics).await;
        tracing::info!("Kinesis API on {address} stopped");
        Ok(())
    }
}
