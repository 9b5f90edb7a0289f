//! `gameday schedule`: list, run-due and serve with a stand-in `gameday run`, and the exports.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{dir_with_config, emulator, gameday, repo, unique};

const CONFIG: &str = "environment: staging\nschedule:\n  - name: weekly\n    cron: \"0 10 * * TUE\"\n    timezone: Europe/Berlin\n    scenario: scenarios/checkout-example.yaml\n    missed: run-late\n    grace: 30m\n";

/// A temp dir with the config above and the example scenario next to it.
fn workspace() -> tempfile::TempDir {
    let dir = dir_with_config(CONFIG);
    std::fs::create_dir_all(dir.path().join("scenarios")).expect("mkdir");
    std::fs::copy(
        repo().join("scenarios/checkout-example.yaml"),
        dir.path().join("scenarios/checkout-example.yaml"),
    )
    .expect("copy scenario");
    dir
}

/// A stand-in for `gameday run` (the real one is not the scheduler's to test): it records its
/// arguments, writes the report files `run` writes, and exits with `code`; on SIGINT it records
/// that and exits 4 as `run` does after stopping its experiment.
fn stand_in(dir: &Path, code: i32, wait_for_sigint: bool) -> PathBuf {
    let path = dir.join("gameday-stand-in");
    let body = format!(
        r#"#!/bin/sh
echo "$@" >> "{d}/args"
while [ $# -gt 0 ]; do
  case "$1" in --run-id) id="$2";; --reports-dir) reports="$2";; esac; shift
done
mkdir -p "$reports/$id"
echo '{{"outcome":"scripted"}}' > "$reports/$id/summary.json"
echo '# post-mortem' > "$reports/$id/postmortem.md"
trap 'echo interrupted >> "{d}/args"; exit 4' INT
if [ "{w}" = "true" ]; then touch "{d}/running"; while :; do sleep 0.05; done; fi
exit {code}
"#,
        d = dir.display(),
        w = wait_for_sigint,
    );
    std::fs::write(&path, body).expect("write stand-in");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn history(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(".gameday/state/history.jsonl"))
        .expect("history")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn schedule_refuses_an_entry_whose_scenario_file_is_missing_at_its_location() {
    // The config without the scenario file next to it.
    let dir = dir_with_config(CONFIG);
    for sub in [
        &["list"][..],
        &["export", "--kubernetes", "--out", "k8s"][..],
    ] {
        gameday(dir.path())
            .arg("schedule")
            .args(sub)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(
                "gameday.yaml:6:5: schedule[0].scenario: entry `weekly`: scenario file \
                 scenarios/checkout-example.yaml does not exist",
            ));
    }
}

#[test]
fn schedule_list_prints_the_next_five_fire_times_local_and_utc() {
    let dir = workspace();
    let out = gameday(dir.path())
        .args(["schedule", "list", "--now", "2026-03-20T00:00:00Z"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    // The DST change in Berlin (2026-03-29) moves the UTC time by an hour.
    assert_eq!(
        lines[1],
        "  Tue 2026-03-24 10:00 CET (+01:00)   2026-03-24 09:00 UTC"
    );
    assert_eq!(
        lines[2],
        "  Tue 2026-03-31 10:00 CEST (+02:00)   2026-03-31 08:00 UTC"
    );
}

#[test]
fn schedule_list_refuses_a_bad_timezone_with_its_location() {
    let dir = dir_with_config(
        "schedule:\n  - name: weekly\n    cron: \"0 10 * * TUE\"\n    timezone: Europe/Berln\n",
    );
    gameday(dir.path())
        .args(["schedule", "list"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "gameday.yaml:4:5: schedule[0].timezone",
        ));
}

#[test]
fn schedule_run_due_launches_gameday_run_once_and_records_it() {
    let dir = workspace();
    let bin = stand_in(dir.path(), 3, false);
    let run_due = || {
        gameday(dir.path())
            .args([
                "schedule",
                "run-due",
                "--now",
                "2026-03-24T09:02:00Z",
                "--gameday-bin",
            ])
            .arg(&bin)
            .assert()
    };
    run_due().code(3).stdout(predicates::str::contains(
        "sched-weekly-20260324T0900Z  hypothesis-failed (exit 3)",
    ));
    let args = std::fs::read_to_string(dir.path().join("args")).expect("the stand-in ran");
    assert_eq!(
        args.trim(),
        "run scenarios/checkout-example.yaml --yes --run-id sched-weekly-20260324T0900Z --trigger schedule:weekly --reports-dir reports"
    );
    // The same instant is never fired twice.
    run_due()
        .success()
        .stdout(predicates::str::contains("nothing due"));
    let h = history(dir.path());
    let kinds: Vec<&str> = h
        .iter()
        .map(|r| r["record"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(kinds, ["created", "fired", "finished"]);
    assert_eq!(h[2]["exit_code"], 3);
    assert_eq!(h[2]["outcome"], "hypothesis-failed");
    assert_eq!(
        h[2]["report"],
        "reports/sched-weekly-20260324T0900Z/postmortem.md"
    );
}

#[test]
fn schedule_serve_stops_a_running_game_day_through_sigint_on_shutdown() {
    let dir = workspace();
    let bin = stand_in(dir.path(), 0, true);
    let mut daemon = std::process::Command::new(assert_cmd::cargo::cargo_bin("gameday"))
        .current_dir(dir.path())
        .env_remove("GAMEDAY_CONFIG")
        .args([
            "schedule",
            "serve",
            "--now",
            "2026-03-24T08:59:59Z",
            "--gameday-bin",
        ])
        .arg(&bin)
        .spawn()
        .expect("daemon starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("running").exists() {
        assert!(Instant::now() < deadline, "the scheduled run never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::SIGINT).expect("SIGINT to the daemon");
    let status = daemon.wait().expect("daemon exits");
    assert!(status.success(), "{status}");
    let args = std::fs::read_to_string(dir.path().join("args")).expect("args");
    assert!(
        args.ends_with("interrupted\n"),
        "the run got SIGINT once: {args}"
    );
    let h = history(dir.path());
    let finished = h
        .iter()
        .find(|r| r["record"] == "finished")
        .expect("finished record");
    assert_eq!(finished["exit_code"], 4);
    assert_eq!(finished["outcome"], "aborted");
}

#[test]
fn schedule_export_kubernetes_writes_cronjobs_that_parse_back() {
    let dir = workspace();
    gameday(dir.path())
        .args([
            "schedule",
            "export",
            "--kubernetes",
            "--out",
            "k8s",
            "--image",
            "example/gameday:1",
        ])
        .assert()
        .success();
    let text =
        std::fs::read_to_string(dir.path().join("k8s/cronjob-weekly.yaml")).expect("cronjob");
    let job: k8s_openapi::api::batch::v1::CronJob = yaml_serde::from_str(&text).expect("a CronJob");
    let spec = job.spec.expect("spec");
    assert_eq!(spec.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    assert_eq!(spec.starting_deadline_seconds, Some(1800));
    let cm = std::fs::read_to_string(dir.path().join("k8s/configmap.yaml")).expect("configmap");
    let cm: k8s_openapi::api::core::v1::ConfigMap = yaml_serde::from_str(&cm).expect("a ConfigMap");
    let data = cm.data.expect("data");
    assert_eq!(data["gameday.yaml"], CONFIG);
    assert!(data["scenario-weekly.yaml"].contains("checkout-example"));
}

#[tokio::test]
async fn schedule_export_eventbridge_creates_then_updates_on_the_emulator() {
    let dir = workspace();
    let entry = unique("eb").replace('_', "-");
    let config = CONFIG.replace("name: weekly", &format!("name: {entry}"));
    std::fs::write(dir.path().join("gameday.yaml"), &config).expect("config");
    let export = || {
        gameday(dir.path())
            .args([
                "--endpoint-url",
                &emulator().url,
                "schedule",
                "export",
                "--eventbridge",
            ])
            .args([
                "--target-arn",
                "arn:aws:ecs:us-east-1:123456789012:cluster/gameday",
            ])
            .args([
                "--role-arn",
                "arn:aws:iam::123456789012:role/gameday-scheduler",
            ])
            .args([
                "--task-definition",
                "arn:aws:ecs:us-east-1:123456789012:task-definition/gameday:1",
            ])
            .args(["--subnet", "subnet-1"])
            .assert()
            .success()
    };
    export().stdout(predicates::str::contains(format!(
        "created  schedule gameday-{entry}"
    )));
    export().stdout(predicates::str::contains(format!(
        "updated  schedule gameday-{entry}"
    )));
    let (sdk, _) = gameday::provider::aws::sdk_config(&crate::support::emulator_options()).await;
    let client = aws_sdk_scheduler::Client::new(&sdk);
    let got = client
        .get_schedule()
        .name(format!("gameday-{entry}"))
        .send()
        .await
        .expect("GetSchedule");
    assert_eq!(got.schedule_expression(), Some("cron(0 10 ? * TUE *)"));
    assert_eq!(got.schedule_expression_timezone(), Some("Europe/Berlin"));
    assert_eq!(
        got.flexible_time_window().map(|w| w.mode().as_str()),
        Some("OFF")
    );
    let target = got.target().expect("target");
    assert_eq!(
        target.arn(),
        "arn:aws:ecs:us-east-1:123456789012:cluster/gameday"
    );
    let ecs = target.ecs_parameters().expect("ECS RunTask");
    assert_eq!(
        ecs.task_definition_arn(),
        "arn:aws:ecs:us-east-1:123456789012:task-definition/gameday:1"
    );
    let input: serde_json::Value =
        serde_json::from_str(target.input().expect("input")).expect("json");
    let command: Vec<&str> = input["containerOverrides"][0]["command"]
        .as_array()
        .expect("command")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        command
            .windows(3)
            .any(|w| w == ["run-due", "--entry", entry.as_str()]),
        "{command:?}"
    );
    let listed = client.list_schedules().send().await.expect("ListSchedules");
    assert_eq!(
        listed
            .schedules()
            .iter()
            .filter(|s| s.name() == Some(&format!("gameday-{entry}")))
            .count(),
        1,
        "updated in place, not duplicated"
    );
}
