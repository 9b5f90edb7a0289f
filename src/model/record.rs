//! What a run writes into its journal, typed: one journal line ([`Entry`]), the one event enum
//! ([`Event`], one variant and payload struct per entry kind) that the run writes and `report`,
//! `recover`, `history` and `schedule` read, and [`RunRecord`], the fold of a whole journal that
//! reports are rendered from.
//!
//! On disk a line is `{"seq":…,"at":…,"kind":"…","data":{…}}`: [`Event`] is adjacently tagged
//! (`kind`, `data`), so the typed form reads and writes exactly the lines older versions wrote.
//!
//! Input: journal entries ([`Entry`]). Output: typed events and a [`RunRecord`]. Must not:
//! perform I/O or read the clock — the journal module reads files, the run loop decides what
//! happened, this module only names and collects it. Unknown kinds are kept (in
//! [`RunRecord::unknown`]) rather than failing, so a newer journal still renders.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::scenario::GameDayScenario;
use crate::provider::ActionView;
use crate::shutdown::AbortReason;

/// The kind of the first entry of every journal.
pub const RUN_STARTED: &str = "run-started";
/// The kind of the entry that closes a run normally.
pub const RUN_FINISHED: &str = "run-finished";
/// The kind `recover` appends to a journal it closes after a crash.
pub const RUN_INTERRUPTED: &str = "run-interrupted";
/// The kind `recover` appends to a run that had already ended but may have left an experiment
/// running (a failed stop, an experiment found by its run tag): what it stopped this time.
pub const RUN_RECOVERED: &str = "run-recovered";

/// One journal line, as it is on disk. Its `kind` stays a string so that a kind this version
/// does not know (written by a newer one) still reads; [`Entry::event`] gives the typed event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the journal, from 0, without gaps.
    pub seq: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened (`run-started`, `stage-intent`, `experiment-started`, …).
    pub kind: String,
    /// The details.
    pub data: serde_json::Value,
}

impl Entry {
    /// The typed event, or `None` for a kind this version does not know (a newer version wrote
    /// it): readers keep or skip such entries, they never fail on them.
    ///
    /// # Errors
    /// The JSON error when the payload does not match its (known) kind.
    pub fn event(&self) -> Result<Option<Event>, serde_json::Error> {
        if !Event::KINDS.contains(&self.kind.as_str()) {
            return Ok(None);
        }
        let tagged = serde_json::json!({ "kind": self.kind, "data": self.data });
        serde_json::from_value(tagged).map(Some)
    }
}

/// Everything a run, or `recover`, writes into a journal: one variant per entry kind, named as
/// the kind (`StageIntent` is `stage-intent`), carrying that kind's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "kebab-case")]
pub enum Event {
    /// [`RUN_STARTED`]: always the first entry.
    RunStarted(Box<RunStarted>),
    /// [`kind::PREFLIGHT_CHECK`].
    PreflightCheck(PreflightCheck),
    /// [`kind::PREFLIGHT_FINISHED`].
    PreflightFinished(PreflightFinished),
    /// [`kind::SCENARIO_STARTED`].
    ScenarioStarted(ScenarioStarted),
    /// [`kind::TEMPLATE_READY`].
    TemplateReady(TemplateReady),
    /// [`kind::BASELINE`].
    Baseline(Baseline),
    /// [`kind::STAGE_INTENT`]: written (and fsync'd) before StartExperiment is called.
    StageIntent(StageIntent),
    /// [`kind::EXPERIMENT_STARTED`].
    ExperimentStarted(ExperimentStarted),
    /// [`kind::EXPERIMENT_STATE`].
    ExperimentState(ExperimentState),
    /// [`kind::GUARD_SAMPLE`].
    GuardSample(GuardSample),
    /// [`kind::ALARM_STATE`].
    AlarmState(AlarmState),
    /// [`kind::K8S_EVENT`].
    K8sEvent(K8sEvent),
    /// [`kind::K8S_PODS`].
    K8sPods(K8sPods),
    /// [`kind::ABORT`].
    Abort(Abort),
    /// [`kind::STOP_REQUESTED`].
    StopRequested(StopRequested),
    /// [`kind::STOP_CONFIRMED`].
    StopConfirmed(StopConfirmed),
    /// [`kind::STOP_FAILED`].
    StopFailed(StopFailed),
    /// [`kind::STAGE_FINISHED`].
    StageFinished(StageFinished),
    /// [`kind::SCENARIO_FINISHED`].
    ScenarioFinished(ScenarioFinished),
    /// [`RUN_FINISHED`].
    RunFinished(RunFinished),
    /// [`RUN_INTERRUPTED`]: written by `recover`.
    RunInterrupted(RunInterrupted),
    /// [`RUN_RECOVERED`]: written by `recover`.
    RunRecovered(RunRecovered),
}

macro_rules! event_from_payload {
    ($($variant:ident),* $(,)?) => {
        $(impl From<$variant> for Event {
            fn from(payload: $variant) -> Self {
                Self::$variant(payload)
            }
        })*
    };
}

event_from_payload!(
    PreflightCheck,
    PreflightFinished,
    ScenarioStarted,
    TemplateReady,
    Baseline,
    StageIntent,
    ExperimentStarted,
    ExperimentState,
    GuardSample,
    AlarmState,
    K8sEvent,
    K8sPods,
    Abort,
    StopRequested,
    StopConfirmed,
    StopFailed,
    StageFinished,
    ScenarioFinished,
    RunFinished,
    RunInterrupted,
    RunRecovered,
);

impl From<RunStarted> for Event {
    fn from(payload: RunStarted) -> Self {
        Self::RunStarted(Box::new(payload))
    }
}

impl Event {
    /// Every kind this version knows, the tags of the variants.
    pub const KINDS: [&'static str; 22] = [
        RUN_STARTED,
        kind::PREFLIGHT_CHECK,
        kind::PREFLIGHT_FINISHED,
        kind::SCENARIO_STARTED,
        kind::TEMPLATE_READY,
        kind::BASELINE,
        kind::STAGE_INTENT,
        kind::EXPERIMENT_STARTED,
        kind::EXPERIMENT_STATE,
        kind::GUARD_SAMPLE,
        kind::ALARM_STATE,
        kind::K8S_EVENT,
        kind::K8S_PODS,
        kind::ABORT,
        kind::STOP_REQUESTED,
        kind::STOP_CONFIRMED,
        kind::STOP_FAILED,
        kind::STAGE_FINISHED,
        kind::SCENARIO_FINISHED,
        RUN_FINISHED,
        RUN_INTERRUPTED,
        RUN_RECOVERED,
    ];

    /// The entry kind this event is written as.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RunStarted(_) => RUN_STARTED,
            Self::PreflightCheck(_) => kind::PREFLIGHT_CHECK,
            Self::PreflightFinished(_) => kind::PREFLIGHT_FINISHED,
            Self::ScenarioStarted(_) => kind::SCENARIO_STARTED,
            Self::TemplateReady(_) => kind::TEMPLATE_READY,
            Self::Baseline(_) => kind::BASELINE,
            Self::StageIntent(_) => kind::STAGE_INTENT,
            Self::ExperimentStarted(_) => kind::EXPERIMENT_STARTED,
            Self::ExperimentState(_) => kind::EXPERIMENT_STATE,
            Self::GuardSample(_) => kind::GUARD_SAMPLE,
            Self::AlarmState(_) => kind::ALARM_STATE,
            Self::K8sEvent(_) => kind::K8S_EVENT,
            Self::K8sPods(_) => kind::K8S_PODS,
            Self::Abort(_) => kind::ABORT,
            Self::StopRequested(_) => kind::STOP_REQUESTED,
            Self::StopConfirmed(_) => kind::STOP_CONFIRMED,
            Self::StopFailed(_) => kind::STOP_FAILED,
            Self::StageFinished(_) => kind::STAGE_FINISHED,
            Self::ScenarioFinished(_) => kind::SCENARIO_FINISHED,
            Self::RunFinished(_) => RUN_FINISHED,
            Self::RunInterrupted(_) => RUN_INTERRUPTED,
            Self::RunRecovered(_) => RUN_RECOVERED,
        }
    }

    /// The event as a journal line's `kind` and `data`, exactly as serde writes the tag.
    ///
    /// # Errors
    /// The JSON error when the payload cannot be represented (a non-finite number).
    pub fn to_parts(&self) -> Result<(String, serde_json::Value), serde_json::Error> {
        let mut tagged = match serde_json::to_value(self)? {
            serde_json::Value::Object(map) => map,
            // Adjacent tagging always gives an object.
            other => return Ok((self.kind().to_owned(), other)),
        };
        let kind = match tagged.remove("kind") {
            Some(serde_json::Value::String(k)) => k,
            _ => self.kind().to_owned(),
        };
        let data = tagged.remove("data").unwrap_or(serde_json::Value::Null);
        Ok((kind, data))
    }
}

/// Entry kinds, in the order a run writes them. `run-started`, `run-finished`,
/// `run-interrupted` and `run-recovered` are the constants beside this module.
pub mod kind {
    /// One preflight check and its result.
    pub const PREFLIGHT_CHECK: &str = "preflight-check";
    /// Preflight is over ([`super::PreflightFinished`]).
    pub const PREFLIGHT_FINISHED: &str = "preflight-finished";
    /// A scenario begins.
    pub const SCENARIO_STARTED: &str = "scenario-started";
    /// A stage's template exists in FIS.
    pub const TEMPLATE_READY: &str = "template-ready";
    /// The baseline window fetched just before a stage's fault.
    pub const BASELINE: &str = "baseline";
    /// Written (and fsync'd) before StartExperiment is called.
    pub const STAGE_INTENT: &str = "stage-intent";
    /// StartExperiment answered: the experiment id.
    pub const EXPERIMENT_STARTED: &str = "experiment-started";
    /// The experiment or one of its actions changed state.
    pub const EXPERIMENT_STATE: &str = "experiment-state";
    /// A guarded metric datapoint, checked against its bounds.
    pub const GUARD_SAMPLE: &str = "guard-sample";
    /// A stop alarm changed state.
    pub const ALARM_STATE: &str = "alarm-state";
    /// A Kubernetes event about the targets.
    pub const K8S_EVENT: &str = "k8s-event";
    /// A snapshot of the target pods (ready, restarts).
    pub const K8S_PODS: &str = "k8s-pods";
    /// The stage is being aborted, and why.
    pub const ABORT: &str = "abort";
    /// StopExperiment is about to be called.
    pub const STOP_REQUESTED: &str = "stop-requested";
    /// The experiment reached a terminal state after a stop.
    pub const STOP_CONFIRMED: &str = "stop-confirmed";
    /// A stop failed or was not confirmed in time: a human must act.
    pub const STOP_FAILED: &str = "stop-failed";
    /// The stage is over, with its verdict.
    pub const STAGE_FINISHED: &str = "stage-finished";
    /// The scenario is over.
    pub const SCENARIO_FINISHED: &str = "scenario-finished";
}

/// How a run was triggered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Trigger {
    /// Someone ran `gameday run`.
    Manual {
        /// Who (the OS user), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
    /// The scheduler fired an entry.
    Schedule {
        /// The schedule entry's name.
        entry: String,
    },
}

/// Settings a run was made with, as the report needs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Seconds between guard polls.
    pub guard_interval_secs: u64,
    /// Longest time to wait for a stopped experiment to reach a terminal state.
    pub stop_timeout_secs: u64,
    /// Longest recovery observation after a fault.
    pub recovery_cap_secs: u64,
    /// Recovery target per service, seconds.
    pub recovery_targets_secs: BTreeMap<String, u64>,
    /// Whether a failed scenario ends the run (`true`) or the run goes on to the next one.
    pub stop_on_failure: bool,
    /// Whether this was a `--dry-run` (preflight only).
    pub dry_run: bool,
    /// GetMetricData period of the guard's reads, seconds (absent in older journals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_period_secs: Option<u64>,
    /// Baseline window fetched before each stage, seconds (absent in older journals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_window_secs: Option<u64>,
    /// The AWS endpoint override the run used, if any (a loopback one is the local emulator:
    /// the report marks such a run as a simulation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

/// `run-started`: everything a report needs to know about the run before anything happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// Run id (also the directory name under `reports/`).
    pub run_id: String,
    /// The scenario file the run read.
    pub scenario_file: String,
    /// The GameDay as run (a full copy, so the report never depends on the file still existing).
    pub gameday: GameDayScenario,
    /// How it was triggered.
    pub trigger: Trigger,
    /// Settings.
    pub settings: RunSettings,
    /// gameday's version.
    pub version: String,
    /// The AWS account the credentials belong to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// `preflight-check`: one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightCheck {
    /// Scenario the check is about (none for run-wide checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Stage the check is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Short name (`lint`, `policy`, `credentials`, `alarm-exists`, `alarm-state`,
    /// `hypothesis-now`, `targets`, `k8s-pods`, `k8s-pdb`, `k8s-rbac`, `k8s-pod-properties`).
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How to fix it, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// `preflight-finished`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightFinished {
    /// Whether every check passed.
    pub ok: bool,
    /// Number of failed checks.
    pub failed: usize,
}

/// `scenario-started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioStarted {
    /// Scenario name.
    pub scenario: String,
}

/// `template-ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateReady {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// FIS template id.
    pub template_id: String,
    /// `created`, `updated` or `unchanged`.
    pub change: String,
}

/// A series of `(epoch seconds, value)` points.
pub type Series = Vec<(i64, f64)>;

/// `baseline`: the guarded metrics just before the fault, the comparison window of the judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Window start.
    pub from: DateTime<Utc>,
    /// Window end.
    pub to: DateTime<Utc>,
    /// Series per metric name.
    pub series: BTreeMap<String, Series>,
}

/// `stage-intent`: about to call StartExperiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageIntent {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Template.
    pub template_id: String,
    /// Selection mode (`COUNT(1)`, `PERCENT(10)`, …).
    pub selection: String,
    /// Tags the experiment is started with (include the run id).
    pub tags: BTreeMap<String, String>,
}

/// `experiment-started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentStarted {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Experiment id.
    pub experiment_id: String,
    /// Template id.
    pub template_id: String,
}

/// `experiment-state`: written when the experiment's or an action's state changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentState {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Experiment id.
    pub experiment_id: String,
    /// Experiment status.
    pub status: String,
    /// FIS's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Action states by action name.
    #[serde(default)]
    pub actions: BTreeMap<String, ActionView>,
}

/// Which phase of a stage a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// While the fault is injected.
    Fault,
    /// After the fault, until the metrics are back (or the cap).
    Recovery,
}

/// `guard-sample`: one new datapoint of a guarded metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardSample {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Metric name.
    pub metric: String,
    /// Datapoint time (epoch seconds).
    pub ts: i64,
    /// Value.
    pub value: f64,
    /// The judge's lower bound at this datapoint (its band, or the fixed bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// The judge's upper bound at this datapoint (its band, or the fixed bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    /// Whether the judge says breach at this datapoint (persistence applied).
    pub breach: bool,
    /// Fault or recovery.
    pub phase: Phase,
    /// Why the judge decided so: the datapoint's side and how many of the rule's slots
    /// exceeded (absent in journals written before the guard explained itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The judge's abort rule in words (band multipliers, persistence, SLO bounds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The period this metric was read at, in seconds: a learned judge reads at its learned
    /// period, others at the guard period (absent in journals written before; the run's guard
    /// period applies then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_secs: Option<u64>,
}

/// `alarm-state`: a stop alarm's state, written when first seen and on every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmState {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Alarm name.
    pub alarm: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// CloudWatch's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `k8s-event`: a Kubernetes event about a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct K8sEvent {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Namespace.
    pub namespace: String,
    /// `Pod/checkout-7d9f…`.
    pub object: String,
    /// `Normal` or `Warning`.
    pub event_type: String,
    /// `OOMKilled`, `BackOff`, `FailedScheduling`, `Killing`, …
    pub reason: String,
    /// Message.
    pub message: String,
    /// Times seen.
    pub count: u32,
    /// Last seen.
    pub last_seen: DateTime<Utc>,
}

/// `k8s-pods`: the target pods at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct K8sPods {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Pods matching the selector.
    pub total: u32,
    /// Of those, ready.
    pub ready: u32,
    /// Container restarts summed over the pods.
    pub restarts: u32,
}

/// `abort`: why a stage is being ended early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Abort {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// The reason.
    pub reason: AbortReason,
    /// What exactly (metric and value, alarm name, signal).
    pub detail: String,
}

/// `stop-requested`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRequested {
    /// Experiment id.
    pub experiment_id: String,
    /// Why.
    pub reason: AbortReason,
}

/// `stop-confirmed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopConfirmed {
    /// Experiment id.
    pub experiment_id: String,
    /// The terminal status reached.
    pub status: String,
}

/// `stop-failed`: the experiment may still be running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopFailed {
    /// Experiment id.
    pub experiment_id: String,
    /// What went wrong.
    pub error: String,
    /// The last status seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    /// How a human stops it.
    pub how_to_stop: String,
}

/// The outcome of a stage or scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// The hypothesis did not hold (or recovery was too slow), without an abort.
    Failed,
    /// Stopped early by the guard, a stop condition, a timeout or a signal.
    Aborted,
    /// Not started, because an earlier stage or scenario ended the run.
    NotRun,
}

impl Outcome {
    /// A lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
            Self::NotRun => "not-run",
        }
    }
}

/// The judgement of one metric over one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricJudgement {
    /// Metric name.
    pub metric: String,
    /// Lower bound the worst value was judged against: the judge's band at that datapoint (the
    /// scenario's `abort_lower` for samples journaled without a band, and in journals written
    /// before the verdict followed the judge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    /// Upper bound the worst value was judged against (see `lower`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    /// The worst value during the fault: furthest past the band in force at its datapoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst: Option<f64>,
    /// Datapoints during the fault.
    pub fault_points: usize,
    /// Fault datapoints the judge called a breach (its band and persistence).
    pub breaches: usize,
    /// Median of the baseline window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_median: Option<f64>,
    /// Median of the fault window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_median: Option<f64>,
    /// Two-sided Mann-Whitney U p-value, fault vs baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// Effect size: the fault-window median's shift from the baseline median, in baseline
    /// spreads (MAD-scaled), signed in the bad direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_size: Option<f64>,
    /// Whether the metric moved significantly in the bad direction (p and effect gates).
    pub degraded: bool,
    /// Whether the judge called no fault datapoint a breach.
    pub held: bool,
    /// Seconds from fault end until the metric was back inside its bounds (0 if it never left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_secs: Option<u64>,
}

/// The judgement of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageVerdict {
    /// Outcome.
    pub outcome: Outcome,
    /// Whether the hypothesis held during the fault.
    pub hypothesis_held: bool,
    /// Per metric.
    pub metrics: Vec<MetricJudgement>,
    /// Seconds until every metric was back inside its bounds; `None` when it never was
    /// within the cap (or the stage never injected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_secs: Option<u64>,
    /// The recovery target.
    pub recovery_target_secs: u64,
    /// Plain-language reasons for the outcome.
    pub reasons: Vec<String>,
}

/// `stage-finished`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageFinished {
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Experiment id, when one was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    /// The experiment's final status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_status: Option<String>,
    /// When the fault began (the experiment reached `running`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_start: Option<DateTime<Utc>>,
    /// When the fault ended (experiment terminal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_end: Option<DateTime<Utc>>,
    /// The verdict.
    pub verdict: StageVerdict,
}

/// `scenario-finished`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioFinished {
    /// Scenario.
    pub scenario: String,
    /// Outcome (the worst of its stages).
    pub outcome: Outcome,
    /// Stages that ran.
    pub stages_run: usize,
}

/// How a whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Every stage held.
    Passed,
    /// `--dry-run`: preflight passed, nothing injected.
    DryRun,
    /// Preflight failed; nothing injected.
    PreflightFailed,
    /// A hypothesis did not hold.
    HypothesisFailed,
    /// Aborted by the guard, a stop condition, a timeout or a signal.
    Aborted,
    /// The process died mid-run; `recover` closed the journal.
    Interrupted,
    /// A stop failed: a human must check.
    StopFailed,
}

impl RunOutcome {
    /// The documented exit code for this outcome.
    pub fn exit_code(self) -> i32 {
        use crate::error::{EXIT_ABORTED, EXIT_HYPOTHESIS, EXIT_OK, EXIT_STOP_FAILED, EXIT_USAGE};
        match self {
            Self::Passed | Self::DryRun => EXIT_OK,
            Self::PreflightFailed => EXIT_USAGE,
            Self::HypothesisFailed => EXIT_HYPOTHESIS,
            Self::Aborted | Self::Interrupted => EXIT_ABORTED,
            Self::StopFailed => EXIT_STOP_FAILED,
        }
    }

    /// A lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::DryRun => "dry-run",
            Self::PreflightFailed => "preflight-failed",
            Self::HypothesisFailed => "hypothesis-failed",
            Self::Aborted => "aborted",
            Self::Interrupted => "interrupted",
            Self::StopFailed => "stop-failed",
        }
    }
}

/// `run-finished`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFinished {
    /// Outcome.
    pub outcome: RunOutcome,
    /// The most severe abort reason, when aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_reason: Option<AbortReason>,
}

/// `run-interrupted`: written by `recover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInterrupted {
    /// Experiments of the run that recover found still running and stopped.
    pub stopped: Vec<String>,
    /// Experiments it could not stop (a human must act).
    pub stop_failed: Vec<String>,
    /// What recover did.
    pub detail: String,
}

/// `run-recovered`: written by `recover` into a run that had already ended but may have left
/// an experiment running (a failed stop, an experiment found by the run's tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecovered {
    /// Experiments of the run that recover found still running and stopped.
    pub stopped: Vec<String>,
    /// Experiments it could not stop (a human must act).
    pub stop_failed: Vec<String>,
    /// What recover did.
    pub detail: String,
}

/// One stage as the journal tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageRecord {
    /// Stage name.
    pub name: String,
    /// Template, once ready.
    pub template_id: Option<String>,
    /// Intent written (StartExperiment may have been called).
    pub intent: Option<StageIntent>,
    /// Experiment id, once known.
    pub experiment_id: Option<String>,
    /// Baseline window.
    pub baseline: Option<Baseline>,
    /// State changes, in order, with their times.
    pub states: Vec<(DateTime<Utc>, ExperimentState)>,
    /// Guard samples, in order.
    pub samples: Vec<GuardSample>,
    /// When each guard sample was written (seen by the guard), parallel to `samples`: a
    /// datapoint's `ts` is the start of its period, this is when the guard read it.
    pub samples_seen_at: Vec<DateTime<Utc>>,
    /// Alarm states, with their times.
    pub alarms: Vec<(DateTime<Utc>, AlarmState)>,
    /// Kubernetes events.
    pub k8s_events: Vec<K8sEvent>,
    /// Pod snapshots, with their times.
    pub k8s_pods: Vec<(DateTime<Utc>, K8sPods)>,
    /// Abort, if any, with its time.
    pub abort: Option<(DateTime<Utc>, Abort)>,
    /// Stop requested at.
    pub stop_requested: Option<DateTime<Utc>>,
    /// Stop confirmed.
    pub stop_confirmed: Option<(DateTime<Utc>, StopConfirmed)>,
    /// Stop failed.
    pub stop_failed: Option<(DateTime<Utc>, StopFailed)>,
    /// Finish, with its time.
    pub finished: Option<(DateTime<Utc>, StageFinished)>,
}

impl StageRecord {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            template_id: None,
            intent: None,
            experiment_id: None,
            baseline: None,
            states: Vec::new(),
            samples: Vec::new(),
            samples_seen_at: Vec::new(),
            alarms: Vec::new(),
            k8s_events: Vec::new(),
            k8s_pods: Vec::new(),
            abort: None,
            stop_requested: None,
            stop_confirmed: None,
            stop_failed: None,
            finished: None,
        }
    }
}

/// One scenario as the journal tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioRecord {
    /// Scenario name.
    pub name: String,
    /// When it started.
    pub started: Option<DateTime<Utc>>,
    /// Stages that began, in order.
    pub stages: Vec<StageRecord>,
    /// Finish.
    pub finished: Option<(DateTime<Utc>, ScenarioFinished)>,
}

/// A whole run, folded from its journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// The `run-started` payload.
    pub start: RunStarted,
    /// Preflight checks, in order.
    pub preflight: Vec<PreflightCheck>,
    /// Preflight result, once over.
    pub preflight_finished: Option<PreflightFinished>,
    /// Scenarios that began, in order.
    pub scenarios: Vec<ScenarioRecord>,
    /// The normal end.
    pub finished: Option<(DateTime<Utc>, RunFinished)>,
    /// The end written by `recover`.
    pub interrupted: Option<(DateTime<Utc>, RunInterrupted)>,
    /// Later recoveries of a run that had ended with something possibly still running.
    pub recovered: Vec<(DateTime<Utc>, RunRecovered)>,
    /// Time of the last entry.
    pub last_at: DateTime<Utc>,
    /// Entries of kinds this version does not know, kept in order.
    pub unknown: Vec<Entry>,
}

/// A journal that cannot be folded into a run.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The first entry is not `run-started`.
    #[error("journal does not begin with run-started (found {found})")]
    NoStart {
        /// The first kind found, or `nothing`.
        found: String,
    },
    /// An entry's payload does not match its kind.
    #[error("journal entry {seq} ({kind}) is malformed")]
    Payload {
        /// Entry seq.
        seq: u64,
        /// Entry kind.
        kind: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl RecordError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoStart { .. } => "record_no_start",
            Self::Payload { .. } => "record_payload",
        }
    }
}

fn event(e: &Entry) -> Result<Option<Event>, RecordError> {
    e.event().map_err(|source| RecordError::Payload {
        seq: e.seq,
        kind: e.kind.clone(),
        source,
    })
}

impl RunRecord {
    /// Folds journal entries into a run.
    ///
    /// # Errors
    /// [`RecordError`] when the journal does not start with `run-started` or a payload does
    /// not match its kind.
    pub fn from_entries(entries: &[Entry]) -> Result<Self, RecordError> {
        let first = entries.first().ok_or_else(|| RecordError::NoStart {
            found: "nothing".to_owned(),
        })?;
        if first.kind != RUN_STARTED {
            return Err(RecordError::NoStart {
                found: first.kind.clone(),
            });
        }
        let Some(Event::RunStarted(start)) = event(first)? else {
            return Err(RecordError::NoStart {
                found: first.kind.clone(),
            });
        };
        let mut run = Self {
            started_at: first.at,
            start: *start,
            preflight: Vec::new(),
            preflight_finished: None,
            scenarios: Vec::new(),
            finished: None,
            interrupted: None,
            recovered: Vec::new(),
            last_at: first.at,
            unknown: Vec::new(),
        };
        for e in &entries[1..] {
            run.last_at = run.last_at.max(e.at);
            run.apply(e)?;
        }
        Ok(run)
    }

    fn scenario_mut(&mut self, name: &str, at: DateTime<Utc>) -> &mut ScenarioRecord {
        let i = match self.scenarios.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.scenarios.push(ScenarioRecord {
                    name: name.to_owned(),
                    started: Some(at),
                    stages: Vec::new(),
                    finished: None,
                });
                self.scenarios.len() - 1
            }
        };
        &mut self.scenarios[i]
    }

    fn stage_mut(&mut self, scenario: &str, stage: &str, at: DateTime<Utc>) -> &mut StageRecord {
        let s = self.scenario_mut(scenario, at);
        let i = match s.stages.iter().position(|st| st.name == stage) {
            Some(i) => i,
            None => {
                s.stages.push(StageRecord::new(stage));
                s.stages.len() - 1
            }
        };
        &mut s.stages[i]
    }

    /// The stage that started an experiment, if any.
    fn stage_of_experiment(&mut self, experiment_id: &str) -> Option<&mut StageRecord> {
        self.scenarios
            .iter_mut()
            .flat_map(|s| s.stages.iter_mut())
            .find(|st| st.experiment_id.as_deref() == Some(experiment_id))
    }

    fn apply(&mut self, e: &Entry) -> Result<(), RecordError> {
        let at = e.at;
        let Some(ev) = event(e)? else {
            self.unknown.push(e.clone());
            return Ok(());
        };
        match ev {
            Event::PreflightCheck(p) => self.preflight.push(p),
            Event::PreflightFinished(p) => self.preflight_finished = Some(p),
            Event::ScenarioStarted(p) => {
                self.scenario_mut(&p.scenario, at).started = Some(at);
            }
            Event::TemplateReady(p) => {
                self.stage_mut(&p.scenario, &p.stage, at).template_id = Some(p.template_id);
            }
            Event::Baseline(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                self.stage_mut(&sc, &st, at).baseline = Some(p);
            }
            Event::StageIntent(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                let stage = self.stage_mut(&sc, &st, at);
                stage.template_id = Some(p.template_id.clone());
                stage.intent = Some(p);
            }
            Event::ExperimentStarted(p) => {
                self.stage_mut(&p.scenario, &p.stage, at).experiment_id = Some(p.experiment_id);
            }
            Event::ExperimentState(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                self.stage_mut(&sc, &st, at).states.push((at, p));
            }
            Event::GuardSample(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                let stage = self.stage_mut(&sc, &st, at);
                stage.samples.push(p);
                stage.samples_seen_at.push(at);
            }
            Event::AlarmState(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                self.stage_mut(&sc, &st, at).alarms.push((at, p));
            }
            Event::K8sEvent(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                self.stage_mut(&sc, &st, at).k8s_events.push(p);
            }
            Event::K8sPods(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                self.stage_mut(&sc, &st, at).k8s_pods.push((at, p));
            }
            Event::Abort(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                let stage = self.stage_mut(&sc, &st, at);
                // The first abort is the one that acted; a later, more severe one (a signal
                // during the stop) is kept only if it outranks it.
                if stage
                    .abort
                    .as_ref()
                    .is_none_or(|(_, a)| p.reason > a.reason)
                {
                    stage.abort = Some((at, p));
                }
            }
            Event::StopRequested(p) => {
                if let Some(st) = self.stage_of_experiment(&p.experiment_id) {
                    st.stop_requested.get_or_insert(at);
                }
            }
            Event::StopConfirmed(p) => {
                if let Some(st) = self.stage_of_experiment(&p.experiment_id.clone()) {
                    st.stop_confirmed = Some((at, p));
                }
            }
            Event::StopFailed(p) => {
                if let Some(st) = self.stage_of_experiment(&p.experiment_id.clone()) {
                    st.stop_failed = Some((at, p));
                }
            }
            Event::StageFinished(p) => {
                let (sc, st) = (p.scenario.clone(), p.stage.clone());
                let stage = self.stage_mut(&sc, &st, at);
                if stage.experiment_id.is_none() {
                    stage.experiment_id.clone_from(&p.experiment_id);
                }
                stage.finished = Some((at, p));
            }
            Event::ScenarioFinished(p) => {
                let sc = p.scenario.clone();
                self.scenario_mut(&sc, at).finished = Some((at, p));
            }
            Event::RunFinished(p) => self.finished = Some((at, p)),
            Event::RunInterrupted(p) => self.interrupted = Some((at, p)),
            Event::RunRecovered(p) => self.recovered.push((at, p)),
            // Only the first entry starts the run; a later one is kept, as it always was.
            Event::RunStarted(_) => self.unknown.push(e.clone()),
        }
        Ok(())
    }

    /// How the run ended: its `run-finished` outcome, `Interrupted` if `recover` closed it,
    /// `None` while it is still open.
    pub fn outcome(&self) -> Option<RunOutcome> {
        if let Some((_, f)) = &self.finished {
            Some(f.outcome)
        } else {
            self.interrupted.as_ref().map(|_| RunOutcome::Interrupted)
        }
    }

    /// When the run ended (or the last thing it wrote).
    pub fn ended_at(&self) -> DateTime<Utc> {
        self.finished
            .as_ref()
            .map(|(at, _)| *at)
            .or(self.interrupted.as_ref().map(|(at, _)| *at))
            .unwrap_or(self.last_at)
    }

    /// Experiment ids the run started (or may have started: an intent without an id is
    /// returned as `None` for its stage, for `recover` to look up by tag).
    pub fn experiments(&self) -> Vec<&str> {
        self.scenarios
            .iter()
            .flat_map(|s| s.stages.iter())
            .filter_map(|st| st.experiment_id.as_deref())
            .collect()
    }
}

/// The `run-started` of a test journal: the given GameDay, run from
/// `scenarios/checkout-example.yaml` with the run's default settings and no account or region;
/// fixtures change the fields they care about. For tests and benchmarks (unit, integration and
/// bench fixtures share it), not the pipeline.
#[doc(hidden)]
pub fn example_started(run_id: &str, gameday: GameDayScenario, trigger: Trigger) -> RunStarted {
    RunStarted {
        run_id: run_id.into(),
        scenario_file: "scenarios/checkout-example.yaml".into(),
        gameday,
        trigger,
        settings: RunSettings {
            guard_interval_secs: 10,
            stop_timeout_secs: 120,
            recovery_cap_secs: 600,
            recovery_targets_secs: BTreeMap::new(),
            stop_on_failure: true,
            dry_run: false,
            guard_period_secs: None,
            baseline_window_secs: None,
            endpoint_url: None,
        },
        version: "0.1.0".into(),
        account_id: None,
        region: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, secs: i64, kind: &str, data: serde_json::Value) -> Entry {
        Entry {
            seq,
            at: DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("valid"),
            kind: kind.to_owned(),
            data,
        }
    }

    fn started() -> serde_json::Value {
        let gameday: GameDayScenario =
            yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
                .expect("example scenario parses");
        serde_json::to_value(example_started(
            "r1",
            gameday,
            Trigger::Manual { user: None },
        ))
        .expect("serialises")
    }

    #[test]
    fn folds_stages_in_order_and_attributes_stops_by_experiment() {
        let sc = "checkout-network-latency";
        let entries = vec![
            entry(0, 0, RUN_STARTED, started()),
            entry(
                1,
                1,
                kind::SCENARIO_STARTED,
                serde_json::json!({"scenario": sc}),
            ),
            entry(
                2,
                2,
                kind::STAGE_INTENT,
                serde_json::json!({"scenario": sc, "stage": "count-1", "template_id": "T1",
                    "selection": "COUNT(1)", "tags": {"gameday-run": "r1"}}),
            ),
            entry(
                3,
                3,
                kind::EXPERIMENT_STARTED,
                serde_json::json!({"scenario": sc, "stage": "count-1", "experiment_id": "E1",
                    "template_id": "T1"}),
            ),
            entry(
                4,
                4,
                kind::ABORT,
                serde_json::json!({"scenario": sc, "stage": "count-1", "reason": "guard",
                    "detail": "error_rate 3 > 1"}),
            ),
            entry(
                5,
                5,
                kind::STOP_REQUESTED,
                serde_json::json!({"experiment_id": "E1", "reason": "guard"}),
            ),
            entry(
                6,
                6,
                kind::STOP_CONFIRMED,
                serde_json::json!({"experiment_id": "E1", "status": "stopped"}),
            ),
            entry(7, 7, "some-future-kind", serde_json::json!({})),
            entry(
                8,
                8,
                RUN_FINISHED,
                serde_json::json!({"outcome": "aborted", "abort_reason": "guard"}),
            ),
        ];
        let run = RunRecord::from_entries(&entries).expect("folds");
        assert_eq!(run.scenarios.len(), 1);
        let stage = &run.scenarios[0].stages[0];
        assert_eq!(stage.experiment_id.as_deref(), Some("E1"));
        assert_eq!(stage.template_id.as_deref(), Some("T1"));
        assert_eq!(
            stage.abort.as_ref().map(|(_, a)| a.reason),
            Some(AbortReason::Guard)
        );
        assert!(stage.stop_requested.is_some());
        assert_eq!(
            stage
                .stop_confirmed
                .as_ref()
                .map(|(_, c)| c.status.as_str()),
            Some("stopped")
        );
        assert_eq!(run.unknown.len(), 1);
        assert_eq!(run.outcome(), Some(RunOutcome::Aborted));
        assert_eq!(run.outcome().map(RunOutcome::exit_code), Some(4));
        assert_eq!(run.experiments(), vec!["E1"]);
    }

    #[test]
    fn a_journal_without_run_started_is_refused() {
        let err = RunRecord::from_entries(&[entry(0, 0, "abort", serde_json::json!({}))])
            .expect_err("refused");
        assert_eq!(err.kind(), "record_no_start");
        assert!(RunRecord::from_entries(&[]).is_err());
    }

    #[test]
    fn a_malformed_payload_names_its_entry() {
        let entries = vec![
            entry(0, 0, RUN_STARTED, started()),
            entry(
                1,
                1,
                kind::GUARD_SAMPLE,
                serde_json::json!({"scenario": "x"}),
            ),
        ];
        let err = RunRecord::from_entries(&entries).expect_err("malformed");
        assert!(err.to_string().contains("entry 1 (guard-sample)"), "{err}");
    }

    #[test]
    fn an_open_journal_has_no_outcome_until_recover_closes_it() {
        let mut entries = vec![entry(0, 0, RUN_STARTED, started())];
        assert_eq!(
            RunRecord::from_entries(&entries).expect("folds").outcome(),
            None
        );
        entries.push(entry(
            1,
            9,
            RUN_INTERRUPTED,
            serde_json::json!({"stopped": ["E1"], "stop_failed": [], "detail": "recovered"}),
        ));
        let run = RunRecord::from_entries(&entries).expect("folds");
        assert_eq!(run.outcome(), Some(RunOutcome::Interrupted));
        assert_eq!(run.ended_at().timestamp(), 1_700_000_009);
    }

    /// Lines exactly as earlier versions wrote them (key order, payload shapes, omitted
    /// options): they read as typed events, and the typed writer gives back the same bytes.
    #[test]
    fn journal_lines_in_the_existing_format_read_typed_and_write_back_byte_for_byte() {
        let lines = [
            r#"{"seq":1,"at":"2026-09-21T14:13:21Z","kind":"scenario-started","data":{"scenario":"checkout-network-latency"}}"#,
            r#"{"seq":2,"at":"2026-09-21T14:13:22Z","kind":"stage-intent","data":{"scenario":"checkout-network-latency","selection":"COUNT(1)","stage":"count-1","tags":{"gameday-run":"r1"},"template_id":"T1"}}"#,
            r#"{"seq":3,"at":"2026-09-21T14:13:23Z","kind":"abort","data":{"detail":"error_rate 3 > 1","reason":"guard","scenario":"checkout-network-latency","stage":"count-1"}}"#,
            r#"{"seq":4,"at":"2026-09-21T14:13:24Z","kind":"stop-failed","data":{"error":"timed out","experiment_id":"EXP1","how_to_stop":"aws fis stop-experiment --id EXP1"}}"#,
            r#"{"seq":5,"at":"2026-09-21T14:13:25Z","kind":"run-finished","data":{"abort_reason":"guard","outcome":"stop-failed"}}"#,
        ];
        for line in lines {
            let entry: Entry = serde_json::from_str(line).expect("an existing line reads");
            let event = entry
                .event()
                .expect("its payload matches its kind")
                .expect("a known kind");
            assert_eq!(event.kind(), entry.kind);
            let (kind, data) = event.to_parts().expect("serialises");
            let rewritten = serde_json::to_string(&Entry {
                seq: entry.seq,
                at: entry.at,
                kind,
                data,
            })
            .expect("serialises");
            assert_eq!(rewritten, line);
        }
    }

    #[test]
    fn every_known_kind_is_a_variant_and_a_newer_kind_is_no_event() {
        let err = serde_json::from_value::<Event>(
            serde_json::json!({"kind": "no-such-kind", "data": {}}),
        )
        .expect_err("not a variant")
        .to_string();
        // `no-such-kind`, then every variant serde knows.
        assert_eq!(
            err.matches('`').count() / 2 - 1,
            Event::KINDS.len(),
            "{err}"
        );
        for k in Event::KINDS {
            assert!(
                err.contains(&format!("`{k}`")),
                "{k} is not a variant: {err}"
            );
        }
        let newer = entry(0, 0, "from-a-newer-version", serde_json::json!({"x": 1}));
        assert_eq!(newer.event().expect("tolerated"), None);
        let wrong = entry(0, 0, kind::ABORT, serde_json::json!({"x": 1}));
        assert!(wrong.event().is_err());
    }
}
