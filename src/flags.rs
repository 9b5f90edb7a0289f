//! Value parsers of the command-line flags: every duration and number flag has a documented
//! range, checked by clap while the arguments are parsed (exit 2, before any work or API call).
//!
//! Input: the text of one flag value. Output: the typed value, or a message naming the value
//! and the accepted range (clap adds the flag's name). Must not: read the config or call AWS.
//! Flags that take these parsers also set `allow_hyphen_values`, so a negative value reaches
//! the parser (and gets a range message) instead of being taken for an unknown flag.

use std::time::Duration;

/// Seconds in a day.
const DAY: u64 = 86_400;

/// Longest `--lookback`: CloudWatch keeps hourly datapoints for 455 days (15 months).
pub const MAX_LOOKBACK: Duration = Duration::from_secs(455 * DAY);
/// Longest `mine --since`: ten years of logs.
pub const MAX_SINCE: Duration = Duration::from_secs(3650 * DAY);
/// Most Logs Insights time slices one `mine` may start with (`--since` / `--slice`); each is
/// at least one query, so this bounds the work before it starts.
pub const MAX_SLICES: u64 = 10_000;
/// Longest run id: it is a tag value and a directory name.
pub const MAX_RUN_ID_LEN: usize = 128;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A duration written the way the flags take it (`100ms`, `30s`, `15m`, `12h`, `455d`).
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_nanos() != 0 || s == 0 && !d.is_zero() {
        format!("{}ms", d.as_millis())
    } else if s == 0 {
        "0s".to_owned()
    } else if s.is_multiple_of(DAY) {
        format!("{}d", s / DAY)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Parses a duration and checks it lies in `min..=max`.
///
/// # Errors
/// A message naming the value and the range: for a negative value, text that is not a duration,
/// or a duration outside the range.
pub fn duration_in(text: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let t = text.trim();
    let range = format!("expected {} to {}", human(min), human(max));
    if t.starts_with('-') {
        return Err(format!("`{t}` is negative; {range}"));
    }
    let d = crate::config::parse_duration(t)
        .map_err(|m| format!("{}; {range}", crate::input::cut(&m)))?;
    if d < min || d > max {
        return Err(format!("`{t}` is out of range: {range}"));
    }
    Ok(d)
}

/// Parses an integer and checks it lies in `min..=max`.
///
/// # Errors
/// A message naming the value and the range.
pub fn integer_in(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let t = text.trim();
    let range = format!("expected a whole number from {min} to {max}");
    if t.starts_with('-') {
        return Err(format!("`{}` is negative; {range}", crate::input::cut(t)));
    }
    let n: u64 = t
        .parse()
        .map_err(|_| format!("`{}` is not a whole number; {range}", crate::input::cut(t)))?;
    if !(min..=max).contains(&n) {
        return Err(format!("`{t}` is out of range: {range}"));
    }
    Ok(n)
}

/// `run --guard-interval`: 1 s to 10 min.
///
/// # Errors
/// Out of range or not a duration.
pub fn guard_interval(text: &str) -> Result<Duration, String> {
    duration_in(text, secs(1), secs(600))
}

/// `run --guard-period`: a GetMetricData period (1, 5, 10, 20, 30 s or a multiple of 60 s) up
/// to 1 hour; sub-minute periods need high-resolution metrics.
///
/// # Errors
/// Not such a period.
pub fn guard_period(text: &str) -> Result<Duration, String> {
    let d = duration_in(text, secs(1), secs(3600))?;
    let s = d.as_secs();
    if d.subsec_nanos() != 0 || !(matches!(s, 1 | 5 | 10 | 20 | 30) || s % 60 == 0) {
        return Err(format!(
            "`{}` is not a CloudWatch period: use 1s, 5s, 10s, 20s, 30s or a multiple of 60s \
             (up to 1h)",
            text.trim()
        ));
    }
    Ok(d)
}

/// `run --poll-interval`: 100 ms to 5 min.
///
/// # Errors
/// Out of range or not a duration.
pub fn poll_interval(text: &str) -> Result<Duration, String> {
    duration_in(text, Duration::from_millis(100), secs(300))
}

/// `run`/`recover --stop-timeout`: 1 s to 1 hour.
///
/// # Errors
/// Out of range or not a duration.
pub fn stop_timeout(text: &str) -> Result<Duration, String> {
    duration_in(text, secs(1), secs(3600))
}

/// `run --recovery-cap`: 0 s (no recovery observation) to 6 hours.
///
/// # Errors
/// Out of range or not a duration.
pub fn recovery_cap(text: &str) -> Result<Duration, String> {
    duration_in(text, secs(0), secs(6 * 3600))
}

/// `run --baseline` and `--hypothesis-window`: 1 min to 1 day.
///
/// # Errors
/// Out of range or not a duration.
pub fn metric_window(text: &str) -> Result<Duration, String> {
    duration_in(text, secs(60), secs(DAY))
}

/// `run --insufficient-data-tolerance`: 0 s to 1 day.
///
/// # Errors
/// Out of range or not a duration.
pub fn insufficient_data_tolerance(text: &str) -> Result<Duration, String> {
    duration_in(text, secs(0), secs(DAY))
}

/// `run --stage-timeout`: 1 min to 12 hours (the longest FIS experiment action).
///
/// # Errors
/// Out of range or not a duration.
pub fn stage_timeout(text: &str) -> Result<Duration, String> {
    duration_in(text, secs(60), secs(12 * 3600))
}

/// `steady-state derive --lookback`: 1 hour to 455 days (CloudWatch's retention).
///
/// # Errors
/// Out of range or not a duration.
pub fn lookback(text: &str) -> Result<String, String> {
    duration_in(text, secs(3600), MAX_LOOKBACK).map(|_| text.trim().to_owned())
}

/// `mine --since`: 1 min to 3650 days.
///
/// # Errors
/// Out of range or not a duration.
pub fn since(text: &str) -> Result<String, String> {
    duration_in(text, secs(60), MAX_SINCE).map(|_| text.trim().to_owned())
}

/// `mine --slice`: 1 min to 366 days (see also [`check_slices`]).
///
/// # Errors
/// Out of range or not a duration.
pub fn slice(text: &str) -> Result<String, String> {
    duration_in(text, secs(60), secs(366 * DAY)).map(|_| text.trim().to_owned())
}

/// Checks that `since` cut into `slice`-long pieces gives at most [`MAX_SLICES`] slices.
///
/// # Errors
/// A message naming both flags, the count and the limit.
pub fn check_slices(since: Duration, slice: Duration) -> Result<(), String> {
    let slice_secs = slice.as_secs().max(1);
    let n = since.as_secs().div_ceil(slice_secs);
    if n > MAX_SLICES {
        return Err(format!(
            "--since {} in --slice {} pieces is {n} Logs Insights slices; at most {MAX_SLICES}: \
             use a longer --slice or a shorter --since",
            human(since),
            human(slice)
        ));
    }
    Ok(())
}

/// `plan --top`: 1 to 20 fault classes per service.
///
/// # Errors
/// Out of range or not a number.
pub fn top(text: &str) -> Result<usize, String> {
    integer_in(text, 1, 20).map(|n| usize::try_from(n).unwrap_or(20))
}

/// `mine --row-cap`: 1 to 10000 (the Logs Insights cap).
///
/// # Errors
/// Out of range or not a number.
pub fn row_cap(text: &str) -> Result<usize, String> {
    integer_in(text, 1, 10_000).map(|n| usize::try_from(n).unwrap_or(10_000))
}

/// `demo seed --log-days`: 1 to 365.
///
/// # Errors
/// Out of range or not a number.
pub fn log_days(text: &str) -> Result<u32, String> {
    integer_in(text, 1, 365).map(|n| u32::try_from(n).unwrap_or(365))
}

/// `demo seed --metric-days`: 1 to 90.
///
/// # Errors
/// Out of range or not a number.
pub fn metric_days(text: &str) -> Result<u32, String> {
    integer_in(text, 1, 90).map(|n| u32::try_from(n).unwrap_or(90))
}

/// `demo workload --backfill`: 0 s to 3 hours (CloudWatch keeps high-resolution points 3 h).
///
/// # Errors
/// Out of range or not a duration.
pub fn backfill(text: &str) -> Result<Duration, String> {
    duration_in(text, secs(0), secs(3 * 3600))
}

/// `demo workload --interval`: 100 ms to 1 hour.
///
/// # Errors
/// Out of range or not a duration.
pub fn workload_interval(text: &str) -> Result<Duration, String> {
    duration_in(text, Duration::from_millis(100), secs(3600))
}

/// `demo workload --duration`: 1 s to 7 days.
///
/// # Errors
/// Out of range or not a duration.
pub fn workload_duration(text: &str) -> Result<Duration, String> {
    duration_in(text, secs(1), secs(7 * DAY))
}

/// `--region`: an AWS region name (see [`crate::config::check_region`]).
///
/// # Errors
/// Not a region name.
pub fn region(text: &str) -> Result<String, String> {
    crate::config::check_region(text).map(|()| text.to_owned())
}

/// `--endpoint-url` / `AWS_ENDPOINT_URL`: an http(s) URL with a host; empty means unset.
///
/// # Errors
/// Not such a URL.
pub fn endpoint_url(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    crate::config::check_endpoint_url(text).map(|()| text.to_owned())
}

/// `run --run-id` and `recover RUN_ID`: 1 to 128 of `A-Z a-z 0-9 . _ -`, starting with a
/// letter or digit, without `..`: it names a directory under the reports directory and a tag
/// value, so it can never be a path.
///
/// # Errors
/// A message naming the grammar.
pub fn run_id(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= MAX_RUN_ID_LEN
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !text.contains("..");
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{}` is not a run id: use 1 to {MAX_RUN_ID_LEN} letters, digits, `.`, `_` and `-`, \
             starting with a letter or digit, without `..` or `/`",
            crate::input::cut(text)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_zero_and_negative_durations_are_refused_with_the_range() {
        for parse in [guard_interval, poll_interval, stop_timeout, stage_timeout] {
            let e = parse("0s").expect_err("0s");
            assert!(e.contains("out of range: expected"), "{e}");
            let e = parse("-5s").expect_err("negative");
            assert!(e.contains("negative"), "{e}");
        }
        assert_eq!(
            metric_window("0s").expect_err("0s"),
            "`0s` is out of range: expected 1m to 1d"
        );
        assert_eq!(recovery_cap("0s"), Ok(Duration::ZERO));
        assert_eq!(poll_interval("500ms"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn issue_13_guard_period_is_a_cloudwatch_period() {
        for ok in ["1s", "5s", "10s", "20s", "30s", "1m", "5m", "1h"] {
            assert!(guard_period(ok).is_ok(), "{ok}");
        }
        for bad in ["7s", "0s", "90s", "2h", "1500ms"] {
            assert!(guard_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issue_13_mining_ranges_bound_the_work() {
        assert!(since("99999999999y").is_err());
        assert!(since("-5d").expect_err("negative").contains("negative"));
        assert!(slice("0s").is_err());
        assert!(lookback("0s").is_err());
        assert!(lookback("1000000y").is_err());
        assert!(check_slices(secs(3650 * DAY), secs(60)).is_err());
        assert!(check_slices(secs(180 * DAY), secs(DAY)).is_ok());
    }

    #[test]
    fn issue_13_numbers_have_ranges() {
        assert_eq!(top("2"), Ok(2));
        assert!(top("-1").expect_err("negative").contains("from 1 to 20"));
        assert!(top("0").is_err());
        assert!(top("99999999999999999999999").is_err());
        assert!(row_cap("0").is_err());
    }

    #[test]
    fn issue_13_run_ids_cannot_be_paths() {
        for bad in [
            "",
            "../escape",
            "a/b/c",
            "..",
            ".hidden",
            "-x",
            "a..b",
            "a b",
            "é",
        ] {
            assert!(run_id(bad).is_err(), "{bad:?}");
        }
        let long = "a".repeat(MAX_RUN_ID_LEN + 1);
        assert!(run_id(&long).is_err());
        for ok in ["r1", "rehearsal-20261124T100000Z-abc123", "a.b_c-d"] {
            assert_eq!(run_id(ok).as_deref(), Ok(ok));
        }
    }

    #[test]
    fn human_durations_read_like_flags() {
        assert_eq!(human(secs(455 * DAY)), "455d");
        assert_eq!(human(Duration::from_millis(100)), "100ms");
        assert_eq!(human(secs(90)), "90s");
        assert_eq!(human(secs(0)), "0s");
    }
}
