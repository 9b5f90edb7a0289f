//! `gameday doctor`: the read-only checklist of config, credentials and API access.
//!
//! Input: [`DoctorArgs`] and the config (or why it failed). Output: the checklist; an error when
//! a check failed. Must not: change anything.

use anyhow::Context as _;

use super::args::*;
use super::io::*;
use crate::error::{EXIT_OK, Error};

pub(super) async fn doctor(cli: &Cli, args: &DoctorArgs) -> anyhow::Result<i32> {
    let cfg = cli.load_config();
    let aws = cli.aws_options(cfg.as_ref().ok());
    let scenario = match &args.scenario {
        Some(path) => {
            let text = read_text(path)?;
            Some(crate::plan::load_scenario(path, &text).map_err(Error::from)?)
        }
        None => None,
    };
    let checks = crate::doctor::check_setup_with(
        cfg.as_ref().map_err(|e| crate::error::error_chain(e)),
        &aws,
        scenario.as_ref(),
        args.skip_kube,
    )
    .await;
    match args.format {
        OutputFormat::Text => print!("{}", crate::doctor::render(&checks)),
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&checks).context("failed to serialise the checklist")?
        ),
    }
    let failed = checks
        .iter()
        .filter(|c| c.status == crate::doctor::Status::Fail)
        .count();
    if failed > 0 {
        return Err(Error::ChecksFailed {
            failed,
            total: checks.len(),
        }
        .into());
    }
    Ok(EXIT_OK)
}
