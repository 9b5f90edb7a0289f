//! The command line: parse, load config, dispatch to a stage, map the outcome to an exit code.
//!
//! Input: argv. Output: an exit code (or an error `main` maps to one). Must not: hold pipeline
//! logic — each subcommand converts its arguments into a stage's options, calls that stage's
//! entry point (or chains them) and maps the outcome to an exit code.
//!
//! [`args`] holds every clap type (the schedule's too); [`dispatch`] sends a subcommand to its
//! handler, one file per command family.

pub mod args;
mod commands;
mod demo;
mod doctor;
mod io;
mod lint;
mod mine;
mod plan;
mod report;
mod run;
mod schedule;
mod steady_state;

pub use args::*;
pub use commands::dispatch;
