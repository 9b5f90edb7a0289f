//! Service attribution: which service a piece of evidence belongs to.
//!
//! Input: a parsed record plus the log stream/group it came from, a list of known service
//! names and an alarm-name → service mapping. Output: a service name, or `"unknown"`. Sources,
//! best first: explicit mapping; known service names matched as whole tokens; Kubernetes
//! workload names with ReplicaSet/pod hash suffixes stripped (`checkout-7d9f8c6b5-x2k4q` →
//! `checkout`); Fluent Bit labels and pod names; the `<service>-` alarm-name prefix convention;
//! the log stream or group name. Must not classify faults.

use std::collections::BTreeMap;

use crate::mine::evidence::{AlarmChange, AppLine, KubeEvent};

/// The service name used when nothing identifies one.
pub const UNKNOWN_SERVICE: &str = "unknown";

/// Characters Kubernetes uses for generated name suffixes (`rand.SafeEncodeString`: no vowels,
/// no 0/1/3, so generated suffixes never spell words).
const K8S_SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Alarm dimensions that name a service, best first.
const SERVICE_DIMENSIONS: &[&str] = &[
    "ServiceName",
    "Service",
    "service",
    "DeploymentName",
    "Deployment",
];

/// Alarm dimensions that name a workload's pods (Container Insights pod metrics).
const WORKLOAD_DIMENSIONS: &[&str] = &["PodName", "Namespace", "FullPodName", "ContainerName"];

/// Alarm dimensions that name an EKS/ECS cluster.
const CLUSTER_DIMENSIONS: &[&str] = &["ClusterName", "Cluster", "cluster", "EKSClusterName"];

/// Last path segments of log groups that name a log source, not a service.
const GENERIC_GROUP_SEGMENTS: &[&str] = &[
    "application",
    "applications",
    "app",
    "host",
    "dataplane",
    "performance",
    "containerinsights",
    "aws",
    "eks",
    "ecs",
    "lambda",
    "events",
    "logs",
    "cluster",
    "var",
    "log",
    "containers",
    "stdout",
    "stderr",
    "kube-system",
    "fluent-bit",
    "fis",
];

/// Resolves services for evidence.
#[derive(Debug, Clone, Default)]
pub struct ServiceResolver {
    /// Known service names, lower-cased, longest first (so `checkout-api` wins over `checkout`).
    known: Vec<String>,
    /// Exact alarm name → service.
    alarm_services: BTreeMap<String, String>,
}

impl ServiceResolver {
    /// A resolver for these known services and alarm mapping (both may be empty).
    pub fn new(known: &[String], alarm_services: &BTreeMap<String, String>) -> Self {
        let mut known: Vec<String> = known
            .iter()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        known.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        known.dedup();
        Self {
            known,
            alarm_services: alarm_services.clone(),
        }
    }

    /// A known service appearing in `candidate` as a whole token sequence.
    pub fn known_in(&self, candidate: &str) -> Option<&str> {
        let lower = candidate.to_lowercase();
        self.known
            .iter()
            .find(|s| contains_token(&lower, s))
            .map(String::as_str)
    }

    /// Service of an alarm: mapping, known names, a service dimension, then `<service>-` prefix.
    pub fn for_alarm(&self, alarm: &AlarmChange) -> String {
        if let Some(service) = self.alarm_services.get(&alarm.alarm_name) {
            return service.clone();
        }
        if let Some(service) = self.known_in(&alarm.alarm_name) {
            return service.to_owned();
        }
        for &key in SERVICE_DIMENSIONS {
            if let Some(value) = alarm.dimensions.get(key) {
                return self
                    .known_in(value)
                    .map_or_else(|| value.to_lowercase(), str::to_owned);
            }
        }
        if self.known.is_empty()
            && let Some((prefix, _)) = alarm.alarm_name.split_once(['-', '_'])
            && !prefix.is_empty()
        {
            return prefix.to_lowercase();
        }
        UNKNOWN_SERVICE.to_owned()
    }

    /// The cluster an alarm is about, when it is a cluster alarm rather than a service's: not
    /// mapped to a service, naming no known service and carrying no service dimension, and
    /// either named after a cluster (one of `clusters`, or its own `ClusterName` dimension, as a
    /// whole token sequence: `staging-eks-node-count-low`) or on a Container Insights cluster or
    /// node metric (`cluster_failed_node_count`, `node_cpu_utilization`) without pod, service
    /// or namespace dimensions. Returns the cluster's name, empty when no name is known.
    pub fn alarm_cluster(&self, alarm: &AlarmChange, clusters: &[String]) -> Option<String> {
        if self.alarm_services.contains_key(&alarm.alarm_name)
            || self.known_in(&alarm.alarm_name).is_some()
            || alarm.dimensions.keys().any(|k| {
                SERVICE_DIMENSIONS.contains(&k.as_str())
                    || WORKLOAD_DIMENSIONS.contains(&k.as_str())
            })
        {
            return None;
        }
        let dimension_cluster = alarm
            .dimensions
            .iter()
            .find(|(k, _)| CLUSTER_DIMENSIONS.contains(&k.as_str()))
            .map(|(_, v)| v.as_str());
        let name = alarm.alarm_name.to_lowercase();
        let named = dimension_cluster
            .into_iter()
            .chain(clusters.iter().map(String::as_str))
            .find(|c| !c.is_empty() && contains_token(&name, &c.to_lowercase()));
        if let Some(cluster) = named {
            return Some(cluster.to_owned());
        }
        let metric = alarm
            .metric_name
            .as_deref()
            .unwrap_or_default()
            .to_lowercase();
        let container_insights = alarm
            .namespace
            .as_deref()
            .is_some_and(|ns| ns.eq_ignore_ascii_case("ContainerInsights"));
        if container_insights && (metric.starts_with("cluster_") || metric.starts_with("node_")) {
            return Some(dimension_cluster.unwrap_or_default().to_owned());
        }
        None
    }

    /// Service of a Kubernetes Event from its involved object (Nodes have none: `unknown`).
    pub fn for_kube(&self, event: &KubeEvent) -> String {
        if event.object_kind.eq_ignore_ascii_case("Node") {
            return UNKNOWN_SERVICE.to_owned();
        }
        if let Some(service) = self.known_in(&event.object_name) {
            return service.to_owned();
        }
        if !event.object_name.is_empty() {
            return workload_name(&event.object_name);
        }
        event
            .namespace
            .as_deref()
            .and_then(|ns| self.known_in(ns))
            .map_or_else(|| UNKNOWN_SERVICE.to_owned(), str::to_owned)
    }

    /// Service of an application line: its own label/field, its pod, then stream and group.
    pub fn for_app(
        &self,
        line: &AppLine,
        log_stream: Option<&str>,
        log_group: Option<&str>,
    ) -> String {
        if let Some(hint) = &line.service_hint {
            return self
                .known_in(hint)
                .map_or_else(|| hint.to_lowercase(), str::to_owned);
        }
        if let Some(pod) = &line.pod {
            return self
                .known_in(pod)
                .map_or_else(|| workload_name(pod), str::to_owned);
        }
        if let Some(stream) = log_stream {
            if let Some(pod) = container_log_pod(stream) {
                return self
                    .known_in(pod)
                    .map_or_else(|| workload_name(pod), str::to_owned);
            }
            if let Some(service) = self.known_in(stream) {
                return service.to_owned();
            }
            // A stream named after a pod (`checkout-7d9f8c6b5-x2k4q`).
            let workload = workload_name(stream);
            if !stream.contains(['/', '.']) && workload != stream.to_lowercase() {
                return workload;
            }
        }
        if let Some(group) = log_group
            && let Some(service) = self.known_in(group)
        {
            return service.to_owned();
        }
        if let Some(stream) = log_stream
            && let Some(container) = ecs_stream_container(stream)
        {
            return container.to_lowercase();
        }
        if let Some(group) = log_group
            && let Some(last) = group.rsplit('/').find(|s| !s.is_empty())
            && !GENERIC_GROUP_SEGMENTS.contains(&last.to_lowercase().as_str())
        {
            return last.to_lowercase();
        }
        UNKNOWN_SERVICE.to_owned()
    }
}

/// Does `haystack` contain `needle` bounded by non-alphanumeric characters or the ends?
fn contains_token(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn is_generated(segment: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&segment.len()) && segment.bytes().all(|b| K8S_SAFE_ALPHABET.contains(&b))
}

/// Strips generated suffixes from a pod or ReplicaSet name: the 5-character pod suffix, the
/// pod-template hash before it (6–10 characters), or a StatefulSet ordinal.
///
/// `checkout-7d9f8c6b5-x2k4q` → `checkout`; `checkout-7d9f8c6b5` → `checkout`;
/// `redis-0` → `redis`; `fluent-bit-x2k4q` → `fluent-bit`.
pub fn workload_name(pod: &str) -> String {
    let parts: Vec<&str> = pod.split('-').collect();
    let mut end = parts.len();
    if end > 1 && parts[end - 1].bytes().all(|b| b.is_ascii_digit()) && !parts[end - 1].is_empty() {
        end -= 1;
    } else if end > 1 && is_generated(parts[end - 1], 5..=5) {
        end -= 1;
        if end > 1 && is_generated(parts[end - 1], 6..=10) {
            end -= 1;
        }
    } else if end > 2
        && parts[end - 1].len() == 5
        && parts[end - 1]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && is_generated(parts[end - 2], 6..=10)
    {
        // A hand-written suffix (`-abcde` in docs and tests) after a real template hash.
        end -= 2;
    } else if end > 1 && is_generated(parts[end - 1], 6..=10) {
        end -= 1;
    }
    parts[..end].join("-").to_lowercase()
}

/// The pod in a Container Insights stream name
/// `<node>-application.var.log.containers.<pod>_<namespace>_<container>-<id>.log`.
fn container_log_pod(stream: &str) -> Option<&str> {
    let (_, rest) = stream.split_once("containers.")?;
    let (pod, _) = rest.split_once('_')?;
    (!pod.is_empty()).then_some(pod)
}

/// The container in an ECS `awslogs` stream name `<prefix>/<container>/<task-id>`.
fn ecs_stream_container(stream: &str) -> Option<&str> {
    let parts: Vec<&str> = stream.split('/').collect();
    match parts.as_slice() {
        [_, container, task] if task.len() >= 16 && task.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(container)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::evidence::Level;

    fn alarm(name: &str) -> AlarmChange {
        AlarmChange {
            alarm_name: name.to_owned(),
            previous_state: "OK".to_owned(),
            state: "ALARM".to_owned(),
            reason: String::new(),
            reason_data: None,
            metric_name: None,
            namespace: None,
            dimensions: BTreeMap::new(),
            description: None,
        }
    }

    fn kube(kind: &str, name: &str) -> KubeEvent {
        KubeEvent {
            reason: "BackOff".to_owned(),
            message: String::new(),
            event_type: "Warning".to_owned(),
            object_kind: kind.to_owned(),
            object_name: name.to_owned(),
            namespace: Some("shop".to_owned()),
            host: None,
        }
    }

    fn line() -> AppLine {
        AppLine {
            text: "ERROR x".to_owned(),
            level: Level::Error,
            http_status: None,
            pod: None,
            namespace: None,
            host: None,
            service_hint: None,
        }
    }

    fn known(services: &[&str]) -> ServiceResolver {
        let services: Vec<String> = services.iter().map(|s| (*s).to_owned()).collect();
        ServiceResolver::new(&services, &BTreeMap::new())
    }

    #[test]
    fn strips_generated_suffixes() {
        let cases = [
            ("checkout-7d9f8c6b5-x2k4q", "checkout"),
            ("checkout-7d9f8c6b5", "checkout"),
            ("order-api-5c8d7f9b8-abcdq", "order-api"),
            ("redis-0", "redis"),
            ("fluent-bit-x2k4q", "fluent-bit"),
            ("nginx", "nginx"),
            ("web-nginx", "web-nginx"),
            ("payments-service", "payments-service"),
        ];
        for (pod, expected) in cases {
            assert_eq!(workload_name(pod), expected, "{pod}");
        }
    }

    #[test]
    fn alarm_services_by_mapping_known_tokens_dimension_and_prefix() {
        let mut map = BTreeMap::new();
        map.insert("HighLatencyAlarm".to_owned(), "catalog".to_owned());
        let resolver =
            ServiceResolver::new(&["checkout".to_owned(), "checkout-api".to_owned()], &map);
        assert_eq!(resolver.for_alarm(&alarm("HighLatencyAlarm")), "catalog");
        assert_eq!(
            resolver.for_alarm(&alarm("prod-checkout-api-5xx")),
            "checkout-api"
        );
        assert_eq!(resolver.for_alarm(&alarm("prod-checkout-5xx")), "checkout");
        assert_eq!(
            resolver.for_alarm(&alarm("checkoutservice-5xx")),
            UNKNOWN_SERVICE,
            "tokens, not substrings"
        );
        let mut with_dim = alarm("HighCPU");
        with_dim
            .dimensions
            .insert("ServiceName".to_owned(), "Orders".to_owned());
        assert_eq!(resolver.for_alarm(&with_dim), "orders");
        // Prefix convention applies only without a known-service list.
        assert_eq!(
            known(&[]).for_alarm(&alarm("payments-cpu-high")),
            "payments"
        );
        assert_eq!(known(&[]).for_alarm(&alarm("HighCPU")), UNKNOWN_SERVICE);
    }

    #[test]
    fn kubernetes_services_from_involved_object() {
        let resolver = known(&[]);
        assert_eq!(
            resolver.for_kube(&kube("Pod", "checkout-7d9f8c6b5-x2k4q")),
            "checkout"
        );
        assert_eq!(
            resolver.for_kube(&kube("ReplicaSet", "checkout-7d9f8c6b5")),
            "checkout"
        );
        assert_eq!(
            resolver.for_kube(&kube("Node", "ip-10-0-1-20")),
            UNKNOWN_SERVICE
        );
        assert_eq!(
            known(&["cart"]).for_kube(&kube("Pod", "cart-v2-abcdq")),
            "cart"
        );
    }

    #[test]
    fn application_services_from_hint_pod_stream_and_group() {
        let resolver = known(&[]);
        let mut hinted = line();
        hinted.service_hint = Some("Orders".to_owned());
        hinted.pod = Some("x-7d9f8c6b5-x2k4q".to_owned());
        assert_eq!(resolver.for_app(&hinted, None, None), "orders");
        let mut with_pod = line();
        with_pod.pod = Some("payments-5c8d7f9b8-abcdq".to_owned());
        assert_eq!(resolver.for_app(&with_pod, None, None), "payments");
        let stream = "ip-10-0-1-20.ec2.internal-application.var.log.containers.catalog-6f7d9c8b4-qwxz2_shop_app-0123abcd.log";
        assert_eq!(resolver.for_app(&line(), Some(stream), None), "catalog");
        assert_eq!(
            resolver.for_app(
                &line(),
                Some("ecs/checkout/0123456789abcdef0123456789abcdef"),
                None
            ),
            "checkout"
        );
        assert_eq!(
            resolver.for_app(&line(), None, Some("/ecs/inventory")),
            "inventory"
        );
        assert_eq!(
            resolver.for_app(
                &line(),
                Some("i-0abc"),
                Some("/aws/containerinsights/prod/application")
            ),
            UNKNOWN_SERVICE
        );
        assert_eq!(
            known(&["search"]).for_app(&line(), Some("prod-search-stream"), None),
            "search"
        );
        assert_eq!(resolver.for_app(&line(), None, None), UNKNOWN_SERVICE);
        assert_eq!(
            resolver.for_app(&line(), Some("checkout-7d9f8c6b5-x2k4q"), None),
            "checkout"
        );
        assert_eq!(
            resolver.for_app(&line(), Some("plain-stream"), None),
            UNKNOWN_SERVICE
        );
    }

    #[test]
    fn cluster_alarms_are_named_after_the_cluster_or_on_cluster_metrics() {
        let resolver = known(&["checkout"]);
        let clusters = ["staging-eks".to_owned()];
        let mut named = alarm("staging-eks-node-count-low");
        assert_eq!(
            resolver.alarm_cluster(&named, &clusters).as_deref(),
            Some("staging-eks")
        );
        assert_eq!(
            known(&[]).alarm_cluster(&named, &[]),
            None,
            "no cluster known"
        );
        named
            .dimensions
            .insert("ClusterName".to_owned(), "staging-eks".to_owned());
        assert_eq!(
            known(&[]).alarm_cluster(&named, &[]).as_deref(),
            Some("staging-eks")
        );
        // A service's alarm in that cluster stays the service's.
        let mut service = alarm("staging-eks-checkout-memory-high");
        assert_eq!(resolver.alarm_cluster(&service, &clusters), None);
        service.alarm_name = "orders-memory-high".to_owned();
        service
            .dimensions
            .insert("ClusterName".to_owned(), "staging-eks".to_owned());
        assert_eq!(known(&[]).alarm_cluster(&service, &clusters), None);
        let mut metric = alarm("FailedNodes");
        metric.namespace = Some("ContainerInsights".to_owned());
        metric.metric_name = Some("cluster_failed_node_count".to_owned());
        assert_eq!(resolver.alarm_cluster(&metric, &[]).as_deref(), Some(""));
        metric
            .dimensions
            .insert("PodName".to_owned(), "checkout".to_owned());
        assert_eq!(resolver.alarm_cluster(&metric, &[]), None);
    }
}
