//! `recover`: closing runs that died, and finishing stops that failed — stopping whatever a
//! run left running, and recording it in the run's journal.
//!
//! Input: the reports directory (or one run id) and the FIS provider. Output: per run, what was
//! stopped and what could not be, with the journal closed (`run-interrupted`) or amended
//! (`run-recovered`). Must not: touch a run whose process is still alive or that another
//! `recover` is recovering (both hold the run lock; recovery takes it exclusively), trust the
//! journal alone — experiments carry the run id as a tag, so one ListExperiments finds those
//! whose id never reached the journal, those a failed stop left running and late previews —
//! or let one damaged journal keep the other runs from being recovered.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::execute::{JournalSink, stop_experiment};
use super::lock::lock_for_recovery;
use super::options::RUN_TAG;
use crate::model::journal::{
    JOURNAL_FILE, Journal, JournalError, ReadJournal, RunJournal, read_journal, run_journals,
};
use crate::model::record::{Entry, Event, RunInterrupted, RunRecord, RunRecovered, kind};
use crate::provider::{ExperimentSummary, FaultInjector, ProviderError, is_terminal_status};
use crate::shutdown::{AbortReason, InFlight};

/// Default for [`RecoverOptions::start_grace`]: how long after a `stage-intent` with no
/// experiment id an experiment may still appear (the process died while StartExperiment was in
/// flight; the service may still be acting on it).
pub const DEFAULT_START_GRACE: Duration = Duration::from_secs(10);

/// How a recovery behaves.
#[derive(Debug, Clone, Copy)]
pub struct RecoverOptions {
    /// Longest wait for each stopped experiment to reach a terminal state.
    pub stop_timeout: Duration,
    /// How long after an unanswered `stage-intent` to look again for its experiment.
    pub start_grace: Duration,
}

impl RecoverOptions {
    /// Options with the given stop timeout and the default start grace.
    pub fn new(stop_timeout: Duration) -> Self {
        Self {
            stop_timeout,
            start_grace: DEFAULT_START_GRACE,
        }
    }
}

/// What recovering one run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recovered {
    /// The run id.
    pub run_id: String,
    /// Its journal.
    pub journal: PathBuf,
    /// Experiments found running and stopped.
    pub stopped: Vec<String>,
    /// Experiments that could not be stopped, with how a human stops them.
    pub stop_failed: Vec<(String, String)>,
    /// The run is still alive, or another `recover` holds it: left alone.
    pub alive: bool,
    /// Who holds the run lock, when `alive`.
    pub holder: Option<String>,
    /// The journal could not be read (damaged) or written (disk full): the experiments were
    /// still stopped by tag, but the record is incomplete. Says what failed.
    pub journal_error: Option<String>,
}

/// A recovery that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The journal could not be read or appended to.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// FIS could not be asked which experiments the run started.
    #[error("failed to list the experiments of run {run_id}")]
    List {
        /// The run.
        run_id: String,
        /// The provider error.
        #[source]
        source: ProviderError,
    },
    /// The lock file could not be checked.
    #[error(transparent)]
    Lock(#[from] super::lock::LockError),
}

impl RecoverError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Journal(e) => e.kind(),
            Self::List { .. } => "recover_list",
            Self::Lock(e) => e.kind(),
        }
    }
}

/// Experiments in a listing that carry a run's tag and are not over, by id.
fn tagged_active(listed: &[ExperimentSummary], run_id: &str) -> BTreeSet<String> {
    listed
        .iter()
        .filter(|e| e.tags.get(RUN_TAG).map(String::as_str) == Some(run_id))
        .filter(|e| !is_terminal_status(&e.status))
        .map(|e| e.id.clone())
        .collect()
}

/// Whether a run must be recovered: its journal is damaged or does not prove that nothing it
/// started still runs, or FIS lists an active experiment with its tag.
fn needs_recovery(j: &RunJournal, listed: &[ExperimentSummary]) -> bool {
    match &j.read {
        Err(_) => true,
        Ok(read) => !read.is_settled() || !tagged_active(listed, &j.run_id).is_empty(),
    }
}

/// Recovers every run under `reports` that needs it: unfinished runs, runs whose stop failed,
/// runs with an active experiment carrying their tag, and runs whose journal is damaged (their
/// experiments are stopped by tag; the journal is left as it is). One run failing to recover
/// never keeps the others from being recovered.
///
/// # Errors
/// [`RecoverError::List`] when FIS cannot be listed (then nothing can be proven stopped).
pub async fn recover_all<F: FaultInjector>(
    fis: &F,
    reports: &Path,
    opts: RecoverOptions,
) -> Result<Vec<Recovered>, RecoverError> {
    let journals = run_journals(reports);
    if journals.is_empty() {
        return Ok(Vec::new());
    }
    let listed = list(fis, "every run").await?;
    let mut out = Vec::new();
    for j in journals.iter().filter(|j| needs_recovery(j, &listed)) {
        out.push(recover_listed(fis, reports, &j.run_id, &listed, opts).await);
    }
    Ok(out)
}

/// Recovers one run, whatever its journal says: stops every experiment it names or that
/// carries its tag and is still active, then appends `run-interrupted` (the run never
/// finished) or `run-recovered` (it had, but something was still to stop).
///
/// # Errors
/// [`RecoverError::List`] when FIS cannot be listed.
pub async fn recover_run<F: FaultInjector>(
    fis: &F,
    reports: &Path,
    run_id: &str,
    opts: RecoverOptions,
) -> Result<Recovered, RecoverError> {
    let listed = list(fis, run_id).await?;
    Ok(recover_listed(fis, reports, run_id, &listed, opts).await)
}

async fn list<F: FaultInjector>(
    fis: &F,
    what: &str,
) -> Result<Vec<ExperimentSummary>, RecoverError> {
    fis.list().await.map_err(|source| RecoverError::List {
        run_id: what.to_owned(),
        source,
    })
}

/// The time of a `stage-intent` whose stage has neither an experiment id nor a finish: the run
/// died while StartExperiment may have been in flight.
fn unanswered_intent(entries: &[Entry]) -> Option<DateTime<Utc>> {
    // Read field by field, not as typed events: a damaged or partial payload must still count
    // as an intent (StartExperiment may have been called), and still match its answer.
    let stage = |e: &Entry| {
        (
            e.data.get("scenario").cloned(),
            e.data.get("stage").cloned(),
        )
    };
    let mut open = None;
    for e in entries {
        match e.kind.as_str() {
            kind::STAGE_INTENT => open = Some((stage(e), e.at)),
            kind::EXPERIMENT_STARTED | kind::STAGE_FINISHED
                if open.as_ref().is_some_and(|(s, _)| *s == stage(e)) =>
            {
                open = None;
            }
            _ => {}
        }
    }
    open.map(|(_, at)| at)
}

/// The journal while recovering: absent when damaged, and a write that fails (disk full) is
/// remembered, never a reason not to stop.
struct RecoveryJournal {
    journal: Option<Journal>,
    error: Option<String>,
}

impl JournalSink for RecoveryJournal {
    fn record(&mut self, event: impl Into<Event>) -> Result<(), JournalError> {
        if let Some(j) = &mut self.journal
            && let Err(e) = j.record(event)
        {
            tracing::error!(error = %e, "recover could not write the journal; going on with the stops");
            self.error
                .get_or_insert_with(|| crate::error::error_chain(&e));
        }
        Ok(())
    }
}

async fn recover_listed<F: FaultInjector>(
    fis: &F,
    reports: &Path,
    run_id: &str,
    listed: &[ExperimentSummary],
    opts: RecoverOptions,
) -> Recovered {
    let path = reports.join(run_id).join(JOURNAL_FILE);
    let mut rec = Recovered {
        run_id: run_id.to_owned(),
        journal: path.clone(),
        ..Recovered::default()
    };
    // Exclusive: a live run, or another recover, keeps this one out.
    let _lock = match lock_for_recovery(reports, run_id) {
        Ok(Ok(lock)) => lock,
        Ok(Err(holder)) => {
            rec.alive = true;
            rec.holder = Some(holder);
            return rec;
        }
        Err(e) => {
            // Without the lock the journal is not ours to write; the stops by tag still go out.
            rec.journal_error = Some(crate::error::error_chain(&e));
            stop_all(fis, tagged_active(listed, run_id), opts, &mut rec, None).await;
            return rec;
        }
    };
    // Read again under the lock: the run may have just finished.
    let read: Result<ReadJournal, JournalError> = read_journal(&path);
    let mut candidates = tagged_active(listed, run_id);
    let mut journal = None;
    let mut settled = false;
    let mut finished = false;
    match &read {
        Ok(r) => {
            settled = r.is_settled();
            finished = r.is_finished();
            if let Ok(record) = RunRecord::from_entries(&r.entries) {
                candidates.extend(record.experiments().into_iter().map(str::to_owned));
            }
            // The run died with StartExperiment perhaps in flight: give the service its grace
            // before concluding there is nothing to stop.
            if !finished && let Some(at) = unanswered_intent(&r.entries) {
                let due = at + chrono::Duration::from_std(opts.start_grace).unwrap_or_default();
                if let Ok(wait) = (due - Utc::now()).to_std() {
                    tokio::time::sleep(wait).await;
                }
                match fis.list().await {
                    Ok(again) => candidates.extend(tagged_active(&again, run_id)),
                    Err(e) => {
                        tracing::warn!(error = %e, "listing again after the start grace failed")
                    }
                }
            }
            match Journal::reopen(&path) {
                Ok(j) => journal = Some(j),
                Err(e) => rec.journal_error = Some(crate::error::error_chain(&e)),
            }
        }
        Err(e) => {
            rec.journal_error = Some(format!(
                "{} — its experiments were looked up by the run tag {RUN_TAG}={run_id} instead; \
                 gameday never rewrites a journal: move the run directory aside once checked",
                crate::error::error_chain(e)
            ));
        }
    }
    let mut sink = RecoveryJournal {
        journal,
        error: None,
    };
    let before = rec.stopped.len() + rec.stop_failed.len();
    stop_all(fis, candidates, opts, &mut rec, Some(&mut sink)).await;
    let acted = rec.stopped.len() + rec.stop_failed.len() > before;
    if read.is_ok() {
        let stop_failed: Vec<String> = rec.stop_failed.iter().map(|(id, _)| id.clone()).collect();
        if !finished {
            let _ = sink.record(RunInterrupted {
                stopped: rec.stopped.clone(),
                stop_failed,
                detail: format!(
                    "the run's process ended without finishing its journal; recover stopped \
                         {} experiment(s) still running",
                    rec.stopped.len()
                ),
            });
        } else if !settled || acted {
            let _ = sink.record(RunRecovered {
                stopped: rec.stopped.clone(),
                stop_failed,
                detail: format!(
                    "the run had ended with an experiment possibly still running; recover \
                         looked up every experiment tagged {RUN_TAG}={run_id} and stopped {}",
                    rec.stopped.len()
                ),
            });
        }
    }
    if let Some(e) = sink.error {
        rec.journal_error.get_or_insert(e);
    }
    rec
}

/// Stops every candidate that is not over (an unknown state counts as running).
async fn stop_all<F: FaultInjector>(
    fis: &F,
    candidates: BTreeSet<String>,
    opts: RecoverOptions,
    rec: &mut Recovered,
    sink: Option<&mut RecoveryJournal>,
) {
    let mut none = RecoveryJournal {
        journal: None,
        error: None,
    };
    let sink = sink.unwrap_or(&mut none);
    for id in candidates {
        let running = match fis.get(&id).await {
            Ok(v) => !is_terminal_status(&v.status),
            Err(_) => true,
        };
        if !running {
            continue;
        }
        let in_flight = InFlight::begin();
        let stop = stop_experiment(fis, &id, AbortReason::Interrupt, opts.stop_timeout, sink).await;
        match stop.outcome {
            Ok(_) => {
                in_flight.settled();
                rec.stopped.push(id);
            }
            Err(how) => rec.stop_failed.push((id, how)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::RUN_RECOVERED;

    fn entry(seq: u64, kind: &str, data: serde_json::Value) -> Entry {
        Entry {
            seq,
            at: DateTime::from_timestamp(1_790_000_000 + seq as i64, 0).expect("valid"),
            kind: kind.to_owned(),
            data,
        }
    }

    #[test]
    fn issue_13_an_intent_without_an_answer_is_found() {
        let intent = entry(
            1,
            kind::STAGE_INTENT,
            serde_json::json!({"scenario": "s", "stage": "count-1"}),
        );
        let started = entry(
            2,
            kind::EXPERIMENT_STARTED,
            serde_json::json!({"scenario": "s", "stage": "count-1", "experiment_id": "E"}),
        );
        assert_eq!(
            unanswered_intent(std::slice::from_ref(&intent)),
            Some(intent.at)
        );
        assert_eq!(unanswered_intent(&[intent.clone(), started]), None);
        let finished = entry(
            3,
            kind::STAGE_FINISHED,
            serde_json::json!({"scenario": "s", "stage": "count-1"}),
        );
        assert_eq!(unanswered_intent(&[intent, finished]), None);
    }

    #[test]
    fn issue_13_a_failed_stop_leaves_the_run_to_recover() {
        let read = |entries: Vec<Entry>| ReadJournal {
            entries,
            torn_tail: false,
            complete_len: 0,
        };
        let finished = |outcome: &str| {
            entry(
                5,
                crate::model::record::RUN_FINISHED,
                serde_json::json!({ "outcome": outcome }),
            )
        };
        assert!(read(vec![finished("aborted")]).is_settled());
        assert!(!read(vec![finished("stop-failed")]).is_settled());
        let recovered = |failed: serde_json::Value| {
            entry(
                6,
                RUN_RECOVERED,
                serde_json::json!({"stopped": [], "stop_failed": failed, "detail": ""}),
            )
        };
        assert!(
            !read(vec![
                finished("stop-failed"),
                recovered(serde_json::json!(["E"]))
            ])
            .is_settled()
        );
        assert!(
            read(vec![
                finished("stop-failed"),
                recovered(serde_json::json!([]))
            ])
            .is_settled()
        );
        assert!(!read(vec![entry(0, "run-started", serde_json::json!({}))]).is_settled());
    }
}
