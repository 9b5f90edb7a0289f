//! `gameday steady-state derive|check` from CSV files.

use predicates::prelude::*;

use crate::support::{dir_with_config, gameday};

fn nab(name: &str) -> std::path::PathBuf {
    crate::support::repo()
        .join("../shared/data/metrics")
        .join(name)
}

#[test]
fn derive_then_check_round_trips_and_flags_the_anomaly() {
    let dir = dir_with_config("");
    let csv = nab("elb_request_count_8c0756.csv");
    let out = gameday(dir.path())
        .args([
            "steady-state",
            "derive",
            "--learn-until",
            "2014-04-12T00:00:00Z",
            "--from-csv",
        ])
        .arg(&csv)
        .assert()
        .success();
    let hypothesis = dir.path().join("h.json");
    std::fs::write(&hypothesis, &out.get_output().stdout).unwrap();
    let h: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(h["status"]["state"], "ok");
    let upper = h["abort"]["upper"]
        .as_f64()
        .expect("an upper abort threshold");

    let out = gameday(dir.path())
        .args(["steady-state", "check", "--hypothesis"])
        .arg(&hypothesis)
        .arg("--from-csv")
        .arg(&csv)
        .assert()
        .success()
        .stderr(predicate::str::contains("points"));
    let verdicts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count() - 1;
    assert_eq!(verdicts.len(), rows, "one verdict per input point");
    assert!(
        verdicts.iter().any(|v| v["breach"] == true),
        "the labelled anomaly breaches"
    );
    for v in &verdicts {
        for key in ["timestamp", "value", "lower", "upper", "breach"] {
            assert!(v.get(key).is_some(), "verdict has {key}: {v}");
        }
        // A point far above the static upper abort threshold is always a breach candidate.
        if v["value"].as_f64().unwrap() > upper * 3.0 {
            assert_eq!(v["upper"].as_f64().map(|u| u <= upper), Some(true));
        }
    }
}

#[test]
fn bad_csv_names_the_line_and_exits_2() {
    let dir = dir_with_config("");
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "timestamp,value\n2026-01-01 00:00:00,1.0\n2026-01-01 00:01:00,abc\n",
    )
    .unwrap();
    gameday(dir.path())
        .args(["steady-state", "derive", "--from-csv"])
        .arg(&csv)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3"));
}
