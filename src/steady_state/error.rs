//! Errors of the steady-state stage.
//!
//! Input: problems found while parsing metric CSVs or validating derive options.
//! Output: [`SteadyStateError`] with a stable [`SteadyStateError::kind`].
//! Must not: carry data problems that have an explicit answer (too little data, constant
//! series, level shifts); those become a `degenerate` hypothesis, not an error.

/// Everything that can go wrong in the steady-state stage.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SteadyStateError {
    /// A line of a metric CSV could not be read.
    #[error("failed to parse metric csv line {line}: {problem}")]
    Parse {
        /// 1-based line number in the input text.
        line: usize,
        /// What is wrong with the line.
        problem: String,
    },
    /// A derive option is out of range.
    #[error("invalid steady-state option {option}: {problem}")]
    InvalidOption {
        /// Name of the option as in [`crate::steady_state::DeriveOptions`].
        option: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
}

impl SteadyStateError {
    /// Stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Parse { .. } => "steady_state_parse",
            Self::InvalidOption { .. } => "steady_state_invalid_option",
        }
    }
}
