//! Metric datapoints: CSV parsing, timestamp formats and cleaning.
//!
//! Input: CSV text `timestamp,value` (header optional) or raw points. Output: [`Point`]s in
//! file order ([`parse_csv`]) or a [`Cleaned`] series (finite, sorted, one point per timestamp).
//! Must not: drop lines silently while parsing (a bad line is an error naming its number), or
//! guess time zones (timestamps without an offset are UTC).

use serde::{Deserialize, Serialize};

use super::error::SteadyStateError;

/// One datapoint of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Epoch seconds, UTC.
    pub ts: i64,
    /// Metric value; may be NaN in parsed input, which derivation skips and counts.
    pub value: f64,
}

pub use crate::model::time::{MAX_ABS_TS, format_ts, parse_ts, ts_in_range};

/// Parses metric CSV text into points, in file order.
///
/// Each non-empty line not starting with `#` is `timestamp,value` (fields may be quoted; extra
/// columns are an error). The first line is taken as a header when neither its first field is
/// a timestamp nor its second a number (`timestamp,value`). Values `NaN`/`nan` are kept as NaN (derivation skips and counts them).
///
/// # Errors
/// [`SteadyStateError::Parse`] with the 1-based line number for a line with the wrong number of
/// fields, an unreadable timestamp or an unreadable value.
pub fn parse_csv(text: &str) -> Result<Vec<Point>, SteadyStateError> {
    let mut points = Vec::new();
    let mut seen_first = false;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line
            .split(',')
            .map(|f| f.trim().trim_matches('"').trim())
            .collect();
        let first = !seen_first;
        seen_first = true;
        // A header is a first line whose fields are neither a timestamp nor a number.
        let is_header = fields.first().is_some_and(|f| parse_ts(f).is_none())
            && fields.get(1).is_none_or(|v| v.parse::<f64>().is_err());
        if first && is_header {
            continue;
        }
        let err = |problem: String| SteadyStateError::Parse {
            line: line_no,
            problem,
        };
        if fields.len() != 2 {
            return Err(err(format!(
                "expected 2 fields `timestamp,value`, found {}",
                fields.len()
            )));
        }
        let ts = parse_ts(fields[0])
            .ok_or_else(|| err(format!("unreadable timestamp `{}`", quoted(fields[0]))))?;
        let value = fields[1]
            .parse::<f64>()
            .map_err(|_| err(format!("unreadable value `{}`", quoted(fields[1]))))?;
        points.push(Point { ts, value });
    }
    Ok(points)
}

/// Longest field quoted in an error, in characters: a multi-megabyte field is not echoed whole.
const MAX_QUOTED_CHARS: usize = 200;

/// `field` cut to [`MAX_QUOTED_CHARS`] characters for an error message.
fn quoted(field: &str) -> String {
    match field.char_indices().nth(MAX_QUOTED_CHARS) {
        None => field.to_owned(),
        Some((end, _)) => format!(
            "{}… ({} characters in all)",
            &field[..end],
            field.chars().count()
        ),
    }
}

/// A series ready for statistics: finite values, ascending unique timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    /// The points.
    pub points: Vec<Point>,
    /// Points dropped because their value was NaN or infinite.
    pub non_finite: usize,
    /// Points dropped because a later point had the same timestamp (the last one wins).
    pub duplicates: usize,
    /// Points dropped because their timestamp is beyond ±[`MAX_ABS_TS`].
    pub out_of_range: usize,
    /// Whether the input was out of time order.
    pub was_unsorted: bool,
}

/// Drops non-finite values and out-of-range timestamps, sorts by time (stable) and keeps the
/// last point per timestamp.
pub fn clean(points: &[Point]) -> Cleaned {
    let was_unsorted = points.windows(2).any(|w| w[1].ts < w[0].ts);
    let in_range: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| ts_in_range(p.ts))
        .collect();
    let out_of_range = points.len() - in_range.len();
    let mut finite: Vec<Point> = in_range
        .into_iter()
        .filter(|p| p.value.is_finite())
        .collect();
    let non_finite = points.len() - out_of_range - finite.len();
    finite.sort_by_key(|p| p.ts);
    let before = finite.len();
    let mut out: Vec<Point> = Vec::with_capacity(before);
    for p in finite {
        match out.last_mut() {
            Some(last) if last.ts == p.ts => *last = p,
            _ => out.push(p),
        }
    }
    Cleaned {
        duplicates: before - out.len(),
        out_of_range,
        points: out,
        non_finite,
        was_unsorted,
    }
}

/// Median spacing between consecutive points (the metric's period), `None` below 2 points.
pub fn median_period_secs(points: &[Point]) -> Option<i64> {
    let diffs: Vec<f64> = points
        .windows(2)
        .map(|w| (w[1].ts - w[0].ts) as f64)
        .filter(|d| *d > 0.0)
        .collect();
    super::stats::median(&diffs).map(|m| (m.round() as i64).max(1))
}

pub(crate) use crate::model::time::iso_ts;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_formats_and_header() {
        let text = "timestamp,value\n2014-02-14 14:30:00,0.132\n2014-02-14T14:35:00Z,1\n\
                    2014-02-14T15:40:00+01:00,2\n\"2014-02-14 14:45:00.000000\",NaN\n1392389100,3\n";
        let p = parse_csv(text).unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(p[0].ts, 1_392_388_200);
        assert_eq!(p[1].ts, p[0].ts + 300);
        assert_eq!(p[2].ts, p[0].ts + 600);
        assert!(p[3].value.is_nan());
        assert_eq!(p[4].ts, 1_392_389_100);
        assert_eq!(format_ts(p[0].ts), "2014-02-14T14:30:00Z");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_csv("timestamp,value\n2014-02-14 14:30:00,1\n2014-02-14 14:35:00,abc\n")
            .unwrap_err();
        assert_eq!(
            e,
            SteadyStateError::Parse {
                line: 3,
                problem: "unreadable value `abc`".into()
            }
        );
        let e = parse_csv("2014-02-14 14:30:00,1\nyesterday,2\n").unwrap_err();
        assert!(matches!(e, SteadyStateError::Parse { line: 2, .. }));
        let e = parse_csv("yesterday,2\n").unwrap_err();
        assert!(
            matches!(e, SteadyStateError::Parse { line: 1, .. }),
            "a bad first line is not a header"
        );
        assert!(parse_csv("999999999999999,1\n").is_err());
        let e = parse_csv("2014-02-14 14:30:00,1,2\n").unwrap_err();
        assert!(matches!(e, SteadyStateError::Parse { line: 1, .. }));
        assert_eq!(parse_csv("").unwrap(), vec![]);
    }

    #[test]
    fn clean_sorts_dedupes_and_counts() {
        let pts = [
            Point { ts: 20, value: 2.0 },
            Point { ts: 10, value: 1.0 },
            Point { ts: 20, value: 3.0 },
            Point {
                ts: 30,
                value: f64::NAN,
            },
        ];
        let c = clean(&pts);
        assert!(c.was_unsorted);
        assert_eq!(c.non_finite, 1);
        assert_eq!(c.duplicates, 1);
        assert_eq!(
            c.points,
            vec![Point { ts: 10, value: 1.0 }, Point { ts: 20, value: 3.0 }]
        );
        assert_eq!(median_period_secs(&c.points), Some(10));
    }
}
