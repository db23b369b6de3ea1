use super::*;
use crate::ast::{Expr, Literal, Over};
use crate::operator::{BinaryOp, TimeUnit, UnaryOp};
use crate::types::SqlType;
use crate::value::Decimal;

fn parse_ok(sql: &str) -> Vec<Statement> {
    match parse(sql) {
        Ok(statements) => statements,
        Err(errors) => panic!("{sql}\n{errors:#?}"),
    }
}

fn parse_err(sql: &str) -> Vec<SqlError> {
    match parse(sql) {
        Ok(statements) => panic!("expected errors for {sql}, got {statements:#?}"),
        Err(errors) => errors,
    }
}

/// The query of a single pump statement.
fn pump_query(sql: &str) -> Query {
    let text = format!("CREATE PUMP p AS INSERT INTO s {sql}");
    match parse_ok(&text).into_iter().next() {
        Some(Statement::CreatePump(pump)) => pump.insert.query,
        other => panic!("not a pump: {other:?}"),
    }
}

fn select(sql: &str) -> Select {
    match pump_query(sql) {
        Query::Select(select) => *select,
        other => panic!("not a select: {other:?}"),
    }
}

/// The single expression of `SELECT STREAM <expr> FROM s`.
fn expr(text: &str) -> Expr {
    let mut select = select(&format!("SELECT STREAM {text} FROM s"));
    assert_eq!(select.items.len(), 1, "{text}");
    match select.items.remove(0) {
        SelectItem::Expr { expr, alias: None, .. } => expr,
        other => panic!("{text}: {other:?}"),
    }
}

fn lit(text: &str) -> Literal {
    match expr(text) {
        Expr::Literal { value, .. } => value,
        other => panic!("{text}: not a literal: {other:?}"),
    }
}

fn names(parts: &[Ident]) -> Vec<&str> {
    parts.iter().map(|p| p.name.as_str()).collect()
}

/// A compact rendering of an expression's shape, to check structure without spans.
fn shape(e: &Expr) -> String {
    match e {
        Expr::Literal { value, .. } => match value {
            Literal::String(s) => format!("'{s}'"),
            Literal::Integer(i) => i.to_string(),
            other => format!("{other:?}"),
        },
        Expr::Column { parts, .. } => names(parts).join("."),
        Expr::Unary { op, expr, .. } => format!("({op:?} {})", shape(expr)),
        Expr::Binary { left, op, right, .. } => format!("({} {op:?} {})", shape(left), shape(right)),
        Expr::Function { name, args, star, distinct, over, .. } => {
            let args: Vec<String> = args.iter().map(shape).collect();
            let star = if *star { "*" } else { "" };
            let distinct = if *distinct { "DISTINCT " } else { "" };
            let over = if over.is_some() { " OVER" } else { "" };
            format!("{}({distinct}{star}{}){over}", name.name, args.join(", "))
        }
        Expr::Cast { expr, to, .. } => format!("CAST({} AS {to})", shape(expr)),
        Expr::IsNull { expr, negated, .. } => {
            format!("({} IS{} NULL)", shape(expr), if *negated { " NOT" } else { "" })
        }
        Expr::IsBool { expr, value, negated, .. } => {
            format!("({} IS{} {value:?})", shape(expr), if *negated { " NOT" } else { "" })
        }
        Expr::InList { expr, list, negated, .. } => {
            let list: Vec<String> = list.iter().map(shape).collect();
            format!("({}{} IN {})", shape(expr), if *negated { " NOT" } else { "" }, list.join(", "))
        }
        Expr::Between { expr, low, high, negated, .. } => {
            let not = if *negated { " NOT" } else { "" };
            format!("({}{not} BETWEEN {} AND {})", shape(expr), shape(low), shape(high))
        }
        Expr::Like { expr, pattern, escape, similar, negated, .. } => {
            let op = if *similar { "SIMILAR TO" } else { "LIKE" };
            let not = if *negated { " NOT" } else { "" };
            let escape = escape.as_ref().map(|e| format!(" ESCAPE {}", shape(e))).unwrap_or_default();
            format!("({}{not} {op} {}{escape})", shape(expr), shape(pattern))
        }
        Expr::Case { operand, branches, otherwise, .. } => {
            let mut out = String::from("CASE");
            if let Some(op) = operand {
                out += &format!(" {}", shape(op));
            }
            for (w, t) in branches {
                out += &format!(" WHEN {} THEN {}", shape(w), shape(t));
            }
            if let Some(e) = otherwise {
                out += &format!(" ELSE {}", shape(e));
            }
            out + " END"
        }
        Expr::DatetimeMinus { left, right, leading, trailing, .. } => {
            format!("(({} - {}) {leading:?} TO {trailing:?})", shape(left), shape(right))
        }
        Expr::Cursor { .. } => "CURSOR(...)".into(),
    }
}

const SEED: &str = include_str!("../../../pipelines/site-metrics.sql");

#[test]
fn the_seed_application_parses_into_a_stream_and_a_pump() {
    let statements = parse_ok(SEED);
    assert_eq!(statements.len(), 2);
    let Statement::CreateStream(stream) = &statements[0] else { panic!("{:?}", statements[0]) };
    assert!(stream.or_replace);
    assert_eq!(stream.name.name, "DESTINATION_SQL_STREAM");
    assert!(stream.name.quoted);
    let columns: Vec<(&str, &SqlType)> = stream.columns.iter().map(|c| (c.name.name.as_str(), &c.data_type)).collect();
    assert_eq!(
        columns,
        vec![
            ("timestamp", &SqlType::Varchar(50)),
            ("requests", &SqlType::Varchar(16)),
            ("new_users", &SqlType::Varchar(16)),
            ("new_orders", &SqlType::Varchar(16)),
            ("new_churns", &SqlType::Varchar(16)),
        ]
    );
    assert_eq!((stream.span.line, stream.span.column), (3, 1));

    let Statement::CreatePump(pump) = &statements[1] else { panic!("{:?}", statements[1]) };
    assert_eq!(pump.name.name, "SECOND_STREAM_PUMP");
    assert_eq!(pump.insert.target.name, "DESTINATION_SQL_STREAM");
    let Query::Select(outer) = &pump.insert.query else { panic!("not a select") };
    assert!(outer.stream);
    assert_eq!(outer.items.len(), 5);
    let SelectItem::Expr { expr: Expr::Function { name, args, .. }, .. } = &outer.items[0] else {
        panic!("{:?}", outer.items[0])
    };
    assert_eq!(name.name, "TIMESTAMP_TO_CHAR");
    assert_eq!(shape(&args[1]), "T.COL_timestamp");
    let SelectItem::Expr { expr: Expr::Column { parts, span }, .. } = &outer.items[1] else {
        panic!("{:?}", outer.items[1])
    };
    assert_eq!(names(parts), ["T", "R", "COL_1"]);
    assert!(!parts[0].quoted && parts[2].quoted);
    assert_eq!((span.line, span.column), (11, 8));
    assert_eq!(&SEED[span.start..span.end], "t.r.\"COL_1\"");

    let FromItem::Subquery { query, alias: Some(alias), .. } = &outer.from else { panic!("{:?}", outer.from) };
    assert_eq!(alias.name, "T");
    let Query::Select(inner) = query.as_ref() else { panic!("not a select") };
    let SelectItem::Expr { expr: Expr::Function { name, args, .. }, alias: Some(r), .. } = &inner.items[1] else {
        panic!("{:?}", inner.items[1])
    };
    assert_eq!((name.name.as_str(), args.len(), r.name.as_str()), ("VARIABLE_COLUMN_LOG_PARSE", 3, "R"));
    let FromItem::Stream { name, alias: None, window: None, .. } = &inner.from else { panic!("{:?}", inner.from) };
    assert_eq!(name.name, "SOURCE_SQL_STREAM_001");
}

#[test]
fn identifiers_are_upper_cased_unless_quoted() {
    let e = expr(r#"foo.Bar."Exact ""Case""""#);
    let Expr::Column { parts, .. } = &e else { panic!("{e:?}") };
    assert_eq!(names(parts), ["FOO", "BAR", "Exact \"Case\""]);
    assert_eq!(shape(&expr("\"SOURCE_SQL_STREAM_001\".ticker")), "SOURCE_SQL_STREAM_001.TICKER");
    assert_eq!(shape(&expr("s.ROWTIME")), "S.ROWTIME");
    assert_eq!(shape(&expr("lower(x)")), "LOWER(X)");
    assert_eq!(shape(&expr("\"myFn\"(x)")), "myFn(X)");
    let s = select("SELECT STREAM a AS rowtime, b c, d AS \"d\" FROM s");
    let aliases: Vec<_> =
        s.items.iter().map(|i| if let SelectItem::Expr { alias, .. } = i { alias.clone() } else { None }).collect();
    let aliases: Vec<_> = aliases.iter().map(|a| a.as_ref().map(|a| (a.name.as_str(), a.quoted))).collect();
    assert_eq!(aliases, [Some(("ROWTIME", false)), Some(("C", false)), Some(("d", true))]);
}

#[test]
fn comments_are_ignored() {
    let statements = parse_ok(
        "-- leading comment\nCREATE STREAM /* inline */ s (a INTEGER -- trailing\n, b DOUBLE PRECISION NOT NULL) \
         DESCRIPTION 'two columns';\n/* block\ncomment */",
    );
    let [Statement::CreateStream(stream)] = statements.as_slice() else { panic!("{statements:?}") };
    assert!(!stream.or_replace);
    assert_eq!(stream.columns[1].data_type, SqlType::Double);
    assert!(stream.columns[1].not_null && !stream.columns[0].not_null);
    assert_eq!(stream.description.as_deref(), Some("two columns"));
}

#[test]
fn every_literal_form() {
    assert_eq!(lit("'it''s'"), Literal::String("it's".into()));
    assert_eq!(lit("42"), Literal::Integer(42));
    assert_eq!(lit("-42"), Literal::Integer(-42));
    assert_eq!(lit("-9223372036854775808"), Literal::Integer(i64::MIN));
    assert_eq!(lit("1.50"), Literal::Decimal(Decimal { unscaled: 150, scale: 2 }));
    assert_eq!(lit(".5"), Literal::Decimal(Decimal { unscaled: 5, scale: 1 }));
    assert_eq!(lit("1.5E3"), Literal::Double(1500.0));
    assert_eq!(lit("-2e-1"), Literal::Double(-0.2));
    assert_eq!(lit("TRUE"), Literal::Boolean(true));
    assert_eq!(lit("false"), Literal::Boolean(false));
    assert_eq!(lit("UNKNOWN"), Literal::Unknown);
    assert_eq!(lit("NULL"), Literal::Null);
    assert_eq!(lit("X'0F'"), Literal::Binary(vec![0x0f]));
    assert_eq!(lit("u&'\\0041'"), Literal::String("A".into()));
    assert_eq!(lit("U&'tab\\0009\\+01F600\\\\'"), Literal::String("tab\t\u{1F600}\\".into()));
    assert_eq!(lit("U&'!0041!!' UESCAPE '!'"), Literal::String("A!".into()));
    assert_eq!(lit("DATE '2020-01-31'"), Literal::Date(18_292));
    assert_eq!(lit("TIME '01:00:00'"), Literal::Time(3_600_000));
    assert_eq!(lit("TIMESTAMP '1970-01-02 00:00:01'"), Literal::Timestamp(86_401_000));
    let minutes = Literal::IntervalDayTime { millis: 300_000, leading: TimeUnit::Minute, trailing: None };
    assert_eq!(lit("INTERVAL '5' MINUTE"), minutes);
    assert_eq!(
        lit("INTERVAL '1:30' HOUR TO MINUTE"),
        Literal::IntervalDayTime { millis: 5_400_000, leading: TimeUnit::Hour, trailing: Some(TimeUnit::Minute) }
    );
    assert_eq!(
        lit("INTERVAL '-1 2:03:04.5' DAY TO SECOND"),
        Literal::IntervalDayTime {
            millis: -(86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4_500),
            leading: TimeUnit::Day,
            trailing: Some(TimeUnit::Second)
        }
    );
    assert_eq!(
        lit("INTERVAL '1-6' YEAR TO MONTH"),
        Literal::IntervalYearMonth { months: 18, leading: TimeUnit::Year, trailing: Some(TimeUnit::Month) }
    );
    assert_eq!(
        lit("INTERVAL '60' SECOND(2)"),
        Literal::IntervalDayTime { millis: 60_000, leading: TimeUnit::Second, trailing: None }
    );
    // A word that only looks like a literal keyword is a column.
    assert_eq!(shape(&expr("date")), "DATE");
}

#[test]
fn bad_literals_are_reported_at_their_place() {
    for (text, message, column) in [
        ("DATE '2020-02-30'", "invalid DATE literal", 46),
        ("INTERVAL '1:75' HOUR TO MINUTE", "invalid interval '1:75' for HOUR TO MINUTE", 55),
        ("INTERVAL '5' FORTNIGHT", "expected an interval unit", 59),
        ("99999999999999999999999999999999999999999", "out of range", 46),
        ("u&'\\00G1'", "invalid Unicode escape", 46),
        ("X'0'", "binary string", 46),
        ("'open", "unterminated string", 46),
    ] {
        let errors = parse_err(&format!("CREATE PUMP p AS INSERT INTO s SELECT STREAM {text} FROM s"));
        assert_eq!(errors.len(), 1, "{text}");
        assert!(errors[0].message.contains(message), "{text}: {}", errors[0].message);
        let span = errors[0].span.unwrap_or_default();
        assert_eq!((span.line, span.column), (1, column), "{text}: {}", errors[0].message);
    }
}

#[test]
fn operators_bind_by_sql_precedence() {
    assert_eq!(shape(&expr("a OR b AND NOT c = d + e * f")), "(A Or (B And (Not (C Eq (D Add (E Multiply F))))))");
    assert_eq!(shape(&expr("a - b - c")), "((A Subtract B) Subtract C)");
    assert_eq!(shape(&expr("a || b = c || d")), "((A Concat B) Eq (C Concat D))");
    assert_eq!(shape(&expr("a + b || c")), "((A Add B) Concat C)");
    assert_eq!(shape(&expr("-a * b % 2")), "(((Negate A) Multiply B) Modulo 2)");
    assert_eq!(shape(&expr("(a OR b) AND c")), "((A Or B) And C)");
    assert_eq!(shape(&expr("NOT a AND b")), "((Not A) And B)");
    assert_eq!(shape(&expr("a BETWEEN 1 AND 2 AND b")), "((A BETWEEN 1 AND 2) And B)");
    assert_eq!(shape(&expr("a NOT BETWEEN b + 1 AND c")), "(A NOT BETWEEN (B Add 1) AND C)");
    assert_eq!(shape(&expr("a NOT IN (1, 2) OR b IN ('x')")), "((A NOT IN 1, 2) Or (B IN 'x'))");
    assert_eq!(shape(&expr("a LIKE 'x%' ESCAPE '!'")), "(A LIKE 'x%' ESCAPE '!')");
    assert_eq!(shape(&expr("a NOT SIMILAR TO '[0-9]+'")), "(A NOT SIMILAR TO '[0-9]+')");
    assert_eq!(shape(&expr("a IS NOT NULL AND b IS NULL")), "((A IS NOT NULL) And (B IS NULL))");
    assert_eq!(shape(&expr("a = 1 IS NOT TRUE")), "((A Eq 1) IS NOT Some(true))");
    assert_eq!(shape(&expr("a IS UNKNOWN")), "(A IS None)");
    assert_eq!(shape(&expr("a <> b AND c != d AND e >= f")), "(((A NotEq B) And (C NotEq D)) And (E GtEq F))");
    assert_eq!(shape(&expr("- - 1")), "1");
    assert_eq!(shape(&expr("-(a)")), "(Negate A)");
    let Expr::Unary { op: UnaryOp::Plus, .. } = expr("+a") else { panic!("unary plus") };
    let Expr::Binary { op: BinaryOp::Divide, span, .. } = expr("a / b") else { panic!("divide") };
    assert_eq!((span.column, span.end - span.start), (46, 5));
}

#[test]
fn special_syntax_functions_become_plain_calls() {
    for (written, normalized) in [
        ("FLOOR(s.ROWTIME TO MINUTE)", "FLOOR_TO(S.ROWTIME, 'MINUTE')"),
        ("floor(x)", "FLOOR(X)"),
        ("CEIL(x TO hour)", "CEIL_TO(X, 'HOUR')"),
        ("CEILING(x TO DAY)", "CEIL_TO(X, 'DAY')"),
        (
            "STEP(ROWTIME BY INTERVAL '60' SECOND)",
            "STEP(ROWTIME, IntervalDayTime { millis: 60000, leading: Second, trailing: None })",
        ),
        ("STEP(23 BY 5)", "STEP(23, 5)"),
        ("EXTRACT(HOUR FROM ts)", "EXTRACT('HOUR', TS)"),
        ("POSITION('a' IN s)", "POSITION('a', S)"),
        ("SUBSTRING(s FROM 2 FOR 3)", "SUBSTRING(S, 2, 3)"),
        ("SUBSTRING(s FROM 2)", "SUBSTRING(S, 2)"),
        ("SUBSTRING(s, 2, 3)", "SUBSTRING(S, 2, 3)"),
        ("OVERLAY(s PLACING 'x' FROM 2 FOR 1)", "OVERLAY(S, 'x', 2, 1)"),
        ("OVERLAY(s PLACING 'x' FROM 2)", "OVERLAY(S, 'x', 2)"),
        ("TRIM(s)", "TRIM('BOTH', ' ', S)"),
        ("TRIM(LEADING 'x' FROM s)", "TRIM('LEADING', 'x', S)"),
        ("TRIM(TRAILING FROM s)", "TRIM('TRAILING', ' ', S)"),
        ("TRIM('x' FROM s)", "TRIM('BOTH', 'x', S)"),
        ("TRIM(BOTH FROM s)", "TRIM('BOTH', ' ', S)"),
        ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP()"),
        ("current_row_timestamp", "CURRENT_ROW_TIMESTAMP()"),
        ("CURRENT_DATE", "CURRENT_DATE()"),
        ("CURRENT_TIME", "CURRENT_TIME()"),
        ("LOCALTIME", "LOCALTIME()"),
        ("LOCALTIMESTAMP", "LOCALTIMESTAMP()"),
        ("COUNT(*)", "COUNT(*)"),
        ("COUNT(DISTINCT x)", "COUNT(DISTINCT X)"),
        ("CAST(x AS VARCHAR(10))", "CAST(X AS VARCHAR(10))"),
        ("CAST(x AS DECIMAL(10,2))", "CAST(X AS DECIMAL(10, 2))"),
        ("CAST('1' AS INTERVAL DAY TO SECOND)", "CAST('1' AS INTERVAL DAY TO SECOND)"),
        ("CASE WHEN a > 1 THEN 'x' ELSE 'y' END", "CASE WHEN (A Gt 1) THEN 'x' ELSE 'y' END"),
        ("CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' END", "CASE A WHEN 1 THEN 'one' WHEN 2 THEN 'two' END"),
        ("AVG(price) OVER w1", "AVG(PRICE) OVER"),
    ] {
        assert_eq!(shape(&expr(written)), normalized, "{written}");
    }
    // The unit literal sits where the unit was written.
    let Expr::Function { args, .. } = expr("FLOOR(x TO MINUTE)") else { panic!("call") };
    assert_eq!((args[1].span().column, args[1].span().end - args[1].span().start), (57, 6));
}

#[test]
fn windows_parse_in_calls_and_select() {
    let s = select(
        "SELECT STREAM AVG(price) OVER w1, COUNT(*) OVER (PARTITION BY k ROWS 10 PRECEDING) FROM s \
         WINDOW w1 AS (PARTITION BY k, j RANGE INTERVAL '1' MINUTE PRECEDING), \
         w2 AS (ORDER BY ROWTIME RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
    );
    assert_eq!(s.windows.len(), 2);
    assert_eq!(s.windows[0].name.name, "W1");
    assert_eq!(s.windows[0].spec.partition_by.len(), 2);
    let Some(frame) = &s.windows[0].spec.frame else { panic!("frame") };
    assert!(!frame.rows);
    let FrameBound::Preceding(size) = &frame.start else { panic!("{frame:?}") };
    assert!(matches!(size.as_ref(), Expr::Literal { value: Literal::IntervalDayTime { millis: 60_000, .. }, .. }));
    let Some(frame) = &s.windows[1].spec.frame else { panic!("frame") };
    assert_eq!((&frame.start, &frame.end), (&FrameBound::UnboundedPreceding, &Some(FrameBound::CurrentRow)));
    let SelectItem::Expr { expr: Expr::Function { over: Some(over), .. }, .. } = &s.items[1] else { panic!() };
    let Over::Spec(spec) = over.as_ref() else { panic!("{over:?}") };
    assert!(spec.frame.as_ref().is_some_and(|f| f.rows));

    let s = select(
        "SELECT STREAM ticker, COUNT(*) FROM s \
         WINDOWED BY STAGGER (PARTITION BY FLOOR(event_time TO MINUTE), ticker RANGE INTERVAL '1' MINUTE)",
    );
    let Some(stagger) = &s.stagger else { panic!("stagger") };
    assert_eq!(
        stagger.partition_by.iter().map(shape).collect::<Vec<_>>(),
        ["FLOOR_TO(EVENT_TIME, 'MINUTE')", "TICKER"]
    );
}

#[test]
fn union_all_and_order_by() {
    let q = pump_query(
        "SELECT STREAM a FROM s1 UNION ALL (SELECT STREAM a FROM s2) UNION ALL SELECT STREAM a FROM s3 ORDER BY a DESC",
    );
    let Query::UnionAll { left, order_by, .. } = &q else { panic!("{q:?}") };
    assert!(matches!(left.as_ref(), Query::UnionAll { .. }));
    assert_eq!(order_by.len(), 1);
    assert!(order_by[0].descending);
    let errors = parse_err("CREATE PUMP p AS INSERT INTO s SELECT STREAM a FROM s1 UNION SELECT STREAM a FROM s2");
    assert_eq!(errors[0].kind, SqlErrorKind::NotSupported);
}

#[test]
fn joins_and_group_by_with_step() {
    let s = select(
        "SELECT STREAM s.ticker_symbol, c.\"Company\" FROM \"SOURCE_SQL_STREAM_001\" AS s \
         LEFT JOIN \"CompanyName\" AS \"c\" ON s.ticker_symbol = \"c\".\"Ticker\" \
         JOIN orders OVER (RANGE INTERVAL '1' HOUR PRECEDING) o ON o.id = s.id \
         CROSS JOIN t, u",
    );
    let FromItem::Join { left, kind: JoinKind::Cross, on: None, .. } = &s.from else { panic!("{:?}", s.from) };
    let FromItem::Join { left, kind: JoinKind::Cross, .. } = left.as_ref() else { panic!("{left:?}") };
    let FromItem::Join { left, kind: JoinKind::Inner, right, on: Some(_), .. } = left.as_ref() else { panic!() };
    let FromItem::Stream { name, window: Some(_), alias: Some(alias), .. } = right.as_ref() else { panic!() };
    assert_eq!((name.name.as_str(), alias.name.as_str()), ("ORDERS", "O"));
    let FromItem::Join { kind: JoinKind::Left, right, on: Some(on), .. } = left.as_ref() else { panic!("{left:?}") };
    assert_eq!(shape(on), "(S.TICKER_SYMBOL Eq c.Ticker)");
    let FromItem::Stream { alias: Some(alias), .. } = right.as_ref() else { panic!() };
    assert!(alias.quoted);

    let statements = parse_ok(
        "CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\" \
         SELECT STREAM ticker_symbol, COUNT(*) AS ticker_count FROM \"SOURCE_SQL_STREAM_001\" \
         GROUP BY ticker_symbol, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND);",
    );
    let [Statement::CreatePump(pump)] = statements.as_slice() else { panic!("{statements:?}") };
    let Query::Select(s) = &pump.insert.query else { panic!() };
    assert_eq!(s.group_by.len(), 2);
    assert_eq!(
        shape(&s.group_by[1]),
        "STEP(SOURCE_SQL_STREAM_001.ROWTIME, IntervalDayTime { millis: 60000, leading: Second, trailing: None })"
    );
    // The console template's tumbling window: a datetime difference as an interval.
    let s = select(
        "SELECT STREAM COUNT(*) FROM \"SOURCE_SQL_STREAM_001\" WHERE \"browseraction\" = 'Click' \
         GROUP BY FLOOR((\"SOURCE_SQL_STREAM_001\".ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND)",
    );
    assert_eq!(
        shape(&s.group_by[0]),
        "FLOOR_TO((((SOURCE_SQL_STREAM_001.ROWTIME - Timestamp(0)) Second TO None) Divide 10), 'SECOND')"
    );
    assert_eq!(shape(&expr("(a - b) minute")), "((A - B) Minute TO None)");
    assert_eq!(shape(&expr("(a - b) DAY TO SECOND")), "((A - B) Day TO Some(Second))");
    let s = select("SELECT STREAM DISTINCT k, SUM(v) FROM s GROUP BY k HAVING SUM(v) > 10");
    assert!(s.distinct && s.having.is_some());
}

#[test]
fn table_functions_with_cursors() {
    let statements = parse_ok(
        "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"OUT\" (\"price\", ANOMALY_SCORE) \
         SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM \"price\" FROM \"IN\"), \
         100, 256, 100000, 1)) ORDER BY ANOMALY_SCORE DESC",
    );
    let [Statement::CreatePump(pump)] = statements.as_slice() else { panic!("{statements:?}") };
    assert_eq!(names(&pump.insert.columns), ["price", "ANOMALY_SCORE"]);
    let Query::Select(s) = &pump.insert.query else { panic!() };
    assert!(matches!(s.items[..], [SelectItem::Wildcard { .. }]));
    let FromItem::TableFunction { name, args, alias: None, .. } = &s.from else { panic!("{:?}", s.from) };
    assert_eq!(name.name, "RANDOM_CUT_FOREST");
    assert_eq!(args.iter().map(shape).collect::<Vec<_>>(), ["CURSOR(...)", "100", "256", "100000", "1"]);
    let Expr::Cursor { query, .. } = &args[0] else { panic!() };
    assert!(matches!(query.as_ref(), Query::Select(s) if s.stream));
    assert_eq!(s.order_by.len(), 1);
    assert!(s.order_by[0].descending);

    let s = select(
        "SELECT STREAM t.*, r.x.* FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM s), 'k', 10, 60)) AS t",
    );
    let [SelectItem::QualifiedWildcard { qualifier, .. }, SelectItem::QualifiedWildcard { qualifier: q2, .. }] =
        &s.items[..]
    else {
        panic!("{:?}", s.items)
    };
    assert_eq!((names(qualifier), names(q2)), (vec!["T"], vec!["R", "X"]));
}

#[test]
fn bare_insert_and_expedited() {
    let statements = parse_ok("INSERT EXPEDITED INTO out (a) SELECT STREAM a FROM s; ;");
    let [Statement::Insert(insert)] = statements.as_slice() else { panic!("{statements:?}") };
    assert!(insert.expedited);
    assert_eq!(names(&insert.columns), ["A"]);
}

#[test]
fn a_subquery_alias_may_name_its_columns() {
    // [DG] examples-transforming-strings-w3clogparse.md: `FROM (SELECT STREAM W3C_LOG_PARSE(...) FROM ...) AS l(r)`.
    let outer = select(
        "SELECT STREAM l.r.COLUMN1 FROM (SELECT STREAM W3C_LOG_PARSE(\"log\", 'COMMON') \
         FROM \"SOURCE_SQL_STREAM_001\") AS l(r)",
    );
    let FromItem::Subquery { query, alias: Some(alias), .. } = &outer.from else { panic!("{:?}", outer.from) };
    assert_eq!(alias.name, "L");
    let Query::Select(inner) = query.as_ref() else { panic!("not a select") };
    let SelectItem::Expr { alias: Some(r), .. } = &inner.items[0] else { panic!("{:?}", inner.items[0]) };
    assert_eq!((r.name.as_str(), r.quoted), ("R", false));

    // Every item is renamed, an existing alias included; in a UNION ALL, the first query's items.
    let outer =
        select("SELECT STREAM * FROM (SELECT STREAM a, b AS x FROM s UNION ALL SELECT STREAM c, d FROM t) t(\"p\", q)");
    let FromItem::Subquery { query, .. } = &outer.from else { panic!("{:?}", outer.from) };
    let Query::UnionAll { left, right, .. } = query.as_ref() else { panic!("not a union") };
    let aliases = |q: &Query| match q {
        Query::Select(s) => s
            .items
            .iter()
            .map(|i| match i {
                SelectItem::Expr { alias, .. } => alias.as_ref().map(|a| a.name.clone()),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Query::UnionAll { .. } => panic!("nested union"),
    };
    assert_eq!(aliases(left), [Some("p".to_owned()), Some("Q".to_owned())]);
    assert_eq!(aliases(right), [None, None]);

    let errors = parse_err("CREATE PUMP p AS INSERT INTO s SELECT STREAM * FROM (SELECT STREAM a, b FROM s) AS t(x)");
    assert_eq!(errors[0].message, "the alias names 1 column(s), but the subquery selects 2");
    assert_eq!(errors[0].kind, SqlErrorKind::Syntax);
    let errors = parse_err("CREATE PUMP p AS INSERT INTO s SELECT STREAM * FROM (SELECT STREAM * FROM s) AS t(x)");
    assert_eq!(errors[0].kind, SqlErrorKind::NotSupported);
    // Without an alias, `(` after a subquery is still an error.
    let errors = parse_err("CREATE PUMP p AS INSERT INTO s SELECT STREAM * FROM (SELECT STREAM a FROM s) (x)");
    assert_eq!(errors[0].message, "expected `;` after the statement, found `(`");
}

#[test]
fn syntax_errors_name_the_place_and_what_was_expected() {
    let errors = parse_err("CREATE PUMP p\n  INSERT INTO s SELECT STREAM a FROM b;");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "expected `AS` after the pump name, found `INSERT`");
    assert_eq!(errors[0].kind, SqlErrorKind::Syntax);
    let span = errors[0].span.unwrap_or_default();
    assert_eq!((span.line, span.column, span.start, span.end), (2, 3, 16, 22));

    // Two bad statements, one good between them: two errors, each at its line.
    let errors = parse_err(
        "CREATE STREAM s (a VARCHAR(4),);\n\
         CREATE STREAM ok (a INTEGER);\n\
         CREATE PUMP p AS INSERT INTO s SELECT STREAM a + FROM b;",
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let places: Vec<_> = errors.iter().map(|e| e.span.map(|s| (s.line, s.column))).collect();
    assert_eq!(places, [Some((1, 31)), Some((3, 50))]);
    assert_eq!(errors[0].message, "expected a column name in the stream's column list, found `)`");
    assert_eq!(errors[1].message, "expected an expression, found `FROM`");

    let cases = [
        ("CREATE STREAM s (a TEXT)", "unknown SQL type `TEXT`"),
        ("CREATE STREAM s (a VARCHAR)", "unknown SQL type `VARCHAR`"),
        ("CREATE VIEW v AS SELECT 1 FROM s", "expected `STREAM` or `PUMP` after `CREATE`, found `VIEW`"),
        ("SELECT 1 FROM s", "expected `CREATE` at the start of a statement"),
        ("CREATE PUMP p AS INSERT INTO s SELECT STREAM a FROM b c d", "expected `;` after the statement, found `d`"),
        ("CREATE PUMP p AS INSERT INTO s SELECT STREAM a FROM", "found the end of the text"),
        ("CREATE PUMP p AS INSERT INTO s SELECT STREAM (SELECT 1 FROM t) FROM b", "a scalar subquery is not supported"),
        ("CREATE PUMP p AS INSERT INTO s SELECT STREAM a ? b FROM c", "unexpected character `?`"),
    ];
    for (sql, message) in cases {
        let errors = parse_err(sql);
        assert_eq!(errors.len(), 1, "{sql}: {errors:?}");
        assert!(errors[0].message.contains(message), "{sql}: {}", errors[0].message);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let nested = |depth: usize| {
        format!("CREATE PUMP p AS INSERT INTO s SELECT STREAM {}1{} FROM t", "(".repeat(depth), ")".repeat(depth))
    };
    assert!(parse(&nested(200)).is_ok());
    let errors = parse_err(&nested(10_000));
    assert!(errors[0].message.contains("nests too deeply"), "{}", errors[0].message);
    let errors = parse_err(&format!("CREATE PUMP p AS INSERT INTO s SELECT STREAM {}1 FROM t", "- ".repeat(10_000)));
    assert!(errors[0].message.contains("nests too deeply"));
    let errors = parse_err(&format!("CREATE PUMP p AS INSERT INTO s {}SELECT STREAM 1 FROM t", "(".repeat(10_000)));
    assert!(errors[0].message.contains("nests too deeply"), "{}", errors[0].message);
    // A long chain of operators builds a deep tree too: bounded alike (dropping it would recurse).
    let chain = |n: usize| format!("CREATE PUMP p AS INSERT INTO s SELECT STREAM {} FROM t", vec!["a"; n].join(" + "));
    assert!(parse(&chain(200)).is_ok());
    assert!(parse_err(&chain(50_000))[0].message.contains("nests too deeply"));
    let unions =
        |n: usize| format!("CREATE PUMP p AS INSERT INTO s {}", vec!["SELECT STREAM a FROM t"; n].join(" UNION ALL "));
    assert!(parse(&unions(100)).is_ok());
    assert!(parse_err(&unions(10_000))[0].message.contains("nests too deeply"));
    let joins = |n: usize| format!("CREATE PUMP p AS INSERT INTO s SELECT STREAM a FROM {}", vec!["t"; n].join(", "));
    assert!(parse(&joins(100)).is_ok());
    assert!(parse_err(&joins(10_000))[0].message.contains("nests too deeply"));
}

#[test]
fn real_kda_applications_parse() {
    let app = r#"
        CREATE OR REPLACE STREAM "TEMP_STREAM" ("ingest_time" TIMESTAMP, "ticker" VARCHAR(4), "price" DOUBLE,
            "ANOMALY_SCORE" DOUBLE, "ANOMALY_EXPLANATION" VARCHAR(512));
        CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "TEMP_STREAM"
            SELECT STREAM "APPROXIMATE_ARRIVAL_TIME", "TICKER_SYMBOL", "PRICE", ANOMALY_SCORE, ANOMALY_EXPLANATION
            FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(
                CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 100, 256, 100000, 1, true));
        CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
            SELECT STREAM * FROM "TEMP_STREAM" WHERE ANOMALY_SCORE > 3.0
            ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC;
        -- A sliding window.
        CREATE OR REPLACE PUMP "P2" AS INSERT INTO "D2"
            SELECT STREAM ticker_symbol, AVG(price) OVER W1 AS avg_price, LAG(price, 1) OVER W1 AS prev
            FROM "SOURCE_SQL_STREAM_001"
            WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '10' SECOND PRECEDING);
        -- A stream-table join.
        CREATE OR REPLACE PUMP "P3" AS INSERT INTO "D3"
            SELECT STREAM ticker_symbol, "c"."Company", price
            FROM "SOURCE_SQL_STREAM_001" LEFT JOIN "CompanyName" AS "c"
                ON "SOURCE_SQL_STREAM_001".ticker_symbol = "c"."Ticker";
        CREATE OR REPLACE PUMP "P4" AS INSERT INTO "D4"
            SELECT STREAM T.REC.COLUMN1, T.REC.COLUMN2
            FROM (SELECT STREAM REGEX_LOG_PARSE(LOGENTRY, '(\w.+) (\d.+) (\w.+) (\w.+)') AS REC
                  FROM "SOURCE_SQL_STREAM_001") AS T;
        CREATE OR REPLACE PUMP "P5" AS INSERT INTO "D5"
            SELECT STREAM ROWTIME AS datetime, "response" AS status, COUNT(*) AS statusCount
            FROM "SOURCE_SQL_STREAM_001"
            WHERE "sector" SIMILAR TO '%TECH%' AND CHAR_LENGTH("sector") > 2
            GROUP BY "response",
                FLOOR(("SOURCE_SQL_STREAM_001".ROWTIME - TIMESTAMP '1970-01-01 00:00:00') minute / 1 TO MINUTE);
        CREATE OR REPLACE PUMP "P6" AS INSERT INTO "D6"
            SELECT STREAM TICKER_SYMBOL, FLOOR(EVENT_TIME TO MINUTE), COUNT(*) AS TICKER_COUNT
            FROM "SOURCE_SQL_STREAM_001"
            WINDOWED BY STAGGER (PARTITION BY FLOOR(EVENT_TIME TO MINUTE), TICKER_SYMBOL RANGE INTERVAL '1' MINUTE);
        -- A trailing comment with no newline"#;
    let statements = parse_ok(app);
    assert_eq!(statements.len(), 8);
    assert!(statements.iter().skip(1).all(|s| matches!(s, Statement::CreatePump(_))));
}
