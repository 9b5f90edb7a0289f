//! The pre-GameDay brief (`brief.md`): what is injected where and when, the blast radius of each
//! stage, the stop conditions, the expected impact and how to stop an experiment by hand.
//!
//! Input: a validated [`GameDayScenario`]. Output: markdown rendered with minijinja from
//! `templates/brief.md.j2` (embedded, undefined values are errors) from a serialisable context in
//! which every number is already formatted. It must not read the clock or call AWS: the same
//! scenario always gives the same brief.

use minijinja::Value;
use minijinja::value::Serde;
use serde::Serialize;

use super::duration::IsoDuration;
use super::error::PlanError;
use super::scenario::{
    GameDayScenario, ResourceTarget, Scenario, SkippedClass, Stage, template_file_name,
};
use super::selection::SelectionMode;

const TEMPLATE_NAME: &str = "brief.md";
const TEMPLATE: &str = include_str!("../../templates/brief.md.j2");

/// Renders the brief.
///
/// # Errors
///
/// [`PlanError::Render`] if the template fails (a bug: the context always has every field).
pub fn render_brief(gameday: &GameDayScenario) -> Result<String, PlanError> {
    let render = |source| PlanError::Render {
        template: TEMPLATE_NAME,
        source,
    };
    let mut env = crate::jinja::environment().map_err(render)?;
    env.add_template(TEMPLATE_NAME, TEMPLATE).map_err(render)?;
    let ctx = context(gameday);
    env.get_template(TEMPLATE_NAME)
        .and_then(|t| t.render(Value::from(Serde(&ctx))))
        .map_err(render)
}

#[derive(Debug, Serialize)]
struct BriefContext<'a> {
    name: &'a str,
    date: String,
    owner: &'a str,
    environment: &'a str,
    account_id: &'a str,
    region: &'a str,
    role_arn: &'a str,
    log_group_arn: &'a str,
    dashboard_url: String,
    report_location: Option<String>,
    scenario_count: usize,
    stage_count: usize,
    total_time: String,
    scenarios: Vec<ScenarioContext>,
    skipped: Vec<SkippedContext<'a>>,
}

#[derive(Debug, Serialize)]
struct SkippedContext<'a> {
    service: &'a str,
    fault_class: &'a str,
    reason: &'a str,
    /// How to rehearse it without FIS, for classes no FIS action reproduces.
    rehearsal: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct ScenarioContext {
    name: String,
    service: String,
    fault_class: String,
    why: String,
    top_templates: Vec<String>,
    caveat: Option<String>,
    actions: Vec<ActionContext>,
    cluster: String,
    namespace: String,
    selector: String,
    /// AWS resource targets, described (empty for pod faults).
    resources: Vec<String>,
    /// What kind of fault this is and how it is staged.
    kind: String,
    stages: Vec<StageContext>,
    override_reason: Option<String>,
    stop_alarms: Vec<AlarmContext>,
    hypothesis: Vec<String>,
    expected: String,
    success_criteria: Vec<String>,
    rollback: String,
}

#[derive(Debug, Serialize)]
struct ActionContext {
    name: String,
    action_id: String,
    parameters: String,
}

#[derive(Debug, Serialize)]
struct StageContext {
    name: String,
    selection: String,
    blast_radius: String,
    fault: String,
    observe: String,
    template_file: String,
}

#[derive(Debug, Serialize)]
struct AlarmContext {
    name: String,
    arn: String,
    description: String,
}

/// A human form of an ISO-8601 duration: `5 min`, `1 h 30 min`, `45 s`.
fn human(d: IsoDuration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s} s"));
    }
    parts.join(" ")
}

fn blast_radius(selection: SelectionMode, selector: &str) -> String {
    match selection {
        SelectionMode::Count(1) => format!("1 pod labelled `{selector}`"),
        SelectionMode::Count(n) => format!("{n} pods labelled `{selector}`"),
        SelectionMode::Percent(p) => format!(
            "{p} % of the pods labelled `{selector}`, rounded down (fewer than {} such pods select none and the experiment fails)",
            100_u32.div_ceil(u32::from(p))
        ),
        SelectionMode::All => format!("every pod labelled `{selector}`"),
    }
}

/// The longest fault duration of a stage's actions, with the stage's own values (zero for
/// instant actions).
fn fault_duration(s: &Scenario, st: &Stage) -> IsoDuration {
    s.actions
        .iter()
        .filter(|a| st.runs(&a.name))
        .filter_map(|a| {
            st.parameters
                .get(&a.name)
                .and_then(|p| p.get("duration"))
                .or_else(|| a.parameters.get("duration"))
        })
        .filter_map(|d| IsoDuration::parse(d).ok())
        .max()
        .unwrap_or(IsoDuration::ZERO)
}

/// A resource target in words: its type and how FIS finds it.
fn describe_resource(r: &ResourceTarget) -> String {
    let mut how = Vec::new();
    if !r.arns.is_empty() {
        how.push(format!("ARN {}", r.arns.join(", ")));
    }
    if !r.tags.is_empty() {
        let tags: Vec<String> = r.tags.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
        how.push(format!("tagged {}", tags.join(" and ")));
    }
    for f in &r.filters {
        how.push(format!("{} in [{}]", f.path, f.values.join(", ")));
    }
    for (k, v) in &r.parameters {
        how.push(format!("{k} `{v}`"));
    }
    format!("`{}` {}", r.resource_type, how.join(", "))
}

/// The blast radius of a stage acting on AWS resources: what each action does to how many.
fn resource_blast_radius(s: &Scenario, st: &Stage) -> String {
    let cat = super::catalogue::catalogue();
    let mut parts = Vec::new();
    for a in s.actions.iter().filter(|a| st.runs(&a.name)) {
        let types: Vec<String> = cat
            .action(&a.action_id)
            .map(|spec| spec.targets.values().cloned().collect())
            .unwrap_or_default();
        let on = if types.iter().any(|t| t == "aws:eks:pod") {
            blast_radius(st.selection, &s.target.selector)
        } else {
            let what = types.join(", ");
            match st.selection {
                SelectionMode::Count(n) => format!("{n} opted-in `{what}`"),
                SelectionMode::Percent(p) => format!("{p} % of the opted-in `{what}`"),
                SelectionMode::All => format!("every opted-in `{what}`"),
            }
        };
        let mut params: Vec<String> = a
            .parameters
            .iter()
            .map(|(k, v)| {
                let v = st
                    .parameters
                    .get(&a.name)
                    .and_then(|p| p.get(k))
                    .unwrap_or(v);
                format!("{k}={v}")
            })
            .collect();
        if let Some(over) = st.parameters.get(&a.name) {
            for (k, v) in over {
                if !a.parameters.contains_key(k) {
                    params.push(format!("{k}={v}"));
                }
            }
        }
        let params = if params.is_empty() {
            String::new()
        } else {
            format!(" ({})", params.join(", "))
        };
        parts.push(format!("`{}`{params} on {on}", a.action_id));
    }
    parts.join("; ")
}

/// What kind of fault a scenario is, how it is staged, and what to know before running it.
fn kind_note(s: &Scenario) -> String {
    let ids: Vec<&str> = s.actions.iter().map(|a| a.action_id.as_str()).collect();
    let has = |prefix: &str| ids.iter().any(|id| id.starts_with(prefix));
    if has("aws:eks:terminate-nodegroup-instances") {
        "Node failure: one node instance is terminated first, then a growing share of one \
         opted-in managed node group; the Auto Scaling group replaces the nodes and Kubernetes \
         reschedules their pods. Preflight checks the node group has at least 2 instances and \
         the cluster has room for the evicted pods."
            .to_owned()
    } else if has("aws:rds:") {
        "Database failover: one reader is rebooted first, then the writer fails over to a \
         reader; at most one database is touched per stage. Preflight checks the DB cluster has \
         a reader to fail over to. Connections drop for tens of seconds: the hypothesis judges \
         whether the service retries and reconnects."
            .to_owned()
    } else if has("aws:network:disrupt-connectivity") {
        "Availability-zone impairment: the opted-in subnets of one zone first lose cross-zone \
         traffic, then all traffic (FIS swaps in a deny-all network ACL). Everything in those \
         subnets is affected. Preflight checks the service runs in at least 2 zones."
            .to_owned()
    } else if has("aws:fis:inject-api-") {
        "AWS API fault: a growing share (10 %, 50 %, 100 %) of the calls the service's IAM role \
         makes to one AWS API fail. Preflight checks the role is the one the service's pods use \
         and carries the opt-in tag."
            .to_owned()
    } else if has("aws:ec2:") {
        "Instance failure: opted-in EC2 instances are stopped or terminated, a growing number \
         per stage."
            .to_owned()
    } else if has("aws:eks:pod-network-blackhole-port") && s.fault_class != "dns-failure" {
        "Dependency connection failure: the pods' traffic to the dependency's port is dropped, \
         so connections time out; the service should fail fast, shed or degrade, and reconnect \
         when the port opens again."
            .to_owned()
    } else {
        "Pod fault: FIS acts on a growing share of the service's opted-in pods.".to_owned()
    }
}

/// How to rehearse a class that no FIS action reproduces, outside FIS.
fn non_fis_rehearsal(fault_class: &str) -> Option<&'static str> {
    match fault_class {
        "deploy-failure" => Some(
            "roll out a canary of the service with a deliberately bad image tag (e.g. \
             `kubectl set image deployment/<service> <container>=<image>:does-not-exist` on a \
             canary deployment), confirm the rollout stalls at its progress deadline without \
             taking ready pods away, then `kubectl rollout undo`; the hypothesis must hold \
             throughout",
        ),
        "error-burst" => Some(
            "reproduce the cause behind the 5xx instead (its evidence usually points at a \
             dependency, latency or resource class planned above), or inject HTTP errors on a \
             canary route with the service mesh or ingress (an abort fault on a small share of \
             requests) and watch the error-rate alarm and the callers' retries",
        ),
        _ => None,
    }
}

fn stage_context(s: &Scenario, st: &Stage) -> StageContext {
    let fault = fault_duration(s, st);
    StageContext {
        name: st.name.clone(),
        selection: st.selection.to_string(),
        blast_radius: if s.resources.is_empty() {
            blast_radius(st.selection, &s.target.selector)
        } else {
            resource_blast_radius(s, st)
        },
        fault: if fault == IsoDuration::ZERO {
            "instant".to_owned()
        } else {
            human(fault)
        },
        observe: human(st.observe),
        template_file: template_file_name(s, st),
    }
}

use crate::model::format::format_threshold as number;

fn context(g: &GameDayScenario) -> BriefContext<'_> {
    let mut total = IsoDuration::ZERO;
    let scenarios: Vec<ScenarioContext> = g
        .scenarios
        .iter()
        .map(|s| {
            for st in &s.stages {
                total = total
                    .saturating_add(fault_duration(s, st))
                    .saturating_add(st.observe);
            }
            let last_seen = s.why.last_seen.map_or_else(
                || "unknown".to_owned(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
            let why = format!(
                "{} incident{} of class {} (rank {}, {}), last seen {}, in services {}",
                s.why.incident_count,
                if s.why.incident_count == 1 { "" } else { "s" },
                s.fault_class,
                s.why
                    .rank
                    .map_or_else(|| "unranked".to_owned(), |r| r.to_string()),
                if s.why.verified {
                    "already exercised by a past GameDay"
                } else {
                    "never exercised by a GameDay"
                },
                last_seen,
                if s.why.services.is_empty() {
                    "unknown".to_owned()
                } else {
                    s.why.services.join(", ")
                },
            );
            // The run history, when the plan read one: the last verdict and why it was chosen.
            let why = match (&s.why.last_verdict, &s.why.chosen_because) {
                (None, None) => why,
                (verdict, chosen) => format!(
                    "{why}; last GameDay verdict: {}{}",
                    verdict.as_deref().unwrap_or("none"),
                    chosen
                        .as_ref()
                        .map(|c| format!("; chosen: {c}"))
                        .unwrap_or_default()
                ),
            };
            ScenarioContext {
                name: s.name.clone(),
                service: s.service.clone(),
                fault_class: s.fault_class.clone(),
                why,
                top_templates: s.why.top_templates.clone(),
                caveat: s.why.caveat.clone(),
                actions: s
                    .actions
                    .iter()
                    .map(|a| ActionContext {
                        name: a.name.clone(),
                        action_id: a.action_id.clone(),
                        parameters: a
                            .parameters
                            .iter()
                            .map(|(k, v)| format!("`{k}={v}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                    .collect(),
                cluster: s.target.cluster.clone(),
                namespace: s.target.namespace.clone(),
                selector: s.target.selector.clone(),
                resources: s.resources.iter().map(describe_resource).collect(),
                kind: kind_note(s),
                stages: s.stages.iter().map(|st| stage_context(s, st)).collect(),
                override_reason: s
                    .stop_conditions_override
                    .as_ref()
                    .map(|o| o.reason.clone()),
                stop_alarms: s
                    .stop_alarms
                    .iter()
                    .map(|name| AlarmContext {
                        name: name.clone(),
                        arn: g.alarm_arn(name),
                        description: g
                            .alarms
                            .iter()
                            .find(|a| &a.name == name)
                            .map(|a| a.description.clone())
                            .unwrap_or_default(),
                    })
                    .collect(),
                hypothesis: s
                    .hypothesis
                    .iter()
                    .map(|h| {
                        let mut bounds = Vec::new();
                        if let Some(u) = h.abort_upper {
                            bounds.push(format!("abort above {}", number(u)));
                        }
                        if let Some(l) = h.abort_lower {
                            bounds.push(format!("abort below {}", number(l)));
                        }
                        if bounds.is_empty() {
                            bounds.push("no static threshold".to_owned());
                        }
                        let alarms = if h.alarms.is_empty() {
                            String::new()
                        } else {
                            format!(" (alarm {})", h.alarms.join(", "))
                        };
                        format!("`{}`: {}{alarms}", h.metric, bounds.join(", "))
                    })
                    .collect(),
                expected: s.expected_behaviour.clone(),
                success_criteria: s.success_criteria.clone(),
                rollback: s.rollback.clone(),
            }
        })
        .collect();
    BriefContext {
        name: &g.name,
        date: g.date.format("%Y-%m-%d").to_string(),
        owner: &g.owner,
        environment: &g.environment,
        account_id: &g.account_id,
        region: &g.region,
        role_arn: &g.fis.role_arn,
        log_group_arn: &g.fis.log_group_arn,
        dashboard_url: super::dashboard::dashboard_url(g),
        report_location: super::dashboard::report_location(g),
        scenario_count: g.scenarios.len(),
        stage_count: g.scenarios.iter().map(|s| s.stages.len()).sum(),
        total_time: human(total),
        scenarios,
        skipped: g
            .skipped
            .iter()
            .map(|k: &SkippedClass| SkippedContext {
                service: &k.service,
                fault_class: &k.fault_class,
                reason: &k.reason,
                rehearsal: non_fis_rehearsal(&k.fault_class),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::generate::tests::planned;

    #[test]
    fn names_every_target_blast_radius_stop_alarm_and_the_stop_command() {
        let g = planned();
        let brief = render_brief(&g).expect("renders");
        assert!(brief.contains(&format!(
            "aws fis stop-experiment --id <experiment id> --region {}",
            g.region
        )));
        for s in &g.scenarios {
            assert!(
                brief.contains(&format!("`{}`", s.target.selector)),
                "{brief}"
            );
            assert!(brief.contains(&format!("`{}`", s.target.namespace)));
            assert!(brief.contains(&format!("`{}`", s.target.cluster)));
            for st in &s.stages {
                assert!(
                    brief.contains(&format!("`{}`", st.selection)),
                    "{}",
                    st.selection
                );
                assert!(brief.contains(&blast_radius(st.selection, &s.target.selector)));
                assert!(brief.contains(&template_file_name(s, st)));
            }
            for a in &s.stop_alarms {
                assert!(brief.contains(&g.alarm_arn(a)), "{a}");
            }
            assert!(brief.contains(&s.actions[0].action_id));
        }
        for k in &g.skipped {
            assert!(brief.contains(&k.fault_class));
        }
        assert!(!brief.contains("{{") && !brief.contains("{%"));
    }

    #[test]
    fn is_deterministic_and_snapshotted() {
        let g = planned();
        let a = render_brief(&g).expect("renders");
        assert_eq!(a, render_brief(&g).expect("renders"));
        insta::assert_snapshot!("brief", a);
    }

    #[test]
    fn an_override_is_spelled_out() {
        let mut g = planned();
        g.scenarios[0].stop_alarms.clear();
        g.scenarios[0].stop_conditions_override =
            Some(crate::plan::scenario::StopConditionsOverride {
                reason: "scratch namespace".into(),
            });
        let brief = render_brief(&g).expect("renders");
        assert!(
            brief.contains("overridden by hand: scratch namespace"),
            "{brief}"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(IsoDuration::from_mins(5)), "5 min");
        assert_eq!(human(IsoDuration::from_secs(5430)), "1 h 30 min 30 s");
        assert_eq!(human(IsoDuration::ZERO), "0 s");
        assert_eq!(number(0.8), "0.8");
        assert_eq!(number(12.0), "12");
    }
}
