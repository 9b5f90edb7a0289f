//! Number, duration and time formatting for reports: every number a report prints is formatted
//! here, in Rust, so templates only place strings.
//!
//! Input: values. Output: strings. Must not: read the clock or depend on the locale.

use chrono::{DateTime, Utc};

/// A measurement with few significant digits: `0.81`, `12.4`, `350`.
pub(crate) fn num(v: f64) -> String {
    crate::model::format::format_measure(v)
}

/// A p-value: `< 0.001` or three decimals.
pub(crate) fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".to_owned()
    } else {
        format!("{p:.3}")
    }
}

/// A signed effect size in baseline spreads: `+3.2`.
pub(crate) fn effect(e: f64) -> String {
    format!("{e:+.1}")
}

/// A duration in seconds for people: `45 s`, `2 min 30 s`, `1 h 5 min`.
pub(crate) fn secs(total: u64) -> String {
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// A signed duration in seconds for people (negative durations happen with clock skew).
pub(crate) fn signed_secs(total: i64) -> String {
    if total < 0 {
        format!("-{}", secs(total.unsigned_abs()))
    } else {
        secs(total.unsigned_abs())
    }
}

/// A UTC timestamp: `2026-11-24 10:01:05Z`.
pub(crate) fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// A UTC time of day: `10:01:05`.
pub(crate) fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

/// Time since the run started: `T+00:12:05` (or `T-00:05:00` before it).
pub(crate) fn since(t: DateTime<Utc>, start: DateTime<Utc>) -> String {
    let d = (t - start).num_seconds();
    let sign = if d < 0 { '-' } else { '+' };
    let a = d.unsigned_abs();
    format!("T{sign}{:02}:{:02}:{:02}", a / 3600, a % 3600 / 60, a % 60)
}

/// Epoch seconds as a UTC time (the epoch itself for out-of-range values).
pub(crate) fn epoch(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap_or_default()
}

/// The bound a metric must stay within, as text: `≤ 1.00`, `≥ 0.95`, `0.95 – 1.00`.
pub(crate) fn bound(lower: Option<f64>, upper: Option<f64>) -> String {
    match (lower, upper) {
        (Some(l), Some(u)) => format!("{} – {}", num(l), num(u)),
        (None, Some(u)) => format!("≤ {}", num(u)),
        (Some(l), None) => format!("≥ {}", num(l)),
        (None, None) => "no bound".to_owned(),
    }
}

/// Text made safe for one markdown table cell: no line breaks, pipes escaped.
pub(crate) fn cell(s: &str) -> String {
    s.replace(['\r', '\n'], " ").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_few_significant_digits() {
        assert_eq!(num(0.8134), "0.81");
        assert_eq!(num(12.44), "12.4");
        assert_eq!(num(350.4), "350");
        assert_eq!(num(0.0012), "0.0012");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.0001), "-0.0001");
        assert_eq!(num(-0.00001), "0.0000");
        assert_eq!(num(f64::NAN), "n/a");
    }

    #[test]
    fn durations_and_offsets() {
        assert_eq!(secs(45), "45 s");
        assert_eq!(secs(150), "2 min 30 s");
        assert_eq!(secs(600), "10 min");
        assert_eq!(secs(3900), "1 h 5 min");
        let start = epoch(1_000);
        assert_eq!(since(epoch(1_725), start), "T+00:12:05");
        assert_eq!(since(epoch(700), start), "T-00:05:00");
        assert_eq!(bound(None, Some(1.0)), "≤ 1.00");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
