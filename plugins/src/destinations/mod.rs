//! Destinations: deliver records outside the pipeline.

pub mod s3;
pub mod stdout;
