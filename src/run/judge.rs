//! Judging a stage: did the hypothesis hold, how far did each metric move, how fast did it
//! come back.
//!
//! Input: the guard metrics, the baseline window, the samples of the fault and recovery
//! phases, and what happened to the experiment. Output: a [`StageVerdict`]. Must not: perform
//! I/O or read the clock.
//!
//! Whether the hypothesis held is the run guard's judge's answer: a metric breaks it when the
//! judge called a fault datapoint a breach, and its worst value is the one furthest past the
//! band the judge held it to at that datapoint (the band journaled with each sample), not past
//! the scenario's fixed bounds.
//!
//! The comparison of fault window and baseline follows the canary judges (Netflix/Google
//! Kayenta): a two-sided Mann-Whitney U test gated by an effect size, so a statistically
//! significant but negligible shift is not called a degradation.

use std::collections::BTreeMap;

use super::guard::GuardMetric;
use crate::model::record::{
    Abort, GuardSample, MetricJudgement, Outcome, Phase, Series, StageVerdict,
};
use crate::steady_state::stats::{mad_sigma, mann_whitney, median};

/// Significance level for "the metric moved". Strict, because a stage yields a few dozen
/// autocorrelated points, which makes the test anti-conservative.
const ALPHA: f64 = 0.01;

/// Minimum common-language effect size (Vargha-Delaney A) in the bad direction for a
/// significant shift to count as a degradation: 0.71 is their threshold for a "large" effect.
const MIN_PROBABILITY_OF_WORSE: f64 = 0.71;

/// What the judge is told about one stage.
#[derive(Debug, Clone, Copy)]
pub struct StageFacts<'a> {
    /// The guarded metrics.
    pub metrics: &'a [GuardMetric],
    /// Baseline series per metric.
    pub baseline: &'a BTreeMap<String, Series>,
    /// All guard samples of the stage.
    pub samples: &'a [GuardSample],
    /// When the fault ended (epoch seconds), if it ran.
    pub fault_end: Option<i64>,
    /// Whether recovery was observed (not when the run was interrupted).
    pub recovery_observed: bool,
    /// Why the stage was aborted, if it was.
    pub abort: Option<&'a Abort>,
    /// The experiment's final status, if one was started.
    pub final_status: Option<&'a str>,
    /// Why the experiment could not be started, if it could not.
    pub start_error: Option<&'a str>,
    /// The recovery target, seconds.
    pub recovery_target_secs: u64,
}

/// Judges one stage.
pub fn judge(f: &StageFacts<'_>) -> StageVerdict {
    let mut reasons = Vec::new();
    let mut metrics = Vec::new();
    for m in f.metrics {
        metrics.push(judge_metric(m, f));
    }
    let hypothesis_held = metrics.iter().all(|j| j.held);
    let recovery_secs = if f.recovery_observed && f.fault_end.is_some() {
        metrics
            .iter()
            .map(|j| j.recovery_secs)
            .try_fold(0, |acc: u64, r| r.map(|r| acc.max(r)))
    } else {
        None
    };

    for j in &metrics {
        if !j.held {
            let bound = match (j.worst, j.upper, j.lower) {
                (Some(w), Some(u), _) if w > u => format!("> {}", measure(u)),
                (Some(w), _, Some(l)) if w < l => format!("< {}", measure(l)),
                (_, u, l) => format!(
                    "inside {}",
                    super::execute::bounds_text(l, u)
                        .replace(">=", "≥")
                        .replace("<=", "≤")
                ),
            };
            let rule = f
                .samples
                .iter()
                .find(|s| s.metric == j.metric && s.phase == Phase::Fault && s.breach)
                .and_then(|s| s.reason.as_deref())
                .map(|r| format!("; the first breach: {r}"))
                .unwrap_or_default();
            reasons.push(format!(
                "{} breached its bound: worst {} {bound}, measured against the judge's band at \
                 that datapoint ({} of {} datapoints breach by its rule{rule})",
                j.metric,
                j.worst.map_or_else(|| "?".to_owned(), measure),
                j.breaches,
                j.fault_points
            ));
        } else if j.degraded {
            reasons.push(format!(
                "{} stayed within bounds but moved significantly (median {} → {}, p = {})",
                j.metric,
                j.baseline_median.map_or_else(|| "?".to_owned(), fmt),
                j.fault_median.map_or_else(|| "?".to_owned(), fmt),
                j.p_value
                    .map_or_else(|| "?".to_owned(), |p| format!("{p:.2e}"))
            ));
        }
        if j.fault_points == 0 && f.fault_end.is_some() {
            reasons.push(format!(
                "{} had no datapoints during the fault: the guard was blind",
                j.metric
            ));
        }
    }
    if let Some(a) = f.abort {
        reasons.push(format!("aborted ({:?}): {}", a.reason, a.detail).to_lowercase());
    }
    if let Some(e) = f.start_error {
        reasons.push(format!("the experiment could not be started: {e}"));
    }
    let experiment_failed = matches!(f.final_status, Some("failed" | "cancelled"));
    if experiment_failed && f.abort.is_none() {
        reasons.push(format!(
            "the experiment ended {}, so the fault may not have been injected",
            f.final_status.unwrap_or_default()
        ));
    }
    let slow = match recovery_secs {
        Some(r) if r > f.recovery_target_secs => {
            reasons.push(format!(
                "recovery took {r} s, target {} s",
                f.recovery_target_secs
            ));
            true
        }
        None if f.recovery_observed && f.fault_end.is_some() => {
            reasons.push(
                "the metrics did not return inside their bounds within the recovery cap".to_owned(),
            );
            true
        }
        _ => false,
    };
    let blind = f.fault_end.is_some() && metrics.iter().any(|j| j.fault_points == 0);

    let outcome = if f.abort.is_some() {
        Outcome::Aborted
    } else if !hypothesis_held || slow || experiment_failed || blind || f.start_error.is_some() {
        Outcome::Failed
    } else {
        Outcome::Passed
    };
    if outcome == Outcome::Passed {
        reasons.push("every metric stayed within its bounds and recovered in time".to_owned());
    }
    StageVerdict {
        outcome,
        hypothesis_held: hypothesis_held
            && f.abort.is_none_or(|a| {
                a.reason != crate::shutdown::AbortReason::Guard
                    && a.reason != crate::shutdown::AbortReason::StopCondition
            }),
        metrics,
        recovery_secs,
        recovery_target_secs: f.recovery_target_secs,
        reasons,
    }
}

fn judge_metric(m: &GuardMetric, f: &StageFacts<'_>) -> MetricJudgement {
    let mine = |phase: Phase| {
        f.samples
            .iter()
            .filter(move |s| s.metric == m.name && s.phase == phase)
    };
    let fault: Vec<f64> = mine(Phase::Fault).map(|s| s.value).collect();
    let breaches = mine(Phase::Fault).filter(|s| s.breach).count();
    // Worst against the band in force at each datapoint, as the judge drew it.
    let worst_sample = mine(Phase::Fault).max_by(|a, b| excess(m, a).total_cmp(&excess(m, b)));
    let worst = worst_sample.map(|s| s.value);
    let (lower, upper) = worst_sample.map_or((m.lower, m.upper), |s| band(m, s));
    let base: Vec<f64> = f
        .baseline
        .get(&m.name)
        .map(|s| s.iter().map(|(_, v)| *v).collect())
        .unwrap_or_default();
    let baseline_median = median(&base);
    let fault_median = median(&fault);
    let test = mann_whitney(&fault, &base);
    // Probability that a fault value is worse than a baseline value.
    let prob_worse = test.map(|t| match (m.upper.is_some(), m.lower.is_some()) {
        (true, false) => t.prob_superiority,
        (false, true) => 1.0 - t.prob_superiority,
        _ => 0.5 + (t.prob_superiority - 0.5).abs(),
    });
    let effect_size = match (baseline_median, fault_median) {
        (Some(b), Some(fm)) => mad_sigma(&base, b).filter(|s| *s > 0.0).map(|s| {
            let shift = (fm - b) / s;
            if m.upper.is_none() && m.lower.is_some() {
                -shift
            } else {
                shift
            }
        }),
        _ => None,
    };
    let degraded = test.is_some_and(|t| t.p_value < ALPHA)
        && prob_worse.is_some_and(|p| p >= MIN_PROBABILITY_OF_WORSE);

    let recovery_secs = f.fault_end.and_then(|end| {
        let mut after: Vec<&GuardSample> = f
            .samples
            .iter()
            .filter(|s| s.metric == m.name && (s.ts >= end || s.phase == Phase::Recovery))
            .collect();
        after.sort_by_key(|s| s.ts);
        let last_bad_fault = mine(Phase::Fault).filter(|s| s.breach).map(|s| s.ts).max();
        match after.iter().rposition(|s| s.breach) {
            // Never out of bounds after the fault: recovered at once, unless the fault ended
            // while breaching and nothing has been seen since.
            None if after.is_empty() && last_bad_fault.is_some() => None,
            None => Some(0),
            Some(i) => after
                .get(i + 1)
                .map(|s| u64::try_from(s.ts - end).unwrap_or(0)),
        }
    });

    MetricJudgement {
        metric: m.name.clone(),
        lower,
        upper,
        worst,
        fault_points: fault.len(),
        breaches,
        baseline_median,
        fault_median,
        p_value: test.map(|t| t.p_value),
        effect_size,
        degraded,
        held: breaches == 0,
        recovery_secs,
    }
}

/// The band a sample was judged against: the judge's, as journaled with it; the metric's
/// fixed bounds for a sample that carries none (journals written before the guard recorded
/// its band).
fn band(m: &GuardMetric, s: &GuardSample) -> (Option<f64>, Option<f64>) {
    if s.lower.is_none() && s.upper.is_none() {
        (m.lower, m.upper)
    } else {
        (s.lower, s.upper)
    }
}

/// How far a sample is past the band it was judged against, in the bad direction (positive =
/// beyond it).
fn excess(m: &GuardMetric, s: &GuardSample) -> f64 {
    let (lower, upper) = band(m, s);
    let over = upper.map_or(f64::NEG_INFINITY, |u| s.value - u);
    let under = lower.map_or(f64::NEG_INFINITY, |l| l - s.value);
    over.max(under)
}

fn fmt(v: f64) -> String {
    crate::model::format::format_threshold(v)
}

/// A measured value or a learned band's edge, read at a glance (`2961 > 378`, `0.9 > 0.5`).
fn measure(v: f64) -> String {
    let s = crate::model::format::format_measure(v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown::AbortReason;

    fn metric() -> GuardMetric {
        GuardMetric {
            name: "error_rate".into(),
            queries: vec![],
            lower: None,
            upper: Some(1.0),
            period: std::time::Duration::from_secs(10),
            additive: false,
            judge: crate::steady_state::MetricHypothesis::fixed_bounds(
                "error_rate",
                crate::steady_state::Direction::Upper,
                crate::steady_state::Bounds {
                    lower: None,
                    upper: Some(1.0),
                },
                10,
            ),
        }
    }

    fn sample(ts: i64, value: f64, phase: Phase) -> GuardSample {
        GuardSample {
            scenario: "s".into(),
            stage: "st".into(),
            metric: "error_rate".into(),
            ts,
            value,
            lower: None,
            upper: Some(1.0),
            breach: value > 1.0,
            phase,
            reason: None,
            rule: None,
            period_secs: None,
        }
    }

    fn baseline() -> BTreeMap<String, Series> {
        BTreeMap::from([(
            "error_rate".to_owned(),
            (0..30)
                .map(|i| (i * 10, 0.2 + 0.01 * (i % 5) as f64))
                .collect(),
        )])
    }

    fn facts<'a>(
        m: &'a [GuardMetric],
        b: &'a BTreeMap<String, Series>,
        s: &'a [GuardSample],
    ) -> StageFacts<'a> {
        StageFacts {
            metrics: m,
            baseline: b,
            samples: s,
            fault_end: Some(1000),
            recovery_observed: true,
            abort: None,
            final_status: Some("completed"),
            start_error: None,
            recovery_target_secs: 120,
        }
    }

    #[test]
    fn a_quiet_stage_passes_with_zero_recovery() {
        let m = [metric()];
        let b = baseline();
        let s: Vec<_> = (0..20)
            .map(|i| sample(800 + i * 10, 0.2 + 0.01 * (i % 5) as f64, Phase::Fault))
            .collect();
        let v = judge(&facts(&m, &b, &s));
        assert_eq!(v.outcome, Outcome::Passed, "{:?}", v.reasons);
        assert!(v.hypothesis_held);
        assert_eq!(v.recovery_secs, Some(0));
        assert!(!v.metrics[0].degraded);
    }

    #[test]
    fn a_significant_shift_within_bounds_is_degraded_but_passes() {
        let m = [metric()];
        let b = baseline();
        let s: Vec<_> = (0..20)
            .map(|i| sample(800 + i * 10, 0.8, Phase::Fault))
            .collect();
        let v = judge(&facts(&m, &b, &s));
        assert_eq!(v.outcome, Outcome::Passed);
        let j = &v.metrics[0];
        assert!(j.degraded, "{j:?}");
        assert!(j.p_value.is_some_and(|p| p < ALPHA));
        assert!(j.effect_size.is_some_and(|e| e > 0.0));
        assert!(v.reasons[0].contains("moved significantly"));
    }

    #[test]
    fn a_breach_fails_the_hypothesis_and_recovery_is_measured_from_fault_end() {
        let m = [metric()];
        let b = baseline();
        let mut s: Vec<_> = (0..10)
            .map(|i| sample(900 + i * 10, 0.3, Phase::Fault))
            .collect();
        s.push(sample(995, 3.0, Phase::Fault));
        s.push(sample(1010, 2.0, Phase::Recovery));
        s.push(sample(1060, 0.4, Phase::Recovery));
        s.push(sample(1070, 0.3, Phase::Recovery));
        let v = judge(&facts(&m, &b, &s));
        assert_eq!(v.outcome, Outcome::Failed);
        assert!(!v.hypothesis_held);
        assert_eq!(v.metrics[0].worst, Some(3.0));
        assert_eq!(v.metrics[0].breaches, 1);
        assert_eq!(v.recovery_secs, Some(60));
        assert!(v.reasons[0].contains("worst 3 > 1"), "{:?}", v.reasons);
    }

    #[test]
    fn slow_or_missing_recovery_fails() {
        let m = [metric()];
        let b = baseline();
        let s = vec![
            sample(990, 0.3, Phase::Fault),
            sample(995, 0.3, Phase::Fault),
            sample(1010, 2.0, Phase::Recovery),
            sample(1300, 0.3, Phase::Recovery),
        ];
        let v = judge(&facts(&m, &b, &s));
        assert_eq!(v.recovery_secs, Some(300));
        assert_eq!(v.outcome, Outcome::Failed);
        let never = vec![
            sample(990, 0.3, Phase::Fault),
            sample(1010, 2.0, Phase::Recovery),
        ];
        let v = judge(&facts(&m, &b, &never));
        assert_eq!(v.recovery_secs, None);
        assert!(v.reasons.iter().any(|r| r.contains("recovery cap")));
    }

    #[test]
    fn an_abort_wins_and_no_data_is_blind() {
        let m = [metric()];
        let b = baseline();
        let abort = Abort {
            scenario: "s".into(),
            stage: "st".into(),
            reason: AbortReason::Guard,
            detail: "error_rate 3 > 1".into(),
        };
        let s = vec![sample(995, 3.0, Phase::Fault)];
        let mut f = facts(&m, &b, &s);
        f.abort = Some(&abort);
        let v = judge(&f);
        assert_eq!(v.outcome, Outcome::Aborted);
        assert!(!v.hypothesis_held);
        let v = judge(&facts(&m, &b, &[]));
        assert_eq!(v.outcome, Outcome::Failed);
        assert!(v.reasons.iter().any(|r| r.contains("blind")));
    }

    #[test]
    fn the_worst_value_is_measured_against_the_band_in_force() {
        let m = [metric()];
        let b = baseline();
        // A seasonal judge: its band sat at 0.5 early in the fault and at 1.2 later.
        let at = |ts, value, upper, breach| GuardSample {
            upper: Some(upper),
            breach,
            reason: Some(if breach {
                "above the band: breach".to_owned()
            } else {
                "inside the band: holds".to_owned()
            }),
            ..sample(ts, value, Phase::Fault)
        };
        let s = vec![
            at(900, 0.3, 0.5, false),
            at(910, 0.9, 0.5, true),
            at(920, 0.95, 1.2, false),
            at(930, 0.3, 1.2, false),
        ];
        let v = judge(&facts(&m, &b, &s));
        let j = &v.metrics[0];
        // 0.95 is the larger value and nearer the scenario's fixed 1.0, but 0.9 went furthest
        // past the band the judge held it to.
        assert_eq!((j.worst, j.upper, j.lower), (Some(0.9), Some(0.5), None));
        assert_eq!(j.breaches, 1);
        assert!(!j.held);
        assert!(v.reasons[0].contains("worst 0.9 > 0.5"), "{:?}", v.reasons);
        assert!(
            v.reasons[0].contains("the first breach: above the band: breach"),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn samples_without_a_band_are_measured_against_the_fixed_bounds() {
        let m = [metric()];
        let b = baseline();
        // As journals written before the guard recorded its band.
        let bare = |ts, value| GuardSample {
            upper: None,
            ..sample(ts, value, Phase::Fault)
        };
        let s = vec![bare(900, 0.3), bare(910, 1.5), bare(920, 0.4)];
        let v = judge(&facts(&m, &b, &s));
        let j = &v.metrics[0];
        assert_eq!((j.worst, j.upper), (Some(1.5), Some(1.0)));
        assert!(v.reasons[0].contains("worst 1.5 > 1"), "{:?}", v.reasons);
    }

    #[test]
    fn the_verdict_reads_measured_values_at_a_glance() {
        // A learned band's edge is a fitted number: its four decimals say nothing to a reader.
        assert_eq!(measure(2960.5319), "2961");
        assert_eq!(measure(377.8329), "378");
        assert_eq!(measure(0.9), "0.9");
        assert_eq!(measure(1.0), "1");
        assert_eq!(measure(0.0042), "0.0042");
    }

    #[test]
    fn a_sustained_breach_inside_the_main_band_says_so() {
        let m = [metric()];
        let b = baseline();
        let s: Vec<_> = [(900, 0.8, false), (910, 0.85, true)]
            .into_iter()
            .map(|(ts, value, breach)| GuardSample {
                lower: Some(0.0),
                upper: Some(1.0),
                breach,
                ..sample(ts, value, Phase::Fault)
            })
            .collect();
        let v = judge(&facts(&m, &b, &s));
        assert!(
            v.reasons[0].contains("worst 0.85 inside 0 .. 1"),
            "{:?}",
            v.reasons
        );
    }
}
