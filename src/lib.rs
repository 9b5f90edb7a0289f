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

pub mod cli;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod error;
pub mod flags;
pub mod history;
pub mod iam;
pub mod input;
pub mod mine;
pub mod model;
pub mod plan;
pub mod provider;
pub mod report;
pub mod run;
pub mod schedule;
pub mod shutdown;
pub mod steady_state;
