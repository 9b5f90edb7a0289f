//! The model floor: the nouns every stage shares, with no behaviour that reaches outward.
//!
//! It stands on the ground floor with [`crate::config`] and [`crate::provider`], below every
//! stage:
//! `mine`, `steady_state`, `plan` and `history` build or read these types, `run` writes the
//! journal, `report`, `recover`, `history` and `schedule` read it back. Input and output: plain
//! data (serde types) and the journal's on-disk format. Must not: import a stage (`mine`,
//! `steady_state`, `plan`, `history`, `run`, `report`, `schedule`, `cli`); conversions that
//! need a stage's knowledge (FIS templates, alarm inputs) live with that stage.
//!
//! - [`journal`]: the crash-safe `journal.jsonl` and its typed events.
//! - [`record`]: the payload of every journal event and [`record::RunRecord`], a journal folded.
//! - [`format`](mod@format): numbers as people read them, the same in every stage.
//! - [`scenario`], [`selection`]: the GameDay scenario file's types and FIS selection modes
//!   (`plan` loads, validates and turns them into FIS templates).
//! - [`hypothesis`], [`time`]: a metric's direction and its learned steady-state hypothesis
//!   (`steady_state` derives it; `check` and the run guard judge datapoints with it), and the
//!   timestamps they carry.
//! - [`schedule`](mod@schedule): the scheduler's history records, which `history` reads too.
//! - [`duration`], [`policy`]: the ISO durations and blast-radius policy the configuration
//!   reads and every stage shares.

pub mod duration;
pub mod format;
pub mod hypothesis;
pub mod journal;
pub mod policy;
pub mod record;
pub mod scenario;
pub mod schedule;
pub mod selection;
pub mod time;

#[cfg(test)]
mod floor;
