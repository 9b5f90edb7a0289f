//! The command line as clap types: global flags, every subcommand and its arguments, and the
//! config they load.
//!
//! Input: argv (through clap). Output: [`Cli`] and the validated [`Config`] with the AWS flags
//! applied. Must not: do any work of a command (that is in the sibling modules).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::error::Error;
use crate::provider::aws::AwsOptions;

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
    Schedule(ScheduleArgs),
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
    /// Read metrics with a learned judge at --guard-period too, not at the period they were
    /// learned at: faster but noisier datapoints, and N-of-M rules count guard datapoints (for
    /// time-compressed rehearsals such as the demo).
    #[arg(long)]
    pub judge_at_guard_period: bool,
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
    /// Also create the simulated FIS role the config names, so `doctor` finds it.
    #[arg(long)]
    pub fis_role: bool,
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
    /// Skip the cluster checks (kubernetes, k8s-rbac), as `run --skip-kube` does, e.g. on the
    /// local emulator where no cluster exists.
    #[arg(long)]
    pub skip_kube: bool,
}

/// Text or JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// For programs.
    Json,
}

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
    pub(super) fn aws_options(&self, cfg: Option<&Config>) -> AwsOptions {
        let mut base = cfg.cloned().unwrap_or_default();
        self.apply_overrides(&mut base);
        AwsOptions::from(&base.aws)
    }
}
