//! Stage 4, `run`: a planned GameDay executed stage by stage, guarded, journaled, abortable.
//!
//! The entry point is [`run_gameday`]: recovery of earlier runs, the Kubernetes and AWS
//! preflight, the stages, recovery of this run when its loop fails, and the hand-off of
//! recovered runs to the report stage.
//!
//! [`journal`] is the crash-safe file every part of a run writes through; [`record`] names what
//! is written and folds a journal back into a [`record::RunRecord`] for reports and `recover`.

pub mod cluster_checks;
pub mod execute;
pub mod gameday;
pub mod guard;
pub mod journal;
pub mod judge;
pub mod lock;
pub mod preflight;
pub mod progress;
pub mod record;
pub mod recover;
pub mod resource_checks;

pub use execute::{RunOptions, RunSummary};
pub use gameday::{GameDayOutcome, ReportHandoff, run_gameday};
