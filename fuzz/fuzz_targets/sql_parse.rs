//! The SQL parser: any text parses or fails with errors that carry spans inside the text, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(errors) = sluice_sql::parser::parse(text) {
            for error in errors {
                if let Some(span) = error.span {
                    assert!(span.start <= span.end && span.end <= text.len(), "span {span:?} outside the text");
                }
            }
        }
    }
});
