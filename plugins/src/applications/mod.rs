//! Applications: read a stream, transform it, feed destinations.

pub mod sql;
