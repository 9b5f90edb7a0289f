//! The Kubernetes side of FIS pod actions: RBAC in each target namespace and the mapping of
//! the experiment role to the user `fis-experiment`.
//!
//! Input: a [`GameDayScenario`]. Output: [`rbac_targets`] (cluster, namespace) pairs whose
//! scenarios use `aws:eks:pod-*` actions, [`rbac_yaml`] (ServiceAccount, Role and RoleBinding for
//! the service account AND the user `fis-experiment`, with the permissions of
//! [`FIS_POD_PERMISSIONS`]) and [`access_entry_commands`] (EKS access entry, or the `aws-auth`
//! mapping for clusters without the access-entry API). Must not call AWS or the cluster.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::plan::GameDayScenario;

/// The Kubernetes user the FIS experiment role is mapped to (access entry or `aws-auth`).
pub const FIS_USER: &str = "fis-experiment";

/// The namespaced permissions FIS needs for `aws:eks:pod-*` actions, for both the service
/// account and the user [`FIS_USER`]: `(apiGroup, resource, verbs)` (FIS user guide, "EKS pod
/// actions", Kubernetes RBAC).
pub const FIS_POD_PERMISSIONS: &[(&str, &str, &[&str])] = &[
    ("", "configmaps", &["get", "create", "patch", "delete"]),
    (
        "",
        "pods",
        &["create", "list", "get", "delete", "deletecollection"],
    ),
    ("", "pods/ephemeralcontainers", &["update"]),
    ("", "pods/exec", &["create"]),
    ("apps", "deployments", &["get"]),
];

/// The name of the Role and RoleBinding gameday writes.
pub const RBAC_NAME: &str = "fis-experiment";

/// `(cluster, namespace)` of every scenario with an `aws:eks:pod-*` action, sorted, deduplicated.
pub fn rbac_targets(g: &GameDayScenario) -> Vec<(String, String)> {
    g.scenarios
        .iter()
        .filter(|s| {
            s.actions
                .iter()
                .any(|a| a.action_id.starts_with("aws:eks:pod-"))
        })
        .map(|s| (s.target.cluster.clone(), s.target.namespace.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The EKS cluster names FIS needs to reach (pod actions only).
pub fn clusters(g: &GameDayScenario) -> Vec<String> {
    rbac_targets(g)
        .into_iter()
        .map(|(c, _)| c)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The cluster name of a scenario's `cluster` (a name or an EKS cluster ARN).
pub fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit_once(":cluster/").map_or(cluster, |(_, n)| n)
}

/// The RBAC manifests for every target namespace (`kubectl apply -f`), one document per object.
pub fn rbac_yaml(g: &GameDayScenario) -> String {
    let sa = &g.fis.kubernetes_service_account;
    let mut out = format!(
        "# FIS pod actions of GameDay {}: the service account the FIS pod runs as, and a Role\n\
         # bound to it and to the user `{FIS_USER}` (the experiment role's Kubernetes identity).\n\
         # Apply to each cluster: kubectl apply -f kubernetes-rbac.yaml\n",
        g.name
    );
    let mut rules = String::new();
    for (group, resource, verbs) in FIS_POD_PERMISSIONS {
        let verbs: Vec<String> = verbs.iter().map(|v| format!("\"{v}\"")).collect();
        let _ = write!(
            rules,
            "  - apiGroups: [\"{group}\"]\n    resources: [\"{resource}\"]\n    verbs: [{}]\n",
            verbs.join(", ")
        );
    }
    for (cluster, ns) in rbac_targets(g) {
        let _ = write!(
            out,
            "---\n# cluster {cluster}\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {sa}\n  \
             namespace: {ns}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  \
             name: {RBAC_NAME}\n  namespace: {ns}\nrules:\n{rules}---\napiVersion: \
             rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {RBAC_NAME}\n  \
             namespace: {ns}\nsubjects:\n  - kind: ServiceAccount\n    name: {sa}\n    namespace: \
             {ns}\n  - apiGroup: rbac.authorization.k8s.io\n    kind: User\n    name: {FIS_USER}\n\
             roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {RBAC_NAME}\n"
        );
    }
    out
}

/// Shell commands mapping the experiment role to the user `fis-experiment` on each cluster: an
/// EKS access entry (authentication mode `API` or `API_AND_CONFIG_MAP`; no access policy: the
/// Role grants what FIS needs), or the `aws-auth` entry for `CONFIG_MAP` clusters.
pub fn access_entry_commands(g: &GameDayScenario) -> String {
    let role = &g.fis.role_arn;
    let mut out = format!(
        "#!/bin/sh\n# Map the FIS experiment role of GameDay {} to the Kubernetes user `{FIS_USER}`.\nset -eu\n",
        g.name
    );
    for cluster in clusters(g) {
        let name = cluster_name(&cluster);
        let _ = write!(
            out,
            "\n# cluster {name} (authentication mode API or API_AND_CONFIG_MAP)\n\
             aws eks create-access-entry --region {region} --cluster-name {name} \\\n  \
             --principal-arn {role} --username {FIS_USER}\n\
             # or, for authentication mode CONFIG_MAP (the role ARN must have no path):\n\
             # eksctl create iamidentitymapping --region {region} --cluster {name} --arn {role} --username {FIS_USER}\n",
            region = g.region
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::generate::tests::planned;

    #[test]
    fn rbac_yaml_binds_both_subjects_in_every_target_namespace() {
        let g = planned();
        let targets = rbac_targets(&g);
        assert!(!targets.is_empty());
        let yaml = rbac_yaml(&g);
        let docs: Vec<&str> = yaml.split("\n---\n").skip(1).collect();
        assert_eq!(docs.len(), targets.len() * 3, "{yaml}");
        for (_, ns) in &targets {
            assert!(yaml.contains(&format!("namespace: {ns}")));
        }
        assert!(yaml.contains("kind: User\n    name: fis-experiment"));
        assert!(
            yaml.contains("resources: [\"pods/ephemeralcontainers\"]\n    verbs: [\"update\"]")
        );
        // Every document parses as YAML.
        for d in docs {
            let v: yaml_serde::Value =
                yaml_serde::from_str(d).unwrap_or_else(|e| panic!("{e}\n{d}"));
            assert!(v.get("kind").is_some());
        }
    }

    #[test]
    fn access_entry_maps_the_role_to_the_fis_user() {
        let g = planned();
        let text = access_entry_commands(&g);
        assert!(text.contains(&format!(
            "--principal-arn {} --username fis-experiment",
            g.fis.role_arn
        )));
        assert_eq!(cluster_name("arn:aws:eks:eu-west-1:1:cluster/prod"), "prod");
        assert_eq!(cluster_name("prod"), "prod");
    }
}
