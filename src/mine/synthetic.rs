//! **SIMULATION ONLY**: a deterministic generator of a synthetic CloudWatch Logs history.
//!
//! Nothing here is real data. It exists to test `mine` end to end and to seed the local
//! emulator with a realistic-looking past: EventBridge "CloudWatch Alarm State Change" events
//! (with `+0000` detail timestamps and string-encoded `reasonData`), Kubernetes Events as Fluent
//! Bit's `kubernetes_events` input ships them, Fluent Bit application records from Container
//! Insights (`{"log": .., "kubernetes": {..}}`), FIS experiment log records (schema v2), and
//! ordinary noise (INFO/DEBUG lines, Normal events) plus a few unclassifiable ERROR lines.
//!
//! Input: a [`SyntheticSpec`] (seed, start, days, services, incidents per fault class).
//! Output: a [`SyntheticHistory`]: events sorted by time and the ground truth of seeded
//! incidents. Deterministic: the same spec gives byte-identical events (a SplitMix64 PRNG, no
//! `rand` crate, no clock). Must not do I/O.
//!
//! Shape of an incident of each supported class (events at most 4 minutes apart, so one
//! incident is never split by the default 15-minute gap; incidents of one class fall on
//! distinct days, so two never merge):
//! - `memory-exhaustion`: alarm `<svc>-memory-high` ALARM→OK + FATAL/ERROR OutOfMemory lines +
//!   one node-scoped `OOMKilling` Warning event on the pod's Node (it names no service, as the
//!   kernel's OOM killer does not; mining must join it to the service's incident)
//! - `cpu-saturation`: alarm `<svc>-cpu-high` ALARM→OK + WARN CPU-throttling lines
//! - `network-latency`: alarm `<svc>-latency-p99` ALARM→OK + ERROR `context deadline exceeded`
//! - `dependency-connection-failure`: ERROR `connection refused` / `too many clients` lines
//! - `dns-failure`: ERROR `no such host` lines
//! - `deploy-failure`: Warning events `Failed` (image pull) and `BackOff` (pulling image)
//! - `node-failure`: `NodeNotReady` events on a Node (service `unknown`)
//! - `pod-crash`: Warning `BackOff` (restarting failed container) + `panic:` lines

use crate::provider::LogEvent;

/// Classes the generator knows how to simulate.
pub const SUPPORTED_CLASSES: &[&str] = &[
    "memory-exhaustion",
    "cpu-saturation",
    "network-latency",
    "dependency-connection-failure",
    "dns-failure",
    "deploy-failure",
    "node-failure",
    "pod-crash",
];

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;
/// Longest pause between two pieces of evidence inside one simulated incident.
const MAX_EVIDENCE_SPACING_MS: i64 = 4 * MS_PER_MINUTE;
const K8S_SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast, well-mixed 64-bit PRNG. Not
/// cryptographic; used only so simulations are reproducible from a seed.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0). The modulo bias is negligible for small `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// An element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// How many incidents of one class to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededClass {
    /// One of [`SUPPORTED_CLASSES`].
    pub class: String,
    /// Incidents to generate (at most one per day).
    pub incidents: u32,
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// PRNG seed.
    pub seed: u64,
    /// First instant of the history, epoch ms.
    pub start_ms: i64,
    /// Length of the history in days.
    pub days: u32,
    /// Service (Deployment) names.
    pub services: Vec<String>,
    /// Kubernetes namespace of the services.
    pub namespace: String,
    /// EKS cluster name (used in log group names).
    pub cluster: String,
    /// Incidents per class.
    pub classes: Vec<SeededClass>,
    /// Ordinary INFO/DEBUG lines and Normal events per day.
    pub noise_per_day: u32,
    /// Unclassifiable ERROR lines (`cart merge failed ...`) per 30 days.
    pub unclassified_per_30_days: u32,
    /// FIS action IDs of past gameday runs, one completed experiment each.
    pub past_experiments: Vec<String>,
}

impl Default for SyntheticSpec {
    /// 180 days from 2025-01-01 for `checkout`, `payments`, `catalog`; seven fault classes;
    /// one past experiment running `aws:eks:pod-cpu-stress` (so `cpu-saturation` is verified).
    fn default() -> Self {
        let classes = [
            ("memory-exhaustion", 14),
            ("dependency-connection-failure", 12),
            ("network-latency", 6),
            ("cpu-saturation", 8),
            ("deploy-failure", 6),
            ("dns-failure", 5),
            ("node-failure", 4),
        ];
        Self {
            seed: 20_250_101,
            start_ms: 1_735_689_600_000, // 2025-01-01T00:00:00Z
            days: 180,
            services: ["checkout", "payments", "catalog"]
                .map(str::to_owned)
                .to_vec(),
            namespace: "shop".to_owned(),
            cluster: "prod".to_owned(),
            classes: classes
                .iter()
                .map(|(class, incidents)| SeededClass {
                    class: (*class).to_owned(),
                    incidents: *incidents,
                })
                .collect(),
            noise_per_day: 120,
            unclassified_per_30_days: 10,
            past_experiments: vec!["aws:eks:pod-cpu-stress".to_owned()],
        }
    }
}

/// One seeded incident (ground truth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededIncident {
    /// Fault class.
    pub class: String,
    /// Service (`unknown` for node failures).
    pub service: String,
    /// First evidence, epoch ms.
    pub start_ms: i64,
    /// Last evidence (or alarm OK) minus first evidence, ms.
    pub duration_ms: i64,
}

/// The simulated history.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticHistory {
    /// Events sorted by timestamp (ties by message).
    pub events: Vec<LogEvent>,
    /// The incidents that were seeded.
    pub incidents: Vec<SeededIncident>,
}

/// Generates a history (see the module doc). Unsupported class names are skipped.
pub fn generate(spec: &SyntheticSpec) -> SyntheticHistory {
    let mut sim = Sim {
        rng: SplitMix64::new(spec.seed),
        spec,
        events: Vec::new(),
        rs_hash: spec.services.iter().map(|_| String::new()).collect(),
    };
    for i in 0..spec.services.len() {
        sim.rs_hash[i] = sim.generated(9);
    }
    let days = i64::from(spec.days.max(1));
    let mut incidents = Vec::new();
    for seeded in &spec.classes {
        if !SUPPORTED_CLASSES.contains(&seeded.class.as_str()) || spec.services.is_empty() {
            continue;
        }
        // Distinct days per class (partial Fisher-Yates), so incidents of a class never merge.
        let mut day_pool: Vec<i64> = (0..days).collect();
        let count = (seeded.incidents as usize).min(day_pool.len());
        for i in 0..count {
            let j = i + sim.rng.below((day_pool.len() - i) as u64) as usize;
            day_pool.swap(i, j);
        }
        for &day in &day_pool[..count] {
            let service_index = sim.rng.below(spec.services.len() as u64) as usize;
            // Start between 00:30 and 22:00 so an incident stays inside its day.
            let start =
                spec.start_ms + day * MS_PER_DAY + sim.rng.range(30, 22 * 60) * MS_PER_MINUTE;
            incidents.push(sim.incident(&seeded.class, service_index, start));
        }
    }
    sim.noise(days);
    sim.past_experiments();
    let mut events = sim.events;
    events.sort_by(|a, b| (a.timestamp_ms, &a.message).cmp(&(b.timestamp_ms, &b.message)));
    incidents.sort_by(|a, b| (a.start_ms, &a.class).cmp(&(b.start_ms, &b.class)));
    SyntheticHistory { events, incidents }
}

struct Sim<'a> {
    rng: SplitMix64,
    spec: &'a SyntheticSpec,
    events: Vec<LogEvent>,
    rs_hash: Vec<String>,
}

impl Sim<'_> {
    fn generated(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(*self.rng.pick(K8S_SAFE_ALPHABET)))
            .collect()
    }

    fn pod(&mut self, service_index: usize) -> String {
        let suffix = self.generated(5);
        format!(
            "{}-{}-{}",
            self.spec.services[service_index], self.rs_hash[service_index], suffix
        )
    }

    fn node(&mut self) -> String {
        format!(
            "ip-10-0-{}-{}.{REGION}.compute.internal",
            self.rng.range(1, 3),
            self.rng.range(10, 250)
        )
    }

    /// Evidence instants from `start` to exactly `start + duration`, at most 4 minutes apart.
    fn instants(&mut self, start: i64, duration: i64) -> Vec<i64> {
        let mut times = vec![start];
        let mut t = start;
        loop {
            t += self.rng.range(20_000, MAX_EVIDENCE_SPACING_MS);
            if t >= start + duration {
                break;
            }
            times.push(t);
        }
        if duration > 0 {
            times.push(start + duration);
        }
        times
    }

    fn incident(&mut self, class: &str, service_index: usize, start: i64) -> SeededIncident {
        let service = self.spec.services[service_index].clone();
        let (lo, hi) = match class {
            "memory-exhaustion" => (20, 45),
            "cpu-saturation" => (10, 30),
            "network-latency" => (10, 35),
            "dependency-connection-failure" => (5, 25),
            "dns-failure" => (5, 15),
            "deploy-failure" => (15, 40),
            "node-failure" => (20, 50),
            _ => (5, 20),
        };
        let duration = self.rng.range(lo, hi) * MS_PER_MINUTE;
        let pod = self.pod(service_index);
        let node = self.node();
        let instants = self.instants(start, duration);
        let alarm_kind = match class {
            "memory-exhaustion" => Some((
                "memory-high",
                "ContainerInsights",
                "pod_memory_utilization",
                90.0,
            )),
            "cpu-saturation" => {
                Some(("cpu-high", "ContainerInsights", "pod_cpu_utilization", 85.0))
            }
            "network-latency" => Some((
                "latency-p99",
                "AWS/ApplicationELB",
                "TargetResponseTime",
                1.5,
            )),
            _ => None,
        };
        if let Some((suffix, namespace, metric, threshold)) = alarm_kind {
            let name = format!("{service}-{suffix}");
            self.alarm(&name, namespace, metric, threshold, "OK", "ALARM", start);
            self.alarm(
                &name,
                namespace,
                metric,
                threshold,
                "ALARM",
                "OK",
                start + duration,
            );
        }
        let last = instants.len() - 1;
        for (i, &t) in instants.iter().enumerate() {
            // With an alarm, the alarm bounds the incident; lines fill the inside.
            if alarm_kind.is_some() && (i == 0 || i == last) {
                continue;
            }
            match class {
                "memory-exhaustion" => {
                    let text = if i % 2 == 0 {
                        "FATAL java.lang.OutOfMemoryError: Java heap space".to_owned()
                    } else {
                        format!(
                            "ERROR fatal error: runtime: out of memory allocating {} bytes",
                            self.rng.range(1 << 20, 1 << 28)
                        )
                    };
                    self.app_line(service_index, &pod, &node, t, &text);
                    if i == 1 {
                        self.node_oom_kill(&node, t - 5_000);
                    }
                }
                "cpu-saturation" => {
                    let text = format!(
                        "WARN request handling slow: cpu throttled for {}ms of 1000ms period",
                        self.rng.range(400, 950)
                    );
                    self.app_line(service_index, &pod, &node, t, &text);
                }
                "network-latency" => {
                    let text = format!(
                        "ERROR upstream call to inventory failed: context deadline exceeded after {}ms",
                        self.rng.range(2000, 5000)
                    );
                    self.app_line(service_index, &pod, &node, t, &text);
                }
                "dependency-connection-failure" => {
                    let text = if i % 3 == 2 {
                        "ERROR pq: sorry, too many clients already".to_owned()
                    } else {
                        format!(
                            "ERROR failed to acquire connection: dial tcp 10.0.{}.{}:5432: connect: connection refused",
                            self.rng.range(1, 3),
                            self.rng.range(10, 250)
                        )
                    };
                    self.app_line(service_index, &pod, &node, t, &text);
                }
                "dns-failure" => {
                    let text = format!(
                        "ERROR lookup orders-db.{}.svc.cluster.local on 172.20.0.10:53: no such host (attempt {})",
                        self.spec.namespace,
                        i + 1
                    );
                    self.app_line(service_index, &pod, &node, t, &text);
                }
                "deploy-failure" => {
                    let image = format!(
                        "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{service}:v1.{}.{}",
                        self.rng.range(0, 40),
                        self.rng.range(0, 9)
                    );
                    if i % 2 == 0 {
                        let message = format!(
                            "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to resolve reference \"{image}\": not found"
                        );
                        self.kube_event("Pod", &pod, "Failed", &message, "Warning", &node, t);
                    } else {
                        let message = format!("Back-off pulling image \"{image}\"");
                        self.kube_event("Pod", &pod, "BackOff", &message, "Warning", &node, t);
                    }
                }
                "node-failure" => {
                    let message = format!("Node {node} status is now: NodeNotReady");
                    self.kube_event(
                        "Node",
                        &node.clone(),
                        "NodeNotReady",
                        &message,
                        "Normal",
                        &node,
                        t,
                    );
                }
                _ => {
                    if i % 2 == 0 {
                        let message = format!(
                            "Back-off restarting failed container app in pod {pod}_{}",
                            self.spec.namespace
                        );
                        self.kube_event(
                            "Pod",
                            &pod.clone(),
                            "BackOff",
                            &message,
                            "Warning",
                            &node,
                            t,
                        );
                    } else {
                        let text = "panic: runtime error: invalid memory address or nil pointer dereference";
                        self.app_line(service_index, &pod, &node, t, text);
                    }
                }
            }
        }
        SeededIncident {
            class: class.to_owned(),
            service: if class == "node-failure" {
                "unknown".to_owned()
            } else {
                service
            },
            start_ms: start,
            duration_ms: duration,
        }
    }

    fn noise(&mut self, days: i64) {
        let total = days * i64::from(self.spec.noise_per_day);
        let span = days * MS_PER_DAY;
        for _ in 0..total {
            let t = self.spec.start_ms + self.rng.range(0, span - 1);
            let service_index = self.rng.below(self.spec.services.len() as u64) as usize;
            let pod = self.pod(service_index);
            let node = self.node();
            let id = self.rng.range(10_000, 99_999);
            let ms = self.rng.range(3, 400);
            let text = match self.rng.below(8) {
                0 => format!("INFO GET /api/v1/items/{id} 200 {ms}ms"),
                1 => format!(
                    "INFO order {id} placed total={}.{:02} EUR",
                    self.rng.range(5, 500),
                    self.rng.range(0, 99)
                ),
                2 => format!("DEBUG cache hit ratio 0.{}", self.rng.range(80, 99)),
                3 => format!(
                    "INFO connection pool stats: active={} idle={}",
                    self.rng.range(1, 20),
                    self.rng.range(0, 20)
                ),
                4 => format!("INFO request completed status=200 duration={ms}ms"),
                5 => format!("INFO retrying payment {id} after transient error: attempt 1 of 3"),
                6 => {
                    let message = format!(
                        "Successfully assigned {}/{pod} to {node}",
                        self.spec.namespace
                    );
                    self.kube_event("Pod", &pod, "Scheduled", &message, "Normal", &node, t);
                    continue;
                }
                _ => {
                    let message = format!("Started container app in pod {pod}");
                    self.kube_event("Pod", &pod, "Started", &message, "Normal", &node, t);
                    continue;
                }
            };
            self.app_line(service_index, &pod, &node, t, &text);
        }
        let unclassified = days * i64::from(self.spec.unclassified_per_30_days) / 30;
        for _ in 0..unclassified {
            let t = self.spec.start_ms + self.rng.range(0, span - 1);
            let service_index = self.rng.below(self.spec.services.len() as u64) as usize;
            let pod = self.pod(service_index);
            let node = self.node();
            let text = format!(
                "ERROR cart merge failed: invariant violated for sku {}",
                self.rng.range(100_000, 999_999)
            );
            self.app_line(service_index, &pod, &node, t, &text);
        }
    }

    fn past_experiments(&mut self) {
        let actions = self.spec.past_experiments.clone();
        for (n, action) in actions.iter().enumerate() {
            let id = format!("EXP{}", self.generated(14).to_uppercase());
            let start = self.spec.start_ms + (n as i64 + 1) * 7 * MS_PER_DAY + 10 * 3_600_000;
            let records = [
                (
                    "experiment-start",
                    start,
                    serde_json::json!({"experiment_state": {"status": "running"}}),
                ),
                (
                    "action-start",
                    start + 15_000,
                    serde_json::json!({"action_name": "stress", "action_id": action, "action_state": {"status": "running"}}),
                ),
                (
                    "action-end",
                    start + 315_000,
                    serde_json::json!({"action_name": "stress", "action_id": action, "action_state": {"status": "completed", "reason": "Action was completed."}}),
                ),
                (
                    "experiment-end",
                    start + 320_000,
                    serde_json::json!({"experiment_state": {"status": "completed"}}),
                ),
            ];
            for (log_type, t, details) in records {
                let record = serde_json::json!({
                    "id": id, "log_type": log_type, "event_timestamp": iso(t), "version": "2", "details": details,
                });
                self.push(
                    t,
                    record.to_string(),
                    &format!("/aws/fis/{id}"),
                    "/aws/fis/experiments",
                );
            }
        }
    }

    /// The kernel OOM killer's Node event (as node-problem-detector reports it). It draws from
    /// its own generator so adding it leaves every other simulated value unchanged.
    fn node_oom_kill(&mut self, node: &str, t: i64) {
        let own = SplitMix64::new(self.spec.seed ^ t.unsigned_abs());
        let saved = std::mem::replace(&mut self.rng, own);
        let pid = self.rng.range(1_000, 60_000);
        let message = format!(
            "Memory cgroup out of memory: Killed process {pid} (java) total-vm:{}kB, anon-rss:{}kB, file-rss:0kB, shmem-rss:0kB",
            self.rng.range(2_000_000, 4_000_000),
            self.rng.range(900_000, 1_100_000)
        );
        self.kube_event("Node", node, "OOMKilling", &message, "Warning", node, t);
        self.rng = saved;
    }

    fn push(&mut self, t: i64, message: String, stream: &str, group: &str) {
        self.events.push(LogEvent {
            timestamp_ms: t,
            message,
            log_stream: Some(stream.to_owned()),
            log_group: Some(group.to_owned()),
        });
    }

    fn app_line(&mut self, service_index: usize, pod: &str, node: &str, t: i64, text: &str) {
        let docker_id = format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64());
        let ns = self.spec.namespace.clone();
        let record = serde_json::json!({
            "log": format!("{} {text}\n", iso(t)),
            "stream": "stderr",
            "time": iso(t),
            "kubernetes": {
                "pod_name": pod,
                "namespace_name": ns,
                "pod_id": format!("{:08x}-0000-4000-8000-{:012x}", self.rng.next_u64() as u32, self.rng.next_u64() >> 16),
                "host": node,
                "container_name": "app",
                "docker_id": docker_id,
                "container_image": format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{}:v1.4.2", self.spec.services[service_index]),
            },
        });
        let stream =
            format!("{node}-application.var.log.containers.{pod}_{ns}_app-{docker_id}.log");
        let group = format!("/aws/containerinsights/{}/application", self.spec.cluster);
        self.push(t, record.to_string(), &stream, &group);
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site per event kind; a struct would only rename them"
    )]
    fn kube_event(
        &mut self,
        kind: &str,
        name: &str,
        reason: &str,
        message: &str,
        event_type: &str,
        node: &str,
        t: i64,
    ) {
        let namespace = if kind == "Node" {
            "default".to_owned()
        } else {
            self.spec.namespace.clone()
        };
        let record = serde_json::json!({
            "metadata": {
                "name": format!("{name}.{:x}", self.rng.next_u64() >> 12),
                "namespace": namespace,
                "resourceVersion": self.rng.range(100_000, 9_999_999).to_string(),
                "creationTimestamp": iso_seconds(t),
            },
            "involvedObject": {"kind": kind, "namespace": namespace, "name": name, "apiVersion": "v1"},
            "reason": reason,
            "message": message,
            "source": {"component": if kind == "Node" { "node-controller" } else { "kubelet" }, "host": node},
            "firstTimestamp": iso_seconds(t),
            "lastTimestamp": iso_seconds(t),
            "count": 1,
            "type": event_type,
            "eventTime": null,
        });
        let group = format!("/aws/containerinsights/{}/events", self.spec.cluster);
        self.push(t, record.to_string(), "kubernetes-events", &group);
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the fields of the EventBridge event"
    )]
    fn alarm(
        &mut self,
        name: &str,
        namespace: &str,
        metric: &str,
        threshold: f64,
        from: &str,
        to: &str,
        t: i64,
    ) {
        let value = if to == "ALARM" {
            threshold * 1.2
        } else {
            threshold * 0.6
        };
        let reason_data = serde_json::json!({
            "version": "1.0", "queryDate": plus0000(t), "startDate": plus0000(t - 180_000), "statistic": "Average",
            "period": 60, "recentDatapoints": [value, value], "threshold": threshold,
        });
        let (reason, prev_reason) = if to == "ALARM" {
            (
                format!(
                    "Threshold Crossed: 2 out of the last 3 datapoints [{value:.1}, {value:.1}] were greater than the threshold ({threshold:.1})."
                ),
                "Threshold Crossed: no datapoints were greater than the threshold".to_owned(),
            )
        } else {
            (
                format!(
                    "Threshold Crossed: 3 datapoints [{value:.1}] were not greater than the threshold ({threshold:.1})."
                ),
                "Threshold Crossed: 2 out of the last 3 datapoints were greater than the threshold"
                    .to_owned(),
            )
        };
        let event = serde_json::json!({
            "version": "0",
            "id": format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", self.rng.next_u64() as u32, self.rng.below(0xffff), self.rng.below(0xfff), self.rng.below(0xfff), self.rng.next_u64() >> 16),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": ACCOUNT,
            "time": iso_seconds(t),
            "region": REGION,
            "resources": [format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}")],
            "detail": {
                "alarmName": name,
                "configuration": {
                    "description": format!("{metric} above {threshold}"),
                    "metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": namespace, "name": metric,
                        "dimensions": {"ClusterName": self.spec.cluster}}, "period": 60, "stat": "Average"}, "returnData": true}],
                },
                "previousState": {"value": from, "reason": prev_reason, "timestamp": plus0000(t - 600_000)},
                "state": {"value": to, "reason": reason, "reasonData": reason_data.to_string(), "timestamp": plus0000(t)},
            },
        });
        self.push(
            t,
            event.to_string(),
            "events",
            "/aws/events/cloudwatch-alarms",
        );
    }
}

/// Fault classes [`more_fault_evidence`] seeds, each in a service's own application log.
pub const MORE_FAULT_CLASSES: &[&str] = &[
    "node-failure",
    "database-failover",
    "az-impairment",
    "dependency-connection-failure",
    "throttling",
    "packet-loss",
    "pod-crash",
];

/// **SIMULATION ONLY**: evidence of faults beyond one service's pods — lost nodes, database
/// failovers, an impaired availability zone, a dependency refusing connections (named with its
/// port, `postgres at host:5432`) and Kinesis throttling — plus packet loss and crashing pods,
/// as ERROR/WARN lines in the services'
/// application logs, so each incident is attributed to a service and `gameday plan` can target
/// node groups, databases, subnets, the dependency's port and the pods' IAM role.
///
/// `incidents` incidents per class of [`MORE_FAULT_CLASSES`], 5 to 15 minutes long with lines at
/// most 4 minutes apart, on days distinct per class, services chosen at random. Deterministic in
/// `spec.seed`; independent of [`generate`] (its own random stream), so adding it to a history
/// changes nothing else in it.
pub fn more_fault_evidence(spec: &SyntheticSpec, incidents: u32) -> SyntheticHistory {
    let mut sim = Sim {
        rng: SplitMix64::new(spec.seed ^ 0x00BE_70ED_F00D),
        spec,
        events: Vec::new(),
        rs_hash: spec.services.iter().map(|_| String::new()).collect(),
    };
    for i in 0..spec.services.len() {
        sim.rs_hash[i] = sim.generated(9);
    }
    let days = i64::from(spec.days.max(1));
    let mut seeded = Vec::new();
    if spec.services.is_empty() {
        return SyntheticHistory {
            events: Vec::new(),
            incidents: seeded,
        };
    }
    for class in MORE_FAULT_CLASSES {
        let mut day_pool: Vec<i64> = (0..days).collect();
        let count = (incidents as usize).min(day_pool.len());
        for i in 0..count {
            let j = i + sim.rng.below((day_pool.len() - i) as u64) as usize;
            day_pool.swap(i, j);
        }
        for &day in &day_pool[..count] {
            let service_index = sim.rng.below(spec.services.len() as u64) as usize;
            let start =
                spec.start_ms + day * MS_PER_DAY + sim.rng.range(30, 22 * 60) * MS_PER_MINUTE;
            let duration = sim.rng.range(5, 15) * MS_PER_MINUTE;
            let pod = sim.pod(service_index);
            let node = sim.node();
            for (i, t) in sim.instants(start, duration).into_iter().enumerate() {
                let text = match *class {
                    "node-failure" => format!(
                        "WARN lost node {node}: kubelet stopped posting node status, {} pods to \
                         reschedule",
                        sim.rng.range(3, 20)
                    ),
                    "database-failover" => "ERROR orders-db writer instance changed: FATAL: the \
                                            database system is in recovery mode, reconnecting"
                        .to_owned(),
                    "az-impairment" => format!(
                        "ERROR calls to {REGION}a endpoints failing: availability zone is \
                         unavailable (attempt {})",
                        i + 1
                    ),
                    "dependency-connection-failure" => format!(
                        "ERROR could not connect to postgres at payments-db.{}.svc:5432: \
                         connection refused",
                        spec.namespace
                    ),
                    "packet-loss" => format!(
                        "WARN tcp retransmission timeout talking to inventory: packet loss {}%",
                        sim.rng.range(5, 30)
                    ),
                    "pod-crash" => "panic: runtime error: invalid memory address or nil \
                                    pointer dereference"
                        .to_owned(),
                    _ => format!(
                        "WARN kinesis PutRecords to stream orders failed: \
                         ProvisionedThroughputExceededException: Rate exceeded for shard \
                         shardId-{:012}",
                        sim.rng.range(0, 8)
                    ),
                };
                sim.app_line(service_index, &pod, &node, t, &text);
            }
            seeded.push(SeededIncident {
                class: (*class).to_owned(),
                service: spec.services[service_index].clone(),
                start_ms: start,
                duration_ms: duration,
            });
        }
    }
    let mut events = sim.events;
    events.sort_by(|a, b| (a.timestamp_ms, &a.message).cmp(&(b.timestamp_ms, &b.message)));
    seeded.sort_by(|a, b| (a.start_ms, &a.class).cmp(&(b.start_ms, &b.class)));
    SyntheticHistory {
        events,
        incidents: seeded,
    }
}

fn time(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `2025-03-04T10:15:42.456Z`
fn iso(ms: i64) -> String {
    time(ms).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `2025-03-04T10:15:42Z` (Kubernetes timestamps have whole seconds).
fn iso_seconds(ms: i64) -> String {
    time(ms).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `2025-03-04T10:15:42.456+0000`, the alarm-detail format.
fn plus0000(ms: i64) -> String {
    time(ms).format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::evidence::{Record, parse_event};

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn generation_is_deterministic_and_seed_dependent() {
        let spec = SyntheticSpec {
            days: 20,
            noise_per_day: 10,
            ..SyntheticSpec::default()
        };
        let a = generate(&spec);
        assert_eq!(a, generate(&spec));
        let b = generate(&SyntheticSpec { seed: 7, ..spec });
        assert_ne!(a.events, b.events);
    }

    #[test]
    fn history_has_every_evidence_shape_sorted_in_time() {
        let spec = SyntheticSpec {
            days: 30,
            noise_per_day: 20,
            ..SyntheticSpec::default()
        };
        let history = generate(&spec);
        assert!(
            history
                .events
                .windows(2)
                .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
        );
        let start = spec.start_ms;
        let end = start + 30 * MS_PER_DAY;
        assert!(
            history
                .events
                .iter()
                .all(|e| (start..end).contains(&e.timestamp_ms))
        );
        let (mut alarms, mut kube, mut fis, mut fluent) = (0, 0, 0, 0);
        for event in &history.events {
            match parse_event(event).record {
                Record::Alarm(alarm) => {
                    alarms += 1;
                    assert!(alarm.reason_data.is_some(), "reasonData must decode");
                    assert!(event.message.contains("+0000"));
                }
                Record::Kube(_) => kube += 1,
                Record::Fis(_) => fis += 1,
                Record::App(line) => {
                    assert!(
                        line.pod.is_some(),
                        "application lines are Fluent Bit records"
                    );
                    fluent += 1;
                }
            }
        }
        assert!(
            alarms > 0 && kube > 0 && fis == 4 && fluent > 0,
            "{alarms} {kube} {fis} {fluent}"
        );
        // Every seeded class got its incidents, on distinct days per class.
        for seeded in &spec.classes {
            let days: Vec<i64> = history
                .incidents
                .iter()
                .filter(|i| i.class == seeded.class)
                .map(|i| (i.start_ms - start) / MS_PER_DAY)
                .collect();
            assert_eq!(days.len(), seeded.incidents as usize, "{}", seeded.class);
            let mut unique = days.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), days.len());
        }
    }

    #[test]
    fn unsupported_classes_are_skipped() {
        let spec = SyntheticSpec {
            days: 3,
            noise_per_day: 0,
            unclassified_per_30_days: 0,
            past_experiments: Vec::new(),
            classes: vec![SeededClass {
                class: "solar-flare".to_owned(),
                incidents: 2,
            }],
            ..SyntheticSpec::default()
        };
        let history = generate(&spec);
        assert!(history.events.is_empty() && history.incidents.is_empty());
    }
}
