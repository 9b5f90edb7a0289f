//! How each kind of FIS fault is targeted and staged: pods, EKS managed node groups, EC2
//! instances, RDS/Aurora databases, availability zones (subnets) and AWS API faults (IAM roles).
//!
//! Input: one FIS action a fault class suggests, the service and its config, the incident
//! evidence of the class and the planning options. Output: a [`PlannedFault`] — the scenario's
//! actions, its AWS resource targets and its stages — or why the action cannot be planned. It
//! must not call AWS: targets are identified by the opt-in tag (and the zone, the role ARN) so
//! FIS resolves them at run time and preflight checks them first.
//!
//! Staging rules (each stage is gated on the hypothesis by the run loop, as for pods):
//! - pods: the configured stages (default `COUNT(1)` → `PERCENT(10)` → `PERCENT(25)`);
//! - node groups: one instance (`aws:ec2:terminate-instances`, `COUNT(1)` of the cluster's
//!   opted-in node instances) → 10 % → 25 % of one opted-in managed node group
//!   (`aws:eks:terminate-nodegroup-instances` `instanceTerminationPercentage`), the percentages
//!   capped by the policy's `max_percent`;
//! - EC2 instances: the configured stages over the opted-in instances;
//! - databases: one reader reboot (`aws:rds:reboot-db-instances` on `COUNT(1)` opted-in instance,
//!   no forced failover) before a writer failover (`aws:rds:failover-db-cluster` on `COUNT(1)`
//!   opted-in cluster) — never more than one database per stage;
//! - availability zone: one zone, first cross-zone traffic only (`scope: availability-zone`, at
//!   most 2 minutes), then all traffic of its subnets (`scope: all`) for the fault duration;
//! - API faults: 10 % → 50 % → 100 % of the role's calls to the service's API.

use std::collections::BTreeMap;

use super::catalogue::ActionSpec;
use super::duration::IsoDuration;
use super::scenario::{ResourceTarget, ScenarioAction, Stage};
use super::selection::SelectionMode;
use crate::config::{Config, Service};
use crate::mine::{ClassSummary, FisAction};

/// Longest first AZ stage (cross-zone traffic only).
const ZONE_PROBE: IsoDuration = IsoDuration::from_mins(2);

/// Node-group shares after the one-instance stage.
const NODEGROUP_PERCENTS: [u8; 2] = [10, 25];

/// Shares of API calls that fail, stage by stage.
const API_PERCENTS: [u8; 3] = [10, 50, 100];

/// Well-known ports named by evidence words, checked in this order (first match wins).
const PORT_WORDS: &[(&str, u16)] = &[
    ("postgres", 5432),
    ("pgbouncer", 5432),
    ("psql", 5432),
    ("pq: ", 5432),
    ("mysql", 3306),
    ("mariadb", 3306),
    ("redis", 6379),
    ("memcached", 11211),
    ("mongo", 27017),
    ("kafka", 9092),
    ("rabbitmq", 5672),
    ("amqp", 5672),
    ("elasticsearch", 9200),
    ("https", 443),
    ("tls", 443),
];

/// Port assumed when neither config nor evidence names one (the commonest dependency port).
const DEFAULT_DEPENDENCY_PORT: u16 = 443;

/// A fault ready to become a scenario.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlannedFault {
    /// The scenario's actions.
    pub actions: Vec<ScenarioAction>,
    /// Its AWS resource targets (empty for pod faults).
    pub resources: Vec<ResourceTarget>,
    /// Its stages.
    pub stages: Vec<Stage>,
    /// What the planner assumed, for the scenario's caveat.
    pub assumptions: Vec<String>,
    /// How the fault is stopped and undone.
    pub rollback: String,
}

/// What planning one fault needs.
pub(crate) struct FaultInputs<'a> {
    pub service: &'a Service,
    pub class: &'a ClassSummary,
    pub config: &'a Config,
    /// The pod stages (configured, capped by the policy).
    pub pod_stages: &'a [Stage],
    pub observe: IsoDuration,
    pub fault_duration: IsoDuration,
    pub region: &'a str,
}

impl FaultInputs<'_> {
    /// The opt-in tag every AWS resource target carries: the policy's opt-in label as a tag,
    /// valued with the service name when the label is a key only.
    fn opt_in_tag(&self) -> (String, String) {
        match self.config.policy.opt_in_label.as_deref() {
            Some(label) => match label.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (label.to_owned(), self.service.name.clone()),
            },
            None => ("chaos-experiment".to_owned(), self.service.name.clone()),
        }
    }

    fn tagged(&self, resource_type: &str) -> ResourceTarget {
        let (k, v) = self.opt_in_tag();
        ResourceTarget {
            resource_type: resource_type.to_owned(),
            arns: Vec::new(),
            tags: BTreeMap::from([(k, v)]),
            filters: Vec::new(),
            parameters: BTreeMap::new(),
        }
    }

    /// Evidence text of the class, lowercased: its templates and those of its incidents.
    fn evidence(&self) -> String {
        let mut text = String::new();
        for t in &self.class.top_templates {
            text.push_str(&t.template);
            text.push('\n');
        }
        for i in &self.class.incidents {
            for t in &i.top_templates {
                text.push_str(&t.template);
                text.push('\n');
            }
        }
        text.to_ascii_lowercase()
    }
}

fn action(name: &str, id: &str, parameters: &[(&str, String)]) -> ScenarioAction {
    ScenarioAction {
        name: name.to_owned(),
        action_id: id.to_owned(),
        parameters: parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        start_after: Vec::new(),
    }
}

fn stage(
    name: &str,
    selection: SelectionMode,
    observe: IsoDuration,
    actions: &[&str],
    parameters: &[(&str, &str, String)],
) -> Stage {
    let mut st = Stage::new(name, selection, observe);
    st.actions = actions.iter().map(|a| (*a).to_owned()).collect();
    for (action, key, value) in parameters {
        st.parameters
            .entry((*action).to_owned())
            .or_default()
            .insert((*key).to_owned(), value.clone());
    }
    st
}

const STOP_BY_HAND: &str = "by hand: aws fis stop-experiment --id <experiment id> (printed by \
                            gameday run and kept in its journal)";

/// Plans one suggested action, or says why it cannot be planned.
pub(crate) fn plan_fault(
    suggested: &FisAction,
    spec: &ActionSpec,
    inputs: &FaultInputs<'_>,
) -> Result<PlannedFault, String> {
    let targets: Vec<&str> = spec.targets.values().map(String::as_str).collect();
    match targets.as_slice() {
        ["aws:eks:pod"] => pod_fault(suggested, spec, inputs),
        ["aws:eks:nodegroup"] => Ok(node_group_fault(inputs)),
        ["aws:ec2:instance"] if spec.id != "aws:ssm:send-command" => {
            Ok(instance_fault(spec, inputs))
        }
        ["aws:rds:cluster"] | ["aws:rds:db"] => Ok(database_fault(suggested, inputs)),
        ["aws:ec2:subnet"] if spec.id == "aws:network:disrupt-connectivity" => {
            Ok(zone_fault(inputs))
        }
        ["aws:iam:role"] if spec.id.starts_with("aws:fis:inject-api-") => api_fault(spec, inputs),
        _ => Err(format!(
            "{} acts on {}, which the planner does not target",
            spec.id,
            if targets.is_empty() {
                "nothing".to_owned()
            } else {
                targets.join(", ")
            }
        )),
    }
}

/// The catalogue's suggested parameters the action knows, plus the service account and duration.
fn fill_parameters(
    spec: &ActionSpec,
    suggested: &FisAction,
    inputs: &FaultInputs<'_>,
) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = suggested
        .parameters
        .iter()
        .filter(|(k, v)| spec.parameter(k).is_some() && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if spec.parameter("kubernetesServiceAccount").is_some() {
        params.insert(
            "kubernetesServiceAccount".to_owned(),
            inputs.config.fis.kubernetes_service_account.clone(),
        );
    }
    // The fault length is a GameDay decision, not the catalogue's: one duration for all.
    if spec.parameter("duration").is_some() {
        params.insert("duration".to_owned(), inputs.fault_duration.to_string());
    }
    params
}

fn missing_required(spec: &ActionSpec, params: &BTreeMap<String, String>) -> Result<(), String> {
    let missing: Vec<&str> = spec
        .parameters
        .iter()
        .filter(|p| p.required && !params.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} needs {} and the catalogue suggests no value",
            spec.id,
            missing.join(", ")
        ))
    }
}

fn pod_fault(
    suggested: &FisAction,
    spec: &ActionSpec,
    inputs: &FaultInputs<'_>,
) -> Result<PlannedFault, String> {
    let mut params = fill_parameters(spec, suggested, inputs);
    let mut assumptions = Vec::new();
    if spec.id == "aws:eks:pod-network-blackhole-port" {
        // Never dropped for lack of a port: config, then evidence, then the commonest port.
        if !params.contains_key("port") {
            let (port, how) = dependency_port(inputs);
            params.insert("port".to_owned(), port.to_string());
            if let Some(how) = how {
                assumptions.push(how);
            }
        }
        if let Some(p) = &inputs.service.faults.dependency_protocol {
            params.insert("protocol".to_owned(), p.clone());
        } else if !params.contains_key("protocol") {
            let evidence = inputs.evidence();
            let udp = evidence.contains("udp") && !evidence.contains("tcp");
            params.insert(
                "protocol".to_owned(),
                if udp { "udp" } else { "tcp" }.to_owned(),
            );
        }
        params
            .entry("trafficType".to_owned())
            .or_insert_with(|| "egress".to_owned());
    }
    missing_required(spec, &params)?;
    let name = spec.id.rsplit(':').next().unwrap_or("fault").to_owned();
    let rollback = if spec.id == "aws:eks:pod-delete" {
        format!(
            "deleted pods are replaced by their controller, there is nothing to undo; FIS stops \
             the experiment when a stop alarm enters ALARM; {STOP_BY_HAND}"
        )
    } else {
        format!(
            "{} ends when its duration elapses or the experiment stops (a stop alarm in ALARM \
             stops it; FIS then removes the fault and its ephemeral containers stop); \
             {STOP_BY_HAND}; then check no fault is left on the target pods",
            spec.id
        )
    };
    Ok(PlannedFault {
        actions: vec![ScenarioAction {
            name,
            action_id: spec.id.clone(),
            parameters: params,
            start_after: Vec::new(),
        }],
        resources: Vec::new(),
        stages: inputs.pod_stages.to_vec(),
        assumptions,
        rollback,
    })
}

/// The dependency port: config, then a `:port` or well-known word in the evidence, then
/// [`DEFAULT_DEPENDENCY_PORT`]. The second value says what was assumed, when anything was.
pub(crate) fn dependency_port(inputs: &FaultInputs<'_>) -> (u16, Option<String>) {
    if let Some(p) = inputs.service.faults.dependency_port {
        return (p, None);
    }
    let evidence = inputs.evidence();
    if let Some(p) = port_in_text(&evidence) {
        return (
            p,
            Some(format!("port {p} is taken from the incident evidence")),
        );
    }
    (
        DEFAULT_DEPENDENCY_PORT,
        Some(format!(
            "the incident evidence names no port, so port {DEFAULT_DEPENDENCY_PORT} is assumed: \
             set services[].faults.dependency_port for {} (e.g. 5432 for PostgreSQL)",
            inputs.service.name
        )),
    )
}

/// A port in evidence text: `host:5432` (a number after a colon, followed by a non-digit) or a
/// well-known word (`postgres` → 5432, ...).
pub(crate) fn port_in_text(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b':' {
            continue;
        }
        let digits: String = text[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if (2..=5).contains(&digits.len())
            && let Ok(p) = digits.parse::<u16>()
            && p > 0
        {
            return Some(p);
        }
    }
    let lower = text.to_ascii_lowercase();
    PORT_WORDS
        .iter()
        .find(|(w, _)| lower.contains(w))
        .map(|(_, p)| *p)
}

fn percent_stages(max_percent: u8, percents: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for p in percents {
        let capped = (*p).min(max_percent);
        if capped > 0 && !out.contains(&capped) {
            out.push(capped);
        }
    }
    out
}

fn node_group_fault(inputs: &FaultInputs<'_>) -> PlannedFault {
    let mut instances = inputs.tagged("aws:ec2:instance");
    if let Some(cluster) = &inputs.service.cluster {
        // EKS tags the instances of a managed node group with their cluster's name.
        instances
            .tags
            .insert("eks:cluster-name".to_owned(), cluster.clone());
    }
    let nodegroups = inputs.tagged("aws:eks:nodegroup");
    let percents = percent_stages(inputs.config.policy.max_percent, &NODEGROUP_PERCENTS);
    let first = percents.first().copied().unwrap_or(1).to_string();
    let mut stages = vec![stage(
        "one-node",
        SelectionMode::Count(1),
        inputs.observe,
        &["terminate-one"],
        &[],
    )];
    for p in &percents {
        stages.push(stage(
            &format!("nodegroup-{p}-percent"),
            SelectionMode::Count(1),
            inputs.observe,
            &["terminate"],
            &[("terminate", "instanceTerminationPercentage", p.to_string())],
        ));
    }
    PlannedFault {
        actions: vec![
            action("terminate-one", "aws:ec2:terminate-instances", &[]),
            action(
                "terminate",
                "aws:eks:terminate-nodegroup-instances",
                &[("instanceTerminationPercentage", first)],
            ),
        ],
        resources: vec![nodegroups, instances],
        stages,
        assumptions: vec![
            "the node group and its instances carry the opt-in tag (tag the node group and its \
             launch template)"
                .to_owned(),
        ],
        rollback: format!(
            "terminated nodes are replaced by the node group's Auto Scaling group and their pods \
             rescheduled, there is nothing to undo; watch the node count return to the desired \
             size; {STOP_BY_HAND}"
        ),
    }
}

fn instance_fault(spec: &ActionSpec, inputs: &FaultInputs<'_>) -> PlannedFault {
    let mut params = Vec::new();
    if spec.parameter("startInstancesAfterDuration").is_some() {
        params.push((
            "startInstancesAfterDuration",
            inputs
                .fault_duration
                .max(IsoDuration::from_mins(1))
                .to_string(),
        ));
    }
    let mut instances = inputs.tagged("aws:ec2:instance");
    if let Some(cluster) = &inputs.service.cluster {
        instances
            .tags
            .insert("eks:cluster-name".to_owned(), cluster.clone());
    }
    let name = spec.id.rsplit(':').next().unwrap_or("fault").to_owned();
    PlannedFault {
        actions: vec![action(&name, &spec.id, &params)],
        resources: vec![instances],
        stages: inputs.pod_stages.to_vec(),
        assumptions: Vec::new(),
        rollback: format!(
            "{}: stopped instances start again after startInstancesAfterDuration (or by hand: \
             aws ec2 start-instances); terminated ones are replaced by their Auto Scaling group; \
             {STOP_BY_HAND}",
            spec.id
        ),
    }
}

fn database_fault(suggested: &FisAction, inputs: &FaultInputs<'_>) -> PlannedFault {
    let reader = inputs.tagged("aws:rds:db");
    let cluster = inputs.tagged("aws:rds:cluster");
    let one = SelectionMode::Count(1);
    let mut actions = vec![action(
        "reboot-reader",
        "aws:rds:reboot-db-instances",
        &[("forceFailover", "false".to_owned())],
    )];
    let mut stages = vec![stage(
        "reader-reboot",
        one,
        inputs.observe,
        &["reboot-reader"],
        &[],
    )];
    let mut resources = vec![reader];
    if suggested.action_id == "aws:rds:reboot-db-instances" {
        // A Multi-AZ DB instance: its failover is a reboot with forceFailover.
        actions.push(action(
            "failover",
            "aws:rds:reboot-db-instances",
            &[("forceFailover", "true".to_owned())],
        ));
    } else {
        actions.push(action("failover", "aws:rds:failover-db-cluster", &[]));
        resources.push(cluster);
    }
    stages.push(stage(
        "writer-failover",
        one,
        inputs.observe,
        &["failover"],
        &[],
    ));
    PlannedFault {
        actions,
        resources,
        stages,
        assumptions: vec![
            "the opt-in tag is on one reader instance and on the cluster, so the first stage \
             reboots a reader, never the writer"
                .to_owned(),
        ],
        rollback: format!(
            "a reboot and a failover complete by themselves and cannot be stopped half-way; the \
             old writer rejoins as a reader (fail back with aws rds failover-db-cluster \
             --target-db-instance-identifier <old writer> if the topology matters); \
             {STOP_BY_HAND}"
        ),
    }
}

fn zone_fault(inputs: &FaultInputs<'_>) -> PlannedFault {
    let zone = inputs
        .service
        .faults
        .availability_zone
        .clone()
        .unwrap_or_else(|| format!("{}a", inputs.region));
    let mut subnets = inputs.tagged("aws:ec2:subnet");
    subnets
        .parameters
        .insert("availabilityZoneIdentifier".to_owned(), zone.clone());
    let probe = inputs
        .fault_duration
        .min(ZONE_PROBE)
        .max(IsoDuration::from_mins(1));
    let all = SelectionMode::All;
    let stages = vec![
        stage(
            "cross-zone",
            all,
            inputs.observe,
            &["disrupt"],
            &[
                ("disrupt", "scope", "availability-zone".to_owned()),
                ("disrupt", "duration", probe.to_string()),
            ],
        ),
        stage(
            "zone-isolated",
            all,
            inputs.observe,
            &["disrupt"],
            &[("disrupt", "scope", "all".to_owned())],
        ),
    ];
    let mut assumptions = vec![format!(
        "the opted-in subnets of zone {zone} are impaired; every service in them is affected, not \
         only {}",
        inputs.service.name
    )];
    if inputs.service.faults.availability_zone.is_none() {
        assumptions.push(format!(
            "zone {zone} is the region's first; set services[].faults.availability_zone to choose"
        ));
    }
    PlannedFault {
        actions: vec![action(
            "disrupt",
            "aws:network:disrupt-connectivity",
            &[
                ("duration", inputs.fault_duration.to_string()),
                ("scope", "availability-zone".to_owned()),
            ],
        )],
        resources: vec![subnets],
        stages,
        assumptions,
        rollback: format!(
            "FIS swaps the subnets' network ACL back when the duration elapses or the experiment \
             stops; if a stop fails, find the cloned ACLs tagged managedByFIS=true and \
             re-associate the original ones; {STOP_BY_HAND}"
        ),
    }
}

fn api_fault(spec: &ActionSpec, inputs: &FaultInputs<'_>) -> Result<PlannedFault, String> {
    let role = inputs.service.faults.iam_role_arn.clone().ok_or_else(|| {
        format!(
            "{} faults the AWS API calls of one IAM role: set services[].faults.iam_role_arn of \
             {} to the role its pods use",
            spec.id, inputs.service.name
        )
    })?;
    // FIS injects API errors into the ec2 and kinesis APIs only.
    let service = if inputs.evidence().contains("kinesis") {
        "kinesis"
    } else {
        "ec2"
    };
    let first = API_PERCENTS[0].to_string();
    let stages = API_PERCENTS
        .iter()
        .map(|p| {
            stage(
                &format!("calls-{p}-percent"),
                SelectionMode::All,
                inputs.observe,
                &["api-fault"],
                &[("api-fault", "percentage", p.to_string())],
            )
        })
        .collect();
    Ok(PlannedFault {
        actions: vec![action(
            "api-fault",
            &spec.id,
            &[
                ("duration", inputs.fault_duration.to_string()),
                ("service", service.to_owned()),
                ("percentage", first),
            ],
        )],
        resources: vec![ResourceTarget {
            resource_type: "aws:iam:role".to_owned(),
            arns: vec![role],
            tags: BTreeMap::new(),
            filters: Vec::new(),
            parameters: BTreeMap::new(),
        }],
        stages,
        assumptions: vec![format!(
            "only the role's calls to the {service} API fail; FIS cannot fault other AWS APIs or \
             the service's own HTTP API"
        )],
        rollback: format!(
            "the API errors stop when the duration elapses or the experiment stops; nothing is \
             left behind; {STOP_BY_HAND}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_colon_numbers_then_words() {
        assert_eq!(
            port_in_text("dial tcp 10.0.1.5:5432: connect: connection refused"),
            Some(5432)
        );
        assert_eq!(port_in_text("dial tcp <*>:443: i/o timeout"), Some(443));
        assert_eq!(
            port_in_text("could not connect to postgres at <*>: connection refused"),
            Some(5432)
        );
        assert_eq!(port_in_text("redis: connection pool exhausted"), Some(6379));
        assert_eq!(port_in_text("connection refused at <*>"), None);
        assert_eq!(port_in_text("took 3:1 ratio"), None);
    }

    #[test]
    fn percent_stages_are_capped_and_deduplicated() {
        assert_eq!(percent_stages(25, &[10, 25]), vec![10, 25]);
        assert_eq!(percent_stages(10, &[10, 25]), vec![10]);
        assert_eq!(percent_stages(5, &[10, 25]), vec![5]);
    }
}
