//! Launching a scheduled GameDay: `gameday plan` (for "plan fresh") and `gameday run`, each a
//! child process of the same binary.
//!
//! Input: a [`RunJob`] and a cancellation token. Output: a [`RunResult`] (exit code and
//! outcome). A child process keeps a crashing run from taking the daemon down, and stopping
//! it takes exactly the path Ctrl-C takes in `gameday run`: the scheduler sends SIGINT, the
//! child stops its FIS experiment and writes its journal, and the scheduler waits (bounded) for
//! it to exit. The child runs in its own process group so a Ctrl-C in the daemon's terminal
//! reaches it once, through the scheduler, never twice (a second SIGINT makes `run` exit
//! without cleanup). Must not: kill a child before the stop timeout has passed.

use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::store::RunOutcome;
use crate::config::ScheduleEntry;

/// How long a stopping child may take to stop its experiment and exit before it is killed
/// (and the run recorded as `stop-failed`): `run` polls FIS until the experiment is stopped,
/// which takes a minute or two.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(180);

/// Where an exported `run-due` keeps its state and reports, when not where its config says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDueDirs {
    /// `--state-dir`.
    pub state: String,
    /// `--reports-dir`.
    pub reports: String,
}

/// The arguments (after the program name) of the `gameday schedule run-due` that an export
/// (Kubernetes CronJob, EventBridge Scheduler) runs on each fire of `entry`: its config, JSON
/// logs, the entry with its `grace` as the on-time window, then the directories and the Lease
/// namespace when given. Both exports build their command line here, so they cannot drift
/// apart.
pub fn run_due_args(
    config_path: &str,
    entry: &ScheduleEntry,
    dirs: Option<&RunDueDirs>,
    lease_namespace: Option<&str>,
) -> Vec<String> {
    let mut args = vec![
        "--config".to_owned(),
        config_path.to_owned(),
        "--log-format".to_owned(),
        "json".to_owned(),
        "schedule".to_owned(),
        "run-due".to_owned(),
        "--entry".to_owned(),
        entry.name.clone(),
        "--window".to_owned(),
        format!("{}s", entry.grace.as_secs()),
    ];
    if let Some(d) = dirs {
        args.extend([
            "--state-dir".to_owned(),
            d.state.clone(),
            "--reports-dir".to_owned(),
            d.reports.clone(),
        ]);
    }
    if let Some(ns) = lease_namespace {
        args.extend(["--lease-namespace".to_owned(), ns.to_owned()]);
    }
    args
}

/// One scheduled GameDay to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunJob {
    /// Entry name.
    pub entry: String,
    /// The run id, unique per fire.
    pub run_id: String,
    /// The scheduled instant.
    pub scheduled_at: DateTime<Utc>,
    /// Environment.
    pub environment: String,
    /// Longest the run may take before the scheduler interrupts it.
    pub max_duration: Duration,
}

impl RunJob {
    /// The GameDay name a fresh plan gets: `<entry>-<yyyymmdd-hhmm>` of the scheduled instant.
    pub fn gameday_name(&self) -> String {
        format!("{}-{}", self.entry, self.scheduled_at.format("%Y%m%d-%H%M"))
    }
}

/// How a launch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// The child's exit code (`None`: killed by a signal, or never started).
    pub exit_code: Option<i32>,
    /// The outcome.
    pub outcome: RunOutcome,
    /// The scheduler interrupted the run (shutdown or `max_duration`).
    pub interrupted: bool,
    /// What happened, in a line.
    pub detail: String,
}

impl RunResult {
    /// The result of a child that exited with `code`.
    pub fn exited(code: Option<i32>, detail: impl Into<String>) -> Self {
        Self {
            exit_code: code,
            outcome: RunOutcome::from_exit_code(code),
            interrupted: false,
            detail: detail.into(),
        }
    }
}

/// Starts GameDays. The serve loop is generic over it so tests drive it with a fake.
pub trait Launcher: Send + Sync + 'static {
    /// Plans a fresh GameDay for `job` and returns the scenario file written, or the result
    /// that ends the run when planning fails or is cancelled.
    fn plan(
        &self,
        job: &RunJob,
        cancel: CancellationToken,
    ) -> impl Future<Output = Result<PathBuf, RunResult>> + Send;

    /// Runs `scenario`; on `cancel` (or at `job.max_duration`) the run is interrupted and
    /// allowed to stop its experiment.
    fn run(
        &self,
        job: &RunJob,
        scenario: &Path,
        cancel: CancellationToken,
    ) -> impl Future<Output = RunResult> + Send;
}

/// Launches `gameday plan` and `gameday run` as child processes.
#[derive(Debug, Clone)]
pub struct ProcessLauncher {
    /// The binary (normally `std::env::current_exe()`).
    pub program: PathBuf,
    /// Global flags passed before the subcommand (`--config`, `--region`, …).
    pub global_args: Vec<OsString>,
    /// `--reports-dir` of `gameday run`.
    pub reports_dir: PathBuf,
    /// Where fresh plans are written (`<dir>/<run-id>/scenarios/<name>.yaml`).
    pub plans_dir: PathBuf,
    /// Pass `--allow-production` (the config must allow production as well).
    pub allow_production: bool,
    /// How long a stopping child may take.
    pub stop_timeout: Duration,
}

impl ProcessLauncher {
    /// The arguments of `gameday run` for `job`.
    pub fn run_args(&self, job: &RunJob, scenario: &Path) -> Vec<OsString> {
        let mut args = self.global_args.clone();
        args.extend([
            "run".into(),
            scenario.as_os_str().to_owned(),
            "--yes".into(),
            "--run-id".into(),
            job.run_id.clone().into(),
            "--trigger".into(),
            format!("schedule:{}", job.entry).into(),
            "--reports-dir".into(),
            self.reports_dir.as_os_str().to_owned(),
        ]);
        if self.allow_production {
            args.push("--allow-production".into());
        }
        args
    }

    /// The arguments of `gameday plan` for `job`, and the scenario file it will write.
    pub fn plan_args(&self, job: &RunJob) -> (Vec<OsString>, PathBuf) {
        let out = self.plans_dir.join(&job.run_id);
        let name = job.gameday_name();
        let scenario = out.join("scenarios").join(format!("{name}.yaml"));
        let mut args = self.global_args.clone();
        args.extend([
            "plan".into(),
            "--out-dir".into(),
            out.into_os_string(),
            "--name".into(),
            name.into(),
            "--owner".into(),
            "gameday-scheduler".into(),
            "--date".into(),
            job.scheduled_at.date_naive().to_string().into(),
        ]);
        if self.allow_production {
            args.push("--allow-production".into());
        }
        (args, scenario)
    }

    /// Runs the child to completion, interrupting it on `cancel` or after `limit`.
    async fn supervise(
        &self,
        what: &str,
        args: Vec<OsString>,
        job: &RunJob,
        limit: Duration,
        cancel: CancellationToken,
    ) -> RunResult {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&args).stdin(std::process::Stdio::null());
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(entry = %job.entry, run_id = %job.run_id, error = %e, "failed to start {what}");
                return RunResult::exited(
                    None,
                    format!("failed to start `{} {what}`: {e}", self.program.display()),
                );
            }
        };
        tracing::info!(entry = %job.entry, run_id = %job.run_id, pid = child.id(), "started gameday {what}");
        let why = tokio::select! {
            status = child.wait() => {
                return match status {
                    Ok(s) => RunResult::exited(s.code(), format!("gameday {what} exited with {s}")),
                    Err(e) => RunResult::exited(None, format!("failed to wait for gameday {what}: {e}")),
                };
            }
            () = cancel.cancelled() => "the scheduler is shutting down",
            () = tokio::time::sleep(limit) => "max_duration reached",
        };
        tracing::warn!(entry = %job.entry, run_id = %job.run_id, reason = why, "interrupting gameday {what} (SIGINT, as Ctrl-C)");
        interrupt(&child);
        match tokio::time::timeout(self.stop_timeout, child.wait()).await {
            Ok(Ok(s)) => RunResult {
                interrupted: true,
                ..RunResult::exited(
                    s.code(),
                    format!("interrupted ({why}); gameday {what} exited with {s}"),
                )
            },
            Ok(Err(e)) => RunResult {
                exit_code: None,
                outcome: RunOutcome::StopFailed,
                interrupted: true,
                detail: format!("interrupted ({why}); failed to wait for gameday {what}: {e}"),
            },
            Err(_) => {
                tracing::error!(
                    entry = %job.entry,
                    run_id = %job.run_id,
                    "gameday {what} did not exit within {}s of SIGINT: killing it; run `gameday recover` to stop anything left running",
                    self.stop_timeout.as_secs()
                );
                let _ = child.start_kill();
                let _ = child.wait().await;
                RunResult {
                    exit_code: None,
                    outcome: RunOutcome::StopFailed,
                    interrupted: true,
                    detail: format!(
                        "interrupted ({why}) but gameday {what} did not exit within {}s and was killed: run `gameday recover {}`",
                        self.stop_timeout.as_secs(),
                        job.run_id
                    ),
                }
            }
        }
    }
}

/// Sends SIGINT to the child: the same signal Ctrl-C sends to `gameday run`.
fn interrupt(child: &tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok())
        && let Err(e) =
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGINT)
    {
        tracing::error!(pid, error = %e, "failed to send SIGINT");
    }
    #[cfg(not(unix))]
    {
        let _ = child;
        tracing::error!("cannot interrupt a child process on this platform");
    }
}

impl Launcher for ProcessLauncher {
    async fn plan(&self, job: &RunJob, cancel: CancellationToken) -> Result<PathBuf, RunResult> {
        let (args, scenario) = self.plan_args(job);
        let result = self
            .supervise("plan", args, job, job.max_duration, cancel)
            .await;
        if result.exit_code == Some(crate::error::EXIT_OK) {
            if scenario.is_file() {
                return Ok(scenario);
            }
            return Err(RunResult {
                outcome: RunOutcome::PreflightFailed,
                detail: format!("gameday plan succeeded but wrote no {}", scenario.display()),
                ..result
            });
        }
        // A failed plan injected nothing: report it as a preflight failure whatever its code.
        Err(RunResult {
            outcome: if result.interrupted {
                RunOutcome::Aborted
            } else {
                RunOutcome::PreflightFailed
            },
            detail: format!("planning failed: {}", result.detail),
            ..result
        })
    }

    async fn run(&self, job: &RunJob, scenario: &Path, cancel: CancellationToken) -> RunResult {
        let args = self.run_args(job, scenario);
        self.supervise("run", args, job, job.max_duration, cancel)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> RunJob {
        RunJob {
            entry: "weekly".into(),
            run_id: "sched-1".into(),
            scheduled_at: "2026-03-03T09:00:00Z".parse().expect("time"),
            environment: "staging".into(),
            max_duration: Duration::from_secs(60),
        }
    }

    fn launcher(program: &str) -> ProcessLauncher {
        ProcessLauncher {
            program: program.into(),
            global_args: vec!["--config".into(), "g.yaml".into()],
            reports_dir: "reports".into(),
            plans_dir: "state/plans".into(),
            allow_production: false,
            stop_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn run_arguments_follow_the_gameday_run_surface() {
        let args = launcher("gameday").run_args(&job(), Path::new("s.yaml"));
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        assert_eq!(
            args,
            [
                "--config",
                "g.yaml",
                "run",
                "s.yaml",
                "--yes",
                "--run-id",
                "sched-1",
                "--trigger",
                "schedule:weekly",
                "--reports-dir",
                "reports"
            ]
        );
    }

    #[test]
    fn plan_arguments_name_the_gameday_after_entry_and_instant() {
        let (args, scenario) = launcher("gameday").plan_args(&job());
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        assert!(
            args.windows(2)
                .any(|w| w[0] == "--name" && w[1] == "weekly-20260303-0900"),
            "{args:?}"
        );
        assert_eq!(
            scenario,
            Path::new("state/plans/sched-1/scenarios/weekly-20260303-0900.yaml")
        );
    }

    /// A stand-in for `gameday run`: exits with `$CODE`, or on SIGINT writes `stopped` and
    /// exits 4, as `run` does after stopping its experiment.
    fn stand_in(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("gameday-stand-in");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    #[tokio::test]
    async fn exit_codes_map_to_outcomes_and_a_missing_binary_is_a_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (code, outcome) in [
            (0, RunOutcome::Passed),
            (2, RunOutcome::PreflightFailed),
            (3, RunOutcome::HypothesisFailed),
            (4, RunOutcome::Aborted),
            (5, RunOutcome::StopFailed),
            (9, RunOutcome::Failed),
        ] {
            let script = stand_in(dir.path(), &format!("exit {code}"));
            let r = launcher(script.to_str().expect("utf-8"))
                .run(&job(), Path::new("s.yaml"), CancellationToken::new())
                .await;
            assert_eq!((r.exit_code, r.outcome), (Some(code), outcome));
        }
        let missing = launcher("/nonexistent/gameday")
            .run(&job(), Path::new("s.yaml"), CancellationToken::new())
            .await;
        assert_eq!(missing.exit_code, None);
        assert_eq!(missing.outcome, RunOutcome::Failed);
        assert!(
            missing.detail.contains("failed to start"),
            "{}",
            missing.detail
        );
    }

    #[tokio::test]
    async fn cancel_sends_sigint_and_waits_for_the_child_to_stop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("stopped");
        let script = stand_in(
            dir.path(),
            &format!(
                "trap 'echo \"$@\" > {m}; exit 4' INT\nwhile :; do sleep 0.05; done",
                m = marker.display()
            ),
        );
        let l = launcher(script.to_str().expect("utf-8"));
        let cancel = CancellationToken::new();
        let stopper = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            stopper.cancel();
        });
        let r = l.run(&job(), Path::new("s.yaml"), cancel).await;
        assert!(r.interrupted);
        assert_eq!((r.exit_code, r.outcome), (Some(4), RunOutcome::Aborted));
        let args = std::fs::read_to_string(&marker).expect("the child saw SIGINT");
        assert!(args.contains("run s.yaml --yes --run-id sched-1"), "{args}");
    }

    #[tokio::test]
    async fn a_child_that_ignores_sigint_is_killed_after_the_stop_timeout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = stand_in(dir.path(), "trap '' INT\nwhile :; do sleep 0.05; done");
        let mut l = launcher(script.to_str().expect("utf-8"));
        l.stop_timeout = Duration::from_millis(300);
        let mut j = job();
        j.max_duration = Duration::from_millis(200);
        let r = l
            .run(&j, Path::new("s.yaml"), CancellationToken::new())
            .await;
        assert!(r.interrupted);
        assert_eq!(r.outcome, RunOutcome::StopFailed);
        assert!(
            r.detail.contains("max_duration") && r.detail.contains("recover"),
            "{}",
            r.detail
        );
    }

    /// Both exports run the same `run-due`: EventBridge's command is `gameday` and the
    /// CronJob's arguments without its data directories.
    #[test]
    fn both_exports_run_the_same_run_due() {
        use crate::config::{Config, EXAMPLE_CONFIG};
        use crate::schedule::{eventbridge, kubernetes};
        let cfg = Config::from_yaml(Path::new("gameday.example.yaml"), EXAMPLE_CONFIG)
            .expect("example config");
        let entry = &cfg.schedule[0];
        let config_path = format!("{}/gameday.yaml", kubernetes::CONFIG_MOUNT);
        let eb = eventbridge::EventBridgeExport {
            group: "default".into(),
            cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/gameday".into(),
            role_arn: "arn:aws:iam::123456789012:role/scheduler".into(),
            task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/g:1".into(),
            container: "gameday".into(),
            subnets: vec![],
            security_groups: vec![],
            config_path: config_path.clone(),
            lease_namespace: Some("gameday".into()),
        };
        let input = eventbridge::task_input(&eb, entry);
        let command: Vec<&str> = input["containerOverrides"][0]["command"]
            .as_array()
            .expect("command")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let k8s = kubernetes::KubernetesExport {
            namespace: "gameday".into(),
            image: "registry.example/gameday:1".into(),
            service_account: "gameday".into(),
            config_map: "gameday-config".into(),
            lease_namespace: Some("gameday".into()),
        };
        let job = kubernetes::cron_job(&k8s, entry).expect("cron job");
        let pod = job
            .spec
            .and_then(|s| s.job_template.spec)
            .and_then(|j| j.template.spec)
            .expect("pod spec");
        let container = &pod.containers[0];
        assert_eq!(container.command, Some(vec!["gameday".to_owned()]));
        let mut args = container.args.clone().expect("args");
        let dirs = args
            .iter()
            .position(|a| a == "--state-dir")
            .expect("--state-dir");
        let removed: Vec<String> = args.drain(dirs..dirs + 4).collect();
        assert_eq!(
            removed,
            [
                "--state-dir",
                "/var/lib/gameday/state",
                "--reports-dir",
                "/var/lib/gameday/reports"
            ]
        );
        assert_eq!(command[0], "gameday");
        assert_eq!(command[1..], args);
        assert_eq!(
            args,
            [
                "--config",
                "/etc/gameday/gameday.yaml",
                "--log-format",
                "json",
                "schedule",
                "run-due",
                "--entry",
                "weekly-checkout",
                "--window",
                "3600s",
                "--lease-namespace",
                "gameday"
            ]
        );
    }
}
