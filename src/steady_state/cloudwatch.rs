//! Steady state from CloudWatch: fetch a service's metric history, derive its hypotheses, and
//! keep its stop-condition alarms in line with them.
//!
//! Input: a configured [`Service`], a [`MetricSource`] / [`AlarmStore`], a time range and the
//! incident windows to leave out. Output: [`ServiceHypotheses`] and, with `apply`, the alarms
//! created or updated. Must not: change an alarm whose configuration already matches (a second
//! `--apply` changes nothing), or touch alarms it does not name.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    DeriveOptions, Direction, MetricHypothesis, MetricIdentity, Point, alarm_inputs, derive,
};
use crate::config::{MetricDef, MetricQuery, MetricStat, Service};
use crate::provider::{
    AlarmMetric, AlarmSpec, AlarmStore, Change, Comparison, MetricDataQuery, MetricSource,
    MetricStatQuery, ProviderError,
};

/// Everything derived for one service, as written by `steady-state derive --service`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceHypotheses {
    /// Service name.
    pub service: String,
    /// When the history was read.
    pub generated_at: DateTime<Utc>,
    /// History start.
    pub start: DateTime<Utc>,
    /// History end.
    pub end: DateTime<Utc>,
    /// Period the history was fetched at, seconds.
    pub period_secs: u64,
    /// Incident windows left out of learning, `[start, end)` epoch seconds.
    pub excluded: Vec<(i64, i64)>,
    /// One hypothesis per configured metric.
    pub metrics: Vec<MetricHypothesis>,
    /// The stop-condition alarms encoding the abort thresholds.
    pub alarms: Vec<AlarmSpec>,
}

/// Tag marking alarms gameday manages.
pub const MANAGED_TAG: &str = "gameday:managed";

/// The finest period CloudWatch still keeps for data that old (retention: 1-minute points for
/// 15 days, 5-minute for 63, hourly for 455), and never finer than the metric's own period.
pub fn period_for(lookback: Duration, configured: Duration) -> Duration {
    const DAY: u64 = 86_400;
    let retention = match lookback.as_secs() {
        s if s <= 15 * DAY => 60,
        s if s <= 63 * DAY => 300,
        _ => 3600,
    };
    let want = configured.as_secs().max(retention);
    // Round up to a multiple of the retention step so CloudWatch returns data at all.
    Duration::from_secs(want.div_ceil(retention) * retention)
}

fn stat_query(s: &MetricStat, period: Duration) -> MetricStatQuery {
    MetricStatQuery {
        namespace: s.namespace.clone(),
        name: s.name.clone(),
        dimensions: s.dimensions.clone(),
        stat: s.stat.clone(),
        period,
    }
}

/// Reads the history of every metric of a service, one series per metric (same order), oldest
/// first. Single-metric queries share calls (the provider batches them); each metric-math
/// metric gets its own call so input ids never clash.
///
/// # Errors
/// [`ProviderError`] when CloudWatch refuses or cannot be reached.
pub async fn fetch_history<M: MetricSource>(
    source: &M,
    service: &Service,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Vec<Point>>, ProviderError> {
    let lookback = (end - start).to_std().unwrap_or_default();
    let mut singles = Vec::new();
    let mut out = vec![Vec::new(); service.metrics.len()];
    for (i, m) in service.metrics.iter().enumerate() {
        match &m.query {
            MetricQuery::Stat(s) => singles.push(MetricDataQuery::Stat {
                id: format!("m{i}"),
                stat: stat_query(s, period_for(lookback, s.period)),
                return_data: true,
            }),
            MetricQuery::Expression { expression, inputs } => {
                let period = inputs
                    .values()
                    .map(|s| period_for(lookback, s.period))
                    .max()
                    .unwrap_or_else(|| period_for(lookback, Duration::from_secs(60)));
                let mut queries: Vec<MetricDataQuery> = inputs
                    .iter()
                    .map(|(id, s)| MetricDataQuery::Stat {
                        id: id.clone(),
                        stat: stat_query(s, period),
                        return_data: false,
                    })
                    .collect();
                queries.push(MetricDataQuery::Expression {
                    id: format!("m{i}"),
                    expression: expression.clone(),
                    period,
                    return_data: true,
                });
                let series = source.metric_data(&queries, start, end).await?;
                out[i] = points_of(&series, &format!("m{i}"));
            }
        }
    }
    if !singles.is_empty() {
        let series = source.metric_data(&singles, start, end).await?;
        for (i, m) in service.metrics.iter().enumerate() {
            if matches!(m.query, MetricQuery::Stat(_)) {
                out[i] = points_of(&series, &format!("m{i}"));
            }
        }
    }
    Ok(out)
}

fn points_of(series: &[crate::provider::MetricSeries], id: &str) -> Vec<Point> {
    series
        .iter()
        .find(|s| s.id == id)
        .map(|s| {
            s.points
                .iter()
                .map(|p| Point {
                    ts: p.timestamp.timestamp(),
                    value: p.value,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Derive options for a configured metric: its direction, its SLO as the hard bound on the
/// bad side, and the incident windows to leave out.
pub fn derive_options(metric: &MetricDef, exclude: &[(i64, i64)]) -> DeriveOptions {
    let (slo_upper, slo_lower) = match metric.direction {
        Direction::Upper => (metric.slo, None),
        Direction::Lower => (None, metric.slo),
        Direction::Both => (None, None),
    };
    DeriveOptions {
        metric: metric.name.clone(),
        direction: metric.direction,
        exclude: exclude.to_vec(),
        slo_upper,
        slo_lower,
        ..DeriveOptions::default()
    }
}

/// The stop-condition alarms for one metric's hypothesis (none for a degenerate hypothesis
/// without an abort threshold).
pub fn alarm_specs(service: &str, metric: &MetricDef, h: &MetricHypothesis) -> Vec<AlarmSpec> {
    let identity = match &metric.query {
        MetricQuery::Stat(s) => MetricIdentity {
            service: service.to_owned(),
            namespace: s.namespace.clone(),
            metric_name: s.name.clone(),
            dimensions: s.dimensions.clone().into_iter().collect(),
            statistic: s.stat.clone(),
        },
        MetricQuery::Expression { .. } => MetricIdentity {
            service: service.to_owned(),
            namespace: "metric math".to_owned(),
            metric_name: metric.name.clone(),
            dimensions: Vec::new(),
            statistic: "expression".to_owned(),
        },
    };
    alarm_inputs(h, &identity)
        .into_iter()
        .map(|a| {
            let period_secs = u32::try_from(a.period).unwrap_or(u32::MAX);
            let alarm_metric = match &metric.query {
                MetricQuery::Stat(s) => AlarmMetric::Single {
                    namespace: s.namespace.clone(),
                    metric_name: s.name.clone(),
                    dimensions: s.dimensions.clone(),
                    statistic: s.stat.clone(),
                },
                MetricQuery::Expression { expression, inputs } => AlarmMetric::Math {
                    expression: expression.clone(),
                    inputs: inputs
                        .iter()
                        .map(|(id, s)| {
                            let period = Duration::from_secs(u64::from(period_secs));
                            (id.clone(), stat_query(s, period))
                        })
                        .collect(),
                },
            };
            AlarmSpec {
                name: a.alarm_name,
                description: a.alarm_description,
                metric: alarm_metric,
                period_secs,
                evaluation_periods: u32::try_from(a.evaluation_periods).unwrap_or(u32::MAX),
                datapoints_to_alarm: u32::try_from(a.datapoints_to_alarm).unwrap_or(u32::MAX),
                threshold: a.threshold,
                comparison: match a.comparison_operator.as_str() {
                    "GreaterThanOrEqualToThreshold" => Comparison::GreaterThanOrEqualToThreshold,
                    "LessThanThreshold" => Comparison::LessThanThreshold,
                    "LessThanOrEqualToThreshold" => Comparison::LessThanOrEqualToThreshold,
                    _ => Comparison::GreaterThanThreshold,
                },
                treat_missing_data: a.treat_missing_data,
                tags: BTreeMap::from([
                    (MANAGED_TAG.to_owned(), "true".to_owned()),
                    ("gameday:service".to_owned(), service.to_owned()),
                    ("gameday:metric".to_owned(), metric_tag(&metric.name)),
                ]),
            }
        })
        .collect()
}

/// Tag values allow a limited character set; keep letters, digits and `_.:/=+-@`, space.
fn metric_tag(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

/// Creates or updates the alarms so that each matches its spec; matching alarms are left alone.
///
/// # Errors
/// [`ProviderError`] when CloudWatch refuses a call; alarms handled before it stay as written.
pub async fn apply_alarms<A: AlarmStore>(
    store: &A,
    specs: &[AlarmSpec],
) -> Result<Vec<(String, Change)>, ProviderError> {
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let existing: BTreeMap<String, Option<AlarmSpec>> = store
        .describe_alarms(&names)
        .await?
        .into_iter()
        .map(|a| (a.name, a.spec))
        .collect();
    let mut changes = Vec::new();
    for spec in specs {
        let change = match existing.get(&spec.name) {
            Some(Some(current)) if current.same_alarm(spec) => Change::Unchanged,
            Some(_) => Change::Updated,
            None => Change::Created,
        };
        if change != Change::Unchanged {
            store.put_alarm(spec).await?;
        }
        tracing::info!(alarm = %spec.name, ?change, threshold = spec.threshold, "stop-condition alarm");
        changes.push((spec.name.clone(), change));
    }
    Ok(changes)
}

/// Derives a hypothesis per metric from fetched history.
///
/// # Errors
/// [`super::SteadyStateError`] for invalid options (data problems give a degenerate hypothesis).
pub fn derive_service(
    service: &Service,
    history: &[Vec<Point>],
    exclude: &[(i64, i64)],
) -> Result<(Vec<MetricHypothesis>, Vec<AlarmSpec>), super::SteadyStateError> {
    let mut hypotheses = Vec::new();
    let mut alarms = Vec::new();
    for (metric, points) in service.metrics.iter().zip(history) {
        let h = derive(points, &derive_options(metric, exclude))?;
        alarms.extend(alarm_specs(&service.name, metric, &h));
        hypotheses.push(h);
    }
    Ok((hypotheses, alarms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_follows_retention() {
        let m = Duration::from_secs(60);
        assert_eq!(period_for(Duration::from_secs(7 * 86_400), m), m);
        assert_eq!(
            period_for(Duration::from_secs(30 * 86_400), m),
            Duration::from_secs(300)
        );
        assert_eq!(
            period_for(Duration::from_secs(90 * 86_400), m),
            Duration::from_secs(3600)
        );
        // Never finer than the metric's own period, and a multiple of the retention step.
        assert_eq!(
            period_for(Duration::from_secs(30 * 86_400), Duration::from_secs(420)),
            Duration::from_secs(600)
        );
    }

    #[test]
    fn slo_goes_on_the_bad_side() {
        let metric = MetricDef {
            name: "p99".into(),
            direction: Direction::Upper,
            slo: Some(0.8),
            query: MetricQuery::Stat(MetricStat {
                namespace: "N".into(),
                name: "M".into(),
                dimensions: BTreeMap::new(),
                stat: "p99".into(),
                period: Duration::from_secs(60),
            }),
        };
        let o = derive_options(&metric, &[(1, 2)]);
        assert_eq!((o.slo_upper, o.slo_lower), (Some(0.8), None));
        assert_eq!(o.exclude, vec![(1, 2)]);
    }
}
