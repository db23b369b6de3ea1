//! Streams: durable, sharded logs of records.

pub mod embedded;
pub mod kinesis;
