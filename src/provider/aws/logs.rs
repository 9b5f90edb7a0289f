//! [`LogSource`] over `aws-sdk-cloudwatchlogs`.
//!
//! Input: log groups, time ranges (FilterLogEvents in epoch **milliseconds**, StartQuery in epoch
//! **seconds**), query text. Output: [`LogRecord`]s and Insights rows. Must not: classify —
//! mining happens on our side because servers (and the emulator) may ignore filters.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::{InputLogEvent, QueryStatus};

use super::{AwsClients, call_error};
use crate::provider::{InsightsResult, LogEvent, LogSource, ProviderError, ProviderResult};

/// Longest we wait for one Insights query before stopping it (AWS allows 60 minutes).
const INSIGHTS_DEADLINE: Duration = Duration::from_secs(15 * 60);
/// First poll interval for GetQueryResults; doubles up to [`INSIGHTS_MAX_POLL`].
const INSIGHTS_FIRST_POLL: Duration = Duration::from_millis(200);
/// Longest poll interval.
const INSIGHTS_MAX_POLL: Duration = Duration::from_secs(2);
/// PutLogEvents takes at most this many events per call.
const MAX_EVENTS_PER_PUT: usize = 10_000;

impl LogSource for AwsClients {
    async fn filter_events(
        &self,
        log_group: &str,
        start_ms: i64,
        end_ms: i64,
        filter_pattern: Option<&str>,
    ) -> ProviderResult<Vec<LogEvent>> {
        const OP: &str = "logs:FilterLogEvents";
        let mut found = Vec::new();
        // Pages may be empty while a token is still present: the paginator stops only when the
        // token is missing or empty (or repeats).
        let mut pages = self
            .logs
            .filter_log_events()
            .log_group_name(log_group)
            .start_time(start_ms)
            .end_time(end_ms)
            .set_filter_pattern(filter_pattern.map(str::to_owned))
            .into_paginator()
            .send();
        while let Some(out) = pages.next().await {
            let out = out.map_err(|e| call_error(OP, e))?;
            found.extend(out.events().iter().map(|e| LogEvent {
                timestamp_ms: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().to_owned(),
                log_stream: e.log_stream_name().map(str::to_owned),
                log_group: Some(log_group.to_owned()),
            }));
        }
        Ok(found)
    }

    async fn insights_query(
        &self,
        log_groups: &[String],
        query: &str,
        start_s: i64,
        end_s: i64,
        limit: i32,
    ) -> ProviderResult<InsightsResult> {
        const START: &str = "logs:StartQuery";
        const RESULTS: &str = "logs:GetQueryResults";
        let started = self
            .logs
            .start_query()
            .set_log_group_names(Some(log_groups.to_vec()))
            .query_string(query)
            .start_time(start_s)
            .end_time(end_s)
            .limit(limit)
            .send()
            .await
            .map_err(|e| call_error(START, e))?;
        let query_id = started
            .query_id()
            .ok_or(ProviderError::Unexpected {
                operation: START,
                message: "no query id in the answer".to_owned(),
            })?
            .to_owned();
        let deadline = tokio::time::Instant::now() + INSIGHTS_DEADLINE;
        let mut wait = INSIGHTS_FIRST_POLL;
        loop {
            let out = self
                .logs
                .get_query_results()
                .query_id(&query_id)
                .send()
                .await
                .map_err(|e| call_error(RESULTS, e))?;
            let status = out
                .status()
                .map_or("Unknown", QueryStatus::as_str)
                .to_owned();
            let running = matches!(
                out.status(),
                None | Some(QueryStatus::Scheduled | QueryStatus::Running)
            );
            if !running {
                let rows = out
                    .results()
                    .iter()
                    .map(|row| {
                        row.iter()
                            .filter_map(|f| {
                                Some((
                                    f.field()?.to_owned(),
                                    f.value().unwrap_or_default().to_owned(),
                                ))
                            })
                            .collect::<BTreeMap<_, _>>()
                    })
                    .collect();
                return Ok(InsightsResult {
                    rows,
                    status,
                    records_matched: out
                        .statistics()
                        .map(|s| s.records_matched())
                        .unwrap_or_default(),
                });
            }
            if tokio::time::Instant::now() + wait > deadline {
                // Best effort: free the account's concurrency slot before giving up.
                let _stopped = self.logs.stop_query().query_id(&query_id).send().await;
                return Err(ProviderError::Unexpected {
                    operation: RESULTS,
                    message: format!(
                        "query {query_id} still running after {}s; narrow the time range",
                        INSIGHTS_DEADLINE.as_secs()
                    ),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(INSIGHTS_MAX_POLL);
        }
    }
}

impl AwsClients {
    /// Creates a log group; an existing group is fine.
    ///
    /// # Errors
    /// [`ProviderError::Call`] for anything but "already exists".
    pub async fn ensure_log_group(&self, name: &str) -> ProviderResult<()> {
        const OP: &str = "logs:CreateLogGroup";
        match self
            .logs
            .create_log_group()
            .log_group_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(call_error(OP, e)),
        }
    }

    /// Creates a log stream; an existing stream is fine.
    ///
    /// # Errors
    /// [`ProviderError::Call`] for anything but "already exists".
    pub async fn ensure_log_stream(&self, group: &str, stream: &str) -> ProviderResult<()> {
        const OP: &str = "logs:CreateLogStream";
        match self
            .logs
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(call_error(OP, e)),
        }
    }

    /// Appends events (sorted by time) to a stream.
    ///
    /// CloudWatch Logs *silently* drops events older than 14 days or more than 2 hours ahead and
    /// only says so in `rejectedLogEventsInfo`; that is turned into an error here so nothing
    /// is lost without a word.
    ///
    /// # Errors
    /// [`ProviderError::Call`] when refused; [`ProviderError::Unexpected`] when events were rejected.
    pub async fn put_log_events(
        &self,
        group: &str,
        stream: &str,
        events: &[(i64, String)],
    ) -> ProviderResult<()> {
        const OP: &str = "logs:PutLogEvents";
        let mut sorted: Vec<&(i64, String)> = events.iter().collect();
        sorted.sort_by_key(|(t, _)| *t);
        for chunk in sorted.chunks(MAX_EVENTS_PER_PUT) {
            let batch = chunk
                .iter()
                .map(|(t, m)| InputLogEvent::builder().timestamp(*t).message(m).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ProviderError::InvalidRequest {
                    operation: OP,
                    message: e.to_string(),
                })?;
            let out = self
                .logs
                .put_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .set_log_events(Some(batch))
                .send()
                .await
                .map_err(|e| call_error(OP, e))?;
            if let Some(r) = out.rejected_log_events_info() {
                return Err(ProviderError::Unexpected {
                    operation: OP,
                    message: format!(
                        "events rejected: too old before index {:?}, too new from index {:?}, expired before index {:?}",
                        r.too_old_log_event_end_index(),
                        r.too_new_log_event_start_index(),
                        r.expired_log_event_end_index()
                    ),
                });
            }
        }
        Ok(())
    }
}
