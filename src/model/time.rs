//! Timestamps as metric series and hypotheses carry them: epoch seconds, read from RFC 3339 or
//! plain date-times (UTC) or epoch numbers, written as RFC 3339 UTC.
//!
//! Input: text or epoch seconds. Output: epoch seconds or text, and serde helpers for both.
//! Must not: guess time zones (a time without an offset is UTC).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Largest absolute timestamp accepted: 9999-12-31T23:59:59Z. Beyond it, time arithmetic could
/// overflow, and no metric has such datapoints.
pub const MAX_ABS_TS: i64 = 253_402_300_799;

/// Whether a timestamp lies within ±[`MAX_ABS_TS`].
pub fn ts_in_range(ts: i64) -> bool {
    (-MAX_ABS_TS..=MAX_ABS_TS).contains(&ts)
}

/// Parses a timestamp: RFC 3339 / ISO-8601 with `Z` or an offset, `YYYY-MM-DD HH:MM:SS` or
/// `YYYY-MM-DDTHH:MM:SS` (UTC, optional fractional seconds, which are truncated), or integer
/// epoch seconds. Returns `None` when none of these match or the time is beyond
/// ±[`MAX_ABS_TS`].
pub fn parse_ts(text: &str) -> Option<i64> {
    parse_ts_any(text).filter(|ts| ts_in_range(*ts))
}

fn parse_ts_any(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(dt.and_utc().timestamp());
        }
    }
    if !t.is_empty()
        && t.bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'))
    {
        return t.parse().ok();
    }
    None
}

/// Formats epoch seconds as RFC 3339 UTC (`2014-02-14T14:30:00Z`); out-of-range values fall
/// back to the decimal number so formatting never fails.
pub fn format_ts(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| ts.to_string())
}

/// Serde helpers writing epoch seconds as RFC 3339 strings and reading either form.
pub(crate) mod iso_ts {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(ts: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_ts(*ts))
    }

    struct TsVisitor;

    impl Visitor<'_> for TsVisitor {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an RFC 3339 timestamp or epoch seconds")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            super::parse_ts(v).ok_or_else(|| E::custom(format!("unreadable timestamp `{v}`")))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("timestamp out of range"))
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(TsVisitor)
    }

    /// Same for `Option<i64>` (`null` = none).
    pub(crate) mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        #[derive(serde::Deserialize)]
        struct Wrapped(#[serde(with = "super")] i64);

        pub(crate) fn serialize<S: Serializer>(ts: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match ts {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<i64>, D::Error> {
            Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
        }
    }
}
