//! `recover`: closing runs that died — stopping what they left running, and marking them
//! interrupted so their reports can be rendered.
//!
//! Input: the reports directory (or one run id) and the FIS provider. Output: the journals
//! closed with `run-interrupted`, and what was stopped. Must not: touch a run whose process is
//! still alive (it holds its run lock), or trust the journal alone — experiments carry the run
//! id as a tag, so ListExperiments finds those whose id never reached the journal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::execute::{RUN_TAG, stop_experiment};
use super::journal::{JOURNAL_FILE, Journal, JournalError, RUN_INTERRUPTED, read_journal};
use super::lock::run_is_alive;
use super::record::{RunInterrupted, RunRecord};
use crate::provider::{FaultInjector, ProviderError, is_terminal_status};
use crate::shutdown::AbortReason;

/// What recovering one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The run id.
    pub run_id: String,
    /// Its journal.
    pub journal: PathBuf,
    /// Experiments found running and stopped.
    pub stopped: Vec<String>,
    /// Experiments that could not be stopped, with how a human stops them.
    pub stop_failed: Vec<(String, String)>,
    /// The run is still alive (its process holds the run lock): left alone.
    pub alive: bool,
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

/// Recovers every unfinished run under `reports`.
///
/// # Errors
/// The first run that could not be recovered (earlier ones are already closed).
pub async fn recover_all<F: FaultInjector>(
    fis: &F,
    reports: &Path,
    stop_timeout: Duration,
) -> Result<Vec<Recovered>, RecoverError> {
    let mut out = Vec::new();
    for journal in super::journal::unfinished_runs(reports)? {
        let Some(run_id) = journal
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .map(str::to_owned)
        else {
            continue;
        };
        out.push(recover_run(fis, reports, &run_id, stop_timeout).await?);
    }
    Ok(out)
}

/// Recovers one run: stops its experiments that are still running (found by tag and from the
/// journal), then appends `run-interrupted` unless the run already finished.
///
/// # Errors
/// [`RecoverError`] when the journal is unreadable or FIS cannot list experiments.
pub async fn recover_run<F: FaultInjector>(
    fis: &F,
    reports: &Path,
    run_id: &str,
    stop_timeout: Duration,
) -> Result<Recovered, RecoverError> {
    let path = reports.join(run_id).join(JOURNAL_FILE);
    let mut rec = Recovered {
        run_id: run_id.to_owned(),
        journal: path.clone(),
        stopped: Vec::new(),
        stop_failed: Vec::new(),
        alive: false,
    };
    if run_is_alive(reports, run_id)? {
        rec.alive = true;
        return Ok(rec);
    }
    let read = read_journal(&path)?;
    let finished = read.is_finished();
    let mut candidates: BTreeSet<String> = RunRecord::from_entries(&read.entries)
        .map(|r| r.experiments().into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    let listed = fis.list().await.map_err(|source| RecoverError::List {
        run_id: run_id.to_owned(),
        source,
    })?;
    for e in &listed {
        if e.tags.get(RUN_TAG).map(String::as_str) == Some(run_id) {
            candidates.insert(e.id.clone());
        }
    }
    let mut journal = Journal::reopen(&path)?;
    for id in candidates {
        let running = match fis.get(&id).await {
            Ok(v) => !is_terminal_status(&v.status),
            // Unknown state: try to stop it anyway.
            Err(_) => true,
        };
        if !running {
            continue;
        }
        match stop_experiment(fis, &id, AbortReason::Interrupt, stop_timeout, &mut journal).await? {
            Ok(_) => rec.stopped.push(id),
            Err(how) => rec.stop_failed.push((id, how)),
        }
    }
    if !finished {
        journal.append(
            chrono::Utc::now(),
            RUN_INTERRUPTED,
            &RunInterrupted {
                stopped: rec.stopped.clone(),
                stop_failed: rec.stop_failed.iter().map(|(id, _)| id.clone()).collect(),
                detail: format!(
                    "the run's process ended without finishing its journal; recover stopped {} \
                     experiment(s) still running",
                    rec.stopped.len()
                ),
            },
        )?;
    }
    Ok(rec)
}
