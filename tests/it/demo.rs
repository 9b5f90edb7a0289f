//! The quick start (issue 9, acceptance 2): `scripts/demo` itself — seed, mine, derive, plan,
//! the simulated workload and `gameday run` — on an emulator of its own, with a shorter history
//! and shorter FIS experiment states; then what the run left on disk.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gameday::model::journal::read_journal;
use gameday::model::record::Entry;

use crate::support::{demo_emulator, repo};

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
    let started = Instant::now();
    let (code, stdout, stderr) = run_demo(dir.path(), run_id);
    let workload_log =
        std::fs::read_to_string(dir.path().join("demo/workload.log")).unwrap_or_default();
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}\nworkload:\n{workload_log}");
    assert_eq!(code, Some(0), "scripts/demo failed or timed out\n{context}");
    eprintln!("scripts/demo took {} s", started.elapsed().as_secs());
    // The run itself ended with exit 4 (aborted), which the script accepts as the demo's outcome.
    assert!(stdout.contains("run exit code: 4"), "{context}");

    let run_dir = dir.path().join("reports").join(run_id);
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
    // Checkout's latency moved under the fault but stayed inside its bound.
    let checkout_p99 = &finished[2].data["verdict"]["metrics"][0];
    assert_eq!(checkout_p99["metric"], "p99_latency_ms");
    assert!(
        checkout_p99["worst"].as_f64() > checkout_p99["baseline_median"].as_f64(),
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
