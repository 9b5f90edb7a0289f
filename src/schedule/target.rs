//! What a scheduled GameDay touches: its targets, for one-run-per-target.
//!
//! Input: a scenario file ([`GameDayScenario`]) or, for a "plan fresh" entry whose scenario
//! does not exist yet, the configured services. Output: a set of [`Target`]s. Must not: call
//! AWS or the cluster.

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::{Config, ScheduleEntry};
use crate::plan::GameDayScenario;

use super::error::ScheduleError;

/// One service in one namespace of one cluster: two GameDays on the same target never overlap.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// EKS cluster.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// Service.
    pub service: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.cluster, self.namespace, self.service)
    }
}

/// The targets of a scenario file's scenarios.
pub fn scenario_targets(gameday: &GameDayScenario) -> BTreeSet<Target> {
    gameday
        .scenarios
        .iter()
        .map(|s| Target {
            cluster: s.target.cluster.clone(),
            namespace: s.target.namespace.clone(),
            service: s.service.clone(),
        })
        .collect()
}

/// The targets a "plan fresh" entry may touch: every configured service (the planner picks
/// among them). A service without `cluster`/`namespace` is keyed with `-` in their place.
pub fn config_targets(cfg: &Config) -> BTreeSet<Target> {
    cfg.services
        .iter()
        .map(|s| Target {
            cluster: s.cluster.clone().unwrap_or_else(|| "-".to_owned()),
            namespace: s.namespace.clone().unwrap_or_else(|| "-".to_owned()),
            service: s.name.clone(),
        })
        .collect()
}

/// Reads and validates an entry's scenario file.
///
/// # Errors
/// [`ScheduleError::Scenario`] when the file cannot be read or is not a valid scenario.
pub fn load_entry_scenario(
    entry: &ScheduleEntry,
    path: &Path,
) -> Result<GameDayScenario, ScheduleError> {
    let wrap = |e: crate::error::Error| ScheduleError::Scenario {
        entry: entry.name.clone(),
        path: path.to_owned(),
        source: Box::new(e),
    };
    let text = std::fs::read_to_string(path).map_err(|source| {
        wrap(crate::error::Error::Read {
            path: path.to_owned(),
            source,
        })
    })?;
    crate::plan::load_scenario(path, &text).map_err(|e| wrap(e.into()))
}

/// The targets of an entry: its scenario's, or every configured service's when it plans fresh.
///
/// # Errors
/// As [`load_entry_scenario`].
pub fn entry_targets(
    entry: &ScheduleEntry,
    cfg: &Config,
) -> Result<BTreeSet<Target>, ScheduleError> {
    match &entry.scenario {
        Some(path) => Ok(scenario_targets(&load_entry_scenario(entry, path)?)),
        None => Ok(config_targets(cfg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_scenario_targets_are_cluster_namespace_service() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/checkout-example.yaml");
        let text = std::fs::read_to_string(&path).expect("example scenario");
        let g = crate::plan::load_scenario(&path, &text).expect("loads");
        let targets: Vec<String> = scenario_targets(&g)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(targets, vec!["staging-eks/shop/checkout".to_owned()]);
    }
}
