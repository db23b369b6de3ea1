//! # sluice-sql
//!
//! Kinesis Data Analytics SQL, run as written: in-app streams, pumps, ROWTIME, the scalar functions and log
//! parsers, input mapping and output formats, and `error_stream`.
//!
//! ```text
//!   .sql text ──lexer──▶ tokens ──parser──▶ AST (statements with spans)
//!                                              │ plan: resolve streams, columns, functions, types
//!                                              ▼
//!   records ──input mapping──▶ rows of SOURCE_SQL_STREAM_001 ──pumps──▶ in-app streams ──output──▶ bytes
//!                   │ (a record that cannot be mapped)            │ (a row that fails)
//!                   └──────────────────────────────▶ error_stream ◀┘
//! ```
//!
//! The crate knows nothing of pipelines or plugins; the `sql` application plugin drives it.

pub mod ast;
pub mod cast;
pub mod datetime_format;
pub mod discover;
pub mod engine;
pub mod error;
pub mod error_stream;
pub mod functions;
pub mod input;
pub mod java_regex;
mod json_scan;
pub mod lexer;
pub mod literal;
pub mod logparse;
pub mod operator;
pub mod ops;
pub mod output;
pub mod parser;
pub mod types;
pub mod value;
