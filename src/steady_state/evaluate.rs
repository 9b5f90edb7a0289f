//! Scoring check-mode verdicts against labelled anomaly windows.
//!
//! Input: verdicts (from [`crate::steady_state::check`]) and labelled windows `[start, end)`.
//! Output: an [`Evaluation`] with the false-abort rate and the windows caught.
//! Must not: re-judge datapoints; it only counts the guard's own `breach` flags, which already
//! have persistence applied.
//!
//! Definitions:
//! - *bin*: an epoch-aligned interval `[k·bin, (k+1)·bin)` (30 minutes by default) holding at
//!   least one verdict;
//! - *outside bin*: a bin that overlaps no labelled window;
//! - *false abort*: an outside bin holding at least one verdict with `breach = true`;
//!   the false-abort rate is false aborts / outside bins;
//! - *caught window*: a labelled window holding at least one verdict with `breach = true`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::guard::Verdict;

/// How a hypothesis did on a labelled series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Bins with verdicts that overlap no labelled window.
    pub outside_bins: usize,
    /// Outside bins with a breach.
    pub false_abort_bins: usize,
    /// `false_abort_bins / outside_bins` (0 when there are none).
    pub false_abort_rate: f64,
    /// Labelled windows.
    pub windows: usize,
    /// Labelled windows with a breach inside.
    pub windows_caught: usize,
    /// Per labelled window, whether it was caught.
    pub caught: Vec<bool>,
}

/// Scores verdicts against labelled windows, with bins of `bin_secs` (must be positive; a
/// non-positive value is treated as 1 s).
pub fn evaluate(verdicts: &[Verdict], labelled: &[(i64, i64)], bin_secs: i64) -> Evaluation {
    let bin_secs = bin_secs.max(1);
    let mut bins: BTreeMap<i64, bool> = BTreeMap::new();
    for v in verdicts {
        *bins
            .entry(v.timestamp.div_euclid(bin_secs))
            .or_insert(false) |= v.breach;
    }
    let overlaps = |bin: i64| {
        let (s, e) = (
            bin.saturating_mul(bin_secs),
            bin.saturating_add(1).saturating_mul(bin_secs),
        );
        labelled.iter().any(|&(a, b)| a < e && b > s)
    };
    let outside: Vec<bool> = bins
        .iter()
        .filter(|(b, _)| !overlaps(**b))
        .map(|(_, x)| *x)
        .collect();
    let false_abort_bins = outside.iter().filter(|x| **x).count();
    let caught: Vec<bool> = labelled
        .iter()
        .map(|&(a, b)| {
            verdicts
                .iter()
                .any(|v| v.breach && v.timestamp >= a && v.timestamp < b)
        })
        .collect();
    Evaluation {
        outside_bins: outside.len(),
        false_abort_bins,
        false_abort_rate: if outside.is_empty() {
            0.0
        } else {
            false_abort_bins as f64 / outside.len() as f64
        },
        windows: labelled.len(),
        windows_caught: caught.iter().filter(|c| **c).count(),
        caught,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steady_state::series::parse_ts;
    use crate::steady_state::{DeriveOptions, Direction, check, derive, parse_csv};

    #[test]
    fn evaluate_counts_bins_and_windows() {
        let v = |t: i64, breach: bool| Verdict {
            timestamp: t,
            value: 0.0,
            lower: None,
            upper: None,
            breach,
        };
        let verdicts = [
            v(0, false),
            v(100, true),
            v(1800, false),
            v(3600, true),
            v(5400, false),
            v(7300, true),
        ];
        let e = evaluate(&verdicts, &[(3000, 4000), (5400, 6000)], 1800);
        // bins 0 (breach), 1 (overlaps window 1), 2 (overlaps both), 3 (outside? 5400..7200 overlaps w2), 4 (breach)
        assert_eq!(e.outside_bins, 2);
        assert_eq!(e.false_abort_bins, 2);
        assert_eq!(e.caught, vec![true, false]);
        assert_eq!(e.windows_caught, 1);
    }

    /// NAB targets: learn on the first 15 % of each series (direction both, defaults), check the
    /// rest. Asserts ≤ 1 % false-abort bins per series outside the labelled windows and all 6
    /// labelled windows caught.
    #[test]
    fn nab_cloudwatch_targets() {
        let dir = crate::testdata::data_dir().join("metrics");
        let labels: BTreeMap<String, Vec<(String, String)>> = serde_json::from_str(
            &std::fs::read_to_string(dir.join("anomaly_windows.json")).unwrap(),
        )
        .unwrap();
        let mut caught_total = 0;
        let mut windows_total = 0;
        for (file, windows) in &labels {
            let points = parse_csv(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
            let cut = points[points.len() * 15 / 100].ts;
            let opts = DeriveOptions {
                metric: file.clone(),
                direction: Direction::Both,
                learn_until: Some(cut),
                ..DeriveOptions::default()
            };
            let h = derive(&points, &opts).unwrap();
            let rest: Vec<_> = points.iter().copied().filter(|p| p.ts >= cut).collect();
            let verdicts = check(&h, &rest);
            let labelled: Vec<(i64, i64)> = windows
                .iter()
                .map(|(a, b)| (parse_ts(a).unwrap(), parse_ts(b).unwrap()))
                .collect();
            let e = evaluate(&verdicts, &labelled, 1800);
            println!(
                "{file}: false aborts {}/{} bins = {:.2} %, windows caught {}/{} {:?}; {:?} k=({:?},{:?}) {}/{} abort=({:?},{:?})",
                e.false_abort_bins,
                e.outside_bins,
                100.0 * e.false_abort_rate,
                e.windows_caught,
                e.windows,
                e.caught,
                h.profile.as_ref().map(|p| p.seasonality),
                h.k_lower,
                h.k_upper,
                h.persistence.datapoints_to_alarm,
                h.persistence.evaluation_periods,
                h.abort.lower,
                h.abort.upper,
            );
            assert!(
                e.false_abort_rate <= 0.01,
                "{file}: false-abort rate {:.4}",
                e.false_abort_rate
            );
            caught_total += e.windows_caught;
            windows_total += e.windows;
        }
        println!("windows caught: {caught_total}/{windows_total}");
        assert_eq!(windows_total, 6);
        assert_eq!(caught_total, 6, "caught {caught_total} of {windows_total}");
    }
}
