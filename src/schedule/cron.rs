//! Fire times: a five-field cron expression evaluated in an IANA timezone.
//!
//! Input: a [`ScheduleEntry`]'s `cron` and `timezone` (validated by the config). Output: fire
//! times as UTC instants. Must not: read the clock (every search starts from a time passed in).
//!
//! Daylight saving time, as croner (and Vixie cron) handle it, pinned by the tests below:
//! - spring forward: a fixed time inside the skipped hour (02:30 on the day Europe/Berlin jumps
//!   from 02:00 to 03:00) fires once, at the first minute after the gap (03:00 local time);
//! - fall back: a fixed time inside the repeated hour (01:30 on the day America/New_York goes
//!   from 02:00 back to 01:00) fires once, at its first occurrence (the daylight-time one).
//!   Wildcard and step minutes (`*/15 1 * * *`) fire in both passes of the repeated hour.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::error::ScheduleError;
use crate::config::ScheduleEntry;

/// A cron expression bound to its timezone.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    tz: Tz,
}

impl CronSchedule {
    /// Parses a five-field expression in `timezone`.
    ///
    /// # Errors
    /// [`ScheduleError::Cron`] when the expression or the timezone does not parse (the config
    /// validation refuses both first, so this is a bug guard).
    pub fn parse(entry: &str, cron: &str, timezone: &str) -> Result<Self, ScheduleError> {
        let err = || ScheduleError::Cron {
            entry: entry.to_owned(),
            cron: cron.to_owned(),
            timezone: timezone.to_owned(),
        };
        let tz: Tz = timezone.parse().map_err(|_| err())?;
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(cron)
            .map_err(|_| err())?;
        Ok(Self { cron, tz })
    }

    /// The schedule of a configured entry.
    ///
    /// # Errors
    /// As [`CronSchedule::parse`].
    pub fn for_entry(entry: &ScheduleEntry) -> Result<Self, ScheduleError> {
        Self::parse(&entry.name, &entry.cron, &entry.timezone)
    }

    /// The timezone fire times are reckoned in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first fire time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The latest fire time at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The next `n` fire times strictly after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = t;
        while out.len() < n {
            match self.next_after(at) {
                Some(next) => {
                    out.push(next);
                    at = next;
                }
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("test time")
    }

    #[test]
    fn weekly_in_berlin_is_reckoned_in_local_time() {
        let s = CronSchedule::parse("w", "0 10 * * TUE", "Europe/Berlin").expect("parses");
        // Winter (CET, UTC+1) then summer (CEST, UTC+2).
        let next = s.upcoming(utc("2026-03-20T00:00:00Z"), 3);
        assert_eq!(
            next,
            vec![
                utc("2026-03-24T09:00:00Z"),
                utc("2026-03-31T08:00:00Z"),
                utc("2026-04-07T08:00:00Z"),
            ]
        );
    }

    #[test]
    fn spring_forward_in_berlin_fires_once_right_after_the_gap() {
        // 2026-03-29: Europe/Berlin jumps from 02:00 CET to 03:00 CEST; 02:30 does not exist.
        let s = CronSchedule::parse("d", "30 2 * * *", "Europe/Berlin").expect("parses");
        let next = s.upcoming(utc("2026-03-27T12:00:00Z"), 4);
        assert_eq!(
            next,
            vec![
                utc("2026-03-28T01:30:00Z"), // 02:30 CET
                utc("2026-03-29T01:00:00Z"), // 03:00 CEST, the first minute after the gap
                utc("2026-03-30T00:30:00Z"), // 02:30 CEST
                utc("2026-03-31T00:30:00Z"),
            ]
        );
    }

    #[test]
    fn spring_forward_in_new_york_fires_once_right_after_the_gap() {
        // 2026-03-08: America/New_York jumps from 02:00 EST to 03:00 EDT.
        let s = CronSchedule::parse("d", "30 2 * * *", "America/New_York").expect("parses");
        let next = s.upcoming(utc("2026-03-07T00:00:00Z"), 3);
        assert_eq!(
            next,
            vec![
                utc("2026-03-07T07:30:00Z"), // 02:30 EST
                utc("2026-03-08T07:00:00Z"), // 03:00 EDT
                utc("2026-03-09T06:30:00Z"), // 02:30 EDT
            ]
        );
    }

    #[test]
    fn fall_back_in_new_york_fires_a_repeated_time_once() {
        // 2026-11-01: America/New_York goes from 02:00 EDT back to 01:00 EST; 01:30 happens
        // twice (05:30Z and 06:30Z). It fires at the first, never at the second.
        let s = CronSchedule::parse("d", "30 1 * * *", "America/New_York").expect("parses");
        let next = s.upcoming(utc("2026-10-31T00:00:00Z"), 3);
        assert_eq!(
            next,
            vec![
                utc("2026-10-31T05:30:00Z"), // 01:30 EDT
                utc("2026-11-01T05:30:00Z"), // 01:30 EDT, first pass only
                utc("2026-11-02T06:30:00Z"), // 01:30 EST
            ]
        );
        // Searching from between the two passes does not find the second one either.
        assert_eq!(
            s.next_after(utc("2026-11-01T05:45:00Z")),
            Some(utc("2026-11-02T06:30:00Z"))
        );
        assert_eq!(
            s.latest_at_or_before(utc("2026-11-01T06:45:00Z")),
            Some(utc("2026-11-01T05:30:00Z"))
        );
    }

    #[test]
    fn fall_back_in_berlin_fires_a_repeated_time_once() {
        // 2026-10-25: Europe/Berlin goes from 03:00 CEST back to 02:00 CET; 02:30 repeats.
        let s = CronSchedule::parse("d", "30 2 * * *", "Europe/Berlin").expect("parses");
        let next = s.upcoming(utc("2026-10-24T12:00:00Z"), 2);
        assert_eq!(
            next,
            vec![utc("2026-10-25T00:30:00Z"), utc("2026-10-26T01:30:00Z")]
        );
    }

    #[test]
    fn step_minutes_fire_in_both_passes_of_a_repeated_hour() {
        let s = CronSchedule::parse("d", "*/30 1 * * *", "America/New_York").expect("parses");
        let next = s.upcoming(utc("2026-11-01T04:00:00Z"), 4);
        assert_eq!(
            next,
            vec![
                utc("2026-11-01T05:00:00Z"),
                utc("2026-11-01T05:30:00Z"),
                utc("2026-11-01T06:00:00Z"),
                utc("2026-11-01T06:30:00Z"),
            ]
        );
    }

    #[test]
    fn latest_at_or_before_includes_the_instant_itself() {
        let s = CronSchedule::parse("w", "0 10 * * *", "UTC").expect("parses");
        let t = utc("2026-05-05T10:00:00Z");
        assert_eq!(s.latest_at_or_before(t), Some(t));
        assert_eq!(
            s.latest_at_or_before(utc("2026-05-05T09:59:59Z")),
            Some(utc("2026-05-04T10:00:00Z"))
        );
        assert_eq!(s.next_after(t), Some(utc("2026-05-06T10:00:00Z")));
    }

    #[test]
    fn bad_timezone_is_an_error() {
        let err = CronSchedule::parse("w", "0 10 * * *", "Mars/Olympus").expect_err("no zone");
        assert_eq!(err.kind(), "schedule_cron");
    }
}
