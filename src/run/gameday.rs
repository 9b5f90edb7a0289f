//! The run stage's entry point: [`run_gameday`].
//!
//! Input: a validated GameDay (lint and policy already clean), the AWS providers, a way to reach
//! each scenario's cluster, [`RunOptions`], the confirmation, a [`ReportHandoff`] and the
//! process's [`Shutdown`]. Output: a [`GameDayOutcome`] (the journal is on disk). Must not:
//! start anything while an earlier run's experiment may still be running, leave this run's
//! experiments running when the run loop fails, or render reports itself (that is the report
//! stage's, reached through the [`ReportHandoff`]).
//!
//! In order: recover earlier runs, the Kubernetes and AWS preflight, the stages
//! ([`super::execute`]), and on a failed or crashed run loop, recovery of this run.

use std::collections::BTreeMap;

use super::cluster_checks::{ClusterPreflight, gather, preflight_checks};
use super::execute::{Confirm, RunError, RunSummary, execute_stages};
use super::options::{RunOptions, RunProviders};
use super::recover::{RecoverOptions, Recovered, recover_all, recover_run};
use crate::model::record::PreflightCheck;
use crate::plan::GameDayScenario;
use crate::provider::ResourceInventory;
use crate::provider::kube::ClusterConnector;
use crate::shutdown::Shutdown;

/// Where the run stage hands a closed run to the report stage: the caller renders (and prints)
/// the post-mortem of every run recovery closed, as soon as it is closed.
pub trait ReportHandoff {
    /// A run recovery closed (an earlier one, or this one after its run loop failed).
    fn recovered(&mut self, recovered: &Recovered) -> impl Future<Output = ()>;
}

/// How [`run_gameday`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GameDayOutcome {
    /// Earlier runs could not be proven stopped: nothing of this run was started.
    EarlierRunsNotStopped,
    /// The run loop finished; its journal is complete.
    Finished(RunSummary),
    /// The run loop failed or crashed; what it started was recovered.
    Crashed {
        /// Whether an experiment may still be running (its stop failed, or recovery failed).
        stop_failed: bool,
    },
}

/// Runs a GameDay: stops what earlier runs left running, runs the Kubernetes and AWS
/// preflight, executes every stage and, when the run loop fails or panics, stops whatever this
/// run started.
///
/// # Errors
/// [`RunError::Lock`] when another run holds a target (nothing was started). A journal
/// failure is not an error here: the run is recovered and reported as
/// [`GameDayOutcome::Crashed`].
pub async fn run_gameday<P, C>(
    gameday: &GameDayScenario,
    providers: &P,
    clusters: &C,
    opts: &RunOptions,
    confirm: impl Confirm + Send + 'static,
    handoff: &mut impl ReportHandoff,
    shutdown: &Shutdown,
) -> Result<GameDayOutcome, RunError>
where
    P: RunProviders + ResourceInventory + Clone + Send + 'static,
    C: ClusterConnector,
{
    // Runs that died before, or whose stop failed: stop what they left running before
    // starting anything new.
    let recover_opts = RecoverOptions::new(opts.stop_timeout);
    let earlier = match recover_all(providers, &opts.reports_dir, recover_opts).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: {}; earlier runs may have left experiments running: run `gameday \
                 recover` once AWS answers",
                crate::error::error_chain(&e)
            );
            return Ok(GameDayOutcome::EarlierRunsNotStopped);
        }
    };
    for r in &earlier {
        handoff.recovered(r).await;
    }
    if earlier.iter().any(|r| !r.stop_failed.is_empty()) {
        return Ok(GameDayOutcome::EarlierRunsNotStopped);
    }

    let (connected, mut extra_checks) = kube_preflight(clusters, gameday, opts).await;
    // Node groups, databases and IAM roles of faults beyond pods (read-only calls).
    extra_checks
        .extend(super::resource_checks::check_gameday(providers, gameday, &opts.policy).await);
    let task = {
        let (gameday, providers, opts, shutdown) = (
            gameday.clone(),
            providers.clone(),
            opts.clone(),
            shutdown.clone(),
        );
        let mut confirm = confirm;
        tokio::spawn(async move {
            execute_stages(
                &gameday,
                &providers,
                &connected,
                &opts,
                extra_checks,
                &mut confirm,
                &shutdown,
            )
            .await
        })
    };
    let failure = match task.await {
        Ok(Ok(summary)) => return Ok(GameDayOutcome::Finished(summary)),
        // Another run holds a target: nothing was started, nothing to stop.
        Ok(Err(RunError::Lock(e))) => return Err(RunError::Lock(e)),
        // The run loop failed (journal) or panicked: whatever it started is found by its run
        // tag and stopped before we report the failure.
        Ok(Err(e)) => e.to_string(),
        Err(join) => format!("the run loop crashed: {join}"),
    };
    let run_id = &opts.run_id;
    eprintln!("error: {failure}; stopping whatever run {run_id} started");
    match recover_run(providers, &opts.reports_dir, run_id, recover_opts).await {
        Ok(r) => {
            handoff.recovered(&r).await;
            Ok(GameDayOutcome::Crashed {
                stop_failed: !r.stop_failed.is_empty(),
            })
        }
        Err(e) => {
            eprintln!(
                "error: recovery failed too ({e}); list experiments tagged \
                 gameday-run={run_id} with `aws fis list-experiments` and stop any \
                 that are running"
            );
            Ok(GameDayOutcome::Crashed { stop_failed: true })
        }
    }
}

/// Connects to each scenario's cluster and runs the Kubernetes preflight checks. A cluster
/// that cannot be reached fails a check rather than being skipped silently; `skip_kube` skips
/// on purpose, and says so in the journal.
async fn kube_preflight<C: ClusterConnector>(
    connector: &C,
    gameday: &GameDayScenario,
    opts: &RunOptions,
) -> (BTreeMap<String, C::Cluster>, Vec<PreflightCheck>) {
    let mut clusters = BTreeMap::new();
    let mut checks = Vec::new();
    if opts.skip_kube {
        checks.push(PreflightCheck {
            scenario: None,
            stage: None,
            check: "k8s-skipped".to_owned(),
            ok: true,
            detail: "Kubernetes checks and evidence skipped (--skip-kube): pods, \
                     PodDisruptionBudgets and FIS RBAC were not verified"
                .to_owned(),
            fix: None,
        });
        return (clusters, checks);
    }
    for scenario in &gameday.scenarios {
        let name = &scenario.target.cluster;
        if !clusters.contains_key(name) {
            match connector.connect(name).await {
                Ok(c) => {
                    clusters.insert(name.clone(), c);
                }
                Err(e) => {
                    checks.push(PreflightCheck {
                        scenario: Some(scenario.name.clone()),
                        stage: None,
                        check: "k8s-cluster".to_owned(),
                        ok: false,
                        detail: format!(
                            "cannot reach cluster {name}: {}",
                            crate::error::error_chain(&e)
                        ),
                        fix: Some(format!(
                            "add a kubeconfig context for it (aws eks update-kubeconfig --name \
                             {name}), or pass --skip-kube to run without the Kubernetes checks"
                        )),
                    });
                    continue;
                }
            }
        }
        let Some(cluster) = clusters.get(name) else {
            continue;
        };
        let facts = gather(
            cluster,
            &scenario.target,
            &gameday.fis.kubernetes_service_account,
        )
        .await;
        checks.extend(preflight_checks(&ClusterPreflight {
            scenario,
            stages: &scenario.stages,
            policy: &opts.policy,
            service_account: &gameday.fis.kubernetes_service_account,
            facts: &facts,
        }));
    }
    (clusters, checks)
}
