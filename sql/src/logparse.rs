//! The log parsers: VARIABLE_COLUMN_LOG_PARSE, FIXED_COLUMN_LOG_PARSE, REGEX_LOG_PARSE, FAST_REGEX_LOG_PARSE,
//! SYS_LOG_PARSE and W3C_LOG_PARSE. Each returns a row (`SqlType::Row` / `Value::Row`) read as `t.r."COL_1"`.
//!
//! Design: the column spec, delimiters, regex and format must be constants; `prepare` compiles them once (column
//! types, SimpleDateFormat patterns of date columns, the regex, the W3C format's pieces) and the evaluator only
//! splits and converts. A field converts to its column's type as CAST from VARCHAR would (VARCHAR(n) truncates); an
//! empty field of a non-string column is NULL; a NULL in a NOT NULL column, or a field that does not convert, is a
//! data error (the row goes to error_stream). Missing trailing fields are NULL and extra fields are ignored. A NULL
//! input gives a NULL row; so does a line the regex or W3C format does not match.
//!
//! Column specs: a count (`4` gives COLUMN1..COLUMN4 VARCHAR(1024)) or `'<name> TYPE <type> [NOT NULL]
//! ['<date pattern>'], ...'` (FIXED_COLUMN_LOG_PARSE adds `START <n> [FOR <len>]`, 0-based, in characters). Unquoted
//! names are upper-cased as SQL identifiers are; `"quoted"` ones keep their case.

use std::borrow::Cow;
use std::sync::Arc;

use crate::java_regex::{Captures, JavaRegex};

use crate::cast::{cast, cut_chars, fit};
use crate::datetime_format::DatePattern;
use crate::error::SqlError;
use crate::functions::{EvalContext, Evaluated, ScalarEval, check_arity, stringy};
use crate::types::SqlType;
use crate::value::{Text, Value, text_within};

/// The type of the default output columns.
pub const DEFAULT_COLUMN_TYPE: SqlType = SqlType::Varchar(1024);

/// One output column of a log parser.
#[derive(Debug, Clone)]
pub struct Column {
    /// The field name.
    pub name: String,
    /// Its type.
    pub ty: SqlType,
    /// Whether NULL is an error.
    pub not_null: bool,
    /// The SimpleDateFormat pattern of a DATE/TIME/TIMESTAMP column.
    pub pattern: Option<DatePattern>,
    /// FIXED_COLUMN_LOG_PARSE: first character (0-based).
    pub start: usize,
    /// FIXED_COLUMN_LOG_PARSE: number of characters (to the end when None).
    pub len: Option<usize>,
}

impl Column {
    fn plain(name: String, ty: SqlType) -> Self {
        Column { name, ty, not_null: false, pattern: None, start: 0, len: None }
    }
}

/// `COLUMN1 .. COLUMNn`, VARCHAR(1024).
pub fn default_columns(n: usize) -> Vec<Column> {
    (1..=n).map(|i| Column::plain(format!("COLUMN{i}"), DEFAULT_COLUMN_TYPE)).collect()
}

/// The row type of `columns`.
pub fn row_type(columns: &[Column]) -> SqlType {
    SqlType::Row(columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Text(String),
    Punct(char),
}

fn tokenize(spec: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = spec.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated {c} in column spec '{spec}'")),
                    Some(q) if q == c && chars.peek() == Some(&c) => {
                        chars.next();
                        text.push(c);
                    }
                    Some(q) if q == c => break,
                    Some(other) => text.push(other),
                }
            }
            tokens.push(if c == '"' { Token::Quoted(text) } else { Token::Text(text) });
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let mut word = String::new();
            while let Some(&w) = chars.peek().filter(|w| w.is_alphanumeric() || **w == '_' || **w == '$') {
                word.push(w);
                chars.next();
            }
            tokens.push(Token::Word(word));
        } else {
            tokens.push(Token::Punct(c));
            chars.next();
        }
    }
    Ok(tokens)
}

fn is_keyword(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
}

/// Parses a column spec string; `fixed` enables `START n [FOR len]`.
pub fn parse_columns(spec: &str, fixed: bool) -> Result<Vec<Column>, String> {
    let tokens = tokenize(spec)?;
    // Split at commas outside parentheses.
    let mut items: Vec<&[Token]> = Vec::new();
    let (mut depth, mut begin) = (0i32, 0usize);
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            Token::Punct(',') if depth == 0 => {
                items.push(&tokens[begin..i]);
                begin = i + 1;
            }
            _ => {}
        }
    }
    items.push(&tokens[begin..]);
    let mut columns = Vec::new();
    for item in items {
        let bad = |why: &str| format!("bad column spec '{spec}': {why}");
        let name = match item.first() {
            Some(Token::Word(w)) => w.to_uppercase(),
            Some(Token::Quoted(q)) => q.clone(),
            _ => return Err(bad("a column must start with its name")),
        };
        if !is_keyword(item.get(1), "TYPE") {
            return Err(bad(&format!("expected TYPE after {name}")));
        }
        let mut i = 2;
        let mut type_text = String::new();
        while let Some(t) = item.get(i) {
            let stop = matches!(t, Token::Text(_))
                || is_keyword(Some(t), "NOT")
                || is_keyword(Some(t), "NULL")
                || (fixed && is_keyword(Some(t), "START"));
            if stop {
                break;
            }
            match t {
                Token::Word(w) => {
                    type_text.push(' ');
                    type_text.push_str(w);
                }
                Token::Punct(p) => type_text.push(*p),
                _ => return Err(bad("unexpected text in a type")),
            }
            i += 1;
        }
        let ty: SqlType = type_text.parse().map_err(|e: crate::types::TypeError| bad(&e.to_string()))?;
        let mut column = Column::plain(name, ty);
        while let Some(t) = item.get(i) {
            match t {
                Token::Text(p) => {
                    if !column.ty.is_datetime() {
                        return Err(bad("only DATE, TIME and TIMESTAMP columns take a date pattern"));
                    }
                    column.pattern = Some(DatePattern::compile(p).map_err(|e| bad(&e))?);
                    i += 1;
                }
                _ if is_keyword(Some(t), "NOT") && is_keyword(item.get(i + 1), "NULL") => {
                    column.not_null = true;
                    i += 2;
                }
                _ if is_keyword(Some(t), "NULL") => i += 1,
                _ if fixed && is_keyword(Some(t), "START") => {
                    let number = |t: Option<&Token>| match t {
                        Some(Token::Word(w)) => w.parse::<usize>().ok(),
                        _ => None,
                    };
                    column.start = number(item.get(i + 1)).ok_or_else(|| bad("START takes a number"))?;
                    i += 2;
                    if is_keyword(item.get(i), "FOR") {
                        column.len = Some(number(item.get(i + 1)).ok_or_else(|| bad("FOR takes a number"))?);
                        i += 2;
                    }
                }
                _ => return Err(bad("expected NOT NULL, a date pattern or the next column")),
            }
        }
        if columns.iter().any(|c: &Column| c.name == column.name) {
            return Err(bad(&format!("column {} appears twice", column.name)));
        }
        columns.push(column);
    }
    Ok(columns)
}

/// Columns from a constant count or spec argument.
fn columns_arg(name: &str, literal: Option<&Value>, fixed: bool) -> Result<Vec<Column>, String> {
    match literal {
        Some(Value::Int(n)) if *n > 0 && !fixed => Ok(default_columns(*n as usize)),
        Some(Value::String(spec)) => match spec.trim().parse::<usize>() {
            Ok(n) if n > 0 && !fixed => Ok(default_columns(n)),
            _ => parse_columns(spec, fixed),
        },
        _ => Err(format!("{name}'s columns must be a constant: a count or a column spec string")),
    }
}

/// Converts one field, cut from `line`, to its column. A VARCHAR field is a shared slice of `line` (no copy)
/// when it lies within it.
pub fn convert(line: &Text, field: Option<&str>, column: &Column) -> Result<Value, SqlError> {
    let value = match field {
        None => Value::Null,
        Some(text) if column.ty.is_string() => match column.ty {
            SqlType::Varchar(n) => varchar_field(line, text, n),
            _ => fit(Value::String(text_within(line, text)), &column.ty)?,
        },
        Some(text) if text.trim().is_empty() => Value::Null,
        Some(text) => match &column.pattern {
            Some(p) => {
                let ms = p.parse(text.trim()).ok_or_else(|| {
                    SqlError::data(format!("column {}: '{text}' does not match its date pattern", column.name))
                })?;
                cast(&Value::Timestamp(ms), &SqlType::Timestamp, &column.ty)?
            }
            None => cast(&Value::string(text), &SqlType::Varchar(1), &column.ty)
                .map_err(|e| SqlError::data(format!("column {}: {}", column.name, e.message)))?,
        },
    };
    if column.not_null && value.is_null() {
        return Err(SqlError::data(format!("column {} is NOT NULL but the field is missing", column.name)));
    }
    Ok(value)
}

/// A field of a VARCHAR(n) column: cut to n characters, a shared slice of `line` when it lies within it.
#[inline]
fn varchar_field(line: &Text, text: &str, n: u32) -> Value {
    Value::String(text_within(line, cut_chars(text, n as usize)))
}

/// Fills `slots` with `fields` converted to `columns` (a missing field is NULL); VARCHAR fields, the usual case,
/// without going through [`convert`].
fn fill<'a>(
    slots: &mut [Value],
    line: &Text,
    columns: &[Column],
    mut fields: impl Iterator<Item = Option<&'a str>>,
) -> Result<(), Box<SqlError>> {
    for (slot, column) in slots.iter_mut().zip(columns) {
        let field = fields.next().flatten();
        *slot = match (field, &column.ty) {
            (Some(text), SqlType::Varchar(n)) => varchar_field(line, text, *n),
            _ => convert(line, field, column)?,
        };
    }
    Ok(())
}

/// [`ScalarEval::eval_into`] of a parser of rows of `columns`: `parse` fills the slots from the line, or gives
/// false for a line it does not match (a NULL row, as its `eval` gives). A NULL line is a NULL row too. Declines
/// (writing nothing) a fill not as wide as its rows.
fn fill_from_line(
    columns: &[Column],
    args: &[&Value],
    slots: &mut [Value],
    parse: impl FnOnce(&Text, &mut [Value]) -> Result<bool, Box<SqlError>>,
) -> Option<Result<(), Box<SqlError>>> {
    if slots.len() != columns.len() {
        return None;
    }
    let matched = match args.first() {
        Some(Value::String(line)) => parse(line, slots),
        _ => Ok(false),
    };
    Some(matched.map(|matched| {
        if !matched {
            slots.fill(Value::Null);
        }
    }))
}

/// Row values a parser made on this thread, kept to be filled again: a row value usually lives only while its
/// row goes through a pump, after which the pool's reference is the only one left and the allocation is reused.
const SPARE_ROWS: usize = 4;

thread_local! {
    static ROWS: std::cell::RefCell<Vec<Arc<[Value]>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn make_row<'a>(line: &Text, columns: &[Column], fields: impl Iterator<Item = Option<&'a str>>) -> Evaluated {
    make_row_with(columns.len(), |slots| fill(slots, line, columns, fields))
}

/// A row value of `width` fields that `fill_slots` fills.
fn make_row_with(width: usize, fill_slots: impl FnOnce(&mut [Value]) -> Result<(), Box<SqlError>>) -> Evaluated {
    ROWS.with_borrow_mut(|spare| {
        // A spare row of this width that no one else holds any more, else a new one (which joins the spares).
        for row in spare.iter_mut() {
            if row.len() == width
                && let Some(slots) = Arc::get_mut(row)
            {
                fill_slots(slots)?;
                return Ok(Value::Row(Arc::clone(row)));
            }
        }
        let mut row: Arc<[Value]> = std::iter::repeat_n(Value::Null, width).collect();
        match Arc::get_mut(&mut row) {
            Some(slots) => fill_slots(slots)?,
            None => unreachable!("a row just made is not shared"),
        }
        if spare.len() == SPARE_ROWS {
            spare.remove(0);
        }
        spare.push(Arc::clone(&row));
        Ok(Value::Row(row))
    })
}

fn first_is_string(name: &str, args: &[SqlType]) -> Result<(), String> {
    if stringy(&args[0]) { Ok(()) } else { Err(format!("{name} parses a character string, not {}", args[0])) }
}

fn single_char(name: &str, literals: &[Option<&Value>], i: usize) -> Result<Option<char>, String> {
    match literals.get(i).copied().flatten() {
        None if literals.len() <= i => Ok(None),
        Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() == 1 => Ok(s.chars().next()),
        _ => Err(format!("{name}'s escape and quote characters must be one-character constants")),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// VARIABLE_COLUMN_LOG_PARSE

struct VariableColumn {
    columns: Vec<Column>,
    delimiter: String,
    /// The delimiter when it is one character: split by it without a substring search.
    delimiter_char: Option<char>,
    escape: Option<char>,
    quote: Option<char>,
}

fn variable_column(args: &[SqlType], literals: &[Option<&Value>]) -> Result<VariableColumn, String> {
    const NAME: &str = "VARIABLE_COLUMN_LOG_PARSE";
    check_arity(NAME, args, 2, 5)?;
    first_is_string(NAME, args)?;
    let columns = columns_arg(NAME, literals.get(1).copied().flatten(), false)?;
    let delimiter = match literals.get(2).copied().flatten() {
        None if args.len() < 3 => ",".to_owned(),
        Some(Value::String(d)) if !d.is_empty() => d.to_string(),
        _ => return Err(format!("{NAME}'s delimiter must be a non-empty constant string")),
    };
    let mut chars = delimiter.chars();
    let delimiter_char = chars.next().filter(|_| chars.next().is_none());
    Ok(VariableColumn {
        columns,
        delimiter,
        delimiter_char,
        escape: single_char(NAME, literals, 3)?,
        quote: single_char(NAME, literals, 4)?,
    })
}

/// The row type of a VARIABLE_COLUMN_LOG_PARSE call.
pub fn variable_column_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    Ok(row_type(&variable_column(args, literals)?.columns))
}

/// Prepares a VARIABLE_COLUMN_LOG_PARSE call.
pub fn variable_column_prepare(args: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String> {
    Ok(Box::new(variable_column(args, literals)?))
}

/// `text` split at each `byte` (an ASCII delimiter), as `str::split` does: fields are short, so a plain byte
/// loop beats setting up a searcher.
fn split_ascii(text: &str, byte: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.bytes().position(|b| b == byte) {
            Some(at) => {
                rest = current.get(at + 1..);
                current.get(..at)
            }
            None => rest.take(),
        }
    })
}

impl VariableColumn {
    /// Fills `slots` (one per column) with the fields of `line`.
    fn parse(&self, line: &Text, slots: &mut [Value]) -> Result<(), Box<SqlError>> {
        let special = |c: Option<char>| c.is_some_and(|c| line.contains(c));
        if !special(self.escape) && !special(self.quote) {
            return match self.delimiter_char {
                Some(c) if c.is_ascii() => fill(slots, line, &self.columns, split_ascii(line, c as u8).map(Some)),
                Some(c) => fill(slots, line, &self.columns, line.split(c).map(Some)),
                None => fill(slots, line, &self.columns, line.split(self.delimiter.as_str()).map(Some)),
            };
        }
        let fields = split_fields(line, &self.delimiter, self.escape, self.quote);
        fill(slots, line, &self.columns, fields.iter().map(|f| Some(f.as_ref())))
    }
}

impl ScalarEval for VariableColumn {
    fn eval(&self, args: &[&Value], _: &EvalContext) -> Evaluated {
        let Some(Value::String(line)) = args.first() else { return Ok(Value::Null) };
        make_row_with(self.columns.len(), |slots| self.parse(line, slots))
    }

    fn eval_into(&self, args: &[&Value], _: &EvalContext, slots: &mut [Value]) -> Option<Result<(), Box<SqlError>>> {
        fill_from_line(&self.columns, args, slots, |line, slots| self.parse(line, slots).map(|()| true))
    }
}

/// Splits `line` at `delimiter`; `escape` makes the next character literal; text between `quote`s keeps its
/// delimiters (the quotes are removed, and a doubled quote inside is one quote).
pub fn split_fields<'a>(
    line: &'a str,
    delimiter: &str,
    escape: Option<char>,
    quote: Option<char>,
) -> Vec<Cow<'a, str>> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if !in_quotes && rest.starts_with(delimiter) {
            fields.push(Cow::Owned(std::mem::take(&mut current)));
            rest = &rest[delimiter.len()..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if Some(c) == escape {
            if let Some(next) = rest.chars().next() {
                current.push(next);
                rest = &rest[next.len_utf8()..];
            }
        } else if Some(c) == quote {
            if in_quotes && rest.starts_with(c) {
                current.push(c);
                rest = &rest[c.len_utf8()..];
            } else {
                in_quotes = !in_quotes;
            }
        } else {
            current.push(c);
        }
    }
    fields.push(Cow::Owned(current));
    fields
}

// ---------------------------------------------------------------------------------------------------------------
// FIXED_COLUMN_LOG_PARSE

struct FixedColumn {
    columns: Vec<Column>,
}

fn fixed_column(args: &[SqlType], literals: &[Option<&Value>]) -> Result<FixedColumn, String> {
    const NAME: &str = "FIXED_COLUMN_LOG_PARSE";
    check_arity(NAME, args, 2, 2)?;
    first_is_string(NAME, args)?;
    Ok(FixedColumn { columns: columns_arg(NAME, literals.get(1).copied().flatten(), true)? })
}

/// The row type of a FIXED_COLUMN_LOG_PARSE call.
pub fn fixed_column_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    Ok(row_type(&fixed_column(args, literals)?.columns))
}

/// Prepares a FIXED_COLUMN_LOG_PARSE call.
pub fn fixed_column_prepare(args: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String> {
    Ok(Box::new(fixed_column(args, literals)?))
}

impl FixedColumn {
    /// The fields of `line`: each column's characters from its start, for its length or to the end of the line
    /// (missing when the line ends before its start).
    fn fields<'a>(&'a self, line: &'a str) -> impl Iterator<Item = Option<&'a str>> + 'a {
        let byte_at = |n: usize| line.char_indices().nth(n).map(|(i, _)| i);
        self.columns.iter().map(move |c| {
            let start = byte_at(c.start)?;
            let end = c.len.and_then(|l| byte_at(c.start + l)).unwrap_or(line.len());
            Some(&line[start..end])
        })
    }
}

impl ScalarEval for FixedColumn {
    fn eval(&self, args: &[&Value], _: &EvalContext) -> Evaluated {
        let Some(Value::String(line)) = args.first() else { return Ok(Value::Null) };
        make_row(line, &self.columns, self.fields(line))
    }

    fn eval_into(&self, args: &[&Value], _: &EvalContext, slots: &mut [Value]) -> Option<Result<(), Box<SqlError>>> {
        fill_from_line(&self.columns, args, slots, |line, slots| {
            fill(slots, line, &self.columns, self.fields(line)).map(|()| true)
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// REGEX_LOG_PARSE, FAST_REGEX_LOG_PARSE, SYS_LOG_PARSE

struct RegexParse {
    regex: JavaRegex,
    columns: Vec<Column>,
    /// SYS_LOG_PARSE: groups 1-5 are the timestamp, read with this pattern, 6 the message.
    syslog: Option<DatePattern>,
}

fn regex_parse(name: &str, args: &[SqlType], literals: &[Option<&Value>], fast: bool) -> Result<RegexParse, String> {
    check_arity(name, args, 2, 3)?;
    first_is_string(name, args)?;
    let Some(Value::String(pattern)) = literals.get(1).copied().flatten() else {
        return Err(format!("{name}'s pattern must be a constant string"));
    };
    // FAST_REGEX_LOG_PARSE is lazy and must account for the whole input: swap greediness and anchor.
    let source = if fast { format!("^(?U:{pattern})$") } else { pattern.to_string() };
    let regex = JavaRegex::new(&source).map_err(|e| format!("{name}: {e}"))?;
    let columns = match literals.get(2).copied().flatten() {
        None if args.len() < 3 => default_columns(regex.captures_len() - 1),
        other => columns_arg(name, other, false)?,
    };
    Ok(RegexParse { regex, columns, syslog: None })
}

/// The row type of a REGEX_LOG_PARSE call.
pub fn regex_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    Ok(row_type(&regex_parse("REGEX_LOG_PARSE", args, literals, false)?.columns))
}

/// Prepares a REGEX_LOG_PARSE call.
pub fn regex_prepare(args: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String> {
    Ok(Box::new(regex_parse("REGEX_LOG_PARSE", args, literals, false)?))
}

/// The row type of a FAST_REGEX_LOG_PARSE call.
pub fn fast_regex_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    Ok(row_type(&regex_parse("FAST_REGEX_LOG_PARSE", args, literals, true)?.columns))
}

/// Prepares a FAST_REGEX_LOG_PARSE call.
pub fn fast_regex_prepare(args: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String> {
    Ok(Box::new(regex_parse("FAST_REGEX_LOG_PARSE", args, literals, true)?))
}

fn syslog_parse(args: &[SqlType]) -> Result<RegexParse, String> {
    check_arity("SYS_LOG_PARSE", args, 1, 1)?;
    first_is_string("SYS_LOG_PARSE", args)?;
    let regex = JavaRegex::new(r"^([A-Za-z]{3}) +(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2}) (.*)$")?;
    let columns =
        vec![Column::plain("COLUMN1".into(), SqlType::Timestamp), Column::plain("COLUMN2".into(), DEFAULT_COLUMN_TYPE)];
    let stamp = DatePattern::compile("MMM d H:m:s")?;
    Ok(RegexParse { regex, columns, syslog: Some(stamp) })
}

/// The row type of SYS_LOG_PARSE: COLUMN1 TIMESTAMP, COLUMN2 VARCHAR(1024).
pub fn sys_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    Ok(row_type(&syslog_parse(args)?.columns))
}

/// Prepares a SYS_LOG_PARSE call. Syslog lines carry no year: it defaults to 1970, as SimpleDateFormat's does.
pub fn sys_prepare(args: &[SqlType], _: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String> {
    Ok(Box::new(syslog_parse(args)?))
}

/// The groups of a match, from the first: a group that took no part in it is missing.
fn groups<'a>(caps: &'a Captures<'_>) -> impl Iterator<Item = Option<&'a str>> + 'a {
    (1..caps.len()).map(|i| caps.get(i).map(|m| m.text))
}

/// SYS_LOG_PARSE's fields of a matched line: its timestamp and message, or None when the timestamp is not one.
fn syslog_fields(caps: &Captures<'_>, pattern: &DatePattern) -> Result<Option<[Value; 2]>, Box<SqlError>> {
    let group = |i: usize| caps.get(i).map_or("", |m| m.text);
    let stamp = format!("{} {} {}:{}:{}", group(1), group(2), group(3), group(4), group(5));
    let Some(ms) = pattern.parse(&stamp) else { return Ok(None) };
    let message = fit(Value::string(group(6)), &DEFAULT_COLUMN_TYPE)?;
    Ok(Some([Value::Timestamp(ms), message]))
}

impl ScalarEval for RegexParse {
    fn eval(&self, args: &[&Value], _: &EvalContext) -> Evaluated {
        let Some(Value::String(line)) = args.first() else { return Ok(Value::Null) };
        let Some(caps) = self.regex.captures(line)? else { return Ok(Value::Null) };
        if let Some(pattern) = &self.syslog {
            return Ok(syslog_fields(&caps, pattern)?.map_or(Value::Null, |fields| Value::Row(Arc::from(fields))));
        }
        make_row(line, &self.columns, groups(&caps))
    }

    fn eval_into(&self, args: &[&Value], _: &EvalContext, slots: &mut [Value]) -> Option<Result<(), Box<SqlError>>> {
        fill_from_line(&self.columns, args, slots, |line, slots| {
            let Some(caps) = self.regex.captures(line)? else { return Ok(false) };
            if let Some(pattern) = &self.syslog {
                let Some(fields) = syslog_fields(&caps, pattern)? else { return Ok(false) };
                for (slot, field) in slots.iter_mut().zip(fields) {
                    *slot = field;
                }
                return Ok(true);
            }
            fill(slots, line, &self.columns, groups(&caps)).map(|()| true)
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// W3C_LOG_PARSE

#[derive(Debug, Clone, PartialEq)]
enum W3cPiece {
    Literal(String),
    /// A `%` directive; `bracketed` for `%t`, whose value is `[...]`.
    Field {
        bracketed: bool,
    },
}

/// The predefined formats of W3C_LOG_PARSE as Apache `LogFormat` strings.
pub fn predefined_w3c_format(name: &str) -> Option<&'static str> {
    let normalized = name.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_uppercase();
    Some(match normalized.as_str() {
        "COMMON" => r#"%h %l %u %t "%r" %>s %b"#,
        "COMMON WITH VHOST" => r#"%v %h %l %u %t "%r" %>s %b"#,
        "NCSA EXTENDED" => r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i""#,
        "REFERER" => "%{Referer}i -> %U",
        "AGENT" => "%{User-agent}i",
        // IIS's native (comma-separated) format: client, user, date, time, service, server, server IP, time
        // taken, bytes received, bytes sent, status, Windows status, method, target, parameters.
        "IIS" => "%h, %u, %{date}i, %{time}i, %{service}i, %v, %A, %{time-taken}i, %I, %O, %>s, %{win32}i, %m, %U, %q,",
        _ => return None,
    })
}

fn compile_w3c(format: &str) -> Result<Vec<W3cPiece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            lit.push('%');
            continue;
        }
        // Modifiers: status conditions (!200,304), < or >, and a {name}.
        while let Some(m) = chars.peek().filter(|m| m.is_ascii_digit() || matches!(m, '!' | ',' | '<' | '>')) {
            let _ = m;
            chars.next();
        }
        if chars.peek() == Some(&'{') {
            for m in chars.by_ref() {
                if m == '}' {
                    break;
                }
            }
        }
        let letter = chars.next().ok_or_else(|| format!("W3C format '{format}' ends with a lone %"))?;
        if !letter.is_ascii_alphabetic() {
            return Err(format!("W3C format '{format}' has an unknown directive %{letter}"));
        }
        if !lit.is_empty() {
            pieces.push(W3cPiece::Literal(std::mem::take(&mut lit)));
        }
        pieces.push(W3cPiece::Field { bracketed: letter == 't' });
    }
    if !lit.is_empty() {
        pieces.push(W3cPiece::Literal(lit));
    }
    Ok(pieces)
}

struct W3cParse {
    pieces: Vec<W3cPiece>,
    columns: Vec<Column>,
}

fn w3c_parse(args: &[SqlType], literals: &[Option<&Value>]) -> Result<W3cParse, String> {
    check_arity("W3C_LOG_PARSE", args, 2, 2)?;
    first_is_string("W3C_LOG_PARSE", args)?;
    let Some(Value::String(format)) = literals.get(1).copied().flatten() else {
        return Err("W3C_LOG_PARSE's format must be a constant string".into());
    };
    let format = predefined_w3c_format(format).unwrap_or(format);
    let pieces = compile_w3c(format)?;
    let fields = pieces.iter().filter(|p| matches!(p, W3cPiece::Field { .. })).count();
    if fields == 0 {
        return Err(format!("W3C format '{format}' has no % directive"));
    }
    Ok(W3cParse { pieces, columns: default_columns(fields) })
}

/// The row type of a W3C_LOG_PARSE call: COLUMN1..n VARCHAR(1024), one per directive.
pub fn w3c_type(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String> {
    Ok(row_type(&w3c_parse(args, literals)?.columns))
}

/// Prepares a W3C_LOG_PARSE call.
pub fn w3c_prepare(args: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String> {
    Ok(Box::new(w3c_parse(args, literals)?))
}

impl W3cParse {
    /// The fields of `line`, or None when it does not fit the format.
    fn fields<'a>(&self, line: &'a str) -> Option<Vec<&'a str>> {
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut rest = line;
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                W3cPiece::Literal(lit) => rest = rest.strip_prefix(lit.as_str())?,
                W3cPiece::Field { bracketed } => {
                    let end = if *bracketed && rest.starts_with('[') {
                        rest.find(']')? + 1
                    } else {
                        match self.pieces.get(i + 1) {
                            Some(W3cPiece::Literal(next)) => rest.find(next.as_str())?,
                            _ => rest.len(),
                        }
                    };
                    fields.push(&rest[..end]);
                    rest = &rest[end..];
                }
            }
        }
        Some(fields)
    }
}

impl ScalarEval for W3cParse {
    fn eval(&self, args: &[&Value], _: &EvalContext) -> Evaluated {
        let Some(Value::String(line)) = args.first() else { return Ok(Value::Null) };
        match self.fields(line) {
            Some(fields) => make_row(line, &self.columns, fields.into_iter().map(Some)),
            None => Ok(Value::Null),
        }
    }

    fn eval_into(&self, args: &[&Value], _: &EvalContext, slots: &mut [Value]) -> Option<Result<(), Box<SqlError>>> {
        fill_from_line(&self.columns, args, slots, |line, slots| match self.fields(line) {
            Some(fields) => fill(slots, line, &self.columns, fields.into_iter().map(Some)).map(|()| true),
            None => Ok(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{call, type_of_call};
    use crate::literal::parse_timestamp;

    fn s(text: &str) -> Value {
        Value::string(text)
    }

    #[test]
    fn the_byte_split_splits_as_str_split_does() {
        for text in ["", ",", "82,1,0,2", ",a,,b,", "héllo,wörld", "no delimiter", "a,b,c,d,e,f,g"] {
            let ours: Vec<&str> = split_ascii(text, b',').collect();
            assert_eq!(ours, text.split(',').collect::<Vec<_>>(), "{text}");
        }
    }

    #[test]
    fn row_values_reused_on_a_thread_are_never_changed_under_a_holder() -> Result<(), SqlError> {
        let spec = s("A TYPE VARCHAR(8), B TYPE VARCHAR(8)");
        let first = call("VARIABLE_COLUMN_LOG_PARSE", &[s("a,b"), spec.clone(), s(",")])?;
        // `first` is still held: the next row must not be written into it.
        let second = call("VARIABLE_COLUMN_LOG_PARSE", &[s("c,d"), spec.clone(), s(",")])?;
        assert_eq!(first, Value::Row(Arc::from(vec![s("a"), s("b")])));
        assert_eq!(second, Value::Row(Arc::from(vec![s("c"), s("d")])));
        drop((first, second));
        // Once dropped, a later row reuses an allocation and still reads right.
        let third = call("VARIABLE_COLUMN_LOG_PARSE", &[s("e,f"), spec, s(",")])?;
        assert_eq!(third, Value::Row(Arc::from(vec![s("e"), s("f")])));
        Ok(())
    }

    fn row(values: &[&str]) -> Value {
        Value::Row(values.iter().map(|v| s(v)).collect())
    }

    #[test]
    fn variable_column_reference_example() {
        let spec = s("COL_1 TYPE VARCHAR(16), COL_2 TYPE VARCHAR(16), COL_3 TYPE VARCHAR(16)");
        let args = [s("x,y,z"), spec, s(",")];
        assert_eq!(call("VARIABLE_COLUMN_LOG_PARSE", &args), Ok(row(&["x", "y", "z"])));
        let SqlType::Row(fields) = type_of_call("VARIABLE_COLUMN_LOG_PARSE", &args).expect("type") else { panic!() };
        assert_eq!(fields[0], ("COL_1".to_owned(), SqlType::Varchar(16)));
        assert_eq!(fields.len(), 3);
    }

    #[test]
    fn variable_column_counts_escapes_quotes_types_and_missing_fields() {
        let parse = |args: &[Value]| call("VARIABLE_COLUMN_LOG_PARSE", args);
        assert_eq!(parse(&[s("a\\,b,c"), Value::Int(2), s(","), s("\\")]), Ok(row(&["a,b", "c"])));
        assert_eq!(parse(&[s("\"a|b\"|c"), s("2"), s("|"), s("\\"), s("\"")]), Ok(row(&["a|b", "c"])));
        assert_eq!(parse(&[s("a"), Value::Int(2), s(",")]), Ok(Value::Row(Arc::from(vec![s("a"), Value::Null]))));
        assert_eq!(parse(&[Value::Null, Value::Int(2), s(",")]), Ok(Value::Null));
        let SqlType::Row(fields) =
            type_of_call("VARIABLE_COLUMN_LOG_PARSE", &[s(""), Value::Int(2), s(",")]).expect("t")
        else {
            panic!()
        };
        assert_eq!(fields[1], ("COLUMN2".to_owned(), DEFAULT_COLUMN_TYPE));
        let spec = s(r#"n TYPE INTEGER NOT NULL, "t" TYPE TIMESTAMP 'dd/MMM/yyyy:HH:mm:ss', d TYPE DECIMAL(5, 2)"#);
        let ts = parse_timestamp("2004-05-24 22:01:02").expect("ts");
        assert_eq!(
            parse(&[s("42;24/May/2004:22:01:02;1.5"), spec.clone(), s(";")]),
            Ok(Value::Row(Arc::from(vec![
                Value::Int(42),
                Value::Timestamp(ts),
                Value::Decimal(crate::value::Decimal { unscaled: 150, scale: 2 })
            ])))
        );
        assert!(parse(&[s(";24/May/2004:22:01:02;1"), spec.clone(), s(";")]).is_err(), "NOT NULL");
        assert!(parse(&[s("x;24/May/2004:22:01:02;1"), spec, s(";")]).is_err(), "not a number");
        assert!(type_of_call("VARIABLE_COLUMN_LOG_PARSE", &[s(""), s("a VARCHAR(3)"), s(",")]).is_err());
    }

    #[test]
    fn fixed_column() {
        let spec = s("A TYPE VARCHAR(3) START 0 FOR 3, B TYPE INTEGER START 3 FOR 4, C TYPE VARCHAR(10) START 7");
        assert_eq!(
            call("FIXED_COLUMN_LOG_PARSE", &[s("abc  42rest"), spec]),
            Ok(Value::Row(Arc::from(vec![s("abc"), Value::Int(42), s("rest")])))
        );
    }

    #[test]
    fn regex_log_parse_reference_example() {
        let pattern = s(r"(\w.+) (\d.+) (\w.+) (\w.+)");
        assert_eq!(
            call("REGEX_LOG_PARSE", &[s("Mary 2345 Seattle WA"), pattern.clone()]),
            Ok(row(&["Mary", "2345", "Seattle", "WA"]))
        );
        assert_eq!(call("REGEX_LOG_PARSE", &[s("no digits here"), pattern.clone()]), Ok(Value::Null));
        let SqlType::Row(fields) = type_of_call("REGEX_LOG_PARSE", &[s(""), pattern]).expect("type") else { panic!() };
        assert_eq!(
            fields.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            ["COLUMN1", "COLUMN2", "COLUMN3", "COLUMN4"]
        );
        assert_eq!(
            call("FAST_REGEX_LOG_PARSE", &[s("a=1;b=22"), s(r"(.*)=(.*);(.*)=(.*)")]),
            Ok(row(&["a", "1", "b", "22"]))
        );
        assert_eq!(call("FAST_REGEX_LOG_PARSE", &[s("a=1;b=22 extra"), s(r"(.*)=(\d*);(.*)=(\d*)")]), Ok(Value::Null));
    }

    #[test]
    fn w3c_common_reference_example() {
        let line = r#"192.168.254.30 - John [24/May/2004:22:01:02 -0700] "GET /icons/apache_pb.gif HTTP/1.1" 304 0"#;
        assert_eq!(
            call("W3C_LOG_PARSE", &[s(line), s("COMMON")]),
            Ok(row(&[
                "192.168.254.30",
                "-",
                "John",
                "[24/May/2004:22:01:02 -0700]",
                "GET /icons/apache_pb.gif HTTP/1.1",
                "304",
                "0"
            ]))
        );
        let combined = format!(r#"{line} "http://x/" "Mozilla/5.0 (X11)""#);
        let Ok(Value::Row(fields)) = call("W3C_LOG_PARSE", &[s(&combined), s("NCSA  extended")]) else { panic!() };
        assert_eq!(fields[8], s("Mozilla/5.0 (X11)"));
        assert_eq!(call("W3C_LOG_PARSE", &[s("http://a/ -> /b"), s("REFERER")]), Ok(row(&["http://a/", "/b"])));
        assert_eq!(call("W3C_LOG_PARSE", &[s("garbage"), s("COMMON")]), Ok(Value::Null));
    }

    #[test]
    fn sys_log_parse() {
        let Ok(Value::Row(fields)) = call("SYS_LOG_PARSE", &[s("Oct 11 22:14:15 mymachine su: 'su root' failed")])
        else {
            panic!()
        };
        assert_eq!(fields[0], Value::Timestamp(parse_timestamp("1970-10-11 22:14:15").expect("ts")));
        assert_eq!(fields[1], s("mymachine su: 'su root' failed"));
    }

    #[test]
    fn varchar_fields_take_the_quick_path_with_the_general_results() {
        let line = Text::from("a line longer than twenty-four bytes,é,x");
        let mut not_null = Column::plain("C".into(), SqlType::Varchar(3));
        not_null.not_null = true;
        let columns = [
            Column::plain("A".into(), SqlType::Varchar(3)),
            Column::plain("B".into(), SqlType::Varchar(100)),
            not_null,
            Column::plain("D".into(), SqlType::Char(3)),
            Column::plain("E".into(), SqlType::Integer),
        ];
        for field in [None, Some(""), Some("é"), Some("abcdef"), Some(&line[..30]), Some("12")] {
            for column in &columns {
                let mut slot = [Value::Null];
                let quick =
                    fill(&mut slot, &line, std::slice::from_ref(column), [field].into_iter()).map(|()| slot[0].clone());
                let general = convert(&line, field, column);
                assert_eq!(quick.is_ok(), general.is_ok(), "{field:?} {}", column.ty);
                assert_eq!(quick.map_err(|e| e.message), general.map_err(|e| e.message), "{field:?} {}", column.ty);
            }
        }
        let mut slot = [Value::Null];
        fill(&mut slot, &line, &columns[1..2], [Some(&line[..30])].into_iter()).expect("a field");
        assert!(matches!(&slot[0], Value::String(t) if t.as_ptr() == line.as_ptr()), "a long field shares the line");
    }

    type Prepare = fn(&[SqlType], &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String>;

    /// `eval_into` of the parser `prepare` makes from `rest` (its arguments after the line) fills what its `eval`
    /// gives for each of `lines` (every field NULL for a NULL row) and fails as it does; it declines a narrower fill.
    /// Gives how many lines made a row, a NULL row and a failure.
    fn fills_as_it_evaluates(prepare: Prepare, rest: &[Value], width: usize, lines: &[Option<&str>]) -> [usize; 3] {
        let types: Vec<SqlType> =
            std::iter::once(SqlType::Varchar(128)).chain(rest.iter().map(|_| SqlType::Varchar(256))).collect();
        let literals: Vec<Option<&Value>> = std::iter::once(None).chain(rest.iter().map(Some)).collect();
        let parser = prepare(&types, &literals).expect("prepares");
        let cx = EvalContext::default();
        let mut outcomes = [0; 3];
        for line in lines {
            let line = line.map_or(Value::Null, s);
            let mut slots = vec![Value::Int(7); width];
            assert!(parser.eval_into(&[&line], &cx, &mut slots[1..]).is_none(), "a narrower fill: {line:?}");
            assert!(slots.iter().all(|v| *v == Value::Int(7)), "declined without writing: {line:?}");
            let filled = parser.eval_into(&[&line], &cx, &mut slots).expect("fills its width");
            match parser.eval(&[&line], &cx) {
                Ok(Value::Row(fields)) => {
                    assert_eq!((filled, &slots[..]), (Ok(()), &fields[..]), "{line:?}");
                    outcomes[0] += 1;
                }
                Ok(Value::Null) => {
                    assert_eq!((filled, slots), (Ok(()), vec![Value::Null; width]), "{line:?}");
                    outcomes[1] += 1;
                }
                Ok(other) => panic!("not a row: {other:?}"),
                Err(e) => {
                    assert_eq!(filled.map_err(|f| f.message), Err(e.message), "{line:?}");
                    outcomes[2] += 1;
                }
            }
        }
        outcomes
    }

    const LINES: [Option<&str>; 8] = [
        Some("abc1234 tail of the line, longer than the inline capacity"),
        Some("xy"),
        Some("é€😀é1234567"),
        Some("abcNaN!rest"),
        Some("abc99999999999 too big for an INTEGER"),
        Some(""),
        None,
        Some("Oct 11 22:14:15 mymachine su: 'su root' failed"),
    ];

    #[test]
    fn every_parser_fills_slots_as_its_rows_hold_the_fields() {
        let mut outcomes = std::collections::BTreeMap::new();
        let mut check = |name: &'static str, prepare: Prepare, rest: &[Value], width: usize, lines: &[Option<&str>]| {
            let counts: &mut [usize; 3] = outcomes.entry(name).or_default();
            for (total, n) in counts.iter_mut().zip(fills_as_it_evaluates(prepare, rest, width, lines)) {
                *total += n;
            }
        };
        let fixed = s("A TYPE VARCHAR(2) START 0 FOR 3, B TYPE INTEGER START 3 FOR 4, C TYPE VARCHAR(10) START 8");
        check("fixed", fixed_column_prepare, &[fixed], 3, &LINES);
        let not_null = s("A TYPE VARCHAR(3) NOT NULL START 9 FOR 3, B TYPE VARCHAR(3) START 0");
        check("fixed, NOT NULL", fixed_column_prepare, &[not_null], 2, &LINES);
        let regex = s(r"^(\w{3})([0-9]+)?(.*)$");
        check("regex", regex_prepare, std::slice::from_ref(&regex), 3, &LINES);
        let typed = s("A TYPE VARCHAR(2), B TYPE INTEGER NOT NULL, C TYPE VARCHAR(4)");
        check("regex, typed", regex_prepare, &[regex, typed.clone()], 3, &LINES);
        // Lazy (its greediness swapped) and anchored: the space makes it take every digit.
        check("fast regex, typed", fast_regex_prepare, &[s(r"^(\w{3})([0-9]+) (.*)$"), typed], 3, &LINES);
        check("syslog", sys_prepare, &[], 2, &LINES);
        check("syslog", sys_prepare, &[], 2, &[Some("Feb 30 10:00:00 host a date that is not one")]);
        check("w3c", w3c_prepare, &[s("%h %l %u")], 3, &LINES);
        let w3c = s(r#"%h %l %u %t "%r" %>s %b"#);
        check(
            "w3c",
            w3c_prepare,
            &[w3c],
            7,
            &[Some(r#"1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 23"#)],
        );
        // Each parser is seen to make rows and NULL rows, and the typed ones to fail.
        assert!(outcomes.values().all(|[rows, nulls, _]| *rows > 0 && *nulls > 0), "{outcomes:?}");
        assert_eq!(outcomes.values().filter(|[.., failures]| *failures > 0).count(), 4, "{outcomes:?}");
    }
}
