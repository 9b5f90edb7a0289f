//! Hypothesis nouns shared below the stages: the configuration names a metric's [`Direction`];
//! `steady_state` learns a [`MetricHypothesis`] (built by `steady_state::derive`), `plan` writes
//! it into scenarios, `check` and the run guard judge datapoints with it.
//!
//! Input and output: plain data, plus what a guard needs to compute the bounds at any timestamp
//! ([`Profile`]) and the static, alarm-ready worst case ([`MetricHypothesis::abort`]).
//! Must not: hold derivation logic (that is `steady_state`'s).

use serde::{Deserialize, Serialize};

use super::time::iso_ts;

/// Which way a metric may go before the service counts as hurt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Too high is bad (latency, errors, CPU).
    Upper,
    /// Too low is bad (throughput, success rate).
    Lower,
    /// Both ways are bad.
    #[default]
    Both,
}

impl Direction {
    /// Whether an upper bound is guarded.
    pub fn has_upper(self) -> bool {
        matches!(self, Self::Upper | Self::Both)
    }
    /// Whether a lower bound is guarded.
    pub fn has_lower(self) -> bool {
        matches!(self, Self::Lower | Self::Both)
    }
}

/// Whether a hypothesis could be learned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// Learned; the thresholds are meaningful.
    Ok,
    /// Not learnable from this history; only SLO bounds (if any) are guarded.
    Degenerate {
        /// Why, in words a human can act on.
        reason: String,
    },
}

/// Seasonal structure of the centre and spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seasonality {
    /// One centre and spread for all times.
    None,
    /// Per hour of day (UTC), 24 buckets.
    Daily,
    /// Per hour of week (UTC, Monday 00:00 first), 168 buckets.
    Weekly,
}

impl Seasonality {
    /// Length of one bucket in seconds.
    pub fn bucket_secs(self) -> i64 {
        3600
    }
    /// Length of one cycle in seconds (`None` for no seasonality).
    pub fn cycle_secs(self) -> Option<i64> {
        match self {
            Self::None => None,
            Self::Daily => Some(86_400),
            Self::Weekly => Some(604_800),
        }
    }
    /// Number of buckets of a profile.
    pub fn buckets(self) -> usize {
        match self {
            Self::None => 1,
            Self::Daily => 24,
            Self::Weekly => 168,
        }
    }
    /// Bucket of a timestamp. Weekly buckets start on Monday 00:00 UTC (epoch day 0 was a
    /// Thursday, hence the 3-day shift).
    pub fn bucket(self, ts: i64) -> usize {
        match self {
            Self::None => 0,
            Self::Daily => (ts.rem_euclid(86_400) / 3600) as usize,
            Self::Weekly => ((ts.rem_euclid(604_800) + 3 * 86_400) % 604_800 / 3600) as usize,
        }
    }
}

/// Robust centre and one-sided spreads per seasonal bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Seasonal structure; decides how a timestamp maps to a bucket.
    pub seasonality: Seasonality,
    /// Median per bucket.
    pub centre: Vec<f64>,
    /// Upper-side robust σ per bucket.
    pub spread_upper: Vec<f64>,
    /// Lower-side robust σ per bucket.
    pub spread_lower: Vec<f64>,
    /// MAD σ of all learning residuals around the profile; the guard compares a new level's
    /// spread with it when it re-baselines.
    pub residual_sigma: f64,
}

impl Profile {
    /// `(centre, spread_upper, spread_lower)` at a timestamp.
    pub fn at(&self, ts: i64) -> Option<(f64, f64, f64)> {
        let b = self.seasonality.bucket(ts);
        Some((
            *self.centre.get(b)?,
            *self.spread_upper.get(b)?,
            *self.spread_lower.get(b)?,
        ))
    }
}

/// A pair of optional bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Bounds {
    /// Lower bound, if guarded.
    pub lower: Option<f64>,
    /// Upper bound, if guarded.
    pub upper: Option<f64>,
}

/// "N of M" persistence: abort when `datapoints_to_alarm` of the last `evaluation_periods`
/// datapoints breach (CloudWatch `DatapointsToAlarm` / `EvaluationPeriods`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persistence {
    /// Spacing of datapoints in seconds (the metric's period).
    pub period_secs: i64,
    /// N: breaching datapoints needed.
    pub datapoints_to_alarm: usize,
    /// M: datapoints looked at.
    pub evaluation_periods: usize,
}

/// A second abort rule for sustained excursions, next to the main one: abort when
/// `datapoints_to_alarm` of the last `evaluation_periods` datapoints lie beyond the narrower
/// band `centre ± k · spread` of this rule. Learned only where isolated one-datapoint spikes in
/// the history make the main (one-datapoint) band wide: then a moderate shift that lasts is
/// caught by this rule and a large spike by the main one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sustained {
    /// N: datapoints beyond the band needed.
    pub datapoints_to_alarm: usize,
    /// M: datapoints looked at.
    pub evaluation_periods: usize,
    /// Upper-side multiplier, when this rule guards the upper side.
    pub k_upper: Option<f64>,
    /// Lower-side multiplier, when this rule guards the lower side.
    pub k_lower: Option<f64>,
}

/// How the thresholds did on the learning history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    /// Experiment-length window in seconds (bins aligned to the epoch).
    pub window_secs: i64,
    /// Learning windows scored (windows with at least half their expected datapoints).
    pub windows: usize,
    /// Windows in which the guard, as configured, would have aborted.
    pub aborted_windows: usize,
    /// `aborted_windows / windows`, measured out of fold for seasonal profiles.
    pub false_abort_rate: f64,
    /// Conformal upper bound on the false-abort probability of a new window (exchangeable
    /// windows assumed); above the target when the history is short.
    pub false_abort_bound: f64,
    /// The target it was chosen for.
    pub target: f64,
}

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start.
    #[serde(with = "iso_ts")]
    pub start: i64,
    /// Exclusive end.
    #[serde(with = "iso_ts")]
    pub end: i64,
}

/// The data a hypothesis was learned from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LearnedFrom {
    /// First datapoint used.
    #[serde(with = "iso_ts::option")]
    pub start: Option<i64>,
    /// Last datapoint used.
    #[serde(with = "iso_ts::option")]
    pub end: Option<i64>,
    /// Datapoints given (before cleaning and `learn_until`).
    pub points_given: usize,
    /// Datapoints the statistics were computed from.
    pub points_used: usize,
    /// Dropped as NaN or infinite.
    pub non_finite: usize,
    /// Dropped as repeated timestamps.
    pub duplicate_timestamps: usize,
    /// Dropped because the timestamp is beyond year 9999.
    pub out_of_range_timestamps: usize,
    /// Inside excluded incident windows.
    pub points_in_incidents: usize,
    /// Dropped because they precede a detected level shift.
    pub points_before_level_shift: usize,
    /// The incident windows excluded from learning.
    pub excluded_incidents: Vec<TimeRange>,
    /// Start of the current level, when a level shift was found in the history.
    #[serde(with = "iso_ts::option")]
    pub level_shift_at: Option<i64>,
}

/// The steady-state hypothesis of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricHypothesis {
    /// Metric name as given in the options.
    pub metric: String,
    /// `ok` or `degenerate` with a reason.
    pub status: Status,
    /// Guarded direction(s).
    pub direction: Direction,
    /// Robust centre (median) of the learning data.
    pub baseline: Option<f64>,
    /// Where normal operation lies: 1st–99th percentile of the learning data.
    pub acceptable_range: Bounds,
    /// Static worst case of the abort thresholds over all seasonal buckets (the loosest upper
    /// and lowest lower bound, clamped to the SLO), for a CloudWatch alarm.
    pub abort: Bounds,
    /// Abort when the upper-side score `(x − centre) / spread_upper` exceeds this.
    pub k_upper: Option<f64>,
    /// Abort when the lower-side score `(centre − x) / spread_lower` exceeds this.
    pub k_lower: Option<f64>,
    /// Centre and spreads per bucket; `None` when degenerate.
    pub profile: Option<Profile>,
    /// Persistence rule and datapoint period.
    pub persistence: Persistence,
    /// Optional second rule for sustained excursions within the main band (see [`Sustained`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sustained: Option<Sustained>,
    /// Hard bounds from the SLO, never relaxed.
    pub slo: Bounds,
    /// A guard that has seen the metric outside its bounds for this long accepts the new level
    /// (re-baselines); `None` disables it.
    pub rebaseline_after_secs: Option<i64>,
    /// Backtest on the learning history.
    pub backtest: Option<Backtest>,
    /// The data it was learned from.
    pub learned_from: LearnedFrom,
    /// Things a human should know (short history, SLO breached in normal operation, ...).
    pub warnings: Vec<String>,
}

/// Adjustment a guard applies after accepting a new level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shift {
    /// Added to the centre.
    pub(crate) offset: f64,
    /// Multiplies the upper spread (never below 1).
    pub(crate) ratio_upper: f64,
    /// Multiplies the lower spread (never below 1).
    pub(crate) ratio_lower: f64,
}

impl Shift {
    pub(crate) const NONE: Shift = Shift {
        offset: 0.0,
        ratio_upper: 1.0,
        ratio_lower: 1.0,
    };
}

/// One datapoint's position relative to the bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Assessment {
    pub(crate) bounds: Bounds,
    /// +1 above the upper bound, −1 below the lower bound, 0 inside.
    pub(crate) side: i8,
    /// Residual from the unshifted profile centre (for re-baselining).
    pub(crate) residual: Option<f64>,
}

impl MetricHypothesis {
    /// A hypothesis with no learned profile that aborts on any datapoint strictly beyond fixed
    /// bounds (held as SLO bounds, one datapoint of one): what a scenario without a learned
    /// judge asks of the guard. Judged by the same [`Guard`](crate::steady_state::Guard) as a learned one.
    pub fn fixed_bounds(
        metric: &str,
        direction: Direction,
        bounds: Bounds,
        period_secs: i64,
    ) -> Self {
        Self {
            metric: metric.to_owned(),
            status: Status::Degenerate {
                reason: "fixed abort bounds, no learned profile".to_owned(),
            },
            direction,
            baseline: None,
            acceptable_range: Bounds::default(),
            abort: bounds,
            k_upper: None,
            k_lower: None,
            profile: None,
            persistence: Persistence {
                period_secs: period_secs.max(1),
                datapoints_to_alarm: 1,
                evaluation_periods: 1,
            },
            sustained: None,
            slo: bounds,
            rebaseline_after_secs: None,
            backtest: None,
            learned_from: LearnedFrom::default(),
            warnings: Vec::new(),
        }
    }

    /// The abort rule in one sentence, for journals and reports: persistence, band multipliers,
    /// the sustained rule, SLO bounds and re-baselining.
    pub fn rule_text(&self) -> String {
        let p = &self.persistence;
        let mut parts = Vec::new();
        if let Some(profile) = &self.profile {
            let mut sides = Vec::new();
            if let (true, Some(k)) = (self.direction.has_upper(), self.k_upper) {
                sides.push(format!("above centre + {k:.2}·σ⁺"));
            }
            if let (true, Some(k)) = (self.direction.has_lower(), self.k_lower) {
                sides.push(format!("below centre − {k:.2}·σ⁻"));
            }
            if !sides.is_empty() {
                parts.push(format!(
                    "{} of the last {} datapoints ({} s apart) {} ({} profile)",
                    p.datapoints_to_alarm,
                    p.evaluation_periods,
                    p.period_secs,
                    sides.join(" or "),
                    match profile.seasonality {
                        Seasonality::None => "flat",
                        Seasonality::Daily => "daily",
                        Seasonality::Weekly => "weekly",
                    }
                ));
            }
            if let Some(s) = self.sustained {
                let k = [
                    s.k_upper.map(|k| format!("{k:.2}")),
                    s.k_lower.map(|k| format!("{k:.2}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("/");
                parts.push(format!(
                    "{} of the last {} beyond the sustained band (k {k})",
                    s.datapoints_to_alarm, s.evaluation_periods
                ));
            }
        }
        let slo = [
            self.slo.upper.map(|u| format!("above {u}")),
            self.slo.lower.map(|l| format!("below {l}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
        if !slo.is_empty() {
            let what = if self.profile.is_some() {
                "SLO bound"
            } else {
                "bound"
            };
            parts.push(format!("any datapoint {} ({what})", slo.join(" or ")));
        }
        if parts.is_empty() {
            return "nothing is guarded".to_owned();
        }
        let mut out = format!("abort when {}", parts.join("; or "));
        if let (Some(secs), true) = (self.rebaseline_after_secs, self.profile.is_some()) {
            out.push_str(&format!(
                "; a new level is accepted after {} h of recurring breaches",
                secs as f64 / 3600.0
            ));
        }
        out
    }

    /// Abort bounds at a timestamp (seasonal where the profile is), clamped to the SLO.
    pub fn bounds_at(&self, ts: i64) -> Bounds {
        self.assess(ts, f64::NAN, Shift::NONE).bounds
    }

    /// Bounds at `ts` and which side, if any, `value` breaks (see [`assess_with`]).
    pub(crate) fn assess(&self, ts: i64, value: f64, shift: Shift) -> Assessment {
        let learned = self.profile.as_ref().and_then(|p| p.at(ts));
        assess_with(&self.rule(), learned, value, shift)
    }

    /// The decision rule of this hypothesis.
    pub(crate) fn rule(&self) -> Rule {
        Rule {
            direction: self.direction,
            k_upper: self.k_upper,
            k_lower: self.k_lower,
            slo: self.slo,
        }
    }
}

/// The parts of a hypothesis that decide a breach, apart from the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rule {
    pub(crate) direction: Direction,
    pub(crate) k_upper: Option<f64>,
    pub(crate) k_lower: Option<f64>,
    pub(crate) slo: Bounds,
}

/// The one breach rule, shared by the derive backtest and the guard so both apply exactly the
/// same test: a side's score `(x − centre) / spread` strictly above its `k`, or the value
/// strictly beyond an SLO bound. `learned` is `(centre, spread_upper, spread_lower)` at the
/// datapoint's time, `None` for a degenerate hypothesis (SLO bounds only).
pub(crate) fn assess_with(
    rule: &Rule,
    learned: Option<(f64, f64, f64)>,
    value: f64,
    shift: Shift,
) -> Assessment {
    let mut bounds = Bounds::default();
    let mut side = 0;
    let mut residual = None;
    if let Some((c, su, sl)) = learned {
        residual = Some(value - c);
        let c = c + shift.offset;
        if let (true, Some(k)) = (rule.direction.has_upper(), rule.k_upper) {
            let s = su * shift.ratio_upper;
            bounds.upper = Some(c + k * s);
            if (value - c) / s > k {
                side = 1;
            }
        }
        if let (true, Some(k)) = (rule.direction.has_lower(), rule.k_lower) {
            let s = sl * shift.ratio_lower;
            bounds.lower = Some(c - k * s);
            if (c - value) / s > k {
                side = -1;
            }
        }
    }
    if let Some(u) = rule.slo.upper {
        bounds.upper = Some(bounds.upper.map_or(u, |b| b.min(u)));
        if value > u {
            side = 1;
        }
    }
    if let Some(l) = rule.slo.lower {
        bounds.lower = Some(bounds.lower.map_or(l, |b| b.max(l)));
        if value < l {
            side = -1;
        }
    }
    Assessment {
        bounds,
        side,
        residual,
    }
}
