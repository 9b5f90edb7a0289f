//! The guard's view of a scenario: which series to read for each hypothesis metric, and how a
//! datapoint is judged against its abort bounds.
//!
//! Input: the GameDay (its alarms carry the metric definitions) and a scenario's hypothesis.
//! Output: [`GuardMetric`]s (GetMetricData queries plus bounds) and, for fetched points,
//! [`GuardSample`]s with their breach flag. Must not: call AWS (the stage loop fetches through
//! [`MetricSource`]) or decide what to do about a breach.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::record::{GuardSample, Phase, Series};
use crate::plan::scenario::{GameDayScenario, Scenario};
use crate::provider::{
    AlarmMetric, MetricDataQuery, MetricSource, MetricStatQuery, ProviderResult,
};

/// Id of the query whose series is the guarded value.
const RESULT_ID: &str = "guarded";

/// One guarded metric: how to read it and where it must stay.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardMetric {
    /// Hypothesis metric name.
    pub name: String,
    /// The GetMetricData queries; the one with id `guarded` is the value.
    pub queries: Vec<MetricDataQuery>,
    /// Abort when below.
    pub lower: Option<f64>,
    /// Abort when above.
    pub upper: Option<f64>,
    /// The period the metric is read at.
    pub period: Duration,
    /// Whether the value adds up over its period (`Sum`, `SampleCount`): a still-filling
    /// bucket then only ever looks too low, so it may not prove a lower-bound breach.
    pub additive: bool,
}

impl GuardMetric {
    /// Whether a value is outside the bounds.
    pub fn breaches(&self, value: f64) -> bool {
        self.upper.is_some_and(|u| value > u) || self.lower.is_some_and(|l| value < l)
    }

    /// How far a value is past its bound, in the bad direction (positive = breaching).
    pub fn excess(&self, value: f64) -> f64 {
        let over = self.upper.map_or(f64::NEG_INFINITY, |u| value - u);
        let under = self.lower.map_or(f64::NEG_INFINITY, |l| l - value);
        over.max(under)
    }
}

/// The guard metrics of a scenario, read at `period`. A hypothesis metric is read through the
/// first of its alarms that the GameDay defines (single metric or metric math).
///
/// A single metric whose statistic adds up over its period (`Sum`, `SampleCount`) is read at
/// its alarm's period instead: its thresholds are per that period, and a 10-second sum would
/// sit far below a 5-minute lower bound. Averages, extremes, percentiles and metric math
/// (ratios) are read at `period` (at most the alarm's), for a faster guard.
///
/// # Errors
/// A message naming the metric when none of its alarms is defined in the GameDay.
pub fn guard_metrics(
    gameday: &GameDayScenario,
    scenario: &Scenario,
    period: Duration,
) -> Result<Vec<GuardMetric>, String> {
    let mut out = Vec::new();
    for h in &scenario.hypothesis {
        let spec = h
            .alarms
            .iter()
            .find_map(|name| gameday.alarms.iter().find(|a| &a.name == name))
            .and_then(|a| a.to_provider(&gameday.name))
            .ok_or_else(|| {
                format!(
                    "hypothesis metric {} of scenario {} names no alarm defined in the GameDay \
                     (alarms: [{}]); add its alarm under `alarms:` so the guard knows what to read",
                    h.metric,
                    scenario.name,
                    h.alarms.join(", ")
                )
            })?;
        let alarm_period = Duration::from_secs(u64::from(spec.period_secs));
        let additive = matches!(
            &spec.metric,
            AlarmMetric::Single { statistic, .. } if matches!(statistic.as_str(), "Sum" | "SampleCount")
        );
        let period = if additive {
            alarm_period
        } else {
            period.min(alarm_period)
        };
        let queries = match spec.metric {
            AlarmMetric::Single {
                namespace,
                metric_name,
                dimensions,
                statistic,
            } => vec![MetricDataQuery::Stat {
                id: RESULT_ID.to_owned(),
                stat: MetricStatQuery {
                    namespace,
                    name: metric_name,
                    dimensions,
                    stat: statistic,
                    period,
                },
                return_data: true,
            }],
            AlarmMetric::Math { expression, inputs } => {
                let mut q: Vec<MetricDataQuery> = inputs
                    .into_iter()
                    .map(|(id, mut stat)| {
                        stat.period = period;
                        MetricDataQuery::Stat {
                            id,
                            stat,
                            return_data: false,
                        }
                    })
                    .collect();
                q.push(MetricDataQuery::Expression {
                    id: RESULT_ID.to_owned(),
                    expression,
                    period,
                    return_data: true,
                });
                q
            }
        };
        out.push(GuardMetric {
            name: h.metric.clone(),
            queries,
            lower: h.abort_lower,
            upper: h.abort_upper,
            period,
            additive,
        });
    }
    Ok(out)
}

/// Reads every guard metric over `[from, to)`: one GetMetricData call per metric (their query
/// ids may collide), series by metric name, oldest first.
///
/// # Errors
/// The first failed call.
pub async fn fetch<M: MetricSource>(
    source: &M,
    metrics: &[GuardMetric],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ProviderResult<BTreeMap<String, Series>> {
    let mut out = BTreeMap::new();
    for m in metrics {
        let series = source.metric_data(&m.queries, from, to).await?;
        let points: Series = series
            .into_iter()
            .find(|s| s.id == RESULT_ID)
            .map(|s| {
                s.points
                    .iter()
                    .filter(|p| p.value.is_finite())
                    .map(|p| (p.timestamp.timestamp(), p.value))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(m.name.clone(), points);
    }
    Ok(out)
}

/// Turns fetched series into samples, keeping only points newer than the last one seen per
/// metric (CloudWatch returns the whole window on every poll).
///
/// The newest bucket is usually still filling: it is reported only once complete (its start
/// at or before `complete_before`), except when it already breaches — then at once, because
/// waiting a period to confirm a breach is exactly the delay the guard exists to avoid.
#[derive(Debug, Default)]
pub struct SampleTracker {
    last_seen: BTreeMap<String, i64>,
}

impl SampleTracker {
    /// The samples not seen before, per metric in time order; a bucket is provisional while
    /// it ends after `now` (see the type's docs).
    pub fn new_samples(
        &mut self,
        metrics: &[GuardMetric],
        fetched: &BTreeMap<String, Series>,
        now: i64,
        scenario: &str,
        stage: &str,
        phase: Phase,
    ) -> Vec<GuardSample> {
        let mut out = Vec::new();
        for m in metrics {
            let Some(series) = fetched.get(&m.name) else {
                continue;
            };
            let last = self.last_seen.get(&m.name).copied().unwrap_or(i64::MIN);
            let mut newest = last;
            let period = i64::try_from(m.period.as_secs()).unwrap_or(i64::MAX);
            for &(ts, value) in series.iter().filter(|(ts, _)| *ts > last) {
                let filling = ts.saturating_add(period) > now;
                let only_low =
                    m.lower.is_some_and(|l| value < l) && m.upper.is_none_or(|u| value <= u);
                let proves_breach = m.breaches(value) && !(m.additive && only_low);
                if filling && !proves_breach {
                    break;
                }
                newest = newest.max(ts);
                out.push(GuardSample {
                    scenario: scenario.to_owned(),
                    stage: stage.to_owned(),
                    metric: m.name.clone(),
                    ts,
                    value,
                    lower: m.lower,
                    upper: m.upper,
                    breach: m.breaches(value),
                    phase,
                });
            }
            self.last_seen.insert(m.name.clone(), newest);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gameday() -> GameDayScenario {
        yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
            .expect("example parses")
    }

    #[test]
    fn math_and_single_alarms_become_queries_with_one_result() {
        let g = gameday();
        let metrics = guard_metrics(&g, &g.scenarios[0], Duration::from_secs(10)).expect("ok");
        assert_eq!(metrics.len(), 2);
        let err = &metrics[0];
        assert_eq!(err.name, "error_rate");
        assert_eq!(err.upper, Some(1.0));
        // Two hidden inputs and the expression.
        assert_eq!(err.queries.len(), 3);
        assert!(
            matches!(&err.queries[2], MetricDataQuery::Expression { id, period, return_data: true, .. }
            if id == RESULT_ID && *period == Duration::from_secs(10))
        );
        let p99 = &metrics[1];
        assert!(
            matches!(&p99.queries[0], MetricDataQuery::Stat { stat, return_data: true, .. }
            if stat.stat == "p99" && stat.period == Duration::from_secs(10))
        );
    }

    #[test]
    fn a_hypothesis_without_a_defined_alarm_is_named() {
        let mut g = gameday();
        g.alarms.clear();
        let err = guard_metrics(&g, &g.scenarios[0].clone(), Duration::from_secs(60))
            .expect_err("no alarm");
        assert!(err.contains("error_rate"), "{err}");
    }

    #[test]
    fn bounds_and_excess() {
        let m = GuardMetric {
            name: "x".into(),
            queries: vec![],
            lower: Some(10.0),
            upper: Some(20.0),
            period: Duration::from_secs(10),
            additive: false,
        };
        assert!(!m.breaches(10.0) && !m.breaches(20.0));
        assert!(m.breaches(20.1) && m.breaches(9.9));
        assert!((m.excess(25.0) - 5.0).abs() < 1e-12);
        assert!((m.excess(4.0) - 6.0).abs() < 1e-12);
        assert!(m.excess(15.0) < 0.0);
    }

    #[test]
    fn the_tracker_reports_each_point_once() {
        let m = vec![GuardMetric {
            name: "x".into(),
            queries: vec![],
            lower: None,
            upper: Some(1.0),
            period: Duration::from_secs(10),
            additive: false,
        }];
        let mut t = SampleTracker::default();
        let f1 = BTreeMap::from([("x".to_owned(), vec![(10, 0.5), (20, 2.0)])]);
        // Period 10: at 30 the buckets 10 and 20 are complete.
        let s1 = t.new_samples(&m, &f1, 30, "s", "st", Phase::Fault);
        assert_eq!(s1.len(), 2);
        assert!(!s1[0].breach && s1[1].breach);
        // At 35 bucket 30 is still filling and healthy: held back.
        let f2 = BTreeMap::from([("x".to_owned(), vec![(10, 0.5), (20, 2.0), (30, 0.1)])]);
        assert!(
            t.new_samples(&m, &f2, 35, "s", "st", Phase::Fault)
                .is_empty()
        );
        let s2 = t.new_samples(&m, &f2, 40, "s", "st", Phase::Recovery);
        assert_eq!(s2.len(), 1);
        assert_eq!((s2[0].ts, s2[0].phase), (30, Phase::Recovery));
        // Bucket 40 is filling but already breaching: reported at once.
        let f3 = BTreeMap::from([("x".to_owned(), vec![(30, 0.1), (40, 5.0)])]);
        let s3 = t.new_samples(&m, &f3, 41, "s", "st", Phase::Fault);
        assert_eq!(s3.len(), 1);
        assert!(s3[0].breach);
    }

    #[test]
    fn a_filling_sum_cannot_prove_a_lower_breach() {
        let m = vec![GuardMetric {
            name: "requests".into(),
            queries: vec![],
            lower: Some(400.0),
            upper: None,
            period: Duration::from_secs(300),
            additive: true,
        }];
        let mut t = SampleTracker::default();
        // Bucket 0..300 is still filling at 100 s: 120 requests so far is not a breach yet.
        let f = BTreeMap::from([("requests".to_owned(), vec![(0, 120.0)])]);
        assert!(
            t.new_samples(&m, &f, 100, "s", "st", Phase::Fault)
                .is_empty()
        );
        // Once complete, 120 in 5 minutes is a breach.
        let s = t.new_samples(&m, &f, 300, "s", "st", Phase::Fault);
        assert_eq!(s.len(), 1);
        assert!(s[0].breach);
    }

    #[test]
    fn sums_are_read_at_their_alarms_period() {
        let mut g = gameday();
        g.alarms[1].metric.as_mut().expect("single").statistic = "Sum".into();
        let metrics =
            guard_metrics(&g, &g.scenarios[0].clone(), Duration::from_secs(10)).expect("ok");
        assert_eq!(metrics[1].period, Duration::from_secs(60));
        assert!(metrics[1].additive);
        // The error-rate ratio (metric math) is read fast.
        assert_eq!(metrics[0].period, Duration::from_secs(10));
        assert!(!metrics[0].additive);
    }
}
