//! Stage 5, `report`: a run's journal into a post-mortem a team pastes into its incident
//! tracker — `reports/<run-id>/postmortem.md`, `summary.json` and `charts/*.svg`.
//!
//! Input: a [`RunRecord`](crate::model::record::RunRecord) (the fold of a journal, so a report can
//! be rendered again at any time) and [`ReportOptions`]. Output: the files ([`write_report`]) or
//! their text ([`render`], pure and deterministic).
//!
//! - `context` turns the record into what the template shows, every number formatted in Rust;
//!   the template (`templates/postmortem.md.j2`, or the user's) only places strings.
//! - `findings` derives findings and P0/P1/P2 action items from the journal by rules, so the
//!   report is complete and useful without a model.
//! - `charts` draws one SVG per guarded metric and stage: baseline, guard datapoints, the abort
//!   threshold as a band, the fault window shaded.
//! - With `llm:` configured, `llm` asks an OpenAI-compatible model to draft the summary,
//!   findings and action items from [`redact`]ed facts; `check` drops every sentence citing a
//!   number or id that is not in the facts or stating a verdict the journal contradicts. What
//!   passes is added, marked, next to the rule-based text, which always stays whole; any failure
//!   leaves the rule-based text alone.
//!
//! Must not: change the journal, call a model without explicit configuration, or read the clock.

mod charts;
mod check;
mod context;
mod error;
mod findings;
mod format;
mod llm;
pub mod redact;
mod render;
mod write;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub use charts::RenderedChart;
/// Trend charts for `gameday history`, drawn by the same code as the stage charts.
pub(crate) use charts::trend_chart;
pub use context::facts_of as facts;
pub use error::ReportError;
pub use findings::{OWNER_PLACEHOLDER, Priority};
pub use llm::{DraftAction, DraftFinding, DraftText, Drafted, draft};
pub use render::{
    Rendered, ReportOptions, SUMMARY_SCHEMA_VERSION, TEMPLATE_FILE, render, render_with_history,
};
pub use write::{
    CHARTS_DIR, POSTMORTEM_FILE, ReportPaths, SUMMARY_FILE, load_record, locate_journal,
    write_report,
};
