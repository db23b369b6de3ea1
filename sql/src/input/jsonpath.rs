//! The JSONPath subset of KDA input mappings (DG about-json-path.md).
//!
//! `$` (the whole record), `.name` and `['name']`/`["name"]` (an object's field, case-sensitive), `[2]` (an array's
//! element), `[0:]` (at the end: the whole array; in the middle: flatten, one row per element from that index on;
//! `[*]` is the same as `[0:]`). Filters, recursive descent (`..`) and unions are not part of KDA's mappings.

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// An object's field.
    Key(String),
    /// An array's element.
    Index(usize),
    /// `[n:]`: the elements from `n` on.
    Slice(usize),
}

/// Parses a path into steps; the error says what is wrong (the caller names the column).
pub(crate) fn parse(path: &str) -> Result<Vec<Step>, String> {
    let text = path.trim();
    let Some(mut rest) = text.strip_prefix('$') else {
        return Err("must start with `$`".into());
    };
    let mut steps = Vec::new();
    while let Some(first) = rest.chars().next() {
        match first {
            '.' => {
                let after = &rest[1..];
                if after.starts_with('.') {
                    return Err("recursive descent `..` is not supported".into());
                }
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() {
                    return Err("a `.` must be followed by a field name".into());
                }
                if name == "*" {
                    return Err("wildcard `.*` is not supported".into());
                }
                steps.push(Step::Key(name.to_owned()));
                rest = &after[end..];
            }
            '[' => {
                let after = &rest[1..];
                if let Some(quote @ ('\'' | '"')) = after.chars().next() {
                    let (name, used) = quoted(&after[1..], quote)?;
                    rest = after[1 + used..].strip_prefix(']').ok_or("a quoted field name must be followed by `]`")?;
                    steps.push(Step::Key(name));
                } else {
                    let close = after.find(']').ok_or("`[` without `]`")?;
                    steps.push(subscript(after[..close].trim())?);
                    rest = &after[close + 1..];
                }
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    let slices: Vec<_> = steps.iter().enumerate().filter(|(_, s)| matches!(s, Step::Slice(_))).collect();
    match slices.as_slice() {
        [] => {}
        [(at, Step::Slice(start))] if *at + 1 == steps.len() && *start != 0 => {
            return Err("only `[0:]` can take a whole array".into());
        }
        [_] => {}
        _ => return Err("a path can flatten one array only".into()),
    }
    Ok(steps)
}

/// A quoted name up to its closing `quote`, with `\` escaping the next character; returns the name and the bytes
/// used including the closing quote.
fn quoted(text: &str, quote: char) -> Result<(String, usize), String> {
    let mut name = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => name.push(escaped),
                None => break,
            },
            c if c == quote => return Ok((name, i + c.len_utf8())),
            c => name.push(c),
        }
    }
    Err(format!("unterminated quoted name (missing `{quote}`)"))
}

/// The inside of `[...]`: `2`, `0:`, `*`.
fn subscript(inside: &str) -> Result<Step, String> {
    let number = |digits: &str| digits.trim().parse::<usize>().map_err(|_| format!("`[{inside}]` is not an index"));
    if inside == "*" {
        Ok(Step::Slice(0))
    } else if let Some(start) = inside.strip_suffix(':') {
        Ok(Step::Slice(if start.trim().is_empty() { 0 } else { number(start)? }))
    } else if inside.contains(':') {
        Err(format!("slice `[{inside}]` is not supported (only `[n:]`)"))
    } else {
        Ok(Step::Index(number(inside)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Step {
        Step::Key(name.to_owned())
    }

    #[test]
    fn every_supported_form_parses() {
        let cases = [
            ("$", vec![]),
            ("$.timestamp", vec![key("timestamp")]),
            ("$.a.b", vec![key("a"), key("b")]),
            ("$['a b']", vec![key("a b")]),
            ("$[\"a\"].b", vec![key("a"), key("b")]),
            ("$['it\\'s']", vec![key("it's")]),
            ("$.a[2]", vec![key("a"), Step::Index(2)]),
            ("$.a[0:]", vec![key("a"), Step::Slice(0)]),
            ("$.a[*]", vec![key("a"), Step::Slice(0)]),
            ("$.a[1:].x", vec![key("a"), Step::Slice(1), key("x")]),
            ("$.a[0][1]", vec![key("a"), Step::Index(0), Step::Index(1)]),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn unsupported_or_broken_paths_are_errors() {
        for bad in
            ["a.b", "$.", "$..a", "$.a[", "$.a[x]", "$['a", "$.a[0:].b[0:].c", "$.a[1:]", "$.a[1:3]", "$x", "$.*"]
        {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
