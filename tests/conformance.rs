//! The KDA conformance suite: `tests/conformance/*.yaml` are pipelines whose `tests:` blocks replay the
//! documentation's examples (see `tests/conformance/PENDING.md` for those not in it yet). They run through the CLI,
//! exactly as a user runs them: `sluice validate` must find every file valid, and `sluice test` must pass them all.

#[macro_use]
#[path = "support/suite.rs"]
mod suite;

const SUITE: &str = "tests/conformance";

suite_tests!(SUITE);
