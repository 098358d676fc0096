//! Test-only crate: see `tests/steps_as_lambdas.rs`.
