//! Kubernetes: the target pods of a scenario, the PodDisruptionBudgets and RBAC around them, and
//! the events they produce while a fault runs.
//!
//! Input: a namespace, a label selector, the FIS service-account name. Output: domain types
//! ([`PodInfo`], [`PdbInfo`], [`AccessInfo`], [`ClusterEvent`]); `k8s-openapi` and `kube` types
//! and errors never leave this module. Must not: write to the cluster (every call is a get or a
//! list), or judge what it reads — whether the targets are safe to hit is decided by
//! `run::cluster_checks`.
//!
//! [`KubeCluster`] is the real implementation over `kube::Client`. For a scenario's
//! `target.cluster` (an EKS cluster name or ARN), [`KubeCluster::for_eks_cluster`] picks the
//! kubeconfig context that points at it and refuses to guess: running a fault against the
//! current context because it happened to be selected is how the wrong cluster gets hurt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::{Deserialize, Serialize};

use super::{ProviderError, ProviderResult};

/// Node label EKS puts on Fargate nodes.
pub const FARGATE_NODE_LABEL: &str = "eks.amazonaws.com/compute-type";
/// Pod label the EKS Fargate admission webhook puts on every pod it schedules on Fargate.
pub const FARGATE_PROFILE_LABEL: &str = "eks.amazonaws.com/fargate-profile";
/// Scheduler name of pods EKS runs on Fargate.
const FARGATE_SCHEDULER: &str = "fargate-scheduler";
/// Namespace label holding the Pod Security Admission enforce level.
pub const PSA_ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// Connect timeout for the API server: a cluster that does not answer in this long is down or
/// unreachable (VPN, private endpoint), and waiting longer only delays the preflight verdict.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Read timeout per call: every call here is a small get or list.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Domain types.
// ---------------------------------------------------------------------------------------------

/// A pod that a scenario's selector matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodInfo {
    /// Pod name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `status.phase` (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`).
    pub phase: String,
    /// Whether the `Ready` condition is `True`.
    pub ready: bool,
    /// Whether the pod is being deleted (`metadata.deletionTimestamp` is set).
    pub terminating: bool,
    /// Restarts summed over the pod's containers.
    pub restarts: u32,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Node the pod is scheduled on.
    pub node_name: Option<String>,
    /// Whether the pod runs on EKS Fargate (pod label [`FARGATE_PROFILE_LABEL`], scheduler
    /// `fargate-scheduler`, or node label [`FARGATE_NODE_LABEL`]` = fargate`).
    pub on_fargate: bool,
    /// The controller owning the pod (`ReplicaSet/checkout-7d9f8b6c5d`), if any.
    pub owner: Option<Owner>,
    /// Containers, in pod-spec order (FIS targets the first unless told otherwise).
    pub containers: Vec<ContainerInfo>,
    /// Names of ephemeral containers in the spec (FIS adds one per injection, and Kubernetes
    /// never removes them until the pod is replaced).
    pub ephemeral_containers: Vec<String>,
    /// Pod-level `securityContext.runAsNonRoot`.
    pub run_as_non_root: Option<bool>,
    /// Pod-level `securityContext.runAsUser`.
    pub run_as_user: Option<i64>,
}

/// A pod's controlling owner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Owner {
    /// Kind (`ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`, …).
    pub kind: String,
    /// Name.
    pub name: String,
}

/// One container of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// Container name.
    pub name: String,
    /// `securityContext.readOnlyRootFilesystem`. Only the container-level security context has
    /// this field; the pod-level one does not.
    pub read_only_root_filesystem: Option<bool>,
}

/// A label selector as PodDisruptionBudgets carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSelector {
    /// `matchLabels`.
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`.
    pub match_expressions: Vec<LabelRequirement>,
}

/// One `matchExpressions` term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRequirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In` and `NotIn`.
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Whether a pod with these labels is selected. An empty selector selects every pod (as in
    /// `policy/v1`); an unknown operator selects nothing, so coverage is never overstated.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

impl LabelRequirement {
    /// Whether these labels satisfy the requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator.as_str() {
            "In" => value.is_some_and(|v| self.values.contains(v)),
            "NotIn" => value.is_none_or(|v| !self.values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    }
}

/// A PodDisruptionBudget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdbInfo {
    /// Name.
    pub name: String,
    /// `spec.selector`; `None` (a null selector) selects no pods.
    pub selector: Option<LabelSelector>,
    /// `spec.minAvailable` (`2` or `50%`).
    pub min_available: Option<String>,
    /// `spec.maxUnavailable` (`1` or `25%`).
    pub max_unavailable: Option<String>,
    /// `status.disruptionsAllowed` (0 when the controller has not written a status yet).
    pub disruptions_allowed: i32,
    /// `status.currentHealthy`.
    pub current_healthy: i32,
    /// `status.desiredHealthy`.
    pub desired_healthy: i32,
    /// `status.expectedPods`.
    pub expected_pods: i32,
    /// Whether the PDB controller has written a status at all.
    pub has_status: bool,
}

impl PdbInfo {
    /// Whether this budget selects a pod with these labels.
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }

    /// `maxUnavailable=…` or `minAvailable=…`, for messages.
    pub fn budget(&self) -> String {
        match (&self.max_unavailable, &self.min_available) {
            (Some(m), _) => format!("maxUnavailable={m}"),
            (None, Some(m)) => format!("minAvailable={m}"),
            (None, None) => "no budget".to_owned(),
        }
    }
}

/// `Role` or `ClusterRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RoleKind {
    /// A namespaced Role.
    Role,
    /// A ClusterRole.
    ClusterRole,
}

impl RoleKind {
    /// The Kubernetes kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Role => "Role",
            Self::ClusterRole => "ClusterRole",
        }
    }
}

/// A Role or ClusterRole with its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleInfo {
    /// Role or ClusterRole.
    pub kind: RoleKind,
    /// Name.
    pub name: String,
    /// Rules.
    pub rules: Vec<RuleInfo>,
}

/// One RBAC rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// `apiGroups` (`""` is the core group, `*` all).
    pub api_groups: Vec<String>,
    /// `resources`, including subresources (`pods/exec`, `*/exec`, `*`).
    pub resources: Vec<String>,
    /// `verbs` (`*` all).
    pub verbs: Vec<String>,
    /// `resourceNames`; a rule with names only grants access to those objects.
    pub resource_names: Vec<String>,
}

/// `RoleBinding` or `ClusterRoleBinding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindingKind {
    /// A RoleBinding (grants in its namespace only).
    RoleBinding,
    /// A ClusterRoleBinding (grants in every namespace).
    ClusterRoleBinding,
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingInfo {
    /// RoleBinding or ClusterRoleBinding.
    pub kind: BindingKind,
    /// Name.
    pub name: String,
    /// The namespace of a RoleBinding.
    pub namespace: Option<String>,
    /// Kind of the referenced role.
    pub role_kind: RoleKind,
    /// Name of the referenced role.
    pub role_name: String,
    /// Subjects.
    pub subjects: Vec<SubjectInfo>,
}

/// One subject of a binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectInfo {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace (ServiceAccount subjects).
    pub namespace: Option<String>,
}

/// What the cluster says about who may do what in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessInfo {
    /// The namespace.
    pub namespace: String,
    /// Labels of the namespace; `None` when gameday may not read it.
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// The FIS service account asked about.
    pub service_account: String,
    /// Whether it exists in the namespace.
    pub service_account_exists: bool,
    /// Roles of the namespace, and the ClusterRoles the bindings reference (when readable).
    pub roles: Vec<RoleInfo>,
    /// RoleBindings of the namespace and ClusterRoleBindings (when readable).
    pub bindings: Vec<BindingInfo>,
    /// Cluster-scoped objects gameday was forbidden to read (`clusterrolebindings`,
    /// `clusterroles`, `namespaces/shop`): the RBAC picture may be incomplete without them.
    pub unreadable: Vec<String>,
}

/// A core/v1 Event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterEvent {
    /// `involvedObject.kind`.
    pub object_kind: String,
    /// `involvedObject.name`.
    pub object_name: String,
    /// `Normal` or `Warning`.
    pub event_type: String,
    /// Reason (`Killing`, `BackOff`, `OOMKilling`, …).
    pub reason: String,
    /// Message.
    pub message: String,
    /// Times seen (`series.count`, else `count`, else 1).
    pub count: u32,
    /// Last seen (`series.lastObservedTime`, else `lastTimestamp`, else `eventTime`, else
    /// `firstTimestamp`, else the object's creation time).
    pub last_seen: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Trait.
// ---------------------------------------------------------------------------------------------

/// The API server of the current kubeconfig context (or the in-cluster config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServer {
    /// Its URL.
    pub url: String,
    /// The version it reports (`gitVersion`).
    pub version: String,
}

/// Asks the API server of the current kubeconfig context (or the in-cluster config) for its
/// version, with the given connect and read timeouts.
///
/// # Errors
/// The failure with its causes on one line (no kubeconfig, no answer, refused).
pub async fn probe_api_server(
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<ApiServer, String> {
    let chain = |e: &(dyn std::error::Error + 'static)| crate::error::error_chain(e);
    let mut config = kube::Config::infer().await.map_err(|e| chain(&e))?;
    config.connect_timeout = Some(connect_timeout);
    config.read_timeout = Some(read_timeout);
    let url = config.cluster_url.to_string();
    install_tls_provider();
    let client = kube::Client::try_from(config).map_err(|e| chain(&e))?;
    let version = client.apiserver_version().await.map_err(|e| chain(&e))?;
    Ok(ApiServer {
        url,
        version: version.git_version,
    })
}

/// Reaches a scenario's cluster by its `target.cluster` name: [`EksClusters`] through the
/// kubeconfig, a fake in tests.
pub trait ClusterConnector {
    /// The connected cluster.
    type Cluster: ClusterTarget + Send + Sync + 'static;

    /// Connects to the cluster a scenario names.
    ///
    /// # Errors
    /// [`ProviderError::KubeConfig`] when no kubeconfig context points at it.
    fn connect(&self, cluster: &str) -> impl Future<Output = ProviderResult<Self::Cluster>> + Send;
}

/// Connects through the kubeconfig context that points at the EKS cluster (see
/// [`KubeCluster::for_eks_cluster`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct EksClusters;

impl ClusterConnector for EksClusters {
    type Cluster = KubeCluster;

    async fn connect(&self, cluster: &str) -> ProviderResult<KubeCluster> {
        KubeCluster::for_eks_cluster(cluster).await
    }
}

/// Reads the Kubernetes side of a scenario's target. Every method is read-only.
pub trait ClusterTarget {
    /// Pods in `namespace` matching the label selector (`key=value`), sorted by name.
    ///
    /// # Errors
    /// [`ProviderError::KubeForbidden`] when gameday may not list pods there,
    /// [`ProviderError::Kube`] for any other failed call.
    fn pods(
        &self,
        namespace: &str,
        selector: &str,
    ) -> impl Future<Output = ProviderResult<Vec<PodInfo>>> + Send;

    /// PodDisruptionBudgets in `namespace`, sorted by name.
    ///
    /// # Errors
    /// As [`ClusterTarget::pods`].
    fn pdbs(&self, namespace: &str) -> impl Future<Output = ProviderResult<Vec<PdbInfo>>> + Send;

    /// The service account, Roles, bindings and namespace labels that decide whether FIS may
    /// act in `namespace`. Cluster-scoped reads that are forbidden are listed in
    /// [`AccessInfo::unreadable`] rather than failing.
    ///
    /// # Errors
    /// As [`ClusterTarget::pods`], for the namespaced reads (service account, Roles,
    /// RoleBindings) and a missing namespace.
    fn access(
        &self,
        namespace: &str,
        service_account: &str,
    ) -> impl Future<Output = ProviderResult<AccessInfo>> + Send;

    /// Events in `namespace` last seen at or after `since`, oldest first.
    ///
    /// # Errors
    /// As [`ClusterTarget::pods`].
    fn events(
        &self,
        namespace: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = ProviderResult<Vec<ClusterEvent>>> + Send;
}

// ---------------------------------------------------------------------------------------------
// The kube implementation.
// ---------------------------------------------------------------------------------------------

/// [`ClusterTarget`] over the Kubernetes API (`kube::Client`).
#[derive(Clone)]
pub struct KubeCluster {
    client: kube::Client,
    cluster_url: String,
    context: Option<String>,
}

impl std::fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeCluster")
            .field("cluster_url", &self.cluster_url)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl KubeCluster {
    /// Wraps a client built elsewhere.
    pub fn new(client: kube::Client, cluster_url: impl Into<String>) -> Self {
        Self {
            client,
            cluster_url: cluster_url.into(),
            context: None,
        }
    }

    /// The API server URL.
    pub fn cluster_url(&self) -> &str {
        &self.cluster_url
    }

    /// The kubeconfig context in use, when built from one.
    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    /// The cluster for a scenario's `target.cluster` (EKS name or ARN), through the kubeconfig
    /// context that points at it (see [`pick_context`]). The kubeconfig is read as kubectl reads
    /// it (`KUBECONFIG`, else `~/.kube/config`).
    ///
    /// # Errors
    /// [`ProviderError::KubeConfig`] when no kubeconfig can be read, no context matches, or
    /// several do.
    pub async fn for_eks_cluster(cluster: &str) -> ProviderResult<Self> {
        let kubeconfig = Kubeconfig::read().map_err(|e| config_error(cluster, e))?;
        Self::for_eks_cluster_in(kubeconfig, cluster).await
    }

    /// As [`KubeCluster::for_eks_cluster`], reading the kubeconfig at `path`.
    ///
    /// # Errors
    /// As [`KubeCluster::for_eks_cluster`].
    pub async fn for_eks_cluster_from_file(path: &Path, cluster: &str) -> ProviderResult<Self> {
        let kubeconfig = Kubeconfig::read_from(path).map_err(|e| config_error(cluster, e))?;
        Self::for_eks_cluster_in(kubeconfig, cluster).await
    }

    async fn for_eks_cluster_in(kubeconfig: Kubeconfig, cluster: &str) -> ProviderResult<Self> {
        let context = pick_context(&kubeconfig, cluster)?;
        Self::from_kubeconfig_value(kubeconfig, Some(context), cluster).await
    }

    /// The cluster of a kubeconfig context (`None`: the current context), the kubeconfig read
    /// as kubectl reads it. Unlike [`KubeCluster::infer`], this never falls back to the
    /// in-cluster service account.
    ///
    /// # Errors
    /// [`ProviderError::KubeConfig`] when the kubeconfig cannot be read or lacks the context.
    pub async fn from_kubeconfig(context: Option<&str>) -> ProviderResult<Self> {
        let what = context.unwrap_or("the current context");
        let kubeconfig = Kubeconfig::read().map_err(|e| config_error(what, e))?;
        Self::from_kubeconfig_value(kubeconfig, context.map(str::to_owned), what).await
    }

    /// As [`KubeCluster::from_kubeconfig`], reading the kubeconfig at `path`.
    ///
    /// # Errors
    /// As [`KubeCluster::from_kubeconfig`].
    pub async fn from_kubeconfig_file(path: &Path, context: Option<&str>) -> ProviderResult<Self> {
        let what = context.unwrap_or("the current context");
        let kubeconfig = Kubeconfig::read_from(path).map_err(|e| config_error(what, e))?;
        Self::from_kubeconfig_value(kubeconfig, context.map(str::to_owned), what).await
    }

    async fn from_kubeconfig_value(
        kubeconfig: Kubeconfig,
        context: Option<String>,
        what: &str,
    ) -> ProviderResult<Self> {
        let options = KubeConfigOptions {
            context: context.clone(),
            ..KubeConfigOptions::default()
        };
        let context = context.or_else(|| kubeconfig.current_context.clone());
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| config_error(what, e))?;
        let mut cluster = Self::from_config(config, what)?;
        cluster.context = context;
        Ok(cluster)
    }

    /// The cluster `kube` infers: kubeconfig current context, else the in-cluster service
    /// account (gameday running as a pod).
    ///
    /// # Errors
    /// [`ProviderError::KubeConfig`] when neither is available.
    pub async fn infer() -> ProviderResult<Self> {
        let what = "the inferred cluster";
        let config = kube::Config::infer()
            .await
            .map_err(|e| config_error(what, e))?;
        Self::from_config(config, what)
    }

    /// An unauthenticated client for an explicit API server URL (`http://127.0.0.1:PORT` for
    /// a fake server in tests, or `kubectl proxy`).
    ///
    /// # Errors
    /// [`ProviderError::KubeConfig`] when the URL does not parse.
    pub fn from_url(url: &str) -> ProviderResult<Self> {
        let uri = url.parse::<http::Uri>().map_err(|e| config_error(url, e))?;
        Self::from_config(kube::Config::new(uri), url)
    }

    fn from_config(mut config: kube::Config, what: &str) -> ProviderResult<Self> {
        install_tls_provider();
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(READ_TIMEOUT);
        let url = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|e| config_error(what, e))?;
        Ok(Self::new(client, url.trim_end_matches('/')))
    }

    async fn fargate_nodes(&self, pods: &[PodInfo]) -> BTreeSet<String> {
        let names: BTreeSet<&str> = pods
            .iter()
            .filter(|p| !p.on_fargate)
            .filter_map(|p| p.node_name.as_deref())
            .collect();
        let nodes: Api<Node> = Api::all(self.client.clone());
        let mut fargate = BTreeSet::new();
        for name in names {
            // Nodes are cluster-scoped and a namespaced identity often may not read them; the
            // pod-side signs (profile label, scheduler) already caught Fargate pods, so a
            // refused or failed node read only loses a second opinion.
            match nodes.get_opt(name).await {
                Ok(Some(node)) => {
                    let labels = node.metadata.labels.unwrap_or_default();
                    if labels.get(FARGATE_NODE_LABEL).map(String::as_str) == Some("fargate") {
                        fargate.insert(name.to_owned());
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(node = name, error = %e, "cannot read node"),
            }
        }
        fargate
    }
}

impl ClusterTarget for KubeCluster {
    async fn pods(&self, namespace: &str, selector: &str) -> ProviderResult<Vec<PodInfo>> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let op = Op::list("", "pods", namespace);
        let list = api
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| op.error(e))?;
        let mut pods: Vec<PodInfo> = list
            .items
            .into_iter()
            .map(|p| pod_info(p, namespace))
            .collect();
        let fargate = self.fargate_nodes(&pods).await;
        for pod in &mut pods {
            if pod.node_name.as_ref().is_some_and(|n| fargate.contains(n)) {
                pod.on_fargate = true;
            }
        }
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(pods)
    }

    async fn pdbs(&self, namespace: &str) -> ProviderResult<Vec<PdbInfo>> {
        let api: Api<PodDisruptionBudget> = Api::namespaced(self.client.clone(), namespace);
        let op = Op::list("policy", "poddisruptionbudgets", namespace);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| op.error(e))?;
        let mut pdbs: Vec<PdbInfo> = list.items.into_iter().map(pdb_info).collect();
        pdbs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(pdbs)
    }

    async fn access(&self, namespace: &str, service_account: &str) -> ProviderResult<AccessInfo> {
        let mut unreadable = Vec::new();

        let ns_api: Api<Namespace> = Api::all(self.client.clone());
        let op = Op::get("", "namespaces", None, namespace);
        let namespace_labels = match ns_api.get(namespace).await {
            Ok(ns) => Some(ns.metadata.labels.unwrap_or_default()),
            Err(e) if api_status(&e) == Some(403) => {
                unreadable.push(format!("namespaces/{namespace}"));
                None
            }
            Err(e) => return Err(op.error(e)),
        };

        let sa_api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let op = Op::get("", "serviceaccounts", Some(namespace), service_account);
        let service_account_exists = sa_api
            .get_opt(service_account)
            .await
            .map_err(|e| op.error(e))?
            .is_some();

        let role_api: Api<Role> = Api::namespaced(self.client.clone(), namespace);
        let op = Op::list("rbac.authorization.k8s.io", "roles", namespace);
        let mut roles: Vec<RoleInfo> = role_api
            .list(&ListParams::default())
            .await
            .map_err(|e| op.error(e))?
            .items
            .into_iter()
            .map(|r| RoleInfo {
                kind: RoleKind::Role,
                name: r.metadata.name.unwrap_or_default(),
                rules: rules(r.rules),
            })
            .collect();

        let rb_api: Api<RoleBinding> = Api::namespaced(self.client.clone(), namespace);
        let op = Op::list("rbac.authorization.k8s.io", "rolebindings", namespace);
        let mut bindings: Vec<BindingInfo> = rb_api
            .list(&ListParams::default())
            .await
            .map_err(|e| op.error(e))?
            .items
            .into_iter()
            .map(|b| BindingInfo {
                kind: BindingKind::RoleBinding,
                name: b.metadata.name.unwrap_or_default(),
                namespace: Some(namespace.to_owned()),
                role_kind: role_kind(&b.role_ref.kind),
                role_name: b.role_ref.name,
                subjects: subjects(b.subjects),
            })
            .collect();

        let crb_api: Api<ClusterRoleBinding> = Api::all(self.client.clone());
        let op = Op::list_all("rbac.authorization.k8s.io", "clusterrolebindings");
        match crb_api.list(&ListParams::default()).await {
            Ok(list) => bindings.extend(list.items.into_iter().map(|b| BindingInfo {
                kind: BindingKind::ClusterRoleBinding,
                name: b.metadata.name.unwrap_or_default(),
                namespace: None,
                role_kind: role_kind(&b.role_ref.kind),
                role_name: b.role_ref.name,
                subjects: subjects(b.subjects),
            })),
            Err(e) if api_status(&e) == Some(403) => unreadable.push("clusterrolebindings".into()),
            Err(e) => return Err(op.error(e)),
        }

        let referenced: BTreeSet<&str> = bindings
            .iter()
            .filter(|b| b.role_kind == RoleKind::ClusterRole)
            .map(|b| b.role_name.as_str())
            .collect();
        if !referenced.is_empty() {
            let cr_api: Api<ClusterRole> = Api::all(self.client.clone());
            let op = Op::list_all("rbac.authorization.k8s.io", "clusterroles");
            match cr_api.list(&ListParams::default()).await {
                Ok(list) => roles.extend(list.items.into_iter().filter_map(|r| {
                    let name = r.metadata.name.unwrap_or_default();
                    referenced.contains(name.as_str()).then(|| RoleInfo {
                        kind: RoleKind::ClusterRole,
                        name,
                        rules: rules(r.rules),
                    })
                })),
                Err(e) if api_status(&e) == Some(403) => unreadable.push("clusterroles".into()),
                Err(e) => return Err(op.error(e)),
            }
        }

        roles.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Ok(AccessInfo {
            namespace: namespace.to_owned(),
            namespace_labels,
            service_account: service_account.to_owned(),
            service_account_exists,
            roles,
            bindings,
            unreadable,
        })
    }

    async fn events(
        &self,
        namespace: &str,
        since: DateTime<Utc>,
    ) -> ProviderResult<Vec<ClusterEvent>> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let op = Op::list("", "events", namespace);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| op.error(e))?;
        let mut events: Vec<ClusterEvent> = list
            .items
            .into_iter()
            .filter_map(cluster_event)
            .filter(|e| e.last_seen >= since)
            .collect();
        events.sort_by(|a, b| {
            (a.last_seen, &a.object_kind, &a.object_name, &a.reason).cmp(&(
                b.last_seen,
                &b.object_kind,
                &b.object_name,
                &b.reason,
            ))
        });
        Ok(events)
    }
}

/// Selects `ring` as the process's rustls crypto provider, unless one is already installed.
///
/// Call it before building a `kube::Client` by hand. The dependency tree compiles rustls with
/// both `ring` (kube's choice) and `aws-lc-rs` (the AWS SDK's), and with two providers rustls
/// cannot pick a default on its own: building the client would panic. The AWS SDK passes its
/// provider explicitly and is not affected by the process default.
pub fn install_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing one is fine: any provider will do.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

// ---------------------------------------------------------------------------------------------
// Context selection.
// ---------------------------------------------------------------------------------------------

/// The kubeconfig context for an EKS cluster given by name or ARN.
///
/// A context matches when its name, or the name of the kubeconfig cluster it uses, is the
/// given name or ARN, or is an ARN ending in `:cluster/<name>` (what `aws eks
/// update-kubeconfig` writes), or is the eksctl form `<name>.<region>.eksctl.io`; given an ARN,
/// a context or cluster entry named by the ARN's cluster name also matches. When several match,
/// the current context wins if it is one of them.
///
/// # Errors
/// [`ProviderError::KubeConfig`] when no context matches, or several do and none is current.
pub fn pick_context(kubeconfig: &Kubeconfig, cluster: &str) -> ProviderResult<String> {
    let short = cluster
        .rsplit_once(":cluster/")
        .map_or(cluster, |(_, name)| name);
    let names_it = |candidate: &str| {
        candidate == cluster
            || candidate == short
            || candidate.ends_with(&format!(":cluster/{short}"))
            || (candidate.starts_with(&format!("{short}.")) && candidate.ends_with(".eksctl.io"))
    };
    let matches: Vec<&str> = kubeconfig
        .contexts
        .iter()
        .filter(|c| {
            names_it(&c.name) || c.context.as_ref().is_some_and(|ctx| names_it(&ctx.cluster))
        })
        .map(|c| c.name.as_str())
        .collect();
    let current = kubeconfig.current_context.as_deref();
    match matches.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(ProviderError::KubeConfig {
            target: cluster.to_owned(),
            message: format!(
                "no kubeconfig context points at it; run `aws eks update-kubeconfig --name \
                 {short}` (add --region) or name the context after the cluster"
            ),
            source: None,
        }),
        many => match current.filter(|c| many.contains(c)) {
            Some(c) => Ok(c.to_owned()),
            None => Err(ProviderError::KubeConfig {
                target: cluster.to_owned(),
                message: format!(
                    "several kubeconfig contexts point at it ({}); select one with `kubectl \
                     config use-context`",
                    many.join(", ")
                ),
                source: None,
            }),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------------

fn config_error(target: &str, e: impl std::error::Error + Send + Sync + 'static) -> ProviderError {
    ProviderError::KubeConfig {
        target: target.to_owned(),
        message: "the kubeconfig or in-cluster configuration could not be loaded".to_owned(),
        source: Some(Box::new(e)),
    }
}

fn api_status(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// One API operation, for error messages and the RBAC grant a 403 needs.
struct Op {
    verb: &'static str,
    group: &'static str,
    resource: &'static str,
    namespace: Option<String>,
    name: Option<String>,
}

impl Op {
    fn list(group: &'static str, resource: &'static str, namespace: &str) -> Self {
        Self {
            verb: "list",
            group,
            resource,
            namespace: Some(namespace.to_owned()),
            name: None,
        }
    }

    fn list_all(group: &'static str, resource: &'static str) -> Self {
        Self {
            verb: "list",
            group,
            resource,
            namespace: None,
            name: None,
        }
    }

    fn get(
        group: &'static str,
        resource: &'static str,
        namespace: Option<&str>,
        name: &str,
    ) -> Self {
        Self {
            verb: "get",
            group,
            resource,
            namespace: namespace.map(str::to_owned),
            name: Some(name.to_owned()),
        }
    }

    fn describe(&self) -> String {
        let what = match &self.name {
            Some(n) => format!("{} {}/{n}", self.verb, self.resource),
            None => format!("{} {}", self.verb, self.resource),
        };
        match &self.namespace {
            Some(ns) => format!("{what} in namespace {ns}"),
            None => what,
        }
    }

    fn grant(&self) -> String {
        let group = if self.group.is_empty() {
            "\"\""
        } else {
            self.group
        };
        match &self.namespace {
            Some(ns) => format!(
                "a Role in namespace {ns} (and a RoleBinding to gameday's user or group) with \
                 apiGroups [{group}], resources [{}], verbs [{}]",
                self.resource, self.verb
            ),
            None => format!(
                "a ClusterRole (and a ClusterRoleBinding to gameday's user or group) with \
                 apiGroups [{group}], resources [{}], verbs [{}]",
                self.resource, self.verb
            ),
        }
    }

    fn error(&self, e: kube::Error) -> ProviderError {
        match api_status(&e) {
            Some(403) => ProviderError::KubeForbidden {
                operation: self.describe(),
                grant: self.grant(),
                source: Box::new(e),
            },
            status => ProviderError::Kube {
                operation: self.describe(),
                status,
                source: Box::new(e),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions from k8s-openapi types.
// ---------------------------------------------------------------------------------------------

fn to_chrono(ts: &k8s_openapi::jiff::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.as_second(), u32::try_from(ts.subsec_nanosecond()).ok()?)
}

fn pod_info(pod: Pod, namespace: &str) -> PodInfo {
    let meta = pod.metadata;
    let labels = meta.labels.unwrap_or_default();
    let owner = meta.owner_references.and_then(|refs| {
        let pick = refs
            .iter()
            .find(|r| r.controller == Some(true))
            .or(refs.first())?;
        Some(Owner {
            kind: pick.kind.clone(),
            name: pick.name.clone(),
        })
    });
    let spec = pod.spec.unwrap_or_default();
    let status = pod.status.unwrap_or_default();
    let ready = status
        .conditions
        .as_ref()
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let restarts = status
        .container_statuses
        .as_ref()
        .map(|cs| {
            cs.iter()
                .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
                .fold(0u32, u32::saturating_add)
        })
        .unwrap_or(0);
    let on_fargate = labels.contains_key(FARGATE_PROFILE_LABEL)
        || spec.scheduler_name.as_deref() == Some(FARGATE_SCHEDULER);
    let pod_sc = spec.security_context.unwrap_or_default();
    PodInfo {
        name: meta.name.unwrap_or_default(),
        namespace: meta.namespace.unwrap_or_else(|| namespace.to_owned()),
        phase: status.phase.unwrap_or_else(|| "Unknown".to_owned()),
        ready,
        terminating: meta.deletion_timestamp.is_some(),
        restarts,
        labels,
        node_name: spec.node_name,
        on_fargate,
        owner,
        containers: spec
            .containers
            .into_iter()
            .map(|c| ContainerInfo {
                name: c.name,
                read_only_root_filesystem: c
                    .security_context
                    .and_then(|s| s.read_only_root_filesystem),
            })
            .collect(),
        ephemeral_containers: spec
            .ephemeral_containers
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.name)
            .collect(),
        run_as_non_root: pod_sc.run_as_non_root,
        run_as_user: pod_sc.run_as_user,
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn label_selector(s: meta::LabelSelector) -> LabelSelector {
    LabelSelector {
        match_labels: s.match_labels.unwrap_or_default(),
        match_expressions: s
            .match_expressions
            .unwrap_or_default()
            .into_iter()
            .map(|r| LabelRequirement {
                key: r.key,
                operator: r.operator,
                values: r.values.unwrap_or_default(),
            })
            .collect(),
    }
}

fn pdb_info(pdb: PodDisruptionBudget) -> PdbInfo {
    let spec = pdb.spec.unwrap_or_default();
    let status = pdb.status;
    PdbInfo {
        name: pdb.metadata.name.unwrap_or_default(),
        selector: spec.selector.map(label_selector),
        min_available: spec.min_available.as_ref().map(int_or_string),
        max_unavailable: spec.max_unavailable.as_ref().map(int_or_string),
        disruptions_allowed: status.as_ref().map_or(0, |s| s.disruptions_allowed),
        current_healthy: status.as_ref().map_or(0, |s| s.current_healthy),
        desired_healthy: status.as_ref().map_or(0, |s| s.desired_healthy),
        expected_pods: status.as_ref().map_or(0, |s| s.expected_pods),
        has_status: status.is_some(),
    }
}

fn rules(rules: Option<Vec<PolicyRule>>) -> Vec<RuleInfo> {
    rules
        .unwrap_or_default()
        .into_iter()
        .map(|r| RuleInfo {
            api_groups: r.api_groups.unwrap_or_default(),
            resources: r.resources.unwrap_or_default(),
            verbs: r.verbs,
            resource_names: r.resource_names.unwrap_or_default(),
        })
        .collect()
}

fn role_kind(kind: &str) -> RoleKind {
    if kind == "Role" {
        RoleKind::Role
    } else {
        RoleKind::ClusterRole
    }
}

fn subjects(subjects: Option<Vec<k8s_openapi::api::rbac::v1::Subject>>) -> Vec<SubjectInfo> {
    subjects
        .unwrap_or_default()
        .into_iter()
        .map(|s| SubjectInfo {
            kind: s.kind,
            name: s.name,
            namespace: s.namespace,
        })
        .collect()
}

fn cluster_event(e: Event) -> Option<ClusterEvent> {
    let series = e.series.as_ref();
    let last_seen = series
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| &t.0)
        .or(e.last_timestamp.as_ref().map(|t| &t.0))
        .or(e.event_time.as_ref().map(|t| &t.0))
        .or(e.first_timestamp.as_ref().map(|t| &t.0))
        .or(e.metadata.creation_timestamp.as_ref().map(|t| &t.0))
        .and_then(to_chrono)?;
    let count = series
        .and_then(|s| s.count)
        .or(e.count)
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(1);
    Some(ClusterEvent {
        object_kind: e.involved_object.kind.unwrap_or_default(),
        object_name: e.involved_object.name.unwrap_or_default(),
        event_type: e.type_.unwrap_or_else(|| "Normal".to_owned()),
        reason: e.reason.unwrap_or_default(),
        message: e.message.unwrap_or_default(),
        count,
        last_seen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn selector_match_labels_and_expressions() {
        let pod = labels(&[("app", "checkout"), ("tier", "web")]);
        let sel = LabelSelector {
            match_labels: labels(&[("app", "checkout")]),
            match_expressions: vec![LabelRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: vec!["web".into(), "api".into()],
            }],
        };
        assert!(sel.matches(&pod));
        assert!(!sel.matches(&labels(&[("app", "checkout"), ("tier", "db")])));
        assert!(!sel.matches(&labels(&[("app", "cart"), ("tier", "web")])));
        assert!(LabelSelector::default().matches(&pod), "empty selects all");

        let req = |op: &str, values: &[&str]| LabelRequirement {
            key: "tier".into(),
            operator: op.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        assert!(req("NotIn", &["db"]).matches(&pod));
        assert!(!req("NotIn", &["web"]).matches(&pod));
        assert!(req("NotIn", &["web"]).matches(&labels(&[])), "absent key");
        assert!(req("Exists", &[]).matches(&pod));
        assert!(!req("DoesNotExist", &[]).matches(&pod));
        assert!(req("DoesNotExist", &[]).matches(&labels(&[("app", "x")])));
        assert!(!req("Gt", &["1"]).matches(&pod), "unknown operator");
    }

    #[test]
    fn a_null_pdb_selector_selects_nothing() {
        let pdb = PdbInfo {
            name: "p".into(),
            selector: None,
            min_available: Some("1".into()),
            max_unavailable: None,
            disruptions_allowed: 1,
            current_healthy: 2,
            desired_healthy: 1,
            expected_pods: 2,
            has_status: true,
        };
        assert!(!pdb.selects(&labels(&[("app", "checkout")])));
        assert_eq!(pdb.budget(), "minAvailable=1");
    }

    fn kubeconfig(yaml: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(yaml).expect("kubeconfig parses")
    }

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: arn:aws:eks:eu-west-1:123456789012:cluster/staging-eks
clusters:
  - name: arn:aws:eks:eu-west-1:123456789012:cluster/staging-eks
    cluster: {server: "https://a.example"}
  - name: payments.eu-west-1.eksctl.io
    cluster: {server: "https://b.example"}
  - name: kind-local
    cluster: {server: "https://127.0.0.1:6443"}
contexts:
  - name: arn:aws:eks:eu-west-1:123456789012:cluster/staging-eks
    context: {cluster: "arn:aws:eks:eu-west-1:123456789012:cluster/staging-eks", user: u}
  - name: me@payments.eu-west-1.eksctl.io
    context: {cluster: payments.eu-west-1.eksctl.io, user: u}
  - name: kind-local
    context: {cluster: kind-local, user: u}
users:
  - name: u
    user: {token: t}
"#;

    #[test]
    fn contexts_are_found_by_eks_name_arn_or_eksctl_name() {
        let kc = kubeconfig(KUBECONFIG);
        let arn = "arn:aws:eks:eu-west-1:123456789012:cluster/staging-eks";
        assert_eq!(pick_context(&kc, "staging-eks").ok().as_deref(), Some(arn));
        assert_eq!(pick_context(&kc, arn).ok().as_deref(), Some(arn));
        assert_eq!(
            pick_context(&kc, "payments").ok().as_deref(),
            Some("me@payments.eu-west-1.eksctl.io")
        );
        assert_eq!(
            pick_context(&kc, "kind-local").ok().as_deref(),
            Some("kind-local")
        );
    }

    #[test]
    fn an_unknown_cluster_is_refused_not_guessed() {
        let kc = kubeconfig(KUBECONFIG);
        let err = pick_context(&kc, "orders-eks").expect_err("no context");
        assert_eq!(err.kind(), "kube_config");
        assert!(
            err.to_string()
                .contains("aws eks update-kubeconfig --name orders-eks"),
            "{err}"
        );
    }

    #[test]
    fn several_matches_need_the_current_context_among_them() {
        let yaml = KUBECONFIG.replace(
            "name: kind-local\n    context",
            "name: staging-eks\n    context",
        );
        let kc = kubeconfig(&yaml);
        // Two contexts name staging-eks; the current one is among them.
        let arn = "arn:aws:eks:eu-west-1:123456789012:cluster/staging-eks";
        assert_eq!(pick_context(&kc, "staging-eks").ok().as_deref(), Some(arn));
        let mut kc = kc;
        kc.current_context = Some("kind-local".into());
        let err = pick_context(&kc, "staging-eks").expect_err("ambiguous");
        assert!(err.to_string().contains("several"), "{err}");
    }

    #[test]
    fn forbidden_errors_name_the_grant() {
        let status = kube::core::Status::failure("pods is forbidden", "Forbidden").with_code(403);
        let err = Op::list("", "pods", "shop").error(kube::Error::Api(status.boxed()));
        assert_eq!(err.kind(), "kube_forbidden");
        let text = err.to_string();
        assert!(
            text.contains("cannot list pods in namespace shop"),
            "{text}"
        );
        assert!(text.contains("resources [pods], verbs [list]"), "{text}");

        let status = kube::core::Status::failure("boom", "InternalError").with_code(500);
        let err = Op::get("", "serviceaccounts", Some("shop"), "fis")
            .error(kube::Error::Api(status.boxed()));
        assert_eq!(err.kind(), "kube_call");
        assert_eq!(
            err.to_string(),
            "failed to get serviceaccounts/fis in namespace shop (HTTP 500)"
        );
    }

    #[test]
    fn event_times_fall_back_in_order() {
        let ev: Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e", "namespace": "shop",
                         "creationTimestamp": "2025-01-01T00:00:00Z"},
            "involvedObject": {"kind": "Pod", "name": "checkout-1"},
            "reason": "Killing", "message": "Stopping container app", "type": "Normal",
            "eventTime": "2025-01-01T00:00:05.123456Z",
            "series": {"count": 4, "lastObservedTime": "2025-01-01T00:01:00.000000Z"}
        }))
        .expect("event json");
        let e = cluster_event(ev.clone()).expect("has a time");
        assert_eq!(e.count, 4);
        assert_eq!(e.last_seen.to_rfc3339(), "2025-01-01T00:01:00+00:00");
        let mut no_series = ev;
        no_series.series = None;
        let e = cluster_event(no_series.clone()).expect("has a time");
        assert_eq!(e.count, 1);
        assert_eq!(e.last_seen.timestamp_subsec_micros(), 123_456);
        no_series.event_time = None;
        let e = cluster_event(no_series).expect("has a time");
        assert_eq!(e.last_seen.to_rfc3339(), "2025-01-01T00:00:00+00:00");
    }
}
