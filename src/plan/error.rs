//! Errors of the plan stage's FIS knowledge core.
//!
//! Input: failures of the parsers (durations, selection modes), the catalogue loader and template
//! serialisation. Output: one [`PlanError`] enum with a stable [`PlanError::kind`]. It must not
//! carry lint findings: a finding is data about a template, not a failure of this code.

use thiserror::Error;

/// A failure in the plan stage's parsers, catalogue or template code.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A string is not an ISO-8601 duration of the form FIS accepts (`PT5M`, `PT1H30M`, `P1D`).
    #[error("invalid ISO-8601 duration {input:?}: {reason}")]
    InvalidDuration {
        /// The rejected text.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A string is not a FIS selection mode (`ALL`, `COUNT(n)`, `PERCENT(n)`).
    #[error("invalid selection mode {input:?}: {reason}")]
    InvalidSelectionMode {
        /// The rejected text.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A selection mode is well formed but its number is out of range (`PERCENT(150)`, `COUNT(0)`).
    #[error("selection mode {input:?} is out of range {min}..={max}")]
    SelectionOutOfRange {
        /// The rejected text.
        input: String,
        /// Whether the mode is `PERCENT` (else `COUNT`).
        percent: bool,
        /// The number given (saturated at `u64::MAX`).
        value: u64,
        /// The smallest allowed number.
        min: u64,
        /// The largest allowed number.
        max: u64,
    },
    /// The YAML action catalogue could not be parsed.
    #[error("failed to parse the FIS action catalogue")]
    CatalogueParse {
        /// The YAML error, with its line and column.
        #[source]
        source: yaml_serde::Error,
    },
    /// The action catalogue parsed but is inconsistent (duplicate ID, unknown resource type, ...).
    #[error("invalid FIS action catalogue entry {id}: {reason}")]
    CatalogueInvalid {
        /// The catalogue entry at fault.
        id: String,
        /// What is inconsistent.
        reason: String,
    },
    /// A typed experiment template could not be turned into JSON.
    #[error("failed to serialise experiment template {name}")]
    TemplateSerialize {
        /// The template (stage) name.
        name: String,
        /// The serde_json error.
        #[source]
        source: serde_json::Error,
    },
}

impl PlanError {
    /// A stable, lowercase identifier of the error kind, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidDuration { .. } => "invalid-duration",
            Self::InvalidSelectionMode { .. } => "invalid-selection-mode",
            Self::SelectionOutOfRange { .. } => "selection-out-of-range",
            Self::CatalogueParse { .. } => "catalogue-parse",
            Self::CatalogueInvalid { .. } => "catalogue-invalid",
            Self::TemplateSerialize { .. } => "template-serialize",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_and_messages_lowercase() {
        let errors = [
            PlanError::InvalidDuration {
                input: "5m".into(),
                reason: "must start with P",
            },
            PlanError::InvalidSelectionMode {
                input: "SOME".into(),
                reason: "unknown mode",
            },
            PlanError::CatalogueInvalid {
                id: "aws:x:y".into(),
                reason: "duplicate".into(),
            },
        ];
        let kinds: std::collections::BTreeSet<_> = errors.iter().map(PlanError::kind).collect();
        assert_eq!(kinds.len(), errors.len());
        for e in &errors {
            let msg = e.to_string();
            assert!(msg.starts_with(char::is_lowercase), "{msg}");
            assert!(!msg.ends_with('.'), "{msg}");
        }
    }
}
