//! The crate-wide error type and the process exit codes.
//!
//! Input: the per-stage error enums (config, provider, …), wrapped via `#[from]`.
//! Output: [`Error`], its stable [`Error::kind`] label and the exit code [`Error::exit_code`].
//! Must not: format causes into messages (the cause lives in `#[source]`, printed by `main`).

use std::path::PathBuf;

/// Everything went as planned (for `run`: every stage held its hypothesis).
pub const EXIT_OK: i32 = 0;
/// An internal error: a bug, or an environment failure gameday cannot classify.
pub const EXIT_INTERNAL: i32 = 1;
/// Usage, configuration or input error; nothing was created or changed in AWS.
pub const EXIT_USAGE: i32 = 2;
/// A hypothesis did not hold: a stage failed its judgement.
pub const EXIT_HYPOTHESIS: i32 = 3;
/// Aborted by a stop condition, the guard, a timeout or a signal; experiments were stopped.
pub const EXIT_ABORTED: i32 = 4;
/// A stop or rollback failed: something may still be running and a human must check.
pub const EXIT_STOP_FAILED: i32 = 5;
/// `lint`: at least one file has an error finding (the same number as [`EXIT_INTERNAL`], as
/// linters use 1 for "findings").
pub const EXIT_LINT_FINDINGS: i32 = 1;

/// The crate error: one variant per source, each with a stable [`kind`](Error::kind).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is missing, malformed or invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// An input file for mining is malformed.
    #[error(transparent)]
    Mine(#[from] crate::mine::MineError),
    /// Pulling log events from CloudWatch Logs failed.
    #[error(transparent)]
    Pull(#[from] crate::mine::pull::PullError),
    /// Planning failed, or a scenario file is invalid or breaks the policy.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// Seeding the simulated environment failed.
    #[error(transparent)]
    Demo(#[from] crate::demo::DemoError),
    /// A call to AWS (or the emulator) failed.
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    /// The scheduler failed (history, Lease, export).
    #[error(transparent)]
    Schedule(#[from] crate::schedule::ScheduleError),
    /// A report could not be rendered or written, or its journal was not found.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// An input file could not be read.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("failed to write {}", path.display())]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An input file is not UTF-8 text, or a document in it is invalid (located).
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    /// The command line asked for something that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// `doctor` found at least one red check.
    #[error("{failed} of {total} checks failed")]
    ChecksFailed {
        /// How many checks were red.
        failed: usize,
        /// How many checks ran.
        total: usize,
    },
}

impl Error {
    /// A stable, machine-readable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(e) => e.kind(),
            Self::Provider(e) => e.kind(),
            Self::Mine(e) => e.kind(),
            Self::Pull(e) => e.kind(),
            Self::Demo(e) => e.kind(),
            Self::Plan(e) => e.kind(),
            Self::Schedule(e) => e.kind(),
            Self::Report(e) => e.kind(),
            Self::Read { .. } => "read",
            Self::Write { .. } => "write",
            Self::Usage(_) => "usage",
            Self::Input(e) => e.kind(),
            Self::ChecksFailed { .. } => "checks_failed",
        }
    }

    /// The process exit code this error maps to (see the README's exit-code table).
    pub fn exit_code(&self) -> i32 {
        match self {
            // A red doctor check means the setup is not usable yet: a configuration problem.
            Self::Config(_)
            | Self::Usage(_)
            | Self::Read { .. }
            | Self::Mine(_)
            | Self::Plan(_)
            | Self::ChecksFailed { .. }
            | Self::Input(_) => EXIT_USAGE,
            Self::Demo(crate::demo::DemoError::NotEmulator { .. }) => EXIT_USAGE,
            Self::Schedule(e) if e.is_usage() => EXIT_USAGE,
            Self::Schedule(_) => EXIT_INTERNAL,
            // A bad run id, journal or template is the caller's; a failed render or write is ours.
            Self::Report(e) if e.is_usage() => EXIT_USAGE,
            Self::Report(_) => EXIT_INTERNAL,
            Self::Provider(_) | Self::Pull(_) | Self::Demo(_) | Self::Write { .. } => EXIT_INTERNAL,
        }
    }
}

/// Shorthand for results carrying the crate [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Renders an error and its causes on one line: `outer: inner: root`.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}
