//! The lexer: SQL text into [`Token`]s with spans.
//!
//! - Words (identifiers and keywords) are upper-cased: `foo` is `FOO`; keywords are words the parser recognizes.
//! - `"Exact Case"` is a quoted identifier, kept exact; `""` inside is one quote.
//! - `'it''s'` is a string; `U&'\0041'` a Unicode-escape string (its escapes are undone by the parser, which sees
//!   a following `UESCAPE '!'`); `X'0F'` a binary string.
//! - Numbers keep their text: `42`, `1.5`, `.5`, `1.5E3`.
//! - `--` comments run to the end of the line, `/* */` comments may span lines.
//!
//! Lexical errors (an unterminated string, a stray `?`) become [`TokenKind::Error`] tokens, so the parser
//! reports them at their place and recovers like after any syntax error.

use crate::error::Span;

/// Identifiers longer than this are rejected, as by KDA.
pub const MAX_IDENTIFIER_CHARS: usize = 128;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An unquoted identifier or keyword, upper-cased.
    Word(String),
    /// A `"quoted"` identifier, exact.
    QuotedIdent(String),
    /// A `'string'`, quotes undone.
    String(String),
    /// A `U&'...'` string, quotes undone but Unicode escapes not yet.
    UnicodeString(String),
    /// An `X'...'` binary string, decoded.
    Binary(Vec<u8>),
    /// A number, as written.
    Number(String),
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
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
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `;`
    Semicolon,
    /// `:`
    Colon,
    /// Text that is not a token, with the message to report.
    Error(String),
    /// The end of the text.
    Eof,
}

/// A token and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is.
    pub span: Span,
}

/// Splits `src` into tokens, ending with [`TokenKind::Eof`].
pub fn tokenize(src: &str) -> Vec<Token> {
    let mut lexer = Lexer { src, pos: 0, line: 1, column: 1 };
    let mut tokens = Vec::with_capacity(src.len() / 4 + 1);
    loop {
        let token = lexer.next_token();
        let end = token.kind == TokenKind::Eof;
        tokens.push(token);
        if end {
            return tokens;
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    line: u32,
    column: u32,
}

/// Where a token starts.
#[derive(Clone, Copy)]
struct Mark {
    pos: usize,
    line: u32,
    column: u32,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        let mut chars = self.src[self.pos..].chars();
        chars.next();
        chars.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn mark(&self) -> Mark {
        Mark { pos: self.pos, line: self.line, column: self.column }
    }

    fn span(&self, from: Mark) -> Span {
        Span { line: from.line, column: from.column, start: from.pos, end: self.pos }
    }

    fn token(&self, from: Mark, kind: TokenKind) -> Token {
        Token { kind, span: self.span(from) }
    }

    /// Skips whitespace and comments; an unterminated block comment is an error token.
    fn skip_trivia(&mut self) -> Option<Token> {
        loop {
            match (self.peek(), self.peek_second()) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('-'), Some('-')) => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let start = self.mark();
                    self.bump();
                    self.bump();
                    let end = self.src[self.pos..].find("*/");
                    let Some(end) = end else {
                        while self.bump().is_some() {}
                        return Some(self.token(start, TokenKind::Error("unterminated `/*` comment".into())));
                    };
                    let stop = self.pos + end + 2;
                    while self.pos < stop {
                        self.bump();
                    }
                }
                _ => return None,
            }
        }
    }

    fn next_token(&mut self) -> Token {
        if let Some(error) = self.skip_trivia() {
            return error;
        }
        let start = self.mark();
        let Some(c) = self.bump() else {
            return self.token(start, TokenKind::Eof);
        };
        let kind = match c {
            '\'' => self.quoted('\'', TokenKind::String),
            '"' => self.quoted('"', TokenKind::QuotedIdent),
            'u' | 'U' if self.peek() == Some('&') && self.peek_second() == Some('\'') => {
                self.bump();
                self.bump();
                self.quoted('\'', TokenKind::UnicodeString)
            }
            'x' | 'X' if self.peek() == Some('\'') => {
                self.bump();
                self.binary()
            }
            c if c.is_alphabetic() || c == '_' => {
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    self.bump();
                }
                let text = &self.src[start.pos..self.pos];
                if text.chars().count() > MAX_IDENTIFIER_CHARS {
                    TokenKind::Error(format!("identifier longer than {MAX_IDENTIFIER_CHARS} characters"))
                } else {
                    TokenKind::Word(text.to_uppercase())
                }
            }
            c if c.is_ascii_digit() || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) => {
                self.number(start)
            }
            '+' => TokenKind::Plus,
            '-' => TokenKind::Minus,
            '*' => TokenKind::Star,
            '/' => TokenKind::Slash,
            '%' => TokenKind::Percent,
            '=' => TokenKind::Eq,
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            ',' => TokenKind::Comma,
            '.' => TokenKind::Dot,
            ';' => TokenKind::Semicolon,
            ':' => TokenKind::Colon,
            '|' if self.peek() == Some('|') => {
                self.bump();
                TokenKind::Concat
            }
            '!' if self.peek() == Some('=') => {
                self.bump();
                TokenKind::NotEq
            }
            '<' => match self.peek() {
                Some('=') => {
                    self.bump();
                    TokenKind::LtEq
                }
                Some('>') => {
                    self.bump();
                    TokenKind::NotEq
                }
                _ => TokenKind::Lt,
            },
            '>' if self.peek() == Some('=') => {
                self.bump();
                TokenKind::GtEq
            }
            '>' => TokenKind::Gt,
            other => TokenKind::Error(format!("unexpected character `{other}`")),
        };
        self.token(start, kind)
    }

    /// The rest of a `'...'` or `"..."` whose opening quote is consumed; a doubled quote is one quote.
    fn quoted(&mut self, quote: char, make: fn(String) -> TokenKind) -> TokenKind {
        let mut text = String::new();
        loop {
            match self.bump() {
                None => {
                    let what = if quote == '"' { "quoted identifier" } else { "string" };
                    return TokenKind::Error(format!("unterminated {what}: missing the closing `{quote}`"));
                }
                Some(c) if c == quote => {
                    if self.peek() == Some(quote) {
                        self.bump();
                        text.push(quote);
                    } else {
                        break;
                    }
                }
                Some(c) => text.push(c),
            }
        }
        if quote == '"' {
            if text.is_empty() {
                return TokenKind::Error("empty quoted identifier `\"\"`".into());
            }
            if text.chars().count() > MAX_IDENTIFIER_CHARS {
                return TokenKind::Error(format!("identifier longer than {MAX_IDENTIFIER_CHARS} characters"));
            }
        }
        make(text)
    }

    /// The rest of `X'0F'` after the opening quote.
    fn binary(&mut self) -> TokenKind {
        let TokenKind::String(text) = self.quoted('\'', TokenKind::String) else {
            return TokenKind::Error("unterminated binary string: missing the closing `'`".into());
        };
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
            return TokenKind::Error("a binary string needs an even number of hexadecimal digits: X'0F'".into());
        }
        let hex = |b: u8| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        };
        TokenKind::Binary(digits.chunks(2).map(|pair| hex(pair[0]) << 4 | hex(pair[1])).collect())
    }

    /// The rest of a number: digits, an optional fraction and an optional exponent.
    fn number(&mut self, start: Mark) -> TokenKind {
        let digits = |lexer: &mut Self| {
            while lexer.peek().is_some_and(|c| c.is_ascii_digit()) {
                lexer.bump();
            }
        };
        digits(self);
        if !self.src[start.pos..self.pos].contains('.') && self.peek() == Some('.') {
            self.bump();
            digits(self);
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let rest = &self.src[self.pos + 1..];
            let sign = usize::from(rest.starts_with(['+', '-']));
            if rest[sign..].starts_with(|c: char| c.is_ascii_digit()) {
                self.bump();
                if sign == 1 {
                    self.bump();
                }
                digits(self);
            }
        }
        TokenKind::Number(self.src[start.pos..self.pos].to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn words_are_upper_cased_and_quoted_identifiers_kept_exact() {
        assert_eq!(
            kinds("foo \"Exact \"\"Case\"\"\" _x$1"),
            vec![
                TokenKind::Word("FOO".into()),
                TokenKind::QuotedIdent("Exact \"Case\"".into()),
                TokenKind::Word("_X$1".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn comments_are_skipped_and_spans_count_lines_and_characters() {
        let tokens = tokenize("-- a comment\n/* block\n comment */ é, 'x'");
        assert_eq!(tokens[0].kind, TokenKind::Word("É".into()));
        assert_eq!((tokens[0].span.line, tokens[0].span.column), (3, 13));
        assert_eq!((tokens[1].span.line, tokens[1].span.column), (3, 14));
        assert_eq!(tokens[2].kind, TokenKind::String("x".into()));
        assert_eq!((tokens[2].span.line, tokens[2].span.column), (3, 16));
    }

    #[test]
    fn literals_numbers_and_operators() {
        assert_eq!(
            kinds("'it''s' X'0f1A' u&'\\0041' 1 1.5 .5 1.5E3 2e-2 3e"),
            vec![
                TokenKind::String("it's".into()),
                TokenKind::Binary(vec![0x0f, 0x1a]),
                TokenKind::UnicodeString("\\0041".into()),
                TokenKind::Number("1".into()),
                TokenKind::Number("1.5".into()),
                TokenKind::Number(".5".into()),
                TokenKind::Number("1.5E3".into()),
                TokenKind::Number("2e-2".into()),
                TokenKind::Number("3".into()),
                TokenKind::Word("E".into()),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds("+-*/%||=<>!=<<=>>=(),.;:"),
            vec![
                TokenKind::Plus,
                TokenKind::Minus,
                TokenKind::Star,
                TokenKind::Slash,
                TokenKind::Percent,
                TokenKind::Concat,
                TokenKind::Eq,
                TokenKind::NotEq,
                TokenKind::NotEq,
                TokenKind::Lt,
                TokenKind::LtEq,
                TokenKind::Gt,
                TokenKind::GtEq,
                TokenKind::LParen,
                TokenKind::RParen,
                TokenKind::Comma,
                TokenKind::Dot,
                TokenKind::Semicolon,
                TokenKind::Colon,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn lexical_errors_become_error_tokens() {
        for bad in ["'open", "\"open", "/* open", "?", "X'0'", "\"\""] {
            let tokens = tokenize(bad);
            assert!(matches!(tokens[0].kind, TokenKind::Error(_)), "{bad}: {tokens:?}");
            assert_eq!(tokens.last().map(|t| &t.kind), Some(&TokenKind::Eof));
        }
    }
}
