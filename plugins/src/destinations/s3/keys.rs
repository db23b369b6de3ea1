//! Object keys, named exactly as Amazon Data Firehose names them.
//!
//! A key is `<evaluated prefix><object name>`. The prefix is a template compiled once at build time
//! ([`PrefixTemplate::parse`]) into literal text and expressions:
//!
//! - `!{timestamp:<pattern>}`: the arrival time (UTC) of the oldest record in the object, formatted with the
//!   Java `DateTimeFormatter` letters `yyyy`, `yy`, `MM`, `dd`, `HH`, `mm`, `ss` (`'quoted'` text is literal).
//!   Every use in one key is the same instant.
//! - `!{firehose:random-string}`: 11 characters of `[a-zA-Z0-9]`, fresh for every key.
//! - `!{firehose:error-output-type}`: why records failed (`processing-failed`, ...); `error_prefix` only.
//!
//! A prefix without a timestamp expression gets `yyyy/MM/dd/HH/` appended; no prefix at all is `yyyy/MM/dd/HH/`.
//! The object name is `<destination>-1-yyyy-MM-dd-HH-mm-ss-<UUID>` (`1` is the delivery stream version
//! Firehose writes), plus `.gz` when gzip-compressed. Rendering appends to a caller's `String`, so naming an
//! object allocates nothing once that string has grown.
//!
//! ## Which UUID: [`Naming`]
//!
//! - `deterministic` (the default): the UUID is derived ([`ObjectIdentity`]: MD5 in a name-based UUID, as
//!   UUID v3) from the destination, the object's number (its count of objects before it, kept in the ledger)
//!   and the input it holds: per consumer and sink, the input positions (shard -> last sequence number) its
//!   records derive from. `!{firehose:random-string}` draws from a generator seeded with the same identity.
//!   So the name of an object is a function of what it contains, and writing it again after a crash gives
//!   the same key, never a second object.
//! - `firehose`: a random UUID v4 and random strings, exactly as Firehose; a crash between publishing an
//!   object and checkpointing its input writes those records again under a new key (at-least-once).

use std::fmt::{self, Write as _};

use chrono::{DateTime, Datelike, Timelike, Utc};
use md5::{Digest as _, Md5};
use rand::distr::Alphanumeric;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sluice_core::runtime::record::Positions;

/// How object names are made unique.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Naming {
    /// Named after what the object holds (the destination, the object's number, the input positions of its
    /// records), so a replay after a crash rewrites the same key: effectively-once. The default. It relies on
    /// input positions that name the same records after a crash, which the embedded stream guarantees under
    /// `fsync: always` and `interval` (readers see only synced records) and Kinesis always does.
    #[default]
    Deterministic,
    /// Random, exactly as Amazon Data Firehose: a replay after a crash writes a new object (at-least-once).
    Firehose,
}

/// What a deterministic object name is made from, and the digest that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectIdentity(pub [u8; 16]);

impl ObjectIdentity {
    /// The identity of object number `number` of `destination`, holding records derived from the input up to
    /// `through`: per (consumer, sink), positions per shard (every input the destination ever received,
    /// cumulated). The text hashed is canonical: sorted, one line per shard.
    pub fn new<'a>(
        destination: &str,
        number: u64,
        through: impl IntoIterator<Item = (&'a str, usize, &'a Positions)>,
    ) -> Self {
        let mut text = format!("{destination}\n{number}\n");
        let mut lines: Vec<String> = Vec::new();
        for (consumer, sink, positions) in through {
            lines.extend(positions.iter().map(|(shard, seq)| format!("{consumer}\t{sink}\t{shard}\t{seq}\n")));
        }
        lines.sort_unstable();
        text.extend(lines);
        ObjectIdentity(Md5::digest(text.as_bytes()).into())
    }

    fn uuid(self) -> uuid::Uuid {
        uuid::Builder::from_md5_bytes(self.0).into_uuid()
    }

    /// A generator for the prefix's random strings, seeded by the identity.
    fn rng(self) -> SmallRng {
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&self.0[..8]);
        SmallRng::seed_from_u64(u64::from_le_bytes(seed))
    }
}

/// The expression naming why records failed; valid in `error_prefix` only.
pub const ERROR_OUTPUT_TYPE: &str = "!{firehose:error-output-type}";

/// Length of `!{firehose:random-string}`'s expansion, as in Firehose.
const RANDOM_STRING_LEN: usize = 11;

/// Why records went to the error prefix: what `!{firehose:error-output-type}` expands to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorOutputType {
    /// A record could not be processed (Firehose's data transformation failures).
    ProcessingFailed,
    /// A record could not be converted to the output format.
    FormatConversionFailed,
    /// A record's object could not be written to the bucket for the whole retry duration (Firehose's
    /// `<destination>-failed` naming).
    S3Failed,
}

impl ErrorOutputType {
    /// The string Firehose writes for this type.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorOutputType::ProcessingFailed => "processing-failed",
            ErrorOutputType::FormatConversionFailed => "format-conversion-failed",
            ErrorOutputType::S3Failed => "s3-failed",
        }
    }
}

/// Why a prefix template was rejected: one sentence naming the offending expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

/// One piece of a compiled prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Timestamp(Vec<Field>),
    RandomString,
    ErrorOutputType,
}

/// One element of a compiled timestamp pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Literal(String),
    Year4,
    Year2,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

/// A key prefix, compiled once from its `!{...}` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixTemplate {
    pieces: Vec<Piece>,
}

impl PrefixTemplate {
    /// Firehose's default prefix, `yyyy/MM/dd/HH/`.
    pub fn default_prefix() -> Self {
        PrefixTemplate { pieces: vec![default_timestamp()] }
    }

    /// The error prefix used when none is configured: `<error-output-type>/yyyy/MM/dd/HH/`.
    pub fn default_error_prefix() -> Self {
        PrefixTemplate { pieces: vec![Piece::ErrorOutputType, Piece::Literal("/".to_owned()), default_timestamp()] }
    }

    /// Compiles `template`. `error_prefix` allows `!{firehose:error-output-type}`; a template with no
    /// timestamp expression gets `yyyy/MM/dd/HH/` appended, as Firehose does.
    pub fn parse(template: &str, error_prefix: bool) -> Result<Self, TemplateError> {
        let mut pieces = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("!{") {
            push_literal(&mut pieces, &rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(TemplateError(format!("`!{{` at `{}` is not closed by `}}`", &rest[start..])));
            };
            pieces.push(parse_expression(&after[..end], error_prefix)?);
            rest = &after[end + 1..];
        }
        push_literal(&mut pieces, rest);
        if !pieces.iter().any(|p| matches!(p, Piece::Timestamp(_))) {
            pieces.push(default_timestamp());
        }
        Ok(PrefixTemplate { pieces })
    }

    /// Whether the template uses `!{firehose:error-output-type}`.
    pub fn has_error_output_type(&self) -> bool {
        self.pieces.contains(&Piece::ErrorOutputType)
    }

    /// Appends the prefix for an object whose oldest record arrived at `at` to `out`. `error` fills
    /// `!{firehose:error-output-type}` (`processing-failed` when `None`, which only a misuse can reach).
    pub fn render(&self, at: &DateTime<Utc>, error: Option<ErrorOutputType>, rng: &mut impl Rng, out: &mut String) {
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Timestamp(fields) => render_timestamp(fields, at, out),
                Piece::RandomString => {
                    out.extend(rng.sample_iter(Alphanumeric).take(RANDOM_STRING_LEN).map(char::from));
                }
                Piece::ErrorOutputType => {
                    out.push_str(error.unwrap_or(ErrorOutputType::ProcessingFailed).as_str());
                }
            }
        }
    }
}

fn default_timestamp() -> Piece {
    let slash = || Field::Literal("/".to_owned());
    Piece::Timestamp(vec![Field::Year4, slash(), Field::Month, slash(), Field::Day, slash(), Field::Hour, slash()])
}

fn push_literal(pieces: &mut Vec<Piece>, text: &str) {
    if !text.is_empty() {
        pieces.push(Piece::Literal(text.to_owned()));
    }
}

fn parse_expression(body: &str, error_prefix: bool) -> Result<Piece, TemplateError> {
    let (namespace, value) = body.split_once(':').unwrap_or((body, ""));
    match (namespace, value) {
        ("timestamp", pattern) => parse_timestamp(pattern).map(Piece::Timestamp),
        ("firehose", "random-string") => Ok(Piece::RandomString),
        ("firehose", "error-output-type") if error_prefix => Ok(Piece::ErrorOutputType),
        ("firehose", "error-output-type") => {
            Err(TemplateError(format!("`{ERROR_OUTPUT_TYPE}` may only appear in `error_prefix`")))
        }
        ("partitionKeyFromQuery" | "partitionKeyFromLambda", _) => {
            Err(TemplateError(format!("`!{{{body}}}` needs dynamic partitioning, which sluice does not support")))
        }
        _ => {
            let expected = if error_prefix {
                format!("`!{{timestamp:<pattern>}}`, `!{{firehose:random-string}}` or `{ERROR_OUTPUT_TYPE}`")
            } else {
                "`!{timestamp:<pattern>}` or `!{firehose:random-string}`".to_owned()
            };
            Err(TemplateError(format!("unknown prefix expression `!{{{body}}}`; expected {expected}")))
        }
    }
}

/// Compiles the supported subset of Java's `DateTimeFormatter` patterns.
fn parse_timestamp(pattern: &str) -> Result<Vec<Field>, TemplateError> {
    if pattern.is_empty() {
        return Err(TemplateError("`!{timestamp:}` needs a pattern, such as `yyyy/MM/dd`".to_owned()));
    }
    let mut fields = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // 'text' is literal; '' is one quote, inside or outside quoted text.
            if chars.peek() == Some(&'\'') {
                chars.next();
                literal.push('\'');
                continue;
            }
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        literal.push('\'');
                    }
                    Some('\'') => break,
                    Some(other) => literal.push(other),
                    None => {
                        return Err(TemplateError(format!("timestamp pattern `{pattern}` has an unclosed quote")));
                    }
                }
            }
        } else if c.is_ascii_alphabetic() {
            let mut run = 1;
            while chars.next_if_eq(&c).is_some() {
                run += 1;
            }
            let field = match (c, run) {
                ('y', 4) => Field::Year4,
                ('y', 2) => Field::Year2,
                ('M', 2) => Field::Month,
                ('d', 2) => Field::Day,
                ('H', 2) => Field::Hour,
                ('m', 2) => Field::Minute,
                ('s', 2) => Field::Second,
                _ => {
                    return Err(TemplateError(format!(
                        "timestamp pattern `{pattern}` uses `{}`; supported: yyyy, yy, MM, dd, HH, mm, ss",
                        c.to_string().repeat(run)
                    )));
                }
            };
            if !literal.is_empty() {
                fields.push(Field::Literal(std::mem::take(&mut literal)));
            }
            fields.push(field);
        } else {
            literal.push(c);
        }
    }
    if !literal.is_empty() {
        fields.push(Field::Literal(literal));
    }
    Ok(fields)
}

fn render_timestamp(fields: &[Field], at: &DateTime<Utc>, out: &mut String) {
    for field in fields {
        // Writing to a String cannot fail.
        let _ = match field {
            Field::Literal(text) => out.write_str(text),
            Field::Year4 => write!(out, "{:04}", at.year()),
            Field::Year2 => write!(out, "{:02}", at.year().rem_euclid(100)),
            Field::Month => write!(out, "{:02}", at.month()),
            Field::Day => write!(out, "{:02}", at.day()),
            Field::Hour => write!(out, "{:02}", at.hour()),
            Field::Minute => write!(out, "{:02}", at.minute()),
            Field::Second => write!(out, "{:02}", at.second()),
        };
    }
}

/// Names the objects of one destination: its prefixes, name and extension.
#[derive(Debug, Clone)]
pub struct KeyNaming {
    prefix: PrefixTemplate,
    error_prefix: PrefixTemplate,
    destination: String,
    extension: &'static str,
}

impl KeyNaming {
    /// Naming for destination `destination`; `extension` (`""` or `.gz`) ends every object name.
    pub fn new(
        destination: &str,
        prefix: PrefixTemplate,
        error_prefix: PrefixTemplate,
        extension: &'static str,
    ) -> Self {
        KeyNaming { prefix, error_prefix, destination: destination.to_owned(), extension }
    }

    /// Replaces `out` with the key of an object whose oldest record arrived at `arrival_ms`.
    pub fn object_key(&self, arrival_ms: i64, rng: &mut impl Rng, out: &mut String) {
        let at = instant(arrival_ms);
        out.clear();
        self.prefix.render(&at, None, rng, out);
        self.object_name(&at, rng, out);
    }

    /// Replaces `out` with the deterministic key of the object `identity`, whose oldest record arrived at
    /// `arrival_ms` (see [`Naming::Deterministic`]).
    pub fn identified_key(&self, arrival_ms: i64, identity: ObjectIdentity, out: &mut String) {
        let at = instant(arrival_ms);
        out.clear();
        self.prefix.render(&at, None, &mut identity.rng(), out);
        self.write_name(&at, identity.uuid(), out);
    }

    /// Replaces `out` with the key of an object of failed records (`error`), the oldest arrived at `arrival_ms`.
    pub fn error_key(&self, arrival_ms: i64, error: ErrorOutputType, rng: &mut impl Rng, out: &mut String) {
        let at = instant(arrival_ms);
        out.clear();
        self.error_prefix.render(&at, Some(error), rng, out);
        self.object_name(&at, rng, out);
    }

    /// `<destination>-1-yyyy-MM-dd-HH-mm-ss-<uuid><extension>`.
    fn object_name(&self, at: &DateTime<Utc>, rng: &mut impl Rng, out: &mut String) {
        self.write_name(at, uuid::Builder::from_random_bytes(rng.random()).into_uuid(), out);
    }

    fn write_name(&self, at: &DateTime<Utc>, uuid: uuid::Uuid, out: &mut String) {
        let mut uuid_text = uuid::Uuid::encode_buffer();
        let _ = write!(
            out,
            "{}-1-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-{}{}",
            self.destination,
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            uuid.hyphenated().encode_lower(&mut uuid_text),
            self.extension
        );
    }
}

/// A record's arrival time; times chrono cannot represent fall back to the epoch rather than fail a delivery.
fn instant(arrival_ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(arrival_ms).unwrap_or_default()
}

/// Whether `text` has the shape of a lowercase hyphenated UUID v4 (tests check the random part of keys).
#[cfg(test)]
pub(crate) fn is_uuid_v4(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lens == [8, 4, 4, 4, 12]
        && text.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b'])
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    /// 2024-03-05T07:08:09.123Z
    const AT_MS: i64 = 1_709_622_489_123;

    fn render(template: &str, error_prefix: bool) -> Result<String, TemplateError> {
        let compiled = PrefixTemplate::parse(template, error_prefix)?;
        let mut out = String::new();
        compiled.render(
            &instant(AT_MS),
            Some(ErrorOutputType::ProcessingFailed),
            &mut SmallRng::seed_from_u64(7),
            &mut out,
        );
        Ok(out)
    }

    #[test]
    fn default_key_is_firehose_layout() {
        let naming =
            KeyNaming::new("orders", PrefixTemplate::default_prefix(), PrefixTemplate::default_error_prefix(), "");
        let mut key = String::new();
        naming.object_key(AT_MS, &mut SmallRng::seed_from_u64(1), &mut key);
        let (prefix, uuid) = key.split_at("2024/03/05/07/orders-1-2024-03-05-07-08-09-".len());
        assert_eq!(prefix, "2024/03/05/07/orders-1-2024-03-05-07-08-09-");
        assert!(is_uuid_v4(uuid), "{key}");
    }

    #[test]
    fn timestamp_expressions_share_one_instant_and_random_string_is_11_alphanumerics() -> Result<(), TemplateError> {
        let out = render(
            "y=!{timestamp:yyyy}/m=!{timestamp:MM}/!{timestamp:yy'-'dd'T'HH:mm:ss}/!{firehose:random-string}/",
            false,
        )?;
        let (fixed, random) = out.split_at("y=2024/m=03/24-05T07:08:09/".len());
        assert_eq!(fixed, "y=2024/m=03/24-05T07:08:09/");
        let random = random.strip_suffix('/').unwrap_or(random);
        assert_eq!(random.len(), 11, "{out}");
        assert!(random.bytes().all(|b| b.is_ascii_alphanumeric()), "{out}");
        Ok(())
    }

    #[test]
    fn prefix_without_timestamp_gets_the_hourly_folders() -> Result<(), TemplateError> {
        assert_eq!(render("logs/", false)?, "logs/2024/03/05/07/");
        assert_eq!(render("", false)?, "2024/03/05/07/");
        Ok(())
    }

    #[test]
    fn quotes_in_patterns() -> Result<(), TemplateError> {
        assert_eq!(render("!{timestamp:'year='yyyy'/''x'''}", false)?, "year=2024/'x'");
        Ok(())
    }

    #[test]
    fn error_prefix_expands_the_output_type() -> Result<(), TemplateError> {
        assert_eq!(
            render("errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/", true)?,
            "errors/processing-failed/2024/03/05/"
        );
        let naming = KeyNaming::new(
            "orders",
            PrefixTemplate::default_prefix(),
            PrefixTemplate::parse("err/!{firehose:error-output-type}/", true)?,
            ".gz",
        );
        let mut key = String::new();
        naming.error_key(AT_MS, ErrorOutputType::FormatConversionFailed, &mut SmallRng::seed_from_u64(2), &mut key);
        let expected = "err/format-conversion-failed/2024/03/05/07/orders-1-2024-03-05-07-08-09-";
        assert!(key.starts_with(expected), "{key}");
        assert!(key.ends_with(".gz"), "{key}");
        assert!(is_uuid_v4(&key[expected.len()..key.len() - 3]), "{key}");
        let mut default_key = String::new();
        let default_naming =
            KeyNaming::new("o", PrefixTemplate::default_prefix(), PrefixTemplate::default_error_prefix(), "");
        default_naming.error_key(
            AT_MS,
            ErrorOutputType::ProcessingFailed,
            &mut SmallRng::seed_from_u64(3),
            &mut default_key,
        );
        assert!(default_key.starts_with("processing-failed/2024/03/05/07/o-1-2024-03-05-07-08-09-"), "{default_key}");
        Ok(())
    }

    fn positions(pairs: &[(&str, &str)]) -> Positions {
        pairs.iter().map(|(shard, seq)| ((*shard).to_owned(), (*seq).to_owned())).collect()
    }

    #[test]
    fn deterministic_keys_depend_on_what_the_object_holds_and_nothing_else() -> Result<(), TemplateError> {
        let naming = KeyNaming::new(
            "orders",
            PrefixTemplate::parse("p/!{firehose:random-string}/", false)?,
            PrefixTemplate::default_error_prefix(),
            "",
        );
        let a = positions(&[("shardId-000000000000", "10"), ("shardId-000000000001", "7")]);
        let key = |number, through: &Positions| {
            let mut out = String::new();
            naming.identified_key(
                AT_MS,
                ObjectIdentity::new("orders", number, [("application/app", 0, through)]),
                &mut out,
            );
            out
        };
        let first = key(3, &a);
        assert_eq!(first, key(3, &a), "the same object, the same key (random string included)");
        assert!(first.starts_with("p/") && first.contains("/2024/03/05/07/orders-1-2024-03-05-07-08-09-"), "{first}");
        let uuid = &first[first.len() - 36..];
        assert!(uuid::Uuid::parse_str(uuid).is_ok_and(|u| u.get_version_num() == 3), "{first}");
        assert_ne!(first, key(4, &a), "another object number");
        assert_ne!(first, key(3, &positions(&[("shardId-000000000000", "11"), ("shardId-000000000001", "7")])));
        let sink_one = ObjectIdentity::new("orders", 3, [("application/app", 1, &a)]);
        assert_ne!(ObjectIdentity::new("orders", 3, [("application/app", 0, &a)]), sink_one);
        // Order of the consumers does not matter, their content does.
        let b = positions(&[("shardId-000000000000", "2")]);
        assert_eq!(
            ObjectIdentity::new("o", 1, [("x", 0, &a), ("y", 0, &b)]),
            ObjectIdentity::new("o", 1, [("y", 0, &b), ("x", 0, &a)])
        );
        Ok(())
    }

    #[test]
    fn bad_templates_are_rejected() {
        let rejected = |t: &str, error_prefix| PrefixTemplate::parse(t, error_prefix).err().map(|e| e.0);
        assert!(rejected("a/!{firehose:error-output-type}/", false).is_some_and(|m| m.contains("only appear in")));
        assert!(
            rejected("!{firehose:nope}", false)
                .is_some_and(|m| m.contains("unknown prefix expression `!{firehose:nope}`"))
        );
        assert!(rejected("!{bogus}", false).is_some_and(|m| m.contains("unknown")));
        assert!(rejected("!{timestamp:yyyy", false).is_some_and(|m| m.contains("not closed")));
        assert!(rejected("!{timestamp:YYYY}", false).is_some_and(|m| m.contains("`YYYY`")));
        assert!(rejected("!{timestamp:}", false).is_some());
        assert!(rejected("!{timestamp:'abc}", false).is_some_and(|m| m.contains("unclosed quote")));
        assert!(rejected("!{partitionKeyFromQuery:id}", false).is_some_and(|m| m.contains("dynamic partitioning")));
        assert_eq!(rejected("a/!{firehose:error-output-type}/", true), None);
    }
}
