//! The AWS limits that `sluice explain` checks a pipeline's rates and buffer hints against (Kinesis Data
//! Streams, Firehose, S3), with what sluice itself does where it matters (its multipart part size).

/// Kinesis: records written per second per shard.
pub const SHARD_RECORDS_PER_SEC: f64 = 1_000.0;
/// Kinesis: bytes written per second per shard (1 MB).
pub const SHARD_BYTES_PER_SEC: f64 = 1_000_000.0;
/// Kinesis: the largest record (1 MiB).
pub const KINESIS_MAX_RECORD: f64 = 1_048_576.0;
/// Kinesis PutRecords: records per request.
pub const PUT_RECORDS_MAX_RECORDS: f64 = 500.0;
/// Kinesis PutRecords: bytes per request (5 MiB).
pub const PUT_RECORDS_MAX_BYTES: f64 = 5.0 * 1_048_576.0;
/// Firehose: the largest record (1,000 KiB).
pub const FIREHOSE_MAX_RECORD: f64 = 1_000.0 * 1_024.0;
/// Firehose: the largest size buffer hint (128 MiB).
pub const FIREHOSE_MAX_SIZE: f64 = 128.0 * 1_048_576.0;
/// Firehose: the longest interval buffer hint (900 s).
pub const FIREHOSE_MAX_INTERVAL: f64 = 900.0;
/// S3: the smallest multipart part but the last (5 MiB).
pub const S3_MIN_PART: f64 = 5.0 * 1_048_576.0;
/// Objects written more often than this are called a flood of small objects.
pub const FREQUENT_OBJECTS_SECS: f64 = 60.0;
/// Objects smaller than this are called small files (1 MiB, Firehose's smallest size hint).
pub const SMALL_OBJECT: f64 = 1_048_576.0;
