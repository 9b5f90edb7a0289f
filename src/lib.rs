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
//! The modules stand on floors; a module imports only from its own floor or below, and no two
//! files import each other:
//!
//! ```text
//!  schedule, cli, doctor, demo        chain the stages
//!  report                             journal → post-mortem
//!  run                                plan → journal (preflight, execute, recover)
//!  mine, steady_state, plan, history,
//!  iam                                the stages
//!  model, config, provider, flags     the ground: shared nouns (scenario, journal events, run
//!                                     record, durations, policy, direction); validated
//!                                     settings; the outside world behind traits
//!  input, shutdown, jinja, testdata   reading user files; cancellation; templates; test data
//! ```
//!
//! `error` stands beside the floors: its exit codes are used everywhere and its `Error` wraps
//! every stage's. A test in `model` checks the table on every file. The ground floor imports
//! nothing from a stage: `config` uses `model`'s value types, `model`'s run record uses
//! `provider`'s view of a FIS action, and `provider` reads `config`'s AWS settings, each without
//! a circle between files. Conversions
//! that need a stage's knowledge stay with that stage (`AlarmSpec::to_provider` and the FIS
//! template of a stage in `plan`; a selection mode's and a duration's parsing in `plan`).

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
