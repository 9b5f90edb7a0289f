//! `gameday run` and `gameday recover` over the wire on the emulator, whose FIS experiments
//! advance by time so a stage stays `running` while the guard watches it. The tests play the
//! system under fault by publishing metrics (healthy or breaching) and setting alarm states.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use chrono::Utc;
use gameday::model::journal::read_journal;
use gameday::model::record::Entry;
use gameday::plan::GameDayScenario;
use gameday::provider::aws::AwsClients;
use gameday::provider::{AlarmStateValue, AlarmStore as _, FaultInjector as _, MetricDatum};
use tokio::io::AsyncReadExt as _;

use crate::support::{Emulator, fis_emulator, options_for, slow_fis_emulator, unique};

/// What the simulated service publishes.
pub(crate) const HEALTHY: u8 = 0;
pub(crate) const BREACHING: u8 = 1;
pub(crate) const SILENT: u8 = 2;

/// One test's world: its own metric namespace, alarms, namespace (so target locks never
/// collide), scenario file and reports directory.
pub(crate) struct RunEnv {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) clients: AwsClients,
    pub(crate) gameday: GameDayScenario,
    pub(crate) dims: BTreeMap<String, String>,
    pub(crate) ns: String,
    pub(crate) mode: Arc<AtomicU8>,
    pub(crate) url: String,
}

impl RunEnv {
    pub(crate) async fn new(stages: usize) -> Self {
        Self::on(fis_emulator(), stages).await
    }

    pub(crate) async fn on(emulator: &'static Emulator, stages: usize) -> Self {
        let url = emulator.url.clone();
        let clients = AwsClients::connect(&options_for(&url))
            .await
            .expect("clients");
        let id = unique("run");
        let ns = format!("Test/{id}");
        let mut g: GameDayScenario =
            yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
                .expect("example parses");
        g.name = id.clone();
        g.region = "us-east-1".into();
        g.account_id = "123456789012".into();
        g.fis.log_group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/gameday/fis:*".into();
        let rename = |n: &str| format!("{id}-{n}");
        for a in &mut g.alarms {
            a.name = rename(&a.name);
            if let Some(m) = &mut a.metric {
                m.namespace.clone_from(&ns);
                // moto computes pNN through our adapter; keep the example's statistic.
            }
            if let Some(e) = &mut a.expression {
                for m in e.inputs.values_mut() {
                    m.namespace.clone_from(&ns);
                }
            }
        }
        let s = &mut g.scenarios[0];
        s.target.namespace = id.clone();
        s.stages.truncate(stages);
        s.stop_alarms = s.stop_alarms.iter().map(|n| rename(n)).collect();
        for h in &mut s.hypothesis {
            h.alarms = h.alarms.iter().map(|n| rename(n)).collect();
        }
        let dims = g.alarms[1]
            .metric
            .as_ref()
            .expect("latency alarm is single-metric")
            .dimensions
            .clone();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("scenario.yaml"), g.to_yaml().expect("yaml"))
            .expect("write");
        std::fs::write(
            dir.path().join("gameday.yaml"),
            "environment: staging\naws:\n  region: us-east-1\npolicy:\n  required_label: chaos-experiment\n",
        )
        .expect("write config");
        Self {
            dir,
            clients,
            gameday: g,
            dims,
            ns,
            mode: Arc::new(AtomicU8::new(HEALTHY)),
            url,
        }
    }

    /// A world whose stop alarms exist and whose service is healthy, with 10 minutes of
    /// history and live datapoints every 0.5 s (the returned task; abort it when done).
    pub(crate) async fn healthy(stages: usize) -> (Self, tokio::task::JoinHandle<()>) {
        let env = Self::new(stages).await;
        env.create_alarms().await;
        env.publish_history(false).await;
        let live = env.publish_live();
        (env, live)
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Points the scenario at a fake Kubernetes API server: its namespace and selector, a
    /// cluster name of this test's own (so target locks never collide), and a kubeconfig
    /// context of that name. Returns the kubeconfig to pass as `KUBECONFIG`.
    fn use_kube(&mut self, kube: &crate::fake_kube::FakeKube) -> PathBuf {
        let cluster = format!("{}-eks", self.gameday.name);
        let s = &mut self.gameday.scenarios[0];
        s.target.cluster.clone_from(&cluster);
        s.target.namespace = crate::fake_kube::NAMESPACE.to_owned();
        self.rewrite();
        kube.write_kubeconfig(self.path(), &cluster)
    }

    fn alarm_names(&self) -> Vec<String> {
        self.gameday.alarms.iter().map(|a| a.name.clone()).collect()
    }

    pub(crate) async fn create_alarms(&self) {
        for a in &self.gameday.alarms {
            let spec = a.to_provider(&self.gameday.name).expect("alarm spec");
            self.clients.put_alarm(&spec).await.expect("put alarm");
        }
    }

    fn data(&self, at: chrono::DateTime<Utc>, breaching: bool) -> Vec<MetricDatum> {
        self.data_fn()(at, breaching)
    }

    /// Healthy history: one datapoint set every 10 s over the last 10 minutes.
    pub(crate) async fn publish_history(&self, breaching: bool) {
        let now = Utc::now();
        let mut all = Vec::new();
        for i in 1..=60 {
            all.extend(self.data(now - chrono::Duration::seconds(i * 10), breaching));
        }
        for chunk in all.chunks(150) {
            self.clients
                .put_metric_data(&self.ns, chunk)
                .await
                .expect("publish history");
        }
    }

    /// Publishes every 500 ms in the current mode until the returned guard is dropped.
    pub(crate) fn publish_live(&self) -> tokio::task::JoinHandle<()> {
        let (clients, mode, ns) = (self.clients.clone(), self.mode.clone(), self.ns.clone());
        let me = self.data_fn();
        tokio::spawn(async move {
            loop {
                let m = mode.load(Ordering::SeqCst);
                if m != SILENT {
                    let data = me(Utc::now(), m == BREACHING);
                    let _ = clients.put_metric_data(&ns, &data).await;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }

    fn data_fn(&self) -> impl Fn(chrono::DateTime<Utc>, bool) -> Vec<MetricDatum> + Send + 'static {
        let dims = self.dims.clone();
        move |at, breaching| {
            let datum = |name: &str, value: f64| MetricDatum {
                name: name.to_owned(),
                dimensions: dims.clone(),
                timestamp: at,
                value,
                high_resolution: true,
            };
            vec![
                datum(
                    "HTTPCode_Target_5XX_Count",
                    if breaching { 40.0 } else { 0.0 },
                ),
                datum("RequestCount", 100.0),
                datum("TargetResponseTime", 0.2),
            ]
        }
    }

    pub(crate) fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("gameday"));
        cmd.current_dir(self.path());
        for (key, value) in crate::support::test_env(self.path()) {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        cmd.env("AWS_ENDPOINT_URL", &self.url)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    pub(crate) fn run_args(&self, run_id: &str) -> Vec<String> {
        [
            "run",
            "scenario.yaml",
            "--yes",
            "--skip-kube",
            "--run-id",
            run_id,
            "--guard-interval",
            "1s",
            "--guard-period",
            "1s",
            "--poll-interval",
            "500ms",
            "--recovery-cap",
            "6s",
            "--stop-timeout",
            "30s",
            "--baseline",
            "5m",
            "--hypothesis-window",
            "5m",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    pub(crate) fn journal(&self, run_id: &str) -> PathBuf {
        self.path()
            .join("reports")
            .join(run_id)
            .join("journal.jsonl")
    }

    pub(crate) fn entries(&self, run_id: &str) -> Vec<Entry> {
        read_journal(&self.journal(run_id))
            .map(|j| j.entries)
            .unwrap_or_default()
    }

    /// Waits (bounded) until the journal has an entry matching `pred`.
    pub(crate) async fn wait_for(
        &self,
        run_id: &str,
        what: &str,
        pred: impl Fn(&Entry) -> bool,
    ) -> Entry {
        for _ in 0..1200 {
            if let Some(e) = self.entries(run_id).into_iter().find(|e| pred(e)) {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no {what} in the journal after 120 s: {:#?}",
            self.entries(run_id)
        );
    }

    /// Experiments this run started, previews included, from FIS itself.
    pub(crate) async fn all_experiments_of(
        &self,
        run_id: &str,
    ) -> Vec<gameday::provider::ExperimentSummary> {
        self.clients
            .list()
            .await
            .expect("list experiments")
            .into_iter()
            .filter(|e| e.tags.get("gameday-run").map(String::as_str) == Some(run_id))
            .collect()
    }

    /// Experiments this run started (not previews), from FIS itself.
    pub(crate) async fn experiments_of(
        &self,
        run_id: &str,
    ) -> Vec<gameday::provider::ExperimentSummary> {
        let mut all = self.all_experiments_of(run_id).await;
        all.retain(|e| !e.tags.contains_key("gameday-preview"));
        all
    }

    /// Waits for a run's process to exit, stops the live metrics and reads the run's journal.
    pub(crate) async fn finish_run(
        &self,
        child: tokio::process::Child,
        live: tokio::task::JoinHandle<()>,
        run_id: &str,
    ) -> (Finished, Vec<Entry>) {
        let out = finish(child).await;
        live.abort();
        (out, self.entries(run_id))
    }
}

pub(crate) struct Finished {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Finished {
    /// Asserts the run's exit code, showing its output and the journal's entry kinds if not.
    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32, entries: &[Entry]) {
        assert_eq!(
            self.code,
            code,
            "{}\n{}\n{:?}",
            self.stdout,
            self.stderr,
            kinds(entries)
        );
    }
}

pub(crate) async fn finish(mut child: tokio::process::Child) -> Finished {
    let mut stdout = String::new();
    let mut stderr = String::new();
    let (mut o, mut e) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let status = tokio::time::timeout(Duration::from_secs(240), async {
        let (_, _, status) = tokio::join!(
            o.read_to_string(&mut stdout),
            e.read_to_string(&mut stderr),
            child.wait()
        );
        status
    })
    .await
    .expect("gameday finished within 240 s")
    .expect("exit status");
    Finished {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// The post-mortem was rendered beside the journal, with the run's outcome, and every chart it
/// links exists.
fn assert_report(env: &RunEnv, run_id: &str, outcome: &str) {
    let dir = env.path().join("reports").join(run_id);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("summary.json")).expect("summary.json written"),
    )
    .expect("summary.json parses");
    assert_eq!(summary["outcome"], outcome, "{summary:#}");
    let md = std::fs::read_to_string(dir.join("postmortem.md")).expect("postmortem.md written");
    assert!(
        md.contains(&format!("`{run_id}`")),
        "the report names its run"
    );
    for link in md.split("](").skip(1).filter_map(|l| l.split(')').next()) {
        if link.starts_with("charts/") {
            assert!(dir.join(link).is_file(), "chart {link} linked but missing");
        }
    }
}

pub(crate) fn kinds(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.kind.clone()).collect()
}

pub(crate) fn of_kind<'a>(entries: &'a [Entry], kind: &str) -> Vec<&'a Entry> {
    entries.iter().filter(|e| e.kind == kind).collect()
}

fn stage_of(e: &Entry) -> &str {
    e.data["stage"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_three_stage_scenario_passes_every_stage() {
    let (env, live) = RunEnv::healthy(3).await;
    let run_id = unique("healthy");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(0, &entries);

    // Every step is journaled, in order.
    let k = kinds(&entries);
    assert_eq!(k.first().map(String::as_str), Some("run-started"));
    assert_eq!(k.last().map(String::as_str), Some("run-finished"));
    assert!(
        of_kind(&entries, "preflight-check")
            .iter()
            .all(|e| e.data["ok"] == true)
    );
    let finished = of_kind(&entries, "stage-finished");
    let stages: Vec<&str> = finished.iter().map(|e| stage_of(e)).collect();
    assert_eq!(stages, ["count-1", "percent-10", "percent-25"]);
    for f in &finished {
        assert_eq!(f.data["verdict"]["outcome"], "passed", "{:#}", f.data);
        assert_eq!(f.data["final_status"], "completed");
        assert!(f.data["verdict"]["metrics"][0]["fault_points"].as_u64() > Some(0));
    }
    for stage in ["count-1", "percent-10", "percent-25"] {
        let pos = |kind: &str| {
            entries
                .iter()
                .position(|e| e.kind == kind && stage_of(e) == stage)
                .unwrap_or_else(|| panic!("{kind} for {stage} missing"))
        };
        // Intent strictly before the id, the id before any state, baseline before intent.
        assert!(pos("baseline") < pos("stage-intent"));
        assert!(pos("stage-intent") < pos("experiment-started"));
        assert!(pos("experiment-started") < pos("experiment-state"));
        assert!(pos("experiment-state") < pos("stage-finished"));
        assert!(
            entries
                .iter()
                .any(|e| e.kind == "guard-sample" && stage_of(e) == stage)
        );
    }
    assert!(
        of_kind(&entries, "alarm-state")
            .iter()
            .all(|e| e.data["state"] == "OK")
    );
    assert_eq!(
        of_kind(&entries, "run-finished")[0].data["outcome"],
        "passed"
    );
    // Three real experiments, all completed, none still running.
    let exps = env.experiments_of(&run_id).await;
    assert_eq!(exps.len(), 3, "{exps:?}");
    assert!(exps.iter().all(|e| e.status == "completed"), "{exps:?}");
    assert_report(&env, &run_id, "passed");
    let charts = std::fs::read_dir(env.path().join("reports").join(&run_id).join("charts"))
        .expect("charts written")
        .count();
    assert!(charts >= 3, "a chart per stage and metric: {charts}");
    assert!(out.stdout.contains("post-mortem: "), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_in_stage_two_stops_the_experiment_and_stage_three_never_starts() {
    let (env, live) = RunEnv::healthy(3).await;
    let run_id = unique("breach");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let started = env
        .wait_for(&run_id, "stage 2 experiment", |e| {
            e.kind == "experiment-started" && stage_of(e) == "percent-10"
        })
        .await;
    // Play the fault: the error rate jumps to 40 %.
    env.mode.store(BREACHING, Ordering::SeqCst);
    let breach_published = Utc::now();
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(4, &entries);

    let abort = of_kind(&entries, "abort");
    assert_eq!(abort.len(), 1, "{abort:?}");
    assert_eq!(abort[0].data["reason"], "guard");
    assert_eq!(stage_of(abort[0]), "percent-10");
    assert!(
        abort[0].data["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("error_rate")
    );
    let id = started.data["experiment_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let requested = of_kind(&entries, "stop-requested");
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].data["experiment_id"], id.as_str());
    let confirmed = of_kind(&entries, "stop-confirmed");
    assert_eq!(confirmed[0].data["status"], "stopped");
    // Stage 3 never started: nothing about it after preflight (which checked it).
    assert!(
        !entries
            .iter()
            .any(|e| e.kind != "preflight-check" && stage_of(e) == "percent-25"),
        "{:?}",
        kinds(&entries)
    );
    let exps = env.experiments_of(&run_id).await;
    assert_eq!(exps.len(), 2, "{exps:?}");
    let stopped = exps
        .iter()
        .find(|e| e.id == id)
        .expect("stage 2 experiment");
    assert_eq!(stopped.status, "stopped");
    assert_eq!(
        of_kind(&entries, "run-finished")[0].data["outcome"],
        "aborted"
    );
    assert_report(&env, &run_id, "aborted");
    eprintln!(
        "breach published → StopExperiment requested: {} ms (guard interval 1 s)",
        (requested[0].at - breach_published).num_milliseconds()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_alarm_in_alarm_during_a_stage_aborts_it() {
    let (env, live) = RunEnv::healthy(2).await;
    let run_id = unique("alarm");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    env.wait_for(&run_id, "stage 1 experiment", |e| {
        e.kind == "experiment-started"
    })
    .await;
    let alarm = env.gameday.scenarios[0].stop_alarms[1].clone();
    env.clients
        .set_alarm_state(
            &alarm,
            AlarmStateValue::Alarm,
            "test: the system is under fault",
        )
        .await
        .expect("set alarm state");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(4, &entries);
    let abort = of_kind(&entries, "abort");
    assert_eq!(abort[0].data["reason"], "stop_condition");
    assert!(
        abort[0].data["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&alarm)
    );
    assert!(
        of_kind(&entries, "alarm-state")
            .iter()
            .any(|e| e.data["alarm"] == alarm.as_str() && e.data["state"] == "ALARM")
    );
    assert_eq!(of_kind(&entries, "stop-confirmed").len(), 1);
}

pub(crate) fn signal(child: &tokio::process::Child, sig: &str) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_stage_stops_the_experiment_and_completes_the_journal() {
    let (env, live) = RunEnv::healthy(3).await;
    let run_id = unique("sigint");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let started = env
        .wait_for(&run_id, "experiment", |e| e.kind == "experiment-started")
        .await;
    let sent = Utc::now();
    signal(&child, "-INT");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(4, &entries);
    let abort = of_kind(&entries, "abort");
    assert_eq!(abort[0].data["reason"], "interrupt");
    let id = started.data["experiment_id"].as_str().expect("id");
    let requested = of_kind(&entries, "stop-requested");
    assert_eq!(requested[0].data["experiment_id"], id);
    assert_eq!(
        of_kind(&entries, "stop-confirmed")[0].data["status"],
        "stopped"
    );
    let k = kinds(&entries);
    assert_eq!(k.last().map(String::as_str), Some("run-finished"));
    assert!(k.contains(&"stage-finished".to_owned()));
    assert_eq!(
        of_kind(&entries, "run-finished")[0].data["abort_reason"],
        "interrupt"
    );
    let exps = env.experiments_of(&run_id).await;
    assert!(exps.iter().all(|e| e.status == "stopped"), "{exps:?}");
    eprintln!(
        "SIGINT sent → StopExperiment requested: {} ms",
        (requested[0].at - sent).num_milliseconds()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_stage_is_cleaned_up_by_recover() {
    let (env, live) = RunEnv::healthy(3).await;
    let run_id = unique("sigkill");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let started = env
        .wait_for(&run_id, "experiment", |e| e.kind == "experiment-started")
        .await;
    signal(&child, "-KILL");
    let _ = finish(child).await;
    live.abort();
    let id = started.data["experiment_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let before = env.clients.get(&id).await.expect("get");
    assert!(
        !before.is_terminal(),
        "the experiment outlived its run: {before:?}"
    );

    let out = finish(env.command(&["recover"]).spawn().expect("spawn")).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&id), "{}", out.stdout);
    let after = env.clients.get(&id).await.expect("get");
    assert!(
        matches!(after.status.as_str(), "stopping" | "stopped"),
        "{after:?}"
    );
    let entries = env.entries(&run_id);
    let k = kinds(&entries);
    assert_eq!(k.last().map(String::as_str), Some("run-interrupted"));
    let interrupted = of_kind(&entries, "run-interrupted");
    // The stage's experiment (previews still stopping may be listed too).
    let stopped = interrupted[0].data["stopped"].as_array().expect("list");
    assert!(stopped.iter().any(|s| s == id.as_str()), "{stopped:?}");
    assert_report(&env, &run_id, "interrupted");
    // A second recover finds nothing left to do.
    let again = finish(env.command(&["recover"]).spawn().expect("spawn")).await;
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("nothing to recover"),
        "{}",
        again.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_finds_an_experiment_by_its_run_tag_when_the_id_never_reached_the_journal() {
    // Slow states: the experiment is still running however busy the shared emulator is.
    let env = RunEnv::on(slow_fis_emulator(), 1).await;
    let run_id = unique("lost-id");
    // A journal that got as far as the intent; the process died before writing the id.
    let mut j = gameday::model::journal::Journal::create(
        &env.path().join("reports"),
        &run_id,
        Utc::now(),
        &serde_json::json!({"run_id": run_id}),
    )
    .expect("journal");
    j.append(
        Utc::now(),
        "stage-intent",
        &serde_json::json!({"stage": "count-1"}),
    )
    .expect("append");
    drop(j);
    // The experiment it did start, tagged with the run id.
    let request = gameday::plan::scenario::stage_template(&env.gameday, 0, 0)
        .expect("template")
        .to_value("t")
        .expect("json");
    let template = env
        .clients
        .create_template(&request)
        .await
        .expect("template");
    let tags = BTreeMap::from([("gameday-run".to_owned(), run_id.clone())]);
    let exp = env
        .clients
        .start(&template, &tags, false)
        .await
        .expect("start");

    let out = finish(
        env.command(&["recover", &run_id, "--start-grace", "1s"])
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let after = env.clients.get(&exp.id).await.expect("get");
    assert!(
        matches!(after.status.as_str(), "stopping" | "stopped"),
        "{after:?}"
    );
    let entries = env.entries(&run_id);
    assert_eq!(
        of_kind(&entries, "stop-requested")[0].data["experiment_id"],
        exp.id.as_str()
    );
    assert_eq!(
        kinds(&entries).last().map(String::as_str),
        Some("run-interrupted")
    );
}

/// Runs a preflight that must fail: exit 2, the failed check named, no experiment started.
async fn assert_preflight_fails(env: &RunEnv, check: &str, needle: &str) {
    assert_preflight_fails_with(env, None, check, needle).await;
}

/// [`assert_preflight_fails`], with the Kubernetes checks on through `kubeconfig` when given.
async fn assert_preflight_fails_with(
    env: &RunEnv,
    kubeconfig: Option<&Path>,
    check: &str,
    needle: &str,
) {
    let run_id = unique("preflight");
    let mut cmd = env.command(&[]);
    match kubeconfig {
        Some(k) => cmd
            .env("KUBECONFIG", k)
            .env_remove("HTTPS_PROXY")
            .args(with_kube(env.run_args(&run_id))),
        None => cmd.args(env.run_args(&run_id)),
    };
    let out = finish(cmd.spawn().expect("spawn")).await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let entries = env.entries(&run_id);
    let failed: Vec<_> = of_kind(&entries, "preflight-check")
        .into_iter()
        .filter(|e| e.data["ok"] == false)
        .collect();
    assert!(
        failed.iter().any(|e| e.data["check"] == check
            && e.data["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(needle)),
        "{failed:#?}"
    );
    assert!(
        failed.iter().all(|e| e.data["fix"].is_string()),
        "every failure says how to fix it"
    );
    assert!(
        out.stdout.contains(needle),
        "the failure is printed: {}",
        out.stdout
    );
    assert!(!kinds(&entries).iter().any(|k| k == "stage-intent"));
    assert_eq!(
        of_kind(&entries, "run-finished")[0].data["outcome"],
        "preflight-failed"
    );
    assert_report(env, &run_id, "preflight-failed");
    // No StartExperiment at all: not even a preview.
    let any = env.all_experiments_of(&run_id).await;
    assert!(any.is_empty(), "{any:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_missing_stop_alarm() {
    let env = RunEnv::new(1).await;
    env.publish_history(false).await;
    let missing = env.alarm_names()[0].clone();
    assert_preflight_fails(&env, "alarm-exists", &missing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_stop_alarm_in_alarm() {
    let env = RunEnv::new(1).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    let name = env.alarm_names()[1].clone();
    env.clients
        .set_alarm_state(&name, AlarmStateValue::Alarm, "test")
        .await
        .expect("set state");
    assert_preflight_fails(&env, "alarm-state", "is in ALARM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_hypothesis_that_does_not_hold_now() {
    let env = RunEnv::new(1).await;
    env.create_alarms().await;
    env.publish_history(true).await;
    assert_preflight_fails(
        &env,
        "hypothesis-now",
        "error_rate does not hold now: its judge calls",
    )
    .await;
}

/// A judge learned on `centre` ± 5 % every 10 s for 8 hours, aborting on one datapoint beyond
/// its band, as `plan` writes it into a scenario.
fn learned_judge(metric: &str, centre: f64) -> gameday::steady_state::MetricHypothesis {
    use gameday::steady_state::{DeriveOptions, Direction, Point, derive};
    let points: Vec<Point> = (0..2880)
        .map(|i| Point {
            ts: 1_700_000_000 + i * 10,
            value: centre * (1.0 + (((i * 7919) % 13) as f64 / 6.0 - 1.0) * 0.05),
        })
        .collect();
    derive(
        &points,
        &DeriveOptions {
            metric: metric.to_owned(),
            direction: Direction::Upper,
            persistence: Some((1, 1)),
            ..DeriveOptions::default()
        },
    )
    .expect("derives")
}

impl RunEnv {
    /// Gives the scenario's p99 latency metric (live: 0.2 s, fixed bound 0.8 s) a learned judge.
    fn judge_latency(&mut self, judge: gameday::steady_state::MetricHypothesis) {
        let h = &mut self.gameday.scenarios[0].hypothesis[1];
        assert_eq!(h.metric, "p99_latency_s");
        h.judge = Some(judge);
        self.rewrite();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_what_the_learned_judge_calls_a_breach_within_the_fixed_bound() {
    let mut env = RunEnv::new(1).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    // Learned at 0.1 s: the live 0.2 s is far above its band, far below the fixed 0.8 s.
    let judge = learned_judge("p99_latency_s", 0.1);
    assert!(judge.bounds_at(0).upper.expect("guarded") < 0.15);
    env.judge_latency(judge);
    assert_preflight_fails(
        &env,
        "hypothesis-now",
        "p99_latency_s does not hold now: its judge calls",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learned_judge_guards_the_stage_and_its_band_measures_the_worst_value() {
    // FIS states of 20 s: the fault outlasts the judge's 10-second datapoints.
    let mut env = RunEnv::on(slow_fis_emulator(), 1).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    let live = env.publish_live();
    env.judge_latency(learned_judge("p99_latency_s", 0.2));
    let run_id = unique("judged");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(0, &entries);
    let now = of_kind(&entries, "preflight-check")
        .into_iter()
        .find(|e| {
            e.data["check"] == "hypothesis-now"
                && e.data["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("p99_latency_s"))
        })
        .expect("hypothesis-now for the judged metric");
    assert!(
        now.data["detail"]
            .as_str()
            .is_some_and(|d| d.contains("none a breach by its judge (abort when 1 of the last 1")),
        "{:#}",
        now.data
    );
    // Every datapoint was judged against the learned band, not the fixed 0.8 s.
    let samples: Vec<_> = of_kind(&entries, "guard-sample")
        .into_iter()
        .filter(|e| e.data["metric"] == "p99_latency_s" && e.data["phase"] == "fault")
        .collect();
    assert!(!samples.is_empty());
    // Read at the period the judge was learned at (10 s), not the guard's 1 s: the datapoints
    // its 1-of-1 rule counts are the ones it was measured on.
    let all: Vec<i64> = of_kind(&entries, "guard-sample")
        .into_iter()
        .filter(|e| e.data["metric"] == "p99_latency_s")
        .map(|e| e.data["ts"].as_i64().expect("ts"))
        .collect();
    assert!(all.len() >= 2, "{all:?}");
    assert!(
        all.windows(2)
            .all(|w| w[1] > w[0] && (w[1] - w[0]) % 10 == 0),
        "{all:?}"
    );
    for s in &samples {
        let upper = s.data["upper"].as_f64().expect("band journaled");
        assert!(upper > 0.2 && upper < 0.8, "{:#}", s.data);
        assert!(
            s.data["rule"]
                .as_str()
                .is_some_and(|r| r.contains("(10 s apart)")),
            "{:#}",
            s.data
        );
    }
    // The verdict's bound is the band in force at the worst datapoint.
    let finished = of_kind(&entries, "stage-finished");
    let m = &finished[0].data["verdict"]["metrics"][1];
    assert_eq!(m["metric"], "p99_latency_s");
    let worst = m["worst"].as_f64().expect("worst");
    let at_worst = samples
        .iter()
        .find(|s| s.data["value"].as_f64() == Some(worst))
        .expect("the worst is a fault datapoint");
    assert_eq!(m["upper"], at_worst.data["upper"], "{m:#}");
    assert_eq!(m["held"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_blind_guard() {
    let env = RunEnv::new(1).await;
    env.create_alarms().await;
    env.mode.store(SILENT, Ordering::SeqCst);
    assert_preflight_fails(&env, "hypothesis-now", "has no datapoints").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_checks_everything_and_injects_nothing() {
    let env = RunEnv::new(2).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    let run_id = unique("dry");
    let mut args = env.run_args(&run_id);
    args.push("--dry-run".into());
    let out = finish(env.command(&[]).args(args).spawn().expect("spawn")).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let entries = env.entries(&run_id);
    assert_eq!(
        of_kind(&entries, "run-finished")[0].data["outcome"],
        "dry-run"
    );
    // Two target previews (skip-all), no real experiment.
    assert_eq!(
        of_kind(&entries, "preflight-check")
            .iter()
            .filter(|e| e.data["check"] == "targets")
            .count(),
        2
    );
    assert!(env.experiments_of(&run_id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_or_yes_nothing_starts() {
    let env = RunEnv::new(1).await;
    let out = finish(
        env.command(&["run", "scenario.yaml", "--run-id", "no-yes"])
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert!(!env.path().join("reports").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_scenario_is_refused_with_its_location_before_anything_exists() {
    let env = RunEnv::new(1).await;
    let text = std::fs::read_to_string(env.path().join("scenario.yaml")).expect("read");
    std::fs::write(
        env.path().join("scenario.yaml"),
        text.replacen("selection: COUNT(1)", "selection: COUNT(500)", 1),
    )
    .expect("write");
    let out = finish(
        env.command(&[])
            .args(env.run_args("bad"))
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("COUNT(500)") || out.stderr.contains("count"),
        "{}",
        out.stderr
    );
    assert!(!env.path().join("reports").exists());
}

/// Measures the two reaction-time targets at the default guard interval (10 s) and prints
/// them; run with `cargo test --test integration run::measure -- --ignored --nocapture`.
/// Not part of CI (it takes minutes and asserts nothing about time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a test: prints reaction times"]
async fn measure_reaction_times() {
    for round in 1..=5_u64 {
        let env = RunEnv::on(slow_fis_emulator(), 1).await;
        env.create_alarms().await;
        env.publish_history(false).await;
        let live = env.publish_live();
        let run_id = unique("measure");
        let mut args = env.run_args(&run_id);
        for (flag, value) in [("--guard-interval", "10s"), ("--guard-period", "10s")] {
            let i = args.iter().position(|a| a == flag).expect("flag");
            args[i + 1] = value.to_owned();
        }
        let child = env.command(&[]).args(args).spawn().expect("spawn");
        env.wait_for(&run_id, "running", |e| {
            e.kind == "experiment-state" && e.data["status"] == "running"
        })
        .await;
        // Breach at a different phase of the guard's 10 s rhythm each round.
        tokio::time::sleep(Duration::from_millis(1900 * round)).await;
        env.mode.store(BREACHING, Ordering::SeqCst);
        let breached = Utc::now();
        let _ = finish(child).await;
        live.abort();
        let entries = env.entries(&run_id);
        let requested = of_kind(&entries, "stop-requested");
        eprintln!(
            "round {round}: breach published → StopExperiment: {} ms (guard interval 10 s)",
            requested
                .first()
                .map_or(-1, |r| (r.at - breached).num_milliseconds())
        );

        let env = RunEnv::new(1).await;
        env.create_alarms().await;
        env.publish_history(false).await;
        let live = env.publish_live();
        let run_id = unique("measure-int");
        let child = env
            .command(&[])
            .args(env.run_args(&run_id))
            .spawn()
            .expect("spawn");
        env.wait_for(&run_id, "experiment", |e| e.kind == "experiment-started")
            .await;
        let sent = Utc::now();
        signal(&child, "-INT");
        let _ = finish(child).await;
        live.abort();
        let entries = env.entries(&run_id);
        let requested = of_kind(&entries, "stop-requested");
        eprintln!(
            "round {round}: SIGINT → StopExperiment: {} ms",
            requested
                .first()
                .map_or(-1, |r| (r.at - sent).num_milliseconds())
        );
    }
}

/// The run arguments with the Kubernetes checks on.
fn with_kube(args: Vec<String>) -> Vec<String> {
    args.into_iter().filter(|a| a != "--skip-kube").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_cluster_the_kubernetes_checks_pass_and_pods_are_journaled() {
    let kube = crate::fake_kube::start(crate::fake_kube::Scenario::Healthy).await;
    let mut env = RunEnv::new(1).await;
    let kubeconfig = env.use_kube(&kube);
    env.create_alarms().await;
    env.publish_history(false).await;
    let live = env.publish_live();
    let run_id = unique("kube");
    let child = env
        .command(&[])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("HTTPS_PROXY")
        .args(with_kube(env.run_args(&run_id)))
        .spawn()
        .expect("spawn");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(0, &entries);
    let checks: Vec<String> = of_kind(&entries, "preflight-check")
        .iter()
        .map(|e| e.data["check"].as_str().unwrap_or_default().to_owned())
        .collect();
    for c in [
        "k8s-pods",
        "k8s-targets",
        "k8s-pdb",
        "k8s-rbac",
        "k8s-pod-properties",
    ] {
        assert!(checks.iter().any(|k| k == c), "{c} missing from {checks:?}");
    }
    let pods = of_kind(&entries, "k8s-pods");
    assert!(!pods.is_empty(), "pod snapshots journaled during the stage");
    assert_eq!(pods[0].data["total"], 10);
    // The selector was sent to the API server.
    assert!(
        kube.requests()
            .iter()
            .any(|r| r.contains("labelSelector=chaos-experiment%3Dcheckout")),
        "{:?}",
        kube.requests()
    );
}

async fn assert_kube_preflight_fails(
    scenario: crate::fake_kube::Scenario,
    check: &str,
    needle: &str,
) {
    let kube = crate::fake_kube::start(scenario).await;
    let mut env = RunEnv::new(1).await;
    let kubeconfig = env.use_kube(&kube);
    env.create_alarms().await;
    env.publish_history(false).await;
    assert_preflight_fails_with(&env, Some(&kubeconfig), check, needle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_targets_without_a_pod_disruption_budget() {
    assert_kube_preflight_fails(
        crate::fake_kube::Scenario::NoPdb,
        "k8s-pdb",
        "PodDisruptionBudget",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_resolved_targets_beyond_the_blast_radius() {
    assert_kube_preflight_fails(
        crate::fake_kube::Scenario::FewPods,
        "k8s-targets",
        "above the policy's max_percent 25%",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_fails_preflight_unless_skipped_on_purpose() {
    let env = RunEnv::new(1).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    let run_id = unique("no-cluster");
    let out = finish(
        env.command(&[])
            .args(with_kube(env.run_args(&run_id)))
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("--skip-kube"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_target_is_refused_while_the_first_holds_it() {
    let (env, live) = RunEnv::healthy(1).await;
    let first = unique("first");
    let child = env
        .command(&[])
        .args(env.run_args(&first))
        .spawn()
        .expect("spawn");
    env.wait_for(&first, "experiment", |e| e.kind == "experiment-started")
        .await;
    let second = unique("second");
    let out = finish(
        env.command(&[])
            .args(env.run_args(&second))
            .spawn()
            .expect("spawn"),
    )
    .await;
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("is busy") && out.stderr.contains(&first),
        "{}",
        out.stderr
    );
    assert!(env.experiments_of(&second).await.is_empty());
    let done = finish(child).await;
    live.abort();
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
}

/// Fault kinds beyond pods, run like any scenario: the emulator does not inject, so what is
/// tested is the run path (templates, start, guard, stop), the journal and the report.
#[derive(Clone, Copy)]
enum BeyondPods {
    NodeGroup,
    Database,
    /// An AZ fault on the opted-in subnets of `eu-west-1a`.
    Zone,
    /// API throttling of the IAM role `role`.
    Api(&'static str),
}

impl RunEnv {
    /// Turns the scenario into a node-group or database scenario (as `gameday plan` writes
    /// them), keeping its service, pods, hypothesis and stop alarms.
    fn beyond_pods(&mut self, kind: BeyondPods) {
        use gameday::plan::scenario::{ResourceTarget, ScenarioAction, Stage};
        let tags = BTreeMap::from([("chaos-experiment".to_owned(), "checkout".to_owned())]);
        let resource = |ty: &str| ResourceTarget {
            resource_type: ty.to_owned(),
            arns: Vec::new(),
            tags: tags.clone(),
            filters: Vec::new(),
            parameters: BTreeMap::new(),
        };
        let action = |name: &str, id: &str, params: &[(&str, &str)]| ScenarioAction {
            name: name.to_owned(),
            action_id: id.to_owned(),
            parameters: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            start_after: Vec::new(),
        };
        let s = &mut self.gameday.scenarios[0];
        let observe = s.stages[0].observe;
        let count = s.stages.len();
        let one = gameday::plan::SelectionMode::Count(1);
        let stage = |name: &str, action: &str, params: &[(&str, &str)]| {
            let mut st = Stage::new(name, one, observe);
            st.actions = vec![action.to_owned()];
            if !params.is_empty() {
                st.parameters.insert(
                    action.to_owned(),
                    params
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                );
            }
            st
        };
        match kind {
            BeyondPods::NodeGroup => {
                s.fault_class = "node-failure".into();
                s.resources = vec![resource("aws:eks:nodegroup"), resource("aws:ec2:instance")];
                s.actions = vec![
                    action("terminate-one", "aws:ec2:terminate-instances", &[]),
                    action(
                        "terminate",
                        "aws:eks:terminate-nodegroup-instances",
                        &[("instanceTerminationPercentage", "10")],
                    ),
                ];
                s.stages = vec![
                    stage("one-node", "terminate-one", &[]),
                    stage("nodegroup-10-percent", "terminate", &[]),
                    stage(
                        "nodegroup-25-percent",
                        "terminate",
                        &[("instanceTerminationPercentage", "25")],
                    ),
                ];
            }
            BeyondPods::Database => {
                s.fault_class = "database-failover".into();
                s.resources = vec![resource("aws:rds:db"), resource("aws:rds:cluster")];
                s.actions = vec![
                    action(
                        "reboot-reader",
                        "aws:rds:reboot-db-instances",
                        &[("forceFailover", "false")],
                    ),
                    action("failover", "aws:rds:failover-db-cluster", &[]),
                ];
                s.stages = vec![
                    stage("reader-reboot", "reboot-reader", &[]),
                    stage("writer-failover", "failover", &[]),
                ];
            }
            BeyondPods::Zone => {
                s.fault_class = "az-impairment".into();
                let mut subnets = resource("aws:ec2:subnet");
                subnets.parameters.insert(
                    "availabilityZoneIdentifier".to_owned(),
                    "eu-west-1a".to_owned(),
                );
                s.resources = vec![subnets];
                s.actions = vec![action(
                    "disrupt",
                    "aws:network:disrupt-connectivity",
                    &[("duration", "PT2M"), ("scope", "availability-zone")],
                )];
                s.stages = vec![
                    stage("cross-zone", "disrupt", &[]),
                    stage("zone-isolated", "disrupt", &[("scope", "all")]),
                ];
                for st in &mut s.stages {
                    st.selection = gameday::plan::SelectionMode::All;
                }
            }
            BeyondPods::Api(role) => {
                s.fault_class = "api-throttling".into();
                let mut roles = resource("aws:iam:role");
                roles.tags.clear();
                roles.arns = vec![format!("arn:aws:iam::123456789012:role/{role}")];
                s.resources = vec![roles];
                s.actions = vec![action(
                    "api-fault",
                    "aws:fis:inject-api-throttle-error",
                    &[
                        ("duration", "PT2M"),
                        ("service", "ec2"),
                        ("percentage", "10"),
                    ],
                )];
                s.stages = vec![
                    stage("calls-10-percent", "api-fault", &[]),
                    stage("calls-50-percent", "api-fault", &[("percentage", "50")]),
                ];
                for st in &mut s.stages {
                    st.selection = gameday::plan::SelectionMode::All;
                }
            }
        }
        s.stages.truncate(count);
        self.rewrite();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_group_scenario_runs_one_node_then_shares_of_the_group() {
    let (mut env, live) = RunEnv::healthy(3).await;
    env.beyond_pods(BeyondPods::NodeGroup);
    env.with_node_group(3, true).await;
    let run_id = unique("nodes");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(0, &entries);
    let finished = of_kind(&entries, "stage-finished");
    let stages: Vec<&str> = finished.iter().map(|e| stage_of(e)).collect();
    assert_eq!(
        stages,
        ["one-node", "nodegroup-10-percent", "nodegroup-25-percent"]
    );
    for f in &finished {
        assert_eq!(f.data["verdict"]["outcome"], "passed", "{:#}", f.data);
        assert_eq!(f.data["final_status"], "completed");
    }
    // The templates FIS holds act on the instance, then on the node group with the stage's
    // share.
    let templates = env.clients.list_templates().await.expect("templates");
    let ours: Vec<_> = templates
        .iter()
        .filter(|t| t.tags.get("gameday").map(String::as_str) == Some(env.gameday.name.as_str()))
        .collect();
    assert_eq!(ours.len(), 3, "{ours:?}");
    let exps = env.experiments_of(&run_id).await;
    assert_eq!(exps.len(), 3, "{exps:?}");
    assert!(exps.iter().all(|e| e.status == "completed"), "{exps:?}");
    assert_report(&env, &run_id, "passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_during_the_writer_failover_stops_the_database_scenario() {
    let (mut env, live) = RunEnv::healthy(2).await;
    env.beyond_pods(BeyondPods::Database);
    env.with_db_cluster(1).await;
    let run_id = unique("db");
    let child = env
        .command(&[])
        .args(env.run_args(&run_id))
        .spawn()
        .expect("spawn");
    let started = env
        .wait_for(&run_id, "writer failover experiment", |e| {
            e.kind == "experiment-started" && stage_of(e) == "writer-failover"
        })
        .await;
    env.mode.store(BREACHING, Ordering::SeqCst);
    let (out, entries) = env.finish_run(child, live, &run_id).await;
    out.assert_code(4, &entries);
    let finished = of_kind(&entries, "stage-finished");
    assert_eq!(stage_of(finished[0]), "reader-reboot");
    assert_eq!(finished[0].data["verdict"]["outcome"], "passed");
    let abort = of_kind(&entries, "abort");
    assert_eq!(abort[0].data["reason"], "guard");
    assert_eq!(stage_of(abort[0]), "writer-failover");
    let id = started.data["experiment_id"].as_str().expect("id");
    assert_eq!(
        of_kind(&entries, "stop-requested")[0].data["experiment_id"],
        id
    );
    assert_eq!(
        of_kind(&entries, "stop-confirmed")[0].data["status"],
        "stopped"
    );
    let exps = env.experiments_of(&run_id).await;
    assert_eq!(
        exps.iter().find(|e| e.id == id).map(|e| e.status.as_str()),
        Some("stopped")
    );
    assert_report(&env, &run_id, "aborted");
}

impl RunEnv {
    /// An EKS cluster of this test's own with one managed node group of `size` instances,
    /// tagged with the scenario's opt-in tag when `opted_in`; the scenario targets the cluster.
    async fn with_node_group(&mut self, size: i32, opted_in: bool) {
        use aws_sdk_eks::types::{NodegroupScalingConfig, VpcConfigRequest};
        let cluster = format!("{}-eks", self.gameday.name);
        let eks = &self.clients.eks;
        eks.create_cluster()
            .name(&cluster)
            .role_arn("arn:aws:iam::123456789012:role/eks-cluster")
            .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build())
            .send()
            .await
            .expect("create cluster");
        let mut ng = eks
            .create_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name("workers")
            .node_role("arn:aws:iam::123456789012:role/eks-nodes")
            .subnets("subnet-1")
            .scaling_config(
                NodegroupScalingConfig::builder()
                    .min_size(1)
                    .max_size(5)
                    .desired_size(size)
                    .build(),
            );
        if opted_in {
            ng = ng.tags("chaos-experiment", "checkout");
        }
        ng.send().await.expect("create node group");
        self.gameday.scenarios[0].target.cluster = cluster;
        self.rewrite();
    }

    /// An Aurora cluster tagged with the scenario's opt-in tag, with a writer and `readers`
    /// readers.
    async fn with_db_cluster(&self, readers: usize) {
        use aws_sdk_rds::types::Tag;
        let id = format!("{}-db", self.gameday.name);
        let rds = &self.clients.rds;
        rds.create_db_cluster()
            .db_cluster_identifier(&id)
            .engine("aurora-postgresql")
            .master_username("gameday")
            .master_user_password("not-a-real-password-1")
            .tags(
                Tag::builder()
                    .key("chaos-experiment")
                    .value("checkout")
                    .build(),
            )
            .send()
            .await
            .expect("create DB cluster");
        for i in 0..=readers {
            rds.create_db_instance()
                .db_instance_identifier(format!("{id}-{i}"))
                .db_instance_class("db.r6g.large")
                .engine("aurora-postgresql")
                .db_cluster_identifier(&id)
                .send()
                .await
                .expect("create DB instance");
        }
    }

    fn rewrite(&self) {
        std::fs::write(
            self.path().join("scenario.yaml"),
            self.gameday.to_yaml().expect("yaml"),
        )
        .expect("write");
    }

    /// Templates FIS holds for this GameDay.
    async fn templates(&self) -> usize {
        self.clients
            .list_templates()
            .await
            .expect("templates")
            .iter()
            .filter(|t| {
                t.tags.get("gameday").map(String::as_str) == Some(self.gameday.name.as_str())
            })
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_node_group_of_one_and_creates_nothing() {
    let mut env = RunEnv::new(1).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    env.beyond_pods(BeyondPods::NodeGroup);
    env.with_node_group(1, true).await;
    assert_preflight_fails(&env, "aws-nodegroup", "has 1 instance").await;
    assert_eq!(env.templates().await, 0, "no template created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_node_group_without_the_opt_in_tag() {
    let mut env = RunEnv::new(1).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    env.beyond_pods(BeyondPods::NodeGroup);
    env.with_node_group(3, false).await;
    assert_preflight_fails(&env, "aws-nodegroup", "opt-in tags").await;
    assert_eq!(env.templates().await, 0, "no template created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_database_without_a_reader_and_creates_nothing() {
    let mut env = RunEnv::new(2).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    env.beyond_pods(BeyondPods::Database);
    env.with_db_cluster(0).await;
    assert_preflight_fails(&env, "aws-database", "has no reader").await;
    assert_eq!(env.templates().await, 0, "no template created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_an_az_fault_on_a_single_zone_service_and_creates_nothing() {
    // Every pod of the service on the node of zone eu-west-1b.
    let mut fixture = crate::fake_kube::Fixture::healthy();
    for pod in fixture.pods["items"].as_array_mut().expect("pods") {
        pod["spec"]["nodeName"] = "ip-10-0-2-21.eu-west-1.compute.internal".into();
    }
    let kube = crate::fake_kube::start_with(fixture).await;
    let mut env = RunEnv::new(2).await;
    let kubeconfig = env.use_kube(&kube);
    env.create_alarms().await;
    env.publish_history(false).await;
    env.beyond_pods(BeyondPods::Zone);
    assert_preflight_fails_with(&env, Some(&kubeconfig), "k8s-zones", "single-AZ service").await;
    assert_eq!(env.templates().await, 0, "no template created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_an_api_fault_on_a_role_the_pods_cannot_assume() {
    let mut env = RunEnv::new(2).await;
    env.create_alarms().await;
    env.publish_history(false).await;
    let role = format!("{}-ec2", env.gameday.name);
    let role: &'static str = Box::leak(role.into_boxed_str());
    // An opted-in role that only EC2 may assume: not the pods' role.
    env.clients
        .iam
        .create_role()
        .role_name(role)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("chaos-experiment")
                .value("checkout")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("create role");
    env.beyond_pods(BeyondPods::Api(role));
    assert_preflight_fails(&env, "aws-role-workload", "neither EKS Pod Identity").await;
    assert_eq!(env.templates().await, 0, "no template created");
}
