//! The trigger loop: decide what is due, launch it, record it, and keep doing so.
//!
//! Input: prepared entries ([`PreparedEntry`]), the history store, a [`Launcher`], a
//! [`Clock`] and optionally a Kubernetes [`LeaseCoordinator`]. Output: runs launched and
//! `fired`/`skipped`/`finished` history records. The daemon ([`Scheduler::serve`]) waits on
//! `sleep_until(next due)`, a reload `Notify` or cancellation, as mini-redis's
//! `purge_expired_tasks` does; [`Scheduler::run_due`] makes one pass for an external cron.
//! Must not: fire an (entry, scheduled instant) that the history already decided, run two
//! GameDays on one target at once, or leave a child running when it returns.
//!
//! Each pass looks, per entry, at the latest fire time at or before now and, unless the history
//! already decided it:
//! 1. a fire time before the history was created and older than the on-time window is
//!    ignored (nobody was watching then);
//! 2. inside a blackout window → `skipped: blackout`;
//! 3. within the on-time window (1 min for `serve`, `--window` for `run-due`) → fire;
//! 4. later than that (the scheduler was down): `missed: run-late` and within `grace` → fire
//!    once, marked late; otherwise → `skipped: missed`.
//!
//! A fire whose targets are held — by a run of this scheduler, or by another scheduler's
//! Lease — is **skipped** (`skipped: target-busy`), not queued: the next fire time comes soon
//! enough, and a queued GameDay would start at a moment nobody planned for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::cron::CronSchedule;
use super::error::ScheduleError;
use super::launch::{Launcher, RunJob, RunResult};
use super::lease::{Acquired, LeaseCoordinator};
use super::notify::{Notification, Notifier, NotifyEvent, brief, run_summary};
use super::store::{HistoryRecord, HistoryStore, RunOutcome, SkipReason};
use super::target::{Target, entry_targets};
use crate::config::{Config, MissedPolicy, ScheduleEntry};

/// How late `serve` may wake for a fire time and still call it on time.
pub const SERVE_ON_TIME: Duration = Duration::from_secs(60);

/// Longest single sleep of the daemon: wall-clock jumps (suspend, NTP) are noticed this soon.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Where "now" comes from. The loop sleeps with `tokio::time`, so a test clock built on
/// `tokio::time::Instant` moves with a paused runtime.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a chosen instant and advances with `tokio::time` (paused in tests;
/// `--now` on the command line).
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    start: DateTime<Utc>,
    at: tokio::time::Instant,
}

impl OffsetClock {
    /// A clock reading `start` now.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            start,
            at: tokio::time::Instant::now(),
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.at.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}

/// A schedule entry ready to fire: its parsed cron and its targets.
#[derive(Debug, Clone)]
pub struct PreparedEntry {
    /// The entry.
    pub entry: ScheduleEntry,
    /// Its fire times.
    pub cron: CronSchedule,
    /// What it touches.
    pub targets: BTreeSet<Target>,
}

/// Prepares the config's entries (all, or those named in `only`): parses their cron, loads
/// their scenario files and checks that each scenario's environment is the entry's (a fresh
/// plan is made for the config's environment, so a plan-fresh entry must name that one).
///
/// # Errors
/// [`ScheduleError::UnknownEntry`], [`ScheduleError::Cron`], [`ScheduleError::Scenario`], or
/// [`ScheduleError::Export`] for an environment mismatch.
pub fn prepare(cfg: &Config, only: &[String]) -> Result<Vec<PreparedEntry>, ScheduleError> {
    for name in only {
        if !cfg.schedule.iter().any(|e| &e.name == name) {
            return Err(ScheduleError::UnknownEntry {
                name: name.clone(),
                known: cfg
                    .schedule
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    cfg.schedule
        .iter()
        .filter(|e| only.is_empty() || only.contains(&e.name))
        .map(|entry| {
            let cron = CronSchedule::for_entry(entry)?;
            let env = match &entry.scenario {
                Some(path) => super::target::load_entry_scenario(entry, path)?.environment,
                None => cfg.environment.clone(),
            };
            if env != entry.environment {
                return Err(ScheduleError::Export {
                    entry: entry.name.clone(),
                    message: format!(
                        "environment `{}` differs from the {} environment `{env}`",
                        entry.environment,
                        if entry.scenario.is_some() {
                            "scenario file's"
                        } else {
                            "config's (a fresh plan is made for it)"
                        }
                    ),
                });
            }
            Ok(PreparedEntry {
                targets: entry_targets(entry, cfg)?,
                cron,
                entry: entry.clone(),
            })
        })
        .collect()
}

/// What a pass does with one scheduled instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Launch it.
    Fire {
        /// Later than the on-time window (missed-run policy `run-late`).
        late: bool,
    },
    /// Record it as skipped.
    Skip {
        /// Why.
        reason: SkipReason,
        /// Details.
        detail: String,
    },
    /// Leave it alone (before the history began).
    Ignore,
}

/// Decides one undecided scheduled instant (rules in the module docs).
pub fn decide(
    entry: &ScheduleEntry,
    scheduled: DateTime<Utc>,
    now: DateTime<Utc>,
    history_created: DateTime<Utc>,
    on_time: Duration,
) -> Decision {
    let age = (now - scheduled).to_std().unwrap_or_default();
    if age > on_time && scheduled < history_created {
        return Decision::Ignore;
    }
    if let Some(b) = entry
        .blackouts
        .iter()
        .find(|b| b.start <= scheduled && scheduled < b.end)
    {
        return Decision::Skip {
            reason: SkipReason::Blackout,
            detail: format!(
                "blackout {} to {}{}",
                b.start.to_rfc3339(),
                b.end.to_rfc3339(),
                b.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        };
    }
    if age <= on_time {
        return Decision::Fire { late: false };
    }
    let late_by = humantime::format_duration(Duration::from_secs(age.as_secs()));
    match entry.missed {
        MissedPolicy::RunLate if age <= entry.grace => Decision::Fire { late: true },
        MissedPolicy::RunLate => Decision::Skip {
            reason: SkipReason::Missed,
            detail: format!(
                "missed by {late_by}, beyond the grace period of {}",
                humantime::format_duration(entry.grace)
            ),
        },
        MissedPolicy::Skip => Decision::Skip {
            reason: SkipReason::Missed,
            detail: format!("missed by {late_by}; missed-run policy is skip"),
        },
    }
}

/// The run id of a fire: one per (entry, scheduled instant), so a second launch of the same
/// instant would also be refused by `gameday run` (its journal already exists).
pub fn run_id(entry: &str, scheduled: DateTime<Utc>) -> String {
    format!("sched-{entry}-{}", scheduled.format("%Y%m%dT%H%MZ"))
}

/// Loop settings.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How late a fire time may be acted on as on time.
    pub on_time: Duration,
    /// Where `gameday run` writes `reports/<run-id>/` (for summaries and abort detection).
    pub reports_dir: PathBuf,
}

/// A run launched by a pass, once it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredRun {
    /// Entry.
    pub entry: String,
    /// Scheduled instant.
    pub scheduled_at: DateTime<Utc>,
    /// Run id.
    pub run_id: String,
    /// Result.
    pub result: RunResult,
}

/// Reloads the entries (SIGHUP in the daemon).
pub type Reload = Box<dyn Fn() -> Result<Vec<PreparedEntry>, ScheduleError> + Send>;

/// The scheduler.
pub struct Scheduler<L: Launcher, C: Clock> {
    entries: Vec<PreparedEntry>,
    store: Arc<Mutex<HistoryStore>>,
    launcher: Arc<L>,
    clock: Arc<C>,
    notifier: Notifier,
    lease: Option<LeaseCoordinator>,
    busy: Arc<Mutex<BTreeSet<Target>>>,
    opts: ServeOptions,
    runs: JoinSet<FiredRun>,
}

impl<L: Launcher, C: Clock> Scheduler<L, C> {
    /// A scheduler over `entries`, recording into `store`.
    pub fn new(
        entries: Vec<PreparedEntry>,
        store: HistoryStore,
        launcher: L,
        clock: C,
        opts: ServeOptions,
    ) -> Self {
        Self {
            entries,
            store: Arc::new(Mutex::new(store)),
            launcher: Arc::new(launcher),
            clock: Arc::new(clock),
            notifier: Notifier::new(),
            lease: None,
            busy: Arc::new(Mutex::new(BTreeSet::new())),
            opts,
            runs: JoinSet::new(),
        }
    }

    /// Coordinates targets with other schedulers through Kubernetes Leases.
    #[must_use]
    pub fn with_lease(mut self, lease: LeaseCoordinator) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Appends to the history.
    fn record(&self, record: HistoryRecord) -> Result<(), ScheduleError> {
        lock(&self.store).append(record)
    }

    /// One pass: decide every entry's latest fire time and launch what is due.
    ///
    /// # Errors
    /// [`ScheduleError::State`] when the history cannot be written (nothing is launched
    /// without its `fired` record on disk).
    pub async fn tick(&mut self, cancel: &CancellationToken) -> Result<(), ScheduleError> {
        let now = self.clock.now();
        for i in 0..self.entries.len() {
            let prepared = self.entries[i].clone();
            let entry = &prepared.entry;
            let Some(scheduled) = prepared.cron.latest_at_or_before(now) else {
                continue;
            };
            let created = {
                let store = lock(&self.store);
                if store.decided(&entry.name, scheduled).is_some() {
                    continue;
                }
                store.created()
            };
            match decide(entry, scheduled, now, created, self.opts.on_time) {
                Decision::Ignore => {}
                Decision::Skip { reason, detail } => self.skip(entry, scheduled, reason, detail)?,
                Decision::Fire { late } => {
                    self.fire(&prepared, scheduled, late, cancel).await?;
                }
            }
        }
        Ok(())
    }

    fn skip(
        &self,
        entry: &ScheduleEntry,
        scheduled: DateTime<Utc>,
        reason: SkipReason,
        detail: String,
    ) -> Result<(), ScheduleError> {
        tracing::warn!(
            entry = %entry.name,
            scheduled_at = %scheduled.to_rfc3339(),
            reason = reason.as_str(),
            %detail,
            "scheduled GameDay skipped"
        );
        self.record(HistoryRecord::Skipped {
            entry: entry.name.clone(),
            scheduled_at: scheduled,
            at: self.clock.now(),
            reason,
            detail,
        })
    }

    async fn fire(
        &mut self,
        prepared: &PreparedEntry,
        scheduled: DateTime<Utc>,
        late: bool,
        cancel: &CancellationToken,
    ) -> Result<(), ScheduleError> {
        let entry = &prepared.entry;
        let run_id = run_id(&entry.name, scheduled);
        let taken: Vec<String> = {
            let busy = lock(&self.busy);
            prepared
                .targets
                .iter()
                .filter(|t| busy.contains(t))
                .map(ToString::to_string)
                .collect()
        };
        if !taken.is_empty() {
            return self.skip(
                entry,
                scheduled,
                SkipReason::TargetBusy,
                format!(
                    "target {} is in a GameDay of this scheduler",
                    taken.join(", ")
                ),
            );
        }
        let mut leases = Vec::new();
        if let Some(coordinator) = &self.lease {
            for target in &prepared.targets {
                let acquired = coordinator.try_acquire(target, self.clock.now()).await;
                let refused = match acquired {
                    Ok(Acquired::Held { name }) => {
                        leases.push(name);
                        continue;
                    }
                    Ok(Acquired::Busy { name, by }) => {
                        format!("target {target}: Lease {name} is held by {by}")
                    }
                    Err(e) => format!("target {target}: {} ({})", e, crate::error::error_chain(&e)),
                };
                release_leases(coordinator, &leases, self.clock.now()).await;
                return self.skip(entry, scheduled, SkipReason::TargetBusy, refused);
            }
        }
        self.record(HistoryRecord::Fired {
            entry: entry.name.clone(),
            scheduled_at: scheduled,
            at: self.clock.now(),
            run_id: run_id.clone(),
            late,
            targets: prepared.targets.iter().map(ToString::to_string).collect(),
        })?;
        lock(&self.busy).extend(prepared.targets.iter().cloned());
        tracing::info!(
            entry = %entry.name,
            run_id = %run_id,
            scheduled_at = %scheduled.to_rfc3339(),
            late,
            "firing scheduled GameDay"
        );
        let job = RunJob {
            entry: entry.name.clone(),
            run_id: run_id.clone(),
            scheduled_at: scheduled,
            environment: entry.environment.clone(),
            max_duration: entry.max_duration,
        };
        let task = RunTask {
            job,
            entry: entry.clone(),
            targets: prepared.targets.clone(),
            leases,
            launcher: self.launcher.clone(),
            clock: self.clock.clone(),
            store: self.store.clone(),
            busy: self.busy.clone(),
            notifier: self.notifier.clone(),
            lease: self.lease.clone(),
            reports_dir: self.opts.reports_dir.clone(),
            cancel: cancel.clone(),
        };
        self.runs.spawn(task.run());
        Ok(())
    }

    fn note_finished(run: &FiredRun) {
        tracing::info!(
            entry = %run.entry,
            run_id = %run.run_id,
            scheduled_at = %run.scheduled_at.to_rfc3339(),
            outcome = run.result.outcome.as_str(),
            exit_code = run.result.exit_code,
            "scheduled GameDay finished"
        );
    }

    /// Waits for every launched run (each stops on `cancel`), and for pending notifications.
    async fn drain(&mut self) -> Vec<FiredRun> {
        let mut done = Vec::new();
        while let Some(joined) = self.runs.join_next().await {
            match joined {
                Ok(run) => {
                    Self::note_finished(&run);
                    done.push(run);
                }
                Err(e) => tracing::error!(error = %e, "a run task panicked"),
            }
        }
        self.notifier.flush().await;
        done
    }

    /// One pass, then waits for the runs it launched: `gameday schedule run-due`.
    ///
    /// # Errors
    /// As [`Scheduler::tick`].
    pub async fn run_due(
        mut self,
        cancel: CancellationToken,
    ) -> Result<Vec<FiredRun>, ScheduleError> {
        let ticked = self.tick(&cancel).await;
        let done = self.drain().await;
        ticked.map(|()| done)
    }

    /// The daemon: passes at every fire time until `cancel`; then interrupts running GameDays
    /// (SIGINT to each child, as Ctrl-C) and waits for them. `reload` re-reads the entries.
    ///
    /// # Errors
    /// As [`Scheduler::tick`]; running GameDays are still stopped and waited for first.
    pub async fn serve(
        mut self,
        cancel: CancellationToken,
        reload_signal: Arc<Notify>,
        reload: Option<Reload>,
    ) -> Result<Vec<FiredRun>, ScheduleError> {
        let holder = self
            .lease
            .as_ref()
            .map_or_else(super::lease::default_holder, |l| l.holder().to_owned());
        let started = self.record(HistoryRecord::Started {
            at: self.clock.now(),
            holder,
        });
        for (entry, at, run_id) in lock(&self.store).unfinished() {
            tracing::warn!(
                entry = %entry,
                run_id = %run_id,
                scheduled_at = %at.to_rfc3339(),
                "run was fired but has no result (the scheduler stopped under it): check it with `gameday recover`"
            );
        }
        // Runs stop on shutdown, and also when the loop itself fails.
        let runs_cancel = cancel.child_token();
        let mut result = started;
        let mut done = Vec::new();
        while result.is_ok() {
            if let Err(e) = self.tick(&runs_cancel).await {
                result = Err(e);
                break;
            }
            let now = self.clock.now();
            let next = self
                .entries
                .iter()
                .filter_map(|p| p.cron.next_after(now))
                .min();
            let wait = next
                .and_then(|n| (n - now).to_std().ok())
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            if let Some(n) = next {
                tracing::debug!(next = %n.to_rfc3339(), wait_s = wait.as_secs(), "waiting");
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep_until(tokio::time::Instant::now() + wait) => {}
                () = reload_signal.notified() => match reload.as_ref().map(|f| f()) {
                    Some(Ok(entries)) => {
                        tracing::info!(entries = entries.len(), "schedule reloaded");
                        self.entries = entries;
                    }
                    Some(Err(e)) => tracing::error!(
                        error = %crate::error::error_chain(&e),
                        "schedule reload failed: keeping the previous entries"
                    ),
                    None => {}
                },
                Some(joined) = self.runs.join_next() => match joined {
                    Ok(run) => { Self::note_finished(&run); done.push(run); }
                    Err(e) => tracing::error!(error = %e, "a run task panicked"),
                },
            }
        }
        if !self.runs.is_empty() {
            tracing::warn!(
                running = self.runs.len(),
                "scheduler stopping: interrupting running GameDays and waiting for them to stop"
            );
        }
        // A failure to write the history also stops the runs: nothing runs unrecorded.
        runs_cancel.cancel();
        done.extend(self.drain().await);
        result.map(|()| done)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data here (appends are all-or-nothing).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn release_leases(coordinator: &LeaseCoordinator, names: &[String], now: DateTime<Utc>) {
    for name in names {
        if let Err(e) = coordinator.release(name, now).await {
            tracing::warn!(lease = %name, error = %crate::error::error_chain(&e), "failed to release Lease (it expires by itself)");
        }
    }
}

/// Everything one launched GameDay needs, moved into its task.
struct RunTask<L: Launcher, C: Clock> {
    job: RunJob,
    entry: ScheduleEntry,
    targets: BTreeSet<Target>,
    leases: Vec<String>,
    launcher: Arc<L>,
    clock: Arc<C>,
    store: Arc<Mutex<HistoryStore>>,
    busy: Arc<Mutex<BTreeSet<Target>>>,
    notifier: Notifier,
    lease: Option<LeaseCoordinator>,
    reports_dir: PathBuf,
    cancel: CancellationToken,
}

/// How often a running GameDay's journal is checked for an abort.
const JOURNAL_POLL: Duration = Duration::from_secs(2);

impl<L: Launcher, C: Clock> RunTask<L, C> {
    fn notification(&self, event: NotifyEvent, scenario: Option<&Path>) -> Notification {
        Notification {
            event,
            entry: self.job.entry.clone(),
            run_id: self.job.run_id.clone(),
            scheduled_at: self.job.scheduled_at,
            scenario: scenario.map(Path::to_path_buf),
            environment: self.job.environment.clone(),
            outcome: None,
            exit_code: None,
            report: None,
            summary: serde_json::Value::Null,
            text: String::new(),
        }
    }

    async fn run(self) -> FiredRun {
        let scenario = match &self.entry.scenario {
            Some(path) => Ok(path.clone()),
            None => self.launcher.plan(&self.job, self.cancel.clone()).await,
        };
        let result = match scenario {
            Ok(path) => self.supervise(&path).await,
            Err(result) => {
                let mut n = self.notification(NotifyEvent::After, None);
                n.outcome = Some(result.outcome.as_str().to_owned());
                n.exit_code = result.exit_code;
                n.summary = serde_json::json!({ "detail": result.detail });
                n.text = format!(
                    "Scheduled GameDay {} ({}) did not start: {}",
                    self.job.entry, self.job.run_id, result.detail
                );
                self.notifier.send(&self.entry.notify, &n);
                (result, None)
            }
        };
        let (result, report) = result;
        let finished = HistoryRecord::Finished {
            entry: self.job.entry.clone(),
            scheduled_at: self.job.scheduled_at,
            run_id: self.job.run_id.clone(),
            at: self.clock.now(),
            exit_code: result.exit_code,
            outcome: result.outcome,
            report,
            detail: result.detail.clone(),
        };
        if let Err(e) = lock(&self.store).append(finished) {
            tracing::error!(run_id = %self.job.run_id, error = %crate::error::error_chain(&e), "failed to record the run's result");
        }
        {
            let mut busy = lock(&self.busy);
            for t in &self.targets {
                busy.remove(t);
            }
        }
        if let Some(coordinator) = &self.lease {
            release_leases(coordinator, &self.leases, self.clock.now()).await;
        }
        FiredRun {
            entry: self.job.entry.clone(),
            scheduled_at: self.job.scheduled_at,
            run_id: self.job.run_id.clone(),
            result,
        }
    }

    /// Sends the brief, runs the scenario while watching for an abort (and renewing Leases),
    /// then sends the summary.
    async fn supervise(&self, scenario: &Path) -> (RunResult, Option<PathBuf>) {
        let mut before = self.notification(NotifyEvent::Before, Some(scenario));
        match super::target::load_entry_scenario(&self.entry, scenario) {
            Ok(g) => {
                let (summary, text) = brief(&g);
                before.summary = summary;
                before.text = format!(
                    "Starting scheduled {text}\n(entry {}, run {}, scheduled {})",
                    self.job.entry,
                    self.job.run_id,
                    self.job.scheduled_at.to_rfc3339()
                );
            }
            Err(e) => {
                before.text = format!(
                    "Starting scheduled GameDay {} ({}); its scenario file could not be read for the brief: {}",
                    self.job.entry,
                    self.job.run_id,
                    crate::error::error_chain(&e)
                );
            }
        }
        self.notifier.send(&self.entry.notify, &before);

        let run = self.launcher.run(&self.job, scenario, self.cancel.clone());
        tokio::pin!(run);
        let journal = self
            .reports_dir
            .join(&self.job.run_id)
            .join(crate::model::journal::JOURNAL_FILE);
        let mut journal_read = 0usize;
        let mut poll = tokio::time::interval(JOURNAL_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renew = tokio::time::interval(
            self.lease
                .as_ref()
                .map_or(Duration::from_secs(3600), LeaseCoordinator::renew_every),
        );
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        renew.tick().await;
        let mut abort_sent = false;
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                () = self.cancel.cancelled(), if !abort_sent => {
                    abort_sent = true;
                    self.send_abort(scenario, "the scheduler is shutting down: the run is being stopped (SIGINT)".to_owned(), None);
                }
                _ = poll.tick(), if !abort_sent => {
                    if let Some(detail) = journal_abort(&journal, &mut journal_read) {
                        abort_sent = true;
                        self.send_abort(scenario, detail, None);
                    }
                }
                _ = renew.tick(), if !self.leases.is_empty() => self.renew_leases().await,
            }
        };
        if result.outcome.is_abort() && !abort_sent {
            self.send_abort(scenario, result.detail.clone(), Some(&result));
        }
        let (summary, report) = run_summary(&self.reports_dir, &self.job.run_id);
        let mut after = self.notification(NotifyEvent::After, Some(scenario));
        after.outcome = Some(result.outcome.as_str().to_owned());
        after.exit_code = result.exit_code;
        after.report.clone_from(&report);
        after.summary = summary;
        after.text = format!(
            "Scheduled GameDay {} ({}) finished: {}{}. {}",
            self.job.entry,
            self.job.run_id,
            result.outcome.as_str(),
            result
                .exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default(),
            report.as_ref().map_or_else(
                || "No post-mortem was written.".to_owned(),
                |r| format!("Report: {}", r.display())
            )
        );
        if let Some(line) = super::notify::score_line(&after.summary) {
            after.text.push(' ');
            after.text.push_str(&line);
        }
        self.notifier.send(&self.entry.notify, &after);
        (result, report)
    }

    fn send_abort(&self, scenario: &Path, detail: String, result: Option<&RunResult>) {
        tracing::warn!(entry = %self.job.entry, run_id = %self.job.run_id, %detail, "scheduled GameDay aborting");
        let mut n = self.notification(NotifyEvent::Abort, Some(scenario));
        n.outcome = Some(
            result
                .map_or(RunOutcome::Aborted, |r| r.outcome)
                .as_str()
                .to_owned(),
        );
        n.exit_code = result.and_then(|r| r.exit_code);
        n.text = format!(
            "ABORT: scheduled GameDay {} ({}): {detail}",
            self.job.entry, self.job.run_id
        );
        n.summary = serde_json::json!({ "detail": detail });
        self.notifier.send(&self.entry.notify, &n);
    }

    async fn renew_leases(&self) {
        let Some(coordinator) = &self.lease else {
            return;
        };
        for name in &self.leases {
            match coordinator.renew(name, self.clock.now()).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(run_id = %self.job.run_id, lease = %name, "Lease lost to another holder while the GameDay runs")
                }
                Err(e) => {
                    tracing::warn!(run_id = %self.job.run_id, lease = %name, error = %crate::error::error_chain(&e), "failed to renew Lease")
                }
            }
        }
    }
}

/// Reads journal lines after `read` bytes; returns the detail of the first `abort` or
/// `stop-failed` entry. A torn last line is left for the next poll.
fn journal_abort(path: &Path, read: &mut usize) -> Option<String> {
    use crate::model::record::{Abort, Entry, Event, StopFailed};
    let text = std::fs::read_to_string(path).ok()?;
    let new = text.get(*read..)?;
    let complete = new.rfind('\n').map_or(0, |i| i + 1);
    *read += complete;
    new[..complete]
        .lines()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .find_map(|e| {
            let (reason, detail) = match e.event().ok()?? {
                Event::Abort(Abort { reason, detail, .. }) => (reason.as_str(), detail),
                Event::StopFailed(StopFailed { error, .. }) => (e.kind.as_str(), error),
                _ => return None,
            };
            Some(
                format!("{}: {reason} {detail}", e.kind)
                    .trim_end()
                    .to_owned(),
            )
        })
}

/// The command line's clock: the wall clock, or `--now` advancing with `tokio::time`.
#[derive(Debug, Clone, Copy)]
pub enum CliClock {
    /// [`SystemClock`].
    System(SystemClock),
    /// [`OffsetClock`] from `--now`.
    Offset(OffsetClock),
}

impl Clock for CliClock {
    fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System(c) => c.now(),
            Self::Offset(c) => c.now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::config::Blackout;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    /// A launcher that "runs" for a set time per entry (on the paused clock) and exits with a
    /// set code; on cancel it behaves like `gameday run` on SIGINT: exit 4.
    /// Entry, run id and start time of each launch.
    type Launches = Arc<Mutex<Vec<(String, String, DateTime<Utc>)>>>;

    #[derive(Clone, Default)]
    struct FakeLauncher {
        runs: Launches,
        takes: BTreeMap<String, Duration>,
        codes: BTreeMap<String, i32>,
        clock: Option<OffsetClock>,
    }

    impl Launcher for FakeLauncher {
        async fn plan(
            &self,
            job: &RunJob,
            _cancel: CancellationToken,
        ) -> Result<PathBuf, RunResult> {
            Err(RunResult::exited(
                Some(2),
                format!("no planning in this test ({})", job.entry),
            ))
        }

        async fn run(
            &self,
            job: &RunJob,
            _scenario: &Path,
            cancel: CancellationToken,
        ) -> RunResult {
            let started = self.clock.map_or_else(Utc::now, |c| c.now());
            lock(&self.runs).push((job.entry.clone(), job.run_id.clone(), started));
            let takes = self
                .takes
                .get(&job.entry)
                .copied()
                .unwrap_or(Duration::from_secs(60));
            tokio::select! {
                () = tokio::time::sleep(takes) => RunResult::exited(
                    Some(self.codes.get(&job.entry).copied().unwrap_or(0)), "done"),
                () = cancel.cancelled() => RunResult {
                    interrupted: true,
                    ..RunResult::exited(Some(4), "interrupted")
                },
            }
        }
    }

    fn entry(name: &str, cron: &str) -> ScheduleEntry {
        ScheduleEntry {
            name: name.into(),
            cron: cron.into(),
            timezone: "UTC".into(),
            scenario: Some("unused.yaml".into()),
            environment: "staging".into(),
            max_duration: Duration::from_secs(7200),
            notify: Vec::new(),
            blackouts: Vec::new(),
            missed: MissedPolicy::Skip,
            grace: Duration::from_secs(3600),
        }
    }

    fn prepared(e: ScheduleEntry, service: &str) -> PreparedEntry {
        PreparedEntry {
            cron: CronSchedule::for_entry(&e).expect("cron"),
            targets: BTreeSet::from([Target {
                cluster: "c".into(),
                namespace: "ns".into(),
                service: service.into(),
            }]),
            entry: e,
        }
    }

    fn opts() -> ServeOptions {
        ServeOptions {
            on_time: SERVE_ON_TIME,
            reports_dir: "reports".into(),
        }
    }

    /// Serves `entries` from `start` for `for_` of (paused) time, then shuts down.
    async fn serve_for(
        dir: &Path,
        entries: Vec<PreparedEntry>,
        launcher: &mut FakeLauncher,
        start: DateTime<Utc>,
        for_: Duration,
    ) -> Vec<FiredRun> {
        let clock = OffsetClock::new(start);
        launcher.clock = Some(clock);
        let store = HistoryStore::open(dir, clock.now()).expect("store");
        let scheduler = Scheduler::new(entries, store, launcher.clone(), clock, opts());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(scheduler.serve(cancel.clone(), Arc::new(Notify::new()), None));
        tokio::time::sleep(for_).await;
        cancel.cancel();
        task.await.expect("serve task").expect("serve")
    }

    fn history(dir: &Path) -> Vec<HistoryRecord> {
        HistoryStore::open(dir, Utc::now())
            .expect("store")
            .records()
            .to_vec()
    }

    fn skipped(records: &[HistoryRecord]) -> Vec<(String, DateTime<Utc>, SkipReason)> {
        records
            .iter()
            .filter_map(|r| match r {
                HistoryRecord::Skipped {
                    entry,
                    scheduled_at,
                    reason,
                    ..
                } => Some((entry.clone(), *scheduled_at, *reason)),
                _ => None,
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn fires_each_due_entry_exactly_once_at_its_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut launcher = FakeLauncher::default();
        let entries = vec![
            prepared(entry("daily", "0 10 * * *"), "a"),
            prepared(entry("six-hourly", "30 */6 * * *"), "b"),
        ];
        let runs = serve_for(
            dir.path(),
            entries,
            &mut launcher,
            t("2026-03-02T09:00:00Z"),
            Duration::from_secs(2 * 86_400),
        )
        .await;
        let launched = lock(&launcher.runs).clone();
        let daily: Vec<DateTime<Utc>> = launched
            .iter()
            .filter(|r| r.0 == "daily")
            .map(|r| r.2)
            .collect();
        assert_eq!(
            daily,
            vec![t("2026-03-02T10:00:00Z"), t("2026-03-03T10:00:00Z")]
        );
        let six: Vec<DateTime<Utc>> = launched
            .iter()
            .filter(|r| r.0 == "six-hourly")
            .map(|r| r.2)
            .collect();
        assert_eq!(six.len(), 8, "{six:?}");
        assert_eq!(six[0], t("2026-03-02T12:30:00Z"));
        let ids: BTreeSet<&String> = launched.iter().map(|r| &r.1).collect();
        assert_eq!(ids.len(), launched.len(), "one run id per fire");
        assert_eq!(runs.len(), launched.len());
        assert!(runs.iter().all(|r| r.result.outcome == RunOutcome::Passed));
        let records = history(dir.path());
        let finished = records
            .iter()
            .filter(|r| matches!(r, HistoryRecord::Finished { .. }))
            .count();
        assert_eq!(finished, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn blackout_windows_skip_with_a_history_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut e = entry("daily", "0 10 * * *");
        e.blackouts.push(Blackout {
            start: t("2026-03-03T00:00:00Z"),
            end: t("2026-03-04T00:00:00Z"),
            reason: Some("release freeze".into()),
        });
        let mut launcher = FakeLauncher::default();
        serve_for(
            dir.path(),
            vec![prepared(e, "a")],
            &mut launcher,
            t("2026-03-02T09:00:00Z"),
            Duration::from_secs(3 * 86_400),
        )
        .await;
        let fired: Vec<DateTime<Utc>> = lock(&launcher.runs).iter().map(|r| r.2).collect();
        assert_eq!(
            fired,
            vec![t("2026-03-02T10:00:00Z"), t("2026-03-04T10:00:00Z")]
        );
        let records = history(dir.path());
        assert_eq!(
            skipped(&records),
            vec![(
                "daily".into(),
                t("2026-03-03T10:00:00Z"),
                SkipReason::Blackout
            )]
        );
        assert!(records.iter().any(|r| matches!(r, HistoryRecord::Skipped { detail, .. } if detail.contains("release freeze"))));
    }

    #[tokio::test(start_paused = true)]
    async fn two_entries_on_one_target_never_overlap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut launcher = FakeLauncher::default();
        // "long" holds the target for 90 minutes from 10:00; "other" wants it at 11:00 and
        // 12:00; "elsewhere" fires at 11:00 on another target.
        launcher
            .takes
            .insert("long".into(), Duration::from_secs(90 * 60));
        let entries = vec![
            prepared(entry("long", "0 10 * * *"), "checkout"),
            prepared(entry("other", "0 11,12 * * *"), "checkout"),
            prepared(entry("elsewhere", "0 11 * * *"), "catalog"),
        ];
        serve_for(
            dir.path(),
            entries,
            &mut launcher,
            t("2026-03-02T09:00:00Z"),
            Duration::from_secs(4 * 3600),
        )
        .await;
        let fired: Vec<(String, DateTime<Utc>)> = lock(&launcher.runs)
            .iter()
            .map(|r| (r.0.clone(), r.2))
            .collect();
        assert_eq!(
            fired,
            vec![
                ("long".into(), t("2026-03-02T10:00:00Z")),
                ("elsewhere".into(), t("2026-03-02T11:00:00Z")),
                ("other".into(), t("2026-03-02T12:00:00Z")),
            ]
        );
        assert_eq!(
            skipped(&history(dir.path())),
            vec![(
                "other".into(),
                t("2026-03-02T11:00:00Z"),
                SkipReason::TargetBusy
            )]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn history_survives_a_restart_and_an_instant_never_fires_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut launcher = FakeLauncher::default();
        let entries = || vec![prepared(entry("daily", "0 10 * * *"), "a")];
        // Up from 09:59 to 10:00:30: fires 10:00 once.
        serve_for(
            dir.path(),
            entries(),
            &mut launcher,
            t("2026-03-02T09:59:00Z"),
            Duration::from_secs(90),
        )
        .await;
        assert_eq!(lock(&launcher.runs).len(), 1);
        // Restarted at 10:00:40, still inside the on-time window: the history says it fired.
        serve_for(
            dir.path(),
            entries(),
            &mut launcher,
            t("2026-03-02T10:00:40Z"),
            Duration::from_secs(600),
        )
        .await;
        assert_eq!(
            lock(&launcher.runs).len(),
            1,
            "not fired again after a restart"
        );
        let records = history(dir.path());
        let starts = records
            .iter()
            .filter(|r| matches!(r, HistoryRecord::Started { .. }))
            .count();
        assert_eq!(starts, 2);
        // The first run was interrupted by the first shutdown, and recorded so.
        assert!(records.iter().any(|r| matches!(
            r,
            HistoryRecord::Finished {
                outcome: RunOutcome::Aborted,
                exit_code: Some(4),
                ..
            }
        )));
    }

    #[tokio::test(start_paused = true)]
    async fn missed_runs_follow_the_policy_after_downtime() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut launcher = FakeLauncher::default();
        let mut late = entry("late", "0 10 * * *");
        late.missed = MissedPolicy::RunLate;
        late.grace = Duration::from_secs(3600);
        let mut too_late = entry("too-late", "0 9 * * *");
        too_late.missed = MissedPolicy::RunLate;
        too_late.grace = Duration::from_secs(3600);
        let skip = entry("skip", "0 10 * * *");
        let entries = || {
            vec![
                prepared(late.clone(), "a"),
                prepared(too_late.clone(), "b"),
                prepared(skip.clone(), "c"),
            ]
        };
        // The history begins on Monday; the scheduler is down from then until Tuesday 10:30.
        serve_for(
            dir.path(),
            entries(),
            &mut launcher,
            t("2026-03-02T12:00:00Z"),
            Duration::from_secs(60),
        )
        .await;
        assert!(lock(&launcher.runs).is_empty());
        serve_for(
            dir.path(),
            entries(),
            &mut launcher,
            t("2026-03-03T10:30:00Z"),
            Duration::from_secs(600),
        )
        .await;
        let fired: Vec<(String, DateTime<Utc>)> = lock(&launcher.runs)
            .iter()
            .map(|r| (r.0.clone(), r.2))
            .collect();
        assert_eq!(
            fired,
            vec![("late".into(), t("2026-03-03T10:30:00Z"))],
            "run once, late"
        );
        let records = history(dir.path());
        assert!(records.iter().any(|r| matches!(r,
            HistoryRecord::Fired { entry, scheduled_at, late: true, .. }
                if entry == "late" && *scheduled_at == t("2026-03-03T10:00:00Z"))));
        assert_eq!(
            skipped(&records),
            vec![
                (
                    "too-late".into(),
                    t("2026-03-03T09:00:00Z"),
                    SkipReason::Missed
                ),
                ("skip".into(), t("2026-03-03T10:00:00Z"), SkipReason::Missed),
            ]
        );
        // A third start decides nothing again.
        serve_for(
            dir.path(),
            entries(),
            &mut launcher,
            t("2026-03-03T10:45:00Z"),
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(lock(&launcher.runs).len(), 1);
        assert_eq!(skipped(&history(dir.path())).len(), 2);
    }

    #[test]
    fn fire_times_before_the_history_began_are_not_missed() {
        let e = entry("daily", "0 10 * * *");
        let created = t("2026-03-03T12:00:00Z");
        assert_eq!(
            decide(
                &e,
                t("2026-03-03T10:00:00Z"),
                t("2026-03-03T12:00:00Z"),
                created,
                SERVE_ON_TIME
            ),
            Decision::Ignore
        );
        // Within the on-time window it fires even on a brand-new history (run-due's first call).
        assert_eq!(
            decide(
                &e,
                t("2026-03-03T10:00:00Z"),
                t("2026-03-03T10:00:30Z"),
                created,
                SERVE_ON_TIME
            ),
            Decision::Fire { late: false }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_due_fires_what_is_due_and_waits_for_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut launcher = FakeLauncher::default();
        launcher.codes.insert("daily".into(), 3);
        let clock = OffsetClock::new(t("2026-03-02T10:03:00Z"));
        launcher.clock = Some(clock);
        let store = HistoryStore::open(dir.path(), clock.now()).expect("store");
        let entries = vec![
            prepared(entry("daily", "0 10 * * *"), "a"),
            prepared(entry("hourly", "0 * * * *"), "b"),
        ];
        let mut o = opts();
        o.on_time = Duration::from_secs(300);
        let runs = Scheduler::new(entries.clone(), store, launcher.clone(), clock, o.clone())
            .run_due(CancellationToken::new())
            .await
            .expect("run-due");
        assert_eq!(runs.len(), 2);
        assert_eq!(
            runs.iter()
                .find(|r| r.entry == "daily")
                .map(|r| r.result.outcome),
            Some(RunOutcome::HypothesisFailed)
        );
        // A second call in the same window does nothing.
        let store = HistoryStore::open(dir.path(), clock.now()).expect("store");
        let again = Scheduler::new(entries, store, launcher.clone(), clock, o)
            .run_due(CancellationToken::new())
            .await
            .expect("run-due");
        assert!(again.is_empty());
    }

    /// A launcher standing in for `gameday run`'s files: it writes `summary.json` and
    /// `postmortem.md`, and, when told to abort, first an `abort` journal entry, then keeps
    /// "stopping" for 3 s before exiting 4.
    struct ReportingLauncher {
        reports: PathBuf,
        abort: bool,
    }

    impl Launcher for ReportingLauncher {
        async fn plan(&self, _: &RunJob, _: CancellationToken) -> Result<PathBuf, RunResult> {
            Err(RunResult::exited(Some(2), "unused"))
        }

        async fn run(&self, job: &RunJob, _: &Path, _: CancellationToken) -> RunResult {
            let dir = self.reports.join(&job.run_id);
            std::fs::create_dir_all(&dir).expect("run dir");
            if self.abort {
                let entry = serde_json::json!({"seq": 7, "at": "2026-03-03T10:05:00Z", "kind": "abort",
                    "data": {"scenario": "checkout-network-latency", "stage": "percent-10",
                             "reason": "guard", "detail": "error_rate 4.2 > 1.0"}});
                std::fs::write(dir.join("journal.jsonl"), format!("{entry}\n")).expect("journal");
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            std::fs::write(
                dir.join("summary.json"),
                r#"{"outcome": "passed", "stages": 3}"#,
            )
            .expect("summary");
            std::fs::write(dir.join("postmortem.md"), "# Post-mortem\n").expect("report");
            RunResult::exited(Some(if self.abort { 4 } else { 0 }), "done")
        }
    }

    #[tokio::test]
    async fn webhooks_get_the_brief_before_the_summary_after_and_aborts_at_once() {
        use crate::config::Notify as Target_;
        use crate::schedule::testing::serve as http;
        let receiver = http(|_| (200, "{}".to_owned())).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let reports = dir.path().join("reports");
        let scenario =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/checkout-example.yaml");
        for (abort, at) in [
            (false, "2026-03-02T10:00:10Z"),
            (true, "2026-03-03T10:00:10Z"),
        ] {
            let mut e = entry("weekly", "0 10 * * *");
            e.scenario = Some(scenario.clone());
            e.notify = vec![
                Target_::Webhook(format!("{}/hook", receiver.url)),
                Target_::Slack(format!("{}/slack", receiver.url)),
            ];
            let clock = OffsetClock::new(t(at));
            let store = HistoryStore::open(&dir.path().join("state"), clock.now()).expect("store");
            let o = ServeOptions {
                on_time: SERVE_ON_TIME,
                reports_dir: reports.clone(),
            };
            let launcher = ReportingLauncher {
                reports: reports.clone(),
                abort,
            };
            let runs = Scheduler::new(vec![prepared(e, "checkout")], store, launcher, clock, o)
                .run_due(CancellationToken::new())
                .await
                .expect("run-due");
            assert_eq!(runs.len(), 1);
        }
        let hooks: Vec<serde_json::Value> = receiver
            .taken()
            .iter()
            .filter(|r| r.path == "/hook")
            .map(|r| r.json())
            .collect();
        let events: Vec<&str> = hooks
            .iter()
            .map(|h| h["event"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(events, ["before", "after", "before", "abort", "after"]);
        let before = &hooks[0];
        assert_eq!(before["entry"], "weekly");
        assert_eq!(before["run_id"], "sched-weekly-20260302T1000Z");
        assert_eq!(before["environment"], "staging");
        assert_eq!(before["summary"]["gameday"], "checkout-example");
        let s0 = &before["summary"]["scenarios"][0];
        assert_eq!(s0["target"], "staging-eks/shop/checkout");
        assert_eq!(s0["stages"][0], "count-1 COUNT(1)");
        assert!(
            s0["stop_alarms"].as_array().is_some_and(|a| !a.is_empty()),
            "{s0}"
        );
        let after = &hooks[1];
        assert_eq!(after["outcome"], "passed");
        assert_eq!(after["exit_code"], 0);
        assert_eq!(after["summary"]["stages"], 3);
        let report = reports.join("sched-weekly-20260302T1000Z/postmortem.md");
        assert_eq!(after["report"], report.display().to_string());
        // The abort came from the journal while the run was still stopping, before its exit.
        let abort = &hooks[3];
        assert_eq!(abort["run_id"], "sched-weekly-20260303T1000Z");
        assert!(
            abort["text"]
                .as_str()
                .is_some_and(|t| t.contains("error_rate 4.2 > 1.0")),
            "{abort}"
        );
        assert_eq!(
            abort["exit_code"],
            serde_json::Value::Null,
            "sent before the exit code was known"
        );
        assert_eq!(hooks[4]["outcome"], "aborted");
        assert_eq!(hooks[4]["exit_code"], 4);
        let slack: Vec<serde_json::Value> = receiver
            .taken()
            .iter()
            .filter(|r| r.path == "/slack")
            .map(|r| r.json())
            .collect();
        assert_eq!(slack.len(), 5);
        assert!(slack.iter().all(|b| {
            b.as_object()
                .is_some_and(|o| o.len() == 1 && o["text"].is_string())
        }));
        assert!(
            slack[0]["text"]
                .as_str()
                .is_some_and(|t| t.contains("checkout-network-latency")),
            "{}",
            slack[0]
        );
        assert!(
            slack[1]["text"]
                .as_str()
                .is_some_and(|t| t.contains("postmortem.md")),
            "{}",
            slack[1]
        );
    }

    #[tokio::test]
    async fn an_unreachable_webhook_does_not_hold_up_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A port nothing listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut e = entry("weekly", "0 10 * * *");
        e.notify = vec![crate::config::Notify::Webhook(format!(
            "http://127.0.0.1:{port}/x"
        ))];
        let clock = OffsetClock::new(t("2026-03-02T10:00:10Z"));
        let store = HistoryStore::open(dir.path(), clock.now()).expect("store");
        let mut launcher = FakeLauncher::default();
        launcher
            .takes
            .insert("weekly".into(), Duration::from_millis(10));
        let runs = tokio::time::timeout(
            Duration::from_secs(20),
            Scheduler::new(vec![prepared(e, "a")], store, launcher, clock, opts())
                .run_due(CancellationToken::new()),
        )
        .await
        .expect("bounded by the notification timeout")
        .expect("run-due");
        assert_eq!(runs[0].result.outcome, RunOutcome::Passed);
    }
}
