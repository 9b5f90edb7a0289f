//! ISO-8601 durations as FIS uses them (`PT30S`, `PT5M`, `PT1H`, `PT1H30M`, `P1D`): the
//! configuration, the catalogue, scenarios and policies all hold them.
//!
//! Input: whole seconds. Output: the canonical text. The grammar (`IsoDuration::parse`, and so
//! deserialisation) lives with the plan stage in `plan/duration.rs`, because its errors are
//! plan errors. Must not: accept or print years, months or weeks.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A non-negative duration in whole seconds, written as an ISO-8601 duration.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct IsoDuration {
    secs: u64,
}

impl IsoDuration {
    /// The zero duration (`PT0S`).
    pub const ZERO: Self = Self { secs: 0 };

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self { secs }
    }

    /// A duration of `mins` minutes (saturating on overflow).
    pub const fn from_mins(mins: u64) -> Self {
        Self {
            secs: mins.saturating_mul(60),
        }
    }

    /// A duration of `hours` hours (saturating on overflow).
    pub const fn from_hours(hours: u64) -> Self {
        Self {
            secs: hours.saturating_mul(3600),
        }
    }

    /// The length in whole seconds.
    pub const fn as_secs(self) -> u64 {
        self.secs
    }

    /// The same length as a [`std::time::Duration`].
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.secs)
    }

    /// The sum of two durations, saturating instead of overflowing.
    pub const fn saturating_add(self, other: Self) -> Self {
        Self {
            secs: self.secs.saturating_add(other.secs),
        }
    }
}

impl fmt::Display for IsoDuration {
    /// Canonical form: `P<d>D` then `T<h>H<m>M<s>S`, omitting zero parts; zero is `PT0S`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secs == 0 {
            return f.write_str("PT0S");
        }
        let days = self.secs / 86_400;
        let hours = self.secs % 86_400 / 3_600;
        let mins = self.secs % 3_600 / 60;
        let secs = self.secs % 60;
        f.write_str("P")?;
        if days > 0 {
            write!(f, "{days}D")?;
        }
        if hours + mins + secs > 0 {
            f.write_str("T")?;
            if hours > 0 {
                write!(f, "{hours}H")?;
            }
            if mins > 0 {
                write!(f, "{mins}M")?;
            }
            if secs > 0 {
                write!(f, "{secs}S")?;
            }
        }
        Ok(())
    }
}

impl From<IsoDuration> for String {
    fn from(d: IsoDuration) -> Self {
        d.to_string()
    }
}
