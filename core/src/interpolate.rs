//! `${VAR}` and `${VAR:-default}` in string values, resolved at run time from the environment; `$$` is a
//! literal `$`. Validation checks the syntax of every reference, and with `--env`, that each is set.

use serde_json::Value;

/// One `${...}` reference in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef<'a> {
    /// The variable's name.
    pub name: &'a str,
    /// The default after `:-`, if any.
    pub default: Option<&'a str>,
}

/// A malformed reference: what is wrong and its character offset in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Character offset of the `$` that starts the bad reference.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

enum Piece<'a> {
    Text(&'a str),
    Var(VarRef<'a>),
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn pieces(text: &str) -> Result<Vec<Piece<'_>>, SyntaxError> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut consumed = 0; // bytes of `text` before `rest`
    while let Some(at) = rest.find('$') {
        out.push(Piece::Text(&rest[..at]));
        let after = &rest[at + 1..];
        let offset = text[..consumed + at].chars().count();
        let advance = if after.starts_with('$') {
            out.push(Piece::Text("$"));
            2
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(SyntaxError { offset, message: "`${` is never closed with `}`".into() });
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if !is_name(name) {
                let message = if name.is_empty() {
                    "empty variable name in `${}`".to_owned()
                } else {
                    format!(
                        "`{name}` is not a variable name: use letters, digits and `_`, not starting with a digit (`${{NAME}}` or `${{NAME:-default}}`)"
                    )
                };
                return Err(SyntaxError { offset, message });
            }
            out.push(Piece::Var(VarRef { name, default }));
            end + 3
        } else {
            // A lone `$` is literal text, as in shells.
            out.push(Piece::Text("$"));
            1
        };
        consumed += at + advance;
        rest = &text[consumed..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// The references in `text`, or the first syntax error.
pub fn references(text: &str) -> Result<Vec<VarRef<'_>>, SyntaxError> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(v) => Some(v),
            Piece::Text(_) => None,
        })
        .collect())
}

/// A variable that is neither set nor defaulted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable `{0}` is not set and has no default")]
pub struct Unset(pub String);

/// `text` with every reference replaced, looking variables up with `lookup`.
pub fn resolve(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, ResolveError> {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text).map_err(ResolveError::Syntax)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => match lookup(v.name).or_else(|| v.default.map(str::to_owned)) {
                Some(value) => out.push_str(&value),
                None => return Err(ResolveError::Unset(Unset(v.name.to_owned()))),
            },
        }
    }
    Ok(out)
}

/// Why a string could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Malformed reference.
    #[error("{}", .0.message)]
    Syntax(SyntaxError),
    /// Missing variable.
    #[error(transparent)]
    Unset(Unset),
}

/// Resolves every string in `value` in place (run time, after validation).
pub fn resolve_value(value: &mut Value, lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), ResolveError> {
    match value {
        Value::String(s) if s.contains('$') => *s = resolve(s, lookup)?,
        Value::Array(items) => items.iter_mut().try_for_each(|v| resolve_value(v, lookup))?,
        Value::Object(map) => map.values_mut().try_for_each(|v| resolve_value(v, lookup))?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "BUCKET").then(|| "logs".to_owned())
    }

    #[test]
    fn resolves_references_defaults_and_escapes() {
        assert_eq!(resolve("s3://${BUCKET}/x", &env), Ok("s3://logs/x".into()));
        assert_eq!(resolve("${REGION:-eu-west-1}", &env), Ok("eu-west-1".into()));
        assert_eq!(resolve("${BUCKET:-other}", &env), Ok("logs".into()));
        assert_eq!(resolve("cost: $$5 and $x", &env), Ok("cost: $5 and $x".into()));
        assert_eq!(resolve("${NOPE}", &env), Err(ResolveError::Unset(Unset("NOPE".into()))));
    }

    #[test]
    fn reports_syntax_errors_with_offsets() {
        let e = references("ab ${OPEN").expect_err("unclosed");
        assert_eq!(e.offset, 3);
        assert!(references("${}").is_err());
        assert!(references("${1X}").is_err());
        assert!(references("${A B}").is_err());
        assert_eq!(references("é${A}${B:-c}").map(|r| r.len()), Ok(2));
    }

    #[test]
    fn resolves_nested_values() {
        let mut v = serde_json::json!({"a": ["${BUCKET}", 1], "b": {"c": "$${BUCKET}"}});
        resolve_value(&mut v, &env).expect("resolves");
        assert_eq!(v, serde_json::json!({"a": ["logs", 1], "b": {"c": "${BUCKET}"}}));
    }
}
