//! `gameday.yaml`: the raw serde schema, its validation, and located errors.
//!
//! Input: the YAML text of the config file (plus command-line overrides applied by `cli`).
//! Output: [`Config`], the validated configuration that every later stage sees.
//! Must not: touch the network or read any file but the config itself. Every error names
//! `file:line:column`, the key, what was expected and how to fix it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::duration::IsoDuration;
use crate::model::policy::Policy;

/// Where the config is read from when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "gameday.yaml";

/// The commented example configuration shipped with the repository.
pub const EXAMPLE_CONFIG: &str = include_str!("../gameday.example.yaml");

/// A configuration error, located in the file where possible.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read config file {}", path.display())]
    Read {
        /// The config path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML did not match the schema (syntax, unknown key, wrong type, bad value).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The config path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key, and how to fix it.
        message: String,
    },
    /// The YAML parsed but a value is not acceptable.
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        /// The config path.
        path: PathBuf,
        /// 1-based line of the key (1 when it could not be located).
        line: usize,
        /// 1-based column of the key.
        column: usize,
        /// The dotted key, e.g. `policy.max_percent`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl ConfigError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Read { .. } => "config_read",
            Self::Parse { .. } => "config_parse",
            Self::Invalid { .. } => "config_invalid",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw schema (serde). Optional fields everywhere; defaults are applied in `validate`.
// ---------------------------------------------------------------------------------------------

/// The config file as written, before validation.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// The environment this config drives (e.g. `staging`).
    pub environment: Option<String>,
    /// AWS access settings.
    pub aws: Option<RawAws>,
    /// Where past incidents are mined from.
    pub incidents: Option<RawIncidents>,
    /// The services under test.
    #[serde(default)]
    pub services: Vec<RawService>,
    /// The blast-radius policy.
    pub policy: Option<RawPolicy>,
    /// FIS settings shared by every experiment.
    pub fis: Option<RawFis>,
    /// Optional OpenAI-compatible endpoint for report narratives.
    pub llm: Option<RawLlm>,
    /// Scheduled GameDays.
    #[serde(default)]
    pub schedule: Vec<RawSchedule>,
}

/// `aws:` section.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAws {
    /// Named profile from the shared AWS config files.
    pub profile: Option<String>,
    /// Region, e.g. `eu-west-1`.
    pub region: Option<String>,
    /// Endpoint override (the local emulator, a VPC endpoint, …).
    pub endpoint_url: Option<String>,
    /// The account gameday expects to run in; `doctor` and `run` refuse any other.
    pub account_id: Option<String>,
    /// Timeout for establishing a connection.
    pub connect_timeout: Option<String>,
    /// Timeout for one attempt of one API call.
    pub attempt_timeout: Option<String>,
    /// Timeout for one API call, all retries included.
    pub operation_timeout: Option<String>,
    /// Attempts per API call (the first one included).
    pub max_attempts: Option<u32>,
}

/// `incidents:` section.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawIncidents {
    /// Log groups holding alarm state changes, Kubernetes events and application logs.
    #[serde(default)]
    pub log_groups: Vec<String>,
    /// How far back to mine.
    pub lookback: Option<String>,
    /// Evidence closer than this is one incident.
    pub gap: Option<String>,
    /// Concurrent Logs Insights queries.
    pub max_concurrent_queries: Option<u32>,
}

/// One entry of `services:`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Service name, used in alarm names and reports.
    pub name: Option<String>,
    /// Team or person owning the service.
    pub owner: Option<String>,
    /// EKS cluster name.
    pub cluster: Option<String>,
    /// Kubernetes namespace.
    pub namespace: Option<String>,
    /// Kubernetes label selector of the service's pods, e.g. `app=checkout`.
    pub selector: Option<String>,
    /// Time within which the service must be healthy again after a fault.
    pub recovery_target: Option<String>,
    /// Steady-state metrics.
    #[serde(default)]
    pub metrics: Vec<RawMetric>,
    /// What faults beyond pods need to know about the service.
    pub faults: Option<RawServiceFaults>,
}

/// Fault targets of a service beyond its pods (all optional).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawServiceFaults {
    /// IAM role the service's pods use (IRSA or Pod Identity), for API faults.
    pub iam_role_arn: Option<String>,
    /// Port of the dependency whose connections fail (e.g. 5432), when the evidence names none.
    pub dependency_port: Option<u16>,
    /// Its protocol: `tcp` (default) or `udp`.
    pub dependency_protocol: Option<String>,
    /// Availability zone an AZ fault impairs (default: the region's `a` zone).
    pub availability_zone: Option<String>,
}

/// One steady-state metric of a service.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetric {
    /// Short name, e.g. `error_rate` or `p99_latency_ms`.
    pub name: Option<String>,
    /// Which way is bad: `upper` (too high hurts), `lower` or `both`.
    pub direction: Option<String>,
    /// The SLO bound: the hypothesis never allows worse than this.
    pub slo: Option<f64>,
    /// A single CloudWatch metric.
    pub metric: Option<RawMetricStat>,
    /// A metric-math expression over `inputs`, e.g. `100 * errors / requests`.
    pub expression: Option<String>,
    /// The named inputs of `expression`.
    #[serde(default)]
    pub inputs: BTreeMap<String, RawMetricStat>,
}

/// A CloudWatch metric and statistic.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetricStat {
    /// CloudWatch namespace, e.g. `AWS/ApplicationELB`.
    pub namespace: Option<String>,
    /// Metric name.
    pub name: Option<String>,
    /// Dimensions.
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    /// Statistic: `Average`, `Sum`, `p99`, …
    pub stat: Option<String>,
    /// Period.
    pub period: Option<String>,
}

/// `policy:` section: the blast-radius limits.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Environments experiments may run in.
    pub allowed_environments: Option<Vec<String>>,
    /// Permit production (also needs `--allow-production` on the command line).
    pub allow_production: Option<bool>,
    /// Label every target must carry to opt in, e.g. `chaos-experiment=enabled`.
    pub required_label: Option<String>,
    /// Namespaces experiments may target.
    pub namespaces: Option<Vec<String>>,
    /// Largest `COUNT(n)` per stage.
    pub max_count: Option<u32>,
    /// Largest `PERCENT(n)` per stage.
    pub max_percent: Option<u32>,
    /// Most actions running at once.
    pub max_parallel_actions: Option<u32>,
    /// Longest experiment.
    pub max_duration: Option<String>,
}

/// `fis:` section.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFis {
    /// IAM role FIS assumes to run experiments.
    pub role_arn: Option<String>,
    /// Kubernetes service account for `aws:eks:pod-*` actions.
    pub kubernetes_service_account: Option<String>,
    /// Log group ARN for FIS experiment logs.
    pub log_group_arn: Option<String>,
    /// FIS experiment reports (PDF in S3 with the GameDay dashboard's graphs).
    pub report: Option<RawFisReport>,
}

/// `fis.report:` section.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFisReport {
    /// S3 bucket the reports go to.
    pub bucket: Option<String>,
    /// Key prefix.
    pub prefix: Option<String>,
    /// Graph time before each experiment (default 20m).
    pub pre_experiment: Option<String>,
    /// Graph time after each experiment (default 20m).
    pub post_experiment: Option<String>,
}

/// `llm:` section.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLlm {
    /// OpenAI-compatible base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Timeout for one request.
    pub timeout: Option<String>,
    /// Redact IP addresses before anything leaves the machine.
    pub redact_ips: Option<bool>,
    /// Most tokens the model may answer with (sent as `max_tokens`).
    pub max_tokens: Option<u32>,
    /// The model's context size in tokens: the prompt is trimmed to fit it with the answer.
    pub context_tokens: Option<u32>,
}

/// One entry of `schedule:`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// Entry name.
    pub name: Option<String>,
    /// Five-field cron expression.
    pub cron: Option<String>,
    /// IANA timezone of the cron expression.
    pub timezone: Option<String>,
    /// Scenario file to run; absent means "plan fresh".
    pub scenario: Option<PathBuf>,
    /// Environment; must be allowed by the policy.
    pub environment: Option<String>,
    /// Longest a scheduled GameDay may take.
    pub max_duration: Option<String>,
    /// Notification targets.
    #[serde(default)]
    pub notify: Vec<RawNotify>,
    /// Windows in which nothing fires (release freezes, holidays).
    #[serde(default)]
    pub blackouts: Vec<RawBlackout>,
    /// After downtime: `skip` a missed fire time, or `run-late` once within `grace`.
    pub missed: Option<String>,
    /// How late a fire time may still start (missed runs, and Kubernetes'
    /// `startingDeadlineSeconds`).
    pub grace: Option<String>,
}

/// A notification target.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// Slack-compatible incoming webhook URL.
    pub slack: Option<String>,
    /// Generic JSON webhook URL.
    pub webhook: Option<String>,
}

/// A blackout window.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlackout {
    /// Start, RFC 3339.
    pub start: Option<String>,
    /// End, RFC 3339.
    pub end: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// Parses a human duration (`30s`, `15m`, `1h30m`, `180d`).
///
/// # Errors
/// Returns a message naming the bad text and the accepted forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with(|c: char| !c.is_ascii_digit()) {
        return Err(format!(
            "invalid duration `{text}`: expected a number with a unit, such as 30s, 15m, 2h or 180d"
        ));
    }
    humantime::parse_duration(trimmed).map_err(|e| {
        format!(
            "invalid duration `{text}` ({e}): expected a number with a unit, such as 30s, 15m, 2h or 180d"
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Validated configuration.
// ---------------------------------------------------------------------------------------------

/// The validated configuration: defaults applied, every value typed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the config came from (`None` when built from defaults only).
    pub source: Option<PathBuf>,
    /// The environment this config drives.
    pub environment: String,
    /// AWS access.
    pub aws: AwsSettings,
    /// Incident mining.
    pub incidents: IncidentSettings,
    /// Services under test.
    pub services: Vec<Service>,
    /// Blast-radius policy.
    pub policy: Policy,
    /// FIS settings.
    pub fis: FisSettings,
    /// LLM endpoint, when configured.
    pub llm: Option<LlmSettings>,
    /// Scheduled GameDays.
    pub schedule: Vec<ScheduleEntry>,
}

/// AWS access settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// Named profile.
    pub profile: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Endpoint override.
    pub endpoint_url: Option<String>,
    /// Expected account id.
    pub account_id: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Per-attempt timeout.
    pub attempt_timeout: Duration,
    /// Whole-operation timeout, retries included.
    pub operation_timeout: Duration,
    /// Attempts per call.
    pub max_attempts: u32,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            profile: None,
            region: None,
            endpoint_url: None,
            account_id: None,
            // Short enough that a dead endpoint is reported within seconds, long enough for a
            // TLS handshake across regions.
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(20),
            operation_timeout: Duration::from_secs(60),
            max_attempts: 3,
        }
    }
}

/// Incident-mining settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSettings {
    /// Log groups to mine.
    pub log_groups: Vec<String>,
    /// How far back.
    pub lookback: Duration,
    /// Grouping gap.
    pub gap: Duration,
    /// Concurrent Insights queries (AWS allows 100 per account and region, shared).
    pub max_concurrent_queries: u32,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            log_groups: Vec::new(),
            lookback: Duration::from_secs(180 * 86_400),
            gap: Duration::from_secs(15 * 60),
            max_concurrent_queries: 10,
        }
    }
}

pub use crate::model::hypothesis::Direction;

/// A service under test.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Owner.
    pub owner: Option<String>,
    /// EKS cluster.
    pub cluster: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Label selector.
    pub selector: Option<String>,
    /// Recovery target.
    pub recovery_target: Duration,
    /// Steady-state metrics.
    pub metrics: Vec<MetricDef>,
    /// Fault targets beyond the pods.
    pub faults: ServiceFaults,
}

/// Fault targets of a service beyond its pods, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceFaults {
    /// IAM role the service's pods use.
    pub iam_role_arn: Option<String>,
    /// Dependency port.
    pub dependency_port: Option<u16>,
    /// Dependency protocol (`tcp` or `udp`).
    pub dependency_protocol: Option<String>,
    /// Availability zone for AZ faults.
    pub availability_zone: Option<String>,
}

/// A steady-state metric definition.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// Short name.
    pub name: String,
    /// Which way is bad.
    pub direction: Direction,
    /// SLO bound.
    pub slo: Option<f64>,
    /// What to query.
    pub query: MetricQuery,
}

/// What a metric queries in CloudWatch.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricQuery {
    /// One metric and statistic.
    Stat(MetricStat),
    /// Metric math over named inputs.
    Expression {
        /// The expression.
        expression: String,
        /// Its inputs by id.
        inputs: BTreeMap<String, MetricStat>,
    },
}

/// A CloudWatch metric with a statistic and period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricStat {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub name: String,
    /// Dimensions.
    pub dimensions: BTreeMap<String, String>,
    /// Statistic.
    pub stat: String,
    /// Period.
    pub period: Duration,
}

/// FIS settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FisSettings {
    /// Experiment role.
    pub role_arn: Option<String>,
    /// Service account for pod actions.
    pub kubernetes_service_account: String,
    /// Experiment log group ARN.
    pub log_group_arn: Option<String>,
    /// Experiment reports, when configured.
    pub report: Option<FisReport>,
}

/// Validated `fis.report`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FisReport {
    /// S3 bucket.
    pub bucket: String,
    /// Key prefix.
    pub prefix: Option<String>,
    /// Graph time before each experiment.
    pub pre_experiment: crate::model::duration::IsoDuration,
    /// Graph time after each experiment.
    pub post_experiment: crate::model::duration::IsoDuration,
}

/// Default graph window before and after an experiment in its report.
const DEFAULT_REPORT_WINDOW: Duration = Duration::from_secs(20 * 60);

/// LLM settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmSettings {
    /// Base URL.
    pub base_url: String,
    /// Model.
    pub model: String,
    /// Env var with the API key.
    pub api_key_env: Option<String>,
    /// Request timeout.
    pub timeout: Duration,
    /// Redact IPs.
    pub redact_ips: bool,
    /// Most tokens of the answer (`max_tokens`).
    pub max_tokens: u32,
    /// The model's context size in tokens; prompt + `max_tokens` must fit in it.
    pub context_tokens: u32,
}

impl LlmSettings {
    /// Default `max_tokens`: a summary, a handful of findings and action items in JSON.
    pub const DEFAULT_MAX_TOKENS: u32 = 1024;
    /// Default context size: what small local servers commonly run with.
    pub const DEFAULT_CONTEXT_TOKENS: u32 = 4096;
    /// Default timeout: a small model on a CPU takes minutes for a 4k-token prompt and a
    /// 1k-token answer; a hosted model answers in seconds and never comes near it.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
}

/// A notification target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    /// Slack-compatible incoming webhook.
    Slack(String),
    /// Generic JSON webhook.
    Webhook(String),
}

/// A blackout window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blackout {
    /// Start.
    pub start: chrono::DateTime<chrono::Utc>,
    /// End.
    pub end: chrono::DateTime<chrono::Utc>,
    /// Why.
    pub reason: Option<String>,
}

/// A scheduled GameDay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleEntry {
    /// Name.
    pub name: String,
    /// Cron expression (5 fields).
    pub cron: String,
    /// IANA timezone.
    pub timezone: String,
    /// Scenario file, or `None` to plan fresh.
    pub scenario: Option<PathBuf>,
    /// Environment.
    pub environment: String,
    /// Longest run.
    pub max_duration: Duration,
    /// Notification targets.
    pub notify: Vec<Notify>,
    /// Blackout windows.
    pub blackouts: Vec<Blackout>,
    /// What to do with a fire time missed while no scheduler was running.
    pub missed: MissedPolicy,
    /// How late a missed fire time may still start under [`MissedPolicy::RunLate`].
    pub grace: Duration,
}

/// What the scheduler does with a fire time it missed (the daemon was down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissedPolicy {
    /// Record it as skipped; wait for the next fire time.
    #[default]
    Skip,
    /// Run it once, late, if the scheduler is back within the grace period.
    RunLate,
}

/// Default [`ScheduleEntry::grace`]: an hour late is still "this week's GameDay".
pub const DEFAULT_SCHEDULE_GRACE: Duration = Duration::from_secs(3600);

/// Longest schedule entry name: it becomes a Kubernetes CronJob name (52 characters at most,
/// since the Job controller appends an 11-character suffix), with a `gameday-` prefix.
const MAX_SCHEDULE_NAME_LEN: usize = 44;

impl Default for Config {
    fn default() -> Self {
        Self {
            source: None,
            environment: "staging".to_owned(),
            aws: AwsSettings::default(),
            incidents: IncidentSettings::default(),
            services: Vec::new(),
            policy: Policy::default(),
            fis: FisSettings {
                kubernetes_service_account: DEFAULT_SERVICE_ACCOUNT.to_owned(),
                ..FisSettings::default()
            },
            llm: None,
            schedule: Vec::new(),
        }
    }
}

/// The service account name the FIS docs use for pod actions.
const DEFAULT_SERVICE_ACCOUNT: &str = "fis-experiment";

impl Config {
    /// Reads and validates a config file.
    ///
    /// # Errors
    /// [`ConfigError`] with `file:line:column` for anything malformed or invalid.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = crate::input::read_text(path).map_err(|e| match e {
            crate::input::InputError::Read { path, source } => ConfigError::Read { path, source },
            other => {
                let (line, column) = other.location().unwrap_or((1, 1));
                let message = match &other {
                    crate::input::InputError::NotText { problem, hint, .. } => {
                        format!("{problem}; {hint}")
                    }
                    _ => other.to_string(),
                };
                ConfigError::Parse {
                    path: path.to_owned(),
                    line,
                    column,
                    message,
                }
            }
        })?;
        Self::from_yaml(path, &text)
    }

    /// Parses and validates config text; `path` is used in messages only.
    ///
    /// # Errors
    /// [`ConfigError`] with `file:line:column` for anything malformed or invalid.
    pub fn from_yaml(path: &Path, text: &str) -> Result<Self, ConfigError> {
        // A UTF-8 byte-order mark is not content (editors on Windows write one).
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // An empty file is a valid, all-defaults config.
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            yaml_serde::from_str(text).map_err(|e| parse_error(path, &e))?
        };
        Validator { path, text }.validate(raw)
    }
}

fn parse_error(path: &Path, err: &yaml_serde::Error) -> ConfigError {
    let (line, column) = err.location().map_or((1, 1), |l| (l.line(), l.column()));
    // yaml_serde appends " at line L column C" to its message; we put the location up front.
    let mut message = err.to_string();
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    let hint = if message.contains("unknown field") {
        " (remove the key or fix its spelling; gameday.example.yaml lists every key)"
    } else if message.contains("invalid type") {
        " (fix the value's type; gameday.example.yaml shows each key's form)"
    } else {
        ""
    };
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        column,
        message: format!("{message}{hint}"),
    }
}

/// Turns a [`RawConfig`] into a [`Config`], locating semantic errors in the source text.
struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Validator<'_> {
    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let (line, column) = locate_key(self.text, key).unwrap_or((1, 1));
        ConfigError::Invalid {
            path: self.path.to_owned(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// Parses an optional human duration at `key`, or returns the default.
    fn duration(
        &self,
        key: &str,
        raw: Option<&String>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        raw.map_or(Ok(default), |text| {
            parse_duration(text).map_err(|m| self.invalid(key, m))
        })
    }

    fn validate(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let environment = raw.environment.unwrap_or(defaults.environment);
        if environment.trim().is_empty() {
            return Err(self.invalid("environment", "must not be empty (e.g. `staging`)"));
        }
        let aws = self.aws(raw.aws.unwrap_or_default())?;
        let incidents = self.incidents(raw.incidents.unwrap_or_default())?;
        let services = raw
            .services
            .into_iter()
            .enumerate()
            .map(|(i, s)| self.service(i, s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut names = std::collections::BTreeSet::new();
        for (i, s) in services.iter().enumerate() {
            if !names.insert(s.name.clone()) {
                return Err(self.invalid(
                    &format!("services[{i}].name"),
                    format!("duplicate service name `{}`: names must be unique", s.name),
                ));
            }
        }
        let policy = self.policy(raw.policy.unwrap_or_default())?;
        let fis = self.fis(raw.fis.unwrap_or_default())?;
        let llm = raw.llm.map(|l| self.llm(l)).transpose()?;
        let schedule = raw
            .schedule
            .into_iter()
            .enumerate()
            .map(|(i, s)| self.schedule(i, s, &policy))
            .collect::<Result<Vec<_>, _>>()?;
        let mut entry_names = std::collections::BTreeSet::new();
        for (i, e) in schedule.iter().enumerate() {
            if !entry_names.insert(e.name.as_str()) {
                return Err(self.invalid(
                    &format!("schedule[{i}].name"),
                    format!(
                        "duplicate schedule entry `{}`: names key the run history and must be unique",
                        e.name
                    ),
                ));
            }
        }
        Ok(Config {
            source: Some(self.path.to_owned()),
            environment,
            aws,
            incidents,
            services,
            policy,
            fis,
            llm,
            schedule,
        })
    }

    fn aws(&self, raw: RawAws) -> Result<AwsSettings, ConfigError> {
        let d = AwsSettings::default();
        if let Some(url) = &raw.endpoint_url {
            check_url(url).map_err(|m| self.invalid("aws.endpoint_url", m))?;
        }
        if let Some(region) = &raw.region {
            check_region(region).map_err(|m| self.invalid("aws.region", m))?;
        }
        if let Some(account) = &raw.account_id
            && (account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(self.invalid(
                "aws.account_id",
                format!("`{account}` is not an AWS account id: expected 12 digits, quoted"),
            ));
        }
        let max_attempts = raw.max_attempts.unwrap_or(d.max_attempts);
        if !(1..=10).contains(&max_attempts) {
            return Err(self.invalid(
                "aws.max_attempts",
                format!("{max_attempts} is out of range: expected 1 to 10"),
            ));
        }
        Ok(AwsSettings {
            profile: raw.profile,
            region: raw.region,
            endpoint_url: raw.endpoint_url,
            account_id: raw.account_id,
            connect_timeout: self.duration(
                "aws.connect_timeout",
                raw.connect_timeout.as_ref(),
                d.connect_timeout,
            )?,
            attempt_timeout: self.duration(
                "aws.attempt_timeout",
                raw.attempt_timeout.as_ref(),
                d.attempt_timeout,
            )?,
            operation_timeout: self.duration(
                "aws.operation_timeout",
                raw.operation_timeout.as_ref(),
                d.operation_timeout,
            )?,
            max_attempts,
        })
    }

    fn incidents(&self, raw: RawIncidents) -> Result<IncidentSettings, ConfigError> {
        let d = IncidentSettings::default();
        let max_concurrent_queries = raw
            .max_concurrent_queries
            .unwrap_or(d.max_concurrent_queries);
        if !(1..=100).contains(&max_concurrent_queries) {
            return Err(self.invalid(
                "incidents.max_concurrent_queries",
                format!(
                    "{max_concurrent_queries} is out of range: Logs Insights allows 1 to 100 concurrent queries per account and region"
                ),
            ));
        }
        Ok(IncidentSettings {
            log_groups: raw.log_groups,
            lookback: self.duration("incidents.lookback", raw.lookback.as_ref(), d.lookback)?,
            gap: self.duration("incidents.gap", raw.gap.as_ref(), d.gap)?,
            max_concurrent_queries,
        })
    }

    fn service(&self, i: usize, raw: RawService) -> Result<Service, ConfigError> {
        let key = |k: &str| format!("services[{i}].{k}");
        let name = raw
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| self.invalid(&format!("services[{i}]"), "missing `name`"))?;
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(self.invalid(
                &key("name"),
                format!("`{name}` may only contain letters, digits, `-` and `_` (it is used in alarm names)"),
            ));
        }
        let metrics = raw
            .metrics
            .into_iter()
            .enumerate()
            .map(|(j, m)| self.metric(&format!("services[{i}].metrics[{j}]"), m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Service {
            name,
            owner: raw.owner,
            cluster: raw.cluster,
            namespace: raw.namespace,
            selector: raw.selector,
            recovery_target: self.duration(
                &key("recovery_target"),
                raw.recovery_target.as_ref(),
                Duration::from_secs(300),
            )?,
            metrics,
            faults: self.service_faults(i, raw.faults.unwrap_or_default())?,
        })
    }

    fn service_faults(
        &self,
        i: usize,
        raw: RawServiceFaults,
    ) -> Result<ServiceFaults, ConfigError> {
        let key = |k: &str| format!("services[{i}].faults.{k}");
        if let Some(arn) = &raw.iam_role_arn
            && !(arn.starts_with("arn:") && arn.contains(":role/"))
        {
            return Err(self.invalid(
                &key("iam_role_arn"),
                format!("`{arn}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
            ));
        }
        if let Some(p) = &raw.dependency_protocol
            && !matches!(p.as_str(), "tcp" | "udp")
        {
            return Err(self.invalid(
                &key("dependency_protocol"),
                format!("`{p}` is not tcp or udp"),
            ));
        }
        Ok(ServiceFaults {
            iam_role_arn: raw.iam_role_arn,
            dependency_port: raw.dependency_port,
            dependency_protocol: raw.dependency_protocol,
            availability_zone: raw.availability_zone,
        })
    }

    fn metric(&self, at: &str, raw: RawMetric) -> Result<MetricDef, ConfigError> {
        let name = raw
            .name
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| self.invalid(at, "missing `name`"))?;
        let direction = match raw.direction.as_deref() {
            None | Some("upper") => Direction::Upper,
            Some("lower") => Direction::Lower,
            Some("both") => Direction::Both,
            Some(other) => {
                return Err(self.invalid(
                    &format!("{at}.direction"),
                    format!("`{other}` is not a direction: expected upper, lower or both"),
                ));
            }
        };
        if let Some(slo) = raw.slo
            && !slo.is_finite()
        {
            return Err(self.invalid(&format!("{at}.slo"), "must be a finite number"));
        }
        let query = match (raw.metric, raw.expression) {
            (Some(m), None) => {
                if !raw.inputs.is_empty() {
                    return Err(self.invalid(
                        &format!("{at}.inputs"),
                        "`inputs` only goes with `expression`",
                    ));
                }
                MetricQuery::Stat(self.stat(&format!("{at}.metric"), m)?)
            }
            (None, Some(expression)) => {
                if raw.inputs.is_empty() {
                    return Err(self.invalid(
                        &format!("{at}.inputs"),
                        "an `expression` needs `inputs`: the metrics it refers to, by id",
                    ));
                }
                let mut inputs = BTreeMap::new();
                for (id, m) in raw.inputs {
                    let valid_id = id.starts_with(|c: char| c.is_ascii_lowercase())
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if !valid_id {
                        return Err(self.invalid(
                            &format!("{at}.inputs.{id}"),
                            "input ids must start with a lowercase letter and contain only letters, digits and `_` (CloudWatch's rule)",
                        ));
                    }
                    let stat = self.stat(&format!("{at}.inputs.{id}"), m)?;
                    inputs.insert(id, stat);
                }
                MetricQuery::Expression { expression, inputs }
            }
            (Some(_), Some(_)) => {
                return Err(self.invalid(
                    at,
                    "give either `metric` or `expression` with `inputs`, not both",
                ));
            }
            (None, None) => {
                return Err(self.invalid(
                    at,
                    "missing `metric` (or `expression` with `inputs`): what to query in CloudWatch",
                ));
            }
        };
        Ok(MetricDef {
            name,
            direction,
            slo: raw.slo,
            query,
        })
    }

    fn stat(&self, at: &str, raw: RawMetricStat) -> Result<MetricStat, ConfigError> {
        let namespace = raw
            .namespace
            .ok_or_else(|| self.invalid(at, "missing `namespace`, e.g. AWS/ApplicationELB"))?;
        let name = raw
            .name
            .ok_or_else(|| self.invalid(at, "missing `name`: the CloudWatch metric name"))?;
        let period = self.duration(
            &format!("{at}.period"),
            raw.period.as_ref(),
            Duration::from_secs(60),
        )?;
        let secs = period.as_secs();
        if !(matches!(secs, 1 | 5 | 10 | 20 | 30) || (secs >= 60 && secs % 60 == 0)) {
            return Err(self.invalid(
                &format!("{at}.period"),
                format!(
                    "{secs}s is not a CloudWatch period: use 1, 5, 10, 20 or 30 seconds, or a multiple of 60"
                ),
            ));
        }
        Ok(MetricStat {
            namespace,
            name,
            dimensions: raw.dimensions,
            stat: raw.stat.unwrap_or_else(|| "Average".to_owned()),
            period,
        })
    }

    fn policy(&self, raw: RawPolicy) -> Result<Policy, ConfigError> {
        let d = Policy::default();
        let max_percent = raw.max_percent.unwrap_or(u32::from(d.max_percent));
        let max_percent = u8::try_from(max_percent)
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| {
                self.invalid(
                    "policy.max_percent",
                    format!("{max_percent} is out of range: expected 1 to 100"),
                )
            })?;
        let max_count = raw.max_count.unwrap_or(d.max_count);
        if max_count == 0 {
            return Err(self.invalid("policy.max_count", "must be at least 1"));
        }
        let max_parallel_actions = raw
            .max_parallel_actions
            .map_or(d.max_parallel_actions, |n| n as usize);
        if !(1..=10).contains(&max_parallel_actions) {
            return Err(self.invalid(
                "policy.max_parallel_actions",
                format!("{max_parallel_actions} is out of range: FIS allows 1 to 10"),
            ));
        }
        let max_duration = self.duration(
            "policy.max_duration",
            raw.max_duration.as_ref(),
            d.max_total_duration.to_std(),
        )?;
        if max_duration > Duration::from_secs(12 * 3600) || max_duration.as_secs() == 0 {
            return Err(self.invalid(
                "policy.max_duration",
                "must be at least 1s and at most 12h (the FIS limit)",
            ));
        }
        let allowed_environments = raw.allowed_environments.unwrap_or(d.allowed_environments);
        let allow_production = raw.allow_production.unwrap_or(false);
        if !allow_production
            && let Some(prod) = allowed_environments.iter().find(|e| is_production(e))
        {
            return Err(self.invalid(
                "policy.allowed_environments",
                format!(
                    "`{prod}` is a production environment: set `policy.allow_production: true` as well (and pass --allow-production when running)"
                ),
            ));
        }
        Ok(Policy {
            allowed_environments,
            allow_production,
            opt_in_label: raw.required_label.or(d.opt_in_label),
            allowed_namespaces: raw.namespaces.unwrap_or_default(),
            max_count,
            max_percent,
            max_parallel_actions,
            max_total_duration: IsoDuration::from_secs(max_duration.as_secs()),
        })
    }

    fn fis(&self, raw: RawFis) -> Result<FisSettings, ConfigError> {
        if let Some(arn) = &raw.role_arn
            && !(arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/"))
        {
            return Err(self.invalid(
                "fis.role_arn",
                format!(
                    "`{arn}` is not an IAM role ARN: expected arn:aws:iam::<account>:role/<name>"
                ),
            ));
        }
        if let Some(arn) = &raw.log_group_arn
            && !(arn.starts_with("arn:") && arn.contains(":logs:") && arn.contains(":log-group:"))
        {
            return Err(self.invalid(
                "fis.log_group_arn",
                format!(
                    "`{arn}` is not a log group ARN: expected arn:aws:logs:<region>:<account>:log-group:<name>:*"
                ),
            ));
        }
        Ok(FisSettings {
            role_arn: raw.role_arn,
            kubernetes_service_account: raw
                .kubernetes_service_account
                .unwrap_or_else(|| DEFAULT_SERVICE_ACCOUNT.to_owned()),
            log_group_arn: raw.log_group_arn,
            report: raw.report.map(|r| self.fis_report(r)).transpose()?,
        })
    }

    fn fis_report(&self, raw: RawFisReport) -> Result<FisReport, ConfigError> {
        let bucket = raw.bucket.unwrap_or_default();
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid {
            return Err(self.invalid(
                "fis.report.bucket",
                format!(
                    "`{bucket}` is not an S3 bucket name (3-63 lowercase letters, digits, `-`, `.`)"
                ),
            ));
        }
        if let Some(prefix) = &raw.prefix
            && (prefix.is_empty() || prefix.len() > 256)
        {
            return Err(self.invalid("fis.report.prefix", "must be 1 to 256 characters"));
        }
        let window = |key: &str, raw: Option<&String>| {
            self.duration(key, raw, DEFAULT_REPORT_WINDOW)
                .map(|d| crate::model::duration::IsoDuration::from_secs(d.as_secs()))
        };
        Ok(FisReport {
            bucket,
            prefix: raw.prefix,
            pre_experiment: window("fis.report.pre_experiment", raw.pre_experiment.as_ref())?,
            post_experiment: window("fis.report.post_experiment", raw.post_experiment.as_ref())?,
        })
    }

    fn llm(&self, raw: RawLlm) -> Result<LlmSettings, ConfigError> {
        let base_url = raw.base_url.ok_or_else(|| {
            self.invalid("llm", "missing `base_url` (e.g. https://api.openai.com/v1)")
        })?;
        check_url(&base_url).map_err(|m| self.invalid("llm.base_url", m))?;
        let model = raw
            .model
            .ok_or_else(|| self.invalid("llm", "missing `model` (e.g. gpt-4o-mini)"))?;
        Ok(LlmSettings {
            base_url,
            model,
            api_key_env: raw.api_key_env,
            timeout: self.duration(
                "llm.timeout",
                raw.timeout.as_ref(),
                LlmSettings::DEFAULT_TIMEOUT,
            )?,
            redact_ips: raw.redact_ips.unwrap_or(true),
            max_tokens: raw.max_tokens.unwrap_or(LlmSettings::DEFAULT_MAX_TOKENS),
            context_tokens: raw
                .context_tokens
                .unwrap_or(LlmSettings::DEFAULT_CONTEXT_TOKENS),
        })
    }

    fn schedule(
        &self,
        i: usize,
        raw: RawSchedule,
        policy: &Policy,
    ) -> Result<ScheduleEntry, ConfigError> {
        let at = format!("schedule[{i}]");
        let name = raw
            .name
            .ok_or_else(|| self.invalid(&at, "missing `name`"))?;
        let name_ok = !name.is_empty()
            && name.len() <= MAX_SCHEDULE_NAME_LEN
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(self.invalid(
                &format!("{at}.name"),
                format!(
                    "`{name}` must be lowercase letters, digits and `-`, start with a letter and be at most {MAX_SCHEDULE_NAME_LEN} characters (it names Kubernetes CronJobs and EventBridge schedules)"
                ),
            ));
        }
        let cron = raw.cron.ok_or_else(|| {
            self.invalid(&at, "missing `cron` (five fields, e.g. `0 10 * * TUE`)")
        })?;
        check_portable_cron(&cron).map_err(|m| self.invalid(&format!("{at}.cron"), m))?;
        let timezone = raw.timezone.unwrap_or_else(|| "UTC".to_owned());
        if timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(self.invalid(
                &format!("{at}.timezone"),
                format!(
                    "`{timezone}` is not an IANA timezone: use a name such as Europe/Berlin, America/New_York or UTC"
                ),
            ));
        }
        let environment = raw.environment.unwrap_or_else(|| "staging".to_owned());
        if !policy.allowed_environments.contains(&environment) {
            return Err(self.invalid(
                &format!("{at}.environment"),
                format!(
                    "`{environment}` is not allowed by the policy: add it to policy.allowed_environments (allowed: {})",
                    policy.allowed_environments.join(", ")
                ),
            ));
        }
        let missed = match raw.missed.as_deref() {
            None | Some("skip") => MissedPolicy::Skip,
            Some("run-late") => MissedPolicy::RunLate,
            Some(other) => {
                return Err(self.invalid(
                    &format!("{at}.missed"),
                    format!("`{other}` is not a missed-run policy: expected skip or run-late"),
                ));
            }
        };
        let grace = self.duration(
            &format!("{at}.grace"),
            raw.grace.as_ref(),
            DEFAULT_SCHEDULE_GRACE,
        )?;
        if grace < Duration::from_secs(60) {
            return Err(self.invalid(
                &format!("{at}.grace"),
                "must be at least 1m (a fire time is never started more than `grace` late)",
            ));
        }
        let notify = raw
            .notify
            .into_iter()
            .enumerate()
            .map(|(j, n)| {
                match (n.slack, n.webhook) {
                    (Some(url), None) => check_url(&url).map(|()| Notify::Slack(url)),
                    (None, Some(url)) => check_url(&url).map(|()| Notify::Webhook(url)),
                    _ => Err("give exactly one of `slack` or `webhook`".to_owned()),
                }
                .map_err(|m| self.invalid(&format!("{at}.notify[{j}]"), m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let blackouts = raw
            .blackouts
            .into_iter()
            .enumerate()
            .map(|(j, b)| {
                let key = format!("{at}.blackouts[{j}]");
                let parse = |v: Option<String>, what: &str| {
                    let v = v.ok_or_else(|| self.invalid(&key, format!("missing `{what}`")))?;
                    chrono::DateTime::parse_from_rfc3339(&v)
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .map_err(|_| {
                            self.invalid(
                                &format!("{key}.{what}"),
                                format!(
                                    "`{v}` is not an RFC 3339 time such as 2026-12-24T00:00:00Z"
                                ),
                            )
                        })
                };
                let start = parse(b.start, "start")?;
                let end = parse(b.end, "end")?;
                if end <= start {
                    return Err(self.invalid(&key, "`end` must be after `start`"));
                }
                Ok(Blackout {
                    start,
                    end,
                    reason: b.reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ScheduleEntry {
            name,
            cron,
            timezone,
            scenario: raw.scenario,
            environment,
            max_duration: self.duration(
                &format!("{at}.max_duration"),
                raw.max_duration.as_ref(),
                Duration::from_secs(2 * 3600),
            )?,
            notify,
            blackouts,
            missed,
            grace,
        })
    }
}

/// Checks a five-field cron expression in the portable subset every scheduler gameday exports
/// to understands (cron, Kubernetes CronJobs, EventBridge Scheduler): numbers, names (`MON`,
/// `JAN`), `*`, `,`, `-` and `/`. croner's extensions (`L`, `W`, `#`, `?`, `+`, `@weekly`) are
/// refused because the exports could not carry them.
fn check_portable_cron(cron: &str) -> Result<(), String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{cron}` must have five fields: minute hour day-of-month month day-of-week"
        ));
    }
    const NAMES: &[&str] = &[
        "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
        "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    for field in &fields {
        let upper = field.to_ascii_uppercase();
        let bare: String = NAMES
            .iter()
            .fold(upper, |acc, n| acc.replace(n, ""))
            .replace(
                |c: char| c.is_ascii_digit() || matches!(c, '*' | ',' | '-' | '/'),
                "",
            );
        if !bare.is_empty() {
            return Err(format!(
                "`{cron}`: field `{field}` uses `{bare}`; only numbers, names (MON, JAN), `*`, `,`, `-` and `/` are allowed, so that Kubernetes and EventBridge exports mean the same"
            ));
        }
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(cron)
        .map(|_| ())
        .map_err(|e| format!("`{cron}` is not valid cron: {e}"))
}

/// Whether an environment name means production.
pub fn is_production(environment: &str) -> bool {
    matches!(
        environment.to_ascii_lowercase().as_str(),
        "prod" | "production" | "prd" | "live"
    )
}

fn check_url(url: &str) -> Result<(), String> {
    check_endpoint_url(url)
}

/// Checks an endpoint URL: `http://` or `https://` with a host (and optional port and path),
/// no spaces or control characters.
///
/// # Errors
/// A message quoting the URL (cut to 200 characters) and the expected form.
pub fn check_endpoint_url(url: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "`{}` is not an http(s) URL with a host (e.g. http://127.0.0.1:4566 or \
             https://fis.us-east-1.amazonaws.com)",
            crate::input::cut(url)
        )
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let host_ok = uri.host().is_some_and(|h| {
        !h.is_empty()
            && h.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':')
            })
    });
    if scheme_ok && host_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Checks an AWS region name: two letters, one or more `-word` parts, then `-N`
/// (`us-east-1`, `eu-west-1`, `us-gov-west-1`, `ap-southeast-2`).
///
/// # Errors
/// A message quoting the region (cut to 200 characters) and the expected form.
pub fn check_region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].len() <= 2;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an AWS region: expected a name such as us-east-1 or eu-west-1",
            crate::input::cut(region)
        ))
    }
}

/// Line and column of a dotted key in YAML text; see [`crate::input::locate_key`].
pub use crate::input::locate_key;

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_yaml(Path::new("gameday.yaml"), text)
    }

    #[test]
    fn fis_report_is_validated_with_default_windows() {
        let cfg = load("fis:\n  report:\n    bucket: gameday-reports\n    post_experiment: 5m\n")
            .expect("valid");
        let r = cfg.fis.report.expect("report");
        assert_eq!(r.bucket, "gameday-reports");
        assert_eq!(r.pre_experiment.to_string(), "PT20M");
        assert_eq!(r.post_experiment.to_string(), "PT5M");
        let err = load("fis:\n  report:\n    bucket: Bad_Bucket\n").expect_err("invalid bucket");
        assert!(err.to_string().contains("fis.report.bucket"), "{err}");
    }

    #[test]
    fn example_config_loads_and_validates() {
        let cfg = Config::from_yaml(Path::new("gameday.example.yaml"), EXAMPLE_CONFIG)
            .expect("the shipped example config must be valid");
        assert_eq!(cfg.environment, "staging");
        assert!(!cfg.services.is_empty());
        assert!(cfg.services.iter().all(|s| !s.metrics.is_empty()));
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let cfg = load("").expect("empty config is valid");
        assert_eq!(cfg.policy, Policy::default());
        assert_eq!(cfg.incidents.lookback, Duration::from_secs(180 * 86_400));
    }

    #[test]
    fn unknown_key_is_located() {
        let err = load("environment: staging\naws:\n  region: eu-west-1\n  regoin: x\n")
            .expect_err("unknown key");
        let msg = err.to_string();
        assert!(msg.starts_with("gameday.yaml:4:3: "), "{msg}");
        assert!(msg.contains("regoin"), "{msg}");
    }

    #[test]
    fn wrong_type_is_located() {
        let err = load("policy:\n  max_percent: lots\n").expect_err("wrong type");
        let msg = err.to_string();
        assert!(msg.starts_with("gameday.yaml:2:16: "), "{msg}");
        assert!(msg.contains("max_percent"), "{msg}");
    }

    #[test]
    fn bad_duration_is_located() {
        let err = load("incidents:\n  lookback: 180 parsecs\n").expect_err("bad duration");
        let msg = err.to_string();
        assert!(msg.starts_with("gameday.yaml:2:3: "), "{msg}");
        assert!(msg.contains("incidents.lookback"), "{msg}");
        assert!(msg.contains("180d"), "hint names a valid form: {msg}");
    }

    #[test]
    fn semantic_error_is_located_at_its_key() {
        let text = "services:\n  - name: checkout\n    metrics:\n      - name: err\n        direction: sideways\n        metric: {namespace: A, name: B}\n";
        let err = load(text).expect_err("bad direction");
        let msg = err.to_string();
        assert!(msg.starts_with("gameday.yaml:5:9: "), "{msg}");
        assert!(msg.contains("services[0].metrics[0].direction"), "{msg}");
    }

    #[test]
    fn production_needs_explicit_opt_in() {
        let err = load("policy:\n  allowed_environments: [staging, production]\n")
            .expect_err("production without opt-in");
        assert!(err.to_string().contains("allow_production"));
        load("policy:\n  allowed_environments: [production]\n  allow_production: true\n")
            .expect("explicit opt-in is accepted");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("180d"),
            Ok(Duration::from_secs(180 * 86_400))
        );
        assert!(parse_duration("m15").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn locate_key_walks_lists_and_maps() {
        let text = "a:\n  b: 1\nlist:\n  - name: x\n    v: 1\n  - name: y\n    v: 2\n";
        assert_eq!(locate_key(text, "a.b"), Some((2, 3)));
        assert_eq!(locate_key(text, "list[1]"), Some((6, 3)));
        assert_eq!(locate_key(text, "list[1].v"), Some((7, 5)));
        assert_eq!(locate_key(text, "nope"), None);
    }

    #[test]
    fn schedule_errors_are_located_at_their_key() {
        let cases = [
            ("cron: \"0 10 * * MON#2\"", "schedule[0].cron", "4:5"),
            ("cron: \"0 10 * *\"", "schedule[0].cron", "4:5"),
            (
                "cron: \"0 10 * * *\"\n    timezone: Europe/Berlinn",
                "schedule[0].timezone",
                "5:5",
            ),
            (
                "cron: \"0 10 * * *\"\n    environment: production",
                "schedule[0].environment",
                "5:5",
            ),
            (
                "cron: \"0 10 * * *\"\n    missed: later",
                "schedule[0].missed",
                "5:5",
            ),
            (
                "cron: \"0 10 * * *\"\n    grace: 10s",
                "schedule[0].grace",
                "5:5",
            ),
        ];
        for (rest, key, at) in cases {
            let text = format!("environment: staging\nschedule:\n  - name: weekly\n    {rest}\n");
            let msg = load(&text).expect_err(key).to_string();
            assert!(
                msg.starts_with(&format!("gameday.yaml:{at}: {key}: ")),
                "{msg}"
            );
        }
        let dup = "schedule:\n  - name: a\n    cron: \"0 1 * * *\"\n  - name: a\n    cron: \"0 2 * * *\"\n";
        let msg = load(dup).expect_err("duplicate").to_string();
        assert!(
            msg.starts_with("gameday.yaml:4:5: schedule[1].name: duplicate"),
            "{msg}"
        );
        let bad_name = "schedule:\n  - name: Weekly_GameDay\n    cron: \"0 1 * * *\"\n";
        assert!(
            load(bad_name)
                .expect_err("name")
                .to_string()
                .contains("schedule[0].name")
        );
    }

    #[test]
    fn schedule_defaults_and_policy_keys() {
        let cfg = load("schedule:\n  - name: weekly\n    cron: \"0 10 * * tue\"\n    timezone: America/New_York\n    missed: run-late\n    grace: 30m\n")
            .expect("valid");
        let e = &cfg.schedule[0];
        assert_eq!(e.missed, MissedPolicy::RunLate);
        assert_eq!(e.grace, Duration::from_secs(1800));
        assert_eq!(e.environment, "staging");
        let d = load("schedule:\n  - name: weekly\n    cron: \"0 10 * * *\"\n").expect("valid");
        assert_eq!(d.schedule[0].missed, MissedPolicy::Skip);
        assert_eq!(d.schedule[0].grace, DEFAULT_SCHEDULE_GRACE);
        assert_eq!(d.schedule[0].timezone, "UTC");
    }
}
