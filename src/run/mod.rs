//! Stage 4, `run`: a planned GameDay executed stage by stage, guarded, journaled, abortable.
//!
//! The entry point is [`run_gameday`]: recovery of earlier runs, the Kubernetes and AWS
//! preflight, the stages, recovery of this run when its loop fails, and the hand-off of
//! recovered runs to the report stage.
//!
//! The journal every part of a run writes through, and the [`RunRecord`](crate::model::record::RunRecord)
//! folded from it, are nouns on the model floor ([`crate::model::journal`],
//! [`crate::model::record`]): `report`, `history` and `schedule` read them without reaching into
//! this stage.

pub mod cluster_checks;
pub mod execute;
pub mod gameday;
pub mod guard;
pub mod judge;
pub mod lock;
pub mod options;
pub mod preflight;
pub mod progress;
pub mod recover;
pub mod resource_checks;

pub use execute::RunSummary;
pub use gameday::{GameDayOutcome, ReportHandoff, run_gameday};
pub use options::{
    DEFAULT_MAX_BLIND_INTERVALS, DEFAULT_MIN_FREE_BYTES, PREVIEW_TAG, RUN_TAG, RunOptions,
    RunProviders,
};
