//! Rendering the history: a terminal table, or markdown with SVG trend charts (the score per
//! service, the recovery time per class and stage) drawn by the report's chart code.
//!
//! Input: a [`History`]. Output: text, and the charts as `(file name, SVG)`. Must not: write
//! files or read the clock — the same history gives the same bytes.

use std::fmt::Write as _;

use super::collect::History;
use super::fold::{ClassRecord, Verdict};

/// The charts' directory, relative to the markdown file.
pub const HISTORY_CHARTS_DIR: &str = "history-charts";

fn day(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn stages_text(r: &ClassRecord) -> String {
    r.stages
        .iter()
        .map(|s| format!("{} {}", s.stage, s.last_outcome.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn recovery_text(r: &ClassRecord) -> String {
    let parts: Vec<String> = r
        .stages
        .iter()
        .filter(|s| !s.recovery.is_empty())
        .map(|s| {
            let v: Vec<String> = s.recovery.iter().map(|p| p.secs.to_string()).collect();
            format!("{}: {} s", s.stage, v.join(" → "))
        })
        .collect();
    if parts.is_empty() {
        "–".to_owned()
    } else {
        parts.join("; ")
    }
}

fn worst_text(r: &ClassRecord) -> String {
    r.worst_metric.as_ref().map_or_else(
        || "–".to_owned(),
        |w| {
            format!(
                "{} {} (abort {} {}, {:.0} % of it, run {})",
                w.metric,
                fmt_num(w.worst),
                w.side,
                fmt_num(w.bound),
                w.ratio * 100.0,
                w.run_id
            )
        },
    )
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn verdict_text(r: &ClassRecord) -> String {
    let mut t = r.last_verdict.as_str().to_owned();
    if r.verified {
        t.push_str(" (verified)");
    } else if r.last_verdict == Verdict::Passed {
        t.push_str(" (stale)");
    }
    t
}

/// The terminal table: scores, then one line per service × class, then the regressions.
pub fn render_table(h: &History) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} run(s) read{}; validity {} days; {} journal(s) skipped",
        h.runs.len(),
        h.since
            .map(|s| format!(" since {}", day(s)))
            .unwrap_or_default(),
        h.validity_days,
        h.skipped.len()
    );
    if h.records.is_empty() {
        o.push_str("no GameDay run has exercised a fault class yet\n");
    }
    for s in &h.scores {
        let _ = writeln!(o, "\nSCORE {} {:.1}/100", s.service, s.score);
        for i in s.breakdown.iter().filter(|i| i.lost >= 0.05) {
            let _ = writeln!(
                o,
                "  -{:>5.1}  {:<28} {:<28} {}",
                i.lost,
                i.class,
                i.standing,
                i.action.as_deref().unwrap_or("")
            );
        }
    }
    let _ = writeln!(
        o,
        "\n{:<12} {:<28} {:>4} {:<10} {:<20} {:<12} {:>6}  STAGES",
        "SERVICE", "CLASS", "RUNS", "LAST RUN", "VERDICT", "HIGHEST", "ABORTS"
    );
    for r in &h.records {
        let _ = writeln!(
            o,
            "{:<12} {:<28} {:>4} {:<10} {:<20} {:<12} {:>6}  {}",
            r.service,
            r.class,
            r.runs,
            day(r.last_run),
            verdict_text(r),
            r.highest_stage_passed.as_deref().unwrap_or("–"),
            r.aborts.len(),
            stages_text(r)
        );
    }
    let regressions: Vec<_> = h.regressions().collect();
    if !regressions.is_empty() {
        o.push_str("\nREGRESSIONS\n");
        for (r, g) in regressions {
            let _ = writeln!(
                o,
                "  {} {} [{}]: {}",
                r.service,
                r.class,
                kind_label(g.kind),
                g.evidence
            );
        }
    }
    for s in &h.skipped {
        let _ = writeln!(o, "skipped {}: {}", s.path.display(), s.reason);
    }
    o
}

fn kind_label(k: super::fold::RegressionKind) -> &'static str {
    match k {
        super::fold::RegressionKind::StageFailed => "stage failed",
        super::fold::RegressionKind::SlowerRecovery => "slower recovery",
        super::fold::RegressionKind::Stale => "stale",
    }
}

/// Draws a trend chart as SVG: title, unit, points `(epoch seconds, value)`. The report's chart
/// renderer is passed in by the caller, so `history` stays below `report`.
pub type TrendChart = fn(&str, &str, &[(i64, f64)]) -> String;

/// The markdown report and its charts (`history-charts/<name>.svg`, linked relative to the
/// markdown file), drawn with `trend_chart`.
pub fn render_markdown(h: &History, trend_chart: TrendChart) -> (String, Vec<(String, String)>) {
    let mut o = String::new();
    let mut charts = Vec::new();
    let _ = writeln!(o, "# GameDay history\n");
    let _ = writeln!(
        o,
        "{} run(s){}, as of {}. A class is verified when a GameDay run passed every stage within \
         the last {} days. Score: {}.\n",
        h.runs.len(),
        h.since
            .map(|s| format!(" since {}", day(s)))
            .unwrap_or_default(),
        h.generated_at.format("%Y-%m-%d %H:%M UTC"),
        h.validity_days,
        h.score_formula
    );
    o.push_str("## Resilience score\n\n| Service | Score | Runs scored |\n|---|---|---|\n");
    for s in &h.scores {
        let n = h.trend.iter().filter(|p| p.service == s.service).count();
        let _ = writeln!(o, "| {} | {:.1} | {n} |", cell(&s.service), s.score);
    }
    for s in &h.scores {
        let points: Vec<(i64, f64)> = h
            .trend
            .iter()
            .filter(|p| p.service == s.service)
            .map(|p| (p.at.timestamp(), p.score))
            .collect();
        let _ = writeln!(o, "\n### {}: {:.1}/100\n", cell(&s.service), s.score);
        if points.len() >= 2 {
            let file = format!("{HISTORY_CHARTS_DIR}/score--{}.svg", slug(&s.service));
            let title = format!("resilience score — {}", s.service);
            charts.push((file.clone(), trend_chart(&title, "score", &points)));
            let _ = writeln!(o, "![{title}]({file})\n");
        }
        let lost: Vec<_> = s.breakdown.iter().filter(|i| i.lost >= 0.05).collect();
        if lost.is_empty() {
            o.push_str("No point lost.\n");
        } else {
            o.push_str("| Points lost | Class | Standing | Wins them back |\n|---|---|---|---|\n");
            for i in lost {
                let _ = writeln!(
                    o,
                    "| {:.1} of {:.1} | {} | {} | {} |",
                    i.lost,
                    i.max_points,
                    cell(&i.class),
                    cell(&i.standing),
                    cell(i.action.as_deref().unwrap_or(""))
                );
            }
        }
    }
    o.push_str("\n## Fault classes\n\n| Service | Class | Runs | Last run | Verdict | Highest stage passed | Stages | Recovery | Worst metric | Aborts |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for r in &h.records {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} |",
            cell(&r.service),
            cell(&r.class),
            r.runs,
            day(r.last_run),
            cell(&r.last_run_id),
            verdict_text(r),
            r.highest_stage_passed.as_deref().unwrap_or("–"),
            cell(&stages_text(r)),
            cell(&recovery_text(r)),
            cell(&worst_text(r)),
            if r.aborts.is_empty() {
                "–".to_owned()
            } else {
                cell(
                    &r.aborts
                        .iter()
                        .map(|a| format!("{} {}: {}", day(a.at), a.run_id, a.cause))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            }
        );
    }
    o.push_str("\n## Regressions\n\n");
    let regressions: Vec<_> = h.regressions().collect();
    if regressions.is_empty() {
        o.push_str("None.\n");
    }
    for (r, g) in regressions {
        let _ = writeln!(
            o,
            "- **{} {}**, {}: {}",
            r.service,
            r.class,
            kind_label(g.kind),
            g.evidence
        );
    }
    let mut recovery_charts = String::new();
    for r in &h.records {
        for s in r.stages.iter().filter(|s| s.recovery.len() >= 2) {
            let points: Vec<(i64, f64)> = s
                .recovery
                .iter()
                .map(|p| (p.at.timestamp(), p.secs as f64))
                .collect();
            let file = format!(
                "{HISTORY_CHARTS_DIR}/recovery--{}--{}--{}.svg",
                slug(&r.service),
                slug(&r.class),
                slug(&s.stage)
            );
            let title = format!("recovery time — {} {}, {}", r.service, r.class, s.stage);
            charts.push((file.clone(), trend_chart(&title, "seconds", &points)));
            let _ = writeln!(recovery_charts, "![{title}]({file})\n");
        }
    }
    if !recovery_charts.is_empty() {
        o.push_str("\n## Recovery time trends\n\n");
        o.push_str(&recovery_charts);
    }
    if !h.skipped.is_empty() || !h.scheduled_without_journal.is_empty() {
        o.push_str("\n## Left out\n\n");
        for s in &h.skipped {
            let _ = writeln!(o, "- `{}`: {}", s.path.display(), cell(&s.reason));
        }
        for s in &h.scheduled_without_journal {
            let _ = writeln!(
                o,
                "- scheduled run {} ({}) {} {}: {}",
                s.run_id,
                s.entry,
                s.outcome,
                day(s.at),
                cell(&s.detail)
            );
        }
    }
    (o, charts)
}
