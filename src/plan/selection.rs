//! FIS target grammar: selection modes and the target-parameter value rule.
//!
//! Input: `selectionMode` strings (`ALL`, `COUNT(n)`, `PERCENT(n)`) and target parameter values.
//! Output: a typed [`SelectionMode`] and, for parameter values, the first [`ValueProblem`]. It must
//! not guess: no lowercase modes, no spaces, no signs, no fractions.

use std::fmt;
use std::str::FromStr;

use super::error::PlanError;

/// Largest value FIS accepts for a target parameter, in characters.
pub const MAX_TARGET_PARAMETER_LEN: usize = 1024;

// The type is a shared noun (`model::selection`); its parsing and FIS checks live here.
pub use crate::model::selection::SelectionMode;

impl SelectionMode {
    /// Parses `ALL`, `COUNT(n)` with n ≥ 1, or `PERCENT(n)` with 1 ≤ n ≤ 100.
    ///
    /// # Errors
    ///
    /// [`PlanError::InvalidSelectionMode`] when the text does not follow the grammar, and
    /// [`PlanError::SelectionOutOfRange`] when the number is outside its range (`PERCENT(150)`,
    /// `COUNT(0)`).
    pub fn parse(input: &str) -> Result<Self, PlanError> {
        let fail = |reason: &'static str| PlanError::InvalidSelectionMode {
            input: input.to_owned(),
            reason,
        };
        if input == "ALL" {
            return Ok(Self::All);
        }
        let (percent, inner) = if let Some(rest) = input.strip_prefix("COUNT(") {
            (false, rest)
        } else if let Some(rest) = input.strip_prefix("PERCENT(") {
            (true, rest)
        } else if input.eq_ignore_ascii_case("all")
            || input.to_ascii_uppercase().starts_with("COUNT(")
            || input.to_ascii_uppercase().starts_with("PERCENT(")
        {
            return Err(fail("must be upper case: ALL, COUNT(n) or PERCENT(n)"));
        } else {
            return Err(fail("must be ALL, COUNT(n) or PERCENT(n)"));
        };
        let digits = inner
            .strip_suffix(')')
            .ok_or_else(|| fail("must end with ')'"))?;
        if digits.is_empty() {
            return Err(fail("has no number between the parentheses"));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(fail("must have a whole number between the parentheses"));
        }
        // All ASCII digits, so the only possible failure is overflow: saturate and let the range
        // check reject it.
        let value = digits.parse::<u64>().unwrap_or(u64::MAX);
        let (min, max) = if percent {
            (1, 100)
        } else {
            (1, u64::from(u32::MAX))
        };
        if !(min..=max).contains(&value) {
            return Err(PlanError::SelectionOutOfRange {
                input: input.to_owned(),
                percent,
                value,
                min,
                max,
            });
        }
        Ok(if percent {
            Self::Percent(u8::try_from(value).unwrap_or(u8::MAX))
        } else {
            Self::Count(u32::try_from(value).unwrap_or(u32::MAX))
        })
    }
}

impl fmt::Display for SelectionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("ALL"),
            Self::Count(n) => write!(f, "COUNT({n})"),
            Self::Percent(n) => write!(f, "PERCENT({n})"),
        }
    }
}

impl FromStr for SelectionMode {
    type Err = PlanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SelectionMode {
    type Error = PlanError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SelectionMode> for String {
    fn from(m: SelectionMode) -> Self {
        m.to_string()
    }
}

/// Why a target parameter value breaks FIS's rule `^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$` (1–1024 chars).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueProblem {
    /// The value is empty.
    Empty,
    /// The value is longer than [`MAX_TARGET_PARAMETER_LEN`] characters.
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// The value contains a character outside the allowed classes.
    BadChar {
        /// The first offending character.
        ch: char,
        /// Its index in characters (0-based).
        index: usize,
    },
}

impl fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::TooLong { len } => write!(
                f,
                "is {len} characters long (at most {MAX_TARGET_PARAMETER_LEN})"
            ),
            Self::BadChar { ch, index } => write!(
                f,
                "contains {ch:?} at character {}; only letters, digits, spaces and _ . : / = + - @ \
                 are allowed",
                index + 1
            ),
        }
    }
}

/// Whether `c` is in `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
///
/// `\p{N}` is exactly [`char::is_numeric`]. `\p{Z}` (separators) is [`char::is_whitespace`] less
/// the control characters (tab, newline, U+0085 ...), which are `Cc`, not `Z`. `\p{L}` is
/// approximated by [`char::is_alphabetic`], which also admits the few combining marks with the
/// `Other_Alphabetic` property; std has no general-category lookup.
pub fn is_target_parameter_char(c: char) -> bool {
    matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
        || c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
}

/// The first way `value` breaks the FIS target-parameter rule, or `None` if it is valid.
///
/// Commas, parentheses, quotes and `!` are rejected, so a label selector holds one `key=value`.
pub fn target_parameter_value_problem(value: &str) -> Option<ValueProblem> {
    if value.is_empty() {
        return Some(ValueProblem::Empty);
    }
    let mut len = 0usize;
    for (index, ch) in value.chars().enumerate() {
        if !is_target_parameter_char(ch) {
            return Some(ValueProblem::BadChar { ch, index });
        }
        len += 1;
    }
    (len > MAX_TARGET_PARAMETER_LEN).then_some(ValueProblem::TooLong { len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_three_modes() {
        assert_eq!(SelectionMode::parse("ALL").ok(), Some(SelectionMode::All));
        assert_eq!(
            SelectionMode::parse("COUNT(3)").ok(),
            Some(SelectionMode::Count(3))
        );
        assert_eq!(
            SelectionMode::parse("PERCENT(50)").ok(),
            Some(SelectionMode::Percent(50))
        );
        assert_eq!(
            SelectionMode::parse("PERCENT(100)").ok(),
            Some(SelectionMode::Percent(100))
        );
    }

    #[test]
    fn rejects_bad_grammar() {
        for text in [
            "",
            "all",
            "count(3)",
            "COUNT()",
            "COUNT(3",
            "COUNT 3",
            "COUNT(-1)",
            "COUNT(1.5)",
            "PERCENT( 5)",
            "SOME",
            "COUNT(3))",
            "PERCENT(5%)",
        ] {
            assert!(
                matches!(
                    SelectionMode::parse(text),
                    Err(PlanError::InvalidSelectionMode { .. })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn range_errors_are_distinct() {
        let err = SelectionMode::parse("PERCENT(150)");
        assert!(
            matches!(
                err,
                Err(PlanError::SelectionOutOfRange {
                    percent: true,
                    value: 150,
                    ..
                })
            ),
            "{err:?}"
        );
        assert!(matches!(
            SelectionMode::parse("PERCENT(0)"),
            Err(PlanError::SelectionOutOfRange { percent: true, .. })
        ));
        assert!(matches!(
            SelectionMode::parse("COUNT(0)"),
            Err(PlanError::SelectionOutOfRange { percent: false, .. })
        ));
        assert!(matches!(
            SelectionMode::parse("COUNT(99999999999999999999999)"),
            Err(PlanError::SelectionOutOfRange {
                value: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn display_round_trips() {
        for m in [
            SelectionMode::All,
            SelectionMode::Count(7),
            SelectionMode::Percent(25),
        ] {
            assert_eq!(SelectionMode::parse(&m.to_string()).ok(), Some(m));
        }
    }

    #[test]
    fn parameter_value_rule() {
        assert_eq!(target_parameter_value_problem("app=checkout"), None);
        assert_eq!(
            target_parameter_value_problem("arn:aws:eks:eu-west-1:1:cluster/x"),
            None
        );
        assert_eq!(
            target_parameter_value_problem("ünïcode 名前 42 a_b+c@d"),
            None
        );
        assert_eq!(
            target_parameter_value_problem("app=web,tier=front"),
            Some(ValueProblem::BadChar { ch: ',', index: 7 })
        );
        for bad in [
            "env in (a)",
            "a\"b",
            "a!b",
            "a'b",
            "tab\there",
            "line\nbreak",
            "a;b",
        ] {
            assert!(
                matches!(
                    target_parameter_value_problem(bad),
                    Some(ValueProblem::BadChar { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            target_parameter_value_problem(""),
            Some(ValueProblem::Empty)
        );
        assert_eq!(
            target_parameter_value_problem(&"a".repeat(1025)),
            Some(ValueProblem::TooLong { len: 1025 })
        );
        assert_eq!(target_parameter_value_problem(&"a".repeat(1024)), None);
        // U+00A0 (no-break space) is Zs; allowed.
        assert_eq!(target_parameter_value_problem("a\u{a0}b"), None);
    }

    proptest! {
        #[test]
        fn selection_never_panics(s in ".{0,30}") {
            let _ = SelectionMode::parse(&s);
        }

        #[test]
        fn selection_never_panics_near_misses(s in "(ALL|COUNT|PERCENT|count)?\\(?[0-9-]{0,25}\\)?") {
            let _ = SelectionMode::parse(&s);
        }

        #[test]
        fn value_rule_never_panics(s in ".{0,64}") {
            let _ = target_parameter_value_problem(&s);
        }

        #[test]
        fn counts_parse_back(n in 1u32..) {
            let text = format!("COUNT({n})");
            prop_assert_eq!(SelectionMode::parse(&text).ok(), Some(SelectionMode::Count(n)));
        }
    }
}
