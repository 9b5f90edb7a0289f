//! The scheduler's error type.
//!
//! Input: failures of the history store, the Kubernetes Lease, the exports and the launcher.
//! Output: [`ScheduleError`] with a stable [`ScheduleError::kind`]. Must not: format causes into
//! messages (they live in `#[source]`).

use std::path::PathBuf;

/// A scheduler failure.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Another scheduler holds the state directory's lock.
    #[error(
        "state directory {} is in use by another gameday scheduler (lock {})",
        dir.display(),
        lock.display()
    )]
    StateLocked {
        /// The state directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The state directory or history file could not be read or written.
    #[error("failed to use scheduler state {}", path.display())]
    State {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A history line other than a torn last line is not a history record.
    #[error("{}:{line}: not a scheduler history record (gameday never rewrites history)", path.display())]
    HistoryCorrupt {
        /// The history file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A cron expression or timezone that config validation should have refused.
    #[error("schedule entry {entry}: cron `{cron}` in {timezone} cannot be used")]
    Cron {
        /// Entry name.
        entry: String,
        /// The expression.
        cron: String,
        /// The timezone.
        timezone: String,
    },
    /// `--entry` names no entry of the config.
    #[error("no schedule entry `{name}` in the config (entries: {known})")]
    UnknownEntry {
        /// The name asked for.
        name: String,
        /// The configured names.
        known: String,
    },
    /// A scheduled scenario file cannot be read or is invalid.
    #[error("schedule entry {entry}: scenario {} is not usable", path.display())]
    Scenario {
        /// Entry name.
        entry: String,
        /// The scenario file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<crate::error::Error>,
    },
    /// A schedule cannot be expressed in an export format.
    #[error("schedule entry {entry}: {message}")]
    Export {
        /// Entry name.
        entry: String,
        /// What cannot be expressed, and what to do.
        message: String,
    },
    /// Serialising a manifest failed.
    #[error("failed to serialise {what}")]
    Serialise {
        /// What was being serialised.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A Kubernetes API call for the coordination Lease failed.
    #[error("failed to {action} Lease {namespace}/{name}")]
    Lease {
        /// `read`, `create`, `renew`, `release`.
        action: &'static str,
        /// Namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The kube error.
        #[source]
        source: Box<kube::Error>,
    },
    /// No Kubernetes client could be built (kubeconfig or in-cluster config).
    #[error("failed to configure a Kubernetes client for the coordination Lease")]
    KubeConfig {
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An EventBridge Scheduler call failed.
    #[error("failed to {operation} EventBridge schedule {name}")]
    EventBridge {
        /// The API operation.
        operation: &'static str,
        /// Schedule name.
        name: String,
        /// The SDK error, with its message.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ScheduleError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::StateLocked { .. } => "schedule_state_locked",
            Self::State { .. } => "schedule_state",
            Self::HistoryCorrupt { .. } => "schedule_history_corrupt",
            Self::Cron { .. } => "schedule_cron",
            Self::UnknownEntry { .. } => "schedule_unknown_entry",
            Self::Scenario { .. } => "schedule_scenario",
            Self::Export { .. } => "schedule_export",
            Self::Serialise { .. } => "schedule_serialise",
            Self::Lease { .. } => "schedule_lease",
            Self::KubeConfig { .. } => "schedule_kube_config",
            Self::EventBridge { .. } => "schedule_eventbridge",
        }
    }

    /// Whether the error is the user's to fix (exit 2) rather than an environment failure.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::StateLocked { .. }
                | Self::HistoryCorrupt { .. }
                | Self::Cron { .. }
                | Self::UnknownEntry { .. }
                | Self::Scenario { .. }
                | Self::Export { .. }
                | Self::KubeConfig { .. }
        )
    }
}
