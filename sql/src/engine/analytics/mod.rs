//! Table functions over a cursor: `FROM TABLE(F(CURSOR(SELECT STREAM ...), args...)) [AS alias]` ([SQLREF]
//! top-k, count-distinct-items, sqlrf-random-cut-forest, sqlrf-random-cut-forest-with-explanation,
//! sql-reference-group-rank-udx).
//!
//! ```text
//!   CURSOR(query) ──compile_query──▶ branches (source + stages) ──append──▶ the function's stateful operator
//!   literal arguments ──checked against the reference's ranges──┘        │ its output columns
//!                                                                        ▼
//!   the outer SELECT (WHERE, projections, even GROUP BY) binds over them, qualified by the alias
//! ```
//!
//! Each function is a [`super::stateful::Operator`]: TOP_K_ITEMS_TUMBLING ([`top_k`]) and
//! COUNT_DISTINCT_ITEMS_TUMBLING ([`distinct`]) hold one tumbling window (ROWTIME = its end), RANDOM_CUT_FOREST
//! ([`rcf`]) scores every row as it passes, HOTSPOTS ([`hotspots`]) reports the dense regions of the last rows
//! with every row, GROUP_RANK ([`group_rank`]) ranks the rows of one ROWTIME. The arguments after the cursor are
//! literals, checked at validate with their place in the SQL.

mod distinct;
mod group_rank;
mod hotspots;
mod rcf;
mod top_k;

use std::cell::Cell;

use crate::ast::{Expr, Ident, Literal};
use crate::error::{Span, SqlError};
use crate::operator::UnaryOp;
use crate::types::SqlType;
use crate::value::Value;

use super::plan::{Branch, compile_query, not_supported, type_error};
use super::stateful::{Operator, OperatorStage};
use super::{Program, Stage};

/// The table functions sluice runs.
const TABLE_FUNCTIONS: [&str; 6] = [
    "TOP_K_ITEMS_TUMBLING",
    "COUNT_DISTINCT_ITEMS_TUMBLING",
    "RANDOM_CUT_FOREST",
    "RANDOM_CUT_FOREST_WITH_EXPLANATION",
    "GROUP_RANK",
    "HOTSPOTS",
];

/// A table function called as a scalar one (`SELECT TOP_K_ITEMS_TUMBLING(x)`): the error that says how to call it.
pub(super) fn misused(upper: &str, span: Span) -> Option<SqlError> {
    if upper == "EXP_AVG" {
        return Some(
            not_supported(span, "EXP_AVG outside a sliding window")
                .with_help("EXP_AVG(x, INTERVAL '10' SECOND) OVER (RANGE INTERVAL '30' SECOND PRECEDING)"),
        );
    }
    TABLE_FUNCTIONS.contains(&upper).then(|| {
        type_error(span, format!("{upper} is a table function: call it in FROM"))
            .with_help(format!("FROM TABLE({upper}(CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), ...))"))
    })
}

/// An operator and the columns it outputs.
pub(super) type Built = (Box<dyn Operator>, Vec<(String, SqlType)>);

/// Compiles `TABLE(name(CURSOR(query), args...)) [AS alias]`: the cursor's branches, each ending in the function.
pub(super) fn compile_table<'a>(
    program: &Program,
    name: &'a Ident,
    args: &[Expr],
    alias: Option<&'a Ident>,
    span: Span,
    clock: &Cell<bool>,
) -> Result<Vec<(Branch, Option<&'a Ident>)>, SqlError> {
    let upper = name.name.to_ascii_uppercase();
    if !TABLE_FUNCTIONS.contains(&upper.as_str()) {
        return Err(type_error(name.span, format!("unknown table function {name}"))
            .with_help(format!("the table functions are {}", TABLE_FUNCTIONS.join(", "))));
    }
    let Some(Expr::Cursor { query, .. }) = args.first() else {
        let place = args.first().map_or(span, Expr::span);
        return Err(type_error(place, format!("the first argument of {upper} is CURSOR(SELECT STREAM ...)")));
    };
    let params = Params { function: upper.clone(), args: &args[1..], span };
    let mut branches = compile_query(program, query, clock)?;
    if branches.len() > 1 {
        // One function state per branch would count each branch apart: a window must see all the rows.
        return Err(not_supported(query.span(), &format!("UNION ALL in the cursor of {upper}")));
    }
    for branch in &mut branches {
        let (op, columns) = match upper.as_str() {
            "TOP_K_ITEMS_TUMBLING" => top_k::build(&params, &branch.columns)?,
            "COUNT_DISTINCT_ITEMS_TUMBLING" => distinct::build(&params, &branch.columns)?,
            "RANDOM_CUT_FOREST" => rcf::build(&params, &branch.columns, false)?,
            "RANDOM_CUT_FOREST_WITH_EXPLANATION" => rcf::build(&params, &branch.columns, true)?,
            "HOTSPOTS" => hotspots::build(&params, &branch.columns)?,
            _ => group_rank::build(&params, &branch.columns)?,
        };
        branch.stages.push(Stage::Operator(Box::new(OperatorStage::new(op))));
        branch.intervals = vec![None; columns.len()];
        branch.columns = columns;
    }
    Ok(branches.into_iter().map(|branch| (branch, alias.or(Some(name)))).collect())
}

/// The literal arguments after the cursor, read with the reference's ranges and defaults.
pub(super) struct Params<'a> {
    function: String,
    args: &'a [Expr],
    span: Span,
}

impl Params<'_> {
    /// How many arguments follow the cursor.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Fails unless at most `max` arguments follow the cursor (`min` at least).
    pub fn count(&self, min: usize, max: usize, shape: &str) -> Result<(), SqlError> {
        if (min..=max).contains(&self.args.len()) {
            return Ok(());
        }
        let place = self.args.get(max).map_or(self.span, Expr::span);
        Err(type_error(place, format!("{} takes {shape}", self.function)))
    }

    fn literal(&self, index: usize) -> Option<(Value, Span)> {
        let expr = self.args.get(index)?;
        let value = match expr {
            Expr::Literal { value, .. } => value.to_value(),
            Expr::Unary { op: UnaryOp::Negate, expr: inner, .. } => match &**inner {
                Expr::Literal { value: Literal::Integer(i), .. } => Value::Int(-*i),
                Expr::Literal { value: Literal::Double(x), .. } => Value::Double(-*x),
                _ => return Some((Value::Null, expr.span())),
            },
            _ => return Some((Value::Null, expr.span())),
        };
        Some((value, expr.span()))
    }

    /// Integer argument `index` (after the cursor), `default` when absent, within `range`.
    pub fn int(&self, index: usize, what: &str, default: Option<i64>, range: (i64, i64)) -> Result<i64, SqlError> {
        let (value, place) = match self.literal(index) {
            Some(found) => found,
            None => {
                return default
                    .ok_or_else(|| type_error(self.span, format!("{} needs its {what} argument", self.function)));
            }
        };
        let Value::Int(n) = value else {
            return Err(type_error(place, format!("{}'s {what} is an integer literal", self.function)));
        };
        if n < range.0 || n > range.1 {
            let message = format!("{}'s {what} must be from {} to {}, not {n}", self.function, range.0, range.1);
            return Err(type_error(place, message));
        }
        Ok(n)
    }

    /// Numeric argument `index` (an integer or decimal literal), greater than 0.
    pub fn number(&self, index: usize, what: &str) -> Result<f64, SqlError> {
        let (value, place) = self
            .literal(index)
            .ok_or_else(|| type_error(self.span, format!("{} needs its {what} argument", self.function)))?;
        match crate::ops::to_f64(&value) {
            Some(x) if x > 0.0 && x.is_finite() => Ok(x),
            _ => Err(type_error(place, format!("{}'s {what} is a number greater than 0", self.function))),
        }
    }

    /// String argument `index`.
    pub fn string(&self, index: usize, what: &str) -> Result<(String, Span), SqlError> {
        match self.literal(index) {
            Some((Value::String(s), place)) => Ok((s.to_string(), place)),
            Some((_, place)) => {
                Err(type_error(place, format!("{}'s {what} is a string literal, in single quotes", self.function)))
            }
            None => Err(type_error(self.span, format!("{} needs its {what} argument", self.function))),
        }
    }

    /// Boolean argument `index`, `default` when absent.
    pub fn boolean(&self, index: usize, what: &str, default: bool) -> Result<bool, SqlError> {
        match self.literal(index) {
            Some((Value::Boolean(b), _)) => Ok(b),
            Some((_, place)) => Err(type_error(place, format!("{}'s {what} is TRUE or FALSE", self.function))),
            None => Ok(default),
        }
    }

    /// The cursor's column named by string argument `index` (`'TICKER_SYMBOL'`): its position.
    pub fn column(&self, index: usize, columns: &[(String, SqlType)]) -> Result<usize, SqlError> {
        let (name, place) = self.string(index, "column name")?;
        if let Some(found) = columns.iter().position(|(n, _)| *n == name) {
            return Ok(found);
        }
        let folded: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].0.eq_ignore_ascii_case(&name)).collect();
        if let [only] = folded.as_slice() {
            return Ok(*only);
        }
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        Err(type_error(place, format!("the cursor of {} has no column '{name}'", self.function))
            .with_help(format!("its columns are {}", names.join(", "))))
    }

    /// The function's name, for messages.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The whole call, for messages.
    pub fn span(&self) -> Span {
        self.span
    }
}

/// `EXP_AVG(x, INTERVAL 'n' unit) OVER w` ([SQLREF] sql-reference-exp-avg): x numeric, the half-life a positive
/// day-time interval literal; the result is DOUBLE.
pub(super) fn bind_exp_avg(
    args: &[Expr],
    span: Span,
    input: &super::plan::Scope<'_>,
) -> Result<(super::sliding::WindowFn, SqlType), SqlError> {
    let [x, half_life] = args else {
        return Err(type_error(span, "EXP_AVG takes EXP_AVG(x, INTERVAL 'n' unit)".into()));
    };
    let (arg, ty) = super::plan::bind(x, input)?;
    if !(ty.is_numeric() || ty == SqlType::Null) {
        return Err(type_error(x.span(), format!("EXP_AVG takes a number, not {ty}")));
    }
    let half_life = match half_life {
        Expr::Literal { value: Literal::IntervalDayTime { millis, .. }, .. } if *millis > 0 => *millis,
        other => {
            return Err(type_error(
                other.span(),
                "EXP_AVG's half-life is a positive interval literal, as in INTERVAL '10' SECOND".into(),
            ));
        }
    };
    Ok((super::sliding::WindowFn::ExpAvg { arg, half_life }, SqlType::Double))
}

#[cfg(test)]
mod tests {
    //! What validation refuses in table function calls, each at its place, and a TOP_K run through a subquery's
    //! alias and an outer WHERE.

    use super::super::{Emit, Program, Row, StreamDef};
    use crate::error::SqlErrorKind;
    use crate::types::SqlType;
    use crate::value::Value;

    fn input() -> StreamDef {
        StreamDef { name: "S".into(), columns: vec![("k".into(), SqlType::Varchar(8)), ("v".into(), SqlType::Double)] }
    }

    #[test]
    fn mistakes_are_placed_and_explained() {
        let cursor = r#"CURSOR(SELECT STREAM * FROM "S")"#;
        let text_cursor = r#"CURSOR(SELECT STREAM "k" FROM "S")"#;
        let cases = [
            (format!("TABLE(TOP_K_ITEMS_TUMBLING({cursor}, 'k', 0, 60))"), SqlErrorKind::Type, "K must be from 1 to 100000, not 0", "0, 60"),
            (format!("TABLE(TOP_K_ITEMS_TUMBLING({cursor}, 'k', 5, 3601))"), SqlErrorKind::Type, "window size in seconds must be from 1 to 3600", "3601"),
            (format!("TABLE(TOP_K_ITEMS_TUMBLING({cursor}, 'x', 5, 60))"), SqlErrorKind::Type, "has no column 'x'", "'x'"),
            (format!("TABLE(TOP_K_ITEMS_TUMBLING({cursor}, k, 5, 60))"), SqlErrorKind::Type, "is a string literal", "k, 5"),
            (format!("TABLE(TOP_K_ITEMS_TUMBLING({cursor}, 'k', 5))"), SqlErrorKind::Type, "takes a cursor, a column name, K and a window size", "TABLE("),
            ("TABLE(TOP_K_ITEMS_TUMBLING(\"S\", 'k', 5, 60))".to_owned(), SqlErrorKind::Type, "first argument of TOP_K_ITEMS_TUMBLING is CURSOR", "\"S\""),
            (format!("TABLE(COUNT_DISTINCT_ITEMS_TUMBLING({cursor}, 'k', 60, 1))"), SqlErrorKind::Type, "takes a cursor, a column name and a window size", "1))"),
            (format!("TABLE(RANDOM_CUT_FOREST({cursor}, 100, 256, 200, 1))"), SqlErrorKind::Type, "subSampleSize (256) must be smaller than timeDecay (200)", "TABLE("),
            (format!("TABLE(RANDOM_CUT_FOREST({cursor}, 100, 256, 100000, 31))"), SqlErrorKind::Type, "shingleSize must be from 1 to 30", "31"),
            (format!("TABLE(RANDOM_CUT_FOREST({text_cursor}))"), SqlErrorKind::Type, "needs a numeric column", "TABLE("),
            (format!("TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION({cursor}, 100, 256, 100000, 1, 'yes'))"), SqlErrorKind::Type, "withDirectionality is TRUE or FALSE", "'yes'"),
            (format!("TABLE(GROUP_RANK({cursor}, 'v', 'r', 'up', 'asc', 0, 0))"), SqlErrorKind::Type, "sortOrder is 'asc' or 'desc', not 'up'", "'up'"),
            (format!("TABLE(HOTSPOTS({cursor}, 10, 0.1, 2))"), SqlErrorKind::Type, "windowSize must be from 100 to 1000", "10,"),
            (format!("TABLE(HOTSPOTS({cursor}, 100, 0, 2))"), SqlErrorKind::Type, "scanRadius is a number greater than 0", "0, 2"),
            (format!("TABLE(NO_SUCH({cursor}))"), SqlErrorKind::Type, "unknown table function NO_SUCH", "NO_SUCH"),
            (
                r#"TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM "S" UNION ALL SELECT STREAM * FROM "S"), 'k', 5, 60))"#.to_owned(),
                SqlErrorKind::NotSupported,
                "not supported yet: UNION ALL in the cursor",
                "SELECT STREAM * FROM \"S\" UNION",
            ),
        ];
        for (from, kind, message, at) in cases {
            let sql = format!(
                r#"CREATE STREAM "OUT" (a VARCHAR(8), b DOUBLE); CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM * FROM {from};"#
            );
            let e = Program::compile(&sql, input()).expect_err(&from).remove(0);
            assert_eq!(e.kind, kind, "{from}: {e:?}");
            assert!(e.message.contains(message), "{from}: {}", e.message);
            let span = e.span.expect("placed");
            assert!(sql[span.start..].starts_with(at), "{from}: at {:?}", &sql[span.start..]);
        }
        let scalar = [
            ("TOP_K_ITEMS_TUMBLING(\"k\")", "is a table function: call it in FROM"),
            ("EXP_AVG(\"v\", INTERVAL '1' SECOND)", "not supported yet: EXP_AVG outside a sliding window"),
        ];
        for (item, message) in scalar {
            let sql = format!(
                r#"CREATE STREAM "OUT" (a DOUBLE); CREATE PUMP p AS INSERT INTO "OUT" SELECT STREAM {item} FROM "S";"#
            );
            let e = Program::compile(&sql, input()).expect_err(item).remove(0);
            assert!(e.message.contains(message), "{item}: {}", e.message);
        }
    }

    #[test]
    fn an_outer_query_filters_and_renames_a_table_functions_rows() {
        let sql = r#"CREATE STREAM "OUT" (item VARCHAR(8), n BIGINT);
            CREATE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t."k", t.ITEM_COUNT FROM TABLE(TOP_K_ITEMS_TUMBLING(
                CURSOR(SELECT STREAM "k" FROM "S" WHERE "v" > 0), 'k', 10, 10)) AS t
            WHERE t.ITEM_COUNT > 1;"#;
        let program = Program::compile(sql, input()).unwrap_or_else(|e| panic!("{e:?}"));
        let out = program.stream("OUT").expect("OUT");
        let mut rows = Vec::new();
        let mut runner = program.runner_at(0);
        let mut emit = |e: Emit<'_>| {
            if let Emit::Row(id, row) = e
                && id == out
            {
                rows.push((row.rowtime, row.values.clone()));
            }
        };
        for (at, k, v) in
            [(1_000, "a", 1.0), (2_000, "b", 1.0), (3_000, "a", 1.0), (4_000, "b", -1.0), (12_000, "b", 1.0)]
        {
            runner.push(Row { rowtime: at, values: vec![Value::string(k), Value::Double(v)] }, &mut emit);
        }
        runner.finish(&mut emit);
        assert_eq!(rows, [(10_000, vec![Value::string("a"), Value::Int(2)])]);
    }
}
