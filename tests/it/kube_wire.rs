//! Over-the-wire tests of `KubeCluster` and the Kubernetes preflight checks against the
//! loopback fake API server (`fake_kube`). Every test is bounded by [`TIMEOUT`], so a hang
//! fails instead of blocking the suite.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gameday::model::record::PreflightCheck;
use gameday::plan::Policy;
use gameday::plan::scenario::{GameDayScenario, Scenario, ScenarioAction};
use gameday::provider::kube::{ClusterTarget, KubeCluster};
use gameday::run::cluster_checks::{
    ClusterFacts, ClusterPreflight, EventWatch, gather, gather_for, pod_snapshot, preflight_checks,
};

use crate::fake_kube::{self, FakeKube, Fixture, NAMESPACE, SERVICE_ACCOUNT};

/// Longest a test may take talking to the fake (it answers in microseconds; the margin is for
/// a loaded machine).
const TIMEOUT: Duration = Duration::from_secs(1);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, f)
        .await
        .expect("the fake API server exchange finished within the timeout")
}

/// The example GameDay's network-latency scenario (COUNT(1), PERCENT(10), PERCENT(25) on
/// `shop`, selector `chaos-experiment=checkout`).
fn latency_scenario() -> Scenario {
    let g: GameDayScenario = yaml_serde::from_str(
        &std::fs::read_to_string(crate::support::repo().join("scenarios/checkout-example.yaml"))
            .expect("example scenario"),
    )
    .expect("example scenario parses");
    g.scenarios[0].clone()
}

fn delete_scenario() -> Scenario {
    let mut sc = latency_scenario();
    sc.name = "checkout-pod-delete".into();
    sc.actions = vec![ScenarioAction {
        name: "delete".into(),
        action_id: "aws:eks:pod-delete".into(),
        parameters: [(
            "kubernetesServiceAccount".to_owned(),
            SERVICE_ACCOUNT.to_owned(),
        )]
        .into(),
        start_after: Vec::new(),
    }];
    sc
}

/// The example configuration's policy: opt-in label key `chaos-experiment`, default caps.
fn policy() -> Policy {
    Policy {
        opt_in_label: Some("chaos-experiment".into()),
        ..Policy::default()
    }
}

/// The cluster preflight's verdicts on `facts` for `sc`, under the test policy.
fn judged(sc: &Scenario, facts: &ClusterFacts) -> Vec<PreflightCheck> {
    preflight_checks(&ClusterPreflight {
        scenario: sc,
        stages: &sc.stages,
        policy: &policy(),
        service_account: SERVICE_ACCOUNT,
        facts,
    })
}

async fn facts(kube: &FakeKube, sc: &Scenario) -> ClusterFacts {
    let cluster = KubeCluster::from_url(&kube.url).expect("client for the fake");
    bounded(gather(&cluster, &sc.target, SERVICE_ACCOUNT)).await
}

async fn run_checks(
    scenario: fake_kube::Scenario,
    sc: &Scenario,
) -> (Vec<PreflightCheck>, FakeKube) {
    let kube = fake_kube::start(scenario).await;
    let facts = facts(&kube, sc).await;
    (judged(sc, &facts), kube)
}

fn failed(checks: &[PreflightCheck]) -> Vec<(String, Option<String>)> {
    checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| (c.check.clone(), c.stage.clone()))
        .collect()
}

fn find<'a>(checks: &'a [PreflightCheck], name: &str, stage: Option<&str>) -> &'a PreflightCheck {
    checks
        .iter()
        .find(|c| c.check == name && c.stage.as_deref() == stage)
        .unwrap_or_else(|| panic!("no {name} check for {stage:?} in {checks:#?}"))
}

fn owned(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    pairs
        .iter()
        .map(|(c, s)| ((*c).to_owned(), s.map(str::to_owned)))
        .collect()
}

#[tokio::test]
async fn a_healthy_namespace_passes_every_check_and_the_selector_is_sent() {
    let sc = latency_scenario();
    let (checks, kube) = run_checks(fake_kube::Scenario::Healthy, &sc).await;
    assert_eq!(failed(&checks), owned(&[]), "{checks:#?}");
    assert_eq!(checks.len(), 7);
    assert_eq!(
        find(&checks, "k8s-pods", None).detail,
        "10 pod(s) in namespace shop with selector chaos-experiment=checkout, 10 ready, 0 \
         terminating or finished"
    );

    let requests = kube.requests();
    let pod_lists: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("/api/v1/namespaces/shop/pods?"))
        .collect();
    assert_eq!(pod_lists.len(), 1, "{requests:#?}");
    assert_eq!(
        fake_kube::query(pod_lists[0])
            .get("labelSelector")
            .map(String::as_str),
        Some("chaos-experiment=checkout")
    );
    for expected in [
        "/apis/policy/v1/namespaces/shop/poddisruptionbudgets",
        "/api/v1/namespaces/shop/serviceaccounts/fis-experiment",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/api/v1/namespaces/shop",
        "/api/v1/nodes/ip-10-0-1-20.eu-west-1.compute.internal",
    ] {
        assert!(
            requests
                .iter()
                .any(|r| r.split('?').next() == Some(expected)),
            "{expected} not requested: {requests:#?}"
        );
    }
    assert!(
        requests.iter().all(|r| !r.contains("watch=")),
        "reads only, no watches: {requests:#?}"
    );
}

#[tokio::test]
async fn pods_are_read_with_owner_containers_restarts_and_nodes() {
    let kube = fake_kube::start(fake_kube::Scenario::Healthy).await;
    let cluster = KubeCluster::from_url(&kube.url).expect("client");
    let pods = bounded(cluster.pods(NAMESPACE, "chaos-experiment=checkout"))
        .await
        .expect("pods");
    assert_eq!(
        pods.len(),
        10,
        "the cart pod is filtered out by the selector"
    );
    let p = &pods[0];
    assert_eq!(p.name, "checkout-7d9f8b6c5d-2xk9p");
    assert_eq!(p.phase, "Running");
    assert!(p.ready && !p.terminating && !p.on_fargate);
    assert_eq!(
        p.owner.as_ref().map(|o| (o.kind.as_str(), o.name.as_str())),
        Some(("ReplicaSet", "checkout-7d9f8b6c5d"))
    );
    let containers: Vec<(&str, Option<bool>)> = p
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.read_only_root_filesystem))
        .collect();
    assert_eq!(containers, [("app", Some(false)), ("envoy", Some(true))]);
    assert_eq!(
        p.node_name.as_deref(),
        Some("ip-10-0-1-20.eu-west-1.compute.internal")
    );
    assert_eq!(pods.iter().map(|p| p.restarts).sum::<u32>(), 1);

    kube.update(|f| {
        f.set_ready(0, false);
        f.set_ready(4, false);
    });
    let pods = bounded(cluster.pods(NAMESPACE, "chaos-experiment=checkout"))
        .await
        .expect("pods");
    let snap = pod_snapshot("checkout-network-latency", "count-1", &pods);
    assert_eq!((snap.total, snap.ready, snap.restarts), (10, 8, 1));
}

#[tokio::test]
async fn no_pdb_fails_the_pdb_check() {
    let sc = latency_scenario();
    let (checks, _) = run_checks(fake_kube::Scenario::NoPdb, &sc).await;
    assert_eq!(failed(&checks), owned(&[("k8s-pdb", None)]));
    let c = find(&checks, "k8s-pdb", None);
    assert!(
        c.detail
            .starts_with("no PodDisruptionBudget covers 10 of 10 target pod(s)"),
        "{}",
        c.detail
    );
    assert!(
        c.fix
            .as_deref()
            .is_some_and(|f| f.contains("kind: PodDisruptionBudget")),
        "{c:?}"
    );
}

#[tokio::test]
async fn an_exhausted_pdb_blocks_pod_delete_but_not_latency() {
    let sc = delete_scenario();
    let (checks, _) = run_checks(fake_kube::Scenario::PdbExhausted, &sc).await;
    assert_eq!(
        failed(&checks),
        owned(&[
            ("k8s-pdb", Some("count-1")),
            ("k8s-pdb", Some("percent-10")),
            ("k8s-pdb", Some("percent-25")),
        ])
    );
    let c = find(&checks, "k8s-pdb", Some("count-1"));
    assert!(
        c.detail.contains(
            "PodDisruptionBudget checkout (maxUnavailable=25%) allows 0 disruption(s) now \
             (currentHealthy 8, desiredHealthy 8, expectedPods 10)"
        ),
        "{}",
        c.detail
    );
    assert!(
        find(&checks, "k8s-pods", None).detail.contains("8 ready"),
        "{checks:#?}"
    );

    let (checks, _) = run_checks(fake_kube::Scenario::PdbExhausted, &latency_scenario()).await;
    assert_eq!(failed(&checks), owned(&[]), "{checks:#?}");
}

#[tokio::test]
async fn missing_rbac_verbs_are_listed_for_both_subjects() {
    let sc = latency_scenario();
    let (checks, _) = run_checks(fake_kube::Scenario::MissingRbac, &sc).await;
    assert_eq!(failed(&checks), owned(&[("k8s-rbac", None)]));
    let c = find(&checks, "k8s-rbac", None);
    assert!(
        c.detail.contains(
            "ServiceAccount shop/fis-experiment lacks in namespace shop: update \
             pods/ephemeralcontainers, create pods/exec"
        ),
        "{}",
        c.detail
    );
    assert!(
        c.detail
            .contains("User fis-experiment lacks in namespace shop: all 12 permissions"),
        "{}",
        c.detail
    );
}

#[tokio::test]
async fn a_read_only_root_filesystem_fails_pod_properties() {
    let sc = latency_scenario();
    let (checks, _) = run_checks(fake_kube::Scenario::ReadOnlyRootFs, &sc).await;
    assert_eq!(failed(&checks), owned(&[("k8s-pod-properties", None)]));
    assert!(
        find(&checks, "k8s-pod-properties", None)
            .detail
            .starts_with("the first container has readOnlyRootFilesystem: true in 10 pod(s)"),
        "{checks:#?}"
    );
}

#[tokio::test]
async fn too_many_resolved_targets_fail_the_stages() {
    let sc = latency_scenario();
    let (checks, _) = run_checks(fake_kube::Scenario::FewPods, &sc).await;
    assert_eq!(
        failed(&checks),
        owned(&[
            ("k8s-targets", Some("count-1")),
            ("k8s-targets", Some("percent-10")),
            ("k8s-targets", Some("percent-25")),
        ])
    );
    assert_eq!(
        find(&checks, "k8s-targets", Some("count-1")).detail,
        "COUNT(1) resolves to 1 of 3 pods (33%), above the policy's max_percent 25%"
    );
    assert!(
        find(&checks, "k8s-targets", Some("percent-25"))
            .detail
            .starts_with("PERCENT(25) of 3 pod(s) resolves to 0 (FIS rounds down)"),
        "{checks:#?}"
    );
}

#[tokio::test]
async fn a_missing_service_account_is_a_failed_check_not_an_error() {
    let sc = latency_scenario();
    let (checks, kube) = run_checks(fake_kube::Scenario::NoServiceAccount, &sc).await;
    assert_eq!(failed(&checks), owned(&[("k8s-rbac", None)]));
    assert_eq!(
        find(&checks, "k8s-rbac", None).detail,
        "service account shop/fis-experiment does not exist"
    );
    assert!(
        kube.requests()
            .iter()
            .any(|r| r == "/api/v1/namespaces/shop/serviceaccounts/fis-experiment")
    );
}

#[tokio::test]
async fn forbidden_pods_name_the_grant() {
    let kube = fake_kube::start(fake_kube::Scenario::PodsForbidden).await;
    let cluster = KubeCluster::from_url(&kube.url).expect("client");
    let err = bounded(cluster.pods(NAMESPACE, "chaos-experiment=checkout"))
        .await
        .expect_err("403");
    assert_eq!(err.kind(), "kube_forbidden");
    assert_eq!(
        err.to_string(),
        "gameday's Kubernetes identity cannot list pods in namespace shop: grant it a Role in \
         namespace shop (and a RoleBinding to gameday's user or group) with apiGroups [\"\"], \
         resources [pods], verbs [list]"
    );

    let sc = latency_scenario();
    let (checks, _) = run_checks(fake_kube::Scenario::PodsForbidden, &sc).await;
    let c = find(&checks, "k8s-pods", None);
    assert!(!c.ok);
    assert!(
        c.detail
            .contains("pods is forbidden: User \"gameday-test\""),
        "the API server's message is kept: {}",
        c.detail
    );
    assert!(find(&checks, "k8s-rbac", None).ok);
}

#[tokio::test]
async fn a_namespaced_identity_still_gets_an_answer() {
    let sc = latency_scenario();
    let kube = fake_kube::start(fake_kube::Scenario::NamespacedIdentity).await;
    let cluster = KubeCluster::from_url(&kube.url).expect("client");
    let access = bounded(cluster.access(NAMESPACE, SERVICE_ACCOUNT))
        .await
        .expect("namespaced reads succeed");
    assert_eq!(
        access.unreadable,
        ["namespaces/shop", "clusterrolebindings", "clusterroles"],
        "the RoleBinding to ClusterRole view makes it ask for cluster roles too"
    );
    assert_eq!(access.namespace_labels, None);
    assert!(access.service_account_exists);

    let (checks, _) = run_checks(fake_kube::Scenario::NamespacedIdentity, &sc).await;
    assert_eq!(failed(&checks), owned(&[("k8s-pod-properties", None)]));
    assert!(
        find(&checks, "k8s-pod-properties", None)
            .detail
            .contains("the labels of namespace shop could not be read"),
        "{checks:#?}"
    );
    assert!(
        find(&checks, "k8s-rbac", None)
            .detail
            .contains("may not read namespaces/shop, clusterrolebindings, clusterroles"),
        "{checks:#?}"
    );
}

#[tokio::test]
async fn fargate_is_seen_from_the_node_label_and_from_the_pod() {
    let mut fixture = Fixture::of(fake_kube::Scenario::Healthy);
    fixture.nodes["items"][1]["metadata"]["labels"]["eks.amazonaws.com/compute-type"] =
        serde_json::json!("fargate");
    fixture.pods["items"][0]["metadata"]["labels"]["eks.amazonaws.com/fargate-profile"] =
        serde_json::json!("shop");
    let kube = fake_kube::start_with(fixture).await;
    let cluster = KubeCluster::from_url(&kube.url).expect("client");
    let pods = bounded(cluster.pods(NAMESPACE, "chaos-experiment=checkout"))
        .await
        .expect("pods");
    let fargate: Vec<&str> = pods
        .iter()
        .filter(|p| p.on_fargate)
        .map(|p| p.name.as_str())
        .collect();
    // Pods 1, 4 and 7 sit on the second node; pod 0 carries the profile label.
    assert_eq!(
        fargate,
        [
            "checkout-7d9f8b6c5d-2xk9p",
            "checkout-7d9f8b6c5d-4bq7m",
            "checkout-7d9f8b6c5d-bn8wq",
            "checkout-7d9f8b6c5d-hq9zc"
        ]
    );
}

#[tokio::test]
async fn events_since_a_time_about_the_targets_become_journal_entries_once() {
    let kube = fake_kube::start(fake_kube::Scenario::Healthy).await;
    let cluster = KubeCluster::from_url(&kube.url).expect("client");
    let since: DateTime<Utc> = "2026-11-24T09:00:00Z".parse().expect("time");
    let events = bounded(cluster.events(NAMESPACE, since))
        .await
        .expect("events");
    let seen: Vec<(&str, &str, u32)> = events
        .iter()
        .map(|e| (e.object_name.as_str(), e.reason.as_str(), e.count))
        .collect();
    assert_eq!(
        seen,
        [
            ("checkout-7d9f8b6c5d-2xk9p", "Killing", 1),
            ("checkout-7d9f8b6c5d", "SuccessfulCreate", 1),
            ("checkout-7d9f8b6c5d-4bq7m", "Unhealthy", 4),
            ("cart-55d8b7c9f-q8w2e", "BackOff", 3),
            ("checkout-7d9f8b6c5d-4bq7m", "FailedPreStopHook", 2),
        ],
        "the Deployment event of 11-20 is older than `since`"
    );
    assert_eq!(
        events[4].last_seen.to_rfc3339(),
        "2026-11-24T09:01:30.654321+00:00",
        "series.lastObservedTime wins over eventTime"
    );

    let pods = bounded(cluster.pods(NAMESPACE, "chaos-experiment=checkout"))
        .await
        .expect("pods");
    let mut watch = EventWatch::new(NAMESPACE);
    watch.observe(&pods);
    let entries = watch.new_events("checkout-network-latency", "count-1", &events);
    let objects: Vec<&str> = entries.iter().map(|e| e.object.as_str()).collect();
    assert_eq!(
        objects,
        [
            "Pod/checkout-7d9f8b6c5d-2xk9p",
            "ReplicaSet/checkout-7d9f8b6c5d",
            "Pod/checkout-7d9f8b6c5d-4bq7m",
            "Pod/checkout-7d9f8b6c5d-4bq7m",
        ],
        "the cart pod is not a target"
    );
    assert_eq!(entries[2].event_type, "Warning");
    assert!(
        watch
            .new_events("checkout-network-latency", "count-1", &events)
            .is_empty()
    );
}

#[tokio::test]
async fn a_kubeconfig_with_a_plain_http_server_reaches_the_fake() {
    let kube = fake_kube::start(fake_kube::Scenario::Healthy).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let arn = "arn:aws:eks:eu-west-1:123456789012:cluster/staging-eks";
    let path = kube.write_kubeconfig(dir.path(), arn);

    // The scenario names the cluster `staging-eks`; the context is named by its ARN, as `aws
    // eks update-kubeconfig` writes it.
    let cluster = bounded(KubeCluster::for_eks_cluster_from_file(&path, "staging-eks"))
        .await
        .expect("context found");
    assert_eq!(cluster.context(), Some(arn));
    assert_eq!(cluster.cluster_url(), kube.url);
    let pods = bounded(cluster.pods(NAMESPACE, "chaos-experiment=checkout"))
        .await
        .expect("pods over http from a kubeconfig");
    assert_eq!(pods.len(), 10);

    let current = bounded(KubeCluster::from_kubeconfig_file(&path, None))
        .await
        .expect("current context");
    assert_eq!(current.context(), Some(arn));
    assert_eq!(
        bounded(current.pdbs(NAMESPACE)).await.expect("pdbs").len(),
        1
    );

    let err = bounded(KubeCluster::for_eks_cluster_from_file(&path, "orders-eks"))
        .await
        .expect_err("no context for another cluster");
    assert_eq!(err.kind(), "kube_config");
}

/// The `gameday` binary reads `KUBECONFIG` and talks plain HTTP to the fake: the set-up the
/// end-to-end `gameday run` tests use. `doctor` is the command that reaches the cluster today.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reaches_the_fake_through_kubeconfig() {
    let kube = fake_kube::start(fake_kube::Scenario::Healthy).await;
    let dir = crate::support::dir_with_config(
        "environment: staging\nservices:\n  - name: checkout\n    cluster: staging-eks\n    \
         namespace: shop\n    selector: chaos-experiment=checkout\n",
    );
    let kubeconfig = kube.write_kubeconfig(dir.path(), "staging-eks");
    // Nothing listens on the AWS endpoint: those checks fail fast, the kube one must pass.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut cmd = crate::support::gameday(dir.path());
    cmd.env("KUBECONFIG", &kubeconfig)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .args([
            "doctor",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .timeout(Duration::from_secs(60));
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("gameday runs"))
        .await
        .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("kubernetes"))
        .unwrap_or_else(|| panic!("no kubernetes line in:\n{stdout}"));
    assert!(line.starts_with("ok    kubernetes"), "{stdout}");
    assert!(
        line.contains(&format!(
            "{}/ answers (Kubernetes v1.33.5-eks-3025e55)",
            kube.url
        )),
        "{stdout}"
    );
    assert!(kube.requests().iter().any(|r| r == "/version"));
}

/// `doctor --scenario` reads the FIS RBAC of the scenario's target namespace: green with the
/// Role and RoleBinding for both subjects, red with the manifests to apply when they lack
/// permissions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_fis_rbac_of_the_scenario() {
    for (scenario, want) in [
        (fake_kube::Scenario::Healthy, "ok    k8s-rbac"),
        (fake_kube::Scenario::MissingRbac, "FAIL  k8s-rbac"),
    ] {
        let kube = fake_kube::start(scenario).await;
        let dir = crate::support::dir_with_config("environment: staging\n");
        let kubeconfig = kube.write_kubeconfig(dir.path(), "staging-eks");
        let example = crate::support::repo().join("scenarios/checkout-example.yaml");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut cmd = crate::support::gameday(dir.path());
        cmd.env("KUBECONFIG", &kubeconfig)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .args([
                "doctor",
                "--endpoint-url",
                &format!("http://127.0.0.1:{port}"),
                "--scenario",
            ])
            .arg(&example)
            .timeout(Duration::from_secs(60));
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("gameday runs"))
            .await
            .expect("join");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find(|l| l.contains("k8s-rbac"))
            .unwrap_or_else(|| panic!("no k8s-rbac line in:\n{stdout}"));
        assert!(line.starts_with(want), "{stdout}");
        assert!(line.contains("staging-eks/shop"), "{line}");
        if want.starts_with("FAIL") {
            assert!(
                stdout.contains("kind: RoleBinding"),
                "the fix is the manifests: {stdout}"
            );
        }
    }
}

/// The example scenario turned into a fault beyond the pods: `resource` targeted by `action_id`
/// (as `gameday plan` writes them), the pods staying the service the hypothesis watches.
fn beyond_pods_scenario(resource: &str, action_id: &str) -> Scenario {
    use gameday::plan::scenario::ResourceTarget;
    let mut sc = latency_scenario();
    sc.resources = vec![ResourceTarget {
        resource_type: resource.into(),
        arns: if resource == "aws:iam:role" {
            vec!["arn:aws:iam::123456789012:role/checkout-pods".into()]
        } else {
            Vec::new()
        },
        tags: [("chaos-experiment".to_owned(), "checkout".to_owned())].into(),
        filters: Vec::new(),
        parameters: if resource == "aws:ec2:subnet" {
            [(
                "availabilityZoneIdentifier".to_owned(),
                "eu-west-1a".to_owned(),
            )]
            .into()
        } else {
            Default::default()
        },
    }];
    sc.actions = vec![ScenarioAction {
        name: "fault".into(),
        action_id: action_id.into(),
        parameters: Default::default(),
        start_after: Vec::new(),
    }];
    sc
}

async fn checks_for(fixture: Fixture, sc: &Scenario) -> (Vec<PreflightCheck>, FakeKube) {
    let kube = fake_kube::start_with(fixture).await;
    let cluster = KubeCluster::from_url(&kube.url).expect("client for the fake");
    let facts = bounded(gather_for(&cluster, sc, SERVICE_ACCOUNT)).await;
    (judged(sc, &facts), kube)
}

#[tokio::test]
async fn an_az_fault_reads_zones_and_room_and_refuses_a_single_zone_service() {
    let sc = beyond_pods_scenario("aws:ec2:subnet", "aws:network:disrupt-connectivity");
    let (checks, kube) = checks_for(Fixture::healthy(), &sc).await;
    assert_eq!(failed(&checks), owned(&[]), "{checks:#?}");
    let names: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(names, ["k8s-service", "k8s-pdb", "k8s-room", "k8s-zones"]);
    assert_eq!(
        find(&checks, "k8s-zones", None).detail,
        "ready pods in 3 zones: eu-west-1a (4), eu-west-1b (3), eu-west-1c (3); 6 outside \
         eu-west-1a keep serving"
    );
    // Zone a holds 4 checkout pods and the cart pod: 5 × (250m + 50m) and 5 × 576 MiB move to
    // b and c, which have 1930m − 900m and 7371 MiB − 1728 MiB free each.
    let room = find(&checks, "k8s-room", None);
    assert!(
        room.detail.starts_with(
            "zone eu-west-1a: its pods request 1500m CPU and 2880 MiB memory; the other \
             schedulable nodes have 2060m CPU and 11286 MiB free"
        ),
        "{room:#?}"
    );
    let requests = kube.requests();
    for expected in ["/api/v1/nodes", "/api/v1/pods"] {
        assert!(
            requests
                .iter()
                .any(|r| r.split('?').next() == Some(expected)),
            "{expected} not listed: {requests:#?}"
        );
    }

    // Every pod on the zone-b node: a single-AZ service.
    let mut single = Fixture::healthy();
    for pod in single.pods["items"].as_array_mut().expect("pods") {
        pod["spec"]["nodeName"] = "ip-10-0-2-21.eu-west-1.compute.internal".into();
    }
    let (checks, _kube) = checks_for(single, &sc).await;
    assert_eq!(
        failed(&checks),
        owned(&[("k8s-zones", None)]),
        "{checks:#?}"
    );
    let zones = find(&checks, "k8s-zones", None);
    assert!(zones.detail.contains("single-AZ service"), "{zones:#?}");
    assert!(
        zones
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("topologySpreadConstraints")),
        "{zones:#?}"
    );
}

#[tokio::test]
async fn an_api_fault_on_a_role_the_pods_do_not_assume_is_refused() {
    let sc = beyond_pods_scenario("aws:iam:role", "aws:fis:inject-api-throttle-error");
    let mut fixture = Fixture::healthy();
    let annotated = |arn: &str| {
        serde_json::json!({
            "kind": "ServiceAccount", "apiVersion": "v1",
            "metadata": {"name": "checkout", "namespace": NAMESPACE,
                "annotations": {"eks.amazonaws.com/role-arn": arn}}
        })
    };
    fixture.other_service_accounts = vec![annotated("arn:aws:iam::123456789012:role/cart-pods")];
    let (checks, kube) = checks_for(fixture.clone(), &sc).await;
    assert_eq!(
        failed(&checks),
        owned(&[("k8s-workload-role", None)]),
        "{checks:#?}"
    );
    let role = find(&checks, "k8s-workload-role", None);
    assert!(role.detail.contains("role/cart-pods"), "{role:#?}");
    assert!(
        role.fix
            .as_deref()
            .is_some_and(|f| f.contains("iam_role_arn")),
        "{role:#?}"
    );
    assert!(
        kube.requests()
            .iter()
            .any(|r| r.starts_with("/api/v1/namespaces/shop/serviceaccounts/checkout")),
        "{:?}",
        kube.requests()
    );

    fixture.other_service_accounts =
        vec![annotated("arn:aws:iam::123456789012:role/checkout-pods")];
    let (checks, _kube) = checks_for(fixture, &sc).await;
    assert_eq!(failed(&checks), owned(&[]), "{checks:#?}");
}
