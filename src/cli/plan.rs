//! `gameday plan` and `gameday iam`: options from flags, inputs read or mined, files written.
//!
//! Input: [`PlanArgs`]/[`IamArgs`] and the config. Output: the scenario tree and IAM documents on
//! disk, and with `--apply` the alarms, templates and dashboard in AWS. Must not: plan itself
//! (that is [`crate::plan`]).

use std::path::PathBuf;

use super::args::*;
use super::io::*;
use super::mine::{MineSource, build_catalogue};
use super::steady_state::{hypotheses_for, incident_windows};
use crate::config::Config;
use crate::error::{EXIT_OK, Error};
use crate::provider::aws::AwsOptions;

pub(super) async fn plan(cli: &Cli, args: &PlanArgs) -> anyhow::Result<i32> {
    use crate::plan::{ExportFormat, PlanOptions, plan_files};
    use crate::steady_state::cloudwatch::ServiceHypotheses;
    check_out_dir("--out-dir", &args.out_dir)?;
    let cfg = cli.load_config()?;
    if let Some(unknown) = args
        .services
        .iter()
        .find(|n| !cfg.services.iter().any(|s| &s.name == *n))
    {
        return Err(Error::Usage(format!(
            "--service {unknown}: no such service in the config (services: {})",
            cfg.services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let date = args.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{date}", cfg.environment));
    let needs_aws =
        args.incidents.is_none() || args.hypotheses.is_empty() || cfg.aws.account_id.is_none();
    let clients = if needs_aws {
        Some(
            crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
                .await
                .map_err(Error::from)?,
        )
    } else {
        None
    };
    let catalogue = match &args.incidents {
        Some(path) => read_catalogue(path)?,
        None => build_catalogue(cli, &cfg, &MineSource::default()).await?,
    };
    let mut hypotheses = Vec::new();
    let mut hypotheses_files: Vec<(String, PathBuf, String)> = Vec::new();
    if args.hypotheses.is_empty() {
        let clients = clients
            .as_ref()
            .ok_or_else(|| Error::Usage("no AWS access".to_owned()))?;
        for service in &cfg.services {
            let excluded = incident_windows(&catalogue, &service.name, cfg.incidents.gap);
            let h = hypotheses_for(
                clients,
                &cfg,
                &service.name,
                std::time::Duration::from_secs(30 * 86_400),
                excluded,
            )
            .await?;
            hypotheses.push((h.service, h.metrics));
        }
    } else {
        for path in &args.hypotheses {
            let (h, text): (ServiceHypotheses, String) = crate::input::read_document(
                path,
                "a hypotheses file (write one with `gameday steady-state derive --service`)",
            )
            .map_err(Error::from)?;
            crate::steady_state::check_hypotheses(
                path,
                &text,
                h.metrics
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (format!("metrics[{i}]"), m)),
                false,
            )
            .map_err(Error::from)?;
            hypotheses_files.push((h.service.clone(), path.clone(), text));
            hypotheses.push((h.service, h.metrics));
        }
    }
    let (account_id, region) = match (&cfg.aws.account_id, &clients) {
        (Some(account), _) => (
            account.clone(),
            clients
                .as_ref()
                .map(|c| c.region.clone())
                .or_else(|| cfg.aws.region.clone())
                .unwrap_or_else(|| "us-east-1".to_owned()),
        ),
        (None, Some(c)) => (
            c.caller_identity().await.map_err(Error::from)?.account,
            c.region.clone(),
        ),
        (None, None) => {
            return Err(Error::Usage("set aws.account_id in the config".to_owned()).into());
        }
    };
    let mut opts = PlanOptions::new(name, args.owner.clone(), date, account_id, region);
    opts.top_per_service = args.top;
    opts.only_services.clone_from(&args.services);
    opts.cli_allow_production = args.allow_production;
    opts.history =
        crate::history::command::planning_standings(&args.reports_dir, chrono::Utc::now());
    let gameday = crate::plan::plan(&catalogue, &hypotheses, &cfg, &opts)
        .map_err(|e| locate_plan_error(e, &cfg, &hypotheses_files))?;
    let exports: Vec<ExportFormat> = args
        .export
        .iter()
        .map(|e| match e {
            ExportArg::Cloudformation => ExportFormat::CloudFormation,
            ExportArg::Terraform => ExportFormat::Terraform,
        })
        .collect();
    for (path, text) in plan_files(&gameday, &exports).map_err(Error::from)? {
        let path = args.out_dir.join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.to_owned(),
                source,
            })?;
        }
        write_output(Some(&path), &text)?;
        println!("wrote {}", path.display());
    }
    if let (true, Some(clients)) = (args.apply, &clients) {
        apply_plan(clients, &gameday).await?;
    }
    Ok(EXIT_OK)
}

/// Creates or updates the GameDay's alarms and stage templates; prints what changed.
pub(super) async fn apply_plan(
    clients: &crate::provider::aws::AwsClients,
    gameday: &crate::plan::GameDayScenario,
) -> anyhow::Result<()> {
    let alarms: Vec<crate::provider::AlarmSpec> = gameday
        .alarms
        .iter()
        .filter_map(|a| a.to_provider(&gameday.name))
        .collect();
    for (alarm, change) in crate::steady_state::cloudwatch::apply_alarms(clients, &alarms)
        .await
        .map_err(Error::from)?
    {
        println!("{:<9} alarm {alarm}", change.as_str());
    }
    for r in crate::plan::scenario::stage_requests(gameday).map_err(Error::from)? {
        let (id, change) = clients
            .apply_template(&r.identity, &r.request)
            .await
            .map_err(Error::from)?;
        println!("{:<9} template {id} ({})", change.as_str(), r.file_name);
    }
    let dashboard = crate::plan::dashboard::dashboard_name(gameday);
    let change = clients
        .apply_dashboard(&dashboard, &crate::plan::dashboard::dashboard_body(gameday))
        .await
        .map_err(Error::from)?;
    println!("{:<9} dashboard {dashboard}", change.as_str());
    Ok(())
}

/// Adds the file and line to a planning error: a service without an abort threshold points at
/// its hypotheses file, a config setting at its key in the config file.
pub(super) fn locate_plan_error(
    e: crate::plan::PlanError,
    cfg: &Config,
    hypotheses_files: &[(String, PathBuf, String)],
) -> Error {
    let crate::plan::PlanError::Unplannable { service, field, .. } = &e else {
        return e.into();
    };
    let located = if field == "hypotheses" {
        hypotheses_files
            .iter()
            .find(|(s, ..)| s == service)
            .map(|(_, path, text)| (path.clone(), crate::input::locate(text, "metrics")))
    } else {
        cfg.source.as_ref().and_then(|p| {
            let t = crate::input::read_text(p).ok()?;
            Some((p.clone(), crate::config::locate_key(&t, field)?))
        })
    };
    match located {
        Some((path, (line, column))) => crate::input::InputError::Invalid {
            path,
            line,
            column,
            message: e.to_string(),
        }
        .into(),
        None => e.into(),
    }
}

/// `gameday iam`: write the runner policies, the FIS role documents and the Kubernetes RBAC.
pub(super) fn iam(cli: &Cli, args: &IamArgs) -> anyhow::Result<i32> {
    let cfg = cli.load_config()?;
    let text = read_text(&args.scenario)?;
    let gameday = crate::plan::load_scenario(&args.scenario, &text).map_err(Error::from)?;
    let unknown = crate::iam::experiment::unknown_actions(&gameday);
    if !unknown.is_empty() {
        return Err(Error::Usage(format!(
            "no IAM permissions are known for FIS action(s) {}: add them to \
             iam::experiment::ACTION_PERMISSIONS from the FIS actions reference",
            unknown.join(", ")
        ))
        .into());
    }
    std::fs::create_dir_all(&args.out_dir).map_err(|source| Error::Write {
        path: args.out_dir.clone(),
        source,
    })?;
    for (name, contents) in crate::iam::iam_files(&gameday, &cfg.incidents.log_groups) {
        let path = args.out_dir.join(name);
        write_output(Some(&path), &contents)?;
        println!("wrote {}", path.display());
    }
    Ok(EXIT_OK)
}
