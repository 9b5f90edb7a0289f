//! Lint findings: stable rule IDs, severities, and the two output forms.
//!
//! Input: findings produced by [`super::lint`] and [`super::blast_radius`]. Output: the
//! `file:line:col: severity: message [rule-id]` text form and a JSON form. It must not decide
//! what is wrong with a template; it only names and prints.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is. `Error` findings make `gameday lint` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Probably a mistake, or something lint cannot verify.
    Warning,
    /// FIS would reject it, or a safety rule forbids it.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

macro_rules! rules {
    ($($(#[doc = $doc:literal])* $variant:ident => $id:literal,)*) => {
        /// A lint rule. Its ID (kebab-case) is stable: scripts and suppressions depend on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Rule {
            $($(#[doc = $doc])* #[serde(rename = $id)] $variant,)*
        }

        impl Rule {
            /// Every rule, in declaration order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable rule ID, e.g. `unknown-action`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }
        }
    };
}

rules! {
    /// The file is not valid JSON.
    JsonSyntax => "json-syntax",
    /// The document is not a JSON object.
    NotAnObject => "not-an-object",
    /// A scenario file does not parse or breaks its schema (YAML, keys, values, stages).
    ScenarioInvalid => "scenario-invalid",
    /// A key appears twice in one object (the last one wins).
    DuplicateKey => "duplicate-key",
    /// A field the request does not have.
    UnknownField => "unknown-field",
    /// A required field is missing.
    MissingField => "missing-field",
    /// A field has the wrong JSON type.
    BadFieldType => "bad-field-type",
    /// A field is longer than the API allows.
    FieldTooLong => "field-too-long",
    /// `roleArn` is missing.
    MissingRole => "missing-role",
    /// `roleArn` is not an IAM role ARN.
    BadRoleArn => "bad-role-arn",
    /// `stopConditions` is missing or empty.
    NoStopConditions => "no-stop-conditions",
    /// A stop condition with `source: none`.
    StopConditionNone => "stop-condition-none",
    /// A stop condition with a bad source or alarm ARN.
    BadStopCondition => "bad-stop-condition",
    /// More stop conditions than the quota.
    TooManyStopConditions => "too-many-stop-conditions",
    /// `actions` is missing or empty.
    NoActions => "no-actions",
    /// More actions than the quota.
    TooManyActions => "too-many-actions",
    /// An action ID that does not exist.
    UnknownAction => "unknown-action",
    /// A legacy action ID or resource type FIS still accepts; the current ID is named.
    LegacyId => "legacy-id",
    /// A required parameter is missing.
    MissingParameter => "missing-parameter",
    /// A parameter the action or resource type does not have.
    UnknownParameter => "unknown-parameter",
    /// A parameter value of the wrong kind (not a string, not a number, not in the enum ...).
    BadParameterValue => "bad-parameter-value",
    /// A duration that is not ISO-8601.
    BadDuration => "bad-duration",
    /// A duration outside the allowed range.
    DurationRange => "duration-range",
    /// A percentage outside its range (parameter or `PERCENT(n)`).
    PercentRange => "percent-range",
    /// A number outside its range.
    ValueRange => "value-range",
    /// A `selectionMode` that is not `ALL`, `COUNT(n)` or `PERCENT(n)`.
    BadSelectionMode => "bad-selection-mode",
    /// `COUNT(n)` above what one action may act on (50 pods, 5 instances ...).
    TooManyTargetResources => "too-many-target-resources",
    /// A resource type FIS does not have.
    UnknownResourceType => "unknown-resource-type",
    /// ARNs or tags on a resource type that takes neither (`aws:eks:pod`).
    TargetArnsNotAllowed => "target-arns-not-allowed",
    /// `resourceArns` together with `resourceTags` or `filters`.
    ArnsExclusive => "arns-exclusive",
    /// More ARNs in one target than the quota.
    TooManyArns => "too-many-arns",
    /// A target with no ARNs, tags or parameters.
    TargetNoIdentification => "target-no-identification",
    /// A target parameter value with characters FIS rejects (commas, parentheses, quotes ...).
    BadParameterChars => "bad-parameter-chars",
    /// A filter without `path` or `values`.
    BadFilter => "bad-filter",
    /// A target no action uses.
    UnusedTarget => "unused-target",
    /// An action refers to a target name that is not defined.
    UnknownTarget => "unknown-target",
    /// An action's target has a resource type the action cannot act on.
    TargetTypeMismatch => "target-type-mismatch",
    /// An action uses a target key it does not have (e.g. `Instances` on a pod action).
    UnknownTargetKey => "unknown-target-key",
    /// An action that needs a target has none.
    MissingActionTarget => "missing-action-target",
    /// The action needs a target of exactly one ARN.
    SingleArnTarget => "single-arn-target",
    /// `startAfter` forms a cycle.
    StartAfterCycle => "start-after-cycle",
    /// `startAfter` names an action that does not exist.
    StartAfterUnknown => "start-after-unknown",
    /// More actions may run at once than the quota.
    TooManyParallel => "too-many-parallel",
    /// The longest `startAfter` chain is longer than the experiment quota.
    DurationQuota => "duration-quota",
    /// Network faults that must not overlap on one pod may run at once.
    ParallelNetworkConflict => "parallel-network-conflict",
    /// `emptyTargetResolutionMode` is invalid, or `skip` (which can silently inject nothing).
    EmptyTargetMode => "empty-target-mode",
    /// An invalid `experimentOptions` value.
    BadOption => "bad-option",
    /// An invalid `logConfiguration`.
    BadLogConfiguration => "bad-log-configuration",
    /// Policy: the environment is not allowed.
    PolicyEnvironment => "policy-environment",
    /// Policy: production without both opt-ins (config and CLI flag).
    PolicyProduction => "policy-production",
    /// Policy: a target does not require the opt-in label.
    PolicyOptInLabel => "policy-opt-in-label",
    /// Policy: a namespace outside the allow-list.
    PolicyNamespace => "policy-namespace",
    /// Policy: `COUNT(n)` above the cap.
    PolicyCount => "policy-count",
    /// Policy: `PERCENT(n)` (or `ALL`) above the cap.
    PolicyPercent => "policy-percent",
    /// Policy: more parallel actions than the cap.
    PolicyParallel => "policy-parallel",
    /// Policy: longer than the cap.
    PolicyDuration => "policy-duration",
    /// Policy: more than one database or availability zone in one stage, or a node group /
    /// instance share above the cap.
    PolicyScope => "policy-scope",
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One problem in one file, at a 1-based line and column (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The file as given to lint.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, and what to do instead when known.
    pub message: String,
    /// The rule (serialised as its ID).
    pub rule_id: Rule,
    /// JSON pointer of the offending member (empty for the whole document).
    pub pointer: String,
}

impl fmt::Display for Finding {
    /// `file:line:col: error|warning: message [rule-id]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {} [{}]",
            self.file,
            self.line,
            self.col,
            self.severity.as_str(),
            self.message,
            self.rule_id
        )
    }
}

/// One line per finding, in the `file:line:col: severity: message [rule-id]` form.
pub fn format_findings(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&f.to_string());
        out.push('\n');
    }
    out
}

/// The findings as a pretty JSON array.
pub fn findings_to_json(findings: &[Finding]) -> String {
    serde_json::to_string_pretty(findings)
        .expect("findings serialise: every field is a string, an integer or a unit enum")
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Finding {
        Finding {
            file: "t.json".into(),
            line: 3,
            col: 7,
            severity: Severity::Error,
            message: "unknown action ID aws:eks:terminate-pod".into(),
            rule_id: Rule::UnknownAction,
            pointer: "/actions/kill/actionId".into(),
        }
    }

    #[test]
    fn text_form() {
        assert_eq!(
            format_findings(&[sample()]),
            "t.json:3:7: error: unknown action ID aws:eks:terminate-pod [unknown-action]\n"
        );
    }

    #[test]
    fn json_form_uses_rule_ids() {
        let json = findings_to_json(&[sample()]);
        assert!(json.contains("\"rule_id\": \"unknown-action\""), "{json}");
        assert!(json.contains("\"severity\": \"error\""), "{json}");
        let back: Vec<Finding> = serde_json::from_str(&json).expect("round trips");
        assert_eq!(back, vec![sample()]);
    }

    #[test]
    fn rule_ids_are_unique_kebab_case_and_serde_agrees() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in Rule::ALL {
            let id = rule.id();
            assert!(seen.insert(id), "duplicate {id}");
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
            assert_eq!(
                serde_json::to_string(rule).expect("ser"),
                format!("\"{id}\"")
            );
        }
    }
}
