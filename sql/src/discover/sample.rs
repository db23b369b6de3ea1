//! Samples: the records discovery reads, cut out of a file (a stream's records come as they are).
//!
//! - JSON: the file is read as a sequence of JSON values (NDJSON, or objects one after another, pretty-printed or
//!   not); a file that is one array gives its elements. If that fails somewhere, each line is a record, so one
//!   broken line costs only itself.
//! - CSV: the whole file is one record, its rows split by the row delimiter as a record with several rows is
//!   (lines, if the file is not UTF-8 text).

use serde_json::value::RawValue;

/// One record of a sample and where it came from (`line 3`, `record 2`, `element 5`), for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRecord<'a> {
    /// The record's bytes.
    pub data: &'a [u8],
    /// Where it is, for messages.
    pub place: String,
}

/// Whether a file looks like JSON: its first non-blank byte is `{` or `[`.
pub fn looks_like_json(bytes: &[u8]) -> bool {
    matches!(bytes.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['))
}

/// The first `limit` records of a file's bytes, read as JSON (`json`) or CSV (see the [module docs](self)).
pub fn file_records(bytes: &[u8], json: bool, limit: usize) -> Vec<SampleRecord<'_>> {
    if json {
        json_values(bytes, limit).unwrap_or_else(|| lines(bytes, limit))
    } else if std::str::from_utf8(bytes).is_ok() {
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        if blank { Vec::new() } else { vec![SampleRecord { data: bytes, place: "the file".into() }] }
    } else {
        lines(bytes, limit)
    }
}

/// The file as a sequence of JSON values, or `None` if it is not one.
fn json_values(bytes: &[u8], limit: usize) -> Option<Vec<SampleRecord<'_>>> {
    let mut values: Vec<&RawValue> = Vec::new();
    // One more than needed: a file that is one array must be alone.
    for value in serde_json::Deserializer::from_slice(bytes).into_iter::<&RawValue>() {
        values.push(value.ok()?);
        if values.len() > limit {
            break;
        }
    }
    if let [single] = values.as_slice()
        && single.get().starts_with('[')
    {
        let elements: Vec<&RawValue> = serde_json::from_str(single.get()).ok()?;
        let records = elements.into_iter().enumerate().take(limit);
        return Some(records.map(|(i, e)| record(e.get().as_bytes(), format!("element {}", i + 1))).collect());
    }
    let line_of = |value: &RawValue| {
        let start = (value.get().as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
        bytes.get(..start).map_or(0, |before| before.iter().filter(|b| **b == b'\n').count()) + 1
    };
    let records = values.into_iter().take(limit);
    Some(records.map(|v| record(v.get().as_bytes(), format!("line {}", line_of(v)))).collect())
}

/// Each non-blank line a record.
fn lines(bytes: &[u8], limit: usize) -> Vec<SampleRecord<'_>> {
    let lines = bytes.split(|b| *b == b'\n').enumerate().filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace));
    lines.take(limit).map(|(i, line)| record(line, format!("line {}", i + 1))).collect()
}

fn record(data: &[u8], place: String) -> SampleRecord<'_> {
    SampleRecord { data, place }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(records: &[SampleRecord<'_>]) -> Vec<String> {
        records.iter().map(|r| format!("{}: {}", r.place, String::from_utf8_lossy(r.data))).collect()
    }

    #[test]
    fn json_files_give_their_values_with_their_lines() {
        let ndjson = b"{\"a\": 1}\n\n{\"a\": 2}\n{\"a\": 3}\n";
        assert_eq!(shown(&file_records(ndjson, true, 2)), ["line 1: {\"a\": 1}", "line 3: {\"a\": 2}"]);
        let pretty = b"{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}";
        assert_eq!(file_records(pretty, true, 10).len(), 2);
        let array = b" [{\"a\": 1}, {\"a\": 2}, {\"a\": 3}] ";
        assert_eq!(shown(&file_records(array, true, 2)), ["element 1: {\"a\": 1}", "element 2: {\"a\": 2}"]);
        let broken = b"{\"a\": 1}\nnot json\n{\"a\": 2}\n";
        assert_eq!(
            shown(&file_records(broken, true, 10)),
            ["line 1: {\"a\": 1}", "line 2: not json", "line 3: {\"a\": 2}"]
        );
    }

    #[test]
    fn csv_files_are_one_record_unless_not_utf8() {
        assert_eq!(shown(&file_records(b"a,b\n1,2\n", false, 10)), ["the file: a,b\n1,2\n"]);
        assert!(file_records(b" \n\n", false, 10).is_empty());
        assert_eq!(file_records(b"a,\xff\n1,2\n", false, 10).len(), 2);
        assert!(looks_like_json(b"\n  {") && looks_like_json(b"[") && !looks_like_json(b"a,{"));
    }
}
