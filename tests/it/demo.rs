//! The quick start (issue 9, acceptance 2): `scripts/demo` itself — seed, mine, derive, plan,
//! the simulated workload and `gameday run` — on an emulator of its own, with a shorter history
//! and shorter FIS experiment states; then what the run left on disk. Then the learning loop
//! over those recorded runs (issue 18, acceptance 2 and 3): the next `gameday plan` ranks the
//! class the run passed below an unverified one and the class it failed first, and the quick
//! start run a second time shows a two-run history and "Since last time" in its post-mortem.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gameday::model::journal::read_journal;
use gameday::model::record::Entry;

use crate::support::{demo_emulator, gameday, repo};

/// Longest the demo may take here before the test gives up on it.
const DEMO_TIMEOUT: Duration = Duration::from_secs(480);

fn of_kind<'a>(entries: &'a [Entry], kind: &str) -> Vec<&'a Entry> {
    entries.iter().filter(|e| e.kind == kind).collect()
}

fn field<'a>(e: &'a Entry, key: &str) -> &'a str {
    e.data[key].as_str().unwrap_or_default()
}

/// Runs `scripts/demo` with the test's binary and emulator; returns (exit code, stdout, stderr).
fn run_demo(dir: &Path, run_id: &str) -> (Option<i32>, String, String) {
    let (stdout, stderr) = (dir.join("demo.stdout"), dir.join("demo.stderr"));
    let mut cmd = Command::new(repo().join("scripts/demo"));
    for (key, value) in crate::support::test_env(dir) {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let mut child = cmd
        .env("GAMEDAY_BIN", assert_cmd::cargo::cargo_bin("gameday"))
        .env("GAMEDAY_DEMO_ENDPOINT", &demo_emulator().url)
        .env("GAMEDAY_DEMO_OUT", dir.join("demo"))
        .env("GAMEDAY_DEMO_REPORTS", dir.join("reports"))
        .env("GAMEDAY_DEMO_RUN_ID", run_id)
        .env("GAMEDAY_DEMO_FAST", "1")
        .env("GAMEDAY_DEMO_FIS_STATE_SECS", "4")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("scripts/demo starts");
    let deadline = Instant::now() + DEMO_TIMEOUT;
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (code, read(&stdout), read(&stderr))
}

#[test]
fn the_quick_start_runs_a_gameday_where_checkout_passes_and_the_guard_stops_payments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run_id = "demo-ci";
    first_run(dir.path(), run_id);
    // Issue 18, acceptance 2: the next plan reads the recorded run.
    next_plan_ranks_by_the_recorded_run(dir.path());
    // Issue 18, acceptance 3: the quick start a second time.
    second_run(dir.path(), run_id, "demo-ci-2");
}

/// The first quick start: checkout passes every stage, the guard stops payments.
fn first_run(dir: &Path, run_id: &str) {
    let started = Instant::now();
    let (code, stdout, stderr) = run_demo(dir, run_id);
    let workload_log = std::fs::read_to_string(dir.join("demo/workload.log")).unwrap_or_default();
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}\nworkload:\n{workload_log}");
    assert_eq!(code, Some(0), "scripts/demo failed or timed out\n{context}");
    eprintln!("scripts/demo took {} s", started.elapsed().as_secs());
    // The run itself ended with exit 4 (aborted), which the script accepts as the demo's outcome.
    assert!(stdout.contains("run exit code: 4"), "{context}");

    let run_dir = dir.join("reports").join(run_id);
    let entries = read_journal(&run_dir.join("journal.jsonl"))
        .expect("the run's journal")
        .entries;
    let finished = of_kind(&entries, "stage-finished");
    let outcomes: Vec<(&str, &str, &str)> = finished
        .iter()
        .map(|e| {
            (
                field(e, "scenario"),
                field(e, "stage"),
                e.data["verdict"]["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("checkout-memory-exhaustion", "count-1", "passed"),
            ("checkout-memory-exhaustion", "percent-10", "passed"),
            ("checkout-memory-exhaustion", "percent-25", "passed"),
            ("payments-memory-exhaustion", "count-1", "passed"),
            ("payments-memory-exhaustion", "percent-10", "aborted"),
        ],
        "{context}"
    );
    // Checkout reacted to its last stage (p99 ×1.02, a move smaller than the ±4 % noise, so the
    // stage's worst value need not exceed the baseline median) and stayed inside its bound.
    assert!(
        workload_log.lines().any(|l| l
            .contains("SIMULATION: checkout reacts to the running fault")
            && l.contains("p99 ×1.02")
            && l.contains("checkout-memory-exhaustion/percent-25")),
        "{workload_log}"
    );
    let checkout_p99 = &finished[2].data["verdict"]["metrics"][0];
    assert_eq!(checkout_p99["metric"], "p99_latency_ms");
    assert!(
        checkout_p99["worst"].as_f64() <= checkout_p99["upper"].as_f64(),
        "{checkout_p99:#}"
    );

    // Payments was stopped by the guard, and the stop was confirmed.
    let abort = of_kind(&entries, "abort");
    assert_eq!(abort.len(), 1, "{abort:?}");
    assert_eq!(abort[0].data["reason"], "guard");
    assert_eq!(field(abort[0], "scenario"), "payments-memory-exhaustion");
    assert_eq!(field(abort[0], "stage"), "percent-10");
    assert!(
        field(abort[0], "detail").contains("p99_latency_ms"),
        "{abort:?}"
    );
    let confirmed = of_kind(&entries, "stop-confirmed");
    assert_eq!(confirmed.len(), 1, "{confirmed:?}");
    assert_eq!(confirmed[0].data["status"], "stopped");
    let run_finished = of_kind(&entries, "run-finished");
    assert_eq!(run_finished[0].data["outcome"], "aborted");
    assert_eq!(run_finished[0].data["abort_reason"], "guard");

    // The simulated workload reacted to the experiments it saw running, and said so.
    assert!(
        workload_log.contains("SIMULATION: payments reacts to the running fault"),
        "{workload_log}"
    );
    assert!(workload_log.contains("p99 ×10"), "{workload_log}");

    // The post-mortem with its charts, one passed and one aborted scenario.
    let postmortem = run_dir.join("postmortem.md");
    let text = std::fs::read_to_string(&postmortem).expect("postmortem.md written");
    assert!(text.contains("payments-memory-exhaustion"), "{text}");
    assert!(text.contains("checkout-memory-exhaustion"), "{text}");
    assert!(stdout.contains("postmortem.md"), "{context}");
    // The demo skips the cluster (--skip-kube): the report says plainly what that leaves unknown.
    assert!(
        text.contains("FIS listed none and the cluster check is skipped (--skip-kube): which pods, and how many, were not verified"),
        "{text}"
    );
    // The config the demo wrote passes `doctor` on the emulator once the cluster is skipped: the
    // FIS role it names exists there (issue 20, the first hour).
    let doctor = gameday(dir)
        .arg("--config")
        .arg(dir.join("demo/gameday.yaml"))
        .args(["doctor", "--skip-kube"])
        .output()
        .expect("doctor runs");
    assert!(
        doctor.status.success(),
        "doctor with the demo config:\n{}{}",
        String::from_utf8_lossy(&doctor.stdout),
        String::from_utf8_lossy(&doctor.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("summary.json")).expect("summary.json written"),
    )
    .expect("summary.json parses");
    assert_eq!(summary["outcome"], "aborted");
    let outcomes: Vec<(String, String)> = summary["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("checkout-memory-exhaustion".to_owned(), "passed".to_owned()),
            (
                "payments-memory-exhaustion".to_owned(),
                "aborted".to_owned()
            ),
        ]
    );
    let charts: Vec<_> = std::fs::read_dir(run_dir.join("charts"))
        .expect("charts written")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "svg"))
        .collect();
    assert!(!charts.is_empty());
    for link in text.split("](").skip(1).filter_map(|l| l.split(')').next()) {
        if link.starts_with("charts/") {
            assert!(
                run_dir.join(link).is_file(),
                "chart {link} linked but missing"
            );
        }
    }
}

/// The planned scenarios of a scenario file, per service in planned order: (class, why chosen).
fn planned(path: &Path) -> Vec<(String, String, String)> {
    let yaml = std::fs::read_to_string(path).expect("planned scenario file");
    let g = gameday::plan::load_scenario(path, &yaml).expect("the planned file loads");
    g.scenarios
        .iter()
        .map(|s| {
            (
                s.service.clone(),
                s.fault_class.clone(),
                s.why.chosen_because.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn classes_of<'a>(plan: &'a [(String, String, String)], service: &str) -> Vec<&'a str> {
    plan.iter()
        .filter(|(s, _, _)| s == service)
        .map(|(_, c, _)| c.as_str())
        .collect()
}

/// `gameday plan` of every class for checkout and payments, from the first run's catalogue and
/// hypotheses, reading the journals under `reports_dir`.
fn plan_all(dir: &Path, reports_dir: &str, out_dir: &str) -> Vec<(String, String, String)> {
    let out = gameday(dir)
        .env("GAMEDAY_CONFIG", dir.join("demo/gameday.yaml"))
        .args([
            "-q", "plan", "--name", "ranking", "--owner", "sre-team", "--top", "20",
        ])
        .args(["--service", "checkout", "--service", "payments"])
        .args(["--incidents", "demo/incidents.json"])
        .args(["--hypotheses", "demo/hypotheses-checkout.json"])
        .args(["--hypotheses", "demo/hypotheses-payments.json"])
        .args(["--reports-dir", reports_dir, "--out-dir", out_dir])
        .output()
        .expect("gameday plan runs");
    assert!(
        out.status.success(),
        "plan failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    planned(&dir.join(out_dir).join("scenarios/ranking.yaml"))
}

/// After the recorded run (checkout passed memory-exhaustion, payments was aborted in it), the
/// next plan ranks checkout's class below the classes no run has verified, and payments' first;
/// without the history (an empty reports directory) the catalogue's own order stands.
fn next_plan_ranks_by_the_recorded_run(dir: &Path) {
    const CLASS: &str = "memory-exhaustion";
    std::fs::create_dir_all(dir.join("no-runs")).expect("empty reports dir");
    let before = plan_all(dir, "no-runs", "plan-without-history");
    let after = plan_all(dir, "reports", "plan-after-run");
    let context = format!("without history: {before:#?}\nafter the run: {after:#?}");

    // The catalogue alone ranks memory-exhaustion first for both (the demo planned it with
    // --top 1), so any change below comes from the recorded run.
    assert_eq!(
        classes_of(&before, "checkout").first(),
        Some(&CLASS),
        "{context}"
    );
    assert_eq!(
        classes_of(&before, "payments").first(),
        Some(&CLASS),
        "{context}"
    );

    // Passed: below every class a run has not verified (it is planned last).
    let checkout = classes_of(&after, "checkout");
    assert!(checkout.len() >= 2, "{context}");
    assert_eq!(checkout.last(), Some(&CLASS), "{context}");
    for (service, class, why) in after.iter().filter(|(s, _, _)| s == "checkout") {
        if class == CLASS {
            assert!(
                why.starts_with("already verified"),
                "{service} {class}: {why}"
            );
        } else {
            assert!(
                why.starts_with("never exercised") || why.starts_with("unverified"),
                "{service} {class}: {why}"
            );
        }
    }
    // Failed (aborted by the guard): ranked first, saying why.
    let payments: Vec<&(String, String, String)> =
        after.iter().filter(|(s, _, _)| s == "payments").collect();
    assert_eq!(payments[0].1, CLASS, "{context}");
    assert!(
        payments[0].2.starts_with("ranked first"),
        "{}",
        payments[0].2
    );
}

/// The quick start a second time, on the same reports directory: `gameday history` shows both
/// runs, and the second post-mortem has "Since last time".
fn second_run(dir: &Path, first: &str, second: &str) {
    let (code, stdout, stderr) = run_demo(dir, second);
    let workload_log = std::fs::read_to_string(dir.join("demo/workload.log")).unwrap_or_default();
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}\nworkload:\n{workload_log}");
    assert_eq!(code, Some(0), "the second scripts/demo failed\n{context}");
    // The script closes with `gameday history`: two runs now.
    assert!(stdout.contains("2 run(s) read"), "{context}");

    // The second GameDay was planned from the first: payments' failed class again, checkout's
    // verified one replaced by a class no run has verified.
    let plan = planned(&dir.join("demo/scenarios/rehearsal.yaml"));
    assert_eq!(
        classes_of(&plan, "payments"),
        ["memory-exhaustion"],
        "{plan:#?}"
    );
    let checkout = classes_of(&plan, "checkout");
    assert_eq!(checkout.len(), 1, "{plan:#?}");
    assert_ne!(checkout[0], "memory-exhaustion", "{plan:#?}");

    let out = gameday(dir)
        .args(["history", "--reports-dir", "reports", "--format", "json"])
        .args(["--state-dir", "none"])
        .output()
        .expect("gameday history runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).expect("history JSON");
    let runs: Vec<&str> = h["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["run_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(runs, [first, second], "{h:#}");
    let record = |service: &str, class: &str| {
        h["records"]
            .as_array()
            .expect("records")
            .iter()
            .find(|r| r["service"] == service && r["class"] == class)
            .unwrap_or_else(|| panic!("no record for {service} {class}: {h:#}"))
            .clone()
    };
    // payments' class was exercised by both runs; checkout's first class by the first only.
    assert_eq!(record("payments", "memory-exhaustion")["runs"], 2, "{h:#}");
    assert_eq!(record("checkout", "memory-exhaustion")["runs"], 1, "{h:#}");
    assert_eq!(record("checkout", checkout[0])["runs"], 1, "{h:#}");

    let run_dir = dir.join("reports").join(second);
    let text = std::fs::read_to_string(run_dir.join("postmortem.md")).expect("postmortem.md");
    let since = text
        .split("## Since last time")
        .nth(1)
        .unwrap_or_else(|| panic!("no \"Since last time\" in the second post-mortem:\n{text}"));
    let since = since.split("\n## ").next().unwrap_or_default();
    assert!(
        since.contains(first),
        "the section names the previous run: {since}"
    );
    assert!(
        since.contains("checkout") && since.contains("payments"),
        "{since}"
    );
    let first_text = std::fs::read_to_string(dir.join("reports").join(first).join("postmortem.md"))
        .expect("first postmortem.md");
    assert!(
        !first_text.contains("## Since last time"),
        "nothing before the first run"
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("summary.json")).expect("summary.json"),
    )
    .expect("summary.json parses");
    assert!(
        summary["resilience"]["since_last_time"].is_object(),
        "{summary:#}"
    );
}
