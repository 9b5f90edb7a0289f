//! Errors of the plan stage's FIS knowledge core.
//!
//! Input: failures of the parsers (durations, selection modes), the catalogue loader and template
//! serialisation. Output: one [`PlanError`] enum with a stable [`PlanError::kind`]. It must not
//! carry lint findings: a finding is data about a template, not a failure of this code.

use std::path::PathBuf;

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
    /// A scenario file is not valid YAML or does not match the schema.
    #[error("{}:{line}:{column}: {message}", path.display())]
    ScenarioParse {
        /// The scenario file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A scenario file parsed but a value is not acceptable.
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    ScenarioInvalid {
        /// The scenario file.
        path: PathBuf,
        /// 1-based line of the key (1 when it could not be located).
        line: usize,
        /// 1-based column of the key.
        column: usize,
        /// The dotted key, e.g. `scenarios[0].stages[1].selection`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A scenario or stage index does not exist in the scenario file.
    #[error("no stage {stage} in scenario {scenario} of the gameday")]
    NoSuchStage {
        /// The scenario index.
        scenario: usize,
        /// The stage index.
        stage: usize,
    },
    /// A planned or hand-edited stage breaks the blast-radius policy.
    #[error("{0}")]
    PolicyViolation(Box<StageViolation>),
    /// A scenario file was planned for another environment, account or region than the config's.
    #[error("scenario file {field} is {scenario_value} but the config says {config_value}")]
    ScenarioMismatch {
        /// The field (`environment`, `account_id`, `region`).
        field: &'static str,
        /// The scenario file's value.
        scenario_value: String,
        /// The config's value.
        config_value: String,
    },
    /// The configuration lacks a setting planning needs.
    #[error("cannot plan service {service}: {field} is {value}; {requirement}")]
    Unplannable {
        /// The service (or `*` for all).
        service: String,
        /// The config key at fault.
        field: String,
        /// The value found (`unset` when missing).
        value: String,
        /// What is needed instead.
        requirement: String,
    },
    /// Nothing could be planned: no class had a usable action for any configured service.
    #[error("nothing to plan: {reason}")]
    NothingToPlan {
        /// Why, with the per-class skip reasons.
        reason: String,
    },
    /// A template (brief.md) failed to render.
    #[error("failed to render {template}")]
    Render {
        /// The template name.
        template: &'static str,
        /// The minijinja error.
        #[source]
        source: minijinja::Error,
    },
    /// An export (CloudFormation, Terraform) could not be produced.
    #[error("failed to export {format}")]
    Export {
        /// The export format.
        format: &'static str,
        /// The serde_json error.
        #[source]
        source: serde_json::Error,
    },
}

/// The first blast-radius violation of a GameDay, naming scenario, stage, field, value and limit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "scenario {scenario} stage {stage}: {field} = {value} breaks the policy limit {limit}{}",
    and_more(.more)
)]
pub struct StageViolation {
    /// The scenario name.
    pub scenario: String,
    /// The stage name.
    pub stage: String,
    /// The field at fault (`targets.pods.selectionMode`, ...).
    pub field: String,
    /// The value found.
    pub value: String,
    /// The limit it breaks.
    pub limit: String,
    /// The full explanation from the policy check.
    pub message: String,
    /// Further violations of the same GameDay.
    pub more: usize,
}

/// ` (and N more violations)` when N > 0.
fn and_more(more: &usize) -> String {
    match *more {
        0 => String::new(),
        1 => " (and 1 more violation)".to_owned(),
        n => format!(" (and {n} more violations)"),
    }
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
            Self::ScenarioParse { .. } => "scenario-parse",
            Self::ScenarioInvalid { .. } => "scenario-invalid",
            Self::NoSuchStage { .. } => "no-such-stage",
            Self::PolicyViolation { .. } => "policy-violation",
            Self::ScenarioMismatch { .. } => "scenario-mismatch",
            Self::Unplannable { .. } => "unplannable",
            Self::NothingToPlan { .. } => "nothing-to-plan",
            Self::Render { .. } => "render",
            Self::Export { .. } => "export",
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
