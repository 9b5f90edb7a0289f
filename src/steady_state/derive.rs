//! Derivation of a steady-state hypothesis from a metric's history.
//!
//! Input: datapoints (any order, may hold NaN and duplicates) and [`DeriveOptions`].
//! Output: a [`MetricHypothesis`], `ok` or `degenerate` with a reason.
//! Must not: look at data after `learn_until` or inside excluded incident windows, allow a bound
//! looser than the SLO, or return NaN thresholds.
//!
//! Method:
//! 1. Clean (finite, sorted, last point per timestamp); keep points before `learn_until` and
//!    outside the excluded incident ranges.
//! 2. If the history holds a level shift (robust changepoint on hourly medians), learn only from
//!    the current level, or report a degenerate hypothesis if that level is too young.
//! 3. Fit candidate profiles (none, hour-of-day, hour-of-week when the history covers three
//!    cycles and 12 datapoints per bucket): per bucket the median (smoothed over neighbouring
//!    buckets) and one-sided robust spreads of the residuals of three neighbouring buckets,
//!    shrunk towards the spread of all buckets' residuals (not of the raw values, which holds
//!    the seasonal swing).
//!    Seasonal profiles are cross-fitted (each cycle scored by a profile learned without it) so
//!    the backtest is out of sample.
//! 4. Score every datapoint `z = (x − centre) / spread` per side, apply the N-of-M persistence,
//!    take each experiment-length window's worst score, and pick the abort multiplier `k` as
//!    the split-conformal order statistic of those window scores for the false-abort target
//!    (split evenly between the two sides for `both`; never below 4). The final seasonal profile
//!    is refitted on all cycles, and `k` is raised if that profile would abort more often on its
//!    own history.
//! 5. Keep the profile with the narrowest band (a seasonal one must beat the flat one by 10 %).
//!    Clamp to the SLO; if that makes the backtest exceed the target, use the shortest
//!    persistence rule that brings it back under. A persistence rule over M datapoints is only tried when M periods fit in half an
//!    experiment window.
//! 6. Sustained rule: where isolated spikes make the one-datapoint band wide, add a 2-of-3 rule
//!    with a narrower `k` (conformal, and at least the score that so few datapoints exceed that
//!    chance pairs stay under the target), kept when it is 20 % narrower on a side and both
//!    rules together still meet the target. Sparse metrics (a datapoint per experiment window
//!    or rarer) are guarded 1-of-1 with a warning. See `docs/steady-state.md`.

use super::error::SteadyStateError;
use super::series::{Point, clean, format_ts, median_period_secs};
use super::stats::{self, Side};
use crate::model::hypothesis::Direction;
use crate::model::hypothesis::{
    Backtest, Bounds, LearnedFrom, MetricHypothesis, Persistence, Profile, Rule, Seasonality,
    Shift, Status, Sustained, TimeRange, assess_with,
};

/// Options of [`derive()`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeriveOptions {
    /// Metric name copied into the hypothesis.
    pub metric: String,
    /// Which way(s) the metric may not go.
    pub direction: Direction,
    /// Learn only from points strictly before this epoch second.
    pub learn_until: Option<i64>,
    /// Experiment length the false-abort target refers to, in seconds.
    pub window_secs: i64,
    /// Acceptable chance that a healthy experiment-length window aborts.
    pub false_abort_target: f64,
    /// Incident windows `[start, end)` to leave out of learning.
    pub exclude: Vec<(i64, i64)>,
    /// SLO: never allow a value above this.
    pub slo_upper: Option<f64>,
    /// SLO: never allow a value below this.
    pub slo_lower: Option<f64>,
    /// Force an N-of-M persistence rule instead of choosing one.
    pub persistence: Option<(usize, usize)>,
    /// Force a seasonality instead of choosing one (it is still refused when the history does
    /// not cover enough cycles).
    pub seasonality: Option<Seasonality>,
}

impl Default for DeriveOptions {
    fn default() -> Self {
        Self {
            metric: "metric".to_owned(),
            direction: Direction::Both,
            learn_until: None,
            window_secs: DEFAULT_WINDOW_SECS,
            false_abort_target: DEFAULT_FALSE_ABORT_TARGET,
            exclude: Vec::new(),
            slo_upper: None,
            slo_lower: None,
            persistence: None,
            seasonality: None,
        }
    }
}

/// Default experiment length: 30 minutes.
pub const DEFAULT_WINDOW_SECS: i64 = 1800;
/// Default false-abort target: 1 % of healthy experiment windows.
pub const DEFAULT_FALSE_ABORT_TARGET: f64 = 0.01;

/// Fewer datapoints than this cannot show a spread worth trusting (a day of hourly points).
const MIN_POINTS: usize = 24;
/// Fewer scored windows than this make the conformal rank meaningless.
const MIN_WINDOWS: usize = 8;
/// A seasonal profile needs data from at least this many cycles (days / weeks): each held-out
/// cycle is then scored by a profile learned from at least two others. With two cycles the
/// held-out profile is a single day, which tells nothing about day-to-day variation.
const MIN_CYCLES: usize = 3;
/// A seasonal profile needs this many datapoints per bucket on average: a bucket's centre from
/// fewer sits a third of a spread or more off (the standard error of a median of n points is
/// about 1.25·σ/√n).
const MIN_BUCKET_POINTS: usize = 12;
/// At most this many cross-fitting folds (cycles are assigned round-robin).
const MAX_FOLDS: usize = 4;
/// A seasonal profile is chosen only if its band is this much narrower than the flat one:
/// parsimony, because every extra bucket is estimated from less data.
const SEASONAL_MIN_GAIN: f64 = 0.10;
/// A bucket with at least this many datapoints estimates its spread alone; smaller ones pool
/// their two neighbours (300 ≈ five hours of one-minute points, where the 97.5 % quantile used
/// for quantised metrics rests on about eight values).
const POOL_BELOW_POINTS: usize = 300;
/// Weight, in datapoints, of the pooled residual spread when shrinking a bucket's spread
/// towards it. A
/// quantile-based σ from n points has a relative standard error near 1/√n, and the narrowest
/// of 24 or 168 buckets sits about two standard errors low: with hourly data a bucket holds a
/// few dozen points, so its own spread gets at most about a third of the weight.
const SHRINK_POINTS: f64 = 100.0;
/// Never put an abort line closer than 4 robust σ to the centre. A one-datapoint rule over an
/// experiment window of P datapoints and a per-side target of 0.5 % needs a per-datapoint tail
/// of 0.005 / P: 3.1 σ for a normal metric with P = 6, but real metrics have heavier tails than
/// the few days they are learned from show (the robust σ comes from the quartiles), so 4 σ is
/// where a short history's band starts to hold on the weeks after it.
const K_FLOOR: f64 = 4.0;
/// A changepoint is a level shift when its robust z exceeds 8 ...
const LEVEL_SHIFT_Z: f64 = 8.0;
/// ... and the shift is larger than 3 point-level robust σ (tiny shifts of quantised,
/// near-constant series are not level shifts).
const LEVEL_SHIFT_MIN_SIGMA: f64 = 3.0;
/// Learning after a level shift needs a day at the new level (one daily cycle).
const MIN_SECS_AFTER_SHIFT: i64 = 86_400;
/// Block length for the level-shift test.
const LEVEL_SHIFT_BLOCK_SECS: i64 = 3600;
/// Fewest blocks (hours) on each side of a level-shift candidate.
const LEVEL_SHIFT_MIN_BLOCKS: usize = 6;
/// Most blocks (hours) required on each side of a level-shift candidate.
const LEVEL_SHIFT_MAX_BLOCKS: usize = 24;
/// A guard accepts a new level after 12 experiment windows (6 h by default) outside its bounds:
/// longer than any experiment it guards (it would have aborted at the first breach), short
/// enough that a permanent change of normal is not reported as an anomaly for days.
const REBASELINE_WINDOWS: i64 = 12;
/// A longer persistence rule is chosen only if its band is this much narrower than the
/// shorter one's: it delays every abort by its extra datapoints, so it must buy real
/// sensitivity (isolated one-point spikes in the history make the one-point rule's band wide).
const PERSISTENCE_MIN_GAIN: f64 = 0.2;
/// The sustained rule's persistence: two of three datapoints, the shortest rule that a single
/// spike cannot fire.
const SUSTAINED_RULE: (usize, usize) = (2, 3);
/// Persistence rules tried, shortest first; a rule over M datapoints is tried only when M
/// periods fit in half an experiment window, so a guarded experiment can still abort early.
const PERSISTENCE_CANDIDATES: [(usize, usize); 3] = [(1, 1), (2, 3), (3, 5)];
/// Period assumed when the history has fewer than two points (CloudWatch's standard 1 minute).
const FALLBACK_PERIOD_SECS: i64 = 60;

/// Derives the steady-state hypothesis of one metric.
///
/// # Errors
/// [`SteadyStateError::InvalidOption`] when the window is not positive, the target is not in
/// `(0, 0.5]`, an SLO bound is not finite or the lower SLO is above the upper one, an excluded
/// range ends before it starts, or a forced persistence is not `1 ≤ N ≤ M ≤ 10`. Too little or
/// unusable data is not an error: it gives a `degenerate` hypothesis with the reason.
pub fn derive(
    points: &[Point],
    opts: &DeriveOptions,
) -> Result<MetricHypothesis, SteadyStateError> {
    validate(opts)?;
    let cleaned = clean(points);
    let mut learned_from = LearnedFrom {
        points_given: points.len(),
        non_finite: cleaned.non_finite,
        duplicate_timestamps: cleaned.duplicates,
        out_of_range_timestamps: cleaned.out_of_range,
        excluded_incidents: opts
            .exclude
            .iter()
            .map(|&(start, end)| TimeRange { start, end })
            .collect(),
        ..LearnedFrom::default()
    };
    let before_cut: Vec<Point> = cleaned
        .points
        .into_iter()
        .filter(|p| opts.learn_until.is_none_or(|u| p.ts < u))
        .collect();
    let in_incident = |ts: i64| opts.exclude.iter().any(|&(s, e)| ts >= s && ts < e);
    let mut learn: Vec<Point> = before_cut
        .iter()
        .copied()
        .filter(|p| !in_incident(p.ts))
        .collect();
    learned_from.points_in_incidents = before_cut.len() - learn.len();

    let mut warnings = Vec::new();
    let period = median_period_secs(&learn).unwrap_or(FALLBACK_PERIOD_SECS);
    let base = Base { opts, period };

    if learn.is_empty() {
        return Ok(base.degenerate(
            "no finite datapoints to learn from (before learn_until and outside excluded incidents)".to_owned(),
            &learn,
            learned_from,
            warnings,
        ));
    }

    // Level shift: learn from the current level only.
    if let Some((at, delta)) = find_level_shift(&learn) {
        let after: Vec<Point> = learn.iter().copied().filter(|p| p.ts >= at).collect();
        let span = after.last().map_or(0, |l| l.ts) - at;
        learned_from.level_shift_at = Some(at);
        if span < MIN_SECS_AFTER_SHIFT {
            let reason = format!(
                "level shift of {delta:+.6} at {}: only {:.1} h of history at the new level, at least {} h needed; \
                 re-derive later or set learn_until before the shift",
                format_ts(at),
                span as f64 / 3600.0,
                MIN_SECS_AFTER_SHIFT / 3600
            );
            return Ok(base.degenerate(reason, &learn, learned_from, warnings));
        }
        learned_from.points_before_level_shift = learn.len() - after.len();
        warnings.push(format!(
            "level shift of {delta:+.6} at {}: learned from the {} datapoints after it",
            format_ts(at),
            after.len()
        ));
        learn = after;
    }

    let first = learn[0].value;
    if learn.iter().all(|p| p.value == first) {
        let reason = if first == 0.0 {
            format!(
                "all {} datapoints are zero: no variation to learn from; only SLO bounds are guarded",
                learn.len()
            )
        } else {
            format!(
                "constant at {first} over {} datapoints: no variation to learn from; only SLO bounds are guarded",
                learn.len()
            )
        };
        return Ok(base.degenerate(reason, &learn, learned_from, warnings));
    }
    if learn.len() < MIN_POINTS {
        let reason = format!(
            "sparse: only {} datapoints, at least {MIN_POINTS} needed",
            learn.len()
        );
        return Ok(base.degenerate(reason, &learn, learned_from, warnings));
    }
    if period >= opts.window_secs {
        // Still worth guarding: a long-running check (or a longer GameDay) sees every
        // datapoint, and a single datapoint far outside the band is evidence enough.
        warnings.push(format!(
            "sparse: datapoints every {period} s, not shorter than the {} s experiment window: a fault shows \
             in at most one datapoint per experiment",
            opts.window_secs
        ));
    }

    let layout = Layout::new(&learn, opts, period);
    if layout.windows < MIN_WINDOWS {
        let reason = format!(
            "sparse: only {} experiment windows with enough datapoints, at least {MIN_WINDOWS} needed",
            layout.windows
        );
        return Ok(base.degenerate(reason, &learn, learned_from, warnings));
    }

    let global = Global::new(&learn);
    let forced = opts.persistence;
    let first_rule = forced.unwrap_or(PERSISTENCE_CANDIDATES[0]);

    // Model selection on the first (or forced) persistence rule.
    let mut best: Option<(Seasonality, Vec<Local>, Ks, f64)> = None;
    let seasons = match opts.seasonality {
        Some(s) => vec![s],
        None => vec![Seasonality::None, Seasonality::Daily, Seasonality::Weekly],
    };
    for season in seasons {
        let Some(oof) = out_of_fold(&learn, season, &global) else {
            continue;
        };
        let ks = choose_ks(&learn, &oof, &layout, opts, first_rule);
        let width = band_width(&oof, &ks, opts.direction);
        let better = match &best {
            None => true,
            Some((_, _, _, w)) => width < (1.0 - SEASONAL_MIN_GAIN) * w,
        };
        if better {
            best = Some((season, oof, ks, width));
        }
    }
    let Some((season, oof, mut ks, _)) = best else {
        // The flat profile always fits once the data passed the checks above.
        return Ok(base.degenerate(
            "no profile could be fitted".to_owned(),
            &learn,
            learned_from,
            warnings,
        ));
    };

    // Persistence: the shortest rule fast enough for an experiment whose backtest (SLO clamp
    // included) meets the target, else the one that aborts least.
    let slo = Bounds {
        lower: opts.slo_lower,
        upper: opts.slo_upper,
    };
    let candidates: Vec<(usize, usize)> = match forced {
        Some(f) => vec![f],
        None => PERSISTENCE_CANDIDATES
            .iter()
            .copied()
            .filter(|&(_, m)| m == 1 || m as i64 * period <= opts.window_secs / 2)
            .collect(),
    };
    let mut chosen: Option<((usize, usize), Ks, usize)> = None;
    for nm in candidates {
        let ks_nm = if nm == first_rule {
            ks
        } else {
            choose_ks(&learn, &oof, &layout, opts, nm)
        };
        let rule = Rule {
            direction: opts.direction,
            k_upper: ks_nm.upper,
            k_lower: ks_nm.lower,
            slo,
        };
        let aborted = backtest_aborts(&learn, &oof, &layout, &rule, nm);
        let meets = (aborted as f64) <= opts.false_abort_target * layout.windows as f64;
        if chosen.as_ref().is_none_or(|(_, _, a)| aborted < *a) {
            chosen = Some((nm, ks_nm, aborted));
        }
        if meets {
            chosen = Some((nm, ks_nm, aborted));
            break;
        }
    }
    let Some(((n_of, m), chosen_ks, aborted)) = chosen else {
        return Ok(base.degenerate(
            "no persistence rule could be evaluated".to_owned(),
            &learn,
            learned_from,
            warnings,
        ));
    };
    ks = chosen_ks;
    // The sustained rule, when isolated spikes make the main band clearly wider than a
    // confirmed excursion needs; dropped if together they would abort too often.
    let mut aborted = aborted;
    let sustained = if forced.is_none() {
        sustained_rule(&learn, &oof, &layout, opts, period, (n_of, m), &ks).and_then(|s| {
            let main = Rule {
                direction: opts.direction,
                k_upper: ks.upper,
                k_lower: ks.lower,
                slo,
            };
            let second = Rule {
                direction: opts.direction,
                k_upper: s.k_upper,
                k_lower: s.k_lower,
                slo: Bounds::default(),
            };
            let a = backtest_flags(&learn, &oof, &layout, &main, (n_of, m));
            let b = backtest_flags(
                &learn,
                &oof,
                &layout,
                &second,
                (s.datapoints_to_alarm, s.evaluation_periods),
            );
            let union = a.iter().zip(&b).filter(|(x, y)| **x || **y).count();
            let fits = (union as f64) <= opts.false_abort_target * layout.windows as f64;
            (fits || union == aborted).then(|| {
                aborted = union;
                s
            })
        })
    } else {
        None
    };
    let rate = aborted as f64 / layout.windows as f64;
    if rate > opts.false_abort_target {
        let cause = if opts.slo_upper.is_some() || opts.slo_lower.is_some() {
            "the SLO bounds are crossed in normal operation"
        } else {
            "the learning history aborts too often"
        };
        warnings.push(format!(
            "{cause}: {:.2} % of learning windows would abort",
            100.0 * rate
        ));
    }
    if ks.bound > opts.false_abort_target {
        let needed = (opts.direction_sides() as f64 / opts.false_abort_target).ceil() as usize;
        warnings.push(format!(
            "short history: {} windows only guarantee a false-abort rate below {:.2} %; about {needed} windows \
             are needed for {:.2} %",
            layout.windows,
            100.0 * ks.bound,
            100.0 * opts.false_abort_target
        ));
    }

    let profile = fit_profile(&learn, season, &global, |_| true);
    if season != Seasonality::None {
        // k was chosen on cross-fitted profiles; the final profile (all cycles) must not abort
        // more often on its own learning history, so each side keeps the larger k.
        let in_sample: Vec<Local> = learn.iter().filter_map(|p| profile.at(p.ts)).collect();
        let ks_in = choose_ks(&learn, &in_sample, &layout, opts, (n_of, m));
        let larger = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        ks.upper = larger(ks.upper, ks_in.upper);
        ks.lower = larger(ks.lower, ks_in.lower);
    }
    let residuals: Vec<f64> = learn
        .iter()
        .filter_map(|p| profile.at(p.ts).map(|(c, _, _)| p.value - c))
        .collect();
    let residual_sigma = stats::mad_sigma(&residuals, 0.0)
        .filter(|s| *s > 0.0)
        .unwrap_or((global.s_up + global.s_lo) / 2.0);
    let profile = Profile {
        residual_sigma,
        ..profile
    };

    let mut abort = Bounds::default();
    if let Some(k) = ks.upper.filter(|_| opts.direction.has_upper()) {
        abort.upper = profile
            .centre
            .iter()
            .zip(&profile.spread_upper)
            .map(|(c, s)| c + k * s)
            .reduce(f64::max);
    }
    if let Some(k) = ks.lower.filter(|_| opts.direction.has_lower()) {
        abort.lower = profile
            .centre
            .iter()
            .zip(&profile.spread_lower)
            .map(|(c, s)| c - k * s)
            .reduce(f64::min);
    }
    if let Some(u) = opts.slo_upper {
        abort.upper = Some(abort.upper.map_or(u, |a| a.min(u)));
    }
    if let Some(l) = opts.slo_lower {
        abort.lower = Some(abort.lower.map_or(l, |a| a.max(l)));
    }

    learned_from.start = learn.first().map(|p| p.ts);
    learned_from.end = learn.last().map(|p| p.ts);
    learned_from.points_used = learn.len();
    Ok(MetricHypothesis {
        metric: opts.metric.clone(),
        status: Status::Ok,
        direction: opts.direction,
        baseline: Some(global.centre),
        acceptable_range: acceptable_range(&learn),
        abort,
        k_upper: ks.upper.filter(|_| opts.direction.has_upper()),
        k_lower: ks.lower.filter(|_| opts.direction.has_lower()),
        profile: Some(profile),
        persistence: Persistence {
            period_secs: period,
            datapoints_to_alarm: n_of,
            evaluation_periods: m,
        },
        sustained,
        slo,
        rebaseline_after_secs: Some(REBASELINE_WINDOWS * opts.window_secs),
        backtest: Some(Backtest {
            window_secs: opts.window_secs,
            windows: layout.windows,
            aborted_windows: aborted,
            false_abort_rate: rate,
            false_abort_bound: ks.bound,
            target: opts.false_abort_target,
        }),
        learned_from,
        warnings,
    })
}

impl DeriveOptions {
    fn direction_sides(&self) -> usize {
        usize::from(self.direction.has_upper()) + usize::from(self.direction.has_lower())
    }
}

fn validate(opts: &DeriveOptions) -> Result<(), SteadyStateError> {
    let bad = |option: &'static str, problem: String| {
        Err(SteadyStateError::InvalidOption { option, problem })
    };
    if opts.window_secs <= 0 {
        return bad(
            "window_secs",
            format!("must be positive, got {}", opts.window_secs),
        );
    }
    if !(opts.false_abort_target > 0.0 && opts.false_abort_target <= 0.5) {
        return bad(
            "false_abort_target",
            format!("must be in (0, 0.5], got {}", opts.false_abort_target),
        );
    }
    for (name, v) in [("slo_upper", opts.slo_upper), ("slo_lower", opts.slo_lower)] {
        if v.is_some_and(|x| !x.is_finite()) {
            return bad(name, "must be a finite number".to_owned());
        }
    }
    if let (Some(l), Some(u)) = (opts.slo_lower, opts.slo_upper)
        && l > u
    {
        return bad("slo_lower", format!("{l} is above slo_upper {u}"));
    }
    if let Some(&(s, e)) = opts.exclude.iter().find(|(s, e)| e < s) {
        return bad(
            "exclude",
            format!(
                "range ends at {} before it starts at {}",
                format_ts(e),
                format_ts(s)
            ),
        );
    }
    if let Some((n, m)) = opts.persistence
        && !(1 <= n && n <= m && m <= 10)
    {
        return bad(
            "persistence",
            format!("need 1 <= N <= M <= 10, got {n} of {m}"),
        );
    }
    Ok(())
}

/// What every hypothesis of a run shares, degenerate or not.
struct Base<'a> {
    opts: &'a DeriveOptions,
    period: i64,
}

impl Base<'_> {
    fn degenerate(
        &self,
        reason: String,
        learn: &[Point],
        mut lf: LearnedFrom,
        warnings: Vec<String>,
    ) -> MetricHypothesis {
        let values: Vec<f64> = learn.iter().map(|p| p.value).collect();
        lf.start = learn.first().map(|p| p.ts);
        lf.end = learn.last().map(|p| p.ts);
        lf.points_used = learn.len();
        let slo = Bounds {
            lower: self.opts.slo_lower,
            upper: self.opts.slo_upper,
        };
        MetricHypothesis {
            metric: self.opts.metric.clone(),
            status: Status::Degenerate { reason },
            direction: self.opts.direction,
            baseline: stats::median(&values),
            acceptable_range: acceptable_range(learn),
            abort: slo,
            k_upper: None,
            k_lower: None,
            profile: None,
            persistence: Persistence {
                period_secs: self.period,
                datapoints_to_alarm: 1,
                evaluation_periods: 1,
            },
            sustained: None,
            slo,
            rebaseline_after_secs: None,
            backtest: None,
            learned_from: lf,
            warnings,
        }
    }
}

fn acceptable_range(learn: &[Point]) -> Bounds {
    let mut v: Vec<f64> = learn.iter().map(|p| p.value).collect();
    Bounds {
        lower: stats::quantile_select(&mut v, 0.01),
        upper: stats::quantile_select(&mut v, 0.99),
    }
}

/// Global robust centre and one-sided spreads of the learning values.
struct Global {
    centre: f64,
    s_up: f64,
    s_lo: f64,
}

impl Global {
    /// Callers guarantee a non-empty, non-constant, finite series.
    fn new(learn: &[Point]) -> Self {
        let values: Vec<f64> = learn.iter().map(|p| p.value).collect();
        let centre = stats::median(&values).unwrap_or(0.0);
        let r: Vec<f64> = values.iter().map(|v| v - centre).collect();
        let (s_up, s_lo) = sides(&r, None);
        let floor = spread_floor(centre);
        Self {
            centre,
            s_up: s_up.unwrap_or(floor).max(floor),
            s_lo: s_lo.unwrap_or(floor).max(floor),
        }
    }
}

/// Smallest spread used as a divisor: keeps scores finite for near-constant series.
fn spread_floor(centre: f64) -> f64 {
    1e-9 * (1.0 + centre.abs())
}

/// One-sided spreads of residuals; a side with no residual borrows the other side.
fn sides(residuals: &[f64], fallback: Option<(f64, f64)>) -> (Option<f64>, Option<f64>) {
    let up = stats::side_sigma(residuals, Side::Upper);
    let lo = stats::side_sigma(residuals, Side::Lower);
    match (up, lo, fallback) {
        (Some(u), Some(l), _) => (Some(u), Some(l)),
        (Some(u), None, _) => (Some(u), Some(u)),
        (None, Some(l), _) => (Some(l), Some(l)),
        (None, None, Some((u, l))) => (Some(u), Some(l)),
        (None, None, None) => (None, None),
    }
}

/// Fits a profile on the points for which `keep` (given the point's index) is true.
fn fit_profile(
    points: &[Point],
    season: Seasonality,
    global: &Global,
    keep: impl Fn(usize) -> bool,
) -> Profile {
    let nb = season.buckets();
    let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); nb];
    for (i, p) in points.iter().enumerate() {
        if keep(i) {
            buckets[season.bucket(p.ts)].push(p.value);
        }
    }
    let raw: Vec<Option<f64>> = buckets
        .iter_mut()
        .map(|b| (!b.is_empty()).then(|| stats::median_in_place(b)))
        .collect();
    // Circular median of three neighbouring buckets: a bucket estimated from few points
    // should not make its own spike.
    let centre: Vec<f64> = (0..nb)
        .map(|b| {
            if nb == 1 {
                return raw[0].unwrap_or(global.centre);
            }
            let nbrs: Vec<f64> = [(b + nb - 1) % nb, b, (b + 1) % nb]
                .iter()
                .filter_map(|&j| raw[j])
                .collect();
            stats::median(&nbrs).unwrap_or(global.centre)
        })
        .collect();
    let mut spread_upper = Vec::with_capacity(nb);
    let mut spread_lower = Vec::with_capacity(nb);
    let floor = spread_floor(global.centre);
    // Residuals of each bucket, then spreads from the residuals of three neighbouring buckets
    // when a bucket alone is small: a tail estimated from one hour of a few days is unstable,
    // most of all for quantised metrics whose rare steps land in different hours on different
    // days.
    let residuals: Vec<Vec<f64>> = buckets
        .iter()
        .enumerate()
        .map(|(b, values)| values.iter().map(|v| v - centre[b]).collect())
        .collect();
    // The spread a bucket is shrunk towards: that of every bucket's residuals around its own
    // centre, not the spread of the raw values, which holds the seasonal swing itself.
    let (target_up, target_lo) = if nb > 1 {
        let all: Vec<f64> = residuals.iter().flatten().copied().collect();
        let (u, l) = sides(&all, Some((global.s_up, global.s_lo)));
        (
            u.unwrap_or(global.s_up).max(floor),
            l.unwrap_or(global.s_lo).max(floor),
        )
    } else {
        (global.s_up, global.s_lo)
    };
    let mut pooled = Vec::new();
    for b in 0..nb {
        pooled.clear();
        if nb == 1 || residuals[b].len() >= POOL_BELOW_POINTS {
            pooled.extend_from_slice(&residuals[b]);
        } else {
            for j in [(b + nb - 1) % nb, b, (b + 1) % nb] {
                pooled.extend_from_slice(&residuals[j]);
            }
        }
        let n = pooled.len() as f64;
        let (u, l) = match stats::side_sigmas_in_place(&mut pooled) {
            (Some(u), None) => (Some(u), Some(u)),
            (None, Some(l)) => (Some(l), Some(l)),
            both => both,
        };
        let shrink = |s: Option<f64>, g: f64| match s {
            Some(s) if nb > 1 => (n * s + SHRINK_POINTS * g) / (n + SHRINK_POINTS),
            Some(s) => s,
            None => g,
        };
        spread_upper.push(shrink(u, target_up).max(floor));
        spread_lower.push(shrink(l, target_lo).max(floor));
    }
    Profile {
        seasonality: season,
        centre,
        spread_upper,
        spread_lower,
        residual_sigma: 0.0,
    }
}

/// Per-point `(centre, spread_upper, spread_lower)`, each from a profile that did not see the
/// point's cycle. `None` when the history does not support this seasonality.
fn out_of_fold(points: &[Point], season: Seasonality, global: &Global) -> Option<Vec<Local>> {
    let Some(cycle) = season.cycle_secs() else {
        let p = fit_profile(points, season, global, |_| true);
        return Some(points.iter().filter_map(|pt| p.at(pt.ts)).collect());
    };
    let first = points.first()?.ts;
    let last = points.last()?.ts;
    if last - first < MIN_CYCLES as i64 * cycle
        || points.len() < MIN_BUCKET_POINTS * season.buckets()
    {
        return None;
    }
    let cycles: Vec<i64> = points.iter().map(|p| p.ts.div_euclid(cycle)).collect();
    let mut distinct = cycles.clone();
    distinct.dedup();
    if distinct.len() < MIN_CYCLES {
        return None;
    }
    let folds = distinct.len().min(MAX_FOLDS);
    let fold_of = |c: i64| (c.rem_euclid(folds as i64)) as usize;
    let mut out = vec![(0.0, 0.0, 0.0); points.len()];
    for f in 0..folds {
        let profile = fit_profile(points, season, global, |i| fold_of(cycles[i]) != f);
        for (i, p) in points.iter().enumerate() {
            if fold_of(cycles[i]) == f {
                out[i] = profile.at(p.ts)?;
            }
        }
    }
    Some(out)
}

/// `(centre, spread_upper, spread_lower)` at one datapoint.
type Local = (f64, f64, f64);

/// Window membership and gaps of the learning points.
struct Layout {
    /// Index of the scored window each point belongs to, if any.
    window_of: Vec<Option<usize>>,
    /// Expected datapoints missing just before each point.
    missing_before: Vec<usize>,
    /// Number of scored windows.
    windows: usize,
}

impl Layout {
    fn new(points: &[Point], opts: &DeriveOptions, period: i64) -> Self {
        let w = opts.window_secs;
        let expected = (w as f64 / period as f64).max(1.0);
        let min_points = ((expected / 2.0).floor() as usize).max(1);
        let overlaps_incident = |bin: i64| {
            let (s, e) = (bin * w, (bin + 1) * w);
            opts.exclude.iter().any(|&(a, b)| a < e && b > s)
        };
        // Points are sorted, so bins come in runs.
        let bins: Vec<i64> = points.iter().map(|p| p.ts.div_euclid(w)).collect();
        let mut window_of = vec![None; points.len()];
        let mut windows = 0;
        let mut i = 0;
        while i < bins.len() {
            let mut j = i;
            while j < bins.len() && bins[j] == bins[i] {
                j += 1;
            }
            if j - i >= min_points && !overlaps_incident(bins[i]) {
                for slot in &mut window_of[i..j] {
                    *slot = Some(windows);
                }
                windows += 1;
            }
            i = j;
        }
        let missing_before = std::iter::once(0)
            .chain(points.windows(2).map(|p| {
                let steps = ((p[1].ts - p[0].ts) as f64 / period as f64).round() as i64 - 1;
                steps.max(0) as usize
            }))
            .collect();
        Self {
            window_of,
            missing_before,
            windows,
        }
    }

    /// Worst persistence-filtered score per window (`f64::MIN` where no point could abort).
    fn window_maxima(&self, persisted: &[f64]) -> Vec<f64> {
        let mut out = vec![f64::MIN; self.windows];
        for (w, s) in self.window_of.iter().zip(persisted) {
            if let Some(w) = w {
                out[*w] = out[*w].max(*s);
            }
        }
        out
    }
}

/// Abort multipliers per side and the conformal bound they guarantee together.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ks {
    upper: Option<f64>,
    lower: Option<f64>,
    bound: f64,
}

/// Chooses `k` per guarded side as the conformal order statistic of the windows' worst
/// persistence-filtered scores, with the target split evenly between guarded sides.
fn choose_ks(
    points: &[Point],
    oof: &[Local],
    layout: &Layout,
    opts: &DeriveOptions,
    (n_of, m): (usize, usize),
) -> Ks {
    let sides = opts.direction_sides().max(1);
    let alpha = opts.false_abort_target / sides as f64;
    let mut bound = 0.0;
    let mut pick = |score: &dyn Fn(f64, Local) -> f64| -> Option<f64> {
        let z: Vec<f64> = points
            .iter()
            .zip(oof)
            .map(|(p, l)| score(p.value, *l))
            .collect();
        let persisted = stats::persistence_scores(&z, &layout.missing_before, n_of, m);
        let maxima = layout.window_maxima(&persisted);
        let rank = stats::conformal_rank(maxima.len(), alpha)?;
        bound += rank.bound;
        let k = stats::nth_largest(&maxima, rank.rank)?;
        Some(k.max(K_FLOOR))
    };
    let upper = if opts.direction.has_upper() {
        pick(&|x, (c, su, _)| (x - c) / su)
    } else {
        None
    };
    let lower = if opts.direction.has_lower() {
        pick(&|x, (c, _, sl)| (c - x) / sl)
    } else {
        None
    };
    Ks {
        upper,
        lower,
        bound: bound.min(1.0),
    }
}

/// Mean width of the guarded band over the learning points (narrower is better).
fn band_width(oof: &[Local], ks: &Ks, direction: Direction) -> f64 {
    let n = oof.len().max(1) as f64;
    oof.iter()
        .map(|(_, su, sl)| {
            let up = if direction.has_upper() {
                ks.upper.map_or(0.0, |k| k * su)
            } else {
                0.0
            };
            let lo = if direction.has_lower() {
                ks.lower.map_or(0.0, |k| k * sl)
            } else {
                0.0
            };
            up + lo
        })
        .sum::<f64>()
        / n
}

/// The sustained rule (see [`Sustained`]): the next longer admissible persistence rule, on the
/// sides where its `k` is clearly below the main rule's; `None` when no side gains.
fn sustained_rule(
    points: &[Point],
    oof: &[Local],
    layout: &Layout,
    opts: &DeriveOptions,
    period: i64,
    main: (usize, usize),
    ks: &Ks,
) -> Option<Sustained> {
    let (n_of, m) = SUSTAINED_RULE;
    if m <= main.1 || m as i64 * period > opts.window_secs / 2 {
        return None;
    }
    let mut ks2 = choose_ks(points, oof, layout, opts, (n_of, m));
    {
        // Short histories rarely hold two exceedances close together even when single ones are
        // common, so the rank alone can set k too low: also keep the share q of single
        // datapoints beyond k so small that chance coincidences (about M·q² per datapoint,
        // datapoints independent) stay under the side's target per window.
        let per_window = (opts.window_secs as f64 / period as f64).max(1.0);
        let alpha = opts.false_abort_target / opts.direction_sides().max(1) as f64;
        let q = (alpha / (m as f64 * per_window)).sqrt();
        let quantile = |score: &dyn Fn(f64, Local) -> f64| {
            // The smallest observed score with at most a share q strictly above it (an observed
            // value, so a quantised metric's band edge never falls between two of its steps).
            let z: Vec<f64> = points
                .iter()
                .zip(oof)
                .map(|(p, l)| score(p.value, *l))
                .collect();
            let above = ((q * z.len() as f64).floor() as usize).min(z.len().checked_sub(1)?);
            stats::nth_largest(&z, above)
        };
        if let (Some(k), Some(x)) = (ks2.upper, quantile(&|x, (c, su, _)| (x - c) / su)) {
            ks2.upper = Some(k.max(x));
        }
        if let (Some(k), Some(x)) = (ks2.lower, quantile(&|x, (c, _, sl)| (c - x) / sl)) {
            ks2.lower = Some(k.max(x));
        }
    }
    let gain = |second: Option<f64>, first: Option<f64>| match (second, first) {
        (Some(s), Some(f)) if s < (1.0 - PERSISTENCE_MIN_GAIN) * f => Some(s),
        _ => None,
    };
    let k_upper = gain(ks2.upper, ks.upper);
    let k_lower = gain(ks2.lower, ks.lower);
    (k_upper.is_some() || k_lower.is_some()).then_some(Sustained {
        datapoints_to_alarm: n_of,
        evaluation_periods: m,
        k_upper,
        k_lower,
    })
}

/// Windows in which the guard rule (per-side persistence and SLO included) would abort.
fn backtest_aborts(
    points: &[Point],
    oof: &[Local],
    layout: &Layout,
    rule: &Rule,
    nm: (usize, usize),
) -> usize {
    backtest_flags(points, oof, layout, rule, nm)
        .iter()
        .filter(|a| **a)
        .count()
}

/// Per scored window, whether the guard rule would abort in it.
fn backtest_flags(
    points: &[Point],
    oof: &[Local],
    layout: &Layout,
    rule: &Rule,
    (n_of, m): (usize, usize),
) -> Vec<bool> {
    let sides: Vec<i8> = points
        .iter()
        .zip(oof)
        .map(|(p, l)| assess_with(rule, Some(*l), p.value, Shift::NONE).side)
        .collect();
    let mut aborted = vec![false; layout.windows];
    for wanted in [1i8, -1] {
        let flags: Vec<f64> = sides.iter().map(|s| f64::from(*s == wanted)).collect();
        let persisted = stats::persistence_scores(&flags, &layout.missing_before, n_of, m);
        for (a, s) in aborted.iter_mut().zip(layout.window_maxima(&persisted)) {
            *a |= s > 0.5;
        }
    }
    aborted
}

/// Start of the current level if the history holds a significant level shift, and its size.
fn find_level_shift(points: &[Point]) -> Option<(i64, f64)> {
    let mut starts = Vec::new();
    let mut medians = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let block = points[i].ts.div_euclid(LEVEL_SHIFT_BLOCK_SECS);
        let mut j = i;
        while j < points.len() && points[j].ts.div_euclid(LEVEL_SHIFT_BLOCK_SECS) == block {
            j += 1;
        }
        let values: Vec<f64> = points[i..j].iter().map(|p| p.value).collect();
        if let Some(m) = stats::median(&values) {
            starts.push(points[i].ts);
            medians.push(m);
        }
        i = j;
    }
    // Each side needs 10 % of the blocks, but never more than a day or fewer than 6 hours: a
    // shift 6 h to 1 day old is still found (and reported as too young to learn from).
    let min_side = (medians.len() / 10).clamp(LEVEL_SHIFT_MIN_BLOCKS, LEVEL_SHIFT_MAX_BLOCKS);
    let shift = stats::level_shift(&medians, min_side)?;
    let at = starts[shift.index];
    // Point-level spread within each segment (not around the global median, which a shift
    // itself would inflate).
    let segment_median = |after: bool| {
        let v: Vec<f64> = points
            .iter()
            .filter(|p| (p.ts >= at) == after)
            .map(|p| p.value)
            .collect();
        stats::median(&v)
    };
    let (mb, ma) = (segment_median(false)?, segment_median(true)?);
    let r: Vec<f64> = points
        .iter()
        .map(|p| p.value - if p.ts >= at { ma } else { mb })
        .collect();
    let point_sigma = match sides(&r, None) {
        (Some(u), Some(l)) => (u + l) / 2.0,
        _ => return None,
    };
    (shift.z > LEVEL_SHIFT_Z && shift.delta.abs() > LEVEL_SHIFT_MIN_SIGMA * point_sigma)
        .then_some((at, shift.delta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steady_state::{check, check_with_summary};
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    /// Deterministic noise in [-1, 1) (splitmix64).
    fn noise(i: u64) -> f64 {
        let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn series(n: i64, step: i64, f: impl Fn(i64) -> f64) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                ts: 1_700_000_000 + i * step,
                value: f(i),
            })
            .collect()
    }

    fn reason(h: &MetricHypothesis) -> &str {
        match &h.status {
            Status::Degenerate { reason } => reason,
            Status::Ok => "",
        }
    }

    #[test]
    fn hand_computed_static_thresholds() {
        // 2873 = 13 × 221 one-minute points, values 10..=22 each 221 times: median 16, residual
        // quartiles ±3 -> σ = 3 / Φ⁻¹(0.75) per side. Window maxima score 6/σ = 1.35 < 4, so k is
        // the floor 4 and the bounds are 16 ± 4σ.
        let pts = series(2873, 60, |i| 10.0 + ((i * 7919) % 13) as f64);
        let h = derive(&pts, &DeriveOptions::default()).unwrap();
        assert_eq!(h.status, Status::Ok);
        let sigma = 3.0 / 0.674_489_750_196_081_7;
        assert_relative_eq!(h.baseline.unwrap(), 16.0);
        assert_relative_eq!(h.abort.upper.unwrap(), 16.0 + 4.0 * sigma, epsilon = 1e-9);
        assert_relative_eq!(h.abort.lower.unwrap(), 16.0 - 4.0 * sigma, epsilon = 1e-9);
        assert_eq!(h.profile.as_ref().unwrap().seasonality, Seasonality::None);
        assert_eq!(h.acceptable_range.upper, Some(22.0));
        // 95 full windows + 1 partial (>= 15 points): max-rank, bound 1/97 per side.
        let bt = h.backtest.unwrap();
        assert_eq!(bt.aborted_windows, 0);
        assert_relative_eq!(bt.false_abort_bound, 2.0 / (bt.windows as f64 + 1.0));
    }

    #[test]
    fn conformal_max_rank_puts_upper_at_the_learning_maximum() {
        // Spikes to 40 every 100 points; < 199 windows, so the upper k is the largest window
        // score and the upper bound is exactly the largest learned value.
        let pts = series(2880, 60, |i| {
            if i % 100 == 7 {
                40.0
            } else {
                16.0 + 6.0 * noise(i as u64)
            }
        });
        let h = derive(
            &pts,
            &DeriveOptions {
                direction: Direction::Upper,
                ..DeriveOptions::default()
            },
        )
        .unwrap();
        assert_relative_eq!(h.abort.upper.unwrap(), 40.0, epsilon = 1e-9);
        assert_eq!(h.abort.lower, None);
        assert!(h.warnings.iter().any(|w| w.starts_with("short history")));
    }

    #[test]
    fn degenerate_inputs_have_reasons() {
        let o = DeriveOptions::default();
        let empty = derive(&[], &o).unwrap();
        assert!(reason(&empty).starts_with("no finite datapoints"));
        assert_eq!(empty.abort, Bounds::default());
        let one = derive(&series(1, 60, |_| 5.0), &o).unwrap();
        assert!(reason(&one).starts_with("constant at 5"));
        let zeros = derive(&series(500, 60, |_| 0.0), &o).unwrap();
        assert!(reason(&zeros).starts_with("all 500 datapoints are zero"));
        let nan = derive(&series(500, 60, |_| f64::NAN), &o).unwrap();
        assert!(reason(&nan).starts_with("no finite datapoints"));
        assert_eq!(nan.learned_from.non_finite, 500);
        let short = derive(&series(10, 60, |i| i as f64), &o).unwrap();
        assert!(reason(&short).starts_with("sparse: only 10 datapoints"));
        // Hourly datapoints are guarded (one datapoint per experiment at most), with a warning.
        let hourly = derive(&series(500, 3600, |i| noise(i as u64)), &o).unwrap();
        assert_eq!(hourly.status, Status::Ok);
        assert_eq!(hourly.persistence.evaluation_periods, 1);
        assert!(
            hourly
                .warnings
                .iter()
                .any(|w| w.starts_with("sparse: datapoints every 3600 s")),
            "{:?}",
            hourly.warnings
        );
        // Constant series still guard their SLO.
        let slo = derive(
            &series(500, 60, |_| 1.0),
            &DeriveOptions {
                slo_upper: Some(2.0),
                ..o.clone()
            },
        )
        .unwrap();
        assert_eq!(slo.abort.upper, Some(2.0));
        let v = check(
            &slo,
            &[Point { ts: 0, value: 1.5 }, Point { ts: 60, value: 2.5 }],
        );
        assert_eq!(
            v.iter().map(|v| v.breach).collect::<Vec<_>>(),
            vec![false, true]
        );
    }

    #[test]
    fn invalid_options_are_errors() {
        let pts = series(100, 60, |i| i as f64);
        let bad = |o: DeriveOptions| derive(&pts, &o).unwrap_err().kind();
        let d = DeriveOptions::default;
        assert_eq!(
            bad(DeriveOptions {
                window_secs: 0,
                ..d()
            }),
            "steady_state_invalid_option"
        );
        assert_eq!(
            bad(DeriveOptions {
                false_abort_target: f64::NAN,
                ..d()
            }),
            "steady_state_invalid_option"
        );
        assert_eq!(
            bad(DeriveOptions {
                slo_lower: Some(3.0),
                slo_upper: Some(1.0),
                ..d()
            }),
            "steady_state_invalid_option"
        );
        assert_eq!(
            bad(DeriveOptions {
                exclude: vec![(10, 5)],
                ..d()
            }),
            "steady_state_invalid_option"
        );
        assert_eq!(
            bad(DeriveOptions {
                persistence: Some((3, 2)),
                ..d()
            }),
            "steady_state_invalid_option"
        );
    }

    #[test]
    fn unsorted_duplicates_and_incidents() {
        let mut pts = series(3000, 60, |i| 50.0 + 5.0 * noise(i as u64));
        let incident = (pts[1000].ts, pts[1100].ts);
        for p in &mut pts[1000..1100] {
            p.value = 500.0;
        }
        pts.push(pts[5]);
        pts.reverse();
        let h = derive(
            &pts,
            &DeriveOptions {
                exclude: vec![incident],
                ..DeriveOptions::default()
            },
        )
        .unwrap();
        assert_eq!(h.status, Status::Ok);
        assert_eq!(h.learned_from.duplicate_timestamps, 1);
        assert_eq!(h.learned_from.points_in_incidents, 100);
        assert_eq!(h.learned_from.points_used, 2900);
        // Uniform noise ±5: the 3σ floor puts the bound near 61, far below the incident's 500.
        assert!(
            h.abort.upper.unwrap() < 70.0,
            "incident values must not widen the band: {h:?}"
        );
    }

    #[test]
    fn level_shift_learns_the_new_level_or_explains() {
        let day = 1440;
        let pts = series(
            5 * day,
            60,
            |i| if i < 3 * day { 10.0 } else { 30.0 } + noise(i as u64),
        );
        let h = derive(&pts, &DeriveOptions::default()).unwrap();
        assert_eq!(h.status, Status::Ok);
        let at = h.learned_from.level_shift_at.unwrap();
        assert!((at - pts[3 * day as usize].ts).abs() <= 3600);
        assert!((h.baseline.unwrap() - 30.0).abs() < 0.5);
        // Only 6 hours at the new level: not enough.
        let young = series(
            3 * day + 360,
            60,
            |i| if i < 3 * day { 10.0 } else { 30.0 } + noise(i as u64),
        );
        let h = derive(&young, &DeriveOptions::default()).unwrap();
        assert!(
            reason(&h).starts_with("level shift of +19.9"),
            "{:?}",
            h.status
        );
        assert!(
            reason(&h).contains("only 6.2 h of history at the new level"),
            "{:?}",
            h.status
        );
    }

    #[test]
    fn daily_seasonality_is_modelled_and_guards() {
        let day = 1440;
        let f = |i: i64| {
            100.0
                + 50.0 * (i as f64 * std::f64::consts::TAU / day as f64).sin()
                + 2.0 * noise(i as u64)
        };
        let pts = series(10 * day, 60, f);
        let h = derive(&pts, &DeriveOptions::default()).unwrap();
        assert_eq!(h.profile.as_ref().unwrap().seasonality, Seasonality::Daily);
        // Bounds follow the cycle: the peak's lower bound is above the trough's upper bound.
        let t0 = pts[0].ts;
        let peak = h.bounds_at(t0 + day / 4 * 60);
        let trough = h.bounds_at(t0 + 3 * day / 4 * 60);
        assert!(peak.lower.unwrap() > trough.upper.unwrap());
        // Static alarm thresholds are the loosest over the day.
        assert!(h.abort.upper.unwrap() >= peak.upper.unwrap());
        // A fresh healthy day holds; the same day at +30 breaks.
        let next: Vec<Point> = (10 * day..11 * day)
            .map(|i| Point {
                ts: t0 + i * 60,
                value: f(i),
            })
            .collect();
        assert!(check_with_summary(&h, &next).1.held);
        let hurt: Vec<Point> = next
            .iter()
            .map(|p| Point {
                value: p.value + 30.0,
                ..*p
            })
            .collect();
        assert!(!check_with_summary(&h, &hurt).1.held);
    }

    #[test]
    fn a_seasonal_band_is_as_wide_as_the_noise_not_the_season() {
        // A request rate: ±45 % over the day, 40 % less at weekends, ±2.5 % noise, 30 days of
        // 5-minute datapoints. Its swing (5 to 14 a second) must not widen the buckets' spreads.
        let f = |i: i64| {
            let ts = 1_700_000_000 + i * 300;
            let hour = ts.rem_euclid(86_400) as f64 / 3600.0;
            let daily = (std::f64::consts::TAU * (hour - 9.0) / 24.0).sin();
            let weekend = matches!(ts.div_euclid(86_400).rem_euclid(7), 2 | 3);
            let load = (1.0 + 0.45 * daily) * if weekend { 0.6 } else { 1.0 };
            10.0 * load * (1.0 + 0.025 * noise(i as u64))
        };
        let pts = series(30 * 288, 300, f);
        let h = derive(
            &pts,
            &DeriveOptions {
                direction: Direction::Lower,
                ..DeriveOptions::default()
            },
        )
        .unwrap();
        let p = h.profile.as_ref().unwrap();
        assert_eq!(p.seasonality, Seasonality::Weekly);
        for (c, s) in p.centre.iter().zip(&p.spread_lower) {
            assert!(*s < 0.1 * c, "spread {s} around {c}");
        }
        // The loosest lower bound of the week is still a rate the service can drop below: a
        // stop alarm at it can fire.
        assert!(h.abort.lower.unwrap() > 1.0, "{:?}", h.abort);
    }

    #[test]
    fn isolated_spikes_get_a_sustained_rule_that_catches_a_moderate_shift() {
        // Noise ±1 with a single spike to 30 every 311 minutes (rare enough that two in three
        // datapoints would not happen by chance): the one-datapoint band must reach 30, so a
        // lasting shift to 18 only shows through the sustained 2-of-3 rule.
        let pts = series(2880, 60, |i| {
            if i % 311 == 5 {
                30.0
            } else {
                10.0 + noise(i as u64)
            }
        });
        let h = derive(&pts, &DeriveOptions::default()).unwrap();
        assert_eq!(h.persistence.datapoints_to_alarm, 1);
        assert!(h.abort.upper.unwrap() >= 30.0);
        let s = h.sustained.expect("a sustained rule");
        assert_eq!((s.datapoints_to_alarm, s.evaluation_periods), (2, 3));
        assert!(s.k_upper.unwrap() < 0.8 * h.k_upper.unwrap());
        let t0 = pts.last().unwrap().ts + 60;
        let at = |i: i64, v: f64| Point {
            ts: t0 + i * 60,
            value: v,
        };
        // A fresh healthy stretch with its spikes holds; a shift to 18 breaks within 3 points.
        let healthy: Vec<Point> = (0..600)
            .map(|i| {
                at(
                    i,
                    if i % 311 == 5 {
                        30.0
                    } else {
                        10.0 + noise(i as u64 + 7)
                    },
                )
            })
            .collect();
        assert!(check_with_summary(&h, &healthy).1.held);
        let shifted: Vec<Point> = (0..10).map(|i| at(i, 18.0)).collect();
        let v = check(&h, &shifted);
        assert!(!v[0].breach && v[1].breach, "{v:?}");
        // The sustained rule survives the JSON round trip.
        let back: MetricHypothesis =
            serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back.sustained, h.sustained);
    }

    #[test]
    fn slo_clamps_and_persistence_steps_in() {
        // Normal operation up to ~110 with rare single spikes to 130; SLO at 120.
        let pts = series(2880, 60, |i| {
            if i % 50 == 3 {
                130.0
            } else {
                100.0 + 10.0 * noise(i as u64)
            }
        });
        let o = DeriveOptions {
            direction: Direction::Upper,
            slo_upper: Some(120.0),
            ..DeriveOptions::default()
        };
        let h = derive(&pts, &o).unwrap();
        assert_eq!(h.abort.upper, Some(120.0));
        assert!(
            h.persistence.datapoints_to_alarm > 1,
            "isolated spikes over the SLO need persistence"
        );
        assert!(h.backtest.unwrap().false_abort_rate <= 0.01);
    }

    #[test]
    fn yaml_and_json_round_trip() {
        let day = 1440;
        let pts = series(4 * day, 60, |i| {
            20.0 + 5.0 * (i as f64 / 229.0).sin() + noise(i as u64)
        });
        let o = DeriveOptions {
            exclude: vec![(pts[10].ts, pts[20].ts)],
            slo_upper: Some(90.0),
            ..DeriveOptions::default()
        };
        let h = derive(&pts, &o).unwrap();
        let yaml = yaml_serde::to_string(&h).unwrap();
        assert!(yaml.contains("state: ok"), "{yaml}");
        assert!(yaml.contains("start: 2023-11-14T22:13:20Z"), "{yaml}");
        // serde_json and yaml_serde (without `float_roundtrip`) may read a float back one ulp
        // off, so compare numbers with a tolerance.
        let same = |back: MetricHypothesis| {
            assert_eq!(back.status, h.status);
            assert_eq!(back.learned_from, h.learned_from);
            assert_eq!(back.persistence, h.persistence);
            for (a, b) in [
                (back.abort.upper, h.abort.upper),
                (back.abort.lower, h.abort.lower),
                (back.k_upper, h.k_upper),
                (back.k_lower, h.k_lower),
            ] {
                assert_relative_eq!(a.unwrap(), b.unwrap(), max_relative = 1e-12);
            }
            let (bp, hp) = (back.profile.unwrap(), h.profile.clone().unwrap());
            assert_eq!(bp.seasonality, hp.seasonality);
            for (a, b) in bp.centre.iter().zip(&hp.centre) {
                assert_relative_eq!(*a, *b, max_relative = 1e-12);
            }
        };
        same(yaml_serde::from_str(&yaml).unwrap());
        same(serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap());
        let degenerate = derive(&[], &o).unwrap();
        let yaml = yaml_serde::to_string(&degenerate).unwrap();
        assert!(yaml.contains("state: degenerate"), "{yaml}");
        assert_eq!(
            yaml_serde::from_str::<MetricHypothesis>(&yaml).unwrap(),
            degenerate
        );
    }

    #[test]
    fn long_gaps_are_tolerated() {
        let day = 1440;
        let mut pts = series(2 * day, 60, |i| 5.0 + noise(i as u64));
        let later = series(2 * day, 60, |i| 5.0 + noise(i as u64 + 99));
        pts.extend(later.into_iter().map(|p| Point {
            ts: p.ts + 7 * 86_400,
            ..p
        }));
        let h = derive(&pts, &DeriveOptions::default()).unwrap();
        assert_eq!(h.status, Status::Ok, "{:?}", h.warnings);
        assert_eq!(h.learned_from.level_shift_at, None);
        assert_eq!(h.backtest.as_ref().unwrap().windows, 192);
        let v = check(&h, &pts);
        assert!(v.iter().all(|v| !v.breach));
    }

    #[test]
    fn false_abort_rate_holds_on_fresh_data() {
        // Learn 10 days of 1-minute noise (480 windows: the conformal rank guarantees < 1 %),
        // then check 20 fresh days of the same process; the realised rate must be near 1 %.
        let (mut aborted, mut bins) = (0, 0);
        for m in 0..3u64 {
            let gauss = |i: i64| {
                (0..6)
                    .map(|k| noise(m << 40 | (i as u64) << 3 | k))
                    .sum::<f64>()
                    / 1.41
            };
            let learn = series(10 * 1440, 60, |i| 100.0 + 10.0 * gauss(i));
            let h = derive(&learn, &DeriveOptions::default()).unwrap();
            assert!(h.backtest.as_ref().unwrap().false_abort_bound <= 0.01);
            let fresh: Vec<Point> = (10 * 1440..30 * 1440)
                .map(|i| Point {
                    ts: 1_700_000_000 + i * 60,
                    value: 100.0 + 10.0 * gauss(i),
                })
                .collect();
            let e = crate::steady_state::evaluate(&check(&h, &fresh), &[], 1800);
            aborted += e.false_abort_bins;
            bins += e.outside_bins;
        }
        let rate = aborted as f64 / bins as f64;
        assert!(rate <= 0.02, "fresh-data false-abort rate {rate}");
    }

    fn arb_points() -> impl Strategy<Value = Vec<Point>> {
        let value = prop_oneof![
            4 => -1e6f64..1e6,
            1 => Just(0.0),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(7.0),
        ];
        proptest::collection::vec((0i64..200_000, value), 0..400).prop_map(|v| {
            v.into_iter()
                .map(|(ts, value)| Point { ts: ts * 30, value })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn derive_and_check_never_panic_or_nan(pts in arb_points(), dir in 0u8..3, slo in proptest::option::of(-10.0f64..10.0)) {
            let direction = [Direction::Upper, Direction::Lower, Direction::Both][dir as usize];
            let o = DeriveOptions { direction, slo_upper: slo.map(|s| s.abs() * 1e5), ..DeriveOptions::default() };
            let h = derive(&pts, &o).unwrap();
            for b in [h.abort, h.acceptable_range] {
                prop_assert!(b.lower.is_none_or(f64::is_finite) && b.upper.is_none_or(f64::is_finite));
                if let (Some(l), Some(u)) = (b.lower, b.upper) { prop_assert!(l <= u, "{l} > {u}"); }
            }
            match &h.status {
                Status::Ok => {
                    prop_assert!(h.profile.is_some());
                    prop_assert!(h.k_upper.is_none_or(|k| k.is_finite() && k >= K_FLOOR));
                    prop_assert!(h.k_lower.is_none_or(|k| k.is_finite() && k >= K_FLOOR));
                }
                Status::Degenerate { reason } => {
                    prop_assert!(!reason.is_empty());
                    prop_assert!(h.profile.is_none());
                }
            }
            let json = serde_json::to_string(&h).unwrap();
            let back: MetricHypothesis = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.status, h.status.clone());
            let verdicts = check(&h, &pts);
            prop_assert_eq!(verdicts.len(), pts.len());
            for v in verdicts {
                prop_assert!(v.lower.is_none_or(f64::is_finite) && v.upper.is_none_or(f64::is_finite));
                if let (Some(l), Some(u)) = (v.lower, v.upper) { prop_assert!(l <= u); }
                if !v.value.is_finite() { prop_assert!(!v.breach); }
            }
        }
    }
}
