//! Integration tests: one binary (see STYLE.md §6).
//!
//! Emulator tests start the local AWS emulator (moto behind our CBOR adapter) once per test
//! binary on a free loopback port; `scripts/local-aws install` must have created `.venv`.
//! Kubernetes tests start their own loopback fake API server (`fake_kube`) per test.

mod aws_wire;
mod cli;
mod demo;
mod fake_kube;
mod fault_proxy;
mod history;
mod hostile;
mod kube_wire;
mod llm;
mod mine;
mod plan;
mod run;
mod safety;
mod schedule;
mod steady_state;
mod support;
