//! A subquery's projection merged into the stage that reads it: one stage instead of two.
//!
//! `SELECT .. t.r."COL_1", t.r."COL_2" FROM (SELECT STREAM a, LOG_PARSE(line, ..) AS r FROM s) AS t` runs, unfused,
//! as two map stages: the inner one makes a row of its values (the parsed line as a row value), the outer one copies
//! the fields out of it. When the inner stage only projects (no `AS ROWTIME`) and the outer one only projects (no
//! WHERE, no `AS ROWTIME`), they merge: the outer expressions read the inner plain columns and constants directly,
//! and each computed inner value (a *spread*) is evaluated once, first, its fields written into the outer
//! projections that read them; a log parser writes them there itself, without making a row value
//! ([`crate::functions::ScalarEval::eval_into`]).
//!
//! Nothing observable changes: the inner filter still runs first, the spreads are the inner stage's computed values
//! in the inner order (so the first failure is the same), then the outer projections in their order.

use super::eval::{Bound, RowRef};
use super::{MapStage, Stage};
use crate::error::SqlError;
use crate::functions::EvalContext;
use crate::value::Value;

/// A computed value of a merged subquery, read only by fields: evaluated once, its fields written into the
/// projections that read them.
#[derive(Debug)]
pub(super) struct Spread {
    value: Bound,
    /// `(field, projection)`: the projection that is this field of the value.
    fields: Vec<(usize, usize)>,
    /// `(first, width)` when the projections from `first` are every field of the value, in order: the value's
    /// function may write them there itself.
    direct: Option<(usize, usize)>,
}

impl Spread {
    /// Writes the fields into their projections' slots of `next`.
    fn fill(&self, row: &RowRef<'_>, cx: &EvalContext, next: &mut [Value]) -> Result<(), SqlError> {
        if let Some((first, width)) = self.direct
            && self.value.eval_into(row, cx, &mut next[first..first + width])?
        {
            return Ok(());
        }
        let value = self.value.eval(row, cx)?;
        for &(field, projection) in &self.fields {
            next[projection] = match &value {
                Value::Row(fields) => fields.get(field).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            };
        }
        Ok(())
    }
}

/// Evaluates a merged stage's projections into `next` (empty): the spreads first, then the other projections.
pub(super) fn evaluate(
    stage: &MapStage,
    row: &RowRef<'_>,
    cx: &EvalContext,
    next: &mut Vec<Value>,
) -> Result<(), SqlError> {
    // NULLs made in place: `resize` would clone one per slot.
    next.extend(stage.projections.iter().map(|_| Value::Null));
    for spread in &stage.spreads {
        spread.fill(row, cx, next)?;
    }
    for &computed in &stage.computed {
        next[computed] = stage.projections[computed].eval(row, cx)?;
    }
    Ok(())
}

/// Merges the last two stages of `stages` when both are map stages that may merge (see the module's doc).
pub(super) fn fuse_last_two(stages: &mut Vec<Stage>) {
    let [.., Stage::Map(inner), Stage::Map(outer)] = &stages[..] else { return };
    let Some(plan) = plan(inner, outer) else { return };
    let (Some(Stage::Map(outer)), Some(Stage::Map(inner))) = (stages.pop(), stages.pop()) else {
        unreachable!("checked above")
    };
    stages.push(Stage::Map(merge(inner, outer, plan)));
}

/// Where each outer projection comes from: `Some((inner column, field))` for a field of a computed inner value.
type Plan = Vec<Option<(usize, usize)>>;

/// Whether `inner` is a plain column or a constant: the outer stage may read it in its place.
fn plain(inner: &Bound) -> bool {
    matches!(inner, Bound::Column(_) | Bound::Literal(_))
}

/// The plan of merging `outer` into `inner`, or None when they may not merge: an `AS ROWTIME`, an outer WHERE,
/// a stage merged already, or a computed inner value the outer stage reads other than as a field of it.
fn plan(inner: &MapStage, outer: &MapStage) -> Option<Plan> {
    let simple = |stage: &MapStage| stage.rowtime.is_none() && stage.spreads.is_empty();
    if !simple(inner) || !simple(outer) || outer.filter.is_some() {
        return None;
    }
    let mut plan = Vec::with_capacity(outer.projections.len());
    for projection in &outer.projections {
        plan.push(match spread_field(projection, &inner.projections) {
            Some(source) => Some(source),
            None if reads_only_plain(projection, &inner.projections) => None,
            None => return None,
        });
    }
    Some(plan)
}

/// `(inner column, field)` when `projection` is a field of a computed inner value.
fn spread_field(projection: &Bound, inner: &[Bound]) -> Option<(usize, usize)> {
    match projection {
        Bound::Field(value, field) => match **value {
            Bound::Column(column) if inner.get(column).is_some_and(|p| !plain(p)) => Some((column, *field)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether every column `bound` reads is a plain inner projection.
fn reads_only_plain(bound: &Bound, inner: &[Bound]) -> bool {
    if let Bound::Column(column) = bound {
        return inner.get(*column).is_some_and(plain);
    }
    let mut only_plain = true;
    bound.for_each_child(&mut |child| only_plain &= reads_only_plain(child, inner));
    only_plain
}

/// Puts the plain inner projections in place of the columns that read them.
fn substitute(bound: &mut Bound, inner: &[Bound]) {
    if let Bound::Column(column) = bound {
        *bound = match &inner[*column] {
            Bound::Column(source) => Bound::Column(*source),
            Bound::Literal(value) => Bound::Literal(value.clone()),
            _ => unreachable!("checked by reads_only_plain"),
        };
        return;
    }
    bound.for_each_child_mut(&mut |child| substitute(child, inner));
}

/// The merged stage.
fn merge(inner: MapStage, outer: MapStage, plan: Plan) -> MapStage {
    let inner_width = inner.projections.len();
    let mut spread = vec![false; outer.projections.len()];
    let mut fields: Vec<Vec<(usize, usize)>> = vec![Vec::new(); inner_width];
    for (projection, source) in plan.iter().enumerate() {
        if let Some((column, field)) = *source {
            fields[column].push((field, projection));
            spread[projection] = true;
        }
    }
    let mut projections = outer.projections;
    for (projection, is_spread) in projections.iter_mut().zip(&spread) {
        if *is_spread {
            *projection = Bound::Literal(Value::Null); // Filled by its spread.
        } else {
            substitute(projection, &inner.projections);
        }
    }
    let spreads = inner
        .projections
        .into_iter()
        .zip(fields)
        .filter(|(value, _)| !plain(value))
        .map(|(value, fields)| Spread { direct: direct(&fields), value, fields })
        .collect();
    let computed = (0..projections.len()).filter(|&projection| !spread[projection]).collect();
    MapStage { filter: inner.filter, projections, rowtime: None, spreads, computed }
}

/// `(first, width)` when `fields` are `(0, first), (1, first + 1), ..` in order: every field of a row, if the row
/// is that wide (its function checks).
fn direct(fields: &[(usize, usize)]) -> Option<(usize, usize)> {
    let &(_, first) = fields.first()?;
    fields
        .iter()
        .enumerate()
        .all(|(i, &(field, projection))| field == i && projection == first + i)
        .then_some((first, fields.len()))
}

#[cfg(test)]
mod tests {
    use super::super::*;

    fn input() -> StreamDef {
        StreamDef {
            name: "SOURCE_SQL_STREAM_001".into(),
            columns: vec![("LINE".into(), SqlType::Varchar(64)), ("N".into(), SqlType::BigInt)],
        }
    }

    /// The one pump's stages: how many, and how many spreads the last one has.
    fn shape(program: &Program) -> (usize, usize) {
        let stages = &program.pumps[0].stages;
        let spreads = match stages.last() {
            Some(Stage::Map(map)) => map.spreads.len(),
            _ => 0,
        };
        (stages.len(), spreads)
    }

    /// Every emit of pushing `rows`, as text.
    fn emitted(program: &Program, rows: &[Vec<Value>]) -> Vec<String> {
        let mut runner = program.runner_at(0);
        let mut emitted = Vec::new();
        for (i, values) in rows.iter().enumerate() {
            runner.push(Row { rowtime: i as i64, values: values.clone() }, &mut |emit| {
                emitted.push(match emit {
                    Emit::Row(id, row) => format!("{id:?} {row:?}"),
                    Emit::Failure(failure) => format!("{failure:?}"),
                })
            });
        }
        emitted
    }

    fn line(text: Option<&str>, n: i64) -> Vec<Value> {
        vec![text.map_or(Value::Null, Value::string), Value::Int(n)]
    }

    /// Lines for the parsers: short, long, missing and extra fields, quotes and escapes, bad numbers, NULL.
    fn lines() -> Vec<Vec<Value>> {
        vec![
            line(Some("1,2,3,4"), 1),
            line(Some("abcdefghijklmnopqrstuvwxyz,é,,x"), 2),
            line(Some("1,2"), 3),
            line(Some("1,2,3,4,5,6"), 4),
            line(Some("\"a,b\",c\\,d,e,f"), 5),
            line(Some("x,notanumber,3,4"), 6),
            line(Some(""), 7),
            line(None, 8),
            line(Some("9,8,7,6"), 0),
        ]
    }

    /// Compiles `sql` with its outer `{where}` empty (the stages merge, into `merged` stages) and with a WHERE
    /// that keeps every row (they do not): both emit the same for every line.
    fn same_as_unmerged(sql: &str, merged: (usize, usize)) -> Vec<String> {
        same_as_unmerged_over(sql, merged, &lines())
    }

    /// [`same_as_unmerged`] over `rows`.
    fn same_as_unmerged_over(sql: &str, merged: (usize, usize), rows: &[Vec<Value>]) -> Vec<String> {
        let fused = Program::compile(&sql.replace("{where}", ""), input()).expect("compiles");
        let unfused = Program::compile(&sql.replace("{where}", "WHERE 1 = 1"), input()).expect("compiles");
        assert_eq!(shape(&fused), merged, "merged");
        assert_eq!(shape(&unfused).0, 2, "not merged");
        let got = emitted(&fused, rows);
        assert_eq!(got, emitted(&unfused, rows));
        got
    }

    fn count(emitted: &[String], text: &str) -> usize {
        emitted.iter().filter(|e| e.contains(text)).count()
    }

    #[test]
    fn a_parsed_line_read_field_by_field_merges_and_gives_the_same_rows() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (n BIGINT, a VARCHAR(4), b VARCHAR(16), c VARCHAR(16), d VARCHAR(16));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.n * 10, t.r."A", t.r."B", t.r."C", t.r."D"
            FROM (SELECT STREAM n, VARIABLE_COLUMN_LOG_PARSE(line, 'A TYPE VARCHAR(4), B TYPE VARCHAR(16),
                  C TYPE VARCHAR(16), D TYPE VARCHAR(16)', ',', '\', '"') AS r
                  FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 1));
        assert_eq!(count(&emitted, "String(\"abcd\")"), 1, "VARCHAR(4) cuts: {emitted:#?}");
        assert_eq!(count(&emitted, "[Int(30), String(\"1\"), String(\"2\"), Null, Null]"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "[Int(80), Null, Null, Null, Null]"), 1, "a NULL line: {emitted:#?}");
        assert_eq!(count(&emitted, "String(\"a,b\"), String(\"c,d\")"), 1, "quotes and escapes: {emitted:#?}");
    }

    #[test]
    fn fields_read_in_another_order_partly_or_twice_merge_and_give_the_same_rows() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (a VARCHAR(8), b VARCHAR(8), c VARCHAR(8), d VARCHAR(8), e VARCHAR(8));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.r."C", t.r."A", t.r."A", 'k', UPPER(t.s)
            FROM (SELECT STREAM VARIABLE_COLUMN_LOG_PARSE(line, 3) AS r2, line AS s, 'x' AS k,
                  VARIABLE_COLUMN_LOG_PARSE(line, 'A TYPE VARCHAR(8), B TYPE VARCHAR(8), C TYPE VARCHAR(8)') AS r
                  FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 2));
        assert_eq!(
            count(&emitted, "[String(\"3\"), String(\"1\"), String(\"1\"), String(\"k\"), String(\"1,2,3,4\")]"),
            1
        );
    }

    #[test]
    fn the_first_fields_of_a_wider_row_merge_and_give_the_same_rows() {
        // Consecutive from the first field, but not every field: the parser refuses to fill two slots of its three
        // (else C, NOT NULL and not read, would not fail the lines that miss it).
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (a VARCHAR(8), b VARCHAR(8));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.r."A", t.r."B"
            FROM (SELECT STREAM VARIABLE_COLUMN_LOG_PARSE(line,
                  'A TYPE VARCHAR(8), B TYPE VARCHAR(8), C TYPE VARCHAR(8) NOT NULL') AS r
                  FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 1));
        assert_eq!(count(&emitted, "[String(\"1\"), String(\"2\")]"), 2, "{emitted:#?}");
        assert_eq!(count(&emitted, "column C is NOT NULL"), 2, "{emitted:#?}");
    }

    #[test]
    fn a_field_that_fails_fails_the_row_as_unmerged() {
        // B is a number and C NOT NULL: fields fail the inner stage, CAST of the line fails the outer one; the
        // first failure of each row is the same merged or not.
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (a INTEGER, b BIGINT, c VARCHAR(8));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM CAST(t.line AS INTEGER), t.r."B", t.r."C"
            FROM (SELECT STREAM line, VARIABLE_COLUMN_LOG_PARSE(line, 'A TYPE VARCHAR(8), B TYPE BIGINT,
                  C TYPE VARCHAR(8) NOT NULL') AS r FROM "SOURCE_SQL_STREAM_001" WHERE n > 0) AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 1));
        assert!(count(&emitted, "Data_Error") >= 3, "{emitted:#?}");
        // "x,notanumber,3,4" fails both stages: the inner one's failure is the row's.
        assert_eq!(count(&emitted, "column B: cannot cast string 'notanumber'"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "Int(9)"), 0, "the inner WHERE still drops n = 0: {emitted:#?}");
    }

    #[test]
    fn a_regex_parse_merges_and_gives_the_same_rows() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (a VARCHAR(8), b VARCHAR(8));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.r."A", t.r."B"
            FROM (SELECT STREAM REGEX_LOG_PARSE(line, '([^,]*),([^,]*).*', 'A TYPE VARCHAR(8), B TYPE VARCHAR(8)') AS r
                  FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 1));
        assert_eq!(count(&emitted, "[String(\"1\"), String(\"2\")]"), 3, "{emitted:#?}");
    }

    #[test]
    fn a_typed_regex_parse_fills_the_slots_as_unmerged() {
        // Cut to VARCHAR(4), a number that is not one fails the row, a line that does not match is a NULL row.
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (a VARCHAR(8), b INTEGER);
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.r."A", t.r."B"
            FROM (SELECT STREAM REGEX_LOG_PARSE(line, '([^,]*),([^,]*).*', 'A TYPE VARCHAR(4), B TYPE INTEGER') AS r
                  FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 1));
        assert_eq!(count(&emitted, "[String(\"1\"), Int(2)]"), 3, "{emitted:#?}");
        assert_eq!(count(&emitted, "[Null, Null]"), 2, "no match, NULL line: {emitted:#?}");
        assert_eq!(count(&emitted, "cannot cast string 'notanumber'"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "cannot cast string 'é'"), 1, "{emitted:#?}");
    }

    #[test]
    fn a_fast_regex_parse_fills_the_slots_as_unmerged() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (a VARCHAR(8), b INTEGER);
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.r."A", t.r."B"
            FROM (SELECT STREAM FAST_REGEX_LOG_PARSE(line, '([^,]*),([^,]*),.*', 'A TYPE VARCHAR(4), B TYPE INTEGER')
                  AS r FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 1));
        assert_eq!(count(&emitted, "[String(\"1\"), Int(2)]"), 2, "{emitted:#?}");
        assert_eq!(count(&emitted, "[Null, Null]"), 3, "'1,2', '', NULL: {emitted:#?}");
        assert_eq!(count(&emitted, "cannot cast string 'notanumber'"), 1, "{emitted:#?}");
    }

    #[test]
    fn a_fixed_column_parse_fills_the_slots_as_unmerged() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (a VARCHAR(8), b INTEGER, c VARCHAR(8));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.r."A", t.r."B", t.r."C"
            FROM (SELECT STREAM FIXED_COLUMN_LOG_PARSE(line, 'A TYPE VARCHAR(2) START 0 FOR 3,
                  B TYPE INTEGER START 2 FOR 1, C TYPE VARCHAR(8) NOT NULL START 6') AS r
                  FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 1));
        assert_eq!(count(&emitted, "[String(\"1,\"), Int(2), String(\"4\")]"), 1, "cut to 2: {emitted:#?}");
        assert_eq!(count(&emitted, "[String(\"1,\"), Int(2), String(\"4,5,6\")]"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "column C is NOT NULL"), 2, "'1,2', '': {emitted:#?}");
        assert_eq!(count(&emitted, "[Null, Null, Null]"), 1, "a NULL line: {emitted:#?}");
        assert_eq!(count(&emitted, "cannot cast string 'n'"), 1, "{emitted:#?}");
    }

    #[test]
    fn a_w3c_parse_fills_the_slots_as_unmerged() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (h VARCHAR(64), u VARCHAR(64), b VARCHAR(64));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.r.COLUMN1, t.r.COLUMN2, t.r.COLUMN3
            FROM (SELECT STREAM W3C_LOG_PARSE(line, '%h,%u,%b') AS r FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let emitted = same_as_unmerged(sql, (1, 1));
        assert_eq!(count(&emitted, "[String(\"1\"), String(\"2\"), String(\"3,4\")]"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "[Null, Null, Null]"), 3, "'1,2', '', NULL: {emitted:#?}");
    }

    #[test]
    fn a_sys_log_parse_fills_the_slots_as_unmerged() {
        let sql = r#"
            CREATE OR REPLACE STREAM "OUT" (at TIMESTAMP, message VARCHAR(64));
            CREATE OR REPLACE PUMP p AS INSERT INTO "OUT"
            SELECT STREAM t.r.COLUMN1, t.r.COLUMN2
            FROM (SELECT STREAM SYS_LOG_PARSE(line) AS r FROM "SOURCE_SQL_STREAM_001") AS t {where};"#;
        let rows = [
            line(Some("Oct 11 22:14:15 mymachine su: 'su root' failed"), 1),
            line(Some("Feb 30 10:00:00 host not a date"), 2),
            line(Some("garbage"), 3),
            line(None, 4),
        ];
        let emitted = same_as_unmerged_over(sql, (1, 1), &rows);
        assert_eq!(count(&emitted, "String(\"mymachine su: 'su root' failed\")"), 1, "{emitted:#?}");
        assert_eq!(count(&emitted, "[Null, Null]"), 3, "{emitted:#?}");
    }

    #[test]
    fn stages_that_may_not_merge_stay_apart() {
        let compile = |sql: &str| Program::compile(sql, input()).expect("compiles");
        let stream = r#"CREATE OR REPLACE STREAM "OUT" (a VARCHAR(8), b BOOLEAN);"#;
        // The row value read whole (IS NULL), not as fields.
        let whole = compile(&format!(
            r#"{stream} CREATE OR REPLACE PUMP p AS INSERT INTO "OUT" SELECT STREAM t.r."A", t.r IS NULL
            FROM (SELECT STREAM VARIABLE_COLUMN_LOG_PARSE(line, 'A TYPE VARCHAR(8)') AS r
                  FROM "SOURCE_SQL_STREAM_001") AS t;"#
        ));
        assert_eq!(shape(&whole), (2, 0));
        // A computed inner value read as a column.
        let computed = compile(&format!(
            r#"{stream} CREATE OR REPLACE PUMP p AS INSERT INTO "OUT" SELECT STREAM t.u, TRUE
            FROM (SELECT STREAM UPPER(line) AS u FROM "SOURCE_SQL_STREAM_001") AS t;"#
        ));
        assert_eq!(shape(&computed), (2, 0));
        // The inner stage sets ROWTIME.
        let rowtime = compile(&format!(
            r#"{stream} CREATE OR REPLACE PUMP p AS INSERT INTO "OUT" SELECT STREAM t.line, TRUE
            FROM (SELECT STREAM line, CURRENT_ROW_TIMESTAMP AS ROWTIME FROM "SOURCE_SQL_STREAM_001") AS t;"#
        ));
        assert_eq!(shape(&rowtime), (2, 0));
        // Plain columns only: the merged stage reads the input's columns and has no spread.
        let plain = compile(&format!(
            r#"{stream} CREATE OR REPLACE PUMP p AS INSERT INTO "OUT" SELECT STREAM t.l, t.n > 1
            FROM (SELECT STREAM line AS l, n FROM "SOURCE_SQL_STREAM_001") AS t;"#
        ));
        assert_eq!(shape(&plain), (1, 0));
        let expected = Row { rowtime: 0, values: vec![Value::string("abc"), Value::Boolean(true)] };
        assert_eq!(emitted(&plain, &[line(Some("abc"), 2)])[1], format!("StreamId(1) {expected:?}"));
    }

    #[test]
    fn direct_fills_need_every_field_in_order_in_consecutive_projections() {
        assert_eq!(super::direct(&[(0, 2), (1, 3), (2, 4)]), Some((2, 3)));
        assert_eq!(super::direct(&[(1, 2), (2, 3)]), None, "not from the first field");
        assert_eq!(super::direct(&[(0, 2), (1, 4)]), None, "not consecutive");
        assert_eq!(super::direct(&[(0, 2), (0, 3)]), None, "a field twice");
        assert_eq!(super::direct(&[]), None);
    }
}
