//! The scalar function library: every scalar function of KDA's SQL reference, looked up by name.
//!
//! Design: a function is a [`ScalarFunction`]: its name, a `return_type` check run by the planner on the argument
//! types, and a `prepare` step that compiles the call once into a [`ScalarEval`]. `prepare` sees which arguments are
//! constants, so date patterns (TIMESTAMP_TO_CHAR), regular expressions (REGEX_REPLACE, the log parsers) and column
//! specs are compiled once per query rather than once per row. Unless a function says otherwise, a NULL argument
//! gives NULL.
//!
//! The parser turns special syntax into plain calls with units as string literals: `FLOOR(x TO MINUTE)` is
//! `FLOOR_TO(x, 'MINUTE')`, `CEIL(x TO u)` is `CEIL_TO(x, 'u')`, `STEP(x BY y)` is `STEP(x, y)`,
//! `EXTRACT(u FROM x)` is `EXTRACT('u', x)`, `POSITION(a IN b)` is `POSITION(a, b)`, `SUBSTRING(s FROM a FOR b)` is
//! `SUBSTRING(s, a, b)`, `OVERLAY(s PLACING r FROM a FOR b)` is `OVERLAY(s, r, a, b)` and
//! `TRIM(BOTH c FROM s)` is `TRIM('BOTH', c, s)`.
//!
//! Modules: [`string`], [`null`], [`numeric`], [`datetime`] (date/time and conversion functions), and the log
//! parsers, whose row-making code is in [`crate::logparse`].

pub mod datetime;
pub mod null;
pub mod numeric;
pub mod string;

use crate::error::SqlError;
use crate::types::SqlType;
use crate::value::Value;

/// A function's type check: the result type from the argument types and constant arguments, or a message.
pub type ReturnTypeFn = fn(args: &[SqlType], literals: &[Option<&Value>]) -> Result<SqlType, String>;

/// A function's compile step: an evaluator for the call, or a message.
pub type PrepareFn = fn(args: &[SqlType], literals: &[Option<&Value>]) -> Result<Box<dyn ScalarEval>, String>;

/// A scalar function of the library.
pub struct ScalarFunction {
    /// Upper-case name, as looked up.
    pub name: &'static str,
    /// Result type from the argument types; `literals[i]` is Some when argument i is a constant (the log parsers'
    /// column specs, TIMESTAMP_TO_CHAR's pattern). Err = a message for a type error at the call.
    pub return_type: ReturnTypeFn,
    /// Compiles the call once (e.g. precompiles a date pattern or a regex from constant args) into an evaluator.
    pub prepare: PrepareFn,
}

impl std::fmt::Debug for ScalarFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScalarFunction").field("name", &self.name).finish_non_exhaustive()
    }
}

/// What a call gives: the error is boxed so that the result is no larger than a value (calls nest, and each
/// level moves its result), and errors are rare.
pub type Evaluated = Result<Value, Box<SqlError>>;

/// A prepared call: evaluates the function on one row's argument values.
pub trait ScalarEval: Send + Sync {
    /// The result for `args` (one value per argument, constants included). Arguments are borrowed: a column or
    /// a constant is passed where it lies, without a copy.
    fn eval(&self, args: &[&Value], cx: &EvalContext) -> Evaluated;

    /// How to take the result from an argument's text without copying it, when the function's result always
    /// lies within one argument's text (SUBSTRING by position, TRIM); None for other functions.
    fn text_part(&self) -> Option<&dyn TextPart> {
        None
    }

    /// For a function returning a row value (a log parser): writes the row's fields for `args` straight into
    /// `slots`, one per field, as the row that [`eval`](Self::eval) gives holds them (all NULL for a NULL row),
    /// without making the row. None, having written nothing, when the function cannot (the default) or `slots`
    /// is not as wide as its rows.
    fn eval_into(&self, args: &[&Value], cx: &EvalContext, slots: &mut [Value]) -> Option<Result<(), Box<SqlError>>> {
        let _ = (args, cx, slots);
        None
    }
}

/// A function whose result, unless NULL, is a part of the text of one of its arguments (its source): a caller
/// that only reads the result (CAST from text, IS NULL, LIKE) borrows the part instead of copying it into a new
/// value that it would drop right after.
pub trait TextPart: Send + Sync {
    /// The argument whose text the result is a part of.
    fn source(&self) -> usize;

    /// The result for `args`, when the source argument's text is `text` (its own place in `args` is not read):
    /// None for NULL. Called only when no argument is NULL.
    fn part<'t>(&self, text: &'t str, args: &[&Value]) -> Result<Option<&'t str>, Box<SqlError>>;
}

/// The evaluator of a [`TextPart`] function: NULL when an argument is NULL (or the source is not text), else the
/// part as a value of its own (sharing the source's bytes when long, see [`crate::value::text_within`]).
pub struct PartEval<P>(pub P);

impl<P: TextPart> ScalarEval for PartEval<P> {
    fn eval(&self, args: &[&Value], _: &EvalContext) -> Evaluated {
        if args.iter().any(|a| a.is_null()) {
            return Ok(Value::Null);
        }
        let Some(Value::String(text)) = args.get(self.0.source()).copied() else { return Ok(Value::Null) };
        Ok(match self.0.part(text, args)? {
            Some(part) => Value::String(crate::value::text_within(text, part)),
            None => Value::Null,
        })
    }

    fn text_part(&self) -> Option<&dyn TextPart> {
        Some(&self.0)
    }
}

/// The clocks a row is evaluated against, all in milliseconds since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EvalContext {
    /// The current row's ROWTIME.
    pub row_time_ms: i64,
    /// When the query (pump) started: CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME, LOCALTIME and LOCALTIMESTAMP
    /// are fixed at this instant for the life of the query.
    pub query_start_ms: i64,
    /// The clock when the row is evaluated (the wall clock when running, the record's `at` in a pipeline test):
    /// CURRENT_ROW_TIMESTAMP, new for every row.
    pub now_ms: i64,
}

/// An evaluator made from a closure.
pub struct FnEval<F>(pub F);

impl<F> ScalarEval for FnEval<F>
where
    F: Fn(&[&Value], &EvalContext) -> Result<Value, SqlError> + Send + Sync,
{
    fn eval(&self, args: &[&Value], cx: &EvalContext) -> Evaluated {
        (self.0)(args, cx).map_err(Box::new)
    }
}

/// Boxes a closure as an evaluator.
pub fn eval_fn<F>(f: F) -> Box<dyn ScalarEval>
where
    F: Fn(&[&Value], &EvalContext) -> Result<Value, SqlError> + Send + Sync + 'static,
{
    Box::new(FnEval(f))
}

/// Boxes a closure as an evaluator that returns NULL when any argument is NULL.
pub fn strict<F>(f: F) -> Box<dyn ScalarEval>
where
    F: Fn(&[&Value]) -> Result<Value, SqlError> + Send + Sync + 'static,
{
    Box::new(FnEval(
        move |args: &[&Value], _: &EvalContext| {
            if args.iter().any(|a| a.is_null()) { Ok(Value::Null) } else { f(args) }
        },
    ))
}

/// Checks the argument count.
pub fn check_arity(name: &str, args: &[SqlType], min: usize, max: usize) -> Result<(), String> {
    if (min..=max).contains(&args.len()) {
        return Ok(());
    }
    let expected = if min == max { format!("{min}") } else { format!("{min} to {max}") };
    Err(format!("{name} takes {expected} argument{}, not {}", if max == 1 { "" } else { "s" }, args.len()))
}

/// Whether `t` is a string type or the NULL type.
pub fn stringy(t: &SqlType) -> bool {
    t.is_string() || *t == SqlType::Null
}

/// Whether `t` is a numeric type or the NULL type.
pub fn numeric(t: &SqlType) -> bool {
    t.is_numeric() || *t == SqlType::Null
}

/// The constant string argument `i`, if it is one.
pub fn literal_str<'a>(literals: &[Option<&'a Value>], i: usize) -> Option<&'a str> {
    match literals.get(i).copied().flatten() {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// A string argument value (`None` for NULL or a non-string).
pub fn arg_str<'a>(args: &[&'a Value], i: usize) -> Option<&'a str> {
    match args.get(i).copied() {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// An integer argument value (`None` for NULL; DOUBLE and DECIMAL are truncated).
pub fn arg_int(args: &[&Value], i: usize) -> Option<i64> {
    match *args.get(i)? {
        Value::Int(n) => Some(*n),
        Value::Double(d) => Some(*d as i64),
        Value::Decimal(d) => crate::ops::rescale(*d, 0).and_then(|d| i64::try_from(d.unscaled).ok()),
        _ => None,
    }
}

/// The log-parser functions ([`crate::logparse`]).
const LOG_PARSERS: &[ScalarFunction] = &[
    ScalarFunction {
        name: "VARIABLE_COLUMN_LOG_PARSE",
        return_type: crate::logparse::variable_column_type,
        prepare: crate::logparse::variable_column_prepare,
    },
    ScalarFunction {
        name: "FIXED_COLUMN_LOG_PARSE",
        return_type: crate::logparse::fixed_column_type,
        prepare: crate::logparse::fixed_column_prepare,
    },
    ScalarFunction {
        name: "REGEX_LOG_PARSE",
        return_type: crate::logparse::regex_type,
        prepare: crate::logparse::regex_prepare,
    },
    ScalarFunction {
        name: "FAST_REGEX_LOG_PARSE",
        return_type: crate::logparse::fast_regex_type,
        prepare: crate::logparse::fast_regex_prepare,
    },
    // The reference's index spells it with a trailing R; accept both.
    ScalarFunction {
        name: "FAST_REGEX_LOG_PARSER",
        return_type: crate::logparse::fast_regex_type,
        prepare: crate::logparse::fast_regex_prepare,
    },
    ScalarFunction {
        name: "SYS_LOG_PARSE",
        return_type: crate::logparse::sys_type,
        prepare: crate::logparse::sys_prepare,
    },
    ScalarFunction {
        name: "W3C_LOG_PARSE",
        return_type: crate::logparse::w3c_type,
        prepare: crate::logparse::w3c_prepare,
    },
];

const GROUPS: &[&[ScalarFunction]] =
    &[string::FUNCTIONS, null::FUNCTIONS, numeric::FUNCTIONS, datetime::FUNCTIONS, LOG_PARSERS];

/// The function named `name` (already upper-cased).
pub fn lookup(name: &str) -> Option<&'static ScalarFunction> {
    GROUPS.iter().flat_map(|g| g.iter()).find(|f| f.name == name)
}

/// Every function name, for "did you mean" hints.
pub fn names() -> impl Iterator<Item = &'static str> {
    GROUPS.iter().flat_map(|g| g.iter()).map(|f| f.name)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Types of values, as the planner would infer them for literals.
    pub fn types(args: &[Value]) -> Vec<SqlType> {
        args.iter().map(crate::cast::type_of).collect()
    }

    /// Calls `name` with every argument a constant.
    pub fn call(name: &str, args: &[Value]) -> Result<Value, SqlError> {
        call_cx(name, args, &EvalContext::default())
    }

    /// Calls `name` with every argument a constant, in `cx`.
    pub fn call_cx(name: &str, args: &[Value], cx: &EvalContext) -> Result<Value, SqlError> {
        let f = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
        let types = types(args);
        let literals: Vec<Option<&Value>> = args.iter().map(Some).collect();
        (f.return_type)(&types, &literals).map_err(SqlError::data)?;
        let eval = (f.prepare)(&types, &literals).map_err(SqlError::data)?;
        eval.eval(&args.iter().collect::<Vec<_>>(), cx).map_err(|e| *e)
    }

    /// The result type of `name` on constant arguments.
    pub fn type_of_call(name: &str, args: &[Value]) -> Result<SqlType, String> {
        let f = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
        let literals: Vec<Option<&Value>> = args.iter().map(Some).collect();
        (f.return_type)(&types(args), &literals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_of_the_reference_is_registered() {
        let expected = [
            "CHAR_LENGTH",
            "CHARACTER_LENGTH",
            "INITCAP",
            "LOWER",
            "UPPER",
            "OVERLAY",
            "POSITION",
            "REGEX_REPLACE",
            "SUBSTRING",
            "TRIM",
            "COALESCE",
            "NULLIF",
            "ABS",
            "CEIL",
            "CEILING",
            "EXP",
            "FLOOR",
            "LN",
            "LOG10",
            "MOD",
            "POWER",
            "STEP",
            "FLOOR_TO",
            "CEIL_TO",
            "CURRENT_DATE",
            "CURRENT_ROW_TIMESTAMP",
            "CURRENT_TIME",
            "CURRENT_TIMESTAMP",
            "EXTRACT",
            "LOCALTIME",
            "LOCALTIMESTAMP",
            "TSDIFF",
            "CHAR_TO_DATE",
            "CHAR_TO_TIME",
            "CHAR_TO_TIMESTAMP",
            "DATE_TO_CHAR",
            "TIME_TO_CHAR",
            "TIMESTAMP_TO_CHAR",
            "TO_TIMESTAMP",
            "UNIX_TIMESTAMP",
            "VARIABLE_COLUMN_LOG_PARSE",
            "FIXED_COLUMN_LOG_PARSE",
            "REGEX_LOG_PARSE",
            "FAST_REGEX_LOG_PARSE",
            "SYS_LOG_PARSE",
            "W3C_LOG_PARSE",
        ];
        for name in expected {
            assert!(lookup(name).is_some(), "{name}");
        }
        let mut all: Vec<&str> = names().collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "duplicate names");
        assert!(lookup("NO_SUCH").is_none());
    }
}
