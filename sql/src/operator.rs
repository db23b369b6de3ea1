//! Operators, shared by the parser (which builds them) and the evaluator (which applies them).

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `%` (KDA also has MOD())
    Modulo,
    /// `||`
    Concat,
    /// `=`
    Eq,
    /// `<>` or `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND`
    And,
    /// `OR`
    Or,
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`
    Negate,
    /// `+x`
    Plus,
    /// `NOT x`
    Not,
}

/// A time unit, as in `FLOOR(x TO MINUTE)`, `EXTRACT(HOUR FROM x)` and `INTERVAL '1' MINUTE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// YEAR
    Year,
    /// MONTH
    Month,
    /// DAY
    Day,
    /// HOUR
    Hour,
    /// MINUTE
    Minute,
    /// SECOND
    Second,
    /// MILLISECOND (EXTRACT only)
    Millisecond,
}

impl TimeUnit {
    /// The unit's SQL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            TimeUnit::Year => "YEAR",
            TimeUnit::Month => "MONTH",
            TimeUnit::Day => "DAY",
            TimeUnit::Hour => "HOUR",
            TimeUnit::Minute => "MINUTE",
            TimeUnit::Second => "SECOND",
            TimeUnit::Millisecond => "MILLISECOND",
        }
    }

    /// The unit named by `keyword` (case-insensitive).
    pub fn from_keyword(keyword: &str) -> Option<Self> {
        [
            TimeUnit::Year,
            TimeUnit::Month,
            TimeUnit::Day,
            TimeUnit::Hour,
            TimeUnit::Minute,
            TimeUnit::Second,
            TimeUnit::Millisecond,
        ]
        .into_iter()
        .find(|u| u.keyword().eq_ignore_ascii_case(keyword))
    }
}
