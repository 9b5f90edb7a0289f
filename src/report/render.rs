//! Rendering: a run (and optionally a checked model draft) into the post-mortem markdown,
//! `summary.json` and the SVG charts, all in memory.
//!
//! Input: a [`RunRecord`], [`ReportOptions`] and an optional [`Drafted`]. Output: [`Rendered`].
//! The template is `templates/postmortem.md.j2`, embedded, or `postmortem.md.j2` from the
//! user's template directory; undefined values are errors. Must not: read the clock (the render
//! time is an option) or write files ([`super::write_report`] does) — the same inputs give the
//! same bytes.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use minijinja::Value;
use minijinja::value::Serde;
use serde::Serialize;

use super::context::{self, ReportContext};
use super::error::ReportError;
use super::llm::Drafted;
use crate::config::LlmSettings;
use crate::model::record::{RunRecord, Trigger};

use super::charts::RenderedChart;

/// How to render.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// A directory holding a `postmortem.md.j2` that replaces the built-in template.
    pub template_dir: Option<PathBuf>,
    /// The model to draft the summary, findings and action items; `None` for none.
    pub llm: Option<LlmSettings>,
    /// The time printed as the render time.
    pub rendered_at: DateTime<Utc>,
}

/// The template's file name, embedded and in a user template directory.
pub const TEMPLATE_FILE: &str = "postmortem.md.j2";
const TEMPLATE: &str = include_str!("../../templates/postmortem.md.j2");

/// Version of the `summary.json` format; bump on any incompatible change.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// A rendered report, not yet written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `postmortem.md`.
    pub postmortem: String,
    /// `summary.json` (pretty-printed, with a final newline).
    pub summary: String,
    /// The charts the markdown links to.
    pub charts: Vec<RenderedChart>,
}

/// Renders a run's report.
///
/// # Errors
/// [`ReportError::Template`] when the user's template cannot be read or parsed,
/// [`ReportError::Render`] when the template fails, [`ReportError::Serialise`] for
/// `summary.json`.
pub fn render(
    record: &RunRecord,
    opts: &ReportOptions,
    drafted: Option<&Drafted>,
) -> Result<Rendered, ReportError> {
    render_with_history(record, opts, drafted, None)
}

/// [`render`], with what the run history says about this run: the post-mortem gains a
/// "Since last time" section (when earlier runs exist) and `summary.json` a `resilience` entry
/// (the score per service and its change), which the scheduler's `after` notification carries.
///
/// # Errors
/// As [`render`].
pub fn render_with_history(
    record: &RunRecord,
    opts: &ReportOptions,
    drafted: Option<&Drafted>,
    history: Option<&crate::history::RunHistory>,
) -> Result<Rendered, ReportError> {
    let ctx = context::build(record, opts.rendered_at, drafted);
    let since = history.and_then(since_context);
    let postmortem = render_markdown(&ctx, opts.template_dir.as_deref(), since.as_ref())?;
    let mut summary = match history {
        None => serde_json::to_string_pretty(&summary(&ctx)),
        Some(h) => serde_json::to_value(summary(&ctx)).and_then(|mut v| {
            if let Some(obj) = v.as_object_mut() {
                obj.insert("resilience".to_owned(), serde_json::to_value(h)?);
            }
            serde_json::to_string_pretty(&v)
        }),
    }
    .map_err(|source| ReportError::Serialise { source })?;
    summary.push('\n');
    Ok(Rendered {
        postmortem,
        summary,
        charts: ctx.charts,
    })
}

/// The "Since last time" section, every line formatted here.
#[derive(Debug, Serialize)]
struct SinceContext {
    previous: String,
    scores: Vec<String>,
    regressions: Vec<String>,
    newly_verified: Vec<String>,
}

fn since_context(h: &crate::history::RunHistory) -> Option<SinceContext> {
    let s = h.since_last_time.as_ref()?;
    Some(SinceContext {
        previous: format!(
            "Compared with {} earlier run{} (the latest, `{}`, started {}).",
            s.earlier_runs,
            if s.earlier_runs == 1 { "" } else { "s" },
            s.previous_run_id,
            s.previous_at.format("%Y-%m-%d %H:%M UTC")
        ),
        scores: s
            .scores
            .iter()
            .map(|c| {
                format!(
                    "Resilience score of {}: {:.1} → {:.1} ({:+.1})",
                    c.service, c.before, c.after, c.change
                )
            })
            .collect(),
        regressions: s
            .regressions
            .iter()
            .map(|r| format!("{} {}: {}", r.service, r.class, r.regression.evidence))
            .collect(),
        newly_verified: s
            .newly_verified
            .iter()
            .map(|c| format!("{} on {}", c.class, c.service))
            .collect(),
    })
}

fn render_markdown(
    ctx: &ReportContext,
    template_dir: Option<&Path>,
    since: Option<&SinceContext>,
) -> Result<String, ReportError> {
    let (name, source) = match template_dir {
        Some(dir) => {
            let path = dir.join(TEMPLATE_FILE);
            let text = crate::input::read_text(&path).map_err(|e| ReportError::Template {
                path: path.clone(),
                source: Box::new(e),
            })?;
            (path.display().to_string(), text)
        }
        None => (TEMPLATE_FILE.to_owned(), TEMPLATE.to_owned()),
    };
    let render_err = |source| ReportError::Render {
        template: name.clone(),
        source,
    };
    let mut env = crate::jinja::environment().map_err(render_err)?;
    env.add_template_owned(name.clone(), source)
        .map_err(|e| match template_dir {
            Some(dir) => ReportError::Template {
                path: dir.join(TEMPLATE_FILE),
                source: Box::new(e),
            },
            None => render_err(e),
        })?;
    env.get_template(&name)
        .and_then(|t| {
            t.render(minijinja::context! {
                since_last_time => Value::from(Serde(since)),
                ..Value::from(Serde(ctx))
            })
        })
        .map_err(|e| match template_dir {
            // A custom template that uses an undefined value is the caller's error, like a
            // syntax error in it.
            Some(dir) => ReportError::Template {
                path: dir.join(TEMPLATE_FILE),
                source: Box::new(e),
            },
            None => render_err(e),
        })
}

/// `summary.json`: the machine-readable outcome of a run.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    schema_version: u32,
    run_id: &'a str,
    gameday: &'a str,
    environment: &'a str,
    trigger: &'a Trigger,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    duration_secs: i64,
    /// `passed`, `aborted`, …, or `open` while the journal has no end.
    outcome: &'a str,
    complete: bool,
    exit_code: Option<i32>,
    /// The run went to the local emulator: nothing real was injected.
    simulated: bool,
    /// The AWS endpoint override the run used, if any.
    endpoint_url: Option<&'a str>,
    /// Why the run was aborted, when it was: reason, the stage's detail and when.
    abort: Option<&'a super::context::AbortRaw>,
    /// Some model-drafted text is in the post-mortem (next to the rule-based text, which is
    /// always whole).
    ai_drafted: bool,
    preflight_failed_checks: usize,
    scenarios: Vec<SummaryScenario<'a>>,
    /// Rule-based findings.
    findings: usize,
    /// Rule-based action items.
    action_items: Vec<SummaryAction<'a>>,
    /// Model-drafted findings that passed the fact check, in addition to `findings`.
    ai_findings: usize,
    /// Model-drafted action items that passed the fact check, in addition to `action_items`.
    ai_action_items: Vec<SummaryAction<'a>>,
    charts: Vec<&'a str>,
    rendered_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct SummaryScenario<'a> {
    name: &'a str,
    service: &'a str,
    fault_class: &'a str,
    outcome: &'a str,
    stages: Vec<SummaryStage<'a>>,
}

#[derive(Debug, Serialize)]
struct SummaryStage<'a> {
    name: &'a str,
    selection: &'a str,
    outcome: &'a str,
    hypothesis_held: Option<bool>,
    template_id: Option<&'a str>,
    experiment_id: Option<&'a str>,
    final_status: Option<&'a str>,
    recovery_secs: Option<u64>,
    recovery_target_secs: Option<u64>,
    abort: Option<&'a super::context::AbortRaw>,
}

#[derive(Debug, Serialize)]
struct SummaryAction<'a> {
    priority: &'static str,
    title: &'a str,
    owner: &'a str,
}

fn summary(ctx: &ReportContext) -> Summary<'_> {
    Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        run_id: &ctx.run_id,
        gameday: &ctx.gameday,
        environment: &ctx.environment,
        trigger: &ctx.trigger_raw,
        started_at: ctx.started_at,
        ended_at: ctx.ended_at,
        duration_secs: (ctx.ended_at - ctx.started_at).num_seconds(),
        outcome: &ctx.outcome,
        complete: ctx.complete,
        exit_code: ctx.exit_code,
        simulated: ctx.simulation.is_some(),
        endpoint_url: ctx.endpoint_url.as_deref(),
        abort: ctx.abort.as_ref(),
        ai_drafted: ctx.ai.is_some(),
        preflight_failed_checks: ctx.preflight.failed,
        scenarios: ctx
            .scenarios
            .iter()
            .map(|s| SummaryScenario {
                name: &s.name,
                service: &s.service,
                fault_class: &s.fault_class,
                outcome: &s.outcome,
                stages: s
                    .stages
                    .iter()
                    .map(|st| SummaryStage {
                        name: &st.name,
                        selection: &st.selection,
                        outcome: &st.outcome,
                        hypothesis_held: st.raw.hypothesis_held,
                        template_id: st.raw.template_id.as_deref(),
                        experiment_id: st.raw.experiment_id.as_deref(),
                        final_status: st.raw.final_status.as_deref(),
                        recovery_secs: st.raw.recovery_secs,
                        recovery_target_secs: st.raw.recovery_target_secs,
                        abort: st.raw.abort.as_ref(),
                    })
                    .collect(),
            })
            .collect(),
        findings: ctx.findings.len(),
        action_items: ctx
            .action_items
            .iter()
            .map(|a| SummaryAction {
                priority: a.priority.as_str(),
                title: &a.title,
                owner: &a.owner,
            })
            .collect(),
        ai_findings: ctx.ai_findings.len(),
        ai_action_items: ctx
            .ai_action_items
            .iter()
            .map(|a| SummaryAction {
                priority: a.priority.as_str(),
                title: &a.title,
                owner: &a.owner,
            })
            .collect(),
        charts: ctx.charts.iter().map(|c| c.file_name.as_str()).collect(),
        rendered_at: ctx.rendered_at_raw,
    }
}
