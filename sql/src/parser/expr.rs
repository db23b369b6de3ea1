//! Expressions: precedence climbing over binary operators, literals, and the special-syntax functions
//! normalized into plain calls (see the [parser](super)'s table).
//!
//! Binding power, loosest first: `OR` 1, `AND` 2, prefix `NOT` 3, comparisons / `IS` / `IN` / `BETWEEN` /
//! `LIKE` / `SIMILAR TO` 4, `||` 5, `+ -` 6, `* / %` 7, then unary `- +` and primaries. Binary operators
//! associate to the left; bounds of `BETWEEN` and patterns of `LIKE` bind at `||` level.

use super::{PResult, Parser, is_reserved};
use crate::ast::{Expr, Ident, Literal, Over, cover};
use crate::error::{Span, SqlError, SqlErrorKind};
use crate::lexer::TokenKind;
use crate::literal::{parse_date, parse_time, parse_timestamp};
use crate::operator::{BinaryOp, TimeUnit, UnaryOp};
use crate::types::SqlType;
use crate::value::Decimal;

const OR: u8 = 1;
const AND: u8 = 2;
const COMPARE: u8 = 4;
const CONCAT: u8 = 5;
const ADD: u8 = 6;
const MULTIPLY: u8 = 7;

/// What follows an operand.
enum Infix {
    Binary(BinaryOp),
    Is,
    /// `[NOT] IN`, `[NOT] BETWEEN`, `[NOT] LIKE`, `[NOT] SIMILAR TO`: the keyword, and whether NOT came first.
    Keyword(&'static str, bool),
}

/// Calls written without parentheses.
const NILADIC: &[&str] =
    &["CURRENT_DATE", "CURRENT_ROW_TIMESTAMP", "CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIMESTAMP"];

fn syntax(span: Span, message: impl Into<String>) -> SqlError {
    SqlError::at(SqlErrorKind::Syntax, span, message)
}

fn string_literal(text: &str, span: Span) -> Expr {
    Expr::Literal { value: Literal::String(text.to_owned()), span }
}

impl Parser<'_> {
    /// A whole expression.
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.expr_bp(OR)
    }

    /// An expression whose operators bind at least as tightly as `min`.
    fn expr_bp(&mut self, min: u8) -> PResult<Expr> {
        self.enter()?;
        let mut left = self.prefix()?;
        // Each operator of a chain deepens the (left-deep) tree by one.
        let mut levels = 1;
        while let Some((prec, infix)) = self.infix() {
            if prec < min {
                break;
            }
            self.enter()?;
            levels += 1;
            left = self.infix_rest(left, prec, infix)?;
        }
        self.depth -= levels;
        Ok(left)
    }

    /// The first operand. (Dispatching in a small function keeps the stack frames of nested parentheses small:
    /// they recurse through here.)
    fn prefix(&mut self) -> PResult<Expr> {
        match &self.peek().kind {
            TokenKind::Word(w) if w == "NOT" => self.not(),
            TokenKind::Minus | TokenKind::Plus => self.unary(),
            TokenKind::LParen => self.parenthesized(),
            _ => self.primary(),
        }
    }

    /// Prefix `NOT`, looser than comparisons: `NOT a = b` is `NOT (a = b)`.
    fn not(&mut self) -> PResult<Expr> {
        let start = self.advance().span;
        let operand = self.expr_bp(COMPARE)?;
        Ok(Expr::Unary { op: UnaryOp::Not, span: cover(start, operand.span()), expr: Box::new(operand) })
    }

    /// `(expr)`, or `(a - b) unit [TO unit]` (a datetime difference as an interval).
    fn parenthesized(&mut self) -> PResult<Expr> {
        if self.is_word_at(1, "SELECT") {
            return Err(self.not_supported(self.span(), "a scalar subquery"));
        }
        let start = self.advance().span;
        let inner = self.expr()?;
        self.expect(&TokenKind::RParen, "`)`", "to close `(`")?;
        let unit = match &self.peek().kind {
            TokenKind::Word(w) => TimeUnit::from_keyword(w).filter(|u| *u != TimeUnit::Millisecond),
            _ => None,
        };
        match (inner, unit) {
            (Expr::Binary { left, op: BinaryOp::Subtract, right, .. }, Some(_)) => {
                let leading = self.interval_unit()?;
                let trailing = if self.eat_kw("TO") { Some(self.interval_unit()?) } else { None };
                Ok(Expr::DatetimeMinus { left, right, leading, trailing, span: cover(start, self.prev) })
            }
            (inner, _) => Ok(inner),
        }
    }

    /// The operator here, with its binding power, if any.
    fn infix(&self) -> Option<(u8, Infix)> {
        let op = match &self.peek().kind {
            TokenKind::Eq => BinaryOp::Eq,
            TokenKind::NotEq => BinaryOp::NotEq,
            TokenKind::Lt => BinaryOp::Lt,
            TokenKind::LtEq => BinaryOp::LtEq,
            TokenKind::Gt => BinaryOp::Gt,
            TokenKind::GtEq => BinaryOp::GtEq,
            TokenKind::Concat => BinaryOp::Concat,
            TokenKind::Plus => BinaryOp::Add,
            TokenKind::Minus => BinaryOp::Subtract,
            TokenKind::Star => BinaryOp::Multiply,
            TokenKind::Slash => BinaryOp::Divide,
            TokenKind::Percent => BinaryOp::Modulo,
            TokenKind::Word(w) => {
                return match w.as_str() {
                    "OR" => Some((OR, Infix::Binary(BinaryOp::Or))),
                    "AND" => Some((AND, Infix::Binary(BinaryOp::And))),
                    "IS" => Some((COMPARE, Infix::Is)),
                    "NOT" => ["IN", "BETWEEN", "LIKE", "SIMILAR"]
                        .into_iter()
                        .find(|k| self.is_word_at(1, k))
                        .map(|k| (COMPARE, Infix::Keyword(k, true))),
                    _ => ["IN", "BETWEEN", "LIKE", "SIMILAR"]
                        .into_iter()
                        .find(|k| *k == w.as_str())
                        .map(|k| (COMPARE, Infix::Keyword(k, false))),
                };
            }
            _ => return None,
        };
        let prec = match op {
            BinaryOp::Concat => CONCAT,
            BinaryOp::Add | BinaryOp::Subtract => ADD,
            BinaryOp::Multiply | BinaryOp::Divide | BinaryOp::Modulo => MULTIPLY,
            _ => COMPARE,
        };
        Some((prec, Infix::Binary(op)))
    }

    /// The rest of an expression after `left`, from its operator on.
    fn infix_rest(&mut self, left: Expr, prec: u8, infix: Infix) -> PResult<Expr> {
        let start = left.span();
        let expr = Box::new(left);
        match infix {
            Infix::Binary(op) => {
                self.advance();
                let right = self.expr_bp(prec + 1)?;
                Ok(Expr::Binary { span: cover(start, right.span()), left: expr, op, right: Box::new(right) })
            }
            Infix::Is => {
                self.advance();
                let negated = self.eat_kw("NOT");
                let value = match &self.peek().kind {
                    TokenKind::Word(w) if w == "NULL" => {
                        self.advance();
                        return Ok(Expr::IsNull { expr, negated, span: cover(start, self.prev) });
                    }
                    TokenKind::Word(w) if w == "TRUE" => Some(true),
                    TokenKind::Word(w) if w == "FALSE" => Some(false),
                    TokenKind::Word(w) if w == "UNKNOWN" => None,
                    _ => return Err(self.unexpected("`NULL`, `TRUE`, `FALSE` or `UNKNOWN`", "after `IS`")),
                };
                self.advance();
                Ok(Expr::IsBool { expr, value, negated, span: cover(start, self.prev) })
            }
            Infix::Keyword(keyword, negated) => {
                if negated {
                    self.advance();
                }
                self.advance();
                match keyword {
                    "IN" => {
                        self.expect(&TokenKind::LParen, "`(`", "after `IN`")?;
                        if self.is_kw("SELECT") {
                            return Err(self.not_supported(self.span(), "IN (subquery)"));
                        }
                        let list = self.expr_list()?;
                        self.expect(&TokenKind::RParen, "`)` or `,`", "in the IN list")?;
                        Ok(Expr::InList { expr, list, negated, span: cover(start, self.prev) })
                    }
                    "BETWEEN" => {
                        let low = Box::new(self.expr_bp(CONCAT)?);
                        self.expect_kw("AND", "after the lower bound of BETWEEN")?;
                        let high = Box::new(self.expr_bp(CONCAT)?);
                        Ok(Expr::Between { expr, low, high, negated, span: cover(start, self.prev) })
                    }
                    _ => {
                        let similar = keyword == "SIMILAR";
                        if similar {
                            self.expect_kw("TO", "after `SIMILAR`")?;
                        }
                        let pattern = Box::new(self.expr_bp(CONCAT)?);
                        let escape = if self.eat_kw("ESCAPE") { Some(Box::new(self.expr_bp(CONCAT)?)) } else { None };
                        Ok(Expr::Like { expr, pattern, escape, similar, negated, span: cover(start, self.prev) })
                    }
                }
            }
        }
    }

    /// `-x`, `+x` (a minus on a number literal folds into it).
    fn unary(&mut self) -> PResult<Expr> {
        let op = match self.peek().kind {
            TokenKind::Minus => UnaryOp::Negate,
            TokenKind::Plus => UnaryOp::Plus,
            _ => return Err(self.unexpected("`-` or `+`", "")),
        };
        let start = self.advance().span;
        self.enter()?;
        let operand = match self.peek().kind {
            TokenKind::Minus | TokenKind::Plus => self.unary()?,
            TokenKind::LParen => self.parenthesized()?,
            _ => self.primary()?,
        };
        self.leave();
        let span = cover(start, operand.span());
        if op == UnaryOp::Negate
            && let Expr::Literal { value, .. } = &operand
            && let Some(value) = negate(value)
        {
            return Ok(Expr::Literal { value, span });
        }
        Ok(Expr::Unary { op, expr: Box::new(operand), span })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let token = self.peek().clone();
        let span = token.span;
        let literal = |value| Ok(Expr::Literal { value, span });
        match token.kind {
            TokenKind::Number(text) => {
                self.advance();
                literal(number(&text, span)?)
            }
            TokenKind::String(text) => {
                self.advance();
                literal(Literal::String(text))
            }
            TokenKind::Binary(bytes) => {
                self.advance();
                literal(Literal::Binary(bytes))
            }
            TokenKind::UnicodeString(raw) => {
                self.advance();
                let escape = if self.eat_kw("UESCAPE") { self.uescape()? } else { '\\' };
                let text = unescape_unicode(&raw, escape).map_err(|message| syntax(span, message))?;
                Ok(Expr::Literal { value: Literal::String(text), span: cover(span, self.prev) })
            }
            TokenKind::QuotedIdent(_) => self.name_expr(),
            TokenKind::Word(word) => self.word_expr(&word, span),
            _ => Err(self.unexpected("an expression", "")),
        }
    }

    /// An expression that starts with a word: a keyword construct, a call, or a column.
    fn word_expr(&mut self, word: &str, span: Span) -> PResult<Expr> {
        let next_is_string = matches!(self.peek_at(1).kind, TokenKind::String(_));
        let literal = |value| Ok(Expr::Literal { value, span });
        match word {
            "NULL" => {
                self.advance();
                literal(Literal::Null)
            }
            "TRUE" | "FALSE" => {
                self.advance();
                literal(Literal::Boolean(word == "TRUE"))
            }
            "UNKNOWN" => {
                self.advance();
                literal(Literal::Unknown)
            }
            "DATE" | "TIME" | "TIMESTAMP" if next_is_string => self.datetime_literal(word),
            "INTERVAL" => self.interval_literal(),
            "CASE" => self.case(),
            "CAST" => self.cast(),
            "CURSOR" if self.peek_at(1).kind == TokenKind::LParen => {
                self.advance();
                self.advance();
                let query = self.query()?;
                self.expect(&TokenKind::RParen, "`)`", "to close `CURSOR(`")?;
                Ok(Expr::Cursor { query: Box::new(query), span: cover(span, self.prev) })
            }
            "EXISTS" => Err(self.not_supported(span, "EXISTS")),
            _ if NILADIC.contains(&word) && self.peek_at(1).kind != TokenKind::LParen => {
                let name = self.ident("a function name", "")?;
                Ok(Expr::Function { name, args: Vec::new(), star: false, distinct: false, over: None, span })
            }
            _ if is_reserved(word) => Err(self.unexpected("an expression", "")),
            _ => self.name_expr(),
        }
    }

    /// A column reference `a.b."C"`, or a call `f(...)`.
    fn name_expr(&mut self) -> PResult<Expr> {
        let first = self.ident("a column or function name", "")?;
        if self.eat(&TokenKind::LParen) {
            return self.call(first);
        }
        let start = first.span;
        let mut parts = vec![first];
        while self.at(&TokenKind::Dot) {
            // After a dot, any word names a part: `t.count`, `s.ROWTIME`.
            let token = self.peek_at(1).clone();
            let (name, quoted) = match token.kind {
                TokenKind::Word(name) => (name, false),
                TokenKind::QuotedIdent(name) => (name, true),
                _ => {
                    self.advance();
                    return Err(self.unexpected("a column name", "after `.`"));
                }
            };
            self.advance();
            self.advance();
            parts.push(Ident { name, quoted, span: token.span });
        }
        Ok(Expr::Column { parts, span: cover(start, self.prev) })
    }

    /// A call, after `name(`: special syntax for the functions that have it, else plain arguments.
    fn call(&mut self, name: Ident) -> PResult<Expr> {
        let special = if name.quoted { "" } else { name.name.as_str() };
        match special {
            "FLOOR" | "CEIL" | "CEILING" => {
                let value = self.expr()?;
                if self.eat_kw("TO") {
                    let unit = self.time_unit("after `TO`")?;
                    let renamed = if special == "FLOOR" { "FLOOR_TO" } else { "CEIL_TO" };
                    let name = Ident { name: renamed.into(), ..name };
                    return self.close_call(name, vec![value, unit]);
                }
                self.finish_call(name, vec![value])
            }
            "STEP" => {
                let value = self.expr()?;
                if !self.eat_kw("BY") {
                    self.expect(&TokenKind::Comma, "`BY`", "in STEP(value BY width)")?;
                }
                let width = self.expr()?;
                self.close_call(name, vec![value, width])
            }
            "EXTRACT" => {
                let unit = self.time_unit("in EXTRACT(unit FROM value)")?;
                self.expect_kw("FROM", "after the time unit")?;
                let value = self.expr()?;
                self.close_call(name, vec![unit, value])
            }
            "POSITION" => {
                let needle = self.expr_bp(CONCAT)?;
                if self.eat_kw("IN") {
                    let haystack = self.expr()?;
                    return self.close_call(name, vec![needle, haystack]);
                }
                self.finish_call(name, vec![needle])
            }
            "SUBSTRING" => {
                let value = self.expr()?;
                if self.eat_kw("FROM") {
                    let mut args = vec![value, self.expr()?];
                    if self.eat_kw("FOR") {
                        args.push(self.expr()?);
                    }
                    return self.close_call(name, args);
                }
                self.finish_call(name, vec![value])
            }
            "OVERLAY" => {
                let value = self.expr()?;
                if !self.eat_kw("PLACING") {
                    return self.finish_call(name, vec![value]);
                }
                let replacement = self.expr()?;
                self.expect_kw("FROM", "after OVERLAY's replacement")?;
                let mut args = vec![value, replacement, self.expr()?];
                if self.eat_kw("FOR") {
                    args.push(self.expr()?);
                }
                self.close_call(name, args)
            }
            "TRIM" => self.trim(name),
            _ => {
                if self.at(&TokenKind::Star) && self.peek_at(1).kind == TokenKind::RParen {
                    self.advance();
                    self.advance();
                    return self.over(name, Vec::new(), true, false);
                }
                let distinct = self.eat_kw("DISTINCT");
                if !distinct {
                    self.eat_kw("ALL");
                }
                let args = self.call_args()?;
                self.over(name, args, false, distinct)
            }
        }
    }

    /// Arguments after `(` up to and including `)`.
    pub(crate) fn call_args(&mut self) -> PResult<Vec<Expr>> {
        if self.eat(&TokenKind::RParen) {
            return Ok(Vec::new());
        }
        let args = self.expr_list()?;
        self.expect(&TokenKind::RParen, "`)` or `,`", "in the argument list")?;
        Ok(args)
    }

    /// More comma-separated arguments after `args`, the `)`, and an optional OVER.
    fn finish_call(&mut self, name: Ident, mut args: Vec<Expr>) -> PResult<Expr> {
        while self.eat(&TokenKind::Comma) {
            args.push(self.expr()?);
        }
        self.expect(&TokenKind::RParen, "`)` or `,`", "in the argument list")?;
        self.over(name, args, false, false)
    }

    /// The `)` of a special-syntax call.
    fn close_call(&mut self, name: Ident, args: Vec<Expr>) -> PResult<Expr> {
        let context = format!("to close `{}(`", name.name);
        self.expect(&TokenKind::RParen, "`)`", &context)?;
        self.over(name, args, false, false)
    }

    /// A call's optional `OVER w` / `OVER (...)`, and the call node.
    fn over(&mut self, name: Ident, args: Vec<Expr>, star: bool, distinct: bool) -> PResult<Expr> {
        let over = if self.eat_kw("OVER") {
            let over = if self.at(&TokenKind::LParen) {
                Over::Spec(self.window_spec()?)
            } else {
                Over::Named(self.ident("a window name or `(`", "after `OVER`")?)
            };
            Some(Box::new(over))
        } else {
            None
        };
        Ok(Expr::Function { span: cover(name.span, self.prev), name, args, star, distinct, over })
    }

    /// `TRIM([BOTH|LEADING|TRAILING] [chars] FROM s)` or `TRIM(s)`, as `TRIM(mode, chars, s)`.
    fn trim(&mut self, name: Ident) -> PResult<Expr> {
        let blank = string_literal(" ", name.span);
        let written = ["BOTH", "LEADING", "TRAILING"].into_iter().find(|m| self.is_kw(m));
        let mode = match written {
            Some(mode) => string_literal(mode, self.advance().span),
            None => string_literal("BOTH", name.span),
        };
        if self.eat_kw("FROM") {
            let value = self.expr()?;
            return self.close_call(name, vec![mode, blank, value]);
        }
        let first = self.expr()?;
        if self.eat_kw("FROM") {
            let value = self.expr()?;
            return self.close_call(name, vec![mode, first, value]);
        }
        if written.is_some() {
            return Err(self.unexpected("`FROM`", "in TRIM"));
        }
        self.close_call(name, vec![mode, blank, first])
    }

    /// A time unit keyword, as a string literal of the keyword.
    fn time_unit(&mut self, context: &str) -> PResult<Expr> {
        let unit = match &self.peek().kind {
            TokenKind::Word(w) => TimeUnit::from_keyword(w),
            _ => None,
        };
        match unit {
            Some(unit) => Ok(string_literal(unit.keyword(), self.advance().span)),
            None => Err(self.unexpected("a time unit (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND)", context)),
        }
    }

    fn case(&mut self) -> PResult<Expr> {
        let start = self.expect_kw("CASE", "")?;
        let operand = if self.is_kw("WHEN") { None } else { Some(Box::new(self.expr()?)) };
        let mut branches = Vec::new();
        while self.eat_kw("WHEN") {
            let condition = self.expr()?;
            self.expect_kw("THEN", "after the WHEN condition")?;
            branches.push((condition, self.expr()?));
        }
        if branches.is_empty() {
            return Err(self.unexpected("`WHEN`", "in CASE"));
        }
        let otherwise = if self.eat_kw("ELSE") { Some(Box::new(self.expr()?)) } else { None };
        self.expect_kw("END", "to close CASE (or `WHEN`, `ELSE`)")?;
        Ok(Expr::Case { operand, branches, otherwise, span: cover(start, self.prev) })
    }

    fn cast(&mut self) -> PResult<Expr> {
        let start = self.expect_kw("CAST", "")?;
        self.expect(&TokenKind::LParen, "`(`", "after `CAST`")?;
        let expr = Box::new(self.expr()?);
        self.expect_kw("AS", "in CAST(value AS type)")?;
        let to = self.data_type()?;
        self.expect(&TokenKind::RParen, "`)`", "to close `CAST(`")?;
        Ok(Expr::Cast { expr, to, span: cover(start, self.prev) })
    }

    /// A type: `VARCHAR(16)`, `DECIMAL(10, 2)`, `DOUBLE PRECISION`, `INTERVAL DAY TO SECOND`, ...
    pub(crate) fn data_type(&mut self) -> PResult<SqlType> {
        let start = self.span();
        let TokenKind::Word(first) = self.peek().kind.clone() else {
            return Err(self.unexpected("a type", ""));
        };
        self.advance();
        if first == "INTERVAL" {
            let leading = self.interval_unit()?;
            let trailing = if self.eat_kw("TO") { Some(self.interval_unit()?) } else { None };
            let year_month = matches!(leading, TimeUnit::Year | TimeUnit::Month);
            if trailing.is_some_and(|t| matches!(t, TimeUnit::Year | TimeUnit::Month) != year_month) {
                return Err(syntax(cover(start, self.prev), "an INTERVAL type cannot mix YEAR/MONTH with days"));
            }
            return Ok(if year_month { SqlType::IntervalYearMonth } else { SqlType::IntervalDayTime });
        }
        let mut text = first.clone();
        let second = match first.as_str() {
            "DOUBLE" => Some("PRECISION"),
            "CHAR" | "CHARACTER" => Some("VARYING"),
            _ => None,
        };
        if let Some(second) = second
            && self.eat_kw(second)
        {
            text.push(' ');
            text.push_str(second);
        }
        if self.eat(&TokenKind::LParen) {
            text.push('(');
            loop {
                let TokenKind::Number(n) = &self.peek().kind else {
                    return Err(self.unexpected("a number", "in the type's size"));
                };
                text.push_str(n);
                self.advance();
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
                text.push(',');
            }
            self.expect(&TokenKind::RParen, "`)`", "after the type's size")?;
            text.push(')');
        }
        text.parse().map_err(|e: crate::types::TypeError| syntax(cover(start, self.prev), e.to_string()))
    }

    /// `DATE '...'`, `TIME '...'`, `TIMESTAMP '...'`.
    fn datetime_literal(&mut self, kind: &str) -> PResult<Expr> {
        let start = self.advance().span;
        let token = self.advance();
        let TokenKind::String(text) = &token.kind else {
            return Err(syntax(token.span, format!("expected a string after `{kind}`")));
        };
        let span = cover(start, token.span);
        let value = match kind {
            "DATE" => parse_date(text).map(Literal::Date),
            "TIME" => parse_time(text).map(Literal::Time),
            _ => parse_timestamp(text).map(Literal::Timestamp),
        };
        let example = match kind {
            "DATE" => "'2020-01-31'",
            "TIME" => "'13:45:00'",
            _ => "'2020-01-31 13:45:00'",
        };
        let value =
            value.ok_or_else(|| syntax(span, format!("invalid {kind} literal '{text}' (expected e.g. {example})")))?;
        Ok(Expr::Literal { value, span })
    }

    /// `INTERVAL [-]'text' unit [(p)] [TO unit [(p)]]`.
    fn interval_literal(&mut self) -> PResult<Expr> {
        let start = self.expect_kw("INTERVAL", "")?;
        let negative = if self.eat(&TokenKind::Minus) {
            true
        } else {
            self.eat(&TokenKind::Plus);
            false
        };
        let TokenKind::String(text) = self.peek().kind.clone() else {
            return Err(self.unexpected("a string such as '5'", "after `INTERVAL`"));
        };
        let text_span = self.advance().span;
        let leading = self.interval_unit()?;
        let trailing = if self.eat_kw("TO") { Some(self.interval_unit()?) } else { None };
        let span = cover(start, self.prev);
        let invalid = || {
            let qualifier = match trailing {
                Some(t) => format!("{} TO {}", leading.keyword(), t.keyword()),
                None => leading.keyword().to_owned(),
            };
            syntax(text_span, format!("invalid interval '{text}' for {qualifier}"))
        };
        let (magnitude, year_month) = interval_value(&text, leading, trailing).ok_or_else(invalid)?;
        let value = if negative { -magnitude } else { magnitude };
        let value = if year_month {
            let months = i32::try_from(value).map_err(|_| invalid())?;
            Literal::IntervalYearMonth { months, leading, trailing }
        } else {
            Literal::IntervalDayTime { millis: value, leading, trailing }
        };
        Ok(Expr::Literal { value, span })
    }

    /// An interval field (`MINUTE`, with an optional ignored precision `MINUTE(2)`).
    fn interval_unit(&mut self) -> PResult<TimeUnit> {
        let unit = match &self.peek().kind {
            TokenKind::Word(w) => TimeUnit::from_keyword(w).filter(|u| *u != TimeUnit::Millisecond),
            _ => None,
        };
        let Some(unit) = unit else {
            return Err(self.unexpected("an interval unit (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND)", ""));
        };
        self.advance();
        if self.at(&TokenKind::LParen) && matches!(self.peek_at(1).kind, TokenKind::Number(_)) {
            self.advance();
            self.advance();
            if self.eat(&TokenKind::Comma) {
                if !matches!(self.peek().kind, TokenKind::Number(_)) {
                    return Err(self.unexpected("a number", "in the interval precision"));
                }
                self.advance();
            }
            self.expect(&TokenKind::RParen, "`)`", "after the interval precision")?;
        }
        Ok(unit)
    }

    /// The character of `UESCAPE 'c'`.
    fn uescape(&mut self) -> PResult<char> {
        let token = self.peek().clone();
        let mut chars = match &token.kind {
            TokenKind::String(text) => text.chars(),
            _ => return Err(self.unexpected("a one-character string", "after `UESCAPE`")),
        };
        self.advance();
        match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_ascii_hexdigit() && !c.is_whitespace() && !matches!(c, '+' | '\'' | '"') => Ok(c),
            _ => {
                Err(syntax(token.span, "UESCAPE needs one character that is not a hex digit, `+`, a quote or a space"))
            }
        }
    }
}

/// The negation of a number literal.
fn negate(value: &Literal) -> Option<Literal> {
    Some(match value {
        Literal::Integer(i) => Literal::Integer(i.checked_neg()?),
        Literal::Decimal(d) => {
            let unscaled = -d.unscaled;
            match i64::try_from(unscaled) {
                // `-9223372036854775808` is a BIGINT, though its digits alone are not.
                Ok(i) if d.scale == 0 => Literal::Integer(i),
                _ => Literal::Decimal(Decimal { unscaled, scale: d.scale }),
            }
        }
        Literal::Double(d) => Literal::Double(-d),
        _ => return None,
    })
}

/// A number literal: an integer, an exact decimal, or an approximate (`E`) number.
fn number(text: &str, span: Span) -> PResult<Literal> {
    let out_of_range = || syntax(span, format!("numeric literal {text} is out of range"));
    if text.contains(['e', 'E']) {
        return text.parse::<f64>().ok().filter(|d| d.is_finite()).map(Literal::Double).ok_or_else(out_of_range);
    }
    if let Some((whole, fraction)) = text.split_once('.') {
        let scale = u8::try_from(fraction.len()).map_err(|_| out_of_range())?;
        let digits = format!("{whole}{fraction}");
        let unscaled = if digits.is_empty() { 0 } else { digits.parse::<i128>().map_err(|_| out_of_range())? };
        return Ok(Literal::Decimal(Decimal { unscaled, scale }));
    }
    match text.parse::<i64>() {
        Ok(i) => Ok(Literal::Integer(i)),
        Err(_) => {
            let unscaled = text.parse::<i128>().map_err(|_| out_of_range())?;
            Ok(Literal::Decimal(Decimal { unscaled, scale: 0 }))
        }
    }
}

/// The value of an interval's text: milliseconds (day-time) or months (year-month, flagged `true`).
fn interval_value(text: &str, leading: TimeUnit, trailing: Option<TimeUnit>) -> Option<(i64, bool)> {
    const DAY_TIME: [TimeUnit; 4] = [TimeUnit::Day, TimeUnit::Hour, TimeUnit::Minute, TimeUnit::Second];
    const YEAR_MONTH: [TimeUnit; 2] = [TimeUnit::Year, TimeUnit::Month];
    let family: &[TimeUnit] = if DAY_TIME.contains(&leading) { &DAY_TIME } else { &YEAR_MONTH };
    let first = family.iter().position(|u| *u == leading)?;
    let last = match trailing {
        Some(t) => family.iter().position(|u| *u == t).filter(|last| *last > first)?,
        None => first,
    };
    let text = text.trim();
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let mut total: i64 = 0;
    for (i, unit) in family[first..=last].iter().enumerate() {
        if i > 0 {
            rest = match family[first + i - 1] {
                TimeUnit::Day => rest.strip_prefix(' ')?.trim_start(),
                TimeUnit::Year => rest.strip_prefix('-')?,
                _ => rest.strip_prefix(':')?,
            };
        }
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 18 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // Fields after the first stay in their natural range.
        let (per_unit, limit) = match unit {
            TimeUnit::Day => (86_400_000, i64::MAX),
            TimeUnit::Hour => (3_600_000, 24),
            TimeUnit::Minute => (60_000, 60),
            TimeUnit::Second => (1000, 60),
            TimeUnit::Year => (12, i64::MAX),
            _ => (1, 12),
        };
        if i > 0 && n >= limit {
            return None;
        }
        total = total.checked_add(n.checked_mul(per_unit)?)?;
        if *unit == TimeUnit::Second
            && let Some(fraction) = rest.strip_prefix('.')
        {
            let digits = fraction.len() - fraction.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let millis = fraction[..digits].bytes().chain(std::iter::repeat(b'0')).take(3);
            total = total.checked_add(millis.fold(0, |acc, b| acc * 10 + i64::from(b - b'0')))?;
            rest = &fraction[digits..];
        }
    }
    if !rest.is_empty() {
        return None;
    }
    Some((if negative { -total } else { total }, family.len() == 2))
}

/// Undoes the escapes of a `U&'...'` string: `\XXXX`, `\+XXXXXX`, and a doubled escape character.
fn unescape_unicode(raw: &str, escape: char) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != escape {
            out.push(c);
            continue;
        }
        let rest = chars.as_str();
        if rest.starts_with(escape) {
            chars.next();
            out.push(escape);
            continue;
        }
        let (digits, skip) = match rest.strip_prefix('+') {
            Some(long) => (long.get(..6), 7),
            None => (rest.get(..4), 4),
        };
        let code = digits
            .filter(|d| d.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| format!("invalid Unicode escape after `{escape}`: expected 4 hex digits or + and 6"))?;
        let decoded = char::from_u32(code).ok_or_else(|| format!("U+{code:04X} is not a valid character"))?;
        out.push(decoded);
        for _ in 0..skip {
            chars.next();
        }
    }
    Ok(out)
}
