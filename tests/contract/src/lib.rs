//! Only tests live in this crate (`tests/`): they read infra/ and the Rust sources and check
//! that they agree.
