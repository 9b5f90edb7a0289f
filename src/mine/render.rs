//! Text renderers for the incident catalogue: a plain-text table and markdown.
//!
//! Input: a [`Catalogue`]. Output: deterministic text (all data is already sorted; times are
//! UTC). Must not compute rankings or read anything: JSON output is plain
//! `serde_json::to_string_pretty(&catalogue)`.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::mine::catalogue::{Catalogue, ClassSummary};
use crate::mine::group::Severity;

/// Renders the catalogue as a plain-text table (one row per class) plus unclassified templates.
pub fn render_table(catalogue: &Catalogue) -> String {
    let headers = [
        "RANK",
        "CLASS",
        "VERIFIED",
        "INCIDENTS",
        "MTTR",
        "MEDIAN",
        "TOTAL",
        "PRIORITY",
        "LAST SEEN",
        "SERVICES",
        "FIS ACTIONS",
    ];
    let rows: Vec<Vec<String>> = catalogue
        .classes
        .iter()
        .map(|c| {
            vec![
                c.rank.to_string(),
                c.class.clone(),
                with_last_verdict(if c.verified { "yes" } else { "UNVERIFIED" }, c),
                c.incident_count.to_string(),
                format_duration(c.mttr_ms),
                format_duration(c.median_duration_ms),
                format_duration(c.total_duration_ms),
                format!("{:.2}", c.priority),
                format_time(c.last_seen),
                c.services.join(","),
                fis_summary(c),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(headers.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row);
    }
    let _ = writeln!(
        out,
        "\n{} events read ({} evidence, {} noise); MTTR = mean incident duration; gap {}.",
        catalogue.window.events_read,
        catalogue.window.evidence_events,
        catalogue.window.noise_events,
        format_duration(catalogue.gap_ms)
    );
    if !catalogue.unclassified.is_empty() {
        let _ = writeln!(out, "\nUnclassified error/warning templates:");
        for u in &catalogue.unclassified {
            let _ = writeln!(
                out,
                "  {:>6}  {:<7}  {}  [{}]",
                u.count,
                u.level,
                u.template,
                u.services.join(",")
            );
        }
    }
    out
}

/// Renders the catalogue as markdown: summary table, one section per class, unclassified.
pub fn render_markdown(catalogue: &Catalogue) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Incident catalogue\n");
    let window = match (catalogue.window.start, catalogue.window.end) {
        (Some(start), Some(end)) => format!("{} to {}", format_time(start), format_time(end)),
        _ => "no events".to_owned(),
    };
    let _ = writeln!(
        out,
        "Generated {} from {} events ({window}): {} evidence, {} noise. Incidents are separated by gaps of {}.\n",
        format_time(catalogue.generated_at),
        catalogue.window.events_read,
        catalogue.window.evidence_events,
        catalogue.window.noise_events,
        format_duration(catalogue.gap_ms),
    );
    let _ = writeln!(
        out,
        "Ranking: unverified classes (never exercised by a gameday run) first, then `{}`. MTTR is the mean incident duration.\n",
        catalogue.priority_formula
    );
    let _ = writeln!(
        out,
        "| Rank | Class | Verified | Incidents | MTTR | Median | Total | Priority | Last seen | Services | FIS actions |"
    );
    let _ = writeln!(out, "|---:|---|---|---:|---:|---:|---:|---:|---|---|---|");
    for c in &catalogue.classes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} |",
            c.rank,
            c.class,
            md_escape(&with_last_verdict(
                if c.verified { "yes" } else { "**unverified**" },
                c
            )),
            c.incident_count,
            format_duration(c.mttr_ms),
            format_duration(c.median_duration_ms),
            format_duration(c.total_duration_ms),
            c.priority,
            format_time(c.last_seen),
            c.services.join(", "),
            md_escape(&fis_summary(c)),
        );
    }
    for c in &catalogue.classes {
        let _ = writeln!(out, "\n## {}. {}\n", c.rank, c.class);
        if !c.description.is_empty() {
            let _ = writeln!(out, "{}\n", c.description);
        }
        let _ = writeln!(
            out,
            "- Incidents: {} ({:.2} per 30 days), impact {:.2}, priority {:.2}",
            c.incident_count, c.frequency_per_30d, c.impact, c.priority
        );
        let _ = writeln!(out, "- Services: {}", c.services.join(", "));
        if c.fis_actions.is_empty() {
            let _ = writeln!(out, "- FIS actions: none");
        }
        for action in &c.fis_actions {
            let params: Vec<String> = action
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let params = if params.is_empty() {
                String::new()
            } else {
                format!(" ({})", params.join(", "))
            };
            let _ = writeln!(
                out,
                "- FIS action: `{}`{params} — {}",
                action.action_id, action.note
            );
        }
        if let Some(caveat) = &c.fis_caveat {
            let _ = writeln!(out, "- Caveat: {caveat}");
        }
        if !c.top_templates.is_empty() {
            let _ = writeln!(out, "\nTop evidence:\n");
            for t in &c.top_templates {
                let _ = writeln!(out, "- {} × `{}`", t.count, md_code(&t.template));
            }
        }
        let _ = writeln!(
            out,
            "\n| Start | Duration | Service | Severity | Events | Peak/min | Resources |"
        );
        let _ = writeln!(out, "|---|---:|---|---|---:|---:|---|");
        for i in &c.incidents {
            let resources: Vec<&str> = i
                .alarms
                .iter()
                .chain(&i.pods)
                .chain(&i.nodes)
                .map(String::as_str)
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                format_time(i.start),
                format_duration(i.duration_ms),
                i.service,
                severity_name(i.severity),
                i.events,
                i.peak_events_per_minute,
                md_escape(&resources.join(", ")),
            );
        }
    }
    let _ = writeln!(out, "\n## Unclassified evidence\n");
    if catalogue.unclassified.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| Count | Level | Template | Services | Last seen |");
        let _ = writeln!(out, "|---:|---|---|---|---|");
        for u in &catalogue.unclassified {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} |",
                u.count,
                u.level,
                md_code(&u.template),
                u.services.join(", "),
                format_time(u.last_seen)
            );
        }
    }
    if !catalogue.experiments.is_empty() {
        let _ = writeln!(out, "\n## Past FIS experiments seen\n");
        for e in &catalogue.experiments {
            let _ = writeln!(
                out,
                "- {} ({}): actions {}; verifies {}",
                e.experiment_id,
                format_time(e.first_seen),
                e.action_ids.join(", "),
                if e.verified_classes.is_empty() {
                    "nothing".to_owned()
                } else {
                    e.verified_classes.join(", ")
                }
            );
        }
    }
    out
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
    }
}

fn fis_summary(class: &ClassSummary) -> String {
    if class.fis_actions.is_empty() {
        "none".to_owned()
    } else {
        class
            .fis_actions
            .iter()
            .map(|a| a.action_id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `1h 05m`, `12m 30s`, `45s`, `0s`.
pub fn format_duration(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|")
}

fn md_code(text: &str) -> String {
    text.replace('`', "'").replace('|', "\\|")
}

/// The verified cell, with the class's last GameDay verdict when the run history was read.
fn with_last_verdict(verified: &str, c: &ClassSummary) -> String {
    match &c.last_verdict {
        Some(v) => format!("{verified} (last: {v})"),
        None => verified.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::stage::{MineOptions, mine};
    use crate::provider::LogEvent;

    fn catalogue() -> Catalogue {
        let line = |minute: i64, text: &str| LogEvent {
            timestamp_ms: 1_741_083_300_000 + minute * 60_000,
            message: text.to_owned(),
            log_stream: Some("checkout-7d9f8c6b5-x2k4q".to_owned()),
            log_group: None,
        };
        let events = vec![
            line(
                0,
                "ERROR dial tcp 10.0.0.5:5432: connect: connection refused",
            ),
            line(
                3,
                "ERROR dial tcp 10.0.0.6:5432: connect: connection refused",
            ),
            line(9, "ERROR something | odd `happened`"),
            line(10, "INFO fine"),
        ];
        mine(events, &MineOptions::default())
    }

    #[test]
    fn table_lists_classes_and_unclassified() {
        let table = render_table(&catalogue());
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("RANK  CLASS"));
        assert!(
            lines[1].starts_with("1     dependency-connection-failure  UNVERIFIED  1"),
            "{table}"
        );
        assert!(lines[1].contains("aws:eks:pod-network-blackhole-port"));
        assert!(lines[1].contains("3m 00s"));
        assert!(table.contains("MTTR = mean incident duration"));
        assert!(table.contains("Unclassified error/warning templates:"));
        assert!(table.contains("something | odd `happened`"));
    }

    #[test]
    fn markdown_has_summary_sections_and_escapes_cells() {
        let markdown = render_markdown(&catalogue());
        assert!(markdown.starts_with("# Incident catalogue\n"));
        assert!(
            markdown
                .contains("| 1 | dependency-connection-failure | **unverified** | 1 | 3m 00s |"),
            "{markdown}"
        );
        assert!(markdown.contains("\n## 1. dependency-connection-failure\n"));
        assert!(markdown.contains(
            "- FIS action: `aws:eks:pod-network-blackhole-port` (protocol=tcp, trafficType=egress)"
        ));
        assert!(
            markdown.contains("| 2025-03-04 10:15 UTC | 3m 00s | checkout | medium | 2 | 1 |"),
            "{markdown}"
        );
        assert!(markdown.contains("\n## Unclassified evidence\n"));
        assert!(
            markdown.contains("something \\| odd 'happened'"),
            "{markdown}"
        );
    }

    #[test]
    fn json_round_trips() {
        let catalogue = catalogue();
        let json = serde_json::to_string_pretty(&catalogue).expect("serialises");
        let back: Catalogue = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, catalogue);
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["classes"][0]["incidents"][0]["severity"], "medium");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(45_000), "45s");
        assert_eq!(format_duration(754_000), "12m 34s");
        assert_eq!(format_duration(3_900_000), "1h 05m");
        assert_eq!(format_duration(90_000_000), "1d 01h");
        assert_eq!(format_duration(-5), "0s");
    }
}
