//! Errors with a place in the SQL text.

/// A place in the SQL text: 1-based line and column (in characters), and the byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset just past the end.
    pub end: usize,
}

/// What went wrong, and where (when it is about the SQL text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    /// What kind of problem, for codes in diagnostics.
    pub kind: SqlErrorKind,
    /// One sentence.
    pub message: String,
    /// Where in the SQL text, if it is about the text.
    pub span: Option<Span>,
    /// An optional hint ("did you mean ...").
    pub help: Option<String>,
}

/// The kinds of SQL errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlErrorKind {
    /// The text does not parse.
    Syntax,
    /// A stream, column or function that does not exist.
    Unknown,
    /// Types that do not fit.
    Type,
    /// Valid KDA SQL that sluice does not run yet.
    NotSupported,
    /// A value that failed at run time (division by zero, a failed cast): the row goes to error_stream.
    Data,
}

impl SqlError {
    /// An error of `kind` at `span`.
    pub fn at(kind: SqlErrorKind, span: Span, message: impl Into<String>) -> Self {
        SqlError { kind, message: message.into(), span: Some(span), help: None }
    }

    /// A run-time data error (no place in the text).
    pub fn data(message: impl Into<String>) -> Self {
        SqlError { kind: SqlErrorKind::Data, message: message.into(), span: None, help: None }
    }

    /// The same error with another message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}
