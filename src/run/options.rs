//! What a run is told: [`RunOptions`], the provider bound [`RunProviders`] and the tags every
//! experiment of a run carries.
//!
//! Input: nothing (defaults) or the caller's settings. Output: options read by preflight,
//! execution and recovery alike. Must not: perform I/O; it sits below `execute` and `preflight`
//! so that neither imports the other for its settings.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::policy::Policy;
use crate::model::record::Trigger;
use crate::provider::{AlarmStore, FaultInjector, MetricSource};

/// Tag every experiment of a run carries, so `recover` finds them even if an id never reached
/// the journal.
pub const RUN_TAG: &str = "gameday-run";
/// Tag marking a target-resolution preview (`actionsMode: skip-all`).
pub const PREVIEW_TAG: &str = "gameday-preview";

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run id.
    pub run_id: String,
    /// `reports/`.
    pub reports_dir: PathBuf,
    /// The scenario file, for the record.
    pub scenario_file: String,
    /// Manual or scheduled.
    pub trigger: Trigger,
    /// Seconds between guard polls (metrics and stop alarms).
    pub guard_interval: Duration,
    /// GetMetricData period for guard reads.
    pub guard_period: Duration,
    /// Whether a metric with a learned judge is read at the period it was learned at (what
    /// `steady-state check` measures) rather than at `guard_period`.
    pub judge_at_learned_period: bool,
    /// Seconds between GetExperiment polls.
    pub poll_interval: Duration,
    /// Longest wait for a stopped experiment to reach a terminal state.
    pub stop_timeout: Duration,
    /// Longest recovery observation.
    pub recovery_cap: Duration,
    /// Baseline window before each stage.
    pub baseline_window: Duration,
    /// Window the hypothesis must hold in right now (preflight).
    pub hypothesis_window: Duration,
    /// How long a stop alarm may sit in INSUFFICIENT_DATA and still count as armed.
    pub insufficient_data_tolerance: Duration,
    /// Longest a stage may run before it is stopped [`None`: the policy's
    /// `max_total_duration`].
    pub stage_timeout: Option<Duration>,
    /// Whether a failed scenario ends the run.
    pub stop_on_failure: bool,
    /// Preflight only.
    pub dry_run: bool,
    /// Recovery target per service.
    pub recovery_targets: BTreeMap<String, Duration>,
    /// Recovery target for services without one.
    pub default_recovery_target: Duration,
    /// Account id, for the record.
    pub account_id: Option<String>,
    /// Region, for the record.
    pub region: Option<String>,
    /// Most targets a stage may resolve (the policy's `max_count`).
    pub max_targets: u32,
    /// Consecutive guard intervals in which neither the guard metrics nor the stop alarms could
    /// be read before the stage is aborted as a guard abort (the guard is blind).
    pub max_blind_intervals: u32,
    /// Least free space preflight requires on the reports directory's file system, so the
    /// journal is not the first thing to fail mid-stage.
    pub min_free_bytes: u64,
    /// The AWS endpoint override, for the record (a loopback one marks a simulation).
    pub endpoint_url: Option<String>,
    /// The blast-radius policy the Kubernetes and resource preflight checks apply.
    pub policy: Policy,
    /// Skip the Kubernetes checks and evidence (recorded in the journal).
    pub skip_kube: bool,
}

/// Default for [`RunOptions::max_blind_intervals`]: one minute of a blind guard at the
/// default 10 s interval — long enough to ride out a throttling burst the SDK's retries did
/// not absorb, short enough that a fault is not left running unwatched.
pub const DEFAULT_MAX_BLIND_INTERVALS: u32 = 6;
/// Default for [`RunOptions::min_free_bytes`]: 64 MiB. A one-hour stage with a 1 s guard
/// journals about 10,000 lines (~3 MB); the report and charts add a few MB more.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

impl RunOptions {
    /// Defaults for a run id and reports directory: 10 s guard interval, 60 s guard period
    /// (learned judges at their learned period),
    /// 5 s experiment polls, 2 min stop timeout, 10 min recovery cap, 30 min baseline, 15 min
    /// hypothesis window and INSUFFICIENT_DATA tolerance, the default policy (its stage timeout
    /// is 1 h), stop on failure.
    pub fn new(run_id: &str, reports_dir: PathBuf) -> Self {
        Self {
            run_id: run_id.to_owned(),
            reports_dir,
            scenario_file: String::new(),
            trigger: Trigger::Manual { user: None },
            guard_interval: Duration::from_secs(10),
            guard_period: Duration::from_secs(60),
            judge_at_learned_period: true,
            poll_interval: Duration::from_secs(5),
            stop_timeout: Duration::from_secs(120),
            recovery_cap: Duration::from_secs(600),
            baseline_window: Duration::from_secs(1800),
            hypothesis_window: Duration::from_secs(900),
            insufficient_data_tolerance: Duration::from_secs(900),
            stage_timeout: None,
            stop_on_failure: true,
            dry_run: false,
            recovery_targets: BTreeMap::new(),
            default_recovery_target: Duration::from_secs(300),
            account_id: None,
            region: None,
            max_targets: crate::plan::Policy::default().max_count,
            max_blind_intervals: DEFAULT_MAX_BLIND_INTERVALS,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            endpoint_url: None,
            policy: Policy::default(),
            skip_kube: false,
        }
    }

    /// The longest a stage may run: the flag, else the policy's `max_total_duration`.
    pub fn stage_timeout(&self) -> Duration {
        self.stage_timeout
            .unwrap_or_else(|| self.policy.max_total_duration.to_std())
    }
}

/// The AWS side a run needs.
pub trait RunProviders: FaultInjector + AlarmStore + MetricSource + Sync {}
impl<T: FaultInjector + AlarmStore + MetricSource + Sync> RunProviders for T {}
