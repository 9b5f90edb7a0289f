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

#[cfg(test)]
mod tests {
    use super::format_threshold;

    #[test]
    fn thresholds_drop_trailing_zeros_and_negative_zero() {
        assert_eq!(format_threshold(0.52244), "0.5224");
        assert_eq!(format_threshold(12.0), "12");
        assert_eq!(format_threshold(2.5), "2.5");
        assert_eq!(format_threshold(-0.00001), "0");
    }
}
