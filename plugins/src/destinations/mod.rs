//! Destinations: deliver records outside the pipeline.

pub mod batch;
pub mod firehose;
pub mod http;
pub mod kinesis;
pub mod lambda;
pub mod s3;
pub mod stdout;
