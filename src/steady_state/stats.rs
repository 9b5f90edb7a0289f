//! Pure robust statistics used to derive steady-state hypotheses.
//!
//! Input: slices of finite `f64` (callers filter NaN/inf first; functions that get a non-finite
//! value return `None`). Output: numbers or `None` for degenerate input (empty, too short, no
//! spread). Must not: panic, return NaN, allocate more than a copy of its input, or know anything
//! about time series, hypotheses or I/O.
//!
//! References: Rousseeuw & Croux, "Alternatives to the median absolute deviation", JASA 1993
//! (MAD and its normal consistency constant); Hyndman & Fan, "Sample quantiles in statistical
//! packages", Am. Stat. 1996 (quantile type 7); Vovk, Gammerman & Shafer, "Algorithmic Learning
//! in a Random World", 2005, and Angelopoulos & Bates, "A gentle introduction to conformal
//! prediction", 2021 (rank-based split-conformal quantile and its coverage bound).

use statrs::distribution::{ContinuousCDF, Normal};

/// Normal consistency constant of the MAD: `1 / Φ⁻¹(0.75)`, so that `MAD × 1.4826 ≈ σ` for
/// normal data (Rousseeuw & Croux 1993). Checked against statrs in the tests.
pub const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;

/// Tail probabilities tried, in order, when estimating a one-sided spread: the quartile first
/// (most robust), then wider quantiles for quantised or mostly-constant series whose quartile
/// equals the median (e.g. CPU reported in steps of 0.002, error counts that are mostly zero).
const SIDE_QUANTILES: [f64; 3] = [0.75, 0.90, 0.975];

/// Which tail of a distribution a one-sided statistic looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Values above the centre.
    Upper,
    /// Values below the centre.
    Lower,
}

fn all_finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

/// Median of `values` (mean of the two middle values for even length).
///
/// Formula: the order statistic `x((n+1)/2)`, or `(x(n/2) + x(n/2+1)) / 2`. Runs in O(n) with a
/// selection on a copy. Returns `None` when `values` is empty or holds a non-finite value.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || !all_finite(values) {
        return None;
    }
    let mut v = values.to_vec();
    Some(median_in_place(&mut v))
}

/// Median of a non-empty slice of finite values, reordering it. Callers guarantee both.
pub(crate) fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (_, upper_mid, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let upper_mid = *upper_mid;
    if n % 2 == 1 {
        upper_mid
    } else {
        let lower_mid = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower_mid + upper_mid) / 2.0
    }
}

/// Quantile `p ∈ [0, 1]` of an ascending slice, Hyndman–Fan type 7 (linear interpolation
/// between `x(⌊h⌋)` and `x(⌈h⌉)` with `h = (n − 1)p`, the default of R and NumPy).
///
/// Returns `None` for an empty slice, `p` outside `[0, 1]` or a non-finite value.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    let (a, b) = (sorted[lo], sorted[hi]);
    if !a.is_finite() || !b.is_finite() {
        return None;
    }
    Some(a + (h - lo as f64) * (b - a))
}

/// Normal-consistent MAD around `centre`: `1.4826 × median(|xᵢ − centre|)`.
///
/// Assumes roughly symmetric noise; 50 % breakdown point. Returns `None` for empty input or a
/// non-finite value; `Some(0.0)` when more than half the values equal `centre`.
pub fn mad_sigma(values: &[f64], centre: f64) -> Option<f64> {
    if !centre.is_finite() {
        return None;
    }
    let mut dev: Vec<f64> = values.iter().map(|x| (x - centre).abs()).collect();
    if dev.is_empty() || !all_finite(&dev) {
        return None;
    }
    Some(MAD_TO_SIGMA * median_in_place(&mut dev))
}

/// Quantile `p ∈ [0, 1]` (type 7, as [`quantile_sorted`]) of values in any order, by selection
/// in O(n); reorders `values`. Returns `None` for empty input, `p` outside `[0, 1]` or a
/// non-finite value.
pub fn quantile_select(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() || !(0.0..=1.0).contains(&p) || !all_finite(values) {
        return None;
    }
    Some(quantile_select_finite(values, p))
}

/// [`quantile_select`] without checks: `values` non-empty and finite, `p ∈ [0, 1]`.
fn quantile_select_finite(values: &mut [f64], p: f64) -> f64 {
    let h = (values.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let (_, a, rest) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    let frac = h - lo as f64;
    if frac == 0.0 {
        return a;
    }
    let b = rest.iter().copied().fold(f64::INFINITY, f64::min);
    a + frac * (b - a)
}

/// One-sided robust spread of residuals around zero, in σ units of a normal distribution.
///
/// For the upper side: the first `p` in 0.75, 0.90, 0.975 whose quantile `q(p)` of the residuals
/// is positive gives `σ = q(p) / Φ⁻¹(p)`. The lower side mirrors this with `−q(1 − p)`. If all
/// three quantiles sit at zero, the half-normal mean of the strictly positive (negative)
/// residuals gives `σ = mean · √(π/2)`. Separate sides let skewed metrics (latency, counts) have a
/// long upper tail without widening the lower bound.
///
/// Input in any order (quantiles by selection, O(n)). Returns `None` when no residual lies on
/// that side or a residual is not finite.
pub fn side_sigma(residuals: &[f64], side: Side) -> Option<f64> {
    if residuals.is_empty() || !all_finite(residuals) {
        return None;
    }
    side_sigma_in_place(&mut residuals.to_vec(), side)
}

/// [`side_sigma`] of both sides with one scratch copy, for hot loops. `work` holds the residuals
/// (reordered on return); callers guarantee they are finite.
pub(crate) fn side_sigmas_in_place(work: &mut [f64]) -> (Option<f64>, Option<f64>) {
    (
        side_sigma_in_place(work, Side::Upper),
        side_sigma_in_place(work, Side::Lower),
    )
}

fn side_sigma_in_place(work: &mut [f64], side: Side) -> Option<f64> {
    if work.is_empty() {
        return None;
    }
    let standard = Normal::standard();
    for p in SIDE_QUANTILES {
        let q = match side {
            Side::Upper => quantile_select_finite(work, p),
            Side::Lower => -quantile_select_finite(work, 1.0 - p),
        };
        if q > 0.0 {
            return Some(q / standard.inverse_cdf(p));
        }
    }
    let (sum, count) = work
        .iter()
        .map(|r| match side {
            Side::Upper => *r,
            Side::Lower => -*r,
        })
        .filter(|d| *d > 0.0)
        .fold((0.0, 0usize), |(s, c), d| (s + d, c + 1));
    (count > 0).then(|| sum / count as f64 * (std::f64::consts::PI / 2.0).sqrt())
}

/// The `(rank + 1)`-th largest finite value (`rank = 0` is the maximum).
///
/// Returns `None` when there are not `rank + 1` values or one is non-finite.
pub fn nth_largest(values: &[f64], rank: usize) -> Option<f64> {
    if rank >= values.len() || !all_finite(values) {
        return None;
    }
    let mut v = values.to_vec();
    let idx = v.len() - 1 - rank;
    let (_, x, _) = v.select_nth_unstable_by(idx, f64::total_cmp);
    Some(*x)
}

/// A rank-based (split-conformal) threshold choice over `n` exchangeable window scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConformalRank {
    /// How many learning windows may lie above the threshold (0 = threshold at the maximum).
    pub rank: usize,
    /// Guaranteed upper bound on the probability that a new exchangeable window scores above
    /// the threshold: `(rank + 1) / (n + 1)`.
    pub bound: f64,
}

/// Largest `rank` with `(rank + 1) / (n + 1) ≤ alpha`: taking the `(rank + 1)`-th largest of `n`
/// window scores as threshold, a new window exceeds it with probability at most
/// `(rank + 1) / (n + 1)` if windows are exchangeable (conformal prediction). With too few
/// windows (`n + 1 < 1/alpha`) no rank meets `alpha`; the maximum is used (`rank = 0`) and the
/// returned `bound = 1 / (n + 1)` is larger than `alpha`, which callers must report.
///
/// Returns `None` for `n = 0` or `alpha` outside `(0, 1)`.
pub fn conformal_rank(n: usize, alpha: f64) -> Option<ConformalRank> {
    if n == 0 || !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let allowed = (alpha * (n as f64 + 1.0)).floor() as usize;
    let rank = allowed.saturating_sub(1).min(n - 1);
    Some(ConformalRank {
        rank,
        bound: (rank as f64 + 1.0) / (n as f64 + 1.0),
    })
}

/// Persistence-filtered scores for an "N of M datapoints" rule.
///
/// `scores[i]` is the anomaly score of datapoint `i`; `missing_before[i]` the number of expected
/// datapoints missing just before it (a gap). Missing datapoints count as not breaching, as
/// CloudWatch's `notBreaching` does. The result at `i` is the `n_of`-th largest score among the
/// last `m` datapoint slots ending at `i`, or `−∞` when fewer than `n_of` real datapoints are in
/// them. So for any threshold `k`, "at least N of the last M slots score above k" holds exactly
/// when `result[i] > k`, and the smallest threshold that keeps a set of points quiet is the
/// maximum of `result` over them.
///
/// Returns an empty vector if the slices differ in length, `n_of == 0` or `n_of > m`.
pub fn persistence_scores(
    scores: &[f64],
    missing_before: &[usize],
    n_of: usize,
    m: usize,
) -> Vec<f64> {
    if scores.len() != missing_before.len() || n_of == 0 || n_of > m {
        return Vec::new();
    }
    if m == 1 {
        // 1 of 1: every datapoint stands alone; gaps cannot matter.
        return scores.to_vec();
    }
    let mut slots: std::collections::VecDeque<f64> = std::collections::VecDeque::with_capacity(m);
    let mut scratch: Vec<f64> = Vec::with_capacity(m);
    let mut out = Vec::with_capacity(scores.len());
    for (&s, &gap) in scores.iter().zip(missing_before) {
        for _ in 0..gap.min(m) {
            if slots.len() == m {
                slots.pop_front();
            }
            slots.push_back(f64::NEG_INFINITY);
        }
        if slots.len() == m {
            slots.pop_front();
        }
        slots.push_back(s);
        scratch.clear();
        scratch.extend(slots.iter().copied());
        scratch.sort_unstable_by(|a, b| b.total_cmp(a));
        out.push(scratch.get(n_of - 1).copied().unwrap_or(f64::NEG_INFINITY));
    }
    out
}

/// The most significant single shift in level of a sequence of block medians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelShift {
    /// Index of the first block after the shift.
    pub index: usize,
    /// `median(after) − median(before)`.
    pub delta: f64,
    /// `|delta|` divided by the pooled within-segment MAD σ of the block medians.
    pub z: f64,
}

/// Finds the split of `blocks` (e.g. hourly medians) that minimises the total absolute
/// deviation of each block from its own segment's median (the L1 single-changepoint estimate),
/// and scores it with the robust two-sample statistic `|median(after) − median(before)| /
/// σ_within`, where `σ_within` is the MAD σ of those deviations pooled over both segments. Both
/// segments must hold at least `min_side` blocks. Seasonality inflates `σ_within` rather than
/// `delta`, so daily cycles do not look like shifts. Robust analogue of a single-changepoint
/// CUSUM test (Page 1954); the caller decides the significance cut-off.
///
/// Returns `None` with fewer than `2 × min_side` blocks, `min_side == 0` or non-finite input.
pub fn level_shift(blocks: &[f64], min_side: usize) -> Option<LevelShift> {
    if min_side == 0 || blocks.len() < 2 * min_side || !all_finite(blocks) {
        return None;
    }
    let mut best: Option<(LevelShift, f64)> = None;
    let mut buf = Vec::with_capacity(blocks.len());
    let mut consider = |k: usize, best: &mut Option<(LevelShift, f64)>| -> Option<()> {
        let (before, after) = blocks.split_at(k);
        let mb = median(before)?;
        let ma = median(after)?;
        buf.clear();
        buf.extend(before.iter().map(|x| (x - mb).abs()));
        buf.extend(after.iter().map(|x| (x - ma).abs()));
        let cost: f64 = buf.iter().sum();
        let within = MAD_TO_SIGMA * median_in_place(&mut buf);
        let delta = ma - mb;
        let z = if within > 0.0 {
            delta.abs() / within
        } else if delta == 0.0 {
            0.0
        } else {
            f64::MAX
        };
        if best.is_none_or(|(_, c)| cost < c) {
            *best = Some((LevelShift { index: k, delta, z }, cost));
        }
        Some(())
    };
    // Coarse pass over about 100 candidate splits, then every split around the best one: keeps
    // the cost near O(n · 100) instead of O(n²) for a month of hourly blocks.
    let (lo, hi) = (min_side, blocks.len() - min_side);
    let stride = ((hi - lo) / 100).max(1);
    for k in (lo..=hi).step_by(stride) {
        consider(k, &mut best)?;
    }
    if stride > 1
        && let Some((b, _)) = best
    {
        for k in b.index.saturating_sub(stride).max(lo)..=(b.index + stride).min(hi) {
            consider(k, &mut best)?;
        }
    }
    best.map(|(b, _)| b)
}

/// Result of a two-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U statistic of the first sample (`R₁ − n₁(n₁+1)/2`).
    pub u: f64,
    /// Two-sided p-value (normal approximation with tie and continuity correction).
    pub p_value: f64,
    /// Common-language effect size `U / (n₁ n₂)`: the probability that a value of the first
    /// sample exceeds one of the second (ties count half). 0.5 means no shift.
    pub prob_superiority: f64,
}

/// Two-sided Mann-Whitney U test of `a` against `b` (Wilcoxon rank-sum).
///
/// Formula: rank the pooled samples (mid-ranks for ties), `U = R_a − n_a(n_a+1)/2`,
/// `μ = n_a n_b / 2`, `σ² = n_a n_b / 12 · ((n+1) − Σ(t³−t) / (n(n−1)))`,
/// `z = (|U − μ| − 0.5) / σ`, `p = 2(1 − Φ(z))`. Assumptions: independent observations; the
/// normal approximation is fair for `n_a, n_b ≥ 8` (Mann & Whitney 1947; Hollander & Wolfe,
/// "Nonparametric Statistical Methods", 1999, §4.1). Returns `None` when either sample has fewer
/// than 2 values, a value is non-finite, or every value is tied (σ = 0).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (na, nb) = (a.len(), b.len());
    if na < 2 || nb < 2 || !all_finite(a) || !all_finite(b) {
        return None;
    }
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        // Positions i..j (0-based) share the mid-rank of ranks i+1..=j.
        let mid_rank = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        rank_sum_a += mid_rank * pooled[i..j].iter().filter(|(_, in_a)| *in_a).count() as f64;
        i = j;
    }
    let (na_f, nb_f, n_f) = (na as f64, nb as f64, n as f64);
    let u = rank_sum_a - na_f * (na_f + 1.0) / 2.0;
    let mu = na_f * nb_f / 2.0;
    let var = na_f * nb_f / 12.0 * ((n_f + 1.0) - tie_term / (n_f * (n_f - 1.0)));
    if var <= 0.0 {
        return None;
    }
    let z = ((u - mu).abs() - 0.5).max(0.0) / var.sqrt();
    let normal = Normal::new(0.0, 1.0).ok()?;
    let p_value = (2.0 * (1.0 - normal.cdf(z))).clamp(0.0, 1.0);
    Some(MannWhitney {
        u,
        p_value,
        prob_superiority: u / (na_f * nb_f),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    #[test]
    fn mad_constant_matches_statrs() {
        let z75 = Normal::standard().inverse_cdf(0.75);
        assert_relative_eq!(MAD_TO_SIGMA, 1.0 / z75, epsilon = 1e-12);
    }

    #[test]
    fn median_odd_even_and_degenerate() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn quantile_type7_by_hand() {
        // n = 5, p = 0.3: h = 1.2 -> x(1) + 0.2 (x(2) - x(1)) = 2 + 0.2 * 2 = 2.4 (0-based).
        let s = [1.0, 2.0, 4.0, 8.0, 16.0];
        assert_relative_eq!(quantile_sorted(&s, 0.3).unwrap(), 2.4);
        assert_relative_eq!(quantile_sorted(&s, 1.0).unwrap(), 16.0);
        assert_eq!(quantile_sorted(&s, 1.5), None);
    }

    #[test]
    fn mad_by_hand() {
        // |x - 3| = 2,1,0,1,6 -> median 1 -> 1.4826.
        let v = [1.0, 2.0, 3.0, 4.0, 9.0];
        assert_relative_eq!(mad_sigma(&v, 3.0).unwrap(), MAD_TO_SIGMA, epsilon = 1e-12);
    }

    #[test]
    fn side_sigma_by_hand() {
        // residuals -4..=4 step 1 (n = 9): q(0.75) = 2 -> σ = 2 / 0.6745 = 2.9652.
        let r: Vec<f64> = (-4..=4).map(f64::from).collect();
        assert_relative_eq!(
            side_sigma(&r, Side::Upper).unwrap(),
            2.0 / 0.674_489_750_196_081_7,
            epsilon = 1e-9
        );
        assert_relative_eq!(
            side_sigma(&r, Side::Lower).unwrap(),
            2.0 / 0.674_489_750_196_081_7,
            epsilon = 1e-9
        );
        // 49 zeros and one 10: q(0.975) has h = 47.775, between two zeros, so every quantile
        // is 0 and the half-normal fallback gives 10 · √(π/2).
        let mut z = vec![0.0; 49];
        z.push(10.0);
        assert_relative_eq!(
            side_sigma(&z, Side::Upper).unwrap(),
            10.0 * (std::f64::consts::PI / 2.0).sqrt(),
            epsilon = 1e-9
        );
        assert_eq!(side_sigma(&z, Side::Lower), None);
    }

    #[test]
    fn conformal_rank_by_hand() {
        // n = 100, alpha = 0.01: floor(1.01) = 1 -> rank 0, bound 1/101.
        let c = conformal_rank(100, 0.01).unwrap();
        assert_eq!(c.rank, 0);
        assert_relative_eq!(c.bound, 1.0 / 101.0);
        // n = 1439, alpha = 0.01: floor(14.4) = 14 -> rank 13, bound 14/1440.
        let c = conformal_rank(1439, 0.01).unwrap();
        assert_eq!(c.rank, 13);
        assert_relative_eq!(c.bound, 14.0 / 1440.0);
        // Too few windows: bound exceeds alpha.
        let c = conformal_rank(10, 0.01).unwrap();
        assert_eq!(c.rank, 0);
        assert!(c.bound > 0.01);
        assert_eq!(conformal_rank(0, 0.01), None);
    }

    #[test]
    fn persistence_two_of_three_by_hand() {
        let s = [5.0, 1.0, 4.0, 0.0, 0.0, 3.0];
        let gaps = [0, 0, 0, 0, 2, 0];
        let p = persistence_scores(&s, &gaps, 2, 3);
        // windows: [5] [5,1] [5,1,4] [1,4,0] [0,-inf,-inf]->[−inf,−inf,0] [−inf,0,3]
        assert_eq!(p[0], f64::NEG_INFINITY);
        assert_eq!(p[1], 1.0);
        assert_eq!(p[2], 4.0);
        assert_eq!(p[3], 1.0);
        assert_eq!(p[4], f64::NEG_INFINITY);
        assert_eq!(p[5], 0.0);
    }

    #[test]
    fn level_shift_found_and_absent() {
        let mut b = vec![10.0, 11.0, 9.0, 10.5, 9.5, 10.0];
        b.extend([20.0, 21.0, 19.0, 20.5, 19.5, 20.0]);
        let s = level_shift(&b, 3).unwrap();
        assert_eq!(s.index, 6);
        assert_relative_eq!(s.delta, 10.0);
        let flat = [10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 10.2, 9.8];
        assert!(level_shift(&flat, 3).unwrap().z < 3.0);
        assert_eq!(level_shift(&flat, 5), None);
    }

    proptest! {
        #[test]
        fn robust_stats_never_nan(v in proptest::collection::vec(-1e9f64..1e9, 0..60), p in 0.0f64..=1.0) {
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            if let Some(m) = median(&v) { prop_assert!(m.is_finite()); }
            if let Some(q) = quantile_sorted(&s, p) {
                prop_assert!(q >= s[0] && q <= s[s.len() - 1]);
            }
            for side in [Side::Upper, Side::Lower] {
                if let Some(x) = side_sigma(&v, side) { prop_assert!(x.is_finite() && x > 0.0); }
            }
            let mut w = v.clone();
            prop_assert_eq!(quantile_select(&mut w, p), quantile_sorted(&s, p));
            if let Some(m) = median(&v) {
                let d = mad_sigma(&v, m).unwrap();
                prop_assert!(d.is_finite() && d >= 0.0);
            }
        }
    }
    #[test]
    fn mann_whitney_matches_hand_computed_values() {
        // a = 1..=8, b = 9..=16: complete separation. U_a = 0, μ = 32,
        // σ² = 64/12 · 17 = 90.667, z = (32 − 0.5)/9.522 = 3.308, p = 2(1 − Φ(3.308)) = 0.00094.
        let a: Vec<f64> = (1..=8).map(f64::from).collect();
        let b: Vec<f64> = (9..=16).map(f64::from).collect();
        let r = mann_whitney(&a, &b).expect("defined");
        assert_relative_eq!(r.u, 0.0);
        assert_relative_eq!(r.prob_superiority, 0.0);
        assert_relative_eq!(r.p_value, 0.000_940, epsilon = 2e-5);
        // Swapped: U = 64, same p.
        let r2 = mann_whitney(&b, &a).expect("defined");
        assert_relative_eq!(r2.u, 64.0);
        assert_relative_eq!(r2.p_value, r.p_value, epsilon = 1e-12);
    }

    #[test]
    fn mann_whitney_handles_ties_and_degenerate_input() {
        // Identical samples: U = μ, p = 1.
        let a = [1.0, 2.0, 2.0, 3.0];
        let r = mann_whitney(&a, &a).expect("defined");
        assert_relative_eq!(r.u, 8.0);
        assert_relative_eq!(r.p_value, 1.0);
        assert!(mann_whitney(&[1.0], &a).is_none());
        assert!(mann_whitney(&[5.0, 5.0], &[5.0, 5.0, 5.0]).is_none());
        assert!(mann_whitney(&[1.0, f64::NAN], &a).is_none());
    }

    proptest! {
        #[test]
        fn mann_whitney_p_is_a_probability_and_u_is_bounded(
            a in proptest::collection::vec(-1e3f64..1e3, 2..40),
            b in proptest::collection::vec(-1e3f64..1e3, 2..40),
        ) {
            if let Some(r) = mann_whitney(&a, &b) {
                prop_assert!((0.0..=1.0).contains(&r.p_value));
                prop_assert!(r.u >= 0.0 && r.u <= (a.len() * b.len()) as f64);
                let back = mann_whitney(&b, &a).expect("symmetric");
                prop_assert!((r.u + back.u - (a.len() * b.len()) as f64).abs() < 1e-6);
            }
        }
    }
}
