//! One run per target at a time, and a marker that a run is alive.
//!
//! Input: the reports directory, a run id and the targets a run touches. Output: held locks
//! that release when dropped — or when the process dies, because they are OS advisory locks
//! (`flock`) on files, not marker files: a crashed run cannot leave one stuck. Must not: block
//! (a busy target is an error naming the run that holds it) or delete lock files another
//! process may hold.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

/// Directory under `reports/` holding the per-target lock files.
const LOCK_DIR: &str = ".locks";
/// The file inside a run directory that the live run holds locked.
pub const RUN_LOCK_FILE: &str = "run.lock";

/// A lock that could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the target.
    #[error(
        "target {target} is busy: {holder} holds it; wait for that run to finish (or run \
         `gameday recover` if it crashed — its lock is released when its process is gone)"
    )]
    Busy {
        /// The target.
        target: String,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// The lock file could not be opened or written.
    #[error("failed to lock {}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl LockError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Busy { .. } => "lock_busy",
            Self::Io { .. } => "lock_io",
        }
    }
}

/// Locks held by a run; released on drop.
#[derive(Debug)]
pub struct HeldLocks {
    files: Vec<(PathBuf, File)>,
}

impl HeldLocks {
    /// The lock files held.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(p, _)| p.as_path())
    }
}

/// A lock file name for a target: safe characters only, readable.
fn file_name(target: &str) -> String {
    let safe: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.lock")
}

fn try_lock(path: &Path, target: &str, holder: &str) -> Result<File, LockError> {
    let io = |source| LockError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut who = String::new();
            let _ = file.read_to_string(&mut who);
            return Err(LockError::Busy {
                target: target.to_owned(),
                holder: if who.trim().is_empty() {
                    "another process".to_owned()
                } else {
                    who.trim().to_owned()
                },
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Say who holds it, for the next one's error message.
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(holder.as_bytes()).map_err(io)?;
    Ok(file)
}

/// Locks the run's own directory marker and every target, all or nothing.
///
/// # Errors
/// [`LockError::Busy`] naming the holder when a target is locked by another run.
pub fn acquire(reports: &Path, run_id: &str, targets: &[String]) -> Result<HeldLocks, LockError> {
    let holder = format!("run {run_id} (pid {})", std::process::id());
    let mut files = Vec::new();
    let run_lock = reports.join(run_id).join(RUN_LOCK_FILE);
    files.push((run_lock.clone(), try_lock(&run_lock, run_id, &holder)?));
    let mut sorted: Vec<&String> = targets.iter().collect();
    sorted.sort();
    sorted.dedup();
    for t in sorted {
        let path = reports.join(LOCK_DIR).join(file_name(t));
        files.push((path.clone(), try_lock(&path, t, &holder)?));
    }
    Ok(HeldLocks { files })
}

/// Whether a live process holds the run's marker lock (so `recover` must leave it alone).
///
/// # Errors
/// [`LockError::Io`] when the marker exists but cannot be opened.
pub fn run_is_alive(reports: &Path, run_id: &str) -> Result<bool, LockError> {
    let path = reports.join(run_id).join(RUN_LOCK_FILE);
    if !path.exists() {
        return Ok(false);
    }
    let file = File::open(&path).map_err(|source| LockError::Io {
        path: path.clone(),
        source,
    })?;
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
    }
}

/// The run's marker lock, held exclusively by `recover` while it recovers the run.
#[derive(Debug)]
pub struct RecoveryLock {
    _file: File,
}

/// Takes the run's marker lock exclusively for recovery, without blocking. `Ok(Err(holder))`
/// when a live run or another `recover` holds it: two recoveries never write one journal.
///
/// # Errors
/// [`LockError::Io`] when the marker cannot be created or opened.
pub fn lock_for_recovery(
    reports: &Path,
    run_id: &str,
) -> Result<Result<RecoveryLock, String>, LockError> {
    let path = reports.join(run_id).join(RUN_LOCK_FILE);
    let holder = format!("recover of run {run_id} (pid {})", std::process::id());
    match try_lock(&path, run_id, &holder) {
        Ok(file) => Ok(Ok(RecoveryLock { _file: file })),
        Err(LockError::Busy { holder, .. }) => Ok(Err(holder)),
        Err(e) => Err(e),
    }
}

/// The lock key of a pod target: one run per cluster, namespace and selector.
pub fn target_key(cluster: &str, namespace: &str, selector: &str) -> String {
    format!("{cluster}.{namespace}.{selector}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_held_once_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = vec![target_key("staging-eks", "shop", "app=checkout")];
        let held = acquire(dir.path(), "r1", &t).expect("free");
        assert!(run_is_alive(dir.path(), "r1").expect("readable"));
        let err = acquire(dir.path(), "r2", &t).expect_err("busy");
        assert_eq!(err.kind(), "lock_busy");
        assert!(err.to_string().contains("run r1"), "{err}");
        drop(held);
        assert!(!run_is_alive(dir.path(), "r1").expect("readable"));
        acquire(dir.path(), "r2", &t).expect("free again");
    }

    #[test]
    fn issue_13_recovery_holds_the_run_lock_exclusively() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("r1")).expect("run dir");
        let first = lock_for_recovery(dir.path(), "r1")
            .expect("io")
            .expect("free");
        let busy = lock_for_recovery(dir.path(), "r1")
            .expect("io")
            .expect_err("held by the first recovery");
        assert!(busy.contains("recover of run r1"), "{busy}");
        assert!(run_is_alive(dir.path(), "r1").expect("readable"));
        drop(first);
        lock_for_recovery(dir.path(), "r1")
            .expect("io")
            .expect("free again");
        // A live run's lock keeps recovery out too.
        let held = acquire(dir.path(), "r2", &[]).expect("free");
        assert!(lock_for_recovery(dir.path(), "r2").expect("io").is_err());
        drop(held);
    }

    #[test]
    fn unknown_runs_are_not_alive_and_names_are_safe() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!run_is_alive(dir.path(), "nope").expect("fine"));
        assert_eq!(file_name("a/b c=d"), "a_b_c_d.lock");
    }
}
