//! Small SVG line charts, one per guarded metric and stage, laid out like a monitoring panel:
//! a narrow panel with the (compressed) baseline window, a broken axis, then the fault and
//! recovery window with most of the width — guard datapoints, breaches, the baseline's p5–p95
//! range as a band, the abort bound as a dashed line over its shaded region, the fault window
//! in orange and recovery in green. Nice y ticks carry the metric's unit; the legend has its
//! own row under the title; labels inside the plot are placed where they collide with no
//! other text (text extents estimated from font size and character count, see [`TextBox`]).
//!
//! Input: a [`StageRecord`] and the bounds of its hypothesis. Output: [`RenderedChart`]s (file
//! name and SVG text). Must not: read the clock or the file system — the same stage always
//! gives the same bytes — or emit anything that is not well-formed XML (every text is escaped).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::format::clock;
use crate::model::record::StageRecord;
use crate::plan::scenario::HypothesisMetric;

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

/// Canvas size: about the width a markdown viewer gives an image in a column of text, so the
/// SVG is shown at 1:1 and its 12 px text stays readable.
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 320.0;
/// Left margin: room for the rotated axis title and the y tick labels with their unit.
const LEFT: f64 = 96.0;
const RIGHT: f64 = 18.0;
/// The title row, then the legend row, then the plot.
const TITLE_Y: f64 = 22.0;
const LEGEND_Y: f64 = 44.0;
const PLOT_TOP: f64 = 60.0;
/// Below the plot: tick labels, then the axis caption.
const PLOT_BOTTOM: f64 = HEIGHT - 50.0;
/// Share of the plot width given to the (compressed) baseline window: the fault and recovery
/// window is what a reader came for, the baseline is context.
const BASELINE_SHARE: f64 = 0.2;
/// Gap between the baseline panel and the fault panel (the axis is broken there).
const PANEL_GAP: f64 = 16.0;
/// Font sizes, px.
const FONT: f64 = 12.0;
const TITLE_FONT: f64 = 15.0;
/// Average advance of a sans-serif character, in em: an upper estimate, so text that the
/// layout believes fits does fit.
pub(crate) const CHAR_EM: f64 = 0.6;
/// Target number of y ticks.
const Y_TICKS: f64 = 5.0;

/// Colours, the same in every chart: grey baseline, blue guard datapoints, red for breaches
/// and the abort threshold, orange fault window, green recovery window.
const C_BASELINE: &str = "#7f7f7f";
const C_GUARD: &str = "#1f77b4";
const C_ABORT: &str = "#d62728";
const C_FAULT: &str = "#f4a261";
const C_FAULT_TEXT: &str = "#8a4b0f";
const C_RECOVERY: &str = "#2ca02c";
const C_RECOVERY_TEXT: &str = "#1b6b1b";
const C_GRID: &str = "#e5e5e5";
const C_AXIS: &str = "#333333";
/// Attribute of the grey captions under the axis.
const CAPTION_FILL: &str = " fill=\"#555555\"";

/// The box a line of text occupies, estimated from its font size and character count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TextBox {
    pub(crate) x0: f64,
    pub(crate) y0: f64,
    pub(crate) x1: f64,
    pub(crate) y1: f64,
}

impl TextBox {
    /// The box of `text` drawn at `(x, y)` (the baseline) with `anchor` (`start`, `middle`,
    /// `end`) and font `size`.
    pub(crate) fn of(text: &str, x: f64, y: f64, anchor: &str, size: f64) -> Self {
        let w = text.chars().count() as f64 * size * CHAR_EM;
        let x0 = match anchor {
            "middle" => x - w / 2.0,
            "end" => x - w,
            _ => x,
        };
        Self {
            x0,
            y0: y - 0.8 * size,
            x1: x0 + w,
            y1: y + 0.25 * size,
        }
    }

    /// The same box turned by -90° around `(cx, cy)` (a vertical axis title).
    pub(crate) fn rotated_left(self, cx: f64, cy: f64) -> Self {
        // A point (x, y) goes to (cx + (y - cy), cy - (x - cx)).
        Self {
            x0: cx + (self.y0 - cy),
            x1: cx + (self.y1 - cy),
            y0: cy - (self.x1 - cx),
            y1: cy - (self.x0 - cx),
        }
    }

    /// Whether two boxes share any area.
    pub(crate) fn overlaps(&self, o: &Self) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    fn inside(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> bool {
        self.x0 >= x0 && self.x1 <= x1 && self.y0 >= y0 && self.y1 <= y1
    }
}

/// The unit of a metric, from the usual suffix of its name (`p99_latency_ms` → `ms`).
fn unit(metric: &str) -> &'static str {
    let m = metric.to_ascii_lowercase();
    if m.ends_with("_ms") || m.ends_with("_millis") {
        "ms"
    } else if m.ends_with("_s") || m.ends_with("_secs") || m.ends_with("_seconds") {
        "s"
    } else if m.ends_with("_pct") || m.ends_with("_percent") {
        "%"
    } else if m.ends_with("_bytes") {
        "B"
    } else if m.ends_with("_per_s") || m.ends_with("_per_second") || m == "request_rate" {
        // The demo's and the derived hypotheses' request rate is per second.
        "/s"
    } else {
        ""
    }
}

/// A "nice" step (1, 2, 2.5 or 5 times a power of ten) at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let f = raw / p;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * p
}

/// Nice y ticks covering `[v0, v1]`: the rounded range and the tick values.
fn nice_ticks(v0: f64, v1: f64) -> (f64, f64, Vec<f64>) {
    let step = nice_step((v1 - v0) / Y_TICKS);
    let lo = (v0 / step).floor() * step;
    let hi = (v1 / step).ceil() * step;
    let n = ((hi - lo) / step).round() as usize;
    let ticks = (0..=n).map(|i| lo + step * i as f64).collect();
    (lo, hi, ticks)
}

/// A value with as many decimals as `step` needs, and the unit; large steps in thousands
/// (`k`) or millions (`M`) so the label fits the margin.
fn tick_label(v: f64, step: f64, unit: &str) -> String {
    let (v, step, si) = if step >= 1e6 {
        (v / 1e6, step / 1e6, "M")
    } else if step >= 1e4 {
        (v / 1e3, step / 1e3, "k")
    } else {
        (v, step, "")
    };
    let decimals = if step >= 1.0 && step.fract().abs() < 1e-9 {
        0
    } else {
        let d = (-step.log10().floor()).max(0.0) as usize;
        // 2.5, 0.25, …: one more digit.
        let mantissa = step * 10f64.powi(i32::try_from(d).unwrap_or(0));
        if (mantissa - 2.5).abs() < 1e-9 {
            d + 1
        } else {
            d
        }
    };
    let mut s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s.remove(0);
    }
    s.push_str(si);
    match unit {
        "" => s,
        "/s" => format!("{s}/s"),
        u => format!("{s} {u}"),
    }
}

/// A bound as the threshold label gives it: the journal's value with up to 3 significant
/// decimals, and the unit.
fn bound_label(v: f64, unit: &str) -> String {
    let s = super::format::num(v);
    match unit {
        "" => s,
        "/s" => format!("{s}/s"),
        u => format!("{s} {u}"),
    }
}

/// Time tick step (seconds) for a span so that fewer than `fit` labels are drawn.
fn time_step(span: i64, fit: usize) -> i64 {
    const STEPS: [i64; 16] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 86_400,
    ];
    let fit = i64::try_from(fit.max(2)).unwrap_or(2);
    STEPS.into_iter().find(|s| span / s < fit).unwrap_or(86_400)
}

/// A tick step in whole days for a dated axis of `span` seconds with room for `fit` labels.
fn day_step(span: i64, fit: usize) -> i64 {
    const DAYS: [i64; 7] = [1, 2, 7, 14, 28, 91, 182];
    let fit = i64::try_from(fit.max(2)).unwrap_or(2);
    DAYS.into_iter()
        .map(|d| d * 86_400)
        .find(|s| span / s < fit)
        .unwrap_or(365 * 86_400)
}

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
}

/// Linear map of `v` from `[a, b]` onto `[c, d]`.
fn scale(v: f64, (a, b): (f64, f64), (c, d): (f64, f64)) -> f64 {
    if (b - a).abs() < f64::EPSILON {
        (c + d) / 2.0
    } else {
        c + (v - a) / (b - a) * (d - c)
    }
}

/// The `q` quantile (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).copied()
}

/// The SVG being written, and the boxes of the texts placed so far (labels are placed where
/// they do not collide with those).
struct Canvas {
    out: String,
    boxes: Vec<TextBox>,
    /// Where the data is drawn (datapoints and the guard line): labels avoid it when they can.
    marks: Vec<TextBox>,
}

impl Canvas {
    /// Writes a text element; `extra` goes into the element's attributes.
    fn text(&mut self, text: &str, x: f64, y: f64, anchor: &str, size: f64, extra: &str) {
        self.boxes.push(TextBox::of(text, x, y, anchor, size));
        let _ = writeln!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}"{extra}>{}</text>"#,
            escape(text)
        );
    }

    /// Places `text` at the first candidate `(x, y, anchor)` whose box is inside the area
    /// `(x0, y0, x1, y1)` and collides with no text placed before and no data; failing that, at
    /// the first one clear of text only (a label over the line beats no label); skips it when
    /// none fits.
    fn label(
        &mut self,
        text: &str,
        candidates: &[(f64, f64, &str)],
        area: (f64, f64, f64, f64),
        extra: &str,
    ) -> bool {
        let extra = format!(r#" class="label"{extra}"#);
        for avoid_data in [true, false] {
            for &(x, y, anchor) in candidates {
                let b = TextBox::of(text, x, y, anchor, FONT);
                if b.inside(area.0, area.1, area.2, area.3)
                    && !self.boxes.iter().any(|o| o.overlaps(&b))
                    && !(avoid_data && self.marks.iter().any(|o| o.overlaps(&b)))
                {
                    self.text(text, x, y, anchor, FONT, &extra);
                    return true;
                }
            }
        }
        false
    }

    /// Draws one abort threshold: the region beyond it, `band` (`top` and `height`, px), shaded
    /// faintly across the plot `x0..x1`, and the bound itself as a dashed line at `y`.
    fn threshold_band(&mut self, (x0, x1): (f64, f64), (top, height): (f64, f64), y: f64) {
        let _ = writeln!(
            self.out,
            r#"<rect class="threshold" x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{C_ABORT}" fill-opacity="0.06"/>
<line class="threshold-line" x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="{C_ABORT}" stroke-dasharray="6 3"/>"#,
            x1 - x0,
            height
        );
    }

    /// Records the data drawn through `pts` (screen coordinates): a box around each point and
    /// along each segment, every few pixels.
    fn mark_line(&mut self, pts: &[(f64, f64)]) {
        const R: f64 = 4.0;
        let dot = |x: f64, y: f64| TextBox {
            x0: x - R,
            y0: y - R,
            x1: x + R,
            y1: y + R,
        };
        for (i, &(x, y)) in pts.iter().enumerate() {
            self.marks.push(dot(x, y));
            if let Some(&(nx, ny)) = pts.get(i + 1) {
                let steps = ((nx - x).hypot(ny - y) / R).ceil().max(1.0) as usize;
                for k in 1..steps {
                    let f = k as f64 / steps as f64;
                    self.marks.push(dot(x + (nx - x) * f, y + (ny - y) * f));
                }
            }
        }
    }
}

/// Shortens `text` with an ellipsis so it fits `width` px at `size`.
fn fit(text: &str, width: f64, size: f64) -> String {
    let max = (width / (size * CHAR_EM)).floor() as usize;
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

fn draw(s: &Series<'_>) -> String {
    draw_on(s, Axis::Clock)
}

/// What the x axis shows: the time of day (a stage) or the date (a trend over runs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Axis {
    Clock,
    Date,
}

/// A trend over runs (`gameday history --format markdown`): one line of `(epoch seconds,
/// value)` points, dated on the x axis. Same drawing code and layout guarantees as the stage
/// charts; one series, named by the title, so no legend.
pub(crate) fn trend_chart(title: &str, unit: &str, points: &[(i64, f64)]) -> String {
    let guard: Vec<(i64, f64, bool)> = points
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|&(t, v)| (t, v, false))
        .collect();
    draw_on(
        &Series {
            title,
            metric: unit,
            baseline: &[],
            guard: &guard,
            lower: None,
            upper: None,
            window: None,
        },
        Axis::Date,
    )
}

#[expect(
    clippy::too_many_lines,
    reason = "one chart, drawn top to bottom in paint order"
)]
fn draw_on(s: &Series<'_>, axis: Axis) -> String {
    let unit = unit(s.metric);
    let mut c = Canvas {
        out: String::with_capacity(4096 + 24 * (s.baseline.len() + s.guard.len())),
        boxes: Vec::new(),
        marks: Vec::new(),
    };
    let _ = write!(
        c.out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="{FONT}" role="img">
<title>{}</title>
<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>
<style>text {{ paint-order: stroke; stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }}</style>
"##,
        escape(s.title)
    );
    let title = fit(s.title, WIDTH - 24.0, TITLE_FONT);
    // The only text that may be shortened (the full title is the SVG's <title>).
    c.text(
        &title,
        12.0,
        TITLE_Y,
        "start",
        TITLE_FONT,
        r#" class="title" font-weight="bold""#,
    );

    // Horizontal layout: a narrow baseline panel, then the fault and recovery panel.
    let fault_times: Vec<i64> = s
        .guard
        .iter()
        .map(|p| p.0)
        .chain(s.window.iter().flat_map(|w| [w.0, w.1]))
        .collect();
    let (plot0, plot1) = (LEFT, WIDTH - RIGHT);
    let has_base = !s.baseline.is_empty();
    let has_main = !fault_times.is_empty();
    let base_panel = has_base.then(|| {
        let right = if has_main {
            plot0 + (plot1 - plot0) * BASELINE_SHARE
        } else {
            plot1
        };
        (plot0, right)
    });
    let main_panel = has_main.then(|| {
        let left = base_panel.map_or(plot0, |(_, r)| r + PANEL_GAP);
        (left, plot1)
    });
    let span = |ts: &mut dyn Iterator<Item = i64>| {
        let (a, b) = ts.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
        if a > b {
            (0, 1)
        } else if a == b {
            (a - 1, b + 1)
        } else {
            (a, b)
        }
    };
    let base_t = span(&mut s.baseline.iter().map(|p| p.0));
    let main_t = {
        let (a, b) = span(&mut fault_times.iter().copied());
        // A little air on both sides so the first and last datapoints are not on the frame.
        let pad = ((b - a) / 20).max(1);
        (a - pad, b + pad)
    };

    // Vertical range: every value and bound, rounded out to nice ticks.
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
        // Rates and latencies do not go below zero: keep the axis honest.
        let low = if v0 >= 0.0 && v0 - (v1 - v0) * 0.1 < 0.0 {
            0.0
        } else {
            v0
        };
        (low, v1 + (v1 - v0) * 0.05)
    };
    let (v0, v1, ticks) = nice_ticks(v0, v1);
    let step = ticks.get(1).map_or(1.0, |t| t - ticks[0]);
    let (py0, py1) = (PLOT_BOTTOM, PLOT_TOP);
    let y = |v: f64| scale(v, (v0, v1), (py0, py1));
    let panel_x = |(l, r): (f64, f64), (a, b): (i64, i64)| {
        move |t: i64| scale(t as f64, (a as f64, b as f64), (l, r))
    };

    // Grid and y ticks, across both panels.
    for v in &ticks {
        let yy = y(*v);
        let _ = writeln!(
            c.out,
            r#"<line class="grid" x1="{plot0:.1}" y1="{yy:.1}" x2="{plot1:.1}" y2="{yy:.1}" stroke="{C_GRID}"/>"#
        );
        c.text(
            &tick_label(*v, step, unit),
            plot0 - 6.0,
            yy + 4.0,
            "end",
            FONT,
            "",
        );
    }
    let axis_title = if unit.is_empty() {
        s.metric.to_owned()
    } else {
        format!("{} ({unit})", s.metric)
    };
    let mid = (py0 + py1) / 2.0;
    let axis_title = fit(&axis_title, py0 - py1, FONT);
    c.boxes
        .push(TextBox::of(&axis_title, 16.0, mid, "middle", FONT).rotated_left(16.0, mid));
    let _ = writeln!(
        c.out,
        r#"<text class="axis-title" x="16" y="{mid:.1}" transform="rotate(-90 16 {mid:.1})" text-anchor="middle" font-size="{FONT}">{}</text>"#,
        escape(&axis_title)
    );

    // The baseline band (p5–p95 of the baseline window) behind the fault panel.
    let mut base_sorted: Vec<f64> = s.baseline.iter().map(|p| p.1).collect();
    base_sorted.sort_by(f64::total_cmp);
    let band = quantile(&base_sorted, 0.05).zip(quantile(&base_sorted, 0.95));
    if let (Some((l, r)), Some((lo, hi))) = (main_panel, band) {
        let (ya, yb) = (y(hi), y(lo));
        let _ = writeln!(
            c.out,
            r#"<rect class="baseline-band" x="{l:.1}" y="{ya:.1}" width="{:.1}" height="{:.1}" fill="{C_BASELINE}" fill-opacity="0.15"/>"#,
            r - l,
            (yb - ya).max(1.0)
        );
    }

    // Fault and recovery windows.
    let mut window_labels = Vec::new();
    if let (Some(panel), Some((a, b))) = (main_panel, s.window) {
        let x = panel_x(panel, main_t);
        let (xa, xb) = (x(a), x(b));
        let _ = writeln!(
            c.out,
            r#"<rect class="fault-window" x="{xa:.1}" y="{py1:.1}" width="{:.1}" height="{:.1}" fill="{C_FAULT}" fill-opacity="0.25"/>"#,
            (xb - xa).max(2.0),
            py0 - py1
        );
        window_labels.push(("fault", xa, xb, C_FAULT_TEXT));
        let last = s.guard.iter().map(|p| p.0).max().unwrap_or(b);
        if last > b {
            let xr = x(last);
            let _ = writeln!(
                c.out,
                r#"<rect class="recovery-window" x="{xb:.1}" y="{py1:.1}" width="{:.1}" height="{:.1}" fill="{C_RECOVERY}" fill-opacity="0.12"/>"#,
                xr - xb,
                py0 - py1
            );
            window_labels.push(("recovery", xb, xr, C_RECOVERY_TEXT));
        }
    }

    // Abort thresholds: the region beyond each bound, and the bound as a dashed line.
    let mut threshold_labels = Vec::new();
    if let Some(u) = s.upper {
        let yu = y(u);
        c.threshold_band((plot0, plot1), (py1, (yu - py1).max(0.0)), yu);
        threshold_labels.push((format!("abort above {}", bound_label(u, unit)), yu, true));
    }
    if let Some(l) = s.lower {
        let yl = y(l);
        c.threshold_band((plot0, plot1), (yl, (py0 - yl).max(0.0)), yl);
        threshold_labels.push((format!("abort below {}", bound_label(l, unit)), yl, false));
    }

    // Axes, time ticks and panel captions.
    let line = |c: &mut Canvas, class: &str, colour: &str, pts: &[(f64, f64)]| {
        if pts.is_empty() {
            return;
        }
        let points: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
        let _ = writeln!(
            c.out,
            r#"<polyline class="{class}" fill="none" stroke="{colour}" stroke-width="1.8" stroke-linejoin="round" points="{}"/>"#,
            points.join(" ")
        );
    };
    let caption_y = HEIGHT - 10.0;
    if let Some(panel) = base_panel {
        let x = panel_x(panel, base_t);
        let _ = writeln!(
            c.out,
            r#"<line x1="{:.1}" y1="{py0:.1}" x2="{:.1}" y2="{py0:.1}" stroke="{C_AXIS}"/>"#,
            panel.0, panel.1
        );
        let pts: Vec<(f64, f64)> = s.baseline.iter().map(|p| (x(p.0), y(p.1))).collect();
        line(&mut c, "baseline", C_BASELINE, &pts);
        c.mark_line(&pts);
        let mid = (panel.0 + panel.1) / 2.0;
        let width = panel.1 - panel.0;
        // Whole minutes: the window is minutes long, and a shorter caption fits the panel.
        let minutes = u64::try_from((base_t.1 - base_t.0 + 30) / 60).unwrap_or(0);
        let length = if minutes == 0 {
            super::format::secs(u64::try_from(base_t.1 - base_t.0).unwrap_or(0))
        } else {
            super::format::secs(minutes * 60)
        };
        let texts = [
            (format!("baseline {length}"), py0 + 16.0),
            (
                format!("to {} UTC", clock(super::format::epoch(base_t.1))),
                py0 + 30.0,
            ),
        ];
        for (t, ty) in texts {
            let t = fit(&t, width, FONT);
            c.text(&t, mid, ty, "middle", FONT, CAPTION_FILL);
        }
    }
    if let Some(panel) = main_panel {
        let x = panel_x(panel, main_t);
        let _ = writeln!(
            c.out,
            r#"<line x1="{:.1}" y1="{py0:.1}" x2="{:.1}" y2="{py0:.1}" stroke="{C_AXIS}"/>"#,
            panel.0, panel.1
        );
        if base_panel.is_some() {
            // The broken axis between the panels.
            let bx = panel.0 - PANEL_GAP / 2.0;
            let _ = writeln!(
                c.out,
                r#"<path class="axis-break" d="M{:.1},{:.1} l6,-8 M{:.1},{:.1} l6,-8" stroke="{C_AXIS}" fill="none"/>"#,
                bx - 6.0,
                py0 + 4.0,
                bx - 1.0,
                py0 + 4.0
            );
        }
        let label_chars = if axis == Axis::Date { 10.0 } else { 8.0 };
        let label_w = label_chars * FONT * CHAR_EM + 14.0;
        let fit_n = ((panel.1 - panel.0) / label_w).floor() as usize;
        let step = match axis {
            Axis::Clock => time_step(main_t.1 - main_t.0, fit_n),
            Axis::Date => day_step(main_t.1 - main_t.0, fit_n),
        };
        let first = (main_t.0 + step - 1).div_euclid(step) * step;
        let mut t = first;
        while t <= main_t.1 {
            let xx = x(t);
            let label = match axis {
                Axis::Clock => clock(super::format::epoch(t)),
                Axis::Date => super::format::epoch(t).format("%Y-%m-%d").to_string(),
            };
            let b = TextBox::of(&label, xx, py0 + 16.0, "middle", FONT);
            if b.x0 >= panel.0 - 4.0 && b.x1 <= WIDTH - 2.0 {
                let _ = writeln!(
                    c.out,
                    r#"<line x1="{xx:.1}" y1="{py0:.1}" x2="{xx:.1}" y2="{:.1}" stroke="{C_AXIS}"/>"#,
                    py0 + 4.0
                );
                c.text(&label, xx, py0 + 16.0, "middle", FONT, "");
            }
            t += step;
        }
        let caption = match axis {
            // A datapoint is drawn at the start of its period, as CloudWatch stamps it: a breach
            // read just after the fault began can sit a little before the fault's shading.
            Axis::Clock => format!(
                "UTC time each datapoint starts; ticks every {}",
                super::format::secs(u64::try_from(step).unwrap_or(1))
            ),
            // A trend has runs, not a fault; its step is whole days.
            Axis::Date => match step / 86_400 {
                1 => "date of the run (UTC); ticks every day".to_owned(),
                days => format!("date of the run (UTC); ticks every {days} days"),
            },
        };
        c.text(
            &caption,
            (panel.0 + panel.1) / 2.0,
            caption_y,
            "middle",
            FONT,
            CAPTION_FILL,
        );
        let pts: Vec<(f64, f64)> = s.guard.iter().map(|p| (x(p.0), y(p.1))).collect();
        line(&mut c, "guard", C_GUARD, &pts);
        c.mark_line(&pts);
        for (t, v, breach) in s.guard {
            let (class, r, colour) = if *breach {
                ("breach", 4.0, C_ABORT)
            } else {
                ("datapoint", 2.5, C_GUARD)
            };
            let _ = writeln!(
                c.out,
                r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="{r}" fill="{colour}"/>"#,
                x(*t),
                y(*v)
            );
        }
    }
    let _ = writeln!(
        c.out,
        r#"<line x1="{plot0:.1}" y1="{py0:.1}" x2="{plot0:.1}" y2="{py1:.1}" stroke="{C_AXIS}"/>"#
    );

    // Labels inside the plot, placed where they collide with nothing.
    let area = (plot0 + 2.0, py1, plot1, py0);
    for (text, xa, xb, colour) in window_labels {
        let ty = py1 + 14.0;
        let fill = format!(r#" fill="{colour}""#);
        c.label(
            text,
            &[
                (xa + 4.0, ty, "start"),
                (xb - 4.0, ty, "end"),
                ((xa + xb) / 2.0, ty + 14.0, "middle"),
                (xb + 4.0, ty + 14.0, "start"),
                (xa - 4.0, ty + 14.0, "end"),
            ],
            area,
            &fill,
        );
    }
    let (main_l, main_r) = main_panel.or(base_panel).unwrap_or((plot0, plot1));
    for (text, yy, above) in threshold_labels {
        let (first, second) = if above {
            (yy - 5.0, yy + 15.0)
        } else {
            (yy + 15.0, yy - 5.0)
        };
        let fill = format!(r#" fill="{C_ABORT}""#);
        c.label(
            &text,
            &[
                (main_r - 4.0, first, "end"),
                (main_l + 4.0, first, "start"),
                (main_r - 4.0, second, "end"),
                (main_l + 4.0, second, "start"),
                (plot0 + 4.0, first, "start"),
                (plot0 + 4.0, second, "start"),
            ],
            area,
            &fill,
        );
    }

    // Legend: its own row under the title, only what the chart shows.
    let mut items: Vec<(&str, String)> = Vec::new();
    if has_base {
        items.push((
            "baseline",
            format!(r#"<line x1="{{x}}" y1="{{y}}" x2="{{x2}}" y2="{{y}}" stroke="{C_BASELINE}" stroke-width="2"/>"#),
        ));
        if has_main {
            items.push((
                "baseline range",
                format!(r#"<rect x="{{x}}" y="{{ytop}}" width="14" height="10" fill="{C_BASELINE}" fill-opacity="0.3"/>"#),
            ));
        }
    }
    if !s.guard.is_empty() {
        items.push((
            "guard",
            format!(r#"<line x1="{{x}}" y1="{{y}}" x2="{{x2}}" y2="{{y}}" stroke="{C_GUARD}" stroke-width="2"/>"#),
        ));
    }
    if s.guard.iter().any(|p| p.2) {
        items.push((
            "breach",
            format!(r#"<circle cx="{{xc}}" cy="{{y}}" r="4" fill="{C_ABORT}"/>"#),
        ));
    }
    if s.upper.is_some() || s.lower.is_some() {
        items.push((
            "abort bound",
            format!(r#"<line x1="{{x}}" y1="{{y}}" x2="{{x2}}" y2="{{y}}" stroke="{C_ABORT}" stroke-dasharray="6 3"/>"#),
        ));
    }
    if s.window.is_some() && has_main {
        items.push((
            "fault",
            format!(r#"<rect x="{{x}}" y="{{ytop}}" width="14" height="10" fill="{C_FAULT}" fill-opacity="0.5"/>"#),
        ));
        let last = s.guard.iter().map(|p| p.0).max();
        if s.window.zip(last).is_some_and(|((_, b), l)| l > b) {
            items.push((
                "recovery",
                format!(r#"<rect x="{{x}}" y="{{ytop}}" width="14" height="10" fill="{C_RECOVERY}" fill-opacity="0.3"/>"#),
            ));
        }
    }
    if axis == Axis::Date {
        // A trend has one series, named by the title: no legend.
        let _ = writeln!(c.out, "</svg>");
        return c.out;
    }
    let _ = writeln!(c.out, r#"<g class="legend">"#);
    let mut lx = 12.0;
    for (text, swatch) in items {
        let w = 18.0 + text.chars().count() as f64 * FONT * CHAR_EM;
        if lx + w > WIDTH - 12.0 {
            break;
        }
        let sy = LEGEND_Y - 4.0;
        let _ = writeln!(
            c.out,
            "{}",
            swatch
                .replace("{x}", &format!("{lx:.1}"))
                .replace("{x2}", &format!("{:.1}", lx + 14.0))
                .replace("{xc}", &format!("{:.1}", lx + 7.0))
                .replace("{ytop}", &format!("{:.1}", sy - 5.0))
                .replace("{y}", &format!("{sy:.1}"))
        );
        c.text(text, lx + 18.0, LEGEND_Y, "start", FONT, "");
        lx += w + 16.0;
    }
    let _ = writeln!(c.out, "</g>\n</svg>");
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(svg.contains("1989-12-2"), "dated axis: {svg}");
        assert!(svg.contains("date of the run (UTC); ticks every "), "{svg}");
        assert!(!svg.contains("fault"), "a trend has no fault window: {svg}");
        assert!(!svg.contains("class=\"legend\""));
    }

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
        assert_eq!(by_class("recovery-window"), 1);
    }

    type GuardPoint = (i64, f64, bool);

    /// A demo-like stage: 10 minutes of baseline at 5 s, a 5 s fault, 10 s of recovery.
    fn demo_like(
        upper: Option<f64>,
        lower: Option<f64>,
        spike: f64,
    ) -> (Vec<(i64, f64)>, Vec<GuardPoint>) {
        let t0 = 1_764_763_000;
        let baseline = (0..120)
            .map(|i| (t0 - 600 + 5 * i, 300.0 + f64::from((i % 7) as i32) * 3.0))
            .collect();
        let guard = (0..6)
            .map(|i| {
                let v = if i == 3 { spike } else { 300.0 };
                let breach = upper.is_some_and(|u| v > u) || lower.is_some_and(|l| v < l);
                (t0 + 5 * i, v, breach)
            })
            .collect();
        (baseline, guard)
    }

    #[test]
    fn the_fault_and_recovery_window_gets_most_of_the_width_whatever_the_baseline() {
        let (baseline, guard) = demo_like(Some(357.0), None, 3015.0);
        let t0 = guard[0].0;
        let svg = draw(&Series {
            title: "p99_latency_ms — payments, stage percent-10",
            metric: "p99_latency_ms",
            baseline: &baseline,
            guard: &guard,
            lower: None,
            upper: Some(357.0),
            window: Some((t0 + 12, t0 + 17)),
        });
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        let width = |class: &str| -> f64 {
            doc.descendants()
                .find(|n| n.attribute("class") == Some(class))
                .and_then(|n| n.attribute("width"))
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("{class} has a width"))
        };
        let plot = WIDTH - LEFT - RIGHT;
        // 5 s of fault next to 10 min of baseline: an eighth of the plot or more, not a sliver.
        assert!(
            width("fault-window") > plot * 0.12,
            "{}",
            width("fault-window")
        );
        assert!(
            width("fault-window") + width("recovery-window") > plot * 0.35,
            "fault + recovery"
        );
        // Nice ticks with the unit.
        for t in ["0 ms", "1000 ms", "2000 ms", "3000 ms"] {
            assert!(svg.contains(&format!(">{t}<")), "tick {t} in\n{svg}");
        }
    }

    #[test]
    fn nice_ticks_and_labels() {
        assert_eq!(
            nice_ticks(17.5, 3288.0).2,
            vec![0.0, 1000.0, 2000.0, 3000.0, 4000.0]
        );
        assert_eq!(nice_ticks(-1.73, 5.3).2.len(), 5);
        assert_eq!(tick_label(0.25, 0.25, ""), "0.25");
        assert_eq!(tick_label(2.0, 2.0, "/s"), "2/s");
        assert_eq!(tick_label(-0.0, 0.5, "ms"), "0.0 ms");
        assert_eq!(unit("p99_latency_ms"), "ms");
        assert_eq!(unit("error_rate"), "");
    }

    /// The estimated box of every `<text>` of a chart, with its text and class.
    fn text_boxes(svg: &str) -> Vec<(String, TextBox, Option<String>)> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed");
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| {
                let inherited = |attr: &str| {
                    n.ancestors()
                        .find_map(|a| a.attribute(attr))
                        .map(str::to_owned)
                };
                let num = |v: Option<String>| v.and_then(|v| v.parse::<f64>().ok());
                let size = num(inherited("font-size")).expect("a font size");
                let x = num(n.attribute("x").map(str::to_owned)).expect("x");
                let y = num(n.attribute("y").map(str::to_owned)).expect("y");
                let anchor = inherited("text-anchor").unwrap_or_else(|| "start".to_owned());
                let text = n.text().unwrap_or_default().to_owned();
                let mut b = TextBox::of(&text, x, y, &anchor, size);
                if let Some(t) = n.attribute("transform") {
                    let args: Vec<f64> = t
                        .trim_start_matches("rotate(")
                        .trim_end_matches(')')
                        .split_whitespace()
                        .filter_map(|v| v.parse().ok())
                        .collect();
                    assert_eq!(args.first(), Some(&-90.0), "only left turns are drawn: {t}");
                    b = b.rotated_left(args[1], args[2]);
                }
                (text, b, n.attribute("class").map(str::to_owned))
            })
            .collect()
    }

    /// With `GAMEDAY_CHART_DUMP=DIR`, the layout test also writes every chart kind it checks to
    /// DIR as SVG, to be looked at (e.g. `rsvg-convert -o x.png x.svg`).
    fn dump(name: &str, svg: &str) {
        if let Some(dir) = std::env::var_os("GAMEDAY_CHART_DUMP") {
            let file: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            std::fs::write(std::path::Path::new(&dir).join(format!("{file}.svg")), svg)
                .expect("write the chart dump");
        }
    }

    /// No text leaves the canvas, no two texts overlap, and no text is cut short to fit except
    /// the title and the axis title (names of any length; the full title is the SVG's
    /// `<title>`): a caption, tick, legend or label cut with an ellipsis ("until 11:59:11 U…")
    /// has lost what it was there to say.
    fn assert_layout(name: &str, svg: &str) {
        dump(name, svg);
        let boxes = text_boxes(svg);
        assert!(!boxes.is_empty(), "{name}: no text");
        for (t, b, class) in &boxes {
            assert!(
                b.x0 >= 0.0 && b.y0 >= 0.0 && b.x1 <= WIDTH && b.y1 <= HEIGHT,
                "{name}: {t:?} leaves the canvas: {b:?}"
            );
            let may_shorten = matches!(class.as_deref(), Some("title" | "axis-title"));
            assert!(
                may_shorten || !t.contains('…'),
                "{name}: {t:?} is cut short to fit"
            );
        }
        for (i, (ta, a, _)) in boxes.iter().enumerate() {
            for (tb, b, _) in &boxes[i + 1..] {
                assert!(!a.overlaps(b), "{name}: {ta:?} {a:?} overlaps {tb:?} {b:?}");
            }
        }
        // Labels in the plot (threshold, fault, recovery) cover no datapoint.
        let doc = roxmltree::Document::parse(svg).expect("well-formed");
        for dot in doc.descendants().filter(|n| {
            n.has_tag_name("circle") && matches!(n.attribute("class"), Some("datapoint" | "breach"))
        }) {
            let num = |a: &str| {
                dot.attribute(a)
                    .and_then(|v| v.parse::<f64>().ok())
                    .expect(a)
            };
            let (cx, cy, r) = (num("cx"), num("cy"), num("r"));
            let d = TextBox {
                x0: cx - r,
                y0: cy - r,
                x1: cx + r,
                y1: cy + r,
            };
            for (t, b, class) in &boxes {
                assert!(
                    class.as_deref() != Some("label") || !b.overlaps(&d),
                    "{name}: label {t:?} {b:?} covers the datapoint at ({cx}, {cy})"
                );
            }
        }
    }

    /// The layout check fails on each defect it is there for: a caption cut short (the
    /// baseline caption once read "until 11:59:11 U…"), text past the edge, overlapping text.
    #[test]
    fn the_layout_check_catches_cut_text_text_off_the_canvas_and_overlaps() {
        let doc = |body: &str| {
            format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-size="{FONT}">{body}</svg>"#
            )
        };
        let fails =
            |svg: String| std::panic::catch_unwind(|| assert_layout("probe", &svg)).is_err();
        let caption = fit("until 11:59:11 UTC", 129.2, FONT);
        assert!(caption.ends_with('…'), "{caption}");
        assert!(fails(doc(&format!(
            r#"<text x="100" y="290" text-anchor="middle">{caption}</text>"#
        ))));
        assert!(fails(doc(
            r#"<text x="740" y="100" text-anchor="start">fault</text>"#
        )));
        assert!(fails(doc(
            r#"<text x="100" y="100">abort above 357 ms</text><text x="110" y="104">fault</text>"#
        )));
        // The same texts, whole and apart, pass; a shortened title passes.
        assert!(!fails(doc(
            r#"<text x="100" y="290" text-anchor="middle">to 11:59:11 UTC</text><text x="500" y="100">fault</text><text class="title" x="12" y="22">a long ti…</text>"#
        )));
    }

    #[test]
    fn no_chart_kind_has_text_outside_the_canvas_or_overlapping_text() {
        let (baseline, spike_up) = demo_like(Some(357.0), None, 3015.0);
        let (_, dip) = demo_like(None, Some(120.0), 20.0);
        let (_, flat) = demo_like(Some(400.0), Some(200.0), 301.0);
        let t0 = spike_up[0].0;
        let long = "a_metric_with_a_really_quite_long_name_that_goes_on_and_on_ms";
        let long_title = format!("{long} — a-scenario-with-a-long-name-too, stage percent-25");
        let tiny: Vec<(i64, f64, bool)> =
            spike_up.iter().map(|(t, v, b)| (*t, v / 1e6, *b)).collect();
        let huge: Vec<(i64, f64, bool)> =
            spike_up.iter().map(|(t, v, b)| (*t, v * 1e4, *b)).collect();
        let negative: Vec<(i64, f64, bool)> =
            dip.iter().map(|(t, v, b)| (*t, v - 200.0, *b)).collect();
        let hours = [(t0, 1.0, false), (t0 + 7200, 2.0, false)];
        let kinds: Vec<(&str, Series<'_>)> = vec![
            (
                "upper bound, breach, baseline",
                Series {
                    title: "p99_latency_ms — payments, stage percent-10",
                    metric: "p99_latency_ms",
                    baseline: &baseline,
                    guard: &spike_up,
                    lower: None,
                    upper: Some(357.0),
                    window: Some((t0 + 12, t0 + 17)),
                },
            ),
            (
                "lower bound, breach",
                Series {
                    title: "request_rate — payments, stage count-1",
                    metric: "request_rate",
                    baseline: &baseline,
                    guard: &dip,
                    lower: Some(120.0),
                    upper: None,
                    window: Some((t0 + 5, t0 + 20)),
                },
            ),
            (
                "both bounds, held",
                Series {
                    title: "t",
                    metric: "m",
                    baseline: &baseline,
                    guard: &flat,
                    lower: Some(200.0),
                    upper: Some(400.0),
                    window: Some((t0, t0 + 25)),
                },
            ),
            (
                "no baseline",
                Series {
                    title: "t",
                    metric: "error_rate",
                    baseline: &[],
                    guard: &spike_up,
                    lower: None,
                    upper: Some(357.0),
                    window: Some((t0 + 12, t0 + 17)),
                },
            ),
            (
                "baseline only",
                Series {
                    title: "t",
                    metric: "error_rate",
                    baseline: &baseline,
                    guard: &[],
                    lower: None,
                    upper: Some(357.0),
                    window: None,
                },
            ),
            (
                "open fault window",
                Series {
                    title: "t",
                    metric: "x_s",
                    baseline: &baseline,
                    guard: &spike_up,
                    lower: None,
                    upper: Some(357.0),
                    window: Some((t0 + 12, t0 + 25)),
                },
            ),
            (
                "fault at the very end",
                Series {
                    title: "t",
                    metric: "x_s",
                    baseline: &baseline,
                    guard: &spike_up,
                    lower: None,
                    upper: Some(357.0),
                    window: Some((t0 + 24, t0 + 25)),
                },
            ),
            (
                "threshold at the top",
                Series {
                    title: "t",
                    metric: "x_ms",
                    baseline: &baseline,
                    guard: &flat,
                    lower: None,
                    upper: Some(301.5),
                    window: Some((t0, t0 + 2)),
                },
            ),
            (
                "tiny values",
                Series {
                    title: "t",
                    metric: "error_rate",
                    baseline: &[],
                    guard: &tiny,
                    lower: None,
                    upper: Some(0.000357),
                    window: Some((t0 + 12, t0 + 17)),
                },
            ),
            (
                "huge values",
                Series {
                    title: "t",
                    metric: "bytes_bytes",
                    baseline: &[],
                    guard: &huge,
                    lower: None,
                    upper: Some(3_570_000.0),
                    window: Some((t0 + 12, t0 + 17)),
                },
            ),
            (
                "negative values",
                Series {
                    title: "t",
                    metric: "delta",
                    baseline: &[],
                    guard: &negative,
                    lower: Some(-80.0),
                    upper: None,
                    window: Some((t0 + 5, t0 + 20)),
                },
            ),
            (
                "long names",
                Series {
                    title: &long_title,
                    metric: long,
                    baseline: &baseline,
                    guard: &spike_up,
                    lower: None,
                    upper: Some(357.0),
                    window: Some((t0 + 12, t0 + 17)),
                },
            ),
            (
                "hours of recovery",
                Series {
                    title: "t",
                    metric: "m",
                    baseline: &baseline,
                    guard: &hours,
                    lower: None,
                    upper: Some(3.0),
                    window: Some((t0, t0 + 60)),
                },
            ),
            (
                "empty",
                Series {
                    title: "empty",
                    metric: "m",
                    baseline: &[],
                    guard: &[],
                    lower: None,
                    upper: None,
                    window: None,
                },
            ),
        ];
        for (name, series) in &kinds {
            assert_layout(name, &draw(series));
        }
        // The trends of `gameday history` (score and recovery time over runs).
        let day = 86_400;
        let d0 = 20 * 365 * day;
        let weekly: Vec<(i64, f64)> = (0..52)
            .map(|i| (d0 + i * 7 * day, 40.0 + (i % 5) as f64 * 12.5))
            .collect();
        for (name, points) in [
            ("trend of one run", vec![(d0, 80.0)]),
            ("trend of two runs", vec![(d0, 40.0), (d0 + 7 * day, 55.0)]),
            ("trend of a year of weekly runs", weekly),
        ] {
            assert_layout(
                &format!("score {name}"),
                &trend_chart("resilience score — checkout", "score", &points),
            );
            assert_layout(
                &format!("recovery {name}"),
                &trend_chart("recovery time — checkout, pod-crash", "seconds", &points),
            );
        }
        for (name, b) in [
            ("all passed", crate::report::fixtures::all_passed()),
            ("aborted", crate::report::fixtures::aborted_by_guard()),
            ("interrupted", crate::report::fixtures::interrupted()),
        ] {
            let run = b.record();
            for sc in &run.scenarios {
                let plan = run
                    .start
                    .gameday
                    .scenarios
                    .iter()
                    .find(|p| p.name == sc.name)
                    .expect("planned");
                for st in &sc.stages {
                    for c in stage_charts(&sc.name, st, &plan.hypothesis, run.ended_at()) {
                        assert_layout(&format!("{name}: {}", c.file_name), &c.svg);
                    }
                }
            }
        }
    }
}
