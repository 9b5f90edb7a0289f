//! The fault-signature library: which evidence means which fault class.
//!
//! Input: the built-in YAML (`data/fault-signatures.yaml`, embedded) plus optional user
//! signatures from the config. Output: a [`SignatureLibrary`] (classes with their FIS actions,
//! ordered signatures) and its compiled, lower-cased form [`CompiledSignatures`] that
//! [`CompiledSignatures::classify`] runs against a [`Subject`]. Matching is case-insensitive
//! substring/word search over pre-lower-cased needles (no regex). Must not read files or decide
//! service or severity.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mine::error::MineError;

/// The built-in library, embedded at compile time.
const BUILTIN_YAML: &str = include_str!("../../data/fault-signatures.yaml");

/// Every real FIS action ID (aws-fis reference §4, user-guide snapshot late 2025). Signature
/// files may only name these, so a typo or an invented ID (`aws:eks:pod-kill`) is rejected.
pub const KNOWN_FIS_ACTIONS: &[&str] = &[
    "aws:eks:pod-cpu-stress",
    "aws:eks:pod-memory-stress",
    "aws:eks:pod-io-stress",
    "aws:eks:pod-delete",
    "aws:eks:pod-network-latency",
    "aws:eks:pod-network-packet-loss",
    "aws:eks:pod-network-blackhole-port",
    "aws:eks:terminate-nodegroup-instances",
    "aws:eks:inject-kubernetes-custom-resource",
    "aws:ec2:stop-instances",
    "aws:ec2:terminate-instances",
    "aws:ec2:reboot-instances",
    "aws:ec2:send-spot-instance-interruptions",
    "aws:ec2:api-insufficient-instance-capacity-error",
    "aws:ec2:asg-insufficient-instance-capacity-error",
    "aws:rds:failover-db-cluster",
    "aws:rds:reboot-db-instances",
    "aws:network:disrupt-connectivity",
    "aws:network:route-table-disrupt-cross-region-connectivity",
    "aws:network:transit-gateway-disrupt-cross-region-connectivity",
    "aws:network:disrupt-vpc-endpoint",
    "aws:fis:wait",
    "aws:fis:inject-api-internal-error",
    "aws:fis:inject-api-throttle-error",
    "aws:fis:inject-api-unavailable-error",
    "aws:cloudwatch:assert-alarm-state",
    "aws:ssm:send-command",
    "aws:ssm:start-automation-execution",
    "aws:lambda:invocation-add-delay",
    "aws:lambda:invocation-error",
    "aws:lambda:invocation-http-integration-response",
    "aws:arc:start-zonal-autoshift",
    "aws:ebs:pause-volume-io",
    "aws:ebs:volume-io-latency",
    "aws:dynamodb:global-table-pause-replication",
    "aws:dsql:cluster-connection-failure",
    "aws:elasticache:replicationgroup-interrupt-az-power",
    "aws:kinesis:stream-provisioned-throughput-exception",
    "aws:kinesis:stream-expired-iterator-exception",
    "aws:memorydb:multi-region-cluster-pause-replication",
    "aws:s3:bucket-pause-replication",
    "aws:directconnect:virtual-interface-disconnect",
    "aws:ecs:drain-container-instances",
    "aws:ecs:stop-task",
    "aws:ecs:task-cpu-stress",
    "aws:ecs:task-io-stress",
    "aws:ecs:task-kill-process",
    "aws:ecs:task-network-blackhole-port",
    "aws:ecs:task-network-latency",
    "aws:ecs:task-network-packet-loss",
];

/// A signature file: fault classes and ordered signatures (the shape of the built-in YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureLibrary {
    /// Format version of the file; currently 1.
    pub schema_version: u32,
    /// Fault classes with their reproducing FIS actions.
    #[serde(default)]
    pub classes: Vec<FaultClass>,
    /// Signatures in priority order: the first match wins.
    #[serde(default)]
    pub signatures: Vec<Signature>,
}

/// A fault class and how to reproduce it with AWS FIS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultClass {
    /// Kebab-case name, e.g. `memory-exhaustion`.
    pub name: String,
    /// One sentence saying what the class covers.
    #[serde(default)]
    pub description: String,
    /// FIS actions that reproduce it (real action IDs only).
    #[serde(default)]
    pub fis_actions: Vec<FisAction>,
    /// How close those actions are, or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fis_caveat: Option<String>,
}

/// One FIS action suggested for a class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FisAction {
    /// The FIS action ID, e.g. `aws:eks:pod-memory-stress`.
    pub action_id: String,
    /// Suggested action parameters (values as FIS takes them: strings).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Targeting or prerequisite notes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One signature: evidence patterns for one fault class.
///
/// It matches when ANY trigger (`reasons`, `alarm`, `contains`, `words`, `http_status`) matches
/// and, when `with_any` is non-empty, the text or alarm also contains one of `with_any`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Stable identifier, for explanations and overrides.
    pub id: String,
    /// The fault class it indicates.
    pub class: String,
    /// Kubernetes Event reasons, compared whole, any case.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Substrings of alarm name, metric name or description.
    #[serde(default)]
    pub alarm: Vec<String>,
    /// Substrings of the message text or its template.
    #[serde(default)]
    pub contains: Vec<String>,
    /// Whole words of the message text or its template.
    #[serde(default)]
    pub words: Vec<String>,
    /// HTTP statuses: exact (`"504"`) or a class (`"5xx"`).
    #[serde(default)]
    pub http_status: Vec<String>,
    /// Extra condition: one of these substrings must also be present.
    #[serde(default)]
    pub with_any: Vec<String>,
}

impl SignatureLibrary {
    /// The built-in library from `data/fault-signatures.yaml`.
    pub fn builtin() -> Self {
        Self::from_yaml(BUILTIN_YAML, "built-in")
            .expect("the embedded signature YAML is valid: checked by unit tests")
    }

    /// Parses and validates a signature file (the built-in shape; `classes` may be omitted).
    ///
    /// # Errors
    /// [`MineError::Signatures`] when the YAML is malformed, a signature has no trigger, names
    /// no known or declared class, or a class names an FIS action ID that does not exist.
    pub fn from_yaml(yaml: &str, origin: &str) -> Result<Self, MineError> {
        let library: Self = yaml_serde::from_str(yaml).map_err(|source| MineError::Signatures {
            origin: origin.to_owned(),
            problem: "invalid YAML or unknown field".to_owned(),
            source: Some(source),
        })?;
        if library.schema_version != 1 {
            return Err(signature_error(
                origin,
                format!(
                    "unsupported schema_version {}, expected 1",
                    library.schema_version
                ),
            ));
        }
        library.validate(origin)?;
        Ok(library)
    }

    fn validate(&self, origin: &str) -> Result<(), MineError> {
        for class in &self.classes {
            if class.name.is_empty()
                || !class
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(signature_error(
                    origin,
                    format!("class name {:?} must be kebab-case", class.name),
                ));
            }
            for action in &class.fis_actions {
                if !KNOWN_FIS_ACTIONS.contains(&action.action_id.as_str()) {
                    return Err(signature_error(
                        origin,
                        format!(
                            "class {} names unknown FIS action {:?}",
                            class.name, action.action_id
                        ),
                    ));
                }
            }
        }
        for signature in &self.signatures {
            let triggers = signature.reasons.len()
                + signature.alarm.len()
                + signature.contains.len()
                + signature.words.len()
                + signature.http_status.len();
            if triggers == 0 {
                return Err(signature_error(
                    origin,
                    format!("signature {} has no trigger", signature.id),
                ));
            }
            if signature.class.is_empty() {
                return Err(signature_error(
                    origin,
                    format!("signature {} names no class", signature.id),
                ));
            }
            if let Some(bad) = signature
                .http_status
                .iter()
                .find(|s| parse_status(s).is_none())
            {
                return Err(signature_error(
                    origin,
                    format!(
                        "signature {} has http_status {bad:?}; use e.g. \"504\" or \"5xx\"",
                        signature.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Merges user signatures into this library: they are tried before the built-in ones, a
    /// user class replaces a built-in class of the same name, and signatures naming a class
    /// that does not exist get a new class without FIS actions.
    pub fn merge(mut self, extra: Self) -> Self {
        for class in extra.classes {
            match self.classes.iter_mut().find(|c| c.name == class.name) {
                Some(existing) => *existing = class,
                None => self.classes.push(class),
            }
        }
        self.merge_signatures(extra.signatures)
    }

    /// Adds user signatures ahead of the existing ones (see [`SignatureLibrary::merge`]).
    pub fn merge_signatures(mut self, extra: Vec<Signature>) -> Self {
        for signature in &extra {
            if !self.classes.iter().any(|c| c.name == signature.class) {
                self.classes.push(FaultClass {
                    name: signature.class.clone(),
                    description: "user-defined fault class".to_owned(),
                    fis_actions: Vec::new(),
                    fis_caveat: Some(
                        "user-defined class: no FIS action is known for it".to_owned(),
                    ),
                });
            }
        }
        let mut signatures = extra;
        signatures.append(&mut self.signatures);
        self.signatures = signatures;
        self
    }

    /// The class of this name, if declared.
    pub fn class(&self, name: &str) -> Option<&FaultClass> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The classes an FIS action ID reproduces (every class listing it: evidence of a past run
    /// of `aws:eks:pod-network-blackhole-port` credits both DNS and dependency failures, since
    /// FIS logs do not say which port was blocked).
    pub fn classes_of_action(&self, action_id: &str) -> Vec<&str> {
        self.classes
            .iter()
            .filter(|c| c.fis_actions.iter().any(|a| a.action_id == action_id))
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Compiles the signatures for matching.
    pub fn compile(&self) -> CompiledSignatures {
        let lower = |items: &[String]| items.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
        CompiledSignatures {
            entries: self
                .signatures
                .iter()
                .map(|s| Compiled {
                    id: s.id.clone(),
                    class: s.class.clone(),
                    reasons: lower(&s.reasons),
                    alarm: lower(&s.alarm),
                    contains: lower(&s.contains),
                    words: lower(&s.words),
                    http_status: s
                        .http_status
                        .iter()
                        .filter_map(|s| parse_status(s))
                        .collect(),
                    with_any: lower(&s.with_any),
                })
                .collect(),
        }
    }
}

fn signature_error(origin: &str, problem: String) -> MineError {
    MineError::Signatures {
        origin: origin.to_owned(),
        problem,
        source: None,
    }
}

/// An HTTP status pattern: exact code or a hundred (`5xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusPattern {
    Exact(u16),
    Hundred(u16),
}

fn parse_status(text: &str) -> Option<StatusPattern> {
    let lower = text.to_ascii_lowercase();
    if let Some(digit) = lower.strip_suffix("xx") {
        return digit
            .parse::<u16>()
            .ok()
            .filter(|d| (1..=5).contains(d))
            .map(StatusPattern::Hundred);
    }
    lower
        .parse::<u16>()
        .ok()
        .filter(|s| (100..600).contains(s))
        .map(StatusPattern::Exact)
}

/// What a signature is matched against. Text fields must already be lower-case.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    /// Kubernetes Event reason (any case; compared case-insensitively).
    pub kube_reason: Option<&'a str>,
    /// Lower-cased alarm name, metric name and description.
    pub alarm_text: Option<&'a str>,
    /// Lower-cased message text and mined template (joined by a newline).
    pub text: &'a str,
    /// HTTP status of the line, when any.
    pub http_status: Option<u16>,
}

/// The result of a match: the class and the signature that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification<'a> {
    /// Fault class name.
    pub class: &'a str,
    /// Signature id.
    pub signature: &'a str,
}

#[derive(Debug, Clone)]
struct Compiled {
    id: String,
    class: String,
    reasons: Vec<String>,
    alarm: Vec<String>,
    contains: Vec<String>,
    words: Vec<String>,
    http_status: Vec<StatusPattern>,
    with_any: Vec<String>,
}

/// Signatures with lower-cased needles, ready for [`CompiledSignatures::classify`].
#[derive(Debug, Clone)]
pub struct CompiledSignatures {
    entries: Vec<Compiled>,
}

impl CompiledSignatures {
    /// The class of the first signature that matches, if any.
    pub fn classify(&self, subject: &Subject<'_>) -> Option<Classification<'_>> {
        let mut words: Option<Vec<&str>> = None;
        for entry in &self.entries {
            let reason_hit = subject
                .kube_reason
                .is_some_and(|reason| entry.reasons.iter().any(|r| r.eq_ignore_ascii_case(reason)));
            let alarm_hit = subject
                .alarm_text
                .is_some_and(|alarm| entry.alarm.iter().any(|n| alarm.contains(n.as_str())));
            let text_hit = entry
                .contains
                .iter()
                .any(|n| subject.text.contains(n.as_str()));
            let word_hit = !entry.words.is_empty() && {
                let words = words.get_or_insert_with(|| {
                    subject
                        .text
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .collect()
                });
                entry.words.iter().any(|n| words.contains(&n.as_str()))
            };
            let status_hit = subject.http_status.is_some_and(|status| {
                entry.http_status.iter().any(|p| match p {
                    StatusPattern::Exact(code) => *code == status,
                    StatusPattern::Hundred(h) => status / 100 == *h,
                })
            });
            if !(reason_hit || alarm_hit || text_hit || word_hit || status_hit) {
                continue;
            }
            let condition = entry.with_any.is_empty()
                || entry.with_any.iter().any(|n| {
                    subject.text.contains(n.as_str())
                        || subject.alarm_text.is_some_and(|a| a.contains(n.as_str()))
                });
            if condition {
                return Some(Classification {
                    class: &entry.class,
                    signature: &entry.id,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_text(text: &str) -> Option<String> {
        let compiled = SignatureLibrary::builtin().compile();
        let lower = text.to_lowercase();
        compiled
            .classify(&Subject {
                text: &lower,
                ..Subject::default()
            })
            .map(|c| c.class.to_owned())
    }

    fn classify_kube(reason: &str, message: &str) -> Option<String> {
        let compiled = SignatureLibrary::builtin().compile();
        let text = format!("{reason}: {message}").to_lowercase();
        compiled
            .classify(&Subject {
                kube_reason: Some(reason),
                text: &text,
                ..Subject::default()
            })
            .map(|c| c.class.to_owned())
    }

    fn classify_alarm(name: &str, metric: &str) -> Option<String> {
        let compiled = SignatureLibrary::builtin().compile();
        let text = format!("{name} {metric}").to_lowercase();
        compiled
            .classify(&Subject {
                alarm_text: Some(&text),
                ..Subject::default()
            })
            .map(|c| c.class.to_owned())
    }

    #[test]
    fn builtin_library_is_valid_and_has_every_required_class() {
        let library = SignatureLibrary::builtin();
        for class in [
            "memory-exhaustion",
            "cpu-saturation",
            "network-latency",
            "packet-loss",
            "dependency-connection-failure",
            "database-failover",
            "node-failure",
            "az-impairment",
            "deploy-failure",
            "dns-failure",
            "pod-crash",
            "throttling",
        ] {
            assert!(library.class(class).is_some(), "missing class {class}");
        }
        for signature in &library.signatures {
            assert!(
                library.class(&signature.class).is_some(),
                "signature {} names undeclared class",
                signature.id
            );
        }
    }

    #[test]
    fn fis_actions_are_real_ids_and_match_the_brief() {
        let library = SignatureLibrary::builtin();
        for class in &library.classes {
            for action in &class.fis_actions {
                assert!(
                    KNOWN_FIS_ACTIONS.contains(&action.action_id.as_str()),
                    "{}",
                    action.action_id
                );
            }
            if class.fis_actions.is_empty() {
                assert!(
                    class.fis_caveat.is_some(),
                    "{} has no action and no caveat",
                    class.name
                );
            }
        }
        let first = |class: &str| {
            library
                .class(class)
                .and_then(|c| c.fis_actions.first())
                .map(|a| a.action_id.clone())
        };
        assert_eq!(
            first("memory-exhaustion").as_deref(),
            Some("aws:eks:pod-memory-stress")
        );
        assert_eq!(
            first("cpu-saturation").as_deref(),
            Some("aws:eks:pod-cpu-stress")
        );
        assert_eq!(
            first("network-latency").as_deref(),
            Some("aws:eks:pod-network-latency")
        );
        assert_eq!(
            first("packet-loss").as_deref(),
            Some("aws:eks:pod-network-packet-loss")
        );
        assert_eq!(
            first("dependency-connection-failure").as_deref(),
            Some("aws:eks:pod-network-blackhole-port")
        );
        assert_eq!(
            first("database-failover").as_deref(),
            Some("aws:rds:failover-db-cluster")
        );
        assert_eq!(
            first("node-failure").as_deref(),
            Some("aws:eks:terminate-nodegroup-instances")
        );
        assert_eq!(
            first("az-impairment").as_deref(),
            Some("aws:network:disrupt-connectivity")
        );
        assert_eq!(first("pod-crash").as_deref(), Some("aws:eks:pod-delete"));
        assert_eq!(first("deploy-failure"), None);
        let az = library
            .class("az-impairment")
            .and_then(|c| c.fis_actions.first())
            .expect("az action");
        assert_eq!(
            az.parameters.get("scope").map(String::as_str),
            Some("availability-zone")
        );
        assert!(
            library
                .class("dns-failure")
                .and_then(|c| c.fis_caveat.as_ref())
                .is_some()
        );
    }

    #[test]
    fn known_actions_exclude_ids_that_do_not_exist() {
        for wrong in [
            "aws:eks:terminate-pod",
            "aws:eks:pod-kill",
            "aws:eks:inject-pod-memory-stress",
            "aws:eks:pod-network-blackhole",
            "aws:eks:node-drain",
            "aws:network:route-table-disrupt",
            "aws:ssm:send-command/AWSFIS-Run-CPU-Stress",
        ] {
            assert!(!KNOWN_FIS_ACTIONS.contains(&wrong), "{wrong}");
        }
        let yaml = "schema_version: 1\nclasses:\n  - name: x\n    fis_actions:\n      - action_id: aws:eks:pod-kill\n";
        let err = SignatureLibrary::from_yaml(yaml, "user.yaml").expect_err("invented action");
        assert!(err.to_string().contains("aws:eks:pod-kill"), "{err}");
    }

    #[test]
    fn messages_map_to_classes() {
        let cases = [
            (
                "java.lang.OutOfMemoryError: Java heap space",
                "memory-exhaustion",
            ),
            ("container app was OOMKilled", "memory-exhaustion"),
            ("fatal error: runtime: out of memory", "memory-exhaustion"),
            ("cpu throttled for 900ms", "cpu-saturation"),
            ("dial tcp 10.0.0.5:443: i/o timeout", "network-latency"),
            (
                "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
                "network-latency",
            ),
            ("Read timed out", "network-latency"),
            (
                "dial tcp 10.0.0.5:5432: connect: connection refused",
                "dependency-connection-failure",
            ),
            (
                "FATAL: sorry, too many clients already",
                "dependency-connection-failure",
            ),
            ("Too many connections", "dependency-connection-failure"),
            (
                "org.postgresql.util.PSQLException: Connection to orders-db:5432 refused. Check that the hostname and port are correct",
                "dependency-connection-failure",
            ),
            (
                "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure",
                "dependency-connection-failure",
            ),
            (
                "redis.clients.jedis.exceptions.JedisConnectionException: Could not get a resource from the pool",
                "dependency-connection-failure",
            ),
            (
                "com.mongodb.MongoSocketOpenException: Exception opening socket",
                "dependency-connection-failure",
            ),
            (
                "ERROR 2002 (HY000): Can't connect to MySQL server on 'db' (115)",
                "dependency-connection-failure",
            ),
            (
                "read tcp 10.0.0.1:5000->10.0.0.2:6379: read: connection reset by peer",
                "dependency-connection-failure",
            ),
            (
                "FATAL: the database system is in recovery mode",
                "database-failover",
            ),
            (
                "ERROR: cannot execute INSERT in a read-only transaction",
                "database-failover",
            ),
            (
                "dial tcp: lookup db.internal on 10.100.0.10:53: no such host",
                "dns-failure",
            ),
            (
                "dial tcp: lookup db.internal on 10.100.0.10:53: i/o timeout",
                "dns-failure",
            ),
            ("query for api.example.com returned NXDOMAIN", "dns-failure"),
            ("resolver answered SERVFAIL", "dns-failure"),
            ("getaddrinfo ENOTFOUND payments.shop", "dns-failure"),
            (
                "An error occurred (ThrottlingException) when calling the PutItem operation: Rate exceeded",
                "throttling",
            ),
            ("upstream answered 429 Too Many Requests", "throttling"),
            ("observed 12% packet loss to 10.0.2.3", "packet-loss"),
            ("Kubelet stopped posting node status.", "node-failure"),
            (
                "0/3 nodes are available: 3 node(s) had volume node affinity conflict.",
                "az-impairment",
            ),
            ("panic: runtime error: invalid memory address", "pod-crash"),
            (
                "Failed to pull image \"repo/app:v9\": not found",
                "deploy-failure",
            ),
        ];
        for (text, class) in cases {
            assert_eq!(classify_text(text).as_deref(), Some(class), "{text}");
        }
        for noise in [
            "GET /health 200 3ms",
            "user logged in from room 12",
            "connection pool stats: active=5 idle=3",
        ] {
            assert_eq!(classify_text(noise), None, "{noise}");
        }
    }

    #[test]
    fn kubernetes_reasons_map_to_classes() {
        let cases = [
            (
                "OOMKilling",
                "Memory cgroup out of memory: Killed process 1234 (java)",
                "memory-exhaustion",
            ),
            (
                "BackOff",
                "Back-off restarting failed container app in pod x",
                "pod-crash",
            ),
            (
                "BackOff",
                "Back-off pulling image \"repo/app:v9\"",
                "deploy-failure",
            ),
            ("CrashLoopBackOff", "container crashed", "pod-crash"),
            (
                "FailedScheduling",
                "0/3 nodes are available: 3 Insufficient cpu.",
                "cpu-saturation",
            ),
            (
                "FailedScheduling",
                "0/3 nodes are available: 3 Insufficient memory.",
                "memory-exhaustion",
            ),
            (
                "FailedScheduling",
                "0/3 nodes are available: 3 node(s) had untolerated taint",
                "node-failure",
            ),
            (
                "NodeNotReady",
                "Node ip-10-0-1-20 status is now: NodeNotReady",
                "node-failure",
            ),
            (
                "Evicted",
                "The node was low on resource: memory. Container app was using 2Gi",
                "memory-exhaustion",
            ),
            (
                "Evicted",
                "The node was low on resource: ephemeral-storage.",
                "node-failure",
            ),
            ("ErrImagePull", "rpc error: not found", "deploy-failure"),
            ("ImagePullBackOff", "image pull back-off", "deploy-failure"),
            (
                "FailedMount",
                "MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg\" not found",
                "deploy-failure",
            ),
            (
                "Unhealthy",
                "Readiness probe failed: Get \"http://10.0.0.5:8080/ready\": context deadline exceeded",
                "network-latency",
            ),
            (
                "Unhealthy",
                "Liveness probe failed: dial tcp 10.0.0.5:8080: connect: connection refused",
                "pod-crash",
            ),
            (
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
                "pod-crash",
            ),
        ];
        for (reason, message, class) in cases {
            assert_eq!(
                classify_kube(reason, message).as_deref(),
                Some(class),
                "{reason}: {message}"
            );
        }
        assert_eq!(
            classify_kube("Scheduled", "Successfully assigned shop/x to node"),
            None
        );
        assert_eq!(classify_kube("Killing", "Stopping container app"), None);
    }

    #[test]
    fn alarm_names_map_to_classes() {
        let cases = [
            (
                "checkout-memory-high",
                "pod_memory_utilization",
                "memory-exhaustion",
            ),
            ("orders-HighCPU", "CPUUtilization", "cpu-saturation"),
            ("checkout-5xx", "HTTPCode_Target_5XX_Count", "error-burst"),
            (
                "catalog-latency-p99",
                "TargetResponseTime",
                "network-latency",
            ),
            ("orders-db-failover", "", "database-failover"),
            ("shop-az-impairment", "", "az-impairment"),
            ("cluster-node-not-ready", "", "node-failure"),
            (
                "payments-dynamodb-throttled",
                "ThrottledRequests",
                "throttling",
            ),
        ];
        for (name, metric, class) in cases {
            assert_eq!(
                classify_alarm(name, metric).as_deref(),
                Some(class),
                "{name}"
            );
        }
        assert_eq!(
            classify_alarm("billing-estimated-charges", "EstimatedCharges"),
            None
        );
    }

    #[test]
    fn http_status_triggers() {
        let compiled = SignatureLibrary::builtin().compile();
        let class = |status| {
            compiled
                .classify(&Subject {
                    text: "request failed",
                    http_status: Some(status),
                    ..Subject::default()
                })
                .map(|c| c.class.to_owned())
        };
        assert_eq!(class(504).as_deref(), Some("network-latency"));
        assert_eq!(class(503).as_deref(), Some("error-burst"));
        assert_eq!(class(429).as_deref(), Some("throttling"));
        assert_eq!(class(404), None);
    }

    #[test]
    fn matching_is_case_insensitive_and_words_are_whole() {
        assert_eq!(
            classify_text("CONNECTION REFUSED").as_deref(),
            Some("dependency-connection-failure")
        );
        assert_eq!(
            classify_text("killed: OOM").as_deref(),
            Some("memory-exhaustion")
        );
        assert_eq!(classify_text("zoom meeting in the boardroom"), None);
    }

    #[test]
    fn user_signatures_take_precedence_and_may_add_classes() {
        let yaml = r#"
schema_version: 1
signatures:
  - id: legacy-refused
    class: legacy-broker-down
    contains: ["connection refused"]
    with_any: ["broker"]
"#;
        let extra = SignatureLibrary::from_yaml(yaml, "user.yaml").expect("valid user file");
        let library = SignatureLibrary::builtin().merge(extra);
        assert!(
            library
                .class("legacy-broker-down")
                .is_some_and(|c| c.fis_actions.is_empty())
        );
        let compiled = library.compile();
        let class = |text: &str| {
            compiled
                .classify(&Subject {
                    text,
                    ..Subject::default()
                })
                .map(|c| (c.class.to_owned(), c.signature.to_owned()))
        };
        assert_eq!(
            class("broker: connection refused"),
            Some(("legacy-broker-down".to_owned(), "legacy-refused".to_owned()))
        );
        assert_eq!(
            class("db: connection refused").map(|c| c.0).as_deref(),
            Some("dependency-connection-failure")
        );
    }

    #[test]
    fn user_class_replaces_builtin_class() {
        let yaml = "schema_version: 1\nclasses:\n  - name: dns-failure\n    description: ours\n    fis_actions: []\n";
        let library = SignatureLibrary::builtin()
            .merge(SignatureLibrary::from_yaml(yaml, "u").expect("valid"));
        assert_eq!(
            library.class("dns-failure").map(|c| c.description.as_str()),
            Some("ours")
        );
        assert_eq!(
            library
                .classes
                .iter()
                .filter(|c| c.name == "dns-failure")
                .count(),
            1
        );
    }

    #[test]
    fn invalid_signature_files_are_rejected() {
        let cases = [
            (
                "schema_version: 1\nsignatures:\n  - id: a\n    class: x\n",
                "no trigger",
            ),
            (
                "schema_version: 1\nsignatures:\n  - id: a\n    class: x\n    contain: [y]\n",
                "invalid YAML",
            ),
            ("schema_version: 2\n", "schema_version"),
            (
                "schema_version: 1\nclasses:\n  - name: Not Kebab\n",
                "kebab-case",
            ),
            (
                "schema_version: 1\nsignatures:\n  - id: a\n    class: x\n    http_status: [\"5zz\"]\n",
                "http_status",
            ),
        ];
        for (yaml, expected) in cases {
            let err = SignatureLibrary::from_yaml(yaml, "user.yaml").expect_err(yaml);
            assert_eq!(err.kind(), "mine_signatures");
            assert!(format!("{err}").contains(expected), "{err} vs {expected}");
        }
    }

    #[test]
    fn classes_of_action_lists_every_class_reproduced() {
        let library = SignatureLibrary::builtin();
        assert_eq!(
            library.classes_of_action("aws:eks:pod-cpu-stress"),
            vec!["cpu-saturation"]
        );
        let blackhole = library.classes_of_action("aws:eks:pod-network-blackhole-port");
        assert!(
            blackhole.contains(&"dns-failure")
                && blackhole.contains(&"dependency-connection-failure")
        );
        assert!(library.classes_of_action("aws:fis:wait").is_empty());
    }
}
