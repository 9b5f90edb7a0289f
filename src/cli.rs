//! The command line: parse, load config, dispatch to a stage, map the outcome to an exit code.
//!
//! Input: argv. Output: an exit code (or an error `main` maps to one). Must not: hold pipeline
//! logic — each subcommand calls one stage entry point (or chains them).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::error::{EXIT_OK, Error};
use crate::provider::aws::AwsOptions;
use crate::shutdown::Shutdown;

/// gameday: mine incidents, derive steady state, plan and run AWS FIS GameDays, write post-mortems.
#[derive(Debug, Parser)]
#[command(name = "gameday", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Config file [default: ./gameday.yaml; a missing default file means built-in defaults].
    #[arg(long, global = true, env = "GAMEDAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// AWS named profile (overrides aws.profile).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (overrides aws.region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Endpoint for every AWS service, e.g. the local emulator (overrides aws.endpoint_url).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less log output (errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for containers and log shippers).
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check config, credentials and access to every API gameday uses (read-only).
    Doctor(DoctorArgs),
    /// Validate FIS experiment templates (CreateExperimentTemplate JSON, ours or hand-written)
    /// against the action catalogue, FIS quotas and the blast-radius policy. Exits 1 when any
    /// file has an error.
    Lint(LintArgs),
}

/// `gameday lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Template files (`.json`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format: one `file:line:col: severity: message [rule-id]` line per finding, or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Treat production as allowed on the command line (the config must allow it too).
    #[arg(long)]
    pub allow_production: bool,
    /// Skip the blast-radius policy checks (catalogue and quota rules still apply).
    #[arg(long)]
    pub no_policy: bool,
}

/// `gameday doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Text or JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// For programs.
    Json,
}

impl Cli {
    /// Loads the config: `--config`/`GAMEDAY_CONFIG` must exist; the default path may be absent
    /// (then built-in defaults apply). Command-line AWS flags override the file.
    ///
    /// # Errors
    /// [`Error::Config`] with `file:line:column` for a bad file.
    pub fn load_config(&self) -> Result<Config, Error> {
        let mut cfg = match &self.config {
            Some(path) => Config::load(path)?,
            None => {
                let path = PathBuf::from(DEFAULT_CONFIG_PATH);
                if path.exists() {
                    Config::load(&path)?
                } else {
                    Config::default()
                }
            }
        };
        self.apply_overrides(&mut cfg);
        Ok(cfg)
    }

    fn apply_overrides(&self, cfg: &mut Config) {
        if let Some(p) = &self.profile {
            cfg.aws.profile = Some(p.clone());
        }
        if let Some(r) = &self.region {
            cfg.aws.region = Some(r.clone());
        }
        if let Some(u) = self.endpoint_url.as_ref().filter(|u| !u.is_empty()) {
            cfg.aws.endpoint_url = Some(u.clone());
        }
    }

    /// AWS options from the config, or from the flags alone when the config is unusable.
    fn aws_options(&self, cfg: Option<&Config>) -> AwsOptions {
        let mut base = cfg.cloned().unwrap_or_default();
        self.apply_overrides(&mut base);
        AwsOptions::from(&base.aws)
    }
}

/// Runs the parsed command line and returns the process exit code.
///
/// # Errors
/// Any error; `main` prints it with its causes and maps it to an exit code via
/// [`Error::exit_code`].
pub async fn run(cli: Cli, shutdown: Shutdown) -> anyhow::Result<i32> {
    let _ = &shutdown;
    match &cli.command {
        Command::Doctor(args) => doctor(&cli, args).await,
        Command::Lint(args) => lint(&cli, args),
    }
}

async fn doctor(cli: &Cli, args: &DoctorArgs) -> anyhow::Result<i32> {
    let cfg = cli.load_config();
    let aws = cli.aws_options(cfg.as_ref().ok());
    let checks = crate::doctor::run(
        cfg.as_ref().map_err(|e| crate::doctor::error_chain(e)),
        &aws,
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

/// Exit code of `lint` when any file has an error finding.
const EXIT_LINT_FINDINGS: i32 = 1;

fn lint(cli: &Cli, args: &LintArgs) -> anyhow::Result<i32> {
    use crate::plan::{LintOptions, PolicyContext, has_errors, lint_template_json};
    let cfg = cli.load_config()?;
    let mut findings = Vec::new();
    for path in &args.files {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let stage = path
            .file_stem()
            .map_or_else(|| shown.clone(), |s| s.to_string_lossy().into_owned());
        let policy = (!args.no_policy).then(|| PolicyContext {
            policy: &cfg.policy,
            stage: &stage,
            environment: &cfg.environment,
            cli_allow_production: args.allow_production,
        });
        let opts = LintOptions {
            allow_no_stop_conditions: false,
            policy,
        };
        findings.extend(lint_template_json(&shown, &text, &opts));
    }
    match args.format {
        OutputFormat::Text => print!("{}", crate::plan::format_findings(&findings)),
        OutputFormat::Json => println!("{}", crate::plan::findings_to_json(&findings)),
    }
    Ok(if has_errors(&findings) {
        EXIT_LINT_FINDINGS
    } else {
        EXIT_OK
    })
}
