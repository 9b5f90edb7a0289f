//! The GameDay's CloudWatch dashboard and the FIS experiment report settings that point at it.
//!
//! Input: a [`GameDayScenario`]. Output: the dashboard's name (`gameday-<name>`), ARN and body
//! (`PutDashboard` JSON): per scenario, each hypothesis metric with its steady-state band
//! (between the abort thresholds), a stop-alarm status widget, and a text widget naming the
//! stages in run order with their selection and observation window; and the
//! `experimentReportConfiguration` of every stage template. Deterministic (no clock). Must not
//! call AWS.

use serde_json::{Value, json};

use super::scenario::{AlarmMetric, AlarmSpec, GameDayScenario};
// The dashboard's identity lives with the scenario, whose stage templates point at it.
pub use super::scenario::{
    dashboard_arn, dashboard_name, dashboard_url, report_configuration, report_location,
};

/// Widget width: two metric widgets side by side on the 24-column grid.
const WIDTH: u32 = 12;
/// Widget height in grid rows.
const HEIGHT: u32 = 6;

fn stat_entry(m: &AlarmMetric, period: i64, extra: serde_json::Map<String, Value>) -> Value {
    let mut row = vec![json!(m.namespace), json!(m.metric_name)];
    for (k, v) in &m.dimensions {
        row.push(json!(k));
        row.push(json!(v));
    }
    let mut opts = extra;
    opts.insert("stat".into(), json!(m.statistic));
    opts.insert("period".into(), json!(period));
    row.push(Value::Object(opts));
    Value::Array(row)
}

/// The `metrics` array of a widget showing what an alarm watches.
fn alarm_metrics(a: &AlarmSpec, label: &str) -> Vec<Value> {
    if let Some(m) = &a.metric {
        let mut o = serde_json::Map::new();
        o.insert("label".into(), json!(label));
        return vec![stat_entry(m, a.period_secs, o)];
    }
    let Some(e) = &a.expression else {
        return Vec::new();
    };
    let mut out = vec![json!([{"expression": e.expression, "label": label, "id": "e1"}])];
    for (id, m) in &e.inputs {
        let mut o = serde_json::Map::new();
        o.insert("id".into(), json!(id));
        o.insert("visible".into(), json!(false));
        out.push(stat_entry(m, a.period_secs, o));
    }
    out
}

/// The steady-state band as horizontal annotations: a filled band between both abort
/// thresholds, or one line with the breaching side filled.
fn band(lower: Option<f64>, upper: Option<f64>) -> Vec<Value> {
    match (lower, upper) {
        (Some(lo), Some(hi)) => vec![json!([
            {"label": "steady state", "value": lo, "color": "#2ca02c"},
            {"value": hi}
        ])],
        (None, Some(hi)) => {
            vec![json!({"label": "abort above", "value": hi, "fill": "above", "color": "#d62728"})]
        }
        (Some(lo), None) => {
            vec![json!({"label": "abort below", "value": lo, "fill": "below", "color": "#d62728"})]
        }
        (None, None) => Vec::new(),
    }
}

/// The dashboard body (`DashboardBody` of `PutDashboard`).
pub fn dashboard_body(g: &GameDayScenario) -> Value {
    let mut widgets = Vec::new();
    let mut y = 0;
    let mut header = format!(
        "# GameDay {} ({}, {})\nOwner: {}. Stages run in this order; each stage's FIS experiment \
         report snapshots this dashboard.\n",
        g.name, g.environment, g.date, g.owner
    );
    for s in &g.scenarios {
        let stages: Vec<String> = s
            .stages
            .iter()
            .map(|st| format!("{} ({}, observe {})", st.name, st.selection, st.observe))
            .collect();
        header.push_str(&format!(
            "\n* **{}**: {} on {} — stages {}",
            s.name,
            s.fault_class,
            s.service,
            stages.join(" → ")
        ));
    }
    let header_height = 3 + u32::try_from(g.scenarios.len()).unwrap_or(u32::MAX) / 2;
    widgets.push(json!({
        "type": "text", "x": 0, "y": y, "width": 24, "height": header_height,
        "properties": {"markdown": header}
    }));
    y += header_height;
    for s in &g.scenarios {
        let mut x = 0;
        for h in &s.hypothesis {
            let Some(alarm) = h
                .alarms
                .iter()
                .find_map(|name| g.alarms.iter().find(|a| &a.name == name))
            else {
                continue;
            };
            let metrics = alarm_metrics(alarm, &h.metric);
            if metrics.is_empty() {
                continue;
            }
            widgets.push(json!({
                "type": "metric", "x": x, "y": y, "width": WIDTH, "height": HEIGHT,
                "properties": {
                    "title": format!("{}: {}", s.name, h.metric),
                    "view": "timeSeries",
                    "region": g.region,
                    "metrics": metrics,
                    "annotations": {"horizontal": band(h.abort_lower, h.abort_upper)},
                }
            }));
            x += WIDTH;
            if x >= 24 {
                x = 0;
                y += HEIGHT;
            }
        }
        if !s.stop_alarms.is_empty() {
            let arns: Vec<String> = s.stop_alarms.iter().map(|a| g.alarm_arn(a)).collect();
            widgets.push(json!({
                "type": "alarm", "x": x, "y": y, "width": WIDTH, "height": HEIGHT,
                "properties": {"title": format!("{}: stop alarms", s.name), "alarms": arns}
            }));
        }
        y += HEIGHT;
    }
    json!({"widgets": widgets})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::generate::tests::planned;
    use crate::plan::scenario::ScenarioReport;

    #[test]
    fn dashboard_has_metrics_with_bands_and_stop_alarms_per_scenario() {
        let g = planned();
        let body = dashboard_body(&g);
        let widgets = body["widgets"].as_array().expect("widgets");
        let of = |ty: &str| widgets.iter().filter(|w| w["type"] == ty).count();
        assert_eq!(of("text"), 1);
        assert_eq!(
            of("alarm"),
            g.scenarios
                .iter()
                .filter(|s| !s.stop_alarms.is_empty())
                .count()
        );
        assert!(of("metric") >= g.scenarios.len());
        let metric = widgets
            .iter()
            .find(|w| w["type"] == "metric")
            .expect("metric widget");
        assert!(
            !metric["properties"]["annotations"]["horizontal"]
                .as_array()
                .expect("annotations")
                .is_empty()
        );
        let text = widgets[0]["properties"]["markdown"].as_str().expect("md");
        for s in &g.scenarios {
            for st in &s.stages {
                assert!(text.contains(&st.name), "{text}");
            }
        }
        // Every alarm widget names alarms of this GameDay.
        for w in widgets.iter().filter(|w| w["type"] == "alarm") {
            for a in w["properties"]["alarms"].as_array().expect("alarms") {
                assert!(a.as_str().is_some_and(|a| a.contains(":alarm:gameday-")));
            }
        }
        assert_eq!(dashboard_body(&g), body, "deterministic");
    }

    #[test]
    fn bands_cover_both_one_and_no_threshold() {
        assert_eq!(
            band(Some(1.0), Some(2.0))[0].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(band(None, Some(2.0))[0]["fill"], "above");
        assert_eq!(band(Some(1.0), None)[0]["fill"], "below");
        assert!(band(None, None).is_empty());
    }

    #[test]
    fn report_configuration_points_at_the_dashboard() {
        let g = planned();
        let r = ScenarioReport {
            bucket: "gameday-reports".into(),
            prefix: Some("fis/".into()),
            pre_experiment: crate::plan::IsoDuration::from_mins(20),
            post_experiment: crate::plan::IsoDuration::from_mins(10),
        };
        let c = report_configuration(&g, &r);
        let v = serde_json::to_value(&c).expect("json");
        assert_eq!(
            v["outputs"]["s3Configuration"]["bucketName"],
            "gameday-reports"
        );
        assert_eq!(
            v["dataSources"]["cloudWatchDashboards"][0]["dashboardIdentifier"],
            dashboard_arn(&g)
        );
        assert_eq!(v["preExperimentDuration"], "PT20M");
        assert_eq!(v["postExperimentDuration"], "PT10M");
    }
}
