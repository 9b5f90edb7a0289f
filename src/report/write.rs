//! Writing a report: finding a run's journal, folding it, asking the model when configured, and
//! writing `postmortem.md`, `summary.json` and `charts/*.svg` into the run's directory.
//!
//! Input: a run id or journal path, or a [`RunRecord`] and [`ReportOptions`]. Output: the files
//! and their [`ReportPaths`]. Must not: call a model unless [`ReportOptions::llm`] is set, read
//! the clock (the render time is an option), or leave a half-written file (each file is written
//! beside its final name and renamed into place).

use std::path::{Path, PathBuf};

use super::context;
use super::error::ReportError;
use super::llm;
use super::render::{ReportOptions, render_with_history};
use crate::model::journal::{JOURNAL_FILE, read_journal};
use crate::model::record::RunRecord;

/// The post-mortem's file name in the run directory.
pub const POSTMORTEM_FILE: &str = "postmortem.md";
/// The summary's file name in the run directory.
pub const SUMMARY_FILE: &str = "summary.json";
/// The charts' directory in the run directory.
pub const CHARTS_DIR: &str = "charts";

/// What [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    /// `postmortem.md`.
    pub postmortem: PathBuf,
    /// `summary.json`.
    pub summary: PathBuf,
    /// The SVG charts.
    pub charts: Vec<PathBuf>,
}

/// The journal a `gameday report` argument names: a journal file, a run directory, or a run id
/// under `reports_dir`.
///
/// # Errors
/// [`ReportError::NoJournal`] naming the path looked at when there is none.
pub fn locate_journal(arg: &str, reports_dir: &Path) -> Result<PathBuf, ReportError> {
    let as_path = Path::new(arg);
    if as_path.is_file() {
        return Ok(as_path.to_owned());
    }
    if as_path.is_dir() && as_path.join(JOURNAL_FILE).is_file() {
        return Ok(as_path.join(JOURNAL_FILE));
    }
    let looks_like_path = arg.contains(std::path::MAIN_SEPARATOR) || arg.ends_with(".jsonl");
    let path = if looks_like_path {
        as_path.to_owned()
    } else {
        reports_dir.join(arg).join(JOURNAL_FILE)
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(ReportError::NoJournal {
            run_id: arg.to_owned(),
            path,
        })
    }
}

/// Reads a journal and folds it into a run (a torn last line, left by a crash, is ignored).
///
/// # Errors
/// [`ReportError::Journal`] when it cannot be read or is damaged, [`ReportError::Record`] when
/// it is not a run journal.
pub fn load_record(journal: &Path) -> Result<RunRecord, ReportError> {
    let read = read_journal(journal).map_err(|source| ReportError::Journal {
        path: journal.to_owned(),
        source,
    })?;
    RunRecord::from_entries(&read.entries).map_err(|source| ReportError::Record {
        path: journal.to_owned(),
        source,
    })
}

/// Renders `postmortem.md`, `summary.json` and `charts/*.svg` into `run_dir`, replacing
/// previous renders (charts no longer produced are removed). When [`ReportOptions::llm`] is
/// set, the model drafts the summary, findings and action items first; any failure there falls
/// back to the rule-based text with a note, never to an error.
///
/// # Errors
/// [`ReportError`] when rendering fails or a file cannot be written.
pub async fn write_report(
    run_dir: &Path,
    record: &RunRecord,
    opts: &ReportOptions,
) -> Result<ReportPaths, ReportError> {
    // The render time given is when rendering began; a model call can take minutes, so the
    // report says when it was actually rendered: that time plus the wait (tokio's clock).
    let asked = tokio::time::Instant::now();
    let drafted = match &opts.llm {
        Some(settings) => {
            let facts = context::facts_of(record);
            Some(llm::draft(&facts, settings).await)
        }
        None => None,
    };
    let mut opts = opts.clone();
    if drafted.is_some() {
        opts.rendered_at += chrono::Duration::from_std(asked.elapsed()).unwrap_or_default();
    }
    let opts = &opts;
    // The journals beside this one: the score and "Since last time" (`gameday history`).
    let history = run_dir
        .parent()
        .and_then(|reports| crate::history::command::run_history_in(reports, &record.start.run_id));
    let rendered = render_with_history(record, opts, drafted.as_ref(), history.as_ref())?;

    let charts_dir = run_dir.join(CHARTS_DIR);
    create_dir(&charts_dir).await?;
    remove_stale_charts(&charts_dir).await?;
    let mut charts = Vec::with_capacity(rendered.charts.len());
    for c in &rendered.charts {
        let path = run_dir.join(&c.file_name);
        write_atomic(&path, c.svg.as_bytes()).await?;
        charts.push(path);
    }
    let summary = run_dir.join(SUMMARY_FILE);
    write_atomic(&summary, rendered.summary.as_bytes()).await?;
    let postmortem = run_dir.join(POSTMORTEM_FILE);
    write_atomic(&postmortem, rendered.postmortem.as_bytes()).await?;
    Ok(ReportPaths {
        postmortem,
        summary,
        charts,
    })
}

async fn create_dir(dir: &Path) -> Result<(), ReportError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|source| ReportError::Write {
            path: dir.to_owned(),
            source,
        })
}

async fn remove_stale_charts(dir: &Path) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: dir.to_owned(),
        source,
    };
    let mut entries = tokio::fs::read_dir(dir).await.map_err(err)?;
    while let Some(e) = entries.next_entry().await.map_err(err)? {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "svg") {
            tokio::fs::remove_file(&path)
                .await
                .map_err(|source| ReportError::Write { path, source })?;
        }
    }
    Ok(())
}

async fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    tokio::fs::write(&tmp, bytes).await.map_err(err)?;
    tokio::fs::rename(&tmp, path).await.map_err(err)
}
