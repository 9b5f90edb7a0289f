//! Rule-based findings and action items: what a run showed, and what to do about it, derived
//! only from the journal, so a report is complete and useful without any model.
//!
//! Input: a [`RunRecord`]. Output: [`Findings`] — findings (weaknesses, in the order the run met
//! them) and action items with a priority (`P0` act now, `P1` before the next GameDay, `P2` when
//! convenient) and an owner placeholder. Must not: read the clock, call anything, or invent
//! numbers — every number comes from the record.

use serde::Serialize;

use super::format::{self, bound, num, secs};
use crate::model::record::{Abort, Outcome, Phase, RunRecord, ScenarioRecord, StageRecord};
use crate::plan::scenario::Scenario;
use crate::shutdown::AbortReason;

/// The owner placeholder of an action item, for the team to fill in.
pub const OWNER_PLACEHOLDER: &str = "_owner_";

/// How urgent an action item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Priority {
    /// Act now: something may still be broken or running.
    P0,
    /// Fix before the next GameDay.
    P1,
    /// Worth doing when convenient.
    P2,
}

impl Priority {
    /// `P0`, `P1` or `P2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P0 => "P0",
            Self::P1 => "P1",
            Self::P2 => "P2",
        }
    }

    /// Parses `P0`/`p1`/… (anything else is `None`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "P0" => Some(Self::P0),
            "P1" => Some(Self::P1),
            "P2" => Some(Self::P2),
            _ => None,
        }
    }
}

/// One weakness or notable fact the run showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Finding {
    /// `F1`, `F2`, … in order.
    pub(crate) id: String,
    /// Scenario it is about.
    pub(crate) scenario: Option<String>,
    /// Stage it is about.
    pub(crate) stage: Option<String>,
    /// One line.
    pub(crate) title: String,
    /// The evidence.
    pub(crate) detail: String,
}

/// Something to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ActionItem {
    /// Priority.
    pub(crate) priority: Priority,
    /// One line.
    pub(crate) title: String,
    /// How.
    pub(crate) detail: String,
    /// Owner placeholder.
    pub(crate) owner: String,
    /// The finding it answers (`F3`).
    pub(crate) finding: Option<String>,
}

/// Findings and action items of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Findings {
    /// In the order the run met them.
    pub(crate) findings: Vec<Finding>,
    /// Sorted by priority, then in finding order.
    pub(crate) actions: Vec<ActionItem>,
}

impl Findings {
    fn add(
        &mut self,
        scenario: Option<&str>,
        stage: Option<&str>,
        title: String,
        detail: String,
    ) -> String {
        let id = format!("F{}", self.findings.len() + 1);
        self.findings.push(Finding {
            id: id.clone(),
            scenario: scenario.map(str::to_owned),
            stage: stage.map(str::to_owned),
            title,
            detail,
        });
        id
    }

    fn act(&mut self, finding: &str, priority: Priority, title: String, detail: String) {
        self.actions.push(ActionItem {
            priority,
            title,
            detail,
            owner: OWNER_PLACEHOLDER.to_owned(),
            finding: Some(finding.to_owned()),
        });
    }
}

/// Kubernetes event reasons that point at a weakness, with what to do about each.
const K8S_WARNINGS: &[(&str, Priority, &str)] = &[
    (
        "OOMKilled",
        Priority::P1,
        "Review the memory requests and limits of {service}: containers were OOM-killed under the fault.",
    ),
    (
        "BackOff",
        Priority::P1,
        "Find out why {service} containers crash-loop under the fault and make start-up tolerate it.",
    ),
    (
        "CrashLoopBackOff",
        Priority::P1,
        "Find out why {service} containers crash-loop under the fault and make start-up tolerate it.",
    ),
    (
        "FailedScheduling",
        Priority::P1,
        "Make room for {service} replacements (cluster capacity, requests, affinity): pods could not be scheduled.",
    ),
    (
        "Unhealthy",
        Priority::P2,
        "Review the readiness and liveness probes of {service}: probes failed under the fault.",
    ),
    (
        "Evicted",
        Priority::P2,
        "Check node pressure during the fault: {service} pods were evicted.",
    ),
];

/// Whether a text says a PodDisruptionBudget got in the way.
fn mentions_pdb(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("disruption budget")
        || t.contains("poddisruptionbudget")
        || t.contains("evictionblocked")
}

/// The 1-based position of a stage in its planned scenario, and its selection mode.
fn stage_label(plan: Option<&Scenario>, stage: &str) -> (usize, String) {
    plan.and_then(|p| {
        p.stages
            .iter()
            .position(|s| s.name == stage)
            .map(|i| (i + 1, p.stages[i].selection.to_string()))
    })
    .unwrap_or((0, "unknown selection".to_owned()))
}

/// Derives findings and action items from a run.
pub(crate) fn derive(run: &RunRecord) -> Findings {
    let mut f = Findings::default();
    preflight(run, &mut f);
    for sc in &run.scenarios {
        let plan = run
            .start
            .gameday
            .scenarios
            .iter()
            .find(|p| p.name == sc.name);
        for st in &sc.stages {
            stage(run, sc, plan, st, &mut f);
        }
    }
    run_end(run, &mut f);
    // Stable: equal priorities keep finding order.
    f.actions.sort_by_key(|a| a.priority);
    f
}

fn preflight(run: &RunRecord, f: &mut Findings) {
    for c in run.preflight.iter().filter(|c| !c.ok) {
        let scope = match (&c.scenario, &c.stage) {
            (Some(sc), Some(st)) => format!(" for {sc}, stage {st}"),
            (Some(sc), None) => format!(" for {sc}"),
            _ => String::new(),
        };
        let id = f.add(
            c.scenario.as_deref(),
            c.stage.as_deref(),
            format!("Preflight check `{}` failed{scope}", c.check),
            c.detail.clone(),
        );
        let detail = c.fix.clone().unwrap_or_else(|| {
            format!("See the check's detail, fix it, and run `gameday run --dry-run` until `{}` passes.", c.check)
        });
        // A failed check keeps the GameDay from running at all.
        f.act(
            &id,
            Priority::P1,
            format!("Fix preflight check `{}`{scope}", c.check),
            detail,
        );
    }
}

fn stage(
    run: &RunRecord,
    sc: &ScenarioRecord,
    plan: Option<&Scenario>,
    st: &StageRecord,
    f: &mut Findings,
) {
    let (n, selection) = stage_label(plan, &st.name);
    let service = plan.map_or("the service", |p| p.service.as_str());
    let fault = plan.map_or("the fault", |p| p.fault_class.as_str());
    let (scn, stn) = (Some(sc.name.as_str()), Some(st.name.as_str()));
    let at = format!("stage {n} ({}, {selection}) of {}", st.name, sc.name);

    // A stop that failed: the experiment may still be running.
    if let Some((_, sf)) = &st.stop_failed {
        let last = sf
            .last_status
            .as_deref()
            .map_or(String::new(), |s| format!(" Last status seen: {s}."));
        let id = f.add(
            scn,
            stn,
            format!(
                "Experiment {} may still have been running after {at}",
                sf.experiment_id
            ),
            format!(
                "Stopping it failed: {}.{last}",
                sf.error.trim_end_matches('.')
            ),
        );
        f.act(
            &id,
            Priority::P0,
            format!("Confirm experiment {} is stopped", sf.experiment_id),
            format!(
                "Run `{}` and check that `aws fis get-experiment --id {}` shows a terminal state; then find out why the stop failed.",
                sf.how_to_stop, sf.experiment_id
            ),
        );
    }

    // PodDisruptionBudget in the way: the fault was not injected as planned.
    let pdb = st
        .states
        .iter()
        .flat_map(|(_, s)| {
            s.reason
                .iter()
                .chain(s.actions.values().filter_map(|a| a.reason.as_ref()))
        })
        .chain(st.k8s_events.iter().map(|e| &e.message))
        .find(|t| mentions_pdb(t));
    if let Some(text) = pdb {
        let id = f.add(
            scn,
            stn,
            format!("A PodDisruptionBudget blocked the disruption at {at}"),
            format!(
                "The fault was not fully injected, so this stage says little about the hypothesis: {}",
                super::redact::redact(text, super::redact::Redaction { ips: false })
            ),
        );
        f.act(
            &id,
            Priority::P2,
            format!("Decide how stage {} of {} should meet the PodDisruptionBudget", st.name, sc.name),
            "Either lower the stage's selection to what the budget allows, or relax the budget for the GameDay window, then run the stage again.".to_owned(),
        );
    }

    let Some((_, fin)) = &st.finished else {
        return;
    };
    let v = &fin.verdict;

    // Abort: who stopped it.
    if let Some((abort_at, a)) = &st.abort {
        let when = format::since(*abort_at, run.started_at);
        match a.reason {
            AbortReason::Guard => {
                let alarms_in_alarm: Vec<&str> = st
                    .alarms
                    .iter()
                    .filter(|(t, s)| t <= abort_at && s.state == "ALARM")
                    .map(|(_, s)| s.alarm.as_str())
                    .collect();
                let later = st
                    .alarms
                    .iter()
                    .find(|(t, s)| t > abort_at && s.state == "ALARM")
                    .map_or(String::new(), |(t, s)| {
                        format!(
                            " `{}` entered ALARM only at {}.",
                            s.alarm,
                            format::since(*t, run.started_at)
                        )
                    });
                if alarms_in_alarm.is_empty() {
                    guard_before_alarms(run, sc, plan, st, &at, *abort_at, a, &later, f);
                }
            }
            AbortReason::StopCondition => {
                f.add(
                    scn,
                    stn,
                    format!("A FIS stop condition stopped {at}"),
                    format!(
                        "{} at {when}; the safety net worked as designed.",
                        a.detail.trim_end_matches('.')
                    ),
                );
            }
            AbortReason::Timeout => {
                let id = f.add(
                    scn,
                    stn,
                    format!("{at} ran past its deadline"),
                    format!("{} at {when}.", a.detail.trim_end_matches('.')),
                );
                f.act(
                    &id,
                    Priority::P2,
                    format!("Find out why stage {} of {} overran", st.name, sc.name),
                    "Compare the experiment's action durations with the stage's observation window and the run's stop timeout.".to_owned(),
                );
            }
            AbortReason::Interrupt | AbortReason::Signal => {
                let id = f.add(
                    scn,
                    stn,
                    format!("{at} was interrupted by an operator"),
                    format!("{} at {when}.", a.detail.trim_end_matches('.')),
                );
                f.act(
                    &id,
                    Priority::P2,
                    format!("Run stage {} of {} again", st.name, sc.name),
                    "The stage was cut short, so its hypothesis was not tested to the end."
                        .to_owned(),
                );
            }
        }
    }

    // The hypothesis broke.
    if !v.hypothesis_held && matches!(v.outcome, Outcome::Failed | Outcome::Aborted) {
        let broken: Vec<String> = v
            .metrics
            .iter()
            .filter(|m| !m.held)
            .map(|m| {
                format!(
                    "{} reached {} against a limit of {} ({} of {} datapoints outside)",
                    m.metric,
                    m.worst.map_or("n/a".to_owned(), num),
                    bound(m.lower, m.upper),
                    m.breaches,
                    m.fault_points
                )
            })
            .collect();
        let detail = if broken.is_empty() {
            v.reasons.join("; ")
        } else {
            format!("{}.", broken.join("; "))
        };
        let id = f.add(scn, stn, format!("Hypothesis broke at {at}"), detail);
        let prio = if n == 1 { Priority::P0 } else { Priority::P1 };
        let why = if n == 1 {
            "Even the smallest blast radius broke the steady state"
        } else {
            "The steady state held at smaller blast radii and broke here"
        };
        f.act(
            &id,
            prio,
            format!("Make {service} withstand {fault} at {selection}"),
            format!(
                "{why}. Fix the weakness (timeouts, retries, capacity, fallbacks), then run {} from stage {} again.",
                sc.name, st.name
            ),
        );
    }

    // Recovery.
    let target = v.recovery_target_secs;
    match v.recovery_secs {
        Some(r) if r > target => {
            let id = f.add(
                scn,
                stn,
                format!("Recovery after {at} was slower than its target"),
                format!(
                    "The metrics were back inside their bounds after {} against a target of {}.",
                    secs(r),
                    secs(target)
                ),
            );
            f.act(
                &id,
                Priority::P1,
                format!("Shorten recovery of {service} after {fault}"),
                "Look at what gates recovery (readiness probes, connection pools, autoscaling, retry back-off) and bring it within the target.".to_owned(),
            );
        }
        None if fin.fault_start.is_some() && v.metrics.iter().any(|m| m.breaches > 0) => {
            let id = f.add(
                scn,
                stn,
                format!("The metrics did not recover within the observation cap after {at}"),
                format!(
                    "Recovery was watched for up to {} (target {}) and did not complete.",
                    secs(run.start.settings.recovery_cap_secs),
                    secs(target)
                ),
            );
            f.act(
                &id,
                Priority::P1,
                format!("Check that {service} recovers on its own after {fault}"),
                "Verify the service is healthy now, and find what kept it degraded after the fault ended.".to_owned(),
            );
        }
        _ => {}
    }

    // Degraded significantly, though within bounds.
    for m in v.metrics.iter().filter(|m| m.degraded && m.held) {
        let shift = match (m.baseline_median, m.fault_median) {
            (Some(b), Some(x)) => format!("Its median moved from {} to {}", num(b), num(x)),
            _ => "It moved".to_owned(),
        };
        let stats = match (m.p_value, m.effect_size) {
            (Some(p), Some(e)) => format!(
                " (p {}, effect {} baseline spreads)",
                pv(p),
                format::effect(e)
            ),
            _ => String::new(),
        };
        let id = f.add(
            scn,
            stn,
            format!(
                "{} degraded significantly at {at}, though within bounds",
                m.metric
            ),
            format!(
                "{shift}{stats}; every datapoint stayed within {}.",
                bound(m.lower, m.upper)
            ),
        );
        f.act(
            &id,
            Priority::P2,
            format!(
                "Check the headroom of {} before a larger blast radius",
                m.metric
            ),
            format!(
                "The fault moved {} measurably; at a larger selection it may cross its bound.",
                m.metric
            ),
        );
    }

    // The stop alarms could not have fired.
    let mut seen = Vec::new();
    for (_, a) in st
        .alarms
        .iter()
        .filter(|(_, a)| a.state == "INSUFFICIENT_DATA")
    {
        if seen.contains(&a.alarm) {
            continue;
        }
        seen.push(a.alarm.clone());
        let reason = a.reason.as_deref().map_or(String::new(), |r| {
            format!(" CloudWatch said: {}", r.trim_end_matches('.'))
        });
        let id = f.add(
            scn,
            stn,
            format!("Stop alarm `{}` had missing data during {at}", a.alarm),
            format!("While an alarm is INSUFFICIENT_DATA it cannot fire, so FIS would not have stopped the experiment on it.{reason}."),
        );
        f.act(
            &id,
            Priority::P1,
            format!("Make sure `{}` always has data", a.alarm),
            "Check that the metric is published every period under load, and decide its treat_missing_data (`breaching` stops the experiment when data goes missing).".to_owned(),
        );
    }

    // Kubernetes warnings.
    let mut reasons_seen: Vec<&str> = Vec::new();
    for e in st.k8s_events.iter().filter(|e| e.event_type == "Warning") {
        if reasons_seen.contains(&e.reason.as_str()) || mentions_pdb(&e.message) {
            continue;
        }
        reasons_seen.push(&e.reason);
        let count: u32 = st
            .k8s_events
            .iter()
            .filter(|o| o.event_type == "Warning" && o.reason == e.reason)
            .map(|o| o.count)
            .sum();
        let id = f.add(
            scn,
            stn,
            format!("Kubernetes warning {} during {at}", e.reason),
            format!(
                "{} on {} in {} (seen {count} times): {}",
                e.reason,
                e.object,
                e.namespace,
                super::redact::redact(&e.message, super::redact::Redaction { ips: false })
            ),
        );
        let (prio, text) = K8S_WARNINGS.iter().find(|(r, _, _)| *r == e.reason).map_or(
            (
                Priority::P2,
                "Review the Kubernetes warning {reason} of {service} during the fault.",
            ),
            |(_, p, t)| (*p, *t),
        );
        f.act(
            &id,
            prio,
            format!("Address {} of {service} under {fault}", e.reason),
            text.replace("{service}", service)
                .replace("{reason}", &e.reason),
        );
    }

    // Pods not ready when the stage ended.
    if let Some((_, last)) = st.k8s_pods.last()
        && last.ready < last.total
    {
        let id = f.add(
            scn,
            stn,
            format!(
                "Only {} of {} pods were ready at the end of {at}",
                last.ready, last.total
            ),
            format!("{} container restarts in total.", last.restarts),
        );
        f.act(
            &id,
            Priority::P1,
            format!("Check that every {service} pod is ready again"),
            "Pods that stay unready after a fault reduce capacity for the next incident."
                .to_owned(),
        );
    }

    // The experiment itself failed (not stopped by us).
    if fin.final_status.as_deref() == Some("failed") && st.abort.is_none() {
        let reason = st
            .states
            .iter()
            .rev()
            .find_map(|(_, s)| s.reason.clone())
            .unwrap_or_else(|| "no reason given".to_owned());
        let id = f.add(
            scn,
            stn,
            format!(
                "Experiment {} failed at {at}",
                fin.experiment_id.as_deref().unwrap_or("(unknown)")
            ),
            format!("FIS reported: {reason}"),
        );
        f.act(
            &id,
            Priority::P1,
            format!("Fix the FIS failure of stage {} of {}", st.name, sc.name),
            "Until the experiment runs, this stage tests nothing.".to_owned(),
        );
    }
}

/// The hypothesis' fixed bound of `metric`, when the guard judged a datapoint against another
/// one (`lower`/`upper`, recorded with the datapoint): a learned band, whose bound moves with
/// the time of day. `None` when the guard's bound is the fixed one, or the plan is unknown.
pub(crate) fn fixed_bound_if_other(
    plan: Option<&Scenario>,
    metric: &str,
    lower: Option<f64>,
    upper: Option<f64>,
) -> Option<String> {
    let h = plan?.hypothesis.iter().find(|h| h.metric == metric)?;
    let differs = |judged: Option<f64>, fixed: Option<f64>| {
        judged.is_some_and(|j| fixed.is_none_or(|f| num(f) != num(j)))
    };
    (differs(upper, h.abort_upper) || differs(lower, h.abort_lower))
        .then(|| bound(h.abort_lower, h.abort_upper))
}

/// The guard stopped a stage before any stop alarm fired: say what it read and when, and why
/// the alarms of the metrics that breached were slower (threshold, or period × datapoints).
#[expect(
    clippy::too_many_arguments,
    reason = "the stage's context, as `stage` has it"
)]
fn guard_before_alarms(
    run: &RunRecord,
    sc: &ScenarioRecord,
    plan: Option<&Scenario>,
    st: &StageRecord,
    at: &str,
    abort_at: chrono::DateTime<chrono::Utc>,
    a: &Abort,
    later: &str,
    f: &mut Findings,
) {
    let (scn, stn) = (Some(sc.name.as_str()), Some(st.name.as_str()));
    let period = run.start.settings.guard_period_secs;
    let first = st
        .samples
        .iter()
        .enumerate()
        .find(|(_, x)| x.breach && x.phase == Phase::Fault);
    let read = match first {
        Some((i, x)) => {
            let seen = st.samples_seen_at.get(i).copied().unwrap_or(abort_at);
            let datapoint = match x.period_secs.or(period) {
                Some(p) => format!(
                    "the {} datapoint from {}",
                    secs(p),
                    format::clock(format::epoch(x.ts))
                ),
                None => format!(
                    "the datapoint stamped {}",
                    format::clock(format::epoch(x.ts))
                ),
            };
            let stopped = if (abort_at - seen).num_seconds() <= 1 {
                "and stopped the experiment at once".to_owned()
            } else {
                format!(
                    "and stopped the experiment at {}: {}",
                    format::since(abort_at, run.started_at),
                    a.detail.trim_end_matches('.')
                )
            };
            let outside = match fixed_bound_if_other(plan, &x.metric, x.lower, x.upper) {
                Some(fixed) => format!(
                    "outside its learned band at that time ({}; the hypothesis' fixed bound is {fixed})",
                    bound(x.lower, x.upper)
                ),
                None => format!("outside its bound {}", sample_bound(x, st)),
            };
            format!(
                "At {} ({} UTC) the guard read {} = {} in {datapoint}, {outside}, {stopped}.",
                format::since(seen, run.started_at),
                format::clock(seen),
                x.metric,
                num(x.value),
            )
        }
        None => format!(
            "At {} the guard stopped the experiment: {}.",
            format::since(abort_at, run.started_at),
            a.detail.trim_end_matches('.')
        ),
    };
    let id = f.add(
        scn,
        stn,
        format!("The guard, not a FIS stop condition, stopped {at}"),
        format!(
            "{read} No stop alarm was in ALARM by then.{later} Without the guard, FIS would have kept injecting until an alarm fired."
        ),
    );
    // The alarms of the metrics that breached, and why each was slower than the guard.
    let breached: Vec<&str> = {
        let mut m: Vec<&str> = st
            .samples
            .iter()
            .filter(|x| x.breach && x.phase == Phase::Fault)
            .map(|x| x.metric.as_str())
            .collect();
        m.dedup();
        m
    };
    let mut why = Vec::new();
    let mut names = Vec::new();
    for h in plan
        .map(|p| p.hypothesis.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|h| breached.contains(&h.metric.as_str()))
    {
        for name in &h.alarms {
            names.push(format!("`{name}`"));
            let spec = run.start.gameday.alarms.iter().find(|s| &s.name == name);
            let Some(spec) = spec else {
                why.push(format!(
                    "Check the threshold and period of `{name}` against the bound of {}.",
                    h.metric
                ));
                continue;
            };
            let limit = h.abort_upper.or(h.abort_lower);
            let same = limit.is_some_and(|l| (l - spec.threshold).abs() <= 1e-6 * l.abs().max(1.0));
            let p = u64::try_from(spec.period_secs).unwrap_or(0);
            let wait = p * spec.datapoints_to_alarm as u64;
            // The period the guard read this metric at (a learned judge reads at its own).
            let read_at = st
                .samples
                .iter()
                .find(|x| x.metric == h.metric)
                .and_then(|x| x.period_secs)
                .or(period);
            let guard = read_at.map_or(String::new(), |g| {
                format!(
                    ", while the guard acts on the first {} datapoint its rule calls a breach",
                    secs(g)
                )
            });
            if same {
                why.push(format!(
                    "`{name}` already fires at the bound ({}), but on {} of {} datapoints of {}: at the earliest {} after {} crosses it{guard}. Shorten its period (60 s, or 10 s with high-resolution metrics) so FIS stops the experiment by itself within a minute.",
                    num(spec.threshold),
                    spec.datapoints_to_alarm,
                    spec.evaluation_periods,
                    secs(p),
                    secs(wait),
                    h.metric
                ));
            } else {
                why.push(format!(
                    "`{name}` fires at {}, not at the bound {} of {}, and only after {} of {} datapoints of {}. Set its threshold to the bound and, if the period is longer than a minute, shorten it.",
                    num(spec.threshold),
                    bound(h.abort_lower, h.abort_upper),
                    h.metric,
                    spec.datapoints_to_alarm,
                    spec.evaluation_periods,
                    secs(p)
                ));
            }
        }
    }
    if why.is_empty() {
        why.push(format!(
            "Give {} a stop alarm on the metric that breached, at its bound, with a period of a minute or less.",
            sc.name
        ));
    }
    let title = if names.is_empty() {
        format!(
            "Add a stop alarm that fires as early as the guard in {}",
            sc.name
        )
    } else {
        format!("Make {} fire as early as the guard", names.join(", "))
    };
    f.act(&id, Priority::P1, title, why.join(" "));
}

fn pv(p: f64) -> String {
    let s = format::p_value(p);
    if s.starts_with('<') {
        s
    } else {
        format!("= {s}")
    }
}

fn run_end(run: &RunRecord, f: &mut Findings) {
    if let Some((_, i)) = &run.interrupted {
        let open: Vec<String> = run
            .scenarios
            .iter()
            .flat_map(|s| s.stages.iter().map(move |st| (s, st)))
            .filter(|(_, st)| st.intent.is_some() && st.finished.is_none())
            .map(|(s, st)| format!("stage {} of {}", st.name, s.name))
            .collect();
        let during = if open.is_empty() {
            String::new()
        } else {
            format!(" during {}", open.join(", "))
        };
        let stopped = if i.stopped.is_empty() {
            String::new()
        } else {
            format!(" It stopped {}.", i.stopped.join(", "))
        };
        let id = f.add(
            None,
            None,
            format!("The run died{during}"),
            format!(
                "`gameday recover` closed the journal: {}.{stopped}",
                i.detail.trim_end_matches('.')
            ),
        );
        f.act(
            &id,
            Priority::P1,
            "Find out why the run died".to_owned(),
            "Check the host's logs for the gameday process (OOM, reboot, lost session) before the next GameDay.".to_owned(),
        );
        let reported: Vec<&str> = run
            .scenarios
            .iter()
            .flat_map(|s| s.stages.iter())
            .filter_map(|st| {
                st.stop_failed
                    .as_ref()
                    .map(|(_, f)| f.experiment_id.as_str())
            })
            .collect();
        for exp in i
            .stop_failed
            .iter()
            .filter(|e| !reported.contains(&e.as_str()))
        {
            let id = f.add(
                None,
                None,
                format!("Experiment {exp} may still have been running after recovery"),
                "`gameday recover` could not stop it.".to_owned(),
            );
            f.act(
                &id,
                Priority::P0,
                format!("Confirm experiment {exp} is stopped"),
                format!("Run `aws fis stop-experiment --id {exp}` and check that `aws fis get-experiment --id {exp}` shows a terminal state."),
            );
        }
    } else if run.finished.is_none() {
        let id = f.add(
            None,
            None,
            "The run is still open or crashed".to_owned(),
            format!(
                "The journal ends at {} without run-finished.",
                format::utc(run.last_at)
            ),
        );
        f.act(
            &id,
            Priority::P0,
            format!("Run `gameday recover {}`", run.start.run_id),
            "If the run is not in progress, an experiment it started may still be running: recover stops it and closes the journal.".to_owned(),
        );
    }
}

/// The bound a guard sample was judged against, in words: the judge's band journaled with it,
/// or, for a sample journaled without one (older runs), the bound of the stage's verdict for
/// its metric.
pub(crate) fn sample_bound(x: &crate::model::record::GuardSample, st: &StageRecord) -> String {
    if x.lower.is_some() || x.upper.is_some() {
        return bound(x.lower, x.upper);
    }
    let (lower, upper) = st
        .finished
        .as_ref()
        .and_then(|(_, f)| f.verdict.metrics.iter().find(|m| m.metric == x.metric))
        .map_or((None, None), |m| (m.lower, m.upper));
    bound(lower, upper)
}
