//! The bodies of error-prefix objects: one JSON document per failed record, as Firehose writes them.
//!
//! ```text
//!   {"attemptsMade":3,"arrivalTimestamp":1593604800000,"lastErrorCode":"S3.PutObject",
//!    "lastErrorMessage":"...","attemptEndingTimestamp":1593691200000,"rawData":"eyJhIjoxfQ=="}
//! ```
//!
//! Two kinds reach the error prefix from the `s3` destination itself: records whose object could not be written
//! for the whole `retry_duration` (`!{firehose:error-output-type}` = `s3-failed`), and records that could not be
//! converted to Parquet (`format-conversion-failed`). `rawData` is the record's bytes, base64, so nothing of the
//! input is lost; the reason is in `lastErrorMessage`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why a batch of records failed, as written in each of their documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<'a> {
    /// Firehose-style error code: `S3.PutObject`, `DataFormatConversion.MalformedData`.
    pub code: &'a str,
    /// One sentence.
    pub message: &'a str,
    /// Attempts made.
    pub attempts: u32,
}

/// Appends one JSON line per record: `records` are (raw bytes, arrival time in ms), the failure each one's reason
/// (`reasons`, when given, overrides the message per record).
pub fn append_documents<'r>(
    out: &mut Vec<u8>,
    records: impl IntoIterator<Item = (&'r [u8], i64, Option<&'r str>)>,
    failure: &Failure<'_>,
) {
    let now = chrono::Utc::now().timestamp_millis();
    for (data, arrival_ms, reason) in records {
        let document = serde_json::json!({
            "attemptsMade": failure.attempts,
            "arrivalTimestamp": arrival_ms,
            "lastErrorCode": failure.code,
            "lastErrorMessage": reason.unwrap_or(failure.message),
            "attemptEndingTimestamp": now,
            "rawData": STANDARD.encode(data),
        });
        out.extend_from_slice(document.to_string().as_bytes());
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_per_record_with_the_raw_bytes() -> Result<(), serde_json::Error> {
        let mut out = Vec::new();
        let failure = Failure { code: "S3.PutObject", message: "bucket down", attempts: 4 };
        append_documents(&mut out, [(&b"{\"a\":1}"[..], 5, None), (&b"x"[..], 6, Some("bad"))], &failure);
        let lines: Vec<serde_json::Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(serde_json::from_slice)
            .collect::<Result<_, _>>()?;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["rawData"], "eyJhIjoxfQ==");
        assert_eq!(lines[0]["lastErrorMessage"], "bucket down");
        assert_eq!(lines[1]["lastErrorMessage"], "bad");
        assert_eq!(lines[1]["arrivalTimestamp"], 6);
        assert_eq!(lines[1]["attemptsMade"], 4);
        Ok(())
    }
}
