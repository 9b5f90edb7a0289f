//! Stage 3, plan: the FIS knowledge and validation core.
//!
//! Input: FIS experiment templates (typed, for generation, or JSON text, for lint), a blast-radius
//! [`Policy`] and the embedded action catalogue (`data/fis-actions.yaml`). Output: findings and
//! policy violations, plus typed parsers for FIS's selection modes and ISO-8601 durations. It must
//! not call AWS or the cluster: everything here is pure and synchronous.
//!
//! Entry points: [`lint_template_json`], [`check_policy`], [`catalogue()`],
//! [`SelectionMode::parse`], [`IsoDuration::parse`].

pub mod blast_radius;
pub mod catalogue;
pub mod duration;
pub mod error;
pub mod finding;
pub mod lint;
pub mod selection;
pub mod spans;
pub mod template;
pub mod timeline;

pub use blast_radius::{Policy, PolicyContext, PolicyViolation, check_policy};
pub use catalogue::{ActionSpec, Catalogue, ParamKind, ParamSpec, ResourceType, catalogue};
pub use duration::IsoDuration;
pub use error::PlanError;
pub use finding::{Finding, Rule, Severity, findings_to_json, format_findings, has_errors};
pub use lint::{LintOptions, lint_template_json};
pub use selection::SelectionMode;
pub use template::ExperimentTemplate;
