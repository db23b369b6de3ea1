//! The two body encodings of the Kinesis API, and the two types whose form differs between them.
//!
//! ```text
//!                     Content-Type                   Data (blob)        timestamps
//!   JSON (AWS JSON 1.1)  application/x-amz-json-1.1  base64 string      epoch seconds, a number
//!   CBOR                 application/x-amz-cbor-1.1  byte string        tag 1 + epoch milliseconds
//! ```
//!
//! boto3, the AWS CLI and the Rust SDK send JSON; the Java SDKs send CBOR by default. A response uses the
//! request's encoding. [`Blob`] and [`Timestamp`] pick their form from serde's `is_human_readable` (true for
//! serde_json, false for ciborium), so one set of model types serves both.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::HeaderMap;
use serde::de::{self, DeserializeOwned, Deserializer, EnumAccess, SeqAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::ApiError;

/// How a request's body (and so its response's) is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// AWS JSON 1.1.
    Json,
    /// AWS's CBOR encoding of the same shapes.
    Cbor,
}

impl Wire {
    /// The encoding a request's `Content-Type` asks for: CBOR when it says so, JSON otherwise.
    pub fn of(headers: &HeaderMap) -> Wire {
        let content_type = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case("application/x-amz-cbor-1.1")
            || essence.eq_ignore_ascii_case("application/cbor")
        {
            Wire::Cbor
        } else {
            Wire::Json
        }
    }

    /// The `Content-Type` of responses in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Wire::Json => "application/x-amz-json-1.1",
            Wire::Cbor => "application/x-amz-cbor-1.1",
        }
    }

    /// Reads an operation's input; an empty body reads as `{}` (SDKs send no body for inputs without members).
    pub fn decode<T: DeserializeOwned>(self, body: &[u8]) -> Result<T, ApiError> {
        let body = if body.iter().all(u8::is_ascii_whitespace) && self == Wire::Json { b"{}" } else { body };
        match self {
            Wire::Json => serde_json::from_slice(body).map_err(|e| ApiError::serialization(e.to_string())),
            Wire::Cbor if body.is_empty() => Err(ApiError::serialization("the CBOR body is empty")),
            Wire::Cbor => ciborium::from_reader(body).map_err(|e| ApiError::serialization(cbor_message(&e))),
        }
    }

    /// Writes an operation's output (or an error body).
    pub fn encode<T: Serialize>(self, value: &T) -> Result<Bytes, ApiError> {
        let written = match self {
            Wire::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
            Wire::Cbor => {
                let mut out = Vec::new();
                ciborium::into_writer(value, &mut out).map(|()| out).map_err(|e| e.to_string())
            }
        };
        written.map(Bytes::from).map_err(|e| ApiError::internal(format!("cannot encode the response: {e}")))
    }
}

fn cbor_message(error: &ciborium::de::Error<std::io::Error>) -> String {
    match error {
        ciborium::de::Error::Io(e) => format!("the CBOR body ends early: {e}"),
        ciborium::de::Error::Syntax(at) => format!("the CBOR body is malformed at byte {at}"),
        ciborium::de::Error::Semantic(at, why) => match at {
            Some(at) => format!("{why} (at byte {at} of the CBOR body)"),
            None => why.clone(),
        },
        ciborium::de::Error::RecursionLimitExceeded => "the CBOR body nests too deeply".to_owned(),
    }
}

/// A blob member (`Data`): base64 text in JSON, a byte string in CBOR.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Bytes);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&STANDARD.encode(&self.0))
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(BlobVisitor)
        } else {
            // A byte string, or base64 text from a client that sends blobs as JSON does.
            deserializer.deserialize_any(BlobVisitor)
        }
    }
}

struct BlobVisitor;

impl Visitor<'_> for BlobVisitor {
    type Value = Blob;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a blob: base64 text or a byte string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Blob, E> {
        STANDARD.decode(text).map(|data| Blob(Bytes::from(data))).map_err(|e| {
            let shown: String = text.chars().take(32).collect();
            let ellipsis = if shown.len() < text.len() { "..." } else { "" };
            E::custom(format!("'{shown}{ellipsis}' can not be converted to a Blob: {e}"))
        })
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Blob, E> {
        Ok(Blob(Bytes::copy_from_slice(bytes)))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Blob, E> {
        Ok(Blob(Bytes::from(bytes)))
    }
}

/// A timestamp member: epoch seconds in JSON, tag 1 and epoch milliseconds in CBOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// Milliseconds since the Unix epoch.
    pub ms: i64,
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_f64(self.ms as f64 / 1000.0)
        } else {
            // What Kinesis (and so the Java SDK) puts on the CBOR wire: milliseconds, not RFC 8949's seconds.
            ciborium::tag::Required::<i64, 1>(self.ms).serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let seconds = deserializer.deserialize_f64(NumberVisitor)?;
            Ok(Timestamp { ms: (seconds * 1000.0).round() as i64 })
        } else {
            deserializer.deserialize_any(CborTimeVisitor)
        }
    }
}

/// A number, integer or not.
struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a timestamp: a number of seconds since the epoch")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberVisitor).map(Number)
    }
}

/// A number read with `deserialize_any`, for the value inside a CBOR tag.
struct Number(f64);

/// A CBOR timestamp: tagged (tag 1) or not. The Java SDK writes milliseconds under tag 1 where RFC 8949 says
/// seconds; a value too large to be seconds (past the year 5000) is read as milliseconds.
struct CborTimeVisitor;

impl CborTimeVisitor {
    fn from_number(value: f64) -> Timestamp {
        const SECONDS_UP_TO: f64 = 1e11;
        let ms = if value.abs() < SECONDS_UP_TO { value * 1000.0 } else { value };
        Timestamp { ms: ms.round() as i64 }
    }
}

impl<'de> Visitor<'de> for CborTimeVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a timestamp: tag 1 and a number")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
        Ok(Self::from_number(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Ok(Self::from_number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        Ok(Self::from_number(v as f64))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, tagged: A) -> Result<Timestamp, A::Error> {
        // ciborium presents a tagged item as the variant `@@TAGGED@@(tag, item)`.
        let (_marker, variant): (de::IgnoredAny, _) = tagged.variant()?;
        variant.tuple_variant(2, TaggedVisitor)
    }
}

/// The `(tag, item)` of a tagged CBOR timestamp.
struct TaggedVisitor;

impl<'de> Visitor<'de> for TaggedVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tag and a number")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Timestamp, A::Error> {
        let _tag: Option<u64> = items.next_element()?;
        let Some(Number(value)) = items.next_element()? else {
            return Err(de::Error::invalid_length(1, &self));
        };
        Ok(CborTimeVisitor::from_number(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Sample {
        data: Blob,
        timestamp: Timestamp,
    }

    #[test]
    fn json_carries_base64_and_seconds() -> Result<(), ApiError> {
        let sample = Sample { data: Blob(Bytes::from_static(b"hi\n")), timestamp: Timestamp { ms: 1_600_000_000_123 } };
        let json = Wire::Json.encode(&sample)?;
        assert_eq!(&json[..], br#"{"Data":"aGkK","Timestamp":1600000000.123}"#);
        assert_eq!(Wire::Json.decode::<Sample>(&json)?, sample);
        let error = Wire::Json.decode::<Sample>(br#"{"Data":"a!","Timestamp":1}"#).expect_err("bad base64");
        assert_eq!(error.kind, "SerializationException");
        assert!(error.message.contains("can not be converted to a Blob"), "{}", error.message);
        Ok(())
    }

    #[test]
    fn cbor_carries_bytes_and_tagged_milliseconds() -> Result<(), ApiError> {
        let sample =
            Sample { data: Blob(Bytes::from_static(b"\x00\xff")), timestamp: Timestamp { ms: 1_600_000_000_123 } };
        let cbor = Wire::Cbor.encode(&sample)?;
        // {"Data": h'00ff', "Timestamp": 1(1600000000123)}
        let expected = [
            &[0xa2, 0x64][..],
            b"Data",
            &[0x42, 0x00, 0xff, 0x69],
            b"Timestamp",
            &[0xc1, 0x1b, 0x00, 0x00, 0x01, 0x74, 0x87, 0x6e, 0x80, 0x7b],
        ]
        .concat();
        assert_eq!(&cbor[..], &expected[..]);
        assert_eq!(Wire::Cbor.decode::<Sample>(&cbor)?, sample);

        // RFC 8949 seconds, untagged or tagged, read as seconds.
        let mut seconds = Vec::new();
        let value = ciborium::Value::Map(vec![
            (ciborium::Value::Text("Data".into()), ciborium::Value::Text("aGk=".into())),
            (
                ciborium::Value::Text("Timestamp".into()),
                ciborium::Value::Tag(1, Box::new(ciborium::Value::Float(1.6e9))),
            ),
        ]);
        ciborium::into_writer(&value, &mut seconds).map_err(|e| ApiError::internal(e.to_string()))?;
        let read = Wire::Cbor.decode::<Sample>(&seconds)?;
        assert_eq!((read.data.0, read.timestamp.ms), (Bytes::from_static(b"hi"), 1_600_000_000_000));
        Ok(())
    }

    #[test]
    fn the_content_type_picks_the_encoding() {
        let mut headers = HeaderMap::new();
        assert_eq!(Wire::of(&headers), Wire::Json);
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-amz-cbor-1.1"));
        assert_eq!(Wire::of(&headers), Wire::Cbor);
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-amz-json-1.1"));
        assert_eq!(Wire::of(&headers), Wire::Json);
    }
}
