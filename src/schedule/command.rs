//! `gameday schedule …`: the command-line surface of the scheduler.
//!
//! Input: parsed arguments and the validated config. Output: the `list` table, the daemon,
//! one-shot passes and exports; an exit code. Must not: hold scheduling logic (that is in
//! [`super::serve`]) or run a GameDay in-process.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand};

use super::cron::CronSchedule;
use super::error::ScheduleError;
use super::eventbridge::{EventBridgeExport, apply_schedule};
use super::kubernetes::{KubernetesExport, config_map, cron_job, scenario_key, to_yaml};
use super::launch::ProcessLauncher;
use super::lease::{LeaseCoordinator, default_holder, kube_client};
use super::serve::{
    CliClock, OffsetClock, SERVE_ON_TIME, Scheduler, ServeOptions, SystemClock, prepare,
};
use super::store::HistoryStore;
use crate::cli::{Cli, LogFormat};
use crate::config::{Config, DEFAULT_CONFIG_PATH, ScheduleEntry};
use crate::error::{EXIT_INTERNAL, EXIT_OK, Error};
use crate::shutdown::Shutdown;

/// Default state directory (run history and lock), relative to the working directory.
pub const DEFAULT_STATE_DIR: &str = ".gameday/state";

/// `gameday schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

/// `gameday schedule` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Every schedule entry with its next fire times, in its timezone and in UTC; fire times
    /// inside a blackout window are marked.
    List(ListArgs),
    /// Run the scheduler daemon: fire due entries as `gameday run` child processes, one
    /// GameDay per target at a time, with the run history under --state-dir. SIGINT/SIGTERM
    /// stops running GameDays the way Ctrl-C stops `gameday run`; SIGHUP reloads the config.
    Serve(ServeArgs),
    /// One pass for an external cron: fire what is due now, wait for it, exit with the most
    /// severe exit code of the runs.
    RunDue(RunDueArgs),
    /// Export the schedule to Kubernetes CronJobs (files) or EventBridge Scheduler (API).
    Export(ExportArgs),
}

/// `gameday schedule list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Fire times per entry.
    #[arg(long, default_value_t = 5)]
    pub count: usize,
    /// Pretend it is this time (RFC 3339), for tests and what-ifs.
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<DateTime<Utc>>,
}

/// Options shared by `serve` and `run-due`.
#[derive(Debug, Args)]
pub struct RunnerArgs {
    /// Run history and lock [default: .gameday/state].
    #[arg(long, env = "GAMEDAY_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Where `gameday run` writes its reports (one directory per run id).
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub reports_dir: PathBuf,
    /// Pass --allow-production to the runs (the config must allow production too).
    #[arg(long)]
    pub allow_production: bool,
    /// Coordinate targets with other schedulers through Kubernetes Leases in this namespace
    /// (kubeconfig or in-cluster credentials).
    #[arg(long, value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Lease duration; a holder renews every third of it.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub lease_duration: String,
    /// How long a stopping run may take to stop its experiment before it is killed.
    #[arg(long, default_value = "3m", value_name = "DURATION")]
    pub stop_timeout: String,
    /// Pretend the clock starts at this time (RFC 3339), for tests.
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<DateTime<Utc>>,
    /// The gameday binary the runs use [default: this one], for tests.
    #[arg(long, env = "GAMEDAY_SCHEDULE_BIN", value_name = "FILE", hide = true)]
    pub gameday_bin: Option<PathBuf>,
}

/// `gameday schedule serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Runner options.
    #[command(flatten)]
    pub runner: RunnerArgs,
}

/// `gameday schedule run-due`.
#[derive(Debug, Args)]
pub struct RunDueArgs {
    /// Only these entries (repeatable) [default: all].
    #[arg(long, value_name = "NAME")]
    pub entry: Vec<String>,
    /// A fire time this recent is on time (set it to the external cron's period); older
    /// ones follow the entry's missed-run policy.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub window: String,
    /// Runner options.
    #[command(flatten)]
    pub runner: RunnerArgs,
}

/// `gameday schedule export`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("to").required(true).args(["kubernetes", "eventbridge"])))]
pub struct ExportArgs {
    /// Write one CronJob per entry and their ConfigMap to --out.
    #[arg(long, requires = "out")]
    pub kubernetes: bool,
    /// Create or update one EventBridge Scheduler schedule per entry (ECS RunTask target).
    #[arg(long)]
    pub eventbridge: bool,
    /// Directory for the Kubernetes manifests.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Container image with the gameday binary.
    #[arg(long, default_value = "REPLACE-ME/gameday:latest")]
    pub image: String,
    /// Kubernetes namespace of the CronJobs and ConfigMap.
    #[arg(long, default_value = "gameday")]
    pub namespace: String,
    /// Service account of the pods (IRSA-annotated or bound by EKS Pod Identity).
    #[arg(long, default_value = "gameday")]
    pub service_account: String,
    /// ConfigMap holding gameday.yaml and the scenario files.
    #[arg(long, default_value = "gameday-config")]
    pub config_map: String,
    /// Lease namespace the exported runs coordinate in (omit for no Lease).
    #[arg(long, value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// EventBridge: ECS cluster ARN the task runs in.
    #[arg(long, default_value = "arn:aws:ecs:REGION:ACCOUNT:cluster/REPLACE-ME")]
    pub target_arn: String,
    /// EventBridge: role the scheduler assumes for ecs:RunTask and iam:PassRole.
    #[arg(
        long,
        default_value = "arn:aws:iam::ACCOUNT:role/REPLACE-ME-gameday-scheduler"
    )]
    pub role_arn: String,
    /// EventBridge: task definition ARN of the gameday task.
    #[arg(
        long,
        default_value = "arn:aws:ecs:REGION:ACCOUNT:task-definition/REPLACE-ME-gameday"
    )]
    pub task_definition: String,
    /// EventBridge: container name in the task definition.
    #[arg(long, default_value = "gameday")]
    pub container: String,
    /// EventBridge: schedule group.
    #[arg(long, default_value = "default")]
    pub group: String,
    /// EventBridge: subnet for awsvpc networking (repeatable).
    #[arg(long = "subnet", value_name = "ID")]
    pub subnets: Vec<String>,
    /// EventBridge: security group (repeatable).
    #[arg(long = "security-group", value_name = "ID")]
    pub security_groups: Vec<String>,
    /// EventBridge: --config path inside the task.
    #[arg(long, default_value = "/etc/gameday/gameday.yaml")]
    pub task_config_path: String,
}

/// Runs `gameday schedule …`.
///
/// # Errors
/// Config, history, Lease, export and I/O errors.
pub async fn run(cli: &Cli, args: &ScheduleArgs, shutdown: &Shutdown) -> Result<i32, Error> {
    let cfg = cli.load_config()?;
    // An entry whose scenario file is missing would only fail at its fire time.
    if let Some(missing) = cfg.missing_schedule_scenarios().into_iter().next() {
        return Err(missing.into());
    }
    match &args.command {
        ScheduleCommand::List(a) => {
            print!("{}", list(&cfg, a.now.unwrap_or_else(Utc::now), a.count)?);
            Ok(EXIT_OK)
        }
        ScheduleCommand::Serve(a) => serve(cli, cfg, a, shutdown).await,
        ScheduleCommand::RunDue(a) => run_due(cli, &cfg, a, shutdown).await,
        ScheduleCommand::Export(a) if a.kubernetes => export_kubernetes(cli, &cfg, a),
        ScheduleCommand::Export(a) => export_eventbridge(&cfg, a).await,
    }
}

/// The `list` table: each entry, then its next `count` fire times in its timezone and UTC.
///
/// # Errors
/// [`ScheduleError::Cron`] for an expression the config validation let through.
pub fn list(cfg: &Config, now: DateTime<Utc>, count: usize) -> Result<String, Error> {
    let mut out = String::new();
    if cfg.schedule.is_empty() {
        out.push_str("no schedule entries (add `schedule:` to the config)\n");
    }
    for entry in &cfg.schedule {
        let cron = CronSchedule::for_entry(entry).map_err(Error::from)?;
        let _ = writeln!(
            out,
            "{}  `{}` {}  {}  {}  missed: {}, grace {}",
            entry.name,
            entry.cron,
            entry.timezone,
            entry.environment,
            entry.scenario.as_ref().map_or_else(
                || "plan fresh".to_owned(),
                |p| format!("scenario {}", p.display())
            ),
            match entry.missed {
                crate::config::MissedPolicy::Skip => "skip",
                crate::config::MissedPolicy::RunLate => "run-late",
            },
            humantime::format_duration(entry.grace)
        );
        for at in cron.upcoming(now, count) {
            let local = at.with_timezone(&cron.timezone());
            let blackout = entry
                .blackouts
                .iter()
                .find(|b| b.start <= at && at < b.end)
                .map(|b| {
                    format!(
                        "  skipped: blackout{}",
                        b.reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}   {}{blackout}",
                local.format("%a %Y-%m-%d %H:%M %Z (%:z)"),
                at.format("%Y-%m-%d %H:%M UTC")
            );
        }
    }
    Ok(out)
}

fn parse_flag_duration(flag: &str, text: &str) -> Result<Duration, Error> {
    crate::config::parse_duration(text).map_err(|m| Error::Usage(format!("{flag}: {m}")))
}

/// The global flags a child `gameday` gets, so it reads the same config and AWS settings.
fn child_global_args(cli: &Cli) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(c) = &cli.config {
        args.extend(["--config".into(), c.clone().into_os_string()]);
    }
    for (flag, value) in [
        ("--profile", &cli.profile),
        ("--region", &cli.region),
        ("--endpoint-url", &cli.endpoint_url),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            args.extend([flag.into(), v.into()]);
        }
    }
    if cli.log_format == LogFormat::Json {
        args.extend(["--log-format".into(), "json".into()]);
    }
    args
}

struct Runner {
    store: HistoryStore,
    launcher: ProcessLauncher,
    clock: CliClock,
    lease: Option<LeaseCoordinator>,
}

async fn runner(cli: &Cli, a: &RunnerArgs) -> Result<Runner, Error> {
    let clock = match a.now {
        Some(now) => CliClock::Offset(OffsetClock::new(now)),
        None => CliClock::System(SystemClock),
    };
    let state_dir = a
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    let store = HistoryStore::open(&state_dir, super::serve::Clock::now(&clock))?;
    let program = match &a.gameday_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|source| Error::Read {
            path: PathBuf::from("/proc/self/exe"),
            source,
        })?,
    };
    let launcher = ProcessLauncher {
        program,
        global_args: child_global_args(cli),
        reports_dir: a.reports_dir.clone(),
        plans_dir: state_dir.join("plans"),
        allow_production: a.allow_production,
        stop_timeout: parse_flag_duration("--stop-timeout", &a.stop_timeout)?,
    };
    let lease = match &a.lease_namespace {
        Some(ns) => Some(LeaseCoordinator::new(
            kube_client().await?,
            ns,
            &default_holder(),
            parse_flag_duration("--lease-duration", &a.lease_duration)?,
        )),
        None => None,
    };
    Ok(Runner {
        store,
        launcher,
        clock,
        lease,
    })
}

async fn serve(cli: &Cli, cfg: Config, a: &ServeArgs, shutdown: &Shutdown) -> Result<i32, Error> {
    let entries = prepare(&cfg, &[])?;
    let r = runner(cli, &a.runner).await?;
    let opts = ServeOptions {
        on_time: SERVE_ON_TIME,
        reports_dir: a.runner.reports_dir.clone(),
    };
    tracing::info!(
        entries = entries.len(),
        history = %r.store.path().display(),
        lease_namespace = a.runner.lease_namespace.as_deref().unwrap_or("-"),
        "scheduler started"
    );
    let mut scheduler = Scheduler::new(entries, r.store, r.launcher, r.clock, opts);
    if let Some(lease) = r.lease {
        scheduler = scheduler.with_lease(lease);
    }
    let reload_signal = Arc::new(tokio::sync::Notify::new());
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut hup) = signal(SignalKind::hangup()) {
            let notify = reload_signal.clone();
            let token = shutdown.token().clone();
            shutdown.tracker().spawn(async move {
                loop {
                    tokio::select! {
                        () = token.cancelled() => break,
                        got = hup.recv() => match got {
                            Some(()) => notify.notify_one(),
                            None => break,
                        },
                    }
                }
            });
        }
    }
    let config_path = cli.config.clone();
    let reload: super::serve::Reload = Box::new(move || {
        let path = config_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
        let cfg = Config::load(&path).map_err(|e| ScheduleError::Scenario {
            entry: "-".to_owned(),
            path: path.clone(),
            source: Box::new(e.into()),
        })?;
        prepare(&cfg, &[])
    });
    let runs = scheduler
        .serve(shutdown.token().clone(), reload_signal, Some(reload))
        .await?;
    tracing::info!(runs = runs.len(), "scheduler stopped");
    Ok(EXIT_OK)
}

async fn run_due(
    cli: &Cli,
    cfg: &Config,
    a: &RunDueArgs,
    shutdown: &Shutdown,
) -> Result<i32, Error> {
    let entries = prepare(cfg, &a.entry)?;
    let window = parse_flag_duration("--window", &a.window)?;
    let r = runner(cli, &a.runner).await?;
    let opts = ServeOptions {
        on_time: window,
        reports_dir: a.runner.reports_dir.clone(),
    };
    let mut scheduler = Scheduler::new(entries, r.store, r.launcher, r.clock, opts);
    if let Some(lease) = r.lease {
        scheduler = scheduler.with_lease(lease);
    }
    let runs = scheduler.run_due(shutdown.token().clone()).await?;
    if runs.is_empty() {
        println!("nothing due");
    }
    for run in &runs {
        println!(
            "{}  {}  {}  {}{}",
            run.entry,
            run.scheduled_at.to_rfc3339(),
            run.run_id,
            run.result.outcome.as_str(),
            run.result
                .exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default()
        );
    }
    // The most severe code wins: 5 stop failed > 4 aborted > 3 hypothesis > 2 usage > 1.
    Ok(runs
        .iter()
        .map(|r| r.result.exit_code.unwrap_or(EXIT_INTERNAL))
        .max()
        .unwrap_or(EXIT_OK))
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

fn export_kubernetes(cli: &Cli, cfg: &Config, a: &ExportArgs) -> Result<i32, Error> {
    let out = a
        .out
        .clone()
        .ok_or_else(|| Error::Usage("--kubernetes needs --out DIR".to_owned()))?;
    let config_path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })
    };
    let config_text = read(&config_path)?;
    let opts = KubernetesExport {
        namespace: a.namespace.clone(),
        image: a.image.clone(),
        service_account: a.service_account.clone(),
        config_map: a.config_map.clone(),
        lease_namespace: a.lease_namespace.clone(),
    };
    let mut scenarios = std::collections::BTreeMap::new();
    let mut jobs = Vec::new();
    for entry in &cfg.schedule {
        if let Some(path) = &entry.scenario {
            scenarios.insert(scenario_key(entry), read(path)?);
        }
        jobs.push((entry, cron_job(&opts, entry)?));
    }
    std::fs::create_dir_all(&out).map_err(|source| Error::Write {
        path: out.clone(),
        source,
    })?;
    let path = out.join("configmap.yaml");
    write_file(
        &path,
        &to_yaml("ConfigMap", &config_map(&opts, &config_text, &scenarios))?,
    )?;
    println!("wrote {}", path.display());
    for (entry, job) in jobs {
        let path = out.join(format!("cronjob-{}.yaml", entry.name));
        write_file(&path, &to_yaml("CronJob", &job)?)?;
        println!("wrote {}", path.display());
    }
    Ok(EXIT_OK)
}

/// Builds the EventBridge export options from the flags.
fn eventbridge_options(a: &ExportArgs) -> EventBridgeExport {
    EventBridgeExport {
        group: a.group.clone(),
        cluster_arn: a.target_arn.clone(),
        role_arn: a.role_arn.clone(),
        task_definition_arn: a.task_definition.clone(),
        container: a.container.clone(),
        subnets: a.subnets.clone(),
        security_groups: a.security_groups.clone(),
        config_path: a.task_config_path.clone(),
        lease_namespace: a.lease_namespace.clone(),
    }
}

async fn export_eventbridge(cfg: &Config, a: &ExportArgs) -> Result<i32, Error> {
    let (sdk, _) =
        crate::provider::aws::sdk_config(&crate::provider::aws::AwsOptions::from(&cfg.aws)).await;
    let client = aws_sdk_scheduler::Client::new(&sdk);
    let opts = eventbridge_options(a);
    let entries: Vec<&ScheduleEntry> = cfg.schedule.iter().collect();
    for entry in entries {
        let (name, change) = apply_schedule(&client, &opts, entry).await?;
        println!("{:<8} schedule {name}", change.as_str());
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_prints_the_next_five_times_local_and_utc_and_marks_blackouts() {
        let cfg = Config::from_yaml(
            Path::new("gameday.yaml"),
            "schedule:\n  - name: weekly\n    cron: \"0 10 * * TUE\"\n    timezone: Europe/Berlin\n    blackouts:\n      - start: 2026-12-20T00:00:00Z\n        end: 2027-01-04T00:00:00Z\n        reason: holiday freeze\n",
        )
        .expect("config");
        let out = list(&cfg, "2026-12-01T00:00:00Z".parse().expect("now"), 5).expect("list");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "{out}");
        assert!(
            lines[0].starts_with("weekly  `0 10 * * TUE` Europe/Berlin  staging  plan fresh"),
            "{out}"
        );
        assert_eq!(
            lines[1],
            "  Tue 2026-12-01 10:00 CET (+01:00)   2026-12-01 09:00 UTC"
        );
        assert_eq!(
            lines[4],
            "  Tue 2026-12-22 10:00 CET (+01:00)   2026-12-22 09:00 UTC  skipped: blackout (holiday freeze)"
        );
        assert_eq!(
            lines[5],
            "  Tue 2026-12-29 10:00 CET (+01:00)   2026-12-29 09:00 UTC  skipped: blackout (holiday freeze)"
        );
    }
}
