//! Notifications: before a scheduled GameDay (the brief), after it (summary and report path),
//! and on abort (at once).
//!
//! Input: an entry's `notify:` targets and a [`Notification`]. Output: HTTP POSTs — Slack's
//! incoming-webhook shape `{"text": …}`, or the generic JSON webhook body (the
//! [`Notification`] itself). Must not: block or fail a run. Each POST runs in its own task
//! with a 5 s timeout; failures are logged and dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::task::TaskTracker;

use crate::config::Notify;
use crate::plan::GameDayScenario;

/// Timeout of one notification POST.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// The run is about to start: the brief.
    Before,
    /// The run ended: summary and report path.
    After,
    /// The run is being aborted (stop condition, guard, timeout, shutdown) or a stop failed.
    Abort,
}

/// The generic webhook body; Slack gets `text` alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Which notification.
    pub event: NotifyEvent,
    /// Schedule entry.
    pub entry: String,
    /// Run id.
    pub run_id: String,
    /// The scheduled instant.
    pub scheduled_at: DateTime<Utc>,
    /// The scenario file (absent before a fresh plan exists).
    pub scenario: Option<PathBuf>,
    /// Environment.
    pub environment: String,
    /// Outcome label (`after` and `abort`).
    pub outcome: Option<String>,
    /// `gameday run`'s exit code (`after`, and `abort` once known).
    pub exit_code: Option<i32>,
    /// The post-mortem (`after`, when written).
    pub report: Option<PathBuf>,
    /// `before`: the brief (GameDay, scenarios, targets, stages, stop alarms). `after`: the
    /// run's `summary.json`, when written. `abort`: the reason.
    pub summary: serde_json::Value,
    /// One human-readable message (what Slack shows).
    pub text: String,
}

impl Notification {
    /// The Slack incoming-webhook body.
    pub fn slack_body(&self) -> serde_json::Value {
        serde_json::json!({ "text": self.text })
    }
}

/// The brief of a scenario file, as the `before` summary and text.
pub fn brief(gameday: &GameDayScenario) -> (serde_json::Value, String) {
    use std::fmt::Write as _;
    let mut text = format!(
        "GameDay {} in {} (owner {}):",
        gameday.name, gameday.environment, gameday.owner
    );
    let scenarios: Vec<serde_json::Value> = gameday
        .scenarios
        .iter()
        .map(|s| {
            let stages: Vec<String> = s
                .stages
                .iter()
                .map(|st| format!("{} {}", st.name, st.selection))
                .collect();
            let _ = write!(
                text,
                "\n• {} ({}) on {}/{}/{}: stages {}; stop alarms {}",
                s.name,
                s.fault_class,
                s.target.cluster,
                s.target.namespace,
                s.service,
                stages.join(", "),
                if s.stop_alarms.is_empty() {
                    "none".to_owned()
                } else {
                    s.stop_alarms.join(", ")
                }
            );
            serde_json::json!({
                "name": s.name,
                "service": s.service,
                "fault_class": s.fault_class,
                "target": format!("{}/{}/{}", s.target.cluster, s.target.namespace, s.service),
                "stages": stages,
                "stop_alarms": s.stop_alarms,
            })
        })
        .collect();
    (
        serde_json::json!({ "gameday": gameday.name, "owner": gameday.owner, "scenarios": scenarios }),
        text,
    )
}

/// The `after` summary: `reports/<run-id>/summary.json` when the run wrote it, and the path of
/// `postmortem.md` when it exists.
pub fn run_summary(reports_dir: &Path, run_id: &str) -> (serde_json::Value, Option<PathBuf>) {
    let dir = reports_dir.join(run_id);
    let summary = std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let report = dir.join("postmortem.md");
    (summary, report.is_file().then_some(report))
}

/// The resilience score line of an `after` notification, from the run's `summary.json`
/// (`resilience`, written by the report from the run history): `Resilience score: checkout 68.5
/// (+51.4)`. `None` when the summary has no score.
pub fn score_line(summary: &serde_json::Value) -> Option<String> {
    let scores = summary.get("resilience")?.get("scores")?.as_array()?;
    let parts: Vec<String> = scores
        .iter()
        .filter_map(|s| {
            let service = s.get("service")?.as_str()?;
            let score = s.get("score")?.as_f64()?;
            Some(match s.get("change").and_then(serde_json::Value::as_f64) {
                Some(c) => format!("{service} {score:.1} ({c:+.1})"),
                None => format!("{service} {score:.1} (first run)"),
            })
        })
        .collect();
    (!parts.is_empty()).then(|| format!("Resilience score: {}.", parts.join(", ")))
}

/// Sends notifications in the background.
#[derive(Debug, Clone)]
pub struct Notifier {
    client: reqwest::Client,
    tracker: TaskTracker,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Notifier {
    /// A notifier with a 5 s timeout per POST.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(NOTIFY_TIMEOUT)
            .connect_timeout(NOTIFY_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            client,
            tracker: TaskTracker::new(),
        }
    }

    /// Posts `n` to every target, each in its own task; returns at once.
    pub fn send(&self, targets: &[Notify], n: &Notification) {
        for target in targets {
            let (url, body) = match target {
                Notify::Slack(url) => (url.clone(), n.slack_body()),
                Notify::Webhook(url) => (
                    url.clone(),
                    serde_json::to_value(n).unwrap_or(serde_json::Value::Null),
                ),
            };
            let client = self.client.clone();
            let (event, entry, run_id) = (n.event, n.entry.clone(), n.run_id.clone());
            self.tracker.spawn(async move {
                let sent =
                    tokio::time::timeout(NOTIFY_TIMEOUT, client.post(&url).json(&body).send())
                        .await;
                match sent {
                    Ok(Ok(resp)) if resp.status().is_success() => {
                        tracing::debug!(?event, %entry, %run_id, "notification sent");
                    }
                    Ok(Ok(resp)) => tracing::warn!(
                        ?event, %entry, %run_id, status = %resp.status(),
                        "notification refused by the receiver"
                    ),
                    Ok(Err(e)) => tracing::warn!(
                        ?event, %entry, %run_id, error = %e, "failed to send a notification"
                    ),
                    Err(_) => tracing::warn!(
                        ?event, %entry, %run_id, "notification timed out after 5s"
                    ),
                }
            });
        }
    }

    /// Waits for every notification sent so far (each is bounded by its timeout).
    pub async fn flush(&self) {
        self.tracker.close();
        self.tracker.wait().await;
        self.tracker.reopen();
    }
}

#[cfg(test)]
mod score_tests {
    use super::score_line;

    #[test]
    fn the_after_text_carries_the_score_and_its_change() {
        let summary = serde_json::json!({"resilience": {"scores": [
            {"service": "checkout", "score": 68.5, "change": 51.4},
            {"service": "catalog", "score": 40.0, "change": null}
        ]}});
        assert_eq!(
            score_line(&summary).as_deref(),
            Some("Resilience score: checkout 68.5 (+51.4), catalog 40.0 (first run).")
        );
        assert_eq!(score_line(&serde_json::json!({"outcome": "passed"})), None);
        assert_eq!(score_line(&serde_json::Value::Null), None);
    }
}
