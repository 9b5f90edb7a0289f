//! The run journal: `reports/<run-id>/journal.jsonl`, append-only and crash-safe.
//!
//! Input: [`Event`]s (or, for tests and tools, a kind and any serialisable payload) with the time
//! they happened, passed in. What each line means is typed in [`super::record`].
//! Output: one JSON object per line, each flushed and fsync'd before [`Journal::append`]
//! returns — so an intent is on disk before the call it announces is made. Reading back
//! tolerates the one thing a crash can leave, a torn last line, and reports it; anything else
//! malformed is an error naming its line. Must not: buffer, reorder, rewrite or truncate
//! entries (only a torn fragment after the last entry is ever cut, by [`Journal::reopen`]), or
//! read the clock (times come from the caller, so tests and replays are exact).

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::record::{
    Entry, Event, RUN_FINISHED, RUN_INTERRUPTED, RUN_RECOVERED, RUN_STARTED, RunInterrupted,
    RunOutcome, RunRecovered,
};

/// The journal's file name inside a run directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// A journal failure.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The run directory or journal could not be created, written or synced.
    #[error("failed to write journal {}", path.display())]
    Write {
        /// The journal file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The journal could not be read.
    #[error("failed to read journal {}", path.display())]
    Read {
        /// The journal file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A run with this id already has a journal; runs never share one.
    #[error("run {run_id} already has a journal at {}", path.display())]
    Exists {
        /// The run id.
        run_id: String,
        /// The existing journal.
        path: PathBuf,
    },
    /// A line other than a torn last line is not a journal entry.
    #[error("{}:{line}: not a journal entry (the journal is damaged; gameday never rewrites it)", path.display())]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Entries are out of sequence (an edited or spliced file).
    #[error("{}:{line}: entry {found} where {expected} was expected", path.display())]
    Sequence {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The seq the line has.
        found: u64,
        /// The seq it should have.
        expected: u64,
    },
    /// A payload could not be serialised.
    #[error("failed to serialise a {kind} journal entry")]
    Serialise {
        /// The entry kind.
        kind: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl JournalError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Write { .. } => "journal_write",
            Self::Read { .. } => "journal_read",
            Self::Exists { .. } => "journal_exists",
            Self::Corrupt { .. } => "journal_corrupt",
            Self::Sequence { .. } => "journal_sequence",
            Self::Serialise { .. } => "journal_serialise",
        }
    }
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    next_seq: u64,
}

impl Journal {
    /// Creates `<reports>/<run_id>/journal.jsonl` (never reusing an existing one) and writes
    /// its `run-started` entry.
    ///
    /// # Errors
    /// [`JournalError::Exists`] when the run already has a journal; [`JournalError::Write`]
    /// when the directory or file cannot be created or synced.
    pub fn create(
        reports: &Path,
        run_id: &str,
        at: DateTime<Utc>,
        started: &impl Serialize,
    ) -> Result<Self, JournalError> {
        let dir = reports.join(run_id);
        let path = dir.join(JOURNAL_FILE);
        let write_err = |source| JournalError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(write_err)?;
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    JournalError::Exists {
                        run_id: run_id.to_owned(),
                        path: path.clone(),
                    }
                } else {
                    write_err(source)
                }
            })?;
        // The new directory entry must survive a crash too.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        let mut journal = Self {
            path,
            file,
            next_seq: 0,
        };
        journal.append(at, RUN_STARTED, started)?;
        Ok(journal)
    }

    /// Reopens an existing journal to append to it (what `recover` does), after checking it.
    /// A torn last line is cut off first: it is the remains of a write that never completed,
    /// not an entry, and the file must end on a whole line before anything is appended.
    ///
    /// # Errors
    /// [`JournalError`] when the journal cannot be read or is damaged beyond a torn tail.
    pub fn reopen(path: &Path) -> Result<Self, JournalError> {
        let read = read_journal(path)?;
        let write_err = |source| JournalError::Write {
            path: path.to_owned(),
            source,
        };
        if read.torn_tail {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(write_err)?;
            file.set_len(read.complete_len)
                .and_then(|()| file.sync_all())
                .map_err(write_err)?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(write_err)?;
        Ok(Self {
            path: path.to_owned(),
            file,
            next_seq: read.entries.last().map_or(0, |e| e.seq + 1),
        })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one typed event and returns only once it is on disk (written, then `fsync`ed).
    /// The line is the one [`Journal::append`] writes for the event's kind and payload.
    ///
    /// # Errors
    /// As [`Journal::append`].
    pub fn write(&mut self, at: DateTime<Utc>, event: &Event) -> Result<u64, JournalError> {
        let (kind, data) = event.to_parts().map_err(|source| JournalError::Serialise {
            kind: event.kind().to_owned(),
            source,
        })?;
        self.append(at, &kind, &data)
    }

    /// Appends one entry and returns only once it is on disk (written, then `fsync`ed).
    ///
    /// # Errors
    /// [`JournalError::Serialise`] for a payload JSON cannot hold; [`JournalError::Write`]
    /// when the write or sync fails — the caller must not go on with the step it announces.
    pub fn append(
        &mut self,
        at: DateTime<Utc>,
        kind: &str,
        data: &impl Serialize,
    ) -> Result<u64, JournalError> {
        let entry = Entry {
            seq: self.next_seq,
            at,
            kind: kind.to_owned(),
            data: serde_json::to_value(data).map_err(|source| JournalError::Serialise {
                kind: kind.to_owned(),
                source,
            })?,
        };
        let mut line = serde_json::to_vec(&entry).map_err(|source| JournalError::Serialise {
            kind: kind.to_owned(),
            source,
        })?;
        line.push(b'\n');
        // One write of the whole line: with O_APPEND a crash leaves at most a torn last line.
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| JournalError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.next_seq += 1;
        Ok(entry.seq)
    }
}

/// What reading a journal found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadJournal {
    /// Every complete entry, in order.
    pub entries: Vec<Entry>,
    /// Whether the last line was cut short (a crash mid-write); it is ignored.
    pub torn_tail: bool,
    /// Bytes up to the end of the last complete line.
    pub complete_len: u64,
}

impl ReadJournal {
    /// Whether the run ended (normally or closed by `recover`).
    pub fn is_finished(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.kind == RUN_FINISHED || e.kind == RUN_INTERRUPTED)
    }

    /// Whether the journal proves that nothing the run started can still be running: it ended,
    /// and its last closing entry (`run-finished`, `run-interrupted` or `run-recovered`) names
    /// no experiment that may still run. A `run-finished` with outcome `stop-failed`, or a
    /// recovery whose stop failed again, leaves the run to be recovered — by run tag, whatever
    /// else the journal says.
    pub fn is_settled(&self) -> bool {
        let Some(last) = self.entries.iter().rev().find(|e| {
            matches!(
                e.kind.as_str(),
                RUN_FINISHED | RUN_INTERRUPTED | RUN_RECOVERED
            )
        }) else {
            return false;
        };
        // A closing entry whose payload cannot be read proves nothing: not settled, so the run
        // is looked up by its tag.
        match last.event() {
            Ok(Some(Event::RunFinished(f))) => f.outcome != RunOutcome::StopFailed,
            Ok(Some(Event::RunInterrupted(RunInterrupted { stop_failed, .. })))
            | Ok(Some(Event::RunRecovered(RunRecovered { stop_failed, .. }))) => {
                stop_failed.is_empty()
            }
            _ => false,
        }
    }
}

/// One run directory's journal, read or not.
#[derive(Debug)]
pub struct RunJournal {
    /// The run id (the directory name).
    pub run_id: String,
    /// The journal file.
    pub path: PathBuf,
    /// What reading it gave; a damaged journal is kept as its error, never skipped.
    pub read: Result<ReadJournal, JournalError>,
}

/// Every run journal under `reports/*/`, sorted by run id. One damaged journal does not hide
/// the others: its error is kept in its [`RunJournal::read`].
pub fn run_journals(reports: &Path) -> Vec<RunJournal> {
    let Ok(dirs) = std::fs::read_dir(reports) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for dir in dirs.flatten() {
        let path = dir.path().join(JOURNAL_FILE);
        let Some(run_id) = dir.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if path.is_file() {
            let read = read_journal(&path);
            found.push(RunJournal { run_id, path, read });
        }
    }
    found.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    found
}

/// Reads a journal back.
///
/// # Errors
/// [`JournalError::Read`] when the file cannot be read; [`JournalError::Corrupt`] or
/// [`JournalError::Sequence`] (with the line) when a line other than a torn last one is wrong.
pub fn read_journal(path: &Path) -> Result<ReadJournal, JournalError> {
    let file = File::open(path).map_err(|source| JournalError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut entries: Vec<Entry> = Vec::new();
    let mut torn_tail = false;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut line = 0;
    let mut complete_len = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| JournalError::Read {
                path: path.to_owned(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        let complete = buf.last() == Some(&b'\n');
        if complete {
            complete_len += n as u64;
        }
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(text) {
            Ok(entry) => {
                let expected = entries.last().map_or(0, |e| e.seq + 1);
                if entry.seq != expected {
                    return Err(JournalError::Sequence {
                        path: path.to_owned(),
                        line,
                        found: entry.seq,
                        expected,
                    });
                }
                entries.push(entry);
            }
            // Only an unterminated last line can be the remains of a crash.
            Err(_) if !complete => {
                torn_tail = true;
            }
            Err(source) => {
                return Err(JournalError::Corrupt {
                    path: path.to_owned(),
                    line,
                    source,
                });
            }
        }
    }
    Ok(ReadJournal {
        entries,
        torn_tail,
        complete_len,
    })
}

/// Journals under `reports/*/` whose run never finished (crashed, killed, or still running).
///
/// # Errors
/// [`JournalError`] when a journal cannot be read or is damaged.
pub fn unfinished_runs(reports: &Path) -> Result<Vec<PathBuf>, JournalError> {
    let Ok(dirs) = std::fs::read_dir(reports) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for dir in dirs.flatten() {
        let path = dir.path().join(JOURNAL_FILE);
        if path.is_file() && !read_journal(&path)?.is_finished() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + s, 0).unwrap()
    }

    #[test]
    fn appends_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(
            dir.path(),
            "run-1",
            t(0),
            &serde_json::json!({"gameday": "g"}),
        )
        .unwrap();
        assert_eq!(
            j.append(
                t(1),
                "stage-intent",
                &serde_json::json!({"stage": "count-1"})
            )
            .unwrap(),
            1
        );
        j.append(
            t(2),
            "experiment-started",
            &serde_json::json!({"id": "EXP1"}),
        )
        .unwrap();
        let read = read_journal(j.path()).unwrap();
        assert!(!read.torn_tail);
        let kinds: Vec<&str> = read.entries.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, [RUN_STARTED, "stage-intent", "experiment-started"]);
        assert_eq!(read.entries[2].data["id"], "EXP1");
        assert_eq!(read.entries[2].at, t(2));
        assert!(!read.is_finished());
    }

    #[test]
    fn a_run_never_reuses_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        Journal::create(dir.path(), "run-1", t(0), &()).unwrap();
        let err = Journal::create(dir.path(), "run-1", t(1), &()).unwrap_err();
        assert_eq!(err.kind(), "journal_exists");
        assert_eq!(
            read_journal(&dir.path().join("run-1").join(JOURNAL_FILE))
                .unwrap()
                .entries
                .len(),
            1
        );
    }

    #[test]
    fn a_torn_last_line_is_tolerated_and_recovery_appends_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "run-1", t(0), &()).unwrap();
        j.append(
            t(1),
            "experiment-started",
            &serde_json::json!({"id": "EXP1"}),
        )
        .unwrap();
        let path = j.path().to_owned();
        drop(j);
        // A crash in the middle of writing the next entry.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"seq":2,"at":"2026-"#).unwrap();
        drop(f);
        let read = read_journal(&path).unwrap();
        assert!(read.torn_tail);
        assert_eq!(read.entries.len(), 2);
        assert_eq!(unfinished_runs(dir.path()).unwrap(), vec![path.clone()]);

        let mut j = Journal::reopen(&path).unwrap();
        assert_eq!(j.append(t(5), RUN_INTERRUPTED, &()).unwrap(), 2);
        let read = read_journal(&path).unwrap();
        assert!(read.is_finished());
        assert_eq!(read.entries.len(), 3);
        assert!(unfinished_runs(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn damage_before_the_last_line_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "run-1", t(0), &()).unwrap();
        j.append(t(1), "a", &()).unwrap();
        let path = j.path().to_owned();
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(1, "garbage");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let err = read_journal(&path).unwrap_err();
        assert!(
            err.to_string().ends_with(
                ":2: not a journal entry (the journal is damaged; gameday never rewrites it)"
            ),
            "{err}"
        );

        let spliced = format!(
            "{}\n{}\n",
            text.lines().next().unwrap(),
            text.lines().next().unwrap()
        );
        std::fs::write(&path, spliced).unwrap();
        assert_eq!(read_journal(&path).unwrap_err().kind(), "journal_sequence");
    }

    #[test]
    fn no_reports_directory_means_nothing_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            unfinished_runs(&dir.path().join("absent"))
                .unwrap()
                .is_empty()
        );
    }
}
