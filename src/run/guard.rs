//! The guard's view of a scenario: which series to read for each hypothesis metric, and how a
//! datapoint is judged.
//!
//! Input: the GameDay (its alarms carry the metric definitions) and a scenario's hypothesis.
//! Output: [`GuardMetric`]s (GetMetricData queries, bounds and the per-point judge) and, for
//! fetched points, [`GuardSample`]s with the judge's verdict and reason. Must not: call AWS
//! (the stage loop fetches through [`MetricSource`]), decide what to do about a breach, or judge
//! a datapoint any other way than [`crate::steady_state::Guard`] does.
//!
//! One judge: every datapoint goes through the same streaming [`Guard`] that
//! `steady-state check` and the NAB harness use. A hypothesis metric that carries a learned
//! `judge` is judged with it (seasonal band, N-of-M persistence, sustained rule, re-baselining);
//! one without is judged by a fixed-bounds hypothesis ([`MetricHypothesis::fixed_bounds`]), which
//! aborts on any datapoint beyond `abort_lower`/`abort_upper`, as the guard always did. Scenario
//! bounds tighter than the judge's own worst case join its SLO bounds: a human's edit is never
//! relaxed.
//!
//! A metric with a learned judge is read at the period it was learned at, so the judge sees the
//! datapoints `steady-state check` and the benchmark judge, and its N-of-M rule counts learned
//! periods; a still-filling bucket may only abort early, when the judge already calls a breach
//! with it. A metric judged by fixed bounds (or with `--judge-at-guard-period`) is read at the
//! guard's period (at most the alarm's), and its rule counts those datapoints.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::record::{GuardSample, Phase, Series};
use crate::plan::scenario::{GameDayScenario, HypothesisMetric, Scenario};
use crate::provider::{
    AlarmMetric, MetricDataQuery, MetricSource, MetricStatQuery, ProviderResult,
};
use crate::steady_state::{Bounds, Guard, MetricHypothesis, Point};

/// Id of the query whose series is the guarded value.
const RESULT_ID: &str = "guarded";

/// One guarded metric: how to read it and where it must stay.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardMetric {
    /// Hypothesis metric name.
    pub name: String,
    /// The GetMetricData queries; the one with id `guarded` is the value.
    pub queries: Vec<MetricDataQuery>,
    /// The scenario's `abort_lower`: the judge holds it (as its own bound or an SLO bound);
    /// kept for the verdict's direction and for samples journaled without a band.
    pub lower: Option<f64>,
    /// The scenario's `abort_upper` (see `lower`).
    pub upper: Option<f64>,
    /// The period the metric is read at.
    pub period: Duration,
    /// Whether the value adds up over its period (`Sum`, `SampleCount`): a still-filling
    /// bucket then only ever looks too low, so it may not prove a lower-bound breach.
    pub additive: bool,
    /// The per-point judge every datapoint goes through (learned, or fixed bounds).
    pub judge: MetricHypothesis,
}

/// The guard metrics of a scenario, read at `period`. A hypothesis metric is read through the
/// first of its alarms that the GameDay defines (single metric or metric math).
///
/// A metric with a learned judge is read at the period it was learned at when
/// `at_learned_period` (and that period is one GetMetricData accepts): the judge then sees the
/// datapoints it was measured on, and its N-of-M rule counts learned periods. A still-filling
/// bucket enters it only when it already breaches ([`SampleTracker`]).
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
    at_learned_period: bool,
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
        let period = match &h.judge {
            Some(j)
                if at_learned_period
                    && crate::steady_state::is_cloudwatch_period(j.persistence.period_secs) =>
            {
                Duration::from_secs(j.persistence.period_secs.unsigned_abs())
            }
            _ if additive => alarm_period,
            _ => period.min(alarm_period),
        };
        let judge = judge_of(h, period);
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
            judge,
        });
    }
    Ok(out)
}

/// The judge of a hypothesis metric read at `period`: its learned hypothesis, with tighter
/// scenario bounds as SLO bounds; or fixed bounds.
pub(super) fn judge_of(h: &HypothesisMetric, period: Duration) -> MetricHypothesis {
    let Some(learned) = &h.judge else {
        let secs = i64::try_from(period.as_secs()).unwrap_or(i64::MAX);
        let bounds = Bounds {
            lower: h.abort_lower,
            upper: h.abort_upper,
        };
        return MetricHypothesis::fixed_bounds(&h.metric, h.direction, bounds, secs);
    };
    let mut j = learned.clone();
    if let Some(u) = h.abort_upper
        && j.abort.upper.is_none_or(|a| u < a)
    {
        j.slo.upper = Some(j.slo.upper.map_or(u, |s| s.min(u)));
        j.abort.upper = Some(u);
    }
    if let Some(l) = h.abort_lower
        && j.abort.lower.is_none_or(|a| l > a)
    {
        j.slo.lower = Some(j.slo.lower.map_or(l, |s| s.max(l)));
        j.abort.lower = Some(l);
    }
    j
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
/// Every new datapoint is judged by its metric's [`Guard`], which keeps its state (persistence
/// slots, re-baselining) across polls.
///
/// The newest bucket is usually still filling: it is reported only once complete (its start
/// at or before `complete_before`), except when the judge already says breach with it — then at
/// once, because waiting a period to confirm a breach is exactly the delay the guard exists to
/// avoid. A filling bucket the judge does not breach on leaves the judge untouched.
#[derive(Debug, Default)]
pub struct SampleTracker {
    last_seen: BTreeMap<String, i64>,
    /// Per metric: its judge and its rule in words.
    judges: BTreeMap<String, (Guard, String)>,
}

impl SampleTracker {
    /// A tracker whose judges have been fed the datapoints read before the stage (its baseline
    /// window) that were complete at `read_at`, so that their persistence slots hold what a
    /// judge running continuously holds when the stage starts — `steady-state check` and the
    /// NAB harness judge a series without a break. A 2-of-3 rule then confirms on one exceeding
    /// datapoint just before the fault and one in it. Nothing is reported for them (the
    /// journal's `baseline` record holds them), and they are not reported again as the stage's
    /// samples.
    pub fn primed(
        metrics: &[GuardMetric],
        baseline: &BTreeMap<String, Series>,
        read_at: i64,
    ) -> Self {
        let mut tracker = Self::default();
        for m in metrics {
            let Some(series) = baseline.get(&m.name) else {
                continue;
            };
            let period = i64::try_from(m.period.as_secs()).unwrap_or(i64::MAX);
            let (judge, _) = judge_of_metric(&mut tracker.judges, m);
            let last = tracker.last_seen.entry(m.name.clone()).or_insert(i64::MIN);
            for &(ts, value) in series {
                if ts > *last && ts.saturating_add(period) <= read_at {
                    judge.observe(Point { ts, value });
                    *last = ts;
                }
            }
        }
        tracker
    }

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
            let (judge, rule) = judge_of_metric(&mut self.judges, m);
            for &(ts, value) in series.iter().filter(|(ts, _)| *ts > last) {
                let filling = ts.saturating_add(period) > now;
                let point = Point { ts, value };
                let judged = if filling {
                    let mut peek = judge.clone();
                    let j = peek.judge(point);
                    let v = &j.verdict;
                    let only_low =
                        v.lower.is_some_and(|l| value < l) && v.upper.is_none_or(|u| value <= u);
                    if !(v.breach && !(m.additive && only_low)) {
                        break;
                    }
                    *judge = peek;
                    j
                } else {
                    judge.judge(point)
                };
                newest = newest.max(ts);
                out.push(GuardSample {
                    scenario: scenario.to_owned(),
                    stage: stage.to_owned(),
                    metric: m.name.clone(),
                    ts,
                    value,
                    lower: judged.verdict.lower,
                    upper: judged.verdict.upper,
                    breach: judged.verdict.breach,
                    phase,
                    reason: Some(judged.reason),
                    rule: Some(rule.clone()),
                    period_secs: Some(m.period.as_secs()),
                });
            }
            self.last_seen.insert(m.name.clone(), newest);
        }
        out
    }
}

/// The metric's judge and its rule in words, made on first use.
fn judge_of_metric<'a>(
    judges: &'a mut BTreeMap<String, (Guard, String)>,
    m: &GuardMetric,
) -> &'a mut (Guard, String) {
    judges
        .entry(m.name.clone())
        .or_insert_with(|| (Guard::new(&m.judge), m.judge.rule_text()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guard metric judged by fixed bounds, as a scenario without a learned judge has it.
    fn fixed(
        name: &str,
        lower: Option<f64>,
        upper: Option<f64>,
        period_secs: u64,
        additive: bool,
    ) -> GuardMetric {
        let h = HypothesisMetric {
            metric: name.into(),
            direction: crate::steady_state::Direction::Both,
            abort_upper: upper,
            abort_lower: lower,
            alarms: vec![],
            judge: None,
        };
        let period = Duration::from_secs(period_secs);
        GuardMetric {
            name: name.into(),
            queries: vec![],
            lower,
            upper,
            period,
            judge: judge_of(&h, period),
            additive,
        }
    }

    /// Learned on 10 ± 1 every minute for two days, with a forced 2-of-3 rule.
    fn learned(persistence: (usize, usize)) -> MetricHypothesis {
        let pts: Vec<Point> = (0..2880)
            .map(|i| Point {
                ts: i * 60,
                value: 10.0 + ((i * 7919) % 13) as f64 / 6.0 - 1.0,
            })
            .collect();
        crate::steady_state::derive(
            &pts,
            &crate::steady_state::DeriveOptions {
                metric: "latency".into(),
                persistence: Some(persistence),
                ..crate::steady_state::DeriveOptions::default()
            },
        )
        .expect("derives")
    }

    #[test]
    fn the_tracker_judges_like_steady_state_check() {
        let h = learned((2, 3));
        let up = h.bounds_at(0).upper.expect("guarded") + 1.0;
        let scenario = HypothesisMetric {
            metric: "latency".into(),
            direction: h.direction,
            abort_upper: h.abort.upper,
            abort_lower: h.abort.lower,
            alarms: vec![],
            judge: Some(h.clone()),
        };
        let period = Duration::from_secs(60);
        let judge = judge_of(&scenario, period);
        assert_eq!(judge, h, "scenario bounds equal to the judge's add nothing");
        let m = vec![GuardMetric {
            name: "latency".into(),
            queries: vec![],
            lower: h.abort.lower,
            upper: h.abort.upper,
            period,
            additive: false,
            judge,
        }];
        let t = 300_000;
        let values = [
            (t, 10.0),
            (t + 60, up),
            (t + 120, 10.0),
            (t + 180, up),
            (t + 240, 10.0),
        ];
        // Fed over three polls, as the stage loop does.
        let mut tracker = SampleTracker::default();
        let mut got = Vec::new();
        for upto in [2, 4, 5] {
            let f = BTreeMap::from([("latency".to_owned(), values[..upto].to_vec())]);
            got.extend(tracker.new_samples(&m, &f, t + 600, "s", "st", Phase::Fault));
        }
        let points: Vec<Point> = values
            .iter()
            .map(|&(ts, value)| Point { ts, value })
            .collect();
        let check = crate::steady_state::check(&h, &points);
        assert_eq!(got.len(), check.len());
        for (s, v) in got.iter().zip(&check) {
            assert_eq!(
                (s.ts, s.breach, s.lower, s.upper),
                (v.timestamp, v.breach, v.lower, v.upper)
            );
        }
        // One datapoint above the band does not abort; the second of three does.
        assert_eq!(
            got.iter().map(|s| s.breach).collect::<Vec<_>>(),
            vec![false, false, false, true, false]
        );
        let why = got[3].reason.as_deref().expect("explained");
        assert!(why.starts_with("above the band: 2 of the last 3"), "{why}");
        assert!(why.ends_with("breach"), "{why}");
        let rule = got[3].rule.as_deref().expect("rule");
        assert!(
            rule.contains("2 of the last 3 datapoints (60 s apart)"),
            "{rule}"
        );
    }

    #[test]
    fn a_filling_bucket_enters_the_judge_only_when_it_proves_a_breach() {
        let h = learned((2, 3));
        let up = h.bounds_at(0).upper.expect("guarded") + 1.0;
        let period = Duration::from_secs(60);
        let judge = judge_of(
            &HypothesisMetric {
                metric: "latency".into(),
                direction: h.direction,
                abort_upper: None,
                abort_lower: None,
                alarms: vec![],
                judge: Some(h.clone()),
            },
            period,
        );
        let m = vec![GuardMetric {
            name: "latency".into(),
            queries: vec![],
            lower: None,
            upper: None,
            period,
            additive: false,
            judge,
        }];
        let t = 300_000;
        let mut tracker = SampleTracker::default();
        let mut poll = |series: Vec<(i64, f64)>, now: i64| {
            let f = BTreeMap::from([("latency".to_owned(), series)]);
            tracker.new_samples(&m, &f, now, "s", "st", Phase::Fault)
        };
        // The filling bucket at t + 60 exceeds, but one of three is no breach: held back.
        let s = poll(vec![(t, 10.0), (t + 60, up)], t + 90);
        assert_eq!(s.len(), 1);
        // Complete, it settled back to normal: judged once, with its final value.
        let s = poll(vec![(t, 10.0), (t + 60, 10.0)], t + 130);
        assert_eq!((s.len(), s[0].ts, s[0].breach), (1, t + 60, false));
        // So the next exceed is one of three, not two: the judge never counted the held-back
        // value.
        assert!(poll(vec![(t + 60, 10.0), (t + 120, up)], t + 150).is_empty());
        // The one after, still filling, makes two of three: reported at once.
        let s = poll(vec![(t + 120, up), (t + 180, up)], t + 200);
        assert_eq!(s.len(), 2);
        assert!(!s[0].breach && s[1].breach && s[1].ts == t + 180);
    }

    #[test]
    fn tighter_scenario_bounds_stay_hard_bounds() {
        let h = learned((2, 3));
        let upper = h.abort.upper.expect("guarded");
        let tight = upper - 0.5;
        let judge = judge_of(
            &HypothesisMetric {
                metric: "latency".into(),
                direction: h.direction,
                abort_upper: Some(tight),
                abort_lower: None,
                alarms: vec![],
                judge: Some(h.clone()),
            },
            Duration::from_secs(60),
        );
        assert_eq!(judge.slo.upper, Some(tight));
        // Two of three datapoints above a human's tighter bound abort (the judge's persistence
        // applies to every bound); the learned band alone holds them.
        let above = tight + 0.1;
        assert!(above < h.bounds_at(300_000).upper.expect("guarded"));
        let pts = [
            Point {
                ts: 300_000,
                value: above,
            },
            Point {
                ts: 300_060,
                value: above,
            },
        ];
        assert!(crate::steady_state::check(&judge, &pts)[1].breach);
        assert!(!crate::steady_state::check(&h, &pts)[1].breach);
    }

    fn gameday() -> GameDayScenario {
        yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
            .expect("example parses")
    }

    #[test]
    fn math_and_single_alarms_become_queries_with_one_result() {
        let g = gameday();
        let metrics =
            guard_metrics(&g, &g.scenarios[0], Duration::from_secs(10), true).expect("ok");
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
        let err = guard_metrics(&g, &g.scenarios[0].clone(), Duration::from_secs(60), true)
            .expect_err("no alarm");
        assert!(err.contains("error_rate"), "{err}");
    }

    #[test]
    fn the_tracker_reports_each_point_once() {
        let m = vec![fixed("x", None, Some(1.0), 10, false)];
        let mut t = SampleTracker::default();
        let f1 = BTreeMap::from([("x".to_owned(), vec![(10, 0.5), (20, 2.0)])]);
        // Period 10: at 30 the buckets 10 and 20 are complete.
        let s1 = t.new_samples(&m, &f1, 30, "s", "st", Phase::Fault);
        assert_eq!(s1.len(), 2);
        assert!(!s1[0].breach && s1[1].breach);
        // Judged by the fixed-bounds judge, which says so.
        assert_eq!(s1[0].reason.as_deref(), Some("inside the bounds: holds"));
        assert_eq!(s1[1].reason.as_deref(), Some("above the bounds: breach"));
        assert_eq!(
            s1[1].rule.as_deref(),
            Some("abort when any datapoint above 1 (bound)")
        );
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
        let m = vec![fixed("requests", Some(400.0), None, 300, true)];
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
    fn a_learned_judge_is_read_at_its_learned_period() {
        let mut g = gameday();
        let mut h = learned((2, 3));
        h.persistence.period_secs = 300;
        g.scenarios[0].hypothesis[1].judge = Some(h.clone());
        let s = g.scenarios[0].clone();
        let stat_period = |m: &GuardMetric| match &m.queries[0] {
            MetricDataQuery::Stat { stat, .. } => stat.period,
            MetricDataQuery::Expression { period, .. } => *period,
        };
        let m = guard_metrics(&g, &s, Duration::from_secs(10), true).expect("ok");
        // The judged p99 at 5 minutes, though its alarm is per minute and the guard reads at
        // 10 s; the error rate (fixed bounds) at the guard's period.
        assert_eq!(m[1].period, Duration::from_secs(300));
        assert_eq!(stat_period(&m[1]), Duration::from_secs(300));
        assert_eq!(m[0].period, Duration::from_secs(10));
        // Asked to, the guard reads it fast as before.
        let fast = guard_metrics(&g, &s, Duration::from_secs(10), false).expect("ok");
        assert_eq!(fast[1].period, Duration::from_secs(10));
        // A period GetMetricData would refuse is not asked for.
        h.persistence.period_secs = 45;
        g.scenarios[0].hypothesis[1].judge = Some(h);
        let odd =
            guard_metrics(&g, &g.scenarios[0].clone(), Duration::from_secs(10), true).expect("ok");
        assert_eq!(odd[1].period, Duration::from_secs(10));
    }

    #[test]
    fn at_its_learned_period_the_judge_counts_learned_datapoints() {
        // Learned at 60 s with 2 of 3: read at 60 s, two exceeding minutes in three abort.
        // Read at 10 s, two exceeding 10-second datapoints would abort within 20 s of noise.
        let h = learned((2, 3));
        let up = h.bounds_at(0).upper.expect("guarded") + 1.0;
        let mut g = gameday();
        g.scenarios[0].hypothesis[1].judge = Some(h);
        // The example's 0.8 s bound would join the judge as an SLO bound.
        g.scenarios[0].hypothesis[1].abort_upper = None;
        let s = g.scenarios[0].clone();
        let m = guard_metrics(&g, &s, Duration::from_secs(10), true).expect("ok");
        let m = vec![m[1].clone()];
        assert_eq!(m[0].period, Duration::from_secs(60));
        let t = 300_000;
        let series = vec![(t, up), (t + 60, 10.0), (t + 120, up)];
        let f = BTreeMap::from([(m[0].name.clone(), series)]);
        let got = SampleTracker::default().new_samples(&m, &f, t + 180, "s", "st", Phase::Fault);
        assert_eq!(
            got.iter().map(|s| s.breach).collect::<Vec<_>>(),
            vec![false, false, true]
        );
    }

    #[test]
    fn a_primed_judge_confirms_on_a_datapoint_before_the_stage() {
        // 2 of 3 at 60 s: one exceeding minute just before the stage and one in it.
        let h = learned((2, 3));
        let up = h.bounds_at(0).upper.expect("guarded") + 1.0;
        let mut g = gameday();
        g.scenarios[0].hypothesis[1].judge = Some(h.clone());
        g.scenarios[0].hypothesis[1].abort_upper = None;
        let s = g.scenarios[0].clone();
        let m = guard_metrics(&g, &s, Duration::from_secs(10), true).expect("ok");
        let m = vec![m[1].clone()];
        let t = 300_000;
        // Read at t + 130: the minute starting at t + 120 was still filling.
        let baseline = BTreeMap::from([(
            m[0].name.clone(),
            vec![(t, 10.0), (t + 60, up), (t + 120, up)],
        )]);
        let mut tracker = SampleTracker::primed(&m, &baseline, t + 130);
        // The stage's first read starts a period before the stage: the baseline's last
        // minutes again, complete now.
        let stage = BTreeMap::from([(
            m[0].name.clone(),
            vec![(t + 60, up), (t + 120, 10.0), (t + 180, up)],
        )]);
        let in_stage = BTreeMap::from([(m[0].name.clone(), vec![(t + 120, 10.0), (t + 180, up)])]);
        let got = tracker.new_samples(&m, &stage, t + 240, "s", "st", Phase::Fault);
        // The primed minute is not reported again; the one that was filling is, complete.
        assert_eq!(
            got.iter().map(|s| (s.ts, s.breach)).collect::<Vec<_>>(),
            vec![(t + 120, false), (t + 180, true)],
        );
        // A fresh judge (the stage alone) holds: one exceeding minute in the stage.
        let fresh =
            SampleTracker::default().new_samples(&m, &in_stage, t + 240, "s", "st", Phase::Fault);
        assert!(fresh.iter().all(|s| !s.breach), "{fresh:?}");
        let cont = crate::steady_state::check(
            &h,
            &[(t, 10.0), (t + 60, up), (t + 120, 10.0), (t + 180, up)]
                .map(|(ts, value)| Point { ts, value }),
        );
        assert!(cont[3].breach, "the continuous judge agrees");
    }

    #[test]
    fn sums_are_read_at_their_alarms_period() {
        let mut g = gameday();
        g.alarms[1].metric.as_mut().expect("single").statistic = "Sum".into();
        let metrics =
            guard_metrics(&g, &g.scenarios[0].clone(), Duration::from_secs(10), true).expect("ok");
        assert_eq!(metrics[1].period, Duration::from_secs(60));
        assert!(metrics[1].additive);
        // The error-rate ratio (metric math) is read fast.
        assert_eq!(metrics[0].period, Duration::from_secs(10));
        assert!(!metrics[0].additive);
    }
}
