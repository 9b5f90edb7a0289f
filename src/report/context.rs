//! The report's context: a [`RunRecord`] turned into what the post-mortem template and
//! `summary.json` show, with every number and time already formatted.
//!
//! Input: a [`RunRecord`], the render time, and optionally the model's checked draft. Output: a
//! serialisable [`ReportContext`] (and the [`facts`] a model is given). Ordering is the run's:
//! scenarios and stages as planned, timeline events by time then journal order. Must not: read
//! the clock, the file system or the network.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::charts::{self, RenderedChart};
use super::findings::{self, ActionItem, Finding, Findings, Priority};
use super::format::{self, bound, cell, num, secs};
use super::llm::Drafted;
use super::redact::{Redaction, redact};
use crate::model::record::{
    MetricJudgement, Outcome, Phase, RunOutcome, RunRecord, ScenarioRecord, StageRecord, Trigger,
};
use crate::plan::scenario::{Scenario, Stage};

/// Redaction applied to log excerpts the report itself prints (IPs are kept: the report stays
/// inside the team; what goes to a model is redacted with the configured setting).
const REPORT_REDACTION: Redaction = Redaction { ips: false };

/// The whole report.
#[derive(Debug, Serialize)]
pub(crate) struct ReportContext {
    pub(crate) gameday: String,
    pub(crate) run_id: String,
    pub(crate) environment: String,
    pub(crate) owner: String,
    pub(crate) date: String,
    pub(crate) started: String,
    pub(crate) ended: String,
    pub(crate) duration: String,
    pub(crate) trigger: String,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) dashboard_url: String,
    pub(crate) report_location: Option<String>,
    pub(crate) scenario_file: String,
    pub(crate) version: String,
    pub(crate) rendered_at: String,
    pub(crate) outcome: String,
    pub(crate) outcome_text: String,
    pub(crate) exit_code: Option<i32>,
    pub(crate) complete: bool,
    pub(crate) open_warning: Option<String>,
    pub(crate) interrupted: Option<InterruptedContext>,
    pub(crate) dry_run: bool,
    /// Set when the run went to the local emulator: what that means, for the header.
    pub(crate) simulation: Option<String>,
    /// The settings the run was made with, one line each.
    pub(crate) settings: Vec<String>,
    /// How to read the fault windows (what polling sees, and on the emulator its timer).
    pub(crate) window_note: String,
    pub(crate) preflight: PreflightContext,
    pub(crate) summary: Vec<String>,
    pub(crate) scenarios: Vec<ScenarioContext>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) action_items: Vec<ActionItem>,
    /// Set when some of the model's draft is used.
    pub(crate) ai: Option<AiContext>,
    /// The model's summary, shown next to the rule-based one.
    pub(crate) ai_summary: Vec<String>,
    /// The model's findings (`A1`, `A2`, …), shown after the rule-based ones.
    pub(crate) ai_findings: Vec<Finding>,
    /// The model's action items, shown after the rule-based ones.
    pub(crate) ai_action_items: Vec<ActionItem>,
    /// Notes about the model: dropped sentences, or why its draft was not used.
    pub(crate) llm_notes: Vec<String>,
    pub(crate) unknown_kinds: Vec<String>,
    #[serde(skip)]
    pub(crate) charts: Vec<RenderedChart>,
    #[serde(skip)]
    pub(crate) started_at: DateTime<Utc>,
    #[serde(skip)]
    pub(crate) ended_at: DateTime<Utc>,
    #[serde(skip)]
    pub(crate) trigger_raw: Trigger,
    #[serde(skip)]
    pub(crate) rendered_at_raw: DateTime<Utc>,
    #[serde(skip)]
    pub(crate) endpoint_url: Option<String>,
    #[serde(skip)]
    pub(crate) abort: Option<AbortRaw>,
}

/// Why a run or stage was aborted, for `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AbortRaw {
    /// `guard`, `stop_condition`, `timeout`, `interrupt` or `signal`.
    pub(crate) reason: crate::shutdown::AbortReason,
    /// What exactly, as the run recorded it.
    pub(crate) detail: Option<String>,
    /// When.
    pub(crate) at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct AiContext {
    pub(crate) model: String,
    pub(crate) summary: bool,
    pub(crate) findings: bool,
    pub(crate) action_items: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct InterruptedContext {
    pub(crate) at: String,
    pub(crate) stopped: Vec<String>,
    pub(crate) stop_failed: Vec<String>,
    pub(crate) detail: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct PreflightContext {
    pub(crate) ran: bool,
    pub(crate) result: String,
    pub(crate) failed: usize,
    pub(crate) checks: Vec<CheckContext>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CheckContext {
    pub(crate) scope: String,
    pub(crate) check: String,
    pub(crate) ok: bool,
    pub(crate) detail: String,
    pub(crate) fix: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ScenarioContext {
    pub(crate) index: usize,
    pub(crate) ran: bool,
    pub(crate) name: String,
    pub(crate) service: String,
    pub(crate) fault_class: String,
    pub(crate) outcome: String,
    pub(crate) stages_reached: String,
    pub(crate) worst_metric: String,
    pub(crate) recovery: String,
    pub(crate) hypothesis: Vec<String>,
    /// Set when the guard judges with a learned band rather than the fixed bounds alone.
    pub(crate) judge_note: Option<String>,
    pub(crate) expected: String,
    pub(crate) success_criteria: Vec<String>,
    pub(crate) target: String,
    pub(crate) actions: Vec<ActionContext>,
    pub(crate) stop_alarms: Vec<String>,
    pub(crate) stages: Vec<StageContext>,
    pub(crate) timeline: Vec<TimelineRow>,
    pub(crate) evidence: EvidenceContext,
    pub(crate) findings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ActionContext {
    pub(crate) name: String,
    pub(crate) action_id: String,
    pub(crate) parameters: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct EvidenceContext {
    pub(crate) summary: String,
    pub(crate) services: String,
    pub(crate) top_templates: Vec<String>,
    pub(crate) caveat: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct StageContext {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) selection: String,
    pub(crate) outcome: String,
    pub(crate) ran: bool,
    pub(crate) template_id: String,
    pub(crate) experiment_id: String,
    pub(crate) final_status: String,
    pub(crate) fault_window: String,
    pub(crate) targets: String,
    pub(crate) hypothesis_held: String,
    pub(crate) recovery: String,
    pub(crate) reasons: Vec<String>,
    pub(crate) metrics: Vec<MetricContext>,
    pub(crate) charts: Vec<ChartLink>,
    /// Raw values for `summary.json`.
    #[serde(skip)]
    pub(crate) raw: StageRaw,
}

/// A stage's values as `summary.json` gives them (unformatted).
#[derive(Debug, Default)]
pub(crate) struct StageRaw {
    pub(crate) hypothesis_held: Option<bool>,
    pub(crate) template_id: Option<String>,
    pub(crate) experiment_id: Option<String>,
    pub(crate) final_status: Option<String>,
    pub(crate) recovery_secs: Option<u64>,
    pub(crate) recovery_target_secs: Option<u64>,
    pub(crate) abort: Option<AbortRaw>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MetricContext {
    pub(crate) metric: String,
    pub(crate) bound: String,
    pub(crate) worst: String,
    pub(crate) breaches: String,
    pub(crate) baseline_median: String,
    pub(crate) fault_median: String,
    pub(crate) p_value: String,
    pub(crate) effect: String,
    pub(crate) degraded: String,
    pub(crate) held: String,
    /// Whether the degradation verdict rests on too few fault datapoints to mean much.
    pub(crate) weak: bool,
    pub(crate) recovery: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChartLink {
    pub(crate) title: String,
    pub(crate) path: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct TimelineRow {
    pub(crate) utc: String,
    pub(crate) since: String,
    pub(crate) stage: String,
    pub(crate) event: String,
    #[serde(skip)]
    at: DateTime<Utc>,
}

/// How a run ended, as a label and a sentence.
fn outcome_text(run: &RunRecord) -> (String, String) {
    match run.outcome() {
        Some(RunOutcome::Aborted) => {
            let by = run
                .finished
                .as_ref()
                .and_then(|(_, f)| f.abort_reason)
                .map_or("a stop condition, the guard or an operator", abort_label);
            (
                RunOutcome::Aborted.as_str().to_owned(),
                format!("a stage was stopped early by {by}"),
            )
        }
        Some(o) => {
            let text = match o {
                RunOutcome::Passed => "every stage held its hypothesis",
                RunOutcome::DryRun => "dry run: preflight passed and nothing was injected",
                RunOutcome::PreflightFailed => "preflight failed, so nothing was injected",
                RunOutcome::HypothesisFailed => "a hypothesis did not hold",
                RunOutcome::Aborted => "a stage was stopped early",
                RunOutcome::Interrupted => "the run died and `gameday recover` closed it",
                RunOutcome::StopFailed => {
                    "a stop failed: an experiment may still have been running"
                }
            };
            (o.as_str().to_owned(), text.to_owned())
        }
        None => (
            "open".to_owned(),
            "the run is still open or crashed".to_owned(),
        ),
    }
}

/// Whether the run went to the local emulator (an endpoint override on loopback).
fn simulated(run: &RunRecord) -> bool {
    run.start
        .settings
        .endpoint_url
        .as_deref()
        .is_some_and(crate::provider::aws::is_loopback_endpoint)
}

/// The settings a run was made with, for the post-mortem (older journals lack some).
fn settings_lines(run: &RunRecord) -> Vec<String> {
    let s = &run.start.settings;
    let mut out = Vec::new();
    out.push(match s.guard_period_secs {
        Some(p) => format!(
            "Guard: polled every {}, reading {} datapoints; a datapoint is stamped with the start of its period",
            secs(s.guard_interval_secs),
            secs(p)
        ),
        None => format!("Guard: polled every {}", secs(s.guard_interval_secs)),
    });
    // A metric with a learned judge is read at the period it was learned at.
    let mut own: Vec<(String, u64)> = run
        .scenarios
        .iter()
        .flat_map(|sc| sc.stages.iter())
        .flat_map(|st| st.samples.iter())
        .filter_map(|x| Some((x.metric.clone(), x.period_secs?)))
        .filter(|(_, p)| Some(*p) != s.guard_period_secs)
        .collect();
    own.sort_unstable();
    own.dedup();
    if !own.is_empty() {
        let list: Vec<String> = own
            .iter()
            .map(|(m, p)| format!("{m} at {}", secs(*p)))
            .collect();
        out.push(format!(
            "Read at the period their judge was learned at: {}",
            list.join(", ")
        ));
    }
    if let Some(b) = s.baseline_window_secs {
        out.push(format!("Baseline: the {} before each stage", secs(b)));
    }
    let targets: Vec<String> = s
        .recovery_targets_secs
        .iter()
        .map(|(k, v)| format!("{k} {}", secs(*v)))
        .collect();
    out.push(format!(
        "Recovery: watched for up to {}{}",
        secs(s.recovery_cap_secs),
        if targets.is_empty() {
            String::new()
        } else {
            format!("; targets {}", targets.join(", "))
        }
    ));
    out.push(format!(
        "Stop: confirmed within {}; {}",
        secs(s.stop_timeout_secs),
        if s.stop_on_failure {
            "a failed scenario ends the run"
        } else {
            "the run goes on after a failed scenario"
        }
    ));
    if run.preflight.iter().any(|c| c.check == "k8s-skipped") {
        out.push("Kubernetes: checks and evidence skipped (--skip-kube)".to_owned());
    }
    if let Some(u) = &s.endpoint_url {
        out.push(format!("AWS endpoint: {u}"));
    }
    if s.dry_run {
        out.push("Dry run: preflight only".to_owned());
    }
    out
}

fn trigger(t: &Trigger) -> String {
    match t {
        Trigger::Manual { user: Some(u) } => format!("manual (by {u})"),
        Trigger::Manual { user: None } => "manual".to_owned(),
        Trigger::Schedule { entry } => format!("schedule (`{entry}`)"),
    }
}

fn trigger_phrase(t: &Trigger) -> String {
    match t {
        Trigger::Manual { user: Some(u) } => format!("started by hand by {u}"),
        Trigger::Manual { user: None } => "started by hand".to_owned(),
        Trigger::Schedule { entry } => format!("started by the schedule `{entry}`"),
    }
}

/// `1 finding`, `2 findings`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn abort_label(r: crate::shutdown::AbortReason) -> &'static str {
    use crate::shutdown::AbortReason as A;
    match r {
        A::StopCondition => "a FIS stop condition",
        A::Guard => "the guard",
        A::Timeout => "a timeout",
        A::Interrupt => "an operator (Ctrl-C)",
        A::Signal => "a termination signal",
    }
}

/// The outcome label of a stage as far as the journal tells.
fn stage_outcome(run: &RunRecord, st: Option<&StageRecord>) -> String {
    match st {
        None => Outcome::NotRun.as_str().to_owned(),
        Some(st) => match &st.finished {
            Some((_, f)) => f.verdict.outcome.as_str().to_owned(),
            None if run.interrupted.is_some() => "interrupted".to_owned(),
            None if run.finished.is_some() => "unfinished".to_owned(),
            None => "in progress".to_owned(),
        },
    }
}

fn scenario_outcome(run: &RunRecord, rec: Option<&ScenarioRecord>) -> String {
    let Some(rec) = rec else {
        return Outcome::NotRun.as_str().to_owned();
    };
    if let Some((_, f)) = &rec.finished {
        return f.outcome.as_str().to_owned();
    }
    // Unfinished: the worst stage outcome decides.
    rec.stages
        .iter()
        .map(|st| stage_outcome(run, Some(st)))
        .find(|o| o != "passed")
        .unwrap_or_else(|| stage_outcome(run, rec.stages.last()))
}

/// How far a metric got towards (or past) its bound: `worst / upper` or `lower / worst`.
fn severity(m: &MetricJudgement) -> f64 {
    let Some(w) = m.worst else {
        return f64::NEG_INFINITY;
    };
    let up = m.upper.filter(|u| *u != 0.0).map(|u| w / u);
    let low = m.lower.filter(|_| w != 0.0).map(|l| l / w);
    up.into_iter().chain(low).fold(f64::NEG_INFINITY, f64::max)
}

fn worst_metric(stages: &[&StageRecord]) -> String {
    let worst = stages
        .iter()
        .filter_map(|st| st.finished.as_ref())
        .flat_map(|(_, f)| f.verdict.metrics.iter().map(move |m| (f.stage.as_str(), m)))
        .filter(|(_, m)| m.worst.is_some())
        .max_by(|a, b| severity(a.1).total_cmp(&severity(b.1)));
    match worst {
        Some((stage, m)) => format!(
            "{} {} vs {} ({stage})",
            m.metric,
            m.worst.map_or("n/a".to_owned(), num),
            bound(m.lower, m.upper)
        ),
        None => "—".to_owned(),
    }
}

fn recovery_text(recovery: Option<u64>, target: u64, injected: bool) -> String {
    match (recovery, injected) {
        (Some(r), _) if r > target => format!("{} (target {}) — slow", secs(r), secs(target)),
        (Some(r), _) => format!("{} (target {})", secs(r), secs(target)),
        (None, true) => format!("not recovered within the cap (target {})", secs(target)),
        (None, false) => "—".to_owned(),
    }
}

fn scenario_recovery(stages: &[&StageRecord]) -> String {
    let judged: Vec<_> = stages
        .iter()
        .filter_map(|st| st.finished.as_ref().map(|(_, f)| f))
        .collect();
    if let Some(f) = judged.iter().find(|f| {
        f.verdict.recovery_secs.is_none()
            && f.fault_start.is_some()
            && f.verdict.metrics.iter().any(|m| m.breaches > 0)
    }) {
        return recovery_text(None, f.verdict.recovery_target_secs, true);
    }
    judged
        .iter()
        .filter_map(|f| {
            f.verdict
                .recovery_secs
                .map(|r| (r, f.verdict.recovery_target_secs))
        })
        .max_by_key(|(r, t)| (r.saturating_sub(*t), *r))
        .map_or("—".to_owned(), |(r, t)| recovery_text(Some(r), t, true))
}

/// Below this many fault datapoints the shift test has little power: with a few dozen
/// baseline points, a two-sided Mann-Whitney U test at α = 0.01 needs about five fault
/// datapoints all beyond the baseline to reach significance, so "not degraded" on fewer means
/// "not shown", not "unchanged".
const FEW_FAULT_POINTS: usize = 5;

/// The "shift vs baseline" verdict of a metric, saying how much it rests on.
fn degraded_text(m: &MetricJudgement) -> String {
    let n = m.fault_points;
    let points = if n == 1 {
        "1 fault datapoint".to_owned()
    } else {
        format!("{n} fault datapoints")
    };
    match (m.degraded, n) {
        (true, _) => format!("yes ({points})"),
        (false, 0) => "not judged (no fault datapoint)".to_owned(),
        (false, n) if n < FEW_FAULT_POINTS => {
            format!("not shown — only {points}, too few for the test (weak)")
        }
        (false, _) => format!("no ({points})"),
    }
}

fn metric_context(m: &MetricJudgement) -> MetricContext {
    let opt = |v: Option<f64>| v.map_or("—".to_owned(), num);
    MetricContext {
        weak: !m.degraded && m.fault_points < FEW_FAULT_POINTS,
        metric: m.metric.clone(),
        bound: bound(m.lower, m.upper),
        worst: opt(m.worst),
        breaches: format!("{} / {}", m.breaches, m.fault_points),
        baseline_median: opt(m.baseline_median),
        fault_median: opt(m.fault_median),
        p_value: m.p_value.map_or("—".to_owned(), format::p_value),
        effect: m.effect_size.map_or("—".to_owned(), format::effect),
        degraded: degraded_text(m),
        held: if m.held { "yes" } else { "no" }.to_owned(),
        recovery: m.recovery_secs.map_or("—".to_owned(), secs),
    }
}

fn stage_context(
    run: &RunRecord,
    sc: &Scenario,
    i: usize,
    plan: &Stage,
    st: Option<&StageRecord>,
    charts_out: &mut Vec<RenderedChart>,
) -> StageContext {
    let outcome = stage_outcome(run, st);
    let dash = || "—".to_owned();
    let Some(st) = st else {
        return StageContext {
            index: i + 1,
            name: plan.name.clone(),
            selection: plan.selection.to_string(),
            outcome,
            ran: false,
            template_id: dash(),
            experiment_id: dash(),
            final_status: dash(),
            fault_window: dash(),
            targets: dash(),
            hypothesis_held: dash(),
            recovery: dash(),
            reasons: Vec::new(),
            metrics: Vec::new(),
            charts: Vec::new(),
            raw: StageRaw::default(),
        };
    };
    let fin = st.finished.as_ref().map(|(_, f)| f);
    // The window is what polling saw: first `running` to first terminal state. On the emulator
    // states advance on a timer, so it says nothing about the actions' own `duration`.
    let window = charts::fault_window(st).map_or(dash(), |(a, b)| match b {
        Some(b) => format!(
            "{} → {} ({} as polled)",
            format::clock(a),
            format::clock(b),
            format::signed_secs((b - a).num_seconds())
        ),
        None => format!("{} → (no end recorded)", format::clock(a)),
    });
    let mut targets = Vec::new();
    if let Some(i) = &st.intent {
        targets.push(format!("{} of `{}`", i.selection, sc.target.selector));
    } else {
        targets.push(format!("{} of `{}`", plan.selection, sc.target.selector));
    }
    targets.push(format!("in {}/{}.", sc.target.cluster, sc.target.namespace));
    if let Some((_, p)) = st.k8s_pods.first() {
        targets.push(format!(
            "{} pods matched the selector, {} ready before the fault.",
            p.total, p.ready
        ));
    }
    let kube_skipped = run.preflight.iter().any(|c| c.check == "k8s-skipped");
    if simulated(run) {
        targets.push(
            "Nothing was hit: the emulator accepts the experiment but injects nothing.".to_owned(),
        );
    } else if kube_skipped && st.k8s_pods.is_empty() {
        targets.push(
            "Which pods were hit is not known: the Kubernetes checks were skipped (--skip-kube) and FIS did not list the resolved targets."
                .to_owned(),
        );
    } else if let Some(c) = run.preflight.iter().find(|c| {
        c.check == "targets"
            && c.scenario.as_deref() == Some(&sc.name)
            && c.stage.as_deref() == Some(&st.name)
    }) {
        targets.push(format!("Preflight: {}.", c.detail.trim_end_matches('.')));
    }
    let chart_list = charts::stage_charts(&sc.name, st, &sc.hypothesis, run.ended_at());
    let links = chart_list
        .iter()
        .map(|c| ChartLink {
            title: format!("{} — stage {}", c.metric, c.stage),
            path: c.file_name.clone(),
        })
        .collect();
    charts_out.extend(chart_list);
    StageContext {
        index: i + 1,
        name: plan.name.clone(),
        selection: plan.selection.to_string(),
        outcome,
        ran: true,
        template_id: st.template_id.clone().unwrap_or_else(dash),
        experiment_id: st.experiment_id.clone().unwrap_or_else(|| {
            if st.intent.is_some() {
                "(StartExperiment may have been called; no id recorded)".to_owned()
            } else {
                dash()
            }
        }),
        final_status: fin
            .and_then(|f| f.final_status.clone())
            .or_else(|| {
                st.states
                    .last()
                    .map(|(_, s)| format!("{} (last seen)", s.status))
            })
            .unwrap_or_else(dash),
        fault_window: window,
        targets: targets.join(" "),
        hypothesis_held: fin.map_or("not judged".to_owned(), |f| {
            if f.verdict.hypothesis_held {
                "yes"
            } else {
                "no"
            }
            .to_owned()
        }),
        recovery: fin.map_or(dash(), |f| {
            recovery_text(
                f.verdict.recovery_secs,
                f.verdict.recovery_target_secs,
                f.fault_start.is_some() && f.verdict.metrics.iter().any(|m| m.breaches > 0),
            )
        }),
        reasons: fin
            .map(|f| {
                f.verdict
                    .reasons
                    .iter()
                    .map(|r| match &st.abort {
                        // The judge's abort reason is lowercased; the journal's detail is not.
                        Some((_, a)) if r.starts_with("aborted (") => {
                            format!("aborted by {}: {}", abort_label(a.reason), a.detail)
                        }
                        _ => r.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        metrics: fin
            .map(|f| f.verdict.metrics.iter().map(metric_context).collect())
            .unwrap_or_default(),
        charts: links,
        raw: StageRaw {
            hypothesis_held: fin.map(|f| f.verdict.hypothesis_held),
            template_id: st.template_id.clone(),
            experiment_id: st.experiment_id.clone(),
            final_status: fin.and_then(|f| f.final_status.clone()),
            recovery_secs: fin.and_then(|f| f.verdict.recovery_secs),
            recovery_target_secs: fin.map(|f| f.verdict.recovery_target_secs),
            abort: st.abort.as_ref().map(|(at, a)| AbortRaw {
                reason: a.reason,
                detail: Some(a.detail.clone()),
                at: Some(*at),
            }),
        },
    }
}

fn timeline(run: &RunRecord, rec: &ScenarioRecord) -> Vec<TimelineRow> {
    let start = run.started_at;
    let plan = run
        .start
        .gameday
        .scenarios
        .iter()
        .find(|p| p.name == rec.name);
    let mut rows: Vec<TimelineRow> = Vec::new();
    let mut push = |at: DateTime<Utc>, stage: &str, event: String| {
        rows.push(TimelineRow {
            utc: format::utc(at),
            since: format::since(at, start),
            stage: stage.to_owned(),
            event: cell(&event),
            at,
        });
    };
    if let Some(t) = rec.started {
        push(t, "", format!("scenario {} started", rec.name));
    }
    let period = run.start.settings.guard_period_secs;
    // Alarm states carry over from stage to stage: only changes are events.
    let mut alarm_states: std::collections::BTreeMap<&str, &str> = Default::default();
    for st in &rec.stages {
        let s = st.name.as_str();
        if let Some(b) = &st.baseline {
            let n = b.series.values().map(Vec::len).max().unwrap_or(0);
            push(
                b.to,
                s,
                format!(
                    "baseline window {} → {} ({n} datapoints per metric)",
                    format::clock(b.from),
                    format::clock(b.to)
                ),
            );
        }
        let mut prev_status: Option<&str> = None;
        let mut prev_actions: std::collections::BTreeMap<&str, &str> = Default::default();
        for (at, state) in &st.states {
            let mut parts = Vec::new();
            if prev_status != Some(state.status.as_str()) {
                let reason = state.reason.as_deref().map_or(String::new(), |r| {
                    format!(" ({})", redact(r, REPORT_REDACTION))
                });
                parts.push(format!(
                    "FIS experiment `{}` → {}{reason}",
                    state.experiment_id, state.status
                ));
            }
            for (name, a) in &state.actions {
                if prev_actions.get(name.as_str()) != Some(&a.status.as_str()) {
                    let reason = a.reason.as_deref().map_or(String::new(), |r| {
                        format!(" ({})", redact(r, REPORT_REDACTION))
                    });
                    parts.push(format!("action `{name}` → {}{reason}", a.status));
                }
                prev_actions.insert(name, &a.status);
            }
            prev_status = Some(&state.status);
            if !parts.is_empty() {
                push(*at, s, parts.join("; "));
            }
        }
        // Guard: per metric, the first breach, the breach count, and when it was back inside.
        let mut metrics: Vec<&str> = st.samples.iter().map(|x| x.metric.as_str()).collect();
        metrics.sort_unstable();
        metrics.dedup();
        for m in metrics {
            let samples: Vec<_> = st
                .samples
                .iter()
                .enumerate()
                .filter(|(_, x)| x.metric == m)
                .map(|(i, x)| (x, st.samples_seen_at.get(i).copied()))
                .collect();
            // A datapoint is stamped with the start of its period; the guard read it later.
            let when = |x: &crate::model::record::GuardSample, seen: Option<DateTime<Utc>>| {
                let stamp = format::clock(format::epoch(x.ts));
                let datapoint = match x.period_secs.or(period) {
                    Some(p) => format!("the {} datapoint from {stamp}", secs(p)),
                    None => format!("the datapoint stamped {stamp}"),
                };
                (seen.unwrap_or_else(|| format::epoch(x.ts)), datapoint)
            };
            let Some(first) = samples.iter().position(|(x, _)| x.breach) else {
                continue;
            };
            let (b, b_seen) = samples[first];
            let during = |phase: Phase| {
                samples
                    .iter()
                    .filter(|(x, _)| x.breach && x.phase == phase)
                    .count()
            };
            let (fault, recovery) = (during(Phase::Fault), during(Phase::Recovery));
            let counts = if recovery > 0 {
                format!("{fault} during the fault, {recovery} during recovery")
            } else {
                format!("{fault} during the fault")
            };
            let (seen, datapoint) = when(b, b_seen);
            let outside = match findings::fixed_bound_if_other(plan, m, b.lower, b.upper) {
                Some(fixed) => format!(
                    "outside its learned band {} (the hypothesis' fixed bound is {fixed})",
                    bound(b.lower, b.upper)
                ),
                None => format!("outside {}", findings::sample_bound(b, st)),
            };
            push(
                seen,
                s,
                format!(
                    "guard read {m} {} in {datapoint}, {outside} (first breach; {counts})",
                    num(b.value),
                ),
            );
            let last = samples.iter().rposition(|(x, _)| x.breach).unwrap_or(first);
            if let Some((back, back_seen)) = samples.get(last + 1) {
                let (seen, datapoint) = when(back, *back_seen);
                push(
                    seen,
                    s,
                    format!(
                        "guard read {m} back inside its bound: {} in {datapoint}",
                        num(back.value)
                    ),
                );
            }
        }
        for (at, a) in &st.alarms {
            if alarm_states.insert(&a.alarm, &a.state) == Some(a.state.as_str()) {
                continue;
            }
            // "Unchecked: Initial alarm creation" says only that the alarm is new.
            let reason = a
                .reason
                .as_deref()
                .filter(|r| !r.starts_with("Unchecked"))
                .map_or(String::new(), |r| {
                    format!(" ({})", redact(r, REPORT_REDACTION))
                });
            push(*at, s, format!("alarm `{}` → {}{reason}", a.alarm, a.state));
        }
        for e in &st.k8s_events {
            let times = if e.count > 1 {
                format!(" (×{})", e.count)
            } else {
                String::new()
            };
            push(
                e.last_seen,
                s,
                format!(
                    "k8s {} {} on {}: {}{times}",
                    e.event_type,
                    e.reason,
                    e.object,
                    redact(&e.message, REPORT_REDACTION)
                ),
            );
        }
        let mut prev_ready: Option<(u32, u32, u32)> = None;
        for (at, p) in &st.k8s_pods {
            let now = (p.ready, p.total, p.restarts);
            if prev_ready != Some(now) {
                push(
                    *at,
                    s,
                    format!(
                        "pods ready {}/{}, {} restarts",
                        p.ready, p.total, p.restarts
                    ),
                );
            }
            prev_ready = Some(now);
        }
        if let Some((at, a)) = &st.abort {
            push(
                *at,
                s,
                format!("abort by {}: {}", abort_label(a.reason), a.detail),
            );
        }
        if let Some(at) = st.stop_requested {
            push(at, s, "StopExperiment requested".to_owned());
        }
        if let Some((at, c)) = &st.stop_confirmed {
            push(
                *at,
                s,
                format!(
                    "stop confirmed: experiment `{}` {}",
                    c.experiment_id, c.status
                ),
            );
        }
        if let Some((at, f)) = &st.stop_failed {
            push(
                *at,
                s,
                format!("STOP FAILED for `{}`: {}", f.experiment_id, f.error),
            );
        }
        if let Some((at, f)) = &st.finished {
            push(
                *at,
                s,
                format!("stage finished: {}", f.verdict.outcome.as_str()),
            );
        } else if st.intent.is_some() {
            // The last thing the run itself wrote about the stage (recover writes the stops).
            let last = st
                .samples
                .iter()
                .map(|x| format::epoch(x.ts))
                .chain(st.states.iter().map(|(t, _)| *t))
                .chain(st.alarms.iter().map(|(t, _)| *t))
                .chain(st.k8s_pods.iter().map(|(t, _)| *t))
                .filter(|t| st.stop_requested.is_none_or(|r| *t < r))
                .max();
            if let Some(t) = last {
                push(
                    t,
                    s,
                    "last entry of the stage: no stage-finished follows".to_owned(),
                );
            }
        }
    }
    if let Some((at, f)) = &rec.finished {
        push(
            *at,
            "",
            format!("scenario finished: {}", f.outcome.as_str()),
        );
    }
    // Stable: same-time events keep journal order.
    rows.sort_by_key(|r| r.at);
    rows
}

/// A fault class description spliced into a sentence keeps its capital ("… while Containers
/// ran out of memory"): lower it after "while " unless it starts an acronym.
fn mid_sentence(text: &str) -> String {
    let Some(i) = text.find(" while ") else {
        return text.to_owned();
    };
    let (head, tail) = text.split_at(i + " while ".len());
    let mut chars = tail.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase() => {
            format!("{head}{}{b}{}", a.to_lowercase(), chars.as_str())
        }
        _ => text.to_owned(),
    }
}

/// Whether an evidence line is about another service of the GameDay than `service` (it names
/// one of them and not `service`).
fn about_other_service(line: &str, service: &str, all: &[Scenario]) -> bool {
    let names_service = |s: &str| {
        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|w| w == s)
    };
    !names_service(service)
        && all
            .iter()
            .map(|s| s.service.as_str())
            .chain(sc_services(all))
            .any(|other| other != service && names_service(other))
}

fn sc_services(all: &[Scenario]) -> impl Iterator<Item = &str> {
    all.iter()
        .flat_map(|s| s.why.services.iter().map(String::as_str))
}

fn evidence(sc: &Scenario, all: &[Scenario]) -> EvidenceContext {
    let w = &sc.why;
    let mut parts = Vec::new();
    if let Some(r) = w.rank {
        parts.push(format!("rank {r} in the incident catalogue"));
    }
    parts.push(format!(
        "{} incidents of class `{}`",
        w.incident_count, sc.fault_class
    ));
    if let Some(t) = w.last_seen {
        parts.push(format!("last seen {}", format::utc(t)));
    }
    parts.push(if w.verified {
        "already exercised by a past GameDay".to_owned()
    } else {
        "not exercised by a GameDay before".to_owned()
    });
    EvidenceContext {
        summary: parts.join(", "),
        services: w.services.join(", "),
        top_templates: w
            .top_templates
            .iter()
            .filter(|t| !about_other_service(t, &sc.service, all))
            .map(|t| redact(t, REPORT_REDACTION).replace('`', "'"))
            .collect(),
        caveat: w.caveat.clone(),
    }
}

fn deterministic_summary(run: &RunRecord, ctx: &ReportContext, f: &Findings) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!(
        "GameDay {} ran in {} on {}, {}: {}.",
        ctx.gameday,
        ctx.environment,
        ctx.date,
        trigger_phrase(&run.start.trigger),
        ctx.outcome_text
    ));
    if let Some(sim) = &ctx.simulation {
        out.insert(0, format!("{}.", sim.trim_end_matches('.')));
    }
    let planned_stages: usize = ctx.scenarios.iter().map(|s| s.stages.len()).sum();
    let ran_stages: usize = ctx
        .scenarios
        .iter()
        .map(|s| s.stages.iter().filter(|st| st.ran).count())
        .sum();
    let passed = ctx
        .scenarios
        .iter()
        .filter(|s| s.outcome == "passed")
        .count();
    if ran_stages > 0 {
        out.push(format!(
            "{passed} of {} passed; {ran_stages} of {} ran.",
            count(ctx.scenarios.len(), "scenario"),
            count(planned_stages, "stage")
        ));
    } else if !ctx.preflight.ran || ctx.preflight.failed > 0 {
        out.push(format!(
            "No stage ran: {} of {} preflight checks failed.",
            ctx.preflight.failed,
            ctx.preflight.checks.len()
        ));
    }
    for sc in ctx
        .scenarios
        .iter()
        .filter(|s| s.outcome != "passed" && s.outcome != "not-run")
    {
        if let Some(st) = sc.stages.iter().find(|st| st.ran && st.outcome != "passed") {
            let why = st
                .reasons
                .first()
                .map_or(String::new(), |r| format!(": {}", r.trim_end_matches('.')));
            out.push(format!(
                "{} ended {} at stage {} ({}, {}){why}.",
                sc.name, st.outcome, st.index, st.name, st.selection
            ));
        }
    }
    let prio = |p: Priority| f.actions.iter().filter(|a| a.priority == p).count();
    if f.findings.is_empty() {
        out.push("No weakness was found.".to_owned());
    } else {
        out.push(format!(
            "{} led to {} ({} P0, {} P1, {} P2).",
            count(f.findings.len(), "finding"),
            count(f.actions.len(), "action item"),
            prio(Priority::P0),
            prio(Priority::P1),
            prio(Priority::P2)
        ));
    }
    out
}

/// Builds the report context. With a draft whose text passed the fact check, its summary,
/// findings and action items are added next to the rule-based ones, which always stay whole.
pub(crate) fn build(
    run: &RunRecord,
    rendered_at: DateTime<Utc>,
    drafted: Option<&Drafted>,
) -> ReportContext {
    let g = &run.start.gameday;
    let ended = run.ended_at();
    let (outcome, outcome_text) = outcome_text(run);
    let rule = findings::derive(run);
    let mut charts = Vec::new();
    let scenarios: Vec<ScenarioContext> = g
        .scenarios
        .iter()
        .enumerate()
        .map(|(i, sc)| {
            let rec = run.scenarios.iter().find(|r| r.name == sc.name);
            let find = |name: &str| rec.and_then(|r| r.stages.iter().find(|st| st.name == name));
            let stages: Vec<StageContext> = sc
                .stages
                .iter()
                .enumerate()
                .map(|(j, plan)| stage_context(run, sc, j, plan, find(&plan.name), &mut charts))
                .collect();
            let records: Vec<&StageRecord> =
                rec.map(|r| r.stages.iter().collect()).unwrap_or_default();
            let reached = stages.iter().filter(|s| s.ran).count();
            let reached_names: Vec<&str> = stages
                .iter()
                .filter(|s| s.ran)
                .map(|s| s.name.as_str())
                .collect();
            ScenarioContext {
                index: i + 1,
                ran: reached > 0,
                name: sc.name.clone(),
                service: sc.service.clone(),
                fault_class: sc.fault_class.clone(),
                outcome: scenario_outcome(run, rec),
                stages_reached: if reached == 0 {
                    format!("0 of {}", sc.stages.len())
                } else {
                    format!(
                        "{reached} of {} ({})",
                        sc.stages.len(),
                        reached_names.join(", ")
                    )
                },
                worst_metric: worst_metric(&records),
                recovery: scenario_recovery(&records),
                hypothesis: sc
                    .hypothesis
                    .iter()
                    .map(|h| {
                        let alarms = if h.alarms.is_empty() {
                            String::new()
                        } else {
                            format!(" (alarms: `{}`)", h.alarms.join("`, `"))
                        };
                        let stays = match (h.abort_lower, h.abort_upper) {
                            (Some(_), Some(_)) => "stays within",
                            _ => "stays",
                        };
                        format!(
                            "`{}` {stays} {}{alarms}",
                            h.metric,
                            bound(h.abort_lower, h.abort_upper)
                        )
                    })
                    .collect(),
                judge_note: judge_note(&sc.hypothesis),
                expected: mid_sentence(&sc.expected_behaviour),
                success_criteria: sc.success_criteria.clone(),
                target: format!(
                    "pods labelled `{}` in {}/{}{}",
                    sc.target.selector,
                    sc.target.cluster,
                    sc.target.namespace,
                    sc.target
                        .target_container_name
                        .as_deref()
                        .map_or(String::new(), |c| format!(", container `{c}`"))
                ),
                actions: sc
                    .actions
                    .iter()
                    .map(|a| ActionContext {
                        name: a.name.clone(),
                        action_id: a.action_id.clone(),
                        parameters: a
                            .parameters
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                    .collect(),
                stop_alarms: sc.stop_alarms.clone(),
                stages,
                timeline: rec.map(|r| timeline(run, r)).unwrap_or_default(),
                evidence: evidence(sc, &g.scenarios),
                findings: rule
                    .findings
                    .iter()
                    .filter(|f| f.scenario.as_deref() == Some(&sc.name))
                    .map(|f| f.id.clone())
                    .collect(),
            }
        })
        .collect();

    let preflight = PreflightContext {
        ran: !run.preflight.is_empty() || run.preflight_finished.is_some(),
        result: match &run.preflight_finished {
            Some(p) if p.ok => "passed".to_owned(),
            Some(p) => format!("failed ({} checks)", p.failed),
            None if run.preflight.is_empty() => "not recorded".to_owned(),
            None => "unfinished".to_owned(),
        },
        failed: run.preflight.iter().filter(|c| !c.ok).count(),
        checks: run
            .preflight
            .iter()
            .map(|c| CheckContext {
                scope: match (&c.scenario, &c.stage) {
                    (Some(a), Some(b)) => format!("{a} / {b}"),
                    (Some(a), None) => a.clone(),
                    _ => "run".to_owned(),
                },
                check: c.check.clone(),
                ok: c.ok,
                detail: cell(&c.detail),
                fix: cell(c.fix.as_deref().unwrap_or("")),
            })
            .collect(),
    };

    let mut ctx = ReportContext {
        gameday: g.name.clone(),
        run_id: run.start.run_id.clone(),
        environment: g.environment.clone(),
        owner: g.owner.clone(),
        date: run.started_at.format("%Y-%m-%d").to_string(),
        started: format::utc(run.started_at),
        ended: format::utc(ended),
        duration: format::signed_secs((ended - run.started_at).num_seconds()),
        trigger: trigger(&run.start.trigger),
        account: run.start.account_id.clone().unwrap_or_else(|| g.account_id.clone()),
        region: run.start.region.clone().unwrap_or_else(|| g.region.clone()),
        dashboard_url: crate::plan::dashboard::dashboard_url(g),
        report_location: crate::plan::dashboard::report_location(g),
        scenario_file: run.start.scenario_file.clone(),
        version: run.start.version.clone(),
        rendered_at: format::utc(rendered_at),
        exit_code: run.outcome().map(RunOutcome::exit_code),
        complete: run.outcome().is_some(),
        open_warning: run.outcome().is_none().then(|| {
            format!(
                "run still open or crashed — run `gameday recover {}`; this report shows the journal up to {}",
                run.start.run_id,
                format::utc(run.last_at)
            )
        }),
        interrupted: run.interrupted.as_ref().map(|(at, i)| InterruptedContext {
            at: format::utc(*at),
            stopped: i.stopped.clone(),
            stop_failed: i.stop_failed.clone(),
            detail: i.detail.clone(),
        }),
        dry_run: run.start.settings.dry_run,
        simulation: simulated(run).then(|| {
            format!(
                "This was a SIMULATION on the local AWS emulator ({}): nothing was injected into a real system, and the account, experiments and metrics are the emulator's and the simulated workload's",
                run.start.settings.endpoint_url.as_deref().unwrap_or_default()
            )
        }),
        settings: settings_lines(run),
        window_note: if simulated(run) {
            "Fault windows run from the first poll that saw the experiment `running` to the first that saw it ended. On the emulator experiment states advance on a fixed timer (a few seconds per state), so a window says nothing about the actions' `duration`: nothing ran for that long".to_owned()
        } else {
            "Fault windows run from the first poll that saw the experiment `running` to the first that saw it ended, so they are accurate to the poll interval".to_owned()
        },
        outcome,
        outcome_text,
        preflight,
        summary: Vec::new(),
        scenarios,
        findings: rule.findings.clone(),
        action_items: rule.actions.clone(),
        ai: None,
        ai_summary: Vec::new(),
        ai_findings: Vec::new(),
        ai_action_items: Vec::new(),
        llm_notes: Vec::new(),
        unknown_kinds: {
            let mut k: Vec<String> = run.unknown.iter().map(|e| e.kind.clone()).collect();
            k.sort();
            k.dedup();
            k
        },
        charts,
        started_at: run.started_at,
        ended_at: ended,
        trigger_raw: run.start.trigger.clone(),
        rendered_at_raw: rendered_at,
        endpoint_url: run.start.settings.endpoint_url.clone(),
        abort: run.finished.as_ref().and_then(|(at, f)| {
            f.abort_reason.map(|reason| {
                // The detail of the stage abort of that reason, when one was recorded.
                let stage = run
                    .scenarios
                    .iter()
                    .flat_map(|s| s.stages.iter())
                    .filter_map(|st| st.abort.as_ref())
                    .find(|(_, a)| a.reason == reason);
                AbortRaw {
                    reason,
                    detail: stage.map(|(_, a)| a.detail.clone()),
                    at: Some(stage.map_or(*at, |(t, _)| *t)),
                }
            })
        }),
    };
    ctx.summary = deterministic_summary(run, &ctx, &rule);
    if let Some(d) = drafted {
        apply_draft(&mut ctx, d, &rule);
    }
    ctx
}

/// Adds the model's checked text next to the rule-based text. The rule-based summary, findings
/// and action items stay whole, in their order and words: a model can add to them, never
/// remove, reword or reorder them. A drafted finding or action item that repeats a rule-based
/// title adds nothing and is left out.
fn apply_draft(ctx: &mut ReportContext, d: &Drafted, rule: &Findings) {
    ctx.llm_notes.clone_from(&d.notes);
    let Some(text) = &d.text else {
        return;
    };
    let same = |a: &str, b: &str| {
        a.trim()
            .trim_end_matches('.')
            .eq_ignore_ascii_case(b.trim().trim_end_matches('.'))
    };
    ctx.ai_summary.clone_from(&text.executive_summary);
    ctx.ai_findings = text
        .findings
        .iter()
        .filter(|f| !rule.findings.iter().any(|r| same(&r.title, &f.title)))
        .enumerate()
        .map(|(i, f)| Finding {
            id: format!("A{}", i + 1),
            scenario: None,
            stage: None,
            title: f.title.clone(),
            detail: f.detail.clone(),
        })
        .collect();
    ctx.ai_action_items = text
        .action_items
        .iter()
        .filter(|a| !rule.actions.iter().any(|r| same(&r.title, &a.title)))
        .map(|a| ActionItem {
            priority: a.priority,
            title: a.title.clone(),
            detail: a.detail.clone(),
            owner: findings::OWNER_PLACEHOLDER.to_owned(),
            finding: None,
        })
        .collect();
    ctx.ai_action_items.sort_by_key(|a| a.priority);
    let ai = AiContext {
        model: d.model.clone(),
        summary: !ctx.ai_summary.is_empty(),
        findings: !ctx.ai_findings.is_empty(),
        action_items: !ctx.ai_action_items.is_empty(),
    };
    if ai.summary || ai.findings || ai.action_items {
        ctx.ai = Some(ai);
    }
}

/// The run's facts as a model is given them (before redaction): header, per-scenario and
/// per-stage outcomes and judgements with formatted numbers, evidence, and the rule-based
/// findings and action items.
pub(crate) fn facts(ctx: &ReportContext) -> serde_json::Value {
    let scenarios: Vec<serde_json::Value> = ctx
        .scenarios
        .iter()
        .map(|s| {
            serde_json::json!({
                "scenario": s.name,
                "service": s.service,
                "fault_class": s.fault_class,
                "outcome": s.outcome,
                "stages_reached": s.stages_reached,
                "worst_metric": s.worst_metric,
                "recovery": s.recovery,
                "hypothesis": s.hypothesis,
                "expected_behaviour": s.expected,
                "actions": s.actions.iter().map(|a| format!("{} {} {}", a.name, a.action_id, a.parameters)).collect::<Vec<_>>(),
                "stop_alarms": s.stop_alarms,
                "evidence": {
                    "summary": s.evidence.summary,
                    "services": s.evidence.services,
                    "top_log_templates": s.evidence.top_templates,
                    "caveat": s.evidence.caveat,
                },
                "stages": s.stages.iter().map(|st| serde_json::json!({
                    "stage_number": st.index,
                    "stage": st.name,
                    "selection": st.selection,
                    "outcome": st.outcome,
                    "template_id": st.template_id,
                    "experiment_id": st.experiment_id,
                    "final_status": st.final_status,
                    "fault_window_utc": st.fault_window,
                    "hypothesis_held": st.hypothesis_held,
                    "recovery": st.recovery,
                    "reasons": st.reasons,
                    "metrics": st.metrics.iter().map(|m| serde_json::json!({
                        "metric": m.metric,
                        "bound": m.bound,
                        "worst": m.worst,
                        "breaching_datapoints": m.breaches,
                        "baseline_median": m.baseline_median,
                        "fault_median": m.fault_median,
                        "p_value": m.p_value,
                        "effect_size": m.effect,
                        "degraded": m.degraded,
                        "held": m.held,
                        "recovery": m.recovery,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "timeline": s.timeline.iter().map(|r| format!("{} {} {} {}", r.utc, r.since, r.stage, r.event)).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "gameday": ctx.gameday,
        "run_id": ctx.run_id,
        "environment": ctx.environment,
        "date": ctx.date,
        "started_utc": ctx.started,
        "ended_utc": ctx.ended,
        "duration": ctx.duration,
        "trigger": ctx.trigger,
        "outcome": ctx.outcome,
        "outcome_text": ctx.outcome_text,
        "scenario_count": ctx.scenarios.len(),
        "preflight": {
            "result": ctx.preflight.result,
            "failed_checks": ctx.preflight.checks.iter().filter(|c| !c.ok).map(|c| serde_json::json!({
                "check": c.check, "scope": c.scope, "detail": c.detail, "fix": c.fix,
            })).collect::<Vec<_>>(),
        },
        "interrupted": ctx.interrupted.as_ref().map(|i| serde_json::json!({
            "stopped": i.stopped, "stop_failed": i.stop_failed, "detail": i.detail,
        })),
        "scenarios": scenarios,
        "rule_based_summary": ctx.summary,
        "rule_based_findings": ctx.findings,
        "rule_based_action_items": ctx.action_items,
    })
}

/// The facts a model is given about a run, before redaction: header, outcomes, judgements with
/// formatted numbers, evidence, and the rule-based findings and action items. [`super::draft`]
/// redacts them before sending.
pub fn facts_of(record: &RunRecord) -> serde_json::Value {
    facts(&build(record, DateTime::UNIX_EPOCH, None))
}

/// What the report says about learned judges, in the words of their profiles: a seasonal band
/// moves with the hour (of the day or of the week), a flat one does not. `None` when no metric
/// of the scenario carries a learned judge (one with a profile; a judge without one holds
/// fixed bounds).
pub(super) fn judge_note(
    hypotheses: &[crate::model::scenario::HypothesisMetric],
) -> Option<String> {
    use crate::model::hypothesis::Seasonality;
    let mut seasons: Vec<Seasonality> = hypotheses
        .iter()
        .filter_map(|h| h.judge.as_ref()?.profile.as_ref())
        .map(|p| p.seasonality)
        .collect();
    if seasons.is_empty() {
        return None;
    }
    seasons.sort_by_key(|s| match s {
        Seasonality::None => 0,
        Seasonality::Daily => 1,
        Seasonality::Weekly => 2,
    });
    seasons.dedup();
    let moves = |s: &Seasonality| match s {
        Seasonality::None => "a flat band, the same at every hour",
        Seasonality::Daily => "a daily profile, whose bound moves with the hour of the day",
        Seasonality::Weekly => "a weekly profile, whose bound moves with the hour of the week",
    };
    let kinds: Vec<&str> = seasons.iter().map(moves).collect();
    Some(format!(
        "The guard judges each datapoint against the metric's learned band ({}): it can be \
         tighter than the bounds above, and it is what the charts draw",
        kinds.join("; ")
    ))
}
