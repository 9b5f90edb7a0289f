//! The I/O edge: provider traits and their implementations.
//!
//! Input: requests in gameday's own domain types. Output: domain types; SDK types and errors
//! never leave this module. Must not: make decisions (what to inject, when to abort) — that is
//! the stages' job.
//!
//! Traits are written with native `async fn` and taken as generics; [`aws`] holds the real
//! implementations, which talk to AWS or to the local emulator over the wire, and [`kube`] the
//! Kubernetes trait ([`kube::ClusterTarget`]) with its `kube-rs` implementation.

pub mod aws;
pub mod kube;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A failed call to an external system.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// An AWS API call failed (after the SDK's retries).
    #[error("failed to call {operation}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Call {
        /// `service:Operation`, e.g. `fis:StartExperiment`.
        operation: &'static str,
        /// The AWS error code, when the service sent one.
        code: Option<String>,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A request could not be built from our input.
    #[error("invalid request for {operation}: {message}")]
    InvalidRequest {
        /// `service:Operation`.
        operation: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The response lacked something the API promises.
    #[error("unexpected response from {operation}: {message}")]
    Unexpected {
        /// `service:Operation`.
        operation: &'static str,
        /// What was missing or malformed.
        message: String,
    },
    /// No region could be determined.
    #[error(
        "no AWS region configured: pass --region, set aws.region in the config, or set AWS_REGION"
    )]
    NoRegion,
    /// A Kubernetes API call failed (not for lack of permission).
    #[error("failed to {operation}{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Kube {
        /// What was attempted, e.g. `list pods in namespace shop`.
        operation: String,
        /// The HTTP status the API server answered with, when it answered.
        status: Option<u16>,
        /// The kube error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The Kubernetes API server refused gameday's identity (HTTP 403).
    #[error("gameday's Kubernetes identity cannot {operation}: grant it {grant}")]
    KubeForbidden {
        /// What was attempted, e.g. `list pods in namespace shop`.
        operation: String,
        /// The RBAC rule that would allow it.
        grant: String,
        /// The kube error (the API server's Status).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No usable Kubernetes configuration for a cluster (kubeconfig, context, in-cluster).
    #[error("no usable Kubernetes configuration for {target}: {message}")]
    KubeConfig {
        /// The cluster or context asked for.
        target: String,
        /// What is missing and how to provide it.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ProviderError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Call { .. } => "aws_call",
            Self::InvalidRequest { .. } => "aws_invalid_request",
            Self::Unexpected { .. } => "aws_unexpected_response",
            Self::NoRegion => "aws_no_region",
            Self::Kube { .. } => "kube_call",
            Self::KubeForbidden { .. } => "kube_forbidden",
            Self::KubeConfig { .. } => "kube_config",
        }
    }

    /// The AWS error code, if the service sent one (`ResourceNotFound`, `ThrottlingException`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// Result of a provider call.
pub type ProviderResult<T> = Result<T, ProviderError>;

// ---------------------------------------------------------------------------------------------
// Domain types crossing the edge.
// ---------------------------------------------------------------------------------------------

/// One log event, whatever its source (file export, Logs Insights, FilterLogEvents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    /// When the event happened, epoch milliseconds (UTC).
    pub timestamp_ms: i64,
    /// The raw message text (for structured records, the whole JSON document).
    pub message: String,
    /// Log stream name, when known.
    pub log_stream: Option<String>,
    /// Log group name, when known.
    pub log_group: Option<String>,
}

/// A finished Logs Insights query.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightsResult {
    /// Rows, each a map of field name to string value.
    pub rows: Vec<BTreeMap<String, String>>,
    /// Terminal status (`Complete`, `Failed`, `Cancelled`, `Timeout`, …).
    pub status: String,
    /// Records the query matched, per the service's statistics.
    pub records_matched: f64,
}

/// A metric identity and statistic to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricStatQuery {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub name: String,
    /// Dimensions.
    pub dimensions: BTreeMap<String, String>,
    /// Statistic (`Average`, `Sum`, `p99`, …).
    pub stat: String,
    /// Period.
    #[serde(with = "duration_secs")]
    pub period: Duration,
}

/// Serialises a [`Duration`] as whole seconds.
mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// One query of a GetMetricData request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricDataQuery {
    /// A single metric.
    Stat {
        /// Query id (lowercase first letter, `[a-zA-Z0-9_]`).
        id: String,
        /// The metric.
        stat: MetricStatQuery,
        /// Whether this series is returned.
        return_data: bool,
    },
    /// A metric-math expression over other queries' ids.
    Expression {
        /// Query id.
        id: String,
        /// The expression.
        expression: String,
        /// Period for the expression.
        period: Duration,
        /// Whether this series is returned.
        return_data: bool,
    },
}

/// A datapoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Datapoint {
    /// Timestamp.
    pub timestamp: DateTime<Utc>,
    /// Value.
    pub value: f64,
}

/// A returned series, sorted ascending by time.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    /// The query id it answers.
    pub id: String,
    /// Points, oldest first.
    pub points: Vec<Datapoint>,
}

/// A datapoint to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatum {
    /// Metric name.
    pub name: String,
    /// Dimensions.
    pub dimensions: BTreeMap<String, String>,
    /// Timestamp.
    pub timestamp: DateTime<Utc>,
    /// Value.
    pub value: f64,
    /// Publish at 1-second resolution.
    pub high_resolution: bool,
}

/// The state of a CloudWatch alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmStateValue {
    /// Within threshold.
    Ok,
    /// Breaching.
    Alarm,
    /// Not enough data.
    InsufficientData,
}

impl AlarmStateValue {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// How an alarm compares the metric with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// `GreaterThanThreshold`.
    GreaterThanThreshold,
    /// `GreaterThanOrEqualToThreshold`.
    GreaterThanOrEqualToThreshold,
    /// `LessThanThreshold`.
    LessThanThreshold,
    /// `LessThanOrEqualToThreshold`.
    LessThanOrEqualToThreshold,
}

/// What an alarm watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmMetric {
    /// One metric and statistic.
    Single {
        /// Namespace.
        namespace: String,
        /// Metric name.
        metric_name: String,
        /// Dimensions.
        dimensions: BTreeMap<String, String>,
        /// Statistic (`Average`, `Sum`, `p99`, …).
        statistic: String,
    },
    /// Metric math: the alarm watches `expression` over the named inputs.
    Math {
        /// The expression, e.g. `100 * errors / requests`.
        expression: String,
        /// Inputs by id.
        inputs: BTreeMap<String, MetricStatQuery>,
    },
}

/// The definition of a metric alarm (the PutMetricAlarm inputs gameday uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmSpec {
    /// Alarm name.
    pub name: String,
    /// Description.
    pub description: String,
    /// What it watches.
    pub metric: AlarmMetric,
    /// Period in seconds.
    pub period_secs: u32,
    /// N: datapoints evaluated.
    pub evaluation_periods: u32,
    /// M: breaching datapoints among N that trip the alarm.
    pub datapoints_to_alarm: u32,
    /// Threshold.
    pub threshold: f64,
    /// Comparison.
    pub comparison: Comparison,
    /// `missing`, `breaching`, `notBreaching` or `ignore`.
    pub treat_missing_data: String,
    /// Tags (only applied when the alarm is created).
    pub tags: BTreeMap<String, String>,
}

impl AlarmSpec {
    /// Whether two specs configure the same alarm (tags aside: CloudWatch ignores them on update).
    pub fn same_alarm(&self, other: &Self) -> bool {
        Self {
            tags: BTreeMap::new(),
            ..self.clone()
        } == Self {
            tags: BTreeMap::new(),
            ..other.clone()
        }
    }
}

/// An alarm as CloudWatch reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmStatus {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: Option<String>,
    /// State.
    pub state: AlarmStateValue,
    /// Why.
    pub reason: Option<String>,
    /// Threshold.
    pub threshold: Option<f64>,
    /// When the state was last updated.
    pub updated: Option<DateTime<Utc>>,
    /// The alarm's configuration, when it is a form gameday writes.
    pub spec: Option<AlarmSpec>,
}

/// What applying a desired state did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// It did not exist.
    Created,
    /// It existed with another configuration.
    Updated,
    /// It already matched; nothing was sent.
    Unchanged,
}

impl Change {
    /// Lowercase name, for output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
        }
    }
}

/// What `FaultInjector::get` reports about an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentView {
    /// Experiment id.
    pub id: String,
    /// Template id.
    pub template_id: Option<String>,
    /// Status string (`pending`, `initiating`, `running`, `completed`, `stopping`, `stopped`,
    /// `failed`, `cancelled`, or whatever a newer API returns).
    pub status: String,
    /// The reason FIS gives for the status.
    pub reason: Option<String>,
    /// Per-action states by action name.
    pub actions: BTreeMap<String, ActionView>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl ExperimentView {
    /// Whether FIS will change nothing more about this experiment.
    pub fn is_terminal(&self) -> bool {
        is_terminal_status(&self.status)
    }
}

/// Whether an experiment status is terminal (completed, stopped, failed, cancelled).
pub fn is_terminal_status(status: &str) -> bool {
    matches!(status, "completed" | "stopped" | "failed" | "cancelled")
}

/// One action's state inside an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionView {
    /// Action id (`aws:eks:pod-cpu-stress`).
    pub action_id: Option<String>,
    /// Status.
    pub status: String,
    /// Reason.
    pub reason: Option<String>,
}

/// An experiment found by listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentSummary {
    /// Experiment id.
    pub id: String,
    /// Template id.
    pub template_id: Option<String>,
    /// Status.
    pub status: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// An experiment template found by listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSummary {
    /// Template id.
    pub id: String,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

// ---------------------------------------------------------------------------------------------
// Traits.
// ---------------------------------------------------------------------------------------------

/// Reads log events.
pub trait LogSource {
    /// Pages through FilterLogEvents for one group (times in epoch milliseconds, end exclusive).
    fn filter_events(
        &self,
        log_group: &str,
        start_ms: i64,
        end_ms: i64,
        filter_pattern: Option<&str>,
    ) -> impl Future<Output = ProviderResult<Vec<LogEvent>>> + Send;

    /// Runs one Logs Insights query to completion (times in epoch seconds, both inclusive).
    fn insights_query(
        &self,
        log_groups: &[String],
        query: &str,
        start_s: i64,
        end_s: i64,
        limit: i32,
    ) -> impl Future<Output = ProviderResult<InsightsResult>> + Send;
}

/// Reads metric series.
pub trait MetricSource {
    /// GetMetricData over `[start, end)`, all pages, every returned series sorted ascending.
    fn metric_data(
        &self,
        queries: &[MetricDataQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> impl Future<Output = ProviderResult<Vec<MetricSeries>>> + Send;
}

/// Reads and writes CloudWatch alarms.
pub trait AlarmStore {
    /// Creates or overwrites an alarm.
    fn put_alarm(&self, spec: &AlarmSpec) -> impl Future<Output = ProviderResult<()>> + Send;
    /// Describes metric alarms by name (missing ones are simply absent from the answer).
    fn describe_alarms(
        &self,
        names: &[String],
    ) -> impl Future<Output = ProviderResult<Vec<AlarmStatus>>> + Send;
}

/// Creates, starts, watches and stops FIS experiments.
pub trait FaultInjector {
    /// Creates a template from a CreateExperimentTemplate request document (the JSON we write
    /// to disk and lint), returning its id.
    fn create_template(
        &self,
        request: &serde_json::Value,
    ) -> impl Future<Output = ProviderResult<String>> + Send;
    /// Starts an experiment from a template; `preview` starts it with `actionsMode: skip-all`.
    fn start(
        &self,
        template_id: &str,
        tags: &BTreeMap<String, String>,
        preview: bool,
    ) -> impl Future<Output = ProviderResult<ExperimentView>> + Send;
    /// Gets an experiment's state.
    fn get(
        &self,
        experiment_id: &str,
    ) -> impl Future<Output = ProviderResult<ExperimentView>> + Send;
    /// Asks FIS to stop an experiment.
    fn stop(
        &self,
        experiment_id: &str,
    ) -> impl Future<Output = ProviderResult<ExperimentView>> + Send;
    /// Lists experiments, newest pages first as FIS returns them.
    fn list(&self) -> impl Future<Output = ProviderResult<Vec<ExperimentSummary>>> + Send;
    /// Makes FIS hold exactly one template with these identity tags matching `request`
    /// (create, update in place, or leave alone), returning its id and what changed.
    fn apply_template(
        &self,
        identity: &BTreeMap<String, String>,
        request: &serde_json::Value,
    ) -> impl Future<Output = ProviderResult<(String, Change)>> + Send;
    /// The targets FIS resolved for an experiment (ListExperimentResolvedTargets, all pages).
    fn resolved_targets(
        &self,
        experiment_id: &str,
    ) -> impl Future<Output = ProviderResult<Vec<ResolvedTarget>>> + Send;
}

/// A target FIS resolved for an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedTarget {
    /// Resource type (`aws:eks:pod`).
    pub resource_type: Option<String>,
    /// Target name in the template.
    pub target_name: Option<String>,
    /// What FIS tells about it (`pod_name`, `namespace`, …).
    pub information: BTreeMap<String, String>,
}

/// A managed node group as preflight sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodegroupFacts {
    /// Node group name.
    pub name: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Desired instance count of its scaling configuration.
    pub desired_size: i32,
}

/// An RDS/Aurora DB cluster as preflight sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbClusterFacts {
    /// DB cluster identifier.
    pub id: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Member instances: (identifier, is the writer).
    pub members: Vec<(String, bool)>,
}

/// An IAM role as preflight sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleFacts {
    /// Role ARN.
    pub arn: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// Read-only inventory of the AWS resources faults beyond pods act on (preflight only).
pub trait ResourceInventory {
    /// The managed node groups of an EKS cluster (`eks:ListNodegroups`, `eks:DescribeNodegroup`).
    fn nodegroups(
        &self,
        cluster: &str,
    ) -> impl std::future::Future<Output = ProviderResult<Vec<NodegroupFacts>>> + Send;
    /// The DB clusters of the account and region (`rds:DescribeDBClusters`).
    fn db_clusters(
        &self,
    ) -> impl std::future::Future<Output = ProviderResult<Vec<DbClusterFacts>>> + Send;
    /// An IAM role by ARN, `None` when it does not exist (`iam:GetRole`, `iam:ListRoleTags`).
    fn role(
        &self,
        arn: &str,
    ) -> impl std::future::Future<Output = ProviderResult<Option<RoleFacts>>> + Send;
}
