//! The errors of the report stage.
//!
//! Input: I/O, journal, template and serialisation failures. Output: [`ReportError`] with a
//! stable [`ReportError::kind`]. Must not: carry the cause in the message (it is the `#[source]`).

use std::path::PathBuf;

use crate::model::journal::JournalError;
use crate::model::record::RecordError;

/// A report that could not be rendered or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A run id was given, and the reports directory has no journal for it.
    #[error("no journal for run {run_id}: {} does not exist", path.display())]
    NoJournal {
        /// The run id asked for.
        run_id: String,
        /// The journal path looked at.
        path: PathBuf,
    },
    /// The journal could not be read, or is damaged.
    #[error("failed to read journal {}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// The journal error.
        #[source]
        source: JournalError,
    },
    /// The journal could not be folded into a run.
    #[error("journal {} is not a run journal", path.display())]
    Record {
        /// The journal file.
        path: PathBuf,
        /// The fold error.
        #[source]
        source: RecordError,
    },
    /// A user template could not be read or parsed.
    #[error("failed to load report template {}", path.display())]
    Template {
        /// The template file.
        path: PathBuf,
        /// The cause (I/O or template syntax).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The template failed while rendering.
    #[error("failed to render report template {template}")]
    Render {
        /// Template name.
        template: String,
        /// The template error.
        #[source]
        source: minijinja::Error,
    },
    /// `summary.json` could not be serialised.
    #[error("failed to serialise summary.json")]
    Serialise {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A report file could not be written.
    #[error("failed to write {}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ReportError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoJournal { .. } => "report_no_journal",
            Self::Journal { .. } => "report_journal",
            Self::Record { .. } => "report_record",
            Self::Template { .. } => "report_template",
            Self::Render { .. } => "report_render",
            Self::Serialise { .. } => "report_serialise",
            Self::Write { .. } => "report_write",
        }
    }

    /// Whether the error is the caller's (a bad run id, journal or template): exit code 2
    /// rather than 1.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::NoJournal { .. }
                | Self::Journal { .. }
                | Self::Record { .. }
                | Self::Template { .. }
        )
    }
}
