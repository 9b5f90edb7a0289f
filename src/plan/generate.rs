//! Planning a GameDay: incident catalogue + steady-state hypotheses + config → scenario file.
//!
//! Input: the incident [`Catalogue`](crate::mine::Catalogue) (classes ranked, unverified first),
//! the hypotheses per service, the validated [`Config`] and [`PlanOptions`] (the date is passed
//! in: no clock). Output: a [`GameDayScenario`] that loads back with
//! [`super::scenario::load_scenario`], whose every stage template lints clean and passes the
//! config's blast-radius policy. It must not call AWS or the cluster, and never writes files.
//!
//! Targeting convention (FIS allows one label per `aws:eks:pod` selector, no commas):
//! - policy `required_label: chaos-experiment` (key only, recommended): each service's pods carry
//!   `chaos-experiment=<service>` and that label is the selector, so a scenario only reaches the
//!   pods of its service that opted in;
//! - `required_label: key=value`: the selector is that label itself; it cannot tell services
//!   apart, so two planned services sharing a cluster and namespace are refused;
//! - no opt-in label: the service's own `selector`, which must be one `key=value` label.
//!
//! Stages default to `COUNT(1) → PERCENT(10) → PERCENT(25)`, each capped by the policy's
//! `max_count`/`max_percent` (a stage that caps to the one before it is dropped).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::brief::render_brief;
use super::catalogue::catalogue;
use super::duration::IsoDuration;
use super::error::PlanError;
use super::export::{ExportFormat, export};
use super::fault_kinds::{FaultInputs, PlannedFault, plan_fault};
use super::scenario::{
    AlarmExpression, AlarmMetric, AlarmSpec, Evidence, GameDayScenario, HypothesisMetric,
    PodTarget, SCENARIO_SCHEMA_VERSION, Scenario, ScenarioFis, SkippedClass, Stage,
    check_scenario_config, check_scenario_policy, stage_templates, validate_scenario,
};
use super::selection::SelectionMode;
use crate::config::{Config, MetricQuery, MetricStat, Service};
use crate::mine::ClassSummary;
use crate::model::format::format_threshold;
use crate::steady_state::{AlarmInputs, MetricHypothesis, MetricIdentity, alarm_inputs};

/// Scenarios per service when not told otherwise.
pub const DEFAULT_TOP_PER_SERVICE: usize = 2;

/// Longest Kubernetes label value (the service name becomes one under the key-only convention).
const MAX_LABEL_VALUE: usize = 63;

/// How to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// GameDay name (lowercase letters, digits and `-`).
    pub name: String,
    /// Who runs it.
    pub owner: String,
    /// The day it is planned for (passed in so output is reproducible).
    pub date: NaiveDate,
    /// Fault classes per service.
    pub top_per_service: usize,
    /// AWS account id, for alarm ARNs.
    pub account_id: String,
    /// AWS region, for alarm ARNs.
    pub region: String,
    /// Stages, smallest first (capped by the policy).
    pub stages: Vec<SelectionMode>,
    /// Observation window after each stage's fault.
    pub observe: IsoDuration,
    /// How long each fault action runs (for actions with a `duration`).
    pub fault_duration: IsoDuration,
    /// Whether `--allow-production` was given.
    pub cli_allow_production: bool,
    /// Plan only these configured services (every configured service when empty).
    pub only_services: Vec<String>,
    /// The run history's standing of each service × class (`gameday history`). When set, a
    /// class counts as verified only when a GameDay run passed it within its validity, and
    /// classes rank failed or regressed first, then unverified, then verified; each scenario
    /// notes why it was chosen. `None`: the catalogue's own `verified` and order.
    pub history: Option<Vec<crate::history::ClassStanding>>,
}

impl PlanOptions {
    /// Options with the defaults: 2 classes per service, stages `COUNT(1)`, `PERCENT(10)`,
    /// `PERCENT(25)`, 5-minute observation windows and 5-minute faults.
    pub fn new(
        name: impl Into<String>,
        owner: impl Into<String>,
        date: NaiveDate,
        account_id: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            owner: owner.into(),
            date,
            top_per_service: DEFAULT_TOP_PER_SERVICE,
            account_id: account_id.into(),
            region: region.into(),
            stages: vec![
                SelectionMode::Count(1),
                SelectionMode::Percent(10),
                SelectionMode::Percent(25),
            ],
            observe: IsoDuration::from_mins(5),
            fault_duration: IsoDuration::from_mins(5),
            cli_allow_production: false,
            only_services: Vec::new(),
            history: None,
        }
    }
}

/// Plans a GameDay (see the module documentation for the rules).
///
/// # Errors
///
/// - [`PlanError::Unplannable`] when the config lacks what a template needs (role, log group,
///   cluster, namespace, a usable selector, an alarm to stop on), naming service, field, value
///   and requirement;
/// - [`PlanError::NothingToPlan`] when no class has a plannable FIS action;
/// - [`PlanError::PolicyViolation`] when a planned stage still breaks the policy (environment,
///   namespace, production cluster);
/// - [`PlanError::ScenarioMismatch`] when the options' account or region differ from the
///   config's;
/// - [`PlanError::ScenarioInvalid`] if a planned template does not lint clean (a bug).
pub fn plan(
    catalogue: &crate::mine::Catalogue,
    hypotheses: &[(String, Vec<MetricHypothesis>)],
    config: &Config,
    opts: &PlanOptions,
) -> Result<GameDayScenario, PlanError> {
    let unset = |field: &str, requirement: &str| PlanError::Unplannable {
        service: "*".to_owned(),
        field: field.to_owned(),
        value: "unset".to_owned(),
        requirement: requirement.to_owned(),
    };
    let role_arn = config
        .fis
        .role_arn
        .clone()
        .ok_or_else(|| unset("fis.role_arn", "FIS needs an experiment role"))?;
    let log_group_arn = config.fis.log_group_arn.clone().ok_or_else(|| {
        unset(
            "fis.log_group_arn",
            "every experiment logs to CloudWatch Logs",
        )
    })?;
    if opts.top_per_service == 0 {
        return Err(PlanError::Unplannable {
            service: "*".to_owned(),
            field: "top_per_service".to_owned(),
            value: "0".to_owned(),
            requirement: "plan at least one fault class per service".to_owned(),
        });
    }
    let stages = stages(config, opts)?;

    let mut scenarios = Vec::new();
    let mut alarms: Vec<AlarmSpec> = Vec::new();
    let mut skipped = Vec::new();
    let mut planned_targets: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for service in config
        .services
        .iter()
        .filter(|s| opts.only_services.is_empty() || opts.only_services.contains(&s.name))
    {
        let mut candidates: Vec<&ClassSummary> = catalogue
            .classes
            .iter()
            .filter(|c| c.services.iter().any(|s| s == &service.name))
            .collect();
        // The catalogue is ranked unverified-first already; a stable sort keeps that promise for
        // a hand-made catalogue too, without changing the rank order within each group.
        match &opts.history {
            Some(h) => candidates.sort_by_key(|c| history_rank(h, &service.name, &c.class)),
            None => candidates.sort_by_key(|c| c.verified),
        }
        let mut chosen = Vec::new();
        for class in candidates {
            if chosen.len() >= opts.top_per_service {
                break;
            }
            match usable_fault(class, service, config, opts, &stages) {
                Ok(planned) => chosen.push((class, planned)),
                Err(reason) => skipped.push(SkippedClass {
                    service: service.name.clone(),
                    fault_class: class.class.clone(),
                    reason,
                }),
            }
        }
        if chosen.is_empty() {
            continue;
        }
        let target = target(service, config)?;
        let key = (
            target.cluster.clone(),
            target.namespace.clone(),
            target.selector.clone(),
        );
        if let Some(other) = planned_targets.insert(key, service.name.clone()) {
            return Err(PlanError::Unplannable {
                service: service.name.clone(),
                field: "policy.required_label".to_owned(),
                value: target.selector.clone(),
                requirement: format!(
                    "services {other} and {} would select the same pods ({} in {}/{}); FIS \
                     takes one label per selector, so set required_label to the key only \
                     (chaos-experiment) and label each service's pods chaos-experiment=<service>",
                    service.name, target.selector, target.cluster, target.namespace
                ),
            });
        }
        let (hypothesis, service_alarms) = hypothesis(service, hypotheses);
        let max_stop = catalogue_quota();
        let stop_alarms: Vec<String> = service_alarms
            .iter()
            .map(|a| a.name.clone())
            .take(max_stop)
            .collect();
        if stop_alarms.is_empty() {
            return Err(PlanError::Unplannable {
                service: service.name.clone(),
                field: "hypotheses".to_owned(),
                value: "no alarm".to_owned(),
                requirement: "derive a steady-state hypothesis with an abort threshold for at \
                              least one configured metric (gameday steady-state derive); an \
                              experiment we cannot stop is a bug"
                    .to_owned(),
            });
        }
        for a in service_alarms {
            if !alarms.iter().any(|b| b.name == a.name) {
                alarms.push(a);
            }
        }
        for (class, planned) in chosen {
            let mut planned = scenario(service, class, planned, &target, &hypothesis, &stop_alarms);
            if let Some(h) = &opts.history {
                note_history(&mut planned.why, h, &service.name, &class.class);
            }
            scenarios.push(planned);
        }
    }
    if scenarios.is_empty() {
        let reasons: Vec<String> = skipped
            .iter()
            .map(|s| format!("{} {}: {}", s.service, s.fault_class, s.reason))
            .collect();
        return Err(PlanError::NothingToPlan {
            reason: if reasons.is_empty() {
                "no fault class in the catalogue affects a configured service".to_owned()
            } else {
                reasons.join("; ")
            },
        });
    }
    let gameday = GameDayScenario {
        schema_version: SCENARIO_SCHEMA_VERSION,
        name: opts.name.clone(),
        environment: config.environment.clone(),
        owner: opts.owner.clone(),
        date: opts.date,
        account_id: opts.account_id.clone(),
        region: opts.region.clone(),
        fis: ScenarioFis {
            role_arn,
            log_group_arn,
            kubernetes_service_account: config.fis.kubernetes_service_account.clone(),
            report: config
                .fis
                .report
                .as_ref()
                .map(|r| super::scenario::ScenarioReport {
                    bucket: r.bucket.clone(),
                    prefix: r.prefix.clone(),
                    pre_experiment: r.pre_experiment,
                    post_experiment: r.post_experiment,
                }),
        },
        scenarios,
        alarms,
        skipped,
    };
    validate_scenario(&gameday)?;
    check_scenario_config(&gameday, config)?;
    check_scenario_policy(&gameday, &config.policy, opts.cli_allow_production)?;
    Ok(gameday)
}

/// Every file `gameday plan` writes, as (path relative to the project root, contents), in a
/// stable order:
/// - `scenarios/<name>.yaml`: the scenario file (the source for `run`);
/// - `scenarios/<name>/<scenario>.<stage>.json`: one `CreateExperimentTemplate` request per stage;
/// - `scenarios/<name>/brief.md`: the pre-GameDay brief;
/// - `scenarios/<name>/exports/cloudformation.json`, `scenarios/<name>/exports/gameday.tf`: the
///   exports asked for, in their own directory so that a glob of the stage templates
///   (`scenarios/<name>/*.json`, e.g. for `gameday lint`) never catches them.
///
/// # Errors
///
/// As [`render_brief`], [`export`] and template serialisation.
pub fn plan_files(
    gameday: &GameDayScenario,
    exports: &[ExportFormat],
) -> Result<Vec<(PathBuf, String)>, PlanError> {
    let dir = PathBuf::from("scenarios");
    let own = dir.join(&gameday.name);
    let header = format!(
        "# GameDay {}, planned by `gameday plan` for {}.\n# Review and edit freely: `gameday run` \
         rebuilds every stage's FIS template from this file\n# and checks it against the \
         blast-radius policy first (docs/scenario-file.md).\n",
        gameday.name, gameday.date
    );
    let mut files = vec![(
        dir.join(gameday.file_name()),
        format!("{header}{}", gameday.to_yaml()?),
    )];
    for (name, template) in stage_templates(gameday)? {
        let json = template.to_json_pretty(&name)?;
        files.push((own.join(name), json));
    }
    files.push((own.join("brief.md"), render_brief(gameday)?));
    for format in exports {
        files.push((
            own.join(EXPORTS_DIR).join(format.file_name()),
            export(gameday, *format)?,
        ));
    }
    Ok(files)
}

/// The subdirectory of `scenarios/<name>/` the exports go to.
const EXPORTS_DIR: &str = "exports";

fn catalogue_quota() -> usize {
    catalogue().quotas.max_stop_conditions
}

/// The configured stages, capped by the policy, without repeats.
fn stages(config: &Config, opts: &PlanOptions) -> Result<Vec<Stage>, PlanError> {
    let policy = &config.policy;
    let mut out: Vec<Stage> = Vec::new();
    for mode in &opts.stages {
        let capped = match *mode {
            SelectionMode::Count(n) => SelectionMode::Count(n.min(policy.max_count)),
            SelectionMode::Percent(p) => SelectionMode::Percent(p.min(policy.max_percent)),
            SelectionMode::All if policy.max_percent < 100 => {
                SelectionMode::Percent(policy.max_percent)
            }
            SelectionMode::All => SelectionMode::All,
        };
        if matches!(capped, SelectionMode::Count(0) | SelectionMode::Percent(0)) {
            return Err(PlanError::Unplannable {
                service: "*".to_owned(),
                field: "policy.max_count / policy.max_percent".to_owned(),
                value: mode.to_string(),
                requirement: "the policy caps this stage at zero targets; raise the cap".to_owned(),
            });
        }
        if out.iter().any(|s| s.selection == capped) {
            continue;
        }
        let name = match capped {
            SelectionMode::Count(n) => format!("count-{n}"),
            SelectionMode::Percent(p) => format!("percent-{p}"),
            SelectionMode::All => "all".to_owned(),
        };
        out.push(Stage::new(name, capped, opts.observe));
    }
    if out.is_empty() {
        return Err(PlanError::Unplannable {
            service: "*".to_owned(),
            field: "stages".to_owned(),
            value: "[]".to_owned(),
            requirement: "give at least one stage".to_owned(),
        });
    }
    Ok(out)
}

/// The pod target of a service under the module's labelling convention.
fn target(service: &Service, config: &Config) -> Result<PodTarget, PlanError> {
    let bad = |field: &str, value: &str, requirement: &str| PlanError::Unplannable {
        service: service.name.clone(),
        field: field.to_owned(),
        value: value.to_owned(),
        requirement: requirement.to_owned(),
    };
    let cluster = service.cluster.clone().ok_or_else(|| {
        bad(
            "services.cluster",
            "unset",
            "aws:eks:pod targets need the EKS cluster",
        )
    })?;
    let namespace = service.namespace.clone().ok_or_else(|| {
        bad(
            "services.namespace",
            "unset",
            "aws:eks:pod targets need the namespace",
        )
    })?;
    let selector = match config.policy.opt_in_label.as_deref() {
        Some(label) if label.contains('=') => label.to_owned(),
        Some(key) => {
            let name = &service.name;
            let valid = !name.is_empty()
                && name.len() <= MAX_LABEL_VALUE
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name.ends_with(|c: char| c.is_ascii_alphanumeric());
            if !valid {
                return Err(bad(
                    "services.name",
                    name,
                    "the service name is the opt-in label value (chaos-experiment=<service>), so it \
                     must be a Kubernetes label value: up to 63 letters, digits, -, _ and ., \
                     starting and ending with a letter or digit",
                ));
            }
            format!("{key}={name}")
        }
        None => {
            let sel = service.selector.clone().unwrap_or_default();
            if sel.is_empty() || sel.contains(',') || !sel.contains('=') {
                return Err(bad(
                    "services.selector",
                    if sel.is_empty() { "unset" } else { &sel },
                    "FIS selects pods by one key=value label (no commas)",
                ));
            }
            sel
        }
    };
    Ok(PodTarget {
        cluster,
        namespace,
        selector,
        target_container_name: None,
    })
}

/// The first FIS action of a class that can be planned (pods, node groups, instances,
/// databases, a zone, API faults; see [`super::fault_kinds`]), or why none can.
fn usable_fault(
    class: &ClassSummary,
    service: &Service,
    config: &Config,
    opts: &PlanOptions,
    pod_stages: &[Stage],
) -> Result<PlannedFault, String> {
    if class.fis_actions.is_empty() {
        return Err(class
            .fis_caveat
            .clone()
            .unwrap_or_else(|| "the catalogue suggests no FIS action".to_owned()));
    }
    let cat = catalogue();
    let inputs = FaultInputs {
        service,
        class,
        config,
        pod_stages,
        observe: opts.observe,
        fault_duration: opts.fault_duration,
        region: &opts.region,
    };
    let mut reasons = Vec::new();
    for suggested in &class.fis_actions {
        let Some(spec) = cat.action(&suggested.action_id) else {
            reasons.push(format!("{} is not a known FIS action", suggested.action_id));
            continue;
        };
        match plan_fault(suggested, spec, &inputs) {
            Ok(planned) => return Ok(planned),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(reasons.join("; "))
}

/// The service's hypothesis (thresholds per metric) and the alarms guarding it, in the
/// hypotheses' order.
fn hypothesis(
    service: &Service,
    hypotheses: &[(String, Vec<MetricHypothesis>)],
) -> (Vec<HypothesisMetric>, Vec<AlarmSpec>) {
    let mut metrics = Vec::new();
    let mut alarms = Vec::new();
    for (_, hs) in hypotheses.iter().filter(|(s, _)| s == &service.name) {
        for h in hs {
            let def = service.metrics.iter().find(|m| m.name == h.metric);
            let specs: Vec<AlarmSpec> = def
                .map(|def| alarm_specs(service, h, &def.query))
                .unwrap_or_default();
            metrics.push(HypothesisMetric {
                metric: h.metric.clone(),
                direction: h.direction,
                abort_upper: h.abort.upper.filter(|v| v.is_finite()),
                abort_lower: h.abort.lower.filter(|v| v.is_finite()),
                alarms: specs.iter().map(|a| a.name.clone()).collect(),
                // The guard judges with the learned hypothesis, as `steady-state check` does.
                judge: (h.status == crate::steady_state::Status::Ok).then(|| h.clone()),
            });
            alarms.extend(specs);
        }
    }
    (metrics, alarms)
}

fn alarm_metric(stat: &MetricStat) -> AlarmMetric {
    AlarmMetric {
        namespace: stat.namespace.clone(),
        metric_name: stat.name.clone(),
        dimensions: stat.dimensions.clone(),
        statistic: stat.stat.clone(),
    }
}

fn alarm_specs(service: &Service, h: &MetricHypothesis, query: &MetricQuery) -> Vec<AlarmSpec> {
    let (identity, metric, expression) = match query {
        MetricQuery::Stat(stat) => (
            MetricIdentity {
                service: service.name.clone(),
                namespace: stat.namespace.clone(),
                metric_name: stat.name.clone(),
                dimensions: stat.dimensions.clone().into_iter().collect(),
                statistic: stat.stat.clone(),
            },
            Some(alarm_metric(stat)),
            None,
        ),
        MetricQuery::Expression { expression, inputs } => (
            MetricIdentity {
                service: service.name.clone(),
                namespace: String::new(),
                metric_name: String::new(),
                dimensions: Vec::new(),
                statistic: String::new(),
            },
            None,
            Some(AlarmExpression {
                expression: expression.clone(),
                inputs: inputs
                    .iter()
                    .map(|(id, stat)| (id.clone(), alarm_metric(stat)))
                    .collect(),
            }),
        ),
    };
    alarm_inputs(h, &identity)
        .into_iter()
        .map(|a: AlarmInputs| AlarmSpec {
            name: a.alarm_name,
            description: a.alarm_description,
            metric: metric.clone(),
            expression: expression.clone(),
            period_secs: a.period,
            evaluation_periods: a.evaluation_periods,
            datapoints_to_alarm: a.datapoints_to_alarm,
            threshold: a.threshold,
            comparison_operator: a.comparison_operator,
            treat_missing_data: a.treat_missing_data,
        })
        .collect()
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-')
        .chars()
        .take(64)
        .collect::<String>()
}

fn scenario(
    service: &Service,
    class: &ClassSummary,
    planned: PlannedFault,
    target: &PodTarget,
    hypothesis: &[HypothesisMetric],
    stop_alarms: &[String],
) -> Scenario {
    let thresholds: Vec<String> = hypothesis
        .iter()
        .map(|m| {
            let mut parts = Vec::new();
            if let Some(u) = m.abort_upper {
                parts.push(format!("<= {}", format_threshold(u)));
            }
            if let Some(l) = m.abort_lower {
                parts.push(format!(">= {}", format_threshold(l)));
            }
            format!("{} {}", m.metric, parts.join(" and "))
        })
        .collect();
    let recovery = humantime::format_duration(service.recovery_target).to_string();
    let mut caveats: Vec<String> = class.fis_caveat.iter().cloned().collect();
    caveats.extend(planned.assumptions.iter().cloned());
    let caveat = (!caveats.is_empty()).then(|| caveats.join("; "));
    let mut name = slug(&format!("{}-{}", service.name, class.class));
    if name.is_empty() {
        name = "scenario".to_owned();
    }
    Scenario {
        name,
        service: service.name.clone(),
        fault_class: class.class.clone(),
        why: Evidence {
            rank: Some(class.rank),
            verified: class.verified,
            incident_count: class.incident_count,
            last_seen: Some(class.last_seen),
            services: class.services.clone(),
            top_templates: class
                .top_templates
                .iter()
                .map(|t| t.template.clone())
                .collect(),
            caveat,
            priority: Some(class.priority),
            last_verdict: None,
            chosen_because: None,
        },
        target: target.clone(),
        resources: planned.resources,
        actions: planned.actions,
        stages: planned.stages,
        hypothesis: hypothesis.to_vec(),
        stop_alarms: stop_alarms.to_vec(),
        stop_conditions_override: None,
        expected_behaviour: format!(
            "{} keeps its steady state ({}) while {}",
            service.name,
            thresholds.join(", "),
            class.description.trim_end_matches('.')
        ),
        success_criteria: vec![
            "no stop alarm enters ALARM during any stage".to_owned(),
            format!(
                "every hypothesis metric stays inside its abort thresholds: {}",
                thresholds.join(", ")
            ),
            format!(
                "{} is back inside its acceptable range within {recovery} after each stage",
                service.name
            ),
        ],
        rollback: planned.rollback,
    }
}

/// Rank of a class for a service by its run history: failed or regressed first (0), then
/// unverified (1: never run, stale, or a pass of the catalogue alone), then verified (2).
fn history_rank(history: &[crate::history::ClassStanding], service: &str, class: &str) -> u8 {
    use crate::history::Standing;
    match history
        .iter()
        .find(|h| h.service == service && h.class == class)
        .map(|h| h.standing)
    {
        Some(Standing::Attention) => 0,
        None | Some(Standing::Unverified) => 1,
        Some(Standing::Verified) => 2,
    }
}

/// Writes what the run history says into a planned scenario's evidence: verified only when a
/// run passed it within its validity, the last verdict, and why it was chosen.
fn note_history(
    why: &mut Evidence,
    history: &[crate::history::ClassStanding],
    service: &str,
    class: &str,
) {
    use crate::history::Standing;
    let found = history
        .iter()
        .find(|h| h.service == service && h.class == class);
    why.verified = found.is_some_and(|h| h.standing == Standing::Verified);
    why.last_verdict = found.map(|h| h.summary.clone());
    why.chosen_because = Some(match found {
        Some(h) if h.standing == Standing::Attention => format!(
            "ranked first: its last GameDay run did not pass or regressed ({})",
            h.summary
        ),
        Some(h) if h.standing == Standing::Unverified => format!(
            "unverified: not passed by a GameDay run within its validity (last: {})",
            h.summary
        ),
        Some(h) => format!(
            "already verified ({}); planned because fewer failed or unverified classes than the \
             per-service quota remain",
            h.summary
        ),
        None => "never exercised by a GameDay run: ranked after failed and regressed classes, \
                 before verified ones"
            .to_owned(),
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::mine::{CATALOGUE_SCHEMA_VERSION, Catalogue, FisAction, TemplateCount, Window};
    use crate::plan::lint::{LintOptions, lint_template_json};
    use crate::plan::scenario::load_scenario;
    use crate::plan::{Policy, PolicyContext};
    use crate::steady_state::{DeriveOptions, Direction, Point, derive};

    /// The shipped example config (key-only opt-in label `chaos-experiment`).
    pub(crate) fn config() -> Config {
        let c = Config::from_yaml(
            Path::new("gameday.example.yaml"),
            crate::config::EXAMPLE_CONFIG,
        )
        .expect("example config");
        assert_eq!(c.policy.opt_in_label.as_deref(), Some("chaos-experiment"));
        c
    }

    fn class(
        rank: u32,
        name: &str,
        verified: bool,
        services: &[&str],
        actions: &[(&str, &[(&str, &str)])],
    ) -> ClassSummary {
        ClassSummary {
            rank,
            class: name.to_owned(),
            description: format!("{name} happens."),
            verified,
            priority: 10.0 / f64::from(rank),
            frequency_per_30d: 1.0,
            impact: 1.0,
            incident_count: u64::from(10 - rank),
            total_duration_ms: 600_000,
            median_duration_ms: 300_000,
            mttr_ms: 300_000,
            last_seen: Utc
                .with_ymd_and_hms(2026, 11, 2, 14, 5, 0)
                .single()
                .expect("date"),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            severity_counts: BTreeMap::new(),
            top_templates: vec![TemplateCount {
                template: format!("{name} <*> failed"),
                count: 3,
            }],
            fis_actions: actions
                .iter()
                .map(|(id, params)| FisAction {
                    action_id: (*id).to_owned(),
                    parameters: params
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    note: String::new(),
                })
                .collect(),
            fis_caveat: None,
            incidents: Vec::new(),
            last_verdict: None,
        }
    }

    pub(crate) fn incidents() -> Catalogue {
        Catalogue {
            schema_version: CATALOGUE_SCHEMA_VERSION,
            generated_at: Utc
                .with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
                .single()
                .expect("date"),
            window: Window::default(),
            gap_ms: 900_000,
            priority_formula: String::new(),
            classes: vec![
                class(
                    1,
                    "dependency-connection-failure",
                    false,
                    &["checkout"],
                    &[(
                        "aws:eks:pod-network-blackhole-port",
                        &[("protocol", "tcp"), ("trafficType", "egress")],
                    )],
                ),
                class(
                    2,
                    "network-latency",
                    false,
                    &["checkout", "catalog"],
                    &[(
                        "aws:eks:pod-network-latency",
                        &[("delayMilliseconds", "300"), ("bogus", "1")],
                    )],
                ),
                class(
                    3,
                    "az-impairment",
                    false,
                    &["checkout"],
                    &[(
                        "aws:network:disrupt-connectivity",
                        &[("scope", "availability-zone")],
                    )],
                ),
                class(
                    4,
                    "pod-crash",
                    true,
                    &["checkout", "catalog"],
                    &[("aws:eks:pod-delete", &[("gracePeriodSeconds", "0")])],
                ),
                class(
                    5,
                    "memory-exhaustion",
                    true,
                    &["catalog"],
                    &[("aws:eks:pod-memory-stress", &[])],
                ),
            ],
            unclassified: Vec::new(),
            experiments: Vec::new(),
        }
    }

    fn hyp(metric: &str, slo_upper: f64, level: f64) -> MetricHypothesis {
        let pts: Vec<Point> = (0..2880)
            .map(|i| Point {
                ts: i * 60,
                value: level + f64::from(u8::try_from(i * 7919 % 13).expect("small")) / 60.0,
            })
            .collect();
        derive(
            &pts,
            &DeriveOptions {
                metric: metric.to_owned(),
                direction: Direction::Upper,
                slo_upper: Some(slo_upper),
                ..DeriveOptions::default()
            },
        )
        .expect("derives")
    }

    pub(crate) fn hypotheses() -> Vec<(String, Vec<MetricHypothesis>)> {
        vec![
            (
                "checkout".to_owned(),
                vec![hyp("error_rate", 1.0, 0.2), hyp("p99_latency_s", 0.8, 0.3)],
            ),
            (
                "catalog".to_owned(),
                vec![hyp("cpu_utilization", 90.0, 40.0)],
            ),
        ]
    }

    pub(crate) fn options() -> PlanOptions {
        PlanOptions::new(
            "gameday-2026-11",
            "team-sre",
            NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
            "123456789012",
            "eu-west-1",
        )
    }

    pub(crate) fn planned() -> GameDayScenario {
        plan(&incidents(), &hypotheses(), &config(), &options()).expect("plans")
    }

    #[test]
    fn only_the_chosen_services_are_planned() {
        let mut opts = options();
        let all = plan(&incidents(), &hypotheses(), &config(), &opts).expect("plans");
        let first = all.scenarios[0].service.clone();
        opts.only_services = vec![first.clone()];
        let g = plan(&incidents(), &hypotheses(), &config(), &opts).expect("plans");
        assert!(!g.scenarios.is_empty());
        assert!(g.scenarios.iter().all(|s| s.service == first), "{g:?}");
        assert!(g.scenarios.len() < all.scenarios.len());
    }

    #[test]
    fn picks_top_usable_classes_per_service_and_records_skips() {
        let g = planned();
        let names: Vec<&str> = g.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "checkout-dependency-connection-failure",
                "checkout-network-latency",
                "catalog-network-latency",
                "catalog-pod-crash"
            ]
        );
        // The dependency fault is never dropped for lack of a port: with none in config or
        // evidence, the commonest port is assumed and the caveat says so.
        let dependency = &g.scenarios[0];
        let params = &dependency.actions[0].parameters;
        assert_eq!(params["port"], "443");
        assert_eq!(params["protocol"], "tcp");
        assert_eq!(params["trafficType"], "egress");
        let caveat = dependency.why.caveat.as_deref().unwrap_or("");
        assert!(caveat.contains("dependency_port"), "{caveat}");
        assert!(g.skipped.is_empty(), "{:?}", g.skipped);
        let latency = &g.scenarios[1];
        assert_eq!(latency.target.selector, "chaos-experiment=checkout");
        assert_eq!(latency.actions[0].parameters["delayMilliseconds"], "300");
        assert!(!latency.actions[0].parameters.contains_key("bogus"));
        assert_eq!(latency.actions[0].parameters["duration"], "PT5M");
        assert_eq!(
            latency.stop_alarms,
            vec![
                "gameday-checkout-error_rate",
                "gameday-checkout-p99_latency_s"
            ]
        );
        let stages: Vec<String> = latency
            .stages
            .iter()
            .map(|s| s.selection.to_string())
            .collect();
        assert_eq!(stages, vec!["COUNT(1)", "PERCENT(10)", "PERCENT(25)"]);
        assert_eq!(g.alarms.len(), 3);
        assert!(g.alarms[0].expression.is_some() && g.alarms[1].metric.is_some());
    }

    #[test]
    fn every_planned_template_lints_clean_and_passes_the_policy() {
        let g = planned();
        let config = config();
        for (name, t) in stage_templates(&g).expect("templates") {
            let json = t.to_json_pretty(&name).expect("json");
            let opts = LintOptions {
                allow_no_stop_conditions: false,
                policy: Some(PolicyContext {
                    policy: &config.policy,
                    stage: &name,
                    environment: &config.environment,
                    cli_allow_production: false,
                }),
            };
            let findings = lint_template_json(&name, &json, &opts);
            assert_eq!(findings, vec![], "{name}:\n{json}");
            assert!(!t.stop_conditions.is_empty());
            assert!(t.stop_conditions.len() <= 5);
        }
    }

    #[test]
    fn the_scenario_round_trips_through_its_file() {
        let g = planned();
        let yaml = g.to_yaml().expect("yaml");
        let back = load_scenario(Path::new("gameday-2026-11.yaml"), &yaml).expect("loads");
        assert_eq!(back, g);
    }

    #[test]
    fn plan_files_lists_the_scenario_templates_brief_and_exports() {
        let g = planned();
        let files = plan_files(&g, &[ExportFormat::CloudFormation, ExportFormat::Terraform])
            .expect("files");
        let paths: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(paths[0], "scenarios/gameday-2026-11.yaml");
        assert_eq!(
            paths[1],
            "scenarios/gameday-2026-11/checkout-dependency-connection-failure.count-1.json"
        );
        assert_eq!(paths.len(), 1 + 12 + 1 + 2);
        assert!(paths.contains(&"scenarios/gameday-2026-11/brief.md".to_owned()));
        assert!(paths.contains(&"scenarios/gameday-2026-11/exports/gameday.tf".to_owned()));
        assert!(
            paths.contains(&"scenarios/gameday-2026-11/exports/cloudformation.json".to_owned())
        );
        // A glob of the stage templates (`scenarios/<name>/*.json`) catches no export.
        let own = std::path::Path::new("scenarios/gameday-2026-11");
        for (path, text) in &files {
            if path.parent() == Some(own) && path.extension().is_some_and(|e| e == "json") {
                assert!(
                    text.contains("\"stopConditions\"")
                        && !text.contains("AWSTemplateFormatVersion"),
                    "{} is not a stage template",
                    path.display()
                );
            }
        }
        // The scenario file with its header comment loads back to the same GameDay.
        let back = load_scenario(&files[0].0, &files[0].1).expect("loads");
        assert_eq!(back, g);
        insta::assert_snapshot!("planned_scenario_file", files[0].1);
    }

    #[test]
    fn planning_is_deterministic() {
        let a = planned().to_yaml().expect("yaml");
        let b = planned().to_yaml().expect("yaml");
        assert_eq!(a, b);
    }

    #[test]
    fn snapshot_of_one_planned_template() {
        let g = planned();
        assert_eq!(g.scenarios[1].name, "checkout-network-latency");
        let t = crate::plan::scenario::stage_template(&g, 1, 1).expect("template");
        insta::assert_json_snapshot!("checkout_network_latency_percent_10", t);
    }

    #[test]
    fn stages_are_capped_by_the_policy() {
        let mut config = config();
        config.policy.max_percent = 10;
        config.policy.max_count = 1;
        let mut opts = options();
        opts.stages = vec![
            SelectionMode::Count(3),
            SelectionMode::Percent(10),
            SelectionMode::Percent(25),
        ];
        let g = plan(&incidents(), &hypotheses(), &config, &opts).expect("plans");
        let stages: Vec<String> = g.scenarios[0]
            .stages
            .iter()
            .map(|s| s.selection.to_string())
            .collect();
        assert_eq!(stages, vec!["COUNT(1)", "PERCENT(10)"]);
    }

    #[test]
    fn a_key_value_opt_in_label_shared_by_two_services_is_refused() {
        let mut config = config();
        config.policy = Policy {
            opt_in_label: Some("chaos-experiment=enabled".to_owned()),
            ..Policy::default()
        };
        let err = plan(&incidents(), &hypotheses(), &config, &options()).expect_err("ambiguous");
        match err {
            PlanError::Unplannable {
                service,
                field,
                value,
                ..
            } => {
                assert_eq!(service, "catalog");
                assert_eq!(field, "policy.required_label");
                assert_eq!(value, "chaos-experiment=enabled");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn policy_breaches_the_planner_cannot_fix_are_errors() {
        let mut config = config();
        config.policy.allowed_namespaces = vec!["other".to_owned()];
        let err = plan(&incidents(), &hypotheses(), &config, &options()).expect_err("namespace");
        match err {
            PlanError::PolicyViolation(v) => {
                assert_eq!(v.field, "targets.pods.parameters.namespace");
                assert_eq!(v.value, "shop");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_service_without_alarms_cannot_be_planned() {
        let hs: Vec<(String, Vec<MetricHypothesis>)> = hypotheses()
            .into_iter()
            .filter(|(s, _)| s != "catalog")
            .collect();
        let err = plan(&incidents(), &hs, &config(), &options()).expect_err("no alarm");
        assert!(
            matches!(&err, PlanError::Unplannable { service, .. } if service == "catalog"),
            "{err}"
        );
    }

    #[test]
    fn unverified_classes_come_first_even_in_an_unsorted_catalogue() {
        let mut incidents = incidents();
        incidents.classes.reverse();
        let mut opts = options();
        opts.top_per_service = 1;
        let g = plan(&incidents, &hypotheses(), &config(), &opts).expect("plans");
        assert!(
            g.scenarios.iter().all(|s| !s.why.verified),
            "{:?}",
            g.scenarios
        );
    }

    /// Every fault class of the built-in signature library on one service, with the library's
    /// own FIS suggestions, evidence naming a port and a Kinesis API.
    fn every_class() -> Catalogue {
        let library = crate::mine::SignatureLibrary::builtin();
        let mut c = incidents();
        c.classes = library
            .classes
            .iter()
            .enumerate()
            .map(|(i, info)| {
                let mut k = class(1, &info.name, false, &["checkout"], &[]);
                k.rank = u32::try_from(i + 1).expect("few");
                k.fis_actions = info.fis_actions.clone();
                k.fis_caveat = info.fis_caveat.clone();
                k.top_templates = vec![TemplateCount {
                    template: match info.name.as_str() {
                        "dependency-connection-failure" => {
                            "could not connect to postgres at <*>: connection refused".to_owned()
                        }
                        "throttling" => "kinesis PutRecords: Rate exceeded".to_owned(),
                        other => format!("{other} <*>"),
                    },
                    count: 3,
                }];
                k
            })
            .collect();
        c
    }

    #[test]
    fn every_class_with_a_fis_action_is_planned_with_its_own_targets_and_stages() {
        let mut config = config();
        config.services[0].faults.iam_role_arn =
            Some("arn:aws:iam::123456789012:role/checkout-pods".to_owned());
        assert_eq!(config.services[0].name, "checkout");
        let mut opts = options();
        opts.top_per_service = 20;
        opts.only_services = vec!["checkout".to_owned()];
        let catalogue = every_class();
        assert_eq!(catalogue.classes.len(), 13);
        let g = plan(&catalogue, &hypotheses(), &config, &opts).expect("plans");
        let planned: Vec<&str> = g.scenarios.iter().map(|s| s.fault_class.as_str()).collect();
        let skipped: Vec<&str> = g.skipped.iter().map(|s| s.fault_class.as_str()).collect();
        assert_eq!(planned.len(), 11, "{planned:?}");
        assert_eq!(skipped, vec!["deploy-failure", "error-burst"]);
        let by_class = |c: &str| {
            g.scenarios
                .iter()
                .find(|s| s.fault_class == c)
                .unwrap_or_else(|| panic!("{c} planned"))
        };
        let stage_names = |c: &str| -> Vec<String> {
            by_class(c).stages.iter().map(|s| s.name.clone()).collect()
        };

        let node = by_class("node-failure");
        let types: Vec<&str> = node
            .resources
            .iter()
            .map(|r| r.resource_type.as_str())
            .collect();
        assert_eq!(types, vec!["aws:eks:nodegroup", "aws:ec2:instance"]);
        assert_eq!(
            node.resources[0]
                .tags
                .get("chaos-experiment")
                .map(String::as_str),
            Some("checkout")
        );
        assert_eq!(
            stage_names("node-failure"),
            vec!["one-node", "nodegroup-10-percent", "nodegroup-25-percent"]
        );
        assert_eq!(
            node.stages[2].parameters["terminate"]["instanceTerminationPercentage"],
            "25"
        );

        let db = by_class("database-failover");
        assert_eq!(
            stage_names("database-failover"),
            vec!["reader-reboot", "writer-failover"]
        );
        assert!(
            db.stages
                .iter()
                .all(|s| s.selection == SelectionMode::Count(1))
        );
        assert_eq!(db.actions[0].parameters["forceFailover"], "false");

        let az = by_class("az-impairment");
        assert_eq!(
            stage_names("az-impairment"),
            vec!["cross-zone", "zone-isolated"]
        );
        assert_eq!(
            az.resources[0].parameters["availabilityZoneIdentifier"],
            "eu-west-1a"
        );

        let api = by_class("throttling");
        assert_eq!(
            api.resources[0].arns,
            vec!["arn:aws:iam::123456789012:role/checkout-pods"]
        );
        assert_eq!(api.actions[0].parameters["service"], "kinesis");
        let percents: Vec<&str> = api
            .stages
            .iter()
            .map(|s| s.parameters["api-fault"]["percentage"].as_str())
            .collect();
        assert_eq!(percents, vec!["10", "50", "100"]);

        let dep = by_class("dependency-connection-failure");
        assert_eq!(dep.actions[0].parameters["port"], "5432");

        // Every stage template lints clean, policy included, and the file loads back.
        for (name, t) in stage_templates(&g).expect("templates") {
            let json = t.to_json_pretty(&name).expect("json");
            let lint = LintOptions {
                allow_no_stop_conditions: false,
                policy: Some(PolicyContext {
                    policy: &config.policy,
                    stage: &name,
                    environment: &config.environment,
                    cli_allow_production: false,
                }),
            };
            let findings = lint_template_json(&name, &json, &lint);
            // An IAM role is named by ARN (FIS takes no tags for roles): its opt-in tag is a
            // preflight check, so lint can only warn.
            let unexpected: Vec<_> = findings
                .iter()
                .filter(|f| {
                    !(f.severity == crate::plan::Severity::Warning
                        && f.rule_id == crate::plan::Rule::PolicyOptInLabel
                        && f.pointer == "/targets/roles/resourceArns")
                })
                .collect();
            assert!(unexpected.is_empty(), "{name}: {unexpected:?}\n{json}");
        }
        let yaml = g.to_yaml().expect("yaml");
        assert_eq!(
            load_scenario(Path::new("all.yaml"), &yaml).expect("loads"),
            g
        );
        let brief = render_brief(&g).expect("brief");
        assert!(brief.contains("Rehearse it without FIS"), "{brief}");
        assert!(brief.contains("Database failover: one reader is rebooted first"));
        // The exports carry the same targets: tags, ARNs and type parameters.
        let cfn = export(&g, ExportFormat::CloudFormation).expect("cloudformation");
        let tf = export(&g, ExportFormat::Terraform).expect("terraform");
        for ty in [
            "aws:eks:nodegroup",
            "aws:ec2:instance",
            "aws:rds:cluster",
            "aws:rds:db",
            "aws:ec2:subnet",
            "aws:iam:role",
        ] {
            assert!(cfn.contains(ty) && tf.contains(ty), "{ty}");
        }
        assert!(cfn.contains("\"ResourceTags\"") && cfn.contains("\"ResourceArns\""));
        assert!(tf.contains("resource_tag {") && tf.contains("resource_arns"));
        assert!(
            cfn.contains("instanceTerminationPercentage")
                && tf.contains("availabilityZoneIdentifier")
        );
    }

    #[test]
    fn an_api_fault_without_the_pods_role_is_skipped_with_the_fix() {
        let mut opts = options();
        opts.top_per_service = 20;
        opts.only_services = vec!["checkout".to_owned()];
        let g = plan(&every_class(), &hypotheses(), &config(), &opts).expect("plans");
        let skip = g
            .skipped
            .iter()
            .find(|s| s.fault_class == "throttling")
            .expect("throttling skipped");
        assert!(skip.reason.contains("iam_role_arn"), "{}", skip.reason);
    }

    #[test]
    fn a_node_group_share_above_the_policy_cap_is_not_planned() {
        let mut config = config();
        config.policy.max_percent = 10;
        let mut opts = options();
        opts.top_per_service = 20;
        opts.only_services = vec!["checkout".to_owned()];
        let g = plan(&every_class(), &hypotheses(), &config, &opts).expect("plans");
        let node = g
            .scenarios
            .iter()
            .find(|s| s.fault_class == "node-failure")
            .expect("planned");
        let names: Vec<&str> = node.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["one-node", "nodegroup-10-percent"]);
    }

    #[test]
    fn the_run_history_ranks_failed_first_then_unverified_then_verified() {
        use crate::history::{ClassStanding, Standing, Verdict};
        let at = Utc
            .with_ymd_and_hms(2026, 11, 17, 10, 0, 0)
            .single()
            .expect("date");
        let standing = |class: &str, standing, verdict| ClassStanding {
            service: "checkout".into(),
            class: class.into(),
            standing,
            verdict,
            run_id: "r1".into(),
            at,
            summary: format!("{} 2026-11-17 (run r1)", Verdict::as_str(verdict)),
        };
        let classes = |g: &GameDayScenario| {
            g.scenarios
                .iter()
                .map(|s| s.fault_class.clone())
                .collect::<Vec<_>>()
        };
        // Two of checkout's classes: network-latency (rank 2, unverified in the catalogue) and
        // pod-crash (rank 4, "verified" because an FIS action was seen in the logs).
        let mut catalogue = incidents();
        catalogue
            .classes
            .retain(|c| c.class == "network-latency" || c.class == "pod-crash");
        let mut opts = options();
        opts.only_services = vec!["checkout".into()];
        opts.top_per_service = 1;
        let without = plan(&catalogue, &hypotheses(), &config(), &opts).expect("plans");
        assert_eq!(classes(&without), ["network-latency"]);
        assert!(without.scenarios[0].why.chosen_because.is_none());

        // A GameDay passed network-latency last week: it ranks below pod-crash, which no
        // GameDay has passed (the FIS action in the logs no longer counts).
        opts.history = Some(vec![standing(
            "network-latency",
            Standing::Verified,
            Verdict::Passed,
        )]);
        let g = plan(&catalogue, &hypotheses(), &config(), &opts).expect("plans");
        assert_eq!(classes(&g), ["pod-crash"]);
        let why = &g.scenarios[0].why;
        assert!(!why.verified);
        assert_eq!(why.last_verdict, None);
        assert!(
            why.chosen_because
                .as_deref()
                .is_some_and(|c| c.starts_with("never exercised by a GameDay run")),
            "{why:?}"
        );
        opts.top_per_service = 2;
        let g = plan(&catalogue, &hypotheses(), &config(), &opts).expect("plans");
        assert_eq!(classes(&g), ["pod-crash", "network-latency"]);
        assert!(g.scenarios[1].why.verified);
        assert!(
            g.scenarios[1]
                .why
                .chosen_because
                .as_deref()
                .is_some_and(|c| c.starts_with("already verified")),
        );

        // It failed instead: first, ahead of the unverified pod-crash.
        opts.history = Some(vec![
            standing("network-latency", Standing::Attention, Verdict::Failed),
            standing("pod-crash", Standing::Verified, Verdict::Passed),
        ]);
        opts.top_per_service = 1;
        let g = plan(&catalogue, &hypotheses(), &config(), &opts).expect("plans");
        assert_eq!(classes(&g), ["network-latency"]);
        let why = &g.scenarios[0].why;
        assert!(!why.verified);
        assert_eq!(
            why.last_verdict.as_deref(),
            Some("failed 2026-11-17 (run r1)")
        );
        assert!(
            why.chosen_because
                .as_deref()
                .is_some_and(|c| c.starts_with("ranked first")),
            "{why:?}"
        );
        let brief = crate::plan::brief::render_brief(&g).expect("brief");
        assert!(
            brief
                .contains("last GameDay verdict: failed 2026-11-17 (run r1); chosen: ranked first"),
            "{brief}"
        );
    }

    #[test]
    fn missing_fis_settings_are_named() {
        let mut config = config();
        config.fis.log_group_arn = None;
        let err = plan(&incidents(), &hypotheses(), &config, &options()).expect_err("no log group");
        assert!(err.to_string().contains("fis.log_group_arn"), "{err}");
    }
}
