//! Java regular expressions, as KDA's functions take them (REGEX_REPLACE, SUBSTRING ... FROM regex,
//! REGEX_LOG_PARSE, FAST_REGEX_LOG_PARSE).
//!
//! A pattern runs on Rust's `regex` (linear time, no pathological inputs) whenever its syntax allows; a pattern
//! that needs what only a backtracking engine offers (backreferences like `\1`, lookahead and lookbehind, atomic
//! groups) runs on `fancy-regex`, which accepts Java's syntax for them. The backtracking engine has a step limit:
//! a row that exceeds it fails with a message (to error_stream) instead of stalling the application.

use crate::error::SqlError;

/// A compiled Java regular expression.
#[derive(Debug, Clone)]
pub struct JavaRegex(Engine);

#[derive(Debug, Clone)]
enum Engine {
    Linear(regex::Regex),
    Backtracking(fancy_regex::Regex),
}

/// The groups of one match.
pub enum Captures<'t> {
    /// From the linear engine.
    Linear(regex::Captures<'t>),
    /// From the backtracking engine.
    Backtracking(fancy_regex::Captures<'t>),
}

/// A match or group: where it is in the text, and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<'t> {
    /// Byte offset of its start.
    pub start: usize,
    /// Byte offset just past its end.
    pub end: usize,
    /// Its text.
    pub text: &'t str,
}

impl<'t> Captures<'t> {
    /// Group `i` (0: the whole match), if it took part in the match.
    pub fn get(&self, i: usize) -> Option<Span<'t>> {
        match self {
            Captures::Linear(c) => c.get(i).map(|m| Span { start: m.start(), end: m.end(), text: m.as_str() }),
            Captures::Backtracking(c) => c.get(i).map(|m| Span { start: m.start(), end: m.end(), text: m.as_str() }),
        }
    }

    /// The group named `name`, if it took part in the match.
    pub fn name(&self, name: &str) -> Option<Span<'t>> {
        match self {
            Captures::Linear(c) => c.name(name).map(|m| Span { start: m.start(), end: m.end(), text: m.as_str() }),
            Captures::Backtracking(c) => {
                c.name(name).map(|m| Span { start: m.start(), end: m.end(), text: m.as_str() })
            }
        }
    }

    /// The number of groups, the whole match included.
    pub fn len(&self) -> usize {
        match self {
            Captures::Linear(c) => c.len(),
            Captures::Backtracking(c) => c.len(),
        }
    }

    /// Whether there are no groups (never: group 0 is the match).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn too_hard(e: &fancy_regex::Error) -> SqlError {
    SqlError::data(format!("the regular expression could not be matched: {e}"))
}

impl JavaRegex {
    /// Compiles `pattern`: on the linear engine when it can, else on the backtracking one. The message of a
    /// pattern neither accepts comes from the backtracking engine, which knows the most syntax.
    pub fn new(pattern: &str) -> Result<JavaRegex, String> {
        if let Ok(regex) = regex::Regex::new(pattern) {
            return Ok(JavaRegex(Engine::Linear(regex)));
        }
        fancy_regex::Regex::new(pattern)
            .map(|regex| JavaRegex(Engine::Backtracking(regex)))
            .map_err(|e| format!("invalid regular expression '{pattern}': {e}"))
    }

    /// Whether the pattern needed the backtracking engine.
    pub fn backtracks(&self) -> bool {
        matches!(self.0, Engine::Backtracking(_))
    }

    /// The number of groups, the whole match included.
    pub fn captures_len(&self) -> usize {
        match &self.0 {
            Engine::Linear(r) => r.captures_len(),
            Engine::Backtracking(r) => r.captures_len(),
        }
    }

    /// The first match in `text`.
    pub fn captures<'t>(&self, text: &'t str) -> Result<Option<Captures<'t>>, SqlError> {
        match &self.0 {
            Engine::Linear(r) => Ok(r.captures(text).map(Captures::Linear)),
            Engine::Backtracking(r) => {
                r.captures(text).map(|c| c.map(Captures::Backtracking)).map_err(|e| too_hard(&e))
            }
        }
    }

    /// Every match in `text`, left to right, without overlaps.
    pub fn captures_iter<'r, 't>(
        &'r self,
        text: &'t str,
    ) -> Box<dyn Iterator<Item = Result<Captures<'t>, SqlError>> + 'r>
    where
        't: 'r,
    {
        match &self.0 {
            Engine::Linear(r) => Box::new(r.captures_iter(text).map(|c| Ok(Captures::Linear(c)))),
            Engine::Backtracking(r) => {
                Box::new(r.captures_iter(text).map(|c| c.map(Captures::Backtracking).map_err(|e| too_hard(&e))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(re: &JavaRegex, text: &str) -> Vec<Option<String>> {
        let caps = re.captures(text).expect("matches in time").expect("a match");
        (0..caps.len()).map(|i| caps.get(i).map(|s| s.text.to_owned())).collect()
    }

    #[test]
    fn plain_patterns_run_on_the_linear_engine() {
        let re = JavaRegex::new(r"(\w+)@(\w+)\.com").expect("compiles");
        assert!(!re.backtracks());
        assert_eq!(groups(&re, "mail bob@example.com now")[1..], [Some("bob".into()), Some("example".into())]);
        assert_eq!(re.captures_len(), 3);
    }

    #[test]
    fn backreferences_and_lookaround_run_on_the_backtracking_engine() {
        let repeated = JavaRegex::new(r"\b(\w+) \1\b").expect("a backreference compiles");
        assert!(repeated.backtracks());
        assert_eq!(groups(&repeated, "it was the the end")[0], Some("the the".into()));
        let price = JavaRegex::new(r"(?<=\$)\d+(?!\d)").expect("lookbehind and lookahead compile");
        assert_eq!(groups(&price, "costs $125 today")[0], Some("125".into()));
        let all: Vec<String> = price
            .captures_iter("$1 and $22")
            .map(|c| c.expect("in time").get(0).expect("match").text.to_owned())
            .collect();
        assert_eq!(all, ["1", "22"]);
    }

    #[test]
    fn named_groups_work_on_both_engines() {
        for pattern in [r"(?<word>\w+)!", r"(?<word>\w+)!(?=$)"] {
            let re = JavaRegex::new(pattern).expect("compiles");
            let caps = re.captures("hey!").expect("in time").expect("a match");
            assert_eq!(caps.name("word").map(|s| s.text), Some("hey"), "{pattern}");
        }
    }

    #[test]
    fn an_invalid_pattern_is_reported_with_the_pattern() {
        let message = JavaRegex::new("(unclosed").expect_err("invalid");
        assert!(message.contains("'(unclosed'"), "{message}");
    }
}
