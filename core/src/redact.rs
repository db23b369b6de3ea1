//! Keeping secrets out of what sluice prints: logs and error messages.
//!
//! ## Design
//!
//! A pipeline file holds no secret: it says `${API_TOKEN}`, and the value comes from the environment at run time
//! (validation rejects literal secrets). Once resolved, though, a value travels inside configs, URLs and the
//! error messages built from them (`POST https://hooks.example.com/<token> failed`). Rather than trusting every
//! message of every plugin, the output itself is filtered: [`redact`] replaces the value of every environment
//! variable whose *name* says it holds a credential ([`is_secret_name`]: `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `API_TOKEN`, `DB_PASSWORD`, `STRIPE_API_KEY`, ...) with `****`. The binary routes its
//! log output ([`RedactingStderr`]) and its error lines through it.
//!
//! Values shorter than [`MIN_SECRET_CHARS`] are left alone: redacting `1` or `true` everywhere would garble
//! output without protecting anything.

use std::borrow::Cow;
use std::sync::OnceLock;

/// Shorter values are not treated as secrets.
pub const MIN_SECRET_CHARS: usize = 6;

/// What replaces a secret.
pub const MASK: &str = "****";

/// Whether an environment variable called `name` holds a credential, by its name.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["SECRET", "TOKEN", "PASSW", "CREDENTIAL", "PRIVATE", "AUTH", "SIGNATURE", "APIKEY", "API_KEY"]
        .iter()
        .any(|word| upper.contains(word))
        || upper.ends_with("_KEY")
}

/// The secret values of the environment, longest first (so a secret containing another is masked whole).
fn secrets() -> &'static [String] {
    static SECRETS: OnceLock<Vec<String>> = OnceLock::new();
    SECRETS.get_or_init(|| secrets_of(std::env::vars()))
}

fn secrets_of(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut values: Vec<String> = vars
        .filter(|(name, value)| is_secret_name(name) && value.chars().count() >= MIN_SECRET_CHARS)
        .map(|(_, value)| value)
        .collect();
    values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    values.dedup();
    values
}

/// `text` with every secret of the environment masked.
pub fn redact(text: &str) -> Cow<'_, str> {
    redact_with(text, secrets())
}

fn redact_with<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// Standard error through [`redact`]: a `tracing_subscriber` writer (`.with_writer(RedactingStderr)`). The fmt
/// layer writes each event with one `write`, so a secret is never split between two.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().lock().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl RedactingStderr {
    /// For `with_writer`: a writer per event.
    pub fn make() -> Self {
        RedactingStderr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised() {
        for name in
            ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "api_token", "DB_PASSWORD", "STRIPE_API_KEY", "SSH_KEY"]
        {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["AWS_ACCESS_KEY_ID", "AWS_REGION", "BUCKET", "HOME", "KEYBOARD"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn secrets_are_masked_longest_first_and_short_values_are_left() {
        let vars = [("API_TOKEN", "abc123xyz"), ("LONG_SECRET", "abc123xyz-and-more"), ("PIN_PASSWORD", "12345")];
        let secrets = secrets_of(vars.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        assert_eq!(secrets, ["abc123xyz-and-more", "abc123xyz"]);
        assert_eq!(
            redact_with("POST https://h/abc123xyz-and-more then abc123xyz, pin 12345", &secrets),
            "POST https://h/**** then ****, pin 12345"
        );
        assert!(matches!(redact_with("nothing here", &secrets), Cow::Borrowed(_)));
    }
}
