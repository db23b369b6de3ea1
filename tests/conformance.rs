//! The KDA conformance suite: `tests/conformance/*.yaml` are pipelines whose `tests:` blocks replay the
//! documentation's examples (see `tests/conformance/PENDING.md` for those not in it yet). They run through the CLI,
//! exactly as a user runs them: `sluice validate` must find every file valid, and `sluice test` must pass them all.

#[path = "support/suite.rs"]
mod suite;

const SUITE: &str = "tests/conformance";

#[test]
fn every_conformance_pipeline_is_valid() {
    suite::assert_valid(SUITE);
}

#[test]
fn every_conformance_test_passes() {
    suite::assert_passes(SUITE);
}
