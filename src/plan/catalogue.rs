//! The FIS action catalogue: action IDs, target keys, parameters, resource types and quotas.
//!
//! Input: `data/fis-actions.yaml`, embedded at compile time (format described at its top).
//! Output: a validated [`Catalogue`], parsed once by [`catalogue`]. It must not call AWS: the
//! catalogue is an offline snapshot of the user guide; `ListActions` remains the runtime truth.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::duration::IsoDuration;
use super::error::PlanError;

/// The embedded catalogue text.
const CATALOGUE_YAML: &str = include_str!("../../data/fis-actions.yaml");

/// The embedded catalogue, parsed and validated on first use.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        Catalogue::from_yaml(CATALOGUE_YAML).expect(
            "data/fis-actions.yaml is embedded at compile time and a unit test proves it parses \
             and validates",
        )
    })
}

/// Default service quotas that lint checks (§5 of the reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// Actions per experiment template.
    pub max_actions: usize,
    /// Actions running at the same time in one experiment.
    pub max_parallel_actions: usize,
    /// Stop conditions per template.
    pub max_stop_conditions: usize,
    /// ARNs in one target's `resourceArns`.
    pub max_arns_per_target: usize,
    /// Length of one experiment.
    pub max_experiment_duration: IsoDuration,
    /// Length of one action.
    pub max_action_duration: IsoDuration,
}

/// The value kind of a parameter, with its range. Values are always strings in a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ParamKind {
    /// Any non-blank string.
    String,
    /// A JSON document passed as a string.
    Json,
    /// An ARN (`arn:...`).
    Arn,
    /// `true` or `false`.
    Boolean,
    /// An ISO-8601 duration, optionally bounded.
    Duration {
        /// Shortest allowed.
        #[serde(default)]
        min: Option<IsoDuration>,
        /// Longest allowed.
        #[serde(default)]
        max: Option<IsoDuration>,
    },
    /// A whole number, optionally bounded.
    Integer {
        /// Smallest allowed.
        #[serde(default)]
        min: Option<i64>,
        /// Largest allowed.
        #[serde(default)]
        max: Option<i64>,
    },
    /// A whole-number percentage, optionally bounded.
    Percent {
        /// Smallest allowed.
        #[serde(default)]
        min: Option<i64>,
        /// Largest allowed.
        #[serde(default)]
        max: Option<i64>,
    },
    /// One of a fixed set of values (case sensitive).
    Enum {
        /// The allowed values.
        values: Vec<String>,
    },
    /// A comma-separated list of values from a fixed set.
    EnumList {
        /// The allowed items.
        values: Vec<String>,
        /// Most items allowed.
        #[serde(default)]
        max_items: Option<usize>,
    },
    /// A comma-separated list of free-form items.
    List {
        /// Most items allowed.
        #[serde(default)]
        max_items: Option<usize>,
    },
}

/// One parameter of an action or a target resource type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Parameter name, exactly as the API takes it (camelCase).
    pub name: String,
    /// Whether the API rejects a request without it.
    pub required: bool,
    /// The default FIS applies when it is absent.
    #[serde(default)]
    pub default: Option<String>,
    /// Value kind and range.
    pub kind: ParamKind,
    /// A short remark from the user guide.
    #[serde(default)]
    pub note: Option<String>,
}

/// A FIS target resource type (`aws:eks:pod`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceType {
    /// The type, e.g. `aws:eks:pod`.
    pub id: String,
    /// Whether `resourceArns` may identify it.
    #[serde(default = "yes")]
    pub arns: bool,
    /// Whether `resourceTags` may identify it.
    #[serde(default = "yes")]
    pub tags: bool,
    /// Whether the reference lists this type's parameters (else parameter names are not checked).
    #[serde(default = "yes")]
    pub parameters_known: bool,
    /// Target parameters.
    #[serde(default)]
    pub parameters: Vec<ParamSpec>,
    /// A short remark from the user guide.
    #[serde(default)]
    pub note: Option<String>,
    /// For a legacy ID FIS still accepts: the current resource type to use instead.
    #[serde(default)]
    pub legacy_of: Option<String>,
}

/// Kinds of `tc`/blackhole network faults, used to flag faults that must not overlap on one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkFault {
    /// A `tc` qdisc fault (latency, packet loss): two of them on one pod at once fail.
    Tc,
    /// A port blackhole: two with the same `trafficType` on one pod at once conflict.
    Blackhole,
}

/// One FIS action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// The action ID, e.g. `aws:eks:pod-delete`.
    pub id: String,
    /// Target key (e.g. `Pods`) to resource type; empty = the action takes no target.
    #[serde(default)]
    pub targets: BTreeMap<String, String>,
    /// Whether the reference gives the target keys (else action targets are not checked).
    #[serde(default = "yes")]
    pub targets_known: bool,
    /// Whether the reference gives the parameters (else parameter names are not checked).
    #[serde(default = "yes")]
    pub parameters_known: bool,
    /// Parameters.
    #[serde(default)]
    pub parameters: Vec<ParamSpec>,
    /// Parameters whose value is how long the action runs (the longest present one counts).
    #[serde(default)]
    pub duration_parameters: Vec<String>,
    /// Most resources one action may act on (e.g. 50 pods, 5 instances).
    #[serde(default)]
    pub max_targets: Option<u64>,
    /// Whether the target must be exactly one ARN.
    #[serde(default)]
    pub single_arn_target: bool,
    /// The network fault family, for the "never in parallel on one pod" rule.
    #[serde(default)]
    pub network: Option<NetworkFault>,
    /// Remarks from the user guide (prerequisites, conflicts).
    #[serde(default)]
    pub notes: Vec<String>,
    /// For a legacy ID FIS still accepts: the current action ID to use instead.
    #[serde(default)]
    pub legacy_of: Option<String>,
}

impl ActionSpec {
    /// The parameter called `name`, if the catalogue lists it.
    pub fn parameter(&self, name: &str) -> Option<&ParamSpec> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// Whether the action runs for a duration given by a parameter.
    pub fn has_duration(&self) -> bool {
        !self.duration_parameters.is_empty()
    }
}

impl ResourceType {
    /// The parameter called `name`, if the catalogue lists it.
    pub fn parameter(&self, name: &str) -> Option<&ParamSpec> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

/// An action ID that does not exist (§4.4) and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrongId {
    /// The wrong ID; a trailing `*` matches any suffix.
    pub id: String,
    /// What to use instead.
    pub instead: String,
    /// Why, when useful.
    #[serde(default)]
    pub note: Option<String>,
}

impl WrongId {
    /// Whether `action_id` is this wrong ID (or starts with its prefix).
    pub fn matches(&self, action_id: &str) -> bool {
        match self.id.strip_suffix('*') {
            Some(prefix) => action_id.starts_with(prefix),
            None => self.id == action_id,
        }
    }
}

/// The whole catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Default service quotas.
    pub quotas: Quotas,
    /// Target resource types.
    pub resource_types: Vec<ResourceType>,
    /// Actions.
    pub actions: Vec<ActionSpec>,
    /// IDs that do not exist, with replacements.
    pub wrong_ids: Vec<WrongId>,
}

fn yes() -> bool {
    true
}

impl Catalogue {
    /// Parses and validates a catalogue in the `data/fis-actions.yaml` format.
    ///
    /// # Errors
    ///
    /// [`PlanError::CatalogueParse`] for YAML or shape errors; [`PlanError::CatalogueInvalid`]
    /// for duplicate IDs or parameters, targets naming an unknown resource type, duration
    /// parameters that are not listed, or a wrong ID that is in fact a real one.
    pub fn from_yaml(text: &str) -> Result<Self, PlanError> {
        let catalogue: Self =
            yaml_serde::from_str(text).map_err(|source| PlanError::CatalogueParse { source })?;
        catalogue.validate()?;
        Ok(catalogue)
    }

    fn validate(&self) -> Result<(), PlanError> {
        let invalid = |id: &str, reason: String| PlanError::CatalogueInvalid {
            id: id.to_owned(),
            reason,
        };
        let mut types = BTreeSet::new();
        for rt in &self.resource_types {
            if !types.insert(rt.id.as_str()) {
                return Err(invalid(&rt.id, "duplicate resource type".into()));
            }
            unique_params(&rt.id, &rt.parameters)?;
        }
        let mut ids = BTreeSet::new();
        for action in &self.actions {
            if !ids.insert(action.id.as_str()) {
                return Err(invalid(&action.id, "duplicate action".into()));
            }
            if !action.id.starts_with("aws:") || action.id.matches(':').count() != 2 {
                return Err(invalid(
                    &action.id,
                    "not of the form aws:<service>:<action>".into(),
                ));
            }
            unique_params(&action.id, &action.parameters)?;
            for resource_type in action.targets.values() {
                if !types.contains(resource_type.as_str()) {
                    return Err(invalid(
                        &action.id,
                        format!("target type {resource_type} is not a listed resource type"),
                    ));
                }
            }
            for name in &action.duration_parameters {
                match action.parameter(name).map(|p| &p.kind) {
                    Some(ParamKind::Duration { .. }) => {}
                    _ => {
                        return Err(invalid(
                            &action.id,
                            format!("duration parameter {name} is not a listed duration parameter"),
                        ));
                    }
                }
            }
        }
        for (id, current) in self
            .actions
            .iter()
            .filter_map(|a| a.legacy_of.as_ref().map(|c| (&a.id, c)))
        {
            if self.action(current).is_none_or(|c| c.legacy_of.is_some()) {
                return Err(invalid(
                    id,
                    format!("legacy_of names {current}, which is not a current action"),
                ));
            }
        }
        for (id, current) in self
            .resource_types
            .iter()
            .filter_map(|r| r.legacy_of.as_ref().map(|c| (&r.id, c)))
        {
            if self
                .resource_type(current)
                .is_none_or(|c| c.legacy_of.is_some())
            {
                return Err(invalid(
                    id,
                    format!("legacy_of names {current}, which is not a current resource type"),
                ));
            }
        }
        for wrong in &self.wrong_ids {
            if let Some(real) = self.actions.iter().find(|a| wrong.matches(&a.id)) {
                return Err(invalid(
                    &wrong.id,
                    format!("listed as wrong but matches real action {}", real.id),
                ));
            }
        }
        Ok(())
    }

    /// The action with this exact ID.
    pub fn action(&self, id: &str) -> Option<&ActionSpec> {
        self.actions.iter().find(|a| a.id == id)
    }

    /// The resource type with this exact ID.
    pub fn resource_type(&self, id: &str) -> Option<&ResourceType> {
        self.resource_types.iter().find(|r| r.id == id)
    }

    /// A replacement for an unknown action ID: the §4.4 table first, then the closest real ID by
    /// edit distance (at most a third of the ID's length, so unrelated IDs get no hint).
    pub fn suggest_action(&self, unknown: &str) -> Option<String> {
        if let Some(wrong) = self.wrong_ids.iter().find(|w| w.matches(unknown)) {
            return Some(match &wrong.note {
                Some(note) => format!("{} ({note})", wrong.instead),
                None => wrong.instead.clone(),
            });
        }
        closest(unknown, self.actions.iter().map(|a| a.id.as_str())).map(str::to_owned)
    }
}

fn unique_params(owner: &str, params: &[ParamSpec]) -> Result<(), PlanError> {
    let mut names = BTreeSet::new();
    for p in params {
        if !names.insert(p.name.as_str()) {
            return Err(PlanError::CatalogueInvalid {
                id: owner.to_owned(),
                reason: format!("duplicate parameter {}", p.name),
            });
        }
    }
    Ok(())
}

/// The candidate closest to `word` by optimal string alignment distance (insertions,
/// deletions, substitutions and swaps of two adjacent characters each cost 1, so `frist` is 1
/// from `first`), if within a third of its length (and at least 1 edit, at most 8). Ties go to
/// the first candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 8);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_parses_and_validates() {
        let c = Catalogue::from_yaml(CATALOGUE_YAML).expect("embedded catalogue is valid");
        assert_eq!(c.quotas.max_actions, 20);
        assert_eq!(c.quotas.max_parallel_actions, 10);
        assert_eq!(c.quotas.max_stop_conditions, 5);
        assert_eq!(c.quotas.max_arns_per_target, 5);
        assert_eq!(
            c.quotas.max_experiment_duration,
            IsoDuration::from_hours(12)
        );
        assert_eq!(catalogue(), &c);
    }

    #[test]
    fn all_nine_eks_actions_and_no_invented_ones() {
        let eks: BTreeSet<&str> = catalogue()
            .actions
            .iter()
            .map(|a| a.id.as_str())
            .filter(|id| id.starts_with("aws:eks:"))
            .collect();
        let expected: BTreeSet<&str> = [
            "aws:eks:pod-cpu-stress",
            "aws:eks:pod-memory-stress",
            "aws:eks:pod-io-stress",
            "aws:eks:pod-delete",
            "aws:eks:pod-network-latency",
            "aws:eks:pod-network-packet-loss",
            "aws:eks:pod-network-blackhole-port",
            "aws:eks:terminate-nodegroup-instances",
            "aws:eks:inject-kubernetes-custom-resource",
        ]
        .into();
        assert_eq!(eks, expected);
        for wrong in [
            "aws:eks:terminate-pod",
            "aws:eks:node-drain",
            "aws:eks:pod-kill",
        ] {
            assert!(catalogue().action(wrong).is_none(), "{wrong}");
        }
    }

    #[test]
    fn pod_actions_shape() {
        let c = catalogue();
        let latency = c.action("aws:eks:pod-network-latency").expect("listed");
        assert_eq!(
            latency.targets.get("Pods").map(String::as_str),
            Some("aws:eks:pod")
        );
        assert!(
            latency
                .parameter("kubernetesServiceAccount")
                .is_some_and(|p| p.required)
        );
        assert!(latency.parameter("duration").is_some_and(|p| p.required));
        assert_eq!(
            latency
                .parameter("delayMilliseconds")
                .and_then(|p| p.default.as_deref()),
            Some("200")
        );
        assert_eq!(latency.max_targets, Some(50));
        let delete = c.action("aws:eks:pod-delete").expect("listed");
        assert!(!delete.has_duration());
        assert!(delete.parameter("duration").is_none());
        let blackhole = c
            .action("aws:eks:pod-network-blackhole-port")
            .expect("listed");
        assert_eq!(
            blackhole.parameter("protocol").map(|p| &p.kind),
            Some(&ParamKind::Enum {
                values: vec!["tcp".into(), "udp".into()]
            })
        );
        let pod = c.resource_type("aws:eks:pod").expect("listed");
        assert!(!pod.arns && !pod.tags);
        assert!(pod.parameter("selectorValue").is_some_and(|p| p.required));
        let wait = c.action("aws:fis:wait").expect("listed");
        assert!(wait.targets.is_empty() && wait.targets_known);
    }

    #[test]
    fn suggestions_use_the_wrong_id_table_then_edit_distance() {
        let c = catalogue();
        assert_eq!(
            c.suggest_action("aws:eks:terminate-pod").as_deref(),
            Some("aws:eks:pod-delete")
        );
        assert!(
            c.suggest_action("aws:ssm:send-command/AWSFIS-Run-CPU-Stress")
                .is_some_and(|s| s.contains("documentArn"))
        );
        assert_eq!(
            c.suggest_action("aws:eks:pod-cpu-stres").as_deref(),
            Some("aws:eks:pod-cpu-stress")
        );
        assert_eq!(c.suggest_action("aws:totally:unrelated-thing-here"), None);
    }

    #[test]
    fn rejects_inconsistent_catalogues() {
        let base = "quotas: {max_actions: 20, max_parallel_actions: 10, max_stop_conditions: 5, \
                    max_arns_per_target: 5, max_experiment_duration: PT12H, \
                    max_action_duration: PT12H}\nresource_types: []\nwrong_ids: []\n";
        let unknown_type =
            format!("{base}actions: [{{id: 'aws:a:b', targets: {{X: 'aws:no:type'}}}}]");
        assert!(matches!(
            Catalogue::from_yaml(&unknown_type),
            Err(PlanError::CatalogueInvalid { .. })
        ));
        let dup = format!("{base}actions: [{{id: 'aws:a:b'}}, {{id: 'aws:a:b'}}]");
        assert!(matches!(
            Catalogue::from_yaml(&dup),
            Err(PlanError::CatalogueInvalid { .. })
        ));
        let bad_field = format!("{base}actions: [{{id: 'aws:a:b', colour: red}}]");
        assert!(matches!(
            Catalogue::from_yaml(&bad_field),
            Err(PlanError::CatalogueParse { .. })
        ));
    }

    #[test]
    fn closest_counts_a_swap_as_one_edit_and_keeps_to_its_limit() {
        // A swap of two adjacent letters is one edit: `frist` (limit 1) finds `first`.
        assert_eq!(closest("frist", ["second", "first"]), Some("first"));
        assert_eq!(closest("same", ["same"]), Some("same"));
        // `kitten` → `sitting` is 3 edits, beyond the limit of 2 for six letters.
        assert_eq!(closest("kitten", ["sitting"]), None);
        assert_eq!(closest("kitten", ["sitting", "kittens"]), Some("kittens"));
        // Ties go to the first candidate.
        assert_eq!(closest("cat", ["bat", "cut"]), Some("bat"));
    }
}
