//! The run loop: preflight, then every scenario's stages in order, each started, watched by
//! the guard, stopped on any breach or signal, and judged; everything journaled as it happens.
//!
//! Input: a validated GameDay (lint and policy already clean), the providers, [`RunOptions`]
//! and the process's [`Shutdown`]. Output: the journal on disk and a [`RunOutcome`]. Must not:
//! leave an experiment running — every path that started one ends in StopExperiment (or a
//! journaled `stop-failed` with instructions and exit code 5); cleanup is never cancelled.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::guard::{self, GuardMetric, SampleTracker};
use super::judge::{StageFacts, judge};
use super::options::{PREVIEW_TAG, RUN_TAG, RunOptions, RunProviders};
use super::progress::Progress;
use crate::model::journal::{Journal, JournalError};
use crate::model::record::Event;
use crate::model::record::{
    Abort, AlarmState, Baseline, ExperimentStarted, ExperimentState, Outcome, Phase,
    PreflightCheck, PreflightFinished, RunFinished, RunOutcome, RunSettings, RunStarted,
    ScenarioFinished, ScenarioStarted, Series, StageFinished, StageIntent, StopConfirmed,
    StopFailed, StopRequested, TemplateReady,
};
use crate::plan::scenario::{GameDayScenario, Scenario, Stage};
use crate::provider::kube::ClusterTarget;
use crate::provider::{AlarmStateValue, ExperimentView, FaultInjector, is_terminal_status};
use crate::shutdown::{AbortReason, InFlight, Shutdown};

/// How often, and how far apart, a failed StartExperiment is followed by a look for the
/// stage's experiment by its tags (the service may have acted and the reply been lost).
const LOST_START_CHECKS: u32 = 3;
const LOST_START_RECHECK: Duration = Duration::from_secs(2);

impl RunOptions {
    fn recovery_target(&self, service: &str) -> Duration {
        self.recovery_targets
            .get(service)
            .copied()
            .unwrap_or(self.default_recovery_target)
    }
}

/// A run that could not be carried out at all (before or outside the stage loop's own
/// verdicts, which are outcomes, not errors).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The journal could not be written: the run stops (after stopping what it started).
    #[error("the run journal failed")]
    Journal(#[from] JournalError),
    /// A lock could not be taken.
    #[error(transparent)]
    Lock(#[from] super::lock::LockError),
}

impl RunError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Journal(e) => e.kind(),
            Self::Lock(e) => e.kind(),
        }
    }
}

/// What the caller sees at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// How it ended.
    pub outcome: RunOutcome,
    /// The journal.
    pub journal: PathBuf,
    /// Experiments that may still be running (stop failed), with how to stop them.
    pub still_running: Vec<(String, String)>,
    /// Failed preflight checks.
    pub failed_checks: Vec<PreflightCheck>,
}

/// Decides, after preflight, whether to inject (interactive confirmation or `--yes`).
pub trait Confirm {
    /// Shown the GameDay and the preflight result; `true` to go ahead.
    fn confirm(&mut self, gameday: &GameDayScenario, checks: &[PreflightCheck]) -> bool;
}

impl<F: FnMut(&GameDayScenario, &[PreflightCheck]) -> bool> Confirm for F {
    fn confirm(&mut self, gameday: &GameDayScenario, checks: &[PreflightCheck]) -> bool {
        self(gameday, checks)
    }
}

/// Extra preflight checks from outside AWS (Kubernetes), computed by the caller.
pub type ExtraChecks = Vec<PreflightCheck>;

/// Runs a GameDay end to end. The journal is created first; every later step is written
/// before (intent) or right after (result) it happens.
///
/// # Errors
/// [`RunError`] when the journal cannot be written or a target is locked by another run.
/// Every experiment started before such an error has been stopped (or reported as
/// still running in the returned error's log and the journal).
pub(crate) async fn execute_stages<P: RunProviders, K: ClusterTarget + Sync>(
    gameday: &GameDayScenario,
    providers: &P,
    clusters: &BTreeMap<String, K>,
    opts: &RunOptions,
    extra_checks: ExtraChecks,
    confirm: &mut impl Confirm,
    shutdown: &Shutdown,
) -> Result<RunSummary, RunError> {
    let targets: Vec<String> = gameday
        .scenarios
        .iter()
        .map(|s| {
            super::lock::target_key(&s.target.cluster, &s.target.namespace, &s.target.selector)
        })
        .collect();
    let _locks = super::lock::acquire(&opts.reports_dir, &opts.run_id, &targets)?;
    let settings = RunSettings {
        guard_interval_secs: opts.guard_interval.as_secs(),
        stop_timeout_secs: opts.stop_timeout.as_secs(),
        recovery_cap_secs: opts.recovery_cap.as_secs(),
        recovery_targets_secs: gameday
            .scenarios
            .iter()
            .map(|s| {
                (
                    s.service.clone(),
                    opts.recovery_target(&s.service).as_secs(),
                )
            })
            .collect(),
        stop_on_failure: opts.stop_on_failure,
        dry_run: opts.dry_run,
        guard_period_secs: Some(opts.guard_period.as_secs()),
        baseline_window_secs: Some(opts.baseline_window.as_secs()),
        endpoint_url: opts.endpoint_url.clone(),
    };
    let journal = Journal::create(
        &opts.reports_dir,
        &opts.run_id,
        Utc::now(),
        &RunStarted {
            run_id: opts.run_id.clone(),
            scenario_file: opts.scenario_file.clone(),
            gameday: gameday.clone(),
            trigger: opts.trigger.clone(),
            settings,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            account_id: opts.account_id.clone(),
            region: opts.region.clone(),
        },
    )?;
    let path = journal.path().to_owned();
    let mut w = journal;
    let mut progress = Progress::new(&gameday.name, &opts.run_id);

    // Preflight.
    let mut checks = extra_checks;
    let templates =
        super::preflight::preflight(gameday, providers, opts, &mut checks, shutdown).await;
    for c in &checks {
        w.record(c.clone())?;
        progress.check(c);
    }
    let failed: Vec<PreflightCheck> = checks.iter().filter(|c| !c.ok).cloned().collect();
    w.record(PreflightFinished {
        ok: failed.is_empty(),
        failed: failed.len(),
    })?;
    let finish = |w: &mut Journal, outcome: RunOutcome, reason: Option<AbortReason>| {
        w.record(RunFinished {
            outcome,
            abort_reason: reason,
        })
    };
    if shutdown.token().is_cancelled() {
        // A signal during preflight: its previews are stopped; nothing was injected.
        let reason = abort_reason(shutdown);
        finish(&mut w, RunOutcome::Aborted, Some(reason))?;
        return Ok(summary(RunOutcome::Aborted, path));
    }
    let templates = match templates {
        Some(t) if failed.is_empty() => t,
        _ => {
            finish(&mut w, RunOutcome::PreflightFailed, None)?;
            return Ok(RunSummary {
                outcome: RunOutcome::PreflightFailed,
                journal: path,
                still_running: Vec::new(),
                failed_checks: failed,
            });
        }
    };
    if opts.dry_run {
        finish(&mut w, RunOutcome::DryRun, None)?;
        return Ok(summary(RunOutcome::DryRun, path));
    }
    if shutdown.token().is_cancelled() || !confirm.confirm(gameday, &checks) {
        finish(&mut w, RunOutcome::Aborted, Some(AbortReason::Interrupt))?;
        return Ok(summary(RunOutcome::Aborted, path));
    }

    // Stages.
    let mut worst = RunOutcome::Passed;
    let mut abort_reason: Option<AbortReason> = None;
    let mut still_running = Vec::new();
    for (si, scenario) in gameday.scenarios.iter().enumerate() {
        if shutdown.token().is_cancelled() {
            break;
        }
        w.record(ScenarioStarted {
            scenario: scenario.name.clone(),
        })?;
        // Preflight checked that every scenario's metrics are defined.
        let metrics = guard::guard_metrics(
            gameday,
            scenario,
            opts.guard_period,
            opts.judge_at_learned_period,
        )
        .unwrap_or_default();
        let mut scenario_outcome = Outcome::Passed;
        let mut stages_run = 0;
        for (ti, stage) in scenario.stages.iter().enumerate() {
            let Some((template_id, template_change)) = templates.get(&(si, ti)).cloned() else {
                continue;
            };
            stages_run += 1;
            let ctx = StageCtx {
                gameday,
                scenario,
                stage,
                template_id,
                template_change,
                metrics: &metrics,
                cluster: clusters.get(&scenario.target.cluster),
            };
            let result = run_stage(&ctx, providers, opts, shutdown, &mut w, &mut progress).await?;
            if let Some((id, how)) = result.still_running {
                still_running.push((id, how));
            }
            if let Some(r) = result.abort {
                abort_reason = Some(abort_reason.map_or(r, |a| a.max(r)));
            }
            scenario_outcome = scenario_outcome.max(result.outcome);
            if result.outcome != Outcome::Passed {
                break;
            }
        }
        w.record(ScenarioFinished {
            scenario: scenario.name.clone(),
            outcome: scenario_outcome,
            stages_run,
        })?;
        worst = worst.max(match scenario_outcome {
            Outcome::Passed | Outcome::NotRun => RunOutcome::Passed,
            Outcome::Failed => RunOutcome::HypothesisFailed,
            Outcome::Aborted => RunOutcome::Aborted,
        });
        let signalled = matches!(
            abort_reason,
            Some(AbortReason::Interrupt | AbortReason::Signal)
        );
        if !still_running.is_empty()
            || signalled
            || (scenario_outcome != Outcome::Passed && opts.stop_on_failure)
        {
            break;
        }
    }
    // Anything else tagged with this run that is still active (a preview whose stop was lost,
    // an experiment a lost StartExperiment reply hid) is stopped before the run ends.
    let known: Vec<String> = still_running.iter().map(|(id, _)| id.clone()).collect();
    still_running.extend(stop_strays(providers, opts, &known, &mut w).await?);
    if !still_running.is_empty() {
        worst = RunOutcome::StopFailed;
    }
    finish(&mut w, worst, abort_reason)?;
    progress.finish(worst);
    Ok(RunSummary {
        outcome: worst,
        journal: path,
        still_running,
        failed_checks: Vec::new(),
    })
}

fn summary(outcome: RunOutcome, journal: PathBuf) -> RunSummary {
    RunSummary {
        outcome,
        journal,
        still_running: Vec::new(),
        failed_checks: Vec::new(),
    }
}

struct StageCtx<'a, K> {
    gameday: &'a GameDayScenario,
    scenario: &'a Scenario,
    stage: &'a Stage,
    template_id: String,
    /// What preflight's apply did to the template.
    template_change: crate::provider::Change,
    metrics: &'a [GuardMetric],
    /// The scenario's cluster, for evidence (pods, events), when Kubernetes is in use.
    cluster: Option<&'a K>,
}

struct StageResult {
    outcome: Outcome,
    abort: Option<AbortReason>,
    still_running: Option<(String, String)>,
}

/// What ended the watch loop.
enum WatchEnd {
    /// The experiment reached a terminal state by itself.
    Finished(ExperimentView),
    /// We must stop it.
    Abort(AbortReason, String),
}

async fn run_stage<P: RunProviders, K: ClusterTarget + Sync>(
    ctx: &StageCtx<'_, K>,
    providers: &P,
    opts: &RunOptions,
    shutdown: &Shutdown,
    w: &mut Journal,
    progress: &mut Progress,
) -> Result<StageResult, RunError> {
    let (sc, st) = (ctx.scenario.name.as_str(), ctx.stage.name.as_str());
    progress.stage(sc, st, planned_length(ctx.scenario, ctx.stage));
    w.record(TemplateReady {
        scenario: sc.to_owned(),
        stage: st.to_owned(),
        template_id: ctx.template_id.clone(),
        change: ctx.template_change.as_str().to_owned(),
    })?;

    // Baseline: the window just before the fault.
    let now = Utc::now();
    let from = now - chrono::Duration::from_std(opts.baseline_window).unwrap_or_default();
    let baseline = tokio::select! {
        () = shutdown.token().cancelled() => None,
        r = guard::fetch(providers, ctx.metrics, from, now) => Some(r.unwrap_or_default()),
    };
    let Some(baseline) = baseline else {
        return not_started(ctx, opts, w, Some(abort_reason(shutdown)), None);
    };
    let baseline = Baseline {
        scenario: sc.to_owned(),
        stage: st.to_owned(),
        from,
        to: now,
        series: baseline,
    };
    w.record(baseline.clone())?;

    // Intent on disk before StartExperiment.
    let tags = BTreeMap::from([
        (RUN_TAG.to_owned(), opts.run_id.clone()),
        ("gameday".to_owned(), ctx.gameday.name.clone()),
        ("gameday-scenario".to_owned(), sc.to_owned()),
        ("gameday-stage".to_owned(), st.to_owned()),
    ]);
    w.record(StageIntent {
        scenario: sc.to_owned(),
        stage: st.to_owned(),
        template_id: ctx.template_id.clone(),
        selection: ctx.stage.selection.to_string(),
        tags: tags.clone(),
    })?;
    if shutdown.token().is_cancelled() {
        return not_started(ctx, opts, w, Some(abort_reason(shutdown)), None);
    }
    // Counted from before the request: a second signal while it is in flight exits 5.
    let in_flight = InFlight::begin();
    // Not raced against cancellation: once the request is sent, we must learn the id to stop it.
    let started = providers.start(&ctx.template_id, &tags, false).await;
    let experiment = match started {
        Ok(e) => e,
        Err(e) => {
            let msg = format!("{e}");
            progress.note(&format!("{sc}/{st}: StartExperiment failed: {msg}"));
            return failed_start(ctx, providers, opts, w, progress, msg, in_flight).await;
        }
    };
    let id = experiment.id.clone();
    match with_experiment(ctx, providers, opts, shutdown, w, progress, &id, baseline).await {
        Ok(result) => {
            if result.still_running.is_none() {
                in_flight.settled();
            }
            Ok(result)
        }
        Err(e) => {
            // The journal failed (disk full, I/O error) while the experiment may be running:
            // the journal is the record, not a precondition — stop it first, then report.
            tracing::error!(experiment = %id, error = %e, "the run journal failed; stopping the experiment before reporting it");
            let stop =
                stop_experiment(providers, &id, AbortReason::Interrupt, opts.stop_timeout, w).await;
            match stop.outcome {
                Ok(status) => {
                    tracing::warn!(experiment = %id, %status, "experiment stopped after the journal failed");
                    in_flight.settled();
                }
                Err(how) => {
                    tracing::error!(experiment = %id, "stop failed: a human must act: {how}");
                }
            }
            Err(e)
        }
    }
}

/// A stage whose experiment was started: journal its id, watch it, stop it on an abort,
/// observe recovery and judge. A journal error returns at once; the caller stops the
/// experiment before reporting it.
#[expect(
    clippy::too_many_arguments,
    reason = "the stage's whole context, passed through once"
)]
async fn with_experiment<P: RunProviders, K: ClusterTarget + Sync>(
    ctx: &StageCtx<'_, K>,
    providers: &P,
    opts: &RunOptions,
    shutdown: &Shutdown,
    w: &mut Journal,
    progress: &mut Progress,
    id: &str,
    baseline: Baseline,
) -> Result<StageResult, RunError> {
    let (sc, st) = (ctx.scenario.name.as_str(), ctx.stage.name.as_str());
    let id = id.to_owned();
    let stage_start = Utc::now();
    w.record(ExperimentStarted {
        scenario: sc.to_owned(),
        stage: st.to_owned(),
        experiment_id: id.clone(),
        template_id: ctx.template_id.clone(),
    })?;
    progress.note(&format!("{sc}/{st}: experiment {id} started"));

    let mut watch = Watch {
        ctx,
        id: id.clone(),
        // The judges start with the baseline's complete datapoints in their persistence slots,
        // as a judge running continuously would.
        tracker: SampleTracker::primed(ctx.metrics, &baseline.series, baseline.to.timestamp()),
        last_state: None,
        alarm_states: BTreeMap::new(),
        fault_start: None,
        fault_end: None,
        samples: Vec::new(),
        stage_start,
        events: super::cluster_checks::EventWatch::new(&ctx.scenario.target.namespace),
        last_pods: None,
        blind_streak: 0,
    };
    let end = watch.watch(providers, opts, shutdown, w, progress).await?;

    let mut abort = None;
    let mut final_status = None;
    let mut still_running = None;
    match end {
        WatchEnd::Finished(view) => {
            final_status = Some(view.status.clone());
        }
        WatchEnd::Abort(reason, detail) => {
            progress.note(&format!("{sc}/{st}: abort ({}): {detail}", reason.as_str()));
            let a = Abort {
                scenario: sc.to_owned(),
                stage: st.to_owned(),
                reason,
                detail,
            };
            // Written before the stop, but a failed write never delays it.
            let written = w.record(a.clone());
            abort = Some(a);
            let stop = stop_experiment(providers, &id, reason, opts.stop_timeout, w).await;
            match stop.outcome {
                Ok(status) => final_status = Some(status),
                Err(how) => still_running = Some((id.clone(), how)),
            }
            written?;
            if let Some(e) = stop.journal_error {
                return Err(e.into());
            }
        }
    }
    let fault_end = watch.fault_end.unwrap_or_else(Utc::now);
    watch.fault_end = Some(fault_end);

    // Recovery: watch until every metric is back inside its bounds, capped. Not after a
    // signal (the operator wants out) and not while an experiment may still be running.
    let interrupted = matches!(
        abort.as_ref().map(|a| a.reason),
        Some(AbortReason::Interrupt | AbortReason::Signal)
    );
    let recovery_observed = !interrupted && still_running.is_none();
    if recovery_observed {
        progress.phase("recovery");
        watch
            .recover(providers, opts, shutdown, w, progress)
            .await?;
    }

    let recovery_target = opts.recovery_target(&ctx.scenario.service);
    let verdict = judge(&StageFacts {
        metrics: ctx.metrics,
        baseline: &baseline.series,
        samples: &watch.samples,
        fault_end: Some(fault_end.timestamp()),
        recovery_observed,
        abort: abort.as_ref(),
        final_status: final_status.as_deref(),
        start_error: None,
        recovery_target_secs: recovery_target.as_secs(),
    });
    let mut outcome = verdict.outcome;
    if still_running.is_some() {
        outcome = Outcome::Aborted;
    }
    progress.note(&format!("{sc}/{st}: {}", outcome.as_str()));
    w.record(StageFinished {
        scenario: sc.to_owned(),
        stage: st.to_owned(),
        experiment_id: Some(id),
        final_status,
        fault_start: watch.fault_start.or(Some(stage_start)),
        fault_end: Some(fault_end),
        verdict,
    })?;
    Ok(StageResult {
        outcome,
        abort: abort.map(|a| a.reason),
        still_running,
    })
}

/// Whether an experiment in a listing carries this run's tags for this stage (previews
/// excluded).
fn is_stage_experiment(
    e: &crate::provider::ExperimentSummary,
    run_id: &str,
    scenario: &str,
    stage: &str,
) -> bool {
    e.tags.get(RUN_TAG).map(String::as_str) == Some(run_id)
        && e.tags.get("gameday-scenario").map(String::as_str) == Some(scenario)
        && e.tags.get("gameday-stage").map(String::as_str) == Some(stage)
        && !e.tags.contains_key(PREVIEW_TAG)
}

/// StartExperiment answered with an error — but the service may have acted and the reply been
/// lost (a reset connection, a timeout). Look for the stage's experiment by its tags, a few
/// times, and stop whatever is found. When FIS cannot even be listed, the stage ends with
/// "may still be running" (exit 5): the journal then leaves the run to `recover`.
async fn failed_start<P: RunProviders, K>(
    ctx: &StageCtx<'_, K>,
    providers: &P,
    opts: &RunOptions,
    w: &mut Journal,
    progress: &mut Progress,
    start_error: String,
    in_flight: InFlight,
) -> Result<StageResult, RunError> {
    let (sc, st) = (ctx.scenario.name.as_str(), ctx.stage.name.as_str());
    let mut found: Vec<crate::provider::ExperimentSummary> = Vec::new();
    let mut listed = false;
    for check in 0..LOST_START_CHECKS {
        if check > 0 {
            tokio::time::sleep(LOST_START_RECHECK).await;
        }
        match providers.list().await {
            Ok(all) => {
                listed = true;
                for e in all {
                    if is_stage_experiment(&e, &opts.run_id, sc, st)
                        && !found.iter().any(|f| f.id == e.id)
                    {
                        found.push(e);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing experiments after a failed StartExperiment failed; retrying");
            }
        }
    }
    let mut journal_error: Option<JournalError> = None;
    let mut still_running = None;
    let mut final_status = None;
    let mut abort = None;
    for e in &found {
        progress.note(&format!(
            "{sc}/{st}: StartExperiment failed, but FIS started {} (found by its run tag): stopping it",
            e.id
        ));
        let started = w.record(ExperimentStarted {
            scenario: sc.to_owned(),
            stage: st.to_owned(),
            experiment_id: e.id.clone(),
            template_id: ctx.template_id.clone(),
        });
        let a = Abort {
            scenario: sc.to_owned(),
            stage: st.to_owned(),
            reason: AbortReason::Timeout,
            detail: format!(
                "StartExperiment failed ({start_error}) but FIS had started experiment {} \
                 (found by its run tag); it is stopped, not watched",
                e.id
            ),
        };
        let written = started.and_then(|()| w.record(a.clone()));
        abort = Some(a);
        let stop =
            stop_experiment(providers, &e.id, AbortReason::Timeout, opts.stop_timeout, w).await;
        match stop.outcome {
            Ok(status) => final_status = Some(status),
            Err(how) => still_running = Some((e.id.clone(), how)),
        }
        if let Err(err) = written {
            journal_error.get_or_insert(err);
        }
        if let Some(err) = stop.journal_error {
            journal_error.get_or_insert(err);
        }
    }
    if !listed {
        let how = format!(
            "aws fis list-experiments --query \"experiments[?tags.\\\"{RUN_TAG}\\\"=='{}']\"   \
             (stop any that is running with aws fis stop-experiment --id ID), or run \
             `gameday recover {}` once AWS answers",
            opts.run_id, opts.run_id
        );
        tracing::error!(
            "StartExperiment failed and FIS could not be listed: an experiment may be running: {how}"
        );
        still_running = Some((
            "(unknown: StartExperiment's reply was lost)".to_owned(),
            how,
        ));
    }
    if let Some(e) = journal_error {
        return Err(e.into());
    }
    if still_running.is_none() {
        in_flight.settled();
    }
    let verdict = judge(&StageFacts {
        metrics: &[],
        baseline: &BTreeMap::new(),
        samples: &[],
        fault_end: None,
        recovery_observed: false,
        abort: abort.as_ref(),
        final_status: final_status.as_deref(),
        start_error: Some(&start_error),
        recovery_target_secs: opts.recovery_target(&ctx.scenario.service).as_secs(),
    });
    let mut outcome = verdict.outcome;
    if still_running.is_some() {
        outcome = Outcome::Aborted;
    }
    w.record(StageFinished {
        scenario: sc.to_owned(),
        stage: st.to_owned(),
        experiment_id: found.first().map(|e| e.id.clone()),
        final_status,
        fault_start: None,
        fault_end: None,
        verdict,
    })?;
    Ok(StageResult {
        outcome,
        abort: abort.map(|a| a.reason),
        still_running,
    })
}

/// Stops every experiment tagged with this run that is still active (`pending`, `initiating`
/// or `running`) and not in `known` (already reported as still running): the last check of a
/// run that nothing tagged with it outlives it. A listing that fails is logged: the journal
/// then proves nothing more than before, and `recover` checks by tag again.
async fn stop_strays<F: FaultInjector>(
    fis: &F,
    opts: &RunOptions,
    known: &[String],
    w: &mut Journal,
) -> Result<Vec<(String, String)>, RunError> {
    let listed = match fis.list().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "could not list the run's experiments at its end; `gameday recover` checks them by tag");
            return Ok(Vec::new());
        }
    };
    let mut still = Vec::new();
    for e in listed {
        let ours = e.tags.get(RUN_TAG).map(String::as_str) == Some(opts.run_id.as_str());
        let active = matches!(e.status.as_str(), "pending" | "initiating" | "running");
        if !ours || !active || known.contains(&e.id) {
            continue;
        }
        tracing::warn!(experiment = %e.id, status = %e.status, "an experiment tagged with this run is still active; stopping it");
        let stop = stop_experiment(fis, &e.id, AbortReason::Interrupt, opts.stop_timeout, w).await;
        if let Err(how) = stop.outcome {
            still.push((e.id.clone(), how));
        }
        if let Some(err) = stop.journal_error {
            return Err(err.into());
        }
    }
    Ok(still)
}

/// How long a stage is planned to take: its longest fault action plus the observation window.
fn planned_length(scenario: &Scenario, stage: &Stage) -> Option<Duration> {
    let fault = scenario
        .actions
        .iter()
        .filter_map(|a| a.parameters.get("duration"))
        .filter_map(|d| crate::plan::IsoDuration::parse(d).ok())
        .map(|d| d.to_std())
        .max()?;
    Some(fault + stage.observe.to_std())
}

fn abort_reason(shutdown: &Shutdown) -> AbortReason {
    shutdown.reason().unwrap_or(AbortReason::Interrupt)
}

/// Closes a stage that never injected anything.
fn not_started<K>(
    ctx: &StageCtx<'_, K>,
    opts: &RunOptions,
    w: &mut Journal,
    abort: Option<AbortReason>,
    start_error: Option<String>,
) -> Result<StageResult, RunError> {
    let a = abort.map(|reason| Abort {
        scenario: ctx.scenario.name.clone(),
        stage: ctx.stage.name.clone(),
        reason,
        detail: "cancelled before the experiment was started".to_owned(),
    });
    if let Some(a) = &a {
        w.record(a.clone())?;
    }
    let verdict = judge(&StageFacts {
        metrics: &[],
        baseline: &BTreeMap::new(),
        samples: &[],
        fault_end: None,
        recovery_observed: false,
        abort: a.as_ref(),
        final_status: None,
        start_error: start_error.as_deref(),
        recovery_target_secs: opts.recovery_target(&ctx.scenario.service).as_secs(),
    });
    let outcome = verdict.outcome;
    w.record(StageFinished {
        scenario: ctx.scenario.name.clone(),
        stage: ctx.stage.name.clone(),
        experiment_id: None,
        final_status: None,
        fault_start: None,
        fault_end: None,
        verdict,
    })?;
    Ok(StageResult {
        outcome,
        abort,
        still_running: None,
    })
}

/// What [`stop_experiment`] achieved.
#[derive(Debug)]
pub(crate) struct Stop {
    /// The terminal status reached, or how a human stops the experiment (it may still run).
    pub(crate) outcome: Result<String, String>,
    /// The first journal write that failed while stopping. The stop went ahead regardless.
    pub(crate) journal_error: Option<JournalError>,
}

/// Sends StopExperiment and waits, under its own timeout and never cancelled, until FIS says
/// the experiment is over. The journal is the record, not a precondition: when `stop-requested`
/// cannot be written (disk full), StopExperiment is sent all the same and the journal failure
/// is returned afterwards in [`Stop::journal_error`].
pub(crate) async fn stop_experiment<F: FaultInjector, W: JournalSink>(
    fis: &F,
    id: &str,
    reason: AbortReason,
    timeout: Duration,
    w: &mut W,
) -> Stop {
    let how = format!(
        "aws fis stop-experiment --id {id}   (then: aws fis get-experiment --id {id} until \
         its state is stopped)"
    );
    let mut journal_error = w
        .record(StopRequested {
            experiment_id: id.to_owned(),
            reason,
        })
        .err();
    if let Some(e) = &journal_error {
        tracing::error!(experiment = id, error = %e, "the journal could not be written; stopping the experiment anyway");
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_status = None;
    let mut last_error = None;
    // StopExperiment, retried until accepted or the deadline (a throttled or dropped call
    // must not leave the fault running).
    let mut sent = false;
    while tokio::time::Instant::now() < deadline {
        if !sent {
            match fis.stop(id).await {
                Ok(v) => {
                    sent = true;
                    last_status = Some(v.status.clone());
                    if is_terminal_status(&v.status) {
                        break;
                    }
                }
                Err(e) => {
                    // Already over: FIS refuses to stop a finished experiment.
                    if let Ok(v) = fis.get(id).await
                        && is_terminal_status(&v.status)
                    {
                        last_status = Some(v.status);
                        break;
                    }
                    last_error = Some(format!("{e}"));
                }
            }
        } else {
            match fis.get(id).await {
                Ok(v) => {
                    last_status = Some(v.status.clone());
                    if is_terminal_status(&v.status) {
                        break;
                    }
                }
                Err(e) => last_error = Some(format!("{e}")),
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    match last_status {
        Some(s) if is_terminal_status(&s) => {
            if let Err(e) = w.record(StopConfirmed {
                experiment_id: id.to_owned(),
                status: s.clone(),
            }) {
                journal_error.get_or_insert(e);
            }
            Stop {
                outcome: Ok(s),
                journal_error,
            }
        }
        status => {
            let error = last_error.unwrap_or_else(|| {
                format!(
                    "not stopped within {} s (last status {})",
                    timeout.as_secs(),
                    status.as_deref().unwrap_or("unknown")
                )
            });
            tracing::error!(experiment = id, %error, "stop failed: a human must act: {how}");
            if let Err(e) = w.record(StopFailed {
                experiment_id: id.to_owned(),
                error,
                last_status: status,
                how_to_stop: how.clone(),
            }) {
                journal_error.get_or_insert(e);
            }
            Stop {
                outcome: Err(how),
                journal_error,
            }
        }
    }
}

/// The journal with the clock: every event is stamped with the time it is written.
pub(crate) trait JournalSink {
    /// Appends an event, stamped now.
    fn record(&mut self, event: impl Into<Event>) -> Result<(), JournalError>;
}

impl JournalSink for Journal {
    fn record(&mut self, event: impl Into<Event>) -> Result<(), JournalError> {
        self.write(Utc::now(), &event.into()).map(|_| ())
    }
}

struct Watch<'a, K> {
    ctx: &'a StageCtx<'a, K>,
    id: String,
    tracker: SampleTracker,
    last_state: Option<ExperimentState>,
    alarm_states: BTreeMap<String, AlarmStateValue>,
    fault_start: Option<DateTime<Utc>>,
    fault_end: Option<DateTime<Utc>>,
    samples: Vec<crate::model::record::GuardSample>,
    stage_start: DateTime<Utc>,
    events: super::cluster_checks::EventWatch,
    last_pods: Option<crate::model::record::K8sPods>,
    /// Consecutive guard polls that could read neither the metrics nor the stop alarms.
    blind_streak: u32,
}

/// The fault actions of a stage: everything but the observation wait.
fn fault_actions_done(view: &ExperimentView) -> bool {
    let faults: Vec<_> = view
        .actions
        .iter()
        .filter(|(_, a)| a.action_id.as_deref() != Some("aws:fis:wait"))
        .collect();
    !faults.is_empty()
        && faults.iter().all(|(_, a)| {
            matches!(
                a.status.as_str(),
                "completed" | "stopped" | "failed" | "cancelled" | "skipped"
            )
        })
}

impl<K: ClusterTarget + Sync> Watch<'_, K> {
    async fn watch<P: RunProviders>(
        &mut self,
        providers: &P,
        opts: &RunOptions,
        shutdown: &Shutdown,
        w: &mut Journal,
        progress: &mut Progress,
    ) -> Result<WatchEnd, RunError> {
        let deadline = tokio::time::Instant::now() + opts.stage_timeout();
        let mut poll = tokio::time::interval(opts.poll_interval);
        let mut guard_tick = tokio::time::interval(opts.guard_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        guard_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let token = shutdown.token().clone();
        loop {
            tokio::select! {
                biased;
                () = token.cancelled() => {
                    let r = abort_reason(shutdown);
                    return Ok(WatchEnd::Abort(r, match r {
                        AbortReason::Signal => "SIGTERM received".to_owned(),
                        _ => "interrupted (Ctrl-C)".to_owned(),
                    }));
                }
                () = tokio::time::sleep_until(deadline) => {
                    return Ok(WatchEnd::Abort(
                        AbortReason::Timeout,
                        format!("the stage ran longer than {} s", opts.stage_timeout().as_secs()),
                    ));
                }
                _ = poll.tick() => {
                    let got = tokio::select! {
                        () = token.cancelled() => continue,
                        r = providers.get(&self.id) => r,
                    };
                    match got {
                        Ok(view) => {
                            if let Some(end) = self.on_state(&view, w, progress)? {
                                return Ok(end);
                            }
                        }
                        Err(e) => tracing::warn!(experiment = %self.id, error = %e, "GetExperiment failed; retrying"),
                    }
                }
                _ = guard_tick.tick() => {
                    let checked = tokio::select! {
                        () = token.cancelled() => continue,
                        r = self.guard_once(providers, opts, w, progress, Phase::Fault) => r?,
                    };
                    if let Some((reason, detail)) = checked {
                        return Ok(WatchEnd::Abort(reason, detail));
                    }
                }
            }
        }
    }

    /// Journals a state change; ends the watch when the experiment is over or FIS stopped it.
    fn on_state(
        &mut self,
        view: &ExperimentView,
        w: &mut Journal,
        progress: &mut Progress,
    ) -> Result<Option<WatchEnd>, RunError> {
        let state = ExperimentState {
            scenario: self.ctx.scenario.name.clone(),
            stage: self.ctx.stage.name.clone(),
            experiment_id: self.id.clone(),
            status: view.status.clone(),
            reason: view.reason.clone(),
            actions: view.actions.clone(),
        };
        if self.last_state.as_ref() != Some(&state) {
            w.record(state.clone())?;
            progress.experiment(&view.status, &view.actions);
            self.last_state = Some(state);
        }
        if view.status == "running" && self.fault_start.is_none() {
            self.fault_start = Some(Utc::now());
        }
        if self.fault_end.is_none() && (fault_actions_done(view) || view.is_terminal()) {
            self.fault_end = Some(Utc::now());
        }
        if matches!(view.status.as_str(), "stopping" | "stopped") {
            // We did not ask: a FIS stop condition (or someone else) stopped it.
            let detail = format!(
                "FIS stopped the experiment ({})",
                view.reason.as_deref().unwrap_or("stop condition")
            );
            return Ok(Some(WatchEnd::Abort(AbortReason::StopCondition, detail)));
        }
        if view.is_terminal() {
            return Ok(Some(WatchEnd::Finished(view.clone())));
        }
        Ok(None)
    }

    /// One guard poll: new metric datapoints and stop-alarm states. Returns an abort when a
    /// datapoint breaches or a stop alarm is in ALARM.
    async fn guard_once<P: RunProviders>(
        &mut self,
        providers: &P,
        opts: &RunOptions,
        w: &mut Journal,
        progress: &mut Progress,
        phase: Phase,
    ) -> Result<Option<(AbortReason, String)>, RunError> {
        let (sc, st) = (&self.ctx.scenario.name, &self.ctx.stage.name);
        let now = Utc::now();
        let longest = self
            .ctx
            .metrics
            .iter()
            .map(|m| m.period)
            .max()
            .unwrap_or(opts.guard_period);
        let period = chrono::Duration::from_std(longest).unwrap_or_default();
        let from = self.stage_start - period;
        let mut verdict = None;
        let mut metrics_blind = false;
        let mut alarms_blind = self.ctx.scenario.stop_alarms.is_empty();
        match guard::fetch(providers, self.ctx.metrics, from, now + period).await {
            Ok(fetched) => {
                let fetched = only_since(fetched, from.timestamp());
                for mut s in self.tracker.new_samples(
                    self.ctx.metrics,
                    &fetched,
                    now.timestamp(),
                    sc,
                    st,
                    phase,
                ) {
                    if let Some(end) = self.fault_end
                        && s.ts >= end.timestamp()
                    {
                        s.phase = Phase::Recovery;
                    }
                    w.record(s.clone())?;
                    progress.sample(&s);
                    if s.breach && phase == Phase::Fault && verdict.is_none() {
                        verdict = Some((
                            AbortReason::Guard,
                            format!(
                                "{} = {} at {} (bounds {}): {}",
                                s.metric,
                                crate::model::format::format_threshold(s.value),
                                DateTime::from_timestamp(s.ts, 0)
                                    .map(|t| t.format("%H:%M:%SZ").to_string())
                                    .unwrap_or_default(),
                                bounds_text(s.lower, s.upper),
                                s.reason.as_deref().unwrap_or("breach")
                            ),
                        ));
                    }
                    self.samples.push(s);
                }
            }
            Err(e) => {
                metrics_blind = true;
                tracing::warn!(error = %e, "guard metric read failed; retrying");
            }
        }
        if let Some(cluster) = self.ctx.cluster {
            self.cluster_evidence(cluster, w).await?;
        }
        if !self.ctx.scenario.stop_alarms.is_empty() {
            match providers
                .describe_alarms(&self.ctx.scenario.stop_alarms)
                .await
            {
                Ok(alarms) => {
                    for a in alarms {
                        if self.alarm_states.get(&a.name) != Some(&a.state) {
                            self.alarm_states.insert(a.name.clone(), a.state);
                            w.record(AlarmState {
                                scenario: sc.clone(),
                                stage: st.clone(),
                                alarm: a.name.clone(),
                                state: a.state.as_str().to_owned(),
                                reason: a.reason.clone(),
                            })?;
                        }
                        if a.state == AlarmStateValue::Alarm
                            && phase == Phase::Fault
                            && verdict.is_none()
                        {
                            verdict = Some((
                                AbortReason::StopCondition,
                                format!("stop alarm {} is in ALARM", a.name),
                            ));
                        }
                    }
                }
                Err(e) => {
                    alarms_blind = true;
                    tracing::warn!(error = %e, "stop-alarm read failed; retrying");
                }
            }
        }
        // A guard that can read neither its metrics nor its stop alarms sees nothing: a fault
        // must not run on unwatched. After `max_blind_intervals` such polls in a row, abort.
        if metrics_blind && alarms_blind {
            self.blind_streak += 1;
        } else {
            self.blind_streak = 0;
        }
        if phase == Phase::Fault
            && verdict.is_none()
            && opts.max_blind_intervals > 0
            && self.blind_streak >= opts.max_blind_intervals
        {
            verdict = Some((
                AbortReason::Guard,
                format!(
                    "the guard was blind: neither the guard metrics nor the stop alarms could be \
                     read for {} consecutive intervals ({} s apart)",
                    self.blind_streak,
                    opts.guard_interval.as_secs_f64()
                ),
            ));
        }
        Ok(verdict)
    }

    /// Kubernetes evidence for the timeline: the target pods (journaled when ready count or
    /// restarts change) and new events about them. Read failures are logged, not fatal: the
    /// guard's metrics decide aborts, the cluster only explains them.
    async fn cluster_evidence(&mut self, cluster: &K, w: &mut Journal) -> Result<(), RunError> {
        let target = &self.ctx.scenario.target;
        let (sc, st) = (&self.ctx.scenario.name, &self.ctx.stage.name);
        match cluster.pods(&target.namespace, &target.selector).await {
            Ok(pods) => {
                self.events.observe(&pods);
                let snap = super::cluster_checks::pod_snapshot(sc, st, &pods);
                if self.last_pods.as_ref() != Some(&snap) {
                    w.record(snap.clone())?;
                    self.last_pods = Some(snap);
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing target pods failed"),
        }
        let since = self.stage_start - chrono::Duration::seconds(60);
        match cluster.events(&target.namespace, since).await {
            Ok(events) => {
                for e in self.events.new_events(sc, st, &events) {
                    w.record(e.clone())?;
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing events failed"),
        }
        Ok(())
    }

    /// Watches recovery until every metric has a datapoint after the fault and its latest is
    /// inside the bounds, or the cap passes, or the run is cancelled.
    async fn recover<P: RunProviders>(
        &mut self,
        providers: &P,
        opts: &RunOptions,
        shutdown: &Shutdown,
        w: &mut Journal,
        progress: &mut Progress,
    ) -> Result<(), RunError> {
        let Some(end) = self.fault_end.map(|t| t.timestamp()) else {
            return Ok(());
        };
        // A metric read at a long (learned) period shows a complete datapoint after the fault
        // only one to two periods later: the watch lasts at least that long.
        let longest = self.ctx.metrics.iter().map(|m| m.period).max();
        let cap = opts
            .recovery_cap
            .max(longest.unwrap_or_default() * 2 + opts.guard_interval);
        let deadline = tokio::time::Instant::now() + cap;
        let token = shutdown.token().clone();
        loop {
            let recovered = self.ctx.metrics.iter().all(|m| {
                self.samples
                    .iter()
                    .filter(|s| s.metric == m.name && s.ts >= end)
                    .max_by_key(|s| s.ts)
                    .is_some_and(|s| !s.breach)
            });
            if recovered || self.ctx.metrics.is_empty() {
                return Ok(());
            }
            tokio::select! {
                () = token.cancelled() => return Ok(()),
                () = tokio::time::sleep_until(deadline) => return Ok(()),
                () = tokio::time::sleep(opts.guard_interval) => {}
            }
            self.guard_once(providers, opts, w, progress, Phase::Recovery)
                .await?;
        }
    }
}

fn only_since(mut fetched: BTreeMap<String, Series>, from: i64) -> BTreeMap<String, Series> {
    for s in fetched.values_mut() {
        s.retain(|(ts, _)| *ts >= from);
    }
    fetched
}

/// Bounds in words: `l .. u`, `>= l`, `<= u` or `none`.
pub(super) fn bounds_text(lower: Option<f64>, upper: Option<f64>) -> String {
    use crate::model::format::format_threshold as f;
    match (lower, upper) {
        (Some(l), Some(u)) => format!("{} .. {}", f(l), f(u)),
        (Some(l), None) => format!(">= {}", f(l)),
        (None, Some(u)) => format!("<= {}", f(u)),
        (None, None) => "none".to_owned(),
    }
}
