//! `gameday run` and `gameday recover`: the scenario file loaded and checked, the run started.
//!
//! Input: [`RunArgs`]/[`RecoverArgs`] and the config. Output: the run's outcome as an exit code.
//! Must not: leave an experiment running.

use super::args::*;
use super::io::*;
use super::report::render_post_mortem;
use crate::config::Config;
use crate::error::{EXIT_OK, Error};
use crate::provider::aws::AwsOptions;
use crate::shutdown::Shutdown;

/// Loads, lints and policy-checks a scenario file for `run`; any problem is a usage error
/// (exit 2) raised before anything exists in AWS or on disk.
pub(super) fn load_runnable(
    cfg: &Config,
    path: &std::path::Path,
    allow_production: bool,
) -> anyhow::Result<crate::plan::GameDayScenario> {
    use crate::plan::{
        PlanError, Severity, check_scenario_config, load_scenario, scenario_policy_violations,
    };
    let text = read_text(path)?;
    let gameday = load_scenario(path, &text).map_err(Error::from)?;
    check_scenario_config(&gameday, cfg).map_err(|e| locate_mismatch(e, path, &text, cfg))?;
    let (errors, warnings): (Vec<_>, Vec<_>) =
        scenario_policy_violations(&gameday, &cfg.policy, allow_production)
            .map_err(Error::from)?
            .into_iter()
            .partition(|(_, v)| v.severity == Severity::Error);
    for (_, w) in warnings {
        tracing::warn!("{}", w.message);
    }
    let more = errors.len().saturating_sub(1);
    if let Some((key, v)) = errors.into_iter().next() {
        let (line, column) = crate::config::locate_key(&text, &key).unwrap_or((1, 1));
        let mut message = format!("{} [{}]", v.message, v.rule);
        if more > 0 {
            message.push_str(&format!(
                " (and {more} more violation(s); `gameday lint` lists them)"
            ));
        }
        return Err(Error::from(PlanError::ScenarioInvalid {
            path: path.to_owned(),
            line,
            column,
            key,
            message,
        })
        .into());
    }
    Ok(gameday)
}

/// A scenario/config mismatch located at the scenario file's key, naming where the config's
/// value comes from.
pub(super) fn locate_mismatch(
    e: crate::plan::PlanError,
    path: &std::path::Path,
    text: &str,
    cfg: &Config,
) -> Error {
    let crate::plan::PlanError::ScenarioMismatch { field, .. } = &e else {
        return e.into();
    };
    let config_key = match *field {
        "environment" => "environment",
        "account_id" => "aws.account_id",
        _ => "aws.region",
    };
    let from = cfg
        .source
        .as_ref()
        .and_then(|p| {
            let t = crate::input::read_text(p).ok()?;
            let (l, c) = crate::config::locate_key(&t, config_key)?;
            Some(format!("{}:{l}:{c}", p.display()))
        })
        .unwrap_or_else(|| format!("{config_key} or its command-line flag"));
    let (line, column) = crate::config::locate_key(text, field).unwrap_or((1, 1));
    crate::input::InputError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message: format!("{field}: {e} (config: {from})"),
    }
    .into()
}

pub(super) fn new_run_id(gameday: &str) -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let short = uuid::Uuid::new_v4().simple().to_string();
    format!("{gameday}-{now}-{}", &short[..6])
}

pub(super) fn parse_trigger(text: &str) -> anyhow::Result<crate::model::record::Trigger> {
    use crate::model::record::Trigger;
    match text.split_once(':') {
        None if text == "manual" => Ok(Trigger::Manual {
            user: std::env::var("USER").ok(),
        }),
        Some(("schedule", entry)) if !entry.is_empty() => Ok(Trigger::Schedule {
            entry: entry.to_owned(),
        }),
        _ => Err(Error::Usage(format!(
            "--trigger {text}: expected `manual` or `schedule:<entry>`"
        ))
        .into()),
    }
}

/// Asks on the terminal; the operator types the GameDay's name to go ahead.
pub(super) fn confirm_on_terminal(
    gameday: &crate::plan::GameDayScenario,
    checks: &[crate::model::record::PreflightCheck],
) -> bool {
    use std::io::Write as _;
    let stages: usize = gameday.scenarios.iter().map(|s| s.stages.len()).sum();
    eprintln!(
        "\nPreflight passed ({} checks). About to inject faults in {} ({} scenario(s), {stages} \
         stage(s)):",
        checks.len(),
        gameday.environment,
        gameday.scenarios.len()
    );
    for s in &gameday.scenarios {
        let stages: Vec<String> = s.stages.iter().map(|t| t.selection.to_string()).collect();
        eprintln!(
            "  {} — {} on {} ({}/{} {}) stages {}",
            s.name,
            s.fault_class,
            s.service,
            s.target.cluster,
            s.target.namespace,
            s.target.selector,
            stages.join(" → ")
        );
    }
    eprint!("Type the GameDay name ({}) to start: ", gameday.name);
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).is_ok() && line.trim() == gameday.name
}

/// `gameday run`: the scenario loaded and checked, options from the flags and the config,
/// the run stage, then the post-mortem; the outcome as an exit code.
pub(super) async fn run_scenario(
    cli: &Cli,
    args: &RunArgs,
    shutdown: &Shutdown,
) -> anyhow::Result<i32> {
    use std::io::IsTerminal as _;

    use crate::run::{GameDayOutcome, RunOptions, run_gameday};
    check_out_dir("--reports-dir", &args.reports_dir)?;
    let cfg = cli.load_config()?;
    let gameday = load_runnable(&cfg, &args.scenario, args.allow_production)?;
    if !args.yes && !args.dry_run && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "refusing to inject faults without confirmation: stdin is not a terminal; pass \
             --yes (or --dry-run to check only)"
                .to_owned(),
        )
        .into());
    }
    let mut opts = RunOptions::try_from(args)?;
    let clients = crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
        .await
        .map_err(Error::from)?;
    apply_config(&mut opts, &cfg, &gameday, &clients.region);
    let yes = args.yes;
    let confirm = move |g: &crate::plan::GameDayScenario,
                        c: &[crate::model::record::PreflightCheck]| {
        yes || confirm_on_terminal(g, c)
    };
    let mut handoff = PostMortems {
        cfg: &cfg,
        reports_dir: &args.reports_dir,
    };
    let outcome = run_gameday(
        &gameday,
        &clients,
        &crate::provider::kube::EksClusters,
        &opts,
        confirm,
        &mut handoff,
        shutdown,
    )
    .await
    .map_err(|e| Error::Usage(e.to_string()))?;
    let summary = match outcome {
        GameDayOutcome::Finished(summary) => summary,
        GameDayOutcome::EarlierRunsNotStopped | GameDayOutcome::Crashed { stop_failed: true } => {
            return Ok(crate::error::EXIT_STOP_FAILED);
        }
        GameDayOutcome::Crashed { stop_failed: false } => {
            return Ok(crate::error::EXIT_INTERNAL);
        }
    };
    println!("journal: {}", summary.journal.display());
    for c in &summary.failed_checks {
        println!("preflight failed: {}: {}", c.check, c.detail);
        if let Some(fix) = &c.fix {
            println!("  fix: {fix}");
        }
    }
    if !summary.still_running.is_empty() {
        println!("STILL RUNNING — a human must stop these experiments now:");
        for (id, how) in &summary.still_running {
            println!("  {id}: {how}");
        }
    }
    render_post_mortem(&cfg, &args.reports_dir, &opts.run_id).await;
    println!("outcome: {}", summary.outcome.as_str());
    Ok(match summary.outcome {
        crate::model::record::RunOutcome::PreflightFailed => crate::error::EXIT_USAGE,
        o => o.exit_code(),
    })
}

/// The run's options from its flags alone; `apply_config` adds what the config, the
/// scenario and the AWS connection decide.
impl TryFrom<&RunArgs> for crate::run::RunOptions {
    type Error = anyhow::Error;

    fn try_from(args: &RunArgs) -> anyhow::Result<Self> {
        let mut opts = Self::new(
            args.run_id.as_deref().unwrap_or_default(),
            args.reports_dir.clone(),
        );
        opts.scenario_file = args.scenario.display().to_string();
        opts.trigger = parse_trigger(&args.trigger)?;
        opts.guard_interval = args.guard_interval;
        opts.guard_period = args.guard_period;
        opts.judge_at_learned_period = !args.judge_at_guard_period;
        opts.poll_interval = args.poll_interval;
        opts.stop_timeout = args.stop_timeout;
        opts.recovery_cap = args.recovery_cap;
        opts.baseline_window = args.baseline;
        opts.hypothesis_window = args.hypothesis_window;
        opts.insufficient_data_tolerance = args.insufficient_data_tolerance;
        opts.stage_timeout = args.stage_timeout;
        opts.stop_on_failure = !args.continue_on_failure;
        opts.dry_run = args.dry_run;
        opts.max_blind_intervals = args.max_blind_intervals;
        opts.min_free_bytes = args.min_free_space_mib.saturating_mul(1024 * 1024);
        opts.skip_kube = args.skip_kube;
        Ok(opts)
    }
}

/// Completes a run's options: a run id when none was given, the policy and recovery targets
/// of the config, the account, region and endpoint for the record.
fn apply_config(
    opts: &mut crate::run::RunOptions,
    cfg: &Config,
    gameday: &crate::plan::GameDayScenario,
    region: &str,
) {
    if opts.run_id.is_empty() {
        opts.run_id = new_run_id(&gameday.name);
    }
    opts.policy = cfg.policy.clone();
    opts.max_targets = cfg.policy.max_count;
    opts.recovery_targets = cfg
        .services
        .iter()
        .map(|s| (s.name.clone(), s.recovery_target))
        .collect();
    opts.account_id = Some(gameday.account_id.clone());
    opts.region = Some(region.to_owned());
    opts.endpoint_url.clone_from(&cfg.aws.endpoint_url);
}

/// The report stage's side of a run: every run recovery closed is printed and its post-mortem
/// rendered.
struct PostMortems<'a> {
    cfg: &'a Config,
    reports_dir: &'a std::path::Path,
}

impl crate::run::ReportHandoff for PostMortems<'_> {
    async fn recovered(&mut self, recovered: &crate::run::recover::Recovered) {
        report_recovered(self.cfg, self.reports_dir, recovered).await;
    }
}

/// Prints what recovering a run did and renders its post-mortem (a live run is left alone).
pub(super) async fn report_recovered(
    cfg: &Config,
    reports_dir: &std::path::Path,
    r: &crate::run::recover::Recovered,
) {
    if r.alive {
        println!(
            "run {} is held by {}; left alone",
            r.run_id,
            r.holder.as_deref().unwrap_or("a live process")
        );
        return;
    }
    println!(
        "recovered run {}: stopped [{}]; journal {}",
        r.run_id,
        r.stopped.join(", "),
        r.journal.display()
    );
    for (id, how) in &r.stop_failed {
        println!("STILL RUNNING {id}: {how}");
    }
    if let Some(e) = &r.journal_error {
        eprintln!("error: run {}: {e}", r.run_id);
    }
    if r.journal_error.is_none() {
        render_post_mortem(cfg, reports_dir, &r.run_id).await;
    }
}

pub(super) async fn recover(cli: &Cli, args: &RecoverArgs) -> anyhow::Result<i32> {
    let cfg = cli.load_config()?;
    let clients = crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
        .await
        .map_err(Error::from)?;
    let opts = crate::run::recover::RecoverOptions {
        stop_timeout: args.stop_timeout,
        start_grace: args.start_grace,
    };
    let listed = match &args.run_id {
        Some(id) => {
            let journal = args
                .reports_dir
                .join(id)
                .join(crate::model::journal::JOURNAL_FILE);
            if !journal.is_file() {
                return Err(Error::Usage(format!(
                    "no journal for run {id} at {}",
                    journal.display()
                ))
                .into());
            }
            crate::run::recover::recover_run(&clients, &args.reports_dir, id, opts)
                .await
                .map(|r| vec![r])
        }
        None => crate::run::recover::recover_all(&clients, &args.reports_dir, opts).await,
    };
    let recovered = match listed {
        Ok(r) => r,
        Err(e) => {
            // Nothing can be proven stopped without FIS's list.
            eprintln!(
                "error: {}; nothing was recovered: run `gameday recover` again once AWS \
                 answers",
                crate::error::error_chain(&e)
            );
            return Ok(crate::error::EXIT_STOP_FAILED);
        }
    };
    if recovered.is_empty() {
        println!("nothing to recover under {}", args.reports_dir.display());
    }
    for r in &recovered {
        report_recovered(&cfg, &args.reports_dir, r).await;
    }
    Ok(if recovered.iter().any(|r| !r.stop_failed.is_empty()) {
        crate::error::EXIT_STOP_FAILED
    } else if recovered.iter().any(|r| r.journal_error.is_some()) {
        // Everything found is stopped, but a journal could not be read or written.
        crate::error::EXIT_INTERNAL
    } else {
        EXIT_OK
    })
}
