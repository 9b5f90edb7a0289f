//! Errors of the `mine` stage.
//!
//! Input: failures while reading log files or fault-signature YAML. Output: [`MineError`], whose
//! message names what failed and where (file, line, column) and says how to fix it; the
//! underlying cause (I/O, serde) sits in `#[source]` only. Must not print or exit.

use std::fmt;
use std::path::PathBuf;

/// A position in an input file: 1-based line, and column where the parser reports one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: u64,
    /// 1-based column (in bytes), when known.
    pub column: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}, column {}", self.line, column),
            None => write!(f, "line {}", self.line),
        }
    }
}

/// Error of the `mine` stage.
#[derive(Debug, thiserror::Error)]
pub enum MineError {
    /// The input file could not be opened or read.
    #[error("failed to read {path}")]
    Io {
        /// File that failed (or a name such as `<stdin>`).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input file holds no events at all.
    #[error("failed to read events from {path}: the file is empty; {hint}")]
    Empty {
        /// File that was empty.
        path: PathBuf,
        /// How to fix it.
        hint: &'static str,
    },
    /// One line (or the document) of the input is malformed.
    #[error("failed to parse {path} at {location}: {problem}; {hint}")]
    Parse {
        /// File that failed.
        path: PathBuf,
        /// Where in the file.
        location: Location,
        /// What is wrong, in our words.
        problem: String,
        /// How to fix it.
        hint: &'static str,
        /// The parser's error, when there is one.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The fault-signature YAML could not be parsed or is inconsistent.
    #[error("failed to load fault signatures from {origin}: {problem}")]
    Signatures {
        /// Where the YAML came from (`built-in` or a path).
        origin: String,
        /// What is wrong.
        problem: String,
        /// The YAML parser's error, when there is one.
        #[source]
        source: Option<yaml_serde::Error>,
    },
    /// The causal-rule YAML could not be parsed or is inconsistent.
    #[error("failed to load causal rules from {origin}: {problem}")]
    CausalRules {
        /// Where the YAML came from (`built-in` or a path).
        origin: String,
        /// What is wrong.
        problem: String,
        /// The YAML parser's error, when there is one.
        #[source]
        source: Option<yaml_serde::Error>,
    },
}

impl MineError {
    /// Stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } => "mine_io",
            Self::Empty { .. } => "mine_empty_input",
            Self::Parse { .. } => "mine_parse",
            Self::Signatures { .. } => "mine_signatures",
            Self::CausalRules { .. } => "mine_causal_rules",
        }
    }

    /// The location of a parse error, if this is one (used by tests and the CLI).
    pub fn location(&self) -> Option<Location> {
        match self {
            Self::Parse { location, .. } => Some(*location),
            _ => None,
        }
    }
}
