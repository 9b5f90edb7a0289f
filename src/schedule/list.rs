//! `gameday schedule list`: each entry's next fire times, in its timezone and in UTC.
//!
//! Input: the validated config and a clock reading. Output: the table as text. Must not: fire
//! anything.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::cron::CronSchedule;
use crate::config::Config;
use crate::error::Error;

/// The `list` table: each entry, then its next `count` fire times in its timezone and UTC.
///
/// # Errors
/// [`crate::schedule::ScheduleError::Cron`] for an expression the config validation let through.
pub fn upcoming_table(cfg: &Config, now: DateTime<Utc>, count: usize) -> Result<String, Error> {
    let mut out = String::new();
    if cfg.schedule.is_empty() {
        out.push_str("no schedule entries (add `schedule:` to the config)\n");
    }
    for entry in &cfg.schedule {
        let cron = CronSchedule::for_entry(entry).map_err(Error::from)?;
        let _ = writeln!(
            out,
            "{}  `{}` {}  {}  {}  missed: {}, grace {}",
            entry.name,
            entry.cron,
            entry.timezone,
            entry.environment,
            entry.scenario.as_ref().map_or_else(
                || "plan fresh".to_owned(),
                |p| format!("scenario {}", p.display())
            ),
            match entry.missed {
                crate::config::MissedPolicy::Skip => "skip",
                crate::config::MissedPolicy::RunLate => "run-late",
            },
            humantime::format_duration(entry.grace)
        );
        for at in cron.upcoming(now, count) {
            let local = at.with_timezone(&cron.timezone());
            let blackout = entry
                .blackouts
                .iter()
                .find(|b| b.start <= at && at < b.end)
                .map(|b| {
                    format!(
                        "  skipped: blackout{}",
                        b.reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}   {}{blackout}",
                local.format("%a %Y-%m-%d %H:%M %Z (%:z)"),
                at.format("%Y-%m-%d %H:%M UTC")
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn list_prints_the_next_five_times_local_and_utc_and_marks_blackouts() {
        let cfg = Config::from_yaml(
            Path::new("gameday.yaml"),
            "schedule:\n  - name: weekly\n    cron: \"0 10 * * TUE\"\n    timezone: Europe/Berlin\n    blackouts:\n      - start: 2026-12-20T00:00:00Z\n        end: 2027-01-04T00:00:00Z\n        reason: holiday freeze\n",
        )
        .expect("config");
        let out =
            upcoming_table(&cfg, "2026-12-01T00:00:00Z".parse().expect("now"), 5).expect("list");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "{out}");
        assert!(
            lines[0].starts_with("weekly  `0 10 * * TUE` Europe/Berlin  staging  plan fresh"),
            "{out}"
        );
        assert_eq!(
            lines[1],
            "  Tue 2026-12-01 10:00 CET (+01:00)   2026-12-01 09:00 UTC"
        );
        assert_eq!(
            lines[4],
            "  Tue 2026-12-22 10:00 CET (+01:00)   2026-12-22 09:00 UTC  skipped: blackout (holiday freeze)"
        );
        assert_eq!(
            lines[5],
            "  Tue 2026-12-29 10:00 CET (+01:00)   2026-12-29 09:00 UTC  skipped: blackout (holiday freeze)"
        );
    }
}
