//! Reading the history: every run journal under the reports directory, and the scheduler's
//! `history.jsonl` when there is one.
//!
//! Input: the reports directory (and optionally the scheduler's state directory). Output:
//! [`Loaded`]: the runs as [`RunRecord`]s, and what was left out with the reason. Never reads
//! report markdown (only journals are the record of what happened) and never fails on one bad
//! journal: an unreadable, damaged or still-open journal is skipped with a warning. Must not
//! write anything or take the scheduler's lock (it only reads the file).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::journal::{JOURNAL_FILE, read_journal};
use crate::model::record::RunRecord;
use crate::model::schedule::{HISTORY_FILE, HistoryRecord};

/// A journal left out of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedJournal {
    /// The journal.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// A scheduled run that left no journal (plan or preflight failed before the run began).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledRun {
    /// Schedule entry.
    pub entry: String,
    /// Run id.
    pub run_id: String,
    /// When it ended.
    pub at: DateTime<Utc>,
    /// Outcome label.
    pub outcome: String,
    /// What happened.
    pub detail: String,
}

/// What was read.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Finished runs (normally, or closed by `recover`), by directory name.
    pub runs: Vec<RunRecord>,
    /// Journals left out.
    pub skipped: Vec<SkippedJournal>,
    /// Scheduled runs without a journal.
    pub scheduled_without_journal: Vec<ScheduledRun>,
}

/// Reads every `<reports>/*/journal.jsonl`. A missing directory is an empty history.
pub fn read_runs(reports: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    let Ok(dirs) = std::fs::read_dir(reports) else {
        return loaded;
    };
    let mut paths: Vec<PathBuf> = dirs
        .flatten()
        .map(|d| d.path().join(JOURNAL_FILE))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    for path in paths {
        let skip = |reason: String| {
            tracing::warn!(journal = %path.display(), %reason, "journal left out of the history");
            SkippedJournal {
                path: path.clone(),
                reason,
            }
        };
        let read = match read_journal(&path) {
            Ok(r) => r,
            Err(e) => {
                loaded.skipped.push(skip(crate::error::error_chain(&e)));
                continue;
            }
        };
        match RunRecord::from_entries(&read.entries) {
            Ok(run) if run.outcome().is_none() => loaded.skipped.push(skip(format!(
                "run {} has not finished (still running, or crashed: `gameday recover {}` closes it)",
                run.start.run_id, run.start.run_id
            ))),
            Ok(run) => loaded.runs.push(run),
            Err(e) => loaded.skipped.push(skip(crate::error::error_chain(&e))),
        }
    }
    loaded
}

/// Adds the scheduler's finished runs that have no journal among `loaded.runs`. A missing or
/// unreadable history file adds nothing (with a warning when it exists but cannot be read).
pub fn read_schedule(state_dir: &Path, loaded: &mut Loaded) {
    let path = state_dir.join(HISTORY_FILE);
    let Ok(file) = std::fs::File::open(&path) else {
        return;
    };
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let Ok(line) = line else {
            tracing::warn!(file = %path.display(), line = i + 1, "unreadable scheduler history line");
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        let Ok(record) = serde_json::from_str::<HistoryRecord>(&line) else {
            // A torn last line, or a record from a newer version: not this reader's business.
            continue;
        };
        if let HistoryRecord::Finished {
            entry,
            run_id,
            at,
            outcome,
            detail,
            ..
        } = record
            && !loaded.runs.iter().any(|r| r.start.run_id == run_id)
            && !loaded
                .skipped
                .iter()
                .any(|s| s.path.parent().and_then(Path::file_name) == Some(run_id.as_ref()))
        {
            loaded.scheduled_without_journal.push(ScheduledRun {
                entry,
                run_id,
                at,
                outcome: outcome.as_str().to_owned(),
                detail,
            });
        }
    }
}
