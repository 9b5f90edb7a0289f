//! CloudWatch `PutMetricAlarm` inputs for a hypothesis's static worst-case thresholds.
//!
//! Input: a [`MetricHypothesis`] and the metric's identity. Output: plain [`AlarmInputs`], one
//! per guarded side that has a threshold (a `both` hypothesis needs two alarms, because an alarm
//! has one static `Threshold`). Must not: call AWS; this is a pure mapping the provider turns
//! into an SDK request.
//!
//! Field rules follow `shared/reference/cloudwatch.md` §1: `AlarmName` 1–255 characters without
//! control characters; `Period` 10, 20, 30 or a multiple of 60; `Period × EvaluationPeriods ≤
//! 86 400 s` when `Period < 3600`; `1 ≤ DatapointsToAlarm ≤ EvaluationPeriods`.

use serde::{Deserialize, Serialize};

use crate::model::hypothesis::MetricHypothesis;

/// Longest alarm name CloudWatch accepts.
const MAX_ALARM_NAME: usize = 255;
/// Longest evaluation range for sub-hour periods.
const MAX_EVALUATION_SECS: i64 = 86_400;

/// Which CloudWatch metric a hypothesis is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricIdentity {
    /// Service under test, used in the alarm name.
    pub service: String,
    /// CloudWatch namespace, e.g. `AWS/EC2`.
    pub namespace: String,
    /// CloudWatch metric name, e.g. `CPUUtilization`.
    pub metric_name: String,
    /// Dimensions as `(name, value)`.
    pub dimensions: Vec<(String, String)>,
    /// Statistic the history was fetched with: `Average`, `Sum`, `Minimum`, `Maximum` or
    /// `SampleCount`.
    pub statistic: String,
}

/// Inputs of one `PutMetricAlarm` call (single-metric form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmInputs {
    /// `gameday-<service>-<metric>` sanitised, with `-upper`/`-lower` for two-sided hypotheses.
    pub alarm_name: String,
    /// Human-readable origin of the threshold.
    pub alarm_description: String,
    /// CloudWatch namespace.
    pub namespace: String,
    /// CloudWatch metric name.
    pub metric_name: String,
    /// Dimensions as `(name, value)`.
    pub dimensions: Vec<(String, String)>,
    /// Statistic.
    pub statistic: String,
    /// Seconds per datapoint.
    pub period: i64,
    /// M of "N out of M".
    pub evaluation_periods: usize,
    /// N of "N out of M".
    pub datapoints_to_alarm: usize,
    /// Static threshold.
    pub threshold: f64,
    /// `GreaterThanThreshold` or `LessThanThreshold` (strict, as the guard).
    pub comparison_operator: String,
    /// `notBreaching` for upper alarms (a silent error metric is healthy), `breaching` for lower
    /// alarms (a throughput metric that stops reporting is hurt).
    pub treat_missing_data: String,
}

/// Turns a hypothesis into `PutMetricAlarm` inputs, one per side with a static threshold.
/// A degenerate hypothesis without SLO bounds yields none.
pub fn alarm_inputs(h: &MetricHypothesis, id: &MetricIdentity) -> Vec<AlarmInputs> {
    let two_sided = h.abort.upper.is_some() && h.abort.lower.is_some();
    let period = cloudwatch_period(h.persistence.period_secs);
    let max_m = if period < 3600 {
        (MAX_EVALUATION_SECS / period).max(1) as usize
    } else {
        usize::MAX
    };
    let m = h.persistence.evaluation_periods.clamp(1, max_m);
    let n = h.persistence.datapoints_to_alarm.clamp(1, m);
    let base = alarm_name(&id.service, &h.metric);
    let mut out = Vec::new();
    for (threshold, suffix, op, missing) in [
        (
            h.abort.upper,
            "upper",
            "GreaterThanThreshold",
            "notBreaching",
        ),
        (h.abort.lower, "lower", "LessThanThreshold", "breaching"),
    ] {
        let Some(threshold) = threshold.filter(|t| t.is_finite()) else {
            continue;
        };
        let name = if two_sided {
            truncate(&format!("{base}-{suffix}"))
        } else {
            base.clone()
        };
        out.push(AlarmInputs {
            alarm_name: name,
            alarm_description: truncate_desc(&format!(
                "gameday steady-state {suffix} abort for {}: {n} of {m} datapoints {} {threshold}",
                h.metric,
                if suffix == "upper" { ">" } else { "<" }
            )),
            namespace: id.namespace.clone(),
            metric_name: id.metric_name.clone(),
            dimensions: id.dimensions.clone(),
            statistic: id.statistic.clone(),
            period,
            evaluation_periods: m,
            datapoints_to_alarm: n,
            threshold,
            comparison_operator: op.to_owned(),
            treat_missing_data: missing.to_owned(),
        });
    }
    out
}

/// Smallest valid CloudWatch period not shorter than `secs`: 10, 20, 30 or a multiple of 60.
pub fn cloudwatch_period(secs: i64) -> i64 {
    match secs {
        ..=10 => 10,
        11..=20 => 20,
        21..=30 => 30,
        s => (s + 59) / 60 * 60,
    }
}

/// `gameday-<service>-<metric>` keeping `[A-Za-z0-9._-]`, other runs become one `-`.
pub fn alarm_name(service: &str, metric: &str) -> String {
    let raw = format!("gameday-{service}-{metric}");
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let keep = c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if keep {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    truncate(out.trim_end_matches('-'))
}

fn truncate(s: &str) -> String {
    s.chars().take(MAX_ALARM_NAME).collect()
}

fn truncate_desc(s: &str) -> String {
    s.chars().take(1024).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steady_state::{DeriveOptions, Direction, Point, derive};

    fn identity() -> MetricIdentity {
        MetricIdentity {
            service: "checkout api".into(),
            namespace: "AWS/EC2".into(),
            metric_name: "CPUUtilization".into(),
            dimensions: vec![("InstanceId".into(), "i-1".into())],
            statistic: "Average".into(),
        }
    }

    #[test]
    fn names_periods_and_sides() {
        assert_eq!(
            alarm_name("checkout api", "p99/latency ms"),
            "gameday-checkout-api-p99-latency-ms"
        );
        assert_eq!(alarm_name(&"x".repeat(300), "m").len(), 255);
        assert_eq!(cloudwatch_period(5), 10);
        assert_eq!(cloudwatch_period(60), 60);
        assert_eq!(cloudwatch_period(61), 120);
        assert_eq!(cloudwatch_period(300), 300);

        let pts: Vec<Point> = (0..3000)
            .map(|i| Point {
                ts: i * 60,
                value: 50.0 + ((i * 7919) % 13) as f64,
            })
            .collect();
        let h = derive(
            &pts,
            &DeriveOptions {
                metric: "cpu".into(),
                ..DeriveOptions::default()
            },
        )
        .unwrap();
        let alarms = alarm_inputs(&h, &identity());
        assert_eq!(alarms.len(), 2);
        assert_eq!(alarms[0].alarm_name, "gameday-checkout-api-cpu-upper");
        assert_eq!(alarms[0].comparison_operator, "GreaterThanThreshold");
        assert_eq!(alarms[0].threshold, h.abort.upper.unwrap());
        assert_eq!(alarms[1].comparison_operator, "LessThanThreshold");
        assert_eq!(alarms[0].period, 60);
        assert!(alarms[0].datapoints_to_alarm <= alarms[0].evaluation_periods);

        let up = derive(
            &pts,
            &DeriveOptions {
                direction: Direction::Upper,
                ..DeriveOptions::default()
            },
        )
        .unwrap();
        let alarms = alarm_inputs(&up, &identity());
        assert_eq!(alarms.len(), 1);
        assert_eq!(alarms[0].alarm_name, "gameday-checkout-api-metric");
        assert_eq!(alarms[0].treat_missing_data, "notBreaching");
    }

    #[test]
    fn degenerate_without_slo_has_no_alarm() {
        let pts: Vec<Point> = (0..100)
            .map(|i| Point {
                ts: i * 60,
                value: 0.0,
            })
            .collect();
        let h = derive(&pts, &DeriveOptions::default()).unwrap();
        assert!(alarm_inputs(&h, &identity()).is_empty());
        let with_slo = derive(
            &pts,
            &DeriveOptions {
                slo_upper: Some(5.0),
                ..DeriveOptions::default()
            },
        )
        .unwrap();
        let alarms = alarm_inputs(&with_slo, &identity());
        assert_eq!(alarms.len(), 1);
        assert_eq!(alarms[0].threshold, 5.0);
    }
}
