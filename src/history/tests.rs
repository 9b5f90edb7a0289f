//! Twelve weeks of synthetic journals, written with the run's own journal API and read back
//! from disk: a class that passes, regresses and is fixed; a class verified once and then left
//! stale; a run interrupted mid-stage; an unfinished and a damaged journal.

use std::collections::BTreeMap;
use std::path::Path;

use approx::assert_relative_eq;
use chrono::{DateTime, Duration, TimeZone as _, Utc};

use super::*;
use crate::model::journal::Journal;
use crate::model::record::*;
use crate::model::record::{RUN_FINISHED, RUN_INTERRUPTED};
use crate::plan::scenario::{GameDayScenario, SkippedClass};

const LATENCY: &str = "checkout-network-latency";
const POD: &str = "checkout-pod-failure";

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 7, 10, 0, 0)
        .single()
        .expect("date")
}

fn week(n: i64) -> DateTime<Utc> {
    base() + Duration::weeks(n)
}

/// The example GameDay plus a second class on the same service, with mined priorities 4 and 2,
/// and a third mined class the plan had to skip (unknown priority: weight 1).
fn gameday() -> GameDayScenario {
    let mut g: GameDayScenario =
        yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
            .expect("example scenario parses");
    g.scenarios[0].why.priority = Some(4.0);
    let mut pod = g.scenarios[0].clone();
    pod.name = POD.to_owned();
    pod.fault_class = "pod-failure".to_owned();
    pod.why.priority = Some(2.0);
    g.scenarios.push(pod);
    g.skipped.push(SkippedClass {
        service: "checkout".into(),
        fault_class: "memory-exhaustion".into(),
        reason: "no usable FIS action".into(),
    });
    g
}

#[derive(Clone, Copy)]
enum St {
    Pass(u64),
    Fail(u64),
    /// Started; the process died before the stage finished.
    Crash,
}

enum End {
    Finished(RunOutcome),
    Interrupted,
    Open,
}

struct Run<'a> {
    id: &'a str,
    at: DateTime<Utc>,
    scenarios: Vec<(&'a str, Vec<St>)>,
    end: End,
}

const STAGES: [(&str, &str); 3] = [
    ("count-1", "COUNT(1)"),
    ("percent-10", "PERCENT(10)"),
    ("percent-25", "PERCENT(25)"),
];

fn verdict(outcome: Outcome, recovery: u64, reason: &str) -> StageVerdict {
    StageVerdict {
        outcome,
        hypothesis_held: outcome == Outcome::Passed,
        metrics: vec![MetricJudgement {
            metric: "error_rate".into(),
            lower: None,
            upper: Some(1.0),
            worst: Some(if outcome == Outcome::Passed { 0.6 } else { 1.8 }),
            fault_points: 30,
            breaches: usize::from(outcome != Outcome::Passed) * 4,
            baseline_median: Some(0.2),
            fault_median: Some(0.4),
            p_value: None,
            effect_size: None,
            degraded: false,
            held: outcome == Outcome::Passed,
            recovery_secs: Some(recovery),
        }],
        recovery_secs: Some(recovery),
        recovery_target_secs: 120,
        reasons: if reason.is_empty() {
            Vec::new()
        } else {
            vec![reason.to_owned()]
        },
    }
}

fn write_run(reports: &Path, run: &Run<'_>) {
    let started = example_started(run.id, gameday(), Trigger::Manual { user: None });
    let mut j = Journal::create(reports, run.id, run.at, &started).expect("journal");
    let mut t = 0;
    let mut at = |j: &mut Journal, kind: &str, data: serde_json::Value| {
        t += 60;
        j.append(run.at + Duration::seconds(t), kind, &data)
            .expect("append");
    };
    for (sc, stages) in &run.scenarios {
        at(
            &mut j,
            kind::SCENARIO_STARTED,
            serde_json::json!({ "scenario": sc }),
        );
        for (i, s) in stages.iter().enumerate() {
            let (stage, selection) = STAGES[i];
            at(
                &mut j,
                kind::STAGE_INTENT,
                serde_json::json!({"scenario": sc, "stage": stage, "template_id": "EXT1",
                    "selection": selection, "tags": {}}),
            );
            let v = match s {
                St::Pass(r) => verdict(Outcome::Passed, *r, ""),
                St::Fail(r) => verdict(
                    Outcome::Failed,
                    *r,
                    "error_rate reached 1.8 (abort above 1)",
                ),
                St::Crash => continue,
            };
            let finished = StageFinished {
                scenario: (*sc).into(),
                stage: stage.into(),
                experiment_id: Some(format!("EXP{i}")),
                final_status: Some("completed".into()),
                fault_start: None,
                fault_end: None,
                verdict: v,
            };
            at(
                &mut j,
                kind::STAGE_FINISHED,
                serde_json::to_value(finished).expect("json"),
            );
        }
    }
    match &run.end {
        End::Finished(o) => at(
            &mut j,
            RUN_FINISHED,
            serde_json::to_value(RunFinished {
                outcome: *o,
                abort_reason: None,
            })
            .expect("json"),
        ),
        End::Interrupted => at(
            &mut j,
            RUN_INTERRUPTED,
            serde_json::json!({"stopped": ["EXP0"], "stop_failed": [],
                "detail": "stopped 1 experiment left running"}),
        ),
        End::Open => {}
    }
}

/// The twelve weeks. Recovery seconds per stage in brackets.
fn twelve_weeks(reports: &Path) {
    use St::{Crash, Fail, Pass};
    let passed = End::Finished(RunOutcome::Passed);
    let runs = [
        // W0: both classes pass every stage.
        Run {
            id: "r01",
            at: week(0),
            scenarios: vec![
                (LATENCY, vec![Pass(60), Pass(80), Pass(90)]),
                (POD, vec![Pass(30), Pass(30), Pass(40)]),
            ],
            end: End::Finished(RunOutcome::Passed),
        },
        Run {
            id: "r02",
            at: week(2),
            scenarios: vec![(LATENCY, vec![Pass(60), Pass(90), Pass(100)])],
            end: End::Finished(RunOutcome::Passed),
        },
        Run {
            id: "r03",
            at: week(4),
            scenarios: vec![(LATENCY, vec![Pass(60), Pass(85), Pass(95)])],
            end: End::Finished(RunOutcome::Passed),
        },
        // W6: the regression — percent-10 fails, and recovers in 200 s (median before: 85 s).
        Run {
            id: "r04",
            at: week(6),
            scenarios: vec![(LATENCY, vec![Pass(60), Fail(200)])],
            end: End::Finished(RunOutcome::HypothesisFailed),
        },
        // W8: the process died in count-1; `recover` closed the journal.
        Run {
            id: "r05",
            at: week(8),
            scenarios: vec![(LATENCY, vec![Crash])],
            end: End::Interrupted,
        },
        // W9: still open (never recovered): left out with a warning.
        Run {
            id: "r06",
            at: week(9),
            scenarios: vec![(LATENCY, vec![Pass(60)])],
            end: End::Open,
        },
        // W10: fixed.
        Run {
            id: "r07",
            at: week(10),
            scenarios: vec![(LATENCY, vec![Pass(55), Pass(80), Pass(90)])],
            end: passed,
        },
    ];
    for r in &runs {
        write_run(reports, r);
    }
    // A damaged journal: left out, never a crash.
    std::fs::create_dir_all(reports.join("r99")).expect("dir");
    std::fs::write(reports.join("r99").join("journal.jsonl"), "garbage\n{}\n").expect("write");
}

fn loaded() -> (tempfile::TempDir, Loaded) {
    let dir = tempfile::tempdir().expect("tempdir");
    twelve_weeks(dir.path());
    let loaded = read_runs(dir.path());
    (dir, loaded)
}

fn record<'a>(h: &'a History, class: &str) -> &'a ClassRecord {
    h.records.iter().find(|r| r.class == class).expect("record")
}

#[test]
fn unfinished_and_damaged_journals_are_skipped_with_a_reason() {
    let (_dir, loaded) = loaded();
    let ids: Vec<&str> = loaded
        .runs
        .iter()
        .map(|r| r.start.run_id.as_str())
        .collect();
    assert_eq!(ids, ["r01", "r02", "r03", "r04", "r05", "r07"]);
    assert_eq!(loaded.skipped.len(), 2);
    assert!(
        loaded.skipped[0].reason.contains("gameday recover r06"),
        "{:?}",
        loaded.skipped
    );
    assert!(loaded.skipped[1].path.ends_with("r99/journal.jsonl"));
    assert!(loaded.skipped[1].reason.contains(":1: not a journal entry"));
}

#[test]
fn twelve_weeks_fold_into_one_record_per_service_and_class() {
    let (_dir, loaded) = loaded();
    let h = history(&loaded, &[], &HistoryOptions::new(week(12)));
    assert_eq!(h.records.len(), 2);

    let lat = record(&h, "dependency-latency");
    assert_eq!(lat.service, "checkout");
    assert_eq!(lat.runs, 6);
    assert_eq!(lat.last_run_id, "r07");
    assert_eq!(lat.last_verdict, Verdict::Passed);
    assert_eq!(lat.highest_stage_passed.as_deref(), Some("percent-25"));
    assert!(lat.verified);
    let counts: Vec<(&str, usize, usize, usize)> = lat
        .stages
        .iter()
        .map(|s| (s.stage.as_str(), s.passed, s.failed, s.aborted))
        .collect();
    assert_eq!(
        counts,
        [
            ("count-1", 5, 0, 1),
            ("percent-10", 4, 1, 0),
            ("percent-25", 4, 0, 0)
        ]
    );
    let p10: Vec<u64> = lat.stages[1].recovery.iter().map(|p| p.secs).collect();
    assert_eq!(p10, [80, 90, 85, 200, 80]);
    let worst = lat.worst_metric.as_ref().expect("worst");
    assert_eq!(
        (worst.run_id.as_str(), worst.stage.as_str()),
        ("r04", "percent-10")
    );
    assert_relative_eq!(worst.ratio, 1.8);
    assert_eq!(lat.aborts.len(), 1);
    assert_eq!(lat.aborts[0].run_id, "r05");
    assert_eq!(lat.aborts[0].stage.as_deref(), Some("count-1"));
    assert!(
        lat.aborts[0]
            .cause
            .contains("run interrupted: stopped 1 experiment"),
        "{}",
        lat.aborts[0].cause
    );
    // Fixed: no regression flag is left on it.
    assert!(lat.regressions.is_empty(), "{:?}", lat.regressions);

    let pod = record(&h, "pod-failure");
    assert_eq!(pod.runs, 1);
    assert_eq!(pod.last_verdict, Verdict::Passed);
    assert!(
        !pod.verified,
        "passed 12 weeks ago: beyond the 30-day validity"
    );
    assert_eq!(pod.regressions.len(), 1);
    assert_eq!(pod.regressions[0].kind, RegressionKind::Stale);
    assert!(
        pod.regressions[0]
            .evidence
            .contains("last passed 2026-09-07"),
        "{}",
        pod.regressions[0].evidence
    );
}

#[test]
fn the_regression_is_flagged_with_its_evidence_when_it_is_the_latest_run() {
    let (_dir, loaded) = loaded();
    // As of the week after the failing run.
    let h = history(&loaded, &[], &HistoryOptions::new(week(7)));
    let lat = record(&h, "dependency-latency");
    assert_eq!(lat.last_verdict, Verdict::Failed);
    assert!(!lat.verified);
    let kinds: Vec<RegressionKind> = lat.regressions.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [RegressionKind::StageFailed, RegressionKind::SlowerRecovery]
    );
    assert_eq!(
        lat.regressions[0].evidence,
        "percent-10 passed in run r03 (2026-10-05) and failed in run r04 (2026-10-19): error_rate \
         reached 1.8 (abort above 1)"
    );
    assert_eq!(
        lat.regressions[1].evidence,
        "percent-10 recovered in 200 s in run r04 (2026-10-19), 2.4× the median 85 s of 3 earlier passes"
    );
    // A higher factor silences the recovery flag, not the failure.
    let mut opts = HistoryOptions::new(week(7));
    opts.recovery_factor = 2.5;
    let h = history(&loaded, &[], &opts);
    assert_eq!(record(&h, "dependency-latency").regressions.len(), 1);
    let standing = standings(&h);
    let lat = standing
        .iter()
        .find(|s| s.class == "dependency-latency")
        .expect("standing");
    assert_eq!(lat.standing, Standing::Attention);
    assert!(
        lat.summary
            .starts_with("failed 2026-10-19 (run r04): percent-10 passed in run r03")
    );
}

#[test]
fn the_score_weighs_classes_by_priority_and_decays_the_stale_one() {
    let (_dir, loaded) = loaded();
    let h = history(&loaded, &[], &HistoryOptions::new(week(12)));
    assert_eq!(h.scores.len(), 1);
    let s = &h.scores[0];
    // Weights 4 (latency), 2 (pod-failure), 1 (memory-exhaustion, skipped: priority unknown).
    // latency: passed percent-25 two weeks ago: 400/7 = 57.14.
    // pod-failure: passed percent-25 84 days ago: 200/7 × 0.5^((84 − 30)/30) = 8.21.
    // memory-exhaustion: never run: 0.
    let expected = 400.0 / 7.0 + 200.0 / 7.0 * 0.5_f64.powf(54.0 / 30.0);
    assert_relative_eq!(s.score, (expected * 10.0).round() / 10.0);
    assert_relative_eq!(s.score, 65.3);
    let lost: Vec<(&str, f64)> = s
        .breakdown
        .iter()
        .map(|i| (i.class.as_str(), i.lost))
        .collect();
    assert_eq!(
        lost,
        [
            ("pod-failure", 20.4),
            ("memory-exhaustion", 14.3),
            ("dependency-latency", 0.0)
        ]
    );
    assert!(
        s.breakdown[0]
            .action
            .as_deref()
            .unwrap_or("")
            .starts_with("run it again")
    );
    assert!(
        s.breakdown[1]
            .action
            .as_deref()
            .unwrap_or("")
            .contains("never-run classes first")
    );
    // The trend: one point per run that exercised checkout, dipping at the regression.
    let trend: Vec<(&str, f64)> = h
        .trend
        .iter()
        .map(|p| (p.run_id.as_str(), p.score))
        .collect();
    assert_eq!(trend.len(), 6);
    assert!(trend[3].1 < trend[2].1, "r04 costs points: {trend:?}");
    assert!(
        trend[4].1 < trend[3].1,
        "the interruption costs more: {trend:?}"
    );
    assert!(trend[5].1 > trend[4].1, "the fix wins them back: {trend:?}");
    assert_relative_eq!(trend[0].1, 600.0 / 7.0, epsilon = 0.05);
}

#[test]
fn a_catalogue_priority_wins_over_the_scenario_files() {
    let (_dir, loaded) = loaded();
    let mined = vec![MinedClass {
        class: "memory-exhaustion".into(),
        priority: Some(13.0),
        services: vec!["checkout".into()],
    }];
    let h = history(&loaded, &mined, &HistoryOptions::new(week(12)));
    let expected = 400.0 / 19.0 + 200.0 / 19.0 * 0.5_f64.powf(54.0 / 30.0);
    assert_relative_eq!(h.scores[0].score, (expected * 10.0).round() / 10.0);
}

#[test]
fn since_and_service_filters() {
    let (_dir, loaded) = loaded();
    let mut opts = HistoryOptions::new(week(12));
    opts.since = Some(week(5));
    let h = history(&loaded, &[], &opts);
    assert_eq!(h.runs.len(), 3);
    assert_eq!(h.records.len(), 1, "pod-failure ran only before --since");
    opts.since = None;
    opts.services = vec!["payments".into()];
    let h = history(&loaded, &[], &opts);
    assert!(h.records.is_empty());
    assert_eq!(h.scores.len(), 1);
    assert_relative_eq!(h.scores[0].score, 0.0);
}

#[test]
fn since_last_time_reports_the_change_regressions_and_newly_verified() {
    let (_dir, loaded) = loaded();
    let v = Duration::days(30);
    let r04 = since_last_time(&loaded.runs, "r04", &[], v, 1.5).expect("earlier runs exist");
    assert_eq!(r04.previous_run_id, "r03");
    assert_eq!(r04.scores.len(), 1);
    assert!(r04.scores[0].change < 0.0, "{:?}", r04.scores);
    let kinds: Vec<RegressionKind> = r04.regressions.iter().map(|r| r.regression.kind).collect();
    assert_eq!(
        kinds,
        [RegressionKind::StageFailed, RegressionKind::SlowerRecovery]
    );
    assert!(r04.newly_verified.is_empty());

    let r07 = since_last_time(&loaded.runs, "r07", &[], v, 1.5).expect("earlier runs exist");
    assert_eq!(r07.previous_run_id, "r05");
    assert!(r07.regressions.is_empty());
    assert_eq!(
        r07.newly_verified,
        [ClassRef {
            service: "checkout".into(),
            class: "dependency-latency".into()
        }]
    );
    assert!(r07.scores[0].change > 40.0, "{:?}", r07.scores);
    assert_relative_eq!(
        r07.scores[0].after,
        r07.scores[0].before + r07.scores[0].change,
        epsilon = 0.11
    );

    assert!(
        since_last_time(&loaded.runs, "r01", &[], v, 1.5).is_none(),
        "no earlier run"
    );
    assert!(since_last_time(&loaded.runs, "nope", &[], v, 1.5).is_none());
}

#[test]
fn the_catalogue_ranks_failed_first_then_unverified_then_verified() {
    use crate::mine::{CATALOGUE_SCHEMA_VERSION, Catalogue, ClassSummary, Window};
    let class = |rank: u32, name: &str, verified: bool| ClassSummary {
        rank,
        class: name.into(),
        description: String::new(),
        verified,
        priority: 10.0 - f64::from(rank),
        frequency_per_30d: 1.0,
        impact: 1.0,
        incident_count: 3,
        total_duration_ms: 0,
        median_duration_ms: 0,
        mttr_ms: 0,
        last_seen: base(),
        services: vec!["checkout".into()],
        severity_counts: BTreeMap::new(),
        top_templates: Vec::new(),
        fis_actions: Vec::new(),
        fis_caveat: None,
        incidents: Vec::new(),
        last_verdict: None,
    };
    let catalogue = Catalogue {
        schema_version: CATALOGUE_SCHEMA_VERSION,
        generated_at: base(),
        window: Window::default(),
        gap_ms: 0,
        priority_formula: String::new(),
        // cpu-saturation: "verified" only because an FIS action was seen in the logs.
        classes: vec![
            class(1, "memory-exhaustion", false),
            class(2, "cpu-saturation", true),
            class(3, "dependency-latency", false),
            class(4, "pod-failure", false),
        ],
        unclassified: Vec::new(),
        experiments: Vec::new(),
    };
    let (_dir, loaded) = loaded();

    // After the regression: dependency-latency first, then the unverified, pod-failure
    // (passed at W0, still valid at W7) last.
    let h = history(
        &loaded,
        &[],
        &HistoryOptions::new(week(7) - Duration::days(3)),
    );
    let mut c = catalogue.clone();
    apply_standings(&mut c, &standings(&h));
    let order: Vec<(u32, &str, bool)> = c
        .classes
        .iter()
        .map(|k| (k.rank, k.class.as_str(), k.verified))
        .collect();
    assert_eq!(
        order,
        [
            (1, "dependency-latency", false),
            (2, "memory-exhaustion", false),
            (3, "cpu-saturation", false),
            (4, "pod-failure", false),
        ],
        "pod-failure passed 6 weeks before: stale"
    );
    assert!(
        c.classes[0]
            .last_verdict
            .as_deref()
            .unwrap_or("")
            .starts_with("checkout: failed 2026-10-19 (run r04)")
    );

    // After the fix: dependency-latency verified and last.
    let h = history(&loaded, &[], &HistoryOptions::new(week(11)));
    let mut c = catalogue;
    apply_standings(&mut c, &standings(&h));
    let order: Vec<&str> = c.classes.iter().map(|k| k.class.as_str()).collect();
    assert_eq!(
        order,
        [
            "memory-exhaustion",
            "cpu-saturation",
            "pod-failure",
            "dependency-latency"
        ]
    );
    assert!(c.classes[3].verified);
}

#[test]
fn markdown_draws_score_and_recovery_trends() {
    let (_dir, loaded) = loaded();
    let h = history(&loaded, &[], &HistoryOptions::new(week(12)));
    let (md, charts) = render_markdown(&h, crate::report::trend_chart);
    assert!(md.contains("## Resilience score"));
    assert!(md.contains("| checkout | 65.3 | 6 |"), "{md}");
    assert!(md.contains("![resilience score — checkout](history-charts/score--checkout.svg)"));
    assert!(
        md.contains("pod-failure**, stale: last passed 2026-09-07"),
        "{md}"
    );
    let names: Vec<&str> = charts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "history-charts/score--checkout.svg",
            "history-charts/recovery--checkout--dependency-latency--count-1.svg",
            "history-charts/recovery--checkout--dependency-latency--percent-10.svg",
            "history-charts/recovery--checkout--dependency-latency--percent-25.svg",
        ]
    );
    for (_, svg) in &charts {
        roxmltree::Document::parse(svg).expect("well-formed SVG");
    }
    let table = render_table(&h);
    assert!(table.contains("SCORE checkout 65.3/100"), "{table}");
    assert!(table.contains("skipped "), "{table}");
}

async fn postmortem(reports: &Path, run_id: &str) -> (String, serde_json::Value) {
    use crate::report::{ReportOptions, load_record, write_report};
    let run_dir = reports.join(run_id);
    let record = load_record(&run_dir.join("journal.jsonl")).expect("record");
    let opts = ReportOptions {
        template_dir: None,
        llm: None,
        rendered_at: week(12),
    };
    let paths = write_report(&run_dir, &record, &opts)
        .await
        .expect("report");
    let md = std::fs::read_to_string(paths.postmortem).expect("postmortem");
    let summary = std::fs::read_to_string(paths.summary).expect("summary");
    (md, serde_json::from_str(&summary).expect("json"))
}

#[tokio::test]
async fn a_later_run_post_mortem_says_what_changed_since_last_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    twelve_weeks(dir.path());

    // The first run has nothing to compare with: no section, a score without a change.
    let (md, summary) = postmortem(dir.path(), "r01").await;
    assert!(!md.contains("Since last time"), "{md}");
    assert_eq!(summary["resilience"]["scores"][0]["service"], "checkout");
    assert!(summary["resilience"]["scores"][0]["change"].is_null());
    assert!(summary["resilience"]["since_last_time"].is_null());

    // The regression.
    let (md, _) = postmortem(dir.path(), "r04").await;
    assert!(md.contains("\n## Since last time\n"), "{md}");
    assert!(
        md.contains("Compared with 3 earlier runs (the latest, `r03`, started 2026-10-05"),
        "{md}"
    );
    assert!(
        md.contains(
            "- Regressions: 2\n  - checkout dependency-latency: percent-10 passed in run r03"
        ),
        "{md}"
    );
    assert!(md.contains("- Newly verified: none"), "{md}");

    // The fix.
    let (md, summary) = postmortem(dir.path(), "r07").await;
    let since = md
        .split("## Since last time")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("section");
    assert!(since.contains("- Regressions: none"), "{since}");
    assert!(
        since.contains("- Newly verified: dependency-latency on checkout"),
        "{since}"
    );
    let change = summary["resilience"]["scores"][0]["change"]
        .as_f64()
        .expect("a change");
    assert!(change > 40.0, "{change}");
    assert!(
        since.contains(&format!("({change:+.1})")),
        "the section and summary.json agree: {since}"
    );
}
