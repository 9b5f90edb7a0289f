//! The one validator of a hypothesis read from a file, used by every reader (`plan`,
//! `steady-state check`, `run`'s scenario hypotheses go through the scenario validator).
//!
//! Input: a deserialised [`MetricHypothesis`]. Output: the problems found, each naming the
//! dotted key at fault (`persistence.period_secs`, `abort.lower`) so the caller can point at
//! `file:line:column`. Must not: read files or locate keys (the caller knows the text), and must
//! not accept a hypothesis whose numbers would make CloudWatch, FIS or the guard do something
//! other than what the file says (an inverted or non-finite bound, a negative `k`, a period
//! CloudWatch has not, `N > M`).

use crate::model::hypothesis::{Bounds, MetricHypothesis};

/// One thing wrong with a hypothesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HypothesisProblem {
    /// Dotted key inside the hypothesis, e.g. `persistence.period_secs`.
    pub key: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

/// Whether `secs` is a period CloudWatch alarms and GetMetricData accept: 10, 20, 30 or a
/// positive multiple of 60 (`shared/reference/cloudwatch.md` §1).
pub fn is_cloudwatch_period(secs: i64) -> bool {
    matches!(secs, 10 | 20 | 30) || (secs >= 60 && secs % 60 == 0)
}

/// Every structural problem of a hypothesis: non-finite or inverted bounds, a negative or
/// non-finite `k`, a period that is not a CloudWatch period, persistence with `N > M`, a
/// profile whose buckets do not match its seasonality. Empty when the hypothesis is usable.
pub fn validate_hypothesis(h: &MetricHypothesis) -> Vec<HypothesisProblem> {
    let mut out = Vec::new();
    let mut problem = |key: &str, message: String| {
        out.push(HypothesisProblem {
            key: key.to_owned(),
            message,
        });
    };
    let p = &h.persistence;
    if !is_cloudwatch_period(p.period_secs) {
        problem(
            "persistence.period_secs",
            format!(
                "{} is not a CloudWatch period: use 10, 20, 30 or a multiple of 60 seconds",
                p.period_secs
            ),
        );
    }
    if p.evaluation_periods == 0 {
        problem(
            "persistence.evaluation_periods",
            "must be at least 1".to_owned(),
        );
    }
    if p.datapoints_to_alarm == 0 || p.datapoints_to_alarm > p.evaluation_periods {
        problem(
            "persistence.datapoints_to_alarm",
            format!(
                "{} is out of range: need 1 <= datapoints_to_alarm <= evaluation_periods ({})",
                p.datapoints_to_alarm, p.evaluation_periods
            ),
        );
    }
    for (key, k) in [("k_upper", h.k_upper), ("k_lower", h.k_lower)] {
        if let Some(k) = k
            && !(k.is_finite() && k >= 0.0)
        {
            problem(
                key,
                format!("{k} is out of range: expected a finite number >= 0"),
            );
        }
    }
    if let Some(b) = h.baseline
        && !b.is_finite()
    {
        problem("baseline", format!("{b} is not a finite number"));
    }
    for (key, bounds) in [
        ("abort", &h.abort),
        ("slo", &h.slo),
        ("acceptable_range", &h.acceptable_range),
    ] {
        bounds_problems(key, bounds, &mut problem);
    }
    if let Some(secs) = h.rebaseline_after_secs
        && secs <= 0
    {
        problem(
            "rebaseline_after_secs",
            format!("{secs} is out of range: expected a positive number of seconds, or null"),
        );
    }
    if let Some(profile) = &h.profile {
        let want = profile.seasonality.buckets();
        for (key, values, spread) in [
            ("profile.centre", &profile.centre, false),
            ("profile.spread_upper", &profile.spread_upper, true),
            ("profile.spread_lower", &profile.spread_lower, true),
        ] {
            if values.len() != want {
                problem(
                    key,
                    format!(
                        "{} values for a {:?} profile, which has {want} buckets",
                        values.len(),
                        profile.seasonality
                    ),
                );
            }
            if let Some((i, v)) = values
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || (spread && **v < 0.0))
            {
                problem(
                    &format!("{key}[{i}]"),
                    format!("{v} is out of range: expected a finite number{}", {
                        if spread { " >= 0" } else { "" }
                    }),
                );
            }
        }
        if !(profile.residual_sigma.is_finite() && profile.residual_sigma >= 0.0) {
            problem(
                "profile.residual_sigma",
                format!(
                    "{} is out of range: expected a finite number >= 0",
                    profile.residual_sigma
                ),
            );
        }
    }
    out
}

fn bounds_problems(key: &str, b: &Bounds, problem: &mut impl FnMut(&str, String)) {
    for (side, v) in [("lower", b.lower), ("upper", b.upper)] {
        if let Some(v) = v
            && !v.is_finite()
        {
            problem(
                &format!("{key}.{side}"),
                format!("{v} is not a finite number (leave the key out for no bound)"),
            );
        }
    }
    if let (Some(l), Some(u)) = (b.lower, b.upper)
        && l.is_finite()
        && u.is_finite()
        && l > u
    {
        problem(
            &format!("{key}.lower"),
            format!("the bounds are inverted: lower {l} is above upper {u}"),
        );
    }
}

/// The problem of a hypothesis that can never breach (no guarded side has a learned rule or an
/// SLO bound): judging with it would always pass, which is never what a file means.
pub fn breach_problem(h: &MetricHypothesis) -> Option<HypothesisProblem> {
    let learned = h.profile.is_some();
    let upper =
        h.direction.has_upper() && ((learned && h.k_upper.is_some()) || h.slo.upper.is_some());
    let lower =
        h.direction.has_lower() && ((learned && h.k_lower.is_some()) || h.slo.lower.is_some());
    if upper || lower {
        return None;
    }
    let why = match &h.status {
        crate::model::hypothesis::Status::Degenerate { reason } => {
            format!(" (it is degenerate: {reason})")
        }
        crate::model::hypothesis::Status::Ok => String::new(),
    };
    Some(HypothesisProblem {
        key: if learned { "k_upper" } else { "status" }.to_owned(),
        message: format!(
            "this hypothesis can never breach: no guarded side has a threshold (k with a \
             profile, or an slo bound){why}, so every series would pass; derive it again from \
             more history or set slo.upper/slo.lower"
        ),
    })
}

/// Checks hypotheses read from `path` with the one hypothesis validator; `prefix` is the dotted
/// key holding each one (`metrics[0]` in a hypotheses file, empty for a single hypothesis).
/// With `must_breach`, a hypothesis that can never breach is an error too.
///
/// # Errors
/// [`crate::input::InputError::Invalid`] at the first problem's key, with the count of further ones.
pub fn check_hypotheses<'a>(
    path: &std::path::Path,
    text: &str,
    hypotheses: impl IntoIterator<Item = (String, &'a super::MetricHypothesis)>,
    must_breach: bool,
) -> Result<(), crate::input::InputError> {
    use super::{breach_problem, validate_hypothesis};
    let mut problems = Vec::new();
    for (prefix, h) in hypotheses {
        let mut found = validate_hypothesis(h);
        if must_breach && found.is_empty() {
            found.extend(breach_problem(h));
        }
        let at = |key: &str| {
            if prefix.is_empty() {
                key.to_owned()
            } else {
                format!("{prefix}.{key}")
            }
        };
        problems.extend(found.into_iter().map(|p| (at(&p.key), p.message)));
    }
    let more = problems.len().saturating_sub(1);
    match problems.into_iter().next() {
        None => Ok(()),
        Some((key, message)) => {
            let mut message = format!("invalid hypothesis: {message}");
            if more > 0 {
                message.push_str(&format!(" (and {more} more problem(s))"));
            }
            Err(crate::input::invalid_at(path, text, &key, &message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steady_state::{DeriveOptions, Point, derive};

    fn learned() -> MetricHypothesis {
        let points: Vec<Point> = (0..2_000)
            .map(|i| Point {
                ts: 1_700_000_000 + i * 300,
                value: 100.0 + f64::from(u32::try_from(i % 7).expect("small")),
            })
            .collect();
        derive(&points, &DeriveOptions::default()).expect("derives")
    }

    fn keys(h: &MetricHypothesis) -> Vec<String> {
        validate_hypothesis(h).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn a_derived_hypothesis_is_valid_and_can_breach() {
        let h = learned();
        assert_eq!(validate_hypothesis(&h), Vec::new());
        assert_eq!(breach_problem(&h), None);
    }

    #[test]
    fn issue_13_hostile_numbers_are_each_named_by_their_key() {
        let mut h = learned();
        h.abort = Bounds {
            lower: Some(10.0),
            upper: Some(0.1),
        };
        h.k_upper = Some(-1.0);
        h.k_lower = Some(f64::NAN);
        h.persistence.period_secs = 7;
        h.persistence.datapoints_to_alarm = h.persistence.evaluation_periods + 1;
        h.slo.upper = Some(f64::INFINITY);
        h.rebaseline_after_secs = Some(0);
        assert_eq!(
            keys(&h),
            [
                "persistence.period_secs",
                "persistence.datapoints_to_alarm",
                "k_upper",
                "k_lower",
                "abort.lower",
                "slo.upper",
                "rebaseline_after_secs",
            ]
        );
    }

    #[test]
    fn issue_13_periods_follow_cloudwatch() {
        for ok in [10, 20, 30, 60, 300, 3600, 86_400] {
            assert!(is_cloudwatch_period(ok), "{ok}");
        }
        for bad in [-60, 0, 1, 5, 7, 15, 45, 90, 61] {
            assert!(!is_cloudwatch_period(bad), "{bad}");
        }
    }

    #[test]
    fn issue_13_a_profile_must_match_its_seasonality() {
        let mut h = learned();
        let p = h.profile.as_mut().expect("learned");
        p.centre.pop();
        p.spread_upper[0] = -1.0;
        assert_eq!(
            keys(&h),
            ["profile.centre", "profile.spread_upper[0]"],
            "{:?}",
            validate_hypothesis(&h)
        );
    }

    #[test]
    fn issue_13_a_hypothesis_without_thresholds_cannot_pass() {
        let mut h = learned();
        h.k_upper = None;
        h.k_lower = None;
        h.slo = Bounds::default();
        assert!(breach_problem(&h).is_some());
        h.slo.lower = Some(1.0);
        h.direction = crate::steady_state::Direction::Upper;
        assert!(
            breach_problem(&h).is_some(),
            "the slo is on an unguarded side"
        );
        h.slo.upper = Some(1.0);
        assert_eq!(breach_problem(&h), None);
        h.profile = None;
        assert_eq!(breach_problem(&h), None, "an SLO alone can breach");
    }
}
