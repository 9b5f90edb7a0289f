//! The runner policy: every AWS call gameday makes, in ONE table, and the IAM policies built
//! from it.
//!
//! Input: [`CALLS`] and a [`RunnerScope`] (account, region, FIS role, log groups). Output: two
//! identity policies for the principal that runs gameday — [`runner_policy`] with
//! [`PolicySet::Read`] (`mine`, `steady-state`, `doctor`, `plan` without `--apply`) and with
//! [`PolicySet::Write`] (`plan --apply`, `run`, `recover`, `schedule export --apply`), scoped by
//! name prefix and tag where the API allows it. A test scans the source for SDK call sites and
//! fails when one is missing here, and fails for a row no code calls. Must not call AWS.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Tag every template gameday creates carries (its value is the GameDay name).
pub const TEMPLATE_TAG: &str = "gameday";
/// Tag every experiment gameday starts carries (its value is the run id).
pub const RUN_TAG: &str = "gameday-run";
/// Prefix of every alarm, dashboard and schedule gameday names.
pub const NAME_PREFIX: &str = "gameday-";

/// Which of the two runner policies a call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicySet {
    /// Called by the read-only commands (`mine`, `steady-state`, `doctor`, `plan`).
    Read,
    /// Called only by commands that create, change or run something.
    Write,
    /// Called only against the local emulator (`demo`); in neither policy.
    Emulator,
}

/// The resources a call is allowed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// `*`: the API has no resource-level permissions for the call.
    Any,
    /// The configured incident log groups (`incidents.log_groups`), or every group.
    IncidentLogGroups,
    /// Alarms named `gameday-*`.
    Alarms,
    /// Dashboards named `gameday-*`.
    Dashboards,
    /// FIS action resources (`action/*`), which carry no tags.
    FisActions,
    /// Experiment templates tagged `gameday`.
    TaggedTemplates,
    /// New experiment templates, only when the request tags them `gameday`.
    NewTemplates,
    /// Any experiment (reads).
    Experiments,
    /// Experiments tagged `gameday-run`.
    TaggedExperiments,
    /// New experiments, only when the request tags them `gameday-run`.
    NewExperiments,
    /// The FIS experiment role (IAM reads by `doctor`).
    FisRole,
    /// Policies attached to the FIS experiment role (this account's and AWS managed ones).
    Policies,
    /// `iam:PassRole` of the FIS role, to FIS only.
    PassFisRole,
    /// EventBridge schedules named `gameday-*` in the default group.
    Schedules,
    /// `iam:PassRole` of the scheduler's role, to EventBridge Scheduler only.
    PassSchedulerRole,
}

/// One IAM action gameday needs.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// `service:Action` as IAM spells it.
    pub action: &'static str,
    /// The SDK operation (`snake_case`) that makes it, or `None` for a permission the call of
    /// another row needs (`iam:PassRole`, tag-on-create).
    pub operation: Option<&'static str>,
    /// Which policy it goes into.
    pub set: PolicySet,
    /// The commands that make it.
    pub commands: &'static str,
    /// Where it is allowed.
    pub scopes: &'static [Scope],
}

const fn sdk(
    action: &'static str,
    operation: &'static str,
    set: PolicySet,
    commands: &'static str,
    scopes: &'static [Scope],
) -> Call {
    Call {
        action,
        operation: Some(operation),
        set,
        commands,
        scopes,
    }
}

const fn needed(
    action: &'static str,
    set: PolicySet,
    commands: &'static str,
    scopes: &'static [Scope],
) -> Call {
    Call {
        action,
        operation: None,
        set,
        commands,
        scopes,
    }
}

use PolicySet::{Emulator, Read, Write};
use Scope::*;

/// Every AWS call gameday makes. A new SDK call site fails the `every_sdk_call_site_is_in_the_table`
/// test until it has a row here.
pub const CALLS: &[Call] = &[
    // STS: who am I (needs no permission, listed so the policy says what is called).
    sdk(
        "sts:GetCallerIdentity",
        "get_caller_identity",
        Read,
        "doctor, plan, run",
        &[Any],
    ),
    // CloudWatch Logs: mining.
    sdk(
        "logs:FilterLogEvents",
        "filter_log_events",
        Read,
        "mine, plan",
        &[IncidentLogGroups],
    ),
    sdk(
        "logs:StartQuery",
        "start_query",
        Read,
        "mine, plan",
        &[IncidentLogGroups],
    ),
    sdk(
        "logs:GetQueryResults",
        "get_query_results",
        Read,
        "mine, plan",
        &[Any],
    ),
    sdk("logs:StopQuery", "stop_query", Read, "mine, plan", &[Any]),
    sdk(
        "logs:DescribeLogGroups",
        "describe_log_groups",
        Read,
        "doctor",
        &[Any],
    ),
    // CloudWatch metrics, alarms, dashboards.
    sdk(
        "cloudwatch:GetMetricData",
        "get_metric_data",
        Read,
        "steady-state, plan, run",
        &[Any],
    ),
    sdk(
        "cloudwatch:ListMetrics",
        "list_metrics",
        Read,
        "doctor",
        &[Any],
    ),
    sdk(
        "cloudwatch:DescribeAlarms",
        "describe_alarms",
        Read,
        "doctor, steady-state --apply, plan --apply, run",
        &[Any],
    ),
    sdk(
        "cloudwatch:PutMetricAlarm",
        "put_metric_alarm",
        Write,
        "steady-state derive --apply, plan --apply",
        &[Alarms],
    ),
    needed(
        "cloudwatch:TagResource",
        Write,
        "PutMetricAlarm with tags",
        &[Alarms],
    ),
    sdk(
        "cloudwatch:GetDashboard",
        "get_dashboard",
        Write,
        "plan --apply",
        &[Dashboards],
    ),
    sdk(
        "cloudwatch:PutDashboard",
        "put_dashboard",
        Write,
        "plan --apply",
        &[Dashboards],
    ),
    // FIS.
    sdk(
        "fis:ListExperimentTemplates",
        "list_experiment_templates",
        Read,
        "doctor, plan --apply, run",
        &[Any],
    ),
    sdk(
        "fis:ListExperiments",
        "list_experiments",
        Read,
        "doctor, run, recover",
        &[Any],
    ),
    sdk(
        "fis:GetExperimentTemplate",
        "get_experiment_template",
        Write,
        "plan --apply, run",
        &[TaggedTemplates],
    ),
    sdk(
        "fis:CreateExperimentTemplate",
        "create_experiment_template",
        Write,
        "plan --apply, run",
        &[NewTemplates, FisActions],
    ),
    sdk(
        "fis:UpdateExperimentTemplate",
        "update_experiment_template",
        Write,
        "plan --apply, run",
        &[TaggedTemplates, FisActions],
    ),
    needed(
        "fis:TagResource",
        Write,
        "CreateExperimentTemplate and StartExperiment with tags",
        &[NewTemplates, NewExperiments],
    ),
    needed(
        "iam:PassRole",
        Write,
        "CreateExperimentTemplate, UpdateExperimentTemplate",
        &[PassFisRole],
    ),
    sdk(
        "fis:StartExperiment",
        "start_experiment",
        Write,
        "run",
        &[TaggedTemplates, NewExperiments],
    ),
    sdk(
        "fis:GetExperiment",
        "get_experiment",
        Write,
        "run, recover",
        &[Experiments],
    ),
    sdk(
        "fis:ListExperimentResolvedTargets",
        "list_experiment_resolved_targets",
        Write,
        "run",
        &[Experiments],
    ),
    sdk(
        "fis:StopExperiment",
        "stop_experiment",
        Write,
        "run, recover",
        &[TaggedExperiments],
    ),
    // IAM reads: doctor checks the FIS experiment role; run's preflight reads the role an API
    // fault targets (any role the scenario names, so no narrower resource is known here).
    sdk("iam:GetRole", "get_role", Read, "doctor, run", &[Any]),
    sdk(
        "iam:ListRoleTags",
        "list_role_tags",
        Write,
        "run (preflight of API faults: the role's opt-in tag)",
        &[Any],
    ),
    // EKS and RDS reads: run's preflight of node-group and database faults.
    sdk(
        "eks:ListNodegroups",
        "list_nodegroups",
        Write,
        "run (preflight of node-group faults)",
        &[Any],
    ),
    sdk(
        "eks:DescribeNodegroup",
        "describe_nodegroup",
        Write,
        "run (preflight of node-group faults)",
        &[Any],
    ),
    sdk(
        "rds:DescribeDBClusters",
        "describe_db_clusters",
        Write,
        "run (preflight of database faults)",
        &[Any],
    ),
    sdk(
        "iam:ListRolePolicies",
        "list_role_policies",
        Read,
        "doctor",
        &[FisRole],
    ),
    sdk(
        "iam:GetRolePolicy",
        "get_role_policy",
        Read,
        "doctor",
        &[FisRole],
    ),
    sdk(
        "iam:ListAttachedRolePolicies",
        "list_attached_role_policies",
        Read,
        "doctor",
        &[FisRole],
    ),
    sdk("iam:GetPolicy", "get_policy", Read, "doctor", &[Policies]),
    sdk(
        "iam:GetPolicyVersion",
        "get_policy_version",
        Read,
        "doctor",
        &[Policies],
    ),
    // EventBridge Scheduler.
    sdk(
        "scheduler:GetSchedule",
        "get_schedule",
        Write,
        "schedule export --apply",
        &[Schedules],
    ),
    sdk(
        "scheduler:CreateSchedule",
        "create_schedule",
        Write,
        "schedule export --apply",
        &[Schedules],
    ),
    sdk(
        "scheduler:UpdateSchedule",
        "update_schedule",
        Write,
        "schedule export --apply",
        &[Schedules],
    ),
    needed(
        "iam:PassRole",
        Write,
        "CreateSchedule, UpdateSchedule",
        &[PassSchedulerRole],
    ),
    // The simulation writes into the local emulator only; never granted in an account.
    sdk(
        "cloudwatch:PutMetricData",
        "put_metric_data",
        Emulator,
        "demo",
        &[Any],
    ),
    sdk(
        "cloudwatch:SetAlarmState",
        "set_alarm_state",
        Emulator,
        "tests",
        &[Any],
    ),
    sdk(
        "logs:CreateLogGroup",
        "create_log_group",
        Emulator,
        "demo",
        &[Any],
    ),
    sdk(
        "logs:CreateLogStream",
        "create_log_stream",
        Emulator,
        "demo",
        &[Any],
    ),
    sdk(
        "logs:PutLogEvents",
        "put_log_events",
        Emulator,
        "demo",
        &[Any],
    ),
    // The demo config's simulated FIS role, created in the emulator by `demo seed`.
    sdk("iam:CreateRole", "create_role", Emulator, "demo", &[Any]),
    sdk(
        "iam:PutRolePolicy",
        "put_role_policy",
        Emulator,
        "demo",
        &[Any],
    ),
];

/// What the runner policies are scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerScope {
    /// AWS account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// The FIS experiment role gameday passes to FIS.
    pub fis_role_arn: String,
    /// Incident log group names; empty = every log group of the account and region.
    pub incident_log_groups: Vec<String>,
}

/// A scope's resources and condition (`None` = no condition).
fn resolve(scope: Scope, s: &RunnerScope) -> (Vec<String>, Option<Value>) {
    let (a, r) = (&s.account_id, &s.region);
    let fis = |what: &str| format!("arn:aws:fis:{r}:{a}:{what}");
    let tagged = |key: &str| json!({"Null": {format!("aws:ResourceTag/{key}"): "false"}});
    let requested = |key: &str| json!({"Null": {format!("aws:RequestTag/{key}"): "false"}});
    match scope {
        Any => (vec!["*".to_owned()], None),
        IncidentLogGroups => {
            let groups = if s.incident_log_groups.is_empty() {
                vec![format!("arn:aws:logs:{r}:{a}:log-group:*")]
            } else {
                s.incident_log_groups
                    .iter()
                    .map(|g| format!("arn:aws:logs:{r}:{a}:log-group:{g}:*"))
                    .collect()
            };
            (groups, None)
        }
        Alarms => (
            vec![format!("arn:aws:cloudwatch:{r}:{a}:alarm:{NAME_PREFIX}*")],
            None,
        ),
        Dashboards => (
            vec![format!("arn:aws:cloudwatch::{a}:dashboard/{NAME_PREFIX}*")],
            None,
        ),
        FisActions => (vec![fis("action/*")], None),
        TaggedTemplates => (
            vec![fis("experiment-template/*")],
            Some(tagged(TEMPLATE_TAG)),
        ),
        NewTemplates => (
            vec![fis("experiment-template/*")],
            Some(requested(TEMPLATE_TAG)),
        ),
        Experiments => (vec![fis("experiment/*")], None),
        TaggedExperiments => (vec![fis("experiment/*")], Some(tagged(RUN_TAG))),
        NewExperiments => (vec![fis("experiment/*")], Some(requested(RUN_TAG))),
        FisRole => (vec![s.fis_role_arn.clone()], None),
        Policies => (
            vec![
                "arn:aws:iam::aws:policy/*".to_owned(),
                format!("arn:aws:iam::{a}:policy/*"),
            ],
            None,
        ),
        PassFisRole => (
            vec![s.fis_role_arn.clone()],
            Some(json!({"StringEquals": {"iam:PassedToService": "fis.amazonaws.com"}})),
        ),
        Schedules => (
            vec![format!(
                "arn:aws:scheduler:{r}:{a}:schedule/default/{NAME_PREFIX}*"
            )],
            None,
        ),
        PassSchedulerRole => (
            vec![format!("arn:aws:iam::{a}:role/*")],
            Some(json!({"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}})),
        ),
    }
}

fn sid(scope: Scope) -> &'static str {
    match scope {
        Any => "NoResourceLevelPermissions",
        IncidentLogGroups => "IncidentLogGroups",
        Alarms => "GamedayAlarms",
        Dashboards => "GamedayDashboards",
        FisActions => "FisActions",
        TaggedTemplates => "GamedayTemplates",
        NewTemplates => "NewTemplatesTaggedGameday",
        Experiments => "FisExperiments",
        TaggedExperiments => "GamedayExperiments",
        NewExperiments => "NewExperimentsTaggedGamedayRun",
        FisRole => "FisExperimentRole",
        Policies => "FisExperimentRolePolicies",
        PassFisRole => "PassFisRoleToFis",
        Schedules => "GamedaySchedules",
        PassSchedulerRole => "PassRoleToScheduler",
    }
}

/// The identity policy for one [`PolicySet`] (an empty statement list for
/// [`PolicySet::Emulator`], which is never granted): one statement per scope, actions sorted.
pub fn runner_policy(set: PolicySet, scope: &RunnerScope) -> Value {
    let mut by_scope: BTreeMap<Scope, Vec<&str>> = BTreeMap::new();
    if set != Emulator {
        for call in CALLS.iter().filter(|c| c.set == set) {
            for s in call.scopes {
                by_scope.entry(*s).or_default().push(call.action);
            }
        }
    }
    let statements: Vec<Value> = by_scope
        .into_iter()
        .map(|(s, mut actions)| {
            actions.sort_unstable();
            actions.dedup();
            let (resources, condition) = resolve(s, scope);
            let mut st = serde_json::Map::new();
            let prefix = if set == Read { "Read" } else { "Write" };
            st.insert("Sid".into(), json!(format!("{prefix}{}", sid(s))));
            st.insert("Effect".into(), json!("Allow"));
            st.insert("Action".into(), json!(actions));
            st.insert("Resource".into(), json!(resources));
            if let Some(c) = condition {
                st.insert("Condition".into(), c);
            }
            Value::Object(st)
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Receivers of SDK clients in this crate (`c.fis`, `self.logs`, `client`, …) and the IAM
    /// service prefix of their calls.
    const RECEIVERS: &[(&str, &str)] = &[
        ("fis", "fis"),
        ("cloudwatch", "cloudwatch"),
        ("logs", "logs"),
        ("sts", "sts"),
        ("iam", "iam"),
        ("eks", "eks"),
        ("rds", "rds"),
        ("scheduler", "scheduler"),
        ("client", "scheduler"),
    ];

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The IAM actions of the services the crate has clients for, lowercased without the
    /// prefix: `fis` → {`startexperiment`, …}.
    fn operations(service: &str) -> BTreeSet<String> {
        crate::iam::actions::known_actions()
            .iter()
            .filter_map(|a| a.strip_prefix(&format!("{service}:")))
            .map(str::to_owned)
            .collect()
    }

    /// Every `<receiver>.<operation>()` in the crate's source where `operation` is an API
    /// operation of the receiver's service (SDK fluent builders take no arguments), as
    /// `(service:operation_snake, file:line)`.
    fn sdk_call_sites() -> Vec<(String, String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        let re = regex::Regex::new(r"\b([a-z_]+)\s*\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)")
            .expect("valid regex");
        let mut out = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            // The tests of this file name operations in strings; they are not call sites.
            if file.ends_with("iam/calls.rs") {
                continue;
            }
            for m in re.captures_iter(&text) {
                let receiver = &m[1];
                let op = &m[2];
                let Some((_, service)) = RECEIVERS.iter().find(|(r, _)| *r == receiver) else {
                    continue;
                };
                if !operations(service).contains(&op.replace('_', "")) {
                    continue;
                }
                let line = text[..m.get(0).map_or(0, |g| g.start())].lines().count() + 1;
                out.push((
                    (*service).to_owned(),
                    op.to_owned(),
                    format!("{}:{line}", file.display()),
                ));
            }
        }
        out
    }

    #[test]
    fn every_sdk_call_site_is_in_the_table() {
        let sites = sdk_call_sites();
        assert!(
            sites.len() >= 30,
            "the scan found too few call sites ({}), so it is broken: {sites:?}",
            sites.len()
        );
        for (service, op, at) in &sites {
            assert!(
                CALLS.iter().any(|c| c.operation == Some(op.as_str())
                    && c.action.starts_with(&format!("{service}:"))),
                "{at}: {service} `{op}()` is not in iam::calls::CALLS; add a row with the IAM \
                 action, the policy set and the resources it needs"
            );
        }
    }

    #[test]
    fn every_sdk_row_is_called_somewhere() {
        let sites = sdk_call_sites();
        for c in CALLS {
            let Some(op) = c.operation else { continue };
            let service = c.action.split(':').next().unwrap_or_default();
            assert!(
                sites.iter().any(|(s, o, _)| s == service && o == op),
                "{} ({op}) is in the table but no code calls it: remove the row",
                c.action
            );
        }
    }

    #[test]
    fn the_scan_sees_a_call_split_over_lines() {
        // `c.fis\n.list_experiment_templates()` in doctor.rs is one call site.
        let sites = sdk_call_sites();
        assert!(
            sites.iter().any(|(s, o, at)| s == "fis"
                && o == "list_experiment_templates"
                && at.contains("doctor.rs")),
            "{sites:?}"
        );
    }

    #[test]
    fn table_actions_exist_in_the_service_reference() {
        for c in CALLS {
            assert!(
                crate::iam::actions::is_known(c.action),
                "{} is not an IAM action",
                c.action
            );
            assert_eq!(
                c.operation.map(|o| o.replace('_', "")),
                c.operation.map(|_| c
                    .action
                    .split(':')
                    .nth(1)
                    .unwrap_or_default()
                    .to_lowercase()),
                "{}: the operation must be the action in snake_case",
                c.action
            );
        }
    }

    fn scope() -> RunnerScope {
        RunnerScope {
            account_id: "111122223333".into(),
            region: "eu-west-1".into(),
            fis_role_arn: "arn:aws:iam::111122223333:role/gameday-fis".into(),
            incident_log_groups: vec!["/aws/containerinsights/prod/application".into()],
        }
    }

    #[test]
    fn read_policy_has_no_write_call_and_write_policy_is_scoped() {
        let read = runner_policy(Read, &scope());
        let text = read.to_string();
        for write in [
            "PutMetricAlarm",
            "StartExperiment",
            "StopExperiment",
            "PassRole",
        ] {
            assert!(!text.contains(write), "{write} in the read policy: {text}");
        }
        assert!(text.contains("log-group:/aws/containerinsights/prod/application:*"));
        let write = runner_policy(Write, &scope());
        let statements = write["Statement"].as_array().expect("statements");
        let find = |sid: &str| {
            statements
                .iter()
                .find(|s| s["Sid"] == sid)
                .unwrap_or_else(|| panic!("{sid} in {write}"))
        };
        let stop = find("WriteGamedayExperiments");
        assert_eq!(stop["Action"], json!(["fis:StopExperiment"]));
        assert_eq!(
            stop["Condition"]["Null"]["aws:ResourceTag/gameday-run"],
            "false"
        );
        let start = find("WriteNewExperimentsTaggedGamedayRun");
        assert!(
            start["Action"]
                .as_array()
                .expect("actions")
                .contains(&json!("fis:StartExperiment"))
        );
        let alarms = find("WriteGamedayAlarms");
        assert_eq!(
            alarms["Resource"],
            json!(["arn:aws:cloudwatch:eu-west-1:111122223333:alarm:gameday-*"])
        );
        let pass = find("WritePassFisRoleToFis");
        assert_eq!(
            pass["Resource"],
            json!(["arn:aws:iam::111122223333:role/gameday-fis"])
        );
        assert!(
            !write.to_string().contains("PutMetricData"),
            "emulator-only calls are never granted"
        );
    }
}
