//! Folding run records into the history: one [`Attempt`] per scenario a run exercised, then one
//! [`ClassRecord`] per service × fault class, with its [`Regression`] flags.
//!
//! Input: [`RunRecord`]s (folded journals) and [`HistoryOptions`] (the clock is passed in).
//! Output: attempts and records. Must not: read files or the clock, or judge anything the run
//! did not judge — a stage's outcome, recovery and metrics are taken from its `stage-finished`
//! verdict as written.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::record::{Outcome, RunOutcome, RunRecord, StageRecord};

/// How long a passing run keeps a class verified when not told otherwise.
pub const DEFAULT_VALIDITY_DAYS: i64 = 30;

/// A recovery at least this many times the median of the earlier passes is a regression. 1.5
/// leaves room for the ordinary run-to-run spread of a recovery measured at the guard's poll
/// interval, while still catching a recovery that got half as fast again.
pub const DEFAULT_RECOVERY_FACTOR: f64 = 1.5;

/// How to read the history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryOptions {
    /// "Now": ages and validity are measured from here.
    pub now: DateTime<Utc>,
    /// Ignore runs that started before this.
    pub since: Option<DateTime<Utc>>,
    /// Only these services (all when empty).
    pub services: Vec<String>,
    /// How long a passing run keeps a class verified.
    pub validity: Duration,
    /// Recovery regression threshold, as a multiple of the median of earlier passes.
    pub recovery_factor: f64,
}

impl HistoryOptions {
    /// The defaults: every service, every run, 30-day validity, factor 1.5.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now,
            since: None,
            services: Vec::new(),
            validity: Duration::days(DEFAULT_VALIDITY_DAYS),
            recovery_factor: DEFAULT_RECOVERY_FACTOR,
        }
    }
}

/// What one run concluded about one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every planned stage passed.
    Passed,
    /// A hypothesis did not hold (or recovery was too slow), without an abort.
    Failed,
    /// A stage was stopped early (guard, stop condition, timeout, signal), or the run died and
    /// `recover` closed it before the scenario was over.
    Aborted,
}

impl Verdict {
    /// A lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
        }
    }
}

/// A metric's worst value during a fault, against its abort bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricVsBound {
    /// Metric.
    pub metric: String,
    /// The worst value during the fault.
    pub worst: f64,
    /// The bound it is compared with.
    pub bound: f64,
    /// `above` (abort above the bound) or `below`.
    pub side: String,
    /// How close to (≤ 1) or past (> 1) the bound: `worst / bound` for an upper bound,
    /// `bound / worst` for a lower one.
    pub ratio: f64,
    /// Run.
    pub run_id: String,
    /// Stage.
    pub stage: String,
}

/// One stage of one attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageResult {
    /// Stage name.
    pub stage: String,
    /// Selection mode (`COUNT(1)`, `PERCENT(25)`).
    pub selection: String,
    /// Outcome as judged by the run.
    pub outcome: Outcome,
    /// Seconds until every metric was back inside its bounds.
    pub recovery_secs: Option<u64>,
    /// The worst metric of the stage against its bound.
    pub worst: Option<MetricVsBound>,
    /// Why it failed or was aborted.
    pub cause: Option<String>,
}

/// One scenario as one run exercised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Run id.
    pub run_id: String,
    /// When the scenario started.
    pub at: DateTime<Utc>,
    /// When the run ended: the attempt counts from then on.
    pub ended_at: DateTime<Utc>,
    /// Service.
    pub service: String,
    /// Fault class.
    pub class: String,
    /// Scenario name.
    pub scenario: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Stages judged (or cut short), in order.
    pub stages: Vec<StageResult>,
    /// Why the attempt did not pass.
    pub cause: Option<String>,
}

impl Attempt {
    /// The last stage that passed, in stage order.
    pub fn highest_passed(&self) -> Option<&StageResult> {
        self.stages
            .iter()
            .rev()
            .find(|s| s.outcome == Outcome::Passed)
    }
}

fn abort_label(r: crate::shutdown::AbortReason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_else(|| format!("{r:?}"))
}

fn worst_of(run_id: &str, st: &StageRecord) -> Option<MetricVsBound> {
    let (_, finished) = st.finished.as_ref()?;
    finished
        .verdict
        .metrics
        .iter()
        .filter_map(|m| {
            let worst = m.worst.filter(|w| w.is_finite())?;
            let (bound, side, ratio) = match (m.upper, m.lower) {
                (Some(u), _) if u > 0.0 => (u, "above", worst / u),
                (_, Some(l)) if worst > 0.0 && l > 0.0 => (l, "below", l / worst),
                _ => return None,
            };
            Some(MetricVsBound {
                metric: m.metric.clone(),
                worst,
                bound,
                side: side.to_owned(),
                ratio,
                run_id: run_id.to_owned(),
                stage: st.name.clone(),
            })
        })
        .max_by(|a, b| a.ratio.total_cmp(&b.ratio))
}

/// The attempts of one run: one per scenario that began and got at least one stage judged (or
/// cut short by an abort or a crash). Preflight-only, dry and still-open runs have none.
pub fn attempts_of(run: &RunRecord) -> Vec<Attempt> {
    let Some(outcome) = run.outcome() else {
        return Vec::new();
    };
    let interrupted = outcome == RunOutcome::Interrupted;
    let run_id = &run.start.run_id;
    let mut out = Vec::new();
    for sc in &run.scenarios {
        let Some(plan) = run
            .start
            .gameday
            .scenarios
            .iter()
            .find(|s| s.name == sc.name)
        else {
            continue;
        };
        let mut stages = Vec::new();
        for st in &sc.stages {
            let selection = st
                .intent
                .as_ref()
                .map(|i| i.selection.clone())
                .or_else(|| {
                    plan.stages
                        .iter()
                        .find(|p| p.name == st.name)
                        .map(|p| p.selection.to_string())
                })
                .unwrap_or_default();
            let abort = st
                .abort
                .as_ref()
                .map(|(_, a)| format!("{}: {}", abort_label(a.reason), a.detail));
            let (outcome, recovery_secs, cause) = match &st.finished {
                Some((_, f)) => {
                    let cause = match f.verdict.outcome {
                        Outcome::Passed | Outcome::NotRun => None,
                        Outcome::Aborted => abort.clone().or_else(|| first(&f.verdict.reasons)),
                        Outcome::Failed => first(&f.verdict.reasons).or_else(|| abort.clone()),
                    };
                    (f.verdict.outcome, f.verdict.recovery_secs, cause)
                }
                // Begun, never finished: the run died in the middle of it.
                None if interrupted && st.intent.is_some() => (
                    Outcome::Aborted,
                    None,
                    Some(abort.unwrap_or_else(|| {
                        run.interrupted.as_ref().map_or_else(
                            || "run interrupted".to_owned(),
                            |(_, i)| format!("run interrupted: {}", i.detail),
                        )
                    })),
                ),
                None => continue,
            };
            if outcome == Outcome::NotRun {
                continue;
            }
            stages.push(StageResult {
                stage: st.name.clone(),
                selection,
                outcome,
                recovery_secs,
                worst: worst_of(run_id, st),
                cause,
            });
        }
        if stages.is_empty() {
            continue;
        }
        let all_passed = stages.iter().all(|s| s.outcome == Outcome::Passed)
            && stages.len() >= plan.stages.len();
        let (verdict, cause) =
            if let Some(s) = stages.iter().find(|s| s.outcome == Outcome::Aborted) {
                (Verdict::Aborted, s.cause.clone())
            } else if let Some(s) = stages.iter().find(|s| s.outcome == Outcome::Failed) {
                (Verdict::Failed, s.cause.clone())
            } else if all_passed {
                (Verdict::Passed, None)
            } else {
                // Every judged stage passed but the run ended before the rest: a crash or a stop.
                (
                    Verdict::Aborted,
                    Some(if interrupted {
                        "run interrupted before the remaining stages".to_owned()
                    } else {
                        format!(
                            "run ended ({}) before the remaining stages",
                            outcome.as_str()
                        )
                    }),
                )
            };
        out.push(Attempt {
            run_id: run_id.clone(),
            at: sc.started.unwrap_or(run.started_at),
            ended_at: run.ended_at(),
            service: plan.service.clone(),
            class: plan.fault_class.clone(),
            scenario: sc.name.clone(),
            verdict,
            stages,
            cause,
        });
    }
    out
}

fn first(reasons: &[String]) -> Option<String> {
    reasons.first().cloned()
}

/// One kind of regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegressionKind {
    /// A stage passed before and fails (or is aborted) in the latest run.
    StageFailed,
    /// The latest recovery is at least the factor times the median of earlier passes.
    SlowerRecovery,
    /// Verified before, but not exercised within its validity.
    Stale,
}

/// A regression flag, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// Which kind.
    pub kind: RegressionKind,
    /// The stage concerned (none for a stale class).
    pub stage: Option<String>,
    /// The run that shows it (the latest run; none for a stale class).
    pub run_id: Option<String>,
    /// The evidence, in a sentence.
    pub evidence: String,
}

/// A recovery time measured by one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    /// Run.
    pub run_id: String,
    /// When the scenario started.
    pub at: DateTime<Utc>,
    /// Seconds.
    pub secs: u64,
}

/// One stage of a class across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSummary {
    /// Stage name.
    pub stage: String,
    /// Selection mode.
    pub selection: String,
    /// Its outcome in the latest run that reached it.
    pub last_outcome: Outcome,
    /// Runs where it passed.
    pub passed: usize,
    /// Runs where it failed.
    pub failed: usize,
    /// Runs where it was aborted.
    pub aborted: usize,
    /// Recovery times, oldest first.
    pub recovery: Vec<RecoveryPoint>,
}

/// An abort (or a cut-short attempt) and its cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortSeen {
    /// Run.
    pub run_id: String,
    /// When the scenario started.
    pub at: DateTime<Utc>,
    /// The stage cut short.
    pub stage: Option<String>,
    /// Why.
    pub cause: String,
}

/// One service × fault class across every run read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassRecord {
    /// Service.
    pub service: String,
    /// Fault class.
    pub class: String,
    /// Runs that exercised it.
    pub runs: usize,
    /// The latest of them.
    pub last_run_id: String,
    /// When it started.
    pub last_run: DateTime<Utc>,
    /// Its verdict.
    pub last_verdict: Verdict,
    /// The highest stage that passed in the latest run.
    pub highest_stage_passed: Option<String>,
    /// When a run last passed every stage.
    pub last_passed: Option<DateTime<Utc>>,
    /// Whether a run passed it within its validity and nothing failed since.
    pub verified: bool,
    /// Per stage.
    pub stages: Vec<StageSummary>,
    /// The worst metric against its bound over all runs read.
    pub worst_metric: Option<MetricVsBound>,
    /// Aborts and their causes, oldest first.
    pub aborts: Vec<AbortSeen>,
    /// Regression flags, with evidence.
    pub regressions: Vec<Regression>,
}

impl ClassRecord {
    /// Whether it needs attention first: the latest run did not pass, or a regression is flagged
    /// other than staleness.
    pub fn needs_attention(&self) -> bool {
        self.last_verdict != Verdict::Passed
            || self
                .regressions
                .iter()
                .any(|r| r.kind != RegressionKind::Stale)
    }
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn median(values: &mut [u64]) -> Option<f64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        n if n % 2 == 1 => Some(values[n / 2] as f64),
        n => Some((values[n / 2 - 1] + values[n / 2]) as f64 / 2.0),
    }
}

/// Folds the attempts of one service × class (oldest first) into its record.
///
/// # Panics
/// Never: an empty slice gives `None`.
pub(crate) fn class_record(attempts: &[&Attempt], opts: &HistoryOptions) -> Option<ClassRecord> {
    let last = *attempts.last()?;
    let earlier = &attempts[..attempts.len() - 1];
    let mut stages: Vec<StageSummary> = Vec::new();
    let mut aborts = Vec::new();
    let mut worst: Option<MetricVsBound> = None;
    for a in attempts {
        for s in &a.stages {
            let i = match stages.iter().position(|x| x.stage == s.stage) {
                Some(i) => i,
                None => {
                    stages.push(StageSummary {
                        stage: s.stage.clone(),
                        selection: s.selection.clone(),
                        last_outcome: s.outcome,
                        passed: 0,
                        failed: 0,
                        aborted: 0,
                        recovery: Vec::new(),
                    });
                    stages.len() - 1
                }
            };
            let sum = &mut stages[i];
            sum.last_outcome = s.outcome;
            sum.selection.clone_from(&s.selection);
            match s.outcome {
                Outcome::Passed => sum.passed += 1,
                Outcome::Failed => sum.failed += 1,
                Outcome::Aborted => sum.aborted += 1,
                Outcome::NotRun => {}
            }
            if let Some(secs) = s.recovery_secs {
                sum.recovery.push(RecoveryPoint {
                    run_id: a.run_id.clone(),
                    at: a.at,
                    secs,
                });
            }
            if let Some(w) = &s.worst
                && worst.as_ref().is_none_or(|x| w.ratio > x.ratio)
            {
                worst = Some(w.clone());
            }
        }
        if a.verdict == Verdict::Aborted {
            aborts.push(AbortSeen {
                run_id: a.run_id.clone(),
                at: a.at,
                stage: a
                    .stages
                    .iter()
                    .find(|s| s.outcome == Outcome::Aborted)
                    .map(|s| s.stage.clone()),
                cause: a.cause.clone().unwrap_or_else(|| "unknown".to_owned()),
            });
        }
    }
    let last_passed = attempts
        .iter()
        .rev()
        .find(|a| a.verdict == Verdict::Passed)
        .map(|a| a.at);
    let fresh = |t: DateTime<Utc>| opts.now - t <= opts.validity;

    let mut regressions = Vec::new();
    for s in &last.stages {
        if s.outcome == Outcome::Passed {
            continue;
        }
        let passed_before = earlier.iter().rev().find(|a| {
            a.stages
                .iter()
                .any(|x| x.stage == s.stage && x.outcome == Outcome::Passed)
        });
        if let Some(before) = passed_before {
            regressions.push(Regression {
                kind: RegressionKind::StageFailed,
                stage: Some(s.stage.clone()),
                run_id: Some(last.run_id.clone()),
                evidence: format!(
                    "{} passed in run {} ({}) and {} in run {} ({}){}",
                    s.stage,
                    before.run_id,
                    day(before.at),
                    s.outcome.as_str(),
                    last.run_id,
                    day(last.at),
                    s.cause
                        .as_ref()
                        .map(|c| format!(": {c}"))
                        .unwrap_or_default()
                ),
            });
        }
    }
    for s in &last.stages {
        let Some(now_secs) = s.recovery_secs else {
            continue;
        };
        let mut before: Vec<u64> = earlier
            .iter()
            .flat_map(|a| a.stages.iter())
            .filter(|x| x.stage == s.stage && x.outcome == Outcome::Passed)
            .filter_map(|x| x.recovery_secs)
            .collect();
        let n = before.len();
        let Some(med) = median(&mut before) else {
            continue;
        };
        // A zero median (metrics never left their bounds) makes every ratio infinite: only a
        // recovery of at least one guard poll is worth a flag then, so compare with 1 s.
        let reference = med.max(1.0);
        if now_secs as f64 >= opts.recovery_factor * reference {
            regressions.push(Regression {
                kind: RegressionKind::SlowerRecovery,
                stage: Some(s.stage.clone()),
                run_id: Some(last.run_id.clone()),
                evidence: format!(
                    "{} recovered in {now_secs} s in run {} ({}), {:.1}× the median {med} s of {n} earlier pass{}",
                    s.stage,
                    last.run_id,
                    day(last.at),
                    now_secs as f64 / reference,
                    if n == 1 { "" } else { "es" }
                ),
            });
        }
    }
    if let Some(passed) = last_passed
        && !fresh(last.at)
    {
        regressions.push(Regression {
            kind: RegressionKind::Stale,
            stage: None,
            run_id: None,
            evidence: format!(
                "last passed {} and last run {} ({} days ago); validity is {} days",
                day(passed),
                day(last.at),
                (opts.now - last.at).num_days(),
                opts.validity.num_days()
            ),
        });
    }
    Some(ClassRecord {
        service: last.service.clone(),
        class: last.class.clone(),
        runs: attempts.len(),
        last_run_id: last.run_id.clone(),
        last_run: last.at,
        last_verdict: last.verdict,
        highest_stage_passed: last.highest_passed().map(|s| s.stage.clone()),
        last_passed,
        verified: last.verdict == Verdict::Passed && fresh(last.at),
        stages,
        worst_metric: worst,
        aborts,
        regressions,
    })
}

/// Every attempt of every finished run, oldest first, filtered by `opts` (runs started before
/// `since` or after `now`, and services not asked for, are left out).
pub(crate) fn all_attempts(runs: &[RunRecord], opts: &HistoryOptions) -> Vec<Attempt> {
    let mut out: Vec<Attempt> = runs
        .iter()
        .filter(|r| opts.since.is_none_or(|s| r.started_at >= s) && r.ended_at() <= opts.now)
        .flat_map(attempts_of)
        .filter(|a| opts.services.is_empty() || opts.services.contains(&a.service))
        .collect();
    out.sort_by(|a, b| (a.at, &a.run_id, &a.scenario).cmp(&(b.at, &b.run_id, &b.scenario)));
    out
}

/// The records of every service × class, sorted by service then class.
pub(crate) fn class_records(attempts: &[Attempt], opts: &HistoryOptions) -> Vec<ClassRecord> {
    let mut by_key: BTreeMap<(&str, &str), Vec<&Attempt>> = BTreeMap::new();
    for a in attempts.iter().filter(|a| a.ended_at <= opts.now) {
        by_key
            .entry((a.service.as_str(), a.class.as_str()))
            .or_default()
            .push(a);
    }
    by_key
        .values()
        .filter_map(|v| class_record(v, opts))
        .collect()
}
