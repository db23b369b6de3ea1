//! Errors as Kinesis returns them: an HTTP status, and a body with `__type` and `message`.
//!
//! Validation failures follow the service's own wording, so clients that branch on it keep working:
//! `2 validation errors detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be
//! null; Value '...' at 'streamName' failed to satisfy constraint: ...`.

use http::StatusCode;

/// The account id in ARNs and messages: sluice has no accounts.
pub const ACCOUNT: &str = "000000000000";

/// A failed request: what the client receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The error type (`__type`), which SDKs turn into an exception class.
    pub kind: &'static str,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, kind, message: message.into() }
    }

    /// A request that does not parse as the operation's input.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "SerializationException", message)
    }

    /// A request that breaks a constraint of the API's model (see [`Violations`]).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    /// A request that is well formed but not acceptable.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidArgumentException", message)
    }

    /// A stream or shard that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ResourceNotFoundException", message)
    }

    /// The stream `name` does not exist.
    pub fn stream_not_found(name: &str) -> Self {
        Self::not_found(format!("Stream {name} under account {ACCOUNT} not found."))
    }

    /// Shard `shard_id` of stream `stream` does not exist.
    pub fn shard_not_found(shard_id: &str, stream: &str) -> Self {
        Self::not_found(format!("Shard {shard_id} in stream {stream} under account {ACCOUNT} does not exist"))
    }

    /// A stream that already exists.
    pub fn in_use(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ResourceInUseException", message)
    }

    /// A shard's configured write limit was passed.
    pub fn throughput_exceeded(shard_id: &str, stream: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ProvisionedThroughputExceededException", rate_exceeded(shard_id, stream))
    }

    /// A shard iterator older than five minutes.
    pub fn expired_iterator(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ExpiredIteratorException", message)
    }

    /// An operation this server does not know (or `X-Amz-Target` names none).
    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UnknownOperationException", message)
    }

    /// No `Authorization` header where one is required.
    pub fn missing_token() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MissingAuthenticationTokenException", "Missing Authentication Token")
    }

    /// An `Authorization` header that is not a complete Signature Version 4.
    pub fn incomplete_signature(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "IncompleteSignatureException", message)
    }

    /// An access key id that is not allowed.
    pub fn unrecognized_client() -> Self {
        let message = "The security token included in the request is invalid.";
        Self::new(StatusCode::BAD_REQUEST, "UnrecognizedClientException", message)
    }

    /// A signature that does not match.
    pub fn invalid_signature(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidSignatureException", message)
    }

    /// A request that is not a POST.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDeniedException", message)
    }

    /// A body larger than the server reads.
    pub fn too_large(limit: usize) -> Self {
        let message = format!("the request body is larger than {limit} bytes");
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException", message)
    }

    /// The stream failed underneath (I/O): the client may retry.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.kind, self.status.as_u16(), self.message)
    }
}

/// The message of a throttled write (PutRecord's error, PutRecords' per-record ErrorMessage).
pub fn rate_exceeded(shard_id: &str, stream: &str) -> String {
    format!("Rate exceeded for shard {shard_id} in stream {stream} under account {ACCOUNT}.")
}

/// Constraint violations of one request, collected in the service's wording (at most ten, as it reports).
#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

/// How many violations a ValidationException lists.
const MAX_VIOLATIONS: usize = 10;

impl Violations {
    /// Records that `value` (`None`: null) at `path` breaks `constraint`.
    pub fn add(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        if self.0.len() < MAX_VIOLATIONS {
            let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
            self.0.push(format!("Value {value} at '{path}' failed to satisfy constraint: {constraint}"));
        }
    }

    /// A required member that is missing.
    pub fn require<T: ?Sized>(&mut self, member: Option<&T>, path: &str) {
        if member.is_none() {
            self.add(None, path, "Member must not be null");
        }
    }

    /// A string member's length (in characters) and pattern, when present.
    pub fn text(&mut self, value: Option<&str>, path: &str, min: usize, max: usize, pattern: Option<Pattern>) {
        let Some(value) = value else { return };
        let chars = value.chars().count();
        if chars < min {
            self.add(Some(value), path, &format!("Member must have length greater than or equal to {min}"));
        }
        if chars > max {
            self.add(Some(value), path, &format!("Member must have length less than or equal to {max}"));
        }
        if let Some(pattern) = pattern
            && !pattern.matches(value)
        {
            let shown = pattern.source();
            self.add(Some(value), path, &format!("Member must satisfy regular expression pattern: {shown}"));
        }
    }

    /// A number member's range, when present.
    pub fn range(&mut self, value: Option<i64>, path: &str, min: i64, max: i64) {
        let Some(value) = value else { return };
        let shown = value.to_string();
        if value < min {
            self.add(Some(&shown), path, &format!("Member must have value greater than or equal to {min}"));
        }
        if value > max {
            self.add(Some(&shown), path, &format!("Member must have value less than or equal to {max}"));
        }
    }

    /// The ValidationException for what was found, if anything.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!("1 validation error detected: {}", self.0.join("; ")))),
            n => Err(ApiError::validation(format!("{n} validation errors detected: {}", self.0.join("; ")))),
        }
    }
}

/// The string patterns of the Kinesis API's model, checked without a regex engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Stream and shard names: `[a-zA-Z0-9_.-]+`.
    Name,
    /// Sequence numbers: `0|([1-9]\d{0,128})`.
    SequenceNumber,
    /// Explicit hash keys: `0|([1-9]\d{0,38})`.
    HashKey,
}

impl Pattern {
    /// The pattern as the service prints it.
    pub fn source(self) -> &'static str {
        match self {
            Pattern::Name => "[a-zA-Z0-9_.-]+",
            Pattern::SequenceNumber => "0|([1-9]\\d{0,128})",
            Pattern::HashKey => "0|([1-9]\\d{0,38})",
        }
    }

    /// Whether all of `value` matches.
    pub fn matches(self, value: &str) -> bool {
        let decimal = |max_digits: usize| {
            value == "0"
                || (!value.starts_with('0')
                    && (1..=max_digits).contains(&value.len())
                    && value.bytes().all(|b| b.is_ascii_digit()))
        };
        match self {
            Pattern::Name => {
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            }
            Pattern::SequenceNumber => decimal(129),
            Pattern::HashKey => decimal(39),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_read_as_the_service_words_them() {
        let mut found = Violations::default();
        found.require::<String>(None, "partitionKey");
        found.text(Some("a b"), "streamName", 1, 128, Some(Pattern::Name));
        found.range(Some(0), "limit", 1, 10_000);
        let error = found.finish().expect_err("three violations");
        assert_eq!(error.kind, "ValidationException");
        assert_eq!(
            error.message,
            "3 validation errors detected: Value null at 'partitionKey' failed to satisfy constraint: Member must \
             not be null; Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: [a-zA-Z0-9_.-]+; Value '0' at 'limit' failed to satisfy constraint: Member must \
             have value greater than or equal to 1"
        );
        assert_eq!(Violations::default().finish(), Ok(()));
    }

    #[test]
    fn patterns_match_like_the_models_regexes() {
        assert!(Pattern::Name.matches("metrics_stream-1.a"));
        assert!(!Pattern::Name.matches("arn:aws:kinesis"));
        assert!(Pattern::SequenceNumber.matches("0") && Pattern::SequenceNumber.matches("42"));
        assert!(
            !Pattern::SequenceNumber.matches("042")
                && !Pattern::SequenceNumber.matches("")
                && !Pattern::SequenceNumber.matches("4a")
        );
        assert!(Pattern::HashKey.matches(&u128::MAX.to_string()));
        assert!(!Pattern::HashKey.matches(&"9".repeat(40)));
    }
}
