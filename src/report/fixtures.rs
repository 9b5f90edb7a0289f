//! Journals of realistic runs, built from the typed payloads `gameday run` writes, for the
//! report tests and the benchmark's shape: all stages passed, aborted by the guard, interrupted,
//! preflight failed.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use serde::Serialize;

use crate::model::record::*;
use crate::model::record::{Entry, RUN_FINISHED, RUN_INTERRUPTED, RUN_STARTED};
use crate::plan::scenario::GameDayScenario;
use crate::provider::ActionView;
use crate::shutdown::AbortReason;

/// Builds a journal entry by entry, with times relative to the run's start.
pub(crate) struct JournalBuilder {
    pub(crate) start: DateTime<Utc>,
    pub(crate) entries: Vec<Entry>,
}

pub(crate) fn gameday() -> GameDayScenario {
    yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
        .expect("example scenario parses")
}

/// The scenario and its two guarded metrics.
pub(crate) const SCENARIO: &str = "checkout-network-latency";
const ERROR_RATE: &str = "error_rate";
const P99: &str = "p99_latency_s";
const ALARM_ERRORS: &str = "gameday-checkout-error_rate";
const ALARM_P99: &str = "gameday-checkout-p99_latency_s";

/// A deterministic wobble in [-1, 1].
fn wobble(i: usize, salt: f64) -> f64 {
    ((i as f64) * 1.7 + salt).sin()
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// How a stage goes.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum StagePlan {
    /// Metrics move a little, stay inside.
    Pass { p99_shift: f64 },
    /// error_rate crosses its bound after `after` fault samples; the guard aborts.
    GuardAbort { after: usize },
    /// The process dies `after` fault samples in.
    Crash { after: usize },
}

impl JournalBuilder {
    pub(crate) fn new(gameday: GameDayScenario, trigger: Trigger) -> Self {
        let start = Utc
            .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
            .single()
            .expect("valid");
        let mut b = Self {
            start,
            entries: Vec::new(),
        };
        let base = example_started("20261124-100000-checkout-example", gameday, trigger);
        b.push(
            0,
            RUN_STARTED,
            &RunStarted {
                settings: RunSettings {
                    recovery_targets_secs: BTreeMap::from([("checkout".to_owned(), 120)]),
                    guard_period_secs: Some(60),
                    baseline_window_secs: Some(1800),
                    ..base.settings
                },
                account_id: Some("123456789012".into()),
                region: Some("eu-west-1".into()),
                ..base
            },
        );
        b
    }

    pub(crate) fn push(&mut self, secs: i64, kind: &str, data: &impl Serialize) {
        self.entries.push(Entry {
            seq: self.entries.len() as u64,
            at: self.start + Duration::seconds(secs),
            kind: kind.to_owned(),
            data: serde_json::to_value(data).expect("payload serialises"),
        });
    }

    pub(crate) fn record(&self) -> RunRecord {
        RunRecord::from_entries(&self.entries).expect("fixture journal folds")
    }

    pub(crate) fn preflight_ok(&mut self, scenario: &str) {
        for (i, (check, detail)) in [
            (
                "credentials",
                "arn:aws:sts::123456789012:assumed-role/gameday-runner/alice",
            ),
            ("alarm-exists", "2 stop alarms exist"),
            ("alarm-state", "every stop alarm is OK"),
            (
                "targets",
                "8 pods match chaos-experiment=checkout in staging-eks/shop",
            ),
            (
                "k8s-pdb",
                "PodDisruptionBudget checkout-pdb allows 2 disruptions",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let scoped = matches!(check, "targets" | "k8s-pdb");
            self.push(
                1 + i as i64,
                kind::PREFLIGHT_CHECK,
                &PreflightCheck {
                    scenario: scoped.then(|| scenario.to_owned()),
                    stage: (check == "targets").then(|| "count-1".to_owned()),
                    check: check.into(),
                    ok: true,
                    detail: detail.into(),
                    fix: None,
                },
            );
        }
        self.push(
            6,
            kind::PREFLIGHT_FINISHED,
            &PreflightFinished {
                ok: true,
                failed: 0,
            },
        );
    }

    /// One stage, starting `t0` seconds after the run start; returns the seconds it ended at.
    #[expect(clippy::too_many_lines, reason = "one stage of a journal, in order")]
    pub(crate) fn stage(
        &mut self,
        scenario: &str,
        stage_no: usize,
        stage: &str,
        selection: &str,
        t0: i64,
        plan: StagePlan,
    ) -> i64 {
        let (sc, st) = (scenario.to_owned(), stage.to_owned());
        let template_id = format!("EXT{}a1b2c3d4e5f6{stage_no}", &scenario[..3].to_uppercase());
        let experiment_id = format!("EXP1a2b3c4d5e6f7a8b{stage_no}{}", scenario.len() % 10);
        let epoch0 = self.start.timestamp();
        let ts = move |s: i64| epoch0 + s;
        self.push(
            t0,
            kind::TEMPLATE_READY,
            &TemplateReady {
                scenario: sc.clone(),
                stage: st.clone(),
                template_id: template_id.clone(),
                change: "unchanged".into(),
            },
        );
        // Baseline: 5 minutes at the guard interval.
        let base = |i: usize| (0.20 + 0.03 * wobble(i, 0.3), 0.34 + 0.02 * wobble(i, 1.1));
        let series = |f: &dyn Fn(usize) -> f64| -> Series {
            (0..30)
                .map(|i| (ts(t0 - 300 + 10 * i as i64), f(i)))
                .collect()
        };
        self.push(
            t0 + 1,
            kind::BASELINE,
            &Baseline {
                scenario: sc.clone(),
                stage: st.clone(),
                from: self.start + Duration::seconds(t0 - 300),
                to: self.start + Duration::seconds(t0),
                series: BTreeMap::from([
                    (ERROR_RATE.to_owned(), series(&|i| base(i).0)),
                    (P99.to_owned(), series(&|i| base(i).1)),
                ]),
            },
        );
        for alarm in [ALARM_ERRORS, ALARM_P99] {
            self.push(
                t0 + 2,
                kind::ALARM_STATE,
                &AlarmState {
                    scenario: sc.clone(),
                    stage: st.clone(),
                    alarm: alarm.into(),
                    state: "OK".into(),
                    reason: None,
                },
            );
        }
        self.push(
            t0 + 3,
            kind::K8S_PODS,
            &K8sPods {
                scenario: sc.clone(),
                stage: st.clone(),
                total: 8,
                ready: 8,
                restarts: 0,
            },
        );
        self.push(
            t0 + 4,
            kind::STAGE_INTENT,
            &StageIntent {
                scenario: sc.clone(),
                stage: st.clone(),
                template_id: template_id.clone(),
                selection: selection.into(),
                tags: BTreeMap::from([(
                    "gameday-run".to_owned(),
                    "20261124-100000-checkout-example".to_owned(),
                )]),
            },
        );
        self.push(
            t0 + 5,
            kind::EXPERIMENT_STARTED,
            &ExperimentStarted {
                scenario: sc.clone(),
                stage: st.clone(),
                experiment_id: experiment_id.clone(),
                template_id: template_id.clone(),
            },
        );
        let state =
            |status: &str, latency: &str, observe: &str, reason: Option<&str>| ExperimentState {
                scenario: sc.clone(),
                stage: st.clone(),
                experiment_id: experiment_id.clone(),
                status: status.into(),
                reason: reason.map(str::to_owned),
                actions: BTreeMap::from([
                    (
                        "latency".to_owned(),
                        ActionView {
                            action_id: Some("aws:eks:pod-network-latency".into()),
                            status: latency.into(),
                            reason: None,
                        },
                    ),
                    (
                        "observe".to_owned(),
                        ActionView {
                            action_id: Some("aws:fis:wait".into()),
                            status: observe.into(),
                            reason: None,
                        },
                    ),
                ]),
            };
        self.push(
            t0 + 6,
            kind::EXPERIMENT_STATE,
            &state("initiating", "pending", "pending", None),
        );
        let fault_start = t0 + 20;
        self.push(
            fault_start,
            kind::EXPERIMENT_STATE,
            &state("running", "running", "pending", None),
        );

        let fault_points = 30; // 5 minutes at 10 s
        let shift = match plan {
            StagePlan::Pass { p99_shift } => p99_shift,
            _ => 0.12,
        };
        let mut samples: Vec<GuardSample> = Vec::new();
        let sample = |metric: &str, i: usize, value: f64, upper: f64, phase: Phase| GuardSample {
            scenario: sc.clone(),
            stage: st.clone(),
            metric: metric.into(),
            ts: ts(fault_start + 10 * (i as i64 + 1)),
            value,
            lower: None,
            upper: Some(upper),
            breach: value > upper,
            phase,
            reason: None,
            rule: None,
            period_secs: None,
        };
        let limit = match plan {
            StagePlan::GuardAbort { after } | StagePlan::Crash { after } => after,
            StagePlan::Pass { .. } => fault_points,
        };
        for i in 0..limit {
            let (e, p) = base(i + 7);
            let err = match plan {
                StagePlan::GuardAbort { after } if i + 3 >= after => {
                    1.2 + 0.35 * (i + 3 - after) as f64
                }
                _ => e + 0.04,
            };
            samples.push(sample(ERROR_RATE, i, err, 1.0, Phase::Fault));
            samples.push(sample(P99, i, p + shift, 0.8, Phase::Fault));
        }
        for s in &samples {
            self.push(s.ts - self.start.timestamp(), kind::GUARD_SAMPLE, s);
        }
        let mut now = fault_start + 10 * limit as i64;

        if let StagePlan::Crash { .. } = plan {
            return now;
        }
        let mut recovery_samples = Vec::new();
        let (abort, recovery_secs) = if let StagePlan::GuardAbort { .. } = plan {
            now += 2;
            self.push(
                now,
                kind::ABORT,
                &Abort {
                    scenario: sc.clone(),
                    stage: st.clone(),
                    reason: AbortReason::Guard,
                    detail: "error_rate 1.90 above 1 for 3 consecutive datapoints".into(),
                },
            );
            self.push(
                now + 1,
                kind::STOP_REQUESTED,
                &StopRequested {
                    experiment_id: experiment_id.clone(),
                    reason: AbortReason::Guard,
                },
            );
            self.push(
                now + 4,
                kind::EXPERIMENT_STATE,
                &state(
                    "stopping",
                    "stopping",
                    "pending",
                    Some("Experiment stop requested"),
                ),
            );
            self.push(now + 30, kind::ALARM_STATE, &AlarmState {
                scenario: sc.clone(),
                stage: st.clone(),
                alarm: ALARM_ERRORS.into(),
                state: "ALARM".into(),
                reason: Some("Threshold Crossed: 2 out of the last 3 datapoints were greater than the threshold (1.0)".into()),
            });
            self.push(
                now + 35,
                kind::ALARM_STATE,
                &AlarmState {
                    scenario: sc.clone(),
                    stage: st.clone(),
                    alarm: ALARM_P99.into(),
                    state: "INSUFFICIENT_DATA".into(),
                    reason: Some("Insufficient Data: 1 datapoint was unknown".into()),
                },
            );
            self.push(now + 40, kind::K8S_EVENT, &K8sEvent {
                scenario: sc.clone(),
                stage: st.clone(),
                namespace: "shop".into(),
                object: "Pod/checkout-7d9f8b6c5-x2x7q".into(),
                event_type: "Warning".into(),
                reason: "BackOff".into(),
                message: "Back-off restarting failed container checkout in pod checkout-7d9f8b6c5-x2x7q".into(),
                count: 3,
                last_seen: self.start + Duration::seconds(now + 40),
            });
            self.push(
                now + 44,
                kind::EXPERIMENT_STATE,
                &state(
                    "stopped",
                    "stopped",
                    "cancelled",
                    Some("Experiment stopped"),
                ),
            );
            self.push(
                now + 45,
                kind::STOP_CONFIRMED,
                &StopConfirmed {
                    experiment_id: experiment_id.clone(),
                    status: "stopped".into(),
                },
            );
            // Recovery: back under the bound after 150 s.
            for i in 0..20 {
                let v = if i < 15 { 1.6 - 0.04 * i as f64 } else { 0.25 };
                let mut s = sample(ERROR_RATE, limit + 5 + i, v, 1.0, Phase::Recovery);
                s.breach = v > 1.0;
                recovery_samples.push(s);
                recovery_samples.push(sample(P99, limit + 5 + i, 0.45, 0.8, Phase::Recovery));
            }
            self.push(
                now + 60,
                kind::K8S_PODS,
                &K8sPods {
                    scenario: sc.clone(),
                    stage: st.clone(),
                    total: 8,
                    ready: 7,
                    restarts: 3,
                },
            );
            (true, Some(150))
        } else {
            // Latency action done after 5 minutes, then the observation window.
            self.push(
                now,
                kind::EXPERIMENT_STATE,
                &state("running", "completed", "running", None),
            );
            for i in 0..30 {
                let (e, p) = base(i + 40);
                recovery_samples.push(sample(ERROR_RATE, limit + i, e, 1.0, Phase::Recovery));
                recovery_samples.push(sample(P99, limit + i, p, 0.8, Phase::Recovery));
            }
            self.push(
                now + 3,
                kind::K8S_PODS,
                &K8sPods {
                    scenario: sc.clone(),
                    stage: st.clone(),
                    total: 8,
                    ready: 8,
                    restarts: 0,
                },
            );
            (false, Some(0))
        };
        for s in &recovery_samples {
            self.push(s.ts - self.start.timestamp(), kind::GUARD_SAMPLE, s);
        }
        let fault_end = now + if abort { 44 } else { 0 };
        now = recovery_samples
            .last()
            .map_or(now, |s| s.ts - self.start.timestamp())
            + 1;
        if !abort {
            self.push(
                now,
                kind::EXPERIMENT_STATE,
                &state("completed", "completed", "completed", None),
            );
        }

        // The judge's numbers, from the samples above.
        let judge = |metric: &str, upper: f64, p_value: f64, effect: f64, degraded: bool| {
            let fault: Vec<f64> = samples
                .iter()
                .filter(|s| s.metric == metric)
                .map(|s| s.value)
                .collect();
            let mut base_vals: Vec<f64> = (0..30)
                .map(|i| {
                    if metric == ERROR_RATE {
                        base(i).0
                    } else {
                        base(i).1
                    }
                })
                .collect();
            let breaches = fault.iter().filter(|v| **v > upper).count();
            MetricJudgement {
                metric: metric.into(),
                lower: None,
                upper: Some(upper),
                worst: fault.iter().copied().reduce(f64::max),
                fault_points: fault.len(),
                breaches,
                baseline_median: median(&mut base_vals),
                fault_median: median(&mut fault.clone()),
                p_value: Some(p_value),
                effect_size: Some(effect),
                degraded,
                held: breaches == 0,
                recovery_secs: Some(if breaches > 0 {
                    recovery_secs.unwrap_or(0)
                } else {
                    0
                }),
            }
        };
        let metrics = match plan {
            StagePlan::GuardAbort { .. } => vec![
                judge(ERROR_RATE, 1.0, 0.0002, 6.8, true),
                judge(P99, 0.8, 0.0004, 4.1, true),
            ],
            StagePlan::Pass { p99_shift } => vec![
                judge(ERROR_RATE, 1.0, 0.41, 0.3, false),
                judge(
                    P99,
                    0.8,
                    if p99_shift > 0.1 { 0.0007 } else { 0.23 },
                    if p99_shift > 0.1 { 3.9 } else { 0.6 },
                    p99_shift > 0.1,
                ),
            ],
            StagePlan::Crash { .. } => unreachable!("returned above"),
        };
        let held = metrics.iter().all(|m| m.held);
        let outcome = if abort {
            Outcome::Aborted
        } else if held {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        let reasons = if abort {
            vec![
                "the guard aborted: error_rate 1.90 above 1 for 3 consecutive datapoints"
                    .to_owned(),
                "recovery took 150 s, above the 120 s target".to_owned(),
            ]
        } else {
            vec!["every guarded metric stayed within its bounds".to_owned()]
        };
        self.push(
            now + 1,
            kind::STAGE_FINISHED,
            &StageFinished {
                scenario: sc.clone(),
                stage: st.clone(),
                experiment_id: Some(experiment_id.clone()),
                final_status: Some(if abort { "stopped" } else { "completed" }.into()),
                fault_start: Some(self.start + Duration::seconds(fault_start)),
                fault_end: Some(self.start + Duration::seconds(fault_end)),
                verdict: StageVerdict {
                    outcome,
                    hypothesis_held: held,
                    metrics,
                    recovery_secs,
                    recovery_target_secs: 120,
                    reasons,
                },
            },
        );
        now + 1
    }

    pub(crate) fn scenario_started(&mut self, at: i64, scenario: &str) {
        self.push(
            at,
            kind::SCENARIO_STARTED,
            &ScenarioStarted {
                scenario: scenario.into(),
            },
        );
    }

    pub(crate) fn scenario_finished(
        &mut self,
        at: i64,
        scenario: &str,
        outcome: Outcome,
        stages_run: usize,
    ) {
        self.push(
            at,
            kind::SCENARIO_FINISHED,
            &ScenarioFinished {
                scenario: scenario.into(),
                outcome,
                stages_run,
            },
        );
    }

    pub(crate) fn run_finished(
        &mut self,
        at: i64,
        outcome: RunOutcome,
        abort_reason: Option<AbortReason>,
    ) {
        self.push(
            at,
            RUN_FINISHED,
            &RunFinished {
                outcome,
                abort_reason,
            },
        );
    }
}

const STAGES: [(&str, &str); 3] = [
    ("count-1", "COUNT(1)"),
    ("percent-10", "PERCENT(10)"),
    ("percent-25", "PERCENT(25)"),
];

/// Every stage passed; p99 latency degraded measurably (within bounds) at the last stage.
pub(crate) fn all_passed() -> JournalBuilder {
    let mut b = JournalBuilder::new(
        gameday(),
        Trigger::Schedule {
            entry: "weekly-staging".into(),
        },
    );
    b.preflight_ok(SCENARIO);
    b.scenario_started(10, SCENARIO);
    let mut t = 60;
    for (i, (stage, sel)) in STAGES.iter().enumerate() {
        let shift = [0.02, 0.05, 0.14][i];
        t = b.stage(
            SCENARIO,
            i + 1,
            stage,
            sel,
            t,
            StagePlan::Pass { p99_shift: shift },
        ) + 30;
    }
    b.scenario_finished(t, SCENARIO, Outcome::Passed, 3);
    b.run_finished(t + 1, RunOutcome::Passed, None);
    b
}

/// Stage 1 passed; the guard aborted stage 2; stage 3 did not run.
pub(crate) fn aborted_by_guard() -> JournalBuilder {
    let mut b = JournalBuilder::new(
        gameday(),
        Trigger::Manual {
            user: Some("alice".into()),
        },
    );
    b.preflight_ok(SCENARIO);
    b.scenario_started(10, SCENARIO);
    let t = b.stage(
        SCENARIO,
        1,
        STAGES[0].0,
        STAGES[0].1,
        60,
        StagePlan::Pass { p99_shift: 0.02 },
    ) + 30;
    let t = b.stage(
        SCENARIO,
        2,
        STAGES[1].0,
        STAGES[1].1,
        t,
        StagePlan::GuardAbort { after: 12 },
    ) + 5;
    b.scenario_finished(t, SCENARIO, Outcome::Aborted, 2);
    b.run_finished(t + 1, RunOutcome::Aborted, Some(AbortReason::Guard));
    b
}

/// Stage 1 passed; the process died during stage 2 (intent, experiment, no stage-finished);
/// `gameday recover` stopped the experiment and closed the journal.
pub(crate) fn interrupted() -> JournalBuilder {
    let mut b = JournalBuilder::new(
        gameday(),
        Trigger::Manual {
            user: Some("alice".into()),
        },
    );
    b.preflight_ok(SCENARIO);
    b.scenario_started(10, SCENARIO);
    let t = b.stage(
        SCENARIO,
        1,
        STAGES[0].0,
        STAGES[0].1,
        60,
        StagePlan::Pass { p99_shift: 0.02 },
    ) + 30;
    let crashed = b.stage(
        SCENARIO,
        2,
        STAGES[1].0,
        STAGES[1].1,
        t,
        StagePlan::Crash { after: 9 },
    );
    let exp = b.record().scenarios[0].stages[1]
        .experiment_id
        .clone()
        .expect("started");
    let recovered = crashed + 120;
    b.push(
        recovered,
        kind::STOP_REQUESTED,
        &StopRequested {
            experiment_id: exp.clone(),
            reason: AbortReason::Interrupt,
        },
    );
    b.push(
        recovered + 12,
        kind::STOP_CONFIRMED,
        &StopConfirmed {
            experiment_id: exp.clone(),
            status: "stopped".into(),
        },
    );
    b.push(
        recovered + 13,
        RUN_INTERRUPTED,
        &RunInterrupted {
            stopped: vec![exp.clone()],
            stop_failed: Vec::new(),
            detail: format!(
                "found {exp} still running 2 min after the journal's last entry and stopped it"
            ),
        },
    );
    b
}

/// Preflight failed (a PDB allows no disruption, a stop alarm has no data); nothing ran.
pub(crate) fn preflight_failed() -> JournalBuilder {
    let mut b = JournalBuilder::new(
        gameday(),
        Trigger::Manual {
            user: Some("alice".into()),
        },
    );
    let checks = [
        (
            None,
            "credentials",
            true,
            "arn:aws:sts::123456789012:assumed-role/gameday-runner/alice",
            None,
        ),
        (None, "alarm-exists", true, "2 stop alarms exist", None),
        (
            None,
            "alarm-state",
            false,
            "gameday-checkout-p99_latency_s is INSUFFICIENT_DATA",
            Some(
                "Check that TargetResponseTime is published for targetgroup/checkout, then wait for the alarm to leave INSUFFICIENT_DATA",
            ),
        ),
        (
            Some(SCENARIO),
            "k8s-pdb",
            false,
            "PodDisruptionBudget checkout-pdb allows 0 disruptions (minAvailable 8, 8 pods ready)",
            Some(
                "Lower minAvailable of checkout-pdb (e.g. to 75%) or scale checkout up before the GameDay",
            ),
        ),
        (
            Some(SCENARIO),
            "targets",
            true,
            "8 pods match chaos-experiment=checkout in staging-eks/shop",
            None,
        ),
    ];
    for (i, (scenario, check, ok, detail, fix)) in checks.into_iter().enumerate() {
        b.push(
            1 + i as i64,
            kind::PREFLIGHT_CHECK,
            &PreflightCheck {
                scenario: scenario.map(str::to_owned),
                stage: None,
                check: check.into(),
                ok,
                detail: detail.into(),
                fix: fix.map(str::to_owned),
            },
        );
    }
    b.push(
        7,
        kind::PREFLIGHT_FINISHED,
        &PreflightFinished {
            ok: false,
            failed: 2,
        },
    );
    b.run_finished(8, RunOutcome::PreflightFailed, None);
    b
}

/// `n` scenarios of three stages each, all passed, with `fault_points` guard samples per metric
/// per stage (for the benchmark-sized render test).
pub(crate) fn many(n: usize) -> JournalBuilder {
    let mut g = gameday();
    let template = g.scenarios[0].clone();
    g.scenarios = (0..n)
        .map(|i| {
            let mut s = template.clone();
            s.name = format!("checkout-network-latency-{i}");
            s
        })
        .collect();
    let names: Vec<String> = g.scenarios.iter().map(|s| s.name.clone()).collect();
    let mut b = JournalBuilder::new(
        g,
        Trigger::Schedule {
            entry: "weekly-staging".into(),
        },
    );
    let mut t = 10;
    for name in &names {
        b.scenario_started(t, name);
        for (i, (stage, sel)) in STAGES.iter().enumerate() {
            t = b.stage(
                name,
                i + 1,
                stage,
                sel,
                t + 60,
                StagePlan::Pass { p99_shift: 0.02 },
            ) + 30;
        }
        b.scenario_finished(t, name, Outcome::Passed, 3);
    }
    b.run_finished(t + 1, RunOutcome::Passed, None);
    b
}
