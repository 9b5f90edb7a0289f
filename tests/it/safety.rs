//! Issue 13: nothing a run starts is left running — after a failed stop, a full disk, a lost
//! StartExperiment reply, two recoveries at once, a damaged journal, a signal or a kill at any
//! journal boundary — and faults from AWS (the fault proxy) are survived or reported with the
//! documented exit code. Over the wire, on the emulator whose experiments advance by time.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use gameday::model::journal::{Journal, read_journal};
use gameday::provider::{ExperimentSummary, FaultInjector as _};

use crate::fault_proxy::{Fault, FaultProxy, Rule};
use crate::run::{RunEnv, finish, kinds, of_kind, signal};
use crate::support::unique;

/// An emulator whose FIS experiment states last 5 s each: a stage's experiment runs for
/// about 15 s, so a test that must act on it while it runs (a stop that fails, a blind guard,
/// a full disk) does not race its natural end on a loaded machine.
fn steady_fis_emulator() -> &'static crate::support::Emulator {
    static EMULATOR: std::sync::OnceLock<crate::support::Emulator> = std::sync::OnceLock::new();
    EMULATOR.get_or_init(|| crate::support::emulator_with_fis_states(5))
}

/// A healthy world on [`steady_fis_emulator`].
async fn steady_healthy() -> (RunEnv, tokio::task::JoinHandle<()>) {
    let env = RunEnv::on(steady_fis_emulator(), 1).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    let live = env.publish_live();
    (env, live)
}

/// Experiments tagged with the run (previews included) that are not over.
async fn active(env: &RunEnv, run_id: &str) -> Vec<ExperimentSummary> {
    let mut all = env.all_experiments_of(run_id).await;
    all.retain(|e| {
        !matches!(
            e.status.as_str(),
            "completed" | "stopped" | "failed" | "cancelled"
        )
    });
    all
}

/// Waits (bounded) until nothing tagged with the run is active: `stopping` ends in `stopped`.
async fn assert_nothing_left(env: &RunEnv, run_id: &str) {
    for _ in 0..40 {
        let left = active(env, run_id).await;
        if left.iter().all(|e| e.status == "stopping") && left.is_empty() {
            return;
        }
        if left.iter().all(|e| e.status == "stopping") {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        panic!("experiments of {run_id} still active: {left:?}");
    }
    panic!(
        "experiments of {run_id} never stopped: {:?}",
        active(env, run_id).await
    );
}

/// Every journal line parses, with no torn tail left behind.
fn assert_journal_whole(env: &RunEnv, run_id: &str) {
    let read = read_journal(&env.journal(run_id)).expect("the journal reads back");
    assert!(
        !read.torn_tail,
        "a torn tail was left in {run_id}'s journal"
    );
}

/// Starts a real (not preview) experiment tagged with `run_id`, as a run's stage would.
async fn start_tagged(env: &RunEnv, run_id: &str) -> String {
    let request = gameday::plan::scenario::stage_template(&env.gameday, 0, 0)
        .expect("template")
        .to_value("t")
        .expect("json");
    let template = env
        .clients
        .create_template(&request)
        .await
        .expect("template");
    let tags = BTreeMap::from([
        ("gameday-run".to_owned(), run_id.to_owned()),
        ("gameday-stage".to_owned(), "count-1".to_owned()),
    ]);
    env.clients
        .start(&template, &tags, false)
        .await
        .expect("start")
        .id
}

/// A journal with these entries after `run-started`.
fn write_journal(env: &RunEnv, run_id: &str, entries: &[(&str, serde_json::Value)]) {
    let mut j = Journal::create(
        &env.path().join("reports"),
        run_id,
        Utc::now(),
        &serde_json::json!({"run_id": run_id}),
    )
    .expect("journal");
    for (kind, data) in entries {
        j.append(Utc::now(), kind, data).expect("append");
    }
}

fn intent() -> (&'static str, serde_json::Value) {
    (
        "stage-intent",
        serde_json::json!({"scenario": "s", "stage": "count-1"}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_run_whose_stop_failed_is_recovered_by_tag_after_run_finished() {
    let env = RunEnv::on(steady_fis_emulator(), 1).await;
    let run_id = unique("stop-failed");
    let id = start_tagged(&env, &run_id).await;
    // What a run whose StopExperiment kept failing leaves: exit 5, journal finished.
    write_journal(
        &env,
        &run_id,
        &[
            intent(),
            (
                "experiment-started",
                serde_json::json!({"scenario": "s", "stage": "count-1", "experiment_id": id, "template_id": "t"}),
            ),
            (
                "stop-requested",
                serde_json::json!({"experiment_id": id, "reason": "guard"}),
            ),
            (
                "stop-failed",
                serde_json::json!({"experiment_id": id, "error": "503", "how_to_stop": "x"}),
            ),
            (
                "run-finished",
                serde_json::json!({"outcome": "stop-failed", "abort_reason": "guard"}),
            ),
        ],
    );
    let out = finish(
        env.command(&["recover", "--start-grace", "1s"])
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&id), "{}", out.stdout);
    assert_nothing_left(&env, &run_id).await;
    let entries = env.entries(&run_id);
    assert_eq!(
        kinds(&entries).last().map(String::as_str),
        Some("run-recovered")
    );
    assert_eq!(
        of_kind(&entries, "run-recovered")[0].data["stopped"][0],
        id.as_str()
    );
    assert_journal_whole(&env, &run_id);
    // Settled now: a second recover has nothing to do.
    let again = finish(
        env.command(&["recover", "--start-grace", "1s"])
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("nothing to recover"),
        "{}",
        again.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_finished_run_with_an_active_tagged_experiment_is_recovered() {
    // The journal looks clean (a lost StartExperiment reply hid the experiment), FIS does not.
    let env = RunEnv::on(steady_fis_emulator(), 1).await;
    let run_id = unique("hidden");
    write_journal(
        &env,
        &run_id,
        &[
            intent(),
            (
                "run-finished",
                serde_json::json!({"outcome": "hypothesis-failed"}),
            ),
        ],
    );
    let id = start_tagged(&env, &run_id).await;
    let out = finish(
        env.command(&["recover", "--start-grace", "1s"])
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&id), "{}", out.stdout);
    assert_nothing_left(&env, &run_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_damaged_journal_never_blocks_recovering_another_run() {
    let env = RunEnv::on(steady_fis_emulator(), 1).await;
    let damaged = unique("damaged");
    let other = unique("other");
    write_journal(&env, &damaged, &[intent()]);
    let path = env.journal(&damaged);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replacen('\n', "\ngarbage\n", 1)).expect("damage");
    write_journal(&env, &other, &[intent()]);
    let damaged_exp = start_tagged(&env, &damaged).await;
    let other_exp = start_tagged(&env, &other).await;

    let out = finish(
        env.command(&["recover", "--start-grace", "1s"])
            .spawn()
            .expect("spawn"),
    )
    .await;
    // Everything is stopped; the damaged journal is reported (exit 1), never rewritten.
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&damaged_exp), "{}", out.stdout);
    assert!(out.stdout.contains(&other_exp), "{}", out.stdout);
    assert!(out.stderr.contains("not a journal entry"), "{}", out.stderr);
    assert!(!out.stderr.contains("intact"), "{}", out.stderr);
    assert_nothing_left(&env, &damaged).await;
    assert_nothing_left(&env, &other).await;
    assert_eq!(
        kinds(&env.entries(&other)).last().map(String::as_str),
        Some("run-interrupted")
    );
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .contains("\ngarbage\n"),
        "the damaged journal is left as it was"
    );
    // A later run in the same reports directory is not blocked by it.
    env.create_alarms().await;
    env.publish_history(false).await;
    let next = unique("next");
    let mut args = env.run_args(&next);
    args.push("--dry-run".to_owned());
    let out = finish(env.command(&[]).args(args).spawn().expect("spawn")).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("not a journal entry"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_two_recovers_at_once_never_share_a_journal() {
    let env = RunEnv::on(steady_fis_emulator(), 1).await;
    let run_id = unique("twice");
    write_journal(&env, &run_id, &[intent()]);
    let id = start_tagged(&env, &run_id).await;
    let a = env
        .command(&["recover", "--start-grace", "1s"])
        .spawn()
        .expect("spawn");
    let b = env
        .command(&["recover", "--start-grace", "1s"])
        .spawn()
        .expect("spawn");
    let (a, b) = tokio::join!(finish(a), finish(b));
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert_eq!(b.code, 0, "{}\n{}", b.stdout, b.stderr);
    assert!(
        a.stdout.contains(&id) || b.stdout.contains(&id),
        "{}\n{}",
        a.stdout,
        b.stdout
    );
    // One recovery wrote; the journal's sequence is whole and closed once.
    assert_journal_whole(&env, &run_id);
    let entries = env.entries(&run_id);
    assert_eq!(
        of_kind(&entries, "run-interrupted").len(),
        1,
        "{:?}",
        kinds(&entries)
    );
    assert_eq!(
        of_kind(&entries, "stop-requested").len(),
        1,
        "{:?}",
        kinds(&entries)
    );
    assert_nothing_left(&env, &run_id).await;
}

/// `gameday` under a file-size limit (the journal cannot grow: what a full disk does to it),
/// with SIGXFSZ ignored so writes fail with an error instead of killing the process.
fn with_file_limit(env: &RunEnv, limit: Option<u64>, args: &[String]) -> tokio::process::Child {
    let mut cmd = env.command(&[]);
    let bin = assert_cmd::cargo::cargo_bin("gameday");
    let limit = limit.map_or_else(|| "unlimited".to_owned(), |l| l.to_string());
    let mut script = format!(
        "trap '' XFSZ; exec prlimit --fsize={limit}:{limit} '{}'",
        bin.display()
    );
    for a in args {
        script.push_str(&format!(" '{a}'"));
    }
    let std = cmd.as_std_mut();
    let mut sh = tokio::process::Command::new("sh");
    sh.arg("-c").arg(script).current_dir(env.path());
    for (k, v) in std.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn under a file limit")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_recover_stops_the_experiment_even_when_the_journal_cannot_be_written() {
    let env = RunEnv::on(steady_fis_emulator(), 1).await;
    let run_id = unique("full-recover");
    write_journal(&env, &run_id, &[intent()]);
    let id = start_tagged(&env, &run_id).await;
    let size = std::fs::metadata(env.journal(&run_id))
        .expect("journal")
        .len();
    let out = finish(with_file_limit(
        &env,
        Some(size),
        &[
            "recover".to_owned(),
            "--start-grace".to_owned(),
            "1s".to_owned(),
        ],
    ))
    .await;
    // Stopped first; the journal failure is reported after (exit 1, not "nothing stopped").
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&id), "{}", out.stdout);
    assert!(out.stderr.contains("journal"), "{}", out.stderr);
    assert_nothing_left(&env, &run_id).await;
    // With room again, recover closes the journal.
    let again = finish(
        env.command(&["recover", "--start-grace", "1s"])
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(
        kinds(&env.entries(&run_id)).last().map(String::as_str),
        Some("run-interrupted")
    );
    assert_journal_whole(&env, &run_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_journal_that_fails_mid_stage_stops_the_experiment_first() {
    let (env, live) = steady_healthy().await;
    let run_id = unique("full-stage");
    let child = with_file_limit(&env, None, &env.run_args(&run_id));
    let pid = child.id().expect("running");
    let started = env
        .wait_for(&run_id, "experiment", |e| e.kind == "experiment-started")
        .await;
    // From now on the journal cannot grow: what a full disk does to it.
    let size = std::fs::metadata(env.journal(&run_id))
        .expect("journal")
        .len();
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={size}:{size}")])
        .status()
        .expect("prlimit runs");
    assert!(status.success());
    let out = finish(child).await;
    live.abort();
    let id = started.data["experiment_id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The experiment was stopped by the run itself, before it reported the journal failure.
    let after = env.clients.get(&id).await.expect("get");
    assert!(
        matches!(after.status.as_str(), "stopping" | "stopped"),
        "{after:?}\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("journal"), "{}", out.stderr);
    assert_nothing_left(&env, &run_id).await;
    // With room again, recover closes the journal; every line parses.
    let again = finish(env.command(&["recover"]).spawn().expect("spawn")).await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_journal_whole(&env, &run_id);
    assert_eq!(
        kinds(&env.entries(&run_id)).last().map(String::as_str),
        Some("run-interrupted")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_preflight_refuses_a_reports_dir_without_room() {
    let env = RunEnv::new(1).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    let run_id = unique("no-room");
    let mut args = env.run_args(&run_id);
    // More than any test machine has: the check must fail before anything is started.
    args.extend(["--min-free-space-mib".to_owned(), "1048576".to_owned()]);
    let out = finish(env.command(&[]).args(args).spawn().expect("spawn")).await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let entries = env.entries(&run_id);
    assert!(
        of_kind(&entries, "preflight-check")
            .iter()
            .any(|e| e.data["check"] == "disk-space" && e.data["ok"] == false),
        "{:?}",
        kinds(&entries)
    );
    assert!(env.all_experiments_of(&run_id).await.is_empty());
}

/// The run arguments with one flag's value replaced.
fn with_flag(mut args: Vec<String>, flag: &str, value: &str) -> Vec<String> {
    match args.iter().position(|a| a == flag) {
        Some(i) => args[i + 1] = value.to_owned(),
        None => args.extend([flag.to_owned(), value.to_owned()]),
    }
    args
}

/// StartExperiment of a real stage (not a preview): `POST /experiments` without `skip-all`.
fn stage_start(fault: Fault) -> Rule {
    Rule {
        method: "POST",
        path_prefix: "/experiments".to_owned(),
        body_contains: None,
        body_lacks: Some("skip-all".to_owned()),
        fault,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_stop_experiment_failing_every_try_exits_5_and_a_later_recover_stops_it() {
    let (env, live) = steady_healthy().await;
    let proxy = FaultProxy::start(&env.url, 0.0, 7);
    let run_id = unique("stop-503");
    let args = with_flag(env.run_args(&run_id), "--stop-timeout", "3s");
    let child = env
        .command(&[])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(args)
        .spawn()
        .expect("spawn");
    let started = env
        .wait_for(&run_id, "experiment", |e| e.kind == "experiment-started")
        .await;
    // From now on FIS answers every StopExperiment with 503 or throttling.
    for fault in [Fault::ServerError(503), Fault::Throttle] {
        proxy.add_rule(Rule {
            method: "DELETE",
            path_prefix: "/experiments/".to_owned(),
            body_contains: None,
            body_lacks: None,
            fault,
        });
    }
    env.mode
        .store(crate::run::BREACHING, std::sync::atomic::Ordering::SeqCst);
    let out = finish(child).await;
    live.abort();
    let id = started.data["experiment_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("STILL RUNNING"), "{}", out.stdout);
    assert!(
        !env.clients.get(&id).await.expect("get").is_terminal(),
        "the stop really failed"
    );
    // AWS is healthy again: recover finds the run (its journal ends run-finished) and stops it.
    let rec = finish(env.command(&["recover"]).spawn().expect("spawn")).await;
    assert_eq!(rec.code, 0, "{}\n{}", rec.stdout, rec.stderr);
    assert!(rec.stdout.contains(&id), "{}", rec.stdout);
    assert_nothing_left(&env, &run_id).await;
    assert_journal_whole(&env, &run_id);
    assert_eq!(
        kinds(&env.entries(&run_id)).last().map(String::as_str),
        Some("run-recovered")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_lost_start_experiment_reply_is_found_by_tag_and_stopped() {
    let (env, live) = RunEnv::healthy(1).await;
    let proxy = FaultProxy::start(&env.url, 0.0, 11);
    // The service acts, every reply is lost.
    proxy.add_rule(stage_start(Fault::ResetAfter));
    let run_id = unique("lost-reply");
    let child = env
        .command(&[])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(4, &entries);
    let exps = env.experiments_of(&run_id).await;
    // The client token made every retry the same experiment; the run found it and stopped it.
    assert_eq!(exps.len(), 1, "{exps:?}");
    assert_eq!(
        of_kind(&entries, "experiment-started")[0].data["experiment_id"],
        exps[0].id.as_str()
    );
    assert_eq!(
        of_kind(&entries, "stop-confirmed").len(),
        1,
        "{:?}",
        kinds(&entries)
    );
    assert_nothing_left(&env, &run_id).await;
    assert_journal_whole(&env, &run_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_run_under_20_percent_faults_completes_or_fails_cleanly() {
    let (env, live) = RunEnv::healthy(2).await;
    let proxy = FaultProxy::start(&env.url, 0.2, 20_261_203);
    let run_id = unique("faulty-run");
    let child = env
        .command(&[])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    let (requests, faulted) = proxy.counts();
    assert!(
        faulted > 0 && requests > 20,
        "{requests} requests, {faulted} faulted"
    );
    // Passed, or a documented failure with its reason printed.
    assert!(
        [0, 2, 3, 4].contains(&out.code),
        "{}\n{}\n{:?}",
        out.stdout,
        out.stderr,
        kinds(&entries)
    );
    assert!(out.stdout.contains("outcome: "), "{}", out.stdout);
    // Nothing duplicated, nothing left running, every line parses.
    let exps = env.experiments_of(&run_id).await;
    assert!(exps.len() <= 2, "{exps:?}");
    assert_nothing_left(&env, &run_id).await;
    assert_journal_whole(&env, &run_id);
    assert_eq!(
        kinds(&entries).last().map(String::as_str),
        Some("run-finished")
    );
    eprintln!(
        "20 % faults: {requests} requests, {faulted} faulted; exit {}",
        out.code
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_mine_derive_and_plan_apply_under_20_percent_faults() {
    let emulator = crate::support::emulator();
    let proxy = FaultProxy::start(&emulator.url, 0.2, 4242);
    proxy.set_rate(0.0);
    let dir = crate::support::dir_with_config("");
    let d = dir.path().to_owned();
    let name = unique("faulty");
    let proxy_url = proxy.url.clone();
    let url = emulator.url.clone();
    let proxy = std::sync::Arc::new(proxy);
    let p = proxy.clone();
    let gameday_name = name.clone();
    let (templates, files) = tokio::task::spawn_blocking(move || {
        let d = d.as_path();
        crate::support::gameday(d)
            .args(["demo", "seed", "--log-days", "30", "--metric-days", "7"])
            .args(["--write-config", "demo.yaml", "--endpoint-url", &url])
            .assert()
            .success();
        p.set_rate(0.2);
        let with_proxy = |args: &[&str]| {
            let mut c = crate::support::gameday(d);
            c.args(["--config", "demo.yaml", "--endpoint-url", &proxy_url]);
            c.args(args);
            c.timeout(Duration::from_secs(240));
            c
        };
        // Each command completes, or fails with its message and exit 1 (an AWS call failed
        // after its retries): never a hang, a panic or a half-written output.
        let check = |what: &str, out: std::process::Output| {
            let code = out.status.code().unwrap_or(-1);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                code == 0 || (code == 1 && stderr.contains("error: ")),
                "{what}: exit {code}\n{stderr}"
            );
            code
        };
        let mined = check(
            "mine",
            with_proxy(&[
                "mine",
                "--since",
                "31d",
                "--slice",
                "30d",
                "--format",
                "json",
                "--out",
                "incidents.json",
            ])
            .output()
            .expect("mine runs"),
        );
        if mined != 0 {
            // Mine again without faults so the pipeline goes on.
            p.set_rate(0.0);
            with_proxy(&[
                "mine",
                "--since",
                "31d",
                "--slice",
                "30d",
                "--format",
                "json",
                "--out",
                "incidents.json",
            ])
            .assert()
            .success();
            p.set_rate(0.2);
        }
        for service in ["checkout", "payments", "catalog"] {
            let out = format!("hyp-{service}.json");
            let derive = |p_rate: f64| {
                p.set_rate(p_rate);
                with_proxy(&[
                    "steady-state",
                    "derive",
                    "--service",
                    service,
                    "--lookback",
                    "7d",
                    "--incidents",
                    "incidents.json",
                    "--apply",
                    "--out",
                    &out,
                ])
                .output()
                .expect("derive runs")
            };
            if check("derive --apply", derive(0.2)) != 0 {
                assert!(derive(0.0).status.success(), "derive without faults");
            }
        }
        let plan = |rate: f64| {
            p.set_rate(rate);
            with_proxy(&[
                "plan",
                "--name",
                &name,
                "--date",
                "2026-11-24",
                "--owner",
                "sre",
                "--incidents",
                "incidents.json",
                "--hypotheses",
                "hyp-checkout.json",
                "--hypotheses",
                "hyp-payments.json",
                "--hypotheses",
                "hyp-catalog.json",
                "--apply",
            ])
            .output()
            .expect("plan runs")
        };
        check("plan --apply", plan(0.2));
        // Whatever the faults did, applying again without them converges, creating nothing
        // twice.
        let again = plan(0.0);
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        let files = std::fs::read_dir(d.join("scenarios").join(&name))
            .expect("stage templates written")
            .filter_map(Result::ok)
            .filter(|e| {
                e.path().extension().is_some_and(|x| x == "json")
                    && e.file_name() != "cloudformation.json"
            })
            .count();
        (String::from_utf8_lossy(&again.stdout).into_owned(), files)
    })
    .await
    .expect("pipeline");
    let c = crate::support::clients().await;
    let ours = c
        .list_templates()
        .await
        .expect("list templates")
        .into_iter()
        .filter(|t| t.tags.get("gameday").map(String::as_str) == Some(gameday_name.as_str()))
        .count();
    assert_eq!(
        ours, files,
        "one template per stage, never duplicated: {templates}"
    );
    let (requests, faulted) = proxy.counts();
    assert!(faulted > 0, "{requests} requests, none faulted");
    eprintln!("pipeline under 20 % faults: {requests} requests, {faulted} faulted");
}

/// Where in a stage the process is signalled.
#[derive(Debug, Clone, Copy)]
enum Boundary {
    /// `stage-intent` is on disk; StartExperiment is in flight (held 3 s by the proxy).
    AfterIntent,
    /// `experiment-started` is on disk.
    AfterStarted,
    /// The experiment is running and the guard has sampled it.
    MidStage,
    /// An abort's `stop-requested` is on disk (the run was interrupted first).
    WhileStopping,
    /// The run was killed; then `recover` is signalled once it has requested the stop.
    DuringRecovery,
}

/// Signals a run (or its recovery) at `boundary` with `sig`, then runs `recover`: nothing
/// tagged with the run may be left running, and every journal line must parse.
async fn signal_at(boundary: Boundary, sig: &'static str) {
    let (env, live) = RunEnv::healthy(1).await;
    let run_id = unique(&format!(
        "sig{}",
        sig.trim_start_matches('-').to_lowercase()
    ));
    let mut cmd = env.command(&[]);
    let proxy;
    if let Boundary::AfterIntent = boundary {
        proxy = FaultProxy::start(&env.url, 0.0, 3);
        proxy.add_rule(stage_start(Fault::Latency(Duration::from_secs(3))));
        cmd.env("AWS_ENDPOINT_URL", &proxy.url);
    }
    let child = cmd.args(env.run_args(&run_id)).spawn().expect("spawn");
    let is = |kind: &'static str| move |e: &gameday::model::record::Entry| e.kind == kind;
    let mut expect = [0, 4, 5].to_vec();
    match boundary {
        Boundary::AfterIntent => {
            env.wait_for(&run_id, "intent", is("stage-intent")).await;
            signal(&child, sig);
        }
        Boundary::AfterStarted => {
            env.wait_for(&run_id, "experiment", is("experiment-started"))
                .await;
            signal(&child, sig);
        }
        Boundary::MidStage => {
            env.wait_for(&run_id, "running", |e| {
                e.kind == "experiment-state" && e.data["status"] == "running"
            })
            .await;
            env.wait_for(&run_id, "guard sample", is("guard-sample"))
                .await;
            signal(&child, sig);
        }
        Boundary::WhileStopping => {
            env.wait_for(&run_id, "experiment", is("experiment-started"))
                .await;
            signal(&child, "-INT");
            env.wait_for(&run_id, "stop", is("stop-requested")).await;
            signal(&child, sig);
            // A second signal while the experiment may still run exits 5, never 4.
            if sig != "-KILL" {
                expect = vec![5];
            }
        }
        Boundary::DuringRecovery => {
            env.wait_for(&run_id, "experiment", is("experiment-started"))
                .await;
            signal(&child, "-KILL");
        }
    }
    let out = finish(child).await;
    if sig != "-KILL" || matches!(boundary, Boundary::DuringRecovery) {
        let code = out.code;
        if !matches!(boundary, Boundary::DuringRecovery) {
            assert!(
                expect.contains(&code),
                "{boundary:?} {sig}: exit {code}\n{}\n{}",
                out.stdout,
                out.stderr
            );
        }
    }
    if let Boundary::DuringRecovery = boundary {
        let rec = env
            .command(&["recover", "--start-grace", "3s"])
            .spawn()
            .expect("spawn");
        env.wait_for(&run_id, "recover's stop", is("stop-requested"))
            .await;
        signal(&rec, sig);
        let _ = finish(rec).await;
    }
    live.abort();
    let rec = finish(
        env.command(&["recover", "--start-grace", "5s"])
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(
        rec.code, 0,
        "{boundary:?} {sig}: {}\n{}",
        rec.stdout, rec.stderr
    );
    assert_nothing_left(&env, &run_id).await;
    assert_journal_whole(&env, &run_id);
    let last = kinds(&env.entries(&run_id))
        .last()
        .cloned()
        .unwrap_or_default();
    assert!(
        ["run-finished", "run-interrupted", "run-recovered"].contains(&last.as_str()),
        "{boundary:?} {sig}: the journal ends with {last}"
    );
}

/// One boundary, the three signals at once (separate runs and targets).
async fn every_signal_at(boundary: Boundary) {
    tokio::join!(
        signal_at(boundary, "-KILL"),
        signal_at(boundary, "-INT"),
        signal_at(boundary, "-TERM"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_signals_after_the_stage_intent_leave_nothing_running() {
    every_signal_at(Boundary::AfterIntent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_signals_after_experiment_started_leave_nothing_running() {
    every_signal_at(Boundary::AfterStarted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_signals_mid_stage_leave_nothing_running() {
    every_signal_at(Boundary::MidStage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_signals_while_stopping_leave_nothing_running() {
    every_signal_at(Boundary::WhileStopping).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_signals_during_recovery_leave_nothing_running() {
    every_signal_at(Boundary::DuringRecovery).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_blind_guard_aborts_the_stage_after_n_intervals() {
    let (env, live) = steady_healthy().await;
    let proxy = FaultProxy::start(&env.url, 0.0, 5);
    let run_id = unique("blind");
    let args = with_flag(env.run_args(&run_id), "--max-blind-intervals", "3");
    let child = env
        .command(&[])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(args)
        .spawn()
        .expect("spawn");
    env.wait_for(&run_id, "experiment", |e| e.kind == "experiment-started")
        .await;
    // From now on neither the guard metrics nor the stop alarms can be read.
    for op in ["GetMetricData", "DescribeAlarms"] {
        proxy.add_rule(Rule {
            method: "POST",
            path_prefix: format!("/service/GraniteServiceVersion20100801/operation/{op}"),
            body_contains: None,
            body_lacks: None,
            fault: Fault::ServerError(503),
        });
    }
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(4, &entries);
    let abort = of_kind(&entries, "abort");
    assert_eq!(abort[0].data["reason"], "guard", "{:#?}", abort[0].data);
    assert!(
        abort[0].data["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("blind"),
        "{:#?}",
        abort[0].data
    );
    assert_eq!(of_kind(&entries, "stop-confirmed").len(), 1);
    assert_nothing_left(&env, &run_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_signal_during_preflight_ends_the_preview_loop_and_stops_its_previews() {
    let (env, live) = RunEnv::healthy(3).await;
    let run_id = unique("preflight-int");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    // The first preview exists (the journal only has preflight's checks once it is over).
    let mut seen = false;
    for _ in 0..600 {
        if !env.all_experiments_of(&run_id).await.is_empty() {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "no preview started");
    signal(&child, "-INT");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(4, &entries);
    assert_eq!(
        of_kind(&entries, "run-finished")[0].data["abort_reason"],
        "interrupt"
    );
    // Not every stage was previewed, nothing was injected, and each preview's stop is in
    // the journal.
    let all = env.all_experiments_of(&run_id).await;
    assert!(all.len() < 3, "{all:?}");
    assert!(env.experiments_of(&run_id).await.is_empty());
    let targets: Vec<String> = of_kind(&entries, "preflight-check")
        .iter()
        .filter(|e| e.data["check"] == "targets")
        .map(|e| e.data["detail"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        targets.iter().any(|d| d.contains("interrupted")),
        "{targets:?}"
    );
    for p in &all {
        assert!(
            targets
                .iter()
                .any(|d| d.contains(&p.id) && d.contains("ended")),
            "preview {} has no journaled stop: {targets:?}",
            p.id
        );
    }
    assert!(!kinds(&entries).iter().any(|k| k == "stage-intent"));
    assert_nothing_left(&env, &run_id).await;
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn issue_13_local_aws_keeps_its_state_per_port() {
    let script = crate::support::repo().join("scripts/local-aws");
    let (a, b) = (free_port(), free_port());
    let local_aws = |port: u16, cmd: &str| {
        let out = std::process::Command::new(&script)
            .arg(cmd)
            .env("PORT", port.to_string())
            .output()
            .expect("local-aws runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, started_a) = local_aws(a, "start");
    assert_eq!(code, Some(0), "{started_a}");
    // Another port is another emulator, not "already running" on the first one.
    let (code, started_b) = local_aws(b, "start");
    assert_eq!(code, Some(0), "{started_b}");
    assert!(!started_b.contains("already running"), "{started_b}");
    assert!(
        started_b.trim_end().ends_with(&format!(":{b}")),
        "{started_b}"
    );
    // Stopping B leaves A running.
    let (code, stopped) = local_aws(b, "stop");
    assert_eq!(code, Some(0), "{stopped}");
    let (code, status_a) = local_aws(a, "status");
    assert_eq!(code, Some(0), "A still runs: {status_a}");
    assert!(
        status_a.trim_end().ends_with(&format!(":{a}")),
        "{status_a}"
    );
    let (code, status_b) = local_aws(b, "status");
    assert_eq!(code, Some(1), "B is stopped: {status_b}");
    let (code, stopped) = local_aws(a, "stop");
    assert_eq!(code, Some(0), "{stopped}");
    for port in [a, b] {
        let _ = std::fs::remove_dir_all(
            crate::support::repo()
                .join(".local-aws")
                .join(format!("port-{port}")),
        );
    }
}
