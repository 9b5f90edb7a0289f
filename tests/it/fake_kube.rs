//! A loopback fake Kubernetes API server for over-the-wire tests.
//!
//! It speaks plain HTTP/1.1 on `127.0.0.1:<free port>` and answers the read-only calls gameday
//! makes (pods by label selector, nodes, PodDisruptionBudgets, the service account, Roles,
//! RoleBindings, ClusterRoles, ClusterRoleBindings, the namespace, events, `/version`) with the
//! real-shaped JSON in `tests/fixtures/kube/` (List responses with `kind`, `apiVersion`,
//! `metadata.resourceVersion`, items without `kind`), a 404 `Status` for missing objects and a
//! 403 `Status` for resources a [`Fixture`] marks forbidden. It filters pods by the
//! `labelSelector` it is sent (equality terms), as the API server does, and records every
//! request target so tests can assert what was asked.
//!
//! Use from any integration test:
//!
//! ```ignore
//! let kube = fake_kube::start(fake_kube::Scenario::Healthy).await;
//! let cluster = KubeCluster::from_url(&kube.url)?;              // in-process
//! let kubeconfig = kube.write_kubeconfig(dir.path(), "staging-eks"); // for the binary:
//! // Command::new(bin).env("KUBECONFIG", &kubeconfig).env_remove("HTTPS_PROXY")…
//! kube.update(|f| f.set_ready(0, false));                       // change state mid-run
//! assert!(kube.requests().iter().any(|r| r.starts_with("/api/v1/namespaces/shop/pods?")));
//! ```
//!
//! The server task lives as long as the test's runtime; every test creates its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The namespace of the fixtures.
pub(crate) const NAMESPACE: &str = "shop";
/// The FIS service account of the fixtures.
pub(crate) const SERVICE_ACCOUNT: &str = "fis-experiment";

/// Canned states of the `shop` namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    /// 10 ready checkout pods on EC2 nodes, a PDB allowing 2 disruptions, the FIS Role and
    /// RoleBinding for both subjects, a privileged namespace: every check passes.
    Healthy,
    /// No PodDisruptionBudget in the namespace.
    NoPdb,
    /// The PDB allows 0 disruptions (two pods unhealthy).
    PdbExhausted,
    /// The FIS Role lacks `update pods/ephemeralcontainers` and `create pods/exec`, and the
    /// RoleBinding lacks the `fis-experiment` user.
    MissingRbac,
    /// The target container `app` has `readOnlyRootFilesystem: true`.
    ReadOnlyRootFs,
    /// Only 3 checkout pods (COUNT(1) is a third of the service).
    FewPods,
    /// No service account `fis-experiment` (a 404 Status).
    NoServiceAccount,
    /// Listing pods is forbidden (a 403 Status).
    PodsForbidden,
    /// Cluster-scoped reads (nodes, namespaces, cluster roles and bindings) are forbidden, as
    /// for an identity with namespaced permissions only.
    NamespacedIdentity,
}

/// The objects the fake serves. Edit it to build other states.
#[derive(Debug, Clone)]
pub(crate) struct Fixture {
    /// Namespace object.
    pub(crate) namespace: Value,
    /// PodList (all pods of the namespace; the fake applies the label selector).
    pub(crate) pods: Value,
    /// NodeList (served one by one at `/api/v1/nodes/{name}`).
    pub(crate) nodes: Value,
    /// PodDisruptionBudgetList.
    pub(crate) pdbs: Value,
    /// The FIS ServiceAccount, or `None` for a 404.
    pub(crate) service_account: Option<Value>,
    /// Other ServiceAccounts (the workload's), served by namespace and name.
    pub(crate) other_service_accounts: Vec<Value>,
    /// RoleList.
    pub(crate) roles: Value,
    /// RoleBindingList.
    pub(crate) rolebindings: Value,
    /// ClusterRoleList.
    pub(crate) clusterroles: Value,
    /// ClusterRoleBindingList.
    pub(crate) clusterrolebindings: Value,
    /// EventList.
    pub(crate) events: Value,
    /// Resources answered with 403 (`pods`, `nodes`, `namespaces`, `clusterroles`, …).
    pub(crate) forbidden: BTreeSet<&'static str>,
}

fn fixture_file(name: &str) -> Value {
    let path = crate::support::repo()
        .join("tests/fixtures/kube")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn items(list: &mut Value) -> &mut Vec<Value> {
    list.get_mut("items")
        .and_then(Value::as_array_mut)
        .expect("a List has items")
}

impl Fixture {
    /// The healthy namespace, from `tests/fixtures/kube/`.
    pub(crate) fn healthy() -> Self {
        Self {
            namespace: fixture_file("namespace.json"),
            pods: fixture_file("pods.json"),
            nodes: fixture_file("nodes.json"),
            pdbs: fixture_file("poddisruptionbudgets.json"),
            service_account: Some(fixture_file("serviceaccount.json")),
            other_service_accounts: Vec::new(),
            roles: fixture_file("roles.json"),
            rolebindings: fixture_file("rolebindings.json"),
            clusterroles: fixture_file("clusterroles.json"),
            clusterrolebindings: fixture_file("clusterrolebindings.json"),
            events: fixture_file("events.json"),
            forbidden: BTreeSet::new(),
        }
    }

    /// The fixture of a canned scenario.
    pub(crate) fn of(scenario: Scenario) -> Self {
        let mut f = Self::healthy();
        match scenario {
            Scenario::Healthy => {}
            Scenario::NoPdb => items(&mut f.pdbs).clear(),
            Scenario::PdbExhausted => {
                let status = &mut items(&mut f.pdbs)[0]["status"];
                status["disruptionsAllowed"] = json!(0);
                status["currentHealthy"] = json!(8);
                status["conditions"][0]["status"] = json!("False");
                status["conditions"][0]["reason"] = json!("InsufficientPods");
                f.set_ready(0, false);
                f.set_ready(1, false);
            }
            Scenario::MissingRbac => {
                let role = &mut items(&mut f.roles)[0];
                let rules = role["rules"].as_array_mut().expect("rules");
                rules.retain(|r| {
                    r["resources"] != json!(["pods/ephemeralcontainers"])
                        && r["resources"] != json!(["pods/exec"])
                });
                let binding = &mut items(&mut f.rolebindings)[0];
                let subjects = binding["subjects"].as_array_mut().expect("subjects");
                subjects.retain(|s| s["kind"] != "User");
            }
            Scenario::ReadOnlyRootFs => {
                for pod in items(&mut f.pods) {
                    pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] =
                        json!(true);
                }
            }
            Scenario::FewPods => {
                items(&mut f.pods).retain(|p| {
                    let name = p["metadata"]["name"].as_str().unwrap_or_default();
                    !name.starts_with("checkout-")
                        || ["2xk9p", "4bq7m", "7cz2d"]
                            .iter()
                            .any(|s| name.ends_with(s))
                });
            }
            Scenario::NoServiceAccount => f.service_account = None,
            Scenario::PodsForbidden => {
                f.forbidden.insert("pods");
            }
            Scenario::NamespacedIdentity => {
                f.forbidden
                    .extend(["nodes", "namespaces", "clusterroles", "clusterrolebindings"]);
            }
        }
        f
    }

    /// Marks the `i`-th pod of the list ready or not (its `Ready` and `ContainersReady`
    /// conditions).
    pub(crate) fn set_ready(&mut self, i: usize, ready: bool) {
        let status = if ready { "True" } else { "False" };
        let conditions = items(&mut self.pods)[i]["status"]["conditions"]
            .as_array_mut()
            .expect("conditions");
        for c in conditions {
            if c["type"] == "Ready" || c["type"] == "ContainersReady" {
                c["status"] = json!(status);
            }
        }
    }
}

#[derive(Debug)]
struct State {
    fixture: Fixture,
    requests: Vec<String>,
}

/// A running fake API server.
#[derive(Debug, Clone)]
pub(crate) struct FakeKube {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    state: Arc<Mutex<State>>,
}

/// Starts a fake API server for a canned scenario.
pub(crate) async fn start(scenario: Scenario) -> FakeKube {
    start_with(Fixture::of(scenario)).await
}

/// Starts a fake API server serving `fixture`.
pub(crate) async fn start_with(fixture: Fixture) -> FakeKube {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound address");
    let state = Arc::new(Mutex::new(State {
        fixture,
        requests: Vec::new(),
    }));
    let shared = Arc::clone(&state);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, Arc::clone(&shared)));
        }
    });
    FakeKube {
        url: format!("http://{addr}"),
        state,
    }
}

impl FakeKube {
    /// Every request target (path and query, as sent) so far, in order.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.state.lock().expect("state lock").requests.clone()
    }

    /// Changes the served objects (e.g. a pod turning unready mid-stage).
    pub(crate) fn update(&self, change: impl FnOnce(&mut Fixture)) {
        change(&mut self.state.lock().expect("state lock").fixture);
    }

    /// Writes a kubeconfig whose only context, `context`, points at this server over plain
    /// HTTP with a dummy token, and returns its path. Name the context after the scenario's
    /// `target.cluster` so `KubeCluster::for_eks_cluster` finds it.
    pub(crate) fn write_kubeconfig(&self, dir: &Path, context: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {context}\nclusters:\n  - name: \
             {context}\n    cluster:\n      server: {url}\ncontexts:\n  - name: {context}\n    \
             context:\n      cluster: {context}\n      user: gameday-test\n      namespace: \
             {NAMESPACE}\nusers:\n  - name: gameday-test\n    user:\n      token: \
             fake-token\n",
            url = self.url
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

/// Reads requests off one connection (HTTP/1.1 keep-alive) until the client closes it.
async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        if content_length > 0 {
            let mut body = vec![0; content_length];
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let (status, body) = {
            let mut st = state.lock().expect("state lock");
            st.requests.push(target.clone());
            if method == "GET" {
                route(&st.fixture, &target)
            } else {
                (
                    405,
                    status_json(405, "MethodNotAllowed", "the fake serves reads only"),
                )
            }
        };
        let body = body.to_string();
        let reason = match status {
            200 => "OK",
            403 => "Forbidden",
            404 => "Not Found",
            _ => "Method Not Allowed",
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: \
             {}\r\n\r\n{body}",
            body.len()
        );
        if reader
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

fn status_json(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

fn forbidden(resource: &str, group: &str, namespace: Option<&str>, verb: &str) -> (u16, Value) {
    let qualified = if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    };
    let scope = match namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    let mut s = status_json(
        403,
        "Forbidden",
        &format!(
            "{qualified} is forbidden: User \"gameday-test\" cannot {verb} resource \
             \"{resource}\" in API group \"{group}\" {scope}"
        ),
    );
    s["details"] = json!({"kind": resource});
    (403, s)
}

fn not_found(resource: &str, name: &str) -> (u16, Value) {
    let mut s = status_json(404, "NotFound", &format!("{resource} \"{name}\" not found"));
    s["details"] = json!({"name": name, "kind": resource});
    (404, s)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded query parameters of a request target.
pub(crate) fn query(target: &str) -> BTreeMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Equality-based selector terms (`k=v`, `k==v`, `k!=v`, `k`, `!k`), as the fake supports them.
fn selects(selector: &str, labels: &Value) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            let get = |k: &str| labels.get(k.trim()).and_then(Value::as_str);
            if let Some((k, v)) = term.split_once("!=") {
                get(k) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                get(k) == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                get(k).is_none()
            } else {
                get(term).is_some()
            }
        })
}

/// A List in `namespace` (items of other namespaces dropped), filtered by `labelSelector`.
fn list_in(list: &Value, namespace: Option<&str>, selector: Option<&str>) -> Value {
    let mut out = list.clone();
    items(&mut out).retain(|item| {
        let meta = &item["metadata"];
        namespace.is_none_or(|ns| meta["namespace"].as_str() == Some(ns))
            && selector.is_none_or(|s| selects(s, &meta["labels"]))
    });
    out
}

fn route(f: &Fixture, target: &str) -> (u16, Value) {
    let path = target.split('?').next().unwrap_or_default();
    let q = query(target);
    let selector = q.get("labelSelector").map(String::as_str);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ok = |v: Value| (200, v);
    let deny = |resource: &str, group: &str, ns: Option<&str>, verb: &str| {
        f.forbidden
            .contains(resource)
            .then(|| forbidden(resource, group, ns, verb))
    };
    match segments.as_slice() {
        ["version"] => ok(json!({
            "major": "1", "minor": "33", "gitVersion": "v1.33.5-eks-3025e55",
            "gitCommit": "0123456789abcdef0123456789abcdef01234567", "gitTreeState": "clean",
            "buildDate": "2025-10-02T12:00:00Z", "goVersion": "go1.24.6", "compiler": "gc",
            "platform": "linux/amd64"
        })),
        ["api", "v1", "namespaces", ns] => {
            if let Some(d) = deny("namespaces", "", None, "get") {
                return d;
            }
            if f.namespace["metadata"]["name"].as_str() == Some(ns) {
                ok(f.namespace.clone())
            } else {
                not_found("namespaces", ns)
            }
        }
        ["api", "v1", "namespaces", ns, "pods"] => deny("pods", "", Some(ns), "list")
            .unwrap_or_else(|| ok(list_in(&f.pods, Some(ns), selector))),
        ["api", "v1", "namespaces", ns, "events"] => deny("events", "", Some(ns), "list")
            .unwrap_or_else(|| ok(list_in(&f.events, Some(ns), selector))),
        ["api", "v1", "namespaces", ns, "serviceaccounts", name] => {
            if let Some(d) = deny("serviceaccounts", "", Some(ns), "get") {
                return d;
            }
            let found = f
                .service_account
                .iter()
                .chain(&f.other_service_accounts)
                .find(|sa| {
                    sa["metadata"]["name"].as_str() == Some(name)
                        && sa["metadata"]["namespace"].as_str() == Some(ns)
                });
            match found {
                Some(sa) => ok(sa.clone()),
                None => not_found("serviceaccounts", name),
            }
        }
        ["api", "v1", "nodes"] => {
            deny("nodes", "", None, "list").unwrap_or_else(|| ok(list_in(&f.nodes, None, selector)))
        }
        ["api", "v1", "pods"] => {
            deny("pods", "", None, "list").unwrap_or_else(|| ok(list_in(&f.pods, None, selector)))
        }
        ["api", "v1", "nodes", name] => {
            if let Some(d) = deny("nodes", "", None, "get") {
                return d;
            }
            let found = f.nodes["items"].as_array().and_then(|ns| {
                ns.iter()
                    .find(|n| n["metadata"]["name"].as_str() == Some(name))
            });
            match found {
                Some(node) => {
                    let mut node = node.clone();
                    node["kind"] = json!("Node");
                    node["apiVersion"] = json!("v1");
                    ok(node)
                }
                None => not_found("nodes", name),
            }
        }
        [
            "apis",
            "policy",
            "v1",
            "namespaces",
            ns,
            "poddisruptionbudgets",
        ] => deny("poddisruptionbudgets", "policy", Some(ns), "list")
            .unwrap_or_else(|| ok(list_in(&f.pdbs, Some(ns), selector))),
        [
            "apis",
            "rbac.authorization.k8s.io",
            "v1",
            "namespaces",
            ns,
            "roles",
        ] => deny("roles", "rbac.authorization.k8s.io", Some(ns), "list")
            .unwrap_or_else(|| ok(list_in(&f.roles, Some(ns), selector))),
        [
            "apis",
            "rbac.authorization.k8s.io",
            "v1",
            "namespaces",
            ns,
            "rolebindings",
        ] => deny(
            "rolebindings",
            "rbac.authorization.k8s.io",
            Some(ns),
            "list",
        )
        .unwrap_or_else(|| ok(list_in(&f.rolebindings, Some(ns), selector))),
        ["apis", "rbac.authorization.k8s.io", "v1", "clusterroles"] => {
            deny("clusterroles", "rbac.authorization.k8s.io", None, "list")
                .unwrap_or_else(|| ok(list_in(&f.clusterroles, None, selector)))
        }
        [
            "apis",
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
        ] => deny(
            "clusterrolebindings",
            "rbac.authorization.k8s.io",
            None,
            "list",
        )
        .unwrap_or_else(|| ok(list_in(&f.clusterrolebindings, None, selector))),
        _ => (
            404,
            status_json(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        ),
    }
}
