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
//! - a hypothesis with a [`Sustained`](super::Sustained) rule also breaches when N' of its last
//!   M' slots lie beyond that rule's narrower band on the same side (a second alarm, OR-ed);
//! - a non-finite value or a timestamp beyond year 9999 is a missing datapoint (no breach, fills
//!   no slot); a datapoint not later than the previous one is judged against the bounds for
//!   display but never breaches and does not enter the persistence window;
//! - re-baselining: when the guard has breached in every quarter of the last
//!   `rebaseline_after_secs` (a new level, or a new regime of recurring bursts), it accepts what
//!   it saw as the new normal: the centre moves by the median residual of that horizon and each
//!   side's spread widens (never narrows) enough that every experiment window of it but that
//!   side's most extreme one would have held, and at least by the ratio of that side's spread in
//!   the horizon to the learned residual σ. The sides widen apart: after a shift up, the old
//!   level below widens the lower side, not the upper one. When the accepted horizon holds a
//!   level change (its centre beyond the old band, or its second half's median beyond the old
//!   band from its first half's), the horizon also held the change itself (the old level, the
//!   jump, its turbulence): one horizon later the band settles on the datapoints since, fitted
//!   to hold every window of them, never wider than accepted. Only a guard running far longer than
//!   an experiment can reach this (an experiment aborts at the first breach); the summary lists
//!   each re-baseline so a human re-derives the hypothesis. SLO bounds are never relaxed.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::series::{Point, iso_ts, ts_in_range};
use super::stats;
use crate::model::hypothesis::{Bounds, MetricHypothesis, Rule, Shift, assess_with};

/// The re-baseline horizon is cut into this many parts, and each must hold a breach: breaches
/// recurring over the whole horizon, not one burst at its start.
const REBASELINE_PARTS: i64 = 4;
/// A re-baseline widens the band until, replayed on the horizon, it would have aborted in at
/// most this many of its experiment windows: what recurs in two windows or more is the new
/// normal (a level, a regime of bursts), the single most extreme window may be the fault itself.
/// Judged per window, like the derive backtest, so bursts that fill only a twelfth of the
/// datapoints (one per hour at 5-minute spacing) are held as well as a shift of every one.
const REBASELINE_WINDOWS_OUTSIDE: usize = 1;
/// Experiment window assumed for a hypothesis without a backtest (30 minutes, the default).
const REBASELINE_FALLBACK_WINDOW_SECS: i64 = 1800;
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
    /// The same for the sustained rule, if the hypothesis has one.
    sustained_slots: VecDeque<(bool, bool)>,
    last_ts: Option<i64>,
    shift: Shift,
    /// Recent datapoints: (time, residual, breach, spread_upper, spread_lower).
    horizon: VecDeque<(i64, f64, bool, f64, f64)>,
    rebaselines: Vec<i64>,
    /// When the band of the last re-baseline settles on the horizon after it.
    settle_at: Option<i64>,
    settles: Vec<i64>,
}

impl Guard {
    /// A guard with empty persistence state.
    pub fn new(hypothesis: &MetricHypothesis) -> Self {
        Self {
            hypothesis: hypothesis.clone(),
            slots: VecDeque::new(),
            sustained_slots: VecDeque::new(),
            last_ts: None,
            shift: Shift::NONE,
            horizon: VecDeque::new(),
            rebaselines: Vec::new(),
            settle_at: None,
            settles: Vec::new(),
        }
    }

    /// Times at which this guard accepted a new level.
    pub fn rebaselines(&self) -> &[i64] {
        &self.rebaselines
    }

    /// Times at which a re-baselined band settled (narrowed to the horizon after it).
    pub fn settles(&self) -> &[i64] {
        &self.settles
    }

    /// Judges the next datapoint.
    pub fn observe(&mut self, p: Point) -> Verdict {
        self.step(p).0
    }

    /// Judges the next datapoint like [`Guard::observe`] and says why, in words a journal
    /// reader can check against the hypothesis (see [`Judgement`]).
    pub fn judge(&mut self, p: Point) -> Judgement {
        let (verdict, why) = self.step(p);
        Judgement {
            verdict,
            reason: why.text(&self.hypothesis),
        }
    }

    /// One datapoint through the state machine: its verdict and the facts behind it.
    fn step(&mut self, p: Point) -> (Verdict, Why) {
        let h = &self.hypothesis;
        let a = h.assess(p.ts, p.value, self.shift);
        let learned = h.profile.as_ref().and_then(|pr| pr.at(p.ts));
        let spreads = learned.map(|(_, su, sl)| (su, sl));
        let sustained = h.sustained.map(|s| {
            let rule = Rule {
                direction: h.direction,
                k_upper: s.k_upper,
                k_lower: s.k_lower,
                slo: Bounds::default(),
            };
            let m = s.evaluation_periods.max(1);
            let side = assess_with(&rule, learned, p.value, self.shift).side;
            (side, m, s.datapoints_to_alarm.clamp(1, m))
        });
        let mut verdict = Verdict {
            timestamp: p.ts,
            value: p.value,
            lower: a.bounds.lower,
            upper: a.bounds.upper,
            breach: false,
        };
        let mut why = Why {
            side: a.side,
            beyond_slo: h.slo.upper.is_some_and(|u| p.value > u)
                || h.slo.lower.is_some_and(|l| p.value < l),
            ..Why::default()
        };
        let late = self.last_ts.is_some_and(|t| p.ts <= t);
        if !p.value.is_finite() || late || !ts_in_range(p.ts) {
            why.skipped = true;
            return (verdict, why);
        }
        let m = h.persistence.evaluation_periods.max(1);
        let n_of = h.persistence.datapoints_to_alarm.clamp(1, m);
        let period = h.persistence.period_secs.max(1);
        if let Some(prev) = self.last_ts {
            let steps = ((p.ts - prev) as f64 / period as f64).round() as i64 - 1;
            for _ in 0..steps.clamp(0, m as i64) {
                push_slot(&mut self.slots, (false, false), m);
            }
            if let Some((_, sm, _)) = sustained {
                for _ in 0..steps.clamp(0, sm as i64) {
                    push_slot(&mut self.sustained_slots, (false, false), sm);
                }
            }
        }
        self.last_ts = Some(p.ts);
        push_slot(&mut self.slots, (a.side > 0, a.side < 0), m);
        why.main = count(&self.slots, a.side, n_of, m);
        verdict.breach = persisted(&self.slots, n_of);
        if let Some((side, sm, sn)) = sustained {
            push_slot(&mut self.sustained_slots, (side > 0, side < 0), sm);
            why.sustained_side = side;
            why.sustained = Some(count(&self.sustained_slots, side, sn, sm));
            verdict.breach |= persisted(&self.sustained_slots, sn);
        }
        why.breach = verdict.breach;
        if let (Some(r), Some(spreads)) = (a.residual, spreads) {
            let before = (self.rebaselines.len(), self.settles.len());
            self.track_level(p.ts, r, verdict.breach, spreads);
            why.rebaselined = self.rebaselines.len() > before.0;
            why.settled = self.settles.len() > before.1;
        }
        (verdict, why)
    }

    /// Keeps the re-baseline horizon and accepts a new normal when breaches recur over all of
    /// it; one horizon after accepting one, lets the band settle on what followed.
    fn track_level(&mut self, ts: i64, residual: f64, breach: bool, (su, sl): (f64, f64)) {
        let h = &self.hypothesis;
        let (Some(horizon), Some(_)) = (h.rebaseline_after_secs, h.profile.as_ref()) else {
            return;
        };
        self.horizon.push_back((ts, residual, breach, su, sl));
        while self
            .horizon
            .front()
            .is_some_and(|(t, ..)| *t <= ts - horizon)
        {
            self.horizon.pop_front();
        }
        let period = h.persistence.period_secs.max(1);
        let covered = self
            .horizon
            .front()
            .is_some_and(|(t, ..)| *t <= ts - horizon + period);
        if !covered || self.horizon.len() < REBASELINE_MIN_POINTS {
            return;
        }
        let part = (horizon / REBASELINE_PARTS).max(1);
        let start = ts - horizon;
        let mut parts = [false; REBASELINE_PARTS as usize];
        for (t, _, b, ..) in &self.horizon {
            if *b {
                parts[((t - start - 1) / part).clamp(0, REBASELINE_PARTS - 1) as usize] = true;
            }
        }
        if parts.iter().all(|p| *p) {
            let Some(fit) = self.fit_horizon(REBASELINE_WINDOWS_OUTSIDE) else {
                return;
            };
            // A new level (the new centre beyond the old band) settles one horizon later; a
            // regime of bursts around the same centre keeps the band that holds them.
            let beyond = |moved: f64| {
                let (k, spread, ratio) = if moved > 0.0 {
                    (h.k_upper, su, self.shift.ratio_upper)
                } else {
                    (h.k_lower, sl, self.shift.ratio_lower)
                };
                k.is_some_and(|k| moved.abs() > k * spread * ratio)
            };
            let half = self.horizon.len() / 2;
            let res: Vec<f64> = self.horizon.iter().map(|(_, r, ..)| *r).collect();
            let halves = stats::median(&res[..half])
                .zip(stats::median(&res[half..]))
                .is_some_and(|(a, b)| beyond(b - a));
            let new_level = beyond(fit.offset - self.shift.offset) || halves;
            self.shift = fit;
            self.rebaselines.push(ts);
            self.settle_at = new_level.then_some(ts + horizon);
            self.horizon.clear();
            self.slots.clear();
            self.sustained_slots.clear();
        } else if self.settle_at.is_some_and(|t| ts >= t) {
            // The horizon that accepted the new level began at the change itself (the old
            // level, the jump, its first turbulent minutes); the horizon after it holds only
            // the new level. Fitted on it to hold every one of its windows (the fault the
            // accepting horizon allowed for is behind it), the band may only narrow.
            self.settle_at = None;
            if let Some(fit) = self.fit_horizon(0) {
                self.shift = Shift {
                    offset: fit.offset,
                    ratio_upper: fit.ratio_upper.min(self.shift.ratio_upper),
                    ratio_lower: fit.ratio_lower.min(self.shift.ratio_lower),
                };
                self.settles.push(ts);
            }
        }
    }

    /// The shift that makes the horizon the new normal: the centre moves by its median
    /// residual, and each side's spread widens at least by that side's own spread in the
    /// horizon against the learned σ (one-sided, like the learned spreads: bursts above widen
    /// the upper side, not the lower one), and until every experiment window of the horizon but
    /// that side's `outside` most extreme ones would have held. `None` when it cannot be
    /// computed.
    fn fit_horizon(&self, outside: usize) -> Option<Shift> {
        let h = &self.hypothesis;
        let profile = h.profile.as_ref()?;
        let res: Vec<f64> = self.horizon.iter().map(|(_, r, ..)| *r).collect();
        let offset = stats::median(&res)?;
        let window = h
            .backtest
            .as_ref()
            .map_or(REBASELINE_FALLBACK_WINDOW_SECS, |b| b.window_secs)
            .max(1);
        let dev: Vec<f64> = res.iter().map(|r| r - offset).collect();
        let widen = |side: stats::Side, k: Option<f64>| -> f64 {
            let floor = match stats::side_sigma(&dev, side) {
                Some(s) if profile.residual_sigma > 0.0 => (s / profile.residual_sigma).max(1.0),
                _ => 1.0,
            };
            let Some(k) = k else {
                return floor;
            };
            let mut maxima: Vec<(i64, f64)> = Vec::new();
            for (t, r, _, su, sl) in &self.horizon {
                let x = match side {
                    stats::Side::Upper => (r - offset) / (k * su),
                    stats::Side::Lower => (offset - r) / (k * sl),
                }
                .max(0.0);
                let w = t.div_euclid(window);
                match maxima.last_mut() {
                    Some((last, m)) if *last == w => *m = m.max(x),
                    _ => maxima.push((w, x)),
                }
            }
            let maxima: Vec<f64> = maxima.into_iter().map(|(_, m)| m).collect();
            let rank = outside.min(maxima.len().saturating_sub(1));
            stats::nth_largest(&maxima, rank).map_or(floor, |x| floor.max(x))
        };
        let ratio_upper = widen(
            stats::Side::Upper,
            h.k_upper.filter(|_| h.direction.has_upper()),
        );
        let ratio_lower = widen(
            stats::Side::Lower,
            h.k_lower.filter(|_| h.direction.has_lower()),
        );
        (ratio_upper.is_finite() && ratio_lower.is_finite()).then_some(Shift {
            offset,
            ratio_upper,
            ratio_lower,
        })
    }
}

/// A [`Verdict`] with the reason behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict, exactly as [`Guard::observe`] returns it.
    pub verdict: Verdict,
    /// Why: the side the datapoint lies on and how many of the rule's slots exceeded, e.g.
    /// `above the band: 2 of the last 3 datapoints (2 needed): breach`.
    pub reason: String,
}

/// Exceeding slots of one rule on the datapoint's side: (count, needed, looked at).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Count {
    exceeded: usize,
    needed: usize,
    of: usize,
}

/// The facts behind one verdict, turned into words only when asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Why {
    /// Main rule: +1 above, −1 below the band (or the SLO), 0 inside.
    side: i8,
    beyond_slo: bool,
    main: Count,
    sustained_side: i8,
    sustained: Option<Count>,
    breach: bool,
    /// A missing, late or out-of-range datapoint: judged for display only.
    skipped: bool,
    rebaselined: bool,
    settled: bool,
}

impl Why {
    fn text(&self, h: &MetricHypothesis) -> String {
        if self.skipped {
            return "not judged: missing, late or repeated datapoint".to_owned();
        }
        let band = if h.profile.is_some() {
            "the band"
        } else {
            "the bounds"
        };
        let where_ = |side: i8, what: &str| match side {
            1 => format!("above {what}"),
            -1 => format!("below {what}"),
            _ => format!("inside {what}"),
        };
        let mut out = if self.beyond_slo && h.profile.is_some() {
            where_(self.side, "the SLO bound")
        } else {
            where_(self.side, band)
        };
        if self.main.of > 1 {
            out.push_str(&format!(
                ": {} of the last {} datapoints beyond it ({} needed)",
                self.main.exceeded, self.main.of, self.main.needed
            ));
        }
        if let Some(c) = self.sustained
            && (self.sustained_side != 0 || c.exceeded > 0)
        {
            out.push_str(&format!(
                "; {}: {} of the last {} ({} needed)",
                where_(self.sustained_side, "the sustained band"),
                c.exceeded,
                c.of,
                c.needed
            ));
        }
        out.push_str(if self.breach { ": breach" } else { ": holds" });
        if self.rebaselined {
            out.push_str(
                "; breaches recurred over the whole re-baseline horizon: new level accepted",
            );
        }
        if self.settled {
            out.push_str("; the re-baselined band settled on the horizon since it");
        }
        out
    }
}

/// Exceeding slots on `side` (the side with more when `side` is 0).
fn count(slots: &VecDeque<(bool, bool)>, side: i8, needed: usize, of: usize) -> Count {
    let up = slots.iter().filter(|s| s.0).count();
    let down = slots.iter().filter(|s| s.1).count();
    let exceeded = match side {
        1 => up,
        -1 => down,
        _ => up.max(down),
    };
    Count {
        exceeded,
        needed,
        of,
    }
}

/// Appends a datapoint slot, keeping the last `m`.
fn push_slot(slots: &mut VecDeque<(bool, bool)>, exceeded: (bool, bool), m: usize) {
    while slots.len() >= m {
        slots.pop_front();
    }
    slots.push_back(exceeded);
}

/// Whether at least `n_of` slots exceeded on the same side.
fn persisted(slots: &VecDeque<(bool, bool)>, n_of: usize) -> bool {
    slots.iter().filter(|s| s.0).count() >= n_of || slots.iter().filter(|s| s.1).count() >= n_of
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
    /// Times at which a re-baselined band settled on the horizon after it (see
    /// [`Guard::settles`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settles: Vec<String>,
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
        settles: guard
            .settles()
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

    /// `n` datapoints a minute apart from `t0`, the `i`-th valued `value(i)`.
    fn per_minute(t0: i64, n: i64, value: impl Fn(i64) -> f64) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                ts: t0 + i * 60,
                value: value(i),
            })
            .collect()
    }

    fn noise(i: i64) -> f64 {
        ((i * 7919) % 13) as f64 / 6.0 - 1.0
    }

    /// Learned on 10 ± 1 every minute for two days.
    fn hypothesis(persistence: Option<(usize, usize)>, slo_upper: Option<f64>) -> MetricHypothesis {
        let pts: Vec<Point> = per_minute(0, 2880, |i| 10.0 + noise(i));
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
    fn recurring_bursts_become_the_new_normal() {
        let h = hypothesis(None, None);
        let t0 = 200_000;
        // A three-minute burst to 25 every 20 minutes for 12 hours: the guard aborts on them
        // for the 6 h horizon, then widens its band to hold them.
        let pts: Vec<Point> =
            per_minute(t0, 720, |i| if i % 20 < 3 { 25.0 } else { 10.0 + noise(i) });
        let (v, summary) = check_with_summary(&h, &pts);
        assert!(v[0].breach);
        assert_eq!(summary.rebaselines.len(), 1, "{summary:?}");
        assert!(v[400..].iter().all(|v| !v.breach));
        // The centre did not move: ordinary points stay well inside.
        assert!(v[719].upper.unwrap() >= 25.0 && v[719].lower.unwrap() < 9.0);
    }

    #[test]
    fn hourly_bursts_become_the_new_normal() {
        let h = hypothesis(None, None);
        let t0 = 200_000;
        // One datapoint at 25 every hour for 12 hours: a twelfth of the 5-minute datapoints of
        // a 5-minute guard, a sixtieth here. They recur in every window, so the re-baselined band
        // holds them.
        let pts: Vec<Point> = per_minute(
            t0,
            720,
            |i| if i % 60 == 7 { 25.0 } else { 10.0 + noise(i) },
        );
        let (v, summary) = check_with_summary(&h, &pts);
        assert!(v[7].breach);
        assert_eq!(summary.rebaselines.len(), 1, "{summary:?}");
        assert!(v[400..].iter().all(|v| !v.breach));
    }

    #[test]
    fn a_shift_up_widens_the_lower_side_only() {
        let h = hypothesis(None, None);
        let t0 = 200_000;
        // A spike, 90 minutes at the old level, then a new level of 30 ± 1: when the guard
        // accepts it, its horizon still holds the 90 minutes at 10.
        let mut pts: Vec<Point> = per_minute(t0, 480, |i| match i {
            0 => 25.0,
            1..90 => 10.0 + noise(i),
            _ => 30.0 + noise(i),
        });
        // A spike at the new level, long after it was accepted.
        pts.push(Point {
            ts: t0 + 480 * 60,
            value: 40.0,
        });
        let (v, summary) = check_with_summary(&h, &pts);
        assert_eq!(summary.rebaselines.len(), 1, "{summary:?}");
        let after = &v[470];
        assert!(!after.breach);
        // The old level below is still held ...
        assert!(after.lower.unwrap() <= 10.0, "{after:?}");
        // ... without widening the upper side by the size of the shift.
        assert!(after.upper.unwrap() < 36.0, "{after:?}");
        assert!(
            v[480].breach,
            "a spike at the new level aborts: {:?}",
            v[480]
        );
    }

    #[test]
    fn a_re_baselined_band_settles_on_the_new_level_without_the_change_itself() {
        let h = hypothesis(None, None);
        let t0 = 200_000;
        // A jump to 30 ± 1 that starts with two spikes in different windows (45, then 40 half
        // an hour later): the band accepted after 6 h holds all but the worst window of them,
        // so its upper edge is at least 40.
        let mut pts: Vec<Point> = per_minute(t0, 780, |i| match i {
            0 => 45.0,
            35 => 40.0,
            _ => 30.0 + noise(i),
        });
        // 13 hours later, a spike to 38: within the accepted band, far outside the new level.
        pts.push(Point {
            ts: t0 + 780 * 60,
            value: 38.0,
        });
        let (v, summary) = check_with_summary(&h, &pts);
        assert_eq!(summary.rebaselines.len(), 1, "{summary:?}");
        assert_eq!(summary.settles.len(), 1, "{summary:?}");
        let accepted = &v[600];
        assert!(accepted.upper.unwrap() >= 40.0, "{accepted:?}");
        // After 6 h more at 30 ± 1 the band settles on them: narrower, and it still holds them.
        let settled = &v[770];
        assert!(settled.upper.unwrap() < 38.0, "{settled:?}");
        assert!(settled.lower.unwrap() > 20.0, "{settled:?}");
        assert!(v[400..780].iter().all(|v| !v.breach));
        assert!(
            v[780].breach,
            "the spike at the new level aborts: {:?}",
            v[780]
        );
    }

    #[test]
    fn a_horizon_that_straddles_two_levels_settles_on_the_later_one() {
        let h = hypothesis(None, None);
        let t0 = 200_000;
        // Three hours at 0 ± 1, then 20 ± 1 from then on: the horizon that accepts a new normal
        // holds both levels around the old centre, and the band that holds both is wide.
        let mut pts: Vec<Point> =
            per_minute(t0, 780, |i| if i < 180 { 0.0 } else { 20.0 } + noise(i));
        pts.push(Point {
            ts: t0 + 780 * 60,
            value: 28.0,
        });
        let (v, summary) = check_with_summary(&h, &pts);
        assert_eq!(summary.rebaselines.len(), 1, "{summary:?}");
        assert_eq!(summary.settles.len(), 1, "{summary:?}");
        assert!(
            v[600].upper.unwrap() > 28.0 && v[600].lower.unwrap() < 0.0,
            "{:?}",
            v[600]
        );
        // Settled on the six hours at 20 ± 1.
        let settled = &v[770];
        assert!(
            settled.upper.unwrap() < 28.0 && settled.lower.unwrap() > 10.0,
            "{settled:?}"
        );
        assert!(v[400..780].iter().all(|v| !v.breach));
        assert!(v[780].breach, "{:?}", v[780]);
    }

    #[test]
    fn sustained_new_level_is_accepted_but_slo_is_not() {
        let h = hypothesis(None, Some(40.0));
        let t0 = 200_000;
        // 8 h at 30 ± 1, then one datapoint above the SLO.
        let mut pts: Vec<Point> = per_minute(t0, 480, |i| 30.0 + noise(i));
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
        let over: Vec<Point> = per_minute(t0, 480, |i| 50.0 + noise(i));
        let (v, summary) = check_with_summary(&h, &over);
        assert_eq!(summary.rebaselines.len(), 1);
        assert!(v.iter().all(|v| v.breach && v.upper.unwrap() <= 40.0));
    }
}
