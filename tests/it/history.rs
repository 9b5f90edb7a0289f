//! `gameday history` over journals written with the run's own journal API: a pass, then a
//! regression; a damaged journal is skipped; markdown writes its trend charts.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use gameday::model::journal::Journal;
use gameday::model::record::RUN_FINISHED;
use gameday::model::record::{Trigger, example_started, kind};
use gameday::plan::GameDayScenario;

use crate::support::gameday;

const SCENARIO: &str = "checkout-network-latency";

fn write_run(reports: &Path, id: &str, at: DateTime<Utc>, recoveries: &[(&str, &str, bool, u64)]) {
    let gameday: GameDayScenario =
        yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
            .expect("example scenario parses");
    let started = example_started(id, gameday, Trigger::Manual { user: None });
    let mut j = Journal::create(reports, id, at, &started).expect("journal");
    let mut t = at;
    let mut push = |j: &mut Journal, k: &str, v: serde_json::Value| {
        t += Duration::minutes(1);
        j.append(t, k, &v).expect("append");
    };
    push(
        &mut j,
        kind::SCENARIO_STARTED,
        serde_json::json!({"scenario": SCENARIO}),
    );
    let mut all = true;
    for (stage, selection, passed, recovery) in recoveries {
        all &= passed;
        let outcome = if *passed { "passed" } else { "failed" };
        push(
            &mut j,
            kind::STAGE_INTENT,
            serde_json::json!({"scenario": SCENARIO, "stage": stage, "template_id": "EXT1",
                "selection": selection, "tags": {}}),
        );
        push(
            &mut j,
            kind::STAGE_FINISHED,
            serde_json::json!({"scenario": SCENARIO, "stage": stage, "verdict": {
                "outcome": outcome, "hypothesis_held": passed, "metrics": [],
                "recovery_secs": recovery, "recovery_target_secs": 120,
                "reasons": if *passed { vec![] } else { vec!["error_rate reached 2 (abort above 1)"] }}}),
        );
    }
    push(
        &mut j,
        RUN_FINISHED,
        serde_json::json!({"outcome": if all { "passed" } else { "hypothesis-failed" }}),
    );
}

#[test]
fn history_reads_the_journals_flags_the_regression_and_draws_the_trends() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 2, 10, 0, 0)
        .single()
        .unwrap();
    write_run(
        &reports,
        "r1",
        t0,
        &[
            ("count-1", "COUNT(1)", true, 60),
            ("percent-10", "PERCENT(10)", true, 80),
            ("percent-25", "PERCENT(25)", true, 90),
        ],
    );
    write_run(
        &reports,
        "r2",
        t0 + Duration::weeks(1),
        &[
            ("count-1", "COUNT(1)", true, 60),
            ("percent-10", "PERCENT(10)", false, 200),
        ],
    );
    std::fs::create_dir_all(reports.join("broken")).unwrap();
    std::fs::write(reports.join("broken/journal.jsonl"), "not json\n").unwrap();

    let now = "2026-11-12T00:00:00Z";
    let out = gameday(dir.path())
        .args([
            "history",
            "--format",
            "json",
            "--now",
            now,
            "--state-dir",
            "none",
        ])
        .assert()
        .success();
    let h: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(h["runs"].as_array().unwrap().len(), 2);
    assert_eq!(h["skipped"].as_array().unwrap().len(), 1);
    let rec = &h["records"][0];
    assert_eq!(rec["service"], "checkout");
    assert_eq!(rec["class"], "dependency-latency");
    assert_eq!(rec["runs"], 2);
    assert_eq!(rec["last_verdict"], "failed");
    assert_eq!(rec["highest_stage_passed"], "count-1");
    let kinds: Vec<&str> = rec["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["stage-failed", "slower-recovery"]);
    // One class, latest run passed count-1 only: 100 × 0.3.
    assert_eq!(h["scores"][0]["score"], 30.0);

    gameday(dir.path())
        .args([
            "history",
            "--format",
            "markdown",
            "--out",
            "h/history.md",
            "--now",
            now,
        ])
        .args(["--state-dir", "none"])
        .assert()
        .success();
    let md = std::fs::read_to_string(dir.path().join("h/history.md")).unwrap();
    assert!(
        md.contains("stage failed: percent-10 passed in run r1"),
        "{md}"
    );
    for chart in [
        "h/history-charts/score--checkout.svg",
        "h/history-charts/recovery--checkout--dependency-latency--percent-10.svg",
    ] {
        let svg = std::fs::read_to_string(dir.path().join(chart)).unwrap();
        assert!(svg.starts_with("<svg"), "{chart}");
    }
}
