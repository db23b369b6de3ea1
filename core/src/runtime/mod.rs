//! The runtime: running components, the batches and acknowledgements between them, and the ledger.
//!
//! ```text
//!   Producer ──put_batch(records, position)──▶ Stream ──StreamReader──▶ ConsumerInput
//!                                                                          │ (records, BatchAcks)
//!                                   ┌──────────────────────────────────────┘
//!                                   ▼
//!                  Application (optional) ──Delivery{records, Ack}──▶ Destination
//!                                                                          │ durable: Ack::acknowledge
//!   Ledger ◀── Stream::commit_checkpoint ◀── AckTracker (slowest sink) ◀───┘
//! ```
//!
//! Stages are tokio tasks joined by bounded channels of batches, so a slow destination slows its
//! producers instead of growing memory.

pub mod ack;
pub mod buffers;
pub mod component;
pub mod histogram;
pub mod ledger;
pub mod metrics;
pub mod record;
pub mod service;
pub mod sharded;
pub mod stream;
pub mod tap;
pub mod topology;
