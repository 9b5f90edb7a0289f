//! The GameDay scenario file's types (`scenarios/<name>.yaml`): what is injected where, in which
//! order, and how it is stopped.
//!
//! Input/output: the serde types only. Loading, validation, the FIS template of each stage and
//! the conversions to alarms live in `plan::scenario`. Must not: import a stage.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::duration::IsoDuration;
use super::hypothesis::Direction;
use super::selection::SelectionMode;

/// A GameDay: what is injected where, in which order, and how it is stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameDayScenario {
    /// Format version ([`crate::plan::scenario::SCENARIO_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// GameDay name (lowercase letters, digits and `-`).
    pub name: String,
    /// Environment the GameDay runs in (e.g. `staging`).
    pub environment: String,
    /// Who runs it.
    pub owner: String,
    /// The day it is planned for.
    pub date: NaiveDate,
    /// AWS account id (12 digits), for alarm ARNs.
    pub account_id: String,
    /// AWS region, for alarm ARNs.
    pub region: String,
    /// FIS role, log group and service account.
    pub fis: ScenarioFis,
    /// The scenarios, run in this order.
    pub scenarios: Vec<Scenario>,
    /// CloudWatch alarms the stop conditions reference (created by `--apply` or the exports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<AlarmSpec>,
    /// Fault classes the planner considered but could not turn into a scenario, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedClass>,
}

/// A fault class the planner passed over for a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedClass {
    /// The service.
    pub service: String,
    /// The fault class.
    pub fault_class: String,
    /// Why no scenario was planned.
    pub reason: String,
}

/// FIS settings shared by every template of the GameDay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFis {
    /// IAM role FIS assumes.
    pub role_arn: String,
    /// CloudWatch Logs group ARN for experiment logs.
    pub log_group_arn: String,
    /// Kubernetes service account of the FIS pod.
    pub kubernetes_service_account: String,
    /// FIS experiment reports (PDF to S3, with the GameDay dashboard), when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ScenarioReport>,
}

/// Where FIS writes each experiment's report, and the window its graphs cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioReport {
    /// S3 bucket name.
    pub bucket: String,
    /// Key prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Graph time before the experiment.
    pub pre_experiment: IsoDuration,
    /// Graph time after the experiment.
    pub post_experiment: IsoDuration,
}

/// One fault class exercised on one service, in stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Scenario name (lowercase letters, digits and `-`), unique in the GameDay.
    pub name: String,
    /// Service under test.
    pub service: String,
    /// Fault class from the incident catalogue.
    pub fault_class: String,
    /// Why this scenario: the incident evidence.
    pub why: Evidence,
    /// Which pods: the fault target of `aws:eks:pod-*` actions; for other faults, the service's
    /// pods the hypothesis watches and preflight checks.
    pub target: PodTarget,
    /// AWS resources the other actions act on (node groups, instances, database clusters and
    /// instances, subnets, IAM roles), at most one per resource type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceTarget>,
    /// FIS actions, in template order.
    pub actions: Vec<ScenarioAction>,
    /// Stages, smallest blast radius first.
    pub stages: Vec<Stage>,
    /// The steady state that must hold.
    pub hypothesis: Vec<HypothesisMetric>,
    /// Names of the CloudWatch alarms that stop every stage (1 to 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_alarms: Vec<String>,
    /// Run without stop conditions; only when a human says so, with a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_conditions_override: Option<StopConditionsOverride>,
    /// What the service should do under the fault.
    pub expected_behaviour: String,
    /// What must be true for the scenario to pass.
    pub success_criteria: Vec<String>,
    /// How the fault is stopped and undone.
    pub rollback: String,
}

/// The incident evidence behind a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Rank in the incident catalogue (1 = first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// Whether a past GameDay already exercised the class.
    #[serde(default)]
    pub verified: bool,
    /// Incidents of the class.
    #[serde(default)]
    pub incident_count: u64,
    /// End of the latest incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
    /// Services with incidents of the class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Most frequent evidence lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_templates: Vec<String>,
    /// How close the FIS action is to the real fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
    /// The class's mined priority (`frequency × impact`), the weight of the class in the
    /// resilience score (`gameday history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    /// The class's last GameDay verdict on this service, from the run history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verdict: Option<String>,
    /// Why the planner chose this scenario, from the run history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_because: Option<String>,
}

/// `aws:eks:pod` target of a scenario, selected by one label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodTarget {
    /// EKS cluster name or ARN.
    pub cluster: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// One label, `key=value` (no commas: FIS forbids them).
    pub selector: String,
    /// Container the fault is injected into (default: the pod's first container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_container_name: Option<String>,
}

/// An AWS resource target of a scenario (any FIS resource type but `aws:eks:pod`), identified
/// as FIS identifies it: ARNs, or tags (the opt-in tag among them) and filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceTarget {
    /// FIS resource type, e.g. `aws:eks:nodegroup` or `aws:rds:cluster`.
    pub resource_type: String,
    /// Explicit ARNs (at most 5; not together with tags or filters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arns: Vec<String>,
    /// Tags every selected resource carries (FIS ANDs them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Filters on the Describe* output (PascalCase paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<TargetFilter>,
    /// Resource-type parameters (e.g. `availabilityZoneIdentifier` of subnets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

/// One FIS action of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioAction {
    /// Action name in the template (letters, digits, `-` and `_`).
    pub name: String,
    /// FIS action ID, e.g. `aws:eks:pod-delete`.
    pub action_id: String,
    /// Parameters as FIS takes them (strings).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Actions (by name) that must complete first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_after: Vec<String>,
}

/// One stage: the same faults on a larger share of the pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Stage name (lowercase letters, digits and `-`), unique in the scenario.
    pub name: String,
    /// FIS selection mode: `COUNT(n)` or `PERCENT(n)` (or `ALL`).
    pub selection: SelectionMode,
    /// How long to watch the hypothesis after the fault, before the next stage.
    pub observe: IsoDuration,
    /// The scenario's actions (by name) this stage runs; empty = all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// This stage's parameter values, by action name, over the action's own (e.g. a larger
    /// `instanceTerminationPercentage` or API-fault `percentage`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, BTreeMap<String, String>>,
}

/// One metric of the hypothesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypothesisMetric {
    /// Metric name (as in the config).
    pub metric: String,
    /// Which way is bad.
    pub direction: Direction,
    /// Abort when above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_upper: Option<f64>,
    /// Abort when below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_lower: Option<f64>,
    /// Alarms guarding it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    /// The learned per-point judge (a `steady-state derive` hypothesis): the run guard judges
    /// every datapoint with it, exactly as `steady-state check` does (seasonal band,
    /// persistence, sustained rule, re-baselining). Absent: the guard judges each datapoint
    /// against `abort_lower`/`abort_upper` alone, as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<super::hypothesis::MetricHypothesis>,
}

/// An explicit, human decision to run without stop conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopConditionsOverride {
    /// Why it is safe to run without a stop condition.
    pub reason: String,
}

/// A CloudWatch alarm (`PutMetricAlarm` inputs) for a stop condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmSpec {
    /// Alarm name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The metric, for a single-metric alarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<AlarmMetric>,
    /// Metric math, for an expression alarm (exactly one of `metric` and `expression`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<AlarmExpression>,
    /// Seconds per datapoint (10, 20, 30 or a multiple of 60).
    pub period_secs: i64,
    /// M of "N out of M".
    pub evaluation_periods: usize,
    /// N of "N out of M".
    pub datapoints_to_alarm: usize,
    /// Static threshold.
    pub threshold: f64,
    /// `GreaterThanThreshold` or `LessThanThreshold`.
    pub comparison_operator: String,
    /// `breaching`, `notBreaching`, `ignore` or `missing`.
    pub treat_missing_data: String,
}

/// A CloudWatch metric and statistic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmMetric {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric_name: String,
    /// Dimensions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// `Average`, `Sum`, `Minimum`, `Maximum`, `SampleCount` or a percentile such as `p99`.
    pub statistic: String,
}

/// A metric-math alarm: an expression over named metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmExpression {
    /// The expression, e.g. `100 * errors / requests`.
    pub expression: String,
    /// Its inputs by id.
    pub inputs: BTreeMap<String, AlarmMetric>,
}

/// A filter on a PascalCase path of the Describe* output; `values` are OR-ed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetFilter {
    /// Path, e.g. `State.Name`.
    pub path: String,
    /// Accepted values.
    pub values: Vec<String>,
}
