//! NULL functions: COALESCE (the first non-NULL argument, converted to the arguments' common type) and NULLIF
//! (NULL when its arguments are equal).

use super::{ScalarFunction, check_arity, eval_fn};
use crate::cast::fit;
use crate::ops::{comparable, compare, numeric_common};
use crate::types::SqlType;
use crate::value::Value;

pub(super) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction { name: "COALESCE", return_type: coalesce_type, prepare: coalesce_prepare },
    ScalarFunction { name: "NULLIF", return_type: nullif_type, prepare: nullif_prepare },
];

/// The common type of `types` (COALESCE, CASE): numbers widen, strings take the widest length, NULL fits anything.
pub fn common_type(types: &[SqlType]) -> Result<SqlType, String> {
    let mut result = SqlType::Null;
    for t in types {
        if !comparable(&result, t) {
            return Err(format!("{result} and {t} have no common type"));
        }
        result = match (&result, t) {
            (SqlType::Null, t) => t.clone(),
            (r, SqlType::Null) => r.clone(),
            (a, b) if a.is_numeric() && b.is_numeric() => numeric_common(a, b),
            (SqlType::Char(a), SqlType::Char(b)) => SqlType::Char(*a.max(b)),
            (a, b) if a.is_string() && b.is_string() => {
                let w = |t: &SqlType| if let SqlType::Char(n) | SqlType::Varchar(n) = t { *n } else { 1 };
                SqlType::Varchar(w(a).max(w(b)))
            }
            (a, b) if a.is_string() => b.clone(),
            (SqlType::Date, SqlType::Timestamp) => SqlType::Timestamp,
            (a, _) => a.clone(),
        };
    }
    Ok(result)
}

fn coalesce_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("COALESCE", args, 1, usize::MAX)?;
    common_type(args)
}

fn coalesce_prepare(args: &[SqlType], _: &[Option<&Value>]) -> Result<Box<dyn super::ScalarEval>, String> {
    let result = common_type(args)?;
    let same: Vec<bool> = args.iter().map(|t| *t == result).collect();
    Ok(eval_fn(move |values, _| {
        for (i, v) in values.iter().enumerate() {
            if !v.is_null() {
                return if same.get(i).copied().unwrap_or(false) {
                    Ok((*v).clone())
                } else {
                    fit((*v).clone(), &result)
                };
            }
        }
        Ok(Value::Null)
    }))
}

fn nullif_type(args: &[SqlType], _: &[Option<&Value>]) -> Result<SqlType, String> {
    check_arity("NULLIF", args, 2, 2)?;
    if !comparable(&args[0], &args[1]) {
        return Err(format!("NULLIF cannot compare {} with {}", args[0], args[1]));
    }
    Ok(args[0].clone())
}

fn nullif_prepare(_: &[SqlType], _: &[Option<&Value>]) -> Result<Box<dyn super::ScalarEval>, String> {
    Ok(eval_fn(|values, _| {
        let (a, b) = (values[0], values[1]);
        Ok(if compare(a, b) == Some(std::cmp::Ordering::Equal) { Value::Null } else { a.clone() })
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{call, type_of_call};
    use super::*;

    #[test]
    fn coalesce_and_nullif() {
        assert_eq!(call("COALESCE", &[Value::Null, Value::Int(2), Value::Int(3)]), Ok(Value::Int(2)));
        assert_eq!(call("COALESCE", &[Value::Null, Value::Null]), Ok(Value::Null));
        assert_eq!(call("COALESCE", &[Value::Null, Value::Int(2), Value::Double(0.5)]), Ok(Value::Double(2.0)));
        assert_eq!(type_of_call("COALESCE", &[Value::Int(1), Value::Double(0.5)]), Ok(SqlType::Double));
        assert!(type_of_call("COALESCE", &[Value::Int(1), Value::Boolean(true)]).is_err());
        assert_eq!(call("NULLIF", &[Value::Int(1), Value::Int(1)]), Ok(Value::Null));
        assert_eq!(call("NULLIF", &[Value::Int(1), Value::Int(2)]), Ok(Value::Int(1)));
        assert_eq!(call("NULLIF", &[Value::Int(1), Value::Null]), Ok(Value::Int(1)));
    }
}
