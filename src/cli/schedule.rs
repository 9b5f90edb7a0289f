//! `gameday schedule …`: the command-line surface of the scheduler.
//!
//! Input: parsed arguments and the validated config. Output: the `list` table, the daemon,
//! one-shot passes and exports; an exit code. Must not: hold scheduling logic (that is in
//! [`crate::schedule::serve`]) or run a GameDay in-process.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::args::{
    Cli, ExportArgs, LogFormat, RunDueArgs, RunnerArgs, ScheduleArgs, ScheduleCommand, ServeArgs,
};
use crate::config::{Config, DEFAULT_CONFIG_PATH, ScheduleEntry};
use crate::error::{EXIT_INTERNAL, EXIT_OK, Error};
use crate::schedule::error::ScheduleError;
use crate::schedule::eventbridge::{EventBridgeExport, apply_schedule};
use crate::schedule::kubernetes::{KubernetesExport, config_map, cron_job, scenario_key, to_yaml};
use crate::schedule::launch::ProcessLauncher;
use crate::schedule::lease::{LeaseCoordinator, default_holder, kube_client};
use crate::schedule::list::upcoming_table;
use crate::schedule::serve::{
    CliClock, OffsetClock, SERVE_ON_TIME, Scheduler, ServeOptions, SystemClock, prepare,
};
use crate::schedule::store::DEFAULT_STATE_DIR;
use crate::schedule::store::HistoryStore;
use crate::shutdown::Shutdown;

/// Runs `gameday schedule …`.
///
/// # Errors
/// Config, history, Lease, export and I/O errors.
pub(super) async fn schedule(
    cli: &Cli,
    args: &ScheduleArgs,
    shutdown: &Shutdown,
) -> Result<i32, Error> {
    let cfg = cli.load_config()?;
    match &args.command {
        ScheduleCommand::List(a) => {
            print!(
                "{}",
                upcoming_table(&cfg, a.now.unwrap_or_else(Utc::now), a.count)?
            );
            Ok(EXIT_OK)
        }
        ScheduleCommand::Serve(a) => serve(cli, cfg, a, shutdown).await,
        ScheduleCommand::RunDue(a) => run_due(cli, &cfg, a, shutdown).await,
        ScheduleCommand::Export(a) if a.kubernetes => export_kubernetes(cli, &cfg, a),
        ScheduleCommand::Export(a) => export_eventbridge(&cfg, a).await,
    }
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
    let store = HistoryStore::open(&state_dir, crate::schedule::serve::Clock::now(&clock))?;
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
    let reload: crate::schedule::serve::Reload = Box::new(move || {
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
    let client = crate::provider::aws::scheduler::Scheduler::connect(
        &crate::provider::aws::AwsOptions::from(&cfg.aws),
    )
    .await;
    let opts = eventbridge_options(a);
    let entries: Vec<&ScheduleEntry> = cfg.schedule.iter().collect();
    for entry in entries {
        let (name, change) = apply_schedule(&client, &opts, entry).await?;
        println!("{:<8} schedule {name}", change.as_str());
    }
    Ok(EXIT_OK)
}
