//! Render-time benchmark of the post-mortem (`harness = false`, run with
//! `cargo bench --bench report`).
//!
//! Builds a run of 10 scenarios x 3 stages from the example scenario file, each stage with a
//! 5-minute baseline and 360 guard datapoints per metric (an hour at 10 s: fault and recovery),
//! for two metrics, plus the experiment, alarm and Kubernetes entries a real stage writes; then
//! times `gameday::report::render` (context, rule-based findings, markdown, summary.json and the
//! 60 SVG charts) and prints the best and median of several passes. It must not assert on
//! timings.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use gameday::model::record::*;
use gameday::plan::scenario::GameDayScenario;
use gameday::provider::ActionView;
use gameday::report::{ReportOptions, render};

const SCENARIOS: usize = 10;
const SAMPLES_PER_METRIC: usize = 360;
const PASSES: usize = 15;

fn state(sc: &str, st: &str, exp: &str, status: &str, action: &str) -> ExperimentState {
    ExperimentState {
        scenario: sc.into(),
        stage: st.into(),
        experiment_id: exp.into(),
        status: status.into(),
        reason: None,
        actions: BTreeMap::from([(
            "latency".to_owned(),
            ActionView {
                action_id: Some("aws:eks:pod-network-latency".into()),
                status: action.into(),
                reason: None,
            },
        )]),
    }
}

fn stage(sc: &str, st: &str, n: usize, t0: DateTime<Utc>) -> StageRecord {
    let exp = format!("EXP{n:017}");
    let fault_start = t0 + Duration::seconds(20);
    let fault_end = fault_start + Duration::seconds(300);
    let metrics = [("error_rate", 1.0, 0.2), ("p99_latency_s", 0.8, 0.35)];
    let mut samples = Vec::new();
    for (m, upper, base) in metrics {
        for i in 0..SAMPLES_PER_METRIC {
            let ts = fault_start.timestamp() + 10 * (i as i64 + 1);
            let value = base * (1.0 + 0.2 * ((i as f64) * 1.3).sin());
            samples.push(GuardSample {
                scenario: sc.into(),
                stage: st.into(),
                metric: m.into(),
                ts,
                value,
                lower: None,
                upper: Some(upper),
                breach: value > upper,
                phase: if i < 30 {
                    Phase::Fault
                } else {
                    Phase::Recovery
                },
                reason: None,
                rule: None,
                period_secs: None,
            });
        }
    }
    let series = |base: f64| -> Series {
        (0..30)
            .map(|i| {
                (
                    t0.timestamp() - 300 + 10 * i,
                    base * (1.0 + 0.1 * (i as f64).cos()),
                )
            })
            .collect()
    };
    let judgement = |m: &str, upper: f64| MetricJudgement {
        metric: m.into(),
        lower: None,
        upper: Some(upper),
        worst: Some(upper * 0.5),
        fault_points: 30,
        breaches: 0,
        baseline_median: Some(upper * 0.3),
        fault_median: Some(upper * 0.35),
        p_value: Some(0.2),
        effect_size: Some(0.4),
        degraded: false,
        held: true,
        recovery_secs: Some(0),
    };
    let end = fault_start + Duration::seconds(10 * SAMPLES_PER_METRIC as i64 + 1);
    StageRecord {
        name: st.into(),
        template_id: Some(format!("EXT{n:017}")),
        intent: Some(StageIntent {
            scenario: sc.into(),
            stage: st.into(),
            template_id: format!("EXT{n:017}"),
            selection: "COUNT(1)".into(),
            tags: BTreeMap::new(),
        }),
        experiment_id: Some(exp.clone()),
        baseline: Some(Baseline {
            scenario: sc.into(),
            stage: st.into(),
            from: t0 - Duration::seconds(300),
            to: t0,
            series: BTreeMap::from([
                ("error_rate".to_owned(), series(0.2)),
                ("p99_latency_s".to_owned(), series(0.35)),
            ]),
        }),
        states: vec![
            (
                t0 + Duration::seconds(5),
                state(sc, st, &exp, "initiating", "pending"),
            ),
            (fault_start, state(sc, st, &exp, "running", "running")),
            (fault_end, state(sc, st, &exp, "running", "completed")),
            (end, state(sc, st, &exp, "completed", "completed")),
        ],
        samples_seen_at: samples
            .iter()
            .map(|s: &GuardSample| DateTime::from_timestamp(s.ts, 0).unwrap_or_default())
            .collect(),
        samples,
        alarms: [
            "gameday-checkout-error_rate",
            "gameday-checkout-p99_latency_s",
        ]
        .iter()
        .map(|a| {
            (
                t0,
                AlarmState {
                    scenario: sc.into(),
                    stage: st.into(),
                    alarm: (*a).into(),
                    state: "OK".into(),
                    reason: None,
                },
            )
        })
        .collect(),
        k8s_events: Vec::new(),
        k8s_pods: vec![(
            t0,
            K8sPods {
                scenario: sc.into(),
                stage: st.into(),
                total: 8,
                ready: 8,
                restarts: 0,
            },
        )],
        abort: None,
        stop_requested: None,
        stop_confirmed: None,
        stop_failed: None,
        finished: Some((
            end,
            StageFinished {
                scenario: sc.into(),
                stage: st.into(),
                experiment_id: Some(exp),
                final_status: Some("completed".into()),
                fault_start: Some(fault_start),
                fault_end: Some(fault_end),
                verdict: StageVerdict {
                    outcome: Outcome::Passed,
                    hypothesis_held: true,
                    metrics: vec![
                        judgement("error_rate", 1.0),
                        judgement("p99_latency_s", 0.8),
                    ],
                    recovery_secs: Some(0),
                    recovery_target_secs: 120,
                    reasons: vec!["every guarded metric stayed within its bounds".into()],
                },
            },
        )),
    }
}

fn record() -> RunRecord {
    let mut gameday: GameDayScenario =
        yaml_serde::from_str(include_str!("../scenarios/checkout-example.yaml"))
            .expect("example scenario parses");
    let template = gameday.scenarios[0].clone();
    gameday.scenarios = (0..SCENARIOS)
        .map(|i| {
            let mut s = template.clone();
            s.name = format!("checkout-network-latency-{i}");
            s
        })
        .collect();
    let start = Utc
        .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
        .single()
        .expect("valid");
    let mut t = start;
    let mut scenarios = Vec::new();
    for (i, sc) in gameday.scenarios.iter().enumerate() {
        let first = t;
        let stages: Vec<StageRecord> = sc
            .stages
            .iter()
            .enumerate()
            .map(|(j, st)| {
                let rec = stage(&sc.name, &st.name, i * 3 + j, t + Duration::seconds(60));
                t += Duration::seconds(60 + 20 + 10 * SAMPLES_PER_METRIC as i64 + 30);
                rec
            })
            .collect();
        scenarios.push(ScenarioRecord {
            name: sc.name.clone(),
            started: Some(first),
            stages,
            finished: Some((
                t,
                ScenarioFinished {
                    scenario: sc.name.clone(),
                    outcome: Outcome::Passed,
                    stages_run: 3,
                },
            )),
        });
    }
    RunRecord {
        started_at: start,
        start: {
            let mut s = example_started("bench", gameday, Trigger::Manual { user: None });
            s.settings.guard_period_secs = Some(60);
            s.settings.baseline_window_secs = Some(300);
            s.version = "bench".into();
            s
        },
        preflight: Vec::new(),
        preflight_finished: Some(PreflightFinished {
            ok: true,
            failed: 0,
        }),
        scenarios,
        finished: Some((
            t,
            RunFinished {
                outcome: RunOutcome::Passed,
                abort_reason: None,
            },
        )),
        interrupted: None,
        recovered: Vec::new(),
        last_at: t,
        unknown: Vec::new(),
    }
}

fn main() {
    let run = record();
    let opts = ReportOptions {
        template_dir: None,
        llm: None,
        rendered_at: run.ended_at(),
    };
    let samples: usize = run
        .scenarios
        .iter()
        .flat_map(|s| s.stages.iter())
        .map(|st| st.samples.len())
        .sum();
    let mut times = Vec::with_capacity(PASSES);
    let mut last = None;
    for _ in 0..PASSES {
        let t = Instant::now();
        let r = render(black_box(&run), &opts, None).expect("renders");
        times.push(t.elapsed());
        last = Some(r);
    }
    times.sort();
    let r = last.expect("at least one pass");
    let svg_bytes: usize = r.charts.iter().map(|c| c.svg.len()).sum();
    println!(
        "report render: {SCENARIOS} scenarios x 3 stages, {samples} guard samples, {} charts ({} KiB SVG), {} KiB markdown",
        r.charts.len(),
        svg_bytes / 1024,
        r.postmortem.len() / 1024
    );
    println!(
        "best {:.1} ms, median {:.1} ms over {PASSES} passes (target: < 1000 ms)",
        times[0].as_secs_f64() * 1e3,
        times[PASSES / 2].as_secs_f64() * 1e3
    );
}
