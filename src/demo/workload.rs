//! SIMULATION: the live workload of the simulated services, reacting to the FIS experiments
//! that are actually running on the local emulator.
//!
//! Input: the emulator (its FIS experiments, their actions and templates) and the clock.
//! Output: the services' `LatencyP99` and `RequestRate` datapoints, published to the
//! [`DEMO_NAMESPACE`] namespace — first a backfill of recent history
//! (the seeded history ends an hour ago, and `gameday run`'s preflight needs recent data), then
//! one high-resolution datapoint per metric and service every tick. Must not: publish anywhere
//! but a loopback endpoint, or touch an experiment (it only lists and reads them).
//!
//! # Reaction table
//!
//! Each tick the workload lists the FIS experiments. An experiment counts when its status is
//! `running`, it is not a target preview (no `gameday-preview` tag), and at least one of its
//! fault actions (any action but `aws:fis:wait`) is `running`. Its template's target names the
//! service (label selector `key=<service>`) and the blast radius (`selectionMode`):
//!
//! | service  | one pod (`COUNT(1)`) | more (`COUNT(n>1)`, `PERCENT(n)`, `ALL`)                |
//! |----------|----------------------|---------------------------------------------------------|
//! | checkout | p99 ×1.01            | p99 ×1.02, rate ×0.99: moves, stays inside its bounds   |
//! | payments | p99 ×1.02            | p99 ×10, rate ×0.6: far past its abort bound            |
//! | catalog  | p99 ×1.02            | p99 ×1.04, rate ×0.98                                   |
//!
//! So with the plan's stages (1 pod → 10 % → 25 %), checkout passes every stage while its
//! latency rises a little, and payments passes its first stage and breaks in the second, where
//! the guard must stop it. The small moves stay inside the learned hour-of-week band at every
//! hour of the week with the noise at its worst (the band is about 3 % above the noisiest
//! healthy value at the steepest hour), so the outcome does not depend on when the demo runs. When the experiment ends (completed, stopping, stopped), the service
//! is back to its baseline on the next tick: that is its recovery. Several experiments on one
//! service combine to the worst effect. Every change of reaction is logged, marked SIMULATION.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{DEMO_NAMESPACE, DEMO_SERVICES, DemoError, Sample, datums, nominal};
use crate::mine::synthetic::SplitMix64;
use crate::plan::SelectionMode;
use crate::provider::aws::AwsClients;
use crate::provider::{ExperimentView, FaultInjector as _, MetricDatum};
use crate::shutdown::Shutdown;

/// The action that only waits (the observation window); it injects nothing.
const WAIT_ACTION: &str = "aws:fis:wait";
/// Tag of `gameday run`'s target-resolution previews (`actionsMode: skip-all`).
const PREVIEW_TAG: &str = crate::run::PREVIEW_TAG;

/// What a fault does to a service's metrics: factors applied to its healthy values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    /// Multiplies the p99 latency.
    pub p99_factor: f64,
    /// Multiplies the request rate.
    pub rate_factor: f64,
}

impl Effect {
    /// No fault: the healthy values.
    pub const NONE: Self = Self {
        p99_factor: 1.0,
        rate_factor: 1.0,
    };

    /// The service's values under this effect.
    pub fn apply(self, healthy: Sample) -> Sample {
        Sample {
            p99_ms: healthy.p99_ms * self.p99_factor,
            rate_per_s: healthy.rate_per_s * self.rate_factor,
        }
    }

    /// The worse of two effects, per metric (several faults on one service).
    pub fn worst(self, other: Self) -> Self {
        Self {
            p99_factor: self.p99_factor.max(other.p99_factor),
            rate_factor: self.rate_factor.min(other.rate_factor),
        }
    }
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Self::NONE {
            return f.write_str("baseline");
        }
        write!(f, "p99 ×{}, rate ×{}", self.p99_factor, self.rate_factor)
    }
}

/// The reaction table (see the module docs): how `service` reacts to the fault actions
/// `fault_actions` (action ids, running) on the pods `selection` picks. No running fault
/// action, or a service the table does not know, means no effect.
pub fn react(service: &str, selection: SelectionMode, fault_actions: &[&str]) -> Effect {
    if fault_actions.iter().all(|a| *a == WAIT_ACTION) {
        return Effect::NONE;
    }
    let one_pod = selection == SelectionMode::Count(1);
    let (p99_factor, rate_factor) = match (service, one_pod) {
        ("checkout", true) => (1.01, 1.0),
        ("checkout", false) => (1.02, 0.99),
        ("payments", true) => (1.02, 1.0),
        ("payments", false) => (10.0, 0.6),
        ("catalog", true) => (1.02, 1.0),
        ("catalog", false) => (1.04, 0.98),
        _ => (1.0, 1.0),
    };
    Effect {
        p99_factor,
        rate_factor,
    }
}

/// What a running experiment targets, read from its template: the simulated service its label
/// selector names (`key=<service>`) and its `selectionMode`.
pub fn target_of(template: &serde_json::Value) -> Option<(String, SelectionMode)> {
    template["targets"].as_object()?.values().find_map(|t| {
        let selector = t["parameters"]["selectorValue"].as_str()?;
        let service = DEMO_SERVICES.into_iter().find(|s| {
            selector
                .split(',')
                .any(|kv| kv.split_once('=').is_some_and(|(_, v)| v.trim() == *s))
        })?;
        let mode = SelectionMode::parse(t["selectionMode"].as_str().unwrap_or("ALL")).ok()?;
        Some((service.to_owned(), mode))
    })
}

/// The ids of the experiment's fault actions (not `aws:fis:wait`) that are running now.
pub fn running_fault_actions(view: &ExperimentView) -> Vec<String> {
    view.actions
        .values()
        .filter(|a| a.status == "running")
        .filter_map(|a| a.action_id.clone())
        .filter(|id| id != WAIT_ACTION)
        .collect()
}

/// Why a service shows what it shows: its effect and the experiments causing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    /// The combined effect.
    pub effect: Effect,
    /// `experiment-id (scenario/stage, action ids on selection)` of each cause.
    pub causes: Vec<String>,
}

/// The reactions of every demo service to these experiments (each with its template, when it
/// could be read); services without a running fault are absent.
pub fn reactions(
    experiments: &[(ExperimentView, Option<serde_json::Value>)],
) -> BTreeMap<String, Reaction> {
    let mut out: BTreeMap<String, Reaction> = BTreeMap::new();
    for (view, template) in experiments {
        if view.status != "running" || view.tags.contains_key(PREVIEW_TAG) {
            continue;
        }
        let Some((service, selection)) = template.as_ref().and_then(target_of) else {
            continue;
        };
        let actions = running_fault_actions(view);
        let ids: Vec<&str> = actions.iter().map(String::as_str).collect();
        let effect = react(&service, selection, &ids);
        if effect == Effect::NONE {
            continue;
        }
        let tag = |k: &str| view.tags.get(k).map_or("?", String::as_str);
        let cause = format!(
            "{} ({}/{}, {} on {selection})",
            view.id,
            tag("gameday-scenario"),
            tag("gameday-stage"),
            ids.join("+")
        );
        let r = out.entry(service).or_insert(Reaction {
            effect: Effect::NONE,
            causes: Vec::new(),
        });
        r.effect = r.effect.worst(effect);
        r.causes.push(cause);
    }
    out
}

/// How the workload runs.
#[derive(Debug, Clone)]
pub struct WorkloadOptions {
    /// Recent history published first.
    pub backfill: Duration,
    /// Spacing of the backfilled datapoints.
    pub backfill_step: Duration,
    /// Time between live datapoints.
    pub interval: Duration,
    /// Stop after this long (until cancelled when absent).
    pub duration: Option<Duration>,
    /// Touched once the backfill is published.
    pub ready_file: Option<std::path::PathBuf>,
}

/// What the workload did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkloadSummary {
    /// Live ticks published.
    pub ticks: u64,
    /// Ticks whose publishing failed (logged).
    pub failed_ticks: u64,
    /// Reaction changes (logged).
    pub reaction_changes: u64,
}

/// The healthy datapoints of every demo service over `[now - backfill, now)`, one set every
/// `step`.
pub fn backfill(
    now: DateTime<Utc>,
    opts: &WorkloadOptions,
    rng: &mut SplitMix64,
) -> Vec<MetricDatum> {
    let step = i64::try_from(opts.backfill_step.as_secs().max(1)).unwrap_or(10);
    let span = i64::try_from(opts.backfill.as_secs()).unwrap_or(0);
    let end = now.timestamp();
    let mut out = Vec::new();
    for service in DEMO_SERVICES {
        let mut ts = end - span;
        while ts < end {
            let at = DateTime::from_timestamp(ts, 0).unwrap_or_default();
            out.extend(datums(service, at, nominal(service, ts, rng), true));
            ts += step;
        }
    }
    out
}

/// Runs the workload until `shutdown` is cancelled or `opts.duration` passes: the backfill,
/// then every `opts.interval` the experiments' reactions and one datapoint per metric and
/// service. Listing or publishing failures are logged and retried on the next tick.
///
/// # Errors
/// [`DemoError::NotEmulator`] for an endpoint that is not loopback (checked before anything is
/// sent); [`DemoError::Provider`] when the backfill cannot be published;
/// [`DemoError::Ready`] when the ready file cannot be written.
pub async fn run_workload(
    clients: &AwsClients,
    endpoint_url: &str,
    opts: &WorkloadOptions,
    shutdown: &Shutdown,
) -> Result<WorkloadSummary, DemoError> {
    if !crate::provider::aws::is_loopback_endpoint(endpoint_url) {
        return Err(DemoError::NotEmulator {
            command: "workload",
            endpoint: endpoint_url.to_owned(),
        });
    }
    let started = tokio::time::Instant::now();
    let seed = u64::try_from(Utc::now().timestamp_nanos_opt().unwrap_or(0)).unwrap_or(0);
    let mut rng = SplitMix64::new(seed);
    let history = backfill(Utc::now(), opts, &mut rng);
    clients.put_metric_data(DEMO_NAMESPACE, &history).await?;
    tracing::info!(
        datapoints = history.len(),
        minutes = opts.backfill.as_secs() / 60,
        "SIMULATION: workload backfilled; publishing live"
    );
    if let Some(path) = &opts.ready_file {
        std::fs::write(path, "backfilled\n").map_err(|source| DemoError::Ready {
            path: path.clone(),
            source,
        })?;
    }

    let mut summary = WorkloadSummary::default();
    let mut templates: BTreeMap<String, Option<serde_json::Value>> = BTreeMap::new();
    let mut shown: BTreeMap<String, Reaction> = BTreeMap::new();
    let mut tick = tokio::time::interval(opts.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = opts.duration.map(|d| started + d);
    loop {
        tokio::select! {
            () = shutdown.token().cancelled() => break,
            () = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => break,
            _ = tick.tick() => {}
        }
        let now = reactions(&observe(clients, &mut templates).await);
        for service in DEMO_SERVICES {
            let (before, after) = (shown.get(service), now.get(service));
            if before.map(|r| r.effect) != after.map(|r| r.effect) {
                summary.reaction_changes += 1;
                match after {
                    Some(r) => tracing::info!(
                        service,
                        effect = %r.effect,
                        cause = %r.causes.join("; "),
                        "SIMULATION: {service} reacts to the running fault"
                    ),
                    None => tracing::info!(
                        service,
                        "SIMULATION: {service} back to baseline (no fault running)"
                    ),
                }
            }
        }
        shown = now;
        let at = Utc::now();
        let mut data = Vec::new();
        for service in DEMO_SERVICES {
            let effect = shown.get(service).map_or(Effect::NONE, |r| r.effect);
            let sample = effect.apply(nominal(service, at.timestamp(), &mut rng));
            data.extend(datums(service, at, sample, true));
        }
        summary.ticks += 1;
        if let Err(e) = clients.put_metric_data(DEMO_NAMESPACE, &data).await {
            summary.failed_ticks += 1;
            tracing::warn!(error = %e, "SIMULATION: publishing the workload's datapoints failed; retrying next tick");
        }
    }
    Ok(summary)
}

/// The running experiments with their templates (read once per template id).
async fn observe(
    clients: &AwsClients,
    templates: &mut BTreeMap<String, Option<serde_json::Value>>,
) -> Vec<(ExperimentView, Option<serde_json::Value>)> {
    let listed = match clients.list().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "SIMULATION: listing FIS experiments failed; retrying next tick");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for summary in listed
        .iter()
        .filter(|e| e.status == "running" && !e.tags.contains_key(PREVIEW_TAG))
    {
        let view = match clients.get(&summary.id).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(experiment = %summary.id, error = %e, "SIMULATION: reading an experiment failed");
                continue;
            }
        };
        let template = match &view.template_id {
            Some(id) => {
                if !templates.contains_key(id) {
                    let t = clients.template_request(id).await;
                    if let Err(e) = &t {
                        tracing::warn!(template = %id, error = %e, "SIMULATION: reading a template failed");
                    }
                    templates.insert(id.clone(), t.ok());
                }
                templates.get(id).cloned().flatten()
            }
            None => None,
        };
        out.push((view, template));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ActionView;

    fn view(status: &str, action_status: &str, tags: &[(&str, &str)]) -> ExperimentView {
        ExperimentView {
            id: "EXP1".to_owned(),
            template_id: Some("T1".to_owned()),
            status: status.to_owned(),
            reason: None,
            actions: BTreeMap::from([
                (
                    "pod-memory-stress".to_owned(),
                    ActionView {
                        action_id: Some("aws:eks:pod-memory-stress".to_owned()),
                        status: action_status.to_owned(),
                        reason: None,
                    },
                ),
                (
                    "observe".to_owned(),
                    ActionView {
                        action_id: Some(WAIT_ACTION.to_owned()),
                        status: action_status.to_owned(),
                        reason: None,
                    },
                ),
            ]),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn template(selector: &str, mode: &str) -> serde_json::Value {
        serde_json::json!({"targets": {"pods": {
            "resourceType": "aws:eks:pod",
            "selectionMode": mode,
            "parameters": {"namespace": "shop", "selectorType": "labelSelector", "selectorValue": selector}
        }}})
    }

    const STRESS: &[&str] = &["aws:eks:pod-memory-stress"];

    #[test]
    fn the_reaction_table() {
        let pct = SelectionMode::Percent(10);
        let one = SelectionMode::Count(1);
        assert_eq!(react("payments", pct, STRESS).p99_factor, 10.0);
        assert_eq!(
            react("payments", SelectionMode::All, STRESS).p99_factor,
            10.0
        );
        assert_eq!(
            react("payments", SelectionMode::Count(2), STRESS).p99_factor,
            10.0
        );
        assert_eq!(react("payments", one, STRESS).p99_factor, 1.02);
        assert_eq!(react("checkout", one, STRESS).p99_factor, 1.01);
        assert_eq!(
            react("checkout", SelectionMode::Percent(25), STRESS).p99_factor,
            1.02
        );
        assert_eq!(react("catalog", pct, STRESS).rate_factor, 0.98);
        assert_eq!(react("unknown", pct, STRESS), Effect::NONE);
        // Waiting injects nothing; no running action means no effect.
        assert_eq!(react("payments", pct, &[WAIT_ACTION]), Effect::NONE);
        assert_eq!(react("payments", pct, &[]), Effect::NONE);
    }

    #[test]
    fn effects_apply_and_combine() {
        let s = Sample {
            p99_ms: 200.0,
            rate_per_s: 10.0,
        };
        let e = react("payments", SelectionMode::Percent(10), STRESS);
        assert_eq!(
            e.apply(s),
            Sample {
                p99_ms: 2000.0,
                rate_per_s: 6.0
            }
        );
        assert_eq!(Effect::NONE.apply(s), s);
        let mild = react("payments", SelectionMode::Count(1), STRESS);
        assert_eq!(mild.worst(e), e);
        assert_eq!(Effect::NONE.to_string(), "baseline");
        assert_eq!(e.to_string(), "p99 ×10, rate ×0.6");
    }

    #[test]
    fn a_running_experiment_moves_the_service_it_targets() {
        let tags = [
            ("gameday-scenario", "payments-memory-exhaustion"),
            ("gameday-stage", "percent-10"),
        ];
        let r = reactions(&[(
            view("running", "running", &tags),
            Some(template("chaos-experiment=payments", "PERCENT(10)")),
        )]);
        assert_eq!(r.len(), 1);
        assert_eq!(r["payments"].effect.p99_factor, 10.0);
        assert_eq!(
            r["payments"].causes,
            [
                "EXP1 (payments-memory-exhaustion/percent-10, aws:eks:pod-memory-stress on PERCENT(10))"
            ]
        );
    }

    #[test]
    fn previews_finished_or_pending_experiments_and_unknown_targets_move_nothing() {
        let t = Some(template("chaos-experiment=payments", "PERCENT(10)"));
        for (v, t) in [
            (
                view("running", "running", &[(PREVIEW_TAG, "true")]),
                t.clone(),
            ),
            (view("initiating", "pending", &[]), t.clone()),
            (view("completed", "completed", &[]), t.clone()),
            (view("stopping", "stopping", &[]), t.clone()),
            (view("running", "completed", &[]), t.clone()),
            (
                view("running", "running", &[]),
                Some(template("app=search", "ALL")),
            ),
            (view("running", "running", &[]), None),
        ] {
            assert!(reactions(&[(v.clone(), t)]).is_empty(), "{v:?}");
        }
    }

    #[test]
    fn the_target_names_the_service_and_the_blast_radius() {
        assert_eq!(
            target_of(&template("chaos-experiment=checkout", "COUNT(1)")),
            Some(("checkout".to_owned(), SelectionMode::Count(1)))
        );
        assert_eq!(
            target_of(&template("tier=web,app=catalog", "PERCENT(25)")),
            Some(("catalog".to_owned(), SelectionMode::Percent(25)))
        );
        assert_eq!(target_of(&template("app=checkoutx", "ALL")), None);
        assert_eq!(target_of(&serde_json::json!({})), None);
    }

    #[test]
    fn the_backfill_covers_the_window_for_every_service() {
        let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let opts = WorkloadOptions {
            backfill: Duration::from_secs(1200),
            backfill_step: Duration::from_secs(10),
            interval: Duration::from_secs(1),
            duration: None,
            ready_file: None,
        };
        let data = backfill(now, &opts, &mut SplitMix64::new(1));
        assert_eq!(data.len(), DEMO_SERVICES.len() * 2 * 120);
        assert!(data.iter().all(|d| d.high_resolution
            && d.timestamp < now
            && d.timestamp >= now - chrono::Duration::seconds(1200)));
    }
    /// The table against the hypotheses `gameday steady-state derive` learns from the seeded
    /// history (30 and 7 days, incidents left out as the demo does): at every 5 minutes of a
    /// week and with the noise at its worst, healthy values hold, checkout under any fault
    /// stays inside the band its judge holds it to at that hour, and payments past one pod
    /// breaks it.
    #[test]
    fn the_table_against_the_bounds_derived_from_the_seeded_history() {
        use crate::steady_state::Point;
        use crate::steady_state::cloudwatch::derive_service;
        let cfg = crate::config::Config::from_yaml(
            std::path::Path::new("demo.yaml"),
            &super::super::config_yaml("http://127.0.0.1:4566", &["/a".to_owned()]),
        )
        .unwrap();
        for metric_days in [30, 7] {
            let opts = super::super::DemoOptions {
                log_days: 180,
                metric_days,
                now: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            };
            let history = super::super::log_history(&opts);
            let data = super::super::metric_history(&opts, &history);
            for service in ["checkout", "payments"] {
                let svc = cfg.services.iter().find(|s| s.name == service).unwrap();
                let series = |name: &str| -> Vec<Point> {
                    data.iter()
                        .filter(|d| d.name == name && d.dimensions["Service"] == service)
                        .map(|d| Point {
                            ts: d.timestamp.timestamp(),
                            value: d.value,
                        })
                        .collect()
                };
                let pad = 1800;
                let excluded: Vec<(i64, i64)> = history
                    .incidents
                    .iter()
                    .filter(|i| i.service == service)
                    .map(|i| {
                        (
                            i.start_ms / 1000 - pad,
                            (i.start_ms + i.duration_ms) / 1000 + pad,
                        )
                    })
                    .collect();
                let (hyps, _) = derive_service(
                    svc,
                    &[
                        series(super::super::LATENCY_METRIC),
                        series(super::super::RATE_METRIC),
                    ],
                    &excluded,
                )
                .unwrap();
                let (latency, rate) = super::super::profile(service);
                for step in 0..(7 * 288) {
                    let ts = 1_790_000_000 + step * 300;
                    // The band the guard's judge holds the metric to at that time (the stop
                    // alarms' static thresholds are the loosest of the week, so never tighter).
                    let p99_max = hyps[0].bounds_at(ts).upper.unwrap();
                    let rate_min = hyps[1].bounds_at(ts).lower.unwrap();
                    assert!(p99_max <= hyps[0].abort.upper.unwrap());
                    assert!(rate_min >= hyps[1].abort.lower.unwrap());
                    let load = super::super::load_at(ts);
                    let p99 = latency * (0.85 + 0.3 * load);
                    let (p99_hi, p99_lo) = (p99 * 1.04, p99 * 0.96);
                    let (rate_hi, rate_lo) = (rate * load * 1.025, rate * load * 0.975);
                    let _ = rate_hi;
                    assert!(
                        p99_hi <= p99_max && rate_lo >= rate_min,
                        "{service} healthy"
                    );
                    let one = react(service, SelectionMode::Count(1), STRESS);
                    let more = react(service, SelectionMode::Percent(10), STRESS);
                    assert!(p99_hi * one.p99_factor <= p99_max, "{service} one pod");
                    assert!(rate_lo * one.rate_factor >= rate_min, "{service} one pod");
                    if service == "checkout" {
                        assert!(
                            p99_hi * more.p99_factor <= p99_max,
                            "checkout under fault at step {step}: {} > {p99_max} ({metric_days} d)",
                            p99_hi * more.p99_factor
                        );
                        assert!(rate_lo * more.rate_factor >= rate_min);
                    } else {
                        // Even a single faulted second among ten healthy ones breaks a 10 s
                        // average: (9 × healthy + faulted) / 10 is past the bound.
                        let mixed = (9.0 * p99_lo + p99_lo * more.p99_factor) / 10.0;
                        assert!(
                            mixed > p99_max,
                            "payments at step {step}: {mixed} <= {p99_max}"
                        );
                    }
                }
            }
        }
    }
}
