//! The scheduler's history as it is written to `history.jsonl`: what was fired, skipped and
//! how each fired run ended. `schedule` writes it; `history` reads it with the run journals.
//!
//! Input/output: plain data (serde types) and the file's names. Must not: import a stage.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Default state directory (run history and lock), relative to the working directory.
pub const DEFAULT_STATE_DIR: &str = ".gameday/state";
/// The history file's name in the state directory.
pub const HISTORY_FILE: &str = "history.jsonl";
/// The lock file's name in the state directory.
pub const LOCK_FILE: &str = "lock";

/// Why a scheduled instant did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// It fell in a blackout window.
    Blackout,
    /// Another GameDay held one of its targets (here, or via the Kubernetes Lease).
    TargetBusy,
    /// No scheduler ran at the time, and the missed-run policy (or the grace period) says no.
    Missed,
}

impl SkipReason {
    /// A lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blackout => "blackout",
            Self::TargetBusy => "target-busy",
            Self::Missed => "missed",
        }
    }
}

/// How a launched run ended, from the scheduler's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Exit 0.
    Passed,
    /// Exit 2: usage, config or preflight failed (nothing injected), or `plan` failed.
    PreflightFailed,
    /// Exit 3.
    HypothesisFailed,
    /// Exit 4 (also when the scheduler stopped it on shutdown or at `max_duration`).
    Aborted,
    /// Exit 5: a stop failed, a human must check.
    StopFailed,
    /// Any other exit, a crash, or a child that could not be started.
    Failed,
}

impl RunOutcome {
    /// The outcome `gameday run`'s exit code stands for.
    pub fn from_exit_code(code: Option<i32>) -> Self {
        use crate::error::{EXIT_ABORTED, EXIT_HYPOTHESIS, EXIT_OK, EXIT_STOP_FAILED, EXIT_USAGE};
        match code {
            Some(EXIT_OK) => Self::Passed,
            Some(EXIT_USAGE) => Self::PreflightFailed,
            Some(EXIT_HYPOTHESIS) => Self::HypothesisFailed,
            Some(EXIT_ABORTED) => Self::Aborted,
            Some(EXIT_STOP_FAILED) => Self::StopFailed,
            _ => Self::Failed,
        }
    }

    /// A lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::PreflightFailed => "preflight-failed",
            Self::HypothesisFailed => "hypothesis-failed",
            Self::Aborted => "aborted",
            Self::StopFailed => "stop-failed",
            Self::Failed => "failed",
        }
    }

    /// Whether this outcome is an abort notification's business (exit 4 or 5).
    pub fn is_abort(self) -> bool {
        matches!(self, Self::Aborted | Self::StopFailed)
    }
}

/// One history line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "kebab-case")]
pub enum HistoryRecord {
    /// The history file was created: fire times before this were never watched.
    Created {
        /// When.
        at: DateTime<Utc>,
    },
    /// A scheduler started on this state directory.
    Started {
        /// When.
        at: DateTime<Utc>,
        /// Holder identity (host and pid).
        holder: String,
    },
    /// A scheduled instant was fired: written before the run is launched.
    Fired {
        /// Entry name.
        entry: String,
        /// The scheduled instant.
        scheduled_at: DateTime<Utc>,
        /// When it was launched.
        at: DateTime<Utc>,
        /// The run id passed to `gameday run`.
        run_id: String,
        /// Fired late under the `run-late` policy.
        late: bool,
        /// The targets it holds (`cluster/namespace/service`).
        targets: Vec<String>,
    },
    /// A scheduled instant was not run.
    Skipped {
        /// Entry name.
        entry: String,
        /// The scheduled instant.
        scheduled_at: DateTime<Utc>,
        /// When it was decided.
        at: DateTime<Utc>,
        /// Why.
        reason: SkipReason,
        /// Details (the blackout's reason, the busy target and its holder, how late).
        detail: String,
    },
    /// A fired run ended.
    Finished {
        /// Entry name.
        entry: String,
        /// The scheduled instant.
        scheduled_at: DateTime<Utc>,
        /// The run id.
        run_id: String,
        /// When it ended.
        at: DateTime<Utc>,
        /// The child's exit code (`None` when killed by a signal or never started).
        exit_code: Option<i32>,
        /// The outcome.
        outcome: RunOutcome,
        /// The post-mortem, when the run wrote one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report: Option<PathBuf>,
        /// What happened, in a line.
        detail: String,
    },
}
