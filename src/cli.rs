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
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "GAMEDAY_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// AWS named profile (overrides aws.profile).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "NAME"
    )]
    pub profile: Option<String>,
    /// AWS region (overrides aws.region).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "REGION",
        value_parser = crate::flags::region
    )]
    pub region: Option<String>,
    /// Endpoint for every AWS service, e.g. the local emulator (overrides aws.endpoint_url).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "AWS_ENDPOINT_URL",
        value_name = "URL",
        value_parser = crate::flags::endpoint_url
    )]
    pub endpoint_url: Option<String>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less log output (errors only).
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Log format on stderr.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = LogFormat::Text)]
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
    /// Mine past incidents from CloudWatch Logs (or exported files) into a ranked catalogue of
    /// fault classes; `mine patterns` shows the log templates alone.
    Mine(MineArgs),
    /// Derive steady-state hypotheses (baseline, acceptable range, backtested abort thresholds)
    /// from metric history, and check series against them.
    #[command(name = "steady-state", subcommand)]
    SteadyState(SteadyStateCommand),
    /// Plan a GameDay: pick the top fault classes per service and write the scenario file, one
    /// FIS template per stage, the pre-GameDay brief and optional IaC exports.
    Plan(PlanArgs),
    /// SIMULATION: rehearse without an AWS account, on the local emulator.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Run a GameDay: preflight, then every scenario's stages in order, guarded, stopped at
    /// once on a breach, a stop alarm, Ctrl-C or SIGTERM, and journaled under reports/RUN_ID/.
    /// Exit 0 every stage held (or a dry run passed), 2 a usage or config error or a failed
    /// preflight, 3 a hypothesis did not hold, 4 aborted, 5 a stop failed.
    Run(RunArgs),
    /// Close runs that died: stop the experiments they left running (found by their run tag)
    /// and mark their journals interrupted.
    Recover(RecoverArgs),
    /// GameDays on a cron schedule: list fire times, run the scheduler daemon or one pass,
    /// export to Kubernetes CronJobs or EventBridge Scheduler.
    Schedule(crate::schedule::command::ScheduleArgs),
    /// Render a run's post-mortem from its journal, again at any time (postmortem.md,
    /// summary.json, SVG charts)
    ///
    /// Writes `reports/<run-id>/postmortem.md`, `summary.json` and `charts/*.svg` beside the
    /// journal. With `llm:` configured (and no --no-llm), a model drafts the summary, findings
    /// and action items from redacted facts, and every sentence citing a number or id not in the
    /// facts is dropped; without it, or when the model fails, the rule-based text is used.
    Report(ReportArgs),
    /// Write the permissions a planned GameDay needs: the runner policies (what gameday itself
    /// calls, read-only and write sets), the FIS experiment role (trust policy and the
    /// permissions of exactly the planned actions) and the Kubernetes RBAC and EKS access entry
    /// of FIS pod actions. `plan --export` puts the same into CloudFormation and Terraform.
    Iam(IamArgs),
    /// The learning loop: every run journal under the reports directory folded into one record
    /// per service × fault class (runs, verdict per stage, recovery times, aborts), regressions
    /// with their evidence, and a resilience score per service with its breakdown.
    History(crate::history::command::HistoryArgs),
}

/// `gameday iam`.
#[derive(Debug, Args)]
pub struct IamArgs {
    /// The scenario file written by `gameday plan` (scenarios/NAME.yaml).
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// Directory the documents are written to.
    #[arg(long, default_value = "iam", value_name = "DIR")]
    pub out_dir: PathBuf,
}

/// `gameday run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file written by `gameday plan` (scenarios/NAME.yaml).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Inject without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Stop after preflight and print what would happen.
    #[arg(long)]
    pub dry_run: bool,
    /// Run id [default: GAMEDAY-UTCTIME-RANDOM].
    #[arg(long, allow_hyphen_values = true, value_parser = crate::flags::run_id)]
    pub run_id: Option<String>,
    /// How the run was triggered: `manual` or `schedule:<entry>`.
    #[arg(long, default_value = "manual")]
    pub trigger: String,
    /// Where run directories (journal, report) are written.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub reports_dir: PathBuf,
    /// Allow production on the command line (the config must allow it too).
    #[arg(long)]
    pub allow_production: bool,
    /// Time between guard polls (metrics and stop alarms).
    #[arg(long, default_value = "10s", allow_hyphen_values = true, value_parser = crate::flags::guard_interval)]
    pub guard_interval: std::time::Duration,
    /// GetMetricData period of guard reads (10s/30s for high-resolution metrics).
    #[arg(long, default_value = "60s", allow_hyphen_values = true, value_parser = crate::flags::guard_period)]
    pub guard_period: std::time::Duration,
    /// Time between GetExperiment polls.
    #[arg(long, default_value = "5s", allow_hyphen_values = true, value_parser = crate::flags::poll_interval)]
    pub poll_interval: std::time::Duration,
    /// Longest wait for a stopped experiment to reach a terminal state.
    #[arg(long, default_value = "2m", allow_hyphen_values = true, value_parser = crate::flags::stop_timeout)]
    pub stop_timeout: std::time::Duration,
    /// Longest recovery observation after each fault.
    #[arg(long, default_value = "10m", allow_hyphen_values = true, value_parser = crate::flags::recovery_cap)]
    pub recovery_cap: std::time::Duration,
    /// Baseline window read before each stage (the judge compares the fault with it).
    #[arg(long, default_value = "30m", allow_hyphen_values = true, value_parser = crate::flags::metric_window)]
    pub baseline: std::time::Duration,
    /// Window in which the hypothesis must hold right now (preflight).
    #[arg(long, default_value = "15m", allow_hyphen_values = true, value_parser = crate::flags::metric_window)]
    pub hypothesis_window: std::time::Duration,
    /// How long a stop alarm may be INSUFFICIENT_DATA and still count as armed.
    #[arg(long, default_value = "15m", allow_hyphen_values = true, value_parser = crate::flags::insufficient_data_tolerance)]
    pub insufficient_data_tolerance: std::time::Duration,
    /// Longest a stage may run before it is stopped [default: the policy's max_duration].
    #[arg(long, allow_hyphen_values = true, value_parser = crate::flags::stage_timeout)]
    pub stage_timeout: Option<std::time::Duration>,
    /// Go on with the next scenario when one fails (default: stop the run).
    #[arg(long)]
    pub continue_on_failure: bool,
    /// Skip the Kubernetes checks and evidence (pods, PodDisruptionBudgets, FIS RBAC, events),
    /// e.g. on the local emulator where no cluster exists. Recorded in the journal and report.
    #[arg(long)]
    pub skip_kube: bool,
    /// Abort a stage (as a guard abort) after this many guard intervals in a row in which
    /// neither the guard metrics nor the stop alarms could be read.
    #[arg(long, default_value_t = crate::run::DEFAULT_MAX_BLIND_INTERVALS, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_blind_intervals: u32,
    /// Least free space on the reports directory's file system that preflight accepts, in MiB.
    #[arg(long, default_value_t = crate::run::DEFAULT_MIN_FREE_BYTES / (1024 * 1024), value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub min_free_space_mib: u64,
}

/// `gameday recover`.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// One run id [default: every unfinished run under the reports directory].
    #[arg(value_name = "RUN_ID", value_parser = crate::flags::run_id)]
    pub run_id: Option<String>,
    /// Where run directories are.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub reports_dir: PathBuf,
    /// Longest wait for each stopped experiment to reach a terminal state.
    #[arg(long, default_value = "2m", allow_hyphen_values = true, value_parser = crate::flags::stop_timeout)]
    pub stop_timeout: std::time::Duration,
    /// After a run died between `stage-intent` and learning its experiment's id, how long
    /// after the intent to look for the experiment again (the service may still be starting it).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub start_grace: std::time::Duration,
}

/// `gameday report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run id (its journal is `<reports-dir>/<run-id>/journal.jsonl`), a run directory or a
    /// journal file.
    #[arg(value_name = "RUN_ID|JOURNAL_PATH")]
    pub run: String,
    /// Directory holding one directory per run.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub reports_dir: PathBuf,
    /// Directory with a `postmortem.md.j2` replacing the built-in template.
    #[arg(long, value_name = "DIR")]
    pub template_dir: Option<PathBuf>,
    /// Do not ask the configured model; use the rule-based text only.
    #[arg(long)]
    pub no_llm: bool,
}

/// `gameday plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// GameDay name (lowercase letters, digits, `-`); by default the environment and the date,
    /// e.g. `staging-2026-11-24`.
    #[arg(long)]
    pub name: Option<String>,
    /// Who runs it.
    #[arg(long, default_value = "unassigned")]
    pub owner: String,
    /// Date of the GameDay, YYYY-MM-DD [default: today, UTC].
    #[arg(long)]
    pub date: Option<chrono::NaiveDate>,
    /// Incident catalogue from `gameday mine --format json` [default: mine CloudWatch Logs now].
    #[arg(long, value_name = "FILE")]
    pub incidents: Option<PathBuf>,
    /// Hypotheses from `gameday steady-state derive --service` (one file per service, repeatable)
    /// [default: derive every configured service from CloudWatch now].
    #[arg(long, value_name = "FILE")]
    pub hypotheses: Vec<PathBuf>,
    /// Fault classes per service.
    #[arg(long, default_value_t = 2, allow_hyphen_values = true, value_parser = crate::flags::top)]
    pub top: usize,
    /// Plan only this configured service (repeatable) [default: every configured service].
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Also write infrastructure-as-code (repeatable).
    #[arg(long, value_enum)]
    pub export: Vec<ExportArg>,
    /// Directory the `scenarios/` tree is written under.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Allow production on the command line (the config must allow it too).
    #[arg(long)]
    pub allow_production: bool,
    /// Also create the stop-condition alarms and one FIS experiment template per stage in AWS.
    /// Idempotent: templates are found again by their gameday tags and updated in place; what
    /// already matches is left alone.
    #[arg(long)]
    pub apply: bool,
    /// Run journals (`gameday history`): failed and regressed classes are planned first, then
    /// unverified, then verified; each scenario notes why it was chosen. Ignored when it holds
    /// no run.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub reports_dir: PathBuf,
}

/// IaC export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportArg {
    /// AWS::FIS::ExperimentTemplate and AWS::CloudWatch::Alarm (JSON).
    Cloudformation,
    /// aws_fis_experiment_template and aws_cloudwatch_metric_alarm (HCL).
    Terraform,
}

/// `gameday demo` subcommands (simulation only).
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// SIMULATION: seed the local emulator with a simulated history for three sample EKS
    /// services (alarm state changes, Kubernetes events, application logs, seasonal metrics
    /// with the incidents visible) and write a config pointing at it. Refuses any endpoint
    /// that is not loopback.
    Seed(DemoSeedArgs),
    /// SIMULATION: publish the sample services' live metrics and make them react to the FIS
    /// experiments running on the local emulator, so `gameday run` has a system to watch.
    /// Refuses any endpoint that is not loopback.
    ///
    /// First publishes the last --backfill of healthy datapoints (every 10 s), then every
    /// --interval one high-resolution LatencyP99 and RequestRate datapoint per service, with
    /// the seeded history's daily and weekly profile. Each tick it lists the FIS experiments;
    /// a running, non-preview experiment with a running fault action (anything but
    /// aws:fis:wait) moves the service its target's label selector names, by blast radius:
    ///
    ///   service   one pod (COUNT(1))   more (COUNT(n>1), PERCENT(n), ALL)
    ///
    ///   checkout  p99 ×1.03            p99 ×1.07, rate ×0.97 (stays inside its bounds)
    ///
    ///   payments  p99 ×1.05            p99 ×10, rate ×0.6 (far past its abort bound)
    ///
    ///   catalog   p99 ×1.02            p99 ×1.04, rate ×0.98
    ///
    /// When the experiment ends the service returns to baseline. Runs until Ctrl-C/SIGTERM or
    /// --duration.
    #[command(verbatim_doc_comment)]
    Workload(DemoWorkloadArgs),
}

/// `gameday demo workload`.
#[derive(Debug, Args)]
pub struct DemoWorkloadArgs {
    /// Recent history to publish first (one datapoint per 10 s), so `gameday run` finds data
    /// for its baseline and preflight (the seeded history ends an hour ago).
    #[arg(long, default_value = "20m", allow_hyphen_values = true, value_parser = crate::flags::backfill)]
    pub backfill: std::time::Duration,
    /// Time between live datapoints.
    #[arg(long, default_value = "1s", allow_hyphen_values = true, value_parser = crate::flags::workload_interval)]
    pub interval: std::time::Duration,
    /// Stop after this long [default: run until Ctrl-C or SIGTERM].
    #[arg(long, allow_hyphen_values = true, value_parser = crate::flags::workload_duration)]
    pub duration: Option<std::time::Duration>,
    /// Write this file once the backfill is published (scripts wait for it).
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
}

/// `gameday demo seed`.
#[derive(Debug, Args)]
pub struct DemoSeedArgs {
    /// Days of simulated log history.
    #[arg(long, default_value_t = 180, allow_hyphen_values = true, value_parser = crate::flags::log_days)]
    pub log_days: u32,
    /// Days of simulated metric history.
    #[arg(long, default_value_t = 30, allow_hyphen_values = true, value_parser = crate::flags::metric_days)]
    pub metric_days: u32,
    /// Where to write the config for the simulated environment.
    #[arg(long, value_name = "FILE", default_value = "gameday.demo.yaml")]
    pub write_config: PathBuf,
}

/// `gameday steady-state` subcommands.
#[derive(Debug, Subcommand)]
pub enum SteadyStateCommand {
    /// Learn a hypothesis from a `timestamp,value` CSV (ISO-8601 or `YYYY-MM-DD HH:MM:SS`, UTC).
    Derive(DeriveArgs),
    /// Judge every point of a series against a hypothesis, exactly as the run guard does.
    Check(CheckArgs),
}

/// `gameday steady-state derive`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from_csv", "service"])))]
pub struct DeriveArgs {
    /// The metric history as a CSV file.
    #[arg(long = "from-csv", value_name = "FILE")]
    pub from_csv: Option<PathBuf>,
    /// Read every configured metric of this service from CloudWatch instead.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// How much CloudWatch history to learn from (with --service).
    #[arg(
        long,
        default_value = "30d",
        value_name = "DURATION",
        requires = "service",
        allow_hyphen_values = true,
        value_parser = crate::flags::lookback
    )]
    pub lookback: String,
    /// Incident catalogue (`gameday mine --format json`) whose incidents of this service are
    /// left out of learning (with --service).
    #[arg(long, value_name = "FILE", requires = "service")]
    pub incidents: Option<PathBuf>,
    /// Create or update the stop-condition alarms in CloudWatch (with --service); alarms that
    /// already match are left alone.
    #[arg(long, requires = "service")]
    pub apply: bool,
    /// Write the hypotheses to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Learn only from points before this time (all points when absent).
    #[arg(long, value_name = "TIMESTAMP")]
    pub learn_until: Option<String>,
    /// Which way is bad.
    #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
    pub direction: DirectionArg,
    /// Metric name recorded in the hypothesis [default: the file name].
    #[arg(long)]
    pub metric: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DataFormat::Json)]
    pub format: DataFormat,
}

/// `gameday steady-state check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A hypothesis written by `derive` (JSON or YAML).
    #[arg(long, value_name = "FILE")]
    pub hypothesis: PathBuf,
    /// The series to judge.
    #[arg(long = "from-csv", value_name = "FILE")]
    pub from_csv: PathBuf,
    /// `jsonl`: one `{"timestamp","value","lower","upper","breach"}` object per point.
    #[arg(long, value_enum, default_value_t = VerdictFormat::Jsonl)]
    pub format: VerdictFormat,
}

/// Which way a metric is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Too high hurts.
    Upper,
    /// Too low hurts.
    Lower,
    /// Both.
    Both,
}

/// JSON or YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Verdict output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerdictFormat {
    /// JSON Lines.
    Jsonl,
    /// Aligned text.
    Table,
}

/// `gameday mine`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MineArgs {
    /// Template mining on its own.
    #[command(subcommand)]
    pub command: Option<MineCommand>,
    /// How far back to read [default: incidents.lookback, 180d].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = crate::flags::since)]
    pub since: Option<String>,
    /// Read events from files instead of CloudWatch Logs: `aws logs filter-log-events` JSON or
    /// JSON Lines (`timestamp`, `message`, optional `logStreamName`/`logGroupName`). Repeatable.
    #[arg(long = "from-file", value_name = "FILE")]
    pub from_file: Vec<PathBuf>,
    /// Log groups to read [default: incidents.log_groups]. Repeatable.
    #[arg(long = "log-group", value_name = "NAME")]
    pub log_group: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CatalogueFormat::Table)]
    pub format: CatalogueFormat,
    /// Write the output to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Rows per Logs Insights query at which a time slice is split (the service caps at 10000).
    #[arg(long, default_value_t = crate::mine::pull::INSIGHTS_ROW_CAP, hide = true, allow_hyphen_values = true, value_parser = crate::flags::row_cap)]
    pub row_cap: usize,
    /// Length of the first Logs Insights time slices.
    #[arg(long, default_value = "1d", value_name = "DURATION", allow_hyphen_values = true, value_parser = crate::flags::slice)]
    pub slice: String,
    /// How to read CloudWatch Logs: Logs Insights queries in time slices (fast, filtered on
    /// the server), or FilterLogEvents paging (streams every event; slower, rate-limited to
    /// 5 requests/s per account, but needs no Insights permissions).
    #[arg(long, value_enum, default_value_t = PullVia::Insights)]
    pub via: PullVia,
    /// Run journals (`gameday history`): a class is verified only when a GameDay run passed it
    /// within 30 days; failed and regressed classes rank first. Ignored when it holds no run.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub reports_dir: PathBuf,
}

/// How `mine` reads CloudWatch Logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullVia {
    /// StartQuery/GetQueryResults.
    Insights,
    /// FilterLogEvents.
    FilterLogEvents,
}

/// `gameday mine` subcommands.
#[derive(Debug, Subcommand)]
pub enum MineCommand {
    /// Mine log templates from a file: one message per line, or JSON Lines with `message`.
    Patterns(PatternsArgs),
}

/// `gameday mine patterns`.
#[derive(Debug, Args)]
pub struct PatternsArgs {
    /// Input file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// `assignments`: `<pattern_id>\t<template>` for every input line, in order; `patterns`:
    /// each template with its count.
    #[arg(long, value_enum, default_value_t = Emit::Assignments)]
    pub emit: Emit,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// What `mine patterns` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// One line per input line.
    Assignments,
    /// One line per template.
    Patterns,
}

/// Catalogue output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogueFormat {
    /// Aligned text.
    Table,
    /// The documented JSON schema (docs/incident-catalogue.md), as `gameday plan` reads it.
    Json,
    /// Markdown.
    Markdown,
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
    /// Also check the FIS experiment role against exactly the permissions this scenario file's
    /// actions need (scenarios/NAME.yaml).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
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
        Command::Run(args) => run_gameday(&cli, args, &shutdown).await,
        Command::Recover(args) => recover(&cli, args).await,
        Command::Schedule(args) => Ok(crate::schedule::command::run(&cli, args, &shutdown).await?),
        Command::Report(args) => report(&cli, args).await,
        Command::Iam(args) => iam(&cli, args),
        Command::History(args) => Ok(crate::history::command::run(args)?),
    }
}

/// `gameday iam`: write the runner policies, the FIS role documents and the Kubernetes RBAC.
fn iam(cli: &Cli, args: &IamArgs) -> anyhow::Result<i32> {
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

/// Runs a long read-only command until it finishes or the first SIGINT/SIGTERM arrives; then it
/// is dropped at its next await (nothing it does needs stopping) and the exit code is 4.
async fn until_signal(
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

/// `gameday report`: fold the journal, render, print the post-mortem's path.
async fn report(cli: &Cli, args: &ReportArgs) -> anyhow::Result<i32> {
    use crate::report::{ReportOptions, load_record, locate_journal, write_report};
    let journal = locate_journal(&args.run, &args.reports_dir).map_err(Error::from)?;
    let record = load_record(&journal).map_err(Error::from)?;
    let llm = if args.no_llm {
        None
    } else {
        cli.load_config()?.llm
    };
    let run_dir = journal
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    let opts = ReportOptions {
        template_dir: args.template_dir.clone(),
        llm,
        rendered_at: chrono::Utc::now(),
    };
    let paths = write_report(&run_dir, &record, &opts)
        .await
        .map_err(Error::from)?;
    if record.outcome().is_none() {
        tracing::warn!(
            "run {} is still open or crashed: run `gameday recover {}`",
            record.start.run_id,
            record.start.run_id
        );
    }
    println!("{}", paths.postmortem.display());
    Ok(EXIT_OK)
}

async fn doctor(cli: &Cli, args: &DoctorArgs) -> anyhow::Result<i32> {
    let cfg = cli.load_config();
    let aws = cli.aws_options(cfg.as_ref().ok());
    let scenario = match &args.scenario {
        Some(path) => {
            let text = read_text(path)?;
            Some(crate::plan::load_scenario(path, &text).map_err(Error::from)?)
        }
        None => None,
    };
    let checks = crate::doctor::run_with(
        cfg.as_ref().map_err(|e| crate::doctor::error_chain(e)),
        &aws,
        scenario.as_ref(),
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

/// Lints a scenario file: schema (with every stage's template) and the blast-radius policy.
fn lint_scenario(
    path: &std::path::Path,
    shown: &str,
    text: &str,
    cfg: &Config,
    args: &LintArgs,
) -> Vec<crate::plan::Finding> {
    use crate::plan::{
        Finding, PlanError, Rule, Severity, load_scenario, scenario_policy_violations,
    };
    let finding = |line, col, message: String| Finding {
        file: shown.to_owned(),
        line,
        col,
        severity: Severity::Error,
        message,
        rule_id: Rule::ScenarioInvalid,
        pointer: String::new(),
    };
    let scenario = match load_scenario(path, text) {
        Ok(s) => s,
        Err(PlanError::ScenarioParse {
            line,
            column,
            message,
            ..
        }) => {
            return vec![finding(line, column, message)];
        }
        Err(PlanError::ScenarioInvalid {
            line,
            column,
            key,
            message,
            ..
        }) => {
            return vec![finding(line, column, format!("{key}: {message}"))];
        }
        Err(e) => return vec![finding(1, 1, crate::doctor::error_chain(&e))],
    };
    if args.no_policy {
        return Vec::new();
    }
    match scenario_policy_violations(&scenario, &cfg.policy, args.allow_production) {
        Ok(violations) => violations
            .into_iter()
            .map(|(key, v)| {
                let (line, col) = crate::config::locate_key(text, &key).unwrap_or((1, 1));
                Finding {
                    severity: v.severity,
                    rule_id: v.rule,
                    pointer: key,
                    ..finding(line, col, v.message)
                }
            })
            .collect(),
        Err(e) => vec![finding(1, 1, crate::doctor::error_chain(&e))],
    }
}

/// Exit code of `lint` when any file has an error finding.
const EXIT_LINT_FINDINGS: i32 = 1;

fn lint(cli: &Cli, args: &LintArgs) -> anyhow::Result<i32> {
    use crate::plan::{LintOptions, PolicyContext, has_errors, lint_template_json};
    let cfg = cli.load_config()?;
    let mut findings = Vec::new();
    for path in &args.files {
        let shown = path.display().to_string();
        let text = read_text(path)?;
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            findings.extend(lint_scenario(path, &shown, &text, &cfg, args));
            continue;
        }
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

/// Refuses an output file that cannot be one (a directory, or inside something that is not a
/// directory) before any work starts: a usage error, exit 2.
fn check_out_file(flag: &str, path: Option<&PathBuf>) -> Result<(), Error> {
    let Some(path) = path else { return Ok(()) };
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {}: is a directory; give a file path",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && parent.exists()
        && !parent.is_dir()
    {
        return Err(Error::Usage(format!(
            "{flag} {}: {} is not a directory",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

/// Refuses an output directory that exists as something else, before any work starts.
fn check_out_dir(flag: &str, path: &std::path::Path) -> Result<(), Error> {
    if path.exists() && !path.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {}: is not a directory",
            path.display()
        )));
    }
    Ok(())
}

fn write_output(out: Option<&PathBuf>, text: &str) -> Result<(), Error> {
    match out {
        Some(path) => std::fs::write(path, text).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        }),
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
            Ok(())
        }
    }
}

fn patterns(args: &PatternsArgs) -> anyhow::Result<i32> {
    use std::fmt::Write as _;
    // Lines are mined as they are read and not kept: memory is bounded by the templates (plus
    // one id per line when every line's assignment is printed).
    let mut miner = crate::mine::miner::TemplateMiner::new();
    let mut ids = Vec::new();
    let keep_ids = args.emit == Emit::Assignments;
    let mut add = |message: &str| {
        let id = miner.add(message);
        if keep_ids {
            ids.push(id);
        }
    };
    if args.input.as_os_str() == "-" {
        crate::mine::for_each_message_line(std::io::stdin().lock(), &args.input, &mut add)
            .map_err(Error::from)?;
    } else {
        let file = std::fs::File::open(&args.input).map_err(|source| Error::Read {
            path: args.input.clone(),
            source,
        })?;
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        crate::mine::for_each_message_line(reader, &args.input, &mut add).map_err(Error::from)?;
    }
    let ids: Vec<_> = ids.into_iter().map(|id| miner.resolve(id)).collect();
    let mut out = String::new();
    match (args.emit, args.format) {
        (Emit::Assignments, OutputFormat::Text) => {
            for id in &ids {
                let _ = writeln!(out, "{}\t{}", id.0, miner.template(*id));
            }
        }
        (Emit::Assignments, OutputFormat::Json) => {
            for (n, id) in ids.iter().enumerate() {
                let row = serde_json::json!({
                    "line": n + 1, "pattern_id": id.0, "template": miner.template(*id)
                });
                let _ = writeln!(out, "{row}");
            }
        }
        (Emit::Patterns, OutputFormat::Text) => {
            for p in miner.patterns() {
                let _ = writeln!(out, "{}\t{}\t{}", p.id.0, p.count, p.template);
            }
        }
        (Emit::Patterns, OutputFormat::Json) => {
            out = serde_json::to_string_pretty(&miner.patterns())
                .context("failed to serialise the patterns")?;
            out.push('\n');
        }
    }
    write_output(None, &out)?;
    Ok(EXIT_OK)
}

/// A progress bar on stderr for long pulls (hidden when stderr is not a terminal).
struct PullBar(indicatif::ProgressBar);

impl crate::mine::pull::PullProgress for PullBar {
    fn queued(&self, n: u64) {
        self.0.inc_length(n);
    }
    fn finished(&self, events: u64) {
        self.0.inc(1);
        if events > 0 {
            self.0.set_message(format!("+{events} events"));
        }
    }
}

async fn mine(cli: &Cli, args: &MineArgs) -> anyhow::Result<i32> {
    check_out_file("--out", args.out.as_ref())?;
    let cfg = cli.load_config()?;
    let mut catalogue = build_catalogue(cli, &cfg, args).await?;
    if let Some(standings) =
        crate::history::command::planning_standings(&args.reports_dir, chrono::Utc::now())
    {
        crate::history::apply_standings(&mut catalogue, &standings);
    }
    let text = match args.format {
        CatalogueFormat::Table => crate::mine::render_table(&catalogue),
        CatalogueFormat::Markdown => crate::mine::render_markdown(&catalogue),
        CatalogueFormat::Json => {
            let mut t = serde_json::to_string_pretty(&catalogue)
                .context("failed to serialise the catalogue")?;
            t.push('\n');
            t
        }
    };
    write_output(args.out.as_ref(), &text)?;
    Ok(EXIT_OK)
}

/// Mines the catalogue from files or CloudWatch Logs as `args` says.
async fn build_catalogue(
    cli: &Cli,
    cfg: &Config,
    args: &MineArgs,
) -> anyhow::Result<crate::mine::Catalogue> {
    use crate::mine::pull::{PullOptions, pull_events};
    let now = chrono::Utc::now();
    let since = match &args.since {
        Some(text) => crate::config::parse_duration(text)
            .map_err(|m| Error::Usage(format!("--since: {m}")))?,
        None => cfg.incidents.lookback,
    };
    let mut events = Vec::new();
    if args.from_file.is_empty() {
        let groups = if args.log_group.is_empty() {
            cfg.incidents.log_groups.clone()
        } else {
            args.log_group.clone()
        };
        if groups.is_empty() {
            return Err(Error::Usage(
                "no log groups to mine: set incidents.log_groups in the config, or pass --log-group or --from-file".to_owned(),
            )
            .into());
        }
        let slice = crate::config::parse_duration(&args.slice)
            .map_err(|m| Error::Usage(format!("--slice: {m}")))?;
        crate::flags::check_slices(since, slice).map_err(Error::Usage)?;
        if args.row_cap == 0 {
            return Err(Error::Usage("--row-cap must be at least 1".to_owned()).into());
        }
        let clients = crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
            .await
            .map_err(Error::from)?;
        let end_s = now.timestamp() + 1;
        let opts = PullOptions {
            log_groups: groups,
            start_s: end_s - i64::try_from(since.as_secs()).unwrap_or(i64::MAX / 2),
            end_s,
            query: crate::mine::insights_query(),
            row_cap: args.row_cap,
            initial_slice: slice,
            max_concurrent: cfg.incidents.max_concurrent_queries as usize,
        };
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} mining [{bar:30}] {pos}/{len} slices {msg} ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        if cli.quiet > 0 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let progress = std::sync::Arc::new(PullBar(bar));
        events = match args.via {
            PullVia::Insights => pull_events(&clients, &opts, &progress).await,
            PullVia::FilterLogEvents => {
                crate::mine::pull::stream_events(&clients, &opts, &progress).await
            }
        }
        .map_err(Error::from)?;
        progress.0.finish_and_clear();
    } else {
        for path in &args.from_file {
            events.extend(crate::mine::read_events_file(path).map_err(Error::from)?);
        }
    }
    tracing::info!(events = events.len(), "mining");
    let opts = crate::mine::MineOptions {
        gap_ms: i64::try_from(cfg.incidents.gap.as_millis()).unwrap_or(i64::MAX),
        services: cfg.services.iter().map(|s| s.name.clone()).collect(),
        now_ms: now.timestamp_millis(),
        ..crate::mine::MineOptions::default()
    };
    Ok(crate::mine::mine(events, &opts))
}

fn read_text(path: &std::path::Path) -> Result<String, Error> {
    Ok(crate::input::read_text(path)?)
}

fn read_series(path: &std::path::Path) -> Result<Vec<crate::steady_state::Point>, Error> {
    crate::steady_state::parse_csv(&read_text(path)?).map_err(|e| match e {
        crate::steady_state::SteadyStateError::Parse { line, problem } => {
            crate::input::InputError::Invalid {
                path: path.to_owned(),
                line,
                column: 1,
                message: format!("metric CSV line {line} is not `timestamp,value`: {problem}"),
            }
            .into()
        }
        other => Error::Usage(format!(
            "{}: {}",
            path.display(),
            crate::doctor::error_chain(&other)
        )),
    })
}

fn serialise<T: serde::Serialize>(value: &T, format: DataFormat) -> anyhow::Result<String> {
    Ok(match format {
        DataFormat::Json => {
            let mut t = serde_json::to_string_pretty(value).context("failed to serialise")?;
            t.push('\n');
            t
        }
        DataFormat::Yaml => yaml_serde::to_string(value).context("failed to serialise")?,
    })
}

fn derive(args: &DeriveArgs) -> anyhow::Result<i32> {
    use crate::steady_state::{DeriveOptions, Direction};
    check_out_file("--out", args.out.as_ref())?;
    let Some(csv) = &args.from_csv else {
        return Err(Error::Usage("give --from-csv FILE or --service NAME".to_owned()).into());
    };
    let points = read_series(csv)?;
    let learn_until = args
        .learn_until
        .as_deref()
        .map(|t| {
            crate::steady_state::parse_ts(t).ok_or_else(|| {
                Error::Usage(format!(
                    "--learn-until: `{t}` is not a time (use ISO-8601 such as 2026-01-31T00:00:00Z)"
                ))
            })
        })
        .transpose()?;
    let opts = DeriveOptions {
        metric: args.metric.clone().unwrap_or_else(|| {
            csv.file_stem()
                .map_or_else(|| "metric".to_owned(), |s| s.to_string_lossy().into_owned())
        }),
        direction: match args.direction {
            DirectionArg::Upper => Direction::Upper,
            DirectionArg::Lower => Direction::Lower,
            DirectionArg::Both => Direction::Both,
        },
        learn_until,
        ..DeriveOptions::default()
    };
    let h = crate::steady_state::derive(&points, &opts)
        .map_err(|e| Error::Usage(crate::doctor::error_chain(&e)))?;
    write_output(args.out.as_ref(), &serialise(&h, args.format)?)?;
    Ok(EXIT_OK)
}

/// Reads an incident catalogue written by `gameday mine --format json`.
fn read_catalogue(path: &std::path::Path) -> Result<crate::mine::Catalogue, Error> {
    let (catalogue, text): (crate::mine::Catalogue, String) = crate::input::read_document(
        path,
        "an incident catalogue (write one with `gameday mine --format json`)",
    )?;
    if catalogue.schema_version != crate::mine::CATALOGUE_SCHEMA_VERSION {
        return Err(crate::input::invalid_at(
            path,
            &text,
            "schema_version",
            &format!(
                "unsupported version {}; this gameday reads version {} (write the catalogue \
                 again with `gameday mine --format json`)",
                catalogue.schema_version,
                crate::mine::CATALOGUE_SCHEMA_VERSION
            ),
        )
        .into());
    }
    Ok(catalogue)
}

/// Incident windows of one service in a mined catalogue, padded by the grouping gap on each
/// side so that the ramp into and the recovery out of an incident are not learned as normal.
fn incident_windows(
    catalogue: &crate::mine::Catalogue,
    service: &str,
    pad: std::time::Duration,
) -> Vec<(i64, i64)> {
    let pad = i64::try_from(pad.as_secs()).unwrap_or(0);
    catalogue
        .classes
        .iter()
        .flat_map(|c| &c.incidents)
        .filter(|i| i.service == service)
        .map(|i| (i.start.timestamp() - pad, i.end.timestamp() + pad))
        .collect()
}

async fn derive_service(cli: &Cli, args: &DeriveArgs, name: &str) -> anyhow::Result<i32> {
    use crate::steady_state::cloudwatch::apply_alarms;
    check_out_file("--out", args.out.as_ref())?;
    let cfg = cli.load_config()?;
    let lookback = crate::config::parse_duration(&args.lookback)
        .map_err(|m| Error::Usage(format!("--lookback: {m}")))?;
    let excluded = match &args.incidents {
        Some(path) => incident_windows(&read_catalogue(path)?, name, cfg.incidents.gap),
        None => Vec::new(),
    };
    let clients = crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
        .await
        .map_err(Error::from)?;
    let out = hypotheses_for(&clients, &cfg, name, lookback, excluded).await?;
    write_output(args.out.as_ref(), &serialise(&out, args.format)?)?;
    if args.apply {
        let changes = apply_alarms(&clients, &out.alarms)
            .await
            .map_err(Error::from)?;
        for (alarm, change) in &changes {
            eprintln!("{:<9} alarm {alarm}", change.as_str());
        }
    }
    Ok(EXIT_OK)
}

/// Reads one service's metric history from CloudWatch and derives its hypotheses and alarms.
async fn hypotheses_for(
    clients: &crate::provider::aws::AwsClients,
    cfg: &Config,
    name: &str,
    lookback: std::time::Duration,
    excluded: Vec<(i64, i64)>,
) -> anyhow::Result<crate::steady_state::cloudwatch::ServiceHypotheses> {
    use crate::steady_state::cloudwatch::{
        ServiceHypotheses, derive_service, fetch_history, period_for,
    };
    let service = cfg
        .services
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = cfg.services.iter().map(|s| s.name.as_str()).collect();
            Error::Usage(format!(
                "no service `{name}` in the config (services: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })?;
    if service.metrics.is_empty() {
        return Err(Error::Usage(format!(
            "service `{name}` has no metrics: add services[].metrics to the config"
        ))
        .into());
    }
    // Align the window to the period so that runs close together read identical buckets.
    let step = i64::try_from(period_for(lookback, std::time::Duration::from_secs(60)).as_secs())
        .unwrap_or(60);
    let now = chrono::Utc::now().timestamp();
    let lookback_s = i64::try_from(lookback.as_secs()).unwrap_or(30 * 86_400);
    let to_time = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap_or_default();
    let end = to_time(now - now.rem_euclid(step));
    let start =
        to_time(end.timestamp() - lookback_s - (end.timestamp() - lookback_s).rem_euclid(step));
    let history = fetch_history(clients, service, start, end)
        .await
        .map_err(Error::from)?;
    for (m, points) in service.metrics.iter().zip(&history) {
        tracing::info!(metric = %m.name, points = points.len(), "history read");
    }
    let (metrics, alarms) = derive_service(service, &history, &excluded)
        .map_err(|e| Error::Usage(crate::doctor::error_chain(&e)))?;
    Ok(ServiceHypotheses {
        service: name.to_owned(),
        generated_at: chrono::Utc::now(),
        start,
        end,
        period_secs: period_for(lookback, std::time::Duration::from_secs(60)).as_secs(),
        excluded,
        metrics,
        alarms,
    })
}

fn check(args: &CheckArgs) -> anyhow::Result<i32> {
    use std::fmt::Write as _;
    let (h, text): (crate::steady_state::MetricHypothesis, String) = crate::input::read_document(
        &args.hypothesis,
        "a hypothesis (write one with `gameday steady-state derive`)",
    )
    .map_err(Error::from)?;
    crate::input::check_hypotheses(&args.hypothesis, &text, [(String::new(), &h)], true)
        .map_err(Error::from)?;
    let points = read_series(&args.from_csv)?;
    let (verdicts, summary) = crate::steady_state::check_with_summary(&h, &points);
    let mut out = String::new();
    for v in &verdicts {
        match args.format {
            VerdictFormat::Jsonl => {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string(v).context("failed to serialise a verdict")?
                );
            }
            VerdictFormat::Table => {
                let bound =
                    |b: Option<f64>| b.map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"));
                let _ = writeln!(
                    out,
                    "{}  {:>14.4}  [{}, {}]{}",
                    crate::steady_state::format_ts(v.timestamp),
                    v.value,
                    bound(v.lower),
                    bound(v.upper),
                    if v.breach { "  BREACH" } else { "" }
                );
            }
        }
    }
    write_output(None, &out)?;
    eprintln!(
        "{} points, {} breaching in {} episode(s); hypothesis {}",
        summary.points,
        summary.breaches,
        summary.breach_episodes,
        if summary.held { "held" } else { "broken" }
    );
    Ok(EXIT_OK)
}

async fn demo_seed(cli: &Cli, args: &DemoSeedArgs) -> anyhow::Result<i32> {
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

async fn demo_workload(
    cli: &Cli,
    args: &DemoWorkloadArgs,
    shutdown: &Shutdown,
) -> anyhow::Result<i32> {
    use crate::demo::DemoError;
    use crate::demo::workload::{WorkloadOptions, run};
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
    let s = run(&clients, &endpoint, &opts, shutdown)
        .await
        .map_err(Error::from)?;
    eprintln!(
        "SIMULATION: workload stopped after {} ticks ({} failed to publish), {} reaction changes",
        s.ticks, s.failed_ticks, s.reaction_changes
    );
    Ok(EXIT_OK)
}

async fn plan(cli: &Cli, args: &PlanArgs) -> anyhow::Result<i32> {
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
        None => {
            let defaults = MineArgs {
                command: None,
                since: None,
                from_file: Vec::new(),
                log_group: Vec::new(),
                format: CatalogueFormat::Json,
                out: None,
                row_cap: crate::mine::pull::INSIGHTS_ROW_CAP,
                slice: "1d".to_owned(),
                via: PullVia::Insights,
                reports_dir: args.reports_dir.clone(),
            };
            build_catalogue(cli, &cfg, &defaults).await?
        }
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
            crate::input::check_hypotheses(
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
async fn apply_plan(
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

/// Loads, lints and policy-checks a scenario file for `run`; any problem is a usage error
/// (exit 2) raised before anything exists in AWS or on disk.
fn load_runnable(
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
fn locate_mismatch(
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

/// Adds the file and line to a planning error: a service without an abort threshold points at
/// its hypotheses file, a config setting at its key in the config file.
fn locate_plan_error(
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

fn new_run_id(gameday: &str) -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let short = uuid::Uuid::new_v4().simple().to_string();
    format!("{gameday}-{now}-{}", &short[..6])
}

fn parse_trigger(text: &str) -> anyhow::Result<crate::model::record::Trigger> {
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
fn confirm_on_terminal(
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

async fn run_gameday(cli: &Cli, args: &RunArgs, shutdown: &Shutdown) -> anyhow::Result<i32> {
    use std::io::IsTerminal as _;

    use crate::model::record::RunOutcome;
    use crate::run::RunOptions;
    use crate::run::execute::run;
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
    let trigger = parse_trigger(&args.trigger)?;
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| new_run_id(&gameday.name));
    let clients = crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
        .await
        .map_err(Error::from)?;

    // Runs that died before, or whose stop failed: stop what they left running before
    // starting anything new.
    let recover_opts = crate::run::recover::RecoverOptions::new(args.stop_timeout);
    let earlier =
        match crate::run::recover::recover_all(&clients, &args.reports_dir, recover_opts).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!(
                    "error: {}; earlier runs may have left experiments running: run `gameday \
                     recover` once AWS answers",
                    crate::doctor::error_chain(&e)
                );
                return Ok(crate::error::EXIT_STOP_FAILED);
            }
        };
    for r in &earlier {
        report_recovered(&cfg, &args.reports_dir, r).await;
    }
    if earlier.iter().any(|r| !r.stop_failed.is_empty()) {
        return Ok(crate::error::EXIT_STOP_FAILED);
    }

    let mut opts = RunOptions::new(&run_id, args.reports_dir.clone());
    opts.scenario_file = args.scenario.display().to_string();
    opts.trigger = trigger;
    opts.guard_interval = args.guard_interval;
    opts.guard_period = args.guard_period;
    opts.poll_interval = args.poll_interval;
    opts.stop_timeout = args.stop_timeout;
    opts.recovery_cap = args.recovery_cap;
    opts.baseline_window = args.baseline;
    opts.hypothesis_window = args.hypothesis_window;
    opts.insufficient_data_tolerance = args.insufficient_data_tolerance;
    opts.stage_timeout = args
        .stage_timeout
        .unwrap_or_else(|| cfg.policy.max_total_duration.to_std());
    opts.stop_on_failure = !args.continue_on_failure;
    opts.dry_run = args.dry_run;
    opts.max_targets = cfg.policy.max_count;
    opts.max_blind_intervals = args.max_blind_intervals;
    opts.min_free_bytes = args.min_free_space_mib.saturating_mul(1024 * 1024);
    opts.recovery_targets = cfg
        .services
        .iter()
        .map(|s| (s.name.clone(), s.recovery_target))
        .collect();
    opts.account_id = Some(gameday.account_id.clone());
    opts.region = Some(clients.region.clone());
    opts.endpoint_url.clone_from(&cfg.aws.endpoint_url);

    let (clusters, mut extra_checks) = kube_preflight(&cfg, &gameday, args.skip_kube).await;
    // Node groups, databases and IAM roles of faults beyond pods (read-only calls).
    extra_checks
        .extend(crate::run::resource_checks::check_gameday(&clients, &gameday, &cfg.policy).await);
    let yes = args.yes;
    let task = {
        let (gameday, clients, opts, shutdown) = (
            gameday.clone(),
            clients.clone(),
            opts.clone(),
            shutdown.clone(),
        );
        tokio::spawn(async move {
            let mut confirm =
                move |g: &crate::plan::GameDayScenario,
                      c: &[crate::model::record::PreflightCheck]| {
                    yes || confirm_on_terminal(g, c)
                };
            run(
                &gameday,
                &clients,
                &clusters,
                &opts,
                extra_checks,
                &mut confirm,
                &shutdown,
            )
            .await
        })
    };
    let summary = match task.await {
        Ok(Ok(summary)) => summary,
        // The run loop failed (journal) or panicked: whatever it started is found by its run
        // tag and stopped before we report the failure.
        // Another run holds a target: nothing was started, nothing to stop.
        Ok(Err(crate::run::execute::RunError::Lock(e))) => {
            return Err(Error::Usage(e.to_string()).into());
        }
        failed => {
            let what = match &failed {
                Ok(Err(e)) => format!("{:#}", anyhow::anyhow!(e.to_string())),
                Err(join) => format!("the run loop crashed: {join}"),
                Ok(Ok(_)) => String::new(),
            };
            eprintln!("error: {what}; stopping whatever run {run_id} started");
            let r = crate::run::recover::recover_run(
                &clients,
                &args.reports_dir,
                &run_id,
                recover_opts,
            )
            .await;
            return match r {
                Ok(r) => {
                    report_recovered(&cfg, &args.reports_dir, &r).await;
                    if r.stop_failed.is_empty() {
                        Ok(crate::error::EXIT_INTERNAL)
                    } else {
                        Ok(crate::error::EXIT_STOP_FAILED)
                    }
                }
                Err(e) => {
                    eprintln!(
                        "error: recovery failed too ({e}); list experiments tagged \
                         gameday-run={run_id} with `aws fis list-experiments` and stop any \
                         that are running"
                    );
                    Ok(crate::error::EXIT_STOP_FAILED)
                }
            };
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
    render_post_mortem(&cfg, &args.reports_dir, &run_id).await;
    println!("outcome: {}", summary.outcome.as_str());
    Ok(match summary.outcome {
        RunOutcome::PreflightFailed => crate::error::EXIT_USAGE,
        o => o.exit_code(),
    })
}

/// Renders a run's post-mortem from its journal. A report failure never changes the run's
/// outcome: it is printed, with the command that renders the report again.
async fn render_post_mortem(cfg: &Config, reports_dir: &std::path::Path, run_id: &str) {
    use crate::report::{ReportOptions, load_record, write_report};
    let run_dir = reports_dir.join(run_id);
    let rendered = async {
        let record = load_record(&run_dir.join(crate::model::journal::JOURNAL_FILE))?;
        let opts = ReportOptions {
            template_dir: None,
            llm: cfg.llm.clone(),
            rendered_at: chrono::Utc::now(),
        };
        write_report(&run_dir, &record, &opts).await
    }
    .await;
    match rendered {
        Ok(paths) => println!("post-mortem: {}", paths.postmortem.display()),
        Err(e) => {
            let journal = run_dir.join(crate::model::journal::JOURNAL_FILE);
            match crate::model::journal::read_journal(&journal) {
                Ok(_) => eprintln!(
                    "warning: the post-mortem could not be rendered ({}); the journal reads \
                     back whole: run `gameday report {run_id}` to try again",
                    crate::doctor::error_chain(&e)
                ),
                Err(j) => eprintln!(
                    "warning: the post-mortem could not be rendered: the journal is damaged \
                     ({}); gameday never rewrites it",
                    crate::doctor::error_chain(&j)
                ),
            }
        }
    }
}

/// Prints what recovering a run did and renders its post-mortem (a live run is left alone).
async fn report_recovered(
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

async fn recover(cli: &Cli, args: &RecoverArgs) -> anyhow::Result<i32> {
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
                crate::doctor::error_chain(&e)
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

/// Connects to each scenario's cluster (a kubeconfig context matching `target.cluster`) and
/// runs the Kubernetes preflight checks. A cluster that cannot be reached fails a check rather
/// than being skipped silently; `--skip-kube` skips on purpose, and says so in the journal.
async fn kube_preflight(
    cfg: &Config,
    gameday: &crate::plan::GameDayScenario,
    skip: bool,
) -> (
    std::collections::BTreeMap<String, crate::provider::kube::KubeCluster>,
    Vec<crate::model::record::PreflightCheck>,
) {
    use crate::model::record::PreflightCheck;
    use crate::provider::kube::KubeCluster;
    use crate::run::cluster_checks::{ClusterPreflight, gather, preflight_checks};
    let mut clusters = std::collections::BTreeMap::new();
    let mut checks = Vec::new();
    if skip {
        checks.push(PreflightCheck {
            scenario: None,
            stage: None,
            check: "k8s-skipped".to_owned(),
            ok: true,
            detail: "Kubernetes checks and evidence skipped (--skip-kube): pods, \
                     PodDisruptionBudgets and FIS RBAC were not verified"
                .to_owned(),
            fix: None,
        });
        return (clusters, checks);
    }
    for scenario in &gameday.scenarios {
        let name = &scenario.target.cluster;
        if !clusters.contains_key(name) {
            match KubeCluster::for_eks_cluster(name).await {
                Ok(c) => {
                    clusters.insert(name.clone(), c);
                }
                Err(e) => {
                    checks.push(PreflightCheck {
                        scenario: Some(scenario.name.clone()),
                        stage: None,
                        check: "k8s-cluster".to_owned(),
                        ok: false,
                        detail: format!(
                            "cannot reach cluster {name}: {}",
                            crate::doctor::error_chain(&e)
                        ),
                        fix: Some(format!(
                            "add a kubeconfig context for it (aws eks update-kubeconfig --name \
                             {name}), or pass --skip-kube to run without the Kubernetes checks"
                        )),
                    });
                    continue;
                }
            }
        }
        let Some(cluster) = clusters.get(name) else {
            continue;
        };
        let facts = gather(
            cluster,
            &scenario.target,
            &gameday.fis.kubernetes_service_account,
        )
        .await;
        checks.extend(preflight_checks(&ClusterPreflight {
            scenario,
            stages: &scenario.stages,
            policy: &cfg.policy,
            service_account: &gameday.fis.kubernetes_service_account,
            facts: &facts,
        }));
    }
    (clusters, checks)
}
