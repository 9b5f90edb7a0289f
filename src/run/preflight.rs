//! Preflight: everything that must be true before any fault is injected.
//!
//! Input: a validated GameDay (lint and policy are checked by the caller before a journal
//! exists), the AWS providers and the run options. Output: [`PreflightCheck`]s, and the stage
//! template ids once every AWS-side check passed. Must not: inject anything — the only
//! experiments it starts are target-resolution previews (`actionsMode: skip-all`), which it
//! stops again — or create templates before the alarms and the hypothesis checked out.
//!
//! "The hypothesis holds now" is asked of the run guard's own judge: the last
//! `--hypothesis-window` of each guard metric goes through it, and one breach by its rules (its
//! band, persistence, SLO bounds) fails the check.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::Utc;

use super::guard::{self, GuardMetric, SampleTracker};
use super::options::{PREVIEW_TAG, RUN_TAG, RunOptions, RunProviders};
use crate::model::record::{GuardSample, Phase, PreflightCheck};
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

/// `hypothesis-now` for one guard metric: the window's datapoints go through the same judge and
/// the same tracker as the run guard's (a fresh judge, a still-filling bucket only when it
/// already breaches). Any breach by the judge's rules means the hypothesis does not hold; no
/// datapoint at all means the guard would be blind, which does not hold either.
fn hypothesis_now(
    scenario: &str,
    gm: &GuardMetric,
    points: &[(i64, f64)],
    now: i64,
    window: Duration,
) -> PreflightCheck {
    let window = window.as_secs() / 60;
    if points.is_empty() {
        return with_fix(
            check(
                Some(scenario),
                "hypothesis-now",
                false,
                format!(
                    "{} has no datapoints in the last {window} min: the guard would be blind",
                    gm.name
                ),
            ),
            "check that the service publishes the metric (namespace, name and dimensions as \
             in the alarm), then run again",
        );
    }
    let fetched = BTreeMap::from([(gm.name.clone(), points.to_vec())]);
    let judged = SampleTracker::default().new_samples(
        std::slice::from_ref(gm),
        &fetched,
        now,
        scenario,
        "",
        Phase::Fault,
    );
    let rule = gm.judge.rule_text();
    let breaches: Vec<&GuardSample> = judged.iter().filter(|s| s.breach).collect();
    let Some(latest) = breaches.last() else {
        return check(
            Some(scenario),
            "hypothesis-now",
            true,
            format!(
                "{} holds: {} datapoints in the last {window} min, none a breach by its judge \
                 ({rule})",
                gm.name,
                judged.len()
            ),
        );
    };
    with_fix(
        check(
            Some(scenario),
            "hypothesis-now",
            false,
            format!(
                "{} does not hold now: its judge calls {} of {} datapoints in the last {window} \
                 min a breach (latest {} at {}, band {}: {}); {rule}",
                gm.name,
                breaches.len(),
                judged.len(),
                crate::model::format::format_threshold(latest.value),
                chrono::DateTime::from_timestamp(latest.ts, 0)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default(),
                super::execute::bounds_text(latest.lower, latest.upper),
                latest.reason.as_deref().unwrap_or("breach"),
            ),
        ),
        "the system is not in its steady state: do not inject a fault into it; investigate, \
         or re-derive the hypothesis if it is stale",
    )
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
        match guard::guard_metrics(gameday, s, opts.guard_period, opts.judge_at_learned_period) {
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
    for (s, m) in &metrics {
        // At least two of the longest (learned) period: one complete datapoint at the least.
        let longest = m.iter().map(|g| g.period).max().unwrap_or_default();
        let window = opts.hypothesis_window.max(longest * 2);
        let from = now - chrono::Duration::from_std(window).unwrap_or_default();
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
                    checks.push(hypothesis_now(&s.name, gm, points, now.timestamp(), window));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::scenario::HypothesisMetric;
    use crate::steady_state::{DeriveOptions, Direction, MetricHypothesis, Point, derive};

    /// Learned on 10 ± 1 every minute for two days, with the given N-of-M rule.
    fn learned(persistence: (usize, usize)) -> MetricHypothesis {
        let pts: Vec<Point> = (0..2880)
            .map(|i| Point {
                ts: i * 60,
                value: 10.0 + ((i * 7919) % 13) as f64 / 6.0 - 1.0,
            })
            .collect();
        derive(
            &pts,
            &DeriveOptions {
                metric: "latency".into(),
                persistence: Some(persistence),
                ..DeriveOptions::default()
            },
        )
        .expect("derives")
    }

    /// The guard metric `run` builds for a scenario metric with these bounds and judge.
    fn metric(upper: Option<f64>, judge: Option<MetricHypothesis>) -> GuardMetric {
        let h = HypothesisMetric {
            metric: "latency".into(),
            direction: Direction::Upper,
            abort_upper: upper,
            abort_lower: None,
            alarms: vec![],
            judge,
        };
        let period = Duration::from_secs(60);
        GuardMetric {
            name: "latency".into(),
            queries: vec![],
            lower: None,
            upper,
            period,
            additive: false,
            judge: guard::judge_of(&h, period),
        }
    }

    const NOW: i64 = 600_000;
    const WINDOW: Duration = Duration::from_secs(15 * 60);

    /// 15 complete minutes of `value`, with `odd` at the minute `at` ago.
    fn window(value: f64, odd: Option<(i64, f64)>) -> Vec<(i64, f64)> {
        (1..=15)
            .rev()
            .map(|ago| {
                let ts = NOW - ago * 60;
                match odd {
                    Some((at, v)) if at == ago => (ts, v),
                    _ => (ts, value),
                }
            })
            .collect()
    }

    #[test]
    fn the_judge_refuses_what_the_fixed_bounds_would_pass() {
        let h = learned((1, 1));
        let band = h.bounds_at(NOW).upper.expect("guarded");
        // Above the learned band, far below the scenario's own bound.
        let m = metric(Some(100.0), Some(h));
        let c = hypothesis_now("s", &m, &window(10.0, Some((3, band + 0.5))), NOW, WINDOW);
        assert!(!c.ok, "{c:?}");
        assert!(
            c.detail
                .contains("latency does not hold now: its judge calls 1 of 15 datapoints"),
            "{}",
            c.detail
        );
        assert!(c.detail.contains("above the band: breach"), "{}", c.detail);
        assert!(
            c.detail.contains("abort when 1 of the last 1"),
            "{}",
            c.detail
        );
        assert!(c.fix.is_some());
        // The same window inside the band holds.
        let c = hypothesis_now("s", &m, &window(10.0, None), NOW, WINDOW);
        assert!(c.ok, "{c:?}");
        assert!(c.detail.contains("15 datapoints"), "{}", c.detail);
    }

    #[test]
    fn one_datapoint_past_a_bound_judged_two_of_three_still_holds() {
        let h = learned((2, 3));
        let band = h.bounds_at(NOW).upper.expect("guarded");
        // A human's tighter bound joins the judge's SLO bounds, with its persistence.
        let tight = band - 0.5;
        let m = metric(Some(tight), Some(h));
        let once = window(10.0, Some((5, tight + 0.1)));
        let c = hypothesis_now("s", &m, &once, NOW, WINDOW);
        assert!(c.ok, "one of three is no breach: {c:?}");
        // Two of three are.
        let mut twice = once.clone();
        twice[11].1 = tight + 0.1;
        let c = hypothesis_now("s", &m, &twice, NOW, WINDOW);
        assert!(!c.ok, "{c:?}");
        assert!(c.detail.contains("2 of the last 3"), "{}", c.detail);
    }

    #[test]
    fn fixed_bounds_break_on_one_datapoint_and_no_data_is_blind() {
        let m = metric(Some(1.0), None);
        let c = hypothesis_now("s", &m, &window(0.5, Some((2, 1.5))), NOW, WINDOW);
        assert!(!c.ok);
        assert!(
            c.detail.contains("above the bounds: breach"),
            "{}",
            c.detail
        );
        assert!(hypothesis_now("s", &m, &window(0.5, None), NOW, WINDOW).ok);
        let c = hypothesis_now("s", &m, &[], NOW, WINDOW);
        assert!(!c.ok && c.detail.contains("no datapoints"), "{c:?}");
    }
}
