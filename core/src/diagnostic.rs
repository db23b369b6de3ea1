//! Diagnostics: what validation reports, and how it is printed.
//!
//! The first line of each diagnostic is GNU style (`path:line:col: error[code]: message`), which editors, CI
//! annotators and `grep` understand; the source line and a caret follow, rustc style.

use std::fmt::Write as _;

/// Longest stretch of a source line a diagnostic shows.
const MAX_SHOWN_CHARS: usize = 120;

/// How bad a diagnostic is. Only errors make a pipeline invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The pipeline is invalid.
    Error,
    /// Worth a look; the pipeline is still valid.
    Warning,
}

/// Stable diagnostic codes. Each names one kind of mistake; tests and users match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// The file could not be read.
    Io,
    /// The file is larger than the loader accepts.
    FileTooLarge,
    /// The file is not UTF-8.
    NotUtf8,
    /// The file holds no pipeline.
    EmptyFile,
    /// The YAML does not parse.
    YamlSyntax,
    /// The YAML exceeds a parser budget (alias bombs, deep nesting, huge documents).
    YamlBudget,
    /// A mapping repeats a key.
    DuplicateKey,
    /// A key the schema does not know.
    UnknownKey,
    /// A required key is missing.
    MissingKey,
    /// A value of the wrong JSON type.
    WrongType,
    /// A value outside what the schema allows.
    InvalidValue,
    /// A `type:` that names no registered plugin.
    UnknownType,
    /// A duration that does not parse.
    InvalidDuration,
    /// A byte size that does not parse.
    InvalidSize,
    /// A number or size outside its allowed range.
    OutOfRange,
    /// A name that refers to nothing.
    DanglingReference,
    /// A component nothing uses.
    Unused,
    /// Data would flow in a circle.
    Cycle,
    /// A referenced file does not exist.
    FileNotFound,
    /// A literal credential in the file.
    LiteralSecret,
    /// A malformed `${...}` reference.
    Interpolation,
    /// A `${VAR}` that is not set (with `--env`).
    EnvUnset,
    /// SQL that does not parse.
    SqlSyntax,
    /// A stream, column or function the SQL names that does not exist.
    SqlUnknown,
    /// SQL whose types do not fit.
    SqlType,
    /// Valid KDA SQL that this version of sluice does not run yet.
    NotSupported,
}

impl Code {
    /// The code as printed inside `error[...]`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::FileTooLarge => "file-too-large",
            Code::NotUtf8 => "not-utf8",
            Code::EmptyFile => "empty-file",
            Code::YamlSyntax => "yaml-syntax",
            Code::YamlBudget => "yaml-budget",
            Code::DuplicateKey => "duplicate-key",
            Code::UnknownKey => "unknown-key",
            Code::MissingKey => "missing-key",
            Code::WrongType => "wrong-type",
            Code::InvalidValue => "invalid-value",
            Code::UnknownType => "unknown-type",
            Code::InvalidDuration => "invalid-duration",
            Code::InvalidSize => "invalid-size",
            Code::OutOfRange => "out-of-range",
            Code::DanglingReference => "dangling-reference",
            Code::Unused => "unused",
            Code::Cycle => "cycle",
            Code::FileNotFound => "file-not-found",
            Code::LiteralSecret => "literal-secret",
            Code::Interpolation => "interpolation",
            Code::EnvUnset => "env-unset",
            Code::SqlSyntax => "sql-syntax",
            Code::SqlUnknown => "sql-unknown",
            Code::SqlType => "sql-type",
            Code::NotSupported => "not-supported",
        }
    }
}

/// A 1-based position in a source file; columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// How many characters the caret underlines (at least one is drawn).
    pub len: u32,
}

impl Position {
    /// A position with a one-character caret.
    pub const fn at(line: u32, column: u32) -> Self {
        Position { line, column, len: 1 }
    }
}

/// One finding about one place in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user named it.
    pub path: String,
    /// Where in the file.
    pub position: Position,
    /// Error or warning.
    pub severity: Severity,
    /// What kind of finding.
    pub code: Code,
    /// One sentence.
    pub message: String,
    /// An optional hint, such as "did you mean ...".
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `position` of `path`.
    pub fn error(path: &str, position: Position, code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_owned(),
            position,
            severity: Severity::Error,
            code,
            message: message.into(),
            help: None,
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// The first line: `path:line:col: error[code]: message`.
    pub fn headline(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!(
            "{}:{}:{}: {severity}[{}]: {}",
            self.path,
            self.position.line,
            self.position.column,
            self.code.as_str(),
            self.message
        )
    }

    /// The headline, then the source line with a caret under the position, then the hint.
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = self.headline();
        out.push('\n');
        if let Some(line) = source.and_then(|s| s.lines().nth(self.position.line.saturating_sub(1) as usize)) {
            let number = self.position.line.to_string();
            let gutter = " ".repeat(number.len());
            // Tabs would shift the caret; show them as one space each, as they count as one column.
            let chars: Vec<char> = line.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
            let column = (self.position.column.saturating_sub(1) as usize).min(chars.len());
            // Show at most a window of a long line (minified or hostile files), around the caret.
            let (from, to) = if chars.len() <= MAX_SHOWN_CHARS {
                (0, chars.len())
            } else {
                let from = column.saturating_sub(MAX_SHOWN_CHARS / 2);
                (from, (from + MAX_SHOWN_CHARS).min(chars.len()))
            };
            let lead = if from > 0 { "…" } else { "" };
            let tail = if to < chars.len() { "…" } else { "" };
            let shown: String = chars[from..to].iter().collect();
            let start = column - from + lead.chars().count();
            let len = (self.position.len.max(1) as usize).min(to.saturating_sub(column).max(1));
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{number} | {lead}{shown}{tail}");
            let _ = writeln!(out, "{gutter} | {}{}", " ".repeat(start), "^".repeat(len));
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  = help: {help}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_headline_source_line_and_caret() {
        let d = Diagnostic::error(
            "p.yaml",
            Position { line: 2, column: 3, len: 4 },
            Code::UnknownKey,
            "unknown key `evry`",
        )
        .with_help(Some("did you mean `every`?".into()));
        let text = d.render(Some("name: x\n  evry: 10s\n"));
        assert_eq!(
            text,
            "p.yaml:2:3: error[unknown-key]: unknown key `evry`\n  |\n2 |   evry: 10s\n  |   ^^^^\n  = help: did you mean `every`?\n"
        );
    }

    #[test]
    fn long_lines_are_shown_as_a_window_around_the_caret() {
        let line = "x".repeat(10_000);
        let d = Diagnostic::error("p", Position::at(1, 5_000), Code::YamlBudget, "m");
        let text = d.render(Some(&line));
        let shown = text.lines().nth(2).unwrap_or_default();
        assert!(shown.starts_with("1 | …") && shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().count(), "1 | ".len() + MAX_SHOWN_CHARS + 2);
        let caret = text.lines().nth(3).unwrap_or_default();
        assert_eq!(caret.find('^'), Some("  | ".len() + 1 + MAX_SHOWN_CHARS / 2));
    }

    #[test]
    fn caret_stays_inside_the_line() {
        let d = Diagnostic::error("p", Position { line: 1, column: 40, len: 9 }, Code::Io, "m");
        assert!(d.render(Some("ab")).ends_with("  |   ^\n"));
    }
}
