//! Typed FIS experiment templates, as `CreateExperimentTemplate` takes them.
//!
//! Input: values built by the plan stage. Output: JSON in the request shape of
//! `aws fis create-experiment-template --cli-input-json` (camelCase, §2 of the reference), with
//! maps sorted so output is deterministic. These types are for generation; lint parses text to
//! `serde_json::Value` instead so a hand-written template with mistakes gives findings, not a
//! parse failure. It must not validate: [`super::lint`] does that over the JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::PlanError;
use super::selection::SelectionMode;

/// The `source` of a CloudWatch alarm stop condition.
pub const ALARM_SOURCE: &str = "aws:cloudwatch:alarm";

/// A `CreateExperimentTemplate` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentTemplate {
    /// Idempotency token; the AWS CLI and SDKs fill one in when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// What the experiment does (≤ 512 characters).
    pub description: String,
    /// The IAM role FIS assumes.
    pub role_arn: String,
    /// Alarms that stop the experiment.
    pub stop_conditions: Vec<StopCondition>,
    /// Targets by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, Target>,
    /// Actions by name.
    pub actions: BTreeMap<String, Action>,
    /// Tags on the template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Where FIS writes experiment logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    /// Account targeting and empty-target behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_options: Option<ExperimentOptions>,
    /// PDF experiment report settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_report_configuration: Option<ExperimentReportConfiguration>,
}

impl ExperimentTemplate {
    /// The template as a JSON value (for lint and the blast-radius check).
    ///
    /// # Errors
    ///
    /// [`PlanError::TemplateSerialize`] if serde_json fails (it does not for these types, whose
    /// map keys are strings; the error is kept rather than hidden behind an `expect`).
    pub fn to_value(&self, name: &str) -> Result<serde_json::Value, PlanError> {
        serde_json::to_value(self).map_err(|source| PlanError::TemplateSerialize {
            name: name.to_owned(),
            source,
        })
    }

    /// The template as pretty JSON, ending with a newline.
    ///
    /// # Errors
    ///
    /// [`PlanError::TemplateSerialize`] as for [`Self::to_value`].
    pub fn to_json_pretty(&self, name: &str) -> Result<String, PlanError> {
        let mut text =
            serde_json::to_string_pretty(self).map_err(|source| PlanError::TemplateSerialize {
                name: name.to_owned(),
                source,
            })?;
        text.push('\n');
        Ok(text)
    }
}

/// A stop condition: a CloudWatch alarm, or `none`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopCondition {
    /// `aws:cloudwatch:alarm` or `none`.
    pub source: String,
    /// The alarm ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl StopCondition {
    /// A stop condition on a CloudWatch alarm.
    pub fn alarm(alarm_arn: impl Into<String>) -> Self {
        Self {
            source: ALARM_SOURCE.to_owned(),
            value: Some(alarm_arn.into()),
        }
    }
}

/// A target: which resources an action acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Resource type, e.g. `aws:eks:pod`.
    pub resource_type: String,
    /// Explicit ARNs (≤ 5; not for `aws:eks:pod`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_arns: Vec<String>,
    /// Tags the resources must all carry (not for `aws:eks:pod`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_tags: BTreeMap<String, String>,
    /// Filters on the Describe* output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<TargetFilter>,
    /// `ALL`, `COUNT(n)` or `PERCENT(n)`.
    pub selection_mode: SelectionMode,
    /// Resource-type parameters (values match `^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

impl Target {
    /// An `aws:eks:pod` target selected by a single label (`key=value`).
    pub fn eks_pods_by_label(
        cluster: &str,
        namespace: &str,
        label_selector: &str,
        selection_mode: SelectionMode,
    ) -> Self {
        Self {
            resource_type: "aws:eks:pod".to_owned(),
            resource_arns: Vec::new(),
            resource_tags: BTreeMap::new(),
            filters: Vec::new(),
            selection_mode,
            parameters: BTreeMap::from([
                ("clusterIdentifier".to_owned(), cluster.to_owned()),
                ("namespace".to_owned(), namespace.to_owned()),
                ("selectorType".to_owned(), "labelSelector".to_owned()),
                ("selectorValue".to_owned(), label_selector.to_owned()),
            ]),
        }
    }
}

/// A filter on a PascalCase path of the Describe* output (a shared noun: scenarios carry it).
pub use crate::model::scenario::TargetFilter;

/// An action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// The action ID, e.g. `aws:eks:pod-network-latency`.
    pub action_id: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Parameters; values are always strings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Target key (e.g. `Pods`) to target name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<String, String>,
    /// Actions that must complete before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_after: Vec<String>,
}

/// Experiment log destinations (give at least one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    /// Log schema version; currently 2.
    pub log_schema_version: u32,
    /// CloudWatch Logs destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_configuration: Option<CloudWatchLogsConfiguration>,
    /// S3 destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_configuration: Option<S3LogConfiguration>,
}

/// A CloudWatch Logs destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchLogsConfiguration {
    /// Log group ARN (ending in `:*`).
    pub log_group_arn: String,
}

/// An S3 log destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3LogConfiguration {
    /// Bucket name (3–63 characters).
    pub bucket_name: String,
    /// Key prefix (1–700 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// Experiment options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentOptions {
    /// Single- or multi-account targeting (cannot change after creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_targeting: Option<AccountTargeting>,
    /// What an empty target does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_target_resolution_mode: Option<EmptyTargetResolutionMode>,
}

/// `experimentOptions.accountTargeting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountTargeting {
    /// Targets in the template's account.
    SingleAccount,
    /// Targets in target account configurations.
    MultiAccount,
}

/// `experimentOptions.emptyTargetResolutionMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyTargetResolutionMode {
    /// An empty target fails the experiment (the FIS default).
    Fail,
    /// Actions on an empty target are skipped.
    Skip,
}

/// PDF experiment report settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentReportConfiguration {
    /// Where the report goes.
    pub outputs: ReportOutputs,
    /// Dashboards to snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sources: Option<ReportDataSources>,
    /// How long before the experiment the graphs start (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_experiment_duration: Option<String>,
    /// How long after the experiment the graphs end (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_experiment_duration: Option<String>,
}

/// Report outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportOutputs {
    /// S3 destination.
    pub s3_configuration: ReportS3Configuration,
}

/// Report S3 destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportS3Configuration {
    /// Bucket name.
    pub bucket_name: String,
    /// Key prefix (≤ 256 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// Report data sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDataSources {
    /// CloudWatch dashboards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cloud_watch_dashboards: Vec<ReportDashboard>,
}

/// One dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDashboard {
    /// Dashboard ARN.
    pub dashboard_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE_EXAMPLE: &str = r#"{"clientToken":"<uuid>","description":"300 ms latency on half of the checkout pods",
 "roleArn":"arn:aws:iam::111122223333:role/fis-eks",
 "stopConditions":[{"source":"aws:cloudwatch:alarm","value":"arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-5xx"}],
 "targets":{"checkoutPods":{"resourceType":"aws:eks:pod","selectionMode":"PERCENT(50)",
   "parameters":{"clusterIdentifier":"prod-eks","namespace":"shop","selectorType":"labelSelector","selectorValue":"app=checkout"}}},
 "actions":{"latency":{"actionId":"aws:eks:pod-network-latency","targets":{"Pods":"checkoutPods"},
   "parameters":{"duration":"PT5M","delayMilliseconds":"300","jitterMilliseconds":"50","kubernetesServiceAccount":"fis-sa"}},
  "cool":{"actionId":"aws:fis:wait","startAfter":["latency"],"parameters":{"duration":"PT2M"}}},
 "logConfiguration":{"logSchemaVersion":2,"cloudWatchLogsConfiguration":{"logGroupArn":"arn:aws:logs:eu-west-1:111122223333:log-group:/fis/experiments:*"}}}"#;

    #[test]
    fn reads_and_writes_the_reference_example() {
        let t: ExperimentTemplate = serde_json::from_str(REFERENCE_EXAMPLE).expect("parses");
        assert_eq!(
            t.targets["checkoutPods"].selection_mode,
            SelectionMode::Percent(50)
        );
        assert_eq!(t.actions["cool"].start_after, vec!["latency".to_owned()]);
        let again = t.to_value("ref").expect("serialises");
        let original: serde_json::Value = serde_json::from_str(REFERENCE_EXAMPLE).expect("json");
        assert_eq!(again, original);
    }

    #[test]
    fn the_reference_example_lints_clean_but_breaks_the_default_policy() {
        use crate::plan::blast_radius::{Policy, PolicyContext};
        use crate::plan::finding::Rule;
        use crate::plan::lint::{LintOptions, lint_template_json};
        let plain = lint_template_json("ref.json", REFERENCE_EXAMPLE, &LintOptions::default());
        assert_eq!(plain, vec![]);
        let policy = Policy::default();
        let opts = LintOptions {
            allow_no_stop_conditions: false,
            policy: Some(PolicyContext {
                policy: &policy,
                stage: "ref",
                environment: "staging",
                cli_allow_production: false,
            }),
        };
        let rules: Vec<Rule> = lint_template_json("ref.json", REFERENCE_EXAMPLE, &opts)
            .iter()
            .map(|f| f.rule_id)
            .collect();
        // PERCENT(50) is over the default 25 % cap; `prod-eks` is production; `app=checkout`
        // does not select the opt-in label.
        assert_eq!(
            rules,
            vec![
                Rule::PolicyPercent,
                Rule::PolicyProduction,
                Rule::PolicyOptInLabel
            ]
        );
    }

    #[test]
    fn rejects_a_bad_selection_mode_when_typed() {
        let text = REFERENCE_EXAMPLE.replace("PERCENT(50)", "PERCENT(150)");
        assert!(serde_json::from_str::<ExperimentTemplate>(&text).is_err());
    }

    #[test]
    fn omits_empty_optional_fields() {
        let t = ExperimentTemplate {
            client_token: None,
            description: "d".into(),
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
            stop_conditions: vec![StopCondition::alarm(
                "arn:aws:cloudwatch:eu-west-1:1:alarm:a",
            )],
            targets: BTreeMap::new(),
            actions: BTreeMap::new(),
            tags: BTreeMap::new(),
            log_configuration: None,
            experiment_options: Some(ExperimentOptions {
                account_targeting: None,
                empty_target_resolution_mode: Some(EmptyTargetResolutionMode::Skip),
            }),
            experiment_report_configuration: None,
        };
        let json = t.to_json_pretty("t").expect("serialises");
        assert!(
            !json.contains("clientToken") && !json.contains("targets"),
            "{json}"
        );
        assert!(
            json.contains("\"emptyTargetResolutionMode\": \"skip\""),
            "{json}"
        );
    }
}
