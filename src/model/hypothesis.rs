//! Hypothesis nouns shared below the stages: the configuration names a metric's [`Direction`],
//! `steady_state` learns bounds in it, `plan` writes it into scenarios and `run` guards it.
//!
//! Input and output: plain data. Must not: hold derivation or evaluation logic (that is
//! `steady_state`'s).

use serde::{Deserialize, Serialize};

/// Which way a metric may go before the service counts as hurt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Too high is bad (latency, errors, CPU).
    Upper,
    /// Too low is bad (throughput, success rate).
    Lower,
    /// Both ways are bad.
    #[default]
    Both,
}

impl Direction {
    /// Whether an upper bound is guarded.
    pub fn has_upper(self) -> bool {
        matches!(self, Self::Upper | Self::Both)
    }
    /// Whether a lower bound is guarded.
    pub fn has_lower(self) -> bool {
        matches!(self, Self::Lower | Self::Both)
    }
}
