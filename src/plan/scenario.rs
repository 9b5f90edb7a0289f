//! The GameDay scenario file (`scenarios/<name>.yaml`): schema, loading and validation, and the
//! FIS template of each stage.
//!
//! Input: scenario YAML, written by [`super::generate::plan`] or by hand. Output: a validated
//! [`GameDayScenario`], and per stage an [`ExperimentTemplate`] built by [`stage_template`], so
//! `run` rebuilds its templates from the (possibly hand-edited) file rather than trusting stale
//! JSON. Errors point at `file:line:column`. It must not call AWS, and it must not check the
//! blast-radius policy while loading (the policy lives in the config; [`check_scenario_policy`]
//! applies it).
//!
//! Target convention: every scenario targets `aws:eks:pod` by ONE label (`target.selector`,
//! `key=value`). FIS forbids commas in target parameter values, so the selector cannot combine a
//! service label with the opt-in label; with the key-only opt-in label `chaos-experiment`, pods of
//! service `checkout` opt in with `chaos-experiment=checkout` and that is the selector.
//!
//! Each stage's template holds the scenario's fault actions on the stage's selection mode, then an
//! `aws:fis:wait` action named [`OBSERVE_ACTION`] for the stage's observation window, so FIS keeps
//! watching the stop alarms while the service recovers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::blast_radius::{PolicyContext, PolicyViolation, check_policy};
use super::catalogue::catalogue;
use super::duration::IsoDuration;
use super::error::{PlanError, StageViolation};
use super::finding::Severity;
use super::lint::{LintOptions, lint_template_json};
use super::selection::{SelectionMode, target_parameter_value_problem};
use super::template::{
    Action, CloudWatchLogsConfiguration, EmptyTargetResolutionMode, ExperimentOptions,
    ExperimentTemplate, LogConfiguration, StopCondition, Target,
};
use crate::config::locate_key;
use crate::steady_state::AlarmInputs;

/// Version of the scenario file format; bump on any incompatible change.
pub const SCENARIO_SCHEMA_VERSION: u32 = 1;

/// Name of the template's target (all stages select pods through it).
pub const TARGET_NAME: &str = "pods";

/// Name of the `aws:fis:wait` action that holds the observation window.
pub const OBSERVE_ACTION: &str = "observe";

/// Shortest and longest `aws:fis:wait` FIS accepts (1 minute to 12 hours).
const MIN_OBSERVE: IsoDuration = IsoDuration::from_mins(1);
const MAX_OBSERVE: IsoDuration = IsoDuration::from_hours(12);

/// Longest scenario/stage name: it is a tag value and part of file names, keep it short.
const MAX_NAME_LEN: usize = 64;

pub use crate::model::scenario::{
    AlarmExpression, AlarmMetric, AlarmSpec, Evidence, GameDayScenario, HypothesisMetric,
    PodTarget, ResourceTarget, Scenario, ScenarioAction, ScenarioFis, ScenarioReport, SkippedClass,
    Stage, StopConditionsOverride,
};

impl ResourceTarget {
    /// The target's name in the stage templates.
    pub fn target_name(&self) -> String {
        resource_target_name(&self.resource_type)
    }
}

/// The template target name of a resource type: `aws:eks:nodegroup` → `nodegroups`,
/// `aws:rds:db` → `db-instances`, ...; other types get their last part.
pub fn resource_target_name(resource_type: &str) -> String {
    match resource_type {
        "aws:eks:pod" => TARGET_NAME.to_owned(),
        "aws:eks:nodegroup" => "nodegroups".to_owned(),
        "aws:ec2:instance" => "instances".to_owned(),
        "aws:rds:cluster" => "db-clusters".to_owned(),
        "aws:rds:db" => "db-instances".to_owned(),
        "aws:ec2:subnet" => "subnets".to_owned(),
        "aws:iam:role" => "roles".to_owned(),
        other => other.rsplit(':').next().unwrap_or(other).to_owned(),
    }
}

impl Stage {
    /// A stage running every action of its scenario with the actions' own parameters.
    pub fn new(name: impl Into<String>, selection: SelectionMode, observe: IsoDuration) -> Self {
        Self {
            name: name.into(),
            selection,
            observe,
            actions: Vec::new(),
            parameters: BTreeMap::new(),
        }
    }

    /// Whether this stage runs the action called `name`.
    pub fn runs(&self, name: &str) -> bool {
        self.actions.is_empty() || self.actions.iter().any(|a| a == name)
    }
}

impl AlarmSpec {
    /// The alarm as the provider layer writes it, tagged as managed by this GameDay;
    /// `None` when it names neither a metric nor an expression (validation rejects that).
    pub fn to_provider(&self, gameday: &str) -> Option<crate::provider::AlarmSpec> {
        use crate::provider::{AlarmMetric as Watched, Comparison, MetricStatQuery};
        let period_secs = u32::try_from(self.period_secs).ok()?;
        let stat = |m: &AlarmMetric| MetricStatQuery {
            namespace: m.namespace.clone(),
            name: m.metric_name.clone(),
            dimensions: m.dimensions.clone(),
            stat: m.statistic.clone(),
            period: std::time::Duration::from_secs(u64::from(period_secs)),
        };
        let metric = match (&self.metric, &self.expression) {
            (Some(m), _) => Watched::Single {
                namespace: m.namespace.clone(),
                metric_name: m.metric_name.clone(),
                dimensions: m.dimensions.clone(),
                statistic: m.statistic.clone(),
            },
            (None, Some(e)) => Watched::Math {
                expression: e.expression.clone(),
                inputs: e
                    .inputs
                    .iter()
                    .map(|(id, m)| (id.clone(), stat(m)))
                    .collect(),
            },
            (None, None) => return None,
        };
        Some(crate::provider::AlarmSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            metric,
            period_secs,
            evaluation_periods: u32::try_from(self.evaluation_periods).ok()?,
            datapoints_to_alarm: u32::try_from(self.datapoints_to_alarm).ok()?,
            threshold: self.threshold,
            comparison: match self.comparison_operator.as_str() {
                "GreaterThanOrEqualToThreshold" => Comparison::GreaterThanOrEqualToThreshold,
                "LessThanThreshold" => Comparison::LessThanThreshold,
                "LessThanOrEqualToThreshold" => Comparison::LessThanOrEqualToThreshold,
                _ => Comparison::GreaterThanThreshold,
            },
            treat_missing_data: self.treat_missing_data.clone(),
            tags: BTreeMap::from([
                ("gameday:managed".to_owned(), "true".to_owned()),
                ("gameday".to_owned(), gameday.to_owned()),
            ]),
        })
    }

    /// The `PutMetricAlarm` inputs of a single-metric alarm; `None` for a metric-math alarm,
    /// which needs the `Metrics` form of the request (see the exports).
    pub fn to_alarm_inputs(&self) -> Option<AlarmInputs> {
        let m = self.metric.as_ref()?;
        Some(AlarmInputs {
            alarm_name: self.name.clone(),
            alarm_description: self.description.clone(),
            namespace: m.namespace.clone(),
            metric_name: m.metric_name.clone(),
            dimensions: m
                .dimensions
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            statistic: m.statistic.clone(),
            period: self.period_secs,
            evaluation_periods: self.evaluation_periods,
            datapoints_to_alarm: self.datapoints_to_alarm,
            threshold: self.threshold,
            comparison_operator: self.comparison_operator.clone(),
            treat_missing_data: self.treat_missing_data.clone(),
        })
    }
}

impl AlarmMetric {
    /// Whether the statistic is an extended one (`p99`, `tm90`, ...), which CloudWatch takes as
    /// `ExtendedStatistic` rather than `Statistic`.
    pub fn is_extended_statistic(&self) -> bool {
        !matches!(
            self.statistic.as_str(),
            "Average" | "Sum" | "Minimum" | "Maximum" | "SampleCount"
        )
    }
}

impl GameDayScenario {
    /// The ARN of an alarm of this GameDay's account and region.
    pub fn alarm_arn(&self, alarm_name: &str) -> String {
        format!(
            "arn:aws:cloudwatch:{}:{}:alarm:{alarm_name}",
            self.region, self.account_id
        )
    }

    /// The scenario file's name: `<name>.yaml`.
    pub fn file_name(&self) -> String {
        format!("{}.yaml", self.name)
    }

    /// The scenario as YAML.
    ///
    /// # Errors
    ///
    /// [`PlanError::ScenarioParse`] if yaml_serde cannot serialise it (it does not for these
    /// types; the error is kept rather than hidden behind an `expect`).
    pub fn to_yaml(&self) -> Result<String, PlanError> {
        yaml_serde::to_string(self).map_err(|e| PlanError::ScenarioParse {
            path: PathBuf::from(self.file_name()),
            line: 1,
            column: 1,
            message: format!("failed to serialise the scenario: {e}"),
        })
    }
}

/// The file name of a stage's template: `<scenario>.<stage>.json`.
pub fn template_file_name(scenario: &Scenario, stage: &Stage) -> String {
    format!("{}.{}.json", scenario.name, stage.name)
}

/// Parses and validates a scenario file; `path` is used in messages only. Every stage's template
/// is built and linted, so a file that loads can be run.
///
/// # Errors
///
/// [`PlanError::ScenarioParse`] for YAML or schema errors, [`PlanError::ScenarioInvalid`] for
/// values that parse but are not acceptable; both carry `file:line:column`.
pub fn load_scenario(path: &Path, text: &str) -> Result<GameDayScenario, PlanError> {
    let scenario: GameDayScenario =
        yaml_serde::from_str(text).map_err(|e| parse_error(path, text, &e))?;
    Validator { path, text }.validate(&scenario)?;
    Ok(scenario)
}

/// How far below the reported location a rejected value is looked for.
const VALUE_SEARCH_LINES: usize = 40;

fn parse_error(path: &Path, text: &str, err: &yaml_serde::Error) -> PlanError {
    let (mut line, mut column) = err.location().map_or((1, 1), |l| (l.line(), l.column()));
    let mut message = err.to_string();
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    // A value rejected by its type's parser (`PERCENT(150)`, `5m`) is reported at the mapping
    // that holds it; point at the value itself when the message quotes it.
    let quoted = message
        .split_once('"')
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value)
        .filter(|v| !v.is_empty());
    if let Some(value) = quoted
        && let Some((n, col)) = text
            .lines()
            .enumerate()
            .skip(line.saturating_sub(1))
            .take(VALUE_SEARCH_LINES)
            .find_map(|(n, l)| l.find(value).map(|byte| (n, l[..byte].chars().count())))
    {
        line = n + 1;
        column = col + 1;
    }
    PlanError::ScenarioParse {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// Validates a scenario built in memory (by the generator) as [`load_scenario`] validates a file.
///
/// # Errors
///
/// [`PlanError::ScenarioInvalid`] naming the key (line 1, column 1: there is no file yet).
pub fn validate_scenario(scenario: &GameDayScenario) -> Result<(), PlanError> {
    let path = PathBuf::from(scenario.file_name());
    Validator {
        path: &path,
        text: "",
    }
    .validate(scenario)
}

/// Builds the FIS `CreateExperimentTemplate` request of one stage.
///
/// # Errors
///
/// [`PlanError::NoSuchStage`] if either index is out of range.
pub fn stage_template(
    gameday: &GameDayScenario,
    scenario_idx: usize,
    stage_idx: usize,
) -> Result<ExperimentTemplate, PlanError> {
    let missing = || PlanError::NoSuchStage {
        scenario: scenario_idx,
        stage: stage_idx,
    };
    let scenario = gameday.scenarios.get(scenario_idx).ok_or_else(missing)?;
    let stage = scenario.stages.get(stage_idx).ok_or_else(missing)?;
    let cat = catalogue();

    let mut pods = Target::eks_pods_by_label(
        &scenario.target.cluster,
        &scenario.target.namespace,
        &scenario.target.selector,
        stage.selection,
    );
    if let Some(container) = &scenario.target.target_container_name {
        pods.parameters
            .insert("targetContainerName".to_owned(), container.clone());
    }

    let mut targets: BTreeMap<String, Target> = BTreeMap::new();
    let mut actions = BTreeMap::new();
    let running: Vec<&ScenarioAction> = scenario
        .actions
        .iter()
        .filter(|a| stage.runs(&a.name))
        .collect();
    for a in &running {
        // Each target key of the action points at the scenario's target of that type: the pods,
        // or the resource of the same type.
        let mut action_targets = BTreeMap::new();
        for (key, ty) in cat
            .action(&a.action_id)
            .map(|s| &s.targets)
            .into_iter()
            .flatten()
        {
            if ty == "aws:eks:pod" {
                targets.insert(TARGET_NAME.to_owned(), pods.clone());
                action_targets.insert(key.clone(), TARGET_NAME.to_owned());
            } else if let Some(r) = scenario.resources.iter().find(|r| &r.resource_type == ty) {
                let name = r.target_name();
                targets.insert(
                    name.clone(),
                    Target {
                        resource_type: r.resource_type.clone(),
                        resource_arns: r.arns.clone(),
                        resource_tags: r.tags.clone(),
                        filters: r.filters.clone(),
                        selection_mode: stage.selection,
                        parameters: r.parameters.clone(),
                    },
                );
                action_targets.insert(key.clone(), name);
            }
        }
        let mut parameters = a.parameters.clone();
        if let Some(over) = stage.parameters.get(&a.name) {
            parameters.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        actions.insert(
            a.name.clone(),
            Action {
                action_id: a.action_id.clone(),
                description: None,
                parameters,
                targets: action_targets,
                start_after: a
                    .start_after
                    .iter()
                    .filter(|n| stage.runs(n))
                    .cloned()
                    .collect(),
            },
        );
    }
    // The observation window starts when every fault action of the stage has completed.
    actions.insert(
        OBSERVE_ACTION.to_owned(),
        Action {
            action_id: "aws:fis:wait".to_owned(),
            description: Some("observation window: the stop alarms stay armed".to_owned()),
            parameters: BTreeMap::from([("duration".to_owned(), stage.observe.to_string())]),
            targets: BTreeMap::new(),
            start_after: running.iter().map(|a| a.name.clone()).collect(),
        },
    );

    let stop_conditions = if scenario.stop_conditions_override.is_some() {
        vec![StopCondition {
            source: "none".to_owned(),
            value: None,
        }]
    } else {
        scenario
            .stop_alarms
            .iter()
            .map(|name| StopCondition::alarm(gameday.alarm_arn(name)))
            .collect()
    };

    let on = if targets.contains_key(TARGET_NAME) || targets.is_empty() {
        format!(
            "{} pods ({}) in {}/{}",
            scenario.service,
            scenario.target.selector,
            scenario.target.cluster,
            scenario.target.namespace
        )
    } else {
        let types: Vec<&str> = targets.values().map(|t| t.resource_type.as_str()).collect();
        format!("{} ({})", scenario.service, types.join(", "))
    };
    let description: String = format!(
        "gameday {} scenario {}: {} on {on}, stage {} ({})",
        gameday.name, scenario.name, scenario.fault_class, stage.name, stage.selection
    )
    .chars()
    .take(512)
    .collect();

    Ok(ExperimentTemplate {
        client_token: None,
        description,
        role_arn: gameday.fis.role_arn.clone(),
        stop_conditions,
        targets,
        actions,
        tags: BTreeMap::from([
            ("gameday".to_owned(), gameday.name.clone()),
            ("gameday-scenario".to_owned(), scenario.name.clone()),
            ("gameday-stage".to_owned(), stage.name.clone()),
            ("environment".to_owned(), gameday.environment.clone()),
        ]),
        log_configuration: Some(LogConfiguration {
            log_schema_version: 2,
            cloud_watch_logs_configuration: Some(CloudWatchLogsConfiguration {
                log_group_arn: gameday.fis.log_group_arn.clone(),
            }),
            s3_configuration: None,
        }),
        experiment_options: Some(ExperimentOptions {
            account_targeting: None,
            empty_target_resolution_mode: Some(EmptyTargetResolutionMode::Fail),
        }),
        experiment_report_configuration: gameday
            .fis
            .report
            .as_ref()
            .map(|r| report_configuration(gameday, r)),
    })
}

/// The GameDay dashboard's name: `gameday-<gameday name>`.
pub fn dashboard_name(g: &GameDayScenario) -> String {
    format!("gameday-{}", g.name)
}

/// The dashboard's ARN (dashboards are global: no region).
pub fn dashboard_arn(g: &GameDayScenario) -> String {
    format!(
        "arn:aws:cloudwatch::{}:dashboard/{}",
        g.account_id,
        dashboard_name(g)
    )
}

/// The console link of the dashboard.
pub fn dashboard_url(g: &GameDayScenario) -> String {
    format!(
        "https://{r}.console.aws.amazon.com/cloudwatch/home?region={r}#dashboards/dashboard/{}",
        dashboard_name(g),
        r = g.region
    )
}

/// The S3 location (`s3://bucket/prefix`) FIS writes the reports to, when configured.
pub fn report_location(g: &GameDayScenario) -> Option<String> {
    g.fis.report.as_ref().map(|r| {
        format!(
            "s3://{}/{}",
            r.bucket,
            r.prefix.as_deref().unwrap_or_default()
        )
    })
}

/// The `experimentReportConfiguration` every stage template carries.
pub fn report_configuration(
    g: &GameDayScenario,
    r: &ScenarioReport,
) -> super::template::ExperimentReportConfiguration {
    super::template::ExperimentReportConfiguration {
        outputs: super::template::ReportOutputs {
            s3_configuration: super::template::ReportS3Configuration {
                bucket_name: r.bucket.clone(),
                prefix: r.prefix.clone(),
            },
        },
        data_sources: Some(super::template::ReportDataSources {
            cloud_watch_dashboards: vec![super::template::ReportDashboard {
                dashboard_identifier: dashboard_arn(g),
            }],
        }),
        pre_experiment_duration: Some(r.pre_experiment.to_string()),
        post_experiment_duration: Some(r.post_experiment.to_string()),
    }
}

/// The tags a stage's template is found again by in FIS (run and experiment tags come later).
pub const TEMPLATE_IDENTITY_TAGS: [&str; 3] = ["gameday", "gameday-scenario", "gameday-stage"];

/// One stage's CreateExperimentTemplate request, with the tags FIS finds its template by.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRequest {
    /// Index of the scenario in the GameDay.
    pub scenario: usize,
    /// Index of the stage in the scenario.
    pub stage: usize,
    /// The template's file name (`<scenario>.<stage>.json`).
    pub file_name: String,
    /// The identity tags ([`TEMPLATE_IDENTITY_TAGS`]) and their values.
    pub identity: BTreeMap<String, String>,
    /// The request document.
    pub request: serde_json::Value,
}

/// Every stage's template request, in run order.
///
/// # Errors
///
/// As [`stage_template`] (not for a validated scenario).
pub fn stage_requests(gameday: &GameDayScenario) -> Result<Vec<StageRequest>, PlanError> {
    let mut out = Vec::new();
    for (i, scenario) in gameday.scenarios.iter().enumerate() {
        for (j, stage) in scenario.stages.iter().enumerate() {
            let template = stage_template(gameday, i, j)?;
            let file_name = template_file_name(scenario, stage);
            let request = template.to_value(&file_name)?;
            let identity = template
                .tags
                .into_iter()
                .filter(|(k, _)| TEMPLATE_IDENTITY_TAGS.contains(&k.as_str()))
                .collect();
            out.push(StageRequest {
                scenario: i,
                stage: j,
                file_name,
                identity,
                request,
            });
        }
    }
    Ok(out)
}

/// Every stage template of the GameDay, in run order, with its file name.
///
/// # Errors
///
/// As [`stage_template`] (not for a validated scenario).
pub fn stage_templates(
    gameday: &GameDayScenario,
) -> Result<Vec<(String, ExperimentTemplate)>, PlanError> {
    let mut out = Vec::new();
    for (i, scenario) in gameday.scenarios.iter().enumerate() {
        for (j, stage) in scenario.stages.iter().enumerate() {
            out.push((
                template_file_name(scenario, stage),
                stage_template(gameday, i, j)?,
            ));
        }
    }
    Ok(out)
}

/// Checks every stage of the GameDay against the blast-radius policy, before any API call.
/// Returns the warnings (what cannot be checked statically) when there is no error.
///
/// # Errors
///
/// [`PlanError::PolicyViolation`] naming scenario, stage, field, value and limit of the first
/// error, with the count of further ones.
pub fn check_scenario_policy(
    gameday: &GameDayScenario,
    policy: &super::Policy,
    cli_allow_production: bool,
) -> Result<Vec<PolicyViolation>, PlanError> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (i, scenario) in gameday.scenarios.iter().enumerate() {
        for (j, stage) in scenario.stages.iter().enumerate() {
            let template = stage_template(gameday, i, j)?;
            let value = template.to_value(&template_file_name(scenario, stage))?;
            let label = format!("{}/{}", scenario.name, stage.name);
            let ctx = PolicyContext {
                policy,
                stage: &label,
                environment: &gameday.environment,
                cli_allow_production,
            };
            for v in check_policy(&value, catalogue(), &ctx) {
                let entry = (scenario.name.clone(), stage.name.clone(), v);
                if entry.2.severity == Severity::Error {
                    errors.push(entry);
                } else {
                    warnings.push(entry.2);
                }
            }
        }
    }
    let more = errors.len().saturating_sub(1);
    match errors.into_iter().next() {
        None => Ok(warnings),
        Some((scenario, stage, v)) => Err(PlanError::PolicyViolation(Box::new(StageViolation {
            scenario,
            stage,
            field: v.field,
            value: v.value,
            limit: v.limit,
            message: v.message,
            more,
        }))),
    }
}

/// The blast-radius policy violations (errors and warnings) of every stage, each with the
/// dotted scenario-file key it comes from (`scenarios[0].stages[1].selection`), so `lint` and
/// `run` can point at `file:line:column`.
///
/// # Errors
///
/// [`PlanError`] when a stage's template cannot be built.
pub fn scenario_policy_violations(
    gameday: &GameDayScenario,
    policy: &super::Policy,
    cli_allow_production: bool,
) -> Result<Vec<(String, PolicyViolation)>, PlanError> {
    let mut out = Vec::new();
    for (i, scenario) in gameday.scenarios.iter().enumerate() {
        for (j, stage) in scenario.stages.iter().enumerate() {
            let template = stage_template(gameday, i, j)?;
            let value = template.to_value(&template_file_name(scenario, stage))?;
            let label = format!("{}/{}", scenario.name, stage.name);
            let ctx = PolicyContext {
                policy,
                stage: &label,
                environment: &gameday.environment,
                cli_allow_production,
            };
            for v in check_policy(&value, catalogue(), &ctx) {
                let key = if v.pointer.is_empty() {
                    "environment".to_owned()
                } else {
                    template_pointer_key(scenario, i, j, &v.pointer)
                };
                out.push((key, v));
            }
        }
    }
    Ok(out)
}

/// Checks that a scenario file belongs to the configured environment, account and region (those
/// the config sets), so a file planned for staging is never run with production credentials.
///
/// # Errors
///
/// [`PlanError::ScenarioMismatch`] naming the first field that differs.
pub fn check_scenario_config(
    gameday: &GameDayScenario,
    config: &crate::config::Config,
) -> Result<(), PlanError> {
    let checks = [
        (
            "environment",
            &gameday.environment,
            Some(&config.environment),
        ),
        (
            "account_id",
            &gameday.account_id,
            config.aws.account_id.as_ref(),
        ),
        ("region", &gameday.region, config.aws.region.as_ref()),
    ];
    for (field, ours, theirs) in checks {
        if let Some(theirs) = theirs
            && theirs != ours
        {
            return Err(PlanError::ScenarioMismatch {
                field,
                scenario_value: ours.clone(),
                config_value: theirs.clone(),
            });
        }
    }
    Ok(())
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

const SLUG_RULE: &str =
    "use 1 to 64 lowercase letters, digits and `-`, starting with a letter or digit";

impl Validator<'_> {
    fn invalid(&self, key: &str, message: impl Into<String>) -> PlanError {
        let (line, column) = locate_key(self.text, key).unwrap_or((1, 1));
        PlanError::ScenarioInvalid {
            path: self.path.to_owned(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    fn non_empty(&self, key: &str, value: &str) -> Result<(), PlanError> {
        if value.trim().is_empty() {
            return Err(self.invalid(key, "must not be empty"));
        }
        Ok(())
    }

    fn validate(&self, g: &GameDayScenario) -> Result<(), PlanError> {
        if g.schema_version != SCENARIO_SCHEMA_VERSION {
            return Err(self.invalid(
                "schema_version",
                format!(
                    "unsupported version {}; this gameday reads version {SCENARIO_SCHEMA_VERSION}",
                    g.schema_version
                ),
            ));
        }
        if !is_slug(&g.name) {
            return Err(self.invalid("name", SLUG_RULE));
        }
        self.non_empty("environment", &g.environment)?;
        self.non_empty("owner", &g.owner)?;
        if g.account_id.len() != 12 || !g.account_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(self.invalid("account_id", "must be a 12-digit AWS account id"));
        }
        self.non_empty("region", &g.region)?;
        if !g.fis.role_arn.starts_with("arn:") || !g.fis.role_arn.contains(":role/") {
            return Err(self.invalid(
                "fis.role_arn",
                "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
            ));
        }
        if !g.fis.log_group_arn.starts_with("arn:") || !g.fis.log_group_arn.contains(":log-group:")
        {
            return Err(self.invalid(
                "fis.log_group_arn",
                "must be a CloudWatch Logs group ARN (arn:aws:logs:<region>:<account>:log-group:<name>:*)",
            ));
        }
        self.non_empty(
            "fis.kubernetes_service_account",
            &g.fis.kubernetes_service_account,
        )?;
        if g.scenarios.is_empty() {
            return Err(self.invalid("scenarios", "a GameDay needs at least one scenario"));
        }
        let mut names = BTreeSet::new();
        for (i, s) in g.scenarios.iter().enumerate() {
            let key = format!("scenarios[{i}]");
            if !is_slug(&s.name) {
                return Err(self.invalid(&format!("{key}.name"), SLUG_RULE));
            }
            if !names.insert(s.name.as_str()) {
                return Err(self.invalid(
                    &format!("{key}.name"),
                    format!("scenario name {} is used twice", s.name),
                ));
            }
            self.scenario(g, i, s)?;
        }
        let mut alarm_names = BTreeSet::new();
        for (i, a) in g.alarms.iter().enumerate() {
            self.alarm(i, a)?;
            if !alarm_names.insert(a.name.as_str()) {
                return Err(self.invalid(
                    &format!("alarms[{i}].name"),
                    format!("alarm {} is defined twice", a.name),
                ));
            }
        }
        Ok(())
    }

    fn scenario(&self, g: &GameDayScenario, i: usize, s: &Scenario) -> Result<(), PlanError> {
        let key = format!("scenarios[{i}]");
        self.non_empty(&format!("{key}.service"), &s.service)?;
        self.non_empty(&format!("{key}.fault_class"), &s.fault_class)?;
        for (field, value) in [
            ("cluster", &s.target.cluster),
            ("namespace", &s.target.namespace),
            ("selector", &s.target.selector),
        ] {
            let k = format!("{key}.target.{field}");
            self.non_empty(&k, value)?;
            if let Some(problem) = target_parameter_value_problem(value) {
                return Err(self.invalid(
                    &k,
                    format!("{value:?} is not a valid FIS target parameter value: {problem:?}"),
                ));
            }
        }
        if !s.target.selector.contains('=') {
            return Err(self.invalid(
                &format!("{key}.target.selector"),
                "must be one label, key=value (FIS allows no commas, so only one)",
            ));
        }
        if s.actions.is_empty() {
            return Err(self.invalid(
                &format!("{key}.actions"),
                "a scenario needs at least one action",
            ));
        }
        let mut action_names = BTreeSet::new();
        for (k, a) in s.actions.iter().enumerate() {
            let ak = format!("{key}.actions[{k}].name");
            let ok = !a.name.is_empty()
                && a.name.len() <= MAX_NAME_LEN
                && a.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(self.invalid(
                    &ak,
                    "use 1 to 64 letters, digits, `-` and `_` for an action name",
                ));
            }
            if a.name == OBSERVE_ACTION || !action_names.insert(a.name.as_str()) {
                return Err(self.invalid(
                    &ak,
                    format!(
                        "action name {} is used twice (`{OBSERVE_ACTION}` is reserved)",
                        a.name
                    ),
                ));
            }
        }
        let cat = catalogue();
        let mut types = BTreeSet::new();
        for (k, r) in s.resources.iter().enumerate() {
            let rk = format!("{key}.resources[{k}].resource_type");
            if r.resource_type == "aws:eks:pod" || cat.resource_type(&r.resource_type).is_none() {
                return Err(self.invalid(
                    &rk,
                    format!(
                        "{} is not a FIS resource type for `resources` (pods are the scenario's \
                         `target`)",
                        r.resource_type
                    ),
                ));
            }
            if !types.insert(r.resource_type.as_str()) {
                return Err(self.invalid(
                    &rk,
                    format!(
                        "{} is listed twice; a scenario has one target per resource type",
                        r.resource_type
                    ),
                ));
            }
        }
        for a in &s.actions {
            let Some(spec) = cat.action(&a.action_id) else {
                continue; // lint names unknown action IDs below
            };
            if let Some(ty) = spec
                .targets
                .values()
                .find(|ty| ty.as_str() != "aws:eks:pod" && !types.contains(ty.as_str()))
            {
                return Err(self.invalid(
                    &format!("{key}.resources"),
                    format!(
                        "action {} ({}) acts on {ty}: add a resource of that type",
                        a.name, a.action_id
                    ),
                ));
            }
        }
        if s.stages.is_empty() {
            return Err(self.invalid(
                &format!("{key}.stages"),
                "a scenario needs at least one stage",
            ));
        }
        let mut stage_names = BTreeSet::new();
        for (j, st) in s.stages.iter().enumerate() {
            let sk = format!("{key}.stages[{j}]");
            if !is_slug(&st.name) {
                return Err(self.invalid(&format!("{sk}.name"), SLUG_RULE));
            }
            if !stage_names.insert(st.name.as_str()) {
                return Err(self.invalid(
                    &format!("{sk}.name"),
                    format!("stage name {} is used twice", st.name),
                ));
            }
            for (k, name) in st.actions.iter().enumerate() {
                if !s.actions.iter().any(|a| &a.name == name) {
                    return Err(self.invalid(
                        &format!("{sk}.actions[{k}]"),
                        format!("{name} is not an action of the scenario"),
                    ));
                }
            }
            for name in st.parameters.keys() {
                if !st.runs(name) || !s.actions.iter().any(|a| &a.name == name) {
                    return Err(self.invalid(
                        &format!("{sk}.parameters"),
                        format!("{name} is not an action this stage runs"),
                    ));
                }
            }
            if st.observe < MIN_OBSERVE || st.observe > MAX_OBSERVE {
                return Err(self.invalid(
                    &format!("{sk}.observe"),
                    format!(
                        "{} is outside {MIN_OBSERVE}..={MAX_OBSERVE} (the range of aws:fis:wait)",
                        st.observe
                    ),
                ));
            }
        }
        match &s.stop_conditions_override {
            Some(o) => {
                self.non_empty(&format!("{key}.stop_conditions_override.reason"), &o.reason)?;
                if !s.stop_alarms.is_empty() {
                    return Err(self.invalid(
                        &format!("{key}.stop_conditions_override"),
                        "give either stop_alarms or stop_conditions_override, not both",
                    ));
                }
            }
            None => {
                let max = catalogue().quotas.max_stop_conditions;
                if s.stop_alarms.is_empty() {
                    return Err(self.invalid(
                        &format!("{key}.stop_alarms"),
                        "a scenario needs at least one stop alarm; an experiment we cannot stop \
                         is a bug (to run without, add stop_conditions_override: {reason: ...})",
                    ));
                }
                if s.stop_alarms.len() > max {
                    return Err(self.invalid(
                        &format!("{key}.stop_alarms"),
                        format!(
                            "{} stop alarms; FIS allows {max} per template",
                            s.stop_alarms.len()
                        ),
                    ));
                }
                for (k, name) in s.stop_alarms.iter().enumerate() {
                    self.non_empty(&format!("{key}.stop_alarms[{k}]"), name)?;
                }
            }
        }
        if s.success_criteria.is_empty() {
            return Err(self.invalid(
                &format!("{key}.success_criteria"),
                "say what must be true for the scenario to pass",
            ));
        }
        self.non_empty(&format!("{key}.rollback"), &s.rollback)?;
        for (k, h) in s.hypothesis.iter().enumerate() {
            self.hypothesis_metric(&format!("{key}.hypothesis[{k}]"), h)?;
        }

        // Everything a template needs is checked by lint over the real template.
        let opts = LintOptions {
            allow_no_stop_conditions: s.stop_conditions_override.is_some(),
            policy: None,
        };
        for (j, st) in s.stages.iter().enumerate() {
            let template = stage_template(g, i, j)?;
            let name = template_file_name(s, st);
            let json = template.to_json_pretty(&name)?;
            let findings = lint_template_json(&name, &json, &opts);
            if let Some(f) = findings.iter().find(|f| f.severity == Severity::Error) {
                let at = self.finding_key(s, i, j, &f.pointer);
                return Err(self.invalid(
                    &at,
                    format!("stage {} template: {} [{}]", st.name, f.message, f.rule_id),
                ));
            }
        }
        Ok(())
    }

    /// The scenario key a template finding comes from (best effort: the stage otherwise).
    fn finding_key(&self, s: &Scenario, i: usize, j: usize, pointer: &str) -> String {
        template_pointer_key(s, i, j, pointer)
    }

    /// A hypothesis metric's abort bounds: finite, not inverted (the same rule as
    /// [`crate::steady_state::validate_hypothesis`] applies to hypothesis files).
    fn hypothesis_metric(&self, key: &str, h: &HypothesisMetric) -> Result<(), PlanError> {
        for (side, v) in [
            ("abort_lower", h.abort_lower),
            ("abort_upper", h.abort_upper),
        ] {
            if let Some(v) = v
                && !v.is_finite()
            {
                return Err(self.invalid(
                    &format!("{key}.{side}"),
                    format!("{v} is not a finite number (leave the key out for no bound)"),
                ));
            }
        }
        if let (Some(l), Some(u)) = (h.abort_lower, h.abort_upper)
            && l > u
        {
            return Err(self.invalid(
                &format!("{key}.abort_lower"),
                format!("the bounds are inverted: abort_lower {l} is above abort_upper {u}"),
            ));
        }
        if let Some(problem) = h.judge.as_ref().and_then(|j| {
            crate::steady_state::validate_hypothesis(j)
                .into_iter()
                .next()
        }) {
            return Err(self.invalid(&format!("{key}.judge.{}", problem.key), problem.message));
        }
        Ok(())
    }

    fn alarm(&self, i: usize, a: &AlarmSpec) -> Result<(), PlanError> {
        let key = format!("alarms[{i}]");
        if a.name.is_empty() || a.name.len() > 255 || a.name.chars().any(char::is_control) {
            return Err(self.invalid(
                &format!("{key}.name"),
                "must be 1 to 255 characters without control characters",
            ));
        }
        if a.metric.is_some() == a.expression.is_some() {
            return Err(self.invalid(&key, "give exactly one of metric and expression"));
        }
        let p = a.period_secs;
        if !(matches!(p, 10 | 20 | 30) || (p >= 60 && p % 60 == 0)) {
            return Err(self.invalid(
                &format!("{key}.period_secs"),
                format!("{p} is not 10, 20, 30 or a multiple of 60"),
            ));
        }
        if a.evaluation_periods == 0
            || a.datapoints_to_alarm == 0
            || a.datapoints_to_alarm > a.evaluation_periods
        {
            return Err(self.invalid(
                &format!("{key}.datapoints_to_alarm"),
                "need 1 <= datapoints_to_alarm <= evaluation_periods",
            ));
        }
        // CloudWatch: Period × EvaluationPeriods ≤ 1 day below an hour's period, else 7 days.
        let max_secs: i64 = if p < 3600 { 86_400 } else { 604_800 };
        let periods = i64::try_from(a.evaluation_periods).unwrap_or(i64::MAX);
        if periods.saturating_mul(p) > max_secs {
            return Err(self.invalid(
                &format!("{key}.evaluation_periods"),
                format!(
                    "{} periods of {p} s exceed CloudWatch's {max_secs} s evaluation range",
                    a.evaluation_periods
                ),
            ));
        }
        if !a.threshold.is_finite() {
            return Err(self.invalid(&format!("{key}.threshold"), "must be a finite number"));
        }
        if !matches!(
            a.comparison_operator.as_str(),
            "GreaterThanThreshold"
                | "LessThanThreshold"
                | "GreaterThanOrEqualToThreshold"
                | "LessThanOrEqualToThreshold"
        ) {
            return Err(self.invalid(
                &format!("{key}.comparison_operator"),
                "must be GreaterThanThreshold, LessThanThreshold, GreaterThanOrEqualToThreshold or LessThanOrEqualToThreshold",
            ));
        }
        if !matches!(
            a.treat_missing_data.as_str(),
            "breaching" | "notBreaching" | "ignore" | "missing"
        ) {
            return Err(self.invalid(
                &format!("{key}.treat_missing_data"),
                "must be breaching, notBreaching, ignore or missing",
            ));
        }
        Ok(())
    }
}

/// The scenario-file key (`scenarios[0].stages[1].selection`) a pointer into the template of
/// stage `j` of scenario `i` comes from (best effort: the stage otherwise).
fn template_pointer_key(s: &Scenario, i: usize, j: usize, pointer: &str) -> String {
    let key = format!("scenarios[{i}]");
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["actions", name, "parameters", param, ..] => {
            match s.actions.iter().position(|a| a.name == *name) {
                Some(k) => format!("{key}.actions[{k}].parameters.{param}"),
                None => format!("{key}.stages[{j}].observe"),
            }
        }
        ["actions", name, ..] => match s.actions.iter().position(|a| a.name == *name) {
            Some(k) => format!("{key}.actions[{k}]"),
            None => format!("{key}.stages[{j}]"),
        },
        ["targets", _, "selectionMode", ..] => format!("{key}.stages[{j}].selection"),
        ["targets", name, ..] if *name != TARGET_NAME => {
            match s.resources.iter().position(|r| r.target_name() == *name) {
                Some(k) => format!("{key}.resources[{k}]"),
                None => format!("{key}.resources"),
            }
        }
        ["targets", ..] => format!("{key}.target"),
        ["stopConditions", ..] => format!("{key}.stop_alarms"),
        ["roleArn", ..] => "fis.role_arn".to_owned(),
        ["logConfiguration", ..] => "fis.log_group_arn".to_owned(),
        _ => format!("{key}.stages[{j}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario_files() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("scenarios/ exists")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        files
    }

    fn example() -> (PathBuf, String) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/checkout-example.yaml");
        let text = std::fs::read_to_string(&path).expect("example scenario");
        (path, text)
    }

    #[test]
    fn every_scenario_file_loads_validates_and_passes_the_example_policy() {
        let files = scenario_files();
        assert!(!files.is_empty(), "scenarios/ has no YAML file");
        let config = crate::config::Config::from_yaml(
            Path::new("gameday.example.yaml"),
            crate::config::EXAMPLE_CONFIG,
        )
        .expect("example config");
        for path in files {
            let text = std::fs::read_to_string(&path).expect("readable");
            let g = load_scenario(&path, &text).unwrap_or_else(|e| panic!("{e}"));
            check_scenario_policy(&g, &config.policy, false).unwrap_or_else(|e| panic!("{e}"));
            for (name, t) in stage_templates(&g).expect("templates") {
                let json = t.to_json_pretty(&name).expect("json");
                assert!(lint_template_json(&name, &json, &LintOptions::default()).is_empty());
            }
        }
    }

    #[test]
    fn single_metric_alarms_convert_to_put_metric_alarm_inputs() {
        let (path, text) = example();
        let g = load_scenario(&path, &text).expect("loads");
        assert_eq!(g.alarms[0].to_alarm_inputs(), None, "metric math");
        let p99 = g.alarms[1].to_alarm_inputs().expect("single metric");
        assert_eq!(p99.alarm_name, "gameday-checkout-p99_latency_s");
        assert_eq!(p99.statistic, "p99");
        assert_eq!(p99.dimensions.len(), 2);
    }

    #[test]
    fn unknown_key_is_located() {
        let (path, text) = example();
        let bad = text.replacen("owner:", "ownr:", 1);
        let err = load_scenario(&path, &bad).expect_err("unknown field");
        let line = bad
            .lines()
            .position(|l| l.starts_with("ownr:"))
            .expect("line")
            + 1;
        match err {
            PlanError::ScenarioParse {
                line: l, message, ..
            } => {
                assert_eq!(l, line);
                assert!(message.contains("unknown field"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_selection_mode_is_a_located_parse_error() {
        let (path, text) = example();
        let bad = text.replacen("COUNT(1)", "PERCENT(150)", 1);
        let err = load_scenario(&path, &bad).expect_err("out of range");
        let line = bad
            .lines()
            .position(|l| l.contains("PERCENT(150)"))
            .expect("line")
            + 1;
        match err {
            PlanError::ScenarioParse { line: l, .. } => assert_eq!(l, line),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_stop_alarms_need_an_explicit_override() {
        let (path, text) = example();
        let mut g = load_scenario(&path, &text).expect("loads");
        g.scenarios[0].stop_alarms.clear();
        let yaml = g.to_yaml().expect("yaml");
        let err = load_scenario(&path, &yaml).expect_err("no stop condition");
        assert!(
            matches!(&err, PlanError::ScenarioInvalid { key, line, .. }
                if key == "scenarios[0].stop_alarms" && *line > 1),
            "{err}"
        );
        g.scenarios[0].stop_conditions_override = Some(StopConditionsOverride {
            reason: "dry run on a scratch namespace".into(),
        });
        let yaml = g.to_yaml().expect("yaml");
        let g = load_scenario(&path, &yaml).expect("override accepted");
        let t = stage_template(&g, 0, 0).expect("template");
        assert_eq!(t.stop_conditions[0].source, "none");
    }

    #[test]
    fn semantic_errors_are_located() {
        let (path, text) = example();
        let mut g = load_scenario(&path, &text).expect("loads");
        g.scenarios[0].stages.clear();
        let yaml = g.to_yaml().expect("yaml");
        let err = load_scenario(&path, &yaml).expect_err("no stage");
        let want = yaml
            .lines()
            .position(|l| l.trim_start().starts_with("stages:"))
            .expect("line")
            + 1;
        assert!(
            matches!(&err, PlanError::ScenarioInvalid { line, .. } if *line == want),
            "{err}"
        );

        let bad = text.replacen(
            "selector: chaos-experiment=checkout",
            "selector: app=checkout,chaos-experiment=checkout",
            1,
        );
        let err = load_scenario(&path, &bad).expect_err("comma");
        assert!(err.to_string().contains("target.selector"), "{err}");
    }

    #[test]
    fn value_rules_are_enforced_with_the_key_named() {
        let (path, text) = example();
        let base = load_scenario(&path, &text).expect("loads");
        type Edit = Box<dyn Fn(&mut GameDayScenario)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("account_id", Box::new(|g| g.account_id = "1234".into())),
            ("name", Box::new(|g| g.name = "Check Out".into())),
            (
                "fis.role_arn",
                Box::new(|g| g.fis.role_arn = "gameday-fis".into()),
            ),
            (
                "scenarios[0].stages[1].observe",
                Box::new(|g| g.scenarios[0].stages[1].observe = IsoDuration::from_secs(30)),
            ),
            (
                "scenarios[0].stages[2].name",
                Box::new(|g| g.scenarios[0].stages[2].name = "count-1".into()),
            ),
            (
                "scenarios[0].stop_alarms",
                Box::new(|g| {
                    g.scenarios[0].stop_alarms = (0..6).map(|i| format!("a{i}")).collect();
                }),
            ),
            (
                "scenarios[0].actions[0].name",
                Box::new(|g| g.scenarios[0].actions[0].name = OBSERVE_ACTION.into()),
            ),
            (
                "alarms[1].period_secs",
                Box::new(|g| g.alarms[1].period_secs = 45),
            ),
        ];
        for (want, edit) in cases {
            let mut g = base.clone();
            edit(&mut g);
            let yaml = g.to_yaml().expect("yaml");
            let err = load_scenario(&path, &yaml).expect_err(want);
            assert!(
                matches!(&err, PlanError::ScenarioInvalid { key, .. } if key == want),
                "{want}: {err}"
            );
        }
    }

    #[test]
    fn a_scenario_must_match_the_configured_environment_account_and_region() {
        let (path, text) = example();
        let g = load_scenario(&path, &text).expect("loads");
        let mut config = crate::config::Config::from_yaml(
            Path::new("gameday.example.yaml"),
            crate::config::EXAMPLE_CONFIG,
        )
        .expect("example config");
        check_scenario_config(&g, &config).expect("matches");
        config.aws.account_id = Some("999999999999".into());
        let err = check_scenario_config(&g, &config).expect_err("other account");
        assert!(
            matches!(
                &err,
                PlanError::ScenarioMismatch {
                    field: "account_id",
                    ..
                }
            ),
            "{err}"
        );
        config.aws.account_id = None;
        config.environment = "prod".into();
        let err = check_scenario_config(&g, &config).expect_err("other environment");
        assert!(err.to_string().contains("environment"), "{err}");
    }

    #[test]
    fn a_production_cluster_needs_both_opt_ins() {
        let (path, text) = example();
        let mut g = load_scenario(&path, &text).expect("loads");
        g.scenarios[0].target.cluster = "prod-eks".into();
        let policy = super::super::Policy {
            opt_in_label: Some("chaos-experiment".into()),
            ..super::super::Policy::default()
        };
        let err = check_scenario_policy(&g, &policy, false).expect_err("production");
        assert!(
            matches!(&err, PlanError::PolicyViolation(v)
                if v.field == "targets.pods.parameters.clusterIdentifier" && v.value == "prod-eks"
                    && v.more == 2),
            "{err}"
        );
    }

    #[test]
    fn bad_action_parameter_is_reported_at_the_parameter() {
        let (path, text) = example();
        let mut g = load_scenario(&path, &text).expect("loads");
        g.scenarios[0].actions[0]
            .parameters
            .insert("delayMs".into(), "300".into());
        let yaml = g.to_yaml().expect("yaml");
        let err = load_scenario(&path, &yaml).expect_err("unknown parameter");
        assert!(
            matches!(&err, PlanError::ScenarioInvalid { key, .. }
                if key == "scenarios[0].actions[0].parameters.delayMs"),
            "{err}"
        );
    }

    fn err_text_names_all(v: &StageViolation) -> bool {
        let text = v.to_string();
        [&v.scenario, &v.stage, &v.field, &v.value, &v.limit]
            .iter()
            .all(|part| text.contains(part.as_str()))
    }

    #[test]
    fn policy_violation_names_scenario_stage_field_value_and_limit() {
        let (path, text) = example();
        let g = load_scenario(&path, &text).expect("loads");
        let policy = super::super::Policy {
            opt_in_label: Some("chaos-experiment".into()),
            max_percent: 10,
            ..super::super::Policy::default()
        };
        let err = check_scenario_policy(&g, &policy, false).expect_err("25 > 10");
        match err {
            PlanError::PolicyViolation(v) => {
                assert_eq!(v.scenario, g.scenarios[0].name);
                assert_eq!(v.field, "targets.pods.selectionMode");
                assert_eq!(v.value, "PERCENT(25)");
                assert_eq!(v.limit, "PERCENT(10)");
                assert_eq!(v.stage, g.scenarios[0].stages[2].name);
                assert!(err_text_names_all(&v));
            }
            other => panic!("{other:?}"),
        }
    }
}
