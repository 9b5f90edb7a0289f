//! The learning loop, `gameday history`: every run's journal feeds the next GameDay.
//!
//! ```text
//!  reports/*/journal.jsonl ─► read ─► RunRecord ─► fold (attempts → record per service × class,
//!  (+ scheduler history.jsonl)                        regressions) ─► score (0–100 per service)
//!                                                 ─► collect (History, trend, since last time,
//!                                                    standings for mine and plan) ─► render
//! ```
//!
//! Input: the reports directory (journals only, never report markdown), optionally the
//! scheduler's state directory and the incident catalogue (priorities). Output: a
//! [`History`]; [`since_last_time`] for a post-mortem; [`standings`] for `mine` and `plan`.
//! Entry point: [`history`]. Everything but [`read`] is pure and synchronous; nothing here reads
//! the clock ("now" is an option) or writes a file. Formula and flags: `docs/history.md`.

mod collect;
pub mod command;
mod fold;
pub mod read;
mod render;
mod score;

pub use collect::{
    ClassRef, ClassStanding, HISTORY_SCHEMA_VERSION, History, RegressionSeen, RunHistory, RunSeen,
    ScoreAfter, ScoreChange, ScorePoint, SinceLastTime, Standing, apply_standings, history,
    merge_mined, mined_from_runs, run_history, since_last_time, standings,
};
pub use fold::{
    AbortSeen, Attempt, ClassRecord, DEFAULT_RECOVERY_FACTOR, DEFAULT_VALIDITY_DAYS,
    HistoryOptions, MetricVsBound, RecoveryPoint, Regression, RegressionKind, StageResult,
    StageSummary, Verdict, attempts_of,
};
pub use read::{Loaded, ScheduledRun, SkippedJournal, read_runs, read_schedule};
pub use render::{HISTORY_CHARTS_DIR, TrendChart, render_markdown, render_table};
pub use score::{
    CREDIT_EXERCISED, CREDIT_PASSED_10, CREDIT_PASSED_25, CREDIT_PASSED_ONE, DEFAULT_WEIGHT,
    MinedClass, SCORE_FORMULA, ScoreItem, ServiceScore, decay, score_service, stage_credit,
};

#[cfg(test)]
mod tests;
