//! Stage 2: steady state — metric history in, hypotheses and abort thresholds out.
//!
//! Input: datapoints of one metric (`timestamp,value` CSV or a `MetricSource`), derive options
//! (direction, learning cut-off, incident windows to exclude, SLO bounds, experiment length,
//! false-abort target). Output: a serde [`MetricHypothesis`] per metric (baseline, acceptable
//! range, seasonal profile, abort thresholds with N-of-M persistence, backtested false-abort
//! rate, the data it was learned from, or `degenerate` with a reason), per-point [`Verdict`]s in
//! check mode through the same [`Guard`] the run stage uses, and `PutMetricAlarm` inputs for the
//! static worst case. Must not: do I/O, call AWS, or depend on other gameday modules.
//!
//! Files: `stats` (pure robust statistics), `series` (CSV, timestamps, cleaning), `hypothesis`
//! (the serialised model and its breach rule), `derive` (learning), `guard` (streaming check),
//! `alarm` (CloudWatch alarm inputs), `evaluate` (scoring against labelled windows).

mod alarm;
pub mod cloudwatch;
mod derive;
mod error;
mod evaluate;
mod guard;
mod series;
pub mod stats;
mod validate;

pub use crate::model::hypothesis::Direction;
pub use crate::model::hypothesis::{
    Backtest, Bounds, LearnedFrom, MetricHypothesis, Persistence, Profile, Seasonality, Status,
    Sustained, TimeRange,
};
pub use alarm::{AlarmInputs, MetricIdentity, alarm_inputs, alarm_name, cloudwatch_period};
pub use derive::{DEFAULT_FALSE_ABORT_TARGET, DEFAULT_WINDOW_SECS, DeriveOptions, derive};
pub use error::SteadyStateError;
pub use evaluate::{Evaluation, evaluate};
pub use guard::{CheckSummary, Guard, Judgement, Verdict, check, check_with_summary};
pub use series::{
    Cleaned, MAX_ABS_TS, Point, clean, format_ts, median_period_secs, parse_csv, parse_ts,
    ts_in_range,
};
pub use validate::{
    HypothesisProblem, breach_problem, check_hypotheses, is_cloudwatch_period, validate_hypothesis,
};
