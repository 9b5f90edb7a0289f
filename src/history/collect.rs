//! The entry point: every run read → the [`History`] (records, regressions, scores and their
//! trend), and the views other commands take from it: [`since_last_time`] for a post-mortem and
//! [`standings`] for `mine` and `plan`.
//!
//! Input: [`Loaded`] runs (from [`super::read`]), mined classes and [`HistoryOptions`]. Output:
//! [`History`]. Pure; must not read files or the clock.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fold::{
    Attempt, ClassRecord, HistoryOptions, Regression, RegressionKind, Verdict, all_attempts,
    class_records,
};
use super::read::{Loaded, ScheduledRun, SkippedJournal};
use super::score::{MinedClass, SCORE_FORMULA, ServiceScore, score_service};
use crate::model::record::RunRecord;

/// Version of `history --format json`; bump on any incompatible change.
pub const HISTORY_SCHEMA_VERSION: u32 = 1;

/// A run that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSeen {
    /// Run id.
    pub run_id: String,
    /// GameDay name.
    pub gameday: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Outcome label.
    pub outcome: String,
    /// Scenarios it exercised.
    pub scenarios: usize,
}

/// A service's score after one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorePoint {
    /// Service.
    pub service: String,
    /// The run after which it was computed.
    pub run_id: String,
    /// When that run ended.
    pub at: DateTime<Utc>,
    /// Score.
    pub score: f64,
}

/// Everything `gameday history` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Format version.
    pub schema_version: u32,
    /// "Now".
    pub generated_at: DateTime<Utc>,
    /// Runs before this were left out.
    pub since: Option<DateTime<Utc>>,
    /// Validity of a pass, days.
    pub validity_days: i64,
    /// Recovery regression factor.
    pub recovery_factor: f64,
    /// The score formula.
    pub score_formula: String,
    /// Runs read, oldest first.
    pub runs: Vec<RunSeen>,
    /// Journals left out, and why.
    pub skipped: Vec<SkippedJournal>,
    /// Scheduled runs that left no journal (failed before the run began).
    pub scheduled_without_journal: Vec<ScheduledRun>,
    /// One per service × class.
    pub records: Vec<ClassRecord>,
    /// One per service.
    pub scores: Vec<ServiceScore>,
    /// Each service's score after each run that exercised it, oldest first.
    pub trend: Vec<ScorePoint>,
}

impl History {
    /// Every regression flag with its service and class.
    pub fn regressions(&self) -> impl Iterator<Item = (&ClassRecord, &Regression)> {
        self.records
            .iter()
            .flat_map(|r| r.regressions.iter().map(move |g| (r, g)))
    }
}

/// The mined classes the runs' scenario files name (planned or skipped), with the priority
/// the plan recorded (the latest run wins).
pub fn mined_from_runs(runs: &[RunRecord]) -> Vec<MinedClass> {
    let mut by_class: BTreeMap<String, (Option<f64>, BTreeSet<String>)> = BTreeMap::new();
    let mut sorted: Vec<&RunRecord> = runs.iter().collect();
    sorted.sort_by_key(|r| r.started_at);
    for run in sorted {
        for s in &run.start.gameday.scenarios {
            let e = by_class.entry(s.fault_class.clone()).or_default();
            e.1.insert(s.service.clone());
            if s.why.priority.is_some() {
                e.0 = s.why.priority;
            }
        }
        for s in &run.start.gameday.skipped {
            by_class
                .entry(s.fault_class.clone())
                .or_default()
                .1
                .insert(s.service.clone());
        }
    }
    by_class
        .into_iter()
        .map(|(class, (priority, services))| MinedClass {
            class,
            priority,
            services: services.into_iter().collect(),
        })
        .collect()
}

/// Merges two lists of mined classes; `first` wins on priority, services are united.
pub fn merge_mined(first: &[MinedClass], second: &[MinedClass]) -> Vec<MinedClass> {
    let mut out: Vec<MinedClass> = first.to_vec();
    for m in second {
        match out.iter_mut().find(|o| o.class == m.class) {
            Some(o) => {
                for s in &m.services {
                    if !o.services.contains(s) {
                        o.services.push(s.clone());
                    }
                }
                o.services.sort();
                o.priority = o.priority.or(m.priority);
            }
            None => out.push(m.clone()),
        }
    }
    out
}

/// Services scored: every service a run exercised, and every service asked for (a service
/// asked for but never run scores what its mined classes give it: zero).
fn services_of(records: &[ClassRecord], opts: &HistoryOptions) -> Vec<String> {
    let mut s: BTreeSet<String> = records.iter().map(|r| r.service.clone()).collect();
    s.extend(opts.services.iter().cloned());
    s.into_iter().collect()
}

/// Builds the history.
pub fn history(loaded: &Loaded, mined: &[MinedClass], opts: &HistoryOptions) -> History {
    let mined = merge_mined(mined, &mined_from_runs(&loaded.runs));
    let attempts = all_attempts(&loaded.runs, opts);
    let records = class_records(&attempts, opts);
    let scores = services_of(&records, opts)
        .iter()
        .map(|s| score_service(s, &records, &mined, opts))
        .collect();
    let mut runs: Vec<RunSeen> = loaded
        .runs
        .iter()
        .filter(|r| opts.since.is_none_or(|s| r.started_at >= s) && r.ended_at() <= opts.now)
        .map(|r| RunSeen {
            run_id: r.start.run_id.clone(),
            gameday: r.start.gameday.name.clone(),
            started_at: r.started_at,
            outcome: r.outcome().map_or("open", |o| o.as_str()).to_owned(),
            scenarios: attempts
                .iter()
                .filter(|a| a.run_id == r.start.run_id)
                .count(),
        })
        .collect();
    runs.sort_by(|a, b| (a.started_at, &a.run_id).cmp(&(b.started_at, &b.run_id)));
    History {
        schema_version: HISTORY_SCHEMA_VERSION,
        generated_at: opts.now,
        since: opts.since,
        validity_days: opts.validity.num_days(),
        recovery_factor: opts.recovery_factor,
        score_formula: SCORE_FORMULA.to_owned(),
        runs,
        skipped: loaded.skipped.clone(),
        scheduled_without_journal: loaded.scheduled_without_journal.clone(),
        trend: trend(&attempts, &mined, opts),
        records,
        scores,
    }
}

/// Each service's score after every run that exercised it.
fn trend(attempts: &[Attempt], mined: &[MinedClass], opts: &HistoryOptions) -> Vec<ScorePoint> {
    let mut ends: Vec<(DateTime<Utc>, &str)> = attempts
        .iter()
        .map(|a| (a.ended_at, a.run_id.as_str()))
        .collect();
    ends.sort_unstable();
    ends.dedup();
    let mut out = Vec::new();
    for (at, run_id) in ends {
        let at_opts = HistoryOptions {
            now: at,
            ..opts.clone()
        };
        let upto: Vec<Attempt> = attempts
            .iter()
            .filter(|a| a.ended_at <= at)
            .cloned()
            .collect();
        let records = class_records(&upto, &at_opts);
        let services: BTreeSet<&str> = attempts
            .iter()
            .filter(|a| a.run_id == run_id)
            .map(|a| a.service.as_str())
            .collect();
        for service in services {
            out.push(ScorePoint {
                service: service.to_owned(),
                run_id: run_id.to_owned(),
                at,
                score: score_service(service, &records, mined, &at_opts).score,
            });
        }
    }
    out
}

/// A service's score before and after a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreChange {
    /// Service.
    pub service: String,
    /// Before the run (at its start, from the runs before it).
    pub before: f64,
    /// After it.
    pub after: f64,
    /// `after − before`.
    pub change: f64,
}

/// A class this run verified that was not verified before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassRef {
    /// Service.
    pub service: String,
    /// Fault class.
    pub class: String,
}

/// A regression this run shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionSeen {
    /// Service.
    pub service: String,
    /// Fault class.
    pub class: String,
    /// The flag.
    pub regression: Regression,
}

/// What changed since the runs before this one: a post-mortem's "Since last time".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinceLastTime {
    /// The latest earlier run that exercised one of this run's services.
    pub previous_run_id: String,
    /// When it started.
    pub previous_at: DateTime<Utc>,
    /// Earlier runs of these services.
    pub earlier_runs: usize,
    /// Score per service this run exercised.
    pub scores: Vec<ScoreChange>,
    /// Regressions this run shows.
    pub regressions: Vec<RegressionSeen>,
    /// Classes verified by this run that were not verified before it.
    pub newly_verified: Vec<ClassRef>,
}

/// "Since last time" for `run_id`, from the runs in `runs` (which may include later ones: they
/// are ignored). `None` when the run is not among them, exercised nothing, or no earlier run
/// exercised any of its services.
pub fn since_last_time(
    runs: &[RunRecord],
    run_id: &str,
    mined: &[MinedClass],
    validity: chrono::Duration,
    recovery_factor: f64,
) -> Option<SinceLastTime> {
    let this = runs.iter().find(|r| r.start.run_id == run_id)?;
    let end = this.ended_at();
    let mined = merge_mined(mined, &mined_from_runs(runs));
    let mut after_opts = HistoryOptions::new(end);
    after_opts.validity = validity;
    after_opts.recovery_factor = recovery_factor;
    let mut before_opts = after_opts.clone();
    before_opts.now = this.started_at;

    let mine: Vec<Attempt> = super::fold::attempts_of(this);
    let services: BTreeSet<String> = mine.iter().map(|a| a.service.clone()).collect();
    if services.is_empty() {
        return None;
    }
    let earlier_runs: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.start.run_id != run_id && r.ended_at() <= this.started_at)
        .collect();
    let earlier: Vec<Attempt> = earlier_runs
        .iter()
        .flat_map(|r| super::fold::attempts_of(r))
        .filter(|a| services.contains(&a.service))
        .collect();
    let previous = earlier.iter().max_by_key(|a| (a.at, a.run_id.clone()))?;
    let mut all = earlier.clone();
    all.extend(mine.iter().cloned());
    all.sort_by(|a, b| (a.at, &a.run_id, &a.scenario).cmp(&(b.at, &b.run_id, &b.scenario)));
    let mut sorted_earlier = earlier.clone();
    sorted_earlier
        .sort_by(|a, b| (a.at, &a.run_id, &a.scenario).cmp(&(b.at, &b.run_id, &b.scenario)));

    let before = class_records(&sorted_earlier, &before_opts);
    let after = class_records(&all, &after_opts);
    let scores = services
        .iter()
        .map(|s| {
            let b = score_service(s, &before, &mined, &before_opts).score;
            let a = score_service(s, &after, &mined, &after_opts).score;
            ScoreChange {
                service: s.clone(),
                before: b,
                after: a,
                change: ((a - b) * 10.0).round() / 10.0,
            }
        })
        .collect();
    let regressions = after
        .iter()
        .filter(|r| services.contains(&r.service))
        .flat_map(|r| {
            r.regressions
                .iter()
                .filter(|g| g.run_id.as_deref() == Some(run_id))
                .map(|g| RegressionSeen {
                    service: r.service.clone(),
                    class: r.class.clone(),
                    regression: g.clone(),
                })
        })
        .collect();
    let newly_verified = after
        .iter()
        .filter(|r| r.verified && r.last_run_id == run_id)
        .filter(|r| {
            !before
                .iter()
                .any(|b| b.service == r.service && b.class == r.class && b.verified)
        })
        .map(|r| ClassRef {
            service: r.service.clone(),
            class: r.class.clone(),
        })
        .collect();
    Some(SinceLastTime {
        previous_run_id: previous.run_id.clone(),
        previous_at: previous.at,
        earlier_runs: earlier_runs.len(),
        scores,
        regressions,
        newly_verified,
    })
}

/// Where a class stands for planning: what `mine` and `plan` rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// The latest run failed or was aborted, or a regression is flagged: first.
    Attention,
    /// Never passed, or its pass is older than the validity.
    Unverified,
    /// A run passed it within its validity.
    Verified,
}

/// One service × class as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassStanding {
    /// Service.
    pub service: String,
    /// Fault class.
    pub class: String,
    /// Standing.
    pub standing: Standing,
    /// The latest verdict.
    pub verdict: Verdict,
    /// The latest run.
    pub run_id: String,
    /// When it started.
    pub at: DateTime<Utc>,
    /// The last verdict in a phrase: `failed 2026-11-20 (run r3): percent-10 …`.
    pub summary: String,
}

/// The standing of every service × class with a record.
pub fn standings(history: &History) -> Vec<ClassStanding> {
    history
        .records
        .iter()
        .map(|r| {
            let standing = if r.needs_attention() {
                Standing::Attention
            } else if r.verified {
                Standing::Verified
            } else {
                Standing::Unverified
            };
            let detail = r
                .regressions
                .iter()
                .find(|g| g.kind != RegressionKind::Stale || standing != Standing::Attention)
                .map(|g| format!(": {}", g.evidence))
                .or_else(|| {
                    r.aborts
                        .iter()
                        .rev()
                        .find(|a| a.run_id == r.last_run_id)
                        .map(|a| format!(": {}", a.cause))
                })
                .unwrap_or_default();
            ClassStanding {
                service: r.service.clone(),
                class: r.class.clone(),
                standing,
                verdict: r.last_verdict,
                run_id: r.last_run_id.clone(),
                at: r.last_run,
                summary: format!(
                    "{} {} (run {}){}",
                    r.last_verdict.as_str(),
                    r.last_run.format("%Y-%m-%d"),
                    r.last_run_id,
                    detail
                ),
            }
        })
        .collect()
}

/// Closes the loop on a catalogue (`gameday mine`): a class is verified only when a GameDay run
/// passed it within its validity (an FIS action seen ending in the logs no longer counts), each
/// class gets its last verdict, and the classes are ranked failed or regressed first, then
/// unverified, then verified — by the catalogue's order within each group.
pub fn apply_standings(catalogue: &mut crate::mine::Catalogue, standings: &[ClassStanding]) {
    for c in &mut catalogue.classes {
        let mine: Vec<&ClassStanding> = standings.iter().filter(|s| s.class == c.class).collect();
        c.verified = mine.iter().any(|s| s.standing == Standing::Verified)
            && !mine.iter().any(|s| s.standing == Standing::Attention);
        c.last_verdict = mine
            .iter()
            .max_by_key(|s| (s.at, s.service.clone()))
            .map(|s| format!("{}: {}", s.service, s.summary));
    }
    let group = |c: &crate::mine::ClassSummary| {
        let attention = standings
            .iter()
            .any(|s| s.class == c.class && s.standing == Standing::Attention);
        if attention {
            0
        } else if c.verified {
            2
        } else {
            1
        }
    };
    let mut keyed: Vec<(u8, u32, crate::mine::ClassSummary)> = catalogue
        .classes
        .drain(..)
        .map(|c| (group(&c), c.rank, c))
        .collect();
    keyed.sort_by_key(|(g, rank, _)| (*g, *rank));
    catalogue.classes = keyed
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, mut c))| {
            c.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
            c
        })
        .collect();
}

/// A service's score after a run, and its change since the runs before (none for a first run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreAfter {
    /// Service.
    pub service: String,
    /// Score after the run.
    pub score: f64,
    /// Change since before the run; `None` when no earlier run exercised the service.
    pub change: Option<f64>,
}

/// What a run's report shows of the history: the scores after it, and "Since last time".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHistory {
    /// Score per service the run exercised.
    pub scores: Vec<ScoreAfter>,
    /// The comparison with the earlier runs, when there are any.
    pub since_last_time: Option<SinceLastTime>,
}

/// The history as a run's report shows it; `None` when the run is not among `runs` or
/// exercised nothing (a dry or preflight-failed run).
pub fn run_history(
    runs: &[RunRecord],
    run_id: &str,
    mined: &[MinedClass],
    validity: chrono::Duration,
    recovery_factor: f64,
) -> Option<RunHistory> {
    let this = runs.iter().find(|r| r.start.run_id == run_id)?;
    if let Some(since) = since_last_time(runs, run_id, mined, validity, recovery_factor) {
        return Some(RunHistory {
            scores: since
                .scores
                .iter()
                .map(|s| ScoreAfter {
                    service: s.service.clone(),
                    score: s.after,
                    change: Some(s.change),
                })
                .collect(),
            since_last_time: Some(since),
        });
    }
    let services: BTreeSet<String> = super::fold::attempts_of(this)
        .into_iter()
        .map(|a| a.service)
        .collect();
    if services.is_empty() {
        return None;
    }
    let mut opts = HistoryOptions::new(this.ended_at());
    opts.validity = validity;
    opts.recovery_factor = recovery_factor;
    opts.services = services.into_iter().collect();
    let loaded = Loaded {
        runs: runs
            .iter()
            .filter(|r| r.ended_at() <= this.ended_at())
            .cloned()
            .collect(),
        ..Loaded::default()
    };
    let h = history(&loaded, mined, &opts);
    Some(RunHistory {
        scores: h
            .scores
            .into_iter()
            .map(|s| ScoreAfter {
                service: s.service,
                score: s.score,
                change: None,
            })
            .collect(),
        since_last_time: None,
    })
}
