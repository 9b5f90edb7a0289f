//! Preflight checks of a scenario's Kubernetes targets, and the journal payloads that follow
//! them during a stage.
//!
//! Input: what [`gather`] read from a [`ClusterTarget`] (pods, PodDisruptionBudgets, RBAC and
//! namespace labels), the scenario, the stages to check and the blast-radius [`Policy`].
//! Output: [`PreflightCheck`]s named `k8s-pods`, `k8s-targets`, `k8s-pdb`, `k8s-rbac` and
//! `k8s-pod-properties` for pod faults, and for faults beyond the pods (by [`FaultScope`])
//! `k8s-service`, `k8s-pdb`, `k8s-room`, `k8s-zones` and `k8s-workload-role`, each with what was
//! found and, when it failed, how to fix it; and
//! during a stage, [`K8sPods`] snapshots ([`pod_snapshot`]) and [`K8sEvent`]s
//! ([`EventWatch::new_events`]). Must not: perform I/O (only [`gather`] and [`gather_for`] do,
//! through the trait) or decide whether the run goes ahead — the run loop reads the `ok` flags.
//!
//! The checks follow the FIS user guide for EKS pod actions (`shared/reference/aws-fis.md` §3,
//! §4.1, §8): FIS resolves `PERCENT(n)` rounding **down** and fails a target that resolves to
//! nothing; its pod runs as the scenario's service account and is created by the Kubernetes
//! user `fis-experiment`, and both need the RBAC table in [`FIS_POD_PERMISSIONS`]; a target
//! container with a read-only root filesystem fails every pod action; network actions need a
//! namespace that admits privileged pods, root in the pod's security context, and no Fargate.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::model::record::{K8sEvent, K8sPods, PreflightCheck};
use crate::plan::Policy;
use crate::plan::scenario::{PodTarget, Scenario, Stage};
use crate::plan::selection::SelectionMode;
use crate::provider::ProviderError;
use crate::provider::ProviderResult;
use crate::provider::kube::{
    AccessInfo, BindingInfo, BindingKind, ClusterEvent, ClusterTarget, NodeInfo, PSA_ENFORCE_LABEL,
    PdbInfo, PodInfo, ROLE_ARN_ANNOTATION, RoleKind, RuleInfo,
};

/// Check name: the target pods exist, match the selector and carry the opt-in label.
pub const CHECK_PODS: &str = "k8s-pods";
/// Check name: the pods a stage resolves to stay within the blast-radius policy.
pub const CHECK_TARGETS: &str = "k8s-targets";
/// Check name: a PodDisruptionBudget covers the targets and allows the stage's disruption.
pub const CHECK_PDB: &str = "k8s-pdb";
/// Check name: the FIS service account and user `fis-experiment` hold the RBAC FIS needs.
pub const CHECK_RBAC: &str = "k8s-rbac";
/// Check name: the target pods can host the fault (root filesystem, Fargate, PSA, root).
pub const CHECK_POD_PROPERTIES: &str = "k8s-pod-properties";
/// Check name (faults beyond pods): the service's pods exist and some are ready.
pub const CHECK_SERVICE: &str = "k8s-service";
/// Check name (node and AZ faults): the nodes left have room for the pods of the nodes lost.
pub const CHECK_ROOM: &str = "k8s-room";
/// Check name (AZ faults): the service's ready pods run in at least 2 zones, some outside the
/// impaired one.
pub const CHECK_ZONES: &str = "k8s-zones";
/// Check name (API faults): the faulted IAM role is the one the service's pods assume.
pub const CHECK_WORKLOAD_ROLE: &str = "k8s-workload-role";

pub use crate::iam::kubernetes::{FIS_POD_PERMISSIONS, FIS_USER};

/// Most pod names listed in one message; the rest are counted.
const MAX_NAMES: usize = 5;

/// What [`gather`] read about one scenario's target. Each read keeps its own result, so one
/// refused call fails its checks and not the others.
#[derive(Debug)]
pub struct ClusterFacts {
    /// Pods matching the scenario's selector.
    pub pods: ProviderResult<Vec<PodInfo>>,
    /// PodDisruptionBudgets of the namespace.
    pub pdbs: ProviderResult<Vec<PdbInfo>>,
    /// RBAC and namespace labels.
    pub access: ProviderResult<AccessInfo>,
    /// Every node with its room (node and AZ faults only; `None` otherwise).
    pub nodes: Option<ProviderResult<Vec<NodeInfo>>>,
    /// Each service account of the target pods and its IRSA role annotation, `Ok(None)` when
    /// the service account does not exist (API faults only; empty otherwise).
    pub workload_roles: Vec<(String, ProviderResult<Option<Option<String>>>)>,
}

/// What a scenario's faults act on, as far as the cluster checks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultScope {
    /// `aws:eks:pod-*` actions on the target pods.
    Pods,
    /// Nodes go away (node groups, EC2 instances).
    Nodes,
    /// An availability zone's subnets lose their network.
    Zone,
    /// An IAM role's AWS API calls fail.
    Api,
    /// Anything else beyond the pods (databases, ...).
    Other,
}

impl FaultScope {
    /// The scope of a scenario, from its actions and resource targets.
    pub fn of(sc: &Scenario) -> Self {
        let has = |ty: &str| sc.resources.iter().any(|r| r.resource_type == ty);
        if sc
            .actions
            .iter()
            .any(|a| a.action_id.starts_with("aws:eks:pod-"))
        {
            Self::Pods
        } else if has("aws:ec2:subnet") {
            Self::Zone
        } else if has("aws:eks:nodegroup") || has("aws:ec2:instance") {
            Self::Nodes
        } else if has("aws:iam:role") {
            Self::Api
        } else {
            Self::Other
        }
    }
}

/// Reads what the checks need about a target, the three reads concurrently. This is the only
/// function here that performs I/O.
pub async fn gather<C: ClusterTarget + Sync>(
    cluster: &C,
    target: &PodTarget,
    service_account: &str,
) -> ClusterFacts {
    let (pods, pdbs, access) = tokio::join!(
        cluster.pods(&target.namespace, &target.selector),
        cluster.pdbs(&target.namespace),
        cluster.access(&target.namespace, service_account),
    );
    ClusterFacts {
        pods,
        pdbs,
        access,
        nodes: None,
        workload_roles: Vec::new(),
    }
}

/// [`gather`], plus what the scenario's [`FaultScope`] needs: the nodes and their room for node
/// and AZ faults, the pods' service accounts for API faults.
pub async fn gather_for<C: ClusterTarget + Sync>(
    cluster: &C,
    scenario: &Scenario,
    service_account: &str,
) -> ClusterFacts {
    let mut facts = gather(cluster, &scenario.target, service_account).await;
    match FaultScope::of(scenario) {
        FaultScope::Nodes | FaultScope::Zone => facts.nodes = Some(cluster.nodes().await),
        FaultScope::Api => {
            let accounts: BTreeSet<String> = match &facts.pods {
                Ok(pods) => pods
                    .iter()
                    .map(|p| {
                        p.service_account
                            .clone()
                            .unwrap_or_else(|| "default".to_owned())
                    })
                    .collect(),
                Err(_) => BTreeSet::new(),
            };
            for sa in accounts {
                let role = cluster
                    .service_account_annotations(&scenario.target.namespace, &sa)
                    .await
                    .map(|a| a.map(|a| a.get(ROLE_ARN_ANNOTATION).cloned()));
                facts.workload_roles.push((sa, role));
            }
        }
        FaultScope::Pods | FaultScope::Other => {}
    }
    facts
}

/// Everything the preflight checks of one scenario look at.
#[derive(Debug, Clone, Copy)]
pub struct ClusterPreflight<'a> {
    /// The scenario (target, actions).
    pub scenario: &'a Scenario,
    /// The stages to check: all of the scenario's at preflight, or the next one just before it
    /// starts (the pods may have changed since).
    pub stages: &'a [Stage],
    /// The blast-radius policy.
    pub policy: &'a Policy,
    /// `fis.kubernetes_service_account` of the GameDay.
    pub service_account: &'a str,
    /// What the cluster said.
    pub facts: &'a ClusterFacts,
}

/// The Kubernetes preflight checks of one scenario, in a stable order: `k8s-pods`, then per
/// stage `k8s-targets`, then `k8s-pdb` (per stage when an action disrupts pods, else once),
/// `k8s-rbac` and `k8s-pod-properties`. Scenario-wide checks have no stage.
///
/// A check whose facts could not be read fails with the provider's error as its detail; checks
/// that depend on the pods fail as "not checked" when the pods could not be listed.
pub fn preflight_checks(input: &ClusterPreflight<'_>) -> Vec<PreflightCheck> {
    let scope = FaultScope::of(input.scenario);
    if scope != FaultScope::Pods {
        return beyond_pods_checks(input, scope);
    }
    let sc = input.scenario;
    let mut out = Vec::new();
    let check = |stage: Option<&Stage>, name: &str, outcome: Outcome| PreflightCheck {
        scenario: Some(sc.name.clone()),
        stage: stage.map(|s| s.name.clone()),
        check: name.to_owned(),
        ok: outcome.fix.is_none(),
        detail: outcome.detail,
        fix: outcome.fix,
    };

    let pods = match &input.facts.pods {
        Ok(pods) => {
            out.push(check(None, CHECK_PODS, pods_check(input, pods)));
            Some(pods.as_slice())
        }
        Err(e) => {
            out.push(check(None, CHECK_PODS, fetch_failed("the target pods", e)));
            None
        }
    };
    let not_checked = || {
        Outcome::fail(
            "not checked: the target pods could not be listed (see k8s-pods)",
            "fix k8s-pods first",
        )
    };
    let targetable: Option<Vec<&PodInfo>> =
        pods.map(|p| p.iter().filter(|p| is_targetable(p)).collect());

    for stage in input.stages {
        let outcome = match &targetable {
            Some(t) => targets_check(input, stage, t),
            None => not_checked(),
        };
        out.push(check(Some(stage), CHECK_TARGETS, outcome));
    }

    let disruptive = sc.actions.iter().any(|a| is_disruptive(&a.action_id));
    let pdb_scopes: Vec<Option<&Stage>> = if disruptive {
        input.stages.iter().map(Some).collect()
    } else {
        vec![None]
    };
    for stage in pdb_scopes {
        let outcome = match (&targetable, &input.facts.pdbs) {
            (None, _) => not_checked(),
            (Some(_), Err(e)) => fetch_failed("the PodDisruptionBudgets", e),
            (Some(t), Ok(pdbs)) => pdb_check(input, stage, t, pdbs),
        };
        out.push(check(stage, CHECK_PDB, outcome));
    }

    let outcome = match &input.facts.access {
        Ok(access) => rbac_check(input, access),
        Err(e) => fetch_failed("the FIS service account and RBAC", e),
    };
    out.push(check(None, CHECK_RBAC, outcome));

    let outcome = match &targetable {
        Some(t) => pod_properties_check(input, t, input.facts.access.as_ref().ok()),
        None => not_checked(),
    };
    out.push(check(None, CHECK_POD_PROPERTIES, outcome));
    out
}

/// The checks of a scenario whose faults act beyond the pods: `k8s-service`, then for node and
/// AZ faults `k8s-pdb` (coverage, scenario-wide) and `k8s-room`, for AZ faults `k8s-zones`, and
/// for API faults `k8s-workload-role`. The pod-target checks (`k8s-targets`, FIS RBAC, pod
/// properties) do not apply: FIS runs no pod in the cluster for these actions and the stage
/// selection counts AWS resources, not pods.
fn beyond_pods_checks(input: &ClusterPreflight<'_>, scope: FaultScope) -> Vec<PreflightCheck> {
    let sc = input.scenario;
    let check = |name: &str, outcome: Outcome| PreflightCheck {
        scenario: Some(sc.name.clone()),
        stage: None,
        check: name.to_owned(),
        ok: outcome.fix.is_none(),
        detail: outcome.detail,
        fix: outcome.fix,
    };
    let not_checked = || {
        Outcome::fail(
            "not checked: the service's pods could not be listed (see k8s-service)",
            "fix k8s-service first",
        )
    };
    let mut out = Vec::new();
    let targetable: Option<Vec<&PodInfo>> = match &input.facts.pods {
        Ok(pods) => {
            out.push(check(CHECK_SERVICE, service_check(input, pods)));
            Some(pods.iter().filter(|p| is_targetable(p)).collect())
        }
        Err(e) => {
            out.push(check(CHECK_SERVICE, fetch_failed("the service's pods", e)));
            None
        }
    };
    if matches!(scope, FaultScope::Nodes | FaultScope::Zone) {
        let outcome = match (&targetable, &input.facts.pdbs) {
            (None, _) => not_checked(),
            (Some(_), Err(e)) => fetch_failed("the PodDisruptionBudgets", e),
            (Some(t), Ok(pdbs)) => pdb_check(input, None, t, pdbs),
        };
        out.push(check(CHECK_PDB, outcome));
        let outcome = match &input.facts.nodes {
            None => Outcome::fail(
                "not checked: the nodes were not read",
                "run the preflight with the scenario (gather_for)",
            ),
            Some(Err(e)) => fetch_failed("the nodes and the pods bound to them", e),
            Some(Ok(nodes)) => room_check(input, scope, nodes),
        };
        out.push(check(CHECK_ROOM, outcome));
    }
    if scope == FaultScope::Zone {
        let outcome = match &targetable {
            Some(t) => zones_check(input, t),
            None => not_checked(),
        };
        out.push(check(CHECK_ZONES, outcome));
    }
    if scope == FaultScope::Api {
        out.push(check(CHECK_WORKLOAD_ROLE, workload_role_check(input)));
    }
    out
}

/// The zone a scenario's AZ fault impairs (`availabilityZoneIdentifier` of its subnets).
fn impaired_zone(sc: &Scenario) -> Option<&str> {
    sc.resources
        .iter()
        .find(|r| r.resource_type == "aws:ec2:subnet")
        .and_then(|r| r.parameters.get("availabilityZoneIdentifier"))
        .map(String::as_str)
}

/// Whether a node or pod with this zone and zone ID is in `zone` (an AZ name or ID).
fn in_zone(zone: &str, name: Option<&String>, id: Option<&String>) -> bool {
    name.is_some_and(|z| z == zone) || id.is_some_and(|z| z == zone)
}

fn service_check(input: &ClusterPreflight<'_>, pods: &[PodInfo]) -> Outcome {
    let t = &input.scenario.target;
    let at = format!("namespace {} with selector {}", t.namespace, t.selector);
    if pods.is_empty() {
        return Outcome::fail(
            format!("no pods in {at}: the hypothesis would watch nothing"),
            "correct target.namespace/target.selector in the scenario to select the service's \
             pods",
        );
    }
    let targetable = pods.iter().filter(|p| is_targetable(p)).count();
    let ready = pods.iter().filter(|p| p.ready && is_targetable(p)).count();
    if ready == 0 {
        return Outcome::fail(
            format!(
                "none of the {} pod(s) in {at} is ready: the service is already down",
                pods.len()
            ),
            "restore the service before injecting a fault",
        );
    }
    Outcome::pass(format!(
        "{} pod(s) in {at}, {ready} ready, {} terminating or finished",
        pods.len(),
        pods.len() - targetable
    ))
}

/// How many of `pool` nodes one stage takes down at most: `instanceTerminationPercentage` of
/// the pool rounded up (at least 1) for node-group terminations, the stage's selection of the
/// pool for EC2 instance actions.
fn stage_nodes(sc: &Scenario, stage: &Stage, pool: u32) -> u32 {
    let mut lost = 0;
    for a in sc.actions.iter().filter(|a| stage.runs(&a.name)) {
        let n = match a.action_id.as_str() {
            "aws:eks:terminate-nodegroup-instances" => {
                let pct = stage
                    .parameters
                    .get(&a.name)
                    .and_then(|p| p.get("instanceTerminationPercentage"))
                    .or_else(|| a.parameters.get("instanceTerminationPercentage"))
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(100)
                    .min(100);
                (pct * pool).div_ceil(100).max(1)
            }
            id if is_disruptive(id) => resolved_targets(stage.selection, pool),
            _ => 0,
        };
        lost = lost.max(n);
    }
    lost.min(pool)
}

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

/// Whether the pods of the lost nodes fit on the nodes left, compared in aggregate per
/// resource: the displaced pods' requests (DaemonSet pods do not move) against the free
/// allocatable (allocatable minus requests) of the schedulable nodes left. For a node fault the
/// lost nodes are the worst case — the largest stage's count of the nodes with the most requests
/// — and for an AZ fault every node of the zone. Fitting in aggregate is necessary, not
/// sufficient (affinity, taints and bin packing can still leave pods Pending), so a pass says
/// so; not fitting refuses the run.
fn room_check(input: &ClusterPreflight<'_>, scope: FaultScope, nodes: &[NodeInfo]) -> Outcome {
    let sc = input.scenario;
    let pool: Vec<&NodeInfo> = nodes.iter().filter(|n| n.schedulable).collect();
    let n = count(pool.len());
    if n == 0 {
        return Outcome::fail(
            "no schedulable EC2 node in the cluster (Ready, not cordoned, not Fargate)",
            "check the nodes (`kubectl get nodes`) before a node or AZ fault",
        );
    }
    // Each resource's worst case: (name of what is lost, lost nodes by CPU, lost nodes by memory).
    let (what, by_cpu, by_mem): (String, Vec<&NodeInfo>, Vec<&NodeInfo>) = match scope {
        FaultScope::Zone => {
            let Some(zone) = impaired_zone(sc) else {
                return Outcome::fail(
                    "the subnets target names no availabilityZoneIdentifier: the fault would \
                     impair every opted-in subnet of every zone",
                    "set the zone in the scenario (services[].faults.availability_zone) and plan \
                     again",
                );
            };
            let lost: Vec<&NodeInfo> = pool
                .iter()
                .copied()
                .filter(|x| in_zone(zone, x.zone.as_ref(), x.zone_id.as_ref()))
                .collect();
            (format!("zone {zone}"), lost.clone(), lost)
        }
        _ => {
            let Some((stage, k)) = input
                .stages
                .iter()
                .map(|st| (st, stage_nodes(sc, st, n)))
                .max_by_key(|(_, k)| *k)
            else {
                return Outcome::pass("no stage to check");
            };
            let mut by_cpu = pool.clone();
            by_cpu.sort_by_key(|x| std::cmp::Reverse(x.movable_cpu_millis));
            let mut by_mem = pool.clone();
            by_mem.sort_by_key(|x| std::cmp::Reverse(x.movable_memory_bytes));
            let k = usize::try_from(k).unwrap_or(usize::MAX);
            by_cpu.truncate(k);
            by_mem.truncate(k);
            (
                format!("stage {} ({k} of {n} nodes, the busiest)", stage.name),
                by_cpu,
                by_mem,
            )
        }
    };
    if by_cpu.len() >= pool.len() || by_mem.len() >= pool.len() {
        return Outcome::fail(
            format!("{what} takes down every schedulable node of the cluster ({n})"),
            "add nodes in other zones or node groups, or lower the stage's share",
        );
    }
    let free = |lost: &[&NodeInfo], f: fn(&NodeInfo) -> (u64, u64)| -> (u64, u64) {
        let displaced: u64 = lost.iter().map(|x| f(x).0).sum();
        let room: u64 = pool
            .iter()
            .filter(|x| !lost.iter().any(|l| l.name == x.name))
            .map(|x| f(x).1)
            .sum();
        (displaced, room)
    };
    let (cpu_need, cpu_room) = free(&by_cpu, |x| {
        (
            x.movable_cpu_millis,
            x.allocatable_cpu_millis
                .saturating_sub(x.requested_cpu_millis),
        )
    });
    let (mem_need, mem_room) = free(&by_mem, |x| {
        (
            x.movable_memory_bytes,
            x.allocatable_memory_bytes
                .saturating_sub(x.requested_memory_bytes),
        )
    });
    let summary = format!(
        "{what}: its pods request {cpu_need}m CPU and {} MiB memory; the other schedulable \
         nodes have {cpu_room}m CPU and {} MiB free",
        mib(mem_need),
        mib(mem_room)
    );
    if cpu_need > cpu_room || mem_need > mem_room {
        let short = [
            (cpu_need > cpu_room).then(|| format!("{}m CPU", cpu_need - cpu_room)),
            (mem_need > mem_room).then(|| format!("{} MiB memory", mib(mem_need - mem_room))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" and ");
        return Outcome::fail(
            format!("{summary}: the displaced pods cannot reschedule (short of {short})"),
            format!(
                "add room before the fault (raise the node group's desired size: aws eks \
                 update-nodegroup-config --cluster-name {} --nodegroup-name <name> \
                 --scaling-config desiredSize=<more>), or lower the stage's share",
                sc.target.cluster
            ),
        );
    }
    Outcome::pass(format!(
        "{summary}; they fit in aggregate (affinity, taints and bin packing can still leave \
         some Pending)"
    ))
}

/// An AZ fault needs the service's ready pods in at least 2 zones, some of them outside the
/// impaired zone, so it keeps serving. Zones come from the pods' nodes
/// (`topology.kubernetes.io/zone`, `topology.k8s.aws/zone-id`).
fn zones_check(input: &ClusterPreflight<'_>, pods: &[&PodInfo]) -> Outcome {
    let sc = input.scenario;
    let spread = "spread the service over zones: a node group with subnets in at least 2 AZs, \
                  and topologySpreadConstraints on topology.kubernetes.io/zone (or more \
                  replicas) in the Deployment";
    let Some(zone) = impaired_zone(sc) else {
        return Outcome::fail(
            "the subnets target names no availabilityZoneIdentifier",
            "set services[].faults.availability_zone and plan again",
        );
    };
    let ready: Vec<&PodInfo> = pods.iter().copied().filter(|p| p.ready).collect();
    if ready.is_empty() {
        return Outcome::fail("no ready pod of the service", "fix k8s-service first");
    }
    let unknown: Vec<&PodInfo> = ready
        .iter()
        .copied()
        .filter(|p| p.zone.is_none() && p.zone_id.is_none())
        .collect();
    if !unknown.is_empty() {
        return Outcome::fail(
            format!(
                "the zone of {} ready pod(s) is unknown (their nodes could not be read or carry \
                 no topology.kubernetes.io/zone label): {}",
                unknown.len(),
                names(unknown.iter().copied())
            ),
            "grant gameday's identity get on nodes (ClusterRole), then run again",
        );
    }
    let mut zones: BTreeMap<String, usize> = BTreeMap::new();
    for p in &ready {
        let z = p
            .zone
            .clone()
            .or_else(|| p.zone_id.clone())
            .unwrap_or_default();
        *zones.entry(z).or_default() += 1;
    }
    let shown = zones
        .iter()
        .map(|(z, n)| format!("{z} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    let outside = ready
        .iter()
        .filter(|p| !in_zone(zone, p.zone.as_ref(), p.zone_id.as_ref()))
        .count();
    if zones.len() < 2 {
        return Outcome::fail(
            format!(
                "the service's {} ready pod(s) all run in one zone ({shown}): it is a single-AZ \
                 service, and an AZ fault rehearses nothing but an outage",
                ready.len()
            ),
            spread,
        );
    }
    if outside == 0 {
        return Outcome::fail(
            format!("every ready pod runs in the impaired zone {zone} ({shown})"),
            spread,
        );
    }
    Outcome::pass(format!(
        "ready pods in {} zones: {shown}; {outside} outside {zone} keep serving",
        zones.len()
    ))
}

/// The role an API fault targets must be the one the service's pods assume: the IRSA
/// annotation of their service account names it. Service accounts without the annotation use
/// EKS Pod Identity (or no AWS identity); the AWS-side check `aws-role` reads the role's trust
/// policy for those.
fn workload_role_check(input: &ClusterPreflight<'_>) -> Outcome {
    let sc = input.scenario;
    let ns = &sc.target.namespace;
    let Some(role) = sc
        .resources
        .iter()
        .find(|r| r.resource_type == "aws:iam:role")
        .and_then(|r| r.arns.first())
    else {
        return Outcome::fail(
            "the API fault names no IAM role ARN",
            "set services[].faults.iam_role_arn and plan again",
        );
    };
    if input.facts.workload_roles.is_empty() {
        return Outcome::fail(
            "not checked: the service's pods could not be listed (see k8s-service)",
            "fix k8s-service first",
        );
    }
    let mut problems = Problems::default();
    let mut matching = Vec::new();
    let mut unannotated = Vec::new();
    for (sa, found) in &input.facts.workload_roles {
        match found {
            Err(e) => {
                let o = fetch_failed(&format!("service account {sa}"), e);
                problems.push(o.detail, o.fix.unwrap_or_default());
            }
            Ok(None) => problems.push(
                format!("the pods' service account {ns}/{sa} does not exist"),
                "check the Deployment's serviceAccountName".to_owned(),
            ),
            Ok(Some(Some(arn))) if arn == role => matching.push(sa.clone()),
            Ok(Some(Some(arn))) => problems.push(
                format!(
                    "the pods assume {arn} (service account {ns}/{sa}, annotation \
                     {ROLE_ARN_ANNOTATION}), not the scenario's role {role}: the fault would hit \
                     another workload's calls"
                ),
                format!(
                    "set services[].faults.iam_role_arn of {} to {arn} and plan again",
                    sc.service
                ),
            ),
            Ok(Some(None)) => unannotated.push(sa.clone()),
        }
    }
    let mut notes = Vec::new();
    if !unannotated.is_empty() {
        notes.push(format!(
            "service account(s) {} carry no {ROLE_ARN_ANNOTATION} annotation: EKS Pod Identity \
             or no AWS identity; aws-role checks that the role's trust policy admits the pods",
            unannotated.join(", ")
        ));
    }
    let pass = if matching.is_empty() {
        format!("no service account of the pods names a different role than {role}")
    } else {
        format!(
            "the pods assume {role} (service account(s) {})",
            matching.join(", ")
        )
    };
    problems.outcome(pass, &notes)
}

/// How many pods FIS picks for a selection among `pods` candidates: `COUNT(n)` → min(n, pods),
/// `PERCENT(p)` → ⌊p·pods/100⌋ (FIS rounds down: 50 % of 5 is 2, and a percentage that yields
/// less than one pod selects nothing, which fails the experiment), `ALL` → all.
pub fn resolved_targets(selection: SelectionMode, pods: u32) -> u32 {
    match selection {
        SelectionMode::All => pods,
        SelectionMode::Count(n) => n.min(pods),
        SelectionMode::Percent(p) => {
            let k = u64::from(p) * u64::from(pods) / 100;
            u32::try_from(k).unwrap_or(u32::MAX)
        }
    }
}

/// Whether an action takes pods (or the nodes under them) away, so a PodDisruptionBudget must
/// allow the stage's targets to go.
pub fn is_disruptive(action_id: &str) -> bool {
    matches!(
        action_id,
        "aws:eks:pod-delete"
            | "aws:eks:terminate-nodegroup-instances"
            | "aws:ec2:terminate-instances"
            | "aws:ec2:stop-instances"
            | "aws:ec2:reboot-instances"
            | "aws:ec2:send-spot-instance-interruptions"
    )
}

/// Whether an action is one of the `aws:eks:pod-network-*` actions (tc in an ephemeral
/// container: privileged namespace, root, no Fargate).
pub fn is_network_action(action_id: &str) -> bool {
    action_id.starts_with("aws:eks:pod-network-")
}

/// Whether FIS can pick this pod: not being deleted and not finished.
fn is_targetable(pod: &PodInfo) -> bool {
    !pod.terminating && !matches!(pod.phase.as_str(), "Succeeded" | "Failed")
}

/// The target pods at one moment, for a `k8s-pods` journal entry.
pub fn pod_snapshot(scenario: &str, stage: &str, pods: &[PodInfo]) -> K8sPods {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    K8sPods {
        scenario: scenario.to_owned(),
        stage: stage.to_owned(),
        total: count(pods.len()),
        ready: count(pods.iter().filter(|p| p.ready).count()),
        restarts: pods
            .iter()
            .map(|p| p.restarts)
            .fold(0u32, u32::saturating_add),
    }
}

/// Turns the namespace's events into `k8s-event` journal entries about the target pods and
/// their controllers, each event once.
///
/// Feed it every pod list the stage reads ([`EventWatch::observe`]): pods that FIS deleted stay
/// known, so their `Killing` events are still kept after they are gone.
#[derive(Debug, Clone, Default)]
pub struct EventWatch {
    namespace: String,
    objects: BTreeSet<(String, String)>,
    seen: HashSet<(String, String, DateTime<Utc>)>,
}

impl EventWatch {
    /// A watch over `namespace` that knows no objects yet.
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            ..Self::default()
        }
    }

    /// Remembers these pods, their owners and, for ReplicaSet owners, the Deployment above.
    pub fn observe(&mut self, pods: &[PodInfo]) {
        for pod in pods {
            self.objects.insert(("Pod".to_owned(), pod.name.clone()));
            let Some(owner) = &pod.owner else { continue };
            self.objects
                .insert((owner.kind.clone(), owner.name.clone()));
            if owner.kind == "ReplicaSet"
                && let Some(hash) = pod.labels.get("pod-template-hash")
                && let Some(deployment) = owner.name.strip_suffix(&format!("-{hash}"))
            {
                self.objects
                    .insert(("Deployment".to_owned(), deployment.to_owned()));
            }
        }
    }

    /// The events about observed objects not returned before, deduplicated by (object, reason,
    /// last seen) — an event seen again with a higher count has a new last-seen time and is
    /// returned again.
    pub fn new_events(
        &mut self,
        scenario: &str,
        stage: &str,
        events: &[ClusterEvent],
    ) -> Vec<K8sEvent> {
        let mut out = Vec::new();
        for e in events {
            let key = (e.object_kind.clone(), e.object_name.clone());
            if !self.objects.contains(&key) {
                continue;
            }
            let object = format!("{}/{}", e.object_kind, e.object_name);
            if !self
                .seen
                .insert((object.clone(), e.reason.clone(), e.last_seen))
            {
                continue;
            }
            out.push(K8sEvent {
                scenario: scenario.to_owned(),
                stage: stage.to_owned(),
                namespace: self.namespace.clone(),
                object,
                event_type: e.event_type.clone(),
                reason: e.reason.clone(),
                message: e.message.clone(),
                count: e.count,
                last_seen: e.last_seen,
            });
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------------

/// A check's result before it is attributed to a scenario and stage.
struct Outcome {
    detail: String,
    fix: Option<String>,
}

impl Outcome {
    fn pass(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Problems found by one check, combined into one outcome.
#[derive(Default)]
struct Problems {
    details: Vec<String>,
    fixes: Vec<String>,
}

impl Problems {
    fn push(&mut self, detail: String, fix: String) {
        self.details.push(detail);
        if !self.fixes.contains(&fix) {
            self.fixes.push(fix);
        }
    }

    fn outcome(self, pass: String, notes: &[String]) -> Outcome {
        let with_notes = |mut s: String| {
            for n in notes {
                s.push_str("; ");
                s.push_str(n);
            }
            s
        };
        if self.details.is_empty() {
            Outcome::pass(with_notes(pass))
        } else {
            Outcome::fail(with_notes(self.details.join("; ")), self.fixes.join("; "))
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let _ = write!(s, ": {cause}");
        source = cause.source();
    }
    s
}

fn fetch_failed(what: &str, e: &ProviderError) -> Outcome {
    let fix = match e {
        ProviderError::KubeForbidden { grant, .. } => format!("grant gameday's identity {grant}"),
        ProviderError::KubeConfig { message, .. } => message.clone(),
        _ => "check that the cluster answers (`kubectl get --raw /version` with the same \
              kubeconfig context) and run again"
            .to_owned(),
    };
    Outcome::fail(format!("could not read {what}: {}", error_chain(e)), fix)
}

fn names<'a>(pods: impl IntoIterator<Item = &'a PodInfo>) -> String {
    let all: Vec<&str> = pods.into_iter().map(|p| p.name.as_str()).collect();
    let mut s = all
        .iter()
        .take(MAX_NAMES)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > MAX_NAMES {
        let _ = write!(s, " and {} more", all.len() - MAX_NAMES);
    }
    s
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// An equality-based label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated; FIS
/// allows one term without commas) applied to labels; `None` when it cannot be parsed here.
fn selector_matches(selector: &str, labels: &BTreeMap<String, String>) -> Option<bool> {
    let mut all = true;
    for term in selector.split(',').map(str::trim) {
        let ok = if let Some((k, v)) = term.split_once("!=") {
            labels.get(k.trim()).is_none_or(|l| l != v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            labels.get(k.trim()).is_some_and(|l| l == v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            !labels.contains_key(k.trim())
        } else if !term.is_empty() && !term.contains([' ', '(', ')']) {
            labels.contains_key(term)
        } else {
            return None;
        };
        all &= ok;
    }
    Some(all)
}

/// Whether the labels carry the opt-in label (`key=value`, or `key` with any value).
fn has_opt_in(label: &str, labels: &BTreeMap<String, String>) -> bool {
    match label.split_once('=') {
        Some((k, v)) => labels.get(k) == Some(&v.to_owned()),
        None => labels.contains_key(label),
    }
}

fn pods_check(input: &ClusterPreflight<'_>, pods: &[PodInfo]) -> Outcome {
    let t = &input.scenario.target;
    let at = format!("namespace {} with selector {}", t.namespace, t.selector);
    if pods.is_empty() {
        return Outcome::fail(
            format!("no pods in {at}"),
            format!(
                "label the service's pods with {} (in the pod template), or correct \
                 target.namespace/target.selector in the scenario",
                t.selector
            ),
        );
    }
    let mut problems = Problems::default();
    let not_matching: Vec<&PodInfo> = pods
        .iter()
        .filter(|p| selector_matches(&t.selector, &p.labels) == Some(false))
        .collect();
    if !not_matching.is_empty() {
        problems.push(
            format!(
                "the API server returned {} pod(s) whose labels do not match {}: {}",
                not_matching.len(),
                t.selector,
                names(not_matching.iter().copied())
            ),
            "check that the kubeconfig context points at the real API server".to_owned(),
        );
    }
    if let Some(label) = input.policy.opt_in_label.as_deref() {
        let missing: Vec<&PodInfo> = pods
            .iter()
            .filter(|p| !has_opt_in(label, &p.labels))
            .collect();
        if !missing.is_empty() {
            problems.push(
                format!(
                    "{} of {} pod(s) lack the opt-in label {label}: {}",
                    missing.len(),
                    pods.len(),
                    names(missing.iter().copied())
                ),
                format!(
                    "add {label} to the pod template's labels, or select on the opt-in label \
                     itself"
                ),
            );
        }
    }
    let targetable = pods.iter().filter(|p| is_targetable(p)).count();
    let ready = pods.iter().filter(|p| p.ready && is_targetable(p)).count();
    if targetable > 0 && ready == 0 {
        problems.push(
            format!(
                "none of the {targetable} running pod(s) is ready: the service is already down"
            ),
            "restore the service before injecting a fault".to_owned(),
        );
    } else if targetable == 0 {
        problems.push(
            format!("all {} pod(s) are terminating or finished", pods.len()),
            "wait for the workload to roll out and run again".to_owned(),
        );
    }
    problems.outcome(
        format!(
            "{} pod(s) in {at}, {ready} ready, {} terminating or finished",
            pods.len(),
            pods.len() - targetable
        ),
        &[],
    )
}

fn targets_check(input: &ClusterPreflight<'_>, stage: &Stage, pods: &[&PodInfo]) -> Outcome {
    let n = count(pods.len());
    let sel = stage.selection;
    let policy = input.policy;
    if n == 0 {
        return Outcome::fail(
            format!("{sel} has no pods to select from"),
            "fix k8s-pods first",
        );
    }
    let k = resolved_targets(sel, n);
    if k == 0 {
        let p = match sel {
            SelectionMode::Percent(p) => u32::from(p),
            _ => 100,
        };
        return Outcome::fail(
            format!(
                "{sel} of {n} pod(s) resolves to 0 (FIS rounds down), and FIS fails a target \
                 that resolves to nothing"
            ),
            format!(
                "use COUNT(1) for this stage, or run at least {} pods",
                100u32.div_ceil(p)
            ),
        );
    }
    let pct = f64::from(k) * 100.0 / f64::from(n);
    let mut problems = Problems::default();
    if k > policy.max_count {
        problems.push(
            format!(
                "{sel} resolves to {k} of {n} pods, above the policy's max_count {}",
                policy.max_count
            ),
            format!(
                "lower the stage's selection to at most COUNT({}), or raise \
                 blast_radius.max_count",
                policy.max_count
            ),
        );
    }
    if u64::from(k) * 100 > u64::from(policy.max_percent) * u64::from(n) {
        let needed = (u64::from(k) * 100).div_ceil(u64::from(policy.max_percent.max(1)));
        problems.push(
            format!(
                "{sel} resolves to {k} of {n} pods ({pct:.0}%), above the policy's max_percent \
                 {}%",
                policy.max_percent
            ),
            format!(
                "run at least {needed} pods, lower the stage's selection, or raise \
                 blast_radius.max_percent"
            ),
        );
    }
    problems.outcome(
        format!(
            "{sel} resolves to {k} of {n} pods ({pct:.0}%), within max_count {} and max_percent \
             {}%",
            policy.max_count, policy.max_percent
        ),
        &[],
    )
}

fn pdb_yaml(target: &PodTarget, max_unavailable: u32) -> String {
    let (key, value) = target
        .selector
        .split_once('=')
        .unwrap_or((target.selector.as_str(), ""));
    format!(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {name}\n  \
         namespace: {ns}\nspec:\n  maxUnavailable: {max_unavailable}\n  selector:\n    \
         matchLabels:\n      {key}: \"{value}\"\n",
        name = value
            .split(['=', '/'])
            .next_back()
            .filter(|v| !v.is_empty())
            .unwrap_or("targets"),
        ns = target.namespace,
    )
}

fn pdb_check(
    input: &ClusterPreflight<'_>,
    stage: Option<&Stage>,
    pods: &[&PodInfo],
    pdbs: &[PdbInfo],
) -> Outcome {
    let target = &input.scenario.target;
    if pods.is_empty() {
        return Outcome::fail("no target pods to cover", "fix k8s-pods first");
    }
    let n = count(pods.len());
    let k = stage.map(|s| resolved_targets(s.selection, n));
    let mut problems = Problems::default();
    let mut notes = Vec::new();

    let uncovered: Vec<&PodInfo> = pods
        .iter()
        .copied()
        .filter(|p| !pdbs.iter().any(|b| b.selects(&p.labels)))
        .collect();
    if !uncovered.is_empty() {
        problems.push(
            format!(
                "no PodDisruptionBudget covers {} of {n} target pod(s): {}",
                uncovered.len(),
                names(uncovered.iter().copied())
            ),
            format!(
                "create one with maxUnavailable at least the largest stage's targets, e.g. \
                 `kubectl apply -f -` with:\n{}",
                pdb_yaml(target, k.unwrap_or(1).max(1))
            ),
        );
    }

    let mut covering = Vec::new();
    for pdb in pdbs {
        let covered = count(pods.iter().filter(|p| pdb.selects(&p.labels)).count());
        if covered == 0 {
            continue;
        }
        covering.push(format!(
            "{} ({}, {} disruption(s) allowed, covers {covered})",
            pdb.name,
            pdb.budget(),
            pdb.disruptions_allowed
        ));
        let Some(k) = k else { continue };
        // FIS picks at random, so in the worst case every pick falls under this budget.
        let need = k.min(covered);
        let allowed = u32::try_from(pdb.disruptions_allowed).unwrap_or(0);
        if allowed < need {
            let state = if pdb.has_status {
                format!(
                    "currentHealthy {}, desiredHealthy {}, expectedPods {}",
                    pdb.current_healthy, pdb.desired_healthy, pdb.expected_pods
                )
            } else {
                "its controller has not written a status yet".to_owned()
            };
            problems.push(
                format!(
                    "PodDisruptionBudget {} ({}) allows {} disruption(s) now ({state}), but the \
                     stage may take down {need} of the pods it covers",
                    pdb.name,
                    pdb.budget(),
                    pdb.disruptions_allowed
                ),
                format!(
                    "wait until the pods of {} are healthy (unhealthy pods use up the budget), \
                     lower the stage's selection to at most {allowed} pod(s), or raise the \
                     budget's maxUnavailable",
                    pdb.name
                ),
            );
        }
    }
    let doubly: Vec<&PodInfo> = pods
        .iter()
        .copied()
        .filter(|p| pdbs.iter().filter(|b| b.selects(&p.labels)).count() > 1)
        .collect();
    if !doubly.is_empty() {
        notes.push(format!(
            "{} pod(s) are covered by more than one PodDisruptionBudget, which the eviction API \
             refuses to evict: {}",
            doubly.len(),
            names(doubly.iter().copied())
        ));
    }
    if k.is_some() {
        notes.push(
            "FIS deletes pods directly, which Kubernetes does not check against budgets; \
             gameday holds the stage to them instead"
                .to_owned(),
        );
    }
    let pass = match k {
        Some(k) => format!(
            "{} cover all {n} target pod(s) and allow the stage's {k}",
            covering.join(", ")
        ),
        None => format!("{} cover all {n} target pod(s)", covering.join(", ")),
    };
    problems.outcome(pass, &notes)
}

/// Who an RBAC evaluation is for.
#[derive(Debug, Clone, Copy)]
enum Who<'a> {
    ServiceAccount { namespace: &'a str, name: &'a str },
    User(&'a str),
}

impl Who<'_> {
    fn describe(self) -> String {
        match self {
            Self::ServiceAccount { namespace, name } => {
                format!("ServiceAccount {namespace}/{name}")
            }
            Self::User(u) => format!("User {u}"),
        }
    }
}

/// Whether a binding's subjects include `who` (directly, by its service-account user name, or
/// by a group every such identity is in).
fn binds(binding: &BindingInfo, who: Who<'_>) -> bool {
    binding
        .subjects
        .iter()
        .any(|s| match (s.kind.as_str(), who) {
            ("ServiceAccount", Who::ServiceAccount { namespace, name }) => {
                s.name == name
                    && s.namespace.as_deref().or(binding.namespace.as_deref()) == Some(namespace)
            }
            ("User", Who::ServiceAccount { namespace, name }) => {
                s.name == format!("system:serviceaccount:{namespace}:{name}")
            }
            ("User", Who::User(user)) => s.name == user,
            ("Group", Who::ServiceAccount { namespace, .. }) => {
                s.name == "system:serviceaccounts"
                    || s.name == format!("system:serviceaccounts:{namespace}")
                    || s.name == "system:authenticated"
            }
            ("Group", Who::User(_)) => s.name == "system:authenticated",
            _ => false,
        })
}

/// Whether a rule grants `verb` on `resource` (possibly `resource/subresource`) in `group`,
/// as the Kubernetes RBAC authorizer matches them. Rules restricted by `resourceNames` are not
/// counted: FIS lists and creates objects whose names it cannot know in advance.
pub fn rule_allows(rule: &RuleInfo, group: &str, resource: &str, verb: &str) -> bool {
    let any = |list: &[String], want: &str| list.iter().any(|x| x == "*" || x == want);
    if !rule.resource_names.is_empty() || !any(&rule.verbs, verb) || !any(&rule.api_groups, group) {
        return false;
    }
    let sub = resource.split_once('/').map(|(_, s)| s);
    rule.resources
        .iter()
        .any(|r| r == "*" || r == resource || sub.is_some_and(|s| r.strip_prefix("*/") == Some(s)))
}

/// The permissions of [`FIS_POD_PERMISSIONS`] that `who` lacks in the namespace, and the
/// roles that granted the rest.
fn missing_permissions(access: &AccessInfo, who: Who<'_>) -> (Vec<String>, BTreeSet<String>) {
    let mut rules: Vec<(&str, &RuleInfo)> = Vec::new();
    let mut via = BTreeSet::new();
    for b in access.bindings.iter().filter(|b| binds(b, who)) {
        let kind = match b.kind {
            BindingKind::ClusterRoleBinding => RoleKind::ClusterRole,
            BindingKind::RoleBinding => b.role_kind,
        };
        if let Some(role) = access
            .roles
            .iter()
            .find(|r| r.kind == kind && r.name == b.role_name)
        {
            for rule in &role.rules {
                rules.push((&role.name, rule));
            }
        }
    }
    let mut missing = Vec::new();
    for (group, resource, verbs) in FIS_POD_PERMISSIONS {
        for verb in *verbs {
            match rules
                .iter()
                .find(|(_, r)| rule_allows(r, group, resource, verb))
            {
                Some((role, _)) => {
                    via.insert((*role).to_owned());
                }
                None => missing.push(format!("{verb} {resource}")),
            }
        }
    }
    (missing, via)
}

fn rbac_yaml(namespace: &str, service_account: &str) -> String {
    let mut rules = String::new();
    for (group, resource, verbs) in FIS_POD_PERMISSIONS {
        let _ = write!(
            rules,
            "  - apiGroups: [\"{group}\"]\n    resources: [\"{resource}\"]\n    verbs: [{}]\n",
            verbs
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: \
         fis-experiment\n  namespace: {namespace}\nrules:\n{rules}---\napiVersion: \
         rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: fis-experiment\n  \
         namespace: {namespace}\nsubjects:\n  - kind: ServiceAccount\n    name: \
         {service_account}\n    namespace: {namespace}\n  - apiGroup: \
         rbac.authorization.k8s.io\n    kind: User\n    name: {FIS_USER}\nroleRef:\n  \
         apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: fis-experiment\n"
    )
}

fn rbac_check(input: &ClusterPreflight<'_>, access: &AccessInfo) -> Outcome {
    rbac_outcome(input.service_account, access)
}

/// The `k8s-rbac` verdict alone (for `doctor`): what was found, and the fix when the service
/// account or user `fis-experiment` lacks a permission of [`FIS_POD_PERMISSIONS`].
pub fn rbac_verdict(service_account: &str, access: &AccessInfo) -> (String, Option<String>) {
    let o = rbac_outcome(service_account, access);
    (o.detail, o.fix)
}

fn rbac_outcome(service_account: &str, access: &AccessInfo) -> Outcome {
    let ns = access.namespace.as_str();
    let sa = service_account;
    let mut problems = Problems::default();
    let mut notes = Vec::new();
    if !access.service_account_exists {
        problems.push(
            format!("service account {ns}/{sa} does not exist"),
            format!("kubectl -n {ns} create serviceaccount {sa}"),
        );
    }
    let total: usize = FIS_POD_PERMISSIONS.iter().map(|(_, _, v)| v.len()).sum();
    let mut via_all = BTreeSet::new();
    let mut lacking = false;
    for who in [
        Who::ServiceAccount {
            namespace: ns,
            name: sa,
        },
        Who::User(FIS_USER),
    ] {
        let (missing, via) = missing_permissions(access, who);
        via_all.extend(via);
        if !missing.is_empty() {
            lacking = true;
            let listed = if missing.len() == total {
                format!("all {total} permissions of the FIS table")
            } else {
                missing.join(", ")
            };
            problems.push(
                format!("{} lacks in namespace {ns}: {listed}", who.describe()),
                format!(
                    "apply a Role and a RoleBinding for both subjects (`kubectl apply -f -`):\n{}",
                    rbac_yaml(ns, sa)
                ),
            );
        }
    }
    if !access.unreadable.is_empty() {
        let text = format!(
            "gameday may not read {}, so permissions granted there are not counted",
            access.unreadable.join(", ")
        );
        if lacking {
            problems.push(
                text,
                "or grant gameday's identity list on clusterrolebindings and clusterroles so \
                 cluster-wide grants are counted"
                    .to_owned(),
            );
        } else {
            notes.push(text);
        }
    }
    problems.outcome(
        format!(
            "ServiceAccount {ns}/{sa} and User {FIS_USER} hold the {total} permissions of the FIS \
             table (via {})",
            via_all.into_iter().collect::<Vec<_>>().join(", ")
        ),
        &notes,
    )
}

fn pod_properties_check(
    input: &ClusterPreflight<'_>,
    pods: &[&PodInfo],
    access: Option<&AccessInfo>,
) -> Outcome {
    let sc = input.scenario;
    let ns = &sc.target.namespace;
    let wanted = sc.target.target_container_name.as_deref();
    let pod_actions = sc
        .actions
        .iter()
        .any(|a| a.action_id.starts_with("aws:eks:pod-"));
    let network: Vec<&str> = sc
        .actions
        .iter()
        .filter(|a| is_network_action(&a.action_id))
        .map(|a| a.action_id.as_str())
        .collect();
    let mut problems = Problems::default();
    let mut notes = Vec::new();

    if let Some(name) = wanted {
        let lacking: Vec<&PodInfo> = pods
            .iter()
            .copied()
            .filter(|p| !p.containers.iter().any(|c| c.name == name))
            .collect();
        if !lacking.is_empty() {
            problems.push(
                format!(
                    "target container {name} is missing from {} pod(s): {}",
                    lacking.len(),
                    names(lacking.iter().copied())
                ),
                "set target.target_container_name to a container every target pod has (or \
                 remove it to target the first container)"
                    .to_owned(),
            );
        }
    }

    if pod_actions {
        // FIS injects into the named container, else the first one in the pod spec.
        let read_only: Vec<&PodInfo> = pods
            .iter()
            .copied()
            .filter(|p| {
                let c = match wanted {
                    Some(name) => p.containers.iter().find(|c| c.name == name),
                    None => p.containers.first(),
                };
                c.is_some_and(|c| c.read_only_root_filesystem == Some(true))
            })
            .collect();
        if !read_only.is_empty() {
            let container = wanted.map_or("the first container".to_owned(), |n| {
                format!("container {n}")
            });
            problems.push(
                format!(
                    "{container} has readOnlyRootFilesystem: true in {} pod(s) ({}), and FIS pod \
                     actions fail on such targets",
                    read_only.len(),
                    names(read_only.iter().copied())
                ),
                format!(
                    "set securityContext.readOnlyRootFilesystem: false on {container} for the \
                     GameDay, or target another container with target.target_container_name"
                ),
            );
        }
    }

    if !network.is_empty() {
        let actions = network.join(", ");
        let fargate: Vec<&PodInfo> = pods.iter().copied().filter(|p| p.on_fargate).collect();
        if !fargate.is_empty() {
            problems.push(
                format!(
                    "{} pod(s) run on Fargate, where {actions} cannot run: {}",
                    fargate.len(),
                    names(fargate.iter().copied())
                ),
                "target pods on EC2 nodes (managed or self-managed node groups, Karpenter), or \
                 use a non-network action"
                    .to_owned(),
            );
        }
        let non_root: Vec<&PodInfo> = pods
            .iter()
            .copied()
            .filter(|p| p.run_as_non_root == Some(true) || p.run_as_user.is_some_and(|u| u != 0))
            .collect();
        if !non_root.is_empty() {
            problems.push(
                format!(
                    "{} pod(s) set runAsNonRoot or a non-zero runAsUser in the pod \
                     securityContext, which the FIS ephemeral container inherits, and {actions} \
                     needs root: {}",
                    non_root.len(),
                    names(non_root.iter().copied())
                ),
                "move runAsNonRoot/runAsUser from the pod securityContext to the containers' \
                 securityContext for the GameDay"
                    .to_owned(),
            );
        }
        match access.map(|a| &a.namespace_labels) {
            Some(Some(labels)) => match labels.get(PSA_ENFORCE_LABEL).map(String::as_str) {
                None => notes.push(format!(
                    "namespace {ns} has no {PSA_ENFORCE_LABEL} label, so the cluster default \
                     applies (privileged unless the API server's admission configuration says \
                     otherwise)"
                )),
                Some("privileged") => {}
                Some(level) => problems.push(
                    format!(
                        "namespace {ns} enforces Pod Security level {level}, and {actions} needs \
                         privileged (NET_ADMIN)"
                    ),
                    format!(
                        "kubectl label --overwrite namespace {ns} \
                         {PSA_ENFORCE_LABEL}=privileged (for the GameDay), or use a \
                         non-network action"
                    ),
                ),
            },
            _ => problems.push(
                format!(
                    "the labels of namespace {ns} could not be read, so its Pod Security level \
                     is unknown and {actions} needs privileged"
                ),
                format!(
                    "grant gameday's identity get on namespaces, or check `kubectl get ns {ns} \
                     --show-labels` for {PSA_ENFORCE_LABEL}=privileged"
                ),
            ),
        }
    }

    let leftovers: Vec<&PodInfo> = pods
        .iter()
        .copied()
        .filter(|p| !p.ephemeral_containers.is_empty())
        .collect();
    if !leftovers.is_empty() {
        notes.push(format!(
            "{} pod(s) already hold ephemeral containers (earlier injections stay listed until \
             the pod is replaced): {}",
            leftovers.len(),
            names(leftovers.iter().copied())
        ));
    }
    let mut pass = format!("{} target pod(s): target container writable", pods.len());
    if !network.is_empty() {
        pass.push_str(
            ", not on Fargate, pod security context allows root, namespace admits privileged pods",
        );
    }
    problems.outcome(pass, &notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::scenario::{GameDayScenario, ScenarioAction};
    use crate::provider::kube::{
        ContainerInfo, LabelRequirement, LabelSelector, Owner, RoleInfo, SubjectInfo,
    };

    const NS: &str = "shop";
    const SA: &str = "fis-experiment";

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The example GameDay's network-latency scenario (COUNT(1), PERCENT(10), PERCENT(25)).
    fn scenario() -> Scenario {
        let g: GameDayScenario =
            yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
                .expect("example scenario parses");
        g.scenarios[0].clone()
    }

    fn with_action(mut sc: Scenario, action_id: &str) -> Scenario {
        sc.actions = vec![ScenarioAction {
            name: "fault".into(),
            action_id: action_id.into(),
            parameters: BTreeMap::new(),
            start_after: Vec::new(),
        }];
        sc
    }

    fn with_stages(mut sc: Scenario, selections: &[&str]) -> Scenario {
        let observe = sc.stages[0].observe;
        sc.stages = selections
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Stage::new(
                    format!("stage-{i}"),
                    SelectionMode::parse(s).expect("selection"),
                    observe,
                )
            })
            .collect();
        sc
    }

    fn policy() -> Policy {
        Policy {
            opt_in_label: Some("chaos-experiment".into()),
            ..Policy::default()
        }
    }

    fn pod(i: usize) -> PodInfo {
        PodInfo {
            name: format!("checkout-7d9f8b6c5d-{i:05}"),
            namespace: NS.into(),
            phase: "Running".into(),
            ready: true,
            terminating: false,
            restarts: 0,
            labels: labels(&[
                ("app", "checkout"),
                ("chaos-experiment", "checkout"),
                ("pod-template-hash", "7d9f8b6c5d"),
            ]),
            node_name: Some(format!("ip-10-0-1-{i}.eu-west-1.compute.internal")),
            on_fargate: false,
            owner: Some(Owner {
                kind: "ReplicaSet".into(),
                name: "checkout-7d9f8b6c5d".into(),
            }),
            containers: vec![
                ContainerInfo {
                    name: "app".into(),
                    read_only_root_filesystem: Some(false),
                },
                ContainerInfo {
                    name: "envoy".into(),
                    read_only_root_filesystem: Some(true),
                },
            ],
            ephemeral_containers: Vec::new(),
            run_as_non_root: None,
            run_as_user: None,
            service_account: Some("checkout".into()),
            zone: Some(format!("eu-west-1{}", ["a", "b", "c"][i % 3])),
            zone_id: None,
            cpu_request_millis: 300,
            memory_request_bytes: 576 * 1024 * 1024,
        }
    }

    fn pods(n: usize) -> Vec<PodInfo> {
        (0..n).map(pod).collect()
    }

    fn pdb(allowed: i32) -> PdbInfo {
        PdbInfo {
            name: "checkout".into(),
            selector: Some(LabelSelector {
                match_labels: labels(&[("app", "checkout")]),
                match_expressions: Vec::new(),
            }),
            min_available: None,
            max_unavailable: Some("25%".into()),
            disruptions_allowed: allowed,
            current_healthy: 10,
            desired_healthy: 8,
            expected_pods: 10,
            has_status: true,
        }
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> RuleInfo {
        let v = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect();
        RuleInfo {
            api_groups: v(groups),
            resources: v(resources),
            verbs: v(verbs),
            resource_names: Vec::new(),
        }
    }

    fn fis_role() -> RoleInfo {
        RoleInfo {
            kind: RoleKind::Role,
            name: "fis-experiment".into(),
            rules: FIS_POD_PERMISSIONS
                .iter()
                .map(|(g, r, verbs)| rule(&[g], &[r], verbs))
                .collect(),
        }
    }

    fn subject(kind: &str, name: &str, namespace: Option<&str>) -> SubjectInfo {
        SubjectInfo {
            kind: kind.into(),
            name: name.into(),
            namespace: namespace.map(str::to_owned),
        }
    }

    fn binding(role_kind: RoleKind, role: &str, subjects: Vec<SubjectInfo>) -> BindingInfo {
        BindingInfo {
            kind: BindingKind::RoleBinding,
            name: format!("{role}-binding"),
            namespace: Some(NS.into()),
            role_kind,
            role_name: role.into(),
            subjects,
        }
    }

    fn access() -> AccessInfo {
        AccessInfo {
            namespace: NS.into(),
            namespace_labels: Some(labels(&[(PSA_ENFORCE_LABEL, "privileged")])),
            service_account: SA.into(),
            service_account_exists: true,
            roles: vec![fis_role()],
            bindings: vec![binding(
                RoleKind::Role,
                "fis-experiment",
                vec![
                    subject("ServiceAccount", SA, Some(NS)),
                    subject("User", FIS_USER, None),
                ],
            )],
            unreadable: Vec::new(),
        }
    }

    fn facts(pods: Vec<PodInfo>, pdbs: Vec<PdbInfo>, access: AccessInfo) -> ClusterFacts {
        ClusterFacts {
            pods: Ok(pods),
            pdbs: Ok(pdbs),
            access: Ok(access),
            nodes: None,
            workload_roles: Vec::new(),
        }
    }

    fn healthy() -> ClusterFacts {
        facts(pods(10), vec![pdb(2)], access())
    }

    fn run(sc: &Scenario, policy: &Policy, facts: &ClusterFacts) -> Vec<PreflightCheck> {
        preflight_checks(&ClusterPreflight {
            scenario: sc,
            stages: &sc.stages,
            policy,
            service_account: SA,
            facts,
        })
    }

    /// The checks with this name (and stage, when given).
    fn find<'a>(
        checks: &'a [PreflightCheck],
        name: &str,
        stage: Option<&str>,
    ) -> &'a PreflightCheck {
        checks
            .iter()
            .find(|c| c.check == name && (stage.is_none() || c.stage.as_deref() == stage))
            .unwrap_or_else(|| panic!("no {name} check in {checks:#?}"))
    }

    fn failed(checks: &[PreflightCheck]) -> Vec<(&str, Option<&str>)> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| (c.check.as_str(), c.stage.as_deref()))
            .collect()
    }

    #[test]
    fn percent_rounds_down_as_fis_does() {
        assert_eq!(resolved_targets(SelectionMode::Percent(50), 5), 2);
        assert_eq!(resolved_targets(SelectionMode::Percent(10), 4), 0);
        assert_eq!(resolved_targets(SelectionMode::Percent(10), 10), 1);
        assert_eq!(resolved_targets(SelectionMode::Percent(25), 10), 2);
        assert_eq!(resolved_targets(SelectionMode::Percent(100), 7), 7);
        assert_eq!(resolved_targets(SelectionMode::Count(3), 2), 2);
        assert_eq!(resolved_targets(SelectionMode::Count(3), 10), 3);
        assert_eq!(resolved_targets(SelectionMode::All, 9), 9);
        assert_eq!(resolved_targets(SelectionMode::All, 0), 0);
    }

    proptest::proptest! {
        #[test]
        fn resolved_targets_never_exceed_the_pods_or_the_share(p in 1u8..=100, n in 0u32..100_000) {
            let k = resolved_targets(SelectionMode::Percent(p), n);
            proptest::prop_assert!(k <= n);
            proptest::prop_assert!(u64::from(k) * 100 <= u64::from(p) * u64::from(n));
            proptest::prop_assert!((u64::from(k) + 1) * 100 > u64::from(p) * u64::from(n));
        }
    }

    #[test]
    fn a_healthy_namespace_passes_every_check() {
        let sc = scenario();
        let checks = run(&sc, &policy(), &healthy());
        assert_eq!(
            failed(&checks),
            Vec::<(&str, Option<&str>)>::new(),
            "{checks:#?}"
        );
        let names: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names,
            [
                "k8s-pods",
                "k8s-targets",
                "k8s-targets",
                "k8s-targets",
                "k8s-pdb",
                "k8s-rbac",
                "k8s-pod-properties"
            ]
        );
        assert!(checks.iter().all(|c| c.fix.is_none()));
        assert_eq!(
            find(&checks, CHECK_TARGETS, Some("percent-25")).detail,
            "PERCENT(25) resolves to 2 of 10 pods (20%), within max_count 5 and max_percent 25%"
        );
        assert!(
            find(&checks, CHECK_RBAC, None)
                .detail
                .contains("via fis-experiment")
        );
        assert!(
            checks
                .iter()
                .all(|c| c.scenario.as_deref() == Some(sc.name.as_str()))
        );
    }

    #[test]
    fn no_pods_fails_and_says_how_to_label_them() {
        let sc = scenario();
        let checks = run(&sc, &policy(), &facts(Vec::new(), vec![pdb(2)], access()));
        let c = find(&checks, CHECK_PODS, None);
        assert!(!c.ok);
        assert_eq!(
            c.detail,
            "no pods in namespace shop with selector chaos-experiment=checkout"
        );
        assert!(
            c.fix
                .as_deref()
                .is_some_and(|f| f.contains("label the service's pods"))
        );
        assert!(!find(&checks, CHECK_TARGETS, Some("count-1")).ok);
    }

    #[test]
    fn pods_without_the_opt_in_label_or_not_matching_fail() {
        let sc = scenario();
        let mut ps = pods(10);
        ps[3].labels.remove("chaos-experiment");
        let checks = run(&sc, &policy(), &facts(ps.clone(), vec![pdb(2)], access()));
        let c = find(&checks, CHECK_PODS, None);
        assert!(!c.ok);
        assert!(
            c.detail
                .contains("1 of 10 pod(s) lack the opt-in label chaos-experiment"),
            "{}",
            c.detail
        );
        assert!(
            c.detail
                .contains("whose labels do not match chaos-experiment=checkout"),
            "label gone means selector mismatch too: {}",
            c.detail
        );

        let strict = Policy {
            opt_in_label: Some("chaos-experiment=enabled".into()),
            ..Policy::default()
        };
        let checks = run(&sc, &strict, &healthy());
        assert!(!find(&checks, CHECK_PODS, None).ok);

        let no_label = Policy {
            opt_in_label: None,
            ..Policy::default()
        };
        assert!(find(&run(&sc, &no_label, &healthy()), CHECK_PODS, None).ok);
    }

    #[test]
    fn a_service_with_no_ready_pod_is_not_a_target() {
        let sc = scenario();
        let mut ps = pods(3);
        for p in &mut ps {
            p.ready = false;
        }
        let checks = run(&sc, &policy(), &facts(ps, vec![pdb(1)], access()));
        let c = find(&checks, CHECK_PODS, None);
        assert!(!c.ok);
        assert!(c.detail.contains("already down"), "{}", c.detail);
    }

    #[test]
    fn selectors_are_evaluated_like_equality_based_label_selectors() {
        let l = labels(&[("app", "checkout"), ("tier", "web")]);
        assert_eq!(selector_matches("app=checkout", &l), Some(true));
        assert_eq!(selector_matches("app==checkout", &l), Some(true));
        assert_eq!(selector_matches("app=cart", &l), Some(false));
        assert_eq!(selector_matches("app!=cart", &l), Some(true));
        assert_eq!(selector_matches("app,!db", &l), Some(true));
        assert_eq!(selector_matches("app=checkout,tier=db", &l), Some(false));
        assert_eq!(selector_matches("env in (a)", &l), None);
        assert!(has_opt_in(
            "chaos-experiment",
            &labels(&[("chaos-experiment", "x")])
        ));
        assert!(!has_opt_in(
            "chaos-experiment=enabled",
            &labels(&[("chaos-experiment", "x")])
        ));
    }

    #[test]
    fn too_many_resolved_targets_fail_naming_the_numbers() {
        let sc = with_stages(scenario(), &["COUNT(1)", "PERCENT(50)", "ALL", "COUNT(6)"]);
        let checks = run(&sc, &policy(), &facts(pods(10), vec![pdb(10)], access()));
        assert!(find(&checks, CHECK_TARGETS, Some("stage-0")).ok);
        let half = find(&checks, CHECK_TARGETS, Some("stage-1"));
        assert!(!half.ok);
        assert_eq!(
            half.detail,
            "PERCENT(50) resolves to 5 of 10 pods (50%), above the policy's max_percent 25%"
        );
        let all = find(&checks, CHECK_TARGETS, Some("stage-2"));
        assert!(
            all.detail
                .contains("10 of 10 pods, above the policy's max_count 5"),
            "{}",
            all.detail
        );
        assert!(
            all.detail
                .contains("(100%), above the policy's max_percent 25%"),
            "{}",
            all.detail
        );
        let six = find(&checks, CHECK_TARGETS, Some("stage-3"));
        assert!(!six.ok);
        assert!(
            six.fix
                .as_deref()
                .is_some_and(|f| f.contains("at most COUNT(5)")),
            "{six:?}"
        );

        // COUNT(1) of 3 pods is a third of the service: over a 25 % cap.
        let sc = with_stages(scenario(), &["COUNT(1)"]);
        let checks = run(&sc, &policy(), &facts(pods(3), vec![pdb(1)], access()));
        let c = find(&checks, CHECK_TARGETS, Some("stage-0"));
        assert!(!c.ok);
        assert!(c.detail.contains("1 of 3 pods (33%)"), "{}", c.detail);
        assert!(
            c.fix
                .as_deref()
                .is_some_and(|f| f.contains("run at least 4 pods")),
            "{c:?}"
        );
    }

    #[test]
    fn a_percentage_that_rounds_to_zero_fails() {
        let sc = scenario();
        let checks = run(&sc, &policy(), &facts(pods(4), vec![pdb(1)], access()));
        let c = find(&checks, CHECK_TARGETS, Some("percent-10"));
        assert!(!c.ok);
        assert!(
            c.detail.contains("PERCENT(10) of 4 pod(s) resolves to 0"),
            "{}",
            c.detail
        );
        assert!(
            c.fix
                .as_deref()
                .is_some_and(|f| f.contains("at least 10 pods")),
            "{c:?}"
        );
    }

    #[test]
    fn terminating_pods_are_not_counted_as_candidates() {
        let sc = with_stages(scenario(), &["COUNT(1)"]);
        let mut ps = pods(5);
        for p in &mut ps[..2] {
            p.terminating = true;
        }
        let checks = run(&sc, &policy(), &facts(ps, vec![pdb(1)], access()));
        let c = find(&checks, CHECK_TARGETS, Some("stage-0"));
        assert!(!c.ok, "1 of 3 is 33 %: {c:?}");
    }

    #[test]
    fn no_pdb_fails_with_a_ready_to_apply_budget() {
        let sc = scenario();
        let checks = run(&sc, &policy(), &facts(pods(10), Vec::new(), access()));
        let c = find(&checks, CHECK_PDB, None);
        assert!(!c.ok);
        assert!(
            c.detail.contains("no PodDisruptionBudget covers 10 of 10"),
            "{}",
            c.detail
        );
        let fix = c.fix.as_deref().unwrap_or_default();
        assert!(fix.contains("kind: PodDisruptionBudget"), "{fix}");
        assert!(fix.contains("chaos-experiment: \"checkout\""), "{fix}");
        assert!(fix.contains("namespace: shop"), "{fix}");
    }

    #[test]
    fn a_pdb_covering_only_some_targets_fails() {
        let sc = scenario();
        let mut ps = pods(10);
        ps[0].labels.insert("app".into(), "checkout-canary".into());
        let checks = run(&sc, &policy(), &facts(ps, vec![pdb(2)], access()));
        let c = find(&checks, CHECK_PDB, None);
        assert!(!c.ok);
        assert!(c.detail.contains("covers 1 of 10"), "{}", c.detail);
    }

    #[test]
    fn pdb_match_expressions_are_evaluated() {
        let sc = scenario();
        let mut b = pdb(2);
        b.selector = Some(LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![LabelRequirement {
                key: "app".into(),
                operator: "In".into(),
                values: vec!["checkout".into(), "cart".into()],
            }],
        });
        assert!(
            find(
                &run(&sc, &policy(), &facts(pods(10), vec![b.clone()], access())),
                CHECK_PDB,
                None
            )
            .ok
        );
        b.selector = Some(LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![LabelRequirement {
                key: "app".into(),
                operator: "NotIn".into(),
                values: vec!["checkout".into()],
            }],
        });
        assert!(
            !find(
                &run(&sc, &policy(), &facts(pods(10), vec![b], access())),
                CHECK_PDB,
                None
            )
            .ok
        );
    }

    #[test]
    fn disruptive_stages_must_fit_the_budget_stage_by_stage() {
        let sc = with_stages(
            with_action(scenario(), "aws:eks:pod-delete"),
            &["COUNT(1)", "COUNT(3)"],
        );
        let checks = run(&sc, &policy(), &facts(pods(20), vec![pdb(2)], access()));
        assert!(find(&checks, CHECK_PDB, Some("stage-0")).ok);
        let c = find(&checks, CHECK_PDB, Some("stage-1"));
        assert!(!c.ok);
        assert!(
            c.detail
                .contains("checkout (maxUnavailable=25%) allows 2 disruption(s) now"),
            "{}",
            c.detail
        );
        assert!(c.detail.contains("may take down 3"), "{}", c.detail);
        assert!(
            c.fix
                .as_deref()
                .is_some_and(|f| f.contains("at most 2 pod(s)")),
            "{c:?}"
        );

        let checks = run(&sc, &policy(), &facts(pods(20), vec![pdb(0)], access()));
        let c = find(&checks, CHECK_PDB, Some("stage-0"));
        assert!(!c.ok);
        assert!(c.detail.contains("allows 0 disruption(s)"), "{}", c.detail);
    }

    #[test]
    fn a_budget_at_zero_does_not_block_a_non_disruptive_fault() {
        let sc = scenario();
        let checks = run(&sc, &policy(), &facts(pods(10), vec![pdb(0)], access()));
        let c = find(&checks, CHECK_PDB, None);
        assert!(c.ok, "{c:?}");
        assert!(c.stage.is_none());
    }

    #[test]
    fn rbac_rules_match_wildcards_and_subresources_like_the_authorizer() {
        let r = rule(&[""], &["pods"], &["get", "list"]);
        assert!(rule_allows(&r, "", "pods", "list"));
        assert!(!rule_allows(&r, "", "pods", "delete"));
        assert!(
            !rule_allows(&r, "", "pods/exec", "get"),
            "pods does not grant pods/exec"
        );
        assert!(!rule_allows(&r, "apps", "pods", "get"));
        assert!(rule_allows(
            &rule(&["*"], &["*"], &["*"]),
            "apps",
            "deployments",
            "get"
        ));
        assert!(rule_allows(
            &rule(&[""], &["*"], &["create"]),
            "",
            "pods/exec",
            "create"
        ));
        assert!(rule_allows(
            &rule(&[""], &["*/exec"], &["create"]),
            "",
            "pods/exec",
            "create"
        ));
        assert!(!rule_allows(
            &rule(&[""], &["*/exec"], &["create"]),
            "",
            "pods",
            "create"
        ));
        assert!(!rule_allows(
            &rule(&[""], &["*/log"], &["create"]),
            "",
            "pods/exec",
            "create"
        ));
        assert!(rule_allows(
            &rule(&[""], &["pods/ephemeralcontainers"], &["update"]),
            "",
            "pods/ephemeralcontainers",
            "update"
        ));
        let mut named = rule(&[""], &["configmaps"], &["get"]);
        named.resource_names = vec!["only-this".into()];
        assert!(
            !rule_allows(&named, "", "configmaps", "get"),
            "resourceNames are not counted"
        );
    }

    #[test]
    fn missing_rbac_verbs_are_listed_per_subject_with_a_role_to_apply() {
        let sc = scenario();
        let mut a = access();
        a.roles[0]
            .rules
            .retain(|r| r.resources != ["pods/ephemeralcontainers"]);
        a.roles[0].rules.push(rule(&[""], &["pods"], &["get"]));
        a.bindings[0].subjects.retain(|s| s.kind != "User");
        let checks = run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a));
        let c = find(&checks, CHECK_RBAC, None);
        assert!(!c.ok);
        assert!(
            c.detail.contains("ServiceAccount shop/fis-experiment lacks in namespace shop: update pods/ephemeralcontainers"),
            "{}",
            c.detail
        );
        assert!(
            c.detail
                .contains("User fis-experiment lacks in namespace shop: all 12 permissions"),
            "{}",
            c.detail
        );
        let fix = c.fix.as_deref().unwrap_or_default();
        assert!(fix.contains("kind: RoleBinding"), "{fix}");
        assert!(
            fix.contains("resources: [\"pods/ephemeralcontainers\"]\n    verbs: [\"update\"]"),
            "{fix}"
        );
        assert!(
            fix.contains("kind: User\n    name: fis-experiment"),
            "{fix}"
        );
        assert_eq!(
            fix.matches("kind: Role\n").count(),
            2,
            "the Role and the roleRef: {fix}"
        );
    }

    #[test]
    fn a_missing_service_account_fails_rbac() {
        let sc = scenario();
        let mut a = access();
        a.service_account_exists = false;
        let c = find(
            &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a)),
            CHECK_RBAC,
            None,
        )
        .clone();
        assert!(!c.ok);
        assert_eq!(
            c.detail,
            "service account shop/fis-experiment does not exist"
        );
        assert_eq!(
            c.fix.as_deref(),
            Some("kubectl -n shop create serviceaccount fis-experiment")
        );
    }

    #[test]
    fn grants_through_cluster_roles_and_groups_count() {
        let sc = scenario();
        let mut a = access();
        a.roles = vec![RoleInfo {
            kind: RoleKind::ClusterRole,
            name: "fis-pods".into(),
            rules: vec![rule(&["", "apps"], &["*"], &["*"])],
        }];
        // The SA through its namespace group, by a RoleBinding to a ClusterRole; the user
        // through a ClusterRoleBinding. The SA subject without namespace defaults to the binding's.
        a.bindings = vec![
            binding(
                RoleKind::ClusterRole,
                "fis-pods",
                vec![subject("Group", "system:serviceaccounts:shop", None)],
            ),
            BindingInfo {
                kind: BindingKind::ClusterRoleBinding,
                name: "fis-user".into(),
                namespace: None,
                role_kind: RoleKind::ClusterRole,
                role_name: "fis-pods".into(),
                subjects: vec![subject("User", FIS_USER, None)],
            },
        ];
        assert!(
            find(
                &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a.clone())),
                CHECK_RBAC,
                None
            )
            .ok
        );

        // A Role reference must find a Role, not the ClusterRole of the same name.
        a.bindings[0].role_kind = RoleKind::Role;
        assert!(
            !find(
                &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a.clone())),
                CHECK_RBAC,
                None
            )
            .ok
        );

        // A ServiceAccount subject in another namespace is someone else.
        a.bindings[0] = binding(
            RoleKind::ClusterRole,
            "fis-pods",
            vec![subject("ServiceAccount", SA, Some("other"))],
        );
        assert!(
            !find(
                &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a.clone())),
                CHECK_RBAC,
                None
            )
            .ok
        );
        a.bindings[0].subjects = vec![subject("ServiceAccount", SA, None)];
        assert!(
            find(
                &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a)),
                CHECK_RBAC,
                None
            )
            .ok
        );
    }

    #[test]
    fn unreadable_cluster_bindings_are_a_note_when_enough_and_a_reason_when_not() {
        let sc = scenario();
        let mut a = access();
        a.unreadable = vec!["clusterrolebindings".into()];
        let c = find(
            &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a.clone())),
            CHECK_RBAC,
            None,
        )
        .clone();
        assert!(c.ok);
        assert!(
            c.detail.contains("may not read clusterrolebindings"),
            "{}",
            c.detail
        );
        a.bindings.clear();
        let c = find(
            &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a)),
            CHECK_RBAC,
            None,
        )
        .clone();
        assert!(!c.ok);
        assert!(
            c.fix
                .as_deref()
                .is_some_and(|f| f.contains("list on clusterrolebindings")),
            "{c:?}"
        );
    }

    #[test]
    fn a_read_only_root_filesystem_on_the_target_container_fails() {
        let sc = scenario();
        let mut ps = pods(10);
        ps[2].containers[0].read_only_root_filesystem = Some(true);
        let checks = run(&sc, &policy(), &facts(ps, vec![pdb(2)], access()));
        let c = find(&checks, CHECK_POD_PROPERTIES, None);
        assert!(!c.ok);
        assert!(c.detail.contains("the first container has readOnlyRootFilesystem: true in 1 pod(s) (checkout-7d9f8b6c5d-00002)"), "{}", c.detail);

        // The read-only sidecar only matters when it is the target.
        let mut sc = scenario();
        sc.target.target_container_name = Some("envoy".into());
        let c = find(&run(&sc, &policy(), &healthy()), CHECK_POD_PROPERTIES, None).clone();
        assert!(!c.ok);
        assert!(
            c.detail
                .contains("container envoy has readOnlyRootFilesystem: true in 10 pod(s)"),
            "{}",
            c.detail
        );
        sc.target.target_container_name = Some("app".into());
        assert!(find(&run(&sc, &policy(), &healthy()), CHECK_POD_PROPERTIES, None).ok);
    }

    #[test]
    fn a_target_container_missing_from_a_pod_fails() {
        let mut sc = scenario();
        sc.target.target_container_name = Some("app".into());
        let mut ps = pods(10);
        ps[7].containers.remove(0);
        let c = find(
            &run(&sc, &policy(), &facts(ps, vec![pdb(2)], access())),
            CHECK_POD_PROPERTIES,
            None,
        )
        .clone();
        assert!(!c.ok);
        assert!(
            c.detail.contains(
                "target container app is missing from 1 pod(s): checkout-7d9f8b6c5d-00007"
            ),
            "{}",
            c.detail
        );
    }

    #[test]
    fn network_actions_need_ec2_nodes_root_and_a_privileged_namespace() {
        let sc = scenario();
        let mut ps = pods(10);
        ps[1].on_fargate = true;
        ps[4].run_as_non_root = Some(true);
        ps[5].run_as_user = Some(1000);
        let mut a = access();
        a.namespace_labels = Some(labels(&[(PSA_ENFORCE_LABEL, "baseline")]));
        let c = find(
            &run(&sc, &policy(), &facts(ps.clone(), vec![pdb(2)], a)),
            CHECK_POD_PROPERTIES,
            None,
        )
        .clone();
        assert!(!c.ok);
        assert!(c.detail.contains("1 pod(s) run on Fargate"), "{}", c.detail);
        assert!(
            c.detail.contains("2 pod(s) set runAsNonRoot"),
            "{}",
            c.detail
        );
        assert!(
            c.detail.contains("enforces Pod Security level baseline"),
            "{}",
            c.detail
        );
        let fix = c.fix.as_deref().unwrap_or_default();
        assert!(fix.contains("kubectl label --overwrite namespace shop pod-security.kubernetes.io/enforce=privileged"), "{fix}");

        // The same pods are fine for a CPU stress.
        let stress = with_action(scenario(), "aws:eks:pod-cpu-stress");
        let mut a = access();
        a.namespace_labels = Some(labels(&[(PSA_ENFORCE_LABEL, "baseline")]));
        assert!(
            find(
                &run(&stress, &policy(), &facts(ps, vec![pdb(2)], a)),
                CHECK_POD_PROPERTIES,
                None
            )
            .ok
        );
    }

    #[test]
    fn an_unlabelled_namespace_passes_with_a_note_and_an_unreadable_one_fails() {
        let sc = scenario();
        let mut a = access();
        a.namespace_labels = Some(BTreeMap::new());
        let c = find(
            &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a.clone())),
            CHECK_POD_PROPERTIES,
            None,
        )
        .clone();
        assert!(c.ok);
        assert!(c.detail.contains("cluster default applies"), "{}", c.detail);
        a.namespace_labels = None;
        let c = find(
            &run(&sc, &policy(), &facts(pods(10), vec![pdb(2)], a)),
            CHECK_POD_PROPERTIES,
            None,
        )
        .clone();
        assert!(!c.ok);
        assert!(c.detail.contains("could not be read"), "{}", c.detail);
    }

    #[test]
    fn leftover_ephemeral_containers_are_noted_not_failed() {
        let sc = scenario();
        let mut ps = pods(10);
        ps[0].ephemeral_containers = vec!["fis-abc".into()];
        let c = find(
            &run(&sc, &policy(), &facts(ps, vec![pdb(2)], access())),
            CHECK_POD_PROPERTIES,
            None,
        )
        .clone();
        assert!(c.ok);
        assert!(
            c.detail
                .contains("1 pod(s) already hold ephemeral containers"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn failed_reads_fail_their_checks_and_dependents_say_not_checked() {
        let sc = scenario();
        let forbidden = || ProviderError::KubeForbidden {
            operation: "list pods in namespace shop".into(),
            grant: "a Role in namespace shop with apiGroups [\"\"], resources [pods], verbs [list]"
                .into(),
            source: "pods is forbidden".into(),
        };
        let f = ClusterFacts {
            pods: Err(forbidden()),
            pdbs: Ok(vec![pdb(2)]),
            access: Ok(access()),
            nodes: None,
            workload_roles: Vec::new(),
        };
        let checks = run(&sc, &policy(), &f);
        let c = find(&checks, CHECK_PODS, None);
        assert!(!c.ok);
        assert!(c.detail.starts_with("could not read the target pods: gameday's Kubernetes identity cannot list pods in namespace shop"), "{}", c.detail);
        assert!(c.detail.ends_with(": pods is forbidden"), "{}", c.detail);
        assert_eq!(
            c.fix.as_deref(),
            Some(
                "grant gameday's identity a Role in namespace shop with apiGroups [\"\"], resources [pods], verbs [list]"
            )
        );
        for name in [CHECK_TARGETS, CHECK_PDB, CHECK_POD_PROPERTIES] {
            let c = find(&checks, name, None);
            assert!(!c.ok);
            assert!(c.detail.starts_with("not checked"), "{c:?}");
        }
        assert!(find(&checks, CHECK_RBAC, None).ok, "RBAC was readable");

        let f = ClusterFacts {
            pods: Ok(pods(10)),
            pdbs: Err(forbidden()),
            access: Err(forbidden()),
            nodes: None,
            workload_roles: Vec::new(),
        };
        let checks = run(&sc, &policy(), &f);
        assert_eq!(
            failed(&checks),
            [
                (CHECK_PDB, None),
                (CHECK_RBAC, None),
                (CHECK_POD_PROPERTIES, None)
            ],
            "network action with unknown namespace labels fails too"
        );
    }

    #[test]
    fn snapshots_count_ready_pods_and_restarts() {
        let mut ps = pods(4);
        ps[0].ready = false;
        ps[1].restarts = 3;
        ps[2].restarts = 2;
        assert_eq!(
            pod_snapshot("s", "count-1", &ps),
            K8sPods {
                scenario: "s".into(),
                stage: "count-1".into(),
                total: 4,
                ready: 3,
                restarts: 5,
            }
        );
    }

    fn event(kind: &str, name: &str, reason: &str, secs: i64, count: u32) -> ClusterEvent {
        ClusterEvent {
            object_kind: kind.into(),
            object_name: name.into(),
            event_type: "Normal".into(),
            reason: reason.into(),
            message: format!("{reason} {name}"),
            count,
            last_seen: DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("valid"),
        }
    }

    #[test]
    fn events_about_targets_and_their_owners_are_kept_once() {
        let mut watch = EventWatch::new(NS);
        let first = pods(2);
        watch.observe(&first);
        let evs = vec![
            event("Pod", &first[0].name, "Killing", 1, 1),
            event("Pod", "cart-55d8b7c9f-aaaaa", "BackOff", 1, 1),
            event(
                "ReplicaSet",
                "checkout-7d9f8b6c5d",
                "SuccessfulCreate",
                2,
                1,
            ),
            event("Deployment", "checkout", "ScalingReplicaSet", 2, 1),
            event("Deployment", "cart", "ScalingReplicaSet", 2, 1),
        ];
        let got = watch.new_events("s", "count-1", &evs);
        let objects: Vec<&str> = got.iter().map(|e| e.object.as_str()).collect();
        assert_eq!(
            objects,
            [
                "Pod/checkout-7d9f8b6c5d-00000",
                "ReplicaSet/checkout-7d9f8b6c5d",
                "Deployment/checkout"
            ]
        );
        assert_eq!(got[0].namespace, NS);
        assert_eq!(got[0].reason, "Killing");

        // The same events again: nothing new. A repeat with a later time is new.
        assert!(watch.new_events("s", "count-1", &evs).is_empty());
        let again = vec![event("Pod", &first[0].name, "Killing", 9, 2)];
        let got = watch.new_events("s", "count-1", &again);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].count, 2);

        // The deleted pod is gone from the next list but its events still count.
        watch.observe(&[pod(7)]);
        let later = vec![
            event("Pod", &first[0].name, "Killing", 20, 3),
            event("Pod", &pod(7).name, "Started", 20, 1),
        ];
        assert_eq!(watch.new_events("s", "count-1", &later).len(), 2);
    }
}

#[cfg(test)]
mod beyond_pods_tests {
    use super::*;
    use crate::plan::scenario::{ResourceTarget, ScenarioAction};

    const GIB: u64 = 1024 * 1024 * 1024;

    fn scenario(resource: &str, action_id: &str, params: &[(&str, &str)]) -> Scenario {
        let g: crate::plan::GameDayScenario =
            yaml_serde::from_str(include_str!("../../scenarios/checkout-example.yaml"))
                .expect("example scenario parses");
        let mut sc = g.scenarios[0].clone();
        sc.resources = vec![ResourceTarget {
            resource_type: resource.into(),
            arns: if resource == "aws:iam:role" {
                vec!["arn:aws:iam::123456789012:role/checkout-pods".into()]
            } else {
                Vec::new()
            },
            tags: BTreeMap::new(),
            filters: Vec::new(),
            parameters: if resource == "aws:ec2:subnet" {
                BTreeMap::from([("availabilityZoneIdentifier".into(), "eu-west-1a".into())])
            } else {
                BTreeMap::new()
            },
        }];
        sc.actions = vec![ScenarioAction {
            name: "fault".into(),
            action_id: action_id.into(),
            parameters: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            start_after: Vec::new(),
        }];
        sc.stages.truncate(1);
        sc.stages[0].actions = Vec::new();
        sc.stages[0].selection = SelectionMode::Count(1);
        sc
    }

    fn pod(i: usize, zone: &str) -> PodInfo {
        PodInfo {
            name: format!("checkout-{i}"),
            namespace: "shop".into(),
            phase: "Running".into(),
            ready: true,
            terminating: false,
            restarts: 0,
            labels: BTreeMap::from([("app".into(), "checkout".into())]),
            node_name: Some(format!("node-{zone}")),
            on_fargate: false,
            owner: None,
            containers: Vec::new(),
            ephemeral_containers: Vec::new(),
            run_as_non_root: None,
            run_as_user: None,
            service_account: Some("checkout".into()),
            zone: Some(zone.into()),
            zone_id: None,
            cpu_request_millis: 500,
            memory_request_bytes: GIB,
        }
    }

    /// A node of 2 CPU / 8 GiB with `used` millicores and GiB requested (all movable).
    fn node(name: &str, zone: &str, used_cpu: u64, used_gib: u64) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            labels: BTreeMap::new(),
            zone: Some(zone.into()),
            zone_id: None,
            schedulable: true,
            allocatable_cpu_millis: 2000,
            allocatable_memory_bytes: 8 * GIB,
            requested_cpu_millis: used_cpu,
            requested_memory_bytes: used_gib * GIB,
            movable_cpu_millis: used_cpu,
            movable_memory_bytes: used_gib * GIB,
        }
    }

    fn facts(pods: Vec<PodInfo>, nodes: Vec<NodeInfo>) -> ClusterFacts {
        ClusterFacts {
            pods: Ok(pods),
            pdbs: Ok(Vec::new()),
            access: Err(ProviderError::Unexpected {
                operation: "access",
                message: "not read for faults beyond pods".into(),
            }),
            nodes: Some(Ok(nodes)),
            workload_roles: Vec::new(),
        }
    }

    fn run(sc: &Scenario, facts: &ClusterFacts) -> Vec<PreflightCheck> {
        preflight_checks(&ClusterPreflight {
            scenario: sc,
            stages: &sc.stages,
            policy: &Policy::default(),
            service_account: "fis-experiment",
            facts,
        })
    }

    fn find<'a>(checks: &'a [PreflightCheck], name: &str) -> &'a PreflightCheck {
        checks
            .iter()
            .find(|c| c.check == name)
            .unwrap_or_else(|| panic!("no {name} in {checks:?}"))
    }

    #[test]
    fn scopes_follow_actions_then_resources() {
        let s = |r, a| FaultScope::of(&scenario(r, a, &[]));
        assert_eq!(
            s("aws:eks:nodegroup", "aws:eks:terminate-nodegroup-instances"),
            FaultScope::Nodes
        );
        assert_eq!(
            s("aws:ec2:subnet", "aws:network:disrupt-connectivity"),
            FaultScope::Zone
        );
        assert_eq!(
            s("aws:iam:role", "aws:fis:inject-api-throttle-error"),
            FaultScope::Api
        );
        assert_eq!(
            s("aws:rds:cluster", "aws:rds:failover-db-cluster"),
            FaultScope::Other
        );
        assert_eq!(
            s("aws:eks:pod", "aws:eks:pod-network-blackhole-port"),
            FaultScope::Pods
        );
    }

    #[test]
    fn a_database_fault_checks_only_that_the_service_is_up() {
        let sc = scenario("aws:rds:cluster", "aws:rds:failover-db-cluster", &[]);
        let c = run(&sc, &facts(vec![pod(0, "eu-west-1a")], Vec::new()));
        let names: Vec<&str> = c.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(names, [CHECK_SERVICE], "{c:?}");
        assert!(c[0].ok, "{c:?}");
        let mut down = pod(0, "eu-west-1a");
        down.ready = false;
        let c = run(&sc, &facts(vec![down], Vec::new()));
        assert!(!c[0].ok && c[0].detail.contains("already down"), "{c:?}");
    }

    #[test]
    fn a_node_fault_needs_room_for_the_busiest_nodes_pods() {
        // 25 % of 3 nodes rounds up to 1 node lost: the busiest one (1500m, 6 GiB).
        let sc = scenario(
            "aws:eks:nodegroup",
            "aws:eks:terminate-nodegroup-instances",
            &[("instanceTerminationPercentage", "25")],
        );
        let pods = vec![pod(0, "eu-west-1a"), pod(1, "eu-west-1b")];
        let roomy = vec![
            node("a", "eu-west-1a", 1500, 6),
            node("b", "eu-west-1b", 500, 1),
            node("c", "eu-west-1c", 500, 1),
        ];
        let c = run(&sc, &facts(pods.clone(), roomy));
        let room = find(&c, CHECK_ROOM);
        assert!(room.ok, "{room:?}");
        assert!(room.detail.contains("1500m CPU and 6144 MiB"), "{room:?}");
        assert!(
            room.detail.contains("3000m CPU and 14336 MiB free"),
            "{room:?}"
        );
        assert!(
            c.iter()
                .all(|c| c.check != CHECK_RBAC && c.check != CHECK_TARGETS)
        );
        // The others are nearly full: 1500m does not fit in 2 × 200m.
        let tight = vec![
            node("a", "eu-west-1a", 1500, 6),
            node("b", "eu-west-1b", 1800, 2),
            node("c", "eu-west-1c", 1800, 2),
        ];
        let c = run(&sc, &facts(pods.clone(), tight));
        let room = find(&c, CHECK_ROOM);
        assert!(
            !room.ok && room.detail.contains("short of 1100m CPU"),
            "{room:?}"
        );
        assert!(
            room.fix
                .as_deref()
                .unwrap_or("")
                .contains("update-nodegroup-config"),
            "{room:?}"
        );
        // One node: losing it leaves nothing.
        let c = run(&sc, &facts(pods, vec![node("a", "eu-west-1a", 100, 1)]));
        assert!(!find(&c, CHECK_ROOM).ok);
    }

    #[test]
    fn an_az_fault_needs_a_multi_zone_service_and_room_outside_the_zone() {
        let sc = scenario("aws:ec2:subnet", "aws:network:disrupt-connectivity", &[]);
        let nodes = vec![
            node("a", "eu-west-1a", 1000, 2),
            node("b", "eu-west-1b", 500, 1),
        ];
        let spread = vec![pod(0, "eu-west-1a"), pod(1, "eu-west-1b")];
        let c = run(&sc, &facts(spread, nodes.clone()));
        assert!(find(&c, CHECK_ZONES).ok, "{c:?}");
        assert!(find(&c, CHECK_ROOM).ok, "{c:?}");
        let single = vec![pod(0, "eu-west-1b"), pod(1, "eu-west-1b")];
        let c = run(&sc, &facts(single, nodes.clone()));
        let z = find(&c, CHECK_ZONES);
        assert!(!z.ok && z.detail.contains("single-AZ service"), "{z:?}");
        assert!(
            z.fix
                .as_deref()
                .unwrap_or("")
                .contains("topologySpreadConstraints")
        );
        let mut unknown = pod(0, "eu-west-1a");
        unknown.zone = None;
        let c = run(&sc, &facts(vec![unknown, pod(1, "eu-west-1b")], nodes));
        assert!(!find(&c, CHECK_ZONES).ok, "{c:?}");
        // Every node in the impaired zone: nothing left to reschedule on.
        let c = run(
            &sc,
            &facts(
                vec![pod(0, "eu-west-1a"), pod(1, "eu-west-1b")],
                vec![node("a", "eu-west-1a", 100, 1)],
            ),
        );
        assert!(!find(&c, CHECK_ROOM).ok, "{c:?}");
    }

    #[test]
    fn an_api_fault_role_must_be_the_pods_role() {
        let sc = scenario("aws:iam:role", "aws:fis:inject-api-throttle-error", &[]);
        let with = |role: Option<&str>| {
            let mut f = facts(vec![pod(0, "eu-west-1a")], Vec::new());
            f.nodes = None;
            f.workload_roles = vec![("checkout".into(), Ok(Some(role.map(str::to_owned))))];
            run(&sc, &f)
        };
        let c = with(Some("arn:aws:iam::123456789012:role/checkout-pods"));
        assert!(find(&c, CHECK_WORKLOAD_ROLE).ok, "{c:?}");
        let c = with(Some("arn:aws:iam::123456789012:role/other"));
        let w = find(&c, CHECK_WORKLOAD_ROLE);
        assert!(!w.ok && w.detail.contains("role/other"), "{w:?}");
        assert!(
            w.fix
                .as_deref()
                .unwrap_or("")
                .contains("iam_role_arn of checkout to arn:aws:iam::123456789012:role/other"),
            "{w:?}"
        );
        let c = with(None);
        let w = find(&c, CHECK_WORKLOAD_ROLE);
        assert!(w.ok && w.detail.contains("Pod Identity"), "{w:?}");
    }

    #[test]
    fn quantities_parse_to_millicores_and_bytes() {
        use crate::provider::kube::{cpu_millis, memory_bytes};
        assert_eq!(cpu_millis("250m"), Some(250));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("0.5"), Some(500));
        assert_eq!(cpu_millis("1930m"), Some(1930));
        assert_eq!(memory_bytes("512Mi"), Some(512 * 1024 * 1024));
        assert_eq!(memory_bytes("1G"), Some(1_000_000_000));
        assert_eq!(memory_bytes("7548156Ki"), Some(7_548_156 * 1024));
        assert_eq!(memory_bytes("129e6"), Some(129_000_000));
        assert_eq!(cpu_millis("lots"), None);
    }
}
