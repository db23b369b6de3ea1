//! Values of rows: one variant per family of SQL types.

use std::sync::Arc;

use bytes::Bytes;

/// A fixed-point number: `unscaled / 10^scale` (DECIMAL/NUMERIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The digits, without the point.
    pub unscaled: i128,
    /// Digits after the point.
    pub scale: u8,
}

/// The text of a CHAR or VARCHAR value: UTF-8, either kept inline (short text, up to [`INLINE`] bytes: no
/// allocation, and cloning it copies a few words instead of touching a reference count) or in reference-counted
/// bytes (longer text: cloning it, or taking a part of it with [`text_within`], shares the bytes instead of
/// copying them). Most values of streaming rows are short (fields a log parser cuts, formatted timestamps,
/// numbers as text), so they never allocate, and rows moving between threads share no counters.
#[derive(Clone)]
pub struct Text(Repr);

/// Bytes of text kept inline (what [`compact_str::CompactString`] holds without allocating).
pub const INLINE: usize = 24;

#[derive(Clone)]
enum Repr {
    /// At most [`INLINE`] bytes: always inline.
    Inline(compact_str::CompactString),
    Shared(bytestring::ByteString),
}

impl Text {
    /// The empty text.
    pub const fn new() -> Text {
        Text(Repr::Inline(compact_str::CompactString::const_new("")))
    }

    /// The text as a `&str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(inline) => inline.as_str(),
            Repr::Shared(shared) => shared,
        }
    }

    /// Text that is short inline, else in reference-counted bytes of its own.
    #[inline]
    fn copied(text: &str) -> Text {
        if text.len() <= INLINE {
            Text(Repr::Inline(inline_copy(text)))
        } else {
            Text(Repr::Shared(bytestring::ByteString::from(text)))
        }
    }

    /// `part`, which lies within this text, sharing its bytes when they are reference-counted (no copy) or
    /// inline when short.
    fn slice_within(&self, part: &str) -> Text {
        match &self.0 {
            Repr::Shared(shared) if part.len() > INLINE => Text(Repr::Shared(shared.slice_ref(part))),
            _ => Text::copied(part),
        }
    }
}

/// `text`, of at most [`INLINE`] bytes, inline. `CompactString::new` copies text of a length unknown to the
/// compiler with a call to `memcpy`, which costs more than the rest of making a short text; an arm per length
/// makes each copy one of a fixed size, a few moves. Only the shortest lengths (log fields, codes, numbers as
/// text) get an arm: more arms make every caller bigger for little gain.
#[inline]
fn inline_copy(text: &str) -> compact_str::CompactString {
    macro_rules! by_length {
        ($($n:literal)*) => {
            match text.len() {
                $($n => compact_str::CompactString::new(&text[..$n]),)*
                _ => compact_str::CompactString::new(text),
            }
        };
    }
    by_length!(1 2 3 4 5 6 7 8)
}

impl Default for Text {
    fn default() -> Self {
        Text::new()
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text::copied(text)
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        if text.len() <= INLINE { Text::copied(&text) } else { Text(Repr::Shared(bytestring::ByteString::from(text))) }
    }
}

impl From<Box<str>> for Text {
    fn from(text: Box<str>) -> Self {
        Text::from(String::from(text))
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.as_str(), f)
    }
}

/// `part` as [`Text`]: a shared slice of `source` when `part` lies within it and is long (no copy), else a copy
/// of `part` (inline when short). Inline: log parsers make one per field.
#[inline]
pub fn text_within(source: &Text, part: &str) -> Text {
    if part.len() <= INLINE {
        return Text::copied(part); // Short parts are inline copies wherever they lie.
    }
    let (start, end) = (source.as_ptr() as usize, source.as_ptr() as usize + source.len());
    let at = part.as_ptr() as usize;
    if at >= start && at + part.len() <= end { source.slice_within(part) } else { Text::from(part) }
}

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// BOOLEAN.
    Boolean(bool),
    /// TINYINT, SMALLINT, INTEGER, BIGINT.
    Int(i64),
    /// REAL, DOUBLE.
    Double(f64),
    /// DECIMAL, NUMERIC.
    Decimal(Decimal),
    /// CHAR, VARCHAR: shared text, often a slice of the record it was read from (see [`Text`]).
    String(Text),
    /// DATE: days since 1970-01-01.
    Date(i32),
    /// TIME: milliseconds since midnight.
    Time(i32),
    /// TIMESTAMP: milliseconds since 1970-01-01 00:00:00 UTC.
    Timestamp(i64),
    /// BINARY, VARBINARY.
    Binary(Bytes),
    /// A day-time INTERVAL, in milliseconds.
    Interval(i64),
    /// A year-month INTERVAL, in months.
    IntervalMonths(i32),
    /// A row value (log parser results): fields in the order of its [`SqlType::Row`](crate::types::SqlType::Row).
    Row(Arc<[Value]>),
}

impl Value {
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A string value (a copy of `text`).
    pub fn string(text: &str) -> Self {
        Value::String(Text::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_inline_and_long_text_is_shared() {
        let short = Text::from("2020-07-01 12:00:00");
        assert_ne!(short.as_ptr(), short.clone().as_ptr(), "short text is copied, not shared");
        let long = Text::from("a line longer than the inline capacity of a text");
        assert_eq!(long.as_ptr(), long.clone().as_ptr(), "long text is shared");
        // Parts of a long text are shared slices when long, inline copies when short.
        let part = &long[2..40];
        assert_eq!(text_within(&long, part).as_ptr(), part.as_ptr());
        assert_eq!(text_within(&long, &long[2..6]), Text::from("line"));
        assert_eq!(text_within(&short, &short[..4]), Text::from("2020"));
        assert_eq!(text_within(&short, "elsewhere"), Text::from("elsewhere"));
        // Both forms compare, hash and print by their text.
        assert_eq!(Text::from(String::from("x").repeat(30)), Text::from("x".repeat(30).as_str()));
        assert_eq!(format!("{:?} {}", Text::from("a\"b"), Text::from("c")), "\"a\\\"b\" c");
        assert_eq!(Text::from("a").cmp(&Text::from("b")), std::cmp::Ordering::Less);
        assert_eq!(Text::default(), Text::from(""));
        assert_eq!(INLINE, 24);
        assert!(std::mem::size_of::<Value>() <= 48, "a value stays six words");
    }

    #[test]
    fn inline_copies_of_every_short_length_are_the_text() {
        let source = "aé€😀bcdefghijklmnopqrstuvwxyz";
        for start in source.char_indices().map(|(at, _)| at) {
            for end in (start..=source.len()).filter(|&end| source.is_char_boundary(end) && end - start <= INLINE) {
                let text = &source[start..end];
                let copy = inline_copy(text);
                assert_eq!(copy.as_str(), text);
                assert_eq!(copy, compact_str::CompactString::new(text));
                assert!(!copy.is_heap_allocated(), "{text:?} stays inline");
                let value = Text::from(text);
                assert_eq!((value.as_str(), value.len()), (text, text.len()));
                let shared = Text(Repr::Shared(bytestring::ByteString::from(text)));
                assert_eq!(value.clone(), shared, "{text:?}");
                assert_eq!(value.cmp(&shared), std::cmp::Ordering::Equal);
                let state = std::hash::RandomState::new();
                assert_eq!(
                    std::hash::BuildHasher::hash_one(&state, &value),
                    std::hash::BuildHasher::hash_one(&state, &shared)
                );
            }
        }
    }
}
