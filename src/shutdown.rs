//! Process-wide cancellation: one token, cancelled by the first SIGINT/SIGTERM.
//!
//! Input: OS signals. Output: a [`CancellationToken`] that every long-running loop selects on,
//! and a [`TaskTracker`] for spawned tasks (shutdown is cancel, close, wait). A second signal
//! exits at once: with [`EXIT_STOP_FAILED`](crate::error::EXIT_STOP_FAILED) while an experiment
//! this process started (or is stopping) may still run ([`InFlight`]), else with
//! [`EXIT_ABORTED`](crate::error::EXIT_ABORTED). Must not: perform cleanup itself — whoever
//! started an experiment stops it, under its own timeout.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why a run was cancelled, ordered from least to most severe; the most severe one is recorded.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AbortReason {
    /// A FIS stop condition (CloudWatch alarm) fired.
    StopCondition,
    /// Our guard saw the hypothesis break.
    Guard,
    /// The stage ran past its deadline.
    Timeout,
    /// The user interrupted (Ctrl-C).
    Interrupt,
    /// The process was told to terminate (SIGTERM).
    Signal,
}

/// Experiments this process may have running: counted from just before StartExperiment (or
/// from when `recover` takes one over) until it is known to be over.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// One experiment that may be running. [`InFlight::settled`] says it is over; dropping it
/// without that keeps it counted — a stop that failed leaves the process holding a running
/// experiment, and a second signal must say so.
#[derive(Debug)]
pub struct InFlight {
    settled: bool,
}

impl InFlight {
    /// Counts one more experiment that may be running.
    pub fn begin() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        Self { settled: false }
    }

    /// The experiment is over (or was never started).
    pub fn settled(mut self) {
        self.settle();
    }

    fn settle(&mut self) {
        if !self.settled {
            self.settled = true;
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl AbortReason {
    /// The name the journal and `summary.json` use: `guard`, `stop_condition`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StopCondition => "stop_condition",
            Self::Guard => "guard",
            Self::Timeout => "timeout",
            Self::Interrupt => "interrupt",
            Self::Signal => "signal",
        }
    }
}

/// Whether an experiment this process started may still be running.
pub fn experiments_in_flight() -> bool {
    IN_FLIGHT.load(Ordering::SeqCst) > 0
}

/// The exit code of a second signal: 5 while an experiment may still run, else 4.
pub fn second_signal_exit_code() -> i32 {
    if experiments_in_flight() {
        crate::error::EXIT_STOP_FAILED
    } else {
        crate::error::EXIT_ABORTED
    }
}

/// What the first signal does, as logged: only a process with an experiment in flight has one
/// to stop (and a journal to save); any other (the demo workload, `mine`, …) just shuts down.
fn first_signal_note(in_flight: bool) -> &'static str {
    if in_flight {
        "signal received: stopping experiments and saving the journal (signal again to exit at once)"
    } else {
        "signal received: shutting down (signal again to exit at once)"
    }
}

/// The process's shutdown handle.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
    reason: std::sync::Arc<std::sync::Mutex<Option<AbortReason>>>,
}

impl Shutdown {
    /// A fresh handle with no signal handling (tests, library use).
    pub fn new() -> Self {
        Self::default()
    }

    /// The root token.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Tracker for spawned tasks.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Cancels with a reason; the most severe reason wins.
    pub fn cancel(&self, reason: AbortReason) {
        if let Ok(mut r) = self.reason.lock() {
            *r = Some(r.map_or(reason, |old| old.max(reason)));
        }
        self.token.cancel();
    }

    /// The most severe reason given so far.
    pub fn reason(&self) -> Option<AbortReason> {
        self.reason.lock().ok().and_then(|r| *r)
    }

    /// Installs SIGINT/SIGTERM handlers: the first signal cancels, the second exits at once.
    ///
    /// # Errors
    /// When the OS refuses the signal handlers.
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut int = signal(SignalKind::interrupt())?;
            let mut term = signal(SignalKind::terminate())?;
            let this = self.clone();
            tokio::spawn(async move {
                let mut seen = 0u32;
                loop {
                    let reason = tokio::select! {
                        _ = int.recv() => AbortReason::Interrupt,
                        _ = term.recv() => AbortReason::Signal,
                    };
                    seen += 1;
                    if seen == 1 {
                        tracing::warn!(?reason, "{}", first_signal_note(experiments_in_flight()));
                        this.cancel(reason);
                    } else {
                        let code = second_signal_exit_code();
                        if code == crate::error::EXIT_STOP_FAILED {
                            tracing::error!(
                                "second signal: exiting now while an experiment may still be \
                                 running; run `gameday recover` to stop it"
                            );
                        } else {
                            tracing::error!(
                                "second signal: exiting now; no experiment was running"
                            );
                        }
                        std::process::exit(code);
                    }
                }
            });
        }
        #[cfg(not(unix))]
        {
            let this = self.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    this.cancel(AbortReason::Interrupt);
                }
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(second_signal_exit_code());
                }
            });
        }
        Ok(())
    }

    /// Shutdown: cancel, close the tracker, wait for tracked tasks.
    pub async fn drain(&self) {
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_promises_a_stop_only_with_an_experiment_in_flight() {
        assert!(first_signal_note(true).contains("stopping experiments"));
        let idle = first_signal_note(false);
        assert!(
            !idle.contains("experiment") && !idle.contains("journal"),
            "{idle}"
        );
    }

    #[test]
    fn most_severe_reason_wins() {
        let s = Shutdown::new();
        assert_eq!(s.reason(), None);
        s.cancel(AbortReason::Signal);
        s.cancel(AbortReason::Guard);
        assert_eq!(s.reason(), Some(AbortReason::Signal));
        assert!(s.token().is_cancelled());
        assert!(AbortReason::StopCondition < AbortReason::Guard);
        assert!(AbortReason::Interrupt < AbortReason::Signal);
    }

    #[test]
    fn issue_13_a_second_signal_exits_5_while_an_experiment_may_run() {
        // Other tests may hold experiments of their own; this one only adds to the count.
        let a = InFlight::begin();
        let b = InFlight::begin();
        assert_eq!(second_signal_exit_code(), crate::error::EXIT_STOP_FAILED);
        a.settled();
        assert_eq!(second_signal_exit_code(), crate::error::EXIT_STOP_FAILED);
        // Dropped without `settled`: a stop that failed keeps it counted.
        let _ = b;
        assert_eq!(second_signal_exit_code(), crate::error::EXIT_STOP_FAILED);
    }
}
