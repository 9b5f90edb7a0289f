//! gameday: a chaos-engineering GameDay orchestrator for AWS.
//!
//! The pipeline, one module per stage, each with one entry point:
//!
//! ```text
//!  CloudWatch Logs ─► mine ─► incidents ──────────┐
//!                                                 ├─► plan ─► scenario + FIS templates ─► run ─► journal ─► report
//!  CloudWatch metrics ─► steady_state ─► hypotheses┘                                      ▲
//!                                                          schedule (weekly) ─────────────┘
//! ```
//!
//! Stages never call one another; only [`cli`] (and the scheduler) chain them. All I/O goes
//! through the provider traits in [`provider`], so every stage runs against AWS, against local
//! files, or against the local emulator.
//!
//! The modules stand on floors; a module imports only from its own floor or below:
//!
//! ```text
//!  schedule, cli                      chain the stages
//!  report                             journal → post-mortem
//!  run                                plan → journal (preflight, execute, recover)
//!  mine, steady_state, plan, history  the stages
//!  model                              shared nouns: journal events, run record, durations, policy
//!  config, provider                   validated settings; the outside world behind traits
//! ```
//!
//! `model`, `config` and `provider` import nothing from a stage (a test in `model` checks it;
//! the one exception left, the scenario carried in `run-started`, is listed there with its
//! reason). Conversions that need a stage's knowledge stay with that stage.

pub mod cli;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod error;
pub mod flags;
pub mod history;
pub mod iam;
pub mod input;
mod jinja;
pub mod mine;
pub mod model;
pub mod plan;
pub mod provider;
pub mod report;
pub mod run;
pub mod schedule;
pub mod shutdown;
pub mod steady_state;
#[doc(hidden)]
pub mod testdata;
