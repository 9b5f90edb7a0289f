//! Cross-machine one-run-per-target: a `coordination.k8s.io/v1` Lease per target.
//!
//! Input: a Kubernetes client, a namespace, this scheduler's holder identity and a lease
//! duration. Output: acquire (create, renew our own, or take over an *expired* one), renew and
//! release. Every write carries the `resourceVersion` read just before it, so two schedulers
//! racing for a free Lease cannot both win: the loser gets 409 Conflict and treats the target
//! as busy. Must not: take over a Lease whose holder renewed it within its duration.

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};

use super::error::ScheduleError;
use super::target::Target;

/// Default Lease duration; the holder renews every third of it while its run goes on.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(60);

/// What a Lease says about its target at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// Nobody holds it (no holder, or the holder let it expire).
    Free,
    /// We hold it.
    Ours,
    /// Someone else holds it until `until`.
    Held {
        /// Holder identity.
        by: String,
        /// When it expires unless renewed.
        until: DateTime<Utc>,
    },
}

/// Whether `lease` is free, ours or held at `now`.
pub fn lease_state(lease: &Lease, holder: &str, now: DateTime<Utc>) -> LeaseState {
    let Some(spec) = &lease.spec else {
        return LeaseState::Free;
    };
    let Some(by) = spec.holder_identity.as_deref().filter(|h| !h.is_empty()) else {
        return LeaseState::Free;
    };
    if by == holder {
        return LeaseState::Ours;
    }
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(from_micro);
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    match renewed {
        Some(at) => {
            let until = at + chrono::Duration::seconds(duration);
            if until > now {
                LeaseState::Held {
                    by: by.to_owned(),
                    until,
                }
            } else {
                LeaseState::Free
            }
        }
        None => LeaseState::Free,
    }
}

fn micro(t: DateTime<Utc>) -> MicroTime {
    MicroTime(
        k8s_openapi::jiff::Timestamp::from_microsecond(t.timestamp_micros())
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

fn from_micro(t: &MicroTime) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.0.as_microsecond()).unwrap_or_default()
}

/// The Lease name of a target: readable, DNS-1123, and the same on every machine.
pub fn lease_name(target: &Target) -> String {
    let key = target.to_string();
    // FNV-1a: a stable hash so that names truncated or sanitised alike stay distinct.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut readable: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    readable.truncate(38);
    let readable = readable.trim_matches('-');
    format!("gameday-{readable}-{hash:016x}")
}

/// The outcome of an acquire attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// We hold the Lease now.
    Held {
        /// Lease name.
        name: String,
    },
    /// Someone else does.
    Busy {
        /// Lease name.
        name: String,
        /// Holder identity (`unknown` after a lost race).
        by: String,
    },
}

/// Takes, renews and releases target Leases in one namespace.
#[derive(Clone)]
pub struct LeaseCoordinator {
    api: Api<Lease>,
    namespace: String,
    holder: String,
    duration: Duration,
}

impl std::fmt::Debug for LeaseCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseCoordinator")
            .field("namespace", &self.namespace)
            .field("holder", &self.holder)
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

impl LeaseCoordinator {
    /// A coordinator writing Leases into `namespace` as `holder`.
    pub fn new(client: kube::Client, namespace: &str, holder: &str, duration: Duration) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            holder: holder.to_owned(),
            duration,
        }
    }

    /// This scheduler's holder identity.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How often a held Lease is renewed.
    pub fn renew_every(&self) -> Duration {
        self.duration / 3
    }

    fn err(&self, action: &'static str, name: &str, e: kube::Error) -> ScheduleError {
        ScheduleError::Lease {
            action,
            namespace: self.namespace.clone(),
            name: name.to_owned(),
            source: Box::new(e),
        }
    }

    fn spec(&self, now: DateTime<Utc>, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.holder.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: Some(acquired.unwrap_or_else(|| micro(now))),
            renew_time: Some(micro(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Takes the Lease of `target` unless another holder has it and it has not expired.
    ///
    /// # Errors
    /// [`ScheduleError::Lease`] when the API cannot be reached or answers an unexpected error
    /// (a 409 Conflict is a lost race, reported as [`Acquired::Busy`]).
    pub async fn try_acquire(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Result<Acquired, ScheduleError> {
        let name = lease_name(target);
        let existing = self
            .api
            .get_opt(&name)
            .await
            .map_err(|e| self.err("read", &name, e))?;
        let busy = |by: String| Acquired::Busy {
            name: name.clone(),
            by,
        };
        let written = match existing {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        labels: Some(
                            [(
                                "app.kubernetes.io/managed-by".to_owned(),
                                "gameday".to_owned(),
                            )]
                            .into(),
                        ),
                        annotations: Some(
                            [("gameday/target".to_owned(), target.to_string())].into(),
                        ),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.spec(now, None, 0)),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Some(mut lease) => match lease_state(&lease, &self.holder, now) {
                LeaseState::Held { by, .. } => return Ok(busy(by)),
                state => {
                    let old = lease.spec.take().unwrap_or_default();
                    let transitions =
                        old.lease_transitions.unwrap_or(0) + i32::from(state == LeaseState::Free);
                    let acquired = (state == LeaseState::Ours)
                        .then_some(old.acquire_time)
                        .flatten();
                    lease.spec = Some(self.spec(now, acquired, transitions));
                    // `lease.metadata.resourceVersion` is what we read: a concurrent writer
                    // makes this replace fail with 409.
                    self.api
                        .replace(&name, &PostParams::default(), &lease)
                        .await
                }
            },
        };
        match written {
            Ok(_) => Ok(Acquired::Held { name }),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(busy("unknown (lost a race)".into())),
            Err(e) => Err(self.err("create", &name, e)),
        }
    }

    /// Renews a Lease we hold; `Ok(false)` when it is no longer ours.
    ///
    /// # Errors
    /// [`ScheduleError::Lease`] when the API fails.
    pub async fn renew(&self, name: &str, now: DateTime<Utc>) -> Result<bool, ScheduleError> {
        let Some(mut lease) = self
            .api
            .get_opt(name)
            .await
            .map_err(|e| self.err("read", name, e))?
        else {
            return Ok(false);
        };
        if lease_state(&lease, &self.holder, now) != LeaseState::Ours {
            return Ok(false);
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(micro(now));
        }
        match self.api.replace(name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(self.err("renew", name, e)),
        }
    }

    /// Releases a Lease we hold (clears the holder, so others need not wait for expiry).
    ///
    /// # Errors
    /// [`ScheduleError::Lease`] when the API fails.
    pub async fn release(&self, name: &str, now: DateTime<Utc>) -> Result<(), ScheduleError> {
        let Some(mut lease) = self
            .api
            .get_opt(name)
            .await
            .map_err(|e| self.err("read", name, e))?
        else {
            return Ok(());
        };
        if lease_state(&lease, &self.holder, now) != LeaseState::Ours {
            return Ok(());
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = Some(micro(now));
        }
        match self.api.replace(name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(self.err("release", name, e)),
        }
    }
}

/// The holder identity of this process: `HOSTNAME` (the pod name in Kubernetes) and the pid.
pub fn default_holder() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{host}/{}", std::process::id())
}

/// A Kubernetes client from the kubeconfig or the in-cluster service account.
///
/// # Errors
/// [`ScheduleError::KubeConfig`] when neither is usable.
pub async fn kube_client() -> Result<kube::Client, ScheduleError> {
    crate::provider::kube::install_tls_provider();
    kube::Client::try_default()
        .await
        .map_err(|e| ScheduleError::KubeConfig {
            source: Box::new(e),
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::schedule::testing::{Request, serve};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn target() -> Target {
        Target {
            cluster: "staging-eks".into(),
            namespace: "shop".into(),
            service: "checkout".into(),
        }
    }

    /// A fake API server for Leases in one namespace: GET, POST and PUT with real-shaped JSON,
    /// `resourceVersion` bumped on every write and checked on PUT (409 on mismatch), and
    /// `Status` objects for 404 and 409, as the API server sends them.
    async fn fake_api() -> (crate::schedule::testing::Server, kube::Client) {
        let store: Arc<Mutex<(u64, BTreeMap<String, serde_json::Value>)>> =
            Arc::new(Mutex::new((0, BTreeMap::new())));
        let prefix = "/apis/coordination.k8s.io/v1/namespaces/gameday/leases";
        let status = |code: u16, reason: &str, msg: &str| {
            (
                code,
                serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure", "message": msg, "reason": reason, "code": code})
                .to_string(),
            )
        };
        let server = serve(move |req: &Request| {
            let mut guard = store.lock().expect("lock");
            let (version, leases) = &mut *guard;
            let path = req.path.split('?').next().unwrap_or_default();
            let Some(rest) = path.strip_prefix(prefix) else {
                return status(404, "NotFound", "unknown path");
            };
            let name = rest.trim_start_matches('/');
            match req.method.as_str() {
                "GET" => match leases.get(name) {
                    Some(l) => (200, l.to_string()),
                    None => status(404, "NotFound", &format!("leases \"{name}\" not found")),
                },
                "POST" => {
                    let mut l = req.json();
                    let name = l["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    if leases.contains_key(&name) {
                        return status(409, "AlreadyExists", "already exists");
                    }
                    *version += 1;
                    l["metadata"]["resourceVersion"] = version.to_string().into();
                    l["metadata"]["namespace"] = "gameday".into();
                    l["kind"] = "Lease".into();
                    l["apiVersion"] = "coordination.k8s.io/v1".into();
                    leases.insert(name, l.clone());
                    (201, l.to_string())
                }
                "PUT" => {
                    let mut l = req.json();
                    let current = leases
                        .get(name)
                        .map(|c| c["metadata"]["resourceVersion"].clone());
                    if current.as_ref() != Some(&l["metadata"]["resourceVersion"]) {
                        return status(409, "Conflict", "the object has been modified");
                    }
                    *version += 1;
                    l["metadata"]["resourceVersion"] = version.to_string().into();
                    leases.insert(name.to_owned(), l.clone());
                    (200, l.to_string())
                }
                _ => status(405, "MethodNotAllowed", "no"),
            }
        })
        .await;
        crate::provider::kube::install_tls_provider();
        let config = kube::Config::new(server.url.parse().expect("url"));
        let client = kube::Client::try_from(config).expect("client");
        (server, client)
    }

    /// Every call answers within 1 s, or the test fails.
    async fn within<F: std::future::Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(1), f)
            .await
            .expect("the fake API answers within 1 s")
    }

    #[tokio::test]
    async fn a_held_lease_keeps_others_out_until_released_or_expired() {
        let (server, client) = fake_api().await;
        let d = Duration::from_secs(60);
        let a = LeaseCoordinator::new(client.clone(), "gameday", "host-a/1", d);
        let b = LeaseCoordinator::new(client, "gameday", "host-b/2", d);
        let now = t("2026-03-03T09:00:00Z");
        let name = lease_name(&target());

        assert_eq!(
            within(a.try_acquire(&target(), now))
                .await
                .expect("acquire"),
            Acquired::Held { name: name.clone() }
        );
        // B is kept out while A's lease is fresh, even 59 s later.
        assert_eq!(
            within(b.try_acquire(&target(), now + chrono::Duration::seconds(59)))
                .await
                .expect("acquire"),
            Acquired::Busy {
                name: name.clone(),
                by: "host-a/1".into()
            }
        );
        // A renews at +40 s; at +90 s (before 40 + 60) B is still kept out.
        assert!(
            within(a.renew(&name, now + chrono::Duration::seconds(40)))
                .await
                .expect("renew")
        );
        assert!(matches!(
            within(b.try_acquire(&target(), now + chrono::Duration::seconds(90)))
                .await
                .expect("acquire"),
            Acquired::Busy { .. }
        ));
        // A stops renewing (crashed): at +101 s the lease has expired and B takes it over.
        assert_eq!(
            within(b.try_acquire(&target(), now + chrono::Duration::seconds(101)))
                .await
                .expect("acquire"),
            Acquired::Held { name: name.clone() }
        );
        // A cannot renew a lease it lost, and its release leaves B's lease alone.
        assert!(
            !within(a.renew(&name, now + chrono::Duration::seconds(102)))
                .await
                .expect("renew")
        );
        within(a.release(&name, now + chrono::Duration::seconds(102)))
            .await
            .expect("release");
        assert!(matches!(
            within(a.try_acquire(&target(), now + chrono::Duration::seconds(103))).await.expect("acquire"),
            Acquired::Busy { by, .. } if by == "host-b/2"
        ));
        // B releases: A may take it at once, without waiting for expiry.
        within(b.release(&name, now + chrono::Duration::seconds(104)))
            .await
            .expect("release");
        assert_eq!(
            within(a.try_acquire(&target(), now + chrono::Duration::seconds(105)))
                .await
                .expect("acquire"),
            Acquired::Held { name: name.clone() }
        );
        let writes: Vec<String> = server
            .taken()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| r.method.clone())
            .collect();
        assert_eq!(writes.first().map(String::as_str), Some("POST"));
        let last = server.taken().last().expect("requests").json();
        assert_eq!(last["spec"]["holderIdentity"], "host-a/1");
        assert_eq!(last["spec"]["leaseDurationSeconds"], 60);
        assert_eq!(last["spec"]["leaseTransitions"], 2);
    }

    #[test]
    fn lease_names_are_dns_labels_and_distinct() {
        let a = lease_name(&target());
        assert!(a.len() <= 63, "{a}");
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
        let mut other = target();
        other.service = "checkout2".into();
        assert_ne!(a, lease_name(&other));
    }

    #[test]
    fn expiry_is_renew_time_plus_duration() {
        let lease = Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: Some("x".into()),
                lease_duration_seconds: Some(30),
                renew_time: Some(micro(t("2026-01-01T00:00:00Z"))),
                ..LeaseSpec::default()
            }),
        };
        assert!(matches!(
            lease_state(&lease, "me", t("2026-01-01T00:00:29Z")),
            LeaseState::Held { .. }
        ));
        assert_eq!(
            lease_state(&lease, "me", t("2026-01-01T00:00:30Z")),
            LeaseState::Free
        );
        assert_eq!(
            lease_state(&lease, "x", t("2026-01-01T00:00:10Z")),
            LeaseState::Ours
        );
    }
}
