//! The resilience score of a service, 0–100, and its breakdown.
//!
//! Input: the service's [`ClassRecord`]s, the mined classes with their priorities, and the
//! options (the clock is passed in). Output: a [`ServiceScore`]. Pure; must not read files or
//! the clock.
//!
//! Formula (also in `docs/history.md` and [`SCORE_FORMULA`]):
//!
//! ```text
//! score(service) = 100 × Σ_c w_c × credit_c × decay_c / Σ_c w_c
//! ```
//!
//! - `c` ranges over the fault classes mined for the service (from `--incidents`, or the
//!   classes the run journals' scenario files planned or skipped) and every class a run
//!   exercised on it;
//! - `w_c` is the class's mined priority (`frequency × impact`, see `mine`), or
//!   [`DEFAULT_WEIGHT`] when it is unknown;
//! - `credit_c` comes from the most recent run of the class, the best stage it passed:
//!   [`CREDIT_PASSED_25`] for a stage at `PERCENT(25)` or more (or `ALL`),
//!   [`CREDIT_PASSED_10`] for `PERCENT(10..25)`, [`CREDIT_PASSED_ONE`] for a smaller stage
//!   (`COUNT(1)`), [`CREDIT_EXERCISED`] when no stage passed (failed or aborted), 0 when never
//!   run. The most recent run counts, not the best one ever, so a regression costs points at once;
//! - `decay_c = 1` while that run is within the validity, then halves every further validity
//!   period: `0.5^((age − validity) / validity)`.
//!
//! Each point lost is listed with its class and the action that wins it back.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::fold::{ClassRecord, HistoryOptions, Verdict};

/// Credit for a class whose latest run passed a stage at 25 % of the targets or more.
pub const CREDIT_PASSED_25: f64 = 1.0;
/// Credit for a latest run that passed a stage at 10 % (but not 25 %).
pub const CREDIT_PASSED_10: f64 = 0.6;
/// Credit for a latest run that passed only a small stage (one target, or under 10 %).
pub const CREDIT_PASSED_ONE: f64 = 0.3;
/// Credit for a latest run that passed no stage (failed or aborted): the class was exercised
/// and something was learnt, which is worth more than never running it.
pub const CREDIT_EXERCISED: f64 = 0.1;
// The order the score promises: every pass beats no pass, and running beats never running.
const _: () = assert!(
    CREDIT_PASSED_25 > CREDIT_PASSED_10
        && CREDIT_PASSED_10 > CREDIT_PASSED_ONE
        && CREDIT_PASSED_ONE > CREDIT_EXERCISED
        && CREDIT_EXERCISED > 0.0
);

/// Weight of a class whose mined priority is unknown.
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// The formula, as written into `history --format json`.
pub const SCORE_FORMULA: &str = "score = 100 × Σ w·credit·decay / Σ w; w = mined priority (1 when unknown); \
     credit of the latest run = 1.0 passed ≥ PERCENT(25), 0.6 passed ≥ PERCENT(10), 0.3 passed a smaller \
     stage, 0.1 no stage passed, 0 never run; decay = 1 within the validity, then 0.5^((age − validity)/validity)";

/// A fault class mined for some services, with its priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinedClass {
    /// Fault class.
    pub class: String,
    /// Mined priority (`frequency × impact`), `None` when unknown.
    pub priority: Option<f64>,
    /// Services it affects.
    pub services: Vec<String>,
}

/// One class's share of a service's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreItem {
    /// Fault class.
    pub class: String,
    /// Its weight.
    pub weight: f64,
    /// Points it is worth (its share of 100).
    pub max_points: f64,
    /// Points it earns.
    pub points: f64,
    /// Points lost (`max_points − points`).
    pub lost: f64,
    /// The credit before decay.
    pub credit: f64,
    /// The decay factor.
    pub decay: f64,
    /// What the credit stands for (`passed PERCENT(25)`, `aborted`, `never run`).
    pub standing: String,
    /// Days since the latest run, when run.
    pub age_days: Option<i64>,
    /// What wins the lost points back (none when nothing is lost).
    pub action: Option<String>,
}

/// A service's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceScore {
    /// Service.
    pub service: String,
    /// 0–100, one decimal.
    pub score: f64,
    /// Per class, most points lost first.
    pub breakdown: Vec<ScoreItem>,
}

/// The credit of a passed stage by its selection mode (`COUNT(1)`, `PERCENT(10)`, `ALL`).
pub fn stage_credit(selection: &str) -> f64 {
    let s = selection.trim().to_ascii_uppercase();
    if s == "ALL" {
        return CREDIT_PASSED_25;
    }
    let percent = s
        .strip_prefix("PERCENT(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|n| n.trim().parse::<f64>().ok());
    match percent {
        Some(p) if p >= 25.0 => CREDIT_PASSED_25,
        Some(p) if p >= 10.0 => CREDIT_PASSED_10,
        _ => CREDIT_PASSED_ONE,
    }
}

/// `1` within the validity, then halving every further validity period.
pub fn decay(age: Duration, validity: Duration) -> f64 {
    if age <= validity || validity <= Duration::zero() {
        return 1.0;
    }
    let over = (age - validity).num_seconds() as f64 / validity.num_seconds() as f64;
    0.5_f64.powf(over)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Scores one service from its records (other services' records are ignored).
pub fn score_service(
    service: &str,
    records: &[ClassRecord],
    mined: &[MinedClass],
    opts: &HistoryOptions,
) -> ServiceScore {
    let mut classes: Vec<(String, f64)> = Vec::new();
    let weight_of = |class: &str| {
        mined
            .iter()
            .find(|m| m.class == class)
            .and_then(|m| m.priority)
            .filter(|p| p.is_finite() && *p > 0.0)
            .unwrap_or(DEFAULT_WEIGHT)
    };
    for m in mined
        .iter()
        .filter(|m| m.services.iter().any(|s| s == service))
    {
        if !classes.iter().any(|(c, _)| c == &m.class) {
            classes.push((m.class.clone(), weight_of(&m.class)));
        }
    }
    for r in records.iter().filter(|r| r.service == service) {
        if !classes.iter().any(|(c, _)| c == &r.class) {
            classes.push((r.class.clone(), weight_of(&r.class)));
        }
    }
    let total: f64 = classes.iter().map(|(_, w)| w).sum();
    let mut breakdown: Vec<ScoreItem> = classes
        .into_iter()
        .map(|(class, weight)| {
            let max_points = if total > 0.0 {
                100.0 * weight / total
            } else {
                0.0
            };
            let record = records
                .iter()
                .find(|r| r.service == service && r.class == class);
            item(service, class, weight, max_points, record, opts)
        })
        .collect();
    breakdown.sort_by(|a, b| {
        b.lost
            .total_cmp(&a.lost)
            .then_with(|| a.class.cmp(&b.class))
    });
    let score = round1(breakdown.iter().map(|i| i.points).sum::<f64>()).clamp(0.0, 100.0);
    for i in &mut breakdown {
        i.max_points = round1(i.max_points);
        i.points = round1(i.points);
        i.lost = round1(i.lost);
    }
    ServiceScore {
        service: service.to_owned(),
        score,
        breakdown,
    }
}

fn item(
    service: &str,
    class: String,
    weight: f64,
    max_points: f64,
    record: Option<&ClassRecord>,
    opts: &HistoryOptions,
) -> ScoreItem {
    let Some(r) = record else {
        return ScoreItem {
            action: Some(format!(
                "run {class} on {service} (`gameday plan --service {service}` ranks never-run classes first)"
            )),
            class,
            weight,
            max_points,
            points: 0.0,
            lost: max_points,
            credit: 0.0,
            decay: 1.0,
            standing: "never run".to_owned(),
            age_days: None,
        };
    };
    let passed = r
        .highest_stage_passed
        .as_ref()
        .and_then(|name| r.stages.iter().find(|s| &s.stage == name));
    let (credit, standing) = match passed {
        Some(s) => (
            stage_credit(&s.selection),
            format!("passed {} ({})", s.stage, s.selection),
        ),
        None => (CREDIT_EXERCISED, r.last_verdict.as_str().to_owned()),
    };
    let age = opts.now - r.last_run;
    let d = decay(age, opts.validity);
    let points = max_points * credit * d;
    let lost = max_points - points;
    let cause = r
        .aborts
        .iter()
        .rev()
        .find(|a| a.run_id == r.last_run_id)
        .map(|a| a.cause.clone())
        .or_else(|| {
            r.regressions
                .iter()
                .find(|g| g.run_id.as_deref() == Some(&r.last_run_id))
                .map(|g| g.evidence.clone())
        });
    let next_stage = r
        .stages
        .iter()
        .find(|s| s.last_outcome != crate::model::record::Outcome::Passed)
        .map(|s| format!("{} ({})", s.stage, s.selection));
    let action = if lost < 0.05 {
        None
    } else if r.last_verdict != Verdict::Passed {
        Some(format!(
            "fix what stopped run {}{} and pass {}",
            r.last_run_id,
            cause.map(|c| format!(" ({c})")).unwrap_or_default(),
            next_stage.unwrap_or_else(|| "every stage".to_owned())
        ))
    } else if credit < CREDIT_PASSED_25 {
        Some(
            "add a stage at PERCENT(25) (the policy's max_percent caps the plan's stages) and pass it"
                .to_owned(),
        )
    } else {
        Some(format!(
            "run it again: the last run is {} days old and credit halves every {} days past the {}-day validity",
            age.num_days(),
            opts.validity.num_days(),
            opts.validity.num_days()
        ))
    };
    ScoreItem {
        class,
        weight,
        max_points,
        points,
        lost,
        credit,
        decay: d,
        standing,
        age_days: Some(age.num_days()),
        action,
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_relative_eq;
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::history::fold::StageSummary;
    use crate::model::record::Outcome;

    fn now() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .expect("date")
    }

    fn record(
        class: &str,
        verdict: Verdict,
        passed: Option<(&str, &str)>,
        days: i64,
    ) -> ClassRecord {
        let stages = [
            "count-1:COUNT(1)",
            "percent-10:PERCENT(10)",
            "percent-25:PERCENT(25)",
        ]
        .iter()
        .map(|s| {
            let (name, sel) = s.split_once(':').expect("pair");
            StageSummary {
                stage: name.to_owned(),
                selection: sel.to_owned(),
                last_outcome: Outcome::Passed,
                passed: 1,
                failed: 0,
                aborted: 0,
                recovery: Vec::new(),
            }
        })
        .collect();
        ClassRecord {
            service: "checkout".into(),
            class: class.into(),
            runs: 1,
            last_run_id: "r".into(),
            last_run: now() - Duration::days(days),
            last_verdict: verdict,
            highest_stage_passed: passed.map(|p| p.0.to_owned()),
            last_passed: None,
            verified: false,
            stages,
            worst_metric: None,
            aborts: Vec::new(),
            regressions: Vec::new(),
        }
    }

    fn mined(class: &str, priority: f64) -> MinedClass {
        MinedClass {
            class: class.into(),
            priority: Some(priority),
            services: vec!["checkout".into()],
        }
    }

    #[test]
    fn stage_credit_orders_reach() {
        assert_relative_eq!(stage_credit("PERCENT(25)"), 1.0);
        assert_relative_eq!(stage_credit("PERCENT(50)"), 1.0);
        assert_relative_eq!(stage_credit("ALL"), 1.0);
        assert_relative_eq!(stage_credit("PERCENT(10)"), 0.6);
        assert_relative_eq!(stage_credit("COUNT(1)"), 0.3);
        assert_relative_eq!(stage_credit("PERCENT(5)"), 0.3);
    }

    #[test]
    fn decay_is_flat_within_validity_then_halves_each_period() {
        let v = Duration::days(30);
        assert_relative_eq!(decay(Duration::days(0), v), 1.0);
        assert_relative_eq!(decay(Duration::days(30), v), 1.0);
        assert_relative_eq!(decay(Duration::days(60), v), 0.5);
        assert_relative_eq!(decay(Duration::days(90), v), 0.25);
        assert_relative_eq!(decay(Duration::days(45), v), 0.5_f64.sqrt(), epsilon = 1e-9);
    }

    #[test]
    fn weighted_by_priority_and_credited_by_the_latest_verdict() {
        // Weights 6, 3, 1 (total 10): 60, 30 and 10 points.
        let m = vec![mined("a", 6.0), mined("b", 3.0), mined("c", 1.0)];
        let records = vec![
            // Passed at 25 %, 10 days ago: full 60.
            record(
                "a",
                Verdict::Passed,
                Some(("percent-25", "PERCENT(25)")),
                10,
            ),
            // Failed at 10 % after passing count-1: 30 × 0.3 = 9.
            record("b", Verdict::Failed, Some(("count-1", "COUNT(1)")), 5),
            // c never run: 0 of 10.
        ];
        let s = score_service("checkout", &records, &m, &HistoryOptions::new(now()));
        assert_relative_eq!(s.score, 69.0);
        let lost: Vec<(&str, f64)> = s
            .breakdown
            .iter()
            .map(|i| (i.class.as_str(), i.lost))
            .collect();
        assert_eq!(lost, vec![("b", 21.0), ("c", 10.0), ("a", 0.0)]);
        assert!(
            s.breakdown[0]
                .action
                .as_deref()
                .unwrap_or("")
                .starts_with("fix what stopped run r")
        );
        assert!(
            s.breakdown[1]
                .action
                .as_deref()
                .unwrap_or("")
                .contains("gameday plan --service checkout")
        );
        assert_eq!(s.breakdown[2].action, None);
    }

    #[test]
    fn aborted_beats_never_run_and_age_decays_the_credit() {
        let m = vec![mined("a", 1.0), mined("b", 1.0)];
        let records = vec![
            record("a", Verdict::Aborted, None, 1),
            record(
                "b",
                Verdict::Passed,
                Some(("percent-25", "PERCENT(25)")),
                60,
            ),
        ];
        let s = score_service("checkout", &records, &m, &HistoryOptions::new(now()));
        // a: 50 × 0.1 = 5; b: 50 × 1.0 × 0.5 = 25.
        assert_relative_eq!(s.score, 30.0);
        let b = s.breakdown.iter().find(|i| i.class == "b").expect("b");
        assert_relative_eq!(b.decay, 0.5);
        assert!(
            b.action
                .as_deref()
                .unwrap_or("")
                .starts_with("run it again")
        );
    }

    #[test]
    fn unknown_priorities_weigh_equally_and_nothing_mined_scores_zero() {
        let records = vec![record(
            "x",
            Verdict::Passed,
            Some(("percent-10", "PERCENT(10)")),
            0,
        )];
        let s = score_service("checkout", &records, &[], &HistoryOptions::new(now()));
        assert_relative_eq!(s.score, 60.0);
        assert!(
            s.breakdown[0]
                .action
                .as_deref()
                .unwrap_or("")
                .contains("PERCENT(25)")
        );
        let empty = score_service("checkout", &[], &[], &HistoryOptions::new(now()));
        assert_relative_eq!(empty.score, 0.0);
        assert!(empty.breakdown.is_empty());
    }
}
