//! Causal rules: which evidence is a symptom of which root cause.
//!
//! Input: the built-in YAML (`data/causal-rules.yaml`, embedded) plus optional user rules from
//! the config. Output: [`CausalRules`] and their compiled, lower-cased form
//! [`CompiledRules`], whose [`CompiledRules::symptom_of`] says which rules a piece of evidence
//! is a symptom of. Grouping (`group`) then folds symptom groups into the incident of their
//! cause. Must not read files, classify evidence or group it.

use serde::{Deserialize, Serialize};

use crate::mine::error::MineError;

/// The built-in rules, embedded at compile time.
const BUILTIN_YAML: &str = include_str!("../../data/causal-rules.yaml");

/// Default lead of a rule's window: symptoms may be logged a little before their cause (clock
/// skew between the kubelet, the node and the application's logger).
const DEFAULT_BEFORE: &str = "2m";
/// Default lag of a rule's window: a crash loop or rescheduling keeps going after the cause.
const DEFAULT_AFTER: &str = "30m";

/// A causal-rule file (the shape of the built-in YAML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CausalRules {
    /// Format version of the file; currently 1.
    pub schema_version: u32,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<CausalRule>,
}

/// Where a symptom may be, relative to its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymptomScope {
    /// In a service the cause's incident affects.
    Workload,
    /// Anywhere in the cluster.
    Cluster,
}

/// One rule: a cause class and the evidence it brings with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CausalRule {
    /// Stable identifier, shown with the symptoms it folded.
    pub id: String,
    /// The fault class that causes the symptoms.
    pub cause: String,
    /// Where the symptoms may be.
    pub same: SymptomScope,
    /// How long before the cause's first evidence a symptom may start (default 2m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// How long after the cause's last evidence a symptom may start (default 30m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Symptom patterns; evidence matching any of them is a symptom.
    pub symptoms: Vec<SymptomPattern>,
}

/// Evidence that is a symptom: `class` (if given) AND (`reasons` OR `contains`, if given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymptomPattern {
    /// The class the evidence was classified as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Kubernetes Event reasons, compared whole, any case.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Substrings of the message or its template, any case.
    #[serde(default)]
    pub contains: Vec<String>,
}

impl CausalRules {
    /// The built-in rules from `data/causal-rules.yaml`.
    pub fn builtin() -> Self {
        Self::from_yaml(BUILTIN_YAML, "built-in")
            .expect("the embedded causal-rule YAML is valid: checked by unit tests")
    }

    /// Parses and validates a rule file.
    ///
    /// # Errors
    /// [`MineError::CausalRules`] when the YAML is malformed, the version is not 1, a rule has
    /// no id, cause or symptom, a symptom pattern is empty, or a window is not a duration.
    pub fn from_yaml(yaml: &str, origin: &str) -> Result<Self, MineError> {
        let rules: Self = yaml_serde::from_str(yaml).map_err(|source| MineError::CausalRules {
            origin: origin.to_owned(),
            problem: "invalid YAML or unknown field".to_owned(),
            source: Some(source),
        })?;
        if rules.schema_version != 1 {
            return Err(rule_error(
                origin,
                format!(
                    "unsupported schema_version {}, expected 1",
                    rules.schema_version
                ),
            ));
        }
        for rule in &rules.rules {
            if rule.id.trim().is_empty() || rule.cause.trim().is_empty() {
                return Err(rule_error(
                    origin,
                    "a rule needs an id and a cause".to_owned(),
                ));
            }
            if rule.symptoms.is_empty() {
                return Err(rule_error(
                    origin,
                    format!("rule {} lists no symptoms", rule.id),
                ));
            }
            if rule
                .symptoms
                .iter()
                .any(|s| s.class.is_none() && s.reasons.is_empty() && s.contains.is_empty())
            {
                return Err(rule_error(
                    origin,
                    format!(
                        "rule {} has an empty symptom: give a class, reasons or contains",
                        rule.id
                    ),
                ));
            }
            rule.window_ms(origin)?;
        }
        Ok(rules)
    }

    /// Merges user rules: a user rule replaces a built-in rule of the same id, others are added.
    pub fn merge(mut self, extra: Vec<CausalRule>) -> Self {
        for rule in extra {
            match self.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(existing) => *existing = rule,
                None => self.rules.push(rule),
            }
        }
        self
    }

    /// Compiles the rules for matching (windows in ms, needles lower-cased).
    pub fn compile(&self) -> CompiledRules {
        let lower = |items: &[String]| items.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
        CompiledRules {
            rules: self
                .rules
                .iter()
                .map(|rule| {
                    let (before_ms, after_ms) = rule.window_ms("").unwrap_or((0, 0));
                    CompiledRule {
                        window: RuleWindow {
                            id: rule.id.clone(),
                            cause: rule.cause.clone(),
                            same: rule.same,
                            before_ms,
                            after_ms,
                        },
                        patterns: rule
                            .symptoms
                            .iter()
                            .map(|s| CompiledPattern {
                                class: s.class.clone(),
                                reasons: lower(&s.reasons),
                                contains: lower(&s.contains),
                            })
                            .collect(),
                    }
                })
                .collect(),
        }
    }
}

impl CausalRule {
    fn window_ms(&self, origin: &str) -> Result<(i64, i64), MineError> {
        let parse = |key: &str, text: Option<&String>, default: &str| {
            let text = text.map_or(default, String::as_str);
            crate::config::parse_duration(text)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .map_err(|m| rule_error(origin, format!("rule {} `{key}`: {m}", self.id)))
        };
        Ok((
            parse("before", self.before.as_ref(), DEFAULT_BEFORE)?,
            parse("after", self.after.as_ref(), DEFAULT_AFTER)?,
        ))
    }
}

fn rule_error(origin: &str, problem: String) -> MineError {
    MineError::CausalRules {
        origin: origin.to_owned(),
        problem,
        source: None,
    }
}

/// A rule's cause, scope and window, as grouping needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleWindow {
    /// Rule id.
    pub(crate) id: String,
    /// Cause class.
    pub(crate) cause: String,
    /// Where symptoms may be.
    pub(crate) same: SymptomScope,
    /// Lead before the cause's start, ms.
    pub(crate) before_ms: i64,
    /// Lag after the cause's end, ms.
    pub(crate) after_ms: i64,
}

#[derive(Debug, Clone)]
struct CompiledPattern {
    class: Option<String>,
    reasons: Vec<String>,
    contains: Vec<String>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    window: RuleWindow,
    patterns: Vec<CompiledPattern>,
}

/// Rules ready for matching symptoms to their causes (`CompiledRules::symptom_of`).
#[derive(Debug, Clone)]
pub struct CompiledRules {
    rules: Vec<CompiledRule>,
}

impl CompiledRules {
    /// Indices of the rules this evidence is a symptom of. `text` must be lower-case.
    pub(crate) fn symptom_of(&self, class: &str, reason: Option<&str>, text: &str) -> Vec<u16> {
        let mut hits = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let hit = rule.patterns.iter().any(|p| {
                let class_ok = p.class.as_deref().is_none_or(|c| c == class);
                let triggered = (p.reasons.is_empty() && p.contains.is_empty())
                    || reason.is_some_and(|r| p.reasons.iter().any(|n| n.eq_ignore_ascii_case(r)))
                    || p.contains.iter().any(|n| text.contains(n.as_str()));
                class_ok && triggered
            });
            if hit {
                hits.push(u16::try_from(i).unwrap_or(u16::MAX));
            }
        }
        hits
    }

    /// The rules' windows, indexed like [`CompiledRules::symptom_of`]'s answers.
    pub(crate) fn windows(&self) -> Vec<RuleWindow> {
        self.rules.iter().map(|r| r.window.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_of(
        compiled: &CompiledRules,
        class: &str,
        reason: Option<&str>,
        text: &str,
    ) -> Vec<String> {
        let windows = compiled.windows();
        compiled
            .symptom_of(class, reason, &text.to_lowercase())
            .into_iter()
            .map(|i| windows[usize::from(i)].id.clone())
            .collect()
    }

    #[test]
    fn builtin_rules_are_valid_and_name_real_classes() {
        let rules = CausalRules::builtin();
        let library = crate::mine::SignatureLibrary::builtin();
        assert!(rules.rules.len() >= 3);
        for rule in &rules.rules {
            assert!(library.class(&rule.cause).is_some(), "{}", rule.cause);
            for s in &rule.symptoms {
                if let Some(class) = &s.class {
                    assert!(library.class(class).is_some(), "{class}");
                }
            }
        }
    }

    #[test]
    fn kubernetes_symptoms_match_their_causes() {
        let compiled = CausalRules::builtin().compile();
        assert_eq!(
            rules_of(
                &compiled,
                "pod-crash",
                Some("BackOff"),
                "BackOff: Back-off restarting failed container app in pod x"
            ),
            vec!["oom-crash-loop"]
        );
        assert_eq!(
            rules_of(
                &compiled,
                "cpu-saturation",
                Some("FailedScheduling"),
                "0/3 nodes are available: 3 Insufficient cpu."
            ),
            vec!["node-loss-rescheduling"]
        );
        assert_eq!(
            rules_of(
                &compiled,
                "node-failure",
                Some("TaintManagerEviction"),
                "Marking for deletion Pod shop/x"
            ),
            vec!["node-loss-rescheduling"]
        );
        assert_eq!(
            rules_of(
                &compiled,
                "deploy-failure",
                Some("BackOff"),
                "Back-off pulling image \"repo/app:v9\""
            ),
            vec!["image-pull-back-off"]
        );
        // Root-cause evidence is nobody's symptom.
        for (class, reason, text) in [
            (
                "memory-exhaustion",
                Some("OOMKilling"),
                "Memory cgroup out of memory: Killed process 1",
            ),
            (
                "node-failure",
                Some("NodeNotReady"),
                "Node ip-10-0-1-5 status is now: NodeNotReady",
            ),
            (
                "deploy-failure",
                Some("Failed"),
                "Failed to pull image \"repo/app:v9\": not found",
            ),
            (
                "pod-crash",
                None,
                "panic: runtime error: index out of range",
            ),
        ] {
            assert!(
                rules_of(&compiled, class, reason, text).is_empty(),
                "{text}"
            );
        }
    }

    #[test]
    fn user_rules_replace_by_id_and_bad_files_are_rejected() {
        let yaml = "schema_version: 1\nrules:\n  - id: oom-crash-loop\n    cause: memory-exhaustion\n    same: cluster\n    after: 1h\n    symptoms:\n      - class: pod-crash\n  - id: broker\n    cause: broker-outage\n    same: cluster\n    symptoms:\n      - contains: [queue full]\n";
        let extra = CausalRules::from_yaml(yaml, "user.yaml").expect("valid");
        let merged = CausalRules::builtin().merge(extra.rules);
        let oom = merged
            .rules
            .iter()
            .find(|r| r.id == "oom-crash-loop")
            .expect("kept");
        assert_eq!(oom.same, SymptomScope::Cluster);
        assert_eq!(
            merged
                .rules
                .iter()
                .filter(|r| r.id == "oom-crash-loop")
                .count(),
            1
        );
        let windows = merged.compile().windows();
        let broker = windows.iter().find(|w| w.id == "broker").expect("added");
        assert_eq!((broker.before_ms, broker.after_ms), (120_000, 1_800_000));
        assert_eq!(
            windows
                .iter()
                .find(|w| w.id == "oom-crash-loop")
                .map(|w| w.after_ms),
            Some(3_600_000)
        );

        for (yaml, expected) in [
            ("schema_version: 2\n", "schema_version"),
            (
                "schema_version: 1\nrules:\n  - id: a\n    cause: x\n    same: cluster\n    symptoms: []\n",
                "no symptoms",
            ),
            (
                "schema_version: 1\nrules:\n  - id: a\n    cause: x\n    same: cluster\n    symptoms:\n      - {}\n",
                "empty symptom",
            ),
            (
                "schema_version: 1\nrules:\n  - id: a\n    cause: x\n    same: cluster\n    after: soon\n    symptoms:\n      - class: y\n",
                "after",
            ),
            (
                "schema_version: 1\nrules:\n  - id: a\n    cause: x\n    same: region\n    symptoms:\n      - class: y\n",
                "invalid YAML",
            ),
        ] {
            let err = CausalRules::from_yaml(yaml, "user.yaml").expect_err(yaml);
            assert_eq!(err.kind(), "mine_causal_rules");
            assert!(err.to_string().contains(expected), "{err} vs {expected}");
        }
    }
}
