//! How FIS picks resources among those a target identifies (`ALL`, `COUNT(n)`, `PERCENT(n)`).
//!
//! Input/output: the value type only. Its parsing, display and FIS checks are implemented in
//! `plan::selection`, where the plan's errors live. Must not: import a stage.

use serde::{Deserialize, Serialize};

/// How FIS picks resources among those a target identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SelectionMode {
    /// Every identified resource.
    All,
    /// `n` random resources (n ≥ 1).
    Count(u32),
    /// `n` percent of the resources, rounded down (1 ≤ n ≤ 100).
    Percent(u8),
}
