//! Preflight checks of a scenario's AWS resource targets (faults beyond pods).
//!
//! Input: what [`gather`] read through a [`ResourceInventory`] (node groups, DB clusters, IAM
//! roles), the scenario and the blast-radius [`Policy`]. Output: [`PreflightCheck`]s named
//! [`CHECK_NODEGROUP`], [`CHECK_DATABASE`] and [`CHECK_ROLE`], each with what was found and, when
//! it failed, the command that fixes it. Must not: change any resource (the inventory is
//! read-only) or decide whether the run goes ahead — the run loop reads the `ok` flags, and a
//! failed check means no template is created and nothing is injected (exit 2).
//!
//! Rules: a node-group fault needs an opted-in managed node group (its tags carry every tag of
//! the scenario's `aws:eks:nodegroup` target) with at least 2 instances, so terminating nodes
//! leaves the cluster somewhere to reschedule their pods; a database fault needs an opted-in DB
//! cluster with a reader to fail over to; an API fault needs its IAM role to exist and carry the
//! opt-in tag (roles are named by ARN, so only this check enforces the opt-in), and to be a role
//! the service's pods can assume ([`CHECK_ROLE_WORKLOAD`]): its trust policy admits EKS Pod
//! Identity (`pods.eks.amazonaws.com`) or, through the cluster's OIDC provider (IRSA), a service
//! account of the scenario's namespace. The Kubernetes check `k8s-workload-role` then compares
//! the role with the pods' `eks.amazonaws.com/role-arn` annotation when there is one.

use std::collections::BTreeMap;

use crate::model::record::PreflightCheck;
use crate::plan::Policy;
use crate::plan::scenario::{GameDayScenario, ResourceTarget, Scenario};
use crate::provider::{
    DbClusterFacts, NodegroupFacts, ProviderResult, ResourceInventory, RoleFacts,
};

/// Check name: an opted-in managed node group with at least 2 instances.
pub const CHECK_NODEGROUP: &str = "aws-nodegroup";
/// Check name: an opted-in DB cluster with a reader to fail over to.
pub const CHECK_DATABASE: &str = "aws-database";
/// Check name: the API-fault IAM role exists and carries the opt-in tag.
pub const CHECK_ROLE: &str = "aws-role";
/// Check name: the API-fault IAM role is one the service's pods can assume (trust policy).
pub const CHECK_ROLE_WORKLOAD: &str = "aws-role-workload";

/// Fewest instances a node group needs before some are terminated.
const MIN_NODES: i32 = 2;

/// What [`gather`] read for one scenario (`None`: the scenario does not need it).
#[derive(Debug)]
pub struct ResourceFacts {
    /// Node groups of the scenario's cluster.
    pub nodegroups: Option<ProviderResult<Vec<NodegroupFacts>>>,
    /// DB clusters of the account and region.
    pub db_clusters: Option<ProviderResult<Vec<DbClusterFacts>>>,
    /// Each IAM role target ARN and what IAM said about it.
    pub roles: Vec<(String, ProviderResult<Option<RoleFacts>>)>,
}

fn target<'a>(s: &'a Scenario, resource_type: &str) -> Option<&'a ResourceTarget> {
    s.resources
        .iter()
        .find(|r| r.resource_type == resource_type)
}

/// Reads what the checks of one scenario need. The only function here that performs I/O.
pub async fn gather<I: ResourceInventory + Sync>(inventory: &I, s: &Scenario) -> ResourceFacts {
    let nodegroups = match target(s, "aws:eks:nodegroup") {
        Some(_) => Some(inventory.nodegroups(&s.target.cluster).await),
        None => None,
    };
    let db_clusters = match target(s, "aws:rds:cluster") {
        Some(_) => Some(inventory.db_clusters().await),
        None => None,
    };
    let mut roles = Vec::new();
    if let Some(r) = target(s, "aws:iam:role") {
        for arn in &r.arns {
            roles.push((arn.clone(), inventory.role(arn).await));
        }
    }
    ResourceFacts {
        nodegroups,
        db_clusters,
        roles,
    }
}

/// Every AWS resource check of a GameDay, scenario by scenario.
pub async fn check_gameday<I: ResourceInventory + Sync>(
    inventory: &I,
    gameday: &GameDayScenario,
    policy: &Policy,
) -> Vec<PreflightCheck> {
    let mut out = Vec::new();
    for s in gameday.scenarios.iter().filter(|s| !s.resources.is_empty()) {
        let facts = gather(inventory, s).await;
        out.extend(preflight_checks(s, policy, &facts));
    }
    out
}

fn carries(have: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v))
}

fn shown(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The checks of one scenario, in a stable order: node group, database, roles.
pub fn preflight_checks(
    s: &Scenario,
    policy: &Policy,
    facts: &ResourceFacts,
) -> Vec<PreflightCheck> {
    let check = |name: &str, ok: bool, detail: String, fix: Option<String>| PreflightCheck {
        scenario: Some(s.name.clone()),
        stage: None,
        check: name.to_owned(),
        ok,
        detail,
        fix,
    };
    let failed = |name: &str, what: &str, e: &crate::provider::ProviderError| {
        check(
            name,
            false,
            format!("could not read {what}: {}", crate::error::error_chain(e)),
            Some(format!(
                "give the gameday role read access ({what}) and check the region, then run again"
            )),
        )
    };
    let mut out = Vec::new();

    if let (Some(t), Some(facts)) = (target(s, "aws:eks:nodegroup"), &facts.nodegroups) {
        let cluster = &s.target.cluster;
        out.push(match facts {
            Err(e) => failed(CHECK_NODEGROUP, "the EKS node groups", e),
            Ok(groups) => {
                let opted: Vec<&NodegroupFacts> = groups
                    .iter()
                    .filter(|g| carries(&g.tags, &t.tags))
                    .collect();
                let small: Vec<&&NodegroupFacts> = opted
                    .iter()
                    .filter(|g| g.desired_size < MIN_NODES)
                    .collect();
                if opted.is_empty() {
                    check(
                        CHECK_NODEGROUP,
                        false,
                        format!(
                            "no managed node group of cluster {cluster} carries the opt-in tags \
                             {} ({} node groups found)",
                            shown(&t.tags),
                            groups.len()
                        ),
                        Some(format!(
                            "tag the node group to rehearse on: aws eks tag-resource \
                             --resource-arn <node group ARN> --tags {}",
                            shown(&t.tags)
                        )),
                    )
                } else if let Some(g) = small.first() {
                    check(
                        CHECK_NODEGROUP,
                        false,
                        format!(
                            "node group {} has {} instance(s); terminating nodes needs at least \
                             {MIN_NODES} so the pods have somewhere to go",
                            g.name, g.desired_size
                        ),
                        Some(format!(
                            "aws eks update-nodegroup-config --cluster-name {cluster} \
                             --nodegroup-name {} --scaling-config \
                             minSize={MIN_NODES},desiredSize={MIN_NODES},maxSize=<max>",
                            g.name
                        )),
                    )
                } else {
                    let names: Vec<String> = opted
                        .iter()
                        .map(|g| format!("{} ({} instances)", g.name, g.desired_size))
                        .collect();
                    check(
                        CHECK_NODEGROUP,
                        true,
                        format!("opted-in node groups: {}", names.join(", ")),
                        None,
                    )
                }
            }
        });
    }

    if let (Some(t), Some(facts)) = (target(s, "aws:rds:cluster"), &facts.db_clusters) {
        out.push(match facts {
            Err(e) => failed(CHECK_DATABASE, "the DB clusters", e),
            Ok(clusters) => {
                let opted: Vec<&DbClusterFacts> = clusters
                    .iter()
                    .filter(|c| carries(&c.tags, &t.tags))
                    .collect();
                let readerless = opted.iter().find(|c| c.members.iter().all(|(_, w)| *w));
                if opted.is_empty() {
                    check(
                        CHECK_DATABASE,
                        false,
                        format!(
                            "no DB cluster carries the opt-in tags {} ({} clusters found)",
                            shown(&t.tags),
                            clusters.len()
                        ),
                        Some(format!(
                            "tag the cluster to rehearse on: aws rds add-tags-to-resource \
                             --resource-name <DB cluster ARN> --tags {}",
                            t.tags
                                .iter()
                                .map(|(k, v)| format!("Key={k},Value={v}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        )),
                    )
                } else if let Some(c) = readerless {
                    check(
                        CHECK_DATABASE,
                        false,
                        format!(
                            "DB cluster {} has no reader ({} member(s)): a failover has nowhere \
                             to go",
                            c.id,
                            c.members.len()
                        ),
                        Some(format!(
                            "add a reader: aws rds create-db-instance --db-cluster-identifier {} \
                             --db-instance-identifier {}-reader --engine <engine> \
                             --db-instance-class <class>",
                            c.id, c.id
                        )),
                    )
                } else {
                    let names: Vec<String> = opted
                        .iter()
                        .map(|c| {
                            let readers = c.members.iter().filter(|(_, w)| !w).count();
                            format!("{} ({readers} reader(s))", c.id)
                        })
                        .collect();
                    check(
                        CHECK_DATABASE,
                        true,
                        format!("opted-in DB clusters: {}", names.join(", ")),
                        None,
                    )
                }
            }
        });
    }

    let (key, value) = match policy.opt_in_label.as_deref() {
        Some(label) => match label.split_once('=') {
            Some((k, v)) => (Some(k.to_owned()), Some(v.to_owned())),
            None => (Some(label.to_owned()), None),
        },
        None => (None, None),
    };
    for (arn, facts) in &facts.roles {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let mut workload = None;
        out.push(match facts {
            Err(e) => failed(CHECK_ROLE, "the IAM role", e),
            Ok(None) => check(
                CHECK_ROLE,
                false,
                format!("IAM role {arn} does not exist"),
                Some(format!(
                    "set services[].faults.iam_role_arn of {} to the role its pods use (the \
                     eks.amazonaws.com/role-arn annotation of its service account), plan again",
                    s.service
                )),
            ),
            Ok(Some(role)) => {
                let opted = key.as_ref().is_none_or(|k| {
                    role.tags
                        .get(k)
                        .is_some_and(|v| value.as_ref().is_none_or(|want| v == want))
                });
                let ns = &s.target.namespace;
                workload = Some(match pod_trust(&role.trust_policy, ns) {
                    Some(how) => check(
                        CHECK_ROLE_WORKLOAD,
                        true,
                        format!(
                            "IAM role {} can be assumed by the pods of {ns}: {how}",
                            role.arn
                        ),
                        None,
                    ),
                    None => check(
                        CHECK_ROLE_WORKLOAD,
                        false,
                        format!(
                            "IAM role {arn} is not a role the pods of {ns} can assume: its trust \
                             policy admits neither EKS Pod Identity (pods.eks.amazonaws.com) nor \
                             a service account of {ns} through the cluster's OIDC provider \
                             (IRSA), so the fault would not touch {}'s calls",
                            s.service
                        ),
                        Some(format!(
                            "set services[].faults.iam_role_arn of {} to its pods' role — the \
                             eks.amazonaws.com/role-arn annotation of their service account \
                             (kubectl -n {ns} get serviceaccount <name> -o yaml) or its Pod \
                             Identity association (aws eks list-pod-identity-associations \
                             --cluster-name {} --namespace {ns}) — and plan again",
                            s.service, s.target.cluster
                        )),
                    ),
                });
                if opted {
                    check(
                        CHECK_ROLE,
                        true,
                        format!("IAM role {} carries the opt-in tag", role.arn),
                        None,
                    )
                } else {
                    let k = key.clone().unwrap_or_default();
                    let v = value.clone().unwrap_or_else(|| s.service.clone());
                    check(
                        CHECK_ROLE,
                        false,
                        format!(
                            "IAM role {arn} does not carry the opt-in tag {k} (tags: [{}])",
                            shown(&role.tags)
                        ),
                        Some(format!(
                            "aws iam tag-role --role-name {name} --tags Key={k},Value={v}"
                        )),
                    )
                }
            }
        });
        out.extend(workload);
    }
    out
}

/// Strings of a policy field that is a string or a list of strings.
fn strings(v: &serde_json::Value) -> Vec<&str> {
    match v {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(a) => a.iter().filter_map(serde_json::Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// How a trust policy lets the pods of `namespace` assume the role, or `None`: an `Allow`
/// statement whose principal is the EKS Pod Identity service, or a federated `oidc-provider`
/// principal allowed `sts:AssumeRoleWithWebIdentity` whose `…:sub` condition (if any) names a
/// service account of the namespace (`system:serviceaccount:<namespace>:<name>`, `*` allowed).
pub fn pod_trust(policy: &serde_json::Value, namespace: &str) -> Option<String> {
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(a) => a.iter().collect(),
        one @ serde_json::Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    for st in statements {
        if st["Effect"].as_str() != Some("Allow") {
            continue;
        }
        let principal = &st["Principal"];
        if strings(&principal["Service"]).contains(&"pods.eks.amazonaws.com") {
            return Some("EKS Pod Identity (pods.eks.amazonaws.com)".to_owned());
        }
        let federated = strings(&principal["Federated"]);
        let Some(provider) = federated.iter().find(|f| f.contains(":oidc-provider/")) else {
            continue;
        };
        let actions = strings(&st["Action"]);
        if !actions
            .iter()
            .any(|a| *a == "sts:AssumeRoleWithWebIdentity" || *a == "sts:*" || *a == "*")
        {
            continue;
        }
        let mut subs = Vec::new();
        if let serde_json::Value::Object(ops) = &st["Condition"] {
            for (op, keys) in ops {
                if !op.starts_with("String") {
                    continue;
                }
                if let serde_json::Value::Object(keys) = keys {
                    for (k, v) in keys {
                        if k.ends_with(":sub") {
                            subs.extend(strings(v));
                        }
                    }
                }
            }
        }
        let prefix = format!("system:serviceaccount:{namespace}:");
        let admits = |sub: &&str| {
            sub.starts_with(&prefix)
                || *sub == "system:serviceaccount:*"
                || (sub.ends_with('*') && prefix.starts_with(sub.trim_end_matches('*')))
        };
        if subs.is_empty() {
            return Some(format!("IRSA through {provider}, any service account"));
        }
        if let Some(sub) = subs.iter().find(|sub| admits(sub)) {
            return Some(format!("IRSA through {provider} for {sub}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::scenario::ResourceTarget;

    fn tags() -> BTreeMap<String, String> {
        BTreeMap::from([("chaos-experiment".to_owned(), "checkout".to_owned())])
    }

    fn scenario(types: &[&str]) -> Scenario {
        let g = crate::plan::generate::tests::planned();
        let mut s = g.scenarios[0].clone();
        s.resources = types
            .iter()
            .map(|t| ResourceTarget {
                resource_type: (*t).to_owned(),
                arns: if *t == "aws:iam:role" {
                    vec!["arn:aws:iam::123456789012:role/checkout-pods".to_owned()]
                } else {
                    Vec::new()
                },
                tags: if *t == "aws:iam:role" {
                    BTreeMap::new()
                } else {
                    tags()
                },
                filters: Vec::new(),
                parameters: BTreeMap::new(),
            })
            .collect();
        s
    }

    fn policy() -> Policy {
        Policy {
            opt_in_label: Some("chaos-experiment".to_owned()),
            ..Policy::default()
        }
    }

    fn ng(name: &str, size: i32, tagged: bool) -> NodegroupFacts {
        NodegroupFacts {
            name: name.to_owned(),
            tags: if tagged { tags() } else { BTreeMap::new() },
            desired_size: size,
        }
    }

    fn one(checks: &[PreflightCheck]) -> &PreflightCheck {
        assert_eq!(checks.len(), 1, "{checks:?}");
        &checks[0]
    }

    #[test]
    fn node_groups_need_the_opt_in_tag_and_two_instances() {
        let s = scenario(&["aws:eks:nodegroup"]);
        let run = |groups: Vec<NodegroupFacts>| {
            preflight_checks(
                &s,
                &policy(),
                &ResourceFacts {
                    nodegroups: Some(Ok(groups)),
                    db_clusters: None,
                    roles: Vec::new(),
                },
            )
        };
        let c = run(vec![ng("a", 3, false)]);
        assert!(
            !one(&c).ok
                && one(&c)
                    .fix
                    .as_deref()
                    .unwrap_or("")
                    .contains("tag-resource")
        );
        let c = run(vec![ng("a", 1, true)]);
        assert!(
            !one(&c).ok && one(&c).detail.contains("1 instance"),
            "{c:?}"
        );
        assert!(
            one(&c)
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("update-nodegroup-config")
        );
        let c = run(vec![ng("a", 3, true), ng("b", 1, false)]);
        assert!(one(&c).ok, "{c:?}");
    }

    #[test]
    fn a_database_needs_a_reader() {
        let s = scenario(&["aws:rds:db", "aws:rds:cluster"]);
        let cluster = |members: Vec<(&str, bool)>| DbClusterFacts {
            id: "orders".to_owned(),
            tags: tags(),
            members: members
                .into_iter()
                .map(|(m, w)| (m.to_owned(), w))
                .collect(),
        };
        let run = |clusters| {
            preflight_checks(
                &s,
                &policy(),
                &ResourceFacts {
                    nodegroups: None,
                    db_clusters: Some(Ok(clusters)),
                    roles: Vec::new(),
                },
            )
        };
        let c = run(vec![cluster(vec![("orders-1", true)])]);
        assert!(!one(&c).ok && one(&c).detail.contains("no reader"), "{c:?}");
        let c = run(vec![cluster(vec![("orders-1", true), ("orders-2", false)])]);
        assert!(one(&c).ok, "{c:?}");
        let c = run(Vec::new());
        assert!(!one(&c).ok && one(&c).fix.as_deref().unwrap_or("").contains("add-tags"));
    }

    #[test]
    fn pod_trust_reads_pod_identity_and_irsa_for_the_namespace() {
        let pod_identity = serde_json::json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": ["pods.eks.amazonaws.com"]},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
        assert!(pod_trust(&pod_identity, "shop").is_some());
        let irsa = |sub: &str| {
            serde_json::json!({"Statement": [{"Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks.x/id/A"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {"oidc.eks.x/id/A:sub": sub}}}]})
        };
        assert!(pod_trust(&irsa("system:serviceaccount:shop:checkout"), "shop").is_some());
        assert!(pod_trust(&irsa("system:serviceaccount:shop:*"), "shop").is_some());
        assert!(pod_trust(&irsa("system:serviceaccount:billing:api"), "shop").is_none());
        let deny = serde_json::json!({"Statement": [{"Effect": "Deny",
            "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        assert!(pod_trust(&deny, "shop").is_none());
        assert!(pod_trust(&serde_json::Value::Null, "shop").is_none());
    }

    #[test]
    fn an_api_fault_role_must_exist_and_opt_in() {
        let s = scenario(&["aws:iam:role"]);
        let arn = s.resources[0].arns[0].clone();
        let run = |r: ProviderResult<Option<RoleFacts>>| {
            preflight_checks(
                &s,
                &policy(),
                &ResourceFacts {
                    nodegroups: None,
                    db_clusters: None,
                    roles: vec![(arn.clone(), r)],
                },
            )
        };
        let c = run(Ok(None));
        assert!(
            !one(&c).ok
                && one(&c)
                    .fix
                    .as_deref()
                    .unwrap_or("")
                    .contains("iam_role_arn")
        );
        let irsa = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub": format!("system:serviceaccount:{}:checkout", s.target.namespace)
            }}
        }]});
        let role = |tags, trust_policy| {
            Ok(Some(RoleFacts {
                arn: arn.clone(),
                tags,
                trust_policy,
            }))
        };
        let c = run(role(BTreeMap::new(), irsa.clone()));
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c[1].ok && c[1].check == CHECK_ROLE_WORKLOAD, "{c:?}");
        assert!(!c[0].ok && c[0].fix.as_deref().unwrap_or("").contains("tag-role"));
        let c = run(role(tags(), irsa));
        assert!(c.iter().all(|c| c.ok), "{c:?}");
        // A role only EC2 may assume is not the pods' role.
        let ec2 = serde_json::json!({"Statement": {"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}});
        let c = run(role(tags(), ec2));
        let w = c
            .iter()
            .find(|c| c.check == CHECK_ROLE_WORKLOAD)
            .expect("workload check");
        assert!(
            !w.ok && w.fix.as_deref().unwrap_or("").contains("role-arn"),
            "{c:?}"
        );
        assert!(w.detail.contains("neither EKS Pod Identity"), "{c:?}");
    }
}
