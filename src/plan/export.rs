//! Exports of a GameDay as infrastructure code: CloudFormation (JSON) and Terraform (HCL).
//!
//! Input: a validated [`GameDayScenario`]. Output: one CloudFormation template with an
//! `AWS::CloudWatch::Alarm` per alarm and an `AWS::FIS::ExperimentTemplate` per stage, or the
//! Terraform equivalent (`aws_cloudwatch_metric_alarm`, `aws_fis_experiment_template`). The FIS
//! resources are built from the same [`stage_template`] requests `run` sends, so the exports and
//! the API calls cannot drift apart. Stop conditions on alarms defined here reference them
//! (`Fn::GetAtt` / `.arn`), so the alarm exists before the template. The Terraform file is
//! built as `hcl-rs` blocks and formatted by it, so quoting and escaping are its job. It must not
//! call AWS.

use std::collections::BTreeMap;

use hcl::format::Format as _;
use hcl::{Attribute, Block, BlockBuilder, Expression, ObjectKey, Structure, Traversal, Variable};
use serde_json::{Value, json};

use super::error::PlanError;
use super::scenario::{AlarmMetric, AlarmSpec, GameDayScenario, stage_template};
use super::template::{EmptyTargetResolutionMode, ExperimentTemplate};

/// The id of the expression in a metric-math alarm (inputs keep their config ids).
const EXPRESSION_ID: &str = "expr";

/// Export formats of `gameday plan --export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// AWS CloudFormation, JSON.
    CloudFormation,
    /// Terraform (AWS provider), HCL.
    Terraform,
}

impl ExportFormat {
    /// The file the export is written to.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::CloudFormation => "cloudformation.json",
            Self::Terraform => "gameday.tf",
        }
    }
}

/// Renders the export in the given format.
///
/// # Errors
///
/// As [`export_cloudformation`] and [`export_terraform`].
pub fn export(gameday: &GameDayScenario, format: ExportFormat) -> Result<String, PlanError> {
    match format {
        ExportFormat::CloudFormation => export_cloudformation(gameday),
        ExportFormat::Terraform => export_terraform(gameday),
    }
}

/// One stage's template with the names its resource gets.
struct StageResource {
    scenario: String,
    stage: String,
    template: ExperimentTemplate,
}

fn stage_resources(g: &GameDayScenario) -> Result<Vec<StageResource>, PlanError> {
    let mut out = Vec::new();
    for (i, s) in g.scenarios.iter().enumerate() {
        for (j, st) in s.stages.iter().enumerate() {
            out.push(StageResource {
                scenario: s.name.clone(),
                stage: st.name.clone(),
                template: stage_template(g, i, j)?,
            });
        }
    }
    Ok(out)
}

/// Gives every name a unique identifier made by `make` (a numeric suffix breaks ties).
fn unique_ids<'a>(
    names: impl IntoIterator<Item = &'a str>,
    make: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut seen = BTreeMap::new();
    names
        .into_iter()
        .map(|n| {
            let base = make(n);
            let count = seen.entry(base.clone()).or_insert(0_usize);
            *count += 1;
            if *count == 1 {
                base
            } else {
                format!("{base}{count}")
            }
        })
        .collect()
}

/// `checkout-network_latency` → `CheckoutNetworkLatency` (CloudFormation logical ids are
/// alphanumeric).
fn pascal(text: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

/// `checkout-network-latency` → `checkout_network_latency` (Terraform names start with a letter
/// or `_`).
fn snake(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// CloudFormation
// ---------------------------------------------------------------------------------------------

/// The GameDay as a CloudFormation template (JSON, ending with a newline).
///
/// # Errors
///
/// [`PlanError::NoSuchStage`] cannot happen for a validated scenario; [`PlanError::Export`] if
/// serialisation fails.
pub fn export_cloudformation(g: &GameDayScenario) -> Result<String, PlanError> {
    let alarm_ids = unique_ids(g.alarms.iter().map(|a| a.name.as_str()), |n| {
        format!("Alarm{}", pascal(n))
    });
    let alarm_id: BTreeMap<&str, &str> = g
        .alarms
        .iter()
        .zip(&alarm_ids)
        .map(|(a, id)| (a.name.as_str(), id.as_str()))
        .collect();
    let mut resources = serde_json::Map::new();
    for (a, id) in g.alarms.iter().zip(&alarm_ids) {
        resources.insert(id.clone(), cfn_alarm(a));
    }
    let stages = stage_resources(g)?;
    let ids = unique_ids(
        stages
            .iter()
            .map(|s| format!("{}-{}", s.scenario, s.stage))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
        |n| format!("Experiment{}", pascal(n)),
    );
    for (s, id) in stages.iter().zip(ids) {
        let mut template = cfn_template(g, &s.template, &alarm_id);
        cfn_template_extras(&mut template, &s.template);
        resources.insert(id, template);
    }
    cfn_permissions_and_dashboard(g, &mut resources);
    let doc = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "gameday {}: FIS experiment templates (one per stage), their stop alarms, the FIS \
             experiment role, the runner policies, the EKS access entries and the dashboard",
            g.name
        ),
        "Metadata": {
            "gameday::KubernetesRbac": crate::iam::kubernetes::rbac_yaml(g),
        },
        "Resources": resources,
    });
    let mut text = serde_json::to_string_pretty(&doc).map_err(|source| PlanError::Export {
        format: "cloudformation",
        source,
    })?;
    text.push('\n');
    Ok(text)
}

fn cfn_dimensions(m: &AlarmMetric) -> Value {
    Value::Array(
        m.dimensions
            .iter()
            .map(|(k, v)| json!({"Name": k, "Value": v}))
            .collect(),
    )
}

fn cfn_alarm(a: &AlarmSpec) -> Value {
    let mut p = serde_json::Map::new();
    p.insert("AlarmName".into(), json!(a.name));
    p.insert("AlarmDescription".into(), json!(a.description));
    p.insert("ComparisonOperator".into(), json!(a.comparison_operator));
    p.insert("EvaluationPeriods".into(), json!(a.evaluation_periods));
    p.insert("DatapointsToAlarm".into(), json!(a.datapoints_to_alarm));
    p.insert("Threshold".into(), json!(a.threshold));
    p.insert("TreatMissingData".into(), json!(a.treat_missing_data));
    if let Some(m) = &a.metric {
        p.insert("Namespace".into(), json!(m.namespace));
        p.insert("MetricName".into(), json!(m.metric_name));
        p.insert("Dimensions".into(), cfn_dimensions(m));
        p.insert("Period".into(), json!(a.period_secs));
        let key = if m.is_extended_statistic() {
            "ExtendedStatistic"
        } else {
            "Statistic"
        };
        p.insert(key.into(), json!(m.statistic));
    }
    if let Some(e) = &a.expression {
        let mut metrics = vec![json!({
            "Id": EXPRESSION_ID,
            "Expression": e.expression,
            "Label": a.name,
            "ReturnData": true,
        })];
        for (id, m) in &e.inputs {
            metrics.push(json!({
                "Id": id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": m.namespace,
                        "MetricName": m.metric_name,
                        "Dimensions": cfn_dimensions(m),
                    },
                    "Period": a.period_secs,
                    "Stat": m.statistic,
                },
                "ReturnData": false,
            }));
        }
        p.insert("Metrics".into(), Value::Array(metrics));
    }
    json!({"Type": "AWS::CloudWatch::Alarm", "Properties": p})
}

fn empty_target_mode(t: &ExperimentTemplate) -> Option<&'static str> {
    t.experiment_options
        .as_ref()
        .and_then(|o| o.empty_target_resolution_mode)
        .map(|m| match m {
            EmptyTargetResolutionMode::Fail => "fail",
            EmptyTargetResolutionMode::Skip => "skip",
        })
}

fn cfn_template(
    g: &GameDayScenario,
    t: &ExperimentTemplate,
    alarm_id: &BTreeMap<&str, &str>,
) -> Value {
    let stop: Vec<Value> = t
        .stop_conditions
        .iter()
        .map(|c| match c.value.as_deref() {
            Some(arn) => {
                let value = local_alarm(g, arn)
                    .and_then(|name| alarm_id.get(name))
                    .map_or_else(|| json!(arn), |id| json!({"Fn::GetAtt": [id, "Arn"]}));
                json!({"Source": c.source, "Value": value})
            }
            None => json!({"Source": c.source}),
        })
        .collect();
    let targets: serde_json::Map<String, Value> = t
        .targets
        .iter()
        .map(|(name, target)| {
            let mut v = serde_json::Map::new();
            v.insert("ResourceType".into(), json!(target.resource_type));
            v.insert(
                "SelectionMode".into(),
                json!(target.selection_mode.to_string()),
            );
            if !target.resource_arns.is_empty() {
                v.insert("ResourceArns".into(), json!(target.resource_arns));
            }
            if !target.resource_tags.is_empty() {
                v.insert("ResourceTags".into(), json!(target.resource_tags));
            }
            if !target.filters.is_empty() {
                let filters: Vec<Value> = target
                    .filters
                    .iter()
                    .map(|f| json!({"Path": f.path, "Values": f.values}))
                    .collect();
                v.insert("Filters".into(), Value::Array(filters));
            }
            if !target.parameters.is_empty() {
                v.insert("Parameters".into(), json!(target.parameters));
            }
            (name.clone(), Value::Object(v))
        })
        .collect();
    let actions: serde_json::Map<String, Value> = t
        .actions
        .iter()
        .map(|(name, a)| {
            let mut v = serde_json::Map::new();
            v.insert("ActionId".into(), json!(a.action_id));
            if let Some(d) = &a.description {
                v.insert("Description".into(), json!(d));
            }
            if !a.parameters.is_empty() {
                v.insert("Parameters".into(), json!(a.parameters));
            }
            if !a.targets.is_empty() {
                v.insert("Targets".into(), json!(a.targets));
            }
            if !a.start_after.is_empty() {
                v.insert("StartAfter".into(), json!(a.start_after));
            }
            (name.clone(), Value::Object(v))
        })
        .collect();
    let mut p = serde_json::Map::new();
    p.insert("Description".into(), json!(t.description));
    p.insert("RoleArn".into(), json!(t.role_arn));
    p.insert("StopConditions".into(), Value::Array(stop));
    p.insert("Targets".into(), Value::Object(targets));
    p.insert("Actions".into(), Value::Object(actions));
    p.insert("Tags".into(), json!(t.tags));
    if let Some(log) = &t.log_configuration {
        let mut l = serde_json::Map::new();
        l.insert("LogSchemaVersion".into(), json!(log.log_schema_version));
        if let Some(cw) = &log.cloud_watch_logs_configuration {
            l.insert(
                "CloudWatchLogsConfiguration".into(),
                json!({"LogGroupArn": cw.log_group_arn}),
            );
        }
        if let Some(s3) = &log.s3_configuration {
            let mut s = serde_json::Map::new();
            s.insert("BucketName".into(), json!(s3.bucket_name));
            if let Some(prefix) = &s3.prefix {
                s.insert("Prefix".into(), json!(prefix));
            }
            l.insert("S3Configuration".into(), Value::Object(s));
        }
        p.insert("LogConfiguration".into(), Value::Object(l));
    }
    if let Some(mode) = empty_target_mode(t) {
        p.insert(
            "ExperimentOptions".into(),
            json!({"EmptyTargetResolutionMode": mode}),
        );
    }
    json!({"Type": "AWS::FIS::ExperimentTemplate", "Properties": p})
}

/// The logical id of the FIS experiment role in the CloudFormation export.
const CFN_ROLE_ID: &str = "FisExperimentRole";

/// What the permissions work adds to a stage template resource: it waits for the role, and it
/// carries the experiment report configuration.
fn cfn_template_extras(resource: &mut Value, t: &ExperimentTemplate) {
    resource["DependsOn"] = json!([CFN_ROLE_ID]);
    if let Some(r) = &t.experiment_report_configuration {
        let mut s3 = serde_json::Map::new();
        s3.insert(
            "BucketName".into(),
            json!(r.outputs.s3_configuration.bucket_name),
        );
        if let Some(prefix) = &r.outputs.s3_configuration.prefix {
            s3.insert("Prefix".into(), json!(prefix));
        }
        let mut c = serde_json::Map::new();
        c.insert(
            "Outputs".into(),
            json!({"ExperimentReportS3Configuration": s3}),
        );
        if let Some(ds) = &r.data_sources {
            let dashboards: Vec<Value> = ds
                .cloud_watch_dashboards
                .iter()
                .map(|d| json!({"DashboardIdentifier": d.dashboard_identifier}))
                .collect();
            c.insert(
                "DataSources".into(),
                json!({"CloudWatchDashboards": dashboards}),
            );
        }
        if let Some(d) = &r.pre_experiment_duration {
            c.insert("PreExperimentDuration".into(), json!(d));
        }
        if let Some(d) = &r.post_experiment_duration {
            c.insert("PostExperimentDuration".into(), json!(d));
        }
        resource["Properties"]["ExperimentReportConfiguration"] = Value::Object(c);
    }
}

/// The FIS experiment role, the two runner policies, an EKS access entry per cluster with pod
/// actions, and the GameDay dashboard.
fn cfn_permissions_and_dashboard(
    g: &GameDayScenario,
    resources: &mut serde_json::Map<String, Value>,
) {
    use crate::iam::{PolicySet, experiment, kubernetes, runner_policy, runner_scope};
    let (role_name, path) = experiment::role_name_and_path(&g.fis.role_arn);
    resources.insert(
        CFN_ROLE_ID.to_owned(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": role_name,
                "Path": path,
                "Description": format!("FIS experiment role of GameDay {}: exactly the planned actions", g.name),
                "AssumeRolePolicyDocument": experiment::trust_policy(g),
                "Policies": [{
                    "PolicyName": "gameday-fis-experiment",
                    "PolicyDocument": experiment::permissions_policy(g),
                }],
            }
        }),
    );
    let scope = runner_scope(g, &[]);
    for (id, set, what) in [
        ("GamedayRunnerReadPolicy", PolicySet::Read, "read"),
        ("GamedayRunnerWritePolicy", PolicySet::Write, "write"),
    ] {
        resources.insert(
            id.to_owned(),
            json!({
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": format!("gameday-runner-{what}-{}", g.name),
                    "Description": format!("What gameday calls ({what} set) for GameDay {}; attach to the identity that runs it", g.name),
                    "PolicyDocument": runner_policy(set, &scope),
                }
            }),
        );
    }
    let clusters = kubernetes::clusters(g);
    let ids = unique_ids(clusters.iter().map(String::as_str), |c| {
        format!("FisAccessEntry{}", pascal(kubernetes::cluster_name(c)))
    });
    for (cluster, id) in clusters.iter().zip(ids) {
        resources.insert(
            id,
            json!({
                "Type": "AWS::EKS::AccessEntry",
                "Properties": {
                    "ClusterName": kubernetes::cluster_name(cluster),
                    "PrincipalArn": {"Fn::GetAtt": [CFN_ROLE_ID, "Arn"]},
                    "Username": kubernetes::FIS_USER,
                    "Type": "STANDARD",
                }
            }),
        );
    }
    resources.insert(
        "GamedayDashboard".to_owned(),
        json!({
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": super::dashboard::dashboard_name(g),
                "DashboardBody": super::dashboard::dashboard_body(g).to_string(),
            }
        }),
    );
}

/// The alarm name of an ARN of this GameDay's account and region, if the GameDay defines it.
fn local_alarm<'a>(g: &'a GameDayScenario, arn: &str) -> Option<&'a str> {
    g.alarms
        .iter()
        .find(|a| g.alarm_arn(&a.name) == arn)
        .map(|a| a.name.as_str())
}

// ---------------------------------------------------------------------------------------------
// Terraform
// ---------------------------------------------------------------------------------------------

/// One block as HCL text. hcl-rs does the quoting and escaping (`${`/`%{` are doubled, so no
/// text of the scenario is interpolated); lists and maps stay on one line.
fn hcl_text(block: &Block) -> String {
    let mut f = hcl::format::Formatter::builder().compact(true).build_vec();
    block
        .format_string(&mut f)
        .expect("formatting into memory cannot fail (hcl::format)")
}

/// `resource "<kind>" "<name>"`, to be given its body.
fn resource(kind: &str, name: &str) -> BlockBuilder {
    Block::builder("resource").add_label(kind).add_label(name)
}

/// A reference to an attribute of another resource (`aws_iam_role.fis_experiment.arn`).
fn reference(kind: &str, name: &str, attribute: &str) -> Expression {
    Traversal::builder(Variable::sanitized(kind))
        .attr(name)
        .attr(attribute)
        .build()
        .into()
}

/// A map of strings as an object expression with quoted keys.
fn string_map<'a>(entries: impl IntoIterator<Item = (&'a String, &'a String)>) -> Expression {
    Expression::Object(
        entries
            .into_iter()
            .map(|(k, v)| (ObjectKey::from(k.as_str()), Expression::from(v.as_str())))
            .collect(),
    )
}

/// A list of strings.
fn string_list<S: AsRef<str>>(items: &[S]) -> Expression {
    Expression::Array(items.iter().map(|s| Expression::from(s.as_ref())).collect())
}

/// A `key`/`value` block (`parameter`, `target`, `resource_tag`).
fn key_value(identifier: &str, key: &str, value: &str) -> Block {
    Block::builder(identifier)
        .add_attribute(("key", key))
        .add_attribute(("value", value))
        .build()
}

/// The Terraform file: resource blocks, each after a blank line and the comment it may carry
/// (hcl-rs structures hold no comments).
#[derive(Default)]
struct TfFile {
    blocks: Vec<(Option<String>, Block)>,
}

impl TfFile {
    fn push(&mut self, block: Block) {
        self.blocks.push((None, block));
    }

    fn push_commented(&mut self, comment: String, block: Block) {
        self.blocks.push((Some(comment), block));
    }

    fn text(&self, header: &[String]) -> String {
        let mut out = String::new();
        for line in header {
            out.push_str(&format!("# {line}\n"));
        }
        for (comment, block) in &self.blocks {
            out.push('\n');
            if let Some(c) = comment {
                out.push_str(&format!("# {c}\n"));
            }
            out.push_str(&hcl_text(block));
        }
        out
    }
}

/// The GameDay as Terraform (HCL, AWS provider resources).
///
/// # Errors
///
/// [`PlanError::NoSuchStage`] cannot happen for a validated scenario.
pub fn export_terraform(g: &GameDayScenario) -> Result<String, PlanError> {
    let mut file = TfFile::default();
    let alarm_ids = unique_ids(g.alarms.iter().map(|a| a.name.as_str()), snake);
    let alarm_id: BTreeMap<&str, &str> = g
        .alarms
        .iter()
        .zip(&alarm_ids)
        .map(|(a, id)| (a.name.as_str(), id.as_str()))
        .collect();
    for (a, id) in g.alarms.iter().zip(&alarm_ids) {
        file.push(tf_alarm(a, id));
    }
    let stages = stage_resources(g)?;
    let names: Vec<String> = stages
        .iter()
        .map(|s| format!("{}-{}", s.scenario, s.stage))
        .collect();
    let ids = unique_ids(names.iter().map(String::as_str), snake);
    for (s, id) in stages.iter().zip(ids) {
        file.push(tf_template(g, &s.template, &id, &alarm_id));
    }
    tf_permissions_and_dashboard(&mut file, g);
    Ok(file.text(&[
        format!(
            "gameday {}: FIS experiment templates (one per stage) and their stop alarms.",
            g.name
        ),
        "Generated by `gameday plan --export terraform`; the scenario file is the source."
            .to_owned(),
    ]))
}

/// The FIS experiment role, the runner policies, the EKS access entries, the Kubernetes RBAC
/// (kubernetes provider) and the dashboard.
fn tf_permissions_and_dashboard(file: &mut TfFile, g: &GameDayScenario) {
    use crate::iam::{PolicySet, experiment, kubernetes, runner_policy, runner_scope};
    let (role_name, path) = experiment::role_name_and_path(&g.fis.role_arn);
    file.push(
        resource("aws_iam_role", "fis_experiment")
            .add_attribute(("name", role_name))
            .add_attribute(("path", path))
            .add_attribute((
                "assume_role_policy",
                experiment::trust_policy(g).to_string(),
            ))
            .build(),
    );
    file.push(
        resource("aws_iam_role_policy", "fis_experiment")
            .add_attribute(("name", "gameday-fis-experiment"))
            .add_attribute(("role", reference("aws_iam_role", "fis_experiment", "id")))
            .add_attribute(("policy", experiment::permissions_policy(g).to_string()))
            .build(),
    );
    let scope = runner_scope(g, &[]);
    for (id, set, what) in [
        ("gameday_runner_read", PolicySet::Read, "read"),
        ("gameday_runner_write", PolicySet::Write, "write"),
    ] {
        file.push(
            resource("aws_iam_policy", id)
                .add_attribute(("name", format!("gameday-runner-{what}-{}", g.name)))
                .add_attribute(("policy", runner_policy(set, &scope).to_string()))
                .build(),
        );
    }
    let clusters = kubernetes::clusters(g);
    let ids = unique_ids(clusters.iter().map(String::as_str), |c| {
        format!("fis_{}", snake(kubernetes::cluster_name(c)))
    });
    for (cluster, id) in clusters.iter().zip(ids) {
        file.push(
            resource("aws_eks_access_entry", &id)
                .add_attribute(("cluster_name", kubernetes::cluster_name(cluster)))
                .add_attribute((
                    "principal_arn",
                    reference("aws_iam_role", "fis_experiment", "arn"),
                ))
                .add_attribute(("user_name", kubernetes::FIS_USER))
                .add_attribute(("type", "STANDARD"))
                .build(),
        );
    }
    let sa = &g.fis.kubernetes_service_account;
    let targets = kubernetes::rbac_targets(g);
    let ids = unique_ids(targets.iter().map(|(_, ns)| ns.as_str()), |ns| {
        format!("fis_{}", snake(ns))
    });
    for ((cluster, ns), id) in targets.iter().zip(ids) {
        let metadata = |name: &str| {
            Block::builder("metadata")
                .add_attribute(("name", name))
                .add_attribute(("namespace", ns.as_str()))
                .build()
        };
        file.push_commented(
            format!(
                "FIS pod actions in {cluster}/{ns} (the kubernetes provider must point at {cluster})"
            ),
            resource("kubernetes_service_account_v1", &id)
                .add_block(metadata(sa))
                .build(),
        );
        let rules = kubernetes::FIS_POD_PERMISSIONS
            .iter()
            .map(|(group, resource, verbs)| {
                Block::builder("rule")
                    .add_attribute(("api_groups", string_list(&[group])))
                    .add_attribute(("resources", string_list(&[resource])))
                    .add_attribute(("verbs", string_list(verbs)))
                    .build()
            });
        file.push(
            resource("kubernetes_role_v1", &id)
                .add_block(metadata(kubernetes::RBAC_NAME))
                .add_blocks(rules)
                .build(),
        );
        file.push(
            resource("kubernetes_role_binding_v1", &id)
                .add_block(metadata(kubernetes::RBAC_NAME))
                .add_block(
                    Block::builder("role_ref")
                        .add_attribute(("api_group", "rbac.authorization.k8s.io"))
                        .add_attribute(("kind", "Role"))
                        .add_attribute(("name", kubernetes::RBAC_NAME))
                        .build(),
                )
                .add_block(
                    Block::builder("subject")
                        .add_attribute(("kind", "ServiceAccount"))
                        .add_attribute(("name", sa.as_str()))
                        .add_attribute(("namespace", ns.as_str()))
                        .build(),
                )
                .add_block(
                    Block::builder("subject")
                        .add_attribute(("kind", "User"))
                        .add_attribute(("name", kubernetes::FIS_USER))
                        .add_attribute(("api_group", "rbac.authorization.k8s.io"))
                        .build(),
                )
                .build(),
        );
    }
    file.push(
        resource("aws_cloudwatch_dashboard", "gameday")
            .add_attribute(("dashboard_name", super::dashboard::dashboard_name(g)))
            .add_attribute((
                "dashboard_body",
                super::dashboard::dashboard_body(g).to_string(),
            ))
            .build(),
    );
}

/// The role dependency and the report block of a stage template.
fn tf_template_extras(t: &ExperimentTemplate) -> Vec<Structure> {
    let mut out = vec![Structure::from(Attribute::new(
        "depends_on",
        Expression::Array(vec![
            Traversal::builder(Variable::sanitized("aws_iam_role_policy"))
                .attr("fis_experiment")
                .build()
                .into(),
        ]),
    ))];
    if let Some(r) = &t.experiment_report_configuration {
        let s3 = &r.outputs.s3_configuration;
        let mut report = Block::builder("experiment_report_configuration").add_block(
            Block::builder("outputs")
                .add_block(
                    Block::builder("s3_configuration")
                        .add_attribute(("bucket_name", s3.bucket_name.as_str()))
                        .add_attributes(s3.prefix.as_deref().map(|p| ("prefix", p)))
                        .build(),
                )
                .build(),
        );
        if let Some(ds) = &r.data_sources {
            report = report.add_block(
                Block::builder("data_sources")
                    .add_blocks(ds.cloud_watch_dashboards.iter().map(|d| {
                        Block::builder("cloudwatch_dashboard")
                            .add_attribute(("dashboard_arn", d.dashboard_identifier.as_str()))
                            .build()
                    }))
                    .build(),
            );
        }
        let report = report
            .add_attributes(
                r.pre_experiment_duration
                    .as_deref()
                    .map(|d| ("pre_experiment_duration", d)),
            )
            .add_attributes(
                r.post_experiment_duration
                    .as_deref()
                    .map(|d| ("post_experiment_duration", d)),
            );
        out.push(report.build().into());
    }
    out
}

fn tf_alarm(a: &AlarmSpec, id: &str) -> Block {
    let mut b = resource("aws_cloudwatch_metric_alarm", id)
        .add_attribute(("alarm_name", a.name.as_str()))
        .add_attribute(("alarm_description", a.description.as_str()))
        .add_attribute(("comparison_operator", a.comparison_operator.as_str()))
        .add_attribute(("evaluation_periods", a.evaluation_periods))
        .add_attribute(("datapoints_to_alarm", a.datapoints_to_alarm))
        .add_attribute(("threshold", a.threshold))
        .add_attribute(("treat_missing_data", a.treat_missing_data.as_str()));
    if let Some(m) = &a.metric {
        let key = if m.is_extended_statistic() {
            "extended_statistic"
        } else {
            "statistic"
        };
        b = b
            .add_attribute(("namespace", m.namespace.as_str()))
            .add_attribute(("metric_name", m.metric_name.as_str()))
            .add_attribute(("period", a.period_secs))
            .add_attribute((key, m.statistic.as_str()))
            .add_attribute(("dimensions", string_map(&m.dimensions)));
    }
    if let Some(e) = &a.expression {
        b = b.add_block(
            Block::builder("metric_query")
                .add_attribute(("id", EXPRESSION_ID))
                .add_attribute(("expression", e.expression.as_str()))
                .add_attribute(("label", a.name.as_str()))
                .add_attribute(("return_data", true))
                .build(),
        );
        for (input, m) in &e.inputs {
            b = b.add_block(
                Block::builder("metric_query")
                    .add_attribute(("id", input.as_str()))
                    .add_attribute(("return_data", false))
                    .add_block(
                        Block::builder("metric")
                            .add_attribute(("namespace", m.namespace.as_str()))
                            .add_attribute(("metric_name", m.metric_name.as_str()))
                            .add_attribute(("period", a.period_secs))
                            .add_attribute(("stat", m.statistic.as_str()))
                            .add_attribute(("dimensions", string_map(&m.dimensions)))
                            .build(),
                    )
                    .build(),
            );
        }
    }
    b.build()
}

fn tf_template(
    g: &GameDayScenario,
    t: &ExperimentTemplate,
    id: &str,
    alarm_id: &BTreeMap<&str, &str>,
) -> Block {
    let mut b = resource("aws_fis_experiment_template", id)
        .add_attribute(("description", t.description.as_str()))
        .add_attribute(("role_arn", t.role_arn.as_str()));
    for c in &t.stop_conditions {
        let value = c.value.as_deref().map(|arn| {
            let value = local_alarm(g, arn)
                .and_then(|name| alarm_id.get(name))
                .map_or_else(
                    || Expression::from(arn),
                    |id| reference("aws_cloudwatch_metric_alarm", id, "arn"),
                );
            ("value", value)
        });
        b = b.add_block(
            Block::builder("stop_condition")
                .add_attribute(("source", c.source.as_str()))
                .add_attributes(value)
                .build(),
        );
    }
    for (name, a) in &t.actions {
        b = b.add_block(
            Block::builder("action")
                .add_attribute(("name", name.as_str()))
                .add_attribute(("action_id", a.action_id.as_str()))
                .add_attributes(a.description.as_deref().map(|d| ("description", d)))
                .add_attributes(
                    (!a.start_after.is_empty())
                        .then(|| ("start_after", string_list(&a.start_after))),
                )
                .add_blocks(
                    a.parameters
                        .iter()
                        .map(|(k, v)| key_value("parameter", k, v)),
                )
                .add_blocks(a.targets.iter().map(|(k, v)| key_value("target", k, v)))
                .build(),
        );
    }
    for (name, target) in &t.targets {
        b = b.add_block(
            Block::builder("target")
                .add_attribute(("name", name.as_str()))
                .add_attribute(("resource_type", target.resource_type.as_str()))
                .add_attribute(("selection_mode", target.selection_mode.to_string()))
                .add_attributes(
                    (!target.resource_arns.is_empty())
                        .then(|| ("resource_arns", string_list(&target.resource_arns))),
                )
                .add_blocks(
                    target
                        .resource_tags
                        .iter()
                        .map(|(k, v)| key_value("resource_tag", k, v)),
                )
                .add_blocks(target.filters.iter().map(|f| {
                    Block::builder("filter")
                        .add_attribute(("path", f.path.as_str()))
                        .add_attribute(("values", string_list(&f.values)))
                        .build()
                }))
                .add_attributes(
                    (!target.parameters.is_empty())
                        .then(|| ("parameters", string_map(&target.parameters))),
                )
                .build(),
        );
    }
    if let Some(log) = &t.log_configuration {
        let mut l = Block::builder("log_configuration")
            .add_attribute(("log_schema_version", log.log_schema_version));
        if let Some(cw) = &log.cloud_watch_logs_configuration {
            l = l.add_block(
                Block::builder("cloudwatch_logs_configuration")
                    .add_attribute(("log_group_arn", cw.log_group_arn.as_str()))
                    .build(),
            );
        }
        if let Some(s3) = &log.s3_configuration {
            l = l.add_block(
                Block::builder("s3_configuration")
                    .add_attribute(("bucket_name", s3.bucket_name.as_str()))
                    .add_attributes(s3.prefix.as_deref().map(|p| ("prefix", p)))
                    .build(),
            );
        }
        b = b.add_block(l.build());
    }
    if let Some(mode) = empty_target_mode(t) {
        b = b.add_block(
            Block::builder("experiment_options")
                .add_attribute(("empty_target_resolution_mode", mode))
                .build(),
        );
    }
    b.add_attribute(("tags", string_map(&t.tags)))
        .add_structures(tf_template_extras(t))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::generate::tests::planned;
    use crate::plan::template::ALARM_SOURCE;

    #[test]
    fn cloudformation_has_one_template_per_stage_and_every_alarm() {
        let g = planned();
        let text = export_cloudformation(&g).expect("exports");
        let doc: Value = serde_json::from_str(&text).expect("valid JSON");
        let resources = doc["Resources"].as_object().expect("resources");
        let of_type = |ty: &str| {
            resources
                .values()
                .filter(|r| r["Type"] == ty)
                .collect::<Vec<_>>()
        };
        let stages: usize = g.scenarios.iter().map(|s| s.stages.len()).sum();
        let templates = of_type("AWS::FIS::ExperimentTemplate");
        assert_eq!(templates.len(), stages);
        assert_eq!(of_type("AWS::CloudWatch::Alarm").len(), g.alarms.len());
        for t in templates {
            let p = &t["Properties"];
            assert!(
                p["RoleArn"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("arn:aws:iam::"))
            );
            let stops = p["StopConditions"].as_array().expect("stop conditions");
            assert!(!stops.is_empty());
            for s in stops {
                assert_eq!(s["Source"], ALARM_SOURCE);
                let id = s["Value"]["Fn::GetAtt"][0].as_str().expect("GetAtt");
                assert_eq!(resources[id]["Type"], "AWS::CloudWatch::Alarm");
            }
            let target = &p["Targets"]["pods"];
            assert_eq!(target["ResourceType"], "aws:eks:pod");
            assert_eq!(target["Parameters"]["selectorType"], "labelSelector");
            assert_eq!(p["ExperimentOptions"]["EmptyTargetResolutionMode"], "fail");
            assert!(
                p["LogConfiguration"]["CloudWatchLogsConfiguration"]["LogGroupArn"].is_string()
            );
            assert!(p["Tags"]["gameday-stage"].is_string());
        }
        let expr = resources
            .values()
            .find(|r| r["Properties"]["Metrics"].is_array())
            .expect("a metric-math alarm");
        assert_eq!(expr["Properties"]["Metrics"][0]["ReturnData"], true);
        let p99 = resources
            .values()
            .find(|r| r["Properties"]["ExtendedStatistic"] == "p99")
            .expect("p99 alarm uses ExtendedStatistic");
        assert!(p99["Properties"].get("Statistic").is_none());
    }

    #[test]
    fn terraform_parses_as_hcl_with_the_right_resources() {
        let g = planned();
        let text = export_terraform(&g).expect("exports");
        let body: hcl::Body = hcl::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let resources: Vec<&hcl::Block> = body
            .blocks()
            .filter(|b| b.identifier() == "resource")
            .collect();
        let of_type = |ty: &str| {
            resources
                .iter()
                .filter(|b| b.labels().first().is_some_and(|l| l.as_str() == ty))
                .copied()
                .collect::<Vec<_>>()
        };
        let stages: usize = g.scenarios.iter().map(|s| s.stages.len()).sum();
        let templates = of_type("aws_fis_experiment_template");
        assert_eq!(templates.len(), stages);
        assert_eq!(of_type("aws_cloudwatch_metric_alarm").len(), g.alarms.len());
        for t in templates {
            let attrs: Vec<&str> = t.body().attributes().map(|a| a.key()).collect();
            for want in ["description", "role_arn", "tags"] {
                assert!(attrs.contains(&want), "{want} in {attrs:?}");
            }
            let blocks: Vec<&str> = t.body().blocks().map(|b| b.identifier()).collect();
            for want in [
                "stop_condition",
                "action",
                "target",
                "log_configuration",
                "experiment_options",
            ] {
                assert!(blocks.contains(&want), "{want} in {blocks:?}");
            }
            let target = t
                .body()
                .blocks()
                .find(|b| b.identifier() == "target")
                .expect("target");
            let mode = target
                .body()
                .attributes()
                .find(|a| a.key() == "selection_mode")
                .expect("selection_mode");
            assert!(matches!(mode.expr(), hcl::Expression::String(_)));
        }
        assert!(
            text.contains("value = aws_cloudwatch_metric_alarm.gameday_checkout_error_rate.arn")
        );
        assert!(text.contains("extended_statistic = \"p99\""));
    }

    /// The planned GameDay with experiment reports configured.
    fn with_reports() -> GameDayScenario {
        let mut g = planned();
        g.fis.report = Some(crate::plan::scenario::ScenarioReport {
            bucket: "gameday-reports".into(),
            prefix: Some("fis/".into()),
            pre_experiment: crate::plan::IsoDuration::from_mins(20),
            post_experiment: crate::plan::IsoDuration::from_mins(10),
        });
        g
    }

    #[test]
    fn cloudformation_holds_role_policies_access_entry_dashboard_and_reports() {
        use crate::iam::actions::check_policy_document;
        let g = with_reports();
        let text = export_cloudformation(&g).expect("exports");
        let doc: Value = serde_json::from_str(&text).expect("valid JSON");
        let r = &doc["Resources"];
        let role = &r["FisExperimentRole"];
        assert_eq!(role["Type"], "AWS::IAM::Role");
        let p = &role["Properties"];
        assert_eq!(
            check_policy_document(&p["AssumeRolePolicyDocument"], true),
            Vec::<String>::new()
        );
        assert_eq!(
            check_policy_document(&p["Policies"][0]["PolicyDocument"], false),
            Vec::<String>::new()
        );
        assert_eq!(
            format!(
                "arn:aws:iam::{}:role/{}",
                g.account_id,
                p["RoleName"].as_str().expect("name")
            ),
            g.fis.role_arn
        );
        for id in ["GamedayRunnerReadPolicy", "GamedayRunnerWritePolicy"] {
            assert_eq!(r[id]["Type"], "AWS::IAM::ManagedPolicy");
            assert_eq!(
                check_policy_document(&r[id]["Properties"]["PolicyDocument"], false),
                Vec::<String>::new()
            );
        }
        let entries: Vec<&Value> = r
            .as_object()
            .expect("resources")
            .values()
            .filter(|v| v["Type"] == "AWS::EKS::AccessEntry")
            .collect();
        assert_eq!(entries.len(), crate::iam::kubernetes::clusters(&g).len());
        assert_eq!(entries[0]["Properties"]["Username"], "fis-experiment");
        let body: Value = serde_json::from_str(
            r["GamedayDashboard"]["Properties"]["DashboardBody"]
                .as_str()
                .expect("body string"),
        )
        .expect("dashboard body is JSON");
        assert!(body["widgets"].is_array());
        let template = r
            .as_object()
            .expect("resources")
            .values()
            .find(|v| v["Type"] == "AWS::FIS::ExperimentTemplate")
            .expect("a template");
        assert_eq!(template["DependsOn"], json!(["FisExperimentRole"]));
        let report = &template["Properties"]["ExperimentReportConfiguration"];
        assert_eq!(
            report["Outputs"]["ExperimentReportS3Configuration"]["BucketName"],
            "gameday-reports"
        );
        assert_eq!(
            report["DataSources"]["CloudWatchDashboards"][0]["DashboardIdentifier"],
            crate::plan::dashboard::dashboard_arn(&g)
        );
        assert!(
            doc["Metadata"]["gameday::KubernetesRbac"]
                .as_str()
                .is_some_and(|y| y.contains("kind: RoleBinding"))
        );
    }

    /// AWS's own linter accepts the CloudFormation export (no errors; warnings allowed). It
    /// runs `cfn-lint` from the repository's `.venv` (`scripts/test` installs the pinned
    /// version there).
    #[test]
    fn cfn_lint_finds_no_errors_in_the_cloudformation_export() {
        let lint = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/cfn-lint");
        assert!(
            lint.exists(),
            "{} is missing: run `scripts/local-aws install`",
            lint.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, g) in [("plain", planned()), ("reports", with_reports())] {
            let path = dir.path().join(format!("{name}.json"));
            std::fs::write(&path, export_cloudformation(&g).expect("exports")).expect("write");
            let out = std::process::Command::new(&lint)
                .args(["--format", "parseable", "--regions", &g.region])
                .arg(&path)
                .output()
                .expect("cfn-lint runs");
            let code = out.status.code().expect("exit code");
            // cfn-lint's exit code is a bit set: 2 = errors, 4 = warnings, 8 = informational.
            assert_eq!(
                code & 2,
                0,
                "cfn-lint errors in the {name} export:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                !stdout.contains(":W3037:"),
                "cfn-lint does not know an IAM action of the {name} export:\n{stdout}"
            );
        }
    }

    #[test]
    fn terraform_names_the_role_policies_rbac_and_dashboard() {
        let g = with_reports();
        let text = export_terraform(&g).expect("exports");
        let body: hcl::Body = hcl::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let of_type = |ty: &str| {
            body.blocks()
                .filter(|b| {
                    b.identifier() == "resource"
                        && b.labels().first().is_some_and(|l| l.as_str() == ty)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(of_type("aws_iam_role").len(), 1);
        assert_eq!(of_type("aws_iam_role_policy").len(), 1);
        assert_eq!(of_type("aws_iam_policy").len(), 2);
        assert_eq!(of_type("aws_cloudwatch_dashboard").len(), 1);
        let clusters = crate::iam::kubernetes::clusters(&g).len();
        let namespaces = crate::iam::kubernetes::rbac_targets(&g).len();
        assert_eq!(of_type("aws_eks_access_entry").len(), clusters);
        assert_eq!(of_type("kubernetes_role_v1").len(), namespaces);
        assert_eq!(of_type("kubernetes_role_binding_v1").len(), namespaces);
        assert_eq!(of_type("kubernetes_service_account_v1").len(), namespaces);
        // The policy strings are the generated documents.
        let role_policy = of_type("aws_iam_role_policy")[0];
        let policy = role_policy
            .body()
            .attributes()
            .find(|a| a.key() == "policy")
            .expect("policy");
        let hcl::Expression::String(json_text) = policy.expr() else {
            panic!("policy is a string");
        };
        let doc: Value = serde_json::from_str(json_text).expect("policy JSON");
        assert_eq!(doc, crate::iam::permissions_policy(&g));
        for t in of_type("aws_fis_experiment_template") {
            let blocks: Vec<&str> = t.body().blocks().map(|b| b.identifier()).collect();
            assert!(
                blocks.contains(&"experiment_report_configuration"),
                "{blocks:?}"
            );
            assert!(t.body().attributes().any(|a| a.key() == "depends_on"));
        }
    }

    #[test]
    fn hcl_strings_are_escaped_and_not_interpolated() {
        let block = Block::builder("x")
            .add_attribute(("y", "a \"b\" ${c} %{d}\n"))
            .build();
        let text = hcl_text(&block);
        assert_eq!(text, "x {\n  y = \"a \\\"b\\\" $${c} %%{d}\\n\"\n}\n");
        let body: hcl::Body = hcl::from_str(&text).expect("parses");
        assert_eq!(body.blocks().count(), 1);
    }
}
