//! Preflight: everything that must be true before any fault is injected.
//!
//! Input: a validated GameDay (lint and policy are checked by the caller before a journal
//! exists), the AWS providers and the run options. Output: [`PreflightCheck`]s, and the stage
//! template ids once every AWS-side check passed. Must not: inject anything — the only
//! experiments it starts are target-resolution previews (`actionsMode: skip-all`), which it
//! stops again — or create templates before the alarms and the hypothesis checked out.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::Utc;

use super::guard;
use super::options::{PREVIEW_TAG, RUN_TAG, RunOptions, RunProviders};
use crate::model::record::PreflightCheck;
use crate::plan::scenario::GameDayScenario;
use crate::plan::scenario::stage_requests;
use crate::provider::{AlarmStateValue, Change, is_terminal_status};
use crate::shutdown::{InFlight, Shutdown};

/// Longest wait for a preview experiment to resolve its targets.
const PREVIEW_TIMEOUT: Duration = Duration::from_secs(120);

fn check(scenario: Option<&str>, check: &str, ok: bool, detail: String) -> PreflightCheck {
    PreflightCheck {
        scenario: scenario.map(str::to_owned),
        stage: None,
        check: check.to_owned(),
        ok,
        detail,
        fix: None,
    }
}

fn with_fix(mut c: PreflightCheck, fix: impl Into<String>) -> PreflightCheck {
    c.fix = Some(fix.into());
    c
}

/// Runs the AWS-side preflight checks, appending to `checks`. Returns the stage template ids,
/// with what applying them changed, by (scenario index, stage index) when every check
/// (including those already in `checks`) passed and the templates are in place.
pub(crate) async fn preflight<P: RunProviders>(
    gameday: &GameDayScenario,
    providers: &P,
    opts: &RunOptions,
    checks: &mut Vec<PreflightCheck>,
    shutdown: &Shutdown,
) -> Option<BTreeMap<(usize, usize), (String, Change)>> {
    // The journal has room to record the run.
    checks.push(disk_space_check(opts));

    // Guard metrics are readable for every scenario.
    let mut metrics = Vec::new();
    for s in &gameday.scenarios {
        match guard::guard_metrics(gameday, s, opts.guard_period) {
            Ok(m) => metrics.push((s, m)),
            Err(e) => checks.push(with_fix(
                check(Some(&s.name), "guard-metrics", false, e),
                "name an alarm under the hypothesis metric's `alarms:` that the GameDay defines",
            )),
        }
    }

    // Stop alarms exist and are armed.
    alarm_checks(gameday, providers, opts, checks).await;

    // The hypothesis holds right now.
    let now = Utc::now();
    let from = now - chrono::Duration::from_std(opts.hypothesis_window).unwrap_or_default();
    for (s, m) in &metrics {
        match guard::fetch(providers, m, from, now).await {
            Err(e) => checks.push(check(
                Some(&s.name),
                "hypothesis-now",
                false,
                format!("could not read the hypothesis metrics: {e}"),
            )),
            Ok(series) => {
                for gm in m {
                    let points = series.get(&gm.name).map(Vec::as_slice).unwrap_or_default();
                    let breaches: Vec<_> = points.iter().filter(|(_, v)| gm.breaches(*v)).collect();
                    let window = opts.hypothesis_window.as_secs() / 60;
                    let c = if points.is_empty() {
                        with_fix(
                            check(
                                Some(&s.name),
                                "hypothesis-now",
                                false,
                                format!(
                                    "{} has no datapoints in the last {window} min: the guard \
                                     would be blind",
                                    gm.name
                                ),
                            ),
                            "check that the service publishes the metric (namespace, name and \
                             dimensions as in the alarm), then run again",
                        )
                    } else if let Some((ts, v)) = breaches.last() {
                        with_fix(
                            check(
                                Some(&s.name),
                                "hypothesis-now",
                                false,
                                format!(
                                    "{} is outside its bounds now: {} of {} datapoints in the \
                                     last {window} min breach (latest {} at {})",
                                    gm.name,
                                    breaches.len(),
                                    points.len(),
                                    crate::model::format::format_threshold(*v),
                                    chrono::DateTime::from_timestamp(*ts, 0)
                                        .map(|t| t.to_rfc3339())
                                        .unwrap_or_default()
                                ),
                            ),
                            "the system is not in its steady state: do not inject a fault into \
                             it; investigate, or re-derive the hypothesis if it is stale",
                        )
                    } else {
                        check(
                            Some(&s.name),
                            "hypothesis-now",
                            true,
                            format!(
                                "{} holds: {} datapoints in the last {window} min, all within \
                                 bounds",
                                gm.name,
                                points.len()
                            ),
                        )
                    };
                    checks.push(c);
                }
            }
        }
    }
    if checks.iter().any(|c| !c.ok) {
        return None;
    }

    // Templates, then a target-resolution preview of every stage.
    let requests = match stage_requests(gameday) {
        Ok(r) => r,
        Err(e) => {
            checks.push(check(None, "template", false, e.to_string()));
            return None;
        }
    };
    let mut ids = BTreeMap::new();
    for r in requests {
        if shutdown.token().is_cancelled() {
            checks.push(check(
                None,
                "targets",
                false,
                "interrupted during preflight: the remaining stages were not previewed".to_owned(),
            ));
            break;
        }
        let (si, ti, name) = (r.scenario, r.stage, &r.file_name);
        let scenario = &gameday.scenarios[si];
        let stage = &scenario.stages[ti];
        match providers.apply_template(&r.identity, &r.request).await {
            Ok((id, change)) => {
                let mut c = check(
                    Some(&scenario.name),
                    "template",
                    true,
                    format!("{name}: template {id} {}", change.as_str()),
                );
                c.stage = Some(stage.name.clone());
                checks.push(c);
                let mut p = preview(providers, opts, &id, shutdown).await;
                p.scenario = Some(scenario.name.clone());
                p.stage = Some(stage.name.clone());
                let ok = p.ok;
                checks.push(p);
                if ok {
                    ids.insert((si, ti), (id, change));
                }
            }
            Err(e) => {
                let mut c = check(
                    Some(&scenario.name),
                    "template",
                    false,
                    format!("{name}: FIS refused the template: {e}"),
                );
                c.stage = Some(stage.name.clone());
                checks.push(with_fix(
                    c,
                    "run `gameday lint` on the scenario and check the FIS role and log group",
                ));
            }
        }
    }
    checks.iter().all(|c| c.ok).then_some(ids)
}

async fn alarm_checks<P: RunProviders>(
    gameday: &GameDayScenario,
    providers: &P,
    opts: &RunOptions,
    checks: &mut Vec<PreflightCheck>,
) {
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for s in &gameday.scenarios {
        wanted.extend(s.stop_alarms.iter().cloned());
        for h in &s.hypothesis {
            wanted.extend(h.alarms.iter().cloned());
        }
    }
    if wanted.is_empty() {
        return;
    }
    let names: Vec<String> = wanted.into_iter().collect();
    let found = match providers.describe_alarms(&names).await {
        Ok(f) => f,
        Err(e) => {
            checks.push(check(
                None,
                "alarm-exists",
                false,
                format!("could not describe the stop alarms: {e}"),
            ));
            return;
        }
    };
    let tolerance =
        chrono::Duration::from_std(opts.insufficient_data_tolerance).unwrap_or_default();
    for name in &names {
        let Some(a) = found.iter().find(|a| &a.name == name) else {
            checks.push(with_fix(
                check(
                    None,
                    "alarm-exists",
                    false,
                    format!("stop alarm {name} does not exist: FIS could not stop on it"),
                ),
                "create the GameDay's alarms with `gameday plan --apply` (or apply the \
                 CloudFormation/Terraform export), then run again",
            ));
            continue;
        };
        let c = match a.state {
            AlarmStateValue::Alarm => with_fix(
                check(
                    None,
                    "alarm-state",
                    false,
                    format!(
                        "stop alarm {name} is in ALARM ({}): the system is already unhealthy \
                         and FIS would stop at once",
                        a.reason.as_deref().unwrap_or("no reason given")
                    ),
                ),
                "wait until the alarm is OK (investigate why it fired) before injecting faults",
            ),
            AlarmStateValue::InsufficientData => {
                let since = a.updated.map(|u| Utc::now() - u);
                if since.is_some_and(|d| d <= tolerance) {
                    check(
                        None,
                        "alarm-state",
                        true,
                        format!(
                            "stop alarm {name} is INSUFFICIENT_DATA for {} s, within the {} s \
                             tolerance (newly created)",
                            since.map_or(0, |d| d.num_seconds()),
                            tolerance.num_seconds()
                        ),
                    )
                } else {
                    with_fix(
                        check(
                            None,
                            "alarm-state",
                            false,
                            format!(
                                "stop alarm {name} has been INSUFFICIENT_DATA for longer than \
                                 {} s: it is blind and would never stop the experiment",
                                tolerance.num_seconds()
                            ),
                        ),
                        "check that the alarm's metric is published (namespace, name, \
                         dimensions), or raise --insufficient-data-tolerance for a new alarm",
                    )
                }
            }
            _ => check(
                None,
                "alarm-state",
                true,
                format!("stop alarm {name} is OK"),
            ),
        };
        checks.push(c);
    }
}

/// Free space on the file system holding the reports directory (its nearest existing ancestor).
fn disk_space_check(opts: &RunOptions) -> PreflightCheck {
    let mut dir = opts.reports_dir.as_path();
    while !dir.exists() {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => dir = p,
            _ => {
                dir = std::path::Path::new(".");
                break;
            }
        }
    }
    let mib = |b: u64| b / (1024 * 1024);
    match free_bytes(dir) {
        Ok(free) if free >= opts.min_free_bytes => check(
            None,
            "disk-space",
            true,
            format!(
                "{} MiB free for the journal under {} (at least {} MiB needed)",
                mib(free),
                opts.reports_dir.display(),
                mib(opts.min_free_bytes)
            ),
        ),
        Ok(free) => with_fix(
            check(
                None,
                "disk-space",
                false,
                format!(
                    "only {} MiB free under {}; a run needs at least {} MiB for its journal and \
                     report",
                    mib(free),
                    opts.reports_dir.display(),
                    mib(opts.min_free_bytes)
                ),
            ),
            "free space on that file system, or pass --reports-dir on one with room",
        ),
        Err(e) => with_fix(
            check(
                None,
                "disk-space",
                false,
                format!(
                    "could not read the free space under {}: {e}",
                    opts.reports_dir.display()
                ),
            ),
            "check that the reports directory is readable",
        ),
    }
}

#[cfg(unix)]
fn free_bytes(dir: &std::path::Path) -> std::io::Result<u64> {
    let s = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    #[expect(
        clippy::useless_conversion,
        reason = "the field types differ between platforms"
    )]
    let (blocks, size) = (
        u64::from(s.blocks_available()),
        u64::from(s.fragment_size()),
    );
    Ok(blocks.saturating_mul(size))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &std::path::Path) -> std::io::Result<u64> {
    Ok(u64::MAX)
}

/// Sends StopExperiment to a preview (retried a few times) and says what happened, for its
/// check's detail — the journal keeps it.
async fn stop_preview<P: RunProviders>(providers: &P, id: &str) -> Result<String, String> {
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        match providers.stop(id).await {
            Ok(v) => return Ok(v.status),
            Err(e) => {
                if let Ok(v) = providers.get(id).await
                    && is_terminal_status(&v.status)
                {
                    return Ok(v.status);
                }
                last = e.to_string();
            }
        }
    }
    Err(last)
}

/// Starts the stage's template with `actionsMode: skip-all` to let FIS resolve its targets,
/// then makes sure the preview is over. A signal ends the wait at once (the preview is
/// stopped); the stop's result is part of the check.
async fn preview<P: RunProviders>(
    providers: &P,
    opts: &RunOptions,
    template_id: &str,
    shutdown: &Shutdown,
) -> PreflightCheck {
    let tags = BTreeMap::from([
        (RUN_TAG.to_owned(), opts.run_id.clone()),
        (PREVIEW_TAG.to_owned(), "true".to_owned()),
    ]);
    let in_flight = InFlight::begin();
    let started = match providers.start(template_id, &tags, true).await {
        Ok(v) => v,
        Err(e) => {
            // A preview whose reply was lost is found by its run tag at the end of the run
            // and by `recover`.
            return with_fix(
                check(
                    None,
                    "targets",
                    false,
                    format!("the target preview could not start: {e}"),
                ),
                "check the FIS role's permissions and the template's targets",
            );
        }
    };
    let id = started.id.clone();
    let deadline = tokio::time::Instant::now() + PREVIEW_TIMEOUT;
    let mut status = started.status.clone();
    let mut reason = started.reason.clone();
    let token = shutdown.token().clone();
    let mut interrupted = false;
    while matches!(status.as_str(), "pending" | "initiating")
        && tokio::time::Instant::now() < deadline
    {
        tokio::select! {
            () = token.cancelled() => {
                interrupted = true;
                break;
            }
            () = tokio::time::sleep(opts.poll_interval.min(Duration::from_secs(1))) => {}
        }
        if let Ok(v) = providers.get(&id).await {
            status = v.status;
            reason = v.reason;
        }
    }
    let resolved = if interrupted {
        Ok(Vec::new())
    } else {
        providers.resolved_targets(&id).await
    };
    // Nothing was injected (skip-all); end the preview rather than wait for it.
    let stopped = if is_terminal_status(&status) {
        Ok(status.clone())
    } else {
        stop_preview(providers, &id).await
    };
    let stop_note = match &stopped {
        Ok(s) => format!("preview {id} ended ({s})"),
        Err(e) => format!("StopExperiment on preview {id} failed: {e}"),
    };
    if stopped.is_ok() {
        in_flight.settled();
    }
    if let Err(e) = &stopped {
        return with_fix(
            check(
                None,
                "targets",
                false,
                format!("{stop_note} (skip-all: nothing was injected); last status {status}: {e}"),
            ),
            format!(
                "aws fis stop-experiment --id {id}, or `gameday recover {}` (it stops every \
                 experiment tagged with the run)",
                opts.run_id
            ),
        );
    }
    if interrupted {
        return check(
            None,
            "targets",
            false,
            format!("interrupted while preview {id} resolved the targets; {stop_note}"),
        );
    }
    if status == "failed" || matches!(status.as_str(), "pending" | "initiating") {
        return with_fix(
            check(
                None,
                "targets",
                false,
                format!(
                    "preview {id} could not resolve the targets ({status}: {})",
                    reason.as_deref().unwrap_or("no reason given")
                ),
            ),
            "check the selector, namespace and cluster, and that pods carry the label",
        );
    }
    let mut c = match resolved {
        Ok(targets) if !targets.is_empty() => {
            let n = targets.len();
            if n > opts.max_targets as usize {
                with_fix(
                    check(
                        None,
                        "targets",
                        false,
                        format!(
                            "preview {id} resolved {n} targets, more than the policy's cap of {}",
                            opts.max_targets
                        ),
                    ),
                    "lower the stage's selection (COUNT or PERCENT) or narrow the selector",
                )
            } else {
                check(
                    None,
                    "targets",
                    true,
                    format!(
                        "preview {id} resolved {n} targets (cap {})",
                        opts.max_targets
                    ),
                )
            }
        }
        Ok(_) if opts.skip_kube => check(
            None,
            "targets",
            true,
            format!(
                "preview {id} resolved the targets ({status}); FIS listed none and the cluster \
                 check is skipped (--skip-kube): which pods, and how many, were not verified"
            ),
        ),
        Ok(_) => check(
            None,
            "targets",
            true,
            format!(
                "preview {id} resolved the targets ({status}); FIS listed none, so the count is \
                 checked against the cluster"
            ),
        ),
        Err(e) => check(
            None,
            "targets",
            true,
            format!("preview {id} resolved the targets ({status}); listing them failed: {e}"),
        ),
    };
    c.detail.push_str(&format!("; {stop_note}"));
    c
}
