//! `gameday schedule export --kubernetes`: one CronJob per entry, plus the ConfigMap they read.
//!
//! Input: the config, its text, the entries' scenario files and [`KubernetesExport`] options.
//! Output: `k8s-openapi` objects ([`cron_job`], [`config_map`]) and their YAML. Each CronJob
//! runs `gameday schedule run-due --entry <name>` in the cluster, which runs `gameday run` as
//! its child (and `gameday plan` first for a plan-fresh entry), takes the target Leases when a
//! Lease namespace is given, and sends the notifications. `concurrencyPolicy: Forbid` keeps
//! one Job per entry, `startingDeadlineSeconds` is the entry's `grace` and
//! `activeDeadlineSeconds` its `max_duration` plus the stop timeout, so Kubernetes never kills a
//! run before it could stop its experiment. Must not: call the cluster.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    KeyToPath, ObjectFieldSelector, PodSpec, PodTemplateSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::error::ScheduleError;
use super::launch::{DEFAULT_STOP_TIMEOUT, RunDueDirs, run_due_args};
use crate::config::ScheduleEntry;

/// Where the ConfigMap is mounted, and the container's working directory (relative scenario
/// paths in the config resolve against it).
pub const CONFIG_MOUNT: &str = "/etc/gameday";
/// Writable scratch for the state directory and reports.
pub const DATA_MOUNT: &str = "/var/lib/gameday";

/// Options of the Kubernetes export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesExport {
    /// Namespace of the CronJobs and the ConfigMap.
    pub namespace: String,
    /// Container image with the `gameday` binary.
    pub image: String,
    /// Service account (annotated for IRSA or bound by EKS Pod Identity) with the AWS role.
    pub service_account: String,
    /// ConfigMap name.
    pub config_map: String,
    /// Lease namespace passed to `run-due` (`None`: no Lease).
    pub lease_namespace: Option<String>,
}

fn labels(entry: Option<&str>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_owned(),
        "gameday".to_owned(),
    )]);
    if let Some(e) = entry {
        l.insert("gameday/schedule".to_owned(), e.to_owned());
    }
    l
}

/// The ConfigMap key of an entry's scenario file.
pub fn scenario_key(entry: &ScheduleEntry) -> String {
    format!("scenario-{}.yaml", entry.name)
}

/// Checks that a scenario path can be mounted under the config directory.
fn relative_path(entry: &ScheduleEntry, path: &Path) -> Result<String, ScheduleError> {
    let ok = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !ok {
        return Err(ScheduleError::Export {
            entry: entry.name.clone(),
            message: format!(
                "scenario `{}` must be a relative path without `..` to be mounted from a ConfigMap",
                path.display()
            ),
        });
    }
    Ok(path.to_string_lossy().trim_start_matches("./").to_owned())
}

/// The ConfigMap holding `gameday.yaml` and every entry's scenario file.
pub fn config_map(
    opts: &KubernetesExport,
    config_text: &str,
    scenarios: &BTreeMap<String, String>,
) -> ConfigMap {
    let mut data = BTreeMap::from([("gameday.yaml".to_owned(), config_text.to_owned())]);
    data.extend(scenarios.iter().map(|(k, v)| (k.clone(), v.clone())));
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(opts.config_map.clone()),
            namespace: Some(opts.namespace.clone()),
            labels: Some(labels(None)),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// The CronJob of one entry.
///
/// # Errors
/// [`ScheduleError::Export`] when the entry's scenario path cannot be mounted.
pub fn cron_job(opts: &KubernetesExport, entry: &ScheduleEntry) -> Result<CronJob, ScheduleError> {
    let mut items = vec![KeyToPath {
        key: "gameday.yaml".to_owned(),
        path: "gameday.yaml".to_owned(),
        mode: None,
    }];
    if let Some(path) = &entry.scenario {
        items.push(KeyToPath {
            key: scenario_key(entry),
            path: relative_path(entry, path)?,
            mode: None,
        });
    }
    let grace_s = entry.grace.as_secs();
    let args = run_due_args(
        &format!("{CONFIG_MOUNT}/gameday.yaml"),
        entry,
        Some(&RunDueDirs {
            state: format!("{DATA_MOUNT}/state"),
            reports: format!("{DATA_MOUNT}/reports"),
        }),
        opts.lease_namespace.as_deref(),
    );
    let active = entry.max_duration + DEFAULT_STOP_TIMEOUT + std::time::Duration::from_secs(300);
    let container = Container {
        name: "gameday".to_owned(),
        image: Some(opts.image.clone()),
        command: Some(vec!["gameday".to_owned()]),
        args: Some(args),
        working_dir: Some(CONFIG_MOUNT.to_owned()),
        env: Some(vec![EnvVar {
            // The Lease holder identity.
            name: "HOSTNAME".to_owned(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.name".to_owned(),
                    api_version: None,
                }),
                ..EnvVarSource::default()
            }),
            value: None,
        }]),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".to_owned(),
                mount_path: CONFIG_MOUNT.to_owned(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "data".to_owned(),
                mount_path: DATA_MOUNT.to_owned(),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    };
    Ok(CronJob {
        metadata: ObjectMeta {
            name: Some(format!("gameday-{}", entry.name)),
            namespace: Some(opts.namespace.clone()),
            labels: Some(labels(Some(&entry.name))),
            ..ObjectMeta::default()
        },
        spec: Some(CronJobSpec {
            schedule: entry.cron.clone(),
            time_zone: Some(entry.timezone.clone()),
            concurrency_policy: Some("Forbid".to_owned()),
            starting_deadline_seconds: Some(i64::try_from(grace_s).unwrap_or(i64::MAX)),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(5),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(Some(&entry.name))),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    // A GameDay is never retried by Kubernetes: a failed one needs a human.
                    backoff_limit: Some(0),
                    active_deadline_seconds: Some(
                        i64::try_from(active.as_secs()).unwrap_or(i64::MAX),
                    ),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels(Some(&entry.name))),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(PodSpec {
                            service_account_name: Some(opts.service_account.clone()),
                            restart_policy: Some("Never".to_owned()),
                            // SIGTERM reaches gameday, which stops the experiment first.
                            termination_grace_period_seconds: Some(
                                i64::try_from(DEFAULT_STOP_TIMEOUT.as_secs() + 30)
                                    .unwrap_or(i64::MAX),
                            ),
                            containers: vec![container],
                            volumes: Some(vec![
                                Volume {
                                    name: "config".to_owned(),
                                    config_map: Some(ConfigMapVolumeSource {
                                        name: opts.config_map.clone(),
                                        items: Some(items),
                                        ..ConfigMapVolumeSource::default()
                                    }),
                                    ..Volume::default()
                                },
                                Volume {
                                    name: "data".to_owned(),
                                    empty_dir: Some(EmptyDirVolumeSource::default()),
                                    ..Volume::default()
                                },
                            ]),
                            ..PodSpec::default()
                        }),
                    },
                    ..JobSpec::default()
                }),
            },
            ..CronJobSpec::default()
        }),
        ..CronJob::default()
    })
}

/// Serialises a Kubernetes object to YAML (with `apiVersion` and `kind`).
///
/// # Errors
/// [`ScheduleError::Serialise`] when yaml_serde fails.
pub fn to_yaml<T: serde::Serialize>(what: &str, object: &T) -> Result<String, ScheduleError> {
    yaml_serde::to_string(object).map_err(|e| ScheduleError::Serialise {
        what: what.to_owned(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, EXAMPLE_CONFIG};

    fn opts() -> KubernetesExport {
        KubernetesExport {
            namespace: "gameday".into(),
            image: "registry.example/gameday:1".into(),
            service_account: "gameday".into(),
            config_map: "gameday-config".into(),
            lease_namespace: Some("gameday".into()),
        }
    }

    #[test]
    fn cron_job_round_trips_through_yaml_and_k8s_openapi() {
        let cfg = Config::from_yaml(Path::new("gameday.example.yaml"), EXAMPLE_CONFIG)
            .expect("example config");
        let entry = &cfg.schedule[0];
        let job = cron_job(&opts(), entry).expect("cron job");
        let yaml = to_yaml("CronJob", &job).expect("yaml");
        assert!(
            yaml.starts_with("apiVersion: batch/v1\nkind: CronJob\n"),
            "{yaml}"
        );
        let back: CronJob = yaml_serde::from_str(&yaml).expect("parses back as a CronJob");
        assert_eq!(back, job);
        let spec = back.spec.expect("spec");
        assert_eq!(spec.schedule, "0 10 * * TUE");
        assert_eq!(spec.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
        assert_eq!(spec.starting_deadline_seconds, Some(3600));
        let job_spec = spec.job_template.spec.expect("job spec");
        assert_eq!(job_spec.backoff_limit, Some(0));
        // max_duration 2h + stop timeout 3 min + 5 min slack.
        assert_eq!(job_spec.active_deadline_seconds, Some(7200 + 180 + 300));
        let pod = job_spec.template.spec.expect("pod spec");
        assert_eq!(pod.service_account_name.as_deref(), Some("gameday"));
        let args = pod.containers[0].args.clone().expect("args");
        assert!(
            args.windows(2).any(|w| w == ["--entry", "weekly-checkout"]),
            "{args:?}"
        );
        assert!(
            args.windows(2)
                .any(|w| w == ["--lease-namespace", "gameday"]),
            "{args:?}"
        );
        let volume = &pod.volumes.expect("volumes")[0];
        let items = volume
            .config_map
            .as_ref()
            .and_then(|c| c.items.clone())
            .expect("items");
        assert_eq!(items[1].key, "scenario-weekly-checkout.yaml");
        assert_eq!(items[1].path, "scenarios/checkout-example.yaml");
    }

    #[test]
    fn config_map_round_trips_and_holds_the_config() {
        let cm = config_map(
            &opts(),
            "environment: staging\n",
            &BTreeMap::from([("scenario-a.yaml".to_owned(), "x: 1\n".to_owned())]),
        );
        let yaml = to_yaml("ConfigMap", &cm).expect("yaml");
        let back: ConfigMap = yaml_serde::from_str(&yaml).expect("parses back");
        assert_eq!(back, cm);
        assert_eq!(back.data.expect("data").len(), 2);
    }

    #[test]
    fn absolute_or_parent_scenario_paths_are_refused() {
        let cfg = Config::from_yaml(Path::new("gameday.example.yaml"), EXAMPLE_CONFIG)
            .expect("example config");
        let mut entry = cfg.schedule[0].clone();
        entry.scenario = Some("../elsewhere.yaml".into());
        let err = cron_job(&opts(), &entry).expect_err("parent path");
        assert!(err.to_string().contains("relative path"), "{err}");
    }
}
