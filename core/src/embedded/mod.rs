//! The embedded stream: a durable, sharded log on local disk with Kinesis semantics.
