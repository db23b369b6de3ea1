//! String functions: CHAR_LENGTH/CHARACTER_LENGTH, INITCAP, LOWER, UPPER, OVERLAY, POSITION, REGEX_REPLACE,
//! SUBSTRING, TRIM. Lengths and positions count characters, 1-based, as SQL does. CHAR values keep their padding
//! (CHAR_LENGTH of `CAST('fred' AS CHAR(16))` is 16).

use super::{
    PartEval, ScalarFunction, TextPart, arg_int, arg_str, check_arity, eval_fn, literal_str, numeric, strict, stringy,
};
use crate::error::SqlError;
use crate::java_regex::JavaRegex;
use crate::types::SqlType;
use crate::value::{Text, Value};

/// The VARCHAR width of results whose length cannot be bounded from the arguments (REGEX_REPLACE).
pub const LONG_VARCHAR: u32 = 65_535;

pub(super) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction { name: "CHAR_LENGTH", return_type: length_type, prepare: length_prepare },
    ScalarFunction { name: "CHARACTER_LENGTH", return_type: length_type, prepare: length_prepare },
    ScalarFunction { name: "INITCAP", return_type: same_string_type, prepare: |_, _| Ok(map_string(initcap)) },
    ScalarFunction {
        name: "LOWER",
        return_type: same_string_type,
        prepare: |_, _| Ok(map_string(|s| s.to_lowercase())),
    },
    ScalarFunction {
        name: "UPPER",
        return_type: same_string_type,
        prepare: |_, _| Ok(map_string(|s| s.to_uppercase())),
    },
    ScalarFunction { name: "OVERLAY", return_type: overlay_type, prepare: overlay_prepare },
    ScalarFunction { name: "POSITION", return_type: position_type, prepare: position_prepare },
    ScalarFunction { name: "REGEX_REPLACE", return_type: regex_replace_type, prepare: regex_replace_prepare },
    ScalarFunction { name: "SUBSTRING", return_type: substring_type, prepare: substring_prepare },
    ScalarFunction { name: "TRIM", return_type: trim_type, prepare: trim_prepare },
];

fn string_arg(name: &str, args: &[SqlType], i: usize) -> Result<(), String> {
    if stringy(&args[i]) { Ok(()) } else { Err(format!("{name} expects a character string, not {}", args[i])) }
}

fn width(t: &SqlType) -> u32 {
    match t {
        SqlType::Char(n) | SqlType::Varchar(n) => *n,
        _ => 1,
    }
}

fn length_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("CHAR_LENGTH", args, 1, 1)?;
    string_arg("CHAR_LENGTH", args, 0)?;
    Ok(SqlType::Integer)
}

fn length_prepare(_: &[SqlType], _: &[Option<&Value>]) -> Result<Box<dyn super::ScalarEval>, String> {
    Ok(strict(|args| Ok(arg_str(args, 0).map_or(Value::Null, |s| Value::Int(s.chars().count() as i64)))))
}

fn same_string_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("the function", args, 1, 1)?;
    string_arg("the function", args, 0)?;
    Ok(if args[0] == SqlType::Null { SqlType::Varchar(1) } else { args[0].clone() })
}

fn map_string(f: fn(&str) -> String) -> Box<dyn super::ScalarEval> {
    strict(move |args| Ok(arg_str(args, 0).map_or(Value::Null, |s| Value::String(Text::from(f(s))))))
}

/// Upper-cases the first letter of each word and lower-cases the rest; words are runs of letters and digits.
pub fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    out
}

fn overlay_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("OVERLAY", args, 3, 4)?;
    string_arg("OVERLAY", args, 0)?;
    string_arg("OVERLAY", args, 1)?;
    if !args[2..].iter().all(numeric) {
        return Err("OVERLAY's FROM and FOR take integers".into());
    }
    Ok(SqlType::Varchar(width(&args[0]).saturating_add(width(&args[1]))))
}

fn overlay_prepare(_: &[SqlType], _: &[Option<&Value>]) -> Result<Box<dyn super::ScalarEval>, String> {
    Ok(strict(|args| {
        let (Some(s), Some(r), Some(from)) = (arg_str(args, 0), arg_str(args, 1), arg_int(args, 2)) else {
            return Ok(Value::Null);
        };
        let chars: Vec<char> = s.chars().collect();
        let len = arg_int(args, 3).unwrap_or(r.chars().count() as i64);
        if len < 0 {
            return Err(SqlError::data("OVERLAY's FOR must not be negative"));
        }
        // `s[..from-1] || r || s[from+len-1..]` (0-based), each bound clipped to the string: a FROM below 1
        // keeps nothing before `r` and resumes earlier, which is the reference's "(1 - start position)
        // characters of the replacement string is prepended to the result, and the rest overlaid".
        let clip = |i: i64| i.clamp(0, chars.len() as i64) as usize;
        let (keep, resume) = (clip(from.saturating_sub(1)), clip(from.saturating_add(len).saturating_sub(1)));
        let mut out: String = chars[..keep].iter().collect();
        out.push_str(r);
        out.extend(&chars[resume.max(keep)..]);
        Ok(Value::String(Text::from(out)))
    }))
}

fn position_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("POSITION", args, 2, 2)?;
    string_arg("POSITION", args, 0)?;
    string_arg("POSITION", args, 1)?;
    Ok(SqlType::Integer)
}

fn position_prepare(_: &[SqlType], _: &[Option<&Value>]) -> Result<Box<dyn super::ScalarEval>, String> {
    Ok(strict(|args| {
        let (Some(needle), Some(hay)) = (arg_str(args, 0), arg_str(args, 1)) else { return Ok(Value::Null) };
        // A one-byte needle (a delimiter, usually) is a byte search: no searcher to build per row.
        let found = match needle.as_bytes() {
            &[byte] => find_byte(byte, hay.as_bytes()),
            _ => hay.find(needle),
        };
        Ok(Value::Int(found.map_or(0, |at| chars_before(hay, at) as i64 + 1)))
    }))
}

/// How many characters `text` has before byte `at` (a character boundary): `at` when they are ASCII.
fn chars_before(text: &str, at: usize) -> usize {
    let before = &text[..at];
    if before.is_ascii() { at } else { before.chars().count() }
}

/// Where `byte` first is in `hay`: a plain loop over short text (a field or two), where it beats setting up the
/// vectorized search, which longer text gets.
fn find_byte(byte: u8, hay: &[u8]) -> Option<usize> {
    const SHORT: usize = 32;
    if hay.len() <= SHORT { hay.iter().position(|b| *b == byte) } else { memchr::memchr(byte, hay) }
}

fn substring_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("SUBSTRING", args, 2, 3)?;
    string_arg("SUBSTRING", args, 0)?;
    if !(numeric(&args[1]) || args[1].is_string()) || !args[2..].iter().all(numeric) {
        return Err("SUBSTRING takes FROM <integer> [FOR <integer>] or FROM <regex string>".into());
    }
    Ok(SqlType::Varchar(width(&args[0])))
}

fn substring_prepare(args: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn super::ScalarEval>, String> {
    if args[1].is_string() {
        // SUBSTRING(s FROM regex): the first match (its first group, if it has one); no match -> NULL.
        let fixed = literal_str(literals, 1).map(compile_regex).transpose()?;
        return Ok(strict(move |args| {
            let Some(s) = arg_str(args, 0) else { return Ok(Value::Null) };
            let compiled;
            let re = match &fixed {
                Some(re) => re,
                None => {
                    compiled = compile_regex(arg_str(args, 1).unwrap_or_default()).map_err(SqlError::data)?;
                    &compiled
                }
            };
            Ok(match re.captures(s)? {
                Some(caps) => {
                    let m = caps.get(1).or_else(|| caps.get(0));
                    m.map_or(Value::Null, |m| Value::string(m.text))
                }
                None => Value::Null,
            })
        }));
    }
    Ok(Box::new(PartEval(SubstringByPosition)))
}

/// SUBSTRING(s FROM from [FOR len]) with integers: a part of `s`.
struct SubstringByPosition;

impl TextPart for SubstringByPosition {
    fn source(&self) -> usize {
        0
    }

    #[inline]
    fn part<'t>(&self, text: &'t str, args: &[&Value]) -> Result<Option<&'t str>, Box<SqlError>> {
        if let Some(part) = ascii_substring(text, args) {
            return Ok(Some(part));
        }
        let Some(from) = arg_int(args, 1) else { return Ok(None) };
        Ok(Some(substring(text, from, arg_int(args, 2))?))
    }
}

/// SUBSTRING(s FROM from FOR len) with integers, when the part lies within `s` and `s` is ASCII up to its end
/// (the usual case: characters are bytes, nothing to clip); None for anything else, which [`substring`] answers.
#[inline]
fn ascii_substring<'t>(s: &'t str, args: &[&Value]) -> Option<&'t str> {
    let (Value::Int(from), Some(Value::Int(len))) = (args[1], args.get(2).copied()) else {
        return None;
    };
    let start = usize::try_from(from.checked_sub(1)?).ok()?;
    let end = start.checked_add(usize::try_from(*len).ok()?)?;
    if !s.as_bytes().get(..end)?.is_ascii() {
        return None;
    }
    s.get(start..end)
}

/// SQL's SUBSTRING(s FROM from FOR len): characters `from .. from+len-1` (1-based), clipped to the string.
#[inline]
pub fn substring(s: &str, from: i64, len: Option<i64>) -> Result<&str, SqlError> {
    if len.is_some_and(|l| l < 0) {
        return Err(SqlError::data("negative substring length"));
    }
    let end = len.map_or(i64::MAX, |l| from.saturating_add(l));
    let start = from.max(1);
    if end <= start {
        return Ok("");
    }
    // Where the text is ASCII up to the end of the part (the usual case), characters are bytes: offsets without
    // walking the characters.
    let part_end = usize::try_from(end.saturating_sub(1)).map_or(0, |e| e.min(s.len()));
    let ascii = s.as_bytes()[..part_end].is_ascii();
    let byte_at = |pos: i64| -> usize {
        // The byte offset of 1-based character `pos`, or the end.
        let n = usize::try_from(pos - 1).ok();
        match n {
            Some(n) if ascii => n.min(s.len()),
            _ => n.and_then(|n| s.char_indices().nth(n)).map_or(s.len(), |(i, _)| i),
        }
    };
    let (a, b) = (byte_at(start), if end == i64::MAX { s.len() } else { byte_at(end) });
    Ok(&s[a..b.max(a)])
}

fn trim_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("TRIM", args, 1, 3)?;
    for i in 0..args.len() {
        string_arg("TRIM", args, i)?;
    }
    if args.len() == 3
        && let Some(mode) = literal_str(literals, 0)
        && !["BOTH", "LEADING", "TRAILING"].contains(&mode.to_ascii_uppercase().as_str())
    {
        return Err(format!("TRIM takes BOTH, LEADING or TRAILING, not {mode}"));
    }
    Ok(SqlType::Varchar(width(&args[args.len() - 1])))
}

fn trim_prepare(args: &[SqlType], _: &[Option<&Value>]) -> Result<Box<dyn super::ScalarEval>, String> {
    Ok(Box::new(PartEval(Trim { source: args.len() - 1 })))
}

/// TRIM(s), TRIM(chars, s) or TRIM(mode, chars, s): a part of `s`, the last argument (`source`).
struct Trim {
    source: usize,
}

impl TextPart for Trim {
    fn source(&self) -> usize {
        self.source
    }

    fn part<'t>(&self, s: &'t str, args: &[&Value]) -> Result<Option<&'t str>, Box<SqlError>> {
        // Each character of `chars` is trimmed.
        let (mode, chars) = match args.len() {
            1 => ("BOTH", " "),
            2 => ("BOTH", arg_str(args, 0).unwrap_or(" ")),
            _ => (arg_str(args, 0).unwrap_or("BOTH"), arg_str(args, 1).unwrap_or(" ")),
        };
        let set = |c: char| chars.contains(c);
        Ok(Some(match mode.to_ascii_uppercase().as_str() {
            "LEADING" => s.trim_start_matches(set),
            "TRAILING" => s.trim_end_matches(set),
            _ => s.trim_matches(set),
        }))
    }
}

fn regex_replace_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("REGEX_REPLACE", args, 3, 5)?;
    for i in 0..3 {
        string_arg("REGEX_REPLACE", args, i)?;
    }
    if !args[3..].iter().all(numeric) {
        return Err("REGEX_REPLACE's start position and occurrence are integers".into());
    }
    if let Some(p) = literal_str(literals, 1) {
        compile_regex(p)?;
    }
    Ok(SqlType::Varchar(LONG_VARCHAR))
}

/// Compiles a Java regular expression (see [`JavaRegex`]).
pub fn compile_regex(pattern: &str) -> Result<JavaRegex, String> {
    JavaRegex::new(pattern)
}

/// A Java replacement string, compiled: `$n` and `${name}` insert groups, `\x` is a literal `x`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

fn compile_replacement(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => lit.push(chars.next().ok_or("a replacement string ends with a lone \\")?),
            '$' => {
                if chars.peek() == Some(&'{') {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    pieces.push(Piece::Text(std::mem::take(&mut lit)));
                    pieces.push(Piece::Named(name));
                    continue;
                }
                let mut n = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    n.push(*d);
                    chars.next();
                }
                let n = n.parse().map_err(|_| "a $ in a replacement string must name a group (\\$ for a dollar)")?;
                pieces.push(Piece::Text(std::mem::take(&mut lit)));
                pieces.push(Piece::Group(n));
            }
            c => lit.push(c),
        }
    }
    pieces.push(Piece::Text(lit));
    pieces.retain(|p| *p != Piece::Text(String::new()));
    Ok(pieces)
}

fn regex_replace_prepare(_: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn super::ScalarEval>, String> {
    let fixed_re = literal_str(literals, 1).map(compile_regex).transpose()?;
    let fixed_rep = literal_str(literals, 2).map(compile_replacement).transpose()?;
    Ok(eval_fn(move |args, _| {
        if args.iter().take(3).any(|a| a.is_null()) {
            return Ok(Value::Null);
        }
        let s = arg_str(args, 0).unwrap_or_default();
        let compiled;
        let re = match &fixed_re {
            Some(re) => re,
            None => {
                compiled = compile_regex(arg_str(args, 1).unwrap_or_default()).map_err(SqlError::data)?;
                &compiled
            }
        };
        let rep_compiled;
        let rep = match &fixed_rep {
            Some(rep) => rep,
            None => {
                rep_compiled = compile_replacement(arg_str(args, 2).unwrap_or_default()).map_err(SqlError::data)?;
                &rep_compiled
            }
        };
        let start = arg_int(args, 3).unwrap_or(1);
        let occurrence = arg_int(args, 4).unwrap_or(0);
        if start < 1 || occurrence < 0 {
            return Err(SqlError::data("REGEX_REPLACE's start position must be positive and occurrence not negative"));
        }
        regex_replace(s, re, rep, start as usize, occurrence as usize).map(|r| Value::String(Text::from(r)))
    }))
}

/// Replaces matches of `re` at or after character `start` (1-based): every one when `occurrence` is 0, else only
/// the `occurrence`-th.
fn regex_replace(s: &str, re: &JavaRegex, rep: &[Piece], start: usize, occurrence: usize) -> Result<String, SqlError> {
    let from = s.char_indices().nth(start - 1).map_or(s.len(), |(i, _)| i);
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..from]);
    let mut last = from;
    for (n, caps) in re.captures_iter(&s[from..]).enumerate() {
        let caps = caps?;
        if occurrence != 0 && n + 1 != occurrence {
            continue;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&s[last..from + m.start]);
        for piece in rep {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(g) => {
                    if *g >= caps.len() {
                        return Err(SqlError::data(format!("REGEX_REPLACE: no group {g} in the pattern")));
                    }
                    out.push_str(caps.get(*g).map_or("", |m| m.text));
                }
                Piece::Named(name) => out.push_str(caps.name(name).map_or("", |m| m.text)),
            }
        }
        last = from + m.end;
        if occurrence != 0 {
            break;
        }
    }
    out.push_str(&s[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{call, type_of_call};
    use super::*;
    use crate::cast::cast;

    fn s(text: &str) -> Value {
        Value::string(text)
    }

    #[test]
    fn char_length_counts_characters_and_char_padding() {
        assert_eq!(call("CHAR_LENGTH", &[s("one")]), Ok(Value::Int(3)));
        let fred = cast(&s("fred"), &SqlType::Varchar(4), &SqlType::Char(16)).expect("cast");
        assert_eq!(call("CHARACTER_LENGTH", &[fred]), Ok(Value::Int(16)));
        assert_eq!(call("CHAR_LENGTH", &[Value::Null]), Ok(Value::Null));
        assert!(type_of_call("CHAR_LENGTH", &[Value::Int(1)]).is_err());
    }

    #[test]
    fn case_functions() {
        assert_eq!(call("UPPER", &[s("Hello")]), Ok(s("HELLO")));
        assert_eq!(call("LOWER", &[s("Hello")]), Ok(s("hello")));
        assert_eq!(call("INITCAP", &[s("hELLO wORLD-foo 2bar")]), Ok(s("Hello World-Foo 2bar")));
    }

    #[test]
    fn positions_substrings_overlays_and_trims() {
        assert_eq!(call("POSITION", &[s("b"), s("abc")]), Ok(Value::Int(2)));
        assert_eq!(call("POSITION", &[s("z"), s("abc")]), Ok(Value::Int(0)));
        // Positions count characters, for a one-byte needle (a byte search) as for a longer one.
        assert_eq!(call("POSITION", &[s(","), s("héé,x")]), Ok(Value::Int(4)));
        assert_eq!(call("POSITION", &[s(",x"), s("héé,x")]), Ok(Value::Int(4)));
        assert_eq!(call("POSITION", &[s("é"), s("hé")]), Ok(Value::Int(2)));
        assert_eq!(call("SUBSTRING", &[s("hello"), Value::Int(2), Value::Int(3)]), Ok(s("ell")));
        assert_eq!(call("SUBSTRING", &[s("hello"), Value::Int(0), Value::Int(3)]), Ok(s("he")));
        assert_eq!(call("SUBSTRING", &[s("hello"), Value::Int(4)]), Ok(s("lo")));
        assert_eq!(call("SUBSTRING", &[s("hello"), Value::Int(9)]), Ok(s("")));
        assert!(call("SUBSTRING", &[s("hello"), Value::Int(1), Value::Int(-1)]).is_err());
        assert_eq!(call("SUBSTRING", &[s("TECHNOLOGY"), s("L[A-Z]*")]), Ok(s("LOGY")));
        assert_eq!(call("OVERLAY", &[s("w3333333rce"), s("resou"), Value::Int(3)]), Ok(s("w3resou3rce")));
        assert_eq!(call("OVERLAY", &[s("abcdef"), s("X"), Value::Int(2), Value::Int(3)]), Ok(s("aXef")));
        // [SQLREF] sql-reference-overlay: its eight examples, a start below 1 included.
        let overlay = |from: i64, len: Option<i64>| {
            let mut args = vec![s("12345"), s("foo"), Value::Int(from)];
            args.extend(len.map(Value::Int));
            call("OVERLAY", &args)
        };
        let cases = [
            (1, None, "foo45"),
            (0, None, "foo345"),
            (-2, None, "foo12345"),
            (4, None, "123foo"),
            (17, None, "12345foo"),
            (2, Some(0), "1foo2345"),
            (2, Some(2), "1foo45"),
            (2, Some(9), "1foo"),
        ];
        for (from, len, expected) in cases {
            assert_eq!(overlay(from, len), Ok(s(expected)), "FROM {from} FOR {len:?}");
        }
        assert!(overlay(2, Some(-1)).is_err(), "a negative FOR is an error");
        assert_eq!(call("TRIM", &[s("BOTH"), s(" "), s("  ab  ")]), Ok(s("ab")));
        assert_eq!(call("TRIM", &[s("LEADING"), s("x"), s("xxabx")]), Ok(s("abx")));
        assert_eq!(call("TRIM", &[s("TRAILING"), s("x"), s("xxabx")]), Ok(s("xxab")));
        assert!(type_of_call("TRIM", &[s("SIDEWAYS"), s(" "), s("a")]).is_err());
    }

    #[test]
    fn regex_replace_with_groups_start_and_occurrence() {
        let args = |p: &str, r: &str, start: i64, occ: i64| {
            vec![s("the cat sat"), s(p), s(r), Value::Int(start), Value::Int(occ)]
        };
        assert_eq!(call("REGEX_REPLACE", &args("at", "og", 1, 0)), Ok(s("the cog sog")));
        assert_eq!(call("REGEX_REPLACE", &args("at", "og", 1, 2)), Ok(s("the cat sog")));
        assert_eq!(call("REGEX_REPLACE", &args("at", "og", 7, 0)), Ok(s("the cat sog")));
        assert_eq!(call("REGEX_REPLACE", &args("(\\w)at", "$1\\$", 1, 0)), Ok(s("the c$ s$")));
        assert_eq!(call("REGEX_REPLACE", &[s("a.b"), s("\\."), s("-")]), Ok(s("a-b")));
        assert!(type_of_call("REGEX_REPLACE", &[s("a"), s("(a"), s("b")]).is_err());
    }

    #[test]
    fn substring_of_ascii_counts_bytes_and_of_other_text_characters() {
        // The same positions on ASCII and on text with multi-byte characters.
        for (text, from, len, expected) in [
            ("hello", 2, Some(3), "ell"),
            ("héllo", 2, Some(3), "éll"),
            ("hello", 1, None, "hello"),
            ("héllo", 4, None, "lo"),
            ("hello", 4, Some(10), "lo"),
            ("héllo", 4, Some(10), "lo"),
            ("hello", 9, Some(2), ""),
            ("hello", -1, Some(3), "h"),
            ("héllo", -1, Some(4), "hé"),
            ("", 1, Some(1), ""),
            ("ab€cd", 1, Some(2), "ab"),
            ("ab€cd", 2, Some(2), "b€"),
            ("ab€cd", 4, None, "cd"),
            ("€", 1, Some(1), "€"),
            ("a€", 3, Some(1), ""),
        ] {
            assert_eq!(substring(text, from, len), Ok(expected), "SUBSTRING('{text}' FROM {from} FOR {len:?})");
        }
        assert!(substring("hello", 1, Some(-1)).is_err());
    }

    #[test]
    fn substring_of_ascii_text_by_integers_takes_the_quick_path_with_the_general_results() {
        let cases = [
            ("62,3,1", 1, 2),
            ("62,3,1", 3, 4),
            ("62,3,1", 1, 0),
            ("62,3,1", 5, 9),
            ("62,3,1", 0, 2),
            ("62,3,1", -3, 5),
            ("62,3,1", 1, -1),
            ("é2,3", 2, 2),
            ("ab€d", 1, 2),
            ("ab€d", 2, 2),
            ("", 1, 1),
        ];
        for (text, from, len) in cases {
            let (text_value, from_value, len_value) = (s(text), Value::Int(from), Value::Int(len));
            let quick = ascii_substring(text, &[&text_value, &from_value, &len_value]);
            let general = substring(text, from, Some(len));
            if let Some(part) = quick {
                assert_eq!(Ok(part), general, "SUBSTRING('{text}' FROM {from} FOR {len})");
            }
            let expected = general.map(|p| Value::String(Text::from(p))).map_err(|e| e.message);
            let called = call("SUBSTRING", &[s(text), Value::Int(from), Value::Int(len)]).map_err(|e| e.message);
            assert_eq!(called, expected, "SUBSTRING('{text}' FROM {from} FOR {len})");
        }
        let (text, one) = (s("abc"), Value::Int(1));
        let quick = |args: &[&Value]| ascii_substring("abc", args);
        assert_eq!(quick(&[&text, &one, &Value::Int(2)]), Some("ab"));
        assert_eq!(quick(&[&text, &one, &Value::Int(9)]), None, "past the end: clipped by the general path");
        assert_eq!(quick(&[&text, &one, &Value::Int(-1)]), None, "negative: the general path's error");
        assert_eq!(quick(&[&text, &one]), None, "no FOR");
        assert_eq!(quick(&[&text, &Value::Double(1.0), &one]), None);
        assert_eq!(chars_before("ab€d,", 6), 4);
        assert_eq!(chars_before("abcd,", 4), 4);
    }

    #[test]
    fn a_byte_is_found_in_short_and_long_text_alike() {
        let long = format!("{},x", "a".repeat(40));
        for hay in ["", ",", "ab,c,", "abc", "ab,c", &long[36..], &long] {
            assert_eq!(find_byte(b',', hay.as_bytes()), hay.find(','), "{hay}");
        }
        assert_eq!(call("POSITION", &[s(","), s(&long)]), Ok(Value::Int(41)));
        assert_eq!(call("POSITION", &[s(","), s("é,")]), Ok(Value::Int(2)), "characters, not bytes");
    }
}
