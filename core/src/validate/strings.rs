//! The strings phase: `${VAR}` syntax (and, with `--env`, that each variable is set) and literal secrets.
//! It walks every string of the document, so it runs even where the schema phase failed.

use serde_json::Value;

use super::{Findings, ValidateOptions};
use crate::diagnostic::{Code, Position};
use crate::interpolate;
use crate::yaml::escape_pointer_segment;

/// Key names whose values are credentials (compared lower-case, `-` read as `_`).
const SECRET_KEYS: [&str; 7] = [
    "secret_access_key",
    "aws_secret_access_key",
    "session_token",
    "aws_session_token",
    "password",
    "secret",
    "api_key",
];

pub(super) fn check(out: &mut Findings<'_>, options: ValidateOptions<'_>) {
    walk(out, &out.doc.value, String::new(), None, options);
}

fn walk(out: &mut Findings<'_>, value: &Value, pointer: String, key: Option<&str>, options: ValidateOptions<'_>) {
    match value {
        Value::String(text) => check_string(out, text, &pointer, key, options),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(out, item, format!("{pointer}/{i}"), None, options);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                walk(out, item, format!("{pointer}/{}", escape_pointer_segment(k)), Some(k), options);
            }
        }
        _ => {}
    }
}

/// The position of character `offset` of the string at `pointer`: exact for plain and quoted one-line scalars
/// and for literal block scalars (`|`), whose rows stand one per source line; else the scalar's start.
pub(super) fn inside(out: &Findings<'_>, pointer: &str, text: &str, offset: usize) -> Position {
    let start = out.doc.positions.value(pointer);
    let at = |line: u32, column: u32| Position { line, column, len: 2 };
    let before: String = text.chars().take(offset).collect();
    let row = before.matches('\n').count() as u32;
    let column_in_row = before.rsplit('\n').next().unwrap_or_default().chars().count() as u32;
    if row == 0 {
        let chars = text.chars().count() as u32;
        if start.len == chars {
            return at(start.line, start.column + column_in_row);
        }
        if start.len == chars + 2 {
            return at(start.line, start.column + 1 + column_in_row);
        }
    }
    // A block scalar: find the source line that holds this row after the block's indentation (a row may keep
    // indentation of its own beyond it). The parser places the scalar either at its first row or at its
    // indicator line, so try both.
    let text_row = text.split('\n').nth(row as usize).unwrap_or_default();
    for line in [start.line + row, start.line + row + 1] {
        let source_row = out.source.lines().nth(line as usize - 1).unwrap_or_default();
        if !text_row.is_empty()
            && let Some(indent) = source_row.strip_suffix(text_row)
            && indent.chars().all(|c| c == ' ')
        {
            return at(line, indent.len() as u32 + 1 + column_in_row);
        }
    }
    start
}

fn check_string(out: &mut Findings<'_>, text: &str, pointer: &str, key: Option<&str>, options: ValidateOptions<'_>) {
    let references = match interpolate::references(text) {
        Ok(refs) => refs,
        Err(e) => {
            let position = inside(out, pointer, text, e.offset);
            out.at(
                position,
                Code::Interpolation,
                e.message,
                Some("write `${NAME}` or `${NAME:-default}`; `$$` is a literal `$`".into()),
            );
            return;
        }
    };
    if let Some(env) = options.env {
        for r in &references {
            if r.default.is_none() && env(r.name).is_none() {
                let offset = text.find(&format!("${{{}", r.name)).map_or(0, |b| text[..b].chars().count());
                let position = inside(out, pointer, text, offset);
                out.at(
                    position,
                    Code::EnvUnset,
                    format!("environment variable `{}` is not set", r.name),
                    Some(format!("set it, or give a default: `${{{}:-value}}`", r.name)),
                );
            }
        }
    }
    if let Some(offset) = aws_access_key_offset(text) {
        let position = inside(out, pointer, text, offset);
        out.at(
            position,
            Code::LiteralSecret,
            "literal AWS access key id: pipeline files live in git",
            Some("use `${AWS_ACCESS_KEY_ID}` or the AWS credential chain".into()),
        );
    } else if let Some(key) = key {
        let normal = key.to_ascii_lowercase().replace('-', "_");
        if SECRET_KEYS.contains(&normal.as_str()) && references.is_empty() && !text.is_empty() {
            out.value_error(
                pointer,
                Code::LiteralSecret,
                format!("literal secret in `{key}`: pipeline files live in git"),
                Some(format!("use `${{{}}}` or the AWS credential chain", env_name(&normal))),
            );
        }
    }
}

/// The conventional environment variable for a secret key name (`secret_access_key` -> `AWS_SECRET_ACCESS_KEY`).
fn env_name(key: &str) -> String {
    let upper = key.to_ascii_uppercase();
    if upper.starts_with("AWS_") || !matches!(key, "secret_access_key" | "session_token") {
        upper
    } else {
        format!("AWS_{upper}")
    }
}

/// Character offset of an AWS access key id (`AKIA`/`ASIA`... and 16 upper-case letters or digits) in `text`.
fn aws_access_key_offset(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let is_key_char = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    (0..bytes.len().saturating_sub(19)).find_map(|i| {
        let candidate = &bytes[i..i + 20];
        let prefixed = [b"AKIA", b"ASIA", b"ABIA", b"ACCA"].iter().any(|p| candidate.starts_with(*p));
        let bounded = (i == 0 || !is_key_char(bytes[i - 1])) && bytes.get(i + 20).is_none_or(|b| !is_key_char(*b));
        (prefixed && bounded && candidate.iter().all(|b| is_key_char(*b))).then(|| text[..i].chars().count())
    })
}

#[cfg(test)]
mod tests {
    use super::aws_access_key_offset;

    #[test]
    fn finds_access_key_ids() {
        assert_eq!(aws_access_key_offset("AKIAIOSFODNN7EXAMPLE"), Some(0));
        assert_eq!(aws_access_key_offset("key=AKIAIOSFODNN7EXAMPLE;"), Some(4));
        assert_eq!(aws_access_key_offset("XAKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(aws_access_key_offset("AKIAIOSFODNN7EXAMPL"), None);
        assert_eq!(aws_access_key_offset("akiaiosfodnn7example"), None);
    }
}
