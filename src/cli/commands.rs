//! One subcommand to one handler, and the interrupt rule of long read-only commands.
//!
//! Input: the parsed [`Cli`] and the process's [`Shutdown`]. Output: an exit code. Must not:
//! do a command's work.

use super::args::*;
use super::demo::{demo_seed, demo_workload};
use super::doctor::doctor;
use super::lint::lint;
use super::mine::{mine, patterns};
use super::plan::{iam, plan};
use super::report::report;
use super::run::{recover, run_scenario};
use super::steady_state::{check, derive, derive_service};
use crate::shutdown::Shutdown;

/// Runs the parsed command line and returns the process exit code.
///
/// # Errors
/// Any error; `main` prints it with its causes and maps it to an exit code via
/// [`crate::error::Error::exit_code`].
pub async fn dispatch(cli: Cli, shutdown: Shutdown) -> anyhow::Result<i32> {
    match &cli.command {
        Command::Doctor(args) => doctor(&cli, args).await,
        Command::Lint(args) => lint(&cli, args),
        Command::Mine(args) => match &args.command {
            Some(MineCommand::Patterns(p)) => patterns(p),
            None => until_signal(&shutdown, "mine", mine(&cli, args)).await,
        },
        Command::SteadyState(SteadyStateCommand::Derive(args)) => match &args.service {
            Some(service) => {
                until_signal(
                    &shutdown,
                    "steady-state derive",
                    derive_service(&cli, args, service),
                )
                .await
            }
            None => derive(args),
        },
        Command::SteadyState(SteadyStateCommand::Check(args)) => check(args),
        Command::Demo(DemoCommand::Seed(args)) => demo_seed(&cli, args).await,
        Command::Demo(DemoCommand::Workload(args)) => demo_workload(&cli, args, &shutdown).await,
        Command::Plan(args) => plan(&cli, args).await,
        Command::Run(args) => run_scenario(&cli, args, &shutdown).await,
        Command::Recover(args) => recover(&cli, args).await,
        Command::Schedule(args) => Ok(super::schedule::schedule(&cli, args, &shutdown).await?),
        Command::Report(args) => report(&cli, args).await,
        Command::Iam(args) => iam(&cli, args),
        Command::History(args) => Ok(crate::history::command::show_history(
            args,
            crate::report::trend_chart,
        )?),
    }
}

/// Runs a long read-only command until it finishes or the first SIGINT/SIGTERM arrives; then it
/// is dropped at its next await (nothing it does needs stopping) and the exit code is 4.
pub(super) async fn until_signal(
    shutdown: &Shutdown,
    what: &str,
    work: impl std::future::Future<Output = anyhow::Result<i32>>,
) -> anyhow::Result<i32> {
    tokio::select! {
        r = work => r,
        () = shutdown.token().cancelled() => {
            eprintln!("{what} interrupted by a signal; run it again to finish");
            Ok(crate::error::EXIT_ABORTED)
        }
    }
}
