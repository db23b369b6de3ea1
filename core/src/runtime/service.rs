//! Services: what a run hosts beside its components, writing into its streams from outside (the Kinesis API).
//!
//! A service runs from the start of the run until the run stops. Every stream it writes counts it as a writer,
//! so those streams stay open, and the run goes on, while it serves: even in a pipeline without producers,
//! whose streams are fed only from outside.
//!
//! ```text
//!   run starts ──▶ Service::run(cx) ...serving... cx.stop cancelled ──▶ finish in-flight work, return
//!                                                                        │
//!                                   its streams' writers close ◀─────────┘ (readers drain, the run ends)
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::component::RunError;
use super::metrics::StageMetrics;

/// A long-running task beside the pipeline that writes into its streams (see the [module docs](self)).
#[async_trait]
pub trait Service: Send {
    /// Serves until `cx.stop` is cancelled, then finishes what is in flight and returns. An error stops the
    /// whole run.
    async fn run(self: Box<Self>, cx: ServiceContext) -> Result<(), RunError>;
}

/// What a service works with.
pub struct ServiceContext {
    /// Cancelled when the run stops (signal, `--duration`, a failing component).
    pub stop: CancellationToken,
    /// The service's counters: records and bytes it put.
    pub metrics: Arc<StageMetrics>,
}
