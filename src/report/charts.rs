//! Small SVG line charts, one per guarded metric and stage: the baseline window and the guard's
//! datapoints over time, the abort threshold drawn as a band, and the fault window shaded.
//!
//! Input: a [`StageRecord`] and the bounds of its hypothesis. Output: [`Chart`]s (file name and
//! SVG text). Must not: read the clock or the file system — the same stage always gives the same
//! bytes — or emit anything that is not well-formed XML (every text is escaped).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::format::{clock, num};
use crate::plan::scenario::HypothesisMetric;
use crate::run::record::StageRecord;

/// One chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedChart {
    /// Path relative to the report directory: `charts/<scenario>--<stage>--<metric>.svg`.
    pub file_name: String,
    /// Alt text.
    pub title: String,
    /// Scenario.
    pub scenario: String,
    /// Stage.
    pub stage: String,
    /// Metric.
    pub metric: String,
    /// The SVG document.
    pub svg: String,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 40.0;
/// Horizontal grid lines (and y labels).
const Y_TICKS: usize = 4;

/// XML-escapes text for element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A file-name-safe form of a name (letters, digits, `-`, `_`).
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The fault window of a stage in epoch seconds: `stage-finished`'s, or from the first
/// `running` state to the first terminal one (or the stop), open-ended if neither came.
pub(crate) fn fault_window(st: &StageRecord) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    if let Some((_, f)) = &st.finished
        && let Some(start) = f.fault_start
    {
        return Some((start, f.fault_end));
    }
    let start = st
        .states
        .iter()
        .find(|(_, s)| s.status == "running")
        .map(|(t, _)| *t)?;
    let end = st
        .states
        .iter()
        .find(|(t, s)| *t >= start && crate::provider::is_terminal_status(&s.status))
        .map(|(t, _)| *t)
        .or(st.stop_confirmed.as_ref().map(|(t, _)| *t));
    Some((start, end))
}

/// The charts of one stage, one per metric seen in its baseline or guard samples, by name.
pub(crate) fn stage_charts(
    scenario: &str,
    st: &StageRecord,
    hypothesis: &[HypothesisMetric],
    run_end: DateTime<Utc>,
) -> Vec<RenderedChart> {
    let mut metrics: BTreeSet<&str> = st.samples.iter().map(|s| s.metric.as_str()).collect();
    if let Some(b) = &st.baseline {
        metrics.extend(b.series.keys().map(String::as_str));
    }
    let window = fault_window(st).map(|(s, e)| {
        let end = e.unwrap_or_else(|| {
            st.samples
                .iter()
                .map(|s| super::format::epoch(s.ts))
                .max()
                .unwrap_or(run_end)
                .max(s)
        });
        (s.timestamp(), end.timestamp())
    });
    metrics
        .into_iter()
        .map(|metric| {
            let plan = hypothesis.iter().find(|h| h.metric == metric);
            let last_bounds = st
                .samples
                .iter()
                .rev()
                .find(|s| s.metric == metric && (s.lower.is_some() || s.upper.is_some()));
            let (lower, upper) = match last_bounds {
                Some(s) => (s.lower, s.upper),
                None => (
                    plan.and_then(|h| h.abort_lower),
                    plan.and_then(|h| h.abort_upper),
                ),
            };
            let baseline: Vec<(i64, f64)> = st
                .baseline
                .as_ref()
                .and_then(|b| b.series.get(metric))
                .map(|s| s.iter().copied().filter(|(_, v)| v.is_finite()).collect())
                .unwrap_or_default();
            let guard: Vec<(i64, f64, bool)> = st
                .samples
                .iter()
                .filter(|s| s.metric == metric && s.value.is_finite())
                .map(|s| (s.ts, s.value, s.breach))
                .collect();
            let title = format!("{metric} — {scenario}, stage {}", st.name);
            let svg = draw(&Series {
                title: &title,
                metric,
                baseline: &baseline,
                guard: &guard,
                lower,
                upper,
                window,
                axis: Axis::Clock,
            });
            RenderedChart {
                file_name: format!(
                    "charts/{}--{}--{}.svg",
                    slug(scenario),
                    slug(&st.name),
                    slug(metric)
                ),
                title,
                scenario: scenario.to_owned(),
                stage: st.name.clone(),
                metric: metric.to_owned(),
                svg,
            }
        })
        .collect()
}

struct Series<'a> {
    title: &'a str,
    metric: &'a str,
    baseline: &'a [(i64, f64)],
    guard: &'a [(i64, f64, bool)],
    lower: Option<f64>,
    upper: Option<f64>,
    window: Option<(i64, i64)>,
    axis: Axis,
}

/// What the x axis shows: the time of day (a stage) or the date (a trend over runs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Axis {
    Clock,
    Date,
}

/// A trend over runs (`gameday history --format markdown`): one line of `(epoch seconds,
/// value)` points, dated on the x axis. Same drawing code and guarantees as the stage charts.
pub(crate) fn trend_chart(title: &str, unit: &str, points: &[(i64, f64)]) -> String {
    let guard: Vec<(i64, f64, bool)> = points
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|&(t, v)| (t, v, false))
        .collect();
    draw(&Series {
        title,
        metric: unit,
        baseline: &[],
        guard: &guard,
        lower: None,
        upper: None,
        window: None,
        axis: Axis::Date,
    })
}

/// Linear map of `v` from `[a, b]` onto `[c, d]`.
fn scale(v: f64, (a, b): (f64, f64), (c, d): (f64, f64)) -> f64 {
    if (b - a).abs() < f64::EPSILON {
        (c + d) / 2.0
    } else {
        c + (v - a) / (b - a) * (d - c)
    }
}

fn draw(s: &Series<'_>) -> String {
    // Ranges.
    let times = s
        .baseline
        .iter()
        .map(|p| p.0)
        .chain(s.guard.iter().map(|p| p.0))
        .chain(s.window.iter().flat_map(|w| [w.0, w.1]));
    let (t0, t1) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let (t0, t1) = if t0 > t1 {
        (0, 1)
    } else if t0 == t1 {
        (t0, t0 + 1)
    } else {
        (t0, t1)
    };
    let values = s
        .baseline
        .iter()
        .map(|p| p.1)
        .chain(s.guard.iter().map(|p| p.1))
        .chain(s.lower)
        .chain(s.upper);
    let (v0, v1) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (v0, v1) = if v0 > v1 {
        (0.0, 1.0)
    } else if (v1 - v0).abs() < f64::EPSILON {
        (v0 - 1.0, v1 + 1.0)
    } else {
        let pad = (v1 - v0) * 0.1;
        // Rates and latencies do not go below zero: keep the axis honest.
        let low = if v0 >= 0.0 {
            (v0 - pad).max(0.0)
        } else {
            v0 - pad
        };
        (low, v1 + pad)
    };
    let (px0, px1) = (LEFT, WIDTH - RIGHT);
    let (py0, py1) = (HEIGHT - BOTTOM, TOP);
    let x = |t: i64| scale(t as f64, (t0 as f64, t1 as f64), (px0, px1));
    let y = |v: f64| scale(v, (v0, v1), (py0, py1));

    let mut o = String::with_capacity(2048 + 24 * (s.baseline.len() + s.guard.len()));
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11" role="img">
<title>{}</title>
<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>
<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{}</text>
"##,
        escape(s.title),
        escape(s.title)
    );
    // Fault window.
    if let Some((a, b)) = s.window {
        let (xa, xb) = (x(a), x(b));
        let _ = writeln!(
            o,
            r##"<rect class="fault-window" x="{xa:.1}" y="{py1:.1}" width="{:.1}" height="{:.1}" fill="#f4a261" fill-opacity="0.2"/>
<text x="{:.1}" y="{:.1}" fill="#9c5a1b">fault</text>"##,
            (xb - xa).max(1.0),
            py0 - py1,
            xa + 3.0,
            py1 + 12.0
        );
    }
    // Abort bands: the region beyond each bound.
    if let Some(u) = s.upper {
        let yu = y(u);
        let _ = writeln!(
            o,
            r##"<rect class="threshold" x="{px0:.1}" y="{py1:.1}" width="{:.1}" height="{:.1}" fill="#d62728" fill-opacity="0.08"/>
<line x1="{px0:.1}" y1="{yu:.1}" x2="{px1:.1}" y2="{yu:.1}" stroke="#d62728" stroke-dasharray="6 3"/>
<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#d62728">abort above {}</text>"##,
            px1 - px0,
            (yu - py1).max(0.0),
            px1 - 2.0,
            yu - 3.0,
            escape(&num(u))
        );
    }
    if let Some(l) = s.lower {
        let yl = y(l);
        let _ = writeln!(
            o,
            r##"<rect class="threshold" x="{px0:.1}" y="{yl:.1}" width="{:.1}" height="{:.1}" fill="#d62728" fill-opacity="0.08"/>
<line x1="{px0:.1}" y1="{yl:.1}" x2="{px1:.1}" y2="{yl:.1}" stroke="#d62728" stroke-dasharray="6 3"/>
<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#d62728">abort below {}</text>"##,
            px1 - px0,
            (py0 - yl).max(0.0),
            px1 - 2.0,
            yl + 12.0,
            escape(&num(l))
        );
    }
    // Axes and grid.
    let _ = writeln!(
        o,
        r##"<line x1="{px0:.1}" y1="{py0:.1}" x2="{px1:.1}" y2="{py0:.1}" stroke="#333333"/>
<line x1="{px0:.1}" y1="{py0:.1}" x2="{px0:.1}" y2="{py1:.1}" stroke="#333333"/>"##
    );
    for i in 0..=Y_TICKS {
        let v = v0 + (v1 - v0) * i as f64 / Y_TICKS as f64;
        let yy = y(v);
        let _ = writeln!(
            o,
            r##"<line x1="{px0:.1}" y1="{yy:.1}" x2="{px1:.1}" y2="{yy:.1}" stroke="#e5e5e5"/>
<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            px0 - 4.0,
            yy + 4.0,
            escape(&num(v))
        );
    }
    for (i, t) in [t0, t0 + (t1 - t0) / 2, t1].into_iter().enumerate() {
        let anchor = ["start", "middle", "end"][i];
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="{anchor}">{} UTC</text>"##,
            x(t),
            py0 + 16.0,
            match s.axis {
                Axis::Clock => clock(super::format::epoch(t)),
                Axis::Date => super::format::epoch(t).format("%Y-%m-%d").to_string(),
            }
        );
    }
    let _ = writeln!(
        o,
        r##"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">{}</text>"##,
        (py0 + py1) / 2.0,
        (py0 + py1) / 2.0,
        escape(s.metric)
    );
    // Lines.
    let mut line = |class: &str, colour: &str, pts: &mut dyn Iterator<Item = (i64, f64)>| {
        let mut points = String::new();
        for (t, v) in pts {
            let _ = write!(points, "{:.1},{:.1} ", x(t), y(v));
        }
        if !points.is_empty() {
            let _ = writeln!(
                o,
                r##"<polyline class="{class}" fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"##,
                points.trim_end()
            );
        }
    };
    line("baseline", "#7f7f7f", &mut s.baseline.iter().copied());
    line("guard", "#1f77b4", &mut s.guard.iter().map(|p| (p.0, p.1)));
    for (t, v, _) in s.guard.iter().filter(|p| p.2) {
        let _ = writeln!(
            o,
            r##"<circle class="breach" cx="{:.1}" cy="{:.1}" r="2.5" fill="#d62728"/>"##,
            x(*t),
            y(*v)
        );
    }
    if s.axis == Axis::Date {
        // A trend has one series, named by the title: no legend.
        o.push_str("</svg>\n");
        return o;
    }
    // Legend.
    let lx = LEFT + 300.0;
    let _ = write!(
        o,
        r##"<g class="legend" font-size="10">
<line x1="{lx:.1}" y1="13" x2="{:.1}" y2="13" stroke="#7f7f7f" stroke-width="1.5"/><text x="{:.1}" y="16">baseline</text>
<line x1="{:.1}" y1="13" x2="{:.1}" y2="13" stroke="#1f77b4" stroke-width="1.5"/><text x="{:.1}" y="16">guard</text>
<circle cx="{:.1}" cy="13" r="2.5" fill="#d62728"/><text x="{:.1}" y="16">breach</text>
<rect x="{:.1}" y="8" width="12" height="10" fill="#f4a261" fill-opacity="0.4"/><text x="{:.1}" y="16">fault window</text>
</g>
</svg>
"##,
        lx + 16.0,
        lx + 20.0,
        lx + 70.0,
        lx + 86.0,
        lx + 90.0,
        lx + 130.0,
        lx + 136.0,
        lx + 180.0,
        lx + 196.0
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_xml_specials() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(escape("x\u{1}y"), "x y");
    }

    #[test]
    fn a_chart_without_data_is_still_a_document() {
        let svg = draw(&Series {
            title: "empty <chart>",
            metric: "m",
            baseline: &[],
            guard: &[],
            lower: None,
            upper: None,
            window: None,
            axis: Axis::Clock,
        });
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(svg.contains("empty &lt;chart&gt;"));
    }

    #[test]
    fn the_threshold_band_and_fault_window_are_drawn_where_the_data_says() {
        let guard = [(100, 0.5, false), (110, 1.5, true), (120, 0.4, false)];
        let svg = draw(&Series {
            title: "t",
            metric: "error_rate",
            baseline: &[(90, 0.4)],
            guard: &guard,
            lower: None,
            upper: Some(1.0),
            window: Some((100, 115)),
            axis: Axis::Clock,
        });
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        let by_class = |c: &str| {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(c))
                .count()
        };
        assert_eq!(by_class("breach"), 1);
        assert_eq!(by_class("threshold"), 1);
        assert_eq!(by_class("fault-window"), 1);
        // The fault window spans 15 of the 30 seconds shown: half the plot width.
        let w: f64 = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("fault-window"))
            .and_then(|n| n.attribute("width"))
            .and_then(|w| w.parse().ok())
            .expect("width");
        assert!((w - (WIDTH - LEFT - RIGHT) / 2.0).abs() < 0.2, "{w}");
    }

    #[test]
    fn a_trend_is_dated_and_has_one_line_and_no_legend() {
        let day = 86_400;
        let svg = trend_chart(
            "score <x>",
            "score",
            &[(20 * 365 * day, 40.0), (20 * 365 * day + 7 * day, 55.0)],
        );
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        let lines: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("guard"))
            .collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            lines[0].attribute("points").map(|p| p.split(' ').count()),
            Some(2)
        );
        assert!(svg.contains("1989-12-27"), "dated axis: {svg}");
        assert!(!svg.contains("class=\"legend\""));
    }
}
