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

use super::record::{GuardSample, Phase, Series};
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
    /// The GetMetricData queries; the one with id [`RESULT_ID`] is the value.
    pub queries: Vec<MetricDataQuery>,
    /// Abort when below.
    pub lower: Option<f64>,
    /// Abort when above.
    pub upper: Option<f64>,
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
    /// The samples not seen before, per metric in time order; buckets starting after
    /// `complete_before` are provisional (see the type's docs).
    pub fn new_samples(
        &mut self,
        metrics: &[GuardMetric],
        fetched: &BTreeMap<String, Series>,
        complete_before: i64,
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
            for &(ts, value) in series.iter().filter(|(ts, _)| *ts > last) {
                if ts > complete_before && !m.breaches(value) {
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
        }];
        let mut t = SampleTracker::default();
        let f1 = BTreeMap::from([("x".to_owned(), vec![(10, 0.5), (20, 2.0)])]);
        let s1 = t.new_samples(&m, &f1, 20, "s", "st", Phase::Fault);
        assert_eq!(s1.len(), 2);
        assert!(!s1[0].breach && s1[1].breach);
        // 30 is still filling and healthy: held back; 40 is filling but already breaching.
        let f2 = BTreeMap::from([("x".to_owned(), vec![(10, 0.5), (20, 2.0), (30, 0.1)])]);
        assert!(
            t.new_samples(&m, &f2, 25, "s", "st", Phase::Fault)
                .is_empty()
        );
        let s2 = t.new_samples(&m, &f2, 30, "s", "st", Phase::Recovery);
        assert_eq!(s2.len(), 1);
        assert_eq!((s2[0].ts, s2[0].phase), (30, Phase::Recovery));
        let f3 = BTreeMap::from([("x".to_owned(), vec![(30, 0.1), (40, 5.0)])]);
        let s3 = t.new_samples(&m, &f3, 30, "s", "st", Phase::Fault);
        assert_eq!(s3.len(), 1);
        assert!(s3[0].breach);
    }
}
