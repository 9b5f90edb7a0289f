//! The `gameday` binary: parse arguments, set up logging, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser as _;
use gameday::cli::{Cli, LogFormat};
use gameday::error::{EXIT_INTERNAL, Error};
use gameday::shutdown::Shutdown;
use tracing_subscriber::EnvFilter;

fn init_tracing(cli: &Cli) {
    let default = match (cli.quiet, cli.verbose) {
        (q, _) if q > 0 => "error",
        (_, 0) => "warn,gameday=info",
        (_, 1) => "info,gameday=debug",
        _ => "debug,gameday=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            return exit_code(EXIT_INTERNAL);
        }
    };
    let result = runtime.block_on(async {
        let shutdown = Shutdown::new();
        if let Err(err) = shutdown.listen_for_signals() {
            tracing::warn!("signal handlers not installed: {err}");
        }
        let result = gameday::cli::dispatch(cli, shutdown.clone()).await;
        shutdown.drain().await;
        result
    });
    match result {
        Ok(code) => exit_code(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            let code = err
                .downcast_ref::<Error>()
                .map_or(EXIT_INTERNAL, Error::exit_code);
            exit_code(code)
        }
    }
}
