//! The scheduler: GameDays on a cron schedule, without anyone remembering to run them.
//!
//! Input: the config's `schedule:` entries. Output: fire times ([`cron`]), the `list` table
//! ([`list`]), a daemon and a one-shot pass that launch `gameday run` as child processes ([`serve`], [`launch`]), a
//! crash-safe run history ([`store`]), notifications ([`notify`]), a Kubernetes Lease per
//! target ([`lease`]) and exports to Kubernetes CronJobs and EventBridge Scheduler
//! ([`kubernetes`], [`eventbridge`]). Must not: run a GameDay in-process (a crashing run must
//! not take the daemon down), or fire the same scheduled instant of an entry twice.

pub mod cron;
pub mod error;
pub mod eventbridge;
pub mod kubernetes;
pub mod launch;
pub mod lease;
pub mod list;
pub mod notify;
pub mod serve;
pub mod store;
pub mod target;
#[cfg(test)]
pub(crate) mod testing;

pub use cron::CronSchedule;
pub use error::ScheduleError;
