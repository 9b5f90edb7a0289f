//! Number formatting shared by every stage that shows a number to people (the plan's brief and
//! alarm descriptions, the run's progress lines, preflight and verdicts), so one value reads the
//! same everywhere.
//!
//! Input: numbers. Output: text. Must not: depend on locale or the clock.

/// A threshold for people: up to 4 decimals, trailing zeros dropped (`0.5224`, `12`).
pub(crate) fn format_threshold(v: f64) -> String {
    let text = format!("{v:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A measurement with few significant digits: `0.81`, `12.4`, `350` (a threshold keeps its
/// 4 decimals, a measured value is read at a glance).
pub(crate) fn format_measure(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let a = v.abs();
    let s = if a == 0.0 {
        "0".to_owned()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    };
    // `-0.00` reads as a sign error.
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::{format_measure, format_threshold};

    #[test]
    fn measures_keep_few_significant_digits() {
        assert_eq!(format_measure(2960.5319), "2961");
        assert_eq!(format_measure(377.8329), "378");
        assert_eq!(format_measure(12.44), "12.4");
        assert_eq!(format_measure(0.8123), "0.81");
        assert_eq!(format_measure(-0.0001), "-0.0001");
        assert_eq!(format_measure(-0.001), "-0.0010");
        assert_eq!(format_measure(f64::NAN), "n/a");
    }

    #[test]
    fn thresholds_drop_trailing_zeros_and_negative_zero() {
        assert_eq!(format_threshold(0.52244), "0.5224");
        assert_eq!(format_threshold(12.0), "12");
        assert_eq!(format_threshold(2.5), "2.5");
        assert_eq!(format_threshold(-0.00001), "0");
    }
}
