//! ISO-8601 durations as FIS uses them (`PT30S`, `PT5M`, `PT1H`, `PT1H30M`, `P1D`).
//!
//! Input: a duration string from a template, the catalogue or configuration. Output: a typed
//! [`IsoDuration`] (whole seconds). It must not accept years, months or weeks (their length in
//! seconds is ambiguous and FIS does not use them), fractions, signs or lowercase designators.

use std::str::FromStr;

use super::error::PlanError;
pub use crate::model::duration::IsoDuration;

/// Parsing of the model's [`IsoDuration`]: its errors are [`PlanError`]s.
impl IsoDuration {
    /// Parses `P[nD][T[nH][nM][nS]]` with non-negative integer components, in that order.
    ///
    /// # Errors
    ///
    /// [`PlanError::InvalidDuration`] when the text is not of that form, has no component, uses
    /// years/months/weeks, fractions or lowercase letters, or overflows `u64` seconds.
    pub fn parse(input: &str) -> Result<Self, PlanError> {
        let fail = |reason: &'static str| PlanError::InvalidDuration {
            input: input.to_owned(),
            reason,
        };
        let rest = input
            .strip_prefix('P')
            .ok_or_else(|| fail("must start with P, e.g. PT5M"))?;
        if rest.is_empty() {
            return Err(fail("has no component, e.g. PT5M"));
        }
        let mut secs: u64 = 0;
        let mut in_time = false;
        let mut digits = String::new();
        let mut components = 0usize;
        // Allowed designators in order; `last` is the rank of the previous one.
        let mut last = 0u8;
        for c in rest.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let (rank, unit_secs, time_part) = match c {
                'T' => {
                    if in_time {
                        return Err(fail("has T twice"));
                    }
                    if !digits.is_empty() {
                        return Err(fail("has a number without a unit before T"));
                    }
                    in_time = true;
                    continue;
                }
                'D' => (1, 86_400u64, false),
                'H' => (2, 3_600, true),
                'M' if in_time => (3, 60, true),
                'S' => (4, 1, true),
                'M' => return Err(fail("uses months (P5M); minutes are written PT5M")),
                'Y' | 'W' => {
                    return Err(fail(
                        "uses years or weeks; use days, hours, minutes or seconds",
                    ));
                }
                '.' | ',' => return Err(fail("has a fraction; use whole seconds")),
                c if c.is_ascii_lowercase() => {
                    return Err(fail("has a lowercase designator; use P, T, D, H, M, S"));
                }
                _ => return Err(fail("has an unexpected character")),
            };
            if time_part != in_time {
                return Err(fail(if time_part {
                    "puts H, M or S before T, e.g. PT5M not P5M"
                } else {
                    "puts D after T"
                }));
            }
            if digits.is_empty() {
                return Err(fail("has a unit without a number"));
            }
            if rank <= last {
                return Err(fail("has units out of order or repeated"));
            }
            last = rank;
            let n: u64 = digits.parse().map_err(|_| fail("has a number too large"))?;
            let part = n
                .checked_mul(unit_secs)
                .ok_or_else(|| fail("is too long"))?;
            secs = secs.checked_add(part).ok_or_else(|| fail("is too long"))?;
            digits.clear();
            components += 1;
        }
        if !digits.is_empty() {
            return Err(fail("ends with a number without a unit"));
        }
        if in_time && last < 2 {
            return Err(fail("has T but no hours, minutes or seconds"));
        }
        if components == 0 {
            return Err(fail("has no component, e.g. PT5M"));
        }
        Ok(Self::from_secs(secs))
    }
}

impl FromStr for IsoDuration {
    type Err = PlanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for IsoDuration {
    type Error = PlanError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_fis_forms() {
        let cases = [
            ("PT30S", 30),
            ("PT5M", 300),
            ("PT1H", 3_600),
            ("PT1H30M", 5_400),
            ("PT12H", 43_200),
            ("P1D", 86_400),
            ("P1DT2H3M4S", 86_400 + 7_200 + 180 + 4),
            ("PT0S", 0),
            ("PT90M", 5_400),
        ];
        for (text, secs) in cases {
            assert_eq!(
                IsoDuration::parse(text).map(IsoDuration::as_secs).ok(),
                Some(secs),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_malformed() {
        for text in [
            "",
            "P",
            "PT",
            "5M",
            "pt5m",
            "PT5m",
            "P5M",
            "PT1.5S",
            "PT5",
            "PTM",
            "PT5M1H",
            "PT5M5M",
            "P1Y",
            "P1W",
            "PT-5M",
            " PT5M",
            "PT5M ",
            "P1DT",
            "PT1HT5M",
            "P99999999999999999999D",
            "PT18446744073709551615H",
        ] {
            assert!(
                IsoDuration::parse(text).is_err(),
                "{text:?} should be rejected"
            );
        }
    }

    #[test]
    fn displays_canonically() {
        assert_eq!(IsoDuration::from_secs(5_400).to_string(), "PT1H30M");
        assert_eq!(IsoDuration::from_secs(0).to_string(), "PT0S");
        assert_eq!(IsoDuration::from_secs(86_401).to_string(), "P1DT1S");
        assert_eq!(IsoDuration::from_mins(5).to_string(), "PT5M");
    }

    #[test]
    fn serde_round_trips_as_a_string() {
        let d: IsoDuration = serde_json::from_str("\"PT2M\"").expect("valid");
        assert_eq!(d, IsoDuration::from_mins(2));
        assert_eq!(serde_json::to_string(&d).expect("serialises"), "\"PT2M\"");
        assert!(serde_json::from_str::<IsoDuration>("\"2m\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = IsoDuration::parse(&s);
        }

        #[test]
        fn never_panics_on_near_misses(s in "P?T?[0-9]{0,22}[DHMSYWT.]?[0-9]{0,3}[HMS]?") {
            let _ = IsoDuration::parse(&s);
        }

        #[test]
        fn display_parses_back(secs in 0u64..10_000_000) {
            let d = IsoDuration::from_secs(secs);
            prop_assert_eq!(IsoDuration::parse(&d.to_string()).ok(), Some(d));
        }
    }
}
