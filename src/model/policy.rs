//! The blast-radius [`Policy`]: what a GameDay may touch, how much of it, and for how long. The
//! configuration reads it; `plan` checks templates against it and `run` caps resolved targets.
//!
//! Input and output: plain data with the documented defaults. Must not: check anything (the
//! checks are `plan::blast_radius`'s).

use serde::{Deserialize, Serialize};

use super::duration::IsoDuration;

/// Blast-radius limits, usually read from the `blast_radius` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Environments experiments may run in (production also needs the two opt-ins).
    pub allowed_environments: Vec<String>,
    /// Config-side production opt-in; the CLI flag is also needed.
    pub allow_production: bool,
    /// Label (`key=value`, or `key` for any value) every target must be limited to.
    pub opt_in_label: Option<String>,
    /// Kubernetes namespaces that may be targeted; empty means any.
    pub allowed_namespaces: Vec<String>,
    /// Largest `COUNT(n)` per target.
    pub max_count: u32,
    /// Largest `PERCENT(n)` per target.
    pub max_percent: u8,
    /// Most actions that may run at once in one stage.
    pub max_parallel_actions: usize,
    /// Longest `startAfter` chain of one stage.
    pub max_total_duration: IsoDuration,
}

impl Default for Policy {
    /// Staging only, opt-in label `chaos-experiment=enabled`, at most COUNT(5), PERCENT(25),
    /// 2 parallel actions and 1 hour per stage (the defaults the README documents).
    fn default() -> Self {
        Self {
            allowed_environments: vec!["staging".to_owned()],
            allow_production: false,
            opt_in_label: Some("chaos-experiment=enabled".to_owned()),
            allowed_namespaces: Vec::new(),
            max_count: 5,
            max_percent: 25,
            max_parallel_actions: 2,
            max_total_duration: IsoDuration::from_hours(1),
        }
    }
}
