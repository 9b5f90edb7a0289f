//! The guard: streaming evaluation of live datapoints against a hypothesis.
//!
//! Input: a [`MetricHypothesis`] and datapoints in time order (live, or a CSV in check mode).
//! Output: one [`Verdict`] per datapoint; `breach` means "abort now" (persistence applied), and
//! a [`CheckSummary`].
//! Must not: relax SLO bounds, ever; look ahead; panic on NaN, late or repeated datapoints.
//!
//! Rules, identical to the derive backtest:
//! - a datapoint *exceeds* when its side's score is strictly above `k` or it is strictly beyond
//!   an SLO bound;
//! - `breach` when at least N of the last M datapoint slots exceed on the same side (each side
//!   acts like its own CloudWatch alarm); a gap of g periods fills g slots with "not exceeding"
//!   (CloudWatch `notBreaching` semantics);
//! - a non-finite value or a timestamp beyond year 9999 is a missing datapoint (no breach, fills
//!   no slot); a datapoint not later than the previous one is judged against the bounds for display but never breaches and does
//!   not enter the persistence window;
//! - re-baselining: after `rebaseline_after_secs` in which at least 80 % of datapoints exceeded
//!   on the same side, the guard accepts the new level: the centre moves by the median residual
//!   and the spreads widen by the ratio of the new to the learned residual σ (never narrow).
//!   Only a guard running far longer than an experiment can reach this; the summary lists each
//!   re-baseline so a human re-derives the hypothesis.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::hypothesis::{MetricHypothesis, Shift};
use super::series::{Point, iso_ts, ts_in_range};
use super::stats;

/// Share of datapoints in the re-baseline horizon that must exceed on one side.
const REBASELINE_SHARE: f64 = 0.8;
/// Fewest datapoints in the horizon before a re-baseline is considered.
const REBASELINE_MIN_POINTS: usize = 6;

/// The guard's judgement of one datapoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Datapoint time; serialised as RFC 3339 UTC (`2014-02-14T14:30:00Z`).
    #[serde(with = "iso_ts")]
    pub timestamp: i64,
    /// Datapoint value (NaN is serialised as `null` in JSON).
    pub value: f64,
    /// Lower abort bound at this time, if guarded.
    pub lower: Option<f64>,
    /// Upper abort bound at this time, if guarded.
    pub upper: Option<f64>,
    /// The guard would abort at this datapoint.
    pub breach: bool,
}

/// Streaming evaluator fed one datapoint at a time.
#[derive(Debug, Clone)]
pub struct Guard {
    hypothesis: MetricHypothesis,
    /// Last M datapoint slots per side: (exceeded above, exceeded below).
    slots: VecDeque<(bool, bool)>,
    last_ts: Option<i64>,
    shift: Shift,
    horizon: VecDeque<(i64, f64, i8)>,
    rebaselines: Vec<i64>,
}

impl Guard {
    /// A guard with empty persistence state.
    pub fn new(hypothesis: &MetricHypothesis) -> Self {
        Self {
            hypothesis: hypothesis.clone(),
            slots: VecDeque::new(),
            last_ts: None,
            shift: Shift::NONE,
            horizon: VecDeque::new(),
            rebaselines: Vec::new(),
        }
    }

    /// Times at which this guard accepted a new level.
    pub fn rebaselines(&self) -> &[i64] {
        &self.rebaselines
    }

    /// Judges the next datapoint.
    pub fn observe(&mut self, p: Point) -> Verdict {
        let h = &self.hypothesis;
        let a = h.assess(p.ts, p.value, self.shift);
        let mut verdict = Verdict {
            timestamp: p.ts,
            value: p.value,
            lower: a.bounds.lower,
            upper: a.bounds.upper,
            breach: false,
        };
        let late = self.last_ts.is_some_and(|t| p.ts <= t);
        if !p.value.is_finite() || late || !ts_in_range(p.ts) {
            return verdict;
        }
        let m = h.persistence.evaluation_periods.max(1);
        let n_of = h.persistence.datapoints_to_alarm.clamp(1, m);
        if let Some(prev) = self.last_ts {
            let period = h.persistence.period_secs.max(1);
            let steps = ((p.ts - prev) as f64 / period as f64).round() as i64 - 1;
            for _ in 0..steps.clamp(0, m as i64) {
                self.push_slot((false, false), m);
            }
        }
        self.last_ts = Some(p.ts);
        self.push_slot((a.side > 0, a.side < 0), m);
        let above = self.slots.iter().filter(|s| s.0).count();
        let below = self.slots.iter().filter(|s| s.1).count();
        verdict.breach = above >= n_of || below >= n_of;
        if let Some(r) = a.residual {
            self.track_level(p.ts, r, a.side);
        }
        verdict
    }

    fn push_slot(&mut self, exceeded: (bool, bool), m: usize) {
        while self.slots.len() >= m {
            self.slots.pop_front();
        }
        self.slots.push_back(exceeded);
    }

    /// Keeps the re-baseline horizon and accepts a new level when it is sustained.
    fn track_level(&mut self, ts: i64, residual: f64, side: i8) {
        let h = &self.hypothesis;
        let (Some(horizon), Some(profile)) = (h.rebaseline_after_secs, h.profile.as_ref()) else {
            return;
        };
        self.horizon.push_back((ts, residual, side));
        while self
            .horizon
            .front()
            .is_some_and(|(t, _, _)| *t <= ts - horizon)
        {
            self.horizon.pop_front();
        }
        let period = h.persistence.period_secs.max(1);
        let covered = self
            .horizon
            .front()
            .is_some_and(|(t, _, _)| *t <= ts - horizon + period);
        if !covered || self.horizon.len() < REBASELINE_MIN_POINTS {
            return;
        }
        let len = self.horizon.len() as f64;
        let sustained = [1i8, -1].iter().any(|s| {
            self.horizon.iter().filter(|(_, _, x)| x == s).count() as f64 >= REBASELINE_SHARE * len
        });
        if !sustained {
            return;
        }
        let res: Vec<f64> = self.horizon.iter().map(|(_, r, _)| *r).collect();
        let Some(offset) = stats::median(&res) else {
            return;
        };
        let sigma = stats::mad_sigma(&res, offset).unwrap_or(0.0);
        let ratio = if profile.residual_sigma > 0.0 {
            (sigma / profile.residual_sigma).max(1.0)
        } else {
            1.0
        };
        self.shift = Shift { offset, ratio };
        self.rebaselines.push(ts);
        self.horizon.clear();
        self.slots.clear();
    }
}

/// Summary of a check run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    /// Datapoints judged.
    pub points: usize,
    /// Datapoints with a finite value.
    pub finite_points: usize,
    /// Verdicts with `breach = true`.
    pub breaches: usize,
    /// Runs of consecutive breaching verdicts.
    pub breach_episodes: usize,
    /// First breaching datapoint: where a guard started at the first datapoint would abort.
    #[serde(with = "iso_ts::option")]
    pub first_breach: Option<i64>,
    /// Last breaching datapoint.
    #[serde(with = "iso_ts::option")]
    pub last_breach: Option<i64>,
    /// Whether the hypothesis held (no breach).
    pub held: bool,
    /// Times at which the guard accepted a new level (the hypothesis should be re-derived).
    pub rebaselines: Vec<String>,
}

/// Feeds `points` (sorted by time first, stable) through a fresh [`Guard`].
pub fn check(h: &MetricHypothesis, points: &[Point]) -> Vec<Verdict> {
    check_with_summary(h, points).0
}

/// [`check`] plus its [`CheckSummary`].
pub fn check_with_summary(h: &MetricHypothesis, points: &[Point]) -> (Vec<Verdict>, CheckSummary) {
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|p| p.ts);
    let mut guard = Guard::new(h);
    let verdicts: Vec<Verdict> = sorted.into_iter().map(|p| guard.observe(p)).collect();
    let breaches: Vec<&Verdict> = verdicts.iter().filter(|v| v.breach).collect();
    let episodes = verdicts
        .iter()
        .zip(std::iter::once(false).chain(verdicts.iter().map(|v| v.breach)))
        .filter(|(v, prev)| v.breach && !prev)
        .count();
    let summary = CheckSummary {
        points: verdicts.len(),
        finite_points: verdicts.iter().filter(|v| v.value.is_finite()).count(),
        breaches: breaches.len(),
        breach_episodes: episodes,
        first_breach: breaches.first().map(|v| v.timestamp),
        last_breach: breaches.last().map(|v| v.timestamp),
        held: breaches.is_empty(),
        rebaselines: guard
            .rebaselines()
            .iter()
            .map(|t| super::series::format_ts(*t))
            .collect(),
    };
    (verdicts, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steady_state::{DeriveOptions, derive};

    fn noise(i: i64) -> f64 {
        ((i * 7919) % 13) as f64 / 6.0 - 1.0
    }

    /// Learned on 10 ± 1 every minute for two days.
    fn hypothesis(persistence: Option<(usize, usize)>, slo_upper: Option<f64>) -> MetricHypothesis {
        let pts: Vec<Point> = (0..2880)
            .map(|i| Point {
                ts: i * 60,
                value: 10.0 + noise(i),
            })
            .collect();
        derive(
            &pts,
            &DeriveOptions {
                persistence,
                slo_upper,
                ..DeriveOptions::default()
            },
        )
        .unwrap()
    }

    fn feed(h: &MetricHypothesis, values: &[(i64, f64)]) -> Vec<bool> {
        let mut g = Guard::new(h);
        values
            .iter()
            .map(|&(ts, value)| g.observe(Point { ts, value }).breach)
            .collect()
    }

    #[test]
    fn two_of_three_per_side_with_gaps_nan_and_late_points() {
        let h = hypothesis(Some((2, 3)), None);
        let up = h.bounds_at(0).upper.unwrap() + 1.0;
        let down = h.bounds_at(0).lower.unwrap() - 1.0;
        let t = 200_000;
        // One exceed: no abort; a second within three datapoints: abort.
        assert_eq!(
            feed(&h, &[(t, up), (t + 60, 10.0), (t + 120, up)]),
            vec![false, false, true]
        );
        // Exceeds on different sides do not add up.
        assert_eq!(
            feed(&h, &[(t, up), (t + 60, down), (t + 120, 10.0)]),
            vec![false, false, false]
        );
        // A gap of five periods counts as not breaching.
        assert_eq!(feed(&h, &[(t, up), (t + 360, up)]), vec![false, false]);
        // NaN is missing (no slot); a late or repeated timestamp never aborts.
        assert_eq!(
            feed(&h, &[(t, up), (t + 60, f64::NAN), (t + 120, up)]),
            vec![false, false, true]
        );
        assert_eq!(
            feed(&h, &[(t, up), (t, up), (t - 60, up)]),
            vec![false, false, false]
        );
    }

    use proptest::prelude::*;

    /// Two hypotheses shared by all proptest cases (deriving is the slow part).
    fn shared() -> &'static [MetricHypothesis; 2] {
        static H: std::sync::OnceLock<[MetricHypothesis; 2]> = std::sync::OnceLock::new();
        H.get_or_init(|| [hypothesis(Some((2, 3)), Some(11.0)), hypothesis(None, None)])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn guard_survives_any_timestamps_and_values(
            pts in proptest::collection::vec((proptest::num::i64::ANY, proptest::num::f64::ANY), 0..200),
        ) {
            for h in shared() {
                let points: Vec<Point> = pts.iter().map(|&(ts, value)| Point { ts, value }).collect();
                let (v, summary) = check_with_summary(h, &points);
                prop_assert_eq!(v.len(), points.len());
                prop_assert_eq!(summary.points, points.len());
                for x in &v {
                    if let (Some(l), Some(u)) = (x.lower, x.upper) { prop_assert!(l <= u); }
                    if !x.value.is_finite() { prop_assert!(!x.breach); }
                }
                let e = crate::steady_state::evaluate(&v, &[(i64::MIN, i64::MAX)], 1800);
                prop_assert_eq!(e.outside_bins, 0);
            }
        }
    }

    #[test]
    fn verdicts_serialise_with_iso_timestamps() {
        let h = hypothesis(None, None);
        let v = check(
            &h,
            &[Point {
                ts: 1_392_388_200,
                value: 10.0,
            }],
        );
        let json = serde_json::to_value(v[0]).unwrap();
        assert_eq!(json["timestamp"], "2014-02-14T14:30:00Z");
        assert_eq!(json["breach"], false);
        let back: Verdict = serde_json::from_value(json).unwrap();
        assert_eq!(back, v[0]);
    }

    #[test]
    fn sustained_new_level_is_accepted_but_slo_is_not() {
        let h = hypothesis(None, Some(40.0));
        let t0 = 200_000;
        // 8 h at 30 ± 1, then one datapoint above the SLO.
        let mut pts: Vec<Point> = (0..480)
            .map(|i| Point {
                ts: t0 + i * 60,
                value: 30.0 + noise(i),
            })
            .collect();
        pts.push(Point {
            ts: t0 + 480 * 60,
            value: 41.0,
        });
        let (v, summary) = check_with_summary(&h, &pts);
        assert!(v[0].breach, "the new level aborts at once");
        assert_eq!(summary.rebaselines.len(), 1);
        assert!(
            v[400..480].iter().all(|v| !v.breach),
            "after 6 h the new level is accepted"
        );
        assert!(v[480].breach, "the SLO still holds");
        assert!(v[480].upper.unwrap() <= 40.0);
        assert_eq!(summary.breach_episodes, 2);
        assert_eq!(summary.first_breach, Some(t0));
        assert!(!summary.held);
        // A new level beyond the SLO is re-baselined but keeps aborting on the SLO.
        let over: Vec<Point> = (0..480)
            .map(|i| Point {
                ts: t0 + i * 60,
                value: 50.0 + noise(i),
            })
            .collect();
        let (v, summary) = check_with_summary(&h, &over);
        assert_eq!(summary.rebaselines.len(), 1);
        assert!(v.iter().all(|v| v.breach && v.upper.unwrap() <= 40.0));
    }
}
