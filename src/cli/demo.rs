//! `gameday demo seed|workload`: the local-emulator simulation, refused on any other endpoint.
//!
//! Input: the demo arguments. Output: seeded history and a config file, or a live workload.
//! Must not: touch an endpoint that is not loopback.

use super::args::*;
use super::io::*;
use crate::error::{EXIT_OK, Error};
use crate::provider::aws::AwsOptions;
use crate::shutdown::Shutdown;

pub(super) async fn demo_seed(cli: &Cli, args: &DemoSeedArgs) -> anyhow::Result<i32> {
    use crate::demo::{DemoError, DemoOptions, log_batches, log_history, metric_history, seed};
    check_out_file("--write-config", Some(&args.write_config))?;
    let endpoint = cli.endpoint_url.clone().unwrap_or_default();
    if !crate::provider::aws::is_loopback_endpoint(&endpoint) {
        return Err(Error::from(DemoError::NotEmulator {
            command: "seed",
            endpoint,
        })
        .into());
    }
    let opts = DemoOptions {
        log_days: args.log_days,
        metric_days: args.metric_days,
        now: chrono::Utc::now(),
    };
    let history = log_history(&opts);
    let logs = log_batches(&history);
    let metrics = metric_history(&opts, &history);
    let mut aws = AwsOptions::from(&crate::config::Config::default().aws);
    aws.endpoint_url = Some(endpoint.clone());
    aws.region = cli.region.clone();
    let clients = crate::provider::aws::AwsClients::connect(&aws)
        .await
        .map_err(Error::from)?;
    seed(&clients, &endpoint, &logs, &metrics)
        .await
        .map_err(Error::from)?;
    if args.fis_role {
        crate::demo::create_simulated_fis_role(&clients, &endpoint)
            .await
            .map_err(Error::from)?;
    }
    let groups: Vec<String> = logs.keys().cloned().collect();
    write_output(
        Some(&args.write_config),
        &crate::demo::config_yaml(&endpoint, &groups),
    )?;
    let mut truth: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for i in &history.incidents {
        *truth.entry(i.class.as_str()).or_default() += 1;
    }
    println!(
        "SIMULATION seeded into {endpoint}: {} log events in {} groups over {} days, {} metric datapoints over {} days",
        history.events.len(),
        groups.len(),
        args.log_days,
        metrics.len(),
        args.metric_days
    );
    println!("simulated incidents (ground truth for `gameday mine`):");
    for (class, n) in truth {
        println!("  {n:>3}  {class}");
    }
    println!("config written to {}", args.write_config.display());
    Ok(EXIT_OK)
}

pub(super) async fn demo_workload(
    cli: &Cli,
    args: &DemoWorkloadArgs,
    shutdown: &Shutdown,
) -> anyhow::Result<i32> {
    use crate::demo::DemoError;
    use crate::demo::workload::{WorkloadOptions, run_workload};
    let cfg = cli.load_config()?;
    let endpoint = cfg.aws.endpoint_url.clone().unwrap_or_default();
    if !crate::provider::aws::is_loopback_endpoint(&endpoint) {
        return Err(Error::from(DemoError::NotEmulator {
            command: "workload",
            endpoint,
        })
        .into());
    }
    if args.interval.is_zero() {
        return Err(Error::Usage("--interval must be longer than 0 s".to_owned()).into());
    }
    let clients = crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
        .await
        .map_err(Error::from)?;
    let opts = WorkloadOptions {
        backfill: args.backfill,
        backfill_step: std::time::Duration::from_secs(10),
        interval: args.interval,
        duration: args.duration,
        ready_file: args.ready_file.clone(),
    };
    eprintln!("SIMULATION: workload publishing to {endpoint} (Ctrl-C to stop)");
    let s = run_workload(&clients, &endpoint, &opts, shutdown)
        .await
        .map_err(Error::from)?;
    eprintln!(
        "SIMULATION: workload stopped after {} ticks ({} failed to publish), {} reaction changes",
        s.ticks, s.failed_ticks, s.reaction_changes
    );
    Ok(EXIT_OK)
}
