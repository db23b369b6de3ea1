//! The fast path of JSON mapping when every path is a top-level field (`$.a`, the usual KDA mapping): one pass
//! over the record's bytes, no parser events, no UTF-8 check of bytes nobody reads as text.
//!
//! - Field names are compared as bytes with the names the mapping expects, the one after the last match first
//!   (records usually list their fields in the same order), so a name the mapping knows is read once.
//! - Values are taken where they stand: strings without escapes as slices, numbers and literals as their text;
//!   a field no column takes is skipped after being checked, never converted.
//! - A TIMESTAMP column reads a string's bytes at fixed offsets when it has the common layout
//!   (`yyyy-MM-ddTHH:mm:ss.SSS`); other values go through the usual coercion.
//! - UTF-8: JSON's structure is ASCII and the scanner accepts only ASCII outside strings, so the record is valid
//!   UTF-8 when the bytes of its strings are. A string holding a byte above 0x7F makes the scanner check the
//!   whole record, once.
//!
//! The scanner reads strict, simple JSON only: anything else (an escape, a nested value, JSON it finds invalid,
//! invalid UTF-8) makes it give up (None), and the caller maps the record again with the general walk, which gives
//! the same rows and errors. A value that does not coerce is the record's error, with the message the mapping
//! always gave for it (the value's text as written).

use std::collections::HashMap;

use super::InputColumn;
use super::coerce::{self, Json};
use crate::error::SqlError;
use crate::json_scan::{NON_ASCII, special_at};
use crate::literal;
use crate::types::SqlType;
use crate::value::Value;

/// Above this many fields, names are looked up in a hash map instead of compared in turn.
const LINEAR_FIELDS: usize = 16;

/// A flat mapping compiled for the scanner.
#[derive(Debug)]
pub(crate) struct FlatMapping {
    fields: Vec<Field>,
    /// `fields` by name, when there are many.
    lookup: Option<HashMap<Box<[u8]>, usize>>,
}

/// A top-level field that columns take.
#[derive(Debug)]
struct Field {
    /// `"name":`, the name as a record spells it without escapes (the scanner gives up on escaped names): a
    /// record that spells it so is read with one comparison.
    key: Box<[u8]>,
    /// What leads to this field when it follows the one before it (the first field: when it opens the record), in
    /// the two usual layouts (Python's default and compact JSON): `, "name": ` and `,"name":` (`{"name": ` and
    /// `{"name":`), read with one comparison instead of token by token.
    lead: [Box<[u8]>; 2],
    leaves: Vec<Leaf>,
}

/// A column that takes a field's value, and how.
#[derive(Debug)]
struct Leaf {
    column: usize,
    read: Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// A TIMESTAMP: a string in the common layout is read from its bytes.
    Timestamp,
    /// A CHAR or VARCHAR: a string is cut (or padded) to the column's length.
    Text,
    /// `$.a[0:]`: only an array fills it; the scanner leaves arrays to the general walk, so a scalar leaves it NULL.
    WholeArray,
    /// Any other column: the usual coercion.
    Coerce,
}

impl FlatMapping {
    /// Compiles `(name, [(column, whole_array)])` for each top-level field; None when a name cannot be compared
    /// as bytes (a record spells `"`, `\` and control characters as escapes, which the scanner does not take),
    /// so that every record goes to the general walk.
    pub(crate) fn new<'n>(
        fields: impl Iterator<Item = (&'n str, Vec<(usize, bool)>)>,
        columns: &[InputColumn],
    ) -> Option<FlatMapping> {
        let mut compiled = Vec::new();
        for (name, leaves) in fields {
            if name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
                return None;
            }
            let leaves = leaves
                .into_iter()
                .map(|(column, whole_array)| {
                    let read = match &columns[column].sql_type {
                        _ if whole_array => Read::WholeArray,
                        SqlType::Timestamp => Read::Timestamp,
                        SqlType::Char(_) | SqlType::Varchar(_) => Read::Text,
                        _ => Read::Coerce,
                    };
                    Leaf { column, read }
                })
                .collect();
            let key: Box<[u8]> = [b"\"", name.as_bytes(), b"\":"].concat().into();
            let (spaced, compact): (&[u8], &[u8]) = if compiled.is_empty() { (b"{", b"{") } else { (b", ", b",") };
            let lead = [[spaced, &*key, b" "].concat().into(), [compact, &*key].concat().into()];
            compiled.push(Field { key, lead, leaves });
        }
        let lookup = (compiled.len() > LINEAR_FIELDS)
            .then(|| compiled.iter().enumerate().map(|(i, field)| (field.name().into(), i)).collect());
        Some(FlatMapping { fields: compiled, lookup })
    }

    /// Maps a record into `row` (all NULL on entry). None: the scanner stopped early, `row` partly filled; then
    /// `error` holds the error of a value that does not coerce into its column (the error the mapping always gave
    /// for it: the value's text as written, the column named), or nothing when the scanner gave up and the caller
    /// maps the record again with the general walk. A coercion error is only the record's if the record is UTF-8:
    /// see [`coercion_error`].
    pub(crate) fn map(
        &self,
        columns: &[InputColumn],
        data: &[u8],
        row: &mut [Value],
        error: &mut Option<SqlError>,
    ) -> Option<()> {
        let mut scan = Scan::new(data);
        // The field expected next: the one after the last found.
        let mut next = 0;
        let mut field = if self.leads_to(0, &mut scan) {
            Some(0)
        } else {
            scan.skip_whitespace();
            if !scan.eat(b'{') {
                return None;
            }
            scan.skip_whitespace();
            if scan.eat(b'}') {
                return scan.end();
            }
            self.field_name(&mut scan, next)?
        };
        loop {
            // (Whitespace before the value is skipped where a value is not read straight away: see `read`.)
            match field {
                Some(at) => {
                    self.fields[at].read(&mut scan, columns, row, error)?;
                    next = at + 1;
                }
                None => {
                    scan.skip_whitespace();
                    scan.value()?;
                }
            }
            // (Field 0's lead opens the record: never after a value.)
            if next > 0 && self.leads_to(next, &mut scan) {
                field = Some(next);
                continue;
            }
            if scan.rest == b"}" {
                return Some(()); // The usual end, without whitespace.
            }
            scan.skip_whitespace();
            if scan.eat(b'}') {
                return scan.end();
            }
            if !scan.eat(b',') {
                return None;
            }
            scan.skip_whitespace();
            field = self.field_name(&mut scan, next)?;
        }
    }

    /// Whether field `at` follows in one of the usual layouts ([`Field::lead`]), consumed if it does.
    #[inline(always)]
    fn leads_to(&self, at: usize, scan: &mut Scan<'_>) -> bool {
        self.fields.get(at).is_some_and(|field| field.lead.iter().any(|bytes| scan.eat_bytes(bytes)))
    }

    /// Reads a field name and its colon: the index of the field the mapping knows by it, or None (Some(None)) for
    /// another.
    fn field_name(&self, scan: &mut Scan<'_>, next: usize) -> Option<Option<usize>> {
        if let Some(expected) = self.fields.get(next)
            && scan.eat_bytes(&expected.key)
        {
            return Some(Some(next));
        }
        if !scan.eat(b'"') {
            return None;
        }
        let name = scan.string_body()?;
        scan.skip_whitespace();
        if !scan.eat(b':') {
            return None;
        }
        Some(match &self.lookup {
            Some(lookup) => lookup.get(name).copied(),
            None => self.fields.iter().position(|field| field.name() == name),
        })
    }
}

/// The record's error after [`FlatMapping::map`] stopped with `error`: that coercion error when the record is
/// UTF-8; else None, and the general walk reports the record as not UTF-8, wherever its bad byte.
pub(crate) fn coercion_error(error: Option<SqlError>, data: &[u8]) -> Option<SqlError> {
    error.filter(|_| std::str::from_utf8(data).is_ok())
}

impl Field {
    /// The name, without quotes.
    fn name(&self) -> &[u8] {
        &self.key[1..self.key.len() - 2]
    }

    /// Reads the field's value (whitespace before it skipped) into its columns; None: not simple JSON, or a
    /// coercion error (in `error`).
    fn read(
        &self,
        scan: &mut Scan<'_>,
        columns: &[InputColumn],
        row: &mut [Value],
        error: &mut Option<SqlError>,
    ) -> Option<()> {
        // One column and a string: straight into the column's type.
        match self.leaves[..] {
            [Leaf { column, read: Read::Timestamp }] => {
                if let Some(ms) = scan.canonical_timestamp() {
                    put(&mut row[column], Value::Timestamp(ms));
                    return Some(());
                }
            }
            [Leaf { column, read: Read::Text }] if scan.eat(b'"') => {
                put(&mut row[column], coerce::string(utf8(scan.string_body()?)?, &columns[column].sql_type));
                return Some(());
            }
            _ => {}
        }
        // Another value, or one after whitespace: the general reading, which takes the same strings the same way.
        scan.skip_whitespace();
        let value = scan.value()?;
        assign(&self.leaves, &value, columns, row, error)
    }
}

/// Puts `value` in a column's slot. The row is all NULL before a record is read and a field usually appears
/// once: a NULL slot is overwritten without dropping what it held (nothing), which the compiler cannot see.
#[inline(always)]
fn put(slot: &mut Value, value: Value) {
    if slot.is_null() {
        std::mem::forget(std::mem::replace(slot, value));
    } else {
        *slot = value;
    }
}

/// Coerces a value into the leaves' columns; None on a coercion error, which goes to `error`.
fn assign(
    leaves: &[Leaf],
    value: &Scalar<'_>,
    columns: &[InputColumn],
    row: &mut [Value],
    error: &mut Option<SqlError>,
) -> Option<()> {
    for leaf in leaves {
        let column = &columns[leaf.column];
        let ty = &column.sql_type;
        let coerced = match (value, leaf.read) {
            (_, Read::WholeArray) => continue,
            (Scalar::Null, _) => Ok(Value::Null),
            (Scalar::Str(bytes), Read::Timestamp) => match literal::parse_canonical_timestamp(bytes) {
                Some(ms) => Ok(Value::Timestamp(ms)),
                None => coerce::from_text(utf8(bytes)?, ty),
            },
            (Scalar::Str(bytes), Read::Text) => Ok(coerce::string(utf8(bytes)?, ty)),
            (Scalar::Str(bytes), _) => coerce::from_text(utf8(bytes)?, ty),
            (Scalar::Number(bytes), _) => coerce::from_json(&Json::Number(utf8(bytes)?), ty),
            (Scalar::Bool(b), _) => coerce::from_json(&Json::Bool(*b), ty),
        };
        match coerced {
            Ok(value) => row[leaf.column] = value,
            Err(why) => {
                *error = Some(SqlError::data(format!("column `{}`: {why}", column.name)));
                return None;
            }
        }
    }
    Some(())
}

/// A string's or number's bytes as text. The scanner has seen them to be UTF-8 (ASCII only: a string's bytes
/// above 0x7F stop [`special_at`](crate::json_scan::special_at) until the whole record is checked, and a number's grammar is ASCII; or lying
/// between two ASCII bytes of a record checked as UTF-8), so this never fails; `unsafe` (which would skip the
/// check) is forbidden in this workspace. The check is `utf8_chunks`', whose loop over ASCII bytes is a
/// byte compare and an increment: on short text (8 bytes) about 80 instructions where `str::from_utf8`, which
/// steps through unaligned bytes one by one with more checks, takes about 100.
#[inline]
fn utf8(bytes: &[u8]) -> Option<&str> {
    match bytes.utf8_chunks().next() {
        // No invalid bytes: the chunk is the last, its valid part the whole text.
        Some(chunk) if chunk.invalid().is_empty() => Some(chunk.valid()),
        Some(_) => None,
        None => Some(""),
    }
}

/// The 8 bytes of `bytes` from `at` as a word (0 past its end).
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes.get(at..at + 8).and_then(|word| word.try_into().ok()).map_or(0, u64::from_le_bytes)
}

/// A scalar JSON value as it stands in the record.
#[derive(Debug, PartialEq)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    /// A number's text.
    Number(&'a [u8]),
    /// A string's content (no escapes; UTF-8).
    Str(&'a [u8]),
}

/// A byte cursor over a record; every method that returns an Option returns None where the JSON is not simple.
struct Scan<'a> {
    /// The whole record, for its UTF-8 check.
    record: &'a [u8],
    /// What is left to read.
    rest: &'a [u8],
    /// High bits to flag in [`special_at`](crate::json_scan::special_at): 0x80 in each byte until the record is known to be UTF-8.
    unchecked_high: u64,
}

impl<'a> Scan<'a> {
    fn new(record: &'a [u8]) -> Self {
        Scan { record, rest: record, unchecked_high: NON_ASCII }
    }

    fn skip_whitespace(&mut self) {
        while let [b' ' | b'\n' | b'\r' | b'\t', rest @ ..] = self.rest {
            self.rest = rest;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        match self.rest {
            [first, rest @ ..] if *first == byte => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    /// After the closing brace: Some when only whitespace is left.
    fn end(&mut self) -> Option<()> {
        self.skip_whitespace();
        self.at_end().then_some(())
    }

    /// `expected`, consumed if it is next.
    #[inline(always)]
    fn eat_bytes(&mut self, expected: &[u8]) -> bool {
        let n = expected.len();
        let matched = match self.rest.get(..n) {
            None => false,
            // 8 to 16 bytes (a short name and its punctuation): two overlapping words, no call to memcmp.
            Some(next) if (8..=16).contains(&n) => {
                word_at(next, 0) == word_at(expected, 0) && word_at(next, n - 8) == word_at(expected, n - 8)
            }
            Some(next) => next == expected,
        };
        if matched {
            self.rest = &self.rest[n..];
        }
        matched
    }

    /// After an opening quote: a string's content up to its closing quote (consumed). None: an escape, a control
    /// character (invalid in a JSON string), no closing quote, or a record that is not UTF-8.
    #[inline(always)]
    fn string_body(&mut self) -> Option<&'a [u8]> {
        let string = self.rest;
        let mut scanned = 0;
        loop {
            let special = scanned + special_at(string.get(scanned..)?, self.unchecked_high)?;
            match string.get(special)? {
                b'"' => {
                    self.rest = string.get(special + 1..)?;
                    return string.get(..special);
                }
                0x80.. => {
                    // The first non-ASCII byte: check the whole record once (its error is the general walk's).
                    std::str::from_utf8(self.record).ok()?;
                    self.unchecked_high = 0;
                    scanned = special + 1;
                }
                _ => return None,
            }
        }
    }

    fn value(&mut self) -> Option<Scalar<'a>> {
        match self.rest.first()? {
            b'"' => {
                self.rest = &self.rest[1..];
                self.string_body().map(Scalar::Str)
            }
            b't' => self.literal(b"true", Scalar::Bool(true)),
            b'f' => self.literal(b"false", Scalar::Bool(false)),
            b'n' => self.literal(b"null", Scalar::Null),
            b'-' | b'0'..=b'9' => self.number().map(Scalar::Number),
            _ => None,
        }
    }

    /// A string holding a timestamp in a fixed layout ([`literal::parse_canonical_timestamp`]), read straight from
    /// the record: its milliseconds. None, with nothing consumed: another value (its digits and separators leave
    /// no room for a quote, a backslash or a non-ASCII byte, so the string ends where the layout does).
    fn canonical_timestamp(&mut self) -> Option<i64> {
        // A quote after 19 bytes ends `yyyy-MM-dd HH:mm:ss`; a longer layout has its `.` there.
        let len = match self.rest {
            [b'"', text @ ..] if text.get(19) == Some(&b'"') => 19,
            [b'"', text @ ..] if text.get(23) == Some(&b'"') => 23,
            _ => return None,
        };
        let ms = literal::parse_canonical_timestamp(self.rest.get(1..=len)?)?;
        self.rest = self.rest.get(len + 2..)?;
        Some(ms)
    }

    fn literal(&mut self, word: &[u8], value: Scalar<'a>) -> Option<Scalar<'a>> {
        self.eat_bytes(word).then_some(value)
    }

    /// A number by JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<&'a [u8]> {
        let start = self.rest;
        self.eat(b'-');
        if self.eat(b'0') {
            // A leading zero stands alone: `01` is no number, and no value to coerce (its error would come before
            // the general walk's, which stops at it).
            if self.rest.first().is_some_and(u8::is_ascii_digit) {
                return None;
            }
        } else {
            self.digits()?;
        }
        if self.eat(b'.') {
            self.digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _sign = self.eat(b'+') || self.eat(b'-');
            self.digits()?;
        }
        start.get(..start.len() - self.rest.len())
    }

    /// One or more digits.
    fn digits(&mut self) -> Option<()> {
        let count = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        self.rest = &self.rest[count..];
        (count > 0).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_read_where_they_stand() {
        fn read(text: &str) -> Option<Scalar<'_>> {
            Scan::new(text.as_bytes()).value()
        }
        assert_eq!(read(r#""abc" "#), Some(Scalar::Str(b"abc")));
        assert_eq!(read("-12.5e+3,"), Some(Scalar::Number(b"-12.5e+3")));
        assert_eq!(read("true"), Some(Scalar::Bool(true)));
        assert_eq!(read("null}"), Some(Scalar::Null));
        for not_simple in [r#""a\"b""#, "\"abc", "01", "-", "1.", "1e", "tru", "[1]", "{}", "\"a\tb\"", "+1"] {
            let mut scan = Scan::new(not_simple.as_bytes());
            let taken = scan.value().is_some() && scan.at_end();
            assert!(!taken, "{not_simple}");
        }
    }

    #[test]
    fn text_is_checked_as_str_from_utf8_checks_it() {
        let cases: [&[u8]; 12] = [
            b"",
            b"82,1,0,2",
            b"a longer run of ascii text than a word or two",
            "héllo wörld ✓ 𝄞".as_bytes(),
            b"\xff",
            b"abc\xff",
            b"abc\xc3",
            b"\xc3\xa9\xc3",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"ok\xe2\x82",
        ];
        for bytes in cases {
            assert_eq!(utf8(bytes), std::str::from_utf8(bytes).ok(), "{bytes:?}");
        }
    }

    #[test]
    fn expected_bytes_are_eaten_as_strip_prefix_would() {
        let record = br#"{"timestamp": "2020", "requests_newUsers_newOrders_churnUsers": "82,1,0,2"}"#;
        for start in 0..record.len() {
            for end in start..=record.len() {
                let expected = &record[start..end];
                let mut other = expected.to_vec();
                if let Some(last) = other.last_mut() {
                    *last ^= 1; // A difference in the last byte (the second word's) is seen too.
                }
                let shorter = &record[start..end.saturating_sub(1).max(start)];
                for (rest, expected) in [(&record[start..], expected), (&record[start..], &other), (shorter, expected)]
                {
                    let mut scan = Scan::new(rest);
                    let eaten = scan.eat_bytes(expected);
                    let stripped = rest.strip_prefix(expected);
                    assert_eq!(eaten, stripped.is_some(), "{expected:?}");
                    assert_eq!(scan.rest, stripped.unwrap_or(rest));
                }
            }
        }
    }

    #[test]
    fn put_replaces_whatever_the_slot_held() {
        let long = "a text too long to be kept inline, in shared bytes";
        let mut slot = Value::Null;
        put(&mut slot, Value::string(long));
        assert_eq!(slot, Value::string(long));
        // A repeated field: the slot holds the first value, which is dropped.
        put(&mut slot, Value::Int(2));
        assert_eq!(slot, Value::Int(2));
    }

    #[test]
    fn a_non_ascii_string_checks_the_whole_record_once() {
        let mut scan = Scan::new("\"héllo\" \"wörld\"".as_bytes());
        scan.eat(b'"');
        assert_eq!(scan.string_body(), Some("héllo".as_bytes()));
        assert_eq!(scan.unchecked_high, 0);
        // Invalid UTF-8 after the string still stops the first non-ASCII string.
        let mut scan = Scan::new(b"\"h\xc3\xa9\" \"\xff\"");
        scan.eat(b'"');
        assert_eq!(scan.string_body(), None);
    }

    #[test]
    fn timestamps_in_the_fixed_layouts_are_read_straight_from_the_record() {
        let read = |text: &str| {
            let mut scan = Scan::new(text.as_bytes());
            (scan.canonical_timestamp(), text.len() - scan.rest.len())
        };
        let at = literal::parse_timestamp("2020-07-01 12:34:56.789");
        assert_eq!(read(r#""2020-07-01T12:34:56.789", "#), (at, 25));
        assert_eq!(read(r#""2020-07-01 12:34:56"}"#), (literal::parse_timestamp("2020-07-01 12:34:56"), 21));
        // Other layouts and other values are left where they are, for the usual coercion.
        for other in [r#""2020-07-01T12:34:56.7""#, r#""2020-07-01T12:34:56.789Z""#, r#""2020-7-01 12:34:56""#, "12"] {
            assert_eq!(read(other), (None, 0), "{other}");
        }
    }

    fn mapping(columns: &[(&str, &str, &str)]) -> (FlatMapping, Vec<InputColumn>) {
        let columns: Vec<InputColumn> = columns
            .iter()
            .map(|(name, ty, field)| InputColumn {
                name: (*name).into(),
                sql_type: ty.parse().expect("a type"),
                path: Some(format!("$.{field}")),
            })
            .collect();
        let fields =
            columns.iter().enumerate().map(|(i, c)| (&c.path.as_deref().unwrap_or("$.")[2..], vec![(i, false)]));
        let flat = FlatMapping::new(fields, &columns).expect("a flat mapping");
        (flat, columns)
    }

    #[test]
    fn simple_records_take_the_fast_path_and_others_are_left_to_the_general_walk() {
        let (flat, columns) = mapping(&[
            ("at", "TIMESTAMP", "t"),
            ("s", "VARCHAR(4)", "s"),
            ("n", "INTEGER", "n"),
            ("b", "BOOLEAN", "bb"),
        ]);
        let map = |record: &[u8]| {
            let mut row = vec![Value::Null; columns.len()];
            let mut error = None;
            match flat.map(&columns, record, &mut row, &mut error) {
                Some(()) => Some(Ok(row)),
                None => coercion_error(error, record).map(|e| Err(e.message)),
            }
        };
        let at = Value::Timestamp(literal::parse_timestamp("2020-07-01 00:00:00").expect("a timestamp"));
        let taken: [(&[u8], Vec<Value>); 6] = [
            (
                br#"{"t": "2020-07-01T00:00:00.000", "s": "abcdef", "n": 7, "bb": true}"#,
                vec![at.clone(), Value::string("abcd"), Value::Int(7), Value::Boolean(true)],
            ),
            // Another order, extra fields (a prefix of a known name, nested values), a repeated field (the last wins).
            (
                br#"{"n":1,"x":"y","bb":false,"s":"a","t":"2020-07-01 00:00:00","n":2}"#,
                vec![at.clone(), Value::string("a"), Value::Int(2), Value::Boolean(false)],
            ),
            (br#" {"t2": 1, "s2": "z", "ss": null} "#, vec![Value::Null; 4]),
            (br#"{}"#, vec![Value::Null; 4]),
            // Non-ASCII text, and a timestamp in a layout the general parser reads.
            (
                "{\"s\": \"héllo\", \"t\": \"2020-07-01\"}".as_bytes(),
                vec![at.clone(), Value::string("héll"), Value::Null, Value::Null],
            ),
            ("{\"other\": \"ünï\"}".as_bytes(), vec![Value::Null; 4]),
        ];
        for (record, expected) in taken {
            assert_eq!(map(record), Some(Ok(expected)), "{}", String::from_utf8_lossy(record));
        }
        // A value that does not coerce is the record's error, its text as written, even if the JSON goes wrong
        // after it (the general walk stops there too).
        let errors: [(&[u8], &str); 4] = [
            (br#"{"n": "x"}"#, "column `n`: `x` is not an INTEGER"),
            (br#"{"n": 123.40}"#, "column `n`: `123.40` is not an INTEGER (it has a fraction)"),
            (br#"{"t": "yesterday"}"#, "column `at`: `yesterday` is not a TIMESTAMP"),
            (br#"{"s": "ok", "n": 1e-1, "x": "#, "column `n`: `1e-1` is not an INTEGER (it has a fraction)"),
        ];
        for (record, message) in errors {
            assert_eq!(map(record), Some(Err(message.into())), "{}", String::from_utf8_lossy(record));
        }
        let left: [&[u8]; 12] = [
            br#"{"s": "a\"b"}"#,
            br#"{"s\u0031": "a"}"#,
            br#"{"x": [1], "s": "a"}"#,
            br#"{"x": {"s": "b"}}"#,
            // The coercion error is not the record's: it is not UTF-8.
            b"{\"n\": \"x\", \"o\": \"\xff\"}",
            br#"{"s": "a""#,
            br#"{"s": "a","#,
            br#"{"s": "a"} x"#,
            br#"[1]"#,
            b"{\"s\": \"\xff\"}",
            b"{\"x\": \"\xc3\"}",
            b"{\"s\": \"ok\", \"x\": \"\xe9\"}",
        ];
        for record in left {
            assert_eq!(map(record), None, "{}", String::from_utf8_lossy(record));
        }
    }

    #[test]
    fn many_fields_are_found_by_hash_in_any_order() {
        let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        let spec: Vec<(&str, &str, &str)> = names.iter().map(|n| (n.as_str(), "INTEGER", n.as_str())).collect();
        let (flat, columns) = mapping(&spec);
        assert!(flat.lookup.is_some());
        let record: String = format!(
            "{{{}, \"f\": 0, \"f200\": 1}}",
            (0..20).rev().map(|i| format!("\"f{i}\": {i}")).collect::<Vec<_>>().join(", ")
        );
        let mut row = vec![Value::Null; columns.len()];
        assert_eq!(flat.map(&columns, record.as_bytes(), &mut row, &mut None), Some(()));
        assert_eq!(row, (0..20).map(Value::Int).collect::<Vec<_>>());
    }

    #[test]
    fn names_a_record_cannot_spell_without_escapes_turn_the_fast_path_off() {
        let columns = [InputColumn { name: "q".into(), sql_type: SqlType::Integer, path: Some("$['a\"b']".into()) }];
        assert!(FlatMapping::new([("a\"b", vec![(0, false)])].into_iter(), &columns).is_none());
        assert!(FlatMapping::new([("a\\b", vec![(0, false)])].into_iter(), &columns).is_none());
    }
}
