//! The syntax tree of a KDA SQL application, as the [parser](crate::parser) builds it.
//!
//! Every identifier and expression carries the [`Span`] of its text, so the planner can point at unknown
//! streams, columns and functions. Special-syntax functions are already normalized into plain calls
//! (`FLOOR(x TO MINUTE)` is `FLOOR_TO(x, 'MINUTE')`, see the parser's module docs); only `CAST` keeps its node,
//! because its second operand is a type.

use std::fmt;

use crate::error::Span;
use crate::operator::{BinaryOp, TimeUnit, UnaryOp};
use crate::types::SqlType;
use crate::value::{Decimal, Value};

/// The span from the start of `first` to the end of `last`.
pub fn cover(first: Span, last: Span) -> Span {
    Span { line: first.line, column: first.column, start: first.start, end: last.end.max(first.end) }
}

/// A name: unquoted ones are upper-cased by the lexer, quoted ones kept exact (with `""` undone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name as SQL compares it.
    pub name: String,
    /// Whether it was written in double quotes.
    pub quoted: bool,
    /// Where it was written.
    pub span: Span,
}

impl Ident {
    /// Whether this is the name `other` (exact, since unquoted names are already upper-cased).
    pub fn is(&self, other: &str) -> bool {
        self.name == other
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted { write!(f, "\"{}\"", self.name.replace('"', "\"\"")) } else { f.write_str(&self.name) }
    }
}

/// One statement of an application.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [OR REPLACE] STREAM name (columns) [DESCRIPTION '...']`.
    CreateStream(CreateStream),
    /// `CREATE [OR REPLACE] PUMP name AS INSERT INTO ...`.
    CreatePump(CreatePump),
    /// A bare `INSERT [EXPEDITED] INTO stream [(columns)] query`.
    Insert(Insert),
}

impl Statement {
    /// Where the statement was written.
    pub fn span(&self) -> Span {
        match self {
            Statement::CreateStream(s) => s.span,
            Statement::CreatePump(p) => p.span,
            Statement::Insert(i) => i.span,
        }
    }
}

/// `CREATE [OR REPLACE] STREAM name (columns) [DESCRIPTION '...']`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateStream {
    /// `OR REPLACE` was written.
    pub or_replace: bool,
    /// The stream's name.
    pub name: Ident,
    /// Its columns, in order.
    pub columns: Vec<ColumnDef>,
    /// The `DESCRIPTION` text.
    pub description: Option<String>,
    /// The whole statement.
    pub span: Span,
}

/// `name TYPE [NOT NULL]` in a stream's column list.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// The column's name.
    pub name: Ident,
    /// Its type.
    pub data_type: SqlType,
    /// `NOT NULL` was written.
    pub not_null: bool,
    /// The whole definition.
    pub span: Span,
}

/// `CREATE [OR REPLACE] PUMP name AS INSERT ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePump {
    /// `OR REPLACE` was written.
    pub or_replace: bool,
    /// The pump's name.
    pub name: Ident,
    /// What it runs.
    pub insert: Insert,
    /// The whole statement.
    pub span: Span,
}

/// `INSERT [EXPEDITED] INTO stream [(columns)] query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// `EXPEDITED` was written.
    pub expedited: bool,
    /// The stream written to.
    pub target: Ident,
    /// The target columns, if listed.
    pub columns: Vec<Ident>,
    /// The rows inserted.
    pub query: Query,
    /// From `INSERT` to the end of the query.
    pub span: Span,
}

/// A query: a `SELECT`, or `UNION ALL` of queries. Parentheses leave no node.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// One `SELECT`.
    Select(Box<Select>),
    /// `left UNION ALL right [ORDER BY ...]`.
    UnionAll {
        /// The first query.
        left: Box<Query>,
        /// The second query.
        right: Box<Query>,
        /// The ORDER BY of the union.
        order_by: Vec<OrderByItem>,
        /// The whole union.
        span: Span,
    },
}

impl Query {
    /// Where the query was written.
    pub fn span(&self) -> Span {
        match self {
            Query::Select(s) => s.span,
            Query::UnionAll { span, .. } => *span,
        }
    }
}

/// `SELECT [STREAM] [DISTINCT|ALL] items FROM from [WHERE] [WINDOWED BY] [GROUP BY] [HAVING] [WINDOW] [ORDER BY]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// `SELECT STREAM` (a streaming query) rather than a plain `SELECT`.
    pub stream: bool,
    /// `DISTINCT` was written.
    pub distinct: bool,
    /// The select list.
    pub items: Vec<SelectItem>,
    /// The FROM clause (joins nest to the left).
    pub from: FromItem,
    /// The WHERE condition.
    pub filter: Option<Expr>,
    /// `WINDOWED BY STAGGER (...)`.
    pub stagger: Option<StaggerWindow>,
    /// The GROUP BY expressions.
    pub group_by: Vec<Expr>,
    /// The HAVING condition.
    pub having: Option<Expr>,
    /// `WINDOW name AS (...)` definitions.
    pub windows: Vec<NamedWindow>,
    /// The ORDER BY items.
    pub order_by: Vec<OrderByItem>,
    /// From `SELECT` to the end of the query.
    pub span: Span,
}

/// One item of a select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`.
    Wildcard {
        /// The `*`.
        span: Span,
    },
    /// `t.*`.
    QualifiedWildcard {
        /// The name parts before `.*`.
        qualifier: Vec<Ident>,
        /// From the qualifier to the `*`.
        span: Span,
    },
    /// `expr [[AS] alias]`.
    Expr {
        /// The value.
        expr: Expr,
        /// The output column's name, if given.
        alias: Option<Ident>,
        /// The expression and its alias.
        span: Span,
    },
}

/// One source in a FROM clause.
#[derive(Debug, Clone, PartialEq)]
pub enum FromItem {
    /// A stream or table: `name [OVER (window)] [[AS] alias]`.
    Stream {
        /// Its name.
        name: Ident,
        /// `OVER (...)` or `OVER name`: a window on a stream, for stream-stream joins.
        window: Option<Box<Over>>,
        /// The alias.
        alias: Option<Ident>,
        /// The whole item.
        span: Span,
    },
    /// `(query) [[AS] alias]`.
    Subquery {
        /// The query.
        query: Box<Query>,
        /// The alias.
        alias: Option<Ident>,
        /// The whole item.
        span: Span,
    },
    /// `TABLE(F(CURSOR(SELECT STREAM ...), args...)) [[AS] alias]`.
    TableFunction {
        /// The function's name.
        name: Ident,
        /// Its arguments (a cursor is an [`Expr::Cursor`]).
        args: Vec<Expr>,
        /// The alias.
        alias: Option<Ident>,
        /// The whole item.
        span: Span,
    },
    /// `left [kind] JOIN right [ON condition]`; `a, b` is a cross join.
    Join {
        /// The left side.
        left: Box<FromItem>,
        /// The kind of join.
        kind: JoinKind,
        /// The right side.
        right: Box<FromItem>,
        /// The ON condition (none for a cross join).
        on: Option<Expr>,
        /// The whole join.
        span: Span,
    },
}

impl FromItem {
    /// Where the item was written.
    pub fn span(&self) -> Span {
        match self {
            FromItem::Stream { span, .. }
            | FromItem::Subquery { span, .. }
            | FromItem::TableFunction { span, .. }
            | FromItem::Join { span, .. } => *span,
        }
    }
}

/// The kinds of joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `[INNER] JOIN`.
    Inner,
    /// `LEFT [OUTER] JOIN`.
    Left,
    /// `RIGHT [OUTER] JOIN`.
    Right,
    /// `FULL [OUTER] JOIN`.
    Full,
    /// `CROSS JOIN`, or a comma.
    Cross,
}

/// `expr [ASC|DESC]` in an ORDER BY.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderByItem {
    /// The sort key.
    pub expr: Expr,
    /// `DESC` was written.
    pub descending: bool,
    /// The key and its direction.
    pub span: Span,
}

/// `WINDOW name AS (spec)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedWindow {
    /// The window's name.
    pub name: Ident,
    /// Its definition.
    pub spec: WindowSpec,
    /// The whole definition.
    pub span: Span,
}

/// A window: `(PARTITION BY ... ORDER BY ... RANGE|ROWS ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    /// `PARTITION BY` expressions.
    pub partition_by: Vec<Expr>,
    /// `ORDER BY` items.
    pub order_by: Vec<OrderByItem>,
    /// `RANGE ...` or `ROWS ...`.
    pub frame: Option<WindowFrame>,
    /// From `(` to `)`.
    pub span: Span,
}

/// `RANGE|ROWS start` or `RANGE|ROWS BETWEEN start AND end`.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFrame {
    /// `ROWS` rather than `RANGE`.
    pub rows: bool,
    /// The first bound.
    pub start: FrameBound,
    /// The second bound of `BETWEEN`.
    pub end: Option<FrameBound>,
    /// The whole frame.
    pub span: Span,
}

/// A bound of a window frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`.
    UnboundedPreceding,
    /// `n PRECEDING` / `INTERVAL '1' MINUTE PRECEDING`.
    Preceding(Box<Expr>),
    /// `CURRENT ROW`.
    CurrentRow,
    /// `n FOLLOWING`.
    Following(Box<Expr>),
    /// `UNBOUNDED FOLLOWING`.
    UnboundedFollowing,
}

/// `WINDOWED BY STAGGER (PARTITION BY ... RANGE INTERVAL ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct StaggerWindow {
    /// The keys (the first is usually `FLOOR(event_time TO MINUTE)`).
    pub partition_by: Vec<Expr>,
    /// The window's length (an interval expression).
    pub range: Expr,
    /// From `WINDOWED` to `)`.
    pub span: Span,
}

/// `OVER w` or `OVER (spec)` after a function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Over {
    /// A window named in the WINDOW clause.
    Named(Ident),
    /// A window written in place.
    Spec(WindowSpec),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`.
    Null,
    /// `TRUE` / `FALSE`.
    Boolean(bool),
    /// `UNKNOWN` (the null BOOLEAN).
    Unknown,
    /// An integer: `42`.
    Integer(i64),
    /// An exact number with a point (or an integer too big for BIGINT): `1.50`.
    Decimal(Decimal),
    /// An approximate number: `1.5E3`.
    Double(f64),
    /// A character string: `'it''s'`, `U&'\0041'`.
    String(String),
    /// A binary string: `X'0F'`.
    Binary(Vec<u8>),
    /// `DATE '2020-01-31'`: days since 1970-01-01.
    Date(i32),
    /// `TIME '12:00:00'`: milliseconds since midnight.
    Time(i32),
    /// `TIMESTAMP '2020-01-31 12:00:00'`: milliseconds since the epoch.
    Timestamp(i64),
    /// A day-time interval: `INTERVAL '1:30' HOUR TO MINUTE`.
    IntervalDayTime {
        /// Its length in milliseconds (negative for `'-...'`).
        millis: i64,
        /// The leading field.
        leading: TimeUnit,
        /// The trailing field of `... TO ...`.
        trailing: Option<TimeUnit>,
    },
    /// A year-month interval: `INTERVAL '1-6' YEAR TO MONTH`.
    IntervalYearMonth {
        /// Its length in months.
        months: i32,
        /// The leading field.
        leading: TimeUnit,
        /// The trailing field of `... TO ...`.
        trailing: Option<TimeUnit>,
    },
}

impl Literal {
    /// The literal as a run-time value (`UNKNOWN` is NULL).
    pub fn to_value(&self) -> Value {
        match self {
            Literal::Null | Literal::Unknown => Value::Null,
            Literal::Boolean(b) => Value::Boolean(*b),
            Literal::Integer(i) => Value::Int(*i),
            Literal::Decimal(d) => Value::Decimal(*d),
            Literal::Double(d) => Value::Double(*d),
            Literal::String(s) => Value::string(s),
            Literal::Binary(b) => Value::Binary(bytes::Bytes::copy_from_slice(b)),
            Literal::Date(d) => Value::Date(*d),
            Literal::Time(t) => Value::Time(*t),
            Literal::Timestamp(t) => Value::Timestamp(*t),
            Literal::IntervalDayTime { millis, .. } => Value::Interval(*millis),
            Literal::IntervalYearMonth { months, .. } => Value::IntervalMonths(*months),
        }
    }
}

/// An expression. Every variant carries its span; see [`Expr::span`].
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Literal {
        /// The value.
        value: Literal,
        /// Its text.
        span: Span,
    },
    /// A column reference of one or more dotted parts: `c`, `t.c`, `t.r."COL_1"`, `s.ROWTIME`.
    Column {
        /// The parts, in order.
        parts: Vec<Ident>,
        /// All the parts.
        span: Span,
    },
    /// `-x`, `+x`, `NOT x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
        /// Operator and operand.
        span: Span,
    },
    /// `left op right`.
    Binary {
        /// The left operand.
        left: Box<Expr>,
        /// The operator.
        op: BinaryOp,
        /// The right operand.
        right: Box<Expr>,
        /// Both operands.
        span: Span,
    },
    /// A function call, special syntax normalized: `f(args) [OVER w]`, `COUNT(*)`, `COUNT(DISTINCT x)`.
    Function {
        /// The function's name (upper-cased unless quoted; `FLOOR_TO`, `CEIL_TO` for `... TO unit`).
        name: Ident,
        /// The arguments (empty for `COUNT(*)`).
        args: Vec<Expr>,
        /// `*` was the argument.
        star: bool,
        /// `DISTINCT` before the arguments.
        distinct: bool,
        /// `OVER w` / `OVER (...)`.
        over: Option<Box<Over>>,
        /// From the name to `)` (or the end of OVER).
        span: Span,
    },
    /// `CAST(expr AS type)`.
    Cast {
        /// The value cast.
        expr: Box<Expr>,
        /// The target type.
        to: SqlType,
        /// From `CAST` to `)`.
        span: Span,
    },
    /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`.
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Expr>>,
        /// `(WHEN, THEN)` pairs.
        branches: Vec<(Expr, Expr)>,
        /// The ELSE result.
        otherwise: Option<Box<Expr>>,
        /// From `CASE` to `END`.
        span: Span,
    },
    /// `expr IS [NOT] NULL`.
    IsNull {
        /// The value tested.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
        /// The whole test.
        span: Span,
    },
    /// `expr IS [NOT] TRUE|FALSE|UNKNOWN` (`value` is `None` for UNKNOWN).
    IsBool {
        /// The value tested.
        expr: Box<Expr>,
        /// TRUE, FALSE, or `None` for UNKNOWN.
        value: Option<bool>,
        /// `IS NOT ...`.
        negated: bool,
        /// The whole test.
        span: Span,
    },
    /// `expr [NOT] IN (list)`.
    InList {
        /// The value tested.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
        /// The whole test.
        span: Span,
    },
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// The value tested.
        expr: Box<Expr>,
        /// The lower bound.
        low: Box<Expr>,
        /// The upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
        /// The whole test.
        span: Span,
    },
    /// `expr [NOT] LIKE pattern [ESCAPE e]` or `expr [NOT] SIMILAR TO pattern [ESCAPE e]`.
    Like {
        /// The value tested.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The escape character.
        escape: Option<Box<Expr>>,
        /// `SIMILAR TO` (a regular expression) rather than `LIKE`.
        similar: bool,
        /// `NOT LIKE` / `NOT SIMILAR TO`.
        negated: bool,
        /// The whole test.
        span: Span,
    },
    /// `(left - right) unit [TO unit]`: the difference of two datetimes as an interval, as in KDA's console
    /// template `FLOOR(("S".ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND)`.
    DatetimeMinus {
        /// The later datetime.
        left: Box<Expr>,
        /// The earlier datetime.
        right: Box<Expr>,
        /// The interval's leading field.
        leading: TimeUnit,
        /// The trailing field of `... TO ...`.
        trailing: Option<TimeUnit>,
        /// From `(` to the unit.
        span: Span,
    },
    /// `CURSOR(query)`, an argument of a table function.
    Cursor {
        /// The query read.
        query: Box<Query>,
        /// From `CURSOR` to `)`.
        span: Span,
    },
}

impl Expr {
    /// Where the expression was written.
    pub fn span(&self) -> Span {
        match self {
            Expr::Literal { span, .. }
            | Expr::Column { span, .. }
            | Expr::Unary { span, .. }
            | Expr::Binary { span, .. }
            | Expr::Function { span, .. }
            | Expr::Cast { span, .. }
            | Expr::Case { span, .. }
            | Expr::IsNull { span, .. }
            | Expr::IsBool { span, .. }
            | Expr::InList { span, .. }
            | Expr::Between { span, .. }
            | Expr::Like { span, .. }
            | Expr::DatetimeMinus { span, .. }
            | Expr::Cursor { span, .. } => *span,
        }
    }
}
