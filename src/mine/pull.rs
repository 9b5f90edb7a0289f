//! Pulling evidence out of CloudWatch Logs without losing any: Logs Insights in time slices.
//!
//! Input: a [`LogSource`], log groups, a time range and [`PullOptions`]. Output: every matching
//! [`LogEvent`], sorted by time, each exactly once. Must not: classify (the server-side filter is
//! an optimisation only — the emulator ignores it, and `mine` classifies on our side anyway).
//!
//! Insights answers at most 10,000 rows per query. The range is cut into slices; a slice whose
//! answer reaches the cap is split in half and queried again, until none does. A one-second
//! slice that still reaches the cap is read with FilterLogEvents instead (no cap, paged), so no
//! event is lost. Queries run concurrently, bounded under the account's concurrent-query limit,
//! and a throttled or over-limit query is retried with exponential backoff.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::LogEvent;
use crate::provider::{LogSource, ProviderError};

/// Insights' documented row cap per query.
pub const INSIGHTS_ROW_CAP: usize = 10_000;
/// Retries for a throttled or over-limit query before giving up.
const MAX_RETRIES: u32 = 6;
/// First backoff; doubles each retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Log groups (at most 50 per query, per the API).
    pub log_groups: Vec<String>,
    /// Start, epoch seconds (inclusive).
    pub start_s: i64,
    /// End, epoch seconds (exclusive).
    pub end_s: i64,
    /// Query text (see [`super::insights_query`]).
    pub query: String,
    /// Rows per query at which a slice is split (the service's cap; lower it in tests).
    pub row_cap: usize,
    /// Length of the first slices.
    pub initial_slice: Duration,
    /// Queries in flight at once.
    pub max_concurrent: usize,
}

/// A pull failure.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// A query failed after its retries.
    #[error("failed to query log groups {groups} for {start_s}..{end_s}")]
    Query {
        /// The groups, comma-separated.
        groups: String,
        /// Slice start, epoch seconds.
        start_s: i64,
        /// Slice end, epoch seconds.
        end_s: i64,
        /// The provider error.
        #[source]
        source: ProviderError,
    },
    /// A query ended in a status other than Complete.
    #[error("logs insights query for {start_s}..{end_s} ended {status}")]
    Incomplete {
        /// Slice start.
        start_s: i64,
        /// Slice end.
        end_s: i64,
        /// The terminal status.
        status: String,
    },
}

impl PullError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Query { .. } => "pull_query",
            Self::Incomplete { .. } => "pull_incomplete",
        }
    }
}

/// Progress callbacks (a progress bar in the CLI, nothing in tests).
pub trait PullProgress: Send + Sync {
    /// `n` more slices are queued.
    fn queued(&self, n: u64);
    /// One slice finished with `events` events.
    fn finished(&self, events: u64);
}

/// No progress output.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl PullProgress for NoProgress {
    fn queued(&self, _n: u64) {}
    fn finished(&self, _events: u64) {}
}

/// What one slice came back with.
enum SliceOutcome {
    Events(Vec<LogEvent>),
    Split(i64, i64, i64),
}

fn is_retryable(e: &ProviderError) -> bool {
    matches!(
        e.code(),
        Some(
            "ThrottlingException"
                | "Throttling"
                | "LimitExceededException"
                | "ServiceUnavailableException"
                | "TooManyRequestsException"
        )
    )
}

/// Parses Insights' `@timestamp` (`2025-03-04 10:15:42.123`, UTC) or epoch milliseconds.
pub fn parse_insights_timestamp(text: &str) -> Option<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
        .or_else(|| super::parse_timestamp_ms(text))
}

async fn query_slice<S: LogSource>(
    source: &S,
    opts: &PullOptions,
    start_s: i64,
    end_s: i64,
) -> Result<SliceOutcome, PullError> {
    let failed = |source| PullError::Query {
        groups: opts.log_groups.join(","),
        start_s,
        end_s,
        source,
    };
    if end_s - start_s <= 1 {
        // Cannot split a second: read it without a cap.
        let mut events = Vec::new();
        for group in &opts.log_groups {
            let got = retry(|| source.filter_events(group, start_s * 1000, end_s * 1000, None))
                .await
                .map_err(failed)?;
            let (lo, hi) = (start_s * 1000, end_s * 1000);
            events.extend(
                got.into_iter()
                    .filter(|e| (lo..hi).contains(&e.timestamp_ms)),
            );
        }
        return Ok(SliceOutcome::Events(events));
    }
    let limit = i32::try_from(opts.row_cap).unwrap_or(i32::MAX);
    // Both ends of StartQuery are inclusive seconds; ask for [start, end] and keep [start, end)
    // in milliseconds, so slices never overlap whatever the server does with the last second.
    let res = retry(|| source.insights_query(&opts.log_groups, &opts.query, start_s, end_s, limit))
        .await
        .map_err(failed)?;
    if res.status != "Complete" {
        return Err(PullError::Incomplete {
            start_s,
            end_s,
            status: res.status,
        });
    }
    if res.rows.len() >= opts.row_cap {
        let mid = start_s + (end_s - start_s) / 2;
        return Ok(SliceOutcome::Split(start_s, mid, end_s));
    }
    let (lo, hi) = (start_s * 1000, end_s * 1000);
    let events = res
        .rows
        .into_iter()
        .filter_map(|row| {
            let timestamp_ms = parse_insights_timestamp(row.get("@timestamp")?)?;
            (lo..hi).contains(&timestamp_ms).then(|| LogEvent {
                timestamp_ms,
                message: row.get("@message").cloned().unwrap_or_default(),
                log_stream: row.get("@logStream").cloned(),
                // `@log` is `account:group`.
                log_group: row
                    .get("@log")
                    .map(|l| l.split_once(':').map_or(l.as_str(), |(_, g)| g).to_owned()),
            })
        })
        .collect();
    Ok(SliceOutcome::Events(events))
}

async fn retry<T, F, Fut>(mut call: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut wait = FIRST_BACKOFF;
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if is_retryable(&e) && attempt < MAX_RETRIES => {
                tracing::debug!(code = ?e.code(), ?wait, "throttled; backing off");
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Pulls every event in `[start_s, end_s)` from the groups, sorted by time, each exactly once.
///
/// # Errors
/// [`PullError`] when a query fails after its retries; nothing partial is returned.
pub async fn pull_events<S, P>(
    source: &S,
    opts: &PullOptions,
    progress: &Arc<P>,
) -> Result<Vec<LogEvent>, PullError>
where
    S: LogSource + Clone + Send + Sync + 'static,
    P: PullProgress + 'static,
{
    let mut opts = opts.clone();
    // Slices never overlap, so the only source of duplicates is a group listed twice.
    let mut seen = BTreeSet::new();
    opts.log_groups.retain(|g| seen.insert(g.clone()));
    let opts = Arc::new(opts);
    let permits = Arc::new(Semaphore::new(opts.max_concurrent.max(1)));
    let step = i64::try_from(opts.initial_slice.as_secs().max(1)).unwrap_or(i64::MAX);
    let mut tasks = JoinSet::new();
    let spawn = |tasks: &mut JoinSet<_>, start: i64, end: i64| {
        let (source, opts, permits) = (source.clone(), Arc::clone(&opts), Arc::clone(&permits));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            query_slice(&source, &opts, start, end).await
        });
    };
    let mut start = opts.start_s;
    let mut queued = 0;
    while start < opts.end_s {
        let end = start.saturating_add(step).min(opts.end_s);
        spawn(&mut tasks, start, end);
        queued += 1;
        start = end;
    }
    progress.queued(queued);
    let mut events = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let outcome = match joined {
            Ok(outcome) => outcome,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        match outcome {
            Ok(SliceOutcome::Events(found)) => {
                progress.finished(found.len() as u64);
                events.extend(found);
            }
            Ok(SliceOutcome::Split(a, mid, b)) => {
                tracing::debug!(start = a, end = b, "slice reached the row cap; splitting");
                spawn(&mut tasks, a, mid);
                spawn(&mut tasks, mid, b);
                progress.queued(2);
                progress.finished(0);
            }
            Err(e) => {
                tasks.abort_all();
                return Err(e);
            }
        }
    }
    events.sort_by(|a, b| {
        (a.timestamp_ms, &a.log_group, &a.log_stream, &a.message).cmp(&(
            b.timestamp_ms,
            &b.log_group,
            &b.log_stream,
            &b.message,
        ))
    });
    Ok(events)
}

/// Reads every event in `[start_s, end_s)` with FilterLogEvents paging, group by group (the
/// streaming path: no row cap, no server-side filter, but FilterLogEvents is limited to 5
/// requests per second per account). Sorted by time.
///
/// # Errors
/// [`PullError`] when a page fails after its retries.
pub async fn stream_events<S, P>(
    source: &S,
    opts: &PullOptions,
    progress: &Arc<P>,
) -> Result<Vec<LogEvent>, PullError>
where
    S: LogSource,
    P: PullProgress,
{
    let mut groups = opts.log_groups.clone();
    let mut seen = BTreeSet::new();
    groups.retain(|g| seen.insert(g.clone()));
    progress.queued(groups.len() as u64);
    let (lo, hi) = (opts.start_s * 1000, opts.end_s * 1000);
    let mut events = Vec::new();
    for group in &groups {
        let found = retry(|| source.filter_events(group, lo, hi, None))
            .await
            .map_err(|source| PullError::Query {
                groups: group.clone(),
                start_s: opts.start_s,
                end_s: opts.end_s,
                source,
            })?;
        let before = events.len();
        events.extend(
            found
                .into_iter()
                .filter(|e| (lo..hi).contains(&e.timestamp_ms)),
        );
        progress.finished((events.len() - before) as u64);
    }
    events.sort_by_key(|e| e.timestamp_ms);
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insights_timestamps_parse_in_both_forms() {
        assert_eq!(
            parse_insights_timestamp("1700000000123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            parse_insights_timestamp("2023-11-14 22:13:20.123"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_insights_timestamp("yesterday"), None);
    }

    #[test]
    fn throttling_codes_are_retryable() {
        let e = ProviderError::Call {
            operation: "logs:StartQuery",
            code: Some("LimitExceededException".into()),
            source: "x".into(),
        };
        assert!(is_retryable(&e));
        let e = ProviderError::Call {
            operation: "logs:StartQuery",
            code: Some("MalformedQueryException".into()),
            source: "x".into(),
        };
        assert!(!is_retryable(&e));
    }
}
