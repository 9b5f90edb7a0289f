//! Integration tests: one binary (see STYLE.md §6).
//!
//! Emulator tests start the local AWS emulator (moto behind our CBOR adapter) once per test
//! binary on a free loopback port; `scripts/local-aws install` must have created `.venv`.

mod aws_wire;
mod cli;
mod mine;
mod plan;
mod schedule;
mod steady_state;
mod support;
