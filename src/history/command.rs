//! `gameday history`, and the history reading `mine`, `plan` and `report` share.
//!
//! Input: parsed arguments. Output: the history as a table, JSON or markdown (with SVG charts
//! beside `--out`), or the standings for the planner. Must not: write anything but `--out` and
//! its charts.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};

use super::collect::{ClassStanding, History, RunHistory, history, run_history, standings};
use super::fold::{DEFAULT_RECOVERY_FACTOR, HistoryOptions};
use super::read::{read_runs, read_schedule};
use super::render::{TrendChart, render_markdown, render_table};
use super::score::MinedClass;
use crate::error::{EXIT_OK, Error};

// The scheduler's default state directory (read only when it exists).
use crate::model::schedule::DEFAULT_STATE_DIR;

/// `gameday history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Directory holding one directory per run (their `journal.jsonl` is read, never the
    /// markdown).
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub reports_dir: PathBuf,
    /// Only runs that started within this long before now (e.g. `90d`) [default: every run].
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Only this service (repeatable) [default: every service a run exercised].
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
    pub format: HistoryFormat,
    /// Write to this file instead of stdout (markdown: the SVG charts go to
    /// `history-charts/` beside it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Incident catalogue (`gameday mine --format json`): class priorities weigh the score
    /// [default: the priorities the runs' scenario files recorded, else equal weights].
    #[arg(long, value_name = "FILE")]
    pub incidents: Option<PathBuf>,
    /// The scheduler's state directory: its runs that left no journal are listed too
    /// [default: .gameday/state, when it exists].
    #[arg(long, env = "GAMEDAY_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// How long a passing run keeps a class verified.
    #[arg(long, default_value = "30d", value_name = "DURATION")]
    pub validity: String,
    /// A recovery at least this many times the median of the earlier passes is a regression.
    #[arg(long, default_value_t = DEFAULT_RECOVERY_FACTOR, value_name = "FACTOR")]
    pub recovery_factor: f64,
    /// "Now", RFC 3339 (for reproducible output) [default: the current time].
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<DateTime<Utc>>,
}

/// Output formats of `gameday history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// A terminal table.
    Table,
    /// The whole history as JSON (schema version in `schema_version`).
    Json,
    /// Markdown with SVG trend charts.
    Markdown,
}

fn duration(flag: &str, text: &str) -> Result<chrono::Duration, Error> {
    let d =
        crate::config::parse_duration(text).map_err(|m| Error::Usage(format!("{flag}: {m}")))?;
    chrono::Duration::from_std(d).map_err(|_| Error::Usage(format!("{flag}: {text} is too long")))
}

/// The mined classes of a catalogue file.
///
/// # Errors
/// [`Error::Read`] or [`Error::Usage`] when the file cannot be read or is not a catalogue.
pub fn mined_of_catalogue(path: &Path) -> Result<Vec<MinedClass>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let catalogue: crate::mine::Catalogue = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{}:{}:{}: not an incident catalogue (write one with `gameday mine --format json`): {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    Ok(mined_of(&catalogue))
}

/// The mined classes of a catalogue.
pub fn mined_of(catalogue: &crate::mine::Catalogue) -> Vec<MinedClass> {
    catalogue
        .classes
        .iter()
        .map(|c| MinedClass {
            class: c.class.clone(),
            priority: Some(c.priority),
            services: c.services.clone(),
        })
        .collect()
}

/// Runs `gameday history`.
///
/// # Errors
/// [`Error::Usage`] for a bad flag or catalogue, [`Error::Write`] when `--out` or a chart
/// cannot be written. Unreadable journals are warnings, not errors.
pub fn show_history(args: &HistoryArgs, trend_chart: TrendChart) -> Result<i32, Error> {
    let now = args.now.unwrap_or_else(Utc::now);
    let mut opts = HistoryOptions::new(now);
    opts.validity = duration("--validity", &args.validity)?;
    if !(args.recovery_factor.is_finite() && args.recovery_factor > 1.0) {
        return Err(Error::Usage(
            "--recovery-factor must be a number above 1".to_owned(),
        ));
    }
    opts.recovery_factor = args.recovery_factor;
    opts.since = args
        .since
        .as_deref()
        .map(|s| duration("--since", s).map(|d| now - d))
        .transpose()?;
    opts.services.clone_from(&args.services);
    let mined = match &args.incidents {
        Some(p) => mined_of_catalogue(p)?,
        None => Vec::new(),
    };
    let mut loaded = read_runs(&args.reports_dir);
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    read_schedule(&state_dir, &mut loaded);
    let h = history(&loaded, &mined, &opts);
    let text = match args.format {
        HistoryFormat::Table => render_table(&h),
        HistoryFormat::Json => {
            let mut t = serde_json::to_string_pretty(&h)
                .map_err(|e| Error::Usage(format!("failed to serialise the history: {e}")))?;
            t.push('\n');
            t
        }
        HistoryFormat::Markdown => markdown(&h, args.out.as_deref(), trend_chart)?,
    };
    write(args.out.as_deref(), &text)?;
    Ok(EXIT_OK)
}

fn markdown(h: &History, out: Option<&Path>, trend_chart: TrendChart) -> Result<String, Error> {
    let (text, charts) = render_markdown(h, trend_chart);
    let Some(out) = out else {
        if !charts.is_empty() {
            tracing::info!("the trend charts are written only with --out");
        }
        return Ok(text);
    };
    let dir = out.parent().unwrap_or(Path::new("."));
    for (name, svg) in &charts {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&path, svg).map_err(|source| Error::Write { path, source })?;
    }
    Ok(text)
}

fn write(out: Option<&Path>, text: &str) -> Result<(), Error> {
    match out {
        Some(path) => std::fs::write(path, text).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        }),
        None => {
            use std::io::Write as _;
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            Ok(())
        }
    }
}

/// The standings `mine` and `plan` rank by, from the journals under `reports_dir`; `None` when
/// no run has exercised anything yet (the catalogue's own ranking stands then).
pub fn planning_standings(reports_dir: &Path, now: DateTime<Utc>) -> Option<Vec<ClassStanding>> {
    let loaded = read_runs(reports_dir);
    let h = history(&loaded, &[], &HistoryOptions::new(now));
    if h.records.is_empty() {
        None
    } else {
        tracing::info!(
            runs = h.runs.len(),
            classes = h.records.len(),
            "ranking by the GameDay run history"
        );
        Some(standings(&h))
    }
}

/// The history a run's report shows (scores after it, "Since last time"), from the journals
/// beside its own under `reports_dir` (default validity and recovery factor).
pub fn run_history_in(reports_dir: &Path, run_id: &str) -> Option<RunHistory> {
    let loaded = read_runs(reports_dir);
    run_history(
        &loaded.runs,
        run_id,
        &[],
        chrono::Duration::days(super::fold::DEFAULT_VALIDITY_DAYS),
        DEFAULT_RECOVERY_FACTOR,
    )
}
