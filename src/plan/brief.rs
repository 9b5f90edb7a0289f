//! The pre-GameDay brief (`brief.md`): what is injected where and when, the blast radius of each
//! stage, the stop conditions, the expected impact and how to stop an experiment by hand.
//!
//! Input: a validated [`GameDayScenario`]. Output: markdown rendered with minijinja from
//! `templates/brief.md.j2` (embedded, undefined values are errors) from a serialisable context in
//! which every number is already formatted. It must not read the clock or call AWS: the same
//! scenario always gives the same brief.

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use super::duration::IsoDuration;
use super::error::PlanError;
use super::scenario::{GameDayScenario, Scenario, SkippedClass, Stage, template_file_name};
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
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(render)?,
    );
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
    skipped: &'a [SkippedClass],
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

/// The longest fault duration of a scenario's actions (zero for instant actions).
fn fault_duration(s: &Scenario) -> IsoDuration {
    s.actions
        .iter()
        .filter_map(|a| a.parameters.get("duration"))
        .filter_map(|d| IsoDuration::parse(d).ok())
        .max()
        .unwrap_or(IsoDuration::ZERO)
}

fn stage_context(s: &Scenario, st: &Stage) -> StageContext {
    let fault = fault_duration(s);
    StageContext {
        name: st.name.clone(),
        selection: st.selection.to_string(),
        blast_radius: blast_radius(st.selection, &s.target.selector),
        fault: if fault == IsoDuration::ZERO {
            "instant".to_owned()
        } else {
            human(fault)
        },
        observe: human(st.observe),
        template_file: template_file_name(s, st),
    }
}

use super::generate::format_threshold as number;

fn context(g: &GameDayScenario) -> BriefContext<'_> {
    let mut total = IsoDuration::ZERO;
    let scenarios: Vec<ScenarioContext> = g
        .scenarios
        .iter()
        .map(|s| {
            for st in &s.stages {
                total = total
                    .saturating_add(fault_duration(s))
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
        skipped: &g.skipped,
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
