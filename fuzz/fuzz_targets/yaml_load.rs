//! The pipeline file loader: any bytes give a document or an error with a position, never a panic, a hang or
//! runaway memory (serde-saphyr's budgets and the 1 MiB cap), and validation of what loads never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(document) = sluice_core::yaml::load(data) {
        let _ = document;
    }
});
