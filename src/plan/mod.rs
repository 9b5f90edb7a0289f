//! Stage 3, plan: GameDay planning and the FIS knowledge and validation core.
//!
//! Input: the incident catalogue, steady-state hypotheses and config (for [`plan()`]); scenario
//! files (for [`load_scenario`]); FIS experiment templates (typed, for generation, or JSON text,
//! for lint), a blast-radius [`Policy`] and the embedded action catalogue
//! (`data/fis-actions.yaml`). Output: a [`GameDayScenario`], one FIS template per stage
//! ([`stage_template`]), the brief ([`render_brief`]), CloudFormation/Terraform exports
//! ([`export()`]), lint findings and policy violations. It must not call AWS or the cluster:
//! everything here is pure and synchronous.
//!
//! Entry points: [`plan()`], [`load_scenario`], [`stage_template`], [`check_scenario_policy`],
//! [`render_brief`], [`export()`], [`lint_template_json`], [`check_policy`], [`catalogue()`],
//! [`SelectionMode::parse`], [`IsoDuration::parse`].

pub mod blast_radius;
pub mod brief;
pub mod catalogue;
pub mod dashboard;
pub mod duration;
pub mod error;
pub mod export;
pub(crate) mod fault_kinds;
pub mod finding;
pub mod generate;
pub mod lint;
pub mod scenario;
pub mod selection;
pub use crate::input::spans;
pub mod template;
pub mod timeline;

pub use blast_radius::{Policy, PolicyContext, PolicyViolation, check_policy};
pub use brief::render_brief;
pub use catalogue::{ActionSpec, Catalogue, ParamKind, ParamSpec, ResourceType, catalogue};
pub use duration::IsoDuration;
pub use error::PlanError;
pub use export::{ExportFormat, export, export_cloudformation, export_terraform};
pub use finding::{Finding, Rule, Severity, findings_to_json, format_findings, has_errors};
pub use generate::{PlanOptions, plan, plan_files};
pub use lint::{LintOptions, lint_template_json};
pub use scenario::{
    GameDayScenario, check_scenario_config, check_scenario_policy, load_scenario,
    scenario_policy_violations, stage_template, stage_templates, validate_scenario,
};
pub use selection::SelectionMode;
pub use template::ExperimentTemplate;
