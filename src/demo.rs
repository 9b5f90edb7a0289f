//! SIMULATION: a rehearsal environment on the local AWS emulator, for people without an account.
//!
//! Input: the emulator's endpoint. Output: a simulated history seeded into it — 180 days of
//! alarm state changes, Kubernetes events and application logs ([`crate::mine::synthetic`]) and
//! 30 days of service metrics with daily and weekly seasonality in which the simulated incidents
//! are visible — plus a config file pointing gameday at it. Must not: ever write to anything but
//! a loopback endpoint (the log history goes through the emulator-only seeding endpoint, which
//! real AWS does not have, and simulated data has no business in a real account).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::mine::synthetic::{
    SplitMix64, SyntheticHistory, SyntheticSpec, generate, more_fault_evidence,
};
use crate::provider::MetricDatum;

pub mod workload;

/// CloudWatch namespace of the simulated service metrics (named so nobody mistakes them).
pub const DEMO_NAMESPACE: &str = "GameDay/Simulated";
/// The simulated EKS cluster.
pub const DEMO_CLUSTER: &str = "staging-eks";
/// The simulated services.
pub const DEMO_SERVICES: [&str; 3] = ["checkout", "payments", "catalog"];
/// Spacing of the simulated metric history, seconds.
pub const METRIC_STEP_SECS: i64 = 300;

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Days of log history.
    pub log_days: u32,
    /// Days of metric history.
    pub metric_days: u32,
    /// "Now": the history ends just before it.
    pub now: DateTime<Utc>,
}

/// The log history: the mining simulator's, set in staging and ending an hour before `now`.
pub fn log_history(opts: &DemoOptions) -> SyntheticHistory {
    let spec = SyntheticSpec {
        start_ms: opts.now.timestamp_millis() - i64::from(opts.log_days) * 86_400_000 - 3_600_000,
        days: opts.log_days,
        cluster: DEMO_CLUSTER.to_owned(),
        services: DEMO_SERVICES.map(str::to_owned).to_vec(),
        past_experiments: Vec::new(),
        ..SyntheticSpec::default()
    };
    let mut history = generate(&spec);
    // Node, database, zone, dependency, throttling, packet-loss and crash incidents, so every
    // fault class with a FIS action has evidence to plan from.
    let beyond = more_fault_evidence(&spec, MORE_FAULT_INCIDENTS);
    history.events.extend(beyond.events);
    history
        .events
        .sort_by(|a, b| (a.timestamp_ms, &a.message).cmp(&(b.timestamp_ms, &b.message)));
    history.incidents.extend(beyond.incidents);
    history
        .incidents
        .sort_by(|a, b| (a.start_ms, &a.class).cmp(&(b.start_ms, &b.class)));
    history
}

/// Incidents per class of [`crate::mine::synthetic::MORE_FAULT_CLASSES`] in the demo history.
const MORE_FAULT_INCIDENTS: u32 = 4;

/// Name of the simulated p99 latency metric (milliseconds, read with `Average`).
pub const LATENCY_METRIC: &str = "LatencyP99";
/// Name of the simulated request-rate metric (requests per second, read with `Average`).
///
/// A per-second rate rather than a count: its `Average` is the same at any period, so the guard
/// can read it every few seconds against bounds learned from 5-minute history (a `Sum` would
/// scale with the period and every short read would "breach" a lower bound).
pub const RATE_METRIC: &str = "RequestRate";

/// Base p99 latency (ms) and request rate (per second) of a simulated service.
pub(crate) fn profile(service: &str) -> (f64, f64) {
    match service {
        "checkout" => (180.0, 10.0),
        "payments" => (240.0, 4.0),
        _ => (90.0, 20.0),
    }
}

/// The simulated load at `ts` (epoch seconds) relative to the daily mean: a daily sine peaking
/// at 15:00 UTC (±45 %) and weekends at 60 %.
pub(crate) fn load_at(ts: i64) -> f64 {
    let hour = f64::from(u32::try_from(ts.rem_euclid(86_400)).unwrap_or(0)) / 3600.0;
    let daily = (std::f64::consts::TAU * (hour - 9.0) / 24.0).sin();
    // 1970-01-01 was a Thursday: days 2 and 3 of the week (mod 7) are the weekend.
    let weekend = matches!(ts.div_euclid(86_400).rem_euclid(7), 2 | 3);
    (1.0 + 0.45 * daily) * if weekend { 0.6 } else { 1.0 }
}

/// Uniform noise in [-0.5, 0.5).
pub(crate) fn noise(rng: &mut SplitMix64) -> f64 {
    (f64::from(u32::try_from(rng.below(10_000)).unwrap_or(0)) / 10_000.0) - 0.5
}

/// What a simulated service shows at one instant, before any fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// p99 latency, milliseconds.
    pub p99_ms: f64,
    /// Requests per second.
    pub rate_per_s: f64,
}

/// The healthy value of `service` at `ts`: its profile scaled by the load, with ±4 % noise on
/// latency and ±2.5 % on the rate drawn from `rng`. The seeded history and the live workload
/// both use it, so live values sit where the derived hypotheses expect them.
pub(crate) fn nominal(service: &str, ts: i64, rng: &mut SplitMix64) -> Sample {
    let (latency, rate) = profile(service);
    let load = load_at(ts);
    Sample {
        p99_ms: latency * (0.85 + 0.3 * load) * (1.0 + 0.08 * noise(rng)),
        rate_per_s: rate * load * (1.0 + 0.05 * noise(rng)),
    }
}

/// The two metric datapoints of one sample.
pub(crate) fn datums(
    service: &str,
    timestamp: DateTime<Utc>,
    s: Sample,
    high_resolution: bool,
) -> [MetricDatum; 2] {
    let dims = BTreeMap::from([("Service".to_owned(), service.to_owned())]);
    [(LATENCY_METRIC, s.p99_ms), (RATE_METRIC, s.rate_per_s)].map(|(name, value)| MetricDatum {
        name: name.to_owned(),
        dimensions: dims.clone(),
        timestamp,
        value,
        high_resolution,
    })
}

/// Service metrics every [`METRIC_STEP_SECS`] over the last `metric_days`: p99 latency and
/// request rate with daily and weekly seasonality and noise; during a simulated incident of
/// the service, latency rises and requests drop, so the incidents show in the series.
pub fn metric_history(opts: &DemoOptions, history: &SyntheticHistory) -> Vec<MetricDatum> {
    let end = opts.now.timestamp() - 3600;
    let start = end - i64::from(opts.metric_days) * 86_400;
    let start = start - start.rem_euclid(METRIC_STEP_SECS);
    let mut rng = SplitMix64::new(0x005e_ed0f_da7a);
    let mut out = Vec::new();
    for service in DEMO_SERVICES {
        let incidents: Vec<(i64, i64)> = history
            .incidents
            .iter()
            .filter(|i| i.service == service)
            .map(|i| (i.start_ms / 1000, (i.start_ms + i.duration_ms) / 1000))
            .collect();
        let mut ts = start;
        while ts < end {
            let mut s = nominal(service, ts, &mut rng);
            if incidents.iter().any(|(a, b)| (*a..=*b).contains(&ts)) {
                s.p99_ms *= 4.5;
                s.rate_per_s *= 0.55;
            }
            let timestamp = DateTime::from_timestamp(ts, 0).unwrap_or_default();
            out.extend(datums(service, timestamp, s, false));
            ts += METRIC_STEP_SECS;
        }
    }
    out
}

/// The log events grouped per log group, each group in one simulated stream (the events carry
/// their own pod and node metadata, so nothing mining needs is lost, and seeding stays quick).
pub fn log_batches(history: &SyntheticHistory) -> BTreeMap<String, Vec<(i64, String)>> {
    let mut groups: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for e in &history.events {
        let group = e
            .log_group
            .clone()
            .unwrap_or_else(|| "/gameday/simulated".to_owned());
        groups
            .entry(group)
            .or_default()
            .push((e.timestamp_ms, e.message.clone()));
    }
    groups
}

/// A gameday config for the simulated environment.
pub fn config_yaml(endpoint_url: &str, log_groups: &[String]) -> String {
    use std::fmt::Write as _;
    let mut y = String::from(
        "# SIMULATION: gameday config for the simulated environment seeded by `gameday demo seed`\n\
         # into the local AWS emulator. Nothing here refers to real resources.\n\
         environment: staging\n",
    );
    let _ = writeln!(
        y,
        "aws:\n  region: us-east-1\n  endpoint_url: {endpoint_url}"
    );
    y.push_str("incidents:\n  log_groups:\n");
    for g in log_groups {
        let _ = writeln!(y, "    - {g}");
    }
    y.push_str("  lookback: 181d\nservices:\n");
    for s in DEMO_SERVICES {
        let _ = write!(
            y,
            "  - name: {s}\n    owner: team-{s}\n    cluster: {DEMO_CLUSTER}\n    namespace: shop\n    selector: app={s}\n    recovery_target: 5m\n    faults: {{iam_role_arn: 'arn:aws:iam::123456789012:role/{s}-pods'}}\n    metrics:\n      - name: p99_latency_ms\n        direction: upper\n        slo: 2500\n        metric: {{namespace: {DEMO_NAMESPACE}, name: {LATENCY_METRIC}, dimensions: {{Service: {s}}}, stat: Average, period: 5m}}\n      - name: request_rate\n        direction: lower\n        metric: {{namespace: {DEMO_NAMESPACE}, name: {RATE_METRIC}, dimensions: {{Service: {s}}}, stat: Average, period: 5m}}\n"
        );
    }
    y.push_str(
        "policy:\n  allowed_environments: [staging]\n  required_label: chaos-experiment\n  namespaces: [shop]\n  max_count: 5\n  max_percent: 25\n  max_parallel_actions: 2\n  max_duration: 1h\n\
         fis:\n  role_arn: arn:aws:iam::123456789012:role/gameday-simulated-fis\n  kubernetes_service_account: fis-experiment\n  log_group_arn: arn:aws:logs:us-east-1:123456789012:log-group:/gameday/fis:*\n",
    );
    y
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The endpoint is not the local emulator.
    #[error(
        "refusing to seed simulated data into {endpoint}: `demo {command}` only writes to the local emulator (start it with scripts/local-aws start and pass its http://127.0.0.1:PORT URL)"
    )]
    NotEmulator {
        /// The `gameday demo` subcommand refusing.
        command: &'static str,
        /// The endpoint given.
        endpoint: String,
    },
    /// The emulator's seeding endpoint refused or could not be reached.
    #[error("failed to seed log group {group} through the emulator")]
    Seed {
        /// The log group.
        group: String,
        /// The HTTP error.
        #[source]
        source: reqwest::Error,
    },
    /// Publishing metrics failed.
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    /// The workload's ready file could not be written.
    #[error("failed to write the ready file {path}")]
    Ready {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl DemoError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotEmulator { .. } => "demo_not_emulator",
            Self::Seed { .. } => "demo_seed",
            Self::Ready { .. } => "demo_ready_file",
            Self::Provider(e) => e.kind(),
        }
    }
}

/// Seeds the emulator: logs through its emulator-only endpoint, metrics with PutMetricData.
///
/// # Errors
/// [`DemoError::NotEmulator`] for any endpoint that is not loopback (checked before anything is
/// sent); otherwise the first failing request.
pub async fn seed(
    clients: &crate::provider::aws::AwsClients,
    endpoint_url: &str,
    logs: &BTreeMap<String, Vec<(i64, String)>>,
    metrics: &[MetricDatum],
) -> Result<(), DemoError> {
    if !crate::provider::aws::is_loopback_endpoint(endpoint_url) {
        return Err(DemoError::NotEmulator {
            command: "seed",
            endpoint: endpoint_url.to_owned(),
        });
    }
    let http = reqwest::Client::new();
    let url = format!("{}/_gameday/logs/seed", endpoint_url.trim_end_matches('/'));
    for (group, events) in logs {
        let body = serde_json::json!({
            "region": clients.region,
            "logGroupName": group,
            "logStreamName": "gameday-simulated",
            "events": events.iter().map(|(t, m)| serde_json::json!({"timestamp": t, "message": m})).collect::<Vec<_>>(),
        });
        http.post(&url)
            .json(&body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|source| DemoError::Seed {
                group: group.clone(),
                source,
            })?;
    }
    clients.put_metric_data(DEMO_NAMESPACE, metrics).await?;
    Ok(())
}

/// Creates, in the emulator, the FIS role the demo's config names (`demo seed --fis-role`), so
/// that `doctor` with that config finds it: trusted by FIS, allowed every FIS action's
/// permissions and the experiment log delivery. Returns whether it was created (not already
/// there).
///
/// # Errors
/// [`DemoError::NotEmulator`] for any endpoint that is not loopback; otherwise IAM's refusal.
pub async fn create_simulated_fis_role(
    clients: &crate::provider::aws::AwsClients,
    endpoint_url: &str,
) -> Result<bool, DemoError> {
    if !crate::provider::aws::is_loopback_endpoint(endpoint_url) {
        return Err(DemoError::NotEmulator {
            command: "seed",
            endpoint: endpoint_url.to_owned(),
        });
    }
    let (trust, policy) = simulated_fis_role();
    Ok(clients
        .create_role_unless_exists(SIMULATED_FIS_ROLE, &trust, "gameday-simulated-fis", &policy)
        .await?)
}

/// The name of the emulator's simulated FIS experiment role (`fis.role_arn` of the demo config).
pub const SIMULATED_FIS_ROLE: &str = "gameday-simulated-fis";

/// The simulated FIS role's trust policy and permissions: every IAM action of the FIS actions
/// gameday knows, and log delivery, on any resource (it is the emulator's).
fn simulated_fis_role() -> (serde_json::Value, serde_json::Value) {
    use crate::iam::experiment::{ACTION_PERMISSIONS, LOG_DELIVERY};
    let actions: std::collections::BTreeSet<&str> = ACTION_PERMISSIONS
        .iter()
        .flat_map(|(_, _, iam)| iam.iter().copied())
        .chain(LOG_DELIVERY.iter().copied())
        .collect();
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    });
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Simulated", "Effect": "Allow", "Action": actions, "Resource": "*"}]
    });
    (trust, policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> DemoOptions {
        DemoOptions {
            log_days: 180,
            metric_days: 30,
            now: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn metrics_cover_the_window_for_every_service_and_show_incidents() {
        let o = opts();
        let h = log_history(&o);
        let m = metric_history(&o, &h);
        let per_series = 30 * 86_400 / METRIC_STEP_SECS as usize;
        // The start is aligned down to a step, so a series may hold one point more.
        let series = DEMO_SERVICES.len() * 2;
        assert!(
            (series * per_series..=series * (per_series + 1)).contains(&m.len()),
            "{} points",
            m.len()
        );
        // Every simulated incident inside the metric window lifts its service's latency there.
        let window = m[0].timestamp.timestamp()..m[m.len() - 1].timestamp.timestamp();
        let inside: Vec<_> = h
            .incidents
            .iter()
            .filter(|i| DEMO_SERVICES.contains(&i.service.as_str()))
            .filter(|i| window.contains(&(i.start_ms / 1000)) && i.duration_ms >= 600_000)
            .collect();
        assert!(
            !inside.is_empty(),
            "the metric window holds simulated incidents"
        );
        for i in inside {
            let series: Vec<&MetricDatum> = m
                .iter()
                .filter(|d| d.name == "LatencyP99" && d.dimensions["Service"] == i.service)
                .collect();
            let mut values: Vec<f64> = series.iter().map(|d| d.value).collect();
            values.sort_by(f64::total_cmp);
            let median = values[values.len() / 2];
            let (a, b) = (i.start_ms / 1000, (i.start_ms + i.duration_ms) / 1000);
            assert!(
                series
                    .iter()
                    .any(|d| (a..=b).contains(&d.timestamp.timestamp()) && d.value > 2.5 * median),
                "incident {} of {} is visible in its latency",
                i.class,
                i.service
            );
        }
    }

    #[test]
    fn the_demo_config_is_valid() {
        let cfg = crate::config::Config::from_yaml(
            std::path::Path::new("demo.yaml"),
            &config_yaml("http://127.0.0.1:4566", &["/a".to_owned()]),
        )
        .expect("the generated demo config validates");
        assert_eq!(cfg.services.len(), 3);
        assert_eq!(
            cfg.aws.endpoint_url.as_deref(),
            Some("http://127.0.0.1:4566")
        );
    }

    #[test]
    fn deterministic() {
        let o = opts();
        let h = log_history(&o);
        assert_eq!(metric_history(&o, &h), metric_history(&o, &h));
        assert_eq!(log_batches(&h), log_batches(&h));
    }
}
