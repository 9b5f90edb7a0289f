//! The run history: `<state-dir>/history.jsonl`, append-only, one fsync'd JSON record a line,
//! behind an advisory lock so two schedulers never share a state directory.
//!
//! Input: records from the serve loop. Output: the records, and the index the loop asks
//! "was this scheduled instant of this entry already decided?". Must not: rewrite or reorder
//! records (only a torn fragment after the last newline, which a crash can leave, is cut off on
//! open), or read the clock (times come from the caller).
//!
//! Exactly-once: a `fired` (or `skipped`) record keyed on (entry, scheduled UTC instant) is
//! on disk before the run is launched, so a restart never fires that instant again — even when
//! the daemon died mid-run (the run then has no `finished` record; `gameday recover` closes
//! its journal). The lock is `flock`-style (`File::try_lock`): the OS drops it when the holder
//! exits, so a crashed daemon never leaves a stale lock behind.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::error::ScheduleError;

pub use crate::model::schedule::{
    DEFAULT_STATE_DIR, HISTORY_FILE, HistoryRecord, LOCK_FILE, RunOutcome, SkipReason,
};

/// What the history says about one scheduled instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// Fired with this run id (and finished, when the outcome is known).
    Fired {
        /// Run id.
        run_id: String,
        /// Outcome, once finished.
        outcome: Option<RunOutcome>,
    },
    /// Skipped.
    Skipped(SkipReason),
}

/// The open, locked history of one state directory.
#[derive(Debug)]
pub struct HistoryStore {
    path: PathBuf,
    file: File,
    _lock: File,
    created: DateTime<Utc>,
    records: Vec<HistoryRecord>,
    decided: BTreeMap<(String, DateTime<Utc>), Decided>,
}

impl HistoryStore {
    /// Opens (creating if needed) the history under `dir` and takes its lock. A new history
    /// starts with a `created` record at `now`.
    ///
    /// # Errors
    /// [`ScheduleError::StateLocked`] when another process holds the lock;
    /// [`ScheduleError::State`] for I/O failures; [`ScheduleError::HistoryCorrupt`] for a
    /// damaged line that is not a torn tail.
    pub fn open(dir: &Path, now: DateTime<Utc>) -> Result<Self, ScheduleError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| ScheduleError::State { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ScheduleError::StateLocked {
                    dir: dir.to_owned(),
                    lock: lock_path,
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(ScheduleError::State {
                    path: lock_path,
                    source,
                });
            }
        }
        let path = dir.join(HISTORY_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let (records, valid_len, total_len) = read_records(&path, &file)?;
        if valid_len < total_len {
            tracing::warn!(
                path = %path.display(),
                cut_bytes = total_len - valid_len,
                "history ends in a torn record (a crash mid-write): cutting it off"
            );
            file.set_len(valid_len).map_err(io(&path))?;
            file.seek(SeekFrom::End(0)).map_err(io(&path))?;
        }
        let mut store = Self {
            path,
            file,
            _lock: lock,
            created: now,
            records: Vec::new(),
            decided: BTreeMap::new(),
        };
        if records.is_empty() {
            store.append(HistoryRecord::Created { at: now })?;
        } else {
            for r in records {
                store.index(&r);
                store.records.push(r);
            }
        }
        Ok(store)
    }

    /// The history file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// When the history was created: fire times before it were never watched, so they are
    /// never "missed".
    pub fn created(&self) -> DateTime<Utc> {
        self.created
    }

    /// Every record, oldest first.
    pub fn records(&self) -> &[HistoryRecord] {
        &self.records
    }

    /// What was decided for `(entry, scheduled_at)`, if anything.
    pub fn decided(&self, entry: &str, scheduled_at: DateTime<Utc>) -> Option<&Decided> {
        self.decided.get(&(entry.to_owned(), scheduled_at))
    }

    /// Runs with a `fired` record and no `finished` one (the daemon died under them).
    pub fn unfinished(&self) -> Vec<(String, DateTime<Utc>, String)> {
        self.decided
            .iter()
            .filter_map(|((entry, at), d)| match d {
                Decided::Fired {
                    run_id,
                    outcome: None,
                } => Some((entry.clone(), *at, run_id.clone())),
                _ => None,
            })
            .collect()
    }

    /// Appends a record and fsyncs it before returning.
    ///
    /// # Errors
    /// [`ScheduleError::State`] when the write or the sync fails.
    pub fn append(&mut self, record: HistoryRecord) -> Result<(), ScheduleError> {
        let mut line = serde_json::to_string(&record).map_err(|e| ScheduleError::State {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push('\n');
        let io = |source| ScheduleError::State {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.index(&record);
        self.records.push(record);
        Ok(())
    }

    fn index(&mut self, record: &HistoryRecord) {
        match record {
            HistoryRecord::Created { at } => self.created = *at,
            HistoryRecord::Started { .. } => {}
            HistoryRecord::Fired {
                entry,
                scheduled_at,
                run_id,
                ..
            } => {
                self.decided.insert(
                    (entry.clone(), *scheduled_at),
                    Decided::Fired {
                        run_id: run_id.clone(),
                        outcome: None,
                    },
                );
            }
            HistoryRecord::Skipped {
                entry,
                scheduled_at,
                reason,
                ..
            } => {
                self.decided
                    .entry((entry.clone(), *scheduled_at))
                    .or_insert(Decided::Skipped(*reason));
            }
            HistoryRecord::Finished {
                entry,
                scheduled_at,
                run_id,
                outcome,
                ..
            } => {
                self.decided.insert(
                    (entry.clone(), *scheduled_at),
                    Decided::Fired {
                        run_id: run_id.clone(),
                        outcome: Some(*outcome),
                    },
                );
            }
        }
    }
}

/// Reads every complete record; returns them, the length of the valid prefix and the file
/// length. Only the last line may be damaged (torn); any other bad line is an error.
fn read_records(path: &Path, file: &File) -> Result<(Vec<HistoryRecord>, u64, u64), ScheduleError> {
    let io = |source| ScheduleError::State {
        path: path.to_owned(),
        source,
    };
    let total = file.metadata().map_err(io)?.len();
    let mut reader = BufReader::new(file);
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut records = Vec::new();
    let mut valid = 0u64;
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.ends_with(b"\n");
        let text = String::from_utf8_lossy(&buf);
        if text.trim().is_empty() {
            valid += n as u64;
            continue;
        }
        match serde_json::from_str::<HistoryRecord>(text.trim_end()) {
            Ok(r) if complete => {
                records.push(r);
                valid += n as u64;
            }
            // A complete-looking record without its newline is still a torn write.
            Ok(_) => break,
            Err(source) => {
                let is_last = valid + n as u64 >= total;
                if is_last {
                    break;
                }
                return Err(ScheduleError::HistoryCorrupt {
                    path: path.to_owned(),
                    line: line_no,
                    source,
                });
            }
        }
    }
    Ok((records, valid, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn fired(entry: &str, at: &str, run: &str) -> HistoryRecord {
        HistoryRecord::Fired {
            entry: entry.into(),
            scheduled_at: t(at),
            at: t(at),
            run_id: run.into(),
            late: false,
            targets: vec!["c/ns/svc".into()],
        }
    }

    #[test]
    fn records_survive_a_reopen_and_index_by_entry_and_instant() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut s = HistoryStore::open(dir.path(), t("2026-01-01T00:00:00Z")).expect("open");
            s.append(fired("a", "2026-01-06T10:00:00Z", "r1"))
                .expect("append");
            s.append(HistoryRecord::Skipped {
                entry: "b".into(),
                scheduled_at: t("2026-01-06T10:00:00Z"),
                at: t("2026-01-06T10:00:00Z"),
                reason: SkipReason::Blackout,
                detail: "freeze".into(),
            })
            .expect("append");
        }
        let s = HistoryStore::open(dir.path(), t("2026-02-01T00:00:00Z")).expect("reopen");
        assert_eq!(s.created(), t("2026-01-01T00:00:00Z"), "created is kept");
        assert_eq!(s.records().len(), 3);
        assert_eq!(
            s.decided("a", t("2026-01-06T10:00:00Z")),
            Some(&Decided::Fired {
                run_id: "r1".into(),
                outcome: None
            })
        );
        assert_eq!(
            s.decided("b", t("2026-01-06T10:00:00Z")),
            Some(&Decided::Skipped(SkipReason::Blackout))
        );
        assert_eq!(s.decided("a", t("2026-01-13T10:00:00Z")), None);
        assert_eq!(s.unfinished().len(), 1);
    }

    #[test]
    fn a_second_store_on_the_same_dir_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = HistoryStore::open(dir.path(), Utc::now()).expect("open");
        let err = HistoryStore::open(dir.path(), Utc::now()).expect_err("locked");
        assert_eq!(err.kind(), "schedule_state_locked");
        drop(first);
        HistoryStore::open(dir.path(), Utc::now()).expect("lock released with the holder");
    }

    #[test]
    fn a_torn_last_line_is_cut_and_a_damaged_middle_line_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut s = HistoryStore::open(dir.path(), t("2026-01-01T00:00:00Z")).expect("open");
            s.append(fired("a", "2026-01-06T10:00:00Z", "r1"))
                .expect("append");
        }
        let path = dir.path().join(HISTORY_FILE);
        let good = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, format!("{good}{{\"record\":\"fired\",\"ent")).expect("tear");
        {
            let mut s = HistoryStore::open(dir.path(), Utc::now()).expect("torn tail tolerated");
            assert_eq!(s.records().len(), 2);
            s.append(fired("a", "2026-01-13T10:00:00Z", "r2"))
                .expect("append");
        }
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 3, "the torn fragment is gone: {text}");
        std::fs::write(&path, format!("{good}garbage\n{good}")).expect("damage");
        let err = HistoryStore::open(dir.path(), Utc::now()).expect_err("damaged");
        assert!(err.to_string().contains(":3:"), "{err}");
    }
}
