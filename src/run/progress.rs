//! Live progress of a run on the terminal: scenario, stage, experiment and action states,
//! guard metrics against their bounds, elapsed time.
//!
//! Input: events from the run loop. Output: an indicatif spinner on stderr when it is a
//! terminal, plain lines otherwise (CI logs, the scheduler, tests). Must not: influence the
//! run — it only displays.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::record::{GuardSample, PreflightCheck, RunOutcome};
use crate::provider::ActionView;

/// The run's progress display.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    stage: String,
    experiment: String,
    phase: String,
    metrics: BTreeMap<String, String>,
    /// When the stage started and how long it is planned to take (fault + observation).
    stage_clock: Option<(Instant, Duration)>,
}

impl Progress {
    /// A display for a run; a spinner only when stderr is a terminal.
    pub fn new(gameday: &str, run_id: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(200));
            pb
        });
        let p = Self {
            bar,
            started: Instant::now(),
            stage: String::new(),
            experiment: String::new(),
            phase: String::new(),
            metrics: BTreeMap::new(),
            stage_clock: None,
        };
        p.note(&format!("GameDay {gameday}, run {run_id}"));
        p
    }

    /// A line that stays (above the spinner, or on stderr).
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(pb) => pb.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// A preflight check result.
    pub fn check(&self, c: &PreflightCheck) {
        let place = match (&c.scenario, &c.stage) {
            (Some(s), Some(t)) => format!(" {s}/{t}"),
            (Some(s), None) => format!(" {s}"),
            _ => String::new(),
        };
        let mark = if c.ok { "ok  " } else { "FAIL" };
        self.note(&format!(
            "preflight {mark} {}{place}: {}",
            c.check, c.detail
        ));
        if let (false, Some(fix)) = (c.ok, &c.fix) {
            self.note(&format!("          fix: {fix}"));
        }
    }

    /// A stage begins; `planned` is its expected length (longest fault action plus the
    /// observation window), shown as time remaining.
    pub fn stage(&mut self, scenario: &str, stage: &str, planned: Option<Duration>) {
        self.stage_clock = planned.map(|p| (Instant::now(), p));
        self.stage = format!("{scenario}/{stage}");
        self.experiment.clear();
        self.phase = "fault".to_owned();
        self.metrics.clear();
        self.note(&format!("stage {}", self.stage));
        self.redraw();
    }

    /// The experiment's state.
    pub fn experiment(&mut self, status: &str, actions: &BTreeMap<String, ActionView>) {
        let acts: Vec<String> = actions
            .iter()
            .map(|(n, a)| format!("{n}:{}", a.status))
            .collect();
        self.experiment = format!("{status} [{}]", acts.join(" "));
        if self.bar.is_none() {
            self.note(&format!("  experiment {}", self.experiment));
        }
        self.redraw();
    }

    /// Fault or recovery.
    pub fn phase(&mut self, phase: &str) {
        phase.clone_into(&mut self.phase);
        self.redraw();
    }

    /// A guard datapoint.
    pub fn sample(&mut self, s: &GuardSample) {
        let bound = match (s.lower, s.upper) {
            (_, Some(u)) => format!("≤{}", crate::model::format::format_threshold(u)),
            (Some(l), None) => format!("≥{}", crate::model::format::format_threshold(l)),
            _ => String::new(),
        };
        let mark = if s.breach { "!" } else { "" };
        self.metrics.insert(
            s.metric.clone(),
            format!(
                "{}={}{bound}{mark}",
                s.metric,
                crate::model::format::format_threshold(s.value)
            ),
        );
        self.redraw();
    }

    /// The run is over.
    pub fn finish(&self, outcome: RunOutcome) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
        self.note(&format!(
            "run {} after {} s",
            outcome.as_str(),
            self.started.elapsed().as_secs()
        ));
    }

    fn redraw(&self) {
        if let Some(pb) = &self.bar {
            let m: Vec<&str> = self.metrics.values().map(String::as_str).collect();
            let left = self
                .stage_clock
                .map_or_else(String::new, |(start, planned)| {
                    let left = planned.saturating_sub(start.elapsed()).as_secs();
                    format!(" · ~{}m{:02}s left", left / 60, left % 60)
                });
            pb.set_message(format!(
                "{} · {} · {} · {}{left}",
                self.stage,
                self.phase,
                self.experiment,
                m.join(" ")
            ));
        }
    }
}
