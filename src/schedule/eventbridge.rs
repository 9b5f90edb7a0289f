//! `gameday schedule export --eventbridge`: one EventBridge Scheduler schedule per entry.
//!
//! Input: the entries and [`EventBridgeExport`] (the ECS cluster, task definition, role and
//! network placeholders). Output: schedules created or updated in place (idempotent): a
//! `cron(...)` expression in the entry's timezone, `FlexibleTimeWindow OFF`, no retries, and an
//! ECS RunTask target whose container runs `gameday schedule run-due --entry <name>`. Must
//! not: express a schedule EventBridge would read differently from cron (then it refuses).
//!
//! Cron conversion: EventBridge takes six fields, `cron(min hour dom month dow year)`, and
//! exactly one of day-of-month and day-of-week must be `?`. Its day-of-week numbers are 1-7 for
//! SUN-SAT where cron's are 0-7 (0 and 7 both SUN), so day-of-week is always written as names.
//! It has no `/` in day-of-week, so steps there are expanded. A cron expression restricting
//! both day fields fires when *either* matches; EventBridge cannot say that, so it is refused.

use std::collections::BTreeSet;

use super::error::ScheduleError;
use super::launch::run_due_args;
use crate::config::ScheduleEntry;
use crate::provider::aws::scheduler::{EcsSchedule, Scheduler, Upserted};

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parses a day-of-week field into the set of days (0 = SUN … 6 = SAT).
fn days_of_week(field: &str) -> Result<BTreeSet<u8>, String> {
    let value = |s: &str| -> Result<u8, String> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = DAY_NAMES.iter().position(|d| *d == upper) {
            return u8::try_from(i).map_err(|e| e.to_string());
        }
        match s.parse::<u8>() {
            Ok(n) if n <= 7 => Ok(n % 7),
            _ => Err(format!("`{s}` is not a day of the week")),
        }
    };
    let mut days = BTreeSet::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u8>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("`{s}` is not a step"))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = match range {
            "*" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => {
                    // `5-7` (FRI to SUN) keeps 7 as the end of the week.
                    let hi_raw = if b == "7" { 7 } else { value(b)? };
                    (value(a)?, hi_raw)
                }
                None if step > 1 => (value(r)?, 6),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if lo > hi {
            return Err(format!("`{range}` is a backwards range"));
        }
        let mut d = lo;
        while d <= hi {
            days.insert(d % 7);
            d = d.saturating_add(step);
        }
    }
    Ok(days)
}

/// Converts a portable five-field cron expression into an EventBridge `cron(...)` expression.
///
/// # Errors
/// A message when the expression restricts both day-of-month and day-of-week (cron ORs them;
/// EventBridge cannot), or a day-of-week value is not a day.
pub fn eventbridge_cron(cron: &str) -> Result<String, String> {
    let f: Vec<&str> = cron.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = f[..] else {
        return Err(format!("`{cron}` does not have five fields"));
    };
    // Month numbers (1-12) and names mean the same in both.
    let month = month.to_ascii_uppercase();
    let (dom, dow) = match (dom == "*", dow == "*") {
        (_, true) => (dom.to_owned(), "?".to_owned()),
        (true, false) => {
            let days = days_of_week(dow)?;
            let names = if days.len() == 7 {
                "*".to_owned()
            } else {
                days.iter()
                    .map(|d| DAY_NAMES[usize::from(*d)])
                    .collect::<Vec<_>>()
                    .join(",")
            };
            if names == "*" {
                ("*".to_owned(), "?".to_owned())
            } else {
                ("?".to_owned(), names)
            }
        }
        (false, false) => {
            return Err(format!(
                "`{cron}` restricts both day-of-month and day-of-week (cron fires when either matches); EventBridge Scheduler cannot express that: split it into two entries"
            ));
        }
    };
    Ok(format!("cron({minute} {hour} {dom} {month} {dow} *)"))
}

/// Options of the EventBridge export: the ECS RunTask target. The defaults are placeholders to
/// replace with real ARNs (documented in the README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBridgeExport {
    /// Schedule group.
    pub group: String,
    /// ECS cluster ARN (the target's `Arn`).
    pub cluster_arn: String,
    /// IAM role EventBridge Scheduler assumes to call `ecs:RunTask` (and `iam:PassRole`).
    pub role_arn: String,
    /// Task definition ARN of the gameday task (its container has the config mounted).
    pub task_definition_arn: String,
    /// The container in the task definition that runs gameday.
    pub container: String,
    /// Subnets for `awsvpc` networking (Fargate needs them).
    pub subnets: Vec<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// `--config` path inside the task.
    pub config_path: String,
    /// Lease namespace passed to `run-due` (`None`: no Lease).
    pub lease_namespace: Option<String>,
}

/// What an export call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new schedule.
    Created,
    /// An existing schedule was updated in place.
    Updated,
}

impl Change {
    /// A lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
        }
    }
}

/// The schedule name of an entry.
pub fn schedule_name(entry: &ScheduleEntry) -> String {
    format!("gameday-{}", entry.name)
}

/// The RunTask input: container overrides running `gameday schedule run-due --entry`.
pub fn task_input(opts: &EventBridgeExport, entry: &ScheduleEntry) -> serde_json::Value {
    let mut command = vec!["gameday".to_owned()];
    command.extend(run_due_args(
        &opts.config_path,
        entry,
        None,
        opts.lease_namespace.as_deref(),
    ));
    serde_json::json!({
        "containerOverrides": [{ "name": opts.container, "command": command }]
    })
}

/// Creates the entry's schedule, or updates it in place when it exists.
///
/// # Errors
/// [`ScheduleError::Export`] when the cron expression cannot be converted;
/// [`ScheduleError::EventBridge`] when an API call fails.
pub async fn apply_schedule(
    client: &Scheduler,
    opts: &EventBridgeExport,
    entry: &ScheduleEntry,
) -> Result<(String, Change), ScheduleError> {
    let name = schedule_name(entry);
    let expression = eventbridge_cron(&entry.cron).map_err(|message| ScheduleError::Export {
        entry: entry.name.clone(),
        message,
    })?;
    let schedule = EcsSchedule {
        name: name.clone(),
        group: opts.group.clone(),
        expression,
        timezone: entry.timezone.clone(),
        description: format!(
            "gameday schedule entry {} ({} {}, {})",
            entry.name, entry.cron, entry.timezone, entry.environment
        ),
        cluster_arn: opts.cluster_arn.clone(),
        role_arn: opts.role_arn.clone(),
        task_definition_arn: opts.task_definition_arn.clone(),
        input: task_input(opts, entry).to_string(),
        subnets: opts.subnets.clone(),
        security_groups: opts.security_groups.clone(),
        max_event_age_secs: i32::try_from(entry.grace.as_secs().clamp(60, 86_400))
            .unwrap_or(86_400),
    };
    match client.put_ecs_schedule(&schedule).await {
        Ok(Upserted::Created) => Ok((name, Change::Created)),
        Ok(Upserted::Updated) => Ok((name, Change::Updated)),
        Err(e) => Err(ScheduleError::EventBridge {
            operation: e.operation,
            name,
            source: e.source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_and_daily_expressions_convert() {
        assert_eq!(
            eventbridge_cron("0 10 * * TUE").as_deref(),
            Ok("cron(0 10 ? * TUE *)")
        );
        assert_eq!(
            eventbridge_cron("30 2 * * *").as_deref(),
            Ok("cron(30 2 * * ? *)")
        );
        assert_eq!(
            eventbridge_cron("0 9 1 * *").as_deref(),
            Ok("cron(0 9 1 * ? *)")
        );
        assert_eq!(
            eventbridge_cron("*/15 8-17 * JAN-MAR *").as_deref(),
            Ok("cron(*/15 8-17 * JAN-MAR ? *)")
        );
    }

    #[test]
    fn day_of_week_numbers_become_names_because_eventbridge_counts_from_one() {
        // cron 1-5 is MON-FRI; EventBridge's 1-5 would be SUN-THU.
        assert_eq!(
            eventbridge_cron("0 10 * * 1-5").as_deref(),
            Ok("cron(0 10 ? * MON,TUE,WED,THU,FRI *)")
        );
        assert_eq!(
            eventbridge_cron("0 10 * * 0").as_deref(),
            Ok("cron(0 10 ? * SUN *)")
        );
        assert_eq!(
            eventbridge_cron("0 10 * * 7").as_deref(),
            Ok("cron(0 10 ? * SUN *)")
        );
        assert_eq!(
            eventbridge_cron("0 10 * * 5-7").as_deref(),
            Ok("cron(0 10 ? * SUN,FRI,SAT *)")
        );
        assert_eq!(
            eventbridge_cron("0 10 * * */2").as_deref(),
            Ok("cron(0 10 ? * SUN,TUE,THU,SAT *)")
        );
        assert_eq!(
            eventbridge_cron("0 10 * * mon,wed").as_deref(),
            Ok("cron(0 10 ? * MON,WED *)")
        );
        assert_eq!(
            eventbridge_cron("0 10 * * 0-6").as_deref(),
            Ok("cron(0 10 * * ? *)")
        );
    }

    #[test]
    fn both_day_fields_restricted_is_refused() {
        let err = eventbridge_cron("0 10 1 * MON").expect_err("dom OR dow");
        assert!(err.contains("either"), "{err}");
    }
}
