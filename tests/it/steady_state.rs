//! `gameday steady-state derive|check` from CSV files.

use predicates::prelude::*;

use crate::support::{dir_with_config, gameday};

fn nab(name: &str) -> std::path::PathBuf {
    gameday::testdata::metrics(name)
}

/// `steady-state derive --learn-until UNTIL [ARGS] --from-csv CSV`, which must succeed; its
/// hypothesis is written to `h.json` in `dir`. Returns that path and the parsed hypothesis.
fn derive_to_file(
    dir: &std::path::Path,
    csv: &std::path::Path,
    until: &str,
    args: &[&str],
) -> (std::path::PathBuf, serde_json::Value) {
    let out = gameday(dir)
        .args(["steady-state", "derive", "--learn-until", until])
        .args(args)
        .arg("--from-csv")
        .arg(csv)
        .assert()
        .success();
    let stdout = &out.get_output().stdout;
    let hypothesis = dir.join("h.json");
    std::fs::write(&hypothesis, stdout).expect("hypothesis file written");
    (
        hypothesis,
        serde_json::from_slice(stdout).expect("derive writes JSON"),
    )
}

#[test]
fn derive_then_check_round_trips_and_flags_the_anomaly() {
    let dir = dir_with_config("");
    let csv = nab("elb_request_count_8c0756.csv");
    let (hypothesis, h) = derive_to_file(dir.path(), &csv, "2014-04-12T00:00:00Z", &[]);
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

/// A level shift after learning: `check` says when the judge accepted the new level and when its
/// band settled on the level alone, so a human re-derives from then on.
#[test]
fn check_reports_when_a_new_level_was_accepted_and_settled() {
    let dir = dir_with_config("");
    let csv = nab("rds_cpu_utilization_cc0c53.csv");
    let (hypothesis, _) = derive_to_file(
        dir.path(),
        &csv,
        "2014-02-16T16:50:00Z",
        &["--direction", "both"],
    );
    // From 6 to about 14.5 on 2014-02-25 at 07:15, with a spike to 25 at the jump.
    gameday(dir.path())
        .args(["steady-state", "check", "--format", "table", "--hypothesis"])
        .arg(&hypothesis)
        .arg("--from-csv")
        .arg(&csv)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "new normal accepted at 2014-02-25T11:45:00Z (re-derive the hypothesis from the data since); band settled at 2014-02-25T17:45:00Z",
        ));
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

/// Acceptance: with 30 days of seasonal metrics (and incident periods) in the emulator,
/// `derive --service X --apply` creates alarms whose thresholds equal the derived ones,
/// DescribeAlarms shows them, and a second run changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn derive_service_apply_creates_matching_alarms_idempotently() {
    use gameday::provider::{AlarmStore as _, MetricDatum};

    let c = crate::support::clients().await;
    let service = crate::support::unique("svc").replace('-', "_");
    let dims = std::collections::BTreeMap::from([("Service".to_owned(), service.clone())]);
    let now = chrono::Utc::now().timestamp();
    let first = now - 29 * 86_400;
    let first = first - first.rem_euclid(300);
    let mut data = Vec::new();
    let mut seed = 42u64;
    let mut noise = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        ((seed >> 33) as f64 / f64::from(1u32 << 31)) - 0.5
    };
    let mut ts = first;
    while ts < now - 3600 {
        let hour = (ts.rem_euclid(86_400)) as f64 / 3600.0;
        let daily = (std::f64::consts::TAU * hour / 24.0).sin();
        // Three two-hour incident periods with a large latency spike.
        let incident = [5, 12, 20]
            .iter()
            .any(|d| (ts - first) / 3600 / 24 == *d && (ts - first) / 3600 % 24 < 2);
        let latency = 120.0 + 40.0 * daily + 10.0 * noise() + if incident { 900.0 } else { 0.0 };
        let requests = 1000.0 + 400.0 * daily + 50.0 * noise();
        let timestamp = chrono::DateTime::from_timestamp(ts, 0).unwrap();
        for (name, value) in [("LatencyP99", latency), ("Requests", requests)] {
            data.push(MetricDatum {
                name: name.into(),
                dimensions: dims.clone(),
                timestamp,
                value,
                high_resolution: false,
            });
        }
        ts += 300;
    }
    c.put_metric_data("GameDay/Demo", &data)
        .await
        .expect("seed metrics");

    let config = format!(
        "services:\n  - name: {service}\n    metrics:\n      - name: p99_latency_ms\n        direction: upper\n        slo: 2000\n        metric: {{namespace: GameDay/Demo, name: LatencyP99, dimensions: {{Service: {service}}}, stat: Average, period: 5m}}\n      - name: requests\n        direction: lower\n        metric: {{namespace: GameDay/Demo, name: Requests, dimensions: {{Service: {service}}}, stat: Sum, period: 5m}}\n"
    );
    let dir = dir_with_config(&config);
    let url = crate::support::emulator().url.clone();
    let run = |dir: std::path::PathBuf, url: String, service: String| {
        let out = gameday(&dir)
            .args([
                "steady-state",
                "derive",
                "--service",
                &service,
                "--lookback",
                "30d",
                "--apply",
                "--endpoint-url",
                &url,
            ])
            .assert()
            .success();
        let o = out.get_output();
        (
            o.stdout.clone(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (d, u, s) = (dir.path().to_owned(), url.clone(), service.clone());
    let (stdout, stderr) = tokio::task::spawn_blocking(move || run(d, u, s))
        .await
        .unwrap();
    let derived: serde_json::Value = serde_json::from_slice(&stdout).expect("hypotheses JSON");
    let alarms = derived["alarms"].as_array().expect("alarms");
    assert!(!alarms.is_empty(), "stop-condition alarms derived");
    assert_eq!(stderr.matches("created").count(), alarms.len(), "{stderr}");
    assert_eq!(derived["metrics"].as_array().unwrap().len(), 2);
    assert!(
        derived["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"]["state"] == "ok"),
        "both series are learnable: {}",
        derived["metrics"]
    );

    let names: Vec<String> = alarms
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    let described = c.describe_alarms(&names).await.expect("describe");
    assert_eq!(
        described.len(),
        names.len(),
        "DescribeAlarms shows every alarm"
    );
    for a in alarms {
        let name = a["name"].as_str().unwrap();
        let live = described.iter().find(|d| d.name == name).unwrap();
        assert_eq!(
            live.threshold,
            a["threshold"].as_f64(),
            "{name}: threshold as derived"
        );
        assert!(name.starts_with(&format!("gameday-{service}-")), "{name}");
    }

    let (d, u, s) = (dir.path().to_owned(), url, service);
    let (_, stderr2) = tokio::task::spawn_blocking(move || run(d, u, s))
        .await
        .unwrap();
    assert_eq!(
        stderr2.matches("unchanged").count(),
        alarms.len(),
        "second run changes nothing: {stderr2}"
    );
    assert!(
        !stderr2.contains("created") && !stderr2.contains("updated"),
        "{stderr2}"
    );
}

/// One labelled series of the NAB protocol.
struct Labelled {
    /// `file.csv` or `category/file.csv`, as keyed in `anomaly_windows.json`.
    name: String,
    points: Vec<gameday::steady_state::Point>,
    /// Labelled anomaly windows `[start, end)`, epoch seconds.
    windows: Vec<(i64, i64)>,
}

/// Every labelled series: the three CloudWatch series at the top of `metrics/` and the 30 of
/// `metrics/nab-other/`, sorted by name.
fn labelled_series() -> Vec<Labelled> {
    use gameday::steady_state::{parse_csv, parse_ts};
    let mut out = Vec::new();
    for sub in ["", "nab-other"] {
        let dir = nab(sub);
        let labels: std::collections::BTreeMap<String, Vec<(String, String)>> =
            serde_json::from_str(
                &std::fs::read_to_string(dir.join("anomaly_windows.json")).expect("labels"),
            )
            .expect("labels parse");
        for (file, windows) in labels {
            let text = std::fs::read_to_string(dir.join(&file)).expect("series");
            out.push(Labelled {
                name: file,
                points: parse_csv(&text).expect("series parses"),
                windows: windows
                    .iter()
                    .map(|(a, b)| (parse_ts(a).expect("start"), parse_ts(b).expect("end")))
                    .collect(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The NAB protocol's learning cut-off: the timestamp of point ⌊0.15·n⌋, at most point 750
/// (NAB's probationary period).
fn learn_cut(points: &[gameday::steady_state::Point]) -> i64 {
    points[(points.len() * 15 / 100).min(750)].ts
}

/// One series judged by the protocol.
struct Judged {
    name: String,
    points: usize,
    bins: usize,
    false_aborts: usize,
    windows: usize,
    caught: usize,
}

/// Learns exactly as `steady-state derive --from-csv F --learn-until T --direction both` and
/// judges every point from T on exactly as `steady-state check` (the same library calls), then
/// scores 30-minute bins against the labelled windows.
fn judge(s: &Labelled) -> Judged {
    use gameday::steady_state::{DeriveOptions, Direction, check, derive, evaluate};
    let cut = learn_cut(&s.points);
    let opts = DeriveOptions {
        metric: s.name.clone(),
        direction: Direction::Both,
        learn_until: Some(cut),
        ..DeriveOptions::default()
    };
    let h = derive(&s.points, &opts).expect("default options are valid");
    let later: Vec<_> = s.points.iter().copied().filter(|p| p.ts >= cut).collect();
    let e = evaluate(&check(&h, &later), &s.windows, 1800);
    Judged {
        name: s.name.clone(),
        points: s.points.len(),
        bins: e.outside_bins,
        false_aborts: e.false_abort_bins,
        windows: e.windows,
        caught: e.windows_caught,
    }
}

/// Pooled totals of some judged series: (bins, false aborts, windows, caught).
fn pooled<'a>(rows: impl Iterator<Item = &'a Judged>) -> (usize, usize, usize, usize) {
    rows.fold((0, 0, 0, 0), |(b, f, w, c), r| {
        (b + r.bins, f + r.false_aborts, w + r.windows, c + r.caught)
    })
}

fn pct(part: usize, whole: usize) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

/// Held-out series while developing the method: every third series by name (the others were
/// looked at while choosing it); both halves are reported.
fn held_out(index: usize) -> bool {
    index % 3 == 2
}

/// Acceptance of issue 16 (the NAB protocol on all 33 labelled series), held tighter than the
/// issue's targets (pooled false aborts ≤ 1 %, no series above 3 %, ≥ 70 % caught) to what the
/// method measures with some margin (0.53 %, 2.44 %, 81.4 %, see `docs/steady-state.md`):
/// pooled false aborts ≤ 0.6 %, no series above 2.5 %, ≥ 80 % of labelled windows caught.
/// Prints the per-series table.
#[test]
fn issue_16_nab_protocol_targets() {
    let series = labelled_series();
    assert_eq!(series.len(), 33, "3 CloudWatch + 30 nab-other series");
    let rows: Vec<Judged> = series.iter().map(judge).collect();
    println!(
        "{:<58} {:>6} {:>5} {:>5} {:>6} {:>7}",
        "series (* = held out)", "points", "bins", "FA", "FA %", "caught"
    );
    for (i, r) in rows.iter().enumerate() {
        println!(
            "{:<58} {:>6} {:>5} {:>5} {:>6.2} {:>3}/{:<3}",
            format!("{}{}", if held_out(i) { "* " } else { "  " }, r.name),
            r.points,
            r.bins,
            r.false_aborts,
            pct(r.false_aborts, r.bins),
            r.caught,
            r.windows
        );
    }
    let report = |label: &str, (b, f, w, c): (usize, usize, usize, usize)| {
        println!(
            "{label:<22} false aborts {f}/{b} bins = {:.2} %, windows caught {c}/{w} = {:.1} %",
            pct(f, b),
            pct(c, w)
        );
    };
    let dev = pooled(
        rows.iter()
            .enumerate()
            .filter(|(i, _)| !held_out(*i))
            .map(|(_, r)| r),
    );
    let held = pooled(
        rows.iter()
            .enumerate()
            .filter(|(i, _)| held_out(*i))
            .map(|(_, r)| r),
    );
    let all = pooled(rows.iter());
    report("developed on (22)", dev);
    report("held out (11)", held);
    report("all 33", all);
    let worst = rows
        .iter()
        .max_by(|a, b| pct(a.false_aborts, a.bins).total_cmp(&pct(b.false_aborts, b.bins)))
        .expect("33 rows");
    println!(
        "worst series: {} at {:.2} %",
        worst.name,
        pct(worst.false_aborts, worst.bins)
    );
    let (bins, false_aborts, windows, caught) = all;
    assert!(
        pct(false_aborts, bins) <= 0.6,
        "pooled false aborts {false_aborts}/{bins}"
    );
    assert!(
        pct(worst.false_aborts, worst.bins) <= 2.5,
        "{} above 2.5 %",
        worst.name
    );
    assert!(pct(caught, windows) >= 80.0, "caught {caught}/{windows}");
}
